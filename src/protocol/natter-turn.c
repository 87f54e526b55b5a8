/* natter-turn.c: coturn TURN REST API credentials
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "natter-protocol"

#include "config.h"

#include <string.h>

#include "natter-turn.h"

/**
 * natter_turn_credentials:
 * @secret: the shared secret configured in coturn (`static-auth-secret`)
 * @user_id: the user the credentials are for
 * @expires_unix: when the credentials stop working, in Unix seconds
 * @username: (out) (transfer full): `expires:user_id`
 * @password: (out) (transfer full): base64 (HMAC-SHA1 (@secret, @username))
 *
 * Computes time-limited TURN credentials as coturn's `use-auth-secret`
 * mode expects them.
 */
void
natter_turn_credentials (const char  *secret,
                         const char  *user_id,
                         gint64       expires_unix,
                         char       **username,
                         char       **password)
{
  g_autoptr(GHmac) hmac = NULL;
  g_autofree char *user = NULL;
  guint8 digest[20];
  gsize digest_len = sizeof digest;

  g_return_if_fail (secret != NULL);
  g_return_if_fail (user_id != NULL);
  g_return_if_fail (username != NULL);
  g_return_if_fail (password != NULL);

  user = g_strdup_printf ("%" G_GINT64_FORMAT ":%s", expires_unix, user_id);

  hmac = g_hmac_new (G_CHECKSUM_SHA1, (const guchar *) secret, strlen (secret));
  g_hmac_update (hmac, (const guchar *) user, -1);
  g_hmac_get_digest (hmac, digest, &digest_len);

  *password = g_base64_encode (digest, digest_len);
  *username = g_steal_pointer (&user);
}
