/* natter-message-row.c: one message in a conversation
 *
 * A row is a bubble (left for incoming, right for outgoing) with a day
 * header above the first message of each day (GTK 4.8 list views have no
 * sections), the time and, for outgoing messages, a delivery status icon.
 *
 * The bubble's content is chosen by the kind of message, so that files and
 * calls can get widgets of their own beside text.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "natter-message-row"

#include "config.h"

#include <glib/gi18n.h>
#include <adwaita.h>

#include "natter-message-row.h"

typedef enum
{
  MESSAGE_KIND_TEXT,
} MessageKind;

struct _NatterMessageRow
{
  GtkBox         parent_instance;

  GtkLabel      *day_label;
  GtkBox        *bubble;
  AdwBin        *content_slot;
  GtkButton     *retry_button;
  GtkLabel      *time_label;
  GtkImage      *status_image;

  NatterClient  *client;
  NatterMessage *message;
  MessageKind    kind;
};

G_DEFINE_FINAL_TYPE (NatterMessageRow, natter_message_row, GTK_TYPE_BOX)

/**
 * natter_message_row_status_label:
 *
 * Returns: the word the UI shows (and screen readers read) for @status
 */
const char *
natter_message_row_status_label (NatterMessageStatus status)
{
  switch (status)
    {
    case NATTER_MESSAGE_STATUS_QUEUED:
      return _("Queued");
    case NATTER_MESSAGE_STATUS_SENT:
      return _("Sent");
    case NATTER_MESSAGE_STATUS_DELIVERED:
      return _("Delivered");
    case NATTER_MESSAGE_STATUS_READ:
      return _("Read");
    case NATTER_MESSAGE_STATUS_FAILED:
      return _("Failed");
    case NATTER_MESSAGE_STATUS_RECEIVED:
    default:
      return _("Received");
    }
}

static const char *
status_icon_name (NatterMessageStatus status)
{
  switch (status)
    {
    case NATTER_MESSAGE_STATUS_QUEUED:
      return "document-open-recent-symbolic";
    case NATTER_MESSAGE_STATUS_SENT:
      return "object-select-symbolic";
    case NATTER_MESSAGE_STATUS_DELIVERED:
      return "emblem-ok-symbolic";
    case NATTER_MESSAGE_STATUS_READ:
      return "mail-read-symbolic";
    case NATTER_MESSAGE_STATUS_FAILED:
      return "dialog-error-symbolic";
    case NATTER_MESSAGE_STATUS_RECEIVED:
    default:
      return NULL;
    }
}

static MessageKind
message_kind (NatterMessage *message)
{
  /* Only text exists so far; files and calls will add kinds here. */
  return MESSAGE_KIND_TEXT;
}

static GtkWidget *
text_content_new (NatterMessage *message)
{
  GtkWidget *label = gtk_label_new (natter_message_get_body (message));

  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (label), PANGO_WRAP_WORD_CHAR);
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_selectable (GTK_LABEL (label), TRUE);
  gtk_widget_set_can_focus (label, FALSE);
  gtk_widget_add_css_class (label, "bubble-text");
  return label;
}

/* Reuses the content widget when the kind stays the same (rows are recycled). */
static void
update_content (NatterMessageRow *self)
{
  GtkWidget *child = adw_bin_get_child (self->content_slot);
  MessageKind kind = message_kind (self->message);

  switch (kind)
    {
    case MESSAGE_KIND_TEXT:
    default:
      if (child != NULL && self->kind == MESSAGE_KIND_TEXT && GTK_IS_LABEL (child))
        gtk_label_set_text (GTK_LABEL (child), natter_message_get_body (self->message));
      else
        adw_bin_set_child (self->content_slot, text_content_new (self->message));
      break;
    }

  self->kind = kind;
}

static void
update_status (NatterMessageRow *self)
{
  NatterMessageStatus status = natter_message_get_status (self->message);
  const char *icon = status_icon_name (status);
  const char *label = natter_message_row_status_label (status);
  gboolean outgoing = natter_message_get_direction (self->message) == NATTER_MESSAGE_DIRECTION_OUT;

  gtk_widget_set_visible (GTK_WIDGET (self->status_image), outgoing && icon != NULL);
  gtk_widget_set_visible (GTK_WIDGET (self->retry_button),
                          outgoing && status == NATTER_MESSAGE_STATUS_FAILED);

  if (!outgoing || icon == NULL)
    return;

  gtk_image_set_from_icon_name (self->status_image, icon);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->status_image), label);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->status_image),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, label, -1);

  if (status == NATTER_MESSAGE_STATUS_FAILED)
    gtk_widget_add_css_class (GTK_WIDGET (self->status_image), "error");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self->status_image), "error");
}

static gboolean
same_day (GDateTime *a,
          GDateTime *b)
{
  return g_date_time_get_year (a) == g_date_time_get_year (b) &&
         g_date_time_get_day_of_year (a) == g_date_time_get_day_of_year (b);
}

static char *
format_day (GDateTime *day)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autoptr(GDateTime) yesterday = g_date_time_add_days (now, -1);

  if (same_day (day, now))
    return g_strdup (_("Today"));
  if (same_day (day, yesterday))
    return g_strdup (_("Yesterday"));
  if (g_date_time_get_year (day) == g_date_time_get_year (now))
    /* Translators: a day header in a conversation; see strftime(3) */
    return g_date_time_format (day, _("%A, %B %e"));

  /* Translators: a day header in a conversation, for older years */
  return g_date_time_format (day, _("%B %e, %Y"));
}

static GDateTime *
message_time (NatterMessage *message)
{
  return g_date_time_new_from_unix_local (natter_message_get_timestamp (message) / G_USEC_PER_SEC);
}

static void
on_retry_clicked (NatterMessageRow *self)
{
  g_autoptr(GError) error = NULL;

  if (self->client == NULL || self->message == NULL)
    return;

  if (!natter_client_retry_message (self->client, natter_message_get_contact_id (self->message),
                                    natter_message_get_id (self->message), &error))
    g_warning ("Could not send the message again: %s", error->message);
}

static void
natter_message_row_dispose (GObject *object)
{
  NatterMessageRow *self = NATTER_MESSAGE_ROW (object);

  natter_message_row_bind (self, NULL, NULL, NULL);
  gtk_widget_dispose_template (GTK_WIDGET (self), NATTER_TYPE_MESSAGE_ROW);

  G_OBJECT_CLASS (natter_message_row_parent_class)->dispose (object);
}

static void
natter_message_row_class_init (NatterMessageRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = natter_message_row_dispose;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/natter/Natter/ui/natter-message-row.ui");
  gtk_widget_class_bind_template_child (widget_class, NatterMessageRow, day_label);
  gtk_widget_class_bind_template_child (widget_class, NatterMessageRow, bubble);
  gtk_widget_class_bind_template_child (widget_class, NatterMessageRow, content_slot);
  gtk_widget_class_bind_template_child (widget_class, NatterMessageRow, retry_button);
  gtk_widget_class_bind_template_child (widget_class, NatterMessageRow, time_label);
  gtk_widget_class_bind_template_child (widget_class, NatterMessageRow, status_image);
  gtk_widget_class_bind_template_callback (widget_class, on_retry_clicked);
}

static void
natter_message_row_init (NatterMessageRow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

NatterMessageRow *
natter_message_row_new (void)
{
  return g_object_new (NATTER_TYPE_MESSAGE_ROW, NULL);
}

/**
 * natter_message_row_bind:
 * @client: (nullable): the client, for retrying
 * @message: (nullable): the message to show, %NULL to unbind
 * @previous: (nullable): the message above, to decide on a day header
 */
void
natter_message_row_bind (NatterMessageRow *self,
                         NatterClient     *client,
                         NatterMessage    *message,
                         NatterMessage    *previous)
{
  g_autoptr(GDateTime) time = NULL;
  g_autofree char *time_text = NULL;
  gboolean outgoing;

  g_return_if_fail (NATTER_IS_MESSAGE_ROW (self));

  if (self->message != NULL)
    g_signal_handlers_disconnect_by_data (self->message, self);
  g_set_object (&self->message, message);
  g_set_object (&self->client, client);

  if (message == NULL)
    return;

  outgoing = natter_message_get_direction (message) == NATTER_MESSAGE_DIRECTION_OUT;
  gtk_widget_set_halign (GTK_WIDGET (self->bubble), outgoing ? GTK_ALIGN_END : GTK_ALIGN_START);
  if (outgoing)
    {
      gtk_widget_add_css_class (GTK_WIDGET (self->bubble), "outgoing");
      gtk_widget_remove_css_class (GTK_WIDGET (self->bubble), "incoming");
    }
  else
    {
      gtk_widget_add_css_class (GTK_WIDGET (self->bubble), "incoming");
      gtk_widget_remove_css_class (GTK_WIDGET (self->bubble), "outgoing");
    }

  update_content (self);

  time = message_time (message);
  time_text = g_date_time_format (time, "%H:%M");
  gtk_label_set_text (self->time_label, time_text);

  if (previous != NULL)
    {
      g_autoptr(GDateTime) previous_time = message_time (previous);

      gtk_widget_set_visible (GTK_WIDGET (self->day_label), !same_day (time, previous_time));
    }
  else
    {
      gtk_widget_set_visible (GTK_WIDGET (self->day_label), TRUE);
    }

  if (gtk_widget_get_visible (GTK_WIDGET (self->day_label)))
    {
      g_autofree char *day = format_day (time);

      gtk_label_set_text (self->day_label, day);
    }

  g_signal_connect_swapped (message, "notify::status", G_CALLBACK (update_status), self);
  update_status (self);
}
