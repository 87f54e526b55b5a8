/* natter-store-messages.c: messages, the outbox and unread counts
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "natter-store"

#include "config.h"

#include <string.h>

#include "natter-store-private.h"

static char *
message_key (gint64 row_id)
{
  return g_strdup_printf ("m:%" G_GINT64_FORMAT, row_id);
}

static NatterMessage *
store_live_message (NatterStore *self,
                    gint64       row_id)
{
  g_autofree char *key = message_key (row_id);

  return _natter_store_live_lookup (self, key);
}

/* Reads MESSAGE_COLUMNS starting at @column. A live instance is reused as it
 * is: the store updates live messages whenever it writes their status, and
 * touching them here would run notify handlers in the middle of a query. */
NatterMessage *
_natter_store_message_from_row (NatterStore  *self,
                                sqlite3_stmt *stmt,
                                int           column,
                                const char   *user_id)
{
  gint64 row_id = sqlite3_column_int64 (stmt, column);
  const char *id = _natter_store_column_text (stmt, column + 1);
  NatterMessage *message;

  /* A row id can come back after its message was deleted: check it is the same. */
  message = store_live_message (self, row_id);
  if (message != NULL &&
      g_strcmp0 (natter_message_get_id (message), id) == 0 &&
      g_strcmp0 (natter_message_get_contact_id (message), user_id) == 0)
    return message;
  g_clear_object (&message);

  message = natter_message_new (row_id, id, user_id,
                                sqlite3_column_int (stmt, column + 2),
                                _natter_store_column_text (stmt, column + 3),
                                sqlite3_column_int64 (stmt, column + 4),
                                sqlite3_column_int64 (stmt, column + 5),
                                sqlite3_column_int (stmt, column + 6));
  natter_message_set_reply_to (message, _natter_store_column_text (stmt, column + 7));
  _natter_store_live_add (self, message_key (row_id), message);
  return message;
}

/* A reply names a message ID: text of at most 64 bytes, as the wire allows. */
static gboolean
check_reply_to (const char  *reply_to,
                GError     **error)
{
  if (*reply_to != '\0' && strlen (reply_to) <= 64 && g_utf8_validate (reply_to, -1, NULL))
    return TRUE;

  g_set_error_literal (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_INVALID,
                       "The ID of the message replied to is empty, too long or not valid UTF-8");
  return FALSE;
}

/* Loads one message of a conversation by its UUID; NULL without error if absent. */
static NatterMessage *
store_find_message (NatterStore  *self,
                    const char   *user_id,
                    gint64        conversation_id,
                    const char   *message_id,
                    GError      **error)
{
  g_autoptr(StoreStmt) stmt = NULL;

  stmt = _natter_store_query (self, error,
                              "SELECT " MESSAGE_COLUMNS " FROM messages m "
                              "WHERE m.conversation_id = ? AND m.uuid = ?",
                              "it", conversation_id, message_id);
  if (stmt == NULL)
    return NULL;

  switch (_natter_store_step (self, stmt, "load the message", error))
    {
    case SQLITE_ROW:
      return _natter_store_message_from_row (self, stmt, 0, user_id);
    default:
      return NULL;
    }
}

static GPtrArray *
store_collect_messages (NatterStore  *self,
                        StoreStmt    *stmt,
                        const char   *user_id,
                        GError      **error)
{
  g_autoptr(GPtrArray) messages = g_ptr_array_new_with_free_func (g_object_unref);
  int rc;

  while ((rc = _natter_store_step (self, stmt, "load messages", error)) == SQLITE_ROW)
    g_ptr_array_add (messages, _natter_store_message_from_row (self, stmt, 0, user_id));

  return rc == SQLITE_DONE ? g_steal_pointer (&messages) : NULL;
}

/* Public API: messages */

/**
 * natter_store_append_outgoing:
 * @body: the text, valid UTF-8
 *
 * Stores a new outgoing message with a fresh UUID as queued and puts it in
 * the contact's outbox, in one transaction. Call this before sending.
 *
 * Returns: (transfer full): the message, or %NULL with @error set
 */
NatterMessage *
natter_store_append_outgoing (NatterStore  *self,
                              const char   *user_id,
                              const char   *body,
                              GError      **error)
{
  return natter_store_append_reply (self, user_id, body, NULL, error);
}

/**
 * natter_store_append_reply:
 * @body: the text, valid UTF-8
 * @reply_to: (nullable): the ID of the message of this conversation it answers
 *
 * Like natter_store_append_outgoing(), for a message that answers another.
 *
 * Returns: (transfer full): the message, or %NULL with @error set
 */
NatterMessage *
natter_store_append_reply (NatterStore  *self,
                           const char   *user_id,
                           const char   *body,
                           const char   *reply_to,
                           GError      **error)
{
  g_autofree char *uuid = g_uuid_string_random ();
  gint64 now = g_get_real_time ();
  gint64 contact_id;
  gint64 conversation_id;
  gint64 row_id;
  NatterMessage *message;

  g_return_val_if_fail (NATTER_IS_STORE (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!_natter_store_check_text (body, "message", error) ||
      (reply_to != NULL && !check_reply_to (reply_to, error)) ||
      !_natter_store_find_conversation (self, user_id, &contact_id, &conversation_id, error) ||
      !_natter_store_begin (self, error))
    return NULL;

  if (!_natter_store_exec (self, "save the message", error,
                           "INSERT INTO messages "
                           "(conversation_id, uuid, direction, body, sent_at, status, reply_to) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?)",
                           "itetiet", conversation_id, uuid, NATTER_MESSAGE_DIRECTION_OUT, body,
                           now, NATTER_MESSAGE_STATUS_QUEUED, reply_to))
    goto failed;

  row_id = sqlite3_last_insert_rowid (self->db);

  if (!_natter_store_exec (self, "save the message", error,
                           "INSERT INTO outbox (message_id, contact_id) VALUES (?, ?)",
                           "ii", row_id, contact_id) ||
      !_natter_store_exec (self, "save the message", error,
                           "UPDATE conversations SET last_message_id = ?, last_activity = ? "
                           "WHERE id = ?",
                           "iii", row_id, now, conversation_id) ||
      !_natter_store_commit (self, error))
    goto failed;

  message = natter_message_new (row_id, uuid, user_id, NATTER_MESSAGE_DIRECTION_OUT, body,
                                now, 0, NATTER_MESSAGE_STATUS_QUEUED);
  natter_message_set_reply_to (message, reply_to);
  _natter_store_live_add (self, message_key (row_id), message);
  return message;

failed:
  _natter_store_rollback (self);
  return NULL;
}

/**
 * natter_store_insert_incoming:
 * @message_id: the sender's UUID for the message
 * @timestamp: when the sender wrote it, by the sender's clock
 * @is_new: (out) (optional): %FALSE if the message was stored already
 *
 * Stores a received message and counts it as unread. Storing the same
 * @message_id twice is harmless: the second call returns the stored message
 * and sets @is_new to %FALSE, so a duplicate delivery shows once. Call this
 * before acknowledging the message.
 *
 * Returns: (transfer full): the message, or %NULL with @error set
 */
NatterMessage *
natter_store_insert_incoming (NatterStore  *self,
                              const char   *user_id,
                              const char   *message_id,
                              const char   *body,
                              gint64        timestamp,
                              gboolean     *is_new,
                              GError      **error)
{
  return natter_store_insert_incoming_reply (self, user_id, message_id, body, timestamp, NULL,
                                             is_new, error);
}

/**
 * natter_store_insert_incoming_reply:
 * @reply_to: (nullable): the ID of the message of this conversation it answers,
 *   as the sender says
 *
 * Like natter_store_insert_incoming(), for a message that answers another.
 *
 * Returns: (transfer full): the message, or %NULL with @error set
 */
NatterMessage *
natter_store_insert_incoming_reply (NatterStore  *self,
                                    const char   *user_id,
                                    const char   *message_id,
                                    const char   *body,
                                    gint64        timestamp,
                                    const char   *reply_to,
                                    gboolean     *is_new,
                                    GError      **error)
{
  g_autoptr(NatterMessage) message = NULL;
  gint64 now = g_get_real_time ();
  gint64 conversation_id;
  gboolean inserted;

  g_return_val_if_fail (NATTER_IS_STORE (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (is_new != NULL)
    *is_new = FALSE;

  if (!_natter_store_check_text (message_id, "message ID", error) ||
      !_natter_store_check_text (body, "message", error) ||
      (reply_to != NULL && !check_reply_to (reply_to, error)) ||
      !_natter_store_find_conversation (self, user_id, NULL, &conversation_id, error) ||
      !_natter_store_begin (self, error))
    return NULL;

  if (!_natter_store_exec (self, "save the received message", error,
                           "INSERT INTO messages "
                           "(conversation_id, uuid, direction, body, sent_at, received_at, status, "
                           "reply_to) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                           "ON CONFLICT (conversation_id, uuid) DO NOTHING",
                           "itetiiet", conversation_id, message_id, NATTER_MESSAGE_DIRECTION_IN,
                           body, MAX (timestamp, 0), now, NATTER_MESSAGE_STATUS_RECEIVED,
                           reply_to))
    goto failed;

  inserted = sqlite3_changes (self->db) > 0;
  if (inserted &&
      !_natter_store_exec (self, "save the received message", error,
                           "UPDATE conversations SET unread_count = unread_count + 1, "
                           "last_message_id = last_insert_rowid (), last_activity = ? WHERE id = ?",
                           "ii", now, conversation_id))
    goto failed;

  if (!_natter_store_commit (self, error))
    goto failed;

  message = store_find_message (self, user_id, conversation_id, message_id, error);
  if (message == NULL)
    return NULL;

  if (natter_message_get_direction (message) != NATTER_MESSAGE_DIRECTION_IN)
    {
      g_set_error_literal (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_INVALID,
                           "The received message reuses the ID of a message sent to its sender");
      return NULL;
    }

  if (is_new != NULL)
    *is_new = inserted;
  return g_steal_pointer (&message);

failed:
  _natter_store_rollback (self);
  return NULL;
}

static int
status_rank (NatterMessageStatus status)
{
  switch (status)
    {
    case NATTER_MESSAGE_STATUS_QUEUED:
      return 0;
    case NATTER_MESSAGE_STATUS_SENT:
      return 1;
    case NATTER_MESSAGE_STATUS_DELIVERED:
      return 2;
    case NATTER_MESSAGE_STATUS_READ:
      return 3;
    case NATTER_MESSAGE_STATUS_FAILED:
    case NATTER_MESSAGE_STATUS_RECEIVED:
    default:
      return -1;
    }
}

/* Whether an outgoing message may go from @current to @next. Receipts can
 * arrive late or twice; they never move a message backwards. */
static gboolean
outgoing_status_may_change (NatterMessageStatus current,
                            NatterMessageStatus next)
{
  switch (next)
    {
    case NATTER_MESSAGE_STATUS_FAILED:
      return current == NATTER_MESSAGE_STATUS_QUEUED || current == NATTER_MESSAGE_STATUS_SENT;
    case NATTER_MESSAGE_STATUS_QUEUED:
      return current == NATTER_MESSAGE_STATUS_FAILED;
    case NATTER_MESSAGE_STATUS_SENT:
    case NATTER_MESSAGE_STATUS_DELIVERED:
    case NATTER_MESSAGE_STATUS_READ:
      return current == NATTER_MESSAGE_STATUS_FAILED || status_rank (next) > status_rank (current);
    case NATTER_MESSAGE_STATUS_RECEIVED:
    default:
      return FALSE;
    }
}

/* The outbox and unread-count changes that go with a status change. */
static const char *
status_change_side_effect (NatterMessageDirection direction,
                           NatterMessageStatus    next)
{
  if (direction == NATTER_MESSAGE_DIRECTION_IN)
    return "UPDATE conversations SET unread_count = MAX (unread_count - 1, 0) "
           "WHERE id = (SELECT conversation_id FROM messages WHERE id = ?)";

  switch (next)
    {
    case NATTER_MESSAGE_STATUS_QUEUED:
      return "INSERT OR IGNORE INTO outbox (message_id, contact_id) "
             "SELECT m.id, cv.contact_id FROM messages m "
             "JOIN conversations cv ON cv.id = m.conversation_id WHERE m.id = ?";
    case NATTER_MESSAGE_STATUS_DELIVERED:
    case NATTER_MESSAGE_STATUS_READ:
    case NATTER_MESSAGE_STATUS_FAILED:
      return "DELETE FROM outbox WHERE message_id = ?";
    case NATTER_MESSAGE_STATUS_SENT:
    case NATTER_MESSAGE_STATUS_RECEIVED:
    default:
      return NULL;
    }
}

/**
 * natter_store_set_message_status:
 * @message_id: the message's UUID
 * @status: the new status
 *
 * Records what happened to a message. Outgoing messages accept sent,
 * delivered, read and failed, and queued again after failed (a retry, which
 * puts the message back at the end of the outbox); delivered, read and failed
 * take the message out of the outbox. A change that would move a message
 * backwards (a late "delivered" after "read") is ignored and is not an error.
 * Incoming messages accept only read.
 *
 * Returns: %TRUE if the status is stored or the change was ignored
 */
gboolean
natter_store_set_message_status (NatterStore          *self,
                                 const char           *user_id,
                                 const char           *message_id,
                                 NatterMessageStatus   status,
                                 GError              **error)
{
  g_autoptr(NatterMessage) message = NULL;
  NatterMessageDirection direction;
  const char *side_effect;
  gint64 row_id;
  gboolean allowed;
  gboolean lazy;
  gboolean ok;

  g_return_val_if_fail (NATTER_IS_STORE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  message = natter_store_get_message (self, user_id, message_id, error);
  if (message == NULL)
    return FALSE;

  direction = natter_message_get_direction (message);
  row_id = natter_message_get_row_id (message);

  if (direction == NATTER_MESSAGE_DIRECTION_IN)
    {
      if (status != NATTER_MESSAGE_STATUS_READ)
        {
          g_set_error (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_INVALID,
                       "A received message can only be marked read, not %s",
                       natter_message_status_to_string (status));
          return FALSE;
        }
      allowed = natter_message_get_status (message) == NATTER_MESSAGE_STATUS_RECEIVED;
    }
  else
    {
      allowed = outgoing_status_may_change (natter_message_get_status (message), status);
    }

  if (!allowed)
    return TRUE;

  side_effect = status_change_side_effect (direction, status);

  /* Every status but a retry can be learnt again if a power cut loses it (a
   * message that was delivered but still looks sent is sent once more and
   * the receiver drops the duplicate), so these commits skip the fsync. The
   * next durable commit writes them out too; an application crash loses
   * nothing either way in WAL mode. Messages themselves always wait for the
   * disk. */
  lazy = status != NATTER_MESSAGE_STATUS_QUEUED;
  if (lazy && !_natter_store_exec (self, "update the message", error,
                                   "PRAGMA synchronous = NORMAL", ""))
    return FALSE;

  ok = _natter_store_begin (self, error);
  if (ok &&
      (!_natter_store_exec (self, "update the message", error,
                            "UPDATE messages SET status = ? WHERE id = ?",
                            "ei", status, row_id) ||
       (side_effect != NULL &&
        !_natter_store_exec (self, "update the message", error, side_effect, "i", row_id)) ||
       !_natter_store_commit (self, error)))
    {
      _natter_store_rollback (self);
      ok = FALSE;
    }

  if (lazy)
    _natter_store_exec (self, "update the message", NULL, "PRAGMA synchronous = FULL", "");

  if (!ok)
    return FALSE;

  natter_message_set_status (message, status);
  return TRUE;
}

/**
 * natter_store_get_message:
 * @message_id: the message's UUID
 *
 * Returns: (transfer full): the message, or %NULL with @error set
 *   (NATTER_STORE_ERROR_NOT_FOUND if there is no such message)
 */
NatterMessage *
natter_store_get_message (NatterStore  *self,
                          const char   *user_id,
                          const char   *message_id,
                          GError      **error)
{
  g_autoptr(GError) local_error = NULL;
  NatterMessage *message;
  gint64 conversation_id;

  g_return_val_if_fail (NATTER_IS_STORE (self), NULL);

  if (!_natter_store_check_text (message_id, "message ID", error) ||
      !_natter_store_find_conversation (self, user_id, NULL, &conversation_id, error))
    return NULL;

  message = store_find_message (self, user_id, conversation_id, message_id, &local_error);
  if (message == NULL && local_error == NULL)
    g_set_error_literal (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_NOT_FOUND,
                         "There is no message with that ID in the conversation");
  else if (local_error != NULL)
    g_propagate_error (error, g_steal_pointer (&local_error));

  return message;
}

/**
 * natter_store_load_messages:
 * @before: (nullable): load the messages just before this one, or %NULL
 *   for the newest
 * @limit: how many messages at most
 *
 * Loads a page of a conversation, in local order (the order the messages were
 * written here), oldest first. Pass the first message of a page as @before to
 * load the page before it.
 *
 * Returns: (transfer full) (element-type NatterMessage): the messages, or
 *   %NULL with @error set
 */
GPtrArray *
natter_store_load_messages (NatterStore    *self,
                            const char     *user_id,
                            NatterMessage  *before,
                            guint           limit,
                            GError        **error)
{
  g_autoptr(StoreStmt) stmt = NULL;
  g_autoptr(GPtrArray) messages = NULL;
  gint64 conversation_id;
  gint64 before_id = G_MAXINT64;

  g_return_val_if_fail (NATTER_IS_STORE (self), NULL);
  g_return_val_if_fail (before == NULL || NATTER_IS_MESSAGE (before), NULL);

  if (!_natter_store_find_conversation (self, user_id, NULL, &conversation_id, error))
    return NULL;

  if (before != NULL)
    before_id = natter_message_get_row_id (before);

  stmt = _natter_store_query (self, error,
                              "SELECT " MESSAGE_COLUMNS " FROM messages m "
                              "WHERE m.conversation_id = ? AND m.id < ? ORDER BY m.id DESC LIMIT ?",
                              "iii", conversation_id, before_id, (gint64) limit);
  if (stmt == NULL)
    return NULL;

  messages = store_collect_messages (self, stmt, user_id, error);
  if (messages == NULL)
    return NULL;

  /* Newest first from the index; the caller wants reading order. */
  for (guint i = 0, j = messages->len; i + 1 < j; i++, j--)
    {
      gpointer tmp = messages->pdata[i];

      messages->pdata[i] = messages->pdata[j - 1];
      messages->pdata[j - 1] = tmp;
    }

  return g_steal_pointer (&messages);
}

/**
 * natter_store_count_messages:
 * @user_id: (nullable): the contact, or %NULL for all conversations
 *
 * Returns: the number of messages, or -1 with @error set
 */
gint64
natter_store_count_messages (NatterStore  *self,
                             const char   *user_id,
                             GError      **error)
{
  gint64 conversation_id;
  gint64 count = -1;

  g_return_val_if_fail (NATTER_IS_STORE (self), -1);

  if (user_id == NULL)
    {
      if (!_natter_store_get_int (self, &count, "count messages", error,
                                  "SELECT count(*) FROM messages", ""))
        return -1;
      return count;
    }

  if (!_natter_store_find_conversation (self, user_id, NULL, &conversation_id, error) ||
      !_natter_store_get_int (self, &count, "count messages", error,
                              "SELECT count(*) FROM messages WHERE conversation_id = ?",
                              "i", conversation_id))
    return -1;

  return count;
}

/**
 * natter_store_get_last_message:
 *
 * Returns: (transfer full) (nullable): the newest message of the conversation,
 *   or %NULL if it has none (then @error is not set) or on error
 */
NatterMessage *
natter_store_get_last_message (NatterStore  *self,
                               const char   *user_id,
                               GError      **error)
{
  g_autoptr(StoreStmt) stmt = NULL;
  gint64 conversation_id;

  g_return_val_if_fail (NATTER_IS_STORE (self), NULL);

  if (!_natter_store_find_conversation (self, user_id, NULL, &conversation_id, error))
    return NULL;

  stmt = _natter_store_query (self, error,
                              "SELECT " MESSAGE_COLUMNS " FROM conversations cv "
                              "JOIN messages m ON m.id = cv.last_message_id WHERE cv.id = ?",
                              "i", conversation_id);
  if (stmt == NULL || _natter_store_step (self, stmt, "load the last message", error) != SQLITE_ROW)
    return NULL;

  return _natter_store_message_from_row (self, stmt, 0, user_id);
}

/**
 * natter_store_delete_message:
 * @message_id: the message's UUID
 *
 * Deletes one message from this history only (the contact keeps theirs):
 * its text leaves the search index, it leaves the outbox, an unread one no
 * longer counts, and the conversation's last message becomes the one
 * before it.
 *
 * Returns: %TRUE if the message is gone, %FALSE with @error set
 *   (NATTER_STORE_ERROR_NOT_FOUND if there was no such message)
 */
gboolean
natter_store_delete_message (NatterStore  *self,
                             const char   *user_id,
                             const char   *message_id,
                             GError      **error)
{
  g_autoptr(NatterMessage) message = NULL;
  g_autofree char *key = NULL;
  gint64 conversation_id;
  gint64 row_id;
  gboolean unread;

  g_return_val_if_fail (NATTER_IS_STORE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!_natter_store_find_conversation (self, user_id, NULL, &conversation_id, error))
    return FALSE;

  message = natter_store_get_message (self, user_id, message_id, error);
  if (message == NULL)
    return FALSE;

  row_id = natter_message_get_row_id (message);
  unread = natter_message_get_direction (message) == NATTER_MESSAGE_DIRECTION_IN &&
           natter_message_get_status (message) == NATTER_MESSAGE_STATUS_RECEIVED;

  if (!_natter_store_begin (self, error))
    return FALSE;

  if ((unread &&
       !_natter_store_exec (self, "delete the message", error,
                            "UPDATE conversations SET unread_count = MAX (unread_count - 1, 0) "
                            "WHERE id = ?", "i", conversation_id)) ||
      !_natter_store_exec (self, "delete the message", error,
                           "DELETE FROM messages WHERE id = ?", "i", row_id) ||
      !_natter_store_exec (self, "delete the message", error,
                           "UPDATE conversations SET last_message_id = "
                           "(SELECT MAX (id) FROM messages WHERE conversation_id = ?) "
                           "WHERE id = ? AND last_message_id IS NULL",
                           "ii", conversation_id, conversation_id) ||
      !_natter_store_commit (self, error))
    {
      _natter_store_rollback (self);
      return FALSE;
    }

  key = message_key (row_id);
  _natter_store_live_remove (self, key);
  return TRUE;
}

/**
 * natter_store_clear_conversation:
 *
 * Deletes every message and call record of the conversation from this
 * history (the contact stays): the search index and the outbox lose them
 * too, and nothing is unread any more.
 *
 * Returns: %TRUE if the conversation is empty now
 */
gboolean
natter_store_clear_conversation (NatterStore  *self,
                                 const char   *user_id,
                                 GError      **error)
{
  gint64 conversation_id;

  g_return_val_if_fail (NATTER_IS_STORE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!_natter_store_find_conversation (self, user_id, NULL, &conversation_id, error) ||
      !_natter_store_begin (self, error))
    return FALSE;

  if (!_natter_store_exec (self, "delete the conversation", error,
                           "DELETE FROM messages WHERE conversation_id = ?",
                           "i", conversation_id) ||
      !_natter_store_exec (self, "delete the conversation", error,
                           "DELETE FROM calls WHERE conversation_id = ?", "i", conversation_id) ||
      !_natter_store_exec (self, "delete the conversation", error,
                           "UPDATE conversations SET unread_count = 0, last_message_id = NULL "
                           "WHERE id = ?", "i", conversation_id) ||
      !_natter_store_commit (self, error))
    {
      _natter_store_rollback (self);
      return FALSE;
    }

  /* Give the space back; failing to is no reason to report an error. */
  sqlite3_exec (self->db, "PRAGMA incremental_vacuum", NULL, NULL, NULL);
  return TRUE;
}

/* Public API: outbox */

/**
 * natter_store_list_outbox:
 *
 * Returns: (transfer full) (element-type NatterMessage): the messages still to
 *   send to the contact, in the order they were queued
 */
GPtrArray *
natter_store_list_outbox (NatterStore  *self,
                          const char   *user_id,
                          GError      **error)
{
  g_autoptr(StoreStmt) stmt = NULL;
  gint64 contact_id;

  g_return_val_if_fail (NATTER_IS_STORE (self), NULL);

  if (!_natter_store_find_conversation (self, user_id, &contact_id, NULL, error))
    return NULL;

  stmt = _natter_store_query (self, error,
                              "SELECT " MESSAGE_COLUMNS " FROM outbox o "
                              "JOIN messages m ON m.id = o.message_id "
                              "WHERE o.contact_id = ? ORDER BY o.id",
                              "i", contact_id);
  if (stmt == NULL)
    return NULL;

  return store_collect_messages (self, stmt, user_id, error);
}

/**
 * natter_store_remove_from_outbox:
 *
 * Takes a message out of the outbox without changing its status. Removing a
 * message that is not in the outbox succeeds.
 */
gboolean
natter_store_remove_from_outbox (NatterStore  *self,
                                 const char   *user_id,
                                 const char   *message_id,
                                 GError      **error)
{
  gint64 conversation_id;

  g_return_val_if_fail (NATTER_IS_STORE (self), FALSE);

  return _natter_store_check_text (message_id, "message ID", error) &&
         _natter_store_find_conversation (self, user_id, NULL, &conversation_id, error) &&
         _natter_store_exec (self, "update the outbox", error,
                             "DELETE FROM outbox WHERE message_id = "
                             "(SELECT id FROM messages WHERE conversation_id = ? AND uuid = ?)",
                             "it", conversation_id, message_id);
}

/* Public API: unread */

/**
 * natter_store_get_unread_count:
 *
 * Returns: how many received messages of the conversation are not read yet
 *   (0 for an unknown contact)
 */
guint
natter_store_get_unread_count (NatterStore *self,
                               const char  *user_id)
{
  gint64 count = 0;

  g_return_val_if_fail (NATTER_IS_STORE (self), 0);
  g_return_val_if_fail (user_id != NULL, 0);

  if (!_natter_store_get_int (self, &count, "count unread messages", NULL,
                              "SELECT cv.unread_count FROM conversations cv "
                              "JOIN contacts c ON c.id = cv.contact_id WHERE c.user_id = ?",
                              "t", user_id))
    return 0;

  return CLAMP (count, 0, G_MAXUINT);
}

guint
natter_store_get_total_unread_count (NatterStore *self)
{
  gint64 count = 0;

  g_return_val_if_fail (NATTER_IS_STORE (self), 0);

  if (!_natter_store_get_int (self, &count, "count unread messages", NULL,
                              "SELECT total (unread_count) FROM conversations", ""))
    return 0;

  return CLAMP (count, 0, G_MAXUINT);
}

/**
 * natter_store_mark_conversation_read:
 *
 * Marks every received message of the conversation read.
 */
gboolean
natter_store_mark_conversation_read (NatterStore  *self,
                                     const char   *user_id,
                                     GError      **error)
{
  g_autoptr(GPtrArray) changed = g_ptr_array_new_with_free_func (g_object_unref);
  GHashTableIter iter;
  LiveEntry *entry;
  gint64 conversation_id;

  g_return_val_if_fail (NATTER_IS_STORE (self), FALSE);

  if (!_natter_store_find_conversation (self, user_id, NULL, &conversation_id, error) ||
      !_natter_store_begin (self, error))
    return FALSE;

  if (!_natter_store_exec (self, "mark messages read", error,
                           "UPDATE messages SET status = ?1 WHERE conversation_id = ?2 "
                           "AND status = ?3",
                           "eie", NATTER_MESSAGE_STATUS_READ, conversation_id,
                           NATTER_MESSAGE_STATUS_RECEIVED) ||
      !_natter_store_exec (self, "mark messages read", error,
                           "UPDATE conversations SET unread_count = 0 WHERE id = ?",
                           "i", conversation_id) ||
      !_natter_store_commit (self, error))
    {
      _natter_store_rollback (self);
      return FALSE;
    }

  g_hash_table_iter_init (&iter, self->live);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &entry))
    {
      NatterMessage *message;

      if (!NATTER_IS_MESSAGE (entry->object))
        continue;

      message = NATTER_MESSAGE (entry->object);
      if (natter_message_get_status (message) == NATTER_MESSAGE_STATUS_RECEIVED &&
          g_strcmp0 (natter_message_get_contact_id (message), user_id) == 0)
        g_ptr_array_add (changed, g_object_ref (message));
    }

  /* Outside the iteration: notify handlers may call back into the store. */
  for (guint i = 0; i < changed->len; i++)
    natter_message_set_status (changed->pdata[i], NATTER_MESSAGE_STATUS_READ);

  return TRUE;
}

