/* natter-fake-hub.c: an in-process stand-in for the signaling server, for unit tests
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Clients on one hub see each other's presence and pass signal payloads to
 * each other as through natter-server: later, from the main context, in the
 * order they were sent, and a payload for someone not there comes back as
 * signal-failed (peer-offline).
 */
#define G_LOG_DOMAIN "natter-fake-hub"

#include "config.h"

#include <string.h>

#include "natter-fake-hub.h"
#include "natter-fake-rendezvous.h"
#include "natter-protocol.h"

struct _NatterFakeHub
{
  GObject     parent_instance;

  GHashTable *members;     /* user id -> NatterFakeRendezvous, unowned, those started */
  GQueue      deliveries;  /* Delivery */
  guint       deliver_source;
  gboolean    dropping;
  gboolean    tampering;
  guint       relayed;
};

typedef struct
{
  NatterFakeRendezvous *recipient;  /* for presence; the sender for a signal */
  char                 *user_id;    /* whose presence; the recipient of a signal */
  gboolean              online;
  JsonObject           *payload;    /* NULL for presence */
} Delivery;

G_DEFINE_FINAL_TYPE (NatterFakeHub, natter_fake_hub, G_TYPE_OBJECT)

static void
delivery_free (gpointer data)
{
  Delivery *delivery = data;

  g_clear_object (&delivery->recipient);
  g_clear_pointer (&delivery->payload, json_object_unref);
  g_free (delivery->user_id);
  g_free (delivery);
}

/* What went over a wire arrives as a new object */
static JsonObject *
copy_object (JsonObject *object)
{
  g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), object);
  g_autoptr(JsonNode) copy = json_node_copy (node);

  return json_node_dup_object (copy);
}

/* What a hostile server would do: another certificate's fingerprint in
 * the description, which its sender did not sign */
static void
tamper (JsonObject *payload)
{
  const char *sdp = json_object_get_string_member_with_default (payload, "sdp", NULL);
  g_autofree char *changed = NULL;
  char *digit;

  if (sdp == NULL || (changed = g_strdup (sdp), digit = strstr (changed, "a=fingerprint:")) == NULL)
    return;

  digit = strchr (digit, ' ');
  if (digit == NULL || !g_ascii_isxdigit (digit[1]))
    return;
  digit[1] = digit[1] == '0' ? '1' : '0';
  json_object_set_string_member (payload, "sdp", changed);
}

static void
deliver (NatterFakeHub *self,
         Delivery      *delivery)
{
  NatterFakeRendezvous *target;

  if (delivery->payload == NULL)
    {
      /* Presence reaches only who is still there */
      if (g_hash_table_lookup (self->members,
                               natter_fake_rendezvous_get_user_id (delivery->recipient)) ==
          delivery->recipient)
        _natter_fake_rendezvous_presence (delivery->recipient, delivery->user_id,
                                          delivery->online);
      return;
    }

  target = g_hash_table_lookup (self->members, delivery->user_id);
  if (target != NULL)
    {
      self->relayed++;
      natter_rendezvous_signal_received (NATTER_RENDEZVOUS (target),
                                         natter_fake_rendezvous_get_user_id (delivery->recipient),
                                         delivery->payload);
    }
  else if (natter_rendezvous_get_online (NATTER_RENDEZVOUS (delivery->recipient)))
    {
      natter_rendezvous_signal_failed (NATTER_RENDEZVOUS (delivery->recipient), delivery->user_id,
                                       NATTER_PROTOCOL_ERROR_PEER_OFFLINE);
    }
}

static gboolean
on_deliver (gpointer user_data)
{
  NatterFakeHub *self = user_data;
  g_autoptr(GQueue) batch = g_queue_new ();
  Delivery *delivery;

  self->deliver_source = 0;

  /* What this delivers may queue more; that goes in the next round */
  while ((delivery = g_queue_pop_head (&self->deliveries)) != NULL)
    g_queue_push_tail (batch, delivery);

  g_object_ref (self);
  while ((delivery = g_queue_pop_head (batch)) != NULL)
    {
      deliver (self, delivery);
      delivery_free (delivery);
    }
  g_object_unref (self);

  return G_SOURCE_REMOVE;
}

static void
enqueue (NatterFakeHub        *self,
         NatterFakeRendezvous *recipient,
         const char           *user_id,
         gboolean              online,
         JsonObject           *payload)
{
  Delivery *delivery = g_new0 (Delivery, 1);

  delivery->recipient = g_object_ref (recipient);
  delivery->user_id = g_strdup (user_id);
  delivery->online = online;
  delivery->payload = payload;
  g_queue_push_tail (&self->deliveries, delivery);

  if (self->deliver_source == 0)
    self->deliver_source = g_idle_add (on_deliver, self);
}

static void
tell_watchers (NatterFakeHub        *self,
               NatterFakeRendezvous *member,
               gboolean              online)
{
  const char *user_id = natter_fake_rendezvous_get_user_id (member);
  GHashTableIter iter;
  NatterFakeRendezvous *other;

  g_hash_table_iter_init (&iter, self->members);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &other))
    {
      if (other == member)
        continue;

      if (natter_fake_rendezvous_watches (other, user_id))
        enqueue (self, other, user_id, online, NULL);
      if (online && natter_fake_rendezvous_watches (member, natter_fake_rendezvous_get_user_id (other)))
        enqueue (self, member, natter_fake_rendezvous_get_user_id (other), TRUE, NULL);
    }
}

static void
natter_fake_hub_dispose (GObject *object)
{
  NatterFakeHub *self = NATTER_FAKE_HUB (object);

  g_clear_handle_id (&self->deliver_source, g_source_remove);
  g_queue_clear_full (&self->deliveries, delivery_free);

  G_OBJECT_CLASS (natter_fake_hub_parent_class)->dispose (object);
}

static void
natter_fake_hub_finalize (GObject *object)
{
  NatterFakeHub *self = NATTER_FAKE_HUB (object);

  g_hash_table_unref (self->members);

  G_OBJECT_CLASS (natter_fake_hub_parent_class)->finalize (object);
}

static void
natter_fake_hub_class_init (NatterFakeHubClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = natter_fake_hub_dispose;
  object_class->finalize = natter_fake_hub_finalize;
}

static void
natter_fake_hub_init (NatterFakeHub *self)
{
  self->members = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_queue_init (&self->deliveries);
}

NatterFakeHub *
natter_fake_hub_new (void)
{
  return g_object_new (NATTER_TYPE_FAKE_HUB, NULL);
}

/**
 * natter_fake_hub_set_dropping:
 * @self: a #NatterFakeHub
 * @dropping: whether signal payloads are lost without a word
 *
 * Connections cannot be set up while payloads are lost: how a test makes
 * one fail.
 */
void
natter_fake_hub_set_dropping (NatterFakeHub *self,
                              gboolean       dropping)
{
  g_return_if_fail (NATTER_IS_FAKE_HUB (self));

  self->dropping = !!dropping;
}

/**
 * natter_fake_hub_get_relayed:
 * @self: a #NatterFakeHub
 *
 * Returns: how many signal payloads reached their recipient
 */
guint
natter_fake_hub_get_relayed (NatterFakeHub *self)
{
  g_return_val_if_fail (NATTER_IS_FAKE_HUB (self), 0);

  return self->relayed;
}

gboolean
natter_fake_hub_is_online (NatterFakeHub *self,
                           const char    *user_id)
{
  g_return_val_if_fail (NATTER_IS_FAKE_HUB (self), FALSE);

  return g_hash_table_contains (self->members, user_id);
}

void
_natter_fake_hub_join (NatterFakeHub        *self,
                       NatterFakeRendezvous *member)
{
  const char *user_id = natter_fake_rendezvous_get_user_id (member);

  g_return_if_fail (!g_hash_table_contains (self->members, user_id));

  g_hash_table_insert (self->members, g_strdup (user_id), member);
  tell_watchers (self, member, TRUE);
}

void
_natter_fake_hub_leave (NatterFakeHub        *self,
                        NatterFakeRendezvous *member)
{
  const char *user_id = natter_fake_rendezvous_get_user_id (member);

  if (g_hash_table_lookup (self->members, user_id) != member)
    return;

  g_hash_table_remove (self->members, user_id);
  tell_watchers (self, member, FALSE);
}

/* A member started watching @user_id: it hears whether they are here */
void
_natter_fake_hub_tell_presence (NatterFakeHub        *self,
                                NatterFakeRendezvous *member,
                                const char           *user_id)
{
  if (g_hash_table_contains (self->members, user_id))
    enqueue (self, member, user_id, TRUE, NULL);
}

void
_natter_fake_hub_relay (NatterFakeHub        *self,
                        NatterFakeRendezvous *from,
                        const char           *to,
                        JsonObject           *payload)
{
  if (self->dropping)
    {
      g_debug ("Dropped a payload for %.8s", to);
      return;
    }

  payload = copy_object (payload);
  if (self->tampering)
    tamper (payload);
  enqueue (self, from, to, FALSE, payload);
}

/**
 * natter_fake_hub_set_tampering:
 * @self: a #NatterFakeHub
 * @tampering: whether descriptions arrive with a changed DTLS fingerprint
 *
 * Plays a hostile server, for the trust checks to refuse.
 */
void
natter_fake_hub_set_tampering (NatterFakeHub *self,
                               gboolean       tampering)
{
  g_return_if_fail (NATTER_IS_FAKE_HUB (self));

  self->tampering = !!tampering;
}
