/* natter-server-cluster-invitations.c: the invitations of a cluster, in Redis
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Behind a load balancer the inviter and the invited may be on different
 * servers, now and each time they come back, so a cluster keeps its
 * invitations in Redis instead of each server's SQLite, with the same
 * rules (natter-server-store.c) made atomic by Lua scripts:
 *
 *   natter:inv:ID          hash: id from to text created expires status
 *                          and from_name when the sender gave one
 *                          (0 pending, 1 accepted, 2 declined), expiring
 *                          when the invitation does (an answer is kept a
 *                          while longer for its sender to come back)
 *   natter:inv-in:USER     sorted set of the IDs sent to USER, by creation
 *   natter:inv-out:USER    sorted set of the IDs USER sent, by creation
 *   natter:inv-pair:A:B    the ID of A's pending invitation to B, so that
 *                          inviting again updates it
 *
 * The sets may name invitations that expired; the scripts drop those as
 * they meet them. Scripts name their keys themselves: the cluster's Redis
 * is one server, not a Redis Cluster.
 */
#define G_LOG_DOMAIN "natter-server"

#include "config.h"

#include <string.h>

#include "natter-protocol.h"

#include "natter-server-cluster-invitations.h"

/* As long as natter-server-store.c keeps an answer for its sender. */
#define ANSWER_RETENTION "2592000"

#define LUA_COMMON \
  "local function inv(id) return 'natter:inv:' .. id end " \
  "local function extend(key, at) " \
  "  if redis.call('expiretime', key) < at then redis.call('expireat', key, at) end end " \
  "local function live(set, now, wanted) " \
  "  local found = {} " \
  "  for _, id in ipairs(redis.call('zrange', set, 0, -1)) do " \
  "    local f = redis.call('hmget', inv(id), 'status', 'expires') " \
  "    if not f[1] then redis.call('zrem', set, id) " \
  "    elseif wanted(f[1], tonumber(f[2])) then " \
  "      found[#found + 1] = redis.call('hgetall', inv(id)) end end " \
  "  return found end " \
  "local function pending(status, expires) return status == '0' and expires > now end "

/* ARGV: from to text now ttl max-per-recipient max-per-sender new-id
 * from-name (empty: none) */
static const char INVITE[] =
  "local from, to, text = ARGV[1], ARGV[2], ARGV[3] "
  "local now = tonumber(ARGV[4]) "
  "local expires = now + tonumber(ARGV[5]) "
  LUA_COMMON
  "local pair = 'natter:inv-pair:' .. from .. ':' .. to "
  "local old = redis.call('get', pair) "
  "if old then "
  "  local f = redis.call('hmget', inv(old), 'status', 'expires') "
  "  if f[1] and pending(f[1], tonumber(f[2])) then "
  "    redis.call('hset', inv(old), 'text', text, 'expires', expires) "
  "    if ARGV[9] ~= '' then redis.call('hset', inv(old), 'from_name', ARGV[9]) "
  "    else redis.call('hdel', inv(old), 'from_name') end "
  "    redis.call('expireat', inv(old), expires) "
  "    redis.call('expireat', pair, expires) "
  "    extend('natter:inv-in:' .. to, expires) extend('natter:inv-out:' .. from, expires) "
  "    return redis.call('hgetall', inv(old)) end end "
  "if #live('natter:inv-out:' .. from, now, pending) >= tonumber(ARGV[7]) then "
  "  return {err='limit-exceeded'} end "
  "if #live('natter:inv-in:' .. to, now, pending) >= tonumber(ARGV[6]) then "
  "  return {err='recipient-full'} end "
  "local id = ARGV[8] "
  "redis.call('hset', inv(id), 'id', id, 'from', from, 'to', to, 'text', text, "
  "           'created', now, 'expires', expires, 'status', '0') "
  "if ARGV[9] ~= '' then redis.call('hset', inv(id), 'from_name', ARGV[9]) end "
  "redis.call('expireat', inv(id), expires) "
  "redis.call('zadd', 'natter:inv-in:' .. to, now, id) "
  "redis.call('zadd', 'natter:inv-out:' .. from, now, id) "
  "extend('natter:inv-in:' .. to, expires) extend('natter:inv-out:' .. from, expires) "
  "redis.call('set', pair, id, 'exat', expires) "
  "return redis.call('hgetall', inv(id))";

/* ARGV: id recipient status now */
static const char ANSWER[] =
  "local now = tonumber(ARGV[4]) "
  LUA_COMMON
  "local key = inv(ARGV[1]) "
  "local f = redis.call('hmget', key, 'status', 'expires', 'to', 'from') "
  "if not f[1] or not pending(f[1], tonumber(f[2])) or f[3] ~= ARGV[2] then "
  "  return {err='not-found'} end "
  "redis.call('hset', key, 'status', ARGV[3]) "
  "redis.call('expireat', key, tonumber(f[2]) + " ANSWER_RETENTION ") "
  "extend('natter:inv-out:' .. f[4], tonumber(f[2]) + " ANSWER_RETENTION ") "
  "redis.call('zrem', 'natter:inv-in:' .. f[3], ARGV[1]) "
  "redis.call('del', 'natter:inv-pair:' .. f[4] .. ':' .. f[3]) "
  "return redis.call('hgetall', key)";

/* ARGV: user now; returns {incoming, outgoing, answers} */
static const char LISTS[] =
  "local now = tonumber(ARGV[2]) "
  LUA_COMMON
  "local function answered(status, expires) return status ~= '0' end "
  "return { live('natter:inv-in:' .. ARGV[1], now, pending), "
  "         live('natter:inv-out:' .. ARGV[1], now, pending), "
  "         live('natter:inv-out:' .. ARGV[1], now, answered) }";

/* ARGV: id sender */
static const char DELETE[] =
  "redis.call('zrem', 'natter:inv-out:' .. ARGV[2], ARGV[1]) "
  "return redis.call('del', 'natter:inv:' .. ARGV[1])";

/* Replies */

static gboolean
parse_int (const char *text,
           gint64     *value)
{
  return text != NULL && g_ascii_string_to_signed (text, 10, 0, G_MAXINT64, value, NULL);
}

/* An invitation from HGETALL's flat field/value list; NULL if it is not
 * one of ours, whole. */
static NatterServerInvitation *
invitation_from_node (JsonNode *node)
{
  g_autoptr(NatterServerInvitation) invitation = g_new0 (NatterServerInvitation, 1);
  JsonArray *fields;
  const char *id = NULL;
  const char *status = NULL;
  const char *created = NULL;
  const char *expires = NULL;
  gint64 status_value;

  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    return NULL;

  fields = json_node_get_array (node);
  for (guint i = 0; i + 1 < json_array_get_length (fields); i += 2)
    {
      const char *name = json_array_get_string_element (fields, i);
      const char *value = json_array_get_string_element (fields, i + 1);

      if (name == NULL || value == NULL)
        return NULL;
      if (g_str_equal (name, "id"))
        id = value;
      else if (g_str_equal (name, "from"))
        invitation->from = g_strdup (value);
      else if (g_str_equal (name, "to"))
        invitation->to = g_strdup (value);
      else if (g_str_equal (name, "text"))
        invitation->text = g_strdup (value);
      else if (g_str_equal (name, "from_name"))
        invitation->from_name = g_strdup (value);
      else if (g_str_equal (name, "created"))
        created = value;
      else if (g_str_equal (name, "expires"))
        expires = value;
      else if (g_str_equal (name, "status"))
        status = value;
    }

  if (id == NULL || strlen (id) != NATTER_SERVER_INVITATION_ID_LENGTH ||
      !natter_user_id_is_valid (invitation->from) || !natter_user_id_is_valid (invitation->to) ||
      invitation->text == NULL || !parse_int (created, &invitation->created) ||
      !parse_int (expires, &invitation->expires) || !parse_int (status, &status_value) ||
      status_value > NATTER_SERVER_INVITATION_DECLINED)
    return NULL;

  memcpy (invitation->id, id, sizeof invitation->id);
  invitation->status = status_value;

  return g_steal_pointer (&invitation);
}

static GPtrArray *
invitations_from_node (JsonNode *node)
{
  GPtrArray *invitations = g_ptr_array_new_with_free_func (
    (GDestroyNotify) natter_server_invitation_free);
  JsonArray *array = node != NULL && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node)
                                                                   : NULL;

  for (guint i = 0; array != NULL && i < json_array_get_length (array); i++)
    {
      NatterServerInvitation *invitation = invitation_from_node (json_array_get_element (array, i));

      if (invitation != NULL)
        g_ptr_array_add (invitations, invitation);
    }

  return invitations;
}

typedef struct
{
  NatterServerClusterInvitationFunc done;
  NatterServerClusterInvitationListsFunc done_lists;
  gpointer data;
  GDestroyNotify destroy;
  guint max_per_recipient;
} Call;

static Call *
call_new (gpointer       data,
          GDestroyNotify destroy)
{
  Call *call = g_new0 (Call, 1);

  call->data = data;
  call->destroy = destroy;

  return call;
}

static void
call_free (gpointer data)
{
  Call *call = data;

  if (call->destroy != NULL)
    call->destroy (call->data);
  g_free (call);
}

/* The store's words for its refusals, so that a cluster answers as one
 * server does. */
static GError *
refusal_in_words (const GError *error,
                  guint         max_per_recipient)
{
  if (g_error_matches (error, NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_LIMIT_EXCEEDED))
    return g_error_new (NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_LIMIT_EXCEEDED,
                        "At most %d invitations may be pending",
                        NATTER_SERVER_MAX_PENDING_INVITATIONS);
  if (g_error_matches (error, NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_RECIPIENT_FULL))
    return g_error_new (NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_RECIPIENT_FULL,
                        "The recipient already has %u pending invitations; try again later",
                        max_per_recipient);
  if (g_error_matches (error, NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_NOT_FOUND))
    return g_error_new_literal (NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_NOT_FOUND,
                                "No such pending invitation");

  return g_error_copy (error);
}

static void
on_invitation_reply (gpointer      data,
                     JsonNode     *reply,
                     const GError *error)
{
  Call *call = data;
  g_autoptr(NatterServerInvitation) invitation = NULL;
  g_autoptr(GError) local_error = NULL;

  if (error != NULL)
    local_error = refusal_in_words (error, call->max_per_recipient);
  else if ((invitation = invitation_from_node (reply)) == NULL)
    local_error = g_error_new_literal (NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_INTERNAL,
                                       "The server failed; nothing changed");

  call->done (call->data, invitation, local_error);
}

/**
 * natter_server_cluster_invite:
 * @done: called in the caller's thread-default context
 *
 * What natter_server_store_invite() does, for the whole cluster.
 */
void
natter_server_cluster_invite (NatterServerCluster               *self,
                              const char                        *from,
                              const char                        *from_name,
                              const char                        *to,
                              const char                        *text,
                              gint64                             now,
                              gint64                             ttl,
                              guint                              max_per_recipient,
                              NatterServerClusterInvitationFunc  done,
                              gpointer                           data,
                              GDestroyNotify                     destroy)
{
  Call *call = call_new (data, destroy);
  guint8 bytes[NATTER_SERVER_INVITATION_ID_LENGTH / 2];
  char id[NATTER_SERVER_INVITATION_ID_LENGTH + 1];
  g_autofree char *now_text = g_strdup_printf ("%" G_GINT64_FORMAT, now);
  g_autofree char *ttl_text = g_strdup_printf ("%" G_GINT64_FORMAT, ttl);
  g_autofree char *max_text = g_strdup_printf ("%u", max_per_recipient);
  g_autofree char *max_sender_text = g_strdup_printf ("%d", NATTER_SERVER_MAX_PENDING_INVITATIONS);
  const char *argv[] = { "EVAL", INVITE, "0", from, to, text, now_text, ttl_text, max_text,
                         max_sender_text, id, from_name != NULL ? from_name : "", NULL };

  natter_random_bytes (bytes, sizeof bytes);
  for (guint i = 0; i < sizeof bytes; i++)
    g_snprintf (id + 2 * i, 3, "%02x", bytes[i]);

  call->done = done;
  call->max_per_recipient = max_per_recipient;
  natter_server_cluster_command (self, argv, on_invitation_reply, call, call_free);
}

/**
 * natter_server_cluster_answer_invitation:
 * @done: called in the caller's thread-default context
 *
 * What natter_server_store_answer() does, for the whole cluster.
 */
void
natter_server_cluster_answer_invitation (NatterServerCluster               *self,
                                         const char                        *id,
                                         const char                        *recipient,
                                         NatterServerInvitationStatus       status,
                                         gint64                             now,
                                         NatterServerClusterInvitationFunc  done,
                                         gpointer                           data,
                                         GDestroyNotify                     destroy)
{
  Call *call = call_new (data, destroy);
  g_autofree char *status_text = g_strdup_printf ("%d", (int) status);
  g_autofree char *now_text = g_strdup_printf ("%" G_GINT64_FORMAT, now);
  const char *argv[] = { "EVAL", ANSWER, "0", id, recipient, status_text, now_text, NULL };

  call->done = done;
  natter_server_cluster_command (self, argv, on_invitation_reply, call, call_free);
}

static void
on_lists_reply (gpointer      data,
                JsonNode     *reply,
                const GError *error)
{
  Call *call = data;
  g_autoptr(GPtrArray) incoming = NULL;
  g_autoptr(GPtrArray) outgoing = NULL;
  g_autoptr(GPtrArray) answers = NULL;
  JsonArray *lists;

  if (error != NULL)
    {
      call->done_lists (call->data, NULL, NULL, NULL, error);
      return;
    }

  if (!JSON_NODE_HOLDS_ARRAY (reply) || json_array_get_length (json_node_get_array (reply)) != 3)
    {
      g_autoptr(GError) failed = g_error_new_literal (NATTER_PROTOCOL_ERROR,
                                                      NATTER_PROTOCOL_ERROR_INTERNAL,
                                                      "The server failed");

      call->done_lists (call->data, NULL, NULL, NULL, failed);
      return;
    }

  lists = json_node_get_array (reply);
  incoming = invitations_from_node (json_array_get_element (lists, 0));
  outgoing = invitations_from_node (json_array_get_element (lists, 1));
  answers = invitations_from_node (json_array_get_element (lists, 2));
  call->done_lists (call->data, incoming, outgoing, answers, NULL);
}

/**
 * natter_server_cluster_list_invitations:
 * @done: called in the caller's thread-default context
 *
 * What natter_server_store_list_pending() (both ways) and
 * natter_server_store_list_answers() give, for the whole cluster, at once.
 */
void
natter_server_cluster_list_invitations (NatterServerCluster                    *self,
                                        const char                             *user,
                                        gint64                                  now,
                                        NatterServerClusterInvitationListsFunc  done,
                                        gpointer                                data,
                                        GDestroyNotify                          destroy)
{
  Call *call = call_new (data, destroy);
  g_autofree char *now_text = g_strdup_printf ("%" G_GINT64_FORMAT, now);
  const char *argv[] = { "EVAL", LISTS, "0", user, now_text, NULL };

  call->done_lists = done;
  natter_server_cluster_command (self, argv, on_lists_reply, call, call_free);
}

static void
on_deleted (gpointer      data,
            JsonNode     *reply,
            const GError *error)
{
  if (error != NULL)
    g_message ("Could not delete a delivered invitation: %s", error->message);
}

/* An answer reached its sender: it goes. */
void
natter_server_cluster_delete_invitation (NatterServerCluster *self,
                                         const char          *id,
                                         const char          *sender)
{
  const char *argv[] = { "EVAL", DELETE, "0", id, sender, NULL };

  natter_server_cluster_command (self, argv, on_deleted, NULL, NULL);
}
