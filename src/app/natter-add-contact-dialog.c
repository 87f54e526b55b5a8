/* natter-add-contact-dialog.c: invite someone by Natter ID or @handle
 *
 * Mistakes are explained beside the entry: a mistyped ID (its checksum does
 * not match), an unknown handle, or a server that cannot be reached.
 *
 * A handle is answered by the server, which could answer anything: the
 * dialog first shows the ID and the safety number it stands for, and only a
 * second click invites that ID. The contact starts unverified.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "natter-add-contact-dialog"

#include "config.h"

#include <glib/gi18n.h>

#include "natter-protocol.h"

#include "natter-add-contact-dialog.h"
#include "natter-user-id-text.h"

struct _NatterAddContactDialog
{
  AdwWindow     parent_instance;

  GtkEntry     *id_entry;
  GtkEntry     *note_entry;
  GtkLabel     *error_label;
  GtkLabel     *own_id_label;
  GtkLabel     *resolved_label;
  GtkButton    *send_button;

  NatterClient *client;
  GCancellable *cancellable;
  char         *resolved_handle;  /* what was looked up */
  char         *resolved_id;      /* and what the server answered */
};

G_DEFINE_FINAL_TYPE (NatterAddContactDialog, natter_add_contact_dialog, ADW_TYPE_WINDOW)

static void
set_error (NatterAddContactDialog *self,
           const char             *message)
{
  gtk_label_set_text (self->error_label, message != NULL ? message : "");
  gtk_widget_set_visible (GTK_WIDGET (self->error_label), message != NULL);
  if (message != NULL)
    gtk_widget_add_css_class (GTK_WIDGET (self->id_entry), "error");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self->id_entry), "error");
}

static void
set_busy (NatterAddContactDialog *self,
          gboolean                busy)
{
  gtk_widget_set_sensitive (GTK_WIDGET (self->send_button), !busy);
  /* Not insensitive: that would take the focus from a text entry mid-event. */
  gtk_editable_set_editable (GTK_EDITABLE (self->id_entry), !busy);
  gtk_editable_set_editable (GTK_EDITABLE (self->note_entry), !busy);
}

static void
clear_resolved (NatterAddContactDialog *self)
{
  g_clear_pointer (&self->resolved_handle, g_free);
  g_clear_pointer (&self->resolved_id, g_free);
  gtk_widget_set_visible (GTK_WIDGET (self->resolved_label), FALSE);
  gtk_button_set_label (self->send_button, _("Send invitation"));
}

static void
on_id_changed (NatterAddContactDialog *self)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (self->id_entry));
  g_autofree char *stripped = g_strstrip (g_strdup (text));

  clear_resolved (self);
  set_error (self, NULL);
  gtk_widget_set_sensitive (GTK_WIDGET (self->send_button), *stripped != '\0');
}

/* Explains why an invitation failed, in words for the user. */
static char *
explain_error (const GError *error,
               const char   *target)
{
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED))
    return g_strdup (_("The server cannot be reached right now. Invitations need it; try again "
                       "once Natter is connected."));

  if (error->domain == NATTER_PROTOCOL_ERROR)
    switch (error->code)
      {
      case NATTER_PROTOCOL_ERROR_NOT_FOUND:
        return g_strdup_printf (_("No one has the handle %s on this server."), target);
      case NATTER_PROTOCOL_ERROR_INVALID_TARGET:
        return g_strdup (_("That is your own ID."));
      case NATTER_PROTOCOL_ERROR_INVALID_HANDLE:
        return g_strdup (_("A handle is @ and 3 to 32 letters, digits, '_', '.' or '-'."));
      case NATTER_PROTOCOL_ERROR_INVALID_USER:
        return g_strdup (_("This is not a valid Natter ID. Check it for typos."));
      case NATTER_PROTOCOL_ERROR_LIMIT_EXCEEDED:
        return g_strdup (_("You have too many pending invitations. Wait for some answers first."));
      case NATTER_PROTOCOL_ERROR_RECIPIENT_FULL:
        return g_strdup (_("This person has too many invitations waiting. Try again later."));
      default:
        break;
      }

  return g_strdup (error->message);
}

static void
on_invited (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(NatterAddContactDialog) self = user_data;
  g_autoptr(NatterInvitation) invitation = NULL;
  g_autoptr(GError) error = NULL;

  invitation = natter_client_invite_finish (NATTER_CLIENT (source), result, &error);
  if (invitation == NULL)
    {
      g_autofree char *message = NULL;
      g_autofree char *target = NULL;

      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;

      target = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->id_entry))));
      message = explain_error (error, target);
      set_busy (self, FALSE);
      set_error (self, message);
      gtk_widget_grab_focus (GTK_WIDGET (self->id_entry));
      return;
    }

  gtk_window_close (GTK_WINDOW (self));
}

static void
on_looked_up (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(NatterAddContactDialog) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *user_id = NULL;
  g_autofree char *safety = NULL;
  g_autofree char *text = NULL;
  g_autofree char *target = NULL;

  user_id = natter_client_lookup_handle_finish (NATTER_CLIENT (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  set_busy (self, FALSE);
  target = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->id_entry))));
  if (user_id == NULL)
    {
      g_autofree char *message = explain_error (error, target);

      set_error (self, message);
      gtk_widget_grab_focus (GTK_WIDGET (self->id_entry));
      return;
    }

  if (g_str_equal (user_id, natter_client_get_user_id (self->client)))
    {
      set_error (self, _("That handle is your own."));
      return;
    }

  safety = natter_identity_get_safety_number (natter_client_get_identity (self->client), user_id);
  /* Translators: the first %s is a @handle, the second a Natter ID */
  text = g_strdup_printf (_("The server says %s is\n%s\n\nSafety number: %s\n\nCompare the "
                            "safety number with this person before you trust the contact."),
                          target, user_id, safety);
  gtk_label_set_text (self->resolved_label, text);
  gtk_widget_set_visible (GTK_WIDGET (self->resolved_label), TRUE);
  gtk_button_set_label (self->send_button, _("Invite this ID"));

  self->resolved_handle = g_steal_pointer (&target);
  self->resolved_id = g_steal_pointer (&user_id);
}

static void
on_send_clicked (NatterAddContactDialog *self)
{
  g_autofree char *target = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->id_entry))));
  g_autofree char *note = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->note_entry))));
  g_autofree char *normalized = NULL;

  if (*target == '\0')
    return;

  /* Check what can be checked here before asking the server. */
  if (target[0] == '@')
    normalized = natter_handle_normalize (target, NULL);
  else
    normalized = natter_user_id_normalize (target, NULL);

  if (normalized == NULL)
    {
      set_error (self, target[0] == '@' ?
                 _("A handle is @ and 3 to 32 letters, digits, '_', '.' or '-'.") :
                 _("This is not a valid Natter ID. Check it for typos, or start a handle with @."));
      gtk_widget_grab_focus (GTK_WIDGET (self->id_entry));
      return;
    }

  if (target[0] != '@' && g_strcmp0 (normalized, natter_client_get_user_id (self->client)) == 0)
    {
      set_error (self, _("That is your own ID."));
      return;
    }

  set_error (self, NULL);
  set_busy (self, TRUE);

  if (target[0] == '@' && g_strcmp0 (self->resolved_handle, target) != 0)
    {
      /* First say whom the handle stands for */
      natter_client_lookup_handle_async (self->client, target, self->cancellable, on_looked_up,
                                         g_object_ref (self));
      return;
    }

  /* The ID that was shown, not the handle again */
  natter_client_invite_async (self->client, target[0] == '@' ? self->resolved_id : target, note,
                              self->cancellable, on_invited, g_object_ref (self));
}

static void
on_copy_clicked (NatterAddContactDialog *self)
{
  gdk_clipboard_set_text (gtk_widget_get_clipboard (GTK_WIDGET (self)),
                          natter_client_get_user_id (self->client));
}

static void
natter_add_contact_dialog_dispose (GObject *object)
{
  NatterAddContactDialog *self = NATTER_ADD_CONTACT_DIALOG (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->client);

  gtk_widget_dispose_template (GTK_WIDGET (self), NATTER_TYPE_ADD_CONTACT_DIALOG);

  G_OBJECT_CLASS (natter_add_contact_dialog_parent_class)->dispose (object);
}

static void
natter_add_contact_dialog_finalize (GObject *object)
{
  NatterAddContactDialog *self = NATTER_ADD_CONTACT_DIALOG (object);

  g_clear_object (&self->cancellable);
  g_free (self->resolved_handle);
  g_free (self->resolved_id);

  G_OBJECT_CLASS (natter_add_contact_dialog_parent_class)->finalize (object);
}

static void
natter_add_contact_dialog_class_init (NatterAddContactDialogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = natter_add_contact_dialog_dispose;
  object_class->finalize = natter_add_contact_dialog_finalize;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/natter/Natter/ui/natter-add-contact-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, NatterAddContactDialog, id_entry);
  gtk_widget_class_bind_template_child (widget_class, NatterAddContactDialog, note_entry);
  gtk_widget_class_bind_template_child (widget_class, NatterAddContactDialog, error_label);
  gtk_widget_class_bind_template_child (widget_class, NatterAddContactDialog, own_id_label);
  gtk_widget_class_bind_template_child (widget_class, NatterAddContactDialog, resolved_label);
  gtk_widget_class_bind_template_child (widget_class, NatterAddContactDialog, send_button);
  gtk_widget_class_bind_template_callback (widget_class, on_id_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_send_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_copy_clicked);

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
natter_add_contact_dialog_init (NatterAddContactDialog *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->cancellable = g_cancellable_new ();
  gtk_window_set_default_widget (GTK_WINDOW (self), GTK_WIDGET (self->send_button));
}

NatterAddContactDialog *
natter_add_contact_dialog_new (GtkWindow    *parent,
                               NatterClient *client)
{
  NatterAddContactDialog *self;
  g_autofree char *own_id = NULL;

  g_return_val_if_fail (NATTER_IS_CLIENT (client), NULL);

  self = g_object_new (NATTER_TYPE_ADD_CONTACT_DIALOG, "transient-for", parent, NULL);
  self->client = g_object_ref (client);
  own_id = natter_user_id_text_grouped (natter_client_get_user_id (client));
  gtk_label_set_text (self->own_id_label, own_id);
  gtk_window_set_focus (GTK_WINDOW (self), GTK_WIDGET (self->id_entry));
  return self;
}

/**
 * natter_add_contact_dialog_set_user_id:
 * @user_id: the ID to invite, as from a `natter:` link
 */
void
natter_add_contact_dialog_set_user_id (NatterAddContactDialog *self,
                                       const char             *user_id)
{
  g_return_if_fail (NATTER_IS_ADD_CONTACT_DIALOG (self));
  g_return_if_fail (user_id != NULL);

  gtk_editable_set_text (GTK_EDITABLE (self->id_entry), user_id);
  gtk_window_set_focus (GTK_WINDOW (self), GTK_WIDGET (self->note_entry));
}
