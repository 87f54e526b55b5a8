/* natter-client-chat.c: the chat service: the outbox, receipts and typing
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * What NatterClient says and hears on a contact's chat channel, as
 * envelopes of docs/peer.md. A message is stored before anything is sent
 * and before it is acknowledged; statuses only move forward.
 */
#define G_LOG_DOMAIN "natter-client"

#include "config.h"

#include <string.h>

#include "natter-client-private.h"
#include "natter-contact-session-private.h"
#include "natter-protocol.h"

/* How long a typing indicator lasts without a refresh. */
#define TYPING_EXPIRY_S     6
#define READ_RECEIPT_WINDOW 200
/* Sending again what was sent on this connection but not confirmed: after
 * this back-off (doubling, capped), never on every new send. */
#define RESEND_BASE_MS      5000
#define RESEND_CAP_MS       60000

static gboolean send_one_message (NatterClient         *self,
                                  NatterContactSession *session,
                                  NatterMessage        *message);

static void
emit_status (NatterClient        *self,
             const char          *contact_id,
             const char          *message_id,
             NatterMessageStatus  status)
{
  g_signal_emit (self, _natter_client_signals[MESSAGE_STATUS_CHANGED], 0, contact_id, message_id,
                 status);
  g_signal_emit (_natter_client_get_session (self, contact_id),
                 _natter_contact_session_signals[SESSION_MESSAGE_STATUS_CHANGED], 0, message_id,
                 status);
}

/* Announced by the client and by the message's conversation */
void
_natter_client_message_added (NatterClient  *self,
                              NatterMessage *message)
{
  NatterContactSession *session;

  g_signal_emit (self, _natter_client_signals[MESSAGE_ADDED], 0, message);
  session = _natter_client_get_session (self, natter_message_get_contact_id (message));
  g_signal_emit (session, _natter_contact_session_signals[SESSION_MESSAGE_ADDED], 0, message);
}

/* Records a status an outgoing message reached. The store decides whether
 * it is news (statuses only move forward: queued, sent, delivered, read) and
 * updates the live object; a change is announced. */
static void
advance_status (NatterClient        *self,
                const char          *contact_id,
                const char          *message_id,
                NatterMessageStatus  status)
{
  g_autoptr(NatterMessage) message = NULL;
  g_autoptr(GError) error = NULL;
  NatterMessageStatus before;

  message = natter_store_get_message (self->store, contact_id, message_id, NULL);
  if (message == NULL || natter_message_get_direction (message) != NATTER_MESSAGE_DIRECTION_OUT)
    return;

  before = natter_message_get_status (message);
  if (!natter_store_set_message_status (self->store, contact_id, message_id, status, &error))
    {
      g_warning ("Could not record a message status: %s", error->message);
      return;
    }

  /* The store also takes a delivered or read message out of the outbox. */
  if (natter_message_get_status (message) != before)
    emit_status (self, contact_id, message_id, status);
}

static void
send_receipt (NatterContactSession *session,
              const char *const *ids,
              const char *status)
{
  g_autofree char *text = natter_envelope_new_receipt (ids, status, NULL);

  _natter_contact_session_send_text (session, text, NULL);
}

/* Tells the sender why a message was not kept, so that it stops resending it
 * (or tries again later, for a storage problem) and can show why. */
static void
refuse_message (NatterClient *self,
                NatterContactSession *session,
                JsonObject   *envelope,
                const GError *error)
{
  const char *id = json_object_get_string_member (envelope, "id");
  const char *body = json_object_get_string_member (envelope, "body");
  g_autofree char *text = NULL;
  const char *reason;

  if (g_error_matches (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_INVALID))
    reason = (*id == '\0' || *body == '\0') ? "invalid" : "id-taken";
  else if (g_error_matches (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_DISK_FULL))
    reason = "storage-full";
  else if (g_error_matches (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_CORRUPT))
    reason = "storage-damaged";
  else
    reason = "storage-failed";

  if (natter_envelope_refusal_is_temporary (reason))
    {
      /* Not a warning: it is the disk, not a bug, and the UI says so */
      g_message ("Could not store an incoming message: %s", error->message);
      g_signal_emit (self, _natter_client_signals[STORE_FAILED], 0, error);
    }
  else
    {
      g_message ("Refused a message from %s: %s", NATTER_USER_ID_LOG (session->contact_id), reason);
    }

  text = natter_envelope_new_refused (id, reason, NULL);
  _natter_contact_session_send_text (session, text, NULL);
}

static void
handle_message_envelope (NatterClient *self,
                         NatterContactSession *session,
                         JsonObject   *envelope)
{
  g_autoptr(NatterMessage) message = NULL;
  g_autoptr(GError) error = NULL;
  const char *id = json_object_get_string_member (envelope, "id");
  const char *ids[] = { id, NULL };
  gboolean is_new = FALSE;
  gint64 sent_ms = json_object_get_int_member (envelope, "ts");
  gint64 now_us = g_get_real_time ();
  gint64 sent_us;
  /* Optional. A reference that cannot be one is dropped, not the message. */
  const char *reply_to = json_object_get_string_member_with_default (envelope, "reply_to", NULL);

  if (reply_to != NULL && (*reply_to == '\0' || strlen (reply_to) > 64))
    reply_to = NULL;

  /* The wire carries milliseconds; the store keeps microseconds. A clock
   * that is far off is not trusted: a time before 2000 or more than a day
   * ahead of ours becomes the time of receipt (docs/peer.md). */
  if (sent_ms < NATTER_MESSAGE_TS_MIN_MS || sent_ms > now_us / 1000 + NATTER_MESSAGE_TS_AHEAD_MS)
    sent_us = now_us;
  else
    sent_us = sent_ms * 1000;

  /* Stored before it is acknowledged: a crash after this loses nothing. */
  message = natter_store_insert_incoming_reply (self->store, session->contact_id, id,
                                                json_object_get_string_member (envelope, "body"),
                                                sent_us, reply_to, &is_new, &error);
  if (message == NULL)
    {
      refuse_message (self, session, envelope, error);
      return;
    }

  /* A duplicate is acknowledged again (the first receipt may have been
   * lost) but shown only once. */
  send_receipt (session, ids, "delivered");

  if (session->typing_source != 0)
    {
      _natter_contact_session_set_typing (session, FALSE, 0);
      g_signal_emit (self, _natter_client_signals[TYPING_CHANGED], 0, session->contact_id, FALSE);
    }

  if (is_new)
    _natter_client_message_added (self, message);
}

static void
handle_refused_envelope (NatterClient *self,
                         NatterContactSession *session,
                         JsonObject   *envelope)
{
  const char *id = json_object_get_string_member (envelope, "id");
  const char *reason = json_object_get_string_member (envelope, "reason");
  g_autoptr(NatterMessage) message = NULL;

  g_message ("%s did not keep a message: %s", NATTER_USER_ID_LOG (session->contact_id), reason);

  /* A storage problem on their side passes: the message stays in the
   * outbox and goes again after the back-off. Anything else never will. */
  message = natter_store_get_message (self->store, session->contact_id, id, NULL);
  if (message != NULL && natter_message_get_direction (message) == NATTER_MESSAGE_DIRECTION_OUT &&
      !natter_envelope_refusal_is_temporary (reason))
    advance_status (self, session->contact_id, id, NATTER_MESSAGE_STATUS_FAILED);

  g_signal_emit (self, _natter_client_signals[MESSAGE_REFUSED], 0, session->contact_id, id, reason);
  g_signal_emit (session, _natter_contact_session_signals[SESSION_MESSAGE_REFUSED], 0, id, reason);
}

static void
handle_receipt_envelope (NatterClient *self,
                         NatterContactSession *session,
                         JsonObject   *envelope)
{
  JsonArray *ids = json_object_get_array_member (envelope, "ids");
  const char *status_name = json_object_get_string_member (envelope, "status");
  NatterMessageStatus status = g_str_equal (status_name, "read") ?
                               NATTER_MESSAGE_STATUS_READ : NATTER_MESSAGE_STATUS_DELIVERED;

  for (guint i = 0; i < json_array_get_length (ids); i++)
    advance_status (self, session->contact_id, json_array_get_string_element (ids, i), status);

  /* The contact takes messages again */
  session->resend_attempts = 0;
}

/* Everything the contact sends on the chat channel comes here first */
void
_natter_client_chat_message (NatterClient         *self,
                             NatterContactSession *session,
                             const char           *text)
{
  g_autoptr(JsonObject) envelope = NULL;
  g_autoptr(GError) error = NULL;
  NatterEnvelopeType type;

  self->envelopes_received++;
  envelope = natter_envelope_parse (text, strlen (text), &type, &error);
  if (envelope == NULL)
    {
      g_warning ("Ignored a malformed chat envelope: %s", error->message);
      return;
    }

  switch (type)
    {
    case NATTER_ENVELOPE_MESSAGE:
      handle_message_envelope (self, session, envelope);
      break;

    case NATTER_ENVELOPE_RECEIPT:
      handle_receipt_envelope (self, session, envelope);
      break;

    case NATTER_ENVELOPE_TYPING:
      _natter_contact_session_set_typing (session,
                                          json_object_get_boolean_member (envelope, "active"),
                                          TYPING_EXPIRY_S);
      g_signal_emit (self, _natter_client_signals[TYPING_CHANGED], 0, session->contact_id,
                     json_object_get_boolean_member (envelope, "active"));
      break;

    case NATTER_ENVELOPE_PROFILE:
      _natter_client_profile_envelope (self, session, envelope);
      break;

    case NATTER_ENVELOPE_AVATAR:
      _natter_client_avatar_envelope (self, session, envelope);
      break;

    case NATTER_ENVELOPE_REFUSED:
      handle_refused_envelope (self, session, envelope);
      break;

    case NATTER_ENVELOPE_FILE_OFFER:
    case NATTER_ENVELOPE_FILE_ACCEPT:
    case NATTER_ENVELOPE_FILE_DECLINE:
    case NATTER_ENVELOPE_FILE_CANCEL:
    case NATTER_ENVELOPE_FILE_DONE:
    case NATTER_ENVELOPE_FILE_RECEIVED:
    case NATTER_ENVELOPE_FILE_RESUME:
      _natter_client_transfer_envelope (self, session, type, envelope);
      break;

    case NATTER_ENVELOPE_CALL:
      _natter_client_call_envelope (self, session, envelope);
      break;

    default:
      break;
    }
}

/* The chat channel opened: the profile goes first, then the outbox */
void
_natter_client_chat_opened (NatterClient         *self,
                            NatterContactSession *session)
{
  _natter_client_send_profile (self, session);
  _natter_client_calls_chat_opened (self, session);
  _natter_client_flush_outbox (self, session->contact_id);
  if (session->chat_open)
    _natter_client_transfers_chat_opened (self, session);
}

gboolean
_natter_client_has_outbox (NatterClient *self,
                           const char   *contact_id)
{
  g_autoptr(GPtrArray) outbox = natter_store_list_outbox (self->store, contact_id, NULL);

  return (outbox != NULL && outbox->len > 0) ||
         _natter_client_has_pending_transfers (self, contact_id);
}

static gboolean
on_resend_timeout (gpointer user_data)
{
  NatterContactSession *session = user_data;

  session->resend_source = 0;
  session->resend_attempts++;
  g_hash_table_remove_all (session->sent_ids);
  _natter_client_flush_outbox (session->client, session->contact_id);

  return G_SOURCE_REMOVE;
}

/* Sends one outgoing message on the open chat channel, once. */
static gboolean
send_one_message (NatterClient  *self,
                  NatterContactSession *session,
                  NatterMessage *message)
{
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;
  guint delay;

  text = natter_envelope_new_message (natter_message_get_id (message),
                                      natter_message_get_timestamp (message) / 1000,
                                      natter_message_get_body (message),
                                      natter_message_get_reply_to (message), NULL);
  if (!_natter_contact_session_send_text (session, text, &error))
    {
      g_debug ("Sending stopped: %s", error->message);
      return FALSE;
    }

  g_hash_table_add (session->sent_ids, g_strdup (natter_message_get_id (message)));
  if (session->resend_source == 0)
    {
      delay = MIN (RESEND_CAP_MS, RESEND_BASE_MS << MIN (session->resend_attempts, 4));
      session->resend_source = g_timeout_add (delay, on_resend_timeout, session);
    }

  advance_status (self, session->contact_id, natter_message_get_id (message),
                  NATTER_MESSAGE_STATUS_SENT);
  return TRUE;
}

void
_natter_client_flush_outbox (NatterClient *self,
                             const char   *contact_id)
{
  g_autoptr(GPtrArray) outbox = NULL;
  g_autoptr(GError) error = NULL;
  NatterContactSession *session;

  if (!_natter_client_is_allowed_peer (self, contact_id))
    return;

  outbox = natter_store_list_outbox (self->store, contact_id, &error);
  if (outbox == NULL)
    {
      g_warning ("Could not read the outbox: %s", error->message);
      return;
    }

  session = _natter_client_get_session (self, contact_id);
  if (session->peer == NULL || !session->chat_open)
    {
      if ((outbox->len > 0 || _natter_client_has_pending_transfers (self, contact_id)) &&
          session->peer == NULL && session->retry_source == 0 &&
          natter_rendezvous_is_user_online (self->rendezvous, contact_id))
        _natter_contact_session_ensure_peer (session, TRUE);
      return;
    }

  /* In order, each once per connection; anything not yet confirmed is sent
   * again after a reconnect or the resend back-off, and the receiver drops
   * duplicates by id. */
  for (guint i = 0; i < outbox->len; i++)
    {
      NatterMessage *message = g_ptr_array_index (outbox, i);

      if (natter_message_get_status (message) == NATTER_MESSAGE_STATUS_FAILED ||
          g_hash_table_contains (session->sent_ids, natter_message_get_id (message)))
        continue;

      if (!send_one_message (self, session, message))
        return;
    }
}

static gboolean
check_contact (NatterClient  *self,
               const char    *contact_id,
               GError       **error)
{
  g_autoptr(NatterContact) contact = _natter_client_lookup_contact (self, contact_id);

  if (contact == NULL)
    {
      g_set_error_literal (error, NATTER_CLIENT_ERROR, NATTER_CLIENT_ERROR_NOT_A_CONTACT,
                           "This person is not a contact yet; send an invitation first");
      return FALSE;
    }

  if (natter_contact_get_blocked (contact))
    {
      g_set_error_literal (error, NATTER_CLIENT_ERROR, NATTER_CLIENT_ERROR_BLOCKED,
                           "This contact is blocked; unblock them to send messages");
      return FALSE;
    }

  return TRUE;
}

/**
 * natter_client_send_message:
 * @self: a #NatterClient
 * @contact_id: the recipient
 * @body: the text
 * @error: a #GError
 *
 * Stores @body as a queued message, then sends it as soon as the contact
 * can be reached.
 *
 * Returns: (transfer full) (nullable): the stored message
 */
NatterMessage *
natter_client_send_message (NatterClient  *self,
                            const char    *contact_id,
                            const char    *body,
                            GError       **error)
{
  return natter_client_send_reply (self, contact_id, body, NULL, error);
}

/**
 * natter_client_send_reply:
 * @reply_to: (nullable): the ID of the message of this conversation that
 *   @body answers
 *
 * Like natter_client_send_message(); the contact sees the message as an
 * answer to @reply_to (the `reply_to` member of docs/peer.md).
 *
 * Returns: (transfer full): the queued message, or %NULL with @error set
 */
NatterMessage *
natter_client_send_reply (NatterClient  *self,
                          const char    *contact_id,
                          const char    *body,
                          const char    *reply_to,
                          GError       **error)
{
  g_autoptr(NatterMessage) message = NULL;
  NatterContactSession *session;

  g_return_val_if_fail (NATTER_IS_CLIENT (self), NULL);
  g_return_val_if_fail (contact_id != NULL, NULL);
  g_return_val_if_fail (body != NULL, NULL);

  if (!check_contact (self, contact_id, error))
    return NULL;

  if (*body == '\0' || strlen (body) > NATTER_MESSAGE_BODY_MAX || !g_utf8_validate (body, -1, NULL))
    {
      g_set_error (error, NATTER_CLIENT_ERROR, NATTER_CLIENT_ERROR_INVALID_MESSAGE,
                   "A message is 1 to %d bytes of text", NATTER_MESSAGE_BODY_MAX);
      return NULL;
    }

  /* The store comes first: what the user wrote survives a crash. */
  message = natter_store_append_reply (self->store, contact_id, body, reply_to, error);
  if (message == NULL)
    return NULL;

  _natter_client_message_added (self, message);

  /* On an open connection everything older went out already: only the new
   * message goes, so a burst costs one envelope a message. */
  session = g_hash_table_lookup (self->sessions, contact_id);
  if (session != NULL && session->chat_open)
    send_one_message (self, session, message);
  else
    _natter_client_flush_outbox (self, contact_id);

  return g_steal_pointer (&message);
}

/**
 * natter_client_retry_message:
 * @self: a #NatterClient
 * @contact_id: the conversation
 * @message_id: a failed message
 * @error: a #GError
 *
 * Queues a failed message again.
 *
 * Returns: %TRUE on success
 */
gboolean
natter_client_retry_message (NatterClient  *self,
                             const char    *contact_id,
                             const char    *message_id,
                             GError       **error)
{
  g_return_val_if_fail (NATTER_IS_CLIENT (self), FALSE);

  if (!check_contact (self, contact_id, error))
    return FALSE;

  if (!natter_store_set_message_status (self->store, contact_id, message_id,
                                        NATTER_MESSAGE_STATUS_QUEUED, error))
    return FALSE;

  emit_status (self, contact_id, message_id, NATTER_MESSAGE_STATUS_QUEUED);
  _natter_client_flush_outbox (self, contact_id);
  return TRUE;
}

/**
 * natter_client_send_typing:
 * @self: a #NatterClient
 * @contact_id: the conversation
 * @active: whether the user is typing
 *
 * Tells the contact; the indicator expires by itself on their side.
 */
void
natter_client_send_typing (NatterClient *self,
                           const char   *contact_id,
                           gboolean      active)
{
  NatterContactSession *session;
  g_autofree char *text = NULL;

  g_return_if_fail (NATTER_IS_CLIENT (self));
  g_return_if_fail (contact_id != NULL);

  if (!self->send_typing)
    return;

  session = g_hash_table_lookup (self->sessions, contact_id);
  if (session == NULL || !session->chat_open)
    return;

  text = natter_envelope_new_typing (active, NULL);
  _natter_contact_session_send_text (session, text, NULL);
}

/**
 * natter_client_delete_message:
 * @message_id: the message
 *
 * Deletes a message from this history only; nothing is sent to the
 * contact. Emits NatterClient::message-deleted.
 *
 * Returns: %TRUE if the message is gone
 */
gboolean
natter_client_delete_message (NatterClient  *self,
                              const char    *contact_id,
                              const char    *message_id,
                              GError       **error)
{
  g_return_val_if_fail (NATTER_IS_CLIENT (self), FALSE);
  g_return_val_if_fail (contact_id != NULL, FALSE);
  g_return_val_if_fail (message_id != NULL, FALSE);

  if (!natter_store_delete_message (self->store, contact_id, message_id, error))
    return FALSE;

  g_signal_emit (self, _natter_client_signals[MESSAGE_DELETED], 0, contact_id, message_id);
  g_signal_emit (_natter_client_get_session (self, contact_id),
                 _natter_contact_session_signals[SESSION_MESSAGE_DELETED], 0, message_id);
  return TRUE;
}

/**
 * natter_client_mark_read:
 * @self: a #NatterClient
 * @contact_id: the conversation
 * @error: a #GError
 *
 * Marks the conversation read and, if enabled, sends read receipts.
 *
 * Returns: %TRUE on success
 */
gboolean
natter_client_mark_read (NatterClient  *self,
                         const char    *contact_id,
                         GError       **error)
{
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(GPtrArray) ids = NULL;
  NatterContactSession *session;

  g_return_val_if_fail (NATTER_IS_CLIENT (self), FALSE);
  g_return_val_if_fail (contact_id != NULL, FALSE);

  messages = natter_store_load_messages (self->store, contact_id, NULL, READ_RECEIPT_WINDOW,
                                         error);
  if (messages == NULL)
    return FALSE;

  /* Which messages the receipt names: those not read yet among the newest. */
  ids = g_ptr_array_new ();
  for (guint i = 0; i < messages->len && ids->len < NATTER_RECEIPT_IDS_MAX; i++)
    {
      NatterMessage *message = g_ptr_array_index (messages, i);

      if (natter_message_get_direction (message) == NATTER_MESSAGE_DIRECTION_IN &&
          natter_message_get_status (message) != NATTER_MESSAGE_STATUS_READ)
        g_ptr_array_add (ids, (gpointer) natter_message_get_id (message));
    }

  /* One transaction marks them all, and the store updates the live objects. */
  if (!natter_store_mark_conversation_read (self->store, contact_id, error))
    return FALSE;

  g_signal_emit (self, _natter_client_signals[CONVERSATION_READ], 0, contact_id);
  g_signal_emit (_natter_client_get_session (self, contact_id),
                 _natter_contact_session_signals[SESSION_CONVERSATION_READ], 0);

  session = g_hash_table_lookup (self->sessions, contact_id);
  if (self->send_read_receipts && ids->len > 0 && session != NULL && session->chat_open)
    {
      g_ptr_array_add (ids, NULL);
      send_receipt (session, (const char * const *) ids->pdata, "read");
    }

  return TRUE;
}

/**
 * natter_client_clear_conversation:
 *
 * Deletes every message of the conversation from this computer; the
 * contact keeps theirs. Emits NatterClient::conversation-cleared.
 *
 * Returns: %TRUE if the conversation is empty now
 */
gboolean
natter_client_clear_conversation (NatterClient  *self,
                                  const char    *contact_id,
                                  GError       **error)
{
  g_return_val_if_fail (NATTER_IS_CLIENT (self), FALSE);
  g_return_val_if_fail (contact_id != NULL, FALSE);

  if (!natter_store_clear_conversation (self->store, contact_id, error))
    return FALSE;

  g_signal_emit (self, _natter_client_signals[CONVERSATION_CLEARED], 0, contact_id);
  g_signal_emit (_natter_client_get_session (self, contact_id),
                 _natter_contact_session_signals[SESSION_CONVERSATION_CLEARED], 0);
  return TRUE;
}

gboolean
_natter_client_send_envelope (NatterClient  *self,
                              const char    *contact_id,
                              const char    *text,
                              GError       **error)
{
  NatterContactSession *session;

  g_return_val_if_fail (NATTER_IS_CLIENT (self), FALSE);

  session = g_hash_table_lookup (self->sessions, contact_id);
  if (session == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED,
                           "Not connected to the contact");
      return FALSE;
    }

  return _natter_contact_session_send_text (session, text, error);
}
