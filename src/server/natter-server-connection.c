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
 * libsoup answers the HTTP upgrade and hands the socket over; from then on
 * the connection reads and writes it itself, edge-triggered through its
 * shard's NatterServerPoller, with the framing of natter-server-ws.c. It
 * holds no buffer while idle: input is read onto the stack and only an
 * incomplete frame is kept, output goes to the socket at once and only
 * what the socket did not take is kept, each freed once empty.
 *
 * It also bounds what waits for its client: the bytes the socket has not
 * taken yet. A frame that would take that over `max_output` is dropped
 * (the caller tells whoever sent it), and a client that stays over for
 * `slow_timeout_s` is closed.
 *
 * Closing sends a close frame, waits (at most CLOSE_TIMEOUT_MS) until the
 * socket took it, then hands the socket to its NatterServerStream, which
 * shuts down the sending side and discards what still arrives before it
 * closes; a client that closes first gets its close frame echoed.
 */
#define G_LOG_DOMAIN "natter-server-connection"

#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "natter-server-config.h"
#include "natter-server-poller.h"
#include "natter-server-private.h"
#include "natter-server-ws.h"

#include "natter-server-connection.h"

struct _NatterServerConnection
{
  GObject parent_instance;

  NatterServerShard *shard;           /* unowned: the shard outlives its connections */
  NatterServerKey key;                /* its name across shards */
  const NatterServerLimits *limits;   /* owned by the server */
  NatterServerStream *stream;
  int fd;                             /* the stream's socket */
  GPollableInputStream *tls_input;    /* with TLS: where to read and write instead */
  GPollableOutputStream *tls_output;
  NatterServerPollerWatch *watch;     /* NULL once the socket is handed back */
  NatterServerWsReader reader;
  GByteArray *input;                  /* an incomplete frame; NULL when none */
  GByteArray *output;                 /* what the socket did not take yet; NULL when none */
  gsize output_sent;                  /* of output, already written */
  gint64 over_since;                  /* monotonic µs; 0 while under max_output */
  gint64 last_ping;                   /* monotonic µs */
  GSource *close_timeout;
  GSource *later;                     /* tells the server it is gone, from the main loop */
  gboolean close_sent;
  gboolean finished;                  /* the socket is handed back: no more I/O */

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

#define READ_CHUNK        65536
#define CLOSE_TIMEOUT_MS  5000

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
  return self->output != NULL ? self->output->len - self->output_sent : 0;
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

static void queue_frame (NatterServerConnection *self,
                         guint8                  opcode,
                         const guint8           *payload,
                         gsize                   length);
static void start_closing (NatterServerConnection *self,
                           gushort                 code);
static void lose (NatterServerConnection *self);

/* Leaves the server's tables (which may drop the last reference) from the
 * main loop, never under a caller that still uses the connection; if the
 * socket was closed under it, it is lost first. */
static gboolean
on_later (gpointer user_data)
{
  NatterServerConnection *self = user_data;
  g_autoptr(NatterServerConnection) hold = g_object_ref (self);

  if (!self->finished)
    lose (self);
  g_clear_pointer (&self->later, g_source_unref);
  _natter_server_connection_closed (self->shard, self);

  return G_SOURCE_REMOVE;
}

static void
schedule_later (NatterServerConnection *self)
{
  if (self->later != NULL)
    return;

  self->later = g_idle_source_new ();
  g_source_set_callback (self->later, on_later, self, NULL);
  g_source_attach (self->later, self->shard->context);
}

/* What a client's text (or binary) message asks. */
static void
on_message (NatterServerConnection *self,
            gboolean                text,
            const char             *data,
            gsize                   size)
{
  g_autoptr(NatterFrame) frame = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *ref = NULL;
  gint64 now = g_get_monotonic_time ();

  self->last_activity = now;
  _natter_server_count_received (self->shard);

  if (self->closing)
    return;

  if (!take_token (self, now))
    {
      if (text)
        ref = scan_id (data, size);
      reject (self, NATTER_PROTOCOL_ERROR_RATE_LIMITED, ref,
              "Too many frames; this one was dropped");
      if (++self->dropped > self->limits->rate_burst)
        natter_server_connection_close (self, NATTER_CLOSE_RATE_LIMITED);
      return;
    }
  self->dropped = 0;

  if (!text)
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

/* Hands the socket back to its stream, which closes it (gracefully unless
 * @abort), and tells the server soon that the connection is gone. */
static void
finish (NatterServerConnection *self,
        gboolean                abort)
{
  if (self->finished)
    return;

  self->finished = TRUE;
  self->closing = TRUE;
  _natter_server_clear_source (&self->close_timeout);
  _natter_server_clear_source (&self->auth_timeout);
  if (self->watch != NULL)
    natter_server_poller_remove (self->shard->poller, g_steal_pointer (&self->watch));
  g_clear_pointer (&self->input, g_byte_array_unref);
  g_clear_pointer (&self->output, g_byte_array_unref);
  self->output_sent = 0;
  natter_server_ws_reader_clear (&self->reader);

  if (abort)
    natter_server_stream_abort (self->stream);
  else
    g_io_stream_close (G_IO_STREAM (self->stream), NULL, NULL);

  schedule_later (self);
}

/* The client went away, or the socket failed. */
static void
lose (NatterServerConnection *self)
{
  if (!self->closing)
    {
      self->closing = TRUE;
      set_over_since (self, 0);
      _natter_server_detach (self->shard, self);
    }

  finish (self, TRUE);
}

static gboolean
on_close_timeout (gpointer user_data)
{
  NatterServerConnection *self = user_data;

  g_clear_pointer (&self->close_timeout, g_source_unref);
  finish (self, FALSE);

  return G_SOURCE_REMOVE;
}

/* Writes what waits; %FALSE if the socket failed (then self is finished). */
static gboolean
flush (NatterServerConnection *self)
{
  while (self->output != NULL && self->output_sent < self->output->len)
    {
      const guint8 *data = self->output->data + self->output_sent;
      gsize length = self->output->len - self->output_sent;
      gssize n;

      if (self->tls_output != NULL)
        {
          g_autoptr(GError) error = NULL;

          n = g_pollable_output_stream_write_nonblocking (self->tls_output, data, length, NULL,
                                                          &error);
          if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            return TRUE;
          if (n < 0)
            {
              g_debug ("Cannot write to a client: %s", error->message);
              lose (self);
              return FALSE;
            }
        }
      else
        {
          n = send (self->fd, data, length, MSG_NOSIGNAL);
          if (n < 0 && errno == EINTR)
            continue;
          if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return TRUE;
          if (n < 0)
            {
              g_debug ("Cannot write to a client: %s", g_strerror (errno));
              lose (self);
              return FALSE;
            }
        }

      self->output_sent += n;
    }

  /* All taken: nothing is kept for an idle connection. */
  g_clear_pointer (&self->output, g_byte_array_unref);
  self->output_sent = 0;

  if (self->over_since != 0)
    set_over_since (self, 0);
  if (self->close_sent)
    finish (self, FALSE);

  return TRUE;
}

static void
queue_frame (NatterServerConnection *self,
             guint8                  opcode,
             const guint8           *payload,
             gsize                   length)
{
  guint8 header[NATTER_SERVER_WS_MAX_HEADER];
  gsize header_length = natter_server_ws_write_header (header, opcode, length);
  gsize written = 0;

  if (self->finished)
    return;

  /* The common case: nothing waits, and the socket takes it all at once. */
  if (self->output == NULL && self->tls_output == NULL)
    {
      struct iovec parts[2] = {
        { header, header_length },
        { (void *) payload, length },
      };
      struct msghdr message = { .msg_iov = parts, .msg_iovlen = length > 0 ? 2 : 1 };
      gssize n;

      do
        n = sendmsg (self->fd, &message, MSG_NOSIGNAL);
      while (n < 0 && errno == EINTR);

      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
        {
          g_debug ("Cannot write to a client: %s", g_strerror (errno));
          lose (self);
          return;
        }
      written = MAX (n, 0);
      if (written == header_length + length)
        return;
    }

  if (self->output == NULL)
    self->output = g_byte_array_sized_new (header_length + length - written);
  if (written < header_length)
    g_byte_array_append (self->output, header + written, header_length - written);
  written = written > header_length ? written - header_length : 0;
  if (length > written)
    g_byte_array_append (self->output, payload + written, length - written);

  if (self->tls_output != NULL)
    flush (self);
}

/* Sends a close frame with @code and waits for the socket to take it. */
static void
start_closing (NatterServerConnection *self,
               gushort                 code)
{
  guint8 payload[NATTER_SERVER_WS_MAX_CONTROL];
  gsize length;

  if (self->close_sent || self->finished)
    return;

  length = natter_server_ws_close_payload (payload, code, NULL);
  queue_frame (self, NATTER_SERVER_WS_OPCODE_CLOSE, payload, length);
  if (self->finished)
    return;
  self->close_sent = TRUE;

  if (self->output == NULL)
    {
      finish (self, FALSE);
      return;
    }

  /* A client that does not read gets no more than this. */
  self->close_timeout = g_timeout_source_new (CLOSE_TIMEOUT_MS);
  g_source_set_callback (self->close_timeout, on_close_timeout, self, NULL);
  g_source_attach (self->close_timeout, self->shard->context);
}

/* Acts on one frame; %FALSE when nothing more is to be read. */
static gboolean
on_frame (NatterServerConnection *self,
          NatterServerWsResult    result,
          NatterServerWsEvent    *event)
{
  switch (result)
    {
    case NATTER_SERVER_WS_TEXT:
    case NATTER_SERVER_WS_BINARY:
      on_message (self, result == NATTER_SERVER_WS_TEXT, (const char *) event->data,
                  event->length);
      break;

    case NATTER_SERVER_WS_FRAGMENT:
    case NATTER_SERVER_WS_PONG:
      self->last_activity = g_get_monotonic_time ();
      break;

    case NATTER_SERVER_WS_PING:
      self->last_activity = g_get_monotonic_time ();
      if (!self->closing)
        queue_frame (self, NATTER_SERVER_WS_OPCODE_PONG, event->data, event->length);
      break;

    case NATTER_SERVER_WS_CLOSE:
      /* The client's close: echo its code and let go. */
      if (!self->closing)
        {
          self->closing = TRUE;
          set_over_since (self, 0);
          _natter_server_clear_source (&self->auth_timeout);
          _natter_server_detach (self->shard, self);
        }
      if (!self->close_sent)
        start_closing (self, event->code);
      else if (self->output == NULL)
        finish (self, FALSE);
      return FALSE;

    case NATTER_SERVER_WS_FAIL:
      g_debug ("Closing a connection whose client broke the protocol: %s", event->reason);
      natter_server_connection_close (self, event->code);
      return FALSE;

    case NATTER_SERVER_WS_NEED_MORE:
    default:
      g_assert_not_reached ();
    }

  /* Once closing, what else the client sent is of no interest. */
  return !self->closing && !self->finished;
}

/* Reads the frames in @data; what is left of an incomplete one is kept.
 * %FALSE when nothing more is to be read. */
static gboolean
take_input (NatterServerConnection *self,
            guint8                 *data,
            gsize                   length)
{
  guint8 *start;
  gsize left;

  if (self->input != NULL)
    {
      g_byte_array_append (self->input, data, length);
      start = self->input->data;
      left = self->input->len;
    }
  else
    {
      start = data;
      left = length;
    }

  for (;;)
    {
      NatterServerWsEvent event;
      gsize consumed;
      NatterServerWsResult result = natter_server_ws_read (&self->reader, start, left, &consumed,
                                                           &event);

      if (result == NATTER_SERVER_WS_NEED_MORE)
        break;

      start += consumed;
      left -= consumed;
      if (!on_frame (self, result, &event))
        return FALSE;
    }

  if (left == 0)
    {
      g_clear_pointer (&self->input, g_byte_array_unref);
      return TRUE;
    }

  if (self->input == NULL)
    {
      self->input = g_byte_array_sized_new (left);
      g_byte_array_append (self->input, start, left);
    }
  else if (start != self->input->data)
    {
      g_byte_array_remove_range (self->input, 0, start - self->input->data);
    }

  return TRUE;
}

/* Edge-triggered: reads until the socket would block. */
static void
read_all (NatterServerConnection *self)
{
  guint8 buffer[READ_CHUNK];

  while (!self->finished && !self->closing)
    {
      gssize n;

      if (self->tls_input != NULL)
        {
          g_autoptr(GError) error = NULL;

          n = g_pollable_input_stream_read_nonblocking (self->tls_input, buffer, sizeof buffer,
                                                        NULL, &error);
          if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            return;
          if (n < 0)
            g_debug ("Cannot read from a client: %s", error->message);
        }
      else
        {
          n = recv (self->fd, buffer, sizeof buffer, 0);
          if (n < 0 && errno == EINTR)
            continue;
          if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
          if (n < 0)
            g_debug ("Cannot read from a client: %s", g_strerror (errno));
        }

      if (n <= 0)
        {
          lose (self);
          return;
        }

      if (!take_input (self, buffer, n))
        return;
    }
}

static void
on_ready (guint32  events,
          gpointer user_data)
{
  g_autoptr(NatterServerConnection) self = g_object_ref (user_data);

  if ((events & EPOLLOUT) && self->output != NULL && !flush (self))
    return;

  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
    read_all (self);
}

/* Someone else closed the socket (the process ran out of descriptors,
 * say): let go of it now, and close soon. */
static void
on_stream_closing (NatterServerStream *stream,
                   gpointer            user_data)
{
  NatterServerConnection *self = user_data;

  if (self->watch != NULL)
    natter_server_poller_remove (self->shard->poller, g_steal_pointer (&self->watch));

  if (!self->finished)
    schedule_later (self);
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
  _natter_server_clear_source (&self->close_timeout);
  _natter_server_clear_source (&self->later);
  if (self->watch != NULL)
    natter_server_poller_remove (self->shard->poller, g_steal_pointer (&self->watch));

  if (self->stream != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->stream, self);
      if (!self->finished)
        natter_server_stream_abort (self->stream);
      self->finished = TRUE;
    }
  g_clear_object (&self->stream);
  g_clear_object (&self->tls_input);
  g_clear_object (&self->tls_output);

  G_OBJECT_CLASS (natter_server_connection_parent_class)->dispose (object);
}

static void
natter_server_connection_finalize (GObject *object)
{
  NatterServerConnection *self = (NatterServerConnection *) object;

  g_clear_pointer (&self->input, g_byte_array_unref);
  g_clear_pointer (&self->output, g_byte_array_unref);
  natter_server_ws_reader_clear (&self->reader);
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
  self->fd = -1;
}

/**
 * natter_server_connection_new:
 * @shard: the server's shard it belongs to (not referenced; it outlives the
 *   connection)
 * @stream: the connection's stream, upgraded to a WebSocket by libsoup and
 *   taken back from it
 * @limits: (type gpointer): the server's #NatterServerLimits, which must
 *   outlive the connection
 *
 * Returns: (transfer full): a new connection, waiting for `auth`, or
 *   %NULL if its socket cannot be watched (then it is closed)
 */
NatterServerConnection *
natter_server_connection_new (NatterServerShard  *shard,
                              NatterServerStream *stream,
                              gconstpointer       limits)
{
  g_autoptr(NatterServerConnection) self = NULL;
  g_autoptr(GError) error = NULL;

  g_return_val_if_fail (NATTER_IS_SERVER_STREAM (stream), NULL);
  g_return_val_if_fail (limits != NULL, NULL);

  self = g_object_new (NATTER_TYPE_SERVER_CONNECTION, NULL);
  self->shard = shard;
  self->limits = limits;
  self->stream = g_object_ref (stream);
  self->fd = g_socket_get_fd (natter_server_stream_get_socket (stream));
  if (natter_server_stream_is_tls (stream))
    {
      self->tls_input = g_object_ref (
        G_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (G_IO_STREAM (stream))));
      self->tls_output = g_object_ref (
        G_POLLABLE_OUTPUT_STREAM (g_io_stream_get_output_stream (G_IO_STREAM (stream))));
    }
  self->last_activity = self->bucket_updated = self->last_ping = g_get_monotonic_time ();
  self->tokens = self->limits->rate_burst;
  /* A fragmented message may not add up to more than a frame may carry. */
  natter_server_ws_reader_init (&self->reader, NATTER_SERVER_HARD_MAX_FRAME_SIZE);

  g_signal_connect (stream, "closing", G_CALLBACK (on_stream_closing), self);
  self->watch = natter_server_poller_add (shard->poller, self->fd, on_ready, self, &error);
  if (self->watch == NULL)
    {
      g_debug ("%s", error->message);
      self->finished = self->closing = TRUE;
      natter_server_stream_abort (stream);
      return NULL;
    }

  /* In the thread-default context: the connection's shard's. */
  self->auth_timeout = g_timeout_source_new_seconds (self->limits->auth_timeout_s);
  g_source_set_callback (self->auth_timeout, on_auth_timeout, self, NULL);
  g_source_attach (self->auth_timeout, g_main_context_get_thread_default ());

  return g_steal_pointer (&self);
}

/**
 * natter_server_connection_send_ping:
 * @now: the monotonic time
 *
 * Pings the client if it was last pinged a heartbeat ago or more; its
 * pong counts as activity.
 */
void
natter_server_connection_send_ping (NatterServerConnection *self,
                                    gint64                  now)
{
  g_return_if_fail (NATTER_IS_SERVER_CONNECTION (self));

  if (self->closing || now - self->last_ping < (gint64) self->limits->heartbeat_s * G_USEC_PER_SEC)
    return;

  self->last_ping = now;
  queue_frame (self, NATTER_SERVER_WS_OPCODE_PING, NULL, 0);
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
  /* Needed for the one sign-in only */
  g_clear_object (&self->local_address);
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

  return !self->closing && queued_bytes (self) + natter_server_ws_frame_size (length) <= self->limits->max_output;
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

  if (self->closing || self->finished)
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

  queue_frame (self, NATTER_SERVER_WS_OPCODE_TEXT, (const guint8 *) text, length);

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
 * subscriptions, rooms), sends the close frame and then lets go of the
 * socket (see the top of this file).
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

  start_closing (self, code);
}
