/* natter-image.c: what a picture claims to be, read from its header
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Profile pictures come from other people. Before one is stored or handed
 * to an image decoder, its format and its size in pixels are read from its
 * header alone, so that a small file that would decode to gigabytes (a
 * "PNG bomb") or something that is no picture at all is refused without
 * being decoded.
 */
#define G_LOG_DOMAIN "natter-image"

#include "config.h"

#include <string.h>

#include "natter-image.h"

static guint
be16 (const guint8 *p)
{
  return (guint) p[0] << 8 | p[1];
}

static guint
be32 (const guint8 *p)
{
  return (guint) p[0] << 24 | (guint) p[1] << 16 | (guint) p[2] << 8 | p[3];
}

static guint
le16 (const guint8 *p)
{
  return (guint) p[1] << 8 | p[0];
}

static guint
le24 (const guint8 *p)
{
  return (guint) p[2] << 16 | (guint) p[1] << 8 | p[0];
}

static gboolean
read_png (const guint8 *data,
          gsize         size,
          guint        *width,
          guint        *height)
{
  /* The signature, then the IHDR chunk: length 13, type, width, height */
  if (size < 33 || memcmp (data, "\x89PNG\r\n\x1a\n", 8) != 0 ||
      be32 (data + 8) != 13 || memcmp (data + 12, "IHDR", 4) != 0)
    return FALSE;

  *width = be32 (data + 16);
  *height = be32 (data + 20);
  return TRUE;
}

static gboolean
is_jpeg_frame_marker (guint8 marker)
{
  /* SOF0 to SOF15, except DHT (C4), JPG (C8) and DAC (CC) */
  return marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 && marker != 0xcc;
}

static gboolean
read_jpeg (const guint8 *data,
           gsize         size,
           guint        *width,
           guint        *height)
{
  gsize at = 2;

  if (size < 4 || data[0] != 0xff || data[1] != 0xd8)
    return FALSE;

  while (at + 4 <= size)
    {
      guint8 marker;
      guint length;

      if (data[at] != 0xff)
        return FALSE;
      marker = data[at + 1];
      if (marker == 0xff)
        {
          at++; /* fill byte */
          continue;
        }
      if (marker == 0x01 || (marker >= 0xd0 && marker <= 0xd7))
        {
          at += 2; /* no length */
          continue;
        }
      if (marker == 0xd9 || marker == 0xda)
        return FALSE; /* end of image, or scan data, before any frame header */

      length = be16 (data + at + 2);
      if (length < 2 || at + 2 + length > size)
        return FALSE;

      if (is_jpeg_frame_marker (marker))
        {
          if (length < 7)
            return FALSE;
          *height = be16 (data + at + 5);
          *width = be16 (data + at + 7);
          return TRUE;
        }

      at += 2 + length;
    }

  return FALSE;
}

static gboolean
read_webp (const guint8 *data,
           gsize         size,
           guint        *width,
           guint        *height)
{
  if (size < 30 || memcmp (data, "RIFF", 4) != 0 || memcmp (data + 8, "WEBP", 4) != 0)
    return FALSE;

  if (memcmp (data + 12, "VP8 ", 4) == 0)
    {
      /* A key frame: 3 bytes of tag, the start code, then 14-bit sizes */
      if (memcmp (data + 23, "\x9d\x01\x2a", 3) != 0)
        return FALSE;
      *width = le16 (data + 26) & 0x3fff;
      *height = le16 (data + 28) & 0x3fff;
      return TRUE;
    }

  if (memcmp (data + 12, "VP8L", 4) == 0)
    {
      guint bits;

      if (data[20] != 0x2f)
        return FALSE;
      bits = (guint) data[21] | (guint) data[22] << 8 | (guint) data[23] << 16 |
             (guint) data[24] << 24;
      *width = (bits & 0x3fff) + 1;
      *height = ((bits >> 14) & 0x3fff) + 1;
      return TRUE;
    }

  if (memcmp (data + 12, "VP8X", 4) == 0)
    {
      *width = le24 (data + 24) + 1;
      *height = le24 (data + 27) + 1;
      return TRUE;
    }

  return FALSE;
}

/**
 * natter_image_read_header:
 * @bytes: a file's contents
 * @width: (out): its width in pixels, as its header says
 * @height: (out): its height in pixels
 *
 * Reads nothing but the header: says nothing of whether the rest decodes.
 *
 * Returns: the format, or %NATTER_IMAGE_UNKNOWN if @bytes does not start
 *   like a PNG, JPEG or WebP picture with a readable size
 */
NatterImageFormat
natter_image_read_header (GBytes *bytes,
                          guint  *width,
                          guint  *height)
{
  gsize size;
  const guint8 *data;

  g_return_val_if_fail (bytes != NULL, NATTER_IMAGE_UNKNOWN);
  g_return_val_if_fail (width != NULL && height != NULL, NATTER_IMAGE_UNKNOWN);

  data = g_bytes_get_data (bytes, &size);
  *width = 0;
  *height = 0;

  if (read_png (data, size, width, height))
    return NATTER_IMAGE_PNG;
  if (read_jpeg (data, size, width, height))
    return NATTER_IMAGE_JPEG;
  if (read_webp (data, size, width, height))
    return NATTER_IMAGE_WEBP;

  return NATTER_IMAGE_UNKNOWN;
}
