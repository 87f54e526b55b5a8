/* natter-client-private.h: what NatterClient's files share, and what tests may reach
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * NatterClient is the facade (natter-client.c): the rendezvous, one
 * NatterContactSession per contact, contacts, settings. Its services live
 * beside it: natter-client-chat.c (outbox, receipts, typing),
 * natter-client-profile-exchange.c (profile and picture), and what only a
 * server offers, natter-client-invitations.c and natter-client-rooms.c.
 */
#pragma once

#include "natter-client.h"
#include "natter-lan.h"
#include "natter-pending-invitations.h"
#include "natter-protocol.h"

G_BEGIN_DECLS

typedef struct _NatterClientCalls NatterClientCalls;

struct _NatterClient
{
  GObject          parent_instance;

  NatterIdentity  *identity;
  NatterStore     *store;
  NatterRendezvous *rendezvous;
  NatterSignaling *signaling;    /* the rendezvous when it is a server, or NULL */
  NatterLan       *lan;          /* the rendezvous when it is the local network, or NULL */
  char            *server_url;

  GHashTable      *sessions;     /* contact id -> NatterContactSession */
  NatterPendingInvitations *pending_invitations;

  char            *profile_name;
  char            *profile_bio;
  GBytes          *avatar;
  char            *avatar_sha256;
  JsonArray       *ice_override;
  guint            connect_timeout_ms;
  gboolean         loopback;
  gboolean         relay_only;
  gboolean         send_read_receipts;
  gboolean         send_typing;

  /* The transfer service's: "contact/id" -> its live transfer */
  GHashTable      *transfers;
  char            *download_folder;
  guint64          auto_accept_max;

  guint64          envelopes_sent;
  guint64          envelopes_received;

  NatterClientCalls *calls;      /* natter-client-calls.c */
};

/* NatterClient's signals, which its services emit too */
enum {
  MESSAGE_ADDED,
  MESSAGE_STATUS_CHANGED,
  TYPING_CHANGED,
  PRESENCE_CHANGED,
  PEER_STATE_CHANGED,
  CONTACT_CHANGED,
  INVITATION_RECEIVED,
  INVITATION_ANSWERED,
  ROOM_EVENT,
  TRUST_FAILURE,
  CONVERSATION_READ,
  MESSAGE_DELETED,
  CONVERSATION_CLEARED,
  MESSAGE_REFUSED,
  STORE_FAILED,
  TRANSFER_ADDED,
  TRANSFER_STARTED,
  N_SIGNALS
};

extern guint _natter_client_signals[N_SIGNALS];


NatterContact *_natter_client_lookup_contact     (NatterClient  *self,
                                                  const char    *contact_id);
gboolean       _natter_client_is_allowed_peer    (NatterClient  *self,
                                                  const char    *contact_id);
NatterContactSession *_natter_client_get_session (NatterClient  *self,
                                                  const char    *contact_id);
void           _natter_client_flush_outbox       (NatterClient  *self,
                                                  const char    *contact_id);
gboolean       _natter_client_check_server       (NatterClient  *self,
                                                  GTask         *task);
gboolean       _natter_client_check_invitations  (NatterClient  *self,
                                                  GTask         *task);
void           _natter_client_request_async      (NatterClient  *self,
                                                  NatterFrame   *frame,
                                                  GCancellable  *cancellable,
                                                  GAsyncReadyCallback callback,
                                                  gpointer       user_data);
NatterFrame   *_natter_client_request_finish     (GTask         *task,
                                                  GObject       *source,
                                                  GAsyncResult  *result);
gpointer       _natter_client_task_finish        (NatterClient  *self,
                                                  GAsyncResult  *result,
                                                  GError       **error);

/* natter-client-chat.c */
gboolean       _natter_client_has_outbox         (NatterClient  *self,
                                                  const char    *contact_id);
void           _natter_client_chat_opened        (NatterClient  *self,
                                                  NatterContactSession *session);
void           _natter_client_chat_message       (NatterClient  *self,
                                                  NatterContactSession *session,
                                                  const char    *text);
void           _natter_client_message_added      (NatterClient  *self,
                                                  NatterMessage *message);

/* natter-client-profile-exchange.c */
void           _natter_client_send_profile       (NatterClient  *self,
                                                  NatterContactSession *session);
void           _natter_client_profile_envelope   (NatterClient  *self,
                                                  NatterContactSession *session,
                                                  JsonObject    *envelope);
void           _natter_client_avatar_envelope    (NatterClient  *self,
                                                  NatterContactSession *session,
                                                  JsonObject    *envelope);

/* natter-client-transfers.c */
void           _natter_client_transfers_init     (NatterClient  *self);
void           _natter_client_transfers_clear    (NatterClient  *self);
void           _natter_client_transfer_envelope  (NatterClient  *self,
                                                  NatterContactSession *session,
                                                  NatterEnvelopeType type,
                                                  JsonObject    *envelope);
void           _natter_client_transfers_chat_opened (NatterClient *self,
                                                  NatterContactSession *session);
gboolean       _natter_client_transfer_channel   (NatterClient  *self,
                                                  NatterContactSession *session,
                                                  NatterChannel *channel);
gboolean       _natter_client_has_pending_transfers (NatterClient *self,
                                                  const char    *contact_id);
/* natter-client-calls.c */
NatterClientCalls *_natter_client_calls_new      (void);
void           _natter_client_calls_class_init   (GType          type);
void           _natter_client_calls_free         (NatterClient  *self,
                                                  NatterClientCalls *calls);
void           _natter_client_calls_stop         (NatterClient  *self);
void           _natter_client_call_envelope      (NatterClient  *self,
                                                  NatterContactSession *session,
                                                  JsonObject    *envelope);
gboolean       _natter_client_calls_signal       (NatterClient  *self,
                                                  const char    *from,
                                                  JsonObject    *payload);
void           _natter_client_calls_chat_opened  (NatterClient  *self,
                                                  NatterContactSession *session);
void           _natter_client_calls_contact_offline (NatterClient *self,
                                                     const char   *contact_id);

/* natter-client-invitations.c */
void           _natter_client_invitation_frame   (NatterClient  *self,
                                                  NatterFrame   *frame);

/* natter-client-rooms.c */
void           _natter_client_room_frame         (NatterClient  *self,
                                                  NatterFrame   *frame);


/* Sends @text as it is on the contact's open chat channel: a test plays a
 * peer that sends what an honest client never would. */
gboolean _natter_client_send_envelope (NatterClient  *self,
                                       const char    *contact_id,
                                       const char    *text,
                                       GError       **error);

G_END_DECLS
