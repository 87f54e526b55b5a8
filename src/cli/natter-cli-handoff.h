/* natter-cli-handoff.h: natter-cli's commands, run for another process of the profile
 *
 * The process online on a profile (natter-cli listen, or the app) runs the
 * commands other natter-cli processes hand it through the profile's
 * NatterControl socket, with natter-cli's own code, so their output is
 * natter-cli's wherever they run.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <json-glib/json-glib.h>

#include "natter-client.h"
#include "natter-control.h"
#include "natter-profile.h"

G_BEGIN_DECLS

void natter_cli_run_handed_over (NatterProfile     *profile,
                                 NatterClient      *client,
                                 JsonObject        *request,
                                 NatterControlCall *call);

G_END_DECLS
