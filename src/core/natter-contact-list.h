/* natter-contact-list.h: the contacts as a GListModel, most recent conversation first
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "natter-client.h"

G_BEGIN_DECLS

#define NATTER_TYPE_CONTACT_LIST (natter_contact_list_get_type ())

G_DECLARE_FINAL_TYPE (NatterContactList, natter_contact_list, NATTER, CONTACT_LIST, GObject)

NatterContactList *natter_contact_list_new     (NatterClient      *client);
void               natter_contact_list_reload  (NatterContactList *self);

G_END_DECLS
