/* natter-server-private.h: what NatterServer and its connections share
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "natter-protocol.h"

#include "natter-server.h"
#include "natter-server-connection.h"

G_BEGIN_DECLS

/* Limits every connection applies to what its client sends. */
typedef struct
{
  gsize max_frame_size;
  guint rate_burst;
  double rate_per_s;
  guint auth_timeout_s;
  guint heartbeat_s;
} NatterServerLimits;

/* Short, safe form of a user ID for log lines. */
#define NATTER_SERVER_LOG_USER(user) ((int) MIN (strlen (user), 8)), (user)

void  _natter_server_dispatch          (NatterServer           *self,
                                        NatterServerConnection *connection,
                                        NatterFrame            *frame);
void  _natter_server_send_error        (NatterServer           *self,
                                        NatterServerConnection *connection,
                                        NatterProtocolError     code,
                                        const char             *ref,
                                        const char             *message);
void  _natter_server_count_received    (NatterServer           *self);
void  _natter_server_detach            (NatterServer           *self,
                                        NatterServerConnection *connection);
void  _natter_server_connection_closed (NatterServer           *self,
                                        NatterServerConnection *connection);

G_END_DECLS
