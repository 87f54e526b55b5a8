/* natter-server-cluster.c: several natter-server processes as one service, through Redis
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * With `--cluster redis://HOST:PORT`, servers behind one load balancer
 * share who is online where through Redis (hiredis, on the server's main
 * context through its GLib adapter):
 *
 *   natter:server:ID   "1" with an expiry of two thirds of a heartbeat,
 *                      renewed four times a heartbeat: the server is alive
 *   natter:users       hash: user ID -> ID of the server it is connected to
 *   natter:presence    channel: "1 SERVER USER" (online) or "0 SERVER USER"
 *   natter:to:ID       channel: "USER FRAME", a frame for a user of server ID
 *   natter:rooms       channel: "j SERVER USER ROOM" (joined) or "l SERVER USER ROOM"
 *
 * Every server keeps the users of the others in memory (loaded from
 * natter:users when it connects, then followed on natter:presence), so
 * that presence and the relay ask Redis nothing on their way. A server
 * that dies stops renewing its key: within a heartbeat the others find it
 * gone and show its users offline. A user who signs in on a second server
 * is announced there; the first one hears it and closes its older
 * connection (`replaced`).
 *
 * The cluster works in one main context (shard 0's) but is called from
 * every worker: what would talk to Redis is posted to the cluster's
 * NatterServerMailbox and done there, in the order each worker posted it;
 * what is only read (who is on which other server, the rooms' members
 * elsewhere) is read under a lock that the cluster's context takes only to
 * change those tables, never across I/O or a callback.
 */
#define G_LOG_DOMAIN "natter-server"

#include "config.h"

#include <pthread.h>
#include <string.h>

#include "natter-protocol.h"

#include "natter-server-cluster.h"

#ifndef NATTER_HAVE_HIREDIS

/* Built without hiredis: no cluster. */
NatterServerCluster *
natter_server_cluster_new (const char                         *url,
                           guint                               heartbeat_s,
                           GMainContext                       *context,
                           const NatterServerClusterCallbacks *callbacks,
                           gpointer                            data,
                           GError                            **error)
{
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                       "This natter-server was built without cluster support (hiredis)");
  return NULL;
}

const char *natter_server_cluster_get_id (NatterServerCluster *self) { return NULL; }
void natter_server_cluster_user_online (NatterServerCluster *self, const char *user) { }
void natter_server_cluster_user_offline (NatterServerCluster *self, const char *user) { }
gboolean natter_server_cluster_has_user (NatterServerCluster *self, const char *user) { return FALSE; }
gboolean natter_server_cluster_relay (NatterServerCluster *self, const char *user, const char *text) { return FALSE; }
void natter_server_cluster_handle (NatterServerCluster *self, NatterServerClusterHandleOp op,
                                   const char *handle, const char *user,
                                   NatterServerClusterHandleFunc done, gpointer data,
                                   GDestroyNotify destroy) { }
void natter_server_cluster_command (NatterServerCluster *self, const char * const *argv,
                                    NatterServerClusterReplyFunc done, gpointer data,
                                    GDestroyNotify destroy) { }
void natter_server_cluster_room_join (NatterServerCluster *self, const char *room,
                                      const char *user) { }
void natter_server_cluster_room_leave (NatterServerCluster *self, const char *room,
                                       const char *user) { }
GPtrArray *natter_server_cluster_room_members (NatterServerCluster *self, const char *room)
{
  return g_ptr_array_new ();
}
guint natter_server_cluster_room_size (NatterServerCluster *self, const char *room) { return 0; }
gboolean natter_server_cluster_notify_answers (NatterServerCluster *self, const char *user)
{
  return FALSE;
}
void natter_server_cluster_free (NatterServerCluster *self) { }

#else

#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <hiredis/adapters/glib.h>

#include "natter-server-mailbox.h"

#define USERS_KEY        "natter:users"
#define PRESENCE_CHANNEL "natter:presence"
#define ROOMS_CHANNEL    "natter:rooms"
#define RECONNECT_MS     1000
/* On a server's natter:to:ID channel instead of a frame: answers to the
 * user's invitations wait in Redis */
#define ANSWERS_WAITING  "!answers"

/* Handles: natter:handles (handle -> user) and natter:handle-of (user ->
 * handle), changed together by scripts, so that a handle is claimed once
 * only whichever server the claims come through. */
#define HANDLES_KEY      "natter:handles"
#define HANDLE_OF_KEY    "natter:handle-of"
#define HANDLE_REGISTER \
  "local owner = redis.call('hget', KEYS[1], ARGV[1]) " \
  "if owner and owner ~= ARGV[2] then return 0 end " \
  "local old = redis.call('hget', KEYS[2], ARGV[2]) " \
  "if old and old ~= ARGV[1] then redis.call('hdel', KEYS[1], old) end " \
  "redis.call('hset', KEYS[1], ARGV[1], ARGV[2]) " \
  "redis.call('hset', KEYS[2], ARGV[2], ARGV[1]) return 1"
#define HANDLE_RELEASE \
  "local owner = redis.call('hget', KEYS[1], ARGV[1]) " \
  "if not owner then return -1 end if owner ~= ARGV[2] then return 0 end " \
  "redis.call('hdel', KEYS[1], ARGV[1]) redis.call('hdel', KEYS[2], ARGV[2]) return 1"

/* Deletes the user's entry only if it still names this server. */
#define HDEL_IF_OURS \
  "if redis.call('hget', KEYS[1], ARGV[1]) == ARGV[2] then " \
  "return redis.call('hdel', KEYS[1], ARGV[1]) end return 0"

struct _NatterServerCluster
{
  char *host;
  int port;
  guint heartbeat_ms;
  GMainContext *context;
  NatterServerClusterCallbacks callbacks;
  gpointer data;

  char *id;                  /* this server's */
  char *server_key;          /* natter:server:ID */
  char *inbox;               /* natter:to:ID */

  redisAsyncContext *command;
  redisAsyncContext *subscriber;
  GSource *command_source;
  GSource *subscriber_source;
  gint connected;            /* atomic: read from any thread */

  /* Only the cluster's context uses these two. */
  GHashTable *local;         /* user ID (owned) set: ours, to announce again after a reconnect */
  GHashTable *local_rooms;   /* "USER ROOM" (owned) set: ours, to announce again */

  /* Changed in the cluster's context under the lock, read anywhere under it */
  pthread_rwlock_t lock;
  GHashTable *remote;        /* user ID (owned) -> server ID (owned) */
  GHashTable *rooms;         /* room (owned) -> GHashTable: user ID (owned) -> server ID (owned);
                              * the other servers' members */

  NatterServerMailbox *mailbox; /* Operation (owned): from the workers */
  GSource *heartbeat;
  GSource *reconnect;
  gint64 connected_at;       /* monotonic µs */
  gboolean closing;
};

static void cluster_connect (NatterServerCluster *self);

static void
clear_source (GSource **source)
{
  if (*source == NULL)
    return;

  g_source_destroy (*source);
  g_clear_pointer (source, g_source_unref);
}

static void
on_ignored_reply (redisAsyncContext *context,
                  void              *reply,
                  void              *data)
{
  redisReply *r = reply;

  if (r != NULL && r->type == REDIS_REPLY_ERROR)
    g_message ("Redis refused a command: %s", r->str);
}

/* One argument for PUBLISH: hiredis splits its format at spaces. */
static void
publish_presence (NatterServerCluster *self,
                  gboolean             online,
                  const char          *user)
{
  g_autofree char *message = g_strdup_printf ("%c %s %s", online ? '1' : '0', self->id, user);

  redisAsyncCommand (self->command, on_ignored_reply, NULL, "PUBLISH %s %s", PRESENCE_CHANNEL,
                     message);
}

#define ROOM_MEMBERS_KEY "natter:room-members"

/* @entry: "USER ROOM" */
static void
publish_room (NatterServerCluster *self,
              gboolean             joined,
              const char          *entry)
{
  g_autofree char *message = NULL;
  const char *space = strchr (entry, ' ');
  g_autofree char *user = g_strndup (entry, space - entry);

  message = g_strdup_printf ("%c %s %s", joined ? 'j' : 'l', self->id, entry);
  if (joined)
    redisAsyncCommand (self->command, on_ignored_reply, NULL, "HSET %s %s %s", ROOM_MEMBERS_KEY,
                       entry, self->id);
  else
    redisAsyncCommand (self->command, on_ignored_reply, NULL, "EVAL %s 1 %s %s %s",
                       HDEL_IF_OURS, ROOM_MEMBERS_KEY, entry, self->id);
  redisAsyncCommand (self->command, on_ignored_reply, NULL, "PUBLISH %s %s", ROOMS_CHANNEL,
                     message);
}

static void
remote_set (NatterServerCluster *self,
            const char          *user,
            const char          *server)
{
  gboolean known;

  pthread_rwlock_wrlock (&self->lock);
  known = g_hash_table_contains (self->remote, user);
  g_hash_table_insert (self->remote, g_strdup (user), g_strdup (server));
  pthread_rwlock_unlock (&self->lock);

  if (!known && !g_hash_table_contains (self->local, user))
    self->callbacks.presence (self->data, user, TRUE);
}

static void
remote_remove (NatterServerCluster *self,
               const char          *user)
{
  gboolean removed;

  pthread_rwlock_wrlock (&self->lock);
  removed = g_hash_table_remove (self->remote, user);
  pthread_rwlock_unlock (&self->lock);

  if (removed && !g_hash_table_contains (self->local, user))
    self->callbacks.presence (self->data, user, FALSE);
}

/* Another server's user came or went, or signed in there while here. */
static void
on_presence (NatterServerCluster *self,
             const char          *message)
{
  g_auto(GStrv) parts = g_strsplit (message, " ", 3);

  if (g_strv_length (parts) != 3 || g_str_equal (parts[1], self->id) ||
      !natter_user_id_is_valid (parts[2]))
    return;

  if (g_str_equal (parts[0], "1"))
    {
      /* Ours until now: it moved, and stays online. */
      if (g_hash_table_remove (self->local, parts[2]))
        {
          pthread_rwlock_wrlock (&self->lock);
          g_hash_table_insert (self->remote, g_strdup (parts[2]), g_strdup (parts[1]));
          pthread_rwlock_unlock (&self->lock);
          self->callbacks.replaced (self->data, parts[2]);
          return;
        }
      remote_set (self, parts[2], parts[1]);
    }
  else if (g_strcmp0 (g_hash_table_lookup (self->remote, parts[2]), parts[1]) == 0)
    {
      remote_remove (self, parts[2]);
    }
}

static void
room_member_set (NatterServerCluster *self,
                 const char          *room,
                 const char          *user,
                 const char          *server)
{
  GHashTable *members;
  gboolean added = FALSE;

  pthread_rwlock_wrlock (&self->lock);
  members = g_hash_table_lookup (self->rooms, room);
  if (members == NULL)
    {
      members = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
      g_hash_table_insert (self->rooms, g_strdup (room), members);
    }
  if (!g_hash_table_contains (members, user))
    {
      g_hash_table_insert (members, g_strdup (user), g_strdup (server));
      added = TRUE;
    }
  pthread_rwlock_unlock (&self->lock);

  if (added)
    self->callbacks.room (self->data, room, user, TRUE);
}

static void
room_member_remove (NatterServerCluster *self,
                    const char          *room,
                    const char          *user)
{
  GHashTable *members;
  gboolean removed = FALSE;

  pthread_rwlock_wrlock (&self->lock);
  members = g_hash_table_lookup (self->rooms, room);
  if (members != NULL && g_hash_table_remove (members, user))
    {
      removed = TRUE;
      if (g_hash_table_size (members) == 0)
        g_hash_table_remove (self->rooms, room);
    }
  pthread_rwlock_unlock (&self->lock);

  if (removed)
    self->callbacks.room (self->data, room, user, FALSE);
}

static void
on_room_event (NatterServerCluster *self,
               const char          *message)
{
  g_auto(GStrv) parts = g_strsplit (message, " ", 4);

  if (g_strv_length (parts) != 4 || g_str_equal (parts[1], self->id) ||
      !natter_user_id_is_valid (parts[2]))
    return;

  if (g_str_equal (parts[0], "j"))
    room_member_set (self, parts[3], parts[2], parts[1]);
  else
    room_member_remove (self, parts[3], parts[2]);
}

/* The rooms' members on other servers, as Redis has them. */
static void
on_room_members_loaded (redisAsyncContext *context,
                        void              *reply,
                        void              *data)
{
  NatterServerCluster *self = data;
  redisReply *r = reply;

  if (r == NULL || r->type != REDIS_REPLY_ARRAY)
    return;

  /* HGETALL natter:room-members: "USER ROOM" -> server */
  for (gsize i = 0; i + 1 < r->elements; i += 2)
    {
      const char *entry = r->element[i]->str;
      const char *server = r->element[i + 1]->str;
      const char *space = entry != NULL ? strchr (entry, ' ') : NULL;
      g_autofree char *user = NULL;

      if (space == NULL || server == NULL || g_str_equal (server, self->id))
        continue;
      user = g_strndup (entry, space - entry);
      if (natter_user_id_is_valid (user))
        room_member_set (self, space + 1, user, server);
    }
}

static void
on_inbox (NatterServerCluster *self,
          const char          *message)
{
  const char *space = strchr (message, ' ');
  g_autofree char *user = NULL;

  if (space == NULL)
    return;

  user = g_strndup (message, space - message);
  if (!g_hash_table_contains (self->local, user))
    return;

  /* Frames are JSON objects; this is not one. */
  if (g_str_equal (space + 1, ANSWERS_WAITING))
    self->callbacks.answers (self->data, user);
  else
    self->callbacks.deliver (self->data, user, space + 1);
}

static void on_users_loaded (redisAsyncContext *context,
                             void              *reply,
                             void              *data);

static void
on_subscriber_reply (redisAsyncContext *context,
                     void              *reply,
                     void              *data)
{
  NatterServerCluster *self = data;
  redisReply *r = reply;
  const char *channel;

  /* Subscribed to all three channels: whatever the others announce from
   * now on reaches us, and what they announced before is in Redis. Loaded
   * any earlier, an announcement made in between would be missed. */
  if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
      r->element[0]->type == REDIS_REPLY_STRING && g_str_equal (r->element[0]->str, "subscribe") &&
      r->element[2]->type == REDIS_REPLY_INTEGER && r->element[2]->integer == 3)
    {
      if (self->command == NULL)
        return;
      redisAsyncCommand (self->command, on_users_loaded, self, "HGETALL %s", USERS_KEY);
      redisAsyncCommand (self->command, on_room_members_loaded, self, "HGETALL %s",
                         ROOM_MEMBERS_KEY);
      return;
    }

  if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
      r->element[0]->type != REDIS_REPLY_STRING || !g_str_equal (r->element[0]->str, "message") ||
      r->element[1]->type != REDIS_REPLY_STRING || r->element[2]->type != REDIS_REPLY_STRING)
    return;

  channel = r->element[1]->str;
  if (g_str_equal (channel, PRESENCE_CHANNEL))
    on_presence (self, r->element[2]->str);
  else if (g_str_equal (channel, ROOMS_CHANNEL))
    on_room_event (self, r->element[2]->str);
  else if (g_str_equal (channel, self->inbox))
    on_inbox (self, r->element[2]->str);
}

/* The users of the other servers, as Redis has them. Those we knew of
 * and Redis does not (it restarted, say) stay: their servers announce them
 * again as they reconnect, and the users of a server that died meanwhile
 * go with it at the next check of the servers alive. */
static void
on_users_loaded (redisAsyncContext *context,
                 void              *reply,
                 void              *data)
{
  NatterServerCluster *self = data;
  redisReply *r = reply;

  if (r == NULL || r->type != REDIS_REPLY_ARRAY)
    return;

  for (gsize i = 0; i + 1 < r->elements; i += 2)
    {
      const char *name = r->element[i]->str;
      const char *server = r->element[i + 1]->str;

      if (name == NULL || server == NULL || g_str_equal (server, self->id) ||
          !natter_user_id_is_valid (name) || g_hash_table_contains (self->local, name))
        continue;
      remote_set (self, name, server);
    }
}

typedef struct
{
  NatterServerCluster *cluster;
  char *server;
} AliveCheck;

static void
on_alive_reply (redisAsyncContext *context,
                void              *reply,
                void              *data)
{
  AliveCheck *check = data;
  NatterServerCluster *self = check->cluster;
  redisReply *r = reply;

  if (r != NULL && r->type == REDIS_REPLY_INTEGER && r->integer == 0 && !self->closing)
    {
      g_autoptr(GPtrArray) gone = g_ptr_array_new_with_free_func (g_free);
      g_autoptr(GPtrArray) gone_members = g_ptr_array_new_with_free_func (g_free);
      GHashTableIter iter;
      gpointer user, server;

      g_hash_table_iter_init (&iter, self->remote);
      while (g_hash_table_iter_next (&iter, &user, &server))
        if (g_str_equal (server, check->server))
          g_ptr_array_add (gone, g_strdup (user));

      if (gone->len > 0)
        g_message ("Server %.8s… stopped answering; its %u users are offline", check->server,
                   gone->len);
      g_hash_table_iter_init (&iter, self->rooms);
      while (g_hash_table_iter_next (&iter, &user, &server))
        {
          GHashTable *members = server;
          GHashTableIter member_iter;
          gpointer member, member_server;

          g_hash_table_iter_init (&member_iter, members);
          while (g_hash_table_iter_next (&member_iter, &member, &member_server))
            if (g_str_equal (member_server, check->server))
              {
                g_ptr_array_add (gone_members, g_strdup_printf ("%s %s", (char *) member,
                                                                (char *) user));
                redisAsyncCommand (self->command, on_ignored_reply, NULL, "EVAL %s 1 %s %s %s",
                                   HDEL_IF_OURS, ROOM_MEMBERS_KEY,
                                   gone_members->pdata[gone_members->len - 1], check->server);
              }
        }
      for (guint i = 0; i < gone_members->len; i++)
        {
          const char *entry = gone_members->pdata[i];
          const char *space = strchr (entry, ' ');
          g_autofree char *name = g_strndup (entry, space - entry);

          room_member_remove (self, space + 1, name);
        }

      for (guint i = 0; i < gone->len; i++)
        {
          const char *name = gone->pdata[i];

          remote_remove (self, name);
          redisAsyncCommand (self->command, on_ignored_reply, NULL, "EVAL %s 1 %s %s %s",
                             HDEL_IF_OURS, USERS_KEY, name, check->server);
        }
    }

  g_free (check->server);
  g_free (check);
}

static gboolean
on_heartbeat (gpointer data)
{
  NatterServerCluster *self = data;
  g_autoptr(GHashTable) servers = g_hash_table_new (g_str_hash, g_str_equal);
  GHashTableIter iter;
  gpointer server;

  if (!g_atomic_int_get (&self->connected))
    return G_SOURCE_CONTINUE;

  redisAsyncCommand (self->command, on_ignored_reply, NULL, "SET %s 1 PX %u", self->server_key,
                     self->heartbeat_ms * 2 / 3);

  /* Just (re)connected: the others may be reconnecting too (Redis
   * restarted) and have not renewed their keys yet. */
  if (g_get_monotonic_time () - self->connected_at < (gint64) self->heartbeat_ms * 1000)
    return G_SOURCE_CONTINUE;

  g_hash_table_iter_init (&iter, self->remote);
  while (g_hash_table_iter_next (&iter, NULL, &server))
    g_hash_table_add (servers, server);

  g_hash_table_iter_init (&iter, servers);
  while (g_hash_table_iter_next (&iter, &server, NULL))
    {
      AliveCheck *check = g_new (AliveCheck, 1);

      check->cluster = self;
      check->server = g_strdup (server);
      redisAsyncCommand (self->command, on_alive_reply, check, "EXISTS natter:server:%s",
                         (const char *) server);
    }

  return G_SOURCE_CONTINUE;
}

static gboolean
on_reconnect (gpointer data)
{
  NatterServerCluster *self = data;

  g_clear_pointer (&self->reconnect, g_source_unref);
  cluster_connect (self);

  return G_SOURCE_REMOVE;
}

static void
schedule_reconnect (NatterServerCluster *self)
{
  if (self->closing || self->reconnect != NULL)
    return;

  self->reconnect = g_timeout_source_new (RECONNECT_MS);
  g_source_set_callback (self->reconnect, on_reconnect, self, NULL);
  g_source_attach (self->reconnect, self->context);
}

/* hiredis frees the context itself after the callback that called this,
 * and takes its descriptor out of the source then: the source goes at the
 * next connection (free_context()). */
static void
drop_connection (NatterServerCluster *self,
                 redisAsyncContext  **context,
                 GSource            **source)
{
  *context = NULL;
}

/* Frees a context that is still connected, without its callbacks, and its
 * source. */
static void
free_context (redisAsyncContext **context,
              GSource            **source)
{
  if (*context != NULL)
    {
      (*context)->data = NULL;
      g_clear_pointer (context, redisAsyncFree);
    }
  clear_source (source);
}

static void
on_disconnected (const redisAsyncContext *context,
                 int                      status)
{
  NatterServerCluster *self = context->data;

  if (self == NULL || self->closing)
    return;

  g_message ("Lost the connection to Redis; reconnecting");
  g_atomic_int_set (&self->connected, FALSE);

  /* hiredis frees the context that went; the other one goes too, and both
   * come back together. */
  if (context == self->command)
    {
      drop_connection (self, &self->command, &self->command_source);
      free_context (&self->subscriber, &self->subscriber_source);
    }
  else
    {
      drop_connection (self, &self->subscriber, &self->subscriber_source);
      free_context (&self->command, &self->command_source);
    }

  schedule_reconnect (self);
}

static void
on_connected (const redisAsyncContext *context,
              int                      status)
{
  NatterServerCluster *self = context->data;

  if (self != NULL && status != REDIS_OK)
    {
      /* hiredis frees it after this; the disconnect callback does not run */
      g_message ("Cannot connect to Redis at %s:%d: %s", self->host, self->port, context->errstr);
      if (context == self->command)
        drop_connection (self, &self->command, &self->command_source);
      else
        drop_connection (self, &self->subscriber, &self->subscriber_source);
      g_atomic_int_set (&self->connected, FALSE);
      schedule_reconnect (self);
    }
}

static void
watch_context (NatterServerCluster *self,
               redisAsyncContext   *context,
               GSource            **source)
{
  context->data = self;
  redisAsyncSetConnectCallback (context, on_connected);
  redisAsyncSetDisconnectCallback (context, on_disconnected);
  *source = redis_source_new (context);
  g_source_attach (*source, self->context);
}

/* Connects both contexts and announces this server and its users. */
static void
cluster_connect (NatterServerCluster *self)
{
  GHashTableIter iter;
  gpointer user;

  /* One half may be left from a failed attempt: start over. */
  free_context (&self->command, &self->command_source);
  free_context (&self->subscriber, &self->subscriber_source);

  self->command = redisAsyncConnect (self->host, self->port);
  self->subscriber = redisAsyncConnect (self->host, self->port);
  if (self->command == NULL || self->subscriber == NULL || self->command->err ||
      self->subscriber->err)
    {
      g_message ("Cannot connect to Redis at %s:%d", self->host, self->port);
      g_clear_pointer (&self->command, redisAsyncFree);
      g_clear_pointer (&self->subscriber, redisAsyncFree);
      schedule_reconnect (self);
      return;
    }

  watch_context (self, self->command, &self->command_source);
  watch_context (self, self->subscriber, &self->subscriber_source);
  g_atomic_int_set (&self->connected, TRUE);
  self->connected_at = g_get_monotonic_time ();

  redisAsyncCommand (self->subscriber, on_subscriber_reply, self, "SUBSCRIBE %s %s %s",
                     PRESENCE_CHANNEL, ROOMS_CHANNEL, self->inbox);
  redisAsyncCommand (self->command, on_ignored_reply, NULL, "SET %s 1 PX %u", self->server_key,
                     self->heartbeat_ms * 2 / 3);

  /* Ours again (after Redis restarted, say), announced to the others. */
  g_hash_table_iter_init (&iter, self->local);
  while (g_hash_table_iter_next (&iter, &user, NULL))
    {
      redisAsyncCommand (self->command, on_ignored_reply, NULL, "HSET %s %s %s", USERS_KEY,
                         (const char *) user, self->id);
      publish_presence (self, TRUE, user);
    }

  g_hash_table_iter_init (&iter, self->local_rooms);
  while (g_hash_table_iter_next (&iter, &user, NULL))
    publish_room (self, TRUE, user);
}

static gboolean
parse_url (const char  *url,
           char       **host,
           int         *port,
           GError     **error)
{
  g_autoptr(GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);

  if (uri == NULL || g_strcmp0 (g_uri_get_scheme (uri), "redis") != 0 ||
      g_uri_get_host (uri) == NULL || *g_uri_get_host (uri) == '\0')
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "--cluster must be redis://HOST:PORT");
      return FALSE;
    }

  *host = g_strdup (g_uri_get_host (uri));
  *port = g_uri_get_port (uri) > 0 ? g_uri_get_port (uri) : 6379;

  return TRUE;
}

/* What the workers ask of the cluster, done in its context */

typedef enum
{
  OPERATION_ONLINE,
  OPERATION_OFFLINE,
  OPERATION_RELAY,
  OPERATION_ROOM_JOIN,
  OPERATION_ROOM_LEAVE,
  OPERATION_COMMAND,
} OperationKind;

typedef struct
{
  char **argv;
  NatterServerClusterReplyFunc done;
  gpointer data;
  GDestroyNotify destroy;
  GMainContext *context;     /* the asker's: @done is called there */
} CommandRequest;

typedef struct
{
  OperationKind kind;
  char *user;
  char *argument;            /* the room, the frame or the handle */
  char *server;              /* OPERATION_RELAY: the recipient's */
  CommandRequest *request;   /* OPERATION_COMMAND */
} Operation;

static void command_request_fail (CommandRequest *request,
                                  const char     *message);

static void
operation_free (gpointer data)
{
  Operation *operation = data;

  /* Never done (the cluster is going): the asker still hears. */
  if (operation->request != NULL)
    command_request_fail (operation->request, "The server is stopping; nothing changed");
  g_free (operation->user);
  g_free (operation->argument);
  g_free (operation->server);
  g_free (operation);
}

static gboolean
talks_to_redis (NatterServerCluster *self)
{
  return g_atomic_int_get (&self->connected) && !self->closing;
}

static void
do_user_online (NatterServerCluster *self,
                const char          *user)
{
  g_hash_table_add (self->local, g_strdup (user));
  pthread_rwlock_wrlock (&self->lock);
  g_hash_table_remove (self->remote, user);
  pthread_rwlock_unlock (&self->lock);
  if (!talks_to_redis (self))
    return;

  redisAsyncCommand (self->command, on_ignored_reply, NULL, "HSET %s %s %s", USERS_KEY, user,
                     self->id);
  publish_presence (self, TRUE, user);
}

static void
do_user_offline (NatterServerCluster *self,
                 const char          *user)
{
  /* Going down: every user still in @local is announced offline at once
   * by natter_server_cluster_free() */
  if (self->closing || !g_hash_table_remove (self->local, user) || !talks_to_redis (self))
    return;

  redisAsyncCommand (self->command, on_ignored_reply, NULL, "EVAL %s 1 %s %s %s", HDEL_IF_OURS,
                     USERS_KEY, user, self->id);
  publish_presence (self, FALSE, user);
}

static void
do_relay (NatterServerCluster *self,
          const char          *server,
          const char          *user,
          const char          *text)
{
  g_autofree char *channel = NULL;
  g_autofree char *message = NULL;
  const char *argv[3];
  gsize lengths[3];

  if (!talks_to_redis (self))
    return;

  channel = g_strdup_printf ("natter:to:%s", server);
  message = g_strdup_printf ("%s %s", user, text);
  argv[0] = "PUBLISH";
  argv[1] = channel;
  argv[2] = message;
  for (guint i = 0; i < 3; i++)
    lengths[i] = strlen (argv[i]);
  redisAsyncCommandArgv (self->command, on_ignored_reply, NULL, 3, argv, lengths);
}

static void
do_room (NatterServerCluster *self,
         gboolean             joined,
         const char          *room,
         const char          *user)
{
  g_autofree char *entry = g_strdup_printf ("%s %s", user, room);
  gboolean changed;

  if (joined)
    changed = g_hash_table_add (self->local_rooms, g_strdup (entry));
  else
    changed = g_hash_table_remove (self->local_rooms, entry);

  if (changed && talks_to_redis (self))
    publish_room (self, joined, entry);
}

static void do_command (NatterServerCluster *self,
                        CommandRequest      *request);

static void
on_operation (gpointer message,
              gpointer user_data)
{
  NatterServerCluster *self = user_data;
  Operation *operation = message;

  switch (operation->kind)
    {
    case OPERATION_ONLINE:
      do_user_online (self, operation->user);
      break;
    case OPERATION_OFFLINE:
      do_user_offline (self, operation->user);
      break;
    case OPERATION_RELAY:
      do_relay (self, operation->server, operation->user, operation->argument);
      break;
    case OPERATION_ROOM_JOIN:
    case OPERATION_ROOM_LEAVE:
      do_room (self, operation->kind == OPERATION_ROOM_JOIN, operation->argument,
               operation->user);
      break;
    case OPERATION_COMMAND:
      do_command (self, g_steal_pointer (&operation->request));
      break;
    default:
      g_assert_not_reached ();
    }
}

/* Whether the caller runs in the cluster's context (then it does what it
 * asks at once) or in a worker's (then it posts). */
static gboolean
in_cluster_context (NatterServerCluster *self)
{
  return g_main_context_is_owner (self->context);
}

static void
post_operation (NatterServerCluster *self,
                OperationKind        kind,
                const char          *user,
                const char          *argument)
{
  Operation *operation = g_new0 (Operation, 1);

  operation->kind = kind;
  operation->user = g_strdup (user);
  operation->argument = g_strdup (argument);
  natter_server_mailbox_post (self->mailbox, operation);
}

/**
 * natter_server_cluster_new:
 * @url: `redis://HOST:PORT`
 * @heartbeat_s: the servers' heartbeat interval
 * @context: the main context the cluster works in; the callbacks are
 *   called there
 *
 * Connects to Redis (again and again if it is not there or goes away).
 * The other functions may be called from any thread.
 *
 * Returns: (transfer full): a cluster, or %NULL if @url is not one
 */
NatterServerCluster *
natter_server_cluster_new (const char                         *url,
                           guint                               heartbeat_s,
                           GMainContext                       *context,
                           const NatterServerClusterCallbacks *callbacks,
                           gpointer                            data,
                           GError                            **error)
{
  g_autoptr(NatterServerCluster) self = g_new0 (NatterServerCluster, 1);
  guint8 id[8];

  pthread_rwlock_init (&self->lock, NULL);
  self->context = g_main_context_ref (context);
  if (!parse_url (url, &self->host, &self->port, error))
    return NULL;

  natter_random_bytes (id, sizeof id);
  self->id = g_compute_checksum_for_data (G_CHECKSUM_SHA256, id, sizeof id);
  self->id[16] = '\0';
  self->server_key = g_strdup_printf ("natter:server:%s", self->id);
  self->inbox = g_strdup_printf ("natter:to:%s", self->id);
  self->heartbeat_ms = MAX (heartbeat_s, 1) * 1000;
  self->callbacks = *callbacks;
  self->data = data;
  self->local = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->remote = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->rooms = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                       (GDestroyNotify) g_hash_table_unref);
  self->local_rooms = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->mailbox = natter_server_mailbox_new (self->context, on_operation, self, operation_free);

  cluster_connect (self);
  self->heartbeat = g_timeout_source_new (self->heartbeat_ms / 4);
  g_source_set_callback (self->heartbeat, on_heartbeat, self, NULL);
  g_source_attach (self->heartbeat, self->context);

  g_message ("In the cluster of redis://%s:%d as server %.8s…", self->host, self->port, self->id);

  return g_steal_pointer (&self);
}

const char *
natter_server_cluster_get_id (NatterServerCluster *self)
{
  return self->id;
}

void
natter_server_cluster_user_online (NatterServerCluster *self,
                                   const char          *user)
{
  if (in_cluster_context (self))
    do_user_online (self, user);
  else
    post_operation (self, OPERATION_ONLINE, user, NULL);
}

void
natter_server_cluster_user_offline (NatterServerCluster *self,
                                    const char          *user)
{
  if (in_cluster_context (self))
    do_user_offline (self, user);
  else
    post_operation (self, OPERATION_OFFLINE, user, NULL);
}

/* Whether @user is connected to another server of the cluster. */
gboolean
natter_server_cluster_has_user (NatterServerCluster *self,
                                const char          *user)
{
  gboolean found;

  pthread_rwlock_rdlock (&self->lock);
  found = g_hash_table_contains (self->remote, user);
  pthread_rwlock_unlock (&self->lock);

  return found;
}

/**
 * natter_server_cluster_relay:
 * @text: a frame for @user, who is on another server
 *
 * Returns: %FALSE if @user is on no other server (or Redis is away)
 */
gboolean
natter_server_cluster_relay (NatterServerCluster *self,
                             const char          *user,
                             const char          *text)
{
  g_autofree char *server = NULL;
  Operation *operation;

  if (!g_atomic_int_get (&self->connected))
    return FALSE;

  pthread_rwlock_rdlock (&self->lock);
  server = g_strdup (g_hash_table_lookup (self->remote, user));
  pthread_rwlock_unlock (&self->lock);
  if (server == NULL)
    return FALSE;

  if (in_cluster_context (self))
    {
      do_relay (self, server, user, text);
      return TRUE;
    }

  operation = g_new0 (Operation, 1);
  operation->kind = OPERATION_RELAY;
  operation->user = g_strdup (user);
  operation->argument = g_strdup (text);
  operation->server = g_steal_pointer (&server);
  natter_server_mailbox_post (self->mailbox, operation);

  return TRUE;
}

/**
 * natter_server_cluster_notify_answers:
 * @user: a user of another server
 *
 * Tells @user's server that answers to @user's invitations wait in Redis,
 * for it to deliver them and delete them there.
 *
 * Returns: %FALSE if @user is on no other server (or Redis is away)
 */
gboolean
natter_server_cluster_notify_answers (NatterServerCluster *self,
                                      const char          *user)
{
  return natter_server_cluster_relay (self, user, ANSWERS_WAITING);
}

void
natter_server_cluster_room_join (NatterServerCluster *self,
                                 const char          *room,
                                 const char          *user)
{
  if (in_cluster_context (self))
    do_room (self, TRUE, room, user);
  else
    post_operation (self, OPERATION_ROOM_JOIN, user, room);
}

void
natter_server_cluster_room_leave (NatterServerCluster *self,
                                  const char          *room,
                                  const char          *user)
{
  if (in_cluster_context (self))
    do_room (self, FALSE, room, user);
  else
    post_operation (self, OPERATION_ROOM_LEAVE, user, room);
}

/**
 * natter_server_cluster_room_members:
 *
 * Returns: (transfer full) (element-type utf8): the members of @room on
 *   the other servers
 */
GPtrArray *
natter_server_cluster_room_members (NatterServerCluster *self,
                                    const char          *room)
{
  GPtrArray *users = g_ptr_array_new_with_free_func (g_free);
  GHashTable *members;
  GHashTableIter iter;
  gpointer user;

  pthread_rwlock_rdlock (&self->lock);
  members = g_hash_table_lookup (self->rooms, room);
  if (members != NULL)
    {
      g_hash_table_iter_init (&iter, members);
      while (g_hash_table_iter_next (&iter, &user, NULL))
        g_ptr_array_add (users, g_strdup (user));
    }
  pthread_rwlock_unlock (&self->lock);

  return users;
}

/* How many members @room has on the other servers. */
guint
natter_server_cluster_room_size (NatterServerCluster *self,
                                 const char          *room)
{
  GHashTable *members;
  guint size;

  pthread_rwlock_rdlock (&self->lock);
  members = g_hash_table_lookup (self->rooms, room);
  size = members != NULL ? g_hash_table_size (members) : 0;
  pthread_rwlock_unlock (&self->lock);

  return size;
}

/* Commands for the others: their replies go back to the asker's context */

typedef struct
{
  CommandRequest *request;
  JsonNode *reply;
  GError *error;
} CommandOutcome;

static void
command_request_free (CommandRequest *request)
{
  if (request->destroy != NULL)
    request->destroy (request->data);
  g_strfreev (request->argv);
  g_main_context_unref (request->context);
  g_free (request);
}

static void
command_outcome_free (CommandOutcome *outcome)
{
  command_request_free (outcome->request);
  g_clear_pointer (&outcome->reply, json_node_unref);
  g_clear_error (&outcome->error);
  g_free (outcome);
}

static gboolean
deliver_command_outcome (gpointer data)
{
  CommandOutcome *outcome = data;

  outcome->request->done (outcome->request->data, outcome->reply, outcome->error);

  return G_SOURCE_REMOVE;
}

/* Calls the request's function in the asker's context; takes @reply and
 * @error. */
static void
command_request_finish (CommandRequest *request,
                        JsonNode       *reply,
                        GError         *error)
{
  CommandOutcome *outcome = g_new0 (CommandOutcome, 1);

  outcome->request = request;
  outcome->reply = reply;
  outcome->error = error;

  if (g_main_context_is_owner (request->context))
    {
      deliver_command_outcome (outcome);
      command_outcome_free (outcome);
      return;
    }

  g_main_context_invoke_full (request->context, G_PRIORITY_DEFAULT, deliver_command_outcome,
                              outcome, (GDestroyNotify) command_outcome_free);
}

static void
command_request_fail (CommandRequest *request,
                      const char     *message)
{
  command_request_finish (request, NULL,
                          g_error_new_literal (NATTER_PROTOCOL_ERROR,
                                               NATTER_PROTOCOL_ERROR_INTERNAL, message));
}

/* Redis's reply as JSON: strings, integers, nil as null, arrays. */
static JsonNode *
reply_to_node (const redisReply *r)
{
  JsonNode *node = json_node_alloc ();

  switch (r->type)
    {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
      {
        g_autofree char *text = g_strndup (r->str, r->len);

        /* What Natter stored is UTF-8; anything else is not its own. */
        json_node_init_string (node, g_utf8_validate (text, -1, NULL) ? text : NULL);
      }
      break;

    case REDIS_REPLY_INTEGER:
      json_node_init_int (node, r->integer);
      break;

    case REDIS_REPLY_ARRAY:
      {
        JsonArray *array = json_array_sized_new (r->elements);

        for (gsize i = 0; i < r->elements; i++)
          json_array_add_element (array, reply_to_node (r->element[i]));
        json_node_init_array (node, array);
        json_array_unref (array);
      }
      break;

    default:
      json_node_init_null (node);
      break;
    }

  return node;
}

static void
on_command_reply (redisAsyncContext *context,
                  void              *reply,
                  void              *data)
{
  CommandRequest *request = data;
  redisReply *r = reply;
  NatterProtocolError code;

  if (r == NULL)
    {
      command_request_fail (request, "The server lost its cluster; nothing changed");
      return;
    }

  if (r->type == REDIS_REPLY_ERROR)
    {
      /* A script's refusal names a protocol error code; anything else is
       * Redis failing. */
      if (r->str != NULL && natter_protocol_error_from_code (r->str, &code))
        {
          command_request_finish (request, NULL,
                                  g_error_new_literal (NATTER_PROTOCOL_ERROR, code, r->str));
          return;
        }
      g_message ("Redis refused a command: %s", r->str);
      command_request_fail (request, "The server failed; nothing changed");
      return;
    }

  command_request_finish (request, reply_to_node (r), NULL);
}

static void
do_command (NatterServerCluster *self,
            CommandRequest      *request)
{
  guint argc = g_strv_length (request->argv);
  g_autofree gsize *lengths = g_new (gsize, argc);

  for (guint i = 0; i < argc; i++)
    lengths[i] = strlen (request->argv[i]);

  if (!talks_to_redis (self) || self->command == NULL ||
      redisAsyncCommandArgv (self->command, on_command_reply, request, argc,
                             (const char **) request->argv, lengths) != REDIS_OK)
    command_request_fail (request, "The server cannot reach its cluster; nothing changed");
}

/**
 * natter_server_cluster_command:
 * @argv: a Redis command and its arguments
 * @done: called with the reply (or a #GError: a script's refusal naming a
 *   protocol error code has that code, anything else is
 *   %NATTER_PROTOCOL_ERROR_INTERNAL, also when Redis is away), in the
 *   caller's thread-default main context
 *
 * Sends a command to Redis from any thread.
 */
void
natter_server_cluster_command (NatterServerCluster          *self,
                               const char * const           *argv,
                               NatterServerClusterReplyFunc  done,
                               gpointer                      data,
                               GDestroyNotify                destroy)
{
  CommandRequest *request = g_new (CommandRequest, 1);
  Operation *operation;

  request->argv = g_strdupv ((char **) argv);
  request->done = done;
  request->data = data;
  request->destroy = destroy;
  request->context = g_main_context_ref_thread_default ();

  if (in_cluster_context (self))
    {
      do_command (self, request);
      return;
    }

  operation = g_new0 (Operation, 1);
  operation->kind = OPERATION_COMMAND;
  operation->request = request;
  natter_server_mailbox_post (self->mailbox, operation);
}

/* Handles */

typedef struct
{
  NatterServerClusterHandleOp op;
  NatterServerClusterHandleFunc done;
  gpointer data;
  GDestroyNotify destroy;
} HandleCall;

static void
handle_call_free (gpointer data)
{
  HandleCall *call = data;

  if (call->destroy != NULL)
    call->destroy (call->data);
  g_free (call);
}

static void
on_handle_reply (gpointer      data,
                 JsonNode     *reply,
                 const GError *error)
{
  HandleCall *call = data;
  g_autoptr(GError) refusal = NULL;
  const char *owner = NULL;
  gint64 result = 0;

  if (error != NULL)
    {
      call->done (call->data, NULL, error);
      return;
    }

  if (call->op == NATTER_SERVER_CLUSTER_HANDLE_LOOKUP)
    {
      if (JSON_NODE_HOLDS_VALUE (reply) && json_node_get_value_type (reply) == G_TYPE_STRING &&
          natter_user_id_is_valid (json_node_get_string (reply)))
        owner = json_node_get_string (reply);
      else
        refusal = g_error_new_literal (NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_NOT_FOUND,
                                       "No such handle");
    }
  else if (!JSON_NODE_HOLDS_VALUE (reply) || json_node_get_value_type (reply) != G_TYPE_INT64)
    {
      refusal = g_error_new_literal (NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_INTERNAL,
                                     "The server failed; nothing changed");
    }
  else
    {
      result = json_node_get_int (reply);
      if (call->op == NATTER_SERVER_CLUSTER_HANDLE_REGISTER && result == 0)
        refusal = g_error_new_literal (NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_HANDLE_TAKEN,
                                       "The handle belongs to another user");
      else if (call->op == NATTER_SERVER_CLUSTER_HANDLE_RELEASE && result < 0)
        refusal = g_error_new_literal (NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_NOT_FOUND,
                                       "No such handle");
      else if (call->op == NATTER_SERVER_CLUSTER_HANDLE_RELEASE && result == 0)
        refusal = g_error_new_literal (NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_NOT_OWNER,
                                       "The handle belongs to another user");
    }

  call->done (call->data, owner, refusal);
}

/**
 * natter_server_cluster_handle:
 * @handle: a normalized handle
 * @user: who asks
 * @done: called with the outcome, in the caller's thread-default context
 *   (also when Redis is away: then with %NATTER_PROTOCOL_ERROR_INTERNAL)
 *
 * Registers, looks up or releases a handle in Redis, atomically.
 */
void
natter_server_cluster_handle (NatterServerCluster           *self,
                              NatterServerClusterHandleOp    op,
                              const char                    *handle,
                              const char                    *user,
                              NatterServerClusterHandleFunc  done,
                              gpointer                       data,
                              GDestroyNotify                 destroy)
{
  HandleCall *call = g_new (HandleCall, 1);
  const char *register_argv[] = { "EVAL", HANDLE_REGISTER, "2", HANDLES_KEY, HANDLE_OF_KEY,
                                  handle, user, NULL };
  const char *lookup_argv[] = { "HGET", HANDLES_KEY, handle, NULL };
  const char *release_argv[] = { "EVAL", HANDLE_RELEASE, "2", HANDLES_KEY, HANDLE_OF_KEY,
                                 handle, user, NULL };
  const char * const *argv = NULL;

  call->op = op;
  call->done = done;
  call->data = data;
  call->destroy = destroy;

  switch (op)
    {
    case NATTER_SERVER_CLUSTER_HANDLE_REGISTER:
      argv = register_argv;
      break;
    case NATTER_SERVER_CLUSTER_HANDLE_LOOKUP:
      argv = lookup_argv;
      break;
    case NATTER_SERVER_CLUSTER_HANDLE_RELEASE:
      argv = release_argv;
      break;
    default:
      g_assert_not_reached ();
    }

  natter_server_cluster_command (self, argv, on_handle_reply, call, handle_call_free);
}

/*
 * natter_server_cluster_free:
 *
 * Once the workers are stopped (nothing else calls the cluster any more),
 * in the cluster's thread.
 */
void
natter_server_cluster_free (NatterServerCluster *self)
{
  if (self == NULL)
    return;

  self->closing = TRUE;
  clear_source (&self->heartbeat);
  clear_source (&self->reconnect);

  /* What the workers posted last: who came online is now in @local too,
   * and so is announced offline below with the others. */
  if (self->mailbox != NULL)
    {
      natter_server_mailbox_deliver (self->mailbox);
      natter_server_mailbox_close (self->mailbox);
    }

  /* Our users are gone with us: say so at once, not a heartbeat later
   * (a blocking connection of its own, bounded, at shutdown only). */
  if (g_atomic_int_get (&self->connected))
    {
      struct timeval timeout = { 0, 500 * 1000 };
      redisContext *c = redisConnectWithTimeout (self->host, self->port, timeout);
      GHashTableIter iter;
      gpointer user;
      guint n = 0;

      if (c != NULL && c->err == 0)
        {
          redisSetTimeout (c, timeout);
          g_hash_table_iter_init (&iter, self->local);
          while (g_hash_table_iter_next (&iter, &user, NULL))
            {
              g_autofree char *message = g_strdup_printf ("0 %s %s", self->id,
                                                          (const char *) user);

              redisAppendCommand (c, "EVAL %s 1 %s %s %s", HDEL_IF_OURS, USERS_KEY,
                                  (const char *) user, self->id);
              redisAppendCommand (c, "PUBLISH %s %s", PRESENCE_CHANNEL, message);
              n += 2;
            }
          g_hash_table_iter_init (&iter, self->local_rooms);
          while (g_hash_table_iter_next (&iter, &user, NULL))
            {
              g_autofree char *message = g_strdup_printf ("l %s %s", self->id,
                                                          (const char *) user);

              redisAppendCommand (c, "EVAL %s 1 %s %s %s", HDEL_IF_OURS, ROOM_MEMBERS_KEY,
                                  (const char *) user, self->id);
              redisAppendCommand (c, "PUBLISH %s %s", ROOMS_CHANNEL, message);
              n += 2;
            }
          redisAppendCommand (c, "DEL %s", self->server_key);
          n++;
          for (guint i = 0; i < n; i++)
            {
              void *reply = NULL;

              if (redisGetReply (c, &reply) != REDIS_OK)
                break;
              freeReplyObject (reply);
            }
        }
      if (c != NULL)
        redisFree (c);
    }

  free_context (&self->command, &self->command_source);
  free_context (&self->subscriber, &self->subscriber_source);

  g_clear_pointer (&self->mailbox, natter_server_mailbox_free);
  g_clear_pointer (&self->local, g_hash_table_unref);
  g_clear_pointer (&self->remote, g_hash_table_unref);
  g_clear_pointer (&self->rooms, g_hash_table_unref);
  g_clear_pointer (&self->local_rooms, g_hash_table_unref);
  g_clear_pointer (&self->context, g_main_context_unref);
  pthread_rwlock_destroy (&self->lock);
  g_free (self->host);
  g_free (self->id);
  g_free (self->server_key);
  g_free (self->inbox);
  g_free (self);
}

#endif /* NATTER_HAVE_HIREDIS */
