/* natter-lan-link.c: one direct WebSocket between two nearby clients
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Each client listens on a port of its own and speaks the frames of
 * natter-server there (docs/lan.md). Both ends of a link are client and
 * server at once: each sends `hello` with a fresh nonce and its user ID,
 * each answers the other's `hello` with `auth` (the signature of
 * docs/protocol.md, naming "lan:" and the other's ID as the server it
 * meant), and each answers a good `auth` with `auth-ok`. Nothing but those
 * three is accepted until both keys are proven; after that, `signal`,
 * the invitation frames, `ping` and `ok`.
 */
#define G_LOG_DOMAIN "natter-lan"

#include "config.h"

#include <glib/gi18n-lib.h>

#include "natter-lan-private.h"
#include "natter-protocol.h"

struct _NatterLanLink
{
  NatterLan               *lan;          /* unowned: it owns the link */
  SoupWebsocketConnection *ws;
  GCancellable            *cancellable;
  char                    *address;      /* host:port */
  char                    *expected_id;  /* whom an announcement promised, or NULL */
  gboolean                 outgoing;

  char                    *nonce;        /* ours, in our hello */
  char                    *peer_claim;   /* the ID their hello names */
  gboolean                 hello_seen;
  gboolean                 peer_proven;  /* their auth checked */
  gboolean                 we_proven;    /* their auth-ok */
  gboolean                 ready;
  gboolean                 closed;

  guint                    timeout_id;
  guint                    ping_id;
  gint64                   last_heard;
};

static void link_finish (NatterLanLink *link);

const char *
_natter_lan_link_get_peer_id (NatterLanLink *link)
{
  return link->ready ? link->peer_claim : NULL;
}

const char *
_natter_lan_link_get_address (NatterLanLink *link)
{
  return link->address;
}

gboolean
_natter_lan_link_get_outgoing (NatterLanLink *link)
{
  return link->outgoing;
}

gboolean
_natter_lan_link_is_ready (NatterLanLink *link)
{
  return link->ready;
}

gboolean
_natter_lan_link_send (NatterLanLink  *link,
                       NatterFrame    *frame,
                       GError        **error)
{
  g_autofree char *text = NULL;

  if (link->ws == NULL || link->closed ||
      soup_websocket_connection_get_state (link->ws) != SOUP_WEBSOCKET_STATE_OPEN)
    {
      g_set_error_literal (error, NATTER_LAN_ERROR, NATTER_LAN_ERROR_NOT_NEARBY,
                           _("The direct connection is closed"));
      return FALSE;
    }

  text = natter_frame_to_string (frame, NULL);
  soup_websocket_connection_send_text (link->ws, text);
  return TRUE;
}

static void
send_error (NatterLanLink       *link,
            NatterProtocolError  code,
            const char          *message)
{
  g_autoptr(NatterFrame) frame = natter_frame_new_error (code, NULL, message);

  _natter_lan_link_send (link, frame, NULL);
}

void
_natter_lan_link_close (NatterLanLink *link,
                        gushort        code)
{
  if (link->closed)
    return;

  if (link->ws != NULL &&
      soup_websocket_connection_get_state (link->ws) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_close (link->ws, code, NULL);
  else
    link_finish (link);
}

/* The link is over: NatterLan forgets it (and frees it) */
static void
link_finish (NatterLanLink *link)
{
  if (link->closed)
    return;

  link->closed = TRUE;
  g_clear_handle_id (&link->timeout_id, g_source_remove);
  g_clear_handle_id (&link->ping_id, g_source_remove);
  _natter_lan_link_closed (link->lan, link);
}

static void
send_hello (NatterLanLink *link)
{
  g_autoptr(NatterFrame) hello = natter_frame_new (NATTER_FRAME_HELLO);

  natter_frame_set_int (hello, "version", NATTER_PROTOCOL_VERSION);
  natter_frame_set_string (hello, "nonce", link->nonce);
  natter_frame_set_int (hello, "max_frame_size", NATTER_FRAME_DEFAULT_MAX_SIZE);
  natter_frame_set_int (hello, "auth_timeout_s", NATTER_LAN_AUTH_TIMEOUT_S);
  natter_frame_set_string (hello, "server", link->lan->user_id);
  _natter_lan_link_send (link, hello, NULL);
}

static gboolean
on_hello (NatterLanLink *link,
          NatterFrame   *frame)
{
  const char *claim = natter_frame_get_string (frame, "server");
  g_autofree char *server = NULL;
  g_autofree char *message = NULL;
  g_autofree char *signature = NULL;
  g_autoptr(NatterFrame) auth = NULL;
  gsize length;

  /* One hello per link: a second may be someone else's challenge passed on */
  if (link->hello_seen)
    return FALSE;
  link->hello_seen = TRUE;

  if (natter_frame_get_int (frame, "version", 0) != NATTER_PROTOCOL_VERSION ||
      !natter_user_id_is_valid (claim) || g_str_equal (claim, link->lan->user_id))
    return FALSE;

  /* The announcement named someone else: not the peer it promised */
  if (link->expected_id != NULL && !g_str_equal (claim, link->expected_id))
    {
      g_debug ("A direct connection to %s answered as someone else", link->address);
      return FALSE;
    }

  link->peer_claim = g_strdup (claim);
  server = g_strconcat ("lan:", claim, NULL);
  message = natter_auth_challenge_message (natter_frame_get_string (frame, "nonce"),
                                           link->lan->user_id, server, &length);
  signature = natter_identity_sign (link->lan->identity, message, length);
  if (signature == NULL)
    return FALSE;

  auth = natter_frame_new (NATTER_FRAME_AUTH);
  natter_frame_set_id (auth, "1");
  natter_frame_set_string (auth, "user", link->lan->user_id);
  natter_frame_set_string (auth, "server", server);
  natter_frame_set_string (auth, "signature", signature);
  return _natter_lan_link_send (link, auth, NULL);
}

static gboolean
on_auth (NatterLanLink *link,
         NatterFrame   *frame)
{
  const char *user = natter_frame_get_string (frame, "user");
  g_autofree char *server = g_strconcat ("lan:", link->lan->user_id, NULL);
  g_autofree char *message = NULL;
  g_autoptr(NatterFrame) ok = NULL;
  gsize length;

  if (link->peer_proven || link->peer_claim == NULL || g_strcmp0 (user, link->peer_claim) != 0 ||
      g_strcmp0 (natter_frame_get_string (frame, "server"), server) != 0)
    return FALSE;

  message = natter_auth_challenge_message (link->nonce, user, server, &length);
  if (!natter_identity_verify (user, message, length,
                               natter_frame_get_string (frame, "signature")))
    {
      g_debug ("A direct connection from %s did not prove its key", link->address);
      return FALSE;
    }

  link->peer_proven = TRUE;
  ok = natter_frame_new (NATTER_FRAME_AUTH_OK);
  natter_frame_set_ref (ok, natter_frame_get_id (frame));
  natter_frame_set_string (ok, "user", user);
  natter_frame_take_array (ok, "ice_servers", json_array_new ());
  return _natter_lan_link_send (link, ok, NULL);
}

static void
check_ready (NatterLanLink *link)
{
  if (link->ready || !link->peer_proven || !link->we_proven)
    return;

  link->ready = TRUE;
  g_clear_handle_id (&link->timeout_id, g_source_remove);
  _natter_lan_link_ready (link->lan, link);
}

/* What the other end may send, by direction of natter-server's frames:
 * those a server sends, and those a client sends */
static NatterFrameDirection
direction_of (const char *data,
              gsize       length)
{
  static const char * const to_client[] = { "hello", "auth-ok", "ok", "error", "pong", NULL };
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonNode *root;
  const char *type;

  if (!json_parser_load_from_data (parser, data, length, NULL))
    return NATTER_FRAME_TO_SERVER;

  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return NATTER_FRAME_TO_SERVER;

  type = json_object_get_string_member_with_default (json_node_get_object (root), "type", "");
  return g_strv_contains (to_client, type) ? NATTER_FRAME_TO_CLIENT : NATTER_FRAME_TO_SERVER;
}

static void
on_message (SoupWebsocketConnection *ws,
            int                      type,
            GBytes                  *message,
            gpointer                 user_data)
{
  NatterLanLink *link = user_data;
  g_autoptr(NatterFrame) frame = NULL;
  g_autoptr(GError) error = NULL;
  const char *data;
  gsize length;
  gboolean good = TRUE;

  link->last_heard = g_get_monotonic_time ();
  if (link->closed)
    return;

  if (type != SOUP_WEBSOCKET_DATA_TEXT)
    {
      send_error (link, NATTER_PROTOCOL_ERROR_BINARY_FRAME, "Frames are text");
      return;
    }

  data = g_bytes_get_data (message, &length);
  frame = natter_frame_parse (data, length, direction_of (data, length),
                              NATTER_FRAME_DEFAULT_MAX_SIZE, NULL, &error);
  if (frame == NULL)
    {
      g_debug ("Ignored a frame from %s: %s", link->address, error->message);
      if (!link->ready)
        _natter_lan_link_close (link, NATTER_LAN_CLOSE_AUTH);
      return;
    }

  switch (natter_frame_get_frame_type (frame))
    {
    case NATTER_FRAME_HELLO:
      good = on_hello (link, frame);
      break;
    case NATTER_FRAME_AUTH:
      good = on_auth (link, frame);
      break;
    case NATTER_FRAME_AUTH_OK:
      good = !link->we_proven && link->hello_seen &&
             g_strcmp0 (natter_frame_get_string (frame, "user"), link->lan->user_id) == 0;
      link->we_proven = good;
      break;
    case NATTER_FRAME_ERROR:
      good = link->ready;
      break;
    case NATTER_FRAME_PING:
      {
        g_autoptr(NatterFrame) pong = natter_frame_new (NATTER_FRAME_PONG);

        natter_frame_set_ref (pong, natter_frame_get_id (frame));
        _natter_lan_link_send (link, pong, NULL);
      }
      return;
    case NATTER_FRAME_PONG:
      return;
    default:
      if (!link->ready)
        {
          send_error (link, NATTER_PROTOCOL_ERROR_NOT_AUTHENTICATED, "Prove your key first");
          good = FALSE;
          break;
        }
      _natter_lan_link_frame (link->lan, link, frame);
      return;
    }

  if (!good)
    {
      if (!link->ready)
        send_error (link, NATTER_PROTOCOL_ERROR_AUTH_FAILED, "The key proof failed");
      _natter_lan_link_close (link, NATTER_LAN_CLOSE_AUTH);
      return;
    }

  check_ready (link);
}

static void
on_closed (SoupWebsocketConnection *ws,
           gpointer                 user_data)
{
  link_finish (user_data);
}

static gboolean
on_auth_timeout (gpointer user_data)
{
  NatterLanLink *link = user_data;

  link->timeout_id = 0;
  g_debug ("A direct connection with %s did not prove itself in time", link->address);
  _natter_lan_link_close (link, NATTER_LAN_CLOSE_AUTH);
  return G_SOURCE_REMOVE;
}

/* WebSocket pings keep the link warm; a peer that went away without
 * closing is noticed when nothing has been heard for a while. */
static gboolean
on_ping (gpointer user_data)
{
  NatterLanLink *link = user_data;
  g_autoptr(NatterFrame) ping = NULL;

  if (g_get_monotonic_time () - link->last_heard > NATTER_LAN_DEAD_S * G_USEC_PER_SEC)
    {
      g_debug ("Nothing heard from %s for %d s", link->address, NATTER_LAN_DEAD_S);
      link->ping_id = 0;
      _natter_lan_link_close (link, SOUP_WEBSOCKET_CLOSE_GOING_AWAY);
      return G_SOURCE_REMOVE;
    }

  ping = natter_frame_new (NATTER_FRAME_PING);
  _natter_lan_link_send (link, ping, NULL);
  return G_SOURCE_CONTINUE;
}

static void
link_start (NatterLanLink           *link,
            SoupWebsocketConnection *ws)
{
  link->ws = g_object_ref (ws);
  link->last_heard = g_get_monotonic_time ();
  soup_websocket_connection_set_max_incoming_payload_size (ws, NATTER_FRAME_DEFAULT_MAX_SIZE);
  g_signal_connect (ws, "message", G_CALLBACK (on_message), link);
  g_signal_connect (ws, "closed", G_CALLBACK (on_closed), link);
  link->ping_id = g_timeout_add_seconds (NATTER_LAN_PING_S, on_ping, link);
  send_hello (link);
}

static NatterLanLink *
link_new (NatterLan  *self,
          const char *address,
          const char *expected_id,
          gboolean    outgoing)
{
  NatterLanLink *link = g_new0 (NatterLanLink, 1);

  link->lan = self;
  link->address = g_strdup (address);
  link->expected_id = g_strdup (expected_id);
  link->outgoing = outgoing;
  link->nonce = natter_auth_challenge_new_nonce ();
  link->cancellable = g_cancellable_new ();
  link->timeout_id = g_timeout_add_seconds (NATTER_LAN_AUTH_TIMEOUT_S, on_auth_timeout, link);
  g_ptr_array_add (self->links, link);
  return link;
}

void
_natter_lan_link_free (NatterLanLink *link)
{
  g_cancellable_cancel (link->cancellable);
  g_clear_object (&link->cancellable);
  g_clear_handle_id (&link->timeout_id, g_source_remove);
  g_clear_handle_id (&link->ping_id, g_source_remove);
  if (link->ws != NULL)
    {
      g_signal_handlers_disconnect_by_data (link->ws, link);
      if (soup_websocket_connection_get_state (link->ws) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close (link->ws, SOUP_WEBSOCKET_CLOSE_NORMAL, "bye");
      g_clear_object (&link->ws);
    }
  g_free (link->address);
  g_free (link->expected_id);
  g_free (link->nonce);
  g_free (link->peer_claim);
  g_free (link);
}

static void
on_websocket (SoupServer              *server,
              SoupServerMessage       *msg,
              const char              *path,
              SoupWebsocketConnection *ws,
              gpointer                 user_data)
{
  NatterLan *self = user_data;
  GSocketAddress *remote = soup_server_message_get_remote_address (msg);
  g_autofree char *address = NULL;
  NatterLanLink *link;

  if (G_IS_INET_SOCKET_ADDRESS (remote))
    {
      g_autofree char *host =
        g_inet_address_to_string (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (remote)));

      address = g_strdup_printf ("%s:%u", host,
                                 g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (remote)));
    }

  link = link_new (self, address != NULL ? address : "?", NULL, FALSE);
  link_start (link, ws);
}

/* Listens on the port asked for; if it is taken, on another one chosen at
 * random (the caller remembers it: notify::port). */
gboolean
_natter_lan_listen (NatterLan  *self,
                    GError    **error)
{
  g_autoptr(GError) local_error = NULL;

  if (self->server == NULL)
    {
      self->server = soup_server_new ("server-header", NULL, NULL);
      soup_server_add_websocket_handler (self->server, NATTER_LAN_PATH, NULL, NULL,
                                         on_websocket, self, NULL);
    }

  for (guint attempt = 0; attempt < 20; attempt++)
    {
      guint port = self->port;

      if (port == 0 || attempt > 0)
        port = g_random_int_range (NATTER_LAN_PORT_MIN, NATTER_LAN_PORT_MAX + 1);

      g_clear_error (&local_error);
      if (soup_server_listen_all (self->server, port, 0, &local_error))
        {
          if (port != self->port)
            {
              self->port = port;
              g_object_notify (G_OBJECT (self), "port");
            }
          return TRUE;
        }
    }

  g_set_error (error, NATTER_LAN_ERROR, NATTER_LAN_ERROR_LISTEN,
               _("Cannot listen for nearby people: %s"), local_error->message);
  return FALSE;
}

static void
on_connected (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  NatterLanLink *link = user_data;
  g_autoptr(SoupWebsocketConnection) ws = NULL;
  g_autoptr(GError) error = NULL;

  ws = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &error);
  if (ws == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_debug ("Could not reach %s: %s", link->address, error->message);
          link_finish (link);
        }
      return;
    }

  link_start (link, ws);
}

NatterLanLink *
_natter_lan_link_dial (NatterLan  *self,
                       const char *host,
                       guint       port,
                       const char *expected_id)
{
  g_autoptr(GUri) uri = NULL;
  g_autoptr(SoupMessage) msg = NULL;
  g_autofree char *address = NULL;
  NatterLanLink *link;

  address = strchr (host, ':') != NULL ? g_strdup_printf ("[%s]:%u", host, port)
                                       : g_strdup_printf ("%s:%u", host, port);
  uri = g_uri_build (G_URI_FLAGS_NONE, "ws", NULL, host, (int) port, NATTER_LAN_PATH,
                     NULL, NULL);
  msg = soup_message_new_from_uri (SOUP_METHOD_GET, uri);
  link = link_new (self, address, expected_id, TRUE);
  soup_session_websocket_connect_async (self->session, msg, NULL, NULL, G_PRIORITY_DEFAULT,
                                        link->cancellable, on_connected, link);
  return link;
}
