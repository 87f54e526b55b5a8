/* natter-fake-hub.h: an in-process stand-in for the signaling server, for unit tests
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "natter-rendezvous.h"

G_BEGIN_DECLS

#define NATTER_TYPE_FAKE_HUB (natter_fake_hub_get_type ())

G_DECLARE_FINAL_TYPE (NatterFakeHub, natter_fake_hub, NATTER, FAKE_HUB, GObject)

typedef struct _NatterFakeRendezvous NatterFakeRendezvous;

NatterFakeHub *natter_fake_hub_new            (void);
void           natter_fake_hub_set_dropping   (NatterFakeHub        *self,
                                               gboolean              dropping);
void           natter_fake_hub_set_tampering  (NatterFakeHub        *self,
                                               gboolean              tampering);
guint          natter_fake_hub_get_relayed    (NatterFakeHub        *self);
gboolean       natter_fake_hub_is_online      (NatterFakeHub        *self,
                                               const char           *user_id);

/* For NatterFakeRendezvous */
void           _natter_fake_hub_join          (NatterFakeHub        *self,
                                               NatterFakeRendezvous *member);
void           _natter_fake_hub_leave         (NatterFakeHub        *self,
                                               NatterFakeRendezvous *member);
void           _natter_fake_hub_tell_presence (NatterFakeHub        *self,
                                               NatterFakeRendezvous *member,
                                               const char           *user_id);
void           _natter_fake_hub_relay         (NatterFakeHub        *self,
                                               NatterFakeRendezvous *from,
                                               const char           *to,
                                               JsonObject           *payload);

G_END_DECLS
