/* natter-signaling.h: the client side of the signaling server's WebSocket
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "natter-frame.h"
#include "natter-identity.h"
#include "natter-rendezvous.h"

G_BEGIN_DECLS

typedef enum
{
  NATTER_SIGNALING_STATE_OFFLINE,     /* not started, or stopped */
  NATTER_SIGNALING_STATE_CONNECTING,  /* opening the WebSocket or authenticating */
  NATTER_SIGNALING_STATE_ONLINE,      /* authenticated */
  NATTER_SIGNALING_STATE_WAITING,     /* lost the server; retrying after a delay */
  NATTER_SIGNALING_STATE_REPLACED,    /* the same identity connected elsewhere; not retrying */
} NatterSignalingState;

#define NATTER_TYPE_SIGNALING_STATE (natter_signaling_state_get_type ())
GType natter_signaling_state_get_type (void) G_GNUC_CONST;

#define NATTER_TYPE_SIGNALING (natter_signaling_get_type ())

G_DECLARE_FINAL_TYPE (NatterSignaling, natter_signaling, NATTER, SIGNALING, GObject)

NatterSignaling      *natter_signaling_new                 (NatterIdentity       *identity,
                                                            const char           *url);
const char           *natter_signaling_get_url             (NatterSignaling      *self);
NatterSignalingState  natter_signaling_get_state           (NatterSignaling      *self);
const char           *natter_signaling_get_last_error      (NatterSignaling      *self);
JsonArray            *natter_signaling_get_ice_servers     (NatterSignaling      *self);
guint                 natter_signaling_get_retry_delay_ms  (NatterSignaling      *self);

void                  natter_signaling_start               (NatterSignaling      *self);
void                  natter_signaling_stop                (NatterSignaling      *self);
void                  natter_signaling_reconnect_now       (NatterSignaling      *self);

void                  natter_signaling_set_subscriptions   (NatterSignaling      *self,
                                                            const char * const   *users);
gboolean              natter_signaling_is_user_online      (NatterSignaling      *self,
                                                            const char           *user_id);

gboolean              natter_signaling_send_signal         (NatterSignaling      *self,
                                                            const char           *to,
                                                            JsonObject           *payload,
                                                            GError              **error);

void                  natter_signaling_request_async       (NatterSignaling      *self,
                                                            NatterFrame          *request,
                                                            GCancellable         *cancellable,
                                                            GAsyncReadyCallback   callback,
                                                            gpointer              user_data);
NatterFrame          *natter_signaling_request_finish      (NatterSignaling      *self,
                                                            GAsyncResult         *result,
                                                            GError              **error);

G_END_DECLS
