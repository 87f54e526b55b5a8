/* test-server-ws.c: natter-server's WebSocket framing and its epoll source
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The framing is fed what a hostile client could send (unmasked frames,
 * reserved bits, unknown opcodes, lengths over the limit or with the top
 * bit set, fragmented or long control frames, bad close frames, bad
 * UTF-8, fragments out of order, every truncation of valid frames, and
 * random bytes); the poller is run on real sockets.
 */
#define G_LOG_DOMAIN "test-server-ws"

#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gio/gio.h>

#include "natter-server-poller.h"
#include "natter-server-ws.h"

#define MAX_MESSAGE 1000

static const guint8 test_key[4] = { 0x37, 0xfa, 0x21, 0x3d };

/* A client frame: @first is FIN, RSV and opcode; @length_form 0 picks the
 * shortest length encoding, 16 or 64 force one. */
static void
append_frame (GByteArray   *out,
              guint8        first,
              gboolean      masked,
              const guint8 *payload,
              gsize         length,
              int           length_form)
{
  guint8 mask_bit = masked ? 0x80 : 0;

  g_byte_array_append (out, &first, 1);
  if (length_form == 0 && length < 126)
    {
      guint8 b = mask_bit | length;

      g_byte_array_append (out, &b, 1);
    }
  else if (length_form == 16 || (length_form == 0 && length < 65536))
    {
      guint8 b[3] = { mask_bit | 126, length >> 8, length & 0xff };

      g_byte_array_append (out, b, 3);
    }
  else
    {
      guint8 b[9] = { mask_bit | 127 };

      for (int i = 0; i < 8; i++)
        b[1 + i] = ((guint64) length >> (56 - 8 * i)) & 0xff;
      g_byte_array_append (out, b, 9);
    }

  if (masked)
    g_byte_array_append (out, test_key, 4);
  for (gsize i = 0; i < length; i++)
    {
      guint8 b = payload[i] ^ (masked ? test_key[i % 4] : 0);

      g_byte_array_append (out, &b, 1);
    }
}

static GByteArray *
frame (guint8      first,
       const char *text)
{
  GByteArray *out = g_byte_array_new ();

  append_frame (out, first, TRUE, (const guint8 *) text, strlen (text), 0);
  return out;
}

/* Reads one frame from @data and checks what came. */
static NatterServerWsResult
read_one (NatterServerWsReader *reader,
          GByteArray           *data,
          NatterServerWsEvent  *event)
{
  gsize consumed = 12345;
  NatterServerWsResult result = natter_server_ws_read (reader, data->data, data->len, &consumed,
                                                       event);

  g_assert_cmpuint (consumed, <=, data->len);
  if (result == NATTER_SERVER_WS_NEED_MORE || result == NATTER_SERVER_WS_FAIL)
    g_assert_cmpuint (consumed, ==, 0);
  else
    g_assert_cmpuint (consumed, ==, data->len);

  return result;
}

static void
assert_fails (GByteArray *data,
              gushort     code)
{
  NatterServerWsReader reader;
  NatterServerWsEvent event;

  natter_server_ws_reader_init (&reader, MAX_MESSAGE);
  g_assert_cmpint (read_one (&reader, data, &event), ==, NATTER_SERVER_WS_FAIL);
  g_assert_cmpuint (event.code, ==, code);
  g_assert_nonnull (event.reason);
  natter_server_ws_reader_clear (&reader);
  g_byte_array_unref (data);
}

static void
test_text (void)
{
  g_autoptr(GByteArray) data = frame (0x81, "hello, natter");
  NatterServerWsReader reader;
  NatterServerWsEvent event;

  natter_server_ws_reader_init (&reader, MAX_MESSAGE);
  g_assert_cmpint (read_one (&reader, data, &event), ==, NATTER_SERVER_WS_TEXT);
  g_assert_cmpmem (event.data, event.length, "hello, natter", 13);
  natter_server_ws_reader_clear (&reader);
}

static void
test_binary_and_empty (void)
{
  g_autoptr(GByteArray) binary = g_byte_array_new ();
  g_autoptr(GByteArray) empty = frame (0x81, "");
  const guint8 bytes[] = { 0x00, 0xff, 0xc3, 0x28 };   /* not UTF-8, fine for binary */
  NatterServerWsReader reader;
  NatterServerWsEvent event;

  append_frame (binary, 0x82, TRUE, bytes, sizeof bytes, 0);
  natter_server_ws_reader_init (&reader, MAX_MESSAGE);
  g_assert_cmpint (read_one (&reader, binary, &event), ==, NATTER_SERVER_WS_BINARY);
  g_assert_cmpmem (event.data, event.length, bytes, sizeof bytes);
  g_assert_cmpint (read_one (&reader, empty, &event), ==, NATTER_SERVER_WS_TEXT);
  g_assert_cmpuint (event.length, ==, 0);
  natter_server_ws_reader_clear (&reader);
}

static void
test_unmasked (void)
{
  GByteArray *data = g_byte_array_new ();

  append_frame (data, 0x81, FALSE, (const guint8 *) "hi", 2, 0);
  assert_fails (data, NATTER_SERVER_WS_CLOSE_PROTOCOL_ERROR);
}

static void
test_reserved_bits (void)
{
  for (guint bit = 0x10; bit <= 0x40; bit <<= 1)
    assert_fails (frame (0x81 | bit, "hi"), NATTER_SERVER_WS_CLOSE_PROTOCOL_ERROR);
}

static void
test_unknown_opcodes (void)
{
  const guint8 opcodes[] = { 0x3, 0x4, 0x5, 0x6, 0x7, 0xb, 0xc, 0xd, 0xe, 0xf };

  for (guint i = 0; i < G_N_ELEMENTS (opcodes); i++)
    assert_fails (frame (0x80 | opcodes[i], "x"), NATTER_SERVER_WS_CLOSE_PROTOCOL_ERROR);
}

/* A length over the limit fails from the header alone: the payload never
 * needs to arrive. */
static void
test_oversized (void)
{
  GByteArray *data;
  guint8 *big = g_malloc0 (MAX_MESSAGE + 1);
  NatterServerWsReader reader;
  NatterServerWsEvent event;

  /* 64-bit length of 4 GiB, header and mask only */
  data = g_byte_array_new ();
  g_byte_array_append (data, (const guint8 *) "\x81\xff\x00\x00\x00\x01\x00\x00\x00\x00", 10);
  assert_fails (data, NATTER_SERVER_WS_CLOSE_TOO_BIG);

  /* Just over, in the 16-bit form, without its payload */
  data = g_byte_array_new ();
  g_byte_array_append (data, (const guint8 *) "\x81\xfe\x03\xe9", 4);
  assert_fails (data, NATTER_SERVER_WS_CLOSE_TOO_BIG);

  /* The top bit of a 64-bit length is never valid */
  data = g_byte_array_new ();
  g_byte_array_append (data, (const guint8 *) "\x81\xff\x80\x00\x00\x00\x00\x00\x00\x05", 10);
  assert_fails (data, NATTER_SERVER_WS_CLOSE_PROTOCOL_ERROR);

  /* Exactly the limit passes, in the 64-bit form too */
  memset (big, 'a', MAX_MESSAGE);
  data = g_byte_array_new ();
  append_frame (data, 0x81, TRUE, big, MAX_MESSAGE, 64);
  natter_server_ws_reader_init (&reader, MAX_MESSAGE);
  g_assert_cmpint (read_one (&reader, data, &event), ==, NATTER_SERVER_WS_TEXT);
  g_assert_cmpuint (event.length, ==, MAX_MESSAGE);
  natter_server_ws_reader_clear (&reader);
  g_byte_array_unref (data);

  g_free (big);
}

static void
test_control_frames (void)
{
  GByteArray *data;
  guint8 long_payload[126] = { 0 };
  NatterServerWsReader reader;
  NatterServerWsEvent event;

  /* Fragmented ping, pong and close */
  assert_fails (frame (0x09, "ping"), NATTER_SERVER_WS_CLOSE_PROTOCOL_ERROR);
  assert_fails (frame (0x0a, "pong"), NATTER_SERVER_WS_CLOSE_PROTOCOL_ERROR);
  assert_fails (frame (0x08, "\x03\xe8"), NATTER_SERVER_WS_CLOSE_PROTOCOL_ERROR);

  /* Over 125 bytes, in either length form */
  data = g_byte_array_new ();
  append_frame (data, 0x89, TRUE, long_payload, sizeof long_payload, 0);
  assert_fails (data, NATTER_SERVER_WS_CLOSE_PROTOCOL_ERROR);
  data = g_byte_array_new ();
  append_frame (data, 0x89, TRUE, long_payload, 10, 64);
  assert_fails (data, NATTER_SERVER_WS_CLOSE_PROTOCOL_ERROR);

  /* Close frames: one byte, codes no one may send, a reason not UTF-8 */
  assert_fails (frame (0x88, "\x03"), NATTER_SERVER_WS_CLOSE_PROTOCOL_ERROR);
  assert_fails (frame (0x88, "\x03\xe7"), NATTER_SERVER_WS_CLOSE_PROTOCOL_ERROR);    /* 999 */
  assert_fails (frame (0x88, "\x03\xed"), NATTER_SERVER_WS_CLOSE_PROTOCOL_ERROR);    /* 1005 */
  assert_fails (frame (0x88, "\x03\xee"), NATTER_SERVER_WS_CLOSE_PROTOCOL_ERROR);    /* 1006 */
  assert_fails (frame (0x88, "\x07\xd0"), NATTER_SERVER_WS_CLOSE_PROTOCOL_ERROR);    /* 2000 */
  assert_fails (frame (0x88, "\x13\x88"), NATTER_SERVER_WS_CLOSE_PROTOCOL_ERROR);    /* 5000 */
  assert_fails (frame (0x88, "\x03\xe8\xc3\x28"), NATTER_SERVER_WS_CLOSE_BAD_DATA);

  natter_server_ws_reader_init (&reader, MAX_MESSAGE);

  data = frame (0x88, "\x0f\xa1" "bye");   /* 4001 */
  g_assert_cmpint (read_one (&reader, data, &event), ==, NATTER_SERVER_WS_CLOSE);
  g_assert_cmpuint (event.code, ==, 4001);
  g_assert_cmpmem (event.data, event.length, "bye", 3);
  g_byte_array_unref (data);

  data = frame (0x88, "");
  g_assert_cmpint (read_one (&reader, data, &event), ==, NATTER_SERVER_WS_CLOSE);
  g_assert_cmpuint (event.code, ==, NATTER_SERVER_WS_CLOSE_NO_STATUS);
  g_byte_array_unref (data);

  data = frame (0x89, "are you there");
  g_assert_cmpint (read_one (&reader, data, &event), ==, NATTER_SERVER_WS_PING);
  g_assert_cmpmem (event.data, event.length, "are you there", 13);
  g_byte_array_unref (data);

  data = frame (0x8a, "");
  g_assert_cmpint (read_one (&reader, data, &event), ==, NATTER_SERVER_WS_PONG);
  g_byte_array_unref (data);

  natter_server_ws_reader_clear (&reader);
}

static void
test_bad_utf8 (void)
{
  assert_fails (frame (0x81, "caf\xc3"), NATTER_SERVER_WS_CLOSE_BAD_DATA);
  assert_fails (frame (0x81, "\xed\xa0\x80"), NATTER_SERVER_WS_CLOSE_BAD_DATA);  /* a surrogate */
  assert_fails (frame (0x81, "\xc0\xaf"), NATTER_SERVER_WS_CLOSE_BAD_DATA);      /* overlong */
}

/* Fragments with a ping between them; UTF-8 is checked on the whole
 * message, so a character split across fragments is fine. */
static void
test_fragments (void)
{
  NatterServerWsReader reader;
  NatterServerWsEvent event;
  GByteArray *data;

  natter_server_ws_reader_init (&reader, MAX_MESSAGE);

  data = frame (0x01, "caf\xc3");
  g_assert_cmpint (read_one (&reader, data, &event), ==, NATTER_SERVER_WS_FRAGMENT);
  g_byte_array_unref (data);
  data = frame (0x89, "");
  g_assert_cmpint (read_one (&reader, data, &event), ==, NATTER_SERVER_WS_PING);
  g_byte_array_unref (data);
  data = frame (0x00, "\xa9 ");
  g_assert_cmpint (read_one (&reader, data, &event), ==, NATTER_SERVER_WS_FRAGMENT);
  g_byte_array_unref (data);
  data = frame (0x80, "au lait");
  g_assert_cmpint (read_one (&reader, data, &event), ==, NATTER_SERVER_WS_TEXT);
  g_assert_cmpmem (event.data, event.length, "caf\xc3\xa9 au lait", 13);
  g_byte_array_unref (data);

  /* The reader gives its memory back with the next frame. */
  data = frame (0x81, "next");
  g_assert_cmpint (read_one (&reader, data, &event), ==, NATTER_SERVER_WS_TEXT);
  g_assert_null (reader.message);
  g_byte_array_unref (data);
  natter_server_ws_reader_clear (&reader);

  /* A continuation that continues nothing */
  assert_fails (frame (0x80, "orphan"), NATTER_SERVER_WS_CLOSE_PROTOCOL_ERROR);

  /* A new message before the last one ended */
  natter_server_ws_reader_init (&reader, MAX_MESSAGE);
  data = frame (0x01, "first");
  g_assert_cmpint (read_one (&reader, data, &event), ==, NATTER_SERVER_WS_FRAGMENT);
  g_byte_array_unref (data);
  data = frame (0x81, "second");
  g_assert_cmpint (read_one (&reader, data, &event), ==, NATTER_SERVER_WS_FAIL);
  g_assert_cmpuint (event.code, ==, NATTER_SERVER_WS_CLOSE_PROTOCOL_ERROR);
  g_byte_array_unref (data);
  natter_server_ws_reader_clear (&reader);

  /* Fragments that add up to more than a message may carry */
  natter_server_ws_reader_init (&reader, MAX_MESSAGE);
  {
    guint8 chunk[400];

    memset (chunk, 'x', sizeof chunk);
    data = g_byte_array_new ();
    append_frame (data, 0x01, TRUE, chunk, sizeof chunk, 0);
    g_assert_cmpint (read_one (&reader, data, &event), ==, NATTER_SERVER_WS_FRAGMENT);
    g_byte_array_unref (data);
    data = g_byte_array_new ();
    append_frame (data, 0x00, TRUE, chunk, sizeof chunk, 0);
    g_assert_cmpint (read_one (&reader, data, &event), ==, NATTER_SERVER_WS_FRAGMENT);
    g_byte_array_unref (data);
    data = g_byte_array_new ();
    append_frame (data, 0x80, TRUE, chunk, sizeof chunk, 0);
    g_assert_cmpint (read_one (&reader, data, &event), ==, NATTER_SERVER_WS_FAIL);
    g_assert_cmpuint (event.code, ==, NATTER_SERVER_WS_CLOSE_TOO_BIG);
    g_byte_array_unref (data);
  }
  natter_server_ws_reader_clear (&reader);

  /* Bad UTF-8 found only once the message is whole */
  natter_server_ws_reader_init (&reader, MAX_MESSAGE);
  data = frame (0x01, "ok so far ");
  g_assert_cmpint (read_one (&reader, data, &event), ==, NATTER_SERVER_WS_FRAGMENT);
  g_byte_array_unref (data);
  data = frame (0x80, "\xff");
  g_assert_cmpint (read_one (&reader, data, &event), ==, NATTER_SERVER_WS_FAIL);
  g_assert_cmpuint (event.code, ==, NATTER_SERVER_WS_CLOSE_BAD_DATA);
  g_byte_array_unref (data);
  natter_server_ws_reader_clear (&reader);
}

/* Every prefix of a valid frame is incomplete and left as it was (not
 * unmasked); only the whole frame reads. */
static void
test_truncated (void)
{
  const gsize sizes[] = { 0, 5, 125, 126, 300, 65535, 65536, 70000 };

  for (guint s = 0; s < G_N_ELEMENTS (sizes); s++)
    {
      g_autoptr(GByteArray) data = g_byte_array_new ();
      g_autofree guint8 *payload = g_malloc (sizes[s] + 1);
      g_autofree guint8 *copy = NULL;
      NatterServerWsReader reader;
      NatterServerWsEvent event;
      gsize step = sizes[s] > 1000 ? 997 : 1;

      for (gsize i = 0; i < sizes[s]; i++)
        payload[i] = 'a' + i % 26;
      append_frame (data, 0x81, TRUE, payload, sizes[s], 0);
      copy = g_memdup2 (data->data, data->len);

      natter_server_ws_reader_init (&reader, 100000);
      for (gsize n = 0; n < data->len; n = (n < 16 ? n + 1 : n + step))
        {
          gsize consumed = 1;

          g_assert_cmpint (natter_server_ws_read (&reader, data->data, n, &consumed, &event), ==,
                           NATTER_SERVER_WS_NEED_MORE);
          g_assert_cmpuint (consumed, ==, 0);
          g_assert_cmpmem (data->data, data->len, copy, data->len);
        }
      g_assert_cmpint (read_one (&reader, data, &event), ==, NATTER_SERVER_WS_TEXT);
      g_assert_cmpmem (event.data, event.length, payload, sizes[s]);
      natter_server_ws_reader_clear (&reader);
    }
}

/* Two frames in one read are taken one at a time. */
static void
test_back_to_back (void)
{
  g_autoptr(GByteArray) data = frame (0x81, "one");
  g_autoptr(GByteArray) second = frame (0x81, "two");
  NatterServerWsReader reader;
  NatterServerWsEvent event;
  gsize consumed;
  gsize first_length = data->len;

  g_byte_array_append (data, second->data, second->len);
  natter_server_ws_reader_init (&reader, MAX_MESSAGE);
  g_assert_cmpint (natter_server_ws_read (&reader, data->data, data->len, &consumed, &event), ==,
                   NATTER_SERVER_WS_TEXT);
  g_assert_cmpuint (consumed, ==, first_length);
  g_assert_cmpmem (event.data, event.length, "one", 3);
  g_assert_cmpint (natter_server_ws_read (&reader, data->data + consumed, data->len - consumed,
                                          &consumed, &event), ==, NATTER_SERVER_WS_TEXT);
  g_assert_cmpmem (event.data, event.length, "two", 3);
  natter_server_ws_reader_clear (&reader);
}

/* Random bytes, and valid frames with random bytes changed: the reader
 * never reads past what it was given and always says something sensible. */
static void
test_random (void)
{
  GRand *rand = g_rand_new_with_seed (6455);

  for (guint round = 0; round < 20000; round++)
    {
      g_autoptr(GByteArray) data = NULL;
      NatterServerWsReader reader;
      NatterServerWsEvent event;
      guint frames = 0;
      gsize offset = 0;

      if (round % 2 == 0)
        {
          gsize length = g_rand_int_range (rand, 0, 64);

          data = g_byte_array_sized_new (length);
          for (gsize i = 0; i < length; i++)
            {
              guint8 b = g_rand_int_range (rand, 0, 256);

              g_byte_array_append (data, &b, 1);
            }
        }
      else
        {
          data = frame (g_rand_boolean (rand) ? 0x81 : 0x01, "some text to spoil");
          data->data[g_rand_int_range (rand, 0, data->len)] = g_rand_int_range (rand, 0, 256);
        }

      natter_server_ws_reader_init (&reader, MAX_MESSAGE);
      for (;;)
        {
          gsize consumed;
          NatterServerWsResult result = natter_server_ws_read (&reader, data->data + offset,
                                                               data->len - offset, &consumed,
                                                               &event);

          g_assert_cmpuint (consumed, <=, data->len - offset);
          if (result == NATTER_SERVER_WS_NEED_MORE || result == NATTER_SERVER_WS_FAIL)
            {
              if (result == NATTER_SERVER_WS_FAIL)
                g_assert_true (event.code == NATTER_SERVER_WS_CLOSE_PROTOCOL_ERROR ||
                               event.code == NATTER_SERVER_WS_CLOSE_BAD_DATA ||
                               event.code == NATTER_SERVER_WS_CLOSE_TOO_BIG);
              break;
            }
          g_assert_cmpuint (consumed, >, 0);
          if (result == NATTER_SERVER_WS_TEXT)
            g_assert_true (g_utf8_validate_len ((const char *) event.data, event.length, NULL));
          offset += consumed;
          frames++;
          g_assert_cmpuint (frames, <=, data->len);
        }
      natter_server_ws_reader_clear (&reader);
    }

  g_rand_free (rand);
}

static void
test_server_frames (void)
{
  guint8 header[NATTER_SERVER_WS_MAX_HEADER];
  guint8 payload[NATTER_SERVER_WS_MAX_CONTROL];
  const struct { gsize length; gsize header; guint8 second; } cases[] = {
    { 0, 2, 0 }, { 125, 2, 125 }, { 126, 4, 126 }, { 65535, 4, 126 }, { 65536, 10, 127 },
    { 1 << 20, 10, 127 },
  };
  GString *reason = g_string_new (NULL);
  gsize length;

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_assert_cmpuint (natter_server_ws_write_header (header, NATTER_SERVER_WS_OPCODE_TEXT,
                                                       cases[i].length), ==, cases[i].header);
      g_assert_cmphex (header[0], ==, 0x81);
      g_assert_cmphex (header[1], ==, cases[i].second);   /* never masked */
      g_assert_cmpuint (natter_server_ws_frame_size (cases[i].length), ==,
                        cases[i].header + cases[i].length);
    }
  natter_server_ws_write_header (header, NATTER_SERVER_WS_OPCODE_TEXT, 65536);
  g_assert_cmpmem (header + 2, 8, "\x00\x00\x00\x00\x00\x01\x00\x00", 8);

  g_assert_cmpuint (natter_server_ws_close_payload (payload, NATTER_SERVER_WS_CLOSE_NO_STATUS,
                                                    "x"), ==, 0);
  g_assert_cmpuint (natter_server_ws_close_payload (payload, 4006, NULL), ==, 2);
  g_assert_cmpmem (payload, 2, "\x0f\xa6", 2);

  /* A long reason is cut on a character boundary to fit 125 bytes. */
  for (guint i = 0; i < 100; i++)
    g_string_append (reason, "\xc3\xa9");
  length = natter_server_ws_close_payload (payload, 1000, reason->str);
  g_assert_cmpuint (length, ==, 2 + 122);
  g_assert_true (g_utf8_validate_len ((const char *) payload + 2, length - 2, NULL));
  g_string_free (reason, TRUE);
}

/* The poller */

typedef struct
{
  NatterServerPoller *poller;
  NatterServerPollerWatch *watches[2];
  int fds[2];
  guint calls[2];
  guint32 events[2];
} PollerFixture;

static void
on_ready (guint32  events,
          gpointer user_data)
{
  PollerFixture *fixture = ((gpointer *) user_data)[0];
  guint index = GPOINTER_TO_UINT (((gpointer *) user_data)[1]);
  guint other = 1 - index;

  fixture->calls[index]++;
  fixture->events[index] |= events;

  /* Removing a watch whose event is in the same batch drops that event. */
  if (fixture->watches[other] != NULL && (events & EPOLLIN))
    {
      natter_server_poller_remove (fixture->poller, fixture->watches[other]);
      fixture->watches[other] = NULL;
    }
}

static void
iterate (GMainContext *context)
{
  while (g_main_context_iteration (context, FALSE))
    ;
}

static void
test_poller (void)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GError) error = NULL;
  PollerFixture fixture = { 0 };
  int pairs[2][2];
  gpointer data[2][2];
  char buffer[16];

  fixture.poller = natter_server_poller_new (context, &error);
  g_assert_no_error (error);

  for (guint i = 0; i < 2; i++)
    {
      g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, pairs[i]), ==, 0);
      data[i][0] = &fixture;
      data[i][1] = GUINT_TO_POINTER (i);
      fixture.watches[i] = natter_server_poller_add (fixture.poller, pairs[i][0], on_ready,
                                                     data[i], &error);
      g_assert_no_error (error);
    }
  g_assert_cmpuint (natter_server_poller_get_n_watches (fixture.poller), ==, 2);

  /* Both sockets start writable: one edge each, and the first removes
   * nothing (no input yet). */
  iterate (context);
  g_assert_cmpuint (fixture.calls[0], ==, 1);
  g_assert_cmpuint (fixture.calls[1], ==, 1);
  g_assert_true (fixture.events[0] & EPOLLOUT);

  /* Edge-triggered: nothing new, no call, however often the loop runs. */
  iterate (context);
  iterate (context);
  g_assert_cmpuint (fixture.calls[0] + fixture.calls[1], ==, 2);

  /* Input on both in one batch: whichever is called first removes the
   * other, which is then not called. */
  g_assert_cmpint (write (pairs[0][1], "a", 1), ==, 1);
  g_assert_cmpint (write (pairs[1][1], "b", 1), ==, 1);
  iterate (context);
  g_assert_cmpuint (fixture.calls[0] + fixture.calls[1], ==, 3);
  g_assert_cmpuint (natter_server_poller_get_n_watches (fixture.poller), ==, 1);

  /* Unread input gives no second call; more input does. */
  iterate (context);
  g_assert_cmpuint (fixture.calls[0] + fixture.calls[1], ==, 3);
  for (guint i = 0; i < 2; i++)
    {
      if (fixture.watches[i] == NULL)
        continue;
      g_assert_cmpint (read (pairs[i][0], buffer, sizeof buffer), ==, 1);
      g_assert_cmpint (write (pairs[i][1], "c", 1), ==, 1);
      iterate (context);
      g_assert_cmpuint (fixture.calls[0] + fixture.calls[1], ==, 4);

      /* The peer closing is an event too. */
      close (pairs[i][1]);
      pairs[i][1] = -1;
      iterate (context);
      g_assert_cmpuint (fixture.calls[0] + fixture.calls[1], ==, 5);
      g_assert_true (fixture.events[i] & (EPOLLRDHUP | EPOLLHUP));

      natter_server_poller_remove (fixture.poller, fixture.watches[i]);
      fixture.watches[i] = NULL;
    }
  g_assert_cmpuint (natter_server_poller_get_n_watches (fixture.poller), ==, 0);

  natter_server_poller_free (fixture.poller);
  for (guint i = 0; i < 2; i++)
    for (guint j = 0; j < 2; j++)
      if (pairs[i][j] >= 0)
        close (pairs[i][j]);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/Server/Ws/text", test_text);
  g_test_add_func ("/Server/Ws/binary-and-empty", test_binary_and_empty);
  g_test_add_func ("/Server/Ws/unmasked", test_unmasked);
  g_test_add_func ("/Server/Ws/reserved-bits", test_reserved_bits);
  g_test_add_func ("/Server/Ws/unknown-opcodes", test_unknown_opcodes);
  g_test_add_func ("/Server/Ws/oversized", test_oversized);
  g_test_add_func ("/Server/Ws/control-frames", test_control_frames);
  g_test_add_func ("/Server/Ws/bad-utf8", test_bad_utf8);
  g_test_add_func ("/Server/Ws/fragments", test_fragments);
  g_test_add_func ("/Server/Ws/truncated", test_truncated);
  g_test_add_func ("/Server/Ws/back-to-back", test_back_to_back);
  g_test_add_func ("/Server/Ws/random", test_random);
  g_test_add_func ("/Server/Ws/server-frames", test_server_frames);
  g_test_add_func ("/Server/Poller/edge-triggered", test_poller);

  return g_test_run ();
}
