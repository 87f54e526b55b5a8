/* natter-client-rooms.c: rooms and presence queries, which the server offers
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A room is a name people join on the server to see who else is there: a
 * way to meet before becoming contacts. Membership lasts as long as the
 * connection to the server.
 */
#define G_LOG_DOMAIN "natter-client"

#include "config.h"

#include "natter-client-private.h"
#include "natter-protocol.h"

void
_natter_client_room_frame (NatterClient *self,
                           NatterFrame  *frame)
{
  const char *room = natter_frame_get_string (frame, "room");
  const char *user = natter_frame_get_string (frame, "user");

  if (room == NULL || user == NULL)
    return;

  g_signal_emit (self, _natter_client_signals[ROOM_EVENT], 0, room, user,
                 natter_frame_get_frame_type (frame) == NATTER_FRAME_ROOM_MEMBER_JOINED);
}

/* The strings of @array, or an empty list */
static char **
strv_of_array (JsonArray *array)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  for (guint i = 0; array != NULL && i < json_array_get_length (array); i++)
    {
      JsonNode *node = json_array_get_element (array, i);

      if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING)
        g_strv_builder_add (builder, json_node_get_string (node));
    }

  return g_strv_builder_end (builder);
}

static void
on_room_joined (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(NatterFrame) reply = _natter_client_request_finish (task, source, result);

  if (reply != NULL)
    g_task_return_pointer (task, strv_of_array (natter_frame_get_array (reply, "members")),
                           (GDestroyNotify) g_strfreev);
}

/**
 * natter_client_join_room_async:
 * @self: a #NatterClient
 * @room: a room name (natter_room_name_is_valid())
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the members
 * @user_data: data for @callback
 *
 * Joins @room until natter_client_leave_room() or the connection ends;
 * NatterClient::room-event says who comes and goes meanwhile.
 */
void
natter_client_join_room_async (NatterClient        *self,
                               const char          *room,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(NatterFrame) frame = NULL;

  g_return_if_fail (NATTER_IS_CLIENT (self));
  g_return_if_fail (room != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, natter_client_join_room_async);
  if (!_natter_client_check_server (self, task))
    return;

  frame = natter_frame_new (NATTER_FRAME_ROOM_JOIN);
  natter_frame_set_string (frame, "room", room);
  natter_signaling_request_async (self->signaling, frame, cancellable, on_room_joined,
                                  g_steal_pointer (&task));
}

/**
 * natter_client_join_room_finish:
 * @self: a #NatterClient
 * @result: the result
 * @error: a #GError
 *
 * Returns: (transfer full) (array zero-terminated=1): the user IDs in the
 *   room, ourselves among them, or %NULL with @error set
 */
char **
natter_client_join_room_finish (NatterClient  *self,
                                GAsyncResult  *result,
                                GError       **error)
{
  return _natter_client_task_finish (self, result, error);
}

/**
 * natter_client_leave_room:
 * @self: a #NatterClient
 * @room: a room joined with natter_client_join_room_async()
 *
 * Leaves @room; nothing to wait for.
 */
void
natter_client_leave_room (NatterClient *self,
                          const char   *room)
{
  g_autoptr(NatterFrame) frame = NULL;

  g_return_if_fail (NATTER_IS_CLIENT (self));
  g_return_if_fail (room != NULL);

  if (self->signaling == NULL)
    return;

  frame = natter_frame_new (NATTER_FRAME_ROOM_LEAVE);
  natter_frame_set_string (frame, "room", room);
  natter_signaling_request_async (self->signaling, frame, NULL, NULL, NULL);
}

static void
on_presence_listed (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(NatterFrame) reply = NULL;
  g_autoptr(GStrvBuilder) online = g_strv_builder_new ();
  JsonArray *presence;

  reply = _natter_client_request_finish (task, source, result);
  if (reply == NULL)
    return;

  presence = natter_frame_get_array (reply, "presence");
  for (guint i = 0; presence != NULL && i < json_array_get_length (presence); i++)
    {
      JsonObject *entry = json_array_get_object_element (presence, i);
      const char *user;

      if (entry == NULL || !json_object_get_boolean_member_with_default (entry, "online", FALSE))
        continue;
      user = json_object_get_string_member_with_default (entry, "user", NULL);
      if (user != NULL)
        g_strv_builder_add (online, user);
    }

  g_task_return_pointer (task, g_strv_builder_end (online), (GDestroyNotify) g_strfreev);
}

/**
 * natter_client_query_presence_async:
 * @self: a #NatterClient
 * @users: (array zero-terminated=1): user IDs, at most
 *   %NATTER_SUBSCRIPTIONS_MAX of them
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the answer
 * @user_data: data for @callback
 *
 * Asks the server who of @users is online now, for a command that prints
 * it once rather than waiting for presence to come in.
 */
void
natter_client_query_presence_async (NatterClient        *self,
                                    const char * const  *users,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(NatterFrame) frame = NULL;
  JsonArray *array;

  g_return_if_fail (NATTER_IS_CLIENT (self));
  g_return_if_fail (users != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, natter_client_query_presence_async);

  /* On the local network, who is linked now is known here */
  if (self->lan != NULL)
    {
      g_autoptr(GStrvBuilder) online = g_strv_builder_new ();

      for (guint i = 0; users[i] != NULL; i++)
        if (natter_lan_is_nearby (self->lan, users[i]))
          g_strv_builder_add (online, users[i]);
      g_task_return_pointer (task, g_strv_builder_end (online), (GDestroyNotify) g_strfreev);
      return;
    }

  if (!_natter_client_check_server (self, task))
    return;

  frame = natter_frame_new (NATTER_FRAME_SUBSCRIBE);
  array = json_array_new ();
  for (guint i = 0; users[i] != NULL && i < NATTER_SUBSCRIPTIONS_MAX; i++)
    json_array_add_string_element (array, users[i]);
  natter_frame_take_array (frame, "users", array);
  natter_signaling_request_async (self->signaling, frame, cancellable, on_presence_listed,
                                  g_steal_pointer (&task));
}

/**
 * natter_client_query_presence_finish:
 * @self: a #NatterClient
 * @result: the result
 * @error: a #GError
 *
 * Returns: (transfer full) (array zero-terminated=1): those of the users
 *   asked about who are online
 */
char **
natter_client_query_presence_finish (NatterClient  *self,
                                     GAsyncResult  *result,
                                     GError       **error)
{
  return _natter_client_task_finish (self, result, error);
}
