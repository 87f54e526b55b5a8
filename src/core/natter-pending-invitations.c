/* natter-pending-invitations.c: the invitations we sent that await an answer
 *
 * The server keeps outgoing invitations until they are answered or expire,
 * so this asks it for the list each time the connection comes up
 * (`invitations`, docs/protocol.md) and follows what happens meanwhile:
 * an invitation sent, an answer received. The app shows such a contact as
 * waiting for their answer rather than as someone who can be reached.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "natter-pending-invitations"

#include "config.h"

#include "natter-protocol.h"

#include "natter-pending-invitations.h"

enum {
  CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

struct _NatterPendingInvitations
{
  GObject          parent_instance;

  NatterSignaling *signaling;
  GCancellable    *cancellable;
  GHashTable      *user_ids;   /* the invitees, a set */
};

G_DEFINE_FINAL_TYPE (NatterPendingInvitations, natter_pending_invitations, G_TYPE_OBJECT)

static void
set_pending (NatterPendingInvitations *self,
             const char               *user_id,
             gboolean                  pending)
{
  gboolean changed;

  if (pending)
    changed = g_hash_table_add (self->user_ids, g_strdup (user_id));
  else
    changed = g_hash_table_remove (self->user_ids, user_id);

  if (changed)
    g_signal_emit (self, signals[CHANGED], 0, user_id);
}

static void
on_listed (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(NatterPendingInvitations) self = user_data;
  g_autoptr(NatterFrame) reply = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) listed = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GPtrArray) gone = g_ptr_array_new_with_free_func (g_free);
  JsonArray *outgoing;
  GHashTableIter iter;
  const char *user_id;

  reply = natter_signaling_request_finish (NATTER_SIGNALING (source), result, &error);
  if (reply == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_debug ("Could not list the pending invitations: %s", error->message);
      return;
    }

  outgoing = natter_frame_get_array (reply, "outgoing");
  for (guint i = 0; outgoing != NULL && i < json_array_get_length (outgoing); i++)
    {
      JsonNode *node = json_array_get_element (outgoing, i);
      const char *to;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        continue;
      to = json_object_get_string_member_with_default (json_node_get_object (node), "to", NULL);
      if (to == NULL || !natter_user_id_is_valid (to))
        continue;
      g_hash_table_add (listed, (gpointer) to);
      set_pending (self, to, TRUE);
    }

  /* Answered or expired while we were away. */
  g_hash_table_iter_init (&iter, self->user_ids);
  while (g_hash_table_iter_next (&iter, (gpointer *) &user_id, NULL))
    if (!g_hash_table_contains (listed, user_id))
      g_ptr_array_add (gone, g_strdup (user_id));
  for (guint i = 0; i < gone->len; i++)
    set_pending (self, g_ptr_array_index (gone, i), FALSE);
}

static void
on_signaling_state (NatterPendingInvitations *self)
{
  g_autoptr(NatterFrame) frame = NULL;

  if (natter_signaling_get_state (self->signaling) != NATTER_SIGNALING_STATE_ONLINE)
    return;

  frame = natter_frame_new (NATTER_FRAME_INVITATIONS);
  natter_signaling_request_async (self->signaling, frame, self->cancellable, on_listed,
                                  g_object_ref (self));
}

static void
natter_pending_invitations_dispose (GObject *object)
{
  NatterPendingInvitations *self = NATTER_PENDING_INVITATIONS (object);

  g_cancellable_cancel (self->cancellable);
  if (self->signaling != NULL)
    g_signal_handlers_disconnect_by_data (self->signaling, self);
  g_clear_object (&self->signaling);

  G_OBJECT_CLASS (natter_pending_invitations_parent_class)->dispose (object);
}

static void
natter_pending_invitations_finalize (GObject *object)
{
  NatterPendingInvitations *self = NATTER_PENDING_INVITATIONS (object);

  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->user_ids, g_hash_table_unref);

  G_OBJECT_CLASS (natter_pending_invitations_parent_class)->finalize (object);
}

static void
natter_pending_invitations_class_init (NatterPendingInvitationsClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = natter_pending_invitations_dispose;
  object_class->finalize = natter_pending_invitations_finalize;

  /**
   * NatterPendingInvitations::changed:
   * @user_id: the invitee whose invitation is now pending, or no longer
   */
  signals[CHANGED] =
    g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
natter_pending_invitations_init (NatterPendingInvitations *self)
{
  self->cancellable = g_cancellable_new ();
  self->user_ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

/**
 * natter_pending_invitations_new:
 * @signaling: the connection to ask about the invitations
 */
NatterPendingInvitations *
natter_pending_invitations_new (NatterSignaling *signaling)
{
  NatterPendingInvitations *self;

  g_return_val_if_fail (NATTER_IS_SIGNALING (signaling), NULL);

  self = g_object_new (NATTER_TYPE_PENDING_INVITATIONS, NULL);
  self->signaling = g_object_ref (signaling);
  g_signal_connect_swapped (signaling, "notify::state", G_CALLBACK (on_signaling_state), self);
  on_signaling_state (self);
  return self;
}

/**
 * natter_pending_invitations_add:
 * @user_id: someone the server has just taken an invitation for
 */
void
natter_pending_invitations_add (NatterPendingInvitations *self,
                                const char               *user_id)
{
  g_return_if_fail (NATTER_IS_PENDING_INVITATIONS (self));
  g_return_if_fail (user_id != NULL);

  set_pending (self, user_id, TRUE);
}

/**
 * natter_pending_invitations_answered:
 * @user_id: an invitee who accepted or declined
 */
void
natter_pending_invitations_answered (NatterPendingInvitations *self,
                                     const char               *user_id)
{
  g_return_if_fail (NATTER_IS_PENDING_INVITATIONS (self));
  g_return_if_fail (user_id != NULL);

  set_pending (self, user_id, FALSE);
}

/**
 * natter_pending_invitations_contains:
 *
 * Returns: whether an invitation to @user_id awaits their answer
 */
gboolean
natter_pending_invitations_contains (NatterPendingInvitations *self,
                                     const char               *user_id)
{
  g_return_val_if_fail (NATTER_IS_PENDING_INVITATIONS (self), FALSE);

  return user_id != NULL && g_hash_table_contains (self->user_ids, user_id);
}
