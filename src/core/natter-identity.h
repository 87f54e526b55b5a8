/* natter-identity.h: this installation's Ed25519 key pair
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "natter-user-id.h"

G_BEGIN_DECLS

#define NATTER_IDENTITY_ERROR (natter_identity_error_quark ())

typedef enum
{
  NATTER_IDENTITY_ERROR_NO_SECRET_SERVICE,
  NATTER_IDENTITY_ERROR_LOCKED,
  NATTER_IDENTITY_ERROR_CORRUPT,
  NATTER_IDENTITY_ERROR_FAILED,
  NATTER_IDENTITY_ERROR_NOT_FOUND,
  NATTER_IDENTITY_ERROR_INSECURE_FILE,
  NATTER_IDENTITY_ERROR_NO_ANSWER,
} NatterIdentityError;

/* 12 groups of 5 digits separated by single spaces */
#define NATTER_SAFETY_NUMBER_DIGITS 60
#define NATTER_SAFETY_NUMBER_LENGTH (NATTER_SAFETY_NUMBER_DIGITS + 11)

#define NATTER_TYPE_IDENTITY (natter_identity_get_type ())

G_DECLARE_FINAL_TYPE (NatterIdentity, natter_identity, NATTER, IDENTITY, GObject)

GQuark          natter_identity_error_quark              (void);

NatterIdentity *natter_identity_new_ephemeral            (void);
NatterIdentity *natter_identity_new_from_seed            (const guint8         seed[32]);

NatterIdentity *natter_identity_load_from_file           (const char          *path,
                                                          gboolean             create_if_missing,
                                                          GError             **error);

void            natter_identity_load_from_keyring_async  (const char          *profile,
                                                          gboolean             create_if_missing,
                                                          GCancellable        *cancellable,
                                                          GAsyncReadyCallback  callback,
                                                          gpointer             user_data);
NatterIdentity *natter_identity_load_from_keyring_finish (GAsyncResult        *result,
                                                          GError             **error);

const char     *natter_identity_get_user_id              (NatterIdentity      *self);
const guint8   *natter_identity_get_public_key           (NatterIdentity      *self);

char           *natter_identity_sign                     (NatterIdentity      *self,
                                                          const void          *data,
                                                          gsize                length);
gboolean        natter_identity_verify                   (const char          *user_id,
                                                          const void          *data,
                                                          gsize                length,
                                                          const char          *signature);

char           *natter_identity_get_safety_number        (NatterIdentity      *self,
                                                          const char          *other_user_id);

G_END_DECLS
