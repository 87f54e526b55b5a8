/* natter-client.c: the headless messenger that the CLI and the app talk to
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "natter-client"

#include "config.h"

#include <glib/gi18n-lib.h>

#include <string.h>

#include "natter-client.h"
#include "natter-client-private.h"
#include "natter-image.h"
#include "natter-object-private.h"
#include "natter-pending-invitations.h"
#include "natter-protocol.h"

/* How long a typing indicator lasts without a refresh. */
#define TYPING_EXPIRY_S     6
/* Reconnecting a failed peer: exponential backoff, capped. */
#define PEER_RETRY_BASE_MS  1000
#define PEER_RETRY_CAP_MS   30000
#define READ_RECEIPT_WINDOW 200
/* Sending again what was sent on this connection but not confirmed: after
 * this back-off (doubling, capped), never on every new send. */
#define RESEND_BASE_MS      5000
#define RESEND_CAP_MS       60000

struct _NatterClient
{
  GObject          parent_instance;

  NatterIdentity  *identity;
  NatterStore     *store;
  NatterSignaling *signaling;
  char            *server_url;

  GHashTable      *peers;        /* contact id -> PeerEntry */
  NatterPendingInvitations *pending_invitations;

  char            *profile_name;
  char            *profile_bio;
  GBytes          *avatar;
  char            *avatar_sha256;
  JsonArray       *ice_override;
  guint            connect_timeout_ms;
  gboolean         loopback;
  gboolean         relay_only;
  gboolean         send_read_receipts;
  gboolean         send_typing;

  guint64          envelopes_sent;
  guint64          envelopes_received;
};

typedef struct
{
  NatterClient *client;   /* unowned */
  char         *contact_id;
  NatterPeer   *peer;
  gboolean      chat_open;
  guint         retry_source;
  guint         attempts;
  guint         typing_source;
  /* Messages sent on the current connection and not confirmed yet */
  GHashTable   *sent_ids;
  guint         resend_source;
  guint         resend_attempts;
  /* An avatar on its way in */
  char         *avatar_sha256;
  GPtrArray    *avatar_chunks;   /* GBytes, NULL where missing */
} PeerEntry;

enum {
  PROP_0,
  PROP_IDENTITY,
  PROP_STORE,
  PROP_SERVER_URL,
  PROP_LOOPBACK,
  PROP_RELAY_ONLY,
  PROP_CONNECT_TIMEOUT,
  PROP_SEND_READ_RECEIPTS,
  PROP_SEND_TYPING,
  N_PROPS
};

enum {
  MESSAGE_ADDED,
  MESSAGE_STATUS_CHANGED,
  TYPING_CHANGED,
  PRESENCE_CHANGED,
  PEER_STATE_CHANGED,
  CONTACT_CHANGED,
  INVITATION_RECEIVED,
  INVITATION_ANSWERED,
  ROOM_EVENT,
  TRUST_FAILURE,
  CONVERSATION_READ,
  MESSAGE_DELETED,
  CONVERSATION_CLEARED,
  MESSAGE_REFUSED,
  STORE_FAILED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (NatterClient, natter_client, G_TYPE_OBJECT)
G_DEFINE_QUARK (natter-client-error-quark, natter_client_error)

static void flush_outbox (NatterClient *self,
                          const char   *contact_id);
static gboolean send_one_message (NatterClient  *self,
                                  PeerEntry     *entry,
                                  NatterMessage *message);

static gboolean
close_peer_idle (gpointer data)
{
  natter_peer_close (NATTER_PEER (data));

  return G_SOURCE_REMOVE;
}

/* Closing is deferred: this often runs inside one of the peer's own signal
 * emissions. */
static void
peer_entry_drop_peer (PeerEntry *entry)
{
  if (entry->peer == NULL)
    return;

  g_signal_handlers_disconnect_by_data (entry->peer, entry);
  g_idle_add_full (G_PRIORITY_DEFAULT, close_peer_idle, g_steal_pointer (&entry->peer),
                   g_object_unref);
  entry->chat_open = FALSE;
  /* The next connection sends everything undelivered again */
  g_hash_table_remove_all (entry->sent_ids);
  g_clear_handle_id (&entry->resend_source, g_source_remove);
}

static void
peer_entry_free (gpointer data)
{
  PeerEntry *entry = data;

  g_clear_handle_id (&entry->retry_source, g_source_remove);
  g_clear_handle_id (&entry->typing_source, g_source_remove);
  peer_entry_drop_peer (entry);
  g_clear_pointer (&entry->sent_ids, g_hash_table_unref);
  g_clear_pointer (&entry->avatar_chunks, g_ptr_array_unref);
  g_free (entry->avatar_sha256);
  g_free (entry->contact_id);
  g_free (entry);
}

static PeerEntry *
get_entry (NatterClient *self,
           const char   *contact_id)
{
  PeerEntry *entry = g_hash_table_lookup (self->peers, contact_id);

  if (entry == NULL)
    {
      entry = g_new0 (PeerEntry, 1);
      entry->client = self;
      entry->contact_id = g_strdup (contact_id);
      entry->sent_ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
      g_hash_table_insert (self->peers, entry->contact_id, entry);
    }

  return entry;
}

static NatterContact *
lookup_contact (NatterClient *self,
                const char   *contact_id)
{
  return natter_store_get_contact (self->store, contact_id, NULL);
}

static gboolean
is_allowed_peer (NatterClient *self,
                 const char   *contact_id)
{
  g_autoptr(NatterContact) contact = lookup_contact (self, contact_id);

  return contact != NULL && !natter_contact_get_blocked (contact);
}

static void
emit_status (NatterClient        *self,
             const char          *contact_id,
             const char          *message_id,
             NatterMessageStatus  status)
{
  g_signal_emit (self, signals[MESSAGE_STATUS_CHANGED], 0, contact_id, message_id, status);
}

/* Records a status an outgoing message reached. The store decides whether
 * it is news (statuses only move forward: queued, sent, delivered, read) and
 * updates the live object; a change is announced. */
static void
advance_status (NatterClient        *self,
                const char          *contact_id,
                const char          *message_id,
                NatterMessageStatus  status)
{
  g_autoptr(NatterMessage) message = NULL;
  g_autoptr(GError) error = NULL;
  NatterMessageStatus before;

  message = natter_store_get_message (self->store, contact_id, message_id, NULL);
  if (message == NULL || natter_message_get_direction (message) != NATTER_MESSAGE_DIRECTION_OUT)
    return;

  before = natter_message_get_status (message);
  if (!natter_store_set_message_status (self->store, contact_id, message_id, status, &error))
    {
      g_warning ("Could not record a message status: %s", error->message);
      return;
    }

  /* The store also takes a delivered or read message out of the outbox. */
  if (natter_message_get_status (message) != before)
    emit_status (self, contact_id, message_id, status);
}

static gboolean
send_envelope (PeerEntry   *entry,
               const char  *text,
               GError     **error)
{
  if (entry->peer == NULL || !entry->chat_open)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED,
                           "Not connected to the contact");
      return FALSE;
    }

  if (!natter_peer_send_text (entry->peer, text, error))
    return FALSE;

  entry->client->envelopes_sent++;
  return TRUE;
}

static void
send_receipt (PeerEntry  *entry,
              const char *const *ids,
              const char *status)
{
  g_autofree char *text = natter_envelope_new_receipt (ids, status, NULL);

  send_envelope (entry, text, NULL);
}

static char *
sha256_hex (GBytes *bytes)
{
  return g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, bytes);
}

static void
send_avatar (NatterClient *self,
             PeerEntry    *entry)
{
  gsize size;
  const guint8 *data = g_bytes_get_data (self->avatar, &size);
  guint count = (size + NATTER_AVATAR_CHUNK_SIZE - 1) / NATTER_AVATAR_CHUNK_SIZE;

  for (guint i = 0; i < count; i++)
    {
      g_autoptr(JsonObject) envelope = natter_envelope_new (NATTER_ENVELOPE_AVATAR);
      g_autofree char *chunk = NULL;
      g_autofree char *text = NULL;
      gsize offset = (gsize) i * NATTER_AVATAR_CHUNK_SIZE;

      chunk = g_base64_encode (data + offset, MIN (NATTER_AVATAR_CHUNK_SIZE, size - offset));
      json_object_set_string_member (envelope, "sha256", self->avatar_sha256);
      json_object_set_int_member (envelope, "size", size);
      json_object_set_int_member (envelope, "index", i);
      json_object_set_int_member (envelope, "count", count);
      json_object_set_string_member (envelope, "data", chunk);

      text = natter_envelope_to_string (envelope, NULL);
      if (!send_envelope (entry, text, NULL))
        return;
    }
}

static void
send_profile (NatterClient *self,
              PeerEntry    *entry)
{
  g_autoptr(JsonObject) envelope = NULL;
  g_autofree char *text = NULL;

  if (self->profile_name == NULL && self->profile_bio == NULL && self->avatar == NULL)
    return;

  envelope = natter_envelope_new (NATTER_ENVELOPE_PROFILE);
  if (self->profile_name != NULL)
    json_object_set_string_member (envelope, "name", self->profile_name);
  if (self->profile_bio != NULL)
    json_object_set_string_member (envelope, "bio", self->profile_bio);
  if (self->avatar_sha256 != NULL)
    json_object_set_string_member (envelope, "avatar_sha256", self->avatar_sha256);

  text = natter_envelope_to_string (envelope, NULL);
  if (send_envelope (entry, text, NULL) && self->avatar != NULL)
    send_avatar (self, entry);
}

static gboolean
on_typing_expired (gpointer user_data)
{
  PeerEntry *entry = user_data;

  entry->typing_source = 0;
  g_signal_emit (entry->client, signals[TYPING_CHANGED], 0, entry->contact_id, FALSE);

  return G_SOURCE_REMOVE;
}

/* Tells the sender why a message was not kept, so that it stops resending it
 * (or tries again later, for a storage problem) and can show why. */
static void
refuse_message (NatterClient *self,
                PeerEntry    *entry,
                JsonObject   *envelope,
                const GError *error)
{
  const char *id = json_object_get_string_member (envelope, "id");
  const char *body = json_object_get_string_member (envelope, "body");
  g_autofree char *text = NULL;
  const char *reason;

  if (g_error_matches (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_INVALID))
    reason = (*id == '\0' || *body == '\0') ? "invalid" : "id-taken";
  else if (g_error_matches (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_DISK_FULL))
    reason = "storage-full";
  else if (g_error_matches (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_CORRUPT))
    reason = "storage-damaged";
  else
    reason = "storage-failed";

  if (natter_envelope_refusal_is_temporary (reason))
    {
      /* Not a warning: it is the disk, not a bug, and the UI says so */
      g_message ("Could not store an incoming message: %s", error->message);
      g_signal_emit (self, signals[STORE_FAILED], 0, error);
    }
  else
    {
      g_message ("Refused a message from %s: %s", NATTER_USER_ID_LOG (entry->contact_id), reason);
    }

  text = natter_envelope_new_refused (id, reason, NULL);
  send_envelope (entry, text, NULL);
}

static void
handle_message_envelope (NatterClient *self,
                         PeerEntry    *entry,
                         JsonObject   *envelope)
{
  g_autoptr(NatterMessage) message = NULL;
  g_autoptr(GError) error = NULL;
  const char *id = json_object_get_string_member (envelope, "id");
  const char *ids[] = { id, NULL };
  gboolean is_new = FALSE;
  gint64 sent_ms = json_object_get_int_member (envelope, "ts");
  gint64 now_us = g_get_real_time ();
  gint64 sent_us;
  /* Optional. A reference that cannot be one is dropped, not the message. */
  const char *reply_to = json_object_get_string_member_with_default (envelope, "reply_to", NULL);

  if (reply_to != NULL && (*reply_to == '\0' || strlen (reply_to) > 64))
    reply_to = NULL;

  /* The wire carries milliseconds; the store keeps microseconds. A clock
   * that is far off is not trusted: a time before 2000 or more than a day
   * ahead of ours becomes the time of receipt (docs/peer.md). */
  if (sent_ms < NATTER_MESSAGE_TS_MIN_MS || sent_ms > now_us / 1000 + NATTER_MESSAGE_TS_AHEAD_MS)
    sent_us = now_us;
  else
    sent_us = sent_ms * 1000;

  /* Stored before it is acknowledged: a crash after this loses nothing. */
  message = natter_store_insert_incoming_reply (self->store, entry->contact_id, id,
                                                json_object_get_string_member (envelope, "body"),
                                                sent_us, reply_to, &is_new, &error);
  if (message == NULL)
    {
      refuse_message (self, entry, envelope, error);
      return;
    }

  /* A duplicate is acknowledged again (the first receipt may have been
   * lost) but shown only once. */
  send_receipt (entry, ids, "delivered");

  if (entry->typing_source != 0)
    {
      g_clear_handle_id (&entry->typing_source, g_source_remove);
      g_signal_emit (self, signals[TYPING_CHANGED], 0, entry->contact_id, FALSE);
    }

  if (is_new)
    g_signal_emit (self, signals[MESSAGE_ADDED], 0, message);
}

static void
handle_refused_envelope (NatterClient *self,
                         PeerEntry    *entry,
                         JsonObject   *envelope)
{
  const char *id = json_object_get_string_member (envelope, "id");
  const char *reason = json_object_get_string_member (envelope, "reason");
  g_autoptr(NatterMessage) message = NULL;

  g_message ("%s did not keep a message: %s", NATTER_USER_ID_LOG (entry->contact_id), reason);

  /* A storage problem on their side passes: the message stays in the
   * outbox and goes again after the back-off. Anything else never will. */
  message = natter_store_get_message (self->store, entry->contact_id, id, NULL);
  if (message != NULL && natter_message_get_direction (message) == NATTER_MESSAGE_DIRECTION_OUT &&
      !natter_envelope_refusal_is_temporary (reason))
    advance_status (self, entry->contact_id, id, NATTER_MESSAGE_STATUS_FAILED);

  g_signal_emit (self, signals[MESSAGE_REFUSED], 0, entry->contact_id, id, reason);
}

static void
handle_receipt_envelope (NatterClient *self,
                         PeerEntry    *entry,
                         JsonObject   *envelope)
{
  JsonArray *ids = json_object_get_array_member (envelope, "ids");
  const char *status_name = json_object_get_string_member (envelope, "status");
  NatterMessageStatus status = g_str_equal (status_name, "read") ?
                               NATTER_MESSAGE_STATUS_READ : NATTER_MESSAGE_STATUS_DELIVERED;

  for (guint i = 0; i < json_array_get_length (ids); i++)
    advance_status (self, entry->contact_id, json_array_get_string_element (ids, i), status);

  /* The contact takes messages again */
  entry->resend_attempts = 0;
}

static void
handle_profile_envelope (NatterClient *self,
                         PeerEntry    *entry,
                         JsonObject   *envelope)
{
  g_autoptr(NatterContact) contact = lookup_contact (self, entry->contact_id);
  g_autoptr(GError) error = NULL;
  const char *avatar_sha256;

  if (contact == NULL)
    return;

  if (json_object_has_member (envelope, "name"))
    natter_contact_set_display_name (contact, json_object_get_string_member (envelope, "name"));
  if (json_object_has_member (envelope, "bio"))
    natter_contact_set_bio (contact, json_object_get_string_member (envelope, "bio"));

  /* The picture itself follows in avatar envelopes, unless it is the one we have. */
  avatar_sha256 = json_object_get_string_member_with_default (envelope, "avatar_sha256", NULL);
  if (avatar_sha256 == NULL)
    natter_contact_set_avatar (contact, NULL);
  else if (natter_contact_get_avatar (contact) != NULL)
    {
      g_autofree char *known = sha256_hex (natter_contact_get_avatar (contact));

      if (g_ascii_strcasecmp (known, avatar_sha256) != 0)
        natter_contact_set_avatar (contact, NULL);
    }

  if (!natter_store_update_contact (self->store, contact, &error))
    g_warning ("Could not store a contact's profile: %s", error->message);
  else
    g_signal_emit (self, signals[CONTACT_CHANGED], 0, entry->contact_id);
}

static void
handle_avatar_envelope (NatterClient *self,
                        PeerEntry    *entry,
                        JsonObject   *envelope)
{
  const char *sha256 = json_object_get_string_member (envelope, "sha256");
  gint64 size = json_object_get_int_member (envelope, "size");
  guint index = json_object_get_int_member (envelope, "index");
  guint count = json_object_get_int_member (envelope, "count");
  g_autoptr(GByteArray) whole = NULL;
  g_autoptr(GBytes) avatar = NULL;
  g_autoptr(NatterContact) contact = NULL;
  g_autofree char *actual = NULL;
  g_autoptr(GError) error = NULL;
  guchar *chunk;
  gsize chunk_len;

  if (g_strcmp0 (entry->avatar_sha256, sha256) != 0 || entry->avatar_chunks == NULL ||
      entry->avatar_chunks->len != count)
    {
      g_free (entry->avatar_sha256);
      entry->avatar_sha256 = g_strdup (sha256);
      g_clear_pointer (&entry->avatar_chunks, g_ptr_array_unref);
      entry->avatar_chunks = g_ptr_array_new_full (count, (GDestroyNotify) g_bytes_unref);
      g_ptr_array_set_size (entry->avatar_chunks, count);
    }

  chunk = g_base64_decode (json_object_get_string_member (envelope, "data"), &chunk_len);
  g_clear_pointer (&g_ptr_array_index (entry->avatar_chunks, index), g_bytes_unref);
  g_ptr_array_index (entry->avatar_chunks, index) = g_bytes_new_take (chunk, chunk_len);

  whole = g_byte_array_sized_new (size);
  for (guint i = 0; i < count; i++)
    {
      GBytes *piece = g_ptr_array_index (entry->avatar_chunks, i);

      if (piece == NULL)
        return;   /* more to come */
      g_byte_array_append (whole, g_bytes_get_data (piece, NULL), g_bytes_get_size (piece));
    }

  g_clear_pointer (&entry->avatar_chunks, g_ptr_array_unref);
  g_clear_pointer (&entry->avatar_sha256, g_free);

  avatar = g_byte_array_free_to_bytes (g_steal_pointer (&whole));
  actual = sha256_hex (avatar);
  if ((gint64) g_bytes_get_size (avatar) != size || g_ascii_strcasecmp (actual, sha256) != 0)
    {
      g_warning ("Dropped an avatar from %s that does not match its checksum",
                 NATTER_USER_ID_LOG (entry->contact_id));
      return;
    }

  /* The same checks as for our own, before it is stored or decoded */
  if (!natter_client_validate_avatar (avatar, &error))
    {
      g_message ("Dropped an avatar from %s: %s",
                 NATTER_USER_ID_LOG (entry->contact_id), error->message);
      return;
    }

  contact = lookup_contact (self, entry->contact_id);
  if (contact == NULL)
    return;

  natter_contact_set_avatar (contact, avatar);
  if (!natter_store_update_contact (self->store, contact, &error))
    g_warning ("Could not store a contact's avatar: %s", error->message);
  else
    g_signal_emit (self, signals[CONTACT_CHANGED], 0, entry->contact_id);
}

static void
on_chat_message (NatterPeer *peer,
                 const char *text,
                 gpointer    user_data)
{
  PeerEntry *entry = user_data;
  NatterClient *self = entry->client;
  g_autoptr(JsonObject) envelope = NULL;
  g_autoptr(GError) error = NULL;
  NatterEnvelopeType type;

  self->envelopes_received++;
  envelope = natter_envelope_parse (text, strlen (text), &type, &error);
  if (envelope == NULL)
    {
      g_warning ("Ignored a malformed chat envelope: %s", error->message);
      return;
    }

  switch (type)
    {
    case NATTER_ENVELOPE_MESSAGE:
      handle_message_envelope (self, entry, envelope);
      break;

    case NATTER_ENVELOPE_RECEIPT:
      handle_receipt_envelope (self, entry, envelope);
      break;

    case NATTER_ENVELOPE_TYPING:
      g_clear_handle_id (&entry->typing_source, g_source_remove);
      if (json_object_get_boolean_member (envelope, "active"))
        entry->typing_source = g_timeout_add_seconds (TYPING_EXPIRY_S, on_typing_expired, entry);
      g_signal_emit (self, signals[TYPING_CHANGED], 0, entry->contact_id,
                     json_object_get_boolean_member (envelope, "active"));
      break;

    case NATTER_ENVELOPE_PROFILE:
      handle_profile_envelope (self, entry, envelope);
      break;

    case NATTER_ENVELOPE_AVATAR:
      handle_avatar_envelope (self, entry, envelope);
      break;

    case NATTER_ENVELOPE_REFUSED:
      handle_refused_envelope (self, entry, envelope);
      break;

    default:
      break;
    }
}

static void
on_chat_opened (NatterPeer *peer,
                gpointer    user_data)
{
  PeerEntry *entry = user_data;
  NatterClient *self = entry->client;

  g_debug ("Chat channel open to %s", NATTER_USER_ID_LOG (entry->contact_id));
  entry->chat_open = TRUE;
  entry->attempts = 0;
  send_profile (self, entry);
  flush_outbox (self, entry->contact_id);
}

/* Connected to the client rather than to the entry, so that a peer that is
 * being dropped can still say goodbye. */
static void
on_signal_out (NatterPeer *peer,
               JsonObject *payload,
               gpointer    user_data)
{
  NatterClient *self = user_data;
  const char *contact_id = natter_peer_get_remote_id (peer);
  g_autoptr(GError) error = NULL;

  if (self->signaling == NULL)
    return;

  if (!natter_signaling_send_signal (self->signaling, contact_id, payload, &error))
    g_debug ("Could not relay to %s: %s", NATTER_USER_ID_LOG (contact_id), error->message);
}

static void
on_trust_failure (NatterPeer *peer,
                  const char *reason,
                  gpointer    user_data)
{
  PeerEntry *entry = user_data;

  /* Not a warning: it is what the check is for, and the UI shows it. */
  g_message ("Refused the connection to %s: %s", NATTER_USER_ID_LOG (entry->contact_id), reason);
  g_signal_emit (entry->client, signals[TRUST_FAILURE], 0, entry->contact_id);
}

static gboolean
on_peer_retry (gpointer user_data)
{
  PeerEntry *entry = user_data;

  entry->retry_source = 0;
  flush_outbox (entry->client, entry->contact_id);

  return G_SOURCE_REMOVE;
}

static gboolean
has_outbox (NatterClient *self,
            const char   *contact_id)
{
  g_autoptr(GPtrArray) outbox = natter_store_list_outbox (self->store, contact_id, NULL);

  return outbox != NULL && outbox->len > 0;
}

static void
schedule_peer_retry (PeerEntry *entry)
{
  guint delay;

  if (entry->retry_source != 0)
    return;

  delay = MIN (PEER_RETRY_CAP_MS, PEER_RETRY_BASE_MS << MIN (entry->attempts, 5));
  delay = g_random_int_range (delay / 2, delay + 1);
  entry->attempts++;

  g_debug ("Retrying the connection to %s in %u ms", NATTER_USER_ID_LOG (entry->contact_id), delay);
  entry->retry_source = g_timeout_add (delay, on_peer_retry, entry);
}

static void
on_peer_state (NatterPeer *peer,
               GParamSpec *pspec,
               gpointer    user_data)
{
  PeerEntry *entry = user_data;
  NatterClient *self = entry->client;
  NatterPeerState state = natter_peer_get_state (peer);
  g_autofree char *contact_id = g_strdup (entry->contact_id);

  g_signal_emit (self, signals[PEER_STATE_CHANGED], 0, contact_id, state);

  if (state != NATTER_PEER_STATE_FAILED && state != NATTER_PEER_STATE_CLOSED)
    return;

  peer_entry_drop_peer (entry);

  if (has_outbox (self, contact_id) &&
      natter_signaling_is_user_online (self->signaling, contact_id))
    schedule_peer_retry (entry);
}

static PeerEntry *
ensure_peer (NatterClient *self,
             const char   *contact_id,
             gboolean      initiate)
{
  PeerEntry *entry = get_entry (self, contact_id);

  if (entry->peer != NULL)
    return entry;

  entry->peer = natter_peer_new (self->identity, contact_id,
                                 self->ice_override != NULL ?
                                 self->ice_override :
                                 natter_signaling_get_ice_servers (self->signaling),
                                 self->loopback);
  if (self->connect_timeout_ms > 0)
    natter_peer_set_connect_timeout (entry->peer, self->connect_timeout_ms);
  natter_peer_set_relay_only (entry->peer, self->relay_only);

  g_signal_connect_object (entry->peer, "signal-out", G_CALLBACK (on_signal_out), self, 0);
  g_signal_connect (entry->peer, "chat-opened", G_CALLBACK (on_chat_opened), entry);
  g_signal_connect (entry->peer, "chat-message", G_CALLBACK (on_chat_message), entry);
  g_signal_connect (entry->peer, "trust-failure", G_CALLBACK (on_trust_failure), entry);
  g_signal_connect (entry->peer, "notify::state", G_CALLBACK (on_peer_state), entry);

  if (initiate)
    natter_peer_connect (entry->peer);

  return entry;
}

static gboolean
on_resend_timeout (gpointer user_data)
{
  PeerEntry *entry = user_data;

  entry->resend_source = 0;
  entry->resend_attempts++;
  g_hash_table_remove_all (entry->sent_ids);
  flush_outbox (entry->client, entry->contact_id);

  return G_SOURCE_REMOVE;
}

/* Sends one outgoing message on the open chat channel, once. */
static gboolean
send_one_message (NatterClient  *self,
                  PeerEntry     *entry,
                  NatterMessage *message)
{
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;
  guint delay;

  text = natter_envelope_new_message (natter_message_get_id (message),
                                      natter_message_get_timestamp (message) / 1000,
                                      natter_message_get_body (message),
                                      natter_message_get_reply_to (message), NULL);
  if (!send_envelope (entry, text, &error))
    {
      g_debug ("Sending stopped: %s", error->message);
      return FALSE;
    }

  g_hash_table_add (entry->sent_ids, g_strdup (natter_message_get_id (message)));
  if (entry->resend_source == 0)
    {
      delay = MIN (RESEND_CAP_MS, RESEND_BASE_MS << MIN (entry->resend_attempts, 4));
      entry->resend_source = g_timeout_add (delay, on_resend_timeout, entry);
    }

  advance_status (self, entry->contact_id, natter_message_get_id (message),
                  NATTER_MESSAGE_STATUS_SENT);
  return TRUE;
}

static void
flush_outbox (NatterClient *self,
              const char   *contact_id)
{
  g_autoptr(GPtrArray) outbox = NULL;
  g_autoptr(GError) error = NULL;
  PeerEntry *entry;

  if (!is_allowed_peer (self, contact_id))
    return;

  outbox = natter_store_list_outbox (self->store, contact_id, &error);
  if (outbox == NULL)
    {
      g_warning ("Could not read the outbox: %s", error->message);
      return;
    }

  entry = get_entry (self, contact_id);
  if (entry->peer == NULL || !entry->chat_open)
    {
      if (outbox->len > 0 && entry->peer == NULL && entry->retry_source == 0 &&
          natter_signaling_is_user_online (self->signaling, contact_id))
        ensure_peer (self, contact_id, TRUE);
      return;
    }

  /* In order, each once per connection; anything not yet confirmed is sent
   * again after a reconnect or the resend back-off, and the receiver drops
   * duplicates by id. */
  for (guint i = 0; i < outbox->len; i++)
    {
      NatterMessage *message = g_ptr_array_index (outbox, i);

      if (natter_message_get_status (message) == NATTER_MESSAGE_STATUS_FAILED ||
          g_hash_table_contains (entry->sent_ids, natter_message_get_id (message)))
        continue;

      if (!send_one_message (self, entry, message))
        return;
    }
}

static void
on_presence_changed (NatterSignaling *signaling,
                     const char      *user_id,
                     gboolean         online,
                     gpointer         user_data)
{
  NatterClient *self = user_data;

  g_signal_emit (self, signals[PRESENCE_CHANGED], 0, user_id, online);

  /* The contact left the server (not we): their app quit, so the peer
   * connection is about to die too. Closing it now means nothing is sent
   * into a dead channel; whatever is undelivered waits in the outbox. */
  if (!online && natter_signaling_get_state (signaling) == NATTER_SIGNALING_STATE_ONLINE)
    {
      PeerEntry *entry = g_hash_table_lookup (self->peers, user_id);

      if (entry != NULL && entry->peer != NULL)
        {
          peer_entry_drop_peer (entry);
          g_signal_emit (self, signals[PEER_STATE_CHANGED], 0, user_id, NATTER_PEER_STATE_CLOSED);
        }
    }

  if (online)
    {
      PeerEntry *entry = get_entry (self, user_id);

      entry->attempts = 0;
      g_clear_handle_id (&entry->retry_source, g_source_remove);
      flush_outbox (self, user_id);
    }
}

static void
on_signal_received (NatterSignaling *signaling,
                    const char      *from,
                    JsonObject      *payload,
                    gpointer         user_data)
{
  NatterClient *self = user_data;
  PeerEntry *entry;

  /* Only contacts may open a connection; strangers go through invitations. */
  if (!is_allowed_peer (self, from))
    {
      g_debug ("Refused a connection attempt from %s, who is not a contact",
               NATTER_USER_ID_LOG (from));
      return;
    }

  entry = ensure_peer (self, from, FALSE);
  natter_peer_handle_signal (entry->peer, payload);
}

static void
on_signal_failed (NatterSignaling *signaling,
                  const char      *to,
                  int              code,
                  gpointer         user_data)
{
  NatterClient *self = user_data;
  PeerEntry *entry = g_hash_table_lookup (self->peers, to);

  g_debug ("Relay to %s failed: %s", NATTER_USER_ID_LOG (to), natter_protocol_error_to_code (code));

  if (entry != NULL && entry->peer != NULL && !entry->chat_open)
    peer_entry_drop_peer (entry);
}

static void
on_frame_received (NatterSignaling *signaling,
                   NatterFrame     *frame,
                   gpointer         user_data)
{
  NatterClient *self = user_data;

  switch (natter_frame_get_frame_type (frame))
    {
    case NATTER_FRAME_INVITATION:
      {
        JsonObject *invitation = natter_frame_get_object_member (frame, "invitation");
        const char *from = json_object_get_string_member_with_default (invitation, "from", "");
        const char *id = json_object_get_string_member_with_default (invitation, "id", NULL);
        g_autoptr(NatterContact) contact = lookup_contact (self, from);

        /* A blocked contact cannot invite either: declined without a word. */
        if (contact != NULL && natter_contact_get_blocked (contact) && id != NULL)
          {
            g_autoptr(NatterFrame) decline = natter_frame_new (NATTER_FRAME_INVITE_DECLINE);

            natter_frame_set_string (decline, "invitation", id);
            natter_signaling_request_async (self->signaling, decline, NULL, NULL, NULL);
            break;
          }

        g_signal_emit (self, signals[INVITATION_RECEIVED], 0, invitation);
      }
      break;

    case NATTER_FRAME_INVITATION_ANSWER:
      {
        JsonObject *invitation = natter_frame_get_object_member (frame, "invitation");
        const char *status = json_object_get_string_member_with_default (invitation, "status", "");
        const char *to = json_object_get_string_member_with_default (invitation, "to", NULL);

        if (g_str_equal (status, "declined") && to != NULL)
          g_debug ("%s declined an invitation", NATTER_USER_ID_LOG (to));
        if (to != NULL)
          natter_pending_invitations_answered (self->pending_invitations, to);
        g_signal_emit (self, signals[INVITATION_ANSWERED], 0, invitation);
        if (g_str_equal (status, "accepted") && to != NULL)
          flush_outbox (self, to);
      }
      break;

    case NATTER_FRAME_ROOM_MEMBER_JOINED:
    case NATTER_FRAME_ROOM_MEMBER_LEFT:
      g_signal_emit (self, signals[ROOM_EVENT], 0,
                     natter_frame_get_string (frame, "room"),
                     natter_frame_get_string (frame, "user"),
                     natter_frame_get_frame_type (frame) == NATTER_FRAME_ROOM_MEMBER_JOINED);
      break;

    default:
      break;
    }
}

static void
update_subscriptions (NatterClient *self)
{
  g_autoptr(GPtrArray) contacts = natter_store_list_contacts (self->store, NULL);
  g_autoptr(GPtrArray) ids = g_ptr_array_new ();

  for (guint i = 0; contacts != NULL && i < contacts->len; i++)
    {
      NatterContact *contact = g_ptr_array_index (contacts, i);

      if (!natter_contact_get_blocked (contact))
        g_ptr_array_add (ids, (gpointer) natter_contact_get_user_id (contact));
    }
  g_ptr_array_add (ids, NULL);

  natter_signaling_set_subscriptions (self->signaling, (const char * const *) ids->pdata);
}

static void
on_pending_invitation_changed (NatterClient *self,
                               const char   *user_id)
{
  g_signal_emit (self, signals[CONTACT_CHANGED], 0, user_id);
}

static void
natter_client_constructed (GObject *object)
{
  NatterClient *self = NATTER_CLIENT (object);

  G_OBJECT_CLASS (natter_client_parent_class)->constructed (object);

  self->signaling = natter_signaling_new (self->identity, self->server_url);
  g_signal_connect (self->signaling, "presence-changed", G_CALLBACK (on_presence_changed), self);
  g_signal_connect (self->signaling, "signal-received", G_CALLBACK (on_signal_received), self);
  g_signal_connect (self->signaling, "signal-failed", G_CALLBACK (on_signal_failed), self);
  g_signal_connect (self->signaling, "frame-received", G_CALLBACK (on_frame_received), self);

  self->pending_invitations = natter_pending_invitations_new (self->signaling);
  g_signal_connect_swapped (self->pending_invitations, "changed",
                            G_CALLBACK (on_pending_invitation_changed), self);
}

static void
natter_client_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  NatterClient *self = NATTER_CLIENT (object);

  switch (prop_id)
    {
    case PROP_IDENTITY:
      g_value_set_object (value, self->identity);
      break;

    case PROP_STORE:
      g_value_set_object (value, self->store);
      break;

    case PROP_SERVER_URL:
      g_value_set_string (value, self->server_url);
      break;

    case PROP_LOOPBACK:
      g_value_set_boolean (value, self->loopback);
      break;

    case PROP_RELAY_ONLY:
      g_value_set_boolean (value, self->relay_only);
      break;

    case PROP_CONNECT_TIMEOUT:
      g_value_set_uint (value, self->connect_timeout_ms);
      break;

    case PROP_SEND_READ_RECEIPTS:
      g_value_set_boolean (value, self->send_read_receipts);
      break;

    case PROP_SEND_TYPING:
      g_value_set_boolean (value, self->send_typing);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
natter_client_set_property (GObject      *object,
                            guint         prop_id,
                            const GValue *value,
                            GParamSpec   *pspec)
{
  NatterClient *self = NATTER_CLIENT (object);

  switch (prop_id)
    {
    case PROP_IDENTITY:
      self->identity = g_value_dup_object (value);
      break;

    case PROP_STORE:
      self->store = g_value_dup_object (value);
      break;

    case PROP_SERVER_URL:
      self->server_url = g_value_dup_string (value);
      break;

    case PROP_LOOPBACK:
      natter_client_set_loopback (self, g_value_get_boolean (value));
      break;

    case PROP_RELAY_ONLY:
      natter_client_set_relay_only (self, g_value_get_boolean (value));
      break;

    case PROP_CONNECT_TIMEOUT:
      natter_client_set_connect_timeout (self, g_value_get_uint (value));
      break;

    case PROP_SEND_READ_RECEIPTS:
      natter_client_set_send_read_receipts (self, g_value_get_boolean (value));
      break;

    case PROP_SEND_TYPING:
      natter_client_set_send_typing (self, g_value_get_boolean (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
natter_client_dispose (GObject *object)
{
  NatterClient *self = NATTER_CLIENT (object);

  g_clear_pointer (&self->peers, g_hash_table_unref);
  if (self->pending_invitations != NULL)
    g_signal_handlers_disconnect_by_data (self->pending_invitations, self);
  g_clear_object (&self->pending_invitations);
  if (self->signaling != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->signaling, self);
      natter_signaling_stop (self->signaling);
    }
  g_clear_object (&self->signaling);
  g_clear_object (&self->store);
  g_clear_object (&self->identity);

  G_OBJECT_CLASS (natter_client_parent_class)->dispose (object);
}

static void
natter_client_finalize (GObject *object)
{
  NatterClient *self = NATTER_CLIENT (object);

  g_free (self->server_url);
  g_free (self->profile_name);
  g_free (self->profile_bio);
  g_clear_pointer (&self->avatar, g_bytes_unref);
  g_free (self->avatar_sha256);
  g_clear_pointer (&self->ice_override, json_array_unref);

  G_OBJECT_CLASS (natter_client_parent_class)->finalize (object);
}

static void
natter_client_class_init (NatterClientClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GType type = G_TYPE_FROM_CLASS (klass);

  object_class->constructed = natter_client_constructed;
  object_class->get_property = natter_client_get_property;
  object_class->set_property = natter_client_set_property;
  object_class->dispose = natter_client_dispose;
  object_class->finalize = natter_client_finalize;

  properties[PROP_IDENTITY] =
    g_param_spec_object ("identity", NULL, NULL, NATTER_TYPE_IDENTITY,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_STORE] =
    g_param_spec_object ("store", NULL, NULL, NATTER_TYPE_STORE,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SERVER_URL] =
    g_param_spec_string ("server-url", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * NatterClient:loopback:
   *
   * Whether peers also offer 127.0.0.1: only useful when both run on one
   * machine, as in tests. Applies to connections made from now on.
   */
  properties[PROP_LOOPBACK] =
    g_param_spec_boolean ("loopback", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * NatterClient:relay-only:
   *
   * Whether connections may only go through a TURN relay, which hides
   * one's address from contacts at the cost of a relay in the path.
   * Applies to connections made from now on.
   */
  properties[PROP_RELAY_ONLY] =
    g_param_spec_boolean ("relay-only", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * NatterClient:connect-timeout:
   *
   * How long a connection to a contact may take to open, in milliseconds;
   * 0 keeps NatterPeer's own default. Applies to connections made from now on.
   */
  properties[PROP_CONNECT_TIMEOUT] =
    g_param_spec_uint ("connect-timeout", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * NatterClient:send-read-receipts:
   *
   * Whether contacts are told when their messages were read.
   */
  properties[PROP_SEND_READ_RECEIPTS] =
    g_param_spec_boolean ("send-read-receipts", NULL, NULL, TRUE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * NatterClient:send-typing:
   *
   * Whether contacts see when the user is writing to them.
   */
  properties[PROP_SEND_TYPING] =
    g_param_spec_boolean ("send-typing", NULL, NULL, TRUE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * NatterClient::message-added:
   * @message: a #NatterMessage, outgoing (queued) or newly received
   */
  signals[MESSAGE_ADDED] =
    g_signal_new ("message-added", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, NATTER_TYPE_MESSAGE);

  /**
   * NatterClient::message-status-changed:
   * @contact_id: the conversation
   * @message_id: the message
   * @status: a #NatterMessageStatus
   */
  signals[MESSAGE_STATUS_CHANGED] =
    g_signal_new ("message-status-changed", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 3, G_TYPE_STRING, G_TYPE_STRING, NATTER_TYPE_MESSAGE_STATUS);

  signals[TYPING_CHANGED] =
    g_signal_new ("typing-changed", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_BOOLEAN);

  signals[PRESENCE_CHANGED] =
    g_signal_new ("presence-changed", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_BOOLEAN);

  signals[PEER_STATE_CHANGED] =
    g_signal_new ("peer-state-changed", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_STRING, NATTER_TYPE_PEER_STATE);

  signals[CONTACT_CHANGED] =
    g_signal_new ("contact-changed", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_STRING);

  signals[INVITATION_RECEIVED] =
    g_signal_new ("invitation-received", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, JSON_TYPE_OBJECT);

  signals[INVITATION_ANSWERED] =
    g_signal_new ("invitation-answered", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, JSON_TYPE_OBJECT);

  /**
   * NatterClient::room-event:
   * @room: the room
   * @user: who joined or left
   * @joined: %TRUE for joined
   */
  signals[ROOM_EVENT] =
    g_signal_new ("room-event", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 3, G_TYPE_STRING, G_TYPE_STRING, G_TYPE_BOOLEAN);

  /**
   * NatterClient::trust-failure:
   * @contact_id: the contact whose connection presented a DTLS fingerprint
   *   that its key did not sign: someone may be in the middle
   */
  signals[TRUST_FAILURE] =
    g_signal_new ("trust-failure", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_STRING);

  /**
   * NatterClient::conversation-read:
   * @contact_id: the conversation whose messages were all marked read
   */
  signals[CONVERSATION_READ] =
    g_signal_new ("conversation-read", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_STRING);

  /**
   * NatterClient::message-deleted:
   * @contact_id: the conversation
   * @message_id: the message deleted from this history
   */
  signals[MESSAGE_DELETED] =
    g_signal_new ("message-deleted", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);

  /**
   * NatterClient::conversation-cleared:
   * @contact_id: the conversation whose messages were all deleted here
   */
  signals[CONVERSATION_CLEARED] =
    g_signal_new ("conversation-cleared", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_STRING);

  /**
   * NatterClient::message-refused:
   * @contact_id: the conversation
   * @message_id: an outgoing message the contact did not keep
   * @reason: the contact's reason, one of docs/peer.md's refusal reasons;
   *   for the storage ones the message stays queued and goes again later,
   *   otherwise it is now failed
   */
  signals[MESSAGE_REFUSED] =
    g_signal_new ("message-refused", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 3, G_TYPE_STRING, G_TYPE_STRING, G_TYPE_STRING);

  /**
   * NatterClient::store-failed:
   * @error: why the history could not take what a contact sent (a full
   *   disk is %NATTER_STORE_ERROR_DISK_FULL); the contact was told and will
   *   send it again later
   */
  signals[STORE_FAILED] =
    g_signal_new ("store-failed", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_ERROR);
}

static void
natter_client_init (NatterClient *self)
{
  self->peers = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, peer_entry_free);
  self->send_read_receipts = TRUE;
  self->send_typing = TRUE;
}

/**
 * natter_client_new:
 * @identity: the local identity
 * @store: the history store
 * @server_url: the signaling server's WebSocket URL
 *
 * Returns: (transfer full): a new client; call natter_client_start()
 */
NatterClient *
natter_client_new (NatterIdentity *identity,
                   NatterStore    *store,
                   const char     *server_url)
{
  g_return_val_if_fail (NATTER_IS_IDENTITY (identity), NULL);
  g_return_val_if_fail (NATTER_IS_STORE (store), NULL);
  g_return_val_if_fail (server_url != NULL, NULL);

  return g_object_new (NATTER_TYPE_CLIENT,
                       "identity", identity,
                       "store", store,
                       "server-url", server_url,
                       NULL);
}

NatterIdentity *
natter_client_get_identity (NatterClient *self)
{
  g_return_val_if_fail (NATTER_IS_CLIENT (self), NULL);

  return self->identity;
}

NatterStore *
natter_client_get_store (NatterClient *self)
{
  g_return_val_if_fail (NATTER_IS_CLIENT (self), NULL);

  return self->store;
}

NatterSignaling *
natter_client_get_signaling (NatterClient *self)
{
  g_return_val_if_fail (NATTER_IS_CLIENT (self), NULL);

  return self->signaling;
}

const char *
natter_client_get_user_id (NatterClient *self)
{
  g_return_val_if_fail (NATTER_IS_CLIENT (self), NULL);

  return natter_identity_get_user_id (self->identity);
}

/**
 * natter_client_set_loopback:
 * @self: a #NatterClient
 * @loopback: whether peers also offer 127.0.0.1
 *
 * Sets #NatterClient:loopback.
 */
void
natter_client_set_loopback (NatterClient *self,
                            gboolean      loopback)
{
  g_return_if_fail (NATTER_IS_CLIENT (self));

  natter_object_set_boolean (G_OBJECT (self), &self->loopback, loopback,
                             properties[PROP_LOOPBACK]);
}

gboolean
natter_client_get_loopback (NatterClient *self)
{
  g_return_val_if_fail (NATTER_IS_CLIENT (self), FALSE);

  return self->loopback;
}

/**
 * natter_client_set_relay_only:
 * @self: a #NatterClient
 * @relay_only: whether connections may only go through a TURN relay
 *
 * Sets #NatterClient:relay-only.
 */
void
natter_client_set_relay_only (NatterClient *self,
                              gboolean      relay_only)
{
  g_return_if_fail (NATTER_IS_CLIENT (self));

  natter_object_set_boolean (G_OBJECT (self), &self->relay_only, relay_only,
                             properties[PROP_RELAY_ONLY]);
}

gboolean
natter_client_get_relay_only (NatterClient *self)
{
  g_return_val_if_fail (NATTER_IS_CLIENT (self), FALSE);

  return self->relay_only;
}

/**
 * natter_client_set_connect_timeout:
 * @self: a #NatterClient
 * @timeout_ms: milliseconds, or 0 for NatterPeer's default
 *
 * Sets #NatterClient:connect-timeout.
 */
void
natter_client_set_connect_timeout (NatterClient *self,
                                   guint         timeout_ms)
{
  g_return_if_fail (NATTER_IS_CLIENT (self));

  if (self->connect_timeout_ms == timeout_ms)
    return;

  self->connect_timeout_ms = timeout_ms;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONNECT_TIMEOUT]);
}

guint
natter_client_get_connect_timeout (NatterClient *self)
{
  g_return_val_if_fail (NATTER_IS_CLIENT (self), 0);

  return self->connect_timeout_ms;
}

/**
 * natter_client_set_send_read_receipts:
 * @self: a #NatterClient
 * @enabled: whether contacts learn what was read
 *
 * Sets #NatterClient:send-read-receipts.
 */
void
natter_client_set_send_read_receipts (NatterClient *self,
                                      gboolean      enabled)
{
  g_return_if_fail (NATTER_IS_CLIENT (self));

  natter_object_set_boolean (G_OBJECT (self), &self->send_read_receipts, enabled,
                             properties[PROP_SEND_READ_RECEIPTS]);
}

gboolean
natter_client_get_send_read_receipts (NatterClient *self)
{
  g_return_val_if_fail (NATTER_IS_CLIENT (self), FALSE);

  return self->send_read_receipts;
}

/**
 * natter_client_set_send_typing:
 * @self: a #NatterClient
 * @enabled: whether contacts see the user typing
 *
 * Sets #NatterClient:send-typing.
 */
void
natter_client_set_send_typing (NatterClient *self,
                               gboolean      enabled)
{
  g_return_if_fail (NATTER_IS_CLIENT (self));

  natter_object_set_boolean (G_OBJECT (self), &self->send_typing, enabled,
                             properties[PROP_SEND_TYPING]);
}

gboolean
natter_client_get_send_typing (NatterClient *self)
{
  g_return_val_if_fail (NATTER_IS_CLIENT (self), FALSE);

  return self->send_typing;
}

/**
 * natter_client_set_ice_servers_override:
 * @self: a #NatterClient
 * @ice_servers: (nullable): an RTCIceServer list as in docs/protocol.md, or
 *   %NULL to use what the signaling server offers
 *
 * Lets the user choose STUN/TURN servers of their own. Applies to
 * connections made from now on.
 */
void
natter_client_set_ice_servers_override (NatterClient *self,
                                        JsonArray    *ice_servers)
{
  g_return_if_fail (NATTER_IS_CLIENT (self));

  g_clear_pointer (&self->ice_override, json_array_unref);
  if (ice_servers != NULL)
    self->ice_override = json_array_ref (ice_servers);
}

/**
 * natter_client_set_profile:
 * @self: a #NatterClient
 * @name: (nullable): the display name contacts see
 * @bio: (nullable): a short text about oneself
 *
 * Sets the profile sent to each contact when a connection opens.
 */
void
natter_client_set_profile (NatterClient *self,
                           const char   *name,
                           const char   *bio)
{
  GHashTableIter iter;
  PeerEntry *entry;

  g_return_if_fail (NATTER_IS_CLIENT (self));

  g_free (self->profile_name);
  self->profile_name = g_strdup (name);
  g_free (self->profile_bio);
  self->profile_bio = g_strdup (bio);

  g_hash_table_iter_init (&iter, self->peers);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &entry))
    if (entry->chat_open)
      send_profile (self, entry);
}

/**
 * natter_client_validate_avatar:
 * @avatar: a picture
 * @error: a #GError
 *
 * Checks our own picture before it is sent and a contact's before it is
 * stored or decoded: the format and size in pixels are read from the header
 * alone, so that nothing is decoded to find out.
 *
 * Returns: %TRUE if @avatar is a PNG, JPEG or WebP picture of at most 256 KiB
 *   and %NATTER_AVATAR_MAX_PIXELS pixels a side
 */
gboolean
natter_client_validate_avatar (GBytes  *avatar,
                               GError **error)
{
  guint width;
  guint height;

  g_return_val_if_fail (avatar != NULL, FALSE);

  if (g_bytes_get_size (avatar) > NATTER_AVATAR_MAX_SIZE)
    {
      g_set_error (error, NATTER_CLIENT_ERROR, NATTER_CLIENT_ERROR_INVALID_AVATAR,
                   "A profile picture is at most %d KiB", NATTER_AVATAR_MAX_SIZE / 1024);
      return FALSE;
    }

  if (natter_image_read_header (avatar, &width, &height) == NATTER_IMAGE_UNKNOWN)
    {
      g_set_error_literal (error, NATTER_CLIENT_ERROR, NATTER_CLIENT_ERROR_INVALID_AVATAR,
                           "A profile picture is a PNG, JPEG or WebP image");
      return FALSE;
    }

  if (width == 0 || height == 0 || width > NATTER_AVATAR_MAX_PIXELS ||
      height > NATTER_AVATAR_MAX_PIXELS)
    {
      g_set_error (error, NATTER_CLIENT_ERROR, NATTER_CLIENT_ERROR_INVALID_AVATAR,
                   "A profile picture is at most %d × %d pixels (this one says %u × %u)",
                   NATTER_AVATAR_MAX_PIXELS, NATTER_AVATAR_MAX_PIXELS, width, height);
      return FALSE;
    }

  return TRUE;
}

/**
 * natter_client_set_avatar:
 * @self: a #NatterClient
 * @avatar: (nullable): a PNG, JPEG or WebP picture of at most 256 KiB
 * @error: a #GError
 *
 * Sets the picture sent with the profile.
 *
 * Returns: %TRUE if @avatar is acceptable
 */
gboolean
natter_client_set_avatar (NatterClient  *self,
                          GBytes        *avatar,
                          GError       **error)
{
  g_return_val_if_fail (NATTER_IS_CLIENT (self), FALSE);

  if (avatar != NULL && !natter_client_validate_avatar (avatar, error))
    return FALSE;

  g_clear_pointer (&self->avatar, g_bytes_unref);
  g_clear_pointer (&self->avatar_sha256, g_free);
  if (avatar != NULL)
    {
      self->avatar = g_bytes_ref (avatar);
      self->avatar_sha256 = sha256_hex (avatar);
    }

  return TRUE;
}

/**
 * natter_client_start:
 * @self: a #NatterClient
 *
 * Connects to the server and keeps connected; queued messages go out as
 * their recipients come online.
 */
void
natter_client_start (NatterClient *self)
{
  g_return_if_fail (NATTER_IS_CLIENT (self));

  update_subscriptions (self);
  natter_signaling_start (self->signaling);
}

void
natter_client_stop (NatterClient *self)
{
  GHashTableIter iter;
  PeerEntry *entry;

  g_return_if_fail (NATTER_IS_CLIENT (self));

  /* Close now, while the server can still carry each peer's goodbye. */
  g_hash_table_iter_init (&iter, self->peers);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &entry))
    {
      if (entry->peer == NULL)
        continue;
      g_signal_handlers_disconnect_by_data (entry->peer, entry);
      natter_peer_close (entry->peer);
      g_clear_object (&entry->peer);
    }

  g_hash_table_remove_all (self->peers);
  natter_signaling_stop (self->signaling);
}

NatterPeerState
natter_client_get_peer_state (NatterClient *self,
                              const char   *contact_id)
{
  PeerEntry *entry;

  g_return_val_if_fail (NATTER_IS_CLIENT (self), NATTER_PEER_STATE_NEW);
  g_return_val_if_fail (contact_id != NULL, NATTER_PEER_STATE_NEW);

  entry = g_hash_table_lookup (self->peers, contact_id);
  if (entry == NULL || entry->peer == NULL)
    return NATTER_PEER_STATE_NEW;

  return natter_peer_get_state (entry->peer);
}

gboolean
natter_client_is_contact_online (NatterClient *self,
                                 const char   *contact_id)
{
  g_return_val_if_fail (NATTER_IS_CLIENT (self), FALSE);
  g_return_val_if_fail (contact_id != NULL, FALSE);

  return natter_signaling_is_user_online (self->signaling, contact_id);
}

/**
 * natter_client_connect_to:
 * @self: a #NatterClient
 * @contact_id: a contact
 *
 * Opens the peer connection now, if the contact is online, rather than
 * waiting for something to send. The app calls it when a conversation
 * is opened, so the first message goes out at once.
 */
void
natter_client_connect_to (NatterClient *self,
                          const char   *contact_id)
{
  g_return_if_fail (NATTER_IS_CLIENT (self));
  g_return_if_fail (contact_id != NULL);

  if (is_allowed_peer (self, contact_id) &&
      natter_signaling_is_user_online (self->signaling, contact_id))
    ensure_peer (self, contact_id, TRUE);
}

static gboolean
check_contact (NatterClient  *self,
               const char    *contact_id,
               GError       **error)
{
  g_autoptr(NatterContact) contact = lookup_contact (self, contact_id);

  if (contact == NULL)
    {
      g_set_error_literal (error, NATTER_CLIENT_ERROR, NATTER_CLIENT_ERROR_NOT_A_CONTACT,
                           "This person is not a contact yet; send an invitation first");
      return FALSE;
    }

  if (natter_contact_get_blocked (contact))
    {
      g_set_error_literal (error, NATTER_CLIENT_ERROR, NATTER_CLIENT_ERROR_BLOCKED,
                           "This contact is blocked; unblock them to send messages");
      return FALSE;
    }

  return TRUE;
}

/**
 * natter_client_send_message:
 * @self: a #NatterClient
 * @contact_id: the recipient
 * @body: the text
 * @error: a #GError
 *
 * Stores @body as a queued message, then sends it as soon as the contact
 * can be reached.
 *
 * Returns: (transfer full) (nullable): the stored message
 */
NatterMessage *
natter_client_send_message (NatterClient  *self,
                            const char    *contact_id,
                            const char    *body,
                            GError       **error)
{
  return natter_client_send_reply (self, contact_id, body, NULL, error);
}

/**
 * natter_client_send_reply:
 * @reply_to: (nullable): the ID of the message of this conversation that
 *   @body answers
 *
 * Like natter_client_send_message(); the contact sees the message as an
 * answer to @reply_to (the `reply_to` member of docs/peer.md).
 *
 * Returns: (transfer full): the queued message, or %NULL with @error set
 */
NatterMessage *
natter_client_send_reply (NatterClient  *self,
                          const char    *contact_id,
                          const char    *body,
                          const char    *reply_to,
                          GError       **error)
{
  g_autoptr(NatterMessage) message = NULL;
  PeerEntry *entry;

  g_return_val_if_fail (NATTER_IS_CLIENT (self), NULL);
  g_return_val_if_fail (contact_id != NULL, NULL);
  g_return_val_if_fail (body != NULL, NULL);

  if (!check_contact (self, contact_id, error))
    return NULL;

  if (*body == '\0' || strlen (body) > NATTER_MESSAGE_BODY_MAX || !g_utf8_validate (body, -1, NULL))
    {
      g_set_error (error, NATTER_CLIENT_ERROR, NATTER_CLIENT_ERROR_INVALID_MESSAGE,
                   "A message is 1 to %d bytes of text", NATTER_MESSAGE_BODY_MAX);
      return NULL;
    }

  /* The store comes first: what the user wrote survives a crash. */
  message = natter_store_append_reply (self->store, contact_id, body, reply_to, error);
  if (message == NULL)
    return NULL;

  g_signal_emit (self, signals[MESSAGE_ADDED], 0, message);

  /* On an open connection everything older went out already: only the new
   * message goes, so a burst costs one envelope a message. */
  entry = g_hash_table_lookup (self->peers, contact_id);
  if (entry != NULL && entry->chat_open)
    send_one_message (self, entry, message);
  else
    flush_outbox (self, contact_id);

  return g_steal_pointer (&message);
}

/**
 * natter_client_retry_message:
 * @self: a #NatterClient
 * @contact_id: the conversation
 * @message_id: a failed message
 * @error: a #GError
 *
 * Queues a failed message again.
 *
 * Returns: %TRUE on success
 */
gboolean
natter_client_retry_message (NatterClient  *self,
                             const char    *contact_id,
                             const char    *message_id,
                             GError       **error)
{
  g_return_val_if_fail (NATTER_IS_CLIENT (self), FALSE);

  if (!check_contact (self, contact_id, error))
    return FALSE;

  if (!natter_store_set_message_status (self->store, contact_id, message_id,
                                        NATTER_MESSAGE_STATUS_QUEUED, error))
    return FALSE;

  emit_status (self, contact_id, message_id, NATTER_MESSAGE_STATUS_QUEUED);
  flush_outbox (self, contact_id);
  return TRUE;
}

/**
 * natter_client_send_typing:
 * @self: a #NatterClient
 * @contact_id: the conversation
 * @active: whether the user is typing
 *
 * Tells the contact; the indicator expires by itself on their side.
 */
void
natter_client_send_typing (NatterClient *self,
                           const char   *contact_id,
                           gboolean      active)
{
  PeerEntry *entry;
  g_autofree char *text = NULL;

  g_return_if_fail (NATTER_IS_CLIENT (self));
  g_return_if_fail (contact_id != NULL);

  if (!self->send_typing)
    return;

  entry = g_hash_table_lookup (self->peers, contact_id);
  if (entry == NULL || !entry->chat_open)
    return;

  text = natter_envelope_new_typing (active, NULL);
  send_envelope (entry, text, NULL);
}

/**
 * natter_client_is_invitation_pending:
 * @contact_id: a contact
 *
 * Returns: whether we invited @contact_id and they have not answered yet
 *   (NatterClient::contact-changed says when this changes)
 */
gboolean
natter_client_is_invitation_pending (NatterClient *self,
                                     const char   *contact_id)
{
  g_return_val_if_fail (NATTER_IS_CLIENT (self), FALSE);

  return natter_pending_invitations_contains (self->pending_invitations, contact_id);
}

/**
 * natter_client_delete_message:
 * @message_id: the message
 *
 * Deletes a message from this history only; nothing is sent to the
 * contact. Emits NatterClient::message-deleted.
 *
 * Returns: %TRUE if the message is gone
 */
gboolean
natter_client_delete_message (NatterClient  *self,
                              const char    *contact_id,
                              const char    *message_id,
                              GError       **error)
{
  g_return_val_if_fail (NATTER_IS_CLIENT (self), FALSE);
  g_return_val_if_fail (contact_id != NULL, FALSE);
  g_return_val_if_fail (message_id != NULL, FALSE);

  if (!natter_store_delete_message (self->store, contact_id, message_id, error))
    return FALSE;

  g_signal_emit (self, signals[MESSAGE_DELETED], 0, contact_id, message_id);
  return TRUE;
}

/**
 * natter_client_mark_read:
 * @self: a #NatterClient
 * @contact_id: the conversation
 * @error: a #GError
 *
 * Marks the conversation read and, if enabled, sends read receipts.
 *
 * Returns: %TRUE on success
 */
gboolean
natter_client_mark_read (NatterClient  *self,
                         const char    *contact_id,
                         GError       **error)
{
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(GPtrArray) ids = NULL;
  PeerEntry *entry;

  g_return_val_if_fail (NATTER_IS_CLIENT (self), FALSE);
  g_return_val_if_fail (contact_id != NULL, FALSE);

  messages = natter_store_load_messages (self->store, contact_id, NULL, READ_RECEIPT_WINDOW,
                                         error);
  if (messages == NULL)
    return FALSE;

  /* Which messages the receipt names: those not read yet among the newest. */
  ids = g_ptr_array_new ();
  for (guint i = 0; i < messages->len && ids->len < NATTER_RECEIPT_IDS_MAX; i++)
    {
      NatterMessage *message = g_ptr_array_index (messages, i);

      if (natter_message_get_direction (message) == NATTER_MESSAGE_DIRECTION_IN &&
          natter_message_get_status (message) != NATTER_MESSAGE_STATUS_READ)
        g_ptr_array_add (ids, (gpointer) natter_message_get_id (message));
    }

  /* One transaction marks them all, and the store updates the live objects. */
  if (!natter_store_mark_conversation_read (self->store, contact_id, error))
    return FALSE;

  g_signal_emit (self, signals[CONVERSATION_READ], 0, contact_id);

  entry = g_hash_table_lookup (self->peers, contact_id);
  if (self->send_read_receipts && ids->len > 0 && entry != NULL && entry->chat_open)
    {
      g_ptr_array_add (ids, NULL);
      send_receipt (entry, (const char * const *) ids->pdata, "read");
    }

  return TRUE;
}

/**
 * natter_client_add_contact:
 * @self: a #NatterClient
 * @user_id: the contact's user ID
 * @name: (nullable): a name to show until their profile arrives
 * @error: a #GError
 *
 * Returns: (transfer full) (nullable): the contact, new or existing
 */
NatterContact *
natter_client_add_contact (NatterClient  *self,
                           const char    *user_id,
                           const char    *name,
                           GError       **error)
{
  NatterContact *contact;

  g_return_val_if_fail (NATTER_IS_CLIENT (self), NULL);
  g_return_val_if_fail (user_id != NULL, NULL);

  if (!natter_user_id_is_valid (user_id))
    {
      g_set_error_literal (error, NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_INVALID_USER,
                           "This is not a valid Natter ID");
      return NULL;
    }

  contact = lookup_contact (self, user_id);
  if (contact == NULL)
    {
      contact = natter_store_add_contact (self->store, user_id, name, error);
      if (contact == NULL)
        return NULL;
      update_subscriptions (self);
      g_signal_emit (self, signals[CONTACT_CHANGED], 0, user_id);
    }

  return contact;
}

/**
 * natter_client_set_blocked:
 * @self: a #NatterClient
 * @contact_id: the contact
 * @blocked: whether to block
 * @error: a #GError
 *
 * A blocked contact can neither connect nor be written to.
 *
 * Returns: %TRUE on success
 */
gboolean
natter_client_set_blocked (NatterClient  *self,
                           const char    *contact_id,
                           gboolean       blocked,
                           GError       **error)
{
  g_return_val_if_fail (NATTER_IS_CLIENT (self), FALSE);
  g_return_val_if_fail (contact_id != NULL, FALSE);

  if (!natter_store_set_contact_blocked (self->store, contact_id, blocked, error))
    return FALSE;

  if (blocked)
    g_hash_table_remove (self->peers, contact_id);

  update_subscriptions (self);
  g_signal_emit (self, signals[CONTACT_CHANGED], 0, contact_id);

  return TRUE;
}

/**
 * natter_client_set_verified:
 * @self: a #NatterClient
 * @contact_id: the contact
 * @verified: whether the user compared the safety number with them
 * @error: a #GError
 *
 * Returns: %TRUE once it is stored (and #NatterContact:verified follows)
 */
gboolean
natter_client_set_verified (NatterClient  *self,
                            const char    *contact_id,
                            gboolean       verified,
                            GError       **error)
{
  g_return_val_if_fail (NATTER_IS_CLIENT (self), FALSE);
  g_return_val_if_fail (contact_id != NULL, FALSE);

  if (!natter_store_set_contact_verified (self->store, contact_id, verified, error))
    return FALSE;

  g_signal_emit (self, signals[CONTACT_CHANGED], 0, contact_id);
  return TRUE;
}

/**
 * natter_client_remove_contact:
 *
 * Removes the contact and their conversation from this computer, and
 * closes any connection to them. They can invite you again.
 *
 * Returns: %TRUE if the contact is gone
 */
gboolean
natter_client_remove_contact (NatterClient  *self,
                              const char    *contact_id,
                              GError       **error)
{
  g_return_val_if_fail (NATTER_IS_CLIENT (self), FALSE);
  g_return_val_if_fail (contact_id != NULL, FALSE);

  if (!natter_store_remove_contact (self->store, contact_id, error))
    return FALSE;

  g_hash_table_remove (self->peers, contact_id);
  update_subscriptions (self);
  g_signal_emit (self, signals[CONVERSATION_CLEARED], 0, contact_id);
  g_signal_emit (self, signals[CONTACT_CHANGED], 0, contact_id);
  return TRUE;
}

/**
 * natter_client_clear_conversation:
 *
 * Deletes every message of the conversation from this computer; the
 * contact keeps theirs. Emits NatterClient::conversation-cleared.
 *
 * Returns: %TRUE if the conversation is empty now
 */
gboolean
natter_client_clear_conversation (NatterClient  *self,
                                  const char    *contact_id,
                                  GError       **error)
{
  g_return_val_if_fail (NATTER_IS_CLIENT (self), FALSE);
  g_return_val_if_fail (contact_id != NULL, FALSE);

  if (!natter_store_clear_conversation (self->store, contact_id, error))
    return FALSE;

  g_signal_emit (self, signals[CONVERSATION_CLEARED], 0, contact_id);
  return TRUE;
}

/* Invitations */

typedef struct
{
  char *to;
  char *text;
} InviteData;

static void
invite_data_free (gpointer data)
{
  InviteData *invite = data;

  g_free (invite->to);
  g_free (invite->text);
  g_free (invite);
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
  GError *error = NULL;

  reply = natter_signaling_request_finish (NATTER_SIGNALING (source), result, &error);
  if (reply == NULL)
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
  natter_pending_invitations_add (self->pending_invitations, data->to);

  g_task_return_pointer (task,
                         json_object_ref (natter_frame_get_object_member (reply, "invitation")),
                         (GDestroyNotify) json_object_unref);
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

  natter_signaling_request_async (self->signaling, frame, g_task_get_cancellable (task),
                                  on_invite_sent, task);
}

static void
on_handle_looked_up (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  InviteData *data = g_task_get_task_data (task);
  g_autoptr(NatterFrame) reply = NULL;
  GError *error = NULL;

  reply = natter_signaling_request_finish (NATTER_SIGNALING (source), result, &error);
  if (reply == NULL)
    {
      g_task_return_error (task, error);
      return;
    }

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
  g_autoptr(NatterFrame) reply = NULL;
  GError *error = NULL;

  reply = natter_signaling_request_finish (NATTER_SIGNALING (source), result, &error);
  if (reply == NULL)
    g_task_return_error (task, error);
  else
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
  g_return_val_if_fail (NATTER_IS_CLIENT (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
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
      g_autofree char *handle = natter_handle_normalize (id_or_handle, &error);

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
 * Returns: (transfer full): the invitation object of docs/protocol.md
 */
JsonObject *
natter_client_invite_finish (NatterClient  *self,
                             GAsyncResult  *result,
                             GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

typedef struct
{
  char       *invitation_id;
  JsonObject *invitation;
  gboolean    accept;
} AnswerData;

static void
answer_data_free (gpointer data)
{
  AnswerData *answer = data;

  g_free (answer->invitation_id);
  g_clear_pointer (&answer->invitation, json_object_unref);
  g_free (answer);
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

  reply = natter_signaling_request_finish (NATTER_SIGNALING (source), result, &error);
  if (reply == NULL)
    {
      g_task_return_error (task, error);
      return;
    }

  if (data->accept)
    {
      g_autoptr(NatterContact) contact = NULL;

      contact = natter_client_add_contact (self,
                                           json_object_get_string_member (data->invitation, "from"),
                                           NULL, &error);
      if (contact == NULL)
        {
          g_task_return_error (task, error);
          return;
        }
    }

  g_task_return_pointer (task, json_object_ref (data->invitation),
                         (GDestroyNotify) json_object_unref);
}

static void
on_invitations_listed (GObject      *source,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  NatterClient *self = g_task_get_source_object (task);
  AnswerData *data = g_task_get_task_data (task);
  g_autoptr(JsonObject) listing = NULL;
  g_autoptr(NatterFrame) answer = NULL;
  GCancellable *cancellable;
  JsonArray *incoming;
  GError *error = NULL;

  listing = natter_client_list_invitations_finish (self, result, &error);
  if (listing == NULL)
    {
      g_task_return_error (task, error);
      return;
    }

  incoming = json_object_get_array_member (listing, "incoming");
  for (guint i = 0; i < json_array_get_length (incoming); i++)
    {
      JsonObject *invitation = json_array_get_object_element (incoming, i);

      if (g_strcmp0 (json_object_get_string_member_with_default (invitation, "id", NULL),
                     data->invitation_id) == 0 &&
          natter_user_id_is_valid (json_object_get_string_member_with_default (invitation,
                                                                               "from", NULL)))
        data->invitation = json_object_ref (invitation);
    }

  if (data->invitation == NULL)
    {
      g_task_return_new_error (task, NATTER_CLIENT_ERROR, NATTER_CLIENT_ERROR_NOT_FOUND,
                               "No pending invitation has this ID; it may have expired");
      return;
    }

  answer = natter_frame_new (data->accept ? NATTER_FRAME_INVITE_ACCEPT : NATTER_FRAME_INVITE_DECLINE);
  natter_frame_set_string (answer, "invitation", data->invitation_id);
  cancellable = g_task_get_cancellable (task);
  natter_signaling_request_async (self->signaling, answer, cancellable,
                                  on_answer_sent, g_steal_pointer (&task));
}

/* The server sends the invitations listing in pages; this many pages of
 * at least one invitation each is more than any server keeps. */
#define INVITATION_PAGES_MAX 10000

static void request_invitations_page (GTask      *task,
                                      const char *after);

static void
append_invitation_objects (JsonArray *to,
                           JsonArray *from)
{
  for (guint i = 0; from != NULL && i < json_array_get_length (from); i++)
    {
      JsonNode *node = json_array_get_element (from, i);

      if (JSON_NODE_HOLDS_OBJECT (node))
        json_array_add_element (to, json_node_copy (node));
    }
}

static void
on_invitations_page (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  JsonObject *listing = g_task_get_task_data (task);
  g_autoptr(NatterFrame) reply = NULL;
  const char *next;
  gint64 pages;
  GError *error = NULL;

  reply = natter_signaling_request_finish (NATTER_SIGNALING (source), result, &error);
  if (reply == NULL)
    {
      g_task_return_error (task, error);
      return;
    }

  append_invitation_objects (json_object_get_array_member (listing, "incoming"),
                             natter_frame_get_array (reply, "incoming"));
  append_invitation_objects (json_object_get_array_member (listing, "outgoing"),
                             natter_frame_get_array (reply, "outgoing"));

  pages = json_object_get_int_member (listing, "pages") + 1;
  json_object_set_int_member (listing, "pages", pages);
  next = natter_frame_get_string (reply, "next");
  if (next != NULL && pages < INVITATION_PAGES_MAX)
    {
      request_invitations_page (g_steal_pointer (&task), next);
      return;
    }

  json_object_remove_member (listing, "pages");
  g_task_return_pointer (task, json_object_ref (listing), (GDestroyNotify) json_object_unref);
}

static void
request_invitations_page (GTask      *task,
                          const char *after)
{
  NatterClient *self = g_task_get_source_object (task);
  g_autoptr(NatterFrame) list = natter_frame_new (NATTER_FRAME_INVITATIONS);

  if (after != NULL)
    natter_frame_set_string (list, "after", after);
  natter_signaling_request_async (self->signaling, list, g_task_get_cancellable (task),
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
  JsonObject *listing;

  g_return_if_fail (NATTER_IS_CLIENT (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, natter_client_list_invitations_async);
  listing = json_object_new ();
  json_object_set_array_member (listing, "incoming", json_array_new ());
  json_object_set_array_member (listing, "outgoing", json_array_new ());
  json_object_set_int_member (listing, "pages", 0);
  g_task_set_task_data (task, listing, (GDestroyNotify) json_object_unref);

  request_invitations_page (task, NULL);
}

/**
 * natter_client_list_invitations_finish:
 * @self: a #NatterClient
 * @result: the result
 * @error: a #GError
 *
 * Returns: (transfer full): an object with the arrays `incoming` and
 *   `outgoing` of invitation objects (docs/protocol.md)
 */
JsonObject *
natter_client_list_invitations_finish (NatterClient  *self,
                                       GAsyncResult  *result,
                                       GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
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
JsonObject *
natter_client_answer_invitation_finish (NatterClient  *self,
                                        GAsyncResult  *result,
                                        GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * natter_client_get_envelopes_sent:
 * @self: a #NatterClient
 *
 * Returns: how many chat envelopes this client has sent, for figures and
 *   tests of what goes on the wire
 */
guint64
natter_client_get_envelopes_sent (NatterClient *self)
{
  g_return_val_if_fail (NATTER_IS_CLIENT (self), 0);

  return self->envelopes_sent;
}

/**
 * natter_client_get_envelopes_received:
 * @self: a #NatterClient
 *
 * Returns: how many chat envelopes this client has received
 */
guint64
natter_client_get_envelopes_received (NatterClient *self)
{
  g_return_val_if_fail (NATTER_IS_CLIENT (self), 0);

  return self->envelopes_received;
}

gboolean
_natter_client_send_envelope (NatterClient  *self,
                              const char    *contact_id,
                              const char    *text,
                              GError       **error)
{
  PeerEntry *entry;

  g_return_val_if_fail (NATTER_IS_CLIENT (self), FALSE);

  entry = g_hash_table_lookup (self->peers, contact_id);
  if (entry == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED,
                           "Not connected to the contact");
      return FALSE;
    }

  return send_envelope (entry, text, error);
}
