/* natter-client-handles.c: claiming and releasing our @handle
 *
 * A handle is a short name the server binds to our key (docs/protocol.md,
 * handle-register and handle-release). A user holds at most one: claiming
 * a new one releases the old one on the server. The server does not say
 * which handle a user holds, so the caller keeps the one it claimed.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "natter-client"

#include "config.h"

#include "natter-client.h"
#include "natter-protocol.h"

static void
on_handle_reply (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(NatterFrame) reply = NULL;
  GError *error = NULL;

  reply = natter_signaling_request_finish (NATTER_SIGNALING (source), result, &error);
  if (reply == NULL)
    {
      g_task_return_error (task, error);
      return;
    }

  /* A claim answers with the handle as the server keeps it; a release with ok. */
  if (natter_frame_get_frame_type (reply) == NATTER_FRAME_HANDLE)
    g_task_return_pointer (task, g_strdup (natter_frame_get_string (reply, "handle")), g_free);
  else
    g_task_return_pointer (task, g_strdup (""), g_free);
}

static void
request_handle (NatterClient        *self,
                NatterFrameType      type,
                const char          *handle,
                GCancellable        *cancellable,
                GAsyncReadyCallback  callback,
                gpointer             user_data,
                gpointer             source_tag)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autoptr(NatterFrame) frame = NULL;
  g_autofree char *normalized = NULL;
  GError *error = NULL;

  g_task_set_source_tag (task, source_tag);

  normalized = natter_handle_normalize (handle, &error);
  if (normalized == NULL)
    {
      g_task_return_error (task, error);
      return;
    }

  frame = natter_frame_new (type);
  natter_frame_set_string (frame, "handle", normalized);
  natter_signaling_request_async (natter_client_get_signaling (self), frame, cancellable,
                                  on_handle_reply, g_steal_pointer (&task));
}

/**
 * natter_client_claim_handle_async:
 * @handle: the handle, with or without its `@`
 *
 * Asks the server for @handle; our previous handle, if any, is released.
 */
void
natter_client_claim_handle_async (NatterClient        *self,
                                  const char          *handle,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  g_return_if_fail (NATTER_IS_CLIENT (self));
  g_return_if_fail (handle != NULL);

  request_handle (self, NATTER_FRAME_HANDLE_REGISTER, handle, cancellable, callback, user_data,
                  natter_client_claim_handle_async);
}

/**
 * natter_client_claim_handle_finish:
 *
 * Returns: (transfer full) (nullable): the handle as the server keeps it
 *   (lower case, no `@`), or %NULL with @error set (`handle-taken` and the
 *   other refusals of docs/protocol.md as NATTER_PROTOCOL_ERROR)
 */
char *
natter_client_claim_handle_finish (NatterClient  *self,
                                   GAsyncResult  *result,
                                   GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * natter_client_release_handle_async:
 * @handle: the handle we hold
 *
 * Gives @handle back; anyone may claim it afterwards.
 */
void
natter_client_release_handle_async (NatterClient        *self,
                                    const char          *handle,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  g_return_if_fail (NATTER_IS_CLIENT (self));
  g_return_if_fail (handle != NULL);

  request_handle (self, NATTER_FRAME_HANDLE_RELEASE, handle, cancellable, callback, user_data,
                  natter_client_release_handle_async);
}

/**
 * natter_client_release_handle_finish:
 *
 * Returns: %TRUE if the server let the handle go
 */
gboolean
natter_client_release_handle_finish (NatterClient  *self,
                                     GAsyncResult  *result,
                                     GError       **error)
{
  g_autofree char *none = NULL;

  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  none = g_task_propagate_pointer (G_TASK (result), error);
  return none != NULL;
}
