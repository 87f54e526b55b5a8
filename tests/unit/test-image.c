/* test-image.c: profile pictures are judged by their header, never decoded;
 * thumbnails of files are made small and checked whole
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "test-image"

#include "config.h"

#include <string.h>

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gstdio.h>

#include "natter-client.h"
#include "natter-image.h"
#include "natter-protocol.h"
#include "natter-thumbnail.h"

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

/* A picture of @width × @height in a file of @type ("png", "jpeg") */
static GFile *
picture_file (const char *dir,
              const char *type,
              int         width,
              int         height,
              gboolean    alpha)
{
  g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, alpha, 8, width, height);
  g_autofree char *name = g_strdup_printf ("picture-%dx%d.%s", width, height, type);
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autoptr(GError) error = NULL;

  gdk_pixbuf_fill (pixbuf, 0x3366cc80);
  g_assert_true (gdk_pixbuf_save (pixbuf, path, type, &error, NULL));
  g_assert_no_error (error);
  return g_file_new_for_path (path);
}

static void
assert_thumbnail (GBytes     *bytes,
                  const char *format,
                  int         width,
                  int         height)
{
  g_autoptr(GdkPixbufLoader) loader = gdk_pixbuf_loader_new ();
  g_autoptr(GError) error = NULL;
  GdkPixbuf *pixbuf;

  g_assert_nonnull (bytes);
  g_assert_cmpuint (g_bytes_get_size (bytes), <=, NATTER_FILE_THUMBNAIL_MAX);
  g_assert_true (natter_thumbnail_check (bytes));
  g_assert_true (gdk_pixbuf_loader_write_bytes (loader, bytes, &error));
  g_assert_true (gdk_pixbuf_loader_close (loader, &error));
  pixbuf = gdk_pixbuf_loader_get_pixbuf (loader);
  g_assert_cmpint (gdk_pixbuf_get_width (pixbuf), ==, width);
  g_assert_cmpint (gdk_pixbuf_get_height (pixbuf), ==, height);
  g_assert_cmpstr (gdk_pixbuf_format_get_name (gdk_pixbuf_loader_get_format (loader)), ==,
                   format);
}

static void
test_thumbnail_make (void)
{
  g_autofree char *dir = g_dir_make_tmp ("natter-thumbnail-XXXXXX", NULL);
  g_autoptr(GFile) photo = picture_file (dir, "jpeg", 1200, 800, FALSE);
  g_autoptr(GFile) logo = picture_file (dir, "png", 100, 300, TRUE);
  g_autoptr(GFile) text = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text_path = g_build_filename (dir, "not-a-picture.png", NULL);

  g_assert_true (natter_thumbnail_wanted ("image/jpeg", 1000));
  g_assert_true (natter_thumbnail_wanted ("image/png", 1));
  g_assert_false (natter_thumbnail_wanted ("image/png", 0));
  g_assert_false (natter_thumbnail_wanted ("text/plain", 1000));
  g_assert_false (natter_thumbnail_wanted ("image/svg+xml", 1000));
  g_assert_false (natter_thumbnail_wanted (NULL, 1000));
  g_assert_false (natter_thumbnail_wanted ("image/jpeg", G_GUINT64_CONSTANT (1) << 40));

  /* A photo: JPEG, its longest side NATTER_THUMBNAIL_SIZE */
  bytes = natter_thumbnail_make (photo, NULL, &error);
  g_assert_no_error (error);
  assert_thumbnail (bytes, "jpeg", NATTER_THUMBNAIL_SIZE, NATTER_THUMBNAIL_SIZE * 2 / 3);
  g_clear_pointer (&bytes, g_bytes_unref);

  /* Transparency stays: PNG */
  bytes = natter_thumbnail_make (logo, NULL, &error);
  g_assert_no_error (error);
  assert_thumbnail (bytes, "png", NATTER_THUMBNAIL_SIZE / 3, NATTER_THUMBNAIL_SIZE);
  g_clear_pointer (&bytes, g_bytes_unref);

  /* Named a picture, but none: no thumbnail, an error */
  g_assert_true (g_file_set_contents (text_path, "hello", -1, NULL));
  text = g_file_new_for_path (text_path);
  g_assert_null (natter_thumbnail_make (text, NULL, &error));
  g_assert_nonnull (error);

  g_unlink (text_path);
  g_unlink (g_file_peek_path (photo));
  g_unlink (g_file_peek_path (logo));
  g_rmdir (dir);
}

static void
test_thumbnail_check (void)
{
  g_autofree char *dir = g_dir_make_tmp ("natter-thumbnail-XXXXXX", NULL);
  g_autoptr(GFile) photo = picture_file (dir, "jpeg", 300, 300, FALSE);
  g_autoptr(GFile) big = picture_file (dir, "png", 600, 20, FALSE);
  g_autoptr(GBytes) good = NULL;
  g_autoptr(GBytes) too_wide = NULL;
  g_autoptr(GBytes) bomb = png (100000, 100000);
  g_autoptr(GBytes) empty = g_bytes_new (NULL, 0);
  g_autofree guint8 *large = NULL;
  char *contents = NULL;
  g_autoptr(GBytes) oversized = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (11);
  gsize length;

  good = natter_thumbnail_make (photo, NULL, NULL);
  g_assert_true (natter_thumbnail_check (good));

  /* What a peer might send instead */
  g_assert_false (natter_thumbnail_check (NULL));
  g_assert_false (natter_thumbnail_check (empty));
  g_assert_false (natter_thumbnail_check (bomb));
  g_assert_true (g_file_load_contents (big, NULL, &contents, &length, NULL, NULL));
  too_wide = g_bytes_new_take (contents, length);
  g_assert_false (natter_thumbnail_check (too_wide));
  large = g_malloc0 (NATTER_FILE_THUMBNAIL_MAX + 1);
  memcpy (large, g_bytes_get_data (good, NULL), g_bytes_get_size (good));
  oversized = g_bytes_new_take (g_steal_pointer (&large), NATTER_FILE_THUMBNAIL_MAX + 1);
  g_assert_false (natter_thumbnail_check (oversized));

  /* Cut short anywhere, or damaged at random: never a crash, and a cut
   * one is never taken */
  for (gsize cut = 1; cut < g_bytes_get_size (good); cut += 37)
    {
      g_autoptr(GBytes) part = g_bytes_new_from_bytes (good, 0, cut);

      g_assert_false (natter_thumbnail_check (part));
    }
  for (guint i = 0; i < 300; i++)
    {
      gsize size = g_bytes_get_size (good);
      guint8 *copy = g_memdup2 (g_bytes_get_data (good, NULL), size);
      g_autoptr(GBytes) damaged = NULL;

      for (guint j = 0; j < 1 + i % 8; j++)
        copy[g_rand_int_range (rand, 0, size)] = g_rand_int_range (rand, 0, 256);
      damaged = g_bytes_new_take (copy, size);
      natter_thumbnail_check (damaged);
    }

  g_unlink (g_file_peek_path (photo));
  g_unlink (g_file_peek_path (big));
  g_rmdir (dir);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/Natter/Core/Image/formats", test_image_formats);
  g_test_add_func ("/Natter/Core/Image/avatar", test_image_avatar);
  g_test_add_func ("/Natter/Core/Thumbnail/make", test_thumbnail_make);
  g_test_add_func ("/Natter/Core/Thumbnail/check", test_thumbnail_check);

  return g_test_run ();
}
