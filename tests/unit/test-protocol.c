/* test-protocol.c: unit tests for libnatter-protocol
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Known answers are computed here from docs/protocol.md with GLib's own
 * SHA-256, HMAC and base64 and a base32 encoder written in this file, so the
 * library is checked against the contract and not against itself.
 */
#define G_LOG_DOMAIN "test-protocol"

#include "config.h"

#include <string.h>

#include <sodium.h>

#include "natter-protocol.h"

/* RFC 8032, section 7.1, TEST 1: secret seed, public key, signature of "" */
#define RFC8032_SEED \
  "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
#define RFC8032_PUBLIC \
  "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
#define RFC8032_SIGNATURE_BASE64 \
  "5VZDAMNgrHKQhuLMgG6CioSHfx645dl02HPgZSJJAVVfuIIVkKM7rMYeOXAc+bRr0lv18FlbviRlUUFDjnoQCw=="

/* The user ID of RFC8032_PUBLIC, computed outside this project from the
 * formula of docs/protocol.md. */
#define RFC8032_USER_ID "25njqamcweflpvkl73j4szahhihoc4xt3ktcgjnpaingr5yhkenjsvgg"

#define BASE32_ALPHABET "abcdefghijklmnopqrstuvwxyz234567"

/* Helpers */

static void
hex_to_bytes (const char *hex,
              guint8     *out,
              gsize       length)
{
  g_assert_cmpuint (strlen (hex), ==, length * 2);

  for (gsize i = 0; i < length; i++)
    {
      int hi = g_ascii_xdigit_value (hex[2 * i]);
      int lo = g_ascii_xdigit_value (hex[2 * i + 1]);

      g_assert_cmpint (hi, >=, 0);
      g_assert_cmpint (lo, >=, 0);
      out[i] = (guint8) (hi << 4 | lo);
    }
}

/* RFC 4648 base32, lower case, no padding. */
static char *
base32_encode (const guint8 *data,
               gsize         length)
{
  GString *out = g_string_new (NULL);
  guint buffer = 0;
  guint bits = 0;

  for (gsize i = 0; i < length; i++)
    {
      buffer = (buffer << 8) | data[i];
      bits += 8;

      while (bits >= 5)
        {
          bits -= 5;
          g_string_append_c (out, BASE32_ALPHABET[(buffer >> bits) & 0x1f]);
        }
    }

  if (bits > 0)
    g_string_append_c (out, BASE32_ALPHABET[(buffer << (5 - bits)) & 0x1f]);

  return g_string_free (out, FALSE);
}

static char *
expected_user_id (const guint8 public_key[NATTER_PUBLIC_KEY_SIZE])
{
  g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  guint8 digest[32];
  gsize digest_length = sizeof digest;
  guint8 raw[NATTER_PUBLIC_KEY_SIZE + 3];

  g_checksum_update (checksum, (const guchar *) "natter-id-v1", strlen ("natter-id-v1"));
  g_checksum_update (checksum, public_key, NATTER_PUBLIC_KEY_SIZE);
  g_checksum_get_digest (checksum, digest, &digest_length);
  g_assert_cmpuint (digest_length, ==, 32);

  memcpy (raw, public_key, NATTER_PUBLIC_KEY_SIZE);
  memcpy (raw + NATTER_PUBLIC_KEY_SIZE, digest, 3);

  return base32_encode (raw, sizeof raw);
}

static char *
user_id_for_index (guint index)
{
  guint8 public_key[NATTER_PUBLIC_KEY_SIZE] = { 0 };

  public_key[0] = 0x4e;
  public_key[1] = (guint8) (index >> 8);
  public_key[2] = (guint8) index;

  return natter_user_id_from_public_key (public_key);
}

static void
rfc8032_keypair (guint8 public_key[NATTER_PUBLIC_KEY_SIZE],
                 guint8 secret_key[NATTER_SECRET_KEY_SIZE])
{
  guint8 seed[32];

  hex_to_bytes (RFC8032_SEED, seed, sizeof seed);
  natter_keypair_from_seed (seed, public_key, secret_key);
}

/* Replaces the character at @pos by another character of the alphabet. */
static char *
change_character (const char *user_id,
                  gsize       pos)
{
  char *changed = g_strdup (user_id);
  const char *at = strchr (BASE32_ALPHABET, changed[pos]);

  g_assert_nonnull (at);
  changed[pos] = BASE32_ALPHABET[(at - BASE32_ALPHABET + 1) % 32];

  return changed;
}

/* User IDs */

static void
test_user_id_known_answer (void)
{
  guint8 public_key[NATTER_PUBLIC_KEY_SIZE];
  g_autofree char *expected = NULL;
  g_autofree char *user_id = NULL;

  hex_to_bytes (RFC8032_PUBLIC, public_key, sizeof public_key);

  expected = expected_user_id (public_key);
  g_assert_cmpstr (expected, ==, RFC8032_USER_ID);
  g_assert_cmpuint (strlen (expected), ==, NATTER_USER_ID_LENGTH);

  user_id = natter_user_id_from_public_key (public_key);
  g_assert_cmpstr (user_id, ==, expected);
  g_assert_true (natter_user_id_is_valid (user_id));
}

static void
test_user_id_round_trip (void)
{
  for (guint i = 0; i < 64; i++)
    {
      guint8 public_key[NATTER_PUBLIC_KEY_SIZE];
      guint8 secret_key[NATTER_SECRET_KEY_SIZE];
      guint8 decoded[NATTER_PUBLIC_KEY_SIZE] = { 0 };
      g_autoptr(GError) error = NULL;
      g_autofree char *user_id = NULL;
      g_autofree char *expected = NULL;

      natter_keypair_generate (public_key, secret_key);
      user_id = natter_user_id_from_public_key (public_key);
      expected = expected_user_id (public_key);

      g_assert_cmpstr (user_id, ==, expected);
      g_assert_true (natter_user_id_is_valid (user_id));
      g_assert_true (natter_user_id_to_public_key (user_id, decoded, &error));
      g_assert_no_error (error);
      g_assert_cmpmem (decoded, sizeof decoded, public_key, sizeof public_key);

      natter_secure_zero (secret_key, sizeof secret_key);
    }
}

static void
test_user_id_normalize (void)
{
  const char *user_id = RFC8032_USER_ID;
  g_autofree char *upper = g_ascii_strup (user_id, -1);
  g_autoptr(GString) grouped = g_string_new (NULL);
  g_autoptr(GString) mixed = g_string_new (NULL);
  const char *inputs[5];

  /* "25NJ QAMC WEFL …" as people copy it, and "25nj-qamc-…" */
  for (gsize i = 0; i < NATTER_USER_ID_LENGTH; i++)
    {
      if (i > 0 && i % 4 == 0)
        {
          g_string_append_c (grouped, ' ');
          g_string_append_c (mixed, '-');
        }
      g_string_append_c (grouped, upper[i]);
      g_string_append_c (mixed, i % 2 ? user_id[i] : upper[i]);
    }

  inputs[0] = user_id;
  inputs[1] = upper;
  inputs[2] = grouped->str;
  inputs[3] = mixed->str;
  inputs[4] = "  " RFC8032_USER_ID " ";

  for (guint i = 0; i < G_N_ELEMENTS (inputs); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *normalized = natter_user_id_normalize (inputs[i], &error);
      guint8 decoded[NATTER_PUBLIC_KEY_SIZE];
      guint8 expected[NATTER_PUBLIC_KEY_SIZE];

      g_test_message ("normalizing input %u", i);
      g_assert_no_error (error);
      g_assert_cmpstr (normalized, ==, user_id);

      hex_to_bytes (RFC8032_PUBLIC, expected, sizeof expected);
      g_assert_true (natter_user_id_to_public_key (normalized, decoded, &error));
      g_assert_no_error (error);
      g_assert_cmpmem (decoded, sizeof decoded, expected, sizeof expected);
    }
}

static void
assert_user_id_rejected (const char *input)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *normalized = NULL;
  g_autofree char *shown = g_strescape (input, NULL);
  guint8 decoded[NATTER_PUBLIC_KEY_SIZE];

  g_test_message ("rejecting user ID '%s'", shown);

  normalized = natter_user_id_normalize (input, &error);
  g_assert_null (normalized);
  g_assert_error (error, NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_INVALID_USER);
  g_assert_nonnull (error->message);
  g_clear_error (&error);

  g_assert_false (natter_user_id_to_public_key (input, decoded, &error));
  g_assert_error (error, NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_INVALID_USER);

  g_assert_false (natter_user_id_is_valid (input));
}

static void
test_user_id_checksum (void)
{
  /* Every single changed character is caught: by the checksum in the first
   * 55 characters, and in the last one also by its unused low bits. */
  for (gsize pos = 0; pos < NATTER_USER_ID_LENGTH; pos++)
    {
      g_autofree char *changed = change_character (RFC8032_USER_ID, pos);

      assert_user_id_rejected (changed);
    }

  /* Two swapped neighbours */
  {
    g_autofree char *swapped = g_strdup (RFC8032_USER_ID);
    char c = swapped[10];

    g_assert_cmpint (swapped[10], !=, swapped[11]);
    swapped[10] = swapped[11];
    swapped[11] = c;
    assert_user_id_rejected (swapped);
  }
}

static void
assert_short (const char *user_id,
              const char *expected)
{
  char buffer[NATTER_USER_ID_SHORT_SIZE];
  g_autofree char *allocated = natter_user_id_short (user_id, NULL);

  g_assert_true (natter_user_id_short (user_id, buffer) == buffer);
  g_assert_cmpstr (buffer, ==, expected);
  g_assert_cmpstr (allocated, ==, expected);
  g_assert_cmpstr (NATTER_USER_ID_LOG (user_id), ==, expected);
}

#define SHORT_THREADS 8
#define SHORT_ROUNDS  20000

static gpointer
short_in_thread (gpointer data)
{
  const char *user_id = data;
  char expected[NATTER_USER_ID_SHORT_SIZE];
  guint wrong = 0;

  g_snprintf (expected, sizeof expected, "%.8s…", user_id);
  for (guint i = 0; i < SHORT_ROUNDS; i++)
    {
      const char *shown = NATTER_USER_ID_LOG (user_id);

      /* A shared buffer would show another thread's ID now and then */
      g_thread_yield ();
      if (strcmp (shown, expected) != 0)
        wrong++;
    }

  return GUINT_TO_POINTER (wrong);
}

static void
test_user_id_short (void)
{
  char *ids[SHORT_THREADS];
  GThread *threads[SHORT_THREADS];

  /* Enough to tell IDs apart in a log, never the whole ID */
  assert_short (RFC8032_USER_ID, "25njqamc…");
  assert_short ("25njqamc", "25njqamc");
  assert_short ("abc", "abc");
  assert_short ("", "");
  assert_short (NULL, "(none)");

  /* Whatever a peer claims is an ID stays one line of plain text */
  assert_short ("\x1b[31mred", "??31mred");
  assert_short ("ab\ncd\tef", "ab?cd?ef");
  assert_short ("ab\ncd\tefgh", "ab?cd?ef…");
  assert_short ("\xc3\xa9t\xc3\xa9", "?t?");
  assert_short ("a\xff\xfe" "b", "a??b");
  assert_short ("a\xc3", "a?");
  assert_short ("\xe2\x80\xae" "evil", "?evil");
  assert_short ("%s%n%x", "?s?n?x");
  assert_short ("\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80"
                "\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80"
                "\xf0\x9f\x98\x80", "????????…");

  /* Threads shortening different IDs at once each see their own */
  for (guint i = 0; i < SHORT_THREADS; i++)
    {
      ids[i] = g_strdup_printf ("%c%07u%s", 'a' + i, i, RFC8032_USER_ID + 8);
      threads[i] = g_thread_new ("short", short_in_thread, ids[i]);
    }
  for (guint i = 0; i < SHORT_THREADS; i++)
    {
      g_assert_cmpuint (GPOINTER_TO_UINT (g_thread_join (threads[i])), ==, 0);
      g_free (ids[i]);
    }
}

static void
test_user_id_syntax (void)
{
  const char *id = RFC8032_USER_ID;
  g_autofree char *shorter = g_strndup (id, NATTER_USER_ID_LENGTH - 1);
  g_autofree char *longer = g_strconcat (id, "a", NULL);
  g_autofree char *doubled = g_strconcat (id, id, NULL);
  g_autofree char *with_one = g_strdup (id);
  g_autofree char *with_eight = g_strdup (id);
  g_autofree char *with_zero = g_strdup (id);
  g_autofree char *with_padding = g_strconcat (id, "====", NULL);
  g_autofree char *with_dot = g_strdup (id);
  g_autofree char *with_non_ascii = g_strconcat ("\xc3\xa9", id + 2, NULL);
  g_autofree char *with_underscore = g_strdup (id);

  with_one[5] = '1';
  with_eight[5] = '8';
  with_zero[5] = '0';
  with_dot[20] = '.';
  with_underscore[30] = '_';

  assert_user_id_rejected ("");
  assert_user_id_rejected ("   ");
  assert_user_id_rejected ("----");
  assert_user_id_rejected ("a");
  assert_user_id_rejected (shorter);
  assert_user_id_rejected (longer);
  assert_user_id_rejected (doubled);
  assert_user_id_rejected (with_one);
  assert_user_id_rejected (with_eight);
  assert_user_id_rejected (with_zero);
  assert_user_id_rejected (with_padding);
  assert_user_id_rejected (with_dot);
  assert_user_id_rejected (with_non_ascii);
  assert_user_id_rejected (with_underscore);
}

/* Handles and rooms */

static void
assert_handle (const char *input,
               const char *expected)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *normalized = natter_handle_normalize (input, &error);
  g_autofree char *shown = g_strescape (input, NULL);

  g_test_message ("handle '%s'", shown);

  if (expected != NULL)
    {
      g_assert_no_error (error);
      g_assert_cmpstr (normalized, ==, expected);
    }
  else
    {
      g_assert_null (normalized);
      g_assert_error (error, NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_INVALID_HANDLE);
    }
}

static void
test_handle (void)
{
  g_autofree char *max = g_strnfill (32, 'x');
  g_autofree char *too_long = g_strnfill (33, 'x');
  g_autofree char *max_at = g_strconcat ("@", max, NULL);
  g_autofree char *too_long_at = g_strconcat ("@", too_long, NULL);

  assert_handle ("ana", "ana");
  assert_handle ("@ana", "ana");
  assert_handle ("@Ana", "ana");
  assert_handle ("ANA", "ana");
  assert_handle ("@Ana.B_c-9", "ana.b_c-9");
  assert_handle ("9lives", "9lives");
  assert_handle ("a..", "a..");
  assert_handle ("a_-", "a_-");
  assert_handle (max, max);
  assert_handle (max_at, max);

  assert_handle ("", NULL);
  assert_handle ("@", NULL);
  assert_handle ("ab", NULL);
  assert_handle ("@ab", NULL);
  assert_handle ("@@ana", NULL);
  assert_handle ("ana@", NULL);
  assert_handle ("a@na", NULL);
  assert_handle (too_long, NULL);
  assert_handle (too_long_at, NULL);
  assert_handle ("_ana", NULL);
  assert_handle (".ana", NULL);
  assert_handle ("-ana", NULL);
  assert_handle ("@_ana", NULL);
  assert_handle ("ana!", NULL);
  assert_handle ("an a", NULL);
  assert_handle (" ana", NULL);
  assert_handle ("ana ", NULL);
  assert_handle ("an+a", NULL);
  assert_handle ("an/a", NULL);
  assert_handle ("ana\n", NULL);
  assert_handle ("\xc3\xa1na", NULL);    /* á */
  assert_handle ("an\xc3\x84", NULL);    /* Ä */
  assert_handle ("\xef\xbc\xa1na", NULL); /* fullwidth A */
  assert_handle ("an\xff", NULL);
}

static void
test_room_name (void)
{
  g_autofree char *max = g_strnfill (64, 'r');
  g_autofree char *too_long = g_strnfill (65, 'r');
  g_autoptr(GString) max_multibyte = g_string_new (NULL);
  g_autoptr(GString) long_multibyte = g_string_new (NULL);

  /* 32 × "é" is 64 bytes; 33 × "é" is 33 characters but 66 bytes */
  for (guint i = 0; i < 32; i++)
    g_string_append (max_multibyte, "\xc3\xa9");
  g_string_append (long_multibyte, max_multibyte->str);
  g_string_append (long_multibyte, "\xc3\xa9");

  g_assert_true (natter_room_name_is_valid ("lab-42"));
  g_assert_true (natter_room_name_is_valid ("r"));
  g_assert_true (natter_room_name_is_valid ("Lab 42, Room B"));
  g_assert_true (natter_room_name_is_valid ("caf\xc3\xa9"));
  g_assert_true (natter_room_name_is_valid ("\xe2\x98\x95 \xf0\x9f\x98\x80"));
  g_assert_true (natter_room_name_is_valid (max));
  g_assert_true (natter_room_name_is_valid (max_multibyte->str));

  g_assert_false (natter_room_name_is_valid (""));
  g_assert_false (natter_room_name_is_valid (too_long));
  g_assert_false (natter_room_name_is_valid (long_multibyte->str));
  g_assert_false (natter_room_name_is_valid ("lab\n42"));
  g_assert_false (natter_room_name_is_valid ("lab\t42"));
  g_assert_false (natter_room_name_is_valid ("\r"));
  g_assert_false (natter_room_name_is_valid ("lab\x1b[31m"));
  g_assert_false (natter_room_name_is_valid ("lab\x7f"));
  g_assert_false (natter_room_name_is_valid ("lab\xc2\x85"));    /* U+0085, a C1 control */
  g_assert_false (natter_room_name_is_valid ("lab\xff"));
  g_assert_false (natter_room_name_is_valid ("lab\xc3"));        /* truncated sequence */
  g_assert_false (natter_room_name_is_valid ("\xc0\xaf"));       /* overlong "/" */
  g_assert_false (natter_room_name_is_valid ("\xed\xa0\x80"));   /* surrogate */
}

/* Signatures */

static void
test_signature_known_answer (void)
{
  guint8 public_key[NATTER_PUBLIC_KEY_SIZE];
  guint8 secret_key[NATTER_SECRET_KEY_SIZE];
  guint8 expected_public[NATTER_PUBLIC_KEY_SIZE];
  g_autofree char *signature = NULL;

  rfc8032_keypair (public_key, secret_key);
  hex_to_bytes (RFC8032_PUBLIC, expected_public, sizeof expected_public);
  g_assert_cmpmem (public_key, sizeof public_key, expected_public, sizeof expected_public);

  signature = natter_signature_sign (secret_key, "", 0);
  g_assert_cmpstr (signature, ==, RFC8032_SIGNATURE_BASE64);
  g_assert_true (natter_signature_verify (public_key, "", 0, RFC8032_SIGNATURE_BASE64));
  g_assert_true (natter_signature_verify_user (RFC8032_USER_ID, "", 0, RFC8032_SIGNATURE_BASE64));

  natter_secure_zero (secret_key, sizeof secret_key);
}

static char *
flip_signature_bit (const char *signature_base64,
                    guint       bit)
{
  gsize length = 0;
  g_autofree guchar *raw = g_base64_decode (signature_base64, &length);

  g_assert_cmpuint (length, ==, NATTER_SIGNATURE_SIZE);
  raw[bit / 8] ^= (guchar) (1 << (bit % 8));

  return g_base64_encode (raw, length);
}

static void
test_signature_tampered (void)
{
  static const char data[] = "v=0\r\na=fingerprint:sha-256 AB:CD:EF\r\n";
  guint8 public_key[NATTER_PUBLIC_KEY_SIZE];
  guint8 secret_key[NATTER_SECRET_KEY_SIZE];
  guint8 other_public[NATTER_PUBLIC_KEY_SIZE];
  guint8 other_secret[NATTER_SECRET_KEY_SIZE];
  g_autofree char *user_id = NULL;
  g_autofree char *other_user_id = NULL;
  g_autofree char *signature = NULL;
  g_autofree char *short_signature = NULL;
  g_autofree char *long_signature = NULL;
  g_autofree char *tampered_data = g_strdup (data);
  gsize length = strlen (data);

  natter_keypair_generate (public_key, secret_key);
  natter_keypair_generate (other_public, other_secret);
  g_assert_true (memcmp (public_key, other_public, sizeof public_key) != 0);
  user_id = natter_user_id_from_public_key (public_key);
  other_user_id = natter_user_id_from_public_key (other_public);

  signature = natter_signature_sign (secret_key, data, length);
  g_assert_nonnull (signature);
  g_assert_true (natter_signature_verify (public_key, data, length, signature));
  g_assert_true (natter_signature_verify_user (user_id, data, length, signature));

  /* Independent check with libsodium itself */
  {
    gsize raw_length = 0;
    g_autofree guchar *raw = g_base64_decode (signature, &raw_length);

    g_assert_cmpuint (raw_length, ==, crypto_sign_BYTES);
    g_assert_cmpint (crypto_sign_verify_detached (raw, (const guchar *) data, length,
                                                  public_key), ==, 0);
  }

  /* Tampered data: one flipped bit anywhere, one byte less, one byte more */
  for (gsize i = 0; i < length; i++)
    {
      tampered_data[i] ^= 0x01;
      g_assert_false (natter_signature_verify (public_key, tampered_data, length, signature));
      tampered_data[i] ^= 0x01;
    }
  g_assert_false (natter_signature_verify (public_key, data, length - 1, signature));
  g_assert_false (natter_signature_verify (public_key, data, length + 1, signature));

  /* Tampered signature */
  for (guint bit = 0; bit < NATTER_SIGNATURE_SIZE * 8; bit += 7)
    {
      g_autofree char *flipped = flip_signature_bit (signature, bit);

      g_assert_false (natter_signature_verify (public_key, data, length, flipped));
    }

  /* Malformed signatures */
  {
    guint8 raw[NATTER_SIGNATURE_SIZE + 1] = { 0 };
    gsize raw_length = 0;
    g_autofree guchar *decoded = g_base64_decode (signature, &raw_length);

    memcpy (raw, decoded, NATTER_SIGNATURE_SIZE);
    short_signature = g_base64_encode (raw, NATTER_SIGNATURE_SIZE - 1);
    long_signature = g_base64_encode (raw, NATTER_SIGNATURE_SIZE + 1);
  }
  g_assert_false (natter_signature_verify (public_key, data, length, short_signature));
  g_assert_false (natter_signature_verify (public_key, data, length, long_signature));
  g_assert_false (natter_signature_verify (public_key, data, length, ""));
  g_assert_false (natter_signature_verify (public_key, data, length, "not base64 at all!"));

  /* Wrong key */
  g_assert_false (natter_signature_verify (other_public, data, length, signature));
  g_assert_false (natter_signature_verify_user (other_user_id, data, length, signature));

  /* A user ID that does not decode */
  {
    g_autofree char *broken = change_character (user_id, 3);

    g_assert_false (natter_signature_verify_user (broken, data, length, signature));
    g_assert_false (natter_signature_verify_user ("", data, length, signature));
  }

  /* Signing is deterministic (Ed25519) and the other key signs differently */
  {
    g_autofree char *again = natter_signature_sign (secret_key, data, length);
    g_autofree char *other = natter_signature_sign (other_secret, data, length);

    g_assert_cmpstr (again, ==, signature);
    g_assert_cmpstr (other, !=, signature);
    g_assert_true (natter_signature_verify (other_public, data, length, other));
  }

  natter_secure_zero (secret_key, sizeof secret_key);
  natter_secure_zero (other_secret, sizeof other_secret);
}

static void
test_keypair_from_seed (void)
{
  guint8 seed[32];
  guint8 public_a[NATTER_PUBLIC_KEY_SIZE];
  guint8 secret_a[NATTER_SECRET_KEY_SIZE];
  guint8 public_b[NATTER_PUBLIC_KEY_SIZE];
  guint8 secret_b[NATTER_SECRET_KEY_SIZE];

  natter_random_bytes (seed, sizeof seed);
  natter_keypair_from_seed (seed, public_a, secret_a);
  natter_keypair_from_seed (seed, public_b, secret_b);
  g_assert_cmpmem (public_a, sizeof public_a, public_b, sizeof public_b);
  g_assert_cmpmem (secret_a, sizeof secret_a, secret_b, sizeof secret_b);

  seed[0] ^= 0x80;
  natter_keypair_from_seed (seed, public_b, secret_b);
  g_assert_true (memcmp (public_a, public_b, sizeof public_a) != 0);

  natter_secure_zero (secret_a, sizeof secret_a);
  natter_secure_zero (secret_b, sizeof secret_b);
}

static void
test_random_and_zero (void)
{
  guint8 a[32] = { 0 };
  guint8 b[32] = { 0 };
  static const guint8 zero[32] = { 0 };

  natter_random_bytes (a, sizeof a);
  natter_random_bytes (b, sizeof b);
  g_assert_true (memcmp (a, zero, sizeof a) != 0);
  g_assert_true (memcmp (a, b, sizeof a) != 0);

  natter_secure_zero (a, sizeof a);
  g_assert_cmpmem (a, sizeof a, zero, sizeof zero);
}

/* Authentication challenge */

static void
test_auth_nonce (void)
{
  g_autofree char *first = natter_auth_challenge_new_nonce ();
  g_autofree char *second = natter_auth_challenge_new_nonce ();
  gsize length = 0;
  g_autofree guchar *raw = g_base64_decode (first, &length);
  g_autofree char *reencoded = NULL;

  g_assert_cmpuint (length, ==, 32);
  reencoded = g_base64_encode (raw, length);
  g_assert_cmpstr (reencoded, ==, first);   /* standard base64 with padding */
  g_assert_cmpuint (strlen (first), ==, 44);
  g_assert_cmpstr (first, !=, second);
}

static void
test_auth_message (void)
{
  static const char nonce[] = "q83vEjRWeJA=EQIiM0RVZneImaq7zN3u/wARIjNEVWZ3iJk=";
  static const char expected[] =
    "natter-auth-v2\n"
    "q83vEjRWeJA=EQIiM0RVZneImaq7zN3u/wARIjNEVWZ3iJk=\n"
    RFC8032_USER_ID "\n"
    "chat.example.org:443";
  gsize length = 0;
  g_autofree char *message = natter_auth_challenge_message (nonce, RFC8032_USER_ID,
                                                            "chat.example.org:443", &length);

  g_assert_cmpuint (length, ==, sizeof expected - 1);
  g_assert_cmpmem (message, length, expected, sizeof expected - 1);
  /* No trailing newline; NUL-terminated for convenience */
  g_assert_cmpint (message[length - 1], ==, '3');
  g_assert_cmpint (message[length], ==, '\0');
}

static void
test_auth_sign (void)
{
  guint8 public_key[NATTER_PUBLIC_KEY_SIZE];
  guint8 secret_key[NATTER_SECRET_KEY_SIZE];
  g_autofree char *nonce = natter_auth_challenge_new_nonce ();
  g_autofree char *other_nonce = natter_auth_challenge_new_nonce ();
  g_autofree char *expected_message = NULL;
  g_autofree char *signature = NULL;
  g_autofree char *message = NULL;
  g_autofree char *other_message = NULL;
  g_autofree guchar *raw = NULL;
  gsize length = 0;
  gsize other_length = 0;
  gsize raw_length = 0;

  rfc8032_keypair (public_key, secret_key);

  signature = natter_auth_challenge_sign (secret_key, nonce, RFC8032_USER_ID, "127.0.0.1:8443");
  g_assert_nonnull (signature);

  /* What the server checks: the exact bytes of docs/protocol.md */
  expected_message = g_strconcat ("natter-auth-v2\n", nonce, "\n", RFC8032_USER_ID,
                                  "\n127.0.0.1:8443", NULL);
  raw = g_base64_decode (signature, &raw_length);
  g_assert_cmpuint (raw_length, ==, crypto_sign_BYTES);
  g_assert_cmpint (crypto_sign_verify_detached (raw, (const guchar *) expected_message,
                                                strlen (expected_message), public_key), ==, 0);

  message = natter_auth_challenge_message (nonce, RFC8032_USER_ID, "127.0.0.1:8443", &length);
  g_assert_true (natter_signature_verify (public_key, message, length, signature));
  g_assert_true (natter_signature_verify_user (RFC8032_USER_ID, message, length, signature));

  /* A signature for one nonce does not verify for another (no replay) */
  other_message = natter_auth_challenge_message (other_nonce, RFC8032_USER_ID, "127.0.0.1:8443",
                                                 &other_length);
  g_assert_false (natter_signature_verify (public_key, other_message, other_length, signature));
  g_clear_pointer (&other_message, g_free);

  /* ...nor for another server (no relaying of challenges) */
  other_message = natter_auth_challenge_message (nonce, RFC8032_USER_ID, "127.0.0.1:8444",
                                                 &other_length);
  g_assert_false (natter_signature_verify (public_key, other_message, other_length, signature));

  natter_secure_zero (secret_key, sizeof secret_key);
}

/* The test vector of docs/protocol.md, "Connection life cycle" */
static void
test_auth_vector (void)
{
  guint8 seed[32];
  guint8 public_key[NATTER_PUBLIC_KEY_SIZE];
  guint8 secret_key[NATTER_SECRET_KEY_SIZE];
  g_autofree char *user = NULL;
  g_autofree char *signature = NULL;

  memset (seed, 0x01, sizeof seed);
  natter_keypair_from_seed (seed, public_key, secret_key);
  user = natter_user_id_from_public_key (public_key);
  g_assert_cmpstr (user, ==, "rkeohxlubhyzl7ks3mwtzos5olfgocn7dwkbeg7toseadnapn5odfwmo");

  signature = natter_auth_challenge_sign (secret_key,
                                          "q83vEjRWeJA=EQIiM0RVZneImaq7zN3u/wARIjNEVWZ3iJk=",
                                          user, "chat.example.org:443");
  g_assert_cmpstr (signature, ==, "r+vcQg+AFGfeLqZ42DYzOniQPSW9D0nUzH7U7wI0hdjnaxWW9jxe8t3edLEhWRH"
                                  "91yTx93wQHzkOl4KCerl8Bg==");
  natter_secure_zero (secret_key, sizeof secret_key);
}

static void
test_auth_server_name (void)
{
  static const struct { const char *url; const char *name; } cases[] = {
    { "wss://Chat.Example.org/ws", "chat.example.org:443" },
    { "ws://chat.example.org/ws", "chat.example.org:80" },
    { "wss://chat.example.org:8443/ws", "chat.example.org:8443" },
    { "ws://127.0.0.1:40123/ws", "127.0.0.1:40123" },
    { "ws://[::1]:8443/ws", "[::1]:8443" },
    { "ws://[2001:DB8::1]/ws", "[2001:db8::1]:80" },
    { "not a url", NULL },
    { "ws:///ws", NULL },
  };
  static const struct { const char *name; const char *host; guint port; } splits[] = {
    { "chat.example.org:443", "chat.example.org", 443 },
    { "Chat.Example.org", "chat.example.org", 0 },
    { "[::1]:8443", "::1", 8443 },
    { "[::1]", "::1", 0 },
    { "127.0.0.1:1", "127.0.0.1", 1 },
  };
  static const char *bad[] = { "", ":443", "host:0", "host:65536", "host:x", "a:1:2", "[::1",
                               "[]:1", "[::1]x", "host name", "host/ws", "h\xc3\xa9:1" };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *name = natter_auth_server_name_from_url (cases[i].url);

      g_assert_cmpstr (name, ==, cases[i].name);
    }

  for (guint i = 0; i < G_N_ELEMENTS (splits); i++)
    {
      g_autofree char *host = NULL;
      guint port = 99;

      g_assert_true (natter_auth_server_name_split (splits[i].name, &host, &port));
      g_assert_cmpstr (host, ==, splits[i].host);
      g_assert_cmpuint (port, ==, splits[i].port);
    }

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree char *host = NULL;
      guint port = 99;

      g_assert_false (natter_auth_server_name_split (bad[i], &host, &port));
      g_assert_null (host);
    }
}

/* TURN credentials */

static void
assert_turn_credentials (const char *secret,
                         const char *user_id,
                         gint64      expires)
{
  g_autofree char *username = NULL;
  g_autofree char *password = NULL;
  g_autofree char *expected_username = NULL;
  g_autofree char *expected_password = NULL;
  g_autoptr(GHmac) hmac = NULL;
  guint8 digest[20];
  gsize digest_length = sizeof digest;

  natter_turn_credentials (secret, user_id, expires, &username, &password);

  expected_username = g_strdup_printf ("%" G_GINT64_FORMAT ":%s", expires, user_id);
  hmac = g_hmac_new (G_CHECKSUM_SHA1, (const guchar *) secret, strlen (secret));
  g_hmac_update (hmac, (const guchar *) expected_username, strlen (expected_username));
  g_hmac_get_digest (hmac, digest, &digest_length);
  g_assert_cmpuint (digest_length, ==, 20);
  expected_password = g_base64_encode (digest, digest_length);

  g_assert_cmpstr (username, ==, expected_username);
  g_assert_cmpstr (password, ==, expected_password);
}

static void
test_turn_credentials (void)
{
  g_autofree char *username = NULL;
  g_autofree char *password = NULL;
  g_autofree char *long_secret = g_strnfill (200, 'k');

  /* Known answer computed outside this project */
  natter_turn_credentials ("s3cret-shared", RFC8032_USER_ID, 1700086400, &username, &password);
  g_assert_cmpstr (username, ==, "1700086400:" RFC8032_USER_ID);
  g_assert_cmpstr (password, ==, "ANZJSpEIXg/pInQPnZTnChV312k=");

  assert_turn_credentials ("s3cret-shared", RFC8032_USER_ID, 1700086400);
  assert_turn_credentials ("s3cret-shared", RFC8032_USER_ID, 1700086401);
  assert_turn_credentials ("other", RFC8032_USER_ID, 1700086400);
  assert_turn_credentials (long_secret, RFC8032_USER_ID, 4102444800);
  assert_turn_credentials ("x", RFC8032_USER_ID, 0);
}

/* Error codes and frame type names */

static const char *error_codes[] = {
  "bad-json", "bad-frame", "unknown-type", "frame-too-large", "binary-frame",
  "not-authenticated", "already-authenticated", "auth-failed", "auth-timeout",
  "replaced", "rate-limited", "server-full", "shutting-down", "peer-offline",
  "invalid-target", "invalid-user", "invalid-handle", "invalid-room",
  "handle-taken", "not-owner", "not-found", "not-in-room", "limit-exceeded",
  "peer-slow", "recipient-full", "internal",
};

static const char *frame_names[] = {
  NULL,
  "signal", "invitations", "room-members", "ice-config",
  "auth", "ping", "subscribe", "unsubscribe", "invite", "invite-accept",
  "invite-decline", "handle-register", "handle-lookup", "handle-release",
  "room-join", "room-leave",
  "hello", "auth-ok", "pong", "presence-list", "presence", "invite-sent",
  "invitation", "invitation-answer", "handle", "room-member-joined",
  "room-member-left", "ok", "error",
};

static void
test_error_codes (void)
{
  NatterProtocolError code;

  G_STATIC_ASSERT (G_N_ELEMENTS (error_codes) == NATTER_PROTOCOL_N_ERRORS);

  for (guint i = 0; i < NATTER_PROTOCOL_N_ERRORS; i++)
    {
      g_assert_cmpstr (natter_protocol_error_to_code (i), ==, error_codes[i]);
      code = NATTER_PROTOCOL_ERROR_INTERNAL + 1;
      g_assert_true (natter_protocol_error_from_code (error_codes[i], &code));
      g_assert_cmpint (code, ==, i);
    }

  g_assert_false (natter_protocol_error_from_code ("no-such-code", &code));
  g_assert_false (natter_protocol_error_from_code ("", &code));
  g_assert_false (natter_protocol_error_from_code ("BAD-JSON", &code));
  g_assert_true (NATTER_PROTOCOL_ERROR != 0);
}

static void
test_frame_type_names (void)
{
  G_STATIC_ASSERT (G_N_ELEMENTS (frame_names) == NATTER_FRAME_N_TYPES);

  for (guint i = 1; i < NATTER_FRAME_N_TYPES; i++)
    {
      g_assert_cmpstr (natter_frame_type_to_string (i), ==, frame_names[i]);
      g_assert_cmpint (natter_frame_type_from_string (frame_names[i]), ==, i);
    }

  g_assert_cmpint (natter_frame_type_from_string ("nope"), ==, NATTER_FRAME_INVALID);
  g_assert_cmpint (natter_frame_type_from_string (""), ==, NATTER_FRAME_INVALID);
  g_assert_cmpint (natter_frame_type_from_string ("PING"), ==, NATTER_FRAME_INVALID);
  g_assert_cmpint (natter_frame_type_from_string ("room_join"), ==, NATTER_FRAME_INVALID);
}

/* Frame parsing */

typedef struct
{
  NatterFrameType       type;
  NatterFrameDirection  direction;
  const char           *json;
} FrameCase;

#define U1 RFC8032_USER_ID
#define U2 "bxbco7ynlc4sbbvbg6ygegpqp5hezl4stdaw7flyxonz4lri5hyfh2b3"

#define INVITATION_OBJECT \
  "{\"id\":\"5f0c0a1b2c3d4e5f60718293a4b5c6d7\",\"from\":\"" U1 "\",\"to\":\"" U2 "\"," \
  "\"text\":\"Hi, it's Ana from the lab\",\"created\":1700000000," \
  "\"expires\":1700086400,\"status\":\"pending\"}"

#define ICE_SERVERS \
  "[{\"urls\":[\"stun:192.0.2.1:3478\"]}," \
  "{\"urls\":[\"turn:192.0.2.1:3478?transport=udp\"],\"username\":\"1700086400:" U1 "\"," \
  "\"credential\":\"q1Fs\"}]"

static const FrameCase frame_cases[] = {
  /* Client to server */
  { NATTER_FRAME_AUTH, NATTER_FRAME_TO_SERVER,
    "{\"type\":\"auth\",\"id\":\"1\",\"user\":\"" U1 "\",\"server\":\"127.0.0.1:8443\",\"signature\":\""
    RFC8032_SIGNATURE_BASE64 "\"}" },
  { NATTER_FRAME_PING, NATTER_FRAME_TO_SERVER, "{\"type\":\"ping\",\"id\":\"5\"}" },
  { NATTER_FRAME_PING, NATTER_FRAME_TO_SERVER, "{\"type\":\"ping\"}" },
  { NATTER_FRAME_SUBSCRIBE, NATTER_FRAME_TO_SERVER,
    "{\"type\":\"subscribe\",\"id\":\"2\",\"users\":[\"" U1 "\",\"" U2 "\"]}" },
  { NATTER_FRAME_SUBSCRIBE, NATTER_FRAME_TO_SERVER,
    "{\"type\":\"subscribe\",\"id\":\"2\",\"users\":[]}" },
  { NATTER_FRAME_UNSUBSCRIBE, NATTER_FRAME_TO_SERVER,
    "{\"type\":\"unsubscribe\",\"id\":\"2\",\"users\":[\"" U2 "\"]}" },
  { NATTER_FRAME_SIGNAL, NATTER_FRAME_TO_SERVER,
    "{\"type\":\"signal\",\"to\":\"" U2 "\","
    "\"payload\":{\"type\":\"offer\",\"sdp\":\"v=0\\r\\n\"}}" },
  { NATTER_FRAME_SIGNAL, NATTER_FRAME_TO_SERVER,
    "{\"type\":\"signal\",\"to\":\"" U2 "\",\"payload\":{\"candidate\":\"candidate:1 1 UDP "
    "2122252543 127.0.0.1 40000 typ host\",\"sdpMid\":\"0\",\"sdpMLineIndex\":0}}" },
  { NATTER_FRAME_INVITE, NATTER_FRAME_TO_SERVER,
    "{\"type\":\"invite\",\"id\":\"3\",\"to\":\"" U2 "\",\"text\":\"Hi, it's Ana from the lab\"}" },
  { NATTER_FRAME_INVITE_ACCEPT, NATTER_FRAME_TO_SERVER,
    "{\"type\":\"invite-accept\",\"id\":\"4\","
    "\"invitation\":\"5f0c0a1b2c3d4e5f60718293a4b5c6d7\"}" },
  { NATTER_FRAME_INVITE_DECLINE, NATTER_FRAME_TO_SERVER,
    "{\"type\":\"invite-decline\",\"id\":\"4\","
    "\"invitation\":\"5f0c0a1b2c3d4e5f60718293a4b5c6d7\"}" },
  { NATTER_FRAME_INVITATIONS, NATTER_FRAME_TO_SERVER, "{\"type\":\"invitations\",\"id\":\"6\"}" },
  { NATTER_FRAME_HANDLE_REGISTER, NATTER_FRAME_TO_SERVER,
    "{\"type\":\"handle-register\",\"id\":\"7\",\"handle\":\"@ana\"}" },
  { NATTER_FRAME_HANDLE_LOOKUP, NATTER_FRAME_TO_SERVER,
    "{\"type\":\"handle-lookup\",\"id\":\"8\",\"handle\":\"ana\"}" },
  { NATTER_FRAME_HANDLE_RELEASE, NATTER_FRAME_TO_SERVER,
    "{\"type\":\"handle-release\",\"id\":\"9\",\"handle\":\"ana\"}" },
  { NATTER_FRAME_ROOM_JOIN, NATTER_FRAME_TO_SERVER,
    "{\"type\":\"room-join\",\"id\":\"10\",\"room\":\"lab-42\"}" },
  { NATTER_FRAME_ROOM_LEAVE, NATTER_FRAME_TO_SERVER,
    "{\"type\":\"room-leave\",\"id\":\"11\",\"room\":\"lab-42\"}" },
  { NATTER_FRAME_ROOM_MEMBERS, NATTER_FRAME_TO_SERVER,
    "{\"type\":\"room-members\",\"id\":\"12\",\"room\":\"lab-42\"}" },
  { NATTER_FRAME_ICE_CONFIG, NATTER_FRAME_TO_SERVER, "{\"type\":\"ice-config\",\"id\":\"13\"}" },

  /* Server to client */
  { NATTER_FRAME_HELLO, NATTER_FRAME_TO_CLIENT,
    "{\"type\":\"hello\",\"version\":1,"
    "\"nonce\":\"q83vEjRWeJA=EQIiM0RVZneImaq7zN3u/wARIjNEVWZ3iJk=\","
    "\"max_frame_size\":65536,\"auth_timeout_s\":10,\"server\":\"natter-server 0.1.0\"}" },
  { NATTER_FRAME_AUTH_OK, NATTER_FRAME_TO_CLIENT,
    "{\"type\":\"auth-ok\",\"ref\":\"1\",\"user\":\"" U1 "\",\"ice_servers\":" ICE_SERVERS ","
    "\"ice_ttl_s\":86400,\"heartbeat_s\":30}" },
  { NATTER_FRAME_PONG, NATTER_FRAME_TO_CLIENT, "{\"type\":\"pong\",\"ref\":\"5\"}" },
  { NATTER_FRAME_PRESENCE_LIST, NATTER_FRAME_TO_CLIENT,
    "{\"type\":\"presence-list\",\"ref\":\"2\",\"presence\":[{\"user\":\"" U1 "\",\"online\":true},"
    "{\"user\":\"" U2 "\",\"online\":false}]}" },
  { NATTER_FRAME_PRESENCE, NATTER_FRAME_TO_CLIENT,
    "{\"type\":\"presence\",\"user\":\"" U2 "\",\"online\":false}" },
  { NATTER_FRAME_SIGNAL, NATTER_FRAME_TO_CLIENT,
    "{\"type\":\"signal\",\"from\":\"" U1 "\","
    "\"payload\":{\"type\":\"answer\",\"sdp\":\"v=0\\r\\n\"}}" },
  { NATTER_FRAME_INVITE_SENT, NATTER_FRAME_TO_CLIENT,
    "{\"type\":\"invite-sent\",\"ref\":\"3\",\"invitation\":" INVITATION_OBJECT "}" },
  { NATTER_FRAME_INVITATION, NATTER_FRAME_TO_CLIENT,
    "{\"type\":\"invitation\",\"invitation\":" INVITATION_OBJECT "}" },
  { NATTER_FRAME_INVITATION_ANSWER, NATTER_FRAME_TO_CLIENT,
    "{\"type\":\"invitation-answer\",\"invitation\":" INVITATION_OBJECT "}" },
  { NATTER_FRAME_INVITATIONS, NATTER_FRAME_TO_CLIENT,
    "{\"type\":\"invitations\",\"ref\":\"6\","
    "\"incoming\":[" INVITATION_OBJECT "],\"outgoing\":[]}" },
  { NATTER_FRAME_HANDLE, NATTER_FRAME_TO_CLIENT,
    "{\"type\":\"handle\",\"ref\":\"7\",\"handle\":\"ana\",\"user\":\"" U1 "\"}" },
  { NATTER_FRAME_ROOM_MEMBERS, NATTER_FRAME_TO_CLIENT,
    "{\"type\":\"room-members\",\"ref\":\"10\",\"room\":\"lab-42\",\"members\":[\"" U1 "\"]}" },
  { NATTER_FRAME_ROOM_MEMBER_JOINED, NATTER_FRAME_TO_CLIENT,
    "{\"type\":\"room-member-joined\",\"room\":\"lab-42\",\"user\":\"" U2 "\"}" },
  { NATTER_FRAME_ROOM_MEMBER_LEFT, NATTER_FRAME_TO_CLIENT,
    "{\"type\":\"room-member-left\",\"room\":\"lab-42\",\"user\":\"" U2 "\"}" },
  { NATTER_FRAME_ICE_CONFIG, NATTER_FRAME_TO_CLIENT,
    "{\"type\":\"ice-config\",\"ref\":\"13\","
    "\"ice_servers\":" ICE_SERVERS ",\"ice_ttl_s\":86400}" },
  { NATTER_FRAME_OK, NATTER_FRAME_TO_CLIENT, "{\"type\":\"ok\",\"ref\":\"4\"}" },
  { NATTER_FRAME_ERROR, NATTER_FRAME_TO_CLIENT,
    "{\"type\":\"error\",\"code\":\"peer-offline\",\"message\":\"The peer is not connected\","
    "\"ref\":\"3\"}" },
};

static NatterFrame *
parse_ok (const char           *json,
          NatterFrameDirection  direction,
          NatterFrameType       expected_type)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *ref = NULL;
  g_autofree char *shown = g_strescape (json, NULL);
  NatterFrame *frame;

  g_test_message ("parsing %s", shown);
  frame = natter_frame_parse (json, strlen (json), direction,
                              NATTER_FRAME_DEFAULT_MAX_SIZE, &ref, &error);
  g_assert_no_error (error);
  g_assert_nonnull (frame);
  g_assert_cmpint (natter_frame_get_frame_type (frame), ==, expected_type);
  g_assert_nonnull (natter_frame_get_object (frame));

  return frame;
}

static void
assert_parse_fails_full (const char           *data,
                         gsize                 length,
                         NatterFrameDirection  direction,
                         gsize                 max_size,
                         NatterProtocolError   expected_code,
                         const char           *expected_ref)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NatterFrame) frame = NULL;
  g_autofree char *ref = NULL;
  g_autofree char *prefix = g_strndup (data, MIN (length, 200));
  g_autofree char *shown = g_strescape (prefix, NULL);

  g_test_message ("expecting %s (ref %s) from %s", error_codes[expected_code],
                  expected_ref ? expected_ref : "none", shown);

  frame = natter_frame_parse (data, length, direction, max_size, &ref, &error);
  g_assert_null (frame);
  g_assert_error (error, NATTER_PROTOCOL_ERROR, (int) expected_code);
  g_assert_nonnull (error->message);
  g_assert_cmpstr (ref, ==, expected_ref);
}

static void
assert_parse_fails (const char           *json,
                    NatterFrameDirection  direction,
                    NatterProtocolError   expected_code,
                    const char           *expected_ref)
{
  assert_parse_fails_full (json, strlen (json), direction, NATTER_FRAME_DEFAULT_MAX_SIZE,
                           expected_code, expected_ref);
}

static const char *
find_case (NatterFrameType      type,
           NatterFrameDirection direction)
{
  for (guint i = 0; i < G_N_ELEMENTS (frame_cases); i++)
    {
      if (frame_cases[i].type == type && frame_cases[i].direction == direction)
        return frame_cases[i].json;
    }

  g_assert_not_reached ();
}

static NatterFrame *
parse_case (NatterFrameType      type,
            NatterFrameDirection direction)
{
  return parse_ok (find_case (type, direction), direction, type);
}

static gboolean
is_both_directions (NatterFrameType type)
{
  return type >= NATTER_FRAME_SIGNAL && type <= NATTER_FRAME_ICE_CONFIG;
}

static void
test_frame_parse_all_types (void)
{
  gboolean seen[NATTER_FRAME_N_TYPES] = { FALSE, };

  for (guint i = 0; i < G_N_ELEMENTS (frame_cases); i++)
    {
      const FrameCase *c = &frame_cases[i];
      g_autoptr(NatterFrame) frame = parse_ok (c->json, c->direction, c->type);
      NatterFrameDirection other = c->direction == NATTER_FRAME_TO_SERVER
                                   ? NATTER_FRAME_TO_CLIENT : NATTER_FRAME_TO_SERVER;

      seen[c->type] = TRUE;

      /* The same frame in the other direction: a frame of the other side
       * (unknown-type) unless this type exists both ways, where it may only
       * fail because the other direction needs other members. */
      if (!is_both_directions (c->type))
        {
          JsonObject *object = natter_frame_get_object (frame);
          const char *ref_member = other == NATTER_FRAME_TO_SERVER ? "id" : "ref";
          const char *ref = NULL;

          /* The request's id is read from "id" by a server and from "ref"
           * by a client */
          if (json_object_has_member (object, ref_member))
            ref = json_object_get_string_member (object, ref_member);
          assert_parse_fails (c->json, other, NATTER_PROTOCOL_ERROR_UNKNOWN_TYPE, ref);
        }
    }

  for (guint type = NATTER_FRAME_INVALID + 1; type < NATTER_FRAME_N_TYPES; type++)
    {
      g_test_message ("frame type %s", frame_names[type]);
      g_assert_true (seen[type]);
    }
}

static void
test_frame_parse_members (void)
{
  g_autoptr(NatterFrame) subscribe = NULL;
  g_autoptr(NatterFrame) hello = NULL;
  g_autoptr(NatterFrame) presence = NULL;
  g_autoptr(NatterFrame) signal_in = NULL;
  g_autoptr(NatterFrame) signal_out = NULL;
  g_autoptr(NatterFrame) invitation = NULL;
  g_autoptr(NatterFrame) error_frame = NULL;
  g_autoptr(NatterFrame) ping = NULL;
  JsonArray *users;
  JsonObject *payload;
  JsonObject *invitation_object;
  NatterProtocolError code = NATTER_PROTOCOL_ERROR_INTERNAL;
  const char *message = NULL;

  subscribe = parse_case (NATTER_FRAME_SUBSCRIBE, NATTER_FRAME_TO_SERVER);
  g_assert_cmpstr (natter_frame_get_id (subscribe), ==, "2");
  g_assert_null (natter_frame_get_ref (subscribe));
  users = natter_frame_get_array (subscribe, "users");
  g_assert_nonnull (users);
  g_assert_cmpuint (json_array_get_length (users), ==, 2);
  g_assert_cmpstr (json_array_get_string_element (users, 0), ==, U1);
  g_assert_cmpstr (json_array_get_string_element (users, 1), ==, U2);
  g_assert_null (natter_frame_get_array (subscribe, "missing"));
  g_assert_null (natter_frame_get_string (subscribe, "users"));

  hello = parse_case (NATTER_FRAME_HELLO, NATTER_FRAME_TO_CLIENT);
  g_assert_null (natter_frame_get_id (hello));
  g_assert_cmpint (natter_frame_get_int (hello, "version", -1), ==, 1);
  g_assert_cmpint (natter_frame_get_int (hello, "max_frame_size", -1), ==, 65536);
  g_assert_cmpint (natter_frame_get_int (hello, "auth_timeout_s", -1), ==, 10);
  g_assert_cmpint (natter_frame_get_int (hello, "missing", -7), ==, -7);
  g_assert_cmpint (natter_frame_get_int (hello, "nonce", -7), ==, -7);
  g_assert_cmpstr (natter_frame_get_string (hello, "nonce"), ==,
                   "q83vEjRWeJA=EQIiM0RVZneImaq7zN3u/wARIjNEVWZ3iJk=");
  g_assert_cmpstr (natter_frame_get_string (hello, "server"), ==, "natter-server 0.1.0");
  g_assert_null (natter_frame_get_string (hello, "version"));

  presence = parse_case (NATTER_FRAME_PRESENCE, NATTER_FRAME_TO_CLIENT);
  g_assert_false (natter_frame_get_boolean (presence, "online", TRUE));
  g_assert_true (natter_frame_get_boolean (presence, "missing", TRUE));
  g_assert_cmpstr (natter_frame_get_string (presence, "user"), ==, U2);

  signal_out = parse_case (NATTER_FRAME_SIGNAL, NATTER_FRAME_TO_SERVER);
  g_assert_cmpstr (natter_frame_get_string (signal_out, "to"), ==, U2);
  payload = natter_frame_get_object_member (signal_out, "payload");
  g_assert_nonnull (payload);
  g_assert_cmpstr (json_object_get_string_member (payload, "type"), ==, "offer");
  g_assert_cmpstr (json_object_get_string_member (payload, "sdp"), ==, "v=0\r\n");
  g_assert_null (natter_frame_get_object_member (signal_out, "to"));

  /* A from member sent by a client is parsed like any unknown member:
   * the server sets the real one. */
  signal_in = parse_case (NATTER_FRAME_SIGNAL, NATTER_FRAME_TO_CLIENT);
  g_assert_cmpstr (natter_frame_get_string (signal_in, "from"), ==, U1);

  invitation = parse_case (NATTER_FRAME_INVITATION, NATTER_FRAME_TO_CLIENT);
  invitation_object = natter_frame_get_object_member (invitation, "invitation");
  g_assert_nonnull (invitation_object);
  g_assert_cmpint (json_object_get_int_member (invitation_object, "expires"), ==, 1700086400);

  error_frame = parse_case (NATTER_FRAME_ERROR, NATTER_FRAME_TO_CLIENT);
  g_assert_cmpstr (natter_frame_get_ref (error_frame), ==, "3");
  g_assert_true (natter_frame_get_error (error_frame, &code, &message));
  g_assert_cmpint (code, ==, NATTER_PROTOCOL_ERROR_PEER_OFFLINE);
  g_assert_cmpstr (message, ==, "The peer is not connected");
  g_assert_false (natter_frame_get_error (subscribe, &code, &message));

  /* Unknown members are ignored, whatever their type */
  ping = parse_ok ("{\"type\":\"ping\",\"id\":\"x\",\"later\":[1,{\"a\":null}],\"v2\":true}",
                   NATTER_FRAME_TO_SERVER, NATTER_FRAME_PING);
  g_assert_cmpstr (natter_frame_get_id (ping), ==, "x");
}

static void
test_frame_parse_bad_json (void)
{
  static const char *bad[] = {
    "",
    "{",
    "{\"type\":\"ping\"",
    "{\"type\":\"ping\",}",
    "{\"type\":\"ping\",\"x\":[1,]}",
    "{type:\"ping\"}",
    "{\"type\":\"ping\"}x",
    "{\"type\":\"ping\",\"id\":\"1\" \"x\":2}",
    "{\"type\":\"ping\",\"x\":NaN}",
    "{\"type\":\"ping\",\"x\":+1}",
    "{\"type\":\"ping\",\"x\":\"\\ud800\"}",
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    assert_parse_fails (bad[i], NATTER_FRAME_TO_SERVER, NATTER_PROTOCOL_ERROR_BAD_JSON, NULL);

  /* Not UTF-8: a stray byte, a truncated sequence, an overlong encoding,
   * an encoded surrogate, and Latin-1 text */
  assert_parse_fails ("{\"type\":\"ping\",\"id\":\"1\",\"x\":\"\xff\"}",
                      NATTER_FRAME_TO_SERVER, NATTER_PROTOCOL_ERROR_BAD_JSON, NULL);
  assert_parse_fails ("{\"type\":\"ping\",\"id\":\"1\",\"x\":\"\xc3\"}",
                      NATTER_FRAME_TO_SERVER, NATTER_PROTOCOL_ERROR_BAD_JSON, NULL);
  assert_parse_fails ("{\"type\":\"ping\",\"id\":\"1\",\"x\":\"\xc0\xaf\"}",
                      NATTER_FRAME_TO_SERVER, NATTER_PROTOCOL_ERROR_BAD_JSON, NULL);
  assert_parse_fails ("{\"type\":\"ping\",\"id\":\"1\",\"x\":\"\xed\xa0\x80\"}",
                      NATTER_FRAME_TO_SERVER, NATTER_PROTOCOL_ERROR_BAD_JSON, NULL);
  assert_parse_fails ("{\"type\":\"room-join\",\"id\":\"1\",\"room\":\"caf\xe9\"}",
                      NATTER_FRAME_TO_SERVER, NATTER_PROTOCOL_ERROR_BAD_JSON, NULL);

  /* Deep nesting in a payload the server would relay: refused with a typed
   * error instead of recursing through the stack */
  {
    g_autoptr(GString) deep = g_string_new ("{\"type\":\"signal\",\"to\":\"" U2 "\",\"payload\":");
    g_autoptr(NatterFrame) frame = NULL;
    g_autoptr(GError) error = NULL;

    for (guint i = 0; i < 20000; i++)
      g_string_append (deep, "{\"a\":");
    g_string_append (deep, "1");
    for (guint i = 0; i < 20000; i++)
      g_string_append_c (deep, '}');
    g_string_append_c (deep, '}');

    frame = natter_frame_parse (deep->str, deep->len, NATTER_FRAME_TO_SERVER, deep->len, NULL,
                                &error);
    g_assert_null (frame);
    g_assert_nonnull (error);
    g_assert_true (error->domain == NATTER_PROTOCOL_ERROR);
  }

  /* An embedded NUL inside the given length is not JSON text either */
  assert_parse_fails_full ("{\"type\":\"ping\"}\0{}", 18, NATTER_FRAME_TO_SERVER,
                           NATTER_FRAME_DEFAULT_MAX_SIZE,
                           NATTER_PROTOCOL_ERROR_BAD_JSON, NULL);
}

/* Text that RFC 8259 does not call JSON, or numbers that JSON cannot carry
 * through json-glib unchanged. docs/protocol.md asks for bad-json; while the
 * library accepts any of them this test is reported as TODO, not as a pass. */
static void
test_frame_parse_strict_json (void)
{
  static const struct
  {
    const char *json;
    const char *what;
  } cases[] = {
    { " ", "white space only" },
    { "{'type':'ping'}", "single quotes" },
    { "{\"a\":1} {\"type\":\"ping\"}", "two documents (json-glib leaks the first)" },
    { "/* c */ {\"type\":\"ping\"}", "a comment" },
    { "{\"type\":\"ping\",\"x\":\"\\x41\"}", "an unknown escape" },
    { "{\"type\":\"ping\",\"x\":\"a\tb\"}", "a raw control character" },
    { "{\"type\":\"ping\",\"x\":0x10}", "a hexadecimal number" },
    { "{\"type\":\"ping\",\"x\":01}", "a leading zero" },
    { "{\"type\":\"ping\",\"x\":.5}", "no digit before the point" },
    { "{\"type\":\"ping\",\"x\":1.}", "no digit after the point" },
    { "{\"type\":\"ping\",\"x\":1e400}", "a number beyond double (serialized as inf)" },
    { "{\"type\":\"ping\",\"x\":99999999999999999999}", "an integer beyond 64 bits (read as -1)" },
    { "{\"type\":\"ping\",\"x\":1e22}", "a double json-glib writes back as 1e+22.0" },
    { "{\"type\":\"ping\",\"x\":-1e100}", "a double json-glib writes back as -1e+100.0" },
    { "{\"type\":\"ping\",\"x\":\"a\\u0000b\"}", "a NUL escape (the string is cut)" },
    /* json-glib decodes these to invalid UTF-8, which the library then
     * serializes: a server would relay text frames that are not UTF-8 */
    { "{\"type\":\"ping\",\"x\":\"\\ud800x\"}", "a lone high surrogate (invalid UTF-8)" },
    { "{\"type\":\"ping\",\"\\udc00x\":1}", "a lone low surrogate in a name (invalid UTF-8)" },
  };
  g_autoptr(GString) accepted = g_string_new (NULL);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(NatterFrame) frame = NULL;

      frame = natter_frame_parse (cases[i].json, strlen (cases[i].json), NATTER_FRAME_TO_SERVER,
                                  NATTER_FRAME_DEFAULT_MAX_SIZE, NULL, &error);
      if (frame == NULL && g_error_matches (error, NATTER_PROTOCOL_ERROR,
                                            NATTER_PROTOCOL_ERROR_BAD_JSON))
        continue;

      g_test_message ("%s: %s (%s)", cases[i].what, frame != NULL ? "accepted" : "wrong code",
                      error != NULL ? error->message : "no error");
      g_string_append_printf (accepted, "%s%s", accepted->len > 0 ? ", " : "", cases[i].what);
    }

  if (accepted->len > 0)
    {
      g_autofree char *reason = g_strdup_printf ("not refused as bad-json: %s", accepted->str);

      g_test_incomplete (reason);
    }
}

/* Valid JSON numbers in members the protocol does not know (a signal
 * payload, say) must come out of the serializer as valid JSON again, or be
 * refused as bad-json. Should a number slip through that json-glib 1.6
 * writes back wrongly (it writes 1e22 as "1e+22.0"), this test is reported
 * as TODO, not as a pass. */
static void
test_frame_serialize_numbers (void)
{
  static const char *numbers[] = {
    "0", "-0", "1", "-1", "0.5", "-2.5e-3", "1.5", "3.14159",
    "9223372036854775807", "-9223372036854775808",
    "1.5e300", "1e-320",
    /* Integers beyond 64 bits and doubles such as 1e22, which json-glib
     * would write back as invalid JSON, are refused as bad-json: see
     * test_frame_parse_strict_json. */
  };
  g_autoptr(GString) broken = g_string_new (NULL);

  for (guint i = 0; i < G_N_ELEMENTS (numbers); i++)
    {
      g_autofree char *json = g_strdup_printf ("{\"type\":\"signal\",\"to\":\"" U2 "\","
                                               "\"payload\":{\"sdpMLineIndex\":%s}}",
                                               numbers[i]);
      g_autoptr(NatterFrame) frame = NULL;
      g_autoptr(NatterFrame) again = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree char *text = NULL;
      gsize length = 0;

      frame = natter_frame_parse (json, strlen (json), NATTER_FRAME_TO_SERVER,
                                  NATTER_FRAME_DEFAULT_MAX_SIZE, NULL, &error);
      if (frame == NULL)
        {
          g_test_message ("%s is refused: %s", numbers[i], error->message);
          g_assert_error (error, NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_BAD_JSON);
          continue;
        }

      text = natter_frame_to_string (frame, &length);
      again = natter_frame_parse (text, length, NATTER_FRAME_TO_SERVER,
                                  NATTER_FRAME_DEFAULT_MAX_SIZE, NULL, &error);
      if (again != NULL)
        continue;

      g_test_message ("%s is written as %s: %s", numbers[i], text, error->message);
      g_string_append_printf (broken, "%s%s", broken->len > 0 ? ", " : "", numbers[i]);
    }

  if (broken->len > 0)
    {
      g_autofree char *reason = g_strdup_printf ("serialized to invalid JSON: %s", broken->str);

      g_test_incomplete (reason);
    }
}

/* Every control character in a string must be written escaped: JSON text
 * with a raw one is invalid, and browsers refuse it. json-glib 1.6 writes
 * U+001F raw; while the library passes that on, this test is reported as
 * TODO, not as a pass. */
static void
test_frame_serialize_control_characters (void)
{
  g_autoptr(GString) broken = g_string_new (NULL);

  for (guint c = 0x01; c < 0x20; c++)
    {
      g_autoptr(NatterFrame) frame = natter_frame_new (NATTER_FRAME_SIGNAL);
      g_autoptr(NatterFrame) again = NULL;
      g_autoptr(GError) error = NULL;
      JsonObject *payload = json_object_new ();
      g_autofree char *value = g_strdup_printf ("a%cb", (char) c);
      g_autofree char *name = g_strdup_printf ("n%c", (char) c);
      g_autofree char *text = NULL;
      gsize length = 0;

      json_object_set_string_member (payload, "sdp", value);
      json_object_set_int_member (payload, name, 1);
      natter_frame_set_string (frame, "to", U2);
      natter_frame_take_object_member (frame, "payload", payload);

      text = natter_frame_to_string (frame, &length);
      again = natter_frame_parse (text, length, NATTER_FRAME_TO_SERVER,
                                  NATTER_FRAME_DEFAULT_MAX_SIZE, NULL, &error);
      if (again != NULL)
        {
          payload = natter_frame_get_object_member (again, "payload");
          g_assert_cmpstr (json_object_get_string_member (payload, "sdp"), ==, value);
          g_assert_true (json_object_has_member (payload, name));
          continue;
        }

      g_test_message ("U+%04X is written raw: %s", c, error->message);
      g_string_append_printf (broken, "%sU+%04X", broken->len > 0 ? ", " : "", c);
    }

  if (broken->len > 0)
    {
      g_autofree char *reason = g_strdup_printf ("written unescaped: %s", broken->str);

      g_test_incomplete (reason);
    }
}

static void
test_frame_parse_bad_frame (void)
{
  g_autofree char *id_max = g_strnfill (NATTER_FRAME_ID_MAX_LENGTH, 'i');
  g_autofree char *id_long = g_strnfill (NATTER_FRAME_ID_MAX_LENGTH + 1, 'i');
  g_autofree char *json = NULL;
  g_autoptr(NatterFrame) frame = NULL;

  /* Not an object */
  assert_parse_fails ("[]", NATTER_FRAME_TO_SERVER, NATTER_PROTOCOL_ERROR_BAD_FRAME, NULL);
  assert_parse_fails ("[{\"type\":\"ping\"}]", NATTER_FRAME_TO_SERVER,
                      NATTER_PROTOCOL_ERROR_BAD_FRAME, NULL);
  assert_parse_fails ("\"ping\"", NATTER_FRAME_TO_SERVER, NATTER_PROTOCOL_ERROR_BAD_FRAME, NULL);
  assert_parse_fails ("42", NATTER_FRAME_TO_SERVER, NATTER_PROTOCOL_ERROR_BAD_FRAME, NULL);
  assert_parse_fails ("null", NATTER_FRAME_TO_SERVER, NATTER_PROTOCOL_ERROR_BAD_FRAME, NULL);
  assert_parse_fails ("true", NATTER_FRAME_TO_CLIENT, NATTER_PROTOCOL_ERROR_BAD_FRAME, NULL);

  /* type missing or not a string; the id is still usable */
  assert_parse_fails ("{}", NATTER_FRAME_TO_SERVER, NATTER_PROTOCOL_ERROR_BAD_FRAME, NULL);
  assert_parse_fails ("{\"id\":\"7\"}", NATTER_FRAME_TO_SERVER,
                      NATTER_PROTOCOL_ERROR_BAD_FRAME, "7");
  assert_parse_fails ("{\"type\":1,\"id\":\"7\"}", NATTER_FRAME_TO_SERVER,
                      NATTER_PROTOCOL_ERROR_BAD_FRAME, "7");
  assert_parse_fails ("{\"type\":null,\"id\":\"7\"}", NATTER_FRAME_TO_SERVER,
                      NATTER_PROTOCOL_ERROR_BAD_FRAME, "7");
  assert_parse_fails ("{\"type\":[\"ping\"],\"id\":\"7\"}", NATTER_FRAME_TO_SERVER,
                      NATTER_PROTOCOL_ERROR_BAD_FRAME, "7");
  assert_parse_fails ("{\"type\":{},\"ref\":\"7\"}", NATTER_FRAME_TO_CLIENT,
                      NATTER_PROTOCOL_ERROR_BAD_FRAME, "7");

  /* id of the wrong type: an error, and no usable ref */
  assert_parse_fails ("{\"type\":\"ping\",\"id\":7}", NATTER_FRAME_TO_SERVER,
                      NATTER_PROTOCOL_ERROR_BAD_FRAME, NULL);
  assert_parse_fails ("{\"type\":\"ping\",\"id\":[\"7\"]}", NATTER_FRAME_TO_SERVER,
                      NATTER_PROTOCOL_ERROR_BAD_FRAME, NULL);

  /* id length: 64 bytes is fine, 65 is too long and not usable as a ref */
  json = g_strdup_printf ("{\"type\":\"ping\",\"id\":\"%s\"}", id_max);
  frame = parse_ok (json, NATTER_FRAME_TO_SERVER, NATTER_FRAME_PING);
  g_assert_cmpstr (natter_frame_get_id (frame), ==, id_max);
  g_clear_pointer (&json, g_free);
  json = g_strdup_printf ("{\"type\":\"ping\",\"id\":\"%s\"}", id_long);
  assert_parse_fails (json, NATTER_FRAME_TO_SERVER, NATTER_PROTOCOL_ERROR_BAD_FRAME, NULL);
  g_clear_pointer (&json, g_free);

  /* Required members missing or of the wrong type; the ref is filled */
  assert_parse_fails ("{\"type\":\"subscribe\",\"id\":\"2\"}", NATTER_FRAME_TO_SERVER,
                      NATTER_PROTOCOL_ERROR_BAD_FRAME, "2");
  assert_parse_fails ("{\"type\":\"subscribe\",\"id\":\"2\",\"users\":\"" U1 "\"}",
                      NATTER_FRAME_TO_SERVER, NATTER_PROTOCOL_ERROR_BAD_FRAME, "2");
  assert_parse_fails ("{\"type\":\"subscribe\",\"id\":\"2\",\"users\":[1]}",
                      NATTER_FRAME_TO_SERVER, NATTER_PROTOCOL_ERROR_BAD_FRAME, "2");
  assert_parse_fails ("{\"type\":\"subscribe\",\"id\":\"2\",\"users\":[[\"" U1 "\"]]}",
                      NATTER_FRAME_TO_SERVER, NATTER_PROTOCOL_ERROR_BAD_FRAME, "2");
  assert_parse_fails ("{\"type\":\"unsubscribe\",\"id\":\"2\",\"users\":{}}",
                      NATTER_FRAME_TO_SERVER, NATTER_PROTOCOL_ERROR_BAD_FRAME, "2");
  assert_parse_fails ("{\"type\":\"signal\",\"id\":\"s\",\"to\":\"" U2 "\"}",
                      NATTER_FRAME_TO_SERVER, NATTER_PROTOCOL_ERROR_BAD_FRAME, "s");
  assert_parse_fails ("{\"type\":\"signal\",\"id\":\"s\",\"to\":\"" U2 "\",\"payload\":\"sdp\"}",
                      NATTER_FRAME_TO_SERVER, NATTER_PROTOCOL_ERROR_BAD_FRAME, "s");
  assert_parse_fails ("{\"type\":\"signal\",\"id\":\"s\",\"to\":\"" U2 "\",\"payload\":[]}",
                      NATTER_FRAME_TO_SERVER, NATTER_PROTOCOL_ERROR_BAD_FRAME, "s");
  assert_parse_fails ("{\"type\":\"signal\",\"id\":\"s\",\"payload\":{}}",
                      NATTER_FRAME_TO_SERVER, NATTER_PROTOCOL_ERROR_BAD_FRAME, "s");
  assert_parse_fails ("{\"type\":\"signal\",\"id\":\"s\",\"to\":7,\"payload\":{}}",
                      NATTER_FRAME_TO_SERVER, NATTER_PROTOCOL_ERROR_BAD_FRAME, "s");
  assert_parse_fails ("{\"type\":\"auth\",\"id\":\"1\",\"user\":\"" U1 "\"}",
                      NATTER_FRAME_TO_SERVER, NATTER_PROTOCOL_ERROR_BAD_FRAME, "1");
  assert_parse_fails ("{\"type\":\"auth\",\"id\":\"1\",\"user\":\"" U1 "\",\"signature\":64}",
                      NATTER_FRAME_TO_SERVER, NATTER_PROTOCOL_ERROR_BAD_FRAME, "1");
  assert_parse_fails ("{\"type\":\"invite\",\"id\":\"3\",\"to\":\"" U2 "\",\"text\":5}",
                      NATTER_FRAME_TO_SERVER, NATTER_PROTOCOL_ERROR_BAD_FRAME, "3");
  assert_parse_fails ("{\"type\":\"invite-accept\",\"id\":\"4\"}",
                      NATTER_FRAME_TO_SERVER, NATTER_PROTOCOL_ERROR_BAD_FRAME, "4");
  assert_parse_fails ("{\"type\":\"invite-decline\",\"id\":\"4\",\"invitation\":{}}",
                      NATTER_FRAME_TO_SERVER, NATTER_PROTOCOL_ERROR_BAD_FRAME, "4");
  assert_parse_fails ("{\"type\":\"handle-register\",\"id\":\"7\"}",
                      NATTER_FRAME_TO_SERVER, NATTER_PROTOCOL_ERROR_BAD_FRAME, "7");
  assert_parse_fails ("{\"type\":\"handle-lookup\",\"id\":\"8\",\"handle\":[\"ana\"]}",
                      NATTER_FRAME_TO_SERVER, NATTER_PROTOCOL_ERROR_BAD_FRAME, "8");
  assert_parse_fails ("{\"type\":\"room-join\",\"id\":\"10\"}",
                      NATTER_FRAME_TO_SERVER, NATTER_PROTOCOL_ERROR_BAD_FRAME, "10");
  assert_parse_fails ("{\"type\":\"room-leave\",\"id\":\"11\",\"room\":42}",
                      NATTER_FRAME_TO_SERVER, NATTER_PROTOCOL_ERROR_BAD_FRAME, "11");
  assert_parse_fails ("{\"type\":\"presence\",\"user\":\"" U2 "\",\"online\":\"yes\"}",
                      NATTER_FRAME_TO_CLIENT, NATTER_PROTOCOL_ERROR_BAD_FRAME, NULL);
  assert_parse_fails ("{\"type\":\"hello\",\"version\":\"1\",\"nonce\":\"abc=\"}",
                      NATTER_FRAME_TO_CLIENT, NATTER_PROTOCOL_ERROR_BAD_FRAME, NULL);
  /* A client reads the ref of a reply */
  assert_parse_fails ("{\"type\":\"error\",\"code\":7,\"message\":\"x\",\"ref\":\"3\"}",
                      NATTER_FRAME_TO_CLIENT, NATTER_PROTOCOL_ERROR_BAD_FRAME, "3");
  assert_parse_fails ("{\"type\":\"signal\",\"from\":\"" U1 "\",\"payload\":null}",
                      NATTER_FRAME_TO_CLIENT, NATTER_PROTOCOL_ERROR_BAD_FRAME, NULL);
}

static void
test_frame_parse_text_length (void)
{
  g_autofree char *max = g_strnfill (NATTER_INVITATION_TEXT_MAX, 't');
  g_autofree char *too_long = g_strnfill (NATTER_INVITATION_TEXT_MAX + 1, 't');
  g_autoptr(GString) multibyte = g_string_new (NULL);
  g_autoptr(NatterFrame) frame = NULL;
  g_autofree char *json = NULL;

  json = g_strdup_printf ("{\"type\":\"invite\",\"id\":\"3\",\"to\":\"" U2 "\",\"text\":\"%s\"}",
                          max);
  frame = parse_ok (json, NATTER_FRAME_TO_SERVER, NATTER_FRAME_INVITE);
  g_assert_cmpstr (natter_frame_get_string (frame, "text"), ==, max);
  g_clear_pointer (&frame, natter_frame_unref);
  g_clear_pointer (&json, g_free);

  json = g_strdup_printf ("{\"type\":\"invite\",\"id\":\"3\",\"to\":\"" U2 "\",\"text\":\"%s\"}",
                          too_long);
  assert_parse_fails (json, NATTER_FRAME_TO_SERVER, NATTER_PROTOCOL_ERROR_BAD_FRAME, "3");
  g_clear_pointer (&json, g_free);

  /* The limit counts bytes: 250 × "é" fits, 251 do not */
  for (guint i = 0; i < NATTER_INVITATION_TEXT_MAX / 2; i++)
    g_string_append (multibyte, "\xc3\xa9");
  json = g_strdup_printf ("{\"type\":\"invite\",\"id\":\"3\",\"to\":\"" U2 "\",\"text\":\"%s\"}",
                          multibyte->str);
  frame = parse_ok (json, NATTER_FRAME_TO_SERVER, NATTER_FRAME_INVITE);
  g_clear_pointer (&frame, natter_frame_unref);
  g_clear_pointer (&json, g_free);

  g_string_append (multibyte, "\xc3\xa9");
  json = g_strdup_printf ("{\"type\":\"invite\",\"id\":\"3\",\"to\":\"" U2 "\",\"text\":\"%s\"}",
                          multibyte->str);
  assert_parse_fails (json, NATTER_FRAME_TO_SERVER, NATTER_PROTOCOL_ERROR_BAD_FRAME, "3");
}

static char *
subscribe_json (const char *type,
                guint       n_users)
{
  GString *json = g_string_new (NULL);

  g_string_append_printf (json, "{\"type\":\"%s\",\"id\":\"many\",\"users\":[", type);
  for (guint i = 0; i < n_users; i++)
    {
      g_autofree char *user_id = user_id_for_index (i);

      g_string_append_printf (json, "%s\"%s\"", i > 0 ? "," : "", user_id);
    }
  g_string_append (json, "]}");

  return g_string_free (json, FALSE);
}

static void
test_frame_parse_too_many_users (void)
{
  g_autofree char *max = subscribe_json ("subscribe", NATTER_SUBSCRIPTIONS_MAX);
  g_autofree char *too_many = subscribe_json ("subscribe", NATTER_SUBSCRIPTIONS_MAX + 1);
  g_autofree char *too_many_unsubscribe = subscribe_json ("unsubscribe",
                                                          NATTER_SUBSCRIPTIONS_MAX + 1);
  g_autoptr(NatterFrame) frame = NULL;
  g_autoptr(GError) error = NULL;

  /* Both fit in the default frame size, so the count is what is refused */
  g_assert_cmpuint (strlen (too_many), <, NATTER_FRAME_DEFAULT_MAX_SIZE);

  frame = natter_frame_parse (max, strlen (max), NATTER_FRAME_TO_SERVER,
                              NATTER_FRAME_DEFAULT_MAX_SIZE, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (json_array_get_length (natter_frame_get_array (frame, "users")), ==,
                    NATTER_SUBSCRIPTIONS_MAX);

  /* docs/protocol.md: one frame may list at most 1000 users (limit-exceeded) */
  assert_parse_fails (too_many, NATTER_FRAME_TO_SERVER, NATTER_PROTOCOL_ERROR_LIMIT_EXCEEDED,
                      "many");
  assert_parse_fails (too_many_unsubscribe, NATTER_FRAME_TO_SERVER,
                      NATTER_PROTOCOL_ERROR_LIMIT_EXCEEDED, "many");
}

static void
test_frame_parse_unknown_type (void)
{
  assert_parse_fails ("{\"type\":\"nope\",\"id\":\"9\"}", NATTER_FRAME_TO_SERVER,
                      NATTER_PROTOCOL_ERROR_UNKNOWN_TYPE, "9");
  assert_parse_fails ("{\"type\":\"nope\"}", NATTER_FRAME_TO_CLIENT,
                      NATTER_PROTOCOL_ERROR_UNKNOWN_TYPE, NULL);
  assert_parse_fails ("{\"type\":\"\",\"id\":\"9\"}", NATTER_FRAME_TO_SERVER,
                      NATTER_PROTOCOL_ERROR_UNKNOWN_TYPE, "9");
  assert_parse_fails ("{\"type\":\"PING\",\"id\":\"9\"}", NATTER_FRAME_TO_SERVER,
                      NATTER_PROTOCOL_ERROR_UNKNOWN_TYPE, "9");
  assert_parse_fails ("{\"type\":\"ping \",\"id\":\"9\"}", NATTER_FRAME_TO_SERVER,
                      NATTER_PROTOCOL_ERROR_UNKNOWN_TYPE, "9");

  /* Server-only frames sent to the server, client-only frames sent to a client */
  assert_parse_fails ("{\"type\":\"error\",\"id\":\"9\",\"code\":\"internal\",\"message\":\"x\"}",
                      NATTER_FRAME_TO_SERVER, NATTER_PROTOCOL_ERROR_UNKNOWN_TYPE, "9");
  assert_parse_fails ("{\"type\":\"ok\",\"id\":\"9\"}", NATTER_FRAME_TO_SERVER,
                      NATTER_PROTOCOL_ERROR_UNKNOWN_TYPE, "9");
  assert_parse_fails ("{\"type\":\"ping\",\"ref\":\"9\"}", NATTER_FRAME_TO_CLIENT,
                      NATTER_PROTOCOL_ERROR_UNKNOWN_TYPE, "9");
  assert_parse_fails ("{\"type\":\"ping\",\"id\":\"9\"}", NATTER_FRAME_TO_CLIENT,
                      NATTER_PROTOCOL_ERROR_UNKNOWN_TYPE, NULL);

  /* An unknown type wins over members that would be wrong for a known one */
  assert_parse_fails ("{\"type\":\"later\",\"id\":\"9\",\"users\":7}", NATTER_FRAME_TO_SERVER,
                      NATTER_PROTOCOL_ERROR_UNKNOWN_TYPE, "9");
}

static void
test_frame_parse_too_large (void)
{
  const gsize max_size = 64;
  g_autoptr(GString) json = g_string_new ("{\"type\":\"ping\",\"id\":\"big\"}");
  g_autoptr(NatterFrame) frame = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *huge = NULL;

  /* Exactly max_size bytes is fine (white space is still JSON) */
  while (json->len < max_size)
    g_string_append_c (json, ' ');
  frame = natter_frame_parse (json->str, json->len, NATTER_FRAME_TO_SERVER, max_size,
                              NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (natter_frame_get_frame_type (frame), ==, NATTER_FRAME_PING);

  g_string_append_c (json, ' ');
  assert_parse_fails_full (json->str, json->len, NATTER_FRAME_TO_SERVER, max_size,
                           NATTER_PROTOCOL_ERROR_FRAME_TOO_LARGE, NULL);

  /* The size is checked before the JSON: garbage that is too big is too big */
  huge = g_strnfill (NATTER_FRAME_DEFAULT_MAX_SIZE + 1, '{');
  assert_parse_fails_full (huge, NATTER_FRAME_DEFAULT_MAX_SIZE + 1, NATTER_FRAME_TO_SERVER,
                           NATTER_FRAME_DEFAULT_MAX_SIZE,
                           NATTER_PROTOCOL_ERROR_FRAME_TOO_LARGE, NULL);
  assert_parse_fails_full (huge, NATTER_FRAME_DEFAULT_MAX_SIZE + 1, NATTER_FRAME_TO_CLIENT,
                           NATTER_FRAME_DEFAULT_MAX_SIZE,
                           NATTER_PROTOCOL_ERROR_FRAME_TOO_LARGE, NULL);
}

static void
test_frame_parse_invalid_values (void)
{
  g_autofree char *broken_id = change_character (U2, 40);
  g_autofree char *json = NULL;
  g_autofree char *room_long = g_strnfill (65, 'r');

  /* invalid-user */
  json = g_strdup_printf ("{\"type\":\"subscribe\",\"id\":\"2\",\"users\":[\"" U1 "\",\"%s\"]}",
                          broken_id);
  assert_parse_fails (json, NATTER_FRAME_TO_SERVER, NATTER_PROTOCOL_ERROR_INVALID_USER, "2");
  g_clear_pointer (&json, g_free);

  json = g_strdup_printf ("{\"type\":\"signal\",\"id\":\"s\",\"to\":\"%s\",\"payload\":{}}",
                          broken_id);
  assert_parse_fails (json, NATTER_FRAME_TO_SERVER, NATTER_PROTOCOL_ERROR_INVALID_USER, "s");
  g_clear_pointer (&json, g_free);

  json = g_strdup_printf ("{\"type\":\"invite\",\"id\":\"3\",\"to\":\"%s\",\"text\":\"hi\"}",
                          broken_id);
  assert_parse_fails (json, NATTER_FRAME_TO_SERVER, NATTER_PROTOCOL_ERROR_INVALID_USER, "3");
  g_clear_pointer (&json, g_free);

  assert_parse_fails ("{\"type\":\"unsubscribe\",\"id\":\"2\",\"users\":[\"ana\"]}",
                      NATTER_FRAME_TO_SERVER, NATTER_PROTOCOL_ERROR_INVALID_USER, "2");
  assert_parse_fails ("{\"type\":\"signal\",\"to\":\"\",\"payload\":{}}",
                      NATTER_FRAME_TO_SERVER, NATTER_PROTOCOL_ERROR_INVALID_USER, NULL);

  /* invalid-handle */
  assert_parse_fails ("{\"type\":\"handle-register\",\"id\":\"7\",\"handle\":\"@a\"}",
                      NATTER_FRAME_TO_SERVER, NATTER_PROTOCOL_ERROR_INVALID_HANDLE, "7");
  assert_parse_fails ("{\"type\":\"handle-lookup\",\"id\":\"8\",\"handle\":\"_ana\"}",
                      NATTER_FRAME_TO_SERVER, NATTER_PROTOCOL_ERROR_INVALID_HANDLE, "8");
  assert_parse_fails ("{\"type\":\"handle-release\",\"id\":\"9\",\"handle\":\"an a\"}",
                      NATTER_FRAME_TO_SERVER, NATTER_PROTOCOL_ERROR_INVALID_HANDLE, "9");

  /* invalid-room */
  assert_parse_fails ("{\"type\":\"room-join\",\"id\":\"10\",\"room\":\"\"}",
                      NATTER_FRAME_TO_SERVER, NATTER_PROTOCOL_ERROR_INVALID_ROOM, "10");
  assert_parse_fails ("{\"type\":\"room-leave\",\"id\":\"11\",\"room\":\"lab\\n42\"}",
                      NATTER_FRAME_TO_SERVER, NATTER_PROTOCOL_ERROR_INVALID_ROOM, "11");
  json = g_strdup_printf ("{\"type\":\"room-members\",\"id\":\"12\",\"room\":\"%s\"}", room_long);
  assert_parse_fails (json, NATTER_FRAME_TO_SERVER, NATTER_PROTOCOL_ERROR_INVALID_ROOM, "12");
}

/* Serialization */

static void
assert_round_trip (NatterFrame          *frame,
                   NatterFrameDirection  direction)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NatterFrame) again = NULL;
  g_autofree char *text = NULL;
  g_autofree char *text_again = NULL;
  g_autoptr(JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  g_autoptr(JsonNode) node_again = json_node_new (JSON_NODE_OBJECT);
  gsize length = 0;

  text = natter_frame_to_string (frame, &length);
  g_assert_nonnull (text);
  g_assert_cmpuint (length, ==, strlen (text));
  g_assert_true (g_utf8_validate (text, length, NULL));

  again = natter_frame_parse (text, length, direction, NATTER_FRAME_DEFAULT_MAX_SIZE, NULL,
                              &error);
  g_assert_no_error (error);
  g_assert_cmpint (natter_frame_get_frame_type (again), ==, natter_frame_get_frame_type (frame));

  json_node_set_object (node, natter_frame_get_object (frame));
  json_node_set_object (node_again, natter_frame_get_object (again));
  g_assert_true (json_node_equal (node, node_again));

  text_again = natter_frame_to_string (again, NULL);
  g_assert_cmpstr (text_again, ==, text);
}

static void
test_frame_round_trip_parsed (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (frame_cases); i++)
    {
      const FrameCase *c = &frame_cases[i];
      g_autoptr(NatterFrame) frame = parse_ok (c->json, c->direction, c->type);

      assert_round_trip (frame, c->direction);
    }
}

static void
test_frame_round_trip_built (void)
{
  g_autoptr(NatterFrame) subscribe = natter_frame_new (NATTER_FRAME_SUBSCRIBE);
  g_autoptr(NatterFrame) presence = natter_frame_new (NATTER_FRAME_PRESENCE);
  g_autoptr(NatterFrame) signal = natter_frame_new (NATTER_FRAME_SIGNAL);
  g_autoptr(NatterFrame) parsed = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  JsonArray *users = json_array_new ();
  JsonObject *payload = json_object_new ();
  gsize length = 0;

  g_assert_cmpint (natter_frame_get_frame_type (subscribe), ==, NATTER_FRAME_SUBSCRIBE);
  g_assert_cmpstr (json_object_get_string_member (natter_frame_get_object (subscribe), "type"),
                   ==, "subscribe");

  json_array_add_string_element (users, U1);
  json_array_add_string_element (users, U2);
  natter_frame_set_id (subscribe, "42");
  natter_frame_take_array (subscribe, "users", users);
  g_assert_cmpstr (natter_frame_get_id (subscribe), ==, "42");
  assert_round_trip (subscribe, NATTER_FRAME_TO_SERVER);

  text = natter_frame_to_string (subscribe, &length);
  parsed = natter_frame_parse (text, length, NATTER_FRAME_TO_SERVER,
                               NATTER_FRAME_DEFAULT_MAX_SIZE, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (natter_frame_get_id (parsed), ==, "42");
  g_assert_cmpuint (json_array_get_length (natter_frame_get_array (parsed, "users")), ==, 2);

  natter_frame_set_string (presence, "user", U2);
  natter_frame_set_boolean (presence, "online", TRUE);
  g_assert_true (natter_frame_get_boolean (presence, "online", FALSE));
  natter_frame_set_boolean (presence, "online", FALSE);
  g_assert_false (natter_frame_get_boolean (presence, "online", TRUE));
  assert_round_trip (presence, NATTER_FRAME_TO_CLIENT);

  /* Payloads with quotes, control characters and non-ASCII text survive */
  json_object_set_string_member (payload, "type", "offer");
  json_object_set_string_member (payload, "sdp",
                                 "v=0\r\no=- \"q\" \\ \t caf\xc3\xa9 \xf0\x9f\x98\x80\r\n");
  json_object_set_int_member (payload, "sdpMLineIndex", 0);
  natter_frame_set_string (signal, "to", U1);
  natter_frame_take_object_member (signal, "payload", payload);
  natter_frame_set_int (signal, "extra", G_GINT64_CONSTANT (1) << 53);
  g_assert_cmpint (natter_frame_get_int (signal, "extra", 0), ==, G_GINT64_CONSTANT (1) << 53);
  assert_round_trip (signal, NATTER_FRAME_TO_SERVER);

  /* Replacing a member keeps one member */
  natter_frame_set_string (signal, "to", U2);
  g_assert_cmpstr (natter_frame_get_string (signal, "to"), ==, U2);
  natter_frame_set_ref (presence, "r1");
  g_assert_cmpstr (natter_frame_get_ref (presence), ==, "r1");
  natter_frame_set_ref (presence, "r2");
  g_assert_cmpstr (natter_frame_get_ref (presence), ==, "r2");
}

static void
test_frame_ref_counting (void)
{
  NatterFrame *frame = natter_frame_new (NATTER_FRAME_PING);
  NatterFrame *second = natter_frame_ref (frame);
  GType type = natter_frame_get_type ();

  g_assert_true (frame == second);
  g_assert_true (G_TYPE_IS_BOXED (type));
  natter_frame_unref (second);
  g_assert_cmpint (natter_frame_get_frame_type (frame), ==, NATTER_FRAME_PING);

  /* The boxed type copies by reference */
  second = g_boxed_copy (type, frame);
  g_assert_true (second == frame);
  g_boxed_free (type, second);
  natter_frame_unref (frame);
}

static void
test_frame_error_frames (void)
{
  for (guint i = 0; i < NATTER_PROTOCOL_N_ERRORS; i++)
    {
      g_autoptr(NatterFrame) frame = NULL;
      g_autoptr(NatterFrame) parsed = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree char *text = NULL;
      g_autofree char *ref = g_strdup_printf ("r%u", i);
      NatterProtocolError code = NATTER_PROTOCOL_ERROR_INTERNAL;
      const char *message = NULL;
      gsize length = 0;

      frame = natter_frame_new_error (i, ref, "Something \"went\" wrong");
      g_assert_cmpint (natter_frame_get_frame_type (frame), ==, NATTER_FRAME_ERROR);
      g_assert_cmpstr (natter_frame_get_ref (frame), ==, ref);
      g_assert_cmpstr (natter_frame_get_string (frame, "code"), ==, error_codes[i]);

      text = natter_frame_to_string (frame, &length);
      parsed = natter_frame_parse (text, length, NATTER_FRAME_TO_CLIENT,
                                   NATTER_FRAME_DEFAULT_MAX_SIZE, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpint (natter_frame_get_frame_type (parsed), ==, NATTER_FRAME_ERROR);
      g_assert_true (natter_frame_get_error (parsed, &code, &message));
      g_assert_cmpint (code, ==, i);
      g_assert_cmpstr (message, ==, "Something \"went\" wrong");
      g_assert_cmpstr (natter_frame_get_ref (parsed), ==, ref);

      /* A client never sends an error frame */
      g_clear_pointer (&parsed, natter_frame_unref);
      parsed = natter_frame_parse (text, length, NATTER_FRAME_TO_SERVER,
                                   NATTER_FRAME_DEFAULT_MAX_SIZE, NULL, &error);
      g_assert_null (parsed);
      g_assert_error (error, NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_UNKNOWN_TYPE);
    }

  /* Without a ref there is no ref member */
  {
    g_autoptr(NatterFrame) frame = natter_frame_new_error (NATTER_PROTOCOL_ERROR_BAD_JSON, NULL,
                                                           "Not JSON");
    JsonObject *object = natter_frame_get_object (frame);

    g_assert_null (natter_frame_get_ref (frame));
    g_assert_false (json_object_has_member (object, "ref"));
    g_assert_cmpstr (json_object_get_string_member (object, "code"), ==, "bad-json");
    g_assert_cmpstr (json_object_get_string_member (object, "message"), ==, "Not JSON");
    assert_round_trip (frame, NATTER_FRAME_TO_CLIENT);
  }
}

static void
test_frame_parse_error_to_reply (void)
{
  /* What a server does with a parse failure: answer with the code and ref */
  static const char input[] = "{\"type\":\"room-join\",\"id\":\"r-1\",\"room\":\"\"}";
  g_autoptr(GError) error = NULL;
  g_autoptr(NatterFrame) frame = NULL;
  g_autoptr(NatterFrame) reply = NULL;
  g_autofree char *ref = NULL;
  NatterProtocolError code = NATTER_PROTOCOL_ERROR_INTERNAL;
  const char *message = NULL;

  frame = natter_frame_parse (input, strlen (input), NATTER_FRAME_TO_SERVER,
                              NATTER_FRAME_DEFAULT_MAX_SIZE, &ref, &error);
  g_assert_null (frame);
  g_assert_nonnull (error);
  g_assert_true (error->domain == NATTER_PROTOCOL_ERROR);

  reply = natter_frame_new_error (error->code, ref, error->message);
  g_assert_true (natter_frame_get_error (reply, &code, &message));
  g_assert_cmpint (code, ==, NATTER_PROTOCOL_ERROR_INVALID_ROOM);
  g_assert_cmpstr (natter_frame_get_ref (reply), ==, "r-1");
  g_assert_cmpstr (message, ==, error->message);
}

static void
test_ice_servers (void)
{
  g_autoptr(JsonNode) node = NULL;
  g_autofree char *stun = NULL;
  g_auto(GStrv) turn = NULL;

  node = json_from_string ("["
                           " { \"urls\": \"stun:192.0.2.1\" },"
                           " { \"urls\": [\"stun:192.0.2.9:3478\"] },"
                           " { \"urls\": [\"turn:192.0.2.1:3479?transport=udp\","
                           "              \"turn:turn.example.org:3478\","
                           "              \"turns:[2001:db8::1]\"],"
                           "   \"username\": \"1700086400:abc\", \"credential\": \"q1F+s/=\" },"
                           " { \"urls\": \"turn:192.0.2.2\" },"
                           " { \"urls\": 5 }, 7"
                           "]", NULL);
  g_assert_nonnull (node);

  natter_ice_servers_to_uris (json_node_get_array (node), &stun, &turn);
  g_assert_cmpstr (stun, ==, "stun://192.0.2.1:3478");
  g_assert_cmpuint (g_strv_length (turn), ==, 2);
  g_assert_cmpstr (turn[0], ==,
                   "turn://1700086400%3Aabc:q1F%2Bs%2F%3D@192.0.2.1:3479?transport=udp");
  g_assert_cmpstr (turn[1], ==, "turns://1700086400%3Aabc:q1F%2Bs%2F%3D@[2001:db8::1]:5349");

  g_clear_pointer (&stun, g_free);
  g_clear_pointer (&turn, g_strfreev);
  natter_ice_servers_to_uris (NULL, &stun, &turn);
  g_assert_null (stun);
  g_assert_cmpuint (g_strv_length (turn), ==, 0);
}

/* What the parser refuses or skips, and the defaults it fills in */
static void
test_ice_servers_edge_cases (void)
{
  g_autoptr(JsonNode) node = NULL;
  g_autofree char *stun = NULL;
  g_auto(GStrv) turn = NULL;

  node = json_from_string ("["
                           " { \"urls\": \"stun:stun.example.org\" },"
                           " { \"urls\": \"stun:192.0.2.3:0\" },"
                           " { \"urls\": \"stun:192.0.2.3:70000\" },"
                           " { \"urls\": \"stun:[2001:db8::5\" },"
                           " { \"urls\": \"stun:[2001:db8::5]x\" },"
                           " { \"urls\": \"stun:[2001:db8::5]:3479\" },"
                           " { \"urls\": \"stun:192.0.2.4\" },"
                           " { \"urls\": \"turn:192.0.2.5\", \"username\": \"u\" },"
                           " { \"urls\": \"turn:192.0.2.6?transport=sctp\","
                           "   \"username\": \"u\", \"credential\": \"p\" },"
                           " { \"urls\": [\"http://192.0.2.7\", 3, \"turns:192.0.2.8:443?transport=tcp\"],"
                           "   \"username\": \"u@x\", \"credential\": \"p w\" },"
                           " { \"username\": \"u\" }"
                           "]", NULL);
  g_assert_nonnull (node);

  natter_ice_servers_to_uris (json_node_get_array (node), &stun, &turn);
  /* The first usable STUN server only; names, port 0 and ports above
   * 65535, and broken brackets are skipped */
  g_assert_cmpstr (stun, ==, "stun://[2001:db8::5]:3479");
  /* TURN needs both user name and password; an unknown transport is left out */
  g_assert_cmpuint (g_strv_length (turn), ==, 2);
  g_assert_cmpstr (turn[0], ==, "turn://u:p@192.0.2.6:3478");
  g_assert_cmpstr (turn[1], ==, "turns://u%40x:p%20w@192.0.2.8:443?transport=tcp");
}

/* Call envelopes: every action parses; an unknown action, an empty or long
 * call ID or one with other characters than a UUID's, or members of the
 * wrong type do not */
static void
test_envelope_call (void)
{
  static const char *const good[] = {
    "{\"type\":\"call\",\"call\":\"c1\",\"action\":\"invite\",\"video\":true}",
    "{\"type\":\"call\",\"call\":\"c1\",\"action\":\"ringing\"}",
    "{\"type\":\"call\",\"call\":\"c1\",\"action\":\"accept\"}",
    "{\"type\":\"call\",\"call\":\"c1\",\"action\":\"decline\"}",
    "{\"type\":\"call\",\"call\":\"c1\",\"action\":\"busy\"}",
    "{\"type\":\"call\",\"call\":\"c1\",\"action\":\"hangup\",\"reason\":\"timeout\"}",
    "{\"type\":\"call\",\"call\":\"c1\",\"action\":\"media\",\"audio\":false,\"video\":true}",
  };
  static const char *const bad[] = {
    "{\"type\":\"call\",\"call\":\"c1\",\"action\":\"dance\"}",
    "{\"type\":\"call\",\"call\":\"\",\"action\":\"invite\"}",
    "{\"type\":\"call\",\"action\":\"invite\"}",
    "{\"type\":\"call\",\"call\":\"c1\"}",
    "{\"type\":\"call\",\"call\":7,\"action\":\"invite\"}",
    "{\"type\":\"call\",\"call\":\"c1\",\"action\":\"invite\",\"video\":\"yes\"}",
    "{\"type\":\"call\",\"call\":\"c1\",\"action\":\"hangup\",\"reason\":3}",
    "{\"type\":\"call\",\"call\":\"c\\u001b[2J\",\"action\":\"accept\"}",
    "{\"type\":\"call\",\"call\":\"c 1\",\"action\":\"accept\"}",
    "{\"type\":\"call\",\"call\":\"c/../1\",\"action\":\"accept\"}",
  };
  g_autofree char *long_id = g_strnfill (NATTER_CALL_ID_MAX + 1, 'x');
  g_autofree char *too_long = g_strdup_printf ("{\"type\":\"call\",\"call\":\"%s\","
                                               "\"action\":\"accept\"}", long_id);
  g_autofree char *built = natter_envelope_new_call ("c2", "ringing", NULL);
  g_autoptr(JsonObject) parsed = NULL;
  g_autoptr(GError) error = NULL;
  NatterEnvelopeType type;

  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autoptr(JsonObject) envelope = natter_envelope_parse (good[i], strlen (good[i]), &type,
                                                              &error);

      g_assert_no_error (error);
      g_assert_nonnull (envelope);
      g_assert_cmpint (type, ==, NATTER_ENVELOPE_CALL);
    }

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(JsonObject) envelope = natter_envelope_parse (bad[i], strlen (bad[i]), &type,
                                                              &error);

      g_assert_null (envelope);
      g_assert_error (error, NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_BAD_FRAME);
      g_assert_cmpint (type, ==, NATTER_ENVELOPE_INVALID);
      g_clear_error (&error);
    }

  g_assert_null (natter_envelope_parse (too_long, strlen (too_long), &type, &error));
  g_assert_error (error, NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_BAD_FRAME);
  g_clear_error (&error);

  parsed = natter_envelope_parse (built, strlen (built), &type, &error);
  g_assert_no_error (error);
  g_assert_cmpint (type, ==, NATTER_ENVELOPE_CALL);
  g_assert_cmpstr (json_object_get_string_member (parsed, "call"), ==, "c2");
  g_assert_cmpstr (json_object_get_string_member (parsed, "action"), ==, "ringing");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_assert_true (natter_protocol_init ());

  g_test_add_func ("/Natter/Protocol/IceServers/uris", test_ice_servers);
  g_test_add_func ("/Natter/Protocol/IceServers/edge-cases", test_ice_servers_edge_cases);
  g_test_add_func ("/Natter/Protocol/UserId/known-answer", test_user_id_known_answer);
  g_test_add_func ("/Natter/Protocol/UserId/round-trip", test_user_id_round_trip);
  g_test_add_func ("/Natter/Protocol/UserId/normalize", test_user_id_normalize);
  g_test_add_func ("/Natter/Protocol/UserId/checksum", test_user_id_checksum);
  g_test_add_func ("/Natter/Protocol/UserId/syntax", test_user_id_syntax);
  g_test_add_func ("/Natter/Protocol/UserId/short", test_user_id_short);
  g_test_add_func ("/Natter/Protocol/Handle/syntax", test_handle);
  g_test_add_func ("/Natter/Protocol/Room/name", test_room_name);
  g_test_add_func ("/Natter/Protocol/Signature/known-answer", test_signature_known_answer);
  g_test_add_func ("/Natter/Protocol/Signature/tampered", test_signature_tampered);
  g_test_add_func ("/Natter/Protocol/Signature/from-seed", test_keypair_from_seed);
  g_test_add_func ("/Natter/Protocol/Signature/random", test_random_and_zero);
  g_test_add_func ("/Natter/Protocol/Auth/nonce", test_auth_nonce);
  g_test_add_func ("/Natter/Protocol/Auth/message", test_auth_message);
  g_test_add_func ("/Natter/Protocol/Auth/sign", test_auth_sign);
  g_test_add_func ("/Natter/Protocol/Auth/server-name", test_auth_server_name);
  g_test_add_func ("/Natter/Protocol/Auth/vector", test_auth_vector);
  g_test_add_func ("/Natter/Protocol/Turn/credentials", test_turn_credentials);
  g_test_add_func ("/Natter/Protocol/Error/codes", test_error_codes);
  g_test_add_func ("/Natter/Protocol/Frame/type-names", test_frame_type_names);
  g_test_add_func ("/Natter/Protocol/Frame/parse-all-types", test_frame_parse_all_types);
  g_test_add_func ("/Natter/Protocol/Frame/parse-members", test_frame_parse_members);
  g_test_add_func ("/Natter/Protocol/Frame/bad-json", test_frame_parse_bad_json);
  g_test_add_func ("/Natter/Protocol/Frame/strict-json", test_frame_parse_strict_json);
  g_test_add_func ("/Natter/Protocol/Frame/serialize-numbers", test_frame_serialize_numbers);
  g_test_add_func ("/Natter/Protocol/Frame/serialize-control-characters",
                   test_frame_serialize_control_characters);
  g_test_add_func ("/Natter/Protocol/Frame/bad-frame", test_frame_parse_bad_frame);
  g_test_add_func ("/Natter/Protocol/Frame/text-length", test_frame_parse_text_length);
  g_test_add_func ("/Natter/Protocol/Frame/too-many-users", test_frame_parse_too_many_users);
  g_test_add_func ("/Natter/Protocol/Frame/unknown-type", test_frame_parse_unknown_type);
  g_test_add_func ("/Natter/Protocol/Frame/too-large", test_frame_parse_too_large);
  g_test_add_func ("/Natter/Protocol/Frame/invalid-values", test_frame_parse_invalid_values);
  g_test_add_func ("/Natter/Protocol/Frame/round-trip-parsed", test_frame_round_trip_parsed);
  g_test_add_func ("/Natter/Protocol/Frame/round-trip-built", test_frame_round_trip_built);
  g_test_add_func ("/Natter/Protocol/Frame/ref-counting", test_frame_ref_counting);
  g_test_add_func ("/Natter/Protocol/Frame/error-frames", test_frame_error_frames);
  g_test_add_func ("/Natter/Protocol/Frame/error-to-reply", test_frame_parse_error_to_reply);
  g_test_add_func ("/Natter/Protocol/Envelope/call", test_envelope_call);

  return g_test_run ();
}
