/* natter-peer-private.h: what tests may reach inside a NatterPeer
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gst/gst.h>

#include "natter-peer.h"

G_BEGIN_DECLS

/* The current attempt's webrtcbin, or NULL; a test plays a misbehaving
 * peer through it (opening channels nobody asked for). */
GstElement *_natter_peer_get_webrtcbin (NatterPeer *self);

G_END_DECLS
