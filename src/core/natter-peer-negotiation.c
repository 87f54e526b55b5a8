/* natter-peer-negotiation.c: offers, answers, candidates and renegotiation
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * One offer/answer exchange at a time, tracked by NatterPeer::signaling.
 * The first exchange of an attempt starts it (natter_peer_connect() on one
 * side, the offer on the other); once the connection is established, an
 * exchange on the same session renegotiates it when something asks for one
 * (media added, natter-peer-media.c). webrtcbin's on-negotiation-needed is
 * not relied on: 1.22 says it when nothing changed and stays silent for a
 * pad added to a running connection.
 *
 * Glare (docs/peer.md, "Who offers"): when both sides offer at once, the
 * impolite side ignores the offer it gets. On the first exchange the polite
 * side drops its whole attempt and answers on a fresh webrtcbin; on a
 * running connection, where webrtcbin 1.22 cannot roll back, a renegotiation
 * offer is applied only together with its answer, so the polite side still
 * can answer the other offer, and makes its own anew once that is done.
 */
#define G_LOG_DOMAIN "natter-peer"

#include "config.h"

#include <string.h>

#include "natter-peer-private.h"
#include "natter-peer-trust-private.h"

#define PENDING_CANDIDATES_MAX 200

static void
emit_with_promise (NatterPeer          *self,
                   const char          *action,
                   gpointer             argument,
                   NatterPeerEventKind  kind)
{
  g_ptr_array_add (self->promises,
                   _natter_peer_events_emit_with_promise (self->link, self->webrtc, action,
                                                          argument, kind));
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

/* Sends our offer or answer */
static gboolean
send_description (NatterPeer                  *self,
                  GstWebRTCSessionDescription *description)
{
  g_autoptr(JsonObject) payload = NULL;

  if (description == NULL)
    {
      _natter_peer_fail (self, "webrtcbin produced no description");
      return FALSE;
    }

  g_strfreev (self->local_mids);
  self->local_mids = sdp_media_mids (description->sdp);

  payload = description_payload (self, description);
  _natter_peer_emit_signal_out (self, payload);

  return self->link != NULL; /* unless a handler closed us */
}

static void
set_local (NatterPeer                  *self,
           GstWebRTCSessionDescription *description)
{
  emit_with_promise (self, "set-local-description", description,
                     NATTER_PEER_EVENT_LOCAL_SET);
}

static void
maybe_renegotiate (NatterPeer *self)
{
  if (self->deferred_offer != NULL && self->signaling == NATTER_PEER_SIGNALING_STABLE)
    {
      g_autoptr(JsonObject) offer = g_steal_pointer (&self->deferred_offer);

      _natter_peer_handle_description (self, offer, TRUE);
      return;
    }

  if (self->renegotiate && self->chat_open && self->signaling == NATTER_PEER_SIGNALING_STABLE)
    {
      g_debug ("Renegotiating the connection");
      _natter_peer_negotiation_offer (self);
    }
}

/* Starts an exchange with an offer: the first one of an attempt, or a
 * renegotiation of an established connection */
void
_natter_peer_negotiation_offer (NatterPeer *self)
{
  g_assert (self->signaling == NATTER_PEER_SIGNALING_STABLE);

  self->signaling = NATTER_PEER_SIGNALING_CREATING_OFFER;
  self->renegotiate = FALSE;
  emit_with_promise (self, "create-offer", NULL, NATTER_PEER_EVENT_OFFER_CREATED);
}

/* The connection is established: what was asked for meanwhile goes now */
void
_natter_peer_negotiation_needed (NatterPeer *self)
{
  maybe_renegotiate (self);
}

/* Something changed that the other side must hear of (media added): a new
 * exchange, now or once the current one is over. webrtcbin 1.22 does not
 * always say on-negotiation-needed for a pad requested on a running
 * connection, so this does not wait for it. */
void
_natter_peer_negotiation_request (NatterPeer *self)
{
  self->renegotiate = TRUE;
  maybe_renegotiate (self);
}

static void
add_remote_candidate (NatterPeer *self,
                      JsonObject *payload)
{
  const char *candidate = _natter_peer_get_string_member (payload, "candidate");
  const char *mid = _natter_peer_get_string_member (payload, "sdpMid");
  JsonNode *index_node = json_object_get_member (payload, "sdpMLineIndex");
  gint64 index = -1;

  if (candidate == NULL || candidate[0] == '\0')
    return; /* end of candidates */

  if (index_node != NULL && JSON_NODE_HOLDS_VALUE (index_node) &&
      json_node_get_value_type (index_node) == G_TYPE_INT64)
    index = json_node_get_int (index_node);

  if (index < 0 && mid != NULL)
    {
      for (guint i = 0; self->remote_mids[i] != NULL; i++)
        if (g_str_equal (self->remote_mids[i], mid))
          index = i;
    }

  if (index < 0 || index >= (gint64) g_strv_length (self->remote_mids))
    {
      g_debug ("Ignoring a candidate for an unknown media section");
      return;
    }

  g_signal_emit_by_name (self->webrtc, "add-ice-candidate", (guint) index, candidate);
}

static void
send_candidate (NatterPeer *self,
                guint       mline,
                const char *candidate)
{
  g_autoptr(JsonObject) payload = json_object_new ();
  guint n_mids = self->local_mids != NULL ? g_strv_length (self->local_mids) : 0;

  json_object_set_string_member (payload, "candidate", candidate);
  if (mline < n_mids)
    json_object_set_string_member (payload, "sdpMid", self->local_mids[mline]);
  json_object_set_int_member (payload, "sdpMLineIndex", mline);
  json_object_set_string_member (payload, "session", self->session_id);
  _natter_peer_emit_signal_out (self, payload);
}

void
_natter_peer_negotiation_event (NatterPeer      *self,
                                NatterPeerEvent *event)
{
  switch (event->kind)
    {
    case NATTER_PEER_EVENT_OFFER_CREATED:
      /* Not when glare made us give it up meanwhile */
      if (self->signaling != NATTER_PEER_SIGNALING_CREATING_OFFER)
        break;
      self->renegotiate = FALSE;
      if (!send_description (self, event->description))
        break;
      self->signaling = NATTER_PEER_SIGNALING_HAVE_LOCAL_OFFER;
      _natter_peer_log_step (self, "the offer is out");
      /* webrtcbin 1.22 cannot roll a local offer back: on a running
       * connection ours is applied only with its answer, so that a
       * colliding offer can still be answered */
      if (self->chat_open)
        self->pending_offer = g_steal_pointer (&event->description);
      else
        set_local (self, event->description);
      break;

    case NATTER_PEER_EVENT_ANSWER_CREATED:
      if (self->signaling != NATTER_PEER_SIGNALING_APPLYING_OFFER)
        break;
      if (self->chat_open)
        {
          /* On a running connection the answer goes out only once it is
           * applied here: the other side starts sending media as soon as
           * it has it, and webrtcbin 1.22 loses a stream that arrives
           * before its transceiver has its media section */
          set_local (self, event->description);
          self->unsent_answer = g_steal_pointer (&event->description);
          break;
        }
      if (send_description (self, event->description))
        {
          set_local (self, event->description);
          self->signaling = NATTER_PEER_SIGNALING_STABLE;
          _natter_peer_log_step (self, "the answer is out");
          maybe_renegotiate (self);
        }
      break;

    case NATTER_PEER_EVENT_LOCAL_SET:
      if (self->unsent_answer != NULL)
        {
          g_autoptr(GstWebRTCSessionDescription) answer = g_steal_pointer (&self->unsent_answer);

          if (!send_description (self, answer))
            break;
          self->signaling = NATTER_PEER_SIGNALING_STABLE;
          maybe_renegotiate (self);
        }
      break;

    case NATTER_PEER_EVENT_REMOTE_SET:
      if (self->signaling == NATTER_PEER_SIGNALING_APPLYING_OFFER)
        {
          emit_with_promise (self, "create-answer", NULL, NATTER_PEER_EVENT_ANSWER_CREATED);
        }
      else if (self->signaling == NATTER_PEER_SIGNALING_APPLYING_ANSWER)
        {
          self->signaling = NATTER_PEER_SIGNALING_STABLE;
          _natter_peer_log_step (self, "the answer is in");
          maybe_renegotiate (self);
        }
      break;

    case NATTER_PEER_EVENT_ICE_CANDIDATE:
      if (event->text != NULL && event->text[0] != '\0')
        send_candidate (self, event->number, event->text);
      break;

    case NATTER_PEER_EVENT_NEGOTIATION_NEEDED:
      /* webrtcbin 1.22 asks when nothing changed (after a renegotiation
       * that added media) and stays silent for a pad added to a running
       * connection: what needs an exchange asks for one itself */
      break;

    default:
      g_assert_not_reached ();
    }
}

/* A renegotiation names the certificate of the running DTLS session, in
 * every media section, and nothing else */
static gboolean
fingerprints_in_use (NatterPeer *self,
                     const char *fingerprints)
{
  g_autofree char *local_pem = NULL;
  g_autofree char *remote_pem = NULL;
  g_auto(GStrv) lines = NULL;

  if (fingerprints == NULL ||
      !_natter_peer_dtls_certificates (self->webrtc, &local_pem, &remote_pem))
    return FALSE;

  lines = g_strsplit (fingerprints, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    if (!_natter_peer_certificate_matches (remote_pem, lines[i]))
      return FALSE;

  return TRUE;
}

/* Polite side of a collision on a running connection: our offer, not yet
 * applied, goes; it is made anew once this exchange is over */
static void
drop_local_offer (NatterPeer *self)
{
  g_clear_pointer (&self->pending_offer, gst_webrtc_session_description_free);
  self->signaling = NATTER_PEER_SIGNALING_STABLE;
  self->renegotiate = TRUE;
}

void
_natter_peer_handle_description (NatterPeer *self,
                                 JsonObject *payload,
                                 gboolean    is_offer)
{
  const char *sdp_text = _natter_peer_get_string_member (payload, "sdp");
  const char *session = _natter_peer_get_string_member (payload, "session");
  const char *signature = _natter_peer_get_string_member (payload, NATTER_PEER_SDP_SIGNATURE);
  const char *reason = NULL;
  g_autoptr(GstSDPMessage) sdp = NULL;
  g_autofree char *fingerprints = NULL;
  GstWebRTCSessionDescription *description;
  gboolean offering;
  gboolean same_session;

  if (sdp_text == NULL || !_natter_peer_session_id_is_valid (session))
    {
      g_debug ("Ignoring a malformed description");
      return;
    }

  offering = self->signaling == NATTER_PEER_SIGNALING_CREATING_OFFER ||
             self->signaling == NATTER_PEER_SIGNALING_HAVE_LOCAL_OFFER;
  same_session = self->link != NULL && g_strcmp0 (session, self->session_id) == 0;

  if (is_offer && same_session)
    {
      if (g_strcmp0 (sdp_text, self->last_remote_offer) == 0 || !self->chat_open)
        return; /* a repeated offer */

      if (offering && !natter_peer_get_polite (self))
        {
          g_debug ("Ignoring a colliding renegotiation offer");
          return;
        }
      if (!offering && self->signaling != NATTER_PEER_SIGNALING_STABLE)
        {
          /* Their next offer overtook the end of the exchange before it
           * (our answer's set-remote, say): taken once that is over */
          g_clear_pointer (&self->deferred_offer, json_object_unref);
          self->deferred_offer = json_object_ref (payload);
          return;
        }
    }
  else if (is_offer)
    {
      if (offering && !self->chat_open && !natter_peer_get_polite (self))
        {
          /* Glare, and we are the impolite side: the other side drops its
           * offer and answers ours. */
          g_debug ("Ignoring a colliding offer");
          return;
        }
    }
  else if (self->signaling != NATTER_PEER_SIGNALING_HAVE_LOCAL_OFFER || !same_session)
    {
      g_debug ("Ignoring an answer to no pending offer");
      return;
    }

  if (gst_sdp_message_new_from_text (sdp_text, &sdp) != GST_SDP_OK)
    {
      g_debug ("Ignoring an unparsable description");
      return;
    }

  if (!_natter_peer_verify_sdp (self->remote_key, self->remote_id,
                                natter_identity_get_user_id (self->identity), session, sdp_text,
                                signature, &reason))
    {
      /* Refuse: the offering side hears it at once instead of timing out */
      if (is_offer && !same_session)
        _natter_peer_send_bye (self, session, NULL);
      _natter_peer_trust_failure (self, reason);
      return;
    }

  fingerprints = _natter_peer_sdp_fingerprints (sdp_text);
  if (self->chat_open && !fingerprints_in_use (self, fingerprints))
    {
      /* The certificate of a running connection cannot change */
      _natter_peer_trust_failure (self, "A renegotiation changed the DTLS fingerprint");
      return;
    }

  if (is_offer && !same_session)
    {
      /* A new connection, answered on a fresh webrtcbin. This also drops our
       * own pending offer when we are the polite side of a collision. */
      if (!_natter_peer_attempt_start (self, session))
        return;
    }
  else if (is_offer && offering)
    {
      drop_local_offer (self);
    }
  else if (!is_offer && self->pending_offer != NULL)
    {
      /* Ours first, then their answer to it */
      set_local (self, self->pending_offer);
      g_clear_pointer (&self->pending_offer, gst_webrtc_session_description_free);
    }

  g_free (self->remote_fingerprints);
  self->remote_fingerprints = g_steal_pointer (&fingerprints);
  g_strfreev (self->remote_mids);
  self->remote_mids = sdp_media_mids (sdp);
  if (is_offer)
    {
      g_free (self->last_remote_offer);
      self->last_remote_offer = g_strdup (sdp_text);
    }

  self->signaling = is_offer ? NATTER_PEER_SIGNALING_APPLYING_OFFER
                             : NATTER_PEER_SIGNALING_APPLYING_ANSWER;
  description = gst_webrtc_session_description_new (is_offer ? GST_WEBRTC_SDP_TYPE_OFFER
                                                             : GST_WEBRTC_SDP_TYPE_ANSWER,
                                                    g_steal_pointer (&sdp));
  emit_with_promise (self, "set-remote-description", description, NATTER_PEER_EVENT_REMOTE_SET);
  gst_webrtc_session_description_free (description);

  /* Candidates that came before the description they belong to */
  for (guint i = 0; i < self->pending_candidates->len; i++)
    add_remote_candidate (self, g_ptr_array_index (self->pending_candidates, i));
  g_ptr_array_set_size (self->pending_candidates, 0);
}

void
_natter_peer_handle_candidate (NatterPeer *self,
                               JsonObject *payload)
{
  const char *session = _natter_peer_get_string_member (payload, "session");

  if (self->link == NULL || session == NULL || g_strcmp0 (session, self->session_id) != 0)
    return; /* a stale candidate of an abandoned attempt */

  if (self->remote_mids == NULL)
    {
      if (self->pending_candidates->len < PENDING_CANDIDATES_MAX)
        g_ptr_array_add (self->pending_candidates, json_object_ref (payload));
      return;
    }

  /* webrtcbin applies it after the description that is on its way in */
  add_remote_candidate (self, payload);
}
