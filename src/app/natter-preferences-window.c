/* natter-preferences-window.c: the application's settings
 *
 * The switches are bound to GSettings. The server address belongs to the
 * profile (settings.ini, shared with natter-cli); applying a new one
 * reconnects through it.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "natter-preferences-window"

#include "config.h"

#include <glib/gi18n.h>

#include "natter-device-row.h"
#include "natter-preferences-window.h"

struct _NatterPreferencesWindow
{
  AdwPreferencesWindow parent_instance;

  AdwEntryRow         *server_row;
  AdwEntryRow         *stun_row;
  AdwEntryRow         *turn_row;
  GtkSwitch           *relay_switch;
  GtkSwitch           *receipts_switch;
  GtkSwitch           *typing_switch;
  GtkSwitch           *preview_switch;
  GtkSwitch           *background_switch;
  NatterDeviceRow     *camera_row;
  NatterDeviceRow     *microphone_row;
  NatterDeviceRow     *speaker_row;
  AdwActionRow        *background_row;
  GtkSwitch           *login_switch;

  NatterApplication   *application;
};

G_DEFINE_FINAL_TYPE (NatterPreferencesWindow, natter_preferences_window,
                     ADW_TYPE_PREFERENCES_WINDOW)

static void
show_toast (NatterPreferencesWindow *self,
            const char              *message)
{
  adw_preferences_window_add_toast (ADW_PREFERENCES_WINDOW (self), adw_toast_new (message));
}

static void
on_server_apply (NatterPreferencesWindow *self)
{
  g_autofree char *url = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->server_row))));
  g_autoptr(GError) error = NULL;

  if (!natter_application_set_server_url (self->application, url, &error))
    {
      gtk_widget_add_css_class (GTK_WIDGET (self->server_row), "error");
      show_toast (self, error->message);
      return;
    }

  gtk_widget_remove_css_class (GTK_WIDGET (self->server_row), "error");
  show_toast (self, _("Server changed"));
}

static void
on_background_problem (NatterPreferencesWindow *self)
{
  const char *problem = natter_application_get_background_problem (self->application);

  adw_action_row_set_subtitle (self->background_row,
                               problem != NULL ? problem :
                               _("Keep receiving messages after the window is closed"));
}

static char **
split_list (const char *text)
{
  g_auto(GStrv) parts = g_strsplit_set (text, ", \n", -1);
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  for (guint i = 0; parts[i] != NULL; i++)
    if (*parts[i] != '\0')
      g_strv_builder_add (builder, parts[i]);

  return g_strv_builder_end (builder);
}

static gboolean
check_list (char       **urls,
            const char  *prefix_a,
            const char  *prefix_b)
{
  for (guint i = 0; urls[i] != NULL; i++)
    if (!g_str_has_prefix (urls[i], prefix_a) && !g_str_has_prefix (urls[i], prefix_b))
      return FALSE;

  return TRUE;
}

static void
on_ice_apply (NatterPreferencesWindow *self)
{
  GSettings *settings = natter_application_get_settings (self->application);
  g_auto(GStrv) stun = split_list (gtk_editable_get_text (GTK_EDITABLE (self->stun_row)));
  g_auto(GStrv) turn = split_list (gtk_editable_get_text (GTK_EDITABLE (self->turn_row)));

  if (settings == NULL)
    return;

  if (!check_list (stun, "stun:", "stuns:") || !check_list (turn, "turn:", "turns:"))
    {
      show_toast (self, _("STUN addresses start with stun:, TURN addresses with turn: or turns:"));
      return;
    }

  g_settings_set_strv (settings, "stun-servers", (const char * const *) stun);
  g_settings_set_strv (settings, "turn-servers", (const char * const *) turn);
  show_toast (self, _("Used for connections from now on"));
}

static void
load_list (GSettings   *settings,
           const char  *key,
           AdwEntryRow *row)
{
  g_auto(GStrv) values = g_settings_get_strv (settings, key);
  g_autofree char *text = g_strjoinv (", ", values);

  gtk_editable_set_text (GTK_EDITABLE (row), text);
}

static void
natter_preferences_window_dispose (GObject *object)
{
  NatterPreferencesWindow *self = NATTER_PREFERENCES_WINDOW (object);

  g_clear_object (&self->application);

  gtk_widget_dispose_template (GTK_WIDGET (self), NATTER_TYPE_PREFERENCES_WINDOW);

  G_OBJECT_CLASS (natter_preferences_window_parent_class)->dispose (object);
}

static void
natter_preferences_window_class_init (NatterPreferencesWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = natter_preferences_window_dispose;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/natter/Natter/ui/natter-preferences-window.ui");
  gtk_widget_class_bind_template_child (widget_class, NatterPreferencesWindow, server_row);
  gtk_widget_class_bind_template_child (widget_class, NatterPreferencesWindow, stun_row);
  gtk_widget_class_bind_template_child (widget_class, NatterPreferencesWindow, turn_row);
  gtk_widget_class_bind_template_child (widget_class, NatterPreferencesWindow, relay_switch);
  gtk_widget_class_bind_template_child (widget_class, NatterPreferencesWindow, receipts_switch);
  gtk_widget_class_bind_template_child (widget_class, NatterPreferencesWindow, typing_switch);
  gtk_widget_class_bind_template_child (widget_class, NatterPreferencesWindow, preview_switch);
  gtk_widget_class_bind_template_child (widget_class, NatterPreferencesWindow, background_switch);
  gtk_widget_class_bind_template_child (widget_class, NatterPreferencesWindow, camera_row);
  gtk_widget_class_bind_template_child (widget_class, NatterPreferencesWindow, microphone_row);
  gtk_widget_class_bind_template_child (widget_class, NatterPreferencesWindow, speaker_row);
  gtk_widget_class_bind_template_child (widget_class, NatterPreferencesWindow, background_row);
  gtk_widget_class_bind_template_child (widget_class, NatterPreferencesWindow, login_switch);
  gtk_widget_class_bind_template_callback (widget_class, on_server_apply);
  gtk_widget_class_bind_template_callback (widget_class, on_ice_apply);
}

static void
natter_preferences_window_init (NatterPreferencesWindow *self)
{
  g_type_ensure (NATTER_TYPE_DEVICE_ROW);
  gtk_widget_init_template (GTK_WIDGET (self));
}

NatterPreferencesWindow *
natter_preferences_window_new (NatterApplication *application)
{
  NatterPreferencesWindow *self;
  GSettings *settings;
  g_autofree char *server = NULL;

  g_return_val_if_fail (NATTER_IS_APPLICATION (application), NULL);

  self = g_object_new (NATTER_TYPE_PREFERENCES_WINDOW, NULL);
  self->application = g_object_ref (application);

  server = natter_application_dup_server_url (application);
  gtk_editable_set_text (GTK_EDITABLE (self->server_row), server != NULL ? server : "");

  settings = natter_application_get_settings (application);
  if (settings == NULL)
    {
      /* Without the schema only the profile's server can be changed. */
      gtk_widget_set_sensitive (GTK_WIDGET (self->stun_row), FALSE);
      gtk_widget_set_sensitive (GTK_WIDGET (self->turn_row), FALSE);
      gtk_widget_set_sensitive (GTK_WIDGET (self->relay_switch), FALSE);
      gtk_widget_set_sensitive (GTK_WIDGET (self->receipts_switch), FALSE);
      gtk_widget_set_sensitive (GTK_WIDGET (self->typing_switch), FALSE);
      gtk_widget_set_sensitive (GTK_WIDGET (self->preview_switch), FALSE);
      gtk_widget_set_sensitive (GTK_WIDGET (self->background_switch), FALSE);
      gtk_widget_set_sensitive (GTK_WIDGET (self->login_switch), FALSE);
      return self;
    }

  load_list (settings, "stun-servers", self->stun_row);
  load_list (settings, "turn-servers", self->turn_row);
  g_settings_bind (settings, "relay-only", self->relay_switch, "active", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (settings, "send-read-receipts", self->receipts_switch, "active",
                   G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (settings, "notification-preview", self->preview_switch, "active",
                   G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (settings, "send-typing-indicators", self->typing_switch, "active",
                   G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (settings, "run-in-background", self->background_switch, "active",
                   G_SETTINGS_BIND_DEFAULT);
  natter_device_row_bind (self->camera_row, settings, "call-camera");
  natter_device_row_bind (self->microphone_row, settings, "call-microphone");
  natter_device_row_bind (self->speaker_row, settings, "call-speaker");
  g_settings_bind (settings, "start-at-login", self->login_switch, "active",
                   G_SETTINGS_BIND_DEFAULT);
  /* What the desktop answered, when it stands in the way */
  g_signal_connect_object (application, "notify::background-problem",
                           G_CALLBACK (on_background_problem), self, G_CONNECT_SWAPPED);
  on_background_problem (self);

  return self;
}
