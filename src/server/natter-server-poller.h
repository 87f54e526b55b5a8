/* natter-server-poller.h: one epoll source for all the connections of a main context
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _NatterServerPoller NatterServerPoller;
typedef struct _NatterServerPollerWatch NatterServerPollerWatch;

/* @events: EPOLLIN, EPOLLOUT, EPOLLRDHUP, EPOLLHUP, EPOLLERR as epoll says them */
typedef void (*NatterServerPollerFunc) (guint32  events,
                                        gpointer user_data);

NatterServerPoller      *natter_server_poller_new    (GMainContext            *context,
                                                      GError                 **error);
void                     natter_server_poller_free   (NatterServerPoller      *self);
NatterServerPollerWatch *natter_server_poller_add    (NatterServerPoller      *self,
                                                      int                      fd,
                                                      NatterServerPollerFunc   func,
                                                      gpointer                 user_data,
                                                      GError                 **error);
void                     natter_server_poller_remove (NatterServerPoller      *self,
                                                      NatterServerPollerWatch *watch);
guint                    natter_server_poller_get_n_watches (NatterServerPoller *self);

G_END_DECLS
