/* fuzz-replay.c: runs a libFuzzer target over corpus files, without libFuzzer
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Usage: fuzz-replay-TARGET PATH...
 * Each PATH is a file or a directory of files (not recursive). Every input is
 * run once through LLVMFuzzerTestOneInput(); a failed assertion aborts. It is
 * how the corpus stays a regression test in ordinary builds.
 */
#define G_LOG_DOMAIN "fuzz-replay"

#include "config.h"

#include <stdlib.h>

#include <glib.h>

#include "fuzz-target.h"

static void
run_file (const char *path,
          guint      *n_run)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  gsize length = 0;

  if (!g_file_get_contents (path, &contents, &length, &error))
    {
      g_printerr ("%s\n", error->message);
      exit (EXIT_FAILURE);
    }

  g_print ("# %s (%" G_GSIZE_FORMAT " bytes)\n", path, length);
  LLVMFuzzerTestOneInput ((const uint8_t *) contents, length);
  (*n_run)++;
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return g_strcmp0 (*(const char * const *) a, *(const char * const *) b);
}

static void
run_directory (const char *path,
               guint      *n_run)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDir) dir = g_dir_open (path, 0, &error);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  if (dir == NULL)
    {
      g_printerr ("%s\n", error->message);
      exit (EXIT_FAILURE);
    }

  while ((name = g_dir_read_name (dir)) != NULL)
    {
      if (name[0] != '.')
        g_ptr_array_add (names, g_build_filename (path, name, NULL));
    }

  /* The same order everywhere, so a failure is easy to find again */
  g_ptr_array_sort (names, compare_names);

  for (guint i = 0; i < names->len; i++)
    {
      const char *file = g_ptr_array_index (names, i);

      if (g_file_test (file, G_FILE_TEST_IS_REGULAR))
        run_file (file, n_run);
    }
}

int
main (int   argc,
      char *argv[])
{
  guint n_run = 0;

  if (argc < 2)
    {
      g_printerr ("Usage: %s CORPUS-DIRECTORY-OR-FILE...\n", argv[0]);
      return EXIT_FAILURE;
    }

  LLVMFuzzerInitialize (&argc, &argv);

  for (int i = 1; i < argc; i++)
    {
      if (g_file_test (argv[i], G_FILE_TEST_IS_DIR))
        run_directory (argv[i], &n_run);
      else
        run_file (argv[i], &n_run);
    }

  g_print ("Ran %u inputs\n", n_run);

  /* An empty corpus tests nothing: that is a mistake, not a pass */
  return n_run > 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
