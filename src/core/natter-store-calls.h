/* natter-store-calls.h: the history's call records
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "natter-call.h"
#include "natter-store.h"

G_BEGIN_DECLS

gboolean    natter_store_add_call    (NatterStore  *self,
                                      NatterCall   *call,
                                      GError      **error);
GPtrArray  *natter_store_list_calls  (NatterStore  *self,
                                      const char   *user_id,
                                      guint         limit,
                                      GError      **error);

G_END_DECLS
