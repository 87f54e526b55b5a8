/* natter-dual-rendezvous.c: a server and the local network together
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A profile with a server that also looks nearby gets one of these as its
 * rendezvous. A contact is online when either reaches them; payloads go
 * directly when the contact is nearby and through the server otherwise,
 * and whatever arrives from either is taken (offers and answers are signed,
 * so the path does not matter to trust). NatterDualRendezvous::route-changed
 * says when the way to a contact changed.
 */
#define G_LOG_DOMAIN "natter-rendezvous"

#include "config.h"

#include "natter-dual-rendezvous.h"

struct _NatterDualRendezvous
{
  GObject           parent_instance;

  NatterRendezvous *server;
  NatterRendezvous *lan;      /* NatterLan, or a test's stand-in */
  GHashTable       *routes;   /* user id -> NatterRoute, of those reachable */
};

enum {
  PROP_0,
  PROP_ONLINE,
};

enum {
  ROUTE_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void natter_dual_rendezvous_rendezvous_init (NatterRendezvousInterface *iface);

G_DEFINE_ENUM_TYPE (NatterRoute, natter_route,
  G_DEFINE_ENUM_VALUE (NATTER_ROUTE_NONE, "none"),
  G_DEFINE_ENUM_VALUE (NATTER_ROUTE_NEARBY, "nearby"),
  G_DEFINE_ENUM_VALUE (NATTER_ROUTE_SERVER, "server"))

G_DEFINE_FINAL_TYPE_WITH_CODE (NatterDualRendezvous, natter_dual_rendezvous, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (NATTER_TYPE_RENDEZVOUS,
                                                      natter_dual_rendezvous_rendezvous_init))

static NatterRoute
route_now (NatterDualRendezvous *self,
           const char           *user_id)
{
  if (natter_rendezvous_is_user_online (self->lan, user_id))
    return NATTER_ROUTE_NEARBY;
  if (natter_rendezvous_is_user_online (self->server, user_id))
    return NATTER_ROUTE_SERVER;
  return NATTER_ROUTE_NONE;
}

static void
on_presence_changed (NatterRendezvous     *inner,
                     const char           *user_id,
                     gboolean              online,
                     NatterDualRendezvous *self)
{
  NatterRoute before = GPOINTER_TO_INT (g_hash_table_lookup (self->routes, user_id));
  NatterRoute after = route_now (self, user_id);

  if (before == after)
    return;

  if (after == NATTER_ROUTE_NONE)
    g_hash_table_remove (self->routes, user_id);
  else
    g_hash_table_replace (self->routes, g_strdup (user_id), GINT_TO_POINTER (after));

  if ((before == NATTER_ROUTE_NONE) != (after == NATTER_ROUTE_NONE))
    natter_rendezvous_presence_changed (NATTER_RENDEZVOUS (self), user_id,
                                        after != NATTER_ROUTE_NONE);
  g_signal_emit (self, signals[ROUTE_CHANGED], 0, user_id, after);
}

static void
on_signal_received (NatterRendezvous     *inner,
                    const char           *from,
                    JsonObject           *payload,
                    NatterDualRendezvous *self)
{
  natter_rendezvous_signal_received (NATTER_RENDEZVOUS (self), from, payload);
}

static void
on_signal_failed (NatterRendezvous     *inner,
                  const char           *to,
                  int                   code,
                  NatterDualRendezvous *self)
{
  /* A payload the server could not pass on may still go directly */
  if (inner == self->server && route_now (self, to) == NATTER_ROUTE_NEARBY)
    return;
  natter_rendezvous_signal_failed (NATTER_RENDEZVOUS (self), to, code);
}

static void
on_online (GObject              *inner,
           GParamSpec           *pspec,
           NatterDualRendezvous *self)
{
  g_object_notify (G_OBJECT (self), "online");
}

static void
connect_inner (NatterDualRendezvous *self,
               NatterRendezvous     *inner)
{
  g_signal_connect (inner, "presence-changed", G_CALLBACK (on_presence_changed), self);
  g_signal_connect (inner, "signal-received", G_CALLBACK (on_signal_received), self);
  g_signal_connect (inner, "signal-failed", G_CALLBACK (on_signal_failed), self);
  g_signal_connect (inner, "notify::online", G_CALLBACK (on_online), self);
}

static void
natter_dual_rendezvous_get_property (GObject    *object,
                                     guint       prop_id,
                                     GValue     *value,
                                     GParamSpec *pspec)
{
  switch (prop_id)
    {
    case PROP_ONLINE:
      g_value_set_boolean (value, natter_rendezvous_get_online (NATTER_RENDEZVOUS (object)));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
natter_dual_rendezvous_dispose (GObject *object)
{
  NatterDualRendezvous *self = NATTER_DUAL_RENDEZVOUS (object);

  if (self->server != NULL)
    g_signal_handlers_disconnect_by_data (self->server, self);
  if (self->lan != NULL)
    g_signal_handlers_disconnect_by_data (self->lan, self);
  g_clear_object (&self->server);
  g_clear_object (&self->lan);

  G_OBJECT_CLASS (natter_dual_rendezvous_parent_class)->dispose (object);
}

static void
natter_dual_rendezvous_finalize (GObject *object)
{
  NatterDualRendezvous *self = NATTER_DUAL_RENDEZVOUS (object);

  g_hash_table_unref (self->routes);

  G_OBJECT_CLASS (natter_dual_rendezvous_parent_class)->finalize (object);
}

static void
natter_dual_rendezvous_class_init (NatterDualRendezvousClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = natter_dual_rendezvous_get_property;
  object_class->dispose = natter_dual_rendezvous_dispose;
  object_class->finalize = natter_dual_rendezvous_finalize;

  g_object_class_override_property (object_class, PROP_ONLINE, "online");

  /**
   * NatterDualRendezvous::route-changed:
   * @user: the user ID
   * @route: a #NatterRoute: how they are reached now
   */
  signals[ROUTE_CHANGED] =
    g_signal_new ("route-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_STRING, NATTER_TYPE_ROUTE);
}

static void
natter_dual_rendezvous_init (NatterDualRendezvous *self)
{
  self->routes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

/**
 * natter_dual_rendezvous_new:
 * @server: the rendezvous of a server (a #NatterSignaling)
 * @nearby: the local network's (a #NatterLan)
 *
 * Returns: (transfer full): both as one
 */
NatterDualRendezvous *
natter_dual_rendezvous_new (NatterRendezvous *server,
                            NatterRendezvous *nearby)
{
  NatterDualRendezvous *self;
  NatterRendezvous *lan = nearby;

  g_return_val_if_fail (NATTER_IS_RENDEZVOUS (server), NULL);
  g_return_val_if_fail (NATTER_IS_RENDEZVOUS (nearby), NULL);

  self = g_object_new (NATTER_TYPE_DUAL_RENDEZVOUS, NULL);
  self->server = g_object_ref (server);
  self->lan = g_object_ref (lan);
  connect_inner (self, self->server);
  connect_inner (self, self->lan);
  return self;
}

/**
 * natter_dual_rendezvous_get_server:
 *
 * Returns: (transfer none): the server's rendezvous
 */
NatterRendezvous *
natter_dual_rendezvous_get_server (NatterDualRendezvous *self)
{
  g_return_val_if_fail (NATTER_IS_DUAL_RENDEZVOUS (self), NULL);

  return self->server;
}

/**
 * natter_dual_rendezvous_get_lan:
 *
 * Returns: (transfer none) (nullable): the local network's NatterLan
 */
NatterLan *
natter_dual_rendezvous_get_lan (NatterDualRendezvous *self)
{
  g_return_val_if_fail (NATTER_IS_DUAL_RENDEZVOUS (self), NULL);

  return NATTER_IS_LAN (self->lan) ? NATTER_LAN (self->lan) : NULL;
}

NatterRoute
natter_dual_rendezvous_get_route (NatterDualRendezvous *self,
                                  const char           *user_id)
{
  g_return_val_if_fail (NATTER_IS_DUAL_RENDEZVOUS (self), NATTER_ROUTE_NONE);
  g_return_val_if_fail (user_id != NULL, NATTER_ROUTE_NONE);

  return route_now (self, user_id);
}

/* NatterRendezvous */

static void
dual_start (NatterRendezvous *rendezvous)
{
  NatterDualRendezvous *self = NATTER_DUAL_RENDEZVOUS (rendezvous);

  natter_rendezvous_start (self->server);
  natter_rendezvous_start (self->lan);
}

static void
dual_stop (NatterRendezvous *rendezvous)
{
  NatterDualRendezvous *self = NATTER_DUAL_RENDEZVOUS (rendezvous);

  natter_rendezvous_stop (self->lan);
  natter_rendezvous_stop (self->server);
}

static gboolean
dual_get_online (NatterRendezvous *rendezvous)
{
  NatterDualRendezvous *self = NATTER_DUAL_RENDEZVOUS (rendezvous);

  return natter_rendezvous_get_online (self->server) ||
         natter_rendezvous_get_online (self->lan);
}

static void
dual_watch_users (NatterRendezvous   *rendezvous,
                  const char * const *users)
{
  NatterDualRendezvous *self = NATTER_DUAL_RENDEZVOUS (rendezvous);

  natter_rendezvous_watch_users (self->server, users);
  natter_rendezvous_watch_users (self->lan, users);
}

static gboolean
dual_is_user_online (NatterRendezvous *rendezvous,
                     const char       *user_id)
{
  return route_now (NATTER_DUAL_RENDEZVOUS (rendezvous), user_id) != NATTER_ROUTE_NONE;
}

static gboolean
dual_send_signal (NatterRendezvous  *rendezvous,
                  const char        *to,
                  JsonObject        *payload,
                  GError           **error)
{
  NatterDualRendezvous *self = NATTER_DUAL_RENDEZVOUS (rendezvous);

  if (route_now (self, to) == NATTER_ROUTE_NEARBY)
    return natter_rendezvous_send_signal (self->lan, to, payload, error);
  return natter_rendezvous_send_signal (self->server, to, payload, error);
}

static JsonArray *
dual_get_ice_servers (NatterRendezvous *rendezvous)
{
  return natter_rendezvous_get_ice_servers (NATTER_DUAL_RENDEZVOUS (rendezvous)->server);
}

static void
natter_dual_rendezvous_rendezvous_init (NatterRendezvousInterface *iface)
{
  iface->start = dual_start;
  iface->stop = dual_stop;
  iface->get_online = dual_get_online;
  iface->watch_users = dual_watch_users;
  iface->is_user_online = dual_is_user_online;
  iface->send_signal = dual_send_signal;
  iface->get_ice_servers = dual_get_ice_servers;
}
