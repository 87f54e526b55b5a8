/* natter-transfer.c: one file sent to or received from a contact
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A NatterTransfer is what the UI shows of a file: its name, size and type,
 * where it is (state, bytes done, rate) and where it ended up (path, or why
 * it failed). The transfer service (natter-client-transfers.c) keeps one
 * live object per transfer and moves it forward; the store keeps its row.
 */
#define G_LOG_DOMAIN "natter-transfer"

#include "config.h"

#include "natter-transfer.h"

enum {
  PROP_0,
  PROP_ID,
  PROP_CONTACT_ID,
  PROP_DIRECTION,
  PROP_NAME,
  PROP_SIZE,
  PROP_MIME_TYPE,
  PROP_TIMESTAMP,
  PROP_STATE,
  PROP_BYTES_DONE,
  PROP_RATE,
  PROP_ERROR,
  PROP_PATH,
  PROP_THUMBNAIL,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

struct _NatterTransfer
{
  GObject                  parent_instance;

  char                    *id;
  char                    *contact_id;
  NatterTransferDirection  direction;
  char                    *name;
  guint64                  size;
  char                    *mime_type;
  gint64                   timestamp;
  NatterTransferState      state;
  guint64                  bytes_done;
  double                   rate;
  char                    *error;
  char                    *path;
  char                    *sha256;
  GBytes                  *thumbnail;
};

G_DEFINE_FINAL_TYPE (NatterTransfer, natter_transfer, G_TYPE_OBJECT)

G_DEFINE_ENUM_TYPE (NatterTransferDirection, natter_transfer_direction,
                    G_DEFINE_ENUM_VALUE (NATTER_TRANSFER_DIRECTION_IN, "in"),
                    G_DEFINE_ENUM_VALUE (NATTER_TRANSFER_DIRECTION_OUT, "out"))

G_DEFINE_ENUM_TYPE (NatterTransferState, natter_transfer_state,
                    G_DEFINE_ENUM_VALUE (NATTER_TRANSFER_STATE_WAITING, "waiting"),
                    G_DEFINE_ENUM_VALUE (NATTER_TRANSFER_STATE_TRANSFERRING, "transferring"),
                    G_DEFINE_ENUM_VALUE (NATTER_TRANSFER_STATE_DONE, "done"),
                    G_DEFINE_ENUM_VALUE (NATTER_TRANSFER_STATE_FAILED, "failed"),
                    G_DEFINE_ENUM_VALUE (NATTER_TRANSFER_STATE_CANCELLED, "cancelled"),
                    G_DEFINE_ENUM_VALUE (NATTER_TRANSFER_STATE_DECLINED, "declined"))

static void
natter_transfer_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  NatterTransfer *self = NATTER_TRANSFER (object);

  switch (prop_id)
    {
    case PROP_ID:
      g_value_set_string (value, self->id);
      break;
    case PROP_CONTACT_ID:
      g_value_set_string (value, self->contact_id);
      break;
    case PROP_DIRECTION:
      g_value_set_enum (value, self->direction);
      break;
    case PROP_NAME:
      g_value_set_string (value, self->name);
      break;
    case PROP_SIZE:
      g_value_set_uint64 (value, self->size);
      break;
    case PROP_MIME_TYPE:
      g_value_set_string (value, self->mime_type);
      break;
    case PROP_TIMESTAMP:
      g_value_set_int64 (value, self->timestamp);
      break;
    case PROP_STATE:
      g_value_set_enum (value, self->state);
      break;
    case PROP_BYTES_DONE:
      g_value_set_uint64 (value, self->bytes_done);
      break;
    case PROP_RATE:
      g_value_set_double (value, self->rate);
      break;
    case PROP_ERROR:
      g_value_set_string (value, self->error);
      break;
    case PROP_PATH:
      g_value_set_string (value, self->path);
      break;
    case PROP_THUMBNAIL:
      g_value_set_boxed (value, self->thumbnail);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
natter_transfer_finalize (GObject *object)
{
  NatterTransfer *self = NATTER_TRANSFER (object);

  g_free (self->id);
  g_free (self->contact_id);
  g_free (self->name);
  g_free (self->mime_type);
  g_free (self->error);
  g_free (self->path);
  g_free (self->sha256);
  g_clear_pointer (&self->thumbnail, g_bytes_unref);

  G_OBJECT_CLASS (natter_transfer_parent_class)->finalize (object);
}

static void
natter_transfer_class_init (NatterTransferClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags ro = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS;
  GParamFlags live = ro | G_PARAM_EXPLICIT_NOTIFY;

  object_class->get_property = natter_transfer_get_property;
  object_class->finalize = natter_transfer_finalize;

  properties[PROP_ID] = g_param_spec_string ("id", NULL, NULL, NULL, ro);
  properties[PROP_CONTACT_ID] = g_param_spec_string ("contact-id", NULL, NULL, NULL, ro);
  properties[PROP_DIRECTION] =
    g_param_spec_enum ("direction", NULL, NULL, NATTER_TYPE_TRANSFER_DIRECTION,
                       NATTER_TRANSFER_DIRECTION_IN, ro);
  /* A received file's name is made safe before it gets here, but it is
   * still text from a peer: never markup */
  properties[PROP_NAME] = g_param_spec_string ("name", NULL, NULL, NULL, ro);
  properties[PROP_SIZE] = g_param_spec_uint64 ("size", NULL, NULL, 0, G_MAXUINT64, 0, ro);
  properties[PROP_MIME_TYPE] = g_param_spec_string ("mime-type", NULL, NULL, NULL, ro);
  /* When it was offered, in microseconds since the epoch */
  properties[PROP_TIMESTAMP] =
    g_param_spec_int64 ("timestamp", NULL, NULL, 0, G_MAXINT64, 0, ro);
  properties[PROP_STATE] =
    g_param_spec_enum ("state", NULL, NULL, NATTER_TYPE_TRANSFER_STATE,
                       NATTER_TRANSFER_STATE_WAITING, live);
  properties[PROP_BYTES_DONE] =
    g_param_spec_uint64 ("bytes-done", NULL, NULL, 0, G_MAXUINT64, 0, live);
  /* Bytes a second over the last moments, 0 when nothing flows */
  properties[PROP_RATE] = g_param_spec_double ("rate", NULL, NULL, 0, G_MAXDOUBLE, 0, live);
  /* Why it failed, translated, for the user */
  properties[PROP_ERROR] = g_param_spec_string ("error", NULL, NULL, NULL, live);
  /* The file sent, or where a received one is (once done) or goes */
  properties[PROP_PATH] = g_param_spec_string ("path", NULL, NULL, NULL, live);
  /* A small picture of an image the sender made (PNG or JPEG), or NULL */
  properties[PROP_THUMBNAIL] =
    g_param_spec_boxed ("thumbnail", NULL, NULL, G_TYPE_BYTES, live);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
natter_transfer_init (NatterTransfer *self)
{
}

/**
 * natter_transfer_new:
 * @timestamp: when it was offered, in microseconds since the epoch
 *
 * Returns: (transfer full): a transfer in state waiting
 */
NatterTransfer *
natter_transfer_new (const char              *id,
                     const char              *contact_id,
                     NatterTransferDirection  direction,
                     const char              *name,
                     guint64                  size,
                     const char              *mime_type,
                     gint64                   timestamp)
{
  NatterTransfer *self;

  g_return_val_if_fail (id != NULL, NULL);
  g_return_val_if_fail (contact_id != NULL, NULL);
  g_return_val_if_fail (name != NULL, NULL);

  self = g_object_new (NATTER_TYPE_TRANSFER, NULL);
  self->id = g_strdup (id);
  self->contact_id = g_strdup (contact_id);
  self->direction = direction;
  self->name = g_strdup (name);
  self->size = size;
  self->mime_type = g_strdup (mime_type != NULL ? mime_type : "application/octet-stream");
  self->timestamp = timestamp;

  return self;
}

const char *
natter_transfer_get_id (NatterTransfer *self)
{
  g_return_val_if_fail (NATTER_IS_TRANSFER (self), NULL);
  return self->id;
}

const char *
natter_transfer_get_contact_id (NatterTransfer *self)
{
  g_return_val_if_fail (NATTER_IS_TRANSFER (self), NULL);
  return self->contact_id;
}

NatterTransferDirection
natter_transfer_get_direction (NatterTransfer *self)
{
  g_return_val_if_fail (NATTER_IS_TRANSFER (self), NATTER_TRANSFER_DIRECTION_IN);
  return self->direction;
}

const char *
natter_transfer_get_name (NatterTransfer *self)
{
  g_return_val_if_fail (NATTER_IS_TRANSFER (self), NULL);
  return self->name;
}

guint64
natter_transfer_get_size (NatterTransfer *self)
{
  g_return_val_if_fail (NATTER_IS_TRANSFER (self), 0);
  return self->size;
}

const char *
natter_transfer_get_mime_type (NatterTransfer *self)
{
  g_return_val_if_fail (NATTER_IS_TRANSFER (self), NULL);
  return self->mime_type;
}

gint64
natter_transfer_get_timestamp (NatterTransfer *self)
{
  g_return_val_if_fail (NATTER_IS_TRANSFER (self), 0);
  return self->timestamp;
}

NatterTransferState
natter_transfer_get_state (NatterTransfer *self)
{
  g_return_val_if_fail (NATTER_IS_TRANSFER (self), NATTER_TRANSFER_STATE_FAILED);
  return self->state;
}

guint64
natter_transfer_get_bytes_done (NatterTransfer *self)
{
  g_return_val_if_fail (NATTER_IS_TRANSFER (self), 0);
  return self->bytes_done;
}

double
natter_transfer_get_rate (NatterTransfer *self)
{
  g_return_val_if_fail (NATTER_IS_TRANSFER (self), 0);
  return self->rate;
}

const char *
natter_transfer_get_error (NatterTransfer *self)
{
  g_return_val_if_fail (NATTER_IS_TRANSFER (self), NULL);
  return self->error;
}

const char *
natter_transfer_get_path (NatterTransfer *self)
{
  g_return_val_if_fail (NATTER_IS_TRANSFER (self), NULL);
  return self->path;
}

/**
 * natter_transfer_get_sha256:
 *
 * Returns: (nullable): the file's SHA-256 as lowercase hex, once known
 */
const char *
natter_transfer_get_sha256 (NatterTransfer *self)
{
  g_return_val_if_fail (NATTER_IS_TRANSFER (self), NULL);
  return self->sha256;
}

GBytes *
natter_transfer_get_thumbnail (NatterTransfer *self)
{
  g_return_val_if_fail (NATTER_IS_TRANSFER (self), NULL);
  return self->thumbnail;
}

/* Done, failed, cancelled or declined: nothing more happens to it */
gboolean
natter_transfer_is_finished (NatterTransfer *self)
{
  g_return_val_if_fail (NATTER_IS_TRANSFER (self), TRUE);
  return self->state != NATTER_TRANSFER_STATE_WAITING &&
         self->state != NATTER_TRANSFER_STATE_TRANSFERRING;
}

void
natter_transfer_set_state (NatterTransfer      *self,
                           NatterTransferState  state)
{
  g_return_if_fail (NATTER_IS_TRANSFER (self));

  if (self->state == state)
    return;
  self->state = state;
  if (natter_transfer_is_finished (self))
    natter_transfer_set_rate (self, 0);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
}

void
natter_transfer_set_bytes_done (NatterTransfer *self,
                                guint64         bytes_done)
{
  g_return_if_fail (NATTER_IS_TRANSFER (self));

  if (self->bytes_done == bytes_done)
    return;
  self->bytes_done = bytes_done;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BYTES_DONE]);
}

void
natter_transfer_set_rate (NatterTransfer *self,
                          double          rate)
{
  g_return_if_fail (NATTER_IS_TRANSFER (self));

  if (self->rate == rate)
    return;
  self->rate = rate;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RATE]);
}

static void
set_string (NatterTransfer  *self,
            char           **field,
            const char      *value,
            guint            prop)
{
  if (g_strcmp0 (*field, value) == 0)
    return;
  g_free (*field);
  *field = g_strdup (value);
  if (prop != PROP_0)
    g_object_notify_by_pspec (G_OBJECT (self), properties[prop]);
}

void
natter_transfer_set_error (NatterTransfer *self,
                           const char     *error)
{
  g_return_if_fail (NATTER_IS_TRANSFER (self));
  set_string (self, &self->error, error, PROP_ERROR);
}

void
natter_transfer_set_path (NatterTransfer *self,
                          const char     *path)
{
  g_return_if_fail (NATTER_IS_TRANSFER (self));
  set_string (self, &self->path, path, PROP_PATH);
}

void
natter_transfer_set_sha256 (NatterTransfer *self,
                            const char     *sha256)
{
  g_return_if_fail (NATTER_IS_TRANSFER (self));
  set_string (self, &self->sha256, sha256, PROP_0);
}

void
natter_transfer_set_thumbnail (NatterTransfer *self,
                               GBytes         *thumbnail)
{
  g_return_if_fail (NATTER_IS_TRANSFER (self));

  if (self->thumbnail == thumbnail)
    return;
  g_clear_pointer (&self->thumbnail, g_bytes_unref);
  self->thumbnail = thumbnail != NULL ? g_bytes_ref (thumbnail) : NULL;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_THUMBNAIL]);
}

const char *
natter_transfer_state_to_string (NatterTransferState state)
{
  switch (state)
    {
    case NATTER_TRANSFER_STATE_WAITING:
      return "waiting";
    case NATTER_TRANSFER_STATE_TRANSFERRING:
      return "transferring";
    case NATTER_TRANSFER_STATE_DONE:
      return "done";
    case NATTER_TRANSFER_STATE_FAILED:
      return "failed";
    case NATTER_TRANSFER_STATE_CANCELLED:
      return "cancelled";
    case NATTER_TRANSFER_STATE_DECLINED:
      return "declined";
    default:
      return "unknown";
    }
}
