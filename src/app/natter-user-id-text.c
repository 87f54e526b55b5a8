/* natter-user-id-text.c: Natter IDs as people read them
 *
 * An ID is long. Shown in groups of four it can be read aloud and compared,
 * and it wraps between groups, never with a hyphen inside a group. The
 * grouped form, with or without its spaces, is accepted wherever an ID is
 * typed (natter_user_id_normalize()). A `natter:ID` link opens the
 * add-contact dialog with the ID filled in.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "natter-user-id-text"

#include "config.h"

#include "natter-protocol.h"

#include "natter-user-id-text.h"

#define GROUP_SIZE 4
#define URI_SCHEME "natter:"

/**
 * natter_user_id_text_grouped:
 *
 * Returns: (transfer full): @user_id in groups of four characters
 */
char *
natter_user_id_text_grouped (const char *user_id)
{
  GString *text = g_string_new (NULL);

  g_return_val_if_fail (user_id != NULL, NULL);

  for (gsize i = 0; user_id[i] != '\0'; i++)
    {
      if (i > 0 && i % GROUP_SIZE == 0)
        g_string_append_c (text, ' ');
      g_string_append_c (text, user_id[i]);
    }

  return g_string_free (text, FALSE);
}

/**
 * natter_user_id_text_uri:
 *
 * Returns: (transfer full): the `natter:` link to @user_id
 */
char *
natter_user_id_text_uri (const char *user_id)
{
  g_return_val_if_fail (user_id != NULL, NULL);

  return g_strconcat (URI_SCHEME, user_id, NULL);
}

/**
 * natter_user_id_text_from_uri:
 * @uri: a `natter:ID` link (`natter://ID` is taken too)
 *
 * Returns: (transfer full) (nullable): the ID in its normal form, or %NULL
 *   when @uri is not a link to a valid Natter ID
 */
char *
natter_user_id_text_from_uri (const char *uri)
{
  g_autofree char *unescaped = NULL;
  const char *id;

  g_return_val_if_fail (uri != NULL, NULL);

  if (g_ascii_strncasecmp (uri, URI_SCHEME, strlen (URI_SCHEME)) != 0)
    return NULL;

  id = uri + strlen (URI_SCHEME);
  while (*id == '/')
    id++;

  unescaped = g_uri_unescape_string (id, NULL);
  if (unescaped == NULL)
    return NULL;

  return natter_user_id_normalize (unescaped, NULL);
}
