/* natter-video-paintable.h: a call's video as a GdkPaintable
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define NATTER_TYPE_VIDEO_PAINTABLE (natter_video_paintable_get_type ())

G_DECLARE_FINAL_TYPE (NatterVideoPaintable, natter_video_paintable, NATTER, VIDEO_PAINTABLE,
                      GObject)

NatterVideoPaintable *natter_video_paintable_new        (void);
void                  natter_video_paintable_push_frame (NatterVideoPaintable *self,
                                                         int                   width,
                                                         int                   height,
                                                         gsize                 stride,
                                                         GBytes               *pixels);
void                  natter_video_paintable_clear      (NatterVideoPaintable *self);
guint64               natter_video_paintable_get_frames (NatterVideoPaintable *self);

G_END_DECLS
