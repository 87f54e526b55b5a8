/* natter-test-server.c: runs the real natter-server binary for tests
 *
 * The binary comes from the environment variable NATTER_SERVER (set by
 * tests/server/meson.build). NATTER_SERVER_WRAPPER, when set, is a command
 * line put in front of it (valgrind, say); NATTER_TEST_TIMEOUT_FACTOR
 * stretches every timeout for such slow runs.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "natter-test-server"

#include "config.h"

#include <glib/gstdio.h>
#include <libsoup/soup.h>
#include <signal.h>
#include <sys/resource.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "natter-test-server.h"

#define START_TIMEOUT_MS 20000
#define STOP_TIMEOUT_MS  20000
#define HTTP_TIMEOUT_MS  10000

struct _NatterTestServer
{
  GObject      parent_instance;

  GPtrArray   *options;
  char        *data_dir;
  GSubprocess *process;
  SoupSession *session;
  guint16      port;
  gboolean     tls;
  guint        fd_limit;
  GThread     *log_thread;
  GMutex       log_lock;
  GString     *log;            /* all the server wrote to stderr; under log_lock */
};

G_DEFINE_FINAL_TYPE (NatterTestServer, natter_test_server, G_TYPE_OBJECT)

static gboolean
on_wait_timeout (gpointer user_data)
{
  gboolean *timed_out = user_data;

  *timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

/* Runs the default main context until *flag is TRUE or the timeout passes.
 * Returns *flag. */
gboolean
natter_test_wait_until (const gboolean *flag,
                        guint           timeout_ms)
{
  gboolean timed_out = FALSE;
  guint timeout_id;

  g_assert (flag != NULL);

  timeout_id = g_timeout_add (timeout_ms, on_wait_timeout, &timed_out);
  while (!*flag && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (timeout_id);

  return *flag;
}

/* Keeps the main context running (clients keep receiving) for ms. */
void
natter_test_sleep_ms (guint ms)
{
  gboolean never = FALSE;

  natter_test_wait_until (&never, ms);
}

/* Fails the running test with a message (TAP "Bail out!"). */
G_NORETURN void
natter_test_fail (const char *format,
                  ...)
{
  g_autofree char *message = NULL;
  g_autofree char *text = NULL;
  va_list args;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);

  message = g_strdup_printf ("%s: %s", g_test_get_path (), text);
  g_assertion_message (G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC, message);
  g_abort ();
}

gboolean
natter_test_server_available (void)
{
  const char *path = g_getenv ("NATTER_SERVER");

  return path != NULL && g_file_test (path, G_FILE_TEST_IS_EXECUTABLE);
}

gboolean
natter_test_under_valgrind (void)
{
  const char *wrapper = g_getenv ("NATTER_SERVER_WRAPPER");

  return wrapper != NULL && strstr (wrapper, "valgrind") != NULL;
}

/* Whether this build runs under AddressSanitizer (the server too) */
gboolean
natter_test_under_sanitizer (void)
{
#ifdef __SANITIZE_ADDRESS__
  return TRUE;
#else
  return FALSE;
#endif
}

guint
natter_test_timeout_ms (guint base_ms)
{
  const char *factor = g_getenv ("NATTER_TEST_TIMEOUT_FACTOR");
  guint64 n = 1;

  if (factor != NULL && *factor != '\0')
    n = MAX (1, g_ascii_strtoull (factor, NULL, 10));

  return (guint) MIN ((guint64) base_ms * n, G_MAXUINT);
}

/* Removes a file, or a directory with everything below it. */
void
natter_test_remove_tree (const char *path)
{
  g_autoptr(GDir) dir = NULL;

  if (!g_file_test (path, G_FILE_TEST_IS_SYMLINK) && g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      const char *name;

      dir = g_dir_open (path, 0, NULL);
      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);

          natter_test_remove_tree (child);
        }
      g_rmdir (path);
    }
  else
    {
      g_unlink (path);
    }
}

static void
child_setup (gpointer user_data)
{
  NatterTestServer *self = user_data;

#ifdef __linux__
  /* Do not outlive a test that aborted. */
  prctl (PR_SET_PDEATHSIG, SIGTERM);
#endif

  if (self->fd_limit > 0)
    {
      struct rlimit limit = { self->fd_limit, self->fd_limit };

      setrlimit (RLIMIT_NOFILE, &limit);
    }
}

typedef struct
{
  char     *line;
  gboolean  done;
} LineRead;

static void
on_port_line (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  LineRead *read = user_data;

  read->line = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (source), result,
                                                          NULL, NULL);
  read->done = TRUE;
}

static void
on_stdout_drained (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_output_stream_splice_finish (G_OUTPUT_STREAM (source), result, NULL);
}

static GStrv
build_argv (NatterTestServer *self)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  const char *wrapper = g_getenv ("NATTER_SERVER_WRAPPER");

  if (wrapper != NULL && *wrapper != '\0')
    {
      g_auto(GStrv) wrapper_argv = NULL;
      g_autoptr(GError) error = NULL;

      g_shell_parse_argv (wrapper, NULL, &wrapper_argv, &error);
      g_assert_no_error (error);
      g_strv_builder_addv (builder, (const char **) wrapper_argv);
    }

  g_strv_builder_add_many (builder,
                           g_getenv ("NATTER_SERVER"),
                           "--address", "127.0.0.1",
                           "--port", "0",
                           "--print-port",
                           "--data-dir", self->data_dir,
                           NULL);
  for (guint i = 0; i < self->options->len; i++)
    g_strv_builder_add (builder, g_ptr_array_index (self->options, i));

  return g_strv_builder_end (builder);
}

typedef struct
{
  NatterTestServer *self;
  GInputStream *stderr_pipe;
} LogReader;

/* Copies the server's stderr to ours and keeps it, in a thread of its own
 * so that the server never blocks on a full pipe while a test blocks on a
 * socket. */
static gpointer
read_log (gpointer data)
{
  LogReader *reader = data;
  char buffer[4096];
  gssize n;

  while ((n = g_input_stream_read (reader->stderr_pipe, buffer, sizeof buffer, NULL, NULL)) > 0)
    {
      fwrite (buffer, 1, n, stderr);
      g_mutex_lock (&reader->self->log_lock);
      g_string_append_len (reader->self->log, buffer, n);
      g_mutex_unlock (&reader->self->log_lock);
    }

  g_object_unref (reader->stderr_pipe);
  g_free (reader);

  return NULL;
}

static void
natter_test_server_start (NatterTestServer *self)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GDataInputStream) output = NULL;
  g_autoptr(GOutputStream) sink = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) argv = NULL;
  LineRead read = { NULL, FALSE };
  guint64 port;

  g_assert (self->process == NULL);

  argv = build_argv (self);
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                        G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_set_child_setup (launcher, child_setup, self, NULL);
  self->process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv, &error);
  g_assert_no_error (error);
  {
    LogReader *reader = g_new (LogReader, 1);

    reader->self = self;
    reader->stderr_pipe = g_object_ref (g_subprocess_get_stderr_pipe (self->process));
    g_assert (self->log_thread == NULL);
    self->log_thread = g_thread_new ("server-log", read_log, reader);
  }

  output = g_data_input_stream_new (g_subprocess_get_stdout_pipe (self->process));
  g_data_input_stream_read_line_async (output, G_PRIORITY_DEFAULT, NULL, on_port_line, &read);
  if (!natter_test_wait_until (&read.done, natter_test_timeout_ms (START_TIMEOUT_MS)))
    natter_test_fail ("natter-server did not print its port in time");
  if (read.line == NULL)
    natter_test_fail ("natter-server exited before printing its port");

  g_strstrip (read.line);
  g_assert_true (g_ascii_string_to_unsigned (read.line, 10, 1, G_MAXUINT16, &port, NULL));
  self->port = (guint16) port;
  g_free (read.line);

  /* Whatever else the server prints must not fill the pipe and block it. */
  sink = g_memory_output_stream_new_resizable ();
  g_output_stream_splice_async (sink, G_INPUT_STREAM (output),
                                G_OUTPUT_STREAM_SPLICE_CLOSE_SOURCE |
                                G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET,
                                G_PRIORITY_DEFAULT, NULL, on_stdout_drained, NULL);
}

static void
on_process_exited (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  gboolean *exited = user_data;

  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  *exited = TRUE;
}

/* Sends SIGTERM and asserts a clean exit with status 0 (under valgrind: no
 * errors and no definite leaks, which make it exit 99). */
void
natter_test_server_stop (NatterTestServer *self)
{
  g_autoptr(GSubprocess) process = NULL;
  gboolean exited = FALSE;
  int status;

  g_return_if_fail (NATTER_IS_TEST_SERVER (self));
  g_return_if_fail (self->process != NULL);

  process = g_steal_pointer (&self->process);
  g_subprocess_wait_async (process, NULL, on_process_exited, &exited);
  g_subprocess_send_signal (process, SIGTERM);
  if (!natter_test_wait_until (&exited, natter_test_timeout_ms (STOP_TIMEOUT_MS)))
    {
      g_subprocess_force_exit (process);
      natter_test_wait_until (&exited, natter_test_timeout_ms (STOP_TIMEOUT_MS));
      natter_test_fail ("natter-server did not exit within %u ms of SIGTERM",
               natter_test_timeout_ms (STOP_TIMEOUT_MS));
    }

  /* The pipe is at its end once the process is gone. */
  g_clear_pointer (&self->log_thread, g_thread_join);

  if (g_subprocess_get_if_signaled (process))
    natter_test_fail ("natter-server was killed by signal %d", g_subprocess_get_term_sig (process));
  g_assert_true (g_subprocess_get_if_exited (process));
  status = g_subprocess_get_exit_status (process);
  if (status != 0)
    natter_test_fail ("natter-server exited with status %d%s", status,
                      natter_test_under_valgrind ()
                        ? " (valgrind found errors or definite leaks, see its report above)"
                        : "");
}

/* Stops the server and starts it again on the same data directory. The
 * port changes. */
void
natter_test_server_restart (NatterTestServer *self)
{
  g_return_if_fail (NATTER_IS_TEST_SERVER (self));

  natter_test_server_stop (self);
  natter_test_server_start (self);
}

gboolean
natter_test_server_is_tls (NatterTestServer *self)
{
  g_return_val_if_fail (NATTER_IS_TEST_SERVER (self), FALSE);

  return self->tls;
}

guint16
natter_test_server_get_port (NatterTestServer *self)
{
  g_return_val_if_fail (NATTER_IS_TEST_SERVER (self), 0);

  return self->port;
}

/* path starts with '/'. "/ws" gives the WebSocket URI, anything else an
 * HTTP one. */
char *
natter_test_server_get_uri (NatterTestServer *self,
                            const char       *path)
{
  const char *scheme;

  g_return_val_if_fail (NATTER_IS_TEST_SERVER (self), NULL);
  g_return_val_if_fail (path != NULL && path[0] == '/', NULL);

  if (g_str_equal (path, "/ws"))
    scheme = self->tls ? "wss" : "ws";
  else
    scheme = self->tls ? "https" : "http";

  return g_strdup_printf ("%s://127.0.0.1:%u%s", scheme, self->port, path);
}

static gboolean
on_accept_certificate (SoupMessage          *message,
                       GTlsCertificate      *certificate,
                       GTlsCertificateFlags  errors,
                       gpointer              user_data)
{
  /* The tests generate a self-signed certificate for 127.0.0.1. */
  return TRUE;
}

typedef struct
{
  GBytes   *body;
  GError   *error;
  gboolean  done;
} HttpRead;

static void
on_http_read (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  HttpRead *read = user_data;

  read->body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &read->error);
  read->done = TRUE;
}

/* GETs path, asserts status 200 and a JSON object body, returns it. */
JsonObject *
natter_test_server_get_json (NatterTestServer *self,
                             const char       *path)
{
  g_autoptr(SoupMessage) message = NULL;
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *uri = NULL;
  HttpRead read = { NULL, NULL, FALSE };
  JsonNode *root;

  g_return_val_if_fail (NATTER_IS_TEST_SERVER (self), NULL);

  uri = natter_test_server_get_uri (self, path);
  message = soup_message_new (SOUP_METHOD_GET, uri);
  g_signal_connect (message, "accept-certificate", G_CALLBACK (on_accept_certificate), NULL);
  soup_session_send_and_read_async (self->session, message, G_PRIORITY_DEFAULT, NULL,
                                    on_http_read, &read);
  if (!natter_test_wait_until (&read.done, natter_test_timeout_ms (HTTP_TIMEOUT_MS)))
    natter_test_fail ("GET %s timed out", path);
  g_assert_no_error (read.error);
  body = read.body;
  g_assert_cmpuint (soup_message_get_status (message), ==, SOUP_STATUS_OK);

  parser = json_parser_new ();
  json_parser_load_from_data (parser, g_bytes_get_data (body, NULL), g_bytes_get_size (body),
                              &error);
  g_assert_no_error (error);
  root = json_parser_get_root (parser);
  g_assert_nonnull (root);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (root));

  return json_object_ref (json_node_get_object (root));
}

static void
natter_test_server_dispose (GObject *object)
{
  NatterTestServer *self = NATTER_TEST_SERVER (object);

  if (self->process != NULL)
    natter_test_server_stop (self);
  g_clear_object (&self->session);

  G_OBJECT_CLASS (natter_test_server_parent_class)->dispose (object);
}

static void
natter_test_server_finalize (GObject *object)
{
  NatterTestServer *self = NATTER_TEST_SERVER (object);

  if (self->data_dir != NULL)
    natter_test_remove_tree (self->data_dir);
  g_clear_pointer (&self->data_dir, g_free);
  g_clear_pointer (&self->options, g_ptr_array_unref);
  g_string_free (self->log, TRUE);
  g_mutex_clear (&self->log_lock);

  G_OBJECT_CLASS (natter_test_server_parent_class)->finalize (object);
}

static void
natter_test_server_class_init (NatterTestServerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = natter_test_server_dispose;
  object_class->finalize = natter_test_server_finalize;
}

static void
natter_test_server_init (NatterTestServer *self)
{
  g_autoptr(GError) error = NULL;

  self->options = g_ptr_array_new_with_free_func (g_free);
  g_mutex_init (&self->log_lock);
  self->log = g_string_new (NULL);
  self->session = soup_session_new ();
  self->data_dir = g_dir_make_tmp ("natter-server-test-XXXXXX", &error);
  g_assert_no_error (error);
}

/* Starts natter-server on a free loopback port with a fresh data directory
 * and the given extra command-line options (NULL-terminated). The caller
 * must have checked natter_test_server_available(). */
static NatterTestServer *
server_new_valist (guint       fd_limit,
                   const char *first_option,
                   va_list     args)
{
  NatterTestServer *self;
  const char *option;

  g_return_val_if_fail (natter_test_server_available (), NULL);

  self = g_object_new (NATTER_TYPE_TEST_SERVER, NULL);
  self->fd_limit = fd_limit;

  for (option = first_option; option != NULL; option = va_arg (args, const char *))
    {
      if (g_str_equal (option, "--tls-certificate"))
        self->tls = TRUE;
      g_ptr_array_add (self->options, g_strdup (option));
    }

  natter_test_server_start (self);

  return self;
}

NatterTestServer *
natter_test_server_new (const char *first_option,
                        ...)
{
  NatterTestServer *self;
  va_list args;

  va_start (args, first_option);
  self = server_new_valist (0, first_option, args);
  va_end (args);

  return self;
}

/* The same with the limit of open files (soft and hard) set to fd_limit
 * for the server process. */
NatterTestServer *
natter_test_server_new_with_fd_limit (guint       fd_limit,
                                      const char *first_option,
                                      ...)
{
  NatterTestServer *self;
  va_list args;

  va_start (args, first_option);
  self = server_new_valist (fd_limit, first_option, args);
  va_end (args);

  return self;
}

/* How many times the server has written text to its log so far. */
guint
natter_test_server_count_in_log (NatterTestServer *self,
                                 const char       *text)
{
  guint n = 0;

  g_return_val_if_fail (NATTER_IS_TEST_SERVER (self), 0);

  g_mutex_lock (&self->log_lock);
  for (const char *p = strstr (self->log->str, text); p != NULL; p = strstr (p + 1, text))
    n++;
  g_mutex_unlock (&self->log_lock);

  return n;
}

/* The VmRSS of the server process in KiB (under valgrind: of valgrind). */
guint64
natter_test_server_get_rss_kib (NatterTestServer *self)
{
  g_autofree char *path = NULL;
  g_autofree char *status = NULL;
  const char *line;
  guint64 kib = 0;

  g_return_val_if_fail (NATTER_IS_TEST_SERVER (self), 0);
  g_return_val_if_fail (self->process != NULL, 0);

  path = g_strdup_printf ("/proc/%s/status", g_subprocess_get_identifier (self->process));
  if (!g_file_get_contents (path, &status, NULL, NULL))
    natter_test_fail ("cannot read %s", path);
  line = strstr (status, "VmRSS:");
  g_assert_nonnull (line);
  kib = g_ascii_strtoull (line + strlen ("VmRSS:"), NULL, 10);

  return kib;
}
