/* natter-channel-private.h: how a NatterPeer drives its NatterChannels
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A NatterChannel never sees webrtcbin's threads: the peer's event bridge
 * (natter-peer-events.c) brings what its data channel did to the main
 * context, and the peer hands it on through these calls.
 */
#pragma once

#include <gst/gst.h>
#define GST_USE_UNSTABLE_API
#include <gst/webrtc/webrtc.h>

#include "natter-channel.h"

G_BEGIN_DECLS

/* Pace sends: stop writing while more than this is buffered in webrtcbin,
 * resume when it says the buffer went below the low mark. Well below
 * usrsctp's 1 MiB send buffer, where sctpenc would start to sleep. */
#define NATTER_CHANNEL_BUFFERED_HIGH (256 * 1024)
#define NATTER_CHANNEL_BUFFERED_LOW  (64 * 1024)
/* What a held channel keeps of what arrives before its owner takes it */
#define NATTER_CHANNEL_HELD_MAX      16

/* A channel the other side made (@remote) is held until it is released */
NatterChannel        *_natter_channel_new              (GstWebRTCDataChannel *channel,
                                                        gboolean              remote);
GstWebRTCDataChannel *_natter_channel_get_data_channel (NatterChannel        *self);
gboolean              _natter_channel_is_remote        (NatterChannel        *self);
gboolean              _natter_channel_is_held          (NatterChannel        *self);
gboolean              _natter_channel_check_text       (const char           *text,
                                                        GError              **error);

void                  _natter_channel_opened           (NatterChannel        *self);
void                  _natter_channel_closed           (NatterChannel        *self);
void                  _natter_channel_failed           (NatterChannel        *self,
                                                        const char           *message);
gboolean              _natter_channel_receive          (NatterChannel        *self,
                                                        const char           *text,
                                                        GBytes               *bytes);
void                  _natter_channel_release          (NatterChannel        *self);
void                  _natter_channel_buffered_low     (NatterChannel        *self);

G_END_DECLS
