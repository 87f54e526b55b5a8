/* natter-ice-servers.c: the browser's RTCIceServer list, as webrtcbin takes it
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The signaling server hands out ICE servers in the browser's shape
 * (`{"urls": [...], "username": ..., "credential": ...}`); webrtcbin takes
 * one `stun://host:port` and any number of `turn(s)://user:pass@host:port`.
 * Hosts must be numeric addresses (libnice does not resolve names).
 */
#define G_LOG_DOMAIN "natter-protocol"

#include "config.h"

#include <string.h>

#include "natter-ice-servers.h"

static const char *
string_member (JsonObject *object,
               const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;

  return json_node_get_string (node);
}

static gboolean
is_numeric_host (const char *host)
{
  g_autofree char *bare = NULL;

  if (host[0] == '[')
    {
      gsize length = strlen (host);

      if (length < 3 || host[length - 1] != ']')
        return FALSE;
      bare = g_strndup (host + 1, length - 2);
      return g_hostname_is_ip_address (bare);
    }

  return g_hostname_is_ip_address (host);
}

/* Splits "host[:port][?query]" of a stun:/turn: URL. */
static gboolean
parse_ice_url (const char  *rest,
               guint        default_port,
               char       **host,
               guint       *port,
               char       **transport)
{
  g_autofree char *hostport = NULL;
  const char *query = strchr (rest, '?');
  const char *colon;
  guint64 number = default_port;

  hostport = query != NULL ? g_strndup (rest, query - rest) : g_strdup (rest);

  *transport = NULL;
  if (query != NULL)
    {
      if (g_str_equal (query, "?transport=udp"))
        *transport = g_strdup ("udp");
      else if (g_str_equal (query, "?transport=tcp"))
        *transport = g_strdup ("tcp");
    }

  if (hostport[0] == '[')
    {
      const char *end = strchr (hostport, ']');

      if (end == NULL)
        return FALSE;
      colon = end[1] == ':' ? end + 1 : NULL;
      if (end[1] != '\0' && colon == NULL)
        return FALSE;
    }
  else
    {
      colon = strrchr (hostport, ':');
    }

  if (colon != NULL)
    {
      if (!g_ascii_string_to_unsigned (colon + 1, 10, 1, 65535, &number, NULL))
        return FALSE;
      *host = g_strndup (hostport, colon - hostport);
    }
  else
    {
      *host = g_strdup (hostport);
    }

  *port = (guint) number;

  if (!is_numeric_host (*host))
    {
      /* libnice wants numeric addresses; the owner resolves names */
      g_debug ("Skipping ICE server with a host name");
      g_clear_pointer (host, g_free);
      g_clear_pointer (transport, g_free);
      return FALSE;
    }

  return TRUE;
}

static void
add_ice_url (const char *url,
             const char *username,
             const char *credential,
             char      **stun_uri,
             GPtrArray  *turn_uris)
{
  g_autofree char *host = NULL;
  g_autofree char *transport = NULL;
  g_autofree char *user = NULL;
  g_autofree char *pass = NULL;
  const char *scheme;
  const char *rest;
  guint default_port = 3478;
  guint port;

  if (g_str_has_prefix (url, "stun:"))
    {
      if (*stun_uri != NULL || !parse_ice_url (url + 5, default_port, &host, &port, &transport))
        return;
      *stun_uri = g_strdup_printf ("stun://%s:%u", host, port);
      return;
    }

  if (g_str_has_prefix (url, "turn:"))
    {
      scheme = "turn";
      rest = url + 5;
    }
  else if (g_str_has_prefix (url, "turns:"))
    {
      scheme = "turns";
      rest = url + 6;
      default_port = 5349;
    }
  else
    {
      return;
    }

  if (username == NULL || credential == NULL)
    return;
  if (!parse_ice_url (rest, default_port, &host, &port, &transport))
    return;

  user = g_uri_escape_string (username, NULL, FALSE);
  pass = g_uri_escape_string (credential, NULL, FALSE);
  g_ptr_array_add (turn_uris, g_strdup_printf ("%s://%s:%s@%s:%u%s%s", scheme, user, pass,
                                               host, port,
                                               transport != NULL ? "?transport=" : "",
                                               transport != NULL ? transport : ""));
}

/**
 * natter_ice_servers_to_uris:
 * @ice_servers: (nullable): an RTCIceServer list
 * @stun_uri: (out): the first STUN server as `stun://host:port`, or %NULL
 * @turn_uris: (out): every TURN server as `turn(s)://user:pass@host:port`
 *
 * Converts the browser's shape into webrtcbin's. User names and passwords
 * are percent-escaped. Hosts must be numeric addresses; entries with names
 * are skipped.
 */
void
natter_ice_servers_to_uris (JsonArray  *ice_servers,
                                 char      **stun_uri,
                                 GStrv      *turn_uris)
{
  g_autoptr(GPtrArray) turn = g_ptr_array_new_with_free_func (g_free);

  g_return_if_fail (stun_uri != NULL);
  g_return_if_fail (turn_uris != NULL);

  *stun_uri = NULL;

  for (guint i = 0; ice_servers != NULL && i < json_array_get_length (ice_servers); i++)
    {
      JsonNode *node = json_array_get_element (ice_servers, i);
      JsonObject *server;
      JsonNode *urls;
      const char *username;
      const char *credential;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        continue;

      server = json_node_get_object (node);
      urls = json_object_get_member (server, "urls");
      username = string_member (server, "username");
      credential = string_member (server, "credential");

      if (urls == NULL)
        continue;

      if (JSON_NODE_HOLDS_ARRAY (urls))
        {
          JsonArray *list = json_node_get_array (urls);

          for (guint j = 0; j < json_array_get_length (list); j++)
            {
              JsonNode *url = json_array_get_element (list, j);

              if (JSON_NODE_HOLDS_VALUE (url) && json_node_get_value_type (url) == G_TYPE_STRING)
                add_ice_url (json_node_get_string (url), username, credential, stun_uri, turn);
            }
        }
      else if (JSON_NODE_HOLDS_VALUE (urls) && json_node_get_value_type (urls) == G_TYPE_STRING)
        {
          add_ice_url (json_node_get_string (urls), username, credential, stun_uri, turn);
        }
    }

  g_ptr_array_add (turn, NULL);
  *turn_uris = (GStrv) g_ptr_array_steal (turn, NULL);
}
