/* natter-ice-servers.h: the browser's RTCIceServer list, as webrtcbin takes it
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

void natter_ice_servers_to_uris (JsonArray   *ice_servers,
                                 char       **stun_uri,
                                 GStrv       *turn_uris);

G_END_DECLS
