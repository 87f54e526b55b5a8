/* natter-contact-row.h: one contact in the sidebar
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

#include "natter-client.h"

G_BEGIN_DECLS

#define NATTER_TYPE_CONTACT_ROW (natter_contact_row_get_type ())

G_DECLARE_FINAL_TYPE (NatterContactRow, natter_contact_row, NATTER, CONTACT_ROW, GtkBox)

NatterContactRow *natter_contact_row_new  (void);
void              natter_contact_row_bind (NatterContactRow *self,
                                           NatterClient     *client,
                                           NatterContact    *contact);

GdkPaintable     *natter_avatar_paintable_new   (GBytes     *avatar);
char             *natter_avatar_initials_source (const char *name);

G_END_DECLS
