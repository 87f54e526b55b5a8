/* natter-background-portal.h: asking the desktop to let Natter run in the background
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define NATTER_BACKGROUND_PORTAL_ERROR (natter_background_portal_error_quark ())

typedef enum
{
  NATTER_BACKGROUND_PORTAL_ERROR_NO_PORTAL,
  NATTER_BACKGROUND_PORTAL_ERROR_REFUSED,
} NatterBackgroundPortalError;

GQuark   natter_background_portal_error_quark    (void);

void     natter_background_portal_request_async  (gboolean             autostart,
                                                  const char * const  *commandline,
                                                  GAsyncReadyCallback  callback,
                                                  gpointer             user_data);
gboolean natter_background_portal_request_finish (GAsyncResult        *result,
                                                  gboolean            *autostart,
                                                  GError             **error);

G_END_DECLS
