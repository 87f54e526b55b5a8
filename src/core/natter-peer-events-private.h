/* natter-peer-events-private.h: webrtcbin's threads -> the peer's main context
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * webrtcbin emits its signals and resolves its promises on its own threads.
 * Every callback here only packs what it saw into a NatterPeerEvent and
 * queues it on the main context of the thread that created the peer, where
 * _natter_peer_dispatch() takes it. Callbacks hold a NatterPeerLink, not the
 * peer: the link names the attempt it belongs to and holds only a weak
 * reference to the peer, so events of an abandoned attempt, or of a peer that
 * has gone away, are dropped.
 */
#pragma once

#include <gst/gst.h>
#define GST_USE_UNSTABLE_API
#include <gst/webrtc/webrtc.h>

#include "natter-peer.h"

G_BEGIN_DECLS

typedef struct _NatterPeerLink NatterPeerLink;

typedef enum
{
  NATTER_PEER_EVENT_OFFER_CREATED,
  NATTER_PEER_EVENT_ANSWER_CREATED,
  NATTER_PEER_EVENT_REMOTE_SET,
  NATTER_PEER_EVENT_LOCAL_SET,
  NATTER_PEER_EVENT_NEGOTIATION_NEEDED,
  NATTER_PEER_EVENT_ICE_CANDIDATE,
  NATTER_PEER_EVENT_ICE_GATHERING_STATE,
  NATTER_PEER_EVENT_ICE_STATE,
  NATTER_PEER_EVENT_DATA_CHANNEL,      /* the other side opened one */
  NATTER_PEER_EVENT_CHANNEL_OPEN,
  NATTER_PEER_EVENT_CHANNEL_CLOSE,
  NATTER_PEER_EVENT_CHANNEL_ERROR,
  NATTER_PEER_EVENT_CHANNEL_TEXT,
  NATTER_PEER_EVENT_CHANNEL_DATA,
  NATTER_PEER_EVENT_CHANNEL_LOW,       /* buffered amount went low */
  NATTER_PEER_EVENT_DROPPED_TEXT,
  NATTER_PEER_EVENT_MEDIA_READY,       /* caps reached a media sink pad */
  NATTER_PEER_EVENT_ERROR,
} NatterPeerEventKind;

typedef struct
{
  NatterPeerLink              *link;
  NatterPeerEventKind          kind;
  guint                        number;
  char                        *text;
  GBytes                      *bytes;
  GstWebRTCSessionDescription *description;
  GstWebRTCDataChannel        *channel;
} NatterPeerEvent;

typedef struct _NatterPeerPromise NatterPeerPromise;

NatterPeerLink    *_natter_peer_link_new            (NatterPeer           *peer,
                                                     GMainContext         *context);
NatterPeerLink    *_natter_peer_link_ref            (NatterPeerLink       *link);
void               _natter_peer_link_unref          (NatterPeerLink       *link);

void               _natter_peer_events_watch        (NatterPeerLink       *link,
                                                     GstElement           *pipeline,
                                                     GstElement           *webrtc);
void               _natter_peer_events_unwatch      (GstElement           *pipeline);
void               _natter_peer_events_watch_channel (NatterPeerLink      *link,
                                                      GstWebRTCDataChannel *channel);
void               _natter_peer_events_watch_media_pad (NatterPeerLink    *link,
                                                        GstPad            *pad);

NatterPeerPromise *_natter_peer_events_emit_with_promise (NatterPeerLink      *link,
                                                          GstElement          *webrtc,
                                                          const char          *action,
                                                          gpointer             argument,
                                                          NatterPeerEventKind  kind);
void               _natter_peer_promise_interrupt   (NatterPeerPromise    *promise);
void               _natter_peer_promise_free        (NatterPeerPromise    *promise);

/* In natter-peer.c: takes an event on the main context */
void               _natter_peer_dispatch            (NatterPeer           *self,
                                                     NatterPeerLink       *link,
                                                     NatterPeerEvent      *event);

G_END_DECLS
