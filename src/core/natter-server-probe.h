/* natter-server-probe.h: does a server address answer?
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

void     natter_server_probe_async  (const char           *server_url,
                                     GCancellable         *cancellable,
                                     GAsyncReadyCallback   callback,
                                     gpointer              user_data);
gboolean natter_server_probe_finish (GAsyncResult         *result,
                                     GError              **error);

G_END_DECLS
