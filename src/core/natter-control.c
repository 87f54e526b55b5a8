/* natter-control.c: one profile online in one process; the others hand it their commands
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Two processes online with one identity knock each other off the server.
 * So the process that is online on a profile (natter-cli listen, the app)
 * listens on a Unix socket named after the profile's folder, in the user's
 * runtime folder; any other natter-cli on that profile connects there and
 * hands over its command instead of connecting to the server itself. No
 * session bus is needed.
 *
 * The socket speaks JSON lines: the request is one object (its "argv"), the
 * answer is objects {"out": text} and {"err": text} and last {"exit": code}.
 */
#define G_LOG_DOMAIN "natter-control"

#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <gio/gunixsocketaddress.h>
#include <glib/gstdio.h>

#include "natter-control.h"

#define REQUEST_MAX_SIZE (4 * 1024 * 1024)
#define IO_TIMEOUT_S     10

struct _NatterControlCall
{
  gatomicrefcount     ref_count;
  GSocketConnection  *connection;
  gboolean            finished;
};

struct _NatterControl
{
  GObject         parent_instance;

  char           *path;
  GSocketService *service;
};

enum {
  REQUEST,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_BOXED_TYPE (NatterControlCall, natter_control_call, natter_control_call_ref,
                     natter_control_call_unref)
G_DEFINE_FINAL_TYPE (NatterControl, natter_control, G_TYPE_OBJECT)

static void
send_line (GSocketConnection *connection,
           JsonObject        *object)
{
  g_autoptr(JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  g_autofree char *text = NULL;
  g_autofree char *line = NULL;
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (connection));

  json_node_set_object (node, object);
  text = json_to_string (node, FALSE);
  line = g_strconcat (text, "\n", NULL);
  /* The other side may be gone; nothing here depends on it */
  g_output_stream_write_all (out, line, strlen (line), NULL, NULL, NULL);
}

NatterControlCall *
natter_control_call_ref (NatterControlCall *call)
{
  g_atomic_ref_count_inc (&call->ref_count);
  return call;
}

void
natter_control_call_unref (NatterControlCall *call)
{
  if (g_atomic_ref_count_dec (&call->ref_count))
    {
      if (!call->finished)
        natter_control_call_finish (call, 1);
      g_object_unref (call->connection);
      g_free (call);
    }
}

/**
 * natter_control_call_print:
 * @to_stderr: where the other process prints @text
 * @text: what a command prints
 */
void
natter_control_call_print (NatterControlCall *call,
                           gboolean           to_stderr,
                           const char        *text)
{
  g_autoptr(JsonObject) object = json_object_new ();

  g_return_if_fail (call != NULL && !call->finished);

  json_object_set_string_member (object, to_stderr ? "err" : "out", text);
  send_line (call->connection, object);
}

/**
 * natter_control_call_finish:
 * @exit_code: the command's exit code, which the other process exits with
 */
void
natter_control_call_finish (NatterControlCall *call,
                            int                exit_code)
{
  g_autoptr(JsonObject) object = json_object_new ();

  g_return_if_fail (call != NULL && !call->finished);

  call->finished = TRUE;
  json_object_set_int_member (object, "exit", exit_code);
  send_line (call->connection, object);
  g_io_stream_close (G_IO_STREAM (call->connection), NULL, NULL);
}

static JsonObject *
read_object (GDataInputStream  *in,
             GError           **error)
{
  g_autofree char *line = NULL;
  g_autoptr(JsonNode) node = NULL;
  gsize length = 0;

  line = g_data_input_stream_read_line_utf8 (in, &length, NULL, error);
  if (line == NULL)
    {
      if (error != NULL && *error == NULL)
        g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
                             "The connection closed");
      return NULL;
    }

  if (length > REQUEST_MAX_SIZE || (node = json_from_string (line, error)) == NULL ||
      !JSON_NODE_HOLDS_OBJECT (node))
    {
      if (error != NULL && *error == NULL)
        g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "Not a JSON object");
      return NULL;
    }

  return json_object_ref (json_node_get_object (node));
}

static gboolean
on_incoming (GSocketService    *service,
             GSocketConnection *connection,
             GObject           *source_object,
             gpointer           user_data)
{
  NatterControl *self = user_data;
  g_autoptr(GDataInputStream) in = NULL;
  g_autoptr(JsonObject) request = NULL;
  g_autoptr(NatterControlCall) call = NULL;
  g_autoptr(GError) error = NULL;

  g_socket_set_timeout (g_socket_connection_get_socket (connection), IO_TIMEOUT_S);
  in = g_data_input_stream_new (g_io_stream_get_input_stream (G_IO_STREAM (connection)));
  g_data_input_stream_set_newline_type (in, G_DATA_STREAM_NEWLINE_TYPE_LF);
  request = read_object (in, &error);
  if (request == NULL)
    {
      g_debug ("Ignored a control request: %s", error->message);
      return TRUE;
    }

  /* Commands may run for a while (send waits for delivery) */
  g_socket_set_timeout (g_socket_connection_get_socket (connection), 0);

  call = g_new0 (NatterControlCall, 1);
  g_atomic_ref_count_init (&call->ref_count);
  call->connection = g_object_ref (connection);

  g_object_ref (self);
  g_signal_emit (self, signals[REQUEST], 0, request, call);
  g_object_unref (self);

  return TRUE;
}

static void
natter_control_dispose (GObject *object)
{
  NatterControl *self = NATTER_CONTROL (object);

  if (self->service != NULL)
    {
      g_socket_service_stop (self->service);
      g_socket_listener_close (G_SOCKET_LISTENER (self->service));
      g_clear_object (&self->service);
      g_unlink (self->path);
    }

  G_OBJECT_CLASS (natter_control_parent_class)->dispose (object);
}

static void
natter_control_finalize (GObject *object)
{
  NatterControl *self = NATTER_CONTROL (object);

  g_free (self->path);

  G_OBJECT_CLASS (natter_control_parent_class)->finalize (object);
}

static void
natter_control_class_init (NatterControlClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = natter_control_dispose;
  object_class->finalize = natter_control_finalize;

  /**
   * NatterControl::request:
   * @request: (type JsonObject): what another process asks, with its "argv"
   * @call: (type NatterControlCall): where the answer goes; finish it
   */
  signals[REQUEST] =
    g_signal_new ("request", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, JSON_TYPE_OBJECT, NATTER_TYPE_CONTROL_CALL);
}

static void
natter_control_init (NatterControl *self)
{
}

/**
 * natter_control_socket_path:
 * @profile_dir: the profile's folder
 *
 * Returns: (transfer full): the socket of the process online on that profile
 */
char *
natter_control_socket_path (const char *profile_dir)
{
  g_autofree char *hash = g_compute_checksum_for_string (G_CHECKSUM_SHA256, profile_dir, -1);
  g_autofree char *name = NULL;

  g_return_val_if_fail (profile_dir != NULL, NULL);

  /* Unix socket paths are short: a digest of the folder, not the folder */
  hash[32] = '\0';
  name = g_strconcat (hash, ".sock", NULL);
  return g_build_filename (g_get_user_runtime_dir (), "natter", name, NULL);
}

static GSocketConnection *
connect_to (const char  *path,
            GError     **error)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketAddress) address = g_unix_socket_address_new (path);

  g_socket_client_set_timeout (client, IO_TIMEOUT_S);
  return g_socket_client_connect (client, G_SOCKET_CONNECTABLE (address), NULL, error);
}

/**
 * natter_control_new:
 * @profile_dir: the profile's folder
 * @error: %G_IO_ERROR_EXISTS if another process already has the profile
 *
 * Starts answering other processes of this profile.
 *
 * Returns: (transfer full) (nullable): the control socket
 */
NatterControl *
natter_control_new (const char  *profile_dir,
                    GError     **error)
{
  g_autoptr(NatterControl) self = g_object_new (NATTER_TYPE_CONTROL, NULL);
  g_autoptr(GSocketAddress) address = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *dir = NULL;

  g_return_val_if_fail (profile_dir != NULL, NULL);

  self->path = natter_control_socket_path (profile_dir);
  dir = g_path_get_dirname (self->path);
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "Cannot create %s: %s", dir, g_strerror (saved_errno));
      return NULL;
    }

  address = g_unix_socket_address_new (self->path);
  self->service = g_socket_service_new ();
  if (!g_socket_listener_add_address (G_SOCKET_LISTENER (self->service), address,
                                      G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT, NULL, NULL,
                                      &local_error))
    {
      g_autoptr(GSocketConnection) other = NULL;

      if (!g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE))
        {
          g_clear_object (&self->service);
          g_propagate_error (error, g_steal_pointer (&local_error));
          return NULL;
        }

      other = connect_to (self->path, NULL);
      if (other != NULL)
        {
          g_clear_object (&self->service);
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                               "Another process is online on this profile");
          return NULL;
        }

      /* Left behind by a process that died */
      g_clear_error (&local_error);
      g_unlink (self->path);
      if (!g_socket_listener_add_address (G_SOCKET_LISTENER (self->service), address,
                                          G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT, NULL,
                                          NULL, error))
        {
          g_clear_object (&self->service);
          return NULL;
        }
    }

  g_chmod (self->path, 0600);
  g_signal_connect (self->service, "incoming", G_CALLBACK (on_incoming), self);
  g_socket_service_start (self->service);

  return g_steal_pointer (&self);
}

/**
 * natter_control_is_online:
 * @profile_dir: the profile's folder
 *
 * Returns: whether a process is online on the profile and answers
 */
gboolean
natter_control_is_online (const char *profile_dir)
{
  g_autofree char *path = natter_control_socket_path (profile_dir);
  g_autoptr(GSocketConnection) connection = NULL;

  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    return FALSE;

  connection = connect_to (path, NULL);
  return connection != NULL;
}

/**
 * natter_control_forward:
 * @profile_dir: the profile's folder
 * @request: what to ask, with its "argv"
 * @exit_code: (out): the command's exit code
 * @error: %G_IO_ERROR_NOT_FOUND when no process is online on the profile
 *
 * Hands a command to the process online on the profile, printing what it
 * prints, and waits for it to finish.
 *
 * Returns: %TRUE if the command ran there
 */
gboolean
natter_control_forward (const char  *profile_dir,
                        JsonObject  *request,
                        int         *exit_code,
                        GError     **error)
{
  g_autofree char *path = NULL;
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GDataInputStream) in = NULL;

  g_return_val_if_fail (profile_dir != NULL, FALSE);
  g_return_val_if_fail (request != NULL, FALSE);
  g_return_val_if_fail (exit_code != NULL, FALSE);

  path = natter_control_socket_path (profile_dir);
  if (!g_file_test (path, G_FILE_TEST_EXISTS) || (connection = connect_to (path, NULL)) == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                           "No process is online on this profile");
      return FALSE;
    }

  send_line (connection, request);

  in = g_data_input_stream_new (g_io_stream_get_input_stream (G_IO_STREAM (connection)));
  g_data_input_stream_set_newline_type (in, G_DATA_STREAM_NEWLINE_TYPE_LF);
  for (;;)
    {
      g_autoptr(JsonObject) answer = NULL;
      g_autoptr(GError) read_error = NULL;

      answer = read_object (in, &read_error);
      if (answer == NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
                       "The process online on this profile stopped answering: %s",
                       read_error->message);
          return FALSE;
        }

      if (json_object_has_member (answer, "exit"))
        {
          *exit_code = (int) json_object_get_int_member (answer, "exit");
          return TRUE;
        }

      if (json_object_has_member (answer, "out"))
        {
          fputs (json_object_get_string_member (answer, "out"), stdout);
          fflush (stdout);
        }
      else if (json_object_has_member (answer, "err"))
        {
          fputs (json_object_get_string_member (answer, "err"), stderr);
        }
    }
}
