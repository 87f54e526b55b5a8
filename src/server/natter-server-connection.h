/* natter-server-connection.h: one client WebSocket of natter-server
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "natter-protocol.h"

#include "natter-server-stream.h"

G_BEGIN_DECLS

typedef struct _NatterServerShard NatterServerShard;

/* A connection as every thread of the server may name it. */
typedef gsize NatterServerKey;

#define NATTER_TYPE_SERVER_CONNECTION (natter_server_connection_get_type ())

G_DECLARE_FINAL_TYPE (NatterServerConnection, natter_server_connection,
                      NATTER, SERVER_CONNECTION, GObject)

/* Close codes of docs/protocol.md */
#define NATTER_CLOSE_NORMAL             1000
#define NATTER_CLOSE_GOING_AWAY         1001
#define NATTER_CLOSE_TOO_BIG            1009
#define NATTER_CLOSE_AUTH_TIMEOUT       4000
#define NATTER_CLOSE_AUTH_FAILED        4001
#define NATTER_CLOSE_REPLACED           4002
#define NATTER_CLOSE_RATE_LIMITED       4003
#define NATTER_CLOSE_SERVER_FULL        4004
#define NATTER_CLOSE_HEARTBEAT_TIMEOUT  4005
#define NATTER_CLOSE_SLOW_READER        4006

NatterServerConnection *natter_server_connection_new               (NatterServerShard       *shard,
                                                                    NatterServerStream      *stream,
                                                                    gconstpointer            limits);
NatterServerStream     *natter_server_connection_get_stream        (NatterServerConnection  *self);
NatterServerKey         natter_server_connection_get_key           (NatterServerConnection  *self);
void                    natter_server_connection_set_key           (NatterServerConnection  *self,
                                                                    NatterServerKey          key);

const char             *natter_server_connection_get_user          (NatterServerConnection  *self);
void                    natter_server_connection_set_user          (NatterServerConnection  *self,
                                                                    const char              *user);
const char             *natter_server_connection_get_nonce         (NatterServerConnection  *self);
GSocketAddress         *natter_server_connection_get_local_address (NatterServerConnection  *self);
void                    natter_server_connection_set_local_address (NatterServerConnection  *self,
                                                                    GSocketAddress          *address);
void                    natter_server_connection_forget_nonce      (NatterServerConnection  *self);
gboolean                natter_server_connection_is_closing        (NatterServerConnection  *self);
gint64                  natter_server_connection_get_last_activity (NatterServerConnection  *self);

GHashTable             *natter_server_connection_get_subscriptions (NatterServerConnection  *self,
                                                                    gboolean                 create);
GPtrArray              *natter_server_connection_get_rooms         (NatterServerConnection  *self,
                                                                    gboolean                 create);

void                    natter_server_connection_send_hello        (NatterServerConnection  *self);
gboolean                natter_server_connection_can_take          (NatterServerConnection  *self,
                                                                    gsize                    length);
void                    natter_server_connection_send_ping         (NatterServerConnection  *self,
                                                                    gint64                   now);
gboolean                natter_server_connection_check_slow        (NatterServerConnection  *self,
                                                                    gint64                   now);
gboolean                natter_server_connection_send_text         (NatterServerConnection  *self,
                                                                    const char              *text);
gboolean                natter_server_connection_send_frame        (NatterServerConnection  *self,
                                                                    NatterFrame             *frame);
void                    natter_server_connection_close             (NatterServerConnection  *self,
                                                                    gushort                  code);

G_END_DECLS
