/* natter-client-transfers.c: the transfer service: files to and from contacts
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A transfer is agreed on the chat channel (docs/peer.md, "Files"): the
 * sender offers (file-offer), the receiver accepts from an offset
 * (file-accept) or declines, either side may cancel. The bytes go on a data
 * channel of their own, labelled "file:ID:OFFSET", as binary messages of at
 * most 64 KiB; the sender writes only while the channel's own queue is
 * empty (webrtcbin then buffers a few hundred KiB at most), so chat, on
 * another channel, stays quick. After the last byte the sender tells the
 * SHA-256 of the whole file (file-done); the receiver, which hashed what it
 * wrote, renames its partial file into place only if the checksums match,
 * and says so (file-received).
 *
 * Both sides stream: the file is read and written 64 KiB at a time, so
 * memory stays flat whatever the size. Nothing is lost to a dropped
 * connection or a restart: each time the chat channel opens, the sender
 * offers its unfinished transfers again, and the receiver accepts an offer
 * it already took from the length of its partial file, with the SHA-256 of
 * that partial, which the sender checks against its own file before it goes
 * on (or starts again from zero). The receiver asks (file-resume) about
 * transfers it is still receiving, so that one the sender gave up while the
 * two were apart ends on both sides.
 */
#define G_LOG_DOMAIN "natter-client"

#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>

#include "natter-client-private.h"
#include "natter-contact-session-private.h"
#include "natter-file-name.h"
#include "natter-image.h"
#include "natter-protocol.h"

#define CHUNK_SIZE          NATTER_CHANNEL_MAX_MESSAGE_SIZE
/* Chunks written in one go before the main loop gets a turn */
#define CHUNKS_PER_TURN     16
#define RATE_INTERVAL_US    (500 * G_TIME_SPAN_MILLISECOND)
#define STORE_INTERVAL_US   (2 * G_TIME_SPAN_SECOND)
/* Free space kept beyond the file's own size */
#define SPACE_MARGIN        (1024 * 1024)

/* A transfer the service knows, with what it has open for it */
typedef struct
{
  NatterClient   *client;          /* unowned: it owns us */
  NatterTransfer *transfer;
  NatterChannel  *channel;
  GInputStream   *input;           /* going out */
  GOutputStream  *output;          /* coming in: the partial file */
  GChecksum      *checksum;        /* over bytes [0, position) */
  guint64         position;
  char           *remote_sha256;   /* coming in: from file-done */
  guint           pump_source;
  gint64          rate_time;
  guint64         rate_position;
  gint64          stored_time;
} Active;

static void pump (Active *a);

static char *
active_key (const char *contact_id,
            const char *transfer_id)
{
  return g_strconcat (contact_id, "/", transfer_id, NULL);
}

static void
active_close_streams (Active *a)
{
  g_clear_handle_id (&a->pump_source, g_source_remove);
  if (a->channel != NULL)
    {
      g_signal_handlers_disconnect_by_data (a->channel, a);
      natter_channel_close (a->channel);
      g_clear_object (&a->channel);
    }
  if (a->input != NULL)
    {
      g_input_stream_close (a->input, NULL, NULL);
      g_clear_object (&a->input);
    }
  if (a->output != NULL)
    {
      g_output_stream_close (a->output, NULL, NULL);
      g_clear_object (&a->output);
    }
  g_clear_pointer (&a->checksum, g_checksum_free);
  g_clear_pointer (&a->remote_sha256, g_free);
  natter_transfer_set_rate (a->transfer, 0);
}

static void
active_free (Active *a)
{
  active_close_streams (a);
  g_clear_object (&a->transfer);
  g_free (a);
}

void
_natter_client_transfers_init (NatterClient *self)
{
  self->transfers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                           (GDestroyNotify) active_free);
}

void
_natter_client_transfers_clear (NatterClient *self)
{
  g_clear_pointer (&self->transfers, g_hash_table_unref);
  g_clear_pointer (&self->download_folder, g_free);
}

/* The live transfer, from memory or the store */
static Active *
lookup (NatterClient *self,
        const char   *contact_id,
        const char   *transfer_id)
{
  g_autofree char *key = active_key (contact_id, transfer_id);
  NatterTransfer *transfer;
  Active *a;

  a = g_hash_table_lookup (self->transfers, key);
  if (a != NULL)
    return a;

  transfer = natter_store_get_transfer (self->store, contact_id, transfer_id, NULL);
  if (transfer == NULL)
    return NULL;

  a = g_new0 (Active, 1);
  a->client = self;
  a->transfer = transfer;
  g_hash_table_insert (self->transfers, g_steal_pointer (&key), a);
  return a;
}

static Active *
adopt (NatterClient   *self,
       NatterTransfer *transfer)
{
  Active *a = g_new0 (Active, 1);

  a->client = self;
  a->transfer = g_object_ref (transfer);
  g_hash_table_insert (self->transfers,
                       active_key (natter_transfer_get_contact_id (transfer),
                                   natter_transfer_get_id (transfer)), a);
  return a;
}

static void
store (Active *a)
{
  g_autoptr(GError) error = NULL;

  a->stored_time = g_get_monotonic_time ();
  if (!natter_store_update_transfer (a->client->store, a->transfer, &error))
    g_warning ("Could not store a transfer: %s", error->message);
}

static void
progress (Active *a)
{
  gint64 now = g_get_monotonic_time ();

  natter_transfer_set_bytes_done (a->transfer, a->position);
  if (a->rate_time == 0)
    {
      a->rate_time = now;
      a->rate_position = a->position;
    }
  else if (now - a->rate_time >= RATE_INTERVAL_US)
    {
      double seconds = (now - a->rate_time) / (double) G_USEC_PER_SEC;

      natter_transfer_set_rate (a->transfer, (a->position - a->rate_position) / seconds);
      a->rate_time = now;
      a->rate_position = a->position;
    }

  if (now - a->stored_time >= STORE_INTERVAL_US)
    {
      g_autoptr(GError) error = NULL;

      a->stored_time = now;
      if (!natter_store_update_transfer_progress (a->client->store, a->transfer, &error))
        g_debug ("Could not store a transfer's progress: %s", error->message);
    }
}

/* Data flows from @offset on */
static void
begin_at (Active  *a,
          guint64  offset)
{
  a->position = offset;
  a->rate_time = 0;
  natter_transfer_set_bytes_done (a->transfer, offset);
  natter_transfer_set_state (a->transfer, NATTER_TRANSFER_STATE_TRANSFERRING);
  store (a);
}

static NatterContactSession *
session_of (Active *a)
{
  return _natter_client_get_session (a->client, natter_transfer_get_contact_id (a->transfer));
}

static void
send_envelope (Active     *a,
               JsonObject *envelope)
{
  g_autofree char *text = natter_envelope_to_string (envelope, NULL);
  g_autoptr(GError) error = NULL;

  if (!_natter_contact_session_send_text (session_of (a), text, &error))
    g_debug ("A transfer envelope waits for the next connection: %s", error->message);
}

static JsonObject *
envelope_new (NatterEnvelopeType  type,
              Active             *a)
{
  JsonObject *envelope = natter_envelope_new (type);

  json_object_set_string_member (envelope, "id", natter_transfer_get_id (a->transfer));
  return envelope;
}

static void
send_reason (Active             *a,
             NatterEnvelopeType  type,
             const char         *reason)
{
  g_autoptr(JsonObject) envelope = envelope_new (type, a);

  json_object_set_string_member (envelope, "reason", reason);
  send_envelope (a, envelope);
}

/* What the user reads when the other side gave @reason */
static const char *
remote_reason_text (const char *reason)
{
  if (g_strcmp0 (reason, "no-space") == 0)
    return _("There is not enough free space on the contact’s disk");
  if (g_strcmp0 (reason, "disk-full") == 0)
    return _("The contact’s disk is full");
  if (g_strcmp0 (reason, "checksum") == 0)
    return _("The file arrived damaged (its checksum does not match)");
  if (g_strcmp0 (reason, "unreadable") == 0)
    return _("The sender could not read the file");
  if (g_strcmp0 (reason, "io-error") == 0)
    return _("The contact could not write the file");
  if (g_strcmp0 (reason, "unknown") == 0)
    return _("The contact does not know this transfer");
  return NULL;
}

/* Ends @a: a state that nothing follows, stored */
static void
finish (Active              *a,
        NatterTransferState  state,
        const char          *error)
{
  active_close_streams (a);
  natter_transfer_set_error (a->transfer, error);
  natter_transfer_set_state (a->transfer, state);
  store (a);
}

static void
remove_partial (Active *a)
{
  g_autoptr(GFile) final = NULL;
  g_autoptr(GFile) folder = NULL;
  g_autoptr(GFile) partial = NULL;
  g_autofree char *basename = NULL;
  g_autofree char *partial_name = NULL;

  if (natter_transfer_get_path (a->transfer) == NULL)
    return;
  final = g_file_new_for_path (natter_transfer_get_path (a->transfer));
  folder = g_file_get_parent (final);
  basename = g_file_get_basename (final);
  partial_name = natter_file_name_partial (basename);
  partial = g_file_get_child (folder, partial_name);
  g_file_delete (partial, NULL, NULL);
}

static GFile *
partial_file (Active *a)
{
  g_autoptr(GFile) final = g_file_new_for_path (natter_transfer_get_path (a->transfer));
  g_autoptr(GFile) folder = g_file_get_parent (final);
  g_autofree char *basename = g_file_get_basename (final);
  g_autofree char *partial_name = natter_file_name_partial (basename);

  return g_file_get_child (folder, partial_name);
}

static char *
checksum_hex (GChecksum *checksum)
{
  g_autoptr(GChecksum) copy = g_checksum_copy (checksum);

  return g_strdup (g_checksum_get_string (copy));
}

/* Feeds the first @length bytes of @stream to @checksum; FALSE if they are
 * not all there */
static gboolean
hash_prefix (GInputStream *stream,
             guint64       length,
             GChecksum    *checksum,
             GError      **error)
{
  g_autofree guint8 *buffer = g_malloc (CHUNK_SIZE);

  while (length > 0)
    {
      gssize n = g_input_stream_read (stream, buffer, MIN (length, CHUNK_SIZE), NULL, error);

      if (n < 0)
        return FALSE;
      if (n == 0)
        {
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_PARTIAL_INPUT, "The file is shorter");
          return FALSE;
        }
      g_checksum_update (checksum, buffer, n);
      length -= n;
    }

  return TRUE;
}

static gboolean
has_space (GFile   *folder,
           guint64  needed)
{
  g_autoptr(GFileInfo) info = NULL;

  info = g_file_query_filesystem_info (folder, G_FILE_ATTRIBUTE_FILESYSTEM_FREE, NULL, NULL);
  if (info == NULL || !g_file_info_has_attribute (info, G_FILE_ATTRIBUTE_FILESYSTEM_FREE))
    return TRUE; /* cannot tell: a full disk is caught while writing */

  return g_file_info_get_attribute_uint64 (info, G_FILE_ATTRIBUTE_FILESYSTEM_FREE) >=
         needed + SPACE_MARGIN;
}

static void
emit_added (NatterClient   *self,
            NatterTransfer *transfer)
{
  NatterContactSession *session =
    _natter_client_get_session (self, natter_transfer_get_contact_id (transfer));

  g_signal_emit (self, _natter_client_signals[TRANSFER_ADDED], 0, transfer);
  g_signal_emit (session, _natter_contact_session_signals[SESSION_TRANSFER_ADDED], 0, transfer);
}

/* Sending */

static void
send_offer (Active *a)
{
  g_autoptr(JsonObject) envelope = envelope_new (NATTER_ENVELOPE_FILE_OFFER, a);
  GBytes *thumbnail = natter_transfer_get_thumbnail (a->transfer);

  json_object_set_string_member (envelope, "name", natter_transfer_get_name (a->transfer));
  json_object_set_int_member (envelope, "size", natter_transfer_get_size (a->transfer));
  json_object_set_string_member (envelope, "mime", natter_transfer_get_mime_type (a->transfer));
  if (thumbnail != NULL)
    {
      g_autofree char *encoded = g_base64_encode (g_bytes_get_data (thumbnail, NULL),
                                                  g_bytes_get_size (thumbnail));

      json_object_set_string_member (envelope, "thumbnail", encoded);
    }
  send_envelope (a, envelope);
}

static void
send_done (Active *a)
{
  g_autoptr(JsonObject) envelope = envelope_new (NATTER_ENVELOPE_FILE_DONE, a);
  g_autofree char *sha256 = checksum_hex (a->checksum);

  natter_transfer_set_sha256 (a->transfer, sha256);
  store (a);
  json_object_set_int_member (envelope, "size", natter_transfer_get_size (a->transfer));
  json_object_set_string_member (envelope, "sha256", sha256);
  send_envelope (a, envelope);
}

static void
fail_sending (Active     *a,
              const char *reason,
              const char *message)
{
  g_message ("A file transfer failed: %s", message);
  send_reason (a, NATTER_ENVELOPE_FILE_CANCEL, reason);
  finish (a, NATTER_TRANSFER_STATE_FAILED, message);
}

static gboolean
on_pump_idle (gpointer user_data)
{
  Active *a = user_data;

  a->pump_source = 0;
  pump (a);
  return G_SOURCE_REMOVE;
}

/* Writes chunks while the channel's own queue is empty */
static void
pump (Active *a)
{
  guint64 size = natter_transfer_get_size (a->transfer);
  g_autofree guint8 *buffer = NULL;

  if (a->channel == NULL || a->input == NULL || a->pump_source != 0 ||
      natter_channel_get_state (a->channel) != NATTER_CHANNEL_STATE_OPEN)
    return;

  buffer = g_malloc (CHUNK_SIZE);
  for (guint i = 0; a->position < size; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GBytes) chunk = NULL;
      gssize n;

      if (natter_channel_get_queued_bytes (a->channel) > 0)
        return; /* resumed by queue-drained */

      if (i == CHUNKS_PER_TURN)
        {
          a->pump_source = g_idle_add (on_pump_idle, a);
          return;
        }

      n = g_input_stream_read (a->input, buffer, MIN (CHUNK_SIZE, size - a->position), NULL,
                               &error);
      if (n <= 0)
        {
          fail_sending (a, "unreadable",
                        n == 0 ? _("The file became shorter while it was being sent")
                               : error->message);
          return;
        }

      g_checksum_update (a->checksum, buffer, n);
      chunk = g_bytes_new (buffer, n);
      if (!natter_channel_send_bytes (a->channel, chunk, &error))
        {
          /* The connection went: the next one resumes */
          g_debug ("The data channel closed: %s", error->message);
          return;
        }
      a->position += n;
      progress (a);

      /* A send can close the channel (webrtcbin refused it), and with it
       * what this loop reads from */
      if (a->channel == NULL || a->input == NULL)
        return;
    }

  /* All of it is on its way: the checksum follows on chat */
  g_clear_object (&a->input);
  send_done (a);
}

static void
on_send_channel_state (NatterChannel *channel,
                       GParamSpec    *pspec,
                       gpointer       user_data)
{
  Active *a = user_data;

  switch (natter_channel_get_state (channel))
    {
    case NATTER_CHANNEL_STATE_OPEN:
      pump (a);
      break;

    case NATTER_CHANNEL_STATE_CLOSED:
      /* Until the receiver has confirmed the checksum, the next connection
       * takes the transfer on from what it has */
      if (!natter_transfer_is_finished (a->transfer))
        {
          active_close_streams (a);
          store (a);
        }
      break;

    default:
      break;
    }
}

static void
on_send_queue_drained (NatterChannel *channel,
                       gpointer       user_data)
{
  pump (user_data);
}

static void
handle_accept (NatterClient         *self,
               NatterContactSession *session,
               JsonObject           *envelope)
{
  Active *a = lookup (self, session->contact_id, json_object_get_string_member (envelope, "id"));
  const char *prefix_sha256 = json_object_get_string_member_with_default (envelope, "sha256", NULL);
  guint64 offset = json_object_get_int_member (envelope, "offset");
  g_autoptr(GFile) file = NULL;
  g_autoptr(GFileInfo) info = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *label = NULL;
  guint64 size;

  if (a == NULL || natter_transfer_get_direction (a->transfer) != NATTER_TRANSFER_DIRECTION_OUT)
    {
      g_autoptr(JsonObject) cancel = natter_envelope_new (NATTER_ENVELOPE_FILE_CANCEL);

      json_object_set_string_member (cancel, "id", json_object_get_string_member (envelope, "id"));
      json_object_set_string_member (cancel, "reason", "unknown");
      {
        g_autofree char *text = natter_envelope_to_string (cancel, NULL);
        _natter_contact_session_send_text (session, text, NULL);
      }
      return;
    }

  /* A failure may pass (the receiver made room on its disk): it goes on if
   * the file is still here and the same. What a user ended stays ended. */
  if (natter_transfer_is_finished (a->transfer) &&
      natter_transfer_get_state (a->transfer) != NATTER_TRANSFER_STATE_FAILED)
    {
      if (natter_transfer_get_state (a->transfer) != NATTER_TRANSFER_STATE_DONE)
        send_reason (a, NATTER_ENVELOPE_FILE_CANCEL, "cancelled");
      return;
    }
  natter_transfer_set_error (a->transfer, NULL);

  /* A new start: whatever ran before stops */
  active_close_streams (a);
  size = natter_transfer_get_size (a->transfer);

  file = g_file_new_for_path (natter_transfer_get_path (a->transfer));
  a->input = G_INPUT_STREAM (g_file_read (file, NULL, &error));
  if (a->input != NULL)
    info = g_file_input_stream_query_info (G_FILE_INPUT_STREAM (a->input),
                                           G_FILE_ATTRIBUTE_STANDARD_SIZE, NULL, &error);
  if (info == NULL)
    {
      fail_sending (a, "unreadable", error->message);
      return;
    }
  if ((guint64) g_file_info_get_size (info) != size)
    {
      fail_sending (a, "unreadable", _("The file changed since it was offered"));
      return;
    }

  /* Resuming: the receiver's partial must be our file's beginning */
  a->checksum = g_checksum_new (G_CHECKSUM_SHA256);
  if (offset > size || (offset > 0 && prefix_sha256 == NULL))
    offset = 0;
  if (offset > 0)
    {
      g_autofree char *ours = NULL;

      if (!hash_prefix (a->input, offset, a->checksum, &error))
        {
          fail_sending (a, "unreadable", error->message);
          return;
        }
      ours = checksum_hex (a->checksum);
      if (g_ascii_strcasecmp (ours, prefix_sha256) != 0)
        {
          g_message ("A partial file does not match the file sent; starting again");
          g_checksum_reset (a->checksum);
          offset = 0;
          if (!g_seekable_seek (G_SEEKABLE (a->input), 0, G_SEEK_SET, NULL, &error))
            {
              fail_sending (a, "unreadable", error->message);
              return;
            }
        }
    }

  begin_at (a, offset);
  g_signal_emit (self, _natter_client_signals[TRANSFER_STARTED], 0, a->transfer, offset);

  if (offset == size)
    {
      g_clear_object (&a->input);
      send_done (a);
      return;
    }

  label = g_strdup_printf (NATTER_FILE_CHANNEL_PREFIX "%s:%" G_GUINT64_FORMAT,
                           natter_transfer_get_id (a->transfer), offset);
  a->channel = natter_peer_create_channel (session->peer, label, &error);
  if (a->channel == NULL)
    {
      g_debug ("No data channel for a transfer: %s", error->message);
      active_close_streams (a);
      return;
    }
  g_signal_connect (a->channel, "notify::state", G_CALLBACK (on_send_channel_state), a);
  g_signal_connect (a->channel, "queue-drained", G_CALLBACK (on_send_queue_drained), a);
  pump (a);
}

static void
handle_received (NatterClient         *self,
                 NatterContactSession *session,
                 JsonObject           *envelope)
{
  Active *a = lookup (self, session->contact_id, json_object_get_string_member (envelope, "id"));
  const char *sha256 = json_object_get_string_member (envelope, "sha256");

  if (a == NULL || natter_transfer_get_direction (a->transfer) != NATTER_TRANSFER_DIRECTION_OUT ||
      natter_transfer_is_finished (a->transfer))
    return;

  if (natter_transfer_get_sha256 (a->transfer) == NULL ||
      g_ascii_strcasecmp (sha256, natter_transfer_get_sha256 (a->transfer)) != 0)
    {
      fail_sending (a, "checksum", _("The file arrived damaged (its checksum does not match)"));
      return;
    }

  natter_transfer_set_bytes_done (a->transfer, natter_transfer_get_size (a->transfer));
  finish (a, NATTER_TRANSFER_STATE_DONE, NULL);
}

static void
handle_resume (NatterClient         *self,
               NatterContactSession *session,
               JsonObject           *envelope)
{
  const char *id = json_object_get_string_member (envelope, "id");
  Active *a = lookup (self, session->contact_id, id);

  /* One we still send was offered again when the channel opened */
  if (a != NULL && natter_transfer_get_direction (a->transfer) == NATTER_TRANSFER_DIRECTION_OUT &&
      !natter_transfer_is_finished (a->transfer))
    return;

  /* One that failed goes on if the receiver asks (natter_client_resume_transfer()):
   * it is offered again, and the receiver accepts from what it has */
  if (a != NULL && natter_transfer_get_direction (a->transfer) == NATTER_TRANSFER_DIRECTION_OUT &&
      natter_transfer_get_state (a->transfer) == NATTER_TRANSFER_STATE_FAILED)
    send_offer (a);
  else if (a != NULL && natter_transfer_get_direction (a->transfer) == NATTER_TRANSFER_DIRECTION_OUT)
    send_reason (a, NATTER_ENVELOPE_FILE_CANCEL,
                 natter_transfer_get_state (a->transfer) == NATTER_TRANSFER_STATE_DONE ?
                 "io-error" : "cancelled");
  else
    {
      g_autoptr(JsonObject) cancel = natter_envelope_new (NATTER_ENVELOPE_FILE_CANCEL);
      g_autofree char *text = NULL;

      json_object_set_string_member (cancel, "id", id);
      json_object_set_string_member (cancel, "reason", "unknown");
      text = natter_envelope_to_string (cancel, NULL);
      _natter_contact_session_send_text (session, text, NULL);
    }
}

/* Receiving */

static void
fail_receiving (Active     *a,
                const char *reason,
                const char *message,
                gboolean    keep_partial)
{
  g_message ("A file transfer failed: %s", message);
  send_reason (a, NATTER_ENVELOPE_FILE_CANCEL, reason);
  active_close_streams (a);
  if (!keep_partial)
    remove_partial (a);
  finish (a, NATTER_TRANSFER_STATE_FAILED, message);
}

/* Opens the partial file at its end (or empty), hashes what it holds, and
 * tells the sender where to go on from */
static void
start_receiving (Active   *a,
                 gboolean  resume)
{
  g_autoptr(GFile) partial = partial_file (a);
  g_autoptr(GFile) folder = g_file_get_parent (partial);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) envelope = NULL;
  guint64 size = natter_transfer_get_size (a->transfer);
  guint64 offset = 0;

  active_close_streams (a);
  a->checksum = g_checksum_new (G_CHECKSUM_SHA256);

  if (resume)
    {
      g_autoptr(GFileInputStream) input = g_file_read (partial, NULL, NULL);
      g_autoptr(GFileInfo) info = NULL;

      if (input != NULL)
        info = g_file_input_stream_query_info (input, G_FILE_ATTRIBUTE_STANDARD_SIZE, NULL, NULL);
      if (info != NULL && (guint64) g_file_info_get_size (info) <= size)
        {
          /* What is on the disk is checked again: whatever was written,
           * not what we remember */
          offset = g_file_info_get_size (info);
          if (!hash_prefix (G_INPUT_STREAM (input), offset, a->checksum, &error))
            {
              g_debug ("Could not read a partial file: %s", error->message);
              g_clear_error (&error);
              g_checksum_reset (a->checksum);
              offset = 0;
            }
        }
    }

  if (!has_space (folder, size - offset))
    {
      g_autofree char *text = g_format_size (size - offset);
      g_autofree char *message = g_strdup_printf (_("There is not enough free space for this "
                                                    "file (%s needed)"), text);

      if (natter_transfer_get_state (a->transfer) == NATTER_TRANSFER_STATE_WAITING)
        {
          g_autoptr(JsonObject) decline = envelope_new (NATTER_ENVELOPE_FILE_DECLINE, a);

          json_object_set_string_member (decline, "reason", "no-space");
          send_envelope (a, decline);
          active_close_streams (a);
          finish (a, NATTER_TRANSFER_STATE_FAILED, message);
        }
      else
        fail_receiving (a, "no-space", message, TRUE);
      return;
    }

  if (offset > 0)
    a->output = G_OUTPUT_STREAM (g_file_append_to (partial, G_FILE_CREATE_NONE, NULL, &error));
  else
    a->output = G_OUTPUT_STREAM (g_file_replace (partial, NULL, FALSE, G_FILE_CREATE_NONE, NULL,
                                                 &error));
  if (a->output == NULL)
    {
      fail_receiving (a, "io-error", error->message, FALSE);
      return;
    }

  begin_at (a, offset);

  envelope = envelope_new (NATTER_ENVELOPE_FILE_ACCEPT, a);
  json_object_set_int_member (envelope, "offset", offset);
  if (offset > 0)
    {
      g_autofree char *sha256 = checksum_hex (a->checksum);

      json_object_set_string_member (envelope, "sha256", sha256);
    }
  send_envelope (a, envelope);
  g_signal_emit (a->client, _natter_client_signals[TRANSFER_STARTED], 0, a->transfer, offset);
}

/* Empties the partial file, for a sender that starts from zero */
static gboolean
restart_partial (Active *a)
{
  g_autoptr(GFile) partial = partial_file (a);
  g_autoptr(GError) error = NULL;

  g_message ("The sender starts a transfer again from zero");
  g_clear_object (&a->output);
  a->output = G_OUTPUT_STREAM (g_file_replace (partial, NULL, FALSE, G_FILE_CREATE_NONE, NULL,
                                               &error));
  if (a->output == NULL)
    {
      fail_receiving (a, "io-error", error->message, FALSE);
      return FALSE;
    }

  g_checksum_reset (a->checksum);
  begin_at (a, 0);
  g_signal_emit (a->client, _natter_client_signals[TRANSFER_STARTED], 0, a->transfer,
                 (guint64) 0);
  return TRUE;
}

/* The last byte and the sender's checksum are both here: check, then
 * rename into place */
static void
maybe_complete (Active *a)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GFile) partial = NULL;
  g_autoptr(GFile) final = NULL;
  g_autoptr(GFile) folder = NULL;
  g_autoptr(JsonObject) envelope = NULL;
  g_autofree char *ours = NULL;
  g_autofree char *path = NULL;

  if (a->output == NULL || a->remote_sha256 == NULL ||
      a->position != natter_transfer_get_size (a->transfer))
    return;

  if (!g_output_stream_close (a->output, NULL, &error))
    {
      fail_receiving (a, g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE) ?
                      "disk-full" : "io-error", error->message, TRUE);
      return;
    }
  g_clear_object (&a->output);

  ours = checksum_hex (a->checksum);
  if (g_ascii_strcasecmp (ours, a->remote_sha256) != 0)
    {
      fail_receiving (a, "checksum",
                      _("The file arrived damaged (its checksum does not match)"), FALSE);
      return;
    }

  /* Never over a file that appeared in the meantime */
  partial = partial_file (a);
  final = g_file_new_for_path (natter_transfer_get_path (a->transfer));
  folder = g_file_get_parent (final);
  if (g_file_query_exists (final, NULL))
    {
      g_autofree char *name = g_file_get_basename (final);

      g_clear_object (&final);
      final = natter_file_name_unique (folder, name);
    }
  if (!g_file_move (partial, final, G_FILE_COPY_NONE, NULL, NULL, NULL, &error))
    {
      fail_receiving (a, "io-error", error->message, TRUE);
      return;
    }

  path = g_file_get_path (final);
  natter_transfer_set_path (a->transfer, path);
  natter_transfer_set_sha256 (a->transfer, ours);
  natter_transfer_set_bytes_done (a->transfer, a->position);
  finish (a, NATTER_TRANSFER_STATE_DONE, NULL);

  envelope = envelope_new (NATTER_ENVELOPE_FILE_RECEIVED, a);
  json_object_set_string_member (envelope, "sha256", ours);
  send_envelope (a, envelope);
}

static void
on_receive_bytes (NatterChannel *channel,
                  GBytes        *bytes,
                  gpointer       user_data)
{
  Active *a = user_data;
  g_autoptr(GError) error = NULL;
  gsize length;
  const guint8 *data = g_bytes_get_data (bytes, &length);
  gsize written = 0;

  if (a->output == NULL)
    return;

  if (a->position + length > natter_transfer_get_size (a->transfer))
    {
      fail_receiving (a, "io-error", _("The contact sent more than the file’s size"), FALSE);
      return;
    }

  if (!g_output_stream_write_all (a->output, data, length, &written, NULL, &error))
    {
      /* What was written stays for a resume, and is hashed again then */
      gboolean full = g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE);

      a->position += written;
      natter_transfer_set_bytes_done (a->transfer, a->position);
      fail_receiving (a, full ? "disk-full" : "io-error",
                      full ? _("The disk is full; what arrived is kept") : error->message, TRUE);
      return;
    }

  g_checksum_update (a->checksum, data, length);
  a->position += length;
  progress (a);
  maybe_complete (a);
}

static void
on_receive_channel_state (NatterChannel *channel,
                          GParamSpec    *pspec,
                          gpointer       user_data)
{
  Active *a = user_data;

  if (natter_channel_get_state (channel) != NATTER_CHANNEL_STATE_CLOSED ||
      natter_transfer_is_finished (a->transfer))
    return;

  /* The connection went: what arrived is on the disk for the next one */
  g_signal_handlers_disconnect_by_data (a->channel, a);
  g_clear_object (&a->channel);
  if (a->remote_sha256 == NULL)
    {
      if (a->output != NULL)
        g_output_stream_flush (a->output, NULL, NULL);
      natter_transfer_set_rate (a->transfer, 0);
      store (a);
    }
}

/* A data channel the contact opened: "file:ID:OFFSET" of a transfer we
 * accepted, or refused */
gboolean
_natter_client_transfer_channel (NatterClient         *self,
                                 NatterContactSession *session,
                                 NatterChannel        *channel)
{
  const char *label = natter_channel_get_label (channel);
  g_autofree char *id = NULL;
  const char *colon;
  guint64 offset;
  char *end = NULL;
  Active *a;

  if (!g_str_has_prefix (label, NATTER_FILE_CHANNEL_PREFIX))
    return FALSE;

  label += strlen (NATTER_FILE_CHANNEL_PREFIX);
  colon = strrchr (label, ':');
  if (colon == NULL || colon == label)
    return FALSE;
  id = g_strndup (label, colon - label);
  offset = g_ascii_strtoull (colon + 1, &end, 10);
  if (end == colon + 1 || *end != '\0')
    return FALSE;

  a = lookup (self, session->contact_id, id);
  if (a == NULL || natter_transfer_get_direction (a->transfer) != NATTER_TRANSFER_DIRECTION_IN ||
      natter_transfer_get_state (a->transfer) != NATTER_TRANSFER_STATE_TRANSFERRING ||
      a->output == NULL)
    return FALSE;

  if (offset != a->position)
    {
      /* The sender starts again from zero: our partial was not its file */
      if (offset != 0 || !restart_partial (a))
        return FALSE;
    }

  if (a->channel != NULL)
    {
      g_signal_handlers_disconnect_by_data (a->channel, a);
      natter_channel_close (a->channel);
      g_clear_object (&a->channel);
    }
  a->channel = g_object_ref (channel);
  g_signal_connect (channel, "binary-message", G_CALLBACK (on_receive_bytes), a);
  g_signal_connect (channel, "notify::state", G_CALLBACK (on_receive_channel_state), a);
  return TRUE;
}

static char *
safe_mime_type (const char *mime)
{
  if (mime == NULL || *mime == '\0' || strchr (mime, '/') == NULL)
    return g_strdup ("application/octet-stream");

  for (const char *p = mime; *p != '\0'; p++)
    {
      if (!g_ascii_isalnum (*p) && strchr ("/+-.", *p) == NULL)
        return g_strdup ("application/octet-stream");
    }

  return g_ascii_strdown (mime, -1);
}

static gboolean
auto_accepts (NatterClient   *self,
              NatterTransfer *transfer)
{
  return self->auto_accept_max > 0 && natter_transfer_get_size (transfer) <= self->auto_accept_max;
}

static GFile *
download_folder (NatterClient *self)
{
  const char *folder = self->download_folder;

  if (folder == NULL)
    folder = g_get_user_special_dir (G_USER_DIRECTORY_DOWNLOAD);
  if (folder == NULL)
    return g_file_new_build_filename (g_get_home_dir (), "Downloads", NULL);
  return g_file_new_for_path (folder);
}

static gboolean
accept_into (Active  *a,
             GFile   *folder,
             GError **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GFile) final = NULL;
  g_autofree char *path = NULL;

  if (!g_file_make_directory_with_parents (folder, NULL, &local_error) &&
      !g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_EXISTS))
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }

  final = natter_file_name_unique (folder, natter_transfer_get_name (a->transfer));
  path = g_file_get_path (final);
  natter_transfer_set_path (a->transfer, path);
  start_receiving (a, FALSE);
  return TRUE;
}

static void
handle_offer (NatterClient         *self,
              NatterContactSession *session,
              JsonObject           *envelope)
{
  const char *id = json_object_get_string_member (envelope, "id");
  Active *a = lookup (self, session->contact_id, id);
  g_autoptr(NatterTransfer) transfer = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *name = NULL;
  g_autofree char *mime = NULL;
  const char *thumbnail;

  if (a != NULL)
    {
      if (natter_transfer_get_direction (a->transfer) != NATTER_TRANSFER_DIRECTION_IN)
        return;

      switch (natter_transfer_get_state (a->transfer))
        {
        case NATTER_TRANSFER_STATE_WAITING:
          if (auto_accepts (self, a->transfer))
            {
              g_autoptr(GFile) folder = download_folder (self);

              if (!accept_into (a, folder, &error))
                fail_receiving (a, "io-error", error->message, FALSE);
            }
          break;

        case NATTER_TRANSFER_STATE_TRANSFERRING:
          start_receiving (a, TRUE);
          break;

        case NATTER_TRANSFER_STATE_DONE:
          {
            g_autoptr(JsonObject) received = envelope_new (NATTER_ENVELOPE_FILE_RECEIVED, a);

            json_object_set_string_member (received, "sha256",
                                           natter_transfer_get_sha256 (a->transfer));
            send_envelope (a, received);
          }
          break;

        case NATTER_TRANSFER_STATE_DECLINED:
          send_reason (a, NATTER_ENVELOPE_FILE_DECLINE, "declined");
          break;

        case NATTER_TRANSFER_STATE_CANCELLED:
          send_reason (a, NATTER_ENVELOPE_FILE_CANCEL, "cancelled");
          break;

        case NATTER_TRANSFER_STATE_FAILED:
        default:
          send_reason (a, NATTER_ENVELOPE_FILE_CANCEL, "io-error");
          break;
        }
      return;
    }

  name = natter_file_name_sanitize (json_object_get_string_member (envelope, "name"));
  mime = safe_mime_type (json_object_get_string_member_with_default (envelope, "mime", NULL));
  transfer = natter_transfer_new (id, session->contact_id, NATTER_TRANSFER_DIRECTION_IN, name,
                                  json_object_get_int_member (envelope, "size"), mime,
                                  g_get_real_time ());

  thumbnail = json_object_get_string_member_with_default (envelope, "thumbnail", NULL);
  if (thumbnail != NULL)
    {
      gsize length;
      guchar *data = g_base64_decode (thumbnail, &length);
      g_autoptr(GBytes) bytes = g_bytes_new_take (data, length);
      guint width, height;

      /* Only a picture whose header makes sense, and it is never decoded here */
      if (length <= NATTER_FILE_THUMBNAIL_MAX &&
          natter_image_read_header (bytes, &width, &height) != NATTER_IMAGE_UNKNOWN &&
          width > 0 && height > 0 && width <= 512 && height <= 512)
        natter_transfer_set_thumbnail (transfer, bytes);
    }

  if (!natter_store_add_transfer (self->store, transfer, &error))
    {
      g_message ("Could not store a file offer: %s", error->message);
      return;
    }

  a = adopt (self, transfer);
  emit_added (self, transfer);

  if (auto_accepts (self, transfer) && natter_transfer_get_state (transfer) == NATTER_TRANSFER_STATE_WAITING)
    {
      g_autoptr(GFile) folder = download_folder (self);

      if (!accept_into (a, folder, &error))
        fail_receiving (a, "io-error", error->message, FALSE);
    }
}

static void
handle_done (NatterClient         *self,
             NatterContactSession *session,
             JsonObject           *envelope)
{
  Active *a = lookup (self, session->contact_id, json_object_get_string_member (envelope, "id"));

  if (a == NULL || natter_transfer_get_direction (a->transfer) != NATTER_TRANSFER_DIRECTION_IN ||
      natter_transfer_get_state (a->transfer) != NATTER_TRANSFER_STATE_TRANSFERRING)
    return;

  if ((guint64) json_object_get_int_member (envelope, "size") != natter_transfer_get_size (a->transfer))
    {
      fail_receiving (a, "io-error", _("The contact sent a file of another size than offered"),
                      FALSE);
      return;
    }

  g_free (a->remote_sha256);
  a->remote_sha256 = g_strdup (json_object_get_string_member (envelope, "sha256"));
  maybe_complete (a);
}

/* Either direction */

static void
handle_ended (NatterClient         *self,
              NatterContactSession *session,
              JsonObject           *envelope,
              gboolean              declined)
{
  Active *a = lookup (self, session->contact_id, json_object_get_string_member (envelope, "id"));
  const char *reason = json_object_get_string_member (envelope, "reason");
  const char *text = remote_reason_text (reason);

  if (a == NULL || natter_transfer_is_finished (a->transfer))
    return;

  /* Only the receiver declines */
  if (declined && natter_transfer_get_direction (a->transfer) != NATTER_TRANSFER_DIRECTION_OUT)
    return;

  if (natter_transfer_get_direction (a->transfer) == NATTER_TRANSFER_DIRECTION_IN)
    {
      active_close_streams (a);
      remove_partial (a);
    }

  if (text != NULL)
    finish (a, NATTER_TRANSFER_STATE_FAILED, text);
  else
    finish (a, declined ? NATTER_TRANSFER_STATE_DECLINED : NATTER_TRANSFER_STATE_CANCELLED, NULL);
}

/* The chat service hands file envelopes here */
void
_natter_client_transfer_envelope (NatterClient         *self,
                                  NatterContactSession *session,
                                  NatterEnvelopeType    type,
                                  JsonObject           *envelope)
{
  switch (type)
    {
    case NATTER_ENVELOPE_FILE_OFFER:
      handle_offer (self, session, envelope);
      break;
    case NATTER_ENVELOPE_FILE_ACCEPT:
      handle_accept (self, session, envelope);
      break;
    case NATTER_ENVELOPE_FILE_DECLINE:
      handle_ended (self, session, envelope, TRUE);
      break;
    case NATTER_ENVELOPE_FILE_CANCEL:
      handle_ended (self, session, envelope, FALSE);
      break;
    case NATTER_ENVELOPE_FILE_DONE:
      handle_done (self, session, envelope);
      break;
    case NATTER_ENVELOPE_FILE_RECEIVED:
      handle_received (self, session, envelope);
      break;
    case NATTER_ENVELOPE_FILE_RESUME:
      handle_resume (self, session, envelope);
      break;
    default:
      break;
    }
}

/* The chat channel opened: what goes out is offered (again), what comes in
 * is asked about */
void
_natter_client_transfers_chat_opened (NatterClient         *self,
                                      NatterContactSession *session)
{
  g_autoptr(GPtrArray) transfers = NULL;

  transfers = natter_store_list_transfers (self->store, session->contact_id, TRUE, NULL);
  if (transfers == NULL)
    return;

  for (guint i = 0; i < transfers->len; i++)
    {
      NatterTransfer *stored = g_ptr_array_index (transfers, i);
      Active *a = lookup (self, session->contact_id, natter_transfer_get_id (stored));

      if (a == NULL || natter_transfer_is_finished (a->transfer))
        continue;

      if (natter_transfer_get_direction (a->transfer) == NATTER_TRANSFER_DIRECTION_OUT)
        {
          active_close_streams (a);
          send_offer (a);
        }
      else if (natter_transfer_get_state (a->transfer) == NATTER_TRANSFER_STATE_TRANSFERRING)
        {
          g_autoptr(JsonObject) envelope = envelope_new (NATTER_ENVELOPE_FILE_RESUME, a);

          send_envelope (a, envelope);
        }
    }
}

gboolean
_natter_client_has_pending_transfers (NatterClient *self,
                                      const char   *contact_id)
{
  g_autoptr(GPtrArray) transfers = natter_store_list_transfers (self->store, contact_id, TRUE, NULL);

  if (transfers == NULL)
    return FALSE;

  /* Ours to send, or theirs we are receiving: either side connects for it */
  for (guint i = 0; i < transfers->len; i++)
    {
      NatterTransfer *transfer = g_ptr_array_index (transfers, i);

      if (natter_transfer_get_direction (transfer) == NATTER_TRANSFER_DIRECTION_OUT ||
          natter_transfer_get_state (transfer) == NATTER_TRANSFER_STATE_TRANSFERRING)
        return TRUE;
    }

  return FALSE;
}

/* Public API */

/**
 * natter_client_send_file:
 * @contact_id: a contact's user ID
 * @file: a regular file
 * @name: (nullable): the name the contact sees, or the file's own
 * @error: a #GError
 *
 * Offers @file to the contact: now if connected, or once both are online.
 * A folder is refused (%G_IO_ERROR_IS_DIRECTORY): its files are sent one by
 * one.
 *
 * Returns: (transfer full): the transfer, stored and waiting
 */
NatterTransfer *
natter_client_send_file (NatterClient  *self,
                         const char    *contact_id,
                         GFile         *file,
                         const char    *name,
                         GError       **error)
{
  g_autoptr(NatterContact) contact = NULL;
  g_autoptr(GFileInfo) info = NULL;
  g_autoptr(NatterTransfer) transfer = NULL;
  g_autofree char *id = NULL;
  g_autofree char *path = NULL;
  g_autofree char *mime = NULL;
  const char *content_type;
  Active *a;

  g_return_val_if_fail (NATTER_IS_CLIENT (self), NULL);
  g_return_val_if_fail (contact_id != NULL, NULL);
  g_return_val_if_fail (G_IS_FILE (file), NULL);

  contact = _natter_client_lookup_contact (self, contact_id);
  if (contact == NULL)
    {
      g_set_error_literal (error, NATTER_CLIENT_ERROR, NATTER_CLIENT_ERROR_NOT_A_CONTACT,
                           _("This person is not a contact yet; send an invitation first"));
      return NULL;
    }
  if (natter_contact_get_blocked (contact))
    {
      g_set_error_literal (error, NATTER_CLIENT_ERROR, NATTER_CLIENT_ERROR_BLOCKED,
                           _("This contact is blocked; unblock them to send files"));
      return NULL;
    }

  info = g_file_query_info (file,
                            G_FILE_ATTRIBUTE_STANDARD_TYPE ","
                            G_FILE_ATTRIBUTE_STANDARD_SIZE ","
                            G_FILE_ATTRIBUTE_STANDARD_DISPLAY_NAME ","
                            G_FILE_ATTRIBUTE_STANDARD_CONTENT_TYPE ","
                            G_FILE_ATTRIBUTE_ACCESS_CAN_READ,
                            G_FILE_QUERY_INFO_NONE, NULL, error);
  if (info == NULL)
    return NULL;

  if (g_file_info_get_file_type (info) == G_FILE_TYPE_DIRECTORY)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_IS_DIRECTORY,
                           _("A folder cannot be sent; send the files in it instead"));
      return NULL;
    }
  if (g_file_info_get_file_type (info) != G_FILE_TYPE_REGULAR ||
      (g_file_info_has_attribute (info, G_FILE_ATTRIBUTE_ACCESS_CAN_READ) &&
       !g_file_info_get_attribute_boolean (info, G_FILE_ATTRIBUTE_ACCESS_CAN_READ)))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_REGULAR_FILE,
                           _("Only a readable, regular file can be sent"));
      return NULL;
    }

  path = g_file_get_path (file);
  if (path == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                           _("Only a local file can be sent"));
      return NULL;
    }

  if (name == NULL)
    name = g_file_info_get_display_name (info);
  if (*name == '\0' || strlen (name) > NATTER_FILE_OFFER_NAME_MAX ||
      !g_utf8_validate (name, -1, NULL))
    {
      g_set_error (error, NATTER_CLIENT_ERROR, NATTER_CLIENT_ERROR_INVALID_MESSAGE,
                   _("A file name is 1 to %d bytes of UTF-8"), NATTER_FILE_OFFER_NAME_MAX);
      return NULL;
    }

  content_type = g_file_info_get_content_type (info);
  mime = content_type != NULL ? g_content_type_get_mime_type (content_type) : NULL;
  id = g_uuid_string_random ();
  transfer = natter_transfer_new (id, contact_id, NATTER_TRANSFER_DIRECTION_OUT, name,
                                  g_file_info_get_size (info), mime, g_get_real_time ());
  natter_transfer_set_path (transfer, path);

  if (!natter_store_add_transfer (self->store, transfer, error))
    return NULL;

  a = adopt (self, transfer);
  emit_added (self, transfer);

  if (_natter_client_get_session (self, contact_id)->chat_open)
    send_offer (a);
  else
    _natter_client_flush_outbox (self, contact_id);

  return g_steal_pointer (&transfer);
}

static gboolean
check_unfinished (NatterTransfer  *transfer,
                  GError         **error)
{
  if (natter_transfer_is_finished (transfer))
    {
      g_set_error_literal (error, NATTER_CLIENT_ERROR, NATTER_CLIENT_ERROR_NOT_FOUND,
                           _("This transfer has ended already"));
      return FALSE;
    }
  return TRUE;
}

static Active *
active_of (NatterClient    *self,
           NatterTransfer  *transfer,
           GError         **error)
{
  Active *a = lookup (self, natter_transfer_get_contact_id (transfer),
                      natter_transfer_get_id (transfer));

  if (a == NULL)
    g_set_error_literal (error, NATTER_CLIENT_ERROR, NATTER_CLIENT_ERROR_NOT_FOUND,
                         _("There is no such transfer"));
  return a;
}

/* @transfer's live state, if it is an offer to us that waits for an answer */
static Active *
waiting_offer (NatterClient    *self,
               NatterTransfer  *transfer,
               GError         **error)
{
  Active *a = active_of (self, transfer, error);

  if (a != NULL && (natter_transfer_get_direction (a->transfer) != NATTER_TRANSFER_DIRECTION_IN ||
                    natter_transfer_get_state (a->transfer) != NATTER_TRANSFER_STATE_WAITING))
    {
      g_set_error_literal (error, NATTER_CLIENT_ERROR, NATTER_CLIENT_ERROR_NOT_FOUND,
                           _("Only a file offered to you that still waits can be accepted or "
                             "declined"));
      return NULL;
    }
  return a;
}

/**
 * natter_client_accept_transfer:
 * @transfer: an incoming transfer that waits
 * @folder: (nullable): where the file goes, or the download folder
 *
 * Returns: %TRUE if the transfer was accepted (it may still fail, for want
 *   of space: its state and error say so)
 */
gboolean
natter_client_accept_transfer (NatterClient    *self,
                               NatterTransfer  *transfer,
                               GFile           *folder,
                               GError         **error)
{
  g_autoptr(GFile) default_folder = NULL;
  Active *a;

  g_return_val_if_fail (NATTER_IS_CLIENT (self), FALSE);
  g_return_val_if_fail (NATTER_IS_TRANSFER (transfer), FALSE);

  if ((a = waiting_offer (self, transfer, error)) == NULL)
    return FALSE;

  if (folder == NULL)
    folder = default_folder = download_folder (self);
  return accept_into (a, folder, error);
}

gboolean
natter_client_decline_transfer (NatterClient    *self,
                                NatterTransfer  *transfer,
                                GError         **error)
{
  Active *a;

  g_return_val_if_fail (NATTER_IS_CLIENT (self), FALSE);
  g_return_val_if_fail (NATTER_IS_TRANSFER (transfer), FALSE);

  if ((a = waiting_offer (self, transfer, error)) == NULL)
    return FALSE;

  send_reason (a, NATTER_ENVELOPE_FILE_DECLINE, "declined");
  finish (a, NATTER_TRANSFER_STATE_DECLINED, NULL);
  return TRUE;
}

/**
 * natter_client_cancel_transfer:
 *
 * Stops a transfer either way; a partial download is deleted. The contact
 * is told now, or when next connected.
 */
gboolean
natter_client_cancel_transfer (NatterClient    *self,
                               NatterTransfer  *transfer,
                               GError         **error)
{
  Active *a;

  g_return_val_if_fail (NATTER_IS_CLIENT (self), FALSE);
  g_return_val_if_fail (NATTER_IS_TRANSFER (transfer), FALSE);

  if ((a = active_of (self, transfer, error)) == NULL || !check_unfinished (a->transfer, error))
    return FALSE;

  send_reason (a, NATTER_ENVELOPE_FILE_CANCEL, "cancelled");
  active_close_streams (a);
  if (natter_transfer_get_direction (a->transfer) == NATTER_TRANSFER_DIRECTION_IN)
    remove_partial (a);
  finish (a, NATTER_TRANSFER_STATE_CANCELLED, NULL);
  return TRUE;
}

/**
 * natter_client_resume_transfer:
 * @transfer: an incoming transfer that failed and kept its partial file (a
 *   full disk)
 *
 * Asks the sender to go on from what arrived, once connected.
 */
gboolean
natter_client_resume_transfer (NatterClient    *self,
                               NatterTransfer  *transfer,
                               GError         **error)
{
  g_autoptr(GFile) partial = NULL;
  Active *a;

  g_return_val_if_fail (NATTER_IS_CLIENT (self), FALSE);
  g_return_val_if_fail (NATTER_IS_TRANSFER (transfer), FALSE);

  if ((a = active_of (self, transfer, error)) == NULL)
    return FALSE;
  if (natter_transfer_get_direction (a->transfer) != NATTER_TRANSFER_DIRECTION_IN ||
      natter_transfer_get_state (a->transfer) != NATTER_TRANSFER_STATE_FAILED ||
      natter_transfer_get_path (a->transfer) == NULL ||
      !g_file_query_exists ((partial = partial_file (a)), NULL))
    {
      g_set_error_literal (error, NATTER_CLIENT_ERROR, NATTER_CLIENT_ERROR_NOT_FOUND,
                           _("Only a received file that failed part-way can be resumed"));
      return FALSE;
    }

  /* Hashed again, room checked, and the sender asked from there */
  natter_transfer_set_error (a->transfer, NULL);
  natter_transfer_set_state (a->transfer, NATTER_TRANSFER_STATE_TRANSFERRING);
  if (session_of (a)->chat_open)
    start_receiving (a, TRUE);
  else
    {
      store (a);
      _natter_client_flush_outbox (self, natter_transfer_get_contact_id (a->transfer));
    }
  return TRUE;
}

/**
 * natter_client_list_transfers:
 * @contact_id: (nullable): one contact's, or everyone's
 *
 * Returns: (transfer container) (element-type NatterTransfer): the live
 *   transfers, oldest first
 */
GPtrArray *
natter_client_list_transfers (NatterClient  *self,
                              const char    *contact_id,
                              GError       **error)
{
  g_autoptr(GPtrArray) stored = NULL;
  GPtrArray *live;

  g_return_val_if_fail (NATTER_IS_CLIENT (self), NULL);

  stored = natter_store_list_transfers (self->store, contact_id, FALSE, error);
  if (stored == NULL)
    return NULL;

  live = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < stored->len; i++)
    {
      NatterTransfer *transfer = g_ptr_array_index (stored, i);
      Active *a = lookup (self, natter_transfer_get_contact_id (transfer),
                          natter_transfer_get_id (transfer));

      if (a != NULL)
        g_ptr_array_add (live, g_object_ref (a->transfer));
    }

  return live;
}

/**
 * natter_client_set_download_folder:
 * @folder: (nullable): where accepted files go; %NULL for the user's
 *   Downloads folder
 */
void
natter_client_set_download_folder (NatterClient *self,
                                   const char   *folder)
{
  g_return_if_fail (NATTER_IS_CLIENT (self));

  g_free (self->download_folder);
  self->download_folder = g_strdup (folder);
}

/**
 * natter_client_set_auto_accept_size:
 * @max_size: files from contacts up to this size are accepted into the
 *   download folder without asking; 0 for never
 */
void
natter_client_set_auto_accept_size (NatterClient *self,
                                    guint64       max_size)
{
  g_return_if_fail (NATTER_IS_CLIENT (self));

  self->auto_accept_max = max_size;
}

guint64
natter_client_get_auto_accept_size (NatterClient *self)
{
  g_return_val_if_fail (NATTER_IS_CLIENT (self), 0);

  return self->auto_accept_max;
}
