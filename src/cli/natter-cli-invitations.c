/* natter-cli-invitations.c: invitations and handles
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "natter-cli"

#include "config.h"

#include <glib/gi18n.h>

#include "natter-cli-private.h"
#include "natter-cli-output.h"

/* Whose a handle is, as the server says */
static char *
lookup_handle (Cli        *cli,
               const char *handle)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  char *user;

  natter_client_lookup_handle_async (cli->client, handle, NULL, natter_cli_on_async_done, cli);
  result = natter_cli_wait_async (cli);
  if (result == NULL)
    {
      natter_cli_fail (cli, _("The server did not answer"));
      return NULL;
    }

  user = natter_client_lookup_handle_finish (cli->client, result, &error);
  if (user == NULL)
    natter_cli_fail (cli, "%s", error->message);
  return user;
}

/* The server answers what a handle stands for: say what it answered, so
 * that the person can check it, and hold it against --expect */
static char *
resolve_invitee (Cli        *cli,
                 const char *target)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *resolved = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *safety = NULL;

  if (target[0] == '@')
    {
      if ((resolved = lookup_handle (cli, target)) == NULL)
        return NULL;
      safety = natter_identity_get_safety_number (cli->identity, resolved);
      if (!cli->json)
        {
          g_autofree char *handle = natter_cli_printable (target);

          g_print (_("%s is %s\nSafety number: %s\n"), handle, resolved, safety);
        }
    }
  else
    {
      resolved = natter_user_id_normalize (target, &error);
      if (resolved == NULL)
        {
          natter_cli_fail (cli, "%s", error->message);
          return NULL;
        }
    }

  if (cli->expect != NULL)
    {
      expected = natter_user_id_normalize (cli->expect, &error);
      if (expected == NULL)
        {
          natter_cli_fail (cli, _("--expect: %s"), error->message);
          return NULL;
        }
      if (!g_str_equal (expected, resolved))
        {
          natter_cli_fail (cli, _("%s is %s, not the expected %s; nothing was sent"), target,
                           resolved, expected);
          return NULL;
        }
    }

  return g_steal_pointer (&resolved);
}

gboolean
natter_cli_cmd_invite (Cli   *cli,
                       char **args)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(NatterInvitation) invitation = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *invitee = NULL;

  if (args[0] == NULL)
    return natter_cli_fail (cli, _("Usage: natter-cli invite ID|@HANDLE [TEXT] [--expect ID]"));

  if (!natter_cli_go_online (cli))
    return FALSE;

  invitee = resolve_invitee (cli, args[0]);
  if (invitee == NULL)
    return FALSE;

  /* The resolved ID, not the handle: what was shown is what is invited */
  natter_client_invite_async (cli->client, invitee, args[1], NULL, natter_cli_on_async_done, cli);
  result = natter_cli_wait_async (cli);
  if (result == NULL)
    return natter_cli_fail (cli, _("The server did not answer"));

  invitation = natter_client_invite_finish (cli->client, result, &error);
  if (invitation == NULL)
    return natter_cli_fail (cli, _("Could not send the invitation: %s"), error->message);

  if (cli->json)
    {
      g_autoptr(JsonObject) object = natter_invitation_to_json (invitation);

      natter_cli_print_json (object);
    }
  else
    g_print (_("Invitation %s sent to %s\n"), natter_invitation_get_id (invitation),
             natter_invitation_get_to (invitation));

  return TRUE;
}

static void
print_invitation_list (GPtrArray  *list,
                       const char *heading,
                       gboolean    incoming)
{
  g_print ("%s\n", heading);
  for (guint i = 0; i < list->len; i++)
    {
      NatterInvitation *invitation = g_ptr_array_index (list, i);
      g_autofree char *id = NULL;
      g_autofree char *who = NULL;
      g_autofree char *text = NULL;

      id = natter_cli_printable (natter_invitation_get_id (invitation));
      who = natter_cli_printable (incoming ? natter_invitation_get_from (invitation) :
                                             natter_invitation_get_to (invitation));
      text = natter_cli_printable (natter_invitation_get_text (invitation) != NULL ?
                                   natter_invitation_get_text (invitation) : "");
      if (incoming && natter_invitation_get_from_name (invitation) != NULL)
        {
          g_autofree char *name = natter_cli_printable (natter_invitation_get_from_name (invitation));
          g_autofree char *both = g_strdup_printf ("%s (%s)", who, name);

          g_free (who);
          who = g_steal_pointer (&both);
        }
      g_print ("  %s  %s  %s\n", id, who, text);
    }
}

static JsonArray *
invitations_to_json (GPtrArray *invitations)
{
  JsonArray *array = json_array_new ();

  for (guint i = 0; i < invitations->len; i++)
    json_array_add_object_element (array, natter_invitation_to_json (invitations->pdata[i]));

  return array;
}

gboolean
natter_cli_cmd_invitations (Cli   *cli,
                            char **args)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GPtrArray) listing = NULL;
  g_autoptr(GPtrArray) incoming = g_ptr_array_new ();
  g_autoptr(GPtrArray) outgoing = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;

  if (!natter_cli_go_online (cli))
    return FALSE;

  natter_client_list_invitations_async (cli->client, NULL, natter_cli_on_async_done, cli);
  result = natter_cli_wait_async (cli);
  if (result == NULL)
    return natter_cli_fail (cli, _("The server did not answer"));

  listing = natter_client_list_invitations_finish (cli->client, result, &error);
  if (listing == NULL)
    return natter_cli_fail (cli, "%s", error->message);

  for (guint i = 0; i < listing->len; i++)
    {
      NatterInvitation *invitation = g_ptr_array_index (listing, i);

      g_ptr_array_add (g_str_equal (natter_invitation_get_from (invitation),
                                    natter_client_get_user_id (cli->client)) ? outgoing : incoming,
                       invitation);
    }

  if (cli->json)
    {
      g_autoptr(JsonObject) object = json_object_new ();

      json_object_set_array_member (object, "incoming", invitations_to_json (incoming));
      json_object_set_array_member (object, "outgoing", invitations_to_json (outgoing));
      natter_cli_print_json (object);
      return TRUE;
    }

  print_invitation_list (incoming, _("Incoming:"), TRUE);
  print_invitation_list (outgoing, _("Outgoing:"), FALSE);
  return TRUE;
}

static gboolean
answer_invitation (Cli        *cli,
                   const char *id,
                   gboolean    accept)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(NatterInvitation) invitation = NULL;
  g_autoptr(GError) error = NULL;

  natter_client_answer_invitation_async (cli->client, id, accept, NULL, natter_cli_on_async_done, cli);
  result = natter_cli_wait_async (cli);
  if (result == NULL)
    return natter_cli_fail (cli, _("The server did not answer"));

  invitation = natter_client_answer_invitation_finish (cli->client, result, &error);
  if (invitation == NULL)
    return natter_cli_fail (cli, "%s", error->message);

  return TRUE;
}

gboolean
natter_cli_cmd_accept (Cli   *cli,
                       char **args)
{
  if (args[0] == NULL)
    return natter_cli_fail (cli, _("Usage: natter-cli accept INVITATION-ID"));

  if (!natter_cli_go_online (cli) || !answer_invitation (cli, args[0], TRUE))
    return FALSE;

  g_print (_("Accepted\n"));
  return TRUE;
}

gboolean
natter_cli_cmd_decline (Cli   *cli,
                        char **args)
{
  if (args[0] == NULL)
    return natter_cli_fail (cli, _("Usage: natter-cli decline INVITATION-ID"));

  if (!natter_cli_go_online (cli) || !answer_invitation (cli, args[0], FALSE))
    return FALSE;

  g_print (_("Declined\n"));
  return TRUE;
}

gboolean
natter_cli_cmd_register_handle (Cli   *cli,
                                char **args)
{
  g_autofree char *handle = NULL;
  g_autofree char *claimed = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GAsyncResult) result = NULL;

  if (args[0] == NULL)
    return natter_cli_fail (cli, _("Usage: natter-cli register-handle NAME"));

  /* Checked here, with the limits in the error, before going online */
  handle = natter_handle_normalize (args[0], &error);
  if (handle == NULL)
    return natter_cli_fail (cli, "%s", error->message);

  if (!natter_cli_go_online (cli))
    return FALSE;

  natter_client_claim_handle_async (cli->client, handle, NULL, natter_cli_on_async_done, cli);
  result = natter_cli_wait_async (cli);
  if (result == NULL)
    return natter_cli_fail (cli, _("The server did not answer"));

  claimed = natter_client_claim_handle_finish (cli->client, result, &error);
  if (claimed == NULL)
    return natter_cli_fail (cli, "%s", error->message);

  g_print ("@%s\n", claimed);
  return TRUE;
}

gboolean
natter_cli_cmd_lookup (Cli   *cli,
                       char **args)
{
  g_autofree char *user = NULL;

  if (args[0] == NULL)
    return natter_cli_fail (cli, _("Usage: natter-cli lookup @NAME"));

  if (!natter_cli_go_online (cli))
    return FALSE;

  if ((user = lookup_handle (cli, args[0])) == NULL)
    return FALSE;

  g_print ("%s\n", user);
  return TRUE;
}
