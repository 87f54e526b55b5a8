/* natter-fake-rendezvous.c: one client's place on a NatterFakeHub
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "natter-fake-rendezvous"

#include "config.h"

#include "natter-fake-rendezvous.h"

struct _NatterFakeRendezvous
{
  GObject        parent_instance;

  NatterFakeHub *hub;
  char          *user_id;
  gboolean       online;
  GHashTable    *watched;   /* user id set */
  GHashTable    *present;   /* the watched users the hub said are there */
};

enum {
  PROP_0,
  PROP_ONLINE,
};

static void natter_fake_rendezvous_rendezvous_init (NatterRendezvousInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (NatterFakeRendezvous, natter_fake_rendezvous, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (NATTER_TYPE_RENDEZVOUS,
                                                      natter_fake_rendezvous_rendezvous_init))

static void
everyone_left (NatterFakeRendezvous *self)
{
  g_autoptr(GHashTable) present = g_steal_pointer (&self->present);
  GHashTableIter iter;
  const char *user_id;

  self->present = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_hash_table_iter_init (&iter, present);
  while (g_hash_table_iter_next (&iter, (gpointer *) &user_id, NULL))
    natter_rendezvous_presence_changed (NATTER_RENDEZVOUS (self), user_id, FALSE);
}

static void
natter_fake_rendezvous_get_property (GObject    *object,
                                     guint       prop_id,
                                     GValue     *value,
                                     GParamSpec *pspec)
{
  NatterFakeRendezvous *self = NATTER_FAKE_RENDEZVOUS (object);

  switch (prop_id)
    {
    case PROP_ONLINE:
      g_value_set_boolean (value, self->online);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
natter_fake_rendezvous_dispose (GObject *object)
{
  NatterFakeRendezvous *self = NATTER_FAKE_RENDEZVOUS (object);

  if (self->hub != NULL)
    _natter_fake_hub_leave (self->hub, self);
  g_clear_object (&self->hub);

  G_OBJECT_CLASS (natter_fake_rendezvous_parent_class)->dispose (object);
}

static void
natter_fake_rendezvous_finalize (GObject *object)
{
  NatterFakeRendezvous *self = NATTER_FAKE_RENDEZVOUS (object);

  g_hash_table_unref (self->watched);
  g_hash_table_unref (self->present);
  g_free (self->user_id);

  G_OBJECT_CLASS (natter_fake_rendezvous_parent_class)->finalize (object);
}

static void
natter_fake_rendezvous_class_init (NatterFakeRendezvousClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = natter_fake_rendezvous_get_property;
  object_class->dispose = natter_fake_rendezvous_dispose;
  object_class->finalize = natter_fake_rendezvous_finalize;

  g_object_class_override_property (object_class, PROP_ONLINE, "online");
}

static void
natter_fake_rendezvous_init (NatterFakeRendezvous *self)
{
  self->watched = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->present = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

NatterFakeRendezvous *
natter_fake_rendezvous_new (NatterFakeHub *hub,
                            const char    *user_id)
{
  NatterFakeRendezvous *self;

  g_return_val_if_fail (NATTER_IS_FAKE_HUB (hub), NULL);
  g_return_val_if_fail (user_id != NULL, NULL);

  self = g_object_new (NATTER_TYPE_FAKE_RENDEZVOUS, NULL);
  self->hub = g_object_ref (hub);
  self->user_id = g_strdup (user_id);

  return self;
}

const char *
natter_fake_rendezvous_get_user_id (NatterFakeRendezvous *self)
{
  g_return_val_if_fail (NATTER_IS_FAKE_RENDEZVOUS (self), NULL);

  return self->user_id;
}

gboolean
natter_fake_rendezvous_watches (NatterFakeRendezvous *self,
                                const char           *user_id)
{
  g_return_val_if_fail (NATTER_IS_FAKE_RENDEZVOUS (self), FALSE);

  return g_hash_table_contains (self->watched, user_id);
}

void
_natter_fake_rendezvous_presence (NatterFakeRendezvous *self,
                                  const char           *user_id,
                                  gboolean              online)
{
  if (!self->online || !g_hash_table_contains (self->watched, user_id) ||
      online == g_hash_table_contains (self->present, user_id))
    return;

  if (online)
    g_hash_table_add (self->present, g_strdup (user_id));
  else
    g_hash_table_remove (self->present, user_id);

  natter_rendezvous_presence_changed (NATTER_RENDEZVOUS (self), user_id, online);
}

/* NatterRendezvous */

static void
fake_start (NatterRendezvous *rendezvous)
{
  NatterFakeRendezvous *self = NATTER_FAKE_RENDEZVOUS (rendezvous);

  if (self->online)
    return;

  self->online = TRUE;
  _natter_fake_hub_join (self->hub, self);
  g_object_notify (G_OBJECT (self), "online");
}

static void
fake_stop (NatterRendezvous *rendezvous)
{
  NatterFakeRendezvous *self = NATTER_FAKE_RENDEZVOUS (rendezvous);

  if (!self->online)
    return;

  self->online = FALSE;
  _natter_fake_hub_leave (self->hub, self);
  everyone_left (self);
  g_object_notify (G_OBJECT (self), "online");
}

static gboolean
fake_get_online (NatterRendezvous *rendezvous)
{
  return NATTER_FAKE_RENDEZVOUS (rendezvous)->online;
}

static void
fake_watch_users (NatterRendezvous   *rendezvous,
                  const char * const *users)
{
  NatterFakeRendezvous *self = NATTER_FAKE_RENDEZVOUS (rendezvous);
  g_autoptr(GHashTable) watched = g_steal_pointer (&self->watched);
  GHashTableIter iter;
  const char *user_id;

  self->watched = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; users != NULL && users[i] != NULL; i++)
    {
      g_hash_table_add (self->watched, g_strdup (users[i]));
      if (self->online && !g_hash_table_contains (watched, users[i]))
        _natter_fake_hub_tell_presence (self->hub, self, users[i]);
    }

  /* No word about who is no longer watched, as with the server */
  g_hash_table_iter_init (&iter, self->present);
  while (g_hash_table_iter_next (&iter, (gpointer *) &user_id, NULL))
    if (!g_hash_table_contains (self->watched, user_id))
      g_hash_table_iter_remove (&iter);
}

static gboolean
fake_is_user_online (NatterRendezvous *rendezvous,
                     const char       *user_id)
{
  return g_hash_table_contains (NATTER_FAKE_RENDEZVOUS (rendezvous)->present, user_id);
}

static gboolean
fake_send_signal (NatterRendezvous  *rendezvous,
                  const char        *to,
                  JsonObject        *payload,
                  GError           **error)
{
  NatterFakeRendezvous *self = NATTER_FAKE_RENDEZVOUS (rendezvous);

  if (!self->online)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED, "Not on the hub");
      return FALSE;
    }

  _natter_fake_hub_relay (self->hub, self, to, payload);
  return TRUE;
}

static JsonArray *
fake_get_ice_servers (NatterRendezvous *rendezvous)
{
  return NULL;
}

static void
natter_fake_rendezvous_rendezvous_init (NatterRendezvousInterface *iface)
{
  iface->start = fake_start;
  iface->stop = fake_stop;
  iface->get_online = fake_get_online;
  iface->watch_users = fake_watch_users;
  iface->is_user_online = fake_is_user_online;
  iface->send_signal = fake_send_signal;
  iface->get_ice_servers = fake_get_ice_servers;
}
