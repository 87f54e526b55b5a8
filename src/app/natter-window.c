/* natter-window.c: the main window: contacts beside a conversation
 *
 * The window observes the application's client: until the profile is open
 * it shows the first-run page, a spinner or what went wrong; then the
 * contacts, pending invitations and the conversation view. The connection
 * state is always visible at the top of the sidebar.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "natter-window"

#include "config.h"

#include <glib/gi18n.h>

#include "natter-contact-list.h"

#include "natter-add-contact-dialog.h"
#include "natter-contact-row.h"
#include "natter-conversation-view.h"
#include "natter-first-run-page.h"
#include "natter-nearby-section.h"
#include "natter-profile-dialog.h"
#include "natter-room-dialog.h"
#include "natter-window.h"

#define ID_PREVIEW_LENGTH 12

struct _NatterWindow
{
  AdwApplicationWindow    parent_instance;

  /* Template widgets */
  AdwToastOverlay        *toast_overlay;
  GtkStack               *stack;
  NatterFirstRunPage     *first_run_page;
  AdwStatusPage          *error_page;
  AdwLeaflet             *leaflet;
  GtkWidget              *connection_bar;
  GtkLabel               *connection_label;
  GtkButton              *retry_button;
  GtkSearchEntry         *search_entry;
  GtkBox                 *invitations_box;
  GtkListBox             *invitations_list;
  NatterNearbySection    *nearby_section;
  GtkStack               *contacts_stack;
  GtkListView            *contacts_view;
  NatterConversationView *conversation_view;

  NatterApplication      *application;
  NatterClient           *client;
  NatterContactList      *contacts;
  GtkFilterListModel     *filtered;
  GtkStringFilter        *filter;
  GCancellable           *cancellable;
  /* The ID of a natter: link to show once the profile is open */
  char                   *pending_add_contact;

  /* Invitation ID -> GtkListBoxRow */
  GHashTable             *invitations;

  gint64                  retry_at;
  guint                   retry_tick;
  gulong                  first_frame_handler;
  gboolean                first_frame_reported;
};

G_DEFINE_FINAL_TYPE (NatterWindow, natter_window, ADW_TYPE_APPLICATION_WINDOW)

static void open_profile (NatterWindow *self);

/* Connection state */

static void
update_connection_state (NatterWindow *self)
{
  NatterSignaling *signaling;
  g_autofree char *text = NULL;
  const char *error;
  gboolean can_retry = FALSE;

  if (self->client == NULL)
    return;

  /* With the people nearby only, there is no server to be offline from */
  signaling = natter_client_get_signaling (self->client);
  gtk_widget_set_visible (self->connection_bar, signaling != NULL);
  if (signaling == NULL)
    return;
  error = natter_signaling_get_last_error (signaling);

  switch (natter_signaling_get_state (signaling))
    {
    case NATTER_SIGNALING_STATE_CONNECTING:
      text = g_strdup (_("Connecting to the server…"));
      break;

    case NATTER_SIGNALING_STATE_ONLINE:
      text = g_strdup (_("Connected"));
      break;

    case NATTER_SIGNALING_STATE_WAITING:
      {
        gint64 left = (self->retry_at - g_get_monotonic_time () + G_USEC_PER_SEC - 1) /
                      G_USEC_PER_SEC;

        /* Translators: shown while the server cannot be reached */
        text = g_strdup_printf (_("You’re offline, retrying in %d s"), (int) MAX (left, 0));
        can_retry = TRUE;
      }
      break;

    case NATTER_SIGNALING_STATE_REPLACED:
      text = g_strdup (_("This account is open in another window"));
      can_retry = TRUE;
      break;

    case NATTER_SIGNALING_STATE_OFFLINE:
    default:
      text = g_strdup (_("You’re offline"));
      can_retry = TRUE;
      break;
    }

  gtk_label_set_text (self->connection_label, text);
  /* GtkLabel names itself after its text: keep the name fixed, so screen
   * readers (and tests) find "Connection status" and read the state. */
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->connection_label),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Connection status"),
                                  GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, text,
                                  -1);
  /* The reason goes on the button: a tooltip would replace the label's
   * accessible description, which carries the state. */
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->retry_button), can_retry ? error : NULL);
  gtk_widget_set_visible (GTK_WIDGET (self->retry_button), can_retry);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.retry-connection", can_retry);

  /* Said only when something is wrong (or about to be right). The window
   * describes the state all the time, for screen readers (and tests). */
  gtk_widget_set_visible (self->connection_bar,
                          natter_signaling_get_state (signaling) != NATTER_SIGNALING_STATE_ONLINE);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, text,
                                  -1);
}

static gboolean
on_retry_tick (gpointer user_data)
{
  NatterWindow *self = user_data;

  update_connection_state (self);
  return G_SOURCE_CONTINUE;
}

static void
on_signaling_state (NatterWindow *self)
{
  NatterSignaling *signaling = natter_client_get_signaling (self->client);

  g_clear_handle_id (&self->retry_tick, g_source_remove);
  if (signaling != NULL &&
      natter_signaling_get_state (signaling) == NATTER_SIGNALING_STATE_WAITING)
    {
      self->retry_at = g_get_monotonic_time () +
                       (gint64) natter_signaling_get_retry_delay_ms (signaling) * 1000;
      self->retry_tick = g_timeout_add_seconds (1, on_retry_tick, self);
    }

  update_connection_state (self);
}

/* Invitations */

static void
remove_invitation (NatterWindow *self,
                   const char   *invitation_id)
{
  GtkWidget *row = g_hash_table_lookup (self->invitations, invitation_id);

  if (row == NULL)
    return;

  gtk_list_box_remove (self->invitations_list, row);
  g_hash_table_remove (self->invitations, invitation_id);
  gtk_widget_set_visible (GTK_WIDGET (self->invitations_box),
                          g_hash_table_size (self->invitations) > 0);
}

typedef struct
{
  NatterWindow *window;
  char         *invitation_id;
  char         *from;
  gboolean      accept;
  gboolean      block;
} AnswerData;

static void
answer_data_free (AnswerData *data)
{
  g_object_unref (data->window);
  g_free (data->invitation_id);
  g_free (data->from);
  g_free (data);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AnswerData, answer_data_free)

static void
on_invitation_answered (GObject      *source,
                        GAsyncResult *result,
                        gpointer      user_data)
{
  g_autoptr(AnswerData) data = user_data;
  g_autoptr(NatterInvitation) invitation = NULL;
  g_autoptr(GError) error = NULL;
  GtkWidget *row;

  invitation = natter_client_answer_invitation_finish (NATTER_CLIENT (source), result, &error);
  if (invitation == NULL)
    {
      g_autofree char *message = NULL;

      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;

      row = g_hash_table_lookup (data->window->invitations, data->invitation_id);
      if (row != NULL)
        gtk_widget_set_sensitive (row, TRUE);
      message = g_strdup_printf (_("Could not answer the invitation: %s"), error->message);
      natter_window_add_toast (data->window, message);
      return;
    }

  remove_invitation (data->window, data->invitation_id);

  /* Declined and blocked: a blocked contact's invitations are declined
   * without a word from now on. */
  if (data->block && data->from != NULL && data->window->client != NULL)
    {
      g_autoptr(NatterContact) contact = natter_client_add_contact (data->window->client,
                                                                    data->from, NULL, &error);

      if (contact == NULL ||
          !natter_client_set_blocked (data->window->client, data->from, TRUE, &error))
        {
          g_autofree char *message = g_strdup_printf (_("Could not block: %s"), error->message);

          natter_window_add_toast (data->window, message);
          return;
        }
      natter_window_add_toast (data->window, _("Invitation declined, sender blocked"));
    }
  else
    {
      natter_window_add_toast (data->window, data->accept ? _("Invitation accepted") :
                                                            _("Invitation declined"));
    }
  if (data->window->contacts != NULL)
    natter_contact_list_reload (data->window->contacts);
}

static void
answer_invitation (NatterWindow *self,
                   GtkWidget    *button,
                   gboolean      accept,
                   gboolean      block)
{
  GtkWidget *row = gtk_widget_get_ancestor (button, GTK_TYPE_LIST_BOX_ROW);
  const char *id = g_object_get_data (G_OBJECT (row), "invitation-id");
  AnswerData *data;

  if (self->client == NULL || id == NULL)
    return;

  gtk_widget_set_sensitive (row, FALSE);
  data = g_new0 (AnswerData, 1);
  data->window = g_object_ref (self);
  data->invitation_id = g_strdup (id);
  data->from = g_strdup (g_object_get_data (G_OBJECT (row), "invitation-from"));
  data->accept = accept;
  data->block = block;
  natter_client_answer_invitation_async (self->client, id, accept, self->cancellable,
                                         on_invitation_answered, data);
}

static void
on_accept_clicked (GtkButton *button,
                   gpointer   user_data)
{
  answer_invitation (NATTER_WINDOW (user_data), GTK_WIDGET (button), TRUE, FALSE);
}

static void
on_decline_clicked (GtkButton *button,
                    gpointer   user_data)
{
  answer_invitation (NATTER_WINDOW (user_data), GTK_WIDGET (button), FALSE, FALSE);
}

static void
on_block_clicked (GtkButton *button,
                  gpointer   user_data)
{
  answer_invitation (NATTER_WINDOW (user_data), GTK_WIDGET (button), FALSE, TRUE);
}

static GtkWidget *
invitation_button_new (NatterWindow *self,
                       const char   *label,
                       GCallback     callback)
{
  GtkWidget *button = gtk_button_new_with_label (label);

  gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
  g_signal_connect (button, "clicked", callback, self);
  return button;
}

static void
on_invitation_received (NatterClient     *client,
                        NatterInvitation *invitation,
                        gpointer          user_data)
{
  NatterWindow *self = user_data;
  const char *id = natter_invitation_get_id (invitation);
  const char *from = natter_invitation_get_from (invitation);
  const char *text = natter_invitation_get_text (invitation);
  g_autofree char *title = NULL;
  GtkWidget *row;
  GtkWidget *accept;
  GtkWidget *block;

  if (text == NULL)
    text = "";

  /* The server repeats pending invitations after every reconnection. */
  if (g_hash_table_contains (self->invitations, id))
    return;

  /* A stranger's name for themselves: always beside the start of their ID */
  if (natter_invitation_get_from_name (invitation) != NULL)
    title = g_strdup_printf (C_("invitation from", "%s · %.*s…"),
                             natter_invitation_get_from_name (invitation), ID_PREVIEW_LENGTH,
                             from);
  else
    title = g_strdup_printf ("%.*s…", ID_PREVIEW_LENGTH, from);
  row = adw_action_row_new ();
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), text);
  adw_action_row_set_subtitle_lines (ADW_ACTION_ROW (row), 3);
  gtk_widget_set_tooltip_text (row, from);
  accept = invitation_button_new (self, _("Accept"), G_CALLBACK (on_accept_clicked));
  gtk_widget_add_css_class (accept, "suggested-action");
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), accept);
  adw_action_row_add_suffix (ADW_ACTION_ROW (row),
                             invitation_button_new (self, _("Decline"),
                                                    G_CALLBACK (on_decline_clicked)));
  /* An icon, so that three answers fit the sidebar */
  block = invitation_button_new (self, NULL, G_CALLBACK (on_block_clicked));
  gtk_button_set_icon_name (GTK_BUTTON (block), "action-unavailable-symbolic");
  gtk_widget_set_tooltip_text (block, _("Decline and Block"));
  gtk_accessible_update_property (GTK_ACCESSIBLE (block), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("Decline and Block"), -1);
  gtk_widget_add_css_class (block, "flat");
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), block);
  g_object_set_data_full (G_OBJECT (row), "invitation-id", g_strdup (id), g_free);
  g_object_set_data_full (G_OBJECT (row), "invitation-from", g_strdup (from), g_free);

  gtk_list_box_append (self->invitations_list, row);
  g_hash_table_insert (self->invitations, g_strdup (id), row);
  gtk_widget_set_visible (GTK_WIDGET (self->invitations_box), TRUE);
}

static void
on_invitation_answer (NatterClient     *client,
                      NatterInvitation *invitation,
                      gpointer          user_data)
{
  NatterWindow *self = user_data;
  NatterInvitationStatus status = natter_invitation_get_status (invitation);
  const char *to = natter_invitation_get_to (invitation);
  g_autofree char *message = NULL;

  if (status == NATTER_INVITATION_STATUS_ACCEPTED)
    message = g_strdup_printf (_("%.12s… accepted your invitation"), to);
  else if (status == NATTER_INVITATION_STATUS_DECLINED)
    message = g_strdup_printf (_("%.12s… declined your invitation"), to);

  if (message != NULL)
    natter_window_add_toast (self, message);
  if (self->contacts != NULL)
    natter_contact_list_reload (self->contacts);
}

/* Contacts */

static void
update_contacts_page (NatterWindow *self)
{
  gboolean empty = self->contacts == NULL ||
                   g_list_model_get_n_items (G_LIST_MODEL (self->contacts)) == 0;

  gtk_stack_set_visible_child_name (self->contacts_stack, empty ? "empty" : "contacts");
}

static void
on_setup_contact_row (GtkSignalListItemFactory *factory,
                      GtkListItem              *item,
                      gpointer                  user_data)
{
  gtk_list_item_set_child (item, GTK_WIDGET (natter_contact_row_new ()));
}

static void
on_bind_contact_row (GtkSignalListItemFactory *factory,
                     GtkListItem              *item,
                     gpointer                  user_data)
{
  NatterWindow *self = user_data;

  natter_contact_row_bind (NATTER_CONTACT_ROW (gtk_list_item_get_child (item)),
                           self->client, gtk_list_item_get_item (item));
}

static void
on_unbind_contact_row (GtkSignalListItemFactory *factory,
                       GtkListItem              *item,
                       gpointer                  user_data)
{
  natter_contact_row_bind (NATTER_CONTACT_ROW (gtk_list_item_get_child (item)), NULL, NULL);
}

static void
on_search_changed (NatterWindow *self)
{
  gtk_string_filter_set_search (self->filter,
                                gtk_editable_get_text (GTK_EDITABLE (self->search_entry)));
}

static void
on_contact_activated (GtkListView *view,
                      guint        position,
                      gpointer     user_data)
{
  NatterWindow *self = NATTER_WINDOW (user_data);
  g_autoptr(NatterContact) contact = g_list_model_get_item (G_LIST_MODEL (self->filtered),
                                                            position);

  if (contact != NULL)
    natter_window_open_conversation (self, natter_contact_get_user_id (contact));
}

/* The client */

static void show_add_contact_for (NatterWindow *self,
                                  const char   *user_id);

static void
set_client (NatterWindow *self,
            NatterClient *client)
{
  g_autoptr(GtkNoSelection) selection = NULL;

  if (self->client == client)
    return;

  if (self->client != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->client, self);
      if (natter_client_get_signaling (self->client) != NULL)
        g_signal_handlers_disconnect_by_data (natter_client_get_signaling (self->client), self);
    }

  g_clear_handle_id (&self->retry_tick, g_source_remove);
  g_set_object (&self->client, client);
  natter_conversation_view_set_client (self->conversation_view, client);
  natter_nearby_section_set_client (self->nearby_section, client);
  gtk_list_view_set_model (self->contacts_view, NULL);
  g_clear_object (&self->filtered);
  if (self->contacts != NULL)
    g_signal_handlers_disconnect_by_data (self->contacts, self);
  g_clear_object (&self->contacts);

  if (client == NULL)
    return;

  self->contacts = natter_contact_list_new (client);
  g_signal_connect_swapped (self->contacts, "items-changed", G_CALLBACK (update_contacts_page),
                            self);
  self->filtered = gtk_filter_list_model_new (g_object_ref (G_LIST_MODEL (self->contacts)),
                                              g_object_ref (GTK_FILTER (self->filter)));
  selection = gtk_no_selection_new (g_object_ref (G_LIST_MODEL (self->filtered)));
  gtk_list_view_set_model (self->contacts_view, GTK_SELECTION_MODEL (selection));
  update_contacts_page (self);

  g_signal_connect (client, "invitation-received", G_CALLBACK (on_invitation_received), self);
  g_signal_connect (client, "invitation-answered", G_CALLBACK (on_invitation_answer), self);
  if (natter_client_get_signaling (client) != NULL)
    g_signal_connect_swapped (natter_client_get_signaling (client), "notify::state",
                              G_CALLBACK (on_signaling_state), self);
  on_signaling_state (self);

  gtk_stack_set_visible_child_name (self->stack, "main");

  /* A natter: link that came before the profile was open */
  if (self->pending_add_contact != NULL)
    {
      g_autofree char *user_id = g_steal_pointer (&self->pending_add_contact);

      show_add_contact_for (self, user_id);
    }
}

static void
on_application_client (NatterWindow *self)
{
  set_client (self, natter_application_get_client (self->application));
}

/* Opening the profile */

/* What to do about an error in the app's words. For a missing or locked
 * keyring these replace the core's message, which says the same for
 * natter-cli (--identity-file included); other messages keep their detail. */
static const char *
explain_error (const GError *error,
               gboolean     *replaces_message)
{
  *replaces_message = TRUE;

  if (g_error_matches (error, NATTER_IDENTITY_ERROR, NATTER_IDENTITY_ERROR_NO_SECRET_SERVICE))
    return _("Natter keeps your identity key in the keyring, but no keyring service is running. "
             "Install and start GNOME Keyring (or another Secret Service), then try again.");

  if (g_error_matches (error, NATTER_IDENTITY_ERROR, NATTER_IDENTITY_ERROR_LOCKED))
    return _("Your keyring is locked. Unlock it (for example in Passwords and Keys), "
             "then try again.");

  if (g_error_matches (error, NATTER_IDENTITY_ERROR, NATTER_IDENTITY_ERROR_NO_ANSWER))
    return _("Your keyring did not answer. Natter keeps your identity key there, so it cannot "
             "go on without it. The keyring may be stuck or waiting for a password: log out "
             "and back in (or restart GNOME Keyring), then try again.");

  /* The service's own words are for the log: they name D-Bus interfaces */
  if (g_error_matches (error, NATTER_IDENTITY_ERROR, NATTER_IDENTITY_ERROR_FAILED))
    {
      g_message ("The keyring failed: %s", error->message);
      return _("Natter keeps your identity key in the keyring, and the keyring failed. Check "
               "that your keyring (such as GNOME Keyring) is set up and unlocked, then try "
               "again.");
    }

  *replaces_message = FALSE;
  return NULL;
}

static void
show_open_error (NatterWindow *self,
                 const GError *error,
                 gboolean      first_run)
{
  gboolean replaces_message;
  const char *hint = explain_error (error, &replaces_message);
  g_autofree char *text = NULL;

  if (hint == NULL)
    text = g_strdup (error->message);
  else if (replaces_message)
    text = g_strdup (hint);
  else
    text = g_strdup_printf ("%s\n\n%s", error->message, hint);

  if (first_run)
    {
      natter_first_run_page_set_busy (self->first_run_page, FALSE);
      /* The keyring is not the server: said at the top, the address left alone */
      if (error->domain == NATTER_IDENTITY_ERROR)
        natter_first_run_page_set_problem (self->first_run_page, text);
      else
        natter_first_run_page_set_error (self->first_run_page, text);
      return;
    }

  adw_status_page_set_description (self->error_page, text);
  gtk_stack_set_visible_child_name (self->stack, "error");
}

static void
on_opened (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(NatterWindow) self = user_data;
  g_autoptr(GError) error = NULL;
  gboolean first_run = g_str_equal (gtk_stack_get_visible_child_name (self->stack), "first-run");

  if (!natter_application_open_finish (NATTER_APPLICATION (source), result, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        show_open_error (self, error, first_run);
      return;
    }

  on_application_client (self);
}

static void
on_first_run_submitted (NatterFirstRunPage *page,
                        const char         *name,
                        const char         *server_url,
                        gpointer            user_data)
{
  NatterWindow *self = NATTER_WINDOW (user_data);

  g_autoptr(GError) error = NULL;

  /* No server: the people nearby only */
  if (server_url == NULL && !natter_application_set_nearby_only (self->application, &error))
    {
      show_open_error (self, error, TRUE);
      return;
    }

  natter_first_run_page_set_busy (page, TRUE);
  natter_application_open_async (self->application, name, server_url, self->cancellable,
                                 on_opened, g_object_ref (self));
}

static void
open_profile (NatterWindow *self)
{
  g_autofree char *server = natter_application_dup_server_url (self->application);

  if (natter_application_get_client (self->application) != NULL)
    {
      on_application_client (self);
      return;
    }

  if (server == NULL && !natter_application_get_nearby_only (self->application))
    {
      GSettings *settings = natter_application_get_settings (self->application);
      g_autofree char *suggested = NULL;

      /* A server chosen for the desktop (or by a distribution) fills the entry. */
      if (settings != NULL)
        suggested = g_settings_get_string (settings, "server-url");
      if (suggested != NULL && *suggested != '\0')
        natter_first_run_page_set_values (self->first_run_page, NULL, suggested);

      gtk_stack_set_visible_child_name (self->stack, "first-run");
      return;
    }

  gtk_stack_set_visible_child_name (self->stack, "loading");
  natter_application_open_async (self->application, NULL, NULL, self->cancellable, on_opened,
                                 g_object_ref (self));
}

/* Actions */

static void
add_contact_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  NatterWindow *self = NATTER_WINDOW (widget);

  if (self->client == NULL)
    return;

  gtk_window_present (GTK_WINDOW (natter_add_contact_dialog_new (GTK_WINDOW (self),
                                                                 self->client)));
}

static void
show_add_contact_for (NatterWindow *self,
                      const char   *user_id)
{
  NatterAddContactDialog *dialog = natter_add_contact_dialog_new (GTK_WINDOW (self), self->client);

  natter_add_contact_dialog_set_user_id (dialog, user_id);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
join_room_action (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  NatterWindow *self = NATTER_WINDOW (widget);

  if (self->client == NULL)
    return;

  gtk_window_present (GTK_WINDOW (natter_room_dialog_new (GTK_WINDOW (self), self->client)));
}

static void
profile_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  NatterWindow *self = NATTER_WINDOW (widget);

  if (self->client == NULL)
    return;

  gtk_window_present (GTK_WINDOW (natter_profile_dialog_new (GTK_WINDOW (self),
                                                             self->application)));
}

static void
retry_connection_action (GtkWidget  *widget,
                         const char *action_name,
                         GVariant   *parameter)
{
  NatterWindow *self = NATTER_WINDOW (widget);

  if (self->client != NULL)
    natter_signaling_reconnect_now (natter_client_get_signaling (self->client));
}

static void
search_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  NatterWindow *self = NATTER_WINDOW (widget);

  if (!natter_conversation_view_start_search (self->conversation_view))
    gtk_widget_grab_focus (GTK_WIDGET (self->search_entry));
}

static void
show_sidebar_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *parameter)
{
  NatterWindow *self = NATTER_WINDOW (widget);

  adw_leaflet_navigate (self->leaflet, ADW_NAVIGATION_DIRECTION_BACK);
}

static void
open_profile_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *parameter)
{
  open_profile (NATTER_WINDOW (widget));
}

/* Switching conversations from the keyboard */

static void
open_contact_at (NatterWindow *self,
                 guint         position)
{
  g_autoptr(NatterContact) contact = NULL;

  if (self->filtered == NULL ||
      position >= g_list_model_get_n_items (G_LIST_MODEL (self->filtered)))
    return;

  contact = g_list_model_get_item (G_LIST_MODEL (self->filtered), position);
  natter_window_open_conversation (self, natter_contact_get_user_id (contact));
}

/* Ctrl+Page Up and Ctrl+Page Down: the conversation above or below the
 * open one in the sidebar, wrapping around. */
static void
step_conversation_action (GtkWidget  *widget,
                          const char *action_name,
                          GVariant   *parameter)
{
  NatterWindow *self = NATTER_WINDOW (widget);
  const char *open_id = natter_conversation_view_get_contact_id (self->conversation_view);
  int step = g_variant_get_int32 (parameter);
  guint n_items;
  guint current = G_MAXUINT;

  if (self->filtered == NULL ||
      (n_items = g_list_model_get_n_items (G_LIST_MODEL (self->filtered))) == 0)
    return;

  for (guint i = 0; open_id != NULL && i < n_items; i++)
    {
      g_autoptr(NatterContact) contact = g_list_model_get_item (G_LIST_MODEL (self->filtered), i);

      if (g_strcmp0 (natter_contact_get_user_id (contact), open_id) == 0)
        current = i;
    }

  if (current == G_MAXUINT)
    open_contact_at (self, step > 0 ? 0 : n_items - 1);
  else
    open_contact_at (self, (current + n_items + (step > 0 ? 1 : n_items - 1)) % n_items);
}

/* Alt+1 to Alt+9: the first nine conversations of the sidebar. */
static void
open_conversation_number_action (GtkWidget  *widget,
                                 const char *action_name,
                                 GVariant   *parameter)
{
  open_contact_at (NATTER_WINDOW (widget), g_variant_get_int32 (parameter) - 1);
}

static void
add_window_shortcuts (NatterWindow *self)
{
  /* In the capture phase, so that the compose box's own Ctrl+Page Up and
   * Down (move by pages) do not take them. */
  GtkEventController *controller = gtk_shortcut_controller_new ();
  GtkShortcut *up = gtk_shortcut_new (gtk_keyval_trigger_new (GDK_KEY_Page_Up, GDK_CONTROL_MASK),
                                      gtk_named_action_new ("win.step-conversation"));
  GtkShortcut *down = gtk_shortcut_new (gtk_keyval_trigger_new (GDK_KEY_Page_Down,
                                                                GDK_CONTROL_MASK),
                                        gtk_named_action_new ("win.step-conversation"));

  gtk_event_controller_set_propagation_phase (controller, GTK_PHASE_CAPTURE);
  gtk_shortcut_set_arguments (up, g_variant_new_int32 (-1));
  gtk_shortcut_set_arguments (down, g_variant_new_int32 (1));
  gtk_shortcut_controller_add_shortcut (GTK_SHORTCUT_CONTROLLER (controller), up);
  gtk_shortcut_controller_add_shortcut (GTK_SHORTCUT_CONTROLLER (controller), down);
  for (int i = 1; i <= 9; i++)
    {
      GtkShortcut *shortcut = gtk_shortcut_new (gtk_keyval_trigger_new (GDK_KEY_0 + i,
                                                                        GDK_ALT_MASK),
                                                gtk_named_action_new ("win.open-conversation-number"));

      gtk_shortcut_set_arguments (shortcut, g_variant_new_int32 (i));
      gtk_shortcut_controller_add_shortcut (GTK_SHORTCUT_CONTROLLER (controller), shortcut);
    }
  gtk_widget_add_controller (GTK_WIDGET (self), controller);
}

/* Window */

/* Runs once the window knows its application (a GtkWindow property that
 * GObject sets only after constructed()). */
static void
setup (NatterWindow *self)
{
  GSettings *settings;

  self->application = NATTER_APPLICATION (gtk_window_get_application (GTK_WINDOW (self)));
  settings = natter_application_get_settings (self->application);
  if (settings != NULL)
    {
      gtk_window_set_default_size (GTK_WINDOW (self),
                                   g_settings_get_int (settings, "window-width"),
                                   g_settings_get_int (settings, "window-height"));
      if (g_settings_get_boolean (settings, "window-maximized"))
        gtk_window_maximize (GTK_WINDOW (self));
    }

  g_signal_connect_object (self->application, "notify::client",
                           G_CALLBACK (on_application_client), self, G_CONNECT_SWAPPED);
  open_profile (self);
}

/* The store tells no one about messages marked read: refresh the badges. */
static void
mark_read (NatterWindow *self)
{
  if (natter_conversation_view_mark_read (self->conversation_view) && self->contacts != NULL)
    natter_contact_list_reload (self->contacts);
}

static void
on_is_active (NatterWindow *self)
{
  if (gtk_window_is_active (GTK_WINDOW (self)))
    mark_read (self);
}

static void
on_after_paint (GdkFrameClock *clock,
                gpointer       user_data)
{
  NatterWindow *self = user_data;

  g_clear_signal_handler (&self->first_frame_handler, clock);
  self->first_frame_reported = TRUE;
  natter_application_report_timing (self->application, "first-frame-ms",
                                     natter_application_get_start_time (self->application));
}

static void
natter_window_realize (GtkWidget *widget)
{
  NatterWindow *self = NATTER_WINDOW (widget);

  GTK_WIDGET_CLASS (natter_window_parent_class)->realize (widget);

  if (natter_application_get_report_timing (self->application) && !self->first_frame_reported &&
      self->first_frame_handler == 0)
    self->first_frame_handler = g_signal_connect (gtk_widget_get_frame_clock (widget),
                                                  "after-paint", G_CALLBACK (on_after_paint),
                                                  self);
}

static void
natter_window_unrealize (GtkWidget *widget)
{
  NatterWindow *self = NATTER_WINDOW (widget);

  if (self->first_frame_handler != 0)
    g_clear_signal_handler (&self->first_frame_handler, gtk_widget_get_frame_clock (widget));

  GTK_WIDGET_CLASS (natter_window_parent_class)->unrealize (widget);
}

static gboolean
natter_window_close_request (GtkWindow *window)
{
  NatterWindow *self = NATTER_WINDOW (window);
  GSettings *settings = natter_application_get_settings (self->application);

  if (settings != NULL)
    {
      int width, height;

      gtk_window_get_default_size (window, &width, &height);
      g_settings_set_int (settings, "window-width", MAX (width, 200));
      g_settings_set_int (settings, "window-height", MAX (height, 200));
      g_settings_set_boolean (settings, "window-maximized", gtk_window_is_maximized (window));

      /* Stay online with the window hidden; activating shows it again. */
      if (self->client != NULL && g_settings_get_boolean (settings, "run-in-background"))
        {
          gtk_widget_set_visible (GTK_WIDGET (window), FALSE);
          return TRUE;
        }
    }

  return GTK_WINDOW_CLASS (natter_window_parent_class)->close_request (window);
}

static void
natter_window_dispose (GObject *object)
{
  NatterWindow *self = NATTER_WINDOW (object);

  g_cancellable_cancel (self->cancellable);
  set_client (self, NULL);
  g_clear_handle_id (&self->retry_tick, g_source_remove);

  gtk_widget_dispose_template (GTK_WIDGET (self), NATTER_TYPE_WINDOW);

  G_OBJECT_CLASS (natter_window_parent_class)->dispose (object);
}

static void
natter_window_finalize (GObject *object)
{
  NatterWindow *self = NATTER_WINDOW (object);

  g_clear_object (&self->cancellable);
  g_clear_object (&self->filter);
  g_clear_pointer (&self->pending_add_contact, g_free);
  g_clear_pointer (&self->invitations, g_hash_table_unref);

  G_OBJECT_CLASS (natter_window_parent_class)->finalize (object);
}

static void
natter_window_class_init (NatterWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->dispose = natter_window_dispose;
  object_class->finalize = natter_window_finalize;
  widget_class->realize = natter_window_realize;
  widget_class->unrealize = natter_window_unrealize;
  window_class->close_request = natter_window_close_request;

  g_type_ensure (NATTER_TYPE_FIRST_RUN_PAGE);
  g_type_ensure (NATTER_TYPE_CONVERSATION_VIEW);
  g_type_ensure (NATTER_TYPE_NEARBY_SECTION);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/natter/Natter/ui/natter-window.ui");
  gtk_widget_class_bind_template_child (widget_class, NatterWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, NatterWindow, stack);
  gtk_widget_class_bind_template_child (widget_class, NatterWindow, first_run_page);
  gtk_widget_class_bind_template_child (widget_class, NatterWindow, nearby_section);
  gtk_widget_class_bind_template_child (widget_class, NatterWindow, error_page);
  gtk_widget_class_bind_template_child (widget_class, NatterWindow, leaflet);
  gtk_widget_class_bind_template_child (widget_class, NatterWindow, connection_bar);
  gtk_widget_class_bind_template_child (widget_class, NatterWindow, connection_label);
  gtk_widget_class_bind_template_child (widget_class, NatterWindow, retry_button);
  gtk_widget_class_bind_template_child (widget_class, NatterWindow, search_entry);
  gtk_widget_class_bind_template_child (widget_class, NatterWindow, invitations_box);
  gtk_widget_class_bind_template_child (widget_class, NatterWindow, invitations_list);
  gtk_widget_class_bind_template_child (widget_class, NatterWindow, contacts_stack);
  gtk_widget_class_bind_template_child (widget_class, NatterWindow, contacts_view);
  gtk_widget_class_bind_template_child (widget_class, NatterWindow, conversation_view);
  gtk_widget_class_bind_template_callback (widget_class, on_first_run_submitted);
  gtk_widget_class_bind_template_callback (widget_class, on_search_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_contact_activated);

  gtk_widget_class_install_action (widget_class, "win.add-contact", NULL, add_contact_action);
  gtk_widget_class_install_action (widget_class, "win.join-room", NULL, join_room_action);
  gtk_widget_class_install_action (widget_class, "win.profile", NULL, profile_action);
  gtk_widget_class_install_action (widget_class, "win.retry-connection", NULL,
                                   retry_connection_action);
  gtk_widget_class_install_action (widget_class, "win.search", NULL, search_action);
  gtk_widget_class_install_action (widget_class, "win.show-sidebar", NULL, show_sidebar_action);
  gtk_widget_class_install_action (widget_class, "win.open-profile", NULL, open_profile_action);
  gtk_widget_class_install_action (widget_class, "win.step-conversation", "i",
                                   step_conversation_action);
  gtk_widget_class_install_action (widget_class, "win.open-conversation-number", "i",
                                   open_conversation_number_action);

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_n, GDK_CONTROL_MASK,
                                       "win.add-contact", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_f, GDK_CONTROL_MASK,
                                       "win.search", NULL);
}

static void
natter_window_init (NatterWindow *self)
{
  g_autoptr(GtkListItemFactory) factory = gtk_signal_list_item_factory_new ();

  gtk_widget_init_template (GTK_WIDGET (self));

  if (g_str_equal (PROFILE, "development"))
    gtk_widget_add_css_class (GTK_WIDGET (self), "devel");

  self->cancellable = g_cancellable_new ();
  self->invitations = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->filter = gtk_string_filter_new (gtk_property_expression_new (NATTER_TYPE_CONTACT, NULL,
                                                                     "name"));
  gtk_string_filter_set_match_mode (self->filter, GTK_STRING_FILTER_MATCH_MODE_SUBSTRING);
  gtk_string_filter_set_ignore_case (self->filter, TRUE);

  g_signal_connect (factory, "setup", G_CALLBACK (on_setup_contact_row), self);
  g_signal_connect (factory, "bind", G_CALLBACK (on_bind_contact_row), self);
  g_signal_connect (factory, "unbind", G_CALLBACK (on_unbind_contact_row), self);
  gtk_list_view_set_factory (self->contacts_view, factory);

  g_signal_connect_swapped (self, "notify::is-active", G_CALLBACK (on_is_active), self);
  add_window_shortcuts (self);
}

NatterWindow *
natter_window_new (NatterApplication *application)
{
  NatterWindow *self;

  g_return_val_if_fail (NATTER_IS_APPLICATION (application), NULL);

  self = g_object_new (NATTER_TYPE_WINDOW, "application", application, NULL);
  setup (self);
  return self;
}

/**
 * natter_window_open_conversation:
 * @contact_id: the contact's user ID
 *
 * Shows the conversation with @contact_id.
 */
void
natter_window_open_conversation (NatterWindow *self,
                                 const char   *contact_id)
{
  g_return_if_fail (NATTER_IS_WINDOW (self));
  g_return_if_fail (contact_id != NULL);

  if (self->client == NULL)
    return;

  natter_conversation_view_open (self->conversation_view, contact_id);
  adw_leaflet_set_visible_child (self->leaflet, GTK_WIDGET (self->conversation_view));
  mark_read (self);
}

void
natter_window_add_toast (NatterWindow *self,
                         const char   *message)
{
  g_return_if_fail (NATTER_IS_WINDOW (self));

  adw_toast_overlay_add_toast (self->toast_overlay, adw_toast_new (message));
}

/**
 * natter_window_add_notice:
 * @message: what the user must know, in words
 * @button_label: (nullable): a button on the notice
 * @action_name: (nullable): the action the button activates
 *
 * Like a toast, but it stays until it is dismissed: for problems such as a
 * full disk or a damaged history.
 */
void
natter_window_add_notice (NatterWindow *self,
                          const char   *message,
                          const char   *button_label,
                          const char   *action_name)
{
  AdwToast *toast;

  g_return_if_fail (NATTER_IS_WINDOW (self));

  toast = adw_toast_new (message);
  adw_toast_set_timeout (toast, 0);
  adw_toast_set_priority (toast, ADW_TOAST_PRIORITY_HIGH);
  if (button_label != NULL && action_name != NULL)
    {
      adw_toast_set_button_label (toast, button_label);
      adw_toast_set_action_name (toast, action_name);
    }
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

/**
 * natter_window_add_contact:
 * @user_id: a valid Natter ID, as from a `natter:` link
 *
 * Opens the add-contact dialog with @user_id filled in, or the
 * conversation if @user_id is a contact already.
 */
void
natter_window_add_contact (NatterWindow *self,
                           const char   *user_id)
{
  g_autoptr(NatterContact) contact = NULL;

  g_return_if_fail (NATTER_IS_WINDOW (self));
  g_return_if_fail (user_id != NULL);

  if (self->client == NULL)
    {
      g_free (self->pending_add_contact);
      self->pending_add_contact = g_strdup (user_id);
      return;
    }

  contact = natter_store_get_contact (natter_client_get_store (self->client), user_id, NULL);
  if (contact != NULL)
    natter_window_open_conversation (self, user_id);
  else if (g_strcmp0 (user_id, natter_client_get_user_id (self->client)) == 0)
    natter_window_add_toast (self, _("That link is to your own Natter ID"));
  else
    show_add_contact_for (self, user_id);
}
