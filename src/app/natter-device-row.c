/* natter-device-row.c: a choice of camera, microphone or speaker
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A combo row over core's NatterMediaDevices of one kind, which follows
 * devices as they are plugged in and out; the chosen device's ID goes to
 * a GSettings key (natter_device_row_bind()), from which calls take it
 * (natter-application-calls.c). An empty key, or a device that is not
 * there, means the first there is.
 */
#define G_LOG_DOMAIN "natter-device-row"

#include "config.h"

#include <glib/gi18n.h>

#include "natter-device-row.h"

struct _NatterDeviceRow
{
  AdwComboRow           parent_instance;

  NatterMediaDeviceKind kind;
  NatterMediaDevices   *devices;
  GSettings            *settings;
  char                 *key;
  gboolean              updating;
};

enum {
  PROP_0,
  PROP_KIND,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (NatterDeviceRow, natter_device_row, ADW_TYPE_COMBO_ROW)

/* The row shows the device the setting names (or the first) */
static void
select_from_settings (NatterDeviceRow *self)
{
  g_autofree char *wanted = NULL;
  GListModel *model = G_LIST_MODEL (self->devices);
  guint n = g_list_model_get_n_items (model);
  guint selected = 0;

  gtk_widget_set_sensitive (GTK_WIDGET (self), n > 0);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (self), n == 0 ? _("None found") : NULL);
  if (self->settings == NULL || n == 0)
    return;

  wanted = g_settings_get_string (self->settings, self->key);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(NatterMediaDevice) device = g_list_model_get_item (model, i);

      if (g_str_equal (natter_media_device_get_id (device), wanted))
        selected = i;
    }
  self->updating = TRUE;
  adw_combo_row_set_selected (ADW_COMBO_ROW (self), selected);
  self->updating = FALSE;
}

static void
on_selected (NatterDeviceRow *self)
{
  NatterMediaDevice *device = adw_combo_row_get_selected_item (ADW_COMBO_ROW (self));

  if (self->updating || self->settings == NULL || device == NULL)
    return;

  g_settings_set_string (self->settings, self->key, natter_media_device_get_id (device));
}

static void
natter_device_row_constructed (GObject *object)
{
  NatterDeviceRow *self = NATTER_DEVICE_ROW (object);
  g_autoptr(GtkExpression) name = NULL;

  G_OBJECT_CLASS (natter_device_row_parent_class)->constructed (object);

  self->devices = natter_media_devices_new (self->kind);
  name = gtk_property_expression_new (NATTER_TYPE_MEDIA_DEVICE, NULL, "name");
  adw_combo_row_set_expression (ADW_COMBO_ROW (self), name);
  adw_combo_row_set_model (ADW_COMBO_ROW (self), G_LIST_MODEL (self->devices));
  g_signal_connect_object (self->devices, "items-changed", G_CALLBACK (select_from_settings),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect (self, "notify::selected", G_CALLBACK (on_selected), NULL);
  select_from_settings (self);
}

static void
natter_device_row_set_property (GObject      *object,
                                guint         prop_id,
                                const GValue *value,
                                GParamSpec   *pspec)
{
  NatterDeviceRow *self = NATTER_DEVICE_ROW (object);

  switch (prop_id)
    {
    case PROP_KIND:
      self->kind = g_value_get_int (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
natter_device_row_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  NatterDeviceRow *self = NATTER_DEVICE_ROW (object);

  switch (prop_id)
    {
    case PROP_KIND:
      g_value_set_int (value, self->kind);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
natter_device_row_dispose (GObject *object)
{
  NatterDeviceRow *self = NATTER_DEVICE_ROW (object);

  if (self->settings != NULL)
    g_signal_handlers_disconnect_by_data (self->settings, self);
  g_clear_object (&self->settings);
  g_clear_object (&self->devices);

  G_OBJECT_CLASS (natter_device_row_parent_class)->dispose (object);
}

static void
natter_device_row_finalize (GObject *object)
{
  g_free (NATTER_DEVICE_ROW (object)->key);

  G_OBJECT_CLASS (natter_device_row_parent_class)->finalize (object);
}

static void
natter_device_row_class_init (NatterDeviceRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = natter_device_row_constructed;
  object_class->set_property = natter_device_row_set_property;
  object_class->get_property = natter_device_row_get_property;
  object_class->dispose = natter_device_row_dispose;
  object_class->finalize = natter_device_row_finalize;

  /* A NatterMediaDeviceKind: 0 cameras, 1 microphones, 2 speakers */
  properties[PROP_KIND] =
    g_param_spec_int ("kind", NULL, NULL, NATTER_MEDIA_DEVICE_CAMERA, NATTER_MEDIA_DEVICE_SPEAKER,
                      NATTER_MEDIA_DEVICE_CAMERA,
                      G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
natter_device_row_init (NatterDeviceRow *self)
{
}

/**
 * natter_device_row_bind:
 * @settings: (nullable): where the choice is kept; %NULL: none is kept
 * @key: a string key holding a device ID
 */
void
natter_device_row_bind (NatterDeviceRow *self,
                        GSettings       *settings,
                        const char      *key)
{
  g_autofree char *signal = NULL;

  g_return_if_fail (NATTER_IS_DEVICE_ROW (self));

  if (settings == NULL)
    return;

  g_set_object (&self->settings, settings);
  g_free (self->key);
  self->key = g_strdup (key);
  signal = g_strconcat ("changed::", key, NULL);
  g_signal_connect_swapped (settings, signal, G_CALLBACK (select_from_settings), self);
  select_from_settings (self);
}

/**
 * natter_device_row_select:
 * @id: (nullable): the device to show as chosen
 *
 * Selects @id without keeping it in the settings.
 */
void
natter_device_row_select (NatterDeviceRow *self,
                          const char      *id)
{
  GListModel *model;

  g_return_if_fail (NATTER_IS_DEVICE_ROW (self));

  model = G_LIST_MODEL (self->devices);
  for (guint i = 0; id != NULL && i < g_list_model_get_n_items (model); i++)
    {
      g_autoptr(NatterMediaDevice) device = g_list_model_get_item (model, i);

      if (g_str_equal (natter_media_device_get_id (device), id))
        {
          self->updating = TRUE;
          adw_combo_row_set_selected (ADW_COMBO_ROW (self), i);
          self->updating = FALSE;
          return;
        }
    }
}

/**
 * natter_device_row_get_id:
 *
 * Returns: (nullable): the chosen device's ID
 */
const char *
natter_device_row_get_id (NatterDeviceRow *self)
{
  NatterMediaDevice *device;

  g_return_val_if_fail (NATTER_IS_DEVICE_ROW (self), NULL);

  device = adw_combo_row_get_selected_item (ADW_COMBO_ROW (self));
  return device != NULL ? natter_media_device_get_id (device) : NULL;
}
