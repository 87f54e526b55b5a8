/* natter-text.c: text from other people, made safe to show
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Names and message bodies are data. Labels show them with
 * gtk_label_set_text(), never as markup; where a widget or another program
 * reads markup (search results, some notification servers), they are
 * escaped first. Control characters never reach the screen as they are.
 */
#define G_LOG_DOMAIN "natter-text"

#include "config.h"

#include "natter-safe-text.h"
#include "natter-text.h"

/**
 * natter_text_one_line:
 * @text: (nullable): a name, say
 *
 * Returns: (transfer full): @text on one line, without control characters
 */
char *
natter_text_one_line (const char *text)
{
  return natter_safe_text (text, " ");
}

/**
 * natter_text_notification_body:
 * @text: (nullable): a message body
 * @server_reads_markup: whether the notification server takes the body as
 *   markup (freedesktop notification servers may; the portal and GNOME's own
 *   notifications do not)
 *
 * Returns: (transfer full): @text such that it is shown as the plain text it
 *   is: without control characters, and escaped for a server that reads markup
 */
char *
natter_text_notification_body (const char *text,
                               gboolean    server_reads_markup)
{
  g_autofree char *plain = natter_safe_text (text, NULL);

  if (server_reads_markup)
    return g_markup_escape_text (plain, -1);

  return g_steal_pointer (&plain);
}
