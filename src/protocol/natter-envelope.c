/* natter-envelope.c: what peers send each other on the chat data channel
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "natter-protocol"

#include "config.h"

#include <string.h>

#include "natter-envelope.h"
#include "natter-schema-private.h"

typedef struct
{
  NatterEnvelopeType type;
  const char        *name;
  MemberSpec         members[6];
} EnvelopeSpec;

/* docs/peer.md describes each of these. */
static const EnvelopeSpec envelope_specs[] = {
  { NATTER_ENVELOPE_MESSAGE, "message", {
      { "id", M_STRING, TRUE, 64 },
      { "ts", M_INT, TRUE, 0 },
      { "body", M_STRING, TRUE, NATTER_MESSAGE_BODY_MAX },
      { "reply_to", M_STRING, FALSE, 64 } } },
  { NATTER_ENVELOPE_RECEIPT, "receipt", {
      { "ids", M_ID_ARRAY, TRUE, NATTER_RECEIPT_IDS_MAX },
      { "status", M_STRING, TRUE, 16 } } },
  { NATTER_ENVELOPE_TYPING, "typing", {
      { "active", M_BOOL, TRUE, 0 } } },
  { NATTER_ENVELOPE_PROFILE, "profile", {
      { "name", M_STRING, FALSE, NATTER_PROFILE_NAME_MAX },
      { "bio", M_STRING, FALSE, NATTER_PROFILE_BIO_MAX },
      { "avatar_sha256", M_STRING, FALSE, 64 } } },
  { NATTER_ENVELOPE_AVATAR, "avatar", {
      { "sha256", M_STRING, TRUE, 64 },
      { "size", M_INT, TRUE, 0 },
      { "index", M_INT, TRUE, 0 },
      { "count", M_INT, TRUE, 0 },
      { "data", M_STRING, TRUE, 4 * ((NATTER_AVATAR_CHUNK_SIZE + 2) / 3) } } },
  { NATTER_ENVELOPE_REFUSED, "refused", {
      { "id", M_STRING, TRUE, 64 },
      { "reason", M_STRING, TRUE, 32 } } },
  { NATTER_ENVELOPE_BINDING, "binding", {
      { "sender", M_USER, TRUE, 0 },
      { "receiver", M_USER, TRUE, 0 },
      { "session", M_STRING, TRUE, 64 },
      { "sender_fingerprint", M_STRING, TRUE, NATTER_FINGERPRINT_MAX },
      { "receiver_fingerprint", M_STRING, TRUE, NATTER_FINGERPRINT_MAX },
      { "signature", M_STRING, TRUE, 88 } } },
  { NATTER_ENVELOPE_FILE_OFFER, "file-offer", {
      { "id", M_STRING, TRUE, 64 },
      { "name", M_STRING, TRUE, NATTER_FILE_OFFER_NAME_MAX },
      { "size", M_INT, TRUE, 0 },
      { "mime", M_STRING, FALSE, NATTER_FILE_MIME_MAX },
      { "thumbnail", M_STRING, FALSE, 4 * ((NATTER_FILE_THUMBNAIL_MAX + 2) / 3) } } },
  { NATTER_ENVELOPE_FILE_ACCEPT, "file-accept", {
      { "id", M_STRING, TRUE, 64 },
      { "offset", M_INT, TRUE, 0 },
      { "sha256", M_STRING, FALSE, 64 } } },
  { NATTER_ENVELOPE_FILE_DECLINE, "file-decline", {
      { "id", M_STRING, TRUE, 64 },
      { "reason", M_STRING, TRUE, 32 } } },
  { NATTER_ENVELOPE_FILE_CANCEL, "file-cancel", {
      { "id", M_STRING, TRUE, 64 },
      { "reason", M_STRING, TRUE, 32 } } },
  { NATTER_ENVELOPE_FILE_DONE, "file-done", {
      { "id", M_STRING, TRUE, 64 },
      { "size", M_INT, TRUE, 0 },
      { "sha256", M_STRING, TRUE, 64 } } },
  { NATTER_ENVELOPE_FILE_RECEIVED, "file-received", {
      { "id", M_STRING, TRUE, 64 },
      { "sha256", M_STRING, TRUE, 64 } } },
  { NATTER_ENVELOPE_FILE_RESUME, "file-resume", {
      { "id", M_STRING, TRUE, 64 } } },
  { NATTER_ENVELOPE_CALL, "call", {
      { "call", M_STRING, TRUE, NATTER_CALL_ID_MAX },
      { "action", M_STRING, TRUE, 16 },
      { "video", M_BOOL, FALSE, 0 },
      { "audio", M_BOOL, FALSE, 0 },
      { "reason", M_STRING, FALSE, 32 } } },
};

/* Why a transfer was declined or cancelled; docs/peer.md */
static const char *const file_reasons[] = {
  "declined", "cancelled", "no-space", "disk-full", "checksum", "io-error", "unknown",
  "unreadable", NULL
};

/* What a call envelope says (docs/peer.md, "Calls") */
static const char *const call_actions[] = {
  "invite", "ringing", "accept", "decline", "busy", "hangup", "media", NULL
};

/* Why a receiver did not keep a message; docs/peer.md. The storage ones
 * pass: the sender keeps the message and tries again later. */
static const char *const refusal_reasons[] = {
  "invalid", "id-taken", "storage-full", "storage-damaged", "storage-failed", NULL
};

G_STATIC_ASSERT (G_N_ELEMENTS (envelope_specs) == NATTER_ENVELOPE_N_TYPES - 1);

/**
 * natter_envelope_type_to_string:
 * @type: an envelope type
 *
 * Returns: (nullable): its wire name
 */
const char *
natter_envelope_type_to_string (NatterEnvelopeType type)
{
  for (guint i = 0; i < G_N_ELEMENTS (envelope_specs); i++)
    {
      if (envelope_specs[i].type == type)
        return envelope_specs[i].name;
    }

  return NULL;
}

/**
 * natter_envelope_parse:
 * @data: one data channel message
 * @length: its length
 * @out_type: (out): the envelope's type
 * @error: a #GError in %NATTER_PROTOCOL_ERROR
 *
 * Returns: (transfer full) (nullable): the validated envelope
 */
JsonObject *
natter_envelope_parse (const char          *data,
                       gsize                length,
                       NatterEnvelopeType  *out_type,
                       GError             **error)
{
  g_autoptr(JsonObject) object = NULL;
  const EnvelopeSpec *spec = NULL;
  const char *type_name;

  g_return_val_if_fail (data != NULL || length == 0, NULL);
  g_return_val_if_fail (out_type != NULL, NULL);

  *out_type = NATTER_ENVELOPE_INVALID;

  object = natter_schema_parse_object (data, length, NATTER_ENVELOPE_MAX_SIZE, error);
  if (object == NULL)
    return NULL;

  type_name = natter_schema_get_string (json_object_get_member (object, "type"));
  if (type_name == NULL)
    {
      g_set_error_literal (error, NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_BAD_FRAME,
                           "The member 'type' is missing or not a string");
      return NULL;
    }

  for (guint i = 0; i < G_N_ELEMENTS (envelope_specs); i++)
    {
      if (g_str_equal (type_name, envelope_specs[i].name))
        spec = &envelope_specs[i];
    }

  if (spec == NULL)
    {
      g_set_error_literal (error, NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_UNKNOWN_TYPE,
                           "The envelope type is unknown");
      return NULL;
    }

  for (guint i = 0; i < G_N_ELEMENTS (spec->members) && spec->members[i].name != NULL; i++)
    {
      if (!natter_schema_validate_member (object, &spec->members[i], error))
        return NULL;
    }

  if (spec->type == NATTER_ENVELOPE_RECEIPT)
    {
      const char *status = json_object_get_string_member (object, "status");

      if (!g_str_equal (status, "delivered") && !g_str_equal (status, "read"))
        {
          g_set_error_literal (error, NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_BAD_FRAME,
                               "A receipt's status is 'delivered' or 'read'");
          return NULL;
        }
    }

  if (spec->type == NATTER_ENVELOPE_REFUSED &&
      !g_strv_contains (refusal_reasons, json_object_get_string_member (object, "reason")))
    {
      g_set_error_literal (error, NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_BAD_FRAME,
                           "A refusal's reason is unknown");
      return NULL;
    }

  if (spec->type == NATTER_ENVELOPE_CALL &&
      (!g_strv_contains (call_actions, json_object_get_string_member (object, "action")) ||
       !natter_envelope_id_is_valid (json_object_get_string_member (object, "call"))))
    {
      g_set_error_literal (error, NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_BAD_FRAME,
                           "A call envelope's action is unknown or its call ID not valid");
      return NULL;
    }

  if (spec->type == NATTER_ENVELOPE_AVATAR)
    {
      gint64 size = json_object_get_int_member (object, "size");
      gint64 index = json_object_get_int_member (object, "index");
      gint64 count = json_object_get_int_member (object, "count");

      if (size <= 0 || size > NATTER_AVATAR_MAX_SIZE ||
          count != (size + NATTER_AVATAR_CHUNK_SIZE - 1) / NATTER_AVATAR_CHUNK_SIZE ||
          index < 0 || index >= count)
        {
          g_set_error_literal (error, NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_BAD_FRAME,
                               "An avatar is at most 256 KiB in 32 KiB pieces");
          return NULL;
        }
    }

  /* A transfer's ID names its channel (file:ID:OFFSET) and is printed:
   * the same characters as a call's. */
  if (spec->type >= NATTER_ENVELOPE_FILE_OFFER && spec->type <= NATTER_ENVELOPE_FILE_RESUME &&
      !natter_envelope_id_is_valid (json_object_get_string_member (object, "id")))
    {
      g_set_error_literal (error, NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_BAD_FRAME,
                           "A file transfer's ID is not valid");
      return NULL;
    }

  if ((spec->type == NATTER_ENVELOPE_FILE_DECLINE || spec->type == NATTER_ENVELOPE_FILE_CANCEL) &&
      !g_strv_contains (file_reasons, json_object_get_string_member (object, "reason")))
    {
      g_set_error_literal (error, NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_BAD_FRAME,
                           "A file transfer's reason is unknown");
      return NULL;
    }

  if ((spec->type == NATTER_ENVELOPE_FILE_OFFER || spec->type == NATTER_ENVELOPE_FILE_DONE) &&
      json_object_get_int_member (object, "size") < 0)
    {
      g_set_error_literal (error, NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_BAD_FRAME,
                           "A file's size is not negative");
      return NULL;
    }

  if (spec->type == NATTER_ENVELOPE_FILE_ACCEPT && json_object_get_int_member (object, "offset") < 0)
    {
      g_set_error_literal (error, NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_BAD_FRAME,
                           "A transfer's offset is not negative");
      return NULL;
    }

  *out_type = spec->type;
  return g_steal_pointer (&object);
}

/**
 * natter_envelope_new:
 * @type: the envelope type
 *
 * Returns: (transfer full): an envelope with only its `type` set
 */
JsonObject *
natter_envelope_new (NatterEnvelopeType type)
{
  const char *name = natter_envelope_type_to_string (type);
  JsonObject *object;

  g_return_val_if_fail (name != NULL, NULL);

  object = json_object_new ();
  json_object_set_string_member (object, "type", name);
  return object;
}

/**
 * natter_envelope_to_string:
 * @envelope: an envelope
 * @length: (out) (optional): the length of the text
 *
 * Returns: (transfer full): the envelope as compact JSON
 */
char *
natter_envelope_to_string (JsonObject *envelope,
                           gsize      *length)
{
  g_return_val_if_fail (envelope != NULL, NULL);

  return natter_schema_to_json (envelope, length);
}

char *
natter_envelope_new_message (const char *id,
                             gint64      timestamp_ms,
                             const char *body,
                             const char *reply_to,
                             gsize      *length)
{
  g_autoptr(JsonObject) envelope = natter_envelope_new (NATTER_ENVELOPE_MESSAGE);

  g_return_val_if_fail (id != NULL, NULL);
  g_return_val_if_fail (body != NULL, NULL);

  json_object_set_string_member (envelope, "id", id);
  json_object_set_int_member (envelope, "ts", timestamp_ms);
  json_object_set_string_member (envelope, "body", body);
  if (reply_to != NULL)
    json_object_set_string_member (envelope, "reply_to", reply_to);

  return natter_envelope_to_string (envelope, length);
}

char *
natter_envelope_new_receipt (const char * const *ids,
                             const char         *status,
                             gsize              *length)
{
  g_autoptr(JsonObject) envelope = natter_envelope_new (NATTER_ENVELOPE_RECEIPT);
  JsonArray *array = json_array_new ();

  g_return_val_if_fail (ids != NULL, NULL);
  g_return_val_if_fail (status != NULL, NULL);

  for (guint i = 0; ids[i] != NULL; i++)
    json_array_add_string_element (array, ids[i]);

  json_object_set_array_member (envelope, "ids", array);
  json_object_set_string_member (envelope, "status", status);

  return natter_envelope_to_string (envelope, length);
}

char *
natter_envelope_new_typing (gboolean  active,
                            gsize    *length)
{
  g_autoptr(JsonObject) envelope = natter_envelope_new (NATTER_ENVELOPE_TYPING);

  json_object_set_boolean_member (envelope, "active", active);

  return natter_envelope_to_string (envelope, length);
}

/**
 * natter_envelope_new_refused:
 * @id: the refused message's id, as it came (may be empty)
 * @reason: one of the reasons in docs/peer.md
 * @length: (out) (optional): the length of the text
 *
 * Returns: (transfer full): a `refused` envelope
 */
char *
natter_envelope_new_refused (const char *id,
                             const char *reason,
                             gsize      *length)
{
  g_autoptr(JsonObject) envelope = natter_envelope_new (NATTER_ENVELOPE_REFUSED);

  g_return_val_if_fail (id != NULL, NULL);
  g_return_val_if_fail (g_strv_contains (refusal_reasons, reason), NULL);

  json_object_set_string_member (envelope, "id", id);
  json_object_set_string_member (envelope, "reason", reason);

  return natter_envelope_to_string (envelope, length);
}

/**
 * natter_envelope_refusal_is_temporary:
 * @reason: a refusal's reason
 *
 * Returns: %TRUE if the receiver may take the message later (its storage
 *   failed), %FALSE if it never will
 */
gboolean
natter_envelope_refusal_is_temporary (const char *reason)
{
  return g_str_has_prefix (reason, "storage-");
}

/**
 * natter_envelope_file_reason_is_known:
 * @reason: a file-decline's or file-cancel's reason
 *
 * Returns: whether docs/peer.md names @reason
 */
gboolean
natter_envelope_file_reason_is_known (const char *reason)
{
  return reason != NULL && g_strv_contains (file_reasons, reason);
}

/**
 * natter_envelope_id_is_valid:
 * @call_id: (nullable): a call's or a file transfer's ID from a peer
 *
 * Returns: whether it is 1 to %NATTER_CALL_ID_MAX characters of
 *   `A-Z a-z 0-9 - _` (a UUID is)
 */
gboolean
natter_envelope_id_is_valid (const char *call_id)
{
  gsize length = call_id != NULL ? strlen (call_id) : 0;

  if (length == 0 || length > NATTER_CALL_ID_MAX)
    return FALSE;
  for (gsize i = 0; i < length; i++)
    if (!g_ascii_isalnum (call_id[i]) && call_id[i] != '-' && call_id[i] != '_')
      return FALSE;
  return TRUE;
}

/**
 * natter_envelope_new_call:
 * @call_id: the call
 * @action: what happens to it (docs/peer.md, "Calls")
 * @length: (out) (optional): the length of the text
 *
 * Returns: (transfer full): a call envelope with no optional members; for
 *   those, build it with natter_envelope_new()
 */
char *
natter_envelope_new_call (const char *call_id,
                          const char *action,
                          gsize      *length)
{
  g_autoptr(JsonObject) envelope = natter_envelope_new (NATTER_ENVELOPE_CALL);

  g_return_val_if_fail (call_id != NULL, NULL);
  g_return_val_if_fail (g_strv_contains (call_actions, action), NULL);

  json_object_set_string_member (envelope, "call", call_id);
  json_object_set_string_member (envelope, "action", action);

  return natter_envelope_to_string (envelope, length);
}
