/* natter-lan.h: a NatterRendezvous on the local network, with no server
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "natter-frame.h"
#include "natter-identity.h"
#include "natter-rendezvous.h"

G_BEGIN_DECLS

/* DNS-SD service type of docs/lan.md */
#define NATTER_LAN_SERVICE_TYPE "_natter._tcp"
/* Where a random port for the listener is taken from */
#define NATTER_LAN_PORT_MIN 49152
#define NATTER_LAN_PORT_MAX 65535

#define NATTER_LAN_ERROR (natter_lan_error_quark ())

/**
 * NatterLanError:
 * @NATTER_LAN_ERROR_NO_AVAHI: no Avahi daemon answers: nearby discovery is unavailable
 * @NATTER_LAN_ERROR_LISTEN: no port could be listened on
 * @NATTER_LAN_ERROR_ADDRESS: a typed address is not `host:port`, or did not answer
 * @NATTER_LAN_ERROR_NOT_NEARBY: the person is not reachable on this network now
 * @NATTER_LAN_ERROR_NOT_SUPPORTED: only a server does this
 */
typedef enum
{
  NATTER_LAN_ERROR_NO_AVAHI,
  NATTER_LAN_ERROR_LISTEN,
  NATTER_LAN_ERROR_ADDRESS,
  NATTER_LAN_ERROR_NOT_NEARBY,
  NATTER_LAN_ERROR_NOT_SUPPORTED,
} NatterLanError;

GQuark natter_lan_error_quark (void);

#define NATTER_TYPE_LAN (natter_lan_get_type ())

G_DECLARE_FINAL_TYPE (NatterLan, natter_lan, NATTER, LAN, GObject)

NatterLan    *natter_lan_new                  (NatterIdentity      *identity,
                                               guint                port);
guint         natter_lan_get_port             (NatterLan           *self);
const GError *natter_lan_get_discovery_error  (NatterLan           *self);
gboolean      natter_lan_get_visible          (NatterLan           *self);
void          natter_lan_set_visible          (NatterLan           *self,
                                               gboolean             visible);
void          natter_lan_set_display_name     (NatterLan           *self,
                                               const char          *name);
GListModel   *natter_lan_get_nearby           (NatterLan           *self);
gboolean      natter_lan_is_nearby            (NatterLan           *self,
                                               const char          *user_id);

gboolean      natter_lan_connect_address      (NatterLan           *self,
                                               const char          *address,
                                               GError             **error);

void          natter_lan_request_async        (NatterLan           *self,
                                               NatterFrame         *request,
                                               GCancellable        *cancellable,
                                               GAsyncReadyCallback  callback,
                                               gpointer             user_data);
NatterFrame  *natter_lan_request_finish       (NatterLan           *self,
                                               GAsyncResult        *result,
                                               GError             **error);

G_END_DECLS
