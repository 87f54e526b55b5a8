/* natter-conversation.h: one contact's messages as a GListModel
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "natter-client.h"

G_BEGIN_DECLS

#define NATTER_CONVERSATION_PAGE_SIZE 100
/* The most calls of the history a conversation shows */
#define NATTER_CONVERSATION_CALLS 1000

#define NATTER_TYPE_CONVERSATION (natter_conversation_get_type ())

G_DECLARE_FINAL_TYPE (NatterConversation, natter_conversation, NATTER, CONVERSATION, GObject)

NatterConversation *natter_conversation_new             (NatterClient       *client,
                                                         const char         *contact_id);
const char         *natter_conversation_get_contact_id  (NatterConversation *self);
gboolean            natter_conversation_get_has_older   (NatterConversation *self);
gboolean            natter_conversation_get_typing      (NatterConversation *self);
gboolean            natter_conversation_load_older      (NatterConversation *self);

G_END_DECLS
