/* natter-window.h: the main window: contacts beside a conversation
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

#include "natter-application.h"

G_BEGIN_DECLS

#define NATTER_TYPE_WINDOW (natter_window_get_type ())

G_DECLARE_FINAL_TYPE (NatterWindow, natter_window, NATTER, WINDOW, AdwApplicationWindow)

NatterWindow *natter_window_new               (NatterApplication *application);
void          natter_window_open_conversation (NatterWindow      *self,
                                               const char        *contact_id);
void          natter_window_add_toast         (NatterWindow      *self,
                                               const char        *message);
void          natter_window_add_notice        (NatterWindow      *self,
                                               const char        *message,
                                               const char        *button_label,
                                               const char        *action_name);
void          natter_window_add_contact       (NatterWindow      *self,
                                               const char        *user_id);

G_END_DECLS
