/* natter-store-private.h: what the files of NatterStore share
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <sqlite3.h>

#include "natter-store.h"

G_BEGIN_DECLS

sqlite3  *_natter_store_get_db              (NatterStore  *self);
void      _natter_store_mark_damaged        (NatterStore  *self);
gboolean  _natter_store_inspect             (const char   *path,
                                             GError      **error);
gboolean  _natter_store_create_private_file (const char   *path,
                                             GError      **error);
gboolean  _natter_store_rename_durably      (const char   *from,
                                             const char   *to,
                                             GError      **error);

G_END_DECLS
