/* natter-loadgen.c: a load generator for natter-server
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Starts a real natter-server on 127.0.0.1 (or uses one given by --url),
 * opens N WebSocket connections, authenticates each with its own Ed25519
 * key, pairs connection 2k with 2k+1 and relays `signal` frames between the
 * two of every pair. The payload of every frame carries the sender's
 * sequence number and its send time, so the receiver measures the relay
 * latency (sender and receiver are the same process, one monotonic clock).
 *
 * The client is written by hand on non-blocking sockets: one epoll set, one
 * GLib source on its file descriptor, edge-triggered, with a read and a
 * write buffer per connection and no allocation per frame. A load generator
 * sharing two cores with the server must cost far less per frame than the
 * server does. Measured on the two-core development machine, closed loop,
 * 200 connections to a minimal SoupServer relay: a client on
 * SoupWebsocketConnection (a GIOStream and main-loop sources per connection,
 * SoupSession max-conns raised) spent about 21 µs of CPU per relayed frame,
 * as much as the server side; this client spent 7. Against natter-server
 * with 1,000 connections it spends 9 to 16 µs per frame where the server
 * spends 19 to 32, and its cost does not grow with the number of
 * connections, since epoll only reports the sockets that are ready.
 *
 * Phases: connect (at most --concurrency handshakes in flight), hold,
 * check (one frame each way in every pair), relay (for --duration seconds,
 * open loop at --rate frames/s, or closed loop with --window frames in
 * flight per connection when --rate is 0), drain.
 *
 * It exits 1 only when something is broken (a connection refused, closed or
 * failing to authenticate, a frame lost or misrouted, a phase making no
 * progress at all for --stall-timeout seconds), never because the machine
 * is slow.
 */

#define G_LOG_DOMAIN "natter-loadgen"

#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <libsoup/soup.h>

#include "natter-protocol.h"

#define WS_GUID               "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define WS_OP_CONTINUATION    0x0
#define WS_OP_TEXT            0x1
#define WS_OP_BINARY          0x2
#define WS_OP_CLOSE           0x8
#define WS_OP_PING            0x9
#define WS_OP_PONG            0xA
#define WS_MAX_MESSAGE        (2 * 1024 * 1024)
#define READ_CHUNK            16384
#define MAX_IN_FLIGHT_OPEN    64
#define LATENCY_BUCKETS       1000000
#define MAX_CONNECTIONS       60000
#define MAX_DURATION_S        600

typedef enum
{
  CONN_IDLE,
  CONN_CONNECTING,
  CONN_UPGRADING,
  CONN_HELLO,
  CONN_AUTHENTICATING,
  CONN_READY,
  CONN_CLOSED,
} ConnState;

typedef enum
{
  PHASE_CONNECT,
  PHASE_HOLD,
  PHASE_CHECK,
  PHASE_RELAY,
  PHASE_DRAIN,
  PHASE_DONE,
} Phase;

typedef struct _LoadGen LoadGen;
typedef struct _Conn Conn;

struct _Conn
{
  LoadGen   *lg;
  Conn      *peer;
  int        fd;
  ConnState  state;
  gboolean   dirty;
  gboolean   checked;
  gboolean   idle;        /* authenticates, then only answers pings */
  gboolean   on_b;        /* connects to --url-b */

  guint8     secret_key[NATTER_SECRET_KEY_SIZE];
  char      *user_id;
  char       ws_accept[29];

  guint8    *in;
  gsize      in_len;
  gsize      in_cap;
  guint8    *out;
  gsize      out_len;
  gsize      out_off;
  gsize      out_cap;
  GByteArray *fragments;

  guint32    next_seq;
  guint32    expect_seq;
  int        in_flight;
};

struct _LoadGen
{
  /* Options */
  char      *server_path;
  char      *url;
  char     **server_args;
  int        server_pid;
  int        n_connections;
  int        concurrency;
  int        n_idle;
  int        n_idle_ready;
  double     hold_s;
  double     duration_s;
  int        rate;
  int        window;
  int        payload_bytes;
  double     stall_timeout_s;
  double     timeout_s;
  int        server_rate;
  gboolean   peerjs;      /* the server is a PeerJS server: its protocol */

  /* Server */
  GSubprocess *server;
  char        *data_dir;
  GDataInputStream *server_stdout;
  char        *host_port;
  char        *url_b;       /* odd connections go there: pairs span two servers */
  struct sockaddr_in addr_b;
  char        *host_port_b;
  struct sockaddr_in addr;

  /* Connections */
  Conn       *conns;
  int         epfd;
  GPtrArray  *dirty;
  guint32     mask_state;
  char       *scratch;
  gsize       scratch_size;
  char       *pad;

  Phase       phase;
  int         n_started;
  int         n_ready;
  int         n_failed;
  int         n_lost;
  int         n_checked;
  gint64      connect_start_us;
  GHashTable *failures;        /* reason → count */
  GHashTable *errors;          /* error code received while ready → count */
  guint64     progress;
  gint64      deadline_us;
  gboolean    stalled;
  gboolean    timed_out;
  gboolean    interrupted;

  /* Relay */
  gint64      relay_start_us;
  gint64      relay_end_us;
  guint64     scheduled;
  int         rr_cursor;
  guint64     frames_sent;
  guint64     frames_received;
  guint64     relay_received;
  guint64     relay_in_window;
  guint64     skipped;
  guint64     out_of_order;
  guint64     misrouted;
  guint64     pings;
  guint32    *latency;
  guint32    *latency_ms;
  guint64     latency_count;
  gint64      latency_max;
};

static void conn_fail         (Conn       *c,
                               const char *reason);
static void conn_handle_text  (Conn       *c,
                               const char *data,
                               gsize       length,
                               gint64      now);

/* Helpers */

static void
count_reason (GHashTable *table,
              const char *reason)
{
  gpointer value = g_hash_table_lookup (table, reason);

  g_hash_table_replace (table, g_strdup (reason), GUINT_TO_POINTER (GPOINTER_TO_UINT (value) + 1));
}

static char *
format_reasons (GHashTable *table)
{
  GString *s = g_string_new (NULL);
  GHashTableIter iter;
  gpointer key, value;

  g_hash_table_iter_init (&iter, table);
  while (g_hash_table_iter_next (&iter, &key, &value))
    g_string_append_printf (s, "%s%s x%u", s->len ? ", " : "", (const char *) key,
                            GPOINTER_TO_UINT (value));

  if (s->len == 0)
    g_string_append (s, "none");

  return g_string_free (s, FALSE);
}

static guint32
next_mask (LoadGen *lg)
{
  /* xorshift32: masking keys only need to vary, not to be secret here */
  guint32 x = lg->mask_state;

  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  lg->mask_state = x;

  return x;
}

static void
raise_nofile_limit (void)
{
  struct rlimit rl;

  if (getrlimit (RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max)
    {
      rl.rlim_cur = rl.rlim_max;
      if (setrlimit (RLIMIT_NOFILE, &rl) != 0)
        g_printerr ("natter-loadgen: could not raise RLIMIT_NOFILE: %s\n", g_strerror (errno));
    }
}

static int
nofile_limit (void)
{
  struct rlimit rl;

  if (getrlimit (RLIMIT_NOFILE, &rl) != 0)
    return 1024;

  return rl.rlim_cur > G_MAXINT ? G_MAXINT : (int) rl.rlim_cur;
}

/* VmRSS of @pid in KiB, or -1 */
static gint64
read_rss_kib (int pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/status", pid);
  g_autofree char *contents = NULL;
  const char *line;

  if (pid <= 0 || !g_file_get_contents (path, &contents, NULL, NULL))
    return -1;

  line = strstr (contents, "\nVmRSS:");
  if (line == NULL)
    return -1;

  return g_ascii_strtoll (line + strlen ("\nVmRSS:"), NULL, 10);
}

/* user + system CPU time of @pid in seconds, or -1 */
static double
read_cpu_s (int pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/stat", pid);
  g_autofree char *contents = NULL;
  g_auto(GStrv) fields = NULL;
  const char *after_comm;

  if (pid <= 0 || !g_file_get_contents (path, &contents, NULL, NULL))
    return -1;

  /* Fields after the command name: state is field 3, utime 14, stime 15 */
  after_comm = strrchr (contents, ')');
  if (after_comm == NULL)
    return -1;

  fields = g_strsplit (after_comm + 2, " ", 0);
  if (g_strv_length (fields) < 13)
    return -1;

  return (g_ascii_strtod (fields[11], NULL) + g_ascii_strtod (fields[12], NULL))
         / sysconf (_SC_CLK_TCK);
}

/* Seconds the main thread of @pid spent runnable but waiting for a CPU
 * (the second field of schedstat), or -1
 */
static double
read_run_delay_s (int pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/schedstat", pid);
  g_autofree char *contents = NULL;
  g_auto(GStrv) fields = NULL;

  if (pid <= 0 || !g_file_get_contents (path, &contents, NULL, NULL))
    return -1;

  fields = g_strsplit (contents, " ", 0);
  if (g_strv_length (fields) < 2)
    return -1;

  return g_ascii_strtod (fields[1], NULL) / 1e9;
}

static double
self_cpu_s (void)
{
  struct rusage ru;

  getrusage (RUSAGE_SELF, &ru);

  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6
         + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* The machine may be shared: say how busy it was */
static char *
read_loadavg (void)
{
  g_autofree char *contents = NULL;
  g_auto(GStrv) fields = NULL;

  if (!g_file_get_contents ("/proc/loadavg", &contents, NULL, NULL))
    return g_strdup ("unknown");

  fields = g_strsplit (contents, " ", 4);
  if (g_strv_length (fields) < 3)
    return g_strdup ("unknown");

  return g_strdup_printf ("%s %s %s", fields[0], fields[1], fields[2]);
}

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  if (dir != NULL)
    {
      while ((name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);

          if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
            remove_tree (child);
          else
            g_unlink (child);
        }
    }

  g_rmdir (path);
}

/* Latency histogram */

static void
latency_add (LoadGen *lg,
             gint64   us)
{
  us = MAX (us, 0);

  /* 1 µs buckets below 1 s, then 1 ms buckets */
  if (us < LATENCY_BUCKETS)
    lg->latency[us]++;
  else if (us / 1000 < LATENCY_BUCKETS)
    lg->latency_ms[us / 1000]++;
  else
    lg->latency_ms[LATENCY_BUCKETS - 1]++;

  lg->latency_count++;
  lg->latency_max = MAX (lg->latency_max, us);
}

static double
latency_percentile_ms (LoadGen *lg,
                       double   percentile)
{
  guint64 rank = (guint64) (percentile / 100.0 * lg->latency_count);
  guint64 seen = 0;

  if (lg->latency_count == 0)
    return 0;

  rank = CLAMP (rank, 1, lg->latency_count);

  for (gsize i = 0; i < LATENCY_BUCKETS; i++)
    {
      seen += lg->latency[i];
      if (seen >= rank)
        return i / 1000.0;
    }

  for (gsize i = LATENCY_BUCKETS / 1000; i < LATENCY_BUCKETS; i++)
    {
      seen += lg->latency_ms[i];
      if (seen >= rank)
        return i;
    }

  return lg->latency_max / 1000.0;
}

/* Sending */

static void
buffer_reserve (guint8 **buffer,
                gsize   *capacity,
                gsize    needed)
{
  if (needed <= *capacity)
    return;

  *capacity = MAX (needed, MAX (*capacity * 2, 1024));
  *buffer = g_realloc (*buffer, *capacity);
}

static void
conn_mark_dirty (Conn *c)
{
  if (!c->dirty)
    {
      c->dirty = TRUE;
      g_ptr_array_add (c->lg->dirty, c);
    }
}

/* Queues bytes without flushing them at the end of this dispatch */
static void
conn_append (Conn       *c,
             const void *data,
             gsize       length)
{
  buffer_reserve (&c->out, &c->out_cap, c->out_len + length);
  memcpy (c->out + c->out_len, data, length);
  c->out_len += length;
}

/* Queues one masked client-to-server WebSocket frame */
static void
conn_queue_ws (Conn       *c,
               guint8      opcode,
               const void *data,
               gsize       length)
{
  const guint8 *src = data;
  guint8 *p;
  guint32 mask_word;
  guint8 mask[4];

  if (c->state == CONN_CLOSED)
    return;

  buffer_reserve (&c->out, &c->out_cap, c->out_len + length + 14);
  p = c->out + c->out_len;

  *p++ = 0x80 | opcode;
  if (length < 126)
    {
      *p++ = 0x80 | length;
    }
  else if (length <= G_MAXUINT16)
    {
      *p++ = 0x80 | 126;
      *p++ = length >> 8;
      *p++ = length & 0xff;
    }
  else
    {
      *p++ = 0x80 | 127;
      for (int shift = 56; shift >= 0; shift -= 8)
        *p++ = ((guint64) length >> shift) & 0xff;
    }

  mask_word = next_mask (c->lg);
  memcpy (mask, &mask_word, 4);
  memcpy (p, mask, 4);
  p += 4;

  for (gsize i = 0; i < length; i++)
    p[i] = src[i] ^ mask[i & 3];

  c->out_len = (p + length) - c->out;
  conn_mark_dirty (c);
}

static void
conn_flush (Conn *c)
{
  while (c->state != CONN_CLOSED && c->out_off < c->out_len)
    {
      ssize_t n = send (c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);

      if (n > 0)
        {
          c->out_off += n;
        }
      else if (n < 0 && errno == EINTR)
        {
          continue;
        }
      else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        {
          return;   /* EPOLLOUT tells when to go on */
        }
      else
        {
          conn_fail (c, "send failed");
          return;
        }
    }

  c->out_off = c->out_len = 0;
}

static void
flush_dirty (LoadGen *lg)
{
  for (guint i = 0; i < lg->dirty->len; i++)
    {
      Conn *c = g_ptr_array_index (lg->dirty, i);

      c->dirty = FALSE;
      conn_flush (c);
    }

  g_ptr_array_set_size (lg->dirty, 0);
}

static void
conn_send_bench (Conn *c)
{
  LoadGen *lg = c->lg;
  int length;

  /* PeerJS relays OFFER, ANSWER and CANDIDATE to `dst`, adding `src`. */
  length = g_snprintf (lg->scratch, lg->scratch_size,
                       lg->peerjs
                         ? "{\"type\":\"OFFER\",\"dst\":\"%s\",\"payload\":{\"type\":\"bench\","
                           "\"seq\":%u,\"sent_us\":%" G_GINT64_FORMAT "%s}}"
                         : "{\"type\":\"signal\",\"to\":\"%s\",\"payload\":{\"type\":\"bench\","
                           "\"seq\":%u,\"sent_us\":%" G_GINT64_FORMAT "%s}}",
                       c->peer->user_id, c->next_seq++, g_get_monotonic_time (), lg->pad);

  conn_queue_ws (c, WS_OP_TEXT, lg->scratch, length);
  c->in_flight++;
  lg->frames_sent++;
}

/* Connection life cycle */

static void
conn_close_fd (Conn *c)
{
  if (c->fd >= 0)
    {
      epoll_ctl (c->lg->epfd, EPOLL_CTL_DEL, c->fd, NULL);
      close (c->fd);
      c->fd = -1;
    }

  g_clear_pointer (&c->in, g_free);
  g_clear_pointer (&c->out, g_free);
  g_clear_pointer (&c->fragments, g_byte_array_unref);
  c->in_len = c->in_cap = c->out_len = c->out_off = c->out_cap = 0;
}

static void
conn_fail (Conn       *c,
           const char *reason)
{
  LoadGen *lg = c->lg;

  if (c->state == CONN_CLOSED)
    return;

  if (c->state == CONN_READY)
    {
      if (lg->phase != PHASE_DONE)
        {
          lg->n_lost++;
          count_reason (lg->failures, reason);
        }
    }
  else
    {
      lg->n_failed++;
      count_reason (lg->failures, reason);
    }

  natter_secure_zero (c->secret_key, sizeof c->secret_key);
  c->state = CONN_CLOSED;
  conn_close_fd (c);
  lg->progress++;
}

static void start_more_connections (LoadGen *lg);

static void
conn_start (Conn *c)
{
  LoadGen *lg = c->lg;
  guint8 public_key[NATTER_PUBLIC_KEY_SIZE];
  guint8 key[16];
  g_autofree char *key_b64 = NULL;
  g_autofree char *accept_src = NULL;
  g_autofree char *request = NULL;
  g_autofree char *path = NULL;
  g_autoptr(GChecksum) sha1 = NULL;
  guint8 digest[20];
  gsize digest_len = sizeof digest;
  g_autofree char *accept = NULL;
  struct epoll_event ev = { 0 };
  int one = 1;

  natter_keypair_generate (public_key, c->secret_key);
  c->user_id = natter_user_id_from_public_key (public_key);

  natter_random_bytes (key, sizeof key);
  key_b64 = g_base64_encode (key, sizeof key);
  accept_src = g_strconcat (key_b64, WS_GUID, NULL);
  sha1 = g_checksum_new (G_CHECKSUM_SHA1);
  g_checksum_update (sha1, (const guchar *) accept_src, -1);
  g_checksum_get_digest (sha1, digest, &digest_len);
  accept = g_base64_encode (digest, digest_len);
  g_strlcpy (c->ws_accept, accept, sizeof c->ws_accept);

  c->fd = socket (AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c->fd < 0)
    {
      conn_fail (c, g_strerror (errno));
      return;
    }

  setsockopt (c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

  c->state = CONN_CONNECTING;
  lg->n_started++;

  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.ptr = c;
  if (epoll_ctl (lg->epfd, EPOLL_CTL_ADD, c->fd, &ev) != 0)
    {
      conn_fail (c, g_strerror (errno));
      return;
    }

  if (lg->peerjs)
    {
      guint8 token[8];
      g_autofree char *token_hex = NULL;

      natter_random_bytes (token, sizeof token);
      token_hex = g_compute_checksum_for_data (G_CHECKSUM_MD5, token, sizeof token);
      path = g_strdup_printf ("/peerjs?key=peerjs&id=%s&token=%.12s", c->user_id, token_hex);
    }
  request = g_strdup_printf ("GET %s HTTP/1.1\r\n"
                             "Host: %s\r\n"
                             "Upgrade: websocket\r\n"
                             "Connection: Upgrade\r\n"
                             "Sec-WebSocket-Key: %s\r\n"
                             "Sec-WebSocket-Version: 13\r\n"
                             "\r\n",
                             path != NULL ? path : "/ws",
                             c->on_b ? lg->host_port_b : lg->host_port, key_b64);
  conn_append (c, request, strlen (request));   /* sent once connected */

  if (connect (c->fd, (struct sockaddr *) (c->on_b ? &lg->addr_b : &lg->addr), sizeof lg->addr) != 0 &&
      errno != EINPROGRESS)
    conn_fail (c, g_strerror (errno));
}

static void
start_more_connections (LoadGen *lg)
{
  while (lg->phase == PHASE_CONNECT
         && lg->n_started < lg->n_connections
         && lg->n_started - lg->n_ready - lg->n_failed < lg->concurrency)
    conn_start (&lg->conns[lg->n_started]);
}

static void
conn_on_connected (Conn *c)
{
  int error = 0;
  socklen_t len = sizeof error;

  if (getsockopt (c->fd, SOL_SOCKET, SO_ERROR, &error, &len) != 0 || error != 0)
    {
      conn_fail (c, g_strerror (error ? error : errno));
      return;
    }

  c->state = CONN_UPGRADING;
  conn_flush (c);
}

static gboolean
conn_handle_upgrade (Conn *c)
{
  const char *head = (const char *) c->in;
  const char *end;
  g_autofree char *headers = NULL;
  g_auto(GStrv) lines = NULL;
  gboolean accepted = FALSE;
  gsize consumed;

  end = g_strstr_len (head, c->in_len, "\r\n\r\n");
  if (end == NULL)
    {
      if (c->in_len > 16384)
        conn_fail (c, "HTTP response too long");
      return FALSE;
    }

  consumed = end + 4 - head;
  headers = g_strndup (head, end - head);
  lines = g_strsplit (headers, "\r\n", 0);

  if (lines[0] == NULL || !g_str_has_prefix (lines[0], "HTTP/1.1 101"))
    {
      g_autofree char *reason = g_strdup_printf ("HTTP upgrade refused: %.40s",
                                                 lines[0] ? lines[0] : "");

      conn_fail (c, reason);
      return FALSE;
    }

  for (guint i = 1; lines[i] != NULL; i++)
    {
      if (g_ascii_strncasecmp (lines[i], "Sec-WebSocket-Accept:", 21) == 0
          && g_strcmp0 (g_strstrip (lines[i] + 21), c->ws_accept) == 0)
        accepted = TRUE;
    }

  if (!accepted)
    {
      conn_fail (c, "bad Sec-WebSocket-Accept");
      return FALSE;
    }

  memmove (c->in, c->in + consumed, c->in_len - consumed);
  c->in_len -= consumed;
  c->state = CONN_HELLO;

  return TRUE;
}

static void
conn_handle_close (Conn         *c,
                   const guint8 *data,
                   gsize         length)
{
  guint code = length >= 2 ? (data[0] << 8) | data[1] : 1005;
  g_autofree char *reason = g_strdup_printf ("closed by server (%u)", code);
  guint8 reply[2] = { code >> 8, code & 0xff };

  /* Answer the close handshake, then drop the socket */
  if (length >= 2)
    conn_queue_ws (c, WS_OP_CLOSE, reply, 2);
  else
    conn_queue_ws (c, WS_OP_CLOSE, NULL, 0);
  conn_flush (c);
  conn_fail (c, reason);
}

/* Parses and handles the complete frames in the read buffer */
static void
conn_process_input (Conn   *c,
                    gint64  now)
{
  gsize pos = 0;

  if (c->state == CONN_UPGRADING && !conn_handle_upgrade (c))
    return;

  while (c->state != CONN_CLOSED && c->in_len - pos >= 2)
    {
      const guint8 *p = c->in + pos;
      gsize avail = c->in_len - pos;
      gboolean fin = (p[0] & 0x80) != 0;
      guint8 opcode = p[0] & 0x0f;
      guint64 length = p[1] & 0x7f;
      gsize header = 2;

      if (p[1] & 0x80)
        {
          conn_fail (c, "masked frame from server");
          return;
        }

      if (length == 126)
        {
          if (avail < 4)
            break;
          length = (p[2] << 8) | p[3];
          header = 4;
        }
      else if (length == 127)
        {
          if (avail < 10)
            break;
          length = 0;
          for (int i = 2; i < 10; i++)
            length = (length << 8) | p[i];
          header = 10;
        }

      if (length > WS_MAX_MESSAGE)
        {
          conn_fail (c, "frame from server too large");
          return;
        }

      if (avail < header + length)
        break;

      p += header;
      pos += header + length;

      switch (opcode)
        {
        case WS_OP_TEXT:
        case WS_OP_CONTINUATION:
          if (fin && opcode == WS_OP_TEXT && c->fragments == NULL)
            {
              conn_handle_text (c, (const char *) p, length, now);
              break;
            }
          if (c->fragments == NULL)
            c->fragments = g_byte_array_new ();
          g_byte_array_append (c->fragments, p, length);
          if (fin)
            {
              g_autoptr(GByteArray) message = g_steal_pointer (&c->fragments);

              conn_handle_text (c, (const char *) message->data, message->len, now);
            }
          break;

        case WS_OP_BINARY:
          conn_fail (c, "binary frame from server");
          return;

        case WS_OP_PING:
          conn_queue_ws (c, WS_OP_PONG, p, length);
          c->lg->pings++;
          break;

        case WS_OP_PONG:
          break;

        case WS_OP_CLOSE:
          conn_handle_close (c, p, length);
          return;

        default:
          conn_fail (c, "unknown WebSocket opcode");
          return;
        }
    }

  if (c->state != CONN_CLOSED && pos > 0)
    {
      memmove (c->in, c->in + pos, c->in_len - pos);
      c->in_len -= pos;
    }
}

static void
conn_on_readable (Conn *c)
{
  for (;;)
    {
      ssize_t n;

      buffer_reserve (&c->in, &c->in_cap, c->in_len + READ_CHUNK);
      n = recv (c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);

      if (n > 0)
        {
          c->in_len += n;
          conn_process_input (c, g_get_monotonic_time ());
          if (c->state == CONN_CLOSED)
            return;
        }
      else if (n == 0)
        {
          conn_fail (c, "connection closed without a close frame");
          return;
        }
      else if (errno == EINTR)
        {
          continue;
        }
      else if (errno == EAGAIN || errno == EWOULDBLOCK)
        {
          return;
        }
      else
        {
          conn_fail (c, g_strerror (errno));
          return;
        }
    }
}

/* Frames */

static void
conn_on_bench (Conn    *c,
               guint32  seq,
               gint64   sent_us,
               gint64   now)
{
  LoadGen *lg = c->lg;

  lg->frames_received++;
  lg->progress++;
  c->peer->in_flight--;

  if (seq != c->expect_seq)
    lg->out_of_order++;
  c->expect_seq = seq + 1;

  if (!c->checked)
    {
      c->checked = TRUE;
      lg->n_checked++;
    }

  if (lg->relay_start_us > 0 && sent_us >= lg->relay_start_us)
    {
      latency_add (lg, now - sent_us);
      lg->relay_received++;
      if (lg->phase == PHASE_RELAY)
        lg->relay_in_window++;
    }

  /* Closed loop: every frame received is answered by one to the sender */
  if (lg->phase == PHASE_RELAY && lg->rate == 0)
    conn_send_bench (c);
}

static gboolean
find_int (const char *data,
          gsize       length,
          const char *key,
          gint64     *value)
{
  const char *p = g_strstr_len (data, length, key);
  char *end;

  if (p == NULL)
    return FALSE;

  p += strlen (key);
  *value = g_ascii_strtoll (p, &end, 10);

  return end != p;
}

/* The common case without a JSON parser: the server writes compact JSON */
static gboolean
conn_handle_signal_fast (Conn       *c,
                         const char *data,
                         gsize       length,
                         gint64      now)
{
  const char *from_key = c->lg->peerjs ? "\"src\":\"" : "\"from\":\"";
  gsize from_key_length = strlen (from_key);
  const char *from;
  gint64 seq, sent_us;

  if (g_strstr_len (data, length,
                    c->lg->peerjs ? "\"type\":\"OFFER\"" : "\"type\":\"signal\"") == NULL
      || !find_int (data, length, "\"seq\":", &seq)
      || !find_int (data, length, "\"sent_us\":", &sent_us))
    return FALSE;

  from = g_strstr_len (data, length, from_key);
  if (from == NULL || (gsize) (from - data) + from_key_length + NATTER_USER_ID_LENGTH > length)
    return FALSE;

  if (memcmp (from + from_key_length, c->peer->user_id, NATTER_USER_ID_LENGTH) != 0)
    {
      c->lg->misrouted++;
      return TRUE;
    }

  conn_on_bench (c, (guint32) seq, sent_us, now);
  return TRUE;
}

static void
conn_on_ready (Conn *c)
{
  LoadGen *lg = c->lg;
  int step = MAX (lg->n_connections / 10, 1000);

  lg->n_ready++;
  lg->progress++;

  /* How the rate changes as the server fills up */
  if (lg->n_ready % step == 0 && lg->n_ready < lg->n_connections)
    g_print ("%-24s %d after %.2f s\n", "authenticated:", lg->n_ready,
             (g_get_monotonic_time () - lg->connect_start_us) / 1e6);
}

static void
conn_send_auth (Conn        *c,
                NatterFrame *hello)
{
  const char *nonce = natter_frame_get_string (hello, "nonce");
  g_autofree char *signature = NULL;
  g_autofree char *text = NULL;
  g_autoptr(NatterFrame) auth = NULL;
  gsize length;

  if (nonce == NULL)
    {
      conn_fail (c, "hello without nonce");
      return;
    }

  signature = natter_auth_challenge_sign (c->secret_key, nonce, c->user_id,
                                          c->on_b ? c->lg->host_port_b : c->lg->host_port);
  natter_secure_zero (c->secret_key, sizeof c->secret_key);

  auth = natter_frame_new (NATTER_FRAME_AUTH);
  natter_frame_set_id (auth, "1");
  natter_frame_set_string (auth, "user", c->user_id);
  natter_frame_set_string (auth, "server", c->on_b ? c->lg->host_port_b : c->lg->host_port);
  natter_frame_set_string (auth, "signature", signature);
  text = natter_frame_to_string (auth, &length);

  conn_queue_ws (c, WS_OP_TEXT, text, length);
  c->state = CONN_AUTHENTICATING;
}

static void
conn_handle_error_frame (Conn        *c,
                         NatterFrame *frame)
{
  const char *code = natter_frame_get_string (frame, "code");
  g_autofree char *reason = g_strdup_printf ("error %s", code ? code : "(no code)");

  if (c->state == CONN_READY)
    count_reason (c->lg->errors, code ? code : "(no code)");
  else
    conn_fail (c, reason);
}

/* PeerJS: OPEN once the server took the ID (it has no sign-in), then
 * relayed frames; anything else (ERROR, ID-TAKEN, EXPIRE, LEAVE) is
 * counted as an error. */
static void
conn_handle_peerjs (Conn       *c,
                    const char *data,
                    gsize       length)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *object;
  const char *type;

  if (!json_parser_load_from_data (parser, data, length, NULL) ||
      !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      conn_fail (c, "unparsable frame from server");
      return;
    }

  object = json_node_get_object (json_parser_get_root (parser));
  type = json_object_get_string_member_with_default (object, "type", "");
  if (g_str_equal (type, "OPEN") && c->state == CONN_HELLO)
    {
      c->state = CONN_READY;
      conn_on_ready (c);
    }
  else if (c->state == CONN_READY)
    count_reason (c->lg->errors, type);
  else
    conn_fail (c, type);
}

static void
conn_handle_text (Conn       *c,
                  const char *data,
                  gsize       length,
                  gint64      now)
{
  g_autoptr(NatterFrame) frame = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *ref = NULL;
  JsonObject *payload;

  if (c->state == CONN_READY && conn_handle_signal_fast (c, data, length, now))
    return;

  if (c->lg->peerjs)
    {
      conn_handle_peerjs (c, data, length);
      return;
    }

  frame = natter_frame_parse (data, length, NATTER_FRAME_TO_CLIENT, WS_MAX_MESSAGE, &ref, &error);
  if (frame == NULL)
    {
      g_autofree char *reason = g_strdup_printf ("unparsable frame from server: %s", error->message);

      conn_fail (c, reason);
      return;
    }

  switch (natter_frame_get_frame_type (frame))
    {
    case NATTER_FRAME_HELLO:
      if (c->state == CONN_HELLO)
        conn_send_auth (c, frame);
      else
        conn_fail (c, "unexpected hello");
      break;

    case NATTER_FRAME_AUTH_OK:
      if (c->state != CONN_AUTHENTICATING)
        {
          conn_fail (c, "unexpected auth-ok");
          break;
        }
      c->state = CONN_READY;
      conn_on_ready (c);
      break;

    case NATTER_FRAME_ERROR:
      conn_handle_error_frame (c, frame);
      break;

    case NATTER_FRAME_SIGNAL:
      payload = natter_frame_get_object_member (frame, "payload");
      if (c->state != CONN_READY || payload == NULL
          || !json_object_has_member (payload, "sent_us"))
        {
          conn_fail (c, "unexpected signal");
          break;
        }
      if (g_strcmp0 (natter_frame_get_string (frame, "from"), c->peer->user_id) != 0)
        {
          c->lg->misrouted++;
          break;
        }
      conn_on_bench (c,
                     json_object_get_int_member_with_default (payload, "seq", 0),
                     json_object_get_int_member_with_default (payload, "sent_us", 0),
                     now);
      break;

    default:
      /* presence, pong and the like: not part of this load */
      break;
    }
}

/* Event loop */

static gboolean
on_epoll_ready (int          fd,
                GIOCondition condition,
                gpointer     user_data)
{
  LoadGen *lg = user_data;
  struct epoll_event events[256];
  int n;

  n = epoll_wait (lg->epfd, events, G_N_ELEMENTS (events), 0);

  for (int i = 0; i < n; i++)
    {
      Conn *c = events[i].data.ptr;
      guint32 ev = events[i].events;

      if (c->state == CONN_CLOSED)
        continue;

      if (c->state == CONN_CONNECTING)
        {
          if (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))
            conn_on_connected (c);
          if (c->state == CONN_CLOSED)
            continue;
        }
      else if (ev & EPOLLOUT)
        {
          conn_flush (c);
        }

      if (c->state != CONN_CLOSED && (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
        conn_on_readable (c);
    }

  flush_dirty (lg);
  start_more_connections (lg);
  flush_dirty (lg);

  return G_SOURCE_CONTINUE;
}

static Conn *
next_sender (LoadGen *lg)
{
  for (int tries = 0; tries < lg->n_connections; tries++)
    {
      Conn *c = &lg->conns[lg->rr_cursor];

      lg->rr_cursor = (lg->rr_cursor + 1) % lg->n_connections;
      if (!c->idle && c->state == CONN_READY && c->peer->state == CONN_READY)
        return c;
    }

  return NULL;
}

/* Open loop: sends what is due at --rate frames/s since the start */
static gboolean
on_send_tick (gpointer user_data)
{
  LoadGen *lg = user_data;
  gint64 now = g_get_monotonic_time ();
  guint64 due;

  if (lg->phase != PHASE_RELAY)
    return G_SOURCE_CONTINUE;

  due = (guint64) ((now - lg->relay_start_us) * (double) lg->rate / G_USEC_PER_SEC);

  while (lg->scheduled < due)
    {
      Conn *c = next_sender (lg);

      lg->scheduled++;
      if (c == NULL)
        break;
      if (c->in_flight >= MAX_IN_FLIGHT_OPEN)
        lg->skipped++;
      else
        conn_send_bench (c);
    }

  flush_dirty (lg);

  return G_SOURCE_CONTINUE;
}

static gboolean
on_wakeup (gpointer user_data)
{
  return G_SOURCE_CONTINUE;
}

typedef gboolean (*DoneFunc) (LoadGen *lg);

/* Runs the loop until @done, or until nothing happened for
 * --stall-timeout seconds, or the overall --timeout passed.
 */
static gboolean
run_until (LoadGen    *lg,
           DoneFunc    done,
           const char *what)
{
  guint64 last_progress = lg->progress;
  gint64 last_progress_us = g_get_monotonic_time ();

  while (!done (lg))
    {
      gint64 now;

      g_main_context_iteration (NULL, TRUE);
      if (lg->interrupted)
        return FALSE;
      now = g_get_monotonic_time ();

      if (lg->progress != last_progress)
        {
          last_progress = lg->progress;
          last_progress_us = now;
        }
      else if (now - last_progress_us > lg->stall_timeout_s * G_USEC_PER_SEC)
        {
          g_printerr ("natter-loadgen: %s made no progress for %.0f s\n", what, lg->stall_timeout_s);
          lg->stalled = TRUE;
          return FALSE;
        }

      if (now > lg->deadline_us)
        {
          /* Slow is not broken: report what was reached */
          g_print ("natter-loadgen: %s did not finish within --timeout; figures are partial\n", what);
          lg->timed_out = TRUE;
          return FALSE;
        }
    }

  return TRUE;
}

/* SIGINT, SIGTERM: stop, but still stop the server and remove its data */
static gboolean
on_interrupt (gpointer user_data)
{
  LoadGen *lg = user_data;

  g_printerr ("natter-loadgen: interrupted\n");
  lg->interrupted = TRUE;

  return G_SOURCE_CONTINUE;
}

static gboolean
connect_done (LoadGen *lg)
{
  return lg->n_ready + lg->n_failed >= lg->n_connections;
}

static gboolean
check_done (LoadGen *lg)
{
  return lg->n_checked >= lg->n_ready - lg->n_idle_ready - lg->n_lost || lg->n_lost > 0;
}

static gboolean
time_done (LoadGen *lg)
{
  lg->progress++;   /* waiting for the clock is progress */
  return g_get_monotonic_time () >= lg->relay_end_us || lg->n_lost > 0;
}

static gboolean
drain_done (LoadGen *lg)
{
  return lg->frames_received + lg->misrouted >= lg->frames_sent || lg->n_lost > 0;
}

/* Server process */

static void
on_server_line (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  char **line_out = user_data;
  g_autoptr(GError) error = NULL;
  char *line;

  line = g_data_input_stream_read_line_finish (G_DATA_INPUT_STREAM (source), result, NULL, &error);
  if (line_out != NULL)
    *line_out = line ? line : g_strdup ("");
  else if (line != NULL)
    {
      /* Keep draining stdout so the server never blocks on a full pipe */
      g_free (line);
      g_data_input_stream_read_line_async (G_DATA_INPUT_STREAM (source), G_PRIORITY_LOW, NULL,
                                           on_server_line, NULL);
    }
}

/* The server must not outlive natter-loadgen, whatever ends it */
static void
server_child_setup (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

static gboolean
start_server (LoadGen  *lg,
              GError  **error)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autofree char *line = NULL;
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  guint64 port;

  lg->data_dir = g_dir_make_tmp ("natter-loadgen-XXXXXX", error);
  if (lg->data_dir == NULL)
    return FALSE;

  g_ptr_array_add (argv, g_strdup (lg->server_path));
  g_ptr_array_add (argv, g_strdup ("--address=127.0.0.1"));
  g_ptr_array_add (argv, g_strdup ("--port=0"));
  g_ptr_array_add (argv, g_strdup ("--print-port"));
  g_ptr_array_add (argv, g_strdup_printf ("--data-dir=%s", lg->data_dir));
  g_ptr_array_add (argv, g_strdup_printf ("--max-connections=%d", lg->n_connections + 64));
  /* Every client comes from 127.0.0.1: let all handshakes in flight through. */
  g_ptr_array_add (argv, g_strdup_printf ("--max-unauthenticated-per-address=%d",
                                          lg->concurrency + 64));
  g_ptr_array_add (argv, g_strdup_printf ("--rate-burst=%d", lg->server_rate));
  g_ptr_array_add (argv, g_strdup_printf ("--rate-per-s=%d", lg->server_rate));
  for (guint i = 0; lg->server_args != NULL && lg->server_args[i] != NULL; i++)
    g_ptr_array_add (argv, g_strdup (lg->server_args[i]));
  g_ptr_array_add (argv, NULL);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_subprocess_launcher_set_child_setup (launcher, server_child_setup, NULL, NULL);
  lg->server = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, error);
  if (lg->server == NULL)
    return FALSE;

  lg->server_pid = g_ascii_strtoll (g_subprocess_get_identifier (lg->server), NULL, 10);
  lg->server_stdout = g_data_input_stream_new (g_subprocess_get_stdout_pipe (lg->server));

  /* The port comes alone on one line */
  while (line == NULL || !g_ascii_string_to_unsigned (line, 10, 1, 65535, &port, NULL))
    {
      if (line != NULL && *line == '\0' && g_subprocess_get_if_exited (lg->server))
        break;
      g_clear_pointer (&line, g_free);
      g_data_input_stream_read_line_async (lg->server_stdout, G_PRIORITY_DEFAULT, NULL,
                                           on_server_line, &line);
      while (line == NULL && g_get_monotonic_time () < deadline)
        g_main_context_iteration (NULL, TRUE);
      if (line == NULL || (*line == '\0' && g_get_monotonic_time () >= deadline))
        break;
      if (*line == '\0')
        {
          /* End of stream: the server exited */
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                       "natter-server exited before printing its port");
          return FALSE;
        }
    }

  if (line == NULL || !g_ascii_string_to_unsigned (line, 10, 1, 65535, &port, NULL))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                   "natter-server printed no port within 30 s");
      return FALSE;
    }

  g_data_input_stream_read_line_async (lg->server_stdout, G_PRIORITY_LOW, NULL,
                                       on_server_line, NULL);

  lg->addr.sin_port = htons (port);
  lg->host_port = g_strdup_printf ("127.0.0.1:%u", (guint) port);

  return TRUE;
}

static void
on_server_exited (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
}

static void
stop_server (LoadGen *lg)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  gboolean exited = FALSE;

  if (lg->server == NULL)
    return;

  /* Keep answering close frames while the server shuts down */
  g_subprocess_send_signal (lg->server, SIGTERM);
  g_subprocess_wait_async (lg->server, NULL, on_server_exited, NULL);
  while (g_get_monotonic_time () < deadline)
    {
      if (g_subprocess_get_identifier (lg->server) == NULL)
        {
          exited = TRUE;
          break;
        }
      g_main_context_iteration (NULL, TRUE);
    }

  if (!exited)
    {
      g_printerr ("natter-loadgen: natter-server did not stop within 10 s of SIGTERM\n");
      g_subprocess_force_exit (lg->server);
      g_subprocess_wait (lg->server, NULL, NULL);
    }
}

static gboolean
parse_one_url (LoadGen             *lg,
               const char          *url,
               struct sockaddr_in  *addr,
               char               **host_port,
               GError             **error)
{
  g_autoptr(GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, error);
  int port;

  if (uri == NULL)
    return FALSE;

  port = g_uri_get_port (uri);

  if (g_strcmp0 (g_uri_get_scheme (uri), "ws") != 0
      || g_strcmp0 (g_uri_get_host (uri), "127.0.0.1") != 0
      || port <= 0
      || (!lg->peerjs && g_strcmp0 (g_uri_get_path (uri), "/ws") != 0 &&
          g_strcmp0 (g_uri_get_path (uri), "") != 0))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "--url must be ws://127.0.0.1:PORT/ws (traffic stays on this machine)");
      return FALSE;
    }

  addr->sin_port = htons (port);
  *host_port = g_strdup_printf ("127.0.0.1:%d", port);

  return TRUE;
}

static gboolean
parse_url (LoadGen  *lg,
           GError  **error)
{
  if (!parse_one_url (lg, lg->url, &lg->addr, &lg->host_port, error))
    return FALSE;

  return lg->url_b == NULL || parse_one_url (lg, lg->url_b, &lg->addr_b, &lg->host_port_b, error);
}

/* GET /stats, to compare the server's own count with ours */
static JsonObject *
fetch_stats (LoadGen *lg)
{
  g_autoptr(SoupSession) session = soup_session_new_with_options ("timeout", 10, NULL);
  g_autofree char *uri = g_strdup_printf ("http://%s/stats", lg->host_port);
  g_autoptr(SoupMessage) message = soup_message_new ("GET", uri);
  g_autoptr(GBytes) body = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonNode *root;

  body = soup_session_send_and_read (session, message, NULL, NULL);
  if (body == NULL || soup_message_get_status (message) != SOUP_STATUS_OK)
    return NULL;

  if (!json_parser_load_from_data (parser, g_bytes_get_data (body, NULL), g_bytes_get_size (body), NULL))
    return NULL;

  root = json_parser_get_root (parser);
  if (!JSON_NODE_HOLDS_OBJECT (root))
    return NULL;

  return json_object_ref (json_node_get_object (root));
}

static char *
format_rejected (JsonObject *stats)
{
  JsonObject *rejected = json_object_get_object_member (stats, "frames_rejected");
  GString *s = g_string_new (NULL);
  g_autoptr(GList) members = NULL;

  if (rejected != NULL)
    members = json_object_get_members (rejected);

  for (GList *l = members; l != NULL; l = l->next)
    {
      gint64 n = json_object_get_int_member_with_default (rejected, l->data, 0);

      if (n > 0)
        g_string_append_printf (s, "%s%s %" G_GINT64_FORMAT, s->len ? ", " : "", (char *) l->data, n);
    }

  if (s->len == 0)
    g_string_append (s, "none");

  return g_string_free (s, FALSE);
}

/* Report */

static void
print_rss (const char *label,
           gint64      kib)
{
  if (kib < 0)
    g_print ("%-24s unknown\n", label);
  else
    g_print ("%-24s %.1f MiB\n", label, kib / 1024.0);
}

static void
loadgen_free (LoadGen *lg)
{
  for (int i = 0; lg->conns != NULL && i < lg->n_connections; i++)
    {
      conn_close_fd (&lg->conns[i]);
      natter_secure_zero (lg->conns[i].secret_key, sizeof lg->conns[i].secret_key);
      g_free (lg->conns[i].user_id);
    }

  g_free (lg->conns);
  if (lg->epfd >= 0)
    close (lg->epfd);
  g_clear_pointer (&lg->dirty, g_ptr_array_unref);
  g_clear_pointer (&lg->failures, g_hash_table_unref);
  g_clear_pointer (&lg->errors, g_hash_table_unref);
  g_clear_object (&lg->server_stdout);
  if (lg->server != NULL && g_subprocess_get_identifier (lg->server) != NULL)
    {
      g_subprocess_force_exit (lg->server);
      g_subprocess_wait (lg->server, NULL, NULL);
    }
  g_clear_object (&lg->server);
  if (lg->data_dir != NULL)
    remove_tree (lg->data_dir);
  g_free (lg->data_dir);
  g_free (lg->host_port);
  g_free (lg->host_port_b);
  g_free (lg->url_b);
  g_free (lg->scratch);
  g_free (lg->pad);
  g_free (lg->latency);
  g_free (lg->latency_ms);
  g_free (lg->server_path);
  g_free (lg->url);
  g_strfreev (lg->server_args);
  g_free (lg);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LoadGen, loadgen_free)

static gboolean
parse_options (LoadGen  *lg,
               int      *argc,
               char   ***argv,
               GError  **error)
{
  GOptionEntry entries[] = {
    { "server", 0, 0, G_OPTION_ARG_FILENAME, &lg->server_path,
      "natter-server executable to start on 127.0.0.1", "PATH" },
    { "server-arg", 0, 0, G_OPTION_ARG_STRING_ARRAY, &lg->server_args,
      "Extra option for natter-server (repeatable)", "ARG" },
    { "server-rate", 0, 0, G_OPTION_ARG_INT, &lg->server_rate,
      "--rate-burst and --rate-per-s given to the server (default 1000000)", "N" },
    { "url", 0, 0, G_OPTION_ARG_STRING, &lg->url,
      "Use a running server instead: ws://127.0.0.1:PORT/ws", "URL" },
    { "url-b", 0, 0, G_OPTION_ARG_STRING, &lg->url_b,
      "With --url: a second server (of the same cluster); each pair has one connection on "
      "each, so every relay crosses between them", "URL" },
    { "peerjs", 0, 0, G_OPTION_ARG_NONE, &lg->peerjs,
      "The --url server is a PeerJS server (npm package peer, started with --key peerjs): "
      "speak its protocol, for comparison", NULL },
    { "server-pid", 0, 0, G_OPTION_ARG_INT, &lg->server_pid,
      "Process of the server given by --url, for RSS and CPU figures", "PID" },
    { "connections", 'n', 0, G_OPTION_ARG_INT, &lg->n_connections,
      "Connections to open, an even number (default 1000)", "N" },
    { "concurrency", 'c', 0, G_OPTION_ARG_INT, &lg->concurrency,
      "Handshakes in flight at once (default 256)", "N" },
    { "hold", 0, 0, G_OPTION_ARG_DOUBLE, &lg->hold_s,
      "Seconds to hold the connections before relaying (default 0)", "S" },
    { "duration", 'd', 0, G_OPTION_ARG_DOUBLE, &lg->duration_s,
      "Seconds of relaying (default 10)", "S" },
    { "rate", 'r', 0, G_OPTION_ARG_INT, &lg->rate,
      "Frames per second in all, open loop; 0 for a closed loop (default 0)", "N" },
    { "idle", 0, 0, G_OPTION_ARG_INT, &lg->n_idle,
      "Of the connections, this many (an even number) only authenticate and stay open while "
      "the others relay (default 0)", "N" },
    { "window", 'w', 0, G_OPTION_ARG_INT, &lg->window,
      "Closed loop: frames in flight per connection (default 1)", "N" },
    { "payload-bytes", 0, 0, G_OPTION_ARG_INT, &lg->payload_bytes,
      "Padding added to every payload (default 0)", "N" },
    { "stall-timeout", 0, 0, G_OPTION_ARG_DOUBLE, &lg->stall_timeout_s,
      "Fail when a phase makes no progress for this long (default 60)", "S" },
    { "timeout", 0, 0, G_OPTION_ARG_DOUBLE, &lg->timeout_s,
      "Give up after this many seconds in all (default 900)", "S" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("- load generator for natter-server");

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, argc, argv, error))
    return FALSE;

  if ((lg->server_path == NULL) == (lg->url == NULL))
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED, "Give either --server or --url");
      return FALSE;
    }

  if (lg->peerjs && lg->url == NULL)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED, "--peerjs needs --url");
      return FALSE;
    }

  if (lg->n_connections < 2 || lg->n_connections % 2 != 0 || lg->n_connections > MAX_CONNECTIONS)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--connections must be even, from 2 to %d", MAX_CONNECTIONS);
      return FALSE;
    }

  if (lg->n_idle < 0 || lg->n_idle % 2 != 0 || lg->n_idle >= lg->n_connections)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--idle must be even and less than --connections");
      return FALSE;
    }

  if (lg->concurrency < 1 || lg->window < 1 || lg->window > 1000 || lg->rate < 0
      || lg->payload_bytes < 0 || lg->payload_bytes > 60000
      || lg->duration_s < 0 || lg->duration_s > MAX_DURATION_S
      || lg->hold_s < 0 || lg->hold_s > MAX_DURATION_S
      || lg->timeout_s <= 0 || lg->timeout_s > 3600 || lg->stall_timeout_s <= 0
      || lg->server_rate < 1)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "An option is out of range");
      return FALSE;
    }

  return TRUE;
}

static LoadGen *
loadgen_new (void)
{
  LoadGen *lg = g_new0 (LoadGen, 1);

  lg->n_connections = 1000;
  lg->concurrency = 256;
  lg->duration_s = 10;
  lg->window = 1;
  lg->stall_timeout_s = 60;
  lg->timeout_s = 900;
  lg->server_rate = 1000000;
  lg->epfd = -1;
  lg->failures = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  lg->errors = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  lg->dirty = g_ptr_array_new ();
  lg->addr.sin_family = AF_INET;
  lg->addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  lg->addr_b = lg->addr;
  natter_random_bytes (&lg->mask_state, sizeof lg->mask_state);
  lg->mask_state |= 1;

  return lg;
}

static void
setup_connections (LoadGen *lg)
{
  lg->conns = g_new0 (Conn, lg->n_connections);
  for (int i = 0; i < lg->n_connections; i++)
    {
      lg->conns[i].lg = lg;
      lg->conns[i].fd = -1;
      lg->conns[i].peer = &lg->conns[i ^ 1];
      lg->conns[i].idle = i >= lg->n_connections - lg->n_idle;
      lg->conns[i].on_b = lg->url_b != NULL && i % 2 == 1;
    }

  if (lg->payload_bytes > 0)
    {
      g_autofree char *x = g_strnfill (lg->payload_bytes, 'x');

      lg->pad = g_strdup_printf (",\"pad\":\"%s\"", x);
    }
  else
    {
      lg->pad = g_strdup ("");
    }

  lg->scratch_size = lg->payload_bytes + 512;
  lg->scratch = g_malloc (lg->scratch_size);
  lg->latency = g_new0 (guint32, LATENCY_BUCKETS);
  lg->latency_ms = g_new0 (guint32, LATENCY_BUCKETS);
}

static void
print_relay_report (LoadGen *lg,
                    double   relay_s,
                    double   server_cpu,
                    double   server_wait,
                    double   self_cpu)
{
  int relaying = lg->n_ready - lg->n_idle_ready;
  int pairs = relaying / 2;

  if (lg->rate > 0)
    g_print ("%-24s %d connections (%d pairs), %.1f s, open loop at %d frames/s\n",
             "relay:", relaying, pairs, relay_s, lg->rate);
  else
    g_print ("%-24s %d connections (%d pairs), %.1f s, closed loop, %d in flight per connection\n",
             "relay:", relaying, pairs, relay_s, lg->window);

  g_print ("%-24s %.0f frames/s (%" G_GUINT64_FORMAT " frames in %.1f s)\n",
           "frames relayed:", relay_s > 0 ? lg->relay_in_window / relay_s : 0,
           lg->relay_in_window, relay_s);
  g_print ("%-24s p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms (%" G_GUINT64_FORMAT " frames)\n",
           "relay latency:",
           latency_percentile_ms (lg, 50), latency_percentile_ms (lg, 90),
           latency_percentile_ms (lg, 99), lg->latency_max / 1000.0, lg->latency_count);
  if (lg->rate > 0)
    g_print ("%-24s %" G_GUINT64_FORMAT " (a connection had %d frames in flight)\n",
             "frames not sent:", lg->skipped, MAX_IN_FLIGHT_OPEN);
  if (server_cpu >= 0 && relay_s > 0)
    g_print ("%-24s server %.0f%%, natter-loadgen %.0f%% (of one core)\n", "CPU while relaying:",
             100 * server_cpu / relay_s, 100 * self_cpu / relay_s);

  /* A server that waits for a CPU is slowed by the machine, not by itself */
  if (server_wait >= 0 && relay_s > 0)
    g_print ("%-24s %.0f%% of the time (runnable, but other processes had the cores)\n",
             "server waited for CPU:", 100 * server_wait / relay_s);

  /* CPU time per frame holds on a busy machine where the rates do not */
  if (server_cpu > 0 && lg->relay_in_window > 0)
    g_print ("%-24s server %.1f us, natter-loadgen %.1f us (one free core: about %.0f frames/s)\n",
             "CPU per relayed frame:", 1e6 * server_cpu / lg->relay_in_window,
             1e6 * self_cpu / lg->relay_in_window, lg->relay_in_window / server_cpu);
}

/* Phases. Each returns FALSE when something is broken. */

static gboolean
phase_connect (LoadGen *lg)
{
  gint64 t0 = lg->connect_start_us = g_get_monotonic_time ();
  double server_cpu0 = read_cpu_s (lg->server_pid);
  double elapsed_s;

  start_more_connections (lg);
  flush_dirty (lg);
  run_until (lg, connect_done, "connecting");
  elapsed_s = (g_get_monotonic_time () - t0) / 1e6;

  g_print ("%-24s %d of %d (authenticated in %.2f s, %.0f/s)\n", "connections held:",
           lg->n_ready, lg->n_connections, elapsed_s, lg->n_ready / MAX (elapsed_s, 1e-6));
  if (server_cpu0 >= 0 && lg->n_ready > 0)
    {
      double server_cpu = read_cpu_s (lg->server_pid) - server_cpu0;

      g_print ("%-24s %.0f us per connection (%.1f s in all)\n", "server CPU to connect:",
               1e6 * server_cpu / lg->n_ready, server_cpu);
    }

  return lg->n_failed == 0 && !lg->stalled;
}

static gboolean
phase_hold (LoadGen *lg)
{
  double server_cpu0 = read_cpu_s (lg->server_pid);

  lg->phase = PHASE_HOLD;
  lg->relay_end_us = g_get_monotonic_time () + lg->hold_s * G_USEC_PER_SEC;
  run_until (lg, time_done, "holding");

  g_print ("%-24s %d of %d after %.1f s\n", "connections still held:",
           lg->n_ready - lg->n_lost, lg->n_connections, lg->hold_s);
  if (server_cpu0 >= 0)
    g_print ("%-24s %.1f%% of one core\n", "server CPU while idle:",
             100 * (read_cpu_s (lg->server_pid) - server_cpu0) / lg->hold_s);

  return lg->n_lost == 0;
}

static void
send_to_every_peer (LoadGen *lg)
{
  for (int i = 0; i < lg->n_connections; i++)
    if (lg->conns[i].state == CONN_READY && !lg->conns[i].idle)
      conn_send_bench (&lg->conns[i]);

  flush_dirty (lg);
}

/* One frame each way in every pair */
static gboolean
phase_check (LoadGen *lg)
{
  lg->phase = PHASE_CHECK;
  lg->n_idle_ready = 0;
  for (int i = 0; i < lg->n_connections; i++)
    if (lg->conns[i].state == CONN_READY && lg->conns[i].idle)
      lg->n_idle_ready++;
  send_to_every_peer (lg);
  run_until (lg, check_done, "the relay check");

  g_print ("%-24s %d of %d relaying connections received a frame from their peer\n",
           "relay check:", lg->n_checked, lg->n_ready - lg->n_idle_ready);
  if (lg->n_idle > 0)
    g_print ("%-24s %d connections authenticated and idle meanwhile\n", "idle:",
             lg->n_idle_ready);

  return !lg->stalled && lg->n_lost == 0;
}

static gboolean
phase_relay (LoadGen *lg)
{
  double server_cpu0 = read_cpu_s (lg->server_pid);
  double server_wait0 = read_run_delay_s (lg->server_pid);
  double self_cpu0 = self_cpu_s ();
  double server_cpu = -1, server_wait = -1, self_cpu, relay_s;
  guint tick_source = 0;

  lg->phase = PHASE_RELAY;
  lg->relay_start_us = g_get_monotonic_time ();
  lg->relay_end_us = lg->relay_start_us + lg->duration_s * G_USEC_PER_SEC;

  if (lg->rate > 0)
    tick_source = g_timeout_add (1, on_send_tick, lg);
  else
    for (int w = 0; w < lg->window; w++)
      send_to_every_peer (lg);

  run_until (lg, time_done, "relaying");
  relay_s = (g_get_monotonic_time () - lg->relay_start_us) / 1e6;
  if (server_cpu0 >= 0)
    server_cpu = read_cpu_s (lg->server_pid) - server_cpu0;
  if (server_wait0 >= 0)
    server_wait = read_run_delay_s (lg->server_pid) - server_wait0;
  self_cpu = self_cpu_s () - self_cpu0;

  lg->phase = PHASE_DRAIN;
  g_clear_handle_id (&tick_source, g_source_remove);
  run_until (lg, drain_done, "draining");

  print_relay_report (lg, relay_s, server_cpu, server_wait, self_cpu);

  return !lg->stalled && lg->n_lost == 0;
}

static gboolean
print_summary (LoadGen *lg)
{
  g_autoptr(JsonObject) stats = lg->peerjs ? NULL : fetch_stats (lg);
  g_autofree char *failures = format_reasons (lg->failures);
  g_autofree char *errors = format_reasons (lg->errors);
  g_autofree char *loadavg = read_loadavg ();

  if (stats != NULL)
    {
      g_autofree char *rejected = format_rejected (stats);

      g_print ("%-24s frames_relayed %" G_GINT64_FORMAT ", frames_received %" G_GINT64_FORMAT
               ", rejected: %s\n", "server /stats:",
               json_object_get_int_member_with_default (stats, "frames_relayed", -1),
               json_object_get_int_member_with_default (stats, "frames_received", -1),
               rejected);
    }

  g_print ("%-24s %s\n", "load average after:", loadavg);
  g_print ("%-24s %d refused or failed, %d lost: %s\n", "connection failures:",
           lg->n_failed, lg->n_lost, failures);
  g_print ("%-24s %s\n", "error frames received:", errors);
  g_print ("%-24s %" G_GUINT64_FORMAT "\n", "server pings answered:", lg->pings);
  g_print ("%-24s %" G_GUINT64_FORMAT " sent, %" G_GUINT64_FORMAT " received, %"
           G_GUINT64_FORMAT " out of order, %" G_GUINT64_FORMAT " misrouted\n",
           "frames:", lg->frames_sent, lg->frames_received, lg->out_of_order, lg->misrouted);

  return lg->out_of_order == 0 && lg->misrouted == 0 && g_hash_table_size (lg->errors) == 0;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(LoadGen) lg = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *loadavg = NULL;
  gint64 rss_idle, rss_held;
  gboolean ok;
  guint epoll_source, wakeup_source, sigint_source, sigterm_source;

  signal (SIGPIPE, SIG_IGN);
  raise_nofile_limit ();

  if (!natter_protocol_init ())
    {
      g_printerr ("natter-loadgen: no secure random source\n");
      return 1;
    }

  lg = loadgen_new ();
  if (!parse_options (lg, &argc, &argv, &error))
    {
      g_printerr ("natter-loadgen: %s\n", error->message);
      return 2;
    }

  if (lg->n_connections + 64 > nofile_limit ())
    {
      g_printerr ("natter-loadgen: %d connections need more file descriptors than the limit of %d\n",
                  lg->n_connections, nofile_limit ());
      return 2;
    }

  lg->deadline_us = g_get_monotonic_time () + lg->timeout_s * G_USEC_PER_SEC;
  setup_connections (lg);
  lg->epfd = epoll_create1 (EPOLL_CLOEXEC);
  epoll_source = g_unix_fd_add (lg->epfd, G_IO_IN, on_epoll_ready, lg);
  wakeup_source = g_timeout_add (100, on_wakeup, NULL);
  sigint_source = g_unix_signal_add (SIGINT, on_interrupt, lg);
  sigterm_source = g_unix_signal_add (SIGTERM, on_interrupt, lg);

  if (lg->url != NULL ? !parse_url (lg, &error) : !start_server (lg, &error))
    {
      g_printerr ("natter-loadgen: %s\n", error->message);
      g_source_remove (epoll_source);
      g_source_remove (wakeup_source);
      g_source_remove (sigint_source);
      g_source_remove (sigterm_source);
      return 1;
    }

  loadavg = read_loadavg ();
  g_print ("natter-loadgen: %d connections to ws://%s/ws (server process %d), %d handshakes at a time\n",
           lg->n_connections, lg->host_port, lg->server_pid, lg->concurrency);
  g_print ("%-24s %s (the machine has %u cores)\n", "load average before:", loadavg,
           g_get_num_processors ());

  rss_idle = read_rss_kib (lg->server_pid);

  ok = phase_connect (lg);
  if (ok && !lg->timed_out && !lg->interrupted && lg->hold_s > 0)
    ok = phase_hold (lg);
  rss_held = read_rss_kib (lg->server_pid);
  if (ok && !lg->timed_out && !lg->interrupted)
    ok = phase_check (lg);
  if (ok && !lg->timed_out && !lg->interrupted && lg->duration_s > 0)
    ok = phase_relay (lg);
  if (lg->interrupted)
    ok = FALSE;

  print_rss ("server RSS idle:", rss_idle);
  print_rss ("server RSS holding:", rss_held);
  if (rss_held > 0 && rss_idle > 0 && lg->n_ready > 0)
    g_print ("%-24s %.1f KiB\n", "server RSS/connection:", (rss_held - rss_idle) / (double) lg->n_ready);
  print_rss ("server RSS after:", read_rss_kib (lg->server_pid));
  print_rss ("natter-loadgen RSS:", read_rss_kib (getpid ()));

  if (!print_summary (lg))
    ok = FALSE;

  lg->phase = PHASE_DONE;
  stop_server (lg);
  g_source_remove (epoll_source);
  g_source_remove (wakeup_source);
  g_source_remove (sigint_source);
  g_source_remove (sigterm_source);

  g_print ("natter-loadgen: %s\n", !ok ? "FAILED" : lg->timed_out ? "ok (partial: --timeout reached)" : "ok");

  return ok ? 0 : 1;
}
