/* natter-test-wait.h: run the main context until something holds
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

#ifndef WAIT_LIMIT_S
#define WAIT_LIMIT_S 60
#endif

static inline gboolean
natter_test_on_wake (gpointer user_data)
{
  return G_SOURCE_CONTINUE;
}

/* Iterates the default main context until @condition holds (a timer wakes
 * it up to look again); aborts the test after WAIT_LIMIT_S seconds */
#define WAIT_FOR(condition)                                                   \
  G_STMT_START {                                                              \
    gint64 wait_end = g_get_monotonic_time () + WAIT_LIMIT_S * G_USEC_PER_SEC; \
    guint wake_id = g_timeout_add (50, natter_test_on_wake, NULL);            \
    while (!(condition))                                                      \
      {                                                                       \
        if (g_get_monotonic_time () > wait_end)                               \
          g_error ("Gave up waiting for %s", #condition);                     \
        g_main_context_iteration (NULL, TRUE);                                \
      }                                                                       \
    g_source_remove (wake_id);                                                \
  } G_STMT_END
