/* natter-cli-calls.c: call, and the calls of listen
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Every call prints JSON lines as it goes: `call` on each change of state
 * (the last, `ended`, with its outcome, reason and what was decoded), and
 * `call-media` once a second while it is connected, with the frames and
 * buffers decoded so far, their caps and the connection's statistics.
 */
#define G_LOG_DOMAIN "natter-cli"

#include "config.h"

#include <signal.h>

#include <glib/gi18n.h>
#include <glib-unix.h>

#include "natter-cli-output.h"
#include "natter-cli-private.h"
#include "natter-store-calls.h"

#define MEDIA_REPORT_MS 1000
#define PRESENCE_WAIT_MS 3000

typedef struct
{
  Cli        *cli;
  NatterCall *call;
  guint       report_source;
  guint       hangup_source;
} Watch;

static void
watch_free (gpointer data)
{
  Watch *watch = data;

  g_clear_handle_id (&watch->report_source, g_source_remove);
  g_clear_handle_id (&watch->hangup_source, g_source_remove);
  g_free (watch);
}

static void
add_media (JsonObject *event,
           NatterCall *call)
{
  g_autofree char *video_caps = natter_call_dup_video_caps (call);
  g_autofree char *audio_caps = natter_call_dup_audio_caps (call);
  g_autoptr(JsonObject) stats = natter_call_dup_stats (call);
  gint64 first_video = natter_call_get_first_video_at (call);

  json_object_set_int_member (event, "video_frames", (gint64) natter_call_get_video_frames (call));
  json_object_set_int_member (event, "audio_buffers",
                              (gint64) natter_call_get_audio_buffers (call));
  if (video_caps != NULL)
    json_object_set_string_member (event, "video_caps", video_caps);
  if (audio_caps != NULL)
    json_object_set_string_member (event, "audio_caps", audio_caps);
  if (first_video >= 0)
    json_object_set_double_member (event, "first_video_ms", first_video / 1000.0);
  json_object_set_boolean_member (event, "remote_microphone",
                                  natter_call_get_remote_microphone_on (call));
  json_object_set_boolean_member (event, "remote_camera", natter_call_get_remote_camera_on (call));
  if (stats != NULL)
    json_object_set_object_member (event, "stats", g_steal_pointer (&stats));
}

static JsonObject *
call_event (const char *name,
            NatterCall *call)
{
  JsonObject *event = natter_cli_event_new (name);

  json_object_set_string_member (event, "call", natter_call_get_id (call));
  json_object_set_string_member (event, "contact", natter_call_get_contact_id (call));
  json_object_set_string_member (event, "direction",
                                 natter_call_get_direction (call) == NATTER_CALL_DIRECTION_IN ?
                                 "in" : "out");
  json_object_set_boolean_member (event, "audio_only", natter_call_get_audio_only (call));
  return event;
}

static gboolean
on_report (gpointer user_data)
{
  Watch *watch = user_data;
  g_autoptr(JsonObject) event = call_event ("call-media", watch->call);

  add_media (event, watch->call);
  natter_cli_print_event (event);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_duration_over (gpointer user_data)
{
  Watch *watch = user_data;

  watch->hangup_source = 0;
  natter_client_hang_up_call (watch->cli->client, watch->call);
  return G_SOURCE_REMOVE;
}

static void
on_call_state (NatterCall *call,
               GParamSpec *pspec,
               gpointer    user_data)
{
  Watch *watch = user_data;
  NatterCallState state = natter_call_get_state (call);
  g_autoptr(JsonObject) event = call_event ("call", call);

  json_object_set_string_member (event, "state", natter_call_state_to_string (state));
  if (state == NATTER_CALL_STATE_ACTIVE)
    {
      if (watch->report_source == 0)
        watch->report_source = g_timeout_add (MEDIA_REPORT_MS, on_report, watch);
      if (watch->cli->call_duration_s > 0 && watch->hangup_source == 0)
        watch->hangup_source = g_timeout_add_seconds (watch->cli->call_duration_s,
                                                      on_duration_over, watch);
      if (watch->cli->mute)
        natter_client_set_call_microphone (watch->cli->client, call, FALSE);
      if (watch->cli->camera_off)
        natter_client_set_call_camera (watch->cli->client, call, FALSE);
    }
  else if (state == NATTER_CALL_STATE_ENDED)
    {
      g_clear_handle_id (&watch->report_source, g_source_remove);
      g_clear_handle_id (&watch->hangup_source, g_source_remove);
      json_object_set_string_member (event, "outcome",
                                     natter_call_outcome_to_string (natter_call_get_outcome (call)));
      json_object_set_string_member (event, "reason",
                                     natter_call_end_reason_to_string (
                                       natter_call_get_end_reason (call)));
      json_object_set_int_member (event, "duration", natter_call_get_duration (call));
      add_media (event, call);
    }
  natter_cli_print_event (event);

  if (state == NATTER_CALL_STATE_ENDED)
    {
      g_signal_handlers_disconnect_by_data (call, watch);
      if (watch->cli->waiting_call == call && watch->cli->loop != NULL)
        g_main_loop_quit (watch->cli->loop);
      g_object_set_data (G_OBJECT (call), "natter-cli-watch", NULL);
    }
}

/* Prints the call's events until it ends */
static void
watch_call (Cli        *cli,
            NatterCall *call)
{
  Watch *watch = g_new0 (Watch, 1);

  watch->cli = cli;
  watch->call = call;
  g_object_set_data_full (G_OBJECT (call), "natter-cli-watch", watch, watch_free);
  g_signal_connect (call, "notify::state", G_CALLBACK (on_call_state), watch);
  on_call_state (call, NULL, watch);
}

static void
on_call_added (NatterClient *client,
               NatterCall   *call,
               gpointer      user_data)
{
  Cli *cli = user_data;
  g_autoptr(GError) error = NULL;

  watch_call (cli, call);
  if (natter_call_get_direction (call) != NATTER_CALL_DIRECTION_IN ||
      natter_call_get_state (call) != NATTER_CALL_STATE_RINGING)
    return;

  if (cli->auto_decline)
    natter_client_decline_call (client, call);
  else if (cli->auto_answer && !natter_client_answer_call (client, call, &error))
    g_printerr (_("natter-cli: could not answer a call: %s\n"), error->message);
}

static void
set_up_calls (Cli *cli)
{
  natter_client_set_call_test_media (cli->client, cli->test_media);
  /* A test tone is decoded and counted, and played nowhere */
  natter_client_set_call_playback (cli->client, !cli->test_media);
  if (cli->ring_timeout_s > 0)
    natter_client_set_call_ring_timeout (cli->client, cli->ring_timeout_s);
}

/* listen: incoming calls are printed, and answered or declined if asked */
void
natter_cli_listen_for_calls (Cli *cli)
{
  set_up_calls (cli);
  g_signal_connect (cli->client, "call-added", G_CALLBACK (on_call_added), cli);
}

static gboolean
on_call_quit_signal (gpointer user_data)
{
  Cli *cli = user_data;

  if (cli->waiting_call != NULL &&
      natter_call_get_state (cli->waiting_call) != NATTER_CALL_STATE_ENDED)
    natter_client_hang_up_call (cli->client, cli->waiting_call);
  else
    g_main_loop_quit (cli->loop);
  return G_SOURCE_CONTINUE;
}

static gboolean
contact_is_online (Cli        *cli,
                   const char *contact_id)
{
  gint64 deadline = g_get_monotonic_time () + PRESENCE_WAIT_MS * 1000;

  while (!natter_client_is_contact_online (cli->client, contact_id) &&
         g_get_monotonic_time () < deadline)
    natter_cli_spin (20);
  return natter_client_is_contact_online (cli->client, contact_id);
}

gboolean
natter_cli_cmd_call (Cli   *cli,
                     char **args)
{
  g_autofree char *contact_id = NULL;
  g_autoptr(NatterCall) call = NULL;
  g_autoptr(GError) error = NULL;
  guint int_source, term_source;
  NatterCallOutcome outcome;

  if (args[0] == NULL)
    return natter_cli_fail (cli, _("Usage: natter-cli call CONTACT [--audio-only] [--test-media] "
                                   "[--duration S]"));

  if (!natter_cli_open_client (cli) || !natter_cli_start_control (cli) ||
      (contact_id = natter_cli_resolve_contact (cli, args[0])) == NULL)
    return FALSE;

  set_up_calls (cli);
  /* The other side may call us at the same moment */
  g_signal_connect (cli->client, "call-added", G_CALLBACK (on_call_added), cli);
  if (!natter_cli_go_online (cli))
    return FALSE;

  /* The invitation goes on the chat connection: have it up first */
  if (contact_is_online (cli, contact_id) && !natter_cli_wait_for_chat (cli, contact_id))
    return FALSE;

  call = natter_client_place_call (cli->client, contact_id, cli->audio_only, &error);
  if (call == NULL)
    return natter_cli_fail (cli, "%s", error->message);

  /* on_call_added() watches it */
  cli->waiting_call = call;
  cli->loop = g_main_loop_new (NULL, FALSE);
  int_source = g_unix_signal_add (SIGINT, on_call_quit_signal, cli);
  term_source = g_unix_signal_add (SIGTERM, on_call_quit_signal, cli);
  if (natter_call_get_state (call) != NATTER_CALL_STATE_ENDED)
    g_main_loop_run (cli->loop);
  g_source_remove (int_source);
  g_source_remove (term_source);
  cli->waiting_call = NULL;

  outcome = natter_call_get_outcome (call);
  if (outcome != NATTER_CALL_OUTCOME_ANSWERED)
    return natter_cli_fail (cli, _("The call was not answered: %s"),
                            natter_call_end_reason_describe (natter_call_get_end_reason (call)));
  return TRUE;
}

/* calls CONTACT: the history's call records */
gboolean
natter_cli_cmd_calls (Cli   *cli,
                      char **args)
{
  g_autofree char *contact_id = NULL;
  g_autoptr(GPtrArray) calls = NULL;
  g_autoptr(GError) error = NULL;

  if (args[0] == NULL)
    return natter_cli_fail (cli, _("Usage: natter-cli calls CONTACT [--limit N]"));

  if (!natter_cli_open_store (cli) ||
      (contact_id = natter_cli_resolve_contact (cli, args[0])) == NULL)
    return FALSE;

  calls = natter_store_list_calls (cli->store, contact_id, cli->limit, &error);
  if (calls == NULL)
    return natter_cli_fail (cli, "%s", error->message);

  for (guint i = 0; i < calls->len; i++)
    natter_cli_print_call_record (cli, g_ptr_array_index (calls, i));

  return TRUE;
}

/* One call of the history, as `calls` and `history` print it */
void
natter_cli_print_call_record (Cli        *cli,
                              NatterCall *call)
{
  gboolean incoming = natter_call_get_direction (call) == NATTER_CALL_DIRECTION_IN;
  const char *outcome = natter_call_outcome_to_string (natter_call_get_outcome (call));

  if (cli->json)
    {
      g_autoptr(JsonObject) object = json_object_new ();

      json_object_set_string_member (object, "call", natter_call_get_id (call));
      json_object_set_string_member (object, "direction", incoming ? "in" : "out");
      json_object_set_string_member (object, "outcome", outcome);
      json_object_set_boolean_member (object, "video", !natter_call_get_audio_only (call));
      json_object_set_int_member (object, "ts", natter_call_get_started_at (call) / 1000);
      json_object_set_int_member (object, "duration", natter_call_get_duration (call));
      natter_cli_print_json (object);
    }
  else
    {
      g_autofree char *stamp = natter_cli_format_time (natter_call_get_started_at (call));
      guint duration = natter_call_get_duration (call);

      /* TRANSLATORS: a call in the history: "audio call" or "video call", its outcome and
       * how long it lasted */
      g_print (_("%s %s %s %s, %u:%02u\n"), stamp, incoming ? "<" : ">",
               natter_call_get_audio_only (call) ? _("audio call") : _("video call"), outcome,
               duration / 60, duration % 60);
    }
}
