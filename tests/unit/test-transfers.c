/* test-transfers.c: names from peers made safe, the transfer rows, the file envelopes
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "natter-file-name.h"
#include "natter-protocol.h"
#include "natter-store.h"
#include "natter-transfer.h"

typedef struct
{
  const char *hostile;
  const char *safe;
} NameCase;

static void
test_sanitize (void)
{
  static const NameCase cases[] = {
    { "report.pdf", "report.pdf" },
    { "../../x", "_._x" },
    { "..", "file" },
    { "a/b", "a_b" },
    { "a\\b:c*d?e\"f<g>h|i", "a_b_c_d_e_f_g_h_i" },
    { ".bashrc", "bashrc" },
    { "...hidden", "hidden" },
    { "  spaced  ", "spaced" },
    { "trailing.", "trailing" },
    { "", "file" },
    { "\x01\x1b[31mred\x7f", "[31mred" },
    { "line\nbreak\ttab", "linebreaktab" },
    /* U+202E RIGHT-TO-LEFT OVERRIDE hides "exe" as "gpj" */
    { "invoice\xe2\x80\xaegpj.exe", "invoicegpj.exe" },
    /* isolates, zero width space, BOM */
    { "\xe2\x81\xa6x\xe2\x81\xa9\xe2\x80\x8by\xef\xbb\xbf", "xy" },
    { "CON", "_CON" },
    { "con.txt", "_con.txt" },
    { "Com1.tar.gz", "_Com1.tar.gz" },
    { "LPT9", "_LPT9" },
    { "CONSOLE.txt", "CONSOLE.txt" },
    { "n\xff\xfeme.txt", "n\xef\xbf\xbd\xef\xbf\xbdme.txt" },
    { "Grüße.txt", "Grüße.txt" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *safe = natter_file_name_sanitize (cases[i].hostile);

      g_assert_cmpstr (safe, ==, cases[i].safe);
    }
}

static void
test_sanitize_long (void)
{
  g_autoptr(GString) name = g_string_new (NULL);
  g_autofree char *safe = NULL;
  g_autofree char *partial = NULL;

  /* 300 characters of two bytes each, and an extension */
  for (guint i = 0; i < 300; i++)
    g_string_append (name, "é");
  g_string_append (name, ".txt");

  safe = natter_file_name_sanitize (name->str);
  g_assert_cmpuint (strlen (safe), <=, NATTER_FILE_NAME_MAX);
  g_assert_cmpuint (strlen (safe), >=, NATTER_FILE_NAME_MAX - 1);
  g_assert_true (g_utf8_validate (safe, -1, NULL));
  g_assert_true (g_str_has_suffix (safe, "é.txt"));

  partial = natter_file_name_partial (safe);
  g_assert_cmpuint (strlen (partial), <=, NATTER_FILE_NAME_MAX);
  g_assert_true (partial[0] == '.');
  g_assert_true (g_str_has_suffix (partial, ".natterpart"));
  g_assert_true (g_utf8_validate (partial, -1, NULL));
}

static void
touch (GFile      *folder,
       const char *name)
{
  g_autoptr(GFile) file = g_file_get_child (folder, name);
  g_autoptr(GError) error = NULL;

  g_assert_true (g_file_replace_contents (file, "x", 1, NULL, FALSE, G_FILE_CREATE_NONE, NULL,
                                          NULL, &error));
  g_assert_no_error (error);
}

static void
assert_unique (GFile      *folder,
               const char *name,
               const char *expected)
{
  g_autoptr(GFile) file = natter_file_name_unique (folder, name);
  g_autofree char *basename = g_file_get_basename (file);
  g_autoptr(GFile) parent = g_file_get_parent (file);

  g_assert_cmpstr (basename, ==, expected);
  g_assert_true (g_file_equal (parent, folder));
}

static void
test_unique (void)
{
  g_autofree char *dir = g_dir_make_tmp ("natter-names-XXXXXX", NULL);
  g_autoptr(GFile) folder = g_file_new_for_path (dir);
  g_autoptr(GString) long_name = g_string_new (NULL);
  g_autoptr(GFile) unique = NULL;
  g_autofree char *basename = NULL;

  assert_unique (folder, "photo.jpg", "photo.jpg");
  touch (folder, "photo.jpg");
  assert_unique (folder, "photo.jpg", "photo (1).jpg");
  touch (folder, "photo (1).jpg");
  assert_unique (folder, "photo.jpg", "photo (2).jpg");
  /* A download on its way holds its name too */
  touch (folder, ".notes.natterpart");
  assert_unique (folder, "notes", "notes (1)");

  /* At the limit, the stem makes room for the number */
  g_string_append_c (long_name, 'a');
  while (long_name->len < NATTER_FILE_NAME_MAX - 4)
    g_string_append_c (long_name, 'b');
  g_string_append (long_name, ".bin");
  touch (folder, long_name->str);
  unique = natter_file_name_unique (folder, long_name->str);
  basename = g_file_get_basename (unique);
  g_assert_cmpuint (strlen (basename), <=, NATTER_FILE_NAME_MAX);
  g_assert_true (g_str_has_suffix (basename, " (1).bin"));

  {
    g_autoptr(GFileEnumerator) children = g_file_enumerate_children (folder, "standard::name",
                                                                     0, NULL, NULL);
    GFileInfo *info;

    while ((info = g_file_enumerator_next_file (children, NULL, NULL)) != NULL)
      {
        g_autoptr(GFile) child = g_file_get_child (folder, g_file_info_get_name (info));

        g_file_delete (child, NULL, NULL);
        g_object_unref (info);
      }
  }
  g_rmdir (dir);
}

static void
test_store_rows (void)
{
  g_autofree char *dir = g_dir_make_tmp ("natter-transfers-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "history.db", NULL);
  g_autoptr(NatterStore) store = NULL;
  g_autoptr(NatterContact) contact = NULL;
  g_autoptr(NatterTransfer) transfer = NULL;
  g_autoptr(NatterTransfer) again = NULL;
  g_autoptr(NatterTransfer) other = NULL;
  g_autoptr(GPtrArray) all = NULL;
  g_autoptr(GPtrArray) unfinished = NULL;
  g_autoptr(GError) error = NULL;

  store = natter_store_new (path, &error);
  g_assert_no_error (error);
  contact = natter_store_add_contact (store, "NBOB", "Bob", &error);
  g_assert_no_error (error);

  transfer = natter_transfer_new ("t-1", "NBOB", NATTER_TRANSFER_DIRECTION_OUT, "a.txt",
                                  G_GUINT64_CONSTANT (5000000000), "text/plain", 1000);
  natter_transfer_set_path (transfer, "/tmp/a.txt");
  g_assert_true (natter_store_add_transfer (store, transfer, &error));
  g_assert_no_error (error);

  /* One ID per contact */
  g_assert_false (natter_store_add_transfer (store, transfer, &error));
  g_assert_error (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_EXISTS);
  g_clear_error (&error);

  /* Not a contact: refused */
  other = natter_transfer_new ("t-2", "NEVE", NATTER_TRANSFER_DIRECTION_IN, "b", 1, NULL, 1001);
  g_assert_false (natter_store_add_transfer (store, other, &error));
  g_assert_error (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);

  natter_transfer_set_state (transfer, NATTER_TRANSFER_STATE_FAILED);
  natter_transfer_set_bytes_done (transfer, 4096);
  natter_transfer_set_error (transfer, "The disk is full");
  natter_transfer_set_sha256 (transfer, "ab12");
  g_assert_true (natter_store_update_transfer (store, transfer, &error));
  g_assert_no_error (error);

  again = natter_store_get_transfer (store, "NBOB", "t-1", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (natter_transfer_get_name (again), ==, "a.txt");
  g_assert_cmpuint (natter_transfer_get_size (again), ==, G_GUINT64_CONSTANT (5000000000));
  g_assert_cmpint (natter_transfer_get_direction (again), ==, NATTER_TRANSFER_DIRECTION_OUT);
  g_assert_cmpint (natter_transfer_get_state (again), ==, NATTER_TRANSFER_STATE_FAILED);
  g_assert_cmpuint (natter_transfer_get_bytes_done (again), ==, 4096);
  g_assert_cmpstr (natter_transfer_get_error (again), ==, "The disk is full");
  g_assert_cmpstr (natter_transfer_get_path (again), ==, "/tmp/a.txt");
  g_assert_cmpstr (natter_transfer_get_sha256 (again), ==, "ab12");
  g_assert_cmpstr (natter_transfer_get_mime_type (again), ==, "text/plain");
  g_assert_cmpint (natter_transfer_get_timestamp (again), ==, 1000);

  /* Progress alone: nothing else of the row changes */
  natter_transfer_set_bytes_done (transfer, 8192);
  natter_transfer_set_error (transfer, "not written");
  g_assert_true (natter_store_update_transfer_progress (store, transfer, &error));
  g_assert_no_error (error);
  g_clear_object (&again);
  again = natter_store_get_transfer (store, "NBOB", "t-1", &error);
  g_assert_cmpuint (natter_transfer_get_bytes_done (again), ==, 8192);
  g_assert_cmpstr (natter_transfer_get_error (again), ==, "The disk is full");

  g_assert_null (natter_store_get_transfer (store, "NBOB", "t-9", &error));
  g_assert_error (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);

  g_clear_object (&other);
  other = natter_transfer_new ("t-2", "NBOB", NATTER_TRANSFER_DIRECTION_IN, "b", 1, NULL, 1001);
  {
    /* The sender's thumbnail stays with the offer */
    g_autoptr(GBytes) thumbnail = g_bytes_new_static ("\x89PNG not really", 16);
    g_autoptr(NatterTransfer) stored = NULL;

    natter_transfer_set_thumbnail (other, thumbnail);
    g_assert_true (natter_store_add_transfer (store, other, &error));
    stored = natter_store_get_transfer (store, "NBOB", "t-2", &error);
    g_assert_no_error (error);
    g_assert_nonnull (natter_transfer_get_thumbnail (stored));
    g_assert_true (g_bytes_equal (natter_transfer_get_thumbnail (stored), thumbnail));
    g_assert_null (natter_transfer_get_thumbnail (again));
  }

  all = natter_store_list_transfers (store, NULL, FALSE, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (all->len, ==, 2);
  g_assert_cmpstr (natter_transfer_get_id (g_ptr_array_index (all, 0)), ==, "t-1");
  unfinished = natter_store_list_transfers (store, "NBOB", TRUE, &error);
  g_assert_cmpuint (unfinished->len, ==, 1);
  g_assert_cmpstr (natter_transfer_get_id (g_ptr_array_index (unfinished, 0)), ==, "t-2");
  g_assert_cmpstr (natter_transfer_get_mime_type (g_ptr_array_index (unfinished, 0)), ==,
                   "application/octet-stream");

  g_clear_object (&store);
  {
    g_autofree char *wal = g_strconcat (path, "-wal", NULL);
    g_autofree char *shm = g_strconcat (path, "-shm", NULL);
    g_unlink (wal);
    g_unlink (shm);
  }
  g_unlink (path);
  g_rmdir (dir);
}

static void
assert_envelope (const char         *text,
                 NatterEnvelopeType  expected)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) object = NULL;
  NatterEnvelopeType type;

  object = natter_envelope_parse (text, strlen (text), &type, &error);
  if (expected == NATTER_ENVELOPE_INVALID)
    {
      g_assert_null (object);
      g_assert_nonnull (error);
    }
  else
    {
      g_assert_no_error (error);
      g_assert_cmpint (type, ==, expected);
    }
}

static void
test_envelopes (void)
{
  assert_envelope ("{\"type\":\"file-offer\",\"id\":\"x\",\"name\":\"a\",\"size\":0}",
                   NATTER_ENVELOPE_FILE_OFFER);
  assert_envelope ("{\"type\":\"file-offer\",\"id\":\"x\",\"name\":\"a\",\"size\":-1}",
                   NATTER_ENVELOPE_INVALID);
  assert_envelope ("{\"type\":\"file-offer\",\"id\":\"x\",\"size\":3}", NATTER_ENVELOPE_INVALID);
  /* An ID names the transfer's channel and is printed: no ':' nor escapes */
  assert_envelope ("{\"type\":\"file-offer\",\"id\":\"a:1\",\"name\":\"a\",\"size\":0}",
                   NATTER_ENVELOPE_INVALID);
  assert_envelope ("{\"type\":\"file-cancel\",\"id\":\"\\u001b[2J\",\"reason\":\"cancelled\"}",
                   NATTER_ENVELOPE_INVALID);
  assert_envelope ("{\"type\":\"file-offer\",\"id\":\"x\",\"name\":\"a\",\"size\":\"3\"}",
                   NATTER_ENVELOPE_INVALID);
  assert_envelope ("{\"type\":\"file-accept\",\"id\":\"x\",\"offset\":65536,\"sha256\":\"00\"}",
                   NATTER_ENVELOPE_FILE_ACCEPT);
  assert_envelope ("{\"type\":\"file-accept\",\"id\":\"x\",\"offset\":-5}", NATTER_ENVELOPE_INVALID);
  assert_envelope ("{\"type\":\"file-decline\",\"id\":\"x\",\"reason\":\"declined\"}",
                   NATTER_ENVELOPE_FILE_DECLINE);
  assert_envelope ("{\"type\":\"file-decline\",\"id\":\"x\",\"reason\":\"because\"}",
                   NATTER_ENVELOPE_INVALID);
  assert_envelope ("{\"type\":\"file-cancel\",\"id\":\"x\",\"reason\":\"disk-full\"}",
                   NATTER_ENVELOPE_FILE_CANCEL);
  assert_envelope ("{\"type\":\"file-done\",\"id\":\"x\",\"size\":1,\"sha256\":\"ab\"}",
                   NATTER_ENVELOPE_FILE_DONE);
  assert_envelope ("{\"type\":\"file-received\",\"id\":\"x\",\"sha256\":\"ab\"}",
                   NATTER_ENVELOPE_FILE_RECEIVED);
  assert_envelope ("{\"type\":\"file-resume\",\"id\":\"x\"}", NATTER_ENVELOPE_FILE_RESUME);
  assert_envelope ("{\"type\":\"file-resume\"}", NATTER_ENVELOPE_INVALID);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/Natter/Core/Transfers/sanitize", test_sanitize);
  g_test_add_func ("/Natter/Core/Transfers/sanitize-long", test_sanitize_long);
  g_test_add_func ("/Natter/Core/Transfers/unique", test_unique);
  g_test_add_func ("/Natter/Core/Transfers/store", test_store_rows);
  g_test_add_func ("/Natter/Protocol/Envelopes/files", test_envelopes);

  return g_test_run ();
}
