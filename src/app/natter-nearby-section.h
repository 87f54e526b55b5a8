/* natter-nearby-section.h: the people on this network, in the sidebar
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

#include "natter-client.h"

G_BEGIN_DECLS

#define NATTER_TYPE_NEARBY_SECTION (natter_nearby_section_get_type ())

G_DECLARE_FINAL_TYPE (NatterNearbySection, natter_nearby_section, NATTER, NEARBY_SECTION, GtkBox)

void natter_nearby_section_set_client (NatterNearbySection *self,
                                       NatterClient        *client);

G_END_DECLS
