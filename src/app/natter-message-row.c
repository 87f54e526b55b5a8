/* natter-message-row.c: one message in a conversation
 *
 * A row is a bubble (left for incoming, right for outgoing) with a day
 * header above the first message of each day (GTK 4.8 list views have no
 * sections), the time and, for outgoing messages, a delivery status icon.
 *
 * The bubble's content is chosen by the kind of message, so that files and
 * calls can get widgets of their own beside text.
 *
 * Each message has a menu (right click, long press, or the Menu key through
 * natter_message_row_popup_menu()): Copy Text, Copy Link, Reply, Retry,
 * Details and Delete for Me. What needs the conversation (replying, details,
 * deleting) goes to the view's "conversation." actions with the message's ID.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "natter-message-row"

#include "config.h"

#include <glib/gi18n.h>
#include <adwaita.h>

#include "natter-message-row.h"
#include "natter-message-text.h"

/* Messages from one sender this close together share one time. */
#define BURST_SECONDS 120

typedef enum
{
  MESSAGE_KIND_TEXT,
} MessageKind;

struct _NatterMessageRow
{
  GtkBox         parent_instance;

  GtkLabel      *day_label;
  GtkBox        *bubble;
  GtkButton     *quote_button;
  GtkLabel      *quote_label;
  AdwBin        *content_slot;
  GtkButton     *retry_button;
  GtkLabel      *time_label;
  GtkImage      *status_image;
  GtkWidget     *new_divider;
  GtkPopover    *menu;

  NatterClient  *client;
  NatterMessage *message;
  char          *sender_name;
  char          *link;
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
      return "natter-status-queued-symbolic";
    case NATTER_MESSAGE_STATUS_SENT:
      return "natter-status-sent-symbolic";
    case NATTER_MESSAGE_STATUS_DELIVERED:
      return "natter-status-delivered-symbolic";
    case NATTER_MESSAGE_STATUS_READ:
      return "natter-status-read-symbolic";
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

/* The body as markup, with its web addresses as links; remembers the first. */
static void
set_text (NatterMessageRow *self,
          GtkLabel         *label)
{
  g_autofree char *markup = NULL;

  g_clear_pointer (&self->link, g_free);
  markup = natter_message_text_to_markup (natter_message_get_body (self->message), &self->link);
  gtk_label_set_markup (label, markup);
}

static GtkWidget *
text_content_new (NatterMessageRow *self)
{
  GtkWidget *label = gtk_label_new (NULL);

  set_text (self, GTK_LABEL (label));
  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  /* The same text wraps the same way in every bubble: the label asks for
   * the width of its longest line up to this many characters, not for
   * whatever width its row happened to be measured at. */
  gtk_label_set_max_width_chars (GTK_LABEL (label), 60);
#if GTK_CHECK_VERSION (4, 6, 0)
  gtk_label_set_natural_wrap_mode (GTK_LABEL (label), GTK_NATURAL_WRAP_WORD);
#endif
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
        set_text (self, GTK_LABEL (child));
      else
        adw_bin_set_child (self->content_slot, text_content_new (self));
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

/* What a screen reader says for the row: sender, text, time and, for our
 * own messages, the status. */
static void
update_accessible_label (NatterMessageRow *self)
{
  g_autoptr(GDateTime) time = g_date_time_new_from_unix_local (
    natter_message_get_timestamp (self->message) / G_USEC_PER_SEC);
  g_autofree char *when = g_date_time_format (time, "%H:%M");
  g_autofree char *label = NULL;
  gboolean outgoing = natter_message_get_direction (self->message) == NATTER_MESSAGE_DIRECTION_OUT;
  const char *sender = outgoing ? _("You") : self->sender_name;

  if (outgoing)
    /* Translators: a message as a screen reader says it: sender, text, time, status */
    label = g_strdup_printf (_("%s: %s, %s, %s"), sender, natter_message_get_body (self->message),
                             when,
                             natter_message_row_status_label (natter_message_get_status (self->message)));
  else
    /* Translators: a received message as a screen reader says it: sender, text, time */
    label = g_strdup_printf (_("%s: %s, %s"), sender != NULL ? sender : "",
                             natter_message_get_body (self->message), when);

  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL, label, -1);
}

static void
on_status_notify (NatterMessageRow *self)
{
  update_status (self);
  update_accessible_label (self);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "message.retry",
                                 natter_message_get_status (self->message) ==
                                 NATTER_MESSAGE_STATUS_FAILED);
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

/* A reply shows the start of the message it answers; clicking it goes there. */
static void
update_quote (NatterMessageRow *self)
{
  const char *reply_to = natter_message_get_reply_to (self->message);
  g_autoptr(NatterMessage) original = NULL;
  g_autofree char *text = NULL;

  gtk_widget_set_visible (GTK_WIDGET (self->quote_button), reply_to != NULL);
  if (reply_to == NULL)
    return;

  if (self->client != NULL)
    original = natter_store_get_message (natter_client_get_store (self->client),
                                         natter_message_get_contact_id (self->message),
                                         reply_to, NULL);
  if (original == NULL)
    {
      text = g_strdup (_("A message that is not in this history"));
    }
  else
    {
      g_autofree char *line = g_strdup (natter_message_get_body (original));
      gboolean mine = natter_message_get_direction (original) == NATTER_MESSAGE_DIRECTION_OUT;

      g_strdelimit (line, "\r\n", ' ');
      /* Translators: the quote above a reply: who wrote the original, and its text */
      text = g_strdup_printf (_("%s: %s"), mine ? _("You") :
                                          (self->sender_name != NULL ? self->sender_name : ""),
                              line);
    }

  gtk_label_set_text (self->quote_label, text);
  /* Translators: what a screen reader says for the quote above a reply */
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->quote_button),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Replying to"),
                                  GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, text, -1);
}

static void
on_quote_clicked (NatterMessageRow *self)
{
  const char *reply_to = self->message != NULL ? natter_message_get_reply_to (self->message) : NULL;

  if (reply_to != NULL)
    gtk_widget_activate_action (GTK_WIDGET (self), "conversation.jump-to", "s", reply_to);
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

/* The menu */

static GMenuModel *
message_menu_model (void)
{
  GMenu *menu = g_menu_new ();
  g_autoptr(GMenu) copy = g_menu_new ();
  g_autoptr(GMenu) act = g_menu_new ();
  g_autoptr(GMenu) other = g_menu_new ();

  g_menu_append (copy, _("_Copy Text"), "message.copy-text");
  g_menu_append (copy, _("Copy _Link"), "message.copy-link");
  g_menu_append (act, _("_Reply"), "message.reply");
  g_menu_append (act, _("Re_try"), "message.retry");
  g_menu_append (other, _("_Details"), "message.details");
  g_menu_append (other, _("_Delete for Me"), "message.delete");
  g_menu_append_section (menu, NULL, G_MENU_MODEL (copy));
  g_menu_append_section (menu, NULL, G_MENU_MODEL (act));
  g_menu_append_section (menu, NULL, G_MENU_MODEL (other));
  return G_MENU_MODEL (menu);
}

static void
popup_menu_at (NatterMessageRow *self,
               double            x,
               double            y)
{
  GdkRectangle point = { (int) x, (int) y, 1, 1 };

  if (self->message == NULL)
    return;

  if (self->menu == NULL)
    {
      g_autoptr(GMenuModel) model = message_menu_model ();

      self->menu = GTK_POPOVER (gtk_popover_menu_new_from_model (model));
      gtk_widget_set_parent (GTK_WIDGET (self->menu), GTK_WIDGET (self));
      gtk_popover_set_has_arrow (self->menu, FALSE);
      gtk_widget_set_halign (GTK_WIDGET (self->menu),
                             natter_message_get_direction (self->message) ==
                             NATTER_MESSAGE_DIRECTION_OUT ? GTK_ALIGN_END : GTK_ALIGN_START);
    }

  gtk_popover_set_pointing_to (self->menu, &point);
  gtk_popover_popup (self->menu);
}

/* A right click or a long press, at (x, y) of the bubble. */
static void
on_menu_gesture (GtkGesture       *gesture,
                 double            x,
                 double            y,
                 NatterMessageRow *self)
{
  graphene_point_t point;

  gtk_gesture_set_state (gesture, GTK_EVENT_SEQUENCE_CLAIMED);
  if (!gtk_widget_compute_point (GTK_WIDGET (self->bubble), GTK_WIDGET (self),
                                 &GRAPHENE_POINT_INIT (x, y), &point))
    return;
  popup_menu_at (self, point.x, point.y);
}

static void
on_click_pressed (GtkGestureClick  *gesture,
                  int               n_press,
                  double            x,
                  double            y,
                  NatterMessageRow *self)
{
  on_menu_gesture (GTK_GESTURE (gesture), x, y, self);
}

static void
copy_text_action (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  NatterMessageRow *self = NATTER_MESSAGE_ROW (widget);

  if (self->message != NULL)
    gdk_clipboard_set_text (gtk_widget_get_clipboard (widget),
                            natter_message_get_body (self->message));
}

static void
copy_link_action (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  NatterMessageRow *self = NATTER_MESSAGE_ROW (widget);

  if (self->link != NULL)
    gdk_clipboard_set_text (gtk_widget_get_clipboard (widget), self->link);
}

/* Replying, deleting and the details belong to the conversation. */
static void
forward_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  NatterMessageRow *self = NATTER_MESSAGE_ROW (widget);
  const char *target = NULL;

  if (self->message == NULL)
    return;

  if (g_str_equal (action_name, "message.reply"))
    target = "conversation.reply";
  else if (g_str_equal (action_name, "message.delete"))
    target = "conversation.delete-message";
  else if (g_str_equal (action_name, "message.details"))
    target = "conversation.message-details";
  g_assert (target != NULL);

  gtk_widget_activate_action (widget, target, "s", natter_message_get_id (self->message));
}

static void
retry_action (GtkWidget  *widget,
              const char *action_name,
              GVariant   *parameter)
{
  on_retry_clicked (NATTER_MESSAGE_ROW (widget));
}

static void
natter_message_row_dispose (GObject *object)
{
  NatterMessageRow *self = NATTER_MESSAGE_ROW (object);

  natter_message_row_bind (self, NULL, NULL, NULL, NULL, FALSE);
  g_clear_pointer ((GtkWidget **) &self->menu, gtk_widget_unparent);
  g_clear_pointer (&self->link, g_free);
  g_clear_pointer (&self->sender_name, g_free);
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
  gtk_widget_class_bind_template_child (widget_class, NatterMessageRow, quote_button);
  gtk_widget_class_bind_template_child (widget_class, NatterMessageRow, quote_label);
  gtk_widget_class_bind_template_child (widget_class, NatterMessageRow, content_slot);
  gtk_widget_class_bind_template_child (widget_class, NatterMessageRow, retry_button);
  gtk_widget_class_bind_template_child (widget_class, NatterMessageRow, time_label);
  gtk_widget_class_bind_template_child (widget_class, NatterMessageRow, status_image);
  gtk_widget_class_bind_template_child (widget_class, NatterMessageRow, new_divider);
  gtk_widget_class_bind_template_callback (widget_class, on_retry_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_quote_clicked);
  gtk_widget_class_set_css_name (widget_class, "messagerow");

  gtk_widget_class_install_action (widget_class, "message.copy-text", NULL, copy_text_action);
  gtk_widget_class_install_action (widget_class, "message.copy-link", NULL, copy_link_action);
  gtk_widget_class_install_action (widget_class, "message.reply", NULL, forward_action);
  gtk_widget_class_install_action (widget_class, "message.retry", NULL, retry_action);
  gtk_widget_class_install_action (widget_class, "message.details", NULL, forward_action);
  gtk_widget_class_install_action (widget_class, "message.delete", NULL, forward_action);
}

static void
natter_message_row_init (NatterMessageRow *self)
{
  GtkGesture *click;
  GtkGesture *long_press;

  gtk_widget_init_template (GTK_WIDGET (self));

  /* Reachable with the keyboard (Tab into the list, then Up and Down), so
   * that the Menu key can open the message's menu. */
  gtk_widget_set_focusable (GTK_WIDGET (self), TRUE);
  gtk_widget_set_focus_on_click (GTK_WIDGET (self), FALSE);

  /* Before the selectable label's own menu. */
  click = gtk_gesture_click_new ();
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (click), GDK_BUTTON_SECONDARY);
  gtk_event_controller_set_propagation_phase (GTK_EVENT_CONTROLLER (click), GTK_PHASE_CAPTURE);
  g_signal_connect (click, "pressed", G_CALLBACK (on_click_pressed), self);
  gtk_widget_add_controller (GTK_WIDGET (self->bubble), GTK_EVENT_CONTROLLER (click));

  long_press = gtk_gesture_long_press_new ();
  gtk_gesture_single_set_touch_only (GTK_GESTURE_SINGLE (long_press), TRUE);
  g_signal_connect (long_press, "pressed", G_CALLBACK (on_menu_gesture), self);
  gtk_widget_add_controller (GTK_WIDGET (self->bubble), GTK_EVENT_CONTROLLER (long_press));
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
 * @previous: (nullable): the message above, to decide on a day header and
 *   on grouping
 * @sender_name: (nullable): who wrote incoming messages
 * @first_unread: whether to show the "New messages" divider above
 */
void
natter_message_row_bind (NatterMessageRow *self,
                         NatterClient     *client,
                         NatterMessage    *message,
                         NatterMessage    *previous,
                         const char       *sender_name,
                         gboolean          first_unread)
{
  g_autoptr(GDateTime) time = NULL;
  g_autofree char *time_text = NULL;
  gboolean outgoing;
  gboolean new_day = TRUE;
  gboolean burst = FALSE;

  g_return_if_fail (NATTER_IS_MESSAGE_ROW (self));

  if (self->message != NULL)
    g_signal_handlers_disconnect_by_data (self->message, self);
  g_set_object (&self->message, message);
  g_set_object (&self->client, client);
  g_free (self->sender_name);
  self->sender_name = g_strdup (sender_name);
  if (self->menu != NULL)
    gtk_popover_popdown (self->menu);

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
  if (self->menu != NULL)
    gtk_widget_set_halign (GTK_WIDGET (self->menu), outgoing ? GTK_ALIGN_END : GTK_ALIGN_START);

  update_content (self);
  update_quote (self);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "message.copy-link", self->link != NULL);

  time = message_time (message);
  time_text = g_date_time_format (time, "%H:%M");
  gtk_label_set_text (self->time_label, time_text);

  if (previous != NULL)
    {
      g_autoptr(GDateTime) previous_time = message_time (previous);

      new_day = !same_day (time, previous_time);
      /* A burst: the same sender again within a short while. */
      burst = !new_day && !first_unread &&
              natter_message_get_direction (previous) == natter_message_get_direction (message) &&
              g_date_time_difference (time, previous_time) < BURST_SECONDS * G_TIME_SPAN_SECOND;
    }

  gtk_widget_set_visible (GTK_WIDGET (self->day_label), new_day);
  if (new_day)
    {
      g_autofree char *day = format_day (time);

      gtk_label_set_text (self->day_label, day);
    }
  gtk_widget_set_visible (self->new_divider, first_unread);
  gtk_widget_set_visible (GTK_WIDGET (self->time_label), !burst);
  if (burst)
    gtk_widget_add_css_class (GTK_WIDGET (self), "continued");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self), "continued");

  g_signal_connect_swapped (message, "notify::status", G_CALLBACK (on_status_notify), self);
  on_status_notify (self);
}

/**
 * natter_message_row_popup_menu:
 *
 * Opens the message's menu below its bubble, as the Menu key does.
 */
void
natter_message_row_popup_menu (NatterMessageRow *self)
{
  graphene_point_t point;

  g_return_if_fail (NATTER_IS_MESSAGE_ROW (self));

  if (!gtk_widget_compute_point (GTK_WIDGET (self->bubble), GTK_WIDGET (self),
                                 &GRAPHENE_POINT_INIT (gtk_widget_get_width (GTK_WIDGET (self->bubble)) / 2.f,
                                                       gtk_widget_get_height (GTK_WIDGET (self->bubble))),
                                 &point))
    graphene_point_init (&point, 0, 0);
  popup_menu_at (self, point.x, point.y);
}

/**
 * natter_message_row_get_message:
 *
 * Returns: (transfer none) (nullable): the message the row shows
 */
NatterMessage *
natter_message_row_get_message (NatterMessageRow *self)
{
  g_return_val_if_fail (NATTER_IS_MESSAGE_ROW (self), NULL);

  return self->message;
}
