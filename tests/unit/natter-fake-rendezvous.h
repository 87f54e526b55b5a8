/* natter-fake-rendezvous.h: one client's place on a NatterFakeHub
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "natter-fake-hub.h"
#include "natter-rendezvous.h"

G_BEGIN_DECLS

#define NATTER_TYPE_FAKE_RENDEZVOUS (natter_fake_rendezvous_get_type ())

G_DECLARE_FINAL_TYPE (NatterFakeRendezvous, natter_fake_rendezvous, NATTER, FAKE_RENDEZVOUS,
                      GObject)

NatterFakeRendezvous *natter_fake_rendezvous_new          (NatterFakeHub        *hub,
                                                           const char           *user_id);
const char           *natter_fake_rendezvous_get_user_id  (NatterFakeRendezvous *self);
gboolean              natter_fake_rendezvous_watches      (NatterFakeRendezvous *self,
                                                           const char           *user_id);

/* For NatterFakeHub, in the order the hub delivers */
void                  _natter_fake_rendezvous_presence    (NatterFakeRendezvous *self,
                                                           const char           *user_id,
                                                           gboolean              online);

G_END_DECLS
