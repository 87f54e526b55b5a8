/* natter-file-name.h: file names from peers, made safe for the disk
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* The longest name a file gets, in bytes (most file systems' limit) */
#define NATTER_FILE_NAME_MAX 255

char  *natter_file_name_sanitize    (const char  *name);
char  *natter_file_name_partial     (const char  *name);
GFile *natter_file_name_unique      (GFile       *folder,
                                     const char  *name);

G_END_DECLS
