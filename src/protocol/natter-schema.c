/* natter-schema.c: member validation shared by frames and envelopes
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "natter-protocol"

#include "config.h"

#include <string.h>

#include "natter-protocol-error.h"
#include "natter-schema-private.h"
#include "natter-user-id.h"

const char *
natter_schema_get_string (JsonNode *node)
{
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;

  return json_node_get_string (node);
}

gboolean
natter_schema_validate_member (JsonObject        *object,
                               const MemberSpec  *spec,
                               GError           **error)
{
  JsonNode *node = json_object_get_member (object, spec->name);
  const char *str = NULL;

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    {
      if (!spec->required)
        return TRUE;

      g_set_error (error, NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_BAD_FRAME,
                   "The member '%s' is missing", spec->name);
      return FALSE;
    }

  switch (spec->kind)
    {
    case M_STRING:
    case M_USER:
    case M_HANDLE:
    case M_ROOM:
      str = natter_schema_get_string (node);
      if (str == NULL)
        break;
      if (spec->kind == M_STRING)
        {
          if (strlen (str) > spec->max_length)
            {
              g_set_error (error, NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_BAD_FRAME,
                           "The member '%s' is longer than %" G_GSIZE_FORMAT " bytes",
                           spec->name, spec->max_length);
              return FALSE;
            }
        }
      else if (spec->kind == M_USER)
        {
          if (!natter_user_id_is_valid (str))
            {
              g_set_error (error, NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_INVALID_USER,
                           "The member '%s' is not a valid user ID", spec->name);
              return FALSE;
            }
        }
      else if (spec->kind == M_HANDLE)
        {
          g_autofree char *handle = natter_handle_normalize (str, error);

          if (handle == NULL)
            return FALSE;
        }
      else if (!natter_room_name_is_valid (str))
        {
          g_set_error_literal (error, NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_INVALID_ROOM,
                               "A room name is 1 to 64 bytes without control characters");
          return FALSE;
        }
      return TRUE;

    case M_INT:
      if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_INT64)
        return TRUE;
      break;

    case M_BOOL:
      if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_BOOLEAN)
        return TRUE;
      break;

    case M_OBJECT:
      if (JSON_NODE_HOLDS_OBJECT (node))
        return TRUE;
      break;

    case M_ARRAY:
      if (JSON_NODE_HOLDS_ARRAY (node))
        return TRUE;
      break;

    case M_USER_ARRAY:
      if (JSON_NODE_HOLDS_ARRAY (node))
        {
          JsonArray *array = json_node_get_array (node);
          guint n = json_array_get_length (array);

          if (n > spec->max_length)
            {
              g_set_error (error, NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_LIMIT_EXCEEDED,
                           "The member '%s' lists more than %" G_GSIZE_FORMAT " users",
                           spec->name, spec->max_length);
              return FALSE;
            }

          for (guint i = 0; i < n; i++)
            {
              const char *user = natter_schema_get_string (json_array_get_element (array, i));

              if (user == NULL)
                {
                  g_set_error (error, NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_BAD_FRAME,
                               "The member '%s' must be an array of strings", spec->name);
                  return FALSE;
                }
              if (!natter_user_id_is_valid (user))
                {
                  g_set_error (error, NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_INVALID_USER,
                               "Entry %u of '%s' is not a valid user ID", i, spec->name);
                  return FALSE;
                }
            }
          return TRUE;
        }
      break;

    case M_ID_ARRAY:
      if (JSON_NODE_HOLDS_ARRAY (node))
        {
          JsonArray *array = json_node_get_array (node);
          guint n = json_array_get_length (array);

          if (n > spec->max_length)
            {
              g_set_error (error, NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_LIMIT_EXCEEDED,
                           "The member '%s' has more than %" G_GSIZE_FORMAT " entries",
                           spec->name, spec->max_length);
              return FALSE;
            }

          for (guint i = 0; i < n; i++)
            {
              const char *id = natter_schema_get_string (json_array_get_element (array, i));

              if (id == NULL || *id == '\0' || strlen (id) > 64)
                {
                  g_set_error (error, NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_BAD_FRAME,
                               "The member '%s' must be an array of short strings", spec->name);
                  return FALSE;
                }
            }
          return TRUE;
        }
      break;

    default:
      g_assert_not_reached ();
    }

  g_set_error (error, NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_BAD_FRAME,
               "The member '%s' has the wrong type", spec->name);
  return FALSE;
}

/*
 * natter_schema_parse_object:
 *
 * Parses @data as one JSON object of at most @max_size bytes of UTF-8.
 * Returns: (transfer full) (nullable): the object
 */
JsonObject *
natter_schema_parse_object (const char  *data,
                            gsize        length,
                            gsize        max_size,
                            GError     **error)
{
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(GError) parse_error = NULL;
  JsonNode *root;

  if (length > max_size)
    {
      g_set_error (error, NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_FRAME_TOO_LARGE,
                   "The frame is larger than %" G_GSIZE_FORMAT " bytes", max_size);
      return NULL;
    }

  if (length == 0 || !g_utf8_validate_len (data, length, NULL))
    {
      g_set_error_literal (error, NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_BAD_JSON,
                           "The frame is not UTF-8 text");
      return NULL;
    }

  parser = json_parser_new ();
  if (!json_parser_load_from_data (parser, data, (gssize) length, &parse_error))
    {
      g_set_error (error, NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_BAD_JSON,
                   "The frame is not valid JSON: %s", parse_error->message);
      return NULL;
    }

  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error_literal (error, NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_BAD_FRAME,
                           "A frame is a JSON object");
      return NULL;
    }

  return json_object_ref (json_node_get_object (root));
}
