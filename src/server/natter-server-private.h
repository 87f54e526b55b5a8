/* natter-server-private.h: what NatterServer and its connections share
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <pthread.h>

#include <libsoup/soup.h>

#include "natter-protocol.h"

#include "natter-server.h"
#include "natter-server-cluster.h"
#include "natter-server-cluster-invitations.h"
#include "natter-server-connection.h"
#include "natter-server-mailbox.h"
#include "natter-server-poller.h"
#include "natter-server-store.h"
#include "natter-server-stream.h"
#include "natter-server-worker.h"

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

/* NatterServerKey (natter-server-connection.h): a connection's serial
 * number within its shard, and the shard's index in the low byte. */

#define NATTER_SERVER_KEY_SHARD(key) ((guint) ((key) & 0xff))

typedef struct
{
  NatterServerKey key;
  char *user;
} NatterServerRoomMember;

/* Shared by all shards; under NatterServer's directory lock. */
typedef struct
{
  char *name;
  GArray *members;      /* NatterServerRoomMember */
} NatterServerRoom;

/* What a shard counts; written with relaxed atomics by its own thread,
 * summed by whichever thread answers /stats. */
typedef struct
{
  guint64 connections_total;
  guint64 frames_received;
  guint64 frames_relayed;
  guint64 frames_relayed_across;
  guint64 auth_failures;
  guint64 rejected[NATTER_PROTOCOL_N_ERRORS];
  guint64 slow_reader_closes;
  guint64 frames_dropped_slow;
  guint64 oversized_frame_closes;
  guint64 recipient_full;
  guint64 accepted_total;
  guint64 request_timeouts;
  guint64 address_refusals;
  guint64 fd_exhausted;
  guint64 evicted;
} NatterServerCounters;

#define NATTER_SERVER_COUNT(counter) __atomic_add_fetch (&(counter), 1, __ATOMIC_RELAXED)
#define NATTER_SERVER_READ(counter)  __atomic_load_n (&(counter), __ATOMIC_RELAXED)

typedef struct _NatterServerShard NatterServerShard;

/*
 * One thread's share of the server (natter-server-shard.c): its own
 * listening socket (SO_REUSEPORT), libsoup server, connections, timers and
 * database connection, all used only in its main context. Shard 0 runs in
 * the context natter_server_new() was called in; the others each in a
 * NatterServerWorker.
 */
struct _NatterServerShard
{
  NatterServer *server;      /* unowned: owns the shard */
  guint index;
  GMainContext *context;
  NatterServerWorker *worker;   /* NULL for shard 0 */
  NatterServerMailbox *mailbox; /* what other shards send its connections */
  NatterServerPoller *poller;   /* its WebSockets' sockets, on one epoll descriptor */

  /* Borrowed from the server, immutable */
  NatterServerConfig *config;
  GTlsCertificate *certificate;
  GStrv own_names;
  NatterServerLimits limits;

  NatterServerStore *store;  /* its own SQLite connection */
  SoupServer *soup;

  GHashTable *connections;   /* NatterServerConnection (owned) set */
  GHashTable *by_key;        /* key -> connection (unowned) */
  GHashTable *users;         /* user ID (owned by the connection) -> its connection here */
  GHashTable *slow;          /* connections over their output bound (unowned) set */
  NatterServerKey next_serial;
  NatterServerCounters counters;

  /* natter-server-accept.c */
  GSocket *listen_socket;
  GSource *accept_source;
  GSource *accept_resume;
  GSource *request_sweep;
  GHashTable *streams;       /* NatterServerStream (owned) set: every open TCP connection */
  GQueue unauthenticated;    /* NatterServerStream, in accept order */
  gint64 oldest_unauthenticated;   /* when its head was accepted, 0: empty; atomic */
  GQueue lingering;          /* NatterServerStream closed, waiting for the peer */
  gint n_lingering;          /* its length, for other shards; atomic */
  int reserve_fd;
  guint accepted_since_trim; /* connections accepted since memory was last given back */

  GSource *sweep;
  GSource *slow_sweep;
  GSource *purge;
  gboolean shutting_down;
};

struct _NatterServer
{
  GObject parent_instance;

  NatterServerConfig *config;
  NatterServerLimits limits;
  GTlsCertificate *certificate;
  GStrv own_names;           /* what a sign-in may name: natter-server-names.c */
  gint64 started;            /* monotonic µs */
  GPtrArray *shards;         /* NatterServerShard */
  guint port;
  NatterServerCluster *cluster;   /* --cluster: used in shard 0 only */

  /* The directory: who is where, watched by whom, in which rooms. Held
   * only to read or change these tables, never across I/O. */
  pthread_rwlock_t directory_lock;
  GHashTable *users;         /* user ID (owned) -> key of its connection */
  GHashTable *watchers;      /* user ID (owned) -> GHashTable set of keys */
  GHashTable *rooms;         /* name (owned by the NatterServerRoom) -> NatterServerRoom */

  /* Limits that hold across shards (natter-server-accept.c) */
  pthread_mutex_t accept_lock;
  GHashTable *unauthenticated_by_address;   /* address (owned) -> count; under accept_lock */
  guint n_overflow;          /* under accept_lock */
  gint64 fd_log_next;        /* under accept_lock */
  guint64 fd_log_suppressed; /* under accept_lock */
  gint n_active;             /* connections not closing; atomic */
  gint n_streams;            /* open TCP connections; atomic */
  gint n_unauthenticated;    /* atomic */
  gint n_connections;        /* WebSockets not fully closed; atomic */
  gint shutting_down;        /* atomic */
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
void          _natter_server_send_request_error        (NatterServerShard      *self,
                                                        NatterServerConnection *connection,
                                                        NatterFrame            *request,
                                                        NatterProtocolError     code,
                                                        const char             *message);
void          _natter_server_send_gerror               (NatterServerShard      *self,
                                                        NatterServerConnection *connection,
                                                        NatterFrame            *request,
                                                        const GError           *error);

/* natter-server-accept.c */
void                _natter_server_accept_init          (NatterServerShard       *self);
void                _natter_server_accept_start         (NatterServerShard       *self);
void                _natter_server_accept_stop          (NatterServerShard       *self);
void                _natter_server_accept_dispose       (NatterServerShard       *self);
NatterServerStream *_natter_server_find_stream          (GIOStream               *io_stream);
void                _natter_server_stream_upgraded      (NatterServerShard       *self,
                                                         NatterServerStream      *stream);
void                _natter_server_evict_oldest         (NatterServerShard       *self,
                                                         gint64                   accepted);
void                _natter_server_stream_authenticated (NatterServerShard       *self,
                                                         NatterServerStream      *stream);

/* natter-server-requests.c */
void          _natter_server_room_free                 (NatterServerRoom                   *room);
void          _natter_server_room_event_from_cluster   (NatterServerShard      *self,
                                                        const char             *name,
                                                        const char             *user,
                                                        gboolean                joined);
void          _natter_server_room_leave                (NatterServerShard      *self,
                                                        NatterServerRoom       *room,
                                                        NatterServerConnection *connection);
void          _natter_server_fetch_answers             (NatterServerShard      *self,
                                                        const char             *user);
void          _natter_server_deliver_pending           (NatterServerShard      *self,
                                                        NatterServerConnection *connection,
                                                        const char             *user);
void          _natter_server_set_ice_members           (NatterServerShard      *self,
                                                        NatterFrame            *frame,
                                                        const char             *user);
void          _natter_server_handle_invite             (NatterServerShard      *self,
                                                        NatterServerConnection *connection,
                                                        NatterFrame            *frame);
void          _natter_server_handle_invite_accept      (NatterServerShard      *self,
                                                        NatterServerConnection *connection,
                                                        NatterFrame            *frame);
void          _natter_server_handle_invite_decline     (NatterServerShard      *self,
                                                        NatterServerConnection *connection,
                                                        NatterFrame            *frame);
void          _natter_server_handle_invitations        (NatterServerShard      *self,
                                                        NatterServerConnection *connection,
                                                        NatterFrame            *frame);
void          _natter_server_handle_handle             (NatterServerShard      *self,
                                                        NatterServerConnection *connection,
                                                        NatterFrame            *frame);
void          _natter_server_handle_room_join          (NatterServerShard      *self,
                                                        NatterServerConnection *connection,
                                                        NatterFrame            *frame);
void          _natter_server_handle_room_leave_or_list (NatterServerShard      *self,
                                                        NatterServerConnection *connection,
                                                        NatterFrame            *frame);
void          _natter_server_handle_ice_config         (NatterServerShard      *self,
                                                        NatterServerConnection *connection,
                                                        NatterFrame            *frame);

void  _natter_server_dispatch          (NatterServerShard      *self,
                                        NatterServerConnection *connection,
                                        NatterFrame            *frame);
void  _natter_server_send_error        (NatterServerShard      *self,
                                        NatterServerConnection *connection,
                                        NatterProtocolError     code,
                                        const char             *ref,
                                        const char             *message);
void  _natter_server_count_received    (NatterServerShard      *self);
void  _natter_server_detach            (NatterServerShard      *self,
                                        NatterServerConnection *connection);
void  _natter_server_connection_closed (NatterServerShard      *self,
                                        NatterServerConnection *connection);

gboolean _natter_server_relay_scanned (NatterServerShard      *self,
                                       NatterServerConnection *connection,
                                       const NatterSignalScan *scan);
void     _natter_server_replace       (NatterServerShard      *self,
                                       NatterServerConnection *connection);
gboolean _natter_server_on_sweep      (gpointer                user_data);
gboolean _natter_server_on_slow_sweep (gpointer                user_data);
void     _natter_server_shard_setup_soup (NatterServerShard   *self);

/* natter-server-shard.c */
NatterServerShard *_natter_server_shard_new      (NatterServer            *server,
                                                  guint                    index,
                                                  GError                 **error);
void               _natter_server_shard_start    (NatterServerShard       *self,
                                                  GSocket                 *socket);
void               _natter_server_shard_shutdown (NatterServerShard       *self);
void               _natter_server_shard_stop     (NatterServerShard       *self);
void               _natter_server_shard_free     (NatterServerShard       *self);
void               _natter_server_shard_invoke   (NatterServerShard       *self,
                                                  NatterServerWorkerFunc   func);
GSource           *_natter_server_shard_add_timeout (NatterServerShard    *self,
                                                     guint                 interval_ms,
                                                     GSourceFunc           func,
                                                     gpointer              data);
void               _natter_server_clear_source   (GSource                **source);
gboolean           _natter_server_find_user      (NatterServerShard       *self,
                                                  const char              *user,
                                                  NatterServerConnection **local,
                                                  NatterServerKey         *key);
gboolean           _natter_server_send_to_key    (NatterServerShard       *self,
                                                  NatterServerKey          key,
                                                  const char              *text);
void               _natter_server_send_to_keys   (NatterServerShard       *self,
                                                  GArray                  *keys,
                                                  const char              *text);
void               _natter_server_post_text      (NatterServerShard       *self,
                                                  NatterServerKey          key,
                                                  char                    *text);
void               _natter_server_relay_to_key   (NatterServerShard       *self,
                                                  NatterServerKey          key,
                                                  NatterServerKey          sender,
                                                  const char              *ref,
                                                  gsize                    ref_length,
                                                  char                    *text);
void               _natter_server_ask_eviction   (NatterServerShard       *self,
                                                  NatterServerShard       *other,
                                                  gint64                   accepted);
void               _natter_server_replace_key    (NatterServerShard       *self,
                                                  NatterServerKey          key);
GArray            *_natter_server_keys_from_set  (GHashTable              *set,
                                                  NatterServerKey          except);

G_END_DECLS
