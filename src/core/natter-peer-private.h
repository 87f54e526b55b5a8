/* natter-peer-private.h: the NatterPeer struct, shared by its files
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * natter-peer.c             the object, the attempt, channels, the trust steps
 * natter-peer-negotiation.c offers, answers, candidates, renegotiation, glare
 * natter-peer-events.c      webrtcbin's threads -> the main context
 * natter-peer-trust.c       what is signed and checked
 *
 * Tests may reach inside too (playing a misbehaving peer through webrtcbin).
 */
#pragma once

#include <gst/gst.h>
#include <gst/sdp/sdp.h>
#define GST_USE_UNSTABLE_API
#include <gst/webrtc/webrtc.h>

#include "natter-channel.h"
#include "natter-peer.h"
#include "natter-peer-events-private.h"
#include "natter-signature.h"

G_BEGIN_DECLS

/* Where the current attempt's offer/answer exchange stands. One exchange
 * at a time: a renegotiation that is needed meanwhile waits for "stable". */
typedef enum
{
  NATTER_PEER_SIGNALING_STABLE,           /* nothing under way (also before the first offer) */
  NATTER_PEER_SIGNALING_CREATING_OFFER,   /* create-offer runs */
  NATTER_PEER_SIGNALING_HAVE_LOCAL_OFFER, /* our offer is out, waiting for the answer */
  NATTER_PEER_SIGNALING_APPLYING_OFFER,   /* their offer goes in; our answer follows */
  NATTER_PEER_SIGNALING_APPLYING_ANSWER,  /* their answer goes in */
} NatterPeerSignaling;

/* The media sections asked for, shared with webrtcbin's threads */
typedef struct _NatterPeerMediaTable NatterPeerMediaTable;

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
  NatterPeerMediaTable *media;

  /* The current attempt; all cleared by _natter_peer_attempt_clear() */
  NatterPeerLink       *link;
  GstElement           *pipeline;
  GstElement           *webrtc;
  char                 *session_id;
  gint64                started;          /* monotonic, for the timing log */
  NatterPeerSignaling   signaling;
  gboolean              renegotiate;      /* another exchange is wanted */
  GstWebRTCSessionDescription *pending_offer; /* a renegotiation offer, applied with its answer */
  GstWebRTCSessionDescription *unsent_answer; /* a renegotiation answer, sent once applied */
  char                 *last_remote_offer;
  JsonObject           *deferred_offer;   /* came while an exchange was ending */
  NatterChannel        *chat;
  GHashTable           *channels;         /* GstWebRTCDataChannel -> NatterChannel */
  gboolean              chat_ready;       /* DTLS up, certificate checked, our binding sent */
  gboolean              chat_open;        /* and their binding verified: established */
  char                 *early_message;
  char                 *local_fingerprint;
  char                 *remote_fingerprint;
  GPtrArray            *pending_candidates;
  GPtrArray            *promises;
  GStrv                 local_mids;
  GStrv                 remote_mids;      /* NULL until their first description is in */
  char                 *remote_fingerprints;
  GSource              *timeout_source;
  GSource              *disconnect_source;
  GSource              *bye_source;
  guint                 remote_channels;  /* open ones the other side made */
  guint                 refused_channels;
};

/* natter-peer.c */
void        _natter_peer_fail               (NatterPeer                  *self,
                                             const char                  *reason);
void        _natter_peer_trust_failure      (NatterPeer                  *self,
                                             const char                  *reason);
void        _natter_peer_emit_signal_out    (NatterPeer                  *self,
                                             JsonObject                  *payload);
void        _natter_peer_send_bye           (NatterPeer                  *self,
                                             const char                  *session,
                                             const char                  *reason);
gboolean    _natter_peer_attempt_start      (NatterPeer                  *self,
                                             const char                  *session);
void        _natter_peer_log_step           (NatterPeer                  *self,
                                             const char                  *step);
const char *_natter_peer_get_string_member  (JsonObject                  *object,
                                             const char                  *name);
gboolean    _natter_peer_session_id_is_valid (const char                 *session);

/* natter-peer-negotiation.c */
void        _natter_peer_negotiation_offer  (NatterPeer                  *self);
void        _natter_peer_negotiation_needed (NatterPeer                  *self);
void        _natter_peer_negotiation_request (NatterPeer                 *self);
void        _natter_peer_negotiation_event  (NatterPeer                  *self,
                                             NatterPeerEvent             *event);
void        _natter_peer_handle_description (NatterPeer                  *self,
                                             JsonObject                  *payload,
                                             gboolean                     is_offer);
void        _natter_peer_handle_candidate   (NatterPeer                  *self,
                                             JsonObject                  *payload);

/* natter-peer-media.c */
NatterPeerMediaTable *_natter_peer_media_table_new      (void);
void                  _natter_peer_media_table_unref    (NatterPeerMediaTable *table);
void                  _natter_peer_media_watch          (NatterPeer           *self);
void                  _natter_peer_media_attach_pending (NatterPeer           *self);
void                  _natter_peer_media_clear          (NatterPeer           *self);
GPtrArray            *_natter_peer_media_dup_bins       (NatterPeer           *self);

/* For tests */
GstElement *_natter_peer_get_webrtcbin      (NatterPeer                  *self);

G_END_DECLS
