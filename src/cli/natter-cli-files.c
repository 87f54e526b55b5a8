/* natter-cli-files.c: send-file, transfers, cancel, and transfer events for listen
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "natter-cli"

#include "config.h"

#include <unistd.h>

#include <glib/gi18n.h>

#include "natter-cli-private.h"
#include "natter-safe-text.h"

#define PROGRESS_INTERVAL_US (200 * G_TIME_SPAN_MILLISECOND)

static const char *
direction_name (NatterTransfer *transfer)
{
  return natter_transfer_get_direction (transfer) == NATTER_TRANSFER_DIRECTION_IN ? "in" : "out";
}

static JsonObject *
transfer_to_json (NatterTransfer *transfer,
                  const char     *event_name)
{
  JsonObject *object = event_name != NULL ? natter_cli_event_new (event_name) : json_object_new ();

  json_object_set_string_member (object, "id", natter_transfer_get_id (transfer));
  json_object_set_string_member (object, "contact", natter_transfer_get_contact_id (transfer));
  json_object_set_string_member (object, "direction", direction_name (transfer));
  json_object_set_string_member (object, "name", natter_transfer_get_name (transfer));
  json_object_set_int_member (object, "size", natter_transfer_get_size (transfer));
  json_object_set_string_member (object, "mime", natter_transfer_get_mime_type (transfer));
  json_object_set_string_member (object, "state",
                                 natter_transfer_state_to_string (natter_transfer_get_state (transfer)));
  json_object_set_int_member (object, "bytes", natter_transfer_get_bytes_done (transfer));
  if (natter_transfer_get_path (transfer) != NULL)
    json_object_set_string_member (object, "path", natter_transfer_get_path (transfer));
  if (natter_transfer_get_sha256 (transfer) != NULL)
    json_object_set_string_member (object, "sha256", natter_transfer_get_sha256 (transfer));
  if (natter_transfer_get_error (transfer) != NULL)
    json_object_set_string_member (object, "error", natter_transfer_get_error (transfer));
  if (natter_transfer_get_thumbnail (transfer) != NULL)
    json_object_set_boolean_member (object, "thumbnail", TRUE);
  return object;
}

/* listen */

static void
on_listen_transfer_state (NatterTransfer *transfer,
                          GParamSpec     *pspec,
                          gpointer        user_data)
{
  g_autoptr(JsonObject) event = transfer_to_json (transfer, "transfer");

  natter_cli_print_event (event);
}

static void
watch_transfer (Cli            *cli,
                NatterTransfer *transfer)
{
  if (g_object_get_data (G_OBJECT (transfer), "natter-cli-watched") != NULL)
    return;
  g_object_set_data (G_OBJECT (transfer), "natter-cli-watched", GINT_TO_POINTER (1));
  g_signal_connect_object (transfer, "notify::state", G_CALLBACK (on_listen_transfer_state),
                           cli->client, 0);
}

static void
on_listen_transfer_added (NatterClient   *client,
                          NatterTransfer *transfer,
                          gpointer        user_data)
{
  g_autoptr(JsonObject) event = transfer_to_json (transfer, "transfer-added");

  natter_cli_print_event (event);
  watch_transfer (user_data, transfer);
}

static void
on_listen_transfer_started (NatterClient   *client,
                            NatterTransfer *transfer,
                            guint64         offset,
                            gpointer        user_data)
{
  g_autoptr(JsonObject) event = transfer_to_json (transfer, "transfer-started");

  json_object_set_int_member (event, "offset", offset);
  natter_cli_print_event (event);
  watch_transfer (user_data, transfer);
}

/* Called by listen: transfer events, and files taken without asking */
gboolean
natter_cli_listen_transfers (Cli *cli)
{
  g_autoptr(GPtrArray) transfers = NULL;

  if (cli->auto_accept_files != NULL)
    {
      g_autoptr(GFile) folder = g_file_new_for_commandline_arg (cli->auto_accept_files);
      g_autofree char *path = g_file_get_path (folder);
      g_autoptr(GError) error = NULL;

      if (!g_file_make_directory_with_parents (folder, NULL, &error) &&
          !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_EXISTS))
        return natter_cli_fail (cli, "%s", error->message);

      natter_client_set_download_folder (cli->client, path);
      natter_client_set_auto_accept_size (cli->client, G_MAXUINT64);
    }

  g_signal_connect (cli->client, "transfer-added", G_CALLBACK (on_listen_transfer_added), cli);
  g_signal_connect (cli->client, "transfer-started", G_CALLBACK (on_listen_transfer_started), cli);

  transfers = natter_client_list_transfers (cli->client, NULL, NULL);
  for (guint i = 0; transfers != NULL && i < transfers->len; i++)
    if (!natter_transfer_is_finished (g_ptr_array_index (transfers, i)))
      watch_transfer (cli, g_ptr_array_index (transfers, i));

  return TRUE;
}

/* send-file */

typedef struct
{
  Cli       *cli;
  GPtrArray *transfers;
  gint64     last_change;
  guint64    last_bytes;
  gboolean   done;
  gboolean   progress;
  gint64     printed;
} Sending;

static gboolean
all_finished (Sending *sending)
{
  for (guint i = 0; i < sending->transfers->len; i++)
    if (!natter_transfer_is_finished (g_ptr_array_index (sending->transfers, i)))
      return FALSE;
  return TRUE;
}

static void
print_progress (Sending  *sending,
                gboolean  last)
{
  guint64 total = 0;
  guint64 done = 0;
  double rate = 0;
  g_autofree char *done_text = NULL;
  g_autofree char *total_text = NULL;
  g_autofree char *rate_text = NULL;
  char bar[31];
  guint filled;

  for (guint i = 0; i < sending->transfers->len; i++)
    {
      NatterTransfer *transfer = g_ptr_array_index (sending->transfers, i);

      total += natter_transfer_get_size (transfer);
      done += natter_transfer_get_bytes_done (transfer);
      rate += natter_transfer_get_rate (transfer);
    }

  filled = total > 0 ? (guint) (30.0 * done / total) : 30;
  for (guint i = 0; i < 30; i++)
    bar[i] = i < filled ? '#' : '-';
  bar[30] = '\0';
  done_text = g_format_size (done);
  total_text = g_format_size (total);
  rate_text = g_format_size ((guint64) rate);
  g_printerr ("\r[%s] %s / %s  %s/s   %s", bar, done_text, total_text, rate_text,
              last ? "\n" : "");
}

static void
on_send_notify (NatterTransfer *transfer,
                GParamSpec     *pspec,
                gpointer        user_data)
{
  Sending *sending = user_data;
  gint64 now = g_get_monotonic_time ();

  sending->last_change = now;
  if (sending->progress && now - sending->printed >= PROGRESS_INTERVAL_US)
    {
      sending->printed = now;
      print_progress (sending, FALSE);
    }
  if (all_finished (sending))
    sending->done = TRUE;
}

static gboolean
on_send_tick (gpointer user_data)
{
  Sending *sending = user_data;

  /* Given up only when nothing moved for --timeout seconds */
  if (g_get_monotonic_time () - sending->last_change >
      (gint64) sending->cli->timeout_s * G_USEC_PER_SEC)
    sending->done = TRUE;

  return G_SOURCE_CONTINUE;
}

static GFile *
file_for_argument (Cli        *cli,
                   const char *argument)
{
  if (cli->cwd != NULL)
    return g_file_new_for_commandline_arg_and_cwd (argument, cli->cwd);
  return g_file_new_for_commandline_arg (argument);
}

gboolean
natter_cli_cmd_send_file (Cli   *cli,
                          char **args)
{
  g_autofree char *contact_id = NULL;
  g_autoptr(GPtrArray) transfers = g_ptr_array_new_with_free_func (g_object_unref);
  Sending sending = { .cli = cli };
  gboolean ok = TRUE;
  guint tick;

  if (args[0] == NULL || args[1] == NULL)
    return natter_cli_fail (cli, _("Usage: natter-cli send-file CONTACT PATH…"));

  if (!natter_cli_open_client (cli) ||
      (contact_id = natter_cli_resolve_contact (cli, args[0])) == NULL)
    return FALSE;

  for (guint i = 1; args[i] != NULL; i++)
    {
      g_autoptr(GFile) file = file_for_argument (cli, args[i]);
      g_autoptr(GError) error = NULL;
      NatterTransfer *transfer = natter_client_send_file (cli->client, contact_id, file,
                                                           args[2] == NULL ? cli->name : NULL,
                                                           &error);

      if (transfer == NULL)
        {
          g_autofree char *safe = natter_safe_text (args[i], " ");

          g_printerr ("natter-cli: %s: %s\n", safe, error->message);
          ok = FALSE;
          continue;
        }
      if (cli->json)
        {
          g_autoptr(JsonObject) object = transfer_to_json (transfer, NULL);
          g_autofree char *text = natter_json_object_to_string (object, NULL);

          g_print ("%s\n", text);
        }
      g_ptr_array_add (transfers, transfer);
    }

  if (transfers->len == 0)
    {
      cli->exit_code = 1;
      return FALSE;
    }

  if (cli->no_wait)
    return ok;

  sending.transfers = transfers;
  sending.last_change = g_get_monotonic_time ();
  sending.progress = !cli->borrowed && !cli->json && isatty (STDERR_FILENO);
  for (guint i = 0; i < transfers->len; i++)
    {
      g_signal_connect (g_ptr_array_index (transfers, i), "notify::bytes-done",
                        G_CALLBACK (on_send_notify), &sending);
      g_signal_connect (g_ptr_array_index (transfers, i), "notify::state",
                        G_CALLBACK (on_send_notify), &sending);
    }

  natter_client_start (cli->client);
  tick = g_timeout_add (250, on_send_tick, &sending);
  sending.done = all_finished (&sending);
  natter_cli_run_until (&sending.done, 0);
  g_source_remove (tick);
  if (sending.progress)
    print_progress (&sending, TRUE);

  for (guint i = 0; i < transfers->len; i++)
    {
      NatterTransfer *transfer = g_ptr_array_index (transfers, i);
      g_autofree char *name = natter_safe_text (natter_transfer_get_name (transfer), " ");

      g_signal_handlers_disconnect_by_data (transfer, &sending);
      switch (natter_transfer_get_state (transfer))
        {
        case NATTER_TRANSFER_STATE_DONE:
          if (!cli->json)
            g_print (_("%s: received, checksum confirmed (%s)\n"), name,
                     natter_transfer_get_sha256 (transfer));
          break;
        case NATTER_TRANSFER_STATE_DECLINED:
          g_printerr (_("natter-cli: %s: the contact declined it\n"), name);
          ok = FALSE;
          break;
        case NATTER_TRANSFER_STATE_CANCELLED:
          g_printerr (_("natter-cli: %s: cancelled\n"), name);
          ok = FALSE;
          break;
        case NATTER_TRANSFER_STATE_FAILED:
          {
            g_autofree char *why = natter_safe_text (natter_transfer_get_error (transfer) != NULL ?
                                                     natter_transfer_get_error (transfer) : "", " ");
            g_printerr (_("natter-cli: %s: failed: %s\n"), name, why);
            ok = FALSE;
          }
          break;
        default:
          g_printerr (_("natter-cli: %s: nothing moved for %d s; it goes on the next time "
                        "natter-cli runs while the contact is online (transfer %s)\n"),
                      name, cli->timeout_s, natter_transfer_get_id (transfer));
          cli->exit_code = 3;
          ok = FALSE;
          break;
        }
    }

  if (!ok && cli->exit_code == 0)
    cli->exit_code = 1;
  return ok;
}

/* transfers */

gboolean
natter_cli_cmd_transfers (Cli   *cli,
                          char **args)
{
  g_autoptr(GPtrArray) transfers = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *contact_id = NULL;

  if (!natter_cli_open_client (cli))
    return FALSE;
  if (args[0] != NULL && (contact_id = natter_cli_resolve_contact (cli, args[0])) == NULL)
    return FALSE;

  transfers = natter_client_list_transfers (cli->client, contact_id, &error);
  if (transfers == NULL)
    return natter_cli_fail (cli, "%s", error->message);

  for (guint i = 0; i < transfers->len; i++)
    {
      NatterTransfer *transfer = g_ptr_array_index (transfers, i);

      if (cli->json)
        {
          g_autoptr(JsonObject) object = transfer_to_json (transfer, NULL);
          g_autofree char *text = natter_json_object_to_string (object, NULL);

          g_print ("%s\n", text);
        }
      else
        {
          g_autofree char *name = natter_safe_text (natter_transfer_get_name (transfer), " ");
          g_autofree char *size = g_format_size (natter_transfer_get_size (transfer));

          g_print ("%s  %-3s  %-12s  %3d%%  %s  %s\n", natter_transfer_get_id (transfer),
                   direction_name (transfer),
                   natter_transfer_state_to_string (natter_transfer_get_state (transfer)),
                   natter_transfer_get_size (transfer) > 0 ?
                   (int) (100 * natter_transfer_get_bytes_done (transfer) /
                          natter_transfer_get_size (transfer)) : 100,
                   size, name);
        }
    }

  return TRUE;
}

/* The transfer of this ID, or NULL (said) */
static NatterTransfer *
find_transfer (Cli        *cli,
               const char *id)
{
  g_autoptr(GPtrArray) transfers = NULL;
  g_autoptr(GError) error = NULL;

  if (!natter_cli_open_client (cli))
    return NULL;

  transfers = natter_client_list_transfers (cli->client, NULL, &error);
  if (transfers == NULL)
    {
      natter_cli_fail (cli, "%s", error->message);
      return NULL;
    }

  for (guint i = 0; i < transfers->len; i++)
    {
      NatterTransfer *transfer = g_ptr_array_index (transfers, i);

      if (g_str_equal (natter_transfer_get_id (transfer), id))
        return g_object_ref (transfer);
    }

  natter_cli_fail (cli, _("There is no transfer %s; see natter-cli transfers"), id);
  return NULL;
}

/* Tells the contact now if they are online: a command that is not online
 * all along goes online for it */
static gboolean
reach_contact (Cli            *cli,
               NatterTransfer *transfer)
{
  gboolean reached = FALSE;

  if (cli->borrowed)
    return FALSE;

  natter_client_start (cli->client);
  natter_cli_spin (1500);
  if (natter_client_is_contact_online (cli->client, natter_transfer_get_contact_id (transfer)))
    reached = natter_cli_wait_for_chat (cli, natter_transfer_get_contact_id (transfer));
  cli->exit_code = 0;
  return reached;
}

/* accept-file, decline-file */

static gboolean wait_for_arrival (Cli            *cli,
                                  NatterTransfer *transfer);

gboolean
natter_cli_cmd_accept_file (Cli   *cli,
                            char **args)
{
  g_autoptr(NatterTransfer) transfer = NULL;
  g_autoptr(GFile) folder = NULL;
  g_autoptr(GError) error = NULL;

  if (args[0] == NULL)
    return natter_cli_fail (cli, _("Usage: natter-cli accept-file TRANSFER-ID [DIR]"));
  if ((transfer = find_transfer (cli, args[0])) == NULL)
    return FALSE;
  if (args[1] != NULL)
    folder = file_for_argument (cli, args[1]);

  if (!natter_client_accept_transfer (cli->client, transfer, folder, &error))
    return natter_cli_fail (cli, "%s", error->message);

  return wait_for_arrival (cli, transfer);
}

/* Borrowed, the process online goes on with @transfer; alone, this one
 * waits until the file is here */
static gboolean
wait_for_arrival (Cli            *cli,
                  NatterTransfer *transfer)
{
  Sending sending = { .cli = cli };
  g_autoptr(GPtrArray) one = g_ptr_array_new ();
  guint tick;

  if (cli->borrowed || cli->no_wait)
    return TRUE;

  g_ptr_array_add (one, transfer);
  sending.transfers = one;
  sending.last_change = g_get_monotonic_time ();
  g_signal_connect (transfer, "notify::state", G_CALLBACK (on_send_notify), &sending);
  g_signal_connect (transfer, "notify::bytes-done", G_CALLBACK (on_send_notify), &sending);
  reach_contact (cli, transfer);
  tick = g_timeout_add (250, on_send_tick, &sending);
  sending.done = all_finished (&sending);
  natter_cli_run_until (&sending.done, 0);
  g_source_remove (tick);
  g_signal_handlers_disconnect_by_data (transfer, &sending);

  if (natter_transfer_get_state (transfer) != NATTER_TRANSFER_STATE_DONE)
    return natter_cli_fail (cli, "%s", natter_transfer_get_error (transfer) != NULL ?
                            natter_transfer_get_error (transfer) : _("The file did not arrive"));
  g_print ("%s\n", natter_transfer_get_path (transfer));
  return TRUE;
}

gboolean
natter_cli_cmd_resume (Cli   *cli,
                       char **args)
{
  g_autoptr(NatterTransfer) transfer = NULL;
  g_autoptr(GError) error = NULL;

  if (args[0] == NULL)
    return natter_cli_fail (cli, _("Usage: natter-cli resume TRANSFER-ID"));
  if ((transfer = find_transfer (cli, args[0])) == NULL)
    return FALSE;

  if (!natter_client_resume_transfer (cli->client, transfer, &error))
    return natter_cli_fail (cli, "%s", error->message);

  return wait_for_arrival (cli, transfer);
}

gboolean
natter_cli_cmd_decline_file (Cli   *cli,
                             char **args)
{
  g_autoptr(NatterTransfer) transfer = NULL;
  g_autoptr(GError) error = NULL;
  gboolean told;

  if (args[0] == NULL)
    return natter_cli_fail (cli, _("Usage: natter-cli decline-file TRANSFER-ID"));
  if ((transfer = find_transfer (cli, args[0])) == NULL)
    return FALSE;

  told = reach_contact (cli, transfer);
  if (!natter_client_decline_transfer (cli->client, transfer, &error))
    return natter_cli_fail (cli, "%s", error->message);
  if (told)
    natter_cli_spin (300);
  return TRUE;
}

/* cancel */

gboolean
natter_cli_cmd_cancel (Cli   *cli,
                       char **args)
{
  g_autoptr(NatterTransfer) found = NULL;
  g_autoptr(GError) error = NULL;
  gboolean told;

  if (args[0] == NULL)
    return natter_cli_fail (cli, _("Usage: natter-cli cancel TRANSFER-ID"));
  if ((found = find_transfer (cli, args[0])) == NULL)
    return FALSE;

  /* The contact hears of it now if they are online, or when next connected */
  told = reach_contact (cli, found);

  if (!natter_client_cancel_transfer (cli->client, found, &error))
    return natter_cli_fail (cli, "%s", error->message);

  if (told)
    natter_cli_spin (300);
  return TRUE;
}
