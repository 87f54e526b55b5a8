/* natter-application-calls.c: the application's side of calls
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Every call the client adds, placed here or coming in, gets a
 * NatterCallWindow at once (before its media is set up, so that the video
 * reaches the window). An incoming call also gets a notification with
 * Answer and Decline (app.answer-call, app.decline-call, which work while
 * the window is hidden or behind others); it is withdrawn once the call
 * stops ringing. NATTER_TEST_MEDIA=1 in the environment makes calls send
 * a test pattern and a tone instead of the camera and microphone.
 */
#define G_LOG_DOMAIN "natter-application"

#include "config.h"

#include <glib/gi18n.h>

#include "natter-application-calls.h"
#include "natter-call-window.h"
#include "natter-text.h"

#define CALL_NOTIFICATION_ID "incoming-call"

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

static const GActionEntry call_actions[] = {
  { "answer-call", on_answer_call, "s" },
  { "decline-call", on_decline_call, "s" },
};

void
natter_application_calls_startup (NatterApplication *self)
{
  g_action_map_add_action_entries (G_ACTION_MAP (self), call_actions, G_N_ELEMENTS (call_actions),
                                   self);
}

static void
on_call_state (NatterCall        *call,
               GParamSpec        *pspec,
               NatterApplication *self)
{
  if (natter_call_get_state (call) == NATTER_CALL_STATE_RINGING)
    return;

  g_application_withdraw_notification (G_APPLICATION (self), CALL_NOTIFICATION_ID);
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
  g_signal_connect (call, "notify::state", G_CALLBACK (on_call_state), self);
}

static void
on_call_added (NatterClient      *client,
               NatterCall        *call,
               NatterApplication *self)
{
  g_autoptr(NatterContact) contact = natter_store_get_contact (natter_client_get_store (client),
                                                               natter_call_get_contact_id (call),
                                                               NULL);
  g_autofree char *name = natter_text_one_line (contact != NULL &&
                                                natter_contact_get_name (contact) != NULL ?
                                                natter_contact_get_name (contact) :
                                                natter_call_get_contact_id (call));
  NatterCallWindow *window;
  gboolean ringing = natter_call_get_direction (call) == NATTER_CALL_DIRECTION_IN &&
                     natter_call_get_state (call) == NATTER_CALL_STATE_RINGING;

  if (natter_call_get_state (call) == NATTER_CALL_STATE_ENDED)
    return;   /* a call that came while we were in one: it is in the history */

  window = natter_call_window_new (GTK_APPLICATION (self), client, call, name);
  gtk_window_present (GTK_WINDOW (window));
  if (ringing)
    notify_incoming (self, call, name);
}

void
natter_application_calls_watch (NatterApplication *self,
                                NatterClient      *client)
{
  gboolean test_media = g_strcmp0 (g_getenv ("NATTER_TEST_MEDIA"), "1") == 0;

  natter_client_set_call_test_media (client, test_media);
  /* A test tone is for counting, not for the speakers */
  natter_client_set_call_playback (client, !test_media);
  g_signal_connect (client, "call-added", G_CALLBACK (on_call_added), self);
}
