/* natter-file-name.c: file names from peers, made safe for the disk
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A name a contact offers is hostile until this file is done with it: it
 * becomes one file name (no separators, no "..", no leading dot, so never a
 * path or a hidden file), without control, format or bidi-override
 * characters (which disguise an extension), at most 255 bytes with its
 * extension kept, and never one of the names Windows reserves for devices.
 * An existing file is never overwritten: the name gets " (1)", " (2)" ...
 */
#define G_LOG_DOMAIN "natter-transfer"

#include "config.h"

#include <string.h>

#include "natter-file-name.h"

#define EXTENSION_MAX   16
#define PARTIAL_SUFFIX  ".natterpart"
#define UNIQUE_MAX      9999

static const char *const reserved[] = {
  "CON", "PRN", "AUX", "NUL",
  "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8", "COM9",
  "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
  NULL
};

static gboolean
is_dropped (gunichar c)
{
  /* Controls, and format characters: bidi overrides and isolates, zero
   * widths, the BOM */
  if (g_unichar_iscntrl (c))
    return TRUE;
  switch (g_unichar_type (c))
    {
    case G_UNICODE_FORMAT:
    case G_UNICODE_UNASSIGNED:
    case G_UNICODE_PRIVATE_USE:
    case G_UNICODE_SURROGATE:
    case G_UNICODE_LINE_SEPARATOR:
    case G_UNICODE_PARAGRAPH_SEPARATOR:
      return TRUE;
    default:
      return FALSE;
    }
}

static gboolean
is_replaced (gunichar c)
{
  /* Separators, and what Windows refuses in a name */
  return c == '/' || c == '\\' || c == ':' || c == '*' || c == '?' || c == '"' ||
         c == '<' || c == '>' || c == '|';
}

/* The first @max bytes of @text, cut at a character boundary */
static char *
utf8_truncate (const char *text,
               gsize       max)
{
  const char *end = text;

  while (*end != '\0')
    {
      const char *next = g_utf8_next_char (end);

      if ((gsize) (next - text) > max)
        break;
      end = next;
    }

  return g_strndup (text, end - text);
}

/* @name split at its extension: "a.tar.gz" -> "a.tar" and ".gz". An
 * extension is short and has no spaces; anything else is part of the stem. */
static void
split_extension (const char  *name,
                 char       **stem,
                 char       **extension)
{
  const char *dot = strrchr (name, '.');

  if (dot == NULL || dot == name || strlen (dot) > EXTENSION_MAX || strchr (dot, ' ') != NULL)
    {
      *stem = g_strdup (name);
      *extension = g_strdup ("");
      return;
    }

  *stem = g_strndup (name, dot - name);
  *extension = g_strdup (dot);
}

/* @stem + @extension in at most @max bytes, the stem shortened */
static char *
join_within (const char *stem,
             const char *extension,
             gsize       max)
{
  g_autofree char *short_stem = utf8_truncate (stem, max - strlen (extension));

  return g_strconcat (short_stem, extension, NULL);
}

/**
 * natter_file_name_sanitize:
 * @name: a file name as a peer sent it: any bytes
 *
 * Returns: (transfer full): a safe, non-empty name for one file in a folder
 */
char *
natter_file_name_sanitize (const char *name)
{
  g_autofree char *valid = g_utf8_make_valid (name != NULL ? name : "", -1);
  g_autofree char *stem = NULL;
  g_autofree char *extension = NULL;
  g_autofree char *upper_stem = NULL;
  g_autoptr(GString) out = g_string_new (NULL);
  char *start;
  char *dot;
  gsize length;

  for (const char *p = valid; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (is_dropped (c))
        continue;
      if (is_replaced (c))
        c = '_';
      /* ".." is never left: runs of dots become one */
      if (c == '.' && out->len > 0 && out->str[out->len - 1] == '.')
        continue;
      g_string_append_unichar (out, c);
    }

  /* No leading dot or space (hidden files, look-alikes); no trailing dot or
   * space (Windows drops them, which changes the name) */
  start = out->str;
  while (*start == '.' || *start == ' ')
    start++;
  length = strlen (start);
  while (length > 0 && (start[length - 1] == '.' || start[length - 1] == ' '))
    start[--length] = '\0';

  if (*start == '\0')
    return g_strdup ("file");

  split_extension (start, &stem, &extension);

  /* CON, con.txt, Com1.tar.gz: a device on Windows whatever follows */
  dot = strchr (stem, '.');
  upper_stem = g_ascii_strup (stem, dot != NULL ? dot - stem : -1);
  if (g_strv_contains (reserved, upper_stem))
    {
      char *prefixed = g_strconcat ("_", stem, NULL);

      g_free (stem);
      stem = prefixed;
    }

  return join_within (stem, extension, NATTER_FILE_NAME_MAX);
}

/**
 * natter_file_name_partial:
 * @name: a name from natter_file_name_sanitize()
 *
 * Returns: (transfer full): the name of the hidden partial file a
 *   download is written to before it is checked: ".@name.natterpart"
 */
char *
natter_file_name_partial (const char *name)
{
  g_autofree char *stem = utf8_truncate (name, NATTER_FILE_NAME_MAX - 1 - strlen (PARTIAL_SUFFIX));

  return g_strconcat (".", stem, PARTIAL_SUFFIX, NULL);
}

static gboolean
is_taken (GFile      *folder,
          const char *name)
{
  g_autoptr(GFile) file = g_file_get_child (folder, name);
  g_autofree char *partial_name = natter_file_name_partial (name);
  g_autoptr(GFile) partial = g_file_get_child (folder, partial_name);

  return g_file_query_exists (file, NULL) || g_file_query_exists (partial, NULL);
}

/**
 * natter_file_name_unique:
 * @folder: where the file goes
 * @name: a name from natter_file_name_sanitize()
 *
 * Returns: (transfer full): @folder's child @name, or "stem (1).ext",
 *   "stem (2).ext" ..., whichever neither exists nor is being downloaded
 */
GFile *
natter_file_name_unique (GFile      *folder,
                         const char *name)
{
  g_autofree char *stem = NULL;
  g_autofree char *extension = NULL;

  g_return_val_if_fail (G_IS_FILE (folder), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  if (!is_taken (folder, name))
    return g_file_get_child (folder, name);

  split_extension (name, &stem, &extension);
  for (guint i = 1; i <= UNIQUE_MAX; i++)
    {
      g_autofree char *suffixed = g_strdup_printf (" (%u)%s", i, extension);
      g_autofree char *candidate = join_within (stem, suffixed, NATTER_FILE_NAME_MAX);

      if (!is_taken (folder, candidate))
        return g_file_get_child (folder, candidate);
    }

  /* Ten thousand files of one name: a random one */
  {
    g_autofree char *uuid = g_uuid_string_random ();
    g_autofree char *candidate = g_strconcat (uuid, extension, NULL);

    return g_file_get_child (folder, candidate);
  }
}
