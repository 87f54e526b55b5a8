/* natter-device-row.h: a choice of camera, microphone or speaker
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

#include "natter-client.h"

G_BEGIN_DECLS

#define NATTER_TYPE_DEVICE_ROW (natter_device_row_get_type ())

G_DECLARE_FINAL_TYPE (NatterDeviceRow, natter_device_row, NATTER, DEVICE_ROW, AdwComboRow)

void        natter_device_row_bind      (NatterDeviceRow *self,
                                         GSettings       *settings,
                                         const char      *key);
void        natter_device_row_select    (NatterDeviceRow *self,
                                         const char      *id);
const char *natter_device_row_get_id    (NatterDeviceRow *self);

G_END_DECLS
