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
print_members (JsonArray *members)
{
  for (guint i = 0; i < json_array_get_length (members); i++)
    g_print ("%s\n", json_array_get_string_element (members, i));
}

gboolean
natter_cli_cmd_room (Cli   *cli,
                     char **args)
{
  g_autoptr(NatterFrame) frame = NULL;
  g_autoptr(NatterFrame) reply = NULL;
  gboolean stay;

  if (args[0] == NULL || args[1] == NULL ||
      (!g_str_equal (args[0], "join") && !g_str_equal (args[0], "members")))
    return natter_cli_fail (cli, _("Usage: natter-cli room join|members NAME"));

  /* Room membership lasts as long as the connection: "join" stays and
   * prints who comes and goes; "members" joins, lists and leaves. */
  stay = g_str_equal (args[0], "join");

  if (!natter_cli_go_online (cli))
    return FALSE;

  frame = natter_frame_new (NATTER_FRAME_ROOM_JOIN);
  natter_frame_set_string (frame, "room", args[1]);
  if ((reply = natter_cli_request (cli, frame)) == NULL)
    return FALSE;

  if (!stay)
    {
      print_members (natter_frame_get_array (reply, "members"));
      return TRUE;
    }

  if (!natter_cli_start_control (cli))
    return FALSE;

  {
    g_autoptr(JsonObject) event = natter_cli_event_new ("room-members");

    json_object_set_string_member (event, "room", args[1]);
    json_object_set_array_member (event, "members",
                                  json_array_ref (natter_frame_get_array (reply, "members")));
    natter_cli_print_json (event);
  }

  natter_cli_connect_listeners (cli);
  natter_cli_run_forever (cli);
  return TRUE;
}
