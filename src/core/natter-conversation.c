/* natter-conversation.c: one contact's messages and calls as a GListModel
 *
 * The newest page is loaded from the store at once; older pages are loaded
 * when the view asks (scrolling up), so a conversation of any length opens
 * in constant time. New messages are appended as the client reports them;
 * status changes reach the rows through the messages' own notify::status,
 * because the store hands out one live object per message.
 *
 * The contact's calls (NatterCall) stand among the messages in time order:
 * those of the history as each page of messages is loaded, a new one as
 * the client adds it (the live object, whose state the row follows). Items
 * are NatterMessage or NatterCall.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "natter-conversation"

#include "config.h"

#include "natter-conversation.h"

struct _NatterConversation
{
  GObject       parent_instance;

  NatterClient *client;
  char         *contact_id;
  NatterContactSession *session;   /* what the client knows of the contact now */
  GPtrArray    *messages;    /* NatterMessage and NatterCall, oldest first */
  GPtrArray    *older_calls; /* of the history, before the loaded page, oldest first */
  gboolean      has_older;
  gboolean      typing;
};

enum {
  PROP_0,
  PROP_CLIENT,
  PROP_CONTACT_ID,
  PROP_HAS_OLDER,
  PROP_TYPING,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void list_model_iface_init (GListModelInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (NatterConversation, natter_conversation, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL, list_model_iface_init))

static GType
natter_conversation_get_item_type (GListModel *model)
{
  return G_TYPE_OBJECT;
}

static guint
natter_conversation_get_n_items (GListModel *model)
{
  return NATTER_CONVERSATION (model)->messages->len;
}

static gpointer
natter_conversation_get_item (GListModel *model,
                              guint       position)
{
  NatterConversation *self = NATTER_CONVERSATION (model);

  if (position >= self->messages->len)
    return NULL;

  return g_object_ref (g_ptr_array_index (self->messages, position));
}

static void
list_model_iface_init (GListModelInterface *iface)
{
  iface->get_item_type = natter_conversation_get_item_type;
  iface->get_n_items = natter_conversation_get_n_items;
  iface->get_item = natter_conversation_get_item;
}

static void
set_has_older (NatterConversation *self,
               gboolean            has_older)
{
  if (self->has_older == has_older)
    return;

  self->has_older = has_older;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_HAS_OLDER]);
}

/* When a message or call took place, for the time order */
static gint64
item_time (gpointer item)
{
  if (NATTER_IS_CALL (item))
    return natter_call_get_started_at (item);
  return natter_message_get_timestamp (item);
}

/* The oldest message loaded, which the next page of the store comes before */
static NatterMessage *
oldest_message (NatterConversation *self)
{
  for (guint i = 0; i < self->messages->len; i++)
    if (NATTER_IS_MESSAGE (g_ptr_array_index (self->messages, i)))
      return g_ptr_array_index (self->messages, i);
  return NULL;
}

/* Puts the calls of the history that belong with @page (messages, oldest
 * first) among them; all that are left if no page is older */
static void
merge_calls (NatterConversation *self,
             GPtrArray          *page,
             gboolean            oldest_page)
{
  gint64 from = page->len > 0 && !oldest_page ? item_time (g_ptr_array_index (page, 0))
                                              : G_MININT64;
  guint first = self->older_calls->len;
  guint at = 0;

  while (first > 0 && natter_call_get_started_at (g_ptr_array_index (self->older_calls,
                                                                     first - 1)) >= from)
    first--;

  for (guint i = first; i < self->older_calls->len; i++)
    {
      NatterCall *call = g_ptr_array_index (self->older_calls, i);

      while (at < page->len && item_time (g_ptr_array_index (page, at)) <=
                               natter_call_get_started_at (call))
        at++;
      g_ptr_array_insert (page, at++, g_object_ref (call));
    }
  g_ptr_array_set_size (self->older_calls, first);
}

static gboolean
has_item (NatterConversation *self,
          gpointer            item)
{
  for (guint i = self->messages->len; i > 0; i--)
    if (g_ptr_array_index (self->messages, i - 1) == item)
      return TRUE;
  return FALSE;
}

static void
on_call_added (NatterClient *client,
               NatterCall   *call,
               gpointer      user_data)
{
  NatterConversation *self = user_data;

  if (g_strcmp0 (natter_call_get_contact_id (call), self->contact_id) != 0 ||
      has_item (self, call))
    return;

  g_ptr_array_add (self->messages, g_object_ref (call));
  g_list_model_items_changed (G_LIST_MODEL (self), self->messages->len - 1, 0, 1);
}

static void
on_message_added (NatterContactSession *session,
                  NatterMessage        *message,
                  gpointer              user_data)
{
  NatterConversation *self = user_data;

  g_ptr_array_add (self->messages, g_object_ref (message));
  g_list_model_items_changed (G_LIST_MODEL (self), self->messages->len - 1, 0, 1);
}

static void
on_message_deleted (NatterContactSession *session,
                    const char           *message_id,
                    gpointer              user_data)
{
  NatterConversation *self = user_data;

  for (guint i = 0; i < self->messages->len; i++)
    if (NATTER_IS_MESSAGE (g_ptr_array_index (self->messages, i)) &&
        g_strcmp0 (natter_message_get_id (g_ptr_array_index (self->messages, i)),
                   message_id) == 0)
      {
        g_ptr_array_remove_index (self->messages, i);
        g_list_model_items_changed (G_LIST_MODEL (self), i, 1, 0);
        return;
      }
}

static void
on_conversation_cleared (NatterContactSession *session,
                         gpointer              user_data)
{
  NatterConversation *self = user_data;
  guint removed = self->messages->len;

  if (removed == 0)
    return;

  g_ptr_array_set_size (self->messages, 0);
  g_ptr_array_set_size (self->older_calls, 0);
  set_has_older (self, FALSE);
  g_list_model_items_changed (G_LIST_MODEL (self), 0, removed, 0);
}

static void
on_typing_notify (NatterContactSession *session,
                  GParamSpec           *pspec,
                  gpointer              user_data)
{
  NatterConversation *self = user_data;
  gboolean typing = natter_contact_session_get_typing (session);

  if (self->typing == typing)
    return;

  self->typing = typing;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TYPING]);
}

static void
natter_conversation_constructed (GObject *object)
{
  NatterConversation *self = NATTER_CONVERSATION (object);
  g_autoptr(GPtrArray) page = NULL;
  g_autoptr(GPtrArray) calls = NULL;
  g_autoptr(GError) error = NULL;
  NatterCall *current;

  G_OBJECT_CLASS (natter_conversation_parent_class)->constructed (object);

  calls = natter_client_list_calls (self->client, self->contact_id, NATTER_CONVERSATION_CALLS,
                                    &error);
  if (calls == NULL)
    g_message ("Could not load the calls of a conversation: %s", error->message);
  else
    g_ptr_array_extend_and_steal (self->older_calls, g_steal_pointer (&calls));
  g_clear_error (&error);

  page = natter_store_load_messages (natter_client_get_store (self->client), self->contact_id,
                                     NULL, NATTER_CONVERSATION_PAGE_SIZE, &error);
  if (page == NULL)
    {
      g_warning ("Could not load the conversation: %s", error->message);
    }
  else
    {
      self->has_older = page->len == NATTER_CONVERSATION_PAGE_SIZE;
      merge_calls (self, page, !self->has_older);
      g_ptr_array_extend_and_steal (self->messages, g_steal_pointer (&page));
    }

  /* A call going on now is in the history only once it is over */
  current = natter_client_get_current_call (self->client);
  if (current != NULL && g_strcmp0 (natter_call_get_contact_id (current), self->contact_id) == 0)
    g_ptr_array_add (self->messages, g_object_ref (current));
  g_signal_connect_object (self->client, "call-added", G_CALLBACK (on_call_added), self, 0);

  /* The session speaks only of this conversation */
  self->session = g_object_ref (natter_client_get_session (self->client, self->contact_id));
  self->typing = natter_contact_session_get_typing (self->session);
  g_signal_connect_object (self->session, "message-added", G_CALLBACK (on_message_added), self, 0);
  g_signal_connect_object (self->session, "notify::typing", G_CALLBACK (on_typing_notify), self,
                           0);
  g_signal_connect_object (self->session, "message-deleted", G_CALLBACK (on_message_deleted),
                           self, 0);
  g_signal_connect_object (self->session, "conversation-cleared",
                           G_CALLBACK (on_conversation_cleared), self, 0);
}

static void
natter_conversation_get_property (GObject    *object,
                                  guint       prop_id,
                                  GValue     *value,
                                  GParamSpec *pspec)
{
  NatterConversation *self = NATTER_CONVERSATION (object);

  switch (prop_id)
    {
    case PROP_CLIENT:
      g_value_set_object (value, self->client);
      break;

    case PROP_CONTACT_ID:
      g_value_set_string (value, self->contact_id);
      break;

    case PROP_HAS_OLDER:
      g_value_set_boolean (value, self->has_older);
      break;

    case PROP_TYPING:
      g_value_set_boolean (value, self->typing);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
natter_conversation_set_property (GObject      *object,
                                  guint         prop_id,
                                  const GValue *value,
                                  GParamSpec   *pspec)
{
  NatterConversation *self = NATTER_CONVERSATION (object);

  switch (prop_id)
    {
    case PROP_CLIENT:
      self->client = g_value_dup_object (value);
      break;

    case PROP_CONTACT_ID:
      self->contact_id = g_value_dup_string (value);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
natter_conversation_dispose (GObject *object)
{
  NatterConversation *self = NATTER_CONVERSATION (object);

  g_clear_object (&self->session);
  g_clear_object (&self->client);
  if (self->messages != NULL)
    g_ptr_array_set_size (self->messages, 0);
  if (self->older_calls != NULL)
    g_ptr_array_set_size (self->older_calls, 0);

  G_OBJECT_CLASS (natter_conversation_parent_class)->dispose (object);
}

static void
natter_conversation_finalize (GObject *object)
{
  NatterConversation *self = NATTER_CONVERSATION (object);

  g_clear_pointer (&self->messages, g_ptr_array_unref);
  g_clear_pointer (&self->older_calls, g_ptr_array_unref);
  g_free (self->contact_id);

  G_OBJECT_CLASS (natter_conversation_parent_class)->finalize (object);
}

static void
natter_conversation_class_init (NatterConversationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = natter_conversation_constructed;
  object_class->get_property = natter_conversation_get_property;
  object_class->set_property = natter_conversation_set_property;
  object_class->dispose = natter_conversation_dispose;
  object_class->finalize = natter_conversation_finalize;

  properties[PROP_CLIENT] =
    g_param_spec_object ("client", NULL, NULL, NATTER_TYPE_CLIENT,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_CONTACT_ID] =
    g_param_spec_string ("contact-id", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_HAS_OLDER] =
    g_param_spec_boolean ("has-older", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_TYPING] =
    g_param_spec_boolean ("typing", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
natter_conversation_init (NatterConversation *self)
{
  self->messages = g_ptr_array_new_with_free_func (g_object_unref);
  self->older_calls = g_ptr_array_new_with_free_func (g_object_unref);
}

/**
 * natter_conversation_new:
 * @client: the client
 * @contact_id: whose conversation
 *
 * Returns: (transfer full): the conversation, newest page loaded
 */
NatterConversation *
natter_conversation_new (NatterClient *client,
                         const char   *contact_id)
{
  g_return_val_if_fail (NATTER_IS_CLIENT (client), NULL);
  g_return_val_if_fail (contact_id != NULL, NULL);

  return g_object_new (NATTER_TYPE_CONVERSATION, "client", client, "contact-id", contact_id, NULL);
}

const char *
natter_conversation_get_contact_id (NatterConversation *self)
{
  g_return_val_if_fail (NATTER_IS_CONVERSATION (self), NULL);

  return self->contact_id;
}

gboolean
natter_conversation_get_has_older (NatterConversation *self)
{
  g_return_val_if_fail (NATTER_IS_CONVERSATION (self), FALSE);

  return self->has_older;
}

gboolean
natter_conversation_get_typing (NatterConversation *self)
{
  g_return_val_if_fail (NATTER_IS_CONVERSATION (self), FALSE);

  return self->typing;
}

/**
 * natter_conversation_load_older:
 * @self: a #NatterConversation
 *
 * Prepends the page of messages before the oldest one loaded, with the
 * calls among them.
 *
 * Returns: %TRUE if messages were added
 */
gboolean
natter_conversation_load_older (NatterConversation *self)
{
  g_autoptr(GPtrArray) page = NULL;
  g_autoptr(GError) error = NULL;
  guint n;

  g_return_val_if_fail (NATTER_IS_CONVERSATION (self), FALSE);

  if (!self->has_older || oldest_message (self) == NULL)
    return FALSE;

  page = natter_store_load_messages (natter_client_get_store (self->client), self->contact_id,
                                     oldest_message (self), NATTER_CONVERSATION_PAGE_SIZE,
                                     &error);
  if (page == NULL)
    {
      g_warning ("Could not load older messages: %s", error->message);
      return FALSE;
    }

  set_has_older (self, page->len == NATTER_CONVERSATION_PAGE_SIZE);
  merge_calls (self, page, !self->has_older);
  n = page->len;
  if (n > 0)
    {
      g_ptr_array_extend_and_steal (page, g_steal_pointer (&self->messages));
      self->messages = g_steal_pointer (&page);
      g_list_model_items_changed (G_LIST_MODEL (self), 0, 0, n);
    }

  return n > 0;
}
