/* natter-peer-media.h: audio and video on a NatterPeer's connection
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * For the calls service inside libnatter-core: this header needs GStreamer,
 * which the app does not see.
 */
#pragma once

#include <gst/gst.h>

#include "natter-peer.h"

G_BEGIN_DECLS

typedef enum
{
  NATTER_MEDIA_KIND_AUDIO,
  NATTER_MEDIA_KIND_VIDEO,
} NatterMediaKind;

gboolean natter_peer_add_media      (NatterPeer       *self,
                                     NatterMediaKind   kind,
                                     GstElement       *source,
                                     GstElement       *sink,
                                     GError          **error);
guint    natter_peer_get_n_media    (NatterPeer       *self);

G_END_DECLS
