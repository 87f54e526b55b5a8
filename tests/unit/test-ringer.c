/* test-ringer.c: NatterRinger plays the sound theme's file, or a tone, until stopped
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * What would be heard goes to a file (NATTER_SOUND_OUTPUT), where the
 * test reads the samples. The theme is a folder the test makes, with an
 * Ogg Vorbis file it encodes itself.
 */
#include "config.h"

#include <glib/gstdio.h>
#include <gst/gst.h>

#include "natter-ringer.h"
#include "natter-test-wait.h"
#include "natter-test-files.h"

#define RATE 48000
#define WINDOW (RATE / 10)   /* 100 ms */

static char *data_dir;

/* Samples written so far to @path (S16LE mono) */
static GArray *
read_samples (const char *path)
{
  g_autofree char *contents = NULL;
  gsize length = 0;
  GArray *samples = g_array_new (FALSE, FALSE, sizeof (gint16));

  if (g_file_get_contents (path, &contents, &length, NULL))
    g_array_append_vals (samples, contents, length / 2);
  return samples;
}

static gsize
file_size (const char *path)
{
  GStatBuf st;

  return g_stat (path, &st) == 0 ? (gsize) st.st_size : 0;
}

static double
window_power (GArray *samples,
            guint   start)
{
  double sum = 0;

  for (guint i = start; i < start + WINDOW && i < samples->len; i++)
    {
      double v = g_array_index (samples, gint16, i) / 32768.0;
      sum += v * v;
    }
  return sum / WINDOW;   /* the mean square */
}

static void
count_windows (GArray *samples,
               guint  *loud,
               guint  *quiet)
{
  *loud = *quiet = 0;
  for (guint start = 0; start + WINDOW <= samples->len; start += WINDOW)
    {
      double power = window_power (samples, start);

      /* Loud above -40 dB, quiet below -60 dB */
      if (power > 1e-4)
        (*loud)++;
      else if (power < 1e-6)
        (*quiet)++;
    }
}

static char *
output_file (const char *name)
{
  char *path = g_build_filename (data_dir, name, NULL);

  g_unlink (path);
  g_setenv ("NATTER_SOUND_OUTPUT", path, TRUE);
  return path;
}

static void
test_theme_file_loops (void)
{
  g_autoptr(NatterRinger) ringer = natter_ringer_new ();
  g_autofree char *expected = g_build_filename (data_dir, "sounds", "freedesktop", "stereo",
                                                "phone-incoming-call.oga", NULL);
  g_autofree char *found = NULL;
  g_autofree char *output = output_file ("incoming.raw");
  g_autoptr(GArray) samples = NULL;
  gsize played;
  guint loud, quiet;

  found = natter_ringer_find_sound (ringer, NATTER_RINGER_SOUND_INCOMING);
  g_assert_cmpstr (found, ==, expected);

  natter_ringer_play (ringer, NATTER_RINGER_SOUND_INCOMING);
  g_assert_true (natter_ringer_get_playing (ringer));
  g_assert_cmpstr (natter_ringer_get_file (ringer), ==, expected);

  /* The file is half a second long: three times that means it went round */
  WAIT_FOR (file_size (output) >= 3 * RATE / 2 * 2);
  natter_ringer_stop (ringer);
  g_assert_false (natter_ringer_get_playing (ringer));
  g_assert_null (natter_ringer_get_file (ringer));

  samples = read_samples (output);
  count_windows (samples, &loud, &quiet);
  g_assert_cmpuint (loud, >=, 10);

  /* Stopped means stopped */
  played = file_size (output);
  g_usleep (300 * 1000);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_cmpuint (file_size (output), ==, played);
}

static void
test_tone_without_theme (void)
{
  g_autoptr(NatterRinger) ringer = natter_ringer_new ();
  g_autofree char *output = output_file ("ringback.raw");
  g_autoptr(GArray) samples = NULL;
  guint loud = 0, quiet = 0;

  /* The made-up theme has no ringback sound, nor does "freedesktop" here */
  g_assert_null (natter_ringer_find_sound (ringer, NATTER_RINGER_SOUND_RINGBACK));

  natter_ringer_play (ringer, NATTER_RINGER_SOUND_RINGBACK);
  g_assert_true (natter_ringer_get_playing (ringer));
  g_assert_null (natter_ringer_get_file (ringer));

  /* A tone with pauses: both loud and quiet stretches come */
  while (loud < 3 || quiet < 3)
    {
      WAIT_FOR (file_size (output) >= (samples != NULL ? samples->len * 2 : 0) + RATE / 2);
      g_clear_pointer (&samples, g_array_unref);
      samples = read_samples (output);
      count_windows (samples, &loud, &quiet);
      g_assert_cmpuint (samples->len, <, 30 * RATE);
    }
  natter_ringer_stop (ringer);
  g_assert_false (natter_ringer_get_playing (ringer));
}

static void
test_theme_name_is_no_path (void)
{
  g_autoptr(NatterRinger) ringer = natter_ringer_new ();
  g_autofree char *found = NULL;
  g_autofree char *other = g_build_filename (data_dir, "sounds", "other", "stereo", NULL);
  g_autofree char *file = g_build_filename (other, "phone-outgoing-calling.oga", NULL);
  g_autofree char *source = g_build_filename (data_dir, "sounds", "freedesktop", "stereo",
                                              "phone-incoming-call.oga", NULL);
  g_autofree char *contents = NULL;
  gsize length;

  g_assert_true (g_file_get_contents (source, &contents, &length, NULL));
  g_assert_cmpint (g_mkdir_with_parents (other, 0700), ==, 0);
  g_assert_true (g_file_set_contents (file, contents, length, NULL));

  natter_ringer_set_theme (ringer, "../sounds/other");
  g_assert_null (natter_ringer_find_sound (ringer, NATTER_RINGER_SOUND_RINGBACK));
  natter_ringer_set_theme (ringer, "other");
  found = natter_ringer_find_sound (ringer, NATTER_RINGER_SOUND_RINGBACK);
  g_assert_cmpstr (found, ==, file);
  g_unlink (file);
}

/* Half a second of a tone as Ogg Vorbis, the sound theme's format */
static void
make_theme (void)
{
  g_autofree char *dir = g_build_filename (data_dir, "sounds", "freedesktop", "stereo", NULL);
  g_autofree char *path = g_build_filename (dir, "phone-incoming-call.oga", NULL);
  g_autofree char *command = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GstElement) pipeline = NULL;
  g_autoptr(GstBus) bus = NULL;
  g_autoptr(GstMessage) message = NULL;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  command = g_strdup_printf ("audiotestsrc num-buffers=25 samplesperbuffer=960 freq=660 ! "
                             "audioconvert ! vorbisenc ! oggmux ! filesink location=\"%s\"",
                             path);
  pipeline = gst_parse_launch (command, &error);
  g_assert_no_error (error);
  bus = gst_element_get_bus (pipeline);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  message = gst_bus_timed_pop_filtered (bus, 30 * GST_SECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  g_assert_nonnull (message);
  g_assert_cmpint (GST_MESSAGE_TYPE (message), ==, GST_MESSAGE_EOS);
  gst_element_set_state (pipeline, GST_STATE_NULL);
}

int
main (int argc, char *argv[])
{
  g_autofree char *home = NULL;
  int result;

  data_dir = g_dir_make_tmp ("natter-ringer-XXXXXX", NULL);
  home = g_build_filename (data_dir, "home", NULL);
  /* Before anything reads them: only the test's own theme is looked in */
  g_setenv ("XDG_DATA_DIRS", data_dir, TRUE);
  g_setenv ("XDG_DATA_HOME", home, TRUE);

  g_test_init (&argc, &argv, NULL);
  gst_init (NULL, NULL);
  make_theme ();

  g_test_add_func ("/Natter/Core/Ringer/theme-file-loops", test_theme_file_loops);
  g_test_add_func ("/Natter/Core/Ringer/tone-without-theme", test_tone_without_theme);
  g_test_add_func ("/Natter/Core/Ringer/theme-name-is-no-path", test_theme_name_is_no_path);
  result = g_test_run ();

  g_unsetenv ("NATTER_SOUND_OUTPUT");
  natter_test_remove_tree (data_dir);
  return result;
}
