/* natter-video-paintable.c: a call's video as a GdkPaintable
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The core hands each decoded frame over as RGBA bytes on the main context
 * (natter_call_set_frame_func()); here each becomes a GdkMemoryTexture
 * (GTK 4.8 takes RGB-type memory formats only) and the paintable's contents
 * change. The app never sees GStreamer, so gtk4paintablesink, which would
 * need it, is not used even where it exists; the core's appsink and this
 * paintable do the same job on every platform. Drawn scaled to fit,
 * keeping its aspect ratio; before the first frame, and after clear(),
 * nothing is drawn.
 */
#define G_LOG_DOMAIN "natter-video-paintable"

#include "config.h"

#include "natter-video-paintable.h"

struct _NatterVideoPaintable
{
  GObject     parent_instance;

  GdkTexture *texture;
  guint64     frames;
};

static void natter_video_paintable_iface_init (GdkPaintableInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (NatterVideoPaintable, natter_video_paintable, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (GDK_TYPE_PAINTABLE,
                                                      natter_video_paintable_iface_init))

static void
paintable_snapshot (GdkPaintable *paintable,
                    GdkSnapshot  *snapshot,
                    double        width,
                    double        height)
{
  NatterVideoPaintable *self = NATTER_VIDEO_PAINTABLE (paintable);
  double frame_w, frame_h, scale;

  if (self->texture == NULL)
    return;

  frame_w = gdk_texture_get_width (self->texture);
  frame_h = gdk_texture_get_height (self->texture);
  scale = MIN (width / frame_w, height / frame_h);

  gtk_snapshot_save (snapshot);
  gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT ((width - frame_w * scale) / 2,
                                                          (height - frame_h * scale) / 2));
  gdk_paintable_snapshot (GDK_PAINTABLE (self->texture), snapshot, frame_w * scale,
                          frame_h * scale);
  gtk_snapshot_restore (snapshot);
}

static int
paintable_get_intrinsic_width (GdkPaintable *paintable)
{
  NatterVideoPaintable *self = NATTER_VIDEO_PAINTABLE (paintable);

  return self->texture != NULL ? gdk_texture_get_width (self->texture) : 0;
}

static int
paintable_get_intrinsic_height (GdkPaintable *paintable)
{
  NatterVideoPaintable *self = NATTER_VIDEO_PAINTABLE (paintable);

  return self->texture != NULL ? gdk_texture_get_height (self->texture) : 0;
}

static double
paintable_get_intrinsic_aspect_ratio (GdkPaintable *paintable)
{
  NatterVideoPaintable *self = NATTER_VIDEO_PAINTABLE (paintable);

  if (self->texture == NULL)
    return 0;
  return (double) gdk_texture_get_width (self->texture) / gdk_texture_get_height (self->texture);
}

static void
natter_video_paintable_iface_init (GdkPaintableInterface *iface)
{
  iface->snapshot = paintable_snapshot;
  iface->get_intrinsic_width = paintable_get_intrinsic_width;
  iface->get_intrinsic_height = paintable_get_intrinsic_height;
  iface->get_intrinsic_aspect_ratio = paintable_get_intrinsic_aspect_ratio;
}

static void
natter_video_paintable_finalize (GObject *object)
{
  NatterVideoPaintable *self = NATTER_VIDEO_PAINTABLE (object);

  g_clear_object (&self->texture);

  G_OBJECT_CLASS (natter_video_paintable_parent_class)->finalize (object);
}

static void
natter_video_paintable_class_init (NatterVideoPaintableClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = natter_video_paintable_finalize;
}

static void
natter_video_paintable_init (NatterVideoPaintable *self)
{
}

NatterVideoPaintable *
natter_video_paintable_new (void)
{
  return g_object_new (NATTER_TYPE_VIDEO_PAINTABLE, NULL);
}

/**
 * natter_video_paintable_push_frame:
 * @pixels: RGBA, @height rows of @stride bytes
 *
 * Shows @pixels from now on. A frame whose bytes do not fill its size is
 * dropped.
 */
void
natter_video_paintable_push_frame (NatterVideoPaintable *self,
                                   int                   width,
                                   int                   height,
                                   gsize                 stride,
                                   GBytes               *pixels)
{
  gboolean resized;

  g_return_if_fail (NATTER_IS_VIDEO_PAINTABLE (self));
  g_return_if_fail (pixels != NULL);

  if (width <= 0 || height <= 0 || stride < (gsize) width * 4 ||
      g_bytes_get_size (pixels) < stride * (gsize) height)
    return;

  resized = self->texture == NULL || gdk_texture_get_width (self->texture) != width ||
            gdk_texture_get_height (self->texture) != height;
  g_clear_object (&self->texture);
  self->texture = gdk_memory_texture_new (width, height, GDK_MEMORY_R8G8B8A8, pixels, stride);
  self->frames++;

  if (resized)
    gdk_paintable_invalidate_size (GDK_PAINTABLE (self));
  gdk_paintable_invalidate_contents (GDK_PAINTABLE (self));
}

/* Nothing to show (the camera went off) */
void
natter_video_paintable_clear (NatterVideoPaintable *self)
{
  g_return_if_fail (NATTER_IS_VIDEO_PAINTABLE (self));

  if (self->texture == NULL)
    return;
  g_clear_object (&self->texture);
  gdk_paintable_invalidate_size (GDK_PAINTABLE (self));
  gdk_paintable_invalidate_contents (GDK_PAINTABLE (self));
}

guint64
natter_video_paintable_get_frames (NatterVideoPaintable *self)
{
  g_return_val_if_fail (NATTER_IS_VIDEO_PAINTABLE (self), 0);

  return self->frames;
}
