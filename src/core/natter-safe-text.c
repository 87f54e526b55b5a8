/* natter-safe-text.c: text from other people, without control characters
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Names, bodies and invitation notes are data. Wherever they are shown (a
 * terminal, a label, a notification) a control character must not act: an
 * escape sequence could retitle a terminal or fake lines, a bidirectional
 * override could make one name read as another.
 */
#define G_LOG_DOMAIN "natter-safe-text"

#include "config.h"

#include <string.h>

#include "natter-safe-text.h"

static gboolean
is_hidden_control (gunichar c)
{
  /* Cc (C0, DEL, C1), the line and paragraph separators, and the marks and
   * overrides that reorder what follows them */
  return g_unichar_iscntrl (c) || c == 0x2028 || c == 0x2029 || c == 0x200e || c == 0x200f ||
         (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
}

/**
 * natter_safe_text:
 * @text: (nullable): text from a peer or a server
 * @line_break: (nullable): what a line break becomes; %NULL keeps it
 *
 * Returns: (transfer full): @text as valid UTF-8, a tab and a carriage
 *   return as a space, a line break as @line_break, and every other control
 *   character as U+FFFD
 */
char *
natter_safe_text (const char *text,
                  const char *line_break)
{
  g_autofree char *valid = g_utf8_make_valid (text != NULL ? text : "", -1);
  GString *out = g_string_sized_new (strlen (valid));

  for (const char *p = valid; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (c == '\n')
        g_string_append (out, line_break != NULL ? line_break : "\n");
      else if (c == '\t' || c == '\r')
        g_string_append_c (out, ' ');
      else if (is_hidden_control (c))
        g_string_append_unichar (out, 0xfffd);
      else
        g_string_append_unichar (out, c);
    }

  return g_string_free (out, FALSE);
}
