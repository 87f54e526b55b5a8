/* natter-client.c: the headless messenger that the CLI and the app talk to
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "natter-client"

#include "config.h"

#include "natter-client.h"
#include "natter-client-private.h"
#include "natter-contact-session-private.h"
#include "natter-object-private.h"
#include "natter-pending-invitations.h"
#include "natter-protocol.h"

enum {
  PROP_0,
  PROP_IDENTITY,
  PROP_STORE,
  PROP_SERVER_URL,
  PROP_RENDEZVOUS,
  PROP_LOOPBACK,
  PROP_RELAY_ONLY,
  PROP_CONNECT_TIMEOUT,
  PROP_SEND_READ_RECEIPTS,
  PROP_SEND_TYPING,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];
guint _natter_client_signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (NatterClient, natter_client, G_TYPE_OBJECT)
G_DEFINE_QUARK (natter-client-error-quark, natter_client_error)

NatterContact *
_natter_client_lookup_contact (NatterClient *self,
                               const char   *contact_id)
{
  return natter_store_get_contact (self->store, contact_id, NULL);
}

static void
detach_session (gpointer data)
{
  NatterContactSession *session = data;

  _natter_contact_session_detach (session);
  g_object_unref (session);
}

/* The session of @contact_id, made the first time it is asked for */
NatterContactSession *
_natter_client_get_session (NatterClient *self,
                            const char   *contact_id)
{
  NatterContactSession *session = g_hash_table_lookup (self->sessions, contact_id);
  g_autoptr(NatterContact) contact = NULL;

  if (session != NULL)
    return session;

  session = _natter_contact_session_new (self, contact_id);
  g_hash_table_insert (self->sessions, session->contact_id, session);
  contact = _natter_client_lookup_contact (self, contact_id);
  _natter_contact_session_set_verified (session,
                                        contact != NULL && natter_contact_get_verified (contact));
  _natter_contact_session_set_online (session,
                                      natter_rendezvous_is_user_online (self->rendezvous,
                                                                        contact_id));
  _natter_contact_session_set_route (session, natter_client_get_route (self, contact_id));
  return session;
}

/* The contact is blocked: the connection and whatever was under way end */
static void
end_session (NatterClient *self,
              const char   *contact_id)
{
  NatterContactSession *session = g_hash_table_lookup (self->sessions, contact_id);

  if (session == NULL)
    return;

  _natter_contact_session_drop_peer (session);
  _natter_contact_session_set_typing (session, FALSE, 0);
  _natter_contact_session_set_peer_state (session, NATTER_PEER_STATE_CLOSED);
  g_clear_handle_id (&session->retry_source, g_source_remove);
  session->attempts = 0;
}

gboolean
_natter_client_is_allowed_peer (NatterClient *self,
                 const char   *contact_id)
{
  g_autoptr(NatterContact) contact = _natter_client_lookup_contact (self, contact_id);

  return contact != NULL && !natter_contact_get_blocked (contact);
}

static void
on_presence_changed (NatterRendezvous *rendezvous,
                     const char       *user_id,
                     gboolean          online,
                     gpointer          user_data)
{
  NatterClient *self = user_data;
  g_autoptr(NatterContactSession) session = g_object_ref (_natter_client_get_session (self,
                                                                                      user_id));

  _natter_contact_session_set_online (session, online);
  _natter_contact_session_set_route (session, natter_client_get_route (self, user_id));
  g_signal_emit (self, _natter_client_signals[PRESENCE_CHANGED], 0, user_id, online);
  if (!online)
    _natter_client_calls_contact_offline (self, user_id);

  /* The contact left the server (not we): their app quit, so the peer
   * connection is about to die too. Closing it now means nothing is sent
   * into a dead channel; whatever is undelivered waits in the outbox. */
  if (!online && natter_rendezvous_get_online (rendezvous) && session->peer != NULL)
    {
      _natter_contact_session_drop_peer (session);
      _natter_contact_session_set_peer_state (session, NATTER_PEER_STATE_CLOSED);
      g_signal_emit (self, _natter_client_signals[PEER_STATE_CHANGED], 0, user_id,
                     NATTER_PEER_STATE_CLOSED);
    }

  if (online)
    {
      /* A connection to them is near: its certificate is made meanwhile */
      natter_peer_prepare ();
      session->attempts = 0;
      g_clear_handle_id (&session->retry_source, g_source_remove);
      _natter_client_flush_outbox (self, user_id);
    }
}

static void
on_signal_received (NatterRendezvous *rendezvous,
                    const char       *from,
                    JsonObject       *payload,
                    gpointer          user_data)
{
  NatterClient *self = user_data;
  NatterPeer *peer;

  /* Only contacts may open a connection; strangers go through invitations. */
  if (!_natter_client_is_allowed_peer (self, from))
    {
      g_debug ("Refused a connection attempt from %s, who is not a contact",
               NATTER_USER_ID_LOG (from));
      return;
    }

  if (_natter_client_calls_signal (self, from, payload))
    return;

  peer = _natter_contact_session_ensure_peer (_natter_client_get_session (self, from), FALSE);
  natter_peer_handle_signal (peer, payload);
}

static void
on_signal_failed (NatterRendezvous *rendezvous,
                  const char       *to,
                  int               code,
                  gpointer          user_data)
{
  NatterClient *self = user_data;
  NatterContactSession *session = g_hash_table_lookup (self->sessions, to);

  g_debug ("Relay to %s failed: %s", NATTER_USER_ID_LOG (to), natter_protocol_error_to_code (code));

  if (session != NULL && session->peer != NULL && !session->chat_open)
    _natter_contact_session_drop_peer (session);
}

static void
on_frame_received (GObject         *rendezvous,
                   NatterFrame     *frame,
                   gpointer         user_data)
{
  NatterClient *self = user_data;

  switch (natter_frame_get_frame_type (frame))
    {
    case NATTER_FRAME_INVITATION:
    case NATTER_FRAME_INVITATION_ANSWER:
      _natter_client_invitation_frame (self, frame);
      break;

    case NATTER_FRAME_ROOM_MEMBER_JOINED:
    case NATTER_FRAME_ROOM_MEMBER_LEFT:
      _natter_client_room_frame (self, frame);
      break;

    default:
      break;
    }
}

static void
update_subscriptions (NatterClient *self)
{
  g_autoptr(GPtrArray) contacts = natter_store_list_contacts (self->store, NULL);
  g_autoptr(GPtrArray) ids = g_ptr_array_new ();

  for (guint i = 0; contacts != NULL && i < contacts->len; i++)
    {
      NatterContact *contact = g_ptr_array_index (contacts, i);

      if (!natter_contact_get_blocked (contact))
        g_ptr_array_add (ids, (gpointer) natter_contact_get_user_id (contact));
    }
  g_ptr_array_add (ids, NULL);

  natter_rendezvous_watch_users (self->rendezvous, (const char * const *) ids->pdata);
}

/* What a session shows of the stored contact follows it */
static void
on_contact_changed (NatterClient *self,
                    const char   *contact_id)
{
  NatterContactSession *session = g_hash_table_lookup (self->sessions, contact_id);
  g_autoptr(NatterContact) contact = NULL;

  if (session == NULL)
    return;

  contact = _natter_client_lookup_contact (self, contact_id);
  _natter_contact_session_set_verified (session,
                                        contact != NULL && natter_contact_get_verified (contact));
  g_signal_emit (session, _natter_contact_session_signals[SESSION_CONTACT_CHANGED], 0);
}

static void
on_pending_invitation_changed (NatterClient *self,
                               const char   *user_id)
{
  g_signal_emit (self, _natter_client_signals[CONTACT_CHANGED], 0, user_id);
}

/* The way to a contact changed (nearby or through the server), not whether
 * they are online: presence-changed again, for those showing the route */
static void
on_route_changed (NatterRendezvous *rendezvous,
                  const char       *user_id,
                  NatterRoute       route,
                  NatterClient     *self)
{
  NatterContactSession *session = g_hash_table_lookup (self->sessions, user_id);

  if (session != NULL)
    _natter_contact_session_set_route (session, route);
  if (route != NATTER_ROUTE_NONE)
    g_signal_emit (self, _natter_client_signals[PRESENCE_CHANGED], 0, user_id, TRUE);
}

static void
natter_client_constructed (GObject *object)
{
  NatterClient *self = NATTER_CLIENT (object);
  NatterRendezvous *server;

  G_OBJECT_CLASS (natter_client_parent_class)->constructed (object);

  g_signal_connect (self, "contact-changed", G_CALLBACK (on_contact_changed), NULL);

  if (self->rendezvous == NULL)
    self->rendezvous = NATTER_RENDEZVOUS (natter_signaling_new (self->identity,
                                                                self->server_url));
  g_signal_connect (self->rendezvous, "presence-changed", G_CALLBACK (on_presence_changed), self);
  g_signal_connect (self->rendezvous, "signal-received", G_CALLBACK (on_signal_received), self);
  g_signal_connect (self->rendezvous, "signal-failed", G_CALLBACK (on_signal_failed), self);
  server = self->rendezvous;

  /* On the local network, invitations go directly between the two */
  if (NATTER_IS_LAN (self->rendezvous))
    {
      self->lan = NATTER_LAN (self->rendezvous);
      g_signal_connect (self->lan, "frame-received", G_CALLBACK (on_frame_received), self);
    }

  /* A server and the local network: the server keeps invitations */
  if (NATTER_IS_DUAL_RENDEZVOUS (self->rendezvous))
    {
      server = natter_dual_rendezvous_get_server (NATTER_DUAL_RENDEZVOUS (self->rendezvous));
      g_signal_connect (self->rendezvous, "route-changed", G_CALLBACK (on_route_changed), self);
    }

  /* Invitations, handles and rooms are what a server offers besides */
  if (!NATTER_IS_SIGNALING (server))
    return;

  self->signaling = NATTER_SIGNALING (server);
  g_signal_connect (self->signaling, "frame-received", G_CALLBACK (on_frame_received), self);

  self->pending_invitations = natter_pending_invitations_new (self->signaling);
  g_signal_connect_swapped (self->pending_invitations, "changed",
                            G_CALLBACK (on_pending_invitation_changed), self);
}

static void
natter_client_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  NatterClient *self = NATTER_CLIENT (object);

  switch (prop_id)
    {
    case PROP_IDENTITY:
      g_value_set_object (value, self->identity);
      break;

    case PROP_STORE:
      g_value_set_object (value, self->store);
      break;

    case PROP_SERVER_URL:
      g_value_set_string (value, self->server_url);
      break;

    case PROP_RENDEZVOUS:
      g_value_set_object (value, self->rendezvous);
      break;

    case PROP_LOOPBACK:
      g_value_set_boolean (value, self->loopback);
      break;

    case PROP_RELAY_ONLY:
      g_value_set_boolean (value, self->relay_only);
      break;

    case PROP_CONNECT_TIMEOUT:
      g_value_set_uint (value, self->connect_timeout_ms);
      break;

    case PROP_SEND_READ_RECEIPTS:
      g_value_set_boolean (value, self->send_read_receipts);
      break;

    case PROP_SEND_TYPING:
      g_value_set_boolean (value, self->send_typing);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
natter_client_set_property (GObject      *object,
                            guint         prop_id,
                            const GValue *value,
                            GParamSpec   *pspec)
{
  NatterClient *self = NATTER_CLIENT (object);

  switch (prop_id)
    {
    case PROP_IDENTITY:
      self->identity = g_value_dup_object (value);
      break;

    case PROP_STORE:
      self->store = g_value_dup_object (value);
      break;

    case PROP_SERVER_URL:
      self->server_url = g_value_dup_string (value);
      break;

    case PROP_RENDEZVOUS:
      self->rendezvous = g_value_dup_object (value);
      break;

    case PROP_LOOPBACK:
      natter_client_set_loopback (self, g_value_get_boolean (value));
      break;

    case PROP_RELAY_ONLY:
      natter_client_set_relay_only (self, g_value_get_boolean (value));
      break;

    case PROP_CONNECT_TIMEOUT:
      natter_client_set_connect_timeout (self, g_value_get_uint (value));
      break;

    case PROP_SEND_READ_RECEIPTS:
      natter_client_set_send_read_receipts (self, g_value_get_boolean (value));
      break;

    case PROP_SEND_TYPING:
      natter_client_set_send_typing (self, g_value_get_boolean (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
natter_client_dispose (GObject *object)
{
  NatterClient *self = NATTER_CLIENT (object);

  _natter_client_transfers_clear (self);
  if (self->calls != NULL)
    _natter_client_calls_free (self, g_steal_pointer (&self->calls));
  g_clear_pointer (&self->sessions, g_hash_table_unref);
  if (self->pending_invitations != NULL)
    g_signal_handlers_disconnect_by_data (self->pending_invitations, self);
  g_clear_object (&self->pending_invitations);
  if (self->rendezvous != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->rendezvous, self);
      natter_rendezvous_stop (self->rendezvous);
    }
  self->signaling = NULL;
  self->lan = NULL;
  g_clear_object (&self->rendezvous);
  g_clear_object (&self->store);
  g_clear_object (&self->identity);

  G_OBJECT_CLASS (natter_client_parent_class)->dispose (object);
}

static void
natter_client_finalize (GObject *object)
{
  NatterClient *self = NATTER_CLIENT (object);

  g_free (self->server_url);
  g_free (self->profile_name);
  g_free (self->profile_bio);
  g_clear_pointer (&self->avatar, g_bytes_unref);
  g_free (self->avatar_sha256);
  g_clear_pointer (&self->ice_override, json_array_unref);

  G_OBJECT_CLASS (natter_client_parent_class)->finalize (object);
}

static void
natter_client_class_init (NatterClientClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GType type = G_TYPE_FROM_CLASS (klass);

  object_class->constructed = natter_client_constructed;
  object_class->get_property = natter_client_get_property;
  object_class->set_property = natter_client_set_property;
  object_class->dispose = natter_client_dispose;
  object_class->finalize = natter_client_finalize;

  properties[PROP_IDENTITY] =
    g_param_spec_object ("identity", NULL, NULL, NATTER_TYPE_IDENTITY,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_STORE] =
    g_param_spec_object ("store", NULL, NULL, NATTER_TYPE_STORE,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SERVER_URL] =
    g_param_spec_string ("server-url", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  /**
   * NatterClient:rendezvous:
   *
   * How peers are found and signal payloads pass; a NatterSignaling for
   * #NatterClient:server-url unless given.
   */
  properties[PROP_RENDEZVOUS] =
    g_param_spec_object ("rendezvous", NULL, NULL, NATTER_TYPE_RENDEZVOUS,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * NatterClient:loopback:
   *
   * Whether peers also offer 127.0.0.1: only useful when both run on one
   * machine, as in tests. Applies to connections made from now on.
   */
  properties[PROP_LOOPBACK] =
    g_param_spec_boolean ("loopback", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * NatterClient:relay-only:
   *
   * Whether connections may only go through a TURN relay, which hides
   * one's address from contacts at the cost of a relay in the path.
   * Applies to connections made from now on.
   */
  properties[PROP_RELAY_ONLY] =
    g_param_spec_boolean ("relay-only", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * NatterClient:connect-timeout:
   *
   * How long a connection to a contact may take to open, in milliseconds;
   * 0 keeps NatterPeer's own default. Applies to connections made from now on.
   */
  properties[PROP_CONNECT_TIMEOUT] =
    g_param_spec_uint ("connect-timeout", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * NatterClient:send-read-receipts:
   *
   * Whether contacts are told when their messages were read.
   */
  properties[PROP_SEND_READ_RECEIPTS] =
    g_param_spec_boolean ("send-read-receipts", NULL, NULL, TRUE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * NatterClient:send-typing:
   *
   * Whether contacts see when the user is writing to them.
   */
  properties[PROP_SEND_TYPING] =
    g_param_spec_boolean ("send-typing", NULL, NULL, TRUE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * NatterClient::message-added:
   * @message: a #NatterMessage, outgoing (queued) or newly received
   */
  _natter_client_signals[MESSAGE_ADDED] =
    g_signal_new ("message-added", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, NATTER_TYPE_MESSAGE);

  /**
   * NatterClient::message-status-changed:
   * @contact_id: the conversation
   * @message_id: the message
   * @status: a #NatterMessageStatus
   */
  _natter_client_signals[MESSAGE_STATUS_CHANGED] =
    g_signal_new ("message-status-changed", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 3, G_TYPE_STRING, G_TYPE_STRING, NATTER_TYPE_MESSAGE_STATUS);

  /* typing-changed, presence-changed, peer-state-changed and trust-failure
   * are for listeners of every contact (natter-cli listen, the contact
   * list); a view of one contact binds the properties of its
   * NatterContactSession (natter_client_get_session()) instead. */
  _natter_client_signals[TYPING_CHANGED] =
    g_signal_new ("typing-changed", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_BOOLEAN);

  _natter_client_signals[PRESENCE_CHANGED] =
    g_signal_new ("presence-changed", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_BOOLEAN);

  _natter_client_signals[PEER_STATE_CHANGED] =
    g_signal_new ("peer-state-changed", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_STRING, NATTER_TYPE_PEER_STATE);

  _natter_client_signals[CONTACT_CHANGED] =
    g_signal_new ("contact-changed", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_STRING);

  _natter_client_signals[INVITATION_RECEIVED] =
    g_signal_new ("invitation-received", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, NATTER_TYPE_INVITATION);

  _natter_client_signals[INVITATION_ANSWERED] =
    g_signal_new ("invitation-answered", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, NATTER_TYPE_INVITATION);

  /**
   * NatterClient::room-event:
   * @room: the room
   * @user: who joined or left
   * @joined: %TRUE for joined
   */
  _natter_client_signals[ROOM_EVENT] =
    g_signal_new ("room-event", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 3, G_TYPE_STRING, G_TYPE_STRING, G_TYPE_BOOLEAN);

  /**
   * NatterClient::trust-failure:
   * @contact_id: the contact whose connection presented a DTLS fingerprint
   *   that its key did not sign: someone may be in the middle
   */
  _natter_client_signals[TRUST_FAILURE] =
    g_signal_new ("trust-failure", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_STRING);

  /**
   * NatterClient::conversation-read:
   * @contact_id: the conversation whose messages were all marked read
   */
  _natter_client_signals[CONVERSATION_READ] =
    g_signal_new ("conversation-read", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_STRING);

  /**
   * NatterClient::message-deleted:
   * @contact_id: the conversation
   * @message_id: the message deleted from this history
   */
  _natter_client_signals[MESSAGE_DELETED] =
    g_signal_new ("message-deleted", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);

  /**
   * NatterClient::conversation-cleared:
   * @contact_id: the conversation whose messages were all deleted here
   */
  _natter_client_signals[CONVERSATION_CLEARED] =
    g_signal_new ("conversation-cleared", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_STRING);

  /**
   * NatterClient::message-refused:
   * @contact_id: the conversation
   * @message_id: an outgoing message the contact did not keep
   * @reason: the contact's reason, one of docs/peer.md's refusal reasons;
   *   for the storage ones the message stays queued and goes again later,
   *   otherwise it is now failed
   */
  _natter_client_signals[MESSAGE_REFUSED] =
    g_signal_new ("message-refused", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 3, G_TYPE_STRING, G_TYPE_STRING, G_TYPE_STRING);

  /**
   * NatterClient::store-failed:
   * @error: why the history could not take what a contact sent (a full
   *   disk is %NATTER_STORE_ERROR_DISK_FULL); the contact was told and will
   *   send it again later
   */
  _natter_client_signals[STORE_FAILED] =
    g_signal_new ("store-failed", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_ERROR);

  /**
   * NatterClient::transfer-added:
   * @transfer: a file offered to a contact, or by one: the live object,
   *   whose state and progress follow the transfer
   */
  _natter_client_signals[TRANSFER_ADDED] =
    g_signal_new ("transfer-added", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, NATTER_TYPE_TRANSFER);

  /**
   * NatterClient::transfer-started:
   * @transfer: a transfer whose data starts to flow
   * @offset: from which byte (more than 0 when it resumes)
   */
  _natter_client_signals[TRANSFER_STARTED] =
    g_signal_new ("transfer-started", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, NATTER_TYPE_TRANSFER, G_TYPE_UINT64);
  _natter_client_calls_class_init (type);
}

static void
natter_client_init (NatterClient *self)
{
  self->sessions = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, detach_session);
  _natter_client_transfers_init (self);
  self->calls = _natter_client_calls_new ();
  self->send_read_receipts = TRUE;
  self->send_typing = TRUE;
}

/**
 * natter_client_new:
 * @identity: the local identity
 * @store: the history store
 * @server_url: the signaling server's WebSocket URL
 *
 * Returns: (transfer full): a new client; call natter_client_start()
 */
NatterClient *
natter_client_new (NatterIdentity *identity,
                   NatterStore    *store,
                   const char     *server_url)
{
  g_return_val_if_fail (NATTER_IS_IDENTITY (identity), NULL);
  g_return_val_if_fail (NATTER_IS_STORE (store), NULL);
  g_return_val_if_fail (server_url != NULL, NULL);

  return g_object_new (NATTER_TYPE_CLIENT,
                       "identity", identity,
                       "store", store,
                       "server-url", server_url,
                       NULL);
}

/**
 * natter_client_new_with_rendezvous:
 * @identity: the local identity
 * @store: the history store
 * @rendezvous: how to find contacts and pass signal payloads to them
 *
 * Returns: (transfer full): a new client; call natter_client_start()
 */
NatterClient *
natter_client_new_with_rendezvous (NatterIdentity   *identity,
                                   NatterStore      *store,
                                   NatterRendezvous *rendezvous)
{
  g_return_val_if_fail (NATTER_IS_IDENTITY (identity), NULL);
  g_return_val_if_fail (NATTER_IS_STORE (store), NULL);
  g_return_val_if_fail (NATTER_IS_RENDEZVOUS (rendezvous), NULL);

  return g_object_new (NATTER_TYPE_CLIENT,
                       "identity", identity,
                       "store", store,
                       "rendezvous", rendezvous,
                       NULL);
}

NatterIdentity *
natter_client_get_identity (NatterClient *self)
{
  g_return_val_if_fail (NATTER_IS_CLIENT (self), NULL);

  return self->identity;
}

NatterStore *
natter_client_get_store (NatterClient *self)
{
  g_return_val_if_fail (NATTER_IS_CLIENT (self), NULL);

  return self->store;
}

/**
 * natter_client_get_rendezvous:
 * @self: a #NatterClient
 *
 * Returns: (transfer none): how this client reaches its contacts
 */
NatterRendezvous *
natter_client_get_rendezvous (NatterClient *self)
{
  g_return_val_if_fail (NATTER_IS_CLIENT (self), NULL);

  return self->rendezvous;
}

/**
 * natter_client_get_signaling:
 * @self: a #NatterClient
 *
 * Returns: (transfer none) (nullable): the connection to natter-server, or
 *   %NULL when the rendezvous is not a server
 */
NatterSignaling *
natter_client_get_signaling (NatterClient *self)
{
  g_return_val_if_fail (NATTER_IS_CLIENT (self), NULL);

  return self->signaling;
}

const char *
natter_client_get_user_id (NatterClient *self)
{
  g_return_val_if_fail (NATTER_IS_CLIENT (self), NULL);

  return natter_identity_get_user_id (self->identity);
}

/**
 * natter_client_set_loopback:
 * @self: a #NatterClient
 * @loopback: whether peers also offer 127.0.0.1
 *
 * Sets #NatterClient:loopback.
 */
void
natter_client_set_loopback (NatterClient *self,
                            gboolean      loopback)
{
  g_return_if_fail (NATTER_IS_CLIENT (self));

  natter_object_set_boolean (G_OBJECT (self), &self->loopback, loopback,
                             properties[PROP_LOOPBACK]);
}

gboolean
natter_client_get_loopback (NatterClient *self)
{
  g_return_val_if_fail (NATTER_IS_CLIENT (self), FALSE);

  return self->loopback;
}

/**
 * natter_client_set_relay_only:
 * @self: a #NatterClient
 * @relay_only: whether connections may only go through a TURN relay
 *
 * Sets #NatterClient:relay-only.
 */
void
natter_client_set_relay_only (NatterClient *self,
                              gboolean      relay_only)
{
  g_return_if_fail (NATTER_IS_CLIENT (self));

  natter_object_set_boolean (G_OBJECT (self), &self->relay_only, relay_only,
                             properties[PROP_RELAY_ONLY]);
}

gboolean
natter_client_get_relay_only (NatterClient *self)
{
  g_return_val_if_fail (NATTER_IS_CLIENT (self), FALSE);

  return self->relay_only;
}

/**
 * natter_client_set_connect_timeout:
 * @self: a #NatterClient
 * @timeout_ms: milliseconds, or 0 for NatterPeer's default
 *
 * Sets #NatterClient:connect-timeout.
 */
void
natter_client_set_connect_timeout (NatterClient *self,
                                   guint         timeout_ms)
{
  g_return_if_fail (NATTER_IS_CLIENT (self));

  if (self->connect_timeout_ms == timeout_ms)
    return;

  self->connect_timeout_ms = timeout_ms;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONNECT_TIMEOUT]);
}

guint
natter_client_get_connect_timeout (NatterClient *self)
{
  g_return_val_if_fail (NATTER_IS_CLIENT (self), 0);

  return self->connect_timeout_ms;
}

/**
 * natter_client_set_send_read_receipts:
 * @self: a #NatterClient
 * @enabled: whether contacts learn what was read
 *
 * Sets #NatterClient:send-read-receipts.
 */
void
natter_client_set_send_read_receipts (NatterClient *self,
                                      gboolean      enabled)
{
  g_return_if_fail (NATTER_IS_CLIENT (self));

  natter_object_set_boolean (G_OBJECT (self), &self->send_read_receipts, enabled,
                             properties[PROP_SEND_READ_RECEIPTS]);
}

gboolean
natter_client_get_send_read_receipts (NatterClient *self)
{
  g_return_val_if_fail (NATTER_IS_CLIENT (self), FALSE);

  return self->send_read_receipts;
}

/**
 * natter_client_set_send_typing:
 * @self: a #NatterClient
 * @enabled: whether contacts see the user typing
 *
 * Sets #NatterClient:send-typing.
 */
void
natter_client_set_send_typing (NatterClient *self,
                               gboolean      enabled)
{
  g_return_if_fail (NATTER_IS_CLIENT (self));

  natter_object_set_boolean (G_OBJECT (self), &self->send_typing, enabled,
                             properties[PROP_SEND_TYPING]);
}

gboolean
natter_client_get_send_typing (NatterClient *self)
{
  g_return_val_if_fail (NATTER_IS_CLIENT (self), FALSE);

  return self->send_typing;
}

/**
 * natter_client_set_ice_servers_override:
 * @self: a #NatterClient
 * @ice_servers: (nullable): an RTCIceServer list as in docs/protocol.md, or
 *   %NULL to use what the signaling server offers
 *
 * Lets the user choose STUN/TURN servers of their own. Applies to
 * connections made from now on.
 */
void
natter_client_set_ice_servers_override (NatterClient *self,
                                        JsonArray    *ice_servers)
{
  g_return_if_fail (NATTER_IS_CLIENT (self));

  g_clear_pointer (&self->ice_override, json_array_unref);
  if (ice_servers != NULL)
    self->ice_override = json_array_ref (ice_servers);
}

/**
 * natter_client_start:
 * @self: a #NatterClient
 *
 * Connects to the server and keeps connected; queued messages go out as
 * their recipients come online.
 */
void
natter_client_start (NatterClient *self)
{
  g_return_if_fail (NATTER_IS_CLIENT (self));

  update_subscriptions (self);
  natter_rendezvous_start (self->rendezvous);
}

/**
 * natter_client_has_unsent:
 *
 * Whether an open chat channel still holds envelopes that have not left
 * this process: a hang-up, a receipt, a message just sent. A process about
 * to exit waits for this to turn %FALSE (briefly) before
 * natter_client_stop(), or the peer hears of the exit first.
 */
gboolean
natter_client_has_unsent (NatterClient *self)
{
  GHashTableIter iter;
  NatterContactSession *session;

  g_return_val_if_fail (NATTER_IS_CLIENT (self), FALSE);

  g_hash_table_iter_init (&iter, self->sessions);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &session))
    if (session->chat != NULL &&
        natter_channel_get_state (session->chat) == NATTER_CHANNEL_STATE_OPEN &&
        !natter_channel_is_drained (session->chat))
      return TRUE;
  return FALSE;
}

void
natter_client_stop (NatterClient *self)
{
  GHashTableIter iter;
  NatterContactSession *session;

  g_return_if_fail (NATTER_IS_CLIENT (self));

  /* Close now, while the server can still carry each peer's goodbye. */
  _natter_client_calls_stop (self);
  g_hash_table_iter_init (&iter, self->sessions);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &session))
    _natter_contact_session_close_now (session);

  natter_rendezvous_stop (self->rendezvous);
  natter_peer_wait_prepared ();
}

NatterPeerState
natter_client_get_peer_state (NatterClient *self,
                              const char   *contact_id)
{
  NatterContactSession *session;

  g_return_val_if_fail (NATTER_IS_CLIENT (self), NATTER_PEER_STATE_NEW);
  g_return_val_if_fail (contact_id != NULL, NATTER_PEER_STATE_NEW);

  session = g_hash_table_lookup (self->sessions, contact_id);
  if (session == NULL || session->peer == NULL)
    return NATTER_PEER_STATE_NEW;

  return natter_peer_get_state (session->peer);
}

/**
 * natter_client_get_session:
 * @self: a #NatterClient
 * @contact_id: a contact
 *
 * The object to bind a view of @contact_id to: presence, the connection,
 * typing and trust as properties, and the conversation's own signals.
 *
 * Returns: (transfer none): the contact's session, for as long as the
 *   client runs and the contact is not removed
 */
NatterContactSession *
natter_client_get_session (NatterClient *self,
                           const char   *contact_id)
{
  g_return_val_if_fail (NATTER_IS_CLIENT (self), NULL);
  g_return_val_if_fail (contact_id != NULL, NULL);

  return _natter_client_get_session (self, contact_id);
}

gboolean
natter_client_is_contact_online (NatterClient *self,
                                 const char   *contact_id)
{
  g_return_val_if_fail (NATTER_IS_CLIENT (self), FALSE);
  g_return_val_if_fail (contact_id != NULL, FALSE);

  return natter_rendezvous_is_user_online (self->rendezvous, contact_id);
}

/**
 * natter_client_get_route:
 * @self: a #NatterClient
 * @contact_id: a contact
 *
 * Returns: how the contact is reached now: on this network, through the
 *   server, or not at all (for the conversation header)
 */
NatterRoute
natter_client_get_route (NatterClient *self,
                         const char   *contact_id)
{
  g_return_val_if_fail (NATTER_IS_CLIENT (self), NATTER_ROUTE_NONE);
  g_return_val_if_fail (contact_id != NULL, NATTER_ROUTE_NONE);

  if (NATTER_IS_DUAL_RENDEZVOUS (self->rendezvous))
    return natter_dual_rendezvous_get_route (NATTER_DUAL_RENDEZVOUS (self->rendezvous),
                                             contact_id);
  if (!natter_rendezvous_is_user_online (self->rendezvous, contact_id))
    return NATTER_ROUTE_NONE;
  return self->lan != NULL ? NATTER_ROUTE_NEARBY : NATTER_ROUTE_SERVER;
}

/**
 * natter_client_get_lan:
 * @self: a #NatterClient
 *
 * Returns: (transfer none) (nullable): the client's way to the people on
 *   this network, alone or beside a server; %NULL for a server only
 */
NatterLan *
natter_client_get_lan (NatterClient *self)
{
  g_return_val_if_fail (NATTER_IS_CLIENT (self), NULL);

  if (NATTER_IS_DUAL_RENDEZVOUS (self->rendezvous))
    return natter_dual_rendezvous_get_lan (NATTER_DUAL_RENDEZVOUS (self->rendezvous));
  return self->lan;
}

/**
 * natter_client_connect_to:
 * @self: a #NatterClient
 * @contact_id: a contact
 *
 * Opens the peer connection now, if the contact is online, rather than
 * waiting for something to send. The app calls it when a conversation
 * is opened, so the first message goes out at once.
 */
void
natter_client_connect_to (NatterClient *self,
                          const char   *contact_id)
{
  g_return_if_fail (NATTER_IS_CLIENT (self));
  g_return_if_fail (contact_id != NULL);

  if (_natter_client_is_allowed_peer (self, contact_id) &&
      natter_rendezvous_is_user_online (self->rendezvous, contact_id))
    _natter_contact_session_ensure_peer (_natter_client_get_session (self, contact_id), TRUE);
}

/**
 * natter_client_is_invitation_pending:
 * @contact_id: a contact
 *
 * Returns: whether we invited @contact_id and they have not answered yet
 *   (NatterClient::contact-changed says when this changes)
 */
gboolean
natter_client_is_invitation_pending (NatterClient *self,
                                     const char   *contact_id)
{
  g_return_val_if_fail (NATTER_IS_CLIENT (self), FALSE);

  return self->pending_invitations != NULL &&
         natter_pending_invitations_contains (self->pending_invitations, contact_id);
}

/**
 * natter_client_add_contact:
 * @self: a #NatterClient
 * @user_id: the contact's user ID
 * @name: (nullable): a name to show until their profile arrives
 * @error: a #GError
 *
 * Returns: (transfer full) (nullable): the contact, new or existing
 */
NatterContact *
natter_client_add_contact (NatterClient  *self,
                           const char    *user_id,
                           const char    *name,
                           GError       **error)
{
  NatterContact *contact;

  g_return_val_if_fail (NATTER_IS_CLIENT (self), NULL);
  g_return_val_if_fail (user_id != NULL, NULL);

  if (!natter_user_id_is_valid (user_id))
    {
      g_set_error_literal (error, NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_INVALID_USER,
                           "This is not a valid Natter ID");
      return NULL;
    }

  contact = _natter_client_lookup_contact (self, user_id);
  if (contact == NULL)
    {
      contact = natter_store_add_contact (self->store, user_id, name, error);
      if (contact == NULL)
        return NULL;
      update_subscriptions (self);
      g_signal_emit (self, _natter_client_signals[CONTACT_CHANGED], 0, user_id);
    }

  return contact;
}

/**
 * natter_client_set_blocked:
 * @self: a #NatterClient
 * @contact_id: the contact
 * @blocked: whether to block
 * @error: a #GError
 *
 * A blocked contact can neither connect nor be written to.
 *
 * Returns: %TRUE on success
 */
gboolean
natter_client_set_blocked (NatterClient  *self,
                           const char    *contact_id,
                           gboolean       blocked,
                           GError       **error)
{
  g_return_val_if_fail (NATTER_IS_CLIENT (self), FALSE);
  g_return_val_if_fail (contact_id != NULL, FALSE);

  if (!natter_store_set_contact_blocked (self->store, contact_id, blocked, error))
    return FALSE;

  if (blocked)
    end_session (self, contact_id);

  update_subscriptions (self);
  g_signal_emit (self, _natter_client_signals[CONTACT_CHANGED], 0, contact_id);

  return TRUE;
}

/* What the user changed of a contact is stored: say so */
static gboolean
announce_contact_change (NatterClient *self,
                         const char   *contact_id,
                         gboolean      stored)
{
  if (stored)
    g_signal_emit (self, _natter_client_signals[CONTACT_CHANGED], 0, contact_id);

  return stored;
}

/**
 * natter_client_set_verified:
 * @self: a #NatterClient
 * @contact_id: the contact
 * @verified: whether the user compared the safety number with them
 * @error: a #GError
 *
 * Returns: %TRUE once it is stored (and #NatterContact:verified follows)
 */
gboolean
natter_client_set_verified (NatterClient  *self,
                            const char    *contact_id,
                            gboolean       verified,
                            GError       **error)
{
  g_return_val_if_fail (NATTER_IS_CLIENT (self), FALSE);
  g_return_val_if_fail (contact_id != NULL, FALSE);

  return announce_contact_change (self, contact_id,
                                  natter_store_set_contact_verified (self->store, contact_id,
                                                                     verified, error));
}

/**
 * natter_client_rename_contact:
 * @self: a #NatterClient
 * @contact_id: the contact
 * @alias: (nullable): a name of the user's own for them, %NULL for the one
 *   they chose
 * @error: a #GError
 *
 * Returns: %TRUE once it is stored (and #NatterContact:alias follows)
 */
gboolean
natter_client_rename_contact (NatterClient  *self,
                              const char    *contact_id,
                              const char    *alias,
                              GError       **error)
{
  g_return_val_if_fail (NATTER_IS_CLIENT (self), FALSE);
  g_return_val_if_fail (contact_id != NULL, FALSE);

  return announce_contact_change (self, contact_id,
                                  natter_store_rename_contact (self->store, contact_id, alias,
                                                               error));
}

/**
 * natter_client_remove_contact:
 *
 * Removes the contact and their conversation from this computer, and
 * closes any connection to them. They can invite you again.
 *
 * Returns: %TRUE if the contact is gone
 */
gboolean
natter_client_remove_contact (NatterClient  *self,
                              const char    *contact_id,
                              GError       **error)
{
  g_return_val_if_fail (NATTER_IS_CLIENT (self), FALSE);
  g_return_val_if_fail (contact_id != NULL, FALSE);

  if (!natter_store_remove_contact (self->store, contact_id, error))
    return FALSE;

  /* The session says so before it goes */
  g_signal_emit (_natter_client_get_session (self, contact_id),
                 _natter_contact_session_signals[SESSION_CONVERSATION_CLEARED], 0);
  update_subscriptions (self);
  g_signal_emit (self, _natter_client_signals[CONVERSATION_CLEARED], 0, contact_id);
  g_signal_emit (self, _natter_client_signals[CONTACT_CHANGED], 0, contact_id);
  g_hash_table_remove (self->sessions, contact_id);
  return TRUE;
}

/**
 * natter_client_get_envelopes_sent:
 * @self: a #NatterClient
 *
 * Returns: how many chat envelopes this client has sent, for figures and
 *   tests of what goes on the wire
 */
guint64
natter_client_get_envelopes_sent (NatterClient *self)
{
  g_return_val_if_fail (NATTER_IS_CLIENT (self), 0);

  return self->envelopes_sent;
}

/**
 * natter_client_get_envelopes_received:
 * @self: a #NatterClient
 *
 * Returns: how many chat envelopes this client has received
 */
guint64
natter_client_get_envelopes_received (NatterClient *self)
{
  g_return_val_if_fail (NATTER_IS_CLIENT (self), 0);

  return self->envelopes_received;
}

