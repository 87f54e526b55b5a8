/* natter-call-row.h: one call in a conversation
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

#include "natter-client.h"

G_BEGIN_DECLS

#define NATTER_TYPE_CALL_ROW (natter_call_row_get_type ())

G_DECLARE_FINAL_TYPE (NatterCallRow, natter_call_row, NATTER, CALL_ROW, GtkBox)

NatterCallRow *natter_call_row_new      (void);
void           natter_call_row_set_call (NatterCallRow *self,
                                         NatterCall    *call);
NatterCall    *natter_call_row_get_call (NatterCallRow *self);

char          *natter_call_row_format_duration (guint seconds);

G_END_DECLS
