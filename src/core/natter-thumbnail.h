/* natter-thumbnail.h: the small picture an image's offer carries
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* The longest side of the thumbnails we make, in pixels */
#define NATTER_THUMBNAIL_SIZE 96

gboolean natter_thumbnail_wanted      (const char          *mime_type,
                                       guint64              size);
void     natter_thumbnail_make_async  (GFile               *file,
                                       GCancellable        *cancellable,
                                       GAsyncReadyCallback  callback,
                                       gpointer             user_data);
GBytes  *natter_thumbnail_make_finish (GAsyncResult        *result,
                                       GError             **error);
GBytes  *natter_thumbnail_make        (GFile               *file,
                                       GCancellable        *cancellable,
                                       GError             **error);
gboolean natter_thumbnail_check       (GBytes              *bytes);

G_END_DECLS
