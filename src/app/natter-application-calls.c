/* natter-application-calls.c: the application's side of calls
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Every call the client adds, placed here or coming in, gets a
 * NatterCallWindow at once (before its media is set up, so that the video
 * reaches the window). An incoming call also gets a notification with
 * Answer and Decline (app.answer-call, app.decline-call, which work while
 * the window is hidden or behind others); it is withdrawn once the call
 * stops ringing. While a call rings, so does the computer (NatterRinger:
 * the sound theme's phone-incoming-call, and phone-outgoing-calling for the
 * caller while the other side rings). An incoming call nobody answered
 * leaves a notification with Call Back (app.call-back). NATTER_TEST_MEDIA=1
 * in the environment makes calls send a test pattern and a tone instead of
 * the camera and microphone.
 */
#define G_LOG_DOMAIN "natter-application"

#include "config.h"

#include <glib/gi18n.h>

#include "natter-application-calls.h"
#include "natter-call-window.h"
#include "natter-ringer.h"
#include "natter-text.h"

#define CALL_NOTIFICATION_ID "incoming-call"
#define RINGER_KEY "natter-ringer"
#define SOUND_SCHEMA "org.gnome.desktop.sound"

/* The application's one ringer, made when first needed, with the desktop's
 * sound theme where its settings are installed */
static NatterRinger *
get_ringer (NatterApplication *self)
{
  NatterRinger *ringer = g_object_get_data (G_OBJECT (self), RINGER_KEY);
  GSettingsSchemaSource *source;
  g_autoptr(GSettingsSchema) schema = NULL;

  if (ringer != NULL)
    return ringer;

  ringer = natter_ringer_new ();
  source = g_settings_schema_source_get_default ();
  if (source != NULL)
    schema = g_settings_schema_source_lookup (source, SOUND_SCHEMA, TRUE);
  if (schema != NULL && g_settings_schema_has_key (schema, "theme-name"))
    {
      g_autoptr(GSettings) settings = g_settings_new_full (schema, NULL, NULL);
      g_autofree char *theme = g_settings_get_string (settings, "theme-name");

      natter_ringer_set_theme (ringer, theme);
    }
  g_object_set_data_full (G_OBJECT (self), RINGER_KEY, ringer, g_object_unref);
  return ringer;
}

static char *
dup_contact_name (NatterClient *client,
                  const char   *contact_id)
{
  g_autoptr(NatterContact) contact = natter_store_get_contact (natter_client_get_store (client),
                                                               contact_id, NULL);

  return natter_text_one_line (contact != NULL && natter_contact_get_name (contact) != NULL ?
                               natter_contact_get_name (contact) : contact_id);
}

static char *
missed_notification_id (const char *contact_id)
{
  return g_strconcat ("missed-call-", contact_id, NULL);
}

static NatterCallWindow *
find_window (NatterApplication *self,
             const char        *call_id)
{
  for (GList *l = gtk_application_get_windows (GTK_APPLICATION (self)); l != NULL; l = l->next)
    if (NATTER_IS_CALL_WINDOW (l->data) &&
        g_strcmp0 (natter_call_get_id (natter_call_window_get_call (l->data)), call_id) == 0)
      return l->data;
  return NULL;
}

static void
on_answer_call (GSimpleAction *action,
                GVariant      *parameter,
                gpointer       user_data)
{
  NatterApplication *self = user_data;
  NatterCallWindow *window = find_window (self, g_variant_get_string (parameter, NULL));
  g_autoptr(GError) error = NULL;

  if (window == NULL)
    return;
  gtk_window_present (GTK_WINDOW (window));
  if (!natter_client_answer_call (natter_application_get_client (self),
                                  natter_call_window_get_call (window), &error))
    g_message ("Could not answer the call: %s", error->message);
}

static void
on_decline_call (GSimpleAction *action,
                 GVariant      *parameter,
                 gpointer       user_data)
{
  NatterApplication *self = user_data;
  NatterCallWindow *window = find_window (self, g_variant_get_string (parameter, NULL));

  if (window != NULL)
    natter_client_decline_call (natter_application_get_client (self),
                                natter_call_window_get_call (window));
}

/* A missed call's Call Back, from its notification or its row */
static void
on_call_back (GSimpleAction *action,
              GVariant      *parameter,
              gpointer       user_data)
{
  NatterApplication *self = user_data;
  NatterClient *client = natter_application_get_client (self);
  const char *contact_id = NULL;
  gboolean audio_only = FALSE;
  g_autofree char *notification_id = NULL;
  g_autoptr(NatterCall) call = NULL;
  g_autoptr(GError) error = NULL;

  g_variant_get (parameter, "(&sb)", &contact_id, &audio_only);
  if (client == NULL)
    return;

  notification_id = missed_notification_id (contact_id);
  g_application_withdraw_notification (G_APPLICATION (self), notification_id);
  g_action_group_activate_action (G_ACTION_GROUP (self), "open-conversation",
                                  g_variant_new_string (contact_id));
  call = natter_client_place_call (client, contact_id, audio_only, &error);
  if (call == NULL)
    g_message ("Could not call back: %s", error->message);
}

static const GActionEntry call_actions[] = {
  { "answer-call", on_answer_call, "s" },
  { "decline-call", on_decline_call, "s" },
  { "call-back", on_call_back, "(sb)" },
};

void
natter_application_calls_startup (NatterApplication *self)
{
  g_action_map_add_action_entries (G_ACTION_MAP (self), call_actions, G_N_ELEMENTS (call_actions),
                                   self);
}

static void
notify_missed (NatterApplication *self,
               NatterCall        *call)
{
  NatterClient *client = natter_application_get_client (self);
  const char *contact_id = natter_call_get_contact_id (call);
  g_autofree char *name = dup_contact_name (client, contact_id);
  g_autofree char *notification_id = missed_notification_id (contact_id);
  g_autoptr(GNotification) notification = g_notification_new (name);
  gboolean audio_only = natter_call_get_audio_only (call);

  g_notification_set_body (notification, audio_only ? _("Missed audio call")
                                                    : _("Missed video call"));
  g_notification_set_category (notification, "call.unanswered");
  g_notification_set_default_action_and_target (notification, "app.open-conversation", "s",
                                                contact_id);
  g_notification_add_button_with_target (notification, _("Call Back"), "app.call-back", "(sb)",
                                         contact_id, audio_only);
  g_application_send_notification (G_APPLICATION (self), notification_id, notification);
}

/* Rings while the call does: ours for a call coming in, the ringback while
 * theirs rings for a call we placed */
static void
on_call_state (NatterCall        *call,
               GParamSpec        *pspec,
               NatterApplication *self)
{
  NatterCallState state = natter_call_get_state (call);
  gboolean incoming = natter_call_get_direction (call) == NATTER_CALL_DIRECTION_IN;
  NatterRinger *ringer = get_ringer (self);

  if (state == NATTER_CALL_STATE_RINGING)
    {
      natter_ringer_play (ringer, incoming ? NATTER_RINGER_SOUND_INCOMING
                                           : NATTER_RINGER_SOUND_RINGBACK);
      return;
    }
  if (state == NATTER_CALL_STATE_DIALING)
    return;

  natter_ringer_stop (ringer);
  if (incoming)
    g_application_withdraw_notification (G_APPLICATION (self), CALL_NOTIFICATION_ID);
  if (incoming && state == NATTER_CALL_STATE_ENDED &&
      natter_call_get_outcome (call) == NATTER_CALL_OUTCOME_MISSED)
    notify_missed (self, call);
  g_signal_handlers_disconnect_by_data (call, self);
}

static void
notify_incoming (NatterApplication *self,
                 NatterCall        *call,
                 const char        *name)
{
  g_autoptr(GNotification) notification = g_notification_new (name);

  g_notification_set_body (notification, natter_call_get_audio_only (call) ?
                                         _("Incoming audio call") : _("Incoming video call"));
  g_notification_set_priority (notification, G_NOTIFICATION_PRIORITY_URGENT);
  g_notification_set_category (notification, "call.incoming");
  g_notification_set_default_action_and_target (notification, "app.answer-call", "s",
                                                natter_call_get_id (call));
  g_notification_add_button_with_target (notification, _("Answer"), "app.answer-call", "s",
                                         natter_call_get_id (call));
  g_notification_add_button_with_target (notification, _("Decline"), "app.decline-call", "s",
                                         natter_call_get_id (call));
  g_application_send_notification (G_APPLICATION (self), CALL_NOTIFICATION_ID, notification);
}

static void
on_call_added (NatterClient      *client,
               NatterCall        *call,
               NatterApplication *self)
{
  g_autofree char *name = dup_contact_name (client, natter_call_get_contact_id (call));
  NatterCallWindow *window;
  gboolean ringing = natter_call_get_direction (call) == NATTER_CALL_DIRECTION_IN &&
                     natter_call_get_state (call) == NATTER_CALL_STATE_RINGING;

  if (natter_call_get_state (call) == NATTER_CALL_STATE_ENDED)
    return;   /* a call that came while we were in one: it is in the history */

  window = natter_call_window_new (GTK_APPLICATION (self), client, call, name);
  gtk_window_present (GTK_WINDOW (window));
  if (ringing)
    notify_incoming (self, call, name);
  g_signal_connect_object (call, "notify::state", G_CALLBACK (on_call_state), self, 0);
  on_call_state (call, NULL, self);
}

/* The devices chosen in preferences, for the calls to come */
static const char *device_keys[] = { "call-camera", "call-microphone", "call-speaker" };

static void
on_device_setting (GSettings    *settings,
                   const char   *key,
                   NatterClient *client)
{
  for (guint kind = 0; kind < G_N_ELEMENTS (device_keys); kind++)
    if (key == NULL || g_str_equal (key, device_keys[kind]))
      {
        g_autofree char *id = g_settings_get_string (settings, device_keys[kind]);

        natter_client_set_call_device (client, kind, id);
      }
}

void
natter_application_calls_watch (NatterApplication *self,
                                NatterClient      *client)
{
  gboolean test_media = g_strcmp0 (g_getenv ("NATTER_TEST_MEDIA"), "1") == 0;
  GSettings *settings = natter_application_get_settings (self);

  if (settings != NULL)
    {
      on_device_setting (settings, NULL, client);
      g_signal_connect_object (settings, "changed", G_CALLBACK (on_device_setting), client, 0);
    }

  natter_client_set_call_test_media (client, test_media);
  /* A test tone is for counting, not for the speakers */
  natter_client_set_call_playback (client, !test_media);
  g_signal_connect (client, "call-added", G_CALLBACK (on_call_added), self);
}
