/* test-server-mailbox.c: the hand-off between natter-server's threads
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "test-server-mailbox"

#include "config.h"

#include "natter-server-mailbox.h"
#include "natter-server-worker.h"

#define PRODUCERS  4
#define PER_THREAD 20000

typedef struct
{
  guint producer;
  guint sequence;
} Message;

typedef struct
{
  NatterServerWorker *worker;
  guint next[PRODUCERS];      /* only touched in the worker's thread */
  gint delivered;             /* atomic */
  gint freed;                 /* atomic */
  gint wrong_thread;          /* atomic */
  gint out_of_order;          /* atomic */
} Counts;

typedef struct
{
  Counts *counts;
  Message message;
} Work;

static void
on_message (gpointer data)
{
  Work *work = data;
  Counts *counts = work->counts;

  if (!natter_server_worker_is_current (counts->worker))
    g_atomic_int_inc (&counts->wrong_thread);
  if (counts->next[work->message.producer] != work->message.sequence)
    g_atomic_int_inc (&counts->out_of_order);
  counts->next[work->message.producer] = work->message.sequence + 1;
  g_atomic_int_inc (&counts->delivered);
}

static void
work_free (gpointer data)
{
  Work *work = data;

  g_atomic_int_inc (&work->counts->freed);
  g_free (work);
}

typedef struct
{
  Counts *counts;
  guint producer;
} Producer;

static gpointer
produce (gpointer data)
{
  Producer *producer = data;

  for (guint i = 0; i < PER_THREAD; i++)
    {
      Work *work = g_new (Work, 1);

      work->counts = producer->counts;
      work->message.producer = producer->producer;
      work->message.sequence = i;
      g_assert_true (natter_server_worker_invoke (producer->counts->worker, on_message, work,
                                                  work_free));
    }

  return NULL;
}

/* Several threads post to one worker at once: every message arrives once,
 * in its thread's order, in the worker's thread, and is freed. */
static void
test_many_producers (void)
{
  Counts counts = { 0, };
  Producer producers[PRODUCERS];
  GThread *threads[PRODUCERS];

  counts.worker = natter_server_worker_new ("test-worker");

  for (guint i = 0; i < PRODUCERS; i++)
    {
      producers[i].counts = &counts;
      producers[i].producer = i;
      threads[i] = g_thread_new ("test-producer", produce, &producers[i]);
    }
  for (guint i = 0; i < PRODUCERS; i++)
    g_thread_join (threads[i]);

  /* Freeing runs what was posted before it. */
  natter_server_worker_free (counts.worker);

  g_assert_cmpint (counts.delivered, ==, PRODUCERS * PER_THREAD);
  g_assert_cmpint (counts.freed, ==, PRODUCERS * PER_THREAD);
  g_assert_cmpint (counts.out_of_order, ==, 0);
  g_assert_cmpint (counts.wrong_thread, ==, 0);
  for (guint i = 0; i < PRODUCERS; i++)
    g_assert_cmpuint (counts.next[i], ==, PER_THREAD);
}

/* Two workers hand a token back and forth: a round trip through both
 * mailboxes, a thousand times. */
typedef struct
{
  NatterServerWorker *workers[2];
  guint hops;
  gint done;                  /* atomic */
} Relay;

static void
on_token (gpointer data)
{
  Relay *relay = data;
  guint hops = ++relay->hops;   /* one worker at a time holds the token */

  g_assert_true (natter_server_worker_is_current (relay->workers[hops % 2]));

  if (hops == 2000)
    {
      g_atomic_int_set (&relay->done, TRUE);
      return;
    }

  natter_server_worker_invoke (relay->workers[(hops + 1) % 2], on_token, relay, NULL);
}

static void
test_ping_pong (void)
{
  Relay relay = { { NULL, }, 0, FALSE };

  relay.workers[0] = natter_server_worker_new ("test-worker-0");
  relay.workers[1] = natter_server_worker_new ("test-worker-1");

  natter_server_worker_invoke (relay.workers[1], on_token, &relay, NULL);

  while (!g_atomic_int_get (&relay.done))
    g_usleep (1000);

  natter_server_worker_free (relay.workers[0]);
  natter_server_worker_free (relay.workers[1]);
  g_assert_cmpuint (relay.hops, ==, 2000);
}

/* A mailbox on the test's own context: delivery waits for the context,
 * a burst wakes it once, and closing drops (and frees) what is left. */
static void
on_plain (gpointer message,
          gpointer user_data)
{
  GPtrArray *seen = user_data;

  g_ptr_array_add (seen, g_strdup (message));
}

static void
test_close_drops (void)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GPtrArray) seen = g_ptr_array_new_with_free_func (g_free);
  NatterServerMailbox *mailbox = NULL;

  g_main_context_push_thread_default (context);
  mailbox = natter_server_mailbox_new (context, on_plain, seen, g_free);

  g_assert_true (natter_server_mailbox_post (mailbox, g_strdup ("one")));
  g_assert_true (natter_server_mailbox_post (mailbox, g_strdup ("two")));
  g_assert_cmpuint (seen->len, ==, 0);

  /* One dispatch for the burst. */
  g_assert_true (g_main_context_iteration (context, FALSE));
  g_assert_cmpuint (seen->len, ==, 2);
  g_assert_cmpstr (seen->pdata[0], ==, "one");
  g_assert_cmpstr (seen->pdata[1], ==, "two");
  g_assert_false (g_main_context_iteration (context, FALSE));

  g_assert_true (natter_server_mailbox_post (mailbox, g_strdup ("left")));
  natter_server_mailbox_close (mailbox);
  g_assert_false (natter_server_mailbox_post (mailbox, g_strdup ("late")));
  while (g_main_context_iteration (context, FALSE))
    ;
  g_assert_cmpuint (seen->len, ==, 2);

  natter_server_mailbox_free (mailbox);
  g_main_context_pop_thread_default (context);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/Natter/Server/Mailbox/many-producers", test_many_producers);
  g_test_add_func ("/Natter/Server/Mailbox/ping-pong", test_ping_pong);
  g_test_add_func ("/Natter/Server/Mailbox/close-drops", test_close_drops);

  return g_test_run ();
}
