/* natter-server-worker.c: a thread with a main context of its own and a mailbox
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * One of natter-server's workers: a thread that runs its own GMainContext
 * (pushed as its thread default, so that what it creates, libsoup's
 * sources included, attaches there) and takes work from other threads
 * through a NatterServerMailbox. Work runs in the order each thread
 * posted it. natter_server_worker_free() runs what was posted before it,
 * then stops and joins the thread.
 */
#define G_LOG_DOMAIN "natter-server-worker"

#include "config.h"

#include "natter-server-mailbox.h"

#include "natter-server-worker.h"

typedef struct
{
  NatterServerWorkerFunc func;
  gpointer data;
  GDestroyNotify destroy;
} Work;

struct _NatterServerWorker
{
  char *name;
  GMainContext *context;
  GMainLoop *loop;
  NatterServerMailbox *mailbox;
  GThread *thread;
};

static void
work_free (gpointer data)
{
  Work *work = data;

  if (work->destroy != NULL)
    work->destroy (work->data);
  g_free (work);
}

static void
on_work (gpointer message,
         gpointer user_data)
{
  Work *work = message;

  work->func (work->data);
}

static void
quit (gpointer data)
{
  NatterServerWorker *self = data;

  g_main_loop_quit (self->loop);
}

static gpointer
run (gpointer data)
{
  NatterServerWorker *self = data;

  g_main_context_push_thread_default (self->context);
  g_main_loop_run (self->loop);

  /* What came after the stop request is dropped, and freed here. */
  natter_server_mailbox_close (self->mailbox);
  while (g_main_context_iteration (self->context, FALSE))
    ;
  g_main_context_pop_thread_default (self->context);

  return NULL;
}

/**
 * natter_server_worker_new:
 * @name: the thread's name (for debuggers)
 *
 * Returns: (transfer full): a running worker
 */
NatterServerWorker *
natter_server_worker_new (const char *name)
{
  NatterServerWorker *self;

  g_return_val_if_fail (name != NULL, NULL);

  self = g_new0 (NatterServerWorker, 1);
  self->name = g_strdup (name);
  self->context = g_main_context_new ();
  self->loop = g_main_loop_new (self->context, FALSE);
  self->mailbox = natter_server_mailbox_new (self->context, on_work, self, work_free);
  self->thread = g_thread_new (name, run, self);

  return self;
}

GMainContext *
natter_server_worker_get_context (NatterServerWorker *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->context;
}

/**
 * natter_server_worker_is_current:
 *
 * Returns: whether the caller runs in @self's thread
 */
gboolean
natter_server_worker_is_current (NatterServerWorker *self)
{
  g_return_val_if_fail (self != NULL, FALSE);

  return g_thread_self () == self->thread;
}

/**
 * natter_server_worker_invoke:
 * @func: runs in the worker's thread
 * @data: for @func
 * @destroy: (nullable): frees @data afterwards, in the worker's thread (or
 *   at once, if the worker is stopping)
 *
 * Hands work to the worker. Safe from any thread, the worker's own
 * included (the work then runs at its next iteration, not now).
 *
 * Returns: %FALSE if the worker is stopping and @data was freed unused
 */
gboolean
natter_server_worker_invoke (NatterServerWorker     *self,
                             NatterServerWorkerFunc  func,
                             gpointer                data,
                             GDestroyNotify          destroy)
{
  Work *work;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (func != NULL, FALSE);

  work = g_new (Work, 1);
  work->func = func;
  work->data = data;
  work->destroy = destroy;

  return natter_server_mailbox_post (self->mailbox, work);
}

/**
 * natter_server_worker_free:
 *
 * Runs the work posted before this call, stops the thread, joins it and
 * frees the worker. Not from the worker's own thread.
 */
void
natter_server_worker_free (NatterServerWorker *self)
{
  if (self == NULL)
    return;

  g_return_if_fail (!natter_server_worker_is_current (self));

  natter_server_worker_invoke (self, quit, self, NULL);
  g_thread_join (self->thread);

  natter_server_mailbox_free (self->mailbox);
  g_main_loop_unref (self->loop);
  g_main_context_unref (self->context);
  g_free (self->name);
  g_free (self);
}
