/* natter-cli-backup.c: backup and restore-backup
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "natter-cli"

#include "config.h"

#include <glib/gi18n.h>

#include "natter-cli-private.h"

gboolean
natter_cli_cmd_backup (Cli   *cli,
                       char **args)
{
  g_autoptr(GError) error = NULL;

  if (!natter_cli_open_store (cli))
    return FALSE;

  if (!natter_store_backup (cli->store, &error))
    return natter_cli_fail (cli, "%s", error->message);

  g_print (_("Backed up the history to %s%s\n"), natter_store_get_path (cli->store),
           NATTER_STORE_BACKUP_SUFFIX);
  return TRUE;
}

gboolean
natter_cli_cmd_restore_backup (Cli   *cli,
                               char **args)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *aside = NULL;

  aside = natter_profile_restore_backup (cli->profile, &error);
  if (aside == NULL)
    return natter_cli_fail (cli, _("Cannot restore the backup: %s"), error->message);

  if (*aside != '\0')
    g_print (_("Restored the history from its backup; the one it replaced is kept as %s\n"),
             aside);
  else
    g_print (_("Restored the history from its backup\n"));
  return TRUE;
}
