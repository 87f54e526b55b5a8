/* natter-store-backup.c: noticing damage in the history, and its rolling backup
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A quick integrity check finds damaged pages that ordinary queries may
 * never touch; once damage is seen the store refuses every write. The
 * backup is a copy made with SQLite's online backup API next to the
 * history (history.db.backup), checked before it replaces the previous one,
 * so that damage costs at most what came after the last backup.
 */
#define G_LOG_DOMAIN "natter-store"

#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "natter-store-private.h"

static char *
backup_path (const char *path)
{
  return g_strconcat (path, NATTER_STORE_BACKUP_SUFFIX, NULL);
}

/* PRAGMA quick_check on @db: %TRUE if it says "ok". */
static gboolean
quick_check (sqlite3     *db,
             const char  *what,
             GError     **error)
{
  sqlite3_stmt *stmt = NULL;
  g_autofree char *first = NULL;
  int rc;

  rc = sqlite3_prepare_v2 (db, "PRAGMA quick_check(1)", -1, &stmt, NULL);
  if (rc == SQLITE_OK && (rc = sqlite3_step (stmt)) == SQLITE_ROW)
    first = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
  sqlite3_finalize (stmt);

  if (g_strcmp0 (first, "ok") == 0)
    return TRUE;

  g_set_error (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_CORRUPT,
               "%s is damaged (%s)", what,
               first != NULL ? first : sqlite3_errstr (rc));
  return FALSE;
}

/**
 * natter_store_check:
 *
 * Runs SQLite's quick integrity check. Damage marks the store damaged: it
 * refuses writes from then on.
 *
 * Returns: %TRUE if the history is sound
 */
gboolean
natter_store_check (NatterStore  *self,
                    GError      **error)
{
  g_return_val_if_fail (NATTER_IS_STORE (self), FALSE);

  if (!_natter_store_check_open (self, error))
    return FALSE;

  if (!quick_check (self->db, "The history database", error))
    {
      _natter_store_mark_damaged (self);
      return FALSE;
    }

  return TRUE;
}

static void
check_in_thread (GTask        *task,
                 gpointer      source_object,
                 gpointer      task_data,
                 GCancellable *cancellable)
{
  const char *path = task_data;
  GError *error = NULL;
  sqlite3 *db = NULL;
  int rc;

  /* A connection of its own: the store's belongs to the main thread */
  rc = sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
  if (rc != SQLITE_OK)
    {
      g_task_return_new_error (task, NATTER_STORE_ERROR, NATTER_STORE_ERROR_FAILED,
                               "Could not check the history database: %s", sqlite3_errstr (rc));
      sqlite3_close (db);
      return;
    }

  if (quick_check (db, "The history database", &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
  sqlite3_close (db);
}

/**
 * natter_store_check_async:
 *
 * Like natter_store_check(), on a thread of its own, so that a large history
 * does not delay the first window. The finish function marks the store
 * damaged if it is.
 */
void
natter_store_check_async (NatterStore         *self,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (NATTER_IS_STORE (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, natter_store_check_async);
  g_task_set_task_data (task, g_strdup (natter_store_get_path (self)), g_free);
  g_task_run_in_thread (task, check_in_thread);
}

gboolean
natter_store_check_finish (NatterStore   *self,
                           GAsyncResult  *result,
                           GError       **error)
{
  g_autoptr(GError) local_error = NULL;

  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  if (g_task_propagate_boolean (G_TASK (result), &local_error))
    return TRUE;

  if (g_error_matches (local_error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_CORRUPT))
    _natter_store_mark_damaged (self);
  g_propagate_error (error, g_steal_pointer (&local_error));
  return FALSE;
}

/**
 * natter_store_backup:
 *
 * Copies the history into its backup file with SQLite's online backup API,
 * checks the copy, and only then replaces the previous backup. A damaged
 * history is not backed up over a good backup.
 *
 * Returns: %TRUE on success
 */
gboolean
natter_store_backup (NatterStore  *self,
                     GError      **error)
{
  g_autofree char *target = NULL;
  g_autofree char *building = NULL;
  sqlite3 *copy = NULL;
  sqlite3_backup *backup;
  int rc;

  g_return_val_if_fail (NATTER_IS_STORE (self), FALSE);

  if (self->db == NULL || self->damaged)
    {
      g_set_error_literal (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_CORRUPT,
                           "A closed or damaged history is not backed up");
      return FALSE;
    }

  target = backup_path (self->path);
  building = g_strconcat (target, ".new", NULL);

  if (!_natter_store_create_private_file (building, error))
    return FALSE;

  rc = sqlite3_open_v2 (building, &copy, SQLITE_OPEN_READWRITE, NULL);
  if (rc == SQLITE_OK)
    {
      backup = sqlite3_backup_init (copy, "main", self->db, "main");
      if (backup != NULL)
        {
          sqlite3_backup_step (backup, -1);
          sqlite3_backup_finish (backup);
        }
      rc = sqlite3_errcode (copy);
    }

  if (rc != SQLITE_OK)
    {
      g_set_error (error, NATTER_STORE_ERROR,
                   (rc & 0xff) == SQLITE_FULL ? NATTER_STORE_ERROR_DISK_FULL
                                              : NATTER_STORE_ERROR_FAILED,
                   "Could not back up the history: %s",
                   copy != NULL ? sqlite3_errmsg (copy) : sqlite3_errstr (rc));
      sqlite3_close (copy);
      g_unlink (building);
      return FALSE;
    }

  if (!quick_check (copy, "The new backup", error))
    {
      sqlite3_close (copy);
      g_unlink (building);
      return FALSE;
    }

  /* Back to a single file before it is renamed */
  sqlite3_exec (copy, "PRAGMA journal_mode = DELETE", NULL, NULL, NULL);
  sqlite3_close (copy);

  if (!_natter_store_rename_durably (building, target, error))
    {
      g_unlink (building);
      return FALSE;
    }

  g_debug ("Backed up the history to %s", target);
  return TRUE;
}

/**
 * natter_store_backup_if_due:
 * @max_age_s: how old the backup may be
 *
 * Makes a backup if there is none or the last one is older than @max_age_s.
 *
 * Returns: %TRUE if the backup is fresh enough now
 */
gboolean
natter_store_backup_if_due (NatterStore  *self,
                            guint         max_age_s,
                            GError      **error)
{
  g_autofree char *target = NULL;
  GStatBuf st;

  g_return_val_if_fail (NATTER_IS_STORE (self), FALSE);

  target = backup_path (natter_store_get_path (self));
  if (g_stat (target, &st) == 0 && st.st_mtime + (gint64) max_age_s > g_get_real_time () / G_USEC_PER_SEC)
    return TRUE;

  return natter_store_backup (self, error);
}

static gboolean
copy_file (const char  *from,
           const char  *to,
           GError     **error)
{
  g_autoptr(GFile) source = g_file_new_for_path (from);
  g_autoptr(GFile) target = g_file_new_for_path (to);

  return g_file_copy (source, target, G_FILE_COPY_OVERWRITE, NULL, NULL, NULL, error);
}

/* Moves @path and its write-ahead log aside as @aside. */
static gboolean
move_aside (const char  *path,
            const char  *aside,
            GError     **error)
{
  const char *suffixes[] = { "-wal", "-shm", "-journal" };

  if (g_file_test (path, G_FILE_TEST_EXISTS) && g_rename (path, aside) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_FAILED,
                   "Could not move the damaged history aside: %s", g_strerror (saved_errno));
      return FALSE;
    }

  for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++)
    {
      g_autofree char *from = g_strconcat (path, suffixes[i], NULL);
      g_autofree char *to = g_strconcat (aside, suffixes[i], NULL);

      if (g_file_test (from, G_FILE_TEST_EXISTS))
        g_rename (from, to);
    }

  return TRUE;
}

/**
 * natter_store_restore_backup:
 * @path: the history database (no store may have it open)
 * @error: a #GError
 *
 * Puts the backup in place of the history. The history that was there is
 * kept beside it as `history.db.damaged-DATE`, never deleted.
 *
 * Returns: (transfer full): the name the old history was kept under (empty
 *   if there was none), or %NULL with @error set
 */
char *
natter_store_restore_backup (const char  *path,
                             GError     **error)
{
  g_autofree char *backup = backup_path (path);
  g_autofree char *building = g_strconcat (path, ".new", NULL);
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *stamp = g_date_time_format (now, "%Y%m%d-%H%M%S");
  g_autofree char *aside = g_strconcat (path, ".damaged-", stamp, NULL);
  sqlite3 *db = NULL;
  gboolean had_history;
  int rc;

  g_return_val_if_fail (path != NULL, NULL);

  if (!g_file_test (backup, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_NOT_FOUND,
                   _("There is no backup of this history (%s)"), backup);
      return NULL;
    }

  if (!_natter_store_inspect (backup, error))
    return NULL;

  rc = sqlite3_open_v2 (backup, &db, SQLITE_OPEN_READONLY, NULL);
  if (rc != SQLITE_OK || !quick_check (db, "The backup", error))
    {
      if (rc != SQLITE_OK)
        g_set_error (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_FAILED,
                     "Could not read the backup: %s", sqlite3_errstr (rc));
      sqlite3_close (db);
      return NULL;
    }
  sqlite3_close (db);

  if (!copy_file (backup, building, error))
    return NULL;

  had_history = g_file_test (path, G_FILE_TEST_EXISTS);
  if (!move_aside (path, aside, error) ||
      !_natter_store_rename_durably (building, path, error))
    {
      g_unlink (building);
      return NULL;
    }

  g_chmod (path, 0600);
  return g_strdup (had_history ? aside : "");
}
