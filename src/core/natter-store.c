/* natter-store.c: the client's history store (SQLite)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * One SQLite file in the profile's data directory holds contacts, one
 * conversation per contact, messages, the outbox and (from schema 2) file
 * transfers, calls and a full-text index of message bodies.
 *
 * The API is synchronous and meant for the main thread: every call is one
 * short indexed query or one small transaction, which SQLite answers in well
 * under a millisecond at a messenger's sizes (see tests/store-bench for
 * figures on a million messages).
 *
 * Durability: the database runs in WAL mode with synchronous=FULL, so a call
 * that returned successfully survives a crash of the process or the machine.
 * Writes that touch more than one table (a message plus its outbox entry)
 * happen in one transaction. Callers write an outgoing message before sending
 * it and store an incoming one before acknowledging it.
 *
 * While a NatterMessage or NatterContact handed out by the store is alive, the
 * store hands out that same instance again and keeps its properties in step
 * with what it writes, so views bound to them update by themselves.
 *
 * Timestamps are microseconds since the Unix epoch.
 */
#define G_LOG_DOMAIN "natter-store"

#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "natter-store.h"
#include "natter-store-private.h"

#define BUSY_TIMEOUT_MS      5000
#define DEFAULT_SEARCH_LIMIT 50

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
};

G_STATIC_ASSERT (G_N_ELEMENTS (migrations) == NATTER_STORE_SCHEMA_VERSION);

#define MESSAGE_COLUMNS \
  "m.id, m.uuid, m.direction, m.body, m.sent_at, m.received_at, m.status, m.reply_to"
#define MESSAGE_N_COLUMNS 8

#define CONTACT_COLUMNS \
  "c.user_id, c.display_name, c.alias, c.bio, c.avatar, c.verified, c.blocked, " \
  "c.added_at, c.updated_at"

enum {
  PROP_0,
  PROP_PATH,
  PROP_SCHEMA_VERSION,
  PROP_DAMAGED,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

struct _NatterStore
{
  GObject     parent_instance;

  char       *path;
  sqlite3    *db;
  guint       schema_version;
  /* Damage was seen: nothing more is written */
  gboolean    damaged;
  /* Why the store was opened read-only (a full disk), or NULL */
  GError     *read_only_error;

  /* SQL text (static strings) -> prepared sqlite3_stmt */
  GHashTable *statements;
  /* "m:<row id>" / "c:<user id>" -> LiveEntry, for objects handed out */
  GHashTable *live;
};

typedef struct
{
  NatterStore *store;
  char        *key;
  GObject     *object;
} LiveEntry;

/* A cached statement in use: the cleanup resets it for the next user. */
typedef sqlite3_stmt StoreStmt;

static void
store_stmt_release (StoreStmt *stmt)
{
  sqlite3_reset (stmt);
  sqlite3_clear_bindings (stmt);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (StoreStmt, store_stmt_release)

G_DEFINE_FINAL_TYPE (NatterStore, natter_store, G_TYPE_OBJECT)

G_DEFINE_QUARK (natter-store-error-quark, natter_store_error)

static NatterStoreSearchHit *natter_store_search_hit_copy (NatterStoreSearchHit *hit);

G_DEFINE_BOXED_TYPE (NatterStoreSearchHit, natter_store_search_hit,
                     natter_store_search_hit_copy, natter_store_search_hit_free)

/* Errors */

static gboolean
store_fail (NatterStore  *self,
            int           rc,
            const char   *what,
            GError      **error)
{
  const char *detail = self->db != NULL ? sqlite3_errmsg (self->db) : sqlite3_errstr (rc);

  /* A write that failed for lack of space is a full disk, whatever
   * SQLite called it (creating the shared-memory file says I/O error) */
  if (((rc & 0xff) == SQLITE_IOERR || (rc & 0xff) == SQLITE_CANTOPEN) &&
      (errno == ENOSPC || (self->db != NULL && sqlite3_system_errno (self->db) == ENOSPC)))
    rc = SQLITE_FULL;

  if ((rc & 0xff) == SQLITE_READONLY && self->read_only_error != NULL)
    {
      g_propagate_error (error, g_error_copy (self->read_only_error));
      return FALSE;
    }

  switch (rc & 0xff)
    {
    case SQLITE_FULL:
      g_set_error (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_DISK_FULL,
                   _("The disk is full: could not %s; nothing was changed"), what);
      break;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      g_set_error (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_CORRUPT,
                   _("The history database is damaged (could not %s: %s); nothing more is "
                   "written to it. Restore the last backup (natter-cli restore-backup)"),
                   what, detail);
      _natter_store_mark_damaged (self);
      break;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      g_set_error (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_BUSY,
                   "The history database is in use by another program "
                   "(could not %s)", what);
      break;
    case SQLITE_CONSTRAINT:
      if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
        g_set_error (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_EXISTS,
                     "Could not %s: it is already stored", what);
      else
        g_set_error (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_INVALID,
                     "Could not %s: %s", what, detail);
      break;
    default:
      g_set_error (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_FAILED,
                   "Could not %s: %s", what, detail);
      break;
    }

  return FALSE;
}

static gboolean
store_check_open (NatterStore  *self,
                  GError      **error)
{
  if (self->db != NULL)
    return TRUE;

  g_set_error_literal (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_CLOSED,
                       "The history database is closed");
  return FALSE;
}

/* Statements */

/* Prepares (once) and binds @sql. @types has one letter per parameter:
 * 't' const char * (NULL binds NULL), 'i' gint64, 'b' GBytes * (NULL binds NULL). */
static StoreStmt *
store_query_valist (NatterStore  *self,
                    const char   *sql,
                    GError      **error,
                    const char   *types,
                    va_list       args)
{
  sqlite3_stmt *stmt;
  int rc;

  if (!store_check_open (self, error))
    return NULL;

  stmt = g_hash_table_lookup (self->statements, sql);
  if (stmt == NULL)
    {
      rc = sqlite3_prepare_v3 (self->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL);
      if (rc != SQLITE_OK)
        {
          store_fail (self, rc, "prepare a query", error);
          return NULL;
        }
      g_hash_table_insert (self->statements, (gpointer) sql, stmt);
    }

  if (self->damaged && !sqlite3_stmt_readonly (stmt))
    {
      g_set_error_literal (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_CORRUPT,
                           _("The history database is damaged; nothing more is written to it. "
                           "Restore the last backup (natter-cli restore-backup)"));
      return NULL;
    }

  for (int i = 0; types[i] != '\0'; i++)
    {
      const char *text;
      GBytes *bytes;

      switch (types[i])
        {
        case 't':
          text = va_arg (args, const char *);
          rc = sqlite3_bind_text (stmt, i + 1, text, -1, SQLITE_TRANSIENT);
          break;
        case 'i':
          rc = sqlite3_bind_int64 (stmt, i + 1, va_arg (args, gint64));
          break;
        case 'b':
          bytes = va_arg (args, GBytes *);
          if (bytes == NULL)
            rc = sqlite3_bind_null (stmt, i + 1);
          else
            rc = sqlite3_bind_blob64 (stmt, i + 1,
                                      g_bytes_get_data (bytes, NULL),
                                      g_bytes_get_size (bytes), SQLITE_TRANSIENT);
          break;
        default:
          g_assert_not_reached ();
        }

      if (rc != SQLITE_OK)
        {
          store_stmt_release (stmt);
          store_fail (self, rc, "prepare a query", error);
          return NULL;
        }
    }

  return stmt;
}

static StoreStmt *
store_query (NatterStore  *self,
             GError      **error,
             const char   *sql,
             const char   *types,
             ...)
{
  StoreStmt *stmt;
  va_list args;

  va_start (args, types);
  stmt = store_query_valist (self, sql, error, types, args);
  va_end (args);

  return stmt;
}

/* Returns SQLITE_ROW or SQLITE_DONE, or 0 with @error set. */
static int
store_step (NatterStore  *self,
            StoreStmt    *stmt,
            const char   *what,
            GError      **error)
{
  int rc = sqlite3_step (stmt);

  if (rc == SQLITE_ROW || rc == SQLITE_DONE)
    return rc;

  store_fail (self, rc, what, error);
  return 0;
}

/* Runs a statement that returns no rows. */
static gboolean
store_exec (NatterStore  *self,
            const char   *what,
            GError      **error,
            const char   *sql,
            const char   *types,
            ...)
{
  g_autoptr(StoreStmt) stmt = NULL;
  va_list args;

  va_start (args, types);
  stmt = store_query_valist (self, sql, error, types, args);
  va_end (args);

  return stmt != NULL && store_step (self, stmt, what, error) != 0;
}

/* Runs a query whose first row's first column is an integer. Returns FALSE
 * with NOT_FOUND when there is no row. */
static gboolean
store_get_int (NatterStore  *self,
               gint64       *out_value,
               const char   *what,
               GError      **error,
               const char   *sql,
               const char   *types,
               ...)
{
  g_autoptr(StoreStmt) stmt = NULL;
  va_list args;
  int rc;

  va_start (args, types);
  stmt = store_query_valist (self, sql, error, types, args);
  va_end (args);

  if (stmt == NULL || (rc = store_step (self, stmt, what, error)) == 0)
    return FALSE;

  if (rc == SQLITE_DONE)
    {
      g_set_error (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_NOT_FOUND,
                   "Could not %s: not found", what);
      return FALSE;
    }

  *out_value = sqlite3_column_int64 (stmt, 0);
  return TRUE;
}

/* Transactions */

static gboolean
store_begin (NatterStore  *self,
             GError      **error)
{
  return store_exec (self, "start a transaction", error, "BEGIN IMMEDIATE", "");
}

static void
store_rollback (NatterStore *self)
{
  /* SQLite rolls some failures (a full disk) back by itself. */
  if (self->db != NULL && !sqlite3_get_autocommit (self->db))
    sqlite3_exec (self->db, "ROLLBACK", NULL, NULL, NULL);
}

static gboolean
store_commit (NatterStore  *self,
              GError      **error)
{
  if (store_exec (self, "save the change", error, "COMMIT", ""))
    return TRUE;

  store_rollback (self);
  return FALSE;
}

/* Live objects */

static void
live_entry_free (gpointer data)
{
  LiveEntry *entry = data;

  g_free (entry->key);
  g_free (entry);
}

static void
on_live_object_finalized (gpointer  data,
                          GObject  *where_the_object_was)
{
  LiveEntry *entry = data;

  g_hash_table_remove (entry->store->live, entry->key);
}

static gpointer
store_live_lookup (NatterStore *self,
                   const char  *key)
{
  LiveEntry *entry = g_hash_table_lookup (self->live, key);

  return entry != NULL ? g_object_ref (entry->object) : NULL;
}

static void
store_live_remove (NatterStore *self,
                   const char  *key)
{
  LiveEntry *entry = g_hash_table_lookup (self->live, key);

  if (entry == NULL)
    return;

  g_object_weak_unref (entry->object, on_live_object_finalized, entry);
  g_hash_table_remove (self->live, key);
}

static void
store_live_add (NatterStore *self,
                char        *key,
                gpointer     object)
{
  LiveEntry *entry = g_new0 (LiveEntry, 1);

  store_live_remove (self, key);

  entry->store = self;
  entry->key = key;
  entry->object = object;
  g_object_weak_ref (object, on_live_object_finalized, entry);
  g_hash_table_replace (self->live, entry->key, entry);
}

static void
store_live_forget_all (NatterStore *self)
{
  GHashTableIter iter;
  LiveEntry *entry;

  g_hash_table_iter_init (&iter, self->live);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &entry))
    {
      g_object_weak_unref (entry->object, on_live_object_finalized, entry);
      g_hash_table_iter_remove (&iter);
    }
}

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

  return store_live_lookup (self, key);
}

static const char *
column_text (sqlite3_stmt *stmt,
             int           column)
{
  return (const char *) sqlite3_column_text (stmt, column);
}

/* Reads MESSAGE_COLUMNS starting at @column. A live instance is reused as it
 * is: the store updates live messages whenever it writes their status, and
 * touching them here would run notify handlers in the middle of a query. */
static NatterMessage *
message_from_row (NatterStore  *self,
                  sqlite3_stmt *stmt,
                  int           column,
                  const char   *user_id)
{
  gint64 row_id = sqlite3_column_int64 (stmt, column);
  const char *id = column_text (stmt, column + 1);
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
                                column_text (stmt, column + 3),
                                sqlite3_column_int64 (stmt, column + 4),
                                sqlite3_column_int64 (stmt, column + 5),
                                sqlite3_column_int (stmt, column + 6));
  natter_message_set_reply_to (message, column_text (stmt, column + 7));
  store_live_add (self, message_key (row_id), message);
  return message;
}

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

  row->user_id = g_strdup (column_text (stmt, 0));
  row->display_name = g_strdup (column_text (stmt, 1));
  row->alias = g_strdup (column_text (stmt, 2));
  row->bio = g_strdup (column_text (stmt, 3));
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

  contact = store_live_lookup (self, key);
  if (contact == NULL)
    {
      contact = natter_contact_new (row->user_id);
      store_live_add (self, g_steal_pointer (&key), contact);
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

/* Helpers */

/* User IDs in messages that may end up in logs: the first 8 characters. */
static char *
user_id_for_log (const char *user_id)
{
  g_autofree char *start = NULL;

  if (g_utf8_strlen (user_id, -1) <= 8)
    return g_strdup (user_id);

  start = g_utf8_substring (user_id, 0, 8);
  return g_strconcat (start, "…", NULL);
}

static void
set_not_a_contact (GError     **error,
                   const char  *user_id)
{
  g_autofree char *shown = user_id_for_log (user_id);

  g_set_error (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_NOT_FOUND,
               "%s is not a contact", shown);
}

static gboolean
check_text (const char  *text,
            const char  *what,
            GError     **error)
{
  if (text != NULL && *text != '\0' && g_utf8_validate (text, -1, NULL))
    return TRUE;

  g_set_error (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_INVALID,
               "The %s is empty or not valid UTF-8", what);
  return FALSE;
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

static gboolean
store_find_conversation (NatterStore  *self,
                         const char   *user_id,
                         gint64       *out_contact_id,
                         gint64       *out_conversation_id,
                         GError      **error)
{
  g_autoptr(StoreStmt) stmt = NULL;
  int rc;

  if (!check_text (user_id, "user ID", error))
    return FALSE;

  stmt = store_query (self, error,
                      "SELECT c.id, cv.id FROM contacts c "
                      "JOIN conversations cv ON cv.contact_id = c.id WHERE c.user_id = ?",
                      "t", user_id);
  if (stmt == NULL || (rc = store_step (self, stmt, "find the contact", error)) == 0)
    return FALSE;

  if (rc == SQLITE_DONE)
    {
      set_not_a_contact (error, user_id);
      return FALSE;
    }

  if (out_contact_id != NULL)
    *out_contact_id = sqlite3_column_int64 (stmt, 0);
  if (out_conversation_id != NULL)
    *out_conversation_id = sqlite3_column_int64 (stmt, 1);
  return TRUE;
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

  stmt = store_query (self, error,
                      "SELECT " MESSAGE_COLUMNS " FROM messages m "
                      "WHERE m.conversation_id = ? AND m.uuid = ?",
                      "it", conversation_id, message_id);
  if (stmt == NULL)
    return NULL;

  switch (store_step (self, stmt, "load the message", error))
    {
    case SQLITE_ROW:
      return message_from_row (self, stmt, 0, user_id);
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

  while ((rc = store_step (self, stmt, "load messages", error)) == SQLITE_ROW)
    g_ptr_array_add (messages, message_from_row (self, stmt, 0, user_id));

  return rc == SQLITE_DONE ? g_steal_pointer (&messages) : NULL;
}

/* Opening */

static gboolean
store_pragma (NatterStore  *self,
              const char   *sql,
              GError      **error)
{
  int rc = sqlite3_exec (self->db, sql, NULL, NULL, NULL);

  if (rc != SQLITE_OK)
    return store_fail (self, rc, "set up the history database", error);
  return TRUE;
}

static gboolean
store_migrate (NatterStore  *self,
               guint         target,
               GError      **error)
{
  gint64 version = 0;

  if (!store_get_int (self, &version, "read the schema version", error,
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

      if (!store_begin (self, error))
        return FALSE;

      rc = sqlite3_exec (self->db, migrations[v - 1], NULL, NULL, NULL);
      if (rc == SQLITE_OK)
        rc = sqlite3_exec (self->db, set_version, NULL, NULL, NULL);
      if (rc != SQLITE_OK)
        {
          store_fail (self, rc, "upgrade the history database", error);
          store_rollback (self);
          return FALSE;
        }

      if (!store_commit (self, error))
        return FALSE;
    }

  self->schema_version = MAX (version, target);
  return TRUE;
}

gboolean
_natter_store_create_private_file (const char  *path,
                                   GError     **error)
{
  g_autofree char *dir = g_path_get_dirname (path);
  int fd;

  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_FAILED,
                   "Could not create the folder for the history database: %s",
                   g_strerror (saved_errno));
      return FALSE;
    }

  /* SQLite gives its -wal and -shm files the mode of the main file. */
  fd = g_open (path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      int saved_errno = errno;

      g_set_error (error, NATTER_STORE_ERROR,
                   saved_errno == ENOSPC ? NATTER_STORE_ERROR_DISK_FULL : NATTER_STORE_ERROR_FAILED,
                   "Could not create the history database: %s", g_strerror (saved_errno));
      return FALSE;
    }

  close (fd);
  return TRUE;
}

/* Renames @from to @to and makes the rename durable. */
gboolean
_natter_store_rename_durably (const char  *from,
                              const char  *to,
                              GError     **error)
{
  g_autofree char *dir = g_path_get_dirname (to);
  int fd;

  fd = g_open (from, O_RDONLY | O_CLOEXEC, 0);
  if (fd >= 0)
    {
      fsync (fd);
      close (fd);
    }

  if (g_rename (from, to) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_FAILED,
                   "Could not move the history database into place: %s",
                   g_strerror (saved_errno));
      return FALSE;
    }

  fd = g_open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (fd >= 0)
    {
      fsync (fd);
      close (fd);
    }

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

static gboolean
store_set_up (NatterStore  *self,
              guint         target_version,
              GError      **error)
{
  return store_pragma (self, "PRAGMA journal_mode = WAL", error) &&
         store_pragma (self, "PRAGMA synchronous = FULL", error) &&
         store_pragma (self, "PRAGMA foreign_keys = ON", error) &&
         store_pragma (self, "PRAGMA secure_delete = ON", error) &&
         store_migrate (self, target_version, error);
}

/* A new database is built next to its final name and renamed into place
 * once complete: the history file appears whole or not at all. */
static gboolean
store_create (NatterStore  *self,
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
      store_fail (self, rc, "create the history database", error);
      natter_store_close (self);
      g_unlink (building);
      return FALSE;
    }
  sqlite3_extended_result_codes (self->db, TRUE);

  /* auto_vacuum takes effect only on a new, empty database: it lets removed
   * conversations give their space back. */
  if (!store_pragma (self, "PRAGMA auto_vacuum = INCREMENTAL", error) ||
      !store_pragma (self, sql, error) ||
      !store_set_up (self, target_version, error))
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

/* Whether everything of @path is in the file itself (no write-ahead log
 * with content beside it) */
static gboolean
wal_is_empty (const char *path)
{
  g_autofree char *wal = g_strconcat (path, "-wal", NULL);
  GStatBuf st;

  return g_stat (wal, &st) != 0 || st.st_size == 0;
}

/* Opens @path for reading without locks, shared memory or log: only right
 * when nothing else writes to it and its log is empty. */
static int
open_immutable (const char  *path,
                sqlite3    **db)
{
  g_autofree char *uri = g_filename_to_uri (path, NULL, NULL);
  g_autofree char *immutable = g_strconcat (uri != NULL ? uri : "", "?immutable=1", NULL);

  return sqlite3_open_v2 (immutable, db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL);
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
  if (((rc & 0xff) == SQLITE_IOERR || (rc & 0xff) == SQLITE_CANTOPEN) && wal_is_empty (path))
    {
      /* A full disk: no room for SQLite's shared-memory file */
      sqlite3_close (db);
      db = NULL;
      rc = open_immutable (path, &db);
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

static gboolean
is_disk_full (const GError *error)
{
  return g_error_matches (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_DISK_FULL);
}

/* On a full disk SQLite cannot even make its log and shared-memory files.
 * The history can still be read when its log is empty (the last process
 * closed it cleanly): straight from the file. */
static gboolean
store_open_read_only (NatterStore  *self,
                      GError      **error)
{
  int rc;

  if (!wal_is_empty (self->path))
    {
      g_set_error_literal (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_DISK_FULL,
                           _("The disk is full: the history cannot even be read until there is "
                           "some free space"));
      return FALSE;
    }

  rc = open_immutable (self->path, &self->db);
  if (rc == SQLITE_OK)
    {
      sqlite3_extended_result_codes (self->db, TRUE);
      rc = sqlite3_exec (self->db, "SELECT count(*) FROM sqlite_schema", NULL, NULL, NULL);
    }

  if (rc != SQLITE_OK)
    {
      store_fail (self, rc, "open the history database", error);
      natter_store_close (self);
      return FALSE;
    }

  self->schema_version = NATTER_STORE_SCHEMA_VERSION;
  g_set_error_literal (&self->read_only_error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_DISK_FULL,
                       _("The disk is full: the history can be read, but nothing new can be "
                       "stored until there is free space"));
  return TRUE;
}

static gboolean
store_open (NatterStore          *self,
            guint                 target_version,
            NatterStoreOpenFlags  flags,
            GError              **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autofree char *sql = NULL;
  GStatBuf st;
  int rc;

  if (g_stat (self->path, &st) != 0 || st.st_size == 0)
    {
      /* A store that was made once is never made anew behind the user's back */
      if (!(flags & NATTER_STORE_OPEN_CREATE))
        {
          g_set_error (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_CORRUPT,
                       _("The history database %s is missing or empty, but this profile had "
                       "one: restore the last backup (natter-cli restore-backup), or move "
                       "the file away to start with an empty history"), self->path);
          return FALSE;
        }

      if (!store_create (self, target_version, error))
        return FALSE;
    }
  else if (!_natter_store_inspect (self->path, error))
    {
      return FALSE;
    }

  rc = sqlite3_open_v2 (self->path, &self->db, SQLITE_OPEN_READWRITE, NULL);
  if (rc != SQLITE_OK)
    {
      store_fail (self, rc, "open the history database", error);
      natter_store_close (self);
      return FALSE;
    }

  sqlite3_extended_result_codes (self->db, TRUE);
  sqlite3_busy_timeout (self->db, BUSY_TIMEOUT_MS);

  if (!store_set_up (self, target_version, &local_error))
    {
      natter_store_close (self);
      if (is_disk_full (local_error) && (flags & NATTER_STORE_OPEN_READ_ONLY_WHEN_FULL))
        return store_open_read_only (self, error);
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }

  /* A history from before Natter marked its files */
  if (raw_int (self->db, "PRAGMA application_id", &rc) == 0 && rc == SQLITE_OK)
    {
      sql = g_strdup_printf ("PRAGMA application_id = %d", NATTER_STORE_APPLICATION_ID);
      if (sqlite3_exec (self->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        g_debug ("Could not mark the history database as Natter's");
    }

  return TRUE;
}

/* GObject */

static void
natter_store_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  NatterStore *self = NATTER_STORE (object);

  switch (prop_id)
    {
    case PROP_PATH:
      g_value_set_string (value, self->path);
      break;
    case PROP_SCHEMA_VERSION:
      g_value_set_uint (value, self->schema_version);
      break;
    case PROP_DAMAGED:
      g_value_set_boolean (value, self->damaged);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
natter_store_set_property (GObject      *object,
                           guint         prop_id,
                           const GValue *value,
                           GParamSpec   *pspec)
{
  NatterStore *self = NATTER_STORE (object);

  switch (prop_id)
    {
    case PROP_PATH:
      self->path = g_value_dup_string (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
natter_store_dispose (GObject *object)
{
  NatterStore *self = NATTER_STORE (object);

  natter_store_close (self);

  G_OBJECT_CLASS (natter_store_parent_class)->dispose (object);
}

static void
natter_store_finalize (GObject *object)
{
  NatterStore *self = NATTER_STORE (object);

  g_clear_pointer (&self->statements, g_hash_table_unref);
  g_clear_pointer (&self->live, g_hash_table_unref);
  g_clear_pointer (&self->path, g_free);
  g_clear_error (&self->read_only_error);

  G_OBJECT_CLASS (natter_store_parent_class)->finalize (object);
}

static void
natter_store_class_init (NatterStoreClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = natter_store_get_property;
  object_class->set_property = natter_store_set_property;
  object_class->dispose = natter_store_dispose;
  object_class->finalize = natter_store_finalize;

  properties[PROP_PATH] =
    g_param_spec_string ("path", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SCHEMA_VERSION] =
    g_param_spec_uint ("schema-version", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_DAMAGED] =
    g_param_spec_boolean ("damaged", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
natter_store_init (NatterStore *self)
{
  self->statements = g_hash_table_new (NULL, NULL);
  self->live = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, live_entry_free);
}

static NatterStoreSearchHit *
natter_store_search_hit_copy (NatterStoreSearchHit *hit)
{
  NatterStoreSearchHit *copy = g_new0 (NatterStoreSearchHit, 1);

  copy->message = g_object_ref (hit->message);
  copy->snippet = g_strdup (hit->snippet);
  copy->snippet_markup = g_strdup (hit->snippet_markup);
  return copy;
}

void
natter_store_search_hit_free (NatterStoreSearchHit *hit)
{
  if (hit == NULL)
    return;

  g_clear_object (&hit->message);
  g_free (hit->snippet);
  g_free (hit->snippet_markup);
  g_free (hit);
}

/* Public API: opening and closing */

/**
 * natter_store_new:
 * @path: the database file, normally NATTER_STORE_FILE_NAME in the profile's
 *   data directory; it and its folder are created (private to the user)
 *
 * Opens the store, creating or upgrading its schema to the current version.
 *
 * Returns: (transfer full): the store, or %NULL with @error set
 */
NatterStore *
natter_store_new (const char  *path,
                  GError     **error)
{
  return natter_store_new_at_version (path, NATTER_STORE_SCHEMA_VERSION, error);
}

/**
 * natter_store_new_at_version:
 * @version: the schema version to upgrade to, at most NATTER_STORE_SCHEMA_VERSION
 *
 * Like natter_store_new() but stops upgrading at @version, as an older
 * release of Natter would have; for tests of migrations. Only the parts of
 * the API that the older schema supports work on such a store.
 */
NatterStore *
natter_store_new_at_version (const char  *path,
                             guint        version,
                             GError     **error)
{
  g_autoptr(NatterStore) self = NULL;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (version >= 1 && version <= NATTER_STORE_SCHEMA_VERSION, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  self = g_object_new (NATTER_TYPE_STORE, "path", path, NULL);
  if (!store_open (self, version, NATTER_STORE_OPEN_CREATE, error))
    return NULL;

  return g_steal_pointer (&self);
}

/**
 * natter_store_open:
 * @path: the database file
 * @flags: whether a missing file may be made (only for a profile that never
 *   had a history) and whether a full disk opens the history read-only
 *
 * Opens the store, upgrading its schema. A file that is not Natter's, or of
 * a newer schema, is refused before anything is written to it.
 *
 * Returns: (transfer full): the store, or %NULL with @error set
 */
NatterStore *
natter_store_open (const char            *path,
                   NatterStoreOpenFlags   flags,
                   GError               **error)
{
  g_autoptr(NatterStore) self = NULL;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  self = g_object_new (NATTER_TYPE_STORE, "path", path, NULL);
  if (!store_open (self, NATTER_STORE_SCHEMA_VERSION, flags, error))
    return NULL;

  return g_steal_pointer (&self);
}

/**
 * natter_store_get_damaged:
 *
 * Returns: whether damage was found (by natter_store_check() or by a query
 *   that met it); a damaged store refuses every write
 */
gboolean
natter_store_get_damaged (NatterStore *self)
{
  g_return_val_if_fail (NATTER_IS_STORE (self), FALSE);

  return self->damaged;
}

/**
 * natter_store_get_read_only:
 *
 * Returns: whether the store could only be opened for reading (a full disk)
 */
gboolean
natter_store_get_read_only (NatterStore *self)
{
  g_return_val_if_fail (NATTER_IS_STORE (self), FALSE);

  return self->read_only_error != NULL;
}

sqlite3 *
_natter_store_get_db (NatterStore *self)
{
  return self->db;
}

void
_natter_store_mark_damaged (NatterStore *self)
{
  if (self->damaged)
    return;

  g_message ("The history database %s is damaged; no more writes", self->path);
  self->damaged = TRUE;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DAMAGED]);
}

/**
 * natter_store_close:
 *
 * Closes the database. Safe to call more than once; every call on a closed
 * store fails with NATTER_STORE_ERROR_CLOSED. Objects handed out stay valid.
 */
void
natter_store_close (NatterStore *self)
{
  GHashTableIter iter;
  sqlite3_stmt *stmt;

  g_return_if_fail (NATTER_IS_STORE (self));

  store_live_forget_all (self);

  g_hash_table_iter_init (&iter, self->statements);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &stmt))
    sqlite3_finalize (stmt);
  g_hash_table_remove_all (self->statements);

  if (self->db != NULL)
    {
      int rc = sqlite3_close (self->db);

      if (rc != SQLITE_OK)
        g_warning ("Could not close the history database: %s", sqlite3_errstr (rc));
      self->db = NULL;
    }
}

const char *
natter_store_get_path (NatterStore *self)
{
  g_return_val_if_fail (NATTER_IS_STORE (self), NULL);

  return self->path;
}

guint
natter_store_get_schema_version (NatterStore *self)
{
  g_return_val_if_fail (NATTER_IS_STORE (self), 0);

  return self->schema_version;
}

/**
 * natter_store_set_max_size:
 * @max_bytes: the largest the database file may grow, or 0 for no limit
 *
 * Limits the size of the database; writes that would go past it fail with
 * NATTER_STORE_ERROR_DISK_FULL exactly as on a full disk. The limit holds
 * until the store is closed and is never below the current size.
 *
 * Returns: the limit now in force, in bytes, or -1 if the store is closed
 */
gint64
natter_store_set_max_size (NatterStore *self,
                           gint64       max_bytes)
{
  g_autofree char *sql = NULL;
  gint64 page_size = 0;
  gint64 pages = 0;

  g_return_val_if_fail (NATTER_IS_STORE (self), -1);
  g_return_val_if_fail (max_bytes >= 0, -1);

  if (!store_get_int (self, &page_size, "read the page size", NULL, "PRAGMA page_size", ""))
    return -1;

  /* SQLite's own ceiling is 2^32 - 2 pages. */
  sql = g_strdup_printf ("PRAGMA max_page_count = %" G_GINT64_FORMAT,
                         max_bytes > 0 ? MAX (max_bytes / page_size, 1) : G_GINT64_CONSTANT (4294967294));
  if (sqlite3_exec (self->db, sql, NULL, NULL, NULL) != SQLITE_OK ||
      !store_get_int (self, &pages, "read the size limit", NULL, "PRAGMA max_page_count", ""))
    return -1;

  return pages * page_size;
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

  if (!check_text (user_id, "user ID", error) || !store_begin (self, error))
    return NULL;

  if (!store_exec (self, "add the contact", &local_error,
                   "INSERT INTO contacts (user_id, display_name, added_at, updated_at) "
                   "VALUES (?, ?, ?, ?)",
                   "ttii", user_id, display_name, now, now) ||
      !store_exec (self, "add the contact", &local_error,
                   "INSERT INTO conversations (contact_id) VALUES (last_insert_rowid ())", "") ||
      !store_commit (self, &local_error))
    {
      store_rollback (self);
      if (g_error_matches (local_error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_EXISTS))
        {
          g_autofree char *shown = user_id_for_log (user_id);

          g_set_error (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_EXISTS,
                       "%s is already a contact", shown);
        }
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
  g_autoptr(StoreStmt) stmt = store_query (self, error, sql, "t", param);
  int rc;

  if (stmt == NULL)
    return NULL;

  while ((rc = store_step (self, stmt, "load contacts", error)) == SQLITE_ROW)
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
      set_not_a_contact (error, user_id);
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

  if (!check_text (user_id, "user ID", error))
    return FALSE;

  va_start (args, types);
  stmt = store_query_valist (self, sql, error, types, args);
  va_end (args);

  if (stmt == NULL || store_step (self, stmt, "update the contact", error) == 0)
    return FALSE;

  if (sqlite3_changes (self->db) == 0)
    {
      set_not_a_contact (error, user_id);
      return FALSE;
    }

  g_clear_pointer (&stmt, store_stmt_release);
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
  if (alias != NULL && !check_text (alias, "name", error))
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

  if (!check_text (user_id, "user ID", error) ||
      !store_exec (self, "remove the contact", error,
                   "DELETE FROM contacts WHERE user_id = ?", "t", user_id))
    return FALSE;

  if (sqlite3_changes (self->db) == 0)
    {
      set_not_a_contact (error, user_id);
      return FALSE;
    }

  /* Give the space back; failing to is no reason to report an error. */
  sqlite3_exec (self->db, "PRAGMA incremental_vacuum", NULL, NULL, NULL);
  return TRUE;
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

  if (!check_text (body, "message", error) ||
      (reply_to != NULL && !check_reply_to (reply_to, error)) ||
      !store_find_conversation (self, user_id, &contact_id, &conversation_id, error) ||
      !store_begin (self, error))
    return NULL;

  if (!store_exec (self, "save the message", error,
                   "INSERT INTO messages "
                   "(conversation_id, uuid, direction, body, sent_at, status, reply_to) "
                   "VALUES (?, ?, 1, ?, ?, 0, ?)",
                   "ittit", conversation_id, uuid, body, now, reply_to))
    goto failed;

  row_id = sqlite3_last_insert_rowid (self->db);

  if (!store_exec (self, "save the message", error,
                   "INSERT INTO outbox (message_id, contact_id) VALUES (?, ?)",
                   "ii", row_id, contact_id) ||
      !store_exec (self, "save the message", error,
                   "UPDATE conversations SET last_message_id = ?, last_activity = ? WHERE id = ?",
                   "iii", row_id, now, conversation_id) ||
      !store_commit (self, error))
    goto failed;

  message = natter_message_new (row_id, uuid, user_id, NATTER_MESSAGE_DIRECTION_OUT, body,
                                now, 0, NATTER_MESSAGE_STATUS_QUEUED);
  natter_message_set_reply_to (message, reply_to);
  store_live_add (self, message_key (row_id), message);
  return message;

failed:
  store_rollback (self);
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

  if (!check_text (message_id, "message ID", error) ||
      !check_text (body, "message", error) ||
      (reply_to != NULL && !check_reply_to (reply_to, error)) ||
      !store_find_conversation (self, user_id, NULL, &conversation_id, error) ||
      !store_begin (self, error))
    return NULL;

  if (!store_exec (self, "save the received message", error,
                   "INSERT INTO messages "
                   "(conversation_id, uuid, direction, body, sent_at, received_at, status, reply_to) "
                   "VALUES (?, ?, 0, ?, ?, ?, 5, ?) ON CONFLICT (conversation_id, uuid) DO NOTHING",
                   "ittiit", conversation_id, message_id, body, MAX (timestamp, 0), now, reply_to))
    goto failed;

  inserted = sqlite3_changes (self->db) > 0;
  if (inserted &&
      !store_exec (self, "save the received message", error,
                   "UPDATE conversations SET unread_count = unread_count + 1, "
                   "last_message_id = last_insert_rowid (), last_activity = ? WHERE id = ?",
                   "ii", now, conversation_id))
    goto failed;

  if (!store_commit (self, error))
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
  store_rollback (self);
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
  if (lazy && !store_exec (self, "update the message", error, "PRAGMA synchronous = NORMAL", ""))
    return FALSE;

  ok = store_begin (self, error);
  if (ok &&
      (!store_exec (self, "update the message", error,
                    "UPDATE messages SET status = ? WHERE id = ?",
                    "ii", (gint64) status, row_id) ||
       (side_effect != NULL &&
        !store_exec (self, "update the message", error, side_effect, "i", row_id)) ||
       !store_commit (self, error)))
    {
      store_rollback (self);
      ok = FALSE;
    }

  if (lazy)
    store_exec (self, "update the message", NULL, "PRAGMA synchronous = FULL", "");

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

  if (!check_text (message_id, "message ID", error) ||
      !store_find_conversation (self, user_id, NULL, &conversation_id, error))
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

  if (!store_find_conversation (self, user_id, NULL, &conversation_id, error))
    return NULL;

  if (before != NULL)
    before_id = natter_message_get_row_id (before);

  stmt = store_query (self, error,
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
      if (!store_get_int (self, &count, "count messages", error,
                          "SELECT count(*) FROM messages", ""))
        return -1;
      return count;
    }

  if (!store_find_conversation (self, user_id, NULL, &conversation_id, error) ||
      !store_get_int (self, &count, "count messages", error,
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

  if (!store_find_conversation (self, user_id, NULL, &conversation_id, error))
    return NULL;

  stmt = store_query (self, error,
                      "SELECT " MESSAGE_COLUMNS " FROM conversations cv "
                      "JOIN messages m ON m.id = cv.last_message_id WHERE cv.id = ?",
                      "i", conversation_id);
  if (stmt == NULL || store_step (self, stmt, "load the last message", error) != SQLITE_ROW)
    return NULL;

  return message_from_row (self, stmt, 0, user_id);
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

  if (!store_find_conversation (self, user_id, NULL, &conversation_id, error))
    return FALSE;

  message = natter_store_get_message (self, user_id, message_id, error);
  if (message == NULL)
    return FALSE;

  row_id = natter_message_get_row_id (message);
  unread = natter_message_get_direction (message) == NATTER_MESSAGE_DIRECTION_IN &&
           natter_message_get_status (message) == NATTER_MESSAGE_STATUS_RECEIVED;

  if (!store_begin (self, error))
    return FALSE;

  if ((unread &&
       !store_exec (self, "delete the message", error,
                    "UPDATE conversations SET unread_count = MAX (unread_count - 1, 0) "
                    "WHERE id = ?", "i", conversation_id)) ||
      !store_exec (self, "delete the message", error,
                   "DELETE FROM messages WHERE id = ?", "i", row_id) ||
      !store_exec (self, "delete the message", error,
                   "UPDATE conversations SET last_message_id = "
                   "(SELECT MAX (id) FROM messages WHERE conversation_id = ?) "
                   "WHERE id = ? AND last_message_id IS NULL",
                   "ii", conversation_id, conversation_id) ||
      !store_commit (self, error))
    {
      store_rollback (self);
      return FALSE;
    }

  key = message_key (row_id);
  store_live_remove (self, key);
  return TRUE;
}

/**
 * natter_store_clear_conversation:
 *
 * Deletes every message of the conversation from this history (the contact
 * stays): the search index and the outbox lose them too, and nothing is
 * unread any more.
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

  if (!store_find_conversation (self, user_id, NULL, &conversation_id, error) ||
      !store_begin (self, error))
    return FALSE;

  if (!store_exec (self, "delete the conversation", error,
                   "DELETE FROM messages WHERE conversation_id = ?", "i", conversation_id) ||
      !store_exec (self, "delete the conversation", error,
                   "UPDATE conversations SET unread_count = 0, last_message_id = NULL "
                   "WHERE id = ?", "i", conversation_id) ||
      !store_commit (self, error))
    {
      store_rollback (self);
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

  if (!store_find_conversation (self, user_id, &contact_id, NULL, error))
    return NULL;

  stmt = store_query (self, error,
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

  return check_text (message_id, "message ID", error) &&
         store_find_conversation (self, user_id, NULL, &conversation_id, error) &&
         store_exec (self, "update the outbox", error,
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

  if (!store_get_int (self, &count, "count unread messages", NULL,
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

  if (!store_get_int (self, &count, "count unread messages", NULL,
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

  if (!store_find_conversation (self, user_id, NULL, &conversation_id, error) ||
      !store_begin (self, error))
    return FALSE;

  if (!store_exec (self, "mark messages read", error,
                   "UPDATE messages SET status = 3 WHERE conversation_id = ? AND status = 5",
                   "i", conversation_id) ||
      !store_exec (self, "mark messages read", error,
                   "UPDATE conversations SET unread_count = 0 WHERE id = ?",
                   "i", conversation_id) ||
      !store_commit (self, error))
    {
      store_rollback (self);
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

/* Public API: search */

/* Turns what the user typed into an FTS5 query: every word must occur, as a
 * word or the start of one; FTS5 operators in the text are taken literally. */
static char *
search_text_to_query (const char *text)
{
  g_auto(GStrv) words = g_strsplit_set (text, " \t\r\n", -1);
  g_autoptr(GString) query = g_string_new (NULL);

  for (guint i = 0; words[i] != NULL; i++)
    {
      g_autoptr(GString) word = NULL;

      if (words[i][0] == '\0')
        continue;

      word = g_string_new (words[i]);
      g_string_replace (word, "\"", "\"\"", 0);
      if (query->len > 0)
        g_string_append_c (query, ' ');
      g_string_append_printf (query, "\"%s\"*", word->str);
    }

  return query->len > 0 ? g_string_free (g_steal_pointer (&query), FALSE) : NULL;
}

#define SNIPPET_OPEN  "\xff"
#define SNIPPET_CLOSE "\xfe"

/* FTS5's snippet() marks matches with the bytes 0xff ... 0xfe, which never
 * occur in UTF-8 and so never in a body; make plain and markup forms. */
static void
search_hit_set_snippet (NatterStoreSearchHit *hit,
                        const char           *marked)
{
  g_autoptr(GString) plain = g_string_new (NULL);
  g_autoptr(GString) markup = g_string_new (NULL);
  const char *p = marked != NULL ? marked : "";

  while (*p != '\0')
    {
      const char *end = strpbrk (p, SNIPPET_OPEN SNIPPET_CLOSE);
      gsize len = end != NULL ? (gsize) (end - p) : strlen (p);
      g_autofree char *escaped = g_markup_escape_text (p, len);

      g_string_append_len (plain, p, len);
      g_string_append (markup, escaped);
      if (end == NULL)
        break;

      g_string_append (markup, *end == SNIPPET_OPEN[0] ? "<b>" : "</b>");
      p = end + 1;
    }

  hit->snippet = g_string_free (g_steal_pointer (&plain), FALSE);
  hit->snippet_markup = g_string_free (g_steal_pointer (&markup), FALSE);
}

/**
 * natter_store_search:
 * @text: what the user typed; each word must occur (prefixes match)
 * @user_id: (nullable): search only this conversation, or %NULL for all
 * @limit: how many results at most, or 0 for a default
 *
 * Full-text search over message bodies, newest first.
 *
 * Returns: (transfer full) (element-type NatterStoreSearchHit): the results,
 *   or %NULL with @error set
 */
GPtrArray *
natter_store_search (NatterStore  *self,
                     const char   *text,
                     const char   *user_id,
                     guint         limit,
                     GError      **error)
{
  g_autoptr(GPtrArray) hits = g_ptr_array_new_with_free_func ((GDestroyNotify) natter_store_search_hit_free);
  g_autoptr(StoreStmt) stmt = NULL;
  g_autofree char *query = NULL;
  gint64 conversation_id = -1;
  int rc;

  g_return_val_if_fail (NATTER_IS_STORE (self), NULL);
  g_return_val_if_fail (text != NULL, NULL);

  if (self->schema_version < 2)
    {
      g_set_error_literal (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_FAILED,
                           "Search needs the history database to be upgraded");
      return NULL;
    }

  if (user_id != NULL &&
      !store_find_conversation (self, user_id, NULL, &conversation_id, error))
    return NULL;

  query = search_text_to_query (text);
  if (query == NULL)
    return g_steal_pointer (&hits);

  stmt = store_query (self, error,
                      "SELECT " MESSAGE_COLUMNS ", c.user_id, "
                      "  snippet (messages_fts, 0, CAST (X'ff' AS TEXT), CAST (X'fe' AS TEXT), '…', 12) "
                      "FROM messages_fts "
                      "JOIN messages m ON m.id = messages_fts.rowid "
                      "JOIN conversations cv ON cv.id = m.conversation_id "
                      "JOIN contacts c ON c.id = cv.contact_id "
                      "WHERE messages_fts MATCH ?1 AND (?2 < 0 OR m.conversation_id = ?2) "
                      "ORDER BY messages_fts.rowid DESC LIMIT ?3",
                      "tii", query, conversation_id,
                      (gint64) (limit > 0 ? limit : DEFAULT_SEARCH_LIMIT));
  if (stmt == NULL)
    return NULL;

  while ((rc = store_step (self, stmt, "search messages", error)) == SQLITE_ROW)
    {
      NatterStoreSearchHit *hit = g_new0 (NatterStoreSearchHit, 1);

      hit->message = message_from_row (self, stmt, 0,
                                       column_text (stmt, MESSAGE_N_COLUMNS));
      search_hit_set_snippet (hit, column_text (stmt, MESSAGE_N_COLUMNS + 1));
      g_ptr_array_add (hits, hit);
    }

  return rc == SQLITE_DONE ? g_steal_pointer (&hits) : NULL;
}
