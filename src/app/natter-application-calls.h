/* natter-application-calls.h: the application's side of calls
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "natter-application.h"

G_BEGIN_DECLS

void natter_application_calls_startup (NatterApplication *self);
void natter_application_calls_watch   (NatterApplication *self,
                                       NatterClient      *client);

G_END_DECLS
