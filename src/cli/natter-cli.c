/* natter-cli.c: a headless Natter client for scripts, bots and tests
 *
 * The command line and the table of commands; each group of commands has
 * a file of its own (natter-cli-private.h lists them).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "natter-cli"

#include "config.h"

#include <locale.h>
#include <stdio.h>

#include <glib/gi18n.h>

#include "natter-cli-private.h"

typedef struct
{
  const char *name;
  gboolean  (*run) (Cli *cli, char **args);
  gboolean    needs_identity;
  const char *summary;
} Command;

static const Command commands[] = {
  { "whoami", natter_cli_cmd_whoami, TRUE, N_("Print your Natter ID (made on first use)") },
  { "profile", natter_cli_cmd_profile, FALSE,
    N_("Show or set what contacts see: --name, --bio, --avatar") },
  { "invite", natter_cli_cmd_invite, TRUE, N_("Invite ID or @handle to become a contact") },
  { "invitations", natter_cli_cmd_invitations, TRUE, N_("List pending invitations") },
  { "accept", natter_cli_cmd_accept, TRUE, N_("Accept an invitation") },
  { "decline", natter_cli_cmd_decline, TRUE, N_("Decline an invitation") },
  { "nearby", natter_cli_cmd_nearby, TRUE,
    N_("Without a server: list the people found on this network") },
  { "connect", natter_cli_cmd_connect, TRUE,
    N_("Without a server: reach someone at HOST:PORT (remembered)") },
  { "contacts", natter_cli_cmd_contacts, TRUE, N_("List contacts and whether they are online") },
  { "register-handle", natter_cli_cmd_register_handle, TRUE, N_("Claim @NAME on the server") },
  { "lookup", natter_cli_cmd_lookup, TRUE, N_("Print the ID behind @NAME") },
  { "send", natter_cli_cmd_send, TRUE, N_("Send a message; waits until it is delivered") },
  { "listen", natter_cli_cmd_listen, TRUE, N_("Stay online and print events as JSON lines") },
  { "send-file", natter_cli_cmd_send_file, TRUE,
    N_("Send files; waits until the contact confirmed each checksum") },
  { "transfers", natter_cli_cmd_transfers, TRUE, N_("List file transfers") },
  { "accept-file", natter_cli_cmd_accept_file, TRUE,
    N_("Accept a file offered to you, into DIR or Downloads") },
  { "decline-file", natter_cli_cmd_decline_file, TRUE, N_("Decline a file offered to you") },
  { "cancel", natter_cli_cmd_cancel, TRUE, N_("Cancel a file transfer") },
  { "resume", natter_cli_cmd_resume, TRUE,
    N_("Go on with a received file that failed part-way (a full disk)") },
  { "typing", natter_cli_cmd_typing, TRUE, N_("Tell a contact you are typing (on|off)") },
  { "read", natter_cli_cmd_read, TRUE, N_("Mark a conversation read and send read receipts") },
  { "history", natter_cli_cmd_history, FALSE, N_("Print a conversation") },
  { "rename", natter_cli_cmd_rename, FALSE, N_("Give a contact a name of your own") },
  { "block", natter_cli_cmd_block, TRUE, N_("Block a contact: no connections, no messages") },
  { "unblock", natter_cli_cmd_unblock, TRUE, N_("Unblock a contact") },
  { "safety-number", natter_cli_cmd_safety_number, TRUE,
    N_("Print the number to compare with a contact") },
  { "room", natter_cli_cmd_room, TRUE, N_("join NAME: stay in a room; members NAME: list it") },
  { "backup", natter_cli_cmd_backup, FALSE,
    N_("Back up the history now (commands also do it hourly)") },
  { "restore-backup", natter_cli_cmd_restore_backup, FALSE,
    N_("Put the last backup in place of a damaged history (which is kept)") },
  { "call", natter_cli_cmd_call, TRUE,
    N_("Call a contact; stays until the call ends (--audio-only, --test-media, --duration)") },
  { "calls", natter_cli_cmd_calls, FALSE, N_("List the calls with a contact") },
};

void
natter_cli_clear (Cli *cli)
{
  if (cli->client != NULL && g_getenv ("NATTER_REPORT_STATS") != NULL)
    g_printerr ("natter-cli: envelopes-sent %" G_GUINT64_FORMAT "\n"
                "natter-cli: envelopes-received %" G_GUINT64_FORMAT "\n",
                natter_client_get_envelopes_sent (cli->client),
                natter_client_get_envelopes_received (cli->client));

  if (cli->client != NULL && !cli->borrowed)
    {
      gint64 deadline = g_get_monotonic_time () + G_USEC_PER_SEC;

      /* What was just sent (a hang-up, a receipt) leaves before the peer
       * connections close, or the other side hears first that we went. */
      while (natter_client_has_unsent (cli->client) && g_get_monotonic_time () < deadline)
        natter_cli_spin (10);
      natter_client_stop (cli->client);
      /* Let the goodbyes and the close frame reach the server. */
      natter_cli_spin (150);
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
  g_free (cli->auto_accept_files);
  g_free (cli->cwd);
  g_free (cli->wait_message_id);
  if (cli->input != NULL && cli->input != stdin)
    fclose (cli->input);
}

/* The options, filling @cli; what is left (the command and its
 * arguments) goes to @rest */
GOptionContext *
natter_cli_option_context_new (Cli     *cli,
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
    { "nearby", 0, 0, G_OPTION_ARG_NONE, &cli->nearby,
      N_("With a server, also find contacts on this network and reach them directly "
         "(remembered)"), NULL },
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
      N_("profile: your display name; send-file: the name the contact sees"), N_("NAME") },
    { "bio", 0, 0, G_OPTION_ARG_STRING, &cli->bio,
      N_("profile: a short text about you"), N_("TEXT") },
    { "avatar", 0, 0, G_OPTION_ARG_FILENAME, &cli->avatar,
      N_("profile: a PNG, JPEG or WebP picture of at most 256 KiB (\"\" removes it)"), N_("FILE") },
    { "auto-accept-files", 0, 0, G_OPTION_ARG_FILENAME, &cli->auto_accept_files,
      N_("listen: accept every file offered, into DIR"), N_("DIR") },
    { "mark-read", 0, 0, G_OPTION_ARG_NONE, &cli->mark_read,
      N_("listen: mark incoming messages read at once (sends read receipts)"), NULL },
    { "audio-only", 0, 0, G_OPTION_ARG_NONE, &cli->audio_only,
      N_("call: no video either way"), NULL },
    { "test-media", 0, 0, G_OPTION_ARG_NONE, &cli->test_media,
      N_("call, listen: send a test pattern and a tone instead of camera and microphone"),
      NULL },
    { "duration", 0, 0, G_OPTION_ARG_INT, &cli->call_duration_s,
      N_("call, listen: hang up this many seconds after a call connects"), N_("SECONDS") },
    { "auto-answer", 0, 0, G_OPTION_ARG_NONE, &cli->auto_answer,
      N_("listen: answer every call"), NULL },
    { "auto-decline", 0, 0, G_OPTION_ARG_NONE, &cli->auto_decline,
      N_("listen: decline every call"), NULL },
    { "ring-timeout", 0, 0, G_OPTION_ARG_INT, &cli->ring_timeout_s,
      N_("call, listen: an unanswered call is missed after this many seconds (default 45)"),
      N_("SECONDS") },
    { "relay-only", 0, 0, G_OPTION_ARG_NONE, &cli->relay_only,
      N_("Connect to peers only through the server's TURN relay"), NULL },
    { "mute", 0, 0, G_OPTION_ARG_NONE, &cli->mute,
      N_("call, listen: turn the microphone off once a call connects"), NULL },
    { "camera-off", 0, 0, G_OPTION_ARG_NONE, &cli->camera_off,
      N_("call, listen: turn the camera off once a call connects"), NULL },
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
         g_str_equal (name, "call") ||
         (g_str_equal (name, "room") && g_strcmp0 (args[0], "join") == 0);
}

int
natter_cli_run_command (Cli   *cli,
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

  if (!command->needs_identity || natter_cli_open_identity (cli))
    {
      if (command->run (cli, rest + 1))
        cli->exit_code = 0;
      else if (cli->exit_code == 0)
        cli->exit_code = 1;
    }

  return cli->exit_code;
}

/* Commands that only read or change local files run here even while
 * another process is online on the profile: they do not connect. */
static gboolean
stays_local (const char *name)
{
  const char *local[] = { "whoami", "profile", "history", "safety-number", "backup", NULL };

  return g_strv_contains (local, name);
}

/* main() (main.c): natter-cli's commands are a library the app links too */
int
natter_cli_main (int   argc,
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
  context = natter_cli_option_context_new (&cli, &rest);
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

  if (!natter_cli_open_profile (&cli))
    {
      exit_code = cli.exit_code;
    }
  else if (!needs_the_profile_alone (rest[0], rest + 1) && !stays_local (rest[0]) &&
           natter_cli_forward_command (&cli, original_args, rest, &exit_code))
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
      exit_code = natter_cli_run_command (&cli, rest);
    }

  natter_cli_clear (&cli);
  return exit_code;
}
