/* natter-cli.c: a headless Natter client for scripts, bots and tests
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "natter-cli"

#include "config.h"

#include <errno.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <glib-unix.h>

#include "natter-cli-output.h"
#include "natter-json.h"
#include "natter-client.h"
#include "natter-control.h"
#include "natter-profile.h"
#include "natter-protocol.h"

#define ONLINE_TIMEOUT_S  20
#define REQUEST_WAIT_S    20

typedef struct
{
  /* Options */
  char         *profile_name;
  char         *server;
  char         *identity_file;
  gboolean      loopback;
  gboolean      no_wait;
  gboolean      json;
  gboolean      auto_accept;
  gboolean      mark_read;
  char         *search;
  char         *reply_to;
  char         *expect;
  char         *name;
  char         *bio;
  char         *avatar;
  int           limit;
  int           timeout_s;

  /* State: the profile, and what it opened (owned by it) */
  NatterProfile *profile;
  NatterIdentity *identity;
  NatterStore  *store;
  NatterClient *client;
  GMainLoop    *loop;
  int           exit_code;

  /* The command waiting for something */
  char         *wait_message_id;
  GAsyncResult *result;

  /* Online on the profile: other natter-cli processes hand their commands here */
  NatterControl *control;
  /* A command handed over by another process: the objects belong to the
   * process that is online, and its input came with the request */
  gboolean      borrowed;
  FILE         *input;
} Cli;

static gboolean
fail (Cli        *cli,
      const char *format,
      ...) G_GNUC_PRINTF (2, 3);
static gboolean start_control (Cli *cli);

static gboolean
fail (Cli        *cli,
      const char *format,
      ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  g_printerr ("natter-cli: %s\n", message);
  cli->exit_code = 1;
  return FALSE;
}

static void
print_json (JsonObject *object)
{
  natter_cli_print_json (object);
}

/* Events of listen go straight to its own standard output, also while it
 * runs a command handed over by another process (whose output goes there) */
static void
print_event (JsonObject *event)
{
  g_autofree char *text = natter_json_object_to_string (event, NULL);

  fputs (text, stdout);
  fputc ('\n', stdout);
  fflush (stdout);
}

static JsonObject *
event_new (const char *name)
{
  JsonObject *event = json_object_new ();

  json_object_set_string_member (event, "event", name);
  json_object_set_int_member (event, "time", g_get_real_time () / 1000);
  return event;
}

/* Runs the main loop until @done is set or @timeout_s passes. */
static gboolean
run_until (gboolean *done,
           int       timeout_s)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_s * G_USEC_PER_SEC;

  while (!*done)
    {
      if (timeout_s > 0 && g_get_monotonic_time () >= deadline)
        return FALSE;
      g_main_context_iteration (NULL, TRUE);
    }

  return TRUE;
}

/* Keeps the main loop turning for @ms milliseconds. */
static void
spin (guint ms)
{
  gint64 until = g_get_monotonic_time () + (gint64) ms * 1000;

  while (g_get_monotonic_time () < until)
    {
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (1000);
    }
}

static void
on_async_done (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  Cli *cli = user_data;

  cli->result = g_object_ref (result);
}

static GAsyncResult *
wait_async (Cli *cli)
{
  gint64 deadline = g_get_monotonic_time () + REQUEST_WAIT_S * G_USEC_PER_SEC;

  while (cli->result == NULL && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);

  return g_steal_pointer (&cli->result);
}

/* Profiles, settings, identity, store */

static gboolean
open_profile (Cli *cli)
{
  g_autoptr(GError) error = NULL;

  cli->profile = natter_profile_new (cli->profile_name, &error);
  if (cli->profile == NULL)
    return fail (cli, "%s", error->message);

  natter_profile_set_identity_file (cli->profile, cli->identity_file);

  /* Written only when it changes: reading works on a full disk */
  if (cli->server != NULL && !natter_profile_set_server_url (cli->profile, cli->server, &error))
    return fail (cli, "%s", error->message);

  return TRUE;
}

static gboolean
open_identity (Cli *cli)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(NatterIdentity) identity = NULL;
  g_autoptr(GError) error = NULL;

  if (cli->identity != NULL)
    return TRUE;

  natter_profile_load_identity_async (cli->profile, NULL, on_async_done, cli);
  result = wait_async (cli);
  if (result == NULL)
    return fail (cli, _("The keyring did not answer in time"));

  /* The identity's errors already say what to do, --identity-file included. */
  identity = natter_profile_load_identity_finish (cli->profile, result, &error);
  if (identity == NULL)
    return fail (cli, "%s", error->message);

  cli->identity = natter_profile_get_identity (cli->profile);
  return TRUE;
}

static gboolean
open_store (Cli *cli)
{
  g_autoptr(GError) error = NULL;

  if (cli->store != NULL)
    return TRUE;

  cli->store = natter_profile_open_store (cli->profile, &error);
  if (cli->store == NULL)
    return fail (cli, _("Cannot open the history: %s"), error->message);

  if (natter_store_get_read_only (cli->store))
    g_printerr (_("natter-cli: the disk is full: the history can be read, but nothing new can "
                  "be stored until there is free space\n"));
  else if (!natter_store_check (cli->store, &error))
    g_printerr (_("natter-cli: %s. Nothing more is written to it; natter-cli restore-backup "
                  "goes back to the last backup\n"), error->message);
  else if (!natter_store_backup_if_due (cli->store, NATTER_PROFILE_BACKUP_MAX_AGE_S, &error))
    g_printerr (_("natter-cli: could not back up the history: %s\n"), error->message);

  return TRUE;
}

static gboolean
open_client (Cli *cli)
{
  g_autoptr(GBytes) avatar = NULL;
  g_autoptr(GError) error = NULL;

  if (cli->client != NULL)
    return TRUE;

  if (!open_store (cli))
    return FALSE;

  cli->client = natter_profile_open_client (cli->profile, &error);
  if (g_error_matches (error, NATTER_PROFILE_ERROR, NATTER_PROFILE_ERROR_NO_SERVER))
    return fail (cli, _("No server is set for this profile: pass --server ws://HOST:PORT/ws once"));
  if (cli->client == NULL)
    return fail (cli, "%s", error->message);

  natter_client_set_loopback (cli->client, cli->loopback);

  /* What contacts see of us: set with `natter-cli profile` */
  avatar = natter_profile_dup_avatar (cli->profile, &error);
  if (error != NULL)
    return fail (cli, "%s", error->message);

  return TRUE;
}

static void
on_state_notify (GObject    *object,
                 GParamSpec *pspec,
                 gpointer    user_data)
{
  gboolean *online = user_data;

  *online = natter_signaling_get_state (NATTER_SIGNALING (object)) ==
            NATTER_SIGNALING_STATE_ONLINE;
}

static gboolean
go_online (Cli *cli)
{
  NatterSignaling *signaling;
  gboolean online = FALSE;
  gulong handler;

  if (!open_client (cli))
    return FALSE;

  signaling = natter_client_get_signaling (cli->client);
  if (natter_signaling_get_state (signaling) == NATTER_SIGNALING_STATE_ONLINE)
    return TRUE;

  handler = g_signal_connect (signaling, "notify::state", G_CALLBACK (on_state_notify), &online);
  natter_client_start (cli->client);
  run_until (&online, ONLINE_TIMEOUT_S);
  g_signal_handler_disconnect (signaling, handler);

  if (!online)
    {
      const char *why = natter_signaling_get_last_error (signaling);

      return fail (cli, _("Could not connect to %s: %s"), natter_signaling_get_url (signaling),
                   why != NULL ? why : _("no answer"));
    }

  return TRUE;
}

static NatterFrame *
request (Cli         *cli,
         NatterFrame *frame)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  NatterFrame *reply;
  NatterSignaling *signaling = natter_client_get_signaling (cli->client);

  natter_signaling_request_async (signaling, frame, NULL, on_async_done, cli);
  result = wait_async (cli);
  if (result == NULL)
    {
      fail (cli, _("The server did not answer"));
      return NULL;
    }

  reply = natter_signaling_request_finish (signaling, result, &error);
  if (reply == NULL)
    fail (cli, "%s", error->message);

  return reply;
}

/* Finds a contact by user ID (any spelling), alias or display name. */
static char *
resolve_contact (Cli        *cli,
                 const char *what)
{
  g_autoptr(GPtrArray) contacts = NULL;
  g_autofree char *normalized = natter_user_id_normalize (what, NULL);
  char *found = NULL;

  if (normalized != NULL)
    return g_steal_pointer (&normalized);

  contacts = natter_store_list_contacts (cli->store, NULL);
  for (guint i = 0; contacts != NULL && i < contacts->len; i++)
    {
      NatterContact *contact = g_ptr_array_index (contacts, i);

      if (g_strcmp0 (natter_contact_get_alias (contact), what) == 0 ||
          g_strcmp0 (natter_contact_get_display_name (contact), what) == 0)
        {
          if (found != NULL)
            {
              g_free (found);
              fail (cli, _("More than one contact is called “%s”; use the ID"), what);
              return NULL;
            }
          found = g_strdup (natter_contact_get_user_id (contact));
        }
    }

  if (found == NULL)
    fail (cli, _("“%s” is neither a valid Natter ID nor the name of a contact"), what);

  return found;
}

/* Commands */

static gboolean
cmd_whoami (Cli   *cli,
            char **args)
{
  g_print ("%s\n", natter_identity_get_user_id (cli->identity));
  return TRUE;
}

/* The server answers what a handle stands for: say what it answered, so
 * that the person can check it, and hold it against --expect */
static char *
resolve_invitee (Cli        *cli,
                 const char *target)
{
  g_autoptr(NatterFrame) frame = NULL;
  g_autoptr(NatterFrame) reply = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *resolved = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *safety = NULL;

  if (target[0] == '@')
    {
      frame = natter_frame_new (NATTER_FRAME_HANDLE_LOOKUP);
      natter_frame_set_string (frame, "handle", target);
      if ((reply = request (cli, frame)) == NULL)
        return NULL;
      resolved = g_strdup (natter_frame_get_string (reply, "user"));
      safety = natter_identity_get_safety_number (cli->identity, resolved);
      if (!cli->json)
        {
          g_autofree char *handle = natter_cli_printable (target);

          g_print (_("%s is %s\nSafety number: %s\n"), handle, resolved, safety);
        }
    }
  else
    {
      resolved = natter_user_id_normalize (target, &error);
      if (resolved == NULL)
        {
          fail (cli, "%s", error->message);
          return NULL;
        }
    }

  if (cli->expect != NULL)
    {
      expected = natter_user_id_normalize (cli->expect, &error);
      if (expected == NULL)
        {
          fail (cli, _("--expect: %s"), error->message);
          return NULL;
        }
      if (!g_str_equal (expected, resolved))
        {
          fail (cli, _("%s is %s, not the expected %s; nothing was sent"), target, resolved,
                expected);
          return NULL;
        }
    }

  return g_steal_pointer (&resolved);
}

static gboolean
cmd_invite (Cli   *cli,
            char **args)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(JsonObject) invitation = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *invitee = NULL;

  if (args[0] == NULL)
    return fail (cli, _("Usage: natter-cli invite ID|@HANDLE [TEXT] [--expect ID]"));

  if (!go_online (cli))
    return FALSE;

  invitee = resolve_invitee (cli, args[0]);
  if (invitee == NULL)
    return FALSE;

  /* The resolved ID, not the handle: what was shown is what is invited */
  natter_client_invite_async (cli->client, invitee, args[1], NULL, on_async_done, cli);
  result = wait_async (cli);
  if (result == NULL)
    return fail (cli, _("The server did not answer"));

  invitation = natter_client_invite_finish (cli->client, result, &error);
  if (invitation == NULL)
    return fail (cli, _("Could not send the invitation: %s"), error->message);

  if (cli->json)
    print_json (invitation);
  else
    g_print (_("Invitation %s sent to %s\n"),
             json_object_get_string_member_with_default (invitation, "id", ""),
             json_object_get_string_member_with_default (invitation, "to", ""));

  return TRUE;
}

static void
print_invitation_list (JsonArray  *list,
                       const char *heading,
                       const char *who_member)
{
  g_print ("%s\n", heading);
  for (guint i = 0; i < json_array_get_length (list); i++)
    {
      JsonObject *invitation = json_array_get_object_element (list, i);
      g_autofree char *id = NULL;
      g_autofree char *who = NULL;
      g_autofree char *text = NULL;

      if (invitation == NULL)
        continue;
      id = natter_cli_printable (json_object_get_string_member_with_default (invitation, "id", ""));
      who = natter_cli_printable (json_object_get_string_member_with_default (invitation,
                                                                              who_member, ""));
      text = natter_cli_printable (json_object_get_string_member_with_default (invitation,
                                                                               "text", ""));
      g_print ("  %s  %s  %s\n", id, who, text);
    }
}

static gboolean
cmd_invitations (Cli   *cli,
                 char **args)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(JsonObject) listing = NULL;
  g_autoptr(GError) error = NULL;

  if (!go_online (cli))
    return FALSE;

  natter_client_list_invitations_async (cli->client, NULL, on_async_done, cli);
  result = wait_async (cli);
  if (result == NULL)
    return fail (cli, _("The server did not answer"));

  listing = natter_client_list_invitations_finish (cli->client, result, &error);
  if (listing == NULL)
    return fail (cli, "%s", error->message);

  if (cli->json)
    {
      print_json (listing);
      return TRUE;
    }

  print_invitation_list (json_object_get_array_member (listing, "incoming"), _("Incoming:"),
                         "from");
  print_invitation_list (json_object_get_array_member (listing, "outgoing"), _("Outgoing:"),
                         "to");
  return TRUE;
}

static gboolean
answer_invitation (Cli        *cli,
                   const char *id,
                   gboolean    accept)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(JsonObject) invitation = NULL;
  g_autoptr(GError) error = NULL;

  natter_client_answer_invitation_async (cli->client, id, accept, NULL, on_async_done, cli);
  result = wait_async (cli);
  if (result == NULL)
    return fail (cli, _("The server did not answer"));

  invitation = natter_client_answer_invitation_finish (cli->client, result, &error);
  if (invitation == NULL)
    return fail (cli, "%s", error->message);

  return TRUE;
}

static gboolean
cmd_accept (Cli   *cli,
            char **args)
{
  if (args[0] == NULL)
    return fail (cli, _("Usage: natter-cli accept INVITATION-ID"));

  if (!go_online (cli) || !answer_invitation (cli, args[0], TRUE))
    return FALSE;

  g_print (_("Accepted\n"));
  return TRUE;
}

static gboolean
cmd_decline (Cli   *cli,
             char **args)
{
  if (args[0] == NULL)
    return fail (cli, _("Usage: natter-cli decline INVITATION-ID"));

  if (!go_online (cli) || !answer_invitation (cli, args[0], FALSE))
    return FALSE;

  g_print (_("Declined\n"));
  return TRUE;
}

static gboolean
cmd_contacts (Cli   *cli,
              char **args)
{
  g_autoptr(GPtrArray) contacts = NULL;
  g_autoptr(GHashTable) online = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(NatterFrame) reply = NULL;
  g_autoptr(GError) error = NULL;

  if (!go_online (cli))
    return FALSE;

  contacts = natter_store_list_contacts (cli->store, &error);
  if (contacts == NULL)
    return fail (cli, "%s", error->message);

  if (contacts->len > 0)
    {
      g_autoptr(NatterFrame) frame = natter_frame_new (NATTER_FRAME_SUBSCRIBE);
      JsonArray *users = json_array_new ();
      JsonArray *presence;

      for (guint i = 0; i < contacts->len && i < NATTER_SUBSCRIPTIONS_MAX; i++)
        json_array_add_string_element (users,
                                       natter_contact_get_user_id (g_ptr_array_index (contacts, i)));
      natter_frame_take_array (frame, "users", users);

      if ((reply = request (cli, frame)) == NULL)
        return FALSE;

      presence = natter_frame_get_array (reply, "presence");
      for (guint i = 0; i < json_array_get_length (presence); i++)
        {
          JsonObject *entry = json_array_get_object_element (presence, i);

          if (entry != NULL && json_object_get_boolean_member_with_default (entry, "online", FALSE))
            g_hash_table_add (online,
                              (gpointer) json_object_get_string_member_with_default (entry, "user", ""));
        }
    }

  for (guint i = 0; i < contacts->len; i++)
    {
      NatterContact *contact = g_ptr_array_index (contacts, i);
      const char *id = natter_contact_get_user_id (contact);
      gboolean is_online = g_hash_table_contains (online, id);

      if (cli->json)
        {
          g_autoptr(JsonObject) object = json_object_new ();

          json_object_set_string_member (object, "id", id);
          json_object_set_string_member (object, "name", natter_contact_get_name (contact));
          json_object_set_boolean_member (object, "online", is_online);
          json_object_set_boolean_member (object, "blocked", natter_contact_get_blocked (contact));
          json_object_set_boolean_member (object, "verified", natter_contact_get_verified (contact));
          if (natter_contact_get_bio (contact) != NULL)
            json_object_set_string_member (object, "bio", natter_contact_get_bio (contact));
          json_object_set_int_member (object, "avatar_bytes",
                                      natter_contact_get_avatar (contact) != NULL ?
                                      g_bytes_get_size (natter_contact_get_avatar (contact)) : 0);
          print_json (object);
        }
      else
        {
          g_autofree char *name = natter_cli_printable (natter_contact_get_name (contact));

          g_print ("%s  %-8s  %s%s\n", id, is_online ? _("online") : _("offline"), name,
                   natter_contact_get_blocked (contact) ? _(" (blocked)") : "");
        }
    }

  return TRUE;
}

static gboolean
cmd_register_handle (Cli   *cli,
                     char **args)
{
  g_autoptr(NatterFrame) frame = NULL;
  g_autoptr(NatterFrame) reply = NULL;

  g_autofree char *handle = NULL;
  g_autoptr(GError) error = NULL;

  if (args[0] == NULL)
    return fail (cli, _("Usage: natter-cli register-handle NAME"));

  /* Checked here, with the limits in the error, before going online */
  handle = natter_handle_normalize (args[0], &error);
  if (handle == NULL)
    return fail (cli, "%s", error->message);

  if (!go_online (cli))
    return FALSE;

  frame = natter_frame_new (NATTER_FRAME_HANDLE_REGISTER);
  natter_frame_set_string (frame, "handle", args[0]);
  if ((reply = request (cli, frame)) == NULL)
    return FALSE;

  g_print ("@%s\n", natter_frame_get_string (reply, "handle"));
  return TRUE;
}

static gboolean
cmd_lookup (Cli   *cli,
            char **args)
{
  g_autoptr(NatterFrame) frame = NULL;
  g_autoptr(NatterFrame) reply = NULL;

  if (args[0] == NULL)
    return fail (cli, _("Usage: natter-cli lookup @NAME"));

  if (!go_online (cli))
    return FALSE;

  frame = natter_frame_new (NATTER_FRAME_HANDLE_LOOKUP);
  natter_frame_set_string (frame, "handle", args[0]);
  if ((reply = request (cli, frame)) == NULL)
    return FALSE;

  g_print ("%s\n", natter_frame_get_string (reply, "user"));
  return TRUE;
}

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
          return fail (cli, "%s", error->message);
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

static gboolean
cmd_send (Cli   *cli,
          char **args)
{
  g_autoptr(NatterMessage) message = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *contact_id = NULL;
  gboolean delivered = FALSE;

  if (args[0] == NULL || args[1] == NULL)
    return fail (cli, _("Usage: natter-cli send CONTACT TEXT|-"));

  if (!open_client (cli) || (contact_id = resolve_contact (cli, args[0])) == NULL)
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
      return fail (cli, "%s", error->message);
    }

  cli->wait_message_id = g_strdup (natter_message_get_id (message));
  if (cli->no_wait)
    {
      g_signal_handlers_disconnect_by_data (cli->client, &delivered);
      return TRUE;
    }

  natter_client_start (cli->client);
  delivered = delivered || run_until (&delivered, cli->timeout_s);
  g_signal_handlers_disconnect_by_data (cli->client, &delivered);
  if (!delivered)
    {
      cli->exit_code = 3;
      g_printerr (_("natter-cli: not delivered within %d s; the message stays queued and goes "
                    "out the next time natter-cli runs while %s is online\n"),
                  cli->timeout_s, contact_id);
      return FALSE;
    }

  return TRUE;
}

static void
on_listen_message (NatterClient  *client,
                   NatterMessage *message,
                   gpointer       user_data)
{
  Cli *cli = user_data;
  g_autoptr(JsonObject) event = NULL;

  if (natter_message_get_direction (message) != NATTER_MESSAGE_DIRECTION_IN)
    return;

  event = event_new ("message");
  json_object_set_string_member (event, "from", natter_message_get_contact_id (message));
  json_object_set_string_member (event, "id", natter_message_get_id (message));
  json_object_set_string_member (event, "body", natter_message_get_body (message));
  json_object_set_int_member (event, "ts", natter_message_get_timestamp (message) / 1000);
  if (natter_message_get_reply_to (message) != NULL)
    json_object_set_string_member (event, "reply_to", natter_message_get_reply_to (message));
  print_event (event);

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
  g_autoptr(JsonObject) event = event_new ("receipt");

  json_object_set_string_member (event, "contact", contact_id);
  json_object_set_string_member (event, "id", message_id);
  json_object_set_string_member (event, "status", natter_message_status_to_string (status));
  print_event (event);
}

static void
on_listen_typing (NatterClient *client,
                  const char   *contact_id,
                  gboolean      active,
                  gpointer      user_data)
{
  g_autoptr(JsonObject) event = event_new ("typing");

  json_object_set_string_member (event, "contact", contact_id);
  json_object_set_boolean_member (event, "active", active);
  print_event (event);
}

static void
on_listen_presence (NatterClient *client,
                    const char   *contact_id,
                    gboolean      online,
                    gpointer      user_data)
{
  g_autoptr(JsonObject) event = event_new ("presence");

  json_object_set_string_member (event, "contact", contact_id);
  json_object_set_boolean_member (event, "online", online);
  print_event (event);
}

static void
on_listen_peer_state (NatterClient    *client,
                      const char      *contact_id,
                      NatterPeerState  state,
                      gpointer         user_data)
{
  g_autoptr(JsonObject) event = event_new ("peer");
  g_autoptr(GEnumClass) klass = g_type_class_ref (NATTER_TYPE_PEER_STATE);
  GEnumValue *value = g_enum_get_value (klass, state);

  json_object_set_string_member (event, "contact", contact_id);
  json_object_set_string_member (event, "state", value != NULL ? value->value_nick : "unknown");
  print_event (event);
}

static void
on_listen_trust_failure (NatterClient *client,
                         const char   *contact_id,
                         gpointer      user_data)
{
  g_autoptr(JsonObject) event = event_new ("trust-failure");

  json_object_set_string_member (event, "contact", contact_id);
  print_event (event);
}

static void
on_listen_refused (NatterClient *client,
                   const char   *contact_id,
                   const char   *message_id,
                   const char   *reason,
                   gpointer      user_data)
{
  g_autoptr(JsonObject) event = event_new ("refused");

  json_object_set_string_member (event, "contact", contact_id);
  json_object_set_string_member (event, "id", message_id);
  json_object_set_string_member (event, "reason", reason);
  print_event (event);
}

static void
on_listen_store_failed (NatterClient *client,
                        const GError *error,
                        gpointer      user_data)
{
  g_autoptr(JsonObject) event = event_new ("store-failed");

  json_object_set_boolean_member (event, "disk_full",
                                  g_error_matches (error, NATTER_STORE_ERROR,
                                                   NATTER_STORE_ERROR_DISK_FULL));
  json_object_set_string_member (event, "error", error->message);
  print_event (event);
}

static void
on_listen_store_damaged (GObject    *store,
                         GParamSpec *pspec,
                         gpointer    user_data)
{
  g_autoptr(JsonObject) event = NULL;

  if (!natter_store_get_damaged (NATTER_STORE (store)))
    return;

  event = event_new ("store-damaged");
  json_object_set_string_member (event, "path", natter_store_get_path (NATTER_STORE (store)));
  print_event (event);
}

static void
on_listen_contact (NatterClient *client,
                   const char   *contact_id,
                   gpointer      user_data)
{
  g_autoptr(JsonObject) event = event_new ("contact");
  g_autoptr(NatterContact) contact = natter_store_get_contact (natter_client_get_store (client),
                                                               contact_id, NULL);

  json_object_set_string_member (event, "contact", contact_id);
  if (contact != NULL && natter_contact_get_name (contact) != NULL)
    json_object_set_string_member (event, "name", natter_contact_get_name (contact));
  print_event (event);
}

static void
on_answer_done (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(JsonObject) invitation = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) event = NULL;

  invitation = natter_client_answer_invitation_finish (NATTER_CLIENT (source), result, &error);
  if (invitation == NULL)
    {
      g_printerr ("natter-cli: could not accept an invitation: %s\n", error->message);
      return;
    }

  event = event_new ("invitation-accepted");
  json_object_set_object_member (event, "invitation", g_steal_pointer (&invitation));
  print_event (event);
}

static void
on_listen_invitation (NatterClient *client,
                      JsonObject   *invitation,
                      gpointer      user_data)
{
  Cli *cli = user_data;
  g_autoptr(JsonObject) event = event_new ("invitation");
  const char *id = json_object_get_string_member_with_default (invitation, "id", NULL);

  json_object_set_object_member (event, "invitation", json_object_ref (invitation));
  print_event (event);

  if (cli->auto_accept && id != NULL)
    natter_client_answer_invitation_async (client, id, TRUE, NULL, on_answer_done, cli);
}

static void
on_listen_invitation_answer (NatterClient *client,
                             JsonObject   *invitation,
                             gpointer      user_data)
{
  g_autoptr(JsonObject) event = event_new ("invitation-answer");

  json_object_set_object_member (event, "invitation", json_object_ref (invitation));
  print_event (event);
}

static void
on_listen_room (NatterClient *client,
                const char   *room,
                const char   *user,
                gboolean      joined,
                gpointer      user_data)
{
  g_autoptr(JsonObject) event = event_new (joined ? "room-member-joined" : "room-member-left");

  json_object_set_string_member (event, "room", room);
  json_object_set_string_member (event, "user", user);
  print_event (event);
}

static void
on_listen_server_state (GObject    *object,
                        GParamSpec *pspec,
                        gpointer    user_data)
{
  NatterSignaling *signaling = NATTER_SIGNALING (object);
  g_autoptr(JsonObject) event = event_new ("server");
  g_autoptr(GEnumClass) klass = g_type_class_ref (NATTER_TYPE_SIGNALING_STATE);
  GEnumValue *value = g_enum_get_value (klass, natter_signaling_get_state (signaling));

  json_object_set_string_member (event, "state", value != NULL ? value->value_nick : "unknown");
  if (natter_signaling_get_last_error (signaling) != NULL)
    json_object_set_string_member (event, "error", natter_signaling_get_last_error (signaling));
  print_event (event);
}

static void
connect_listeners (Cli *cli)
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
  g_signal_connect (natter_client_get_signaling (cli->client), "notify::state",
                    G_CALLBACK (on_listen_server_state), cli);
}

static gboolean
on_quit_signal (gpointer user_data)
{
  Cli *cli = user_data;

  g_main_loop_quit (cli->loop);
  return G_SOURCE_REMOVE;
}

static void
run_forever (Cli *cli)
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

static gboolean
cmd_listen (Cli   *cli,
            char **args)
{
  if (!open_client (cli) || !start_control (cli))
    return FALSE;

  connect_listeners (cli);
  on_listen_store_damaged (G_OBJECT (cli->store), NULL, cli);
  g_signal_connect (cli->profile, "backup-failed", G_CALLBACK (on_backup_failed), cli);
  natter_profile_start_backups (cli->profile);
  natter_client_start (cli->client);
  run_forever (cli);
  return TRUE;
}

static gboolean
wait_for_chat (Cli        *cli,
               const char *contact_id)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) cli->timeout_s * G_USEC_PER_SEC;

  natter_client_connect_to (cli->client, contact_id);
  while (natter_client_get_peer_state (cli->client, contact_id) != NATTER_PEER_STATE_CONNECTED)
    {
      if (g_get_monotonic_time () >= deadline)
        return fail (cli, _("Could not connect to %s"), contact_id);
      g_main_context_iteration (NULL, TRUE);
      if (natter_client_get_peer_state (cli->client, contact_id) == NATTER_PEER_STATE_NEW &&
          natter_client_is_contact_online (cli->client, contact_id))
        natter_client_connect_to (cli->client, contact_id);
    }

  /* Let the chat channel open after ICE and DTLS. */
  spin (200);

  return TRUE;
}

static gboolean
cmd_typing (Cli   *cli,
            char **args)
{
  g_autofree char *contact_id = NULL;
  gboolean active;
  gint64 deadline;

  if (args[0] == NULL)
    return fail (cli, _("Usage: natter-cli typing CONTACT [on|off]"));

  active = args[1] == NULL || g_strcmp0 (args[1], "on") == 0;

  if (!go_online (cli) || (contact_id = resolve_contact (cli, args[0])) == NULL)
    return FALSE;

  /* The presence list arrives just after going online. */
  deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  while (!natter_client_is_contact_online (cli->client, contact_id) &&
         g_get_monotonic_time () < deadline)
    spin (10);

  if (!wait_for_chat (cli, contact_id))
    return FALSE;

  natter_client_send_typing (cli->client, contact_id, active);
  /* Give the envelope time to leave before the connection closes. */
  spin (500);
  return TRUE;
}

static gboolean
cmd_history (Cli   *cli,
             char **args)
{
  g_autofree char *contact_id = NULL;
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(GError) error = NULL;

  if (args[0] == NULL)
    return fail (cli, _("Usage: natter-cli history CONTACT [--limit N] [--search TEXT] [--json]"));

  if (!open_store (cli) || (contact_id = resolve_contact (cli, args[0])) == NULL)
    return FALSE;

  if (cli->search != NULL)
    {
      g_autoptr(GPtrArray) hits = natter_store_search (cli->store, cli->search, contact_id,
                                                       cli->limit, &error);

      if (hits == NULL)
        return fail (cli, "%s", error->message);

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
        return fail (cli, "%s", error->message);
    }

  for (guint i = 0; i < messages->len; i++)
    {
      NatterMessage *message = g_ptr_array_index (messages, i);
      gboolean outgoing = natter_message_get_direction (message) == NATTER_MESSAGE_DIRECTION_OUT;

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
          print_json (object);
        }
      else
        {
          g_autoptr(GDateTime) time =
            g_date_time_new_from_unix_local (natter_message_get_timestamp (message) / G_USEC_PER_SEC);
          g_autofree char *stamp = time != NULL ? g_date_time_format (time, "%Y-%m-%d %H:%M")
                                                : g_strdup ("-");
          g_autofree char *body = natter_cli_printable (natter_message_get_body (message));

          g_print ("%s %s %s  [%s]\n", stamp, outgoing ? ">" : "<", body,
                   natter_message_status_to_string (natter_message_get_status (message)));
        }
    }

  return TRUE;
}

static void
print_members (JsonArray *members)
{
  for (guint i = 0; i < json_array_get_length (members); i++)
    g_print ("%s\n", json_array_get_string_element (members, i));
}

static gboolean
cmd_room (Cli   *cli,
          char **args)
{
  g_autoptr(NatterFrame) frame = NULL;
  g_autoptr(NatterFrame) reply = NULL;
  gboolean stay;

  if (args[0] == NULL || args[1] == NULL ||
      (!g_str_equal (args[0], "join") && !g_str_equal (args[0], "members")))
    return fail (cli, _("Usage: natter-cli room join|members NAME"));

  /* Room membership lasts as long as the connection: "join" stays and
   * prints who comes and goes; "members" joins, lists and leaves. */
  stay = g_str_equal (args[0], "join");

  if (!go_online (cli))
    return FALSE;

  frame = natter_frame_new (NATTER_FRAME_ROOM_JOIN);
  natter_frame_set_string (frame, "room", args[1]);
  if ((reply = request (cli, frame)) == NULL)
    return FALSE;

  if (!stay)
    {
      print_members (natter_frame_get_array (reply, "members"));
      return TRUE;
    }

  if (!start_control (cli))
    return FALSE;

  {
    g_autoptr(JsonObject) event = event_new ("room-members");

    json_object_set_string_member (event, "room", args[1]);
    json_object_set_array_member (event, "members",
                                  json_array_ref (natter_frame_get_array (reply, "members")));
    print_json (event);
  }

  connect_listeners (cli);
  run_forever (cli);
  return TRUE;
}

static gboolean
cmd_read (Cli   *cli,
          char **args)
{
  g_autofree char *contact_id = NULL;
  g_autoptr(GError) error = NULL;

  if (args[0] == NULL)
    return fail (cli, _("Usage: natter-cli read CONTACT"));

  if (!go_online (cli) || (contact_id = resolve_contact (cli, args[0])) == NULL)
    return FALSE;

  if (natter_client_is_contact_online (cli->client, contact_id) &&
      !wait_for_chat (cli, contact_id))
    return FALSE;

  if (!natter_client_mark_read (cli->client, contact_id, &error))
    return fail (cli, "%s", error->message);

  return TRUE;
}

static gboolean
set_blocked (Cli        *cli,
             const char *what,
             gboolean    blocked)
{
  g_autofree char *contact_id = NULL;
  g_autoptr(GError) error = NULL;

  if (!open_client (cli) || (contact_id = resolve_contact (cli, what)) == NULL)
    return FALSE;

  if (!natter_client_set_blocked (cli->client, contact_id, blocked, &error))
    return fail (cli, "%s", error->message);

  return TRUE;
}

static gboolean
cmd_block (Cli   *cli,
           char **args)
{
  if (args[0] == NULL)
    return fail (cli, _("Usage: natter-cli block CONTACT"));

  return set_blocked (cli, args[0], TRUE);
}

static gboolean
cmd_unblock (Cli   *cli,
             char **args)
{
  if (args[0] == NULL)
    return fail (cli, _("Usage: natter-cli unblock CONTACT"));

  return set_blocked (cli, args[0], FALSE);
}

static gboolean
cmd_rename (Cli   *cli,
            char **args)
{
  g_autofree char *contact_id = NULL;
  g_autoptr(GError) error = NULL;

  if (args[0] == NULL || args[1] == NULL)
    return fail (cli, _("Usage: natter-cli rename CONTACT NAME"));

  if (!open_store (cli) || (contact_id = resolve_contact (cli, args[0])) == NULL)
    return FALSE;

  if (!natter_store_rename_contact (cli->store, contact_id, args[1], &error))
    return fail (cli, "%s", error->message);

  return TRUE;
}

static gboolean
cmd_safety_number (Cli   *cli,
                   char **args)
{
  g_autofree char *contact_id = NULL;
  g_autofree char *number = NULL;

  if (args[0] == NULL)
    return fail (cli, _("Usage: natter-cli safety-number CONTACT"));

  if (!open_store (cli) || (contact_id = resolve_contact (cli, args[0])) == NULL)
    return FALSE;

  number = natter_identity_get_safety_number (cli->identity, contact_id);
  g_print ("%s\n", number);
  return TRUE;
}

static gboolean
cmd_profile (Cli   *cli,
             char **args)
{
  g_autoptr(GBytes) avatar = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *name = NULL;
  g_autofree char *bio = NULL;
  gboolean remove_avatar = cli->avatar != NULL && *cli->avatar == '\0';

  if (cli->avatar != NULL && !remove_avatar)
    {
      g_autofree char *data = NULL;
      gsize length;

      if (!g_file_get_contents (cli->avatar, &data, &length, &error))
        return fail (cli, "%s", error->message);
      avatar = g_bytes_new_take (g_steal_pointer (&data), length);
    }

  /* Checked the way the client will before anything is kept */
  if ((cli->name != NULL || cli->bio != NULL || cli->avatar != NULL) &&
      !natter_profile_save_public (cli->profile, cli->name, cli->bio, avatar, remove_avatar,
                                   &error))
    return fail (cli, "%s", error->message);

  name = natter_profile_dup_display_name (cli->profile);
  bio = natter_profile_dup_bio (cli->profile);
  g_print (_("Name: %s\nBio: %s\nPicture: %s\n"), name != NULL ? name : "",
           bio != NULL ? bio : "",
           natter_profile_has_avatar (cli->profile) ? _("yes") : _("none"));
  return TRUE;
}

static gboolean
cmd_backup (Cli   *cli,
            char **args)
{
  g_autoptr(GError) error = NULL;

  if (!open_store (cli))
    return FALSE;

  if (!natter_store_backup (cli->store, &error))
    return fail (cli, "%s", error->message);

  g_print (_("Backed up the history to %s%s\n"), natter_store_get_path (cli->store),
           NATTER_STORE_BACKUP_SUFFIX);
  return TRUE;
}

static gboolean
cmd_restore_backup (Cli   *cli,
                    char **args)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *aside = NULL;

  aside = natter_profile_restore_backup (cli->profile, &error);
  if (aside == NULL)
    return fail (cli, _("Cannot restore the backup: %s"), error->message);

  if (*aside != '\0')
    g_print (_("Restored the history from its backup; the one it replaced is kept as %s\n"),
             aside);
  else
    g_print (_("Restored the history from its backup\n"));
  return TRUE;
}

typedef struct
{
  const char *name;
  gboolean  (*run) (Cli *cli, char **args);
  gboolean    needs_identity;
  const char *summary;
} Command;

static const Command commands[] = {
  { "whoami", cmd_whoami, TRUE, N_("Print your Natter ID (made on first use)") },
  { "profile", cmd_profile, FALSE, N_("Show or set what contacts see: --name, --bio, --avatar") },
  { "invite", cmd_invite, TRUE, N_("Invite ID or @handle to become a contact") },
  { "invitations", cmd_invitations, TRUE, N_("List pending invitations") },
  { "accept", cmd_accept, TRUE, N_("Accept an invitation") },
  { "decline", cmd_decline, TRUE, N_("Decline an invitation") },
  { "contacts", cmd_contacts, TRUE, N_("List contacts and whether they are online") },
  { "register-handle", cmd_register_handle, TRUE, N_("Claim @NAME on the server") },
  { "lookup", cmd_lookup, TRUE, N_("Print the ID behind @NAME") },
  { "send", cmd_send, TRUE, N_("Send a message; waits until it is delivered") },
  { "listen", cmd_listen, TRUE, N_("Stay online and print events as JSON lines") },
  { "typing", cmd_typing, TRUE, N_("Tell a contact you are typing (on|off)") },
  { "read", cmd_read, TRUE, N_("Mark a conversation read and send read receipts") },
  { "history", cmd_history, FALSE, N_("Print a conversation") },
  { "rename", cmd_rename, FALSE, N_("Give a contact a name of your own") },
  { "block", cmd_block, TRUE, N_("Block a contact: no connections, no messages") },
  { "unblock", cmd_unblock, TRUE, N_("Unblock a contact") },
  { "safety-number", cmd_safety_number, TRUE, N_("Print the number to compare with a contact") },
  { "room", cmd_room, TRUE, N_("join NAME: stay in a room; members NAME: list it") },
  { "backup", cmd_backup, FALSE, N_("Back up the history now (commands also do it hourly)") },
  { "restore-backup", cmd_restore_backup, FALSE,
    N_("Put the last backup in place of a damaged history (which is kept)") },
};

static void
cli_clear (Cli *cli)
{
  if (cli->client != NULL && g_getenv ("NATTER_REPORT_STATS") != NULL)
    g_printerr ("natter-cli: envelopes-sent %" G_GUINT64_FORMAT "\n"
                "natter-cli: envelopes-received %" G_GUINT64_FORMAT "\n",
                natter_client_get_envelopes_sent (cli->client),
                natter_client_get_envelopes_received (cli->client));

  if (cli->client != NULL && !cli->borrowed)
    {
      natter_client_stop (cli->client);
      /* Let the goodbyes and the close frame reach the server. */
      spin (150);
    }
  g_clear_object (&cli->control);
  if (cli->profile != NULL)
    g_signal_handlers_disconnect_by_data (cli->profile, cli);
  g_clear_object (&cli->profile);
  g_clear_pointer (&cli->loop, g_main_loop_unref);
  g_free (cli->profile_name);
  g_free (cli->server);
  g_free (cli->identity_file);
  g_free (cli->search);
  g_free (cli->reply_to);
  g_free (cli->name);
  g_free (cli->bio);
  g_free (cli->avatar);
  g_free (cli->wait_message_id);
  if (cli->input != NULL && cli->input != stdin)
    fclose (cli->input);
}

/* The options, filling @cli; what is left (the command and its
 * arguments) goes to @rest */
static GOptionContext *
option_context_new (Cli     *cli,
                    char  ***rest)
{
  g_autoptr(GString) summary = g_string_new (NULL);
  GOptionContext *context;
  GOptionEntry entries[] = {
    { "profile", 'p', 0, G_OPTION_ARG_STRING, &cli->profile_name,
      N_("Use a separate identity and history"), N_("NAME") },
    { "server", 's', 0, G_OPTION_ARG_STRING, &cli->server,
      N_("Signaling server, remembered for the profile"), "ws://HOST:PORT/ws" },
    { "identity-file", 0, 0, G_OPTION_ARG_FILENAME, &cli->identity_file,
      N_("Keep the identity key in this file (mode 0600) instead of the keyring"), N_("PATH") },
    { "loopback", 0, 0, G_OPTION_ARG_NONE, &cli->loopback,
      N_("Also offer 127.0.0.1 to peers (both ends on this machine)"), NULL },
    { "no-wait", 0, 0, G_OPTION_ARG_NONE, &cli->no_wait,
      N_("send: return once the message is queued"), NULL },
    { "reply-to", 0, 0, G_OPTION_ARG_STRING, &cli->reply_to,
      N_("send: the ID of the message this one answers"), N_("ID") },
    { "timeout", 0, 0, G_OPTION_ARG_INT, &cli->timeout_s,
      N_("send, typing: give up after this many seconds (default 60)"), N_("SECONDS") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &cli->json, N_("Print JSON"), NULL },
    { "limit", 0, 0, G_OPTION_ARG_INT, &cli->limit,
      N_("history: at most this many messages (default 50)"), "N" },
    { "search", 0, 0, G_OPTION_ARG_STRING, &cli->search,
      N_("history: only messages matching TEXT"), N_("TEXT") },
    { "expect", 0, 0, G_OPTION_ARG_STRING, &cli->expect,
      N_("invite: send nothing unless the contact is this ID (what @HANDLE resolves to)"),
      N_("ID") },
    { "auto-accept-invitations", 0, 0, G_OPTION_ARG_NONE, &cli->auto_accept,
      N_("listen: accept every invitation"), NULL },
    { "name", 0, 0, G_OPTION_ARG_STRING, &cli->name,
      N_("profile: your display name"), N_("NAME") },
    { "bio", 0, 0, G_OPTION_ARG_STRING, &cli->bio,
      N_("profile: a short text about you"), N_("TEXT") },
    { "avatar", 0, 0, G_OPTION_ARG_FILENAME, &cli->avatar,
      N_("profile: a PNG, JPEG or WebP picture of at most 256 KiB (\"\" removes it)"), N_("FILE") },
    { "mark-read", 0, 0, G_OPTION_ARG_NONE, &cli->mark_read,
      N_("listen: mark incoming messages read at once (sends read receipts)"), NULL },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_STRING_ARRAY, rest, NULL, N_("COMMAND [ARGS…]") },
    { NULL }
  };

  g_string_append (summary, _("Commands:"));
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    g_string_append_printf (summary, "\n  %-16s %s", commands[i].name, _(commands[i].summary));

  context = g_option_context_new (NULL);
  g_option_context_set_summary (context, _("A headless Natter client for scripts and tests."));
  g_option_context_set_description (context, summary->str);
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  return context;
}

static const Command *
find_command (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    if (g_str_equal (name, commands[i].name))
      return &commands[i];

  return NULL;
}

/* Commands that stay online, or replace the history, cannot share a
 * profile with a process that is online on it. */
static gboolean
needs_the_profile_alone (const char  *name,
                         char       **args)
{
  return g_str_equal (name, "listen") || g_str_equal (name, "restore-backup") ||
         (g_str_equal (name, "room") && g_strcmp0 (args[0], "join") == 0);
}

static int
run_command (Cli   *cli,
             char **rest)
{
  const Command *command = find_command (rest[0]);

  if (command == NULL)
    {
      g_printerr (_("natter-cli: unknown command “%s”; see --help\n"), rest[0]);
      return 2;
    }

  if (cli->limit <= 0 || cli->timeout_s <= 0)
    {
      g_printerr (_("natter-cli: --limit and --timeout must be positive\n"));
      return 2;
    }

  if (cli->borrowed && needs_the_profile_alone (rest[0], rest + 1))
    {
      g_printerr (_("natter-cli: another process is online on this profile (natter-cli listen "
                    "or Natter); stop it first to run “%s”\n"), rest[0]);
      return 2;
    }

  if (!command->needs_identity || open_identity (cli))
    {
      if (command->run (cli, rest + 1))
        cli->exit_code = 0;
      else if (cli->exit_code == 0)
        cli->exit_code = 1;
    }

  return cli->exit_code;
}

/* Commands handed over by other processes of this profile */

static NatterControlCall *forward_call;

static void
print_to_call (const char *text)
{
  natter_control_call_print (forward_call, FALSE, text);
}

static void
printerr_to_call (const char *text)
{
  natter_control_call_print (forward_call, TRUE, text);
}

static void
on_control_request (NatterControl     *control,
                    JsonObject        *request,
                    NatterControlCall *call,
                    gpointer           user_data)
{
  Cli *cli = user_data;
  Cli sub = { .limit = 50, .timeout_s = 60, .borrowed = TRUE };
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) strv = NULL;
  g_auto(GStrv) rest = NULL;
  g_autofree char *input = NULL;
  NatterControlCall *outer_call = forward_call;
  GPrintFunc outer_print;
  GPrintFunc outer_printerr;
  JsonNode *argv_node = json_object_get_member (request, "argv");
  JsonArray *argv = argv_node != NULL && JSON_NODE_HOLDS_ARRAY (argv_node) ?
                    json_node_get_array (argv_node) : NULL;
  int exit_code = 2;

  g_strv_builder_add (builder, "natter-cli");
  for (guint i = 0; argv != NULL && i < json_array_get_length (argv); i++)
    {
      JsonNode *node = json_array_get_element (argv, i);

      if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING)
        g_strv_builder_add (builder, json_node_get_string (node));
    }
  strv = g_strv_builder_end (builder);

  sub.profile = g_object_ref (cli->profile);
  sub.identity = cli->identity;
  sub.store = cli->store;
  sub.client = cli->client;
  input = g_strdup (json_object_get_string_member_with_default (request, "stdin", ""));
  sub.input = fmemopen (input, strlen (input), "r");

  forward_call = call;
  outer_print = g_set_print_handler (print_to_call);
  outer_printerr = g_set_printerr_handler (printerr_to_call);

  context = option_context_new (&sub, &rest);
  if (!g_option_context_parse_strv (context, &strv, &error))
    g_printerr ("natter-cli: %s\n", error->message);
  else if (rest == NULL || rest[0] == NULL)
    g_printerr (_("natter-cli: no command; see --help\n"));
  else
    exit_code = run_command (&sub, rest);

  g_set_print_handler (outer_print);
  g_set_printerr_handler (outer_printerr);
  forward_call = outer_call;
  natter_control_call_finish (call, exit_code);

  /* What contacts see of us went to the client with the profile */
  cli_clear (&sub);
}

/* Takes the profile's control socket: from now on other natter-cli
 * processes hand their commands here instead of going online themselves. */
static gboolean
start_control (Cli *cli)
{
  g_autoptr(GError) error = NULL;

  cli->control = natter_control_new (natter_profile_get_path (cli->profile), &error);
  if (cli->control == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_EXISTS))
        return fail (cli, _("Another process is online on this profile (natter-cli listen or "
                            "Natter)"));
      g_printerr (_("natter-cli: other natter-cli processes cannot hand commands to this one: "
                    "%s\n"), error->message);
      return TRUE;
    }

  g_signal_connect (cli->control, "request", G_CALLBACK (on_control_request), cli);
  return TRUE;
}

/* Hands the command to the process online on the profile, if there is
 * one. Returns TRUE if it ran there, with its exit code. */
static gboolean
forward_command (Cli         *cli,
                 char       **original_args,
                 char       **rest,
                 int         *exit_code)
{
  g_autoptr(JsonObject) request = json_object_new ();
  g_autoptr(GError) error = NULL;
  JsonArray *argv = json_array_new ();
  JsonArray *args;

  /* Nothing is read from the standard input unless it goes there */
  if (!natter_control_is_online (natter_profile_get_path (cli->profile)))
    {
      json_array_unref (argv);
      return FALSE;
    }

  for (guint i = 0; original_args[i] != NULL; i++)
    json_array_add_string_element (argv, original_args[i]);
  json_object_set_array_member (request, "argv", argv);

  /* The same parsed, for a process that is not natter-cli (the app) */
  args = json_array_new ();
  for (guint i = 1; rest[i] != NULL; i++)
    json_array_add_string_element (args, rest[i]);
  json_object_set_string_member (request, "command", rest[0]);
  json_object_set_array_member (request, "args", args);
  json_object_set_boolean_member (request, "no_wait", cli->no_wait);
  json_object_set_int_member (request, "timeout", cli->timeout_s);

  if (g_str_equal (rest[0], "send") && g_strv_length (rest) >= 3 && g_str_equal (rest[2], "-"))
    {
      g_autoptr(GString) input = g_string_new (NULL);
      char buffer[4096];
      size_t n;

      while ((n = fread (buffer, 1, sizeof buffer, stdin)) > 0)
        g_string_append_len (input, buffer, n);
      json_object_set_string_member (request, "stdin", input->str);
    }

  if (natter_control_forward (natter_profile_get_path (cli->profile), request, exit_code, &error))
    return TRUE;

  if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
    {
      g_printerr ("natter-cli: %s\n", error->message);
      *exit_code = 1;
      return TRUE;
    }

  return FALSE;
}

/* Commands that only read or change local files run here even while
 * another process is online on the profile: they do not connect. */
static gboolean
stays_local (const char *name)
{
  const char *local[] = { "whoami", "profile", "history", "rename", "safety-number", "backup",
                          NULL };

  return g_strv_contains (local, name);
}

int
main (int   argc,
      char *argv[])
{
  g_auto(GStrv) rest = NULL;
  g_auto(GStrv) original_args = NULL;
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  Cli cli = { .limit = 50, .timeout_s = 60 };
  int exit_code;

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  original_args = g_strdupv (argv + 1);
  cli.input = stdin;
  context = option_context_new (&cli, &rest);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("natter-cli: %s\n", error->message);
      return 2;
    }

  if (rest == NULL || rest[0] == NULL)
    {
      g_autofree char *help = g_option_context_get_help (context, TRUE, NULL);

      g_printerr ("%s", help);
      return 2;
    }

  if (find_command (rest[0]) == NULL)
    {
      g_printerr (_("natter-cli: unknown command “%s”; see --help\n"), rest[0]);
      return 2;
    }

  if (!open_profile (&cli))
    {
      exit_code = cli.exit_code;
    }
  else if (!needs_the_profile_alone (rest[0], rest + 1) && !stays_local (rest[0]) &&
           forward_command (&cli, original_args, rest, &exit_code))
    {
      /* It ran in the process that is online on this profile */
    }
  else if (needs_the_profile_alone (rest[0], rest + 1) &&
           natter_control_is_online (natter_profile_get_path (cli.profile)))
    {
      g_printerr (_("natter-cli: another process is online on this profile (natter-cli listen "
                    "or Natter); stop it first to run “%s”\n"), rest[0]);
      exit_code = 2;
    }
  else
    {
      exit_code = run_command (&cli, rest);
    }

  cli_clear (&cli);
  return exit_code;
}
