/* natter-server-stream.h: one accepted TCP connection of natter-server
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define NATTER_TYPE_SERVER_STREAM (natter_server_stream_get_type ())

G_DECLARE_FINAL_TYPE (NatterServerStream, natter_server_stream, NATTER, SERVER_STREAM, GIOStream)

/* What the server's accounting keeps in each stream (see
 * natter-server-accept.c); the stream itself never looks at it. */
typedef struct
{
  GList link;           /* in the queue of unauthenticated streams; data is the stream */
  gboolean queued;      /* link is in that queue */
  GList linger_link;    /* in the queue of closing streams; data is the stream */
  gboolean lingering;   /* linger_link is in that queue */
  gboolean upgraded;    /* a WebSocket now */
  gboolean overflow;    /* accepted past --max-connections: served HTTP only */
  gboolean reserve;     /* accepted on the file descriptor kept in reserve */
} NatterServerStreamAccount;

NatterServerStream        *natter_server_stream_new               (GIOStream          *base,
                                                                   GSocket            *socket,
                                                                   const char         *address);
GSocket                   *natter_server_stream_get_socket        (NatterServerStream *self);
const char                *natter_server_stream_get_address       (NatterServerStream *self);
gint64                     natter_server_stream_get_accepted      (NatterServerStream *self);
guint64                    natter_server_stream_get_bytes_written (NatterServerStream *self);
NatterServerStreamAccount *natter_server_stream_get_account       (NatterServerStream *self);
void                       natter_server_stream_set_linger        (NatterServerStream *self,
                                                                   gsize               max_bytes,
                                                                   guint               timeout_ms);
void                       natter_server_stream_abort             (NatterServerStream *self);
gboolean                   natter_server_stream_is_tls            (NatterServerStream *self);
gboolean                   natter_server_stream_is_finished       (NatterServerStream *self);

G_END_DECLS
