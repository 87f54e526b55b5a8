/* natter-first-run-page.h: asks for a display name and a server on the first run
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define NATTER_TYPE_FIRST_RUN_PAGE (natter_first_run_page_get_type ())

G_DECLARE_FINAL_TYPE (NatterFirstRunPage, natter_first_run_page, NATTER, FIRST_RUN_PAGE, AdwBin)

void natter_first_run_page_set_busy  (NatterFirstRunPage *self,
                                      gboolean            busy);
void natter_first_run_page_set_error (NatterFirstRunPage *self,
                                      const char         *message);
void natter_first_run_page_set_problem (NatterFirstRunPage *self,
                                        const char         *message);
void natter_first_run_page_set_values (NatterFirstRunPage *self,
                                       const char         *name,
                                       const char         *server_url);

G_END_DECLS
