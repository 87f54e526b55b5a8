/* natter-test-client.h: a NatterClient over a real store in a folder of its own
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib/gstdio.h>

#include "natter-client.h"

/* A client that is never started, so nothing leaves the process; its
 * history lives in a new folder, returned in @dir. */
static inline NatterClient *
natter_test_client_new (char **dir)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NatterIdentity) identity = natter_identity_new_ephemeral ();
  g_autoptr(NatterStore) store = NULL;
  g_autofree char *path = NULL;

  *dir = g_dir_make_tmp ("natter-test-client-XXXXXX", &error);
  g_assert_no_error (error);
  path = g_build_filename (*dir, "history.db", NULL);
  store = natter_store_new (path, &error);
  g_assert_no_error (error);

  return natter_client_new (identity, store, "ws://127.0.0.1:9/ws");
}

/* Finalizes @client (it must be the last reference) and removes its folder */
static inline void
natter_test_client_free (NatterClient *client,
                         char         *dir)
{
  const char *names[] = { "history.db", "history.db-wal", "history.db-shm" };

  g_assert_finalize_object (client);
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *path = g_build_filename (dir, names[i], NULL);

      g_unlink (path);
    }
  g_rmdir (dir);
  g_free (dir);
}
