/* natter-call.h: one audio or video call with a contact
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib-object.h>
#include <json-glib/json-glib.h>

#include "natter-media-device.h"

G_BEGIN_DECLS

/* The history stores directions and outcomes as these numbers: they never
 * change (natter-store-migrations.c checks), new values take new numbers. */
typedef enum
{
  NATTER_CALL_DIRECTION_IN  = 0,
  NATTER_CALL_DIRECTION_OUT = 1,
} NatterCallDirection;

typedef enum
{
  NATTER_CALL_OUTCOME_NONE      = 0, /* not over yet */
  NATTER_CALL_OUTCOME_ANSWERED  = 1,
  NATTER_CALL_OUTCOME_MISSED    = 2, /* nobody answered, or the caller gave up first */
  NATTER_CALL_OUTCOME_DECLINED  = 3,
  NATTER_CALL_OUTCOME_BUSY      = 4,
  NATTER_CALL_OUTCOME_FAILED    = 5, /* answered, and the media never connected */
} NatterCallOutcome;

/* dialling (the invitation goes out) -> ringing (the callee's computer
 * rings) -> connecting (answered; the media connection is set up) ->
 * active -> ended. An incoming call starts ringing. */
typedef enum
{
  NATTER_CALL_STATE_DIALING,
  NATTER_CALL_STATE_RINGING,
  NATTER_CALL_STATE_CONNECTING,
  NATTER_CALL_STATE_ACTIVE,
  NATTER_CALL_STATE_ENDED,
} NatterCallState;

typedef enum
{
  NATTER_CALL_END_NONE,
  NATTER_CALL_END_HUNG_UP,           /* we hung up */
  NATTER_CALL_END_REMOTE_HUNG_UP,    /* they did */
  NATTER_CALL_END_DECLINED,          /* the callee declined (either side's view) */
  NATTER_CALL_END_BUSY,              /* the callee was in another call */
  NATTER_CALL_END_NO_ANSWER,         /* rang out */
  NATTER_CALL_END_CANCELLED,         /* the caller gave up before an answer */
  NATTER_CALL_END_UNREACHABLE,       /* the contact is not online, or never answered at all */
  NATTER_CALL_END_CONNECTION_FAILED, /* answered, and the media never connected */
  NATTER_CALL_END_PEER_GONE,         /* the other side vanished mid-call */
  NATTER_CALL_END_MEDIA_FAILED,      /* no camera, microphone or codec here */
} NatterCallEndReason;

#define NATTER_TYPE_CALL_DIRECTION (natter_call_direction_get_type ())
GType natter_call_direction_get_type (void);
#define NATTER_TYPE_CALL_OUTCOME (natter_call_outcome_get_type ())
GType natter_call_outcome_get_type (void);
#define NATTER_TYPE_CALL_STATE (natter_call_state_get_type ())
GType natter_call_state_get_type (void);
#define NATTER_TYPE_CALL_END_REASON (natter_call_end_reason_get_type ())
GType natter_call_end_reason_get_type (void);

#define NATTER_TYPE_CALL (natter_call_get_type ())

G_DECLARE_FINAL_TYPE (NatterCall, natter_call, NATTER, CALL, GObject)

const char         *natter_call_get_id                (NatterCall *self);
const char         *natter_call_get_contact_id        (NatterCall *self);
NatterCallDirection natter_call_get_direction         (NatterCall *self);
NatterCallState     natter_call_get_state             (NatterCall *self);
NatterCallOutcome   natter_call_get_outcome           (NatterCall *self);
NatterCallEndReason natter_call_get_end_reason        (NatterCall *self);
gboolean            natter_call_get_audio_only        (NatterCall *self);
gboolean            natter_call_get_microphone_on     (NatterCall *self);
gboolean            natter_call_get_camera_on         (NatterCall *self);
gboolean            natter_call_get_remote_microphone_on (NatterCall *self);
gboolean            natter_call_get_remote_camera_on  (NatterCall *self);
gint64              natter_call_get_started_at        (NatterCall *self);
gint64              natter_call_get_answered_at       (NatterCall *self);
gint64              natter_call_get_ended_at          (NatterCall *self);
guint               natter_call_get_duration          (NatterCall *self);
const char         *natter_call_get_device            (NatterCall           *self,
                                                       NatterMediaDeviceKind kind);

guint64             natter_call_get_video_frames      (NatterCall *self);
guint64             natter_call_get_audio_buffers     (NatterCall *self);
char               *natter_call_dup_video_caps        (NatterCall *self);
char               *natter_call_dup_audio_caps        (NatterCall *self);
gint64              natter_call_get_first_video_at    (NatterCall *self);
JsonObject         *natter_call_dup_stats             (NatterCall *self);

/**
 * NatterCallFrameFunc:
 * @call: the call
 * @remote: %TRUE for the other side's video, %FALSE for the self-view
 * @width: in pixels
 * @height: in pixels
 * @stride: bytes from one row to the next
 * @pixels: RGBA, 8 bits a channel, @height rows of @stride bytes
 * @user_data: what was given with the function
 *
 * Called on the main context with each decoded frame.
 */
typedef void (*NatterCallFrameFunc) (NatterCall *call,
                                     gboolean    remote,
                                     int         width,
                                     int         height,
                                     gsize       stride,
                                     GBytes     *pixels,
                                     gpointer    user_data);

void                natter_call_set_frame_func        (NatterCall         *self,
                                                       NatterCallFrameFunc func,
                                                       gpointer            user_data,
                                                       GDestroyNotify      destroy);

const char         *natter_call_state_to_string       (NatterCallState     state);
const char         *natter_call_outcome_to_string     (NatterCallOutcome   outcome);
const char         *natter_call_end_reason_to_string  (NatterCallEndReason reason);
const char         *natter_call_end_reason_describe   (NatterCallEndReason reason);

G_END_DECLS
