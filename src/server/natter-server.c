/* natter-server.c: the natter signaling and presence server
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * State lives in a few hash tables, all keyed for the lookups the relay and
 * presence paths need:
 *
 *   connections  every accepted WebSocket (owning a reference)
 *   users        user ID -> its one authenticated connection
 *   watchers     user ID -> set of connections subscribed to its presence
 *   rooms        room name -> members (connections)
 *
 * Invitations and handles are in NatterServerStore (SQLite); nothing on the
 * relay path touches the database or logs.
 */
#define G_LOG_DOMAIN "natter-server"

#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "natter-server-private.h"

#include "natter-server.h"

#define LISTEN_BACKLOG           4096

G_DEFINE_FINAL_TYPE (NatterServer, natter_server, G_TYPE_OBJECT)

gint64
_natter_server_unix_now (void)
{
  return g_get_real_time () / G_USEC_PER_SEC;
}

void
_natter_server_log_internal_error (const char   *what,
                                   const GError *error)
{
  g_message ("%s failed: %s", what, error->message);
}

/* Frames */

NatterFrame *
_natter_server_reply_new (NatterFrameType  type,
                          NatterFrame     *request)
{
  NatterFrame *reply = natter_frame_new (type);
  const char *id = natter_frame_get_id (request);

  if (id != NULL)
    natter_frame_set_ref (reply, id);

  return reply;
}

void
_natter_server_send_reply (NatterServerConnection *connection,
                           NatterFrameType         type,
                           NatterFrame            *request)
{
  g_autoptr(NatterFrame) reply = _natter_server_reply_new (type, request);

  natter_server_connection_send_frame (connection, reply);
}

void
_natter_server_send_request_error (NatterServerShard      *self,
                                   NatterServerConnection *connection,
                                   NatterFrame            *request,
                                   NatterProtocolError     code,
                                   const char             *message)
{
  _natter_server_send_error (self, connection, code, natter_frame_get_id (request), message);
}

/* Sends a failure from the store or the protocol library. */
void
_natter_server_send_gerror (NatterServerShard      *self,
                            NatterServerConnection *connection,
                            NatterFrame            *request,
                            const GError           *error)
{
  NatterProtocolError code = NATTER_PROTOCOL_ERROR_INTERNAL;

  if (error->domain == NATTER_PROTOCOL_ERROR)
    code = error->code;

  if (code == NATTER_PROTOCOL_ERROR_INTERNAL)
    {
      NatterFrameType type = natter_frame_get_frame_type (request);

      _natter_server_log_internal_error (natter_frame_type_to_string (type), error);
      _natter_server_send_request_error (self, connection, request, code,
                                         "The server failed; nothing changed");
      return;
    }

  _natter_server_send_request_error (self, connection, request, code, error->message);
}

/* Presence */

static void
broadcast_presence (NatterServerShard *self,
                    const char        *user,
                    gboolean           online)
{
  NatterServer *server = self->server;
  g_autoptr(NatterFrame) frame = NULL;
  g_autofree char *text = NULL;
  GArray *keys = NULL;
  GHashTable *set;

  pthread_rwlock_rdlock (&server->directory_lock);
  set = g_hash_table_lookup (server->watchers, user);
  if (set != NULL)
    keys = _natter_server_keys_from_set (set, 0);
  pthread_rwlock_unlock (&server->directory_lock);

  if (keys == NULL)
    return;

  frame = natter_frame_new (NATTER_FRAME_PRESENCE);
  natter_frame_set_string (frame, "user", user);
  natter_frame_set_boolean (frame, "online", online);
  text = natter_frame_to_string (frame, NULL);

  _natter_server_send_to_keys (self, keys, text);
}

/* Under the directory's write lock. */
static void
unwatch (NatterServer    *server,
         NatterServerKey  key,
         const char      *user)
{
  GHashTable *set = g_hash_table_lookup (server->watchers, user);

  if (set == NULL)
    return;

  g_hash_table_remove (set, GSIZE_TO_POINTER (key));
  if (g_hash_table_size (set) == 0)
    g_hash_table_remove (server->watchers, user);
}

/* Under the directory's write lock. */
static void
watch (NatterServer    *server,
       NatterServerKey  key,
       const char      *user)
{
  GHashTable *set = g_hash_table_lookup (server->watchers, user);

  if (set == NULL)
    {
      set = g_hash_table_new (NULL, NULL);
      g_hash_table_insert (server->watchers, g_strdup (user), set);
    }

  g_hash_table_add (set, GSIZE_TO_POINTER (key));
}

/* @connection's user signed in again (here or on another shard). */
void
_natter_server_replace (NatterServerShard      *self,
                        NatterServerConnection *connection)
{
  _natter_server_send_error (self, connection, NATTER_PROTOCOL_ERROR_REPLACED, NULL,
                             "The same user connected again");
  natter_server_connection_close (connection, NATTER_CLOSE_REPLACED);
}

/* Requests */

static void
handle_auth (NatterServerShard      *self,
             NatterServerConnection *connection,
             NatterFrame            *frame)
{
  const char *user = natter_frame_get_string (frame, "user");
  const char *signature = natter_frame_get_string (frame, "signature");
  const char *server = natter_frame_get_string (frame, "server");
  const char *nonce = natter_server_connection_get_nonce (connection);
  NatterServer *hub = self->server;
  NatterServerConnection *previous;
  NatterServerKey key;
  gpointer previous_key = NULL;
  gboolean had_previous;
  g_autoptr(NatterFrame) reply = NULL;
  g_autofree char *challenge = NULL;
  gsize length = 0;
  gboolean valid = FALSE;

  if (natter_server_connection_get_user (connection) != NULL)
    {
      _natter_server_send_request_error (self, connection, frame,
                                         NATTER_PROTOCOL_ERROR_ALREADY_AUTHENTICATED,
                                         "This connection is already authenticated");
      return;
    }

  /* A signature made for another server is refused before it is even
   * checked: it may be our challenge, passed on to a victim by a hostile
   * server that the victim dialled */
  if (!_natter_server_name_is_own ((const char * const *) self->own_names,
                                   natter_server_connection_get_local_address (connection),
                                   server))
    {
      g_info ("Refused a sign-in meant for another server");
    }
  else if (nonce != NULL && natter_user_id_is_valid (user))
    {
      challenge = natter_auth_challenge_message (nonce, user, server, &length);
      valid = natter_signature_verify_user (user, challenge, length, signature);
    }
  natter_server_connection_forget_nonce (connection);

  if (!valid)
    {
      NATTER_SERVER_COUNT (self->counters.auth_failures);
      g_info ("Authentication failed");
      _natter_server_send_request_error (self, connection, frame, NATTER_PROTOCOL_ERROR_AUTH_FAILED,
                                         "Authentication failed");
      natter_server_connection_close (connection, NATTER_CLOSE_AUTH_FAILED);
      return;
    }

  natter_server_connection_set_user (connection, user);
  if (natter_server_connection_get_stream (connection) != NULL)
    _natter_server_stream_authenticated (self, natter_server_connection_get_stream (connection));
  user = natter_server_connection_get_user (connection);

  key = natter_server_connection_get_key (connection);
  previous = g_hash_table_lookup (self->users, user);
  g_hash_table_replace (self->users, (char *) user, connection);

  pthread_rwlock_wrlock (&hub->directory_lock);
  had_previous = g_hash_table_lookup_extended (hub->users, user, NULL, &previous_key);
  g_hash_table_insert (hub->users, g_strdup (user), GSIZE_TO_POINTER (key));
  pthread_rwlock_unlock (&hub->directory_lock);

  if (previous != NULL || had_previous)
    {
      g_info ("User %s connected again; replacing its older connection",
              NATTER_USER_ID_LOG (user));
      if (previous != NULL)
        _natter_server_replace (self, previous);
      else
        _natter_server_replace_key (self, GPOINTER_TO_SIZE (previous_key));
    }
  else if (hub->cluster == NULL || !natter_server_cluster_has_user (hub->cluster, user))
    {
      g_info ("User %s online", NATTER_USER_ID_LOG (user));
      broadcast_presence (self, user, TRUE);
    }
  /* else: on another server of the cluster, which closes its connection */

  if (hub->cluster != NULL)
    natter_server_cluster_user_online (hub->cluster, user);

  reply = _natter_server_reply_new (NATTER_FRAME_AUTH_OK, frame);
  natter_frame_set_string (reply, "user", user);
  _natter_server_set_ice_members (self, reply, user);
  natter_frame_set_int (reply, "heartbeat_s", self->limits.heartbeat_s);
  natter_server_connection_send_frame (connection, reply);

  _natter_server_deliver_pending (self, connection, user);
}

static void
handle_subscribe (NatterServerShard      *self,
                  NatterServerConnection *connection,
                  NatterFrame            *frame)
{
  JsonArray *users = natter_frame_get_array (frame, "users");
  GHashTable *subscriptions = natter_server_connection_get_subscriptions (connection, TRUE);
  NatterServer *server = self->server;
  NatterServerKey key = natter_server_connection_get_key (connection);
  g_autoptr(NatterFrame) reply = NULL;
  JsonArray *presence;
  guint n = json_array_get_length (users);
  guint added = 0;

  for (guint i = 0; i < n; i++)
    {
      const char *user = json_array_get_string_element (users, i);

      if (!g_hash_table_contains (subscriptions, user))
        added++;
    }

  /* Counts duplicates within the request twice: harmless, as it only errs
   * on the side of refusing at the limit. */
  if (g_hash_table_size (subscriptions) + added > NATTER_SUBSCRIPTIONS_MAX)
    {
      _natter_server_send_request_error (self, connection, frame,
                                         NATTER_PROTOCOL_ERROR_LIMIT_EXCEEDED,
                                         "A connection may hold at most 1000 subscriptions");
      return;
    }

  presence = json_array_sized_new (n);
  pthread_rwlock_wrlock (&server->directory_lock);
  for (guint i = 0; i < n; i++)
    {
      const char *user = json_array_get_string_element (users, i);
      JsonObject *entry = json_object_new ();

      if (!g_hash_table_contains (subscriptions, user))
        {
          g_hash_table_add (subscriptions, g_strdup (user));
          watch (server, key, user);
        }

      json_object_set_string_member (entry, "user", user);
      json_object_set_boolean_member (entry, "online",
                                      g_hash_table_contains (server->users, user) ||
                                      (server->cluster != NULL &&
                                       natter_server_cluster_has_user (server->cluster, user)));
      json_array_add_object_element (presence, entry);
    }
  pthread_rwlock_unlock (&server->directory_lock);

  reply = _natter_server_reply_new (NATTER_FRAME_PRESENCE_LIST, frame);
  natter_frame_take_array (reply, "presence", presence);
  natter_server_connection_send_frame (connection, reply);
}

static void
handle_unsubscribe (NatterServerShard      *self,
                    NatterServerConnection *connection,
                    NatterFrame            *frame)
{
  JsonArray *users = natter_frame_get_array (frame, "users");
  GHashTable *subscriptions = natter_server_connection_get_subscriptions (connection, FALSE);
  NatterServerKey key = natter_server_connection_get_key (connection);
  guint n = json_array_get_length (users);

  pthread_rwlock_wrlock (&self->server->directory_lock);
  for (guint i = 0; i < n && subscriptions != NULL; i++)
    {
      const char *user = json_array_get_string_element (users, i);

      if (g_hash_table_remove (subscriptions, user))
        unwatch (self->server, key, user);
    }
  pthread_rwlock_unlock (&self->server->directory_lock);

  _natter_server_send_reply (connection, NATTER_FRAME_OK, frame);
}

static void
handle_signal (NatterServerShard      *self,
               NatterServerConnection *connection,
               NatterFrame            *frame)
{
  const char *from = natter_server_connection_get_user (connection);
  const char *to = natter_frame_get_string (frame, "to");
  JsonObject *payload = natter_frame_get_object_member (frame, "payload");
  NatterServerConnection *target;
  NatterServerKey key;
  g_autoptr(NatterFrame) relayed = NULL;

  if (g_str_equal (from, to))
    {
      _natter_server_send_request_error (self, connection, frame,
                                         NATTER_PROTOCOL_ERROR_INVALID_TARGET,
                                         "A signal cannot go to its sender");
      return;
    }

  relayed = natter_frame_new (NATTER_FRAME_SIGNAL);
  natter_frame_set_string (relayed, "from", from);
  natter_frame_take_object_member (relayed, "payload", json_object_ref (payload));

  if (!_natter_server_find_user (self, to, &target, &key))
    {
      g_autofree char *text = NULL;

      /* Another server's, in a cluster */
      if (self->server->cluster != NULL)
        text = natter_frame_to_string (relayed, NULL);
      if (text != NULL && natter_server_cluster_relay (self->server->cluster, to, text))
        {
          NATTER_SERVER_COUNT (self->counters.frames_relayed);
          return;
        }

      _natter_server_send_request_error (self, connection, frame,
                                         NATTER_PROTOCOL_ERROR_PEER_OFFLINE,
                                         "The peer is not connected");
      return;
    }

  if (target == NULL)
    {
      const char *id = natter_frame_get_id (frame);

      /* Another shard's: that shard sends it, or tells the sender why not. */
      _natter_server_relay_to_key (self, key, natter_server_connection_get_key (connection), id,
                                   id != NULL ? strlen (id) : 0,
                                   natter_frame_to_string (relayed, NULL));
      return;
    }
  if (!natter_server_connection_send_frame (target, relayed))
    {
      _natter_server_send_request_error (self, connection, frame, NATTER_PROTOCOL_ERROR_PEER_SLOW,
                                         "The peer is not reading; the signal was dropped");
      return;
    }
  NATTER_SERVER_COUNT (self->counters.frames_relayed);
}

/*
 * _natter_server_relay_scanned:
 *
 * The fast path of the relay: a signal frame found by
 * natter_frame_scan_signal() goes on as text, its payload copied verbatim,
 * without a JSON tree being built or written. Only the common case is
 * handled here (a connected recipient other than the sender); everything
 * else returns %FALSE and takes the full path with its precise errors.
 */
gboolean
_natter_server_relay_scanned (NatterServerShard      *self,
                              NatterServerConnection *connection,
                              const NatterSignalScan *scan)
{
  const char *from = natter_server_connection_get_user (connection);
  char to[NATTER_USER_ID_LENGTH + 1];
  NatterServerConnection *target;
  NatterServerKey key;
  GString *text;
  gsize length;

  if (from == NULL || scan->to_length != NATTER_USER_ID_LENGTH)
    return FALSE;

  memcpy (to, scan->to, NATTER_USER_ID_LENGTH);
  to[NATTER_USER_ID_LENGTH] = '\0';

  if (!_natter_server_find_user (self, to, &target, &key) || target == connection)
    return FALSE;

  /* The same text natter_frame_to_string() would write for this frame. */
  length = scan->payload_length + NATTER_USER_ID_LENGTH + 38;
  if (target != NULL && !natter_server_connection_can_take (target, length))
    return FALSE;   /* the full path says peer-slow */

  text = g_string_sized_new (length + 1);
  g_string_append (text, "{\"type\":\"signal\",\"from\":\"");
  g_string_append (text, from);
  g_string_append (text, "\",\"payload\":");
  g_string_append_len (text, scan->payload, scan->payload_length);
  g_string_append_c (text, '}');
  g_assert (text->len == length);

  if (target == NULL)
    {
      /* Another shard's connection: that shard sends it, or tells the
       * sender why not. */
      _natter_server_relay_to_key (self, key, natter_server_connection_get_key (connection),
                                   scan->id, scan->id_length, g_string_free (text, FALSE));
      return TRUE;
    }

  natter_server_connection_send_text (target, text->str);
  g_string_free (text, TRUE);
  NATTER_SERVER_COUNT (self->counters.frames_relayed);

  return TRUE;
}

typedef void (*RequestHandler) (NatterServerShard      *self,
                                NatterServerConnection *connection,
                                NatterFrame            *frame);

/* Requests that need authentication, by frame type. */
static const RequestHandler request_handlers[NATTER_FRAME_N_TYPES] = {
  [NATTER_FRAME_SUBSCRIBE] = handle_subscribe,
  [NATTER_FRAME_UNSUBSCRIBE] = handle_unsubscribe,
  [NATTER_FRAME_INVITE] = _natter_server_handle_invite,
  [NATTER_FRAME_INVITE_ACCEPT] = _natter_server_handle_invite_accept,
  [NATTER_FRAME_INVITE_DECLINE] = _natter_server_handle_invite_decline,
  [NATTER_FRAME_INVITATIONS] = _natter_server_handle_invitations,
  [NATTER_FRAME_HANDLE_REGISTER] = _natter_server_handle_handle,
  [NATTER_FRAME_HANDLE_LOOKUP] = _natter_server_handle_handle,
  [NATTER_FRAME_HANDLE_RELEASE] = _natter_server_handle_handle,
  [NATTER_FRAME_ROOM_JOIN] = _natter_server_handle_room_join,
  [NATTER_FRAME_ROOM_LEAVE] = _natter_server_handle_room_leave_or_list,
  [NATTER_FRAME_ROOM_MEMBERS] = _natter_server_handle_room_leave_or_list,
  [NATTER_FRAME_ICE_CONFIG] = _natter_server_handle_ice_config,
};

void
_natter_server_dispatch (NatterServerShard      *self,
                         NatterServerConnection *connection,
                         NatterFrame            *frame)
{
  NatterFrameType type = natter_frame_get_frame_type (frame);
  RequestHandler handler;

  if (type == NATTER_FRAME_SIGNAL && natter_server_connection_get_user (connection) != NULL)
    {
      handle_signal (self, connection, frame);
      return;
    }

  if (type == NATTER_FRAME_PING)
    {
      _natter_server_send_reply (connection, NATTER_FRAME_PONG, frame);
      return;
    }

  if (type == NATTER_FRAME_AUTH)
    {
      handle_auth (self, connection, frame);
      return;
    }

  if (natter_server_connection_get_user (connection) == NULL)
    {
      _natter_server_send_request_error (self, connection, frame,
                                         NATTER_PROTOCOL_ERROR_NOT_AUTHENTICATED,
                                         "Authenticate first");
      return;
    }

  handler = (guint) type < G_N_ELEMENTS (request_handlers) ? request_handlers[type] : NULL;
  if (handler == NULL)
    {
      _natter_server_send_request_error (self, connection, frame,
                                         NATTER_PROTOCOL_ERROR_UNKNOWN_TYPE,
                                         "The frame type is unknown");
      return;
    }

  handler (self, connection, frame);
}

void
_natter_server_send_error (NatterServerShard      *self,
                           NatterServerConnection *connection,
                           NatterProtocolError     code,
                           const char             *ref,
                           const char             *message)
{
  g_autoptr(NatterFrame) frame = NULL;

  if ((guint) code < NATTER_PROTOCOL_N_ERRORS)
    NATTER_SERVER_COUNT (self->counters.rejected[code]);

  frame = natter_frame_new_error (code, ref, message);
  natter_server_connection_send_frame (connection, frame);
}

void
_natter_server_count_received (NatterServerShard *self)
{
  NATTER_SERVER_COUNT (self->counters.frames_received);
}

/* Takes @connection out of users, watchers and rooms; once per connection. */
void
_natter_server_detach (NatterServerShard      *self,
                       NatterServerConnection *connection)
{
  NatterServer *server = self->server;
  const char *user = natter_server_connection_get_user (connection);
  NatterServerKey key = natter_server_connection_get_key (connection);
  GHashTable *subscriptions = natter_server_connection_get_subscriptions (connection, FALSE);
  GPtrArray *rooms = natter_server_connection_get_rooms (connection, FALSE);
  gboolean offline = FALSE;

  g_assert (g_atomic_int_get (&server->n_active) > 0);
  g_atomic_int_add (&server->n_active, -1);

  if (subscriptions != NULL)
    {
      GHashTableIter iter;
      gpointer watched;

      pthread_rwlock_wrlock (&server->directory_lock);
      g_hash_table_iter_init (&iter, subscriptions);
      while (g_hash_table_iter_next (&iter, &watched, NULL))
        unwatch (server, key, watched);
      pthread_rwlock_unlock (&server->directory_lock);
      g_hash_table_remove_all (subscriptions);
    }

  while (rooms != NULL && rooms->len > 0)
    {
      NatterServerRoom *room = g_ptr_array_steal_index_fast (rooms, rooms->len - 1);

      _natter_server_room_leave (self, room, connection);
    }

  if (user == NULL)
    return;

  if (g_hash_table_lookup (self->users, user) == connection)
    g_hash_table_remove (self->users, user);

  /* Offline only if no newer connection of the user took its place. */
  pthread_rwlock_wrlock (&server->directory_lock);
  if (GPOINTER_TO_SIZE (g_hash_table_lookup (server->users, user)) == key)
    {
      g_hash_table_remove (server->users, user);
      offline = TRUE;
    }
  pthread_rwlock_unlock (&server->directory_lock);

  if (offline)
    {
      g_info ("User %s offline", NATTER_USER_ID_LOG (user));
      broadcast_presence (self, user, FALSE);
      if (server->cluster != NULL)
        natter_server_cluster_user_offline (server->cluster, user);
    }
}

void
_natter_server_connection_closed (NatterServerShard      *self,
                                  NatterServerConnection *connection)
{
  natter_server_connection_close (connection, NATTER_CLOSE_NORMAL);
  g_hash_table_remove (self->by_key, GSIZE_TO_POINTER (natter_server_connection_get_key (connection)));
  if (g_hash_table_remove (self->connections, connection))
    g_atomic_int_add (&self->server->n_connections, -1);
}

/* Timers */

gboolean
_natter_server_on_sweep (gpointer user_data)
{
  NatterServerShard *self = user_data;
  gint64 silence = 2 * (gint64) self->limits.heartbeat_s * G_USEC_PER_SEC;
  gint64 now = g_get_monotonic_time ();
  gint64 deadline = now - silence;
  g_autoptr(GPtrArray) dead = g_ptr_array_new_with_free_func (g_object_unref);
  GHashTableIter iter;
  gpointer connection;

  g_hash_table_iter_init (&iter, self->connections);
  while (g_hash_table_iter_next (&iter, &connection, NULL))
    {
      if (natter_server_connection_is_closing (connection))
        continue;
      if (natter_server_connection_get_last_activity (connection) < deadline)
        g_ptr_array_add (dead, g_object_ref (connection));
      else
        natter_server_connection_send_ping (connection, now);
    }


  if (dead->len > 0)
    g_info ("Closing %u connections that stopped answering", dead->len);

  for (guint i = 0; i < dead->len; i++)
    natter_server_connection_close (dead->pdata[i], NATTER_CLOSE_HEARTBEAT_TIMEOUT);

  return G_SOURCE_CONTINUE;
}

/* Closes the clients that stayed over their output bound, also when
 * nothing more is sent to them. */
gboolean
_natter_server_on_slow_sweep (gpointer user_data)
{
  NatterServerShard *self = user_data;
  g_autoptr(GPtrArray) slow = NULL;
  GHashTableIter iter;
  gpointer connection;

  if (g_hash_table_size (self->slow) == 0)
    return G_SOURCE_CONTINUE;

  slow = g_ptr_array_new_with_free_func (g_object_unref);
  g_hash_table_iter_init (&iter, self->slow);
  while (g_hash_table_iter_next (&iter, &connection, NULL))
    g_ptr_array_add (slow, g_object_ref (connection));

  for (guint i = 0; i < slow->len; i++)
    natter_server_connection_check_slow (slow->pdata[i], g_get_monotonic_time ());

  return G_SOURCE_CONTINUE;
}

/* HTTP */

static void
respond_json (SoupServerMessage *message,
              JsonBuilder       *builder)
{
  g_autoptr(JsonNode) root = json_builder_get_root (builder);
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  gsize length;
  char *body;

  json_generator_set_root (generator, root);
  body = json_generator_to_data (generator, &length);

  soup_server_message_set_status (message, SOUP_STATUS_OK, NULL);
  soup_message_headers_replace (soup_server_message_get_response_headers (message),
                                "Cache-Control", "no-store");
  soup_server_message_set_response (message, "application/json", SOUP_MEMORY_TAKE, body, length);
}

static void
add_int (JsonBuilder *builder,
         const char  *name,
         gint64       value)
{
  json_builder_set_member_name (builder, name);
  json_builder_add_int_value (builder, value);
}

static gint64
uptime_s (NatterServerShard *self)
{
  return (g_get_monotonic_time () - self->server->started) / G_USEC_PER_SEC;
}

static guint
count_users (NatterServer *server,
             guint        *n_rooms)
{
  guint n;

  pthread_rwlock_rdlock (&server->directory_lock);
  n = g_hash_table_size (server->users);
  if (n_rooms != NULL)
    *n_rooms = g_hash_table_size (server->rooms);
  pthread_rwlock_unlock (&server->directory_lock);

  return n;
}

/* The shards' counters added up. */
static void
sum_counters (NatterServer         *server,
              NatterServerCounters *sum)
{
  guint n = sizeof (NatterServerCounters) / sizeof (guint64);

  memset (sum, 0, sizeof *sum);
  for (guint i = 0; i < server->shards->len; i++)
    {
      NatterServerShard *shard = g_ptr_array_index (server->shards, i);
      guint64 *from = (guint64 *) &shard->counters;
      guint64 *to = (guint64 *) sum;

      for (guint j = 0; j < n; j++)
        to[j] += NATTER_SERVER_READ (from[j]);
    }
}

static gboolean
check_get (SoupServerMessage *message,
           const char        *path,
           const char        *expected)
{
  const char *method = soup_server_message_get_method (message);

  if (!g_str_equal (path, expected))
    {
      soup_server_message_set_status (message, SOUP_STATUS_NOT_FOUND, NULL);
      return FALSE;
    }

  if (method != SOUP_METHOD_GET && method != SOUP_METHOD_HEAD)
    {
      soup_server_message_set_status (message, SOUP_STATUS_METHOD_NOT_ALLOWED, NULL);
      soup_message_headers_replace (soup_server_message_get_response_headers (message),
                                    "Allow", "GET, HEAD");
      return FALSE;
    }

  return TRUE;
}

static void
on_health (SoupServer        *server,
           SoupServerMessage *message,
           const char        *path,
           GHashTable        *query,
           gpointer           user_data)
{
  NatterServerShard *self = user_data;
  g_autoptr(JsonBuilder) builder = NULL;

  if (!check_get (message, path, "/health"))
    return;

  builder = json_builder_new ();
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "status");
  json_builder_add_string_value (builder, "healthy");
  add_int (builder, "connections", g_atomic_int_get (&self->server->n_active));
  add_int (builder, "users", count_users (self->server, NULL));
  add_int (builder, "uptime_s", uptime_s (self));
  json_builder_end_object (builder);

  respond_json (message, builder);
}

static void
on_stats (SoupServer        *server,
          SoupServerMessage *message,
          const char        *path,
          GHashTable        *query,
          gpointer           user_data)
{
  NatterServerShard *self = user_data;
  NatterServer *hub = self->server;
  g_autoptr(JsonBuilder) builder = NULL;
  NatterServerCounters counters;
  guint n_users, n_rooms = 0;
  gint64 now = _natter_server_unix_now ();

  if (!check_get (message, path, "/stats"))
    return;

  builder = json_builder_new ();
  json_builder_begin_object (builder);
  n_users = count_users (hub, &n_rooms);
  sum_counters (hub, &counters);
  add_int (builder, "connections", g_atomic_int_get (&hub->n_active));
  add_int (builder, "users", n_users);
  add_int (builder, "rooms", n_rooms);
  add_int (builder, "pending_invitations",
           MAX (0, natter_server_store_count_pending (self->store, now)));
  add_int (builder, "handles", MAX (0, natter_server_store_count_handles (self->store)));
  add_int (builder, "uptime_s", uptime_s (self));
  add_int (builder, "workers", hub->shards->len);
  add_int (builder, "connections_total", counters.connections_total);
  add_int (builder, "frames_received", counters.frames_received);
  add_int (builder, "frames_relayed", counters.frames_relayed);
  add_int (builder, "frames_relayed_across_workers", counters.frames_relayed_across);
  add_int (builder, "auth_failures", counters.auth_failures);
  add_int (builder, "tcp_connections", g_atomic_int_get (&hub->n_streams));
  add_int (builder, "tcp_unauthenticated", g_atomic_int_get (&hub->n_unauthenticated));
  add_int (builder, "tcp_accepted_total", counters.accepted_total);
  add_int (builder, "request_timeouts", counters.request_timeouts);
  add_int (builder, "address_refusals", counters.address_refusals);
  add_int (builder, "fd_exhausted", counters.fd_exhausted);
  add_int (builder, "fd_evictions", counters.evicted);
  add_int (builder, "slow_reader_closes", counters.slow_reader_closes);
  add_int (builder, "frames_dropped_slow", counters.frames_dropped_slow);
  add_int (builder, "oversized_frame_closes", counters.oversized_frame_closes);
  add_int (builder, "recipient_full", counters.recipient_full);
  json_builder_set_member_name (builder, "frames_rejected");
  json_builder_begin_object (builder);
  for (guint i = 0; i < NATTER_PROTOCOL_N_ERRORS; i++)
    add_int (builder, natter_protocol_error_to_code (i), counters.rejected[i]);
  json_builder_end_object (builder);
  json_builder_end_object (builder);

  respond_json (message, builder);
}

/* The WebSocket on @stream is ours now: a connection of this shard. */
static void
take_websocket (NatterServerShard  *self,
                NatterServerStream *stream,
                GSocketAddress     *local_address)
{
  NatterServerConnection *connection;
  NatterServerKey key;
  int n_active;

  _natter_server_stream_upgraded (self, stream);

  connection = natter_server_connection_new (self, stream, &self->limits);
  if (connection == NULL)
    return;
  key = (self->next_serial++ << 8) | self->index;
  natter_server_connection_set_key (connection, key);
  natter_server_connection_set_local_address (connection, local_address);
  g_hash_table_add (self->connections, connection);
  g_hash_table_insert (self->by_key, GSIZE_TO_POINTER (key), connection);
  g_atomic_int_inc (&self->server->n_connections);
  n_active = g_atomic_int_add (&self->server->n_active, 1) + 1;
  NATTER_SERVER_COUNT (self->counters.connections_total);

  if (self->shutting_down)
    {
      _natter_server_send_error (self, connection, NATTER_PROTOCOL_ERROR_SHUTTING_DOWN, NULL,
                                 "The server is stopping");
      natter_server_connection_close (connection, NATTER_CLOSE_GOING_AWAY);
      return;
    }

  if ((guint) n_active > natter_server_config_get_max_connections (self->config))
    {
      _natter_server_send_error (self, connection, NATTER_PROTOCOL_ERROR_SERVER_FULL, NULL,
                                 "The server holds its maximum number of connections");
      natter_server_connection_close (connection, NATTER_CLOSE_SERVER_FULL);
      return;
    }

  natter_server_connection_send_hello (connection);
}

/* libsoup wrote `101 Switching Protocols`: the socket is taken back from
 * it, and framed by the connection from now on. */
static void
on_upgraded (SoupServerMessage *message,
             gpointer           user_data)
{
  NatterServerShard *self = user_data;
  g_autoptr(GSocketAddress) local_address = NULL;
  g_autoptr(GIOStream) io_stream = NULL;
  NatterServerStream *stream;

  g_signal_handlers_disconnect_by_func (message, on_upgraded, user_data);
  if (soup_server_message_get_local_address (message) != NULL)
    local_address = g_object_ref (soup_server_message_get_local_address (message));

  io_stream = soup_server_message_steal_connection (message);
  stream = io_stream != NULL ? _natter_server_find_stream (io_stream) : NULL;
  if (stream == NULL)
    {
      g_debug ("An upgraded connection is not one of ours");
      if (io_stream != NULL)
        g_io_stream_close (io_stream, NULL, NULL);
      return;
    }

  take_websocket (self, stream, local_address);
}

/* `/ws`: libsoup checks the upgrade and answers it (or says what is
 * wrong with it); no extension is agreed. */
static void
on_websocket_request (SoupServer        *server,
                      SoupServerMessage *message,
                      const char        *path,
                      GHashTable        *query,
                      gpointer           user_data)
{
  if (!soup_websocket_server_process_handshake (message, NULL, NULL, NULL, NULL))
    return;

  g_signal_connect (message, "wrote-informational", G_CALLBACK (on_upgraded), user_data);
}

/* The cluster (natter-server-cluster.c), in shard 0; the users it names
 * may be connected to any shard. */

static void
on_cluster_presence (gpointer    data,
                     const char *user,
                     gboolean    online)
{
  NatterServerShard *self = data;
  NatterServer *hub = self->server;
  gboolean here;

  pthread_rwlock_rdlock (&hub->directory_lock);
  here = g_hash_table_contains (hub->users, user);
  pthread_rwlock_unlock (&hub->directory_lock);

  if (!here)
    broadcast_presence (self, user, online);
}

static void
on_cluster_deliver (gpointer    data,
                    const char *user,
                    const char *text)
{
  NatterServerShard *self = data;
  NatterServerConnection *connection;
  NatterServerKey key;

  if (!_natter_server_find_user (self, user, &connection, &key))
    return;

  if (connection == NULL)
    _natter_server_post_text (self, key, g_strdup (text));
  else if (natter_server_connection_send_text (connection, text))
    NATTER_SERVER_COUNT (self->counters.frames_relayed);
}

static void
on_cluster_replaced (gpointer    data,
                     const char *user)
{
  NatterServerShard *self = data;
  NatterServer *hub = self->server;
  gpointer key = NULL;
  gboolean found;

  /* Still online, elsewhere: its going is no presence change. */
  pthread_rwlock_wrlock (&hub->directory_lock);
  found = g_hash_table_lookup_extended (hub->users, user, NULL, &key);
  if (found)
    g_hash_table_remove (hub->users, user);
  pthread_rwlock_unlock (&hub->directory_lock);

  if (!found)
    return;

  g_info ("User %s connected to another server; replacing its connection here",
          NATTER_USER_ID_LOG (user));
  _natter_server_replace_key (self, GPOINTER_TO_SIZE (key));
}

static void
on_cluster_answers (gpointer    data,
                    const char *user)
{
  _natter_server_fetch_answers (data, user);
}

static void
on_cluster_room (gpointer    data,
                 const char *room,
                 const char *user,
                 gboolean    joined)
{
  _natter_server_room_event_from_cluster (data, room, user, joined);
}

static const NatterServerClusterCallbacks cluster_callbacks = {
  .presence = on_cluster_presence,
  .deliver = on_cluster_deliver,
  .replaced = on_cluster_replaced,
  .answers = on_cluster_answers,
  .room = on_cluster_room,
};

/* Gives @self a libsoup server of its own, answering what the server
 * answers. */
void
_natter_server_shard_setup_soup (NatterServerShard *self)
{
  self->soup = soup_server_new ("server-header", "natter-server/" PACKAGE_VERSION " ", NULL);
  /* Frames are small JSON; compression would cost memory per connection. */
  soup_server_remove_websocket_extension (self->soup, SOUP_TYPE_WEBSOCKET_EXTENSION_DEFLATE);
  soup_server_add_handler (self->soup, "/ws", on_websocket_request, self, NULL);
  soup_server_add_handler (self->soup, "/health", on_health, self, NULL);
  soup_server_add_handler (self->soup, "/stats", on_stats, self, NULL);
}

/* GObject */

static void
natter_server_dispose (GObject *object)
{
  NatterServer *self = (NatterServer *) object;

  /* The workers first, each in its own thread; then the cluster, which
   * they call, telling the others our users are gone; shard 0, in ours,
   * last. */
  if (self->shards != NULL)
    for (guint i = self->shards->len; i > 1; i--)
      _natter_server_shard_stop (g_ptr_array_index (self->shards, i - 1));
  g_clear_pointer (&self->cluster, natter_server_cluster_free);
  if (self->shards != NULL)
    {
      if (self->shards->len > 0)
        _natter_server_shard_stop (g_ptr_array_index (self->shards, 0));
      g_clear_pointer (&self->shards, g_ptr_array_unref);
    }

  g_clear_pointer (&self->users, g_hash_table_unref);
  g_clear_pointer (&self->watchers, g_hash_table_unref);
  g_clear_pointer (&self->rooms, g_hash_table_unref);
  g_clear_pointer (&self->unauthenticated_by_address, g_hash_table_unref);
  g_clear_object (&self->certificate);
  g_clear_object (&self->config);
  g_clear_pointer (&self->own_names, g_strfreev);

  G_OBJECT_CLASS (natter_server_parent_class)->dispose (object);
}

static void
natter_server_finalize (GObject *object)
{
  NatterServer *self = (NatterServer *) object;

  pthread_rwlock_destroy (&self->directory_lock);
  pthread_mutex_destroy (&self->accept_lock);

  G_OBJECT_CLASS (natter_server_parent_class)->finalize (object);
}

static void
natter_server_class_init (NatterServerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = natter_server_dispose;
  object_class->finalize = natter_server_finalize;
}

static void
natter_server_init (NatterServer *self)
{
  pthread_rwlock_init (&self->directory_lock, NULL);
  pthread_mutex_init (&self->accept_lock, NULL);
  self->users = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->watchers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                          (GDestroyNotify) g_hash_table_unref);
  self->rooms = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                       (GDestroyNotify) _natter_server_room_free);
  self->unauthenticated_by_address = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                            NULL);
  self->started = g_get_monotonic_time ();
}

/**
 * natter_server_new:
 * @config: the parsed options
 * @error: return location for a #GError
 *
 * Opens the database and prepares the HTTP server and the worker threads
 * (`--workers`); natter_server_listen() starts accepting clients. The
 * server's first share of the connections is served in the thread-default
 * main context of the caller, which must call every other function here.
 *
 * Returns: (transfer full): a new server, or %NULL
 */
NatterServer *
natter_server_new (NatterServerConfig  *config,
                   GError             **error)
{
  g_autoptr(NatterServer) self = NULL;
  g_autoptr(GTlsCertificate) certificate = NULL;
  const char *certificate_file;
  guint n_workers;

  g_return_val_if_fail (NATTER_IS_SERVER_CONFIG (config), NULL);

  self = g_object_new (NATTER_TYPE_SERVER, NULL);
  self->config = g_object_ref (config);

  self->limits.max_frame_size = natter_server_config_get_max_frame_size (config);
  self->limits.rate_burst = natter_server_config_get_rate_burst (config);
  self->limits.rate_per_s = natter_server_config_get_rate_per_s (config);
  self->limits.auth_timeout_s = natter_server_config_get_auth_timeout (config);
  self->limits.heartbeat_s = natter_server_config_get_heartbeat_interval (config);
  self->limits.max_output = natter_server_config_get_max_output_buffer (config);
  self->limits.slow_timeout_s = natter_server_config_get_slow_reader_timeout (config);

  certificate_file = natter_server_config_get_tls_certificate (config);
  if (certificate_file != NULL)
    {
      certificate = g_tls_certificate_new_from_files (certificate_file,
                                                      natter_server_config_get_tls_key (config),
                                                      error);
      if (certificate == NULL)
        return NULL;
    }

  self->own_names = _natter_server_names_new (natter_server_config_get_public_names (config),
                                              certificate);
  /* Connections come from our own listeners (natter-server-accept.c), TLS
   * included. */
  self->certificate = g_steal_pointer (&certificate);

  n_workers = MAX (natter_server_config_get_workers (config), 1);
  self->shards = g_ptr_array_new_with_free_func ((GDestroyNotify) _natter_server_shard_free);
  for (guint i = 0; i < n_workers; i++)
    {
      NatterServerShard *shard = _natter_server_shard_new (self, i, error);

      g_ptr_array_add (self->shards, shard);
      if (shard->store == NULL)
        return NULL;
    }

  if (natter_server_config_get_cluster (config) != NULL)
    {
      NatterServerShard *first = g_ptr_array_index (self->shards, 0);

      self->cluster = natter_server_cluster_new (natter_server_config_get_cluster (config),
                                                 self->limits.heartbeat_s, first->context,
                                                 &cluster_callbacks, first, error);
      if (self->cluster == NULL)
        return NULL;
    }

  return g_steal_pointer (&self);
}

static GSocket *
listening_socket_new (GSocketAddress  *address,
                      gboolean         shared,
                      GError         **error)
{
  g_autoptr(GSocket) socket = NULL;

  socket = g_socket_new (g_socket_address_get_family (address), G_SOCKET_TYPE_STREAM,
                         G_SOCKET_PROTOCOL_TCP, error);
  if (socket == NULL)
    return NULL;

  /* A listen backlog that takes bursts of thousands of clients connecting
   * at once (GSocket's default is 10). */
  g_socket_set_listen_backlog (socket, LISTEN_BACKLOG);
  if (!shared)
    {
      if (!g_socket_bind (socket, address, TRUE, error))
        return NULL;
    }
  else
    {
      /* g_socket_bind() clears SO_REUSEPORT on TCP sockets: bind ourselves. */
      struct sockaddr_storage native;
      gsize length = g_socket_address_get_native_size (address);

      if (!g_socket_set_option (socket, SOL_SOCKET, SO_REUSEADDR, 1, error) ||
          !g_socket_set_option (socket, SOL_SOCKET, SO_REUSEPORT, 1, error) ||
          !g_socket_address_to_native (address, &native, sizeof native, error))
        return NULL;

      if (bind (g_socket_get_fd (socket), (struct sockaddr *) &native, length) != 0)
        {
          int saved_errno = errno;
          g_autofree char *text = g_socket_connectable_to_string (G_SOCKET_CONNECTABLE (address));

          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                       "Error binding to address %s: %s", text, g_strerror (saved_errno));
          return NULL;
        }
    }
  if (!g_socket_listen (socket, error))
    return NULL;

  return g_steal_pointer (&socket);
}

/**
 * natter_server_listen:
 * @self: a #NatterServer
 * @error: return location for a #GError
 *
 * Binds the configured address and port, once per worker, and starts the
 * workers and timers.
 *
 * Returns: %TRUE when listening
 */
gboolean
natter_server_listen (NatterServer  *self,
                      GError       **error)
{
  g_autoptr(GInetAddress) address = NULL;
  g_autoptr(GPtrArray) sockets = g_ptr_array_new_with_free_func (g_object_unref);
  guint port = natter_server_config_get_port (self->config);
  gboolean shared = self->shards->len > 1;

  g_return_val_if_fail (NATTER_IS_SERVER (self), FALSE);

  address = g_inet_address_new_from_string (natter_server_config_get_address (self->config));

  /* SO_REUSEPORT would also let a second server of the same user share
   * the port unnoticed: a plain bind first makes sure it is free. */
  if (shared && port != 0)
    {
      g_autoptr(GSocketAddress) probe_address = g_inet_socket_address_new (address, port);
      g_autoptr(GSocket) probe = listening_socket_new (probe_address, FALSE, error);

      if (probe == NULL)
        return FALSE;
      g_socket_close (probe, NULL);
    }

  for (guint i = 0; i < self->shards->len; i++)
    {
      g_autoptr(GSocketAddress) socket_address = g_inet_socket_address_new (address, port);
      GSocket *socket = listening_socket_new (socket_address, shared, error);
      g_autoptr(GSocketAddress) bound = NULL;

      if (socket == NULL)
        return FALSE;
      g_ptr_array_add (sockets, socket);

      bound = g_socket_get_local_address (socket, error);
      if (bound == NULL)
        return FALSE;
      port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
    }

  self->port = port;
  for (guint i = 0; i < self->shards->len; i++)
    _natter_server_shard_start (g_ptr_array_index (self->shards, i),
                                g_object_ref (g_ptr_array_index (sockets, i)));

  g_message ("Listening on %s://%s:%u/ws with %u worker%s",
             self->certificate != NULL ? "wss" : "ws",
             natter_server_config_get_address (self->config), port, self->shards->len,
             self->shards->len == 1 ? "" : "s");

  return TRUE;
}

/**
 * natter_server_get_port:
 *
 * Returns: the bound TCP port, or 0 when not listening
 */
guint
natter_server_get_port (NatterServer *self)
{
  g_return_val_if_fail (NATTER_IS_SERVER (self), 0);

  return self->port;
}

/**
 * natter_server_get_n_connections:
 *
 * Returns: the number of WebSockets not yet fully closed, on all workers
 */
guint
natter_server_get_n_connections (NatterServer *self)
{
  g_return_val_if_fail (NATTER_IS_SERVER (self), 0);

  return g_atomic_int_get (&self->n_connections);
}

/**
 * natter_server_shutdown:
 * @self: a #NatterServer
 *
 * Stops listening, tells every client `shutting-down` and closes its
 * connection with 1001, and closes the database. The connections finish
 * closing in the main loops.
 */
void
natter_server_shutdown (NatterServer *self)
{
  g_return_if_fail (NATTER_IS_SERVER (self));

  if (!g_atomic_int_compare_and_exchange (&self->shutting_down, FALSE, TRUE))
    return;

  for (guint i = 0; i < self->shards->len; i++)
    _natter_server_shard_shutdown (g_ptr_array_index (self->shards, i));
}
