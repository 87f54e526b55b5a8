/* natter-timeline.c: a conversation's messages and transfers in time order
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * What the conversation view lists: the messages and calls of a
 * NatterConversation, in its order, with the contact's file transfers (and
 * whatever else has a `timestamp`: natter_timeline_add_item()) put in where
 * they happened. An item goes before the first message that entered the history
 * after it. While older messages are not loaded yet, only the items from
 * the oldest loaded message on are listed, so that scrolling up brings
 * them in at their place.
 *
 * Each change is worked out again over the whole list and reported as the
 * one range that differs, so rows that stay keep their place on screen.
 */
#define G_LOG_DOMAIN "natter-timeline"

#include "config.h"

#include "natter-call.h"
#include "natter-timeline.h"
#include "natter-transfer.h"

struct _NatterTimeline
{
  GObject             parent_instance;

  NatterConversation *conversation;
  NatterContactSession *session;
  GPtrArray          *extras;     /* items other than messages, oldest first */
  GPtrArray          *items;      /* what the model lists */
};

enum {
  PROP_0,
  PROP_CONVERSATION,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void list_model_iface_init (GListModelInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (NatterTimeline, natter_timeline, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL, list_model_iface_init))

static GType
natter_timeline_get_item_type (GListModel *model)
{
  return G_TYPE_OBJECT;
}

static guint
natter_timeline_get_n_items (GListModel *model)
{
  return NATTER_TIMELINE (model)->items->len;
}

static gpointer
natter_timeline_get_item (GListModel *model,
                          guint       position)
{
  NatterTimeline *self = NATTER_TIMELINE (model);

  if (position >= self->items->len)
    return NULL;

  return g_object_ref (g_ptr_array_index (self->items, position));
}

static void
list_model_iface_init (GListModelInterface *iface)
{
  iface->get_item_type = natter_timeline_get_item_type;
  iface->get_n_items = natter_timeline_get_n_items;
  iface->get_item = natter_timeline_get_item;
}

/**
 * natter_timeline_item_time:
 * @item: a message, a call, or an object with an int64 `timestamp` property
 *
 * Returns: when @item entered this history, in µs since the epoch (a
 *   received message: when it arrived, not the sender's clock)
 */
gint64
natter_timeline_item_time (GObject *item)
{
  gint64 timestamp = 0;

  g_return_val_if_fail (G_IS_OBJECT (item), 0);

  if (NATTER_IS_MESSAGE (item))
    {
      NatterMessage *message = NATTER_MESSAGE (item);

      if (natter_message_get_direction (message) == NATTER_MESSAGE_DIRECTION_IN &&
          natter_message_get_received_timestamp (message) > 0)
        return natter_message_get_received_timestamp (message);
      return natter_message_get_timestamp (message);
    }
  if (NATTER_IS_CALL (item))
    return natter_call_get_started_at (NATTER_CALL (item));

  if (g_object_class_find_property (G_OBJECT_GET_CLASS (item), "timestamp") != NULL)
    g_object_get (item, "timestamp", &timestamp, NULL);
  return timestamp;
}

static void
rebuild (NatterTimeline *self)
{
  GListModel *messages = G_LIST_MODEL (self->conversation);
  guint n_messages = g_list_model_get_n_items (messages);
  g_autoptr(GPtrArray) old = g_steal_pointer (&self->items);
  guint extra = 0;
  guint prefix = 0;
  guint suffix = 0;

  self->items = g_ptr_array_new_full (n_messages + self->extras->len, g_object_unref);

  /* Older messages are still to come: what is older than the oldest
   * loaded one waits for them. */
  if (n_messages > 0 && natter_conversation_get_has_older (self->conversation))
    {
      g_autoptr(GObject) first = g_list_model_get_item (messages, 0);
      gint64 start = natter_timeline_item_time (first);

      while (extra < self->extras->len &&
             natter_timeline_item_time (g_ptr_array_index (self->extras, extra)) < start)
        extra++;
    }

  for (guint i = 0; i < n_messages; i++)
    {
      GObject *message = g_list_model_get_item (messages, i);  /* or a call */
      gint64 time = natter_timeline_item_time (message);

      while (extra < self->extras->len &&
             natter_timeline_item_time (g_ptr_array_index (self->extras, extra)) < time)
        g_ptr_array_add (self->items, g_object_ref (g_ptr_array_index (self->extras, extra++)));
      g_ptr_array_add (self->items, message);
    }
  while (extra < self->extras->len)
    g_ptr_array_add (self->items, g_object_ref (g_ptr_array_index (self->extras, extra++)));

  while (prefix < old->len && prefix < self->items->len &&
         g_ptr_array_index (old, prefix) == g_ptr_array_index (self->items, prefix))
    prefix++;
  while (suffix < old->len - prefix && suffix < self->items->len - prefix &&
         g_ptr_array_index (old, old->len - 1 - suffix) ==
         g_ptr_array_index (self->items, self->items->len - 1 - suffix))
    suffix++;

  if (prefix != old->len || prefix != self->items->len)
    g_list_model_items_changed (G_LIST_MODEL (self), prefix, old->len - prefix - suffix,
                                self->items->len - prefix - suffix);
}

static void
insert_extra (NatterTimeline *self,
              GObject        *item)
{
  gint64 time = natter_timeline_item_time (item);
  guint position = self->extras->len;

  /* Usually the newest: look from the end */
  while (position > 0 &&
         natter_timeline_item_time (g_ptr_array_index (self->extras, position - 1)) > time)
    position--;
  g_ptr_array_insert (self->extras, position, g_object_ref (item));
}

static void
on_transfer_added (NatterContactSession *session,
                   NatterTransfer       *transfer,
                   gpointer              user_data)
{
  natter_timeline_add_item (user_data, G_OBJECT (transfer));
}

static void
natter_timeline_constructed (GObject *object)
{
  NatterTimeline *self = NATTER_TIMELINE (object);
  NatterClient *client = NULL;
  const char *contact_id = natter_conversation_get_contact_id (self->conversation);
  g_autoptr(GPtrArray) transfers = NULL;
  g_autoptr(GError) error = NULL;

  G_OBJECT_CLASS (natter_timeline_parent_class)->constructed (object);

  g_object_get (self->conversation, "client", &client, NULL);
  self->session = g_object_ref (natter_client_get_session (client, contact_id));
  transfers = natter_client_list_transfers (client, contact_id, &error);
  if (transfers == NULL)
    g_warning ("Could not load the conversation’s files: %s", error->message);
  else
    for (guint i = 0; i < transfers->len; i++)
      insert_extra (self, g_ptr_array_index (transfers, i));
  g_object_unref (client);

  g_signal_connect_object (self->session, "transfer-added", G_CALLBACK (on_transfer_added),
                           self, 0);
  g_signal_connect_object (self->conversation, "items-changed", G_CALLBACK (rebuild), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->conversation, "notify::has-older", G_CALLBACK (rebuild), self,
                           G_CONNECT_SWAPPED);
  rebuild (self);
}

static void
natter_timeline_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  NatterTimeline *self = NATTER_TIMELINE (object);

  switch (prop_id)
    {
    case PROP_CONVERSATION:
      g_value_set_object (value, self->conversation);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
natter_timeline_set_property (GObject      *object,
                              guint         prop_id,
                              const GValue *value,
                              GParamSpec   *pspec)
{
  NatterTimeline *self = NATTER_TIMELINE (object);

  switch (prop_id)
    {
    case PROP_CONVERSATION:
      self->conversation = g_value_dup_object (value);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
natter_timeline_dispose (GObject *object)
{
  NatterTimeline *self = NATTER_TIMELINE (object);

  g_clear_object (&self->session);
  g_clear_object (&self->conversation);
  g_ptr_array_set_size (self->extras, 0);
  g_ptr_array_set_size (self->items, 0);

  G_OBJECT_CLASS (natter_timeline_parent_class)->dispose (object);
}

static void
natter_timeline_finalize (GObject *object)
{
  NatterTimeline *self = NATTER_TIMELINE (object);

  g_clear_pointer (&self->extras, g_ptr_array_unref);
  g_clear_pointer (&self->items, g_ptr_array_unref);

  G_OBJECT_CLASS (natter_timeline_parent_class)->finalize (object);
}

static void
natter_timeline_class_init (NatterTimelineClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = natter_timeline_constructed;
  object_class->get_property = natter_timeline_get_property;
  object_class->set_property = natter_timeline_set_property;
  object_class->dispose = natter_timeline_dispose;
  object_class->finalize = natter_timeline_finalize;

  properties[PROP_CONVERSATION] =
    g_param_spec_object ("conversation", NULL, NULL, NATTER_TYPE_CONVERSATION,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
natter_timeline_init (NatterTimeline *self)
{
  self->extras = g_ptr_array_new_with_free_func (g_object_unref);
  self->items = g_ptr_array_new_with_free_func (g_object_unref);
}

/**
 * natter_timeline_new:
 * @conversation: the messages
 *
 * Returns: (transfer full): the messages and the contact's transfers
 */
NatterTimeline *
natter_timeline_new (NatterConversation *conversation)
{
  g_return_val_if_fail (NATTER_IS_CONVERSATION (conversation), NULL);

  return g_object_new (NATTER_TYPE_TIMELINE, "conversation", conversation, NULL);
}

NatterConversation *
natter_timeline_get_conversation (NatterTimeline *self)
{
  g_return_val_if_fail (NATTER_IS_TIMELINE (self), NULL);

  return self->conversation;
}

/**
 * natter_timeline_add_item:
 * @item: an object with an int64 `timestamp` property (µs since the epoch)
 *
 * Lists @item at its time among the messages. An item listed already is
 * not added twice.
 */
void
natter_timeline_add_item (NatterTimeline *self,
                          GObject        *item)
{
  g_return_if_fail (NATTER_IS_TIMELINE (self));
  g_return_if_fail (G_IS_OBJECT (item));

  if (g_ptr_array_find (self->extras, item, NULL))
    return;

  insert_extra (self, item);
  rebuild (self);
}

/**
 * natter_timeline_find:
 * @item: a message or other item
 * @position: (out): where it is listed
 *
 * Returns: %TRUE if @item is listed
 */
gboolean
natter_timeline_find (NatterTimeline *self,
                      gpointer        item,
                      guint          *position)
{
  g_return_val_if_fail (NATTER_IS_TIMELINE (self), FALSE);

  return g_ptr_array_find (self->items, item, position);
}
