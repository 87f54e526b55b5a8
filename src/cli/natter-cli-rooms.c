/* natter-cli-rooms.c: rooms
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "natter-cli"

#include "config.h"

#include <glib/gi18n.h>

#include "natter-cli-private.h"
#include "natter-cli-output.h"

static void
print_members (char **members)
{
  for (guint i = 0; members[i] != NULL; i++)
    g_print ("%s\n", members[i]);
}

gboolean
natter_cli_cmd_room (Cli   *cli,
                     char **args)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) members = NULL;
  gboolean stay;

  if (args[0] == NULL || args[1] == NULL ||
      (!g_str_equal (args[0], "join") && !g_str_equal (args[0], "members")))
    return natter_cli_fail (cli, _("Usage: natter-cli room join|members NAME"));

  /* Room membership lasts as long as the connection: "join" stays and
   * prints who comes and goes; "members" joins, lists and leaves. */
  stay = g_str_equal (args[0], "join");

  if (!natter_cli_go_online (cli))
    return FALSE;

  natter_client_join_room_async (cli->client, args[1], NULL, natter_cli_on_async_done, cli);
  if ((result = natter_cli_wait_async (cli)) == NULL)
    return natter_cli_fail (cli, _("The server did not answer"));
  members = natter_client_join_room_finish (cli->client, result, &error);
  if (members == NULL)
    return natter_cli_fail (cli, "%s", error->message);

  if (!stay)
    {
      print_members (members);
      return TRUE;
    }

  if (!natter_cli_start_control (cli))
    return FALSE;

  {
    g_autoptr(JsonObject) event = natter_cli_event_new ("room-members");
    JsonArray *array = json_array_new ();

    for (guint i = 0; members[i] != NULL; i++)
      json_array_add_string_element (array, members[i]);
    json_object_set_string_member (event, "room", args[1]);
    json_object_set_array_member (event, "members", array);
    natter_cli_print_json (event);
  }

  natter_cli_connect_listeners (cli);
  natter_cli_run_forever (cli);
  return TRUE;
}
