/* main.c: natter-server entry point
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "natter-server"

#include "config.h"

#include <errno.h>
#include <locale.h>
#include <stdio.h>
#include <signal.h>
#include <sys/resource.h>

#include <glib-unix.h>

#include "natter-protocol.h"

#include "natter-server.h"

#define SHUTDOWN_GRACE_MS 3000

typedef struct
{
  GMainLoop *loop;
  NatterServer *server;
  gint64 shutdown_deadline;
} Context;

static void
raise_file_limit (void)
{
  struct rlimit limit;

  if (getrlimit (RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max)
    return;

  limit.rlim_cur = limit.rlim_max;
  if (setrlimit (RLIMIT_NOFILE, &limit) != 0)
    g_message ("Cannot raise the limit of open files: %s", g_strerror (errno));
}

static gboolean
on_shutdown_tick (gpointer user_data)
{
  Context *context = user_data;

  if (natter_server_get_n_connections (context->server) > 0 &&
      g_get_monotonic_time () < context->shutdown_deadline)
    return G_SOURCE_CONTINUE;

  g_main_loop_quit (context->loop);
  return G_SOURCE_REMOVE;
}

static gboolean
on_signal (gpointer user_data)
{
  Context *context = user_data;

  if (context->shutdown_deadline != 0)
    return G_SOURCE_CONTINUE;

  context->shutdown_deadline = g_get_monotonic_time () + SHUTDOWN_GRACE_MS * 1000;
  natter_server_shutdown (context->server);
  g_timeout_add (20, on_shutdown_tick, context);

  return G_SOURCE_CONTINUE;
}

static void
enable_verbose_logging (void)
{
  if (g_getenv ("G_MESSAGES_DEBUG") == NULL)
    g_setenv ("G_MESSAGES_DEBUG",
              "natter-server natter-server-connection natter-server-store natter-server-config",
              TRUE);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(NatterServerConfig) config = NULL;
  g_autoptr(NatterServer) server = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  g_autoptr(GError) error = NULL;
  Context context = { 0, };
  guint sigterm_id, sigint_id;

  setlocale (LC_ALL, "");
  signal (SIGPIPE, SIG_IGN);
  g_set_prgname ("natter-server");
  /* Standard output carries only what --print-port prints. */
  g_log_writer_default_set_use_stderr (TRUE);

  config = natter_server_config_new ();
  if (!natter_server_config_parse (config, &argc, &argv, &error))
    {
      g_printerr ("natter-server: %s\n", error->message);
      g_printerr ("Run “natter-server --help” to see the options.\n");
      return 2;
    }

  if (natter_server_config_get_verbose (config))
    enable_verbose_logging ();

  if (!natter_protocol_init ())
    {
      g_printerr ("natter-server: the cryptography library failed to start\n");
      return 1;
    }

  raise_file_limit ();

  server = natter_server_new (config, &error);
  if (server == NULL)
    {
      g_printerr ("natter-server: %s\n", error->message);
      return 1;
    }

  /* Installed before listening, so that a signal arriving during start-up
   * still ends in a clean shutdown once the loop runs. */
  loop = g_main_loop_new (NULL, FALSE);
  context.loop = loop;
  context.server = server;
  sigterm_id = g_unix_signal_add (SIGTERM, on_signal, &context);
  sigint_id = g_unix_signal_add (SIGINT, on_signal, &context);

  if (!natter_server_listen (server, &error))
    {
      g_printerr ("natter-server: %s\n", error->message);
      g_source_remove (sigterm_id);
      g_source_remove (sigint_id);
      return 1;
    }

  if (natter_server_config_get_print_port (config))
    {
      printf ("%u\n", natter_server_get_port (server));
      fflush (stdout);
    }

  g_main_loop_run (loop);

  g_source_remove (sigterm_id);
  g_source_remove (sigint_id);
  g_message ("Stopped");

  return 0;
}
