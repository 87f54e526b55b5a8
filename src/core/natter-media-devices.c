/* natter-media-devices.c: the cameras, microphones or speakers there are now
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A GListModel of NatterMediaDevice over a GstDeviceMonitor for one kind
 * (Video/Source, Audio/Source, Audio/Sink), following devices that come
 * and go (the monitor's bus, whose messages are handed to the context the
 * list was made in). "device-removed" says
 * which one went, so that a call using it can follow. Inside the Flatpak
 * the same monitor sees PipeWire's nodes.
 */
#define G_LOG_DOMAIN "natter-media-devices"

#include "config.h"

#include "natter-media-devices-private.h"

struct _NatterMediaDevices
{
  GObject               parent_instance;

  NatterMediaDeviceKind kind;
  GstDeviceMonitor     *monitor;
  GPtrArray            *devices;      /* NatterMediaDevice */
  GPtrArray            *gst_devices;  /* GstDevice, the same order */
  GMainContext         *context;
};

enum {
  SIGNAL_DEVICE_REMOVED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void list_model_iface_init (GListModelInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (NatterMediaDevices, natter_media_devices, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL, list_model_iface_init))

static GType
get_item_type (GListModel *model)
{
  return NATTER_TYPE_MEDIA_DEVICE;
}

static guint
get_n_items (GListModel *model)
{
  return NATTER_MEDIA_DEVICES (model)->devices->len;
}

static gpointer
get_item (GListModel *model,
          guint       position)
{
  NatterMediaDevices *self = NATTER_MEDIA_DEVICES (model);

  return position < self->devices->len ? g_object_ref (self->devices->pdata[position]) : NULL;
}

static void
list_model_iface_init (GListModelInterface *iface)
{
  iface->get_item_type = get_item_type;
  iface->get_n_items = get_n_items;
  iface->get_item = get_item;
}

static const char *
device_class (NatterMediaDeviceKind kind)
{
  switch (kind)
    {
    case NATTER_MEDIA_DEVICE_CAMERA:
      return "Video/Source";
    case NATTER_MEDIA_DEVICE_MICROPHONE:
      return "Audio/Source";
    case NATTER_MEDIA_DEVICE_SPEAKER:
    default:
      return "Audio/Sink";
    }
}

/* What names a device for as long as it is there: its path or node where
 * the system gives one, otherwise its name */
static char *
device_id (GstDevice *device)
{
  static const char *keys[] = { "device.path", "api.v4l2.path", "node.name", "object.path",
                                "device.name", "udev-id" };
  g_autoptr(GstStructure) props = gst_device_get_properties (device);

  for (guint i = 0; props != NULL && i < G_N_ELEMENTS (keys); i++)
    {
      const char *value = gst_structure_get_string (props, keys[i]);

      if (value != NULL && value[0] != '\0')
        return g_strdup (value);
    }
  return gst_device_get_display_name (device);
}

static void
add_device (NatterMediaDevices *self,
            GstDevice          *device)
{
  g_autofree char *id = device_id (device);
  g_autofree char *name = gst_device_get_display_name (device);

  for (guint i = 0; i < self->gst_devices->len; i++)
    if (self->gst_devices->pdata[i] == device)
      return;

  g_ptr_array_add (self->devices, natter_media_device_new (self->kind, id, name));
  g_ptr_array_add (self->gst_devices, gst_object_ref (device));
  g_list_model_items_changed (G_LIST_MODEL (self), self->devices->len - 1, 0, 1);
}

static void
remove_device (NatterMediaDevices *self,
               GstDevice          *device)
{
  for (guint i = 0; i < self->gst_devices->len; i++)
    if (self->gst_devices->pdata[i] == device)
      {
        g_autoptr(NatterMediaDevice) gone = g_object_ref (self->devices->pdata[i]);

        g_ptr_array_remove_index (self->devices, i);
        g_ptr_array_remove_index (self->gst_devices, i);
        g_list_model_items_changed (G_LIST_MODEL (self), i, 1, 0);
        g_debug ("Device gone: %s (%u left)", natter_media_device_get_id (gone), self->devices->len);
        g_signal_emit (self, signals[SIGNAL_DEVICE_REMOVED], 0, gone);
        return;
      }
}

typedef struct
{
  GWeakRef    self;
  GstMessage *message;
} Change;

static void
change_free (gpointer data)
{
  Change *change = data;

  g_weak_ref_clear (&change->self);
  gst_message_unref (change->message);
  g_free (change);
}

/* On the main context */
static gboolean
on_change (gpointer user_data)
{
  Change *change = user_data;
  g_autoptr(NatterMediaDevices) self = g_weak_ref_get (&change->self);
  GstMessage *message = change->message;
  g_autoptr(GstDevice) device = NULL;

  if (self == NULL)
    return G_SOURCE_REMOVE;

  switch (GST_MESSAGE_TYPE (message))
    {
    case GST_MESSAGE_DEVICE_ADDED:
      gst_message_parse_device_added (message, &device);
      add_device (self, device);
      break;
    case GST_MESSAGE_DEVICE_REMOVED:
      gst_message_parse_device_removed (message, &device);
      remove_device (self, device);
      break;
    default:
      break;
    }
  return G_SOURCE_REMOVE;
}

/* On whichever thread the provider posts from (udev's, PipeWire's, ours):
 * the change goes to the context the list was made in */
static GstBusSyncReply
on_bus_sync (GstBus     *bus,
             GstMessage *message,
             gpointer    user_data)
{
  NatterMediaDevices *self = user_data;
  Change *change;

  if (GST_MESSAGE_TYPE (message) != GST_MESSAGE_DEVICE_ADDED &&
      GST_MESSAGE_TYPE (message) != GST_MESSAGE_DEVICE_REMOVED)
    return GST_BUS_DROP;

  change = g_new0 (Change, 1);
  g_weak_ref_init (&change->self, self);
  change->message = gst_message_ref (message);
  g_main_context_invoke_full (self->context, G_PRIORITY_DEFAULT, on_change, change,
                              change_free);
  return GST_BUS_DROP;
}

static void
natter_media_devices_dispose (GObject *object)
{
  NatterMediaDevices *self = NATTER_MEDIA_DEVICES (object);

  if (self->monitor != NULL)
    {
      g_autoptr(GstBus) bus = gst_device_monitor_get_bus (self->monitor);

      gst_device_monitor_stop (self->monitor);
      gst_bus_set_sync_handler (bus, NULL, NULL, NULL);
    }
  gst_clear_object (&self->monitor);
  if (self->gst_devices != NULL)
    g_ptr_array_set_size (self->gst_devices, 0);
  if (self->devices != NULL)
    g_ptr_array_set_size (self->devices, 0);

  G_OBJECT_CLASS (natter_media_devices_parent_class)->dispose (object);
}

static void
natter_media_devices_finalize (GObject *object)
{
  NatterMediaDevices *self = NATTER_MEDIA_DEVICES (object);

  g_clear_pointer (&self->devices, g_ptr_array_unref);
  g_clear_pointer (&self->gst_devices, g_ptr_array_unref);
  g_clear_pointer (&self->context, g_main_context_unref);

  G_OBJECT_CLASS (natter_media_devices_parent_class)->finalize (object);
}

static void
natter_media_devices_class_init (NatterMediaDevicesClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = natter_media_devices_dispose;
  object_class->finalize = natter_media_devices_finalize;

  /**
   * NatterMediaDevices::device-removed:
   * @device: the device that went away (no longer in the list)
   */
  signals[SIGNAL_DEVICE_REMOVED] =
    g_signal_new ("device-removed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 1, NATTER_TYPE_MEDIA_DEVICE);
}

static void
natter_media_devices_init (NatterMediaDevices *self)
{
  self->devices = g_ptr_array_new_with_free_func (g_object_unref);
  self->gst_devices = g_ptr_array_new_with_free_func (gst_object_unref);
}

/* One list a kind in the process, shared while anyone holds it (several
 * monitors on one provider do not all hear of a device that goes) */
static GWeakRef shared[3];

/**
 * natter_media_devices_new:
 * @kind: cameras, microphones or speakers
 *
 * Returns: (transfer full): the devices of @kind there are now; the list
 *   follows them as they come and go. Made on the main context; the same
 *   list for every caller while one holds it.
 */
NatterMediaDevices *
natter_media_devices_new (NatterMediaDeviceKind kind)
{
  NatterMediaDevices *self;
  g_autoptr(GstBus) bus = NULL;
  GList *devices;

  if (!gst_is_initialized ())
    gst_init (NULL, NULL);

  g_return_val_if_fail (kind <= NATTER_MEDIA_DEVICE_SPEAKER, NULL);

  self = g_weak_ref_get (&shared[kind]);
  if (self != NULL)
    return self;

  self = g_object_new (NATTER_TYPE_MEDIA_DEVICES, NULL);
  self->kind = kind;
  g_weak_ref_set (&shared[kind], self);
  self->monitor = gst_device_monitor_new ();
  gst_device_monitor_add_filter (self->monitor, device_class (kind), NULL);
  self->context = g_main_context_ref_thread_default ();
  bus = gst_device_monitor_get_bus (self->monitor);
  gst_bus_set_sync_handler (bus, on_bus_sync, self, NULL);
  if (!gst_device_monitor_start (self->monitor))
    {
      g_debug ("No %s devices can be listed here", device_class (kind));
      return self;
    }

  devices = gst_device_monitor_get_devices (self->monitor);
  /* The monitor lists the newest first */
  for (GList *l = g_list_last (devices); l != NULL; l = l->prev)
    add_device (self, l->data);
  g_list_free_full (devices, gst_object_unref);
  return self;
}

NatterMediaDeviceKind
natter_media_devices_get_kind (NatterMediaDevices *self)
{
  g_return_val_if_fail (NATTER_IS_MEDIA_DEVICES (self), NATTER_MEDIA_DEVICE_CAMERA);

  return self->kind;
}

/**
 * natter_media_devices_find:
 * @id: (nullable): a device's ID
 *
 * Returns: (transfer none) (nullable): the device with @id, if it is there
 */
NatterMediaDevice *
natter_media_devices_find (NatterMediaDevices *self,
                           const char         *id)
{
  g_return_val_if_fail (NATTER_IS_MEDIA_DEVICES (self), NULL);

  for (guint i = 0; id != NULL && i < self->devices->len; i++)
    if (g_str_equal (natter_media_device_get_id (self->devices->pdata[i]), id))
      return self->devices->pdata[i];
  return NULL;
}

/**
 * _natter_media_devices_create_element:
 * @id: (nullable): the device wanted; the first there is when it is not there
 * @used_id: (out) (optional): the ID of the device the element is for
 *
 * Returns: (transfer floating) (nullable): a source or sink element for
 *   the device, %NULL when there is no device of the kind at all
 */
GstElement *
_natter_media_devices_create_element (NatterMediaDevices *self,
                                      const char         *id,
                                      char              **used_id)
{
  guint index = 0;

  g_return_val_if_fail (NATTER_IS_MEDIA_DEVICES (self), NULL);

  if (self->devices->len == 0)
    return NULL;
  for (guint i = 0; id != NULL && i < self->devices->len; i++)
    if (g_str_equal (natter_media_device_get_id (self->devices->pdata[i]), id))
      index = i;

  if (used_id != NULL)
    *used_id = g_strdup (natter_media_device_get_id (self->devices->pdata[index]));
  return gst_device_create_element (self->gst_devices->pdata[index], NULL);
}
