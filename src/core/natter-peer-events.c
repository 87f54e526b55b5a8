/* natter-peer-events.c: webrtcbin's threads -> the peer's main context
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Everything in this file but the idle callback runs on GStreamer's threads
 * (streaming threads, the ICE agent's thread, webrtcbin's own). It touches no
 * peer state: it copies what it saw into an event and posts it, always
 * through an idle source and never inline, so events keep their order.
 */
#define G_LOG_DOMAIN "natter-peer"

#include "config.h"

#include <string.h>

#ifdef NATTER_HAVE_GST_SCTP
#include <gst/sctp/sctpreceivemeta.h>
#endif

#include "natter-peer-events-private.h"

struct _NatterPeerLink
{
  gatomicrefcount  ref_count;
  GWeakRef         peer;
  GMainContext    *context;
};

struct _NatterPeerPromise
{
  NatterPeerLink      *link;
  NatterPeerEventKind  kind;
  GstPromise          *promise; /* ours, until _natter_peer_promise_free() */
  int                  done;    /* atomic */
};

NatterPeerLink *
_natter_peer_link_new (NatterPeer   *peer,
                       GMainContext *context)
{
  NatterPeerLink *link = g_new0 (NatterPeerLink, 1);

  g_atomic_ref_count_init (&link->ref_count);
  g_weak_ref_init (&link->peer, peer);
  link->context = g_main_context_ref (context);

  return link;
}

NatterPeerLink *
_natter_peer_link_ref (NatterPeerLink *link)
{
  g_atomic_ref_count_inc (&link->ref_count);
  return link;
}

void
_natter_peer_link_unref (NatterPeerLink *link)
{
  if (g_atomic_ref_count_dec (&link->ref_count))
    {
      g_weak_ref_clear (&link->peer);
      g_main_context_unref (link->context);
      g_free (link);
    }
}

static void
event_free (NatterPeerEvent *event)
{
  _natter_peer_link_unref (event->link);
  g_free (event->text);
  g_clear_pointer (&event->bytes, g_bytes_unref);
  g_clear_pointer (&event->description, gst_webrtc_session_description_free);
  g_clear_object (&event->channel);
  g_free (event);
}

static NatterPeerEvent *
event_new (NatterPeerLink      *link,
           NatterPeerEventKind  kind)
{
  NatterPeerEvent *event = g_new0 (NatterPeerEvent, 1);

  event->link = _natter_peer_link_ref (link);
  event->kind = kind;

  return event;
}

static gboolean
on_event_idle (gpointer user_data)
{
  NatterPeerEvent *event = user_data;
  g_autoptr(NatterPeer) peer = g_weak_ref_get (&event->link->peer);

  /* The peer drops events of an attempt it abandoned */
  if (peer != NULL)
    _natter_peer_dispatch (peer, event->link, event);

  return G_SOURCE_REMOVE;
}

static void
event_post (NatterPeerEvent *event)
{
  g_autoptr(GSource) source = g_idle_source_new ();

  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, on_event_idle, event, (GDestroyNotify) event_free);
  g_source_set_static_name (source, "[natter-peer] event");
  g_source_attach (source, event->link->context);
}

static void
post_simple (NatterPeerLink      *link,
             NatterPeerEventKind  kind,
             guint                number,
             const char          *text)
{
  NatterPeerEvent *event = event_new (link, kind);

  event->number = number;
  event->text = g_strdup (text);
  event_post (event);
}

/* Events of a data channel name it: the peer finds its NatterChannel */
static void
post_channel_event (NatterPeerLink       *link,
                    NatterPeerEventKind   kind,
                    GstWebRTCDataChannel *channel,
                    const char           *text,
                    GBytes               *bytes)
{
  NatterPeerEvent *event = event_new (link, kind);

  event->channel = g_object_ref (channel);
  event->text = g_strdup (text);
  event->bytes = bytes != NULL ? g_bytes_ref (bytes) : NULL;
  event_post (event);
}

/* Promises, resolved on webrtcbin's thread */

static void
on_promise_changed (GstPromise *promise,
                    gpointer    user_data)
{
  NatterPeerPromise *pd = user_data;
  const GstStructure *reply;
  g_autoptr(GError) error = NULL;
  NatterPeerEvent *event;

  g_atomic_int_set (&pd->done, TRUE);

  if (gst_promise_wait (promise) != GST_PROMISE_RESULT_REPLIED)
    return; /* interrupted or expired: the attempt is going away */

  reply = gst_promise_get_reply (promise);
  if (reply != NULL && gst_structure_has_field (reply, "error"))
    {
      gst_structure_get (reply, "error", G_TYPE_ERROR, &error, NULL);
      post_simple (pd->link, NATTER_PEER_EVENT_ERROR, 0,
                   error != NULL ? error->message : "negotiation failed");
      return;
    }

  event = event_new (pd->link, pd->kind);
  if (reply != NULL && pd->kind == NATTER_PEER_EVENT_OFFER_CREATED)
    gst_structure_get (reply, "offer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION,
                       &event->description, NULL);
  else if (reply != NULL && pd->kind == NATTER_PEER_EVENT_ANSWER_CREATED)
    gst_structure_get (reply, "answer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION,
                       &event->description, NULL);
  event_post (event);
}

static void
promise_data_free (gpointer data)
{
  NatterPeerPromise *pd = data;

  _natter_peer_link_unref (pd->link);
  g_free (pd);
}

/**
 * _natter_peer_events_emit_with_promise:
 *
 * Emits one of webrtcbin's promise-taking actions; the result comes back as
 * an event of @kind. webrtcbin keeps its own reference to the promise until
 * it has replied, and the reply is read in the change function. The caller
 * keeps the returned handle: when the attempt is dropped, an unanswered
 * promise is interrupted before webrtcbin lets go of it (freeing a pending
 * promise is an error).
 */
NatterPeerPromise *
_natter_peer_events_emit_with_promise (NatterPeerLink      *link,
                                       GstElement          *webrtc,
                                       const char          *action,
                                       gpointer             argument,
                                       NatterPeerEventKind  kind)
{
  NatterPeerPromise *pd = g_new0 (NatterPeerPromise, 1);

  pd->link = _natter_peer_link_ref (link);
  pd->kind = kind;
  pd->promise = gst_promise_new_with_change_func (on_promise_changed, pd, promise_data_free);

  g_signal_emit_by_name (webrtc, action, argument, pd->promise);

  return pd;
}

void
_natter_peer_promise_interrupt (NatterPeerPromise *pd)
{
  /* A reply racing with this is fine; interrupting twice is not */
  if (!g_atomic_int_get (&pd->done))
    gst_promise_interrupt (pd->promise);
}

void
_natter_peer_promise_free (NatterPeerPromise *pd)
{
  gst_promise_unref (pd->promise); /* may free pd */
}

/* webrtcbin callbacks */

static void
on_ice_candidate (GstElement *webrtc,
                  guint       mline_index,
                  const char *candidate,
                  gpointer    user_data)
{
  post_simple (user_data, NATTER_PEER_EVENT_ICE_CANDIDATE, mline_index, candidate);
}

static void
on_ice_connection_state (GObject    *webrtc,
                         GParamSpec *pspec,
                         gpointer    user_data)
{
  GstWebRTCICEConnectionState state;

  g_object_get (webrtc, "ice-connection-state", &state, NULL);
  post_simple (user_data, NATTER_PEER_EVENT_ICE_STATE, state, NULL);
}

static void
on_ice_gathering_state (GObject    *webrtc,
                        GParamSpec *pspec,
                        gpointer    user_data)
{
  GstWebRTCICEGatheringState state;

  g_object_get (webrtc, "ice-gathering-state", &state, NULL);
  post_simple (user_data, NATTER_PEER_EVENT_ICE_GATHERING_STATE, state, NULL);
}

static void
on_negotiation_needed (GstElement *webrtc,
                       gpointer    user_data)
{
  post_simple (user_data, NATTER_PEER_EVENT_NEGOTIATION_NEEDED, 0, NULL);
}

/* Data channel callbacks */

static void
on_channel_open (GstWebRTCDataChannel *channel,
                 gpointer              user_data)
{
  post_channel_event (user_data, NATTER_PEER_EVENT_CHANNEL_OPEN, channel, NULL, NULL);
}

static void
on_channel_close (GstWebRTCDataChannel *channel,
                  gpointer              user_data)
{
  post_channel_event (user_data, NATTER_PEER_EVENT_CHANNEL_CLOSE, channel, NULL, NULL);
}

static void
on_channel_error (GstWebRTCDataChannel *channel,
                  GError               *error,
                  gpointer              user_data)
{
  post_channel_event (user_data, NATTER_PEER_EVENT_CHANNEL_ERROR, channel,
                      error != NULL ? error->message : "data channel error", NULL);
}

static void
on_channel_message_string (GstWebRTCDataChannel *channel,
                           const char           *text,
                           gpointer              user_data)
{
  post_channel_event (user_data, NATTER_PEER_EVENT_CHANNEL_TEXT, channel,
                      text != NULL ? text : "", NULL);
}

static void
on_channel_message_data (GstWebRTCDataChannel *channel,
                         GBytes               *bytes,
                         gpointer              user_data)
{
  g_autoptr(GBytes) empty = NULL;

  if (bytes == NULL)
    bytes = empty = g_bytes_new (NULL, 0);
  post_channel_event (user_data, NATTER_PEER_EVENT_CHANNEL_DATA, channel, NULL, bytes);
}

static void
on_channel_buffered_amount_low (GstWebRTCDataChannel *channel,
                                gpointer              user_data)
{
  post_channel_event (user_data, NATTER_PEER_EVENT_CHANNEL_LOW, channel, NULL, NULL);
}

static void
connect_link (gpointer        instance,
              const char     *signal,
              GCallback       callback,
              NatterPeerLink *link)
{
  g_signal_connect_data (instance, signal, callback, _natter_peer_link_ref (link),
                         (GClosureNotify) (void (*) (void)) _natter_peer_link_unref, 0);
}

/* Any thread: call it where the channel appears (on the streaming thread
 * for channels the other side opens), so that nothing that follows is
 * missed */
void
_natter_peer_events_watch_channel (NatterPeerLink       *link,
                                   GstWebRTCDataChannel *channel)
{
  connect_link (channel, "on-open", G_CALLBACK (on_channel_open), link);
  connect_link (channel, "on-close", G_CALLBACK (on_channel_close), link);
  connect_link (channel, "on-error", G_CALLBACK (on_channel_error), link);
  connect_link (channel, "on-message-string", G_CALLBACK (on_channel_message_string), link);
  connect_link (channel, "on-message-data", G_CALLBACK (on_channel_message_data), link);
  connect_link (channel, "on-buffered-amount-low", G_CALLBACK (on_channel_buffered_amount_low),
                link);
}

static void
on_data_channel (GstElement           *webrtc,
                 GstWebRTCDataChannel *channel,
                 gpointer              user_data)
{
  _natter_peer_events_watch_channel (user_data, channel);
  post_channel_event (user_data, NATTER_PEER_EVENT_DATA_CHANNEL, channel, NULL, NULL);
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

  post_simple (user_data, NATTER_PEER_EVENT_DROPPED_TEXT, 0, NULL);
  return GST_PAD_PROBE_DROP;
}

static void
on_sctpdec_pad_added (GstElement *element,
                      GstPad     *pad,
                      gpointer    user_data)
{
  if (GST_PAD_IS_SRC (pad))
    gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, on_sctp_buffer,
                       _natter_peer_link_ref (user_data), (GDestroyNotify) _natter_peer_link_unref);
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

static GstPadProbeReturn
on_media_pad_event (GstPad          *pad,
                    GstPadProbeInfo *info,
                    gpointer         user_data)
{
  if (GST_EVENT_TYPE (GST_PAD_PROBE_INFO_EVENT (info)) != GST_EVENT_CAPS)
    return GST_PAD_PROBE_OK;

  post_simple (user_data, NATTER_PEER_EVENT_MEDIA_READY, 0, NULL);
  return GST_PAD_PROBE_REMOVE;
}

/* A media section can be offered once its stream has caps (webrtcbin
 * writes its SSRC into the SDP from them) */
void
_natter_peer_events_watch_media_pad (NatterPeerLink *link,
                                     GstPad         *pad)
{
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, on_media_pad_event,
                     _natter_peer_link_ref (link), (GDestroyNotify) _natter_peer_link_unref);
}

static GstBusSyncReply
on_bus_sync (GstBus     *bus,
             GstMessage *message,
             gpointer    user_data)
{
  if (GST_MESSAGE_TYPE (message) == GST_MESSAGE_ERROR)
    {
      g_autoptr(GError) error = NULL;

      gst_message_parse_error (message, &error, NULL);
      post_simple (user_data, NATTER_PEER_EVENT_ERROR, 0,
                   error != NULL ? error->message : "pipeline error");
    }

  /* A dropped message is ours to free; each one holds the element that
   * posted it (ICE, DTLS, SCTP) alive. */
  gst_message_unref (message);
  return GST_BUS_DROP;
}

/* Main context: before the pipeline starts */
void
_natter_peer_events_watch (NatterPeerLink *link,
                           GstElement     *pipeline,
                           GstElement     *webrtc)
{
  g_autoptr(GstBus) bus = gst_element_get_bus (pipeline);

#ifdef NATTER_HAVE_GST_SCTP
  connect_link (pipeline, "deep-element-added", G_CALLBACK (on_deep_element_added), link);
#endif
  connect_link (webrtc, "on-ice-candidate", G_CALLBACK (on_ice_candidate), link);
  connect_link (webrtc, "on-negotiation-needed", G_CALLBACK (on_negotiation_needed), link);
  connect_link (webrtc, "on-data-channel", G_CALLBACK (on_data_channel), link);
  connect_link (webrtc, "notify::ice-connection-state", G_CALLBACK (on_ice_connection_state),
                link);
  connect_link (webrtc, "notify::ice-gathering-state", G_CALLBACK (on_ice_gathering_state),
                link);

  gst_bus_set_sync_handler (bus, on_bus_sync, _natter_peer_link_ref (link),
                            (GDestroyNotify) _natter_peer_link_unref);
}

/* Main context: no more bus messages for this attempt */
void
_natter_peer_events_unwatch (GstElement *pipeline)
{
  g_autoptr(GstBus) bus = gst_element_get_bus (pipeline);

  gst_bus_set_sync_handler (bus, NULL, NULL, NULL);
}
