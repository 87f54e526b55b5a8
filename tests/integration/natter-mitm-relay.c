/* natter-mitm-relay.c: a hostile signaling relay for the trust tests
 *
 * Sits between clients and a real natter-server, passes every frame on,
 * and swaps the DTLS fingerprint in every SDP it relays: what a signaling
 * server in the middle would do to read the conversation. Natter peers must
 * notice (the fingerprint is signed by the sender's identity key) and refuse.
 *
 * Usage: natter-mitm-relay UPSTREAM-URL   (prints its own port on stdout)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "natter-mitm-relay"

#include "config.h"

#include <stdio.h>
#include <string.h>

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

typedef struct
{
  SoupWebsocketConnection *client;
  SoupWebsocketConnection *upstream;
  GPtrArray               *queued;   /* frames from the client before upstream opened */
} Pair;

static char *upstream_url;
static SoupSession *session;
static guint swapped;

static void
pair_free (Pair *pair)
{
  g_clear_object (&pair->client);
  g_clear_object (&pair->upstream);
  g_clear_pointer (&pair->queued, g_ptr_array_unref);
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
          swapped++;
        }
    }

  return g_strjoinv ("\n", lines);
}

static char *
tamper (const char *text)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(JsonGenerator) generator = NULL;
  JsonObject *frame;
  JsonObject *payload;

  if (!json_parser_load_from_data (parser, text, -1, NULL) ||
      !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return g_strdup (text);

  frame = json_node_get_object (json_parser_get_root (parser));
  if (g_strcmp0 (json_object_get_string_member_with_default (frame, "type", ""), "signal") != 0 ||
      !json_object_has_member (frame, "payload") ||
      (payload = json_object_get_object_member (frame, "payload")) == NULL ||
      !json_object_has_member (payload, "sdp"))
    return g_strdup (text);

  {
    g_autofree char *sdp = swap_fingerprint (json_object_get_string_member (payload, "sdp"));

    json_object_set_string_member (payload, "sdp", sdp);
  }

  generator = json_generator_new ();
  json_generator_set_root (generator, json_parser_get_root (parser));
  g_printerr ("natter-mitm-relay: swapped a DTLS fingerprint (%u so far)\n", swapped);
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
  g_autofree char *changed = tamper (text);

  if (pair->client != NULL &&
      soup_websocket_connection_get_state (pair->client) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_send_text (pair->client, changed);
}

static void
on_client_message (SoupWebsocketConnection *ws,
                   SoupWebsocketDataType    type,
                   GBytes                  *message,
                   gpointer                 user_data)
{
  Pair *pair = user_data;
  g_autofree char *text = g_strndup (g_bytes_get_data (message, NULL), g_bytes_get_size (message));

  if (pair->upstream == NULL)
    {
      g_ptr_array_add (pair->queued, g_steal_pointer (&text));
      return;
    }

  soup_websocket_connection_send_text (pair->upstream, text);
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

int
main (int   argc,
      char *argv[])
{
  g_autoptr(SoupServer) server = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  GSList *uris;

  if (argc != 2)
    {
      g_printerr ("Usage: natter-mitm-relay UPSTREAM-URL\n");
      return 2;
    }

  upstream_url = argv[1];
  session = soup_session_new ();
  server = soup_server_new (NULL, NULL);
  soup_server_add_websocket_handler (server, "/ws", NULL, NULL, on_websocket, NULL, NULL);
  if (!soup_server_listen_local (server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error))
    {
      g_printerr ("natter-mitm-relay: %s\n", error->message);
      return 1;
    }

  uris = soup_server_get_uris (server);
  g_print ("%d\n", g_uri_get_port (uris->data));
  fflush (stdout);
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);

  loop = g_main_loop_new (NULL, FALSE);
  g_main_loop_run (loop);
  return 0;
}
