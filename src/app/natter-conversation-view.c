/* natter-conversation-view.c: one conversation: messages, typing, compose box
 *
 * The messages are a GtkListView over the core's NatterConversation. The
 * view sticks to the newest message while the user is at the bottom, and
 * loads older pages when the user scrolls to the top, keeping what is on
 * screen in place. A conversation with unread messages opens at the first
 * of them, under a "New messages" divider; scrolled up, a button jumps back
 * to the newest message and counts what arrived meanwhile. Enter sends;
 * Shift+Enter starts a new line.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "natter-conversation-view"

#include "config.h"

#include <glib/gi18n.h>
#include <adwaita.h>

#include "natter-conversation.h"
#include "natter-timeline.h"

#include "natter-application.h"
#include "natter-call-row.h"
#include "natter-contact-dialog.h"
#include "natter-alert.h"
#include "natter-conversation-files.h"
#include "natter-conversation-view.h"
#include "natter-message-row.h"
#include "natter-transfer-row.h"

/* How close to an edge counts as being at it, in pixels */
#define EDGE_DISTANCE        48
/* Stop saying "typing" this long after the last key press */
#define TYPING_IDLE_SECONDS  5
#define SEARCH_LIMIT         50

enum {
  PROP_0,
  PROP_SHOW_BACK_BUTTON,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

struct _NatterConversationView
{
  GtkBox              parent_instance;

  /* Template widgets */
  AdwWindowTitle     *window_title;
  GtkMenuButton      *menu_button;
  GtkToggleButton    *search_button;
  GtkBox             *call_box;
  GtkSearchBar       *search_bar;
  GtkSearchEntry     *history_search_entry;
  GtkRevealer        *warning_revealer;
  GtkLabel           *warning_label;
  GtkStack           *view_stack;
  GtkStack           *messages_stack;
  GtkScrolledWindow  *scrolled_window;
  GtkListView        *messages_view;
  GtkRevealer        *jump_revealer;
  GtkLabel           *jump_count_label;
  GtkListBox         *search_results;
  GtkRevealer        *typing_revealer;
  GtkLabel           *typing_label;
  GtkRevealer        *reply_revealer;
  GtkLabel           *reply_label;
  GtkWidget          *compose_bar;
  GtkWidget          *blocked_bar;
  GtkLabel           *blocked_label;
  GtkBox             *attach_box;
  GtkLabel           *compose_placeholder;
  GtkTextView        *compose_view;
  GtkButton          *send_button;

  NatterClient       *client;
  NatterConversation *conversation;
  /* What the list shows: the messages with the transfers among them */
  NatterTimeline     *timeline;
  NatterContact      *contact;
  char               *contact_id;
  /* The open contact's session; the groups follow it */
  NatterContactSession *session;
  GSignalGroup       *session_signals;
  GBindingGroup      *session_bindings;

  gboolean            show_back_button;
  gboolean            loading_older;
  /* Opened, not yet shown at the newest message */
  gboolean            scroll_pending;
  /* The item to bring into view, or G_MAXUINT for the newest one */
  guint               scroll_target;
  guint               scroll_tick;
  guint               scroll_frames;

  gboolean            typing_sent;
  guint               typing_timeout;

  /* The first message that was unread when the conversation opened */
  char               *first_unread_id;
  /* Messages that arrived while the user was scrolled up */
  guint               unseen_count;

  /* The message the next one sent answers */
  char               *reply_to_id;
  /* The message to focus and highlight once it is scrolled into view */
  char               *focus_id;
  guint               highlight_timeout;
  GtkWidget          *highlighted;

  gint64              open_time;
  gulong              open_paint_handler;
};

G_DEFINE_FINAL_TYPE (NatterConversationView, natter_conversation_view, GTK_TYPE_BOX)

static const char *
contact_name (NatterConversationView *self)
{
  const char *name = self->contact != NULL ? natter_contact_get_name (self->contact) : NULL;

  return name != NULL && *name != '\0' ? name : self->contact_id;
}

static void
show_toast (NatterConversationView *self,
            const char             *message)
{
  GtkWidget *overlay = gtk_widget_get_ancestor (GTK_WIDGET (self), ADW_TYPE_TOAST_OVERLAY);

  if (overlay != NULL)
    adw_toast_overlay_add_toast (ADW_TOAST_OVERLAY (overlay), adw_toast_new (message));
}

/* Header: the contact's name and how we are connected to them */

static void
update_subtitle (NatterConversationView *self)
{
  g_autofree char *subtitle = NULL;
  NatterPeerState state;
  NatterRoute route = NATTER_ROUTE_NONE;

  if (self->client == NULL || self->contact_id == NULL)
    return;

  if (self->contact != NULL && natter_contact_get_blocked (self->contact))
    {
      adw_window_title_set_subtitle (self->window_title, _("Blocked"));
      return;
    }

  if (natter_client_is_invitation_pending (self->client, self->contact_id))
    {
      /* Translators: the subtitle of a conversation with someone we invited */
      subtitle = g_strdup_printf (_("Waiting for %s to accept your invitation"),
                                  contact_name (self));
      adw_window_title_set_subtitle (self->window_title, subtitle);
      gtk_widget_set_tooltip_text (GTK_WIDGET (self->window_title), subtitle);
      return;
    }

  /* Our own connection is down: say nothing about theirs. With the people
   * nearby only, there is no server to be offline from. */
  if (natter_client_get_signaling (self->client) != NULL &&
      natter_signaling_get_state (natter_client_get_signaling (self->client)) !=
      NATTER_SIGNALING_STATE_ONLINE &&
      natter_client_get_peer_state (self->client, self->contact_id) != NATTER_PEER_STATE_CONNECTED)
    {
      adw_window_title_set_subtitle (self->window_title,
                                     _("You’re offline — messages wait until you are back"));
      return;
    }

  state = natter_client_get_peer_state (self->client, self->contact_id);
  /* The route is worth saying only where there are two */
  if (self->session != NULL && natter_client_get_lan (self->client) != NULL)
    route = natter_contact_session_get_route (self->session);
  switch (state)
    {
    case NATTER_PEER_STATE_CONNECTING:
      subtitle = g_strdup_printf (_("Connecting to %s…"), contact_name (self));
      break;

    case NATTER_PEER_STATE_CONNECTED:
      /* Which way we found them, where both are possible */
      if (route == NATTER_ROUTE_NEARBY)
        subtitle = g_strdup (_("Connected directly, on this network"));
      else if (route == NATTER_ROUTE_SERVER)
        subtitle = g_strdup (_("Connected directly, reached through server"));
      else
        subtitle = g_strdup (_("Connected directly"));
      break;

    case NATTER_PEER_STATE_FAILED:
      subtitle = g_strdup (_("Could not connect"));
      break;

    case NATTER_PEER_STATE_NEW:
    case NATTER_PEER_STATE_CLOSED:
    default:
      if (!natter_client_is_contact_online (self->client, self->contact_id))
        subtitle = g_strdup (_("Offline — messages wait until they are online"));
      else if (route == NATTER_ROUTE_NEARBY)
        subtitle = g_strdup (_("Online on this network"));
      else if (route == NATTER_ROUTE_SERVER)
        subtitle = g_strdup (_("Online through server"));
      else
        subtitle = g_strdup (_("Online"));
      break;
    }

  adw_window_title_set_subtitle (self->window_title, subtitle);
}

static void
update_warning (NatterConversationView *self)
{
  g_autofree char *text = NULL;

  if (self->session != NULL && natter_contact_session_get_trust_failure (self->session) != NULL)
    text = g_strdup_printf (_("The connection to %s was not signed with their key: someone may "
                              "be listening in. Nothing was sent. Compare safety numbers."),
                            contact_name (self));

  /* Whether it shows is bound to the session's trust-failure */
  if (text != NULL)
    gtk_label_set_text (self->warning_label, text);
}

static void
update_title (NatterConversationView *self)
{
  gboolean blocked;

  adw_window_title_set_title (self->window_title, self->contact_id != NULL ? contact_name (self) :
                                                                             "");
  update_subtitle (self);
  update_warning (self);

  /* Nothing can be sent to a blocked contact: say so rather than fail. */
  blocked = self->contact != NULL && natter_contact_get_blocked (self->contact);
  gtk_widget_set_visible (self->compose_bar, !blocked);
  gtk_widget_set_visible (self->blocked_bar, blocked);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "conversation.block",
                                 self->contact != NULL && !blocked);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "conversation.unblock", blocked);
  if (blocked)
    {
      /* Translators: replaces the compose box; %s is the contact */
      g_autofree char *text = g_strdup_printf (_("You blocked %s."), contact_name (self));

      gtk_label_set_text (self->blocked_label, text);
    }

  if (self->contact_id != NULL)
    {
      /* Translators: the placeholder of the compose box; %s is the contact */
      g_autofree char *placeholder = g_strdup_printf (_("Message %s…"), contact_name (self));

      gtk_label_set_text (self->compose_placeholder, placeholder);
      gtk_accessible_update_property (GTK_ACCESSIBLE (self->compose_view),
                                      GTK_ACCESSIBLE_PROPERTY_PLACEHOLDER, placeholder, -1);
    }
}

static void
on_contact_notify (NatterConversationView *self)
{
  update_title (self);
}

static void
on_session_online (NatterConversationView *self)
{
  update_subtitle (self);
  /* They came online: open the chat now so queued messages go out. */
  if (natter_contact_session_get_online (self->session) &&
      natter_client_get_peer_state (self->client, self->contact_id) != NATTER_PEER_STATE_CONNECTED)
    natter_client_connect_to (self->client, self->contact_id);
}

static void close_conversation (NatterConversationView *self);

/* Blocked, unblocked, invited, answered, or removed. */
static void
on_session_contact_changed (NatterConversationView *self)
{
  g_autoptr(NatterContact) contact = NULL;

  contact = natter_store_get_contact (natter_client_get_store (self->client), self->contact_id,
                                      NULL);
  if (contact == NULL)
    close_conversation (self);
  else
    update_title (self);
}

static gboolean
is_set (GBinding     *binding,
        const GValue *from,
        GValue       *to,
        gpointer      user_data)
{
  g_value_set_boolean (to, g_value_get_string (from) != NULL);
  return TRUE;
}

/* Typing */

static void
on_typing_notify (NatterConversationView *self)
{
  gboolean typing = natter_conversation_get_typing (self->conversation);

  if (typing)
    {
      g_autofree char *text = g_strdup_printf (_("%s is typing…"), contact_name (self));

      gtk_label_set_text (self->typing_label, text);
    }
  gtk_revealer_set_reveal_child (self->typing_revealer, typing);
}

static void
stop_typing (NatterConversationView *self)
{
  g_clear_handle_id (&self->typing_timeout, g_source_remove);
  if (self->typing_sent && self->client != NULL && self->contact_id != NULL)
    natter_client_send_typing (self->client, self->contact_id, FALSE);
  self->typing_sent = FALSE;
}

static gboolean
on_typing_timeout (gpointer user_data)
{
  NatterConversationView *self = user_data;

  self->typing_timeout = 0;
  stop_typing (self);
  return G_SOURCE_REMOVE;
}

static char *
get_compose_text (NatterConversationView *self)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (self->compose_view);
  GtkTextIter start, end;

  gtk_text_buffer_get_bounds (buffer, &start, &end);
  return gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
}

static void
on_compose_changed (NatterConversationView *self)
{
  g_autofree char *text = get_compose_text (self);
  g_autofree char *stripped = g_strstrip (g_strdup (text));
  gboolean empty = *stripped == '\0';

  gtk_widget_set_sensitive (GTK_WIDGET (self->send_button), !empty && self->contact_id != NULL);
  gtk_widget_set_visible (GTK_WIDGET (self->compose_placeholder), *text == '\0');

  if (self->client == NULL || self->contact_id == NULL)
    return;

  if (empty)
    {
      stop_typing (self);
      return;
    }

  if (!self->typing_sent)
    {
      natter_client_send_typing (self->client, self->contact_id, TRUE);
      self->typing_sent = TRUE;
    }
  g_clear_handle_id (&self->typing_timeout, g_source_remove);
  self->typing_timeout = g_timeout_add_seconds (TYPING_IDLE_SECONDS, on_typing_timeout, self);
}

/* Replying */

static void
cancel_reply (NatterConversationView *self)
{
  g_clear_pointer (&self->reply_to_id, g_free);
  gtk_revealer_set_reveal_child (self->reply_revealer, FALSE);
  /* Hidden too, so that screen readers do not read what is not there. */
  gtk_widget_set_visible (GTK_WIDGET (self->reply_revealer), FALSE);
}

static void
reply_action (GtkWidget  *widget,
              const char *action_name,
              GVariant   *parameter)
{
  NatterConversationView *self = NATTER_CONVERSATION_VIEW (widget);
  const char *message_id = g_variant_get_string (parameter, NULL);
  g_autoptr(NatterMessage) message = NULL;
  g_autofree char *line = NULL;
  g_autofree char *text = NULL;

  if (self->client == NULL || self->contact_id == NULL)
    return;

  message = natter_store_get_message (natter_client_get_store (self->client), self->contact_id,
                                      message_id, NULL);
  if (message == NULL)
    return;

  line = g_strdup (natter_message_get_body (message));
  g_strdelimit (line, "\r\n", ' ');
  /* Translators: above the compose box; who wrote the message answered, and its text */
  text = g_strdup_printf (_("Replying to %s: %s"),
                          natter_message_get_direction (message) == NATTER_MESSAGE_DIRECTION_OUT ?
                          _("yourself") : contact_name (self), line);
  gtk_label_set_text (self->reply_label, text);
  g_free (self->reply_to_id);
  self->reply_to_id = g_strdup (message_id);
  gtk_widget_set_visible (GTK_WIDGET (self->reply_revealer), TRUE);
  gtk_revealer_set_reveal_child (self->reply_revealer, TRUE);
  gtk_widget_grab_focus (GTK_WIDGET (self->compose_view));
}

static void
cancel_reply_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *parameter)
{
  NatterConversationView *self = NATTER_CONVERSATION_VIEW (widget);

  cancel_reply (self);
  gtk_widget_grab_focus (GTK_WIDGET (self->compose_view));
}

/* Sending */

static void
send_compose_text (NatterConversationView *self)
{
  g_autofree char *text = get_compose_text (self);
  g_autofree char *stripped = g_strstrip (g_strdup (text));
  g_autoptr(NatterMessage) message = NULL;
  g_autoptr(GError) error = NULL;

  if (self->client == NULL || self->contact_id == NULL || *stripped == '\0')
    return;

  message = natter_client_send_reply (self->client, self->contact_id, stripped,
                                      self->reply_to_id, &error);
  if (message == NULL)
    {
      g_autofree char *why = g_strdup_printf (_("Could not send: %s"), error->message);

      show_toast (self, why);
      return;
    }

  stop_typing (self);
  cancel_reply (self);
  gtk_text_buffer_set_text (gtk_text_view_get_buffer (self->compose_view), "", 0);
  natter_client_connect_to (self->client, self->contact_id);
}

static void
on_emoji_clicked (NatterConversationView *self)
{
  /* The text view's own chooser, as Ctrl+. opens it, at the cursor. */
  gtk_widget_grab_focus (GTK_WIDGET (self->compose_view));
  g_signal_emit_by_name (self->compose_view, "insert-emoji");
}

static void
on_send_clicked (NatterConversationView *self)
{
  send_compose_text (self);
  gtk_widget_grab_focus (GTK_WIDGET (self->compose_view));
}

static gboolean
on_compose_key_pressed (GtkEventControllerKey *controller,
                        guint                  keyval,
                        guint                  keycode,
                        GdkModifierType        state,
                        gpointer               user_data)
{
  NatterConversationView *self = user_data;

  if (keyval == GDK_KEY_Escape && self->reply_to_id != NULL)
    {
      cancel_reply (self);
      return GDK_EVENT_STOP;
    }

  if (keyval != GDK_KEY_Return && keyval != GDK_KEY_KP_Enter && keyval != GDK_KEY_ISO_Enter)
    return GDK_EVENT_PROPAGATE;

  /* Shift+Enter (and Ctrl+Enter) add a line. */
  if ((state & (GDK_SHIFT_MASK | GDK_CONTROL_MASK)) != 0)
    return GDK_EVENT_PROPAGATE;

  send_compose_text (self);
  return GDK_EVENT_STOP;
}

/* Scrolling
 *
 * GtkListView keeps an anchor item in place while rows are measured or
 * items are inserted before it, so scrolling goes through the list's own
 * "list.scroll-to-item" action instead of adjustment values, and older
 * pages can be prepended without moving what is on screen.
 */

static GtkAdjustment *
get_vadjustment (NatterConversationView *self)
{
  return gtk_scrolled_window_get_vadjustment (self->scrolled_window);
}

static gboolean
is_at_bottom (NatterConversationView *self)
{
  GtkAdjustment *adjustment = get_vadjustment (self);

  return gtk_adjustment_get_value (adjustment) >= gtk_adjustment_get_upper (adjustment) -
                                                  gtk_adjustment_get_page_size (adjustment) -
                                                  EDGE_DISTANCE;
}

static void
scroll_to_target (NatterConversationView *self)
{
  guint n_items;
  guint position;

  if (self->conversation == NULL)
    return;

  n_items = g_list_model_get_n_items (G_LIST_MODEL (self->timeline));
  if (n_items == 0)
    return;

  position = MIN (self->scroll_target, n_items - 1);
  gtk_widget_activate_action (GTK_WIDGET (self->messages_view), "list.scroll-to-item", "u",
                              position);
}

/* Until the list has been laid out with the new rows, scrolling to an item
 * does nothing or stops short: retry on every frame until the item is on
 * screen. The first frames always scroll, since before the next layout the
 * adjustment still describes the old rows. */
static void update_jump_button (NatterConversationView *self);

static gboolean
on_highlight_timeout (gpointer user_data)
{
  NatterConversationView *self = user_data;

  self->highlight_timeout = 0;
  if (self->highlighted != NULL)
    gtk_widget_remove_css_class (self->highlighted, "highlighted");
  g_clear_weak_pointer (&self->highlighted);
  return G_SOURCE_REMOVE;
}

/* The row of the message the view jumped to gets the focus and, for a
 * moment, a highlight, so the eye finds it. */
static void
focus_target (NatterConversationView *self)
{
  g_autofree char *focus_id = g_steal_pointer (&self->focus_id);

  if (focus_id == NULL)
    return;

  for (GtkWidget *item = gtk_widget_get_first_child (GTK_WIDGET (self->messages_view));
       item != NULL; item = gtk_widget_get_next_sibling (item))
    {
      GtkWidget *row = gtk_widget_get_first_child (item);
      NatterMessage *message;

      if (row == NULL || !NATTER_IS_MESSAGE_ROW (row))
        continue;
      message = natter_message_row_get_message (NATTER_MESSAGE_ROW (row));
      if (message == NULL || g_strcmp0 (natter_message_get_id (message), focus_id) != 0)
        continue;

      on_highlight_timeout (self);
      gtk_widget_grab_focus (row);
      gtk_widget_add_css_class (row, "highlighted");
      g_set_weak_pointer (&self->highlighted, row);
      self->highlight_timeout = g_timeout_add_seconds (2, on_highlight_timeout, self);
      return;
    }
}

#define SCROLL_MIN_FRAMES 3
#define SCROLL_MAX_FRAMES 600

static gboolean
on_scroll_tick (GtkWidget     *widget,
                GdkFrameClock *clock,
                gpointer       user_data)
{
  NatterConversationView *self = user_data;
  GtkAdjustment *adjustment = get_vadjustment (self);
  gboolean to_bottom = self->scroll_target == G_MAXUINT;

  self->scroll_frames++;
  if (self->conversation != NULL && self->scroll_pending &&
      self->scroll_frames < SCROLL_MAX_FRAMES &&
      (self->scroll_frames < SCROLL_MIN_FRAMES || gtk_adjustment_get_upper (adjustment) <= 0 ||
       (to_bottom && !is_at_bottom (self))))
    {
      scroll_to_target (self);
      return G_SOURCE_CONTINUE;
    }

  self->scroll_pending = FALSE;
  self->scroll_tick = 0;
  update_jump_button (self);
  focus_target (self);
  return G_SOURCE_REMOVE;
}

static void
start_scroll_to (NatterConversationView *self,
                 guint                   position)
{
  self->scroll_pending = TRUE;
  self->scroll_target = position;
  self->scroll_frames = 0;
  scroll_to_target (self);
  if (self->scroll_tick == 0)
    self->scroll_tick = gtk_widget_add_tick_callback (GTK_WIDGET (self->messages_view),
                                                      on_scroll_tick, self, NULL);
}

static void
start_scroll_to_bottom (NatterConversationView *self)
{
  start_scroll_to (self, G_MAXUINT);
}

static void
update_jump_button (NatterConversationView *self)
{
  gboolean at_bottom = self->conversation == NULL || is_at_bottom (self);

  if (at_bottom)
    self->unseen_count = 0;

  gtk_revealer_set_reveal_child (self->jump_revealer, !at_bottom && !self->scroll_pending);
  gtk_widget_set_visible (GTK_WIDGET (self->jump_count_label), self->unseen_count > 0);
  if (self->unseen_count > 0)
    {
      g_autofree char *count = g_strdup_printf ("%u", self->unseen_count);
      g_autofree char *label = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                                             "%u new message, jump to it",
                                                             "%u new messages, jump to the newest",
                                                             self->unseen_count),
                                                self->unseen_count);

      gtk_label_set_text (self->jump_count_label, count);
      gtk_accessible_update_property (GTK_ACCESSIBLE (gtk_revealer_get_child (self->jump_revealer)),
                                      GTK_ACCESSIBLE_PROPERTY_LABEL, label, -1);
    }
  else
    {
      gtk_accessible_update_property (GTK_ACCESSIBLE (gtk_revealer_get_child (self->jump_revealer)),
                                      GTK_ACCESSIBLE_PROPERTY_LABEL,
                                      _("Jump to the newest message"), -1);
    }
}

static void
on_jump_clicked (NatterConversationView *self)
{
  self->unseen_count = 0;
  start_scroll_to_bottom (self);
  update_jump_button (self);
}

static void on_adjustment_value_changed (NatterConversationView *self);

static gboolean
on_older_loaded (gpointer user_data)
{
  NatterConversationView *self = user_data;

  self->loading_older = FALSE;
  /* Still at the top (the wheel does not move an adjustment that is at 0,
   * so no value-changed would come): go on with the next page. */
  on_adjustment_value_changed (self);
  return G_SOURCE_REMOVE;
}

static void
on_adjustment_value_changed (NatterConversationView *self)
{
  GtkAdjustment *adjustment = get_vadjustment (self);

  if (self->conversation == NULL)
    return;

  update_jump_button (self);
  if (self->scroll_pending || self->loading_older)
    return;

  if (gtk_adjustment_get_value (adjustment) <= EDGE_DISTANCE &&
      gtk_adjustment_get_upper (adjustment) > gtk_adjustment_get_page_size (adjustment) &&
      natter_conversation_get_has_older (self->conversation))
    {
      self->loading_older = TRUE;
      natter_conversation_load_older (self->conversation);
      /* One page at a time: let the list measure the new rows first. */
      g_timeout_add_full (G_PRIORITY_LOW, 250, on_older_loaded, g_object_ref (self),
                          g_object_unref);
    }
}

/* Rows */

/* The message above @position (a day header depends on it); the transfers
 * and calls between are passed over */
static NatterMessage *
previous_message (NatterConversationView *self,
                  guint                   position)
{
  if (position == GTK_INVALID_LIST_POSITION || self->timeline == NULL)
    return NULL;

  for (guint i = position; i > 0; i--)
    {
      g_autoptr(GObject) item = g_list_model_get_item (G_LIST_MODEL (self->timeline), i - 1);

      if (NATTER_IS_MESSAGE (item))
        return NATTER_MESSAGE (g_steal_pointer (&item));
    }
  return NULL;
}

static void
bind_message_row (NatterConversationView *self,
                  GtkListItem            *item)
{
  guint position = gtk_list_item_get_position (item);
  gpointer object = gtk_list_item_get_item (item);
  g_autoptr(NatterMessage) previous = NULL;

  if (object == NULL)
    return;

  /* A row of the item's kind, made anew when the list hands a row of
   * another kind over: calls (natter-call-row.c) and files
   * (natter-transfer-row.c) stand among the messages */
  if (NATTER_IS_CALL (object))
    {
      if (!NATTER_IS_CALL_ROW (gtk_list_item_get_child (item)))
        gtk_list_item_set_child (item, GTK_WIDGET (natter_call_row_new ()));
      natter_call_row_set_call (NATTER_CALL_ROW (gtk_list_item_get_child (item)), object);
      return;
    }
  if (NATTER_IS_TRANSFER (object))
    {
      if (!NATTER_IS_TRANSFER_ROW (gtk_list_item_get_child (item)))
        gtk_list_item_set_child (item, GTK_WIDGET (natter_transfer_row_new ()));
      natter_transfer_row_bind (NATTER_TRANSFER_ROW (gtk_list_item_get_child (item)),
                                self->client, object, contact_name (self));
      return;
    }
  if (!NATTER_IS_MESSAGE (object))
    return;
  if (!NATTER_IS_MESSAGE_ROW (gtk_list_item_get_child (item)))
    gtk_list_item_set_child (item, GTK_WIDGET (natter_message_row_new ()));

  previous = previous_message (self, position);

  natter_message_row_bind (NATTER_MESSAGE_ROW (gtk_list_item_get_child (item)), self->client,
                           gtk_list_item_get_item (item), previous, contact_name (self),
                           self->first_unread_id != NULL &&
                           g_strcmp0 (natter_message_get_id (gtk_list_item_get_item (item)),
                                      self->first_unread_id) == 0);
}

/* Older messages arrive above: a row's day header depends on the row above. */
static void
on_item_position (GtkListItem            *item,
                  GParamSpec             *pspec,
                  NatterConversationView *self)
{
  bind_message_row (self, item);
}

static void
on_setup_message_row (GtkSignalListItemFactory *factory,
                      GtkListItem              *item,
                      gpointer                  user_data)
{
  g_signal_connect_object (item, "notify::position", G_CALLBACK (on_item_position), user_data,
                           0);
  gtk_list_item_set_child (item, GTK_WIDGET (natter_message_row_new ()));
  gtk_list_item_set_activatable (item, FALSE);
  gtk_list_item_set_selectable (item, FALSE);
}

static void
on_bind_message_row (GtkSignalListItemFactory *factory,
                     GtkListItem              *item,
                     gpointer                  user_data)
{
  bind_message_row (user_data, item);
}

static void
on_unbind_message_row (GtkSignalListItemFactory *factory,
                       GtkListItem              *item,
                       gpointer                  user_data)
{
  GtkWidget *row = gtk_list_item_get_child (item);

  if (NATTER_IS_CALL_ROW (row))
    natter_call_row_set_call (NATTER_CALL_ROW (row), NULL);
  else if (NATTER_IS_TRANSFER_ROW (row))
    natter_transfer_row_bind (NATTER_TRANSFER_ROW (row), NULL, NULL, NULL);
  else
    natter_message_row_bind (NATTER_MESSAGE_ROW (row), NULL, NULL, NULL, NULL, FALSE);
}

static void
on_messages_changed (GListModel             *model,
                     guint                   position,
                     guint                   removed,
                     guint                   added,
                     NatterConversationView *self)
{
  g_autoptr(GObject) last = NULL;
  gboolean ours;

  if (added == 0 || position + added != g_list_model_get_n_items (model))
    return;

  /* A new message (or file) at the end. The list has not been laid out
   * again yet, so the adjustment still says whether the user was at the
   * bottom. Our own always scroll. */
  last = g_list_model_get_item (model, position + added - 1);
  ours = NATTER_IS_MESSAGE (last) ?
         natter_message_get_direction (NATTER_MESSAGE (last)) == NATTER_MESSAGE_DIRECTION_OUT :
         NATTER_IS_TRANSFER (last) ?
         natter_transfer_get_direction (NATTER_TRANSFER (last)) == NATTER_TRANSFER_DIRECTION_OUT :
         TRUE;
  if (is_at_bottom (self) || ours)
    {
      start_scroll_to_bottom (self);
    }
  else
    {
      self->unseen_count += added;
      update_jump_button (self);
    }

  /* It is seen if the window is active. */
  natter_conversation_view_mark_read (self);
}

/* Search */

static void
on_history_search_changed (NatterConversationView *self)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (self->history_search_entry));
  g_autoptr(GPtrArray) hits = NULL;
  g_autoptr(GError) error = NULL;
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->search_results))) != NULL)
    gtk_list_box_remove (self->search_results, child);

  if (self->client == NULL || self->contact_id == NULL || *text == '\0')
    {
      gtk_stack_set_visible_child_name (self->messages_stack, "messages");
      return;
    }

  gtk_stack_set_visible_child_name (self->messages_stack, "search");
  hits = natter_store_search (natter_client_get_store (self->client), text, self->contact_id,
                              SEARCH_LIMIT, &error);
  if (hits == NULL)
    {
      GtkWidget *row = adw_action_row_new ();

      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), _("Search failed"));
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), error->message);
      gtk_list_box_append (self->search_results, row);
      return;
    }

  if (hits->len == 0)
    {
      GtkWidget *row = adw_action_row_new ();

      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), _("No messages found"));
      gtk_list_box_append (self->search_results, row);
      return;
    }

  for (guint i = 0; i < hits->len; i++)
    {
      NatterStoreSearchHit *hit = g_ptr_array_index (hits, i);
      g_autoptr(GDateTime) time = g_date_time_new_from_unix_local (
        natter_message_get_timestamp (hit->message) / G_USEC_PER_SEC);
      g_autofree char *when = g_date_time_format (time, "%x %H:%M");
      g_autofree char *subtitle = NULL;
      g_autofree char *subtitle_markup = NULL;
      GtkWidget *row = adw_action_row_new ();

      subtitle = g_strdup_printf ("%s — %s", natter_message_get_direction (hit->message) ==
                                             NATTER_MESSAGE_DIRECTION_OUT ? _("You") :
                                                                            contact_name (self),
                                  when);
      gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), TRUE);
      g_object_set_data_full (G_OBJECT (row), "natter-message", g_object_ref (hit->message),
                              g_object_unref);
      /* The row reads its title and subtitle as markup: the snippet is
       * escaped by the store, the subtitle (a contact's name) here */
      subtitle_markup = g_markup_escape_text (subtitle, -1);
      adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), TRUE);
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), hit->snippet_markup);
      adw_action_row_set_title_lines (ADW_ACTION_ROW (row), 3);
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle_markup);
      gtk_list_box_append (self->search_results, row);
    }
}

/* Finds a message by its row ID, loading older pages until it is there. */
static gboolean
find_message (NatterConversationView *self,
              gint64                  row_id,
              guint                  *position)
{
  GListModel *model = G_LIST_MODEL (self->conversation);
  guint unscanned = g_list_model_get_n_items (model);

  while (TRUE)
    {
      guint n_before;

      /* Only the items prepended since the last look are new. */
      for (guint i = 0; i < unscanned; i++)
        {
          g_autoptr(GObject) item = g_list_model_get_item (model, i);

          if (NATTER_IS_MESSAGE (item) &&
              natter_message_get_row_id (NATTER_MESSAGE (item)) == row_id)
            return natter_timeline_find (self->timeline, item, position);
        }

      n_before = g_list_model_get_n_items (model);
      if (!natter_conversation_get_has_older (self->conversation) ||
          !natter_conversation_load_older (self->conversation))
        return FALSE;

      unscanned = g_list_model_get_n_items (model) - n_before;
      if (unscanned == 0)
        return FALSE;
    }
}

/* Scrolls to a message, loading older pages as needed, then focuses and
 * highlights it. */
static void
jump_to_message (NatterConversationView *self,
                 NatterMessage          *message)
{
  guint position;

  if (self->conversation == NULL)
    return;

  if (!find_message (self, natter_message_get_row_id (message), &position))
    {
      show_toast (self, _("This message is no longer in the history"));
      return;
    }

  g_free (self->focus_id);
  self->focus_id = g_strdup (natter_message_get_id (message));
  start_scroll_to (self, position);
}

static void
on_search_result_activated (GtkListBox             *list,
                            GtkListBoxRow          *row,
                            NatterConversationView *self)
{
  NatterMessage *message = g_object_get_data (G_OBJECT (row), "natter-message");

  if (message == NULL)
    return;

  gtk_search_bar_set_search_mode (self->search_bar, FALSE);
  jump_to_message (self, message);
}

static void
jump_to_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  NatterConversationView *self = NATTER_CONVERSATION_VIEW (widget);
  g_autoptr(NatterMessage) message = NULL;

  if (self->client == NULL || self->contact_id == NULL)
    return;

  message = natter_store_get_message (natter_client_get_store (self->client), self->contact_id,
                                      g_variant_get_string (parameter, NULL), NULL);
  if (message == NULL)
    {
      show_toast (self, _("This message is no longer in the history"));
      return;
    }

  jump_to_message (self, message);
}

static void
on_search_mode (NatterConversationView *self)
{
  if (!gtk_search_bar_get_search_mode (self->search_bar))
    {
      gtk_editable_set_text (GTK_EDITABLE (self->history_search_entry), "");
      gtk_stack_set_visible_child_name (self->messages_stack, "messages");
    }
}

static void
on_details_clicked (NatterConversationView *self)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));

  if (self->client == NULL || self->contact_id == NULL)
    return;

  gtk_window_present (GTK_WINDOW (natter_contact_dialog_new (GTK_WINDOW (root), self->client,
                                                             self->contact_id)));
}

/* The messages' menus */

static NatterMessage *
lookup_message (NatterConversationView *self,
                GVariant               *parameter)
{
  const char *message_id = g_variant_get_string (parameter, NULL);

  if (self->client == NULL || self->contact_id == NULL)
    return NULL;

  return natter_store_get_message (natter_client_get_store (self->client), self->contact_id,
                                   message_id, NULL);
}

typedef gboolean (*ConfirmedFunc) (NatterClient  *client,
                                   const char    *contact_id,
                                   const char    *message_id,
                                   GError       **error);

static void
on_confirm_response (GtkWidget  *dialog,
                     const char *response,
                     gpointer    user_data)
{
  NatterConversationView *self = user_data;
  ConfirmedFunc func = g_object_get_data (G_OBJECT (dialog), "natter-confirmed");
  const char *contact_id = g_object_get_data (G_OBJECT (dialog), "natter-contact-id");
  const char *message_id = g_object_get_data (G_OBJECT (dialog), "natter-message-id");
  g_autoptr(GError) error = NULL;

  if (!g_str_equal (response, "confirm") || self->client == NULL)
    return;

  if (!func (self->client, contact_id, message_id, &error))
    {
      /* Translators: %s says why */
      g_autofree char *why = g_strdup_printf (_("That did not work: %s"), error->message);

      show_toast (self, why);
    }
}

/* Asks before doing what cannot be undone; @func runs on the answer "yes". */
static void
confirm (NatterConversationView *self,
         const char             *heading,
         const char             *body,
         const char             *verb,
         ConfirmedFunc           func,
         const char             *message_id)
{
  GtkWidget *dialog = natter_alert_new (GTK_WIDGET (self), heading, body);

  natter_alert_add_response (dialog, "cancel", _("_Cancel"), ADW_RESPONSE_DEFAULT);
  natter_alert_add_response (dialog, "confirm", verb, ADW_RESPONSE_DESTRUCTIVE);
  natter_alert_set_cancel (dialog, "cancel");
  g_object_set_data (G_OBJECT (dialog), "natter-confirmed", func);
  g_object_set_data_full (G_OBJECT (dialog), "natter-contact-id", g_strdup (self->contact_id),
                          g_free);
  g_object_set_data_full (G_OBJECT (dialog), "natter-message-id", g_strdup (message_id), g_free);
  g_signal_connect_object (dialog, "response", G_CALLBACK (on_confirm_response), self, 0);
  natter_alert_present (dialog, GTK_WIDGET (self));
}

static void
delete_message_action (GtkWidget  *widget,
                       const char *action_name,
                       GVariant   *parameter)
{
  NatterConversationView *self = NATTER_CONVERSATION_VIEW (widget);
  g_autoptr(NatterMessage) message = lookup_message (self, parameter);
  g_autofree char *body = NULL;

  if (message == NULL)
    return;

  /* Translators: %s is the contact */
  body = g_strdup_printf (_("The message is deleted from this computer only. %s keeps their "
                            "copy."), contact_name (self));
  confirm (self, _("Delete Message?"), body, _("_Delete"), natter_client_delete_message,
           natter_message_get_id (message));
}

/* The conversation's menu */

static gboolean
block_contact (NatterClient  *client,
               const char    *contact_id,
               const char    *unused,
               GError       **error)
{
  return natter_client_set_blocked (client, contact_id, TRUE, error);
}

static gboolean
clear_conversation (NatterClient  *client,
                    const char    *contact_id,
                    const char    *unused,
                    GError       **error)
{
  return natter_client_clear_conversation (client, contact_id, error);
}

static gboolean
remove_contact (NatterClient  *client,
                const char    *contact_id,
                const char    *unused,
                GError       **error)
{
  return natter_client_remove_contact (client, contact_id, error);
}

static void
block_action (GtkWidget  *widget,
              const char *action_name,
              GVariant   *parameter)
{
  NatterConversationView *self = NATTER_CONVERSATION_VIEW (widget);
  g_autofree char *heading = NULL;

  if (self->contact_id == NULL)
    return;

  /* Translators: %s is the contact */
  heading = g_strdup_printf (_("Block %s?"), contact_name (self));
  confirm (self, heading,
           _("They can no longer connect to you, message you or invite you, and are not told. "
             "The conversation stays."), _("_Block"), block_contact, NULL);
}

static void
unblock_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  NatterConversationView *self = NATTER_CONVERSATION_VIEW (widget);
  g_autoptr(GError) error = NULL;

  if (self->client == NULL || self->contact_id == NULL)
    return;

  if (!natter_client_set_blocked (self->client, self->contact_id, FALSE, &error))
    show_toast (self, error->message);
}

static void
delete_conversation_action (GtkWidget  *widget,
                            const char *action_name,
                            GVariant   *parameter)
{
  NatterConversationView *self = NATTER_CONVERSATION_VIEW (widget);
  g_autofree char *body = NULL;

  if (self->contact_id == NULL)
    return;

  /* Translators: %s is the contact */
  body = g_strdup_printf (_("Every message with %s is deleted from this computer. %s stays a "
                            "contact and keeps their copy."), contact_name (self),
                          contact_name (self));
  confirm (self, _("Delete Conversation?"), body, _("_Delete"), clear_conversation, NULL);
}

static void
remove_contact_action (GtkWidget  *widget,
                       const char *action_name,
                       GVariant   *parameter)
{
  NatterConversationView *self = NATTER_CONVERSATION_VIEW (widget);
  g_autofree char *heading = NULL;
  g_autofree char *body = NULL;

  if (self->contact_id == NULL)
    return;

  /* Translators: %s is the contact */
  heading = g_strdup_printf (_("Remove %s?"), contact_name (self));
  body = g_strdup_printf (_("%s and your conversation are deleted from this computer. They can "
                            "invite you again."), contact_name (self));
  confirm (self, heading, body, _("_Remove"), remove_contact, NULL);
}

/* Calls are offered only while a conversation is open */
static void
set_calls_enabled (NatterConversationView *self,
                   gboolean                enabled)
{
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "conversation.call-audio", enabled);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "conversation.call-video", enabled);
}

/* The application opens the call's window (natter-application-calls.c) */
static void
call_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  NatterConversationView *self = NATTER_CONVERSATION_VIEW (widget);
  g_autoptr(NatterCall) call = NULL;
  g_autoptr(GError) error = NULL;

  if (self->client == NULL || self->contact_id == NULL)
    return;

  call = natter_client_place_call (self->client, self->contact_id,
                                   g_str_equal (action_name, "conversation.call-audio"), &error);
  if (call == NULL)
    g_message ("Could not place the call: %s", error->message);
}

static void
details_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  on_details_clicked (NATTER_CONVERSATION_VIEW (widget));
}

static char *
format_when (gint64 timestamp)
{
  g_autoptr(GDateTime) time = g_date_time_new_from_unix_local (timestamp / G_USEC_PER_SEC);

  /* Translators: a full date and time in the message details; see strftime(3) */
  return g_date_time_format (time, _("%x %H:%M:%S"));
}

static void
message_details_action (GtkWidget  *widget,
                        const char *action_name,
                        GVariant   *parameter)
{
  NatterConversationView *self = NATTER_CONVERSATION_VIEW (widget);
  g_autoptr(NatterMessage) message = lookup_message (self, parameter);
  g_autoptr(GString) body = g_string_new (NULL);
  g_autofree char *sent = NULL;
  GtkWidget *dialog;

  if (message == NULL)
    return;

  sent = format_when (natter_message_get_timestamp (message));
  if (natter_message_get_direction (message) == NATTER_MESSAGE_DIRECTION_OUT)
    {
      g_string_append_printf (body, _("Sent: %s"), sent);
      g_string_append_c (body, '\n');
      g_string_append_printf (body, _("Status: %s"),
                              natter_message_row_status_label (natter_message_get_status (message)));
    }
  else
    {
      g_autofree char *received = format_when (natter_message_get_received_timestamp (message));

      g_string_append_printf (body, _("From: %s"), contact_name (self));
      g_string_append_c (body, '\n');
      g_string_append_printf (body, _("Sent: %s"), sent);
      g_string_append_c (body, '\n');
      g_string_append_printf (body, _("Received: %s"), received);
    }

  dialog = natter_alert_new (widget, _("Message Details"), body->str);
  natter_alert_add_response (dialog, "close", _("_Close"), ADW_RESPONSE_DEFAULT);
  natter_alert_present (dialog, widget);
}

/* The Menu key (and Shift+F10) opens the menu of the focused message. */
static gboolean
on_messages_key_pressed (GtkEventControllerKey *controller,
                         guint                  keyval,
                         guint                  keycode,
                         GdkModifierType        state,
                         gpointer               user_data)
{
  NatterConversationView *self = user_data;
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  GtkWidget *focus = root != NULL ? gtk_root_get_focus (root) : NULL;

  if (keyval != GDK_KEY_Menu &&
      !(keyval == GDK_KEY_F10 && (state & GDK_MODIFIER_MASK) == GDK_SHIFT_MASK))
    return GDK_EVENT_PROPAGATE;

  for (GtkWidget *widget = focus; widget != NULL && widget != GTK_WIDGET (self->messages_view);
       widget = gtk_widget_get_parent (widget))
    {
      GtkWidget *child = gtk_widget_get_first_child (widget);

      if (NATTER_IS_MESSAGE_ROW (widget) || (child != NULL && NATTER_IS_MESSAGE_ROW (child)))
        {
          natter_message_row_popup_menu (NATTER_MESSAGE_ROW (NATTER_IS_MESSAGE_ROW (widget) ?
                                                             widget : child));
          return GDK_EVENT_STOP;
        }
    }

  return GDK_EVENT_PROPAGATE;
}

/* Timing */

static void
on_open_painted (GdkFrameClock *clock,
                 gpointer       user_data)
{
  NatterConversationView *self = user_data;
  GApplication *app = g_application_get_default ();

  g_clear_signal_handler (&self->open_paint_handler, clock);
  if (NATTER_IS_APPLICATION (app))
    natter_application_report_timing (NATTER_APPLICATION (app), "conversation-open-ms",
                                      self->open_time);
}

static void
report_open_time (NatterConversationView *self)
{
  GApplication *app = g_application_get_default ();
  GdkFrameClock *clock = gtk_widget_get_frame_clock (GTK_WIDGET (self->messages_view));

  if (!NATTER_IS_APPLICATION (app) ||
      !natter_application_get_report_timing (NATTER_APPLICATION (app)) || clock == NULL)
    return;

  if (self->open_paint_handler != 0)
    g_clear_signal_handler (&self->open_paint_handler, clock);
  self->open_paint_handler = g_signal_connect (clock, "after-paint",
                                               G_CALLBACK (on_open_painted), self);
  gtk_widget_queue_draw (GTK_WIDGET (self->messages_view));
}

/* Closing a conversation */

static void
close_conversation (NatterConversationView *self)
{
  GdkFrameClock *clock = gtk_widget_get_frame_clock (GTK_WIDGET (self->messages_view));

  stop_typing (self);
  if (self->scroll_tick != 0)
    gtk_widget_remove_tick_callback (GTK_WIDGET (self->messages_view), self->scroll_tick);
  self->scroll_tick = 0;
  self->scroll_pending = FALSE;
  if (self->open_paint_handler != 0 && clock != NULL)
    g_clear_signal_handler (&self->open_paint_handler, clock);
  self->open_paint_handler = 0;

  gtk_list_view_set_model (self->messages_view, NULL);
  g_signal_group_set_target (self->session_signals, NULL);
  g_binding_group_set_source (self->session_bindings, NULL);
  g_clear_object (&self->session);
  if (self->conversation != NULL)
    g_signal_handlers_disconnect_by_data (self->conversation, self);
  if (self->timeline != NULL)
    g_signal_handlers_disconnect_by_data (self->timeline, self);
  g_clear_object (&self->timeline);
  g_clear_object (&self->conversation);
  if (self->contact != NULL)
    g_signal_handlers_disconnect_by_data (self->contact, self);
  g_clear_object (&self->contact);
  g_clear_pointer (&self->contact_id, g_free);
  g_clear_pointer (&self->first_unread_id, g_free);
  g_clear_pointer (&self->focus_id, g_free);
  cancel_reply (self);
  self->unseen_count = 0;
  gtk_revealer_set_reveal_child (self->jump_revealer, FALSE);

  gtk_search_bar_set_search_mode (self->search_bar, FALSE);
  gtk_revealer_set_reveal_child (self->typing_revealer, FALSE);
  gtk_revealer_set_reveal_child (self->warning_revealer, FALSE);
  gtk_text_buffer_set_text (gtk_text_view_get_buffer (self->compose_view), "", 0);
  gtk_widget_set_sensitive (GTK_WIDGET (self->menu_button), FALSE);
  gtk_widget_set_sensitive (GTK_WIDGET (self->search_button), FALSE);
  set_calls_enabled (self, FALSE);
  adw_window_title_set_title (self->window_title, "");
  adw_window_title_set_subtitle (self->window_title, "");
  gtk_stack_set_visible_child_name (self->view_stack, "empty");
}

/* GObject */

static void
natter_conversation_view_get_property (GObject    *object,
                                       guint       prop_id,
                                       GValue     *value,
                                       GParamSpec *pspec)
{
  NatterConversationView *self = NATTER_CONVERSATION_VIEW (object);

  switch (prop_id)
    {
    case PROP_SHOW_BACK_BUTTON:
      g_value_set_boolean (value, self->show_back_button);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
natter_conversation_view_set_property (GObject      *object,
                                       guint         prop_id,
                                       const GValue *value,
                                       GParamSpec   *pspec)
{
  NatterConversationView *self = NATTER_CONVERSATION_VIEW (object);

  switch (prop_id)
    {
    case PROP_SHOW_BACK_BUTTON:
      if (self->show_back_button != g_value_get_boolean (value))
        {
          self->show_back_button = g_value_get_boolean (value);
          g_object_notify_by_pspec (object, pspec);
        }
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
natter_conversation_view_dispose (GObject *object)
{
  NatterConversationView *self = NATTER_CONVERSATION_VIEW (object);

  natter_conversation_view_set_client (self, NULL);
  g_clear_handle_id (&self->typing_timeout, g_source_remove);
  g_clear_handle_id (&self->highlight_timeout, g_source_remove);
  g_clear_weak_pointer (&self->highlighted);

  gtk_widget_dispose_template (GTK_WIDGET (self), NATTER_TYPE_CONVERSATION_VIEW);

  G_OBJECT_CLASS (natter_conversation_view_parent_class)->dispose (object);
}

static void
natter_conversation_view_finalize (GObject *object)
{
  NatterConversationView *self = NATTER_CONVERSATION_VIEW (object);

  g_clear_object (&self->session_signals);
  g_clear_object (&self->session_bindings);

  G_OBJECT_CLASS (natter_conversation_view_parent_class)->finalize (object);
}

static void
natter_conversation_view_class_init (NatterConversationViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->get_property = natter_conversation_view_get_property;
  object_class->set_property = natter_conversation_view_set_property;
  object_class->dispose = natter_conversation_view_dispose;
  object_class->finalize = natter_conversation_view_finalize;

  properties[PROP_SHOW_BACK_BUTTON] =
    g_param_spec_boolean ("show-back-button", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/natter/Natter/ui/natter-conversation-view.ui");
  gtk_widget_class_bind_template_child (widget_class, NatterConversationView, window_title);
  gtk_widget_class_bind_template_child (widget_class, NatterConversationView, menu_button);
  gtk_widget_class_bind_template_child (widget_class, NatterConversationView, search_button);
  gtk_widget_class_bind_template_child (widget_class, NatterConversationView, call_box);
  gtk_widget_class_bind_template_child (widget_class, NatterConversationView, search_bar);
  gtk_widget_class_bind_template_child (widget_class, NatterConversationView, history_search_entry);
  gtk_widget_class_bind_template_child (widget_class, NatterConversationView, warning_revealer);
  gtk_widget_class_bind_template_child (widget_class, NatterConversationView, warning_label);
  gtk_widget_class_bind_template_child (widget_class, NatterConversationView, view_stack);
  gtk_widget_class_bind_template_child (widget_class, NatterConversationView, messages_stack);
  gtk_widget_class_bind_template_child (widget_class, NatterConversationView, scrolled_window);
  gtk_widget_class_bind_template_child (widget_class, NatterConversationView, messages_view);
  gtk_widget_class_bind_template_child (widget_class, NatterConversationView, jump_revealer);
  gtk_widget_class_bind_template_child (widget_class, NatterConversationView, jump_count_label);
  gtk_widget_class_bind_template_child (widget_class, NatterConversationView, attach_box);
  gtk_widget_class_bind_template_child (widget_class, NatterConversationView, reply_revealer);
  gtk_widget_class_bind_template_child (widget_class, NatterConversationView, reply_label);
  gtk_widget_class_bind_template_child (widget_class, NatterConversationView, compose_bar);
  gtk_widget_class_bind_template_child (widget_class, NatterConversationView, blocked_bar);
  gtk_widget_class_bind_template_child (widget_class, NatterConversationView, blocked_label);
  gtk_widget_class_bind_template_child (widget_class, NatterConversationView, compose_placeholder);
  gtk_widget_class_bind_template_child (widget_class, NatterConversationView, search_results);
  gtk_widget_class_bind_template_child (widget_class, NatterConversationView, typing_revealer);
  gtk_widget_class_bind_template_child (widget_class, NatterConversationView, typing_label);
  gtk_widget_class_bind_template_child (widget_class, NatterConversationView, compose_view);
  gtk_widget_class_bind_template_child (widget_class, NatterConversationView, send_button);
  gtk_widget_class_bind_template_callback (widget_class, on_send_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_emoji_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_jump_clicked);

  gtk_widget_class_install_action (widget_class, "conversation.delete-message", "s",
                                   delete_message_action);
  gtk_widget_class_install_action (widget_class, "conversation.message-details", "s",
                                   message_details_action);
  gtk_widget_class_install_action (widget_class, "conversation.details", NULL, details_action);
  gtk_widget_class_install_action (widget_class, "conversation.call-audio", NULL, call_action);
  gtk_widget_class_install_action (widget_class, "conversation.call-video", NULL, call_action);
  gtk_widget_class_install_action (widget_class, "conversation.reply", "s", reply_action);
  gtk_widget_class_install_action (widget_class, "conversation.cancel-reply", NULL,
                                   cancel_reply_action);
  gtk_widget_class_install_action (widget_class, "conversation.jump-to", "s", jump_to_action);
  gtk_widget_class_install_action (widget_class, "conversation.block", NULL, block_action);
  gtk_widget_class_install_action (widget_class, "conversation.unblock", NULL, unblock_action);
  gtk_widget_class_install_action (widget_class, "conversation.delete-conversation", NULL,
                                   delete_conversation_action);
  gtk_widget_class_install_action (widget_class, "conversation.remove-contact", NULL,
                                   remove_contact_action);
  gtk_widget_class_bind_template_callback (widget_class, on_details_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_history_search_changed);

  gtk_widget_class_set_css_name (widget_class, "conversationview");
}

static void
natter_conversation_view_init (NatterConversationView *self)
{
  g_autoptr(GtkListItemFactory) factory = gtk_signal_list_item_factory_new ();
  GtkEventController *keys;
  GtkAdjustment *adjustment;

  gtk_widget_init_template (GTK_WIDGET (self));
  set_calls_enabled (self, FALSE);

  /* Whatever contact is open, these speak of it alone */
  self->session_signals = g_signal_group_new (NATTER_TYPE_CONTACT_SESSION);
  g_signal_group_connect_swapped (self->session_signals, "notify::peer-state",
                                  G_CALLBACK (update_subtitle), self);
  g_signal_group_connect_swapped (self->session_signals, "notify::online",
                                  G_CALLBACK (on_session_online), self);
  g_signal_group_connect_swapped (self->session_signals, "notify::route",
                                  G_CALLBACK (update_subtitle), self);
  g_signal_group_connect_swapped (self->session_signals, "notify::trust-failure",
                                  G_CALLBACK (update_warning), self);
  g_signal_group_connect_swapped (self->session_signals, "contact-changed",
                                  G_CALLBACK (on_session_contact_changed), self);
  self->session_bindings = g_binding_group_new ();
  g_binding_group_bind_full (self->session_bindings, "trust-failure",
                             self->warning_revealer, "reveal-child", G_BINDING_SYNC_CREATE,
                             is_set, NULL, NULL, NULL);

  g_signal_connect (factory, "setup", G_CALLBACK (on_setup_message_row), self);
  g_signal_connect (factory, "bind", G_CALLBACK (on_bind_message_row), self);
  g_signal_connect (factory, "unbind", G_CALLBACK (on_unbind_message_row), self);
  gtk_list_view_set_factory (self->messages_view, factory);

  keys = gtk_event_controller_key_new ();
  gtk_event_controller_set_propagation_phase (keys, GTK_PHASE_CAPTURE);
  g_signal_connect (keys, "key-pressed", G_CALLBACK (on_compose_key_pressed), self);
  gtk_widget_add_controller (GTK_WIDGET (self->compose_view), keys);

  g_signal_connect_swapped (gtk_text_view_get_buffer (self->compose_view), "changed",
                            G_CALLBACK (on_compose_changed), self);

  keys = gtk_event_controller_key_new ();
  g_signal_connect (keys, "key-pressed", G_CALLBACK (on_messages_key_pressed), self);
  gtk_widget_add_controller (GTK_WIDGET (self->messages_view), keys);

  adjustment = get_vadjustment (self);
  g_signal_connect_swapped (adjustment, "value-changed", G_CALLBACK (on_adjustment_value_changed),
                            self);

  g_signal_connect (self->search_results, "row-activated",
                    G_CALLBACK (on_search_result_activated), self);
  g_signal_connect_swapped (self->search_bar, "notify::search-mode-enabled",
                            G_CALLBACK (on_search_mode), self);
  gtk_search_bar_connect_entry (self->search_bar, GTK_EDITABLE (self->history_search_entry));

  natter_conversation_files_install (self, self->attach_box, self->compose_view);

  gtk_stack_set_visible_child_name (self->view_stack, "empty");
}

/* The position of the oldest unread message of the loaded page, or
 * G_MAXUINT (the newest message) when all are read. */
static guint
find_first_unread (NatterConversationView *self)
{
  GListModel *model = G_LIST_MODEL (self->conversation);
  guint n_items = g_list_model_get_n_items (model);
  guint first = G_MAXUINT;

  for (guint i = n_items; i > 0; i--)
    {
      g_autoptr(GObject) item = g_list_model_get_item (model, i - 1);
      NatterMessage *message = NATTER_IS_MESSAGE (item) ? NATTER_MESSAGE (item) : NULL;

      if (message == NULL ||
          natter_message_get_direction (message) != NATTER_MESSAGE_DIRECTION_IN)
        continue;
      if (natter_message_get_status (message) != NATTER_MESSAGE_STATUS_RECEIVED)
        break;
      first = i - 1;
    }

  if (first != G_MAXUINT)
    {
      g_autoptr(GObject) message = g_list_model_get_item (model, first);

      if (!natter_timeline_find (self->timeline, message, &first))
        first = G_MAXUINT;
    }
  return first;
}

/**
 * natter_conversation_view_set_client:
 * @client: (nullable): the client, %NULL to close everything
 */
void
natter_conversation_view_set_client (NatterConversationView *self,
                                     NatterClient           *client)
{
  g_return_if_fail (NATTER_IS_CONVERSATION_VIEW (self));

  if (self->client == client)
    return;

  close_conversation (self);
  if (self->client != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->client, self);
      if (natter_client_get_signaling (self->client) != NULL)
        g_signal_handlers_disconnect_by_data (natter_client_get_signaling (self->client), self);
    }

  g_set_object (&self->client, client);

  if (client == NULL || natter_client_get_signaling (client) == NULL)
    return;

  g_signal_connect_swapped (natter_client_get_signaling (client), "notify::state",
                            G_CALLBACK (update_subtitle), self);
}

/**
 * natter_conversation_view_open:
 * @contact_id: the contact
 *
 * Shows the conversation with @contact_id, scrolled to the newest message,
 * and starts connecting to the contact.
 */
void
natter_conversation_view_open (NatterConversationView *self,
                               const char             *contact_id)
{
  g_autoptr(GtkNoSelection) selection = NULL;
  guint first_unread;

  g_return_if_fail (NATTER_IS_CONVERSATION_VIEW (self));
  g_return_if_fail (contact_id != NULL);

  if (self->client == NULL || g_strcmp0 (self->contact_id, contact_id) == 0)
    return;

  close_conversation (self);

  self->open_time = g_get_monotonic_time ();
  self->contact_id = g_strdup (contact_id);
  self->contact = natter_store_get_contact (natter_client_get_store (self->client), contact_id,
                                            NULL);
  if (self->contact != NULL)
    g_signal_connect_swapped (self->contact, "notify", G_CALLBACK (on_contact_notify), self);

  self->session = g_object_ref (natter_client_get_session (self->client, contact_id));
  g_signal_group_set_target (self->session_signals, self->session);
  g_binding_group_set_source (self->session_bindings, self->session);
  self->conversation = natter_conversation_new (self->client, contact_id);
  g_signal_connect_swapped (self->conversation, "notify::typing", G_CALLBACK (on_typing_notify),
                            self);
  self->timeline = natter_timeline_new (self->conversation);
  g_signal_connect_after (self->timeline, "items-changed", G_CALLBACK (on_messages_changed),
                          self);

  /* Remembered before the window marks the conversation read. */
  first_unread = find_first_unread (self);
  if (first_unread != G_MAXUINT)
    {
      g_autoptr(NatterMessage) message = g_list_model_get_item (G_LIST_MODEL (self->timeline),
                                                                first_unread);

      self->first_unread_id = g_strdup (natter_message_get_id (message));
    }

  self->loading_older = FALSE;
  selection = gtk_no_selection_new (g_object_ref (G_LIST_MODEL (self->timeline)));
  gtk_list_view_set_model (self->messages_view, GTK_SELECTION_MODEL (selection));

  gtk_widget_set_sensitive (GTK_WIDGET (self->menu_button), TRUE);
  gtk_widget_set_sensitive (GTK_WIDGET (self->search_button), TRUE);
  set_calls_enabled (self, TRUE);
  gtk_widget_set_sensitive (GTK_WIDGET (self->send_button), FALSE);
  gtk_stack_set_visible_child_name (self->view_stack, "conversation");
  update_title (self);
  on_typing_notify (self);
  on_compose_changed (self);

  start_scroll_to (self, first_unread);

  /* Someone who has not accepted our invitation would not answer. */
  if (!natter_client_is_invitation_pending (self->client, contact_id))
    natter_client_connect_to (self->client, contact_id);
  gtk_widget_grab_focus (GTK_WIDGET (self->compose_view));
  report_open_time (self);
}

const char *
natter_conversation_view_get_contact_id (NatterConversationView *self)
{
  g_return_val_if_fail (NATTER_IS_CONVERSATION_VIEW (self), NULL);

  return self->contact_id;
}

/**
 * natter_conversation_view_mark_read:
 *
 * Marks the conversation read if the user can see it: the view is on
 * screen and its window is active.
 *
 * Returns: %TRUE if unread messages were marked read
 */
gboolean
natter_conversation_view_mark_read (NatterConversationView *self)
{
  GtkRoot *root;
  g_autoptr(GError) error = NULL;

  g_return_val_if_fail (NATTER_IS_CONVERSATION_VIEW (self), FALSE);

  if (self->client == NULL || self->contact_id == NULL)
    return FALSE;

  root = gtk_widget_get_root (GTK_WIDGET (self));
  if (!GTK_IS_WINDOW (root) || !gtk_window_is_active (GTK_WINDOW (root)) ||
      !gtk_widget_get_mapped (GTK_WIDGET (self)) || !gtk_widget_get_child_visible (GTK_WIDGET (self)))
    return FALSE;

  if (natter_store_get_unread_count (natter_client_get_store (self->client), self->contact_id) == 0)
    return FALSE;

  if (!natter_client_mark_read (self->client, self->contact_id, &error))
    {
      g_warning ("Could not mark the conversation read: %s", error->message);
      return FALSE;
    }

  return TRUE;
}

/**
 * natter_conversation_view_start_search:
 *
 * Returns: %TRUE if a conversation is open and its search now has the focus
 */
gboolean
natter_conversation_view_start_search (NatterConversationView *self)
{
  g_return_val_if_fail (NATTER_IS_CONVERSATION_VIEW (self), FALSE);

  if (self->contact_id == NULL)
    return FALSE;

  gtk_search_bar_set_search_mode (self->search_bar, TRUE);
  gtk_widget_grab_focus (GTK_WIDGET (self->history_search_entry));
  return TRUE;
}

/**
 * natter_conversation_view_get_call_box:
 *
 * Returns: (transfer none): the box at the end of the header bar where call
 *   buttons go
 */
GtkBox *
natter_conversation_view_get_call_box (NatterConversationView *self)
{
  g_return_val_if_fail (NATTER_IS_CONVERSATION_VIEW (self), NULL);

  return self->call_box;
}

/**
 * natter_conversation_view_get_attach_box:
 *
 * Returns: (transfer none): the box at the start of the compose bar where
 *   the attach button goes
 */
GtkBox *
natter_conversation_view_get_attach_box (NatterConversationView *self)
{
  g_return_val_if_fail (NATTER_IS_CONVERSATION_VIEW (self), NULL);

  return self->attach_box;
}

NatterClient *
natter_conversation_view_get_client (NatterConversationView *self)
{
  g_return_val_if_fail (NATTER_IS_CONVERSATION_VIEW (self), NULL);

  return self->client;
}

/**
 * natter_conversation_view_show_toast:
 * @text: what to tell the user, briefly
 */
void
natter_conversation_view_show_toast (NatterConversationView *self,
                                     const char             *text)
{
  g_return_if_fail (NATTER_IS_CONVERSATION_VIEW (self));

  show_toast (self, text);
}
