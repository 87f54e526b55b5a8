/* natter-store-contacts.c: contacts and their conversations
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "natter-store"

#include "config.h"

#include <stdarg.h>

#include "natter-user-id.h"

#include "natter-store-private.h"

#define CONTACT_COLUMNS \
  "c.user_id, c.display_name, c.alias, c.bio, c.avatar, c.verified, c.blocked, " \
  "c.added_at, c.updated_at"

/* One row of CONTACT_COLUMNS, read while the statement runs and applied to
 * the contact object after it is reset (applying runs notify handlers, which
 * may call back into the store). */
typedef struct
{
  char   *user_id;
  char   *display_name;
  char   *alias;
  char   *bio;
  GBytes *avatar;
  gint64  added_time;
  gint64  updated_time;
  gboolean verified;
  gboolean blocked;
} ContactRow;

static void
contact_row_free (gpointer data)
{
  ContactRow *row = data;

  g_free (row->user_id);
  g_free (row->display_name);
  g_free (row->alias);
  g_free (row->bio);
  g_clear_pointer (&row->avatar, g_bytes_unref);
  g_free (row);
}

static ContactRow *
contact_row_read (sqlite3_stmt *stmt)
{
  ContactRow *row = g_new0 (ContactRow, 1);

  row->user_id = g_strdup (_natter_store_column_text (stmt, 0));
  row->display_name = g_strdup (_natter_store_column_text (stmt, 1));
  row->alias = g_strdup (_natter_store_column_text (stmt, 2));
  row->bio = g_strdup (_natter_store_column_text (stmt, 3));
  if (sqlite3_column_type (stmt, 4) == SQLITE_BLOB)
    row->avatar = g_bytes_new (sqlite3_column_blob (stmt, 4), sqlite3_column_bytes (stmt, 4));
  row->verified = sqlite3_column_int (stmt, 5);
  row->blocked = sqlite3_column_int (stmt, 6);
  row->added_time = sqlite3_column_int64 (stmt, 7);
  row->updated_time = sqlite3_column_int64 (stmt, 8);
  return row;
}

/* Returns the live contact for @row, brought up to date. */
static NatterContact *
store_contact_from_row (NatterStore *self,
                        ContactRow  *row)
{
  g_autofree char *key = g_strconcat ("c:", row->user_id, NULL);
  NatterContact *contact;

  contact = _natter_store_live_lookup (self, key);
  if (contact == NULL)
    {
      contact = natter_contact_new (row->user_id);
      _natter_store_live_add (self, g_steal_pointer (&key), contact);
    }

  g_object_freeze_notify (G_OBJECT (contact));
  natter_contact_set_display_name (contact, row->display_name);
  natter_contact_set_alias (contact, row->alias);
  natter_contact_set_bio (contact, row->bio);
  natter_contact_set_avatar (contact, row->avatar);
  natter_contact_set_verified (contact, row->verified);
  natter_contact_set_blocked (contact, row->blocked);
  natter_contact_set_added_time (contact, row->added_time);
  natter_contact_set_updated_time (contact, row->updated_time);
  g_object_thaw_notify (G_OBJECT (contact));

  return contact;
}

/* Public API: contacts */

/**
 * natter_store_add_contact:
 * @user_id: the contact's user ID (checked by the caller)
 * @display_name: (nullable): the name the contact gave themselves
 *
 * Adds a contact and its conversation.
 *
 * Returns: (transfer full): the contact, or %NULL with @error set
 *   (NATTER_STORE_ERROR_EXISTS if it is already a contact)
 */
NatterContact *
natter_store_add_contact (NatterStore  *self,
                          const char   *user_id,
                          const char   *display_name,
                          GError      **error)
{
  gint64 now = g_get_real_time ();
  g_autoptr(GError) local_error = NULL;

  g_return_val_if_fail (NATTER_IS_STORE (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!_natter_store_check_text (user_id, "user ID", error) || !_natter_store_begin (self, error))
    return NULL;

  if (!_natter_store_exec (self, "add the contact", &local_error,
                           "INSERT INTO contacts (user_id, display_name, added_at, updated_at) "
                           "VALUES (?, ?, ?, ?)",
                           "ttii", user_id, display_name, now, now) ||
      !_natter_store_exec (self, "add the contact", &local_error,
                           "INSERT INTO conversations (contact_id) VALUES (last_insert_rowid ())",
                           "") ||
      !_natter_store_commit (self, &local_error))
    {
      _natter_store_rollback (self);
      if (g_error_matches (local_error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_EXISTS))
        g_set_error (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_EXISTS,
                     "%s is already a contact", NATTER_USER_ID_LOG (user_id));
      else
        g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }

  return natter_store_get_contact (self, user_id, error);
}

/* Runs a contacts query with one text parameter and reads all its rows. */
static GPtrArray *
store_read_contacts (NatterStore  *self,
                     GError      **error,
                     const char   *sql,
                     const char   *param)
{
  g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func (contact_row_free);
  g_autoptr(StoreStmt) stmt = _natter_store_query (self, error, sql, "t", param);
  int rc;

  if (stmt == NULL)
    return NULL;

  while ((rc = _natter_store_step (self, stmt, "load contacts", error)) == SQLITE_ROW)
    g_ptr_array_add (rows, contact_row_read (stmt));

  return rc == SQLITE_DONE ? g_steal_pointer (&rows) : NULL;
}

/**
 * natter_store_get_contact:
 *
 * Returns: (transfer full): the contact, or %NULL with @error set
 *   (NATTER_STORE_ERROR_NOT_FOUND if there is no such contact)
 */
NatterContact *
natter_store_get_contact (NatterStore  *self,
                          const char   *user_id,
                          GError      **error)
{
  g_autoptr(GPtrArray) rows = NULL;

  g_return_val_if_fail (NATTER_IS_STORE (self), NULL);
  g_return_val_if_fail (user_id != NULL, NULL);

  rows = store_read_contacts (self, error,
                              "SELECT " CONTACT_COLUMNS " FROM contacts c WHERE c.user_id = ?",
                              user_id);
  if (rows == NULL)
    return NULL;

  if (rows->len == 0)
    {
      _natter_store_set_not_a_contact (error, user_id);
      return NULL;
    }

  return store_contact_from_row (self, rows->pdata[0]);
}

/**
 * natter_store_list_contacts:
 *
 * Returns: (transfer full) (element-type NatterContact): all contacts, the
 *   most recently active conversation first
 */
GPtrArray *
natter_store_list_contacts (NatterStore  *self,
                            GError      **error)
{
  g_autoptr(GPtrArray) contacts = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) rows = NULL;

  g_return_val_if_fail (NATTER_IS_STORE (self), NULL);

  rows = store_read_contacts (self, error,
                              "SELECT " CONTACT_COLUMNS " FROM contacts c "
                              "JOIN conversations cv ON cv.contact_id = c.id "
                              "WHERE ?1 IS NULL "
                              "ORDER BY cv.last_activity DESC NULLS LAST, c.added_at, c.id",
                              NULL);
  if (rows == NULL)
    return NULL;

  for (guint i = 0; i < rows->len; i++)
    g_ptr_array_add (contacts, store_contact_from_row (self, rows->pdata[i]));

  return g_steal_pointer (&contacts);
}

/* Runs an UPDATE of one contact (?1 is the user ID), then refreshes the live object. */
static gboolean
store_update_contact_row (NatterStore  *self,
                          const char   *user_id,
                          GError      **error,
                          const char   *sql,
                          const char   *types,
                          ...)
{
  g_autoptr(StoreStmt) stmt = NULL;
  g_autoptr(NatterContact) contact = NULL;
  va_list args;

  if (!_natter_store_check_text (user_id, "user ID", error))
    return FALSE;

  va_start (args, types);
  stmt = _natter_store_query_valist (self, sql, error, types, args);
  va_end (args);

  if (stmt == NULL || _natter_store_step (self, stmt, "update the contact", error) == 0)
    return FALSE;

  if (sqlite3_changes (self->db) == 0)
    {
      _natter_store_set_not_a_contact (error, user_id);
      return FALSE;
    }

  g_clear_pointer (&stmt, _natter_store_stmt_release);
  contact = natter_store_get_contact (self, user_id, error);
  return contact != NULL;
}

/**
 * natter_store_update_contact:
 * @contact: a contact whose properties were changed
 *
 * Saves the display name, alias, bio, avatar and the verified and blocked
 * flags of @contact.
 */
gboolean
natter_store_update_contact (NatterStore    *self,
                             NatterContact  *contact,
                             GError        **error)
{
  GBytes *avatar;

  g_return_val_if_fail (NATTER_IS_STORE (self), FALSE);
  g_return_val_if_fail (NATTER_IS_CONTACT (contact), FALSE);

  avatar = natter_contact_get_avatar (contact);
  if (avatar != NULL && g_bytes_get_size (avatar) > NATTER_CONTACT_AVATAR_MAX_SIZE)
    {
      g_set_error (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_INVALID,
                   "The avatar is larger than %d KiB", NATTER_CONTACT_AVATAR_MAX_SIZE / 1024);
      return FALSE;
    }

  return store_update_contact_row (self, natter_contact_get_user_id (contact), error,
                                   "UPDATE contacts SET display_name = ?2, alias = ?3, bio = ?4, "
                                   "avatar = ?5, verified = ?6, blocked = ?7, "
                                   "updated_at = ?8 WHERE user_id = ?1",
                                   "ttttbiii",
                                   natter_contact_get_user_id (contact),
                                   natter_contact_get_display_name (contact),
                                   natter_contact_get_alias (contact),
                                   natter_contact_get_bio (contact),
                                   avatar,
                                   (gint64) natter_contact_get_verified (contact),
                                   (gint64) natter_contact_get_blocked (contact),
                                   g_get_real_time ());
}

/**
 * natter_store_rename_contact:
 * @alias: (nullable): the name the user gives the contact, or %NULL to show
 *   the contact's own display name again
 */
gboolean
natter_store_rename_contact (NatterStore  *self,
                             const char   *user_id,
                             const char   *alias,
                             GError      **error)
{
  g_return_val_if_fail (NATTER_IS_STORE (self), FALSE);

  if (alias != NULL && *alias == '\0')
    alias = NULL;
  if (alias != NULL && !_natter_store_check_text (alias, "name", error))
    return FALSE;

  return store_update_contact_row (self, user_id, error,
                                   "UPDATE contacts SET alias = ?2, updated_at = ?3 "
                                   "WHERE user_id = ?1",
                                   "tti", user_id, alias, g_get_real_time ());
}

/* The flags of a contact, with the SQL that sets each (?2 is the value). */
typedef enum
{
  CONTACT_FLAG_BLOCKED,
  CONTACT_FLAG_VERIFIED,
} ContactFlag;

static const char *const contact_flag_sql[] = {
  [CONTACT_FLAG_BLOCKED] =
    "UPDATE contacts SET blocked = ?2, updated_at = ?3 WHERE user_id = ?1",
  [CONTACT_FLAG_VERIFIED] =
    "UPDATE contacts SET verified = ?2, updated_at = ?3 WHERE user_id = ?1",
};

static gboolean
store_set_contact_flag (NatterStore  *self,
                        const char   *user_id,
                        ContactFlag   flag,
                        gboolean      value,
                        GError      **error)
{
  return store_update_contact_row (self, user_id, error, contact_flag_sql[flag],
                                   "tii", user_id, (gint64) !!value, g_get_real_time ());
}

gboolean
natter_store_set_contact_blocked (NatterStore  *self,
                                  const char   *user_id,
                                  gboolean      blocked,
                                  GError      **error)
{
  g_return_val_if_fail (NATTER_IS_STORE (self), FALSE);

  return store_set_contact_flag (self, user_id, CONTACT_FLAG_BLOCKED, blocked, error);
}

/**
 * natter_store_set_contact_verified:
 *
 * Records that the user compared safety numbers with the contact.
 */
gboolean
natter_store_set_contact_verified (NatterStore  *self,
                                   const char   *user_id,
                                   gboolean      verified,
                                   GError      **error)
{
  g_return_val_if_fail (NATTER_IS_STORE (self), FALSE);

  return store_set_contact_flag (self, user_id, CONTACT_FLAG_VERIFIED, verified, error);
}

/**
 * natter_store_remove_contact:
 *
 * Deletes the contact with its conversation, messages and outbox. Their
 * text is overwritten in the file (single words may stay in the full-text
 * index until it merges the segments that hold them).
 */
gboolean
natter_store_remove_contact (NatterStore  *self,
                             const char   *user_id,
                             GError      **error)
{
  g_return_val_if_fail (NATTER_IS_STORE (self), FALSE);

  if (!_natter_store_check_text (user_id, "user ID", error) ||
      !_natter_store_exec (self, "remove the contact", error,
                           "DELETE FROM contacts WHERE user_id = ?", "t", user_id))
    return FALSE;

  if (sqlite3_changes (self->db) == 0)
    {
      _natter_store_set_not_a_contact (error, user_id);
      return FALSE;
    }

  /* Give the space back; failing to is no reason to report an error. */
  sqlite3_exec (self->db, "PRAGMA incremental_vacuum", NULL, NULL, NULL);
  return TRUE;
}
