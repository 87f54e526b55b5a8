/* natter-preferences-window.c: the application's settings
 *
 * The switches are bound to GSettings, and so are the files' preferences
 * (accepted without asking up to a size, the download folder). The server address belongs to the
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
  GtkSwitch           *nearby_switch;
  GtkSwitch           *receipts_switch;
  GtkSwitch           *typing_switch;
  GtkSwitch           *preview_switch;
  GtkSwitch           *background_switch;
  NatterDeviceRow     *camera_row;
  NatterDeviceRow     *microphone_row;
  NatterDeviceRow     *speaker_row;
  AdwActionRow        *background_row;
  GtkSwitch           *login_switch;
  GtkSpinButton       *auto_accept_spin;
  AdwActionRow        *folder_row;
  GtkWidget           *folder_button;
  GtkWidget           *folder_reset_button;

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

/* Files */

static void
update_folder_row (NatterPreferencesWindow *self)
{
  GSettings *settings = natter_application_get_settings (self->application);
  g_autofree char *folder = settings != NULL ? g_settings_get_string (settings, "download-folder") :
                                               NULL;
  const char *downloads = g_get_user_special_dir (G_USER_DIRECTORY_DOWNLOAD);
  gboolean custom = folder != NULL && *folder != '\0';

  adw_action_row_set_subtitle (self->folder_row, custom ? folder :
                               downloads != NULL ? downloads : _("Downloads"));
  gtk_widget_set_visible (self->folder_reset_button, custom);
}

static void
on_folder_chosen (GtkNativeDialog         *chooser,
                  int                      response,
                  NatterPreferencesWindow *self)
{
  GSettings *settings = natter_application_get_settings (self->application);

  if (response == GTK_RESPONSE_ACCEPT && settings != NULL)
    {
      G_GNUC_BEGIN_IGNORE_DEPRECATIONS
      g_autoptr(GFile) folder = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
      G_GNUC_END_IGNORE_DEPRECATIONS
      g_autofree char *path = folder != NULL ? g_file_get_path (folder) : NULL;

      if (path != NULL)
        g_settings_set_string (settings, "download-folder", path);
      else
        show_toast (self, _("Choose a folder on this computer"));
    }
  gtk_native_dialog_destroy (chooser);
  g_object_unref (chooser);
}

static void
on_folder_choose (NatterPreferencesWindow *self)
{
  GtkFileChooserNative *chooser;

  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  chooser = gtk_file_chooser_native_new (_("Download Folder"), GTK_WINDOW (self),
                                         GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER, _("_Select"),
                                         _("_Cancel"));
  G_GNUC_END_IGNORE_DEPRECATIONS
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  g_signal_connect_object (chooser, "response", G_CALLBACK (on_folder_chosen), self, 0);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

static void
on_folder_reset (NatterPreferencesWindow *self)
{
  GSettings *settings = natter_application_get_settings (self->application);

  if (settings != NULL)
    g_settings_reset (settings, "download-folder");
}

static gboolean
uint_to_double (GValue   *value,
                GVariant *variant,
                gpointer  user_data)
{
  g_value_set_double (value, g_variant_get_uint32 (variant));
  return TRUE;
}

static GVariant *
double_to_uint (const GValue       *value,
                const GVariantType *type,
                gpointer            user_data)
{
  return g_variant_new_uint32 ((guint32) CLAMP (g_value_get_double (value), 0, G_MAXUINT32));
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
  gtk_widget_class_bind_template_child (widget_class, NatterPreferencesWindow, nearby_switch);
  gtk_widget_class_bind_template_child (widget_class, NatterPreferencesWindow, receipts_switch);
  gtk_widget_class_bind_template_child (widget_class, NatterPreferencesWindow, typing_switch);
  gtk_widget_class_bind_template_child (widget_class, NatterPreferencesWindow, preview_switch);
  gtk_widget_class_bind_template_child (widget_class, NatterPreferencesWindow, background_switch);
  gtk_widget_class_bind_template_child (widget_class, NatterPreferencesWindow, camera_row);
  gtk_widget_class_bind_template_child (widget_class, NatterPreferencesWindow, microphone_row);
  gtk_widget_class_bind_template_child (widget_class, NatterPreferencesWindow, speaker_row);
  gtk_widget_class_bind_template_child (widget_class, NatterPreferencesWindow, background_row);
  gtk_widget_class_bind_template_child (widget_class, NatterPreferencesWindow, login_switch);
  gtk_widget_class_bind_template_child (widget_class, NatterPreferencesWindow, auto_accept_spin);
  gtk_widget_class_bind_template_child (widget_class, NatterPreferencesWindow, folder_row);
  gtk_widget_class_bind_template_child (widget_class, NatterPreferencesWindow, folder_button);
  gtk_widget_class_bind_template_child (widget_class, NatterPreferencesWindow,
                                        folder_reset_button);
  gtk_widget_class_bind_template_callback (widget_class, on_folder_choose);
  gtk_widget_class_bind_template_callback (widget_class, on_folder_reset);
  gtk_widget_class_bind_template_callback (widget_class, on_server_apply);
  gtk_widget_class_bind_template_callback (widget_class, on_ice_apply);
}

/* The nearby-visibility key and its switch: “automatic” shows what the
 * profile does now (visible with no server, hidden with one) */
static gboolean
get_nearby_visible (GValue   *value,
                    GVariant *variant,
                    gpointer  user_data)
{
  const char *choice = g_variant_get_string (variant, NULL);

  if (g_str_equal (choice, "automatic"))
    g_value_set_boolean (value, natter_application_get_nearby_visible (user_data));
  else
    g_value_set_boolean (value, g_str_equal (choice, "visible"));
  return TRUE;
}

static GVariant *
set_nearby_visible (const GValue       *value,
                    const GVariantType *type,
                    gpointer            user_data)
{
  return g_variant_new_string (g_value_get_boolean (value) ? "visible" : "hidden");
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
      gtk_widget_set_sensitive (GTK_WIDGET (self->nearby_switch), FALSE);
      gtk_widget_set_sensitive (GTK_WIDGET (self->receipts_switch), FALSE);
      gtk_widget_set_sensitive (GTK_WIDGET (self->typing_switch), FALSE);
      gtk_widget_set_sensitive (GTK_WIDGET (self->preview_switch), FALSE);
      gtk_widget_set_sensitive (GTK_WIDGET (self->background_switch), FALSE);
      gtk_widget_set_sensitive (GTK_WIDGET (self->login_switch), FALSE);
      gtk_widget_set_sensitive (GTK_WIDGET (self->auto_accept_spin), FALSE);
      gtk_widget_set_sensitive (self->folder_button, FALSE);
      update_folder_row (self);
      return self;
    }

  load_list (settings, "stun-servers", self->stun_row);
  load_list (settings, "turn-servers", self->turn_row);
  g_settings_bind (settings, "relay-only", self->relay_switch, "active", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind_with_mapping (settings, "nearby-visibility", self->nearby_switch, "active",
                                G_SETTINGS_BIND_DEFAULT, get_nearby_visible, set_nearby_visible,
                                g_object_ref (application), g_object_unref);
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
  g_settings_bind_with_mapping (settings, "auto-accept-size",
                                gtk_spin_button_get_adjustment (self->auto_accept_spin), "value",
                                G_SETTINGS_BIND_DEFAULT, uint_to_double, double_to_uint, NULL,
                                NULL);
  g_signal_connect_object (settings, "changed::download-folder", G_CALLBACK (update_folder_row),
                           self, G_CONNECT_SWAPPED);
  update_folder_row (self);

  return self;
}
