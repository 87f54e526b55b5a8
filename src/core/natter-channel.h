/* natter-channel.h: one WebRTC data channel of a NatterPeer
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* The largest message, in bytes (webrtcbin writes no a=max-message-size,
 * and larger SCTP messages fail) */
#define NATTER_CHANNEL_MAX_MESSAGE_SIZE 65536

typedef enum
{
  NATTER_CHANNEL_STATE_CONNECTING,
  NATTER_CHANNEL_STATE_OPEN,
  NATTER_CHANNEL_STATE_CLOSING,
  NATTER_CHANNEL_STATE_CLOSED,
} NatterChannelState;

#define NATTER_TYPE_CHANNEL_STATE (natter_channel_state_get_type ())
GType natter_channel_state_get_type (void) G_GNUC_CONST;

#define NATTER_TYPE_CHANNEL (natter_channel_get_type ())

G_DECLARE_FINAL_TYPE (NatterChannel, natter_channel, NATTER, CHANNEL, GObject)

const char         *natter_channel_get_label        (NatterChannel  *self);
NatterChannelState  natter_channel_get_state        (NatterChannel  *self);
guint64             natter_channel_get_queued_bytes (NatterChannel  *self);
gboolean            natter_channel_is_drained       (NatterChannel  *self);

gboolean            natter_channel_send_text        (NatterChannel  *self,
                                                     const char     *text,
                                                     GError        **error);
gboolean            natter_channel_send_bytes       (NatterChannel  *self,
                                                     GBytes         *bytes,
                                                     GError        **error);
void                natter_channel_close            (NatterChannel  *self);

G_END_DECLS
