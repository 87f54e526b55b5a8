/* natter-conversation.c: one contact's messages as a GListModel
 *
 * The newest page is loaded from the store at once; older pages are loaded
 * when the view asks (scrolling up), so a conversation of any length opens
 * in constant time. New messages are appended as the client reports them;
 * status changes reach the rows through the messages' own notify::status,
 * because the store hands out one live object per message.
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
  GPtrArray    *messages;    /* NatterMessage, oldest first */
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
  return NATTER_TYPE_MESSAGE;
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
    if (g_strcmp0 (natter_message_get_id (g_ptr_array_index (self->messages, i)),
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
  g_autoptr(GError) error = NULL;

  G_OBJECT_CLASS (natter_conversation_parent_class)->constructed (object);

  page = natter_store_load_messages (natter_client_get_store (self->client), self->contact_id,
                                     NULL, NATTER_CONVERSATION_PAGE_SIZE, &error);
  if (page == NULL)
    {
      g_warning ("Could not load the conversation: %s", error->message);
    }
  else
    {
      g_ptr_array_extend_and_steal (self->messages, g_steal_pointer (&page));
      self->has_older = self->messages->len == NATTER_CONVERSATION_PAGE_SIZE;
    }

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

  G_OBJECT_CLASS (natter_conversation_parent_class)->dispose (object);
}

static void
natter_conversation_finalize (GObject *object)
{
  NatterConversation *self = NATTER_CONVERSATION (object);

  g_clear_pointer (&self->messages, g_ptr_array_unref);
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
 * Prepends the page of messages before the oldest one loaded.
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

  if (!self->has_older || self->messages->len == 0)
    return FALSE;

  page = natter_store_load_messages (natter_client_get_store (self->client), self->contact_id,
                                     g_ptr_array_index (self->messages, 0),
                                     NATTER_CONVERSATION_PAGE_SIZE, &error);
  if (page == NULL)
    {
      g_warning ("Could not load older messages: %s", error->message);
      return FALSE;
    }

  n = page->len;
  if (n > 0)
    {
      g_ptr_array_extend_and_steal (page, g_steal_pointer (&self->messages));
      self->messages = g_steal_pointer (&page);
      g_list_model_items_changed (G_LIST_MODEL (self), 0, 0, n);
    }

  set_has_older (self, n == NATTER_CONVERSATION_PAGE_SIZE);
  return n > 0;
}
