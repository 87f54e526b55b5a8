/* natter-test-client.c: a signaling client for tests, on a real WebSocket
 *
 * Each client has a fresh Ed25519 key pair and its own SoupSession. Frames
 * that arrive are queued; the wait functions run the default main context
 * until a frame of the wanted kind is there, and fail the test when it does
 * not come in time.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "natter-test-client"

#include "config.h"

#include <libsoup/soup.h>

#include "natter-test-client.h"

#define CONNECT_TIMEOUT_MS 10000
#define FRAME_TIMEOUT_MS   10000
#define CLOSE_TIMEOUT_MS   10000

struct _NatterTestClient
{
  GObject                  parent_instance;

  NatterTestServer        *server;
  SoupSession             *session;
  SoupWebsocketConnection *connection;
  GQueue                   frames;
  char                    *nonce;
  char                    *user;
  guint8                   public_key[NATTER_PUBLIC_KEY_SIZE];
  guint8                   secret_key[NATTER_SECRET_KEY_SIZE];
  guint                    next_id;
  gushort                  close_code;
  gboolean                 closed;
  gboolean                 got_frame;
};

G_DEFINE_FINAL_TYPE (NatterTestClient, natter_test_client, G_TYPE_OBJECT)

static char *
unquote_format (const char *format)
{
  char *json = g_strdup (format);

  g_strdelimit (json, "'", '"');
  return json;
}

static const char *
frame_type (JsonObject *frame)
{
  return json_object_get_string_member_with_default (frame, "type", "");
}

static char *
describe_queue (NatterTestClient *self)
{
  g_autoptr(GString) text = g_string_new (NULL);

  for (GList *l = self->frames.head; l != NULL; l = l->next)
    g_string_append_printf (text, "%s%s", text->len > 0 ? ", " : "", frame_type (l->data));

  return g_string_free (g_steal_pointer (&text), FALSE);
}

static void
on_message (SoupWebsocketConnection *connection,
            SoupWebsocketDataType    data_type,
            GBytes                  *message,
            gpointer                 user_data)
{
  NatterTestClient *self = user_data;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonNode *root;

  if (data_type != SOUP_WEBSOCKET_DATA_TEXT)
    natter_test_fail ("the server sent a binary frame");

  json_parser_load_from_data (parser, g_bytes_get_data (message, NULL),
                              g_bytes_get_size (message), &error);
  g_assert_no_error (error);
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    natter_test_fail ("the server sent a frame that is not a JSON object");

  g_queue_push_tail (&self->frames, json_object_ref (json_node_get_object (root)));
  self->got_frame = TRUE;
}

static void
on_closed (SoupWebsocketConnection *connection,
           gpointer                 user_data)
{
  NatterTestClient *self = user_data;

  self->close_code = soup_websocket_connection_get_close_code (connection);
  self->closed = TRUE;
  self->got_frame = TRUE;
}

static JsonObject *
take_frame (NatterTestClient *self,
            const char       *member,
            const char       *value)
{
  for (GList *l = self->frames.head; l != NULL; l = l->next)
    {
      JsonObject *frame = l->data;
      const char *found = json_object_get_string_member_with_default (frame, member, NULL);

      if (g_strcmp0 (found, value) == 0)
        {
          g_queue_delete_link (&self->frames, l);
          return frame;
        }
    }

  return NULL;
}

/* Waits for the first queued or arriving frame whose string member equals
 * value, and removes it from the queue. Other frames stay queued. */
static JsonObject *
wait_frame (NatterTestClient *self,
            const char       *member,
            const char       *value)
{
  gint64 deadline = g_get_monotonic_time () +
                    natter_test_timeout_ms (FRAME_TIMEOUT_MS) * G_TIME_SPAN_MILLISECOND;

  while (TRUE)
    {
      JsonObject *frame = take_frame (self, member, value);
      g_autofree char *queued = NULL;
      gint64 remaining;

      if (frame != NULL)
        return frame;

      remaining = deadline - g_get_monotonic_time ();
      if (self->closed || remaining <= 0)
        {
          queued = describe_queue (self);
          natter_test_fail ("no frame with %s \"%s\" %s (queued: %s)", member, value,
                            self->closed ? "before the connection closed" : "in time", queued);
        }

      self->got_frame = FALSE;
      natter_test_wait_until (&self->got_frame, (guint) (remaining / G_TIME_SPAN_MILLISECOND) + 1);
    }
}

JsonObject *
natter_test_client_wait (NatterTestClient *self,
                         const char       *type)
{
  g_return_val_if_fail (NATTER_IS_TEST_CLIENT (self), NULL);

  return wait_frame (self, "type", type);
}

JsonObject *
natter_test_client_wait_ref (NatterTestClient *self,
                             const char       *ref)
{
  g_return_val_if_fail (NATTER_IS_TEST_CLIENT (self), NULL);

  return wait_frame (self, "ref", ref);
}

static void
assert_error (JsonObject *frame,
              const char *code,
              const char *ref)
{
  g_assert_cmpstr (frame_type (frame), ==, "error");
  g_assert_cmpstr (json_object_get_string_member_with_default (frame, "code", NULL), ==, code);
  g_assert_nonnull (json_object_get_string_member_with_default (frame, "message", NULL));
  if (ref != NULL)
    g_assert_cmpstr (json_object_get_string_member_with_default (frame, "ref", NULL), ==, ref);
}

/* Waits for the next error frame and checks its code (and ref unless
 * NULL). */
void
natter_test_client_expect_error (NatterTestClient *self,
                                 const char       *code,
                                 const char       *ref)
{
  g_autoptr(JsonObject) frame = NULL;

  g_return_if_fail (NATTER_IS_TEST_CLIENT (self));

  frame = natter_test_client_wait (self, "error");
  assert_error (frame, code, ref);
}

/* Removes the queued error frames with this code (and ref, unless NULL)
 * and returns how many there were; waits for nothing. */
guint
natter_test_client_take_errors (NatterTestClient *self,
                                const char       *code,
                                const char       *ref)
{
  guint n = 0;
  GList *l = NULL;

  g_return_val_if_fail (NATTER_IS_TEST_CLIENT (self), 0);

  l = self->frames.head;
  while (l != NULL)
    {
      JsonObject *frame = l->data;
      GList *next = l->next;

      if (g_str_equal (frame_type (frame), "error") &&
          g_strcmp0 (json_object_get_string_member_with_default (frame, "code", NULL), code) == 0 &&
          (ref == NULL ||
           g_strcmp0 (json_object_get_string_member_with_default (frame, "ref", NULL), ref) == 0))
        {
          json_object_unref (frame);
          g_queue_delete_link (&self->frames, l);
          n++;
        }
      l = next;
    }

  return n;
}

/* Lets ms pass and asserts that no frame of type (any frame if NULL)
 * arrived or was queued. */
void
natter_test_client_assert_no_frame (NatterTestClient *self,
                                    const char       *type,
                                    guint             ms)
{
  g_return_if_fail (NATTER_IS_TEST_CLIENT (self));

  natter_test_sleep_ms (ms);
  for (GList *l = self->frames.head; l != NULL; l = l->next)
    {
      if (type == NULL || g_str_equal (frame_type (l->data), type))
        natter_test_fail ("unexpected frame \"%s\"", frame_type (l->data));
    }
}

void
natter_test_client_send_raw (NatterTestClient *self,
                             const char       *text)
{
  g_return_if_fail (NATTER_IS_TEST_CLIENT (self));
  g_return_if_fail (self->connection != NULL);

  soup_websocket_connection_send_text (self->connection, text);
}

void
natter_test_client_send_binary (NatterTestClient *self,
                                gconstpointer     data,
                                gsize             length)
{
  g_return_if_fail (NATTER_IS_TEST_CLIENT (self));
  g_return_if_fail (self->connection != NULL);

  soup_websocket_connection_send_binary (self->connection, data, length);
}

static char *
format_frame (const char *format,
              va_list     args)
{
  g_autofree char *json_format = unquote_format (format);

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
  return g_strdup_vprintf (json_format, args);
#pragma GCC diagnostic pop
}

void
natter_test_client_send (NatterTestClient *self,
                         const char       *format,
                         ...)
{
  g_autofree char *text = NULL;
  va_list args;

  g_return_if_fail (NATTER_IS_TEST_CLIENT (self));

  va_start (args, format);
  text = format_frame (format, args);
  va_end (args);

  natter_test_client_send_raw (self, text);
}

static JsonObject *
send_request (NatterTestClient *self,
              char             *text)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  const char *id;

  json_parser_load_from_data (parser, text, -1, &error);
  g_assert_no_error (error);
  id = json_object_get_string_member_with_default (json_node_get_object (
                                                     json_parser_get_root (parser)), "id", NULL);
  g_assert_nonnull (id);

  natter_test_client_send_raw (self, text);
  return natter_test_client_wait_ref (self, id);
}

/* Sends a frame that has an "id" and returns the reply that carries it in
 * "ref". */
JsonObject *
natter_test_client_request (NatterTestClient *self,
                            const char       *format,
                            ...)
{
  g_autofree char *text = NULL;
  va_list args;

  g_return_val_if_fail (NATTER_IS_TEST_CLIENT (self), NULL);

  va_start (args, format);
  text = format_frame (format, args);
  va_end (args);

  return send_request (self, text);
}

/* Like natter_test_client_request() and asserts that the reply is an error
 * with the given code. */
void
natter_test_client_request_error (NatterTestClient *self,
                                  const char       *code,
                                  const char       *format,
                                  ...)
{
  g_autoptr(JsonObject) reply = NULL;
  g_autofree char *text = NULL;
  va_list args;

  g_return_if_fail (NATTER_IS_TEST_CLIENT (self));

  va_start (args, format);
  text = format_frame (format, args);
  va_end (args);

  reply = send_request (self, text);
  assert_error (reply, code, NULL);
}

/* A round trip: everything the server sent this client before the pong is
 * queued once this returns. */
void
natter_test_client_ping (NatterTestClient *self)
{
  g_autoptr(JsonObject) pong = NULL;
  guint id;

  g_return_if_fail (NATTER_IS_TEST_CLIENT (self));

  id = self->next_id++;
  pong = natter_test_client_request (self, "{'type':'ping','id':'ping-%u'}", id);
  g_assert_cmpstr (frame_type (pong), ==, "pong");
}

gushort
natter_test_client_wait_closed (NatterTestClient *self)
{
  g_return_val_if_fail (NATTER_IS_TEST_CLIENT (self), 0);

  if (!natter_test_wait_until (&self->closed, natter_test_timeout_ms (CLOSE_TIMEOUT_MS)))
    natter_test_fail ("the server did not close the connection in time");

  return self->close_code;
}

gboolean
natter_test_client_is_closed (NatterTestClient *self)
{
  g_return_val_if_fail (NATTER_IS_TEST_CLIENT (self), FALSE);

  return self->closed;
}

static gboolean
on_accept_certificate (SoupMessage          *message,
                       GTlsCertificate      *certificate,
                       GTlsCertificateFlags  errors,
                       gpointer              user_data)
{
  /* The tests generate a self-signed certificate for 127.0.0.1. */
  return TRUE;
}

typedef struct
{
  SoupWebsocketConnection *connection;
  GError                  *error;
  gboolean                 done;
} ConnectData;

static void
on_connected (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  ConnectData *data = user_data;

  data->connection = soup_session_websocket_connect_finish (SOUP_SESSION (source), result,
                                                            &data->error);
  data->done = TRUE;
}

/* Opens the WebSocket without waiting for hello. */
gboolean
natter_test_client_open (NatterTestClient  *self,
                         gboolean           accept_certificate,
                         GError           **error)
{
  g_autoptr(SoupMessage) message = NULL;
  g_autofree char *uri = NULL;
  ConnectData data = { NULL, NULL, FALSE };

  g_return_val_if_fail (NATTER_IS_TEST_CLIENT (self), FALSE);
  g_return_val_if_fail (self->connection == NULL, FALSE);

  uri = natter_test_server_get_uri (self->server, "/ws");
  message = soup_message_new (SOUP_METHOD_GET, uri);
  if (accept_certificate)
    g_signal_connect (message, "accept-certificate", G_CALLBACK (on_accept_certificate), NULL);

  soup_session_websocket_connect_async (self->session, message, NULL, NULL, G_PRIORITY_DEFAULT,
                                        NULL, on_connected, &data);
  if (!natter_test_wait_until (&data.done, natter_test_timeout_ms (CONNECT_TIMEOUT_MS)))
    natter_test_fail ("the WebSocket handshake did not finish in time");
  if (data.error != NULL)
    {
      g_propagate_error (error, data.error);
      return FALSE;
    }

  self->connection = data.connection;
  self->closed = FALSE;
  self->close_code = 0;
  /* Room for the 1 MiB frames of the size tests in the other direction. */
  soup_websocket_connection_set_max_incoming_payload_size (self->connection, 2 * 1024 * 1024);
  g_signal_connect (self->connection, "message", G_CALLBACK (on_message), self);
  g_signal_connect (self->connection, "closed", G_CALLBACK (on_closed), self);

  return TRUE;
}

/* Opens the WebSocket, waits for hello, checks it and keeps its nonce. */
JsonObject *
natter_test_client_connect (NatterTestClient *self)
{
  g_autoptr(GError) error = NULL;
  JsonObject *hello;
  const char *nonce;

  g_return_val_if_fail (NATTER_IS_TEST_CLIENT (self), NULL);

  natter_test_client_open (self, TRUE, &error);
  g_assert_no_error (error);

  hello = natter_test_client_wait (self, "hello");
  nonce = json_object_get_string_member_with_default (hello, "nonce", NULL);
  g_assert_nonnull (nonce);
  g_free (self->nonce);
  self->nonce = g_strdup (nonce);

  return hello;
}

/* Connects if needed, then signs the nonce and waits for auth-ok. */
JsonObject *
natter_test_client_authenticate (NatterTestClient *self)
{
  g_autofree char *server = NULL;
  g_autofree char *signature = NULL;
  JsonObject *auth_ok;

  g_return_val_if_fail (NATTER_IS_TEST_CLIENT (self), NULL);

  if (self->connection == NULL)
    json_object_unref (natter_test_client_connect (self));

  server = natter_test_client_get_server_name (self);
  signature = natter_auth_challenge_sign (self->secret_key, self->nonce, self->user, server);
  auth_ok = natter_test_client_request (self, "{'type':'auth','id':'auth','user':'%s',"
                                        "'server':'%s','signature':'%s'}", self->user, server,
                                        signature);
  g_assert_cmpstr (frame_type (auth_ok), ==, "auth-ok");
  g_assert_cmpstr (json_object_get_string_member_with_default (auth_ok, "user", NULL), ==,
                   self->user);

  return auth_ok;
}

static void
drop_connection (NatterTestClient *self)
{
  if (self->connection == NULL)
    return;

  if (!self->closed)
    {
      soup_websocket_connection_close (self->connection, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
      natter_test_wait_until (&self->closed, natter_test_timeout_ms (CLOSE_TIMEOUT_MS));
    }
  g_signal_handlers_disconnect_by_data (self->connection, self);
  g_clear_object (&self->connection);
}

/* Closes normally (1000), waits for the close to finish and forgets the
 * connection and its queued frames; the client may connect again. */
void
natter_test_client_close (NatterTestClient *self)
{
  g_return_if_fail (NATTER_IS_TEST_CLIENT (self));

  drop_connection (self);
  g_queue_clear_full (&self->frames, (GDestroyNotify) json_object_unref);
  g_clear_pointer (&self->nonce, g_free);
}

const char *
natter_test_client_get_user (NatterTestClient *self)
{
  g_return_val_if_fail (NATTER_IS_TEST_CLIENT (self), NULL);

  return self->user;
}

const guint8 *
natter_test_client_get_secret_key (NatterTestClient *self)
{
  g_return_val_if_fail (NATTER_IS_TEST_CLIENT (self), NULL);

  return self->secret_key;
}

/**
 * natter_test_client_get_server_name:
 *
 * Returns: (transfer full): the server this client dials, as it signs it in
 *   `auth`
 */
char *
natter_test_client_get_server_name (NatterTestClient *self)
{
  g_autofree char *url = NULL;

  g_return_val_if_fail (NATTER_IS_TEST_CLIENT (self), NULL);

  url = natter_test_server_get_uri (self->server, "/ws");
  return natter_auth_server_name_from_url (url);
}

const char *
natter_test_client_get_nonce (NatterTestClient *self)
{
  g_return_val_if_fail (NATTER_IS_TEST_CLIENT (self), NULL);

  return self->nonce;
}

static void
natter_test_client_dispose (GObject *object)
{
  NatterTestClient *self = NATTER_TEST_CLIENT (object);

  drop_connection (self);
  g_clear_object (&self->session);
  g_clear_object (&self->server);

  G_OBJECT_CLASS (natter_test_client_parent_class)->dispose (object);
}

static void
natter_test_client_finalize (GObject *object)
{
  NatterTestClient *self = NATTER_TEST_CLIENT (object);

  g_queue_clear_full (&self->frames, (GDestroyNotify) json_object_unref);
  g_clear_pointer (&self->nonce, g_free);
  g_clear_pointer (&self->user, g_free);
  natter_secure_zero (self->secret_key, sizeof self->secret_key);

  G_OBJECT_CLASS (natter_test_client_parent_class)->finalize (object);
}

static void
natter_test_client_class_init (NatterTestClientClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = natter_test_client_dispose;
  object_class->finalize = natter_test_client_finalize;
}

static void
natter_test_client_init (NatterTestClient *self)
{
  g_queue_init (&self->frames);
  self->session = soup_session_new ();
}

static NatterTestClient *
client_new (NatterTestServer *server,
            const guint8      public_key[NATTER_PUBLIC_KEY_SIZE],
            const guint8      secret_key[NATTER_SECRET_KEY_SIZE])
{
  NatterTestClient *self = g_object_new (NATTER_TYPE_TEST_CLIENT, NULL);

  self->server = g_object_ref (server);
  memcpy (self->public_key, public_key, sizeof self->public_key);
  memcpy (self->secret_key, secret_key, sizeof self->secret_key);
  self->user = natter_user_id_from_public_key (self->public_key);
  g_assert_true (natter_user_id_is_valid (self->user));

  return self;
}

/* A client with a fresh key pair, not connected yet. */
NatterTestClient *
natter_test_client_new (NatterTestServer *server)
{
  guint8 public_key[NATTER_PUBLIC_KEY_SIZE];
  guint8 secret_key[NATTER_SECRET_KEY_SIZE];
  NatterTestClient *self;

  g_return_val_if_fail (NATTER_IS_TEST_SERVER (server), NULL);

  natter_keypair_generate (public_key, secret_key);
  self = client_new (server, public_key, secret_key);
  natter_secure_zero (secret_key, sizeof secret_key);

  return self;
}

/* A second client with the same key pair (the same user ID). */
NatterTestClient *
natter_test_client_new_same_user (NatterTestClient *other)
{
  g_return_val_if_fail (NATTER_IS_TEST_CLIENT (other), NULL);

  return client_new (other->server, other->public_key, other->secret_key);
}

/* The same user (key pair) on another server, of a cluster say. */
NatterTestClient *
natter_test_client_new_same_user_on (NatterTestClient *other,
                                     NatterTestServer *server)
{
  g_return_val_if_fail (NATTER_IS_TEST_CLIENT (other), NULL);

  return client_new (server, other->public_key, other->secret_key);
}

/* A client that has received hello. */
NatterTestClient *
natter_test_client_new_connected (NatterTestServer *server)
{
  NatterTestClient *self = natter_test_client_new (server);

  json_object_unref (natter_test_client_connect (self));

  return self;
}

/* A client that has received auth-ok. */
NatterTestClient *
natter_test_client_new_authenticated (NatterTestServer *server)
{
  NatterTestClient *self = natter_test_client_new (server);

  json_object_unref (natter_test_client_authenticate (self));

  return self;
}
