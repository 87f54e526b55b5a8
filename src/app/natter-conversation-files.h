/* natter-conversation-files.h: sending files from a conversation
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "natter-conversation-view.h"

G_BEGIN_DECLS

void     natter_conversation_files_install (NatterConversationView *view,
                                            GtkBox                 *attach_box,
                                            GtkTextView            *compose_view);
gboolean natter_conversation_files_send    (NatterConversationView *view,
                                            GSList                 *files);

G_END_DECLS
