/* test-refusals.c: a receiver answers every message it does not keep
 *
 * Two NatterClients, each with its own identity and store, through a real
 * natter-server started here on 127.0.0.1. One of them plays a peer that
 * sends what an honest client never would (an empty id, an empty body, the
 * id of one of the receiver's own messages); the receiver must answer each
 * with a refusal, so that a sender stops resending and can say why.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "test-refusals"

#include "config.h"

#include <glib/gstdio.h>

#include "natter-client.h"
#include "natter-client-private.h"

#define WAIT_LIMIT_S 60

typedef struct
{
  GSubprocess  *server;
  char         *url;
  char         *tmpdir;
  NatterClient *a;
  NatterClient *b;
  GPtrArray    *refusals;   /* "id reason" as a saw them */
  guint         delivered;
} Fixture;

static void
run_until (gboolean (*done) (Fixture *), Fixture *fixture)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_LIMIT_S * G_USEC_PER_SEC;

  while (!done (fixture))
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("Nothing happened for %d s", WAIT_LIMIT_S);
      g_main_context_iteration (NULL, TRUE);
    }
}

static void
start_server (Fixture *fixture)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDataInputStream) out = NULL;
  g_autofree char *line = NULL;
  g_autofree char *data_dir = g_build_filename (fixture->tmpdir, "server", NULL);

  fixture->server = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                      G_SUBPROCESS_FLAGS_STDERR_SILENCE, &error,
                                      g_getenv ("NATTER_SERVER"), "--address", "127.0.0.1",
                                      "--port", "0", "--print-port", "--data-dir", data_dir, NULL);
  g_assert_no_error (error);
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (fixture->server));
  line = g_data_input_stream_read_line (out, NULL, NULL, &error);
  g_assert_nonnull (line);
  fixture->url = g_strdup_printf ("ws://127.0.0.1:%s/ws", g_strstrip (line));
}

static NatterClient *
new_client (Fixture    *fixture,
            const char *name)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_build_filename (fixture->tmpdir, name, NULL);
  g_autoptr(NatterStore) store = natter_store_new (path, &error);
  g_autoptr(NatterIdentity) identity = natter_identity_new_ephemeral ();
  NatterClient *client;

  g_assert_no_error (error);
  client = natter_client_new (identity, store, fixture->url);
  natter_client_set_loopback (client, TRUE);
  return client;
}

static void
on_refused (NatterClient *client,
            const char   *contact_id,
            const char   *message_id,
            const char   *reason,
            Fixture      *fixture)
{
  g_ptr_array_add (fixture->refusals, g_strdup_printf ("%s %s", message_id, reason));
}

static void
on_status (NatterClient        *client,
           const char          *contact_id,
           const char          *message_id,
           NatterMessageStatus  status,
           Fixture             *fixture)
{
  if (status == NATTER_MESSAGE_STATUS_DELIVERED)
    fixture->delivered++;
}

static gboolean
one_delivered (Fixture *fixture)
{
  return fixture->delivered > 0;
}

static gboolean
b_delivered_too (Fixture *fixture)
{
  return fixture->delivered > 1;
}

static guint expected_refusals;

static gboolean
refusals_arrived (Fixture *fixture)
{
  return fixture->refusals->len >= expected_refusals;
}

static void
test_every_refused_message_is_answered (void)
{
  Fixture fixture = { 0 };
  g_autoptr(NatterMessage) first = NULL;
  g_autoptr(NatterMessage) own = NULL;
  g_autoptr(NatterContact) ca = NULL;
  g_autoptr(NatterContact) cb = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *taken = NULL;
  g_autofree char *expected = NULL;
  const char *a_id, *b_id;
  const char *bad[] = {
    "{\"type\":\"message\",\"id\":\"\",\"ts\":1,\"body\":\"an empty id\"}",
    "{\"type\":\"message\",\"id\":\"no-body\",\"ts\":1,\"body\":\"\"}",
  };

  fixture.tmpdir = g_dir_make_tmp ("natter-refusals-XXXXXX", NULL);
  fixture.refusals = g_ptr_array_new_with_free_func (g_free);
  start_server (&fixture);
  fixture.a = new_client (&fixture, "a.db");
  fixture.b = new_client (&fixture, "b.db");
  a_id = natter_client_get_user_id (fixture.a);
  b_id = natter_client_get_user_id (fixture.b);
  ca = natter_client_add_contact (fixture.a, b_id, "b", &error);
  g_assert_no_error (error);
  cb = natter_client_add_contact (fixture.b, a_id, "a", &error);
  g_assert_no_error (error);
  g_signal_connect (fixture.a, "message-refused", G_CALLBACK (on_refused), &fixture);
  g_signal_connect (fixture.a, "message-status-changed", G_CALLBACK (on_status), &fixture);
  g_signal_connect (fixture.b, "message-status-changed", G_CALLBACK (on_status), &fixture);
  natter_client_start (fixture.a);
  natter_client_start (fixture.b);

  /* A connection, and a message of b's own to a */
  first = natter_client_send_message (fixture.a, b_id, "hello", &error);
  g_assert_no_error (error);
  run_until (one_delivered, &fixture);
  own = natter_client_send_message (fixture.b, a_id, "b's own message", &error);
  g_assert_no_error (error);
  run_until (b_delivered_too, &fixture);

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_assert_true (_natter_client_send_envelope (fixture.a, b_id, bad[i], &error));
      g_assert_no_error (error);
    }
  taken = g_strdup_printf ("{\"type\":\"message\",\"id\":\"%s\",\"ts\":1,\"body\":\"a stolen id\"}",
                           natter_message_get_id (own));
  g_assert_true (_natter_client_send_envelope (fixture.a, b_id, taken, &error));

  expected_refusals = 3;
  run_until (refusals_arrived, &fixture);
  g_assert_cmpuint (fixture.refusals->len, ==, 3);
  g_assert_cmpstr (g_ptr_array_index (fixture.refusals, 0), ==, " invalid");
  g_assert_cmpstr (g_ptr_array_index (fixture.refusals, 1), ==, "no-body invalid");
  expected = g_strdup_printf ("%s id-taken", natter_message_get_id (own));
  g_assert_cmpstr (g_ptr_array_index (fixture.refusals, 2), ==, expected);

  /* b kept none of them, and its own message is still its own */
  g_assert_cmpint (natter_store_count_messages (natter_client_get_store (fixture.b), a_id, NULL),
                   ==, 2);

  natter_client_stop (fixture.a);
  natter_client_stop (fixture.b);
  g_clear_object (&first);
  g_clear_object (&own);
  g_clear_object (&ca);
  g_clear_object (&cb);
  g_clear_object (&fixture.a);
  g_clear_object (&fixture.b);
  g_subprocess_force_exit (fixture.server);
  g_subprocess_wait (fixture.server, NULL, NULL);
  g_clear_object (&fixture.server);
  g_ptr_array_unref (fixture.refusals);
  g_free (fixture.url);
  {
    g_autofree char *rm = g_strdup_printf ("rm -rf '%s'", fixture.tmpdir);

    g_spawn_command_line_sync (rm, NULL, NULL, NULL, NULL);
  }
  g_free (fixture.tmpdir);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/Natter/Core/Client/refusals", test_every_refused_message_is_answered);
  return g_test_run ();
}
