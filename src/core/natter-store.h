/* natter-store.h: the client's history store (SQLite)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The API is synchronous and for the thread that opened the store (the main
 * thread): each call is an indexed query or one small transaction. A call
 * that returns success has reached the disk (WAL, synchronous=FULL). Errors
 * are in NATTER_STORE_ERROR; a full disk is NATTER_STORE_ERROR_DISK_FULL and
 * leaves what was stored intact. One process should own a store at a time:
 * the objects it hands out follow its own writes, not other processes'.
 */
#pragma once

#include <gio/gio.h>

#include "natter-contact.h"
#include "natter-message.h"
#include "natter-transfer.h"

G_BEGIN_DECLS

#define NATTER_STORE_ERROR (natter_store_error_quark ())

typedef enum
{
  NATTER_STORE_ERROR_FAILED,
  NATTER_STORE_ERROR_NOT_FOUND,
  NATTER_STORE_ERROR_EXISTS,
  NATTER_STORE_ERROR_INVALID,
  NATTER_STORE_ERROR_DISK_FULL,
  NATTER_STORE_ERROR_CORRUPT,
  NATTER_STORE_ERROR_BUSY,
  NATTER_STORE_ERROR_TOO_NEW,
  NATTER_STORE_ERROR_CLOSED,
  NATTER_STORE_ERROR_FOREIGN,
} NatterStoreError;

typedef enum
{
  NATTER_STORE_OPEN_CREATE                = 1 << 0,
  NATTER_STORE_OPEN_READ_ONLY_WHEN_FULL   = 1 << 1,
} NatterStoreOpenFlags;

/* PRAGMA application_id of Natter's databases: "Natt" */
#define NATTER_STORE_APPLICATION_ID 0x4E617474

/* The schema version this build writes; see natter_store_new_at_version(). */
#define NATTER_STORE_SCHEMA_VERSION 5

/* The file name of the store inside a profile's data directory, and of its
 * rolling backup beside it. */
#define NATTER_STORE_FILE_NAME   "history.db"
#define NATTER_STORE_BACKUP_SUFFIX ".backup"

/* One full-text search result. snippet is plain text around the match;
 * snippet_markup is the same as escaped Pango markup with the matched
 * words in <b></b>. */
typedef struct
{
  NatterMessage *message;
  char          *snippet;
  char          *snippet_markup;
} NatterStoreSearchHit;

#define NATTER_TYPE_STORE_SEARCH_HIT (natter_store_search_hit_get_type ())
GType natter_store_search_hit_get_type (void);
void  natter_store_search_hit_free     (NatterStoreSearchHit *hit);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NatterStoreSearchHit, natter_store_search_hit_free)

#define NATTER_TYPE_STORE (natter_store_get_type ())

G_DECLARE_FINAL_TYPE (NatterStore, natter_store, NATTER, STORE, GObject)

GQuark          natter_store_error_quark            (void);

NatterStore    *natter_store_new                    (const char             *path,
                                                     GError                **error);
NatterStore    *natter_store_new_at_version         (const char             *path,
                                                     guint                   version,
                                                     GError                **error);
NatterStore    *natter_store_open                   (const char             *path,
                                                     NatterStoreOpenFlags    flags,
                                                     GError                **error);
void            natter_store_close                  (NatterStore            *self);
gboolean        natter_store_get_damaged            (NatterStore            *self);
gboolean        natter_store_get_read_only          (NatterStore            *self);

/* Damage and backups (natter-store-backup.c) */
gboolean        natter_store_check                  (NatterStore            *self,
                                                     GError                **error);
void            natter_store_check_async            (NatterStore            *self,
                                                     GCancellable           *cancellable,
                                                     GAsyncReadyCallback     callback,
                                                     gpointer                user_data);
gboolean        natter_store_check_finish           (NatterStore            *self,
                                                     GAsyncResult           *result,
                                                     GError                **error);
gboolean        natter_store_backup                 (NatterStore            *self,
                                                     GError                **error);
gboolean        natter_store_backup_if_due          (NatterStore            *self,
                                                     guint                   max_age_s,
                                                     GError                **error);
char           *natter_store_restore_backup         (const char             *path,
                                                     GError                **error);
const char     *natter_store_get_path               (NatterStore            *self);
guint           natter_store_get_schema_version     (NatterStore            *self);
gint64          natter_store_set_max_size           (NatterStore            *self,
                                                     gint64                  max_bytes);

/* Contacts */
NatterContact  *natter_store_add_contact            (NatterStore            *self,
                                                     const char             *user_id,
                                                     const char             *display_name,
                                                     GError                **error);
NatterContact  *natter_store_get_contact            (NatterStore            *self,
                                                     const char             *user_id,
                                                     GError                **error);
GPtrArray      *natter_store_list_contacts          (NatterStore            *self,
                                                     GError                **error);
gboolean        natter_store_update_contact         (NatterStore            *self,
                                                     NatterContact          *contact,
                                                     GError                **error);
gboolean        natter_store_rename_contact         (NatterStore            *self,
                                                     const char             *user_id,
                                                     const char             *alias,
                                                     GError                **error);
gboolean        natter_store_set_contact_blocked    (NatterStore            *self,
                                                     const char             *user_id,
                                                     gboolean                blocked,
                                                     GError                **error);
gboolean        natter_store_set_contact_verified   (NatterStore            *self,
                                                     const char             *user_id,
                                                     gboolean                verified,
                                                     GError                **error);
gboolean        natter_store_remove_contact         (NatterStore            *self,
                                                     const char             *user_id,
                                                     GError                **error);

/* Messages */
NatterMessage  *natter_store_append_outgoing        (NatterStore            *self,
                                                     const char             *user_id,
                                                     const char             *body,
                                                     GError                **error);
NatterMessage  *natter_store_append_reply           (NatterStore            *self,
                                                     const char             *user_id,
                                                     const char             *body,
                                                     const char             *reply_to,
                                                     GError                **error);
NatterMessage  *natter_store_insert_incoming        (NatterStore            *self,
                                                     const char             *user_id,
                                                     const char             *message_id,
                                                     const char             *body,
                                                     gint64                  timestamp,
                                                     gboolean               *is_new,
                                                     GError                **error);
NatterMessage  *natter_store_insert_incoming_reply  (NatterStore            *self,
                                                     const char             *user_id,
                                                     const char             *message_id,
                                                     const char             *body,
                                                     gint64                  timestamp,
                                                     const char             *reply_to,
                                                     gboolean               *is_new,
                                                     GError                **error);
gboolean        natter_store_set_message_status     (NatterStore            *self,
                                                     const char             *user_id,
                                                     const char             *message_id,
                                                     NatterMessageStatus     status,
                                                     GError                **error);
NatterMessage  *natter_store_get_message            (NatterStore            *self,
                                                     const char             *user_id,
                                                     const char             *message_id,
                                                     GError                **error);
GPtrArray      *natter_store_load_messages          (NatterStore            *self,
                                                     const char             *user_id,
                                                     NatterMessage          *before,
                                                     guint                   limit,
                                                     GError                **error);
gint64          natter_store_count_messages         (NatterStore            *self,
                                                     const char             *user_id,
                                                     GError                **error);
NatterMessage  *natter_store_get_last_message       (NatterStore            *self,
                                                     const char             *user_id,
                                                     GError                **error);
gboolean        natter_store_delete_message         (NatterStore            *self,
                                                     const char             *user_id,
                                                     const char             *message_id,
                                                     GError                **error);
gboolean        natter_store_clear_conversation     (NatterStore            *self,
                                                     const char             *user_id,
                                                     GError                **error);

/* Outbox */
GPtrArray      *natter_store_list_outbox            (NatterStore            *self,
                                                     const char             *user_id,
                                                     GError                **error);
gboolean        natter_store_remove_from_outbox     (NatterStore            *self,
                                                     const char             *user_id,
                                                     const char             *message_id,
                                                     GError                **error);

/* Unread */
guint           natter_store_get_unread_count       (NatterStore            *self,
                                                     const char             *user_id);
guint           natter_store_get_total_unread_count (NatterStore            *self);
gboolean        natter_store_mark_conversation_read (NatterStore            *self,
                                                     const char             *user_id,
                                                     GError                **error);

/* Search */
GPtrArray      *natter_store_search                 (NatterStore            *self,
                                                     const char             *text,
                                                     const char             *user_id,
                                                     guint                   limit,
                                                     GError                **error);

/* natter-store-transfers.c: file transfers, by contact and transfer ID */
gboolean        natter_store_add_transfer    (NatterStore     *self,
                                              NatterTransfer  *transfer,
                                              GError         **error);
gboolean        natter_store_update_transfer (NatterStore     *self,
                                              NatterTransfer  *transfer,
                                              GError         **error);
gboolean        natter_store_update_transfer_progress (NatterStore     *self,
                                                       NatterTransfer  *transfer,
                                                       GError         **error);
NatterTransfer *natter_store_get_transfer    (NatterStore     *self,
                                              const char      *user_id,
                                              const char      *transfer_id,
                                              GError         **error);
GPtrArray      *natter_store_list_transfers  (NatterStore     *self,
                                              const char      *user_id,
                                              gboolean         unfinished_only,
                                              GError         **error);

G_END_DECLS
