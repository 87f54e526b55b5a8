/* natter-server-connection.c: one client WebSocket of natter-server
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A connection checks what its client sends before the server sees it:
 * the rate limit (a token bucket), binary frames, the frame size and the
 * frame syntax. It owns the authentication state (the nonce of `hello`, the
 * timer of `auth_timeout_s`) and remembers when the client was last heard
 * from, for the server's heartbeat sweep. What a frame means is up to
 * NatterServer.
 *
 * It also bounds what waits for its client: the bytes handed to libsoup
 * minus those its NatterServerStream passed to the socket. A frame that
 * would take that over `max_output` is dropped (the caller tells whoever
 * sent it), and a client that stays over for `slow_timeout_s` is closed.
 */
#define G_LOG_DOMAIN "natter-server-connection"

#include "config.h"

#include <string.h>

#include "natter-server-config.h"
#include "natter-server-private.h"

#include "natter-server-connection.h"

struct _NatterServerConnection
{
  GObject parent_instance;

  NatterServerShard *shard;           /* unowned: the shard outlives its connections */
  NatterServerKey key;                /* its name across shards */
  const NatterServerLimits *limits;   /* owned by the server */
  SoupWebsocketConnection *websocket;
  NatterServerStream *stream;         /* NULL if libsoup hid it: then no output bound */
  guint64 written_before;             /* what the stream wrote before the WebSocket */
  guint64 handed;                     /* bytes of frames handed to libsoup */
  gint64 over_since;                  /* monotonic µs; 0 while under max_output */

  char *user;                         /* NULL until authenticated */
  char *nonce;                        /* NULL once used */
  GSocketAddress *local_address;      /* what the client reached */
  GHashTable *subscriptions;          /* user ID (owned) set; created on demand */
  GPtrArray *rooms;                   /* rooms (owned by the server); created on demand */

  gint64 last_activity;               /* monotonic µs */
  gint64 bucket_updated;              /* monotonic µs */
  double tokens;
  guint dropped;                      /* frames dropped since the last accepted one */

  GSource *auth_timeout;
  gboolean closing;
};

G_DEFINE_FINAL_TYPE (NatterServerConnection, natter_server_connection, G_TYPE_OBJECT)

static gboolean
take_token (NatterServerConnection *self,
            gint64                  now)
{
  double elapsed = (double) (now - self->bucket_updated) / G_USEC_PER_SEC;

  self->bucket_updated = now;
  self->tokens = MIN ((double) self->limits->rate_burst,
                      self->tokens + elapsed * self->limits->rate_per_s);

  if (self->tokens < 1.0)
    return FALSE;

  self->tokens -= 1.0;
  return TRUE;
}

static void
reject (NatterServerConnection *self,
        NatterProtocolError     code,
        const char             *ref,
        const char             *message)
{
  _natter_server_send_error (self->shard, self, code, ref, message);
}

/* The bytes a server frame of @length payload bytes takes on the wire
 * (RFC 6455: unmasked, 2, 4 or 10 bytes of header). */
static gsize
wire_size (gsize length)
{
  if (length < 126)
    return length + 2;
  if (length < 65536)
    return length + 4;
  return length + 10;
}

/* Over the bound since @since (0: under it again); the server watches the
 * connections that are over. */
static void
set_over_since (NatterServerConnection *self,
                gint64                  since)
{
  if ((self->over_since == 0) == (since == 0))
    return;

  self->over_since = since;
  if (since != 0)
    g_hash_table_add (self->shard->slow, self);
  else
    g_hash_table_remove (self->shard->slow, self);
}

static gsize
queued_bytes (NatterServerConnection *self)
{
  guint64 written;

  if (self->stream == NULL)
    return 0;

  /* libsoup's own control frames (pongs, pings) are written but were never
   * handed: the figure errs on the low side by those few bytes. */
  written = natter_server_stream_get_bytes_written (self->stream) - self->written_before;

  return self->handed > written ? self->handed - written : 0;
}

/*
 * scan_id:
 *
 * Finds the top-level member `"id"` of a frame too large (or too early)
 * to be parsed, by a scan that follows only strings and nesting: the value
 * must be a string without escapes of at most NATTER_FRAME_ID_MAX_LENGTH
 * bytes of UTF-8. Anything else gives %NULL, and the error goes without
 * `ref`.
 */
static char *
scan_id (const char *data,
         gsize       size)
{
  int depth = 0;
  gsize i = 0;

  while (i < size)
    {
      char c = data[i];
      gsize start, end;

      if (c == '{' || c == '[')
        depth++;
      else if (c == '}' || c == ']')
        depth--;

      if (c != '"')
        {
          i++;
          continue;
        }

      start = ++i;
      while (i < size && data[i] != '"')
        i += data[i] == '\\' ? 2 : 1;
      if (i >= size)
        return NULL;
      end = i++;

      if (depth != 1 || end - start != 2 || memcmp (data + start, "id", 2) != 0)
        continue;

      while (i < size && g_ascii_isspace (data[i]))
        i++;
      if (i >= size || data[i] != ':')
        continue;   /* a value "id", not a member name */
      i++;
      while (i < size && g_ascii_isspace (data[i]))
        i++;
      if (i >= size || data[i] != '"')
        return NULL;

      start = ++i;
      while (i < size && i - start <= NATTER_FRAME_ID_MAX_LENGTH && data[i] != '"' &&
             data[i] != '\\' && (guchar) data[i] >= 0x20)
        i++;
      if (i >= size || data[i] != '"' || !g_utf8_validate (data + start, i - start, NULL))
        return NULL;

      return g_strndup (data + start, i - start);
    }

  return NULL;
}

static void
on_message (SoupWebsocketConnection *websocket,
            SoupWebsocketDataType    type,
            GBytes                  *message,
            gpointer                 user_data)
{
  NatterServerConnection *self = user_data;
  g_autoptr(NatterFrame) frame = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *ref = NULL;
  gint64 now = g_get_monotonic_time ();
  const char *data;
  gsize size;

  self->last_activity = now;
  _natter_server_count_received (self->shard);

  if (self->closing)
    return;

  data = g_bytes_get_data (message, &size);

  /* A fragmented message can add up to more than libsoup's limit per frame. */
  if (size > NATTER_SERVER_HARD_MAX_FRAME_SIZE)
    {
      natter_server_connection_close (self, NATTER_CLOSE_TOO_BIG);
      return;
    }

  if (!take_token (self, now))
    {
      if (type == SOUP_WEBSOCKET_DATA_TEXT)
        ref = scan_id (data, size);
      reject (self, NATTER_PROTOCOL_ERROR_RATE_LIMITED, ref,
              "Too many frames; this one was dropped");
      if (++self->dropped > self->limits->rate_burst)
        natter_server_connection_close (self, NATTER_CLOSE_RATE_LIMITED);
      return;
    }
  self->dropped = 0;

  if (type != SOUP_WEBSOCKET_DATA_TEXT)
    {
      reject (self, NATTER_PROTOCOL_ERROR_BINARY_FRAME, NULL, "Frames must be text");
      return;
    }

  /* Relaying is what the server does most: recognise it without a parse. */
  if (self->user != NULL)
    {
      NatterSignalScan scan;

      if (natter_frame_scan_signal (data, size, self->limits->max_frame_size, &scan) &&
          _natter_server_relay_scanned (self->shard, self, &scan))
        return;
    }

  frame = natter_frame_parse (data, size, NATTER_FRAME_TO_SERVER, self->limits->max_frame_size,
                              &ref, &error);
  if (frame == NULL)
    {
      NatterProtocolError code = NATTER_PROTOCOL_ERROR_BAD_FRAME;

      if (error->domain == NATTER_PROTOCOL_ERROR)
        code = error->code;
      if (ref == NULL && code == NATTER_PROTOCOL_ERROR_FRAME_TOO_LARGE)
        ref = scan_id (data, size);
      reject (self, code, ref, error->message);
      return;
    }

  _natter_server_dispatch (self->shard, self, frame);
}

static void
on_pong (SoupWebsocketConnection *websocket,
         GBytes                  *message,
         gpointer                 user_data)
{
  NatterServerConnection *self = user_data;

  self->last_activity = g_get_monotonic_time ();
}

static void
on_error (SoupWebsocketConnection *websocket,
          GError                  *error,
          gpointer                 user_data)
{
  NatterServerConnection *self = user_data;

  /* libsoup drops a connection that announces a frame over its
   * max-incoming-payload-size without a close frame; say why first.
   */
  if (g_error_matches (error, SOUP_WEBSOCKET_ERROR, SOUP_WEBSOCKET_CLOSE_TOO_BIG))
    {
      natter_server_connection_close (self, NATTER_CLOSE_TOO_BIG);
      return;
    }

  g_debug ("WebSocket error: %s", error->message);
}

static void
on_closed (SoupWebsocketConnection *websocket,
           gpointer                 user_data)
{
  NatterServerConnection *self = user_data;

  /* May drop the last reference to self. */
  _natter_server_connection_closed (self->shard, self);
}

static gboolean
on_auth_timeout (gpointer user_data)
{
  NatterServerConnection *self = user_data;

  g_clear_pointer (&self->auth_timeout, g_source_unref);

  if (self->user == NULL && !self->closing)
    {
      reject (self, NATTER_PROTOCOL_ERROR_AUTH_TIMEOUT, NULL,
              "No auth frame within the authentication timeout");
      natter_server_connection_close (self, NATTER_CLOSE_AUTH_TIMEOUT);
    }

  return G_SOURCE_REMOVE;
}

static void
natter_server_connection_dispose (GObject *object)
{
  NatterServerConnection *self = (NatterServerConnection *) object;

  _natter_server_clear_source (&self->auth_timeout);
  g_clear_object (&self->stream);

  if (self->websocket != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->websocket, self);
      if (soup_websocket_connection_get_state (self->websocket) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close (self->websocket, NATTER_CLOSE_GOING_AWAY, NULL);
      g_clear_object (&self->websocket);
    }

  G_OBJECT_CLASS (natter_server_connection_parent_class)->dispose (object);
}

static void
natter_server_connection_finalize (GObject *object)
{
  NatterServerConnection *self = (NatterServerConnection *) object;

  g_clear_pointer (&self->user, g_free);
  g_clear_pointer (&self->nonce, g_free);
  g_clear_object (&self->local_address);
  g_clear_pointer (&self->subscriptions, g_hash_table_unref);
  g_clear_pointer (&self->rooms, g_ptr_array_unref);

  G_OBJECT_CLASS (natter_server_connection_parent_class)->finalize (object);
}

static void
natter_server_connection_class_init (NatterServerConnectionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = natter_server_connection_dispose;
  object_class->finalize = natter_server_connection_finalize;
}

static void
natter_server_connection_init (NatterServerConnection *self)
{
}

/**
 * natter_server_connection_new:
 * @shard: the server's shard it belongs to (not referenced; it outlives the
 *   connection)
 * @websocket: the accepted WebSocket
 * @stream: (nullable): the stream under @websocket, for the output bound
 * @limits: (type gpointer): the server's #NatterServerLimits, which must
 *   outlive the connection
 *
 * Returns: (transfer full): a new connection, waiting for `auth`
 */
NatterServerConnection *
natter_server_connection_new (NatterServerShard       *shard,
                              SoupWebsocketConnection *websocket,
                              NatterServerStream      *stream,
                              gconstpointer            limits)
{
  NatterServerConnection *self;

  g_return_val_if_fail (SOUP_IS_WEBSOCKET_CONNECTION (websocket), NULL);
  g_return_val_if_fail (limits != NULL, NULL);

  self = g_object_new (NATTER_TYPE_SERVER_CONNECTION, NULL);
  self->shard = shard;
  self->limits = limits;
  self->websocket = g_object_ref (websocket);
  if (stream != NULL)
    {
      self->stream = g_object_ref (stream);
      self->written_before = natter_server_stream_get_bytes_written (stream);
    }
  self->last_activity = self->bucket_updated = g_get_monotonic_time ();
  self->tokens = self->limits->rate_burst;

  soup_websocket_connection_set_max_incoming_payload_size (websocket,
                                                           NATTER_SERVER_HARD_MAX_FRAME_SIZE);
  soup_websocket_connection_set_keepalive_interval (websocket, self->limits->heartbeat_s);

  g_signal_connect (websocket, "message", G_CALLBACK (on_message), self);
  g_signal_connect (websocket, "pong", G_CALLBACK (on_pong), self);
  g_signal_connect (websocket, "error", G_CALLBACK (on_error), self);
  g_signal_connect (websocket, "closed", G_CALLBACK (on_closed), self);

  /* In the thread-default context: the connection's shard's. */
  self->auth_timeout = g_timeout_source_new_seconds (self->limits->auth_timeout_s);
  g_source_set_callback (self->auth_timeout, on_auth_timeout, self, NULL);
  g_source_attach (self->auth_timeout, g_main_context_get_thread_default ());

  return self;
}

/**
 * natter_server_connection_get_user:
 *
 * Returns: (nullable): the authenticated user ID
 */
const char *
natter_server_connection_get_user (NatterServerConnection *self)
{
  g_return_val_if_fail (NATTER_IS_SERVER_CONNECTION (self), NULL);

  return self->user;
}

/**
 * natter_server_connection_set_user:
 *
 * Marks the connection authenticated as @user; the nonce is used up.
 */
void
natter_server_connection_set_user (NatterServerConnection *self,
                                   const char             *user)
{
  g_return_if_fail (NATTER_IS_SERVER_CONNECTION (self));
  g_return_if_fail (self->user == NULL);
  g_return_if_fail (user != NULL);

  self->user = g_strdup (user);
  natter_server_connection_forget_nonce (self);
  _natter_server_clear_source (&self->auth_timeout);
}

/**
 * natter_server_connection_get_nonce:
 *
 * Returns: (nullable): the nonce sent in `hello`, until it is used
 */
const char *
natter_server_connection_get_nonce (NatterServerConnection *self)
{
  g_return_val_if_fail (NATTER_IS_SERVER_CONNECTION (self), NULL);

  return self->nonce;
}

/**
 * natter_server_connection_get_local_address:
 *
 * Returns: (nullable) (transfer none): the address and port of ours that
 *   the client's connection reached
 */
GSocketAddress *
natter_server_connection_get_local_address (NatterServerConnection *self)
{
  g_return_val_if_fail (NATTER_IS_SERVER_CONNECTION (self), NULL);

  return self->local_address;
}

void
natter_server_connection_set_local_address (NatterServerConnection *self,
                                            GSocketAddress         *address)
{
  g_return_if_fail (NATTER_IS_SERVER_CONNECTION (self));

  g_set_object (&self->local_address, address);
}

void
natter_server_connection_forget_nonce (NatterServerConnection *self)
{
  g_return_if_fail (NATTER_IS_SERVER_CONNECTION (self));

  g_clear_pointer (&self->nonce, g_free);
}

gboolean
natter_server_connection_is_closing (NatterServerConnection *self)
{
  g_return_val_if_fail (NATTER_IS_SERVER_CONNECTION (self), TRUE);

  return self->closing;
}

/**
 * natter_server_connection_get_last_activity:
 *
 * Returns: the monotonic time (µs) of the last frame or pong from the client
 */
gint64
natter_server_connection_get_last_activity (NatterServerConnection *self)
{
  g_return_val_if_fail (NATTER_IS_SERVER_CONNECTION (self), 0);

  return self->last_activity;
}

/**
 * natter_server_connection_get_subscriptions:
 * @create: whether to create the set when there is none yet
 *
 * Returns: (transfer none) (nullable): the set of user IDs this connection
 *   watches
 */
GHashTable *
natter_server_connection_get_subscriptions (NatterServerConnection *self,
                                            gboolean                create)
{
  g_return_val_if_fail (NATTER_IS_SERVER_CONNECTION (self), NULL);

  if (self->subscriptions == NULL && create)
    self->subscriptions = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  return self->subscriptions;
}

/**
 * natter_server_connection_get_rooms:
 * @create: whether to create the array when there is none yet
 *
 * Returns: (transfer none) (nullable): the rooms this connection is in
 */
GPtrArray *
natter_server_connection_get_rooms (NatterServerConnection *self,
                                    gboolean                create)
{
  g_return_val_if_fail (NATTER_IS_SERVER_CONNECTION (self), NULL);

  if (self->rooms == NULL && create)
    self->rooms = g_ptr_array_new ();

  return self->rooms;
}

/**
 * natter_server_connection_send_hello:
 *
 * Sends `hello` with a fresh nonce.
 */
void
natter_server_connection_send_hello (NatterServerConnection *self)
{
  g_autoptr(NatterFrame) hello = natter_frame_new (NATTER_FRAME_HELLO);

  g_return_if_fail (NATTER_IS_SERVER_CONNECTION (self));

  g_clear_pointer (&self->nonce, g_free);
  self->nonce = natter_auth_challenge_new_nonce ();

  natter_frame_set_int (hello, "version", NATTER_PROTOCOL_VERSION);
  natter_frame_set_string (hello, "nonce", self->nonce);
  natter_frame_set_int (hello, "max_frame_size", self->limits->max_frame_size);
  natter_frame_set_int (hello, "auth_timeout_s", self->limits->auth_timeout_s);
  natter_frame_set_string (hello, "server", "natter-server " PACKAGE_VERSION);

  natter_server_connection_send_frame (self, hello);
}

/**
 * natter_server_connection_can_take:
 * @length: the length of a frame's text
 *
 * Returns: whether a frame of @length bytes would be queued now
 */
gboolean
natter_server_connection_can_take (NatterServerConnection *self,
                                   gsize                   length)
{
  g_return_val_if_fail (NATTER_IS_SERVER_CONNECTION (self), FALSE);

  return !self->closing && queued_bytes (self) + wire_size (length) <= self->limits->max_output;
}

/**
 * natter_server_connection_check_slow:
 * @now: the monotonic time
 *
 * Closes the connection with %NATTER_CLOSE_SLOW_READER if it has been over
 * its output bound for longer than the limits allow.
 *
 * Returns: %TRUE if it was closed
 */
gboolean
natter_server_connection_check_slow (NatterServerConnection *self,
                                     gint64                  now)
{
  g_return_val_if_fail (NATTER_IS_SERVER_CONNECTION (self), FALSE);

  if (self->closing || self->over_since == 0)
    return FALSE;

  if (queued_bytes (self) <= self->limits->max_output / 2)
    {
      set_over_since (self, 0);
      return FALSE;
    }

  if (now - self->over_since < (gint64) self->limits->slow_timeout_s * G_USEC_PER_SEC)
    return FALSE;

  g_info ("Closing a connection that has not read %" G_GSIZE_FORMAT " bytes for %u s",
          queued_bytes (self), self->limits->slow_timeout_s);
  NATTER_SERVER_COUNT (self->shard->counters.slow_reader_closes);
  natter_server_connection_close (self, NATTER_CLOSE_SLOW_READER);

  return TRUE;
}

/**
 * natter_server_connection_send_text:
 * @text: one JSON frame
 *
 * Queues @text unless the connection is closing or its client has not
 * read enough of what waits for it (see natter_server_connection_can_take()).
 *
 * Returns: whether @text was queued
 */
gboolean
natter_server_connection_send_text (NatterServerConnection *self,
                                    const char             *text)
{
  gsize length;

  g_return_val_if_fail (NATTER_IS_SERVER_CONNECTION (self), FALSE);
  g_return_val_if_fail (text != NULL, FALSE);

  if (self->closing ||
      soup_websocket_connection_get_state (self->websocket) != SOUP_WEBSOCKET_STATE_OPEN)
    return FALSE;

  length = strlen (text);
  if (!natter_server_connection_can_take (self, length))
    {
      gint64 now = g_get_monotonic_time ();

      NATTER_SERVER_COUNT (self->shard->counters.frames_dropped_slow);
      if (self->over_since == 0)
        set_over_since (self, now);
      natter_server_connection_check_slow (self, now);
      return FALSE;
    }

  soup_websocket_connection_send_text (self->websocket, text);
  self->handed += wire_size (length);
  if (self->over_since != 0 && queued_bytes (self) <= self->limits->max_output / 2)
    set_over_since (self, 0);

  return TRUE;
}

gboolean
natter_server_connection_send_frame (NatterServerConnection *self,
                                     NatterFrame            *frame)
{
  g_autofree char *text = NULL;

  g_return_val_if_fail (NATTER_IS_SERVER_CONNECTION (self), FALSE);
  g_return_val_if_fail (frame != NULL, FALSE);

  if (self->closing)
    return FALSE;

  text = natter_frame_to_string (frame, NULL);
  return natter_server_connection_send_text (self, text);
}

NatterServerKey
natter_server_connection_get_key (NatterServerConnection *self)
{
  g_return_val_if_fail (NATTER_IS_SERVER_CONNECTION (self), 0);

  return self->key;
}

void
natter_server_connection_set_key (NatterServerConnection *self,
                                  NatterServerKey         key)
{
  g_return_if_fail (NATTER_IS_SERVER_CONNECTION (self));

  self->key = key;
}

NatterServerStream *
natter_server_connection_get_stream (NatterServerConnection *self)
{
  g_return_val_if_fail (NATTER_IS_SERVER_CONNECTION (self), NULL);

  return self->stream;
}

/**
 * natter_server_connection_close:
 * @code: a close code of docs/protocol.md
 *
 * Takes the connection out of the server's state at once (user, presence,
 * subscriptions, rooms) and starts the WebSocket closing handshake.
 */
void
natter_server_connection_close (NatterServerConnection *self,
                                gushort                 code)
{
  g_autoptr(NatterServerConnection) hold = NULL;

  g_return_if_fail (NATTER_IS_SERVER_CONNECTION (self));

  if (self->closing)
    return;

  hold = g_object_ref (self);
  set_over_since (self, 0);
  self->closing = TRUE;
  if (code == NATTER_CLOSE_TOO_BIG)
    NATTER_SERVER_COUNT (self->shard->counters.oversized_frame_closes);
  _natter_server_clear_source (&self->auth_timeout);

  _natter_server_detach (self->shard, self);

  if (soup_websocket_connection_get_state (self->websocket) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_close (self->websocket, code, NULL);
}
