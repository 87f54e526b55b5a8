/* natter-peer-trust-private.h: what a NatterPeer signs and checks
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Used inside libnatter-core by natter-peer.c, and by the unit tests, which
 * check the signed texts against the test vectors of docs/peer.md.
 */
#pragma once

#include <gst/gst.h>
#include <json-glib/json-glib.h>

#include "natter-identity.h"

G_BEGIN_DECLS

#define NATTER_PEER_SDP_CONTEXT      "natter-sdp-v2"
#define NATTER_PEER_BINDING_CONTEXT  "natter-binding-v1"
/* The member of offers and answers that carries the SDP signature */
#define NATTER_PEER_SDP_SIGNATURE    "sdp_sig"

char     *_natter_peer_sdp_message              (const char      *sender_id,
                                                 const char      *receiver_id,
                                                 const char      *session,
                                                 const char      *sdp);
char     *_natter_peer_sdp_fingerprints         (const char      *sdp);
char     *_natter_peer_sign_sdp                 (NatterIdentity  *identity,
                                                 const char      *receiver_id,
                                                 const char      *session,
                                                 const char      *sdp);
gboolean  _natter_peer_verify_sdp               (const guint8    *remote_key,
                                                 const char      *remote_id,
                                                 const char      *local_id,
                                                 const char      *session,
                                                 const char      *sdp,
                                                 const char      *signature,
                                                 const char     **reason);

char     *_natter_peer_certificate_fingerprint  (const char      *pem,
                                                 GChecksumType    type);
gboolean  _natter_peer_certificate_matches      (const char      *pem,
                                                 const char      *fingerprints);
gboolean  _natter_peer_dtls_certificates        (GstElement      *webrtc,
                                                 char           **local_pem,
                                                 char           **remote_pem);

char     *_natter_peer_binding_message          (const char      *sender_id,
                                                 const char      *receiver_id,
                                                 const char      *session,
                                                 const char      *sender_fingerprint,
                                                 const char      *receiver_fingerprint);
char     *_natter_peer_binding_new              (NatterIdentity  *identity,
                                                 const char      *receiver_id,
                                                 const char      *session,
                                                 const char      *local_fingerprint,
                                                 const char      *remote_fingerprint);
gboolean  _natter_peer_binding_verify           (const char      *text,
                                                 const guint8    *remote_key,
                                                 const char      *remote_id,
                                                 const char      *local_id,
                                                 const char      *session,
                                                 const char      *remote_fingerprint,
                                                 const char      *local_fingerprint,
                                                 const char     **reason);

G_END_DECLS
