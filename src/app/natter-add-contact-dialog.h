/* natter-add-contact-dialog.h: invite someone by Natter ID or @handle
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

#include "natter-client.h"

G_BEGIN_DECLS

#define NATTER_TYPE_ADD_CONTACT_DIALOG (natter_add_contact_dialog_get_type ())

G_DECLARE_FINAL_TYPE (NatterAddContactDialog, natter_add_contact_dialog, NATTER,
                      ADD_CONTACT_DIALOG, AdwWindow)

NatterAddContactDialog *natter_add_contact_dialog_new         (GtkWindow              *parent,
                                                               NatterClient           *client);
void                    natter_add_contact_dialog_set_user_id (NatterAddContactDialog *self,
                                                               const char             *user_id);

G_END_DECLS
