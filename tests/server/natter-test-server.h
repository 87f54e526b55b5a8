/* natter-test-server.h: runs the real natter-server binary for tests
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define NATTER_TYPE_TEST_SERVER (natter_test_server_get_type ())

G_DECLARE_FINAL_TYPE (NatterTestServer, natter_test_server, NATTER, TEST_SERVER, GObject)

gboolean          natter_test_server_available      (void);
gboolean          natter_test_under_valgrind        (void);
gboolean          natter_test_under_sanitizer       (void);
guint             natter_test_timeout_ms            (guint              base_ms);
gboolean          natter_test_wait_until            (const gboolean    *flag,
                                                     guint              timeout_ms);
void              natter_test_sleep_ms              (guint              ms);
void              natter_test_remove_tree           (const char        *path);
G_NORETURN void   natter_test_fail                  (const char        *format,
                                                     ...) G_GNUC_PRINTF (1, 2);

NatterTestServer *natter_test_server_new            (const char        *first_option,
                                                     ...) G_GNUC_NULL_TERMINATED;
NatterTestServer *natter_test_server_new_with_fd_limit (guint           fd_limit,
                                                        const char     *first_option,
                                                        ...) G_GNUC_NULL_TERMINATED;
guint64           natter_test_server_get_rss_kib    (NatterTestServer  *self);
guint             natter_test_server_count_in_log   (NatterTestServer  *self,
                                                     const char        *text);
void              natter_test_server_stop           (NatterTestServer  *self);
void              natter_test_server_restart        (NatterTestServer  *self);
gboolean          natter_test_server_is_tls         (NatterTestServer  *self);
guint16           natter_test_server_get_port       (NatterTestServer  *self);
char             *natter_test_server_get_uri        (NatterTestServer  *self,
                                                     const char        *path);
JsonObject       *natter_test_server_get_json       (NatterTestServer  *self,
                                                     const char        *path);

G_END_DECLS
