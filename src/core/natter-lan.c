/* natter-lan.c: a NatterRendezvous on the local network, with no server
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Peers find each other by DNS-SD (natter-lan-discovery.c) or a typed
 * address, and talk over direct WebSockets whose ends proved their keys
 * (natter-lan-link.c). A user is online here, and nearby, while such a
 * link is up. One link per peer: when both dial, the one dialled by the
 * smaller user ID stays. Invitations go over the link and are kept in
 * memory by the two ends, as a server would keep them.
 */
#define G_LOG_DOMAIN "natter-lan"

#include "config.h"

#include <glib/gi18n-lib.h>

#include "natter-lan-private.h"
#include "natter-protocol.h"

enum {
  PROP_0,
  PROP_PORT,
  PROP_VISIBLE,
  PROP_DISCOVERY_ERROR,
  N_PROPS,
  PROP_ONLINE = N_PROPS,
};

enum {
  FRAME_RECEIVED,
  ADDRESS_REACHED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static void natter_lan_rendezvous_init (NatterRendezvousInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (NatterLan, natter_lan, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (NATTER_TYPE_RENDEZVOUS,
                                                      natter_lan_rendezvous_init))

G_DEFINE_QUARK (natter-lan-error-quark, natter_lan_error)

static guint
find_nearby (NatterLan  *self,
             const char *user_id)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->nearby));

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(NatterNearbyPeer) peer = g_list_model_get_item (G_LIST_MODEL (self->nearby), i);

      if (g_str_equal (natter_nearby_peer_get_user_id (peer), user_id))
        return i;
    }

  return G_MAXUINT;
}

static void
presence (NatterLan  *self,
          const char *user_id,
          gboolean    online)
{
  if (g_hash_table_contains (self->watched, user_id))
    natter_rendezvous_presence_changed (NATTER_RENDEZVOUS (self), user_id, online);
}

/* A dial planned for later (the larger ID waits for the smaller to dial) is
 * not needed any more. The table holds source IDs as pointers: steal one
 * into a pointer, never into a guint, which it would overrun. */
static void
cancel_dial_later (NatterLan  *self,
                   const char *user_id)
{
  gpointer source;

  if (g_hash_table_steal_extended (self->dial_timers, user_id, NULL, &source))
    g_source_remove (GPOINTER_TO_UINT (source));
}

/* Whether @link should stay rather than @other, both to the same peer */
static gboolean
preferred (NatterLan     *self,
           NatterLanLink *link,
           NatterLanLink *other)
{
  const char *peer = _natter_lan_link_get_peer_id (link);
  gboolean ours = strcmp (self->user_id, peer) < 0;

  if (_natter_lan_link_get_outgoing (link) == _natter_lan_link_get_outgoing (other))
    return FALSE;
  return _natter_lan_link_get_outgoing (link) == ours;
}

void
_natter_lan_link_ready (NatterLan     *self,
                        NatterLanLink *link)
{
  const char *peer = _natter_lan_link_get_peer_id (link);
  NatterLanLink *old = g_hash_table_lookup (self->ready, peer);
  const char *name = g_hash_table_lookup (self->names, peer);

  if (old != NULL)
    {
      if (!preferred (self, link, old))
        {
          _natter_lan_link_close (link, NATTER_LAN_CLOSE_REPLACED);
          return;
        }
      /* Forgotten first, so that closing it says nothing of presence */
      g_hash_table_remove (self->ready, peer);
      _natter_lan_link_close (old, NATTER_LAN_CLOSE_REPLACED);
    }

  cancel_dial_later (self, peer);

  g_hash_table_insert (self->ready, g_strdup (peer), link);
  if (old != NULL)
    return;

  g_debug ("%s is nearby, proven", NATTER_USER_ID_LOG (peer));
  if (find_nearby (self, peer) == G_MAXUINT)
    {
      g_autoptr(NatterNearbyPeer) nearby =
        natter_nearby_peer_new (peer, name, g_hash_table_lookup (self->announced, peer));

      g_list_store_append (self->nearby, nearby);
    }
  presence (self, peer, TRUE);

  /* A typed address that answered: the caller may remember it */
  if (_natter_lan_link_get_outgoing (link) &&
      g_hash_table_contains (self->addresses, _natter_lan_link_get_address (link)))
    {
      g_hash_table_replace (self->addresses, g_strdup (_natter_lan_link_get_address (link)),
                            g_strdup (peer));
      g_signal_emit (self, signals[ADDRESS_REACHED], 0, peer, _natter_lan_link_get_address (link));
    }
}

void
_natter_lan_link_closed (NatterLan     *self,
                         NatterLanLink *link)
{
  const char *peer = _natter_lan_link_get_peer_id (link);
  g_autofree char *gone = NULL;

  if (peer != NULL && g_hash_table_lookup (self->ready, peer) == link)
    {
      guint position;

      gone = g_strdup (peer);
      g_hash_table_remove (self->ready, peer);
      position = find_nearby (self, gone);
      if (position != G_MAXUINT)
        g_list_store_remove (self->nearby, position);
    }

  g_ptr_array_remove (self->links, link);

  if (gone != NULL)
    {
      g_debug ("%s is no longer nearby", NATTER_USER_ID_LOG (gone));
      presence (self, gone, FALSE);
    }
}

static NatterLanLink *
link_for (NatterLan  *self,
          const char *user_id)
{
  return user_id != NULL ? g_hash_table_lookup (self->ready, user_id) : NULL;
}

static gboolean
is_dialling (NatterLan  *self,
             const char *address)
{
  for (guint i = 0; i < self->links->len; i++)
    {
      NatterLanLink *link = g_ptr_array_index (self->links, i);

      if (_natter_lan_link_get_outgoing (link) && !_natter_lan_link_is_ready (link) &&
          g_strcmp0 (_natter_lan_link_get_address (link), address) == 0)
        return TRUE;
    }

  return FALSE;
}

typedef struct
{
  NatterLan *self;
  char      *user_id;
} DialLater;

static void
dial_later_free (gpointer data)
{
  DialLater *later = data;

  g_free (later->user_id);
  g_free (later);
}

static void
dial_announced (NatterLan  *self,
                const char *user_id)
{
  const char *address = g_hash_table_lookup (self->announced, user_id);
  g_autofree char *host = NULL;
  guint port = 0;

  if (address == NULL || link_for (self, user_id) != NULL || is_dialling (self, address) ||
      !natter_auth_server_name_split (address, &host, &port))
    return;

  _natter_lan_link_dial (self, host, port, user_id);
}

static gboolean
on_dial_later (gpointer user_data)
{
  DialLater *later = user_data;

  g_hash_table_remove (later->self->dial_timers, later->user_id);
  dial_announced (later->self, later->user_id);
  return G_SOURCE_REMOVE;
}

void
_natter_lan_announcement_found (NatterLan  *self,
                                const char *user_id,
                                const char *name,
                                const char *host,
                                guint       port)
{
  g_autofree char *address = g_strdup_printf ("%s:%u", host, port);
  guint position;

  g_hash_table_replace (self->announced, g_strdup (user_id), g_strdup (address));
  if (name != NULL)
    g_hash_table_replace (self->names, g_strdup (user_id), g_strdup (name));
  else
    g_hash_table_remove (self->names, user_id);

  position = find_nearby (self, user_id);
  if (position != G_MAXUINT)
    {
      g_autoptr(NatterNearbyPeer) peer = g_list_model_get_item (G_LIST_MODEL (self->nearby),
                                                                position);

      natter_nearby_peer_set_name (peer, name);
      natter_nearby_peer_set_address (peer, address);
      return;
    }

  if (!self->online || link_for (self, user_id) != NULL)
    return;

  /* The smaller ID dials; the other waits a moment for it, then dials too */
  if (strcmp (self->user_id, user_id) < 0)
    dial_announced (self, user_id);
  else if (!g_hash_table_contains (self->dial_timers, user_id))
    {
      DialLater *later = g_new0 (DialLater, 1);

      later->self = self;
      later->user_id = g_strdup (user_id);
      g_hash_table_insert (self->dial_timers, g_strdup (user_id),
                           GUINT_TO_POINTER (g_timeout_add_full (G_PRIORITY_DEFAULT,
                                                                 NATTER_LAN_DIAL_DELAY_MS,
                                                                 on_dial_later, later,
                                                                 dial_later_free)));
    }
}

void
_natter_lan_announcement_gone (NatterLan  *self,
                               const char *user_id)
{
  NatterLanLink *link = link_for (self, user_id);

  g_hash_table_remove (self->announced, user_id);
  cancel_dial_later (self, user_id);

  /* No longer announced: gone, or hidden; its link goes too */
  if (link != NULL)
    _natter_lan_link_close (link, SOUP_WEBSOCKET_CLOSE_GOING_AWAY);
}

void
_natter_lan_set_discovery_error (NatterLan *self,
                                 GError    *error)
{
  if (self->discovery_error == NULL && error == NULL)
    return;

  if (self->discovery_error != NULL && error != NULL &&
      g_str_equal (self->discovery_error->message, error->message))
    {
      g_error_free (error);
      return;
    }

  g_clear_error (&self->discovery_error);
  self->discovery_error = error;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DISCOVERY_ERROR]);
}

/* Invitations: as natter-server keeps them, but by the two ends */

static JsonObject *
invitation_new (const char *id,
                const char *from,
                const char *to,
                const char *text)
{
  JsonObject *invitation = json_object_new ();
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  json_object_set_string_member (invitation, "id", id);
  json_object_set_string_member (invitation, "from", from);
  json_object_set_string_member (invitation, "to", to);
  if (text != NULL)
    json_object_set_string_member (invitation, "text", text);
  json_object_set_int_member (invitation, "created", now);
  json_object_set_string_member (invitation, "status", "pending");
  return invitation;
}

static void
emit_frame (NatterLan       *self,
            NatterFrameType  type,
            JsonObject      *invitation)
{
  g_autoptr(NatterFrame) frame = natter_frame_new (type);

  natter_frame_take_object_member (frame, "invitation", json_object_ref (invitation));
  g_signal_emit (self, signals[FRAME_RECEIVED], 0, frame);
}

static void
on_invite (NatterLan     *self,
           NatterLanLink *link,
           NatterFrame   *frame)
{
  const char *id = natter_frame_get_id (frame);
  const char *from = _natter_lan_link_get_peer_id (link);
  g_autoptr(JsonObject) invitation = NULL;

  if (id == NULL || g_strcmp0 (natter_frame_get_string (frame, "to"), self->user_id) != 0 ||
      g_hash_table_contains (self->invitations, id))
    return;

  invitation = invitation_new (id, from, self->user_id, natter_frame_get_string (frame, "text"));
  g_hash_table_insert (self->invitations, g_strdup (id), json_object_ref (invitation));
  emit_frame (self, NATTER_FRAME_INVITATION, invitation);
}

static void
on_answer (NatterLan     *self,
           NatterLanLink *link,
           NatterFrame   *frame,
           gboolean       accepted)
{
  const char *id = natter_frame_get_string (frame, "invitation");
  JsonObject *invitation = g_hash_table_lookup (self->invitations, id);
  g_autoptr(JsonObject) answered = NULL;

  /* Only its invitee answers an invitation of ours */
  if (invitation == NULL ||
      g_strcmp0 (json_object_get_string_member (invitation, "from"), self->user_id) != 0 ||
      g_strcmp0 (json_object_get_string_member (invitation, "to"),
                 _natter_lan_link_get_peer_id (link)) != 0)
    return;

  answered = json_object_ref (invitation);
  g_hash_table_remove (self->invitations, id);
  json_object_set_string_member (answered, "status", accepted ? "accepted" : "declined");
  emit_frame (self, NATTER_FRAME_INVITATION_ANSWER, answered);
}

void
_natter_lan_link_frame (NatterLan     *self,
                        NatterLanLink *link,
                        NatterFrame   *frame)
{
  const char *peer = _natter_lan_link_get_peer_id (link);

  switch (natter_frame_get_frame_type (frame))
    {
    case NATTER_FRAME_SIGNAL:
      if (g_strcmp0 (natter_frame_get_string (frame, "to"), self->user_id) == 0)
        natter_rendezvous_signal_received (NATTER_RENDEZVOUS (self), peer,
                                           natter_frame_get_object_member (frame, "payload"));
      break;
    case NATTER_FRAME_INVITE:
      on_invite (self, link, frame);
      break;
    case NATTER_FRAME_INVITE_ACCEPT:
      on_answer (self, link, frame, TRUE);
      break;
    case NATTER_FRAME_INVITE_DECLINE:
      on_answer (self, link, frame, FALSE);
      break;
    default:
      g_debug ("Ignored a %s frame from a nearby peer",
               natter_frame_type_to_string (natter_frame_get_frame_type (frame)));
      break;
    }
}

/* GObject */

static void
natter_lan_get_property (GObject    *object,
                         guint       prop_id,
                         GValue     *value,
                         GParamSpec *pspec)
{
  NatterLan *self = NATTER_LAN (object);

  switch (prop_id)
    {
    case PROP_PORT:
      g_value_set_uint (value, self->port);
      break;
    case PROP_VISIBLE:
      g_value_set_boolean (value, self->visible);
      break;
    case PROP_DISCOVERY_ERROR:
      g_value_set_boxed (value, self->discovery_error);
      break;
    case PROP_ONLINE:
      g_value_set_boolean (value, self->online);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
natter_lan_set_property (GObject      *object,
                         guint         prop_id,
                         const GValue *value,
                         GParamSpec   *pspec)
{
  NatterLan *self = NATTER_LAN (object);

  switch (prop_id)
    {
    case PROP_VISIBLE:
      natter_lan_set_visible (self, g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
lan_stop (NatterRendezvous *rendezvous)
{
  NatterLan *self = NATTER_LAN (rendezvous);
  g_autoptr(GPtrArray) links = NULL;
  GHashTableIter iter;
  gpointer value;

  if (!self->online)
    return;

  self->online = FALSE;
  g_clear_handle_id (&self->redial_id, g_source_remove);
  g_clear_pointer (&self->discovery, _natter_lan_discovery_free);
  g_hash_table_iter_init (&iter, self->dial_timers);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_source_remove (GPOINTER_TO_UINT (value));
  g_hash_table_remove_all (self->dial_timers);
  g_hash_table_remove_all (self->announced);

  /* Said goodbye to, then forgotten: presence goes off for each */
  while (self->links->len > 0)
    {
      NatterLanLink *link = g_ptr_array_index (self->links, self->links->len - 1);
      NatterLanLink *keep = g_ptr_array_steal_index (self->links, self->links->len - 1);
      const char *peer = _natter_lan_link_get_peer_id (keep);
      g_autofree char *gone = NULL;

      if (peer != NULL && g_hash_table_lookup (self->ready, peer) == link)
        {
          gone = g_strdup (peer);
          g_hash_table_remove (self->ready, peer);
        }
      _natter_lan_link_free (keep);
      if (gone != NULL)
        presence (self, gone, FALSE);
    }
  g_list_store_remove_all (self->nearby);

  if (self->server != NULL)
    soup_server_disconnect (self->server);
  g_object_notify (G_OBJECT (self), "online");
}

static void
natter_lan_dispose (GObject *object)
{
  NatterLan *self = NATTER_LAN (object);

  lan_stop (NATTER_RENDEZVOUS (self));
  g_clear_object (&self->server);
  g_clear_object (&self->session);

  G_OBJECT_CLASS (natter_lan_parent_class)->dispose (object);
}

static void
natter_lan_finalize (GObject *object)
{
  NatterLan *self = NATTER_LAN (object);

  g_clear_object (&self->identity);
  g_free (self->user_id);
  g_free (self->display_name);
  g_clear_error (&self->discovery_error);
  g_ptr_array_unref (self->links);
  g_hash_table_unref (self->ready);
  g_hash_table_unref (self->watched);
  g_hash_table_unref (self->announced);
  g_hash_table_unref (self->names);
  g_hash_table_unref (self->dial_timers);
  g_hash_table_unref (self->invitations);
  g_hash_table_unref (self->addresses);
  g_clear_object (&self->nearby);

  G_OBJECT_CLASS (natter_lan_parent_class)->finalize (object);
}

static void
natter_lan_class_init (NatterLanClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = natter_lan_get_property;
  object_class->set_property = natter_lan_set_property;
  object_class->dispose = natter_lan_dispose;
  object_class->finalize = natter_lan_finalize;

  /**
   * NatterLan:port:
   *
   * The TCP port the direct listener is on (or will be); it changes when
   * the one asked for was taken, and the caller remembers the new one.
   */
  properties[PROP_PORT] =
    g_param_spec_uint ("port", NULL, NULL, 0, G_MAXUINT16, 0,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * NatterLan:visible:
   *
   * Whether we announce ourselves to the people nearby. Hidden, we still
   * see the others and can be reached by our address.
   */
  properties[PROP_VISIBLE] =
    g_param_spec_boolean ("visible", NULL, NULL, TRUE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * NatterLan:discovery-error:
   *
   * Why nearby discovery is unavailable (no Avahi daemon), or %NULL. The
   * message is translated, for the UI.
   */
  properties[PROP_DISCOVERY_ERROR] =
    g_param_spec_boxed ("discovery-error", NULL, NULL, G_TYPE_ERROR,
                        G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
  g_object_class_override_property (object_class, PROP_ONLINE, "online");

  /**
   * NatterLan::frame-received:
   * @frame: an `invitation` or `invitation-answer`, as natter-server sends them
   */
  signals[FRAME_RECEIVED] =
    g_signal_new ("frame-received", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, NATTER_TYPE_FRAME);

  /**
   * NatterLan::address-reached:
   * @user_id: who answered, proven
   * @address: the typed `host:port` that reached them
   */
  signals[ADDRESS_REACHED] =
    g_signal_new ("address-reached", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);
}

static void
natter_lan_init (NatterLan *self)
{
  self->visible = TRUE;
  self->links = g_ptr_array_new ();
  self->ready = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->watched = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->announced = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->dial_timers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->invitations = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                             (GDestroyNotify) json_object_unref);
  self->addresses = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->nearby = g_list_store_new (NATTER_TYPE_NEARBY_PEER);
  self->session = soup_session_new ();
}

/**
 * natter_lan_new:
 * @identity: our identity, whose key the links prove
 * @port: the port to listen on, 0 for one chosen at random
 *
 * Returns: (transfer full): a LAN rendezvous, not started
 */
NatterLan *
natter_lan_new (NatterIdentity *identity,
                guint           port)
{
  NatterLan *self;

  g_return_val_if_fail (NATTER_IS_IDENTITY (identity), NULL);
  g_return_val_if_fail (port <= G_MAXUINT16, NULL);

  self = g_object_new (NATTER_TYPE_LAN, NULL);
  self->identity = g_object_ref (identity);
  self->user_id = g_strdup (natter_identity_get_user_id (identity));
  self->port = port;
  return self;
}

guint
natter_lan_get_port (NatterLan *self)
{
  g_return_val_if_fail (NATTER_IS_LAN (self), 0);

  return self->port;
}

/**
 * natter_lan_get_discovery_error:
 *
 * Returns: (transfer none) (nullable): why nobody can be found nearby
 */
const GError *
natter_lan_get_discovery_error (NatterLan *self)
{
  g_return_val_if_fail (NATTER_IS_LAN (self), NULL);

  return self->discovery_error;
}

gboolean
natter_lan_get_visible (NatterLan *self)
{
  g_return_val_if_fail (NATTER_IS_LAN (self), FALSE);

  return self->visible;
}

void
natter_lan_set_visible (NatterLan *self,
                        gboolean   visible)
{
  g_return_if_fail (NATTER_IS_LAN (self));

  visible = !!visible;
  if (self->visible == visible)
    return;

  self->visible = visible;
  if (self->discovery != NULL)
    _natter_lan_discovery_update (self->discovery);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_VISIBLE]);
}

/**
 * natter_lan_set_display_name:
 * @name: (nullable): the name offered to the people nearby, signed
 */
void
natter_lan_set_display_name (NatterLan  *self,
                             const char *name)
{
  g_return_if_fail (NATTER_IS_LAN (self));

  if (g_strcmp0 (self->display_name, name) == 0)
    return;

  g_free (self->display_name);
  self->display_name = g_strdup (name);
  if (self->discovery != NULL)
    _natter_lan_discovery_update (self->discovery);
}

/**
 * natter_lan_get_nearby:
 *
 * Returns: (transfer none): a #GListModel of #NatterNearbyPeer: those whose
 *   link proved their ID, in the order they came
 */
GListModel *
natter_lan_get_nearby (NatterLan *self)
{
  g_return_val_if_fail (NATTER_IS_LAN (self), NULL);

  return G_LIST_MODEL (self->nearby);
}

gboolean
natter_lan_is_nearby (NatterLan  *self,
                      const char *user_id)
{
  g_return_val_if_fail (NATTER_IS_LAN (self), FALSE);

  return link_for (self, user_id) != NULL;
}

/**
 * natter_lan_connect_address:
 * @address: `host:port` as someone typed it
 * @error: a #GError
 *
 * Dials a peer that cannot be found by discovery, now if started and
 * again while it is away; once its key is proven, NatterLan::address-reached
 * says who it was.
 *
 * Returns: %FALSE if @address is not `host:port`
 */
gboolean
natter_lan_connect_address (NatterLan   *self,
                            const char  *address,
                            GError     **error)
{
  g_autofree char *host = NULL;
  g_autofree char *text = NULL;
  guint port = 0;

  g_return_val_if_fail (NATTER_IS_LAN (self), FALSE);
  g_return_val_if_fail (address != NULL, FALSE);

  text = g_strstrip (g_strdup (address));
  if (!natter_auth_server_name_split (text, &host, &port) || port == 0 || port > G_MAXUINT16 ||
      *host == '\0')
    {
      g_set_error (error, NATTER_LAN_ERROR, NATTER_LAN_ERROR_ADDRESS,
                   _("“%s” is not an address of the form host:port"), text);
      return FALSE;
    }

  if (!g_hash_table_contains (self->addresses, text))
    g_hash_table_insert (self->addresses, g_strdup (text), g_strdup (""));
  if (self->online && !is_dialling (self, text))
    _natter_lan_link_dial (self, host, port, NULL);
  return TRUE;
}

/* Typed addresses are dialled at start and again while their peer is away */
static gboolean
on_redial (gpointer user_data)
{
  NatterLan *self = user_data;
  GHashTableIter iter;
  gpointer key, value;

  g_hash_table_iter_init (&iter, self->addresses);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      g_autofree char *host = NULL;
      guint port = 0;

      if (link_for (self, value) != NULL || is_dialling (self, key) ||
          !natter_auth_server_name_split (key, &host, &port))
        continue;
      _natter_lan_link_dial (self, host, port, NULL);
    }

  return G_SOURCE_CONTINUE;
}

static NatterFrame *
invitations_listing (NatterLan *self)
{
  NatterFrame *frame = natter_frame_new (NATTER_FRAME_INVITATIONS);
  JsonArray *incoming = json_array_new ();
  JsonArray *outgoing = json_array_new ();
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, self->invitations);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      JsonObject *invitation = value;
      gboolean ours = g_strcmp0 (json_object_get_string_member (invitation, "from"),
                                 self->user_id) == 0;

      json_array_add_object_element (ours ? outgoing : incoming, json_object_ref (invitation));
    }

  natter_frame_take_array (frame, "incoming", incoming);
  natter_frame_take_array (frame, "outgoing", outgoing);
  return frame;
}

static NatterFrame *
request (NatterLan    *self,
         NatterFrame  *frame,
         GError      **error)
{
  NatterFrameType type = natter_frame_get_frame_type (frame);
  g_autoptr(NatterFrame) out = NULL;
  NatterFrame *reply;

  switch (type)
    {
    case NATTER_FRAME_INVITATIONS:
      return invitations_listing (self);

    case NATTER_FRAME_INVITE:
      {
        const char *to = natter_frame_get_string (frame, "to");
        const char *text = natter_frame_get_string (frame, "text");
        NatterLanLink *link = link_for (self, to);
        g_autofree char *id = NULL;
        g_autoptr(JsonObject) invitation = NULL;
        guint8 bytes[12];

        if (link == NULL)
          break;

        natter_random_bytes (bytes, sizeof bytes);
        id = g_base64_encode (bytes, sizeof bytes);
        g_strdelimit (id, "+/=", '-');
        out = natter_frame_new (NATTER_FRAME_INVITE);
        natter_frame_set_id (out, id);
        natter_frame_set_string (out, "to", to);
        if (text != NULL)
          natter_frame_set_string (out, "text", text);
        if (!_natter_lan_link_send (link, out, error))
          return NULL;

        invitation = invitation_new (id, self->user_id, to, text);
        g_hash_table_insert (self->invitations, g_strdup (id), json_object_ref (invitation));
        reply = natter_frame_new (NATTER_FRAME_INVITE_SENT);
        natter_frame_take_object_member (reply, "invitation", g_steal_pointer (&invitation));
        return reply;
      }

    case NATTER_FRAME_INVITE_ACCEPT:
    case NATTER_FRAME_INVITE_DECLINE:
      {
        const char *id = natter_frame_get_string (frame, "invitation");
        JsonObject *invitation = id != NULL ? g_hash_table_lookup (self->invitations, id) : NULL;
        const char *from;
        NatterLanLink *link;

        if (invitation == NULL)
          {
            g_set_error_literal (error, NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_NOT_FOUND,
                                 _("No pending invitation has this ID"));
            return NULL;
          }

        from = json_object_get_string_member (invitation, "from");
        link = link_for (self, from);
        if (link == NULL)
          break;

        out = natter_frame_new (type);
        natter_frame_set_string (out, "invitation", id);
        if (!_natter_lan_link_send (link, out, error))
          return NULL;

        g_hash_table_remove (self->invitations, id);
        return natter_frame_new (NATTER_FRAME_OK);
      }

    default:
      g_set_error_literal (error, NATTER_LAN_ERROR, NATTER_LAN_ERROR_NOT_SUPPORTED,
                           _("This needs a Natter server"));
      return NULL;
    }

  g_set_error_literal (error, NATTER_LAN_ERROR, NATTER_LAN_ERROR_NOT_NEARBY,
                       _("They are not on this network now"));
  return NULL;
}

/**
 * natter_lan_request_async:
 * @request: an `invite`, `invite-accept`, `invite-decline` or `invitations`
 *   frame, as for natter_signaling_request_async()
 *
 * Does what natter-server would with @request, between the two ends.
 */
void
natter_lan_request_async (NatterLan           *self,
                          NatterFrame         *frame,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  NatterFrame *reply;
  GError *error = NULL;

  g_return_if_fail (NATTER_IS_LAN (self));
  g_return_if_fail (frame != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, natter_lan_request_async);

  reply = request (self, frame, &error);
  if (reply == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, reply, (GDestroyNotify) natter_frame_unref);
}

/**
 * natter_lan_request_finish:
 *
 * Returns: (transfer full): the answer, as natter-server would give it
 */
NatterFrame *
natter_lan_request_finish (NatterLan     *self,
                           GAsyncResult  *result,
                           GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* NatterRendezvous */

static void
lan_start (NatterRendezvous *rendezvous)
{
  NatterLan *self = NATTER_LAN (rendezvous);
  g_autoptr(GError) error = NULL;

  if (self->online)
    return;

  if (!_natter_lan_listen (self, &error))
    {
      g_warning ("%s", error->message);
      return;
    }

  self->online = TRUE;
  self->discovery = _natter_lan_discovery_new (self);
  self->redial_id = g_timeout_add_seconds (NATTER_LAN_REDIAL_S, on_redial, self);
  on_redial (self);
  g_object_notify (G_OBJECT (self), "online");
}

static gboolean
lan_get_online (NatterRendezvous *rendezvous)
{
  return NATTER_LAN (rendezvous)->online;
}

static void
lan_watch_users (NatterRendezvous   *rendezvous,
                 const char * const *users)
{
  NatterLan *self = NATTER_LAN (rendezvous);

  g_hash_table_remove_all (self->watched);
  for (guint i = 0; users != NULL && users[i] != NULL; i++)
    {
      g_hash_table_add (self->watched, g_strdup (users[i]));
      if (link_for (self, users[i]) != NULL)
        natter_rendezvous_presence_changed (rendezvous, users[i], TRUE);
    }
}

static gboolean
lan_is_user_online (NatterRendezvous *rendezvous,
                    const char       *user_id)
{
  return link_for (NATTER_LAN (rendezvous), user_id) != NULL;
}

static gboolean
lan_send_signal (NatterRendezvous  *rendezvous,
                 const char        *to,
                 JsonObject        *payload,
                 GError           **error)
{
  NatterLan *self = NATTER_LAN (rendezvous);
  NatterLanLink *link = link_for (self, to);
  g_autoptr(NatterFrame) frame = NULL;

  if (link == NULL)
    {
      g_set_error_literal (error, NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_PEER_OFFLINE,
                           _("They are not on this network now"));
      return FALSE;
    }

  frame = natter_frame_new (NATTER_FRAME_SIGNAL);
  natter_frame_set_string (frame, "to", to);
  natter_frame_take_object_member (frame, "payload", json_object_ref (payload));
  return _natter_lan_link_send (link, frame, error);
}

static void
natter_lan_rendezvous_init (NatterRendezvousInterface *iface)
{
  iface->start = lan_start;
  iface->stop = lan_stop;
  iface->get_online = lan_get_online;
  iface->watch_users = lan_watch_users;
  iface->is_user_online = lan_is_user_online;
  iface->send_signal = lan_send_signal;
}
