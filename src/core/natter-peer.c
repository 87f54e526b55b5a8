/* natter-peer.c: one WebRTC peer connection to one contact
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A NatterPeer owns at most one webrtcbin at a time (an "attempt") and the
 * ordered, reliable "chat" data channel on it. It never talks to the
 * signaling server: payloads to send come out of "signal-out", payloads
 * received go into natter_peer_handle_signal(). docs/peer.md describes them.
 *
 * Threads: webrtcbin emits its signals and resolves its promises on its own
 * threads. Every such callback only packs what it saw into a PeerEvent and
 * queues it as an idle source on the main context of the thread that created
 * the peer, so all state lives on that one thread. Callbacks hold a PeerLink,
 * not the peer: the link names the attempt it belongs to and holds only a weak
 * reference to the peer, so events of an abandoned attempt, or of a peer that
 * has gone away, are dropped.
 *
 * Trust (natter-peer-trust.c): every offer and answer carries a signature by
 * the sender's identity key over sender, receiver, session, DTLS fingerprints
 * and ICE credentials; the receiver checks it against the key in the
 * contact's user ID before applying the SDP. Once DTLS is up, the peer checks
 * that the certificate the other side presented has the signed fingerprint
 * (webrtcbin itself does not compare the two), then sends its binding
 * statement as the first message on the chat channel and waits for the
 * other side's. Only when that checks out is the peer connected; until then
 * nothing received counts.
 */
#define G_LOG_DOMAIN "natter-peer"

#include "config.h"

#include <string.h>

#include <gst/gst.h>
#include <gst/sdp/sdp.h>
#define GST_USE_UNSTABLE_API
#include <gst/webrtc/webrtc.h>
#include <nice/agent.h>
#ifdef NATTER_HAVE_GST_SCTP
#include <gst/sctp/sctpreceivemeta.h>
#endif

#include "natter-peer.h"
#include "natter-peer-private.h"
#include "natter-peer-trust-private.h"
#include "natter-signature.h"
#include "natter-user-id.h"

#define SESSION_ID_MAX       64
#define PENDING_CANDIDATES_MAX 200
/* Pace sends: stop writing while more than this is buffered, resume when
 * webrtcbin says the buffer went below the low mark. Well below usrsctp's
 * 1 MiB send buffer, where sctpenc would start to sleep. */
#define BUFFERED_HIGH        (256 * 1024)
#define BUFFERED_LOW         (64 * 1024)
#define LINGER_POLL_MS       50
#define LINGER_MAX_MS        10000
#define DISCONNECT_GRACE_MS  5000
/* Data channels the other side may open on one connection before it is
 * dropped (each costs threads); those nobody here handles are closed at once. */
#define REMOTE_CHANNELS_MAX  8
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
  STATE_CHANGED,
  CHAT_OPENED,
  CHAT_MESSAGE,
  TRUST_FAILURE,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

typedef struct
{
  gatomicrefcount  ref_count;
  GWeakRef         peer;
  GMainContext    *context;
} PeerLink;

typedef enum
{
  EVENT_OFFER_CREATED,
  EVENT_ANSWER_CREATED,
  EVENT_REMOTE_SET,
  EVENT_LOCAL_SET,
  EVENT_ICE_CANDIDATE,
  EVENT_ICE_STATE,
  EVENT_DATA_CHANNEL,
  EVENT_OTHER_CHANNEL,
  EVENT_CHAT_OPEN,
  EVENT_CHAT_CLOSE,
  EVENT_CHAT_MESSAGE,
  EVENT_BUFFERED_LOW,
  EVENT_DROPPED_TEXT,
  EVENT_ERROR,
} PeerEventKind;

typedef struct
{
  PeerLink                    *link;
  PeerEventKind                kind;
  guint                        number;
  char                        *text;
  GstWebRTCSessionDescription *description;
  GstWebRTCDataChannel        *channel;
} PeerEvent;

struct _NatterPeer
{
  GObject               parent_instance;

  NatterIdentity       *identity;
  char                 *remote_id;
  guint8                remote_key[NATTER_PUBLIC_KEY_SIZE];
  JsonArray            *ice_servers;
  gboolean              loopback;
  gboolean              relay_only;
  guint                 connect_timeout;
  NatterPeerState       state;
  GMainContext         *context;

  /* The current attempt; all cleared by attempt_clear() */
  PeerLink             *link;
  GstElement           *pipeline;
  GstElement           *webrtc;
  GstWebRTCDataChannel *chat;
  char                 *session_id;
  gboolean              have_local_offer;
  gboolean              remote_applying;
  gboolean              remote_set;
  gboolean              chat_ready;   /* DTLS up, certificate checked, our binding sent */
  gboolean              chat_open;    /* and their binding verified: established */
  char                 *early_message;
  char                 *local_fingerprint;
  char                 *remote_fingerprint;
  GPtrArray            *pending_candidates;
  GPtrArray            *promises;
  GStrv                 local_mids;
  GStrv                 remote_mids;
  char                 *remote_fingerprints;
  GSource              *timeout_source;
  GSource              *disconnect_source;
  GSource              *bye_source;
  GQueue                outgoing;
  guint                 remote_channels;
};

G_DEFINE_FINAL_TYPE (NatterPeer, natter_peer, G_TYPE_OBJECT)

G_DEFINE_ENUM_TYPE (NatterPeerState, natter_peer_state,
                    G_DEFINE_ENUM_VALUE (NATTER_PEER_STATE_NEW, "new"),
                    G_DEFINE_ENUM_VALUE (NATTER_PEER_STATE_CONNECTING, "connecting"),
                    G_DEFINE_ENUM_VALUE (NATTER_PEER_STATE_CONNECTED, "connected"),
                    G_DEFINE_ENUM_VALUE (NATTER_PEER_STATE_FAILED, "failed"),
                    G_DEFINE_ENUM_VALUE (NATTER_PEER_STATE_CLOSED, "closed"))

static void peer_fail (NatterPeer *self,
                       const char *reason);
static void peer_fail_with_reason (NatterPeer *self,
                                   const char *reason);
static void peer_end  (NatterPeer      *self,
                       NatterPeerState  state,
                       gboolean         tell_remote,
                       const char      *reason);

/* Links and events */

static PeerLink *
peer_link_new (NatterPeer *peer)
{
  PeerLink *link = g_new0 (PeerLink, 1);

  g_atomic_ref_count_init (&link->ref_count);
  g_weak_ref_init (&link->peer, peer);
  link->context = g_main_context_ref (peer->context);

  return link;
}

static PeerLink *
peer_link_ref (PeerLink *link)
{
  g_atomic_ref_count_inc (&link->ref_count);
  return link;
}

static void
peer_link_unref (PeerLink *link)
{
  if (g_atomic_ref_count_dec (&link->ref_count))
    {
      g_weak_ref_clear (&link->peer);
      g_main_context_unref (link->context);
      g_free (link);
    }
}

static void
peer_event_free (PeerEvent *event)
{
  peer_link_unref (event->link);
  g_free (event->text);
  g_clear_pointer (&event->description, gst_webrtc_session_description_free);
  g_clear_object (&event->channel);
  g_free (event);
}

static PeerEvent *
peer_event_new (PeerLink      *link,
                PeerEventKind  kind)
{
  PeerEvent *event = g_new0 (PeerEvent, 1);

  event->link = peer_link_ref (link);
  event->kind = kind;

  return event;
}

static void peer_dispatch (NatterPeer *self,
                           PeerEvent  *event);

static gboolean
on_event_idle (gpointer user_data)
{
  PeerEvent *event = user_data;
  g_autoptr(NatterPeer) self = g_weak_ref_get (&event->link->peer);

  /* Drop events of a peer that is gone or of an attempt it abandoned */
  if (self != NULL && self->link == event->link)
    peer_dispatch (self, event);

  return G_SOURCE_REMOVE;
}

/* Any thread: hand the event over to the peer's main context. Always through
 * an idle source, never inline, so that events keep their order. */
static void
peer_event_post (PeerEvent *event)
{
  g_autoptr(GSource) source = g_idle_source_new ();

  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, on_event_idle, event, (GDestroyNotify) peer_event_free);
  g_source_set_static_name (source, "[natter-peer] event");
  g_source_attach (source, event->link->context);
}

static void
post_simple (PeerLink      *link,
             PeerEventKind  kind,
             guint          number,
             const char    *text)
{
  PeerEvent *event = peer_event_new (link, kind);

  event->number = number;
  event->text = g_strdup (text);
  peer_event_post (event);
}

/* Events of a data channel name it, so that those of any other channel
 * than the current chat channel are dropped */
static void
post_channel_event (PeerLink             *link,
                    PeerEventKind         kind,
                    GstWebRTCDataChannel *channel,
                    const char           *text)
{
  PeerEvent *event = peer_event_new (link, kind);

  event->channel = g_object_ref (channel);
  event->text = g_strdup (text);
  peer_event_post (event);
}

/* Promises, resolved on webrtcbin's thread */

typedef struct
{
  PeerLink      *link;
  PeerEventKind  kind;
  GstPromise    *promise; /* unowned: the promise owns this */
  int            done;    /* atomic */
} PromiseData;

static void
promise_data_free (gpointer data)
{
  PromiseData *pd = data;

  peer_link_unref (pd->link);
  g_free (pd);
}

static void
on_promise_changed (GstPromise *promise,
                    gpointer    user_data)
{
  PromiseData *pd = user_data;
  const GstStructure *reply;
  g_autoptr(GError) error = NULL;
  PeerEvent *event;

  g_atomic_int_set (&pd->done, TRUE);

  if (gst_promise_wait (promise) != GST_PROMISE_RESULT_REPLIED)
    return; /* interrupted or expired: the attempt is going away */

  reply = gst_promise_get_reply (promise);
  if (reply != NULL && gst_structure_has_field (reply, "error"))
    {
      gst_structure_get (reply, "error", G_TYPE_ERROR, &error, NULL);
      post_simple (pd->link, EVENT_ERROR, 0,
                   error != NULL ? error->message : "negotiation failed");
      return;
    }

  event = peer_event_new (pd->link, pd->kind);
  if (reply != NULL && pd->kind == EVENT_OFFER_CREATED)
    gst_structure_get (reply, "offer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION,
                       &event->description, NULL);
  else if (reply != NULL && pd->kind == EVENT_ANSWER_CREATED)
    gst_structure_get (reply, "answer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION,
                       &event->description, NULL);
  peer_event_post (event);
}

/* Emits one of webrtcbin's promise-taking actions; the result comes back as
 * an event of @kind. webrtcbin keeps its own reference to the promise until
 * it has replied, and the reply is read in the change function. */
static void
emit_with_promise (NatterPeer    *self,
                   const char    *action,
                   gpointer       argument,
                   PeerEventKind  kind)
{
  PromiseData *pd = g_new0 (PromiseData, 1);
  GstPromise *promise;

  pd->link = peer_link_ref (self->link);
  pd->kind = kind;
  promise = gst_promise_new_with_change_func (on_promise_changed, pd, promise_data_free);
  pd->promise = promise;

  g_signal_emit_by_name (self->webrtc, action, argument, promise);
  /* Keep our reference: when the attempt is dropped, an unanswered promise
   * is interrupted before webrtcbin lets go of it (freeing a pending
   * promise is an error). */
  g_ptr_array_add (self->promises, pd);
}

static void
promise_drop (gpointer data)
{
  PromiseData *pd = data;

  gst_promise_unref (pd->promise); /* may free pd */
}

/* webrtcbin and data channel callbacks, on streaming threads */

static void
on_ice_candidate (GstElement *webrtc,
                  guint       mline_index,
                  const char *candidate,
                  gpointer    user_data)
{
  post_simple (user_data, EVENT_ICE_CANDIDATE, mline_index, candidate);
}

static void
on_ice_connection_state (GObject    *webrtc,
                         GParamSpec *pspec,
                         gpointer    user_data)
{
  GstWebRTCICEConnectionState state;

  g_object_get (webrtc, "ice-connection-state", &state, NULL);
  post_simple (user_data, EVENT_ICE_STATE, state, NULL);
}

static void
on_negotiation_needed (GstElement *webrtc,
                       gpointer    user_data)
{
  /* Negotiation is driven explicitly by connect() and by incoming offers;
   * webrtcbin may ask before there is anything to negotiate. */
}

static void
on_chat_open (GstWebRTCDataChannel *channel,
              gpointer              user_data)
{
  post_channel_event (user_data, EVENT_CHAT_OPEN, channel, NULL);
}

static void
on_chat_close (GstWebRTCDataChannel *channel,
               gpointer              user_data)
{
  post_channel_event (user_data, EVENT_CHAT_CLOSE, channel, NULL);
}

static void
on_chat_error (GstWebRTCDataChannel *channel,
               GError               *error,
               gpointer              user_data)
{
  post_channel_event (user_data, EVENT_ERROR, channel,
                      error != NULL ? error->message : "data channel error");
}

static void
on_chat_message_string (GstWebRTCDataChannel *channel,
                        const char           *text,
                        gpointer              user_data)
{
  post_channel_event (user_data, EVENT_CHAT_MESSAGE, channel, text != NULL ? text : "");
}

static void
on_chat_buffered_amount_low (GstWebRTCDataChannel *channel,
                             gpointer              user_data)
{
  post_channel_event (user_data, EVENT_BUFFERED_LOW, channel, NULL);
}

static void
connect_link (gpointer     instance,
              const char  *signal,
              GCallback    callback,
              PeerLink    *link)
{
  g_signal_connect_data (instance, signal, callback, peer_link_ref (link),
                         (GClosureNotify) (void (*) (void)) peer_link_unref, 0);
}

static void
watch_chat_channel (GstWebRTCDataChannel *channel,
                    PeerLink             *link)
{
  g_object_set (channel, "buffered-amount-low-threshold", (guint64) BUFFERED_LOW, NULL);
  connect_link (channel, "on-open", G_CALLBACK (on_chat_open), link);
  connect_link (channel, "on-close", G_CALLBACK (on_chat_close), link);
  connect_link (channel, "on-error", G_CALLBACK (on_chat_error), link);
  connect_link (channel, "on-message-string", G_CALLBACK (on_chat_message_string), link);
  connect_link (channel, "on-buffered-amount-low", G_CALLBACK (on_chat_buffered_amount_low), link);
}

static void
on_data_channel (GstElement           *webrtc,
                 GstWebRTCDataChannel *channel,
                 gpointer              user_data)
{
  g_autofree char *label = NULL;
  PeerEvent *event;

  g_object_get (channel, "label", &label, NULL);
  if (g_strcmp0 (label, NATTER_PEER_CHAT_LABEL) != 0)
    {
      /* Nothing here handles it: closed on the main context, and counted */
      event = peer_event_new (user_data, EVENT_OTHER_CHANNEL);
      event->channel = g_object_ref (channel);
      peer_event_post (event);
      return;
    }

  /* Connect here, on the streaming thread, so nothing that follows is missed */
  watch_chat_channel (channel, user_data);

  event = peer_event_new (user_data, EVENT_DATA_CHANNEL);
  event->channel = g_object_ref (channel);
  peer_event_post (event);
}

#ifdef NATTER_HAVE_GST_SCTP
/* The WebRTC data channel PPID of a text message (RFC 8831) */
#define PPID_STRING 51

/* webrtcbin hands a text message on as a C string, so whatever follows a
 * NUL byte would never be seen, nor checked as JSON: a message that a strict
 * receiver refuses could pass here. Every text message is looked at whole as
 * it leaves sctpdec, and one holding a NUL is dropped. */
static GstPadProbeReturn
on_sctp_buffer (GstPad          *pad,
                GstPadProbeInfo *info,
                gpointer         user_data)
{
  GstBuffer *buffer = GST_PAD_PROBE_INFO_BUFFER (info);
  GstSctpReceiveMeta *meta = buffer != NULL ? gst_sctp_buffer_get_receive_meta (buffer) : NULL;
  GstMapInfo map;
  gboolean has_nul;

  if (meta == NULL || meta->ppid != PPID_STRING || !gst_buffer_map (buffer, &map, GST_MAP_READ))
    return GST_PAD_PROBE_OK;

  has_nul = memchr (map.data, '\0', map.size) != NULL;
  gst_buffer_unmap (buffer, &map);
  if (!has_nul)
    return GST_PAD_PROBE_OK;

  post_simple (user_data, EVENT_DROPPED_TEXT, 0, NULL);
  return GST_PAD_PROBE_DROP;
}

static void
on_sctpdec_pad_added (GstElement *element,
                      GstPad     *pad,
                      gpointer    user_data)
{
  if (GST_PAD_IS_SRC (pad))
    gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, on_sctp_buffer,
                       peer_link_ref (user_data), (GDestroyNotify) peer_link_unref);
}

static void
on_deep_element_added (GstBin     *bin,
                       GstBin     *sub_bin,
                       GstElement *element,
                       gpointer    user_data)
{
  GstElementFactory *factory = gst_element_get_factory (element);

  if (factory != NULL && g_str_equal (GST_OBJECT_NAME (factory), "sctpdec"))
    connect_link (element, "pad-added", G_CALLBACK (on_sctpdec_pad_added), user_data);
}
#endif

static GstBusSyncReply
on_bus_sync (GstBus     *bus,
             GstMessage *message,
             gpointer    user_data)
{
  if (GST_MESSAGE_TYPE (message) == GST_MESSAGE_ERROR)
    {
      g_autoptr(GError) error = NULL;

      gst_message_parse_error (message, &error, NULL);
      post_simple (user_data, EVENT_ERROR, 0, error != NULL ? error->message : "pipeline error");
    }

  /* A dropped message is ours to free; each one holds the element that
   * posted it (ICE, DTLS, SCTP) alive. */
  gst_message_unref (message);
  return GST_BUS_DROP;
}

/* Helpers on the main context */

static const char *
get_string_member (JsonObject *object,
                   const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;

  return json_node_get_string (node);
}

static gboolean
session_id_is_valid (const char *session)
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

  g_object_ref (self);

  self->state = state;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
  /* A notify handler may already have moved on (closed a failed peer, say) */
  if (self->state == state)
    g_signal_emit (self, signals[STATE_CHANGED], 0, state);

  g_object_unref (self);
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

static void
peer_emit_signal_out (NatterPeer *self,
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

/* Drop the current webrtcbin and everything that belongs to its attempt.
 * Events it still has in flight are ignored, as they carry the old link.
 * With @graceful and an open chat channel, the channel is closed first and
 * the webrtcbin lives on for a moment, so that the other side sees the
 * close even when the signaling server loses our "bye". */
static void
attempt_clear (NatterPeer *self,
               gboolean    graceful)
{
  clear_source (&self->timeout_source);
  clear_source (&self->disconnect_source);
  clear_source (&self->bye_source);

  for (guint i = 0; i < self->promises->len; i++)
    {
      PromiseData *pd = g_ptr_array_index (self->promises, i);

      /* A reply racing with this is fine; interrupting twice is not */
      if (!g_atomic_int_get (&pd->done))
        gst_promise_interrupt (pd->promise);
    }

  if (self->pipeline != NULL)
    {
      g_autoptr(GstBus) bus = gst_element_get_bus (self->pipeline);

      gst_bus_set_sync_handler (bus, NULL, NULL, NULL);

      if (graceful && self->chat != NULL && (self->chat_ready || self->chat_open))
        {
          g_autoptr(GSource) source = g_timeout_source_new (LINGER_POLL_MS);
          Linger *linger = g_new0 (Linger, 1);

          /* The webrtcbin stays until the close has gone through (the
           * channel's closing handshake is done), for at most a while */
          linger->pipeline = gst_object_ref (self->pipeline);
          linger->webrtc = gst_object_ref (self->webrtc);
          linger->channel = g_object_ref (self->chat);
          linger->deadline = g_get_monotonic_time () + LINGER_MAX_MS * 1000;
          gst_webrtc_data_channel_close (self->chat);

          g_source_set_callback (source, on_linger_poll, linger, linger_free);
          g_source_set_static_name (source, "[natter-peer] linger");
          g_source_attach (source, self->context);
        }
      else
        {
          close_ice_agent (self->webrtc);
          gst_element_set_state (self->pipeline, GST_STATE_NULL);
        }
    }

  g_clear_object (&self->chat);
  self->webrtc = NULL;
  g_clear_object (&self->pipeline);
  g_clear_pointer (&self->link, peer_link_unref);

  self->have_local_offer = FALSE;
  self->remote_applying = FALSE;
  self->remote_set = FALSE;
  self->chat_ready = FALSE;
  self->chat_open = FALSE;
  self->remote_channels = 0;
  g_clear_pointer (&self->early_message, g_free);
  g_clear_pointer (&self->local_fingerprint, g_free);
  g_clear_pointer (&self->remote_fingerprint, g_free);
  g_ptr_array_set_size (self->pending_candidates, 0);
  g_ptr_array_set_size (self->promises, 0);
  g_clear_pointer (&self->local_mids, g_strfreev);
  g_clear_pointer (&self->remote_mids, g_strfreev);
  g_clear_pointer (&self->remote_fingerprints, g_free);
  g_queue_clear_full (&self->outgoing, g_free);
}

static gboolean
on_timeout (gpointer user_data)
{
  NatterPeer *self = user_data;

  g_clear_pointer (&self->timeout_source, g_source_unref);
  peer_fail (self, "the connection attempt timed out");

  return G_SOURCE_REMOVE;
}

static gboolean
on_disconnect_timeout (gpointer user_data)
{
  NatterPeer *self = user_data;

  g_clear_pointer (&self->disconnect_source, g_source_unref);
  peer_fail (self, "ICE disconnected");

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

static gboolean
is_numeric_host (const char *host)
{
  g_autofree char *bare = NULL;

  if (host[0] == '[')
    {
      gsize length = strlen (host);

      if (length < 3 || host[length - 1] != ']')
        return FALSE;
      bare = g_strndup (host + 1, length - 2);
      return g_hostname_is_ip_address (bare);
    }

  return g_hostname_is_ip_address (host);
}

/* Splits "host[:port][?query]" of a stun:/turn: URL. */
static gboolean
parse_ice_url (const char  *rest,
               guint        default_port,
               char       **host,
               guint       *port,
               char       **transport)
{
  g_autofree char *hostport = NULL;
  const char *query = strchr (rest, '?');
  const char *colon;
  guint64 number = default_port;

  hostport = query != NULL ? g_strndup (rest, query - rest) : g_strdup (rest);

  *transport = NULL;
  if (query != NULL)
    {
      if (g_str_equal (query, "?transport=udp"))
        *transport = g_strdup ("udp");
      else if (g_str_equal (query, "?transport=tcp"))
        *transport = g_strdup ("tcp");
    }

  if (hostport[0] == '[')
    {
      const char *end = strchr (hostport, ']');

      if (end == NULL)
        return FALSE;
      colon = end[1] == ':' ? end + 1 : NULL;
      if (end[1] != '\0' && colon == NULL)
        return FALSE;
    }
  else
    {
      colon = strrchr (hostport, ':');
    }

  if (colon != NULL)
    {
      if (!g_ascii_string_to_unsigned (colon + 1, 10, 1, 65535, &number, NULL))
        return FALSE;
      *host = g_strndup (hostport, colon - hostport);
    }
  else
    {
      *host = g_strdup (hostport);
    }

  *port = (guint) number;

  if (!is_numeric_host (*host))
    {
      /* libnice wants numeric addresses; the owner resolves names */
      g_debug ("Skipping ICE server with a host name");
      g_clear_pointer (host, g_free);
      g_clear_pointer (transport, g_free);
      return FALSE;
    }

  return TRUE;
}

static void
add_ice_url (const char *url,
             const char *username,
             const char *credential,
             char      **stun_uri,
             GPtrArray  *turn_uris)
{
  g_autofree char *host = NULL;
  g_autofree char *transport = NULL;
  g_autofree char *user = NULL;
  g_autofree char *pass = NULL;
  const char *scheme;
  const char *rest;
  guint default_port = 3478;
  guint port;

  if (g_str_has_prefix (url, "stun:"))
    {
      if (*stun_uri != NULL || !parse_ice_url (url + 5, default_port, &host, &port, &transport))
        return;
      *stun_uri = g_strdup_printf ("stun://%s:%u", host, port);
      return;
    }

  if (g_str_has_prefix (url, "turn:"))
    {
      scheme = "turn";
      rest = url + 5;
    }
  else if (g_str_has_prefix (url, "turns:"))
    {
      scheme = "turns";
      rest = url + 6;
      default_port = 5349;
    }
  else
    {
      return;
    }

  if (username == NULL || credential == NULL)
    return;
  if (!parse_ice_url (rest, default_port, &host, &port, &transport))
    return;

  user = g_uri_escape_string (username, NULL, FALSE);
  pass = g_uri_escape_string (credential, NULL, FALSE);
  g_ptr_array_add (turn_uris, g_strdup_printf ("%s://%s:%s@%s:%u%s%s", scheme, user, pass,
                                               host, port,
                                               transport != NULL ? "?transport=" : "",
                                               transport != NULL ? transport : ""));
}

static char **
sdp_media_mids (const GstSDPMessage *sdp)
{
  guint n = gst_sdp_message_medias_len (sdp);
  char **mids = g_new0 (char *, n + 1);

  for (guint i = 0; i < n; i++)
    {
      const char *mid = gst_sdp_media_get_attribute_val (gst_sdp_message_get_media (sdp, i), "mid");

      mids[i] = g_strdup (mid != NULL ? mid : "");
    }

  return mids;
}

static void
attempt_start (NatterPeer *self)
{
  g_autoptr(GstBus) bus = NULL;
  g_autoptr(GObject) ice = NULL;
  g_autoptr(GObject) agent = NULL;
  g_autofree char *stun_uri = NULL;
  g_auto(GStrv) turn_uris = NULL;

  attempt_clear (self, FALSE);

  self->link = peer_link_new (self);
  self->pipeline = gst_pipeline_new (NULL);
  self->webrtc = gst_element_factory_make ("webrtcbin", NULL);

  if (self->webrtc == NULL)
    {
      g_debug ("webrtcbin is not available");
      return;
    }

  gst_bin_add (GST_BIN (self->pipeline), self->webrtc);
  g_object_set (self->webrtc,
                "bundle-policy", GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE,
                "ice-transport-policy", self->relay_only ? GST_WEBRTC_ICE_TRANSPORT_POLICY_RELAY
                                                         : GST_WEBRTC_ICE_TRANSPORT_POLICY_ALL,
                NULL);

  natter_peer_ice_servers_to_uris (self->ice_servers, &stun_uri, &turn_uris);
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
  /* No UPnP port mappings (and no SSDP probing of the LAN): NAT traversal
   * is STUN and TURN from the server's ICE configuration. */
  if (agent != NULL)
    g_object_set (agent, "upnp", FALSE, NULL);
  /* Keepalives that expect an answer: a peer that vanished without a word
   * turns the ICE state to failed instead of going unnoticed. */
  if (agent != NULL)
    g_object_set (agent, "keepalive-conncheck", TRUE, NULL);

  if (self->loopback)
    {
      gboolean added = FALSE;

      /* libnice never gathers loopback candidates by itself; once an
       * address is added it gathers on the added addresses only. */
      g_signal_emit_by_name (ice, "add-local-ip-address", "127.0.0.1", &added);
      if (!added)
        g_debug ("Could not add the loopback address to the ICE agent");
    }

#ifdef NATTER_HAVE_GST_SCTP
  connect_link (self->pipeline, "deep-element-added", G_CALLBACK (on_deep_element_added),
                self->link);
#endif
  connect_link (self->webrtc, "on-ice-candidate", G_CALLBACK (on_ice_candidate), self->link);
  connect_link (self->webrtc, "on-negotiation-needed", G_CALLBACK (on_negotiation_needed), self->link);
  connect_link (self->webrtc, "on-data-channel", G_CALLBACK (on_data_channel), self->link);
  connect_link (self->webrtc, "notify::ice-connection-state",
                G_CALLBACK (on_ice_connection_state), self->link);

  bus = gst_element_get_bus (self->pipeline);
  gst_bus_set_sync_handler (bus, on_bus_sync, peer_link_ref (self->link),
                            (GDestroyNotify) peer_link_unref);

  gst_element_set_state (self->pipeline, GST_STATE_PLAYING);

  self->timeout_source = timeout_source_new (self, self->connect_timeout, on_timeout);
}

static JsonObject *
description_payload (NatterPeer                  *self,
                     GstWebRTCSessionDescription *description)
{
  g_autofree char *sdp = gst_sdp_message_as_text (description->sdp);
  g_autofree char *signature = NULL;
  JsonObject *payload = json_object_new ();

  signature = _natter_peer_sign_sdp (self->identity, self->remote_id, self->session_id, sdp);

  json_object_set_string_member (payload, "type",
                                 description->type == GST_WEBRTC_SDP_TYPE_OFFER ? "offer" : "answer");
  json_object_set_string_member (payload, "sdp", sdp);
  json_object_set_string_member (payload, "session", self->session_id);
  if (signature != NULL)
    json_object_set_string_member (payload, NATTER_PEER_SDP_SIGNATURE, signature);

  return payload;
}

/* Sends our offer or answer, then makes it the local description */
static void
send_and_set_local (NatterPeer                  *self,
                    GstWebRTCSessionDescription *description)
{
  g_autoptr(JsonObject) payload = NULL;

  if (description == NULL)
    {
      peer_fail (self, "webrtcbin produced no description");
      return;
    }

  g_strfreev (self->local_mids);
  self->local_mids = sdp_media_mids (description->sdp);

  payload = description_payload (self, description);
  peer_emit_signal_out (self, payload);

  emit_with_promise (self, "set-local-description", description, EVENT_LOCAL_SET);
}

static void
add_remote_candidate (NatterPeer *self,
                      JsonObject *payload)
{
  const char *candidate = get_string_member (payload, "candidate");
  const char *mid = get_string_member (payload, "sdpMid");
  JsonNode *index_node = json_object_get_member (payload, "sdpMLineIndex");
  gint64 index = -1;

  if (candidate == NULL || candidate[0] == '\0')
    return; /* end of candidates */

  if (index_node != NULL && JSON_NODE_HOLDS_VALUE (index_node) &&
      json_node_get_value_type (index_node) == G_TYPE_INT64)
    index = json_node_get_int (index_node);

  if (index < 0 && mid != NULL && self->remote_mids != NULL)
    {
      for (guint i = 0; self->remote_mids[i] != NULL; i++)
        if (g_str_equal (self->remote_mids[i], mid))
          index = i;
    }

  if (index < 0 || self->remote_mids == NULL || index >= (gint64) g_strv_length (self->remote_mids))
    {
      g_debug ("Peer %s: ignoring a candidate for an unknown media section",
               NATTER_USER_ID_LOG (self->remote_id));
      return;
    }

  g_signal_emit_by_name (self->webrtc, "add-ice-candidate", (guint) index, candidate);
}

static void
flush_outgoing (NatterPeer *self)
{
  while (self->chat_open && !g_queue_is_empty (&self->outgoing))
    {
      g_autofree char *text = NULL;
      g_autoptr(GError) error = NULL;
      guint64 buffered = 0;

      g_object_get (self->chat, "buffered-amount", &buffered, NULL);
      if (buffered > BUFFERED_HIGH)
        return; /* resumed by on-buffered-amount-low */

      text = g_queue_pop_head (&self->outgoing);
      if (!gst_webrtc_data_channel_send_string_full (self->chat, text, &error))
        {
          g_debug ("Peer %s: sending failed: %s",
                   NATTER_USER_ID_LOG (self->remote_id), error->message);
          peer_fail (self, "send failed");
          return;
        }
    }
}

static void
trust_fail (NatterPeer *self,
            const char *reason)
{
  g_signal_emit (self, signals[TRUST_FAILURE], 0, reason);
  peer_fail (self, "trust failure");
}

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
      trust_fail (self, reason);
      return;
    }

  if (self->bye_source != NULL)
    {
      /* They proved who they are, and left: they refused us */
      peer_end (self, NATTER_PEER_STATE_CLOSED, FALSE, NULL);
      return;
    }

  g_debug ("Peer %s: the binding statement checks out", NATTER_USER_ID_LOG (self->remote_id));
  self->chat_open = TRUE;
  clear_source (&self->timeout_source);
  peer_set_state (self, NATTER_PEER_STATE_CONNECTED);
  if (self->state != NATTER_PEER_STATE_CONNECTED)
    return; /* a state handler closed us */

  g_signal_emit (self, signals[CHAT_OPENED], 0);
  flush_outgoing (self);
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

  if (!_natter_peer_dtls_certificates (self->webrtc, &local_pem, &remote_pem) ||
      !_natter_peer_certificate_matches (remote_pem, self->remote_fingerprints))
    {
      trust_fail (self, "The DTLS certificate does not match the signed fingerprint");
      return;
    }

  local_hex = _natter_peer_certificate_fingerprint (local_pem, G_CHECKSUM_SHA256);
  remote_hex = _natter_peer_certificate_fingerprint (remote_pem, G_CHECKSUM_SHA256);
  if (local_hex == NULL || remote_hex == NULL)
    {
      trust_fail (self, "A DTLS certificate could not be read");
      return;
    }

  self->local_fingerprint = g_strconcat ("sha-256 ", local_hex, NULL);
  self->remote_fingerprint = g_strconcat ("sha-256 ", remote_hex, NULL);
  statement = _natter_peer_binding_new (self->identity, self->remote_id, self->session_id,
                                        self->local_fingerprint, self->remote_fingerprint);
  if (!gst_webrtc_data_channel_send_string_full (self->chat, statement, &error))
    {
      g_debug ("Peer %s: sending the binding failed: %s", NATTER_USER_ID_LOG (self->remote_id),
               error->message);
      peer_fail (self, "send failed");
      return;
    }

  self->chat_ready = TRUE;

  early = g_steal_pointer (&self->early_message);
  if (early != NULL)
    handle_binding (self, early);
}

static void
send_bye (NatterPeer *self,
          const char *session,
          const char *reason)
{
  g_autoptr(JsonObject) payload = json_object_new ();

  json_object_set_string_member (payload, "type", "bye");
  json_object_set_string_member (payload, "session", session);
  if (reason != NULL)
    json_object_set_string_member (payload, "reason", reason);
  peer_emit_signal_out (self, payload);
}

static void
peer_end (NatterPeer      *self,
          NatterPeerState  state,
          gboolean         tell_remote,
          const char      *reason)
{
  g_object_ref (self);

  if (tell_remote && self->link != NULL && self->session_id != NULL)
    send_bye (self, self->session_id, reason);
  attempt_clear (self, TRUE);
  peer_set_state (self, state);

  g_object_unref (self);
}

static void
peer_fail (NatterPeer *self,
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

static void
peer_dispatch (NatterPeer *self,
               PeerEvent  *event)
{
  if (event->kind != EVENT_DATA_CHANNEL && event->kind != EVENT_OTHER_CHANNEL &&
      event->channel != NULL && event->channel != self->chat)
    return;

  if ((event->kind == EVENT_DATA_CHANNEL || event->kind == EVENT_OTHER_CHANNEL) &&
      ++self->remote_channels > REMOTE_CHANNELS_MAX)
    {
      g_message ("Peer %s opened more than %d data channels; disconnecting",
                 NATTER_USER_ID_LOG (self->remote_id), REMOTE_CHANNELS_MAX);
      gst_webrtc_data_channel_close (event->channel);
      peer_fail_with_reason (self, "too-many-channels");
      return;
    }

  switch (event->kind)
    {
    case EVENT_OFFER_CREATED:
      if (self->have_local_offer)
        send_and_set_local (self, event->description);
      break;

    case EVENT_ANSWER_CREATED:
      send_and_set_local (self, event->description);
      break;

    case EVENT_LOCAL_SET:
      break;

    case EVENT_REMOTE_SET:
      self->remote_set = TRUE;
      for (guint i = 0; i < self->pending_candidates->len; i++)
        add_remote_candidate (self, g_ptr_array_index (self->pending_candidates, i));
      g_ptr_array_set_size (self->pending_candidates, 0);

      if (self->have_local_offer)
        self->have_local_offer = FALSE; /* the answer to our offer is in */
      else
        emit_with_promise (self, "create-answer", NULL, EVENT_ANSWER_CREATED);
      break;

    case EVENT_ICE_CANDIDATE:
      if (event->text != NULL && event->text[0] != '\0')
        {
          g_autoptr(JsonObject) payload = json_object_new ();
          guint n_mids = self->local_mids != NULL ? g_strv_length (self->local_mids) : 0;

          json_object_set_string_member (payload, "candidate", event->text);
          if (event->number < n_mids)
            json_object_set_string_member (payload, "sdpMid", self->local_mids[event->number]);
          json_object_set_int_member (payload, "sdpMLineIndex", event->number);
          json_object_set_string_member (payload, "session", self->session_id);
          peer_emit_signal_out (self, payload);
        }
      break;

    case EVENT_ICE_STATE:
      if (event->number == GST_WEBRTC_ICE_CONNECTION_STATE_FAILED)
        {
          peer_fail (self, "ICE failed");
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
          clear_source (&self->disconnect_source);
        }
      break;

    case EVENT_OTHER_CHANNEL:
      g_debug ("Peer %s: closing a data channel nobody handles",
               NATTER_USER_ID_LOG (self->remote_id));
      gst_webrtc_data_channel_close (event->channel);
      break;

    case EVENT_DATA_CHANNEL:
      if (self->chat != NULL)
        {
          /* A second chat channel: only the first one counts */
          gst_webrtc_data_channel_close (event->channel);
        }
      else
        {
          GstWebRTCDataChannelState ready_state;

          self->chat = g_steal_pointer (&event->channel);
          g_object_get (self->chat, "ready-state", &ready_state, NULL);
          if (ready_state == GST_WEBRTC_DATA_CHANNEL_STATE_OPEN)
            chat_opened (self);
        }
      break;

    case EVENT_CHAT_OPEN:
      if (self->chat != NULL)
        chat_opened (self);
      break;

    case EVENT_CHAT_CLOSE:
      g_debug ("Peer %s: chat channel closed", NATTER_USER_ID_LOG (self->remote_id));
      peer_end (self, NATTER_PEER_STATE_CLOSED, FALSE, NULL);
      break;

    case EVENT_CHAT_MESSAGE:
      if (self->chat_open)
        g_signal_emit (self, signals[CHAT_MESSAGE], 0, event->text);
      else if (self->chat_ready)
        handle_binding (self, event->text);
      else if (self->early_message == NULL)
        self->early_message = g_strdup (event->text); /* checked once we are ready */
      else
        trust_fail (self, "The other side spoke before the binding was checked");
      break;

    case EVENT_BUFFERED_LOW:
      flush_outgoing (self);
      break;

    case EVENT_DROPPED_TEXT:
      g_message ("Peer %s: dropped a text message that holds a NUL byte",
                 NATTER_USER_ID_LOG (self->remote_id));
      break;

    case EVENT_ERROR:
      g_debug ("Peer %s: error: %s", NATTER_USER_ID_LOG (self->remote_id), event->text);
      peer_fail (self, "error");
      break;

    default:
      g_assert_not_reached ();
    }
}

static void
handle_description (NatterPeer *self,
                    JsonObject *payload,
                    gboolean    is_offer)
{
  const char *sdp_text = get_string_member (payload, "sdp");
  const char *session = get_string_member (payload, "session");
  const char *signature = get_string_member (payload, NATTER_PEER_SDP_SIGNATURE);
  const char *reason = NULL;
  g_autoptr(GstSDPMessage) sdp = NULL;
  GstWebRTCSessionDescription *description;

  if (sdp_text == NULL || !session_id_is_valid (session))
    {
      g_debug ("Peer %s: ignoring a malformed description", NATTER_USER_ID_LOG (self->remote_id));
      return;
    }

  if (is_offer)
    {
      if (g_strcmp0 (session, self->session_id) == 0 && self->link != NULL)
        return; /* a repeated offer */

      if (self->have_local_offer && !natter_peer_get_polite (self))
        {
          /* Glare, and we are the impolite side: the other side drops its
           * offer and answers ours. */
          g_debug ("Peer %s: ignoring a colliding offer", NATTER_USER_ID_LOG (self->remote_id));
          return;
        }
    }
  else if (!self->have_local_offer || g_strcmp0 (session, self->session_id) != 0 ||
           self->remote_applying)
    {
      g_debug ("Peer %s: ignoring an answer to no pending offer",
               NATTER_USER_ID_LOG (self->remote_id));
      return;
    }

  if (gst_sdp_message_new_from_text (sdp_text, &sdp) != GST_SDP_OK)
    {
      g_debug ("Peer %s: ignoring an unparsable description", NATTER_USER_ID_LOG (self->remote_id));
      return;
    }

  if (!_natter_peer_verify_sdp (self->remote_key, self->remote_id,
                                natter_identity_get_user_id (self->identity), session, sdp_text,
                                signature, &reason))
    {
      g_signal_emit (self, signals[TRUST_FAILURE], 0, reason);
      /* Refuse: the offering side hears it at once instead of timing out */
      if (is_offer)
        send_bye (self, session, NULL);
      peer_fail (self, "trust failure");
      return;
    }

  if (is_offer)
    {
      /* A new connection, answered on a fresh webrtcbin. This also drops our
       * own pending offer when we are the polite side of a collision. */
      attempt_start (self);
      peer_set_session_id (self, session);
      peer_set_state (self, NATTER_PEER_STATE_CONNECTING);
      if (self->webrtc == NULL)
        {
          peer_fail (self, "webrtcbin missing");
          return;
        }
    }

  g_free (self->remote_fingerprints);
  self->remote_fingerprints = _natter_peer_sdp_fingerprints (sdp_text);
  g_strfreev (self->remote_mids);
  self->remote_mids = sdp_media_mids (sdp);

  description = gst_webrtc_session_description_new (is_offer ? GST_WEBRTC_SDP_TYPE_OFFER
                                                             : GST_WEBRTC_SDP_TYPE_ANSWER,
                                                    g_steal_pointer (&sdp));
  self->remote_applying = TRUE;
  emit_with_promise (self, "set-remote-description", description, EVENT_REMOTE_SET);
  gst_webrtc_session_description_free (description);
}

static void
handle_candidate (NatterPeer *self,
                  JsonObject *payload)
{
  const char *session = get_string_member (payload, "session");

  if (self->link == NULL || session == NULL || g_strcmp0 (session, self->session_id) != 0)
    return; /* a stale candidate of an abandoned attempt */

  if (!self->remote_set)
    {
      if (self->pending_candidates->len < PENDING_CANDIDATES_MAX)
        g_ptr_array_add (self->pending_candidates, json_object_ref (payload));
      return;
    }

  add_remote_candidate (self, payload);
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
  g_main_context_unref (self->context);

  G_OBJECT_CLASS (natter_peer_parent_class)->finalize (object);
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

  signals[STATE_CHANGED] =
    g_signal_new ("state-changed",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, NATTER_TYPE_PEER_STATE);

  signals[CHAT_OPENED] =
    g_signal_new ("chat-opened",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 0);

  signals[CHAT_MESSAGE] =
    g_signal_new ("chat-message",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_STRING | G_SIGNAL_TYPE_STATIC_SCOPE);

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
  self->promises = g_ptr_array_new_with_free_func (promise_drop);
  g_queue_init (&self->outgoing);
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

  attempt_start (self);
  session = session_id_new ();
  peer_set_session_id (self, session);
  peer_set_state (self, NATTER_PEER_STATE_CONNECTING);

  if (self->webrtc == NULL)
    {
      peer_fail (self, "webrtcbin missing");
      return;
    }

  self->have_local_offer = TRUE;

  /* Ordered and reliable: neither max-retransmits nor max-packet-lifetime */
  options = gst_structure_new ("application/data-channel",
                               "ordered", G_TYPE_BOOLEAN, TRUE,
                               NULL);
  g_signal_emit_by_name (self->webrtc, "create-data-channel", NATTER_PEER_CHAT_LABEL, options,
                         &channel);
  if (channel == NULL)
    {
      peer_fail (self, "could not create the chat channel");
      return;
    }

  self->chat = channel;
  watch_chat_channel (channel, self->link);

  emit_with_promise (self, "create-offer", NULL, EVENT_OFFER_CREATED);
}

/**
 * natter_peer_close:
 *
 * Ends the connection and tells the other side ("bye"). The state becomes
 * "closed".
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

  type = get_string_member (payload, "type");
  if (g_strcmp0 (type, "offer") == 0)
    handle_description (self, payload, TRUE);
  else if (g_strcmp0 (type, "answer") == 0)
    handle_description (self, payload, FALSE);
  else if (g_strcmp0 (type, "bye") == 0)
    {
      gboolean current = self->link != NULL &&
                         g_strcmp0 (get_string_member (payload, "session"), self->session_id) == 0;

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
          const char *reason = get_string_member (payload, "reason");

          /* A code from the other side, shown as one word; never as markup */
          if (reason != NULL && g_str_equal (reason, "too-many-channels"))
            g_message ("Peer %s ended the connection: this side opened too many data channels",
                       NATTER_USER_ID_LOG (self->remote_id));
          peer_end (self, NATTER_PEER_STATE_CLOSED, FALSE, NULL);
        }
    }
  else if (type == NULL || g_str_equal (type, "candidate"))
    handle_candidate (self, payload);
  else
    g_debug ("Peer %s: ignoring a payload of unknown type", NATTER_USER_ID_LOG (self->remote_id));

  g_object_unref (self);
}

/**
 * natter_peer_send_text:
 * @text: UTF-8, at most %NATTER_PEER_MAX_MESSAGE_SIZE bytes
 *
 * Queues @text on the chat channel. Fails with %G_IO_ERROR_NOT_CONNECTED
 * before the channel is open and with %G_IO_ERROR_MESSAGE_TOO_LARGE when
 * @text is too long.
 */
gboolean
natter_peer_send_text (NatterPeer  *self,
                       const char  *text,
                       GError     **error)
{
  gsize length;

  g_return_val_if_fail (NATTER_IS_PEER (self), FALSE);
  g_return_val_if_fail (text != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  length = strlen (text);
  if (length > NATTER_PEER_MAX_MESSAGE_SIZE)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE,
                   "The message is %" G_GSIZE_FORMAT " bytes long; at most %d bytes can be sent",
                   length, NATTER_PEER_MAX_MESSAGE_SIZE);
      return FALSE;
    }

  if (!g_utf8_validate (text, length, NULL))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           "The message is not valid UTF-8");
      return FALSE;
    }

  if (!self->chat_open)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED,
                           "The chat channel is not open");
      return FALSE;
    }

  g_queue_push_tail (&self->outgoing, g_strdup (text));
  flush_outgoing (self);

  return TRUE;
}

GstElement *
_natter_peer_get_webrtcbin (NatterPeer *self)
{
  g_return_val_if_fail (NATTER_IS_PEER (self), NULL);

  return self->webrtc;
}

/**
 * natter_peer_ice_servers_to_uris:
 * @ice_servers: (nullable): an RTCIceServer list
 * @stun_uri: (out): the first STUN server as `stun://host:port`, or %NULL
 * @turn_uris: (out): every TURN server as `turn(s)://user:pass@host:port`
 *
 * Converts the browser's shape into webrtcbin's. User names and passwords
 * are percent-escaped. Hosts must be numeric addresses; entries with names
 * are skipped.
 */
void
natter_peer_ice_servers_to_uris (JsonArray  *ice_servers,
                                 char      **stun_uri,
                                 GStrv      *turn_uris)
{
  g_autoptr(GPtrArray) turn = g_ptr_array_new_with_free_func (g_free);

  g_return_if_fail (stun_uri != NULL);
  g_return_if_fail (turn_uris != NULL);

  *stun_uri = NULL;

  for (guint i = 0; ice_servers != NULL && i < json_array_get_length (ice_servers); i++)
    {
      JsonNode *node = json_array_get_element (ice_servers, i);
      JsonObject *server;
      JsonNode *urls;
      const char *username;
      const char *credential;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        continue;

      server = json_node_get_object (node);
      urls = json_object_get_member (server, "urls");
      username = get_string_member (server, "username");
      credential = get_string_member (server, "credential");

      if (urls == NULL)
        continue;

      if (JSON_NODE_HOLDS_ARRAY (urls))
        {
          JsonArray *list = json_node_get_array (urls);

          for (guint j = 0; j < json_array_get_length (list); j++)
            {
              JsonNode *url = json_array_get_element (list, j);

              if (JSON_NODE_HOLDS_VALUE (url) && json_node_get_value_type (url) == G_TYPE_STRING)
                add_ice_url (json_node_get_string (url), username, credential, stun_uri, turn);
            }
        }
      else if (JSON_NODE_HOLDS_VALUE (urls) && json_node_get_value_type (urls) == G_TYPE_STRING)
        {
          add_ice_url (json_node_get_string (urls), username, credential, stun_uri, turn);
        }
    }

  g_ptr_array_add (turn, NULL);
  *turn_uris = (GStrv) g_ptr_array_steal (turn, NULL);
}
