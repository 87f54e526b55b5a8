/* natter-server-worker.h: a thread with a main context of its own and a mailbox
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _NatterServerWorker NatterServerWorker;

typedef void (*NatterServerWorkerFunc) (gpointer data);

NatterServerWorker *natter_server_worker_new         (const char             *name);
GMainContext       *natter_server_worker_get_context (NatterServerWorker     *self);
gboolean            natter_server_worker_is_current  (NatterServerWorker     *self);
gboolean            natter_server_worker_invoke      (NatterServerWorker     *self,
                                                      NatterServerWorkerFunc  func,
                                                      gpointer                data,
                                                      GDestroyNotify          destroy);
void                natter_server_worker_free        (NatterServerWorker     *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NatterServerWorker, natter_server_worker_free)

G_END_DECLS
