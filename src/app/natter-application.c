/* natter-application.c: the application; owns the profile and its NatterClient
 *
 * The profile (NatterProfile, the same as natter-cli's) holds the folder,
 * its settings, the identity in the keyring, the history and the client;
 * the application follows its client and adds what a desktop needs:
 * GSettings, notifications, notices about the history.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "natter-application"

#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <glib-unix.h>

#include "natter-protocol.h"

#include "natter-application.h"
#include "natter-background-portal.h"
#include "natter-application-calls.h"
#include "natter-cli-handoff.h"
#include "natter-control.h"
#include "natter-profile.h"
#include "natter-preferences-window.h"
#include "natter-text.h"
#include "natter-user-id-text.h"
#include "natter-window.h"


enum {
  PROP_0,
  PROP_CLIENT,
  PROP_BACKGROUND_PROBLEM,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

struct _NatterApplication
{
  AdwApplication  parent_instance;

  /* Options */
  char           *profile_name;
  gboolean        loopback;
  /* --background: started at login, no window until activated again */
  gboolean        start_hidden;

  /* Why Natter cannot run in the background or start at login, if it cannot */
  char           *background_problem;

  NatterProfile  *profile;
  GSettings      *settings;

  /* The profile's client, followed */
  NatterClient   *client;

  gboolean        report_timing;
  gint64          start_time;

  guint           sigint_source;
  guint           sigterm_source;
  /* Other processes of this profile (natter-cli) hand their commands here */
  NatterControl  *control;
};

G_DEFINE_FINAL_TYPE (NatterApplication, natter_application, ADW_TYPE_APPLICATION)

static void request_background             (NatterApplication *self);
static void on_background_settings_changed (GSettings         *settings,
                                            const char        *key,
                                            gpointer           user_data);

/* The monotonic time at which this process started, so that timings include
 * what happened before main(). Falls back to "now" where /proc is missing. */
static gint64
process_start_time (void)
{
  g_autofree char *stat = NULL;
  struct timespec boot;
  const char *fields;
  guint64 start_ticks = 0;
  long hz = sysconf (_SC_CLK_TCK);
  gint64 now = g_get_monotonic_time ();

  if (!g_file_get_contents ("/proc/self/stat", &stat, NULL, NULL) ||
      (fields = strrchr (stat, ')')) == NULL ||
      sscanf (fields + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d "
                          "%*d %*d %" G_GUINT64_FORMAT, &start_ticks) != 1 ||
      hz <= 0 || clock_gettime (CLOCK_BOOTTIME, &boot) != 0)
    return now;

  return now - (((gint64) boot.tv_sec * G_USEC_PER_SEC + boot.tv_nsec / 1000) -
                (gint64) (start_ticks * G_USEC_PER_SEC / (guint64) hz));
}

static void on_profile_client (NatterProfile *profile,
                               GParamSpec    *pspec,
                               gpointer       user_data);
static void on_backup_failed (NatterProfile *profile,
                              const GError  *error,
                              gpointer       user_data);

/* The profile, opened on first use: its name is known once the command
 * line has been read */
static gboolean
open_profile (NatterApplication  *self,
              GError            **error)
{
  if (self->profile != NULL)
    return TRUE;

  self->profile = natter_profile_new (self->profile_name, error);
  if (self->profile == NULL)
    return FALSE;

  g_signal_connect (self->profile, "notify::client", G_CALLBACK (on_profile_client), self);
  g_signal_connect (self->profile, "backup-failed", G_CALLBACK (on_backup_failed), self);
  return TRUE;
}

/* The default profile's server is also a GSettings key, for the desktop's tools */
static void
remember_server_url (NatterApplication *self,
                     const char        *server_url)
{
  if (self->settings != NULL && g_str_equal (self->profile_name, NATTER_PROFILE_DEFAULT))
    g_settings_set_string (self->settings, "server-url", server_url);
}

/* The profile leaves out a picture that is not usable; say so */
static void
warn_about_avatar (NatterApplication *self)
{
  g_autoptr(GBytes) avatar = NULL;
  g_autoptr(GError) error = NULL;

  avatar = natter_profile_dup_avatar (self->profile, &error);
  if (error != NULL)
    g_warning ("%s", error->message);
}

/* GSettings: the schema may be missing when running from a build folder
 * without GSETTINGS_SCHEMA_DIR; then the defaults apply. */
static GSettings *
lookup_settings (void)
{
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr(GSettingsSchema) schema = NULL;

  if (source != NULL)
    schema = g_settings_schema_source_lookup (source, APPLICATION_ID, TRUE);

  if (schema == NULL)
    {
      g_message ("The settings schema %s is not installed; using the defaults", APPLICATION_ID);
      return NULL;
    }

  return g_settings_new_full (schema, NULL, NULL);
}

static JsonArray *
ice_servers_from_settings (GSettings *settings)
{
  g_auto(GStrv) stun = g_settings_get_strv (settings, "stun-servers");
  g_auto(GStrv) turn = g_settings_get_strv (settings, "turn-servers");
  JsonArray *servers;

  if ((stun == NULL || stun[0] == NULL) && (turn == NULL || turn[0] == NULL))
    return NULL;

  servers = json_array_new ();
  for (guint i = 0; stun != NULL && stun[i] != NULL; i++)
    {
      JsonObject *server = json_object_new ();

      json_object_set_string_member (server, "urls", stun[i]);
      json_array_add_object_element (servers, server);
    }
  for (guint i = 0; turn != NULL && turn[i] != NULL; i++)
    {
      JsonObject *server = json_object_new ();

      json_object_set_string_member (server, "urls", turn[i]);
      json_array_add_object_element (servers, server);
    }

  return servers;
}

/* GSettings keys that are NatterClient properties, bound one way */
static const struct {
  const char *key;
  const char *property;
} client_settings[] = {
  { "send-read-receipts", "send-read-receipts" },
  { "send-typing-indicators", "send-typing" },
  { "relay-only", "relay-only" },
};

/**
 * natter_application_bind_client_settings:
 * @settings: the application's settings
 * @client: a client
 *
 * Makes the client follow the settings that are its properties (read
 * receipts, typing indicators, relay only), now and whenever they change.
 */
void
natter_application_bind_client_settings (GSettings    *settings,
                                         NatterClient *client)
{
  g_return_if_fail (G_IS_SETTINGS (settings));
  g_return_if_fail (NATTER_IS_CLIENT (client));

  for (guint i = 0; i < G_N_ELEMENTS (client_settings); i++)
    g_settings_bind (settings, client_settings[i].key, client, client_settings[i].property,
                     G_SETTINGS_BIND_GET);
}

void
natter_application_unbind_client_settings (NatterClient *client)
{
  g_return_if_fail (NATTER_IS_CLIENT (client));

  for (guint i = 0; i < G_N_ELEMENTS (client_settings); i++)
    g_settings_unbind (client, client_settings[i].property);
}

/* The STUN and TURN lists become one RTCIceServer list */
static void
apply_ice_servers (NatterApplication *self)
{
  g_autoptr(JsonArray) ice = NULL;

  if (self->client == NULL || self->settings == NULL)
    return;

  ice = ice_servers_from_settings (self->settings);
  natter_client_set_ice_servers_override (self->client, ice);
}

static void
on_ice_servers_changed (GSettings  *settings,
                        const char *key,
                        gpointer    user_data)
{
  apply_ice_servers (NATTER_APPLICATION (user_data));
}

/* Notifications */

static NatterWindow *
get_main_window (NatterApplication *self)
{
  for (GList *l = gtk_application_get_windows (GTK_APPLICATION (self)); l != NULL; l = l->next)
    if (NATTER_IS_WINDOW (l->data))
      return l->data;

  return NULL;
}

static gboolean
bus_has_name (GDBusConnection *bus,
              const char      *method,
              const char      *name)
{
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) names = NULL;
  gboolean found = FALSE;

  reply = g_dbus_connection_call_sync (bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus", method,
                                       g_str_equal (method, "NameHasOwner") ?
                                       g_variant_new ("(s)", name) : NULL,
                                       NULL, G_DBUS_CALL_FLAGS_NONE, 1000, NULL, NULL);
  if (reply == NULL)
    return FALSE;

  if (g_str_equal (method, "NameHasOwner"))
    {
      g_variant_get (reply, "(b)", &found);
      return found;
    }

  names = g_variant_get_child_value (reply, 0);
  for (gsize i = 0; i < g_variant_n_children (names) && !found; i++)
    {
      g_autoptr(GVariant) child = g_variant_get_child_value (names, i);

      found = g_str_equal (g_variant_get_string (child, NULL), name);
    }

  return found;
}

/* GLib warns when no notification server answers; on a desktop without one
 * (a test session, a bare window manager) the app stays quiet instead. In
 * a sandbox the portal decides. */
static gboolean
notifications_available (NatterApplication *self)
{
  GDBusConnection *bus = g_application_get_dbus_connection (G_APPLICATION (self));

  if (g_file_test ("/.flatpak-info", G_FILE_TEST_EXISTS))
    return TRUE;

  if (bus == NULL)
    return FALSE;

  return bus_has_name (bus, "NameHasOwner", "org.gtk.Notifications") ||
         bus_has_name (bus, "NameHasOwner", "org.freedesktop.Notifications") ||
         bus_has_name (bus, "ListActivatableNames", "org.freedesktop.Notifications");
}

static char *
message_notification_id (const char *contact_id)
{
  return g_strconcat ("message-", contact_id, NULL);
}

/* Whether GLib sends notifications to a freedesktop server (no portal, no
 * org.gtk.Notifications), which may read the body as markup */
static gboolean
notifications_read_markup (NatterApplication *self)
{
  GDBusConnection *bus = g_application_get_dbus_connection (G_APPLICATION (self));

  if (g_file_test ("/.flatpak-info", G_FILE_TEST_EXISTS) || bus == NULL)
    return FALSE;

  return !bus_has_name (bus, "NameHasOwner", "org.gtk.Notifications");
}

static void
on_message_added (NatterClient  *client,
                  NatterMessage *message,
                  gpointer       user_data)
{
  NatterApplication *self = user_data;
  NatterWindow *window = get_main_window (self);
  const char *contact_id = natter_message_get_contact_id (message);
  g_autoptr(NatterContact) contact = NULL;
  g_autoptr(GNotification) notification = NULL;
  g_autofree char *notification_id = NULL;
  g_autofree char *name = NULL;
  g_autofree char *body = NULL;

  if (natter_message_get_direction (message) != NATTER_MESSAGE_DIRECTION_IN)
    return;

  if (window != NULL && gtk_widget_get_visible (GTK_WIDGET (window)) &&
      gtk_window_is_active (GTK_WINDOW (window)))
    return;

  if (!notifications_available (self))
    {
      g_debug ("No notification server; not announcing a message");
      return;
    }

  contact = natter_store_get_contact (natter_client_get_store (client), contact_id, NULL);
  if (contact != NULL && natter_contact_get_name (contact) != NULL)
    name = natter_text_one_line (natter_contact_get_name (contact));

  /* Plain text: GLib sends the body to a freedesktop notification server
   * as it is, and such a server may read it as markup */
  body = natter_text_notification_body (natter_message_get_body (message),
                                        notifications_read_markup (self));
  notification = g_notification_new (name != NULL ? name : _("New message"));
  /* The text only where the user wants it on screen */
  if (self->settings == NULL || g_settings_get_boolean (self->settings, "notification-preview"))
    g_notification_set_body (notification, body);
  else
    g_notification_set_body (notification, _("New message"));
  if (contact != NULL && natter_contact_get_avatar (contact) != NULL)
    {
      g_autoptr(GIcon) avatar = g_bytes_icon_new (natter_contact_get_avatar (contact));

      g_notification_set_icon (notification, avatar);
    }
  g_notification_set_default_action_and_target (notification, "app.open-conversation", "s",
                                                contact_id);
  g_notification_add_button_with_target (notification, _("Mark as Read"), "app.mark-read", "s",
                                         contact_id);
  g_notification_add_button_with_target (notification, _("Open"), "app.open-conversation", "s",
                                         contact_id);
  notification_id = message_notification_id (contact_id);
  g_application_send_notification (G_APPLICATION (self), notification_id, notification);
}

/* The history's health */

static void
show_notice (NatterApplication *self,
             const char        *message,
             const char        *button_label,
             const char        *action_name)
{
  NatterWindow *window = get_main_window (self);

  if (window != NULL)
    natter_window_add_notice (window, message, button_label, action_name);
}

static void
on_store_damaged (NatterStore *store,
                  GParamSpec  *pspec,
                  gpointer     user_data)
{
  if (natter_store_get_damaged (store))
    show_notice (user_data,
                 _("The history is damaged: nothing more is stored in it"),
                 _("Restore Backup"), "app.restore-backup");
}

static void
on_store_checked (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(NatterApplication) self = user_data;
  g_autoptr(GError) error = NULL;

  if (natter_store_check_finish (NATTER_STORE (source), result, &error))
    {
      if (!natter_store_backup_if_due (NATTER_STORE (source), NATTER_PROFILE_BACKUP_MAX_AGE_S,
                                       &error))
        g_warning ("Could not back up the history: %s", error->message);
    }
  else if (!g_error_matches (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_CORRUPT))
    {
      g_warning ("Could not check the history: %s", error->message);
    }
}

static void
on_backup_failed (NatterProfile *profile,
                  const GError  *error,
                  gpointer       user_data)
{
  g_warning ("Could not back up the history: %s", error->message);
}

static void
on_store_failed (NatterClient *client,
                 const GError *error,
                 gpointer      user_data)
{
  if (g_error_matches (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_DISK_FULL))
    show_notice (user_data,
                 _("The disk is full: an incoming message waits with its sender"), NULL, NULL);
  else
    show_notice (user_data,
                 _("An incoming message could not be stored: it waits with its sender"), NULL, NULL);
}

static void
on_message_refused (NatterClient *client,
                    const char   *contact_id,
                    const char   *message_id,
                    const char   *reason,
                    gpointer      user_data)
{
  if (g_str_equal (reason, "storage-full"))
    show_notice (user_data,
                 _("Your contact’s disk is full: your message waits and goes by itself"), NULL, NULL);
  else if (g_str_has_prefix (reason, "storage-"))
    show_notice (user_data,
                 _("Your contact could not store your message: it waits and goes again"), NULL, NULL);
  else
    show_notice (user_data, _("Your contact’s device refused a message as malformed"), NULL, NULL);
}

/* Opens the history; says so when it is damaged, full or, in a thread,
 * found damaged on checking it */
static NatterStore *
open_store (NatterApplication  *self,
            GError            **error)
{
  NatterStore *store = natter_profile_get_store (self->profile);

  if (store != NULL)
    return store;

  store = natter_profile_open_store (self->profile, error);
  if (store == NULL)
    return NULL;

  g_signal_connect (store, "notify::damaged", G_CALLBACK (on_store_damaged), self);
  if (natter_store_get_read_only (store))
    show_notice (self, _("The disk is full: nothing new can be stored"), NULL, NULL);
  else
    /* In a thread: a large history does not hold up the window */
    natter_store_check_async (store, NULL, on_store_checked, g_object_ref (self));

  natter_profile_start_backups (self->profile);
  return store;
}

/* Commands that natter-cli hands over while the app is online: natter-cli's
 * own code runs them on the app's client, and their output goes back. */
static void
on_control_request (NatterControl     *control,
                    JsonObject        *request,
                    NatterControlCall *call,
                    gpointer           user_data)
{
  NatterApplication *self = user_data;

  if (self->client == NULL)
    {
      natter_control_call_print (call, TRUE, _("natter-cli: Natter is open on this profile but "
                                               "not connected to a server yet\n"));
      natter_control_call_finish (call, 2);
      return;
    }

  /* The command may turn the main loop; the app stays while it does */
  g_application_hold (G_APPLICATION (self));
  natter_cli_run_handed_over (self->profile, self->client, request, call);
  g_application_release (G_APPLICATION (self));
}

/* Read here or elsewhere: the notification has said what it had to. */
static void
on_conversation_read (NatterClient *client,
                      const char   *contact_id,
                      gpointer      user_data)
{
  g_autofree char *notification_id = message_notification_id (contact_id);

  g_application_withdraw_notification (G_APPLICATION (user_data), notification_id);
}

static void
set_client (NatterApplication *self,
            NatterClient      *client)
{
  if (self->client == client)
    return;

  if (self->client != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->client, self);
      natter_application_unbind_client_settings (self->client);
    }

  g_set_object (&self->client, client);
  if (client == NULL)
    g_clear_object (&self->control);

  if (self->client != NULL)
    {
      natter_client_set_loopback (self->client, self->loopback);
      if (self->settings != NULL)
        natter_application_bind_client_settings (self->settings, self->client);
      apply_ice_servers (self);
      warn_about_avatar (self);
      g_signal_connect (self->client, "message-added", G_CALLBACK (on_message_added), self);
      natter_application_calls_watch (self, self->client);
      if (self->control == NULL)
        {
          g_autoptr(GError) error = NULL;

          self->control = natter_control_new (natter_profile_get_path (self->profile), &error);
          if (self->control != NULL)
            g_signal_connect (self->control, "request", G_CALLBACK (on_control_request), self);
          else
            g_warning ("natter-cli cannot hand commands to Natter: %s", error->message);
        }
      g_signal_connect (self->client, "store-failed", G_CALLBACK (on_store_failed), self);
      g_signal_connect (self->client, "message-refused", G_CALLBACK (on_message_refused), self);
      g_signal_connect (self->client, "conversation-read", G_CALLBACK (on_conversation_read),
                        self);
      natter_client_start (self->client);
    }

  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CLIENT]);
}

/* The profile made a client, for a new server, or closed it */
static void
on_profile_client (NatterProfile *profile,
                   GParamSpec    *pspec,
                   gpointer       user_data)
{
  set_client (NATTER_APPLICATION (user_data), natter_profile_get_client (profile));
}

/* Opening */

static void
on_identity_loaded (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  NatterApplication *self = g_task_get_source_object (task);
  g_autoptr(NatterIdentity) identity = NULL;
  g_autoptr(GError) error = NULL;

  identity = natter_profile_load_identity_finish (self->profile, result, &error);
  if (identity == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  if (open_store (self, &error) == NULL)
    {
      if (g_error_matches (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_CORRUPT))
        show_notice (self, _("The history is damaged or missing"), _("Restore Backup"),
                     "app.restore-backup");
      g_task_return_new_error (task, error->domain, error->code,
                               _("Cannot open the history: %s"), error->message);
      return;
    }

  /* The client comes through notify::client, and starts there */
  if (natter_profile_open_client (self->profile, &error) == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  if (self->settings != NULL)
    g_settings_set_string (self->settings, "last-profile",
                           g_str_equal (self->profile_name, NATTER_PROFILE_DEFAULT) ?
                           "" : self->profile_name);

  g_task_return_boolean (task, TRUE);
}

/* Actions */

static void
show_window (NatterApplication *self)
{
  NatterWindow *window = get_main_window (self);

  if (window == NULL)
    window = natter_window_new (self);

  gtk_window_present (GTK_WINDOW (window));
}

static void
on_open_conversation (GSimpleAction *action,
                      GVariant      *parameter,
                      gpointer       user_data)
{
  NatterApplication *self = user_data;

  show_window (self);
  natter_window_open_conversation (get_main_window (self), g_variant_get_string (parameter, NULL));
}

static void
on_preferences (GSimpleAction *action,
                GVariant      *parameter,
                gpointer       user_data)
{
  NatterApplication *self = user_data;
  NatterPreferencesWindow *preferences = natter_preferences_window_new (self);

  gtk_window_set_transient_for (GTK_WINDOW (preferences),
                                gtk_application_get_active_window (GTK_APPLICATION (self)));
  gtk_window_present (GTK_WINDOW (preferences));
}

static void
on_about (GSimpleAction *action,
          GVariant      *parameter,
          gpointer       user_data)
{
  NatterApplication *self = user_data;
  const char *developers[] = { _("The Natter contributors"), NULL };
  GtkWidget *about;

  about = g_object_new (ADW_TYPE_ABOUT_WINDOW,
                        "transient-for", gtk_application_get_active_window (GTK_APPLICATION (self)),
                        "application-name", _("Natter"),
                        "application-icon", APPLICATION_ID,
                        "version", PACKAGE_VERSION,
                        "comments", _("Chat and call directly, computer to computer"),
                        "developers", developers,
                        "website", "https://github.com/natter/natter",
                        "issue-url", "https://github.com/natter/natter/issues",
                        "license-type", GTK_LICENSE_GPL_3_0,
                        "translator-credits", _("translator-credits"),
                        NULL);
  gtk_window_present (GTK_WINDOW (about));
}

static void
on_quit (GSimpleAction *action,
         GVariant      *parameter,
         gpointer       user_data)
{
  NatterApplication *self = user_data;

  /* Really quit, even when running in the background. */
  for (GList *l = gtk_application_get_windows (GTK_APPLICATION (self)); l != NULL;)
    {
      GtkWindow *window = l->data;

      l = l->next;
      gtk_window_destroy (window);
    }
  g_application_quit (G_APPLICATION (self));
}

/* SIGINT or SIGTERM: quit the way app.quit does, stopping the client. */
static gboolean
on_quit_signal (gpointer user_data)
{
  g_action_group_activate_action (G_ACTION_GROUP (user_data), "quit", NULL);
  return G_SOURCE_CONTINUE;
}

static void
on_reopened (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  NatterApplication *self = NATTER_APPLICATION (source);
  g_autoptr(GError) error = NULL;

  if (!natter_application_open_finish (self, result, &error))
    show_notice (self, error->message, NULL, NULL);
}

static void
on_restore_backup (GSimpleAction *action,
                   GVariant      *parameter,
                   gpointer       user_data)
{
  NatterApplication *self = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *aside = NULL;
  NatterStore *store;

  if (self->profile == NULL)
    return;

  /* Nothing may hold the history while it is replaced: the profile closes
   * the client and the history first */
  store = natter_profile_get_store (self->profile);
  if (store != NULL)
    g_signal_handlers_disconnect_by_data (store, self);
  aside = natter_profile_restore_backup (self->profile, &error);
  if (aside == NULL)
    {
      g_autofree char *message = g_strdup_printf (_("Could not restore the backup: %s"),
                                                  error->message);

      show_notice (self, message, NULL, NULL);
    }

  natter_application_open_async (self, NULL, NULL, NULL, on_reopened, NULL);
}

/* A notification's Mark as Read: read without opening the window. */
static void
on_mark_read (GSimpleAction *action,
              GVariant      *parameter,
              gpointer       user_data)
{
  NatterApplication *self = user_data;
  g_autoptr(GError) error = NULL;

  if (self->client == NULL)
    return;

  if (!natter_client_mark_read (self->client, g_variant_get_string (parameter, NULL), &error))
    g_warning ("Could not mark the conversation read: %s", error->message);
}

static const GActionEntry app_actions[] = {
  { "restore-backup", on_restore_backup },
  { "open-conversation", on_open_conversation, "s" },
  { "mark-read", on_mark_read, "s" },
  { "preferences", on_preferences },
  { "about", on_about },
  { "quit", on_quit },
};

/* GApplication */

static int
natter_application_handle_local_options (GApplication *application,
                                         GVariantDict *options)
{
  NatterApplication *self = NATTER_APPLICATION (application);
  const char *profile = NULL;

  self->settings = lookup_settings ();

  if (g_variant_dict_lookup (options, "profile", "&s", &profile))
    {
      if (!natter_profile_name_is_valid (profile))
        {
          g_printerr ("natter: %s\n",
                      _("A profile name is 1 to 64 letters, digits, '.', '_' or '-'"));
          return 1;
        }
      g_free (self->profile_name);
      self->profile_name = g_strdup (profile);
    }
  else if (self->settings != NULL)
    {
      /* Without --profile, the profile that was open last */
      g_autofree char *last = g_settings_get_string (self->settings, "last-profile");

      if (natter_profile_name_is_valid (last))
        {
          g_free (self->profile_name);
          self->profile_name = g_steal_pointer (&last);
        }
    }

  g_variant_dict_lookup (options, "loopback", "b", &self->loopback);
  g_variant_dict_lookup (options, "background", "b", &self->start_hidden);
  /* The same for tests that start the app as the desktop does, with no
   * command line (D-Bus activation), such as the Flatpak's. */
  if (g_strcmp0 (g_getenv ("NATTER_LOOPBACK"), "1") == 0)
    self->loopback = TRUE;

  /* One instance per profile: profiles other than the default get their own
   * application ID, so two of them can run side by side. */
  if (!g_str_equal (self->profile_name, NATTER_PROFILE_DEFAULT))
    {
      g_autoptr(GString) id = g_string_new (APPLICATION_ID ".Profile_");

      for (const char *p = self->profile_name; *p != '\0'; p++)
        g_string_append_c (id, g_ascii_isalnum (*p) ? *p : '_');
      g_application_set_application_id (application, id->str);
    }

  return -1;
}

static void
natter_application_startup (GApplication *application)
{
  NatterApplication *self = NATTER_APPLICATION (application);
  static const char *quit_accels[] = { "<Control>q", NULL };
  static const char *preferences_accels[] = { "<Control>comma", NULL };
  static const char *close_accels[] = { "<Control>w", NULL };
  static const char *help_accels[] = { "<Control>question", NULL };

  G_APPLICATION_CLASS (natter_application_parent_class)->startup (application);

  g_action_map_add_action_entries (G_ACTION_MAP (self), app_actions, G_N_ELEMENTS (app_actions),
                                   self);
  natter_application_calls_startup (self);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "app.quit", quit_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "app.preferences",
                                         preferences_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "window.close", close_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "win.show-help-overlay",
                                         help_accels);

  self->sigint_source = g_unix_signal_add (SIGINT, on_quit_signal, self);
  self->sigterm_source = g_unix_signal_add (SIGTERM, on_quit_signal, self);

  if (self->settings == NULL)
    self->settings = lookup_settings ();
  if (self->settings != NULL)
    {
      g_signal_connect (self->settings, "changed::stun-servers",
                        G_CALLBACK (on_ice_servers_changed), self);
      g_signal_connect (self->settings, "changed::turn-servers",
                        G_CALLBACK (on_ice_servers_changed), self);
      g_signal_connect (self->settings, "changed::run-in-background",
                        G_CALLBACK (on_background_settings_changed), self);
      g_signal_connect (self->settings, "changed::start-at-login",
                        G_CALLBACK (on_background_settings_changed), self);
      /* The desktop may have forgotten, or the user changed it there */
      if (g_settings_get_boolean (self->settings, "run-in-background"))
        request_background (self);
    }
}

static void
natter_application_activate (GApplication *application)
{
  NatterApplication *self = NATTER_APPLICATION (application);
  g_autofree char *server = natter_application_dup_server_url (self);

  /* Started at login: online with the window hidden, as if it had been
   * closed. A profile that is not set up yet shows its first page. */
  if (self->start_hidden && get_main_window (self) == NULL && server != NULL)
    {
      self->start_hidden = FALSE;
      natter_window_new (self);
      return;
    }

  self->start_hidden = FALSE;
  show_window (self);
}

/* The Background portal: running with no window, and starting at login */

static void
set_background_problem (NatterApplication *self,
                        const char        *problem)
{
  if (g_strcmp0 (problem, self->background_problem) == 0)
    return;

  g_free (self->background_problem);
  self->background_problem = g_strdup (problem);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BACKGROUND_PROBLEM]);
}

static void
on_background_answered (GObject      *source,
                        GAsyncResult *result,
                        gpointer      user_data)
{
  g_autoptr(NatterApplication) self = user_data;
  g_autoptr(GError) error = NULL;
  gboolean autostart = FALSE;
  gboolean wanted;

  if (!natter_background_portal_request_finish (result, &autostart, &error))
    {
      set_background_problem (self, error->message);
      return;
    }

  wanted = self->settings != NULL && g_settings_get_boolean (self->settings, "start-at-login");
  if (wanted && !autostart)
    set_background_problem (self, _("Your desktop did not allow Natter to start at login"));
  else
    set_background_problem (self, NULL);
}

static void
request_background (NatterApplication *self)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) commandline = NULL;
  gboolean background;

  if (self->settings == NULL)
    return;

  background = g_settings_get_boolean (self->settings, "run-in-background");
  g_strv_builder_add_many (builder, "natter", "--background", NULL);
  if (!g_str_equal (self->profile_name, NATTER_PROFILE_DEFAULT))
    g_strv_builder_add_many (builder, "--profile", self->profile_name, NULL);
  commandline = g_strv_builder_end (builder);

  /* Turned off, it is asked again without autostart: that undoes it */
  natter_background_portal_request_async (background &&
                                          g_settings_get_boolean (self->settings,
                                                                  "start-at-login"),
                                          (const char * const *) commandline,
                                          on_background_answered, g_object_ref (self));
}

static void
on_background_settings_changed (GSettings  *settings,
                                const char *key,
                                gpointer    user_data)
{
  request_background (user_data);
}

/**
 * natter_application_get_background_problem:
 *
 * Returns: (nullable): why Natter cannot run in the background or start at
 *   login, as the desktop answered; %NULL when nothing stands in the way
 */
const char *
natter_application_get_background_problem (NatterApplication *self)
{
  g_return_val_if_fail (NATTER_IS_APPLICATION (self), NULL);

  return self->background_problem;
}

/* natter: links (the desktop file registers the scheme) */
static void
natter_application_open (GApplication  *application,
                         GFile        **files,
                         int            n_files,
                         const char    *hint)
{
  NatterApplication *self = NATTER_APPLICATION (application);

  show_window (self);
  for (int i = 0; i < n_files; i++)
    {
      g_autofree char *uri = g_file_get_uri (files[i]);
      g_autofree char *user_id = natter_user_id_text_from_uri (uri);

      if (user_id == NULL)
        {
          natter_window_add_toast (get_main_window (self),
                                   _("That link does not hold a valid Natter ID"));
          continue;
        }
      natter_window_add_contact (get_main_window (self), user_id);
    }
}

static void
natter_application_shutdown (GApplication *application)
{
  NatterApplication *self = NATTER_APPLICATION (application);

  if (self->profile != NULL)
    natter_profile_close_client (self->profile);
  set_client (self, NULL);
  g_clear_handle_id (&self->sigint_source, g_source_remove);
  g_clear_handle_id (&self->sigterm_source, g_source_remove);

  G_APPLICATION_CLASS (natter_application_parent_class)->shutdown (application);
}

static void
natter_application_get_property (GObject    *object,
                                 guint       prop_id,
                                 GValue     *value,
                                 GParamSpec *pspec)
{
  NatterApplication *self = NATTER_APPLICATION (object);

  switch (prop_id)
    {
    case PROP_CLIENT:
      g_value_set_object (value, self->client);
      break;

    case PROP_BACKGROUND_PROBLEM:
      g_value_set_string (value, self->background_problem);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
natter_application_dispose (GObject *object)
{
  NatterApplication *self = NATTER_APPLICATION (object);

  set_client (self, NULL);
  if (self->profile != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->profile, self);
      natter_profile_close_client (self->profile);
    }
  g_clear_object (&self->profile);
  g_clear_object (&self->settings);

  G_OBJECT_CLASS (natter_application_parent_class)->dispose (object);
}

static void
natter_application_finalize (GObject *object)
{
  NatterApplication *self = NATTER_APPLICATION (object);

  g_free (self->profile_name);
  g_free (self->background_problem);

  G_OBJECT_CLASS (natter_application_parent_class)->finalize (object);
}

static void
natter_application_class_init (NatterApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  object_class->get_property = natter_application_get_property;
  object_class->dispose = natter_application_dispose;
  object_class->finalize = natter_application_finalize;

  app_class->handle_local_options = natter_application_handle_local_options;
  app_class->startup = natter_application_startup;
  app_class->activate = natter_application_activate;
  app_class->open = natter_application_open;
  app_class->shutdown = natter_application_shutdown;

  properties[PROP_CLIENT] =
    g_param_spec_object ("client", NULL, NULL, NATTER_TYPE_CLIENT,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  properties[PROP_BACKGROUND_PROBLEM] =
    g_param_spec_string ("background-problem", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
natter_application_init (NatterApplication *self)
{
  const GOptionEntry entries[] = {
    { "profile", 'p', 0, G_OPTION_ARG_STRING, NULL,
      N_("Use a separate identity and history"), N_("NAME") },
    { "loopback", 0, 0, G_OPTION_ARG_NONE, NULL,
      N_("For testing on one machine: also offer 127.0.0.1 to peers"), NULL },
    { "background", 0, 0, G_OPTION_ARG_NONE, NULL,
      N_("Start with no window, as at login"), NULL },
    { NULL }
  };

  self->start_time = process_start_time ();
  self->report_timing = g_strcmp0 (g_getenv ("NATTER_REPORT_TIMING"), "1") == 0;
  self->profile_name = g_strdup (NATTER_PROFILE_DEFAULT);

  g_application_add_main_option_entries (G_APPLICATION (self), entries);
}

NatterApplication *
natter_application_new (void)
{
  return g_object_new (NATTER_TYPE_APPLICATION,
                       "application-id", APPLICATION_ID,
                       "flags", G_APPLICATION_HANDLES_OPEN,
                       "resource-base-path", "/io/github/natter/Natter",
                       NULL);
}

/**
 * natter_application_get_client:
 *
 * Returns: (transfer none) (nullable): the client, once the profile is open
 */
NatterClient *
natter_application_get_client (NatterApplication *self)
{
  g_return_val_if_fail (NATTER_IS_APPLICATION (self), NULL);

  return self->client;
}

/**
 * natter_application_get_settings:
 *
 * Returns: (transfer none) (nullable): the application's settings, %NULL
 *   when the schema is not installed
 */
GSettings *
natter_application_get_settings (NatterApplication *self)
{
  g_return_val_if_fail (NATTER_IS_APPLICATION (self), NULL);

  return self->settings;
}

const char *
natter_application_get_profile_name (NatterApplication *self)
{
  g_return_val_if_fail (NATTER_IS_APPLICATION (self), NULL);

  return self->profile_name;
}

/**
 * natter_application_dup_server_url:
 *
 * Returns: (transfer full) (nullable): the profile's server, %NULL before
 *   the first run set one
 */
char *
natter_application_dup_server_url (NatterApplication *self)
{
  g_return_val_if_fail (NATTER_IS_APPLICATION (self), NULL);

  if (!open_profile (self, NULL))
    return NULL;

  return natter_profile_dup_server_url (self->profile);
}

/**
 * natter_application_dup_profile_value:
 * @key: "name", "bio" or "handle"
 *
 * Returns: (transfer full) (nullable): what contacts see of us
 */
char *
natter_application_dup_profile_value (NatterApplication *self,
                                      const char        *key)
{
  g_return_val_if_fail (NATTER_IS_APPLICATION (self), NULL);

  if (!open_profile (self, NULL))
    return NULL;

  if (g_str_equal (key, "name"))
    return natter_profile_dup_display_name (self->profile);
  if (g_str_equal (key, "bio"))
    return natter_profile_dup_bio (self->profile);
  if (g_str_equal (key, "handle"))
    return natter_profile_dup_handle (self->profile);

  g_return_val_if_reached (NULL);
}

/**
 * natter_application_set_handle:
 * @handle: (nullable): the handle the server gave us, %NULL once released
 *
 * Returns: %TRUE once the profile holds it
 */
gboolean
natter_application_set_handle (NatterApplication  *self,
                               const char         *handle,
                               GError            **error)
{
  g_return_val_if_fail (NATTER_IS_APPLICATION (self), FALSE);

  if (!open_profile (self, error))
    return FALSE;

  return natter_profile_set_handle (self->profile, handle, error);
}

GBytes *
natter_application_dup_avatar (NatterApplication *self)
{
  g_return_val_if_fail (NATTER_IS_APPLICATION (self), NULL);

  if (self->profile == NULL)
    return NULL;

  return natter_profile_dup_avatar (self->profile, NULL);
}

/**
 * natter_application_save_profile:
 * @name: (nullable): the display name, or %NULL to keep it
 * @bio: (nullable): the bio, or %NULL to keep it
 * @avatar: (nullable): a new picture, or %NULL to keep (or remove) it
 * @remove_avatar: remove the picture
 *
 * Saves what contacts see of us (natter_profile_save_public()), which the
 * client takes at once.
 */
gboolean
natter_application_save_profile (NatterApplication  *self,
                                 const char         *name,
                                 const char         *bio,
                                 GBytes             *avatar,
                                 gboolean            remove_avatar,
                                 GError            **error)
{
  g_return_val_if_fail (NATTER_IS_APPLICATION (self), FALSE);

  return open_profile (self, error) &&
         natter_profile_save_public (self->profile, name, bio, avatar, remove_avatar, error);
}

/**
 * natter_application_validate_server_url:
 *
 * Checks that @url is a ws:// or wss:// address with a host.
 */
gboolean
natter_application_validate_server_url (const char  *url,
                                        GError     **error)
{
  g_autoptr(GUri) uri = NULL;
  const char *scheme;

  if (url != NULL)
    uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);

  if (uri == NULL || (scheme = g_uri_get_scheme (uri)) == NULL ||
      (g_ascii_strcasecmp (scheme, "ws") != 0 && g_ascii_strcasecmp (scheme, "wss") != 0) ||
      g_uri_get_host (uri) == NULL || *g_uri_get_host (uri) == '\0')
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                           _("Enter a server address such as wss://natter.example.org/ws"));
      return FALSE;
    }

  return TRUE;
}

/**
 * natter_application_set_server_url:
 *
 * Saves a new server for the profile and reconnects through it.
 */
gboolean
natter_application_set_server_url (NatterApplication  *self,
                                   const char         *server_url,
                                   GError            **error)
{
  g_autofree char *current = NULL;

  g_return_val_if_fail (NATTER_IS_APPLICATION (self), FALSE);

  if (!natter_application_validate_server_url (server_url, error) || !open_profile (self, error))
    return FALSE;

  current = natter_profile_dup_server_url (self->profile);
  if (g_strcmp0 (current, server_url) == 0)
    return TRUE;

  /* An open client is replaced by one for the new server (notify::client) */
  if (!natter_profile_set_server_url (self->profile, server_url, error))
    return FALSE;

  remember_server_url (self, server_url);
  return TRUE;
}

/**
 * natter_application_open_async:
 * @display_name: (nullable): on the first run, the name contacts see
 * @server_url: (nullable): on the first run, the signaling server
 *
 * Opens the profile: saves what the first run asked for, loads (or creates)
 * the identity in the keyring, opens the history and starts the client.
 * Errors carry messages meant for the user.
 */
void
natter_application_open_async (NatterApplication   *self,
                               const char          *display_name,
                               const char          *server_url,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GError) error = NULL;

  g_return_if_fail (NATTER_IS_APPLICATION (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, natter_application_open_async);

  if (!open_profile (self, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  if (server_url != NULL &&
      (!natter_application_validate_server_url (server_url, &error) ||
       !natter_profile_set_server_url (self->profile, server_url, &error)))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (server_url != NULL)
    remember_server_url (self, server_url);

  if (display_name != NULL && *display_name != '\0' &&
      !natter_profile_save_public (self->profile, display_name, NULL, NULL, FALSE, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  if (self->client != NULL)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }

  /* Two processes online with one identity knock each other off the server */
  if (natter_control_is_online (natter_profile_get_path (self->profile)))
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_EXISTS,
                               _("natter-cli is online on this profile (natter-cli listen); "
                                 "stop it to open Natter here"));
      return;
    }

  natter_profile_load_identity_async (self->profile, cancellable, on_identity_loaded,
                                      g_steal_pointer (&task));
}

gboolean
natter_application_open_finish (NatterApplication  *self,
                                GAsyncResult       *result,
                                GError            **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

gboolean
natter_application_get_report_timing (NatterApplication *self)
{
  g_return_val_if_fail (NATTER_IS_APPLICATION (self), FALSE);

  return self->report_timing;
}

gint64
natter_application_get_start_time (NatterApplication *self)
{
  g_return_val_if_fail (NATTER_IS_APPLICATION (self), 0);

  return self->start_time;
}

/**
 * natter_application_report_timing:
 * @what: the figure's name, such as "first-frame-ms"
 * @since_us: the monotonic time it is measured from
 *
 * With NATTER_REPORT_TIMING=1, prints "natter: WHAT MS" on stdout.
 */
void
natter_application_report_timing (NatterApplication *self,
                                  const char        *what,
                                  gint64             since_us)
{
  g_return_if_fail (NATTER_IS_APPLICATION (self));

  if (!self->report_timing)
    return;

  g_print ("natter: %s %" G_GINT64_FORMAT "\n", what, (g_get_monotonic_time () - since_us) / 1000);
  fflush (stdout);
}
