/* natter-server-probe.c: does a server address answer?
 *
 * Before a first run goes on with a server address, the app checks that
 * something listens there: a TCP connection to the address's host and port
 * (80 for ws://, 443 for wss:// when none is given), closed at once. It
 * finds typos and servers that are down in a second or two, with the
 * system's own words for what went wrong ("Connection refused").
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "natter-server-probe"

#include "config.h"

#include <glib/gi18n-lib.h>

#include "natter-server-probe.h"

#define PROBE_TIMEOUT_S 10

static void
on_connected (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GSocketConnection) connection = NULL;
  GError *error = NULL;

  connection = g_socket_client_connect_to_host_finish (G_SOCKET_CLIENT (source), result, &error);
  if (connection == NULL)
    {
      g_task_return_error (task, error);
      return;
    }

  g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
  g_task_return_boolean (task, TRUE);
}

/**
 * natter_server_probe_async:
 * @server_url: a ws:// or wss:// address
 *
 * Checks that @server_url's host accepts connections on its port.
 */
void
natter_server_probe_async (const char          *server_url,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GUri) uri = NULL;
  g_autoptr(GSocketClient) client = NULL;
  GError *error = NULL;
  int port;

  g_return_if_fail (server_url != NULL);

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, natter_server_probe_async);

  uri = g_uri_parse (server_url, G_URI_FLAGS_NONE, &error);
  if (uri == NULL || g_uri_get_host (uri) == NULL || *g_uri_get_host (uri) == '\0')
    {
      g_clear_error (&error);
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                               _("This is not a server address"));
      return;
    }

  port = g_uri_get_port (uri);
  if (port <= 0)
    port = g_ascii_strcasecmp (g_uri_get_scheme (uri), "wss") == 0 ? 443 : 80;

  client = g_socket_client_new ();
  g_socket_client_set_timeout (client, PROBE_TIMEOUT_S);
  g_socket_client_connect_to_host_async (client, g_uri_get_host (uri), port, cancellable,
                                         on_connected, g_steal_pointer (&task));
}

/**
 * natter_server_probe_finish:
 *
 * Returns: %TRUE if the server answered; otherwise %FALSE with @error set
 *   in the system's words
 */
gboolean
natter_server_probe_finish (GAsyncResult  *result,
                            GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}
