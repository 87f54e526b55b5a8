/* natter-server-names.c: the names a sign-in for this server may carry
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A client signs, with the nonce, the server it dialled as it wrote it in its
 * URL (docs/protocol.md, "Connection life cycle"). A signature for any other
 * server is refused, so that a hostile server cannot pass our challenge to a
 * victim and log in as the victim here. What counts as our own: the public
 * names we are configured with and the names in our TLS certificate; with
 * neither, the address and port the connection reached. Never the Host
 * header: a relaying server sets that on its own connection.
 */
#define G_LOG_DOMAIN "natter-server"

#include "config.h"

#include <gio/gio.h>

#include "natter-server-private.h"
#include "natter-signature.h"

/* Ports a name without one stands for, besides the one we listen on: those
 * of a reverse proxy in front of us */
static const guint standard_ports[] = { 443, 80 };

/**
 * _natter_server_names_new:
 * @public_names: the configured names, `host` or `host:port`
 * @certificate: (nullable): the server's TLS certificate
 *
 * Returns: (transfer full): the server's own names, lower case, `host` or
 *   `host:port`
 */
GStrv
_natter_server_names_new (const char * const *public_names,
                          GTlsCertificate    *certificate)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  for (guint i = 0; public_names != NULL && public_names[i] != NULL; i++)
    {
      g_autofree char *lower = g_ascii_strdown (public_names[i], -1);

      g_strv_builder_add (builder, lower);
    }

  if (certificate != NULL)
    {
      g_autoptr(GPtrArray) dns_names = NULL;
      g_autoptr(GPtrArray) addresses = NULL;

      g_object_get (certificate, "dns-names", &dns_names, "ip-addresses", &addresses, NULL);
      for (guint i = 0; dns_names != NULL && i < dns_names->len; i++)
        {
          GBytes *bytes = g_ptr_array_index (dns_names, i);
          gsize size;
          const char *data = g_bytes_get_data (bytes, &size);
          g_autofree char *name = g_ascii_strdown (data, size);

          g_strv_builder_add (builder, name);
        }
      for (guint i = 0; addresses != NULL && i < addresses->len; i++)
        {
          g_autofree char *text = g_inet_address_to_string (g_ptr_array_index (addresses, i));
          g_autofree char *name = g_inet_address_get_family (g_ptr_array_index (addresses, i)) ==
                                  G_SOCKET_FAMILY_IPV6 ? g_strdup_printf ("[%s]", text)
                                                       : g_strdup (text);

          g_strv_builder_add (builder, name);
        }
    }

  return g_strv_builder_end (builder);
}

static gboolean
port_matches (guint name_port,
              guint port,
              guint listen_port)
{
  if (name_port != 0)
    return port == name_port;

  if (port == listen_port)
    return TRUE;

  for (guint i = 0; i < G_N_ELEMENTS (standard_ports); i++)
    {
      if (port == standard_ports[i])
        return TRUE;
    }

  return FALSE;
}

/**
 * _natter_server_name_is_own:
 * @names: the server's own names, from _natter_server_names_new()
 * @local: (nullable): the address and port the client's connection reached
 * @claimed: the `server` of `auth`, `host:port`
 *
 * Returns: whether a signature for @claimed is meant for this server
 */
gboolean
_natter_server_name_is_own (const char * const *names,
                            GSocketAddress     *local,
                            const char         *claimed)
{
  g_autofree char *host = NULL;
  guint port = 0;
  guint listen_port = 0;

  if (!natter_auth_server_name_split (claimed, &host, &port) || port == 0)
    return FALSE;

  if (G_IS_INET_SOCKET_ADDRESS (local))
    listen_port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local));

  if (names != NULL && names[0] != NULL)
    {
      for (guint i = 0; names[i] != NULL; i++)
        {
          g_autofree char *name_host = NULL;
          guint name_port = 0;

          if (natter_auth_server_name_split (names[i], &name_host, &name_port) &&
              g_str_equal (name_host, host) && port_matches (name_port, port, listen_port))
            return TRUE;
        }

      return FALSE;
    }

  /* No names: the address and port this connection reached */
  if (G_IS_INET_SOCKET_ADDRESS (local) && port == listen_port)
    {
      GInetAddress *address = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (local));
      g_autofree char *text = g_inet_address_to_string (address);
      g_autofree char *lower = g_ascii_strdown (text, -1);

      if (g_str_equal (lower, host))
        return TRUE;
      if (g_inet_address_get_is_loopback (address) && g_str_equal (host, "localhost"))
        return TRUE;
    }

  return FALSE;
}
