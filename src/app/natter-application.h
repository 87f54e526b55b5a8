/* natter-application.h: the application; owns the profile and its NatterClient
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

#include "natter-client.h"

G_BEGIN_DECLS

#define NATTER_TYPE_APPLICATION (natter_application_get_type ())

G_DECLARE_FINAL_TYPE (NatterApplication, natter_application, NATTER, APPLICATION, AdwApplication)

NatterApplication *natter_application_new               (void);

NatterClient      *natter_application_get_client        (NatterApplication    *self);
GSettings         *natter_application_get_settings      (NatterApplication    *self);
const char        *natter_application_get_profile_name  (NatterApplication    *self);
char              *natter_application_dup_server_url    (NatterApplication    *self);
char              *natter_application_dup_profile_value (NatterApplication    *self,
                                                         const char           *key);
gboolean           natter_application_set_handle        (NatterApplication    *self,
                                                         const char           *handle,
                                                         GError              **error);
GBytes            *natter_application_dup_avatar        (NatterApplication    *self);
gboolean           natter_application_save_profile      (NatterApplication    *self,
                                                         const char           *name,
                                                         const char           *bio,
                                                         GBytes               *avatar,
                                                         gboolean              remove_avatar,
                                                         GError              **error);
gboolean           natter_application_set_server_url    (NatterApplication    *self,
                                                         const char           *server_url,
                                                         GError              **error);

void               natter_application_bind_client_settings   (GSettings       *settings,
                                                            NatterClient    *client);
void               natter_application_unbind_client_settings (NatterClient    *client);

gboolean           natter_application_validate_server_url (const char         *url,
                                                           GError            **error);

void               natter_application_open_async        (NatterApplication    *self,
                                                         const char           *display_name,
                                                         const char           *server_url,
                                                         GCancellable         *cancellable,
                                                         GAsyncReadyCallback   callback,
                                                         gpointer              user_data);
gboolean           natter_application_open_finish       (NatterApplication    *self,
                                                         GAsyncResult         *result,
                                                         GError              **error);

const char        *natter_application_get_background_problem (NatterApplication *self);
gboolean           natter_application_get_report_timing (NatterApplication    *self);
void               natter_application_report_timing     (NatterApplication    *self,
                                                         const char           *what,
                                                         gint64                since_us);
gint64             natter_application_get_start_time    (NatterApplication    *self);

G_END_DECLS
