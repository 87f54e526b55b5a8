/* natter-mitm-relay.c: a hostile signaling relay for the trust tests
 *
 * Sits between clients and a real natter-server and passes every frame on,
 * changing what a hostile signaling server in the middle would change. One
 * mode a run:
 *
 *   swap      swaps the DTLS fingerprint in every SDP it relays, to read the
 *             conversation; the SDP signature must refuse it.
 *   splice    holds the key of Mallory, a contact of Alice who colludes with
 *             the server, and joins Bob (who wants Alice) to Alice (who is
 *             made to believe she talks to Mallory): Bob's payloads reach
 *             Alice as Mallory's, re-signed with Mallory's key; Alice's
 *             payloads for Mallory go to Bob, with the signature of an answer
 *             Alice once sent Bob (recorded before the splice), or, with
 *             --alice-key, signed afresh with Alice's key, which stands in
 *             for any gap in the SDP signature: the binding inside DTLS must
 *             still refuse.
 *   replay    records the first offer and puts its SDP and signature into
 *             later offers of new sessions.
 *   pass      changes nothing; --inject FRAME sends FRAME upstream once the
 *             server has accepted a client's sign-in (what a server that
 *             passed another server's challenge to a victim would do with
 *             the victim's session there); --hello-again sends the client
 *             the challenge once more after its sign-in, and logs whether it
 *             answers.
 *
 * splice and replay start changing frames only after SIGUSR1, so that the
 * test can first let an honest conversation through (and the relay record).
 *
 * Usage: natter-mitm-relay [--port PORT] [--mode MODE] [options] UPSTREAM-URL
 * (prints its own port on stdout)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "natter-mitm-relay"

#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib-unix.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "natter-identity.h"
#include "natter-peer-trust-private.h"

typedef struct
{
  SoupWebsocketConnection *client;
  SoupWebsocketConnection *upstream;
  GPtrArray               *queued;   /* frames from the client before upstream opened */
  char                    *user;     /* as the client signed in */
  char                    *hello;    /* the server's challenge */
  gboolean                 signed_in;
  gboolean                 injected;
} Pair;

static char *upstream_url;
static SoupSession *session;
static const char *mode = "swap";
static char *alice_id;
static char *bob_id;
static NatterIdentity *mallory;
static NatterIdentity *alice;
static char *inject;
static gboolean hello_again;
static gboolean armed;
static char *recorded_signature;  /* of an answer alice sent bob */
static char *recorded_sdp;        /* of the first offer (replay) */
static char *recorded_sdp_sig;
static guint changed;

static void
pair_free (Pair *pair)
{
  g_clear_object (&pair->client);
  g_clear_object (&pair->upstream);
  g_clear_pointer (&pair->queued, g_ptr_array_unref);
  g_free (pair->user);
  g_free (pair->hello);
  g_free (pair);
}

/* Replaces the fingerprint hex digits of every a=fingerprint line. */
static char *
swap_fingerprint (const char *sdp)
{
  g_auto(GStrv) lines = g_strsplit (sdp, "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      if (g_str_has_prefix (lines[i], "a=fingerprint:"))
        {
          char *hex = strchr (lines[i], ' ');

          for (char *p = hex; p != NULL && *p != '\0'; p++)
            if (g_ascii_isxdigit (*p))
              *p = *p == 'A' ? 'B' : 'A';
        }
    }

  return g_strjoinv ("\n", lines);
}

static const char *
member (JsonObject *object,
        const char *name)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, name) : NULL;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

static void
resign (JsonObject     *payload,
        NatterIdentity *signer,
        const char     *receiver)
{
  g_autofree char *signature = NULL;

  signature = _natter_peer_sign_sdp (signer, receiver, member (payload, "session"),
                                     member (payload, "sdp"));
  if (signature != NULL)
    json_object_set_string_member (payload, NATTER_PEER_SDP_SIGNATURE, signature);
}

static void
note (const char *what)
{
  changed++;
  g_printerr ("natter-mitm-relay: %s (%u so far)\n", what, changed);
}

/* A frame on its way from the server to @pair's client; returns whether it
 * was changed */
static gboolean
tamper_down (Pair       *pair,
             JsonObject *frame)
{
  JsonObject *payload = json_object_get_object_member (frame, "payload");
  const char *sdp = member (payload, "sdp");

  if (g_str_equal (mode, "swap") && sdp != NULL)
    {
      g_autofree char *swapped = swap_fingerprint (sdp);

      json_object_set_string_member (payload, "sdp", swapped);
      note ("swapped a DTLS fingerprint");
      return TRUE;
    }

  if (g_str_equal (mode, "splice") && armed && g_strcmp0 (pair->user, alice_id) == 0 &&
      g_strcmp0 (member (frame, "from"), bob_id) == 0)
    {
      /* Bob's payloads reach Alice as Mallory's */
      json_object_set_string_member (frame, "from", natter_identity_get_user_id (mallory));
      if (sdp != NULL)
        {
          resign (payload, mallory, alice_id);
          note ("passed Bob's description to Alice as Mallory's");
        }
      return TRUE;
    }

  return FALSE;
}

/* A frame on its way from @pair's client to the server */
static gboolean
tamper_up (Pair       *pair,
           JsonObject *frame)
{
  JsonObject *payload = json_object_get_object_member (frame, "payload");
  const char *sdp = member (payload, "sdp");
  const char *to = member (frame, "to");

  if (g_str_equal (mode, "splice") && g_strcmp0 (pair->user, alice_id) == 0)
    {
      if (!armed && g_strcmp0 (to, bob_id) == 0 && sdp != NULL &&
          g_strcmp0 (member (payload, "type"), "answer") == 0 && recorded_signature == NULL)
        {
          recorded_signature = g_strdup (member (payload, NATTER_PEER_SDP_SIGNATURE));
          g_printerr ("natter-mitm-relay: recorded an answer Alice signed for Bob\n");
        }

      if (armed && g_strcmp0 (to, natter_identity_get_user_id (mallory)) == 0)
        {
          /* Alice's payloads for Mallory go to Bob */
          json_object_set_string_member (frame, "to", bob_id);
          if (sdp != NULL && alice != NULL)
            {
              resign (payload, alice, bob_id);
              note ("passed Alice's description for Mallory to Bob, signed afresh");
            }
          else if (sdp != NULL && recorded_signature != NULL)
            {
              json_object_set_string_member (payload, NATTER_PEER_SDP_SIGNATURE,
                                             recorded_signature);
              note ("passed Alice's description for Mallory to Bob with a recorded signature");
            }
          return TRUE;
        }
    }

  if (g_str_equal (mode, "replay") && sdp != NULL &&
      g_strcmp0 (member (payload, "type"), "offer") == 0)
    {
      if (recorded_sdp == NULL)
        {
          recorded_sdp = g_strdup (sdp);
          recorded_sdp_sig = g_strdup (member (payload, NATTER_PEER_SDP_SIGNATURE));
          g_printerr ("natter-mitm-relay: recorded an offer\n");
        }
      else if (armed)
        {
          json_object_set_string_member (payload, "sdp", recorded_sdp);
          json_object_set_string_member (payload, NATTER_PEER_SDP_SIGNATURE, recorded_sdp_sig);
          note ("replayed a recorded offer into a new session");
          return TRUE;
        }
    }

  return FALSE;
}

static gboolean
on_hello_again (gpointer user_data)
{
  Pair *pair = user_data;

  if (pair->client != NULL &&
      soup_websocket_connection_get_state (pair->client) == SOUP_WEBSOCKET_STATE_OPEN)
    {
      soup_websocket_connection_send_text (pair->client, pair->hello);
      g_printerr ("natter-mitm-relay: sent the client a second challenge\n");
    }

  return G_SOURCE_REMOVE;
}

/* Returns the text to pass on: @text itself, or what the mode made of it */
static char *
tamper (Pair       *pair,
        const char *text,
        gboolean    down)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(JsonGenerator) generator = NULL;
  JsonObject *frame;
  const char *type;
  gboolean touched;

  if (!json_parser_load_from_data (parser, text, -1, NULL) ||
      !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return g_strdup (text);

  frame = json_node_get_object (json_parser_get_root (parser));
  type = member (frame, "type");

  if (down && g_strcmp0 (type, "hello") == 0 && pair->hello == NULL)
    pair->hello = g_strdup (text);

  if (!down && g_strcmp0 (type, "auth") == 0 && pair->signed_in)
    g_printerr ("natter-mitm-relay: the client answered a second challenge\n");

  if (down && g_strcmp0 (type, "auth-ok") == 0)
    pair->signed_in = TRUE;

  if (down && g_strcmp0 (type, "auth-ok") == 0 && hello_again && pair->hello != NULL)
    {
      /* After the auth-ok it is passed along with */
      g_idle_add_full (G_PRIORITY_DEFAULT, on_hello_again, pair, NULL);
    }

  if (!down && g_strcmp0 (type, "auth") == 0 && member (frame, "user") != NULL)
    {
      g_free (pair->user);
      pair->user = g_strdup (member (frame, "user"));
    }

  if (down && g_strcmp0 (type, "auth-ok") == 0 && inject != NULL && !pair->injected)
    {
      pair->injected = TRUE;
      soup_websocket_connection_send_text (pair->upstream, inject);
      g_printerr ("natter-mitm-relay: signed in as the victim; injected a frame\n");
    }

  if (g_strcmp0 (type, "signal") != 0 || !json_object_has_member (frame, "payload") ||
      !JSON_NODE_HOLDS_OBJECT (json_object_get_member (frame, "payload")))
    return g_strdup (text);

  touched = down ? tamper_down (pair, frame) : tamper_up (pair, frame);
  if (!touched)
    return g_strdup (text);

  generator = json_generator_new ();
  json_generator_set_root (generator, json_parser_get_root (parser));
  return json_generator_to_data (generator, NULL);
}

static void
on_upstream_message (SoupWebsocketConnection *ws,
                     SoupWebsocketDataType    type,
                     GBytes                  *message,
                     gpointer                 user_data)
{
  Pair *pair = user_data;
  g_autofree char *text = g_strndup (g_bytes_get_data (message, NULL), g_bytes_get_size (message));
  g_autofree char *changed_text = tamper (pair, text, TRUE);

  if (pair->client != NULL &&
      soup_websocket_connection_get_state (pair->client) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_send_text (pair->client, changed_text);
}

static void
on_client_message (SoupWebsocketConnection *ws,
                   SoupWebsocketDataType    type,
                   GBytes                  *message,
                   gpointer                 user_data)
{
  Pair *pair = user_data;
  g_autofree char *text = g_strndup (g_bytes_get_data (message, NULL), g_bytes_get_size (message));
  g_autofree char *changed_text = tamper (pair, text, FALSE);

  if (pair->upstream == NULL)
    {
      g_ptr_array_add (pair->queued, g_steal_pointer (&changed_text));
      return;
    }

  soup_websocket_connection_send_text (pair->upstream, changed_text);
}

static void
on_either_closed (SoupWebsocketConnection *ws,
                  gpointer                 user_data)
{
  Pair *pair = user_data;

  if (pair->client != NULL && soup_websocket_connection_get_state (pair->client) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_close (pair->client, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, NULL);
  if (pair->upstream != NULL && soup_websocket_connection_get_state (pair->upstream) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_close (pair->upstream, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, NULL);
}

static void
on_upstream_connected (GObject      *source,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  Pair *pair = user_data;
  g_autoptr(GError) error = NULL;

  pair->upstream = soup_session_websocket_connect_finish (session, result, &error);
  if (pair->upstream == NULL)
    {
      g_printerr ("natter-mitm-relay: upstream: %s\n", error->message);
      soup_websocket_connection_close (pair->client, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, NULL);
      return;
    }

  g_signal_connect (pair->upstream, "message", G_CALLBACK (on_upstream_message), pair);
  g_signal_connect (pair->upstream, "closed", G_CALLBACK (on_either_closed), pair);
  for (guint i = 0; i < pair->queued->len; i++)
    soup_websocket_connection_send_text (pair->upstream, g_ptr_array_index (pair->queued, i));
  g_ptr_array_set_size (pair->queued, 0);
}

static void
on_websocket (SoupServer              *server,
              SoupServerMessage       *msg,
              const char              *path,
              SoupWebsocketConnection *connection,
              gpointer                 user_data)
{
  Pair *pair = g_new0 (Pair, 1);
  g_autoptr(SoupMessage) upstream_msg = soup_message_new (SOUP_METHOD_GET, upstream_url);

  pair->client = g_object_ref (connection);
  pair->queued = g_ptr_array_new_with_free_func (g_free);
  g_object_set_data_full (G_OBJECT (connection), "pair", pair, (GDestroyNotify) pair_free);
  g_signal_connect (connection, "message", G_CALLBACK (on_client_message), pair);
  g_signal_connect (connection, "closed", G_CALLBACK (on_either_closed), pair);

  soup_session_websocket_connect_async (session, upstream_msg, NULL, NULL, G_PRIORITY_DEFAULT,
                                        NULL, on_upstream_connected, pair);
}

static gboolean
on_arm (gpointer user_data)
{
  armed = TRUE;
  g_printerr ("natter-mitm-relay: armed\n");
  return G_SOURCE_CONTINUE;
}

static NatterIdentity *
load_key (const char *path)
{
  g_autoptr(GError) error = NULL;
  NatterIdentity *identity;

  if (path == NULL)
    return NULL;

  identity = natter_identity_load_from_file (path, FALSE, &error);
  if (identity == NULL)
    {
      g_printerr ("natter-mitm-relay: %s: %s\n", path, error->message);
      exit (2);
    }

  return identity;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(SoupServer) server = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  g_autoptr(GOptionContext) context = NULL;
  g_autofree char *mode_option = NULL;
  g_autofree char *mallory_key = NULL;
  g_autofree char *alice_key = NULL;
  int port = 0;
  GSList *uris;
  const GOptionEntry entries[] = {
    { "port", 0, 0, G_OPTION_ARG_INT, &port, "Listen on this port of 127.0.0.1", "PORT" },
    { "mode", 0, 0, G_OPTION_ARG_STRING, &mode_option, "swap, splice, replay or pass", "MODE" },
    { "alice", 0, 0, G_OPTION_ARG_STRING, &alice_id, "splice: Alice's user ID", "ID" },
    { "bob", 0, 0, G_OPTION_ARG_STRING, &bob_id, "splice: Bob's user ID", "ID" },
    { "mallory-key", 0, 0, G_OPTION_ARG_FILENAME, &mallory_key,
      "splice: the key file of Mallory, who colludes", "FILE" },
    { "alice-key", 0, 0, G_OPTION_ARG_FILENAME, &alice_key,
      "splice: Alice's key file, to get past the SDP signature", "FILE" },
    { "inject", 0, 0, G_OPTION_ARG_STRING, &inject,
      "pass: a frame to send once a client is signed in", "JSON" },
    { "hello-again", 0, 0, G_OPTION_ARG_NONE, &hello_again,
      "pass: send the client its challenge again once it is signed in", NULL },
    { NULL }
  };

  context = g_option_context_new ("UPSTREAM-URL");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error) || argc != 2)
    {
      g_printerr ("Usage: natter-mitm-relay [OPTION…] UPSTREAM-URL\n");
      return 2;
    }

  if (mode_option != NULL)
    mode = mode_option;
  if (g_str_equal (mode, "splice") && (alice_id == NULL || bob_id == NULL || mallory_key == NULL))
    {
      g_printerr ("natter-mitm-relay: splice needs --alice, --bob and --mallory-key\n");
      return 2;
    }
  mallory = load_key (mallory_key);
  alice = load_key (alice_key);

  upstream_url = argv[1];
  session = soup_session_new ();
  server = soup_server_new (NULL, NULL);
  soup_server_add_websocket_handler (server, "/ws", NULL, NULL, on_websocket, NULL, NULL);
  if (!soup_server_listen_local (server, port, SOUP_SERVER_LISTEN_IPV4_ONLY, &error))
    {
      g_printerr ("natter-mitm-relay: %s\n", error->message);
      return 1;
    }

  /* Before the port is printed: the test may arm us at once */
  g_unix_signal_add (SIGUSR1, on_arm, NULL);

  uris = soup_server_get_uris (server);
  g_print ("%d\n", g_uri_get_port (uris->data));
  fflush (stdout);
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);

  loop = g_main_loop_new (NULL, FALSE);
  g_main_loop_run (loop);
  return 0;
}
