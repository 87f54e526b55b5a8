/* natter-alert.h: a question or a message over a window, the libadwaita way
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

GtkWidget *natter_alert_new          (GtkWidget             *parent,
                                      const char            *heading,
                                      const char            *body);
void       natter_alert_add_response (GtkWidget             *alert,
                                      const char            *id,
                                      const char            *label,
                                      AdwResponseAppearance  appearance);
void       natter_alert_set_cancel   (GtkWidget             *alert,
                                      const char            *id);
void       natter_alert_present      (GtkWidget             *alert,
                                      GtkWidget             *parent);

G_END_DECLS
