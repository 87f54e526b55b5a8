/* natter-schema.c: member validation shared by frames and envelopes
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "natter-protocol"

#include "config.h"

#include <math.h>
#include <string.h>

#include "natter-protocol-error.h"
#include "natter-json.h"
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
              const char *entry = natter_schema_get_string (json_array_get_element (array, i));

              if (entry == NULL ||
                  (spec->kind == M_ID_ARRAY && (*entry == '\0' || strlen (entry) > 64)))
                {
                  g_set_error (error, NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_BAD_FRAME,
                               "The member '%s' must be an array of short strings", spec->name);
                  return FALSE;
                }
              if (spec->kind == M_USER_ARRAY && !natter_user_id_is_valid (entry))
                {
                  g_set_error (error, NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_INVALID_USER,
                               "Entry %u of '%s' is not a valid user ID", i, spec->name);
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

/* A strict RFC 8259 check that runs before json-glib sees the text.
 *
 * json-glib is lenient (single quotes, comments, several documents in one
 * text — of which it leaks all but the last —, lone surrogates, integers
 * beyond 64 bits) and recursive (deep nesting uses the stack). Frames come
 * from strangers, so only plain JSON of bounded depth gets through. */

#define MAX_DEPTH 32

typedef struct
{
  const char *p;
  const char *end;
} Scanner;

static void
skip_space (Scanner *s)
{
  while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
    s->p++;
}

static int
hex_value (char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

static gboolean
scan_hex4 (Scanner *s,
           guint   *value)
{
  *value = 0;
  if (s->end - s->p < 4)
    return FALSE;

  for (int i = 0; i < 4; i++)
    {
      int v = hex_value (*s->p++);

      if (v < 0)
        return FALSE;
      *value = (*value << 4) | (guint) v;
    }

  return TRUE;
}

static gboolean
scan_string (Scanner *s)
{
  g_assert (*s->p == '"');
  s->p++;

  while (s->p < s->end)
    {
      guchar c = (guchar) *s->p++;

      if (c == '"')
        return TRUE;
      if (c < 0x20)
        return FALSE;
      if (c != '\\')
        continue;

      if (s->p >= s->end)
        return FALSE;

      switch (*s->p++)
        {
        case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
          break;

        case 'u':
          {
            guint unit, low;

            if (!scan_hex4 (s, &unit) || unit == 0)
              return FALSE;   /* json-glib would cut the string at \u0000 */
            if (unit >= 0xdc00 && unit <= 0xdfff)
              return FALSE;   /* a low surrogate alone */
            if (unit >= 0xd800 && unit <= 0xdbff)
              {
                if (s->end - s->p < 6 || s->p[0] != '\\' || s->p[1] != 'u')
                  return FALSE;
                s->p += 2;
                if (!scan_hex4 (s, &low) || low < 0xdc00 || low > 0xdfff)
                  return FALSE;
              }
          }
          break;

        default:
          return FALSE;
        }
    }

  return FALSE;
}

static gboolean
scan_number (Scanner *s)
{
  const char *start = s->p;
  gboolean integer = TRUE;
  char buffer[64];
  gsize length;

  if (s->p < s->end && *s->p == '-')
    s->p++;

  if (s->p >= s->end || !g_ascii_isdigit (*s->p))
    return FALSE;
  if (*s->p == '0')
    s->p++;
  else
    while (s->p < s->end && g_ascii_isdigit (*s->p))
      s->p++;

  if (s->p < s->end && *s->p == '.')
    {
      integer = FALSE;
      s->p++;
      if (s->p >= s->end || !g_ascii_isdigit (*s->p))
        return FALSE;
      while (s->p < s->end && g_ascii_isdigit (*s->p))
        s->p++;
    }

  if (s->p < s->end && (*s->p == 'e' || *s->p == 'E'))
    {
      integer = FALSE;
      s->p++;
      if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
        s->p++;
      if (s->p >= s->end || !g_ascii_isdigit (*s->p))
        return FALSE;
      while (s->p < s->end && g_ascii_isdigit (*s->p))
        s->p++;
    }

  /* Only numbers that survive json-glib unchanged: 64-bit integers and
   * finite doubles. */
  length = (gsize) (s->p - start);
  if (length >= sizeof buffer)
    return FALSE;
  memcpy (buffer, start, length);
  buffer[length] = '\0';

  if (integer)
    {
      gint64 value;

      return g_ascii_string_to_signed (buffer, 10, G_MININT64, G_MAXINT64, &value, NULL);
    }
  else
    {
      double value = g_ascii_strtod (buffer, NULL);
      char written[G_ASCII_DTOSTR_BUF_SIZE];

      if (!isfinite (value))
        return FALSE;

      /* json-glib 1.6 writes a double whose shortest form has an exponent
       * but no point, such as 1e22, as "1e+22.0": invalid JSON that a relay
       * would pass on. Such numbers are refused here. */
      g_ascii_dtostr (written, sizeof written, value);
      return strchr (written, 'e') == NULL || strchr (written, '.') != NULL;
    }
}

static gboolean
scan_literal (Scanner    *s,
              const char *word)
{
  gsize length = strlen (word);

  if ((gsize) (s->end - s->p) < length || memcmp (s->p, word, length) != 0)
    return FALSE;

  s->p += length;
  return TRUE;
}

static gboolean
scan_value (Scanner *s,
            guint    depth)
{
  skip_space (s);
  if (s->p >= s->end)
    return FALSE;

  switch (*s->p)
    {
    case '{':
    case '[':
      {
        char close = *s->p == '{' ? '}' : ']';
        gboolean object = close == '}';

        if (depth >= MAX_DEPTH)
          return FALSE;

        s->p++;
        skip_space (s);
        if (s->p < s->end && *s->p == close)
          {
            s->p++;
            return TRUE;
          }

        for (;;)
          {
            if (object)
              {
                skip_space (s);
                if (s->p >= s->end || *s->p != '"' || !scan_string (s))
                  return FALSE;
                skip_space (s);
                if (s->p >= s->end || *s->p++ != ':')
                  return FALSE;
              }

            if (!scan_value (s, depth + 1))
              return FALSE;

            skip_space (s);
            if (s->p >= s->end)
              return FALSE;
            if (*s->p == close)
              {
                s->p++;
                return TRUE;
              }
            if (*s->p++ != ',')
              return FALSE;
          }
      }

    case '"':
      return scan_string (s);

    case 't':
      return scan_literal (s, "true");

    case 'f':
      return scan_literal (s, "false");

    case 'n':
      return scan_literal (s, "null");

    default:
      return scan_number (s);
    }
}

static gboolean
is_strict_json (const char *data,
                gsize       length)
{
  Scanner s = { data, data + length };

  if (!scan_value (&s, 0))
    return FALSE;

  skip_space (&s);
  return s.p == s.end;
}

static gboolean
raw_string_equals (const char *start,
                   const char *end,
                   const char *word)
{
  gsize length = strlen (word);

  /* start and end enclose the quotes */
  return (gsize) (end - start) == length + 2 && memcmp (start + 1, word, length) == 0;
}

static gboolean
raw_string_is_plain (const char *start,
                     const char *end)
{
  return memchr (start, '\\', (gsize) (end - start)) == NULL;
}

/*
 * natter_schema_scan_members:
 * @data: text
 * @length: its length
 * @names: member names to find, %NULL-terminated
 * @starts: (out caller-allocates): where each value starts, or %NULL
 * @ends: (out caller-allocates): where each value ends
 *
 * Walks the top-level object of @data without building anything, for hot
 * paths that only need to find a few members. Fails on anything but a
 * single strict JSON object, on keys with escapes, and on duplicates of the
 * names looked for.
 */
gboolean
natter_schema_scan_members (const char         *data,
                            gsize               length,
                            const char * const *names,
                            const char        **starts,
                            const char        **ends)
{
  Scanner s = { data, data + length };
  guint n_names = g_strv_length ((char **) names);

  for (guint i = 0; i < n_names; i++)
    starts[i] = ends[i] = NULL;

  skip_space (&s);
  if (s.p >= s.end || *s.p != '{')
    return FALSE;
  s.p++;
  skip_space (&s);

  if (s.p < s.end && *s.p == '}')
    {
      s.p++;
    }
  else
    {
      for (;;)
        {
          const char *key_start, *key_end, *value_start;

          skip_space (&s);
          if (s.p >= s.end || *s.p != '"')
            return FALSE;
          key_start = s.p;
          if (!scan_string (&s))
            return FALSE;
          key_end = s.p;
          if (!raw_string_is_plain (key_start, key_end))
            return FALSE;

          skip_space (&s);
          if (s.p >= s.end || *s.p++ != ':')
            return FALSE;
          skip_space (&s);
          value_start = s.p;
          if (!scan_value (&s, 1))
            return FALSE;

          for (guint i = 0; i < n_names; i++)
            {
              if (raw_string_equals (key_start, key_end, names[i]))
                {
                  if (starts[i] != NULL)
                    return FALSE;
                  starts[i] = value_start;
                  ends[i] = s.p;
                }
            }

          skip_space (&s);
          if (s.p >= s.end)
            return FALSE;
          if (*s.p == '}')
            {
              s.p++;
              break;
            }
          if (*s.p++ != ',')
            return FALSE;
        }
    }

  skip_space (&s);
  return s.p == s.end;
}

/*
 * natter_schema_to_json:
 *
 * Writes @object as compact JSON. json-glib 1.6 escapes every control
 * character but U+001F, which it writes raw: not JSON. A raw 0x1f byte can
 * only stand inside a string in its output, so escaping every one of them
 * afterwards is exact.
 *
 * Returns: (transfer full): the text
 */
char *
natter_schema_to_json (JsonObject *object,
                       gsize      *length)
{
  g_autoptr(JsonNode) root = json_node_new (JSON_NODE_OBJECT);
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autofree char *text = NULL;
  GString *escaped;
  gsize text_length;

  json_node_set_object (root, object);
  json_generator_set_root (generator, root);
  text = json_generator_to_data (generator, &text_length);

  if (memchr (text, 0x1f, text_length) == NULL)
    {
      if (length != NULL)
        *length = text_length;
      return g_steal_pointer (&text);
    }

  escaped = g_string_sized_new (text_length + 16);
  for (gsize i = 0; i < text_length; i++)
    {
      if (text[i] == 0x1f)
        g_string_append (escaped, "\\u001f");
      else
        g_string_append_c (escaped, text[i]);
    }

  if (length != NULL)
    *length = escaped->len;
  return g_string_free (escaped, FALSE);
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

  if (!is_strict_json (data, length))
    {
      g_set_error_literal (error, NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_BAD_JSON,
                           "The frame is not one valid JSON value (RFC 8259, at most 32 levels deep)");
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

/**
 * natter_json_object_to_string:
 * @object: a JSON object
 * @length: (out) (optional): the length of the text
 *
 * Writes @object as compact JSON that is valid whatever its strings hold
 * (json-glib alone writes U+001F raw). For output to other programs, such
 * as natter-cli's JSON lines.
 *
 * Returns: (transfer full): the text
 */
char *
natter_json_object_to_string (JsonObject *object,
                              gsize      *length)
{
  g_return_val_if_fail (object != NULL, NULL);

  return natter_schema_to_json (object, length);
}
