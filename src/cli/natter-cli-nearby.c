/* natter-cli-nearby.c: nearby, connect: the people on this network, with no server
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "natter-cli"

#include "config.h"

#include <glib/gi18n.h>

#include "natter-cli-private.h"
#include "natter-lan.h"
#include "natter-nearby-peer.h"
#include "natter-safe-text.h"

/* How long `nearby` looks before it answers */
#define NEARBY_LOOK_MS 2500

NatterLan *
natter_cli_get_lan (Cli *cli)
{
  return natter_client_get_lan (cli->client);
}

/* Listening, announced and browsing; without Avahi it says why, and goes
 * on with the typed addresses */
gboolean
natter_cli_go_online_nearby (Cli *cli)
{
  NatterRendezvous *rendezvous = NATTER_RENDEZVOUS (natter_cli_get_lan (cli));
  const GError *why;

  if (natter_rendezvous_get_online (rendezvous))
    return TRUE;

  natter_client_start (cli->client);
  if (!natter_rendezvous_get_online (rendezvous))
    return natter_cli_fail (cli, _("Cannot listen for people nearby on port %u"),
                            natter_lan_get_port (natter_cli_get_lan (cli)));

  why = natter_lan_get_discovery_error (natter_cli_get_lan (cli));
  if (why != NULL && !cli->json)
    g_printerr ("natter-cli: %s\n", why->message);
  return TRUE;
}

static JsonObject *
peer_to_json (NatterNearbyPeer *peer)
{
  JsonObject *object = json_object_new ();

  json_object_set_string_member (object, "user", natter_nearby_peer_get_user_id (peer));
  if (natter_nearby_peer_get_name (peer) != NULL)
    json_object_set_string_member (object, "name", natter_nearby_peer_get_name (peer));
  if (natter_nearby_peer_get_address (peer) != NULL)
    json_object_set_string_member (object, "address", natter_nearby_peer_get_address (peer));
  return object;
}

static gboolean
need_lan (Cli *cli)
{
  if (natter_cli_get_lan (cli) != NULL)
    return TRUE;

  return natter_cli_fail (cli, _("This profile uses a server only; pass --nearby once to "
                                 "find people on this network too"));
}

gboolean
natter_cli_cmd_nearby (Cli   *cli,
                       char **args)
{
  GListModel *nearby;
  const GError *why;
  guint n;

  if (!natter_cli_go_online (cli) || !need_lan (cli))
    return FALSE;

  if (!cli->borrowed)
    natter_cli_spin (NEARBY_LOOK_MS);

  why = natter_lan_get_discovery_error (natter_cli_get_lan (cli));
  nearby = natter_lan_get_nearby (natter_cli_get_lan (cli));
  n = g_list_model_get_n_items (nearby);

  if (cli->json)
    {
      g_autoptr(JsonArray) array = json_array_new ();
      g_autoptr(JsonNode) node = json_node_new (JSON_NODE_ARRAY);
      g_autofree char *text = NULL;

      for (guint i = 0; i < n; i++)
        {
          g_autoptr(NatterNearbyPeer) peer = g_list_model_get_item (nearby, i);

          json_array_add_object_element (array, peer_to_json (peer));
        }
      json_node_set_array (node, array);
      text = json_to_string (node, FALSE);
      g_print ("%s\n", text);
    }
  else
    {
      for (guint i = 0; i < n; i++)
        {
          g_autoptr(NatterNearbyPeer) peer = g_list_model_get_item (nearby, i);
          g_autofree char *name = natter_safe_text (natter_nearby_peer_get_name (peer), " ");

          g_print ("%s  %s  %s\n", natter_nearby_peer_get_user_id (peer),
                   name != NULL && *name != '\0' ? name : "-",
                   natter_nearby_peer_get_address (peer) != NULL ?
                   natter_nearby_peer_get_address (peer) : "-");
        }
      if (n == 0)
        g_printerr (_("natter-cli: nobody found nearby\n"));
    }

  /* Said already when this process went online, unless it was another's */
  if (why != NULL && (cli->borrowed || cli->json))
    g_printerr ("natter-cli: %s\n", why->message);

  return TRUE;
}

static void
on_reached (NatterLan  *lan,
            const char *user_id,
            const char *address,
            gpointer    user_data)
{
  char **reached = user_data;

  if (*reached == NULL)
    *reached = g_strdup (user_id);
}

gboolean
natter_cli_cmd_connect (Cli   *cli,
                        char **args)
{
  g_autofree char *reached = NULL;
  g_autoptr(GError) error = NULL;
  gint64 deadline;
  NatterLan *lan;
  gulong handler;

  if (args[0] == NULL || args[1] != NULL)
    return natter_cli_fail (cli, _("Usage: natter-cli connect HOST:PORT"));

  if (!natter_cli_go_online (cli) || !need_lan (cli))
    return FALSE;

  lan = natter_cli_get_lan (cli);
  handler = g_signal_connect (lan, "address-reached", G_CALLBACK (on_reached), &reached);
  if (!natter_lan_connect_address (lan, args[0], &error))
    {
      g_signal_handler_disconnect (lan, handler);
      return natter_cli_fail (cli, "%s", error->message);
    }

  deadline = g_get_monotonic_time () + (gint64) MIN (cli->timeout_s, 30) * G_USEC_PER_SEC;
  while (reached == NULL && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_signal_handler_disconnect (lan, handler);

  if (reached == NULL)
    return natter_cli_fail (cli, _("Nobody at %s proved their Natter ID; it is remembered and "
                                   "tried again whenever this profile is online"), args[0]);

  g_print ("%s\n", reached);
  return TRUE;
}

/* Who was in the list, to say who left it */
static GPtrArray *shown;

static void
nearby_event (const char *user_id,
              const char *name,
              gboolean    here)
{
  g_autoptr(JsonObject) event = natter_cli_event_new ("nearby");

  json_object_set_string_member (event, "user", user_id);
  if (name != NULL)
    json_object_set_string_member (event, "name", name);
  json_object_set_boolean_member (event, "here", here);
  natter_cli_print_event (event);
}

static void
on_nearby_changed (GListModel *nearby,
                   guint       position,
                   guint       removed,
                   guint       added,
                   gpointer    user_data)
{
  for (guint i = 0; i < removed && position < shown->len; i++)
    {
      g_autofree char *user_id = g_ptr_array_steal_index (shown, position);

      nearby_event (user_id, NULL, FALSE);
    }

  for (guint i = position; i < position + added; i++)
    {
      g_autoptr(NatterNearbyPeer) peer = g_list_model_get_item (nearby, i);

      g_ptr_array_insert (shown, i, g_strdup (natter_nearby_peer_get_user_id (peer)));
      nearby_event (natter_nearby_peer_get_user_id (peer), natter_nearby_peer_get_name (peer),
                    TRUE);
    }
}

static void
on_discovery_error (NatterLan  *lan,
                    GParamSpec *pspec,
                    gpointer    user_data)
{
  const GError *why = natter_lan_get_discovery_error (lan);
  g_autoptr(JsonObject) event = natter_cli_event_new ("discovery");

  json_object_set_boolean_member (event, "available", why == NULL);
  if (why != NULL)
    json_object_set_string_member (event, "error", why->message);
  natter_cli_print_event (event);
}

static void
on_lan_online (NatterLan  *lan,
               GParamSpec *pspec,
               gpointer    user_data)
{
  g_autoptr(JsonObject) event = natter_cli_event_new ("lan");

  json_object_set_boolean_member (event, "online",
                                  natter_rendezvous_get_online (NATTER_RENDEZVOUS (lan)));
  json_object_set_int_member (event, "port", natter_lan_get_port (lan));
  natter_cli_print_event (event);
}

/* listen's events of LAN mode */
void
natter_cli_connect_nearby_listeners (Cli *cli)
{
  NatterLan *lan = natter_cli_get_lan (cli);

  if (lan == NULL)
    return;

  if (shown == NULL)
    shown = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < g_list_model_get_n_items (natter_lan_get_nearby (lan)); i++)
    {
      g_autoptr(NatterNearbyPeer) peer = g_list_model_get_item (natter_lan_get_nearby (lan), i);

      g_ptr_array_add (shown, g_strdup (natter_nearby_peer_get_user_id (peer)));
    }

  g_signal_connect (natter_lan_get_nearby (lan), "items-changed",
                    G_CALLBACK (on_nearby_changed), cli);
  g_signal_connect (lan, "notify::discovery-error", G_CALLBACK (on_discovery_error), cli);
  g_signal_connect (lan, "notify::online", G_CALLBACK (on_lan_online), cli);
  if (natter_lan_get_discovery_error (lan) != NULL)
    on_discovery_error (lan, NULL, cli);
}
