/* natter-contact-row.c: one contact in the sidebar
 *
 * Shows the avatar with a presence dot, the name, the last message and the
 * number of unread messages. Name, avatar and presence follow the live
 * contact object; the last message and the unread count are read from the
 * store whenever the row is bound (the contact list rebinds on every message).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "natter-contact-row"

#include "config.h"

#include <glib/gi18n.h>
#include <adwaita.h>

#include "natter-contact-row.h"
#include "natter-text.h"

struct _NatterContactRow
{
  GtkBox         parent_instance;

  AdwAvatar     *avatar;
  GtkImage      *presence_dot;
  GtkLabel      *name_label;
  GtkLabel      *id_label;
  GtkLabel      *last_message_label;
  GtkLabel      *time_label;
  GtkLabel      *unread_badge;

  NatterClient  *client;
  NatterContact *contact;
  /* The bound contact's session: its conversation and presence */
  GSignalGroup  *session_signals;
};

G_DEFINE_FINAL_TYPE (NatterContactRow, natter_contact_row, GTK_TYPE_BOX)

/**
 * natter_avatar_paintable_new:
 * @avatar: (nullable): PNG, JPEG or WebP bytes
 *
 * Returns: (transfer full) (nullable): the picture, or %NULL when there is
 *   none or it cannot be decoded
 */
GdkPaintable *
natter_avatar_paintable_new (GBytes *avatar)
{
  g_autoptr(GError) error = NULL;
  GdkTexture *texture;

  if (avatar == NULL || g_bytes_get_size (avatar) == 0)
    return NULL;

  /* Checked when it arrived; checked again here for pictures stored before */
  if (!natter_client_validate_avatar (avatar, &error))
    {
      g_debug ("A profile picture was not shown: %s", error->message);
      return NULL;
    }

  texture = gdk_texture_new_from_bytes (avatar, &error);
  if (texture == NULL)
    g_debug ("A profile picture could not be decoded: %s", error->message);

  return GDK_PAINTABLE (texture);
}

/**
 * natter_avatar_initials_source:
 * @name: a name as people write it, such as "(Bob) Smith" or "~ada~"
 *
 * AdwAvatar takes the initials from the first characters of the first two
 * words, punctuation and emoji included. This keeps only the words' letters
 * and digits, so "(Bob) Smith" gives "BS".
 *
 * Returns: (transfer full): the text to give the avatar
 */
char *
natter_avatar_initials_source (const char *name)
{
  GString *letters = g_string_new (NULL);
  gboolean in_word = FALSE;

  for (const char *p = name; p != NULL && *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (g_unichar_isalnum (c))
        {
          g_string_append_unichar (letters, c);
          in_word = TRUE;
        }
      else if (g_unichar_isspace (c) && in_word)
        {
          g_string_append_c (letters, ' ');
          in_word = FALSE;
        }
    }

  return g_strstrip (g_string_free (letters, FALSE));
}

static const char *
row_name (NatterContactRow *self)
{
  const char *name = natter_contact_get_name (self->contact);

  return name != NULL && *name != '\0' ? name : natter_contact_get_user_id (self->contact);
}

static gboolean
row_online (NatterContactRow *self)
{
  /* The client knows the server's word even before the contact object does. */
  return natter_contact_get_presence (self->contact) == NATTER_PRESENCE_ONLINE ||
         (self->client != NULL &&
          natter_client_is_contact_online (self->client,
                                           natter_contact_get_user_id (self->contact)));
}

/* What a screen reader says for the row: name, online or not, unread count. */
static void
update_accessible_label (NatterContactRow *self)
{
  guint unread = self->client != NULL ?
                 natter_store_get_unread_count (natter_client_get_store (self->client),
                                                natter_contact_get_user_id (self->contact)) : 0;
  g_autofree char *name = natter_text_one_line (row_name (self));
  g_autofree char *unread_text = NULL;
  g_autofree char *label = NULL;

  if (unread > 0)
    unread_text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u unread message",
                                                "%u unread messages", unread), unread);
  /* Translators: a contact in the sidebar as a screen reader says it:
   * name, "Online" or "Offline", then the unread count if any */
  label = g_strdup_printf (_("%s, %s%s%s"), name, row_online (self) ? _("Online") : _("Offline"),
                           unread_text != NULL ? ", " : "", unread_text != NULL ? unread_text : "");
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL, label, -1);
}

static void
update_name (NatterContactRow *self)
{
  const char *user_id = natter_contact_get_user_id (self->contact);
  const char *chosen = natter_contact_get_name (self->contact);
  g_autofree char *name = NULL;
  g_autofree char *id_start = NULL;
  g_autofree char *initials = NULL;

  if (chosen == NULL || *chosen == '\0')
    {
      gtk_label_set_text (self->name_label, user_id);
      gtk_widget_set_visible (GTK_WIDGET (self->id_label), FALSE);
      adw_avatar_set_text (self->avatar, user_id);
      return;
    }

  /* A name is what the contact chose, and anyone can choose any name: the
   * start of the ID, which no one can choose, tells two of the same apart */
  name = natter_text_one_line (chosen);
  id_start = g_strndup (user_id, 8);
  initials = natter_avatar_initials_source (name);
  gtk_label_set_text (self->name_label, name);
  gtk_label_set_text (self->id_label, id_start);
  gtk_widget_set_visible (GTK_WIDGET (self->id_label), TRUE);
  adw_avatar_set_text (self->avatar, initials);
}

static void
update_avatar (NatterContactRow *self)
{
  g_autoptr(GdkPaintable) paintable = natter_avatar_paintable_new (
    natter_contact_get_avatar (self->contact));

  adw_avatar_set_custom_image (self->avatar, paintable);
}

static void
update_presence (NatterContactRow *self)
{
  GtkWidget *dot = GTK_WIDGET (self->presence_dot);
  gboolean online = row_online (self);
  const char *state = online ? _("Online") : _("Offline");

  /* Someone who has not accepted our invitation cannot be reached yet,
   * online or not. */
  gtk_widget_set_visible (dot, self->client == NULL ||
                               !natter_client_is_invitation_pending (self->client,
                                                                     natter_contact_get_user_id (self->contact)));

  if (online)
    gtk_widget_add_css_class (dot, "online");
  else
    gtk_widget_remove_css_class (dot, "online");

  gtk_widget_set_tooltip_text (dot, state);
  gtk_accessible_update_property (GTK_ACCESSIBLE (dot), GTK_ACCESSIBLE_PROPERTY_LABEL, state, -1);
}

static void
on_contact_notify (NatterContactRow *self,
                   GParamSpec       *pspec)
{
  const char *name = g_param_spec_get_name (pspec);

  if (g_str_equal (name, "name"))
    update_name (self);
  else if (g_str_equal (name, "avatar"))
    update_avatar (self);
  else if (g_str_equal (name, "presence"))
    update_presence (self);
  update_accessible_label (self);
}

/* The time of the last message as a sidebar shows it: the time today, the
 * weekday this week, otherwise the date. */
static char *
format_last_time (gint64 timestamp)
{
  g_autoptr(GDateTime) time = g_date_time_new_from_unix_local (timestamp / G_USEC_PER_SEC);
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  GTimeSpan age = g_date_time_difference (now, time);

  if (g_date_time_get_year (time) == g_date_time_get_year (now) &&
      g_date_time_get_day_of_year (time) == g_date_time_get_day_of_year (now))
    return g_date_time_format (time, "%H:%M");
  if (age < 6 * G_TIME_SPAN_DAY)
    /* Translators: the weekday of a last message in the sidebar; see strftime(3) */
    return g_date_time_format (time, _("%a"));
  /* Translators: the date of an older last message in the sidebar; see strftime(3) */
  return g_date_time_format (time, _("%x"));
}

/* The last message, its time and the unread count: read from the store
 * whenever the conversation changes (the list keeps the row of a contact
 * whose place did not change, without binding it again). */
static void
update_history (NatterContactRow *self)
{
  NatterContact *contact = self->contact;
  NatterStore *store = natter_client_get_store (self->client);
  g_autoptr(NatterMessage) last = NULL;
  g_autofree char *unread_text = NULL;
  guint unread;

  last = natter_store_get_last_message (store, natter_contact_get_user_id (contact), NULL);
  gtk_widget_set_visible (GTK_WIDGET (self->time_label), last != NULL);
  if (last != NULL)
    {
      g_autofree char *when = format_last_time (natter_message_get_timestamp (last));
      /* One line of preview */
      g_autofree char *line = natter_text_one_line (natter_message_get_body (last));

      gtk_label_set_text (self->time_label, when);
      if (natter_message_get_direction (last) == NATTER_MESSAGE_DIRECTION_OUT)
        {
          g_autofree char *mine = g_strdup_printf (_("You: %s"), line);

          gtk_label_set_text (self->last_message_label, mine);
        }
      else
        {
          gtk_label_set_text (self->last_message_label, line);
        }
    }
  else if (natter_contact_get_blocked (contact))
    {
      gtk_label_set_text (self->last_message_label, _("Blocked"));
    }
  else if (natter_client_is_invitation_pending (self->client, natter_contact_get_user_id (contact)))
    {
      gtk_label_set_text (self->last_message_label, _("Invited, waiting for an answer"));
    }
  else
    {
      gtk_label_set_text (self->last_message_label, _("No messages yet"));
    }

  unread = natter_store_get_unread_count (store, natter_contact_get_user_id (contact));
  unread_text = unread > 99 ? g_strdup ("99+") : g_strdup_printf ("%u", unread);
  gtk_label_set_text (self->unread_badge, unread_text);
  gtk_widget_set_visible (GTK_WIDGET (self->unread_badge), unread > 0);
  if (unread > 0)
    {
      g_autofree char *label = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u unread message",
                                                             "%u unread messages", unread),
                                                unread);

      gtk_accessible_update_property (GTK_ACCESSIBLE (self->unread_badge),
                                      GTK_ACCESSIBLE_PROPERTY_LABEL, label, -1);
    }

  update_accessible_label (self);
}

/* Anything the session says: a message, a status, presence, the contact */
static void
on_session_changed (NatterContactRow *self)
{
  if (self->contact == NULL)
    return;

  update_presence (self);
  update_history (self);
}

static void
natter_contact_row_dispose (GObject *object)
{
  NatterContactRow *self = NATTER_CONTACT_ROW (object);

  natter_contact_row_bind (self, NULL, NULL);
  g_clear_object (&self->session_signals);
  gtk_widget_dispose_template (GTK_WIDGET (self), NATTER_TYPE_CONTACT_ROW);

  G_OBJECT_CLASS (natter_contact_row_parent_class)->dispose (object);
}

static void
natter_contact_row_class_init (NatterContactRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = natter_contact_row_dispose;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/natter/Natter/ui/natter-contact-row.ui");
  gtk_widget_class_bind_template_child (widget_class, NatterContactRow, avatar);
  gtk_widget_class_bind_template_child (widget_class, NatterContactRow, presence_dot);
  gtk_widget_class_bind_template_child (widget_class, NatterContactRow, name_label);
  gtk_widget_class_bind_template_child (widget_class, NatterContactRow, id_label);
  gtk_widget_class_bind_template_child (widget_class, NatterContactRow, last_message_label);
  gtk_widget_class_bind_template_child (widget_class, NatterContactRow, time_label);
  gtk_widget_class_bind_template_child (widget_class, NatterContactRow, unread_badge);
}

static void
natter_contact_row_init (NatterContactRow *self)
{
  static const char * const changes[] = {
    "message-added", "message-status-changed", "message-deleted", "conversation-read",
    "conversation-cleared", "contact-changed", "notify::online",
  };

  gtk_widget_init_template (GTK_WIDGET (self));

  self->session_signals = g_signal_group_new (NATTER_TYPE_CONTACT_SESSION);
  for (guint i = 0; i < G_N_ELEMENTS (changes); i++)
    g_signal_group_connect_swapped (self->session_signals, changes[i],
                                    G_CALLBACK (on_session_changed), self);
}

NatterContactRow *
natter_contact_row_new (void)
{
  return g_object_new (NATTER_TYPE_CONTACT_ROW, NULL);
}

/**
 * natter_contact_row_bind:
 * @client: (nullable): the client whose store holds the history
 * @contact: (nullable): the contact to show, %NULL to unbind
 */
void
natter_contact_row_bind (NatterContactRow *self,
                         NatterClient     *client,
                         NatterContact    *contact)
{
  g_return_if_fail (NATTER_IS_CONTACT_ROW (self));

  if (self->contact != NULL)
    g_signal_handlers_disconnect_by_data (self->contact, self);
  if (self->session_signals != NULL)
    g_signal_group_set_target (self->session_signals, NULL);
  g_set_object (&self->contact, contact);
  g_set_object (&self->client, client);

  if (contact == NULL || client == NULL)
    return;

  g_signal_connect_swapped (contact, "notify", G_CALLBACK (on_contact_notify), self);
  if (self->session_signals != NULL)
    g_signal_group_set_target (self->session_signals,
                             natter_client_get_session (client,
                                                        natter_contact_get_user_id (contact)));
  update_name (self);
  update_avatar (self);
  update_presence (self);

  update_history (self);
  update_accessible_label (self);
}
