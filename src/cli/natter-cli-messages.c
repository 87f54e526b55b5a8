/* natter-cli-messages.c: messages: send, typing, read, history
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "natter-cli"

#include "config.h"

#include <stdio.h>

#include <glib/gi18n.h>

#include "natter-cli-private.h"
#include "natter-cli-output.h"
#include "natter-store-calls.h"

static void
on_send_status (NatterClient        *client,
                const char          *contact_id,
                const char          *message_id,
                NatterMessageStatus  status,
                gpointer             user_data)
{
  gboolean *delivered = user_data;
  Cli *cli = g_object_get_data (G_OBJECT (client), "natter-cli");

  if (g_strcmp0 (message_id, cli->wait_message_id) == 0 &&
      (status == NATTER_MESSAGE_STATUS_DELIVERED || status == NATTER_MESSAGE_STATUS_READ))
    *delivered = TRUE;
}

static void
on_lines_status (NatterClient        *client,
                 const char          *contact_id,
                 const char          *message_id,
                 NatterMessageStatus  status,
                 gpointer             user_data)
{
  GHashTable *waiting = user_data;

  if (status == NATTER_MESSAGE_STATUS_DELIVERED || status == NATTER_MESSAGE_STATUS_READ)
    g_hash_table_remove (waiting, message_id);
}

static gboolean
hash_table_is_empty (GHashTable *table,
                     gboolean   *empty)
{
  return *empty = g_hash_table_size (table) == 0;
}

/* `send CONTACT -`: every line of the standard input is a message, sent on
 * one connection as it is read; waits until all are delivered. */
static gboolean
send_lines (Cli        *cli,
            const char *contact_id)
{
  g_autoptr(GHashTable) waiting = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;
  gboolean empty = FALSE;
  size_t size = 0;
  ssize_t length;
  gint64 deadline;

  g_signal_connect (cli->client, "message-status-changed", G_CALLBACK (on_lines_status),
                    waiting);
  if (!cli->no_wait)
    natter_client_start (cli->client);

  while ((length = getline (&line, &size, cli->input)) >= 0)
    {
      g_autoptr(NatterMessage) message = NULL;

      if (length > 0 && line[length - 1] == '\n')
        line[--length] = '\0';
      if (length == 0)
        continue;

      message = natter_client_send_message (cli->client, contact_id, line, &error);
      if (message == NULL)
        {
          g_signal_handlers_disconnect_by_data (cli->client, waiting);
          return natter_cli_fail (cli, "%s", error->message);
        }
      g_hash_table_add (waiting, g_strdup (natter_message_get_id (message)));
      /* Let the connection come up and carry what is queued */
      while (g_main_context_iteration (NULL, FALSE))
        ;
    }

  if (cli->no_wait)
    {
      g_signal_handlers_disconnect_by_data (cli->client, waiting);
      return TRUE;
    }

  deadline = g_get_monotonic_time () + (gint64) cli->timeout_s * G_USEC_PER_SEC;
  while (!hash_table_is_empty (waiting, &empty) && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_signal_handlers_disconnect_by_data (cli->client, waiting);

  if (!empty)
    {
      cli->exit_code = 3;
      g_printerr (_("natter-cli: %u messages not delivered within %d s; they stay queued\n"),
                  g_hash_table_size (waiting), cli->timeout_s);
      return FALSE;
    }

  return TRUE;
}

gboolean
natter_cli_cmd_send (Cli   *cli,
                     char **args)
{
  g_autoptr(NatterMessage) message = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *contact_id = NULL;
  gboolean delivered = FALSE;

  if (args[0] == NULL || args[1] == NULL)
    return natter_cli_fail (cli, _("Usage: natter-cli send CONTACT TEXT|-"));

  if (!natter_cli_open_client (cli) ||
      (contact_id = natter_cli_resolve_contact (cli, args[0])) == NULL)
    return FALSE;

  if (g_str_equal (args[1], "-"))
    return send_lines (cli, contact_id);

  g_object_set_data (G_OBJECT (cli->client), "natter-cli", cli);
  g_signal_connect (cli->client, "message-status-changed", G_CALLBACK (on_send_status),
                    &delivered);

  /* Queue first, so that the message is kept even if the server is down. */
  message = natter_client_send_reply (cli->client, contact_id, args[1], cli->reply_to, &error);
  if (message == NULL)
    {
      g_signal_handlers_disconnect_by_data (cli->client, &delivered);
      return natter_cli_fail (cli, "%s", error->message);
    }

  cli->wait_message_id = g_strdup (natter_message_get_id (message));
  if (cli->no_wait)
    {
      g_signal_handlers_disconnect_by_data (cli->client, &delivered);
      return TRUE;
    }

  natter_client_start (cli->client);
  delivered = delivered || natter_cli_run_until (&delivered, cli->timeout_s);
  g_signal_handlers_disconnect_by_data (cli->client, &delivered);
  if (!delivered)
    {
      natter_cli_report_trust_failure (cli, contact_id);
      cli->exit_code = 3;
      g_printerr (_("natter-cli: not delivered within %d s; the message stays queued and goes "
                    "out the next time natter-cli runs while %s is online\n"),
                  cli->timeout_s, contact_id);
      return FALSE;
    }

  return TRUE;
}

gboolean
natter_cli_cmd_typing (Cli   *cli,
                       char **args)
{
  g_autofree char *contact_id = NULL;
  gboolean active;
  gint64 deadline;

  if (args[0] == NULL)
    return natter_cli_fail (cli, _("Usage: natter-cli typing CONTACT [on|off]"));

  active = args[1] == NULL || g_strcmp0 (args[1], "on") == 0;

  if (!natter_cli_go_online (cli) ||
      (contact_id = natter_cli_resolve_contact (cli, args[0])) == NULL)
    return FALSE;

  /* The presence list arrives just after going online. */
  deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  while (!natter_client_is_contact_online (cli->client, contact_id) &&
         g_get_monotonic_time () < deadline)
    natter_cli_spin (10);

  if (!natter_cli_wait_for_chat (cli, contact_id))
    return FALSE;

  natter_client_send_typing (cli->client, contact_id, active);
  /* Give the envelope time to leave before the connection closes. */
  natter_cli_spin (500);
  return TRUE;
}

gboolean
natter_cli_cmd_history (Cli   *cli,
                        char **args)
{
  g_autofree char *contact_id = NULL;
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(GPtrArray) calls = NULL;
  g_autoptr(GError) error = NULL;
  guint next_call = 0;

  if (args[0] == NULL)
    return natter_cli_fail (cli, _("Usage: natter-cli history CONTACT [--limit N] [--search TEXT] "
                                   "[--json]"));

  if (!natter_cli_open_store (cli) ||
      (contact_id = natter_cli_resolve_contact (cli, args[0])) == NULL)
    return FALSE;

  if (cli->search != NULL)
    {
      g_autoptr(GPtrArray) hits = natter_store_search (cli->store, cli->search, contact_id,
                                                       cli->limit, &error);

      if (hits == NULL)
        return natter_cli_fail (cli, "%s", error->message);

      messages = g_ptr_array_new_with_free_func (g_object_unref);
      for (guint i = hits->len; i > 0; i--)
        {
          NatterStoreSearchHit *hit = g_ptr_array_index (hits, i - 1);

          g_ptr_array_add (messages, g_object_ref (hit->message));
        }
    }
  else
    {
      messages = natter_store_load_messages (cli->store, contact_id, NULL, cli->limit, &error);
      if (messages == NULL)
        return natter_cli_fail (cli, "%s", error->message);
    }

  /* Calls take their place among the messages, by time */
  if (cli->search == NULL)
    calls = natter_store_list_calls (cli->store, contact_id, cli->limit, NULL);

  for (guint i = 0; i < messages->len; i++)
    {
      NatterMessage *message = g_ptr_array_index (messages, i);
      gboolean outgoing = natter_message_get_direction (message) == NATTER_MESSAGE_DIRECTION_OUT;

      while (calls != NULL && next_call < calls->len &&
             natter_call_get_started_at (g_ptr_array_index (calls, next_call)) <=
             natter_message_get_timestamp (message))
        natter_cli_print_call_record (cli, g_ptr_array_index (calls, next_call++));

      if (cli->json)
        {
          g_autoptr(JsonObject) object = json_object_new ();

          json_object_set_string_member (object, "id", natter_message_get_id (message));
          json_object_set_string_member (object, "direction", outgoing ? "out" : "in");
          json_object_set_string_member (object, "body", natter_message_get_body (message));
          json_object_set_int_member (object, "ts", natter_message_get_timestamp (message) / 1000);
          if (natter_message_get_reply_to (message) != NULL)
            json_object_set_string_member (object, "reply_to",
                                           natter_message_get_reply_to (message));
          json_object_set_string_member (object, "status",
                                         natter_message_status_to_string (
                                           natter_message_get_status (message)));
          natter_cli_print_json (object);
        }
      else
        {
          g_autofree char *stamp = natter_cli_format_time (natter_message_get_timestamp (message));
          g_autofree char *body = natter_cli_printable (natter_message_get_body (message));

          g_print ("%s %s %s  [%s]\n", stamp, outgoing ? ">" : "<", body,
                   natter_message_status_to_string (natter_message_get_status (message)));
        }
    }
  while (calls != NULL && next_call < calls->len)
    natter_cli_print_call_record (cli, g_ptr_array_index (calls, next_call++));

  return TRUE;
}

gboolean
natter_cli_cmd_read (Cli   *cli,
                     char **args)
{
  g_autofree char *contact_id = NULL;
  g_autoptr(GError) error = NULL;

  if (args[0] == NULL)
    return natter_cli_fail (cli, _("Usage: natter-cli read CONTACT"));

  if (!natter_cli_go_online (cli) ||
      (contact_id = natter_cli_resolve_contact (cli, args[0])) == NULL)
    return FALSE;

  if (natter_client_is_contact_online (cli->client, contact_id) &&
      !natter_cli_wait_for_chat (cli, contact_id))
    return FALSE;

  if (!natter_client_mark_read (cli->client, contact_id, &error))
    return natter_cli_fail (cli, "%s", error->message);

  return TRUE;
}
