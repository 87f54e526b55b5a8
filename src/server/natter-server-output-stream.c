/* natter-server-output-stream.c: a pollable output stream that counts what it passes on
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Put between libsoup and the socket, this stream counts the bytes the
 * socket (or the TLS layer) took, so that the server knows which of the
 * connections that have not signed in were answered anything yet (when
 * descriptors run out, an idle one goes first). Over TLS, a WebSocket
 * connection writes its frames through it too. Closing it leaves the base
 * stream open: NatterServerStream closes that.
 */
#define G_LOG_DOMAIN "natter-server-output-stream"

#include "config.h"

#include "natter-server-output-stream.h"

struct _NatterServerOutputStream
{
  GOutputStream parent_instance;

  GOutputStream *base;
  guint64 written;
};

static void natter_server_output_stream_pollable_iface_init (GPollableOutputStreamInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (NatterServerOutputStream, natter_server_output_stream,
                               G_TYPE_OUTPUT_STREAM,
                               G_IMPLEMENT_INTERFACE (G_TYPE_POLLABLE_OUTPUT_STREAM,
                                                      natter_server_output_stream_pollable_iface_init))

static gssize
natter_server_output_stream_write (GOutputStream  *stream,
                                   const void     *buffer,
                                   gsize           count,
                                   GCancellable   *cancellable,
                                   GError        **error)
{
  NatterServerOutputStream *self = (NatterServerOutputStream *) stream;
  gssize n = g_output_stream_write (self->base, buffer, count, cancellable, error);

  if (n > 0)
    self->written += n;

  return n;
}

static gboolean
natter_server_output_stream_flush (GOutputStream  *stream,
                                   GCancellable   *cancellable,
                                   GError        **error)
{
  NatterServerOutputStream *self = (NatterServerOutputStream *) stream;

  /* Closing this stream leaves the base alone, flushing included. */
  if (g_output_stream_is_closing (stream))
    return TRUE;

  return g_output_stream_flush (self->base, cancellable, error);
}

static gboolean
natter_server_output_stream_close (GOutputStream  *stream,
                                   GCancellable   *cancellable,
                                   GError        **error)
{
  return TRUE;
}

static void
natter_server_output_stream_close_async (GOutputStream       *stream,
                                         int                  io_priority,
                                         GCancellable        *cancellable,
                                         GAsyncReadyCallback  callback,
                                         gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (stream, cancellable, callback, user_data);

  g_task_set_source_tag (task, natter_server_output_stream_close_async);
  g_task_return_boolean (task, TRUE);
}

static gboolean
natter_server_output_stream_close_finish (GOutputStream  *stream,
                                          GAsyncResult   *result,
                                          GError        **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static gboolean
natter_server_output_stream_can_poll (GPollableOutputStream *stream)
{
  NatterServerOutputStream *self = (NatterServerOutputStream *) stream;

  return G_IS_POLLABLE_OUTPUT_STREAM (self->base) &&
         g_pollable_output_stream_can_poll (G_POLLABLE_OUTPUT_STREAM (self->base));
}

static gboolean
natter_server_output_stream_is_writable (GPollableOutputStream *stream)
{
  NatterServerOutputStream *self = (NatterServerOutputStream *) stream;

  return g_pollable_output_stream_is_writable (G_POLLABLE_OUTPUT_STREAM (self->base));
}

/* The base stream's own source: its callback gets the base stream rather
 * than this one, which none of its users looks at. */
static GSource *
natter_server_output_stream_create_source (GPollableOutputStream *stream,
                                           GCancellable          *cancellable)
{
  NatterServerOutputStream *self = (NatterServerOutputStream *) stream;

  return g_pollable_output_stream_create_source (G_POLLABLE_OUTPUT_STREAM (self->base),
                                                 cancellable);
}

static gssize
natter_server_output_stream_write_nonblocking (GPollableOutputStream  *stream,
                                               const void             *buffer,
                                               gsize                   count,
                                               GError                **error)
{
  NatterServerOutputStream *self = (NatterServerOutputStream *) stream;
  gssize n = g_pollable_output_stream_write_nonblocking (G_POLLABLE_OUTPUT_STREAM (self->base),
                                                         buffer, count, NULL, error);

  if (n > 0)
    self->written += n;

  return n;
}

static void
natter_server_output_stream_pollable_iface_init (GPollableOutputStreamInterface *iface)
{
  iface->can_poll = natter_server_output_stream_can_poll;
  iface->is_writable = natter_server_output_stream_is_writable;
  iface->create_source = natter_server_output_stream_create_source;
  iface->write_nonblocking = natter_server_output_stream_write_nonblocking;
}

/* The base goes in finalize: GOutputStream's dispose closes (and flushes)
 * this stream after ours has run. */
static void
natter_server_output_stream_finalize (GObject *object)
{
  NatterServerOutputStream *self = (NatterServerOutputStream *) object;

  g_clear_object (&self->base);

  G_OBJECT_CLASS (natter_server_output_stream_parent_class)->finalize (object);
}

static void
natter_server_output_stream_class_init (NatterServerOutputStreamClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GOutputStreamClass *stream_class = G_OUTPUT_STREAM_CLASS (klass);

  object_class->finalize = natter_server_output_stream_finalize;

  stream_class->write_fn = natter_server_output_stream_write;
  stream_class->flush = natter_server_output_stream_flush;
  stream_class->close_fn = natter_server_output_stream_close;
  stream_class->close_async = natter_server_output_stream_close_async;
  stream_class->close_finish = natter_server_output_stream_close_finish;
}

static void
natter_server_output_stream_init (NatterServerOutputStream *self)
{
}

/**
 * natter_server_output_stream_new:
 * @base: a pollable output stream (a socket's or a TLS connection's)
 *
 * Returns: (transfer full): a stream that writes to @base and counts
 */
GOutputStream *
natter_server_output_stream_new (GOutputStream *base)
{
  NatterServerOutputStream *self;

  g_return_val_if_fail (G_IS_POLLABLE_OUTPUT_STREAM (base), NULL);

  self = g_object_new (NATTER_TYPE_SERVER_OUTPUT_STREAM, NULL);
  self->base = g_object_ref (base);

  return G_OUTPUT_STREAM (self);
}

/**
 * natter_server_output_stream_get_bytes_written:
 *
 * Returns: the bytes the base stream has taken so far
 */
guint64
natter_server_output_stream_get_bytes_written (NatterServerOutputStream *self)
{
  g_return_val_if_fail (NATTER_IS_SERVER_OUTPUT_STREAM (self), 0);

  return self->written;
}
