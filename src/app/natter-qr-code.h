/* natter-qr-code.h: a QR code of a short text, as a texture
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

GdkTexture *natter_qr_code_new (const char  *text,
                                guint        module_size,
                                GError     **error);

G_END_DECLS
