/* natter-nearby-peer.c: someone found on the local network who proved their ID
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * NatterLan lists one of these for each nearby client whose direct
 * connection proved the key behind its user ID. The name is the one the
 * peer signed in its announcement: text from a peer, shown as data.
 */
#define G_LOG_DOMAIN "natter-lan"

#include "config.h"

#include "natter-nearby-peer.h"

struct _NatterNearbyPeer
{
  GObject  parent_instance;

  char    *user_id;
  char    *name;
  char    *address;
};

enum {
  PROP_0,
  PROP_USER_ID,
  PROP_NAME,
  PROP_ADDRESS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (NatterNearbyPeer, natter_nearby_peer, G_TYPE_OBJECT)

static void
natter_nearby_peer_get_property (GObject    *object,
                                 guint       prop_id,
                                 GValue     *value,
                                 GParamSpec *pspec)
{
  NatterNearbyPeer *self = NATTER_NEARBY_PEER (object);

  switch (prop_id)
    {
    case PROP_USER_ID:
      g_value_set_string (value, self->user_id);
      break;
    case PROP_NAME:
      g_value_set_string (value, self->name);
      break;
    case PROP_ADDRESS:
      g_value_set_string (value, self->address);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
natter_nearby_peer_finalize (GObject *object)
{
  NatterNearbyPeer *self = NATTER_NEARBY_PEER (object);

  g_free (self->user_id);
  g_free (self->name);
  g_free (self->address);

  G_OBJECT_CLASS (natter_nearby_peer_parent_class)->finalize (object);
}

static void
natter_nearby_peer_class_init (NatterNearbyPeerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = natter_nearby_peer_get_property;
  object_class->finalize = natter_nearby_peer_finalize;

  /**
   * NatterNearbyPeer:user-id:
   *
   * The user ID, proven by a signature over a fresh challenge.
   */
  properties[PROP_USER_ID] =
    g_param_spec_string ("user-id", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  /**
   * NatterNearbyPeer:name:
   *
   * The name the peer offers, signed with its key; may be %NULL.
   */
  properties[PROP_NAME] =
    g_param_spec_string ("name", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * NatterNearbyPeer:address:
   *
   * Where it listens, `host:port`, as announced (%NULL when it dialled in
 * and was never announced).
   */
  properties[PROP_ADDRESS] =
    g_param_spec_string ("address", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
natter_nearby_peer_init (NatterNearbyPeer *self)
{
}

NatterNearbyPeer *
natter_nearby_peer_new (const char *user_id,
                        const char *name,
                        const char *address)
{
  NatterNearbyPeer *self;

  g_return_val_if_fail (user_id != NULL, NULL);

  self = g_object_new (NATTER_TYPE_NEARBY_PEER, NULL);
  self->user_id = g_strdup (user_id);
  self->name = g_strdup (name);
  self->address = g_strdup (address);
  return self;
}

const char *
natter_nearby_peer_get_user_id (NatterNearbyPeer *self)
{
  g_return_val_if_fail (NATTER_IS_NEARBY_PEER (self), NULL);

  return self->user_id;
}

/**
 * natter_nearby_peer_get_name:
 *
 * Returns: (nullable): the name the peer signed, as it sent it
 */
const char *
natter_nearby_peer_get_name (NatterNearbyPeer *self)
{
  g_return_val_if_fail (NATTER_IS_NEARBY_PEER (self), NULL);

  return self->name;
}

const char *
natter_nearby_peer_get_address (NatterNearbyPeer *self)
{
  g_return_val_if_fail (NATTER_IS_NEARBY_PEER (self), NULL);

  return self->address;
}

void
natter_nearby_peer_set_name (NatterNearbyPeer *self,
                             const char       *name)
{
  g_return_if_fail (NATTER_IS_NEARBY_PEER (self));

  if (g_strcmp0 (self->name, name) == 0)
    return;

  g_free (self->name);
  self->name = g_strdup (name);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_NAME]);
}

/* The announced address, once it resolved after the peer dialled in */
void
natter_nearby_peer_set_address (NatterNearbyPeer *self,
                                const char       *address)
{
  g_return_if_fail (NATTER_IS_NEARBY_PEER (self));

  if (g_strcmp0 (self->address, address) == 0)
    return;

  g_free (self->address);
  self->address = g_strdup (address);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ADDRESS]);
}
