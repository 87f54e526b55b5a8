/* natter-test-raw.c: plain TCP clients for the limits tests
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "natter-test-raw"

#include "config.h"

#include <string.h>
#include <sys/socket.h>
#include <json-glib/json-glib.h>

#include "natter-protocol.h"

#include "natter-test-raw.h"

#define RAW_TIMEOUT_MS 10000

/* Connects to the server from source_address (NULL: any) with the given
 * receive buffer (0: the system's). */
GSocket *
natter_test_raw_connect (NatterTestServer *server,
                         const char       *source_address,
                         gsize             receive_buffer)
{
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_from_string ("127.0.0.1");
  g_autoptr(GSocketAddress) address = NULL;
  g_autoptr(GError) error = NULL;

  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                         &error);
  g_assert_no_error (error);
  g_socket_set_timeout (socket, MAX (1, natter_test_timeout_ms (RAW_TIMEOUT_MS) / 1000));

  if (receive_buffer > 0)
    {
      g_socket_set_option (socket, SOL_SOCKET, SO_RCVBUF, (int) receive_buffer, &error);
      g_assert_no_error (error);
    }

  if (source_address != NULL)
    {
      g_autoptr(GInetAddress) source = g_inet_address_new_from_string (source_address);
      g_autoptr(GSocketAddress) bind_address = g_inet_socket_address_new (source, 0);

      g_socket_bind (socket, bind_address, FALSE, &error);
      g_assert_no_error (error);
    }

  address = g_inet_socket_address_new (loopback, natter_test_server_get_port (server));
  g_socket_connect (socket, address, NULL, &error);
  g_assert_no_error (error);

  return g_steal_pointer (&socket);
}

void
natter_test_raw_send (GSocket    *socket,
                      const char *text)
{
  gsize length = strlen (text);
  gsize sent = 0;

  while (sent < length)
    {
      g_autoptr(GError) error = NULL;
      gssize n = g_socket_send (socket, text + sent, length - sent, NULL, &error);

      g_assert_no_error (error);
      sent += n;
    }
}

/* FALSE at end of file (or a reset). */
static gboolean
read_exactly (GSocket *socket,
              guint8  *buffer,
              gsize    length)
{
  gsize got = 0;

  while (got < length)
    {
      g_autoptr(GError) error = NULL;
      gssize n = g_socket_receive (socket, (char *) buffer + got, length - got, NULL, &error);

      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED) ||
          g_error_matches (error, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE))
        return FALSE;
      g_assert_no_error (error);
      if (n == 0)
        return FALSE;
      got += n;
    }

  return TRUE;
}

/* Reads an HTTP response head (up to the empty line) byte by byte. */
char *
natter_test_raw_read_head (GSocket *socket)
{
  g_autoptr(GString) head = g_string_new (NULL);

  while (!g_str_has_suffix (head->str, "\r\n\r\n"))
    {
      guint8 c;

      if (!read_exactly (socket, &c, 1))
        g_error ("the server closed the connection in the middle of a response");
      g_string_append_c (head, c);
      g_assert_cmpuint (head->len, <, 16384);
    }

  return g_string_free (g_steal_pointer (&head), FALSE);
}

static guint
status_of (const char *head)
{
  g_autofree char *digits = NULL;
  guint64 status = 0;

  g_assert_true (g_str_has_prefix (head, "HTTP/1.1 "));
  digits = g_strndup (head + 9, 3);
  g_assert_true (g_ascii_string_to_unsigned (digits, 10, 100, 599, &status, NULL));

  return status;
}

/* GETs path (keeping the connection alive) and returns the status; the
 * body is left unread. */
guint
natter_test_raw_http_status (GSocket    *socket,
                             const char *path)
{
  g_autofree char *request = g_strdup_printf ("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
                                              path);
  g_autofree char *head = NULL;

  natter_test_raw_send (socket, request);
  head = natter_test_raw_read_head (socket);

  return status_of (head);
}

void
natter_test_raw_upgrade (GSocket *socket)
{
  g_autofree char *head = NULL;

  natter_test_raw_send (socket,
                        "GET /ws HTTP/1.1\r\n"
                        "Host: 127.0.0.1\r\n"
                        "Upgrade: websocket\r\n"
                        "Connection: Upgrade\r\n"
                        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                        "Sec-WebSocket-Version: 13\r\n\r\n");
  head = natter_test_raw_read_head (socket);
  g_assert_cmpuint (status_of (head), ==, 101);
}

/* Sends one masked text frame (as RFC 6455 has clients do). */
void
natter_test_raw_send_text (GSocket    *socket,
                           const char *text)
{
  gsize length = strlen (text);
  g_autoptr(GByteArray) frame = g_byte_array_sized_new (length + 14);
  guint8 header[10];
  const guint8 mask[4] = { 0x12, 0x34, 0x56, 0x78 };
  gsize header_length;
  gsize sent = 0;

  header[0] = 0x81;
  if (length < 126)
    {
      header[1] = 0x80 | length;
      header_length = 2;
    }
  else if (length < 65536)
    {
      header[1] = 0x80 | 126;
      header[2] = length >> 8;
      header[3] = length & 0xff;
      header_length = 4;
    }
  else
    {
      header[1] = 0x80 | 127;
      for (guint i = 0; i < 8; i++)
        header[2 + i] = ((guint64) length >> (8 * (7 - i))) & 0xff;
      header_length = 10;
    }

  g_byte_array_append (frame, header, header_length);
  g_byte_array_append (frame, mask, sizeof mask);
  for (gsize i = 0; i < length; i++)
    {
      guint8 c = text[i] ^ mask[i % 4];

      g_byte_array_append (frame, &c, 1);
    }

  while (sent < frame->len)
    {
      g_autoptr(GError) error = NULL;
      gssize n = g_socket_send (socket, (char *) frame->data + sent, frame->len - sent, NULL,
                                &error);

      g_assert_no_error (error);
      sent += n;
    }
}

/* Reads one unfragmented frame from the server; returns its payload, or
 * %NULL at the end of the connection. */
char *
natter_test_raw_read_frame (GSocket *socket,
                            guint   *opcode)
{
  guint8 header[8];
  guint64 length;
  char *payload;

  if (!read_exactly (socket, header, 2))
    return NULL;
  *opcode = header[0] & 0x0f;
  g_assert_true (header[0] & 0x80);
  g_assert_false (header[1] & 0x80);
  length = header[1] & 0x7f;
  if (length == 126)
    {
      if (!read_exactly (socket, header, 2))
        return NULL;
      length = (header[0] << 8) | header[1];
    }
  else if (length == 127)
    {
      if (!read_exactly (socket, header, 8))
        return NULL;
      length = 0;
      for (guint i = 0; i < 8; i++)
        length = (length << 8) | header[i];
    }
  g_assert_cmpuint (length, <, 16 * 1024 * 1024);

  payload = g_malloc (length + 1);
  if (!read_exactly (socket, (guint8 *) payload, length))
    {
      g_free (payload);
      return NULL;
    }
  payload[length] = '\0';

  return payload;
}

static JsonObject *
read_json (GSocket    *socket,
           const char *type)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  JsonObject *object;
  guint opcode;

  text = natter_test_raw_read_frame (socket, &opcode);
  if (text == NULL)
    g_error ("the server closed the connection before %s", type);
  g_assert_cmpuint (opcode, ==, 1);
  json_parser_load_from_data (parser, text, -1, &error);
  g_assert_no_error (error);
  object = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpstr (json_object_get_string_member_with_default (object, "type", ""), ==, type);

  return json_object_ref (object);
}

/* Upgrades, authenticates with a fresh key and returns its user ID. */
char *
natter_test_raw_authenticate (GSocket          *socket,
                              NatterTestServer *server)
{
  g_autofree char *url = natter_test_server_get_uri (server, "/ws");
  g_autofree char *server_name = natter_auth_server_name_from_url (url);
  guint8 public_key[NATTER_PUBLIC_KEY_SIZE];
  guint8 secret_key[NATTER_SECRET_KEY_SIZE];
  g_autoptr(JsonObject) hello = NULL;
  g_autoptr(JsonObject) auth_ok = NULL;
  g_autofree char *user = NULL;
  g_autofree char *signature = NULL;
  g_autofree char *auth = NULL;

  natter_keypair_generate (public_key, secret_key);
  user = natter_user_id_from_public_key (public_key);

  natter_test_raw_upgrade (socket);
  hello = read_json (socket, "hello");
  signature = natter_auth_challenge_sign (secret_key,
                                          json_object_get_string_member (hello, "nonce"), user,
                                          server_name);
  natter_secure_zero (secret_key, sizeof secret_key);
  auth = g_strdup_printf ("{\"type\":\"auth\",\"id\":\"a\",\"user\":\"%s\",\"server\":\"%s\","
                          "\"signature\":\"%s\"}", user, server_name, signature);
  natter_test_raw_send_text (socket, auth);
  auth_ok = read_json (socket, "auth-ok");

  return g_steal_pointer (&user);
}

/* Reads and discards until end of file; FALSE if it did not come in time
 * (a reset counts as the end too). */
gboolean
natter_test_raw_wait_eof (GSocket *socket,
                          guint    timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + timeout_ms * G_TIME_SPAN_MILLISECOND;
  char buffer[4096];

  while (g_get_monotonic_time () < deadline)
    {
      g_autoptr(GError) error = NULL;
      gssize n;

      if (!g_socket_condition_timed_wait (socket, G_IO_IN, 100 * G_TIME_SPAN_MILLISECOND, NULL,
                                          NULL))
        continue;
      n = g_socket_receive (socket, buffer, sizeof buffer, NULL, &error);
      if (n <= 0)
        return TRUE;
    }

  return FALSE;
}

/* Reads frames until the close frame and returns its code; 1006 if the
 * connection ended without one. */
guint
natter_test_raw_read_until_close (GSocket *socket)
{
  for (;;)
    {
      g_autofree char *payload = NULL;
      guint opcode;

      payload = natter_test_raw_read_frame (socket, &opcode);
      if (payload == NULL)
        return 1006;
      if (opcode == 8 && strlen (payload) < 2)
        return 1005;   /* no code */
      if (opcode == 8)
        return ((guint8) payload[0] << 8) | (guint8) payload[1];
    }
}
