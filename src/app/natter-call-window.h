/* natter-call-window.h: one call: ringing, the video, the controls
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

#include "natter-client.h"

G_BEGIN_DECLS

#define NATTER_TYPE_CALL_WINDOW (natter_call_window_get_type ())

G_DECLARE_FINAL_TYPE (NatterCallWindow, natter_call_window, NATTER, CALL_WINDOW, AdwWindow)

NatterCallWindow *natter_call_window_new      (GtkApplication *application,
                                               NatterClient   *client,
                                               NatterCall     *call,
                                               const char     *contact_name);
NatterCall       *natter_call_window_get_call (NatterCallWindow *self);

G_END_DECLS
