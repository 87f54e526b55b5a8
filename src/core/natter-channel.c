/* natter-channel.c: one WebRTC data channel of a NatterPeer
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A NatterChannel wraps one ordered, reliable GstWebRTCDataChannel. It lives
 * on the main context of its peer: the peer's event bridge brings open,
 * close, error, messages and "buffered amount low" over from webrtcbin's
 * threads. Sends go into a queue that is written while webrtcbin buffers
 * less than NATTER_CHANNEL_BUFFERED_HIGH and resumed when the buffer drains
 * below NATTER_CHANNEL_BUFFERED_LOW, so a burst never sits in usrsctp (where
 * sctpenc would sleep on a full buffer and hold every other channel up).
 *
 * A channel the other side opened starts "held": what arrives is kept
 * (a bounded number of messages) until the peer has handed the channel to
 * its owner, which then sees it in order.
 */
#define G_LOG_DOMAIN "natter-channel"

#include "config.h"

#include <string.h>

#include "natter-channel.h"
#include "natter-channel-private.h"

enum {
  PROP_0,
  PROP_LABEL,
  PROP_STATE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  TEXT_MESSAGE,
  BINARY_MESSAGE,
  SIGNAL_ERROR,
  QUEUE_DRAINED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

typedef struct
{
  GBytes   *bytes;   /* a text message's bytes end in its NUL */
  gboolean  is_text;
} Message;

struct _NatterChannel
{
  GObject               parent_instance;

  GstWebRTCDataChannel *channel;   /* NULL once closed */
  char                 *label;
  NatterChannelState    state;
  GQueue                outgoing;  /* of Message */
  guint64               queued_bytes;
  gboolean              remote;
  gboolean              held;
  GQueue                incoming;  /* of Message, while held */
};

G_DEFINE_FINAL_TYPE (NatterChannel, natter_channel, G_TYPE_OBJECT)

G_DEFINE_ENUM_TYPE (NatterChannelState, natter_channel_state,
                    G_DEFINE_ENUM_VALUE (NATTER_CHANNEL_STATE_CONNECTING, "connecting"),
                    G_DEFINE_ENUM_VALUE (NATTER_CHANNEL_STATE_OPEN, "open"),
                    G_DEFINE_ENUM_VALUE (NATTER_CHANNEL_STATE_CLOSING, "closing"),
                    G_DEFINE_ENUM_VALUE (NATTER_CHANNEL_STATE_CLOSED, "closed"))

static Message *
message_new (const char *text,
             GBytes     *bytes)
{
  Message *message = g_new0 (Message, 1);

  message->is_text = text != NULL;
  message->bytes = text != NULL ? g_bytes_new (text, strlen (text) + 1) : g_bytes_ref (bytes);

  return message;
}

static gsize
message_size (Message *message)
{
  return g_bytes_get_size (message->bytes) - (message->is_text ? 1 : 0);
}

static void
message_free (Message *message)
{
  g_bytes_unref (message->bytes);
  g_free (message);
}

static void
channel_set_state (NatterChannel      *self,
                   NatterChannelState  state)
{
  if (self->state == state)
    return;

  self->state = state;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
}

static void
channel_emit (NatterChannel *self,
              Message       *message)
{
  if (message->is_text)
    g_signal_emit (self, signals[TEXT_MESSAGE], 0, g_bytes_get_data (message->bytes, NULL));
  else
    g_signal_emit (self, signals[BINARY_MESSAGE], 0, message->bytes);
}

static void
channel_flush (NatterChannel *self)
{
  g_object_ref (self);

  while (self->state == NATTER_CHANNEL_STATE_OPEN && !g_queue_is_empty (&self->outgoing))
    {
      g_autoptr(GError) error = NULL;
      Message *message;
      guint64 buffered = 0;
      gboolean sent;

      g_object_get (self->channel, "buffered-amount", &buffered, NULL);
      if (buffered > NATTER_CHANNEL_BUFFERED_HIGH)
        break; /* resumed by on-buffered-amount-low */

      message = g_queue_pop_head (&self->outgoing);
      self->queued_bytes -= message_size (message);
      if (message->is_text)
        sent = gst_webrtc_data_channel_send_string_full (self->channel,
                                                         g_bytes_get_data (message->bytes, NULL),
                                                         &error);
      else
        sent = gst_webrtc_data_channel_send_data_full (self->channel, message->bytes, &error);
      message_free (message);

      if (!sent)
        {
          _natter_channel_failed (self, error != NULL ? error->message : "sending failed");
          break;
        }
    }

  g_object_unref (self);
}

static gboolean
channel_queue (NatterChannel  *self,
               const char     *text,
               GBytes         *bytes,
               GError        **error)
{
  Message *message;

  if (self->state != NATTER_CHANNEL_STATE_CONNECTING && self->state != NATTER_CHANNEL_STATE_OPEN)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED,
                           "The data channel is closed");
      return FALSE;
    }

  message = message_new (text, bytes);
  self->queued_bytes += message_size (message);
  g_queue_push_tail (&self->outgoing, message);
  channel_flush (self);

  return TRUE;
}

static void
natter_channel_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  NatterChannel *self = NATTER_CHANNEL (object);

  switch (prop_id)
    {
    case PROP_LABEL:
      g_value_set_string (value, self->label);
      break;

    case PROP_STATE:
      g_value_set_enum (value, self->state);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
natter_channel_dispose (GObject *object)
{
  NatterChannel *self = NATTER_CHANNEL (object);

  g_clear_object (&self->channel);

  G_OBJECT_CLASS (natter_channel_parent_class)->dispose (object);
}

static void
natter_channel_finalize (GObject *object)
{
  NatterChannel *self = NATTER_CHANNEL (object);

  g_free (self->label);
  g_queue_clear_full (&self->outgoing, (GDestroyNotify) message_free);
  g_queue_clear_full (&self->incoming, (GDestroyNotify) message_free);

  G_OBJECT_CLASS (natter_channel_parent_class)->finalize (object);
}

static void
natter_channel_class_init (NatterChannelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = natter_channel_get_property;
  object_class->dispose = natter_channel_dispose;
  object_class->finalize = natter_channel_finalize;

  /* Chosen by whichever side opened the channel: text from a peer, never
   * markup or a path */
  properties[PROP_LABEL] =
    g_param_spec_string ("label", NULL, NULL,
                         NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  properties[PROP_STATE] =
    g_param_spec_enum ("state", NULL, NULL,
                       NATTER_TYPE_CHANNEL_STATE, NATTER_CHANNEL_STATE_CONNECTING,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * NatterChannel::text-message:
   * @text: valid UTF-8 without NUL bytes (the peer drops others)
   */
  signals[TEXT_MESSAGE] =
    g_signal_new ("text-message",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_STRING | G_SIGNAL_TYPE_STATIC_SCOPE);

  signals[BINARY_MESSAGE] =
    g_signal_new ("binary-message",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_BYTES);

  /**
   * NatterChannel::error:
   * @error: what went wrong, in English, for the logs
   *
   * The channel failed (webrtcbin said so, or a send did not go through);
   * it is closed right after.
   */
  signals[SIGNAL_ERROR] =
    g_signal_new ("error",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_ERROR);

  /**
   * NatterChannel::queue-drained:
   *
   * What waited in the channel's own queue has all gone to webrtcbin: a
   * sender of bulk data that stopped at natter_channel_get_queued_bytes()
   * above 0 goes on.
   */
  signals[QUEUE_DRAINED] =
    g_signal_new ("queue-drained",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 0);
}

static void
natter_channel_init (NatterChannel *self)
{
  g_queue_init (&self->outgoing);
  g_queue_init (&self->incoming);
}

/* Private API, for NatterPeer */

NatterChannel *
_natter_channel_new (GstWebRTCDataChannel *channel,
                     gboolean              remote)
{
  NatterChannel *self = g_object_new (NATTER_TYPE_CHANNEL, NULL);
  GstWebRTCDataChannelState ready_state;

  self->channel = g_object_ref (channel);
  self->remote = remote;
  self->held = remote;
  g_object_get (channel, "label", &self->label, "ready-state", &ready_state, NULL);
  if (self->label == NULL)
    self->label = g_strdup ("");
  g_object_set (channel, "buffered-amount-low-threshold",
                (guint64) NATTER_CHANNEL_BUFFERED_LOW, NULL);

  if (ready_state == GST_WEBRTC_DATA_CHANNEL_STATE_OPEN)
    self->state = NATTER_CHANNEL_STATE_OPEN;

  return self;
}

GstWebRTCDataChannel *
_natter_channel_get_data_channel (NatterChannel *self)
{
  g_assert (NATTER_IS_CHANNEL (self));

  return self->channel;
}

gboolean
_natter_channel_is_remote (NatterChannel *self)
{
  g_assert (NATTER_IS_CHANNEL (self));

  return self->remote;
}

gboolean
_natter_channel_is_held (NatterChannel *self)
{
  g_assert (NATTER_IS_CHANNEL (self));

  return self->held;
}

/* What natter_channel_send_text() refuses before it looks at the channel */
gboolean
_natter_channel_check_text (const char  *text,
                            GError     **error)
{
  gsize length = strlen (text);

  if (length > NATTER_CHANNEL_MAX_MESSAGE_SIZE)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE,
                   "The message is %" G_GSIZE_FORMAT " bytes long; at most %d bytes can be sent",
                   length, NATTER_CHANNEL_MAX_MESSAGE_SIZE);
      return FALSE;
    }

  if (!g_utf8_validate (text, length, NULL))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           "The message is not valid UTF-8");
      return FALSE;
    }

  return TRUE;
}

void
_natter_channel_opened (NatterChannel *self)
{
  g_assert (NATTER_IS_CHANNEL (self));

  if (self->state != NATTER_CHANNEL_STATE_CONNECTING)
    return;

  g_object_ref (self);
  channel_set_state (self, NATTER_CHANNEL_STATE_OPEN);
  channel_flush (self);
  g_object_unref (self);
}

/* The channel is gone for good: what was not sent never will be */
void
_natter_channel_closed (NatterChannel *self)
{
  g_assert (NATTER_IS_CHANNEL (self));

  if (self->state == NATTER_CHANNEL_STATE_CLOSED)
    return;

  g_clear_object (&self->channel);
  g_queue_clear_full (&self->outgoing, (GDestroyNotify) message_free);
  g_queue_clear_full (&self->incoming, (GDestroyNotify) message_free);
  self->queued_bytes = 0;
  channel_set_state (self, NATTER_CHANNEL_STATE_CLOSED);
}

void
_natter_channel_failed (NatterChannel *self,
                        const char    *message)
{
  g_autoptr(GError) error = NULL;

  g_assert (NATTER_IS_CHANNEL (self));

  if (self->state == NATTER_CHANNEL_STATE_CLOSED)
    return;

  g_object_ref (self);
  g_debug ("Data channel failed: %s", message);
  error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_FAILED, message);
  g_signal_emit (self, signals[SIGNAL_ERROR], 0, error);
  if (self->channel != NULL)
    gst_webrtc_data_channel_close (self->channel);
  _natter_channel_closed (self);
  g_object_unref (self);
}

/* Returns FALSE when a held channel has kept all it may */
gboolean
_natter_channel_receive (NatterChannel *self,
                         const char    *text,
                         GBytes        *bytes)
{
  g_assert (NATTER_IS_CHANNEL (self));
  g_assert ((text == NULL) != (bytes == NULL));

  if (self->state == NATTER_CHANNEL_STATE_CLOSED)
    return TRUE;

  if (self->held)
    {
      if (self->incoming.length >= NATTER_CHANNEL_HELD_MAX)
        return FALSE;
      g_queue_push_tail (&self->incoming, message_new (text, bytes));
      return TRUE;
    }

  if (text != NULL)
    g_signal_emit (self, signals[TEXT_MESSAGE], 0, text);
  else
    g_signal_emit (self, signals[BINARY_MESSAGE], 0, bytes);

  return TRUE;
}

/* The owner has the channel: it sees what was kept for it */
void
_natter_channel_release (NatterChannel *self)
{
  g_assert (NATTER_IS_CHANNEL (self));

  g_object_ref (self);
  self->held = FALSE;
  while (self->state != NATTER_CHANNEL_STATE_CLOSED && !g_queue_is_empty (&self->incoming))
    {
      Message *message = g_queue_pop_head (&self->incoming);

      channel_emit (self, message);
      message_free (message);
    }
  g_object_unref (self);
}

void
_natter_channel_buffered_low (NatterChannel *self)
{
  gboolean had_queue;

  g_assert (NATTER_IS_CHANNEL (self));

  g_object_ref (self);
  had_queue = !g_queue_is_empty (&self->outgoing);
  channel_flush (self);
  if (had_queue && g_queue_is_empty (&self->outgoing) && self->state == NATTER_CHANNEL_STATE_OPEN)
    g_signal_emit (self, signals[QUEUE_DRAINED], 0);
  g_object_unref (self);
}

/* Public API */

const char *
natter_channel_get_label (NatterChannel *self)
{
  g_return_val_if_fail (NATTER_IS_CHANNEL (self), NULL);

  return self->label;
}

NatterChannelState
natter_channel_get_state (NatterChannel *self)
{
  g_return_val_if_fail (NATTER_IS_CHANNEL (self), NATTER_CHANNEL_STATE_CLOSED);

  return self->state;
}

/**
 * natter_channel_get_queued_bytes:
 *
 * Returns: how many bytes of messages wait in the channel's own queue, not
 *   yet handed to webrtcbin (a sender of bulk data keeps this small)
 */
guint64
natter_channel_get_queued_bytes (NatterChannel *self)
{
  g_return_val_if_fail (NATTER_IS_CHANNEL (self), 0);

  return self->queued_bytes;
}

/**
 * natter_channel_is_drained:
 *
 * Returns: %TRUE when every message queued so far has left both the
 *   channel's own queue and webrtcbin's (`buffered-amount` is 0)
 */
gboolean
natter_channel_is_drained (NatterChannel *self)
{
  guint64 buffered = 0;

  g_return_val_if_fail (NATTER_IS_CHANNEL (self), TRUE);

  if (!g_queue_is_empty (&self->outgoing))
    return FALSE;
  if (self->channel != NULL)
    g_object_get (self->channel, "buffered-amount", &buffered, NULL);
  return buffered == 0;
}

/**
 * natter_channel_send_text:
 * @text: UTF-8, at most %NATTER_CHANNEL_MAX_MESSAGE_SIZE bytes
 *
 * Queues @text. Messages go out in order once the channel is open. Fails
 * with %G_IO_ERROR_NOT_CONNECTED once the channel is closing or closed, with
 * %G_IO_ERROR_MESSAGE_TOO_LARGE when @text is too long and with
 * %G_IO_ERROR_INVALID_DATA when it is not UTF-8.
 */
gboolean
natter_channel_send_text (NatterChannel  *self,
                          const char     *text,
                          GError        **error)
{
  g_return_val_if_fail (NATTER_IS_CHANNEL (self), FALSE);
  g_return_val_if_fail (text != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!_natter_channel_check_text (text, error))
    return FALSE;

  return channel_queue (self, text, NULL, error);
}

/**
 * natter_channel_send_bytes:
 * @bytes: 1 to %NATTER_CHANNEL_MAX_MESSAGE_SIZE bytes
 *
 * Queues a binary message; fails as natter_channel_send_text() does, and
 * with %G_IO_ERROR_INVALID_ARGUMENT for an empty one.
 */
gboolean
natter_channel_send_bytes (NatterChannel  *self,
                           GBytes         *bytes,
                           GError        **error)
{
  g_return_val_if_fail (NATTER_IS_CHANNEL (self), FALSE);
  g_return_val_if_fail (bytes != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (g_bytes_get_size (bytes) == 0)
    {
      /* webrtcbin 1.22 cannot send an empty binary message */
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                           "An empty binary message cannot be sent");
      return FALSE;
    }

  if (g_bytes_get_size (bytes) > NATTER_CHANNEL_MAX_MESSAGE_SIZE)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE,
                   "The message is %" G_GSIZE_FORMAT " bytes long; at most %d bytes can be sent",
                   g_bytes_get_size (bytes), NATTER_CHANNEL_MAX_MESSAGE_SIZE);
      return FALSE;
    }

  return channel_queue (self, NULL, bytes, error);
}

/**
 * natter_channel_close:
 *
 * Closes the channel: it is "closing" until the other side has seen the
 * close, then "closed". Messages still queued are dropped.
 */
void
natter_channel_close (NatterChannel *self)
{
  g_return_if_fail (NATTER_IS_CHANNEL (self));

  if (self->state == NATTER_CHANNEL_STATE_CLOSING || self->state == NATTER_CHANNEL_STATE_CLOSED)
    return;

  g_queue_clear_full (&self->outgoing, (GDestroyNotify) message_free);
  self->queued_bytes = 0;
  channel_set_state (self, NATTER_CHANNEL_STATE_CLOSING);
  gst_webrtc_data_channel_close (self->channel);
}
