/* natter-image.h: what a picture claims to be, read from its header
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  NATTER_IMAGE_UNKNOWN,
  NATTER_IMAGE_PNG,
  NATTER_IMAGE_JPEG,
  NATTER_IMAGE_WEBP,
} NatterImageFormat;

NatterImageFormat natter_image_read_header (GBytes *bytes,
                                            guint  *width,
                                            guint  *height);

G_END_DECLS
