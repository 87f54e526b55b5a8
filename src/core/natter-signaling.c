/* natter-signaling.c: the client side of the signaling server's WebSocket
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "natter-signaling"

#include "config.h"

#include <libsoup/soup.h>

#include "natter-protocol.h"
#include "natter-signaling.h"

/* Reconnection: exponential backoff with jitter, capped. */
#define RETRY_BASE_MS       500
#define RETRY_CAP_MS        30000
#define REQUEST_TIMEOUT_S   15
#define MAX_INCOMING_SIZE   (1024 * 1024)

struct _NatterSignaling
{
  GObject                  parent_instance;

  NatterIdentity          *identity;
  char                    *url;

  SoupSession             *session;
  SoupWebsocketConnection *ws;
  GCancellable            *connect_cancellable;
  GNetworkMonitor         *monitor;

  NatterSignalingState     state;
  char                    *last_error;
  JsonArray               *ice_servers;
  gsize                    max_frame_size;   /* as announced in hello */

  guint                    retry_source;
  guint                    retry_delay_ms;
  guint                    attempt;
  gboolean                 started;
  gboolean                 challenge_answered; /* on the current connection */

  GHashTable              *pending;        /* id -> Pending */
  guint64                  next_request;
  GHashTable              *subscriptions;  /* user id set */
  GHashTable              *online;         /* user id set */
};

typedef struct
{
  NatterSignaling *self;   /* unowned */
  char            *id;
  GTask           *task;
  guint            timeout_id;
} Pending;

enum {
  PROP_0,
  PROP_IDENTITY,
  PROP_URL,
  PROP_STATE,
  PROP_LAST_ERROR,
  N_PROPS,
  PROP_ONLINE = N_PROPS,
};

enum {
  FRAME_RECEIVED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

G_DEFINE_ENUM_TYPE (NatterSignalingState, natter_signaling_state,
  G_DEFINE_ENUM_VALUE (NATTER_SIGNALING_STATE_OFFLINE, "offline"),
  G_DEFINE_ENUM_VALUE (NATTER_SIGNALING_STATE_CONNECTING, "connecting"),
  G_DEFINE_ENUM_VALUE (NATTER_SIGNALING_STATE_ONLINE, "online"),
  G_DEFINE_ENUM_VALUE (NATTER_SIGNALING_STATE_WAITING, "waiting"),
  G_DEFINE_ENUM_VALUE (NATTER_SIGNALING_STATE_REPLACED, "replaced"))

static void natter_signaling_rendezvous_init (NatterRendezvousInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (NatterSignaling, natter_signaling, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (NATTER_TYPE_RENDEZVOUS,
                                                      natter_signaling_rendezvous_init))

static void connect_now (NatterSignaling *self);

static void
pending_free (gpointer data)
{
  Pending *pending = data;

  g_clear_handle_id (&pending->timeout_id, g_source_remove);
  g_clear_object (&pending->task);
  g_free (pending->id);
  g_free (pending);
}

static void
set_state (NatterSignaling      *self,
           NatterSignalingState  state)
{
  gboolean was_online = self->state == NATTER_SIGNALING_STATE_ONLINE;

  if (self->state == state)
    return;

  g_debug ("State %d -> %d", self->state, state);
  self->state = state;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
  if (was_online != (state == NATTER_SIGNALING_STATE_ONLINE))
    g_object_notify (G_OBJECT (self), "online");
}

static void
set_last_error (NatterSignaling *self,
                const char      *message)
{
  if (g_strcmp0 (self->last_error, message) == 0)
    return;

  g_free (self->last_error);
  self->last_error = g_strdup (message);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LAST_ERROR]);
}

/* Fails with G_IO_ERROR_NOT_CONNECTED when there is no open connection:
 * none yet, or one that is closing (the server said goodbye, and the
 * "closed" signal has not come yet). */
static gboolean
send_frame (NatterSignaling  *self,
            NatterFrame      *frame,
            GError          **error)
{
  g_autofree char *text = NULL;
  gsize length;

  if (self->ws == NULL ||
      soup_websocket_connection_get_state (self->ws) != SOUP_WEBSOCKET_STATE_OPEN)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED,
                           "Not connected to the server");
      return FALSE;
    }

  text = natter_frame_to_string (frame, &length);
  if (length > self->max_frame_size)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE,
                   "The request is %" G_GSIZE_FORMAT " bytes long; the server takes at most %"
                   G_GSIZE_FORMAT " bytes", length, self->max_frame_size);
      return FALSE;
    }

  soup_websocket_connection_send_text (self->ws, text);
  return TRUE;
}

static void
fail_pending (NatterSignaling *self,
              GError          *error)
{
  g_autoptr(GHashTable) pending = g_steal_pointer (&self->pending);
  GHashTableIter iter;
  Pending *entry;

  self->pending = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, pending_free);

  g_hash_table_iter_init (&iter, pending);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &entry))
    g_task_return_error (entry->task, g_error_copy (error));
}

static void
mark_everyone_offline (NatterSignaling *self)
{
  g_autoptr(GHashTable) online = g_steal_pointer (&self->online);
  GHashTableIter iter;
  const char *user;

  self->online = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  g_hash_table_iter_init (&iter, online);
  while (g_hash_table_iter_next (&iter, (gpointer *) &user, NULL))
    natter_rendezvous_presence_changed (NATTER_RENDEZVOUS (self), user, FALSE);
}

static void
update_presence (NatterSignaling *self,
                 const char      *user,
                 gboolean         online)
{
  gboolean was_online = g_hash_table_contains (self->online, user);

  if (online == was_online)
    return;

  if (online)
    g_hash_table_add (self->online, g_strdup (user));
  else
    g_hash_table_remove (self->online, user);

  natter_rendezvous_presence_changed (NATTER_RENDEZVOUS (self), user, online);
}

static gboolean
on_retry_timeout (gpointer user_data)
{
  NatterSignaling *self = user_data;

  self->retry_source = 0;
  connect_now (self);

  return G_SOURCE_REMOVE;
}

static void
schedule_retry (NatterSignaling *self)
{
  guint delay;

  g_clear_handle_id (&self->retry_source, g_source_remove);

  if (!self->started || self->state == NATTER_SIGNALING_STATE_REPLACED)
    return;

  /* Full jitter over [delay/2, delay] keeps many clients from returning
   * to a restarted server all at the same moment. */
  delay = RETRY_BASE_MS << MIN (self->attempt, 10);
  delay = MIN (delay, RETRY_CAP_MS);
  delay = g_random_int_range (delay / 2, delay + 1);
  self->attempt++;
  self->retry_delay_ms = delay;

  g_debug ("Reconnecting in %u ms", delay);
  self->retry_source = g_timeout_add (delay, on_retry_timeout, self);
  set_state (self, NATTER_SIGNALING_STATE_WAITING);
}

static void
drop_connection (NatterSignaling *self)
{
  if (self->ws != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->ws, self);
      if (soup_websocket_connection_get_state (self->ws) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close (self->ws, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
      g_clear_object (&self->ws);
    }
}

static void
connection_lost (NatterSignaling *self,
                 const char      *why)
{
  g_autoptr(GError) error = NULL;

  drop_connection (self);

  error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
                               why != NULL ? why : "Lost the connection to the server");
  fail_pending (self, error);
  mark_everyone_offline (self);

  if (why != NULL)
    set_last_error (self, why);

  if (self->state != NATTER_SIGNALING_STATE_REPLACED)
    schedule_retry (self);
}

static void
send_subscriptions (NatterSignaling *self,
                    GHashTable      *users,
                    NatterFrameType  type)
{
  g_autoptr(NatterFrame) frame = NULL;
  JsonArray *array;
  GHashTableIter iter;
  const char *user;

  if (g_hash_table_size (users) == 0)
    return;

  frame = natter_frame_new (type);
  natter_frame_set_id (frame, type == NATTER_FRAME_SUBSCRIBE ? "subscribe" : "unsubscribe");
  array = json_array_new ();
  g_hash_table_iter_init (&iter, users);
  while (g_hash_table_iter_next (&iter, (gpointer *) &user, NULL))
    json_array_add_string_element (array, user);
  natter_frame_take_array (frame, "users", array);

  send_frame (self, frame, NULL);
}

static void
handle_presence_list (NatterSignaling *self,
                      NatterFrame     *frame)
{
  JsonArray *list = natter_frame_get_array (frame, "presence");
  guint n = json_array_get_length (list);

  for (guint i = 0; i < n; i++)
    {
      JsonNode *node = json_array_get_element (list, i);
      JsonObject *entry;
      const char *user;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        continue;

      entry = json_node_get_object (node);
      user = json_object_get_string_member_with_default (entry, "user", NULL);
      if (user != NULL && g_hash_table_contains (self->subscriptions, user))
        update_presence (self, user,
                         json_object_get_boolean_member_with_default (entry, "online", FALSE));
    }
}

static void
handle_hello (NatterSignaling *self,
              NatterFrame     *frame)
{
  g_autoptr(NatterFrame) auth = NULL;
  g_autofree char *server = NULL;
  g_autofree char *message = NULL;
  g_autofree char *signature = NULL;
  const char *user_id = natter_identity_get_user_id (self->identity);
  gsize length;

  /* One challenge per connection, and only before it is authenticated: a
   * server that asks again may be passing on another server's challenge. */
  if (self->challenge_answered)
    {
      g_message ("The server sent a second challenge on one connection; not answering it");
      return;
    }
  self->challenge_answered = TRUE;

  if (natter_frame_get_int (frame, "version", 0) != NATTER_PROTOCOL_VERSION)
    {
      set_last_error (self, "The server speaks another version of the protocol");
      return;
    }

  /* The signature names the server we dialled, so that no other server can
   * use it to log in as us */
  server = natter_auth_server_name_from_url (self->url);
  if (server == NULL)
    {
      set_last_error (self, "The server address is not a valid ws:// or wss:// URL");
      return;
    }

  /* The server's own limit, within what this client accepts at all */
  self->max_frame_size = CLAMP (natter_frame_get_int (frame, "max_frame_size",
                                                      NATTER_FRAME_DEFAULT_MAX_SIZE),
                                1024, MAX_INCOMING_SIZE);

  message = natter_auth_challenge_message (natter_frame_get_string (frame, "nonce"), user_id,
                                           server, &length);
  signature = natter_identity_sign (self->identity, message, length);

  auth = natter_frame_new (NATTER_FRAME_AUTH);
  natter_frame_set_id (auth, "auth");
  natter_frame_set_string (auth, "user", user_id);
  natter_frame_set_string (auth, "server", server);
  natter_frame_set_string (auth, "signature", signature);
  send_frame (self, auth, NULL);
}

static void
handle_auth_ok (NatterSignaling *self,
                NatterFrame     *frame)
{
  g_clear_pointer (&self->ice_servers, json_array_unref);
  self->ice_servers = json_array_ref (natter_frame_get_array (frame, "ice_servers"));
  self->attempt = 0;
  self->retry_delay_ms = 0;
  set_last_error (self, NULL);

  g_info ("Online");
  set_state (self, NATTER_SIGNALING_STATE_ONLINE);
  send_subscriptions (self, self->subscriptions, NATTER_FRAME_SUBSCRIBE);
}

static void
handle_error (NatterSignaling *self,
              NatterFrame     *frame)
{
  NatterProtocolError code = NATTER_PROTOCOL_ERROR_INTERNAL;
  const char *message = NULL;
  const char *ref = natter_frame_get_ref (frame);

  natter_frame_get_error (frame, &code, &message);

  if (ref != NULL && ref[0] == 's' && natter_user_id_is_valid (ref + 1))
    {
      /* A failed relay: the id of a signal frame is "s" + the recipient. */
      natter_rendezvous_signal_failed (NATTER_RENDEZVOUS (self), ref + 1, code);
      return;
    }

  switch (code)
    {
    case NATTER_PROTOCOL_ERROR_REPLACED:
      g_message ("This identity connected to the server from somewhere else; staying offline");
      set_last_error (self, "This identity is connected from another place");
      set_state (self, NATTER_SIGNALING_STATE_REPLACED);
      break;

    case NATTER_PROTOCOL_ERROR_AUTH_FAILED:
      set_last_error (self, "The server did not accept this identity's signature");
      break;

    case NATTER_PROTOCOL_ERROR_SERVER_FULL:
      set_last_error (self, "The server is full");
      break;

    case NATTER_PROTOCOL_ERROR_SHUTTING_DOWN:
      set_last_error (self, "The server is restarting");
      break;

    default:
      g_debug ("Server error %s", natter_protocol_error_to_code (code));
      break;
    }
}

static gboolean
complete_pending (NatterSignaling *self,
                  NatterFrame     *frame)
{
  const char *ref = natter_frame_get_ref (frame);
  Pending *entry;
  g_autoptr(GTask) task = NULL;
  NatterProtocolError code;
  const char *message;

  if (ref == NULL || (entry = g_hash_table_lookup (self->pending, ref)) == NULL)
    return FALSE;

  task = g_object_ref (entry->task);
  g_hash_table_remove (self->pending, ref);

  if (natter_frame_get_error (frame, &code, &message))
    g_task_return_new_error (task, NATTER_PROTOCOL_ERROR, code, "%s",
                             message != NULL ? message : natter_protocol_error_to_code (code));
  else
    g_task_return_pointer (task, natter_frame_ref (frame), (GDestroyNotify) natter_frame_unref);

  return TRUE;
}

static void
on_ws_message (SoupWebsocketConnection *ws,
               SoupWebsocketDataType    type,
               GBytes                  *message,
               gpointer                 user_data)
{
  NatterSignaling *self = user_data;
  g_autoptr(NatterFrame) frame = NULL;
  g_autoptr(GError) error = NULL;
  gsize length;
  const char *data;

  if (type != SOUP_WEBSOCKET_DATA_TEXT)
    return;

  data = g_bytes_get_data (message, &length);
  frame = natter_frame_parse (data, length, NATTER_FRAME_TO_CLIENT, MAX_INCOMING_SIZE, NULL,
                              &error);
  if (frame == NULL)
    {
      g_warning ("The server sent a frame this client does not understand: %s", error->message);
      return;
    }

  switch (natter_frame_get_frame_type (frame))
    {
    case NATTER_FRAME_HELLO:
      handle_hello (self, frame);
      return;

    case NATTER_FRAME_AUTH_OK:
      handle_auth_ok (self, frame);
      return;

    case NATTER_FRAME_PRESENCE:
      update_presence (self, natter_frame_get_string (frame, "user"),
                       natter_frame_get_boolean (frame, "online", FALSE));
      return;

    case NATTER_FRAME_PRESENCE_LIST:
      handle_presence_list (self, frame);
      /* It may also answer somebody's request. */
      complete_pending (self, frame);
      return;

    case NATTER_FRAME_SIGNAL:
      natter_rendezvous_signal_received (NATTER_RENDEZVOUS (self),
                                         natter_frame_get_string (frame, "from"),
                                         natter_frame_get_object_member (frame, "payload"));
      return;

    default:
      break;
    }

  if (complete_pending (self, frame))
    return;

  /* Replies nobody waits for, such as the answer to an unsubscribe. */
  if (natter_frame_get_frame_type (frame) == NATTER_FRAME_OK)
    return;

  if (natter_frame_get_frame_type (frame) == NATTER_FRAME_ERROR)
    handle_error (self, frame);
  else
    g_signal_emit (self, signals[FRAME_RECEIVED], 0, frame);
}

static void
on_ws_closed (SoupWebsocketConnection *ws,
              gpointer                 user_data)
{
  NatterSignaling *self = user_data;
  gushort code = soup_websocket_connection_get_close_code (ws);
  g_autofree char *why = NULL;

  g_info ("Connection to the server closed (code %u)", code);

  if (code == 4002)
    set_state (self, NATTER_SIGNALING_STATE_REPLACED);

  if (self->last_error == NULL || self->state == NATTER_SIGNALING_STATE_ONLINE)
    why = g_strdup ("Lost the connection to the server");

  connection_lost (self, why);
}

static void
on_connected (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(NatterSignaling) self = user_data;
  g_autoptr(GError) error = NULL;
  SoupWebsocketConnection *ws;

  ws = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &error);
  if (ws == NULL)
    {
      g_autofree char *why = NULL;

      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;

      g_clear_object (&self->connect_cancellable);
      g_info ("Could not reach the server: %s", error->message);
      why = g_strdup_printf ("Could not reach the server: %s", error->message);
      set_last_error (self, why);
      schedule_retry (self);
      return;
    }

  g_clear_object (&self->connect_cancellable);
  self->ws = ws;
  self->challenge_answered = FALSE;
  g_object_set (ws, "max-incoming-payload-size", (guint64) MAX_INCOMING_SIZE, NULL);
  g_signal_connect (ws, "message", G_CALLBACK (on_ws_message), self);
  g_signal_connect (ws, "closed", G_CALLBACK (on_ws_closed), self);
}

static void
connect_now (NatterSignaling *self)
{
  g_autoptr(SoupMessage) msg = NULL;

  g_clear_handle_id (&self->retry_source, g_source_remove);

  if (self->connect_cancellable != NULL || self->ws != NULL)
    return;

  msg = soup_message_new (SOUP_METHOD_GET, self->url);
  if (msg == NULL)
    {
      set_last_error (self, "The server address is not a valid ws:// or wss:// URL");
      set_state (self, NATTER_SIGNALING_STATE_OFFLINE);
      return;
    }

  set_state (self, NATTER_SIGNALING_STATE_CONNECTING);
  self->connect_cancellable = g_cancellable_new ();
  soup_session_websocket_connect_async (self->session, msg, NULL, NULL, G_PRIORITY_DEFAULT,
                                        self->connect_cancellable, on_connected,
                                        g_object_ref (self));
}

static void
on_network_changed (GNetworkMonitor *monitor,
                    gboolean         available,
                    gpointer         user_data)
{
  NatterSignaling *self = user_data;

  if (available && self->state == NATTER_SIGNALING_STATE_WAITING)
    {
      g_debug ("The network changed; reconnecting now");
      self->attempt = 0;
      connect_now (self);
    }
}

static void
natter_signaling_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  NatterSignaling *self = NATTER_SIGNALING (object);

  switch (prop_id)
    {
    case PROP_IDENTITY:
      g_value_set_object (value, self->identity);
      break;

    case PROP_URL:
      g_value_set_string (value, self->url);
      break;

    case PROP_STATE:
      g_value_set_enum (value, self->state);
      break;

    case PROP_LAST_ERROR:
      g_value_set_string (value, self->last_error);
      break;

    case PROP_ONLINE:
      g_value_set_boolean (value, self->state == NATTER_SIGNALING_STATE_ONLINE);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
natter_signaling_set_property (GObject      *object,
                               guint         prop_id,
                               const GValue *value,
                               GParamSpec   *pspec)
{
  NatterSignaling *self = NATTER_SIGNALING (object);

  switch (prop_id)
    {
    case PROP_IDENTITY:
      self->identity = g_value_dup_object (value);
      break;

    case PROP_URL:
      self->url = g_value_dup_string (value);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
natter_signaling_dispose (GObject *object)
{
  NatterSignaling *self = NATTER_SIGNALING (object);

  self->started = FALSE;
  g_clear_handle_id (&self->retry_source, g_source_remove);
  g_cancellable_cancel (self->connect_cancellable);
  g_clear_object (&self->connect_cancellable);
  drop_connection (self);
  if (self->monitor != NULL)
    g_signal_handlers_disconnect_by_data (self->monitor, self);
  g_clear_object (&self->monitor);
  g_clear_object (&self->session);
  g_clear_object (&self->identity);

  G_OBJECT_CLASS (natter_signaling_parent_class)->dispose (object);
}

static void
natter_signaling_finalize (GObject *object)
{
  NatterSignaling *self = NATTER_SIGNALING (object);

  g_clear_pointer (&self->pending, g_hash_table_unref);
  g_clear_pointer (&self->subscriptions, g_hash_table_unref);
  g_clear_pointer (&self->online, g_hash_table_unref);
  g_clear_pointer (&self->ice_servers, json_array_unref);
  g_free (self->last_error);
  g_free (self->url);

  G_OBJECT_CLASS (natter_signaling_parent_class)->finalize (object);
}

static void
natter_signaling_class_init (NatterSignalingClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = natter_signaling_get_property;
  object_class->set_property = natter_signaling_set_property;
  object_class->dispose = natter_signaling_dispose;
  object_class->finalize = natter_signaling_finalize;

  properties[PROP_IDENTITY] =
    g_param_spec_object ("identity", NULL, NULL,
                         NATTER_TYPE_IDENTITY,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  properties[PROP_URL] =
    g_param_spec_string ("url", NULL, NULL,
                         NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  properties[PROP_STATE] =
    g_param_spec_enum ("state", NULL, NULL,
                       NATTER_TYPE_SIGNALING_STATE, NATTER_SIGNALING_STATE_OFFLINE,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  properties[PROP_LAST_ERROR] =
    g_param_spec_string ("last-error", NULL, NULL,
                         NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
  g_object_class_override_property (object_class, PROP_ONLINE, "online");

  /**
   * NatterSignaling::frame-received:
   * @frame: (type NatterFrame): an unsolicited frame: invitation,
   *   invitation-answer, room-member-joined, room-member-left
   */
  signals[FRAME_RECEIVED] =
    g_signal_new ("frame-received", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, NATTER_TYPE_FRAME);
}

static void
natter_signaling_init (NatterSignaling *self)
{
  self->session = soup_session_new_with_options ("timeout", 20, "idle-timeout", 60, NULL);
  self->max_frame_size = NATTER_FRAME_DEFAULT_MAX_SIZE;
  self->pending = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, pending_free);
  self->subscriptions = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->online = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->monitor = g_object_ref (g_network_monitor_get_default ());
  g_signal_connect (self->monitor, "network-changed", G_CALLBACK (on_network_changed), self);
}

/**
 * natter_signaling_new:
 * @identity: who to authenticate as
 * @url: the server's WebSocket URL, such as `wss://chat.example.org/ws`
 *
 * Returns: (transfer full): a new signaling client, not yet started
 */
NatterSignaling *
natter_signaling_new (NatterIdentity *identity,
                      const char     *url)
{
  g_return_val_if_fail (NATTER_IS_IDENTITY (identity), NULL);
  g_return_val_if_fail (url != NULL, NULL);

  return g_object_new (NATTER_TYPE_SIGNALING, "identity", identity, "url", url, NULL);
}

const char *
natter_signaling_get_url (NatterSignaling *self)
{
  g_return_val_if_fail (NATTER_IS_SIGNALING (self), NULL);

  return self->url;
}

NatterSignalingState
natter_signaling_get_state (NatterSignaling *self)
{
  g_return_val_if_fail (NATTER_IS_SIGNALING (self), NATTER_SIGNALING_STATE_OFFLINE);

  return self->state;
}

/**
 * natter_signaling_get_last_error:
 * @self: a #NatterSignaling
 *
 * Returns: (nullable): why the last connection failed, in English
 */
const char *
natter_signaling_get_last_error (NatterSignaling *self)
{
  g_return_val_if_fail (NATTER_IS_SIGNALING (self), NULL);

  return self->last_error;
}

/**
 * natter_signaling_get_ice_servers:
 * @self: a #NatterSignaling
 *
 * Returns: (transfer none) (nullable): the RTCIceServer list of the last
 *   `auth-ok`
 */
JsonArray *
natter_signaling_get_ice_servers (NatterSignaling *self)
{
  g_return_val_if_fail (NATTER_IS_SIGNALING (self), NULL);

  return self->ice_servers;
}

guint
natter_signaling_get_retry_delay_ms (NatterSignaling *self)
{
  g_return_val_if_fail (NATTER_IS_SIGNALING (self), 0);

  return self->retry_delay_ms;
}

/**
 * natter_signaling_start:
 * @self: a #NatterSignaling
 *
 * Connects, and keeps reconnecting with backoff until stopped.
 */
void
natter_signaling_start (NatterSignaling *self)
{
  g_return_if_fail (NATTER_IS_SIGNALING (self));

  self->started = TRUE;
  if (self->state == NATTER_SIGNALING_STATE_REPLACED)
    self->state = NATTER_SIGNALING_STATE_OFFLINE;
  connect_now (self);
}

void
natter_signaling_stop (NatterSignaling *self)
{
  g_autoptr(GError) error = NULL;

  g_return_if_fail (NATTER_IS_SIGNALING (self));

  self->started = FALSE;
  g_clear_handle_id (&self->retry_source, g_source_remove);
  g_cancellable_cancel (self->connect_cancellable);
  g_clear_object (&self->connect_cancellable);
  drop_connection (self);

  error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, "Signaling was stopped");
  fail_pending (self, error);
  mark_everyone_offline (self);
  set_state (self, NATTER_SIGNALING_STATE_OFFLINE);
}

/**
 * natter_signaling_reconnect_now:
 * @self: a #NatterSignaling
 *
 * Skips the remaining backoff delay, for a "Retry now" button.
 */
void
natter_signaling_reconnect_now (NatterSignaling *self)
{
  g_return_if_fail (NATTER_IS_SIGNALING (self));

  self->started = TRUE;
  self->attempt = 0;
  connect_now (self);
}

/**
 * natter_signaling_set_subscriptions:
 * @self: a #NatterSignaling
 * @users: (array zero-terminated=1): the user IDs whose presence matters
 *
 * Replaces the presence subscriptions; they are renewed after every reconnect.
 */
void
natter_signaling_set_subscriptions (NatterSignaling    *self,
                                    const char * const *users)
{
  g_autoptr(GHashTable) wanted = NULL;
  g_autoptr(GHashTable) added = NULL;
  g_autoptr(GHashTable) removed = NULL;
  GHashTableIter iter;
  const char *user;

  g_return_if_fail (NATTER_IS_SIGNALING (self));

  wanted = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; users != NULL && users[i] != NULL; i++)
    {
      if (natter_user_id_is_valid (users[i]))
        g_hash_table_add (wanted, g_strdup (users[i]));
    }

  added = g_hash_table_new (g_str_hash, g_str_equal);
  removed = g_hash_table_new (g_str_hash, g_str_equal);

  g_hash_table_iter_init (&iter, wanted);
  while (g_hash_table_iter_next (&iter, (gpointer *) &user, NULL))
    if (!g_hash_table_contains (self->subscriptions, user))
      g_hash_table_add (added, (gpointer) user);

  g_hash_table_iter_init (&iter, self->subscriptions);
  while (g_hash_table_iter_next (&iter, (gpointer *) &user, NULL))
    if (!g_hash_table_contains (wanted, user))
      g_hash_table_add (removed, (gpointer) user);

  if (self->state == NATTER_SIGNALING_STATE_ONLINE)
    {
      send_subscriptions (self, removed, NATTER_FRAME_UNSUBSCRIBE);
      send_subscriptions (self, added, NATTER_FRAME_SUBSCRIBE);
    }

  g_hash_table_iter_init (&iter, removed);
  while (g_hash_table_iter_next (&iter, (gpointer *) &user, NULL))
    g_hash_table_remove (self->online, user);

  g_clear_pointer (&added, g_hash_table_unref);
  g_clear_pointer (&removed, g_hash_table_unref);
  g_clear_pointer (&self->subscriptions, g_hash_table_unref);
  self->subscriptions = g_steal_pointer (&wanted);
}

gboolean
natter_signaling_is_user_online (NatterSignaling *self,
                                 const char      *user_id)
{
  g_return_val_if_fail (NATTER_IS_SIGNALING (self), FALSE);
  g_return_val_if_fail (user_id != NULL, FALSE);

  return g_hash_table_contains (self->online, user_id);
}

/**
 * natter_signaling_send_signal:
 * @self: a #NatterSignaling
 * @to: the recipient
 * @payload: what to relay
 * @error: a #GError
 *
 * Relays @payload to @to. A relay that fails later (the peer went offline)
 * is reported by #NatterSignaling::signal-failed.
 *
 * Returns: %TRUE if the frame was sent to the server
 */
gboolean
natter_signaling_send_signal (NatterSignaling  *self,
                              const char       *to,
                              JsonObject       *payload,
                              GError          **error)
{
  g_autoptr(NatterFrame) frame = NULL;
  g_autofree char *id = NULL;

  g_return_val_if_fail (NATTER_IS_SIGNALING (self), FALSE);
  g_return_val_if_fail (to != NULL, FALSE);
  g_return_val_if_fail (payload != NULL, FALSE);

  if (self->state != NATTER_SIGNALING_STATE_ONLINE)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED,
                           "Not connected to the server");
      return FALSE;
    }

  id = g_strconcat ("s", to, NULL);
  frame = natter_frame_new (NATTER_FRAME_SIGNAL);
  natter_frame_set_id (frame, id);
  natter_frame_set_string (frame, "to", to);
  natter_frame_take_object_member (frame, "payload", json_object_ref (payload));

  return send_frame (self, frame, error);
}

static gboolean
on_request_timeout (gpointer user_data)
{
  Pending *entry = user_data;
  NatterSignaling *self = entry->self;
  g_autoptr(GTask) task = g_object_ref (entry->task);

  entry->timeout_id = 0;
  g_hash_table_remove (self->pending, entry->id);
  g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                           "The server did not answer in time");

  return G_SOURCE_REMOVE;
}

/**
 * natter_signaling_request_async:
 * @self: a #NatterSignaling
 * @request: a frame to the server; its `id` is set here
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the reply
 * @user_data: data for @callback
 *
 * Sends @request and waits for the frame that answers it.
 */
void
natter_signaling_request_async (NatterSignaling     *self,
                                NatterFrame         *request,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *id = NULL;
  Pending *entry;

  g_return_if_fail (NATTER_IS_SIGNALING (self));
  g_return_if_fail (request != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, natter_signaling_request_async);
  g_task_set_check_cancellable (task, TRUE);

  if (self->state != NATTER_SIGNALING_STATE_ONLINE)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED,
                               "Not connected to the server");
      return;
    }

  id = g_strdup_printf ("r%" G_GUINT64_FORMAT, ++self->next_request);
  natter_frame_set_id (request, id);
  if (!send_frame (self, request, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  entry = g_new0 (Pending, 1);
  entry->self = self;
  entry->id = g_steal_pointer (&id);
  entry->task = g_object_ref (task);
  entry->timeout_id = g_timeout_add_seconds (REQUEST_TIMEOUT_S, on_request_timeout, entry);
  g_hash_table_insert (self->pending, entry->id, entry);
}

/**
 * natter_signaling_request_finish:
 * @self: a #NatterSignaling
 * @result: the result
 * @error: a #GError; server errors are in %NATTER_PROTOCOL_ERROR
 *
 * Returns: (transfer full): the reply frame
 */
NatterFrame *
natter_signaling_request_finish (NatterSignaling  *self,
                                 GAsyncResult     *result,
                                 GError          **error)
{
  g_return_val_if_fail (NATTER_IS_SIGNALING (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* NatterRendezvous: what NatterClient needs of the server */

static void
rendezvous_start (NatterRendezvous *rendezvous)
{
  natter_signaling_start (NATTER_SIGNALING (rendezvous));
}

static void
rendezvous_stop (NatterRendezvous *rendezvous)
{
  natter_signaling_stop (NATTER_SIGNALING (rendezvous));
}

static gboolean
rendezvous_get_online (NatterRendezvous *rendezvous)
{
  return NATTER_SIGNALING (rendezvous)->state == NATTER_SIGNALING_STATE_ONLINE;
}

static void
rendezvous_watch_users (NatterRendezvous   *rendezvous,
                        const char * const *users)
{
  natter_signaling_set_subscriptions (NATTER_SIGNALING (rendezvous), users);
}

static gboolean
rendezvous_is_user_online (NatterRendezvous *rendezvous,
                           const char       *user_id)
{
  return natter_signaling_is_user_online (NATTER_SIGNALING (rendezvous), user_id);
}

static gboolean
rendezvous_send_signal (NatterRendezvous  *rendezvous,
                        const char        *to,
                        JsonObject        *payload,
                        GError           **error)
{
  return natter_signaling_send_signal (NATTER_SIGNALING (rendezvous), to, payload, error);
}

static JsonArray *
rendezvous_get_ice_servers (NatterRendezvous *rendezvous)
{
  return NATTER_SIGNALING (rendezvous)->ice_servers;
}

static void
natter_signaling_rendezvous_init (NatterRendezvousInterface *iface)
{
  iface->start = rendezvous_start;
  iface->stop = rendezvous_stop;
  iface->get_online = rendezvous_get_online;
  iface->watch_users = rendezvous_watch_users;
  iface->is_user_online = rendezvous_is_user_online;
  iface->send_signal = rendezvous_send_signal;
  iface->get_ice_servers = rendezvous_get_ice_servers;
}
