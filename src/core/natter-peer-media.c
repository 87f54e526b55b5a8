/* natter-peer-media.c: audio and video on a NatterPeer's connection
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A call is a connection of its own (docs/peer.md): a NatterPeer with the
 * chat channel, which carries the binding statement as on any connection,
 * and one media section per natter_peer_add_media(). What the owner hands
 * in is raw media: a source whose stream is encoded here (Opus, VP8) and
 * sent, a sink that gets what the other side sends on a section of that
 * kind, decoded. Media added before the connection goes into its first
 * offer; media added to an established connection renegotiates it
 * (natter-peer-negotiation.c), on the same session and the same DTLS.
 *
 * Threads: webrtcbin adds the pads of incoming streams on its streaming
 * threads and they must be linked there, so the media table has a lock of
 * its own and nothing else of the peer is touched. A stream that arrives
 * before its sink is dropped until the owner adds one.
 */
#define G_LOG_DOMAIN "natter-peer"

#include "config.h"

#include "natter-peer-media.h"
#include "natter-peer-private.h"

#define AUDIO_CAPS "application/x-rtp,media=audio,encoding-name=OPUS,payload=96,clock-rate=48000"
#define VIDEO_CAPS "application/x-rtp,media=video,encoding-name=VP8,payload=97,clock-rate=90000"

typedef struct
{
  NatterMediaKind  kind;
  GstElement      *source;   /* until attached to a pipeline, ours */
  GstElement      *sink;
  gboolean         attached;
  gboolean         claimed;  /* an incoming stream goes to the sink */
} MediaEntry;

typedef struct
{
  GstPad          *pad;
  gulong           probe;
  NatterMediaKind  kind;
} Unclaimed;

struct _NatterPeerMediaTable
{
  gatomicrefcount  ref_count;
  GMutex           lock;
  GPtrArray       *entries;    /* of MediaEntry */
  GPtrArray       *unclaimed;  /* of Unclaimed */
};

static void
media_entry_free (MediaEntry *entry)
{
  g_clear_object (&entry->source);
  g_clear_object (&entry->sink);
  g_free (entry);
}

static void
unclaimed_free (Unclaimed *unclaimed)
{
  gst_pad_remove_probe (unclaimed->pad, unclaimed->probe);
  gst_object_unref (unclaimed->pad);
  g_free (unclaimed);
}

NatterPeerMediaTable *
_natter_peer_media_table_new (void)
{
  NatterPeerMediaTable *table = g_new0 (NatterPeerMediaTable, 1);

  g_atomic_ref_count_init (&table->ref_count);
  g_mutex_init (&table->lock);
  table->entries = g_ptr_array_new_with_free_func ((GDestroyNotify) media_entry_free);
  table->unclaimed = g_ptr_array_new_with_free_func ((GDestroyNotify) unclaimed_free);

  return table;
}

static NatterPeerMediaTable *
media_table_ref (NatterPeerMediaTable *table)
{
  g_atomic_ref_count_inc (&table->ref_count);
  return table;
}

void
_natter_peer_media_table_unref (NatterPeerMediaTable *table)
{
  if (g_atomic_ref_count_dec (&table->ref_count))
    {
      g_ptr_array_unref (table->entries);
      g_ptr_array_unref (table->unclaimed);
      g_mutex_clear (&table->lock);
      g_free (table);
    }
}

static GstCaps *
rtp_caps (NatterMediaKind kind)
{
  return gst_caps_from_string (kind == NATTER_MEDIA_KIND_AUDIO ? AUDIO_CAPS : VIDEO_CAPS);
}

static gboolean
pad_media_kind (GstPad          *pad,
                NatterMediaKind *kind)
{
  g_autoptr(GstCaps) caps = gst_pad_get_current_caps (pad);
  const char *media;

  if (caps == NULL)
    caps = gst_pad_query_caps (pad, NULL);
  if (caps == NULL || gst_caps_get_size (caps) == 0)
    return FALSE;

  media = gst_structure_get_string (gst_caps_get_structure (caps, 0), "media");
  if (g_strcmp0 (media, "audio") == 0)
    *kind = NATTER_MEDIA_KIND_AUDIO;
  else if (g_strcmp0 (media, "video") == 0)
    *kind = NATTER_MEDIA_KIND_VIDEO;
  else
    return FALSE;

  return TRUE;
}

/* Adds factory elements to @bin and links them in a row; NULL if one is
 * missing. Returns the first, and the last in @last. */
static GstElement *
add_chain (GstBin      *bin,
           const char **factories,
           GstElement **last)
{
  GstElement *first = NULL;
  GstElement *previous = NULL;

  for (guint i = 0; factories[i] != NULL; i++)
    {
      GstElement *element = gst_element_factory_make (factories[i], NULL);

      if (element == NULL)
        {
          g_debug ("GStreamer element %s is missing", factories[i]);
          return NULL;
        }
      gst_bin_add (bin, element);
      if (previous != NULL)
        gst_element_link (previous, element);
      else
        first = element;
      previous = element;
    }

  *last = previous;
  return first;
}

static void
on_decoded_pad (GstElement *decodebin,
                GstPad     *pad,
                gpointer    user_data)
{
  GstElement *convert = user_data;
  g_autoptr(GstPad) sink_pad = gst_element_get_static_pad (convert, "sink");

  if (!gst_pad_is_linked (sink_pad) && gst_pad_link (pad, sink_pad) != GST_PAD_LINK_OK)
    g_debug ("Could not link a decoded stream");
}

/* Any thread: decodes what comes out of @pad into @sink */
static void
link_incoming (GstPad          *pad,
               NatterMediaKind  kind,
               GstElement      *sink)
{
  static const char *audio[] = { "audioconvert", "audioresample", NULL };
  static const char *video[] = { "videoconvert", NULL };
  g_autoptr(GstObject) webrtc = gst_pad_get_parent (pad);
  g_autoptr(GstPad) decode_sink = NULL;
  GstBin *bin = GST_BIN (GST_OBJECT_PARENT (webrtc));
  GstElement *decodebin = gst_element_factory_make ("decodebin", NULL);
  GstElement *last = NULL;
  GstElement *convert;

  if (decodebin == NULL)
    return;

  convert = add_chain (bin, kind == NATTER_MEDIA_KIND_AUDIO ? audio : video, &last);
  if (convert == NULL)
    {
      gst_object_unref (gst_object_ref_sink (decodebin));
      return;
    }
  gst_element_link (last, sink);
  gst_bin_add (bin, decodebin);
  g_signal_connect_object (decodebin, "pad-added", G_CALLBACK (on_decoded_pad), convert, 0);

  gst_element_sync_state_with_parent (sink);
  for (GstElement *e = convert; e != NULL && e != sink; )
    {
      g_autoptr(GstPad) src = gst_element_get_static_pad (e, "src");
      g_autoptr(GstPad) peer = src != NULL ? gst_pad_get_peer (src) : NULL;

      gst_element_sync_state_with_parent (e);
      e = peer != NULL ? GST_PAD_PARENT (peer) : NULL;
    }
  gst_element_sync_state_with_parent (decodebin);

  decode_sink = gst_element_get_static_pad (decodebin, "sink");
  if (gst_pad_link (pad, decode_sink) != GST_PAD_LINK_OK)
    g_debug ("Could not link an incoming stream");
}

static GstPadProbeReturn
on_unclaimed_buffer (GstPad          *pad,
                     GstPadProbeInfo *info,
                     gpointer         user_data)
{
  return GST_PAD_PROBE_DROP;
}

/* Streaming thread: webrtcbin has a stream from the other side */
static void
on_pad_added (GstElement *webrtc,
              GstPad     *pad,
              gpointer    user_data)
{
  NatterPeerMediaTable *table = user_data;
  GstElement *sink = NULL;
  NatterMediaKind kind;

  if (!GST_PAD_IS_SRC (pad) || !pad_media_kind (pad, &kind))
    return;

  g_mutex_lock (&table->lock);
  for (guint i = 0; i < table->entries->len && sink == NULL; i++)
    {
      MediaEntry *entry = g_ptr_array_index (table->entries, i);

      if (entry->attached && entry->sink != NULL && !entry->claimed && entry->kind == kind)
        {
          entry->claimed = TRUE;
          sink = g_object_ref (entry->sink);
        }
    }
  if (sink == NULL)
    {
      Unclaimed *unclaimed = g_new0 (Unclaimed, 1);

      /* Dropped until a sink comes */
      unclaimed->pad = gst_object_ref (pad);
      unclaimed->kind = kind;
      unclaimed->probe = gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST,
                                            on_unclaimed_buffer, NULL, NULL);
      g_ptr_array_add (table->unclaimed, unclaimed);
    }
  g_mutex_unlock (&table->lock);
  g_debug ("An incoming %s stream, %s", kind == NATTER_MEDIA_KIND_AUDIO ? "audio" : "video",
           sink != NULL ? "to its sink" : "held until a sink comes");

  if (sink != NULL)
    {
      link_incoming (pad, kind, sink);
      gst_object_unref (sink);
    }
}

/* Main context: the attempt's webrtcbin is about to start */
void
_natter_peer_media_watch (NatterPeer *self)
{
  g_signal_connect_data (self->webrtc, "pad-added", G_CALLBACK (on_pad_added),
                         media_table_ref (self->media), (GClosureNotify) (void (*) (void))
                         _natter_peer_media_table_unref, 0);
}

static gboolean
attach_source (NatterPeer      *self,
               MediaEntry      *entry,
               GstCaps         *caps)
{
  static const char *audio[] = { "audioconvert", "audioresample", "opusenc", "rtpopuspay",
                                 "capsfilter", NULL };
  static const char *video[] = { "videoconvert", "vp8enc", "rtpvp8pay", "capsfilter", NULL };
  GstPadTemplate *template = gst_element_class_get_pad_template (GST_ELEMENT_GET_CLASS (self->webrtc),
                                                                 "sink_%u");
  g_autoptr(GstPad) pad = NULL;
  g_autoptr(GstPad) src = NULL;
  g_autoptr(GstWebRTCRTPTransceiver) transceiver = NULL;
  GstBin *bin = GST_BIN (self->pipeline);
  GstElement *last = NULL;
  GstElement *first;

  first = add_chain (bin, entry->kind == NATTER_MEDIA_KIND_AUDIO ? audio : video, &last);
  if (first == NULL)
    return FALSE;

  g_object_set (last, "caps", caps, NULL);
  for (GstElement *e = first; e != NULL; )
    {
      g_autoptr(GstPad) e_src = gst_element_get_static_pad (e, "src");
      g_autoptr(GstPad) peer = e_src != NULL ? gst_pad_get_peer (e_src) : NULL;
      GstElementFactory *factory = gst_element_get_factory (e);

      if (g_str_equal (GST_OBJECT_NAME (factory), "vp8enc"))
        g_object_set (e, "deadline", (gint64) 1, NULL);
      else if (g_str_has_prefix (GST_OBJECT_NAME (factory), "rtp"))
        g_object_set (e, "pt", entry->kind == NATTER_MEDIA_KIND_AUDIO ? 96 : 97, NULL);
      e = peer != NULL ? GST_PAD_PARENT (peer) : NULL;
    }

  /* The pipeline has the source now; we keep no reference of our own */
  gst_bin_add (bin, entry->source);
  gst_element_link (entry->source, first);
  g_clear_object (&entry->source);
  pad = gst_element_request_pad (self->webrtc, template, NULL, caps);
  src = gst_element_get_static_pad (last, "src");
  if (pad == NULL || gst_pad_link (src, pad) != GST_PAD_LINK_OK)
    return FALSE;

  _natter_peer_events_watch_media_pad (self->link, src);
  g_object_get (pad, "transceiver", &transceiver, NULL);
  if (transceiver != NULL)
    g_object_set (transceiver,
                  "direction", entry->sink != NULL ? GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDRECV
                                                   : GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDONLY,
                  "codec-preferences", caps,
                  NULL);

  return TRUE;
}

/* Main context: puts @entry on the current webrtcbin */
static gboolean
attach (NatterPeer *self,
        MediaEntry *entry,
        GError    **error)
{
  g_autoptr(GstCaps) caps = rtp_caps (entry->kind);
  g_autoptr(GPtrArray) claimed = g_ptr_array_new_with_free_func ((GDestroyNotify) unclaimed_free);
  GstElement *source = entry->source;
  GstElement *sink = entry->sink;

  if (source != NULL)
    {
      if (!attach_source (self, entry, caps))
        {
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                               "The media could not be set up (a GStreamer element is missing)");
          return FALSE;
        }
    }
  else
    {
      g_autoptr(GstWebRTCRTPTransceiver) transceiver = NULL;

      g_signal_emit_by_name (self->webrtc, "add-transceiver",
                             GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_RECVONLY, caps, &transceiver);
    }

  if (sink != NULL)
    gst_bin_add (GST_BIN (self->pipeline), sink);

  /* A stream of this kind that came before its sink */
  g_mutex_lock (&self->media->lock);
  entry->attached = TRUE;
  for (guint i = 0; sink != NULL && !entry->claimed && i < self->media->unclaimed->len; i++)
    {
      Unclaimed *unclaimed = g_ptr_array_index (self->media->unclaimed, i);

      if (unclaimed->kind == entry->kind)
        {
          entry->claimed = TRUE;
          g_ptr_array_add (claimed, g_ptr_array_steal_index (self->media->unclaimed, i));
        }
    }
  g_mutex_unlock (&self->media->lock);

  for (guint i = 0; i < claimed->len; i++)
    {
      Unclaimed *unclaimed = g_ptr_array_index (claimed, i);

      link_incoming (unclaimed->pad, unclaimed->kind, sink);
    }

  /* Into the running pipeline, live: a sink that waits to preroll would
   * hold the whole pipeline (and the source) back */
  if (sink != NULL && g_object_class_find_property (G_OBJECT_GET_CLASS (sink), "async") != NULL)
    g_object_set (sink, "async", FALSE, NULL);
  gst_element_set_state (self->pipeline, GST_STATE_PLAYING);

  return TRUE;
}

/* Main context: a new attempt takes the media asked for before it */
void
_natter_peer_media_attach_pending (NatterPeer *self)
{
  g_autoptr(GPtrArray) pending = g_ptr_array_new ();

  g_mutex_lock (&self->media->lock);
  for (guint i = 0; i < self->media->entries->len; i++)
    {
      MediaEntry *entry = g_ptr_array_index (self->media->entries, i);

      if (!entry->attached)
        g_ptr_array_add (pending, entry);
    }
  g_mutex_unlock (&self->media->lock);

  for (guint i = 0; i < pending->len; i++)
    {
      g_autoptr(GError) error = NULL;

      if (!attach (self, g_ptr_array_index (pending, i), &error))
        g_debug ("Media not added: %s", error->message);
    }
}

/* Main context: the attempt is over, and its media with it */
void
_natter_peer_media_clear (NatterPeer *self)
{
  g_mutex_lock (&self->media->lock);
  for (guint i = self->media->entries->len; i > 0; i--)
    {
      MediaEntry *entry = g_ptr_array_index (self->media->entries, i - 1);

      if (entry->attached)
        g_ptr_array_remove_index (self->media->entries, i - 1);
    }
  g_ptr_array_set_size (self->media->unclaimed, 0);
  g_mutex_unlock (&self->media->lock);
}

/**
 * natter_peer_add_media:
 * @kind: audio or video
 * @source: (nullable) (transfer floating): raw media to send, an element
 *   (or bin) with one source pad
 * @sink: (nullable) (transfer floating): where the other side's media of
 *   this kind goes, decoded: an element (or bin) with one sink pad
 *
 * Adds a media section: send-receive with both, send-only or receive-only
 * with one. On an established connection it is renegotiated at once; before
 * a connection, it goes into the next attempt's first offer or answer. The
 * elements belong to that one connection: a new attempt after a failure
 * needs media of its own.
 *
 * Returns: %FALSE with %G_IO_ERROR_PENDING while a connection is being set
 *   up, or %G_IO_ERROR_NOT_SUPPORTED when GStreamer lacks an element
 */
gboolean
natter_peer_add_media (NatterPeer       *self,
                       NatterMediaKind   kind,
                       GstElement       *source,
                       GstElement       *sink,
                       GError          **error)
{
  MediaEntry *entry;

  g_return_val_if_fail (NATTER_IS_PEER (self), FALSE);
  g_return_val_if_fail (kind == NATTER_MEDIA_KIND_AUDIO || kind == NATTER_MEDIA_KIND_VIDEO, FALSE);
  g_return_val_if_fail (source == NULL || GST_IS_ELEMENT (source), FALSE);
  g_return_val_if_fail (sink == NULL || GST_IS_ELEMENT (sink), FALSE);
  g_return_val_if_fail (source != NULL || sink != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (self->state == NATTER_PEER_STATE_CONNECTING)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_PENDING,
                           "Media can be added before a connection or once it is established");
      return FALSE;
    }

  entry = g_new0 (MediaEntry, 1);
  entry->kind = kind;
  entry->source = source != NULL ? gst_object_ref_sink (source) : NULL;
  entry->sink = sink != NULL ? gst_object_ref_sink (sink) : NULL;

  g_mutex_lock (&self->media->lock);
  g_ptr_array_add (self->media->entries, entry);
  g_mutex_unlock (&self->media->lock);

  if (self->state == NATTER_PEER_STATE_CONNECTED)
    {
      if (!attach (self, entry, error))
        return FALSE;
      /* A source renegotiates once its stream has caps */
      if (source == NULL)
        _natter_peer_negotiation_request (self);
    }

  return TRUE;
}

/**
 * natter_peer_get_n_media:
 *
 * Returns: how many media sections were added to the current or next
 *   connection
 */
guint
natter_peer_get_n_media (NatterPeer *self)
{
  guint n;

  g_return_val_if_fail (NATTER_IS_PEER (self), 0);

  g_mutex_lock (&self->media->lock);
  n = self->media->entries->len;
  g_mutex_unlock (&self->media->lock);

  return n;
}

/**
 * _natter_peer_media_dup_bins:
 *
 * Returns: (transfer container) (element-type GstElement): the sources and
 *   sinks asked for (each a reference), for tests that look inside them
 */
GPtrArray *
_natter_peer_media_dup_bins (NatterPeer *self)
{
  GPtrArray *bins = g_ptr_array_new_with_free_func (gst_object_unref);

  g_mutex_lock (&self->media->lock);
  for (guint i = 0; i < self->media->entries->len; i++)
    {
      MediaEntry *entry = g_ptr_array_index (self->media->entries, i);

      if (entry->source != NULL)
        g_ptr_array_add (bins, gst_object_ref (entry->source));
      if (entry->sink != NULL)
        g_ptr_array_add (bins, gst_object_ref (entry->sink));
    }
  g_mutex_unlock (&self->media->lock);
  return bins;
}
