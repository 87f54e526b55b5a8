/* natter-media-devices-private.h: the GStreamer side of NatterMediaDevices, for call media
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gst/gst.h>

#include "natter-media-devices.h"

G_BEGIN_DECLS

GstElement *_natter_media_devices_create_element (NatterMediaDevices *self,
                                                  const char         *id,
                                                  char              **used_id);

G_END_DECLS
