/* natter-cli-output.h: what natter-cli prints, safely
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

void  natter_cli_print_json  (JsonObject *object);
char *natter_cli_printable   (const char *text);
char *natter_cli_format_time (gint64      timestamp);

G_END_DECLS
