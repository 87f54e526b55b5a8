/* natter-test-client.h: a signaling client for tests, on a real WebSocket
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <json-glib/json-glib.h>

#include "natter-protocol.h"
#include "natter-test-server.h"

G_BEGIN_DECLS

#define NATTER_TYPE_TEST_CLIENT (natter_test_client_get_type ())

G_DECLARE_FINAL_TYPE (NatterTestClient, natter_test_client, NATTER, TEST_CLIENT, GObject)

/* Frames are written with ' for " so that tests stay readable:
 * natter_test_client_send (client, "{'type':'ping','id':'%d'}", n) */

NatterTestClient *natter_test_client_new               (NatterTestServer  *server);
NatterTestClient *natter_test_client_new_same_user     (NatterTestClient  *other);
NatterTestClient *natter_test_client_new_same_user_on  (NatterTestClient  *other,
                                                        NatterTestServer  *server);
NatterTestClient *natter_test_client_new_authenticated (NatterTestServer  *server);
NatterTestClient *natter_test_client_new_connected     (NatterTestServer  *server);

const char       *natter_test_client_get_user          (NatterTestClient  *self);
const guint8     *natter_test_client_get_secret_key    (NatterTestClient  *self);
const char       *natter_test_client_get_nonce         (NatterTestClient  *self);
char             *natter_test_client_get_server_name   (NatterTestClient  *self);

gboolean          natter_test_client_open              (NatterTestClient  *self,
                                                        gboolean           accept_certificate,
                                                        GError           **error);
JsonObject       *natter_test_client_connect           (NatterTestClient  *self);
JsonObject       *natter_test_client_authenticate      (NatterTestClient  *self);
void              natter_test_client_close             (NatterTestClient  *self);

void              natter_test_client_send_raw          (NatterTestClient  *self,
                                                        const char        *text);
void              natter_test_client_send_binary       (NatterTestClient  *self,
                                                        gconstpointer      data,
                                                        gsize              length);
void              natter_test_client_send              (NatterTestClient  *self,
                                                        const char        *format,
                                                        ...) G_GNUC_PRINTF (2, 3);
JsonObject       *natter_test_client_request           (NatterTestClient  *self,
                                                        const char        *format,
                                                        ...) G_GNUC_PRINTF (2, 3);
void              natter_test_client_request_error     (NatterTestClient  *self,
                                                        const char        *code,
                                                        const char        *format,
                                                        ...) G_GNUC_PRINTF (3, 4);

JsonObject       *natter_test_client_wait              (NatterTestClient  *self,
                                                        const char        *type);
JsonObject       *natter_test_client_wait_ref          (NatterTestClient  *self,
                                                        const char        *ref);
void              natter_test_client_expect_error      (NatterTestClient  *self,
                                                        const char        *code,
                                                        const char        *ref);
guint             natter_test_client_take_errors       (NatterTestClient  *self,
                                                        const char        *code,
                                                        const char        *ref);
void              natter_test_client_assert_no_frame   (NatterTestClient  *self,
                                                        const char        *type,
                                                        guint              ms);
void              natter_test_client_ping              (NatterTestClient  *self);
gushort           natter_test_client_wait_closed       (NatterTestClient  *self);
gboolean          natter_test_client_is_closed         (NatterTestClient  *self);

G_END_DECLS
