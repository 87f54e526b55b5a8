/* natter-control.h: one profile online in one process; the others hand it their commands
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef struct _NatterControlCall NatterControlCall;

#define NATTER_TYPE_CONTROL_CALL (natter_control_call_get_type ())
GType               natter_control_call_get_type   (void) G_GNUC_CONST;
NatterControlCall  *natter_control_call_ref        (NatterControlCall *call);
void                natter_control_call_unref      (NatterControlCall *call);
void                natter_control_call_print      (NatterControlCall *call,
                                                    gboolean           to_stderr,
                                                    const char        *text);
void                natter_control_call_finish     (NatterControlCall *call,
                                                    int                exit_code);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NatterControlCall, natter_control_call_unref)

#define NATTER_TYPE_CONTROL (natter_control_get_type ())

G_DECLARE_FINAL_TYPE (NatterControl, natter_control, NATTER, CONTROL, GObject)

char           *natter_control_socket_path     (const char   *profile_dir);
NatterControl  *natter_control_new             (const char   *profile_dir,
                                                GError      **error);
gboolean        natter_control_is_online       (const char   *profile_dir);
gboolean        natter_control_forward         (const char   *profile_dir,
                                                JsonObject   *request,
                                                int          *exit_code,
                                                GError      **error);

G_END_DECLS
