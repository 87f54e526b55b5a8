/* natter-store-private.h: what the files of NatterStore share
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * natter-store.c opens and closes the database and holds the helpers below;
 * natter-store-migrations.c the schema; -contacts.c, -messages.c, -search.c
 * and -backup.c one topic each. A topic to come (transfers, calls) is a file
 * of its own beside them, on these helpers.
 */
#pragma once

#include <stdarg.h>

#include <sqlite3.h>

#include "natter-store.h"

G_BEGIN_DECLS

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

/* The columns of a message row, as _natter_store_message_from_row() reads them */
#define MESSAGE_COLUMNS \
  "m.id, m.uuid, m.direction, m.body, m.sent_at, m.received_at, m.status, m.reply_to"
#define MESSAGE_N_COLUMNS 8

/* A cached statement in use: the cleanup resets it for the next user. */
typedef sqlite3_stmt StoreStmt;

void           _natter_store_stmt_release        (StoreStmt     *stmt);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (StoreStmt, _natter_store_stmt_release)

/* natter-store.c: errors, statements, transactions */
gboolean       _natter_store_fail                (NatterStore   *self,
                                                  int            rc,
                                                  const char    *what,
                                                  GError       **error);
StoreStmt     *_natter_store_query_valist        (NatterStore   *self,
                                                  const char    *sql,
                                                  GError       **error,
                                                  const char    *types,
                                                  va_list        args);
StoreStmt     *_natter_store_query               (NatterStore   *self,
                                                  GError       **error,
                                                  const char    *sql,
                                                  const char    *types,
                                                  ...);
int            _natter_store_step                (NatterStore   *self,
                                                  StoreStmt     *stmt,
                                                  const char    *what,
                                                  GError       **error);
gboolean       _natter_store_exec                (NatterStore   *self,
                                                  const char    *what,
                                                  GError       **error,
                                                  const char    *sql,
                                                  const char    *types,
                                                  ...);
gboolean       _natter_store_get_int             (NatterStore   *self,
                                                  gint64        *out_value,
                                                  const char    *what,
                                                  GError       **error,
                                                  const char    *sql,
                                                  const char    *types,
                                                  ...);
gboolean       _natter_store_pragma              (NatterStore   *self,
                                                  const char    *sql,
                                                  GError       **error);
gboolean       _natter_store_begin               (NatterStore   *self,
                                                  GError       **error);
void           _natter_store_rollback            (NatterStore   *self);
gboolean       _natter_store_commit              (NatterStore   *self,
                                                  GError       **error);

static inline const char *
_natter_store_column_text (sqlite3_stmt *stmt,
                           int           column)
{
  return (const char *) sqlite3_column_text (stmt, column);
}

/* natter-store.c: the objects handed out, by key */
gpointer       _natter_store_live_lookup         (NatterStore   *self,
                                                  const char    *key);
void           _natter_store_live_add            (NatterStore   *self,
                                                  char          *key,
                                                  gpointer       object);
void           _natter_store_live_remove         (NatterStore   *self,
                                                  const char    *key);

/* natter-store.c: checks and lookups every topic makes */
gboolean       _natter_store_check_open          (NatterStore   *self,
                                                  GError       **error);
gboolean       _natter_store_check_text          (const char    *text,
                                                  const char    *what,
                                                  GError       **error);
void           _natter_store_set_not_a_contact   (GError       **error,
                                                  const char    *user_id);
gboolean       _natter_store_find_conversation   (NatterStore   *self,
                                                  const char    *user_id,
                                                  gint64        *out_contact_id,
                                                  gint64        *out_conversation_id,
                                                  GError       **error);
void           _natter_store_mark_damaged        (NatterStore   *self);

/* natter-store.c: files */
gboolean       _natter_store_create_private_file (const char    *path,
                                                  GError       **error);
gboolean       _natter_store_rename_durably      (const char    *from,
                                                  const char    *to,
                                                  GError       **error);
gboolean       _natter_store_wal_is_empty        (const char    *path);
int            _natter_store_open_immutable      (const char    *path,
                                                  sqlite3      **db);
gboolean       _natter_store_set_up              (NatterStore   *self,
                                                  guint          target_version,
                                                  GError       **error);

/* natter-store-migrations.c */
gboolean       _natter_store_migrate             (NatterStore   *self,
                                                  guint          target,
                                                  GError       **error);
gboolean       _natter_store_create              (NatterStore   *self,
                                                  guint          target_version,
                                                  GError       **error);
gboolean       _natter_store_inspect             (const char    *path,
                                                  GError       **error);
void           _natter_store_mark_ours           (NatterStore   *self);

/* natter-store-messages.c */
NatterMessage *_natter_store_message_from_row    (NatterStore   *self,
                                                  sqlite3_stmt  *stmt,
                                                  int            column,
                                                  const char    *user_id);

G_END_DECLS
