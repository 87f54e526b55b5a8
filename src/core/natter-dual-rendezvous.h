/* natter-dual-rendezvous.h: a server and the local network together
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "natter-lan.h"
#include "natter-rendezvous.h"

G_BEGIN_DECLS

/**
 * NatterRoute:
 * @NATTER_ROUTE_NONE: the contact cannot be reached now
 * @NATTER_ROUTE_NEARBY: on this network, directly
 * @NATTER_ROUTE_SERVER: through the server
 *
 * How signal payloads reach a contact (what the conversation header says).
 */
typedef enum
{
  NATTER_ROUTE_NONE,
  NATTER_ROUTE_NEARBY,
  NATTER_ROUTE_SERVER,
} NatterRoute;

#define NATTER_TYPE_ROUTE (natter_route_get_type ())
GType natter_route_get_type (void) G_GNUC_CONST;

#define NATTER_TYPE_DUAL_RENDEZVOUS (natter_dual_rendezvous_get_type ())

G_DECLARE_FINAL_TYPE (NatterDualRendezvous, natter_dual_rendezvous, NATTER, DUAL_RENDEZVOUS,
                      GObject)

NatterDualRendezvous *natter_dual_rendezvous_new        (NatterRendezvous     *server,
                                                         NatterRendezvous     *nearby);
NatterRendezvous     *natter_dual_rendezvous_get_server (NatterDualRendezvous *self);
NatterLan            *natter_dual_rendezvous_get_lan    (NatterDualRendezvous *self);
NatterRoute           natter_dual_rendezvous_get_route  (NatterDualRendezvous *self,
                                                         const char           *user_id);

G_END_DECLS
