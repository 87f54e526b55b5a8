/* test-image.c: profile pictures are judged by their header, never decoded
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "test-image"

#include "config.h"

#include <string.h>

#include "natter-client.h"
#include "natter-image.h"

static GBytes *
png (guint32 width,
     guint32 height)
{
  guint8 data[64] = "\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR";

  data[16] = width >> 24; data[17] = width >> 16; data[18] = width >> 8; data[19] = width;
  data[20] = height >> 24; data[21] = height >> 16; data[22] = height >> 8; data[23] = height;
  return g_bytes_new (data, sizeof data);
}

static void
assert_header (GBytes            *bytes,
               NatterImageFormat  format,
               guint              width,
               guint              height)
{
  guint w = 1;
  guint h = 1;

  g_assert_cmpint (natter_image_read_header (bytes, &w, &h), ==, format);
  g_assert_cmpuint (w, ==, width);
  g_assert_cmpuint (h, ==, height);
}

static void
test_image_formats (void)
{
  /* JPEG: SOI, an APP0 segment, then SOF0 with height 300 and width 400 */
  static const guint8 jpeg[] = {
    0xff, 0xd8, 0xff, 0xe0, 0x00, 0x04, 0x4a, 0x46, 0xff, 0xff, 0xc0, 0x00, 0x0b, 0x08,
    0x01, 0x2c, 0x01, 0x90, 0x01, 0x01, 0x11, 0x00, 0xff, 0xd9 };
  /* JPEG whose scan starts before any frame header */
  static const guint8 jpeg_no_frame[] = { 0xff, 0xd8, 0xff, 0xda, 0x00, 0x02, 0xff, 0xd9 };
  /* WebP lossy key frame 640 x 480, lossless 16 x 9, extended 5000 x 1 */
  static const guint8 vp8[30] = "RIFF\0\0\0\0WEBPVP8 \0\0\0\0\0\0\0\x9d\x01\x2a\x80\x02\xe0\x01";
  static const guint8 vp8l[30] = "RIFF\0\0\0\0WEBPVP8L\0\0\0\0\x2f\x0f\x00\x02\x00";
  static const guint8 vp8x[30] = "RIFF\0\0\0\0WEBPVP8X\0\0\0\0\0\0\0\0\x87\x13\0\0\0\0";
  g_autoptr(GBytes) small = png (64, 48);
  g_autoptr(GBytes) jpeg_bytes = g_bytes_new_static (jpeg, sizeof jpeg);
  g_autoptr(GBytes) jpeg_bad = g_bytes_new_static (jpeg_no_frame, sizeof jpeg_no_frame);
  g_autoptr(GBytes) vp8_bytes = g_bytes_new_static (vp8, sizeof vp8);
  g_autoptr(GBytes) vp8l_bytes = g_bytes_new_static (vp8l, sizeof vp8l);
  g_autoptr(GBytes) vp8x_bytes = g_bytes_new_static (vp8x, sizeof vp8x);
  g_autoptr(GBytes) text = g_bytes_new_static ("not a picture at all, just some words", 37);
  g_autoptr(GBytes) truncated = g_bytes_new_static ("\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR", 16);

  assert_header (small, NATTER_IMAGE_PNG, 64, 48);
  assert_header (jpeg_bytes, NATTER_IMAGE_JPEG, 400, 300);
  assert_header (jpeg_bad, NATTER_IMAGE_UNKNOWN, 0, 0);
  assert_header (vp8_bytes, NATTER_IMAGE_WEBP, 640, 480);
  assert_header (vp8l_bytes, NATTER_IMAGE_WEBP, 16, 9);
  assert_header (vp8x_bytes, NATTER_IMAGE_WEBP, 5000, 1);
  assert_header (text, NATTER_IMAGE_UNKNOWN, 0, 0);
  assert_header (truncated, NATTER_IMAGE_UNKNOWN, 0, 0);
}

/* What natter_client_validate_avatar() refuses, before storing or decoding */
static void
test_image_avatar (void)
{
  g_autoptr(GBytes) good = png (512, 512);
  g_autoptr(GBytes) bomb = png (40000, 40000);
  g_autoptr(GBytes) tall = png (1, 4097);
  g_autoptr(GBytes) empty = png (0, 10);
  g_autoptr(GBytes) magic_only = g_bytes_new_static ("\x89PNG\r\n\x1a\n and then anything", 26);
  g_autoptr(GBytes) large = g_bytes_new_take (g_malloc0 (256 * 1024 + 1), 256 * 1024 + 1);
  GBytes *refused[] = { bomb, tall, empty, magic_only, large };
  g_autoptr(GError) error = NULL;

  g_assert_true (natter_client_validate_avatar (good, &error));
  g_assert_no_error (error);

  for (guint i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      g_assert_false (natter_client_validate_avatar (refused[i], &error));
      g_assert_error (error, NATTER_CLIENT_ERROR, NATTER_CLIENT_ERROR_INVALID_AVATAR);
      g_test_message ("%s", error->message);
      g_clear_error (&error);
    }

  g_assert_false (natter_client_validate_avatar (bomb, &error));
  g_assert_nonnull (strstr (error->message, "40000"));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/Natter/Core/Image/formats", test_image_formats);
  g_test_add_func ("/Natter/Core/Image/avatar", test_image_avatar);

  return g_test_run ();
}
