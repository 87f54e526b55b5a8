/* natter-peer.c: one WebRTC peer connection to one contact
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A NatterPeer owns at most one webrtcbin at a time (an "attempt") and the
 * data channels on it, each a NatterChannel: the ordered, reliable "chat"
 * channel that every connection has, and any others either side opens once
 * the connection is established. It never talks to the signaling server:
 * payloads to send come out of "signal-out", payloads received go into
 * natter_peer_handle_signal(). docs/peer.md describes them.
 *
 * Threads: natter-peer-events.c brings everything webrtcbin does on its own
 * threads over to the main context of the thread that created the peer, so
 * all state lives on that one thread. Offers, answers, candidates and
 * renegotiation are in natter-peer-negotiation.c; media sections (calls) in
 * natter-peer-media.c.
 *
 * Trust (natter-peer-trust.c): every offer and answer carries a signature by
 * the sender's identity key over sender, receiver, session, DTLS fingerprints
 * and ICE credentials; the receiver checks it against the key in the
 * contact's user ID before applying the SDP. Once DTLS is up, the peer checks
 * that the certificate the other side presented has the signed fingerprint
 * (webrtcbin itself does not compare the two), then sends its binding
 * statement as the first message on the chat channel and waits for the
 * other side's. Only when that checks out is the peer connected; until then
 * nothing received counts, and channels the other side opens are held.
 */
#define G_LOG_DOMAIN "natter-peer"

#include "config.h"

#include <string.h>

#include <nice/agent.h>

#include "natter-channel-private.h"
#include "natter-ice-servers.h"
#include "natter-peer.h"
#include "natter-peer-private.h"
#include "natter-peer-trust-private.h"
#include "natter-user-id.h"

#define SESSION_ID_MAX       64
#define LINGER_POLL_MS       50
#define LINGER_MAX_MS        10000
#define DISCONNECT_GRACE_MS  5000
/* Data channels the other side may hold open on one connection, and that
 * it may open and nobody here takes, before it is dropped (each costs
 * threads) */
#define REMOTE_CHANNELS_MAX  8
#define CHANNEL_LABEL_MAX    256
/* Ta, the pacing of ICE connectivity checks, in ms */
#define ICE_PACING_MS        5
/* How long a "bye" that arrives while we wait for the other side's binding
 * statement waits for that statement, which travels the other way */
#define BYE_GRACE_MS         2000

enum {
  PROP_0,
  PROP_IDENTITY,
  PROP_REMOTE_ID,
  PROP_ICE_SERVERS,
  PROP_LOOPBACK,
  PROP_RELAY_ONLY,
  PROP_CONNECT_TIMEOUT,
  PROP_POLITE,
  PROP_STATE,
  PROP_SESSION_ID,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  SIGNAL_OUT,
  CHAT_OPENED,
  CHAT_MESSAGE,
  CHANNEL_OPENED,
  TRUST_FAILURE,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (NatterPeer, natter_peer, G_TYPE_OBJECT)

G_DEFINE_ENUM_TYPE (NatterPeerState, natter_peer_state,
                    G_DEFINE_ENUM_VALUE (NATTER_PEER_STATE_NEW, "new"),
                    G_DEFINE_ENUM_VALUE (NATTER_PEER_STATE_CONNECTING, "connecting"),
                    G_DEFINE_ENUM_VALUE (NATTER_PEER_STATE_CONNECTED, "connected"),
                    G_DEFINE_ENUM_VALUE (NATTER_PEER_STATE_FAILED, "failed"),
                    G_DEFINE_ENUM_VALUE (NATTER_PEER_STATE_CLOSED, "closed"))

static void peer_end (NatterPeer      *self,
                      NatterPeerState  state,
                      gboolean         tell_remote,
                      const char      *reason);

/* Helpers */

const char *
_natter_peer_get_string_member (JsonObject *object,
                                const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;

  return json_node_get_string (node);
}

/* Where connection set-up time goes: `G_MESSAGES_DEBUG=natter-peer` */
void
_natter_peer_log_step (NatterPeer *self,
                       const char *step)
{
  g_debug ("Peer %s: %s at %.1f ms", NATTER_USER_ID_LOG (self->remote_id), step,
           (g_get_monotonic_time () - self->started) / 1000.0);
}

gboolean
_natter_peer_session_id_is_valid (const char *session)
{
  gsize length;

  if (session == NULL)
    return FALSE;

  length = strlen (session);
  if (length == 0 || length > SESSION_ID_MAX)
    return FALSE;

  for (const char *p = session; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '-' && *p != '_')
      return FALSE;

  return TRUE;
}

static char *
session_id_new (void)
{
  guint8 bytes[8];
  GString *text = g_string_sized_new (2 * sizeof bytes);

  natter_random_bytes (bytes, sizeof bytes);
  for (gsize i = 0; i < sizeof bytes; i++)
    g_string_append_printf (text, "%02x", bytes[i]);

  return g_string_free (text, FALSE);
}

static const char *
state_nick (NatterPeerState state)
{
  g_autoptr(GEnumClass) klass = g_type_class_ref (NATTER_TYPE_PEER_STATE);

  return g_enum_get_value (klass, state)->value_nick;
}

static void
peer_set_state (NatterPeer      *self,
                NatterPeerState  state)
{
  if (self->state == state)
    return;

  g_debug ("Peer %s: %s -> %s", NATTER_USER_ID_LOG (self->remote_id),
           state_nick (self->state), state_nick (state));

  self->state = state;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
}

static void
peer_set_session_id (NatterPeer *self,
                     const char *session_id)
{
  if (g_strcmp0 (self->session_id, session_id) == 0)
    return;

  g_free (self->session_id);
  self->session_id = g_strdup (session_id);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SESSION_ID]);
}

void
_natter_peer_emit_signal_out (NatterPeer *self,
                              JsonObject *payload)
{
  g_signal_emit (self, signals[SIGNAL_OUT], 0, payload);
}

static void
clear_source (GSource **source)
{
  if (*source != NULL)
    {
      g_source_destroy (*source);
      g_clear_pointer (source, g_source_unref);
    }
}

/* Lets go of what the ICE agent holds on TURN servers before webrtcbin drops
 * the agent (which otherwise warns that refreshes were still pending and
 * leaves the relay allocated until it expires). */
static void
close_ice_agent (GstElement *webrtc)
{
  g_autoptr(GObject) ice = NULL;
  g_autoptr(GObject) agent = NULL;

  if (webrtc == NULL)
    return;

  g_object_get (webrtc, "ice-agent", &ice, NULL);
  if (ice != NULL && g_object_class_find_property (G_OBJECT_GET_CLASS (ice), "agent") != NULL)
    g_object_get (ice, "agent", &agent, NULL);
  if (agent != NULL && NICE_IS_AGENT (agent))
    nice_agent_close_async (NICE_AGENT (agent), NULL, NULL);
}

/* sctpenc's streaming thread sleeps while usrsctp's send buffer is full,
 * holding its pad's stream lock. With the other side gone (a contact killed
 * in the middle of a file transfer) nothing ever frees that buffer, and
 * taking webrtcbin down would wait on the lock for ever. A flush on its
 * source pad wakes every waiting sink pad first. */
static void
unblock_sctp (GstElement *webrtc)
{
  g_autoptr(GstIterator) elements = NULL;
  GValue item = G_VALUE_INIT;

  if (webrtc == NULL)
    return;

  elements = gst_bin_iterate_recurse (GST_BIN (webrtc));
  while (gst_iterator_next (elements, &item) == GST_ITERATOR_OK)
    {
      GstElement *element = g_value_get_object (&item);
      GstElementFactory *factory = gst_element_get_factory (element);

      if (factory != NULL && g_str_equal (GST_OBJECT_NAME (factory), "sctpenc"))
        {
          g_autoptr(GstPad) src = gst_element_get_static_pad (element, "src");

          if (src != NULL)
            gst_pad_send_event (src, gst_event_new_flush_start ());
        }
      g_value_reset (&item);
    }
  g_value_unset (&item);
}

/* A closed attempt whose chat channel is still closing */
typedef struct
{
  GstElement           *pipeline;
  GstElement           *webrtc;
  GstWebRTCDataChannel *channel;
  gint64                deadline;
} Linger;

static void
linger_free (gpointer data)
{
  Linger *linger = data;

  close_ice_agent (linger->webrtc);
  unblock_sctp (linger->webrtc);
  gst_element_set_state (linger->pipeline, GST_STATE_NULL);
  gst_object_unref (linger->webrtc);
  gst_object_unref (linger->pipeline);
  g_object_unref (linger->channel);
  g_free (linger);
}

static gboolean
on_linger_poll (gpointer user_data)
{
  Linger *linger = user_data;
  GstWebRTCDataChannelState state;

  g_object_get (linger->channel, "ready-state", &state, NULL);
  if (state != GST_WEBRTC_DATA_CHANNEL_STATE_CLOSED && g_get_monotonic_time () < linger->deadline)
    return G_SOURCE_CONTINUE;

  return G_SOURCE_REMOVE; /* linger_free() tears it down */
}

static void
linger_start (NatterPeer           *self,
              GstWebRTCDataChannel *channel)
{
  g_autoptr(GSource) source = g_timeout_source_new (LINGER_POLL_MS);
  Linger *linger = g_new0 (Linger, 1);

  /* The webrtcbin stays until the close has gone through (the channel's
   * closing handshake is done), for at most a while */
  linger->pipeline = gst_object_ref (self->pipeline);
  linger->webrtc = gst_object_ref (self->webrtc);
  linger->channel = g_object_ref (channel);
  linger->deadline = g_get_monotonic_time () + LINGER_MAX_MS * 1000;
  gst_webrtc_data_channel_close (channel);

  g_source_set_callback (source, on_linger_poll, linger, linger_free);
  g_source_set_static_name (source, "[natter-peer] linger");
  g_source_attach (source, self->context);
}

/* The channels of the attempt, each with a reference: handlers that run
 * while they are walked may close any of them */
static GPtrArray *
channels_list (NatterPeer *self)
{
  GPtrArray *channels = g_ptr_array_new_with_free_func (g_object_unref);
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, self->channels);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_ptr_array_add (channels, g_object_ref (value));

  return channels;
}

/* Every channel of the attempt is closed for its owner */
static void
channels_close_all (NatterPeer *self)
{
  g_autoptr(GPtrArray) channels = channels_list (self);

  g_hash_table_remove_all (self->channels);
  for (guint i = 0; i < channels->len; i++)
    _natter_channel_closed (g_ptr_array_index (channels, i));
}

/* Drop the current webrtcbin and everything that belongs to its attempt.
 * Events it still has in flight are ignored, as they carry the old link.
 * With @graceful and an open chat channel, the channel is closed first and
 * the webrtcbin lives on for a moment, so that the other side sees the
 * close even when the signaling server loses our "bye". */
static void
attempt_clear (NatterPeer *self,
               gboolean    graceful)
{
  g_autoptr(NatterChannel) chat = g_steal_pointer (&self->chat);

  clear_source (&self->timeout_source);
  clear_source (&self->disconnect_source);
  clear_source (&self->bye_source);

  for (guint i = 0; i < self->promises->len; i++)
    _natter_peer_promise_interrupt (g_ptr_array_index (self->promises, i));

  if (chat != NULL)
    g_signal_handlers_disconnect_by_data (chat, self);

  if (self->pipeline != NULL)
    {
      GstWebRTCDataChannel *channel = chat != NULL ? _natter_channel_get_data_channel (chat) : NULL;

      _natter_peer_events_unwatch (self->pipeline);

      if (graceful && channel != NULL && (self->chat_ready || self->chat_open))
        {
          linger_start (self, channel);
        }
      else
        {
          close_ice_agent (self->webrtc);
          unblock_sctp (self->webrtc);
          gst_element_set_state (self->pipeline, GST_STATE_NULL);
        }
    }

  channels_close_all (self);
  _natter_peer_media_clear (self);
  self->webrtc = NULL;
  g_clear_object (&self->pipeline);
  g_clear_pointer (&self->link, _natter_peer_link_unref);

  self->signaling = NATTER_PEER_SIGNALING_STABLE;
  self->renegotiate = FALSE;
  self->chat_ready = FALSE;
  self->chat_open = FALSE;
  self->remote_channels = 0;
  self->refused_channels = 0;
  g_clear_pointer (&self->last_remote_offer, g_free);
  g_clear_pointer (&self->deferred_offer, json_object_unref);
  g_clear_pointer (&self->pending_offer, gst_webrtc_session_description_free);
  g_clear_pointer (&self->unsent_answer, gst_webrtc_session_description_free);
  g_clear_pointer (&self->early_message, g_free);
  g_clear_pointer (&self->local_fingerprint, g_free);
  g_clear_pointer (&self->remote_fingerprint, g_free);
  g_ptr_array_set_size (self->pending_candidates, 0);
  g_ptr_array_set_size (self->promises, 0);
  g_clear_pointer (&self->local_mids, g_strfreev);
  g_clear_pointer (&self->remote_mids, g_strfreev);
  g_clear_pointer (&self->remote_fingerprints, g_free);
}

static gboolean
on_timeout (gpointer user_data)
{
  NatterPeer *self = user_data;

  g_clear_pointer (&self->timeout_source, g_source_unref);
  _natter_peer_fail (self, "the connection attempt timed out");

  return G_SOURCE_REMOVE;
}

static gboolean
on_disconnect_timeout (gpointer user_data)
{
  NatterPeer *self = user_data;

  g_clear_pointer (&self->disconnect_source, g_source_unref);
  _natter_peer_fail (self, "ICE disconnected");

  return G_SOURCE_REMOVE;
}

static gboolean
on_bye_timeout (gpointer user_data)
{
  NatterPeer *self = user_data;

  g_clear_pointer (&self->bye_source, g_source_unref);
  peer_end (self, NATTER_PEER_STATE_CLOSED, FALSE, NULL);

  return G_SOURCE_REMOVE;
}

/* A timer on the peer's context; attempt_clear() destroys it, so it does not
 * hold a reference. */
static GSource *
timeout_source_new (NatterPeer  *self,
                    guint        ms,
                    GSourceFunc  callback)
{
  GSource *source = g_timeout_source_new (ms);

  g_source_set_callback (source, callback, self, NULL);
  g_source_set_static_name (source, "[natter-peer] timer");
  g_source_attach (source, self->context);

  return source;
}

static void
configure_ice (NatterPeer *self)
{
  g_autoptr(GObject) ice = NULL;
  g_autoptr(GObject) agent = NULL;
  g_autofree char *stun_uri = NULL;
  g_auto(GStrv) turn_uris = NULL;

  natter_ice_servers_to_uris (self->ice_servers, &stun_uri, &turn_uris);
  if (stun_uri != NULL)
    g_object_set (self->webrtc, "stun-server", stun_uri, NULL);
  for (guint i = 0; turn_uris != NULL && turn_uris[i] != NULL; i++)
    {
      gboolean added = FALSE;

      g_signal_emit_by_name (self->webrtc, "add-turn-server", turn_uris[i], &added);
      if (!added)
        g_debug ("webrtcbin refused a TURN server");
    }

  g_object_get (self->webrtc, "ice-agent", &ice, NULL);
  g_object_get (ice, "agent", &agent, NULL);
  if (agent != NULL)
    {
      /* No UPnP port mappings (and no SSDP probing of the LAN): NAT
       * traversal is STUN and TURN from the server's ICE configuration.
       * Keepalives that expect an answer: a peer that vanished without a
       * word turns the ICE state to failed instead of going unnoticed. */
      g_object_set (agent, "upnp", FALSE, "keepalive-conncheck", TRUE, NULL);
      /* Connectivity checks paced at RFC 8445's lowest Ta instead of
       * libnice's 20 ms: with regular nomination a pair needs several
       * paced checks, which made up most of the connection set-up time */
      g_object_set (agent, "stun-pacing-timer", (guint) ICE_PACING_MS, NULL);
    }

  if (self->loopback)
    {
      gboolean added = FALSE;

      /* libnice never gathers loopback candidates by itself; once an
       * address is added it gathers on the added addresses only. */
      g_signal_emit_by_name (ice, "add-local-ip-address", "127.0.0.1", &added);
      if (!added)
        g_debug ("Could not add the loopback address to the ICE agent");
    }
}

/* A new webrtcbin for @session; FALSE (and failed) when there is none */
gboolean
_natter_peer_attempt_start (NatterPeer *self,
                            const char *session)
{
  attempt_clear (self, FALSE);

  self->started = g_get_monotonic_time ();
  self->link = _natter_peer_link_new (self, self->context);
  self->pipeline = gst_pipeline_new (NULL);
  self->webrtc = gst_element_factory_make ("webrtcbin", NULL);
  peer_set_session_id (self, session);
  peer_set_state (self, NATTER_PEER_STATE_CONNECTING);

  if (self->webrtc == NULL)
    {
      g_debug ("webrtcbin is not available");
      _natter_peer_fail (self, "webrtcbin missing");
      return FALSE;
    }

  gst_bin_add (GST_BIN (self->pipeline), self->webrtc);
  g_object_set (self->webrtc,
                "bundle-policy", GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE,
                "ice-transport-policy", self->relay_only ? GST_WEBRTC_ICE_TRANSPORT_POLICY_RELAY
                                                         : GST_WEBRTC_ICE_TRANSPORT_POLICY_ALL,
                NULL);
  configure_ice (self);
  _natter_peer_events_watch (self->link, self->pipeline, self->webrtc);
  _natter_peer_media_watch (self);
  _natter_peer_media_attach_pending (self);

  gst_element_set_state (self->pipeline, GST_STATE_PLAYING);
  self->timeout_source = timeout_source_new (self, self->connect_timeout, on_timeout);

  return TRUE;
}

void
_natter_peer_send_bye (NatterPeer *self,
                       const char *session,
                       const char *reason)
{
  g_autoptr(JsonObject) payload = json_object_new ();

  json_object_set_string_member (payload, "type", "bye");
  json_object_set_string_member (payload, "session", session);
  if (reason != NULL)
    json_object_set_string_member (payload, "reason", reason);
  _natter_peer_emit_signal_out (self, payload);
}

static void
peer_end (NatterPeer      *self,
          NatterPeerState  state,
          gboolean         tell_remote,
          const char      *reason)
{
  g_object_ref (self);

  if (tell_remote && self->link != NULL && self->session_id != NULL)
    _natter_peer_send_bye (self, self->session_id, reason);
  attempt_clear (self, TRUE);
  peer_set_state (self, state);

  g_object_unref (self);
}

void
_natter_peer_fail (NatterPeer *self,
                   const char *reason)
{
  g_debug ("Peer %s: failed: %s", NATTER_USER_ID_LOG (self->remote_id), reason);
  peer_end (self, NATTER_PEER_STATE_FAILED, TRUE, NULL);
}

/* Fails and tells the other side why, as a `reason` in the bye */
static void
peer_fail_with_reason (NatterPeer *self,
                       const char *reason)
{
  g_debug ("Peer %s: failed: %s", NATTER_USER_ID_LOG (self->remote_id), reason);
  peer_end (self, NATTER_PEER_STATE_FAILED, TRUE, reason);
}

void
_natter_peer_trust_failure (NatterPeer *self,
                            const char *reason)
{
  g_signal_emit (self, signals[TRUST_FAILURE], 0, reason);
  _natter_peer_fail (self, "trust failure");
}

/* Channels */

static void
on_chat_text (NatterChannel *channel,
              const char    *text,
              NatterPeer    *self)
{
  g_signal_emit (self, signals[CHAT_MESSAGE], 0, text);
}

static void
on_chat_error (NatterChannel *channel,
               const GError  *error,
               NatterPeer    *self)
{
  _natter_peer_fail (self, "the chat channel failed");
}

static void
chat_set (NatterPeer           *self,
          GstWebRTCDataChannel *data_channel)
{
  g_assert (self->chat == NULL);

  self->chat = _natter_channel_new (data_channel, FALSE);
  g_hash_table_insert (self->channels, data_channel, g_object_ref (self->chat));
  g_signal_connect (self->chat, "text-message", G_CALLBACK (on_chat_text), self);
  g_signal_connect (self->chat, "error", G_CALLBACK (on_chat_error), self);
}

static void
channel_forget (NatterPeer    *self,
                NatterChannel *channel)
{
  if (_natter_channel_is_remote (channel))
    self->remote_channels--;
  g_hash_table_remove (self->channels, _natter_channel_get_data_channel (channel));
}

static gboolean
too_many_channels (NatterPeer *self)
{
  if (self->remote_channels <= REMOTE_CHANNELS_MAX && self->refused_channels <= REMOTE_CHANNELS_MAX)
    return FALSE;

  g_message ("Peer %s opened more than %d data channels; disconnecting",
             NATTER_USER_ID_LOG (self->remote_id), REMOTE_CHANNELS_MAX);
  peer_fail_with_reason (self, "too-many-channels");
  return TRUE;
}

static void
channel_refuse (NatterPeer    *self,
                NatterChannel *channel)
{
  g_debug ("Peer %s: closing a data channel nobody takes", NATTER_USER_ID_LOG (self->remote_id));
  self->refused_channels++;
  if (!too_many_channels (self))
    natter_channel_close (channel);
}

/* An open channel the other side made, once the connection is established:
 * to its owner, or closed */
static void
channel_announce (NatterPeer    *self,
                  NatterChannel *channel)
{
  g_autoptr(NatterChannel) hold = g_object_ref (channel);
  gboolean taken = FALSE;

  g_assert (self->chat_open && _natter_channel_is_held (channel));

  g_signal_emit (self, signals[CHANNEL_OPENED], 0, channel, &taken);
  if (self->link == NULL || natter_channel_get_state (channel) == NATTER_CHANNEL_STATE_CLOSED)
    return; /* a handler closed the peer or the channel */

  if (taken)
    _natter_channel_release (channel);
  else
    channel_refuse (self, channel);
}

static void
channels_announce_held (NatterPeer *self)
{
  g_autoptr(GPtrArray) channels = channels_list (self);

  for (guint i = 0; i < channels->len && self->chat_open; i++)
    {
      NatterChannel *channel = g_ptr_array_index (channels, i);

      if (_natter_channel_is_held (channel) &&
          natter_channel_get_state (channel) == NATTER_CHANNEL_STATE_OPEN)
        channel_announce (self, channel);
    }
}

/* The trust steps */

/* The other side's binding statement: until it checks out, nothing on the
 * connection counts */
static void
handle_binding (NatterPeer *self,
                const char *text)
{
  const char *reason = NULL;

  g_assert (self->chat_ready && !self->chat_open);

  if (!_natter_peer_binding_verify (text, self->remote_key, self->remote_id,
                                    natter_identity_get_user_id (self->identity),
                                    self->session_id, self->remote_fingerprint,
                                    self->local_fingerprint, &reason))
    {
      _natter_peer_trust_failure (self, reason);
      return;
    }

  if (self->bye_source != NULL)
    {
      /* They proved who they are, and left: they refused us */
      peer_end (self, NATTER_PEER_STATE_CLOSED, FALSE, NULL);
      return;
    }

  _natter_peer_log_step (self, "the binding statement checks out");
  self->chat_open = TRUE;
  clear_source (&self->timeout_source);
  peer_set_state (self, NATTER_PEER_STATE_CONNECTED);
  if (self->state != NATTER_PEER_STATE_CONNECTED)
    return; /* a state handler closed us */

  g_signal_emit (self, signals[CHAT_OPENED], 0);
  if (self->chat_open)
    channels_announce_held (self);
  if (self->chat_open)
    _natter_peer_negotiation_needed (self);
}

/* DTLS is up and the chat channel open: check the certificate against the
 * signed SDP, then state who we are over this very DTLS session */
static void
chat_opened (NatterPeer *self)
{
  g_autofree char *local_pem = NULL;
  g_autofree char *remote_pem = NULL;
  g_autofree char *local_hex = NULL;
  g_autofree char *remote_hex = NULL;
  g_autofree char *statement = NULL;
  g_autofree char *early = NULL;
  g_autoptr(GError) error = NULL;

  if (self->chat_ready || self->chat_open)
    return;

  _natter_peer_log_step (self, "the chat channel is open");
  if (!_natter_peer_dtls_certificates (self->webrtc, &local_pem, &remote_pem) ||
      !_natter_peer_certificate_matches (remote_pem, self->remote_fingerprints))
    {
      _natter_peer_trust_failure (self, "The DTLS certificate does not match the signed fingerprint");
      return;
    }

  local_hex = _natter_peer_certificate_fingerprint (local_pem, G_CHECKSUM_SHA256);
  remote_hex = _natter_peer_certificate_fingerprint (remote_pem, G_CHECKSUM_SHA256);
  if (local_hex == NULL || remote_hex == NULL)
    {
      _natter_peer_trust_failure (self, "A DTLS certificate could not be read");
      return;
    }

  self->local_fingerprint = g_strconcat ("sha-256 ", local_hex, NULL);
  self->remote_fingerprint = g_strconcat ("sha-256 ", remote_hex, NULL);
  statement = _natter_peer_binding_new (self->identity, self->remote_id, self->session_id,
                                        self->local_fingerprint, self->remote_fingerprint);
  _natter_channel_opened (self->chat);
  if (!natter_channel_send_text (self->chat, statement, &error))
    {
      g_debug ("Peer %s: sending the binding failed: %s", NATTER_USER_ID_LOG (self->remote_id),
               error->message);
      _natter_peer_fail (self, "send failed");
      return;
    }
  if (self->link == NULL)
    return; /* the send failed, and the peer with it */

  self->chat_ready = TRUE;

  early = g_steal_pointer (&self->early_message);
  if (early != NULL)
    handle_binding (self, early);
}

static void
chat_text (NatterPeer *self,
           const char *text)
{
  if (self->chat_open)
    _natter_channel_receive (self->chat, text, NULL);
  else if (self->chat_ready)
    handle_binding (self, text);
  else if (self->early_message == NULL)
    self->early_message = g_strdup (text); /* checked once we are ready */
  else
    _natter_peer_trust_failure (self, "The other side spoke before the binding was checked");
}

static void
remote_channel (NatterPeer           *self,
                GstWebRTCDataChannel *data_channel)
{
  g_autoptr(NatterChannel) channel = NULL;
  g_autofree char *label = NULL;

  g_object_get (data_channel, "label", &label, NULL);

  if (g_strcmp0 (label, NATTER_PEER_CHAT_LABEL) == 0)
    {
      if (self->chat != NULL)
        {
          /* A second chat channel: only the first one counts */
          self->refused_channels++;
          if (!too_many_channels (self))
            gst_webrtc_data_channel_close (data_channel);
          return;
        }

      chat_set (self, data_channel);
      if (natter_channel_get_state (self->chat) == NATTER_CHANNEL_STATE_OPEN)
        chat_opened (self);
      return;
    }

  channel = _natter_channel_new (data_channel, TRUE);
  g_hash_table_insert (self->channels, data_channel, g_object_ref (channel));
  self->remote_channels++;
  if (too_many_channels (self))
    {
      gst_webrtc_data_channel_close (data_channel);
      return;
    }

  if (self->chat_open && natter_channel_get_state (channel) == NATTER_CHANNEL_STATE_OPEN)
    channel_announce (self, channel);
}

static void
channel_event (NatterPeer      *self,
               NatterPeerEvent *event)
{
  NatterChannel *channel = g_hash_table_lookup (self->channels, event->channel);
  g_autoptr(NatterChannel) hold = NULL;

  if (channel == NULL)
    return; /* one we closed, or one we never knew */

  hold = g_object_ref (channel);

  switch (event->kind)
    {
    case NATTER_PEER_EVENT_CHANNEL_OPEN:
      if (channel == self->chat)
        chat_opened (self);
      else if (!_natter_channel_is_held (channel))
        _natter_channel_opened (channel);
      else
        {
          _natter_channel_opened (channel);
          if (self->chat_open)
            channel_announce (self, channel);
        }
      break;

    case NATTER_PEER_EVENT_CHANNEL_CLOSE:
      if (channel == self->chat)
        {
          g_debug ("Peer %s: chat channel closed", NATTER_USER_ID_LOG (self->remote_id));
          peer_end (self, NATTER_PEER_STATE_CLOSED, FALSE, NULL);
          break;
        }
      channel_forget (self, channel);
      _natter_channel_closed (channel);
      break;

    case NATTER_PEER_EVENT_CHANNEL_ERROR:
      g_debug ("Peer %s: data channel error: %s",
               NATTER_USER_ID_LOG (self->remote_id), event->text);
      if (channel == self->chat)
        {
          _natter_peer_fail (self, "error");
          break;
        }
      channel_forget (self, channel);
      _natter_channel_failed (channel, event->text);
      break;

    case NATTER_PEER_EVENT_CHANNEL_TEXT:
      if (channel == self->chat)
        chat_text (self, event->text);
      else if (!_natter_channel_receive (channel, event->text, NULL))
        _natter_peer_fail (self, "too much on a channel before the connection was established");
      break;

    case NATTER_PEER_EVENT_CHANNEL_DATA:
      if (channel == self->chat)
        g_debug ("Peer %s: ignoring a binary message on chat",
                 NATTER_USER_ID_LOG (self->remote_id));
      else if (!_natter_channel_receive (channel, NULL, event->bytes))
        _natter_peer_fail (self, "too much on a channel before the connection was established");
      break;

    case NATTER_PEER_EVENT_CHANNEL_LOW:
      _natter_channel_buffered_low (channel);
      break;

    default:
      g_assert_not_reached ();
    }
}

void
_natter_peer_dispatch (NatterPeer      *self,
                       NatterPeerLink  *link,
                       NatterPeerEvent *event)
{
  /* Events of an attempt this peer abandoned */
  if (link != self->link)
    return;

  g_object_ref (self);

  switch (event->kind)
    {
    case NATTER_PEER_EVENT_OFFER_CREATED:
    case NATTER_PEER_EVENT_ANSWER_CREATED:
    case NATTER_PEER_EVENT_LOCAL_SET:
    case NATTER_PEER_EVENT_REMOTE_SET:
    case NATTER_PEER_EVENT_ICE_CANDIDATE:
    case NATTER_PEER_EVENT_NEGOTIATION_NEEDED:
      _natter_peer_negotiation_event (self, event);
      break;

    case NATTER_PEER_EVENT_ICE_GATHERING_STATE:
      if (event->number == GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE)
        _natter_peer_log_step (self, "ICE gathering is complete");
      break;

    case NATTER_PEER_EVENT_ICE_STATE:
      if (event->number == GST_WEBRTC_ICE_CONNECTION_STATE_FAILED)
        {
          _natter_peer_fail (self, "ICE failed");
        }
      else if (event->number == GST_WEBRTC_ICE_CONNECTION_STATE_DISCONNECTED)
        {
          /* Before the first connection the connect timeout decides; after
           * it, a short grace period lets ICE come back by itself. */
          if (self->chat_open && self->disconnect_source == NULL)
            self->disconnect_source = timeout_source_new (self, DISCONNECT_GRACE_MS,
                                                          on_disconnect_timeout);
        }
      else if (event->number == GST_WEBRTC_ICE_CONNECTION_STATE_CONNECTED ||
               event->number == GST_WEBRTC_ICE_CONNECTION_STATE_COMPLETED)
        {
          if (event->number == GST_WEBRTC_ICE_CONNECTION_STATE_CONNECTED)
            _natter_peer_log_step (self, "webrtcbin says ICE is connected");
          clear_source (&self->disconnect_source);
        }
      break;

    case NATTER_PEER_EVENT_DATA_CHANNEL:
      remote_channel (self, event->channel);
      break;

    case NATTER_PEER_EVENT_CHANNEL_OPEN:
    case NATTER_PEER_EVENT_CHANNEL_CLOSE:
    case NATTER_PEER_EVENT_CHANNEL_ERROR:
    case NATTER_PEER_EVENT_CHANNEL_TEXT:
    case NATTER_PEER_EVENT_CHANNEL_DATA:
    case NATTER_PEER_EVENT_CHANNEL_LOW:
      channel_event (self, event);
      break;

    case NATTER_PEER_EVENT_MEDIA_READY:
      if (self->chat_open)
        _natter_peer_negotiation_request (self);
      break;

    case NATTER_PEER_EVENT_DROPPED_TEXT:
      g_message ("Peer %s: dropped a text message that holds a NUL byte",
                 NATTER_USER_ID_LOG (self->remote_id));
      break;

    case NATTER_PEER_EVENT_ERROR:
      g_debug ("Peer %s: error: %s", NATTER_USER_ID_LOG (self->remote_id), event->text);
      _natter_peer_fail (self, "error");
      break;

    default:
      g_assert_not_reached ();
    }

  g_object_unref (self);
}

/* GObject */

static void
natter_peer_get_property (GObject    *object,
                          guint       prop_id,
                          GValue     *value,
                          GParamSpec *pspec)
{
  NatterPeer *self = NATTER_PEER (object);

  switch (prop_id)
    {
    case PROP_IDENTITY:
      g_value_set_object (value, self->identity);
      break;

    case PROP_REMOTE_ID:
      g_value_set_string (value, self->remote_id);
      break;

    case PROP_ICE_SERVERS:
      g_value_set_boxed (value, self->ice_servers);
      break;

    case PROP_LOOPBACK:
      g_value_set_boolean (value, self->loopback);
      break;

    case PROP_RELAY_ONLY:
      g_value_set_boolean (value, self->relay_only);
      break;

    case PROP_CONNECT_TIMEOUT:
      g_value_set_uint (value, self->connect_timeout);
      break;

    case PROP_POLITE:
      g_value_set_boolean (value, natter_peer_get_polite (self));
      break;

    case PROP_STATE:
      g_value_set_enum (value, self->state);
      break;

    case PROP_SESSION_ID:
      g_value_set_string (value, self->session_id);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
natter_peer_set_property (GObject      *object,
                          guint         prop_id,
                          const GValue *value,
                          GParamSpec   *pspec)
{
  NatterPeer *self = NATTER_PEER (object);

  switch (prop_id)
    {
    case PROP_IDENTITY:
      self->identity = g_value_dup_object (value);
      break;

    case PROP_REMOTE_ID:
      self->remote_id = g_value_dup_string (value);
      break;

    case PROP_ICE_SERVERS:
      natter_peer_set_ice_servers (self, g_value_get_boxed (value));
      break;

    case PROP_LOOPBACK:
      self->loopback = g_value_get_boolean (value);
      break;

    case PROP_RELAY_ONLY:
      natter_peer_set_relay_only (self, g_value_get_boolean (value));
      break;

    case PROP_CONNECT_TIMEOUT:
      natter_peer_set_connect_timeout (self, g_value_get_uint (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
natter_peer_constructed (GObject *object)
{
  NatterPeer *self = NATTER_PEER (object);
  g_autoptr(GError) error = NULL;

  G_OBJECT_CLASS (natter_peer_parent_class)->constructed (object);

  g_assert (NATTER_IS_IDENTITY (self->identity));

  /* A key that cannot be decoded stays all zero, and nothing verifies */
  if (!natter_user_id_to_public_key (self->remote_id, self->remote_key, &error))
    g_critical ("NatterPeer needs a valid remote user ID: %s", error->message);
}

static void
natter_peer_dispose (GObject *object)
{
  NatterPeer *self = NATTER_PEER (object);

  attempt_clear (self, FALSE);
  g_clear_object (&self->identity);

  G_OBJECT_CLASS (natter_peer_parent_class)->dispose (object);
}

static void
natter_peer_finalize (GObject *object)
{
  NatterPeer *self = NATTER_PEER (object);

  g_free (self->remote_id);
  g_free (self->session_id);
  g_clear_pointer (&self->ice_servers, json_array_unref);
  g_clear_pointer (&self->pending_candidates, g_ptr_array_unref);
  g_clear_pointer (&self->promises, g_ptr_array_unref);
  g_clear_pointer (&self->channels, g_hash_table_unref);
  g_clear_pointer (&self->media, _natter_peer_media_table_unref);
  g_main_context_unref (self->context);

  G_OBJECT_CLASS (natter_peer_parent_class)->finalize (object);
}

/* The first dtlsdec of a process makes the process's DTLS certificate (an
 * RSA key), which takes most of a second on a slow machine */
static GThread *preparing;
G_LOCK_DEFINE_STATIC (preparing);

static gpointer
prepare_thread (gpointer data)
{
  GstElement *dtls = gst_element_factory_make ("dtlsdec", NULL);

  if (dtls != NULL)
    gst_object_unref (gst_object_ref_sink (dtls));
  return NULL;
}

static void
natter_peer_class_init (NatterPeerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  if (!gst_is_initialized ())
    gst_init (NULL, NULL);

  object_class->get_property = natter_peer_get_property;
  object_class->set_property = natter_peer_set_property;
  object_class->constructed = natter_peer_constructed;
  object_class->dispose = natter_peer_dispose;
  object_class->finalize = natter_peer_finalize;

  properties[PROP_IDENTITY] =
    g_param_spec_object ("identity", NULL, NULL,
                         NATTER_TYPE_IDENTITY,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  properties[PROP_REMOTE_ID] =
    g_param_spec_string ("remote-id", NULL, NULL,
                         NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /* The browser's RTCIceServer list; takes effect on the next attempt */
  properties[PROP_ICE_SERVERS] =
    g_param_spec_boxed ("ice-servers", NULL, NULL,
                        JSON_TYPE_ARRAY,
                        G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  properties[PROP_LOOPBACK] =
    g_param_spec_boolean ("loopback", NULL, NULL,
                          FALSE,
                          G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /* Only TURN relay candidates: the contact never learns our addresses.
   * Takes effect on the next attempt. */
  properties[PROP_RELAY_ONLY] =
    g_param_spec_boolean ("relay-only", NULL, NULL,
                          FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  properties[PROP_CONNECT_TIMEOUT] =
    g_param_spec_uint ("connect-timeout", NULL, NULL,
                       1, G_MAXUINT, NATTER_PEER_DEFAULT_CONNECT_TIMEOUT,
                       G_PARAM_READWRITE | G_PARAM_CONSTRUCT | G_PARAM_EXPLICIT_NOTIFY |
                       G_PARAM_STATIC_STRINGS);

  properties[PROP_POLITE] =
    g_param_spec_boolean ("polite", NULL, NULL,
                          FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  properties[PROP_STATE] =
    g_param_spec_enum ("state", NULL, NULL,
                       NATTER_TYPE_PEER_STATE, NATTER_PEER_STATE_NEW,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  properties[PROP_SESSION_ID] =
    g_param_spec_string ("session-id", NULL, NULL,
                         NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* A payload for the signaling server's `signal` frame to the remote user */
  signals[SIGNAL_OUT] =
    g_signal_new ("signal-out",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, JSON_TYPE_OBJECT);

  /* The connection is established: the chat channel
   * (natter_peer_get_chat_channel()) is open and trusted */
  signals[CHAT_OPENED] =
    g_signal_new ("chat-opened",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 0);

  /* A text message on the chat channel: the same as the chat channel's
   * NatterChannel::text-message */
  signals[CHAT_MESSAGE] =
    g_signal_new ("chat-message",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_STRING | G_SIGNAL_TYPE_STATIC_SCOPE);

  /**
   * NatterPeer::channel-opened:
   * @channel: an open NatterChannel that the other side made, with any
   *   label but "chat"
   *
   * Emitted on an established connection. A handler that takes the channel
   * keeps a reference, connects to its signals and returns %TRUE; what
   * arrived on it before it was taken follows once the handler returns.
   * A channel no handler takes is closed.
   *
   * Returns: %TRUE when the channel was taken
   */
  signals[CHANNEL_OPENED] =
    g_signal_new ("channel-opened",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, g_signal_accumulator_true_handled, NULL, NULL,
                  G_TYPE_BOOLEAN, 1, NATTER_TYPE_CHANNEL);

  /* The remote side could not prove it holds the contact's key, or that it
   * is talking to us over this connection: a missing or wrong SDP signature,
   * a DTLS certificate other than the signed one, or a binding statement
   * that does not check out. The connection is refused. The argument is an
   * English reason, for the logs. */
  signals[TRUST_FAILURE] =
    g_signal_new ("trust-failure",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_STRING | G_SIGNAL_TYPE_STATIC_SCOPE);
}

static void
natter_peer_init (NatterPeer *self)
{
  self->context = g_main_context_ref_thread_default ();
  self->connect_timeout = NATTER_PEER_DEFAULT_CONNECT_TIMEOUT;
  self->pending_candidates = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  self->promises = g_ptr_array_new_with_free_func ((GDestroyNotify) _natter_peer_promise_free);
  self->channels = g_hash_table_new_full (NULL, NULL, NULL, g_object_unref);
  self->media = _natter_peer_media_table_new ();
}

/**
 * natter_peer_new:
 * @identity: the local identity, which signs our DTLS fingerprints
 * @remote_id: the contact's user ID, whose key checks theirs
 * @ice_servers: (nullable): the server's RTCIceServer list
 * @loopback: whether to offer 127.0.0.1 as a candidate (for tests)
 *
 * The peer lives on the thread-default main context of the calling thread.
 */
NatterPeer *
natter_peer_new (NatterIdentity *identity,
                 const char     *remote_id,
                 JsonArray      *ice_servers,
                 gboolean        loopback)
{
  g_return_val_if_fail (NATTER_IS_IDENTITY (identity), NULL);
  g_return_val_if_fail (natter_user_id_is_valid (remote_id), NULL);

  return g_object_new (NATTER_TYPE_PEER,
                       "identity", identity,
                       "remote-id", remote_id,
                       "ice-servers", ice_servers,
                       "loopback", loopback,
                       NULL);
}

/**
 * natter_peer_prepare:
 *
 * Makes what the first connection of the process would otherwise wait
 * for (the DTLS certificate) in a thread of its own, once per process: a
 * client calls it when a contact comes online, so that the connection to
 * them is up sooner. Does nothing when called again.
 */
void
natter_peer_prepare (void)
{
  static gsize prepared = 0;

  if (g_once_init_enter (&prepared))
    {
      if (!gst_is_initialized ())
        gst_init (NULL, NULL);
      G_LOCK (preparing);
      preparing = g_thread_new ("natter-prepare", prepare_thread, NULL);
      G_UNLOCK (preparing);
      g_once_init_leave (&prepared, 1);
    }
}

/**
 * natter_peer_wait_prepared:
 *
 * Waits for natter_peer_prepare()'s thread, if it still runs: a process
 * must not exit while it makes the certificate (the crypto library tears
 * itself down at exit).
 */
void
natter_peer_wait_prepared (void)
{
  GThread *thread;

  G_LOCK (preparing);
  thread = g_steal_pointer (&preparing);
  G_UNLOCK (preparing);
  if (thread != NULL)
    g_thread_join (thread);
}

NatterIdentity *
natter_peer_get_identity (NatterPeer *self)
{
  g_return_val_if_fail (NATTER_IS_PEER (self), NULL);

  return self->identity;
}

const char *
natter_peer_get_remote_id (NatterPeer *self)
{
  g_return_val_if_fail (NATTER_IS_PEER (self), NULL);

  return self->remote_id;
}

gboolean
natter_peer_get_loopback (NatterPeer *self)
{
  g_return_val_if_fail (NATTER_IS_PEER (self), FALSE);

  return self->loopback;
}

/**
 * natter_peer_get_polite:
 *
 * The polite side of a pair is the one whose user ID sorts first (byte-wise).
 * When both sides offer at once, the polite side gives up its offer and
 * answers the other one.
 */
gboolean
natter_peer_get_polite (NatterPeer *self)
{
  g_return_val_if_fail (NATTER_IS_PEER (self), FALSE);

  return strcmp (natter_identity_get_user_id (self->identity), self->remote_id) < 0;
}

NatterPeerState
natter_peer_get_state (NatterPeer *self)
{
  g_return_val_if_fail (NATTER_IS_PEER (self), NATTER_PEER_STATE_NEW);

  return self->state;
}

const char *
natter_peer_get_session_id (NatterPeer *self)
{
  g_return_val_if_fail (NATTER_IS_PEER (self), NULL);

  return self->session_id;
}

JsonArray *
natter_peer_get_ice_servers (NatterPeer *self)
{
  g_return_val_if_fail (NATTER_IS_PEER (self), NULL);

  return self->ice_servers;
}

void
natter_peer_set_ice_servers (NatterPeer *self,
                             JsonArray  *ice_servers)
{
  g_return_if_fail (NATTER_IS_PEER (self));

  if (self->ice_servers == ice_servers)
    return;

  g_clear_pointer (&self->ice_servers, json_array_unref);
  if (ice_servers != NULL)
    self->ice_servers = json_array_ref (ice_servers);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ICE_SERVERS]);
}

gboolean
natter_peer_get_relay_only (NatterPeer *self)
{
  g_return_val_if_fail (NATTER_IS_PEER (self), FALSE);

  return self->relay_only;
}

/**
 * natter_peer_set_relay_only:
 * @relay_only: whether to use TURN relay candidates only
 *
 * Applies to the attempts started from now on.
 */
void
natter_peer_set_relay_only (NatterPeer *self,
                            gboolean    relay_only)
{
  g_return_if_fail (NATTER_IS_PEER (self));

  relay_only = !!relay_only;
  if (self->relay_only == relay_only)
    return;

  self->relay_only = relay_only;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RELAY_ONLY]);
}

guint
natter_peer_get_connect_timeout (NatterPeer *self)
{
  g_return_val_if_fail (NATTER_IS_PEER (self), 0);

  return self->connect_timeout;
}

/**
 * natter_peer_set_connect_timeout:
 * @timeout_ms: how long a connection attempt may take, in milliseconds
 *
 * Applies to the attempts started from now on.
 */
void
natter_peer_set_connect_timeout (NatterPeer *self,
                                 guint       timeout_ms)
{
  g_return_if_fail (NATTER_IS_PEER (self));
  g_return_if_fail (timeout_ms > 0);

  if (self->connect_timeout == timeout_ms)
    return;

  self->connect_timeout = timeout_ms;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONNECT_TIMEOUT]);
}

/**
 * natter_peer_connect:
 *
 * Starts a connection attempt by sending an offer. Does nothing while an
 * attempt is under way or the peer is connected; after "failed" or "closed"
 * it starts a new attempt (the owner decides when to retry).
 */
void
natter_peer_connect (NatterPeer *self)
{
  g_autoptr(GstStructure) options = NULL;
  g_autofree char *session = NULL;
  GstWebRTCDataChannel *channel = NULL;

  g_return_if_fail (NATTER_IS_PEER (self));

  if (self->state == NATTER_PEER_STATE_CONNECTING || self->state == NATTER_PEER_STATE_CONNECTED)
    return;

  session = session_id_new ();
  if (!_natter_peer_attempt_start (self, session))
    return;

  /* Ordered and reliable: neither max-retransmits nor max-packet-lifetime */
  options = gst_structure_new ("application/data-channel",
                               "ordered", G_TYPE_BOOLEAN, TRUE,
                               NULL);
  g_signal_emit_by_name (self->webrtc, "create-data-channel", NATTER_PEER_CHAT_LABEL, options,
                         &channel);
  if (channel == NULL)
    {
      _natter_peer_fail (self, "could not create the chat channel");
      return;
    }

  _natter_peer_events_watch_channel (self->link, channel);
  chat_set (self, channel);
  g_object_unref (channel);

  _natter_peer_negotiation_offer (self);
}

/**
 * natter_peer_close:
 *
 * Ends the connection and tells the other side ("bye"). The state becomes
 * "closed", and so does every channel's.
 */
void
natter_peer_close (NatterPeer *self)
{
  g_return_if_fail (NATTER_IS_PEER (self));

  peer_end (self, NATTER_PEER_STATE_CLOSED, TRUE, NULL);
}

/**
 * natter_peer_handle_signal:
 * @payload: the `payload` of a `signal` frame from the remote user
 *
 * Malformed, stale and unknown payloads are ignored.
 */
void
natter_peer_handle_signal (NatterPeer *self,
                           JsonObject *payload)
{
  const char *type;

  g_return_if_fail (NATTER_IS_PEER (self));
  g_return_if_fail (payload != NULL);

  g_object_ref (self);

  type = _natter_peer_get_string_member (payload, "type");
  if (g_strcmp0 (type, "offer") == 0)
    _natter_peer_handle_description (self, payload, TRUE);
  else if (g_strcmp0 (type, "answer") == 0)
    _natter_peer_handle_description (self, payload, FALSE);
  else if (g_strcmp0 (type, "bye") == 0)
    {
      gboolean current = self->link != NULL &&
                         g_strcmp0 (_natter_peer_get_string_member (payload, "session"),
                                    self->session_id) == 0;

      if (!current)
        g_debug ("Peer %s: ignoring a stale bye", NATTER_USER_ID_LOG (self->remote_id));
      else if (self->chat_ready && !self->chat_open)
        {
          /* Their binding statement may still be on its way over DTLS: a
           * side that refused ours sends it first, and if it does not
           * check out, this is a trust failure here too. */
          if (self->bye_source == NULL)
            self->bye_source = timeout_source_new (self, BYE_GRACE_MS, on_bye_timeout);
        }
      else
        {
          const char *reason = _natter_peer_get_string_member (payload, "reason");

          /* A code from the other side, shown as one word; never as markup */
          if (reason != NULL && g_str_equal (reason, "too-many-channels"))
            g_message ("Peer %s ended the connection: this side opened too many data channels",
                       NATTER_USER_ID_LOG (self->remote_id));
          peer_end (self, NATTER_PEER_STATE_CLOSED, FALSE, NULL);
        }
    }
  else if (type == NULL || g_str_equal (type, "candidate"))
    _natter_peer_handle_candidate (self, payload);
  else
    g_debug ("Peer %s: ignoring a payload of unknown type", NATTER_USER_ID_LOG (self->remote_id));

  g_object_unref (self);
}

/**
 * natter_peer_get_chat_channel:
 *
 * Returns: (transfer none) (nullable): the chat channel of the established
 *   connection, or %NULL while there is none
 */
NatterChannel *
natter_peer_get_chat_channel (NatterPeer *self)
{
  g_return_val_if_fail (NATTER_IS_PEER (self), NULL);

  return self->chat_open ? self->chat : NULL;
}

/**
 * natter_peer_create_channel:
 * @label: the channel's label: UTF-8, 1 to 256 bytes, not "chat"
 *
 * Opens another ordered, reliable data channel on the established
 * connection. The other side's NatterPeer hands it to its owner through
 * NatterPeer::channel-opened (or closes it). Messages sent before it is open
 * wait in its queue.
 *
 * Returns: (transfer full): the channel, or %NULL with
 *   %G_IO_ERROR_NOT_CONNECTED or %G_IO_ERROR_INVALID_ARGUMENT
 */
NatterChannel *
natter_peer_create_channel (NatterPeer  *self,
                            const char  *label,
                            GError     **error)
{
  g_autoptr(GstStructure) options = NULL;
  g_autoptr(GstWebRTCDataChannel) data_channel = NULL;
  NatterChannel *channel;

  g_return_val_if_fail (NATTER_IS_PEER (self), NULL);
  g_return_val_if_fail (label != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (label[0] == '\0' || strlen (label) > CHANNEL_LABEL_MAX || !g_utf8_validate (label, -1, NULL) ||
      g_str_equal (label, NATTER_PEER_CHAT_LABEL))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                           "A data channel label must be 1 to 256 bytes of UTF-8, not \"chat\"");
      return NULL;
    }

  if (!self->chat_open)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED,
                           "The connection is not established");
      return NULL;
    }

  options = gst_structure_new ("application/data-channel",
                               "ordered", G_TYPE_BOOLEAN, TRUE,
                               NULL);
  g_signal_emit_by_name (self->webrtc, "create-data-channel", label, options, &data_channel);
  if (data_channel == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                           "webrtcbin could not create the data channel");
      return NULL;
    }

  _natter_peer_events_watch_channel (self->link, data_channel);
  channel = _natter_channel_new (data_channel, FALSE);
  g_hash_table_insert (self->channels, data_channel, g_object_ref (channel));

  return channel;
}

/**
 * natter_peer_send_text:
 * @text: UTF-8, at most %NATTER_PEER_MAX_MESSAGE_SIZE bytes
 *
 * Queues @text on the chat channel, as natter_channel_send_text() on
 * natter_peer_get_chat_channel() does. Fails with %G_IO_ERROR_NOT_CONNECTED
 * before the connection is established.
 */
gboolean
natter_peer_send_text (NatterPeer  *self,
                       const char  *text,
                       GError     **error)
{
  g_return_val_if_fail (NATTER_IS_PEER (self), FALSE);
  g_return_val_if_fail (text != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!_natter_channel_check_text (text, error))
    return FALSE;

  if (!self->chat_open)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED,
                           "The chat channel is not open");
      return FALSE;
    }

  return natter_channel_send_text (self->chat, text, error);
}

GstElement *
_natter_peer_get_webrtcbin (NatterPeer *self)
{
  g_return_val_if_fail (NATTER_IS_PEER (self), NULL);

  return self->webrtc;
}
