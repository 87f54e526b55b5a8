/* natter-server-mailbox.c: messages from any thread, delivered in one main context
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The hand-off between natter-server's threads: whoever holds a message
 * for a connection served by another thread posts it to that thread's
 * mailbox, and the mailbox's own GSource delivers it there. The lock is
 * held only to move pointers in and out of the queue, never while a
 * message is handled, and a burst of posts wakes the receiving context
 * once: the first post after a delivery marks the source ready, later ones
 * just queue. The lock is a POSIX mutex rather than a GMutex, whose futex
 * ThreadSanitizer cannot see.
 */
#define G_LOG_DOMAIN "natter-server-mailbox"

#include "config.h"

#include <pthread.h>

#include "natter-server-mailbox.h"

typedef struct
{
  GSource parent;
  NatterServerMailbox *mailbox;
} MailboxSource;

struct _NatterServerMailbox
{
  pthread_mutex_t lock;
  GQueue queue;                 /* messages; under lock */
  gboolean woken;               /* the source is ready; under lock */
  gboolean closed;              /* under lock */

  GSource *source;
  NatterServerMailboxFunc func;
  gpointer user_data;
  GDestroyNotify message_free;
};

static gboolean
mailbox_source_dispatch (GSource     *source,
                         GSourceFunc  callback,
                         gpointer     user_data)
{
  MailboxSource *mailbox_source = (MailboxSource *) source;

  g_source_set_ready_time (source, -1);
  natter_server_mailbox_deliver (mailbox_source->mailbox);

  return G_SOURCE_CONTINUE;
}

static GSourceFuncs mailbox_source_funcs = {
  .dispatch = mailbox_source_dispatch,
};

static void
free_messages (NatterServerMailbox *self,
               GQueue              *messages)
{
  gpointer message;

  while ((message = g_queue_pop_head (messages)) != NULL)
    if (self->message_free != NULL)
      self->message_free (message);
}

/**
 * natter_server_mailbox_new:
 * @context: (nullable): where messages are delivered (%NULL: the global
 *   default context)
 * @func: called for each message in @context
 * @user_data: for @func
 * @message_free: (nullable): frees a message once handled or dropped
 *
 * Returns: (transfer full): a new mailbox, delivering from now on
 */
NatterServerMailbox *
natter_server_mailbox_new (GMainContext            *context,
                           NatterServerMailboxFunc  func,
                           gpointer                 user_data,
                           GDestroyNotify           message_free)
{
  NatterServerMailbox *self;

  g_return_val_if_fail (func != NULL, NULL);

  self = g_new0 (NatterServerMailbox, 1);
  pthread_mutex_init (&self->lock, NULL);
  g_queue_init (&self->queue);
  self->func = func;
  self->user_data = user_data;
  self->message_free = message_free;

  self->source = g_source_new (&mailbox_source_funcs, sizeof (MailboxSource));
  ((MailboxSource *) self->source)->mailbox = self;
  g_source_set_static_name (self->source, "natter-server mailbox");
  g_source_attach (self->source, context);

  return self;
}

/**
 * natter_server_mailbox_post:
 * @message: (transfer full): the message; must not be %NULL
 *
 * Queues @message for delivery. Safe from any thread.
 *
 * Returns: %FALSE if the mailbox is closed (then @message was freed)
 */
gboolean
natter_server_mailbox_post (NatterServerMailbox *self,
                            gpointer             message)
{
  gboolean wake;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (message != NULL, FALSE);

  pthread_mutex_lock (&self->lock);
  if (self->closed)
    {
      pthread_mutex_unlock (&self->lock);
      if (self->message_free != NULL)
        self->message_free (message);
      return FALSE;
    }
  g_queue_push_tail (&self->queue, message);
  wake = !self->woken;
  self->woken = TRUE;

  /* Thread-safe: it takes the context's lock and wakes its poll. Under our
   * lock, so that close() cannot destroy the source meanwhile; nothing
   * takes our lock while holding the context's. */
  if (wake)
    g_source_set_ready_time (self->source, 0);
  pthread_mutex_unlock (&self->lock);

  return TRUE;
}

/**
 * natter_server_mailbox_deliver:
 *
 * Hands every message queued so far to the mailbox's function; for the
 * mailbox's own context only. The function may close the mailbox (the
 * rest is then dropped) but not free it. The source does this by itself; call it to
 * drain the mailbox before closing it.
 *
 * Returns: how many messages were delivered
 */
guint
natter_server_mailbox_deliver (NatterServerMailbox *self)
{
  GQueue batch = G_QUEUE_INIT;
  gpointer message;
  guint n = 0;

  g_return_val_if_fail (self != NULL, 0);

  pthread_mutex_lock (&self->lock);
  batch = self->queue;
  g_queue_init (&self->queue);
  self->woken = FALSE;
  pthread_mutex_unlock (&self->lock);

  while ((message = g_queue_pop_head (&batch)) != NULL)
    {
      /* The function closed the mailbox: the rest is dropped. */
      if (self->closed)
        {
          if (self->message_free != NULL)
            self->message_free (message);
          continue;
        }

      self->func (message, self->user_data);
      if (self->message_free != NULL)
        self->message_free (message);
      n++;
    }

  return n;
}

/**
 * natter_server_mailbox_close:
 *
 * Stops delivery: what is queued and what is posted from now on is freed
 * without being handled. For the mailbox's own context.
 */
void
natter_server_mailbox_close (NatterServerMailbox *self)
{
  GQueue dropped = G_QUEUE_INIT;
  GSource *source;

  g_return_if_fail (self != NULL);

  pthread_mutex_lock (&self->lock);
  self->closed = TRUE;
  dropped = self->queue;
  g_queue_init (&self->queue);
  source = g_steal_pointer (&self->source);
  pthread_mutex_unlock (&self->lock);

  free_messages (self, &dropped);

  if (source != NULL)
    {
      g_source_destroy (source);
      g_source_unref (source);
    }
}

/**
 * natter_server_mailbox_free:
 *
 * Closes and frees the mailbox. No other thread may post to it any more.
 */
void
natter_server_mailbox_free (NatterServerMailbox *self)
{
  if (self == NULL)
    return;

  natter_server_mailbox_close (self);
  pthread_mutex_destroy (&self->lock);
  g_free (self);
}
