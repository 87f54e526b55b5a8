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
  GtkLabel      *unread_badge;

  NatterClient  *client;
  NatterContact *contact;
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

static void
update_name (NatterContactRow *self)
{
  const char *user_id = natter_contact_get_user_id (self->contact);
  g_autofree char *name = NULL;
  g_autofree char *id_start = NULL;

  if (natter_contact_get_name (self->contact) == NULL || *natter_contact_get_name (self->contact) == '\0')
    {
      gtk_label_set_text (self->name_label, user_id);
      gtk_widget_set_visible (GTK_WIDGET (self->id_label), FALSE);
      adw_avatar_set_text (self->avatar, user_id);
      return;
    }

  /* A name is what the contact chose, and anyone can choose any name: the
   * start of the ID, which no one can choose, tells two of the same apart */
  name = natter_text_one_line (natter_contact_get_name (self->contact));
  id_start = g_strndup (user_id, 8);
  gtk_label_set_text (self->name_label, name);
  gtk_label_set_text (self->id_label, id_start);
  gtk_widget_set_visible (GTK_WIDGET (self->id_label), TRUE);
  adw_avatar_set_text (self->avatar, name);
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
  /* The client knows the server's word even before the contact object does. */
  gboolean online = natter_contact_get_presence (self->contact) == NATTER_PRESENCE_ONLINE ||
                    (self->client != NULL &&
                     natter_client_is_contact_online (self->client,
                                                      natter_contact_get_user_id (self->contact)));
  const char *state = online ? _("Online") : _("Offline");

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
}

static void
natter_contact_row_dispose (GObject *object)
{
  NatterContactRow *self = NATTER_CONTACT_ROW (object);

  natter_contact_row_bind (self, NULL, NULL);
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
  gtk_widget_class_bind_template_child (widget_class, NatterContactRow, unread_badge);
}

static void
natter_contact_row_init (NatterContactRow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
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
  g_autoptr(NatterMessage) last = NULL;
  g_autofree char *unread_text = NULL;
  NatterStore *store;
  guint unread;

  g_return_if_fail (NATTER_IS_CONTACT_ROW (self));

  if (self->contact != NULL)
    g_signal_handlers_disconnect_by_data (self->contact, self);
  g_set_object (&self->contact, contact);
  g_set_object (&self->client, client);

  if (contact == NULL || client == NULL)
    return;

  g_signal_connect_swapped (contact, "notify", G_CALLBACK (on_contact_notify), self);
  update_name (self);
  update_avatar (self);
  update_presence (self);

  store = natter_client_get_store (client);
  last = natter_store_get_last_message (store, natter_contact_get_user_id (contact), NULL);
  if (last != NULL)
    {
      g_autofree char *line = g_strdup (natter_message_get_body (last));

      /* One line of preview */
      g_strdelimit (line, "\r\n", ' ');
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
}
