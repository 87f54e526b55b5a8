/* fuzz-envelope.c: feeds arbitrary bytes to the chat envelope parser
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A peer's data channel message is parsed as an envelope. A failure must be
 * a typed protocol error; an envelope that parses must serialize to UTF-8
 * that parses again to the same type and members.
 */
#define G_LOG_DOMAIN "fuzz-envelope"

#include "config.h"

#include "natter-protocol.h"

#include "fuzz-target.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autofree char *copy = fuzz_copy_input (data, size);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) envelope = NULL;
  g_autoptr(JsonObject) again = NULL;
  g_autofree char *text = NULL;
  NatterEnvelopeType type = NATTER_ENVELOPE_N_TYPES;
  NatterEnvelopeType type_again = NATTER_ENVELOPE_N_TYPES;
  gsize length = 0;

  envelope = natter_envelope_parse (copy, size, &type, &error);
  if (envelope == NULL)
    {
      g_assert_nonnull (error);
      g_assert_true (error->domain == NATTER_PROTOCOL_ERROR);
      g_assert_nonnull (natter_protocol_error_to_code (error->code));
      g_assert_cmpint (type, ==, NATTER_ENVELOPE_INVALID);
      return 0;
    }

  g_assert_no_error (error);
  g_assert_nonnull (natter_envelope_type_to_string (type));

  text = natter_envelope_to_string (envelope, &length);
  fuzz_assert_text (text, length);

  /* Serializing may lengthen numbers, so a re-serialized envelope may
   * exceed the size limit; only shorter ones must parse again. */
  again = natter_envelope_parse (text, length, &type_again, &error);
  if (length > NATTER_ENVELOPE_MAX_SIZE)
    {
      g_assert_error (error, NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_FRAME_TOO_LARGE);
      return 0;
    }
  g_assert_no_error (error);
  g_assert_cmpint (type_again, ==, type);

  fuzz_assert_same_object (envelope, again);

  return 0;
}
