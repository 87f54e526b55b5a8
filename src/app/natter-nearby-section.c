/* natter-nearby-section.c: the people on this network, in the sidebar
 *
 * Everyone the client found nearby who proved their ID: the name from the
 * profile they sign, the start of their ID, and Invite (or Open, once they
 * are a contact). Where no Avahi daemon runs it says why discovery is
 * unavailable and takes an address (host:port) instead, which the profile
 * remembers once someone answers there.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "natter-nearby-section"

#include "config.h"

#include <glib/gi18n.h>

#include "natter-lan.h"
#include "natter-nearby-peer.h"
#include "natter-safe-text.h"

#include "natter-nearby-section.h"
#include "natter-window.h"

/* How much of an ID a row shows */
#define ID_PREVIEW_LENGTH 12

struct _NatterNearbySection
{
  GtkBox        parent_instance;

  GtkLabel     *unavailable_label;
  GtkWidget    *address_box;
  GtkEntry     *address_entry;
  GtkListBox   *list;

  NatterClient *client;
  NatterLan    *lan;
  GCancellable *cancellable;
};

G_DEFINE_FINAL_TYPE (NatterNearbySection, natter_nearby_section, GTK_TYPE_BOX)

static void
toast (NatterNearbySection *self,
       const char          *message)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));

  if (NATTER_IS_WINDOW (root))
    natter_window_add_toast (NATTER_WINDOW (root), message);
}

static gboolean
is_contact (NatterClient *client,
            const char   *user_id)
{
  g_autoptr(NatterContact) contact = natter_store_get_contact (natter_client_get_store (client),
                                                               user_id, NULL);

  return contact != NULL;
}

/* Invite for a stranger, Open for a contact */
static void
update_row_button (GtkWidget *row)
{
  GtkButton *button = g_object_get_data (G_OBJECT (row), "natter-button");
  NatterClient *client = g_object_get_data (G_OBJECT (row), "natter-client");
  const char *user_id = g_object_get_data (G_OBJECT (row), "natter-user-id");
  gboolean contact = is_contact (client, user_id);

  gtk_button_set_label (button, contact ? _("Open") : _("Invite"));
  gtk_widget_set_sensitive (GTK_WIDGET (button), TRUE);
  g_object_set_data (G_OBJECT (button), "natter-is-contact", GINT_TO_POINTER (contact));
}

static void
on_row_contact_changed (NatterClient *client,
                        const char   *user_id,
                        GtkWidget    *row)
{
  if (g_strcmp0 (user_id, g_object_get_data (G_OBJECT (row), "natter-user-id")) == 0)
    update_row_button (row);
}

static void
on_invited (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(GtkWidget) row = user_data;
  g_autoptr(NatterInvitation) invitation = NULL;
  g_autoptr(GError) error = NULL;
  NatterNearbySection *self;

  invitation = natter_client_invite_finish (NATTER_CLIENT (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  self = NATTER_NEARBY_SECTION (gtk_widget_get_ancestor (row, NATTER_TYPE_NEARBY_SECTION));
  update_row_button (row);
  if (self == NULL)
    return;

  if (invitation == NULL)
    {
      /* Translators: %s says why an invitation to someone nearby failed */
      g_autofree char *message = g_strdup_printf (_("Could not invite: %s"), error->message);

      toast (self, message);
      return;
    }

  toast (self, _("Invitation sent"));
}

static void
on_row_button_clicked (GtkButton *button,
                       GtkWidget *row)
{
  NatterNearbySection *self = NATTER_NEARBY_SECTION (gtk_widget_get_ancestor (row,
                                                     NATTER_TYPE_NEARBY_SECTION));
  const char *user_id = g_object_get_data (G_OBJECT (row), "natter-user-id");
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));

  if (self == NULL || self->client == NULL)
    return;

  if (g_object_get_data (G_OBJECT (button), "natter-is-contact") != NULL)
    {
      if (NATTER_IS_WINDOW (root))
        natter_window_open_conversation (NATTER_WINDOW (root), user_id);
      return;
    }

  gtk_widget_set_sensitive (GTK_WIDGET (button), FALSE);
  natter_client_invite_async (self->client, user_id, NULL, self->cancellable, on_invited,
                              g_object_ref (row));
}

static GtkWidget *
create_row (gpointer item,
            gpointer user_data)
{
  NatterNearbySection *self = user_data;
  NatterNearbyPeer *peer = item;
  const char *user_id = natter_nearby_peer_get_user_id (peer);
  g_autofree char *name = natter_safe_text (natter_nearby_peer_get_name (peer), " ");
  g_autofree char *id_start = g_strndup (user_id, ID_PREVIEW_LENGTH);
  g_autofree char *id_text = g_strdup_printf ("%s…", id_start);
  g_autofree char *accessible = NULL;
  GtkWidget *row = gtk_list_box_row_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  GtkWidget *labels = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  GtkWidget *name_label, *id_label, *avatar, *button;
  gboolean named = name != NULL && *name != '\0';

  gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), FALSE);
  gtk_widget_set_margin_start (box, 6);
  gtk_widget_set_margin_end (box, 6);
  gtk_widget_set_margin_top (box, 6);
  gtk_widget_set_margin_bottom (box, 6);

  /* Their initials: a picture is offered only to contacts */
  avatar = adw_avatar_new (32, named ? name : NULL, named);
  gtk_box_append (GTK_BOX (box), avatar);

  /* Text from a peer: never markup */
  name_label = gtk_label_new (NULL);
  gtk_label_set_text (GTK_LABEL (name_label), named ? name : _("Unnamed"));
  gtk_label_set_xalign (GTK_LABEL (name_label), 0);
  gtk_label_set_ellipsize (GTK_LABEL (name_label), PANGO_ELLIPSIZE_END);
  id_label = gtk_label_new (id_text);
  gtk_label_set_xalign (GTK_LABEL (id_label), 0);
  gtk_label_set_ellipsize (GTK_LABEL (id_label), PANGO_ELLIPSIZE_END);
  gtk_widget_add_css_class (id_label, "dim-label");
  gtk_widget_add_css_class (id_label, "caption");
  gtk_widget_add_css_class (id_label, "monospace");
  gtk_box_append (GTK_BOX (labels), name_label);
  gtk_box_append (GTK_BOX (labels), id_label);
  gtk_widget_set_hexpand (labels, TRUE);
  gtk_widget_set_valign (labels, GTK_ALIGN_CENTER);
  gtk_box_append (GTK_BOX (box), labels);

  button = gtk_button_new_with_label (_("Invite"));
  gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
  gtk_box_append (GTK_BOX (box), button);
  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), box);

  /* Translators: the accessible name of someone found nearby: name, then ID */
  accessible = g_strdup_printf (_("%s, nearby, %s"), named ? name : _("Unnamed"), id_text);
  gtk_accessible_update_property (GTK_ACCESSIBLE (row), GTK_ACCESSIBLE_PROPERTY_LABEL, accessible,
                                  -1);

  g_object_set_data_full (G_OBJECT (row), "natter-user-id", g_strdup (user_id), g_free);
  g_object_set_data_full (G_OBJECT (row), "natter-client", g_object_ref (self->client),
                          g_object_unref);
  g_object_set_data (G_OBJECT (row), "natter-button", button);
  g_signal_connect (button, "clicked", G_CALLBACK (on_row_button_clicked), row);
  g_signal_connect_object (self->client, "contact-changed", G_CALLBACK (on_row_contact_changed),
                           row, 0);
  update_row_button (row);

  return row;
}

static void
update_discovery (NatterNearbySection *self)
{
  const GError *why = self->lan != NULL ? natter_lan_get_discovery_error (self->lan) : NULL;

  /* The core's words say why, and that an address can still be typed */
  if (why != NULL)
    gtk_label_set_text (self->unavailable_label, why->message);
  gtk_widget_set_visible (GTK_WIDGET (self->unavailable_label), why != NULL);
  gtk_widget_set_visible (self->address_box, why != NULL);
}

static void
on_address_reached (NatterLan           *lan,
                    const char          *user_id,
                    const char          *address,
                    NatterNearbySection *self)
{
  /* Translators: %s is the host:port that was typed */
  g_autofree char *message = g_strdup_printf (_("Reached someone at %s"), address);

  toast (self, message);
}

static void
on_connect_address (NatterNearbySection *self)
{
  g_autofree char *address = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->address_entry))));
  g_autoptr(GError) error = NULL;

  if (self->lan == NULL || *address == '\0')
    return;

  if (!natter_lan_connect_address (self->lan, address, &error))
    {
      gtk_widget_add_css_class (GTK_WIDGET (self->address_entry), "error");
      toast (self, error->message);
      return;
    }

  gtk_widget_remove_css_class (GTK_WIDGET (self->address_entry), "error");
  gtk_editable_set_text (GTK_EDITABLE (self->address_entry), "");
}

static void
natter_nearby_section_dispose (GObject *object)
{
  NatterNearbySection *self = NATTER_NEARBY_SECTION (object);

  natter_nearby_section_set_client (self, NULL);
  gtk_widget_dispose_template (GTK_WIDGET (self), NATTER_TYPE_NEARBY_SECTION);

  G_OBJECT_CLASS (natter_nearby_section_parent_class)->dispose (object);
}

static void
natter_nearby_section_class_init (NatterNearbySectionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = natter_nearby_section_dispose;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/natter/Natter/ui/natter-nearby-section.ui");
  gtk_widget_class_bind_template_child (widget_class, NatterNearbySection, unavailable_label);
  gtk_widget_class_bind_template_child (widget_class, NatterNearbySection, address_box);
  gtk_widget_class_bind_template_child (widget_class, NatterNearbySection, address_entry);
  gtk_widget_class_bind_template_child (widget_class, NatterNearbySection, list);
  gtk_widget_class_bind_template_callback (widget_class, on_connect_address);
}

static void
natter_nearby_section_init (NatterNearbySection *self)
{
  GtkWidget *placeholder;

  gtk_widget_init_template (GTK_WIDGET (self));

  placeholder = gtk_label_new (_("Nobody found on this network yet"));
  gtk_label_set_wrap (GTK_LABEL (placeholder), TRUE);
  gtk_widget_set_margin_top (placeholder, 12);
  gtk_widget_set_margin_bottom (placeholder, 12);
  gtk_widget_set_margin_start (placeholder, 12);
  gtk_widget_set_margin_end (placeholder, 12);
  gtk_widget_add_css_class (placeholder, "dim-label");
  gtk_list_box_set_placeholder (self->list, placeholder);
}

/**
 * natter_nearby_section_set_client:
 * @client: (nullable): the client; the section shows only when it looks
 *   on this network
 */
void
natter_nearby_section_set_client (NatterNearbySection *self,
                                  NatterClient        *client)
{
  g_return_if_fail (NATTER_IS_NEARBY_SECTION (self));

  if (self->lan != NULL)
    g_signal_handlers_disconnect_by_data (self->lan, self);
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->lan);
  g_clear_object (&self->client);
  if (self->list != NULL)
    gtk_list_box_bind_model (self->list, NULL, NULL, NULL, NULL);

  if (client != NULL && natter_client_get_lan (client) != NULL)
    {
      self->client = g_object_ref (client);
      self->lan = g_object_ref (natter_client_get_lan (client));
      self->cancellable = g_cancellable_new ();
      gtk_list_box_bind_model (self->list, natter_lan_get_nearby (self->lan), create_row, self,
                               NULL);
      g_signal_connect_swapped (self->lan, "notify::discovery-error",
                                G_CALLBACK (update_discovery), self);
      g_signal_connect (self->lan, "address-reached", G_CALLBACK (on_address_reached), self);
    }

  update_discovery (self);
  gtk_widget_set_visible (GTK_WIDGET (self), self->lan != NULL);
}
