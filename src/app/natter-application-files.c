/* natter-application-files.c: the application's side of file transfers
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The preferences reach the client: files from contacts up to
 * `auto-accept-size` megabytes (default 20; 0 asks about every one) are
 * saved without asking, in `download-folder` (empty: the user's Downloads
 * folder). A file offered while the window is not in front is announced
 * like a message: who, what and how big, with Accept and Decline
 * (app.accept-file and app.decline-file, which work with the window
 * hidden); one saved without asking is announced as received once it is.
 */
#define G_LOG_DOMAIN "natter-application"

#include "config.h"

#include <glib/gi18n.h>

#include "natter-application-files.h"
#include "natter-text.h"

#define MEGABYTE G_GUINT64_CONSTANT (1000000)

static char *
notification_id (NatterTransfer *transfer)
{
  return g_strconcat ("file-", natter_transfer_get_contact_id (transfer), "-",
                      natter_transfer_get_id (transfer), NULL);
}

static void
apply_settings (GSettings    *settings,
                const char   *key,
                NatterClient *client)
{
  g_autofree char *folder = NULL;
  guint size = 20;

  if (settings != NULL)
    {
      size = g_settings_get_uint (settings, "auto-accept-size");
      folder = g_settings_get_string (settings, "download-folder");
    }
  natter_client_set_auto_accept_size (client, size * MEGABYTE);
  natter_client_set_download_folder (client, folder != NULL && *folder != '\0' ? folder : NULL);
}

static NatterTransfer *
find_transfer (NatterApplication *self,
               GVariant          *parameter)
{
  NatterClient *client = natter_application_get_client (self);
  g_autoptr(GPtrArray) transfers = NULL;
  const char *contact_id;
  const char *transfer_id;

  g_variant_get (parameter, "(&s&s)", &contact_id, &transfer_id);
  if (client == NULL ||
      (transfers = natter_client_list_transfers (client, contact_id, NULL)) == NULL)
    return NULL;

  for (guint i = 0; i < transfers->len; i++)
    if (g_str_equal (natter_transfer_get_id (g_ptr_array_index (transfers, i)), transfer_id))
      return g_object_ref (g_ptr_array_index (transfers, i));
  return NULL;
}

static void
on_accept_file (GSimpleAction *action,
                GVariant      *parameter,
                gpointer       user_data)
{
  g_autoptr(NatterTransfer) transfer = find_transfer (user_data, parameter);
  g_autoptr(GError) error = NULL;

  if (transfer != NULL &&
      !natter_client_accept_transfer (natter_application_get_client (user_data), transfer, NULL,
                                      &error))
    g_message ("Could not accept a file: %s", error->message);
}

static void
on_decline_file (GSimpleAction *action,
                 GVariant      *parameter,
                 gpointer       user_data)
{
  g_autoptr(NatterTransfer) transfer = find_transfer (user_data, parameter);
  g_autoptr(GError) error = NULL;

  if (transfer != NULL &&
      !natter_client_decline_transfer (natter_application_get_client (user_data), transfer,
                                       &error))
    g_message ("Could not decline a file: %s", error->message);
}

static void
notify (NatterApplication *self,
        NatterTransfer    *transfer,
        gboolean           offer)
{
  NatterClient *client = natter_application_get_client (self);
  const char *contact_id = natter_transfer_get_contact_id (transfer);
  g_autoptr(NatterContact) contact = NULL;
  g_autoptr(GNotification) notification = NULL;
  g_autofree char *name = NULL;
  g_autofree char *title = NULL;
  g_autofree char *size = g_format_size (natter_transfer_get_size (transfer));
  g_autofree char *file = NULL;
  g_autofree char *body = NULL;
  g_autofree char *id = notification_id (transfer);
  GVariant *target;

  if (client == NULL || !natter_application_should_notify (self))
    return;

  contact = natter_store_get_contact (natter_client_get_store (client), contact_id, NULL);
  if (contact != NULL && natter_contact_get_name (contact) != NULL)
    name = natter_text_one_line (natter_contact_get_name (contact));
  if (name == NULL || *name == '\0')
    {
      char buffer[NATTER_USER_ID_SHORT_SIZE];

      g_free (name);
      name = g_strdup (natter_user_id_short (contact_id, buffer));
    }

  /* Translators: a notification's title; %s is the contact */
  title = g_strdup_printf (offer ? _("%s wants to send you a file") : _("%s sent you a file"),
                           name);
  notification = g_notification_new (title);
  /* The file's name is the peer's text: never markup */
  file = natter_text_notification_body (natter_transfer_get_name (transfer),
                                        natter_application_notifications_read_markup (self));
  /* Translators: a file's name and its size, as "holiday.jpg (2.4 MB)" */
  body = g_strdup_printf (_("%s (%s)"), file, size);
  if (natter_application_get_settings (self) == NULL ||
      g_settings_get_boolean (natter_application_get_settings (self), "notification-preview"))
    g_notification_set_body (notification, body);
  if (contact != NULL && natter_contact_get_avatar (contact) != NULL)
    {
      g_autoptr(GIcon) avatar = g_bytes_icon_new (natter_contact_get_avatar (contact));

      g_notification_set_icon (notification, avatar);
    }
  g_notification_set_default_action_and_target (notification, "app.open-conversation", "s",
                                                contact_id);
  if (offer)
    {
      target = g_variant_new ("(ss)", contact_id, natter_transfer_get_id (transfer));
      g_notification_add_button_with_target_value (notification, _("Decline"),
                                                   "app.decline-file", target);
      target = g_variant_new ("(ss)", contact_id, natter_transfer_get_id (transfer));
      g_notification_add_button_with_target_value (notification, _("Accept"), "app.accept-file",
                                                   target);
    }
  g_application_send_notification (G_APPLICATION (self), id, notification);
}

static void
on_transfer_state (NatterTransfer    *transfer,
                   GParamSpec        *pspec,
                   NatterApplication *self)
{
  g_autofree char *id = notification_id (transfer);
  NatterTransferState state = natter_transfer_get_state (transfer);

  if (state == NATTER_TRANSFER_STATE_WAITING)
    return;

  /* Answered, here or from the notification: the offer is no news */
  if (GPOINTER_TO_INT (g_object_get_data (G_OBJECT (transfer), "natter-offer-notified")))
    g_application_withdraw_notification (G_APPLICATION (self), id);

  if (state == NATTER_TRANSFER_STATE_TRANSFERRING)
    return;
  g_signal_handlers_disconnect_by_func (transfer, on_transfer_state, self);
  if (state == NATTER_TRANSFER_STATE_DONE &&
      GPOINTER_TO_INT (g_object_get_data (G_OBJECT (transfer), "natter-auto-accepted")))
    notify (self, transfer, FALSE);
}

/* The core accepts a small file right after announcing it: by then it is
 * known which it is */
static gboolean
on_offer_idle (gpointer user_data)
{
  g_autoptr(NatterTransfer) transfer = user_data;
  NatterApplication *self = NATTER_APPLICATION (g_application_get_default ());
  NatterTransferState state = natter_transfer_get_state (transfer);

  if (self == NULL || natter_transfer_is_finished (transfer))
    return G_SOURCE_REMOVE;

  g_signal_connect_object (transfer, "notify::state", G_CALLBACK (on_transfer_state), self, 0);
  if (state == NATTER_TRANSFER_STATE_WAITING)
    {
      g_object_set_data (G_OBJECT (transfer), "natter-offer-notified", GINT_TO_POINTER (TRUE));
      notify (self, transfer, TRUE);
    }
  else
    g_object_set_data (G_OBJECT (transfer), "natter-auto-accepted", GINT_TO_POINTER (TRUE));
  return G_SOURCE_REMOVE;
}

static void
on_transfer_added (NatterClient   *client,
                   NatterTransfer *transfer,
                   gpointer        user_data)
{
  if (natter_transfer_get_direction (transfer) == NATTER_TRANSFER_DIRECTION_IN)
    g_idle_add (on_offer_idle, g_object_ref (transfer));
}

/**
 * natter_application_files_watch:
 * @client: the profile's client, new
 *
 * Gives @client the file preferences, now and as they change, and
 * announces the files it is offered.
 */
void
natter_application_files_watch (NatterApplication *self,
                                NatterClient      *client)
{
  static const GActionEntry actions[] = {
    { "accept-file", on_accept_file, "(ss)", NULL, NULL, { 0 } },
    { "decline-file", on_decline_file, "(ss)", NULL, NULL, { 0 } },
  };
  GSettings *settings = natter_application_get_settings (self);

  g_return_if_fail (NATTER_IS_APPLICATION (self));
  g_return_if_fail (NATTER_IS_CLIENT (client));

  if (g_action_map_lookup_action (G_ACTION_MAP (self), "accept-file") == NULL)
    g_action_map_add_action_entries (G_ACTION_MAP (self), actions, G_N_ELEMENTS (actions), self);

  apply_settings (settings, NULL, client);
  if (settings != NULL)
    {
      g_signal_connect_object (settings, "changed::auto-accept-size", G_CALLBACK (apply_settings),
                               client, 0);
      g_signal_connect_object (settings, "changed::download-folder", G_CALLBACK (apply_settings),
                               client, 0);
    }
  g_signal_connect_object (client, "transfer-added", G_CALLBACK (on_transfer_added), self, 0);
}
