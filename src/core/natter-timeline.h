/* natter-timeline.h: a conversation's messages and transfers in time order
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "natter-conversation.h"

G_BEGIN_DECLS

#define NATTER_TYPE_TIMELINE (natter_timeline_get_type ())

G_DECLARE_FINAL_TYPE (NatterTimeline, natter_timeline, NATTER, TIMELINE, GObject)

NatterTimeline     *natter_timeline_new              (NatterConversation *conversation);
NatterConversation *natter_timeline_get_conversation (NatterTimeline     *self);
void                natter_timeline_add_item         (NatterTimeline     *self,
                                                      GObject            *item);
gboolean            natter_timeline_find             (NatterTimeline     *self,
                                                      gpointer            item,
                                                      guint              *position);
gint64              natter_timeline_item_time        (GObject            *item);

G_END_DECLS
