/* natter-call-private.h: NatterCall's struct, for its files and the calls service
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * natter-call.c        the entity: properties the UI binds to
 * natter-call-media.c  its sources, sinks and counters on the call's own NatterPeer,
 *                      and webrtcbin's statistics
 * natter-client-calls.c  the service: envelopes, timers, the media connection
 */
#pragma once

#include <gst/gst.h>

#include "natter-call.h"
#include "natter-media-devices.h"
#include "natter-peer.h"

G_BEGIN_DECLS

/* What a call's media comes from */
typedef enum
{
  NATTER_CALL_MEDIA_DEVICES     = 0,       /* cameras and microphones, speakers */
  NATTER_CALL_MEDIA_TEST        = 1 << 0,  /* a moving test pattern and a tone */
  NATTER_CALL_MEDIA_NO_PLAYBACK = 1 << 1,  /* decode the other side's audio, play nothing */
} NatterCallMediaFlags;

/* Counted on GStreamer's threads, read on the main context */
typedef struct
{
  gatomicrefcount ref_count;
  GMutex          lock;
  guint64         video_frames;
  guint64         audio_buffers;
  char           *video_caps;
  char           *audio_caps;
  gint64          first_video_at;   /* monotonic µs, 0 before */
  gint64          first_audio_at;
  GWeakRef        call;
  GMainContext   *context;
} NatterCallCounters;

struct _NatterCall
{
  GObject              parent_instance;

  char                *id;
  char                *contact_id;
  NatterCallDirection  direction;
  NatterCallState      state;
  NatterCallOutcome    outcome;
  NatterCallEndReason  end_reason;
  gboolean             audio_only;
  gboolean             microphone_on;
  gboolean             camera_on;
  gboolean             remote_microphone_on;
  gboolean             remote_camera_on;
  gint64               started_at;      /* real time, µs */
  gint64               answered_at;
  gint64               ended_at;
  gint64               dialled;         /* monotonic µs */

  /* The service's */
  gpointer             client;          /* unowned NatterClient; NULL once it let go */
  NatterPeer          *peer;            /* the call's own connection */
  gboolean             invite_sent;
  gboolean             stored;
  guint                ring_source;
  guint                tick_source;
  guint                unreachable_source;

  /* The media's */
  NatterCallCounters  *counters;
  GstElement          *mic_volume;      /* unowned: in the peer's pipeline */
  GstElement          *camera_valve;
  JsonObject          *stats;
  guint                stats_source;
  char                *wanted_devices[3];  /* by NatterMediaDeviceKind; NULL: the first */
  char                *used_devices[3];    /* what the media took, NULL for none or a test */
  NatterMediaDevices  *watched[3];         /* kept while the call's media runs */
  GstElement          *device_elements[3]; /* unowned: in their bins */
  NatterCallFrameFunc  frame_func;
  gpointer             frame_data;
  GDestroyNotify       frame_destroy;
};

/* natter-call.c */
NatterCall *_natter_call_new               (const char          *id,
                                            const char          *contact_id,
                                            NatterCallDirection  direction,
                                            gboolean             audio_only);
void        _natter_call_set_id            (NatterCall          *self,
                                            const char          *id);
void        _natter_call_set_state         (NatterCall          *self,
                                            NatterCallState      state);
void        _natter_call_end               (NatterCall          *self,
                                            NatterCallEndReason  reason);
void        _natter_call_set_local_media   (NatterCall          *self,
                                            gboolean             microphone_on,
                                            gboolean             camera_on);
void        _natter_call_set_remote_media  (NatterCall          *self,
                                            gboolean             microphone_on,
                                            gboolean             camera_on);
NatterCall *_natter_call_new_from_record   (const char          *id,
                                            const char          *contact_id,
                                            NatterCallDirection  direction,
                                            gboolean             audio_only,
                                            NatterCallOutcome    outcome,
                                            gint64               started_at,
                                            gint64               answered_at,
                                            gint64               ended_at);

/* natter-call-media.c */
gboolean    _natter_call_media_add         (NatterCall          *self,
                                            NatterPeer          *peer,
                                            NatterCallMediaFlags flags,
                                            GError             **error);
void        _natter_call_media_apply       (NatterCall          *self);
void        _natter_call_media_stop        (NatterCall          *self);
void        _natter_call_device_lost       (NatterCall          *self,
                                            NatterMediaDevice   *device);
gboolean    _natter_call_media_switch      (NatterCall          *self,
                                            NatterMediaDeviceKind kind,
                                            const char          *id,
                                            GError             **error);
void        _natter_call_set_devices       (NatterCall          *self,
                                            const char          *camera,
                                            const char          *microphone,
                                            const char          *speaker);
void        _natter_call_counters_unref    (NatterCallCounters  *counters);

G_END_DECLS
