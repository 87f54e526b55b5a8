/* natter-cli-listen.c: listen: staying online and printing events as JSON lines
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "natter-cli"

#include "config.h"

#include <signal.h>

#include <glib/gi18n.h>
#include <glib-unix.h>

#include "natter-cli-private.h"
#include "natter-json.h"

static void
on_listen_message (NatterClient  *client,
                   NatterMessage *message,
                   gpointer       user_data)
{
  Cli *cli = user_data;
  g_autoptr(JsonObject) event = NULL;

  if (natter_message_get_direction (message) != NATTER_MESSAGE_DIRECTION_IN)
    return;

  event = natter_cli_event_new ("message");
  json_object_set_string_member (event, "from", natter_message_get_contact_id (message));
  json_object_set_string_member (event, "id", natter_message_get_id (message));
  json_object_set_string_member (event, "body", natter_message_get_body (message));
  json_object_set_int_member (event, "ts", natter_message_get_timestamp (message) / 1000);
  if (natter_message_get_reply_to (message) != NULL)
    json_object_set_string_member (event, "reply_to", natter_message_get_reply_to (message));
  natter_cli_print_event (event);

  if (cli->mark_read)
    natter_client_mark_read (client, natter_message_get_contact_id (message), NULL);
}

static void
on_listen_status (NatterClient        *client,
                  const char          *contact_id,
                  const char          *message_id,
                  NatterMessageStatus  status,
                  gpointer             user_data)
{
  g_autoptr(JsonObject) event = natter_cli_event_new ("receipt");

  json_object_set_string_member (event, "contact", contact_id);
  json_object_set_string_member (event, "id", message_id);
  json_object_set_string_member (event, "status", natter_message_status_to_string (status));
  natter_cli_print_event (event);
}

static void
on_listen_typing (NatterClient *client,
                  const char   *contact_id,
                  gboolean      active,
                  gpointer      user_data)
{
  g_autoptr(JsonObject) event = natter_cli_event_new ("typing");

  json_object_set_string_member (event, "contact", contact_id);
  json_object_set_boolean_member (event, "active", active);
  natter_cli_print_event (event);
}

static void
on_listen_presence (NatterClient *client,
                    const char   *contact_id,
                    gboolean      online,
                    gpointer      user_data)
{
  g_autoptr(JsonObject) event = natter_cli_event_new ("presence");

  json_object_set_string_member (event, "contact", contact_id);
  json_object_set_boolean_member (event, "online", online);
  natter_cli_print_event (event);
}

static void
on_listen_peer_state (NatterClient    *client,
                      const char      *contact_id,
                      NatterPeerState  state,
                      gpointer         user_data)
{
  g_autoptr(JsonObject) event = natter_cli_event_new ("peer");
  g_autoptr(GEnumClass) klass = g_type_class_ref (NATTER_TYPE_PEER_STATE);
  GEnumValue *value = g_enum_get_value (klass, state);

  json_object_set_string_member (event, "contact", contact_id);
  json_object_set_string_member (event, "state", value != NULL ? value->value_nick : "unknown");
  natter_cli_print_event (event);
}

static void
on_listen_trust_failure (NatterClient *client,
                         const char   *contact_id,
                         gpointer      user_data)
{
  g_autoptr(JsonObject) event = natter_cli_event_new ("trust-failure");

  json_object_set_string_member (event, "contact", contact_id);
  natter_cli_print_event (event);
}

static void
on_listen_refused (NatterClient *client,
                   const char   *contact_id,
                   const char   *message_id,
                   const char   *reason,
                   gpointer      user_data)
{
  g_autoptr(JsonObject) event = natter_cli_event_new ("refused");

  json_object_set_string_member (event, "contact", contact_id);
  json_object_set_string_member (event, "id", message_id);
  json_object_set_string_member (event, "reason", reason);
  natter_cli_print_event (event);
}

static void
on_listen_store_failed (NatterClient *client,
                        const GError *error,
                        gpointer      user_data)
{
  g_autoptr(JsonObject) event = natter_cli_event_new ("store-failed");

  json_object_set_boolean_member (event, "disk_full",
                                  g_error_matches (error, NATTER_STORE_ERROR,
                                                   NATTER_STORE_ERROR_DISK_FULL));
  json_object_set_string_member (event, "error", error->message);
  natter_cli_print_event (event);
}

static void
on_listen_store_damaged (GObject    *store,
                         GParamSpec *pspec,
                         gpointer    user_data)
{
  g_autoptr(JsonObject) event = NULL;

  if (!natter_store_get_damaged (NATTER_STORE (store)))
    return;

  event = natter_cli_event_new ("store-damaged");
  json_object_set_string_member (event, "path", natter_store_get_path (NATTER_STORE (store)));
  natter_cli_print_event (event);
}

static void
on_listen_contact (NatterClient *client,
                   const char   *contact_id,
                   gpointer      user_data)
{
  g_autoptr(JsonObject) event = natter_cli_event_new ("contact");
  g_autoptr(NatterContact) contact = natter_store_get_contact (natter_client_get_store (client),
                                                               contact_id, NULL);

  json_object_set_string_member (event, "contact", contact_id);
  if (contact != NULL && natter_contact_get_name (contact) != NULL)
    json_object_set_string_member (event, "name", natter_contact_get_name (contact));
  natter_cli_print_event (event);
}

static void
on_answer_done (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(NatterInvitation) invitation = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) event = NULL;

  invitation = natter_client_answer_invitation_finish (NATTER_CLIENT (source), result, &error);
  if (invitation == NULL)
    {
      g_printerr ("natter-cli: could not accept an invitation: %s\n", error->message);
      return;
    }

  event = natter_cli_event_new ("invitation-accepted");
  json_object_set_object_member (event, "invitation", natter_invitation_to_json (invitation));
  natter_cli_print_event (event);
}

static void
on_listen_invitation (NatterClient     *client,
                      NatterInvitation *invitation,
                      gpointer          user_data)
{
  Cli *cli = user_data;
  g_autoptr(JsonObject) event = natter_cli_event_new ("invitation");

  json_object_set_object_member (event, "invitation", natter_invitation_to_json (invitation));
  natter_cli_print_event (event);

  if (cli->auto_accept)
    natter_client_answer_invitation_async (client, natter_invitation_get_id (invitation), TRUE,
                                           NULL, on_answer_done, cli);
}

static void
on_listen_invitation_answer (NatterClient     *client,
                             NatterInvitation *invitation,
                             gpointer          user_data)
{
  g_autoptr(JsonObject) event = natter_cli_event_new ("invitation-answer");

  json_object_set_object_member (event, "invitation", natter_invitation_to_json (invitation));
  natter_cli_print_event (event);
}

static void
on_listen_room (NatterClient *client,
                const char   *room,
                const char   *user,
                gboolean      joined,
                gpointer      user_data)
{
  g_autoptr(JsonObject) event = natter_cli_event_new (joined ? "room-member-joined" :
                                                                "room-member-left");

  json_object_set_string_member (event, "room", room);
  json_object_set_string_member (event, "user", user);
  natter_cli_print_event (event);
}

static void
on_listen_server_state (GObject    *object,
                        GParamSpec *pspec,
                        gpointer    user_data)
{
  NatterSignaling *signaling = NATTER_SIGNALING (object);
  g_autoptr(JsonObject) event = natter_cli_event_new ("server");
  g_autoptr(GEnumClass) klass = g_type_class_ref (NATTER_TYPE_SIGNALING_STATE);
  GEnumValue *value = g_enum_get_value (klass, natter_signaling_get_state (signaling));

  json_object_set_string_member (event, "state", value != NULL ? value->value_nick : "unknown");
  if (natter_signaling_get_last_error (signaling) != NULL)
    json_object_set_string_member (event, "error", natter_signaling_get_last_error (signaling));
  natter_cli_print_event (event);
}

void
natter_cli_connect_listeners (Cli *cli)
{
  g_signal_connect (cli->client, "message-added", G_CALLBACK (on_listen_message), cli);
  g_signal_connect (cli->client, "message-status-changed", G_CALLBACK (on_listen_status), cli);
  g_signal_connect (cli->client, "typing-changed", G_CALLBACK (on_listen_typing), cli);
  g_signal_connect (cli->client, "presence-changed", G_CALLBACK (on_listen_presence), cli);
  g_signal_connect (cli->client, "peer-state-changed", G_CALLBACK (on_listen_peer_state), cli);
  g_signal_connect (cli->client, "trust-failure", G_CALLBACK (on_listen_trust_failure), cli);
  g_signal_connect (cli->client, "contact-changed", G_CALLBACK (on_listen_contact), cli);
  g_signal_connect (cli->client, "invitation-received", G_CALLBACK (on_listen_invitation), cli);
  g_signal_connect (cli->client, "invitation-answered", G_CALLBACK (on_listen_invitation_answer),
                    cli);
  g_signal_connect (cli->client, "room-event", G_CALLBACK (on_listen_room), cli);
  g_signal_connect (cli->client, "message-refused", G_CALLBACK (on_listen_refused), cli);
  g_signal_connect (cli->client, "store-failed", G_CALLBACK (on_listen_store_failed), cli);
  g_signal_connect (cli->store, "notify::damaged", G_CALLBACK (on_listen_store_damaged), cli);
  if (natter_client_get_signaling (cli->client) != NULL)
    g_signal_connect (natter_client_get_signaling (cli->client), "notify::state",
                      G_CALLBACK (on_listen_server_state), cli);
  natter_cli_connect_nearby_listeners (cli);
}

static gboolean
on_quit_signal (gpointer user_data)
{
  Cli *cli = user_data;

  g_main_loop_quit (cli->loop);
  return G_SOURCE_REMOVE;
}

void
natter_cli_run_forever (Cli *cli)
{
  cli->loop = g_main_loop_new (NULL, FALSE);
  g_unix_signal_add (SIGINT, on_quit_signal, cli);
  g_unix_signal_add (SIGTERM, on_quit_signal, cli);
  g_main_loop_run (cli->loop);
}

static void
on_backup_failed (NatterProfile *profile,
                  const GError  *error,
                  gpointer       user_data)
{
  g_printerr (_("natter-cli: could not back up the history: %s\n"), error->message);
}

gboolean
natter_cli_cmd_listen (Cli   *cli,
                       char **args)
{
  if (!natter_cli_open_client (cli) || !natter_cli_start_control (cli))
    return FALSE;

  natter_cli_connect_listeners (cli);
  if (!natter_cli_listen_transfers (cli))
    return FALSE;
  natter_cli_listen_for_calls (cli);
  on_listen_store_damaged (G_OBJECT (cli->store), NULL, cli);
  g_signal_connect (cli->profile, "backup-failed", G_CALLBACK (on_backup_failed), cli);
  natter_profile_start_backups (cli->profile);
  natter_client_start (cli->client);
  natter_cli_run_forever (cli);
  return TRUE;
}
