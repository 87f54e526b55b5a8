/* natter-transfer-row.c: one file transfer in a conversation
 *
 * A card on the sender's side of the conversation: the file's type icon
 * (or the thumbnail the sender made, for a picture offered to us), its name
 * and size, what is happening, and what can be done: Accept or Decline an
 * offer, Cancel while it waits or runs, Resume a download that failed part
 * way, Open and Show in Folder once done. While data flows a progress bar
 * says how far, how fast and how long is left. A picture that arrived (or
 * went out) whole is shown, scaled down, and opens on a click.
 *
 * The row follows the live NatterTransfer's properties; names and types
 * from the peer are set as plain text, never markup.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "natter-transfer-row"

#include "config.h"

#include <glib/gi18n.h>
#include <adwaita.h>

#include "natter-transfer-row.h"

/* The inline picture of a finished image, at most this big */
#define PREVIEW_WIDTH       280
#define PREVIEW_HEIGHT      220
/* Bigger pictures are not decoded for the preview */
#define PREVIEW_MAX_BYTES   (64 * 1024 * 1024)

struct _NatterTransferRow
{
  GtkBox          parent_instance;

  GtkWidget      *card;
  GtkButton      *preview_button;
  GtkPicture     *preview;
  GtkStack       *icon_stack;
  GtkImage       *icon;
  GtkPicture     *thumbnail;
  GtkLabel       *name_label;
  GtkLabel       *detail_label;
  GtkProgressBar *progress_bar;
  GtkLabel       *error_label;
  GtkWidget      *accept_button;
  GtkWidget      *decline_button;
  GtkWidget      *cancel_button;
  GtkWidget      *resume_button;
  GtkWidget      *open_button;
  GtkWidget      *folder_button;

  NatterClient   *client;
  NatterTransfer *transfer;
  char           *contact_name;
  GCancellable   *preview_cancellable;
  char           *preview_path;     /* what the preview shows, or is being made of */
  guint           progress_source;  /* progress is drawn at most this often */
};

#define PROGRESS_INTERVAL_MS 150

G_DEFINE_FINAL_TYPE (NatterTransferRow, natter_transfer_row, GTK_TYPE_BOX)

static void
show_toast (NatterTransferRow *self,
            const char        *message)
{
  GtkWidget *overlay = gtk_widget_get_ancestor (GTK_WIDGET (self), ADW_TYPE_TOAST_OVERLAY);

  if (overlay != NULL)
    adw_toast_overlay_add_toast (ADW_TOAST_OVERLAY (overlay), adw_toast_new (message));
  else
    g_message ("%s", message);
}

static gboolean
is_incoming (NatterTransfer *transfer)
{
  return natter_transfer_get_direction (transfer) == NATTER_TRANSFER_DIRECTION_IN;
}

static char *
time_left_text (guint64 seconds)
{
  if (seconds < 60)
    return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u second left", "%u seconds left",
                                         (gulong) seconds), (guint) seconds);
  if (seconds < 3600)
    {
      guint minutes = (seconds + 59) / 60;

      return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u minute left", "%u minutes left",
                                           minutes), minutes);
    }
  {
    guint hours = (seconds + 3599) / 3600;

    return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u hour left", "%u hours left", hours),
                            hours);
  }
}

/* "1.2 MB of 4.8 MB · 3.1 MB/s · 2 seconds left" */
static char *
progress_text (NatterTransfer *transfer)
{
  guint64 done = natter_transfer_get_bytes_done (transfer);
  guint64 size = natter_transfer_get_size (transfer);
  double rate = natter_transfer_get_rate (transfer);
  g_autofree char *done_text = g_format_size (done);
  g_autofree char *size_text = g_format_size (size);
  g_autoptr(GString) text = g_string_new (NULL);

  /* Translators: bytes so far of the file's size, as "1.2 MB of 4.8 MB" */
  g_string_printf (text, _("%s of %s"), done_text, size_text);
  if (rate >= 1)
    {
      g_autofree char *rate_size = g_format_size ((guint64) rate);
      g_autofree char *left = time_left_text ((guint64) ((size - MIN (done, size)) / rate + 0.5));

      /* Translators: a transfer rate, such as "3.1 MB/s" */
      g_string_append (text, " · ");
      g_string_append_printf (text, _("%s/s"), rate_size);
      g_string_append (text, " · ");
      g_string_append (text, left);
    }

  return g_string_free (g_steal_pointer (&text), FALSE);
}

static const char *
state_text (NatterTransferRow *self)
{
  NatterTransfer *transfer = self->transfer;
  gboolean in = is_incoming (transfer);

  switch (natter_transfer_get_state (transfer))
    {
    case NATTER_TRANSFER_STATE_WAITING:
      return in ? _("Offered to you") : _("Waiting for them to accept");
    case NATTER_TRANSFER_STATE_TRANSFERRING:
      return in ? _("Receiving…") : _("Sending…");
    case NATTER_TRANSFER_STATE_DONE:
      return in ? _("Received") : _("Sent");
    case NATTER_TRANSFER_STATE_FAILED:
      return _("Failed");
    case NATTER_TRANSFER_STATE_CANCELLED:
      return _("Cancelled");
    case NATTER_TRANSFER_STATE_DECLINED:
      return in ? _("You declined") : _("Declined");
    default:
      return "";
    }
}

/**
 * natter_transfer_row_describe:
 * @contact_name: who the file goes to or comes from
 *
 * Returns: what a screen reader says of the transfer (and a notification)
 */
char *
natter_transfer_row_describe (NatterTransfer *transfer,
                              const char     *contact_name)
{
  g_autofree char *size = g_format_size (natter_transfer_get_size (transfer));

  if (is_incoming (transfer))
    /* Translators: a file row's accessible name: file name, sender, size */
    return g_strdup_printf (_("File %s from %s, %s"), natter_transfer_get_name (transfer),
                            contact_name, size);
  /* Translators: a file row's accessible name: file name, receiver, size */
  return g_strdup_printf (_("File %s to %s, %s"), natter_transfer_get_name (transfer),
                          contact_name, size);
}

/* Pictures: the sender's thumbnail of an offer, the file itself once done */

static gboolean
is_image (NatterTransfer *transfer)
{
  const char *mime = natter_transfer_get_mime_type (transfer);

  return mime != NULL && (g_str_equal (mime, "image/png") || g_str_equal (mime, "image/jpeg") ||
                          g_str_equal (mime, "image/gif") || g_str_equal (mime, "image/webp") ||
                          g_str_equal (mime, "image/bmp"));
}

static void
make_preview (GTask        *task,
              gpointer      source_object,
              gpointer      task_data,
              GCancellable *cancellable)
{
  const char *path = task_data;
  GError *error = NULL;
  GdkPixbuf *pixbuf;

  pixbuf = gdk_pixbuf_new_from_file_at_scale (path, PREVIEW_WIDTH, PREVIEW_HEIGHT, TRUE, &error);
  if (pixbuf == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, pixbuf, g_object_unref);
}

static void
on_preview_made (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GdkPixbuf) pixbuf = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  g_autoptr(GError) error = NULL;
  NatterTransferRow *self;

  pixbuf = g_task_propagate_pointer (G_TASK (result), &error);
  if (pixbuf == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_debug ("No preview of a received picture: %s", error->message);
      return;
    }

  self = NATTER_TRANSFER_ROW (source);
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  texture = gdk_texture_new_for_pixbuf (pixbuf);
  G_GNUC_END_IGNORE_DEPRECATIONS
  gtk_picture_set_paintable (self->preview, GDK_PAINTABLE (texture));
  gtk_widget_set_size_request (GTK_WIDGET (self->preview), gdk_pixbuf_get_width (pixbuf),
                               gdk_pixbuf_get_height (pixbuf));
  gtk_widget_set_visible (GTK_WIDGET (self->preview_button), TRUE);
}

static void
clear_preview (NatterTransferRow *self)
{
  g_cancellable_cancel (self->preview_cancellable);
  g_clear_object (&self->preview_cancellable);
  g_clear_pointer (&self->preview_path, g_free);
  gtk_picture_set_paintable (self->preview, NULL);
  gtk_widget_set_visible (GTK_WIDGET (self->preview_button), FALSE);
}

static void
update_preview (NatterTransferRow *self)
{
  const char *path = natter_transfer_get_path (self->transfer);
  g_autoptr(GTask) task = NULL;
  g_autofree char *label = NULL;

  if (natter_transfer_get_state (self->transfer) != NATTER_TRANSFER_STATE_DONE ||
      !is_image (self->transfer) || path == NULL ||
      natter_transfer_get_size (self->transfer) > PREVIEW_MAX_BYTES)
    {
      clear_preview (self);
      return;
    }
  if (g_strcmp0 (self->preview_path, path) == 0)
    return;

  clear_preview (self);
  self->preview_path = g_strdup (path);
  self->preview_cancellable = g_cancellable_new ();
  /* Translators: the accessible name of a received picture; %s is its file name */
  label = g_strdup_printf (_("Open %s"), natter_transfer_get_name (self->transfer));
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->preview_button),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, label, -1);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->preview_button), label);

  task = g_task_new (self, self->preview_cancellable, on_preview_made, NULL);
  g_task_set_task_data (task, g_strdup (path), g_free);
  g_task_run_in_thread (task, make_preview);
}

static void
update_icon (NatterTransferRow *self)
{
  GBytes *thumbnail = natter_transfer_get_thumbnail (self->transfer);
  const char *mime = natter_transfer_get_mime_type (self->transfer);
  g_autofree char *content_type = NULL;
  g_autoptr(GIcon) icon = NULL;

  if (thumbnail != NULL && natter_transfer_get_state (self->transfer) != NATTER_TRANSFER_STATE_DONE)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GdkTexture) texture = gdk_texture_new_from_bytes (thumbnail, &error);

      if (texture != NULL)
        {
          gtk_picture_set_paintable (self->thumbnail, GDK_PAINTABLE (texture));
          gtk_stack_set_visible_child_name (self->icon_stack, "thumbnail");
          return;
        }
      g_debug ("A thumbnail that does not decode: %s", error->message);
    }

  gtk_picture_set_paintable (self->thumbnail, NULL);
  content_type = g_content_type_from_mime_type (mime != NULL ? mime : "application/octet-stream");
  if (content_type != NULL)
    icon = g_content_type_get_icon (content_type);
  if (icon != NULL)
    gtk_image_set_from_gicon (self->icon, icon);
  else
    gtk_image_set_from_icon_name (self->icon, "text-x-generic");
  gtk_stack_set_visible_child_name (self->icon_stack, "icon");
}

static gboolean
file_is_there (NatterTransferRow *self)
{
  const char *path = natter_transfer_get_path (self->transfer);

  return path != NULL && g_file_test (path, G_FILE_TEST_EXISTS);
}

static void
update_fraction (NatterTransferRow *self)
{
  guint64 total = natter_transfer_get_size (self->transfer);
  double fraction = total > 0 ? (double) natter_transfer_get_bytes_done (self->transfer) / total :
                                0;

  gtk_progress_bar_set_fraction (self->progress_bar, CLAMP (fraction, 0, 1));
}

static gboolean
on_progress_timeout (gpointer user_data)
{
  NatterTransferRow *self = user_data;

  self->progress_source = 0;
  if (self->transfer != NULL &&
      natter_transfer_get_state (self->transfer) == NATTER_TRANSFER_STATE_TRANSFERRING)
    {
      g_autofree char *detail = progress_text (self->transfer);

      gtk_label_set_text (self->detail_label, detail);
      update_fraction (self);
    }
  return G_SOURCE_REMOVE;
}

static void
update (NatterTransferRow *self)
{
  NatterTransfer *transfer = self->transfer;
  NatterTransferState state;
  gboolean in;
  g_autofree char *size = NULL;
  g_autofree char *detail = NULL;
  g_autofree char *label = NULL;
  const char *error;

  if (transfer == NULL)
    return;

  state = natter_transfer_get_state (transfer);
  in = is_incoming (transfer);
  size = g_format_size (natter_transfer_get_size (transfer));

  gtk_label_set_text (self->name_label, natter_transfer_get_name (transfer));
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->name_label), natter_transfer_get_name (transfer));

  if (state == NATTER_TRANSFER_STATE_TRANSFERRING)
    {
      detail = progress_text (transfer);
      update_fraction (self);
    }
  else
    {
      /* Translators: a file's size and what is happening to it, as "4.8 MB · Sent" */
      detail = g_strdup_printf (_("%s · %s"), size, state_text (self));
    }
  gtk_label_set_text (self->detail_label, detail);
  gtk_widget_set_visible (GTK_WIDGET (self->progress_bar),
                          state == NATTER_TRANSFER_STATE_TRANSFERRING);

  error = natter_transfer_get_error (transfer);
  if (state == NATTER_TRANSFER_STATE_FAILED && (error == NULL || *error == '\0'))
    error = _("The transfer failed");
  gtk_widget_set_visible (GTK_WIDGET (self->error_label),
                          state == NATTER_TRANSFER_STATE_FAILED && error != NULL);
  if (state == NATTER_TRANSFER_STATE_FAILED)
    gtk_label_set_text (self->error_label, error);

  gtk_widget_set_visible (self->accept_button, in && state == NATTER_TRANSFER_STATE_WAITING);
  gtk_widget_set_visible (self->decline_button, in && state == NATTER_TRANSFER_STATE_WAITING);
  gtk_widget_set_visible (self->cancel_button,
                          state == NATTER_TRANSFER_STATE_TRANSFERRING ||
                          (!in && state == NATTER_TRANSFER_STATE_WAITING));
  gtk_widget_set_visible (self->resume_button,
                          in && state == NATTER_TRANSFER_STATE_FAILED &&
                          natter_transfer_get_path (transfer) != NULL);
  gtk_widget_set_visible (self->open_button,
                          state == NATTER_TRANSFER_STATE_DONE && file_is_there (self));
  gtk_widget_set_visible (self->folder_button,
                          state == NATTER_TRANSFER_STATE_DONE && file_is_there (self));

  update_icon (self);
  update_preview (self);

  label = natter_transfer_row_describe (transfer, self->contact_name);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL, label,
                                  GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, detail, -1);
}

/* Buttons */

static void
report (NatterTransferRow *self,
        const char        *what,
        GError            *error)
{
  /* Translators: the first %s is what was tried ("Could not accept"), the
   * second why */
  g_autofree char *text = g_strdup_printf (_("%s: %s"), what, error->message);

  show_toast (self, text);
}

static void
on_accept_clicked (NatterTransferRow *self)
{
  g_autoptr(GError) error = NULL;

  if (self->client != NULL &&
      !natter_client_accept_transfer (self->client, self->transfer, NULL, &error))
    report (self, _("Could not accept the file"), error);
}

static void
on_decline_clicked (NatterTransferRow *self)
{
  g_autoptr(GError) error = NULL;

  if (self->client != NULL &&
      !natter_client_decline_transfer (self->client, self->transfer, &error))
    report (self, _("Could not decline the file"), error);
}

static void
on_cancel_clicked (NatterTransferRow *self)
{
  g_autoptr(GError) error = NULL;

  if (self->client != NULL &&
      !natter_client_cancel_transfer (self->client, self->transfer, &error))
    report (self, _("Could not cancel the transfer"), error);
}

static void
on_resume_clicked (NatterTransferRow *self)
{
  g_autoptr(GError) error = NULL;

  if (self->client != NULL &&
      !natter_client_resume_transfer (self->client, self->transfer, &error))
    report (self, _("Could not resume the transfer"), error);
}

static GtkWindow *
parent_window (NatterTransferRow *self)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));

  return GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL;
}

static void
on_uri_shown (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(NatterTransferRow) self = user_data;
  g_autoptr(GError) error = NULL;

  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  if (!gtk_show_uri_full_finish (GTK_WINDOW (source), result, &error) &&
      !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    report (self, _("Could not open the file"), error);
  G_GNUC_END_IGNORE_DEPRECATIONS
}

/* Through the OpenURI portal inside a sandbox, the default application
 * outside one */
static void
show_uri (NatterTransferRow *self,
          const char        *uri)
{
  GtkWindow *window = parent_window (self);

  if (window == NULL)
    return;

  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  gtk_show_uri_full (window, uri, GDK_CURRENT_TIME, NULL, on_uri_shown, g_object_ref (self));
  G_GNUC_END_IGNORE_DEPRECATIONS
}

static void
on_open_clicked (NatterTransferRow *self)
{
  g_autoptr(GFile) file = NULL;
  g_autofree char *uri = NULL;

  if (self->transfer == NULL || natter_transfer_get_path (self->transfer) == NULL)
    return;

  file = g_file_new_for_path (natter_transfer_get_path (self->transfer));
  uri = g_file_get_uri (file);
  show_uri (self, uri);
}

typedef struct
{
  NatterTransferRow *row;
  char              *folder_uri;
} ShowItem;

static void
show_item_free (ShowItem *show)
{
  g_object_unref (show->row);
  g_free (show->folder_uri);
  g_free (show);
}

static void
on_items_shown (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  ShowItem *show = user_data;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (reply == NULL)
    {
      /* No file manager answers: open the folder itself */
      g_debug ("The file manager did not show the file: %s", error->message);
      show_uri (show->row, show->folder_uri);
    }
  show_item_free (show);
}

/* The file manager's org.freedesktop.FileManager1 selects the file in its
 * folder; without one, the folder opens */
static void
on_folder_clicked (NatterTransferRow *self)
{
  g_autoptr(GFile) file = NULL;
  g_autoptr(GFile) folder = NULL;
  g_autofree char *uri = NULL;
  GDBusConnection *bus;
  ShowItem *show;
  const char *uris[2] = { NULL, NULL };

  if (self->transfer == NULL || natter_transfer_get_path (self->transfer) == NULL)
    return;

  file = g_file_new_for_path (natter_transfer_get_path (self->transfer));
  folder = g_file_get_parent (file);
  uri = g_file_get_uri (file);
  show = g_new0 (ShowItem, 1);
  show->row = g_object_ref (self);
  show->folder_uri = g_file_get_uri (folder);

  bus = g_application_get_dbus_connection (g_application_get_default ());
  if (bus == NULL)
    {
      show_uri (self, show->folder_uri);
      show_item_free (show);
      return;
    }

  uris[0] = uri;
  g_dbus_connection_call (bus, "org.freedesktop.FileManager1", "/org/freedesktop/FileManager1",
                          "org.freedesktop.FileManager1", "ShowItems",
                          g_variant_new ("(^ass)", uris, ""), NULL,
                          G_DBUS_CALL_FLAGS_NO_AUTO_START, 5000, NULL, on_items_shown, show);
}

static void
on_transfer_notify (NatterTransfer    *transfer,
                    GParamSpec        *pspec,
                    NatterTransferRow *self)
{
  /* Progress comes with every chunk: drawn a few times a second */
  if (g_str_equal (pspec->name, "bytes-done") || g_str_equal (pspec->name, "rate"))
    {
      if (self->progress_source == 0)
        self->progress_source = g_timeout_add (PROGRESS_INTERVAL_MS, on_progress_timeout, self);
      return;
    }
  update (self);
}

static void
natter_transfer_row_dispose (GObject *object)
{
  NatterTransferRow *self = NATTER_TRANSFER_ROW (object);

  natter_transfer_row_bind (self, NULL, NULL, NULL);
  gtk_widget_dispose_template (GTK_WIDGET (self), NATTER_TYPE_TRANSFER_ROW);

  G_OBJECT_CLASS (natter_transfer_row_parent_class)->dispose (object);
}

static void
natter_transfer_row_class_init (NatterTransferRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = natter_transfer_row_dispose;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/natter/Natter/ui/natter-transfer-row.ui");
  gtk_widget_class_bind_template_child (widget_class, NatterTransferRow, card);
  gtk_widget_class_bind_template_child (widget_class, NatterTransferRow, preview_button);
  gtk_widget_class_bind_template_child (widget_class, NatterTransferRow, preview);
  gtk_widget_class_bind_template_child (widget_class, NatterTransferRow, icon_stack);
  gtk_widget_class_bind_template_child (widget_class, NatterTransferRow, icon);
  gtk_widget_class_bind_template_child (widget_class, NatterTransferRow, thumbnail);
  gtk_widget_class_bind_template_child (widget_class, NatterTransferRow, name_label);
  gtk_widget_class_bind_template_child (widget_class, NatterTransferRow, detail_label);
  gtk_widget_class_bind_template_child (widget_class, NatterTransferRow, progress_bar);
  gtk_widget_class_bind_template_child (widget_class, NatterTransferRow, error_label);
  gtk_widget_class_bind_template_child (widget_class, NatterTransferRow, accept_button);
  gtk_widget_class_bind_template_child (widget_class, NatterTransferRow, decline_button);
  gtk_widget_class_bind_template_child (widget_class, NatterTransferRow, cancel_button);
  gtk_widget_class_bind_template_child (widget_class, NatterTransferRow, resume_button);
  gtk_widget_class_bind_template_child (widget_class, NatterTransferRow, open_button);
  gtk_widget_class_bind_template_child (widget_class, NatterTransferRow, folder_button);
  gtk_widget_class_bind_template_callback (widget_class, on_accept_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_decline_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_cancel_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_resume_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_open_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_folder_clicked);

  gtk_widget_class_set_css_name (widget_class, "transferrow");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_GROUP);
}

static void
natter_transfer_row_init (NatterTransferRow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

NatterTransferRow *
natter_transfer_row_new (void)
{
  return g_object_new (NATTER_TYPE_TRANSFER_ROW, NULL);
}

/**
 * natter_transfer_row_bind:
 * @client: (nullable): who accepts, declines and cancels
 * @transfer: (nullable): what to show, %NULL to let go
 * @contact_name: (nullable): the other side's name
 */
void
natter_transfer_row_bind (NatterTransferRow *self,
                          NatterClient      *client,
                          NatterTransfer    *transfer,
                          const char        *contact_name)
{
  g_return_if_fail (NATTER_IS_TRANSFER_ROW (self));

  if (self->transfer != NULL)
    g_signal_handlers_disconnect_by_data (self->transfer, self);
  g_clear_handle_id (&self->progress_source, g_source_remove);
  clear_preview (self);
  g_set_object (&self->client, client);
  g_set_object (&self->transfer, transfer);
  g_free (self->contact_name);
  self->contact_name = g_strdup (contact_name != NULL ? contact_name : "");

  if (transfer == NULL)
    return;

  gtk_widget_set_halign (self->card, is_incoming (transfer) ? GTK_ALIGN_START : GTK_ALIGN_END);
  if (is_incoming (transfer))
    {
      gtk_widget_add_css_class (self->card, "incoming");
      gtk_widget_remove_css_class (self->card, "outgoing");
    }
  else
    {
      gtk_widget_add_css_class (self->card, "outgoing");
      gtk_widget_remove_css_class (self->card, "incoming");
    }
  g_signal_connect (transfer, "notify", G_CALLBACK (on_transfer_notify), self);
  update (self);
}

NatterTransfer *
natter_transfer_row_get_transfer (NatterTransferRow *self)
{
  g_return_val_if_fail (NATTER_IS_TRANSFER_ROW (self), NULL);

  return self->transfer;
}
