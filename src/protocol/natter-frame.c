/* natter-frame.c: signaling frames, parsed, validated and serialized
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "natter-protocol"

#include "config.h"

#include <string.h>

#include "natter-frame.h"
#include "natter-schema-private.h"
#include "natter-user-id.h"

/* Anything longer than this is not a plausible signature or nonce. */
#define SHORT_STRING_MAX 256
#define INVITATION_ID_MAX 64

struct _NatterFrame
{
  gatomicrefcount  ref_count;
  NatterFrameType  type;
  JsonObject      *object;
};

G_DEFINE_BOXED_TYPE (NatterFrame, natter_frame, natter_frame_ref, natter_frame_unref)

typedef struct
{
  NatterFrameType       type;
  NatterFrameDirection  direction;
  MemberSpec            members[5];
} FrameSpec;

static const char * const type_names[NATTER_FRAME_N_TYPES] = {
  [NATTER_FRAME_INVALID] = NULL,
  [NATTER_FRAME_SIGNAL] = "signal",
  [NATTER_FRAME_INVITATIONS] = "invitations",
  [NATTER_FRAME_ROOM_MEMBERS] = "room-members",
  [NATTER_FRAME_ICE_CONFIG] = "ice-config",
  [NATTER_FRAME_AUTH] = "auth",
  [NATTER_FRAME_PING] = "ping",
  [NATTER_FRAME_SUBSCRIBE] = "subscribe",
  [NATTER_FRAME_UNSUBSCRIBE] = "unsubscribe",
  [NATTER_FRAME_INVITE] = "invite",
  [NATTER_FRAME_INVITE_ACCEPT] = "invite-accept",
  [NATTER_FRAME_INVITE_DECLINE] = "invite-decline",
  [NATTER_FRAME_HANDLE_REGISTER] = "handle-register",
  [NATTER_FRAME_HANDLE_LOOKUP] = "handle-lookup",
  [NATTER_FRAME_HANDLE_RELEASE] = "handle-release",
  [NATTER_FRAME_ROOM_JOIN] = "room-join",
  [NATTER_FRAME_ROOM_LEAVE] = "room-leave",
  [NATTER_FRAME_HELLO] = "hello",
  [NATTER_FRAME_AUTH_OK] = "auth-ok",
  [NATTER_FRAME_PONG] = "pong",
  [NATTER_FRAME_PRESENCE_LIST] = "presence-list",
  [NATTER_FRAME_PRESENCE] = "presence",
  [NATTER_FRAME_INVITE_SENT] = "invite-sent",
  [NATTER_FRAME_INVITATION] = "invitation",
  [NATTER_FRAME_INVITATION_ANSWER] = "invitation-answer",
  [NATTER_FRAME_HANDLE] = "handle",
  [NATTER_FRAME_ROOM_MEMBER_JOINED] = "room-member-joined",
  [NATTER_FRAME_ROOM_MEMBER_LEFT] = "room-member-left",
  [NATTER_FRAME_OK] = "ok",
  [NATTER_FRAME_ERROR] = "error",
};

#define TO_SERVER NATTER_FRAME_TO_SERVER
#define TO_CLIENT NATTER_FRAME_TO_CLIENT

/* What each frame must carry, per direction; docs/protocol.md in table form. */
static const FrameSpec frame_specs[] = {
  /* Client to server */
  { NATTER_FRAME_AUTH, TO_SERVER, {
      { "user", M_STRING, TRUE, SHORT_STRING_MAX },
      { "server", M_STRING, TRUE, SHORT_STRING_MAX },
      { "signature", M_STRING, TRUE, SHORT_STRING_MAX } } },
  { NATTER_FRAME_PING, TO_SERVER, { { NULL } } },
  { NATTER_FRAME_SUBSCRIBE, TO_SERVER, {
      { "users", M_USER_ARRAY, TRUE, NATTER_SUBSCRIPTIONS_MAX } } },
  { NATTER_FRAME_UNSUBSCRIBE, TO_SERVER, {
      { "users", M_USER_ARRAY, TRUE, NATTER_SUBSCRIPTIONS_MAX } } },
  { NATTER_FRAME_SIGNAL, TO_SERVER, {
      { "to", M_USER, TRUE, 0 },
      { "payload", M_OBJECT, TRUE, 0 } } },
  { NATTER_FRAME_INVITE, TO_SERVER, {
      { "to", M_USER, TRUE, 0 },
      { "text", M_STRING, FALSE, NATTER_INVITATION_TEXT_MAX },
      { "name", M_STRING, FALSE, NATTER_INVITATION_NAME_MAX } } },
  { NATTER_FRAME_INVITE_ACCEPT, TO_SERVER, {
      { "invitation", M_STRING, TRUE, INVITATION_ID_MAX } } },
  { NATTER_FRAME_INVITE_DECLINE, TO_SERVER, {
      { "invitation", M_STRING, TRUE, INVITATION_ID_MAX } } },
  { NATTER_FRAME_INVITATIONS, TO_SERVER, {
      { "after", M_STRING, FALSE, SHORT_STRING_MAX } } },
  { NATTER_FRAME_HANDLE_REGISTER, TO_SERVER, { { "handle", M_HANDLE, TRUE, 0 } } },
  { NATTER_FRAME_HANDLE_LOOKUP, TO_SERVER, { { "handle", M_HANDLE, TRUE, 0 } } },
  { NATTER_FRAME_HANDLE_RELEASE, TO_SERVER, { { "handle", M_HANDLE, TRUE, 0 } } },
  { NATTER_FRAME_ROOM_JOIN, TO_SERVER, { { "room", M_ROOM, TRUE, 0 } } },
  { NATTER_FRAME_ROOM_LEAVE, TO_SERVER, { { "room", M_ROOM, TRUE, 0 } } },
  { NATTER_FRAME_ROOM_MEMBERS, TO_SERVER, { { "room", M_ROOM, TRUE, 0 } } },
  { NATTER_FRAME_ICE_CONFIG, TO_SERVER, { { NULL } } },

  /* Server to client */
  { NATTER_FRAME_HELLO, TO_CLIENT, {
      { "version", M_INT, TRUE, 0 },
      { "nonce", M_STRING, TRUE, SHORT_STRING_MAX },
      { "max_frame_size", M_INT, TRUE, 0 },
      { "auth_timeout_s", M_INT, FALSE, 0 },
      { "server", M_STRING, FALSE, SHORT_STRING_MAX } } },
  { NATTER_FRAME_AUTH_OK, TO_CLIENT, {
      { "user", M_USER, TRUE, 0 },
      { "ice_servers", M_ARRAY, TRUE, 0 },
      { "ice_ttl_s", M_INT, FALSE, 0 },
      { "heartbeat_s", M_INT, FALSE, 0 } } },
  { NATTER_FRAME_PONG, TO_CLIENT, { { NULL } } },
  { NATTER_FRAME_PRESENCE_LIST, TO_CLIENT, { { "presence", M_ARRAY, TRUE, 0 } } },
  { NATTER_FRAME_PRESENCE, TO_CLIENT, {
      { "user", M_USER, TRUE, 0 },
      { "online", M_BOOL, TRUE, 0 } } },
  { NATTER_FRAME_SIGNAL, TO_CLIENT, {
      { "from", M_USER, TRUE, 0 },
      { "payload", M_OBJECT, TRUE, 0 } } },
  { NATTER_FRAME_INVITE_SENT, TO_CLIENT, { { "invitation", M_OBJECT, TRUE, 0 } } },
  { NATTER_FRAME_INVITATION, TO_CLIENT, { { "invitation", M_OBJECT, TRUE, 0 } } },
  { NATTER_FRAME_INVITATION_ANSWER, TO_CLIENT, { { "invitation", M_OBJECT, TRUE, 0 } } },
  { NATTER_FRAME_INVITATIONS, TO_CLIENT, {
      { "incoming", M_ARRAY, TRUE, 0 },
      { "outgoing", M_ARRAY, TRUE, 0 },
      { "next", M_STRING, FALSE, SHORT_STRING_MAX } } },
  { NATTER_FRAME_HANDLE, TO_CLIENT, {
      { "handle", M_HANDLE, TRUE, 0 },
      { "user", M_USER, TRUE, 0 } } },
  { NATTER_FRAME_ROOM_MEMBERS, TO_CLIENT, {
      { "room", M_ROOM, TRUE, 0 },
      { "members", M_ARRAY, TRUE, 0 } } },
  { NATTER_FRAME_ROOM_MEMBER_JOINED, TO_CLIENT, {
      { "room", M_ROOM, TRUE, 0 },
      { "user", M_USER, TRUE, 0 } } },
  { NATTER_FRAME_ROOM_MEMBER_LEFT, TO_CLIENT, {
      { "room", M_ROOM, TRUE, 0 },
      { "user", M_USER, TRUE, 0 } } },
  { NATTER_FRAME_ICE_CONFIG, TO_CLIENT, {
      { "ice_servers", M_ARRAY, TRUE, 0 },
      { "ice_ttl_s", M_INT, FALSE, 0 } } },
  { NATTER_FRAME_OK, TO_CLIENT, { { NULL } } },
  { NATTER_FRAME_ERROR, TO_CLIENT, {
      { "code", M_STRING, TRUE, SHORT_STRING_MAX },
      { "message", M_STRING, FALSE, 1024 } } },
};

/**
 * natter_frame_type_to_string:
 * @type: a frame type
 *
 * Returns: (nullable): the wire name of @type
 */
const char *
natter_frame_type_to_string (NatterFrameType type)
{
  if ((guint) type >= NATTER_FRAME_N_TYPES)
    return NULL;

  return type_names[type];
}

/**
 * natter_frame_type_from_string:
 * @name: (nullable): a wire name such as "signal"
 *
 * Returns: the frame type, or %NATTER_FRAME_INVALID
 */
NatterFrameType
natter_frame_type_from_string (const char *name)
{
  if (name == NULL)
    return NATTER_FRAME_INVALID;

  for (guint i = 1; i < NATTER_FRAME_N_TYPES; i++)
    {
      if (g_str_equal (name, type_names[i]))
        return (NatterFrameType) i;
    }

  return NATTER_FRAME_INVALID;
}

static const FrameSpec *
find_spec (NatterFrameType      type,
           NatterFrameDirection direction)
{
  for (guint i = 0; i < G_N_ELEMENTS (frame_specs); i++)
    {
      if (frame_specs[i].type == type && (frame_specs[i].direction & direction) != 0)
        return &frame_specs[i];
    }

  return NULL;
}

static NatterFrame *
frame_new_take (NatterFrameType  type,
                JsonObject      *object)
{
  NatterFrame *frame = g_new0 (NatterFrame, 1);

  g_atomic_ref_count_init (&frame->ref_count);
  frame->type = type;
  frame->object = object;

  return frame;
}

/**
 * natter_frame_parse:
 * @data: the text of a WebSocket frame
 * @length: its length in bytes
 * @direction: %NATTER_FRAME_TO_SERVER when the server parses what a client
 *   sent, %NATTER_FRAME_TO_CLIENT when a client parses what the server sent
 * @max_size: the largest frame accepted, in bytes
 * @out_ref: (out) (optional) (transfer full): the frame's `id` (or, for
 *   frames to a client, its `ref`) when it could be read, even on error
 * @error: a #GError in %NATTER_PROTOCOL_ERROR
 *
 * Parses and validates one frame against docs/protocol.md.
 *
 * Returns: (transfer full) (nullable): the frame, or %NULL with @error set
 */
NatterFrame *
natter_frame_parse (const char            *data,
                    gsize                  length,
                    NatterFrameDirection   direction,
                    gsize                  max_size,
                    char                 **out_ref,
                    GError               **error)
{
  g_autoptr(JsonObject) object = NULL;
  JsonNode *id_node;
  const char *id;
  const char *type_name;
  NatterFrameType type;
  const FrameSpec *spec;

  g_return_val_if_fail (data != NULL || length == 0, NULL);
  g_return_val_if_fail (direction == NATTER_FRAME_TO_SERVER ||
                        direction == NATTER_FRAME_TO_CLIENT, NULL);

  if (out_ref != NULL)
    *out_ref = NULL;

  object = natter_schema_parse_object (data, length, max_size, error);
  if (object == NULL)
    return NULL;

  id_node = json_object_get_member (object,
                                    direction == NATTER_FRAME_TO_SERVER ? "id" : "ref");
  id = natter_schema_get_string (id_node);
  if (id_node != NULL && !JSON_NODE_HOLDS_NULL (id_node))
    {
      if (id == NULL || strlen (id) > NATTER_FRAME_ID_MAX_LENGTH)
        {
          g_set_error (error, NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_BAD_FRAME,
                       "The member 'id' must be a string of at most %d bytes",
                       NATTER_FRAME_ID_MAX_LENGTH);
          return NULL;
        }
      if (out_ref != NULL)
        *out_ref = g_strdup (id);
    }

  type_name = natter_schema_get_string (json_object_get_member (object, "type"));
  if (type_name == NULL)
    {
      g_set_error_literal (error, NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_BAD_FRAME,
                           "The member 'type' is missing or not a string");
      return NULL;
    }

  type = natter_frame_type_from_string (type_name);
  spec = find_spec (type, direction);
  if (spec == NULL)
    {
      g_set_error_literal (error, NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_UNKNOWN_TYPE,
                           "The frame type is unknown");
      return NULL;
    }

  for (guint i = 0; i < G_N_ELEMENTS (spec->members) && spec->members[i].name != NULL; i++)
    {
      if (!natter_schema_validate_member (object, &spec->members[i], error))
        return NULL;
    }

  return frame_new_take (type, g_steal_pointer (&object));
}

/**
 * natter_frame_scan_signal:
 * @data: the text of a frame to the server
 * @length: its length in bytes
 * @max_size: the largest frame accepted
 * @scan: (out caller-allocates): where `to`, `payload` and `id` are
 *
 * The relay's fast path: recognises a well-formed `signal` frame without
 * building a JSON tree, so the server can pass `payload` on as the text it
 * received. The text is checked as strictly as natter_frame_parse() checks
 * it (one RFC 8259 object, UTF-8, size, member types); anything unusual,
 * even if valid (escapes in `to` or `id`, duplicate members), makes it
 * return %FALSE so that the caller falls back to natter_frame_parse() and
 * its precise errors. Whether `to` is a valid user ID is left to the
 * caller, which looks it up among authenticated users anyway.
 *
 * Returns: %TRUE if @data is a signal frame described by @scan
 */
gboolean
natter_frame_scan_signal (const char       *data,
                          gsize             length,
                          gsize             max_size,
                          NatterSignalScan *scan)
{
  static const char * const names[] = { "type", "to", "payload", "id", NULL };
  const char *starts[4];
  const char *ends[4];

  g_return_val_if_fail (data != NULL || length == 0, FALSE);
  g_return_val_if_fail (scan != NULL, FALSE);

  if (length == 0 || length > max_size || !g_utf8_validate_len (data, length, NULL))
    return FALSE;

  if (!natter_schema_scan_members (data, length, names, starts, ends))
    return FALSE;

  /* type is exactly "signal" */
  if (starts[0] == NULL || ends[0] - starts[0] != 8 || memcmp (starts[0], "\"signal\"", 8) != 0)
    return FALSE;

  /* to: a plain string; payload: an object; id: absent or a short plain string */
  if (starts[1] == NULL || *starts[1] != '"' || memchr (starts[1], '\\', ends[1] - starts[1]))
    return FALSE;
  if (starts[2] == NULL || *starts[2] != '{')
    return FALSE;
  if (starts[3] != NULL &&
      (*starts[3] != '"' || memchr (starts[3], '\\', ends[3] - starts[3]) ||
       ends[3] - starts[3] - 2 > NATTER_FRAME_ID_MAX_LENGTH))
    return FALSE;

  scan->to = starts[1] + 1;
  scan->to_length = ends[1] - starts[1] - 2;
  scan->payload = starts[2];
  scan->payload_length = ends[2] - starts[2];
  scan->id = starts[3] != NULL ? starts[3] + 1 : NULL;
  scan->id_length = starts[3] != NULL ? (gsize) (ends[3] - starts[3] - 2) : 0;

  return TRUE;
}

/**
 * natter_frame_new:
 * @type: the frame type
 *
 * Returns: (transfer full): a new frame with only its `type` set
 */
NatterFrame *
natter_frame_new (NatterFrameType type)
{
  JsonObject *object;

  g_return_val_if_fail (type > NATTER_FRAME_INVALID && type < NATTER_FRAME_N_TYPES, NULL);

  object = json_object_new ();
  json_object_set_string_member (object, "type", type_names[type]);

  return frame_new_take (type, object);
}

/**
 * natter_frame_new_error:
 * @code: the error
 * @ref: (nullable): the `id` of the request that failed
 * @message: (nullable): an English explanation for developers
 *
 * Returns: (transfer full): an `error` frame
 */
NatterFrame *
natter_frame_new_error (NatterProtocolError  code,
                        const char          *ref,
                        const char          *message)
{
  NatterFrame *frame = natter_frame_new (NATTER_FRAME_ERROR);

  natter_frame_set_string (frame, "code", natter_protocol_error_to_code (code));
  if (message != NULL)
    natter_frame_set_string (frame, "message", message);
  if (ref != NULL)
    natter_frame_set_ref (frame, ref);

  return frame;
}

NatterFrame *
natter_frame_ref (NatterFrame *frame)
{
  g_return_val_if_fail (frame != NULL, NULL);

  g_atomic_ref_count_inc (&frame->ref_count);
  return frame;
}

void
natter_frame_unref (NatterFrame *frame)
{
  g_return_if_fail (frame != NULL);

  if (g_atomic_ref_count_dec (&frame->ref_count))
    {
      json_object_unref (frame->object);
      g_free (frame);
    }
}

NatterFrameType
natter_frame_get_frame_type (NatterFrame *frame)
{
  g_return_val_if_fail (frame != NULL, NATTER_FRAME_INVALID);

  return frame->type;
}

/**
 * natter_frame_get_object:
 * @frame: a frame
 *
 * Returns: (transfer none): the frame's JSON object
 */
JsonObject *
natter_frame_get_object (NatterFrame *frame)
{
  g_return_val_if_fail (frame != NULL, NULL);

  return frame->object;
}

const char *
natter_frame_get_id (NatterFrame *frame)
{
  return natter_frame_get_string (frame, "id");
}

const char *
natter_frame_get_ref (NatterFrame *frame)
{
  return natter_frame_get_string (frame, "ref");
}

/**
 * natter_frame_get_string:
 * @frame: a frame
 * @member: a member name
 *
 * Returns: (nullable): the string value of @member, or %NULL when it is
 *   missing or not a string
 */
const char *
natter_frame_get_string (NatterFrame *frame,
                         const char  *member)
{
  g_return_val_if_fail (frame != NULL, NULL);
  g_return_val_if_fail (member != NULL, NULL);

  return natter_schema_get_string (json_object_get_member (frame->object, member));
}

gint64
natter_frame_get_int (NatterFrame *frame,
                      const char  *member,
                      gint64       default_value)
{
  JsonNode *node;

  g_return_val_if_fail (frame != NULL, default_value);
  g_return_val_if_fail (member != NULL, default_value);

  node = json_object_get_member (frame->object, member);
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_INT64)
    return default_value;

  return json_node_get_int (node);
}

gboolean
natter_frame_get_boolean (NatterFrame *frame,
                          const char  *member,
                          gboolean     default_value)
{
  JsonNode *node;

  g_return_val_if_fail (frame != NULL, default_value);
  g_return_val_if_fail (member != NULL, default_value);

  node = json_object_get_member (frame->object, member);
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_BOOLEAN)
    return default_value;

  return json_node_get_boolean (node);
}

/**
 * natter_frame_get_array:
 * @frame: a frame
 * @member: a member name
 *
 * Returns: (transfer none) (nullable): the array, or %NULL
 */
JsonArray *
natter_frame_get_array (NatterFrame *frame,
                        const char  *member)
{
  JsonNode *node;

  g_return_val_if_fail (frame != NULL, NULL);
  g_return_val_if_fail (member != NULL, NULL);

  node = json_object_get_member (frame->object, member);
  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    return NULL;

  return json_node_get_array (node);
}

/**
 * natter_frame_get_object_member:
 * @frame: a frame
 * @member: a member name
 *
 * Returns: (transfer none) (nullable): the object, or %NULL
 */
JsonObject *
natter_frame_get_object_member (NatterFrame *frame,
                                const char  *member)
{
  JsonNode *node;

  g_return_val_if_fail (frame != NULL, NULL);
  g_return_val_if_fail (member != NULL, NULL);

  node = json_object_get_member (frame->object, member);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return NULL;

  return json_node_get_object (node);
}

/**
 * natter_frame_get_error:
 * @frame: a frame
 * @code: (out) (optional): the error code
 * @message: (out) (optional) (transfer none): the message, or %NULL
 *
 * Returns: %TRUE if @frame is an `error` frame with a known code
 */
gboolean
natter_frame_get_error (NatterFrame          *frame,
                        NatterProtocolError  *code,
                        const char          **message)
{
  NatterProtocolError value;

  g_return_val_if_fail (frame != NULL, FALSE);

  if (frame->type != NATTER_FRAME_ERROR ||
      !natter_protocol_error_from_code (natter_frame_get_string (frame, "code"), &value))
    return FALSE;

  if (code != NULL)
    *code = value;
  if (message != NULL)
    *message = natter_frame_get_string (frame, "message");

  return TRUE;
}

void
natter_frame_set_id (NatterFrame *frame,
                     const char  *id)
{
  natter_frame_set_string (frame, "id", id);
}

void
natter_frame_set_ref (NatterFrame *frame,
                      const char  *ref)
{
  natter_frame_set_string (frame, "ref", ref);
}

/**
 * natter_frame_set_string:
 * @frame: a frame
 * @member: a member name
 * @value: (nullable): the value; %NULL removes the member
 */
void
natter_frame_set_string (NatterFrame *frame,
                         const char  *member,
                         const char  *value)
{
  g_return_if_fail (frame != NULL);
  g_return_if_fail (member != NULL);

  if (value == NULL)
    json_object_remove_member (frame->object, member);
  else
    json_object_set_string_member (frame->object, member, value);
}

void
natter_frame_set_int (NatterFrame *frame,
                      const char  *member,
                      gint64       value)
{
  g_return_if_fail (frame != NULL);
  g_return_if_fail (member != NULL);

  json_object_set_int_member (frame->object, member, value);
}

void
natter_frame_set_boolean (NatterFrame *frame,
                          const char  *member,
                          gboolean     value)
{
  g_return_if_fail (frame != NULL);
  g_return_if_fail (member != NULL);

  json_object_set_boolean_member (frame->object, member, value);
}

/**
 * natter_frame_take_object_member:
 * @frame: a frame
 * @member: a member name
 * @value: (transfer full): the object
 */
void
natter_frame_take_object_member (NatterFrame *frame,
                                 const char  *member,
                                 JsonObject  *value)
{
  g_return_if_fail (frame != NULL);
  g_return_if_fail (member != NULL);
  g_return_if_fail (value != NULL);

  json_object_set_object_member (frame->object, member, value);
}

/**
 * natter_frame_take_array:
 * @frame: a frame
 * @member: a member name
 * @value: (transfer full): the array
 */
void
natter_frame_take_array (NatterFrame *frame,
                         const char  *member,
                         JsonArray   *value)
{
  g_return_if_fail (frame != NULL);
  g_return_if_fail (member != NULL);
  g_return_if_fail (value != NULL);

  json_object_set_array_member (frame->object, member, value);
}

/**
 * natter_frame_to_string:
 * @frame: a frame
 * @length: (out) (optional): the length of the text
 *
 * Returns: (transfer full): the frame as compact JSON text
 */
char *
natter_frame_to_string (NatterFrame *frame,
                        gsize       *length)
{
  g_return_val_if_fail (frame != NULL, NULL);

  return natter_schema_to_json (frame->object, length);
}
