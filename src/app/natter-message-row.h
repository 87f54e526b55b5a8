/* natter-message-row.h: one message in a conversation
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

#include "natter-client.h"

G_BEGIN_DECLS

#define NATTER_TYPE_MESSAGE_ROW (natter_message_row_get_type ())

G_DECLARE_FINAL_TYPE (NatterMessageRow, natter_message_row, NATTER, MESSAGE_ROW, GtkBox)

NatterMessageRow *natter_message_row_new  (void);
void              natter_message_row_bind (NatterMessageRow *self,
                                           NatterClient     *client,
                                           NatterMessage    *message,
                                           NatterMessage    *previous,
                                           const char       *sender_name,
                                           gboolean          first_unread);
void              natter_message_row_popup_menu   (NatterMessageRow *self);
NatterMessage    *natter_message_row_get_message  (NatterMessageRow *self);

const char       *natter_message_row_status_label (NatterMessageStatus status);

G_END_DECLS
