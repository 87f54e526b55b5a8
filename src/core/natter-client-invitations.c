/* natter-client-invitations.c: invitations and handles, which the server keeps
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "natter-client"

#include "config.h"

#include <glib/gi18n-lib.h>

#include <string.h>

#include "natter-client-private.h"
#include "natter-protocol.h"

/* The server sends the invitations listing in pages; this many pages of
 * at least one invitation each is more than any server keeps. */
#define INVITATION_PAGES_MAX 10000

typedef struct
{
  char *to;
  char *text;
} InviteData;

typedef struct
{
  char             *invitation_id;
  NatterInvitation *invitation;
  gboolean          accept;
} AnswerData;

typedef struct
{
  GPtrArray *invitations;   /* NatterInvitation */
  guint      pages;
} ListData;

/* Invitations and handles are kept by a server; other rendezvous have none. */
gboolean
_natter_client_check_server (NatterClient *self,
                             GTask        *task)
{
  if (self->signaling != NULL)
    return TRUE;

  g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                           _("This needs a Natter server"));
  return FALSE;
}

/* Invitations are kept by a server, or on the local network by the two ends */
gboolean
_natter_client_check_invitations (NatterClient *self,
                                  GTask        *task)
{
  return self->lan != NULL || _natter_client_check_server (self, task);
}

/* A request to whoever keeps invitations: the server, or NatterLan */
void
_natter_client_request_async (NatterClient        *self,
                              NatterFrame         *frame,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  if (self->lan != NULL)
    natter_lan_request_async (self->lan, frame, cancellable, callback, user_data);
  else
    natter_signaling_request_async (self->signaling, frame, cancellable, callback, user_data);
}

static NatterFrame *
request_finish (GObject       *source,
                GAsyncResult  *result,
                GError       **error)
{
  if (NATTER_IS_LAN (source))
    return natter_lan_request_finish (NATTER_LAN (source), result, error);
  return natter_signaling_request_finish (NATTER_SIGNALING (source), result, error);
}

/* The server's answer to the request of @task; %NULL once @task has
 * returned the error instead */
NatterFrame *
_natter_client_request_finish (GTask        *task,
                               GObject      *source,
                               GAsyncResult *result)
{
  GError *error = NULL;
  NatterFrame *reply;

  reply = request_finish (source, result, &error);
  if (reply == NULL)
    g_task_return_error (task, error);

  return reply;
}

/* What every _finish() of the client's requests does */
gpointer
_natter_client_task_finish (NatterClient  *self,
                            GAsyncResult  *result,
                            GError       **error)
{
  g_return_val_if_fail (NATTER_IS_CLIENT (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static NatterInvitation *
invitation_of_frame (NatterFrame  *frame,
                     GError      **error)
{
  JsonObject *object = natter_frame_get_object_member (frame, "invitation");

  if (object == NULL)
    {
      g_set_error_literal (error, NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_BAD_FRAME,
                           "The server's answer holds no invitation");
      return NULL;
    }

  return natter_invitation_new_from_json (object, error);
}

void
_natter_client_invitation_frame (NatterClient *self,
                                 NatterFrame  *frame)
{
  g_autoptr(NatterInvitation) invitation = NULL;
  g_autoptr(GError) error = NULL;

  invitation = invitation_of_frame (frame, &error);
  if (invitation == NULL)
    {
      g_debug ("Ignored an invitation frame: %s", error->message);
      return;
    }

  if (natter_frame_get_frame_type (frame) == NATTER_FRAME_INVITATION)
    {
      g_autoptr(NatterContact) contact = NULL;

      contact = _natter_client_lookup_contact (self, natter_invitation_get_from (invitation));

      /* A blocked contact cannot invite either: declined without a word. */
      if (contact != NULL && natter_contact_get_blocked (contact))
        {
          g_autoptr(NatterFrame) decline = natter_frame_new (NATTER_FRAME_INVITE_DECLINE);

          natter_frame_set_string (decline, "invitation", natter_invitation_get_id (invitation));
          _natter_client_request_async (self, decline, NULL, NULL, NULL);
          return;
        }

      g_signal_emit (self, _natter_client_signals[INVITATION_RECEIVED], 0, invitation);
    }
  else
    {
      const char *to = natter_invitation_get_to (invitation);
      NatterInvitationStatus status = natter_invitation_get_status (invitation);

      if (status == NATTER_INVITATION_STATUS_DECLINED)
        g_debug ("%s declined an invitation", NATTER_USER_ID_LOG (to));
      if (self->pending_invitations != NULL)
        natter_pending_invitations_answered (self->pending_invitations, to);
      g_signal_emit (self, _natter_client_signals[INVITATION_ANSWERED], 0, invitation);
      if (status == NATTER_INVITATION_STATUS_ACCEPTED)
        _natter_client_flush_outbox (self, to);
    }
}

static void
invite_data_free (gpointer data)
{
  InviteData *invite = data;

  g_free (invite->to);
  g_free (invite->text);
  g_free (invite);
}

static void
answer_data_free (gpointer data)
{
  AnswerData *answer = data;

  g_free (answer->invitation_id);
  g_clear_object (&answer->invitation);
  g_free (answer);
}

static void
list_data_free (gpointer data)
{
  ListData *list = data;

  g_ptr_array_unref (list->invitations);
  g_free (list);
}

static void
on_invite_sent (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  NatterClient *self = g_task_get_source_object (task);
  InviteData *data = g_task_get_task_data (task);
  g_autoptr(NatterFrame) reply = NULL;
  g_autoptr(NatterContact) contact = NULL;
  g_autoptr(NatterInvitation) invitation = NULL;
  GError *error = NULL;

  reply = request_finish (source, result, &error);
  if (reply == NULL || (invitation = invitation_of_frame (reply, &error)) == NULL)
    {
      g_task_return_error (task, error);
      return;
    }

  /* The invitee becomes a contact on this side at once, so that their
   * answer can open a connection. */
  contact = natter_client_add_contact (self, data->to, NULL, &error);
  if (contact == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  if (self->pending_invitations != NULL)
    natter_pending_invitations_add (self->pending_invitations, data->to);

  g_task_return_pointer (task, g_steal_pointer (&invitation), g_object_unref);
}

static void
send_invite (GTask *task)
{
  NatterClient *self = g_task_get_source_object (task);
  InviteData *data = g_task_get_task_data (task);
  g_autoptr(NatterFrame) frame = natter_frame_new (NATTER_FRAME_INVITE);

  natter_frame_set_string (frame, "to", data->to);
  if (data->text != NULL && *data->text != '\0')
    natter_frame_set_string (frame, "text", data->text);
  /* Who it is from, in words: the invitee sees it beside our ID */
  if (self->profile_name != NULL && *self->profile_name != '\0')
    {
      g_autofree char *name = g_strdup (self->profile_name);

      if (strlen (name) > NATTER_INVITATION_NAME_MAX)
        *g_utf8_find_prev_char (name, name + NATTER_INVITATION_NAME_MAX + 1) = '\0';
      natter_frame_set_string (frame, "name", name);
    }

  _natter_client_request_async (self, frame, g_task_get_cancellable (task), on_invite_sent, task);
}

static void
on_handle_looked_up (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  InviteData *data = g_task_get_task_data (task);
  g_autoptr(NatterFrame) reply = NULL;

  reply = _natter_client_request_finish (task, source, result);
  if (reply == NULL)
    return;

  g_free (data->to);
  data->to = g_strdup (natter_frame_get_string (reply, "user"));
  send_invite (g_steal_pointer (&task));
}

static void
on_lookup_done (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(NatterFrame) reply = _natter_client_request_finish (task, source, result);

  if (reply != NULL)
    g_task_return_pointer (task, g_strdup (natter_frame_get_string (reply, "user")), g_free);
}

/**
 * natter_client_lookup_handle_async:
 * @self: a #NatterClient
 * @handle: `@name` or `name`
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the server's answer
 * @user_data: data for @callback
 *
 * Asks the server whose `@handle` this is. The server answers it, so the
 * answer is only as good as the server: show it, with the safety number,
 * before adding the contact (then invite the ID, not the handle).
 */
void
natter_client_lookup_handle_async (NatterClient        *self,
                                   const char          *handle,
                                   GCancellable        *cancellable,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(NatterFrame) lookup = NULL;
  g_autofree char *normalized = NULL;
  GError *error = NULL;

  g_return_if_fail (NATTER_IS_CLIENT (self));
  g_return_if_fail (handle != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, natter_client_lookup_handle_async);
  if (!_natter_client_check_server (self, task))
    return;

  normalized = natter_handle_normalize (handle, &error);
  if (normalized == NULL)
    {
      g_task_return_error (task, error);
      return;
    }

  lookup = natter_frame_new (NATTER_FRAME_HANDLE_LOOKUP);
  natter_frame_set_string (lookup, "handle", normalized);
  natter_signaling_request_async (self->signaling, lookup, cancellable, on_lookup_done,
                                  g_steal_pointer (&task));
}

/**
 * natter_client_lookup_handle_finish:
 *
 * Returns: (transfer full): the user ID the server gave for the handle, or
 *   %NULL with @error set (%NATTER_PROTOCOL_ERROR_NOT_FOUND for no one)
 */
char *
natter_client_lookup_handle_finish (NatterClient  *self,
                                    GAsyncResult  *result,
                                    GError       **error)
{
  return _natter_client_task_finish (self, result, error);
}

/**
 * natter_client_invite_async:
 * @self: a #NatterClient
 * @id_or_handle: a user ID (any case, spaces and dashes allowed) or `@handle`
 * @text: (nullable): a short note for the invitee
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when the server has the invitation
 * @user_data: data for @callback
 *
 * Invites someone to become a contact, and adds them as a contact here.
 */
void
natter_client_invite_async (NatterClient        *self,
                            const char          *id_or_handle,
                            const char          *text,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  InviteData *data;
  GError *error = NULL;

  g_return_if_fail (NATTER_IS_CLIENT (self));
  g_return_if_fail (id_or_handle != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, natter_client_invite_async);
  if (!_natter_client_check_invitations (self, task))
    return;

  /* Said at once, rather than after the server's refusal finds no request */
  if (text != NULL && (strlen (text) > NATTER_INVITATION_TEXT_MAX || !g_utf8_validate (text, -1, NULL)))
    {
      g_task_return_new_error (task, NATTER_CLIENT_ERROR, NATTER_CLIENT_ERROR_INVALID_MESSAGE,
                               _("An invitation’s text is at most %d bytes of UTF-8 (this one "
                                 "has %u)"), NATTER_INVITATION_TEXT_MAX,
                               (guint) MIN (strlen (text), G_MAXUINT));
      return;
    }

  data = g_new0 (InviteData, 1);
  data->text = g_strdup (text);
  g_task_set_task_data (task, data, invite_data_free);

  if (id_or_handle[0] == '@')
    {
      g_autoptr(NatterFrame) lookup = NULL;
      g_autofree char *handle = NULL;

      if (!_natter_client_check_server (self, task))
        return;

      handle = natter_handle_normalize (id_or_handle, &error);

      if (handle == NULL)
        {
          g_task_return_error (task, error);
          return;
        }

      lookup = natter_frame_new (NATTER_FRAME_HANDLE_LOOKUP);
      natter_frame_set_string (lookup, "handle", handle);
      natter_signaling_request_async (self->signaling, lookup, cancellable,
                                      on_handle_looked_up, g_steal_pointer (&task));
      return;
    }

  data->to = natter_user_id_normalize (id_or_handle, &error);
  if (data->to == NULL)
    {
      g_task_return_error (task, error);
      return;
    }

  send_invite (g_steal_pointer (&task));
}

/**
 * natter_client_invite_finish:
 * @self: a #NatterClient
 * @result: the result
 * @error: a #GError
 *
 * Returns: (transfer full): the invitation as the server keeps it
 */
NatterInvitation *
natter_client_invite_finish (NatterClient  *self,
                             GAsyncResult  *result,
                             GError       **error)
{
  return _natter_client_task_finish (self, result, error);
}

static void
on_answer_sent (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  NatterClient *self = g_task_get_source_object (task);
  AnswerData *data = g_task_get_task_data (task);
  g_autoptr(NatterFrame) reply = NULL;
  GError *error = NULL;

  reply = _natter_client_request_finish (task, source, result);
  if (reply == NULL)
    return;

  if (data->accept)
    {
      g_autoptr(NatterContact) contact = NULL;

      contact = natter_client_add_contact (self, natter_invitation_get_from (data->invitation),
                                           NULL, &error);
      if (contact == NULL)
        {
          g_task_return_error (task, error);
          return;
        }
    }

  g_task_return_pointer (task, g_object_ref (data->invitation), g_object_unref);
}

static void
on_invitations_listed (GObject      *source,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  NatterClient *self = g_task_get_source_object (task);
  AnswerData *data = g_task_get_task_data (task);
  g_autoptr(GPtrArray) invitations = NULL;
  g_autoptr(NatterFrame) answer = NULL;
  const char *own_id = natter_client_get_user_id (self);
  GCancellable *cancellable;
  GError *error = NULL;

  invitations = natter_client_list_invitations_finish (self, result, &error);
  if (invitations == NULL)
    {
      g_task_return_error (task, error);
      return;
    }

  for (guint i = 0; i < invitations->len; i++)
    {
      NatterInvitation *invitation = g_ptr_array_index (invitations, i);

      if (g_str_equal (natter_invitation_get_id (invitation), data->invitation_id) &&
          !g_str_equal (natter_invitation_get_from (invitation), own_id))
        g_set_object (&data->invitation, invitation);
    }

  if (data->invitation == NULL)
    {
      g_task_return_new_error (task, NATTER_CLIENT_ERROR, NATTER_CLIENT_ERROR_NOT_FOUND,
                               "No pending invitation has this ID; it may have expired");
      return;
    }

  answer = natter_frame_new (data->accept ? NATTER_FRAME_INVITE_ACCEPT : NATTER_FRAME_INVITE_DECLINE);
  natter_frame_set_string (answer, "invitation", data->invitation_id);
  /* Taken before the task is handed on: arguments have no order */
  cancellable = g_task_get_cancellable (task);
  _natter_client_request_async (self, answer, cancellable, on_answer_sent,
                                g_steal_pointer (&task));
}

static void request_invitations_page (GTask      *task,
                                      const char *after);

/* What is not an invitation object is left out: the server is not trusted */
static void
append_invitations (GPtrArray *to,
                    JsonArray *from)
{
  for (guint i = 0; from != NULL && i < json_array_get_length (from); i++)
    {
      JsonNode *node = json_array_get_element (from, i);
      g_autoptr(GError) error = NULL;
      NatterInvitation *invitation;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        continue;

      invitation = natter_invitation_new_from_json (json_node_get_object (node), &error);
      if (invitation != NULL)
        g_ptr_array_add (to, invitation);
      else
        g_debug ("Left out an invitation: %s", error->message);
    }
}

static void
on_invitations_page (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ListData *list = g_task_get_task_data (task);
  g_autoptr(NatterFrame) reply = NULL;
  const char *next;

  reply = _natter_client_request_finish (task, source, result);
  if (reply == NULL)
    return;

  append_invitations (list->invitations, natter_frame_get_array (reply, "incoming"));
  append_invitations (list->invitations, natter_frame_get_array (reply, "outgoing"));

  list->pages++;
  next = natter_frame_get_string (reply, "next");
  if (next != NULL && list->pages < INVITATION_PAGES_MAX)
    {
      request_invitations_page (g_steal_pointer (&task), next);
      return;
    }

  g_task_return_pointer (task, g_ptr_array_ref (list->invitations),
                         (GDestroyNotify) g_ptr_array_unref);
}

static void
request_invitations_page (GTask      *task,
                          const char *after)
{
  NatterClient *self = g_task_get_source_object (task);
  g_autoptr(NatterFrame) list = natter_frame_new (NATTER_FRAME_INVITATIONS);

  if (after != NULL)
    natter_frame_set_string (list, "after", after);
  _natter_client_request_async (self, list, g_task_get_cancellable (task),
                                on_invitations_page, task);
}

/**
 * natter_client_list_invitations_async:
 * @self: a #NatterClient
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the whole listing
 * @user_data: data for @callback
 *
 * Asks the server for the pending invitations, page after page.
 */
void
natter_client_list_invitations_async (NatterClient        *self,
                                      GCancellable        *cancellable,
                                      GAsyncReadyCallback  callback,
                                      gpointer             user_data)
{
  GTask *task;
  ListData *list;

  g_return_if_fail (NATTER_IS_CLIENT (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, natter_client_list_invitations_async);
  if (!_natter_client_check_invitations (self, task))
    {
      g_object_unref (task);
      return;
    }

  list = g_new0 (ListData, 1);
  list->invitations = g_ptr_array_new_with_free_func (g_object_unref);
  g_task_set_task_data (task, list, list_data_free);

  request_invitations_page (task, NULL);
}

/**
 * natter_client_list_invitations_finish:
 * @self: a #NatterClient
 * @result: the result
 * @error: a #GError
 *
 * Returns: (transfer full) (element-type NatterInvitation): the pending
 *   invitations, those to us first (their #NatterInvitation:from is someone
 *   else), each kind oldest first
 */
GPtrArray *
natter_client_list_invitations_finish (NatterClient  *self,
                                       GAsyncResult  *result,
                                       GError       **error)
{
  return _natter_client_task_finish (self, result, error);
}

/**
 * natter_client_answer_invitation_async:
 * @self: a #NatterClient
 * @invitation_id: the `id` of a pending incoming invitation
 * @accept: %TRUE to accept, %FALSE to decline
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when answered
 * @user_data: data for @callback
 *
 * Answers an invitation; accepting adds its sender as a contact.
 */
void
natter_client_answer_invitation_async (NatterClient        *self,
                                       const char          *invitation_id,
                                       gboolean             accept,
                                       GCancellable        *cancellable,
                                       GAsyncReadyCallback  callback,
                                       gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  AnswerData *data;

  g_return_if_fail (NATTER_IS_CLIENT (self));
  g_return_if_fail (invitation_id != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, natter_client_answer_invitation_async);
  data = g_new0 (AnswerData, 1);
  data->invitation_id = g_strdup (invitation_id);
  data->accept = !!accept;
  g_task_set_task_data (task, data, answer_data_free);

  natter_client_list_invitations_async (self, cancellable, on_invitations_listed,
                                        g_steal_pointer (&task));
}

/**
 * natter_client_answer_invitation_finish:
 * @self: a #NatterClient
 * @result: the result
 * @error: a #GError
 *
 * Returns: (transfer full): the invitation that was answered
 */
NatterInvitation *
natter_client_answer_invitation_finish (NatterClient  *self,
                                        GAsyncResult  *result,
                                        GError       **error)
{
  return _natter_client_task_finish (self, result, error);
}
