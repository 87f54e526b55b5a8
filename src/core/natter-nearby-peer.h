/* natter-nearby-peer.h: someone found on the local network who proved their ID
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define NATTER_TYPE_NEARBY_PEER (natter_nearby_peer_get_type ())

G_DECLARE_FINAL_TYPE (NatterNearbyPeer, natter_nearby_peer, NATTER, NEARBY_PEER, GObject)

NatterNearbyPeer *natter_nearby_peer_new          (const char       *user_id,
                                                   const char       *name,
                                                   const char       *address);
const char       *natter_nearby_peer_get_user_id  (NatterNearbyPeer *self);
const char       *natter_nearby_peer_get_name     (NatterNearbyPeer *self);
const char       *natter_nearby_peer_get_address  (NatterNearbyPeer *self);
void              natter_nearby_peer_set_name     (NatterNearbyPeer *self,
                                                   const char       *name);
void              natter_nearby_peer_set_address  (NatterNearbyPeer *self,
                                                   const char       *address);

G_END_DECLS
