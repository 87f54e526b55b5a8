/* natter-server-stream.c: one accepted TCP connection of natter-server
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The server hands libsoup this stream instead of the socket's own (and
 * takes it back once it is a WebSocket), for two things libsoup 3.2 does
 * not do:
 *
 * - It counts what the socket took (NatterServerOutputStream), so that
 *   the server knows whether a connection was answered anything yet.
 * - It closes gracefully. Closing a TCP socket with unread input makes the
 *   kernel reset the connection, and the peer then loses what it had not
 *   read yet, the close frame with its code included. So closing shuts
 *   down the sending side (the peer reads everything, then end of file)
 *   and reads and discards what still arrives, up to a bounded size and
 *   time, before the socket is closed. "finished" says when the file
 *   descriptor is gone.
 */
#define G_LOG_DOMAIN "natter-server-stream"

#include "config.h"

#include "natter-server-output-stream.h"

#include "natter-server-stream.h"

#define DEFAULT_LINGER_BYTES      (8 * 1024 * 1024)
#define DEFAULT_LINGER_TIMEOUT_MS 5000
#define DISCARD_CHUNK             16384

enum {
  SIGNAL_CLOSING,
  SIGNAL_LINGERING,
  SIGNAL_FINISHED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

struct _NatterServerStream
{
  GIOStream parent_instance;

  GIOStream *base;
  GSocket *socket;
  GOutputStream *output;
  char *address;
  gint64 accepted;              /* monotonic µs */
  NatterServerStreamAccount account;

  gsize linger_bytes;
  guint linger_timeout_ms;
  GSource *linger_source;
  GSource *linger_timeout;
  gboolean lingering;
  gboolean finished;
};

G_DEFINE_FINAL_TYPE (NatterServerStream, natter_server_stream, G_TYPE_IO_STREAM)

/* Closes the file descriptor now; once. */
static void
finish (NatterServerStream *self)
{
  g_autoptr(NatterServerStream) hold = g_object_ref (self);

  if (self->finished)
    return;
  self->finished = TRUE;

  if (self->linger_source != NULL)
    {
      g_source_destroy (self->linger_source);
      g_clear_pointer (&self->linger_source, g_source_unref);
    }
  if (self->linger_timeout != NULL)
    {
      g_source_destroy (self->linger_timeout);
      g_clear_pointer (&self->linger_timeout, g_source_unref);
    }

  /* Whoever watches the descriptor lets go of it while it is still ours. */
  g_signal_emit (self, signals[SIGNAL_CLOSING], 0);

  /* For TLS this tries a close_notify on a socket shut down for writing,
   * which fails at once; the socket is closed either way. */
  g_io_stream_close (self->base, NULL, NULL);
  g_socket_close (self->socket, NULL);

  if (self->lingering)
    {
      self->lingering = FALSE;
      g_object_unref (self);   /* the reference the linger held */
    }

  g_signal_emit (self, signals[SIGNAL_FINISHED], 0);
}

static gboolean
on_linger_timeout (gpointer user_data)
{
  NatterServerStream *self = user_data;

  g_clear_pointer (&self->linger_timeout, g_source_unref);
  finish (self);

  return G_SOURCE_REMOVE;
}

static gboolean
on_linger_input (GSocket      *socket,
                 GIOCondition  condition,
                 gpointer      user_data)
{
  NatterServerStream *self = user_data;
  char buffer[DISCARD_CHUNK];

  for (;;)
    {
      g_autoptr(GError) error = NULL;
      gssize n = g_socket_receive_with_blocking (socket, buffer, sizeof buffer, FALSE, NULL,
                                                 &error);

      if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        return G_SOURCE_CONTINUE;

      /* End of file, an error, or enough read for nothing. */
      if (n <= 0 || (gsize) n >= self->linger_bytes)
        {
          g_clear_pointer (&self->linger_source, g_source_unref);
          finish (self);
          return G_SOURCE_REMOVE;
        }

      self->linger_bytes -= n;
    }
}

static void
begin_close (NatterServerStream *self)
{
  g_autoptr(GError) error = NULL;

  if (self->finished || self->lingering)
    return;

  if (self->linger_bytes == 0 || self->linger_timeout_ms == 0 ||
      !g_socket_shutdown (self->socket, FALSE, TRUE, &error))
    {
      finish (self);
      return;
    }

  self->lingering = TRUE;
  g_object_ref (self);
  g_signal_emit (self, signals[SIGNAL_LINGERING], 0);

  self->linger_source = g_socket_create_source (self->socket, G_IO_IN | G_IO_HUP | G_IO_ERR,
                                                NULL);
  g_source_set_callback (self->linger_source, G_SOURCE_FUNC (on_linger_input), self, NULL);
  g_source_set_static_name (self->linger_source, "natter-server linger");
  g_source_attach (self->linger_source, g_main_context_get_thread_default ());

  /* The sources go to the context of the thread that closes: the one that
   * serves the connection. */
  self->linger_timeout = g_timeout_source_new (self->linger_timeout_ms);
  g_source_set_callback (self->linger_timeout, on_linger_timeout, self, NULL);
  g_source_set_static_name (self->linger_timeout, "natter-server linger timeout");
  g_source_attach (self->linger_timeout, g_main_context_get_thread_default ());
}

static GInputStream *
natter_server_stream_get_input_stream (GIOStream *stream)
{
  NatterServerStream *self = (NatterServerStream *) stream;

  return g_io_stream_get_input_stream (self->base);
}

static GOutputStream *
natter_server_stream_get_output_stream (GIOStream *stream)
{
  NatterServerStream *self = (NatterServerStream *) stream;

  return self->output;
}

static gboolean
natter_server_stream_close (GIOStream     *stream,
                            GCancellable  *cancellable,
                            GError       **error)
{
  begin_close ((NatterServerStream *) stream);

  return TRUE;
}

static void
natter_server_stream_close_async (GIOStream           *stream,
                                  int                  io_priority,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (stream, cancellable, callback, user_data);

  g_task_set_source_tag (task, natter_server_stream_close_async);
  begin_close ((NatterServerStream *) stream);
  g_task_return_boolean (task, TRUE);
}

static gboolean
natter_server_stream_close_finish (GIOStream     *stream,
                                   GAsyncResult  *result,
                                   GError       **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
natter_server_stream_dispose (GObject *object)
{
  NatterServerStream *self = (NatterServerStream *) object;

  /* Never closed: no one is left to linger for. */
  if (self->base != NULL && !self->finished)
    finish (self);

  G_OBJECT_CLASS (natter_server_stream_parent_class)->dispose (object);
}

static void
natter_server_stream_finalize (GObject *object)
{
  NatterServerStream *self = (NatterServerStream *) object;

  g_clear_object (&self->output);
  g_clear_object (&self->base);
  g_clear_object (&self->socket);
  g_clear_pointer (&self->address, g_free);

  G_OBJECT_CLASS (natter_server_stream_parent_class)->finalize (object);
}

static void
natter_server_stream_class_init (NatterServerStreamClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GIOStreamClass *stream_class = G_IO_STREAM_CLASS (klass);

  object_class->dispose = natter_server_stream_dispose;
  object_class->finalize = natter_server_stream_finalize;

  stream_class->get_input_stream = natter_server_stream_get_input_stream;
  stream_class->get_output_stream = natter_server_stream_get_output_stream;
  stream_class->close_fn = natter_server_stream_close;
  stream_class->close_async = natter_server_stream_close_async;
  stream_class->close_finish = natter_server_stream_close_finish;

  /**
   * NatterServerStream::closing:
   *
   * The socket is about to be closed (after a linger, or at once): the
   * last moment its descriptor may be named.
   */
  signals[SIGNAL_CLOSING] = g_signal_new ("closing", G_TYPE_FROM_CLASS (klass),
                                          G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                          G_TYPE_NONE, 0);

  /**
   * NatterServerStream::lingering:
   *
   * The stream is closed for its user and waits for the peer's end of
   * file; natter_server_stream_abort() ends that at once.
   */
  signals[SIGNAL_LINGERING] = g_signal_new ("lingering", G_TYPE_FROM_CLASS (klass),
                                            G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                            G_TYPE_NONE, 0);

  /**
   * NatterServerStream::finished:
   *
   * The socket is closed: after a close and its linger, or an abort.
   */
  signals[SIGNAL_FINISHED] = g_signal_new ("finished", G_TYPE_FROM_CLASS (klass),
                                           G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                           G_TYPE_NONE, 0);
}

static void
natter_server_stream_init (NatterServerStream *self)
{
  self->account.link.data = self;
  self->account.linger_link.data = self;
  self->linger_bytes = DEFAULT_LINGER_BYTES;
  self->linger_timeout_ms = DEFAULT_LINGER_TIMEOUT_MS;
  self->accepted = g_get_monotonic_time ();
}

/**
 * natter_server_stream_new:
 * @base: the accepted connection (a #GSocketConnection, or a TLS connection
 *   over one)
 * @socket: the socket under @base
 * @address: (nullable): the client's IP address as text
 *
 * Returns: (transfer full): a stream for libsoup, then for its WebSocket
 */
NatterServerStream *
natter_server_stream_new (GIOStream  *base,
                          GSocket    *socket,
                          const char *address)
{
  NatterServerStream *self;

  g_return_val_if_fail (G_IS_IO_STREAM (base), NULL);
  g_return_val_if_fail (G_IS_SOCKET (socket), NULL);

  self = g_object_new (NATTER_TYPE_SERVER_STREAM, NULL);
  self->base = g_object_ref (base);
  self->socket = g_object_ref (socket);
  self->output = natter_server_output_stream_new (g_io_stream_get_output_stream (base));
  self->address = g_strdup (address != NULL ? address : "");

  return self;
}

GSocket *
natter_server_stream_get_socket (NatterServerStream *self)
{
  g_return_val_if_fail (NATTER_IS_SERVER_STREAM (self), NULL);

  return self->socket;
}

const char *
natter_server_stream_get_address (NatterServerStream *self)
{
  g_return_val_if_fail (NATTER_IS_SERVER_STREAM (self), NULL);

  return self->address;
}

/**
 * natter_server_stream_get_accepted:
 *
 * Returns: the monotonic time (µs) at which the stream was made
 */
gint64
natter_server_stream_get_accepted (NatterServerStream *self)
{
  g_return_val_if_fail (NATTER_IS_SERVER_STREAM (self), 0);

  return self->accepted;
}

/**
 * natter_server_stream_get_bytes_written:
 *
 * Returns: the bytes the socket (or TLS) took from libsoup so far
 */
guint64
natter_server_stream_get_bytes_written (NatterServerStream *self)
{
  g_return_val_if_fail (NATTER_IS_SERVER_STREAM (self), 0);

  return natter_server_output_stream_get_bytes_written (
    NATTER_SERVER_OUTPUT_STREAM (self->output));
}

NatterServerStreamAccount *
natter_server_stream_get_account (NatterServerStream *self)
{
  g_return_val_if_fail (NATTER_IS_SERVER_STREAM (self), NULL);

  return &self->account;
}

/**
 * natter_server_stream_set_linger:
 * @max_bytes: the most input to read and discard after closing
 * @timeout_ms: the longest to wait for the peer's end of file
 *
 * Bounds the graceful close; 0 closes at once.
 */
void
natter_server_stream_set_linger (NatterServerStream *self,
                                 gsize               max_bytes,
                                 guint               timeout_ms)
{
  g_return_if_fail (NATTER_IS_SERVER_STREAM (self));

  self->linger_bytes = max_bytes;
  self->linger_timeout_ms = timeout_ms;
}

/**
 * natter_server_stream_abort:
 *
 * Closes the socket at once, without lingering: the file descriptor is
 * free when this returns. Whoever reads or writes it hears so first
 * (#NatterServerStream::closing).
 */
void
natter_server_stream_abort (NatterServerStream *self)
{
  g_return_if_fail (NATTER_IS_SERVER_STREAM (self));

  finish (self);
}

/**
 * natter_server_stream_is_tls:
 *
 * Returns: whether TLS runs over the socket (then its bytes are not the
 *   stream's)
 */
gboolean
natter_server_stream_is_tls (NatterServerStream *self)
{
  g_return_val_if_fail (NATTER_IS_SERVER_STREAM (self), FALSE);

  return G_IS_TLS_CONNECTION (self->base);
}

gboolean
natter_server_stream_is_finished (NatterServerStream *self)
{
  g_return_val_if_fail (NATTER_IS_SERVER_STREAM (self), TRUE);

  return self->finished;
}
