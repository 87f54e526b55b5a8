/* natter-signature.h: Ed25519 signatures as the wire formats use them
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

#include "natter-user-id.h"

G_BEGIN_DECLS

gboolean  natter_protocol_init              (void);

void      natter_keypair_generate           (guint8        public_key[NATTER_PUBLIC_KEY_SIZE],
                                             guint8        secret_key[NATTER_SECRET_KEY_SIZE]);
void      natter_keypair_from_seed          (const guint8  seed[32],
                                             guint8        public_key[NATTER_PUBLIC_KEY_SIZE],
                                             guint8        secret_key[NATTER_SECRET_KEY_SIZE]);

char     *natter_signature_sign             (const guint8  secret_key[NATTER_SECRET_KEY_SIZE],
                                             const void   *data,
                                             gsize         length);
gboolean  natter_signature_verify           (const guint8  public_key[NATTER_PUBLIC_KEY_SIZE],
                                             const void   *data,
                                             gsize         length,
                                             const char   *signature_base64);
gboolean  natter_signature_verify_user      (const char   *user_id,
                                             const void   *data,
                                             gsize         length,
                                             const char   *signature_base64);

char     *natter_auth_challenge_new_nonce   (void);
char     *natter_auth_server_name_from_url  (const char   *url);
gboolean  natter_auth_server_name_split     (const char   *name,
                                             char        **host,
                                             guint        *port);
char     *natter_auth_challenge_message     (const char   *nonce,
                                             const char   *user_id,
                                             const char   *server,
                                             gsize        *length);
char     *natter_auth_challenge_sign        (const guint8  secret_key[NATTER_SECRET_KEY_SIZE],
                                             const char   *nonce,
                                             const char   *user_id,
                                             const char   *server);

void      natter_random_bytes               (void         *buffer,
                                             gsize         length);
void      natter_secure_zero                (void         *buffer,
                                             gsize         length);
gpointer  natter_secure_alloc               (gsize         size);
void      natter_secure_free                (gpointer      memory);

G_END_DECLS
