/* natter-profile-dialog.h: what contacts see of you, and your Natter ID
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

#include "natter-application.h"

G_BEGIN_DECLS

#define NATTER_TYPE_PROFILE_DIALOG (natter_profile_dialog_get_type ())

G_DECLARE_FINAL_TYPE (NatterProfileDialog, natter_profile_dialog, NATTER, PROFILE_DIALOG, AdwWindow)

NatterProfileDialog *natter_profile_dialog_new (GtkWindow         *parent,
                                                NatterApplication *application);

G_END_DECLS
