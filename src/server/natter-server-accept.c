/* natter-server-accept.c: taking TCP connections, and the limits on them
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * natter-server accepts on its own listening socket (for TLS too) and hands
 * each connection to libsoup as a NatterServerStream. Every connection
 * counts from the moment it is accepted until its file descriptor is
 * closed, whether it ever becomes a WebSocket or not:
 *
 * - `--max-connections` bounds the WebSockets (more get `server-full`) and,
 *   with a few more kept for plain HTTP (so that `/health` answers when the
 *   server is full), all connections: past those, `503` at once.
 * - Connections not yet authenticated are queued in accept order. One that
 *   has not become a WebSocket within `--request-timeout` is closed; each
 *   client address may hold `--max-unauthenticated-per-address` of them
 *   (more get `429`).
 * - When the process runs out of file descriptors, a closed connection
 *   still waiting for its peer's end of file, or else the oldest
 *   unauthenticated one, makes room for the new one; with none, one
 *   descriptor kept in reserve lets one connection in at a time for
 *   `/health`. The log says so once a minute.
 */
#define G_LOG_DOMAIN "natter-server"

#include "config.h"

#include <fcntl.h>
#include <malloc.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "natter-server-private.h"

#define ACCEPT_BATCH             256
#define ACCEPT_PAUSE_MS          100
#define EVICTION_WAIT_MS         5
#define OVERFLOW_MAX             16
#define FD_LOG_INTERVAL_US       (60 * G_USEC_PER_SEC)
#define REFUSAL_LINGER_BYTES     (64 * 1024)
#define REFUSAL_LINGER_MS        1000
#define REQUEST_SWEEP_MS         250
#define TRIM_AFTER_ACCEPTS       512

static void
open_reserve_fd (NatterServerShard *self)
{
  if (self->reserve_fd < 0)
    self->reserve_fd = open ("/dev/null", O_RDONLY | O_CLOEXEC);
}

/* Frames are small and latency matters more than packet count. */
static void
set_no_delay (GSocket *socket)
{
  g_autoptr(GError) error = NULL;

  if (!g_socket_set_option (socket, IPPROTO_TCP, TCP_NODELAY, 1, &error))
    g_debug ("Cannot set TCP_NODELAY: %s", error->message);
}

/* The counts by address hold across shards: under the accept lock. */
static guint
address_count (NatterServer *server,
               const char   *address)
{
  return GPOINTER_TO_UINT (g_hash_table_lookup (server->unauthenticated_by_address, address));
}

static void
address_add (NatterServer *server,
             const char   *address,
             int           delta)
{
  guint n = address_count (server, address) + delta;

  if (n == 0)
    g_hash_table_remove (server->unauthenticated_by_address, address);
  else
    g_hash_table_insert (server->unauthenticated_by_address, g_strdup (address),
                         GUINT_TO_POINTER (n));
}

/* What other shards see of our queue: when its head was accepted (0:
 * empty), for the eviction of the oldest connection of all. */
static void
publish_oldest (NatterServerShard *self)
{
  NatterServerStream *head = g_queue_peek_head (&self->unauthenticated);

  __atomic_store_n (&self->oldest_unauthenticated,
                    head != NULL ? natter_server_stream_get_accepted (head) : 0,
                    __ATOMIC_RELAXED);
}

/* Takes the stream out of the unauthenticated queue and its address count. */
static void
dequeue (NatterServerShard *self,
         NatterServerStream *stream)
{
  NatterServerStreamAccount *account = natter_server_stream_get_account (stream);

  if (!account->queued)
    return;

  g_queue_unlink (&self->unauthenticated, &account->link);
  account->queued = FALSE;
  publish_oldest (self);
  g_atomic_int_add (&self->server->n_unauthenticated, -1);
  pthread_mutex_lock (&self->server->accept_lock);
  address_add (self->server, natter_server_stream_get_address (stream), -1);
  pthread_mutex_unlock (&self->server->accept_lock);
}

static void
on_stream_lingering (NatterServerStream *stream,
                     gpointer            user_data)
{
  NatterServerShard *self = user_data;
  NatterServerStreamAccount *account = natter_server_stream_get_account (stream);

  /* Still counted against its address until its socket is closed. */
  g_queue_push_tail_link (&self->lingering, &account->linger_link);
  account->lingering = TRUE;
  g_atomic_int_inc (&self->n_lingering);
}

static void
on_stream_finished (NatterServerStream *stream,
                    gpointer            user_data)
{
  NatterServerShard *self = user_data;
  NatterServerStreamAccount *account = natter_server_stream_get_account (stream);

  dequeue (self, stream);
  if (account->lingering)
    {
      g_queue_unlink (&self->lingering, &account->linger_link);
      account->lingering = FALSE;
      g_atomic_int_add (&self->n_lingering, -1);
    }
  if (account->overflow)
    {
      pthread_mutex_lock (&self->server->accept_lock);
      g_assert (self->server->n_overflow > 0);
      self->server->n_overflow--;
      pthread_mutex_unlock (&self->server->accept_lock);
      account->overflow = FALSE;
    }
  if (account->reserve)
    {
      account->reserve = FALSE;
      open_reserve_fd (self);
    }

  g_signal_handlers_disconnect_by_data (stream, self);
  if (g_hash_table_remove (self->streams, stream))
    g_atomic_int_add (&self->server->n_streams, -1);
}

/* Answers a connection that gets no further with a plain HTTP status and
 * closes it gracefully (its request, read or not, is discarded). */
static void
refuse (NatterServerShard *self,
        NatterServerStream *stream,
        gboolean            tls,
        const char         *status,
        const char         *code)
{
  if (!tls)
    {
      g_autofree char *body = g_strdup_printf ("{\"error\":\"%s\"}\n", code);
      g_autofree char *text = g_strdup_printf ("HTTP/1.1 %s\r\n"
                                               "Content-Type: application/json\r\n"
                                               "Content-Length: %zu\r\n"
                                               "Connection: close\r\n"
                                               "Retry-After: 10\r\n"
                                               "\r\n%s",
                                               status, strlen (body), body);

      /* A fresh socket takes a few hundred bytes at once, or nothing. */
      g_socket_send_with_blocking (natter_server_stream_get_socket (stream), text, strlen (text),
                                   FALSE, NULL, NULL);
    }

  natter_server_stream_set_linger (stream, REFUSAL_LINGER_BYTES, REFUSAL_LINGER_MS);
  g_io_stream_close (G_IO_STREAM (stream), NULL, NULL);
}

static void
hand_to_soup (NatterServerShard *self,
              NatterServerStream *stream)
{
  GSocket *socket = natter_server_stream_get_socket (stream);
  g_autoptr(GSocketAddress) local = g_socket_get_local_address (socket, NULL);
  g_autoptr(GSocketAddress) remote = g_socket_get_remote_address (socket, NULL);
  g_autoptr(GError) error = NULL;

  if (local == NULL || remote == NULL ||
      !soup_server_accept_iostream (self->soup, G_IO_STREAM (stream), local, remote, &error))
    {
      g_debug ("Cannot serve a connection: %s", error != NULL ? error->message : "no address");
      natter_server_stream_abort (stream);
    }
}

static void
on_handshake_done (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(NatterServerStream) stream = user_data;
  g_autoptr(GError) error = NULL;
  NatterServerShard *self;

  if (!g_tls_connection_handshake_finish (G_TLS_CONNECTION (source), result, &error))
    {
      g_debug ("TLS handshake failed: %s", error->message);
      natter_server_stream_abort (stream);
      return;
    }

  /* Closed (timed out, say) during the handshake. */
  if (natter_server_stream_is_finished (stream) || g_io_stream_is_closed (G_IO_STREAM (stream)))
    return;

  self = g_object_get_data (G_OBJECT (stream), "natter-server");
  hand_to_soup (self, stream);
}

/* Accounts for a new connection and decides what becomes of it. */
static void
take (NatterServerShard *self,
      GSocket      *socket,
      gboolean      on_reserve)
{
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GSocketAddress) remote = NULL;
  g_autoptr(NatterServerStream) stream = NULL;
  g_autoptr(GIOStream) base = NULL;
  g_autofree char *address = NULL;
  NatterServerStreamAccount *account;
  NatterServer *server = self->server;
  const char *refusal = NULL;
  guint n_streams;
  guint max_connections = natter_server_config_get_max_connections (self->config);
  guint per_address = natter_server_config_get_max_unauthenticated_per_address (self->config);

  set_no_delay (socket);
  remote = g_socket_get_remote_address (socket, NULL);
  if (G_IS_INET_SOCKET_ADDRESS (remote))
    address = g_inet_address_to_string (
      g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (remote)));

  connection = g_socket_connection_factory_create_connection (socket);
  base = G_IO_STREAM (g_object_ref (connection));
  if (self->certificate != NULL)
    {
      g_autoptr(GError) error = NULL;
      GIOStream *tls = g_tls_server_connection_new (G_IO_STREAM (connection), self->certificate,
                                                    &error);

      if (tls == NULL)
        {
          g_message ("Cannot set up TLS for a connection: %s", error->message);
          g_socket_close (socket, NULL);
          return;
        }
      g_clear_object (&base);
      base = tls;
    }

  stream = natter_server_stream_new (base, socket, address);
  account = natter_server_stream_get_account (stream);
  g_hash_table_add (self->streams, g_object_ref (stream));
  n_streams = g_atomic_int_add (&server->n_streams, 1) + 1;
  g_signal_connect (stream, "lingering", G_CALLBACK (on_stream_lingering), self);
  g_signal_connect (stream, "finished", G_CALLBACK (on_stream_finished), self);
  NATTER_SERVER_COUNT (self->counters.accepted_total);
  self->accepted_since_trim++;

  if (on_reserve)
    account->reserve = TRUE;

  /* One decision for all shards, under one lock. */
  pthread_mutex_lock (&server->accept_lock);
  if (address_count (server, natter_server_stream_get_address (stream)) >= per_address)
    {
      refusal = "too-many-connections";
    }
  else if (on_reserve || n_streams > max_connections)
    {
      if (server->n_overflow >= OVERFLOW_MAX)
        refusal = "server-full";
      else
        {
          account->overflow = TRUE;
          server->n_overflow++;
        }
    }
  if (refusal == NULL)
    address_add (server, natter_server_stream_get_address (stream), 1);
  pthread_mutex_unlock (&server->accept_lock);

  if (g_strcmp0 (refusal, "too-many-connections") == 0)
    {
      NATTER_SERVER_COUNT (self->counters.address_refusals);
      refuse (self, stream, self->certificate != NULL, "429 Too Many Requests", refusal);
      return;
    }
  if (refusal != NULL)
    {
      NATTER_SERVER_COUNT (self->counters.rejected[NATTER_PROTOCOL_ERROR_SERVER_FULL]);
      refuse (self, stream, self->certificate != NULL, "503 Service Unavailable", refusal);
      return;
    }

  g_queue_push_tail_link (&self->unauthenticated, &account->link);
  account->queued = TRUE;
  publish_oldest (self);
  g_atomic_int_inc (&server->n_unauthenticated);

  if (self->certificate != NULL)
    {
      g_object_set_data (G_OBJECT (stream), "natter-server", self);
      g_tls_connection_handshake_async (G_TLS_CONNECTION (base), G_PRIORITY_DEFAULT, NULL,
                                        on_handshake_done, g_object_ref (stream));
      return;
    }

  hand_to_soup (self, stream);
}

static gboolean
out_of_descriptors (const GError *error)
{
  /* GLib reports both EMFILE and ENFILE so. */
  return g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TOO_MANY_OPEN_FILES);
}

static void
log_fd_exhaustion (NatterServerShard *self)
{
  NatterServer *server = self->server;
  gint64 now = g_get_monotonic_time ();
  guint64 suppressed;

  NATTER_SERVER_COUNT (self->counters.fd_exhausted);

  /* Once a minute for the whole server, whichever shard ran out. */
  pthread_mutex_lock (&server->accept_lock);
  if (now < server->fd_log_next)
    {
      server->fd_log_suppressed++;
      pthread_mutex_unlock (&server->accept_lock);
      return;
    }
  suppressed = server->fd_log_suppressed;
  server->fd_log_suppressed = 0;
  server->fd_log_next = now + FD_LOG_INTERVAL_US;
  pthread_mutex_unlock (&server->accept_lock);

  g_message ("Out of file descriptors with %d connections open; dropping closed and "
             "unauthenticated ones to take new ones (%" G_GUINT64_FORMAT " more times since "
             "the last report)",
             g_atomic_int_get (&server->n_streams), suppressed);
}

typedef enum
{
  ROOM_NONE,
  ROOM_MADE,
  ROOM_ASKED,     /* another shard closes its oldest: try again soon */
} Room;

/* A shard, other than @self, with closed connections waiting for their
 * peers. */
static NatterServerShard *
shard_with_lingering (NatterServerShard *self)
{
  GPtrArray *shards = self->server->shards;

  for (guint i = 0; i < shards->len; i++)
    {
      NatterServerShard *shard = g_ptr_array_index (shards, i);

      if (shard != self && g_atomic_int_get (&shard->n_lingering) > 0)
        return shard;
    }

  return NULL;
}

/* The shard, other than @self, whose oldest unauthenticated connection is
 * the oldest of all, if older than @than (0: any); @than becomes when it
 * was accepted. */
static NatterServerShard *
shard_with_oldest (NatterServerShard *self,
                   gint64            *than)
{
  NatterServerShard *found = NULL;
  GPtrArray *shards = self->server->shards;

  for (guint i = 0; i < shards->len; i++)
    {
      NatterServerShard *shard = g_ptr_array_index (shards, i);
      gint64 oldest = __atomic_load_n (&shard->oldest_unauthenticated, __ATOMIC_RELAXED);

      if (shard == self || oldest == 0 || (*than != 0 && oldest >= *than))
        continue;

      found = shard;
      *than = oldest;
    }

  return found;
}

#define VICTIM_SEARCH 32

/* Which unauthenticated connection goes when descriptors run out: the
 * oldest that has not been answered anything yet (an idle one, rather than
 * a /health being answered), among the oldest few; else the oldest. */
static NatterServerStream *
pick_victim (NatterServerShard *self)
{
  GList *link = g_queue_peek_head_link (&self->unauthenticated);

  for (guint i = 0; link != NULL && i < VICTIM_SEARCH; i++, link = link->next)
    {
      NatterServerStream *stream = link->data;

      if (natter_server_stream_get_bytes_written (stream) == 0 &&
          !natter_server_stream_get_account (stream)->upgraded)
        return stream;
    }

  return g_queue_peek_head (&self->unauthenticated);
}

/* Another shard ran out of descriptors. Drops a closed connection still
 * waiting for its peer (@accepted < 0), or else this shard's oldest
 * unauthenticated connection if it is the one accepted at @accepted, or
 * older. */
void
_natter_server_evict_oldest (NatterServerShard *self,
                             gint64             accepted)
{
  NatterServerStream *oldest = g_queue_peek_head (&self->unauthenticated);

  if (accepted < 0)
    {
      if (self->lingering.head != NULL)
        natter_server_stream_abort (self->lingering.head->data);
      return;
    }

  if (oldest == NULL || natter_server_stream_get_accepted (oldest) > accepted)
    return;

  NATTER_SERVER_COUNT (self->counters.evicted);
  natter_server_stream_abort (pick_victim (self));
}

/* Frees one file descriptor for a new connection: a closed one still
 * waiting for its peer (here, or else on another shard), or the oldest
 * not authenticated on any shard (the descriptors are the process's). Says whether the next accept runs on
 * the reserve. */
static Room
make_room (NatterServerShard *self,
           gboolean          *on_reserve)
{
  GList *closing = g_queue_peek_head_link (&self->lingering);
  NatterServerStream *oldest = g_queue_peek_head (&self->unauthenticated);
  NatterServerShard *elsewhere;
  gint64 than;

  *on_reserve = FALSE;

  if (closing != NULL)
    {
      natter_server_stream_abort (closing->data);
      return ROOM_MADE;
    }

  elsewhere = shard_with_lingering (self);
  if (elsewhere != NULL)
    {
      _natter_server_ask_eviction (self, elsewhere, -1);
      return ROOM_ASKED;
    }

  than = oldest != NULL ? natter_server_stream_get_accepted (oldest) : 0;
  elsewhere = shard_with_oldest (self, &than);
  if (elsewhere != NULL)
    {
      _natter_server_ask_eviction (self, elsewhere, than);
      return ROOM_ASKED;
    }

  if (oldest != NULL)
    {
      NATTER_SERVER_COUNT (self->counters.evicted);
      natter_server_stream_abort (pick_victim (self));
      return ROOM_MADE;
    }

  if (self->reserve_fd >= 0)
    {
      close (self->reserve_fd);
      self->reserve_fd = -1;
      *on_reserve = TRUE;
      return ROOM_MADE;
    }

  return ROOM_NONE;
}

static gboolean on_accept (GSocket      *listen_socket,
                           GIOCondition  condition,
                           gpointer      user_data);

static void
start_accepting (NatterServerShard *self)
{
  g_assert (self->accept_source == NULL);

  self->accept_source = g_socket_create_source (self->listen_socket, G_IO_IN, NULL);
  g_source_set_callback (self->accept_source, G_SOURCE_FUNC (on_accept), self, NULL);
  g_source_set_static_name (self->accept_source, "natter-server accept");
  g_source_attach (self->accept_source, self->context);
}

static gboolean
on_accept_resume (gpointer user_data)
{
  NatterServerShard *self = user_data;

  g_clear_pointer (&self->accept_resume, g_source_unref);
  start_accepting (self);

  return G_SOURCE_REMOVE;
}

/* SoupServer's own listener accepts one client per main loop iteration, and
 * an iteration costs time in proportion to the open connections. Accepting
 * a batch at a time keeps bursts of thousands of clients connecting at once
 * from queueing up in the listen backlog.
 */
static gboolean
on_accept (GSocket      *listen_socket,
           GIOCondition  condition,
           gpointer      user_data)
{
  NatterServerShard *self = user_data;
  gboolean on_reserve = FALSE;
  guint pause_ms = ACCEPT_PAUSE_MS;

  for (guint i = 0; i < ACCEPT_BATCH; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GSocket) socket = g_socket_accept (listen_socket, NULL, &error);

      if (socket != NULL)
        {
          take (self, socket, on_reserve);
          on_reserve = FALSE;
          continue;
        }

      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        break;

      if (out_of_descriptors (error))
        {
          Room room;

          log_fd_exhaustion (self);
          room = make_room (self, &on_reserve);
          if (room == ROOM_MADE)
            continue;
          if (room == ROOM_ASKED)
            pause_ms = EVICTION_WAIT_MS;
        }
      else
        {
          g_message ("Accepting connections failed: %s; pausing for %d ms", error->message,
                     ACCEPT_PAUSE_MS);
        }

      /* The listening socket stays readable: pause instead of spinning. */
      g_clear_pointer (&self->accept_source, g_source_unref);
      self->accept_resume = _natter_server_shard_add_timeout (self, pause_ms,
                                                              on_accept_resume, self);
      return G_SOURCE_REMOVE;
    }

  /* The reserve was freed but nothing came to take it. */
  if (on_reserve)
    open_reserve_fd (self);

  return G_SOURCE_CONTINUE;
}

/* Closes connections that did not become a WebSocket in time. */
static gboolean
on_request_sweep (gpointer user_data)
{
  NatterServerShard *self = user_data;
  gint64 deadline = g_get_monotonic_time () -
                    natter_server_config_get_request_timeout (self->config) * G_USEC_PER_SEC;
  GList *link = g_queue_peek_head_link (&self->unauthenticated);

  while (link != NULL)
    {
      NatterServerStream *stream = link->data;
      NatterServerStreamAccount *account = natter_server_stream_get_account (stream);

      if (natter_server_stream_get_accepted (stream) > deadline)
        break;

      link = link->next;
      if (account->upgraded || account->lingering)
        continue;   /* the authentication timeout is its limit now, or its linger */

      NATTER_SERVER_COUNT (self->counters.request_timeouts);
      dequeue (self, stream);
      natter_server_stream_set_linger (stream, REFUSAL_LINGER_BYTES, REFUSAL_LINGER_MS);
      g_io_stream_close (G_IO_STREAM (stream), NULL, NULL);
    }

  /* Each sign-in leaves freed memory behind (its HTTP request, libsoup's
   * objects for it) between the connections that stay. Once a burst of
   * them has settled, the pages that are wholly free go back to the
   * system, so that what a connection holds is what it costs. */
  if (self->accepted_since_trim >= TRIM_AFTER_ACCEPTS && g_queue_is_empty (&self->unauthenticated))
    {
      self->accepted_since_trim = 0;
      malloc_trim (0);
    }

  return G_SOURCE_CONTINUE;
}

void
_natter_server_accept_init (NatterServerShard *self)
{
  self->streams = g_hash_table_new_full (NULL, NULL, g_object_unref, NULL);
  g_queue_init (&self->unauthenticated);
  g_queue_init (&self->lingering);
  self->reserve_fd = -1;
}

/* Starts accepting on the bound, listening self->listen_socket. */
void
_natter_server_accept_start (NatterServerShard *self)
{
  g_socket_set_blocking (self->listen_socket, FALSE);
  open_reserve_fd (self);
  start_accepting (self);
  self->request_sweep = _natter_server_shard_add_timeout (self, REQUEST_SWEEP_MS,
                                                          on_request_sweep, self);
}

void
_natter_server_accept_stop (NatterServerShard *self)
{
  _natter_server_clear_source (&self->accept_resume);
  _natter_server_clear_source (&self->request_sweep);
  _natter_server_clear_source (&self->accept_source);

  if (self->listen_socket != NULL)
    g_socket_close (self->listen_socket, NULL);
  g_clear_object (&self->listen_socket);

  if (self->soup != NULL)
    soup_server_disconnect (self->soup);
}

/* Drops every stream without waiting; for dispose. */
void
_natter_server_accept_dispose (NatterServerShard *self)
{
  _natter_server_accept_stop (self);

  /* The links live in the streams: unlink, never free them. */
  while (self->unauthenticated.head != NULL)
    dequeue (self, self->unauthenticated.head->data);
  while (self->lingering.head != NULL)
    {
      NatterServerStreamAccount *account =
        natter_server_stream_get_account (self->lingering.head->data);

      g_queue_unlink (&self->lingering, &account->linger_link);
      account->lingering = FALSE;
      g_atomic_int_add (&self->n_lingering, -1);
    }

  if (self->streams != NULL)
    {
      GHashTableIter iter;
      gpointer stream;

      g_hash_table_iter_init (&iter, self->streams);
      while (g_hash_table_iter_next (&iter, &stream, NULL))
        {
          g_signal_handlers_disconnect_by_data (stream, self);
          natter_server_stream_abort (stream);
        }
      g_atomic_int_add (&self->server->n_streams, -(int) g_hash_table_size (self->streams));
      g_clear_pointer (&self->streams, g_hash_table_unref);
    }

  if (self->reserve_fd >= 0)
    close (self->reserve_fd);
  self->reserve_fd = -1;
}

/* Finds the stream under what libsoup made from it. */
NatterServerStream *
_natter_server_find_stream (GIOStream *io_stream)
{
  g_autoptr(GIOStream) base = NULL;

  if (NATTER_IS_SERVER_STREAM (io_stream))
    return NATTER_SERVER_STREAM (io_stream);

  /* libsoup wraps it in a SoupIOStream of its own. */
  if (g_object_class_find_property (G_OBJECT_GET_CLASS (io_stream), "base-iostream") == NULL)
    return NULL;
  g_object_get (io_stream, "base-iostream", &base, NULL);

  return NATTER_IS_SERVER_STREAM (base) ? NATTER_SERVER_STREAM (base) : NULL;
}

/* A WebSocket on @stream now: --request-timeout no longer applies. Whether
 * there is room for it is the WebSocket count's business (on_websocket). */
void
_natter_server_stream_upgraded (NatterServerShard *self,
                                NatterServerStream *stream)
{
  natter_server_stream_get_account (stream)->upgraded = TRUE;
}

void
_natter_server_stream_authenticated (NatterServerShard *self,
                                     NatterServerStream *stream)
{
  dequeue (self, stream);
}
