/* natter-cli-contacts.c: contacts: listing, naming, blocking, safety numbers
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "natter-cli"

#include "config.h"

#include <glib/gi18n.h>

#include "natter-cli-private.h"
#include "natter-cli-output.h"

gboolean
natter_cli_cmd_contacts (Cli   *cli,
                         char **args)
{
  g_autoptr(GPtrArray) contacts = NULL;
  g_autoptr(GHashTable) online = g_hash_table_new (g_str_hash, g_str_equal);
  g_auto(GStrv) online_ids = NULL;
  g_autoptr(GError) error = NULL;

  if (!natter_cli_go_online (cli))
    return FALSE;

  contacts = natter_store_list_contacts (cli->store, &error);
  if (contacts == NULL)
    return natter_cli_fail (cli, "%s", error->message);

  if (contacts->len > 0)
    {
      g_autoptr(GPtrArray) users = g_ptr_array_new ();
      g_autoptr(GAsyncResult) result = NULL;

      for (guint i = 0; i < contacts->len; i++)
        g_ptr_array_add (users, (gpointer) natter_contact_get_user_id (contacts->pdata[i]));
      g_ptr_array_add (users, NULL);

      natter_client_query_presence_async (cli->client, (const char * const *) users->pdata, NULL,
                                          natter_cli_on_async_done, cli);
      if ((result = natter_cli_wait_async (cli)) == NULL)
        return natter_cli_fail (cli, _("The server did not answer"));
      online_ids = natter_client_query_presence_finish (cli->client, result, &error);
      if (online_ids == NULL)
        return natter_cli_fail (cli, "%s", error->message);
      for (guint i = 0; online_ids[i] != NULL; i++)
        g_hash_table_add (online, online_ids[i]);
    }

  for (guint i = 0; i < contacts->len; i++)
    {
      NatterContact *contact = g_ptr_array_index (contacts, i);
      const char *id = natter_contact_get_user_id (contact);
      gboolean is_online = g_hash_table_contains (online, id) ||
                           natter_client_get_route (cli->client, id) == NATTER_ROUTE_NEARBY;

      if (cli->json)
        {
          g_autoptr(JsonObject) object = json_object_new ();

          json_object_set_string_member (object, "id", id);
          json_object_set_string_member (object, "name", natter_contact_get_name (contact));
          json_object_set_boolean_member (object, "online", is_online);
          if (is_online)
            json_object_set_string_member (object, "route",
                                           natter_client_get_route (cli->client, id) ==
                                           NATTER_ROUTE_NEARBY ? "nearby" : "server");
          json_object_set_boolean_member (object, "blocked", natter_contact_get_blocked (contact));
          json_object_set_boolean_member (object, "verified", natter_contact_get_verified (contact));
          if (natter_contact_get_bio (contact) != NULL)
            json_object_set_string_member (object, "bio", natter_contact_get_bio (contact));
          json_object_set_int_member (object, "avatar_bytes",
                                      natter_contact_get_avatar (contact) != NULL ?
                                      g_bytes_get_size (natter_contact_get_avatar (contact)) : 0);
          natter_cli_print_json (object);
        }
      else
        {
          g_autofree char *name = natter_cli_printable (natter_contact_get_name (contact));

          g_print ("%s  %-8s  %s%s\n", id, is_online ? _("online") : _("offline"), name,
                   natter_contact_get_blocked (contact) ? _(" (blocked)") : "");
        }
    }

  return TRUE;
}

static gboolean
set_blocked (Cli        *cli,
             const char *what,
             gboolean    blocked)
{
  g_autofree char *contact_id = NULL;
  g_autoptr(GError) error = NULL;

  if (!natter_cli_open_client (cli) ||
      (contact_id = natter_cli_resolve_contact (cli, what)) == NULL)
    return FALSE;

  if (!natter_client_set_blocked (cli->client, contact_id, blocked, &error))
    return natter_cli_fail (cli, "%s", error->message);

  return TRUE;
}

gboolean
natter_cli_cmd_block (Cli   *cli,
                      char **args)
{
  if (args[0] == NULL)
    return natter_cli_fail (cli, _("Usage: natter-cli block CONTACT"));

  return set_blocked (cli, args[0], TRUE);
}

gboolean
natter_cli_cmd_unblock (Cli   *cli,
                        char **args)
{
  if (args[0] == NULL)
    return natter_cli_fail (cli, _("Usage: natter-cli unblock CONTACT"));

  return set_blocked (cli, args[0], FALSE);
}

gboolean
natter_cli_cmd_rename (Cli   *cli,
                       char **args)
{
  g_autofree char *contact_id = NULL;
  g_autoptr(GError) error = NULL;

  if (args[0] == NULL || args[1] == NULL)
    return natter_cli_fail (cli, _("Usage: natter-cli rename CONTACT NAME"));

  if (!natter_cli_open_store (cli) ||
      (contact_id = natter_cli_resolve_contact (cli, args[0])) == NULL)
    return FALSE;

  /* Handed over to the process online on the profile, the rename goes
   * through its client, so its window shows the new name at once. */
  if (cli->borrowed && cli->client != NULL
      ? !natter_client_rename_contact (cli->client, contact_id, args[1], &error)
      : !natter_store_rename_contact (cli->store, contact_id, args[1], &error))
    return natter_cli_fail (cli, "%s", error->message);

  return TRUE;
}

gboolean
natter_cli_cmd_safety_number (Cli   *cli,
                              char **args)
{
  g_autofree char *contact_id = NULL;
  g_autofree char *number = NULL;

  if (args[0] == NULL)
    return natter_cli_fail (cli, _("Usage: natter-cli safety-number CONTACT"));

  if (!natter_cli_open_store (cli) ||
      (contact_id = natter_cli_resolve_contact (cli, args[0])) == NULL)
    return FALSE;

  number = natter_identity_get_safety_number (cli->identity, contact_id);
  g_print ("%s\n", number);
  return TRUE;
}
