/* natter-profile-dialog.c: what contacts see of you, and your Natter ID
 *
 * Saved like `natter-cli profile`: name and bio in settings.ini, the
 * picture in the profile's `avatar` file, after the client checked it.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "natter-profile-dialog"

#include "config.h"

#include <glib/gi18n.h>

#include "natter-protocol.h"

#include "natter-contact-row.h"
#include "natter-profile-dialog.h"
#include "natter-qr-code.h"
#include "natter-user-id-text.h"

/* Pixels per module: the code of a link is about 180 px wide */
#define QR_MODULE_SIZE 4

struct _NatterProfileDialog
{
  AdwWindow          parent_instance;

  AdwToastOverlay   *toast_overlay;
  AdwAvatar         *avatar;
  GtkButton         *remove_button;
  GtkLabel          *error_label;
  AdwEntryRow       *name_row;
  AdwEntryRow       *bio_row;
  AdwActionRow      *id_row;
  GtkLabel          *link_label;
  GtkPicture        *qr_picture;
  AdwEntryRow       *handle_row;
  GtkButton         *release_button;
  GCancellable      *cancellable;
  gboolean           handle_busy;

  NatterApplication *application;
  GBytes            *new_avatar;
  gboolean           remove_avatar;
  GtkFileChooserNative *chooser;
};

G_DEFINE_FINAL_TYPE (NatterProfileDialog, natter_profile_dialog, ADW_TYPE_WINDOW)

static void
set_error (NatterProfileDialog *self,
           const char          *message)
{
  gtk_label_set_text (self->error_label, message != NULL ? message : "");
  gtk_widget_set_visible (GTK_WIDGET (self->error_label), message != NULL);
}

static void
show_avatar (NatterProfileDialog *self,
             GBytes              *bytes)
{
  g_autoptr(GdkPaintable) picture = natter_avatar_paintable_new (bytes);

  adw_avatar_set_custom_image (self->avatar, picture);
  gtk_widget_set_sensitive (GTK_WIDGET (self->remove_button), picture != NULL);
}

static void
on_chooser_response (GtkNativeDialog     *chooser,
                     int                  response,
                     NatterProfileDialog *self)
{
  g_autoptr(GFile) file = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;

  if (response == GTK_RESPONSE_ACCEPT)
    file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
  g_clear_object (&self->chooser);

  if (file == NULL)
    return;

  bytes = g_file_load_bytes (file, NULL, NULL, &error);
  if (bytes == NULL || !natter_client_validate_avatar (bytes, &error))
    {
      set_error (self, error->message);
      return;
    }

  set_error (self, NULL);
  g_clear_pointer (&self->new_avatar, g_bytes_unref);
  self->new_avatar = g_steal_pointer (&bytes);
  self->remove_avatar = FALSE;
  show_avatar (self, self->new_avatar);
}

static void
on_choose_clicked (NatterProfileDialog *self)
{
  g_autoptr(GtkFileFilter) filter = gtk_file_filter_new ();

  gtk_file_filter_set_name (filter, _("Pictures"));
  gtk_file_filter_add_mime_type (filter, "image/png");
  gtk_file_filter_add_mime_type (filter, "image/jpeg");
  gtk_file_filter_add_mime_type (filter, "image/webp");

  g_clear_object (&self->chooser);
  self->chooser = gtk_file_chooser_native_new (_("Choose a Picture"), GTK_WINDOW (self),
                                               GTK_FILE_CHOOSER_ACTION_OPEN, _("_Choose"),
                                               _("_Cancel"));
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (self->chooser), filter);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);
  g_signal_connect (self->chooser, "response", G_CALLBACK (on_chooser_response), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

static void
on_remove_clicked (NatterProfileDialog *self)
{
  g_clear_pointer (&self->new_avatar, g_bytes_unref);
  self->remove_avatar = TRUE;
  show_avatar (self, NULL);
}

static void
on_copy_clicked (NatterProfileDialog *self)
{
  NatterClient *client = natter_application_get_client (self->application);

  if (client == NULL)
    return;

  gdk_clipboard_set_text (gtk_widget_get_clipboard (GTK_WIDGET (self)),
                          natter_client_get_user_id (client));
  adw_toast_overlay_add_toast (self->toast_overlay, adw_toast_new (_("ID copied")));
}

static void
on_copy_link_clicked (NatterProfileDialog *self)
{
  NatterClient *client = natter_application_get_client (self->application);
  g_autofree char *uri = NULL;

  if (client == NULL)
    return;

  uri = natter_user_id_text_uri (natter_client_get_user_id (client));
  gdk_clipboard_set_text (gtk_widget_get_clipboard (GTK_WIDGET (self)), uri);
  adw_toast_overlay_add_toast (self->toast_overlay, adw_toast_new (_("Link copied")));
}

/* Our ID in groups of four, our link and its QR code */
static void
show_id (NatterProfileDialog *self,
         const char          *user_id)
{
  g_autofree char *grouped = natter_user_id_text_grouped (user_id);
  g_autofree char *uri = natter_user_id_text_uri (user_id);
  g_autoptr(GdkTexture) code = NULL;
  g_autoptr(GError) error = NULL;

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->id_row), grouped);
  gtk_label_set_text (self->link_label, uri);

  code = natter_qr_code_new (uri, QR_MODULE_SIZE, &error);
  if (code == NULL)
    g_warning ("%s", error->message);
  gtk_picture_set_paintable (self->qr_picture, GDK_PAINTABLE (code));
  gtk_widget_set_visible (GTK_WIDGET (self->qr_picture), code != NULL);
}

static void
on_save_clicked (NatterProfileDialog *self)
{
  g_autofree char *name = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->name_row))));
  g_autofree char *bio = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->bio_row))));
  g_autoptr(GError) error = NULL;

  if (!natter_application_save_profile (self->application, name, bio, self->new_avatar,
                                        self->remove_avatar, &error))
    {
      set_error (self, error->message);
      return;
    }

  gtk_window_close (GTK_WINDOW (self));
}

/* The handle: claimed, changed (a claim releases the old one) or released */

static void
show_handle (NatterProfileDialog *self)
{
  g_autofree char *handle = natter_application_dup_profile_value (self->application, "handle");
  g_autofree char *shown = handle != NULL ? g_strconcat ("@", handle, NULL) : NULL;

  gtk_editable_set_text (GTK_EDITABLE (self->handle_row), shown != NULL ? shown : "");
  gtk_widget_set_visible (GTK_WIDGET (self->release_button), handle != NULL);
}

static void
set_handle_busy (NatterProfileDialog *self,
                 gboolean             busy)
{
  /* Not insensitive: the row keeps its focus (GTK warns when a focused
   * entry turns insensitive), it only stops taking edits. */
  self->handle_busy = busy;
  gtk_editable_set_editable (GTK_EDITABLE (self->handle_row), !busy);
  gtk_widget_set_sensitive (GTK_WIDGET (self->release_button), !busy);
}

/* In words for the user: the server's refusals, or our own connection. */
static char *
explain_handle_error (const GError *error,
                      const char   *handle)
{
  if (g_error_matches (error, NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_HANDLE_TAKEN))
    /* Translators: %s is a handle such as @ana */
    return g_strdup_printf (_("%s belongs to someone else. Try another one."), handle);
  if (g_error_matches (error, NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_INVALID_HANDLE))
    return g_strdup (_("A handle is @ and 3 to 32 letters, digits, '_', '.' or '-'."));
  /* Translators: %s says why */
  return g_strdup_printf (_("The server did not take it: %s"), error->message);
}

static void
on_handle_claimed (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(NatterProfileDialog) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *handle = natter_client_claim_handle_finish (NATTER_CLIENT (source), result,
                                                               &error);
  g_autofree char *message = NULL;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  set_handle_busy (self, FALSE);
  if (handle == NULL)
    {
      g_autofree char *asked = g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->handle_row)));

      message = explain_handle_error (error, asked);
      set_error (self, message);
      return;
    }

  set_error (self, NULL);
  if (!natter_application_set_handle (self->application, handle, &error))
    {
      set_error (self, error->message);
      return;
    }
  show_handle (self);
  /* Translators: %s is the handle, without its @ */
  message = g_strdup_printf (_("You are @%s now"), handle);
  adw_toast_overlay_add_toast (self->toast_overlay, adw_toast_new (message));
}

static void
on_handle_apply (NatterProfileDialog *self)
{
  NatterClient *client = natter_application_get_client (self->application);
  g_autofree char *handle = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->handle_row))));
  g_autoptr(GError) error = NULL;
  g_autofree char *normalized = NULL;
  g_autofree char *current = NULL;

  if (client == NULL || *handle == '\0')
    return;

  normalized = natter_handle_normalize (handle, &error);
  if (normalized == NULL)
    {
      g_autofree char *message = explain_handle_error (error, handle);

      set_error (self, message);
      return;
    }

  /* Enter and the apply button both land here: claim a handle only once */
  current = natter_application_dup_profile_value (self->application, "handle");
  if (self->handle_busy || g_strcmp0 (current, normalized) == 0)
    return;

  set_handle_busy (self, TRUE);
  natter_client_claim_handle_async (client, normalized, self->cancellable, on_handle_claimed,
                                    g_object_ref (self));
}

static void
on_handle_released (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(NatterProfileDialog) self = user_data;
  g_autoptr(GError) error = NULL;
  gboolean released = natter_client_release_handle_finish (NATTER_CLIENT (source), result, &error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  set_handle_busy (self, FALSE);
  /* Not ours any more on the server (not-found, not-owner): forget it too. */
  if (!released && !g_error_matches (error, NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_NOT_FOUND) &&
      !g_error_matches (error, NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_NOT_OWNER))
    {
      g_autofree char *message = g_strdup_printf (_("The server did not take it: %s"),
                                                  error->message);

      set_error (self, message);
      return;
    }

  g_clear_error (&error);
  set_error (self, NULL);
  if (!natter_application_set_handle (self->application, NULL, &error))
    {
      set_error (self, error->message);
      return;
    }
  show_handle (self);
  adw_toast_overlay_add_toast (self->toast_overlay, adw_toast_new (_("Handle released")));
}

static void
on_release_clicked (NatterProfileDialog *self)
{
  NatterClient *client = natter_application_get_client (self->application);
  g_autofree char *handle = natter_application_dup_profile_value (self->application, "handle");

  if (client == NULL || handle == NULL)
    return;

  set_handle_busy (self, TRUE);
  natter_client_release_handle_async (client, handle, self->cancellable, on_handle_released,
                                      g_object_ref (self));
}

static void
on_name_changed (NatterProfileDialog *self)
{
  g_autofree char *initials =
    natter_avatar_initials_source (gtk_editable_get_text (GTK_EDITABLE (self->name_row)));

  adw_avatar_set_text (self->avatar, initials);
}

static void
natter_profile_dialog_dispose (GObject *object)
{
  NatterProfileDialog *self = NATTER_PROFILE_DIALOG (object);

  g_cancellable_cancel (self->cancellable);
  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);
  g_clear_object (&self->application);

  gtk_widget_dispose_template (GTK_WIDGET (self), NATTER_TYPE_PROFILE_DIALOG);

  G_OBJECT_CLASS (natter_profile_dialog_parent_class)->dispose (object);
}

static void
natter_profile_dialog_finalize (GObject *object)
{
  NatterProfileDialog *self = NATTER_PROFILE_DIALOG (object);

  g_clear_pointer (&self->new_avatar, g_bytes_unref);
  g_clear_object (&self->cancellable);

  G_OBJECT_CLASS (natter_profile_dialog_parent_class)->finalize (object);
}

static void
natter_profile_dialog_class_init (NatterProfileDialogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = natter_profile_dialog_dispose;
  object_class->finalize = natter_profile_dialog_finalize;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/natter/Natter/ui/natter-profile-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, NatterProfileDialog, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, NatterProfileDialog, avatar);
  gtk_widget_class_bind_template_child (widget_class, NatterProfileDialog, remove_button);
  gtk_widget_class_bind_template_child (widget_class, NatterProfileDialog, error_label);
  gtk_widget_class_bind_template_child (widget_class, NatterProfileDialog, name_row);
  gtk_widget_class_bind_template_child (widget_class, NatterProfileDialog, bio_row);
  gtk_widget_class_bind_template_child (widget_class, NatterProfileDialog, id_row);
  gtk_widget_class_bind_template_child (widget_class, NatterProfileDialog, link_label);
  gtk_widget_class_bind_template_child (widget_class, NatterProfileDialog, qr_picture);
  gtk_widget_class_bind_template_child (widget_class, NatterProfileDialog, handle_row);
  gtk_widget_class_bind_template_child (widget_class, NatterProfileDialog, release_button);
  gtk_widget_class_bind_template_callback (widget_class, on_handle_apply);
  gtk_widget_class_bind_template_callback (widget_class, on_release_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_choose_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_remove_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_copy_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_copy_link_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_save_clicked);

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
natter_profile_dialog_init (NatterProfileDialog *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->cancellable = g_cancellable_new ();
  g_signal_connect_swapped (self->name_row, "changed", G_CALLBACK (on_name_changed), self);
}

NatterProfileDialog *
natter_profile_dialog_new (GtkWindow         *parent,
                           NatterApplication *application)
{
  NatterProfileDialog *self;
  NatterClient *client;
  g_autofree char *name = NULL;
  g_autofree char *bio = NULL;
  g_autoptr(GBytes) avatar = NULL;

  g_return_val_if_fail (NATTER_IS_APPLICATION (application), NULL);

  self = g_object_new (NATTER_TYPE_PROFILE_DIALOG, "transient-for", parent, NULL);
  self->application = g_object_ref (application);

  name = natter_application_dup_profile_value (application, "name");
  bio = natter_application_dup_profile_value (application, "bio");
  gtk_editable_set_text (GTK_EDITABLE (self->name_row), name != NULL ? name : "");
  gtk_editable_set_text (GTK_EDITABLE (self->bio_row), bio != NULL ? bio : "");

  avatar = natter_application_dup_avatar (application);
  show_avatar (self, avatar);
  show_handle (self);

  client = natter_application_get_client (application);
  if (client != NULL)
    show_id (self, natter_client_get_user_id (client));

  return self;
}
