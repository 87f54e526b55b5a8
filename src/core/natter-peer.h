/* natter-peer.h: one WebRTC peer connection to one contact
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "natter-channel.h"
#include "natter-identity.h"

G_BEGIN_DECLS

/* The largest chat message, in bytes of UTF-8 */
#define NATTER_PEER_MAX_MESSAGE_SIZE        NATTER_CHANNEL_MAX_MESSAGE_SIZE
#define NATTER_PEER_DEFAULT_CONNECT_TIMEOUT 30000 /* ms */
#define NATTER_PEER_CHAT_LABEL              "chat"

typedef enum
{
  NATTER_PEER_STATE_NEW,
  NATTER_PEER_STATE_CONNECTING,
  NATTER_PEER_STATE_CONNECTED,
  NATTER_PEER_STATE_FAILED,
  NATTER_PEER_STATE_CLOSED,
} NatterPeerState;

#define NATTER_TYPE_PEER_STATE (natter_peer_state_get_type ())
GType natter_peer_state_get_type (void) G_GNUC_CONST;

#define NATTER_TYPE_PEER (natter_peer_get_type ())

G_DECLARE_FINAL_TYPE (NatterPeer, natter_peer, NATTER, PEER, GObject)

NatterPeer      *natter_peer_new                     (NatterIdentity  *identity,
                                                      const char      *remote_id,
                                                      JsonArray       *ice_servers,
                                                      gboolean         loopback);

void             natter_peer_prepare                 (void);
void             natter_peer_wait_prepared           (void);
NatterIdentity  *natter_peer_get_identity            (NatterPeer      *self);
const char      *natter_peer_get_remote_id           (NatterPeer      *self);
gboolean         natter_peer_get_loopback            (NatterPeer      *self);
gboolean         natter_peer_get_polite              (NatterPeer      *self);
NatterPeerState  natter_peer_get_state               (NatterPeer      *self);
const char      *natter_peer_get_session_id          (NatterPeer      *self);

JsonArray       *natter_peer_get_ice_servers         (NatterPeer      *self);
void             natter_peer_set_ice_servers         (NatterPeer      *self,
                                                      JsonArray       *ice_servers);
gboolean         natter_peer_get_relay_only          (NatterPeer      *self);
void             natter_peer_set_relay_only          (NatterPeer      *self,
                                                      gboolean         relay_only);
guint            natter_peer_get_connect_timeout     (NatterPeer      *self);
void             natter_peer_set_connect_timeout     (NatterPeer      *self,
                                                      guint            timeout_ms);

void             natter_peer_connect                 (NatterPeer      *self);
void             natter_peer_close                   (NatterPeer      *self);
void             natter_peer_handle_signal           (NatterPeer      *self,
                                                      JsonObject      *payload);

NatterChannel   *natter_peer_get_chat_channel        (NatterPeer      *self);
NatterChannel   *natter_peer_create_channel          (NatterPeer      *self,
                                                      const char      *label,
                                                      GError         **error);
gboolean         natter_peer_send_text               (NatterPeer      *self,
                                                      const char      *text,
                                                      GError         **error);

G_END_DECLS
