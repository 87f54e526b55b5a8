/* natter-contact-session-private.h: what NatterClient's files do with a session
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "natter-client.h"
#include "natter-contact-session.h"

G_BEGIN_DECLS

/* The session's signals, emitted by NatterClient's services */
enum {
  SESSION_MESSAGE_ADDED,
  SESSION_MESSAGE_STATUS_CHANGED,
  SESSION_MESSAGE_DELETED,
  SESSION_MESSAGE_REFUSED,
  SESSION_CONVERSATION_READ,
  SESSION_CONVERSATION_CLEARED,
  SESSION_CONTACT_CHANGED,
  SESSION_TRANSFER_ADDED,
  SESSION_N_SIGNALS
};

extern guint _natter_contact_session_signals[SESSION_N_SIGNALS];

struct _NatterContactSession
{
  GObject          parent_instance;

  NatterClient    *client;       /* unowned: the client owns its sessions */
  char            *contact_id;

  NatterPeer      *peer;
  NatterChannel   *chat;         /* the peer's chat channel, once open and trusted */
  gboolean         chat_open;
  guint            retry_source;
  guint            attempts;

  /* The chat service's: what was sent on this connection and not confirmed */
  GHashTable      *sent_ids;
  guint            resend_source;
  guint            resend_attempts;
  guint            typing_source;

  /* The profile exchange's: an avatar on its way in */
  char            *avatar_sha256;
  GPtrArray       *avatar_chunks;   /* GBytes, NULL where missing */

  gboolean         online;
  NatterPeerState  peer_state;
  gboolean         typing;
  gboolean         verified;
  char            *trust_failure;
};

NatterContactSession *_natter_contact_session_new           (NatterClient         *client,
                                                             const char           *contact_id);
void                  _natter_contact_session_detach        (NatterContactSession *self);
NatterPeer           *_natter_contact_session_ensure_peer   (NatterContactSession *self,
                                                             gboolean              initiate);
void                  _natter_contact_session_drop_peer     (NatterContactSession *self);
void                  _natter_contact_session_close_now     (NatterContactSession *self);
gboolean              _natter_contact_session_send_text     (NatterContactSession *self,
                                                             const char           *text,
                                                             GError              **error);
void                  _natter_contact_session_set_online    (NatterContactSession *self,
                                                             gboolean              online);
void                  _natter_contact_session_set_peer_state (NatterContactSession *self,
                                                              NatterPeerState       state);
void                  _natter_contact_session_set_typing    (NatterContactSession *self,
                                                             gboolean              typing,
                                                             guint                 expiry_s);
void                  _natter_contact_session_set_verified  (NatterContactSession *self,
                                                             gboolean              verified);

G_END_DECLS
