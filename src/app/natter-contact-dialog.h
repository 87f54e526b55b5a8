/* natter-contact-dialog.h: a contact's details: name, blocking, safety number
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

#include "natter-client.h"

G_BEGIN_DECLS

#define NATTER_TYPE_CONTACT_DIALOG (natter_contact_dialog_get_type ())

G_DECLARE_FINAL_TYPE (NatterContactDialog, natter_contact_dialog, NATTER, CONTACT_DIALOG, AdwWindow)

NatterContactDialog *natter_contact_dialog_new (GtkWindow    *parent,
                                                NatterClient *client,
                                                const char   *contact_id);

G_END_DECLS
