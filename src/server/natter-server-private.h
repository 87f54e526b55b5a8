/* natter-server-private.h: what NatterServer and its connections share
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <libsoup/soup.h>

#include "natter-protocol.h"

#include "natter-server.h"
#include "natter-server-connection.h"
#include "natter-server-store.h"
#include "natter-server-stream.h"

G_BEGIN_DECLS

/* Limits every connection applies to what its client sends. */
typedef struct
{
  gsize max_frame_size;
  guint rate_burst;
  double rate_per_s;
  guint auth_timeout_s;
  guint heartbeat_s;
  gsize max_output;          /* bytes waiting for a slow reader */
  guint slow_timeout_s;      /* how long a reader may stay over max_output */
} NatterServerLimits;

typedef struct
{
  char *name;
  GPtrArray *members;   /* NatterServerConnection, unowned */
} NatterServerRoom;

struct _NatterServer
{
  GObject parent_instance;

  NatterServerConfig *config;
  NatterServerStore *store;
  SoupServer *soup;
  NatterServerLimits limits;

  GHashTable *connections;   /* NatterServerConnection (owned) set */
  GHashTable *users;         /* user ID (owned by the connection) -> connection */
  GHashTable *watchers;      /* user ID (owned) -> GHashTable set of connections */
  GHashTable *rooms;         /* name (owned by the NatterServerRoom) -> NatterServerRoom */
  GHashTable *slow;          /* connections over their output bound (unowned) set */
  guint n_active;            /* connections not closing */

  gint64 started;            /* monotonic µs */
  guint64 connections_total;
  guint64 frames_received;
  guint64 frames_relayed;
  guint64 auth_failures;
  guint64 rejected[NATTER_PROTOCOL_N_ERRORS];
  guint64 slow_reader_closes;
  guint64 frames_dropped_slow;
  guint64 oversized_frame_closes;
  guint64 recipient_full;

  /* natter-server-accept.c */
  GTlsCertificate *certificate;
  GSocket *listen_socket;
  GSource *accept_source;
  guint accept_resume_id;
  guint request_sweep_id;
  GHashTable *streams;       /* NatterServerStream (owned) set: every open TCP connection */
  GQueue unauthenticated;    /* NatterServerStream, in accept order */
  GQueue lingering;          /* NatterServerStream closed, waiting for the peer */
  GHashTable *unauthenticated_by_address;   /* address (owned) -> count */
  guint n_overflow;
  int reserve_fd;
  gint64 fd_log_next;
  guint64 fd_log_suppressed;
  guint64 accepted_total;
  guint64 request_timeouts;
  guint64 address_refusals;
  guint64 fd_exhausted;
  guint64 evicted;
  guint sweep_id;
  guint slow_sweep_id;
  guint purge_id;
  gboolean shutting_down;
  GStrv own_names;           /* what a sign-in may name: natter-server-names.c */
};

/* natter-server.c */
gint64        _natter_server_unix_now                  (void);
GStrv         _natter_server_names_new                 (const char * const     *public_names,
                                                        GTlsCertificate        *certificate);
gboolean      _natter_server_name_is_own               (const char * const     *names,
                                                        GSocketAddress         *local,
                                                        const char             *claimed);
void          _natter_server_log_internal_error        (const char             *what,
                                                        const GError           *error);
NatterFrame  *_natter_server_reply_new                 (NatterFrameType         type,
                                                        NatterFrame            *request);
void          _natter_server_send_reply                (NatterServerConnection *connection,
                                                        NatterFrameType         type,
                                                        NatterFrame            *request);
void          _natter_server_send_request_error        (NatterServer           *self,
                                                        NatterServerConnection *connection,
                                                        NatterFrame            *request,
                                                        NatterProtocolError     code,
                                                        const char             *message);
void          _natter_server_send_gerror               (NatterServer           *self,
                                                        NatterServerConnection *connection,
                                                        NatterFrame            *request,
                                                        const GError           *error);

/* natter-server-accept.c */
void                _natter_server_accept_init          (NatterServer            *self);
void                _natter_server_accept_start         (NatterServer            *self);
void                _natter_server_accept_stop          (NatterServer            *self);
void                _natter_server_accept_dispose       (NatterServer            *self);
NatterServerStream *_natter_server_find_stream          (SoupWebsocketConnection *websocket);
void                _natter_server_stream_upgraded      (NatterServer            *self,
                                                         NatterServerStream      *stream);
void                _natter_server_stream_authenticated (NatterServer            *self,
                                                         NatterServerStream      *stream);

/* natter-server-requests.c */
void          _natter_server_room_free                 (NatterServerRoom                   *room);
void          _natter_server_room_remove_member        (NatterServer           *self,
                                                        NatterServerRoom                   *room,
                                                        NatterServerConnection *connection);
void          _natter_server_deliver_pending           (NatterServer           *self,
                                                        NatterServerConnection *connection,
                                                        const char             *user);
void          _natter_server_set_ice_members           (NatterServer           *self,
                                                        NatterFrame            *frame,
                                                        const char             *user);
void          _natter_server_handle_invite             (NatterServer           *self,
                                                        NatterServerConnection *connection,
                                                        NatterFrame            *frame);
void          _natter_server_handle_invite_accept      (NatterServer           *self,
                                                        NatterServerConnection *connection,
                                                        NatterFrame            *frame);
void          _natter_server_handle_invite_decline     (NatterServer           *self,
                                                        NatterServerConnection *connection,
                                                        NatterFrame            *frame);
void          _natter_server_handle_invitations        (NatterServer           *self,
                                                        NatterServerConnection *connection,
                                                        NatterFrame            *frame);
void          _natter_server_handle_handle             (NatterServer           *self,
                                                        NatterServerConnection *connection,
                                                        NatterFrame            *frame);
void          _natter_server_handle_room_join          (NatterServer           *self,
                                                        NatterServerConnection *connection,
                                                        NatterFrame            *frame);
void          _natter_server_handle_room_leave_or_list (NatterServer           *self,
                                                        NatterServerConnection *connection,
                                                        NatterFrame            *frame);
void          _natter_server_handle_ice_config         (NatterServer           *self,
                                                        NatterServerConnection *connection,
                                                        NatterFrame            *frame);

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

gboolean _natter_server_relay_scanned (NatterServer           *self,
                                       NatterServerConnection *connection,
                                       const NatterSignalScan *scan);

G_END_DECLS
