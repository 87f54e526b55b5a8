/* fuzz-common.c: what every libnatter-protocol fuzz target shares
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "fuzz-common"

#include "config.h"

#include <string.h>

#include "natter-protocol.h"

#include "fuzz-target.h"

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  /* A failed precondition (g_return_if_fail) or a warning is a finding too */
  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);

  if (!natter_protocol_init ())
    g_error ("Could not initialise the protocol library");

  return 0;
}

char *
fuzz_copy_input (const uint8_t *data,
                 size_t         size)
{
  /* Exactly @size bytes, so reading past the end is caught; g_memdup2()
   * gives NULL for no bytes, and the parsers want a pointer. */
  return size > 0 ? g_memdup2 (data, size) : g_strdup ("");
}

void
fuzz_assert_text (const char *text,
                  gsize       length)
{
  g_assert_nonnull (text);
  g_assert_cmpuint (length, ==, strlen (text));
  g_assert_true (g_utf8_validate (text, length, NULL));
}

void
fuzz_assert_same_object (JsonObject *object,
                         JsonObject *again)
{
  g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), object);
  g_autoptr(JsonNode) node_again = json_node_init_object (json_node_alloc (), again);

  g_assert_true (json_node_equal (node, node_again));
}
