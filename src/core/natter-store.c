/* natter-store.c: the client's history store (SQLite): opening, closing and
 * what the other natter-store-*.c files share
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * One SQLite file in the profile's data directory holds contacts, one
 * conversation per contact, messages, the outbox and (from schema 2) file
 * transfers, calls and a full-text index of message bodies. Each topic has
 * a file of its own: natter-store-migrations.c (the schema, and which files
 * are Natter's), -contacts.c, -messages.c (with the outbox and unread
 * counts), -search.c and -backup.c (damage and the rolling backup); their
 * shared helpers are in natter-store-private.h.
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
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "natter-user-id.h"

#include "natter-store-private.h"

#define BUSY_TIMEOUT_MS      5000

enum {
  PROP_0,
  PROP_PATH,
  PROP_SCHEMA_VERSION,
  PROP_DAMAGED,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (NatterStore, natter_store, G_TYPE_OBJECT)

G_DEFINE_QUARK (natter-store-error-quark, natter_store_error)

/* Errors */

gboolean
_natter_store_fail (NatterStore  *self,
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

gboolean
_natter_store_check_open (NatterStore  *self,
                          GError      **error)
{
  if (self->db != NULL)
    return TRUE;

  g_set_error_literal (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_CLOSED,
                       "The history database is closed");
  return FALSE;
}

/* Statements */

void
_natter_store_stmt_release (StoreStmt *stmt)
{
  sqlite3_reset (stmt);
  sqlite3_clear_bindings (stmt);
}

/* Prepares (once) and binds @sql. @types has one letter per parameter:
 * 't' const char * (NULL binds NULL), 'i' gint64, 'e' an enum or other int,
 * 'b' GBytes * (NULL binds NULL). Values go in as parameters, never into the
 * SQL text: statuses and directions too. */
StoreStmt *
_natter_store_query_valist (NatterStore  *self,
                            const char   *sql,
                            GError      **error,
                            const char   *types,
                            va_list       args)
{
  sqlite3_stmt *stmt;
  int rc;

  if (!_natter_store_check_open (self, error))
    return NULL;

  stmt = g_hash_table_lookup (self->statements, sql);
  if (stmt == NULL)
    {
      rc = sqlite3_prepare_v3 (self->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL);
      if (rc != SQLITE_OK)
        {
          _natter_store_fail (self, rc, "prepare a query", error);
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
        case 'e':
          rc = sqlite3_bind_int (stmt, i + 1, va_arg (args, int));
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
          _natter_store_stmt_release (stmt);
          _natter_store_fail (self, rc, "prepare a query", error);
          return NULL;
        }
    }

  return stmt;
}

StoreStmt *
_natter_store_query (NatterStore  *self,
                     GError      **error,
                     const char   *sql,
                     const char   *types,
                     ...)
{
  StoreStmt *stmt;
  va_list args;

  va_start (args, types);
  stmt = _natter_store_query_valist (self, sql, error, types, args);
  va_end (args);

  return stmt;
}

/* Returns SQLITE_ROW or SQLITE_DONE, or 0 with @error set. */
int
_natter_store_step (NatterStore  *self,
                    StoreStmt    *stmt,
                    const char   *what,
                    GError      **error)
{
  int rc = sqlite3_step (stmt);

  if (rc == SQLITE_ROW || rc == SQLITE_DONE)
    return rc;

  _natter_store_fail (self, rc, what, error);
  return 0;
}

/* Runs a statement that returns no rows. */
gboolean
_natter_store_exec (NatterStore  *self,
                    const char   *what,
                    GError      **error,
                    const char   *sql,
                    const char   *types,
                    ...)
{
  g_autoptr(StoreStmt) stmt = NULL;
  va_list args;

  va_start (args, types);
  stmt = _natter_store_query_valist (self, sql, error, types, args);
  va_end (args);

  return stmt != NULL && _natter_store_step (self, stmt, what, error) != 0;
}

/* Runs a query whose first row's first column is an integer. Returns FALSE
 * with NOT_FOUND when there is no row. */
gboolean
_natter_store_get_int (NatterStore  *self,
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
  stmt = _natter_store_query_valist (self, sql, error, types, args);
  va_end (args);

  if (stmt == NULL || (rc = _natter_store_step (self, stmt, what, error)) == 0)
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

gboolean
_natter_store_begin (NatterStore  *self,
                     GError      **error)
{
  return _natter_store_exec (self, "start a transaction", error, "BEGIN IMMEDIATE", "");
}

void
_natter_store_rollback (NatterStore *self)
{
  /* SQLite rolls some failures (a full disk) back by itself. */
  if (self->db != NULL && !sqlite3_get_autocommit (self->db))
    sqlite3_exec (self->db, "ROLLBACK", NULL, NULL, NULL);
}

gboolean
_natter_store_commit (NatterStore  *self,
                      GError      **error)
{
  if (_natter_store_exec (self, "save the change", error, "COMMIT", ""))
    return TRUE;

  _natter_store_rollback (self);
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

gpointer
_natter_store_live_lookup (NatterStore *self,
                           const char  *key)
{
  LiveEntry *entry = g_hash_table_lookup (self->live, key);

  return entry != NULL ? g_object_ref (entry->object) : NULL;
}

void
_natter_store_live_remove (NatterStore *self,
                           const char  *key)
{
  LiveEntry *entry = g_hash_table_lookup (self->live, key);

  if (entry == NULL)
    return;

  g_object_weak_unref (entry->object, on_live_object_finalized, entry);
  g_hash_table_remove (self->live, key);
}

void
_natter_store_live_add (NatterStore *self,
                        char        *key,
                        gpointer     object)
{
  LiveEntry *entry = g_new0 (LiveEntry, 1);

  _natter_store_live_remove (self, key);

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

/* Checks */

void
_natter_store_set_not_a_contact (GError     **error,
                                 const char  *user_id)
{
  g_set_error (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_NOT_FOUND,
               "%s is not a contact", NATTER_USER_ID_LOG (user_id));
}

gboolean
_natter_store_check_text (const char  *text,
                          const char  *what,
                          GError     **error)
{
  if (text != NULL && *text != '\0' && g_utf8_validate (text, -1, NULL))
    return TRUE;

  g_set_error (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_INVALID,
               "The %s is empty or not valid UTF-8", what);
  return FALSE;
}

gboolean
_natter_store_find_conversation (NatterStore  *self,
                                 const char   *user_id,
                                 gint64       *out_contact_id,
                                 gint64       *out_conversation_id,
                                 GError      **error)
{
  g_autoptr(StoreStmt) stmt = NULL;
  int rc;

  if (!_natter_store_check_text (user_id, "user ID", error))
    return FALSE;

  stmt = _natter_store_query (self, error,
                              "SELECT c.id, cv.id FROM contacts c "
                              "JOIN conversations cv ON cv.contact_id = c.id WHERE c.user_id = ?",
                              "t", user_id);
  if (stmt == NULL || (rc = _natter_store_step (self, stmt, "find the contact", error)) == 0)
    return FALSE;

  if (rc == SQLITE_DONE)
    {
      _natter_store_set_not_a_contact (error, user_id);
      return FALSE;
    }

  if (out_contact_id != NULL)
    *out_contact_id = sqlite3_column_int64 (stmt, 0);
  if (out_conversation_id != NULL)
    *out_conversation_id = sqlite3_column_int64 (stmt, 1);
  return TRUE;
}

/* Opening: the connection and its files */

gboolean
_natter_store_pragma (NatterStore  *self,
                      const char   *sql,
                      GError      **error)
{
  int rc = sqlite3_exec (self->db, sql, NULL, NULL, NULL);

  if (rc != SQLITE_OK)
    return _natter_store_fail (self, rc, "set up the history database", error);
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

gboolean
_natter_store_set_up (NatterStore  *self,
                      guint         target_version,
                      GError      **error)
{
  return _natter_store_pragma (self, "PRAGMA journal_mode = WAL", error) &&
         _natter_store_pragma (self, "PRAGMA synchronous = FULL", error) &&
         _natter_store_pragma (self, "PRAGMA foreign_keys = ON", error) &&
         _natter_store_pragma (self, "PRAGMA secure_delete = ON", error) &&
         _natter_store_migrate (self, target_version, error);
}

/* Whether everything of @path is in the file itself (no write-ahead log
 * with content beside it) */
gboolean
_natter_store_wal_is_empty (const char *path)
{
  g_autofree char *wal = g_strconcat (path, "-wal", NULL);
  GStatBuf st;

  return g_stat (wal, &st) != 0 || st.st_size == 0;
}

/* Opens @path for reading without locks, shared memory or log: only right
 * when nothing else writes to it and its log is empty. */
int
_natter_store_open_immutable (const char  *path,
                              sqlite3    **db)
{
  g_autofree char *uri = g_filename_to_uri (path, NULL, NULL);
  g_autofree char *immutable = g_strconcat (uri != NULL ? uri : "", "?immutable=1", NULL);

  return sqlite3_open_v2 (immutable, db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL);
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

  if (!_natter_store_wal_is_empty (self->path))
    {
      g_set_error_literal (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_DISK_FULL,
                           _("The disk is full: the history cannot even be read until there is "
                           "some free space"));
      return FALSE;
    }

  rc = _natter_store_open_immutable (self->path, &self->db);
  if (rc == SQLITE_OK)
    {
      sqlite3_extended_result_codes (self->db, TRUE);
      rc = sqlite3_exec (self->db, "SELECT count(*) FROM sqlite_schema", NULL, NULL, NULL);
    }

  if (rc != SQLITE_OK)
    {
      _natter_store_fail (self, rc, "open the history database", error);
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

      if (!_natter_store_create (self, target_version, error))
        return FALSE;
    }
  else if (!_natter_store_inspect (self->path, error))
    {
      return FALSE;
    }

  rc = sqlite3_open_v2 (self->path, &self->db, SQLITE_OPEN_READWRITE, NULL);
  if (rc != SQLITE_OK)
    {
      _natter_store_fail (self, rc, "open the history database", error);
      natter_store_close (self);
      return FALSE;
    }

  sqlite3_extended_result_codes (self->db, TRUE);
  sqlite3_busy_timeout (self->db, BUSY_TIMEOUT_MS);

  if (!_natter_store_set_up (self, target_version, &local_error))
    {
      natter_store_close (self);
      if (is_disk_full (local_error) && (flags & NATTER_STORE_OPEN_READ_ONLY_WHEN_FULL))
        return store_open_read_only (self, error);
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }

  _natter_store_mark_ours (self);
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

  if (!_natter_store_get_int (self, &page_size, "read the page size", NULL,
                              "PRAGMA page_size", ""))
    return -1;

  /* SQLite's own ceiling is 2^32 - 2 pages. */
  sql = g_strdup_printf ("PRAGMA max_page_count = %" G_GINT64_FORMAT,
                         max_bytes > 0 ? MAX (max_bytes / page_size, 1) : G_GINT64_CONSTANT (4294967294));
  if (sqlite3_exec (self->db, sql, NULL, NULL, NULL) != SQLITE_OK ||
      !_natter_store_get_int (self, &pages, "read the size limit", NULL,
                              "PRAGMA max_page_count", ""))
    return -1;

  return pages * page_size;
}
