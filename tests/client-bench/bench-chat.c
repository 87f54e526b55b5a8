/* bench-chat.c: chat over real webrtcbin data channels through a real natter-server
 *
 * Two NatterClients in one process, each with its own identity and store,
 * introduced by a natter-server started here on 127.0.0.1. Prints:
 *   - message round trip: send → the peer stores it → its delivered receipt
 *     comes back and is stored (10,000 messages, one at a time): p50/p99
 *   - connection setup: a message waits in the outbox, the peer comes online,
 *     time until the message is delivered (repeated): p50/p99, and where the
 *     time goes on the offering side (NatterPeer's timing log: offer out,
 *     answer in, ICE connected, chat channel open after DTLS and SCTP, the
 *     other side's binding statement checked): p50 of each step
 *
 * Figures only: nothing here fails because the machine is slow.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "bench-chat"

#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib/gstdio.h>
#include <gst/gst.h>

#include "natter-client.h"

typedef struct
{
  GSubprocess *server;
  char        *url;
  char        *tmpdir;
  guint        counter;
} Bench;

static void
start_server (Bench *bench)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDataInputStream) out = NULL;
  g_autofree char *line = NULL;
  g_autofree char *data_dir = g_build_filename (bench->tmpdir, "server", NULL);
  const char *exe = g_getenv ("NATTER_SERVER");

  bench->server = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_SILENCE,
                                    &error, exe, "--port", "0", "--print-port",
                                    "--data-dir", data_dir,
                                    "--rate-burst", "100000", "--rate-per-s", "100000", NULL);
  if (bench->server == NULL)
    g_error ("Cannot start natter-server: %s", error->message);

  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (bench->server));
  line = g_data_input_stream_read_line (out, NULL, NULL, &error);
  if (line == NULL)
    g_error ("natter-server printed no port");

  bench->url = g_strdup_printf ("ws://127.0.0.1:%s/ws", g_strstrip (line));
}

static NatterClient *
new_client (Bench          *bench,
            NatterIdentity *identity)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *name = g_strdup_printf ("store-%u.db", bench->counter++);
  g_autofree char *path = g_build_filename (bench->tmpdir, name, NULL);
  g_autoptr(NatterStore) store = natter_store_new (path, &error);
  NatterClient *client;

  if (store == NULL)
    g_error ("%s", error->message);

  client = natter_client_new (identity, store, bench->url);
  natter_client_set_loopback (client, TRUE);
  return client;
}

static void
run_until_flag (gboolean *flag)
{
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

  while (!*flag)
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("Nothing happened for 60 s: the benchmark is broken, not slow");
      g_main_context_iteration (NULL, TRUE);
    }
}

static void
on_status (NatterClient        *client,
           const char          *contact_id,
           const char          *message_id,
           NatterMessageStatus  status,
           gpointer             user_data)
{
  gboolean *delivered = user_data;

  if (status == NATTER_MESSAGE_STATUS_DELIVERED)
    *delivered = TRUE;
}

static int
compare_doubles (gconstpointer a,
                 gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

static void
print_percentiles (const char *what,
                   GArray     *samples)
{
  g_array_sort (samples, compare_doubles);
  g_print ("%s: n=%u p50=%.2f ms p99=%.2f ms max=%.2f ms\n", what, samples->len,
           g_array_index (samples, double, samples->len / 2),
           g_array_index (samples, double, MIN (samples->len - 1, samples->len * 99 / 100)),
           g_array_index (samples, double, samples->len - 1));
}

static void
befriend (NatterClient *a,
          NatterClient *b)
{
  g_autoptr(NatterContact) ca = natter_client_add_contact (a, natter_client_get_user_id (b), "b", NULL);
  g_autoptr(NatterContact) cb = natter_client_add_contact (b, natter_client_get_user_id (a), "a", NULL);

  g_assert (ca != NULL && cb != NULL);
}

static void
bench_round_trip (Bench *bench,
                  guint  count)
{
  g_autoptr(NatterIdentity) ia = natter_identity_new_ephemeral ();
  g_autoptr(NatterIdentity) ib = natter_identity_new_ephemeral ();
  g_autoptr(NatterClient) a = new_client (bench, ia);
  g_autoptr(NatterClient) b = new_client (bench, ib);
  g_autoptr(GArray) samples = g_array_sized_new (FALSE, FALSE, sizeof (double), count);
  const char *b_id = natter_client_get_user_id (b);
  gboolean delivered = FALSE;
  gint64 started;

  befriend (a, b);
  g_signal_connect (a, "message-status-changed", G_CALLBACK (on_status), &delivered);
  natter_client_start (a);
  natter_client_start (b);

  /* Warm up: the first message also opens the connection. */
  natter_client_send_message (a, b_id, "warm-up", NULL);
  run_until_flag (&delivered);

  started = g_get_monotonic_time ();
  for (guint i = 0; i < count; i++)
    {
      g_autoptr(NatterMessage) message = NULL;
      g_autofree char *body = g_strdup_printf ("message %u", i);
      gint64 t0 = g_get_monotonic_time ();
      double ms;

      delivered = FALSE;
      message = natter_client_send_message (a, b_id, body, NULL);
      g_assert (message != NULL);
      run_until_flag (&delivered);
      ms = (g_get_monotonic_time () - t0) / 1000.0;
      g_array_append_val (samples, ms);
    }

  g_print ("round trips: %u messages in %.2f s (%.0f messages/s, each stored on both sides)\n",
           count, (g_get_monotonic_time () - started) / 1e6,
           count / ((g_get_monotonic_time () - started) / 1e6));
  print_percentiles ("message round trip (send -> stored -> delivered receipt stored)", samples);

  natter_client_stop (a);
  natter_client_stop (b);
}

/* The offering peer's set-up steps, from its timing log: step -> GArray of ms */
static GHashTable *steps;
static char        steps_peer[9];

static GLogWriterOutput
on_log (GLogLevelFlags   level,
        const GLogField *fields,
        gsize            n_fields,
        gpointer         user_data)
{
  const char *domain = NULL;
  const char *message = NULL;

  /* Debug messages are on for the timing log; they and info stay quiet */
  if (!(level & (G_LOG_LEVEL_DEBUG | G_LOG_LEVEL_INFO)))
    return g_log_writer_default (level, fields, n_fields, user_data);

  for (gsize i = 0; i < n_fields; i++)
    {
      if (g_str_equal (fields[i].key, "GLIB_DOMAIN"))
        domain = fields[i].value;
      else if (g_str_equal (fields[i].key, "MESSAGE"))
        message = fields[i].value;
    }

  /* "Peer XXXXXXXX: <step> at <ms> ms" */
  if (steps != NULL && g_strcmp0 (domain, "natter-peer") == 0 && message != NULL &&
      g_str_has_prefix (message, "Peer ") && strncmp (message + 5, steps_peer, 8) == 0 &&
      g_str_has_suffix (message, " ms"))
    {
      const char *step = message + 15;
      const char *at = g_strrstr (message, " at ");

      if (at != NULL && at > step)
        {
          g_autofree char *name = g_strndup (step, at - step);
          double ms = g_ascii_strtod (at + 4, NULL);
          GArray *samples = g_hash_table_lookup (steps, name);

          if (samples == NULL)
            {
              samples = g_array_new (FALSE, FALSE, sizeof (double));
              g_hash_table_insert (steps, g_steal_pointer (&name), samples);
            }
          g_array_append_val (samples, ms);
        }
    }

  return G_LOG_WRITER_HANDLED;
}

static void
print_steps (void)
{
  static const char *order[] = { "the offer is out", "ICE gathering is complete",
                                 "the answer is in",
                                 "webrtcbin says ICE is connected",
                                 "the chat channel is open", "the binding statement checks out",
                                 NULL };

  g_print ("where connection setup goes, on the offering side (p50, from its start):\n");
  for (guint i = 0; order[i] != NULL; i++)
    {
      GArray *samples = g_hash_table_lookup (steps, order[i]);

      if (samples == NULL || samples->len == 0)
        continue;
      g_array_sort (samples, compare_doubles);
      g_print ("  %-34s %6.2f ms\n", order[i], g_array_index (samples, double, samples->len / 2));
    }
}

static void
bench_connection_setup (Bench *bench,
                        guint  rounds)
{
  g_autoptr(GArray) samples = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(NatterIdentity) ia = natter_identity_new_ephemeral ();
  g_autoptr(NatterIdentity) ib = natter_identity_new_ephemeral ();

  /* The offering side is a: its peer's log names b */
  steps = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_array_unref);
  g_strlcpy (steps_peer, natter_identity_get_user_id (ib), sizeof steps_peer);
  g_log_set_debug_enabled (TRUE);

  for (guint i = 0; i < rounds; i++)
    {
      g_autoptr(NatterClient) a = new_client (bench, ia);
      g_autoptr(NatterClient) b = new_client (bench, ib);
      g_autoptr(NatterMessage) message = NULL;
      gboolean delivered = FALSE;
      gboolean online = FALSE;
      gint64 t0;
      double ms;

      befriend (a, b);
      g_signal_connect (a, "message-status-changed", G_CALLBACK (on_status), &delivered);

      /* a is online with a queued message; b is not. */
      message = natter_client_send_message (a, natter_client_get_user_id (b), "queued", NULL);
      natter_client_start (a);
      while (natter_signaling_get_state (natter_client_get_signaling (a)) !=
             NATTER_SIGNALING_STATE_ONLINE)
        g_main_context_iteration (NULL, TRUE);

      /* b comes online: the clock starts when a hears of it. */
      natter_client_start (b);
      while (!online)
        {
          g_main_context_iteration (NULL, TRUE);
          online = natter_client_is_contact_online (a, natter_client_get_user_id (b));
        }
      t0 = g_get_monotonic_time ();
      run_until_flag (&delivered);
      ms = (g_get_monotonic_time () - t0) / 1000.0;
      g_array_append_val (samples, ms);

      natter_client_stop (a);
      natter_client_stop (b);
      /* Let closed peers and sockets go before the next round. */
      for (int j = 0; j < 200 && g_main_context_iteration (NULL, FALSE); j++)
        ;
    }

  print_percentiles ("connection setup (peer online -> first queued message delivered)", samples);
  print_steps ();
  g_log_set_debug_enabled (FALSE);
  g_clear_pointer (&steps, g_hash_table_unref);
}

int
main (int   argc,
      char *argv[])
{
  Bench bench = { 0 };
  guint count = argc > 1 ? (guint) atoi (argv[1]) : 10000;
  guint rounds = argc > 2 ? (guint) atoi (argv[2]) : 20;
  g_autoptr(GError) error = NULL;

  gst_init (&argc, &argv);
  g_log_set_writer_func (on_log, NULL, NULL);

  bench.tmpdir = g_dir_make_tmp ("natter-bench-chat-XXXXXX", &error);
  g_assert_no_error (error);
  start_server (&bench);

  bench_round_trip (&bench, count);
  bench_connection_setup (&bench, rounds);

  g_subprocess_send_signal (bench.server, SIGTERM);
  g_subprocess_wait (bench.server, NULL, NULL);
  g_clear_object (&bench.server);
  {
    g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", bench.tmpdir);

    if (system (cmd) != 0)
      g_printerr ("could not remove %s\n", bench.tmpdir);
  }
  g_free (bench.tmpdir);
  g_free (bench.url);
  return 0;
}
