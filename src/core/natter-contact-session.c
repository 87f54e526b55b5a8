/* natter-contact-session.c: one contact as this client is with them now
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * NatterClient keeps one session per contact it has dealt with since it
 * started: the contact's NatterPeer and its chat channel, reconnecting with
 * back-off, and what the UI shows of the contact besides their profile:
 * presence, the state of the connection, typing, whether their key was
 * verified and whether a connection was refused for trust. Views bind to
 * these properties and connect to the session's own signals, so that none
 * of them filters client-wide signals by contact ID.
 */
#define G_LOG_DOMAIN "natter-contact-session"

#include "config.h"

#include "natter-client-private.h"
#include "natter-contact-session-private.h"

/* Reconnecting a failed peer: exponential backoff, capped. */
#define PEER_RETRY_BASE_MS  1000
#define PEER_RETRY_CAP_MS   30000

enum {
  PROP_0,
  PROP_CONTACT_ID,
  PROP_ONLINE,
  PROP_PEER_STATE,
  PROP_TYPING,
  PROP_VERIFIED,
  PROP_TRUST_FAILURE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];
guint _natter_contact_session_signals[SESSION_N_SIGNALS];

G_DEFINE_FINAL_TYPE (NatterContactSession, natter_contact_session, G_TYPE_OBJECT)

static gboolean
close_peer_idle (gpointer data)
{
  natter_peer_close (NATTER_PEER (data));

  return G_SOURCE_REMOVE;
}

static gboolean
on_typing_expired (gpointer user_data)
{
  NatterContactSession *self = user_data;

  self->typing_source = 0;
  _natter_contact_session_set_typing (self, FALSE, 0);
  if (self->client != NULL)
    g_signal_emit (self->client, _natter_client_signals[TYPING_CHANGED], 0, self->contact_id,
                   FALSE);

  return G_SOURCE_REMOVE;
}

static void
on_chat_text (NatterChannel *channel,
              const char    *text,
              gpointer       user_data)
{
  NatterContactSession *self = user_data;

  _natter_client_chat_message (self->client, self, text);
}

static void
release_chat (NatterContactSession *self)
{
  if (self->chat == NULL)
    return;

  g_signal_handlers_disconnect_by_data (self->chat, self);
  g_clear_object (&self->chat);
}

static void
on_chat_opened (NatterPeer *peer,
                gpointer    user_data)
{
  NatterContactSession *self = user_data;

  g_debug ("Chat channel open to %s", NATTER_USER_ID_LOG (self->contact_id));
  release_chat (self);
  self->chat = g_object_ref (natter_peer_get_chat_channel (peer));
  g_signal_connect (self->chat, "text-message", G_CALLBACK (on_chat_text), self);
  self->chat_open = TRUE;
  self->attempts = 0;
  _natter_client_chat_opened (self->client, self);
}

static gboolean
on_channel_opened (NatterPeer    *peer,
                   NatterChannel *channel,
                   gpointer       user_data)
{
  NatterContactSession *self = user_data;

  return self->client != NULL && _natter_client_transfer_channel (self->client, self, channel);
}

/* Connected to the rendezvous rather than to the session, so that a peer
 * that is being dropped can still say goodbye. */
static void
on_signal_out (NatterPeer *peer,
               JsonObject *payload,
               gpointer    user_data)
{
  NatterRendezvous *rendezvous = user_data;
  const char *contact_id = natter_peer_get_remote_id (peer);
  g_autoptr(GError) error = NULL;

  if (!natter_rendezvous_send_signal (rendezvous, contact_id, payload, &error))
    g_debug ("Could not relay to %s: %s", NATTER_USER_ID_LOG (contact_id), error->message);
}

static void
on_trust_failure (NatterPeer *peer,
                  const char *reason,
                  gpointer    user_data)
{
  g_autoptr(NatterContactSession) self = g_object_ref (user_data);

  /* Not a warning: it is what the check is for, and the UI shows it. */
  g_message ("Refused the connection to %s: %s", NATTER_USER_ID_LOG (self->contact_id), reason);

  if (g_strcmp0 (self->trust_failure, reason) != 0)
    {
      g_free (self->trust_failure);
      self->trust_failure = g_strdup (reason != NULL ? reason : "");
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TRUST_FAILURE]);
    }

  if (self->client != NULL)
    g_signal_emit (self->client, _natter_client_signals[TRUST_FAILURE], 0, self->contact_id);
}

static gboolean
on_peer_retry (gpointer user_data)
{
  NatterContactSession *self = user_data;

  self->retry_source = 0;
  _natter_client_flush_outbox (self->client, self->contact_id);

  return G_SOURCE_REMOVE;
}

static void
schedule_retry (NatterContactSession *self)
{
  guint delay;

  if (self->retry_source != 0)
    return;

  delay = MIN (PEER_RETRY_CAP_MS, PEER_RETRY_BASE_MS << MIN (self->attempts, 5));
  delay = g_random_int_range (delay / 2, delay + 1);
  self->attempts++;

  g_debug ("Retrying the connection to %s in %u ms", NATTER_USER_ID_LOG (self->contact_id), delay);
  self->retry_source = g_timeout_add (delay, on_peer_retry, self);
}

static void
on_peer_state (NatterPeer *peer,
               GParamSpec *pspec,
               gpointer    user_data)
{
  /* A handler of the client's signal may remove the contact, and so us */
  g_autoptr(NatterContactSession) self = g_object_ref (user_data);
  NatterPeerState state = natter_peer_get_state (peer);
  NatterClient *client = self->client;

  _natter_contact_session_set_peer_state (self, state);
  g_signal_emit (client, _natter_client_signals[PEER_STATE_CHANGED], 0, self->contact_id, state);

  if ((state != NATTER_PEER_STATE_FAILED && state != NATTER_PEER_STATE_CLOSED) ||
      self->client == NULL)
    return;

  _natter_contact_session_drop_peer (self);

  if (_natter_client_has_outbox (client, self->contact_id) &&
      natter_rendezvous_is_user_online (client->rendezvous, self->contact_id))
    schedule_retry (self);
}

static void
natter_contact_session_get_property (GObject    *object,
                                     guint       prop_id,
                                     GValue     *value,
                                     GParamSpec *pspec)
{
  NatterContactSession *self = NATTER_CONTACT_SESSION (object);

  switch (prop_id)
    {
    case PROP_CONTACT_ID:
      g_value_set_string (value, self->contact_id);
      break;

    case PROP_ONLINE:
      g_value_set_boolean (value, self->online);
      break;

    case PROP_PEER_STATE:
      g_value_set_enum (value, self->peer_state);
      break;

    case PROP_TYPING:
      g_value_set_boolean (value, self->typing);
      break;

    case PROP_VERIFIED:
      g_value_set_boolean (value, self->verified);
      break;

    case PROP_TRUST_FAILURE:
      g_value_set_string (value, self->trust_failure);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
natter_contact_session_dispose (GObject *object)
{
  NatterContactSession *self = NATTER_CONTACT_SESSION (object);

  _natter_contact_session_detach (self);

  G_OBJECT_CLASS (natter_contact_session_parent_class)->dispose (object);
}

static void
natter_contact_session_finalize (GObject *object)
{
  NatterContactSession *self = NATTER_CONTACT_SESSION (object);

  g_clear_pointer (&self->sent_ids, g_hash_table_unref);
  g_clear_pointer (&self->avatar_chunks, g_ptr_array_unref);
  g_free (self->avatar_sha256);
  g_free (self->trust_failure);
  g_free (self->contact_id);

  G_OBJECT_CLASS (natter_contact_session_parent_class)->finalize (object);
}

static void
natter_contact_session_class_init (NatterContactSessionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GType type = G_TYPE_FROM_CLASS (klass);
  GParamFlags flags = G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->get_property = natter_contact_session_get_property;
  object_class->dispose = natter_contact_session_dispose;
  object_class->finalize = natter_contact_session_finalize;

  properties[PROP_CONTACT_ID] =
    g_param_spec_string ("contact-id", NULL, NULL, NULL, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * NatterContactSession:online:
   *
   * Whether the contact can be reached through the rendezvous now.
   */
  properties[PROP_ONLINE] = g_param_spec_boolean ("online", NULL, NULL, FALSE, flags);

  /**
   * NatterContactSession:peer-state:
   *
   * The state of the latest connection to the contact: `failed` or
   * `closed` once it ended, until the next one begins.
   */
  properties[PROP_PEER_STATE] =
    g_param_spec_enum ("peer-state", NULL, NULL, NATTER_TYPE_PEER_STATE, NATTER_PEER_STATE_NEW,
                       flags);

  /**
   * NatterContactSession:typing:
   *
   * Whether the contact is typing; it ends by itself after a few seconds
   * without news, or when their message arrives.
   */
  properties[PROP_TYPING] = g_param_spec_boolean ("typing", NULL, NULL, FALSE, flags);

  /**
   * NatterContactSession:verified:
   *
   * Whether the user compared safety numbers with the contact.
   */
  properties[PROP_VERIFIED] = g_param_spec_boolean ("verified", NULL, NULL, FALSE, flags);

  /**
   * NatterContactSession:trust-failure:
   *
   * Why a connection to the contact was refused since the client started
   * (its DTLS fingerprint or binding statement was not signed by their key:
   * someone may be in the middle), or %NULL. Nothing was sent on it.
   */
  properties[PROP_TRUST_FAILURE] = g_param_spec_string ("trust-failure", NULL, NULL, NULL, flags);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * NatterContactSession::message-added:
   * @message: a #NatterMessage of this conversation, outgoing (queued) or
   *   newly received
   */
  _natter_contact_session_signals[SESSION_MESSAGE_ADDED] =
    g_signal_new ("message-added", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, NATTER_TYPE_MESSAGE);

  /**
   * NatterContactSession::message-status-changed:
   * @message_id: an outgoing message
   * @status: a #NatterMessageStatus
   */
  _natter_contact_session_signals[SESSION_MESSAGE_STATUS_CHANGED] =
    g_signal_new ("message-status-changed", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_STRING, NATTER_TYPE_MESSAGE_STATUS);

  /**
   * NatterContactSession::message-deleted:
   * @message_id: the message deleted from this history
   */
  _natter_contact_session_signals[SESSION_MESSAGE_DELETED] =
    g_signal_new ("message-deleted", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_STRING);

  /**
   * NatterContactSession::message-refused:
   * @message_id: an outgoing message the contact did not keep
   * @reason: their reason, one of docs/peer.md's
   */
  _natter_contact_session_signals[SESSION_MESSAGE_REFUSED] =
    g_signal_new ("message-refused", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);

  /**
   * NatterContactSession::conversation-read:
   *
   * Every message of the conversation was marked read.
   */
  _natter_contact_session_signals[SESSION_CONVERSATION_READ] =
    g_signal_new ("conversation-read", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 0);

  /**
   * NatterContactSession::conversation-cleared:
   *
   * Every message of the conversation was deleted here.
   */
  _natter_contact_session_signals[SESSION_CONVERSATION_CLEARED] =
    g_signal_new ("conversation-cleared", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 0);

  /**
   * NatterContactSession::contact-changed:
   *
   * The stored contact changed: blocked, unblocked, invited, answered,
   * renamed, a new profile, or removed (then the store has it no more).
   */
  _natter_contact_session_signals[SESSION_CONTACT_CHANGED] =
    g_signal_new ("contact-changed", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 0);

  /**
   * NatterContactSession::transfer-added:
   * @transfer: a file offered to the contact, or by them: the live object
   */
  _natter_contact_session_signals[SESSION_TRANSFER_ADDED] =
    g_signal_new ("transfer-added", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, NATTER_TYPE_TRANSFER);
}

static void
natter_contact_session_init (NatterContactSession *self)
{
  self->sent_ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->peer_state = NATTER_PEER_STATE_NEW;
}

NatterContactSession *
_natter_contact_session_new (NatterClient *client,
                             const char   *contact_id)
{
  NatterContactSession *self = g_object_new (NATTER_TYPE_CONTACT_SESSION, NULL);

  self->client = client;
  self->contact_id = g_strdup (contact_id);

  return self;
}

/* Ends everything under way; the client is done with this session (it
 * stopped, or the contact was removed or blocked). */
void
_natter_contact_session_detach (NatterContactSession *self)
{
  g_clear_handle_id (&self->retry_source, g_source_remove);
  g_clear_handle_id (&self->typing_source, g_source_remove);
  /* natter_client_stop() takes the peer away itself, timers and all */
  g_clear_handle_id (&self->resend_source, g_source_remove);
  _natter_contact_session_drop_peer (self);
  self->client = NULL;
}

/* Closing is deferred: this often runs inside one of the peer's own signal
 * emissions. */
void
_natter_contact_session_drop_peer (NatterContactSession *self)
{
  if (self->peer == NULL)
    return;

  release_chat (self);
  g_signal_handlers_disconnect_by_data (self->peer, self);
  g_idle_add_full (G_PRIORITY_DEFAULT, close_peer_idle, g_steal_pointer (&self->peer),
                   g_object_unref);
  self->chat_open = FALSE;
  /* The next connection sends everything undelivered again */
  g_hash_table_remove_all (self->sent_ids);
  g_clear_handle_id (&self->resend_source, g_source_remove);
}

/* Closes at once, while the rendezvous can still carry the goodbye; the
 * session stays, for the client to start again. */
void
_natter_contact_session_close_now (NatterContactSession *self)
{
  release_chat (self);
  if (self->peer != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->peer, self);
      natter_peer_close (self->peer);
      g_clear_object (&self->peer);
      _natter_contact_session_set_peer_state (self, NATTER_PEER_STATE_CLOSED);
    }

  self->chat_open = FALSE;
  g_hash_table_remove_all (self->sent_ids);
  g_clear_handle_id (&self->retry_source, g_source_remove);
  g_clear_handle_id (&self->resend_source, g_source_remove);
  self->attempts = 0;
  self->resend_attempts = 0;
  _natter_contact_session_set_typing (self, FALSE, 0);
}

NatterPeer *
_natter_contact_session_ensure_peer (NatterContactSession *self,
                                     gboolean              initiate)
{
  NatterClient *client = self->client;

  if (self->peer != NULL || client == NULL)
    return self->peer;

  self->peer = natter_peer_new (client->identity, self->contact_id,
                                client->ice_override != NULL ?
                                client->ice_override :
                                natter_rendezvous_get_ice_servers (client->rendezvous),
                                client->loopback);
  if (client->connect_timeout_ms > 0)
    natter_peer_set_connect_timeout (self->peer, client->connect_timeout_ms);
  natter_peer_set_relay_only (self->peer, client->relay_only);

  g_signal_connect_object (self->peer, "signal-out", G_CALLBACK (on_signal_out),
                           client->rendezvous, 0);
  g_signal_connect (self->peer, "chat-opened", G_CALLBACK (on_chat_opened), self);
  g_signal_connect (self->peer, "trust-failure", G_CALLBACK (on_trust_failure), self);
  g_signal_connect (self->peer, "channel-opened", G_CALLBACK (on_channel_opened), self);
  g_signal_connect (self->peer, "notify::state", G_CALLBACK (on_peer_state), self);

  if (initiate)
    natter_peer_connect (self->peer);

  return self->peer;
}

/* Sends @text on the open chat channel. */
gboolean
_natter_contact_session_send_text (NatterContactSession  *self,
                                   const char            *text,
                                   GError               **error)
{
  if (self->peer == NULL || self->chat == NULL || !self->chat_open)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED,
                           "Not connected to the contact");
      return FALSE;
    }

  if (!natter_channel_send_text (self->chat, text, error))
    return FALSE;

  if (self->client != NULL)
    self->client->envelopes_sent++;
  return TRUE;
}

void
_natter_contact_session_set_online (NatterContactSession *self,
                                    gboolean              online)
{
  online = !!online;
  if (self->online == online)
    return;

  self->online = online;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ONLINE]);
}

void
_natter_contact_session_set_peer_state (NatterContactSession *self,
                                        NatterPeerState       state)
{
  if (self->peer_state == state)
    return;

  self->peer_state = state;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PEER_STATE]);
}

/* Typing lasts @expiry_s without news */
void
_natter_contact_session_set_typing (NatterContactSession *self,
                                    gboolean              typing,
                                    guint                 expiry_s)
{
  g_clear_handle_id (&self->typing_source, g_source_remove);
  if (typing)
    self->typing_source = g_timeout_add_seconds (expiry_s, on_typing_expired, self);

  typing = !!typing;
  if (self->typing == typing)
    return;

  self->typing = typing;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TYPING]);
}

void
_natter_contact_session_set_verified (NatterContactSession *self,
                                      gboolean              verified)
{
  verified = !!verified;
  if (self->verified == verified)
    return;

  self->verified = verified;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_VERIFIED]);
}

const char *
natter_contact_session_get_contact_id (NatterContactSession *self)
{
  g_return_val_if_fail (NATTER_IS_CONTACT_SESSION (self), NULL);

  return self->contact_id;
}

gboolean
natter_contact_session_get_online (NatterContactSession *self)
{
  g_return_val_if_fail (NATTER_IS_CONTACT_SESSION (self), FALSE);

  return self->online;
}

NatterPeerState
natter_contact_session_get_peer_state (NatterContactSession *self)
{
  g_return_val_if_fail (NATTER_IS_CONTACT_SESSION (self), NATTER_PEER_STATE_NEW);

  return self->peer_state;
}

gboolean
natter_contact_session_get_typing (NatterContactSession *self)
{
  g_return_val_if_fail (NATTER_IS_CONTACT_SESSION (self), FALSE);

  return self->typing;
}

gboolean
natter_contact_session_get_verified (NatterContactSession *self)
{
  g_return_val_if_fail (NATTER_IS_CONTACT_SESSION (self), FALSE);

  return self->verified;
}

/**
 * natter_contact_session_get_trust_failure:
 * @self: a #NatterContactSession
 *
 * Returns: (nullable): why a connection to the contact was refused for
 *   trust (in English, for logs and details), or %NULL if none was
 */
const char *
natter_contact_session_get_trust_failure (NatterContactSession *self)
{
  g_return_val_if_fail (NATTER_IS_CONTACT_SESSION (self), NULL);

  return self->trust_failure;
}
