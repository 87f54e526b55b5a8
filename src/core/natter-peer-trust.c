/* natter-peer-trust.c: what a NatterPeer signs and checks
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Two proofs tie a connection to the contact's identity key (docs/peer.md,
 * "Trust"):
 *
 * - The SDP signature, on every offer and answer: the sender's key signs
 *   sender, receiver, session, and the SDP's DTLS fingerprints and ICE
 *   credentials. It refuses a tampered description early.
 * - The binding statement, the first message on the chat channel once DTLS
 *   is up: the sender's key signs sender, receiver, session, and the SHA-256
 *   fingerprints of both DTLS certificates as the sender saw them in this
 *   very DTLS session. GStreamer uses one certificate per process, so a
 *   signed SDP alone could be replayed into another connection; the binding
 *   cannot, because both ends check it against the certificates of the
 *   session they are in.
 */
#define G_LOG_DOMAIN "natter-peer"

#include "config.h"

#include <string.h>

#define GST_USE_UNSTABLE_API
#include <gst/webrtc/webrtc.h>

#include "natter-envelope.h"
#include "natter-peer-trust-private.h"
#include "natter-signature.h"

/* The attribute lines of an SDP that its signature covers */
static gboolean
is_signed_sdp_line (const char *line)
{
  return g_str_has_prefix (line, "a=fingerprint:") ||
         g_str_has_prefix (line, "a=ice-ufrag:") ||
         g_str_has_prefix (line, "a=ice-pwd:");
}

/**
 * _natter_peer_sdp_message:
 * @sender_id: who signs
 * @receiver_id: for whom
 * @session: the `session` of the payload
 * @sdp: the offer or answer
 *
 * Returns: (nullable): the text that an SDP signature covers:
 * "natter-sdp-v2\n" sender "\n" receiver "\n" session "\n", then every
 * a=fingerprint:, a=ice-ufrag: and a=ice-pwd: line of @sdp in order, whole
 * but without trailing white space, joined by "\n"; %NULL if @sdp lacks a
 * fingerprint, an ICE user name fragment or an ICE password.
 */
char *
_natter_peer_sdp_message (const char *sender_id,
                          const char *receiver_id,
                          const char *session,
                          const char *sdp)
{
  g_auto(GStrv) lines = NULL;
  g_autoptr(GString) text = NULL;
  gboolean have_fingerprint = FALSE;
  gboolean have_ufrag = FALSE;
  gboolean have_pwd = FALSE;

  g_return_val_if_fail (sender_id != NULL, NULL);
  g_return_val_if_fail (receiver_id != NULL, NULL);
  g_return_val_if_fail (session != NULL, NULL);
  g_return_val_if_fail (sdp != NULL, NULL);

  text = g_string_new (NATTER_PEER_SDP_CONTEXT "\n");
  g_string_append_printf (text, "%s\n%s\n%s", sender_id, receiver_id, session);

  lines = g_strsplit (sdp, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      if (!is_signed_sdp_line (lines[i]))
        continue;

      have_fingerprint |= g_str_has_prefix (lines[i], "a=fingerprint:");
      have_ufrag |= g_str_has_prefix (lines[i], "a=ice-ufrag:");
      have_pwd |= g_str_has_prefix (lines[i], "a=ice-pwd:");
      g_string_append_c (text, '\n');
      g_string_append (text, g_strchomp (lines[i]));
    }

  if (!have_fingerprint || !have_ufrag || !have_pwd)
    return NULL;

  return g_string_free (g_steal_pointer (&text), FALSE);
}

/**
 * _natter_peer_sdp_fingerprints:
 * @sdp: an offer or answer
 *
 * Returns: (nullable): the values of all a=fingerprint lines ("sha-256
 * AB:…"), in order, joined by "\n"; %NULL if there are none
 */
char *
_natter_peer_sdp_fingerprints (const char *sdp)
{
  g_auto(GStrv) lines = g_strsplit (sdp, "\n", -1);
  GString *values = NULL;

  for (guint i = 0; lines[i] != NULL; i++)
    {
      if (!g_str_has_prefix (lines[i], "a=fingerprint:"))
        continue;

      if (values == NULL)
        values = g_string_new (NULL);
      else
        g_string_append_c (values, '\n');
      g_string_append (values, g_strstrip (lines[i] + strlen ("a=fingerprint:")));
    }

  return values != NULL ? g_string_free (values, FALSE) : NULL;
}

/**
 * _natter_peer_sign_sdp:
 *
 * Returns: (nullable): the `sdp_sig` of an offer or answer; %NULL if @sdp
 * cannot be signed (no fingerprint or ICE credentials)
 */
char *
_natter_peer_sign_sdp (NatterIdentity *identity,
                       const char     *receiver_id,
                       const char     *session,
                       const char     *sdp)
{
  g_autofree char *message = NULL;

  message = _natter_peer_sdp_message (natter_identity_get_user_id (identity), receiver_id,
                                      session, sdp);
  if (message == NULL)
    return NULL;

  return natter_identity_sign (identity, message, strlen (message));
}

/**
 * _natter_peer_verify_sdp:
 * @remote_key: the key of the contact the peer is for
 * @reason: (out): why not, in English, for the logs
 *
 * Returns: whether @signature is the contact's signature over @sdp, sent
 * from @remote_id to @local_id in @session
 */
gboolean
_natter_peer_verify_sdp (const guint8  *remote_key,
                         const char    *remote_id,
                         const char    *local_id,
                         const char    *session,
                         const char    *sdp,
                         const char    *signature,
                         const char   **reason)
{
  g_autofree char *message = NULL;

  message = _natter_peer_sdp_message (remote_id, local_id, session, sdp);
  if (message == NULL)
    {
      *reason = "The description has no DTLS fingerprint or ICE credentials";
      return FALSE;
    }

  if (signature == NULL)
    {
      *reason = "The description is not signed";
      return FALSE;
    }

  if (!natter_signature_verify (remote_key, message, strlen (message), signature))
    {
      *reason = "The description's signature does not match the contact's key";
      return FALSE;
    }

  return TRUE;
}

/**
 * _natter_peer_certificate_fingerprint:
 * @pem: (nullable): a certificate in PEM form
 * @type: SHA-256, SHA-384 or SHA-512
 *
 * Returns: (nullable): the digest of its DER form as upper-case hex pairs
 * joined by ':', without the algorithm's name
 */
char *
_natter_peer_certificate_fingerprint (const char    *pem,
                                      GChecksumType  type)
{
  const char *begin = pem != NULL ? strstr (pem, "-----BEGIN CERTIFICATE-----") : NULL;
  const char *end;
  g_autofree char *body = NULL;
  g_autofree guint8 *der = NULL;
  g_autoptr(GChecksum) checksum = NULL;
  guint8 digest[64];
  gsize der_length = 0;
  gsize digest_length = sizeof digest;
  GString *text;

  if (begin == NULL)
    return NULL;
  begin += strlen ("-----BEGIN CERTIFICATE-----");
  end = strstr (begin, "-----END CERTIFICATE-----");
  if (end == NULL)
    return NULL;

  body = g_strndup (begin, end - begin);
  der = g_base64_decode (g_strstrip (body), &der_length);
  if (der_length == 0)
    return NULL;

  checksum = g_checksum_new (type);
  g_checksum_update (checksum, der, der_length);
  g_checksum_get_digest (checksum, digest, &digest_length);

  text = g_string_new (NULL);
  for (gsize i = 0; i < digest_length; i++)
    g_string_append_printf (text, i == 0 ? "%02X" : ":%02X", digest[i]);

  return g_string_free (text, FALSE);
}

/**
 * _natter_peer_certificate_matches:
 * @pem: (nullable): the certificate the other side presented
 * @fingerprints: (nullable): the signed a=fingerprint values, one a line
 *
 * Returns: whether @pem has one of @fingerprints (SHA-256, -384 or -512,
 * hex compared without regard to case)
 */
gboolean
_natter_peer_certificate_matches (const char *pem,
                                  const char *fingerprints)
{
  g_auto(GStrv) lines = NULL;

  if (pem == NULL || fingerprints == NULL)
    return FALSE;

  lines = g_strsplit (fingerprints, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autofree char *algorithm = NULL;
      g_autofree char *actual = NULL;
      const char *value = strchr (lines[i], ' ');
      GChecksumType type;

      if (value == NULL)
        continue;
      algorithm = g_ascii_strdown (lines[i], value - lines[i]);
      if (g_str_equal (algorithm, "sha-256"))
        type = G_CHECKSUM_SHA256;
      else if (g_str_equal (algorithm, "sha-384"))
        type = G_CHECKSUM_SHA384;
      else if (g_str_equal (algorithm, "sha-512"))
        type = G_CHECKSUM_SHA512;
      else
        continue;

      actual = _natter_peer_certificate_fingerprint (pem, type);
      if (actual != NULL && g_ascii_strcasecmp (actual, g_strstrip ((char *) value + 1)) == 0)
        return TRUE;
    }

  return FALSE;
}

/**
 * _natter_peer_dtls_certificates:
 * @webrtc: a webrtcbin whose data channel transport is up
 * @local_pem: (out): the certificate this side presented
 * @remote_pem: (out): the certificate the other side presented
 *
 * Reads both from the DTLS session that carries the data channels: what
 * was actually used, not what an SDP claimed.
 *
 * Returns: whether both are known
 */
gboolean
_natter_peer_dtls_certificates (GstElement  *webrtc,
                                char       **local_pem,
                                char       **remote_pem)
{
  g_autoptr(GObject) sctp = NULL;
  g_autoptr(GObject) dtls = NULL;

  *local_pem = NULL;
  *remote_pem = NULL;

  g_object_get (webrtc, "sctp-transport", &sctp, NULL);
  if (sctp != NULL)
    g_object_get (sctp, "transport", &dtls, NULL);
  if (dtls != NULL)
    g_object_get (dtls, "certificate", local_pem, "remote-certificate", remote_pem, NULL);

  return *local_pem != NULL && *remote_pem != NULL;
}

/**
 * _natter_peer_binding_message:
 * @sender_fingerprint: "sha-256 " and the SHA-256 of the sender's DTLS
 *   certificate in upper-case hex pairs joined by ':'
 * @receiver_fingerprint: the same of the certificate the sender saw from
 *   the receiver
 *
 * Returns: the text a binding statement signs: "natter-binding-v1\n"
 * sender "\n" receiver "\n" session "\n" sender fingerprint "\n" receiver
 * fingerprint
 */
char *
_natter_peer_binding_message (const char *sender_id,
                              const char *receiver_id,
                              const char *session,
                              const char *sender_fingerprint,
                              const char *receiver_fingerprint)
{
  g_return_val_if_fail (sender_id != NULL, NULL);
  g_return_val_if_fail (receiver_id != NULL, NULL);
  g_return_val_if_fail (session != NULL, NULL);
  g_return_val_if_fail (sender_fingerprint != NULL, NULL);
  g_return_val_if_fail (receiver_fingerprint != NULL, NULL);

  return g_strjoin ("\n", NATTER_PEER_BINDING_CONTEXT, sender_id, receiver_id, session,
                    sender_fingerprint, receiver_fingerprint, NULL);
}

/**
 * _natter_peer_binding_new:
 * @identity: who states it
 * @receiver_id: for whom
 * @session: the session of the connection
 * @local_fingerprint: our certificate's, as in _natter_peer_binding_message()
 * @remote_fingerprint: the other side's certificate's, as we saw it
 *
 * Returns: (transfer full): the binding envelope, as JSON text
 */
char *
_natter_peer_binding_new (NatterIdentity *identity,
                          const char     *receiver_id,
                          const char     *session,
                          const char     *local_fingerprint,
                          const char     *remote_fingerprint)
{
  g_autoptr(JsonObject) envelope = natter_envelope_new (NATTER_ENVELOPE_BINDING);
  const char *sender_id = natter_identity_get_user_id (identity);
  g_autofree char *message = NULL;
  g_autofree char *signature = NULL;

  message = _natter_peer_binding_message (sender_id, receiver_id, session, local_fingerprint,
                                          remote_fingerprint);
  signature = natter_identity_sign (identity, message, strlen (message));

  json_object_set_string_member (envelope, "sender", sender_id);
  json_object_set_string_member (envelope, "receiver", receiver_id);
  json_object_set_string_member (envelope, "session", session);
  json_object_set_string_member (envelope, "sender_fingerprint", local_fingerprint);
  json_object_set_string_member (envelope, "receiver_fingerprint", remote_fingerprint);
  json_object_set_string_member (envelope, "signature", signature);

  return natter_envelope_to_string (envelope, NULL);
}

/**
 * _natter_peer_binding_verify:
 * @text: the first message the other side sent on the chat channel
 * @remote_key: the key of the contact this peer is for
 * @remote_id: that contact's user ID
 * @local_id: our user ID
 * @session: the session of this connection
 * @remote_fingerprint: the fingerprint of the certificate the other side
 *   presented in this DTLS session
 * @local_fingerprint: the fingerprint of ours
 * @reason: (out): why not, in English, for the logs
 *
 * The statement must be a binding envelope that names exactly these, and
 * its signature is checked over the text built from our own values, not
 * from the members it carries.
 *
 * Returns: whether the other side proved to be @remote_id, talking to us,
 * in this session, over this DTLS session
 */
gboolean
_natter_peer_binding_verify (const char    *text,
                             const guint8  *remote_key,
                             const char    *remote_id,
                             const char    *local_id,
                             const char    *session,
                             const char    *remote_fingerprint,
                             const char    *local_fingerprint,
                             const char   **reason)
{
  g_autoptr(JsonObject) envelope = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *message = NULL;
  NatterEnvelopeType type;

  g_return_val_if_fail (text != NULL, FALSE);
  g_return_val_if_fail (reason != NULL, FALSE);

  envelope = natter_envelope_parse (text, strlen (text), &type, &error);
  if (envelope == NULL || type != NATTER_ENVELOPE_BINDING)
    {
      *reason = "The first message on the connection is not a binding statement";
      return FALSE;
    }

  if (g_strcmp0 (json_object_get_string_member (envelope, "sender"), remote_id) != 0)
    {
      *reason = "The binding statement is from someone else";
      return FALSE;
    }

  if (g_strcmp0 (json_object_get_string_member (envelope, "receiver"), local_id) != 0)
    {
      *reason = "The binding statement is meant for someone else";
      return FALSE;
    }

  if (g_strcmp0 (json_object_get_string_member (envelope, "session"), session) != 0)
    {
      *reason = "The binding statement is for another session";
      return FALSE;
    }

  if (g_strcmp0 (json_object_get_string_member (envelope, "sender_fingerprint"),
                 remote_fingerprint) != 0 ||
      g_strcmp0 (json_object_get_string_member (envelope, "receiver_fingerprint"),
                 local_fingerprint) != 0)
    {
      *reason = "The binding statement names other DTLS certificates than this connection's";
      return FALSE;
    }

  message = _natter_peer_binding_message (remote_id, local_id, session, remote_fingerprint,
                                          local_fingerprint);
  if (!natter_signature_verify (remote_key, message, strlen (message),
                                json_object_get_string_member (envelope, "signature")))
    {
      *reason = "The binding statement's signature does not match the contact's key";
      return FALSE;
    }

  return TRUE;
}
