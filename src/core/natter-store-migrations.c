/* natter-store-migrations.c: the history's schema, and which files are Natter's
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A new history is built beside its final name and renamed into place. An
 * existing file is looked at before anything is written to it: one that is
 * not Natter's (its application_id) or of a newer schema is refused. Then
 * the migrations bring it up to this version's schema, one transaction each.
 */
#define G_LOG_DOMAIN "natter-store"

#include "config.h"

#include <glib/gi18n-lib.h>

#include <glib/gstdio.h>

#include "natter-store-private.h"

/* Schema migrations, oldest first. Migration N takes user_version from N-1 to
 * N. Never edit a shipped migration: add a new one. */
static const char *const migrations[] = {
  /* 1: the first schema */
  "CREATE TABLE contacts ("
  "  id INTEGER PRIMARY KEY,"
  "  user_id TEXT NOT NULL UNIQUE,"
  "  display_name TEXT,"
  "  alias TEXT,"
  "  bio TEXT,"
  "  avatar BLOB CHECK (avatar IS NULL OR length(avatar) <= 262144),"
  "  verified INTEGER NOT NULL DEFAULT 0,"
  "  blocked INTEGER NOT NULL DEFAULT 0,"
  "  key_changed INTEGER NOT NULL DEFAULT 0," /* unused: a contact's ID is its key */
  "  added_at INTEGER NOT NULL,"
  "  updated_at INTEGER NOT NULL"
  ");"
  "CREATE TABLE conversations ("
  "  id INTEGER PRIMARY KEY,"
  "  contact_id INTEGER NOT NULL UNIQUE REFERENCES contacts (id) ON DELETE CASCADE,"
  "  unread_count INTEGER NOT NULL DEFAULT 0,"
  "  last_message_id INTEGER REFERENCES messages (id) ON DELETE SET NULL,"
  "  last_activity INTEGER"
  ");"
  "CREATE TABLE messages ("
  "  id INTEGER PRIMARY KEY,"
  "  conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,"
  "  uuid TEXT NOT NULL,"
  "  direction INTEGER NOT NULL CHECK (direction IN (0, 1)),"
  "  body TEXT NOT NULL,"
  "  sent_at INTEGER NOT NULL,"
  "  received_at INTEGER,"
  "  status INTEGER NOT NULL CHECK (status BETWEEN 0 AND 5),"
  "  UNIQUE (conversation_id, uuid)"
  ");"
  "CREATE INDEX messages_by_conversation ON messages (conversation_id);"
  "CREATE INDEX messages_unread ON messages (conversation_id) WHERE status = 5;"
  "CREATE TABLE outbox ("
  "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
  "  message_id INTEGER NOT NULL UNIQUE REFERENCES messages (id) ON DELETE CASCADE,"
  "  contact_id INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE"
  ");"
  "CREATE INDEX outbox_by_contact ON outbox (contact_id, id);",

  /* 2: file transfers, calls, full-text search over message bodies, and
   * indexes for the foreign keys that point at messages (deleting a message
   * looks them up) */
  "CREATE TABLE transfers ("
  "  id INTEGER PRIMARY KEY,"
  "  conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,"
  "  message_id INTEGER REFERENCES messages (id) ON DELETE SET NULL,"
  "  uuid TEXT NOT NULL,"
  "  direction INTEGER NOT NULL CHECK (direction IN (0, 1)),"
  "  file_name TEXT NOT NULL,"
  "  mime_type TEXT,"
  "  size INTEGER NOT NULL,"
  "  sha256 TEXT,"
  "  local_path TEXT,"
  "  transferred INTEGER NOT NULL DEFAULT 0,"
  "  state INTEGER NOT NULL DEFAULT 0,"
  "  created_at INTEGER NOT NULL,"
  "  updated_at INTEGER NOT NULL,"
  "  UNIQUE (conversation_id, uuid)"
  ");"
  "CREATE TABLE calls ("
  "  id INTEGER PRIMARY KEY,"
  "  conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,"
  "  uuid TEXT NOT NULL,"
  "  direction INTEGER NOT NULL CHECK (direction IN (0, 1)),"
  "  video INTEGER NOT NULL DEFAULT 0,"
  "  state INTEGER NOT NULL DEFAULT 0,"
  "  started_at INTEGER NOT NULL,"
  "  answered_at INTEGER,"
  "  ended_at INTEGER,"
  "  UNIQUE (conversation_id, uuid)"
  ");"
  "CREATE INDEX transfers_by_message ON transfers (message_id);"
  "CREATE INDEX conversations_by_last_message ON conversations (last_message_id);"
  "CREATE VIRTUAL TABLE messages_fts USING fts5 ("
  "  body, content = 'messages', content_rowid = 'id',"
  "  tokenize = 'unicode61 remove_diacritics 2'"
  ");"
  "CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN"
  "  INSERT INTO messages_fts (rowid, body) VALUES (new.id, new.body);"
  "END;"
  "CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN"
  "  INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', old.id, old.body);"
  "END;"
  "CREATE TRIGGER messages_fts_update AFTER UPDATE OF body ON messages BEGIN"
  "  INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', old.id, old.body);"
  "  INSERT INTO messages_fts (rowid, body) VALUES (new.id, new.body);"
  "END;"
  "INSERT INTO messages_fts (messages_fts) VALUES ('rebuild');",

  /* 3: replies: the ID of the message a message answers */
  "ALTER TABLE messages ADD COLUMN reply_to TEXT "
  "CHECK (reply_to IS NULL OR length (reply_to) BETWEEN 1 AND 64);",

  /* 4: why a file transfer failed, as the user was told */
  "ALTER TABLE transfers ADD COLUMN error TEXT;",

  /* 5: the small picture an image's sender made (PNG or JPEG, checked) */
  "ALTER TABLE transfers ADD COLUMN thumbnail BLOB "
  "CHECK (thumbnail IS NULL OR length (thumbnail) <= 32768);",
};

G_STATIC_ASSERT (G_N_ELEMENTS (migrations) == NATTER_STORE_SCHEMA_VERSION);

/* The numbers every stored row holds, and that migration 1 names in its
 * CHECKs (direction IN (0, 1), status BETWEEN 0 AND 5) and in the
 * messages_unread index (status = 5, received): they never change. */
G_STATIC_ASSERT (NATTER_MESSAGE_DIRECTION_IN == 0);
G_STATIC_ASSERT (NATTER_MESSAGE_DIRECTION_OUT == 1);
G_STATIC_ASSERT (NATTER_MESSAGE_STATUS_QUEUED == 0);
G_STATIC_ASSERT (NATTER_MESSAGE_STATUS_SENT == 1);
G_STATIC_ASSERT (NATTER_MESSAGE_STATUS_DELIVERED == 2);
G_STATIC_ASSERT (NATTER_MESSAGE_STATUS_READ == 3);
G_STATIC_ASSERT (NATTER_MESSAGE_STATUS_FAILED == 4);
G_STATIC_ASSERT (NATTER_MESSAGE_STATUS_RECEIVED == 5);
G_STATIC_ASSERT (NATTER_TRANSFER_DIRECTION_IN == 0);
G_STATIC_ASSERT (NATTER_TRANSFER_DIRECTION_OUT == 1);
G_STATIC_ASSERT (NATTER_TRANSFER_STATE_WAITING == 0);
G_STATIC_ASSERT (NATTER_TRANSFER_STATE_DECLINED == 5);

gboolean
_natter_store_migrate (NatterStore  *self,
                       guint         target,
                       GError      **error)
{
  gint64 version = 0;

  if (!_natter_store_get_int (self, &version, "read the schema version", error,
                              "PRAGMA user_version", ""))
    return FALSE;

  if (version > NATTER_STORE_SCHEMA_VERSION)
    {
      g_set_error (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_TOO_NEW,
                   "The history database was made by a newer version of Natter "
                   "(schema %" G_GINT64_FORMAT ", this version knows up to %d)",
                   version, NATTER_STORE_SCHEMA_VERSION);
      return FALSE;
    }

  for (guint v = version + 1; v <= target; v++)
    {
      g_autofree char *set_version = g_strdup_printf ("PRAGMA user_version = %u", v);
      int rc;

      g_debug ("Migrating the history database to schema %u", v);

      if (!_natter_store_begin (self, error))
        return FALSE;

      rc = sqlite3_exec (self->db, migrations[v - 1], NULL, NULL, NULL);
      if (rc == SQLITE_OK)
        rc = sqlite3_exec (self->db, set_version, NULL, NULL, NULL);
      if (rc != SQLITE_OK)
        {
          _natter_store_fail (self, rc, "upgrade the history database", error);
          _natter_store_rollback (self);
          return FALSE;
        }

      if (!_natter_store_commit (self, error))
        return FALSE;
    }

  self->schema_version = MAX (version, target);
  return TRUE;
}

static void
remove_sidecars (const char *path)
{
  g_autofree char *wal = g_strconcat (path, "-wal", NULL);
  g_autofree char *shm = g_strconcat (path, "-shm", NULL);
  g_autofree char *journal = g_strconcat (path, "-journal", NULL);

  g_unlink (wal);
  g_unlink (shm);
  g_unlink (journal);
}

/* A new database is built next to its final name and renamed into place
 * once complete: the history file appears whole or not at all. */
gboolean
_natter_store_create (NatterStore  *self,
                      guint         target_version,
                      GError      **error)
{
  g_autofree char *building = g_strconcat (self->path, ".new", NULL);
  g_autofree char *sql = g_strdup_printf ("PRAGMA application_id = %d",
                                          NATTER_STORE_APPLICATION_ID);
  int rc;

  remove_sidecars (building);
  if (!_natter_store_create_private_file (building, error))
    return FALSE;

  rc = sqlite3_open_v2 (building, &self->db, SQLITE_OPEN_READWRITE, NULL);
  if (rc != SQLITE_OK)
    {
      _natter_store_fail (self, rc, "create the history database", error);
      natter_store_close (self);
      g_unlink (building);
      return FALSE;
    }
  sqlite3_extended_result_codes (self->db, TRUE);

  /* auto_vacuum takes effect only on a new, empty database: it lets removed
   * conversations give their space back. */
  if (!_natter_store_pragma (self, "PRAGMA auto_vacuum = INCREMENTAL", error) ||
      !_natter_store_pragma (self, sql, error) ||
      !_natter_store_set_up (self, target_version, error))
    {
      natter_store_close (self);
      remove_sidecars (building);
      g_unlink (building);
      return FALSE;
    }

  /* Closing the only connection folds the write-ahead log into the file. */
  natter_store_close (self);

  /* A log left over from an earlier file of this name must not be replayed
   * into the new one. */
  remove_sidecars (self->path);
  if (!_natter_store_rename_durably (building, self->path, error))
    {
      g_unlink (building);
      return FALSE;
    }

  return TRUE;
}

static gint64
raw_int (sqlite3    *db,
         const char *sql,
         int        *rc)
{
  sqlite3_stmt *stmt = NULL;
  gint64 value = -1;

  *rc = sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL);
  if (*rc == SQLITE_OK)
    {
      *rc = sqlite3_step (stmt);
      if (*rc == SQLITE_ROW)
        {
          value = sqlite3_column_int64 (stmt, 0);
          *rc = SQLITE_OK;
        }
    }
  sqlite3_finalize (stmt);

  return value;
}

/**
 * _natter_store_inspect:
 * @path: an existing file
 *
 * Looks at a database without writing to it: whether it is Natter's (its
 * application_id, or for files from before there was one, its tables) and
 * whether this version knows its schema.
 *
 * Returns: %TRUE if it can be opened for writing
 */
gboolean
_natter_store_inspect (const char  *path,
                       GError     **error)
{
  sqlite3 *db = NULL;
  gint64 app_id, version, ours;
  int rc;

  rc = sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL);
  if (rc == SQLITE_OK)
    app_id = raw_int (db, "PRAGMA application_id", &rc);
  if (((rc & 0xff) == SQLITE_IOERR || (rc & 0xff) == SQLITE_CANTOPEN) &&
      _natter_store_wal_is_empty (path))
    {
      /* A full disk: no room for SQLite's shared-memory file */
      sqlite3_close (db);
      db = NULL;
      rc = _natter_store_open_immutable (path, &db);
      if (rc == SQLITE_OK)
        app_id = raw_int (db, "PRAGMA application_id", &rc);
    }
  if (rc == SQLITE_OK)
    version = raw_int (db, "PRAGMA user_version", &rc);
  if (rc == SQLITE_OK)
    ours = raw_int (db, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND "
                        "name IN ('contacts', 'conversations', 'messages', 'outbox')", &rc);

  if (rc != SQLITE_OK)
    {
      const char *detail = db != NULL ? sqlite3_errmsg (db) : sqlite3_errstr (rc);

      if ((rc & 0xff) == SQLITE_NOTADB || (rc & 0xff) == SQLITE_CORRUPT)
        g_set_error (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_CORRUPT,
                     _("The history database is damaged or not a database (%s). Restore the last "
                     "backup (natter-cli restore-backup)"), detail);
      else
        g_set_error (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_FAILED,
                     "Could not read the history database: %s", detail);
      sqlite3_close (db);
      return FALSE;
    }

  sqlite3_close (db);

  if (app_id != NATTER_STORE_APPLICATION_ID && !(app_id == 0 && version >= 1 && ours == 4))
    {
      g_set_error (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_FOREIGN,
                   _("%s is not a Natter history database (another program's file?); it was "
                   "left as it is"), path);
      return FALSE;
    }

  if (version > NATTER_STORE_SCHEMA_VERSION)
    {
      g_set_error (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_TOO_NEW,
                   _("The history database was made by a newer version of Natter "
                     "(schema %d, this version knows up to %d); it was left as it is"),
                   (int) MIN (version, G_MAXINT), NATTER_STORE_SCHEMA_VERSION);
      return FALSE;
    }

  return TRUE;
}

/* Marks a history from before Natter marked its files as Natter's. */
void
_natter_store_mark_ours (NatterStore *self)
{
  g_autofree char *sql = NULL;
  int rc;

  if (raw_int (self->db, "PRAGMA application_id", &rc) != 0 || rc != SQLITE_OK)
    return;

  sql = g_strdup_printf ("PRAGMA application_id = %d", NATTER_STORE_APPLICATION_ID);
  if (sqlite3_exec (self->db, sql, NULL, NULL, NULL) != SQLITE_OK)
    g_debug ("Could not mark the history database as Natter's");
}
