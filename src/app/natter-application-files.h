/* natter-application-files.h: the application's side of file transfers
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "natter-application.h"

G_BEGIN_DECLS

void natter_application_files_watch (NatterApplication *self,
                                     NatterClient      *client);

G_END_DECLS
