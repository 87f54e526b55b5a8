/* natter-media-devices.h: the cameras, microphones or speakers there are now
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "natter-media-device.h"

G_BEGIN_DECLS

#define NATTER_TYPE_MEDIA_DEVICES (natter_media_devices_get_type ())

G_DECLARE_FINAL_TYPE (NatterMediaDevices, natter_media_devices, NATTER, MEDIA_DEVICES, GObject)

NatterMediaDevices   *natter_media_devices_new      (NatterMediaDeviceKind kind);
NatterMediaDeviceKind natter_media_devices_get_kind (NatterMediaDevices   *self);
NatterMediaDevice    *natter_media_devices_find     (NatterMediaDevices   *self,
                                                     const char           *id);

G_END_DECLS
