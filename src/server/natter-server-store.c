/* natter-server-store.c: the server's SQLite database (invitations, handles)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "natter-server-store"

#include "config.h"

#include <errno.h>

#include <glib/gstdio.h>
#include <sqlite3.h>

#include "natter-protocol.h"

#include "natter-server-store.h"

#define SCHEMA_VERSION 2

/* Answered invitations wait for their sender to come back; if the sender
 * never does, they go this long after their expiry.
 */
#define ANSWER_RETENTION_S (30 * 24 * 60 * 60)

struct _NatterServerStore
{
  GObject parent_instance;

  sqlite3 *db;
  GHashTable *statements;   /* SQL text (owned) -> its statement, prepared once */
};

G_DEFINE_FINAL_TYPE (NatterServerStore, natter_server_store, G_TYPE_OBJECT)

/* Statements are prepared once and kept (see prepare()); what a caller
 * lets go of is made ready for the next one. */
static void
release_statement (sqlite3_stmt *stmt)
{
  sqlite3_reset (stmt);
  sqlite3_clear_bindings (stmt);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (sqlite3_stmt, release_statement)

static void
finalize_statement (gpointer stmt)
{
  sqlite3_finalize (stmt);
}

static const char * const schema_v1[] = {
  "CREATE TABLE invitations ("
  "  id TEXT PRIMARY KEY,"
  "  sender TEXT NOT NULL,"
  "  recipient TEXT NOT NULL,"
  "  text TEXT NOT NULL,"
  "  created INTEGER NOT NULL,"
  "  expires INTEGER NOT NULL,"
  "  status INTEGER NOT NULL)",
  "CREATE INDEX invitations_by_recipient ON invitations (recipient, status)",
  "CREATE INDEX invitations_by_sender ON invitations (sender, status)",
  "CREATE TABLE handles ("
  "  handle TEXT PRIMARY KEY,"
  "  user TEXT NOT NULL UNIQUE,"
  "  created INTEGER NOT NULL)",
};

/* Version 2: the sender's display name, as the sender gave it */
static const char * const schema_v2[] = {
  "ALTER TABLE invitations ADD COLUMN sender_name TEXT",
};

#define INVITATION_COLUMNS "id, sender, recipient, text, created, expires, status, sender_name"

void
natter_server_invitation_free (NatterServerInvitation *invitation)
{
  if (invitation == NULL)
    return;

  g_free (invitation->from);
  g_free (invitation->to);
  g_free (invitation->text);
  g_free (invitation->from_name);
  g_free (invitation);
}

const char *
natter_server_invitation_status_to_string (NatterServerInvitationStatus status)
{
  switch (status)
    {
    case NATTER_SERVER_INVITATION_PENDING:
      return "pending";
    case NATTER_SERVER_INVITATION_ACCEPTED:
      return "accepted";
    case NATTER_SERVER_INVITATION_DECLINED:
      return "declined";
    default:
      return "pending";
    }
}

static gboolean
set_db_error (NatterServerStore  *self,
              const char         *what,
              GError            **error)
{
  g_set_error (error, NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_INTERNAL,
               "Database error (%s): %s", what, sqlite3_errmsg (self->db));
  return FALSE;
}

static gboolean
exec_sql (NatterServerStore  *self,
          const char         *sql,
          GError            **error)
{
  if (sqlite3_exec (self->db, sql, NULL, NULL, NULL) != SQLITE_OK)
    return set_db_error (self, sql, error);

  return TRUE;
}

static sqlite3_stmt *
prepare (NatterServerStore  *self,
         const char         *sql,
         GError            **error)
{
  sqlite3_stmt *stmt = NULL;

  if (self->db == NULL)
    {
      g_set_error_literal (error, NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_INTERNAL,
                           "The database is closed");
      return NULL;
    }

  /* Parsing SQL cost more than running these small queries (a sign-in
   * lists its invitations). Never are two statements of one text in use
   * at once, so the one kept is free whenever it is asked for. */
  stmt = g_hash_table_lookup (self->statements, sql);
  if (stmt != NULL)
    {
      g_assert (!sqlite3_stmt_busy (stmt));
      return stmt;
    }

  if (sqlite3_prepare_v3 (self->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL) != SQLITE_OK)
    {
      set_db_error (self, "prepare", error);
      sqlite3_finalize (stmt);
      return NULL;
    }

  g_hash_table_insert (self->statements, g_strdup (sql), stmt);
  return stmt;
}

/* Binds text (t), int64 (i) parameters in order, as given by @types. */
static sqlite3_stmt *
prepare_bind (NatterServerStore  *self,
              GError            **error,
              const char         *sql,
              const char         *types,
              ...)
{
  g_autoptr(sqlite3_stmt) stmt = prepare (self, sql, error);
  va_list args;
  int rc = SQLITE_OK;

  if (stmt == NULL)
    return NULL;

  va_start (args, types);
  for (int i = 0; types[i] != '\0' && rc == SQLITE_OK; i++)
    {
      if (types[i] == 't')
        rc = sqlite3_bind_text (stmt, i + 1, va_arg (args, const char *), -1, SQLITE_TRANSIENT);
      else
        rc = sqlite3_bind_int64 (stmt, i + 1, va_arg (args, gint64));
    }
  va_end (args);

  if (rc != SQLITE_OK)
    {
      set_db_error (self, "bind", error);
      return NULL;
    }

  return g_steal_pointer (&stmt);
}

/* Runs a statement that returns no rows. */
static gboolean
step_done (NatterServerStore  *self,
           sqlite3_stmt       *stmt,
           GError            **error)
{
  if (stmt == NULL)
    return FALSE;

  if (sqlite3_step (stmt) != SQLITE_DONE)
    return set_db_error (self, "step", error);

  return TRUE;
}

/* Steps once; returns SQLITE_ROW or SQLITE_DONE, or -1 with @error set. */
static int
step_row (NatterServerStore  *self,
          sqlite3_stmt       *stmt,
          GError            **error)
{
  int rc = sqlite3_step (stmt);

  if (rc == SQLITE_ROW || rc == SQLITE_DONE)
    return rc;

  set_db_error (self, "step", error);
  return -1;
}

static gint64
query_int (NatterServerStore *self,
           sqlite3_stmt      *stmt,
           GError           **error)
{
  if (stmt == NULL)
    return -1;

  if (step_row (self, stmt, error) != SQLITE_ROW)
    return -1;

  return sqlite3_column_int64 (stmt, 0);
}

static char *
column_dup (sqlite3_stmt *stmt,
            int           column)
{
  return g_strdup ((const char *) sqlite3_column_text (stmt, column));
}

static NatterServerInvitation *
invitation_from_row (sqlite3_stmt *stmt)
{
  NatterServerInvitation *invitation = g_new0 (NatterServerInvitation, 1);

  g_strlcpy (invitation->id, (const char *) sqlite3_column_text (stmt, 0),
             sizeof invitation->id);
  invitation->from = column_dup (stmt, 1);
  invitation->to = column_dup (stmt, 2);
  invitation->text = column_dup (stmt, 3);
  invitation->created = sqlite3_column_int64 (stmt, 4);
  invitation->expires = sqlite3_column_int64 (stmt, 5);
  invitation->from_name = column_dup (stmt, 7);
  invitation->status = CLAMP (sqlite3_column_int (stmt, 6), NATTER_SERVER_INVITATION_PENDING,
                              NATTER_SERVER_INVITATION_DECLINED);

  return invitation;
}

/* Collects every row of @stmt (which selects INVITATION_COLUMNS). */
static GPtrArray *
collect_invitations (NatterServerStore  *self,
                     sqlite3_stmt       *stmt,
                     GError            **error)
{
  g_autoptr(GPtrArray) invitations = NULL;
  int rc;

  if (stmt == NULL)
    return NULL;

  invitations = g_ptr_array_new_with_free_func ((GDestroyNotify) natter_server_invitation_free);

  while ((rc = step_row (self, stmt, error)) == SQLITE_ROW)
    g_ptr_array_add (invitations, invitation_from_row (stmt));

  if (rc < 0)
    return NULL;

  return g_steal_pointer (&invitations);
}

static gboolean
migrate (NatterServerStore  *self,
         GError            **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  gint64 version = 0;

  if (!exec_sql (self, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)",
                 error))
    return FALSE;

  stmt = prepare (self, "SELECT MAX(version) FROM schema_version", error);
  if (stmt == NULL)
    return FALSE;
  if (step_row (self, stmt, error) < 0)
    return FALSE;
  version = sqlite3_column_int64 (stmt, 0);

  if (version == SCHEMA_VERSION)
    return TRUE;

  if (version > SCHEMA_VERSION)
    {
      g_set_error (error, NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_INTERNAL,
                   "The database has schema version %" G_GINT64_FORMAT
                   ", newer than this server (%d)", version, SCHEMA_VERSION);
      return FALSE;
    }

  if (!exec_sql (self, "BEGIN IMMEDIATE", error))
    return FALSE;

  for (guint i = 0; version < 1 && i < G_N_ELEMENTS (schema_v1); i++)
    {
      if (!exec_sql (self, schema_v1[i], error))
        {
          exec_sql (self, "ROLLBACK", NULL);
          return FALSE;
        }
    }

  for (guint i = 0; version < 2 && i < G_N_ELEMENTS (schema_v2); i++)
    {
      if (!exec_sql (self, schema_v2[i], error))
        {
          exec_sql (self, "ROLLBACK", NULL);
          return FALSE;
        }
    }

  if (!exec_sql (self, "INSERT INTO schema_version (version) VALUES (2)", error) ||
      !exec_sql (self, "COMMIT", error))
    {
      exec_sql (self, "ROLLBACK", NULL);
      return FALSE;
    }

  g_info ("Database schema version %d (was %" G_GINT64_FORMAT ")", SCHEMA_VERSION, version);

  return TRUE;
}

static void
natter_server_store_finalize (GObject *object)
{
  NatterServerStore *self = (NatterServerStore *) object;

  natter_server_store_close (self);
  g_clear_pointer (&self->statements, g_hash_table_unref);

  G_OBJECT_CLASS (natter_server_store_parent_class)->finalize (object);
}

static void
natter_server_store_class_init (NatterServerStoreClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = natter_server_store_finalize;
}

static void
natter_server_store_init (NatterServerStore *self)
{
  self->statements = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                            finalize_statement);
}

/**
 * natter_server_store_new:
 * @data_dir: the directory of the database; created when missing
 * @error: return location for a #GError
 *
 * Opens (or creates) the database and brings its schema up to date.
 *
 * Returns: (transfer full): a new store, or %NULL
 */
NatterServerStore *
natter_server_store_new (const char  *data_dir,
                         GError     **error)
{
  g_autoptr(NatterServerStore) self = NULL;
  g_autofree char *path = NULL;

  g_return_val_if_fail (data_dir != NULL, NULL);

  if (g_mkdir_with_parents (data_dir, 0700) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_INTERNAL,
                   "Cannot create the data directory: %s", g_strerror (saved_errno));
      return NULL;
    }

  self = g_object_new (NATTER_TYPE_SERVER_STORE, NULL);
  path = g_build_filename (data_dir, "natter-server.db", NULL);

  if (sqlite3_open_v2 (path, &self->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL)
      != SQLITE_OK)
    {
      set_db_error (self, "open", error);
      return NULL;
    }

  sqlite3_busy_timeout (self->db, 5000);

  if (!exec_sql (self, "PRAGMA journal_mode=WAL", error) ||
      !exec_sql (self, "PRAGMA synchronous=NORMAL", error) ||
      !migrate (self, error))
    return NULL;

  return g_steal_pointer (&self);
}

/**
 * natter_server_store_close:
 * @self: a #NatterServerStore
 *
 * Closes the database cleanly (checkpointing the WAL). Later calls fail with
 * %NATTER_PROTOCOL_ERROR_INTERNAL.
 */
void
natter_server_store_close (NatterServerStore *self)
{
  g_return_if_fail (NATTER_IS_SERVER_STORE (self));

  if (self->db == NULL)
    return;

  /* The database closes only once its statements are gone. */
  g_hash_table_remove_all (self->statements);
  if (sqlite3_close (self->db) != SQLITE_OK)
    g_message ("Closing the database failed: %s", sqlite3_errmsg (self->db));

  self->db = NULL;
}

static NatterServerInvitation *
find_invitation (NatterServerStore  *self,
                 const char         *sql,
                 const char         *a,
                 const char         *b,
                 gint64              now,
                 GError            **error)
{
  g_autoptr(sqlite3_stmt) stmt = prepare_bind (self, error, sql, "tti", a, b, now);
  int rc;

  if (stmt == NULL)
    return NULL;

  rc = step_row (self, stmt, error);
  if (rc != SQLITE_ROW)
    return NULL;

  return invitation_from_row (stmt);
}

/* Pending, unexpired invitations whose @column ("sender" or "recipient")
 * is @user; -1 on error. */
static gint64
count_pending (NatterServerStore  *self,
               const char         *column,
               const char         *user,
               gint64              now,
               GError            **error)
{
  g_autofree char *sql = g_strdup_printf ("SELECT COUNT(*) FROM invitations "
                                          "WHERE %s = ?1 AND status = 0 AND expires > ?2",
                                          column);
  g_autoptr(sqlite3_stmt) stmt = prepare_bind (self, error, sql, "ti", user, now);

  return query_int (self, stmt, error);
}

static NatterServerInvitation *
invite_locked (NatterServerStore  *self,
               const char         *from,
               const char         *from_name,
               const char         *to,
               const char         *text,
               gint64              now,
               gint64              ttl,
               guint               max_per_recipient,
               GError            **error)
{
  g_autoptr(NatterServerInvitation) invitation = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  GError *local_error = NULL;
  guint8 id[NATTER_SERVER_INVITATION_ID_LENGTH / 2];
  gint64 pending;

  invitation = find_invitation (self,
                                "SELECT " INVITATION_COLUMNS " FROM invitations "
                                "WHERE sender = ?1 AND recipient = ?2 AND status = 0 "
                                "AND expires > ?3",
                                from, to, now, &local_error);
  if (local_error != NULL)
    {
      g_propagate_error (error, local_error);
      return NULL;
    }

  if (invitation != NULL)
    {
      g_clear_pointer (&invitation->text, g_free);
      invitation->text = g_strdup (text);
      g_clear_pointer (&invitation->from_name, g_free);
      invitation->from_name = g_strdup (from_name);
      invitation->expires = now + ttl;

      stmt = prepare_bind (self, error,
                           "UPDATE invitations SET text = ?1, expires = ?2, sender_name = ?4 "
                           "WHERE id = ?3",
                           "titt", text, invitation->expires, invitation->id, from_name);
      if (!step_done (self, stmt, error))
        return NULL;

      return g_steal_pointer (&invitation);
    }

  pending = count_pending (self, "sender", from, now, error);
  if (pending < 0)
    return NULL;
  if (pending >= NATTER_SERVER_MAX_PENDING_INVITATIONS)
    {
      g_set_error (error, NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_LIMIT_EXCEEDED,
                   "At most %d invitations may be pending", NATTER_SERVER_MAX_PENDING_INVITATIONS);
      return NULL;
    }

  pending = count_pending (self, "recipient", to, now, error);
  if (pending < 0)
    return NULL;
  if (pending >= max_per_recipient)
    {
      g_set_error (error, NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_RECIPIENT_FULL,
                   "The recipient already has %u pending invitations; try again later",
                   max_per_recipient);
      return NULL;
    }

  g_clear_pointer (&stmt, release_statement);
  invitation = g_new0 (NatterServerInvitation, 1);
  natter_random_bytes (id, sizeof id);
  for (guint i = 0; i < sizeof id; i++)
    g_snprintf (invitation->id + 2 * i, 3, "%02x", id[i]);
  invitation->from = g_strdup (from);
  invitation->to = g_strdup (to);
  invitation->text = g_strdup (text);
  invitation->from_name = g_strdup (from_name);
  invitation->created = now;
  invitation->expires = now + ttl;
  invitation->status = NATTER_SERVER_INVITATION_PENDING;

  g_clear_pointer (&stmt, release_statement);
  stmt = prepare_bind (self, error,
                       "INSERT INTO invitations (" INVITATION_COLUMNS ") "
                       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?7)",
                       "ttttiit", invitation->id, from, to, text, now, invitation->expires,
                       from_name);
  if (!step_done (self, stmt, error))
    return NULL;

  return g_steal_pointer (&invitation);
}

/**
 * natter_server_store_invite:
 * @self: a #NatterServerStore
 * @from: the sender's user ID
 * @from_name: (nullable): the display name the sender gave, shown with the ID
 * @to: the recipient's user ID
 * @text: the invitation text
 * @now: the current Unix time
 * @ttl: seconds until the invitation expires
 * @max_per_recipient: how many pending invitations @to may have
 * @error: return location for a #GError
 *
 * Stores a pending invitation, or refreshes the text, name and expiry of the one
 * already pending from @from to @to (keeping its id). A new one is refused
 * with %NATTER_PROTOCOL_ERROR_LIMIT_EXCEEDED when @from has too many
 * pending, and %NATTER_PROTOCOL_ERROR_RECIPIENT_FULL when @to has.
 *
 * Returns: (transfer full): the stored invitation, or %NULL
 */
NatterServerInvitation *
natter_server_store_invite (NatterServerStore  *self,
                            const char         *from,
                            const char         *from_name,
                            const char         *to,
                            const char         *text,
                            gint64              now,
                            gint64              ttl,
                            guint               max_per_recipient,
                            GError            **error)
{
  NatterServerInvitation *invitation;

  g_return_val_if_fail (NATTER_IS_SERVER_STORE (self), NULL);
  g_return_val_if_fail (from != NULL && to != NULL && text != NULL, NULL);

  if (!exec_sql (self, "BEGIN IMMEDIATE", error))
    return NULL;

  invitation = invite_locked (self, from, from_name, to, text, now, ttl, max_per_recipient,
                              error);

  if (invitation == NULL || !exec_sql (self, "COMMIT", error))
    {
      exec_sql (self, "ROLLBACK", NULL);
      g_clear_pointer (&invitation, natter_server_invitation_free);
    }

  return invitation;
}

/**
 * natter_server_store_answer:
 * @self: a #NatterServerStore
 * @id: the invitation id
 * @recipient: the user answering
 * @status: %NATTER_SERVER_INVITATION_ACCEPTED or %NATTER_SERVER_INVITATION_DECLINED
 * @now: the current Unix time
 * @error: return location for a #GError
 *
 * Answers a pending, unexpired invitation addressed to @recipient; anything
 * else is %NATTER_PROTOCOL_ERROR_NOT_FOUND.
 *
 * Returns: (transfer full): the answered invitation, or %NULL
 */
NatterServerInvitation *
natter_server_store_answer (NatterServerStore             *self,
                            const char                    *id,
                            const char                    *recipient,
                            NatterServerInvitationStatus   status,
                            gint64                         now,
                            GError                       **error)
{
  g_autoptr(NatterServerInvitation) invitation = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  GError *local_error = NULL;

  g_return_val_if_fail (NATTER_IS_SERVER_STORE (self), NULL);
  g_return_val_if_fail (id != NULL && recipient != NULL, NULL);

  invitation = find_invitation (self,
                                "SELECT " INVITATION_COLUMNS " FROM invitations "
                                "WHERE id = ?1 AND recipient = ?2 AND status = 0 "
                                "AND expires > ?3",
                                id, recipient, now, &local_error);
  if (local_error != NULL)
    {
      g_propagate_error (error, local_error);
      return NULL;
    }

  if (invitation == NULL)
    {
      g_set_error_literal (error, NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_NOT_FOUND,
                           "No such pending invitation");
      return NULL;
    }

  stmt = prepare_bind (self, error, "UPDATE invitations SET status = ?1 WHERE id = ?2",
                       "it", (gint64) status, invitation->id);
  if (!step_done (self, stmt, error))
    return NULL;

  invitation->status = status;

  return g_steal_pointer (&invitation);
}

/**
 * natter_server_store_list_pending:
 * @self: a #NatterServerStore
 * @user: a user ID
 * @incoming: %TRUE for the invitations addressed to @user, %FALSE for those
 *   sent by @user
 * @now: the current Unix time
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (element-type NatterServerInvitation): the pending,
 *   unexpired invitations, oldest first (then by id), or %NULL on error
 */
GPtrArray *
natter_server_store_list_pending (NatterServerStore  *self,
                                  const char         *user,
                                  gboolean            incoming,
                                  gint64              now,
                                  GError            **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;

  g_return_val_if_fail (NATTER_IS_SERVER_STORE (self), NULL);

  if (incoming)
    stmt = prepare_bind (self, error,
                         "SELECT " INVITATION_COLUMNS " FROM invitations "
                         "WHERE recipient = ?1 AND status = 0 AND expires > ?2 ORDER BY created, id",
                         "ti", user, now);
  else
    stmt = prepare_bind (self, error,
                         "SELECT " INVITATION_COLUMNS " FROM invitations "
                         "WHERE sender = ?1 AND status = 0 AND expires > ?2 ORDER BY created, id",
                         "ti", user, now);

  return collect_invitations (self, stmt, error);
}

/**
 * natter_server_store_list_answers:
 *
 * Returns: (transfer full) (element-type NatterServerInvitation): the answered
 *   invitations of @sender not yet delivered to it, or %NULL on error
 */
GPtrArray *
natter_server_store_list_answers (NatterServerStore  *self,
                                  const char         *sender,
                                  GError            **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;

  g_return_val_if_fail (NATTER_IS_SERVER_STORE (self), NULL);

  stmt = prepare_bind (self, error,
                       "SELECT " INVITATION_COLUMNS " FROM invitations "
                       "WHERE sender = ?1 AND status != 0 ORDER BY created",
                       "t", sender);
  return collect_invitations (self, stmt, error);
}

gboolean
natter_server_store_delete_invitation (NatterServerStore  *self,
                                       const char         *id,
                                       GError            **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;

  g_return_val_if_fail (NATTER_IS_SERVER_STORE (self), FALSE);

  stmt = prepare_bind (self, error, "DELETE FROM invitations WHERE id = ?1", "t", id);
  return step_done (self, stmt, error);
}

/**
 * natter_server_store_purge:
 *
 * Deletes expired pending invitations, and answers whose sender has not come
 * back long after their expiry.
 */
gboolean
natter_server_store_purge (NatterServerStore  *self,
                           gint64              now,
                           GError            **error)
{
  g_autoptr(sqlite3_stmt) pending = NULL;
  g_autoptr(sqlite3_stmt) answered = NULL;

  g_return_val_if_fail (NATTER_IS_SERVER_STORE (self), FALSE);

  pending = prepare_bind (self, error,
                          "DELETE FROM invitations WHERE status = 0 AND expires <= ?1",
                          "i", now);
  if (!step_done (self, pending, error))
    return FALSE;

  answered = prepare_bind (self, error,
                           "DELETE FROM invitations WHERE status != 0 AND expires <= ?1",
                           "i", now - ANSWER_RETENTION_S);
  return step_done (self, answered, error);
}

/**
 * natter_server_store_count_pending:
 *
 * Returns: the number of pending, unexpired invitations, or -1 on error
 */
gint64
natter_server_store_count_pending (NatterServerStore *self,
                                   gint64             now)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(GError) error = NULL;
  gint64 count;

  g_return_val_if_fail (NATTER_IS_SERVER_STORE (self), -1);

  stmt = prepare_bind (self, &error,
                       "SELECT COUNT(*) FROM invitations WHERE status = 0 AND expires > ?1",
                       "i", now);
  count = query_int (self, stmt, &error);
  if (error != NULL)
    g_message ("Counting invitations failed: %s", error->message);

  return count;
}

static char *
lookup_handle_owner (NatterServerStore  *self,
                     const char         *handle,
                     GError            **error)
{
  g_autoptr(sqlite3_stmt) stmt = prepare_bind (self, error,
                                               "SELECT user FROM handles WHERE handle = ?1",
                                               "t", handle);

  if (stmt == NULL || step_row (self, stmt, error) != SQLITE_ROW)
    return NULL;

  return column_dup (stmt, 0);
}

static gboolean
register_handle_locked (NatterServerStore  *self,
                        const char         *handle,
                        const char         *user,
                        GError            **error)
{
  g_autoptr(sqlite3_stmt) release = NULL;
  g_autoptr(sqlite3_stmt) insert = NULL;
  g_autofree char *owner = NULL;
  GError *local_error = NULL;

  owner = lookup_handle_owner (self, handle, &local_error);
  if (local_error != NULL)
    {
      g_propagate_error (error, local_error);
      return FALSE;
    }

  if (owner != NULL)
    {
      if (g_str_equal (owner, user))
        return TRUE;

      g_set_error_literal (error, NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_HANDLE_TAKEN,
                           "The handle belongs to another user");
      return FALSE;
    }

  release = prepare_bind (self, error, "DELETE FROM handles WHERE user = ?1", "t", user);
  if (!step_done (self, release, error))
    return FALSE;

  insert = prepare_bind (self, error,
                         "INSERT INTO handles (handle, user, created) VALUES (?1, ?2, ?3)",
                         "tti", handle, user, g_get_real_time () / G_USEC_PER_SEC);
  return step_done (self, insert, error);
}

/**
 * natter_server_store_register_handle:
 * @self: a #NatterServerStore
 * @handle: a normalized handle (without `@`)
 * @user: the user ID claiming it
 * @error: return location for a #GError
 *
 * Binds @handle to @user, releasing the handle @user held before.
 * Registering the handle one already holds succeeds.
 *
 * Returns: %TRUE on success; %NATTER_PROTOCOL_ERROR_HANDLE_TAKEN when another
 *   user holds it
 */
gboolean
natter_server_store_register_handle (NatterServerStore  *self,
                                     const char         *handle,
                                     const char         *user,
                                     GError            **error)
{
  g_return_val_if_fail (NATTER_IS_SERVER_STORE (self), FALSE);
  g_return_val_if_fail (handle != NULL && user != NULL, FALSE);

  if (!exec_sql (self, "BEGIN IMMEDIATE", error))
    return FALSE;

  if (!register_handle_locked (self, handle, user, error) ||
      !exec_sql (self, "COMMIT", error))
    {
      exec_sql (self, "ROLLBACK", NULL);
      return FALSE;
    }

  return TRUE;
}

/**
 * natter_server_store_lookup_handle:
 *
 * Returns: (transfer full): the user ID holding @handle; %NULL with
 *   %NATTER_PROTOCOL_ERROR_NOT_FOUND when nobody does
 */
char *
natter_server_store_lookup_handle (NatterServerStore  *self,
                                   const char         *handle,
                                   GError            **error)
{
  GError *local_error = NULL;
  char *owner;

  g_return_val_if_fail (NATTER_IS_SERVER_STORE (self), NULL);
  g_return_val_if_fail (handle != NULL, NULL);

  owner = lookup_handle_owner (self, handle, &local_error);
  if (local_error != NULL)
    g_propagate_error (error, local_error);
  else if (owner == NULL)
    g_set_error_literal (error, NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_NOT_FOUND,
                         "No such handle");

  return owner;
}

/**
 * natter_server_store_release_handle:
 *
 * Returns: %TRUE when @user held @handle and no longer does;
 *   %NATTER_PROTOCOL_ERROR_NOT_FOUND or %NATTER_PROTOCOL_ERROR_NOT_OWNER otherwise
 */
gboolean
natter_server_store_release_handle (NatterServerStore  *self,
                                    const char         *handle,
                                    const char         *user,
                                    GError            **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autofree char *owner = NULL;

  g_return_val_if_fail (NATTER_IS_SERVER_STORE (self), FALSE);
  g_return_val_if_fail (handle != NULL && user != NULL, FALSE);

  owner = natter_server_store_lookup_handle (self, handle, error);
  if (owner == NULL)
    return FALSE;

  if (!g_str_equal (owner, user))
    {
      g_set_error_literal (error, NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_NOT_OWNER,
                           "The handle belongs to another user");
      return FALSE;
    }

  stmt = prepare_bind (self, error, "DELETE FROM handles WHERE handle = ?1 AND user = ?2",
                       "tt", handle, user);
  return step_done (self, stmt, error);
}

/**
 * natter_server_store_count_handles:
 *
 * Returns: the number of registered handles, or -1 on error
 */
gint64
natter_server_store_count_handles (NatterServerStore *self)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(GError) error = NULL;
  gint64 count;

  g_return_val_if_fail (NATTER_IS_SERVER_STORE (self), -1);

  stmt = prepare (self, "SELECT COUNT(*) FROM handles", &error);
  count = query_int (self, stmt, &error);
  if (error != NULL)
    g_message ("Counting handles failed: %s", error->message);

  return count;
}
