/* test-scan.c: the relay's fast path, natter_frame_scan_signal()
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <string.h>

#include "natter-protocol.h"

#define TO "bxbco7ynlc4sbbvbg6ygegpqp5hezl4stdaw7flyxonz4lri5hyfh2b3"

static gboolean
scan (const char       *text,
      NatterSignalScan *out)
{
  return natter_frame_scan_signal (text, strlen (text), NATTER_FRAME_DEFAULT_MAX_SIZE, out);
}

static void
test_scan_finds_members (void)
{
  const char *text = " {\"id\":\"s1\", \"type\" : \"signal\",\"to\":\"" TO "\","
                     "\"payload\":{\"type\":\"offer\",\"sdp\":\"v=0\\r\\n\",\"n\":[1,2.5,{}]},"
                     "\"from\":\"ignored\"} ";
  NatterSignalScan s;

  g_assert_true (scan (text, &s));
  g_assert_cmpmem (s.to, s.to_length, TO, strlen (TO));
  g_assert_cmpmem (s.id, s.id_length, "s1", 2);
  g_assert_cmpmem (s.payload, s.payload_length,
                   "{\"type\":\"offer\",\"sdp\":\"v=0\\r\\n\",\"n\":[1,2.5,{}]}",
                   strlen ("{\"type\":\"offer\",\"sdp\":\"v=0\\r\\n\",\"n\":[1,2.5,{}]}"));

  /* Without an id */
  g_assert_true (scan ("{\"type\":\"signal\",\"to\":\"" TO "\",\"payload\":{}}", &s));
  g_assert_null (s.id);
  g_assert_cmpuint (s.payload_length, ==, 2);
}

/* Everything the fast path declines goes to natter_frame_parse(), which
 * gives the precise error or handles the unusual-but-valid case. */
static void
test_scan_declines (void)
{
  g_autofree char *id = g_strnfill (65, 'i');
  g_autofree char *long_id = g_strdup_printf ("{\"type\":\"signal\",\"id\":\"%s\",\"to\":\"" TO "\","
                                              "\"payload\":{}}", id);
  const char *declined[] = {
    "",
    "[]",
    "{\"type\":\"ping\"}",
    "{\"type\":\"signal\",\"to\":\"" TO "\"}",
    "{\"type\":\"signal\",\"to\":\"" TO "\",\"payload\":[]}",
    "{\"type\":\"signal\",\"to\":\"" TO "\",\"payload\":\"x\"}",
    "{\"type\":\"signal\",\"to\":7,\"payload\":{}}",
    "{\"type\":\"signal\",\"to\":\"\\u0062" TO "\",\"payload\":{}}",
    "{\"type\":\"sign\\u0061l\",\"to\":\"" TO "\",\"payload\":{}}",
    "{\"type\":\"signal\",\"to\":\"" TO "\",\"payload\":{},\"payload\":{}}",
    "{\"type\":\"signal\",\"type\":\"signal\",\"to\":\"" TO "\",\"payload\":{}}",
    "{\"type\":\"signal\",\"to\":\"" TO "\",\"payload\":{}} {}",
    "{\"type\":\"signal\",\"to\":\"" TO "\",\"payload\":{'a':1}}",
    "{\"type\":\"signal\",\"to\":\"" TO "\",\"payload\":{\"a\":1e22}}",
    "{\"type\":\"signal\",\"to\":\"" TO "\",\"payload\":{\"a\":\"\\ud800\"}}",
    "{\"type\":\"signal\",\"to\":\"" TO "\",\"payload\":{\"a\":\"\xff\"}}",
    "{\"type\":\"signal\",\"id\":null,\"to\":\"" TO "\",\"payload\":{}}",
    "{\"type\":\"signal\",\"to\":\"" TO "\",\"payload\":{}",
    long_id,
  };
  NatterSignalScan s;

  for (guint i = 0; i < G_N_ELEMENTS (declined); i++)
    {
      g_test_message ("declining case %u", i);
      g_assert_false (scan (declined[i], &s));
    }
}

static void
test_scan_respects_size (void)
{
  const char *text = "{\"type\":\"signal\",\"to\":\"" TO "\",\"payload\":{}}";
  NatterSignalScan s;

  g_assert_true (natter_frame_scan_signal (text, strlen (text), strlen (text), &s));
  g_assert_false (natter_frame_scan_signal (text, strlen (text), strlen (text) - 1, &s));
}

/* Deep nesting is refused by both paths alike. */
static void
test_scan_depth (void)
{
  g_autoptr(GString) text = g_string_new ("{\"type\":\"signal\",\"to\":\"" TO "\",\"payload\":");
  NatterSignalScan s;

  for (guint i = 0; i < 40; i++)
    g_string_append (text, "{\"a\":");
  g_string_append (text, "1");
  for (guint i = 0; i < 40; i++)
    g_string_append_c (text, '}');
  g_string_append_c (text, '}');

  g_assert_false (scan (text->str, &s));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/Natter/Protocol/Scan/finds-members", test_scan_finds_members);
  g_test_add_func ("/Natter/Protocol/Scan/declines", test_scan_declines);
  g_test_add_func ("/Natter/Protocol/Scan/size", test_scan_respects_size);
  g_test_add_func ("/Natter/Protocol/Scan/depth", test_scan_depth);

  return g_test_run ();
}
