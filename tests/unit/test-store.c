/* test-store.c: NatterStore on real SQLite files
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "test-store"

#include "config.h"

#include <signal.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

#include "natter-call-private.h"
#include "natter-store.h"
#include "natter-store-calls.h"
#include "natter-test-files.h"

#define ANA  "ana-user-id-0000000000000000000000000000000000000000000"
#define BEN  "ben-user-id-0000000000000000000000000000000000000000000"
#define CARA "cara-user-id-000000000000000000000000000000000000000000"

typedef struct
{
  char        *dir;
  char        *path;
  NatterStore *store;
} Fixture;

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  fixture->dir = g_dir_make_tmp ("natter-store-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->path = g_build_filename (fixture->dir, "profile", NATTER_STORE_FILE_NAME, NULL);

  fixture->store = natter_store_new (fixture->path, &error);
  g_assert_no_error (error);
  g_assert_nonnull (fixture->store);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  if (fixture->store != NULL)
    g_assert_finalize_object (g_steal_pointer (&fixture->store));
  natter_test_remove_tree (fixture->dir);
  g_clear_pointer (&fixture->dir, g_free);
  g_clear_pointer (&fixture->path, g_free);
}

static void
fixture_reopen (Fixture *fixture)
{
  g_autoptr(GError) error = NULL;

  g_assert_finalize_object (g_steal_pointer (&fixture->store));
  fixture->store = natter_store_new (fixture->path, &error);
  g_assert_no_error (error);
}

static void
add_contact (NatterStore *store,
             const char  *user_id,
             const char  *name)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NatterContact) contact = natter_store_add_contact (store, user_id, name, &error);

  g_assert_no_error (error);
  g_assert_nonnull (contact);
}

static NatterMessage *
send_text (NatterStore *store,
           const char  *user_id,
           const char  *body)
{
  g_autoptr(GError) error = NULL;
  NatterMessage *message = natter_store_append_outgoing (store, user_id, body, &error);

  g_assert_no_error (error);
  g_assert_nonnull (message);
  return message;
}

static NatterMessage *
receive_text (NatterStore *store,
              const char  *user_id,
              const char  *message_id,
              const char  *body,
              gboolean     expect_new)
{
  g_autoptr(GError) error = NULL;
  gboolean is_new = !expect_new;
  NatterMessage *message;

  message = natter_store_insert_incoming (store, user_id, message_id, body,
                                          g_get_real_time (), &is_new, &error);
  g_assert_no_error (error);
  g_assert_nonnull (message);
  g_assert_cmpint (is_new, ==, expect_new);
  return message;
}

static void
set_status (NatterStore         *store,
            NatterMessage       *message,
            NatterMessageStatus  status)
{
  g_autoptr(GError) error = NULL;

  natter_store_set_message_status (store, natter_message_get_contact_id (message),
                                   natter_message_get_id (message), status, &error);
  g_assert_no_error (error);
}

static GPtrArray *
outbox (NatterStore *store,
        const char  *user_id)
{
  g_autoptr(GError) error = NULL;
  GPtrArray *messages = natter_store_list_outbox (store, user_id, &error);

  g_assert_no_error (error);
  return messages;
}

static gint64
count (NatterStore *store,
       const char  *user_id)
{
  g_autoptr(GError) error = NULL;
  gint64 n = natter_store_count_messages (store, user_id, &error);

  g_assert_no_error (error);
  return n;
}

static GPtrArray *
search (NatterStore *store,
        const char  *text,
        const char  *user_id,
        guint        limit)
{
  g_autoptr(GError) error = NULL;
  GPtrArray *hits = natter_store_search (store, text, user_id, limit, &error);

  g_assert_no_error (error);
  return hits;
}

static guint
count_hits (NatterStore *store,
            const char  *text,
            const char  *user_id,
            guint        limit)
{
  g_autoptr(GPtrArray) hits = search (store, text, user_id, limit);

  return hits->len;
}

static GPtrArray *
load (NatterStore   *store,
      const char    *user_id,
      NatterMessage *before,
      guint          limit)
{
  g_autoptr(GError) error = NULL;
  GPtrArray *messages = natter_store_load_messages (store, user_id, before, limit, &error);

  g_assert_no_error (error);
  return messages;
}

static GPtrArray *
list_contacts (NatterStore *store)
{
  g_autoptr(GError) error = NULL;
  GPtrArray *contacts = natter_store_list_contacts (store, &error);

  g_assert_no_error (error);
  return contacts;
}

static sqlite3 *
open_raw (const char *path)
{
  sqlite3 *db = NULL;

  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  return db;
}

static void
exec_raw (sqlite3    *db,
          const char *sql)
{
  char *message = NULL;

  if (sqlite3_exec (db, sql, NULL, NULL, &message) != SQLITE_OK)
    g_error ("%s: %s", sql, message);
}

static gint64
int_raw (sqlite3    *db,
         const char *sql)
{
  sqlite3_stmt *stmt = NULL;
  gint64 value;

  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  value = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  return value;
}

/* Tests */

static void
test_open (Fixture       *fixture,
           gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NatterStore) store = NULL;
  GStatBuf st;
  sqlite3 *db;

  g_assert_cmpuint (natter_store_get_schema_version (fixture->store), ==,
                    NATTER_STORE_SCHEMA_VERSION);
  g_assert_cmpstr (natter_store_get_path (fixture->store), ==, fixture->path);

  /* Private to the user: the history is nobody else's business. */
  g_assert_cmpint (g_stat (fixture->path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  db = open_raw (fixture->path);
  {
    sqlite3_stmt *stmt = NULL;

    g_assert_cmpint (sqlite3_prepare_v2 (db, "PRAGMA journal_mode", -1, &stmt, NULL), ==,
                     SQLITE_OK);
    g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
    g_assert_cmpstr ((const char *) sqlite3_column_text (stmt, 0), ==, "wal");
    sqlite3_finalize (stmt);
  }
  g_assert_cmpint (int_raw (db, "PRAGMA user_version"), ==, NATTER_STORE_SCHEMA_VERSION);
  sqlite3_close (db);

  /* Reopening an up-to-date store changes nothing. */
  fixture_reopen (fixture);
  g_assert_cmpuint (natter_store_get_schema_version (fixture->store), ==,
                    NATTER_STORE_SCHEMA_VERSION);

  /* A store from a newer Natter is refused, not damaged. */
  natter_store_close (fixture->store);
  db = open_raw (fixture->path);
  exec_raw (db, "PRAGMA user_version = 99");
  sqlite3_close (db);
  store = natter_store_new (fixture->path, &error);
  g_assert_error (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_TOO_NEW);
  g_assert_null (store);
}

static void
test_not_a_database (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NatterStore) store = NULL;
  g_autofree char *dir = g_dir_make_tmp ("natter-store-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, NATTER_STORE_FILE_NAME, NULL);

  g_assert_true (g_file_set_contents (path, "This is not a database, it is a letter. "
                                      "It is long enough for SQLite to read a header from. "
                                      "Padding padding padding padding padding.", -1, NULL));
  store = natter_store_new (path, &error);
  g_assert_error (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_CORRUPT);
  g_assert_null (store);

  natter_test_remove_tree (dir);
}

static char *
read_file (const char *path,
           gsize      *length)
{
  char *data = NULL;

  g_assert_true (g_file_get_contents (path, &data, length, NULL));
  return data;
}

/* A new history appears whole, marked as Natter's; a missing or empty one
 * is made only when the caller allows it */
static void
test_open_create (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NatterStore) store = NULL;
  g_autofree char *dir = g_dir_make_tmp ("natter-store-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, NATTER_STORE_FILE_NAME, NULL);
  g_autofree char *building = g_strconcat (path, ".new", NULL);
  GStatBuf st;
  sqlite3 *db;

  store = natter_store_open (path, 0, &error);
  g_assert_error (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_CORRUPT);
  g_assert_null (store);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  g_clear_error (&error);

  g_assert_true (g_file_set_contents (path, "", 0, NULL));
  store = natter_store_open (path, 0, &error);
  g_assert_error (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, "missing or empty"));
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_size, ==, 0);
  g_clear_error (&error);

  store = natter_store_open (path, NATTER_STORE_OPEN_CREATE, &error);
  g_assert_no_error (error);
  add_contact (store, ANA, "Ana");
  g_assert_false (g_file_test (building, G_FILE_TEST_EXISTS));
  g_assert_finalize_object (g_steal_pointer (&store));

  db = open_raw (path);
  g_assert_cmpint (int_raw (db, "PRAGMA application_id"), ==, NATTER_STORE_APPLICATION_ID);
  g_assert_cmpint (int_raw (db, "PRAGMA user_version"), ==, NATTER_STORE_SCHEMA_VERSION);
  sqlite3_close (db);

  natter_test_remove_tree (dir);
}

/* Another program's SQLite file and a newer Natter's history are refused
 * before anything is written to them */
static void
test_open_refuses_untouched (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NatterStore) store = NULL;
  g_autofree char *dir = g_dir_make_tmp ("natter-store-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, NATTER_STORE_FILE_NAME, NULL);
  g_autofree char *wal = g_strconcat (path, "-wal", NULL);
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  gsize before_len, after_len;
  sqlite3 *db;

  db = open_raw (path);
  exec_raw (db, "CREATE TABLE recipes (name TEXT); INSERT INTO recipes VALUES ('bread')");
  sqlite3_close (db);
  before = read_file (path, &before_len);
  store = natter_store_open (path, NATTER_STORE_OPEN_CREATE, &error);
  g_assert_error (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_FOREIGN);
  g_assert_null (store);
  after = read_file (path, &after_len);
  g_assert_cmpmem (before, before_len, after, after_len);
  g_assert_false (g_file_test (wal, G_FILE_TEST_EXISTS));
  g_clear_error (&error);
  g_unlink (path);
  g_clear_pointer (&before, g_free);
  g_clear_pointer (&after, g_free);

  store = natter_store_open (path, NATTER_STORE_OPEN_CREATE, &error);
  g_assert_no_error (error);
  add_contact (store, ANA, "Ana");
  g_assert_finalize_object (g_steal_pointer (&store));
  db = open_raw (path);
  exec_raw (db, "PRAGMA user_version = 99; PRAGMA journal_mode = DELETE");
  sqlite3_close (db);
  before = read_file (path, &before_len);
  store = natter_store_open (path, NATTER_STORE_OPEN_CREATE, &error);
  g_assert_error (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_TOO_NEW);
  g_assert_null (store);
  after = read_file (path, &after_len);
  g_assert_cmpmem (before, before_len, after, after_len);
  g_assert_false (g_file_test (wal, G_FILE_TEST_EXISTS));

  natter_test_remove_tree (dir);
}

/* A damaged page is found by the check, which stops writes; the backup
 * brings the history back and the damaged file is kept */
static void
test_damage_and_backup (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NatterStore) store = NULL;
  g_autoptr(NatterMessage) lost = NULL;
  g_autoptr(GPtrArray) page = NULL;
  g_autofree char *dir = g_dir_make_tmp ("natter-store-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, NATTER_STORE_FILE_NAME, NULL);
  g_autofree char *aside = NULL;
  g_autofree char *data = NULL;
  g_autofree char *noise = g_malloc (4096);
  gsize length;

  store = natter_store_open (path, NATTER_STORE_OPEN_CREATE, &error);
  g_assert_no_error (error);
  add_contact (store, ANA, "Ana");
  for (guint i = 0; i < 400; i++)
    {
      g_autofree char *body = g_strdup_printf ("message %u %0200u", i, i);

      g_clear_object (&lost);
      lost = send_text (store, ANA, body);
    }
  g_assert_true (natter_store_check (store, &error));
  g_assert_no_error (error);
  g_assert_true (natter_store_backup (store, &error));
  g_assert_no_error (error);
  g_clear_object (&lost);
  g_assert_finalize_object (g_steal_pointer (&store));

  /* 4 KiB of noise in the middle of the file */
  data = read_file (path, &length);
  g_assert_cmpuint (length, >, 16 * 4096);
  for (guint i = 0; i < 4096; i++)
    noise[i] = g_random_int_range (0, 256);
  memcpy (data + (length / 4096 / 2) * 4096, noise, 4096);
  g_assert_true (g_file_set_contents (path, data, length, NULL));

  store = natter_store_open (path, 0, &error);
  g_assert_no_error (error);
  g_assert_false (natter_store_check (store, &error));
  g_assert_error (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_CORRUPT);
  g_clear_error (&error);
  g_assert_true (natter_store_get_damaged (store));
  lost = natter_store_append_outgoing (store, ANA, "into the damaged file", &error);
  g_assert_error (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_CORRUPT);
  g_assert_null (lost);
  g_clear_error (&error);
  g_assert_false (natter_store_backup (store, &error));
  g_clear_error (&error);
  g_assert_finalize_object (g_steal_pointer (&store));

  aside = natter_store_restore_backup (path, &error);
  g_assert_no_error (error);
  g_assert_true (g_file_test (aside, G_FILE_TEST_EXISTS));

  store = natter_store_open (path, 0, &error);
  g_assert_no_error (error);
  g_assert_true (natter_store_check (store, &error));
  page = load (store, ANA, NULL, 1000);
  g_assert_cmpuint (page->len, ==, 400);
  g_clear_pointer (&page, g_ptr_array_unref);
  lost = send_text (store, ANA, "after the restore");
  g_clear_object (&lost);
  g_assert_finalize_object (g_steal_pointer (&store));

  natter_test_remove_tree (dir);
}

static void
on_notify_count (GObject    *object,
                 GParamSpec *pspec,
                 guint      *counter)
{
  (*counter)++;
}

static void
test_contacts (Fixture       *fixture,
               gconstpointer  data)
{
  NatterStore *store = fixture->store;
  g_autoptr(GError) error = NULL;
  g_autoptr(NatterContact) ana = NULL;
  g_autoptr(NatterContact) again = NULL;
  g_autoptr(NatterContact) missing = NULL;
  g_autoptr(NatterContact) copy = NULL;
  g_autoptr(GPtrArray) contacts = NULL;
  g_autoptr(GBytes) avatar = NULL;
  g_autoptr(GBytes) big = NULL;
  g_autoptr(NatterMessage) message = NULL;
  guint name_notifies = 0;

  ana = natter_store_add_contact (store, ANA, "Ana", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (natter_contact_get_user_id (ana), ==, ANA);
  g_assert_cmpstr (natter_contact_get_name (ana), ==, "Ana");
  g_assert_cmpint (natter_contact_get_added_time (ana), >, 0);
  g_assert_false (natter_contact_get_verified (ana));
  g_assert_false (natter_contact_get_blocked (ana));

  missing = natter_store_add_contact (store, ANA, "Ana again", &error);
  g_assert_error (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_EXISTS);
  g_assert_null (missing);
  g_clear_error (&error);

  missing = natter_store_get_contact (store, BEN, &error);
  g_assert_error (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_NOT_FOUND);
  g_assert_null (missing);
  g_clear_error (&error);

  add_contact (store, BEN, NULL);
  add_contact (store, CARA, "Cara");

  /* The same live object comes back, and follows changes. */
  again = natter_store_get_contact (store, ANA, &error);
  g_assert_no_error (error);
  g_assert_true (again == ana);

  g_signal_connect (ana, "notify::name", G_CALLBACK (on_notify_count), &name_notifies);
  g_assert_true (natter_store_rename_contact (store, ANA, "Ana from the lab", &error));
  g_assert_no_error (error);
  g_assert_cmpstr (natter_contact_get_name (ana), ==, "Ana from the lab");
  g_assert_cmpstr (natter_contact_get_display_name (ana), ==, "Ana");
  g_assert_cmpuint (name_notifies, ==, 1);
  g_assert_true (natter_store_rename_contact (store, ANA, NULL, &error));
  g_assert_cmpstr (natter_contact_get_name (ana), ==, "Ana");

  g_assert_false (natter_store_rename_contact (store, "nobody", "x", &error));
  g_assert_error (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);

  g_assert_true (natter_store_set_contact_blocked (store, ANA, TRUE, &error));
  g_assert_true (natter_contact_get_blocked (ana));
  g_assert_true (natter_store_set_contact_blocked (store, ANA, FALSE, &error));
  g_assert_false (natter_contact_get_blocked (ana));

  g_assert_true (natter_store_set_contact_verified (store, ANA, TRUE, &error));
  g_assert_true (natter_contact_get_verified (ana));
  g_assert_no_error (error);

  /* Presence is not stored but lives on the object. */
  natter_contact_set_presence (ana, NATTER_PRESENCE_ONLINE);

  /* Profile fields and an avatar through update_contact(). */
  avatar = g_bytes_new_static ("\x89PNG fake", 9);
  copy = natter_contact_new (BEN);
  natter_contact_set_display_name (copy, "Ben");
  natter_contact_set_bio (copy, "Plays the oboe");
  natter_contact_set_avatar (copy, avatar);
  g_assert_true (natter_store_update_contact (store, copy, &error));
  g_assert_no_error (error);

  big = g_bytes_new_take (g_malloc0 (NATTER_CONTACT_AVATAR_MAX_SIZE + 1),
                          NATTER_CONTACT_AVATAR_MAX_SIZE + 1);
  natter_contact_set_avatar (copy, big);
  g_assert_false (natter_store_update_contact (store, copy, &error));
  g_assert_error (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_INVALID);
  g_clear_error (&error);

  /* Everything survives a reopen. */
  g_clear_object (&ana);
  g_clear_object (&again);
  g_clear_object (&copy);
  fixture_reopen (fixture);
  store = fixture->store;

  ana = natter_store_get_contact (store, ANA, &error);
  g_assert_no_error (error);
  g_assert_true (natter_contact_get_verified (ana));
  g_assert_cmpint (natter_contact_get_presence (ana), ==, NATTER_PRESENCE_UNKNOWN);
  copy = natter_store_get_contact (store, BEN, &error);
  g_assert_cmpstr (natter_contact_get_name (copy), ==, "Ben");
  g_assert_cmpstr (natter_contact_get_bio (copy), ==, "Plays the oboe");
  g_assert_true (g_bytes_equal (natter_contact_get_avatar (copy), avatar));

  /* The list puts the most recently active conversation first. */
  message = send_text (store, CARA, "hello");
  contacts = list_contacts (store);
  g_assert_cmpuint (contacts->len, ==, 3);
  g_assert_cmpstr (natter_contact_get_user_id (contacts->pdata[0]), ==, CARA);
  g_assert_cmpstr (natter_contact_get_user_id (contacts->pdata[1]), ==, ANA);
  g_assert_cmpstr (natter_contact_get_user_id (contacts->pdata[2]), ==, BEN);
  g_clear_pointer (&contacts, g_ptr_array_unref);

  /* Removing a contact removes its conversation. */
  g_assert_true (natter_store_remove_contact (store, CARA, &error));
  g_assert_no_error (error);
  g_assert_cmpint (count (store, NULL), ==, 0);
  g_assert_false (natter_store_remove_contact (store, CARA, &error));
  g_assert_error (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);
  contacts = list_contacts (store);
  g_assert_cmpuint (contacts->len, ==, 2);
}

static void
test_outgoing (Fixture       *fixture,
               gconstpointer  data)
{
  NatterStore *store = fixture->store;
  g_autoptr(GError) error = NULL;
  g_autoptr(NatterMessage) first = NULL;
  g_autoptr(NatterMessage) second = NULL;
  g_autoptr(NatterMessage) third = NULL;
  g_autoptr(NatterMessage) none = NULL;
  g_autoptr(NatterMessage) last = NULL;
  g_autoptr(GPtrArray) queue = NULL;
  guint status_notifies = 0;

  add_contact (store, ANA, "Ana");

  none = natter_store_append_outgoing (store, "nobody", "hi", &error);
  g_assert_error (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);
  none = natter_store_append_outgoing (store, ANA, "", &error);
  g_assert_error (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_INVALID);
  g_clear_error (&error);
  none = natter_store_append_outgoing (store, ANA, "\xff\xfe", &error);
  g_assert_error (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_INVALID);
  g_clear_error (&error);

  first = send_text (store, ANA, "one");
  second = send_text (store, ANA, "two");
  third = send_text (store, ANA, "three");

  g_assert_true (g_uuid_string_is_valid (natter_message_get_id (first)));
  g_assert_cmpstr (natter_message_get_contact_id (first), ==, ANA);
  g_assert_cmpint (natter_message_get_direction (first), ==, NATTER_MESSAGE_DIRECTION_OUT);
  g_assert_cmpint (natter_message_get_status (first), ==, NATTER_MESSAGE_STATUS_QUEUED);
  g_assert_cmpint (natter_message_get_timestamp (first), >, 0);
  g_assert_cmpint (natter_message_get_row_id (second), >, natter_message_get_row_id (first));

  last = natter_store_get_last_message (store, ANA, &error);
  g_assert_true (last == third);

  queue = outbox (store, ANA);
  g_assert_cmpuint (queue->len, ==, 3);
  g_assert_true (queue->pdata[0] == first);
  g_assert_true (queue->pdata[1] == second);
  g_assert_true (queue->pdata[2] == third);
  g_clear_pointer (&queue, g_ptr_array_unref);

  g_signal_connect (first, "notify::status", G_CALLBACK (on_notify_count), &status_notifies);

  /* Sent stays in the outbox until a receipt comes. */
  set_status (store, first, NATTER_MESSAGE_STATUS_SENT);
  g_assert_cmpint (natter_message_get_status (first), ==, NATTER_MESSAGE_STATUS_SENT);
  g_assert_cmpuint (status_notifies, ==, 1);
  queue = outbox (store, ANA);
  g_assert_cmpuint (queue->len, ==, 3);
  g_clear_pointer (&queue, g_ptr_array_unref);

  set_status (store, first, NATTER_MESSAGE_STATUS_DELIVERED);
  set_status (store, first, NATTER_MESSAGE_STATUS_READ);
  g_assert_cmpuint (status_notifies, ==, 3);
  /* A late receipt and a late failure do not move it backwards. */
  set_status (store, first, NATTER_MESSAGE_STATUS_DELIVERED);
  set_status (store, first, NATTER_MESSAGE_STATUS_FAILED);
  g_assert_cmpint (natter_message_get_status (first), ==, NATTER_MESSAGE_STATUS_READ);
  g_assert_cmpuint (status_notifies, ==, 3);

  /* Failed leaves the outbox; a retry puts it back at the end. */
  set_status (store, second, NATTER_MESSAGE_STATUS_FAILED);
  queue = outbox (store, ANA);
  g_assert_cmpuint (queue->len, ==, 1);
  g_assert_true (queue->pdata[0] == third);
  g_clear_pointer (&queue, g_ptr_array_unref);
  set_status (store, second, NATTER_MESSAGE_STATUS_QUEUED);
  queue = outbox (store, ANA);
  g_assert_cmpuint (queue->len, ==, 2);
  g_assert_true (queue->pdata[0] == third);
  g_assert_true (queue->pdata[1] == second);
  g_clear_pointer (&queue, g_ptr_array_unref);

  g_assert_true (natter_store_remove_from_outbox (store, ANA, natter_message_get_id (third),
                                                  &error));
  g_assert_true (natter_store_remove_from_outbox (store, ANA, natter_message_get_id (third),
                                                  &error));
  g_assert_no_error (error);
  g_assert_cmpint (natter_message_get_status (third), ==, NATTER_MESSAGE_STATUS_QUEUED);

  g_assert_false (natter_store_set_message_status (store, ANA, "no-such-id",
                                                   NATTER_MESSAGE_STATUS_SENT, &error));
  g_assert_error (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* All of it is on disk, not only in the objects. */
  g_clear_object (&first);
  g_clear_object (&second);
  g_clear_object (&third);
  g_clear_object (&last);
  fixture_reopen (fixture);
  store = fixture->store;

  queue = outbox (store, ANA);
  g_assert_cmpuint (queue->len, ==, 1);
  g_assert_cmpstr (natter_message_get_body (queue->pdata[0]), ==, "two");
  g_clear_pointer (&queue, g_ptr_array_unref);
  queue = load (store, ANA, NULL, 10);
  g_assert_cmpuint (queue->len, ==, 3);
  g_assert_cmpstr (natter_message_get_body (queue->pdata[0]), ==, "one");
  g_assert_cmpint (natter_message_get_status (queue->pdata[0]), ==, NATTER_MESSAGE_STATUS_READ);
  g_assert_cmpint (natter_message_get_status (queue->pdata[1]), ==, NATTER_MESSAGE_STATUS_QUEUED);
  g_assert_cmpint (natter_message_get_status (queue->pdata[2]), ==, NATTER_MESSAGE_STATUS_QUEUED);
}

static void
test_incoming (Fixture       *fixture,
               gconstpointer  data)
{
  NatterStore *store = fixture->store;
  g_autoptr(GError) error = NULL;
  g_autoptr(NatterMessage) first = NULL;
  g_autoptr(NatterMessage) duplicate = NULL;
  g_autoptr(NatterMessage) other = NULL;
  g_autoptr(NatterMessage) mine = NULL;
  g_autoptr(NatterMessage) none = NULL;
  g_autoptr(GPtrArray) page = NULL;
  const char *id = "6f1c7f0e-2a57-4d3b-9a53-b1f7f0f3f001";
  gint64 row_id;

  add_contact (store, ANA, "Ana");
  add_contact (store, BEN, "Ben");

  first = receive_text (store, ANA, id, "Are you coming?", TRUE);
  g_assert_cmpint (natter_message_get_direction (first), ==, NATTER_MESSAGE_DIRECTION_IN);
  g_assert_cmpint (natter_message_get_status (first), ==, NATTER_MESSAGE_STATUS_RECEIVED);
  g_assert_cmpint (natter_message_get_received_timestamp (first), >, 0);
  g_assert_cmpuint (natter_store_get_unread_count (store, ANA), ==, 1);
  row_id = natter_message_get_row_id (first);

  /* The same message delivered twice is stored and counted once. */
  duplicate = receive_text (store, ANA, id, "Are you coming?", FALSE);
  g_assert_true (duplicate == first);
  g_clear_object (&duplicate);
  g_clear_object (&first);
  duplicate = receive_text (store, ANA, id, "Are you coming?", FALSE);
  g_assert_cmpint (natter_message_get_row_id (duplicate), ==, row_id);
  g_assert_cmpuint (natter_store_get_unread_count (store, ANA), ==, 1);
  g_assert_cmpint (count (store, ANA), ==, 1);
  page = load (store, ANA, NULL, 50);
  g_assert_cmpuint (page->len, ==, 1);
  g_clear_pointer (&page, g_ptr_array_unref);

  /* The same ID from another contact is another message. */
  other = receive_text (store, BEN, id, "Hi", TRUE);
  g_assert_cmpint (natter_message_get_row_id (other), !=, row_id);
  g_assert_cmpuint (natter_store_get_total_unread_count (store), ==, 2);

  /* A received message cannot take the ID of one we sent. */
  mine = send_text (store, ANA, "mine");
  none = natter_store_insert_incoming (store, ANA, natter_message_get_id (mine), "forged", 0,
                                       NULL, &error);
  g_assert_error (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_INVALID);
  g_assert_null (none);
  g_clear_error (&error);
  g_assert_cmpstr (natter_message_get_body (mine), ==, "mine");

  none = natter_store_insert_incoming (store, CARA, "x", "from a stranger", 0, NULL, &error);
  g_assert_error (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* Received messages only become read. */
  g_assert_false (natter_store_set_message_status (store, ANA, id,
                                                   NATTER_MESSAGE_STATUS_DELIVERED, &error));
  g_assert_error (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_INVALID);
  g_clear_error (&error);
  set_status (store, duplicate, NATTER_MESSAGE_STATUS_READ);
  g_assert_cmpint (natter_message_get_status (duplicate), ==, NATTER_MESSAGE_STATUS_READ);
  g_assert_cmpuint (natter_store_get_unread_count (store, ANA), ==, 0);
  set_status (store, duplicate, NATTER_MESSAGE_STATUS_READ);
  g_assert_cmpuint (natter_store_get_unread_count (store, ANA), ==, 0);
  g_assert_cmpuint (natter_store_get_total_unread_count (store), ==, 1);
}

static void
test_unread (Fixture       *fixture,
             gconstpointer  data)
{
  NatterStore *store = fixture->store;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) held = g_ptr_array_new_with_free_func (g_object_unref);
  guint read_notifies = 0;

  add_contact (store, ANA, "Ana");
  add_contact (store, BEN, "Ben");

  for (guint i = 0; i < 5; i++)
    {
      g_autofree char *id = g_strdup_printf ("ana-%u", i);
      NatterMessage *message = receive_text (store, ANA, id, "news", TRUE);

      g_signal_connect (message, "notify::status", G_CALLBACK (on_notify_count), &read_notifies);
      g_ptr_array_add (held, message);
    }
  g_ptr_array_add (held, receive_text (store, BEN, "ben-0", "news", TRUE));

  g_assert_cmpuint (natter_store_get_unread_count (store, ANA), ==, 5);
  g_assert_cmpuint (natter_store_get_unread_count (store, BEN), ==, 1);
  g_assert_cmpuint (natter_store_get_unread_count (store, "nobody"), ==, 0);
  g_assert_cmpuint (natter_store_get_total_unread_count (store), ==, 6);

  g_assert_true (natter_store_mark_conversation_read (store, ANA, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (natter_store_get_unread_count (store, ANA), ==, 0);
  g_assert_cmpuint (natter_store_get_total_unread_count (store), ==, 1);
  g_assert_cmpuint (read_notifies, ==, 5);
  g_assert_cmpint (natter_message_get_status (held->pdata[0]), ==, NATTER_MESSAGE_STATUS_READ);
  g_assert_cmpint (natter_message_get_status (held->pdata[5]), ==,
                   NATTER_MESSAGE_STATUS_RECEIVED);

  fixture_reopen (fixture);
  g_assert_cmpuint (natter_store_get_unread_count (fixture->store, ANA), ==, 0);
  g_assert_cmpuint (natter_store_get_unread_count (fixture->store, BEN), ==, 1);
}

static void
test_paging (Fixture       *fixture,
             gconstpointer  data)
{
  NatterStore *store = fixture->store;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) page = NULL;
  g_autoptr(NatterMessage) before = NULL;
  guint seen = 0;

  add_contact (store, ANA, "Ana");
  add_contact (store, BEN, "Ben");

  for (guint i = 0; i < 120; i++)
    {
      g_autofree char *body = g_strdup_printf ("message %u", i);
      g_autofree char *id = g_strdup_printf ("in-%u", i);
      g_autoptr(NatterMessage) message = NULL;

      if (i % 2 == 0)
        message = send_text (store, ANA, body);
      else
        message = receive_text (store, ANA, id, body, TRUE);

      /* Another conversation in between must not show up. */
      g_object_unref (send_text (store, BEN, "elsewhere"));
    }

  g_assert_cmpint (count (store, ANA), ==, 120);
  g_assert_cmpint (count (store, BEN), ==, 120);
  g_assert_cmpint (count (store, NULL), ==, 240);

  page = load (store, ANA, NULL, 50);
  g_assert_cmpuint (page->len, ==, 50);
  g_assert_cmpstr (natter_message_get_body (page->pdata[0]), ==, "message 70");
  g_assert_cmpstr (natter_message_get_body (page->pdata[49]), ==, "message 119");

  /* Page backwards until the start, in reading order within each page. */
  while (page->len > 0)
    {
      for (guint i = 0; i < page->len; i++)
        {
          g_autofree char *expected = g_strdup_printf ("message %u", 120 - seen - page->len + i);

          g_assert_cmpstr (natter_message_get_body (page->pdata[i]), ==, expected);
        }
      seen += page->len;

      g_set_object (&before, page->pdata[0]);
      g_clear_pointer (&page, g_ptr_array_unref);
      page = load (store, ANA, before, 50);
    }
  g_assert_cmpuint (seen, ==, 120);

  g_clear_pointer (&page, g_ptr_array_unref);
  page = natter_store_load_messages (store, "nobody", NULL, 50, &error);
  g_assert_error (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_NOT_FOUND);
  g_assert_null (page);
}

static void
test_search (Fixture       *fixture,
             gconstpointer  data)
{
  NatterStore *store = fixture->store;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) hits = NULL;
  NatterStoreSearchHit *hit;
  const char *bodies[] = {
    "Let's meet at the café tomorrow",
    "The cafe on Main Street is closed",
    "Bring the <b>oboe</b> & the sheet music",
    "Nothing to see here",
  };

  add_contact (store, ANA, "Ana");
  add_contact (store, BEN, "Ben");

  for (guint i = 0; i < G_N_ELEMENTS (bodies); i++)
    g_object_unref (send_text (store, ANA, bodies[i]));
  g_object_unref (receive_text (store, BEN, "b-1", "See you at the cafe", TRUE));

  /* Diacritics fold, newest first, across conversations. */
  hits = search (store, "cafe", NULL, 0);
  g_assert_cmpuint (hits->len, ==, 3);
  hit = hits->pdata[0];
  g_assert_cmpstr (natter_message_get_contact_id (hit->message), ==, BEN);
  g_assert_cmpstr (hit->snippet, ==, "See you at the cafe");
  g_assert_cmpstr (hit->snippet_markup, ==, "See you at the <b>cafe</b>");
  hit = hits->pdata[2];
  g_assert_cmpstr (natter_message_get_body (hit->message), ==, bodies[0]);
  g_assert_cmpstr (hit->snippet_markup, ==, "Let&apos;s meet at the <b>café</b> tomorrow");
  g_clear_pointer (&hits, g_ptr_array_unref);

  /* One conversation only; every word must match; prefixes match. */
  g_assert_cmpuint (count_hits (store, "caf", ANA, 0), ==, 2);
  g_assert_cmpuint (count_hits (store, "cafe  closed", NULL, 0), ==, 1);
  g_assert_cmpuint (count_hits (store, "cafe", NULL, 1), ==, 1);

  /* Markup in bodies is escaped in the snippet. */
  hits = search (store, "oboe", NULL, 0);
  g_assert_cmpuint (hits->len, ==, 1);
  hit = hits->pdata[0];
  g_assert_cmpstr (hit->snippet, ==, bodies[2]);
  g_assert_cmpstr (hit->snippet_markup, ==,
                   "Bring the &lt;b&gt;<b>oboe</b>&lt;/b&gt; &amp; the sheet music");
  g_clear_pointer (&hits, g_ptr_array_unref);

  /* Control characters in a body are not taken for the match markers */
  g_object_unref (receive_text (store, BEN, "b-2", "\x01odd\x02 <i>bassoon</i> \x02", TRUE));
  hits = search (store, "bassoon", NULL, 0);
  g_assert_cmpuint (hits->len, ==, 1);
  hit = hits->pdata[0];
  g_assert_cmpstr (hit->snippet_markup, ==, "&#x1;odd&#x2; &lt;i&gt;<b>bassoon</b>&lt;/i&gt; &#x2;");
  g_clear_pointer (&hits, g_ptr_array_unref);

  /* What the user types is never taken as query syntax. */
  g_assert_cmpuint (count_hits (store, "\"cafe OR NOT* (", NULL, 0), ==, 0);
  g_assert_cmpuint (count_hits (store, "   ", NULL, 0), ==, 0);
  {
    const char *odd[] = { "*", "-", "\"", "^", ":", "NEAR(", "body:cafe", "a\"\"b", "(", ")" };

    for (guint i = 0; i < G_N_ELEMENTS (odd); i++)
      g_assert_cmpuint (count_hits (store, odd[i], NULL, 0), <=, 5);
  }

  /* Removed messages leave the index. */
  g_assert_true (natter_store_remove_contact (store, BEN, &error));
  hits = search (store, "cafe", NULL, 0);
  g_assert_cmpuint (hits->len, ==, 2);
}

static void
test_migration (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NatterStore) store = NULL;
  g_autoptr(NatterContact) ana = NULL;
  g_autoptr(GPtrArray) page = NULL;
  g_autoptr(GPtrArray) queue = NULL;
  g_autoptr(GPtrArray) hits = NULL;
  g_autoptr(NatterMessage) added = NULL;
  g_autofree char *dir = g_dir_make_tmp ("natter-store-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, NATTER_STORE_FILE_NAME, NULL);
  sqlite3 *db;

  /* A database as the first release made it, filled as it would have. */
  store = natter_store_new_at_version (path, 1, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (natter_store_get_schema_version (store), ==, 1);
  g_assert_finalize_object (g_steal_pointer (&store));

  db = open_raw (path);
  exec_raw (db,
            "INSERT INTO contacts (id, user_id, display_name, alias, verified, added_at, updated_at)"
            "  VALUES (1, '" ANA "', 'Ana', 'Ana L.', 1, 1000, 1000);"
            "INSERT INTO conversations (id, contact_id, unread_count, last_message_id, last_activity)"
            "  VALUES (1, 1, 1, 3, 3000);"
            "INSERT INTO messages (id, conversation_id, uuid, direction, body, sent_at, received_at, status)"
            "  VALUES (1, 1, 'u-1', 1, 'first words before the upgrade', 1000, NULL, 2),"
            "         (2, 1, 'u-2', 1, 'still waiting in the outbox', 2000, NULL, 0),"
            "         (3, 1, 'u-3', 0, 'an answer from before the upgrade', 2500, 3000, 5);"
            "INSERT INTO outbox (message_id, contact_id) VALUES (2, 1);");
  g_assert_cmpint (int_raw (db, "PRAGMA user_version"), ==, 1);
  sqlite3_close (db);

  /* Opening it with this version upgrades it, keeping everything. */
  store = natter_store_new (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (natter_store_get_schema_version (store), ==, NATTER_STORE_SCHEMA_VERSION);

  ana = natter_store_get_contact (store, ANA, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (natter_contact_get_name (ana), ==, "Ana L.");
  g_assert_true (natter_contact_get_verified (ana));
  g_assert_cmpint (natter_contact_get_added_time (ana), ==, 1000);

  page = load (store, ANA, NULL, 10);
  g_assert_cmpuint (page->len, ==, 3);
  g_assert_cmpstr (natter_message_get_id (page->pdata[0]), ==, "u-1");
  g_assert_cmpint (natter_message_get_status (page->pdata[0]), ==,
                   NATTER_MESSAGE_STATUS_DELIVERED);
  g_assert_cmpstr (natter_message_get_body (page->pdata[2]), ==,
                   "an answer from before the upgrade");
  g_assert_cmpint (natter_message_get_received_timestamp (page->pdata[2]), ==, 3000);
  g_assert_cmpuint (natter_store_get_unread_count (store, ANA), ==, 1);

  queue = outbox (store, ANA);
  g_assert_cmpuint (queue->len, ==, 1);
  g_assert_cmpstr (natter_message_get_id (queue->pdata[0]), ==, "u-2");

  /* The new full-text index covers the old messages and the new ones. */
  added = send_text (store, ANA, "after the upgrade");
  g_assert_cmpuint (count_hits (store, "upgrade", NULL, 0), ==, 3);
  hits = search (store, "outbox", NULL, 0);
  g_assert_cmpuint (hits->len, ==, 1);

  g_clear_object (&added);
  g_clear_object (&ana);
  g_clear_pointer (&page, g_ptr_array_unref);
  g_clear_pointer (&queue, g_ptr_array_unref);
  g_clear_pointer (&hits, g_ptr_array_unref);
  g_assert_finalize_object (g_steal_pointer (&store));

  db = open_raw (path);
  g_assert_cmpint (int_raw (db, "SELECT count(*) FROM sqlite_schema "
                                "WHERE name IN ('transfers', 'calls', 'messages_fts')"), ==, 3);
  g_assert_cmpint (int_raw (db, "PRAGMA user_version"), ==, NATTER_STORE_SCHEMA_VERSION);
  sqlite3_close (db);

  natter_test_remove_tree (dir);
}

static gint64
message_column_raw (sqlite3    *db,
                    const char *column,
                    const char *uuid)
{
  g_autofree char *sql = g_strdup_printf ("SELECT %s FROM messages WHERE uuid = '%s'",
                                          column, uuid);

  return int_raw (db, sql);
}

/* What the store writes is the numbers older files hold (and older
 * releases read): a direction or status never changes its number. */
static void
test_stored_numbers (Fixture       *fixture,
                     gconstpointer  data)
{
  static const struct
  {
    NatterMessageStatus status;
    int                 stored;
  } outgoing[] = {
    { NATTER_MESSAGE_STATUS_QUEUED, 0 },
    { NATTER_MESSAGE_STATUS_SENT, 1 },
    { NATTER_MESSAGE_STATUS_DELIVERED, 2 },
    { NATTER_MESSAGE_STATUS_READ, 3 },
    { NATTER_MESSAGE_STATUS_FAILED, 4 },
  };
  g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(NatterMessage) message = NULL;
  g_autoptr(GError) error = NULL;
  sqlite3 *db;

  add_contact (fixture->store, ANA, "Ana");
  add_contact (fixture->store, BEN, "Ben");
  for (guint i = 0; i < G_N_ELEMENTS (outgoing); i++)
    {
      g_autoptr(NatterMessage) sent = send_text (fixture->store, ANA, "out");

      if (outgoing[i].status != NATTER_MESSAGE_STATUS_QUEUED)
        set_status (fixture->store, sent, outgoing[i].status);
      g_ptr_array_add (ids, g_strdup (natter_message_get_id (sent)));
    }
  message = receive_text (fixture->store, ANA, "in-1", "still unread", TRUE);
  g_clear_object (&message);
  message = receive_text (fixture->store, BEN, "in-2", "read at once", TRUE);
  g_clear_object (&message);
  g_assert_true (natter_store_mark_conversation_read (fixture->store, BEN, &error));
  g_assert_no_error (error);
  g_assert_finalize_object (g_steal_pointer (&fixture->store));

  db = open_raw (fixture->path);
  for (guint i = 0; i < G_N_ELEMENTS (outgoing); i++)
    {
      g_assert_cmpint (message_column_raw (db, "direction", ids->pdata[i]), ==, 1);
      g_assert_cmpint (message_column_raw (db, "status", ids->pdata[i]), ==, outgoing[i].stored);
    }
  g_assert_cmpint (message_column_raw (db, "direction", "in-1"), ==, 0);
  g_assert_cmpint (message_column_raw (db, "status", "in-1"), ==, 5);
  g_assert_cmpint (message_column_raw (db, "direction", "in-2"), ==, 0);
  g_assert_cmpint (message_column_raw (db, "status", "in-2"), ==, 3);
  /* The unread index (status = 5) still finds what is unread */
  g_assert_cmpint (int_raw (db, "SELECT count(*) FROM messages INDEXED BY messages_unread "
                                "WHERE conversation_id > 0 AND status = 5"), ==, 1);
  sqlite3_close (db);

  /* and this version reads them back as it wrote them */
  fixture->store = natter_store_new (fixture->path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (natter_store_get_unread_count (fixture->store, ANA), ==, 1);
  g_assert_cmpuint (natter_store_get_unread_count (fixture->store, BEN), ==, 0);
  message = natter_store_get_message (fixture->store, BEN, "in-2", &error);
  g_assert_no_error (error);
  g_assert_cmpint (natter_message_get_status (message), ==, NATTER_MESSAGE_STATUS_READ);
  g_assert_cmpint (natter_message_get_direction (message), ==, NATTER_MESSAGE_DIRECTION_IN);
  for (guint i = 0; i < G_N_ELEMENTS (outgoing); i++)
    {
      g_clear_object (&message);
      message = natter_store_get_message (fixture->store, ANA, ids->pdata[i], &error);
      g_assert_no_error (error);
      g_assert_cmpint (natter_message_get_status (message), ==, outgoing[i].status);
      g_assert_cmpint (natter_message_get_direction (message), ==, NATTER_MESSAGE_DIRECTION_OUT);
    }
}

/* A process that dies without closing the store loses nothing it was told
 * was saved. */
static void
test_crash (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NatterStore) store = NULL;
  g_autoptr(GPtrArray) page = NULL;
  g_autoptr(GPtrArray) queue = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *path = NULL;
  g_autofree char *wal = NULL;

  if (g_test_subprocess ())
    {
      NatterMessage *message;

      path = g_build_filename (g_getenv ("NATTER_TEST_STORE_DIR"), NATTER_STORE_FILE_NAME, NULL);
      store = natter_store_new (path, &error);
      g_assert_no_error (error);
      add_contact (store, ANA, "Ana");
      message = send_text (store, ANA, "written before the crash");
      set_status (store, message, NATTER_MESSAGE_STATUS_SENT);
      receive_text (store, ANA, "in-1", "acknowledged before the crash", TRUE);

      /* No close, no cleanup, no atexit: the process is gone. */
      raise (SIGKILL);
      g_assert_not_reached ();
    }

  dir = g_dir_make_tmp ("natter-store-XXXXXX", NULL);
  path = g_build_filename (dir, NATTER_STORE_FILE_NAME, NULL);
  wal = g_strconcat (path, "-wal", NULL);
  g_setenv ("NATTER_TEST_STORE_DIR", dir, TRUE);

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();

  /* The writes are still only in the write-ahead log. */
  g_assert_true (g_file_test (wal, G_FILE_TEST_EXISTS));

  store = natter_store_new (path, &error);
  g_assert_no_error (error);
  page = load (store, ANA, NULL, 10);
  g_assert_cmpuint (page->len, ==, 2);
  g_assert_cmpstr (natter_message_get_body (page->pdata[0]), ==, "written before the crash");
  g_assert_cmpint (natter_message_get_status (page->pdata[0]), ==, NATTER_MESSAGE_STATUS_SENT);
  g_assert_cmpstr (natter_message_get_body (page->pdata[1]), ==,
                   "acknowledged before the crash");
  queue = outbox (store, ANA);
  g_assert_cmpuint (queue->len, ==, 1);
  g_assert_cmpuint (natter_store_get_unread_count (store, ANA), ==, 1);

  g_clear_pointer (&page, g_ptr_array_unref);
  g_clear_pointer (&queue, g_ptr_array_unref);
  g_assert_finalize_object (g_steal_pointer (&store));
  natter_test_remove_tree (dir);
}

static void
test_disk_full (Fixture       *fixture,
                gconstpointer  data)
{
  NatterStore *store = fixture->store;
  g_autoptr(GError) error = NULL;
  g_autoptr(NatterMessage) kept = NULL;
  g_autoptr(NatterMessage) lost = NULL;
  g_autoptr(NatterMessage) later = NULL;
  g_autoptr(GPtrArray) queue = NULL;
  g_autoptr(GPtrArray) page = NULL;
  g_autofree char *big = g_strnfill (512 * 1024, 'x');
  gint64 limit;

  add_contact (store, ANA, "Ana");
  kept = send_text (store, ANA, "this one is safe");

  /* No room left to grow: as if the disk were full. */
  limit = natter_store_set_max_size (store, 1);
  g_assert_cmpint (limit, >, 0);

  lost = natter_store_append_outgoing (store, ANA, big, &error);
  g_assert_error (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_DISK_FULL);
  g_assert_nonnull (strstr (error->message, "disk is full"));
  g_assert_null (lost);
  g_clear_error (&error);

  lost = natter_store_insert_incoming (store, ANA, "in-big", big, 0, NULL, &error);
  g_assert_error (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_DISK_FULL);
  g_assert_null (lost);
  g_clear_error (&error);

  /* Nothing half-written; what was there is intact and still usable. */
  g_assert_cmpint (count (store, ANA), ==, 1);
  g_assert_cmpuint (natter_store_get_unread_count (store, ANA), ==, 0);
  queue = outbox (store, ANA);
  g_assert_cmpuint (queue->len, ==, 1);
  g_assert_true (queue->pdata[0] == kept);
  g_clear_pointer (&queue, g_ptr_array_unref);
  set_status (store, kept, NATTER_MESSAGE_STATUS_SENT);

  /* With room again, writing works. */
  g_assert_cmpint (natter_store_set_max_size (store, 0), >, limit);
  later = send_text (store, ANA, big);

  fixture_reopen (fixture);
  page = load (fixture->store, ANA, NULL, 10);
  g_assert_cmpuint (page->len, ==, 2);
  g_assert_cmpstr (natter_message_get_body (page->pdata[0]), ==, "this one is safe");
  g_assert_cmpint (natter_message_get_status (page->pdata[0]), ==, NATTER_MESSAGE_STATUS_SENT);
  g_assert_cmpuint (strlen (natter_message_get_body (page->pdata[1])), ==, 512 * 1024);
}

static void
test_closed (Fixture       *fixture,
             gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NatterMessage) message = NULL;
  g_autoptr(NatterMessage) kept = NULL;

  add_contact (fixture->store, ANA, "Ana");
  kept = send_text (fixture->store, ANA, "before closing");

  natter_store_close (fixture->store);
  natter_store_close (fixture->store);

  message = natter_store_append_outgoing (fixture->store, ANA, "after closing", &error);
  g_assert_error (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_CLOSED);
  g_assert_null (message);
  g_assert_cmpint (natter_store_count_messages (fixture->store, NULL, NULL), ==, -1);

  /* Objects handed out stay usable. */
  g_assert_cmpstr (natter_message_get_body (kept), ==, "before closing");
}

/* Handlers of the objects' notifications may call back into the store. */
static void
on_notify_reload (GObject    *object,
                  GParamSpec *pspec,
                  Fixture    *fixture)
{
  g_autoptr(GPtrArray) contacts = NULL;
  g_autoptr(GPtrArray) page = load (fixture->store, ANA, NULL, 50);

  g_assert_cmpuint (page->len, ==, 3);
  contacts = list_contacts (fixture->store);
  g_assert_cmpuint (contacts->len, ==, 2);
}

static void
test_reentrant (Fixture       *fixture,
                gconstpointer  data)
{
  NatterStore *store = fixture->store;
  g_autoptr(GError) error = NULL;
  g_autoptr(NatterContact) ana = NULL;
  g_autoptr(NatterMessage) sent = NULL;
  g_autoptr(NatterMessage) first = NULL;
  g_autoptr(NatterMessage) second = NULL;
  g_autoptr(GPtrArray) contacts = NULL;

  ana = natter_store_add_contact (store, ANA, "Ana", &error);
  add_contact (store, BEN, "Ben");
  sent = send_text (store, ANA, "out");
  first = receive_text (store, ANA, "in-1", "one", TRUE);
  second = receive_text (store, ANA, "in-2", "two", TRUE);

  g_signal_connect (ana, "notify", G_CALLBACK (on_notify_reload), fixture);
  g_signal_connect (sent, "notify::status", G_CALLBACK (on_notify_reload), fixture);
  g_signal_connect (first, "notify::status", G_CALLBACK (on_notify_reload), fixture);
  g_signal_connect (second, "notify::status", G_CALLBACK (on_notify_reload), fixture);

  g_assert_true (natter_store_rename_contact (store, ANA, "Ana L.", &error));
  set_status (store, sent, NATTER_MESSAGE_STATUS_DELIVERED);
  g_assert_true (natter_store_mark_conversation_read (store, ANA, &error));
  g_assert_no_error (error);
  contacts = list_contacts (store);
  g_assert_cmpuint (contacts->len, ==, 2);
  g_assert_cmpint (natter_message_get_status (second), ==, NATTER_MESSAGE_STATUS_READ);
}

static gboolean
file_contains (const char *path,
               const char *needle)
{
  g_autofree char *contents = NULL;
  gsize needle_length = strlen (needle);
  gsize length = 0;

  if (!g_file_get_contents (path, &contents, &length, NULL))
    return FALSE;

  for (gsize i = 0; i + needle_length <= length; i++)
    if (memcmp (contents + i, needle, needle_length) == 0)
      return TRUE;

  return FALSE;
}

/* Removing a contact removes the conversation's text from the file. */
static void
test_remove_leaves_no_trace (Fixture       *fixture,
                             gconstpointer  data)
{
  NatterStore *store = fixture->store;
  g_autoptr(GError) error = NULL;
  g_autofree char *wal = g_strconcat (fixture->path, "-wal", NULL);
  const char *secret = "xylophonist rendezvous at quarter past nine";

  add_contact (store, ANA, "Ana");
  add_contact (store, BEN, "Ben");
  g_object_unref (send_text (store, ANA, "keep this"));
  for (guint i = 0; i < 200; i++)
    {
      g_autofree char *id = g_strdup_printf ("ben-%u", i);

      g_object_unref (receive_text (store, BEN, id, secret, TRUE));
    }

  /* Written to the main file first, as after a while of use. */
  natter_store_close (store);
  g_assert_true (file_contains (fixture->path, secret));
  fixture_reopen (fixture);
  store = fixture->store;

  g_assert_true (natter_store_remove_contact (store, BEN, &error));
  g_assert_no_error (error);
  natter_store_close (store);

  g_assert_false (g_file_test (wal, G_FILE_TEST_EXISTS));
  /* The text is overwritten. (Single words can stay in the full-text index
   * until FTS5 merges the segment that holds them; SQLite 3.40 has no FTS5
   * secure-delete.) */
  g_assert_false (file_contains (fixture->path, secret));
  g_assert_true (file_contains (fixture->path, "keep this"));
}

/* A deleted message's row id may be used again; the old object is not reused. */
static void
test_row_id_reuse (Fixture       *fixture,
                   gconstpointer  data)
{
  NatterStore *store = fixture->store;
  g_autoptr(GError) error = NULL;
  g_autoptr(NatterMessage) old = NULL;
  g_autoptr(NatterMessage) fresh = NULL;
  g_autoptr(GPtrArray) page = NULL;

  add_contact (store, ANA, "Ana");
  add_contact (store, BEN, "Ben");
  g_object_unref (send_text (store, ANA, "stays"));
  old = send_text (store, BEN, "goes with Ben");

  g_assert_true (natter_store_remove_contact (store, BEN, &error));
  g_assert_no_error (error);
  fresh = send_text (store, ANA, "new");
  g_assert_true (fresh != old);

  page = load (store, ANA, NULL, 10);
  g_assert_cmpuint (page->len, ==, 2);
  g_assert_cmpstr (natter_message_get_body (page->pdata[1]), ==, "new");
  g_assert_true (page->pdata[1] == fresh);
}

static NatterCall *
ended_call (const char          *id,
            const char          *user_id,
            NatterCallDirection  direction,
            gboolean             answered,
            NatterCallEndReason  reason)
{
  NatterCall *call = _natter_call_new (id, user_id, direction, FALSE);

  if (answered)
    _natter_call_set_state (call, NATTER_CALL_STATE_ACTIVE);
  _natter_call_end (call, reason);
  return call;
}

/* Call records: kept once each, listed oldest first with their outcome,
 * refused for strangers without touching what is kept */
static void
test_calls (Fixture       *fixture,
            gconstpointer  data)
{
  NatterStore *store = fixture->store;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) calls = NULL;
  g_autoptr(NatterCall) answered = NULL;
  g_autoptr(NatterCall) missed = NULL;
  g_autoptr(NatterCall) stranger = NULL;
  NatterCall *first;

  add_contact (store, ANA, "Ana");
  answered = ended_call ("call-1", ANA, NATTER_CALL_DIRECTION_OUT, TRUE, NATTER_CALL_END_HUNG_UP);
  missed = ended_call ("call-2", ANA, NATTER_CALL_DIRECTION_IN, FALSE, NATTER_CALL_END_NO_ANSWER);
  g_assert_cmpint (natter_call_get_outcome (answered), ==, NATTER_CALL_OUTCOME_ANSWERED);
  g_assert_cmpint (natter_call_get_outcome (missed), ==, NATTER_CALL_OUTCOME_MISSED);

  g_assert_true (natter_store_add_call (store, answered, &error));
  g_assert_no_error (error);
  g_assert_true (natter_store_add_call (store, missed, &error));
  /* Twice is once */
  g_assert_true (natter_store_add_call (store, missed, &error));
  g_assert_no_error (error);

  stranger = ended_call ("call-3", CARA, NATTER_CALL_DIRECTION_IN, FALSE, NATTER_CALL_END_BUSY);
  g_assert_false (natter_store_add_call (store, stranger, &error));
  g_assert_error (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);

  fixture_reopen (fixture);
  store = fixture->store;
  calls = natter_store_list_calls (store, ANA, 50, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (calls->len, ==, 2);
  first = g_ptr_array_index (calls, 0);
  g_assert_cmpstr (natter_call_get_id (first), ==, "call-1");
  g_assert_cmpint (natter_call_get_direction (first), ==, NATTER_CALL_DIRECTION_OUT);
  g_assert_cmpint (natter_call_get_outcome (first), ==, NATTER_CALL_OUTCOME_ANSWERED);
  g_assert_cmpint (natter_call_get_state (first), ==, NATTER_CALL_STATE_ENDED);
  g_assert_false (natter_call_get_audio_only (first));
  g_assert_cmpint (natter_call_get_answered_at (first), >, 0);
  g_assert_cmpstr (natter_call_get_id (g_ptr_array_index (calls, 1)), ==, "call-2");
  g_assert_cmpint (natter_call_get_outcome (g_ptr_array_index (calls, 1)), ==,
                   NATTER_CALL_OUTCOME_MISSED);
  g_clear_pointer (&calls, g_ptr_array_unref);

  /* The latest one */
  calls = natter_store_list_calls (store, ANA, 1, &error);
  g_assert_cmpuint (calls->len, ==, 1);
  g_assert_cmpstr (natter_call_get_id (g_ptr_array_index (calls, 0)), ==, "call-2");
  g_clear_pointer (&calls, g_ptr_array_unref);

  g_assert_null (natter_store_list_calls (store, CARA, 50, &error));
  g_assert_error (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_NOT_FOUND);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(name, func) \
  g_test_add ("/Natter/Core/Store/" name, Fixture, NULL, fixture_set_up, func, fixture_tear_down)

  ADD ("open", test_open);
  ADD ("contacts", test_contacts);
  ADD ("outgoing", test_outgoing);
  ADD ("incoming", test_incoming);
  ADD ("unread", test_unread);
  ADD ("paging", test_paging);
  ADD ("search", test_search);
  ADD ("disk-full", test_disk_full);
  ADD ("closed", test_closed);
  ADD ("reentrant", test_reentrant);
  ADD ("row-id-reuse", test_row_id_reuse);
  ADD ("remove-leaves-no-trace", test_remove_leaves_no_trace);
  ADD ("stored-numbers", test_stored_numbers);
  ADD ("calls", test_calls);
  g_test_add_func ("/Natter/Core/Store/not-a-database", test_not_a_database);
  g_test_add_func ("/Natter/Core/Store/open-create", test_open_create);
  g_test_add_func ("/Natter/Core/Store/open-refuses-untouched", test_open_refuses_untouched);
  g_test_add_func ("/Natter/Core/Store/damage-and-backup", test_damage_and_backup);
  g_test_add_func ("/Natter/Core/Store/migration", test_migration);
  g_test_add_func ("/Natter/Core/Store/crash", test_crash);

#undef ADD

  return g_test_run ();
}
