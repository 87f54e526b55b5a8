/* natter-contact-dialog.c: a contact's details: name, blocking, safety number
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "natter-contact-dialog"

#include "config.h"

#include <glib/gi18n.h>

#include "natter-alert.h"
#include "natter-contact-dialog.h"
#include "natter-contact-row.h"
#include "natter-user-id-text.h"

struct _NatterContactDialog
{
  AdwWindow      parent_instance;

  AdwAvatar     *avatar;
  GtkLabel      *name_label;
  GtkLabel      *own_name_label;
  GtkLabel      *bio_label;
  GtkLabel      *id_label;
  AdwEntryRow   *alias_row;
  GtkSwitch     *block_switch;
  GtkLabel      *safety_number_label;
  GtkSwitch     *verified_switch;

  NatterClient  *client;
  NatterContact *contact;
  gboolean       updating;
};

G_DEFINE_FINAL_TYPE (NatterContactDialog, natter_contact_dialog, ADW_TYPE_WINDOW)

static void
show_error (NatterContactDialog *self,
            const GError        *error)
{
  GtkWidget *alert = natter_alert_new (GTK_WIDGET (self), _("Could Not Save"), error->message);

  natter_alert_add_response (alert, "close", _("_Close"), ADW_RESPONSE_DEFAULT);
  natter_alert_present (alert, GTK_WIDGET (self));
}

static void
update (NatterContactDialog *self)
{
  const char *name = natter_contact_get_name (self->contact);
  const char *bio = natter_contact_get_bio (self->contact);
  const char *alias = natter_contact_get_alias (self->contact);
  g_autoptr(GdkPaintable) picture = NULL;
  g_autofree char *initials = NULL;
  g_autofree char *grouped = NULL;
  const char *own_name;
  gboolean renamed;

  if (name == NULL || *name == '\0')
    name = natter_contact_get_user_id (self->contact);
  initials = natter_avatar_initials_source (name);

  self->updating = TRUE;

  gtk_label_set_text (self->name_label, name);
  adw_avatar_set_text (self->avatar, initials);
  picture = natter_avatar_paintable_new (natter_contact_get_avatar (self->contact));
  adw_avatar_set_custom_image (self->avatar, picture);
  /* A contact you renamed still shows the name they chose. */
  own_name = natter_contact_get_display_name (self->contact);
  renamed = alias != NULL && *alias != '\0' && own_name != NULL && *own_name != '\0' &&
            g_strcmp0 (alias, own_name) != 0;
  if (renamed)
    {
      /* Translators: under the name you gave a contact; %s is the name they chose */
      g_autofree char *text = g_strdup_printf (_("Calls themselves “%s”"), own_name);

      gtk_label_set_text (self->own_name_label, text);
    }
  gtk_widget_set_visible (GTK_WIDGET (self->own_name_label), renamed);
  gtk_label_set_text (self->bio_label, bio != NULL ? bio : "");
  gtk_widget_set_visible (GTK_WIDGET (self->bio_label), bio != NULL && *bio != '\0');
  /* In groups of four: it wraps between groups, never inside one */
  grouped = natter_user_id_text_grouped (natter_contact_get_user_id (self->contact));
  gtk_label_set_text (self->id_label, grouped);

  if (!gtk_widget_has_focus (GTK_WIDGET (self->alias_row)))
    gtk_editable_set_text (GTK_EDITABLE (self->alias_row), alias != NULL ? alias : "");

  gtk_switch_set_active (self->block_switch, natter_contact_get_blocked (self->contact));
  gtk_switch_set_active (self->verified_switch, natter_contact_get_verified (self->contact));

  self->updating = FALSE;
}

/* The ID as it is, without the spaces of its groups */
static void
on_copy_id_clicked (NatterContactDialog *self,
                    GtkButton           *button)
{
  gdk_clipboard_set_text (gtk_widget_get_clipboard (GTK_WIDGET (self)),
                          natter_contact_get_user_id (self->contact));
  gtk_button_set_label (button, _("ID Copied"));
}

static void
on_alias_apply (NatterContactDialog *self)
{
  g_autofree char *alias = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->alias_row))));
  g_autoptr(GError) error = NULL;

  if (!natter_client_rename_contact (self->client, natter_contact_get_user_id (self->contact),
                                     *alias != '\0' ? alias : NULL, &error))
    show_error (self, error);
}

static void
set_blocked (NatterContactDialog *self,
             gboolean             blocked)
{
  g_autoptr(GError) error = NULL;

  if (!natter_client_set_blocked (self->client, natter_contact_get_user_id (self->contact),
                                  blocked, &error))
    show_error (self, error);
  update (self);
}

static void
on_block_response (GtkWidget           *alert,
                   const char          *response,
                   NatterContactDialog *self)
{
  if (g_str_equal (response, "block"))
    set_blocked (self, TRUE);
  else
    update (self);
}

/* Blocking asks first; unblocking does not. */
static void
on_block_toggled (NatterContactDialog *self)
{
  gboolean blocked = gtk_switch_get_active (self->block_switch);
  const char *name = natter_contact_get_name (self->contact);
  g_autofree char *heading = NULL;
  GtkWidget *alert;

  if (self->updating || blocked == natter_contact_get_blocked (self->contact))
    return;

  if (!blocked)
    {
      set_blocked (self, FALSE);
      return;
    }

  /* Translators: %s is the contact */
  heading = g_strdup_printf (_("Block %s?"), name != NULL && *name != '\0' ? name :
                                            natter_contact_get_user_id (self->contact));
  alert = natter_alert_new (GTK_WIDGET (self), heading,
                            _("They can no longer connect to you, message you or invite you, "
                              "and are not told. The conversation stays."));
  natter_alert_add_response (alert, "cancel", _("_Cancel"), ADW_RESPONSE_DEFAULT);
  natter_alert_add_response (alert, "block", _("_Block"), ADW_RESPONSE_DESTRUCTIVE);
  natter_alert_set_cancel (alert, "cancel");
  g_signal_connect_object (alert, "response", G_CALLBACK (on_block_response), self, 0);
  natter_alert_present (alert, GTK_WIDGET (self));
}

static void
on_verified_toggled (NatterContactDialog *self)
{
  const char *id = natter_contact_get_user_id (self->contact);
  gboolean verified = gtk_switch_get_active (self->verified_switch);
  g_autoptr(GError) error = NULL;

  if (self->updating || verified == natter_contact_get_verified (self->contact))
    return;

  if (!natter_client_set_verified (self->client, id, verified, &error))
    {
      show_error (self, error);
      update (self);
    }
}

static void
natter_contact_dialog_dispose (GObject *object)
{
  NatterContactDialog *self = NATTER_CONTACT_DIALOG (object);

  if (self->contact != NULL)
    g_signal_handlers_disconnect_by_data (self->contact, self);
  g_clear_object (&self->contact);
  g_clear_object (&self->client);

  gtk_widget_dispose_template (GTK_WIDGET (self), NATTER_TYPE_CONTACT_DIALOG);

  G_OBJECT_CLASS (natter_contact_dialog_parent_class)->dispose (object);
}

static void
natter_contact_dialog_class_init (NatterContactDialogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = natter_contact_dialog_dispose;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/natter/Natter/ui/natter-contact-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, NatterContactDialog, avatar);
  gtk_widget_class_bind_template_child (widget_class, NatterContactDialog, name_label);
  gtk_widget_class_bind_template_child (widget_class, NatterContactDialog, own_name_label);
  gtk_widget_class_bind_template_child (widget_class, NatterContactDialog, bio_label);
  gtk_widget_class_bind_template_child (widget_class, NatterContactDialog, id_label);
  gtk_widget_class_bind_template_child (widget_class, NatterContactDialog, alias_row);
  gtk_widget_class_bind_template_child (widget_class, NatterContactDialog, block_switch);
  gtk_widget_class_bind_template_child (widget_class, NatterContactDialog, safety_number_label);
  gtk_widget_class_bind_template_child (widget_class, NatterContactDialog, verified_switch);
  gtk_widget_class_bind_template_callback (widget_class, on_alias_apply);
  gtk_widget_class_bind_template_callback (widget_class, on_copy_id_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_block_toggled);
  gtk_widget_class_bind_template_callback (widget_class, on_verified_toggled);

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
natter_contact_dialog_init (NatterContactDialog *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

NatterContactDialog *
natter_contact_dialog_new (GtkWindow    *parent,
                           NatterClient *client,
                           const char   *contact_id)
{
  NatterContactDialog *self;
  g_autoptr(GError) error = NULL;
  g_autofree char *number = NULL;

  g_return_val_if_fail (NATTER_IS_CLIENT (client), NULL);
  g_return_val_if_fail (contact_id != NULL, NULL);

  self = g_object_new (NATTER_TYPE_CONTACT_DIALOG, "transient-for", parent, NULL);
  self->client = g_object_ref (client);
  self->contact = natter_store_get_contact (natter_client_get_store (client), contact_id, &error);
  if (self->contact == NULL)
    {
      g_warning ("Could not load the contact: %s", error->message);
      self->contact = natter_contact_new (contact_id);
    }

  number = natter_identity_get_safety_number (natter_client_get_identity (client), contact_id);
  gtk_label_set_text (self->safety_number_label, number != NULL ? number : "");

  g_signal_connect_swapped (self->contact, "notify", G_CALLBACK (update), self);
  update (self);
  return self;
}
