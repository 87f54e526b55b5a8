/* natter-client-private.h: what tests may reach inside a NatterClient
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "natter-client.h"

G_BEGIN_DECLS

/* Sends @text as it is on the contact's open chat channel: a test plays a
 * peer that sends what an honest client never would. */
gboolean _natter_client_send_envelope (NatterClient  *self,
                                       const char    *contact_id,
                                       const char    *text,
                                       GError       **error);

G_END_DECLS
