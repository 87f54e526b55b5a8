/* natter-message-text.c: a message's text as label markup, with its links
 *
 * Text from peers is never markup: every character is escaped, and only
 * what looks like a web address (http://, https:// or www.) becomes a
 * link, whose target is escaped as well. Punctuation that usually ends a
 * sentence is not part of an address ("see https://example.org.").
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "natter-message-text"

#include "config.h"

#include "natter-message-text.h"

#define LINK_PATTERN "\\b(?:https?://|www\\.)[^\\s<>\"]+"

/* How much of a match at @start, @length bytes, belongs to the address. */
static gsize
trim_link (const char *start,
           gsize       length)
{
  while (length > 0)
    {
      char last = start[length - 1];

      if (strchr (".,;:!?'*", last) != NULL)
        {
          length--;
          continue;
        }

      /* A closing bracket ends the address unless the address opened it,
       * as in https://en.wikipedia.org/wiki/Tree_(graph_theory). */
      if (last == ')' || last == ']' || last == '}')
        {
          char open = last == ')' ? '(' : last == ']' ? '[' : '{';
          int depth = 0;

          for (gsize i = 0; i < length; i++)
            depth += start[i] == open ? 1 : start[i] == last ? -1 : 0;
          if (depth < 0)
            {
              length--;
              continue;
            }
        }
      break;
    }

  return length;
}

static void
append_escaped (GString    *markup,
                const char *text,
                gssize      length)
{
  g_autofree char *escaped = g_markup_escape_text (text, length);

  g_string_append (markup, escaped);
}

/**
 * natter_message_text_to_markup:
 * @text: the message text (UTF-8)
 * @first_link: (out) (optional) (nullable): the target of the first link
 *
 * Returns: (transfer full): Pango markup that shows @text as it is, with
 *   web addresses as links
 */
char *
natter_message_text_to_markup (const char  *text,
                               char       **first_link)
{
  static GRegex *links;
  static gsize links_made;
  g_autoptr(GMatchInfo) match = NULL;
  GString *markup = g_string_new (NULL);
  const char *done = text;

  g_return_val_if_fail (text != NULL, NULL);

  if (first_link != NULL)
    *first_link = NULL;

  if (g_once_init_enter (&links_made))
    {
      links = g_regex_new (LINK_PATTERN, G_REGEX_OPTIMIZE, 0, NULL);
      g_once_init_leave (&links_made, 1);
    }

  g_regex_match (links, text, 0, &match);
  while (g_match_info_matches (match))
    {
      int start, end;
      gsize length;

      g_match_info_fetch_pos (match, 0, &start, &end);
      length = trim_link (text + start, end - start);
      if (length > 4)
        {
          g_autofree char *address = g_strndup (text + start, length);
          g_autofree char *target = g_str_has_prefix (address, "www.") ?
                                    g_strconcat ("https://", address, NULL) :
                                    g_strdup (address);
          g_autofree char *link = g_markup_printf_escaped ("<a href=\"%s\">%s</a>", target,
                                                           address);

          append_escaped (markup, done, text + start - done);
          g_string_append (markup, link);
          done = text + start + length;
          if (first_link != NULL && *first_link == NULL)
            *first_link = g_steal_pointer (&target);
        }
      g_match_info_next (match, NULL);
    }
  append_escaped (markup, done, -1);

  return g_string_free (markup, FALSE);
}
