/* natter-contact-list.c: the contacts as a GListModel, most recent conversation first
 *
 * Items are the store's live NatterContact objects, so property bindings on
 * a row follow renames, profile updates and presence. The order (and the
 * last message and unread count a row shows) changes with every message, so
 * the list reloads from the store when the client reports one; a list of
 * contacts is small and the store answers from an index.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "natter-contact-list"

#include "config.h"

#include "natter-contact-list.h"

struct _NatterContactList
{
  GObject       parent_instance;

  NatterClient *client;
  GPtrArray    *contacts;
  guint         reload_source;
};

enum {
  PROP_0,
  PROP_CLIENT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void list_model_iface_init (GListModelInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (NatterContactList, natter_contact_list, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL, list_model_iface_init))

static GType
natter_contact_list_get_item_type (GListModel *model)
{
  return NATTER_TYPE_CONTACT;
}

static guint
natter_contact_list_get_n_items (GListModel *model)
{
  return NATTER_CONTACT_LIST (model)->contacts->len;
}

static gpointer
natter_contact_list_get_item (GListModel *model,
                              guint       position)
{
  NatterContactList *self = NATTER_CONTACT_LIST (model);

  if (position >= self->contacts->len)
    return NULL;

  return g_object_ref (g_ptr_array_index (self->contacts, position));
}

static void
list_model_iface_init (GListModelInterface *iface)
{
  iface->get_item_type = natter_contact_list_get_item_type;
  iface->get_n_items = natter_contact_list_get_n_items;
  iface->get_item = natter_contact_list_get_item;
}

static gboolean
on_reload_idle (gpointer user_data)
{
  NatterContactList *self = user_data;

  self->reload_source = 0;
  natter_contact_list_reload (self);

  return G_SOURCE_REMOVE;
}

/* Several events often come at once (a message, then its receipt): reload once. */
static void
queue_reload (NatterContactList *self)
{
  if (self->reload_source == 0)
    self->reload_source = g_idle_add (on_reload_idle, self);
}

static void
on_message_added (NatterClient  *client,
                  NatterMessage *message,
                  gpointer       user_data)
{
  queue_reload (user_data);
}

static void
on_status_changed (NatterClient        *client,
                   const char          *contact_id,
                   const char          *message_id,
                   NatterMessageStatus  status,
                   gpointer             user_data)
{
  queue_reload (user_data);
}

static void
on_contact_changed (NatterClient *client,
                    const char   *contact_id,
                    gpointer      user_data)
{
  queue_reload (user_data);
}

static void
on_message_deleted (NatterClient *client,
                    const char   *contact_id,
                    const char   *message_id,
                    gpointer      user_data)
{
  queue_reload (user_data);
}

static void
on_presence_changed (NatterClient *client,
                     const char   *contact_id,
                     gboolean      online,
                     gpointer      user_data)
{
  NatterContactList *self = user_data;

  for (guint i = 0; i < self->contacts->len; i++)
    {
      NatterContact *contact = g_ptr_array_index (self->contacts, i);

      if (g_strcmp0 (natter_contact_get_user_id (contact), contact_id) == 0)
        natter_contact_set_presence (contact, online ? NATTER_PRESENCE_ONLINE :
                                                       NATTER_PRESENCE_OFFLINE);
    }
}

static void
natter_contact_list_constructed (GObject *object)
{
  NatterContactList *self = NATTER_CONTACT_LIST (object);

  G_OBJECT_CLASS (natter_contact_list_parent_class)->constructed (object);

  g_signal_connect_object (self->client, "message-added", G_CALLBACK (on_message_added), self, 0);
  g_signal_connect_object (self->client, "message-status-changed",
                           G_CALLBACK (on_status_changed), self, 0);
  g_signal_connect_object (self->client, "contact-changed", G_CALLBACK (on_contact_changed),
                           self, 0);
  g_signal_connect_object (self->client, "conversation-read", G_CALLBACK (on_contact_changed),
                           self, 0);
  g_signal_connect_object (self->client, "message-deleted", G_CALLBACK (on_message_deleted),
                           self, 0);
  g_signal_connect_object (self->client, "conversation-cleared", G_CALLBACK (on_contact_changed),
                           self, 0);
  g_signal_connect_object (self->client, "presence-changed", G_CALLBACK (on_presence_changed),
                           self, 0);
  natter_contact_list_reload (self);
}

static void
natter_contact_list_get_property (GObject    *object,
                                  guint       prop_id,
                                  GValue     *value,
                                  GParamSpec *pspec)
{
  NatterContactList *self = NATTER_CONTACT_LIST (object);

  switch (prop_id)
    {
    case PROP_CLIENT:
      g_value_set_object (value, self->client);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
natter_contact_list_set_property (GObject      *object,
                                  guint         prop_id,
                                  const GValue *value,
                                  GParamSpec   *pspec)
{
  NatterContactList *self = NATTER_CONTACT_LIST (object);

  switch (prop_id)
    {
    case PROP_CLIENT:
      self->client = g_value_dup_object (value);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
natter_contact_list_dispose (GObject *object)
{
  NatterContactList *self = NATTER_CONTACT_LIST (object);

  g_clear_handle_id (&self->reload_source, g_source_remove);
  g_clear_object (&self->client);

  G_OBJECT_CLASS (natter_contact_list_parent_class)->dispose (object);
}

static void
natter_contact_list_finalize (GObject *object)
{
  NatterContactList *self = NATTER_CONTACT_LIST (object);

  g_clear_pointer (&self->contacts, g_ptr_array_unref);

  G_OBJECT_CLASS (natter_contact_list_parent_class)->finalize (object);
}

static void
natter_contact_list_class_init (NatterContactListClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = natter_contact_list_constructed;
  object_class->get_property = natter_contact_list_get_property;
  object_class->set_property = natter_contact_list_set_property;
  object_class->dispose = natter_contact_list_dispose;
  object_class->finalize = natter_contact_list_finalize;

  properties[PROP_CLIENT] =
    g_param_spec_object ("client", NULL, NULL, NATTER_TYPE_CLIENT,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
natter_contact_list_init (NatterContactList *self)
{
  self->contacts = g_ptr_array_new_with_free_func (g_object_unref);
}

/**
 * natter_contact_list_new:
 * @client: the client
 *
 * Returns: (transfer full): the list, loaded
 */
NatterContactList *
natter_contact_list_new (NatterClient *client)
{
  g_return_val_if_fail (NATTER_IS_CLIENT (client), NULL);

  return g_object_new (NATTER_TYPE_CONTACT_LIST, "client", client, NULL);
}

/**
 * natter_contact_list_reload:
 * @self: a #NatterContactList
 *
 * Reads the contacts again; rows are rebound, so they show the newest last
 * message and unread count.
 */
void
natter_contact_list_reload (NatterContactList *self)
{
  g_autoptr(GPtrArray) contacts = NULL;
  g_autoptr(GError) error = NULL;
  guint removed;

  g_return_if_fail (NATTER_IS_CONTACT_LIST (self));

  contacts = natter_store_list_contacts (natter_client_get_store (self->client), &error);
  if (contacts == NULL)
    {
      g_warning ("Could not list the contacts: %s", error->message);
      return;
    }

  for (guint i = 0; i < contacts->len; i++)
    {
      NatterContact *contact = g_ptr_array_index (contacts, i);
      const char *id = natter_contact_get_user_id (contact);

      natter_contact_set_presence (contact,
                                   natter_client_is_contact_online (self->client, id) ?
                                   NATTER_PRESENCE_ONLINE : NATTER_PRESENCE_OFFLINE);
    }

  removed = self->contacts->len;
  g_clear_pointer (&self->contacts, g_ptr_array_unref);
  self->contacts = g_steal_pointer (&contacts);
  g_list_model_items_changed (G_LIST_MODEL (self), 0, removed, self->contacts->len);
}
