/* natter-client.h: the headless messenger that the CLI and the app talk to
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "natter-contact-session.h"
#include "natter-dual-rendezvous.h"
#include "natter-identity.h"
#include "natter-invitation.h"
#include "natter-message.h"
#include "natter-peer.h"
#include "natter-rendezvous.h"
#include "natter-signaling.h"
#include "natter-store.h"
#include "natter-transfer.h"

G_BEGIN_DECLS

#define NATTER_CLIENT_ERROR (natter_client_error_quark ())

typedef enum
{
  NATTER_CLIENT_ERROR_NOT_A_CONTACT,
  NATTER_CLIENT_ERROR_BLOCKED,
  NATTER_CLIENT_ERROR_INVALID_MESSAGE,
  NATTER_CLIENT_ERROR_NOT_FOUND,
  NATTER_CLIENT_ERROR_INVALID_AVATAR,
} NatterClientError;

/* Profile pictures are at most this many pixels wide and high */
#define NATTER_AVATAR_MAX_PIXELS 4096

#define NATTER_TYPE_CLIENT (natter_client_get_type ())

G_DECLARE_FINAL_TYPE (NatterClient, natter_client, NATTER, CLIENT, GObject)

GQuark           natter_client_error_quark            (void);

NatterClient    *natter_client_new                    (NatterIdentity       *identity,
                                                       NatterStore          *store,
                                                       const char           *server_url);
NatterClient    *natter_client_new_with_rendezvous    (NatterIdentity       *identity,
                                                       NatterStore          *store,
                                                       NatterRendezvous     *rendezvous);
NatterIdentity  *natter_client_get_identity           (NatterClient         *self);
NatterStore     *natter_client_get_store              (NatterClient         *self);
NatterRendezvous *natter_client_get_rendezvous       (NatterClient         *self);
NatterSignaling *natter_client_get_signaling          (NatterClient         *self);
const char      *natter_client_get_user_id            (NatterClient         *self);

void             natter_client_set_loopback           (NatterClient         *self,
                                                       gboolean              loopback);
gboolean         natter_client_get_loopback           (NatterClient         *self);
void             natter_client_set_relay_only         (NatterClient         *self,
                                                       gboolean              relay_only);
gboolean         natter_client_get_relay_only         (NatterClient         *self);
void             natter_client_set_connect_timeout    (NatterClient         *self,
                                                       guint                 timeout_ms);
guint            natter_client_get_connect_timeout    (NatterClient         *self);
void             natter_client_set_send_read_receipts (NatterClient         *self,
                                                       gboolean              enabled);
gboolean         natter_client_get_send_read_receipts (NatterClient         *self);
void             natter_client_set_send_typing        (NatterClient         *self,
                                                       gboolean              enabled);
gboolean         natter_client_get_send_typing        (NatterClient         *self);
void             natter_client_set_ice_servers_override (NatterClient       *self,
                                                         JsonArray          *ice_servers);
void             natter_client_set_profile            (NatterClient         *self,
                                                       const char           *name,
                                                       const char           *bio);

gboolean         natter_client_validate_avatar        (GBytes               *avatar,
                                                       GError              **error);
gboolean         natter_client_set_avatar             (NatterClient         *self,
                                                       GBytes               *avatar,
                                                       GError              **error);

void             natter_client_start                  (NatterClient         *self);
void             natter_client_stop                   (NatterClient         *self);
gboolean         natter_client_has_unsent             (NatterClient         *self);

NatterPeerState  natter_client_get_peer_state         (NatterClient         *self,
                                                       const char           *contact_id);
NatterContactSession *natter_client_get_session      (NatterClient         *self,
                                                       const char           *contact_id);
gboolean         natter_client_is_contact_online      (NatterClient         *self,
                                                       const char           *contact_id);
NatterRoute      natter_client_get_route              (NatterClient         *self,
                                                       const char           *contact_id);
NatterLan       *natter_client_get_lan                (NatterClient         *self);
gboolean         natter_client_is_invitation_pending  (NatterClient         *self,
                                                       const char           *contact_id);

void             natter_client_connect_to             (NatterClient         *self,
                                                       const char           *contact_id);

NatterMessage   *natter_client_send_message           (NatterClient         *self,
                                                       const char           *contact_id,
                                                       const char           *body,
                                                       GError              **error);
NatterMessage   *natter_client_send_reply             (NatterClient         *self,
                                                       const char           *contact_id,
                                                       const char           *body,
                                                       const char           *reply_to,
                                                       GError              **error);
gboolean         natter_client_retry_message          (NatterClient         *self,
                                                       const char           *contact_id,
                                                       const char           *message_id,
                                                       GError              **error);
gboolean         natter_client_delete_message         (NatterClient         *self,
                                                       const char           *contact_id,
                                                       const char           *message_id,
                                                       GError              **error);
void             natter_client_send_typing            (NatterClient         *self,
                                                       const char           *contact_id,
                                                       gboolean              active);
gboolean         natter_client_mark_read              (NatterClient         *self,
                                                       const char           *contact_id,
                                                       GError              **error);

NatterContact   *natter_client_add_contact            (NatterClient         *self,
                                                       const char           *user_id,
                                                       const char           *name,
                                                       GError              **error);
gboolean         natter_client_set_blocked            (NatterClient         *self,
                                                       const char           *contact_id,
                                                       gboolean              blocked,
                                                       GError              **error);
gboolean         natter_client_rename_contact         (NatterClient         *self,
                                                       const char           *contact_id,
                                                       const char           *alias,
                                                       GError              **error);
gboolean         natter_client_set_verified           (NatterClient         *self,
                                                       const char           *contact_id,
                                                       gboolean              verified,
                                                       GError              **error);
gboolean         natter_client_remove_contact         (NatterClient         *self,
                                                       const char           *contact_id,
                                                       GError              **error);
gboolean         natter_client_clear_conversation     (NatterClient         *self,
                                                       const char           *contact_id,
                                                       GError              **error);

void             natter_client_lookup_handle_async    (NatterClient         *self,
                                                       const char           *handle,
                                                       GCancellable         *cancellable,
                                                       GAsyncReadyCallback   callback,
                                                       gpointer              user_data);
char            *natter_client_lookup_handle_finish   (NatterClient         *self,
                                                       GAsyncResult         *result,
                                                       GError              **error);
void             natter_client_invite_async           (NatterClient         *self,
                                                       const char           *id_or_handle,
                                                       const char           *text,
                                                       GCancellable         *cancellable,
                                                       GAsyncReadyCallback   callback,
                                                       gpointer              user_data);
NatterInvitation *natter_client_invite_finish         (NatterClient         *self,
                                                       GAsyncResult         *result,
                                                       GError              **error);
void             natter_client_list_invitations_async   (NatterClient       *self,
                                                         GCancellable       *cancellable,
                                                         GAsyncReadyCallback callback,
                                                         gpointer            user_data);
GPtrArray       *natter_client_list_invitations_finish  (NatterClient       *self,
                                                         GAsyncResult       *result,
                                                         GError            **error);
void             natter_client_answer_invitation_async  (NatterClient       *self,
                                                         const char         *invitation_id,
                                                         gboolean            accept,
                                                         GCancellable       *cancellable,
                                                         GAsyncReadyCallback callback,
                                                         gpointer            user_data);
NatterInvitation *natter_client_answer_invitation_finish (NatterClient      *self,
                                                         GAsyncResult       *result,
                                                         GError            **error);

void             natter_client_join_room_async        (NatterClient         *self,
                                                       const char           *room,
                                                       GCancellable         *cancellable,
                                                       GAsyncReadyCallback   callback,
                                                       gpointer              user_data);
char           **natter_client_join_room_finish       (NatterClient         *self,
                                                       GAsyncResult         *result,
                                                       GError              **error);
void             natter_client_leave_room             (NatterClient         *self,
                                                       const char           *room);
void             natter_client_query_presence_async   (NatterClient         *self,
                                                       const char * const   *users,
                                                       GCancellable         *cancellable,
                                                       GAsyncReadyCallback   callback,
                                                       gpointer              user_data);
char           **natter_client_query_presence_finish  (NatterClient         *self,
                                                       GAsyncResult         *result,
                                                       GError              **error);

guint64          natter_client_get_envelopes_sent     (NatterClient         *self);
guint64          natter_client_get_envelopes_received (NatterClient         *self);

void             natter_client_claim_handle_async     (NatterClient         *self,
                                                       const char           *handle,
                                                       GCancellable         *cancellable,
                                                       GAsyncReadyCallback   callback,
                                                       gpointer              user_data);
char            *natter_client_claim_handle_finish    (NatterClient         *self,
                                                       GAsyncResult         *result,
                                                       GError              **error);
void             natter_client_release_handle_async   (NatterClient         *self,
                                                       const char           *handle,
                                                       GCancellable         *cancellable,
                                                       GAsyncReadyCallback   callback,
                                                       gpointer              user_data);
gboolean         natter_client_release_handle_finish  (NatterClient         *self,
                                                       GAsyncResult         *result,
                                                       GError              **error);

/* natter-client-transfers.c */
NatterTransfer  *natter_client_send_file              (NatterClient         *self,
                                                       const char           *contact_id,
                                                       GFile                *file,
                                                       const char           *name,
                                                       GError              **error);
gboolean         natter_client_accept_transfer        (NatterClient         *self,
                                                       NatterTransfer       *transfer,
                                                       GFile                *folder,
                                                       GError              **error);
gboolean         natter_client_decline_transfer       (NatterClient         *self,
                                                       NatterTransfer       *transfer,
                                                       GError              **error);
gboolean         natter_client_resume_transfer        (NatterClient         *self,
                                                       NatterTransfer       *transfer,
                                                       GError              **error);
gboolean         natter_client_cancel_transfer        (NatterClient         *self,
                                                       NatterTransfer       *transfer,
                                                       GError              **error);
GPtrArray       *natter_client_list_transfers         (NatterClient         *self,
                                                       const char           *contact_id,
                                                       GError              **error);
void             natter_client_set_download_folder    (NatterClient         *self,
                                                       const char           *folder);
void             natter_client_set_auto_accept_size   (NatterClient         *self,
                                                       guint64               max_size);
guint64          natter_client_get_auto_accept_size   (NatterClient         *self);

G_END_DECLS

#include "natter-client-calls.h"
