/* natter-signature.c: Ed25519 signatures as the wire formats use them
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "natter-protocol"

#include "config.h"

#include <string.h>
#include <sodium.h>

#include "natter-signature.h"

#define NONCE_SIZE 32
#define AUTH_PREFIX "natter-auth-v2\n"
/* A host name is at most 253 characters; with brackets and a port, 261 */
#define SERVER_NAME_MAX 261

G_STATIC_ASSERT (crypto_sign_PUBLICKEYBYTES == NATTER_PUBLIC_KEY_SIZE);
G_STATIC_ASSERT (crypto_sign_SECRETKEYBYTES == NATTER_SECRET_KEY_SIZE);
G_STATIC_ASSERT (crypto_sign_BYTES == NATTER_SIGNATURE_SIZE);
G_STATIC_ASSERT (crypto_sign_SEEDBYTES == 32);

/**
 * natter_protocol_init:
 *
 * Initialises the cryptographic library. Safe to call more than once and
 * from any thread; every other function here calls it itself.
 *
 * Returns: %FALSE if no secure random source is available
 */
gboolean
natter_protocol_init (void)
{
  return sodium_init () >= 0;
}

static void
ensure_init (void)
{
  if (!natter_protocol_init ())
    g_error ("The system has no secure random number source");
}

/**
 * natter_random_bytes:
 * @buffer: (out caller-allocates): where to write
 * @length: how many bytes
 *
 * Fills @buffer with cryptographically secure random bytes.
 */
void
natter_random_bytes (void  *buffer,
                     gsize  length)
{
  ensure_init ();
  randombytes_buf (buffer, length);
}

/**
 * natter_secure_zero:
 * @buffer: memory holding a secret
 * @length: its size
 *
 * Clears @buffer in a way the compiler does not optimise away.
 */
void
natter_secure_zero (void  *buffer,
                    gsize  length)
{
  sodium_memzero (buffer, length);
}

/**
 * natter_secure_alloc:
 * @size: how many bytes
 *
 * Memory for a secret: guarded by inaccessible pages, kept out of swap and
 * core dumps where the system allows. Free it with natter_secure_free(),
 * which zeroes it.
 *
 * Returns: (transfer full): the memory, zeroed
 */
gpointer
natter_secure_alloc (gsize size)
{
  gpointer memory;

  ensure_init ();
  memory = sodium_malloc (size);
  if (memory == NULL)
    g_error ("Could not allocate %" G_GSIZE_FORMAT " bytes of guarded memory", size);
  sodium_memzero (memory, size);

  return memory;
}

/**
 * natter_secure_free:
 * @memory: (nullable): from natter_secure_alloc()
 *
 * Zeroes and frees @memory.
 */
void
natter_secure_free (gpointer memory)
{
  if (memory != NULL)
    sodium_free (memory);
}

/**
 * natter_keypair_generate:
 * @public_key: (out caller-allocates): the new public key
 * @secret_key: (out caller-allocates): the new secret key
 */
void
natter_keypair_generate (guint8 public_key[NATTER_PUBLIC_KEY_SIZE],
                         guint8 secret_key[NATTER_SECRET_KEY_SIZE])
{
  ensure_init ();
  crypto_sign_keypair (public_key, secret_key);
}

/**
 * natter_keypair_from_seed:
 * @seed: 32 bytes
 * @public_key: (out caller-allocates): the public key
 * @secret_key: (out caller-allocates): the secret key
 *
 * Derives a key pair deterministically; tests use it for fixed identities.
 */
void
natter_keypair_from_seed (const guint8 seed[32],
                          guint8       public_key[NATTER_PUBLIC_KEY_SIZE],
                          guint8       secret_key[NATTER_SECRET_KEY_SIZE])
{
  ensure_init ();
  crypto_sign_seed_keypair (public_key, secret_key, seed);
}

/**
 * natter_signature_sign:
 * @secret_key: the signer's secret key
 * @data: what to sign
 * @length: its size
 *
 * Returns: (transfer full): the detached signature in standard base64
 */
char *
natter_signature_sign (const guint8  secret_key[NATTER_SECRET_KEY_SIZE],
                       const void   *data,
                       gsize         length)
{
  guint8 signature[NATTER_SIGNATURE_SIZE];

  g_return_val_if_fail (secret_key != NULL, NULL);
  g_return_val_if_fail (data != NULL || length == 0, NULL);

  ensure_init ();
  crypto_sign_detached (signature, NULL, data, length, secret_key);

  return g_base64_encode (signature, sizeof signature);
}

/**
 * natter_signature_verify:
 * @public_key: the signer's public key
 * @data: what was signed
 * @length: its size
 * @signature_base64: (nullable): the detached signature in base64
 *
 * Returns: %TRUE if @signature_base64 is a valid signature of @data
 */
gboolean
natter_signature_verify (const guint8  public_key[NATTER_PUBLIC_KEY_SIZE],
                         const void   *data,
                         gsize         length,
                         const char   *signature_base64)
{
  /* g_base64_decode_step() may write len * 3 / 4 bytes */
  guint8 signature[66];
  gsize b64_len;
  gint state = 0;
  guint save = 0;
  gsize decoded;

  g_return_val_if_fail (public_key != NULL, FALSE);
  g_return_val_if_fail (data != NULL || length == 0, FALSE);

  if (signature_base64 == NULL)
    return FALSE;

  /* 64 bytes are exactly 88 base64 characters with padding; anything else
   * is not a signature, and checking first keeps the decode in bounds. */
  b64_len = strlen (signature_base64);
  if (b64_len != 88 || signature_base64[86] != '=' || signature_base64[87] != '=')
    return FALSE;

  for (gsize i = 0; i < b64_len; i++)
    {
      char c = signature_base64[i];

      if (i < 86 && !g_ascii_isalnum (c) && c != '+' && c != '/')
        return FALSE;
    }

  decoded = g_base64_decode_step (signature_base64, b64_len, signature, &state, &save);
  if (decoded != NATTER_SIGNATURE_SIZE)
    return FALSE;

  ensure_init ();
  return crypto_sign_verify_detached (signature, data, length, public_key) == 0;
}

/**
 * natter_signature_verify_user:
 * @user_id: the signer's user ID
 * @data: what was signed
 * @length: its size
 * @signature_base64: (nullable): the detached signature in base64
 *
 * Returns: %TRUE if @user_id is valid and signed @data
 */
gboolean
natter_signature_verify_user (const char *user_id,
                              const void *data,
                              gsize       length,
                              const char *signature_base64)
{
  guint8 public_key[NATTER_PUBLIC_KEY_SIZE];

  if (!natter_user_id_to_public_key (user_id, public_key, NULL))
    return FALSE;

  return natter_signature_verify (public_key, data, length, signature_base64);
}

/**
 * natter_auth_challenge_new_nonce:
 *
 * Returns: (transfer full): 32 fresh random bytes in base64, for `hello`
 */
char *
natter_auth_challenge_new_nonce (void)
{
  guint8 nonce[NONCE_SIZE];

  natter_random_bytes (nonce, sizeof nonce);
  return g_base64_encode (nonce, sizeof nonce);
}

/**
 * natter_auth_server_name_from_url:
 * @url: a server URL as the user gave it, such as `wss://chat.example.org/ws`
 *
 * The name a client signs in `auth`: the URL's host in lower case (an IPv6
 * address in brackets), a colon and the port, which is 443 for wss:// and
 * 80 for ws:// when the URL names none.
 *
 * Returns: (transfer full) (nullable): the server name, or %NULL if @url
 *   has no host
 */
char *
natter_auth_server_name_from_url (const char *url)
{
  g_autoptr(GUri) uri = NULL;
  g_autofree char *host = NULL;
  const char *scheme;
  int port;

  g_return_val_if_fail (url != NULL, NULL);

  uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  if (uri == NULL || g_uri_get_host (uri) == NULL || g_uri_get_host (uri)[0] == '\0')
    return NULL;

  scheme = g_uri_get_scheme (uri);
  port = g_uri_get_port (uri);
  if (port < 0)
    port = g_ascii_strcasecmp (scheme, "wss") == 0 || g_ascii_strcasecmp (scheme, "https") == 0
           ? 443 : 80;

  host = g_ascii_strdown (g_uri_get_host (uri), -1);
  if (strchr (host, ':') != NULL)
    return g_strdup_printf ("[%s]:%d", host, port);

  return g_strdup_printf ("%s:%d", host, port);
}

/**
 * natter_auth_server_name_split:
 * @name: `host`, `host:port`, `[v6]` or `[v6]:port`
 * @host: (out): the host in lower case, without brackets
 * @port: (out): the port, or 0 if @name has none
 *
 * Returns: whether @name has that shape
 */
gboolean
natter_auth_server_name_split (const char  *name,
                               char       **host,
                               guint       *port)
{
  const char *end;
  const char *colon = NULL;
  guint64 number = 0;

  g_return_val_if_fail (host != NULL && port != NULL, FALSE);

  *host = NULL;
  *port = 0;
  if (name == NULL || name[0] == '\0' || strlen (name) > SERVER_NAME_MAX)
    return FALSE;

  if (name[0] == '[')
    {
      end = strchr (name, ']');
      if (end == NULL || end == name + 1 || (end[1] != '\0' && end[1] != ':'))
        return FALSE;
      colon = end[1] == ':' ? end + 1 : NULL;
      *host = g_ascii_strdown (name + 1, end - name - 1);
    }
  else
    {
      colon = strchr (name, ':');
      if (colon != NULL && strchr (colon + 1, ':') != NULL)
        return FALSE;
      if (colon == name)
        return FALSE;
      *host = g_ascii_strdown (name, colon != NULL ? colon - name : -1);
    }

  for (const char *p = *host; *p != '\0'; p++)
    {
      if (!g_ascii_isalnum (*p) && *p != '.' && *p != '-' && *p != '_' && *p != ':')
        {
          g_clear_pointer (host, g_free);
          return FALSE;
        }
    }

  if (colon != NULL)
    {
      if (!g_ascii_string_to_unsigned (colon + 1, 10, 1, 65535, &number, NULL))
        {
          g_clear_pointer (host, g_free);
          return FALSE;
        }
      *port = (guint) number;
    }

  return TRUE;
}

/**
 * natter_auth_challenge_message:
 * @nonce: the nonce of `hello`, as received
 * @user_id: the user who authenticates
 * @server: the server the client dialled, as natter_auth_server_name_from_url()
 *   makes it
 * @length: (out) (optional): the length of the message
 *
 * Returns: (transfer full): the bytes a client signs in `auth`:
 *   "natter-auth-v2\n" nonce "\n" user "\n" server
 */
char *
natter_auth_challenge_message (const char *nonce,
                               const char *user_id,
                               const char *server,
                               gsize      *length)
{
  char *message;

  g_return_val_if_fail (nonce != NULL, NULL);
  g_return_val_if_fail (user_id != NULL, NULL);
  g_return_val_if_fail (server != NULL, NULL);

  message = g_strconcat (AUTH_PREFIX, nonce, "\n", user_id, "\n", server, NULL);
  if (length != NULL)
    *length = strlen (message);

  return message;
}

/**
 * natter_auth_challenge_sign:
 * @secret_key: the client's secret key
 * @nonce: the nonce of `hello`
 * @user_id: the client's user ID
 * @server: the server the client dialled
 *
 * Returns: (transfer full): the `signature` member of `auth`
 */
char *
natter_auth_challenge_sign (const guint8  secret_key[NATTER_SECRET_KEY_SIZE],
                            const char   *nonce,
                            const char   *user_id,
                            const char   *server)
{
  g_autofree char *message = NULL;
  gsize length;

  message = natter_auth_challenge_message (nonce, user_id, server, &length);
  return natter_signature_sign (secret_key, message, length);
}
