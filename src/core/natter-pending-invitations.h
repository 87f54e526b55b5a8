/* natter-pending-invitations.h: the invitations we sent that await an answer
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "natter-signaling.h"

G_BEGIN_DECLS

#define NATTER_TYPE_PENDING_INVITATIONS (natter_pending_invitations_get_type ())

G_DECLARE_FINAL_TYPE (NatterPendingInvitations, natter_pending_invitations, NATTER,
                      PENDING_INVITATIONS, GObject)

NatterPendingInvitations *natter_pending_invitations_new      (NatterSignaling          *signaling);
void                      natter_pending_invitations_add      (NatterPendingInvitations *self,
                                                               const char               *user_id);
void                      natter_pending_invitations_answered (NatterPendingInvitations *self,
                                                               const char               *user_id);
gboolean                  natter_pending_invitations_contains (NatterPendingInvitations *self,
                                                               const char               *user_id);

G_END_DECLS
