/* test-call-media.c: what a call's media pipeline is made of
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The call's sources and sinks go into a NatterPeer that is never
 * connected; the test looks at the elements in its pipeline. Echo
 * cancellation (webrtcdsp on the microphone, webrtcechoprobe before the
 * speaker) belongs to calls with a real microphone and speaker wherever
 * GStreamer has the two elements, and to no other call.
 *
 * Devices: this machine has no camera, so the test registers a GStreamer
 * device provider of its own whose "cameras" make videotestsrc elements.
 * GstDeviceMonitor lists them as it would real ones, and the test plugs
 * them in and out; the call's choice and its following an unplugged
 * camera go through the same code as with real hardware.
 */
#define G_LOG_DOMAIN "test-call-media"

#include "config.h"

#include <string.h>

#include "natter-call-private.h"
#include "natter-media-devices.h"
#include "natter-peer-private.h"
#include "natter-protocol.h"
#include "natter-test-wait.h"

/* A stand-in camera: what GStreamer's v4l2 provider would list */
#define TEST_TYPE_DEVICE (test_device_get_type ())
G_DECLARE_FINAL_TYPE (TestDevice, test_device, TEST, DEVICE, GstDevice)

struct _TestDevice
{
  GstDevice parent_instance;
};

G_DEFINE_FINAL_TYPE (TestDevice, test_device, GST_TYPE_DEVICE)

static GstElement *
test_device_create_element (GstDevice  *device,
                            const char *name)
{
  g_autoptr(GstStructure) props = gst_device_get_properties (device);
  g_autofree char *element_name = g_path_get_basename (gst_structure_get_string (props,
                                                                                 "device.path"));
  GstElement *element = gst_element_factory_make ("videotestsrc", element_name);

  g_object_set (element, "is-live", TRUE, NULL);
  return element;
}

static void
test_device_class_init (TestDeviceClass *klass)
{
  GST_DEVICE_CLASS (klass)->create_element = test_device_create_element;
}

static void
test_device_init (TestDevice *self)
{
}

#define TEST_TYPE_PROVIDER (test_provider_get_type ())
G_DECLARE_FINAL_TYPE (TestProvider, test_provider, TEST, PROVIDER, GstDeviceProvider)

struct _TestProvider
{
  GstDeviceProvider parent_instance;
};

G_DEFINE_FINAL_TYPE (TestProvider, test_provider, GST_TYPE_DEVICE_PROVIDER)

/* Each monitor has a provider of its own, as with the system's (v4l2,
 * PipeWire), each of which hears of every device that comes or goes */
static GPtrArray *providers;     /* TestProvider, started, unowned */
static GPtrArray *plugged;       /* GstDevice: the cameras plugged in */

static GstDevice *
camera_new (const char *name,
            const char *path)
{
  g_autoptr(GstCaps) caps = gst_caps_new_empty_simple ("video/x-raw");
  g_autoptr(GstStructure) props = gst_structure_new ("properties", "device.path", G_TYPE_STRING,
                                                     path, NULL);

  return g_object_new (TEST_TYPE_DEVICE, "display-name", name, "device-class", "Video/Source",
                       "caps", caps, "properties", props, NULL);
}

static gboolean
test_provider_start (GstDeviceProvider *self)
{
  g_ptr_array_add (providers, self);
  for (guint i = 0; i < plugged->len; i++)
    {
      g_autoptr(GstStructure) props = gst_device_get_properties (plugged->pdata[i]);
      g_autofree char *name = gst_device_get_display_name (plugged->pdata[i]);

      gst_device_provider_device_add (self, camera_new (name, gst_structure_get_string (
                                                          props, "device.path")));
    }
  return TRUE;
}

static void
test_provider_stop (GstDeviceProvider *self)
{
  g_ptr_array_remove (providers, self);
}

/* The camera at @path is unplugged: every provider loses it */
static void
unplug (const char *path)
{
  for (guint p = 0; p < providers->len; p++)
    {
      GList *devices = gst_device_provider_get_devices (providers->pdata[p]);

      for (GList *l = devices; l != NULL; l = l->next)
        {
          g_autoptr(GstStructure) props = gst_device_get_properties (l->data);

          if (g_strcmp0 (gst_structure_get_string (props, "device.path"), path) == 0)
            gst_device_provider_device_remove (providers->pdata[p], l->data);
        }
      g_list_free_full (devices, gst_object_unref);
    }
}

static void
test_provider_class_init (TestProviderClass *klass)
{
  GstDeviceProviderClass *provider_class = GST_DEVICE_PROVIDER_CLASS (klass);

  provider_class->start = test_provider_start;
  provider_class->stop = test_provider_stop;
  gst_device_provider_class_set_static_metadata (provider_class, "Natter test cameras",
                                                 "Source/Video", "Cameras for the tests",
                                                 "Natter");
}

static void
test_provider_init (TestProvider *self)
{
}

static gboolean
plugin_init (GstPlugin *plugin)
{
  return gst_device_provider_register (plugin, "nattertestcameras", GST_RANK_PRIMARY,
                                       TEST_TYPE_PROVIDER);
}


static gboolean
have (const char *factory)
{
  g_autoptr(GstElementFactory) found = gst_element_factory_find (factory);

  return found != NULL;
}

/* Every element in the call's sources and sinks, at any depth */
static GPtrArray *
all_elements (NatterPeer *peer)
{
  g_autoptr(GPtrArray) bins = _natter_peer_media_dup_bins (peer);
  GPtrArray *elements = g_ptr_array_new_with_free_func (gst_object_unref);

  for (guint i = 0; i < bins->len; i++)
    {
      g_autoptr(GstIterator) it = NULL;
      GValue item = G_VALUE_INIT;

      g_ptr_array_add (elements, gst_object_ref (bins->pdata[i]));
      if (!GST_IS_BIN (bins->pdata[i]))
        continue;
      it = gst_bin_iterate_recurse (GST_BIN (bins->pdata[i]));
      while (gst_iterator_next (it, &item) == GST_ITERATOR_OK)
        {
          g_ptr_array_add (elements, gst_object_ref (g_value_get_object (&item)));
          g_value_reset (&item);
        }
      g_value_unset (&item);
    }
  return elements;
}

static const char *
factory_of (GstElement *element)
{
  GstElementFactory *factory = gst_element_get_factory (element);

  return factory != NULL ? GST_OBJECT_NAME (factory) : "";
}

/* The first element made by @factory (or named @name) */
static GstElement *
find_element (NatterPeer *peer,
              const char *factory,
              const char *name)
{
  g_autoptr(GPtrArray) elements = all_elements (peer);

  for (guint i = 0; i < elements->len; i++)
    if ((factory != NULL && g_str_equal (factory_of (elements->pdata[i]), factory)) ||
        (name != NULL && g_str_equal (GST_OBJECT_NAME (elements->pdata[i]), name)))
      return gst_object_ref (elements->pdata[i]);
  return NULL;
}

static guint
count_elements (NatterPeer *peer,
                const char *factory)
{
  g_autoptr(GPtrArray) elements = all_elements (peer);
  guint n = 0;

  for (guint i = 0; i < elements->len; i++)
    n += g_str_equal (factory_of (elements->pdata[i]), factory);
  return n;
}

static NatterPeer *
peer_with_video (NatterCallMediaFlags flags,
                 gboolean             video,
                 const char          *camera,
                 NatterCall         **call_out)
{
  guint8 public_key[NATTER_PUBLIC_KEY_SIZE];
  guint8 secret_key[NATTER_SECRET_KEY_SIZE];
  g_autofree char *someone = NULL;
  g_autoptr(NatterIdentity) identity = natter_identity_new_ephemeral ();
  g_autoptr(NatterPeer) peer = NULL;
  g_autoptr(NatterCall) call = NULL;
  g_autoptr(GError) error = NULL;

  natter_keypair_generate (public_key, secret_key);
  someone = natter_user_id_from_public_key (public_key);
  peer = natter_peer_new (identity, someone, NULL, TRUE);
  call = _natter_call_new ("c1", someone, NATTER_CALL_DIRECTION_OUT, !video);
  _natter_call_set_devices (call, camera, NULL, NULL);

  g_assert_true (_natter_call_media_add (call, peer, flags, &error));
  g_assert_no_error (error);
  *call_out = g_steal_pointer (&call);
  return g_steal_pointer (&peer);
}

static NatterPeer *
peer_with_media (NatterCallMediaFlags flags,
                 NatterCall         **call_out)
{
  return peer_with_video (flags, FALSE, NULL, call_out);
}

static void
on_device_lost (NatterCall        *call,
                NatterMediaDevice *device,
                gpointer           user_data)
{
  char **lost = user_data;

  g_free (*lost);
  *lost = g_strdup (natter_media_device_get_id (device));
}

static void
test_chosen_camera_followed (void)
{
  g_autoptr(NatterMediaDevices) cameras = NULL;
  g_autoptr(NatterCall) call = NULL;
  g_autoptr(NatterPeer) peer = NULL;
  g_autoptr(GstElement) second = NULL;
  g_autoptr(GstElement) valve = NULL;
  g_autofree char *lost = NULL;
  gboolean drop = FALSE;

  g_ptr_array_add (plugged, camera_new ("Test Camera One", "/dev/test-camera-1"));
  g_ptr_array_add (plugged, camera_new ("Test Camera Two", "/dev/test-camera-2"));

  /* The list, as preferences show it */
  cameras = natter_media_devices_new (NATTER_MEDIA_DEVICE_CAMERA);
  g_assert_nonnull (natter_media_devices_find (cameras, "/dev/test-camera-1"));
  g_assert_cmpstr (natter_media_device_get_name (natter_media_devices_find (cameras,
                                                   "/dev/test-camera-2")),
                   ==, "Test Camera Two");

  /* The call takes the chosen one, not the first */
  peer = peer_with_video (NATTER_CALL_MEDIA_DEVICES | NATTER_CALL_MEDIA_NO_PLAYBACK, TRUE,
                          "/dev/test-camera-2", &call);
  second = find_element (peer, NULL, "test-camera-2");
  g_assert_nonnull (second);
  g_assert_null (find_element (peer, NULL, "test-camera-1"));
  g_assert_true (natter_call_get_camera_on (call));
  g_signal_connect (call, "device-lost", G_CALLBACK (on_device_lost), &lost);

  /* The other camera goes: nothing happens to the call */
  unplug ("/dev/test-camera-1");
  WAIT_FOR (natter_media_devices_find (cameras, "/dev/test-camera-1") == NULL);
  g_assert_null (lost);
  g_assert_true (natter_call_get_camera_on (call));

  /* Its own goes: video off, and the owner hears which */
  unplug ("/dev/test-camera-2");
  WAIT_FOR (lost != NULL);
  g_assert_cmpstr (lost, ==, "/dev/test-camera-2");
  g_assert_false (natter_call_get_camera_on (call));
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (cameras)), ==, 0);
  valve = find_element (peer, "valve", NULL);
  g_object_get (valve, "drop", &drop, NULL);
  g_assert_true (drop);

  natter_peer_close (peer);
  g_ptr_array_set_size (plugged, 0);
}

static void
on_handoff (GstElement *sink,
            GstBuffer  *buffer,
            GstPad     *pad,
            gpointer    user_data)
{
  g_atomic_int_inc ((int *) user_data);
}

static void
test_switch_camera_mid_stream (void)
{
  g_autoptr(NatterCall) call = NULL;
  g_autoptr(NatterPeer) peer = NULL;
  g_autoptr(GstElement) source = NULL;
  g_autoptr(GstElement) pipeline = gst_pipeline_new ("test");
  g_autoptr(GstElement) first = NULL;
  g_autoptr(GstElement) second = NULL;
  g_autoptr(GError) error = NULL;
  GstElement *sink = gst_element_factory_make ("fakesink", NULL);
  int frames = 0;
  int before;

  g_ptr_array_add (plugged, camera_new ("Test Camera One", "/dev/test-camera-1"));
  g_ptr_array_add (plugged, camera_new ("Test Camera Two", "/dev/test-camera-2"));
  peer = peer_with_video (NATTER_CALL_MEDIA_DEVICES | NATTER_CALL_MEDIA_NO_PLAYBACK, TRUE,
                          "/dev/test-camera-1", &call);

  /* The call's video source, running as it would in the call's pipeline */
  source = find_element (peer, NULL, "call-video-source");
  g_assert_nonnull (source);
  g_object_set (sink, "signal-handoffs", TRUE, "sync", FALSE, NULL);
  g_signal_connect (sink, "handoff", G_CALLBACK (on_handoff), &frames);
  gst_bin_add_many (GST_BIN (pipeline), gst_object_ref (source), sink, NULL);
  g_assert_true (gst_element_link (source, sink));
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  WAIT_FOR (g_atomic_int_get (&frames) >= 10);

  /* A camera that is not there is refused; the chosen one takes over */
  g_assert_false (_natter_call_media_switch (call, NATTER_MEDIA_DEVICE_CAMERA, "/dev/none",
                                             &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_assert_true (_natter_call_media_switch (call, NATTER_MEDIA_DEVICE_CAMERA,
                                            "/dev/test-camera-2", NULL));
  first = find_element (peer, NULL, "test-camera-1");
  second = find_element (peer, NULL, "test-camera-2");
  g_assert_null (first);
  g_assert_nonnull (second);

  /* ... and the frames go on */
  before = g_atomic_int_get (&frames);
  WAIT_FOR (g_atomic_int_get (&frames) >= before + 10);
  g_assert_cmpint (GST_STATE (second), ==, GST_STATE_PLAYING);

  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_bin_remove (GST_BIN (pipeline), source);
  natter_peer_close (peer);
  g_ptr_array_set_size (plugged, 0);
}

static void
test_echo_cancellation_with_devices (void)
{
  g_autoptr(NatterCall) call = NULL;
  g_autoptr(NatterPeer) peer = peer_with_media (NATTER_CALL_MEDIA_DEVICES, &call);
  guint expected = have ("webrtcdsp") && have ("webrtcechoprobe") ? 1 : 0;

  if (expected == 0)
    g_test_message ("webrtcdsp or webrtcechoprobe is not installed: no echo cancellation");
  g_assert_cmpuint (count_elements (peer, "webrtcdsp"), ==, expected);
  g_assert_cmpuint (count_elements (peer, "webrtcechoprobe"), ==, expected);

  if (expected > 0)
    {
      /* The canceller listens to the probe of this call, before the speaker */
      g_autoptr(GstElement) dsp = find_element (peer, "webrtcdsp", NULL);
      g_autoptr(GstElement) probe = find_element (peer, "webrtcechoprobe", NULL);
      g_autofree char *probe_name = NULL;

      g_object_get (dsp, "probe", &probe_name, NULL);
      g_assert_cmpstr (probe_name, ==, GST_OBJECT_NAME (probe));
    }
  natter_peer_close (peer);
}

static void
test_no_echo_cancellation_for_test_media (void)
{
  g_autoptr(NatterCall) call = NULL;
  g_autoptr(NatterPeer) peer = peer_with_media (NATTER_CALL_MEDIA_TEST |
                                                NATTER_CALL_MEDIA_NO_PLAYBACK, &call);

  /* A tone is no microphone: nothing to cancel */
  g_assert_cmpuint (count_elements (peer, "webrtcdsp"), ==, 0);
  g_assert_cmpuint (count_elements (peer, "webrtcechoprobe"), ==, 0);
  g_assert_cmpuint (count_elements (peer, "audiotestsrc"), ==, 1);
  natter_peer_close (peer);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  gst_init (NULL, NULL);
  plugged = g_ptr_array_new_with_free_func (gst_object_unref);
  providers = g_ptr_array_new ();
  g_assert_true (gst_plugin_register_static (GST_VERSION_MAJOR, GST_VERSION_MINOR, "nattertest",
                                             "Natter's test devices", plugin_init, "1.0",
                                             "LGPL", "natter", "natter", "natter"));

  g_test_add_func ("/Natter/Core/CallMedia/echo-cancellation-with-devices",
                   test_echo_cancellation_with_devices);
  g_test_add_func ("/Natter/Core/CallMedia/no-echo-cancellation-for-test-media",
                   test_no_echo_cancellation_for_test_media);
  g_test_add_func ("/Natter/Core/CallMedia/chosen-camera-followed", test_chosen_camera_followed);
  g_test_add_func ("/Natter/Core/CallMedia/switch-camera-mid-stream",
                   test_switch_camera_mid_stream);

  return g_test_run ();
}
