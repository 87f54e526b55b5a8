/* test-peer-trust.c: the texts a NatterPeer signs, against test vectors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The vectors are those of docs/peer.md; the signatures were checked with an
 * independent Ed25519 implementation.
 */
#define G_LOG_DOMAIN "test-peer-trust"

#include "config.h"

#include <string.h>

#include "natter-envelope.h"
#include "natter-peer-trust-private.h"
#include "natter-signature.h"

#define ALICE_ID   "rkeohxlubhyzl7ks3mwtzos5olfgocn7dwkbeg7toseadnapn5odfwmo"
#define BOB_ID     "qe4xodvipulv6vvdkrtmgtd6ztfy3curwtxdpis56yhvxd6jwokcwrq4"
#define SESSION    "9f2c4e1a7b3d5e60"
#define ALICE_FP   "sha-256 DA:27:15:AD:8F:0C:09:4E:7E:B8:85:08:80:D2:DF:1B:98:C1:DA:EA:6F:ED:" \
                   "24:03:0D:E4:3D:39:E1:1A:B3:ED"
#define BOB_FP     "sha-256 3C:4F:1A:00:9B:77:E2:51:C8:0D:6A:9F:12:B4:E7:38:5D:AA:01:C6:F3:29:" \
                   "84:7E:0B:D5:62:1F:9C:A8:44:E0"

static const char sdp[] =
  "v=0\r\n"
  "o=- 1 0 IN IP4 0.0.0.0\r\n"
  "s=-\r\n"
  "t=0 0\r\n"
  "a=group:BUNDLE 0\r\n"
  "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
  "c=IN IP4 0.0.0.0\r\n"
  "a=ice-ufrag:Xq3f\r\n"
  "a=ice-pwd:7Kd0dkW3Ey5GZnw2Tpa1bQcs\r\n"
  "a=fingerprint:" ALICE_FP "\r\n"
  "a=setup:actpass\r\n"
  "a=mid:0\r\n"
  "a=sctp-port:5000\r\n";

static const char sdp_message[] =
  "natter-sdp-v2\n"
  ALICE_ID "\n"
  BOB_ID "\n"
  SESSION "\n"
  "a=ice-ufrag:Xq3f\n"
  "a=ice-pwd:7Kd0dkW3Ey5GZnw2Tpa1bQcs\n"
  "a=fingerprint:" ALICE_FP;

static const char sdp_signature[] =
  "tH3tUsiqIVkXy4Chct05WWZnhBH7nueYSQofIHWnJnd7HO+cTgBr0gb89Ijh5e2kCpv89VqteW2X1SgE5N5FBA==";

static const char binding_message[] =
  "natter-binding-v1\n"
  ALICE_ID "\n"
  BOB_ID "\n"
  SESSION "\n"
  ALICE_FP "\n"
  BOB_FP;

static const char binding_signature[] =
  "xESsxoPbMs5jPEJD7r9W0ZB4QG62sYaRJE1j6YtzNS2tdFF9kfglHjIyrMGjk5NBsSider/JOdaJJQC5yG5sBg==";

/* A self-signed certificate; its fingerprints come from another tool */
static const char certificate[] =
  "-----BEGIN CERTIFICATE-----\n"
  "MIIBgzCCASmgAwIBAgIUZLT9g7/3uUogfaey/y7uI7K0cj0wCgYIKoZIzj0EAwIw\n"
  "FjEUMBIGA1UEAwwLbmF0dGVyLXRlc3QwIBcNMjYxMjAxMTU1MzEyWhgPMjEyNjEx\n"
  "MDcxNTUzMTJaMBYxFDASBgNVBAMMC25hdHRlci10ZXN0MFkwEwYHKoZIzj0CAQYI\n"
  "KoZIzj0DAQcDQgAEkNhni2Ks2jH4sTF+8Fj8gA+aqSyWVeP6KN7Cu3omP/3oFoYU\n"
  "/xDWAwXu1kEJFbD/WvjYy1B8wsSWB2ROEPfH0qNTMFEwHQYDVR0OBBYEFMr646ne\n"
  "Z8G0CvMC/a+orO9FSziaMB8GA1UdIwQYMBaAFMr646neZ8G0CvMC/a+orO9FSzia\n"
  "MA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSAAwRQIhAOfXUBk0QEDbmaM5\n"
  "oHC/k0srT/OILxjXS6Ca3TUKYZN+AiAdkbzvA6GKbvI7zvfd66y9r9THZmzfux6S\n"
  "ld7LQTE4mQ==\n"
  "-----END CERTIFICATE-----\n";

static NatterIdentity *
identity_from_byte (guint8 byte)
{
  guint8 seed[32];

  memset (seed, byte, sizeof seed);
  return natter_identity_new_from_seed (seed);
}

static void
test_trust_sdp_message (void)
{
  g_autofree char *message = _natter_peer_sdp_message (ALICE_ID, BOB_ID, SESSION, sdp);
  g_autofree char *no_ice = NULL;
  g_autofree char *no_fingerprint = NULL;
  g_autofree char *fingerprints = _natter_peer_sdp_fingerprints (sdp);
  g_autoptr(GString) stripped = NULL;

  g_assert_cmpstr (message, ==, sdp_message);
  g_assert_cmpstr (fingerprints, ==, ALICE_FP);

  /* Neither a description without ICE credentials nor one without a
   * fingerprint can be signed */
  stripped = g_string_new (sdp);
  g_string_replace (stripped, "a=ice-pwd:7Kd0dkW3Ey5GZnw2Tpa1bQcs\r\n", "", 1);
  no_ice = _natter_peer_sdp_message (ALICE_ID, BOB_ID, SESSION, stripped->str);
  g_assert_null (no_ice);
  g_string_assign (stripped, sdp);
  g_string_replace (stripped, "a=fingerprint:", "a=x-fingerprint:", 1);
  no_fingerprint = _natter_peer_sdp_message (ALICE_ID, BOB_ID, SESSION, stripped->str);
  g_assert_null (no_fingerprint);
}

static void
test_trust_sdp_signature (void)
{
  g_autoptr(NatterIdentity) alice = identity_from_byte (0x01);
  g_autoptr(NatterIdentity) bob = identity_from_byte (0x02);
  g_autofree char *signature = NULL;
  g_autoptr(GString) other = NULL;
  const char *reason = NULL;

  g_assert_cmpstr (natter_identity_get_user_id (alice), ==, ALICE_ID);
  g_assert_cmpstr (natter_identity_get_user_id (bob), ==, BOB_ID);

  signature = _natter_peer_sign_sdp (alice, BOB_ID, SESSION, sdp);
  g_assert_cmpstr (signature, ==, sdp_signature);

  g_assert_true (_natter_peer_verify_sdp (natter_identity_get_public_key (alice), ALICE_ID,
                                          BOB_ID, SESSION, sdp, signature, &reason));

  /* The same description for another session, another receiver, from
   * another sender, or with other ICE credentials */
  g_assert_false (_natter_peer_verify_sdp (natter_identity_get_public_key (alice), ALICE_ID,
                                           BOB_ID, "0000000000000000", sdp, signature, &reason));
  g_assert_cmpstr (reason, ==, "The description's signature does not match the contact's key");
  g_assert_false (_natter_peer_verify_sdp (natter_identity_get_public_key (alice), ALICE_ID,
                                           ALICE_ID, SESSION, sdp, signature, &reason));
  g_assert_false (_natter_peer_verify_sdp (natter_identity_get_public_key (bob), BOB_ID,
                                           BOB_ID, SESSION, sdp, signature, &reason));
  other = g_string_new (sdp);
  g_string_replace (other, "a=ice-ufrag:Xq3f", "a=ice-ufrag:Xq3g", 1);
  g_assert_false (_natter_peer_verify_sdp (natter_identity_get_public_key (alice), ALICE_ID,
                                           BOB_ID, SESSION, other->str, signature, &reason));
  g_assert_false (_natter_peer_verify_sdp (natter_identity_get_public_key (alice), ALICE_ID,
                                           BOB_ID, SESSION, sdp, NULL, &reason));
  g_assert_cmpstr (reason, ==, "The description is not signed");
}

static void
test_trust_certificate (void)
{
  g_autofree char *sha256 = _natter_peer_certificate_fingerprint (certificate, G_CHECKSUM_SHA256);

  g_assert_cmpstr (sha256, ==,
                   "DA:27:15:AD:8F:0C:09:4E:7E:B8:85:08:80:D2:DF:1B:98:C1:DA:EA:6F:ED:24:03:"
                   "0D:E4:3D:39:E1:1A:B3:ED");
  g_assert_null (_natter_peer_certificate_fingerprint ("not a certificate", G_CHECKSUM_SHA256));

  g_assert_true (_natter_peer_certificate_matches (certificate, ALICE_FP));
  /* Hex in any case, any of the lines, SHA-384 too */
  g_assert_true (_natter_peer_certificate_matches (certificate,
                                                   "sha-256 3c:4f\n"
                                                   "SHA-384 10:ed:0a:0b:a4:73:e7:24:a5:23:a5:c4:"
                                                   "18:47:c0:83:cc:cc:97:26:05:ae:e3:ba:f9:f9:e3:"
                                                   "99:52:ae:a3:0f:86:61:99:1c:d6:c0:27:9b:55:a0:"
                                                   "bc:72:ab:85:10:76"));
  g_assert_false (_natter_peer_certificate_matches (certificate, BOB_FP));
  g_assert_false (_natter_peer_certificate_matches (certificate, "md5 00:11"));
  g_assert_false (_natter_peer_certificate_matches (NULL, ALICE_FP));
}

static void
test_trust_binding_message (void)
{
  g_autoptr(NatterIdentity) alice = identity_from_byte (0x01);
  g_autofree char *message = _natter_peer_binding_message (ALICE_ID, BOB_ID, SESSION, ALICE_FP,
                                                           BOB_FP);
  g_autofree char *statement = _natter_peer_binding_new (alice, BOB_ID, SESSION, ALICE_FP, BOB_FP);
  g_autoptr(JsonObject) envelope = NULL;
  g_autoptr(GError) error = NULL;
  NatterEnvelopeType type;

  g_assert_cmpstr (message, ==, binding_message);

  envelope = natter_envelope_parse (statement, strlen (statement), &type, &error);
  g_assert_no_error (error);
  g_assert_cmpint (type, ==, NATTER_ENVELOPE_BINDING);
  g_assert_cmpstr (json_object_get_string_member (envelope, "sender"), ==, ALICE_ID);
  g_assert_cmpstr (json_object_get_string_member (envelope, "receiver"), ==, BOB_ID);
  g_assert_cmpstr (json_object_get_string_member (envelope, "session"), ==, SESSION);
  g_assert_cmpstr (json_object_get_string_member (envelope, "sender_fingerprint"), ==, ALICE_FP);
  g_assert_cmpstr (json_object_get_string_member (envelope, "receiver_fingerprint"), ==, BOB_FP);
  g_assert_cmpstr (json_object_get_string_member (envelope, "signature"), ==, binding_signature);
}

/* Bob checks a statement as if he had received it on a connection to the
 * contact whose key is @key */
static gboolean
bob_accepts (const char    *statement,
             NatterIdentity *contact,
             const char    *session,
             const char    *alice_fp,
             const char    *bob_fp,
             const char   **reason)
{
  return _natter_peer_binding_verify (statement, natter_identity_get_public_key (contact),
                                      natter_identity_get_user_id (contact), BOB_ID, session,
                                      alice_fp, bob_fp, reason);
}

static char *
with_member (const char *statement,
             const char *name,
             const char *value)
{
  g_autoptr(JsonNode) node = json_from_string (statement, NULL);

  json_object_set_string_member (json_node_get_object (node), name, value);
  return json_to_string (node, FALSE);
}

static void
test_trust_binding_verify (void)
{
  g_autoptr(NatterIdentity) alice = identity_from_byte (0x01);
  g_autoptr(NatterIdentity) mallory = identity_from_byte (0x03);
  const char *mallory_id = natter_identity_get_user_id (mallory);
  g_autofree char *statement = _natter_peer_binding_new (alice, BOB_ID, SESSION, ALICE_FP, BOB_FP);
  g_autofree char *for_mallory = _natter_peer_binding_new (alice, mallory_id, SESSION, ALICE_FP,
                                                           BOB_FP);
  g_autofree char *by_mallory = _natter_peer_binding_new (mallory, BOB_ID, SESSION, ALICE_FP,
                                                          BOB_FP);
  g_autofree char *relabelled = with_member (for_mallory, "receiver", BOB_ID);
  g_autofree char *forged = with_member (by_mallory, "sender", ALICE_ID);
  const char *reason = NULL;

  g_assert_true (bob_accepts (statement, alice, SESSION, ALICE_FP, BOB_FP, &reason));

  /* Another session, other certificates than this DTLS session's */
  g_assert_false (bob_accepts (statement, alice, "0000000000000000", ALICE_FP, BOB_FP, &reason));
  g_assert_cmpstr (reason, ==, "The binding statement is for another session");
  g_assert_false (bob_accepts (statement, alice, SESSION, BOB_FP, BOB_FP, &reason));
  g_assert_cmpstr (reason, ==,
                   "The binding statement names other DTLS certificates than this connection's");
  g_assert_false (bob_accepts (statement, alice, SESSION, ALICE_FP, ALICE_FP, &reason));

  /* Meant for another receiver: refused as it is, and with the member
   * changed the signature no longer fits */
  g_assert_false (bob_accepts (for_mallory, alice, SESSION, ALICE_FP, BOB_FP, &reason));
  g_assert_cmpstr (reason, ==, "The binding statement is meant for someone else");
  g_assert_false (bob_accepts (relabelled, alice, SESSION, ALICE_FP, BOB_FP, &reason));
  g_assert_cmpstr (reason, ==, "The binding statement's signature does not match the contact's key");

  /* The splice: Bob expects Alice and gets Mallory's statement, or Mallory's
   * with Alice's name on it */
  g_assert_false (bob_accepts (by_mallory, alice, SESSION, ALICE_FP, BOB_FP, &reason));
  g_assert_cmpstr (reason, ==, "The binding statement is from someone else");
  g_assert_false (bob_accepts (forged, alice, SESSION, ALICE_FP, BOB_FP, &reason));
  g_assert_cmpstr (reason, ==, "The binding statement's signature does not match the contact's key");
  g_assert_true (bob_accepts (by_mallory, mallory, SESSION, ALICE_FP, BOB_FP, &reason));

  /* Anything else first on the connection */
  g_assert_false (bob_accepts ("{\"type\":\"message\",\"id\":\"1\",\"ts\":1,\"body\":\"hi\"}",
                               alice, SESSION, ALICE_FP, BOB_FP, &reason));
  g_assert_cmpstr (reason, ==, "The first message on the connection is not a binding statement");
  g_assert_false (bob_accepts ("", alice, SESSION, ALICE_FP, BOB_FP, &reason));
  g_assert_false (bob_accepts ("{\"type\":\"binding\"}", alice, SESSION, ALICE_FP, BOB_FP, &reason));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/Natter/Core/PeerTrust/sdp-message", test_trust_sdp_message);
  g_test_add_func ("/Natter/Core/PeerTrust/sdp-signature", test_trust_sdp_signature);
  g_test_add_func ("/Natter/Core/PeerTrust/certificate", test_trust_certificate);
  g_test_add_func ("/Natter/Core/PeerTrust/binding-message", test_trust_binding_message);
  g_test_add_func ("/Natter/Core/PeerTrust/binding-verify", test_trust_binding_verify);

  return g_test_run ();
}
