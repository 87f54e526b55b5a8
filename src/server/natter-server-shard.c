/* natter-server-shard.c: one thread's share of natter-server, and the hand-off between shards
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * natter-server runs one shard per worker thread (`--workers`). Each shard
 * listens on a socket of its own bound with SO_REUSEPORT, so the kernel
 * spreads new connections over the shards and no connection is ever handed
 * from one thread to another: everything about it (libsoup, its stream, its
 * timers) lives in its shard's main context, and each poll() sees only its
 * shard's share.
 *
 * What crosses shards is small: the directory (who is connected where,
 * who watches whom, the rooms; NatterServer's tables under a read-write
 * lock held only to read or change them) and text for a connection of
 * another shard, which goes to that shard's NatterServerMailbox and is sent
 * there. A connection is named across shards by its key, never by a
 * pointer, so no thread ever touches another shard's objects.
 */
#define G_LOG_DOMAIN "natter-server"

#include "config.h"

#include "natter-server-private.h"

typedef enum
{
  MESSAGE_TEXT,       /* send the text */
  MESSAGE_RELAY,      /* send the signal frame, or bounce an error to its sender */
  MESSAGE_ERROR,      /* a relay from this connection bounced */
  MESSAGE_REPLACED,   /* the same user signed in on another shard */
  MESSAGE_EVICT,      /* the process is out of descriptors: close the oldest */
} MessageKind;

typedef struct
{
  MessageKind kind;
  NatterServerKey key;
  char *text;
  /* MESSAGE_RELAY and MESSAGE_ERROR */
  NatterServerKey sender;
  char *ref;
  NatterProtocolError code;
  /* MESSAGE_EVICT: when the connection to close was accepted */
  gint64 accepted;
} Message;

static void
message_free (gpointer data)
{
  Message *message = data;

  g_free (message->text);
  g_free (message->ref);
  g_free (message);
}

static Message *
message_new (MessageKind     kind,
             NatterServerKey key,
             char           *text)
{
  Message *message = g_new0 (Message, 1);

  message->kind = kind;
  message->key = key;
  message->text = text;

  return message;
}

static void
post_message (NatterServerShard *self,
              Message           *message)
{
  NatterServerShard *target = g_ptr_array_index (self->server->shards,
                                                 NATTER_SERVER_KEY_SHARD (message->key));

  natter_server_mailbox_post (target->mailbox, message);
}

static void
post (NatterServerShard *self,
      MessageKind        kind,
      NatterServerKey    key,
      char              *text)
{
  post_message (self, message_new (kind, key, text));
}

/* A relayed signal did not reach its recipient: its sender hears why, as
 * it would have on one shard. */
static void
bounce (NatterServerShard   *self,
        Message             *relay,
        NatterProtocolError  code)
{
  Message *error = message_new (MESSAGE_ERROR, relay->sender, NULL);

  error->code = code;
  error->ref = g_steal_pointer (&relay->ref);
  post_message (self, error);
}

static void
deliver_relay (NatterServerShard      *self,
               NatterServerConnection *connection,
               Message                *message)
{
  if (connection == NULL || natter_server_connection_is_closing (connection))
    {
      bounce (self, message, NATTER_PROTOCOL_ERROR_PEER_OFFLINE);
      return;
    }

  if (!natter_server_connection_send_text (connection, message->text))
    {
      bounce (self, message, NATTER_PROTOCOL_ERROR_PEER_SLOW);
      return;
    }

  NATTER_SERVER_COUNT (self->counters.frames_relayed);
  NATTER_SERVER_COUNT (self->counters.frames_relayed_across);
}

static void
on_message (gpointer data,
            gpointer user_data)
{
  NatterServerShard *self = user_data;
  Message *message = data;
  NatterServerConnection *connection;

  if (message->kind == MESSAGE_EVICT)
    {
      _natter_server_evict_oldest (self, message->accepted);
      return;
    }

  connection = g_hash_table_lookup (self->by_key, GSIZE_TO_POINTER (message->key));
  if (message->kind == MESSAGE_RELAY)
    {
      deliver_relay (self, connection, message);
      return;
    }

  if (connection == NULL || natter_server_connection_is_closing (connection))
    return;

  switch (message->kind)
    {
    case MESSAGE_TEXT:
      natter_server_connection_send_text (connection, message->text);
      break;

    case MESSAGE_ERROR:
      _natter_server_send_error (self, connection, message->code, message->ref,
                                 message->code == NATTER_PROTOCOL_ERROR_PEER_SLOW
                                   ? "The peer is not reading; the signal was dropped"
                                   : "The peer is not connected");
      break;

    case MESSAGE_REPLACED:
      _natter_server_replace (self, connection);
      break;

    default:
      g_assert_not_reached ();
    }
}

/* Sends @text (taken) to a connection of another shard. */
void
_natter_server_post_text (NatterServerShard *self,
                          NatterServerKey    key,
                          char              *text)
{
  g_assert (NATTER_SERVER_KEY_SHARD (key) != self->index);

  post (self, MESSAGE_TEXT, key, text);
}

/**
 * _natter_server_relay_to_key:
 * @key: a connection of another shard
 * @sender: the connection that sent the signal
 * @ref: (nullable): the signal frame's `id`
 * @text: (transfer full): the frame as relayed
 *
 * Hands a signal to the recipient's shard, which sends it or tells
 * @sender why not (`peer-slow`, `peer-offline`).
 */
void
_natter_server_relay_to_key (NatterServerShard *self,
                             NatterServerKey    key,
                             NatterServerKey    sender,
                             const char        *ref,
                             gsize              ref_length,
                             char              *text)
{
  Message *message = message_new (MESSAGE_RELAY, key, text);

  g_assert (NATTER_SERVER_KEY_SHARD (key) != self->index);

  message->sender = sender;
  if (ref != NULL)
    message->ref = g_strndup (ref, ref_length);
  post_message (self, message);
}

/**
 * _natter_server_send_to_key:
 * @key: a connection of any shard
 * @text: one JSON frame
 *
 * Sends @text to the connection at once if it is one of @self's, or else
 * through its shard's mailbox (then nobody learns whether it was taken).
 *
 * Returns: %FALSE if the connection is @self's and did not take @text
 */
gboolean
_natter_server_send_to_key (NatterServerShard *self,
                            NatterServerKey    key,
                            const char        *text)
{
  NatterServerConnection *connection;

  if (NATTER_SERVER_KEY_SHARD (key) != self->index)
    {
      post (self, MESSAGE_TEXT, key, g_strdup (text));
      return TRUE;
    }

  connection = g_hash_table_lookup (self->by_key, GSIZE_TO_POINTER (key));
  return connection != NULL && natter_server_connection_send_text (connection, text);
}

/* Takes @keys (nullable). */
void
_natter_server_send_to_keys (NatterServerShard *self,
                             GArray            *keys,
                             const char        *text)
{
  for (guint i = 0; keys != NULL && i < keys->len; i++)
    _natter_server_send_to_key (self, g_array_index (keys, NatterServerKey, i), text);

  g_clear_pointer (&keys, g_array_unref);
}

/* Asks @other to close its oldest unauthenticated connection, the one
 * accepted at @accepted (if it is still there). */
void
_natter_server_ask_eviction (NatterServerShard *self,
                             NatterServerShard *other,
                             gint64             accepted)
{
  Message *message = message_new (MESSAGE_EVICT, other->index, NULL);

  message->accepted = accepted;
  post_message (self, message);
}

/* Tells the connection at @key, on whichever shard, that its user signed
 * in again elsewhere, and closes it. */
void
_natter_server_replace_key (NatterServerShard *self,
                            NatterServerKey    key)
{
  NatterServerConnection *connection;

  if (NATTER_SERVER_KEY_SHARD (key) != self->index)
    {
      post (self, MESSAGE_REPLACED, key, NULL);
      return;
    }

  connection = g_hash_table_lookup (self->by_key, GSIZE_TO_POINTER (key));
  if (connection != NULL && !natter_server_connection_is_closing (connection))
    _natter_server_replace (self, connection);
}

/**
 * _natter_server_find_user:
 * @local: (out): @user's connection if it is one of @self's, else %NULL
 * @key: (out): the key of @user's connection
 *
 * Returns: whether @user is connected, to any shard
 */
gboolean
_natter_server_find_user (NatterServerShard       *self,
                          const char              *user,
                          NatterServerConnection **local,
                          NatterServerKey         *key)
{
  NatterServer *server = self->server;
  NatterServerConnection *connection = g_hash_table_lookup (self->users, user);
  gpointer value = NULL;
  gboolean found;

  if (connection != NULL && !natter_server_connection_is_closing (connection))
    {
      *local = connection;
      *key = natter_server_connection_get_key (connection);
      return TRUE;
    }

  *local = NULL;
  if (server->shards->len == 1)
    return FALSE;

  pthread_rwlock_rdlock (&server->directory_lock);
  found = g_hash_table_lookup_extended (server->users, user, NULL, &value);
  pthread_rwlock_unlock (&server->directory_lock);

  if (!found)
    return FALSE;

  *key = GPOINTER_TO_SIZE (value);
  if (NATTER_SERVER_KEY_SHARD (*key) != self->index)
    return TRUE;

  /* One of ours that is closing: as good as gone. */
  return FALSE;
}

/* Under the directory lock: the keys in a set of keys. */
GArray *
_natter_server_keys_from_set (GHashTable      *set,
                              NatterServerKey  except)
{
  GArray *keys = g_array_sized_new (FALSE, FALSE, sizeof (NatterServerKey),
                                    g_hash_table_size (set));
  GHashTableIter iter;
  gpointer key;

  g_hash_table_iter_init (&iter, set);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      NatterServerKey k = GPOINTER_TO_SIZE (key);

      if (k != except)
        g_array_append_val (keys, k);
    }

  return keys;
}

GSource *
_natter_server_shard_add_timeout (NatterServerShard *self,
                                  guint              interval_ms,
                                  GSourceFunc        func,
                                  gpointer           data)
{
  GSource *source = g_timeout_source_new (interval_ms);

  g_source_set_callback (source, func, data, NULL);
  g_source_attach (source, self->context);

  return source;
}

void
_natter_server_clear_source (GSource **source)
{
  if (*source == NULL)
    return;

  g_source_destroy (*source);
  g_clear_pointer (source, g_source_unref);
}

/* Runs @func in @self's thread: now, for shard 0 (whose thread is the
 * caller's), or soon. */
void
_natter_server_shard_invoke (NatterServerShard      *self,
                             NatterServerWorkerFunc  func)
{
  if (self->worker == NULL)
    func (self);
  else
    natter_server_worker_invoke (self->worker, func, self, NULL);
}

NatterServerShard *
_natter_server_shard_new (NatterServer  *server,
                          guint          index,
                          GError       **error)
{
  NatterServerShard *self = g_new0 (NatterServerShard, 1);
  const char *data_dir = natter_server_config_get_data_dir (server->config);
  g_autoptr(GError) local_error = NULL;

  self->server = server;
  self->index = index;
  self->config = server->config;
  self->certificate = server->certificate;
  self->own_names = server->own_names;
  self->limits = server->limits;

  self->connections = g_hash_table_new_full (NULL, NULL, g_object_unref, NULL);
  self->by_key = g_hash_table_new (NULL, NULL);
  self->users = g_hash_table_new (g_str_hash, g_str_equal);
  self->slow = g_hash_table_new (NULL, NULL);
  self->next_serial = 1;
  _natter_server_accept_init (self);

  if (index == 0)
    {
      self->context = g_main_context_ref_thread_default ();
    }
  else
    {
      g_autofree char *name = g_strdup_printf ("natter-worker-%u", index);

      self->worker = natter_server_worker_new (name);
      self->context = g_main_context_ref (natter_server_worker_get_context (self->worker));
    }
  self->mailbox = natter_server_mailbox_new (self->context, on_message, self, message_free);
  self->poller = natter_server_poller_new (self->context, &local_error);
  if (self->poller == NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return self;
    }

  /* Opened here, one after the other, so that only one runs the schema
   * migration; from now on each is used only by its shard's thread. */
  self->store = natter_server_store_new (data_dir, &local_error);
  if (self->store == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "Cannot open the database in %s: %s",
                   data_dir, local_error->message);
      return self;
    }

  _natter_server_shard_setup_soup (self);

  return self;
}

static gboolean
on_purge (gpointer user_data)
{
  NatterServerShard *self = user_data;
  g_autoptr(GError) error = NULL;

  if (!natter_server_store_purge (self->store, _natter_server_unix_now (), &error))
    _natter_server_log_internal_error ("Deleting expired invitations", error);

  return G_SOURCE_CONTINUE;
}

#define PURGE_INTERVAL_MS (60 * 1000)

static void
shard_start (gpointer data)
{
  NatterServerShard *self = data;
  guint sweep_ms = MAX (self->limits.heartbeat_s * 1000 / 2, 100);

  if (self->shutting_down)
    return;

  _natter_server_accept_start (self);
  self->sweep = _natter_server_shard_add_timeout (self, sweep_ms, _natter_server_on_sweep, self);
  self->slow_sweep = _natter_server_shard_add_timeout (self,
                                                       MAX (self->limits.slow_timeout_s * 1000 / 4,
                                                            100),
                                                       _natter_server_on_slow_sweep, self);
  if (self->index == 0)
    {
      self->purge = _natter_server_shard_add_timeout (self, PURGE_INTERVAL_MS, on_purge, self);
      on_purge (self);
    }
}

/* Takes @socket, bound and listening, and starts serving it. */
void
_natter_server_shard_start (NatterServerShard *self,
                            GSocket           *socket)
{
  self->listen_socket = socket;
  _natter_server_shard_invoke (self, shard_start);
}

static void
stop_timers (NatterServerShard *self)
{
  _natter_server_clear_source (&self->sweep);
  _natter_server_clear_source (&self->slow_sweep);
  _natter_server_clear_source (&self->purge);
}

static void
shard_shutdown (gpointer data)
{
  NatterServerShard *self = data;
  g_autoptr(GPtrArray) open = NULL;
  GHashTableIter iter;
  gpointer connection;

  if (self->shutting_down)
    return;

  self->shutting_down = TRUE;
  _natter_server_accept_stop (self);
  stop_timers (self);

  open = g_ptr_array_new_with_free_func (g_object_unref);
  g_hash_table_iter_init (&iter, self->connections);
  while (g_hash_table_iter_next (&iter, &connection, NULL))
    {
      if (!natter_server_connection_is_closing (connection))
        g_ptr_array_add (open, g_object_ref (connection));
    }

  if (open->len > 0)
    g_message ("Shutting down; closing %u connections", open->len);

  for (guint i = 0; i < open->len; i++)
    {
      _natter_server_send_error (self, open->pdata[i], NATTER_PROTOCOL_ERROR_SHUTTING_DOWN, NULL,
                                 "The server is stopping");
      natter_server_connection_close (open->pdata[i], NATTER_CLOSE_GOING_AWAY);
    }

  natter_server_store_close (self->store);
}

void
_natter_server_shard_shutdown (NatterServerShard *self)
{
  _natter_server_shard_invoke (self, shard_shutdown);
}

/* In the shard's thread: drops everything it serves. Other shards may
 * still post to its mailbox, which is closed now and freed later. */
static void
shard_dispose (gpointer data)
{
  NatterServerShard *self = data;

  natter_server_mailbox_close (self->mailbox);
  stop_timers (self);
  _natter_server_accept_dispose (self);
  g_clear_object (&self->soup);

  g_clear_pointer (&self->by_key, g_hash_table_unref);
  g_clear_pointer (&self->users, g_hash_table_unref);
  g_clear_pointer (&self->connections, g_hash_table_unref);
  g_clear_pointer (&self->slow, g_hash_table_unref);
  /* Its watches went with the connections. */
  g_clear_pointer (&self->poller, natter_server_poller_free);

  if (self->store != NULL)
    natter_server_store_close (self->store);
  g_clear_object (&self->store);
}

/* Stops the shard; its thread too. */
void
_natter_server_shard_stop (NatterServerShard *self)
{
  _natter_server_shard_invoke (self, shard_dispose);
  g_clear_pointer (&self->worker, natter_server_worker_free);
}

/* Once every shard is stopped. */
void
_natter_server_shard_free (NatterServerShard *self)
{
  g_clear_pointer (&self->mailbox, natter_server_mailbox_free);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_free (self);
}
