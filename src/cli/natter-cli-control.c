/* natter-cli-control.c: the hand-off between processes of one profile
 *
 * The process online on a profile (natter-cli listen, or the app) holds its
 * control socket and runs the commands other natter-cli processes hand it.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "natter-cli"

#include "config.h"

#include <stdio.h>
#include <string.h>

#include <glib/gi18n.h>

#include "natter-cli-private.h"
#include "natter-cli-handoff.h"

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

/**
 * natter_cli_run_handed_over:
 * @profile: the profile of the process that is online
 * @client: its client, online
 * @request: what another natter-cli process asked: its "argv", maybe "stdin"
 * @call: where the output goes; finished here with the exit code
 *
 * Runs a command another natter-cli process handed over, as natter-cli
 * would have run it but on the objects of the process that is online (the
 * app or natter-cli listen), so nobody connects a second time. Commands
 * that wait (send, invite) turn the main loop meanwhile.
 */
void
natter_cli_run_handed_over (NatterProfile     *profile,
                            NatterClient      *client,
                            JsonObject        *request,
                            NatterControlCall *call)
{
  Cli sub = { .limit = 50, .timeout_s = 60, .borrowed = TRUE };
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) strv = NULL;
  g_auto(GStrv) rest = NULL;
  g_autofree char *input = NULL;
  /* The online process may let go of its client while the command waits */
  g_autoptr(NatterClient) keep_client = g_object_ref (client);
  NatterControlCall *outer_call = forward_call;
  GPrintFunc outer_print;
  GPrintFunc outer_printerr;
  JsonNode *argv_node = json_object_get_member (request, "argv");
  JsonArray *argv = argv_node != NULL && JSON_NODE_HOLDS_ARRAY (argv_node) ?
                    json_node_get_array (argv_node) : NULL;
  int exit_code = 2;

  g_return_if_fail (NATTER_IS_PROFILE (profile));
  g_return_if_fail (NATTER_IS_CLIENT (client));

  g_strv_builder_add (builder, "natter-cli");
  for (guint i = 0; argv != NULL && i < json_array_get_length (argv); i++)
    {
      JsonNode *node = json_array_get_element (argv, i);

      if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING)
        g_strv_builder_add (builder, json_node_get_string (node));
    }
  strv = g_strv_builder_end (builder);

  sub.profile = g_object_ref (profile);
  sub.identity = natter_client_get_identity (client);
  sub.store = natter_client_get_store (client);
  sub.client = client;
  input = g_strdup (json_object_get_string_member_with_default (request, "stdin", ""));
  sub.cwd = g_strdup (json_object_get_string_member_with_default (request, "cwd", NULL));
  sub.input = fmemopen (input, strlen (input), "r");

  forward_call = call;
  outer_print = g_set_print_handler (print_to_call);
  outer_printerr = g_set_printerr_handler (printerr_to_call);

  context = natter_cli_option_context_new (&sub, &rest);
  if (!g_option_context_parse_strv (context, &strv, &error))
    g_printerr ("natter-cli: %s\n", error->message);
  else if (rest == NULL || rest[0] == NULL)
    g_printerr (_("natter-cli: no command; see --help\n"));
  else
    exit_code = natter_cli_run_command (&sub, rest);

  g_set_print_handler (outer_print);
  g_set_printerr_handler (outer_printerr);
  forward_call = outer_call;
  natter_control_call_finish (call, exit_code);

  /* What contacts see of us went to the client with the profile */
  natter_cli_clear (&sub);
}

static void
on_control_request (NatterControl     *control,
                    JsonObject        *request,
                    NatterControlCall *call,
                    gpointer           user_data)
{
  Cli *cli = user_data;

  natter_cli_run_handed_over (cli->profile, cli->client, request, call);
}

/* Takes the profile's control socket: from now on other natter-cli
 * processes hand their commands here instead of going online themselves. */
gboolean
natter_cli_start_control (Cli *cli)
{
  g_autoptr(GError) error = NULL;

  cli->control = natter_control_new (natter_profile_get_path (cli->profile), &error);
  if (cli->control == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_EXISTS))
        return natter_cli_fail (cli, _("Another process is online on this profile "
                                       "(natter-cli listen or Natter)"));
      g_printerr (_("natter-cli: other natter-cli processes cannot hand commands to this one: "
                    "%s\n"), error->message);
      return TRUE;
    }

  g_signal_connect (cli->control, "request", G_CALLBACK (on_control_request), cli);
  return TRUE;
}

/* Hands the command to the process online on the profile, if there is
 * one. Returns TRUE if it ran there, with its exit code. */
gboolean
natter_cli_forward_command (Cli         *cli,
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
  {
    g_autofree char *cwd = g_get_current_dir ();

    json_object_set_string_member (request, "cwd", cwd);
  }

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
