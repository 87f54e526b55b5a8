/* natter-conversation-files.c: sending files from a conversation
 *
 * Three ways in, one way out: files dropped anywhere on the conversation
 * (a GtkDropTarget for GdkFileList; the view is highlighted while they
 * hover), the compose box's attach button (GtkFileChooserNative, which is
 * the file chooser portal inside a sandbox), and pasting: copied files, or
 * a copied picture, which is saved as a PNG under the user's data folder
 * and sent from there. Each file becomes a transfer through
 * natter_client_send_file(); a folder is refused with the core's message
 * ("A folder cannot be sent; send the files in it instead"), as is anything
 * else that cannot be sent, each in a toast that names the file.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "natter-conversation-files"

#include "config.h"

#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <adwaita.h>

#include "natter-conversation-files.h"

static void
show_toast (NatterConversationView *view,
            const char             *text)
{
  natter_conversation_view_show_toast (view, text);
}

/**
 * natter_conversation_files_send:
 * @files: (element-type GFile): what to send to the open conversation
 *
 * Returns: %TRUE if at least one file was offered
 */
gboolean
natter_conversation_files_send (NatterConversationView *view,
                                GSList                 *files)
{
  NatterClient *client = natter_conversation_view_get_client (view);
  const char *contact_id = natter_conversation_view_get_contact_id (view);
  gboolean sent = FALSE;

  g_return_val_if_fail (NATTER_IS_CONVERSATION_VIEW (view), FALSE);

  if (client == NULL || contact_id == NULL)
    return FALSE;

  for (GSList *l = files; l != NULL; l = l->next)
    {
      g_autoptr(NatterTransfer) transfer = NULL;
      g_autoptr(GError) error = NULL;

      transfer = natter_client_send_file (client, contact_id, l->data, NULL, &error);
      if (transfer == NULL)
        {
          g_autofree char *name = g_file_get_basename (l->data);
          /* Translators: %s is a file name, then why it was not sent */
          g_autofree char *text = g_strdup_printf (_("Could not send “%s”: %s"),
                                                   name != NULL ? name : "", error->message);

          show_toast (view, text);
          continue;
        }
      sent = TRUE;
    }

  if (sent)
    natter_client_connect_to (client, contact_id);
  return sent;
}

static void
send_list_model (NatterConversationView *view,
                 GListModel             *files)
{
  g_autoptr(GSList) list = NULL;

  for (guint i = g_list_model_get_n_items (files); i > 0; i--)
    list = g_slist_prepend (list, g_list_model_get_item (files, i - 1));
  natter_conversation_files_send (view, list);
  g_slist_free_full (g_steal_pointer (&list), g_object_unref);
}

/* Dropping */

static gboolean
on_drop (GtkDropTarget          *target,
         const GValue           *value,
         double                  x,
         double                  y,
         NatterConversationView *view)
{
  gtk_widget_remove_css_class (GTK_WIDGET (view), "drop-files");
  if (!G_VALUE_HOLDS (value, GDK_TYPE_FILE_LIST))
    return FALSE;

  return natter_conversation_files_send (view, gdk_file_list_get_files (g_value_get_boxed (value)));
}

static GdkDragAction
on_drop_enter (GtkDropTarget          *target,
               double                  x,
               double                  y,
               NatterConversationView *view)
{
  /* Nothing to drop files on without a conversation */
  if (natter_conversation_view_get_contact_id (view) == NULL)
    return 0;
  gtk_widget_add_css_class (GTK_WIDGET (view), "drop-files");
  return GDK_ACTION_COPY;
}

static void
on_drop_leave (GtkDropTarget          *target,
               NatterConversationView *view)
{
  gtk_widget_remove_css_class (GTK_WIDGET (view), "drop-files");
}

/* The attach button */

static void
on_chooser_response (GtkNativeDialog        *chooser,
                     int                     response,
                     NatterConversationView *view)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      G_GNUC_BEGIN_IGNORE_DEPRECATIONS
      g_autoptr(GListModel) files = gtk_file_chooser_get_files (GTK_FILE_CHOOSER (chooser));
      G_GNUC_END_IGNORE_DEPRECATIONS

      send_list_model (view, files);
    }
  gtk_native_dialog_destroy (chooser);
  g_object_unref (chooser);
}

static void
on_attach_clicked (GtkButton              *button,
                   NatterConversationView *view)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (view));
  GtkFileChooserNative *chooser;

  if (natter_conversation_view_get_contact_id (view) == NULL)
    return;

  /* GtkFileDialog only came with GTK 4.10; this is the portal too */
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  chooser = gtk_file_chooser_native_new (_("Send Files"),
                                         GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                         GTK_FILE_CHOOSER_ACTION_OPEN, _("_Send"), _("_Cancel"));
  gtk_file_chooser_set_select_multiple (GTK_FILE_CHOOSER (chooser), TRUE);
  G_GNUC_END_IGNORE_DEPRECATIONS
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  g_signal_connect_object (chooser, "response", G_CALLBACK (on_chooser_response), view, 0);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

/* Pasting */

static GFile *
pasted_image_file (GError **error)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *folder = g_build_filename (g_get_user_data_dir (), "natter", "pasted", NULL);
  g_autofree char *stamp = g_date_time_format (now, "%Y-%m-%d %H-%M-%S");

  if (g_mkdir_with_parents (folder, 0700) != 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "%s", g_strerror (saved));
      return NULL;
    }

  for (guint i = 0; i < 100; i++)
    {
      g_autofree char *name = NULL;
      g_autoptr(GFile) file = NULL;
      g_autoptr(GFileOutputStream) stream = NULL;
      g_autoptr(GError) local_error = NULL;

      /* Translators: the name of a picture pasted into a conversation; %s
       * is the date and time. Keep it a valid file name. */
      name = i == 0 ? g_strdup_printf (_("Pasted image %s.png"), stamp) :
                      g_strdup_printf (_("Pasted image %s (%u).png"), stamp, i);
      file = g_file_new_build_filename (folder, name, NULL);
      stream = g_file_create (file, G_FILE_CREATE_PRIVATE, NULL, &local_error);
      if (stream != NULL)
        return g_steal_pointer (&file);
      if (!g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_EXISTS))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return NULL;
        }
    }

  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_EXISTS, _("Too many pasted pictures"));
  return NULL;
}

static void
on_texture_read (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(NatterConversationView) view = user_data;
  g_autoptr(GdkTexture) texture = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GFile) file = NULL;
  g_autoptr(GBytes) png = NULL;
  g_autoptr(GSList) files = NULL;

  texture = gdk_clipboard_read_texture_finish (GDK_CLIPBOARD (source), result, &error);
  if (texture != NULL && (file = pasted_image_file (&error)) != NULL)
    {
      png = gdk_texture_save_to_png_bytes (texture);
      if (!g_file_replace_contents (file, g_bytes_get_data (png, NULL), g_bytes_get_size (png),
                                    NULL, FALSE, G_FILE_CREATE_PRIVATE, NULL, NULL, &error))
        g_clear_object (&file);
    }

  if (file == NULL)
    {
      /* Translators: %s says why */
      g_autofree char *text = g_strdup_printf (_("Could not paste the picture: %s"),
                                               error->message);

      show_toast (view, text);
      return;
    }

  files = g_slist_prepend (NULL, file);
  natter_conversation_files_send (view, files);
}

static void
on_files_read (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(NatterConversationView) view = user_data;
  g_autoptr(GError) error = NULL;
  const GValue *value;

  value = gdk_clipboard_read_value_finish (GDK_CLIPBOARD (source), result, &error);
  if (value == NULL)
    {
      g_autofree char *text = g_strdup_printf (_("Could not paste the files: %s"),
                                               error->message);

      show_toast (view, text);
      return;
    }

  natter_conversation_files_send (view, gdk_file_list_get_files (g_value_get_boxed (value)));
}

/* Files or a picture on the clipboard are sent; text is pasted as usual */
static void
on_paste_clipboard (GtkTextView            *compose_view,
                    NatterConversationView *view)
{
  GdkClipboard *clipboard = gtk_widget_get_clipboard (GTK_WIDGET (compose_view));
  GdkContentFormats *formats = gdk_clipboard_get_formats (clipboard);

  if (natter_conversation_view_get_contact_id (view) == NULL)
    return;

  if (gdk_content_formats_contain_gtype (formats, GDK_TYPE_FILE_LIST))
    {
      g_signal_stop_emission_by_name (compose_view, "paste-clipboard");
      gdk_clipboard_read_value_async (clipboard, GDK_TYPE_FILE_LIST, G_PRIORITY_DEFAULT, NULL,
                                      on_files_read, g_object_ref (view));
    }
  else if (gdk_content_formats_contain_gtype (formats, GDK_TYPE_TEXTURE) &&
           !gdk_content_formats_contain_mime_type (formats, "text/plain") &&
           !gdk_content_formats_contain_mime_type (formats, "text/plain;charset=utf-8"))
    {
      g_signal_stop_emission_by_name (compose_view, "paste-clipboard");
      gdk_clipboard_read_texture_async (clipboard, NULL, on_texture_read, g_object_ref (view));
    }
}

/**
 * natter_conversation_files_install:
 * @attach_box: where the attach button goes
 * @compose_view: whose pasting may bring files
 *
 * Lets @view take files: dropped on it, chosen, or pasted.
 */
void
natter_conversation_files_install (NatterConversationView *view,
                                   GtkBox                 *attach_box,
                                   GtkTextView            *compose_view)
{
  GtkDropTarget *target;
  GtkWidget *button;

  g_return_if_fail (NATTER_IS_CONVERSATION_VIEW (view));

  target = gtk_drop_target_new (GDK_TYPE_FILE_LIST, GDK_ACTION_COPY);
  g_signal_connect (target, "drop", G_CALLBACK (on_drop), view);
  g_signal_connect (target, "enter", G_CALLBACK (on_drop_enter), view);
  g_signal_connect (target, "leave", G_CALLBACK (on_drop_leave), view);
  gtk_widget_add_controller (GTK_WIDGET (view), GTK_EVENT_CONTROLLER (target));

  button = gtk_button_new_from_icon_name ("mail-attachment-symbolic");
  gtk_widget_set_valign (button, GTK_ALIGN_END);
  gtk_widget_set_tooltip_text (button, _("Send Files"));
  gtk_widget_add_css_class (button, "flat");
  gtk_widget_add_css_class (button, "circular");
  gtk_accessible_update_property (GTK_ACCESSIBLE (button), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("Send Files"), -1);
  g_signal_connect (button, "clicked", G_CALLBACK (on_attach_clicked), view);
  gtk_box_append (attach_box, button);

  g_signal_connect (compose_view, "paste-clipboard", G_CALLBACK (on_paste_clipboard), view);
}
