/* natter-message.c: one text message of a conversation
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Everything but the status is fixed at construction. NatterStore hands out
 * one instance per stored message while it is alive, and sets its status when
 * the stored status changes, so a view bound to "status" follows receipts.
 *
 * Timestamps are microseconds since the Unix epoch (g_get_real_time()).
 */
#define G_LOG_DOMAIN "natter-message"

#include "config.h"

#include "natter-message.h"

enum {
  PROP_0,
  PROP_ROW_ID,
  PROP_ID,
  PROP_CONTACT_ID,
  PROP_DIRECTION,
  PROP_BODY,
  PROP_TIMESTAMP,
  PROP_RECEIVED_TIMESTAMP,
  PROP_STATUS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

struct _NatterMessage
{
  GObject                 parent_instance;

  gint64                  row_id;
  char                   *id;
  char                   *contact_id;
  char                   *body;
  char                   *reply_to;
  gint64                  timestamp;
  gint64                  received_timestamp;
  NatterMessageDirection  direction;
  NatterMessageStatus     status;
};

G_DEFINE_FINAL_TYPE (NatterMessage, natter_message, G_TYPE_OBJECT)

G_DEFINE_ENUM_TYPE (NatterMessageDirection, natter_message_direction,
                    G_DEFINE_ENUM_VALUE (NATTER_MESSAGE_DIRECTION_IN, "in"),
                    G_DEFINE_ENUM_VALUE (NATTER_MESSAGE_DIRECTION_OUT, "out"))

G_DEFINE_ENUM_TYPE (NatterMessageStatus, natter_message_status,
                    G_DEFINE_ENUM_VALUE (NATTER_MESSAGE_STATUS_QUEUED, "queued"),
                    G_DEFINE_ENUM_VALUE (NATTER_MESSAGE_STATUS_SENT, "sent"),
                    G_DEFINE_ENUM_VALUE (NATTER_MESSAGE_STATUS_DELIVERED, "delivered"),
                    G_DEFINE_ENUM_VALUE (NATTER_MESSAGE_STATUS_READ, "read"),
                    G_DEFINE_ENUM_VALUE (NATTER_MESSAGE_STATUS_FAILED, "failed"),
                    G_DEFINE_ENUM_VALUE (NATTER_MESSAGE_STATUS_RECEIVED, "received"))

static void
natter_message_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  NatterMessage *self = NATTER_MESSAGE (object);

  switch (prop_id)
    {
    case PROP_ROW_ID:
      g_value_set_int64 (value, self->row_id);
      break;
    case PROP_ID:
      g_value_set_string (value, self->id);
      break;
    case PROP_CONTACT_ID:
      g_value_set_string (value, self->contact_id);
      break;
    case PROP_DIRECTION:
      g_value_set_enum (value, self->direction);
      break;
    case PROP_BODY:
      g_value_set_string (value, self->body);
      break;
    case PROP_TIMESTAMP:
      g_value_set_int64 (value, self->timestamp);
      break;
    case PROP_RECEIVED_TIMESTAMP:
      g_value_set_int64 (value, self->received_timestamp);
      break;
    case PROP_STATUS:
      g_value_set_enum (value, self->status);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
natter_message_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  NatterMessage *self = NATTER_MESSAGE (object);

  switch (prop_id)
    {
    case PROP_ROW_ID:
      self->row_id = g_value_get_int64 (value);
      break;
    case PROP_ID:
      self->id = g_value_dup_string (value);
      break;
    case PROP_CONTACT_ID:
      self->contact_id = g_value_dup_string (value);
      break;
    case PROP_DIRECTION:
      self->direction = g_value_get_enum (value);
      break;
    case PROP_BODY:
      self->body = g_value_dup_string (value);
      break;
    case PROP_TIMESTAMP:
      self->timestamp = g_value_get_int64 (value);
      break;
    case PROP_RECEIVED_TIMESTAMP:
      self->received_timestamp = g_value_get_int64 (value);
      break;
    case PROP_STATUS:
      natter_message_set_status (self, g_value_get_enum (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
natter_message_finalize (GObject *object)
{
  NatterMessage *self = NATTER_MESSAGE (object);

  g_clear_pointer (&self->id, g_free);
  g_clear_pointer (&self->contact_id, g_free);
  g_clear_pointer (&self->body, g_free);
  g_clear_pointer (&self->reply_to, g_free);

  G_OBJECT_CLASS (natter_message_parent_class)->finalize (object);
}

static void
natter_message_class_init (NatterMessageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags fixed = G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS;

  object_class->get_property = natter_message_get_property;
  object_class->set_property = natter_message_set_property;
  object_class->finalize = natter_message_finalize;

  /* The store's row id: the message's place in local history (0 if not stored). */
  properties[PROP_ROW_ID] =
    g_param_spec_int64 ("row-id", NULL, NULL, 0, G_MAXINT64, 0, fixed);
  /* The sender's UUID for the message, unique within its conversation. */
  properties[PROP_ID] = g_param_spec_string ("id", NULL, NULL, NULL, fixed);
  /* The user ID of the contact the conversation is with. */
  properties[PROP_CONTACT_ID] = g_param_spec_string ("contact-id", NULL, NULL, NULL, fixed);
  properties[PROP_DIRECTION] =
    g_param_spec_enum ("direction", NULL, NULL,
                       NATTER_TYPE_MESSAGE_DIRECTION, NATTER_MESSAGE_DIRECTION_OUT, fixed);
  properties[PROP_BODY] = g_param_spec_string ("body", NULL, NULL, NULL, fixed);
  /* When the author wrote it, by the author's clock. */
  properties[PROP_TIMESTAMP] =
    g_param_spec_int64 ("timestamp", NULL, NULL, 0, G_MAXINT64, 0, fixed);
  /* When it arrived here (incoming messages only; 0 otherwise). */
  properties[PROP_RECEIVED_TIMESTAMP] =
    g_param_spec_int64 ("received-timestamp", NULL, NULL, 0, G_MAXINT64, 0, fixed);
  properties[PROP_STATUS] =
    g_param_spec_enum ("status", NULL, NULL,
                       NATTER_TYPE_MESSAGE_STATUS, NATTER_MESSAGE_STATUS_QUEUED,
                       G_PARAM_READWRITE | G_PARAM_CONSTRUCT | G_PARAM_EXPLICIT_NOTIFY |
                       G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
natter_message_init (NatterMessage *self)
{
}

/**
 * natter_message_new:
 *
 * Messages are normally made by NatterStore; use this for ones it never saw.
 *
 * Returns: (transfer full): a new message
 */
NatterMessage *
natter_message_new (gint64                  row_id,
                    const char             *id,
                    const char             *contact_id,
                    NatterMessageDirection  direction,
                    const char             *body,
                    gint64                  timestamp,
                    gint64                  received_timestamp,
                    NatterMessageStatus     status)
{
  g_return_val_if_fail (id != NULL, NULL);
  g_return_val_if_fail (contact_id != NULL, NULL);
  g_return_val_if_fail (body != NULL, NULL);

  return g_object_new (NATTER_TYPE_MESSAGE,
                       "row-id", row_id,
                       "id", id,
                       "contact-id", contact_id,
                       "direction", direction,
                       "body", body,
                       "timestamp", timestamp,
                       "received-timestamp", received_timestamp,
                       "status", status,
                       NULL);
}

gint64
natter_message_get_row_id (NatterMessage *self)
{
  g_return_val_if_fail (NATTER_IS_MESSAGE (self), 0);

  return self->row_id;
}

const char *
natter_message_get_id (NatterMessage *self)
{
  g_return_val_if_fail (NATTER_IS_MESSAGE (self), NULL);

  return self->id;
}

const char *
natter_message_get_contact_id (NatterMessage *self)
{
  g_return_val_if_fail (NATTER_IS_MESSAGE (self), NULL);

  return self->contact_id;
}

NatterMessageDirection
natter_message_get_direction (NatterMessage *self)
{
  g_return_val_if_fail (NATTER_IS_MESSAGE (self), NATTER_MESSAGE_DIRECTION_OUT);

  return self->direction;
}

const char *
natter_message_get_body (NatterMessage *self)
{
  g_return_val_if_fail (NATTER_IS_MESSAGE (self), NULL);

  return self->body;
}

gint64
natter_message_get_timestamp (NatterMessage *self)
{
  g_return_val_if_fail (NATTER_IS_MESSAGE (self), 0);

  return self->timestamp;
}

gint64
natter_message_get_received_timestamp (NatterMessage *self)
{
  g_return_val_if_fail (NATTER_IS_MESSAGE (self), 0);

  return self->received_timestamp;
}

NatterMessageStatus
natter_message_get_status (NatterMessage *self)
{
  g_return_val_if_fail (NATTER_IS_MESSAGE (self), NATTER_MESSAGE_STATUS_FAILED);

  return self->status;
}

/**
 * natter_message_set_status:
 *
 * Changes only this object; NatterStore calls it after storing a new status.
 */
void
natter_message_set_status (NatterMessage       *self,
                           NatterMessageStatus  status)
{
  g_return_if_fail (NATTER_IS_MESSAGE (self));

  if (self->status == status)
    return;

  self->status = status;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATUS]);
}

/**
 * natter_message_status_to_string:
 *
 * Returns: the status's nick ("queued", "sent", ...), for logs and the CLI
 */
const char *
natter_message_status_to_string (NatterMessageStatus status)
{
  g_autoptr(GEnumClass) klass = g_type_class_ref (NATTER_TYPE_MESSAGE_STATUS);
  GEnumValue *value = g_enum_get_value (klass, status);

  return value != NULL ? value->value_nick : "unknown";
}

/**
 * natter_message_get_reply_to:
 *
 * Returns: (nullable): the ID of the message this one answers, in the same
 *   conversation
 */
const char *
natter_message_get_reply_to (NatterMessage *self)
{
  g_return_val_if_fail (NATTER_IS_MESSAGE (self), NULL);

  return self->reply_to;
}

/**
 * natter_message_set_reply_to:
 * @reply_to: (nullable): the ID of the message this one answers
 *
 * For the store, which sets it before it hands the message out; it does
 * not change afterwards.
 */
void
natter_message_set_reply_to (NatterMessage *self,
                             const char    *reply_to)
{
  g_return_if_fail (NATTER_IS_MESSAGE (self));

  g_free (self->reply_to);
  self->reply_to = g_strdup (reply_to != NULL && *reply_to != '\0' ? reply_to : NULL);
}
