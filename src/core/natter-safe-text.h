/* natter-safe-text.h: text from other people, without control characters
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

char *natter_safe_text (const char *text,
                        const char *line_break);

G_END_DECLS
