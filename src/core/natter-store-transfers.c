/* natter-store-transfers.c: the history's file transfers
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * One row per transfer (the table of migration 2, with migration 4's error
 * and migration 5's thumbnail):
 * what was offered, which way, how far it got, where the file is and why it
 * failed. Transfers are identified by their contact and the ID the sender
 * chose; the live objects belong to the transfer service, which writes
 * every change of state here.
 */
#define G_LOG_DOMAIN "natter-store"

#include "config.h"

#include "natter-store-private.h"

#define TRANSFER_COLUMNS \
  "t.uuid, c.user_id, t.direction, t.file_name, t.mime_type, t.size, t.sha256, " \
  "t.local_path, t.transferred, t.state, t.created_at, t.error, t.thumbnail"

static NatterTransfer *
transfer_from_row (sqlite3_stmt *stmt)
{
  NatterTransfer *transfer;

  transfer = natter_transfer_new (_natter_store_column_text (stmt, 0),
                                  _natter_store_column_text (stmt, 1),
                                  sqlite3_column_int (stmt, 2),
                                  _natter_store_column_text (stmt, 3),
                                  MAX (sqlite3_column_int64 (stmt, 5), 0),
                                  _natter_store_column_text (stmt, 4),
                                  sqlite3_column_int64 (stmt, 10));
  natter_transfer_set_sha256 (transfer, _natter_store_column_text (stmt, 6));
  natter_transfer_set_path (transfer, _natter_store_column_text (stmt, 7));
  natter_transfer_set_bytes_done (transfer, MAX (sqlite3_column_int64 (stmt, 8), 0));
  natter_transfer_set_state (transfer, sqlite3_column_int (stmt, 9));
  natter_transfer_set_error (transfer, _natter_store_column_text (stmt, 11));
  if (sqlite3_column_type (stmt, 12) == SQLITE_BLOB)
    {
      g_autoptr(GBytes) thumbnail = g_bytes_new (sqlite3_column_blob (stmt, 12),
                                                 sqlite3_column_bytes (stmt, 12));

      natter_transfer_set_thumbnail (transfer, thumbnail);
    }

  return transfer;
}

/**
 * natter_store_add_transfer:
 *
 * Stores a new transfer of a contact. Fails with
 * %NATTER_STORE_ERROR_EXISTS if the contact has one of that ID already.
 */
gboolean
natter_store_add_transfer (NatterStore     *self,
                           NatterTransfer  *transfer,
                           GError         **error)
{
  g_autoptr(GError) local_error = NULL;
  gint64 conversation_id;
  gint64 now = g_get_real_time ();

  g_return_val_if_fail (NATTER_IS_STORE (self), FALSE);
  g_return_val_if_fail (NATTER_IS_TRANSFER (transfer), FALSE);

  if (!_natter_store_check_text (natter_transfer_get_id (transfer), "transfer ID", error) ||
      !_natter_store_check_text (natter_transfer_get_name (transfer), "file name", error) ||
      !_natter_store_find_conversation (self, natter_transfer_get_contact_id (transfer), NULL,
                                        &conversation_id, error))
    return FALSE;

  if (natter_transfer_get_size (transfer) > G_MAXINT64)
    {
      g_set_error_literal (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_INVALID,
                           "The file is too large");
      return FALSE;
    }

  if (!_natter_store_exec (self, "store the transfer", &local_error,
                           "INSERT INTO transfers (conversation_id, uuid, direction, file_name, "
                           "mime_type, size, sha256, local_path, transferred, state, created_at, "
                           "updated_at, error, thumbnail) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           "itettittieiitb", conversation_id, natter_transfer_get_id (transfer),
                           natter_transfer_get_direction (transfer),
                           natter_transfer_get_name (transfer),
                           natter_transfer_get_mime_type (transfer),
                           (gint64) natter_transfer_get_size (transfer),
                           natter_transfer_get_sha256 (transfer),
                           natter_transfer_get_path (transfer),
                           (gint64) natter_transfer_get_bytes_done (transfer),
                           natter_transfer_get_state (transfer),
                           natter_transfer_get_timestamp (transfer), now,
                           natter_transfer_get_error (transfer),
                           natter_transfer_get_thumbnail (transfer)))
    {
      if (g_error_matches (local_error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_INVALID))
        g_set_error_literal (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_EXISTS,
                             "A transfer of this ID exists already");
      else
        g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }

  return TRUE;
}

/**
 * natter_store_update_transfer:
 *
 * Writes the transfer's state, progress, checksum, path and error.
 */
gboolean
natter_store_update_transfer (NatterStore     *self,
                              NatterTransfer  *transfer,
                              GError         **error)
{
  gint64 conversation_id;

  g_return_val_if_fail (NATTER_IS_STORE (self), FALSE);
  g_return_val_if_fail (NATTER_IS_TRANSFER (transfer), FALSE);

  if (!_natter_store_find_conversation (self, natter_transfer_get_contact_id (transfer), NULL,
                                        &conversation_id, error))
    return FALSE;

  return _natter_store_exec (self, "update the transfer", error,
                             "UPDATE transfers SET state = ?, transferred = ?, sha256 = ?, "
                             "local_path = ?, error = ?, thumbnail = ?, updated_at = ? "
                             "WHERE conversation_id = ? AND uuid = ?",
                             "eitttbiit", natter_transfer_get_state (transfer),
                             (gint64) natter_transfer_get_bytes_done (transfer),
                             natter_transfer_get_sha256 (transfer),
                             natter_transfer_get_path (transfer),
                             natter_transfer_get_error (transfer),
                             natter_transfer_get_thumbnail (transfer),
                             g_get_real_time (), conversation_id,
                             natter_transfer_get_id (transfer));
}

/**
 * natter_store_update_transfer_progress:
 *
 * Writes how many bytes the transfer has done, without waiting for the disk:
 * progress is learnt again from the partial file after a power cut, and an
 * fsync every few seconds of a transfer would stall the main loop (and chat
 * with it). natter_store_update_transfer() writes the rest, durably.
 */
gboolean
natter_store_update_transfer_progress (NatterStore     *self,
                                       NatterTransfer  *transfer,
                                       GError         **error)
{
  gint64 conversation_id;
  gboolean ok;

  g_return_val_if_fail (NATTER_IS_STORE (self), FALSE);
  g_return_val_if_fail (NATTER_IS_TRANSFER (transfer), FALSE);

  if (!_natter_store_find_conversation (self, natter_transfer_get_contact_id (transfer), NULL,
                                        &conversation_id, error) ||
      !_natter_store_exec (self, "update the transfer", error, "PRAGMA synchronous = NORMAL", ""))
    return FALSE;

  ok = _natter_store_exec (self, "update the transfer", error,
                           "UPDATE transfers SET transferred = ?, updated_at = ? "
                           "WHERE conversation_id = ? AND uuid = ?",
                           "iiit", (gint64) natter_transfer_get_bytes_done (transfer),
                           g_get_real_time (), conversation_id, natter_transfer_get_id (transfer));
  _natter_store_exec (self, "update the transfer", NULL, "PRAGMA synchronous = FULL", "");
  return ok;
}

/**
 * natter_store_get_transfer:
 *
 * Returns: (transfer full) (nullable): a new object for the stored
 *   transfer, or %NULL with %NATTER_STORE_ERROR_NOT_FOUND
 */
NatterTransfer *
natter_store_get_transfer (NatterStore  *self,
                           const char   *user_id,
                           const char   *transfer_id,
                           GError      **error)
{
  g_autoptr(StoreStmt) stmt = NULL;
  int rc;

  g_return_val_if_fail (NATTER_IS_STORE (self), NULL);

  if (!_natter_store_check_text (user_id, "user ID", error) ||
      !_natter_store_check_text (transfer_id, "transfer ID", error))
    return NULL;

  stmt = _natter_store_query (self, error,
                              "SELECT " TRANSFER_COLUMNS " FROM transfers t "
                              "JOIN conversations cv ON cv.id = t.conversation_id "
                              "JOIN contacts c ON c.id = cv.contact_id "
                              "WHERE c.user_id = ? AND t.uuid = ?",
                              "tt", user_id, transfer_id);
  if (stmt == NULL || (rc = _natter_store_step (self, stmt, "read the transfer", error)) == 0)
    return NULL;

  if (rc != SQLITE_ROW)
    {
      g_set_error_literal (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_NOT_FOUND,
                           "No such transfer");
      return NULL;
    }

  return transfer_from_row (stmt);
}

/**
 * natter_store_list_transfers:
 * @user_id: (nullable): one contact's, or everyone's
 * @unfinished_only: only those waiting or transferring
 *
 * Returns: (transfer container) (element-type NatterTransfer): new objects,
 *   oldest first
 */
GPtrArray *
natter_store_list_transfers (NatterStore  *self,
                             const char   *user_id,
                             gboolean      unfinished_only,
                             GError      **error)
{
  g_autoptr(GPtrArray) transfers = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(StoreStmt) stmt = NULL;
  int rc;

  g_return_val_if_fail (NATTER_IS_STORE (self), NULL);

  stmt = _natter_store_query (self, error,
                              "SELECT " TRANSFER_COLUMNS " FROM transfers t "
                              "JOIN conversations cv ON cv.id = t.conversation_id "
                              "JOIN contacts c ON c.id = cv.contact_id "
                              "WHERE (?1 IS NULL OR c.user_id = ?1) AND (?2 = 0 OR t.state IN (0, 1)) "
                              "ORDER BY t.created_at, t.id",
                              "te", user_id, unfinished_only ? 1 : 0);
  if (stmt == NULL)
    return NULL;

  while ((rc = _natter_store_step (self, stmt, "list the transfers", error)) == SQLITE_ROW)
    g_ptr_array_add (transfers, transfer_from_row (stmt));

  if (rc == 0)
    return NULL;

  return g_steal_pointer (&transfers);
}
