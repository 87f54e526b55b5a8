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

/* The short form of a user ID for log lines and error messages: its first
 * NATTER_USER_ID_SHORT_CHARS characters, then "…" if there were more. */
#define NATTER_USER_ID_SHORT_CHARS 8
#define NATTER_USER_ID_SHORT_SIZE  (NATTER_USER_ID_SHORT_CHARS + sizeof "…")

char     *natter_user_id_short           (const char   *user_id,
                                          char         *buffer);

/* natter_user_id_short() into a buffer of the enclosing block, for one log
 * call: g_debug ("Peer %s: …", NATTER_USER_ID_LOG (id)). */
#define NATTER_USER_ID_LOG(user_id) \
  ((const char *) natter_user_id_short ((user_id), (char[NATTER_USER_ID_SHORT_SIZE]) { 0 }))

char     *natter_handle_normalize        (const char   *input,
                                          GError      **error);
gboolean  natter_room_name_is_valid      (const char   *room);

G_END_DECLS
