/* natter-lan-discovery.c: DNS-SD over Avahi: our announcement and the others'
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * We announce _natter._tcp with our port and a TXT record of our user ID,
 * the name we offer and a signature over both and the port (docs/lan.md).
 * An announcement whose signature does not check is dropped here; one that
 * checks is only a hint: the peer is shown once its direct connection
 * proved the key over a fresh challenge (natter-lan-link.c), so a copied
 * announcement shows no one.
 */
#define G_LOG_DOMAIN "natter-lan"

#include "config.h"

#include <glib/gi18n-lib.h>

#include <avahi-client/client.h>
#include <avahi-client/lookup.h>
#include <avahi-client/publish.h>
#include <avahi-common/alternative.h>
#include <avahi-common/error.h>
#include <avahi-common/malloc.h>
#include <avahi-glib/glib-watch.h>

#include "natter-lan-private.h"
#include "natter-protocol.h"

#define ANNOUNCE_PREFIX "natter-lan-announce-v1\n"

struct _NatterLanDiscovery
{
  NatterLan           *lan;      /* unowned: it owns us */
  AvahiGLibPoll       *poll;
  AvahiClient         *client;
  AvahiEntryGroup     *group;
  AvahiServiceBrowser *browser;
  char                *service_name;
  GHashTable          *services;  /* "iface/proto/name/domain" -> user id */
};

/**
 * _natter_lan_announcement_message:
 *
 * Returns: the bytes the `sig` of a TXT record signs:
 *   "natter-lan-announce-v1\n" id "\n" port "\n" name
 */
char *
_natter_lan_announcement_message (const char *user_id,
                                  guint       port,
                                  const char *name,
                                  gsize      *length)
{
  char *message = g_strdup_printf (ANNOUNCE_PREFIX "%s\n%u\n%s", user_id, port,
                                   name != NULL ? name : "");

  if (length != NULL)
    *length = strlen (message);
  return message;
}

static char *
service_key (AvahiIfIndex  interface,
             AvahiProtocol protocol,
             const char   *name,
             const char   *domain)
{
  return g_strdup_printf ("%d/%d/%s/%s", interface, protocol, name, domain);
}

static void publish (NatterLanDiscovery *self);

static void
on_group (AvahiEntryGroup      *group,
          AvahiEntryGroupState  state,
          void                 *user_data)
{
  NatterLanDiscovery *self = user_data;

  if (state == AVAHI_ENTRY_GROUP_COLLISION)
    {
      char *other = avahi_alternative_service_name (self->service_name);

      g_free (self->service_name);
      self->service_name = g_strdup (other);
      avahi_free (other);
      avahi_entry_group_reset (group);
      publish (self);
    }
  else if (state == AVAHI_ENTRY_GROUP_FAILURE)
    g_debug ("Our announcement failed: %s",
             avahi_strerror (avahi_client_errno (avahi_entry_group_get_client (group))));
}

static AvahiStringList *
txt_record (NatterLanDiscovery *self)
{
  NatterLan *lan = self->lan;
  g_autofree char *message = NULL;
  g_autofree char *signature = NULL;
  g_autofree char *name = NULL;
  AvahiStringList *txt = NULL;
  gsize length;

  /* A TXT string is at most 255 bytes; a name is cut at a character */
  if (lan->display_name != NULL)
    {
      const char *end = lan->display_name;

      while (*end != '\0' && (gsize) (g_utf8_next_char (end) - lan->display_name) <= NATTER_LAN_NAME_MAX)
        end = g_utf8_next_char (end);
      name = g_strndup (lan->display_name, end - lan->display_name);
    }

  message = _natter_lan_announcement_message (lan->user_id, lan->port, name, &length);
  signature = natter_identity_sign (lan->identity, message, length);

  txt = avahi_string_list_add_pair (txt, "v", "1");
  txt = avahi_string_list_add_pair (txt, "id", lan->user_id);
  if (name != NULL)
    txt = avahi_string_list_add_pair (txt, "name", name);
  if (signature != NULL)
    txt = avahi_string_list_add_pair (txt, "sig", signature);
  return txt;
}

static void
publish (NatterLanDiscovery *self)
{
  AvahiStringList *txt;
  int ret;

  if (self->client == NULL || avahi_client_get_state (self->client) != AVAHI_CLIENT_S_RUNNING)
    return;

  if (!self->lan->visible || !self->lan->online || self->lan->port == 0)
    {
      if (self->group != NULL)
        avahi_entry_group_reset (self->group);
      return;
    }

  if (self->group == NULL)
    self->group = avahi_entry_group_new (self->client, on_group, self);
  if (self->group == NULL)
    return;

  txt = txt_record (self);
  if (avahi_entry_group_is_empty (self->group))
    {
      ret = avahi_entry_group_add_service_strlst (self->group, AVAHI_IF_UNSPEC, AVAHI_PROTO_UNSPEC,
                                                  0, self->service_name, NATTER_LAN_SERVICE_TYPE,
                                                  NULL, NULL, self->lan->port, txt);
      if (ret == AVAHI_ERR_COLLISION)
        {
          on_group (self->group, AVAHI_ENTRY_GROUP_COLLISION, self);
          avahi_string_list_free (txt);
          return;
        }
      if (ret >= 0)
        ret = avahi_entry_group_commit (self->group);
    }
  else
    ret = avahi_entry_group_update_service_txt_strlst (self->group, AVAHI_IF_UNSPEC,
                                                       AVAHI_PROTO_UNSPEC, 0, self->service_name,
                                                       NATTER_LAN_SERVICE_TYPE, NULL, txt);
  avahi_string_list_free (txt);

  if (ret < 0)
    g_debug ("Could not announce us: %s", avahi_strerror (ret));
}

/* The value of @key in @txt, or NULL */
static char *
txt_value (AvahiStringList *txt,
           const char      *key)
{
  AvahiStringList *entry = avahi_string_list_find (txt, key);
  char *k = NULL;
  char *v = NULL;
  char *value = NULL;
  size_t size = 0;

  if (entry == NULL || avahi_string_list_get_pair (entry, &k, &v, &size) < 0)
    return NULL;

  if (v != NULL && memchr (v, '\0', size) == NULL && g_utf8_validate (v, size, NULL))
    value = g_strndup (v, size);
  avahi_free (k);
  avahi_free (v);
  return value;
}

static void
on_resolved (AvahiServiceResolver   *resolver,
             AvahiIfIndex            interface,
             AvahiProtocol           protocol,
             AvahiResolverEvent      event,
             const char             *name,
             const char             *type,
             const char             *domain,
             const char             *host_name,
             const AvahiAddress     *address,
             uint16_t                port,
             AvahiStringList        *txt,
             AvahiLookupResultFlags  flags,
             void                   *user_data)
{
  NatterLanDiscovery *self = user_data;
  g_autofree char *id = NULL;
  g_autofree char *peer_name = NULL;
  g_autofree char *signature = NULL;
  g_autofree char *message = NULL;
  char host[AVAHI_ADDRESS_STR_MAX];
  gsize length;

  if (event != AVAHI_RESOLVER_FOUND)
    goto out;

  id = txt_value (txt, "id");
  peer_name = txt_value (txt, "name");
  signature = txt_value (txt, "sig");
  if (!natter_user_id_is_valid (id) || signature == NULL ||
      (peer_name != NULL && strlen (peer_name) > NATTER_LAN_NAME_MAX))
    {
      g_debug ("Ignored an announcement without a valid ID and signature");
      goto out;
    }

  if (g_str_equal (id, self->lan->user_id))
    goto out;

  message = _natter_lan_announcement_message (id, port, peer_name, &length);
  if (!natter_identity_verify (id, message, length, signature))
    {
      g_debug ("Ignored an announcement of %s: its signature does not check",
               NATTER_USER_ID_LOG (id));
      goto out;
    }

  g_hash_table_replace (self->services, service_key (interface, protocol, name, domain),
                        g_strdup (id));
  avahi_address_snprint (host, sizeof host, address);
  _natter_lan_announcement_found (self->lan, id, peer_name, host, port);

out:
  avahi_service_resolver_free (resolver);
}

static void
on_browse (AvahiServiceBrowser    *browser,
           AvahiIfIndex            interface,
           AvahiProtocol           protocol,
           AvahiBrowserEvent       event,
           const char             *name,
           const char             *type,
           const char             *domain,
           AvahiLookupResultFlags  flags,
           void                   *user_data)
{
  NatterLanDiscovery *self = user_data;

  switch (event)
    {
    case AVAHI_BROWSER_NEW:
      if ((flags & AVAHI_LOOKUP_RESULT_LOCAL) != 0 && g_strcmp0 (name, self->service_name) == 0)
        break;
      /* Addresses of IPv4 only: an IPv6 link-local one needs its interface */
      if (avahi_service_resolver_new (self->client, interface, protocol, name, type, domain,
                                      AVAHI_PROTO_INET, 0, on_resolved, self) == NULL)
        g_debug ("Could not resolve an announcement: %s",
                 avahi_strerror (avahi_client_errno (self->client)));
      break;

    case AVAHI_BROWSER_REMOVE:
      {
        g_autofree char *key = service_key (interface, protocol, name, domain);
        g_autofree char *id = NULL;
        GHashTableIter iter;
        gpointer value;
        gboolean still = FALSE;

        if (!g_hash_table_steal_extended (self->services, key, NULL, (gpointer *) &id))
          break;
        g_free (g_steal_pointer (&key));

        g_hash_table_iter_init (&iter, self->services);
        while (g_hash_table_iter_next (&iter, NULL, &value))
          still |= g_str_equal (value, id);
        if (!still)
          _natter_lan_announcement_gone (self->lan, id);
      }
      break;

    case AVAHI_BROWSER_FAILURE:
      g_debug ("Browsing failed: %s", avahi_strerror (avahi_client_errno (self->client)));
      break;

    default:
      break;
    }
}

static void
no_daemon (NatterLanDiscovery *self,
           int                 code)
{
  _natter_lan_set_discovery_error (self->lan,
    g_error_new (NATTER_LAN_ERROR, NATTER_LAN_ERROR_NO_AVAHI,
                 _("Nearby discovery is unavailable: no Avahi daemon answers (%s). "
                   "People nearby can still be reached by typing their address."),
                 avahi_strerror (code)));
}

static void
on_client (AvahiClient      *client,
           AvahiClientState  state,
           void             *user_data)
{
  NatterLanDiscovery *self = user_data;

  self->client = client;
  switch (state)
    {
    case AVAHI_CLIENT_S_RUNNING:
      _natter_lan_set_discovery_error (self->lan, NULL);
      if (self->browser == NULL)
        self->browser = avahi_service_browser_new (client, AVAHI_IF_UNSPEC, AVAHI_PROTO_UNSPEC,
                                                   NATTER_LAN_SERVICE_TYPE, NULL, 0,
                                                   on_browse, self);
      publish (self);
      break;

    case AVAHI_CLIENT_S_COLLISION:
    case AVAHI_CLIENT_S_REGISTERING:
      if (self->group != NULL)
        avahi_entry_group_reset (self->group);
      break;

    case AVAHI_CLIENT_FAILURE:
    case AVAHI_CLIENT_CONNECTING:
      /* The daemon went away (or is not there yet): whatever it told us is gone */
      no_daemon (self, state == AVAHI_CLIENT_FAILURE ? avahi_client_errno (client)
                                                     : AVAHI_ERR_NO_DAEMON);
      self->group = NULL;
      self->browser = NULL;
      if (state == AVAHI_CLIENT_FAILURE)
        {
          GHashTableIter iter;
          gpointer value;

          g_hash_table_iter_init (&iter, self->services);
          while (g_hash_table_iter_next (&iter, NULL, &value))
            _natter_lan_announcement_gone (self->lan, value);
          g_hash_table_remove_all (self->services);
        }
      break;
    }
}

NatterLanDiscovery *
_natter_lan_discovery_new (NatterLan *lan)
{
  NatterLanDiscovery *self = g_new0 (NatterLanDiscovery, 1);
  int error = 0;

  self->lan = lan;
  self->services = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->service_name = g_strdup_printf ("natter-%.16s", lan->user_id);
  self->poll = avahi_glib_poll_new (NULL, G_PRIORITY_DEFAULT);
  self->client = avahi_client_new (avahi_glib_poll_get (self->poll), AVAHI_CLIENT_NO_FAIL,
                                   on_client, self, &error);
  if (self->client == NULL)
    no_daemon (self, error);

  return self;
}

/* Announces again after the port, the name or the visibility changed */
void
_natter_lan_discovery_update (NatterLanDiscovery *self)
{
  publish (self);
}

void
_natter_lan_discovery_free (NatterLanDiscovery *self)
{
  /* Freeing the client frees its groups, browsers and resolvers, and the
   * daemon withdraws our announcement */
  if (self->client != NULL)
    avahi_client_free (self->client);
  if (self->poll != NULL)
    avahi_glib_poll_free (self->poll);
  g_hash_table_unref (self->services);
  g_free (self->service_name);
  g_free (self);
}
