/* natter-media-device.c: a camera, microphone or speaker
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * What NatterMediaDevices lists: the kind, an ID that stays the same while
 * the device is plugged in (and across runs where the system gives one),
 * and the name the system gives it, for people.
 */
#define G_LOG_DOMAIN "natter-media-device"

#include "config.h"

#include "natter-media-device.h"

struct _NatterMediaDevice
{
  GObject               parent_instance;

  NatterMediaDeviceKind kind;
  char                 *id;
  char                 *name;
};

enum {
  PROP_0,
  PROP_ID,
  PROP_NAME,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (NatterMediaDevice, natter_media_device, G_TYPE_OBJECT)

static void
natter_media_device_get_property (GObject    *object,
                                  guint       prop_id,
                                  GValue     *value,
                                  GParamSpec *pspec)
{
  NatterMediaDevice *self = NATTER_MEDIA_DEVICE (object);

  switch (prop_id)
    {
    case PROP_ID:
      g_value_set_string (value, self->id);
      break;
    case PROP_NAME:
      g_value_set_string (value, self->name);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
natter_media_device_finalize (GObject *object)
{
  NatterMediaDevice *self = NATTER_MEDIA_DEVICE (object);

  g_free (self->id);
  g_free (self->name);

  G_OBJECT_CLASS (natter_media_device_parent_class)->finalize (object);
}

static void
natter_media_device_class_init (NatterMediaDeviceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = natter_media_device_get_property;
  object_class->finalize = natter_media_device_finalize;

  properties[PROP_ID] = g_param_spec_string ("id", NULL, NULL, NULL,
                                             G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_NAME] = g_param_spec_string ("name", NULL, NULL, NULL,
                                               G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
natter_media_device_init (NatterMediaDevice *self)
{
}

NatterMediaDevice *
natter_media_device_new (NatterMediaDeviceKind kind,
                         const char           *id,
                         const char           *name)
{
  NatterMediaDevice *self;

  g_return_val_if_fail (id != NULL, NULL);

  self = g_object_new (NATTER_TYPE_MEDIA_DEVICE, NULL);
  self->kind = kind;
  self->id = g_strdup (id);
  self->name = g_strdup (name != NULL ? name : id);
  return self;
}

NatterMediaDeviceKind
natter_media_device_get_kind (NatterMediaDevice *self)
{
  g_return_val_if_fail (NATTER_IS_MEDIA_DEVICE (self), NATTER_MEDIA_DEVICE_CAMERA);

  return self->kind;
}

const char *
natter_media_device_get_id (NatterMediaDevice *self)
{
  g_return_val_if_fail (NATTER_IS_MEDIA_DEVICE (self), NULL);

  return self->id;
}

const char *
natter_media_device_get_name (NatterMediaDevice *self)
{
  g_return_val_if_fail (NATTER_IS_MEDIA_DEVICE (self), NULL);

  return self->name;
}
