/* natter-contact-session.h: one contact as this client is with them now
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib-object.h>

#include "natter-dual-rendezvous.h"
#include "natter-message.h"
#include "natter-peer.h"

G_BEGIN_DECLS

#define NATTER_TYPE_CONTACT_SESSION (natter_contact_session_get_type ())

G_DECLARE_FINAL_TYPE (NatterContactSession, natter_contact_session, NATTER, CONTACT_SESSION,
                      GObject)

const char      *natter_contact_session_get_contact_id    (NatterContactSession *self);
gboolean         natter_contact_session_get_online        (NatterContactSession *self);
NatterPeerState  natter_contact_session_get_peer_state    (NatterContactSession *self);
gboolean         natter_contact_session_get_typing        (NatterContactSession *self);
gboolean         natter_contact_session_get_verified      (NatterContactSession *self);
const char      *natter_contact_session_get_trust_failure (NatterContactSession *self);
NatterRoute      natter_contact_session_get_route         (NatterContactSession *self);

G_END_DECLS
