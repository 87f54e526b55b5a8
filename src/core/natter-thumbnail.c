/* natter-thumbnail.c: the small picture an image's offer carries
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The sender scales a picture it offers down to NATTER_THUMBNAIL_SIZE
 * pixels on its longest side, turned upright as its EXIF says, and encodes
 * it as JPEG (PNG where it has transparency), small enough for the offer
 * (NATTER_FILE_THUMBNAIL_MAX bytes). This runs in a thread: a photo takes
 * a moment to decode. Pictures too big to decode sensibly get no thumbnail.
 *
 * A thumbnail from a peer is checked before it is kept: at most
 * NATTER_FILE_THUMBNAIL_MAX bytes, a PNG or JPEG header that says at most
 * 512 × 512 pixels (read without decoding, so a "PNG bomb" is refused
 * first), its end marker there (IEND, or JPEG's EOI), and then it must
 * decode with the decoder of the format it
 * claims to be, to the size it claimed.
 */
#define G_LOG_DOMAIN "natter-thumbnail"

#include "config.h"

#include <string.h>

#include <gdk-pixbuf/gdk-pixbuf.h>

#include "natter-image.h"
#include "natter-protocol.h"
#include "natter-thumbnail.h"

/* What a peer's thumbnail may measure */
#define PEER_MAX_SIDE       512
/* Files we decode to make one */
#define SOURCE_MAX_BYTES    (256 * 1024 * 1024)
#define SOURCE_MAX_PIXELS   (100 * 1000 * 1000)

/**
 * natter_thumbnail_wanted:
 *
 * Returns: whether a file of @mime_type and @size gets a thumbnail
 */
gboolean
natter_thumbnail_wanted (const char *mime_type,
                         guint64     size)
{
  static const char * const types[] = {
    "image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp", "image/tiff", NULL,
  };

  return mime_type != NULL && size > 0 && size <= SOURCE_MAX_BYTES &&
         g_strv_contains (types, mime_type);
}

static GBytes *
encode (GdkPixbuf  *pixbuf,
        GError    **error)
{
  static const char * const qualities[] = { "80", "60", "40" };
  gchar *buffer = NULL;
  gsize length = 0;

  if (gdk_pixbuf_get_has_alpha (pixbuf))
    {
      if (!gdk_pixbuf_save_to_buffer (pixbuf, &buffer, &length, "png", error,
                                      "compression", "9", NULL))
        return NULL;
      if (length <= NATTER_FILE_THUMBNAIL_MAX)
        return g_bytes_new_take (buffer, length);
      g_free (buffer);
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE,
                           "The thumbnail is too big");
      return NULL;
    }

  for (guint i = 0; i < G_N_ELEMENTS (qualities); i++)
    {
      if (!gdk_pixbuf_save_to_buffer (pixbuf, &buffer, &length, "jpeg", error,
                                      "quality", qualities[i], NULL))
        return NULL;
      if (length <= NATTER_FILE_THUMBNAIL_MAX)
        return g_bytes_new_take (buffer, length);
      g_clear_pointer (&buffer, g_free);
    }

  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE,
                       "The thumbnail is too big");
  return NULL;
}

/**
 * natter_thumbnail_make:
 * @file: a local picture
 *
 * Blocks while it decodes @file: call it from a thread.
 *
 * Returns: (transfer full): a JPEG or PNG of at most
 *   %NATTER_THUMBNAIL_SIZE pixels a side
 */
GBytes *
natter_thumbnail_make (GFile         *file,
                       GCancellable  *cancellable,
                       GError       **error)
{
  g_autofree char *path = g_file_get_path (file);
  g_autoptr(GdkPixbuf) scaled = NULL;
  g_autoptr(GdkPixbuf) upright = NULL;
  int width = 0, height = 0;

  g_return_val_if_fail (G_IS_FILE (file), NULL);

  if (path == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "Not a local file");
      return NULL;
    }

  if (gdk_pixbuf_get_file_info (path, &width, &height) == NULL || width <= 0 || height <= 0)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "Not a picture");
      return NULL;
    }
  if ((guint64) width * height > SOURCE_MAX_PIXELS)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE,
                           "The picture is too big to scale");
      return NULL;
    }
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;

  scaled = gdk_pixbuf_new_from_file_at_scale (path, NATTER_THUMBNAIL_SIZE, NATTER_THUMBNAIL_SIZE,
                                              TRUE, error);
  if (scaled == NULL)
    return NULL;
  upright = gdk_pixbuf_apply_embedded_orientation (scaled);
  if (upright == NULL)
    return NULL;

  return encode (upright, error);
}

static void
make_in_thread (GTask        *task,
                gpointer      source_object,
                gpointer      task_data,
                GCancellable *cancellable)
{
  GError *error = NULL;
  GBytes *bytes = natter_thumbnail_make (task_data, cancellable, &error);

  if (bytes == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, bytes, (GDestroyNotify) g_bytes_unref);
}

void
natter_thumbnail_make_async (GFile               *file,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (G_IS_FILE (file));

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, natter_thumbnail_make_async);
  g_task_set_task_data (task, g_object_ref (file), g_object_unref);
  g_task_run_in_thread (task, make_in_thread);
}

/**
 * natter_thumbnail_make_finish:
 *
 * Returns: (transfer full): the thumbnail, or %NULL with @error set
 */
GBytes *
natter_thumbnail_make_finish (GAsyncResult  *result,
                              GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * natter_thumbnail_check:
 * @bytes: a thumbnail from a peer
 *
 * Returns: %TRUE if @bytes is a whole PNG or JPEG of at most 512 × 512
 *   pixels and %NATTER_FILE_THUMBNAIL_MAX bytes
 */
gboolean
natter_thumbnail_check (GBytes *bytes)
{
  g_autoptr(GdkPixbufLoader) loader = NULL;
  g_autoptr(GError) error = NULL;
  NatterImageFormat format;
  GdkPixbuf *pixbuf;
  const guint8 *data;
  gsize length;
  guint width = 0, height = 0;

  if (bytes == NULL || g_bytes_get_size (bytes) == 0 ||
      g_bytes_get_size (bytes) > NATTER_FILE_THUMBNAIL_MAX)
    return FALSE;

  /* The header first: nothing is decoded that claims to be huge */
  format = natter_image_read_header (bytes, &width, &height);
  if ((format != NATTER_IMAGE_PNG && format != NATTER_IMAGE_JPEG) || width == 0 || height == 0 ||
      width > PEER_MAX_SIDE || height > PEER_MAX_SIDE)
    return FALSE;

  /* Whole: decoders make do with a picture cut short, we do not */
  data = g_bytes_get_data (bytes, &length);
  if (format == NATTER_IMAGE_PNG ?
      length < 12 || memcmp (data + length - 8, "IEND", 4) != 0 :
      length < 4 || data[length - 2] != 0xff || data[length - 1] != 0xd9)
    return FALSE;

  /* Only the decoder of the format it claims */
  loader = gdk_pixbuf_loader_new_with_type (format == NATTER_IMAGE_PNG ? "png" : "jpeg", &error);
  if (loader == NULL)
    {
      g_debug ("No decoder to check a thumbnail: %s", error->message);
      return FALSE;
    }
  if (!gdk_pixbuf_loader_write_bytes (loader, bytes, &error) ||
      !gdk_pixbuf_loader_close (loader, &error))
    {
      g_debug ("A thumbnail that does not decode: %s", error->message);
      return FALSE;
    }

  pixbuf = gdk_pixbuf_loader_get_pixbuf (loader);
  return pixbuf != NULL && (guint) gdk_pixbuf_get_width (pixbuf) == width &&
         (guint) gdk_pixbuf_get_height (pixbuf) == height;
}
