/* natter-turn.h: coturn TURN REST API credentials
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

void natter_turn_credentials (const char  *secret,
                              const char  *user_id,
                              gint64       expires_unix,
                              char       **username,
                              char       **password);

G_END_DECLS
