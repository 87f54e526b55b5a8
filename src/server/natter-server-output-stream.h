/* natter-server-output-stream.h: a pollable output stream that counts what it passes on
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define NATTER_TYPE_SERVER_OUTPUT_STREAM (natter_server_output_stream_get_type ())

G_DECLARE_FINAL_TYPE (NatterServerOutputStream, natter_server_output_stream,
                      NATTER, SERVER_OUTPUT_STREAM, GOutputStream)

GOutputStream *natter_server_output_stream_new               (GOutputStream            *base);
guint64        natter_server_output_stream_get_bytes_written (NatterServerOutputStream *self);

G_END_DECLS
