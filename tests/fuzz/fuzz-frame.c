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

/* The relay's fast path must agree with the full parse: what it accepts
 * parses as a signal (or names a `to` that is no user ID, which the relay
 * checks itself), with the same members, and the frame the server relays,
 * built around the payload's text verbatim, is a valid frame to a client. */
static void
check_signal_scan (const char *data,
                   gsize       size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NatterFrame) frame = NULL;
  g_autoptr(NatterFrame) relayed = NULL;
  g_autoptr(JsonNode) payload = NULL;
  g_autoptr(JsonNode) parsed_payload = NULL;
  g_autoptr(GString) relay = NULL;
  g_autofree char *to = NULL;
  g_autofree char *id = NULL;
  NatterSignalScan scan = { NULL, };

  if (!natter_frame_scan_signal (data, size, NATTER_FRAME_DEFAULT_MAX_SIZE, &scan))
    return;

  g_assert_true (scan.to >= data && scan.to + scan.to_length <= data + size);
  g_assert_true (scan.payload >= data && scan.payload + scan.payload_length <= data + size);
  g_assert_true (scan.id == NULL || (scan.id >= data && scan.id + scan.id_length <= data + size));

  to = g_strndup (scan.to, scan.to_length);
  id = scan.id != NULL ? g_strndup (scan.id, scan.id_length) : NULL;

  frame = natter_frame_parse (data, size, NATTER_FRAME_TO_SERVER, NATTER_FRAME_DEFAULT_MAX_SIZE,
                              NULL, &error);
  if (frame == NULL)
    {
      g_assert_error (error, NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_INVALID_USER);
      g_assert_false (natter_user_id_is_valid (to));
      return;
    }

  g_assert_cmpint (natter_frame_get_frame_type (frame), ==, NATTER_FRAME_SIGNAL);
  g_assert_cmpstr (natter_frame_get_string (frame, "to"), ==, to);
  g_assert_cmpstr (natter_frame_get_id (frame), ==, id);

  payload = json_node_init_object (json_node_alloc (),
                                   natter_frame_get_object_member (frame, "payload"));
  relay = g_string_new ("{\"type\":\"signal\",\"from\":\"");
  g_string_append (relay, to);
  g_string_append (relay, "\",\"payload\":");
  g_string_append_len (relay, scan.payload, scan.payload_length);
  g_string_append_c (relay, '}');

  relayed = natter_frame_parse (relay->str, relay->len, NATTER_FRAME_TO_CLIENT,
                                MAX (relay->len, NATTER_FRAME_DEFAULT_MAX_SIZE), NULL, &error);
  g_assert_no_error (error);
  parsed_payload = json_node_init_object (json_node_alloc (),
                                          natter_frame_get_object_member (relayed, "payload"));
  g_assert_true (json_node_equal (payload, parsed_payload));
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autofree char *copy = fuzz_copy_input (data, size);

  parse_one (copy, size, NATTER_FRAME_TO_SERVER);
  parse_one (copy, size, NATTER_FRAME_TO_CLIENT);
  check_signal_scan (copy, size);

  return 0;
}
