/* natter-rendezvous.c: how peers find each other and pass signal payloads
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "natter-rendezvous"

#include "config.h"

#include "natter-rendezvous.h"

enum {
  PRESENCE_CHANGED,
  SIGNAL_RECEIVED,
  SIGNAL_FAILED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_INTERFACE (NatterRendezvous, natter_rendezvous, G_TYPE_OBJECT)

static void
natter_rendezvous_default_init (NatterRendezvousInterface *iface)
{
  GType type = G_TYPE_FROM_INTERFACE (iface);

  /**
   * NatterRendezvous:online:
   *
   * Whether the rendezvous can pass payloads now (for NatterSignaling:
   * authenticated to the server).
   */
  g_object_interface_install_property (iface,
                                       g_param_spec_boolean ("online", NULL, NULL, FALSE,
                                                             G_PARAM_READABLE |
                                                             G_PARAM_EXPLICIT_NOTIFY |
                                                             G_PARAM_STATIC_STRINGS));

  /**
   * NatterRendezvous::presence-changed:
   * @user: the user ID
   * @online: whether the user can be reached now
   */
  signals[PRESENCE_CHANGED] =
    g_signal_new ("presence-changed", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_BOOLEAN);

  /**
   * NatterRendezvous::signal-received:
   * @from: the sender, as the rendezvous authenticated them
   * @payload: (type JsonObject): what the sender's peer connection sent
   */
  signals[SIGNAL_RECEIVED] =
    g_signal_new ("signal-received", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_STRING, JSON_TYPE_OBJECT);

  /**
   * NatterRendezvous::signal-failed:
   * @to: the recipient a payload did not reach
   * @code: a #NatterProtocolError, usually peer-offline
   */
  signals[SIGNAL_FAILED] =
    g_signal_new ("signal-failed", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_INT);
}

void
natter_rendezvous_start (NatterRendezvous *self)
{
  g_return_if_fail (NATTER_IS_RENDEZVOUS (self));

  NATTER_RENDEZVOUS_GET_IFACE (self)->start (self);
}

void
natter_rendezvous_stop (NatterRendezvous *self)
{
  g_return_if_fail (NATTER_IS_RENDEZVOUS (self));

  NATTER_RENDEZVOUS_GET_IFACE (self)->stop (self);
}

gboolean
natter_rendezvous_get_online (NatterRendezvous *self)
{
  g_return_val_if_fail (NATTER_IS_RENDEZVOUS (self), FALSE);

  return NATTER_RENDEZVOUS_GET_IFACE (self)->get_online (self);
}

/**
 * natter_rendezvous_watch_users:
 * @self: a #NatterRendezvous
 * @users: (array zero-terminated=1): the user IDs whose presence matters
 *
 * Replaces the watched users; presence-changed follows for each of them.
 */
void
natter_rendezvous_watch_users (NatterRendezvous   *self,
                               const char * const *users)
{
  g_return_if_fail (NATTER_IS_RENDEZVOUS (self));

  NATTER_RENDEZVOUS_GET_IFACE (self)->watch_users (self, users);
}

gboolean
natter_rendezvous_is_user_online (NatterRendezvous *self,
                                  const char       *user_id)
{
  g_return_val_if_fail (NATTER_IS_RENDEZVOUS (self), FALSE);
  g_return_val_if_fail (user_id != NULL, FALSE);

  return NATTER_RENDEZVOUS_GET_IFACE (self)->is_user_online (self, user_id);
}

/**
 * natter_rendezvous_send_signal:
 * @self: a #NatterRendezvous
 * @to: the recipient
 * @payload: what to pass on
 * @error: a #GError
 *
 * Returns: %TRUE if the payload is on its way
 */
gboolean
natter_rendezvous_send_signal (NatterRendezvous  *self,
                               const char        *to,
                               JsonObject        *payload,
                               GError           **error)
{
  g_return_val_if_fail (NATTER_IS_RENDEZVOUS (self), FALSE);
  g_return_val_if_fail (to != NULL, FALSE);
  g_return_val_if_fail (payload != NULL, FALSE);

  return NATTER_RENDEZVOUS_GET_IFACE (self)->send_signal (self, to, payload, error);
}

/**
 * natter_rendezvous_get_ice_servers:
 * @self: a #NatterRendezvous
 *
 * Returns: (transfer none) (nullable): an RTCIceServer list, or %NULL
 */
JsonArray *
natter_rendezvous_get_ice_servers (NatterRendezvous *self)
{
  NatterRendezvousInterface *iface;

  g_return_val_if_fail (NATTER_IS_RENDEZVOUS (self), NULL);

  iface = NATTER_RENDEZVOUS_GET_IFACE (self);
  return iface->get_ice_servers != NULL ? iface->get_ice_servers (self) : NULL;
}

void
natter_rendezvous_presence_changed (NatterRendezvous *self,
                                    const char       *user_id,
                                    gboolean          online)
{
  g_return_if_fail (NATTER_IS_RENDEZVOUS (self));

  g_signal_emit (self, signals[PRESENCE_CHANGED], 0, user_id, !!online);
}

void
natter_rendezvous_signal_received (NatterRendezvous *self,
                                   const char       *from,
                                   JsonObject       *payload)
{
  g_return_if_fail (NATTER_IS_RENDEZVOUS (self));

  g_signal_emit (self, signals[SIGNAL_RECEIVED], 0, from, payload);
}

void
natter_rendezvous_signal_failed (NatterRendezvous *self,
                                 const char       *to,
                                 int               code)
{
  g_return_if_fail (NATTER_IS_RENDEZVOUS (self));

  g_signal_emit (self, signals[SIGNAL_FAILED], 0, to, code);
}
