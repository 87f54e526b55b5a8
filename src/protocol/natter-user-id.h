/* natter-user-id.h: the text form of an Ed25519 public key
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define NATTER_PUBLIC_KEY_SIZE 32
#define NATTER_SECRET_KEY_SIZE 64
#define NATTER_SIGNATURE_SIZE  64
#define NATTER_USER_ID_LENGTH  56

char     *natter_user_id_from_public_key (const guint8  public_key[NATTER_PUBLIC_KEY_SIZE]);
gboolean  natter_user_id_to_public_key   (const char   *user_id,
                                          guint8        public_key[NATTER_PUBLIC_KEY_SIZE],
                                          GError      **error);
gboolean  natter_user_id_is_valid        (const char   *user_id);
char     *natter_user_id_normalize       (const char   *input,
                                          GError      **error);

char     *natter_handle_normalize        (const char   *input,
                                          GError      **error);
gboolean  natter_room_name_is_valid      (const char   *room);

G_END_DECLS
