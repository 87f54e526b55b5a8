/* natter-text.h: text from other people, made safe to show
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

char *natter_text_one_line          (const char *text);
char *natter_text_notification_body (const char *text,
                                     gboolean    server_reads_markup);

G_END_DECLS
