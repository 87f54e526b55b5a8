/* natter-server-mailbox.h: messages from any thread, delivered in one main context
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _NatterServerMailbox NatterServerMailbox;

/* Called in the mailbox's context for each message, in the order posted
 * (per posting thread). The message is then freed with the mailbox's
 * GDestroyNotify, if any. */
typedef void (*NatterServerMailboxFunc) (gpointer message,
                                         gpointer user_data);

NatterServerMailbox *natter_server_mailbox_new     (GMainContext            *context,
                                                    NatterServerMailboxFunc  func,
                                                    gpointer                 user_data,
                                                    GDestroyNotify           message_free);
gboolean             natter_server_mailbox_post    (NatterServerMailbox     *self,
                                                    gpointer                 message);
guint                natter_server_mailbox_deliver (NatterServerMailbox     *self);
void                 natter_server_mailbox_close   (NatterServerMailbox     *self);
void                 natter_server_mailbox_free    (NatterServerMailbox     *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NatterServerMailbox, natter_server_mailbox_free)

G_END_DECLS
