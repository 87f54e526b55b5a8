/* natter-transfer-row.h: one file transfer in a conversation
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

#include "natter-client.h"

G_BEGIN_DECLS

#define NATTER_TYPE_TRANSFER_ROW (natter_transfer_row_get_type ())

G_DECLARE_FINAL_TYPE (NatterTransferRow, natter_transfer_row, NATTER, TRANSFER_ROW, GtkBox)

NatterTransferRow *natter_transfer_row_new          (void);
void               natter_transfer_row_bind         (NatterTransferRow *self,
                                                     NatterClient      *client,
                                                     NatterTransfer    *transfer,
                                                     const char        *contact_name);
NatterTransfer    *natter_transfer_row_get_transfer (NatterTransferRow *self);
char              *natter_transfer_row_describe     (NatterTransfer    *transfer,
                                                     const char        *contact_name);

G_END_DECLS
