/* natter-ringer.c: the sounds of a call that is not answered yet
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * An incoming call rings with the sound theme's `phone-incoming-call`, a
 * call we placed plays `phone-outgoing-calling` while the other side's
 * computer rings (the freedesktop sound theme names, looked up as the
 * sound theme specification says: $XDG_DATA_DIRS/sounds/THEME/stereo/
 * NAME.oga, the user's theme first, then "freedesktop"). The file plays
 * through GStreamer's playbin, again and again without a gap, until
 * natter_ringer_stop(). Where no theme has the sound (a Flatpak runtime
 * without one, a minimal system) a tone is made instead: a European
 * ringback (425 Hz, one second on, four off) or a double ring.
 *
 * NATTER_SOUND_OUTPUT=FILE in the environment writes what would be heard
 * to FILE (raw signed 16-bit little-endian mono at 48 kHz, appended) rather
 * than to the speakers: the tests listen there.
 */
#define G_LOG_DOMAIN "natter-ringer"

#include "config.h"

#include <gst/gst.h>

#include "natter-ringer.h"

#define TONE_VOLUME 0.3

enum {
  PROP_0,
  PROP_PLAYING,
  PROP_FILE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

struct _NatterRinger
{
  GObject           parent_instance;

  char             *theme;
  NatterRingerSound sound;
  GstElement       *pipeline;
  GstElement       *gate;       /* the tone's volume, muted between rings */
  char             *file;       /* what plays, NULL for the tone */
  guint             bus_watch;
  guint             cadence_source;
  guint             cadence_step;
};

G_DEFINE_FINAL_TYPE (NatterRinger, natter_ringer, G_TYPE_OBJECT)

/* Milliseconds on, off, on, off, ... repeated */
static const guint ringback_cadence[] = { 1000, 4000 };
static const guint incoming_cadence[] = { 400, 200, 400, 2000 };

static const char *
sound_name (NatterRingerSound sound)
{
  return sound == NATTER_RINGER_SOUND_INCOMING ? "phone-incoming-call"
                                               : "phone-outgoing-calling";
}

static GstElement *
make_output (void)
{
  const char *output = g_getenv ("NATTER_SOUND_OUTPUT");
  g_autoptr(GError) error = NULL;
  GstElement *bin;

  if (output != NULL && output[0] != '\0')
    {
      g_autoptr(GstElement) sink = NULL;

      bin = gst_parse_bin_from_description ("audioconvert ! audioresample ! "
                                            "audio/x-raw,format=S16LE,channels=1,rate=48000 ! "
                                            "filesink name=file append=true",
                                            TRUE, &error);
      if (bin == NULL)
        goto failed;
      sink = gst_bin_get_by_name (GST_BIN (bin), "file");
      g_object_set (sink, "location", output, NULL);
      return bin;
    }

  bin = gst_parse_bin_from_description ("audioconvert ! audioresample ! autoaudiosink",
                                        TRUE, &error);
  if (bin != NULL)
    return bin;

failed:
  g_message ("No sound output for ringing: %s", error->message);
  return NULL;
}

static void stop_pipeline (NatterRinger *self);
static void play_tone (NatterRinger *self);

static gboolean
on_cadence (gpointer user_data)
{
  NatterRinger *self = user_data;
  const guint *cadence = self->sound == NATTER_RINGER_SOUND_INCOMING ? incoming_cadence
                                                                       : ringback_cadence;
  guint n = self->sound == NATTER_RINGER_SOUND_INCOMING ? G_N_ELEMENTS (incoming_cadence)
                                                        : G_N_ELEMENTS (ringback_cadence);

  self->cadence_step = (self->cadence_step + 1) % n;
  /* Even steps sound, odd ones are quiet */
  g_object_set (self->gate, "mute", self->cadence_step % 2 == 1, NULL);
  self->cadence_source = g_timeout_add (cadence[self->cadence_step], on_cadence, self);
  return G_SOURCE_REMOVE;
}

static gboolean
on_bus_message (GstBus     *bus,
                GstMessage *message,
                gpointer    user_data)
{
  NatterRinger *self = user_data;

  if (GST_MESSAGE_TYPE (message) == GST_MESSAGE_ERROR)
    {
      g_autoptr(GError) error = NULL;
      gboolean was_file = self->file != NULL;

      gst_message_parse_error (message, &error, NULL);
      g_message ("Ringing failed: %s", error->message);
      self->bus_watch = 0;
      stop_pipeline (self);
      /* A sound file that does not play: the tone, which needs nothing */
      if (was_file)
        play_tone (self);
      else
        g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PLAYING]);
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

static gboolean
start_pipeline (NatterRinger *self,
                GstElement   *pipeline)
{
  g_autoptr(GstBus) bus = gst_element_get_bus (pipeline);

  self->pipeline = gst_object_ref_sink (pipeline);
  self->bus_watch = gst_bus_add_watch (bus, on_bus_message, self);
  if (gst_element_set_state (pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    {
      g_message ("Ringing could not start");
      stop_pipeline (self);
      return FALSE;
    }
  return TRUE;
}

static void
play_tone (NatterRinger *self)
{
  g_autoptr(GstElement) pipeline = gst_pipeline_new ("natter-ringer");
  GstElement *source = gst_element_factory_make ("audiotestsrc", NULL);
  GstElement *gate = gst_element_factory_make ("volume", NULL);
  GstElement *output = make_output ();

  g_clear_pointer (&self->file, g_free);
  if (source == NULL || gate == NULL || output == NULL)
    {
      g_clear_object (&source);
      g_clear_object (&gate);
      g_clear_object (&output);
      g_message ("No tone for ringing: audiotestsrc or volume are missing");
      return;
    }

  g_object_set (source, "is-live", TRUE, "volume", TONE_VOLUME,
                "freq", self->sound == NATTER_RINGER_SOUND_INCOMING ? 440.0 : 425.0, NULL);
  gst_bin_add_many (GST_BIN (pipeline), source, gate, output, NULL);
  gst_element_link_many (source, gate, output, NULL);
  self->gate = gate;
  self->cadence_step = 0;
  if (!start_pipeline (self, g_steal_pointer (&pipeline)))
    return;
  self->cadence_source = g_timeout_add (self->sound == NATTER_RINGER_SOUND_INCOMING ?
                                        incoming_cadence[0] : ringback_cadence[0],
                                        on_cadence, self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FILE]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PLAYING]);
}

/* On a streaming thread: the same file again, without a gap */
static void
on_about_to_finish (GstElement *playbin,
                    gpointer    user_data)
{
  g_autofree char *uri = NULL;

  g_object_get (playbin, "current-uri", &uri, NULL);
  g_object_set (playbin, "uri", uri, NULL);
}

static gboolean
play_file (NatterRinger *self,
           const char   *path)
{
  g_autoptr(GstElement) playbin = gst_element_factory_make ("playbin", "natter-ringer");
  g_autoptr(GError) error = NULL;
  g_autofree char *uri = gst_filename_to_uri (path, &error);
  GstElement *output;

  if (playbin == NULL || uri == NULL)
    return FALSE;
  output = make_output ();
  if (output == NULL)
    return FALSE;

  g_object_set (playbin, "uri", uri, "audio-sink", output, NULL);
  g_signal_connect (playbin, "about-to-finish", G_CALLBACK (on_about_to_finish), NULL);
  self->file = g_strdup (path);
  if (!start_pipeline (self, g_steal_pointer (&playbin)))
    {
      g_clear_pointer (&self->file, g_free);
      return FALSE;
    }
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FILE]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PLAYING]);
  return TRUE;
}

static void
stop_pipeline (NatterRinger *self)
{
  g_clear_handle_id (&self->cadence_source, g_source_remove);
  g_clear_handle_id (&self->bus_watch, g_source_remove);
  if (self->pipeline != NULL)
    {
      gst_element_set_state (self->pipeline, GST_STATE_NULL);
      g_signal_handlers_disconnect_by_func (self->pipeline, on_about_to_finish, NULL);
    }
  gst_clear_object (&self->pipeline);
  self->gate = NULL;
}

static void
natter_ringer_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  NatterRinger *self = NATTER_RINGER (object);

  switch (prop_id)
    {
    case PROP_PLAYING:
      g_value_set_boolean (value, natter_ringer_get_playing (self));
      break;

    case PROP_FILE:
      g_value_set_string (value, self->file);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
natter_ringer_dispose (GObject *object)
{
  NatterRinger *self = NATTER_RINGER (object);

  stop_pipeline (self);

  G_OBJECT_CLASS (natter_ringer_parent_class)->dispose (object);
}

static void
natter_ringer_finalize (GObject *object)
{
  NatterRinger *self = NATTER_RINGER (object);

  g_free (self->theme);
  g_free (self->file);

  G_OBJECT_CLASS (natter_ringer_parent_class)->finalize (object);
}

static void
natter_ringer_class_init (NatterRingerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = natter_ringer_get_property;
  object_class->dispose = natter_ringer_dispose;
  object_class->finalize = natter_ringer_finalize;

  properties[PROP_PLAYING] =
    g_param_spec_boolean ("playing", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_FILE] =
    g_param_spec_string ("file", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
natter_ringer_init (NatterRinger *self)
{
}

NatterRinger *
natter_ringer_new (void)
{
  if (!gst_is_initialized ())
    gst_init (NULL, NULL);

  return g_object_new (NATTER_TYPE_RINGER, NULL);
}

/**
 * natter_ringer_set_theme:
 * @theme_name: (nullable): the desktop's sound theme; "freedesktop" is
 *   looked in after it
 */
void
natter_ringer_set_theme (NatterRinger *self,
                         const char   *theme_name)
{
  g_return_if_fail (NATTER_IS_RINGER (self));

  g_free (self->theme);
  /* A theme is a folder name, never a path */
  self->theme = theme_name != NULL && theme_name[0] != '\0' && theme_name[0] != '.' &&
                strchr (theme_name, '/') == NULL ? g_strdup (theme_name) : NULL;
}

/**
 * natter_ringer_find_sound:
 *
 * Returns: (transfer full) (nullable): the sound theme's file for @sound,
 *   or %NULL if no theme here has it
 */
char *
natter_ringer_find_sound (NatterRinger     *self,
                          NatterRingerSound sound)
{
  const char *themes[] = { self->theme, "freedesktop" };
  const char *extensions[] = { "oga", "ogg", "wav" };
  const char * const *system_dirs = g_get_system_data_dirs ();

  g_return_val_if_fail (NATTER_IS_RINGER (self), NULL);

  for (guint t = 0; t < G_N_ELEMENTS (themes); t++)
    {
      if (themes[t] == NULL)
        continue;
      for (int d = -1; d < 0 || system_dirs[d] != NULL; d++)
        for (guint e = 0; e < G_N_ELEMENTS (extensions); e++)
          {
            g_autofree char *name = g_strconcat (sound_name (sound), ".", extensions[e], NULL);
            g_autofree char *path = g_build_filename (d < 0 ? g_get_user_data_dir ()
                                                            : system_dirs[d],
                                                      "sounds", themes[t], "stereo", name, NULL);

            if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
              return g_steal_pointer (&path);
          }
    }
  return NULL;
}

/**
 * natter_ringer_play:
 *
 * Plays @sound again and again until natter_ringer_stop(); a sound that
 * plays already stops first.
 */
void
natter_ringer_play (NatterRinger     *self,
                    NatterRingerSound sound)
{
  g_autofree char *path = NULL;

  g_return_if_fail (NATTER_IS_RINGER (self));

  stop_pipeline (self);
  g_clear_pointer (&self->file, g_free);
  self->sound = sound;
  path = natter_ringer_find_sound (self, sound);
  if (path == NULL || !play_file (self, path))
    play_tone (self);
}

void
natter_ringer_stop (NatterRinger *self)
{
  g_return_if_fail (NATTER_IS_RINGER (self));

  if (self->pipeline == NULL)
    return;

  stop_pipeline (self);
  g_clear_pointer (&self->file, g_free);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FILE]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PLAYING]);
}

gboolean
natter_ringer_get_playing (NatterRinger *self)
{
  g_return_val_if_fail (NATTER_IS_RINGER (self), FALSE);

  return self->pipeline != NULL;
}

/**
 * natter_ringer_get_file:
 *
 * Returns: (nullable): the sound file that plays, %NULL for the made tone
 *   or when nothing plays
 */
const char *
natter_ringer_get_file (NatterRinger *self)
{
  g_return_val_if_fail (NATTER_IS_RINGER (self), NULL);

  return self->file;
}
