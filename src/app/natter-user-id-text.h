/* natter-user-id-text.h: Natter IDs as people read them
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

char *natter_user_id_text_grouped (const char *user_id);
char *natter_user_id_text_uri     (const char *user_id);
char *natter_user_id_text_from_uri (const char *uri);

G_END_DECLS
