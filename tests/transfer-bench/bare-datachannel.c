/* bare-datachannel.c: the baseline for the file transfer benchmark
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * One webrtcbin and one data channel, no Natter code: `send BYTES` offers,
 * opens a channel and writes BYTES in 64 KiB binary messages, paced the way
 * NatterChannel paces (write while webrtcbin buffers at most 256 KiB, go on
 * below 64 KiB); `receive BYTES` answers and counts what arrives, then
 * prints "received BYTES SECONDS" from the first message to the last. Both
 * say offers, answers and candidates as lines on stdout and read the other
 * side's on stdin (bench_transfer.py carries them across), and gather on
 * 127.0.0.1 only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gst/gst.h>
#include <gst/sdp/sdp.h>
#define GST_USE_UNSTABLE_API
#include <gst/webrtc/webrtc.h>

#define CHUNK      65536
#define HIGH_MARK  (256 * 1024)
#define LOW_MARK   (64 * 1024)

static GMainLoop *loop;
static GstElement *webrtc;
static GstWebRTCDataChannel *channel;
static gboolean sending;
static guint64 total;
static guint64 done;
static gint64 first_us;
static GBytes *chunk;

static void
say (const char *kind,
     const char *text)
{
  g_autofree char *encoded = g_base64_encode ((const guchar *) text, strlen (text));

  printf ("%s %s\n", kind, encoded);
  fflush (stdout);
}

static gboolean
pump (gpointer user_data)
{
  while (done < total)
    {
      guint64 buffered = 0;
      g_autoptr(GBytes) piece = NULL;
      gsize size = MIN (CHUNK, total - done);

      g_object_get (channel, "buffered-amount", &buffered, NULL);
      if (buffered > HIGH_MARK)
        return G_SOURCE_REMOVE; /* on-buffered-amount-low goes on */

      piece = size == CHUNK ? g_bytes_ref (chunk) : g_bytes_new_from_bytes (chunk, 0, size);
      if (!gst_webrtc_data_channel_send_data_full (channel, piece, NULL))
        {
          g_printerr ("bare-datachannel: a send failed\n");
          exit (1);
        }
      done += size;
    }

  return G_SOURCE_REMOVE;
}

static void
on_low (GstWebRTCDataChannel *dc,
        gpointer              user_data)
{
  g_main_context_invoke (NULL, pump, NULL);
}

static void
on_open (GstWebRTCDataChannel *dc,
         gpointer              user_data)
{
  g_main_context_invoke (NULL, pump, NULL);
}

static gboolean
finish (gpointer user_data)
{
  double seconds = (g_get_monotonic_time () - first_us) / 1e6;

  printf ("received %" G_GUINT64_FORMAT " %.3f\n", done, seconds);
  fflush (stdout);
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

static void
on_data (GstWebRTCDataChannel *dc,
         GBytes               *bytes,
         gpointer              user_data)
{
  if (first_us == 0)
    first_us = g_get_monotonic_time ();
  done += g_bytes_get_size (bytes);
  if (done >= total)
    g_main_context_invoke (NULL, finish, NULL);
}

static void
on_data_channel (GstElement           *element,
                 GstWebRTCDataChannel *dc,
                 gpointer              user_data)
{
  channel = g_object_ref (dc);
  g_signal_connect (dc, "on-message-data", G_CALLBACK (on_data), NULL);
}

static void
on_ice (GstElement *element,
        guint       mline,
        const char *candidate,
        gpointer    user_data)
{
  g_autofree char *text = g_strdup_printf ("%u %s", mline, candidate);

  say ("ice", text);
}

static void
on_local_description (GstPromise *promise,
                      gpointer    user_data)
{
  const char *kind = user_data;
  const GstStructure *reply = gst_promise_get_reply (promise);
  GstWebRTCSessionDescription *description = NULL;
  g_autofree char *text = NULL;

  gst_structure_get (reply, kind, GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &description, NULL);
  gst_promise_unref (promise);
  g_signal_emit_by_name (webrtc, "set-local-description", description, NULL);
  text = gst_sdp_message_as_text (description->sdp);
  say (kind, text);
  gst_webrtc_session_description_free (description);
}

static void
on_negotiation_needed (GstElement *element,
                       gpointer    user_data)
{
  g_signal_emit_by_name (webrtc, "create-offer", NULL,
                         gst_promise_new_with_change_func (on_local_description, "offer", NULL));
}

static void
on_remote_set (GstPromise *promise,
               gpointer    user_data)
{
  gst_promise_unref (promise);
  if (!sending)
    g_signal_emit_by_name (webrtc, "create-answer", NULL,
                           gst_promise_new_with_change_func (on_local_description, "answer",
                                                             NULL));
}

static gboolean
on_stdin (GIOChannel   *source,
          GIOCondition  condition,
          gpointer      user_data)
{
  g_autofree char *line = NULL;
  g_autofree guchar *decoded = NULL;
  gsize length;
  char *space;

  if (g_io_channel_read_line (source, &line, NULL, NULL, NULL) != G_IO_STATUS_NORMAL)
    {
      g_main_loop_quit (loop);
      return G_SOURCE_REMOVE;
    }

  g_strchomp (line);
  space = strchr (line, ' ');
  if (space == NULL)
    return G_SOURCE_CONTINUE;
  *space = '\0';
  decoded = g_base64_decode (space + 1, &length);
  decoded = g_realloc (decoded, length + 1);
  decoded[length] = '\0';

  if (g_str_equal (line, "offer") || g_str_equal (line, "answer"))
    {
      GstSDPMessage *sdp = NULL;
      GstWebRTCSessionDescription *description;

      gst_sdp_message_new_from_text ((const char *) decoded, &sdp);
      description = gst_webrtc_session_description_new (g_str_equal (line, "offer") ?
                                                        GST_WEBRTC_SDP_TYPE_OFFER :
                                                        GST_WEBRTC_SDP_TYPE_ANSWER, sdp);
      g_signal_emit_by_name (webrtc, "set-remote-description", description,
                             gst_promise_new_with_change_func (on_remote_set, NULL, NULL));
      gst_webrtc_session_description_free (description);
    }
  else if (g_str_equal (line, "ice"))
    {
      char *candidate = strchr ((char *) decoded, ' ');

      if (candidate != NULL)
        {
          *candidate++ = '\0';
          g_signal_emit_by_name (webrtc, "add-ice-candidate",
                                 (guint) g_ascii_strtoull ((char *) decoded, NULL, 10), candidate);
        }
    }

  return G_SOURCE_CONTINUE;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GIOChannel) input = NULL;
  g_autofree guint8 *data = NULL;
  GstElement *pipeline;
  GObject *ice = NULL;
  gboolean added = FALSE;

  gst_init (&argc, &argv);
  if (argc != 3 || (!g_str_equal (argv[1], "send") && !g_str_equal (argv[1], "receive")))
    {
      g_printerr ("Usage: bare-datachannel send|receive BYTES\n");
      return 2;
    }
  sending = g_str_equal (argv[1], "send");
  total = g_ascii_strtoull (argv[2], NULL, 10);

  data = g_malloc (CHUNK);
  for (guint i = 0; i < CHUNK; i++)
    data[i] = g_random_int ();
  chunk = g_bytes_new (data, CHUNK);

  loop = g_main_loop_new (NULL, FALSE);
  pipeline = gst_pipeline_new (NULL);
  webrtc = gst_element_factory_make ("webrtcbin", NULL);
  if (webrtc == NULL)
    {
      g_printerr ("bare-datachannel: no webrtcbin\n");
      return 1;
    }
  g_object_set (webrtc, "bundle-policy", GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE, NULL);
  gst_bin_add (GST_BIN (pipeline), webrtc);

  g_object_get (webrtc, "ice-agent", &ice, NULL);
  g_signal_emit_by_name (ice, "add-local-ip-address", "127.0.0.1", &added);
  g_object_unref (ice);

  g_signal_connect (webrtc, "on-ice-candidate", G_CALLBACK (on_ice), NULL);
  g_signal_connect (webrtc, "on-data-channel", G_CALLBACK (on_data_channel), NULL);
  if (sending)
    g_signal_connect (webrtc, "on-negotiation-needed", G_CALLBACK (on_negotiation_needed), NULL);

  gst_element_set_state (pipeline, GST_STATE_PLAYING);

  if (sending)
    {
      g_autoptr(GstStructure) options = gst_structure_new ("application/data-channel",
                                                           "ordered", G_TYPE_BOOLEAN, TRUE, NULL);

      g_signal_emit_by_name (webrtc, "create-data-channel", "bench", options, &channel);
      g_object_set (channel, "buffered-amount-low-threshold", (guint64) LOW_MARK, NULL);
      g_signal_connect (channel, "on-open", G_CALLBACK (on_open), NULL);
      g_signal_connect (channel, "on-buffered-amount-low", G_CALLBACK (on_low), NULL);
    }

  input = g_io_channel_unix_new (0);
  g_io_add_watch (input, G_IO_IN | G_IO_HUP, on_stdin, NULL);
  g_main_loop_run (loop);

  gst_element_set_state (pipeline, GST_STATE_NULL);
  g_clear_object (&channel);
  gst_object_unref (pipeline);
  g_bytes_unref (chunk);
  return 0;
}
