/* natter-json.h: JSON text that is always RFC 8259 JSON
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

char *natter_json_object_to_string (JsonObject *object,
                                    gsize      *length);

G_END_DECLS
