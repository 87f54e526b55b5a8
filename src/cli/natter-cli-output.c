/* natter-cli-output.c: what natter-cli prints, safely
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Names, bodies and invitation texts come from other people. Printed for a
 * person they must not drive the terminal (an escape sequence can retitle
 * the window, move the cursor or fake other lines); printed as JSON lines
 * they must stay valid JSON whatever they hold.
 */
#define G_LOG_DOMAIN "natter-cli"

#include "config.h"

#include <stdio.h>

#include "natter-cli-output.h"
#include "natter-json.h"
#include "natter-safe-text.h"

/**
 * natter_cli_print_json:
 * @object: one event or record
 *
 * Prints @object as one line of strict JSON: every control character is
 * escaped.
 */
void
natter_cli_print_json (JsonObject *object)
{
  g_autofree char *text = natter_json_object_to_string (object, NULL);

  g_print ("%s\n", text);
  fflush (stdout);
}

/**
 * natter_cli_printable:
 * @text: (nullable): text from a peer or the server
 *
 * Returns: (transfer full): @text for a terminal: valid UTF-8, a line break
 *   as "↵", no control characters (natter_safe_text())
 */
char *
natter_cli_printable (const char *text)
{
  return natter_safe_text (text, "\u21b5");
}

/* A history timestamp (µs since the epoch) as local "YYYY-MM-DD HH:MM" */
char *
natter_cli_format_time (gint64 timestamp)
{
  g_autoptr(GDateTime) time = g_date_time_new_from_unix_local (timestamp / G_USEC_PER_SEC);

  return time != NULL ? g_date_time_format (time, "%Y-%m-%d %H:%M") : g_strdup ("-");
}
