/* natter-profile.h: one profile folder: its settings, identity, history and client
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "natter-client.h"

G_BEGIN_DECLS

#define NATTER_PROFILE_ERROR (natter_profile_error_quark ())

typedef enum
{
  NATTER_PROFILE_ERROR_INVALID_NAME,
  NATTER_PROFILE_ERROR_SETTINGS_DAMAGED,
  NATTER_PROFILE_ERROR_NO_SERVER,
  NATTER_PROFILE_ERROR_NO_IDENTITY,
} NatterProfileError;

/* The profile used when none is named */
#define NATTER_PROFILE_DEFAULT "default"
/* The file of a profile's settings inside its folder */
#define NATTER_PROFILE_SETTINGS_FILE_NAME "settings.ini"
/* The file of the picture contacts see, inside the profile's folder */
#define NATTER_PROFILE_AVATAR_FILE_NAME "avatar"
/* The history's backup is renewed when it is older than this */
#define NATTER_PROFILE_BACKUP_MAX_AGE_S (60 * 60)

#define NATTER_TYPE_PROFILE (natter_profile_get_type ())

G_DECLARE_FINAL_TYPE (NatterProfile, natter_profile, NATTER, PROFILE, GObject)

GQuark          natter_profile_error_quark          (void);

gboolean        natter_profile_name_is_valid        (const char           *name);

NatterProfile  *natter_profile_new                  (const char           *name,
                                                     GError              **error);

const char     *natter_profile_get_name             (NatterProfile        *self);
const char     *natter_profile_get_path             (NatterProfile        *self);

char           *natter_profile_dup_server_url       (NatterProfile        *self);
gboolean        natter_profile_set_server_url       (NatterProfile        *self,
                                                     const char           *server_url,
                                                     GError              **error);
char           *natter_profile_dup_display_name     (NatterProfile        *self);
char           *natter_profile_dup_bio              (NatterProfile        *self);
char           *natter_profile_dup_handle           (NatterProfile        *self);
gboolean        natter_profile_set_handle           (NatterProfile        *self,
                                                     const char           *handle,
                                                     GError              **error);
GBytes         *natter_profile_dup_avatar           (NatterProfile        *self,
                                                     GError              **error);
gboolean        natter_profile_has_avatar           (NatterProfile        *self);
gboolean        natter_profile_save_public          (NatterProfile        *self,
                                                     const char           *name,
                                                     const char           *bio,
                                                     GBytes               *avatar,
                                                     gboolean              remove_avatar,
                                                     GError              **error);

void            natter_profile_set_identity_file    (NatterProfile        *self,
                                                     const char           *path);
void            natter_profile_load_identity_async  (NatterProfile        *self,
                                                     GCancellable         *cancellable,
                                                     GAsyncReadyCallback   callback,
                                                     gpointer              user_data);
NatterIdentity *natter_profile_load_identity_finish (NatterProfile        *self,
                                                     GAsyncResult         *result,
                                                     GError              **error);
NatterIdentity *natter_profile_get_identity         (NatterProfile        *self);

NatterStore    *natter_profile_open_store           (NatterProfile        *self,
                                                     GError              **error);
NatterStore    *natter_profile_get_store            (NatterProfile        *self);
void            natter_profile_start_backups        (NatterProfile        *self);
char           *natter_profile_restore_backup       (NatterProfile        *self,
                                                     GError              **error);

NatterClient   *natter_profile_open_client          (NatterProfile        *self,
                                                     GError              **error);
NatterClient   *natter_profile_open_nearby_client   (NatterProfile        *self,
                                                     GError              **error);
gboolean        natter_profile_set_nearby_only      (NatterProfile        *self,
                                                     gboolean              nearby_only,
                                                     GError              **error);
gboolean        natter_profile_get_nearby_only      (NatterProfile        *self);
gboolean        natter_profile_get_nearby_with_server (NatterProfile      *self);
gboolean        natter_profile_set_nearby_with_server (NatterProfile      *self,
                                                     gboolean              with_server,
                                                     GError              **error);
gboolean        natter_profile_get_nearby_visible   (NatterProfile        *self);
gboolean        natter_profile_set_nearby_visible   (NatterProfile        *self,
                                                     gboolean              visible,
                                                     GError              **error);
NatterClient   *natter_profile_get_client           (NatterProfile        *self);
void            natter_profile_close_client         (NatterProfile        *self);

G_END_DECLS
