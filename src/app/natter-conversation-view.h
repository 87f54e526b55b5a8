/* natter-conversation-view.h: one conversation: messages, typing, compose box
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

#include "natter-client.h"

G_BEGIN_DECLS

#define NATTER_TYPE_CONVERSATION_VIEW (natter_conversation_view_get_type ())

G_DECLARE_FINAL_TYPE (NatterConversationView, natter_conversation_view, NATTER, CONVERSATION_VIEW,
                      GtkBox)

void        natter_conversation_view_set_client    (NatterConversationView *self,
                                                    NatterClient           *client);
void        natter_conversation_view_open          (NatterConversationView *self,
                                                    const char             *contact_id);
const char *natter_conversation_view_get_contact_id (NatterConversationView *self);
gboolean    natter_conversation_view_mark_read     (NatterConversationView *self);
gboolean    natter_conversation_view_start_search  (NatterConversationView *self);
GtkBox     *natter_conversation_view_get_call_box  (NatterConversationView *self);
GtkBox     *natter_conversation_view_get_attach_box (NatterConversationView *self);
NatterClient *natter_conversation_view_get_client  (NatterConversationView *self);
void        natter_conversation_view_show_toast    (NatterConversationView *self,
                                                    const char             *text);

G_END_DECLS
