/* natter-qr-code.c: a QR code of a short text, as a texture
 *
 * The profile shows the natter: link of our ID as a QR code, so another
 * device's camera can read it instead of someone typing 56 characters.
 * libqrencode does the encoding; this file only paints its modules, dark
 * on light whatever the style (readers expect that), with the quiet zone
 * of four modules the standard asks for around them.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "natter-qr-code"

#include "config.h"

#include <errno.h>
#include <string.h>

#include <glib/gi18n.h>
#include <qrencode.h>

#include "natter-qr-code.h"

#define QUIET_ZONE 4
#define BYTES_PER_PIXEL 3

/**
 * natter_qr_code_new:
 * @text: what the code says (UTF-8)
 * @module_size: the side of one module, in pixels
 * @error: a #GError
 *
 * Returns: (transfer full) (nullable): the code as a square texture, or
 *   %NULL with @error set (the text is too long for any QR code)
 */
GdkTexture *
natter_qr_code_new (const char  *text,
                    guint        module_size,
                    GError     **error)
{
  g_autoptr(GBytes) bytes = NULL;
  QRcode *code;
  guchar *pixels;
  gsize side;
  gsize stride;

  g_return_val_if_fail (text != NULL, NULL);
  g_return_val_if_fail (module_size > 0 && module_size <= 64, NULL);

  /* Version 0: the smallest that holds the text; level M survives a
   * smudged screen or a tilted camera. */
  code = QRcode_encodeString8bit (text, 0, QR_ECLEVEL_M);
  if (code == NULL)
    {
      int saved_errno = errno;

      if (saved_errno == ERANGE || saved_errno == EINVAL)
        g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                             _("Could not make a QR code: the text is too long"));
      else
        g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                     /* Translators: %s says why */
                     _("Could not make a QR code: %s"), g_strerror (saved_errno));
      return NULL;
    }

  side = ((gsize) code->width + 2 * QUIET_ZONE) * module_size;
  stride = side * BYTES_PER_PIXEL;
  pixels = g_malloc (stride * side);
  memset (pixels, 0xff, stride * side);

  for (int y = 0; y < code->width; y++)
    for (int x = 0; x < code->width; x++)
      {
        /* Bit 0 of each module says dark (libqrencode's documented layout) */
        if ((code->data[y * code->width + x] & 1) == 0)
          continue;

        for (guint dy = 0; dy < module_size; dy++)
          {
            gsize row = ((gsize) (y + QUIET_ZONE) * module_size + dy) * stride;

            memset (pixels + row + (gsize) (x + QUIET_ZONE) * module_size * BYTES_PER_PIXEL, 0,
                    module_size * BYTES_PER_PIXEL);
          }
      }

  QRcode_free (code);
  bytes = g_bytes_new_take (pixels, stride * side);
  return gdk_memory_texture_new ((int) side, (int) side, GDK_MEMORY_R8G8B8, bytes, stride);
}
