/* natter-test-raw.h: plain TCP clients for the limits tests
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * What a WebSocket library never does on purpose: connect and send half a
 * request, stop reading, come from another loopback address. Blocking
 * sockets with a timeout; every call fails the test on a time-out.
 */
#pragma once

#include <gio/gio.h>

#include "natter-test-server.h"

G_BEGIN_DECLS

GSocket  *natter_test_raw_connect        (NatterTestServer *server,
                                          const char       *source_address,
                                          gsize             receive_buffer);
void      natter_test_raw_send           (GSocket          *socket,
                                          const char       *text);
char     *natter_test_raw_read_head      (GSocket          *socket);
guint     natter_test_raw_http_status    (GSocket          *socket,
                                          const char       *path);
void      natter_test_raw_upgrade        (GSocket          *socket);
void      natter_test_raw_send_text      (GSocket          *socket,
                                          const char       *text);
char     *natter_test_raw_read_frame     (GSocket          *socket,
                                          guint            *opcode);
char     *natter_test_raw_authenticate   (GSocket          *socket,
                                          NatterTestServer *server);
gboolean  natter_test_raw_wait_eof       (GSocket          *socket,
                                          guint             timeout_ms);
guint     natter_test_raw_read_until_close (GSocket        *socket);

G_END_DECLS
