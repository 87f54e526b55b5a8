/* natter-invitation.c: an invitation to become contacts, as the server keeps it
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "natter-invitation"

#include "config.h"

#include <string.h>

#include "natter-invitation.h"
#include "natter-protocol.h"
#include "natter-safe-text.h"

struct _NatterInvitation
{
  GObject                 parent_instance;

  char                   *id;
  char                   *from;
  char                   *from_name;
  char                   *to;
  char                   *text;
  gint64                  created;
  gint64                  expires;
  NatterInvitationStatus  status;
};

enum {
  PROP_0,
  PROP_ID,
  PROP_FROM,
  PROP_FROM_NAME,
  PROP_TO,
  PROP_TEXT,
  PROP_CREATED,
  PROP_EXPIRES,
  PROP_STATUS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_ENUM_TYPE (NatterInvitationStatus, natter_invitation_status,
  G_DEFINE_ENUM_VALUE (NATTER_INVITATION_STATUS_PENDING, "pending"),
  G_DEFINE_ENUM_VALUE (NATTER_INVITATION_STATUS_ACCEPTED, "accepted"),
  G_DEFINE_ENUM_VALUE (NATTER_INVITATION_STATUS_DECLINED, "declined"))

G_DEFINE_FINAL_TYPE (NatterInvitation, natter_invitation, G_TYPE_OBJECT)

static void
natter_invitation_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  NatterInvitation *self = NATTER_INVITATION (object);

  switch (prop_id)
    {
    case PROP_ID:
      g_value_set_string (value, self->id);
      break;

    case PROP_FROM:
      g_value_set_string (value, self->from);
      break;

    case PROP_FROM_NAME:
      g_value_set_string (value, self->from_name);
      break;

    case PROP_TO:
      g_value_set_string (value, self->to);
      break;

    case PROP_TEXT:
      g_value_set_string (value, self->text);
      break;

    case PROP_CREATED:
      g_value_set_int64 (value, self->created);
      break;

    case PROP_EXPIRES:
      g_value_set_int64 (value, self->expires);
      break;

    case PROP_STATUS:
      g_value_set_enum (value, self->status);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
natter_invitation_finalize (GObject *object)
{
  NatterInvitation *self = NATTER_INVITATION (object);

  g_free (self->id);
  g_free (self->from);
  g_free (self->from_name);
  g_free (self->to);
  g_free (self->text);

  G_OBJECT_CLASS (natter_invitation_parent_class)->finalize (object);
}

static void
natter_invitation_class_init (NatterInvitationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags flags = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS;

  object_class->get_property = natter_invitation_get_property;
  object_class->finalize = natter_invitation_finalize;

  /* The server chooses it: 32 hex digits */
  properties[PROP_ID] = g_param_spec_string ("id", NULL, NULL, NULL, flags);
  properties[PROP_FROM] = g_param_spec_string ("from", NULL, NULL, NULL, flags);
  /* The display name the sender gave, kept by the server with the
   * invitation: a stranger's claim, on one line, never markup */
  properties[PROP_FROM_NAME] = g_param_spec_string ("from-name", NULL, NULL, NULL, flags);
  properties[PROP_TO] = g_param_spec_string ("to", NULL, NULL, NULL, flags);
  /* What the sender wrote: text from a stranger, never markup */
  properties[PROP_TEXT] = g_param_spec_string ("text", NULL, NULL, NULL, flags);
  /* Unix times in seconds */
  properties[PROP_CREATED] = g_param_spec_int64 ("created", NULL, NULL, 0, G_MAXINT64, 0, flags);
  properties[PROP_EXPIRES] = g_param_spec_int64 ("expires", NULL, NULL, 0, G_MAXINT64, 0, flags);
  properties[PROP_STATUS] =
    g_param_spec_enum ("status", NULL, NULL, NATTER_TYPE_INVITATION_STATUS,
                       NATTER_INVITATION_STATUS_PENDING, flags);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
natter_invitation_init (NatterInvitation *self)
{
}

static gboolean
parse_status (const char             *name,
              NatterInvitationStatus *status)
{
  g_autoptr(GEnumClass) klass = g_type_class_ref (NATTER_TYPE_INVITATION_STATUS);
  GEnumValue *value = name != NULL ? g_enum_get_value_by_nick (klass, name) : NULL;

  if (value == NULL)
    return FALSE;

  *status = value->value;
  return TRUE;
}

/* At most NATTER_INVITATION_NAME_MAX bytes of UTF-8 on one line, or NULL */
static char *
dup_name (const char *name)
{
  g_autofree char *safe = NULL;
  const char *end;

  if (name == NULL || !g_utf8_validate (name, -1, NULL))
    return NULL;

  safe = natter_safe_text (name, " ");
  g_strstrip (safe);
  if (strlen (safe) > NATTER_INVITATION_NAME_MAX)
    {
      end = g_utf8_find_prev_char (safe, safe + NATTER_INVITATION_NAME_MAX + 1);
      *(char *) end = '\0';
    }

  return *safe != '\0' ? g_steal_pointer (&safe) : NULL;
}

/**
 * natter_invitation_new_from_json:
 * @object: an invitation object of docs/protocol.md, from the server
 * @error: a #GError
 *
 * Returns: (transfer full): the invitation, or %NULL with @error set when
 *   @object is not one (the server is not trusted to send only good ones)
 */
NatterInvitation *
natter_invitation_new_from_json (JsonObject  *object,
                                 GError     **error)
{
  g_autoptr(NatterInvitation) self = NULL;
  const char *id;
  const char *from;
  const char *to;

  g_return_val_if_fail (object != NULL, NULL);

  id = json_object_get_string_member_with_default (object, "id", NULL);
  from = json_object_get_string_member_with_default (object, "from", NULL);
  to = json_object_get_string_member_with_default (object, "to", NULL);
  if (id == NULL || *id == '\0' || !natter_user_id_is_valid (from) ||
      !natter_user_id_is_valid (to))
    {
      g_set_error_literal (error, NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_BAD_FRAME,
                           "The server sent an invitation without its ID or people");
      return NULL;
    }

  self = g_object_new (NATTER_TYPE_INVITATION, NULL);
  self->id = g_strdup (id);
  self->from = g_strdup (from);
  self->to = g_strdup (to);
  self->text = g_strdup (json_object_get_string_member_with_default (object, "text", NULL));
  self->from_name = dup_name (json_object_get_string_member_with_default (object, "from_name",
                                                                          NULL));
  self->created = MAX (0, json_object_get_int_member_with_default (object, "created", 0));
  self->expires = MAX (0, json_object_get_int_member_with_default (object, "expires", 0));
  if (!parse_status (json_object_get_string_member_with_default (object, "status", "pending"),
                     &self->status))
    self->status = NATTER_INVITATION_STATUS_PENDING;

  return g_steal_pointer (&self);
}

const char *
natter_invitation_get_id (NatterInvitation *self)
{
  g_return_val_if_fail (NATTER_IS_INVITATION (self), NULL);

  return self->id;
}

/**
 * natter_invitation_get_from_name:
 * @self: a #NatterInvitation
 *
 * Returns: (nullable): the display name the sender gave, on one line; what
 *   a stranger says of themselves, so shown with their ID
 */
const char *
natter_invitation_get_from_name (NatterInvitation *self)
{
  g_return_val_if_fail (NATTER_IS_INVITATION (self), NULL);

  return self->from_name;
}

const char *
natter_invitation_get_from (NatterInvitation *self)
{
  g_return_val_if_fail (NATTER_IS_INVITATION (self), NULL);

  return self->from;
}

const char *
natter_invitation_get_to (NatterInvitation *self)
{
  g_return_val_if_fail (NATTER_IS_INVITATION (self), NULL);

  return self->to;
}

/**
 * natter_invitation_get_text:
 * @self: a #NatterInvitation
 *
 * Returns: (nullable): the sender's note
 */
const char *
natter_invitation_get_text (NatterInvitation *self)
{
  g_return_val_if_fail (NATTER_IS_INVITATION (self), NULL);

  return self->text;
}

gint64
natter_invitation_get_created (NatterInvitation *self)
{
  g_return_val_if_fail (NATTER_IS_INVITATION (self), 0);

  return self->created;
}

gint64
natter_invitation_get_expires (NatterInvitation *self)
{
  g_return_val_if_fail (NATTER_IS_INVITATION (self), 0);

  return self->expires;
}

NatterInvitationStatus
natter_invitation_get_status (NatterInvitation *self)
{
  g_return_val_if_fail (NATTER_IS_INVITATION (self), NATTER_INVITATION_STATUS_PENDING);

  return self->status;
}

/**
 * natter_invitation_to_json:
 * @self: a #NatterInvitation
 *
 * Returns: (transfer full): the invitation object of docs/protocol.md, for
 *   natter-cli's JSON output
 */
JsonObject *
natter_invitation_to_json (NatterInvitation *self)
{
  g_autoptr(GEnumClass) klass = NULL;
  JsonObject *object;

  g_return_val_if_fail (NATTER_IS_INVITATION (self), NULL);

  klass = g_type_class_ref (NATTER_TYPE_INVITATION_STATUS);
  object = json_object_new ();
  json_object_set_string_member (object, "id", self->id);
  json_object_set_string_member (object, "from", self->from);
  if (self->from_name != NULL)
    json_object_set_string_member (object, "from_name", self->from_name);
  json_object_set_string_member (object, "to", self->to);
  /* null when the sender wrote none, as the server says it */
  json_object_set_string_member (object, "text", self->text);
  json_object_set_int_member (object, "created", self->created);
  json_object_set_int_member (object, "expires", self->expires);
  json_object_set_string_member (object, "status",
                                 g_enum_get_value (klass, self->status)->value_nick);

  return object;
}
