/* test-profile.c: NatterProfile keeps a profile folder the way both the app and natter-cli read it
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "natter-profile.h"
#include "natter-protocol.h"

static char *data_home;

static char *
profile_file (const char *profile,
              const char *name)
{
  return g_build_filename (data_home, "natter", "profiles", profile, name, NULL);
}

static void
write_file (const char *path,
            const char *text)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_path_get_dirname (path);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_file_set_contents (path, text, -1, &error);
  g_assert_no_error (error);
}

static char *
read_file (const char *path)
{
  g_autoptr(GError) error = NULL;
  char *text = NULL;

  g_file_get_contents (path, &text, NULL, &error);
  g_assert_no_error (error);
  return text;
}

static guint
file_mode (const char *path)
{
  GStatBuf st;

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  return st.st_mode & 0777;
}

static void
test_names (void)
{
  const char *good[] = { "default", "work", "a.b_c-1", "x" };
  const char *bad[] = { "", ".", "..", ".hidden", "a/b", "../up", "with space", "é" };
  g_autofree char *too_long = g_strnfill (65, 'a');

  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    g_assert_true (natter_profile_name_is_valid (good[i]));

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(NatterProfile) profile = natter_profile_new (bad[i], &error);

      g_assert_false (natter_profile_name_is_valid (bad[i]));
      g_assert_null (profile);
      g_assert_error (error, NATTER_PROFILE_ERROR, NATTER_PROFILE_ERROR_INVALID_NAME);
    }

  g_assert_false (natter_profile_name_is_valid (too_long));
  g_assert_false (natter_profile_name_is_valid (NULL));
}

/* A new profile: its folder is private and its settings file 0600, whatever the umask */
static void
test_settings_mode (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NatterProfile) profile = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *path = profile_file ("mode", "settings.ini");
  g_autofree char *server = NULL;
  mode_t old_umask = umask (0);

  profile = natter_profile_new ("mode", &error);
  g_assert_no_error (error);
  dir = g_strdup (natter_profile_get_path (profile));
  g_assert_cmpuint (file_mode (dir), ==, 0700);
  g_assert_null (natter_profile_dup_server_url (profile));
  /* Nothing is written just by opening */
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));

  g_assert_true (natter_profile_set_server_url (profile, "ws://127.0.0.1:9/ws", &error));
  g_assert_no_error (error);
  umask (old_umask);
  g_assert_cmpuint (file_mode (path), ==, 0600);

  /* A file another program left readable to all becomes 0600 again */
  g_assert_cmpint (g_chmod (path, 0644), ==, 0);
  g_assert_true (natter_profile_save_public (profile, "Ann", NULL, NULL, FALSE, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (file_mode (path), ==, 0600);

  g_assert_finalize_object (g_steal_pointer (&profile));

  /* Read back by a profile of its own */
  profile = natter_profile_new ("mode", &error);
  g_assert_no_error (error);
  server = natter_profile_dup_server_url (profile);
  g_assert_cmpstr (server, ==, "ws://127.0.0.1:9/ws");
}

/* What a person wrote in settings.ini stays there */
static void
test_settings_comments (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NatterProfile) profile = NULL;
  g_autofree char *path = profile_file ("comments", "settings.ini");
  g_autofree char *text = NULL;
  g_autofree char *name = NULL;

  write_file (path,
              "# My work identity; do not share\n"
              "[client]\n"
              "# the office server\n"
              "server=ws://127.0.0.1:9/ws\n"
              "\n"
              "[profile]\n"
              "name=Old\n"
              "name[fr]=Ancien\n"
              "[mine]\n"
              "# a key Natter does not know\n"
              "colour=green\n");

  profile = natter_profile_new ("comments", &error);
  g_assert_no_error (error);
  g_assert_true (natter_profile_save_public (profile, "New", "Likes tea", NULL, FALSE, &error));
  g_assert_no_error (error);
  g_assert_true (natter_profile_set_server_url (profile, "ws://127.0.0.1:10/ws", &error));
  g_assert_no_error (error);

  text = read_file (path);
  g_assert_nonnull (strstr (text, "# My work identity; do not share\n"));
  g_assert_nonnull (strstr (text, "# the office server\nserver=ws://127.0.0.1:10/ws\n"));
  g_assert_nonnull (strstr (text, "name[fr]=Ancien\n"));
  g_assert_nonnull (strstr (text, "# a key Natter does not know\ncolour=green\n"));
  g_assert_nonnull (strstr (text, "name=New\n"));
  g_assert_nonnull (strstr (text, "bio=Likes tea\n"));

  name = natter_profile_dup_display_name (profile);
  g_assert_cmpstr (name, ==, "New");
  g_assert_finalize_object (g_steal_pointer (&profile));
}

/* settings.ini is replaced whole, never rewritten in place: a reader (or a
 * crash) sees the old file or the new one */
static void
test_settings_atomic (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NatterProfile) profile = NULL;
  g_autofree char *path = profile_file ("atomic", "settings.ini");
  g_autofree char *old_link = profile_file ("atomic", "settings.ini.old");
  g_autofree char *old_text = NULL;
  g_autofree char *new_text = NULL;
  g_autoptr(GDir) dir = NULL;
  const char *entry;
  GStatBuf before, after;

  write_file (path, "[profile]\nname=Before\n");
  g_assert_cmpint (link (path, old_link), ==, 0);
  g_assert_cmpint (g_stat (path, &before), ==, 0);

  profile = natter_profile_new ("atomic", &error);
  g_assert_no_error (error);
  g_assert_true (natter_profile_save_public (profile, "After", NULL, NULL, FALSE, &error));
  g_assert_no_error (error);

  /* A new file took the name; the old one is untouched */
  g_assert_cmpint (g_stat (path, &after), ==, 0);
  g_assert_cmpuint (before.st_ino, !=, after.st_ino);
  old_text = read_file (old_link);
  g_assert_cmpstr (old_text, ==, "[profile]\nname=Before\n");
  new_text = read_file (path);
  g_assert_nonnull (strstr (new_text, "name=After\n"));

  /* And nothing is left behind beside it */
  dir = g_dir_open (natter_profile_get_path (profile), 0, &error);
  g_assert_no_error (error);
  while ((entry = g_dir_read_name (dir)) != NULL)
    g_assert_true (g_str_equal (entry, "settings.ini") || g_str_equal (entry, "settings.ini.old"));

  g_assert_finalize_object (g_steal_pointer (&profile));
}

/* A damaged settings file is said to be so, naming it, and is left alone */
static void
test_settings_damaged (void)
{
  static const char damaged[] = "[profile\nname=Ann\n\x01garbage";
  g_autoptr(GError) error = NULL;
  g_autoptr(NatterProfile) profile = NULL;
  g_autofree char *path = profile_file ("damaged", "settings.ini");
  g_autofree char *text = NULL;

  write_file (path, damaged);

  profile = natter_profile_new ("damaged", &error);
  g_assert_null (profile);
  g_assert_error (error, NATTER_PROFILE_ERROR, NATTER_PROFILE_ERROR_SETTINGS_DAMAGED);
  g_assert_nonnull (strstr (error->message, path));
  g_assert_nonnull (strstr (error->message, "damaged"));

  text = read_file (path);
  g_assert_cmpstr (text, ==, damaged);
}

/* Refused values leave what was saved alone */
static void
test_public_refused (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NatterProfile) profile = NULL;
  g_autoptr(GBytes) not_a_picture = g_bytes_new_static ("hello", 5);
  g_autofree char *too_long = g_strnfill (NATTER_PROFILE_NAME_MAX + 1, 'a');
  g_autofree char *too_long_bio = g_strnfill (NATTER_PROFILE_BIO_MAX + 1, 'b');
  g_autofree char *avatar_path = profile_file ("refused", "avatar");
  g_autofree char *name = NULL;
  g_autofree char *bio = NULL;

  profile = natter_profile_new ("refused", &error);
  g_assert_no_error (error);
  g_assert_true (natter_profile_save_public (profile, "Ann", "Tea", NULL, FALSE, &error));
  g_assert_no_error (error);

  g_assert_false (natter_profile_save_public (profile, too_long, NULL, NULL, FALSE, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (natter_profile_save_public (profile, "Ben", too_long_bio, NULL, FALSE, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (natter_profile_save_public (profile, "Ben", NULL, not_a_picture, FALSE, &error));
  g_assert_error (error, NATTER_CLIENT_ERROR, NATTER_CLIENT_ERROR_INVALID_AVATAR);
  g_clear_error (&error);

  g_assert_false (g_file_test (avatar_path, G_FILE_TEST_EXISTS));
  g_assert_false (natter_profile_has_avatar (profile));
  name = natter_profile_dup_display_name (profile);
  bio = natter_profile_dup_bio (profile);
  g_assert_cmpstr (name, ==, "Ann");
  g_assert_cmpstr (bio, ==, "Tea");

  /* A picture put there by hand that is not one is reported, not used */
  write_file (avatar_path, "not a picture");
  g_assert_null (natter_profile_dup_avatar (profile, &error));
  g_assert_error (error, NATTER_CLIENT_ERROR, NATTER_CLIENT_ERROR_INVALID_AVATAR);
  g_assert_nonnull (strstr (error->message, avatar_path));

  g_assert_finalize_object (g_steal_pointer (&profile));
}

static void
on_loaded (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

static NatterIdentity *
load_identity (NatterProfile  *profile,
               GError        **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  natter_profile_load_identity_async (profile, NULL, on_loaded, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);

  return natter_profile_load_identity_finish (profile, result, error);
}

static void
on_client_notify (GObject    *object,
                  GParamSpec *pspec,
                  gpointer    user_data)
{
  guint *count = user_data;

  (*count)++;
}

/* Identity, history and client, in that order, all owned by the profile */
static void
test_open (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NatterProfile) profile = NULL;
  g_autoptr(NatterIdentity) identity = NULL;
  g_autoptr(NatterIdentity) again = NULL;
  g_autoptr(GKeyFile) keyfile = g_key_file_new ();
  g_autofree char *key_path = g_build_filename (data_home, "open.key", NULL);
  g_autofree char *settings_path = profile_file ("open", "settings.ini");
  g_autofree char *history_path = profile_file ("open", "history.db");
  NatterClient *client;
  NatterStore *store;
  guint notified = 0;

  profile = natter_profile_new ("open", &error);
  g_assert_no_error (error);
  g_signal_connect (profile, "notify::client", G_CALLBACK (on_client_notify), &notified);

  /* No identity yet */
  g_assert_null (natter_profile_open_client (profile, &error));
  g_assert_error (error, NATTER_PROFILE_ERROR, NATTER_PROFILE_ERROR_NO_IDENTITY);
  g_clear_error (&error);

  natter_profile_set_identity_file (profile, key_path);
  identity = load_identity (profile, &error);
  g_assert_no_error (error);
  g_assert_true (natter_profile_get_identity (profile) == identity);
  g_assert_cmpuint (file_mode (key_path), ==, 0600);
  again = load_identity (profile, &error);
  g_assert_true (again == identity);

  /* No server yet */
  g_assert_null (natter_profile_open_client (profile, &error));
  g_assert_error (error, NATTER_PROFILE_ERROR, NATTER_PROFILE_ERROR_NO_SERVER);
  g_clear_error (&error);
  g_assert_cmpuint (notified, ==, 0);

  /* The history was made by the failed attempt, and the profile remembers it */
  store = natter_profile_get_store (profile);
  g_assert_nonnull (store);
  g_assert_true (g_file_test (history_path, G_FILE_TEST_EXISTS));
  g_assert_true (g_key_file_load_from_file (keyfile, settings_path, G_KEY_FILE_NONE, &error));
  g_assert_true (g_key_file_get_boolean (keyfile, "history", "created", NULL));

  g_assert_true (natter_profile_save_public (profile, "Ann", "Tea", NULL, FALSE, &error));
  g_assert_true (natter_profile_set_server_url (profile, "ws://127.0.0.1:9/ws", &error));
  client = natter_profile_open_client (profile, &error);
  g_assert_no_error (error);
  g_assert_nonnull (client);
  g_assert_true (natter_profile_get_client (profile) == client);
  g_assert_true (natter_client_get_store (client) == store);
  g_assert_true (natter_client_get_identity (client) == identity);
  g_assert_cmpuint (notified, ==, 1);
  g_assert_true (natter_profile_open_client (profile, NULL) == client);

  /* Another server: another client, for it */
  g_assert_true (natter_profile_set_server_url (profile, "ws://127.0.0.1:10/ws", &error));
  g_assert_no_error (error);
  g_assert_nonnull (natter_profile_get_client (profile));
  g_assert_true (natter_profile_get_client (profile) != client);
  g_assert_cmpuint (notified, ==, 3);

  natter_profile_close_client (profile);
  g_assert_null (natter_profile_get_client (profile));
  g_assert_cmpuint (notified, ==, 4);

  g_signal_handlers_disconnect_by_data (profile, &notified);
  g_clear_object (&identity);
  g_clear_object (&again);
  g_assert_finalize_object (g_steal_pointer (&profile));
}

/* A history that was made once and is gone is damage, not a new start */
static void
test_history_missing (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NatterProfile) profile = NULL;
  g_autofree char *history_path = profile_file ("missing", "history.db");

  profile = natter_profile_new ("missing", &error);
  g_assert_no_error (error);
  g_assert_nonnull (natter_profile_open_store (profile, &error));
  g_assert_no_error (error);
  natter_store_close (natter_profile_get_store (profile));
  g_assert_finalize_object (g_steal_pointer (&profile));

  g_assert_cmpint (g_unlink (history_path), ==, 0);
  profile = natter_profile_new ("missing", &error);
  g_assert_no_error (error);
  g_assert_null (natter_profile_open_store (profile, &error));
  g_assert_error (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_CORRUPT);
  g_assert_false (g_file_test (history_path, G_FILE_TEST_EXISTS));
}

static gboolean
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *entry;

  while (dir != NULL && (entry = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, entry, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR))
        remove_tree (child);
      else
        g_unlink (child);
    }

  return g_rmdir (path) == 0;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  int status;

  /* Before anything asks GLib for the user data folder */
  data_home = g_dir_make_tmp ("natter-test-profile-XXXXXX", &error);
  g_assert_no_error (error);
  g_setenv ("XDG_DATA_HOME", data_home, TRUE);

  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/Natter/Core/Profile/names", test_names);
  g_test_add_func ("/Natter/Core/Profile/settings/mode", test_settings_mode);
  g_test_add_func ("/Natter/Core/Profile/settings/comments", test_settings_comments);
  g_test_add_func ("/Natter/Core/Profile/settings/atomic", test_settings_atomic);
  g_test_add_func ("/Natter/Core/Profile/settings/damaged", test_settings_damaged);
  g_test_add_func ("/Natter/Core/Profile/public/refused", test_public_refused);
  g_test_add_func ("/Natter/Core/Profile/open", test_open);
  g_test_add_func ("/Natter/Core/Profile/history-missing", test_history_missing);

  status = g_test_run ();

  remove_tree (data_home);
  g_free (data_home);

  return status;
}
