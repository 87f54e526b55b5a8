/* natter-server-store.h: the server's SQLite database (invitations, handles)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define NATTER_SERVER_INVITATION_ID_LENGTH 32
#define NATTER_SERVER_MAX_PENDING_INVITATIONS 100

typedef enum
{
  NATTER_SERVER_INVITATION_PENDING,
  NATTER_SERVER_INVITATION_ACCEPTED,
  NATTER_SERVER_INVITATION_DECLINED,
} NatterServerInvitationStatus;

typedef struct
{
  char id[NATTER_SERVER_INVITATION_ID_LENGTH + 1];
  char *from;
  char *from_name;  /* nullable: the display name the sender gave */
  char *to;
  char *text;
  gint64 created;
  gint64 expires;
  NatterServerInvitationStatus status;
} NatterServerInvitation;

void         natter_server_invitation_free              (NatterServerInvitation *invitation);
const char  *natter_server_invitation_status_to_string  (NatterServerInvitationStatus status);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NatterServerInvitation, natter_server_invitation_free)

#define NATTER_TYPE_SERVER_STORE (natter_server_store_get_type ())

G_DECLARE_FINAL_TYPE (NatterServerStore, natter_server_store, NATTER, SERVER_STORE, GObject)

/* Errors are in the NATTER_PROTOCOL_ERROR domain: a database failure is
 * NATTER_PROTOCOL_ERROR_INTERNAL, a refused request carries its own code.
 */
NatterServerStore      *natter_server_store_new                 (const char         *data_dir,
                                                                 GError            **error);
void                    natter_server_store_close               (NatterServerStore  *self);

NatterServerInvitation *natter_server_store_invite              (NatterServerStore  *self,
                                                                 const char         *from,
                                                                 const char         *from_name,
                                                                 const char         *to,
                                                                 const char         *text,
                                                                 gint64              now,
                                                                 gint64              ttl,
                                                                 guint               max_per_recipient,
                                                                 GError            **error);
NatterServerInvitation *natter_server_store_answer              (NatterServerStore  *self,
                                                                 const char         *id,
                                                                 const char         *recipient,
                                                                 NatterServerInvitationStatus status,
                                                                 gint64              now,
                                                                 GError            **error);
GPtrArray              *natter_server_store_list_pending        (NatterServerStore  *self,
                                                                 const char         *user,
                                                                 gboolean            incoming,
                                                                 gint64              now,
                                                                 GError            **error);
GPtrArray              *natter_server_store_list_answers        (NatterServerStore  *self,
                                                                 const char         *sender,
                                                                 GError            **error);
gboolean                natter_server_store_delete_invitation   (NatterServerStore  *self,
                                                                 const char         *id,
                                                                 GError            **error);
gboolean                natter_server_store_purge               (NatterServerStore  *self,
                                                                 gint64              now,
                                                                 GError            **error);
gint64                  natter_server_store_count_pending       (NatterServerStore  *self,
                                                                 gint64              now);

gboolean                natter_server_store_register_handle     (NatterServerStore  *self,
                                                                 const char         *handle,
                                                                 const char         *user,
                                                                 GError            **error);
char                   *natter_server_store_lookup_handle       (NatterServerStore  *self,
                                                                 const char         *handle,
                                                                 GError            **error);
gboolean                natter_server_store_release_handle      (NatterServerStore  *self,
                                                                 const char         *handle,
                                                                 const char         *user,
                                                                 GError            **error);
gint64                  natter_server_store_count_handles       (NatterServerStore  *self);

G_END_DECLS
