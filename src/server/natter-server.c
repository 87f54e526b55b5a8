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

#include <string.h>

#include "natter-server-private.h"

#include "natter-server.h"

#define PURGE_INTERVAL_S         60
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
_natter_server_send_request_error (NatterServer           *self,
                                   NatterServerConnection *connection,
                                   NatterFrame            *request,
                                   NatterProtocolError     code,
                                   const char             *message)
{
  _natter_server_send_error (self, connection, code, natter_frame_get_id (request), message);
}

/* Sends a failure from the store or the protocol library. */
void
_natter_server_send_gerror (NatterServer           *self,
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
broadcast_presence (NatterServer *self,
                    const char   *user,
                    gboolean      online)
{
  GHashTable *set = g_hash_table_lookup (self->watchers, user);
  g_autoptr(NatterFrame) frame = NULL;
  g_autofree char *text = NULL;
  GHashTableIter iter;
  gpointer connection;

  if (set == NULL)
    return;

  frame = natter_frame_new (NATTER_FRAME_PRESENCE);
  natter_frame_set_string (frame, "user", user);
  natter_frame_set_boolean (frame, "online", online);
  text = natter_frame_to_string (frame, NULL);

  g_hash_table_iter_init (&iter, set);
  while (g_hash_table_iter_next (&iter, &connection, NULL))
    natter_server_connection_send_text (connection, text);
}

static void
unwatch (NatterServer           *self,
         NatterServerConnection *connection,
         const char             *user)
{
  GHashTable *set = g_hash_table_lookup (self->watchers, user);

  if (set == NULL)
    return;

  g_hash_table_remove (set, connection);
  if (g_hash_table_size (set) == 0)
    g_hash_table_remove (self->watchers, user);
}

static void
watch (NatterServer           *self,
       NatterServerConnection *connection,
       const char             *user)
{
  GHashTable *set = g_hash_table_lookup (self->watchers, user);

  if (set == NULL)
    {
      set = g_hash_table_new (NULL, NULL);
      g_hash_table_insert (self->watchers, g_strdup (user), set);
    }

  g_hash_table_add (set, connection);
}

/* Requests */

static void
handle_auth (NatterServer           *self,
             NatterServerConnection *connection,
             NatterFrame            *frame)
{
  const char *user = natter_frame_get_string (frame, "user");
  const char *signature = natter_frame_get_string (frame, "signature");
  const char *server = natter_frame_get_string (frame, "server");
  const char *nonce = natter_server_connection_get_nonce (connection);
  NatterServerConnection *previous;
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
      self->auth_failures++;
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

  previous = g_hash_table_lookup (self->users, user);
  g_hash_table_replace (self->users, (char *) user, connection);

  if (previous != NULL)
    {
      g_info ("User %s connected again; replacing its older connection",
              NATTER_USER_ID_LOG (user));
      _natter_server_send_error (self, previous, NATTER_PROTOCOL_ERROR_REPLACED, NULL,
                                 "The same user connected again");
      natter_server_connection_close (previous, NATTER_CLOSE_REPLACED);
    }
  else
    {
      g_info ("User %s online", NATTER_USER_ID_LOG (user));
      broadcast_presence (self, user, TRUE);
    }

  reply = _natter_server_reply_new (NATTER_FRAME_AUTH_OK, frame);
  natter_frame_set_string (reply, "user", user);
  _natter_server_set_ice_members (self, reply, user);
  natter_frame_set_int (reply, "heartbeat_s", self->limits.heartbeat_s);
  natter_server_connection_send_frame (connection, reply);

  _natter_server_deliver_pending (self, connection, user);
}

static void
handle_subscribe (NatterServer           *self,
                  NatterServerConnection *connection,
                  NatterFrame            *frame)
{
  JsonArray *users = natter_frame_get_array (frame, "users");
  GHashTable *subscriptions = natter_server_connection_get_subscriptions (connection, TRUE);
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
  for (guint i = 0; i < n; i++)
    {
      const char *user = json_array_get_string_element (users, i);
      JsonObject *entry = json_object_new ();

      if (!g_hash_table_contains (subscriptions, user))
        {
          g_hash_table_add (subscriptions, g_strdup (user));
          watch (self, connection, user);
        }

      json_object_set_string_member (entry, "user", user);
      json_object_set_boolean_member (entry, "online", g_hash_table_contains (self->users, user));
      json_array_add_object_element (presence, entry);
    }

  reply = _natter_server_reply_new (NATTER_FRAME_PRESENCE_LIST, frame);
  natter_frame_take_array (reply, "presence", presence);
  natter_server_connection_send_frame (connection, reply);
}

static void
handle_unsubscribe (NatterServer           *self,
                    NatterServerConnection *connection,
                    NatterFrame            *frame)
{
  JsonArray *users = natter_frame_get_array (frame, "users");
  GHashTable *subscriptions = natter_server_connection_get_subscriptions (connection, FALSE);
  guint n = json_array_get_length (users);

  for (guint i = 0; i < n && subscriptions != NULL; i++)
    {
      const char *user = json_array_get_string_element (users, i);

      if (g_hash_table_remove (subscriptions, user))
        unwatch (self, connection, user);
    }

  _natter_server_send_reply (connection, NATTER_FRAME_OK, frame);
}

static void
handle_signal (NatterServer           *self,
               NatterServerConnection *connection,
               NatterFrame            *frame)
{
  const char *from = natter_server_connection_get_user (connection);
  const char *to = natter_frame_get_string (frame, "to");
  JsonObject *payload = natter_frame_get_object_member (frame, "payload");
  NatterServerConnection *target;
  g_autoptr(NatterFrame) relayed = NULL;

  if (g_str_equal (from, to))
    {
      _natter_server_send_request_error (self, connection, frame,
                                         NATTER_PROTOCOL_ERROR_INVALID_TARGET,
                                         "A signal cannot go to its sender");
      return;
    }

  target = g_hash_table_lookup (self->users, to);
  if (target == NULL)
    {
      _natter_server_send_request_error (self, connection, frame,
                                         NATTER_PROTOCOL_ERROR_PEER_OFFLINE,
                                         "The peer is not connected");
      return;
    }

  relayed = natter_frame_new (NATTER_FRAME_SIGNAL);
  natter_frame_set_string (relayed, "from", from);
  natter_frame_take_object_member (relayed, "payload", json_object_ref (payload));
  if (!natter_server_connection_send_frame (target, relayed))
    {
      _natter_server_send_request_error (self, connection, frame, NATTER_PROTOCOL_ERROR_PEER_SLOW,
                                         "The peer is not reading; the signal was dropped");
      return;
    }
  self->frames_relayed++;
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
_natter_server_relay_scanned (NatterServer           *self,
                              NatterServerConnection *connection,
                              const NatterSignalScan *scan)
{
  const char *from = natter_server_connection_get_user (connection);
  char to[NATTER_USER_ID_LENGTH + 1];
  NatterServerConnection *target;
  GString *text;
  gsize length;

  if (from == NULL || scan->to_length != NATTER_USER_ID_LENGTH)
    return FALSE;

  memcpy (to, scan->to, NATTER_USER_ID_LENGTH);
  to[NATTER_USER_ID_LENGTH] = '\0';

  target = g_hash_table_lookup (self->users, to);
  if (target == NULL || target == connection)
    return FALSE;

  /* The same text natter_frame_to_string() would write for this frame. */
  length = scan->payload_length + NATTER_USER_ID_LENGTH + 38;
  if (!natter_server_connection_can_take (target, length))
    return FALSE;   /* the full path says peer-slow */

  text = g_string_sized_new (length + 1);
  g_string_append (text, "{\"type\":\"signal\",\"from\":\"");
  g_string_append (text, from);
  g_string_append (text, "\",\"payload\":");
  g_string_append_len (text, scan->payload, scan->payload_length);
  g_string_append_c (text, '}');
  g_assert (text->len == length);

  natter_server_connection_send_text (target, text->str);
  g_string_free (text, TRUE);
  self->frames_relayed++;

  return TRUE;
}

typedef void (*RequestHandler) (NatterServer           *self,
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
_natter_server_dispatch (NatterServer           *self,
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
_natter_server_send_error (NatterServer           *self,
                           NatterServerConnection *connection,
                           NatterProtocolError     code,
                           const char             *ref,
                           const char             *message)
{
  g_autoptr(NatterFrame) frame = NULL;

  if ((guint) code < NATTER_PROTOCOL_N_ERRORS)
    self->rejected[code]++;

  frame = natter_frame_new_error (code, ref, message);
  natter_server_connection_send_frame (connection, frame);
}

void
_natter_server_count_received (NatterServer *self)
{
  self->frames_received++;
}

/* Takes @connection out of users, watchers and rooms; once per connection. */
void
_natter_server_detach (NatterServer           *self,
                       NatterServerConnection *connection)
{
  const char *user = natter_server_connection_get_user (connection);
  GHashTable *subscriptions = natter_server_connection_get_subscriptions (connection, FALSE);
  GPtrArray *rooms = natter_server_connection_get_rooms (connection, FALSE);

  g_assert (self->n_active > 0);
  self->n_active--;

  if (subscriptions != NULL)
    {
      GHashTableIter iter;
      gpointer watched;

      g_hash_table_iter_init (&iter, subscriptions);
      while (g_hash_table_iter_next (&iter, &watched, NULL))
        unwatch (self, connection, watched);
      g_hash_table_remove_all (subscriptions);
    }

  while (rooms != NULL && rooms->len > 0)
    {
      NatterServerRoom *room = g_ptr_array_steal_index_fast (rooms, rooms->len - 1);

      _natter_server_room_remove_member (self, room, connection);
    }

  if (user != NULL && g_hash_table_lookup (self->users, user) == connection)
    {
      g_hash_table_remove (self->users, user);
      g_info ("User %s offline", NATTER_USER_ID_LOG (user));
      broadcast_presence (self, user, FALSE);
    }
}

void
_natter_server_connection_closed (NatterServer           *self,
                                  NatterServerConnection *connection)
{
  natter_server_connection_close (connection, NATTER_CLOSE_NORMAL);
  g_hash_table_remove (self->connections, connection);
}

/* Timers */

static gboolean
on_sweep (gpointer user_data)
{
  NatterServer *self = user_data;
  gint64 silence = 2 * (gint64) self->limits.heartbeat_s * G_USEC_PER_SEC;
  gint64 deadline = g_get_monotonic_time () - silence;
  g_autoptr(GPtrArray) dead = g_ptr_array_new_with_free_func (g_object_unref);
  GHashTableIter iter;
  gpointer connection;

  g_hash_table_iter_init (&iter, self->connections);
  while (g_hash_table_iter_next (&iter, &connection, NULL))
    {
      if (!natter_server_connection_is_closing (connection) &&
          natter_server_connection_get_last_activity (connection) < deadline)
        g_ptr_array_add (dead, g_object_ref (connection));
    }


  if (dead->len > 0)
    g_info ("Closing %u connections that stopped answering", dead->len);

  for (guint i = 0; i < dead->len; i++)
    natter_server_connection_close (dead->pdata[i], NATTER_CLOSE_HEARTBEAT_TIMEOUT);

  return G_SOURCE_CONTINUE;
}

/* Closes the clients that stayed over their output bound, also when
 * nothing more is sent to them. */
static gboolean
on_slow_sweep (gpointer user_data)
{
  NatterServer *self = user_data;
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

static gboolean
on_purge (gpointer user_data)
{
  NatterServer *self = user_data;
  g_autoptr(GError) error = NULL;

  if (!natter_server_store_purge (self->store, _natter_server_unix_now (), &error))
    _natter_server_log_internal_error ("Deleting expired invitations", error);

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
uptime_s (NatterServer *self)
{
  return (g_get_monotonic_time () - self->started) / G_USEC_PER_SEC;
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
  NatterServer *self = user_data;
  g_autoptr(JsonBuilder) builder = NULL;

  if (!check_get (message, path, "/health"))
    return;

  builder = json_builder_new ();
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "status");
  json_builder_add_string_value (builder, "healthy");
  add_int (builder, "connections", self->n_active);
  add_int (builder, "users", g_hash_table_size (self->users));
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
  NatterServer *self = user_data;
  g_autoptr(JsonBuilder) builder = NULL;
  gint64 now = _natter_server_unix_now ();

  if (!check_get (message, path, "/stats"))
    return;

  builder = json_builder_new ();
  json_builder_begin_object (builder);
  add_int (builder, "connections", self->n_active);
  add_int (builder, "users", g_hash_table_size (self->users));
  add_int (builder, "rooms", g_hash_table_size (self->rooms));
  add_int (builder, "pending_invitations",
           MAX (0, natter_server_store_count_pending (self->store, now)));
  add_int (builder, "handles", MAX (0, natter_server_store_count_handles (self->store)));
  add_int (builder, "uptime_s", uptime_s (self));
  add_int (builder, "connections_total", self->connections_total);
  add_int (builder, "frames_received", self->frames_received);
  add_int (builder, "frames_relayed", self->frames_relayed);
  add_int (builder, "auth_failures", self->auth_failures);
  add_int (builder, "tcp_connections", g_hash_table_size (self->streams));
  add_int (builder, "tcp_unauthenticated", self->unauthenticated.length);
  add_int (builder, "tcp_accepted_total", self->accepted_total);
  add_int (builder, "request_timeouts", self->request_timeouts);
  add_int (builder, "address_refusals", self->address_refusals);
  add_int (builder, "fd_exhausted", self->fd_exhausted);
  add_int (builder, "fd_evictions", self->evicted);
  add_int (builder, "slow_reader_closes", self->slow_reader_closes);
  add_int (builder, "frames_dropped_slow", self->frames_dropped_slow);
  add_int (builder, "oversized_frame_closes", self->oversized_frame_closes);
  add_int (builder, "recipient_full", self->recipient_full);
  json_builder_set_member_name (builder, "frames_rejected");
  json_builder_begin_object (builder);
  for (guint i = 0; i < NATTER_PROTOCOL_N_ERRORS; i++)
    add_int (builder, natter_protocol_error_to_code (i), self->rejected[i]);
  json_builder_end_object (builder);
  json_builder_end_object (builder);

  respond_json (message, builder);
}

static void
on_websocket (SoupServer              *server,
              SoupServerMessage       *message,
              const char              *path,
              SoupWebsocketConnection *websocket,
              gpointer                 user_data)
{
  NatterServer *self = user_data;
  NatterServerConnection *connection;
  NatterServerStream *stream = _natter_server_find_stream (websocket);

  if (stream != NULL)
    _natter_server_stream_upgraded (self, stream);

  connection = natter_server_connection_new (self, websocket, stream, &self->limits);
  natter_server_connection_set_local_address (connection,
                                              soup_server_message_get_local_address (message));
  g_hash_table_add (self->connections, connection);
  self->n_active++;
  self->connections_total++;

  if (self->shutting_down)
    {
      _natter_server_send_error (self, connection, NATTER_PROTOCOL_ERROR_SHUTTING_DOWN, NULL,
                                 "The server is stopping");
      natter_server_connection_close (connection, NATTER_CLOSE_GOING_AWAY);
      return;
    }

  if (self->n_active > natter_server_config_get_max_connections (self->config))
    {
      _natter_server_send_error (self, connection, NATTER_PROTOCOL_ERROR_SERVER_FULL, NULL,
                                 "The server holds its maximum number of connections");
      natter_server_connection_close (connection, NATTER_CLOSE_SERVER_FULL);
      return;
    }

  natter_server_connection_send_hello (connection);
}

/* GObject */

static void
natter_server_dispose (GObject *object)
{
  NatterServer *self = (NatterServer *) object;

  g_clear_handle_id (&self->sweep_id, g_source_remove);
  g_clear_handle_id (&self->slow_sweep_id, g_source_remove);
  g_clear_handle_id (&self->purge_id, g_source_remove);

  _natter_server_accept_dispose (self);
  g_clear_object (&self->soup);
  g_clear_object (&self->certificate);

  /* Connections point at self: they go first. */
  g_clear_pointer (&self->users, g_hash_table_unref);
  g_clear_pointer (&self->watchers, g_hash_table_unref);
  g_clear_pointer (&self->rooms, g_hash_table_unref);
  g_clear_pointer (&self->connections, g_hash_table_unref);
  g_clear_pointer (&self->slow, g_hash_table_unref);

  if (self->store != NULL)
    natter_server_store_close (self->store);
  g_clear_object (&self->store);
  g_clear_object (&self->config);
  g_clear_pointer (&self->own_names, g_strfreev);

  G_OBJECT_CLASS (natter_server_parent_class)->dispose (object);
}

static void
natter_server_class_init (NatterServerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = natter_server_dispose;
}

static void
natter_server_init (NatterServer *self)
{
  self->connections = g_hash_table_new_full (NULL, NULL, g_object_unref, NULL);
  self->users = g_hash_table_new (g_str_hash, g_str_equal);
  self->watchers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                          (GDestroyNotify) g_hash_table_unref);
  self->rooms = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                       (GDestroyNotify) _natter_server_room_free);
  self->slow = g_hash_table_new (NULL, NULL);
  self->started = g_get_monotonic_time ();
  _natter_server_accept_init (self);
}

/**
 * natter_server_new:
 * @config: the parsed options
 * @error: return location for a #GError
 *
 * Opens the database and prepares the HTTP server; natter_server_listen()
 * starts accepting clients.
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
  g_autoptr(GError) local_error = NULL;

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

  self->store = natter_server_store_new (natter_server_config_get_data_dir (config), &local_error);
  if (self->store == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "Cannot open the database in %s: %s",
                   natter_server_config_get_data_dir (config), local_error->message);
      return NULL;
    }

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

  /* Connections come from our own listener (natter-server-accept.c), TLS
   * included. */
  self->certificate = g_steal_pointer (&certificate);
  self->soup = soup_server_new ("server-header", "natter-server/" PACKAGE_VERSION " ", NULL);
  /* Frames are small JSON; compression would cost memory per connection. */
  soup_server_remove_websocket_extension (self->soup, SOUP_TYPE_WEBSOCKET_EXTENSION_DEFLATE);
  soup_server_add_websocket_handler (self->soup, "/ws", NULL, NULL, on_websocket, self, NULL);
  soup_server_add_handler (self->soup, "/health", on_health, self, NULL);
  soup_server_add_handler (self->soup, "/stats", on_stats, self, NULL);

  return g_steal_pointer (&self);
}

/**
 * natter_server_listen:
 * @self: a #NatterServer
 * @error: return location for a #GError
 *
 * Binds the configured address and port and starts the timers.
 *
 * Returns: %TRUE when listening
 */
gboolean
natter_server_listen (NatterServer  *self,
                      GError       **error)
{
  g_autoptr(GInetAddress) address = NULL;
  g_autoptr(GSocketAddress) socket_address = NULL;
  g_autoptr(GSocket) socket = NULL;
  guint sweep_ms;

  g_return_val_if_fail (NATTER_IS_SERVER (self), FALSE);

  address = g_inet_address_new_from_string (natter_server_config_get_address (self->config));
  socket_address = g_inet_socket_address_new (address,
                                              natter_server_config_get_port (self->config));

  /* Our own socket for a listen backlog that takes bursts of thousands of
   * clients connecting at once (GSocket's default is 10). */
  socket = g_socket_new (g_inet_address_get_family (address), G_SOCKET_TYPE_STREAM,
                         G_SOCKET_PROTOCOL_TCP, error);
  if (socket == NULL)
    return FALSE;
  g_socket_set_listen_backlog (socket, LISTEN_BACKLOG);
  if (!g_socket_bind (socket, socket_address, TRUE, error) || !g_socket_listen (socket, error))
    return FALSE;

  self->listen_socket = g_steal_pointer (&socket);
  _natter_server_accept_start (self);

  sweep_ms = MAX (self->limits.heartbeat_s * 1000 / 2, 100);
  self->sweep_id = g_timeout_add (sweep_ms, on_sweep, self);
  self->slow_sweep_id = g_timeout_add (MAX (self->limits.slow_timeout_s * 1000 / 4, 100),
                                       on_slow_sweep, self);
  self->purge_id = g_timeout_add_seconds (PURGE_INTERVAL_S, on_purge, self);
  on_purge (self);

  g_message ("Listening on %s://%s:%u/ws",
             self->certificate != NULL ? "wss" : "ws",
             natter_server_config_get_address (self->config), natter_server_get_port (self));

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
  g_autoptr(GSocketAddress) address = NULL;

  g_return_val_if_fail (NATTER_IS_SERVER (self), 0);

  if (self->listen_socket == NULL)
    return 0;

  address = g_socket_get_local_address (self->listen_socket, NULL);
  if (!G_IS_INET_SOCKET_ADDRESS (address))
    return 0;

  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (address));
}

/**
 * natter_server_get_n_connections:
 *
 * Returns: the number of WebSockets not yet fully closed
 */
guint
natter_server_get_n_connections (NatterServer *self)
{
  g_return_val_if_fail (NATTER_IS_SERVER (self), 0);

  return g_hash_table_size (self->connections);
}

/**
 * natter_server_shutdown:
 * @self: a #NatterServer
 *
 * Stops listening, tells every client `shutting-down` and closes its
 * connection with 1001, and closes the database. The connections finish
 * closing in the main loop.
 */
void
natter_server_shutdown (NatterServer *self)
{
  g_autoptr(GPtrArray) open = NULL;
  GHashTableIter iter;
  gpointer connection;

  g_return_if_fail (NATTER_IS_SERVER (self));

  if (self->shutting_down)
    return;

  self->shutting_down = TRUE;
  _natter_server_accept_stop (self);
  g_clear_handle_id (&self->sweep_id, g_source_remove);
  g_clear_handle_id (&self->slow_sweep_id, g_source_remove);
  g_clear_handle_id (&self->purge_id, g_source_remove);

  open = g_ptr_array_new_with_free_func (g_object_unref);
  g_hash_table_iter_init (&iter, self->connections);
  while (g_hash_table_iter_next (&iter, &connection, NULL))
    {
      if (!natter_server_connection_is_closing (connection))
        g_ptr_array_add (open, g_object_ref (connection));
    }

  g_message ("Shutting down; closing %u connections", open->len);

  for (guint i = 0; i < open->len; i++)
    {
      _natter_server_send_error (self, open->pdata[i], NATTER_PROTOCOL_ERROR_SHUTTING_DOWN, NULL,
                                 "The server is stopping");
      natter_server_connection_close (open->pdata[i], NATTER_CLOSE_GOING_AWAY);
    }

  natter_server_store_close (self->store);
}
