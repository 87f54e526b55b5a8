/* natter-server-ws.h: WebSocket framing (RFC 6455) for natter-server's connections
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define NATTER_SERVER_WS_OPCODE_CONTINUATION 0x0
#define NATTER_SERVER_WS_OPCODE_TEXT         0x1
#define NATTER_SERVER_WS_OPCODE_BINARY       0x2
#define NATTER_SERVER_WS_OPCODE_CLOSE        0x8
#define NATTER_SERVER_WS_OPCODE_PING         0x9
#define NATTER_SERVER_WS_OPCODE_PONG         0xa

/* The most a server frame's header takes (2 bytes, 8 of length, no mask) */
#define NATTER_SERVER_WS_MAX_HEADER 10
/* RFC 6455 5.5: control frames carry at most this much */
#define NATTER_SERVER_WS_MAX_CONTROL 125

#define NATTER_SERVER_WS_CLOSE_NO_STATUS      1005
#define NATTER_SERVER_WS_CLOSE_PROTOCOL_ERROR 1002
#define NATTER_SERVER_WS_CLOSE_BAD_DATA       1007
#define NATTER_SERVER_WS_CLOSE_TOO_BIG        1009

typedef enum
{
  NATTER_SERVER_WS_NEED_MORE,   /* no whole frame in the input yet */
  NATTER_SERVER_WS_FRAGMENT,    /* a fragment of a message was taken; read on */
  NATTER_SERVER_WS_TEXT,        /* a whole text message (valid UTF-8) */
  NATTER_SERVER_WS_BINARY,      /* a whole binary message */
  NATTER_SERVER_WS_PING,
  NATTER_SERVER_WS_PONG,
  NATTER_SERVER_WS_CLOSE,       /* the client's close frame: code (or 1005) and reason */
  NATTER_SERVER_WS_FAIL,        /* the client broke the protocol: close with code */
} NatterServerWsResult;

/* What a client's frames have said so far: a message put together from
 * fragments. Holds no memory until a message comes in fragments. */
typedef struct
{
  gsize max_message;            /* the most a frame, or a whole message, may carry */
  GByteArray *message;          /* fragments so far; NULL when none */
  guint8 message_opcode;        /* TEXT or BINARY while a message is open */
  gboolean message_done;        /* message was handed out whole: drop it next time */
} NatterServerWsReader;

typedef struct
{
  const guint8 *data;           /* the payload: valid until the next read */
  gsize length;
  gushort code;                 /* CLOSE: the client's code; FAIL: the code to close with */
  const char *reason;           /* FAIL: why, for the log */
} NatterServerWsEvent;

void                 natter_server_ws_reader_init  (NatterServerWsReader *reader,
                                                    gsize                 max_message);
void                 natter_server_ws_reader_clear (NatterServerWsReader *reader);
NatterServerWsResult natter_server_ws_read         (NatterServerWsReader *reader,
                                                    guint8               *data,
                                                    gsize                 length,
                                                    gsize                *consumed,
                                                    NatterServerWsEvent  *event);
gsize                natter_server_ws_write_header (guint8                header[NATTER_SERVER_WS_MAX_HEADER],
                                                    guint8                opcode,
                                                    gsize                 length);
gsize                natter_server_ws_frame_size   (gsize                 length);
gsize                natter_server_ws_close_payload (guint8               payload[NATTER_SERVER_WS_MAX_CONTROL],
                                                     gushort              code,
                                                     const char          *reason);

G_END_DECLS
