/* natter-core-layer.h: included first in every file above core
 *
 * The app and natter-cli reach the history only through NatterStore and
 * the other objects of core. libsoup, GStreamer and libsecret stay out of
 * their reach because their headers are not on those layers' include path;
 * <sqlite3.h> lives in the compiler's own include folder, so its
 * functions are poisoned here instead: a file above core that includes it
 * does not compile.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#pragma GCC poison sqlite3_open sqlite3_open_v2 sqlite3_prepare_v2 sqlite3_exec sqlite3_close
