/* fuzz-target.h: the libFuzzer entry points of Natter's fuzz targets, and
 * the checks they share (fuzz-common.c)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <json-glib/json-glib.h>

int   LLVMFuzzerInitialize     (int            *argc,
                                char         ***argv);
int   LLVMFuzzerTestOneInput   (const uint8_t  *data,
                                size_t          size);

char *fuzz_copy_input          (const uint8_t  *data,
                                size_t          size);
void  fuzz_assert_text         (const char     *text,
                                gsize           length);
void  fuzz_assert_same_object  (JsonObject     *object,
                                JsonObject     *again);
