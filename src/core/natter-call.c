/* natter-call.c: one audio or video call with a contact
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The calls service (natter-client-calls.c) moves a call through its
 * states; everything a view shows of it is a property here, notified as it
 * changes ("duration" once a second while the call is active). A call from
 * the history (natter_store_list_calls()) is ended from the start.
 *
 * Timestamps are microseconds since the Unix epoch (g_get_real_time()).
 */
#define G_LOG_DOMAIN "natter-call"

#include "config.h"

#include <glib/gi18n-lib.h>

#include "natter-call-private.h"
#include "natter-object-private.h"

enum {
  PROP_0,
  PROP_ID,
  PROP_CONTACT_ID,
  PROP_DIRECTION,
  PROP_STATE,
  PROP_OUTCOME,
  PROP_END_REASON,
  PROP_AUDIO_ONLY,
  PROP_MICROPHONE_ON,
  PROP_CAMERA_ON,
  PROP_REMOTE_MICROPHONE_ON,
  PROP_REMOTE_CAMERA_ON,
  PROP_STARTED_AT,
  PROP_ANSWERED_AT,
  PROP_DURATION,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (NatterCall, natter_call, G_TYPE_OBJECT)

G_DEFINE_ENUM_TYPE (NatterCallDirection, natter_call_direction,
                    G_DEFINE_ENUM_VALUE (NATTER_CALL_DIRECTION_IN, "in"),
                    G_DEFINE_ENUM_VALUE (NATTER_CALL_DIRECTION_OUT, "out"))

G_DEFINE_ENUM_TYPE (NatterCallOutcome, natter_call_outcome,
                    G_DEFINE_ENUM_VALUE (NATTER_CALL_OUTCOME_NONE, "none"),
                    G_DEFINE_ENUM_VALUE (NATTER_CALL_OUTCOME_ANSWERED, "answered"),
                    G_DEFINE_ENUM_VALUE (NATTER_CALL_OUTCOME_MISSED, "missed"),
                    G_DEFINE_ENUM_VALUE (NATTER_CALL_OUTCOME_DECLINED, "declined"),
                    G_DEFINE_ENUM_VALUE (NATTER_CALL_OUTCOME_BUSY, "busy"),
                    G_DEFINE_ENUM_VALUE (NATTER_CALL_OUTCOME_FAILED, "failed"))

G_DEFINE_ENUM_TYPE (NatterCallState, natter_call_state,
                    G_DEFINE_ENUM_VALUE (NATTER_CALL_STATE_DIALING, "dialing"),
                    G_DEFINE_ENUM_VALUE (NATTER_CALL_STATE_RINGING, "ringing"),
                    G_DEFINE_ENUM_VALUE (NATTER_CALL_STATE_CONNECTING, "connecting"),
                    G_DEFINE_ENUM_VALUE (NATTER_CALL_STATE_ACTIVE, "active"),
                    G_DEFINE_ENUM_VALUE (NATTER_CALL_STATE_ENDED, "ended"))

G_DEFINE_ENUM_TYPE (NatterCallEndReason, natter_call_end_reason,
                    G_DEFINE_ENUM_VALUE (NATTER_CALL_END_NONE, "none"),
                    G_DEFINE_ENUM_VALUE (NATTER_CALL_END_HUNG_UP, "hung-up"),
                    G_DEFINE_ENUM_VALUE (NATTER_CALL_END_REMOTE_HUNG_UP, "remote-hung-up"),
                    G_DEFINE_ENUM_VALUE (NATTER_CALL_END_DECLINED, "declined"),
                    G_DEFINE_ENUM_VALUE (NATTER_CALL_END_BUSY, "busy"),
                    G_DEFINE_ENUM_VALUE (NATTER_CALL_END_NO_ANSWER, "no-answer"),
                    G_DEFINE_ENUM_VALUE (NATTER_CALL_END_CANCELLED, "cancelled"),
                    G_DEFINE_ENUM_VALUE (NATTER_CALL_END_UNREACHABLE, "unreachable"),
                    G_DEFINE_ENUM_VALUE (NATTER_CALL_END_CONNECTION_FAILED, "connection-failed"),
                    G_DEFINE_ENUM_VALUE (NATTER_CALL_END_PEER_GONE, "peer-gone"),
                    G_DEFINE_ENUM_VALUE (NATTER_CALL_END_MEDIA_FAILED, "media-failed"))

static const char *
enum_nick (GType type,
           int   value)
{
  g_autoptr(GEnumClass) klass = g_type_class_ref (type);
  GEnumValue *found = g_enum_get_value (klass, value);

  return found != NULL ? found->value_nick : "unknown";
}

const char *
natter_call_state_to_string (NatterCallState state)
{
  return enum_nick (NATTER_TYPE_CALL_STATE, state);
}

const char *
natter_call_outcome_to_string (NatterCallOutcome outcome)
{
  return enum_nick (NATTER_TYPE_CALL_OUTCOME, outcome);
}

const char *
natter_call_end_reason_to_string (NatterCallEndReason reason)
{
  return enum_nick (NATTER_TYPE_CALL_END_REASON, reason);
}

/**
 * natter_call_end_reason_describe:
 *
 * Returns: why the call ended, translated, for the user
 */
const char *
natter_call_end_reason_describe (NatterCallEndReason reason)
{
  switch (reason)
    {
    case NATTER_CALL_END_HUNG_UP:
      return _("You hung up");
    case NATTER_CALL_END_REMOTE_HUNG_UP:
      return _("The contact hung up");
    case NATTER_CALL_END_DECLINED:
      return _("The call was declined");
    case NATTER_CALL_END_BUSY:
      return _("The contact is in another call");
    case NATTER_CALL_END_NO_ANSWER:
      return _("No answer");
    case NATTER_CALL_END_CANCELLED:
      return _("The caller hung up before the call was answered");
    case NATTER_CALL_END_UNREACHABLE:
      return _("The contact cannot be reached");
    case NATTER_CALL_END_CONNECTION_FAILED:
      return _("The call could not be connected");
    case NATTER_CALL_END_PEER_GONE:
      return _("The connection to the contact was lost");
    case NATTER_CALL_END_MEDIA_FAILED:
      return _("No camera, microphone or codec could be used for the call");
    case NATTER_CALL_END_NONE:
    default:
      return "";
    }
}

static gboolean
on_tick (gpointer user_data)
{
  NatterCall *self = user_data;

  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DURATION]);
  return G_SOURCE_CONTINUE;
}

static void
natter_call_get_property (GObject    *object,
                          guint       prop_id,
                          GValue     *value,
                          GParamSpec *pspec)
{
  NatterCall *self = NATTER_CALL (object);

  switch (prop_id)
    {
    case PROP_ID:
      g_value_set_string (value, self->id);
      break;
    case PROP_CONTACT_ID:
      g_value_set_string (value, self->contact_id);
      break;
    case PROP_DIRECTION:
      g_value_set_enum (value, self->direction);
      break;
    case PROP_STATE:
      g_value_set_enum (value, self->state);
      break;
    case PROP_OUTCOME:
      g_value_set_enum (value, self->outcome);
      break;
    case PROP_END_REASON:
      g_value_set_enum (value, self->end_reason);
      break;
    case PROP_AUDIO_ONLY:
      g_value_set_boolean (value, self->audio_only);
      break;
    case PROP_MICROPHONE_ON:
      g_value_set_boolean (value, self->microphone_on);
      break;
    case PROP_CAMERA_ON:
      g_value_set_boolean (value, self->camera_on);
      break;
    case PROP_REMOTE_MICROPHONE_ON:
      g_value_set_boolean (value, self->remote_microphone_on);
      break;
    case PROP_REMOTE_CAMERA_ON:
      g_value_set_boolean (value, self->remote_camera_on);
      break;
    case PROP_STARTED_AT:
      g_value_set_int64 (value, self->started_at);
      break;
    case PROP_ANSWERED_AT:
      g_value_set_int64 (value, self->answered_at);
      break;
    case PROP_DURATION:
      g_value_set_uint (value, natter_call_get_duration (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

enum {
  SIGNAL_DEVICE_LOST,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
natter_call_dispose (GObject *object)
{
  NatterCall *self = NATTER_CALL (object);

  g_clear_handle_id (&self->ring_source, g_source_remove);
  g_clear_handle_id (&self->tick_source, g_source_remove);
  g_clear_handle_id (&self->unreachable_source, g_source_remove);
  _natter_call_media_stop (self);
  if (self->peer != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->peer, self);
      natter_peer_close (self->peer);
      g_clear_object (&self->peer);
    }
  if (self->frame_destroy != NULL)
    self->frame_destroy (self->frame_data);
  self->frame_destroy = NULL;
  self->frame_func = NULL;

  G_OBJECT_CLASS (natter_call_parent_class)->dispose (object);
}

static void
natter_call_finalize (GObject *object)
{
  NatterCall *self = NATTER_CALL (object);

  g_clear_pointer (&self->counters, _natter_call_counters_unref);
  g_clear_pointer (&self->stats, json_object_unref);
  g_free (self->id);
  g_free (self->contact_id);
  for (guint i = 0; i < G_N_ELEMENTS (self->wanted_devices); i++)
    {
      g_free (self->wanted_devices[i]);
      g_free (self->used_devices[i]);
    }

  G_OBJECT_CLASS (natter_call_parent_class)->finalize (object);
}

static void
natter_call_class_init (NatterCallClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags flags = G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->get_property = natter_call_get_property;
  object_class->dispose = natter_call_dispose;
  object_class->finalize = natter_call_finalize;

  properties[PROP_ID] = g_param_spec_string ("id", NULL, NULL, NULL, flags);
  properties[PROP_CONTACT_ID] = g_param_spec_string ("contact-id", NULL, NULL, NULL, flags);
  properties[PROP_DIRECTION] =
    g_param_spec_enum ("direction", NULL, NULL, NATTER_TYPE_CALL_DIRECTION,
                       NATTER_CALL_DIRECTION_OUT, flags);
  properties[PROP_STATE] =
    g_param_spec_enum ("state", NULL, NULL, NATTER_TYPE_CALL_STATE, NATTER_CALL_STATE_DIALING,
                       flags);
  properties[PROP_OUTCOME] =
    g_param_spec_enum ("outcome", NULL, NULL, NATTER_TYPE_CALL_OUTCOME, NATTER_CALL_OUTCOME_NONE,
                       flags);
  properties[PROP_END_REASON] =
    g_param_spec_enum ("end-reason", NULL, NULL, NATTER_TYPE_CALL_END_REASON,
                       NATTER_CALL_END_NONE, flags);
  properties[PROP_AUDIO_ONLY] = g_param_spec_boolean ("audio-only", NULL, NULL, FALSE, flags);
  properties[PROP_MICROPHONE_ON] =
    g_param_spec_boolean ("microphone-on", NULL, NULL, TRUE, flags);
  properties[PROP_CAMERA_ON] = g_param_spec_boolean ("camera-on", NULL, NULL, TRUE, flags);
  properties[PROP_REMOTE_MICROPHONE_ON] =
    g_param_spec_boolean ("remote-microphone-on", NULL, NULL, TRUE, flags);
  properties[PROP_REMOTE_CAMERA_ON] =
    g_param_spec_boolean ("remote-camera-on", NULL, NULL, TRUE, flags);
  properties[PROP_STARTED_AT] =
    g_param_spec_int64 ("started-at", NULL, NULL, 0, G_MAXINT64, 0, flags);
  properties[PROP_ANSWERED_AT] =
    g_param_spec_int64 ("answered-at", NULL, NULL, 0, G_MAXINT64, 0, flags);
  properties[PROP_DURATION] = g_param_spec_uint ("duration", NULL, NULL, 0, G_MAXUINT, 0, flags);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * NatterCall::device-lost:
   * @device: the camera or microphone the call used, which went away
   *
   * Mid-call: the camera (video is off now) or the microphone (muted) was
   * unplugged.
   */
  signals[SIGNAL_DEVICE_LOST] =
    g_signal_new ("device-lost", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 1, NATTER_TYPE_MEDIA_DEVICE);
}

static void
natter_call_init (NatterCall *self)
{
  self->microphone_on = TRUE;
  self->camera_on = TRUE;
  self->remote_microphone_on = TRUE;
  self->remote_camera_on = TRUE;
}

NatterCall *
_natter_call_new (const char          *id,
                  const char          *contact_id,
                  NatterCallDirection  direction,
                  gboolean             audio_only)
{
  NatterCall *self = g_object_new (NATTER_TYPE_CALL, NULL);

  self->id = g_strdup (id);
  self->contact_id = g_strdup (contact_id);
  self->direction = direction;
  self->audio_only = !!audio_only;
  self->camera_on = !audio_only;
  self->remote_camera_on = !audio_only;
  self->state = direction == NATTER_CALL_DIRECTION_OUT ? NATTER_CALL_STATE_DIALING
                                                       : NATTER_CALL_STATE_RINGING;
  self->started_at = g_get_real_time ();
  self->dialled = g_get_monotonic_time ();

  return self;
}

NatterCall *
_natter_call_new_from_record (const char          *id,
                              const char          *contact_id,
                              NatterCallDirection  direction,
                              gboolean             audio_only,
                              NatterCallOutcome    outcome,
                              gint64               started_at,
                              gint64               answered_at,
                              gint64               ended_at)
{
  NatterCall *self = _natter_call_new (id, contact_id, direction, audio_only);

  self->state = NATTER_CALL_STATE_ENDED;
  self->outcome = outcome;
  self->started_at = started_at;
  self->answered_at = answered_at;
  self->ended_at = ended_at;
  self->stored = TRUE;

  return self;
}

/* Both sides calling at once: the call takes the ID the two agreed on */
void
_natter_call_set_id (NatterCall *self,
                     const char *id)
{
  if (g_strcmp0 (self->id, id) == 0)
    return;

  g_free (self->id);
  self->id = g_strdup (id);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ID]);
}

void
_natter_call_set_state (NatterCall      *self,
                        NatterCallState  state)
{
  if (self->state == state || self->state == NATTER_CALL_STATE_ENDED)
    return;

  self->state = state;
  if (state == NATTER_CALL_STATE_ACTIVE)
    {
      self->answered_at = g_get_real_time ();
      self->tick_source = g_timeout_add_seconds (1, on_tick, self);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ANSWERED_AT]);
    }
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
}

static NatterCallOutcome
outcome_of (NatterCall          *self,
            NatterCallEndReason  reason)
{
  if (self->answered_at != 0)
    return NATTER_CALL_OUTCOME_ANSWERED;

  switch (reason)
    {
    case NATTER_CALL_END_DECLINED:
      return NATTER_CALL_OUTCOME_DECLINED;
    case NATTER_CALL_END_BUSY:
      return NATTER_CALL_OUTCOME_BUSY;
    case NATTER_CALL_END_CONNECTION_FAILED:
    case NATTER_CALL_END_MEDIA_FAILED:
      return self->state == NATTER_CALL_STATE_CONNECTING ? NATTER_CALL_OUTCOME_FAILED
                                                         : NATTER_CALL_OUTCOME_MISSED;
    default:
      return NATTER_CALL_OUTCOME_MISSED;
    }
}

void
_natter_call_end (NatterCall          *self,
                  NatterCallEndReason  reason)
{
  if (self->state == NATTER_CALL_STATE_ENDED)
    return;

  g_clear_handle_id (&self->ring_source, g_source_remove);
  g_clear_handle_id (&self->tick_source, g_source_remove);
  g_clear_handle_id (&self->unreachable_source, g_source_remove);
  self->outcome = outcome_of (self, reason);
  self->end_reason = reason;
  self->ended_at = g_get_real_time ();

  g_object_freeze_notify (G_OBJECT (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_OUTCOME]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_END_REASON]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DURATION]);
  self->state = NATTER_CALL_STATE_ENDED;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
  g_object_thaw_notify (G_OBJECT (self));
}

void
_natter_call_set_local_media (NatterCall *self,
                              gboolean    microphone_on,
                              gboolean    camera_on)
{
  natter_object_set_boolean (G_OBJECT (self), &self->microphone_on, microphone_on,
                             properties[PROP_MICROPHONE_ON]);
  natter_object_set_boolean (G_OBJECT (self), &self->camera_on, camera_on && !self->audio_only,
                             properties[PROP_CAMERA_ON]);
}

void
_natter_call_set_remote_media (NatterCall *self,
                               gboolean    microphone_on,
                               gboolean    camera_on)
{
  natter_object_set_boolean (G_OBJECT (self), &self->remote_microphone_on, microphone_on,
                             properties[PROP_REMOTE_MICROPHONE_ON]);
  natter_object_set_boolean (G_OBJECT (self), &self->remote_camera_on,
                             camera_on && !self->audio_only, properties[PROP_REMOTE_CAMERA_ON]);
}

const char *
natter_call_get_id (NatterCall *self)
{
  g_return_val_if_fail (NATTER_IS_CALL (self), NULL);
  return self->id;
}

const char *
natter_call_get_contact_id (NatterCall *self)
{
  g_return_val_if_fail (NATTER_IS_CALL (self), NULL);
  return self->contact_id;
}

NatterCallDirection
natter_call_get_direction (NatterCall *self)
{
  g_return_val_if_fail (NATTER_IS_CALL (self), NATTER_CALL_DIRECTION_OUT);
  return self->direction;
}

NatterCallState
natter_call_get_state (NatterCall *self)
{
  g_return_val_if_fail (NATTER_IS_CALL (self), NATTER_CALL_STATE_ENDED);
  return self->state;
}

NatterCallOutcome
natter_call_get_outcome (NatterCall *self)
{
  g_return_val_if_fail (NATTER_IS_CALL (self), NATTER_CALL_OUTCOME_NONE);
  return self->outcome;
}

NatterCallEndReason
natter_call_get_end_reason (NatterCall *self)
{
  g_return_val_if_fail (NATTER_IS_CALL (self), NATTER_CALL_END_NONE);
  return self->end_reason;
}

gboolean
natter_call_get_audio_only (NatterCall *self)
{
  g_return_val_if_fail (NATTER_IS_CALL (self), FALSE);
  return self->audio_only;
}

gboolean
natter_call_get_microphone_on (NatterCall *self)
{
  g_return_val_if_fail (NATTER_IS_CALL (self), FALSE);
  return self->microphone_on;
}

gboolean
natter_call_get_camera_on (NatterCall *self)
{
  g_return_val_if_fail (NATTER_IS_CALL (self), FALSE);
  return self->camera_on;
}

gboolean
natter_call_get_remote_microphone_on (NatterCall *self)
{
  g_return_val_if_fail (NATTER_IS_CALL (self), FALSE);
  return self->remote_microphone_on;
}

gboolean
natter_call_get_remote_camera_on (NatterCall *self)
{
  g_return_val_if_fail (NATTER_IS_CALL (self), FALSE);
  return self->remote_camera_on;
}

gint64
natter_call_get_started_at (NatterCall *self)
{
  g_return_val_if_fail (NATTER_IS_CALL (self), 0);
  return self->started_at;
}

/**
 * natter_call_get_answered_at:
 *
 * Returns: when the media connected, or 0 if it never did
 */
gint64
natter_call_get_answered_at (NatterCall *self)
{
  g_return_val_if_fail (NATTER_IS_CALL (self), 0);
  return self->answered_at;
}

gint64
natter_call_get_ended_at (NatterCall *self)
{
  g_return_val_if_fail (NATTER_IS_CALL (self), 0);
  return self->ended_at;
}

/**
 * natter_call_get_duration:
 *
 * Returns: seconds since the media connected, until the call ended
 */
guint
natter_call_get_duration (NatterCall *self)
{
  gint64 end;

  g_return_val_if_fail (NATTER_IS_CALL (self), 0);

  if (self->answered_at == 0)
    return 0;
  end = self->ended_at != 0 ? self->ended_at : g_get_real_time ();
  return (guint) (MAX (end - self->answered_at, 0) / G_USEC_PER_SEC);
}

/* The devices the call's media is to use (IDs of NatterMediaDevice;
 * %NULL: the first there is) */
void
_natter_call_set_devices (NatterCall *self,
                          const char *camera,
                          const char *microphone,
                          const char *speaker)
{
  const char *ids[] = { camera, microphone, speaker };

  G_STATIC_ASSERT (NATTER_MEDIA_DEVICE_CAMERA == 0 && NATTER_MEDIA_DEVICE_MICROPHONE == 1 &&
                   NATTER_MEDIA_DEVICE_SPEAKER == 2);
  for (guint i = 0; i < G_N_ELEMENTS (ids); i++)
    {
      g_free (self->wanted_devices[i]);
      self->wanted_devices[i] = ids[i] != NULL && ids[i][0] != '\0' ? g_strdup (ids[i]) : NULL;
    }
}

void
_natter_call_device_lost (NatterCall        *self,
                          NatterMediaDevice *device)
{
  g_signal_emit (self, signals[SIGNAL_DEVICE_LOST], 0, device);
}

/**
 * natter_call_get_device:
 * @kind: camera, microphone or speaker
 *
 * Returns: (nullable): the ID of the device of @kind the call's media uses,
 *   %NULL for a test source or GStreamer's automatic choice
 */
const char *
natter_call_get_device (NatterCall           *self,
                        NatterMediaDeviceKind kind)
{
  g_return_val_if_fail (NATTER_IS_CALL (self), NULL);
  g_return_val_if_fail (kind <= NATTER_MEDIA_DEVICE_SPEAKER, NULL);

  return self->used_devices[kind];
}
