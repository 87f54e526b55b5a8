/* natter-media-device.h: a camera, microphone or speaker
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

typedef enum
{
  NATTER_MEDIA_DEVICE_CAMERA,
  NATTER_MEDIA_DEVICE_MICROPHONE,
  NATTER_MEDIA_DEVICE_SPEAKER,
} NatterMediaDeviceKind;

#define NATTER_TYPE_MEDIA_DEVICE (natter_media_device_get_type ())

G_DECLARE_FINAL_TYPE (NatterMediaDevice, natter_media_device, NATTER, MEDIA_DEVICE, GObject)

NatterMediaDevice    *natter_media_device_new      (NatterMediaDeviceKind kind,
                                                    const char           *id,
                                                    const char           *name);
NatterMediaDeviceKind natter_media_device_get_kind (NatterMediaDevice    *self);
const char           *natter_media_device_get_id   (NatterMediaDevice    *self);
const char           *natter_media_device_get_name (NatterMediaDevice    *self);

G_END_DECLS
