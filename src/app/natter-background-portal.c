/* natter-background-portal.c: asking the desktop to let Natter run in the background
 *
 * org.freedesktop.portal.Background's RequestBackground, through GDBus: the
 * request's answer comes as a Response signal on a Request object whose path
 * we know before calling, so we listen there first.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "natter-background-portal"

#include "config.h"

#include <glib/gi18n.h>

#include "natter-background-portal.h"

#define PORTAL_BUS_NAME    "org.freedesktop.portal.Desktop"
#define PORTAL_OBJECT_PATH "/org/freedesktop/portal/desktop"
#define PORTAL_INTERFACE   "org.freedesktop.portal.Background"
#define REQUEST_INTERFACE  "org.freedesktop.portal.Request"

G_DEFINE_QUARK (natter-background-portal-error-quark, natter_background_portal_error)

typedef struct
{
  GDBusConnection *bus;
  guint            response_id;
  gboolean         autostart;
} Request;

static void
request_free (Request *request)
{
  if (request->response_id != 0)
    g_dbus_connection_signal_unsubscribe (request->bus, request->response_id);
  g_clear_object (&request->bus);
  g_free (request);
}

static void
on_response (GDBusConnection *bus,
             const char      *sender,
             const char      *path,
             const char      *interface,
             const char      *signal,
             GVariant        *parameters,
             gpointer         user_data)
{
  GTask *task = user_data;
  Request *request = g_task_get_task_data (task);
  g_autoptr(GVariant) results = NULL;
  gboolean background = FALSE;
  gboolean autostart = FALSE;
  guint32 response;

  if (!g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(ua{sv})")))
    return;

  g_dbus_connection_signal_unsubscribe (bus, request->response_id);
  request->response_id = 0;

  g_variant_get (parameters, "(u@a{sv})", &response, &results);
  g_variant_lookup (results, "background", "b", &background);
  g_variant_lookup (results, "autostart", "b", &autostart);

  /* 0: answered; 1: the user said no; 2: it went wrong otherwise */
  if (response != 0 || !background)
    g_task_return_new_error (task, NATTER_BACKGROUND_PORTAL_ERROR,
                             NATTER_BACKGROUND_PORTAL_ERROR_REFUSED,
                             _("Your desktop did not allow Natter to run in the background; "
                               "you can allow it in the system settings for apps"));
  else
    {
      request->autostart = autostart;
      g_task_return_boolean (task, TRUE);
    }

  g_object_unref (task);
}

static gboolean
is_no_portal_error (const GError *error)
{
  return g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_SERVICE_UNKNOWN) ||
         g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_NAME_HAS_NO_OWNER) ||
         g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_METHOD) ||
         g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_INTERFACE) ||
         g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_OBJECT) ||
         g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_SPAWN_SERVICE_NOT_FOUND);
}

static void
on_requested (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  GTask *task = user_data;
  Request *request = g_task_get_task_data (task);
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (reply != NULL)
    return;  /* The answer follows as Response */

  g_debug ("RequestBackground: %s", error->message);
  g_dbus_connection_signal_unsubscribe (request->bus, request->response_id);
  request->response_id = 0;
  if (is_no_portal_error (error))
    g_task_return_new_error (task, NATTER_BACKGROUND_PORTAL_ERROR,
                             NATTER_BACKGROUND_PORTAL_ERROR_NO_PORTAL,
                             _("No background portal answers on this desktop: Natter keeps "
                               "running after its window closes until you log out, but cannot "
                               "start at login by itself"));
  else
    g_task_return_new_error (task, NATTER_BACKGROUND_PORTAL_ERROR,
                             NATTER_BACKGROUND_PORTAL_ERROR_REFUSED,
                             _("The desktop could not let Natter run in the background"));
  g_object_unref (task);
}

/**
 * natter_background_portal_request_async:
 * @autostart: whether to start Natter when the user logs in
 * @commandline: the command that starts Natter in the background
 * @callback: called with the desktop's answer
 * @user_data: data for @callback
 *
 * Asks the desktop (the Background portal) to let Natter run with no window
 * and, if @autostart, to start it at login.
 */
void
natter_background_portal_request_async (gboolean             autostart,
                                        const char * const  *commandline,
                                        GAsyncReadyCallback  callback,
                                        gpointer             user_data)
{
  GTask *task = g_task_new (NULL, NULL, callback, user_data);
  g_autoptr(GError) error = NULL;
  g_autofree char *sender = NULL;
  g_autofree char *token = NULL;
  g_autofree char *path = NULL;
  GVariantBuilder options;
  Request *request;

  g_task_set_source_tag (task, natter_background_portal_request_async);
  request = g_new0 (Request, 1);
  g_task_set_task_data (task, request, (GDestroyNotify) request_free);

  request->bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &error);
  if (request->bus == NULL)
    {
      g_task_return_new_error (task, NATTER_BACKGROUND_PORTAL_ERROR,
                               NATTER_BACKGROUND_PORTAL_ERROR_NO_PORTAL,
                               _("No background portal answers on this desktop"));
      g_object_unref (task);
      return;
    }

  /* The Request object's path: the unique name without ':' and with '_'
   * for '.', then our token */
  sender = g_strdup (g_dbus_connection_get_unique_name (request->bus) + 1);
  g_strdelimit (sender, ".", '_');
  token = g_strdup_printf ("natter%u", g_random_int ());
  path = g_strdup_printf (PORTAL_OBJECT_PATH "/request/%s/%s", sender, token);
  /* Listening before asking, so that no answer comes too soon */
  request->response_id =
    g_dbus_connection_signal_subscribe (request->bus, NULL, REQUEST_INTERFACE, "Response", path,
                                        NULL, G_DBUS_SIGNAL_FLAGS_NONE, on_response, task, NULL);

  g_variant_builder_init (&options, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&options, "{sv}", "handle_token", g_variant_new_string (token));
  g_variant_builder_add (&options, "{sv}", "reason",
                         g_variant_new_string (_("Receive messages while the window is closed")));
  g_variant_builder_add (&options, "{sv}", "autostart", g_variant_new_boolean (autostart));
  g_variant_builder_add (&options, "{sv}", "commandline", g_variant_new_strv (commandline, -1));
  g_variant_builder_add (&options, "{sv}", "dbus-activatable", g_variant_new_boolean (FALSE));

  g_dbus_connection_call (request->bus, PORTAL_BUS_NAME, PORTAL_OBJECT_PATH, PORTAL_INTERFACE,
                          "RequestBackground", g_variant_new ("(sa{sv})", "", &options),
                          G_VARIANT_TYPE ("(o)"), G_DBUS_CALL_FLAGS_NONE, -1, NULL,
                          on_requested, task);
}

/**
 * natter_background_portal_request_finish:
 * @result: the #GAsyncResult
 * @autostart: (out) (optional): whether Natter starts at login now
 * @error: %NATTER_BACKGROUND_PORTAL_ERROR_NO_PORTAL when no portal answers,
 *   %NATTER_BACKGROUND_PORTAL_ERROR_REFUSED when the desktop said no
 *
 * Returns: %TRUE if Natter may run in the background
 */
gboolean
natter_background_portal_request_finish (GAsyncResult  *result,
                                         gboolean      *autostart,
                                         GError       **error)
{
  Request *request;

  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);

  request = g_task_get_task_data (G_TASK (result));
  if (autostart != NULL)
    *autostart = request->autostart;

  return g_task_propagate_boolean (G_TASK (result), error);
}
