/* natter-schema-private.h: member validation shared by frames and envelopes
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef enum
{
  M_STRING,       /* a string of at most max_length bytes */
  M_USER,         /* a valid user ID */
  M_USER_ARRAY,   /* an array of at most max_length valid user IDs */
  M_HANDLE,       /* a handle, syntax checked */
  M_ROOM,         /* a room name, syntax checked */
  M_INT,
  M_BOOL,
  M_OBJECT,
  M_ARRAY,
  M_ID_ARRAY,     /* an array of at most max_length strings of at most 64 bytes */
} MemberKind;

typedef struct
{
  const char *name;
  MemberKind  kind;
  gboolean    required;
  gsize       max_length;
} MemberSpec;

const char  *natter_schema_get_string       (JsonNode          *node);
gboolean     natter_schema_validate_member  (JsonObject        *object,
                                             const MemberSpec  *spec,
                                             GError           **error);
gboolean     natter_schema_scan_members     (const char        *data,
                                             gsize              length,
                                             const char * const *names,
                                             const char       **starts,
                                             const char       **ends);
char        *natter_schema_to_json          (JsonObject        *object,
                                             gsize             *length);
JsonObject  *natter_schema_parse_object     (const char        *data,
                                             gsize              length,
                                             gsize              max_size,
                                             GError           **error);

G_END_DECLS
