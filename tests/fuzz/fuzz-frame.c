/* fuzz-frame.c: feeds arbitrary bytes to the signaling frame parser
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Every input is parsed as a frame to the server and as a frame to a client.
 * What parses must serialize, and the serialized text must parse again to a
 * frame of the same type with the same members: a server that accepted a
 * frame must be able to relay it.
 */
#define G_LOG_DOMAIN "fuzz-frame"

#include "config.h"

#include <string.h>

#include "natter-protocol.h"

#include "fuzz-target.h"

static void
check_reparse (NatterFrame          *frame,
               NatterFrameDirection  direction)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NatterFrame) again = NULL;
  g_autofree char *text = NULL;
  g_autofree char *text_again = NULL;
  gsize length = 0;

  text = natter_frame_to_string (frame, &length);
  fuzz_assert_text (text, length);

  /* Serializing may make a frame longer (numbers in their canonical form,
   * escapes), so the size limit is not what is checked here. */
  again = natter_frame_parse (text, length, direction, MAX (length, 1), NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (again);
  g_assert_cmpint (natter_frame_get_frame_type (again), ==, natter_frame_get_frame_type (frame));
  g_assert_cmpstr (natter_frame_get_id (again), ==, natter_frame_get_id (frame));
  g_assert_cmpstr (natter_frame_get_ref (again), ==, natter_frame_get_ref (frame));

  fuzz_assert_same_object (natter_frame_get_object (frame), natter_frame_get_object (again));

  /* And the serialization is stable */
  text_again = natter_frame_to_string (again, NULL);
  g_assert_cmpstr (text_again, ==, text);
}

static void
parse_one (const char           *data,
           gsize                 size,
           NatterFrameDirection  direction)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NatterFrame) frame = NULL;
  g_autofree char *ref = NULL;

  frame = natter_frame_parse (data, size, direction, NATTER_FRAME_DEFAULT_MAX_SIZE, &ref, &error);

  if (frame == NULL)
    {
      NatterProtocolError code;

      /* A failure is always one of the protocol's typed errors, with a
       * code that exists on the wire and a ref usable in a reply. */
      g_assert_nonnull (error);
      g_assert_true (error->domain == NATTER_PROTOCOL_ERROR);
      g_assert_nonnull (error->message);
      g_assert_true (natter_protocol_error_from_code (natter_protocol_error_to_code (error->code),
                                                      &code));
      g_assert_cmpint (code, ==, error->code);
      if (ref != NULL)
        {
          g_autoptr(NatterFrame) reply = natter_frame_new_error (code, ref, error->message);

          g_assert_cmpuint (strlen (ref), <=, NATTER_FRAME_ID_MAX_LENGTH);
          g_assert_true (g_utf8_validate (ref, -1, NULL));
          check_reparse (reply, NATTER_FRAME_TO_CLIENT);
        }
      return;
    }

  g_assert_no_error (error);
  g_assert_cmpint (natter_frame_get_frame_type (frame), >, NATTER_FRAME_INVALID);
  g_assert_cmpint (natter_frame_get_frame_type (frame), <, NATTER_FRAME_N_TYPES);
  check_reparse (frame, direction);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autofree char *copy = fuzz_copy_input (data, size);

  parse_one (copy, size, NATTER_FRAME_TO_SERVER);
  parse_one (copy, size, NATTER_FRAME_TO_CLIENT);

  return 0;
}
