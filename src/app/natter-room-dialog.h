/* natter-room-dialog.h: meet people in a named room and invite them
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

#include "natter-client.h"

G_BEGIN_DECLS

#define NATTER_TYPE_ROOM_DIALOG (natter_room_dialog_get_type ())

G_DECLARE_FINAL_TYPE (NatterRoomDialog, natter_room_dialog, NATTER, ROOM_DIALOG, AdwWindow)

NatterRoomDialog *natter_room_dialog_new (GtkWindow    *parent,
                                          NatterClient *client);

G_END_DECLS
