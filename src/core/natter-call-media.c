/* natter-call-media.c: a call's sources, sinks and counters, and its statistics
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A call's media goes into the first offer of its own NatterPeer
 * (natter_peer_add_media(), which encodes to Opus and VP8 and decodes what
 * comes back). Here are the raw ends: test sources (a moving pattern and a
 * tone) or the chosen camera, microphone and speaker of those GstDeviceMonitor
 * lists (NatterMediaDevices; the first there is, or the * auto* elements where it finds none), echo cancellation where webrtcdsp
 * exists and a real microphone and speaker are used, and sinks that count
 * what was decoded. With a frame function the decoded video (and the
 * self-view) also reaches the owner as RGBA frames, on the main context:
 * the app turns them into a GdkPaintable; core knows nothing of GTK.
 *
 * Threads: the counters are written on GStreamer's streaming threads and
 * read on the main context, under their own lock.
 */
#define G_LOG_DOMAIN "natter-call"

#include "config.h"

#include "natter-call-private.h"
#include "natter-client.h"
#include "natter-media-devices-private.h"
#include "natter-peer-media.h"
#include "natter-peer-private.h"

#define VIDEO_WIDTH   640
#define VIDEO_HEIGHT  480
#define VIDEO_FPS     30
#define TONE_HZ       440.0
#define STATS_PERIOD_S 1

static NatterCallCounters *
counters_new (NatterCall *call)
{
  NatterCallCounters *counters = g_new0 (NatterCallCounters, 1);

  g_atomic_ref_count_init (&counters->ref_count);
  g_mutex_init (&counters->lock);
  g_weak_ref_init (&counters->call, call);
  counters->context = g_main_context_ref_thread_default ();
  return counters;
}

static NatterCallCounters *
counters_ref (NatterCallCounters *counters)
{
  g_atomic_ref_count_inc (&counters->ref_count);
  return counters;
}

void
_natter_call_counters_unref (NatterCallCounters *counters)
{
  if (!g_atomic_ref_count_dec (&counters->ref_count))
    return;

  g_weak_ref_clear (&counters->call);
  g_main_context_unref (counters->context);
  g_free (counters->video_caps);
  g_free (counters->audio_caps);
  g_mutex_clear (&counters->lock);
  g_free (counters);
}

static void
counters_unref_closure (gpointer  data,
                        GClosure *closure)
{
  _natter_call_counters_unref (data);
}

static NatterCallCounters *
ensure_counters (NatterCall *self)
{
  if (self->counters == NULL)
    self->counters = counters_new (self);
  return self->counters;
}

/* Elements */

static GstElement *
make (const char *factory,
      const char *name)
{
  GstElement *element = gst_element_factory_make (factory, name);

  if (element == NULL)
    g_debug ("GStreamer element %s is missing", factory);
  return element;
}

static gboolean
have (const char *factory)
{
  g_autoptr(GstElementFactory) found = gst_element_factory_find (factory);

  return found != NULL;
}

/* Puts @elements (NULL-terminated, floating) in @bin, linked in a row, with
 * ghost pads for the first's sink and the last's src where they have one.
 * FALSE (and @bin unusable) if one is NULL or will not link. */
static gboolean
bin_chain (GstBin      *bin,
           GstElement **elements)
{
  GstElement *previous = NULL;
  g_autoptr(GstPad) sink = NULL;
  g_autoptr(GstPad) src = NULL;
  guint n = 0;

  while (elements[n] != NULL)
    n++;

  for (guint i = 0; i < n; i++)
    {
      gst_bin_add (bin, elements[i]);
      if (previous != NULL && !gst_element_link (previous, elements[i]))
        return FALSE;
      previous = elements[i];
    }

  sink = gst_element_get_static_pad (elements[0], "sink");
  if (sink != NULL)
    gst_element_add_pad (GST_ELEMENT (bin), gst_ghost_pad_new ("sink", sink));
  src = gst_element_get_static_pad (previous, "src");
  if (src != NULL)
    gst_element_add_pad (GST_ELEMENT (bin), gst_ghost_pad_new ("src", src));
  return TRUE;
}

static gboolean
all_made (GstElement **elements,
          guint        n)
{
  gboolean ok = TRUE;

  for (guint i = 0; i < n; i++)
    if (elements[i] == NULL)
      ok = FALSE;

  if (!ok)
    for (guint i = 0; i < n; i++)
      if (elements[i] != NULL)
        gst_object_unref (gst_object_ref_sink (elements[i]));
  return ok;
}

/* A device of the call's went away mid-call: the camera turns off (the
 * other side is told), the microphone is muted, and the owner hears of it */
static void
on_device_removed (NatterMediaDevices *devices,
                   NatterMediaDevice  *device,
                   gpointer            user_data)
{
  NatterCall *self = user_data;
  NatterMediaDeviceKind kind = natter_media_devices_get_kind (devices);

  if (g_strcmp0 (self->used_devices[kind], natter_media_device_get_id (device)) != 0)
    return;

  g_message ("Call %s: its %s went away", self->id,
             kind == NATTER_MEDIA_DEVICE_CAMERA ? "camera" :
             kind == NATTER_MEDIA_DEVICE_MICROPHONE ? "microphone" : "speaker");
  g_clear_pointer (&self->used_devices[kind], g_free);
  if (kind != NATTER_MEDIA_DEVICE_SPEAKER)
    {
      gboolean mic = kind == NATTER_MEDIA_DEVICE_MICROPHONE ? FALSE : self->microphone_on;
      gboolean camera = kind == NATTER_MEDIA_DEVICE_CAMERA ? FALSE : self->camera_on;

      if (self->client != NULL && kind == NATTER_MEDIA_DEVICE_CAMERA)
        natter_client_set_call_camera (self->client, self, FALSE);
      else if (self->client != NULL)
        natter_client_set_call_microphone (self->client, self, FALSE);
      else
        _natter_call_set_local_media (self, mic, camera);
      _natter_call_media_apply (self);
    }
  _natter_call_device_lost (self, device);
}

/* The chosen device of @kind (or the first there is), followed while the
 * call lasts; the auto* element @fallback where GStreamer lists none */
static GstElement *
device_element (NatterCall           *self,
                NatterMediaDeviceKind kind,
                const char           *fallback)
{
  g_autoptr(NatterMediaDevices) devices = natter_media_devices_new (kind);
  GstElement *element;

  g_clear_pointer (&self->used_devices[kind], g_free);
  element = _natter_media_devices_create_element (devices, self->wanted_devices[kind],
                                                  &self->used_devices[kind]);
  if (element == NULL)
    return make (fallback, NULL);

  if (self->watched[kind] != NULL)
    g_signal_handlers_disconnect_by_data (self->watched[kind], self);
  g_set_object (&self->watched[kind], devices);
  g_signal_connect (devices, "device-removed", G_CALLBACK (on_device_removed), self);
  self->device_elements[kind] = element;
  return element;
}

/* The element linked to @element's only @direction pad */
static GstElement *
linked_element (GstElement        *element,
                GstPadDirection    direction)
{
  g_autoptr(GstPad) pad = direction == GST_PAD_SRC ? gst_element_get_static_pad (element, "src")
                                                   : gst_element_get_static_pad (element, "sink");
  g_autoptr(GstPad) peer = pad != NULL ? gst_pad_get_peer (pad) : NULL;

  return peer != NULL ? gst_pad_get_parent_element (peer) : NULL;
}

/**
 * _natter_call_media_switch:
 * @id: a NatterMediaDevice's ID
 *
 * Mid-call: the camera, microphone or speaker @id takes the place of the
 * one in use, in the running pipeline; what comes after it (or before,
 * for a speaker) stays.
 */
gboolean
_natter_call_media_switch (NatterCall           *self,
                           NatterMediaDeviceKind kind,
                           const char           *id,
                           GError              **error)
{
  GstElement *old = self->device_elements[kind];
  g_autoptr(GstElement) neighbour = NULL;
  g_autoptr(GstObject) bin = NULL;
  g_autofree char *used = NULL;
  GstElement *element;
  gboolean sink = kind == NATTER_MEDIA_DEVICE_SPEAKER;

  if (old == NULL || self->watched[kind] == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                           "This call does not use a device of that kind");
      return FALSE;
    }
  if (natter_media_devices_find (self->watched[kind], id) == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "No such device: %s", id);
      return FALSE;
    }
  if (g_strcmp0 (self->used_devices[kind], id) == 0)
    return TRUE;

  element = _natter_media_devices_create_element (self->watched[kind], id, &used);
  neighbour = linked_element (old, sink ? GST_PAD_SINK : GST_PAD_SRC);
  bin = gst_object_get_parent (GST_OBJECT (old));
  if (element == NULL || neighbour == NULL || bin == NULL)
    {
      if (element != NULL)
        gst_object_unref (gst_object_ref_sink (element));
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED, "The device could not be set up");
      return FALSE;
    }

  if (sink && g_object_class_find_property (G_OBJECT_GET_CLASS (element), "async") != NULL)
    g_object_set (element, "async", FALSE, NULL);
  if (sink)
    gst_element_unlink (neighbour, old);
  else
    gst_element_unlink (old, neighbour);
  gst_element_set_state (old, GST_STATE_NULL);
  gst_bin_remove (GST_BIN (bin), old);
  gst_bin_add (GST_BIN (bin), element);
  if (!(sink ? gst_element_link (neighbour, element) : gst_element_link (element, neighbour)))
    g_message ("Call %s: the new device does not link", self->id);
  gst_element_sync_state_with_parent (element);

  self->device_elements[kind] = element;
  g_free (self->used_devices[kind]);
  self->used_devices[kind] = g_steal_pointer (&used);
  g_free (self->wanted_devices[kind]);
  self->wanted_devices[kind] = g_strdup (id);
  return TRUE;
}

/* Frames for the owner */

typedef struct
{
  NatterCallCounters *counters;
  gboolean            remote;
  int                 width;
  int                 height;
  gsize               stride;
  GBytes             *pixels;
} Frame;

static gboolean
deliver_frame (gpointer user_data)
{
  Frame *frame = user_data;
  g_autoptr(NatterCall) call = g_weak_ref_get (&frame->counters->call);

  if (call != NULL && call->frame_func != NULL)
    call->frame_func (call, frame->remote, frame->width, frame->height, frame->stride,
                      frame->pixels, call->frame_data);
  return G_SOURCE_REMOVE;
}

static void
frame_free (gpointer data)
{
  Frame *frame = data;

  _natter_call_counters_unref (frame->counters);
  g_bytes_unref (frame->pixels);
  g_free (frame);
}

static GstFlowReturn
on_new_sample (GstElement *appsink,
               gpointer    user_data)
{
  NatterCallCounters *counters = user_data;
  g_autoptr(GstSample) sample = NULL;
  GstStructure *structure;
  GstBuffer *buffer;
  GstMapInfo map;
  Frame *frame;
  int width = 0, height = 0;

  g_signal_emit_by_name (appsink, "pull-sample", &sample);
  if (sample == NULL)
    return GST_FLOW_OK;

  structure = gst_caps_get_structure (gst_sample_get_caps (sample), 0);
  buffer = gst_sample_get_buffer (sample);
  if (!gst_structure_get_int (structure, "width", &width) ||
      !gst_structure_get_int (structure, "height", &height) || width <= 0 || height <= 0 ||
      !gst_buffer_map (buffer, &map, GST_MAP_READ))
    return GST_FLOW_OK;

  frame = g_new0 (Frame, 1);
  frame->counters = counters_ref (counters);
  frame->remote = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (appsink), "remote"));
  frame->width = width;
  frame->height = height;
  /* RGBA rows are padded to 4 bytes, which they already are */
  frame->stride = (gsize) width * 4;
  frame->pixels = g_bytes_new (map.data, MIN (map.size, frame->stride * height));
  gst_buffer_unmap (buffer, &map);

  if (g_bytes_get_size (frame->pixels) < frame->stride * height)
    {
      frame_free (frame);
      return GST_FLOW_OK;
    }

  g_main_context_invoke_full (counters->context, G_PRIORITY_DEFAULT, deliver_frame, frame,
                              frame_free);
  return GST_FLOW_OK;
}

static GstElement *
frame_sink (NatterCallCounters *counters,
            gboolean            remote)
{
  GstElement *sink = make ("appsink", NULL);
  g_autoptr(GstCaps) caps = gst_caps_from_string ("video/x-raw,format=RGBA");

  if (sink == NULL)
    return NULL;
  g_object_set (sink, "caps", caps, "emit-signals", TRUE, "sync", FALSE, "max-buffers", 2,
                "drop", TRUE, "async", FALSE, NULL);
  g_object_set_data (G_OBJECT (sink), "remote", GINT_TO_POINTER (remote));
  g_signal_connect_data (sink, "new-sample", G_CALLBACK (on_new_sample), counters_ref (counters),
                         counters_unref_closure, 0);
  return sink;
}

/* Counting */

static GstPadProbeReturn
on_decoded (GstPad          *pad,
            GstPadProbeInfo *info,
            gpointer         user_data)
{
  NatterCallCounters *counters = user_data;
  NatterMediaKind kind = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (pad), "kind"));
  guint n = 1;

  if (GST_PAD_PROBE_INFO_TYPE (info) & GST_PAD_PROBE_TYPE_BUFFER_LIST)
    n = gst_buffer_list_length (GST_PAD_PROBE_INFO_BUFFER_LIST (info));

  g_mutex_lock (&counters->lock);
  if (kind == NATTER_MEDIA_KIND_VIDEO)
    {
      if (counters->video_frames == 0)
        counters->first_video_at = g_get_monotonic_time ();
      counters->video_frames += n;
      if (counters->video_caps == NULL)
        {
          g_autoptr(GstCaps) caps = gst_pad_get_current_caps (pad);

          counters->video_caps = caps != NULL ? gst_caps_to_string (caps) : NULL;
        }
    }
  else
    {
      if (counters->audio_buffers == 0)
        counters->first_audio_at = g_get_monotonic_time ();
      counters->audio_buffers += n;
      if (counters->audio_caps == NULL)
        {
          g_autoptr(GstCaps) caps = gst_pad_get_current_caps (pad);

          counters->audio_caps = caps != NULL ? gst_caps_to_string (caps) : NULL;
        }
    }
  g_mutex_unlock (&counters->lock);

  return GST_PAD_PROBE_OK;
}

static void
count_into (GstElement         *bin,
            NatterMediaKind     kind,
            NatterCallCounters *counters)
{
  g_autoptr(GstPad) pad = gst_element_get_static_pad (bin, "sink");

  g_object_set_data (G_OBJECT (pad), "kind", GINT_TO_POINTER (kind));
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST, on_decoded,
                     counters_ref (counters), (GDestroyNotify) _natter_call_counters_unref);
}

/* What is sent */

static GstElement *
video_source (NatterCall          *self,
              NatterCallMediaFlags flags)
{
  GstElement *bin = gst_bin_new ("call-video-source");
  g_autoptr(GstCaps) caps = gst_caps_new_simple ("video/x-raw", "width", G_TYPE_INT, VIDEO_WIDTH,
                                                 "height", G_TYPE_INT, VIDEO_HEIGHT,
                                                 "framerate", GST_TYPE_FRACTION, VIDEO_FPS, 1,
                                                 NULL);
  GstElement *e[10] = { NULL };   /* NULL-terminated */
  guint n = 0;

  if (flags & NATTER_CALL_MEDIA_TEST)
    {
      e[n] = make ("videotestsrc", NULL);
      if (e[n] != NULL)
        /* Colour bars that scroll: a moving picture with detail everywhere */
        g_object_set (e[n], "is-live", TRUE, "pattern", 19 /* smpte100 */, "horizontal-speed", 4,
                      NULL);
      n++;
    }
  else
    e[n++] = device_element (self, NATTER_MEDIA_DEVICE_CAMERA, "autovideosrc");
  e[n++] = make ("videoconvert", NULL);
  e[n++] = make ("videoscale", NULL);
  e[n++] = make ("videorate", NULL);
  e[n++] = make ("capsfilter", NULL);
  e[n++] = make ("valve", NULL);
  if (!all_made (e, n))
    {
      gst_object_unref (gst_object_ref_sink (bin));
      return NULL;
    }
  g_object_set (e[4], "caps", caps, NULL);
  self->camera_valve = e[5];

  if (self->frame_func != NULL)
    {
      GstElement *tee = make ("tee", NULL);
      GstElement *queue = make ("queue", NULL);
      GstElement *view_queue = make ("queue", NULL);
      GstElement *view_convert = make ("videoconvert", NULL);
      GstElement *view = frame_sink (ensure_counters (self), FALSE);
      GstElement *parts[] = { tee, queue, view_queue, view_convert, view };

      if (all_made (parts, G_N_ELEMENTS (parts)))
        {
          e[n++] = tee;
          e[n++] = queue;
          g_object_set (view_queue, "leaky", 2, "max-size-buffers", 2, NULL);
          gst_bin_add_many (GST_BIN (bin), view_queue, view_convert, view, NULL);
          gst_element_link_many (view_queue, view_convert, view, NULL);
        }
    }

  if (!bin_chain (GST_BIN (bin), e))
    {
      gst_object_unref (gst_object_ref_sink (bin));
      return NULL;
    }
  /* The self-view hangs off the tee */
  for (guint i = 0; i < n; i++)
    if (g_str_equal (GST_OBJECT_NAME (gst_element_get_factory (e[i])), "tee"))
      {
        g_autoptr(GstIterator) it = gst_bin_iterate_elements (GST_BIN (bin));
        GValue item = G_VALUE_INIT;

        while (gst_iterator_next (it, &item) == GST_ITERATOR_OK)
          {
            GstElement *element = g_value_get_object (&item);
            g_autoptr(GstPad) sink = gst_element_get_static_pad (element, "sink");

            if (g_str_equal (GST_OBJECT_NAME (gst_element_get_factory (element)), "queue") &&
                sink != NULL && !gst_pad_is_linked (sink))
              gst_element_link (e[i], element);
            g_value_reset (&item);
          }
        g_value_unset (&item);
      }

  return bin;
}

static GstElement *
audio_source (NatterCall          *self,
              NatterCallMediaFlags flags,
              const char          *probe_name)
{
  GstElement *bin = gst_bin_new ("call-audio-source");
  GstElement *e[7] = { NULL };
  guint n = 0;

  if (flags & NATTER_CALL_MEDIA_TEST)
    {
      e[n] = make ("audiotestsrc", NULL);
      if (e[n] != NULL)
        g_object_set (e[n], "is-live", TRUE, "freq", TONE_HZ, "volume", 0.3, NULL);
      n++;
    }
  else
    e[n++] = device_element (self, NATTER_MEDIA_DEVICE_MICROPHONE, "autoaudiosrc");
  e[n++] = make ("audioconvert", NULL);
  e[n++] = make ("audioresample", NULL);
  if (probe_name != NULL)
    {
      e[n] = make ("webrtcdsp", NULL);
      if (e[n] != NULL)
        g_object_set (e[n], "probe", probe_name, NULL);
      n++;
    }
  e[n++] = make ("volume", NULL);
  if (!all_made (e, n))
    {
      gst_object_unref (gst_object_ref_sink (bin));
      return NULL;
    }
  self->mic_volume = e[n - 1];

  if (!bin_chain (GST_BIN (bin), e))
    {
      gst_object_unref (gst_object_ref_sink (bin));
      return NULL;
    }
  return bin;
}

/* What is received */

static GstElement *
video_sink (NatterCall *self)
{
  GstElement *bin = gst_bin_new ("call-video-sink");
  GstElement *e[3] = { NULL };

  if (self->frame_func != NULL)
    {
      e[0] = make ("videoconvert", NULL);
      e[1] = frame_sink (ensure_counters (self), TRUE);
    }
  else
    {
      e[0] = make ("fakesink", NULL);
      if (e[0] != NULL)
        g_object_set (e[0], "sync", FALSE, "async", FALSE, NULL);
    }

  if (!all_made (e, e[1] != NULL || self->frame_func != NULL ? 2 : 1) ||
      !bin_chain (GST_BIN (bin), e))
    {
      gst_object_unref (gst_object_ref_sink (bin));
      return NULL;
    }
  count_into (bin, NATTER_MEDIA_KIND_VIDEO, ensure_counters (self));
  return bin;
}

static GstElement *
audio_sink (NatterCall          *self,
            NatterCallMediaFlags flags,
            const char          *probe_name)
{
  GstElement *bin = gst_bin_new ("call-audio-sink");
  GstElement *e[5] = { NULL };
  guint n = 0;

  if (flags & NATTER_CALL_MEDIA_NO_PLAYBACK)
    {
      e[n] = make ("fakesink", NULL);
      if (e[n] != NULL)
        g_object_set (e[n], "sync", FALSE, "async", FALSE, NULL);
      n++;
    }
  else
    {
      if (probe_name != NULL)
        e[n++] = make ("webrtcechoprobe", probe_name);
      e[n++] = make ("audioconvert", NULL);
      e[n++] = make ("audioresample", NULL);
      e[n] = device_element (self, NATTER_MEDIA_DEVICE_SPEAKER, "autoaudiosink");
      if (e[n] != NULL && g_object_class_find_property (G_OBJECT_GET_CLASS (e[n]),
                                                        "async-handling") != NULL)
        g_object_set (e[n], "async-handling", TRUE, NULL);
      else if (e[n] != NULL)
        g_object_set (e[n], "async", FALSE, NULL);
      n++;
    }

  if (!all_made (e, n) || !bin_chain (GST_BIN (bin), e))
    {
      gst_object_unref (gst_object_ref_sink (bin));
      return NULL;
    }
  count_into (bin, NATTER_MEDIA_KIND_AUDIO, ensure_counters (self));
  return bin;
}

/* Statistics */

typedef struct
{
  JsonObject *summary;
  gint64      bytes_in;
  gint64      bytes_out;
  GHashTable *candidate_types;   /* local candidate ID -> its type */
  char       *local_candidate;   /* of the pair in use */
} StatsScan;

static gboolean
on_stats_entry (GQuark        field,
                const GValue *value,
                gpointer      user_data)
{
  StatsScan *scan = user_data;
  const GstStructure *entry;
  GstWebRTCStatsType type;
  guint64 u64;
  gint64 i64;
  double rtt;

  if (!GST_VALUE_HOLDS_STRUCTURE (value))
    return TRUE;
  entry = gst_value_get_structure (value);
  if (!gst_structure_get (entry, "type", GST_TYPE_WEBRTC_STATS_TYPE, &type, NULL))
    return TRUE;

  switch (type)
    {
    case GST_WEBRTC_STATS_INBOUND_RTP:
      if (gst_structure_get_uint64 (entry, "bytes-received", &u64))
        scan->bytes_in += u64;
      if (gst_structure_get_int64 (entry, "packets-lost", &i64))
        json_object_set_int_member (scan->summary, "packets_lost",
                                    json_object_get_int_member_with_default (scan->summary,
                                                                             "packets_lost", 0) +
                                    i64);
      break;
    case GST_WEBRTC_STATS_OUTBOUND_RTP:
      if (gst_structure_get_uint64 (entry, "bytes-sent", &u64))
        scan->bytes_out += u64;
      break;
    case GST_WEBRTC_STATS_REMOTE_INBOUND_RTP:
      if (gst_structure_get_double (entry, "round-trip-time", &rtt))
        json_object_set_double_member (scan->summary, "rtt_ms",
                                       MAX (rtt * 1000.0,
                                            json_object_get_double_member_with_default (
                                              scan->summary, "rtt_ms", 0)));
      break;
    case GST_WEBRTC_STATS_CANDIDATE_PAIR:
      if (gst_structure_get_string (entry, "local-candidate-id") != NULL)
        {
          g_free (scan->local_candidate);
          scan->local_candidate = g_strdup (gst_structure_get_string (entry,
                                                                      "local-candidate-id"));
        }
      break;
    /* webrtcbin 1.22 gives the local candidates the type of remote ones and
     * the other way round: the pair's IDs say which is which */
    case GST_WEBRTC_STATS_LOCAL_CANDIDATE:
    case GST_WEBRTC_STATS_REMOTE_CANDIDATE:
      if (gst_structure_get_string (entry, "candidate-type") != NULL)
        g_hash_table_insert (scan->candidate_types, g_strdup (g_quark_to_string (field)),
                             g_strdup (gst_structure_get_string (entry, "candidate-type")));
      break;
    default:
      break;
    }

  return TRUE;
}

typedef struct
{
  NatterCallCounters *counters;
  JsonObject         *summary;
  gint64              bytes_in;
  gint64              bytes_out;
} StatsReply;

static void
stats_reply_free (gpointer data)
{
  StatsReply *reply = data;

  _natter_call_counters_unref (reply->counters);
  json_object_unref (reply->summary);
  g_free (reply);
}

/* Main context */
static gboolean
on_stats_ready (gpointer user_data)
{
  StatsReply *reply = user_data;
  g_autoptr(NatterCall) call = g_weak_ref_get (&reply->counters->call);
  gint64 now = g_get_monotonic_time ();
  guint64 frames;

  if (call == NULL || call->peer == NULL)
    return G_SOURCE_REMOVE;

  g_mutex_lock (&reply->counters->lock);
  frames = reply->counters->video_frames;
  if (reply->counters->video_caps != NULL)
    {
      g_autoptr(GstCaps) caps = gst_caps_from_string (reply->counters->video_caps);
      GstStructure *structure = caps != NULL && gst_caps_get_size (caps) > 0 ?
                                gst_caps_get_structure (caps, 0) : NULL;
      int width, height;

      if (structure != NULL && gst_structure_get_int (structure, "width", &width) &&
          gst_structure_get_int (structure, "height", &height))
        {
          json_object_set_int_member (reply->summary, "width", width);
          json_object_set_int_member (reply->summary, "height", height);
        }
    }
  g_mutex_unlock (&reply->counters->lock);

  json_object_set_int_member (reply->summary, "bytes_received", reply->bytes_in);
  json_object_set_int_member (reply->summary, "bytes_sent", reply->bytes_out);
  json_object_set_int_member (reply->summary, "video_frames", (gint64) frames);
  json_object_set_int_member (reply->summary, "at_us", now);
  if (call->stats != NULL)
    {
      double dt = (now - json_object_get_int_member (call->stats, "at_us")) / 1e6;

      if (dt > 0)
        {
          json_object_set_double_member (reply->summary, "bitrate_in_kbps",
            (reply->bytes_in - json_object_get_int_member (call->stats, "bytes_received")) *
            8 / 1000.0 / dt);
          json_object_set_double_member (reply->summary, "bitrate_out_kbps",
            (reply->bytes_out - json_object_get_int_member (call->stats, "bytes_sent")) *
            8 / 1000.0 / dt);
          json_object_set_double_member (reply->summary, "fps",
            (frames - json_object_get_int_member (call->stats, "video_frames")) / dt);
        }
    }
  g_clear_pointer (&call->stats, json_object_unref);
  call->stats = json_object_ref (reply->summary);

  return G_SOURCE_REMOVE;
}

/* Any thread: webrtcbin answered get-stats */
static void
on_stats_promise (GstPromise *promise,
                  gpointer    user_data)
{
  NatterCallCounters *counters = user_data;
  const GstStructure *stats;
  StatsScan scan = { 0 };
  StatsReply *reply;

  if (gst_promise_wait (promise) != GST_PROMISE_RESULT_REPLIED ||
      (stats = gst_promise_get_reply (promise)) == NULL)
    return;

  scan.summary = json_object_new ();
  scan.candidate_types = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  gst_structure_foreach (stats, on_stats_entry, &scan);
  /* host, srflx or relay: how the media goes */
  if (scan.local_candidate != NULL &&
      g_hash_table_contains (scan.candidate_types, scan.local_candidate))
    json_object_set_string_member (scan.summary, "local_candidate_type",
                                   g_hash_table_lookup (scan.candidate_types,
                                                        scan.local_candidate));
  g_hash_table_unref (scan.candidate_types);
  g_free (scan.local_candidate);

  reply = g_new0 (StatsReply, 1);
  reply->counters = counters_ref (counters);
  reply->summary = scan.summary;
  reply->bytes_in = scan.bytes_in;
  reply->bytes_out = scan.bytes_out;
  g_main_context_invoke_full (counters->context, G_PRIORITY_DEFAULT, on_stats_ready, reply,
                              stats_reply_free);
}

static gboolean
on_stats_timer (gpointer user_data)
{
  NatterCall *self = user_data;
  GstElement *webrtc = self->peer != NULL ? _natter_peer_get_webrtcbin (self->peer) : NULL;
  GstPromise *promise;

  if (webrtc == NULL)
    return G_SOURCE_CONTINUE;

  promise = gst_promise_new_with_change_func (on_stats_promise, counters_ref (self->counters),
                                              (GDestroyNotify) _natter_call_counters_unref);
  g_signal_emit_by_name (webrtc, "get-stats", NULL, promise);
  gst_promise_unref (promise);
  return G_SOURCE_CONTINUE;
}

/**
 * _natter_call_media_add:
 *
 * Adds the call's audio (and video) to @peer before its first offer or
 * answer.
 */
gboolean
_natter_call_media_add (NatterCall          *self,
                        NatterPeer          *peer,
                        NatterCallMediaFlags flags,
                        GError             **error)
{
  g_autofree char *probe_name = NULL;
  GstElement *source;
  GstElement *sink;

  ensure_counters (self);

  /* Echo cancellation between a real microphone and a real speaker */
  if (!(flags & (NATTER_CALL_MEDIA_TEST | NATTER_CALL_MEDIA_NO_PLAYBACK)) &&
      have ("webrtcdsp") && have ("webrtcechoprobe"))
    probe_name = g_strdup_printf ("natter-echo-probe-%p", (void *) self);

  source = audio_source (self, flags, probe_name);
  sink = audio_sink (self, flags, probe_name);
  if (source == NULL || sink == NULL ||
      !natter_peer_add_media (peer, NATTER_MEDIA_KIND_AUDIO, source, sink, error))
    {
      if (error != NULL && *error == NULL)
        g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                             "No microphone or speaker could be set up");
      return FALSE;
    }

  if (!self->audio_only)
    {
      source = video_source (self, flags);
      sink = video_sink (self);
      if (source == NULL || sink == NULL ||
          !natter_peer_add_media (peer, NATTER_MEDIA_KIND_VIDEO, source, sink, error))
        {
          if (error != NULL && *error == NULL)
            g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                                 "No camera could be set up");
          return FALSE;
        }
    }

  _natter_call_media_apply (self);
  if (self->stats_source == 0)
    self->stats_source = g_timeout_add_seconds (STATS_PERIOD_S, on_stats_timer, self);
  return TRUE;
}

/* The microphone and camera as the call's properties say */
void
_natter_call_media_apply (NatterCall *self)
{
  if (self->mic_volume != NULL)
    g_object_set (self->mic_volume, "mute", !self->microphone_on, NULL);
  if (self->camera_valve != NULL)
    g_object_set (self->camera_valve, "drop", !self->camera_on, NULL);
}

void
_natter_call_media_stop (NatterCall *self)
{
  g_clear_handle_id (&self->stats_source, g_source_remove);
  self->mic_volume = NULL;
  self->camera_valve = NULL;
  for (guint i = 0; i < G_N_ELEMENTS (self->watched); i++)
    {
      self->device_elements[i] = NULL;
      if (self->watched[i] != NULL)
        g_signal_handlers_disconnect_by_data (self->watched[i], self);
      g_clear_object (&self->watched[i]);
    }
}

/**
 * natter_call_set_frame_func:
 * @func: (nullable): called with every decoded frame, remote and self-view
 *
 * For a view of the call: set it before the call is answered (incoming)
 * or right after it is placed; media already set up keeps its sinks.
 */
void
natter_call_set_frame_func (NatterCall         *self,
                            NatterCallFrameFunc func,
                            gpointer            user_data,
                            GDestroyNotify      destroy)
{
  g_return_if_fail (NATTER_IS_CALL (self));

  if (self->frame_destroy != NULL)
    self->frame_destroy (self->frame_data);
  self->frame_func = func;
  self->frame_data = user_data;
  self->frame_destroy = destroy;
}

guint64
natter_call_get_video_frames (NatterCall *self)
{
  guint64 n;

  g_return_val_if_fail (NATTER_IS_CALL (self), 0);
  if (self->counters == NULL)
    return 0;

  g_mutex_lock (&self->counters->lock);
  n = self->counters->video_frames;
  g_mutex_unlock (&self->counters->lock);
  return n;
}

guint64
natter_call_get_audio_buffers (NatterCall *self)
{
  guint64 n;

  g_return_val_if_fail (NATTER_IS_CALL (self), 0);
  if (self->counters == NULL)
    return 0;

  g_mutex_lock (&self->counters->lock);
  n = self->counters->audio_buffers;
  g_mutex_unlock (&self->counters->lock);
  return n;
}

static char *
dup_caps (NatterCall *self,
          gboolean    video)
{
  char *caps;

  if (self->counters == NULL)
    return NULL;

  g_mutex_lock (&self->counters->lock);
  caps = g_strdup (video ? self->counters->video_caps : self->counters->audio_caps);
  g_mutex_unlock (&self->counters->lock);
  return caps;
}

/**
 * natter_call_dup_video_caps:
 *
 * Returns: (nullable): the caps of the decoded remote video, as text
 */
char *
natter_call_dup_video_caps (NatterCall *self)
{
  g_return_val_if_fail (NATTER_IS_CALL (self), NULL);
  return dup_caps (self, TRUE);
}

/**
 * natter_call_dup_audio_caps:
 *
 * Returns: (nullable): the caps of the decoded remote audio, as text
 */
char *
natter_call_dup_audio_caps (NatterCall *self)
{
  g_return_val_if_fail (NATTER_IS_CALL (self), NULL);
  return dup_caps (self, FALSE);
}

/**
 * natter_call_get_first_video_at:
 *
 * Returns: microseconds from placing or receiving the call to the first
 *   decoded frame of the other side's video, or -1 before one
 */
gint64
natter_call_get_first_video_at (NatterCall *self)
{
  gint64 at;

  g_return_val_if_fail (NATTER_IS_CALL (self), -1);
  if (self->counters == NULL)
    return -1;

  g_mutex_lock (&self->counters->lock);
  at = self->counters->first_video_at;
  g_mutex_unlock (&self->counters->lock);
  return at != 0 ? at - self->dialled : -1;
}

/**
 * natter_call_dup_stats:
 *
 * Returns: (transfer full) (nullable): the last statistics of the call's
 *   connection, taken once a second: rtt_ms, bitrate_in_kbps,
 *   bitrate_out_kbps, packets_lost, fps, width, height, local_candidate_type
 *   (host, srflx or relay) (those that are known)
 */
JsonObject *
natter_call_dup_stats (NatterCall *self)
{
  g_return_val_if_fail (NATTER_IS_CALL (self), NULL);

  return self->stats != NULL ? json_object_ref (self->stats) : NULL;
}
