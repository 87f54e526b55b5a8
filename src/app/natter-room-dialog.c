/* natter-room-dialog.c: meet people in a named room and invite them
 *
 * Joining sends room-join and lists the members; room-event keeps the list
 * current. Membership lasts while the dialog is open: closing it leaves.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "natter-room-dialog"

#include "config.h"

#include <glib/gi18n.h>

#include "natter-protocol.h"

#include "natter-room-dialog.h"

struct _NatterRoomDialog
{
  AdwWindow        parent_instance;

  AdwToastOverlay *toast_overlay;
  GtkEntry        *room_entry;
  GtkButton       *join_button;
  GtkLabel        *error_label;
  AdwPreferencesGroup *members_group;
  GtkListBox      *members_list;

  NatterClient    *client;
  GCancellable    *cancellable;
  char            *room;
  char            *joining;   /* the room asked for, until the server answers */
  /* member ID -> row */
  GHashTable      *members;
};

G_DEFINE_FINAL_TYPE (NatterRoomDialog, natter_room_dialog, ADW_TYPE_WINDOW)

static void
set_error (NatterRoomDialog *self,
           const char       *message)
{
  gtk_label_set_text (self->error_label, message != NULL ? message : "");
  gtk_widget_set_visible (GTK_WIDGET (self->error_label), message != NULL);
}

static void
on_invited (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(NatterRoomDialog) self = user_data;
  g_autoptr(NatterInvitation) invitation = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *message = NULL;

  invitation = natter_client_invite_finish (NATTER_CLIENT (source), result, &error);
  if (invitation == NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  message = invitation != NULL ? g_strdup (_("Invitation sent")) :
                                 g_strdup_printf (_("Could not invite: %s"), error->message);
  adw_toast_overlay_add_toast (self->toast_overlay, adw_toast_new (message));
}

static void
on_invite_clicked (GtkButton        *button,
                   NatterRoomDialog *self)
{
  const char *member = g_object_get_data (G_OBJECT (button), "member");

  gtk_widget_set_sensitive (GTK_WIDGET (button), FALSE);
  natter_client_invite_async (self->client, member, NULL, self->cancellable, on_invited,
                              g_object_ref (self));
}

static void
add_member (NatterRoomDialog *self,
            const char       *member)
{
  g_autoptr(NatterContact) contact = NULL;
  g_autofree char *title = NULL;
  GtkWidget *row;

  if (member == NULL || g_hash_table_contains (self->members, member))
    return;

  row = adw_action_row_new ();
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  adw_preferences_row_set_title_selectable (ADW_PREFERENCES_ROW (row), TRUE);
  adw_action_row_set_title_lines (ADW_ACTION_ROW (row), 3);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), member);
  gtk_widget_add_css_class (row, "monospace");

  contact = natter_store_get_contact (natter_client_get_store (self->client), member, NULL);
  if (g_strcmp0 (member, natter_client_get_user_id (self->client)) == 0)
    {
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), _("You"));
    }
  else if (contact != NULL)
    {
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), natter_contact_get_name (contact) != NULL ?
                                   natter_contact_get_name (contact) : _("Contact"));
    }
  else
    {
      GtkWidget *button = gtk_button_new_with_label (_("Invite"));

      gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
      g_object_set_data_full (G_OBJECT (button), "member", g_strdup (member), g_free);
      g_signal_connect (button, "clicked", G_CALLBACK (on_invite_clicked), self);
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), button);
    }

  gtk_list_box_append (self->members_list, row);
  g_hash_table_insert (self->members, g_strdup (member), row);
}

static void
remove_member (NatterRoomDialog *self,
               const char       *member)
{
  GtkWidget *row = g_hash_table_lookup (self->members, member);

  if (row == NULL)
    return;

  gtk_list_box_remove (self->members_list, row);
  g_hash_table_remove (self->members, member);
}

static void
clear_members (NatterRoomDialog *self)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->members_list))) != NULL)
    gtk_list_box_remove (self->members_list, child);
  g_hash_table_remove_all (self->members);
}

static void
on_room_event (NatterClient     *client,
               const char       *room,
               const char       *user,
               gboolean          joined,
               NatterRoomDialog *self)
{
  if (g_strcmp0 (room, self->room) != 0)
    return;

  if (joined)
    add_member (self, user);
  else
    remove_member (self, user);
}

static void
leave_room (NatterRoomDialog *self)
{
  if (self->room == NULL || self->client == NULL)
    return;

  natter_client_leave_room (self->client, self->room);
  g_clear_pointer (&self->room, g_free);
}

static void
on_joined (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(NatterRoomDialog) self = user_data;
  g_auto(GStrv) members = NULL;
  g_autoptr(GError) error = NULL;

  members = natter_client_join_room_finish (NATTER_CLIENT (source), result, &error);
  if (members == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;

      gtk_widget_set_sensitive (GTK_WIDGET (self->join_button), TRUE);
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED))
        set_error (self, _("The server cannot be reached right now; try again once Natter is "
                           "connected."));
      else
        set_error (self, error->message);
      return;
    }

  clear_members (self);
  g_free (self->room);
  self->room = g_steal_pointer (&self->joining);
  for (guint i = 0; members[i] != NULL; i++)
    add_member (self, members[i]);

  gtk_widget_set_visible (GTK_WIDGET (self->members_group), TRUE);
  gtk_widget_set_sensitive (GTK_WIDGET (self->join_button), TRUE);
}

static void
on_room_changed (NatterRoomDialog *self)
{
  const char *room = gtk_editable_get_text (GTK_EDITABLE (self->room_entry));

  set_error (self, NULL);
  gtk_widget_set_sensitive (GTK_WIDGET (self->join_button), natter_room_name_is_valid (room));
}

static void
on_join_clicked (NatterRoomDialog *self)
{
  const char *room = gtk_editable_get_text (GTK_EDITABLE (self->room_entry));

  if (!natter_room_name_is_valid (room))
    {
      set_error (self, _("A room name is 1 to 64 characters"));
      return;
    }

  if (g_strcmp0 (room, self->room) == 0)
    return;

  leave_room (self);
  set_error (self, NULL);
  gtk_widget_set_sensitive (GTK_WIDGET (self->join_button), FALSE);

  g_free (self->joining);
  self->joining = g_strdup (room);
  natter_client_join_room_async (self->client, room, self->cancellable, on_joined,
                                 g_object_ref (self));
}

static void
natter_room_dialog_dispose (GObject *object)
{
  NatterRoomDialog *self = NATTER_ROOM_DIALOG (object);

  g_cancellable_cancel (self->cancellable);
  leave_room (self);
  if (self->client != NULL)
    g_signal_handlers_disconnect_by_data (self->client, self);
  g_clear_object (&self->client);

  gtk_widget_dispose_template (GTK_WIDGET (self), NATTER_TYPE_ROOM_DIALOG);

  G_OBJECT_CLASS (natter_room_dialog_parent_class)->dispose (object);
}

static void
natter_room_dialog_finalize (GObject *object)
{
  NatterRoomDialog *self = NATTER_ROOM_DIALOG (object);

  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->members, g_hash_table_unref);
  g_free (self->room);
  g_free (self->joining);

  G_OBJECT_CLASS (natter_room_dialog_parent_class)->finalize (object);
}

static void
natter_room_dialog_class_init (NatterRoomDialogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = natter_room_dialog_dispose;
  object_class->finalize = natter_room_dialog_finalize;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/natter/Natter/ui/natter-room-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, NatterRoomDialog, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, NatterRoomDialog, room_entry);
  gtk_widget_class_bind_template_child (widget_class, NatterRoomDialog, join_button);
  gtk_widget_class_bind_template_child (widget_class, NatterRoomDialog, error_label);
  gtk_widget_class_bind_template_child (widget_class, NatterRoomDialog, members_group);
  gtk_widget_class_bind_template_child (widget_class, NatterRoomDialog, members_list);
  gtk_widget_class_bind_template_callback (widget_class, on_room_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_join_clicked);

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
natter_room_dialog_init (NatterRoomDialog *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->cancellable = g_cancellable_new ();
  self->members = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  gtk_window_set_default_widget (GTK_WINDOW (self), GTK_WIDGET (self->join_button));
}

NatterRoomDialog *
natter_room_dialog_new (GtkWindow    *parent,
                        NatterClient *client)
{
  NatterRoomDialog *self;

  g_return_val_if_fail (NATTER_IS_CLIENT (client), NULL);

  self = g_object_new (NATTER_TYPE_ROOM_DIALOG, "transient-for", parent, NULL);
  self->client = g_object_ref (client);
  g_signal_connect (client, "room-event", G_CALLBACK (on_room_event), self);
  return self;
}
