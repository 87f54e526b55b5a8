/* natter-server-poller.c: one epoll source for all the connections of a main context
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * GLib's main loop hands every source's descriptors to poll() on every
 * iteration, so with one source per connection each iteration costs in
 * proportion to all the connections, idle ones included. A shard's
 * connections are watched here instead: one epoll descriptor, the only
 * one the main context sees (g_source_add_unix_fd()), with each
 * connection's socket registered once, edge-triggered, for input and
 * output. An iteration then costs what is ready, nothing more.
 *
 * Edge-triggered means a watch's callback hears of a change once: it must
 * read (or write) until the socket would block, or it will not be told
 * again. A watch may be removed from any callback, its own included; the
 * events still due to it in the same batch are dropped.
 */
#define G_LOG_DOMAIN "natter-server-poller"

#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <gio/gio.h>

#include "natter-server-poller.h"

#define MAX_EVENTS 256

struct _NatterServerPollerWatch
{
  int fd;
  NatterServerPollerFunc func;
  gpointer user_data;
  gboolean removed;
};

struct _NatterServerPoller
{
  int epoll_fd;
  GSource *source;
  guint n_watches;
  gboolean dispatching;
  GPtrArray *removed;       /* watches removed during a batch, freed after it */
  struct epoll_event events[MAX_EVENTS];
};

typedef struct
{
  GSource source;
  NatterServerPoller *poller;
} PollerSource;

static gboolean
poller_dispatch (GSource     *source,
                 GSourceFunc  callback,
                 gpointer     user_data)
{
  NatterServerPoller *self = ((PollerSource *) source)->poller;
  int n;

  n = epoll_wait (self->epoll_fd, self->events, MAX_EVENTS, 0);
  if (n < 0)
    {
      if (errno != EINTR)
        g_warning ("epoll_wait: %s", g_strerror (errno));
      return G_SOURCE_CONTINUE;
    }

  self->dispatching = TRUE;
  for (int i = 0; i < n; i++)
    {
      NatterServerPollerWatch *watch = self->events[i].data.ptr;

      if (!watch->removed)
        watch->func (self->events[i].events, watch->user_data);
    }
  self->dispatching = FALSE;

  g_ptr_array_set_size (self->removed, 0);

  return G_SOURCE_CONTINUE;
}

static GSourceFuncs poller_source_funcs = {
  .dispatch = poller_dispatch,
};

/**
 * natter_server_poller_new:
 * @context: where the poller's one source runs
 *
 * Returns: (transfer full) (nullable): a poller, or %NULL with @error set
 */
NatterServerPoller *
natter_server_poller_new (GMainContext  *context,
                          GError       **error)
{
  NatterServerPoller *self;
  int fd = epoll_create1 (EPOLL_CLOEXEC);
  int saved_errno = errno;

  if (fd < 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "Cannot create an epoll descriptor: %s", g_strerror (saved_errno));
      return NULL;
    }

  self = g_new0 (NatterServerPoller, 1);
  self->epoll_fd = fd;
  self->removed = g_ptr_array_new_with_free_func (g_free);
  self->source = g_source_new (&poller_source_funcs, sizeof (PollerSource));
  ((PollerSource *) self->source)->poller = self;
  g_source_set_static_name (self->source, "natter-server poller");
  g_source_add_unix_fd (self->source, fd, G_IO_IN);
  g_source_attach (self->source, context);

  return self;
}

/* Every watch must have been removed. */
void
natter_server_poller_free (NatterServerPoller *self)
{
  if (self == NULL)
    return;

  g_warn_if_fail (self->n_watches == 0);
  g_warn_if_fail (!self->dispatching);

  g_source_destroy (self->source);
  g_source_unref (self->source);
  close (self->epoll_fd);
  g_ptr_array_unref (self->removed);
  g_free (self);
}

/**
 * natter_server_poller_add:
 * @fd: a non-blocking descriptor, watched until natter_server_poller_remove()
 * @func: called in the poller's context with what epoll saw change
 *
 * Returns: (transfer none) (nullable): the watch, or %NULL with @error set
 */
NatterServerPollerWatch *
natter_server_poller_add (NatterServerPoller      *self,
                          int                      fd,
                          NatterServerPollerFunc   func,
                          gpointer                 user_data,
                          GError                 **error)
{
  NatterServerPollerWatch *watch = g_new0 (NatterServerPollerWatch, 1);
  struct epoll_event event = { 0 };

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (fd >= 0, NULL);
  g_return_val_if_fail (func != NULL, NULL);

  watch->fd = fd;
  watch->func = func;
  watch->user_data = user_data;

  event.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  event.data.ptr = watch;
  if (epoll_ctl (self->epoll_fd, EPOLL_CTL_ADD, fd, &event) < 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "Cannot watch a descriptor: %s", g_strerror (saved_errno));
      g_free (watch);
      return NULL;
    }

  self->n_watches++;
  return watch;
}

/**
 * natter_server_poller_remove:
 * @watch: (transfer full): from natter_server_poller_add(), its descriptor
 *   still open
 *
 * Stops watching; its callback is not called again.
 */
void
natter_server_poller_remove (NatterServerPoller      *self,
                             NatterServerPollerWatch *watch)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (watch != NULL && !watch->removed);

  if (epoll_ctl (self->epoll_fd, EPOLL_CTL_DEL, watch->fd, NULL) < 0)
    g_debug ("Cannot stop watching a descriptor: %s", g_strerror (errno));

  watch->removed = TRUE;
  self->n_watches--;

  /* The batch being dispatched may still name it. */
  if (self->dispatching)
    g_ptr_array_add (self->removed, watch);
  else
    g_free (watch);
}

guint
natter_server_poller_get_n_watches (NatterServerPoller *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->n_watches;
}
