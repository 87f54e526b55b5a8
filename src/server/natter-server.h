/* natter-server.h: the natter signaling and presence server
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "natter-server-config.h"

G_BEGIN_DECLS

#define NATTER_TYPE_SERVER (natter_server_get_type ())

G_DECLARE_FINAL_TYPE (NatterServer, natter_server, NATTER, SERVER, GObject)

NatterServer *natter_server_new                 (NatterServerConfig  *config,
                                                 GError             **error);
gboolean      natter_server_listen              (NatterServer        *self,
                                                 GError             **error);
guint         natter_server_get_port            (NatterServer        *self);
guint         natter_server_get_n_connections   (NatterServer        *self);
void          natter_server_shutdown            (NatterServer        *self);

G_END_DECLS
