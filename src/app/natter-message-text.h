/* natter-message-text.h: a message's text as label markup, with its links
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

char *natter_message_text_to_markup (const char  *text,
                                     char       **first_link);

G_END_DECLS
