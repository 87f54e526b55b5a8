/* natter-invitation.h: an invitation to become contacts, as the server keeps it
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib-object.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef enum
{
  NATTER_INVITATION_STATUS_PENDING,
  NATTER_INVITATION_STATUS_ACCEPTED,
  NATTER_INVITATION_STATUS_DECLINED,
} NatterInvitationStatus;

#define NATTER_TYPE_INVITATION_STATUS (natter_invitation_status_get_type ())
GType natter_invitation_status_get_type (void) G_GNUC_CONST;

#define NATTER_TYPE_INVITATION (natter_invitation_get_type ())

G_DECLARE_FINAL_TYPE (NatterInvitation, natter_invitation, NATTER, INVITATION, GObject)

NatterInvitation       *natter_invitation_new_from_json (JsonObject       *object,
                                                         GError          **error);
const char             *natter_invitation_get_id        (NatterInvitation *self);
const char             *natter_invitation_get_from      (NatterInvitation *self);
const char             *natter_invitation_get_from_name (NatterInvitation *self);
const char             *natter_invitation_get_to        (NatterInvitation *self);
const char             *natter_invitation_get_text      (NatterInvitation *self);
gint64                  natter_invitation_get_created   (NatterInvitation *self);
gint64                  natter_invitation_get_expires   (NatterInvitation *self);
NatterInvitationStatus  natter_invitation_get_status    (NatterInvitation *self);
JsonObject             *natter_invitation_to_json       (NatterInvitation *self);

G_END_DECLS
