/* natter-contact.c: one person in the address book
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A plain model object. NatterStore loads and saves it; changing a property
 * here changes only this object (save it with natter_store_update_contact()).
 * Presence is never stored: the signaling client sets it while connected.
 */
#define G_LOG_DOMAIN "natter-contact"

#include "config.h"

#include "natter-contact.h"
#include "natter-object-private.h"

enum {
  PROP_0,
  PROP_USER_ID,
  PROP_NAME,
  PROP_DISPLAY_NAME,
  PROP_ALIAS,
  PROP_BIO,
  PROP_AVATAR,
  PROP_PRESENCE,
  PROP_VERIFIED,
  PROP_BLOCKED,
  PROP_ADDED_TIME,
  PROP_UPDATED_TIME,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

struct _NatterContact
{
  GObject         parent_instance;

  char           *user_id;
  char           *display_name;
  char           *alias;
  char           *bio;
  char           *short_id;
  GBytes         *avatar;
  NatterPresence  presence;
  gint64          added_time;
  gint64          updated_time;
  gboolean        verified;
  gboolean        blocked;
};

G_DEFINE_FINAL_TYPE (NatterContact, natter_contact, G_TYPE_OBJECT)

G_DEFINE_ENUM_TYPE (NatterPresence, natter_presence,
                    G_DEFINE_ENUM_VALUE (NATTER_PRESENCE_UNKNOWN, "unknown"),
                    G_DEFINE_ENUM_VALUE (NATTER_PRESENCE_OFFLINE, "offline"),
                    G_DEFINE_ENUM_VALUE (NATTER_PRESENCE_ONLINE, "online"),
                    G_DEFINE_ENUM_VALUE (NATTER_PRESENCE_AWAY, "away"))

static void
set_string (NatterContact  *self,
            char          **field,
            const char     *value,
            guint           prop_id)
{
  /* Empty strings are stored as "not set" so get_name() falls through. */
  if (value != NULL && *value == '\0')
    value = NULL;

  if (g_strcmp0 (*field, value) == 0)
    return;

  g_free (*field);
  *field = g_strdup (value);
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop_id]);
  if (prop_id == PROP_ALIAS || prop_id == PROP_DISPLAY_NAME)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_NAME]);
}

static void
set_flag (NatterContact *self,
          gboolean      *field,
          gboolean       value,
          guint          prop_id)
{
  natter_object_set_boolean (G_OBJECT (self), field, value, properties[prop_id]);
}

static void
set_time (NatterContact *self,
          gint64        *field,
          gint64         value,
          guint          prop_id)
{
  if (*field == value)
    return;

  *field = value;
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop_id]);
}

static void
natter_contact_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  NatterContact *self = NATTER_CONTACT (object);

  switch (prop_id)
    {
    case PROP_USER_ID:
      g_value_set_string (value, self->user_id);
      break;
    case PROP_NAME:
      g_value_set_string (value, natter_contact_get_name (self));
      break;
    case PROP_DISPLAY_NAME:
      g_value_set_string (value, self->display_name);
      break;
    case PROP_ALIAS:
      g_value_set_string (value, self->alias);
      break;
    case PROP_BIO:
      g_value_set_string (value, self->bio);
      break;
    case PROP_AVATAR:
      g_value_set_boxed (value, self->avatar);
      break;
    case PROP_PRESENCE:
      g_value_set_enum (value, self->presence);
      break;
    case PROP_VERIFIED:
      g_value_set_boolean (value, self->verified);
      break;
    case PROP_BLOCKED:
      g_value_set_boolean (value, self->blocked);
      break;
    case PROP_ADDED_TIME:
      g_value_set_int64 (value, self->added_time);
      break;
    case PROP_UPDATED_TIME:
      g_value_set_int64 (value, self->updated_time);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
natter_contact_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  NatterContact *self = NATTER_CONTACT (object);

  switch (prop_id)
    {
    case PROP_USER_ID:
      self->user_id = g_value_dup_string (value);
      break;
    case PROP_DISPLAY_NAME:
      natter_contact_set_display_name (self, g_value_get_string (value));
      break;
    case PROP_ALIAS:
      natter_contact_set_alias (self, g_value_get_string (value));
      break;
    case PROP_BIO:
      natter_contact_set_bio (self, g_value_get_string (value));
      break;
    case PROP_AVATAR:
      natter_contact_set_avatar (self, g_value_get_boxed (value));
      break;
    case PROP_PRESENCE:
      natter_contact_set_presence (self, g_value_get_enum (value));
      break;
    case PROP_VERIFIED:
      natter_contact_set_verified (self, g_value_get_boolean (value));
      break;
    case PROP_BLOCKED:
      natter_contact_set_blocked (self, g_value_get_boolean (value));
      break;
    case PROP_ADDED_TIME:
      natter_contact_set_added_time (self, g_value_get_int64 (value));
      break;
    case PROP_UPDATED_TIME:
      natter_contact_set_updated_time (self, g_value_get_int64 (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
natter_contact_constructed (GObject *object)
{
  NatterContact *self = NATTER_CONTACT (object);

  G_OBJECT_CLASS (natter_contact_parent_class)->constructed (object);

  g_assert (self->user_id != NULL);

  /* What to show when the person has neither a display name nor an alias. */
  self->short_id = g_utf8_substring (self->user_id, 0,
                                     MIN (12, g_utf8_strlen (self->user_id, -1)));
}

static void
natter_contact_finalize (GObject *object)
{
  NatterContact *self = NATTER_CONTACT (object);

  g_clear_pointer (&self->user_id, g_free);
  g_clear_pointer (&self->display_name, g_free);
  g_clear_pointer (&self->alias, g_free);
  g_clear_pointer (&self->bio, g_free);
  g_clear_pointer (&self->short_id, g_free);
  g_clear_pointer (&self->avatar, g_bytes_unref);

  G_OBJECT_CLASS (natter_contact_parent_class)->finalize (object);
}

static void
natter_contact_class_init (NatterContactClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags rw = G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->get_property = natter_contact_get_property;
  object_class->set_property = natter_contact_set_property;
  object_class->constructed = natter_contact_constructed;
  object_class->finalize = natter_contact_finalize;

  properties[PROP_USER_ID] =
    g_param_spec_string ("user-id", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_NAME] =
    g_param_spec_string ("name", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_DISPLAY_NAME] = g_param_spec_string ("display-name", NULL, NULL, NULL, rw);
  properties[PROP_ALIAS] = g_param_spec_string ("alias", NULL, NULL, NULL, rw);
  properties[PROP_BIO] = g_param_spec_string ("bio", NULL, NULL, NULL, rw);
  properties[PROP_AVATAR] = g_param_spec_boxed ("avatar", NULL, NULL, G_TYPE_BYTES, rw);
  properties[PROP_PRESENCE] =
    g_param_spec_enum ("presence", NULL, NULL,
                       NATTER_TYPE_PRESENCE, NATTER_PRESENCE_UNKNOWN, rw);
  properties[PROP_VERIFIED] = g_param_spec_boolean ("verified", NULL, NULL, FALSE, rw);
  properties[PROP_BLOCKED] = g_param_spec_boolean ("blocked", NULL, NULL, FALSE, rw);
  properties[PROP_ADDED_TIME] =
    g_param_spec_int64 ("added-time", NULL, NULL, 0, G_MAXINT64, 0, rw);
  properties[PROP_UPDATED_TIME] =
    g_param_spec_int64 ("updated-time", NULL, NULL, 0, G_MAXINT64, 0, rw);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
natter_contact_init (NatterContact *self)
{
}

/**
 * natter_contact_new:
 * @user_id: the contact's user ID (text form of their public key)
 *
 * Returns: (transfer full): a contact that is not stored anywhere yet
 */
NatterContact *
natter_contact_new (const char *user_id)
{
  g_return_val_if_fail (user_id != NULL && *user_id != '\0', NULL);

  return g_object_new (NATTER_TYPE_CONTACT, "user-id", user_id, NULL);
}

const char *
natter_contact_get_user_id (NatterContact *self)
{
  g_return_val_if_fail (NATTER_IS_CONTACT (self), NULL);

  return self->user_id;
}

/**
 * natter_contact_get_name:
 *
 * Returns: the name to show: the alias the user chose, else the name the
 *   contact gave themselves, else the start of their user ID
 */
const char *
natter_contact_get_name (NatterContact *self)
{
  g_return_val_if_fail (NATTER_IS_CONTACT (self), NULL);

  if (self->alias != NULL)
    return self->alias;
  if (self->display_name != NULL)
    return self->display_name;
  return self->short_id;
}

const char *
natter_contact_get_display_name (NatterContact *self)
{
  g_return_val_if_fail (NATTER_IS_CONTACT (self), NULL);

  return self->display_name;
}

void
natter_contact_set_display_name (NatterContact *self,
                                 const char    *display_name)
{
  g_return_if_fail (NATTER_IS_CONTACT (self));

  set_string (self, &self->display_name, display_name, PROP_DISPLAY_NAME);
}

const char *
natter_contact_get_alias (NatterContact *self)
{
  g_return_val_if_fail (NATTER_IS_CONTACT (self), NULL);

  return self->alias;
}

void
natter_contact_set_alias (NatterContact *self,
                          const char    *alias)
{
  g_return_if_fail (NATTER_IS_CONTACT (self));

  set_string (self, &self->alias, alias, PROP_ALIAS);
}

const char *
natter_contact_get_bio (NatterContact *self)
{
  g_return_val_if_fail (NATTER_IS_CONTACT (self), NULL);

  return self->bio;
}

void
natter_contact_set_bio (NatterContact *self,
                        const char    *bio)
{
  g_return_if_fail (NATTER_IS_CONTACT (self));

  set_string (self, &self->bio, bio, PROP_BIO);
}

/**
 * natter_contact_get_avatar:
 *
 * Returns: (transfer none) (nullable): the encoded avatar image
 */
GBytes *
natter_contact_get_avatar (NatterContact *self)
{
  g_return_val_if_fail (NATTER_IS_CONTACT (self), NULL);

  return self->avatar;
}

void
natter_contact_set_avatar (NatterContact *self,
                           GBytes        *avatar)
{
  g_return_if_fail (NATTER_IS_CONTACT (self));

  if (self->avatar == avatar ||
      (self->avatar != NULL && avatar != NULL && g_bytes_equal (self->avatar, avatar)))
    return;

  g_clear_pointer (&self->avatar, g_bytes_unref);
  self->avatar = avatar != NULL ? g_bytes_ref (avatar) : NULL;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_AVATAR]);
}

NatterPresence
natter_contact_get_presence (NatterContact *self)
{
  g_return_val_if_fail (NATTER_IS_CONTACT (self), NATTER_PRESENCE_UNKNOWN);

  return self->presence;
}

void
natter_contact_set_presence (NatterContact  *self,
                             NatterPresence  presence)
{
  g_return_if_fail (NATTER_IS_CONTACT (self));

  if (self->presence == presence)
    return;

  self->presence = presence;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PRESENCE]);
}

gboolean
natter_contact_get_verified (NatterContact *self)
{
  g_return_val_if_fail (NATTER_IS_CONTACT (self), FALSE);

  return self->verified;
}

void
natter_contact_set_verified (NatterContact *self,
                             gboolean       verified)
{
  g_return_if_fail (NATTER_IS_CONTACT (self));

  set_flag (self, &self->verified, verified, PROP_VERIFIED);
}

gboolean
natter_contact_get_blocked (NatterContact *self)
{
  g_return_val_if_fail (NATTER_IS_CONTACT (self), FALSE);

  return self->blocked;
}

void
natter_contact_set_blocked (NatterContact *self,
                            gboolean       blocked)
{
  g_return_if_fail (NATTER_IS_CONTACT (self));

  set_flag (self, &self->blocked, blocked, PROP_BLOCKED);
}


gint64
natter_contact_get_added_time (NatterContact *self)
{
  g_return_val_if_fail (NATTER_IS_CONTACT (self), 0);

  return self->added_time;
}

void
natter_contact_set_added_time (NatterContact *self,
                               gint64         added_time)
{
  g_return_if_fail (NATTER_IS_CONTACT (self));

  set_time (self, &self->added_time, added_time, PROP_ADDED_TIME);
}

gint64
natter_contact_get_updated_time (NatterContact *self)
{
  g_return_val_if_fail (NATTER_IS_CONTACT (self), 0);

  return self->updated_time;
}

void
natter_contact_set_updated_time (NatterContact *self,
                                 gint64         updated_time)
{
  g_return_if_fail (NATTER_IS_CONTACT (self));

  set_time (self, &self->updated_time, updated_time, PROP_UPDATED_TIME);
}
