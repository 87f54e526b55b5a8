/* natter-user-id.c: the text form of an Ed25519 public key, handles, rooms
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "natter-protocol"

#include "config.h"

#include <string.h>

#include "natter-protocol-error.h"
#include "natter-user-id.h"

/* id = base32 (public_key || checksum), see docs/protocol.md */
#define CHECKSUM_SIZE 3
#define PAYLOAD_SIZE  (NATTER_PUBLIC_KEY_SIZE + CHECKSUM_SIZE)
#define CHECKSUM_PREFIX "natter-id-v1"

#define HANDLE_MIN 3
#define HANDLE_MAX 32
#define ROOM_MAX   64

G_STATIC_ASSERT (PAYLOAD_SIZE * 8 == NATTER_USER_ID_LENGTH * 5);

static const char base32_alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";

static void
compute_checksum (const guint8 public_key[NATTER_PUBLIC_KEY_SIZE],
                  guint8       checksum[CHECKSUM_SIZE])
{
  g_autoptr(GChecksum) sha = g_checksum_new (G_CHECKSUM_SHA256);
  guint8 digest[32];
  gsize digest_len = sizeof digest;

  g_checksum_update (sha, (const guchar *) CHECKSUM_PREFIX, strlen (CHECKSUM_PREFIX));
  g_checksum_update (sha, public_key, NATTER_PUBLIC_KEY_SIZE);
  g_checksum_get_digest (sha, digest, &digest_len);

  memcpy (checksum, digest, CHECKSUM_SIZE);
}

static int
base32_value (char c)
{
  if (c >= 'a' && c <= 'z')
    return c - 'a';
  if (c >= '2' && c <= '7')
    return c - '2' + 26;
  return -1;
}

/**
 * natter_user_id_from_public_key:
 * @public_key: an Ed25519 public key
 *
 * Returns: (transfer full): the 56-character user ID of @public_key
 */
char *
natter_user_id_from_public_key (const guint8 public_key[NATTER_PUBLIC_KEY_SIZE])
{
  guint8 payload[PAYLOAD_SIZE];
  char *out;
  guint bits = 0;
  guint32 buffer = 0;
  gsize pos = 0;

  g_return_val_if_fail (public_key != NULL, NULL);

  memcpy (payload, public_key, NATTER_PUBLIC_KEY_SIZE);
  compute_checksum (public_key, payload + NATTER_PUBLIC_KEY_SIZE);

  out = g_malloc (NATTER_USER_ID_LENGTH + 1);
  for (gsize i = 0; i < PAYLOAD_SIZE; i++)
    {
      buffer = (buffer << 8) | payload[i];
      bits += 8;
      while (bits >= 5)
        {
          out[pos++] = base32_alphabet[(buffer >> (bits - 5)) & 0x1f];
          bits -= 5;
        }
    }
  g_assert (bits == 0);
  g_assert (pos == NATTER_USER_ID_LENGTH);
  out[pos] = '\0';

  return out;
}

static gboolean
decode_exact (const char *user_id,
              guint8      public_key[NATTER_PUBLIC_KEY_SIZE],
              GError    **error)
{
  guint8 payload[PAYLOAD_SIZE];
  guint8 checksum[CHECKSUM_SIZE];
  guint bits = 0;
  guint32 buffer = 0;
  gsize pos = 0;

  if (strlen (user_id) != NATTER_USER_ID_LENGTH)
    {
      g_set_error (error, NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_INVALID_USER,
                   "A user ID has %d characters", NATTER_USER_ID_LENGTH);
      return FALSE;
    }

  for (gsize i = 0; i < NATTER_USER_ID_LENGTH; i++)
    {
      int v = base32_value (user_id[i]);

      if (v < 0)
        {
          g_set_error (error, NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_INVALID_USER,
                       "A user ID contains only the letters a-z and the digits 2-7");
          return FALSE;
        }

      buffer = (buffer << 5) | (guint32) v;
      bits += 5;
      if (bits >= 8)
        {
          payload[pos++] = (buffer >> (bits - 8)) & 0xff;
          bits -= 8;
        }
    }
  g_assert (pos == PAYLOAD_SIZE);

  compute_checksum (payload, checksum);
  if (memcmp (checksum, payload + NATTER_PUBLIC_KEY_SIZE, CHECKSUM_SIZE) != 0)
    {
      g_set_error (error, NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_INVALID_USER,
                   "The user ID is mistyped: its checksum does not match");
      return FALSE;
    }

  if (public_key != NULL)
    memcpy (public_key, payload, NATTER_PUBLIC_KEY_SIZE);

  return TRUE;
}

/**
 * natter_user_id_to_public_key:
 * @user_id: a user ID in canonical form (lower case, no separators)
 * @public_key: (out caller-allocates) (optional): the decoded key
 * @error: a #GError, %NATTER_PROTOCOL_ERROR_INVALID_USER on failure
 *
 * Returns: %TRUE if @user_id is valid
 */
gboolean
natter_user_id_to_public_key (const char  *user_id,
                              guint8       public_key[NATTER_PUBLIC_KEY_SIZE],
                              GError     **error)
{
  if (user_id == NULL)
    {
      g_set_error_literal (error, NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_INVALID_USER,
                           "No user ID given");
      return FALSE;
    }

  return decode_exact (user_id, public_key, error);
}

/**
 * natter_user_id_is_valid:
 * @user_id: (nullable): a string
 *
 * Returns: %TRUE if @user_id is a user ID in canonical form
 */
gboolean
natter_user_id_is_valid (const char *user_id)
{
  return user_id != NULL && decode_exact (user_id, NULL, NULL);
}

/**
 * natter_user_id_normalize:
 * @input: what a person typed or pasted
 * @error: a #GError
 *
 * Folds upper case and strips white space and dashes, then checks the
 * result.
 *
 * Returns: (transfer full) (nullable): the canonical user ID, or %NULL
 */
char *
natter_user_id_normalize (const char  *input,
                          GError     **error)
{
  g_autoptr(GString) out = NULL;

  g_return_val_if_fail (input != NULL, NULL);

  out = g_string_sized_new (NATTER_USER_ID_LENGTH + 1);
  for (const char *p = input; *p != '\0'; p++)
    {
      if (g_ascii_isspace (*p) || *p == '-')
        continue;
      if (out->len > NATTER_USER_ID_LENGTH)
        break;
      g_string_append_c (out, g_ascii_tolower (*p));
    }

  if (!decode_exact (out->str, NULL, error))
    return NULL;

  return g_string_free (g_steal_pointer (&out), FALSE);
}

/**
 * natter_user_id_short:
 * @user_id: (nullable): a user ID, or any text that claims to be one
 * @buffer: (nullable): NATTER_USER_ID_SHORT_SIZE bytes to write into, or
 *   %NULL for a new string
 *
 * Shortens a user ID for a log line or an error message, so that logs never
 * hold whole IDs. Only letters and digits are kept as they are; any other
 * character (a control character, an escape, invalid UTF-8, anything a peer
 * could send) becomes '?'. Safe from any thread.
 *
 * Returns: @buffer, or if it is %NULL a new string to free with g_free()
 */
char *
natter_user_id_short (const char *user_id,
                      char       *buffer)
{
  const char *p = user_id;
  char *out;
  guint n = 0;

  if (buffer == NULL)
    buffer = g_malloc (NATTER_USER_ID_SHORT_SIZE);
  out = buffer;

  if (user_id == NULL)
    {
      g_strlcpy (buffer, "(none)", NATTER_USER_ID_SHORT_SIZE);
      return buffer;
    }

  while (*p != '\0' && n < NATTER_USER_ID_SHORT_CHARS)
    {
      if (g_ascii_isalnum (*p))
        {
          *out++ = *p++;
        }
      else
        {
          /* One '?' for a whole character; a byte that starts none is one */
          const char *next = g_utf8_find_next_char (p, NULL);

          *out++ = '?';
          p = (next != NULL && g_utf8_get_char_validated (p, next - p) < (gunichar) -2) ? next : p + 1;
        }
      n++;
    }

  if (*p != '\0')
    {
      memcpy (out, "…", sizeof "…" - 1);
      out += sizeof "…" - 1;
    }
  *out = '\0';

  g_assert (out < buffer + NATTER_USER_ID_SHORT_SIZE);
  return buffer;
}

/**
 * natter_handle_normalize:
 * @input: a handle such as "@Ana" or "ana"
 * @error: a #GError, %NATTER_PROTOCOL_ERROR_INVALID_HANDLE on failure
 *
 * Returns: (transfer full) (nullable): the handle without `@`, in lower case
 */
char *
natter_handle_normalize (const char  *input,
                         GError     **error)
{
  g_autofree char *handle = NULL;
  gsize len;

  g_return_val_if_fail (input != NULL, NULL);

  if (input[0] == '@')
    input++;

  len = strlen (input);
  if (len < HANDLE_MIN || len > HANDLE_MAX)
    {
      g_set_error (error, NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_INVALID_HANDLE,
                   "A handle has %d to %d characters", HANDLE_MIN, HANDLE_MAX);
      return NULL;
    }

  handle = g_ascii_strdown (input, len);
  for (gsize i = 0; i < len; i++)
    {
      char c = handle[i];
      gboolean alnum = g_ascii_isalnum (c);

      if ((i == 0 && !alnum) || (!alnum && c != '_' && c != '.' && c != '-'))
        {
          g_set_error_literal (error, NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_INVALID_HANDLE,
                               "A handle starts with a letter or digit and contains only "
                               "a-z, 0-9, '_', '.' and '-'");
          return NULL;
        }
    }

  return g_steal_pointer (&handle);
}

/**
 * natter_room_name_is_valid:
 * @room: (nullable): a room name
 *
 * Returns: %TRUE if @room is 1 to 64 bytes of UTF-8 without control characters
 */
gboolean
natter_room_name_is_valid (const char *room)
{
  gsize len;

  if (room == NULL)
    return FALSE;

  len = strlen (room);
  if (len == 0 || len > ROOM_MAX || !g_utf8_validate (room, len, NULL))
    return FALSE;

  for (const char *p = room; *p != '\0'; p = g_utf8_next_char (p))
    {
      if (g_unichar_iscntrl (g_utf8_get_char (p)))
        return FALSE;
    }

  return TRUE;
}
