/* natter-store-calls.c: the history's call records
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * One row per call in the table `calls` (schema 2): direction, whether it
 * had video, its outcome (the column `state`), when it was placed, answered
 * and ended. A record is written once, when the call is over; the
 * conversation shows it by `started_at` among the messages.
 */
#define G_LOG_DOMAIN "natter-store"

#include "config.h"

#include "natter-call-private.h"
#include "natter-store-calls.h"
#include "natter-store-private.h"

/* The numbers stored rows hold */
G_STATIC_ASSERT (NATTER_CALL_DIRECTION_IN == 0 && NATTER_CALL_DIRECTION_OUT == 1);
G_STATIC_ASSERT (NATTER_CALL_OUTCOME_ANSWERED == 1 && NATTER_CALL_OUTCOME_MISSED == 2 &&
                 NATTER_CALL_OUTCOME_DECLINED == 3 && NATTER_CALL_OUTCOME_BUSY == 4 &&
                 NATTER_CALL_OUTCOME_FAILED == 5);

/**
 * natter_store_add_call:
 * @call: a call that is over
 *
 * Keeps its record; a call already kept is left as it is.
 */
gboolean
natter_store_add_call (NatterStore  *self,
                       NatterCall   *call,
                       GError      **error)
{
  gint64 conversation_id;

  g_return_val_if_fail (NATTER_IS_STORE (self), FALSE);
  g_return_val_if_fail (NATTER_IS_CALL (call), FALSE);
  g_return_val_if_fail (natter_call_get_state (call) == NATTER_CALL_STATE_ENDED, FALSE);

  if (!_natter_store_check_text (natter_call_get_id (call), "call", error) ||
      !_natter_store_find_conversation (self, natter_call_get_contact_id (call), NULL,
                                        &conversation_id, error) ||
      !_natter_store_begin (self, error))
    return FALSE;

  if (!_natter_store_exec (self, "keep the call", error,
                           "INSERT INTO calls (conversation_id, uuid, direction, video, state, "
                           "started_at, answered_at, ended_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                           "ON CONFLICT (conversation_id, uuid) DO NOTHING",
                           "iteeeiii", conversation_id, natter_call_get_id (call),
                           (int) natter_call_get_direction (call),
                           (int) !natter_call_get_audio_only (call),
                           (int) natter_call_get_outcome (call),
                           natter_call_get_started_at (call),
                           natter_call_get_answered_at (call),
                           natter_call_get_ended_at (call)) ||
      !_natter_store_exec (self, "keep the call", error,
                           "UPDATE conversations SET last_activity = MAX (IFNULL (last_activity, 0), ?) "
                           "WHERE id = ?",
                           "ii", natter_call_get_ended_at (call), conversation_id) ||
      !_natter_store_commit (self, error))
    {
      _natter_store_rollback (self);
      return FALSE;
    }

  return TRUE;
}

/**
 * natter_store_list_calls:
 * @user_id: the contact
 * @limit: at most this many, the latest
 *
 * Returns: (transfer container) (element-type NatterCall): the contact's
 *   calls, oldest first, or %NULL with @error set
 */
GPtrArray *
natter_store_list_calls (NatterStore  *self,
                         const char   *user_id,
                         guint         limit,
                         GError      **error)
{
  g_autoptr(StoreStmt) stmt = NULL;
  g_autoptr(GPtrArray) calls = g_ptr_array_new_with_free_func (g_object_unref);
  gint64 conversation_id;
  int rc;

  g_return_val_if_fail (NATTER_IS_STORE (self), NULL);
  g_return_val_if_fail (user_id != NULL, NULL);

  if (!_natter_store_check_open (self, error) ||
      !_natter_store_find_conversation (self, user_id, NULL, &conversation_id, error))
    return NULL;

  stmt = _natter_store_query (self, error,
                              "SELECT uuid, direction, video, state, started_at, "
                              "IFNULL (answered_at, 0), IFNULL (ended_at, 0) FROM calls "
                              "WHERE conversation_id = ? ORDER BY started_at DESC, id DESC LIMIT ?",
                              "ii", conversation_id, (gint64) limit);
  if (stmt == NULL)
    return NULL;

  while ((rc = _natter_store_step (self, stmt, "load calls", error)) == SQLITE_ROW)
    {
      int direction = sqlite3_column_int (stmt, 1);
      int outcome = sqlite3_column_int (stmt, 3);

      g_ptr_array_insert (calls, 0,
        _natter_call_new_from_record (_natter_store_column_text (stmt, 0), user_id,
                                      direction == NATTER_CALL_DIRECTION_IN ?
                                      NATTER_CALL_DIRECTION_IN : NATTER_CALL_DIRECTION_OUT,
                                      sqlite3_column_int (stmt, 2) == 0,
                                      outcome >= NATTER_CALL_OUTCOME_ANSWERED &&
                                      outcome <= NATTER_CALL_OUTCOME_FAILED ?
                                      (NatterCallOutcome) outcome : NATTER_CALL_OUTCOME_MISSED,
                                      sqlite3_column_int64 (stmt, 4),
                                      sqlite3_column_int64 (stmt, 5),
                                      sqlite3_column_int64 (stmt, 6)));
    }
  if (rc != SQLITE_DONE)
    return NULL;

  return g_steal_pointer (&calls);
}
