/* bench-store.c: NatterStore with a million messages
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Fills a store with 1,000,000 messages in 100 conversations, then times
 * what the app does all day: open, load the newest page of a conversation,
 * page back, search, append. Prints figures; never fails on slowness.
 *
 * An argument overrides the number of messages (for a quick run).
 */
#define G_LOG_DOMAIN "bench-store"

#include "config.h"

#include <sqlite3.h>

#include <glib/gstdio.h>

#include "natter-store.h"

#define N_CONVERSATIONS  100
#define DEFAULT_MESSAGES 1000000
#define PAGE             50
#define ROUNDS           200

/* Words of the generated bodies: common, less common, and a filler
 * vocabulary of made-up words. */
static const char *const syllables[] = {
  "ka", "lo", "mi", "ne", "tu", "ra", "si", "po", "de", "va", "gu", "ze", "bi", "fo", "cha", "ny",
};

typedef struct
{
  const char *word;
  double      share;   /* of messages that contain it */
} Marker;

static const Marker markers[] = {
  { "hello", 0.10 },
  { "meeting", 0.02 },
  { "oboe", 0.001 },
};

static double
ms_since (gint64 start)
{
  return (g_get_monotonic_time () - start) / 1000.0;
}

static int
compare_doubles (gconstpointer a,
                 gconstpointer b)
{
  double x = *(const double *) a;
  double y = *(const double *) b;

  return (x > y) - (x < y);
}

/* Adds the milliseconds since @start to @timings. */
static void
record (GArray *timings,
        gint64  start)
{
  double ms = ms_since (start);

  g_array_append_val (timings, ms);
}

static void
print_timings (const char *what,
               GArray     *timings)
{
  double *v = (double *) timings->data;

  g_array_sort (timings, compare_doubles);
  g_print ("%-44s median %8.3f ms   p95 %8.3f ms   max %8.3f ms   (%u runs)\n",
           what, v[timings->len / 2], v[timings->len * 95 / 100], v[timings->len - 1],
           timings->len);
}

static char *
contact_id (guint i)
{
  return g_strdup_printf ("bench-contact-%03u-000000000000000000000000000000000000000", i);
}

static void
make_body (GRand   *rand,
           GString *body)
{
  guint n_words = g_rand_int_range (rand, 3, 15);

  g_string_truncate (body, 0);

  for (guint i = 0; i < n_words; i++)
    {
      guint n_syllables = g_rand_int_range (rand, 1, 4);

      if (i > 0)
        g_string_append_c (body, ' ');
      for (guint s = 0; s < n_syllables; s++)
        g_string_append (body, syllables[g_rand_int_range (rand, 0, G_N_ELEMENTS (syllables))]);
    }

  for (guint i = 0; i < G_N_ELEMENTS (markers); i++)
    if (g_rand_double (rand) < markers[i].share)
      g_string_append_printf (body, " %s", markers[i].word);
}

static void
check (int         rc,
       sqlite3    *db,
       const char *what)
{
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
    g_error ("%s: %s", what, sqlite3_errmsg (db));
}

static char *
query_text (sqlite3    *db,
            const char *sql)
{
  sqlite3_stmt *stmt = NULL;
  char *text;

  check (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), db, "prepare");
  check (sqlite3_step (stmt), db, "query");
  text = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
  sqlite3_finalize (stmt);
  return text;
}

/* Bulk import straight through SQLite: one transaction, one prepared
 * statement, and the full-text index built once at the end (FTS5's
 * 'rebuild' is about five times faster than its insert trigger row by row;
 * the trigger is put back as the store made it). */
static void
fill (const char *path,
      guint       n_messages)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (42);
  g_autoptr(GString) body = g_string_new (NULL);
  g_autofree char *trigger = NULL;
  sqlite3_stmt *stmt = NULL;
  sqlite3 *db = NULL;
  gint64 start = g_get_monotonic_time ();
  gint64 indexed;
  gint64 t0 = g_get_real_time () - (gint64) n_messages * G_USEC_PER_SEC;

  check (sqlite3_open (path, &db), db, "open");
  /* An import, not the app's own writes: no WAL, no fsync, a big cache. */
  check (sqlite3_exec (db,
                       "PRAGMA journal_mode = DELETE; PRAGMA synchronous = OFF;"
                       "PRAGMA cache_size = -1048576; BEGIN",
                       NULL, NULL, NULL), db, "begin");
  trigger = query_text (db, "SELECT sql FROM sqlite_schema "
                            "WHERE type = 'trigger' AND name = 'messages_fts_insert'");
  check (sqlite3_exec (db, "DROP TRIGGER messages_fts_insert", NULL, NULL, NULL), db, "drop");
  check (sqlite3_prepare_v2 (db,
                             "INSERT INTO messages "
                             "(conversation_id, uuid, direction, body, sent_at, received_at, status) "
                             "VALUES (?, ?, ?, ?, ?, ?, ?)", -1, &stmt, NULL), db, "prepare");

  for (guint i = 0; i < n_messages; i++)
    {
      char uuid[37];
      gboolean incoming = g_rand_boolean (rand);
      gint64 when = t0 + (gint64) i * G_USEC_PER_SEC;

      make_body (rand, body);
      g_snprintf (uuid, sizeof uuid, "%08x-0000-4000-8000-%012x", i, g_rand_int (rand));

      sqlite3_bind_int64 (stmt, 1, 1 + g_rand_int_range (rand, 0, N_CONVERSATIONS));
      sqlite3_bind_text (stmt, 2, uuid, -1, SQLITE_STATIC);
      sqlite3_bind_int (stmt, 3, incoming ? NATTER_MESSAGE_DIRECTION_IN : NATTER_MESSAGE_DIRECTION_OUT);
      sqlite3_bind_text (stmt, 4, body->str, body->len, SQLITE_STATIC);
      sqlite3_bind_int64 (stmt, 5, when);
      if (incoming)
        sqlite3_bind_int64 (stmt, 6, when + 300000);
      else
        sqlite3_bind_null (stmt, 6);
      sqlite3_bind_int (stmt, 7, NATTER_MESSAGE_STATUS_READ);
      check (sqlite3_step (stmt), db, "insert");
      sqlite3_reset (stmt);
    }
  sqlite3_finalize (stmt);

  indexed = g_get_monotonic_time ();
  check (sqlite3_exec (db, "INSERT INTO messages_fts (messages_fts) VALUES ('rebuild')",
                       NULL, NULL, NULL), db, "rebuild");
  check (sqlite3_exec (db, trigger, NULL, NULL, NULL), db, "trigger");
  indexed = g_get_monotonic_time () - indexed;

  check (sqlite3_exec (db,
                       "UPDATE conversations SET "
                       "  last_message_id = (SELECT max (id) FROM messages m "
                       "                     WHERE m.conversation_id = conversations.id),"
                       "  last_activity = (SELECT max (sent_at) FROM messages m "
                       "                   WHERE m.conversation_id = conversations.id);"
                       "COMMIT;"
                       "PRAGMA journal_mode = WAL;",
                       NULL, NULL, NULL), db, "commit");
  sqlite3_close (db);

  g_print ("%-44s %8.1f s  (%.0f messages/s; full-text index %.1f s)\n",
           "fill (one transaction)", ms_since (start) / 1000.0,
           n_messages / (ms_since (start) / 1000.0), indexed / 1e6);
}

static gint64
file_size (const char *path)
{
  GStatBuf st;

  return g_stat (path, &st) == 0 ? (gint64) st.st_size : 0;
}

static void
time_count (NatterStore *store,
            const char  *what,
            const char  *user_id)
{
  gint64 start = g_get_monotonic_time ();
  gint64 n = natter_store_count_messages (store, user_id, NULL);
  double ms = ms_since (start);

  g_print ("%-44s %8" G_GINT64_FORMAT "   (%.3f ms)\n", what, n, ms);
}

static void
time_loads (NatterStore *store)
{
  g_autoptr(GArray) newest = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) older = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < ROUNDS; i++)
    {
      g_autofree char *user_id = contact_id (i % N_CONVERSATIONS);
      g_autoptr(GPtrArray) page = NULL;
      g_autoptr(GPtrArray) before = NULL;
      gint64 start = g_get_monotonic_time ();

      page = natter_store_load_messages (store, user_id, NULL, PAGE, &error);
      g_assert_no_error (error);
      record (newest, start);
      g_assert_cmpuint (page->len, >, 0);

      start = g_get_monotonic_time ();
      before = natter_store_load_messages (store, user_id, page->pdata[0], PAGE, &error);
      g_assert_no_error (error);
      record (older, start);
    }

  print_timings ("load newest 50 of a conversation", newest);
  print_timings ("load the 50 before those", older);
}

static void
time_search (NatterStore *store,
             const char  *text,
             const char  *user_id)
{
  g_autoptr(GArray) timings = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GError) error = NULL;
  g_autofree char *label = NULL;
  guint n_hits = 0;

  for (guint i = 0; i < 20; i++)
    {
      g_autoptr(GPtrArray) hits = NULL;
      gint64 start = g_get_monotonic_time ();

      hits = natter_store_search (store, text, user_id, 50, &error);
      g_assert_no_error (error);
      record (timings, start);
      n_hits = hits->len;
    }

  label = g_strdup_printf ("search \"%s\"%s (%u hits)", text,
                           user_id != NULL ? " in one conversation" : "", n_hits);
  print_timings (label, timings);
}

static void
time_writes (NatterStore *store)
{
  g_autoptr(GArray) appends = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) receipts = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GError) error = NULL;
  g_autofree char *user_id = contact_id (7);

  for (guint i = 0; i < 50; i++)
    {
      g_autoptr(NatterMessage) message = NULL;
      gint64 start = g_get_monotonic_time ();

      message = natter_store_append_outgoing (store, user_id, "a new message to time", &error);
      g_assert_no_error (error);
      record (appends, start);

      start = g_get_monotonic_time ();
      natter_store_set_message_status (store, user_id, natter_message_get_id (message),
                                       NATTER_MESSAGE_STATUS_DELIVERED, &error);
      g_assert_no_error (error);
      record (receipts, start);
    }

  print_timings ("append outgoing (queued + outbox, fsync)", appends);
  print_timings ("mark delivered (status + outbox, fsync)", receipts);
}

/* What the app does when a conversation is open as answers come in: store
 * each as unread, then mark the conversation read. */
static void
time_unread (NatterStore *store)
{
  g_autoptr(GArray) incoming = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) reads = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GError) error = NULL;
  g_autofree char *user_id = contact_id (8);

  for (guint i = 0; i < 50; i++)
    {
      gint64 start;

      for (guint j = 0; j < 3; j++)
        {
          g_autofree char *message_id = g_strdup_printf ("bench-in-%u-%u", i, j);
          g_autoptr(NatterMessage) message = NULL;

          start = g_get_monotonic_time ();
          message = natter_store_insert_incoming (store, user_id, message_id, "an answer to time",
                                                  g_get_real_time (), NULL, &error);
          g_assert_no_error (error);
          record (incoming, start);
        }

      start = g_get_monotonic_time ();
      natter_store_mark_conversation_read (store, user_id, &error);
      g_assert_no_error (error);
      record (reads, start);
      g_assert_cmpuint (natter_store_get_unread_count (store, user_id), ==, 0);
    }

  print_timings ("receive incoming (unread, fsync)", incoming);
  print_timings ("mark 3 of ~10,000 read (fsync)", reads);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NatterStore) store = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *path = NULL;
  g_autofree char *wal = NULL;
  g_autofree char *shm = NULL;
  g_autofree char *user_id = contact_id (42);
  guint n_messages = argc > 1 ? (guint) g_ascii_strtoull (argv[1], NULL, 10) : DEFAULT_MESSAGES;
  gint64 start;
  gint64 total;

  dir = g_dir_make_tmp ("natter-bench-store-XXXXXX", &error);
  g_assert_no_error (error);
  path = g_build_filename (dir, NATTER_STORE_FILE_NAME, NULL);
  wal = g_strconcat (path, "-wal", NULL);
  shm = g_strconcat (path, "-shm", NULL);

  g_print ("NatterStore: %u messages in %d conversations (SQLite %s)\n",
           n_messages, N_CONVERSATIONS, sqlite3_libversion ());

  store = natter_store_new (path, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < N_CONVERSATIONS; i++)
    {
      g_autofree char *id = contact_id (i);
      g_autofree char *name = g_strdup_printf ("Contact %u", i);
      g_autoptr(NatterContact) contact = natter_store_add_contact (store, id, name, &error);

      g_assert_no_error (error);
    }
  g_clear_object (&store);

  fill (path, n_messages);

  start = g_get_monotonic_time ();
  store = natter_store_new (path, &error);
  g_assert_no_error (error);
  g_print ("%-44s %8.3f ms\n", "open (schema check)", ms_since (start));

  time_count (store, "count one conversation", user_id);
  time_count (store, "count all", NULL);

  time_loads (store);
  time_search (store, "oboe", NULL);
  time_search (store, "meeting", NULL);
  time_search (store, "hello", NULL);
  time_search (store, "hello meeting", NULL);
  time_search (store, "kalo", NULL);
  time_search (store, "meeting", user_id);
  time_writes (store);
  time_unread (store);

  start = g_get_monotonic_time ();
  natter_store_remove_contact (store, user_id, &error);
  g_assert_no_error (error);
  g_print ("%-44s %8.1f ms\n", "remove a contact and its ~10,000 messages", ms_since (start));

  g_clear_object (&store);
  total = file_size (path) + file_size (wal) + file_size (shm);
  g_print ("%-44s %8.1f MiB  (%.0f bytes per message)\n", "database size on disk",
           total / (1024.0 * 1024.0), (double) total / MAX (n_messages, 1));

  g_unlink (path);
  g_unlink (wal);
  g_unlink (shm);
  g_rmdir (dir);
  return 0;
}
