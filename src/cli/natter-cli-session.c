/* natter-cli-session.c: what every command uses: opening the profile, going online, waiting
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "natter-cli"

#include "config.h"

#include <glib/gi18n.h>

#include "natter-cli-private.h"

gboolean
natter_cli_fail (Cli        *cli,
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

/* Events of listen go straight to its own standard output, also while it
 * runs a command handed over by another process (whose output goes there) */
void
natter_cli_print_event (JsonObject *event)
{
  g_autofree char *text = natter_json_object_to_string (event, NULL);

  fputs (text, stdout);
  fputc ('\n', stdout);
  fflush (stdout);
}

JsonObject *
natter_cli_event_new (const char *name)
{
  JsonObject *event = json_object_new ();

  json_object_set_string_member (event, "event", name);
  json_object_set_int_member (event, "time", g_get_real_time () / 1000);
  return event;
}

/* Runs the main loop until @done is set or @timeout_s passes. */
gboolean
natter_cli_run_until (gboolean *done,
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
void
natter_cli_spin (guint ms)
{
  gint64 until = g_get_monotonic_time () + (gint64) ms * 1000;

  while (g_get_monotonic_time () < until)
    {
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (1000);
    }
}

void
natter_cli_on_async_done (GObject      *source,
                          GAsyncResult *result,
                          gpointer      user_data)
{
  Cli *cli = user_data;

  cli->result = g_object_ref (result);
}

GAsyncResult *
natter_cli_wait_async (Cli *cli)
{
  gint64 deadline = g_get_monotonic_time () + REQUEST_WAIT_S * G_USEC_PER_SEC;

  while (cli->result == NULL && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);

  return g_steal_pointer (&cli->result);
}

/* Profiles, settings, identity, store */

gboolean
natter_cli_open_profile (Cli *cli)
{
  g_autoptr(GError) error = NULL;

  cli->profile = natter_profile_new (cli->profile_name, &error);
  if (cli->profile == NULL)
    return natter_cli_fail (cli, "%s", error->message);

  natter_profile_set_identity_file (cli->profile, cli->identity_file);

  /* Written only when it changes: reading works on a full disk */
  if (cli->server != NULL && !natter_profile_set_server_url (cli->profile, cli->server, &error))
    return natter_cli_fail (cli, "%s", error->message);
  if (cli->nearby && !natter_profile_set_nearby_with_server (cli->profile, TRUE, &error))
    return natter_cli_fail (cli, "%s", error->message);

  return TRUE;
}

gboolean
natter_cli_open_identity (Cli *cli)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(NatterIdentity) identity = NULL;
  g_autoptr(GError) error = NULL;

  if (cli->identity != NULL)
    return TRUE;

  natter_profile_load_identity_async (cli->profile, NULL, natter_cli_on_async_done, cli);
  result = natter_cli_wait_async (cli);
  if (result == NULL)
    return natter_cli_fail (cli, _("The keyring did not answer in time"));

  /* The identity's errors already say what to do, --identity-file included. */
  identity = natter_profile_load_identity_finish (cli->profile, result, &error);
  if (identity == NULL)
    return natter_cli_fail (cli, "%s", error->message);

  cli->identity = natter_profile_get_identity (cli->profile);
  return TRUE;
}

gboolean
natter_cli_open_store (Cli *cli)
{
  g_autoptr(GError) error = NULL;

  if (cli->store != NULL)
    return TRUE;

  cli->store = natter_profile_open_store (cli->profile, &error);
  if (cli->store == NULL)
    return natter_cli_fail (cli, _("Cannot open the history: %s"), error->message);

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

gboolean
natter_cli_open_client (Cli *cli)
{
  g_autoptr(GBytes) avatar = NULL;
  g_autoptr(GError) error = NULL;

  if (cli->client != NULL)
    return TRUE;

  if (!natter_cli_open_store (cli))
    return FALSE;

  cli->client = natter_profile_open_client (cli->profile, &error);
  /* No server: the people on this network (natter-cli-nearby.c) */
  if (g_error_matches (error, NATTER_PROFILE_ERROR, NATTER_PROFILE_ERROR_NO_SERVER))
    {
      g_clear_error (&error);
      cli->client = natter_profile_open_nearby_client (cli->profile, &error);
    }
  if (cli->client == NULL)
    return natter_cli_fail (cli, "%s", error->message);

  natter_client_set_loopback (cli->client, cli->loopback);
  natter_client_set_relay_only (cli->client, cli->relay_only);

  /* What contacts see of us: set with `natter-cli profile` */
  avatar = natter_profile_dup_avatar (cli->profile, &error);
  if (error != NULL)
    return natter_cli_fail (cli, "%s", error->message);

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

gboolean
natter_cli_go_online (Cli *cli)
{
  NatterSignaling *signaling;
  gboolean online = FALSE;
  gulong handler;

  if (!natter_cli_open_client (cli))
    return FALSE;

  signaling = natter_client_get_signaling (cli->client);
  if (signaling == NULL)
    return natter_cli_go_online_nearby (cli);

  if (natter_signaling_get_state (signaling) == NATTER_SIGNALING_STATE_ONLINE)
    return TRUE;

  handler = g_signal_connect (signaling, "notify::state", G_CALLBACK (on_state_notify), &online);
  /* A borrowed client is the online process's own: it is already trying */
  if (!cli->borrowed)
    natter_client_start (cli->client);
  natter_cli_run_until (&online, ONLINE_TIMEOUT_S);
  g_signal_handler_disconnect (signaling, handler);

  if (!online)
    {
      const char *why = natter_signaling_get_last_error (signaling);

      return natter_cli_fail (cli, _("Could not connect to %s: %s"),
                              natter_signaling_get_url (signaling),
                              why != NULL ? why : _("no answer"));
    }

  return TRUE;
}

NatterFrame *
natter_cli_request (Cli         *cli,
                    NatterFrame *frame)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  NatterFrame *reply;
  NatterSignaling *signaling = natter_client_get_signaling (cli->client);

  natter_signaling_request_async (signaling, frame, NULL, natter_cli_on_async_done, cli);
  result = natter_cli_wait_async (cli);
  if (result == NULL)
    {
      natter_cli_fail (cli, _("The server did not answer"));
      return NULL;
    }

  reply = natter_signaling_request_finish (signaling, result, &error);
  if (reply == NULL)
    natter_cli_fail (cli, "%s", error->message);

  return reply;
}

/* Finds a contact by user ID (any spelling), alias or display name. */
char *
natter_cli_resolve_contact (Cli        *cli,
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
              natter_cli_fail (cli, _("More than one contact is called “%s”; use the ID"),
                               what);
              return NULL;
            }
          found = g_strdup (natter_contact_get_user_id (contact));
        }
    }

  if (found == NULL)
    natter_cli_fail (cli, _("“%s” is neither a valid Natter ID nor the name of a contact"),
                     what);

  return found;
}

/* Says so if a connection to @contact_id was refused for trust while this
 * ran: the reason a message did not go is then someone in the middle. */
gboolean
natter_cli_report_trust_failure (Cli        *cli,
                                 const char *contact_id)
{
  NatterContactSession *session = natter_client_get_session (cli->client, contact_id);
  const char *reason = natter_contact_session_get_trust_failure (session);

  if (reason == NULL)
    return FALSE;

  g_printerr (_("natter-cli: refused the connection to %s: it was not signed with their key, "
                "so someone may be in the middle (%s). Nothing was sent; compare safety "
                "numbers.\n"), contact_id, reason);
  return TRUE;
}

gboolean
natter_cli_wait_for_chat (Cli        *cli,
                          const char *contact_id)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) cli->timeout_s * G_USEC_PER_SEC;

  natter_client_connect_to (cli->client, contact_id);
  while (natter_client_get_peer_state (cli->client, contact_id) != NATTER_PEER_STATE_CONNECTED)
    {
      if (g_get_monotonic_time () >= deadline)
        {
          if (natter_cli_report_trust_failure (cli, contact_id))
            {
              cli->exit_code = 1;
              return FALSE;
            }
          return natter_cli_fail (cli, _("Could not connect to %s"), contact_id);
        }
      g_main_context_iteration (NULL, TRUE);
      if (natter_client_get_peer_state (cli->client, contact_id) == NATTER_PEER_STATE_NEW &&
          natter_client_is_contact_online (cli->client, contact_id))
        natter_client_connect_to (cli->client, contact_id);
    }

  /* Let the chat channel open after ICE and DTLS. */
  natter_cli_spin (200);

  return TRUE;
}
