/* natter-server-requests.c: invitations, handles, rooms and ICE servers
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The requests of docs/protocol.md beyond authentication, presence and the
 * signal relay (which live in natter-server.c). Invitations and handles go
 * through NatterServerStore; rooms live in memory.
 */
#define G_LOG_DOMAIN "natter-server"

#include "config.h"

#include <string.h>

#include "natter-server-private.h"

#define ROOMS_PER_CONNECTION_MAX 32

void
_natter_server_room_free (NatterServerRoom *room)
{
  for (guint i = 0; i < room->members->len; i++)
    g_free (g_array_index (room->members, NatterServerRoomMember, i).user);
  g_free (room->name);
  g_array_unref (room->members);
  g_free (room);
}

static JsonObject *
invitation_to_json (const NatterServerInvitation *invitation)
{
  JsonObject *object = json_object_new ();

  json_object_set_string_member (object, "id", invitation->id);
  json_object_set_string_member (object, "from", invitation->from);
  json_object_set_string_member (object, "to", invitation->to);
  json_object_set_string_member (object, "text", invitation->text);
  if (invitation->from_name != NULL)
    json_object_set_string_member (object, "from_name", invitation->from_name);
  json_object_set_int_member (object, "created", invitation->created);
  json_object_set_int_member (object, "expires", invitation->expires);
  json_object_set_string_member (object, "status",
                                 natter_server_invitation_status_to_string (invitation->status));

  return object;
}

static void
send_invitation (NatterServerConnection       *connection,
                 NatterFrameType               type,
                 const NatterServerInvitation *invitation)
{
  g_autoptr(NatterFrame) frame = natter_frame_new (type);

  natter_frame_take_object_member (frame, "invitation", invitation_to_json (invitation));
  natter_server_connection_send_frame (connection, frame);
}

/* A request the cluster answers later, in the shard that asked. */
typedef struct
{
  NatterServerShard *shard;
  NatterServerConnection *connection;
  NatterFrame *frame;
  char *handle;
} ClusterReply;

static ClusterReply *
cluster_reply_new (NatterServerShard      *self,
                   NatterServerConnection *connection,
                   NatterFrame            *frame)
{
  ClusterReply *reply = g_new0 (ClusterReply, 1);

  reply->shard = self;
  reply->connection = g_object_ref (connection);
  reply->frame = frame != NULL ? natter_frame_ref (frame) : NULL;

  return reply;
}

static void
cluster_reply_free (gpointer data)
{
  ClusterReply *reply = data;

  g_object_unref (reply->connection);
  g_clear_pointer (&reply->frame, natter_frame_unref);
  g_free (reply->handle);
  g_free (reply);
}

/* Sends @invitation to @user wherever it is connected; returns whether it
 * is (on another shard or, in a cluster, another server, the frame is on
 * its way). An answer goes only to a user of this server: one of another
 * server fetches its answers itself (natter_server_cluster_notify_answers()),
 * so that it is deleted where it reached its connection. */
static gboolean
send_invitation_to_user (NatterServerShard            *self,
                         const char                   *user,
                         NatterFrameType               type,
                         const NatterServerInvitation *invitation)
{
  NatterServerConnection *local;
  NatterServerKey key;
  g_autoptr(NatterFrame) frame = NULL;

  gboolean here = _natter_server_find_user (self, user, &local, &key);
  g_autofree char *text = NULL;

  if (here && local != NULL)
    {
      send_invitation (local, type, invitation);
      return TRUE;
    }

  if (!here && (self->server->cluster == NULL || type == NATTER_FRAME_INVITATION_ANSWER))
    return FALSE;

  frame = natter_frame_new (type);
  natter_frame_take_object_member (frame, "invitation", invitation_to_json (invitation));
  text = natter_frame_to_string (frame, NULL);
  if (here)
    {
      _natter_server_post_text (self, key, g_steal_pointer (&text));
      return TRUE;
    }

  return natter_server_cluster_relay (self->server->cluster, user, text);
}

static JsonArray *
ice_servers_new (NatterServerShard *self,
                 const char   *user)
{
  JsonArray *servers = json_array_new ();
  const char * const *stun = natter_server_config_get_stun (self->config);
  const char * const *turn = natter_server_config_get_turn (self->config);
  const char *secret = natter_server_config_get_turn_secret (self->config);

  if (stun[0] != NULL)
    {
      JsonObject *server = json_object_new ();
      JsonArray *urls = json_array_new ();

      for (guint i = 0; stun[i] != NULL; i++)
        json_array_add_string_element (urls, stun[i]);
      json_object_set_array_member (server, "urls", urls);
      json_array_add_object_element (servers, server);
    }

  if (turn[0] != NULL)
    {
      JsonObject *server = json_object_new ();
      JsonArray *urls = json_array_new ();

      for (guint i = 0; turn[i] != NULL; i++)
        json_array_add_string_element (urls, turn[i]);
      json_object_set_array_member (server, "urls", urls);

      if (secret != NULL)
        {
          g_autofree char *username = NULL;
          g_autofree char *credential = NULL;
          gint64 expires = _natter_server_unix_now () +
                           natter_server_config_get_turn_ttl (self->config);

          natter_turn_credentials (secret, user, expires, &username, &credential);
          json_object_set_string_member (server, "username", username);
          json_object_set_string_member (server, "credential", credential);
        }
      json_array_add_object_element (servers, server);
    }

  return servers;
}

void
_natter_server_set_ice_members (NatterServerShard *self,
                                NatterFrame  *frame,
                                const char   *user)
{
  natter_frame_take_array (frame, "ice_servers", ice_servers_new (self, user));
  natter_frame_set_int (frame, "ice_ttl_s", natter_server_config_get_turn_ttl (self->config));
}

/* Rooms */

static char *
room_event_new (NatterFrameType  type,
                const char      *room,
                const char      *user)
{
  g_autoptr(NatterFrame) frame = natter_frame_new (type);

  natter_frame_set_string (frame, "room", room);
  natter_frame_set_string (frame, "user", user);

  return natter_frame_to_string (frame, NULL);
}

/* Under the directory lock: the keys of @room's members but @except. */
static GArray *
room_keys (NatterServerRoom *room,
           NatterServerKey   except)
{
  GArray *keys = g_array_sized_new (FALSE, FALSE, sizeof (NatterServerKey), room->members->len);

  for (guint i = 0; i < room->members->len; i++)
    {
      NatterServerRoomMember *member = &g_array_index (room->members, NatterServerRoomMember, i);

      if (member->key != except)
        g_array_append_val (keys, member->key);
    }

  return keys;
}

/* Takes @connection out of @room and tells the other members. The caller
 * has taken @room out of the connection's list already. */
void
_natter_server_room_leave (NatterServerShard      *self,
                           NatterServerRoom       *room,
                           NatterServerConnection *connection)
{
  NatterServer *server = self->server;
  NatterServerKey key = natter_server_connection_get_key (connection);
  /* The room outlives this: the connection was still a member. */
  g_autofree char *text = room_event_new (NATTER_FRAME_ROOM_MEMBER_LEFT, room->name,
                                          natter_server_connection_get_user (connection));
  GArray *keys;

  pthread_rwlock_wrlock (&server->directory_lock);
  for (guint i = 0; i < room->members->len; i++)
    {
      NatterServerRoomMember *member = &g_array_index (room->members, NatterServerRoomMember, i);

      if (member->key == key)
        {
          g_free (member->user);
          g_array_remove_index_fast (room->members, i);
          break;
        }
    }
  keys = room_keys (room, key);
  if (server->cluster != NULL)
    natter_server_cluster_room_leave (server->cluster, room->name,
                                      natter_server_connection_get_user (connection));
  if (room->members->len == 0)
    g_hash_table_remove (server->rooms, room->name);
  pthread_rwlock_unlock (&server->directory_lock);

  _natter_server_send_to_keys (self, keys, text);
}

/* A member of another server of the cluster joined or left @name: the
 * members here hear it. */
void
_natter_server_room_event_from_cluster (NatterServerShard *self,
                                        const char        *name,
                                        const char        *user,
                                        gboolean           joined)
{
  NatterServer *server = self->server;
  g_autofree char *text = room_event_new (joined ? NATTER_FRAME_ROOM_MEMBER_JOINED
                                                 : NATTER_FRAME_ROOM_MEMBER_LEFT,
                                          name, user);
  NatterServerRoom *room;
  GArray *keys = NULL;

  pthread_rwlock_rdlock (&server->directory_lock);
  room = g_hash_table_lookup (server->rooms, name);
  if (room != NULL)
    keys = room_keys (room, 0);
  pthread_rwlock_unlock (&server->directory_lock);

  _natter_server_send_to_keys (self, keys, text);
}

static NatterServerRoom *
find_joined_room (NatterServerConnection *connection,
                  const char             *name)
{
  GPtrArray *rooms = natter_server_connection_get_rooms (connection, FALSE);

  for (guint i = 0; rooms != NULL && i < rooms->len; i++)
    {
      NatterServerRoom *room = rooms->pdata[i];

      if (g_str_equal (room->name, name))
        return room;
    }

  return NULL;
}

static void
send_room_members (NatterServerShard      *self,
                   NatterServerConnection *connection,
                   NatterFrame            *request,
                   NatterServerRoom       *room)
{
  g_autoptr(NatterFrame) reply = _natter_server_reply_new (NATTER_FRAME_ROOM_MEMBERS, request);
  JsonArray *members;

  pthread_rwlock_rdlock (&self->server->directory_lock);
  members = json_array_sized_new (room->members->len);
  for (guint i = 0; i < room->members->len; i++)
    json_array_add_string_element (members,
                                   g_array_index (room->members, NatterServerRoomMember, i).user);
  pthread_rwlock_unlock (&self->server->directory_lock);

  /* and those of the other servers of a cluster */
  if (self->server->cluster != NULL)
    {
      g_autoptr(GPtrArray) others = natter_server_cluster_room_members (self->server->cluster,
                                                                        room->name);

      for (guint i = 0; i < others->len; i++)
        json_array_add_string_element (members, others->pdata[i]);
    }

  natter_frame_set_string (reply, "room", room->name);
  natter_frame_take_array (reply, "members", members);
  natter_server_connection_send_frame (connection, reply);
}

/* A delivered answer is done with. */
static void
delete_invitation (NatterServerShard            *self,
                   const NatterServerInvitation *invitation)
{
  g_autoptr(GError) error = NULL;

  if (self->server->cluster != NULL)
    natter_server_cluster_delete_invitation (self->server->cluster, invitation->id,
                                             invitation->from);
  else if (!natter_server_store_delete_invitation (self->store, invitation->id, &error))
    _natter_server_log_internal_error ("Deleting a delivered invitation", error);
}

static void
send_pending (NatterServerShard      *self,
              NatterServerConnection *connection,
              GPtrArray              *incoming,
              GPtrArray              *answers)
{
  for (guint i = 0; i < incoming->len; i++)
    send_invitation (connection, NATTER_FRAME_INVITATION, incoming->pdata[i]);

  for (guint i = 0; i < answers->len; i++)
    {
      send_invitation (connection, NATTER_FRAME_INVITATION_ANSWER, answers->pdata[i]);
      delete_invitation (self, answers->pdata[i]);
    }
}

static void
on_cluster_pending (gpointer      data,
                    GPtrArray    *incoming,
                    GPtrArray    *outgoing,
                    GPtrArray    *answers,
                    const GError *error)
{
  ClusterReply *reply = data;

  if (error != NULL)
    _natter_server_log_internal_error ("Listing invitations", error);
  else if (!natter_server_connection_is_closing (reply->connection))
    send_pending (reply->shard, reply->connection, incoming, answers);
}

void
_natter_server_deliver_pending (NatterServerShard      *self,
                                NatterServerConnection *connection,
                                const char             *user)
{
  g_autoptr(GPtrArray) incoming = NULL;
  g_autoptr(GPtrArray) answers = NULL;
  g_autoptr(GError) error = NULL;
  gint64 now = _natter_server_unix_now ();

  if (self->server->cluster != NULL)
    {
      natter_server_cluster_list_invitations (self->server->cluster, user, now, on_cluster_pending,
                                              cluster_reply_new (self, connection, NULL),
                                              cluster_reply_free);
      return;
    }

  incoming = natter_server_store_list_pending (self->store, user, TRUE, now, &error);
  if (incoming != NULL)
    answers = natter_server_store_list_answers (self->store, user, &error);
  if (answers == NULL)
    {
      _natter_server_log_internal_error ("Listing invitations", error);
      return;
    }

  send_pending (self, connection, incoming, answers);
}

/* The invitation was made (or updated), or why not. */
static void
invited (NatterServerShard            *self,
         NatterServerConnection       *connection,
         NatterFrame                  *frame,
         const NatterServerInvitation *invitation,
         const GError                 *error)
{
  g_autoptr(NatterFrame) reply = NULL;

  if (invitation == NULL)
    {
      if (g_error_matches (error, NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_RECIPIENT_FULL))
        NATTER_SERVER_COUNT (self->counters.recipient_full);
      _natter_server_send_gerror (self, connection, frame, error);
      return;
    }

  reply = _natter_server_reply_new (NATTER_FRAME_INVITE_SENT, frame);
  natter_frame_take_object_member (reply, "invitation", invitation_to_json (invitation));
  natter_server_connection_send_frame (connection, reply);

  send_invitation_to_user (self, invitation->to, NATTER_FRAME_INVITATION, invitation);
}

static void
on_cluster_invited (gpointer                      data,
                    const NatterServerInvitation *invitation,
                    const GError                 *error)
{
  ClusterReply *reply = data;

  if (!natter_server_connection_is_closing (reply->connection))
    invited (reply->shard, reply->connection, reply->frame, invitation, error);
}

void
_natter_server_handle_invite (NatterServerShard      *self,
                              NatterServerConnection *connection,
                              NatterFrame            *frame)
{
  const char *from = natter_server_connection_get_user (connection);
  const char *to = natter_frame_get_string (frame, "to");
  const char *text = natter_frame_get_string (frame, "text");
  const char *name = natter_frame_get_string (frame, "name");
  g_autoptr(NatterServerInvitation) invitation = NULL;
  g_autoptr(GError) error = NULL;
  gint64 ttl = natter_server_config_get_invitation_ttl (self->config);
  guint max_per_recipient = natter_server_config_get_max_invitations_per_recipient (self->config);

  if (g_str_equal (from, to))
    {
      _natter_server_send_request_error (self, connection, frame,
                                         NATTER_PROTOCOL_ERROR_INVALID_TARGET,
                                         "One cannot invite oneself");
      return;
    }

  if (name != NULL && *name == '\0')
    name = NULL;

  if (self->server->cluster != NULL)
    {
      natter_server_cluster_invite (self->server->cluster, from, name, to,
                                    text != NULL ? text : "",
                                    _natter_server_unix_now (), ttl, max_per_recipient,
                                    on_cluster_invited, cluster_reply_new (self, connection, frame),
                                    cluster_reply_free);
      return;
    }

  invitation = natter_server_store_invite (self->store, from, name, to, text != NULL ? text : "",
                                           _natter_server_unix_now (), ttl, max_per_recipient,
                                           &error);
  invited (self, connection, frame, invitation, error);
}

/* The answer goes to its sender now if connected here (and is done with),
 * or is fetched by the server of the cluster the sender is on, or waits
 * for the sender to come back. */
static void
deliver_answer (NatterServerShard            *self,
                const NatterServerInvitation *invitation)
{
  if (send_invitation_to_user (self, invitation->from, NATTER_FRAME_INVITATION_ANSWER,
                               invitation))
    delete_invitation (self, invitation);
  else if (self->server->cluster != NULL)
    natter_server_cluster_notify_answers (self->server->cluster, invitation->from);
}

typedef struct
{
  NatterServerShard *shard;
  NatterServerKey key;
} AnswersFetch;

static void
on_answers_fetched (gpointer      data,
                    GPtrArray    *incoming,
                    GPtrArray    *outgoing,
                    GPtrArray    *answers,
                    const GError *error)
{
  AnswersFetch *fetch = data;

  if (error != NULL)
    {
      _natter_server_log_internal_error ("Listing invitation answers", error);
      return;
    }

  for (guint i = 0; i < answers->len; i++)
    {
      g_autoptr(NatterFrame) frame = natter_frame_new (NATTER_FRAME_INVITATION_ANSWER);
      g_autofree char *text = NULL;

      natter_frame_take_object_member (frame, "invitation", invitation_to_json (answers->pdata[i]));
      text = natter_frame_to_string (frame, NULL);
      if (_natter_server_send_to_key (fetch->shard, fetch->key, text))
        delete_invitation (fetch->shard, answers->pdata[i]);
    }
}

/* Another server of the cluster says answers wait for @user, who is
 * connected here: they go to the user, and are done with. */
void
_natter_server_fetch_answers (NatterServerShard *self,
                              const char        *user)
{
  NatterServerConnection *local;
  AnswersFetch *fetch;
  NatterServerKey key;

  if (!_natter_server_find_user (self, user, &local, &key))
    return;

  fetch = g_new (AnswersFetch, 1);
  fetch->shard = self;
  fetch->key = key;
  natter_server_cluster_list_invitations (self->server->cluster, user, _natter_server_unix_now (),
                                          on_answers_fetched, fetch, g_free);
}

/* The invitation was answered, or why not: its sender hears at once if
 * connected, or when back. */
static void
answered (NatterServerShard            *self,
          NatterServerConnection       *connection,
          NatterFrame                  *frame,
          const NatterServerInvitation *invitation,
          const GError                 *error)
{
  if (invitation == NULL)
    {
      _natter_server_send_gerror (self, connection, frame, error);
      return;
    }

  _natter_server_send_reply (connection, NATTER_FRAME_OK, frame);

  deliver_answer (self, invitation);
}

static void
on_cluster_answered (gpointer                      data,
                     const NatterServerInvitation *invitation,
                     const GError                 *error)
{
  ClusterReply *reply = data;

  /* Answered even if the answerer went meanwhile: the sender still hears. */
  if (natter_server_connection_is_closing (reply->connection))
    {
      if (invitation != NULL)
        deliver_answer (reply->shard, invitation);
      return;
    }

  answered (reply->shard, reply->connection, reply->frame, invitation, error);
}

static void
handle_invite_answer (NatterServerShard            *self,
                      NatterServerConnection       *connection,
                      NatterFrame                  *frame,
                      NatterServerInvitationStatus  status)
{
  const char *user = natter_server_connection_get_user (connection);
  const char *id = natter_frame_get_string (frame, "invitation");
  g_autoptr(NatterServerInvitation) invitation = NULL;
  g_autoptr(GError) error = NULL;

  if (self->server->cluster != NULL)
    {
      natter_server_cluster_answer_invitation (self->server->cluster, id, user, status,
                                               _natter_server_unix_now (), on_cluster_answered,
                                               cluster_reply_new (self, connection, frame),
                                               cluster_reply_free);
      return;
    }

  invitation = natter_server_store_answer (self->store, id, user, status,
                                           _natter_server_unix_now (), &error);
  answered (self, connection, frame, invitation, error);
}

void
_natter_server_handle_invite_accept (NatterServerShard      *self,
                                     NatterServerConnection *connection,
                                     NatterFrame            *frame)
{
  handle_invite_answer (self, connection, frame, NATTER_SERVER_INVITATION_ACCEPTED);
}

void
_natter_server_handle_invite_decline (NatterServerShard      *self,
                                      NatterServerConnection *connection,
                                      NatterFrame            *frame)
{
  handle_invite_answer (self, connection, frame, NATTER_SERVER_INVITATION_DECLINED);
}

/* Where a page of the invitations listing starts: after the invitation
 * named by the cursor `i.CREATED.ID` (incoming) or `o.CREATED.ID`
 * (outgoing), in the order of the lists (incoming, then outgoing, each
 * by creation and id), so that answers between two pages shift nothing. */
typedef struct
{
  gboolean outgoing;
  gint64 created;
  char id[NATTER_SERVER_INVITATION_ID_LENGTH + 1];
} InvitationCursor;

static gboolean
parse_cursor (const char       *text,
              InvitationCursor *cursor)
{
  g_auto(GStrv) parts = NULL;

  if (text == NULL)
    return FALSE;

  parts = g_strsplit (text, ".", 3);
  if (g_strv_length (parts) != 3 || (!g_str_equal (parts[0], "i") && !g_str_equal (parts[0], "o")) ||
      !g_ascii_string_to_signed (parts[1], 10, 0, G_MAXINT64, &cursor->created, NULL) ||
      strlen (parts[2]) != NATTER_SERVER_INVITATION_ID_LENGTH)
    return FALSE;

  cursor->outgoing = parts[0][0] == 'o';
  memcpy (cursor->id, parts[2], sizeof cursor->id);

  return TRUE;
}

static gboolean
comes_after (const NatterServerInvitation *invitation,
             gboolean                      outgoing,
             const InvitationCursor       *cursor)
{
  if (outgoing != cursor->outgoing)
    return outgoing;
  if (invitation->created != cursor->created)
    return invitation->created > cursor->created;

  return strcmp (invitation->id, cursor->id) > 0;
}

/* Fills a page from @invitations while the frame stays within @budget
 * bytes; returns FALSE when one did not fit (more pages follow). */
static gboolean
fill_page (GPtrArray              *invitations,
           gboolean                outgoing,
           const InvitationCursor *cursor,
           JsonArray              *page,
           gsize                  *budget,
           guint                  *n_taken,
           const NatterServerInvitation **last)
{
  for (guint i = 0; i < invitations->len; i++)
    {
      const NatterServerInvitation *invitation = invitations->pdata[i];
      g_autoptr(JsonNode) node = NULL;
      g_autofree char *text = NULL;
      gsize size;

      if (cursor != NULL && !comes_after (invitation, outgoing, cursor))
        continue;

      node = json_node_new (JSON_NODE_OBJECT);
      json_node_take_object (node, invitation_to_json (invitation));
      text = json_to_string (node, FALSE);
      size = strlen (text) + 1;

      /* A page holds at least one invitation, however small the frames. */
      if (size > *budget && *n_taken > 0)
        return FALSE;

      json_array_add_element (page, g_steal_pointer (&node));
      *budget = size > *budget ? 0 : *budget - size;
      (*n_taken)++;
      *last = invitation;
    }

  return TRUE;
}

/* Room in a frame for the rest of an invitations page: its type, `ref`
 * (up to 64 bytes, escaped at worst six times over) and `next`. */
#define PAGE_OVERHEAD 640

static void
send_invitations_page (NatterServerShard      *self,
                       NatterServerConnection *connection,
                       NatterFrame            *frame,
                       GPtrArray              *incoming,
                       GPtrArray              *outgoing)
{
  const char *after = natter_frame_get_string (frame, "after");
  g_autoptr(NatterFrame) reply = NULL;
  const NatterServerInvitation *last = NULL;
  InvitationCursor cursor;
  JsonArray *incoming_page;
  JsonArray *outgoing_page;
  gsize budget = self->limits.max_frame_size > PAGE_OVERHEAD
                   ? self->limits.max_frame_size - PAGE_OVERHEAD : 0;
  guint n_taken = 0;
  gboolean complete;

  /* Checked before the lists were asked for */
  if (after != NULL && !parse_cursor (after, &cursor))
    after = NULL;

  incoming_page = json_array_new ();
  outgoing_page = json_array_new ();
  complete = fill_page (incoming, FALSE, after != NULL ? &cursor : NULL, incoming_page, &budget,
                        &n_taken, &last) &&
             fill_page (outgoing, TRUE, after != NULL ? &cursor : NULL, outgoing_page, &budget,
                        &n_taken, &last);

  reply = _natter_server_reply_new (NATTER_FRAME_INVITATIONS, frame);
  natter_frame_take_array (reply, "incoming", incoming_page);
  natter_frame_take_array (reply, "outgoing", outgoing_page);
  if (!complete)
    {
      g_autofree char *next = g_strdup_printf ("%c.%" G_GINT64_FORMAT ".%s",
                                               json_array_get_length (outgoing_page) > 0 ? 'o' : 'i',
                                               last->created, last->id);

      natter_frame_set_string (reply, "next", next);
    }
  natter_server_connection_send_frame (connection, reply);
}

static void
on_cluster_listed (gpointer      data,
                   GPtrArray    *incoming,
                   GPtrArray    *outgoing,
                   GPtrArray    *answers,
                   const GError *error)
{
  ClusterReply *reply = data;

  if (natter_server_connection_is_closing (reply->connection))
    return;

  if (error != NULL)
    _natter_server_send_gerror (reply->shard, reply->connection, reply->frame, error);
  else
    send_invitations_page (reply->shard, reply->connection, reply->frame, incoming, outgoing);
}

void
_natter_server_handle_invitations (NatterServerShard      *self,
                                   NatterServerConnection *connection,
                                   NatterFrame            *frame)
{
  const char *user = natter_server_connection_get_user (connection);
  const char *after = natter_frame_get_string (frame, "after");
  g_autoptr(GPtrArray) incoming = NULL;
  g_autoptr(GPtrArray) outgoing = NULL;
  g_autoptr(GError) error = NULL;
  InvitationCursor cursor;
  gint64 now = _natter_server_unix_now ();

  if (after != NULL && !parse_cursor (after, &cursor))
    {
      _natter_server_send_request_error (self, connection, frame, NATTER_PROTOCOL_ERROR_BAD_FRAME,
                                         "The member 'after' must be a 'next' of this server");
      return;
    }

  if (self->server->cluster != NULL)
    {
      natter_server_cluster_list_invitations (self->server->cluster, user, now,
                                              on_cluster_listed,
                                              cluster_reply_new (self, connection, frame),
                                              cluster_reply_free);
      return;
    }

  incoming = natter_server_store_list_pending (self->store, user, TRUE, now, &error);
  if (incoming != NULL)
    outgoing = natter_server_store_list_pending (self->store, user, FALSE, now, &error);
  if (outgoing == NULL)
    {
      _natter_server_send_gerror (self, connection, frame, error);
      return;
    }

  send_invitations_page (self, connection, frame, incoming, outgoing);
}

static void
send_handle (NatterServerConnection *connection,
             NatterFrame            *request,
             const char             *handle,
             const char             *user)
{
  g_autoptr(NatterFrame) reply = _natter_server_reply_new (NATTER_FRAME_HANDLE, request);

  natter_frame_set_string (reply, "handle", handle);
  natter_frame_set_string (reply, "user", user);
  natter_server_connection_send_frame (connection, reply);
}

/* A handle request answered by the cluster. */
static void
on_cluster_handle (gpointer      data,
                   const char   *owner,
                   const GError *error)
{
  ClusterReply *reply = data;
  const char *user = natter_server_connection_get_user (reply->connection);

  if (natter_server_connection_is_closing (reply->connection))
    return;

  if (error != NULL)
    _natter_server_send_gerror (reply->shard, reply->connection, reply->frame, error);
  else if (natter_frame_get_frame_type (reply->frame) == NATTER_FRAME_HANDLE_RELEASE)
    _natter_server_send_reply (reply->connection, NATTER_FRAME_OK, reply->frame);
  else
    send_handle (reply->connection, reply->frame, reply->handle, owner != NULL ? owner : user);
}

void
_natter_server_handle_handle (NatterServerShard      *self,
                              NatterServerConnection *connection,
                              NatterFrame            *frame)
{
  const char *user = natter_server_connection_get_user (connection);
  NatterServerCluster *cluster = self->server->cluster;
  g_autoptr(GError) error = NULL;
  g_autofree char *handle = NULL;
  g_autofree char *owner = NULL;

  handle = natter_handle_normalize (natter_frame_get_string (frame, "handle"), &error);
  if (handle == NULL)
    {
      _natter_server_send_gerror (self, connection, frame, error);
      return;
    }

  /* In a cluster, handles live in Redis, claimed atomically there. */
  if (cluster != NULL)
    {
      ClusterReply *reply = cluster_reply_new (self, connection, frame);
      NatterServerClusterHandleOp op = NATTER_SERVER_CLUSTER_HANDLE_LOOKUP;

      if (natter_frame_get_frame_type (frame) == NATTER_FRAME_HANDLE_REGISTER)
        op = NATTER_SERVER_CLUSTER_HANDLE_REGISTER;
      else if (natter_frame_get_frame_type (frame) == NATTER_FRAME_HANDLE_RELEASE)
        op = NATTER_SERVER_CLUSTER_HANDLE_RELEASE;

      reply->handle = g_strdup (handle);
      natter_server_cluster_handle (cluster, op, handle, user, on_cluster_handle, reply,
                                    cluster_reply_free);
      return;
    }

  switch ((int) natter_frame_get_frame_type (frame))
    {
    case NATTER_FRAME_HANDLE_REGISTER:
      if (natter_server_store_register_handle (self->store, handle, user, &error))
        send_handle (connection, frame, handle, user);
      break;

    case NATTER_FRAME_HANDLE_LOOKUP:
      owner = natter_server_store_lookup_handle (self->store, handle, &error);
      if (owner != NULL)
        send_handle (connection, frame, handle, owner);
      break;

    case NATTER_FRAME_HANDLE_RELEASE:
      if (natter_server_store_release_handle (self->store, handle, user, &error))
        _natter_server_send_reply (connection, NATTER_FRAME_OK, frame);
      break;

    default:
      g_assert_not_reached ();
    }

  if (error != NULL)
    _natter_server_send_gerror (self, connection, frame, error);
}

void
_natter_server_handle_room_join (NatterServerShard      *self,
                                 NatterServerConnection *connection,
                                 NatterFrame            *frame)
{
  NatterServer *server = self->server;
  const char *name = natter_frame_get_string (frame, "room");
  const char *user = natter_server_connection_get_user (connection);
  GPtrArray *joined = natter_server_connection_get_rooms (connection, TRUE);
  NatterServerRoom *room = find_joined_room (connection, name);
  NatterServerRoomMember member;
  guint max_members = natter_server_config_get_max_room_members (self->config);
  guint elsewhere = 0;
  g_autofree char *text = NULL;
  GArray *keys;

  if (room != NULL)
    {
      send_room_members (self, connection, frame, room);
      return;
    }

  if (joined->len >= ROOMS_PER_CONNECTION_MAX)
    {
      _natter_server_send_request_error (self, connection, frame,
                                         NATTER_PROTOCOL_ERROR_LIMIT_EXCEEDED,
                                         "A connection may be in at most 32 rooms");
      return;
    }

  /* In a cluster the limit is the room's on all servers together, as far
   * as this one knows: joins on two servers at the same moment may pass
   * it by one each. */
  if (server->cluster != NULL)
    elsewhere = natter_server_cluster_room_size (server->cluster, name);

  pthread_rwlock_wrlock (&server->directory_lock);
  room = g_hash_table_lookup (server->rooms, name);
  if ((room != NULL ? room->members->len : 0) + elsewhere >= max_members)
    {
      g_autofree char *message = g_strdup_printf ("A room holds at most %u members", max_members);

      pthread_rwlock_unlock (&server->directory_lock);
      _natter_server_send_request_error (self, connection, frame,
                                         NATTER_PROTOCOL_ERROR_LIMIT_EXCEEDED, message);
      return;
    }
  if (room == NULL)
    {
      room = g_new0 (NatterServerRoom, 1);
      room->name = g_strdup (name);
      room->members = g_array_new (FALSE, FALSE, sizeof (NatterServerRoomMember));
      g_hash_table_insert (server->rooms, room->name, room);
    }

  member.key = natter_server_connection_get_key (connection);
  member.user = g_strdup (user);
  g_array_append_val (room->members, member);
  keys = room_keys (room, member.key);
  pthread_rwlock_unlock (&server->directory_lock);

  g_ptr_array_add (joined, room);
  text = room_event_new (NATTER_FRAME_ROOM_MEMBER_JOINED, name, user);
  _natter_server_send_to_keys (self, keys, text);
  if (server->cluster != NULL)
    natter_server_cluster_room_join (server->cluster, name, user);

  send_room_members (self, connection, frame, room);
}

void
_natter_server_handle_room_leave_or_list (NatterServerShard      *self,
                                          NatterServerConnection *connection,
                                          NatterFrame            *frame)
{
  NatterServerRoom *room = find_joined_room (connection, natter_frame_get_string (frame, "room"));

  if (room == NULL)
    {
      _natter_server_send_request_error (self, connection, frame, NATTER_PROTOCOL_ERROR_NOT_IN_ROOM,
                                         "Not a member of this room");
      return;
    }

  if (natter_frame_get_frame_type (frame) == NATTER_FRAME_ROOM_MEMBERS)
    {
      send_room_members (self, connection, frame, room);
      return;
    }

  g_ptr_array_remove_fast (natter_server_connection_get_rooms (connection, FALSE), room);
  _natter_server_room_leave (self, room, connection);
  _natter_server_send_reply (connection, NATTER_FRAME_OK, frame);
}

void
_natter_server_handle_ice_config (NatterServerShard      *self,
                                  NatterServerConnection *connection,
                                  NatterFrame            *frame)
{
  g_autoptr(NatterFrame) reply = _natter_server_reply_new (NATTER_FRAME_ICE_CONFIG, frame);

  _natter_server_set_ice_members (self, reply, natter_server_connection_get_user (connection));
  natter_server_connection_send_frame (connection, reply);
}
