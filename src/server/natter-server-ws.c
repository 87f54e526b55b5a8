/* natter-server-ws.c: WebSocket framing (RFC 6455) for natter-server's connections
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * libsoup answers the HTTP upgrade; from then on a connection's bytes are
 * framed here, with no I/O of its own: natter_server_ws_read() takes what
 * the socket gave and says what the next whole frame means, unmasking it
 * in place, so an unfragmented message is handed out where it was read.
 * Only a message that comes in fragments is copied, into memory that is
 * given back as soon as the message is whole.
 *
 * What a client may send, as libsoup allowed before: masked frames only,
 * no reserved bits (no extension is ever agreed), control frames of at
 * most 125 bytes and never fragmented, text in valid UTF-8, and no frame
 * or message over max_message (closed with 1009 as soon as the header
 * says so). Anything else fails the connection with 1002 (or 1007 for
 * bad UTF-8), as section 7.1.7 asks.
 */
#define G_LOG_DOMAIN "natter-server-ws"

#include "config.h"

#include <string.h>

#include "natter-server-ws.h"

static NatterServerWsResult
fail (NatterServerWsEvent *event,
      gushort              code,
      const char          *reason)
{
  event->code = code;
  event->reason = reason;
  event->data = NULL;
  event->length = 0;

  return NATTER_SERVER_WS_FAIL;
}

/* Section 7.4: the codes a close frame may carry. */
static gboolean
close_code_is_valid (gushort code)
{
  if (code >= 3000 && code <= 4999)
    return TRUE;

  return code >= 1000 && code <= 1014 && code != 1004 && code != 1005 && code != 1006;
}

static void
unmask (guint8       *data,
        gsize         length,
        const guint8  key[4])
{
  guint32 key32;
  gsize i = 0;

  memcpy (&key32, key, 4);
  for (; i + 4 <= length; i += 4)
    {
      guint32 word;

      memcpy (&word, data + i, 4);
      word ^= key32;
      memcpy (data + i, &word, 4);
    }
  for (; i < length; i++)
    data[i] ^= key[i % 4];
}

void
natter_server_ws_reader_init (NatterServerWsReader *reader,
                              gsize                 max_message)
{
  memset (reader, 0, sizeof *reader);
  reader->max_message = max_message;
}

void
natter_server_ws_reader_clear (NatterServerWsReader *reader)
{
  g_clear_pointer (&reader->message, g_byte_array_unref);
  reader->message_opcode = 0;
  reader->message_done = FALSE;
}

static NatterServerWsResult
control_frame (guint8               opcode,
               guint8              *payload,
               gsize                length,
               NatterServerWsEvent *event)
{
  event->data = payload;
  event->length = length;

  switch (opcode)
    {
    case NATTER_SERVER_WS_OPCODE_PING:
      return NATTER_SERVER_WS_PING;

    case NATTER_SERVER_WS_OPCODE_PONG:
      return NATTER_SERVER_WS_PONG;

    case NATTER_SERVER_WS_OPCODE_CLOSE:
      if (length == 0)
        {
          event->code = NATTER_SERVER_WS_CLOSE_NO_STATUS;
          return NATTER_SERVER_WS_CLOSE;
        }
      if (length == 1)
        return fail (event, NATTER_SERVER_WS_CLOSE_PROTOCOL_ERROR, "close frame of one byte");
      event->code = (payload[0] << 8) | payload[1];
      if (!close_code_is_valid (event->code))
        return fail (event, NATTER_SERVER_WS_CLOSE_PROTOCOL_ERROR, "invalid close code");
      if (!g_utf8_validate_len ((const char *) payload + 2, length - 2, NULL))
        return fail (event, NATTER_SERVER_WS_CLOSE_BAD_DATA, "close reason is not UTF-8");
      event->data = payload + 2;
      event->length = length - 2;
      return NATTER_SERVER_WS_CLOSE;

    default:
      return fail (event, NATTER_SERVER_WS_CLOSE_PROTOCOL_ERROR, "unknown control opcode");
    }
}

/* A data frame's payload, whole message or fragment. */
static NatterServerWsResult
data_frame (NatterServerWsReader *reader,
            guint8                opcode,
            gboolean              fin,
            guint8               *payload,
            gsize                 length,
            NatterServerWsEvent  *event)
{
  guint8 message_opcode;

  if (opcode == NATTER_SERVER_WS_OPCODE_CONTINUATION)
    {
      if (reader->message_opcode == 0)
        return fail (event, NATTER_SERVER_WS_CLOSE_PROTOCOL_ERROR,
                     "continuation without a message");
      if (reader->message->len + length > reader->max_message)
        return fail (event, NATTER_SERVER_WS_CLOSE_TOO_BIG, "message too large");
      g_byte_array_append (reader->message, payload, length);
      if (!fin)
        return NATTER_SERVER_WS_FRAGMENT;
      message_opcode = reader->message_opcode;
      reader->message_opcode = 0;
      reader->message_done = TRUE;
      payload = reader->message->data;
      length = reader->message->len;
    }
  else
    {
      if (reader->message_opcode != 0)
        return fail (event, NATTER_SERVER_WS_CLOSE_PROTOCOL_ERROR,
                     "new message before the last one ended");
      if (!fin)
        {
          reader->message = g_byte_array_sized_new (MAX (length, 256));
          g_byte_array_append (reader->message, payload, length);
          reader->message_opcode = opcode;
          return NATTER_SERVER_WS_FRAGMENT;
        }
      message_opcode = opcode;
    }

  event->data = payload;
  event->length = length;
  if (message_opcode == NATTER_SERVER_WS_OPCODE_BINARY)
    return NATTER_SERVER_WS_BINARY;

  if (!g_utf8_validate_len ((const char *) payload, length, NULL))
    return fail (event, NATTER_SERVER_WS_CLOSE_BAD_DATA, "text is not UTF-8");

  return NATTER_SERVER_WS_TEXT;
}

/**
 * natter_server_ws_read:
 * @data: (inout): bytes from the client; the frame read is unmasked in place
 * @consumed: (out): how many bytes of @data the frame took (0 with NEED_MORE
 *   and FAIL)
 * @event: (out): what the frame said
 *
 * Reads the first frame of @data. After %NATTER_SERVER_WS_FAIL the
 * connection must be closed with @event's code; nothing more is read.
 *
 * Returns: what came
 */
NatterServerWsResult
natter_server_ws_read (NatterServerWsReader *reader,
                       guint8               *data,
                       gsize                 length,
                       gsize                *consumed,
                       NatterServerWsEvent  *event)
{
  guint8 opcode;
  gboolean fin;
  guint64 payload_length;
  gsize header = 2;
  guint8 *key;

  *consumed = 0;
  memset (event, 0, sizeof *event);

  /* The message handed out last time is no longer needed. */
  if (reader->message_done)
    natter_server_ws_reader_clear (reader);

  if (length < 2)
    return NATTER_SERVER_WS_NEED_MORE;

  fin = (data[0] & 0x80) != 0;
  opcode = data[0] & 0x0f;

  if ((data[0] & 0x70) != 0)
    return fail (event, NATTER_SERVER_WS_CLOSE_PROTOCOL_ERROR, "reserved bits set");
  if ((data[1] & 0x80) == 0)
    return fail (event, NATTER_SERVER_WS_CLOSE_PROTOCOL_ERROR, "unmasked frame from a client");
  if (opcode > NATTER_SERVER_WS_OPCODE_BINARY && opcode < NATTER_SERVER_WS_OPCODE_CLOSE)
    return fail (event, NATTER_SERVER_WS_CLOSE_PROTOCOL_ERROR, "unknown opcode");
  if (opcode > NATTER_SERVER_WS_OPCODE_PONG)
    return fail (event, NATTER_SERVER_WS_CLOSE_PROTOCOL_ERROR, "unknown opcode");

  payload_length = data[1] & 0x7f;
  if (opcode >= NATTER_SERVER_WS_OPCODE_CLOSE)
    {
      if (!fin)
        return fail (event, NATTER_SERVER_WS_CLOSE_PROTOCOL_ERROR, "fragmented control frame");
      if (payload_length > NATTER_SERVER_WS_MAX_CONTROL)
        return fail (event, NATTER_SERVER_WS_CLOSE_PROTOCOL_ERROR, "control frame too long");
    }

  if (payload_length == 126)
    {
      if (length < 4)
        return NATTER_SERVER_WS_NEED_MORE;
      payload_length = ((guint64) data[2] << 8) | data[3];
      header = 4;
    }
  else if (payload_length == 127)
    {
      if (length < 10)
        return NATTER_SERVER_WS_NEED_MORE;
      payload_length = 0;
      for (guint i = 0; i < 8; i++)
        payload_length = (payload_length << 8) | data[2 + i];
      if (payload_length >> 63)
        return fail (event, NATTER_SERVER_WS_CLOSE_PROTOCOL_ERROR, "length with its top bit set");
      header = 10;
    }

  /* Said before the payload arrives: no need to wait for it. */
  if (payload_length > reader->max_message)
    return fail (event, NATTER_SERVER_WS_CLOSE_TOO_BIG, "frame too large");

  if (length < header + 4 || length - header - 4 < payload_length)
    return NATTER_SERVER_WS_NEED_MORE;

  key = data + header;
  header += 4;
  unmask (data + header, payload_length, key);
  *consumed = header + payload_length;

  if (opcode >= NATTER_SERVER_WS_OPCODE_CLOSE)
    {
      NatterServerWsResult result = control_frame (opcode, data + header, payload_length, event);

      if (result == NATTER_SERVER_WS_FAIL)
        *consumed = 0;
      return result;
    }

  {
    NatterServerWsResult result = data_frame (reader, opcode, fin, data + header,
                                              payload_length, event);

    if (result == NATTER_SERVER_WS_FAIL)
      *consumed = 0;
    return result;
  }
}

/**
 * natter_server_ws_write_header:
 * @header: (out caller-allocates): where the header goes
 *
 * Writes the header of an unfragmented, unmasked server frame.
 *
 * Returns: its length
 */
gsize
natter_server_ws_write_header (guint8 header[NATTER_SERVER_WS_MAX_HEADER],
                               guint8 opcode,
                               gsize  length)
{
  header[0] = 0x80 | (opcode & 0x0f);

  if (length < 126)
    {
      header[1] = length;
      return 2;
    }

  if (length < 65536)
    {
      header[1] = 126;
      header[2] = length >> 8;
      header[3] = length & 0xff;
      return 4;
    }

  header[1] = 127;
  for (guint i = 0; i < 8; i++)
    header[2 + i] = ((guint64) length >> (56 - 8 * i)) & 0xff;
  return 10;
}

/* The bytes a server frame of @length payload bytes takes on the wire. */
gsize
natter_server_ws_frame_size (gsize length)
{
  if (length < 126)
    return length + 2;
  if (length < 65536)
    return length + 4;
  return length + 10;
}

/**
 * natter_server_ws_close_payload:
 * @reason: (nullable): UTF-8, cut to fit
 *
 * Returns: the length of the close frame's payload written to @payload
 */
gsize
natter_server_ws_close_payload (guint8      payload[NATTER_SERVER_WS_MAX_CONTROL],
                                gushort     code,
                                const char *reason)
{
  gsize length = 0;

  if (code == NATTER_SERVER_WS_CLOSE_NO_STATUS)
    return 0;

  payload[0] = code >> 8;
  payload[1] = code & 0xff;

  if (reason != NULL)
    {
      const char *end = reason;

      /* Whole characters only. */
      while (*end != '\0')
        {
          const char *next = g_utf8_next_char (end);

          if (next - reason > NATTER_SERVER_WS_MAX_CONTROL - 2)
            break;
          end = next;
        }
      length = end - reason;
      memcpy (payload + 2, reason, length);
    }

  return 2 + length;
}
