/* test-identity.c: NatterIdentity, its key file, keyring and safety number
 *
 * The /Natter/Core/Identity/keyring/ cases need a real Secret Service and are
 * skipped unless run by tests/keyring/natter-keyring-run, which starts a
 * private D-Bus session with an unlocked gnome-keyring-daemon in a temporary
 * home.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "test-identity"

#include "config.h"

#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <glib/gstdio.h>
#include <libsecret/secret.h>

#include "natter-identity.h"
#include "natter-signature.h"
#include "natter-user-id.h"

/* RFC 8032, section 7.1, TEST 1 and TEST 2 */
static const char rfc8032_seed_1[] =
  "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
static const char rfc8032_public_1[] =
  "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
static const char rfc8032_seed_2[] =
  "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb";
/* The signature of the empty message by TEST 1's key, in base64 */
static const char rfc8032_signature_1[] =
  "5VZDAMNgrHKQhuLMgG6CioSHfx645dl02HPgZSJJAVVfuIIVkKM7rMYeOXAc+bRr0lv18FlbviRlUUFDjnoQCw==";

/* Computed independently from docs/protocol.md and docs/identity.md */
static const char user_id_1[] = "25njqamcweflpvkl73j4szahhihoc4xt3ktcgjnpaingr5yhkenjsvgg";
static const char user_id_2[] = "hvabpq7iioevvevxbktu2g36xsojqlgpf3cjndgazvk7ckxumygl5k7s";
static const char safety_number_1_2[] =
  "97871 99415 53992 01722 78915 58751 17908 21091 59612 29900 27151 38145";

static void
hex_decode (const char *hex,
            guint8     *out,
            gsize       length)
{
  g_assert_cmpuint (strlen (hex), ==, 2 * length);
  for (gsize i = 0; i < length; i++)
    out[i] = g_ascii_xdigit_value (hex[2 * i]) << 4 | g_ascii_xdigit_value (hex[2 * i + 1]);
}

static NatterIdentity *
identity_from_hex_seed (const char *hex)
{
  guint8 seed[32];

  hex_decode (hex, seed, sizeof seed);
  return natter_identity_new_from_seed (seed);
}

static char *
make_temp_dir (void)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp ("natter-identity-XXXXXX", &error);

  g_assert_no_error (error);
  return dir;
}

static void
remove_tree (const char *path)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GFileEnumerator) children = NULL;
  GFileInfo *info;
  GFile *child;

  children = g_file_enumerate_children (file, G_FILE_ATTRIBUTE_STANDARD_NAME,
                                        G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS, NULL, NULL);
  while (children != NULL &&
         g_file_enumerator_iterate (children, &info, &child, NULL, NULL) && info != NULL)
    {
      if (g_file_info_get_file_type (info) == G_FILE_TYPE_DIRECTORY)
        {
          g_autofree char *child_path = g_file_get_path (child);
          remove_tree (child_path);
        }
      else
        g_file_delete (child, NULL, NULL);
    }
  g_file_delete (file, NULL, NULL);
}

static char *
read_file (const char *path,
           gsize      *length)
{
  g_autoptr(GError) error = NULL;
  char *contents = NULL;

  g_file_get_contents (path, &contents, length, &error);
  g_assert_no_error (error);
  return contents;
}

static void
write_file (const char *path,
            const char *contents,
            int         mode)
{
  g_autoptr(GError) error = NULL;

  g_file_set_contents_full (path, contents, -1, G_FILE_SET_CONTENTS_CONSISTENT, mode, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (path, mode), ==, 0);
}

static void
test_user_id (void)
{
  g_autoptr(NatterIdentity) identity = identity_from_hex_seed (rfc8032_seed_1);
  g_autoptr(NatterIdentity) ephemeral = natter_identity_new_ephemeral ();
  g_autofree char *encoded = NULL;
  g_autofree char *property = NULL;
  guint8 expected_key[NATTER_PUBLIC_KEY_SIZE];
  guint8 decoded_key[NATTER_PUBLIC_KEY_SIZE];

  hex_decode (rfc8032_public_1, expected_key, sizeof expected_key);
  g_assert_cmpmem (natter_identity_get_public_key (identity), NATTER_PUBLIC_KEY_SIZE,
                   expected_key, sizeof expected_key);

  /* The documented encoding, and the protocol library's */
  g_assert_cmpstr (natter_identity_get_user_id (identity), ==, user_id_1);
  encoded = natter_user_id_from_public_key (natter_identity_get_public_key (identity));
  g_assert_cmpstr (natter_identity_get_user_id (identity), ==, encoded);
  g_object_get (identity, "user-id", &property, NULL);
  g_assert_cmpstr (property, ==, user_id_1);

  /* An ephemeral identity round-trips through the protocol library too */
  g_assert_true (natter_user_id_is_valid (natter_identity_get_user_id (ephemeral)));
  g_assert_true (natter_user_id_to_public_key (natter_identity_get_user_id (ephemeral),
                                               decoded_key, NULL));
  g_assert_cmpmem (decoded_key, sizeof decoded_key,
                   natter_identity_get_public_key (ephemeral), NATTER_PUBLIC_KEY_SIZE);
  g_assert_cmpstr (natter_identity_get_user_id (ephemeral), !=, user_id_1);

  g_assert_finalize_object (g_steal_pointer (&ephemeral));
  g_assert_finalize_object (g_steal_pointer (&identity));
}

static void
test_sign_verify (void)
{
  g_autoptr(NatterIdentity) identity = identity_from_hex_seed (rfc8032_seed_1);
  g_autoptr(NatterIdentity) other = identity_from_hex_seed (rfc8032_seed_2);
  const char message[] = "a=fingerprint:sha-256 AB:CD:EF";
  g_autofree char *empty_signature = NULL;
  g_autofree char *signature = NULL;
  g_autofree char *other_signature = NULL;
  g_autofree char *damaged = NULL;
  gsize length = strlen (message);

  empty_signature = natter_identity_sign (identity, "", 0);
  g_assert_cmpstr (empty_signature, ==, rfc8032_signature_1);
  g_assert_true (natter_identity_verify (user_id_1, "", 0, empty_signature));

  signature = natter_identity_sign (identity, message, length);
  other_signature = natter_identity_sign (other, message, length);
  g_assert_true (natter_identity_verify (user_id_1, message, length, signature));
  g_assert_true (natter_identity_verify (user_id_2, message, length, other_signature));
  g_assert_true (natter_signature_verify (natter_identity_get_public_key (identity),
                                          message, length, signature));

  /* Wrong signer, changed data, damaged signature, malformed inputs */
  g_assert_false (natter_identity_verify (user_id_2, message, length, signature));
  g_assert_false (natter_identity_verify (user_id_1, message, length, other_signature));
  g_assert_false (natter_identity_verify (user_id_1, message, length - 1, signature));
  damaged = g_strdup (signature);
  damaged[10] = damaged[10] == 'A' ? 'B' : 'A';
  g_assert_false (natter_identity_verify (user_id_1, message, length, damaged));
  g_assert_false (natter_identity_verify (user_id_1, message, length, "not base64!"));
  g_assert_false (natter_identity_verify (user_id_1, message, length, ""));
  g_assert_false (natter_identity_verify ("not-a-user-id", message, length, signature));
}

static gboolean
is_safety_number (const char *number)
{
  if (strlen (number) != NATTER_SAFETY_NUMBER_LENGTH)
    return FALSE;

  for (guint i = 0; i < NATTER_SAFETY_NUMBER_LENGTH; i++)
    {
      if (i % 6 == 5 && number[i] != ' ')
        return FALSE;
      if (i % 6 != 5 && !g_ascii_isdigit (number[i]))
        return FALSE;
    }

  return TRUE;
}

static void
test_safety_number (void)
{
  g_autoptr(NatterIdentity) alice = identity_from_hex_seed (rfc8032_seed_1);
  g_autoptr(NatterIdentity) bob = identity_from_hex_seed (rfc8032_seed_2);
  g_autoptr(NatterIdentity) mallory = natter_identity_new_ephemeral ();
  g_autofree char *alice_sees = NULL;
  g_autofree char *bob_sees = NULL;
  g_autofree char *with_mallory = NULL;
  g_autofree char *mallory_sees = NULL;
  g_autofree char *upper_case_id = NULL;
  g_autofree char *from_upper_case = NULL;

  alice_sees = natter_identity_get_safety_number (alice, user_id_2);
  bob_sees = natter_identity_get_safety_number (bob, user_id_1);

  g_assert_true (is_safety_number (alice_sees));
  g_assert_cmpstr (alice_sees, ==, bob_sees);
  g_assert_cmpstr (alice_sees, ==, safety_number_1_2);

  /* Someone else's key in Bob's place gives another number, on both sides */
  with_mallory = natter_identity_get_safety_number (alice,
                                                    natter_identity_get_user_id (mallory));
  mallory_sees = natter_identity_get_safety_number (mallory, user_id_1);
  g_assert_true (is_safety_number (with_mallory));
  g_assert_cmpstr (with_mallory, !=, alice_sees);
  g_assert_cmpstr (with_mallory, ==, mallory_sees);

  /* The ID's spelling does not matter, only the key */
  upper_case_id = g_ascii_strup (user_id_2, -1);
  from_upper_case = natter_identity_get_safety_number (alice, upper_case_id);
  g_assert_cmpstr (from_upper_case, ==, alice_sees);

  /* A mistyped ID gives no number at all */
  g_assert_null (natter_identity_get_safety_number (alice, "hvabpq7iioevvevxbktu2g36xsojqlgpf3cjndgazvk7ckxumygl5k7t"));
  g_assert_null (natter_identity_get_safety_number (alice, ""));
}

static void
test_file_round_trip (void)
{
  g_autofree char *dir = make_temp_dir ();
  g_autofree char *profile_dir = g_build_filename (dir, "profile", "sub", NULL);
  g_autofree char *path = g_build_filename (profile_dir, "identity.key", NULL);
  g_autoptr(NatterIdentity) created = NULL;
  g_autoptr(NatterIdentity) loaded = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *created_signature = NULL;
  g_autofree char *loaded_signature = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  struct stat st;

  created = natter_identity_load_from_file (path, TRUE, &error);
  g_assert_no_error (error);
  g_assert_nonnull (created);
  g_assert_true (natter_user_id_is_valid (natter_identity_get_user_id (created)));

  /* The file is the owner's alone, and so is the folder made for it */
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_true (S_ISREG (st.st_mode));
  g_assert_cmpint (st.st_mode & 07777, ==, 0600);
  g_assert_cmpint (g_stat (profile_dir, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 07777, ==, 0700);

  before = read_file (path, NULL);
  g_assert_nonnull (strstr (before, natter_identity_get_user_id (created)));

  loaded = natter_identity_load_from_file (path, FALSE, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (natter_identity_get_user_id (loaded), ==,
                   natter_identity_get_user_id (created));
  g_assert_cmpmem (natter_identity_get_public_key (loaded), NATTER_PUBLIC_KEY_SIZE,
                   natter_identity_get_public_key (created), NATTER_PUBLIC_KEY_SIZE);

  /* Ed25519 signatures are deterministic: same secret key, same signature */
  created_signature = natter_identity_sign (created, "x", 1);
  loaded_signature = natter_identity_sign (loaded, "x", 1);
  g_assert_cmpstr (created_signature, ==, loaded_signature);

  /* Loading with create_if_missing keeps the existing identity and file */
  g_clear_object (&loaded);
  loaded = natter_identity_load_from_file (path, TRUE, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (natter_identity_get_user_id (loaded), ==,
                   natter_identity_get_user_id (created));
  after = read_file (path, NULL);
  g_assert_cmpstr (before, ==, after);

  g_assert_finalize_object (g_steal_pointer (&loaded));
  g_assert_finalize_object (g_steal_pointer (&created));
  remove_tree (dir);
}

static void
test_file_missing (void)
{
  g_autofree char *dir = make_temp_dir ();
  g_autofree char *path = g_build_filename (dir, "identity.key", NULL);
  g_autoptr(NatterIdentity) identity = NULL;
  g_autoptr(GError) error = NULL;

  identity = natter_identity_load_from_file (path, FALSE, &error);
  g_assert_error (error, NATTER_IDENTITY_ERROR, NATTER_IDENTITY_ERROR_NOT_FOUND);
  g_assert_null (identity);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));

  remove_tree (dir);
}

static void
test_file_insecure (void)
{
  const int modes[] = { 0640, 0604, 0620, 0660, 0644, 0606 };
  g_autofree char *dir = make_temp_dir ();
  g_autofree char *path = g_build_filename (dir, "identity.key", NULL);
  g_autoptr(NatterIdentity) identity = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;

  identity = natter_identity_load_from_file (path, TRUE, &error);
  g_assert_no_error (error);
  g_clear_object (&identity);
  contents = read_file (path, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (modes); i++)
    {
      g_autofree char *after = NULL;

      g_assert_cmpint (g_chmod (path, modes[i]), ==, 0);
      identity = natter_identity_load_from_file (path, TRUE, &error);
      g_assert_error (error, NATTER_IDENTITY_ERROR, NATTER_IDENTITY_ERROR_INSECURE_FILE);
      g_assert_null (identity);
      /* The message names the file and says how to fix it */
      g_assert_nonnull (strstr (error->message, path));
      g_assert_nonnull (strstr (error->message, "chmod 600"));
      g_clear_error (&error);

      after = read_file (path, NULL);
      g_assert_cmpstr (after, ==, contents);
    }

  g_assert_cmpint (g_chmod (path, 0400), ==, 0);
  identity = natter_identity_load_from_file (path, FALSE, &error);
  g_assert_no_error (error);
  g_assert_nonnull (identity);

  remove_tree (dir);
}

/* A key file of another user is not our identity, whatever its mode */
static void
test_file_other_owner (void)
{
  g_autofree char *dir = make_temp_dir ();
  g_autofree char *path = g_build_filename (dir, "identity.key", NULL);
  g_autoptr(NatterIdentity) identity = NULL;
  g_autoptr(GError) error = NULL;

  identity = natter_identity_load_from_file (path, TRUE, &error);
  g_assert_no_error (error);
  g_clear_object (&identity);

  if (chown (path, 65534, 65534) != 0)
    {
      g_test_skip ("Giving a file to another user needs root");
      remove_tree (dir);
      return;
    }

  identity = natter_identity_load_from_file (path, TRUE, &error);
  g_assert_error (error, NATTER_IDENTITY_ERROR, NATTER_IDENTITY_ERROR_INSECURE_FILE);
  g_assert_nonnull (strstr (error->message, "another user"));
  g_assert_null (identity);

  remove_tree (dir);
}

static gpointer
load_or_create (gpointer path)
{
  g_autoptr(GError) error = NULL;
  NatterIdentity *identity = natter_identity_load_from_file (path, TRUE, &error);

  g_assert_no_error (error);
  return identity;
}

/* Two processes (here threads) making the key file at once end up with one
 * identity: the file that is in place first is never replaced */
static void
test_file_create_race (void)
{
  g_autofree char *dir = make_temp_dir ();

  for (guint round = 0; round < 20; round++)
    {
      g_autofree char *name = g_strdup_printf ("identity-%u.key", round);
      g_autofree char *path = g_build_filename (dir, name, NULL);
      GThread *first = g_thread_new ("first", load_or_create, path);
      GThread *second = g_thread_new ("second", load_or_create, path);
      g_autoptr(NatterIdentity) a = g_thread_join (first);
      g_autoptr(NatterIdentity) b = g_thread_join (second);
      g_autoptr(NatterIdentity) again = load_or_create (path);

      g_assert_cmpstr (natter_identity_get_user_id (a), ==, natter_identity_get_user_id (b));
      g_assert_cmpstr (natter_identity_get_user_id (a), ==, natter_identity_get_user_id (again));
    }

  /* No temporary files are left behind */
  {
    g_autoptr(GDir) listing = g_dir_open (dir, 0, NULL);
    const char *entry;

    while ((entry = g_dir_read_name (listing)) != NULL)
      g_assert_true (g_str_has_prefix (entry, "identity-"));
  }

  remove_tree (dir);
}

static char *
replace_line (const char *text,
              const char *key,
              const char *new_line)
{
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++)
    if (g_str_has_prefix (lines[i], key))
      {
        g_free (lines[i]);
        lines[i] = g_strdup (new_line);
      }

  return g_strjoinv ("\n", lines);
}

static void
test_file_corrupt (void)
{
  g_autofree char *dir = make_temp_dir ();
  g_autofree char *path = g_build_filename (dir, "identity.key", NULL);
  g_autoptr(NatterIdentity) identity = NULL;
  g_autoptr(NatterIdentity) other = identity_from_hex_seed (rfc8032_seed_2);
  g_autoptr(GError) error = NULL;
  g_autofree char *good = NULL;
  g_autofree char *secret_line = NULL;
  g_autofree char *other_user_line = NULL;
  g_autoptr(GPtrArray) corruptions = g_ptr_array_new_with_free_func (g_free);
  const char *secret_start;

  identity = natter_identity_load_from_file (path, TRUE, &error);
  g_assert_no_error (error);
  g_clear_object (&identity);
  good = read_file (path, NULL);

  secret_start = strstr (good, "secret-key=");
  g_assert_nonnull (secret_start);
  secret_line = g_strndup (secret_start, strchr (secret_start, '\n') - secret_start);

  /* One changed character in the secret key: still valid base64 */
  {
    char *flipped = g_strdup (good);
    char *c = flipped + (secret_start - good) + strlen ("secret-key=") + 20;

    *c = *c == 'A' ? 'B' : 'A';
    g_ptr_array_add (corruptions, flipped);
  }
  /* Cut short, as a full disk might leave it */
  g_ptr_array_add (corruptions, g_strndup (good, (secret_start - good) + 30));
  g_ptr_array_add (corruptions, g_strdup (""));
  g_ptr_array_add (corruptions, g_strdup ("garbage\n"));
  g_ptr_array_add (corruptions, g_strdup ("\x01\x02\x03 binary \xff\xfe"));
  g_ptr_array_add (corruptions, replace_line (good, "version=", "version=2"));
  g_ptr_array_add (corruptions, replace_line (good, "version=", "# no version"));
  g_ptr_array_add (corruptions, replace_line (good, "secret-key=", "secret-key=%%%"));
  other_user_line = g_strdup_printf ("user-id=%s", natter_identity_get_user_id (other));
  g_ptr_array_add (corruptions, replace_line (good, "user-id=", other_user_line));
  g_ptr_array_add (corruptions, g_strconcat (good, secret_line, "\n", NULL));
  g_ptr_array_add (corruptions, g_strnfill (8192, 'a'));

  for (guint i = 0; i < corruptions->len; i++)
    {
      const char *bad = g_ptr_array_index (corruptions, i);
      g_autofree char *after = NULL;
      gsize after_length;

      g_test_message ("corruption %u", i);
      write_file (path, bad, 0600);

      identity = natter_identity_load_from_file (path, TRUE, &error);
      g_assert_error (error, NATTER_IDENTITY_ERROR, NATTER_IDENTITY_ERROR_CORRUPT);
      g_assert_null (identity);
      g_assert_nonnull (strstr (error->message, path));
      g_clear_error (&error);

      /* Never overwritten, not even with create_if_missing */
      after = read_file (path, &after_length);
      g_assert_cmpmem (after, after_length, bad, strlen (bad));
    }

  /* Comments, blank lines, CRLF and unknown keys are fine */
  {
    g_autofree char *crlf = NULL;
    g_autofree char *extended = NULL;
    g_auto(GStrv) lines = g_strsplit (good, "\n", -1);

    crlf = g_strjoinv ("\r\n", lines);
    extended = g_strconcat ("\n# a comment\n", crlf, "later-key=something\n", NULL);
    write_file (path, extended, 0600);
    identity = natter_identity_load_from_file (path, FALSE, &error);
    g_assert_no_error (error);
    g_assert_nonnull (identity);
  }

  remove_tree (dir);
}

static void
test_file_errors (void)
{
  g_autofree char *dir = make_temp_dir ();
  g_autofree char *blocker = g_build_filename (dir, "not-a-folder", NULL);
  g_autofree char *below_file = g_build_filename (blocker, "identity.key", NULL);
  g_autoptr(NatterIdentity) identity = NULL;
  g_autoptr(GError) error = NULL;

  /* A folder where the key file should be */
  g_assert_cmpint (g_mkdir (blocker, 0700), ==, 0);
  identity = natter_identity_load_from_file (blocker, TRUE, &error);
  g_assert_error (error, NATTER_IDENTITY_ERROR, NATTER_IDENTITY_ERROR_FAILED);
  g_assert_null (identity);
  g_clear_error (&error);
  g_assert_cmpint (g_rmdir (blocker), ==, 0);

  /* A file where its folder should be */
  write_file (blocker, "", 0600);
  identity = natter_identity_load_from_file (below_file, TRUE, &error);
  g_assert_error (error, NATTER_IDENTITY_ERROR, NATTER_IDENTITY_ERROR_FAILED);
  g_assert_null (identity);

  remove_tree (dir);
}

static GLogWriterOutput
capture_log (GLogLevelFlags   log_level,
             const GLogField *fields,
             gsize            n_fields,
             gpointer         user_data)
{
  GString *captured = user_data;

  for (gsize i = 0; i < n_fields; i++)
    {
      if (fields[i].length < 0)
        g_string_append (captured, fields[i].value);
      else
        g_string_append_len (captured, fields[i].value, fields[i].length);
      g_string_append_c (captured, '\n');
    }

  return G_LOG_WRITER_HANDLED;
}

/* Everything logged, debug messages included, while identities are made,
 * loaded and refused, holds no part of the secret key. */
static void
test_no_secret_in_logs (void)
{
  g_autoptr(GString) captured = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *path = NULL;
  g_autofree char *text = NULL;
  g_autofree char *secret = NULL;
  g_autofree char *damaged = NULL;
  g_autoptr(NatterIdentity) identity = NULL;
  g_autoptr(GError) error = NULL;
  const char *start;

  if (!g_test_subprocess ())
    {
      g_test_trap_subprocess (NULL, 60 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
      g_test_trap_assert_passed ();
      return;
    }

  captured = g_string_new (NULL);
  g_log_set_writer_func (capture_log, captured, NULL);
  g_log_set_debug_enabled (TRUE);

  dir = make_temp_dir ();
  path = g_build_filename (dir, "identity.key", NULL);
  identity = natter_identity_load_from_file (path, TRUE, &error);
  g_assert_no_error (error);
  g_clear_object (&identity);
  identity = natter_identity_load_from_file (path, FALSE, &error);
  g_assert_no_error (error);
  g_clear_object (&identity);

  text = read_file (path, NULL);
  start = strstr (text, "secret-key=") + strlen ("secret-key=");
  secret = g_strndup (start, strcspn (start, "\n"));
  g_assert_cmpuint (strlen (secret), ==, 88);

  /* Refused files: the messages do not quote the key either */
  g_assert_cmpint (g_chmod (path, 0644), ==, 0);
  identity = natter_identity_load_from_file (path, FALSE, &error);
  g_assert_error (error, NATTER_IDENTITY_ERROR, NATTER_IDENTITY_ERROR_INSECURE_FILE);
  g_string_append_printf (captured, "%s\n", error->message);
  g_clear_error (&error);

  damaged = g_strdup (text);
  damaged[strlen (damaged) - 5] = damaged[strlen (damaged) - 5] == 'A' ? 'B' : 'A';
  write_file (path, damaged, 0600);
  identity = natter_identity_load_from_file (path, FALSE, &error);
  g_assert_error (error, NATTER_IDENTITY_ERROR, NATTER_IDENTITY_ERROR_CORRUPT);
  g_string_append_printf (captured, "%s\n", error->message);
  g_clear_error (&error);

  g_log_set_debug_enabled (FALSE);

  /* The capture works: it saw the debug message about the new identity */
  g_assert_nonnull (strstr (captured->str, "Created a new identity"));
  for (gsize i = 0; i + 16 <= strlen (secret); i += 8)
    {
      g_autofree char *piece = g_strndup (secret + i, 16);

      g_assert_null (strstr (captured->str, piece));
    }

  remove_tree (dir);
}

static void
on_load_ready (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

static NatterIdentity *
load_from_keyring (const char    *profile,
                   gboolean       create_if_missing,
                   GCancellable  *cancellable,
                   GError       **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  natter_identity_load_from_keyring_async (profile, create_if_missing, cancellable,
                                           on_load_ready, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);

  return natter_identity_load_from_keyring_finish (result, error);
}

static void
assert_no_secret_service (void)
{
  g_autoptr(NatterIdentity) identity = NULL;
  g_autoptr(GError) error = NULL;
  gint64 start = g_get_monotonic_time ();

  identity = load_from_keyring ("test", TRUE, NULL, &error);
  g_assert_error (error, NATTER_IDENTITY_ERROR, NATTER_IDENTITY_ERROR_NO_SECRET_SERVICE);
  g_assert_null (identity);
  g_assert_nonnull (strstr (error->message, "No Secret Service is running"));
  g_test_message ("answered in %.3f s: %s",
                  (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC, error->message);
}

/* A session bus on which nothing provides org.freedesktop.secrets. Runs in a
 * subprocess so that the private bus cannot leak into other cases; the time
 * limit turns a hang into a failure. */
static void
test_no_secret_service_on_bus (void)
{
  g_autofree char *dbus_daemon = NULL;

  if (g_test_subprocess ())
    {
      g_autoptr(GTestDBus) bus = g_test_dbus_new (G_TEST_DBUS_NONE);

      g_test_dbus_up (bus);
      assert_no_secret_service ();
      g_test_dbus_down (bus);
      return;
    }

  dbus_daemon = g_find_program_in_path ("dbus-daemon");
  if (dbus_daemon == NULL)
    {
      g_test_skip ("dbus-daemon is not installed");
      return;
    }

  g_test_trap_subprocess (NULL, 20 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

static void
test_no_session_bus (void)
{
  if (g_test_subprocess ())
    {
      g_autofree char *dir = make_temp_dir ();
      g_autofree char *address = g_strdup_printf ("unix:path=%s/no-bus-here", dir);

      g_setenv ("DBUS_SESSION_BUS_ADDRESS", address, TRUE);
      assert_no_secret_service ();
      remove_tree (dir);
      return;
    }

  g_test_trap_subprocess (NULL, 20 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

/* The schema docs/identity.md documents, written out again to check it */
static const SecretSchema identity_schema = {
  "io.github.natter.Natter.Identity", SECRET_SCHEMA_NONE,
  { { "profile", SECRET_SCHEMA_ATTRIBUTE_STRING }, { NULL, 0 } },
};

static gboolean
keyring_available (void)
{
  if (g_strcmp0 (g_getenv ("NATTER_TEST_KEYRING"), "1") == 0)
    return TRUE;

  g_test_skip ("needs a private gnome-keyring-daemon: run through tests/keyring/natter-keyring-run");
  return FALSE;
}

static GList *
find_keyring_items (const char *profile)
{
  g_autoptr(SecretService) service = NULL;
  g_autoptr(GHashTable) attributes = NULL;
  g_autoptr(GError) error = NULL;
  GList *items;

  service = secret_service_get_sync (SECRET_SERVICE_OPEN_SESSION, NULL, &error);
  g_assert_no_error (error);
  attributes = secret_attributes_build (&identity_schema, "profile", profile, NULL);
  items = secret_service_search_sync (service, &identity_schema, attributes,
                                      SECRET_SEARCH_ALL | SECRET_SEARCH_LOAD_SECRETS,
                                      NULL, &error);
  g_assert_no_error (error);

  return items;
}

static void
test_keyring_store_reload (void)
{
  g_autoptr(NatterIdentity) created = NULL;
  g_autoptr(NatterIdentity) loaded = NULL;
  g_autoptr(NatterIdentity) again = NULL;
  g_autoptr(NatterIdentity) other_profile = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *created_signature = NULL;
  g_autofree char *loaded_signature = NULL;
  GList *items;
  SecretItem *item;
  g_autoptr(SecretValue) value = NULL;

  if (!keyring_available ())
    return;

  created = load_from_keyring ("reload", TRUE, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (natter_user_id_is_valid (natter_identity_get_user_id (created)));

  loaded = load_from_keyring ("reload", FALSE, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (natter_identity_get_user_id (loaded), ==,
                   natter_identity_get_user_id (created));
  created_signature = natter_identity_sign (created, "x", 1);
  loaded_signature = natter_identity_sign (loaded, "x", 1);
  g_assert_cmpstr (created_signature, ==, loaded_signature);

  /* create_if_missing never replaces an existing identity */
  again = load_from_keyring ("reload", TRUE, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (natter_identity_get_user_id (again), ==,
                   natter_identity_get_user_id (created));

  /* Exactly one item, with its own schema, the profile and a readable label */
  items = find_keyring_items ("reload");
  g_assert_cmpuint (g_list_length (items), ==, 1);
  item = items->data;
  g_assert_cmpstr (secret_item_get_label (item), ==, "Natter identity (profile reload)");
  g_assert_cmpstr (secret_item_get_schema_name (item), ==, "io.github.natter.Natter.Identity");
  value = secret_item_get_secret (item);
  g_assert_nonnull (value);
  g_assert_nonnull (strstr (secret_value_get_text (value), natter_identity_get_user_id (created)));
  g_list_free_full (items, g_object_unref);

  /* Another profile is another identity */
  other_profile = load_from_keyring ("reload-other", TRUE, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (natter_identity_get_user_id (other_profile), !=,
                   natter_identity_get_user_id (created));

  g_assert_finalize_object (g_steal_pointer (&created));
  g_assert_finalize_object (g_steal_pointer (&loaded));
}

static void
test_keyring_missing (void)
{
  g_autoptr(NatterIdentity) identity = NULL;
  g_autoptr(GError) error = NULL;
  GList *items;

  if (!keyring_available ())
    return;

  identity = load_from_keyring ("missing", FALSE, NULL, &error);
  g_assert_error (error, NATTER_IDENTITY_ERROR, NATTER_IDENTITY_ERROR_NOT_FOUND);
  g_assert_null (identity);

  items = find_keyring_items ("missing");
  g_assert_null (items);
}

static void
test_keyring_cancelled (void)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(NatterIdentity) identity = NULL;
  g_autoptr(GError) error = NULL;

  if (!keyring_available ())
    return;

  g_cancellable_cancel (cancellable);
  identity = load_from_keyring ("cancelled", TRUE, cancellable, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (identity);
  g_assert_null (find_keyring_items ("cancelled"));
}

static void
test_keyring_corrupt (void)
{
  g_autoptr(NatterIdentity) identity = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(SecretValue) value = NULL;
  GList *items;

  if (!keyring_available ())
    return;

  secret_password_store_sync (&identity_schema, SECRET_COLLECTION_DEFAULT, "damaged", "version=1\n",
                              NULL, &error, "profile", "corrupt", NULL);
  g_assert_no_error (error);

  identity = load_from_keyring ("corrupt", TRUE, NULL, &error);
  g_assert_error (error, NATTER_IDENTITY_ERROR, NATTER_IDENTITY_ERROR_CORRUPT);
  g_assert_null (identity);

  /* Left as it was */
  items = find_keyring_items ("corrupt");
  g_assert_cmpuint (g_list_length (items), ==, 1);
  value = secret_item_get_secret (items->data);
  g_assert_cmpstr (secret_value_get_text (value), ==, "version=1\n");
  g_list_free_full (items, g_object_unref);
}

/* Runs last: the keyring stays locked, since no prompt can be shown. */
static void
test_keyring_locked (void)
{
  g_autoptr(NatterIdentity) stored = NULL;
  g_autoptr(NatterIdentity) identity = NULL;
  g_autoptr(SecretService) service = NULL;
  g_autoptr(GError) error = NULL;
  GList *collections;
  int locked;

  if (!keyring_available ())
    return;

  stored = load_from_keyring ("locked", TRUE, NULL, &error);
  g_assert_no_error (error);

  service = secret_service_get_sync (SECRET_SERVICE_OPEN_SESSION | SECRET_SERVICE_LOAD_COLLECTIONS,
                                     NULL, &error);
  g_assert_no_error (error);
  collections = secret_service_get_collections (service);
  locked = secret_service_lock_sync (service, collections, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (locked, >, 0);
  g_list_free_full (collections, g_object_unref);

  /* An existing identity in a locked keyring */
  identity = load_from_keyring ("locked", TRUE, NULL, &error);
  g_assert_error (error, NATTER_IDENTITY_ERROR, NATTER_IDENTITY_ERROR_LOCKED);
  g_assert_null (identity);
  g_clear_error (&error);

  /* A new one cannot be stored either */
  identity = load_from_keyring ("locked-new", TRUE, NULL, &error);
  g_assert_error (error, NATTER_IDENTITY_ERROR, NATTER_IDENTITY_ERROR_LOCKED);
  g_assert_null (identity);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/Natter/Core/Identity/user-id", test_user_id);
  g_test_add_func ("/Natter/Core/Identity/sign-verify", test_sign_verify);
  g_test_add_func ("/Natter/Core/Identity/safety-number", test_safety_number);
  g_test_add_func ("/Natter/Core/Identity/file/round-trip", test_file_round_trip);
  g_test_add_func ("/Natter/Core/Identity/file/missing", test_file_missing);
  g_test_add_func ("/Natter/Core/Identity/file/insecure", test_file_insecure);
  g_test_add_func ("/Natter/Core/Identity/file/other-owner", test_file_other_owner);
  g_test_add_func ("/Natter/Core/Identity/file/create-race", test_file_create_race);
  g_test_add_func ("/Natter/Core/Identity/file/corrupt", test_file_corrupt);
  g_test_add_func ("/Natter/Core/Identity/file/errors", test_file_errors);
  g_test_add_func ("/Natter/Core/Identity/no-secret-in-logs", test_no_secret_in_logs);
  g_test_add_func ("/Natter/Core/Identity/no-secret-service/empty-bus", test_no_secret_service_on_bus);
  g_test_add_func ("/Natter/Core/Identity/no-secret-service/no-bus", test_no_session_bus);
  g_test_add_func ("/Natter/Core/Identity/keyring/store-reload", test_keyring_store_reload);
  g_test_add_func ("/Natter/Core/Identity/keyring/missing", test_keyring_missing);
  g_test_add_func ("/Natter/Core/Identity/keyring/cancelled", test_keyring_cancelled);
  g_test_add_func ("/Natter/Core/Identity/keyring/corrupt", test_keyring_corrupt);
  g_test_add_func ("/Natter/Core/Identity/keyring/locked", test_keyring_locked);

  return g_test_run ();
}
