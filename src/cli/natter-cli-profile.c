/* natter-cli-profile.c: whoami and profile: who we are and what contacts see
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "natter-cli"

#include "config.h"

#include <glib/gi18n.h>

#include "natter-cli-private.h"

/* Commands */

gboolean
natter_cli_cmd_whoami (Cli   *cli,
                       char **args)
{
  g_print ("%s\n", natter_identity_get_user_id (cli->identity));
  return TRUE;
}

gboolean
natter_cli_cmd_profile (Cli   *cli,
                        char **args)
{
  g_autoptr(GBytes) avatar = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *name = NULL;
  g_autofree char *bio = NULL;
  gboolean remove_avatar = cli->avatar != NULL && *cli->avatar == '\0';

  if (cli->avatar != NULL && !remove_avatar)
    {
      g_autofree char *data = NULL;
      gsize length;

      if (!g_file_get_contents (cli->avatar, &data, &length, &error))
        return natter_cli_fail (cli, "%s", error->message);
      avatar = g_bytes_new_take (g_steal_pointer (&data), length);
    }

  /* Checked the way the client will before anything is kept */
  if ((cli->name != NULL || cli->bio != NULL || cli->avatar != NULL) &&
      !natter_profile_save_public (cli->profile, cli->name, cli->bio, avatar, remove_avatar,
                                   &error))
    return natter_cli_fail (cli, "%s", error->message);

  name = natter_profile_dup_display_name (cli->profile);
  bio = natter_profile_dup_bio (cli->profile);
  g_print (_("Name: %s\nBio: %s\nPicture: %s\n"), name != NULL ? name : "",
           bio != NULL ? bio : "",
           natter_profile_has_avatar (cli->profile) ? _("yes") : _("none"));
  return TRUE;
}
