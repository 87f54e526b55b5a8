/* test-peer.c: two real NatterPeers (webrtcbin) talking over 127.0.0.1
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The two peers live in this process. Each one's "signal-out" payloads are
 * serialized to JSON text, optionally changed by the test (to play a hostile
 * signaling server), and handed to the other one's handle_signal() from an
 * idle callback, as the signaling client would.
 */
#define G_LOG_DOMAIN "test-peer"

#include "config.h"

#include <signal.h>
#include <string.h>
#include <sys/prctl.h>

#include <glib/gstdio.h>

#include <gst/sctp/sctpsendmeta.h>

#include "natter-peer.h"
#include "natter-peer-private.h"
#define GST_USE_UNSTABLE_API
#include <gst/webrtc/webrtc.h>
#include "natter-peer-trust-private.h"
#include "natter-signature.h"
#include "natter-turn.h"

#define WAIT_LIMIT_S 60

#include "natter-test-wait.h"

typedef struct _Side Side;

/* Return FALSE to drop the payload */
typedef gboolean (*TamperFunc) (Side       *from,
                                JsonObject *payload);

struct _Side
{
  NatterPeer     *peer;
  NatterIdentity *identity;
  Side           *other;
  TamperFunc      tamper;
  gboolean        deliver;
  guint           copies;
  guint           chat_opened;
  guint           trust_failures;
  guint           offers_sent;
  GPtrArray      *messages;
  gboolean        take_channels;
  GPtrArray      *channels;       /* taken through channel-opened */
  gpointer        receive_into;   /* a Received for the next channel taken */
  gint64          connect_time;
  gint64          open_time;
};

typedef struct
{
  Side a;
  Side b;
} Pair;

typedef struct
{
  Side *to;
  char *json;
} Delivery;

/* Helpers */


static void
run_for (guint ms)
{
  gint64 end = g_get_monotonic_time () + ms * 1000;
  guint wake_id = g_timeout_add (10, natter_test_on_wake, NULL);

  while (g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (wake_id);
}

static void
drain (void)
{
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static gboolean
payload_is (JsonObject *payload,
            const char *type)
{
  return g_strcmp0 (json_object_get_string_member_with_default (payload, "type", ""), type) == 0;
}

static void
delivery_free (Delivery *delivery)
{
  g_free (delivery->json);
  g_free (delivery);
}

static gboolean
on_deliver (gpointer user_data)
{
  Delivery *delivery = user_data;
  g_autoptr(JsonNode) node = json_from_string (delivery->json, NULL);

  g_assert_nonnull (node);
  if (delivery->to->peer != NULL)
    natter_peer_handle_signal (delivery->to->peer, json_node_get_object (node));

  return G_SOURCE_REMOVE;
}

static void
on_signal_out (NatterPeer *peer,
               JsonObject *payload,
               Side       *side)
{
  g_autoptr(JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  g_autoptr(JsonNode) copy = NULL;
  g_autofree char *text = NULL;
  Delivery *delivery;

  if (payload_is (payload, "offer"))
    side->offers_sent++;

  if (!side->deliver)
    return;

  /* Through text, as the server would pass it on */
  json_node_set_object (node, payload);
  text = json_to_string (node, FALSE);
  copy = json_from_string (text, NULL);
  if (side->tamper != NULL && !side->tamper (side, json_node_get_object (copy)))
    return;

  for (guint i = 0; i < MAX (side->copies, 1); i++)
    {
      delivery = g_new0 (Delivery, 1);
      delivery->to = side->other;
      delivery->json = json_to_string (copy, FALSE);
      g_idle_add_full (G_PRIORITY_DEFAULT, on_deliver, delivery, (GDestroyNotify) delivery_free);
    }
}

static void
on_chat_opened (NatterPeer *peer,
                Side       *side)
{
  side->chat_opened++;
  side->open_time = g_get_monotonic_time ();
}

static void
on_chat_message (NatterPeer *peer,
                 const char *text,
                 Side       *side)
{
  g_ptr_array_add (side->messages, g_strdup (text));
}

static void
on_trust_failure (NatterPeer *peer,
                  const char *reason,
                  Side       *side)
{
  g_test_message ("trust-failure: %s", reason);
  side->trust_failures++;
}

static void
side_init (Side  *side,
           Side  *other,
           guint8 seed_byte)
{
  guint8 seed[32];

  memset (seed, seed_byte, sizeof seed);
  side->identity = natter_identity_new_from_seed (seed);
  side->other = other;
  side->deliver = TRUE;
  side->messages = g_ptr_array_new_with_free_func (g_free);
  side->channels = g_ptr_array_new_with_free_func (g_object_unref);
}

/* NatterChannel: channels other than chat */

typedef struct
{
  GPtrArray *texts;
  GPtrArray *blobs;
  GArray    *states;
} Received;

static void
on_channel_text (NatterChannel *channel,
                 const char    *text,
                 Received      *received)
{
  g_ptr_array_add (received->texts, g_strdup (text));
}

static void
on_channel_binary (NatterChannel *channel,
                   GBytes        *bytes,
                   Received      *received)
{
  g_ptr_array_add (received->blobs, g_bytes_ref (bytes));
}

static void
on_channel_state (NatterChannel *channel,
                  GParamSpec    *pspec,
                  Received      *received)
{
  NatterChannelState state = natter_channel_get_state (channel);

  g_array_append_val (received->states, state);
}

static void
received_init (Received      *received,
               NatterChannel *channel)
{
  received->texts = g_ptr_array_new_with_free_func (g_free);
  received->blobs = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  received->states = g_array_new (FALSE, FALSE, sizeof (NatterChannelState));
  g_signal_connect (channel, "text-message", G_CALLBACK (on_channel_text), received);
  g_signal_connect (channel, "binary-message", G_CALLBACK (on_channel_binary), received);
  g_signal_connect (channel, "notify::state", G_CALLBACK (on_channel_state), received);
}

static void
received_clear (Received      *received,
                NatterChannel *channel)
{
  g_signal_handlers_disconnect_by_data (channel, received);
  g_clear_pointer (&received->texts, g_ptr_array_unref);
  g_clear_pointer (&received->blobs, g_ptr_array_unref);
  g_clear_pointer (&received->states, g_array_unref);
}

static gboolean
on_channel_opened (NatterPeer    *peer,
                   NatterChannel *channel,
                   Side          *side)
{
  if (!side->take_channels)
    return FALSE;

  g_ptr_array_add (side->channels, g_object_ref (channel));
  if (side->receive_into != NULL)
    received_init (g_steal_pointer (&side->receive_into), channel);
  return TRUE;
}

static void
side_new_peer (Side      *side,
               JsonArray *ice_servers)
{
  const char *remote = natter_identity_get_user_id (side->other->identity);

  side->peer = natter_peer_new (side->identity, remote, ice_servers, TRUE);
  g_signal_connect (side->peer, "signal-out", G_CALLBACK (on_signal_out), side);
  g_signal_connect (side->peer, "chat-opened", G_CALLBACK (on_chat_opened), side);
  g_signal_connect (side->peer, "chat-message", G_CALLBACK (on_chat_message), side);
  g_signal_connect (side->peer, "trust-failure", G_CALLBACK (on_trust_failure), side);
  g_signal_connect (side->peer, "channel-opened", G_CALLBACK (on_channel_opened), side);
}

static void
pair_init_with_ice (Pair      *pair,
                    JsonArray *ice_servers)
{
  memset (pair, 0, sizeof *pair);
  side_init (&pair->a, &pair->b, 0x11);
  side_init (&pair->b, &pair->a, 0x22);

  side_new_peer (&pair->a, ice_servers);
  side_new_peer (&pair->b, ice_servers);
}

static void
pair_init (Pair *pair)
{
  pair_init_with_ice (pair, NULL);
}

static void
pair_clear (Pair *pair)
{
  natter_peer_close (pair->a.peer);
  natter_peer_close (pair->b.peer);
  drain ();

  for (guint i = 0; i < 2; i++)
    {
      Side *side = i == 0 ? &pair->a : &pair->b;

      g_assert_finalize_object (g_steal_pointer (&side->peer));
      g_assert_finalize_object (g_steal_pointer (&side->identity));
      g_clear_pointer (&side->messages, g_ptr_array_unref);
      /* Every channel is closed with its peer, and nothing else holds it */
      while (side->channels->len > 0)
        {
          NatterChannel *channel = g_ptr_array_steal_index (side->channels, 0);

          g_assert_cmpint (natter_channel_get_state (channel), ==, NATTER_CHANNEL_STATE_CLOSED);
          g_assert_finalize_object (channel);
        }
      g_clear_pointer (&side->channels, g_ptr_array_unref);
    }

  drain ();
}

static gboolean
is_connected (Side *side)
{
  return natter_peer_get_state (side->peer) == NATTER_PEER_STATE_CONNECTED;
}

static gboolean
has_ended (Side *side)
{
  NatterPeerState state = natter_peer_get_state (side->peer);

  return state == NATTER_PEER_STATE_CLOSED || state == NATTER_PEER_STATE_FAILED;
}

static void
connect_pair (Pair *pair)
{
  pair->a.connect_time = g_get_monotonic_time ();
  natter_peer_connect (pair->a.peer);
  g_assert_cmpint (natter_peer_get_state (pair->a.peer), ==, NATTER_PEER_STATE_CONNECTING);
  WAIT_FOR (is_connected (&pair->a) && is_connected (&pair->b));
}

static void
send_ok (Side       *side,
         const char *text)
{
  g_autoptr(GError) error = NULL;

  natter_peer_send_text (side->peer, text, &error);
  g_assert_no_error (error);
}

static void
exchange_both_ways (Pair *pair)
{
  guint a_count = pair->a.messages->len;
  guint b_count = pair->b.messages->len;

  send_ok (&pair->a, "hello from a");
  send_ok (&pair->b, "h\xc3\xa9llo from b \xe2\x9c\x93");
  WAIT_FOR (pair->b.messages->len > b_count && pair->a.messages->len > a_count);
  g_assert_cmpstr (g_ptr_array_index (pair->b.messages, b_count), ==, "hello from a");
  g_assert_cmpstr (g_ptr_array_index (pair->a.messages, a_count), ==,
                   "h\xc3\xa9llo from b \xe2\x9c\x93");
}

/* Tests */

static void
test_peer_chat (void)
{
  Pair pair;
  g_autoptr(GError) error = NULL;

  pair_init (&pair);

  g_assert_cmpint (natter_peer_get_state (pair.a.peer), ==, NATTER_PEER_STATE_NEW);
  g_assert_false (natter_peer_send_text (pair.a.peer, "too early", &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED);
  g_clear_error (&error);

  connect_pair (&pair);
  g_test_message ("connect to chat-opened on loopback: %.1f ms",
                  (pair.a.open_time - pair.a.connect_time) / 1000.0);
  g_assert_cmpuint (pair.a.chat_opened, ==, 1);
  g_assert_cmpuint (pair.b.chat_opened, ==, 1);
  g_assert_cmpstr (natter_peer_get_session_id (pair.a.peer), ==,
                   natter_peer_get_session_id (pair.b.peer));
  g_assert_true (natter_peer_get_polite (pair.a.peer) != natter_peer_get_polite (pair.b.peer));

  exchange_both_ways (&pair);

  /* Order is kept on the chat channel */
  for (guint i = 0; i < 100; i++)
    {
      g_autofree char *text = g_strdup_printf ("message %u", i);

      send_ok (&pair.a, text);
    }
  WAIT_FOR (pair.b.messages->len == 101);
  for (guint i = 0; i < 100; i++)
    {
      g_autofree char *text = g_strdup_printf ("message %u", i);

      g_assert_cmpstr (g_ptr_array_index (pair.b.messages, i + 1), ==, text);
    }

  pair_clear (&pair);
}

static void
test_peer_message_size (void)
{
  Pair pair;
  g_autoptr(GError) error = NULL;
  g_autofree char *largest = g_malloc (NATTER_PEER_MAX_MESSAGE_SIZE + 2);

  pair_init (&pair);
  connect_pair (&pair);

  memset (largest, 'x', NATTER_PEER_MAX_MESSAGE_SIZE + 1);
  largest[NATTER_PEER_MAX_MESSAGE_SIZE + 1] = '\0';
  g_assert_false (natter_peer_send_text (pair.a.peer, largest, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE);
  g_clear_error (&error);

  /* Exactly 64 KiB still goes through, intact */
  largest[NATTER_PEER_MAX_MESSAGE_SIZE] = '\0';
  largest[0] = 'a';
  largest[NATTER_PEER_MAX_MESSAGE_SIZE - 1] = 'z';
  send_ok (&pair.a, largest);
  WAIT_FOR (pair.b.messages->len == 1);
  g_assert_cmpstr (g_ptr_array_index (pair.b.messages, 0), ==, largest);

  g_assert_false (natter_peer_send_text (pair.a.peer, "\xff\xfe", &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_assert_true (is_connected (&pair.a));

  pair_clear (&pair);
}

static void
test_peer_glare (void)
{
  Pair pair;
  guint offers;

  pair_init (&pair);

  /* Both offer before either has seen the other's offer */
  natter_peer_connect (pair.a.peer);
  natter_peer_connect (pair.b.peer);
  g_assert_cmpuint (pair.a.offers_sent + pair.b.offers_sent, ==, 0);
  WAIT_FOR (is_connected (&pair.a) && is_connected (&pair.b));

  /* Usually both offers go out and the polite side gives its own up; when
   * one side's offer is ready before the other has made its own, the other
   * answers without ever sending one. Either way: one session. */
  offers = pair.a.offers_sent + pair.b.offers_sent;
  g_assert_cmpuint (offers, >=, 1);
  g_assert_cmpuint (offers, <=, 2);
  g_assert_cmpuint (pair.a.offers_sent, <=, 1);
  g_assert_cmpuint (pair.b.offers_sent, <=, 1);
  g_assert_cmpstr (natter_peer_get_session_id (pair.a.peer), ==,
                   natter_peer_get_session_id (pair.b.peer));
  exchange_both_ways (&pair);

  /* And it stays that way: one connection, opened once on each side */
  run_for (500);
  g_assert_true (is_connected (&pair.a) && is_connected (&pair.b));
  g_assert_cmpuint (pair.a.chat_opened, ==, 1);
  g_assert_cmpuint (pair.b.chat_opened, ==, 1);
  g_assert_cmpuint (pair.a.offers_sent + pair.b.offers_sent, ==, offers);
  exchange_both_ways (&pair);

  pair_clear (&pair);
}

static gboolean
tamper_signature (Side       *from,
                  JsonObject *payload)
{
  if (payload_is (payload, "offer"))
    {
      /* A real signature by the right key, over something else */
      g_autofree char *signature = natter_identity_sign (from->identity, "other", 5);

      json_object_set_string_member (payload, NATTER_PEER_SDP_SIGNATURE, signature);
    }

  return TRUE;
}

static char *
replace_fingerprint (const char *sdp)
{
  g_autoptr(GString) text = g_string_new (sdp);
  const char *line = strstr (text->str, "a=fingerprint:sha-256 ");
  gsize start;

  g_assert_nonnull (line);
  start = line - text->str + strlen ("a=fingerprint:sha-256 ");
  /* Another certificate's fingerprint: change its first byte */
  text->str[start] = text->str[start] == 'A' ? 'B' : 'A';

  return g_strdup (text->str);
}

static gboolean
tamper_fingerprint (Side       *from,
                    JsonObject *payload)
{
  if (payload_is (payload, "offer"))
    {
      g_autofree char *sdp = replace_fingerprint (json_object_get_string_member (payload, "sdp"));

      json_object_set_string_member (payload, "sdp", sdp);
    }

  return TRUE;
}

static gboolean
tamper_drop_answer_signature (Side       *from,
                              JsonObject *payload)
{
  if (payload_is (payload, "answer"))
    json_object_remove_member (payload, NATTER_PEER_SDP_SIGNATURE);

  return TRUE;
}

/* The sender's own key signs a fingerprint that is not its certificate's:
 * the signature checks out, the DTLS handshake must not. */
static gboolean
tamper_fingerprint_resigned (Side       *from,
                             JsonObject *payload)
{
  if (payload_is (payload, "offer"))
    {
      g_autofree char *sdp = replace_fingerprint (json_object_get_string_member (payload, "sdp"));
      g_autofree char *signature = NULL;

      signature = _natter_peer_sign_sdp (from->identity,
                                         natter_identity_get_user_id (from->other->identity),
                                         json_object_get_string_member (payload, "session"), sdp);
      json_object_set_string_member (payload, "sdp", sdp);
      json_object_set_string_member (payload, NATTER_PEER_SDP_SIGNATURE, signature);
    }

  return TRUE;
}

/* The splice: a hostile server that holds the key of Mallory, a contact of
 * Alice, joins Bob (who wants Alice) to Alice (who believes she is talking to
 * Mallory). Here the attacker gets past the SDP signatures (it re-signs Bob's
 * descriptions as Mallory's and, as if it had a recording, Alice's as meant
 * for Bob): the binding inside DTLS must still refuse on both sides. */
static NatterIdentity *mallory;

/* Signs a description again, by @signer for @from's other side */
static void
resign (JsonObject     *payload,
        NatterIdentity *signer,
        Side           *from)
{
  g_autofree char *signature = NULL;

  if (!payload_is (payload, "offer") && !payload_is (payload, "answer"))
    return;

  signature = _natter_peer_sign_sdp (signer, natter_identity_get_user_id (from->other->identity),
                                     json_object_get_string_member (payload, "session"),
                                     json_object_get_string_member (payload, "sdp"));
  json_object_set_string_member (payload, NATTER_PEER_SDP_SIGNATURE, signature);
}

static gboolean
tamper_splice_as_mallory (Side       *from,
                          JsonObject *payload)
{
  resign (payload, mallory, from);
  return TRUE;
}

static gboolean
tamper_splice_for_bob (Side       *from,
                       JsonObject *payload)
{
  resign (payload, from->identity, from);
  return TRUE;
}

static void
test_peer_trust_splice (void)
{
  guint8 seed[32];
  Pair pair;
  Side *alice = &pair.a;
  Side *bob = &pair.b;

  memset (seed, 0x33, sizeof seed);
  mallory = natter_identity_new_from_seed (seed);

  memset (&pair, 0, sizeof pair);
  side_init (alice, bob, 0x11);
  side_init (bob, alice, 0x22);
  side_new_peer (bob, NULL);
  /* Alice's peer is for Mallory; the server routes it to Bob */
  alice->peer = natter_peer_new (alice->identity, natter_identity_get_user_id (mallory), NULL, TRUE);
  g_signal_connect (alice->peer, "signal-out", G_CALLBACK (on_signal_out), alice);
  g_signal_connect (alice->peer, "chat-opened", G_CALLBACK (on_chat_opened), alice);
  g_signal_connect (alice->peer, "chat-message", G_CALLBACK (on_chat_message), alice);
  g_signal_connect (alice->peer, "trust-failure", G_CALLBACK (on_trust_failure), alice);
  bob->tamper = tamper_splice_as_mallory;
  alice->tamper = tamper_splice_for_bob;

  natter_peer_connect (bob->peer);
  WAIT_FOR (alice->trust_failures > 0 && bob->trust_failures > 0 &&
            has_ended (alice) && has_ended (bob));
  g_assert_cmpint (natter_peer_get_state (alice->peer), ==, NATTER_PEER_STATE_FAILED);
  g_assert_cmpint (natter_peer_get_state (bob->peer), ==, NATTER_PEER_STATE_FAILED);
  g_assert_cmpuint (alice->chat_opened + bob->chat_opened, ==, 0);
  g_assert_cmpuint (alice->messages->len + bob->messages->len, ==, 0);

  pair_clear (&pair);
  g_assert_finalize_object (g_steal_pointer (&mallory));
}

static void
check_refused (TamperFunc  tamper,
               gboolean    on_offer)
{
  Pair pair;
  Side *refusing;

  pair_init (&pair);
  pair.a.tamper = tamper;
  refusing = on_offer ? &pair.b : &pair.a;

  natter_peer_connect (pair.a.peer);
  WAIT_FOR (refusing->trust_failures > 0 && has_ended (refusing));
  g_assert_cmpint (natter_peer_get_state (refusing->peer), ==, NATTER_PEER_STATE_FAILED);

  /* The other side hears of it and does not stay connected */
  WAIT_FOR (has_ended (refusing->other));
  g_assert_cmpuint (refusing->chat_opened, ==, 0);

  pair_clear (&pair);
}

static void
test_peer_trust_bad_signature (void)
{
  check_refused (tamper_signature, TRUE);
}

static void
test_peer_trust_swapped_fingerprint (void)
{
  check_refused (tamper_fingerprint, TRUE);
}

static void
test_peer_trust_missing_signature (void)
{
  Pair pair;

  /* The answer comes from b: make b's payloads lose their signature */
  pair_init (&pair);
  pair.b.tamper = tamper_drop_answer_signature;

  natter_peer_connect (pair.a.peer);
  WAIT_FOR (pair.a.trust_failures > 0 && has_ended (&pair.a));
  g_assert_cmpint (natter_peer_get_state (pair.a.peer), ==, NATTER_PEER_STATE_FAILED);
  WAIT_FOR (has_ended (&pair.b));
  g_assert_cmpuint (pair.a.chat_opened, ==, 0);

  pair_clear (&pair);
}

static void
test_peer_trust_certificate (void)
{
  check_refused (tamper_fingerprint_resigned, TRUE);
}

static void
test_peer_timeout (void)
{
  Pair pair;
  gint64 start;
  gint64 elapsed;

  pair_init (&pair);
  pair.a.deliver = FALSE;
  natter_peer_set_connect_timeout (pair.a.peer, 300);
  g_assert_cmpuint (natter_peer_get_connect_timeout (pair.a.peer), ==, 300);

  start = g_get_monotonic_time ();
  natter_peer_connect (pair.a.peer);
  WAIT_FOR (has_ended (&pair.a));
  elapsed = g_get_monotonic_time () - start;

  g_assert_cmpint (natter_peer_get_state (pair.a.peer), ==, NATTER_PEER_STATE_FAILED);
  g_assert_cmpint (elapsed, >=, 300 * 1000);
  g_assert_cmpint (natter_peer_get_state (pair.b.peer), ==, NATTER_PEER_STATE_NEW);

  /* The owner retries; this time the offer gets through */
  pair.a.deliver = TRUE;
  natter_peer_set_connect_timeout (pair.a.peer, NATTER_PEER_DEFAULT_CONNECT_TIMEOUT);
  connect_pair (&pair);
  exchange_both_ways (&pair);

  pair_clear (&pair);
}

static void
test_peer_close (void)
{
  Pair pair;

  pair_init (&pair);
  connect_pair (&pair);

  natter_peer_close (pair.b.peer);
  g_assert_cmpint (natter_peer_get_state (pair.b.peer), ==, NATTER_PEER_STATE_CLOSED);
  WAIT_FOR (has_ended (&pair.a));
  g_assert_cmpint (natter_peer_get_state (pair.a.peer), ==, NATTER_PEER_STATE_CLOSED);

  /* A new connection after a close */
  connect_pair (&pair);
  exchange_both_ways (&pair);

  pair_clear (&pair);
}

static guint
thread_count (void)
{
  g_autofree char *status = NULL;
  const char *line;

  g_assert_true (g_file_get_contents ("/proc/self/status", &status, NULL, NULL));
  line = strstr (status, "\nThreads:");
  g_assert_nonnull (line);
  return (guint) g_ascii_strtoull (line + strlen ("\nThreads:"), NULL, 10);
}

static GstWebRTCDataChannel *
open_channel (NatterPeer *peer,
              const char *label)
{
  GstWebRTCDataChannel *channel = NULL;

  g_signal_emit_by_name (_natter_peer_get_webrtcbin (peer), "create-data-channel", label, NULL,
                         &channel);
  g_assert_nonnull (channel);
  return channel;
}

static gboolean
channel_is_closed (GstWebRTCDataChannel *channel)
{
  GstWebRTCDataChannelState state;

  g_object_get (channel, "ready-state", &state, NULL);
  return state == GST_WEBRTC_DATA_CHANNEL_STATE_CLOSED;
}

/* Channels with labels nobody handles are closed at once; the chat goes on */
static void
test_peer_unknown_channels (void)
{
  Pair pair;
  GstWebRTCDataChannel *channels[3];

  pair_init (&pair);
  connect_pair (&pair);

  for (guint i = 0; i < G_N_ELEMENTS (channels); i++)
    {
      g_autofree char *label = g_strdup_printf ("file-%u", i);

      channels[i] = open_channel (pair.a.peer, label);
    }
  for (guint i = 0; i < G_N_ELEMENTS (channels); i++)
    {
      WAIT_FOR (channel_is_closed (channels[i]));
      g_object_unref (channels[i]);
    }

  g_assert_true (is_connected (&pair.a) && is_connected (&pair.b));
  exchange_both_ways (&pair);

  pair_clear (&pair);
}

static GstElement *
find_element (GstElement *bin,
              const char *factory_name)
{
  g_autoptr(GstIterator) iterator = gst_bin_iterate_recurse (GST_BIN (bin));
  g_auto(GValue) item = G_VALUE_INIT;
  GstElement *found = NULL;

  while (found == NULL && gst_iterator_next (iterator, &item) == GST_ITERATOR_OK)
    {
      GstElement *element = g_value_get_object (&item);
      GstElementFactory *factory = gst_element_get_factory (element);

      if (factory != NULL && g_str_equal (GST_OBJECT_NAME (factory), factory_name))
        found = gst_object_ref (element);
      g_value_reset (&item);
    }

  return found;
}

/* A text message with a NUL inside: webrtcbin would hand on only what comes
 * before it, a valid envelope here that a strict receiver refuses as a
 * whole. It is dropped; the connection and what follows are not. */
static void
test_peer_nul_in_text (void)
{
  static const char text[] =
    "{\"type\":\"message\",\"id\":\"x\",\"ts\":1,\"body\":\"seen\"}\0 and the rest";
  Pair pair;
  g_autoptr(GstElement) sctpenc = NULL;
  g_autoptr(GstIterator) pads = NULL;
  g_auto(GValue) item = G_VALUE_INIT;
  g_autoptr(GstPad) source = NULL;
  GstBuffer *buffer;

  pair_init (&pair);
  connect_pair (&pair);

  /* The chat channel is the only stream: push the raw message where its
   * data channel would */
  sctpenc = find_element (_natter_peer_get_webrtcbin (pair.a.peer), "sctpenc");
  g_assert_nonnull (sctpenc);
  pads = gst_element_iterate_sink_pads (sctpenc);
  g_assert_cmpint (gst_iterator_next (pads, &item), ==, GST_ITERATOR_OK);
  source = gst_pad_get_peer (g_value_get_object (&item));
  g_assert_nonnull (source);

  buffer = gst_buffer_new_memdup (text, sizeof text - 1);
  gst_sctp_buffer_add_send_meta (buffer, 51, TRUE, GST_SCTP_SEND_META_PARTIAL_RELIABILITY_NONE, 0);
  g_assert_cmpint (gst_pad_push (source, buffer), ==, GST_FLOW_OK);
  send_ok (&pair.a, "after it");

  WAIT_FOR (pair.b.messages->len > 0);
  g_assert_cmpstr (g_ptr_array_index (pair.b.messages, 0), ==, "after it");
  g_assert_true (is_connected (&pair.a) && is_connected (&pair.b));

  pair_clear (&pair);
}

/* A contact that opens channel after channel is disconnected, with a reason,
 * long before it costs many threads */
static void
test_peer_channel_flood (void)
{
  Pair pair;
  guint threads_before;
  guint threads_peak = 0;
  guint opened = 0;

  pair_init (&pair);
  connect_pair (&pair);
  exchange_both_ways (&pair);
  threads_before = thread_count ();

  for (opened = 0; opened < 1000 && !has_ended (&pair.a) && !has_ended (&pair.b); opened++)
    {
      g_autofree char *label = g_strdup_printf ("flood-%u", opened);
      g_autoptr(GstWebRTCDataChannel) channel = open_channel (pair.a.peer, label);

      run_for (5);
      threads_peak = MAX (threads_peak, thread_count ());
    }

  WAIT_FOR (has_ended (&pair.b));
  g_assert_cmpint (natter_peer_get_state (pair.b.peer), ==, NATTER_PEER_STATE_FAILED);
  WAIT_FOR (has_ended (&pair.a));
  g_test_message ("disconnected after %u channels; threads %u before, at most %u during",
                  opened, threads_before, threads_peak);
  g_assert_cmpuint (opened, <, 100);
  g_assert_cmpuint (threads_peak, <, threads_before + 100);

  /* The contact may connect again */
  connect_pair (&pair);
  exchange_both_ways (&pair);

  pair_clear (&pair);
}

/* Every bus message is freed: a closed connection lets go of its webrtcbin */
static void
test_peer_webrtcbin_freed (void)
{
  Pair pair;
  GWeakRef webrtc;

  pair_init (&pair);
  connect_pair (&pair);
  exchange_both_ways (&pair);

  g_weak_ref_init (&webrtc, _natter_peer_get_webrtcbin (pair.b.peer));
  natter_peer_close (pair.b.peer);
  WAIT_FOR (has_ended (&pair.a));
  WAIT_FOR (({ g_autoptr(GObject) alive = g_weak_ref_get (&webrtc); alive == NULL; }));
  g_weak_ref_clear (&webrtc);

  pair_clear (&pair);
}

static gboolean
tamper_drop_bye (Side       *from,
                 JsonObject *payload)
{
  return !payload_is (payload, "bye");
}

static void
test_peer_close_without_bye (void)
{
  Pair pair;

  pair_init (&pair);
  connect_pair (&pair);

  /* The signaling server loses the bye: the data channel tells */
  pair.b.tamper = tamper_drop_bye;
  natter_peer_close (pair.b.peer);
  WAIT_FOR (has_ended (&pair.a));

  pair_clear (&pair);
}

/* Every payload arrives twice: repeated offers, answers and candidates
 * change nothing */
static void
test_peer_duplicates (void)
{
  Pair pair;

  pair_init (&pair);
  pair.a.copies = 2;
  pair.b.copies = 2;

  connect_pair (&pair);
  run_for (200);
  g_assert_true (is_connected (&pair.a) && is_connected (&pair.b));
  g_assert_cmpuint (pair.a.chat_opened, ==, 1);
  g_assert_cmpuint (pair.b.chat_opened, ==, 1);
  exchange_both_ways (&pair);

  pair_clear (&pair);
}

/* a's process goes away without a word; b does not notice. When a comes
 * back and offers, b gives up the dead connection for the new one. */
static void
test_peer_reconnect_after_crash (void)
{
  Pair pair;

  pair_init (&pair);
  connect_pair (&pair);

  g_assert_finalize_object (g_steal_pointer (&pair.a.peer));
  drain ();
  g_assert_true (is_connected (&pair.b));

  side_new_peer (&pair.a, NULL);
  connect_pair (&pair);
  g_assert_cmpuint (pair.b.chat_opened, ==, 2);
  g_assert_cmpstr (natter_peer_get_session_id (pair.a.peer), ==,
                   natter_peer_get_session_id (pair.b.peer));
  exchange_both_ways (&pair);

  pair_clear (&pair);
}

static void
test_peer_stale_candidates (void)
{
  Pair pair;
  g_autoptr(JsonObject) stale = json_object_new ();

  pair_init (&pair);
  connect_pair (&pair);

  /* A candidate of some earlier attempt changes nothing */
  json_object_set_string_member (stale, "candidate",
                                 "candidate:1 1 UDP 2015363327 127.0.0.1 9 typ host");
  json_object_set_string_member (stale, "sdpMid", "0");
  json_object_set_int_member (stale, "sdpMLineIndex", 0);
  json_object_set_string_member (stale, "session", "0123456789abcdef");
  natter_peer_handle_signal (pair.b.peer, stale);

  /* Nor does junk */
  json_object_set_string_member (stale, "type", "offer");
  natter_peer_handle_signal (pair.b.peer, stale);
  json_object_set_int_member (stale, "sdp", 5);
  natter_peer_handle_signal (pair.b.peer, stale);

  exchange_both_ways (&pair);
  g_assert_true (is_connected (&pair.a) && is_connected (&pair.b));

  pair_clear (&pair);
}

/* Far more than usrsctp buffers: sends are paced on buffered-amount */
static void
test_peer_bulk (void)
{
  const guint count = 256;
  Pair pair;
  g_autofree char *chunk = g_malloc (NATTER_PEER_MAX_MESSAGE_SIZE + 1);
  gint64 start;
  double seconds;

  pair_init (&pair);
  connect_pair (&pair);

  memset (chunk, '.', NATTER_PEER_MAX_MESSAGE_SIZE);
  chunk[NATTER_PEER_MAX_MESSAGE_SIZE] = '\0';

  start = g_get_monotonic_time ();
  for (guint i = 0; i < count; i++)
    {
      g_autofree char *number = g_strdup_printf ("%08u", i);

      memcpy (chunk, number, 8);
      send_ok (&pair.a, chunk);
    }
  WAIT_FOR (pair.b.messages->len == count);
  seconds = (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC;

  for (guint i = 0; i < count; i++)
    {
      const char *text = g_ptr_array_index (pair.b.messages, i);
      g_autofree char *number = g_strdup_printf ("%08u", i);

      g_assert_cmpuint (strlen (text), ==, NATTER_PEER_MAX_MESSAGE_SIZE);
      g_assert_true (strncmp (text, number, 8) == 0);
    }

  g_test_message ("%u messages of 64 KiB in %.2f s: %.1f MB/s", count, seconds,
                  count * (double) NATTER_PEER_MAX_MESSAGE_SIZE / seconds / 1e6);
  exchange_both_ways (&pair);

  pair_clear (&pair);
}

static int
compare_gint64 (gconstpointer a,
                gconstpointer b)
{
  gint64 x = *(const gint64 *) a;
  gint64 y = *(const gint64 *) b;

  return x < y ? -1 : x > y;
}

static void
on_echo (NatterPeer *peer,
         const char *text,
         Side       *side)
{
  g_autoptr(GError) error = NULL;

  natter_peer_send_text (peer, text, &error);
  g_assert_no_error (error);
}

/* Figures only: asserts nothing about speed */
static void
test_peer_round_trip (void)
{
  const guint count = 1000;
  Pair pair;
  g_autofree gint64 *times = g_new (gint64, count);

  pair_init (&pair);
  connect_pair (&pair);
  g_test_message ("connect to chat-opened on loopback, not the first in the process: %.1f ms",
                  (pair.a.open_time - pair.a.connect_time) / 1000.0);
  g_signal_connect (pair.b.peer, "chat-message", G_CALLBACK (on_echo), &pair.b);

  for (guint i = 0; i < count; i++)
    {
      g_autofree char *text = g_strdup_printf ("ping %u", i);
      gint64 start = g_get_monotonic_time ();

      send_ok (&pair.a, text);
      WAIT_FOR (pair.a.messages->len == i + 1);
      times[i] = g_get_monotonic_time () - start;
      g_assert_cmpstr (g_ptr_array_index (pair.a.messages, i), ==, text);
    }

  qsort (times, count, sizeof (gint64), compare_gint64);
  g_test_message ("round trip over %u messages: p50 %.3f ms, p99 %.3f ms, max %.3f ms", count,
                  times[count / 2] / 1000.0, times[count * 99 / 100] / 1000.0,
                  times[count - 1] / 1000.0);

  pair_clear (&pair);
}

/* TURN: a real coturn on 127.0.0.1 with time-limited credentials */

static guint16
free_udp_port (void)
{
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
                                            G_SOCKET_PROTOCOL_UDP, NULL);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;

  g_assert_true (g_socket_bind (socket, any, FALSE, NULL));
  bound = g_socket_get_local_address (socket, NULL);

  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

/* Sends STUN binding requests until the server answers one */
static gboolean
wait_for_stun (guint16 port,
               guint   seconds)
{
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
                                            G_SOCKET_PROTOCOL_UDP, NULL);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) server = g_inet_socket_address_new (loopback, port);
  guint8 request[20] = { 0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42 };
  guint8 reply[512];
  gint64 end = g_get_monotonic_time () + seconds * G_USEC_PER_SEC;

  natter_random_bytes (request + 8, 12);
  g_socket_set_timeout (socket, 1);

  while (g_get_monotonic_time () < end)
    {
      g_autoptr(GError) error = NULL;

      g_socket_send_to (socket, server, (const char *) request, sizeof request, NULL, NULL);
      if (g_socket_condition_timed_wait (socket, G_IO_IN, 100 * 1000, NULL, NULL) &&
          g_socket_receive (socket, (char *) reply, sizeof reply, NULL, &error) >= 20)
        return TRUE;
    }

  return FALSE;
}

/* In the child: coturn goes when the test process goes, even if it aborts */
static void
on_child_setup (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGTERM);
}

/* coturn on a free port of 127.0.0.1. A port that was free when it was
 * picked may be taken before coturn binds it: then try another one. */
static GSubprocess *
start_coturn (const char *dir,
              const char *secret,
              guint16    *out_port)
{
  g_autofree char *turnserver = g_find_program_in_path ("turnserver");
  g_autofree char *pidfile = g_build_filename (dir, "turnserver.pid", NULL);
  g_autofree char *userdb = g_build_filename (dir, "turndb", NULL);

  for (guint attempt = 0; attempt < 5; attempt++)
    {
      g_autoptr(GSubprocessLauncher) launcher = NULL;
      g_autoptr(GSubprocess) coturn = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree char *port_text = NULL;
      guint16 port = free_udp_port ();

      launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
                                            G_SUBPROCESS_FLAGS_STDERR_SILENCE);
      g_subprocess_launcher_set_child_setup (launcher, on_child_setup, NULL, NULL);
      port_text = g_strdup_printf ("%u", port);
      coturn = g_subprocess_launcher_spawn (launcher, &error,
                                            turnserver, "-n", "--no-tls", "--no-dtls",
                                            "--no-cli", "--no-tcp", "--no-tcp-relay",
                                            "--listening-ip", "127.0.0.1",
                                            "--relay-ip", "127.0.0.1",
                                            "--listening-port", port_text,
                                            "--use-auth-secret", "--static-auth-secret", secret,
                                            "--realm", "natter.test", "--allow-loopback-peers",
                                            "--pidfile", pidfile, "--userdb", userdb,
                                            "--no-stdout-log",
                                            NULL);
      g_assert_no_error (error);

      if (wait_for_stun (port, WAIT_LIMIT_S / 5))
        {
          *out_port = port;
          return g_steal_pointer (&coturn);
        }

      g_test_message ("coturn did not answer on port %u; trying another port", port);
      g_subprocess_force_exit (coturn);
      g_subprocess_wait (coturn, NULL, NULL);
    }

  g_error ("Could not start coturn");
}

static void
test_peer_turn (void)
{
  g_autofree char *turnserver = g_find_program_in_path ("turnserver");
  g_autofree char *dir = NULL;
  g_autofree char *username = NULL;
  g_autofree char *password = NULL;
  g_autofree char *url = NULL;
  g_autofree char *pidfile = NULL;
  g_autofree char *userdb = NULL;
  g_autoptr(GSubprocess) coturn = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonArray) ice_servers = json_array_new ();
  g_autoptr(JsonArray) urls = json_array_new ();
  JsonObject *server = json_object_new ();
  const char *secret = "natter-test-secret";
  guint16 port;
  Pair pair;

  if (turnserver == NULL)
    {
      g_test_skip ("coturn (turnserver) is not installed");
      return;
    }

  dir = g_dir_make_tmp ("natter-peer-turn-XXXXXX", &error);
  g_assert_no_error (error);
  pidfile = g_build_filename (dir, "turnserver.pid", NULL);
  userdb = g_build_filename (dir, "turndb", NULL);
  coturn = start_coturn (dir, secret, &port);

  /* Credentials as natter-server hands them out; the ':' in the user name
   * and the base64 password must survive the conversion to a turn:// URI */
  natter_turn_credentials (secret, "natter-test-user", g_get_real_time () / G_USEC_PER_SEC + 3600,
                           &username, &password);
  url = g_strdup_printf ("turn:127.0.0.1:%u?transport=udp", port);
  json_array_add_string_element (urls, url);
  json_object_set_array_member (server, "urls", json_array_ref (urls));
  json_object_set_string_member (server, "username", username);
  json_object_set_string_member (server, "credential", password);
  json_array_add_object_element (ice_servers, server);

  pair_init_with_ice (&pair, ice_servers);
  natter_peer_set_relay_only (pair.a.peer, TRUE);
  natter_peer_set_relay_only (pair.b.peer, TRUE);
  g_assert_true (natter_peer_get_relay_only (pair.a.peer));

  connect_pair (&pair);
  exchange_both_ways (&pair);
  pair_clear (&pair);

  g_subprocess_send_signal (coturn, SIGTERM);
  g_subprocess_wait (coturn, NULL, NULL);
  g_unlink (pidfile);
  g_unlink (userdb);
  g_rmdir (dir);
}

/* A relay-only peer with no TURN server has no candidates, and times out */
static void
test_peer_relay_only_without_turn (void)
{
  Pair pair;

  pair_init (&pair);
  natter_peer_set_relay_only (pair.a.peer, TRUE);
  natter_peer_set_relay_only (pair.b.peer, TRUE);
  natter_peer_set_connect_timeout (pair.a.peer, 2000);
  natter_peer_set_connect_timeout (pair.b.peer, 2000);

  natter_peer_connect (pair.a.peer);
  WAIT_FOR (has_ended (&pair.a));
  g_assert_cmpint (natter_peer_get_state (pair.a.peer), ==, NATTER_PEER_STATE_FAILED);
  WAIT_FOR (has_ended (&pair.b));
  g_assert_cmpuint (pair.a.chat_opened + pair.b.chat_opened, ==, 0);

  pair_clear (&pair);
}

static NatterChannelState
channel_state (NatterChannel *channel)
{
  return natter_channel_get_state (channel);
}

static void
send_bytes_ok (NatterChannel *channel,
               const void    *data,
               gsize          size)
{
  g_autoptr(GBytes) bytes = g_bytes_new (data, size);
  g_autoptr(GError) error = NULL;

  natter_channel_send_bytes (channel, bytes, &error);
  g_assert_no_error (error);
}

static void
channel_send_ok (NatterChannel *channel,
                 const char    *text)
{
  g_autoptr(GError) error = NULL;

  natter_channel_send_text (channel, text, &error);
  g_assert_no_error (error);
}

/* A second channel with another label, opened on a running connection:
 * text and binary both ways, in order, and chat goes on beside it */
static void
test_channel_text_and_binary (void)
{
  static const guint8 blob[] = { 0x00, 0xff, 0x10, 0x00, 0x7f };
  Pair pair;
  g_autoptr(GError) error = NULL;
  g_autoptr(NatterChannel) mine = NULL;
  NatterChannel *theirs;
  Received at_a, at_b;

  pair_init (&pair);
  g_assert_null (natter_peer_create_channel (pair.a.peer, "file-1", &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED);
  g_clear_error (&error);
  g_assert_null (natter_peer_get_chat_channel (pair.a.peer));

  pair.b.take_channels = TRUE;
  connect_pair (&pair);
  g_assert_cmpstr (natter_channel_get_label (natter_peer_get_chat_channel (pair.a.peer)), ==,
                   "chat");
  g_assert_null (natter_peer_create_channel (pair.a.peer, "chat", &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  pair.b.receive_into = &at_b;
  mine = natter_peer_create_channel (pair.a.peer, "file-1 \xc3\xa9", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (natter_channel_get_label (mine), ==, "file-1 \xc3\xa9");
  /* webrtcbin may call it open at once, the association being up */
  g_assert_cmpint (channel_state (mine), <=, NATTER_CHANNEL_STATE_OPEN);
  received_init (&at_a, mine);

  /* Sent before it is open: waits in the queue, and is the first the
   * other side's owner sees once it has taken the channel */
  channel_send_ok (mine, "first");
  send_bytes_ok (mine, blob, sizeof blob);
  WAIT_FOR (channel_state (mine) == NATTER_CHANNEL_STATE_OPEN);
  WAIT_FOR (pair.b.channels->len == 1);
  theirs = g_ptr_array_index (pair.b.channels, 0);
  g_assert_cmpstr (natter_channel_get_label (theirs), ==, "file-1 \xc3\xa9");
  WAIT_FOR (at_b.texts->len == 1 && at_b.blobs->len == 1);
  g_assert_cmpstr (g_ptr_array_index (at_b.texts, 0), ==, "first");
  g_assert_true (g_bytes_get_size (g_ptr_array_index (at_b.blobs, 0)) == sizeof blob);
  g_assert_cmpmem (g_bytes_get_data (g_ptr_array_index (at_b.blobs, 0), NULL), sizeof blob,
                   blob, sizeof blob);

  /* Both ways, in order; chat is a channel of its own */
  for (guint i = 0; i < 50; i++)
    {
      g_autofree char *text = g_strdup_printf ("reply %u", i);

      channel_send_ok (theirs, text);
    }
  send_bytes_ok (theirs, "\x01", 1);
  exchange_both_ways (&pair);
  WAIT_FOR (at_a.texts->len == 50 && at_a.blobs->len == 1);
  for (guint i = 0; i < 50; i++)
    {
      g_autofree char *text = g_strdup_printf ("reply %u", i);

      g_assert_cmpstr (g_ptr_array_index (at_a.texts, i), ==, text);
    }
  g_assert_cmpuint (g_bytes_get_size (g_ptr_array_index (at_a.blobs, 0)), ==, 1);
  g_assert_cmpuint (pair.a.messages->len + pair.b.messages->len, ==, 2);

  /* What a channel refuses */
  {
    g_autofree char *large = g_malloc0 (NATTER_CHANNEL_MAX_MESSAGE_SIZE + 1);
    g_autoptr(GBytes) too_large = g_bytes_new_take (g_steal_pointer (&large),
                                                   NATTER_CHANNEL_MAX_MESSAGE_SIZE + 1);
    g_autoptr(GBytes) empty = g_bytes_new (NULL, 0);

    g_assert_false (natter_channel_send_bytes (mine, too_large, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE);
    g_clear_error (&error);
    g_assert_false (natter_channel_send_bytes (mine, empty, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
    g_clear_error (&error);
    g_assert_false (natter_channel_send_text (mine, "\xc3", &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
    g_clear_error (&error);
    g_assert_cmpint (channel_state (mine), ==, NATTER_CHANNEL_STATE_OPEN);
  }

  received_clear (&at_b, theirs);
  g_assert_cmpuint (at_a.states->len, <=, 1);
  received_clear (&at_a, mine);
  pair_clear (&pair);
  g_assert_cmpint (channel_state (mine), ==, NATTER_CHANNEL_STATE_CLOSED);
  g_assert_finalize_object (g_steal_pointer (&mine));
}

/* A burst far larger than usrsctp buffers is paced on buffered-amount: it
 * waits in the channel's own queue, arrives whole and in order, and chat
 * works beside it */
static void
test_channel_pacing (void)
{
  const guint count = 160;
  Pair pair;
  g_autoptr(GError) error = NULL;
  g_autoptr(NatterChannel) mine = NULL;
  g_autofree guint8 *chunk = g_malloc (NATTER_CHANNEL_MAX_MESSAGE_SIZE);
  NatterChannel *theirs;
  Received at_b;
  guint64 queued;
  gint64 start;

  pair_init (&pair);
  pair.b.take_channels = TRUE;
  connect_pair (&pair);
  pair.b.receive_into = &at_b;
  mine = natter_peer_create_channel (pair.a.peer, "bulk", &error);
  g_assert_no_error (error);
  WAIT_FOR (pair.b.channels->len == 1);
  theirs = g_ptr_array_index (pair.b.channels, 0);

  memset (chunk, 0xa5, NATTER_CHANNEL_MAX_MESSAGE_SIZE);
  start = g_get_monotonic_time ();
  for (guint i = 0; i < count; i++)
    {
      memcpy (chunk, &i, sizeof i);
      send_bytes_ok (mine, chunk, NATTER_CHANNEL_MAX_MESSAGE_SIZE);
    }

  /* 10 MiB cannot all be in webrtcbin's buffer: the rest waits here */
  queued = natter_channel_get_queued_bytes (mine);
  g_assert_cmpuint (queued, >, (guint64) NATTER_CHANNEL_MAX_MESSAGE_SIZE * count / 2);
  send_ok (&pair.a, "chat during the burst");

  WAIT_FOR (at_b.blobs->len == count);
  g_test_message ("%u messages of 64 KiB on a channel of their own in %.2f s", count,
                  (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC);
  for (guint i = 0; i < count; i++)
    {
      GBytes *bytes = g_ptr_array_index (at_b.blobs, i);
      guint number;

      g_assert_cmpuint (g_bytes_get_size (bytes), ==, NATTER_CHANNEL_MAX_MESSAGE_SIZE);
      memcpy (&number, g_bytes_get_data (bytes, NULL), sizeof number);
      g_assert_cmpuint (number, ==, i);
    }
  g_assert_cmpuint (natter_channel_get_queued_bytes (mine), ==, 0);
  WAIT_FOR (pair.b.messages->len == 1);
  g_assert_cmpstr (g_ptr_array_index (pair.b.messages, 0), ==, "chat during the burst");

  received_clear (&at_b, theirs);
  pair_clear (&pair);
  g_assert_finalize_object (g_steal_pointer (&mine));
}

/* Closing one channel leaves the connection; ending the connection closes
 * every channel; a channel nobody takes is closed */
static void
test_channel_close (void)
{
  Pair pair;
  g_autoptr(GError) error = NULL;
  g_autoptr(NatterChannel) first = NULL;
  g_autoptr(NatterChannel) second = NULL;
  g_autoptr(NatterChannel) refused = NULL;
  NatterChannel *theirs;
  Received at_a, at_b;

  pair_init (&pair);
  pair.b.take_channels = TRUE;
  connect_pair (&pair);

  pair.b.receive_into = &at_b;
  first = natter_peer_create_channel (pair.a.peer, "first", &error);
  g_assert_no_error (error);
  received_init (&at_a, first);
  WAIT_FOR (pair.b.channels->len == 1);
  theirs = g_ptr_array_index (pair.b.channels, 0);
  WAIT_FOR (channel_state (first) == NATTER_CHANNEL_STATE_OPEN);

  /* The other side closes it: both see it closed, chat goes on */
  natter_channel_close (theirs);
  g_assert_cmpint (channel_state (theirs), ==, NATTER_CHANNEL_STATE_CLOSING);
  WAIT_FOR (channel_state (first) == NATTER_CHANNEL_STATE_CLOSED);
  WAIT_FOR (channel_state (theirs) == NATTER_CHANNEL_STATE_CLOSED);
  g_assert_false (natter_channel_send_text (first, "too late", &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED);
  g_clear_error (&error);
  g_assert_cmpint (g_array_index (at_a.states, NatterChannelState, at_a.states->len - 1), ==,
                   NATTER_CHANNEL_STATE_CLOSED);
  g_assert_cmpint (g_array_index (at_b.states, NatterChannelState, 0), ==,
                   NATTER_CHANNEL_STATE_CLOSING);
  g_assert_true (is_connected (&pair.a) && is_connected (&pair.b));
  exchange_both_ways (&pair);
  received_clear (&at_a, first);
  received_clear (&at_b, theirs);

  /* Nobody takes it: closed by the other side */
  pair.b.take_channels = FALSE;
  refused = natter_peer_create_channel (pair.a.peer, "nobody wants this", &error);
  g_assert_no_error (error);
  WAIT_FOR (channel_state (refused) == NATTER_CHANNEL_STATE_CLOSED);
  g_assert_cmpuint (pair.b.channels->len, ==, 1);

  /* The connection ends: every channel is closed, on both sides */
  pair.b.take_channels = TRUE;
  second = natter_peer_create_channel (pair.a.peer, "second", &error);
  g_assert_no_error (error);
  channel_send_ok (second, "queued");
  WAIT_FOR (pair.b.channels->len == 2);
  natter_peer_close (pair.b.peer);
  g_assert_cmpint (channel_state (g_ptr_array_index (pair.b.channels, 1)), ==,
                   NATTER_CHANNEL_STATE_CLOSED);
  WAIT_FOR (has_ended (&pair.a));
  g_assert_cmpint (channel_state (second), ==, NATTER_CHANNEL_STATE_CLOSED);
  g_assert_null (natter_peer_get_chat_channel (pair.a.peer));
  g_assert_false (natter_channel_send_text (second, "after the end", &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED);

  pair_clear (&pair);
  g_assert_finalize_object (g_steal_pointer (&first));
  g_assert_finalize_object (g_steal_pointer (&second));
  g_assert_finalize_object (g_steal_pointer (&refused));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/Natter/Core/Peer/chat", test_peer_chat);
  g_test_add_func ("/Natter/Core/Peer/message-size", test_peer_message_size);
  g_test_add_func ("/Natter/Core/Peer/glare", test_peer_glare);
  g_test_add_func ("/Natter/Core/Peer/trust/bad-signature", test_peer_trust_bad_signature);
  g_test_add_func ("/Natter/Core/Peer/trust/swapped-fingerprint", test_peer_trust_swapped_fingerprint);
  g_test_add_func ("/Natter/Core/Peer/trust/missing-signature", test_peer_trust_missing_signature);
  g_test_add_func ("/Natter/Core/Peer/trust/certificate", test_peer_trust_certificate);
  g_test_add_func ("/Natter/Core/Peer/trust/splice", test_peer_trust_splice);
  g_test_add_func ("/Natter/Core/Peer/timeout", test_peer_timeout);
  g_test_add_func ("/Natter/Core/Peer/close", test_peer_close);
  g_test_add_func ("/Natter/Core/Peer/close-without-bye", test_peer_close_without_bye);
  g_test_add_func ("/Natter/Core/Peer/unknown-channels", test_peer_unknown_channels);
  g_test_add_func ("/Natter/Core/Peer/nul-in-text", test_peer_nul_in_text);
  g_test_add_func ("/Natter/Core/Peer/channel-flood", test_peer_channel_flood);
  g_test_add_func ("/Natter/Core/Peer/webrtcbin-freed", test_peer_webrtcbin_freed);
  g_test_add_func ("/Natter/Core/Peer/stale-candidates", test_peer_stale_candidates);
  g_test_add_func ("/Natter/Core/Peer/duplicates", test_peer_duplicates);
  g_test_add_func ("/Natter/Core/Peer/reconnect-after-crash", test_peer_reconnect_after_crash);
  g_test_add_func ("/Natter/Core/Peer/round-trip", test_peer_round_trip);
  g_test_add_func ("/Natter/Core/Peer/bulk", test_peer_bulk);
  g_test_add_func ("/Natter/Core/Peer/relay-only-without-turn", test_peer_relay_only_without_turn);
  g_test_add_func ("/Natter/Core/Channel/text-and-binary", test_channel_text_and_binary);
  g_test_add_func ("/Natter/Core/Channel/pacing", test_channel_pacing);
  g_test_add_func ("/Natter/Core/Channel/close", test_channel_close);
  /* Last: webrtcbin 1.22 never closes its ICE agent, and libnice warns when
   * an agent with TURN allocations goes away while they are still being
   * refreshed, which after this case happens only once the process ends */
  g_test_add_func ("/Natter/Core/Peer/turn", test_peer_turn);

  return g_test_run ();
}
