/* natter-message.h: one text message of a conversation
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

/* The history stores directions and statuses as these numbers: they never
 * change (natter-store-migrations.c checks), new values take new numbers. */
typedef enum
{
  NATTER_MESSAGE_DIRECTION_IN  = 0,
  NATTER_MESSAGE_DIRECTION_OUT = 1,
} NatterMessageDirection;

/* Outgoing messages go queued -> sent -> delivered -> read, or end as failed.
 * Incoming messages are received until the user has seen them, then read. */
typedef enum
{
  NATTER_MESSAGE_STATUS_QUEUED    = 0,
  NATTER_MESSAGE_STATUS_SENT      = 1,
  NATTER_MESSAGE_STATUS_DELIVERED = 2,
  NATTER_MESSAGE_STATUS_READ      = 3,
  NATTER_MESSAGE_STATUS_FAILED    = 4,
  NATTER_MESSAGE_STATUS_RECEIVED  = 5,
} NatterMessageStatus;

#define NATTER_TYPE_MESSAGE_DIRECTION (natter_message_direction_get_type ())
GType natter_message_direction_get_type (void);

#define NATTER_TYPE_MESSAGE_STATUS (natter_message_status_get_type ())
GType natter_message_status_get_type (void);

#define NATTER_TYPE_MESSAGE (natter_message_get_type ())

G_DECLARE_FINAL_TYPE (NatterMessage, natter_message, NATTER, MESSAGE, GObject)

NatterMessage          *natter_message_new                  (gint64                  row_id,
                                                             const char             *id,
                                                             const char             *contact_id,
                                                             NatterMessageDirection  direction,
                                                             const char             *body,
                                                             gint64                  timestamp,
                                                             gint64                  received_timestamp,
                                                             NatterMessageStatus     status);

gint64                  natter_message_get_row_id           (NatterMessage          *self);
const char             *natter_message_get_id               (NatterMessage          *self);
const char             *natter_message_get_contact_id       (NatterMessage          *self);
NatterMessageDirection  natter_message_get_direction        (NatterMessage          *self);
const char             *natter_message_get_body             (NatterMessage          *self);
gint64                  natter_message_get_timestamp        (NatterMessage          *self);
gint64                  natter_message_get_received_timestamp (NatterMessage        *self);
NatterMessageStatus     natter_message_get_status           (NatterMessage          *self);
const char             *natter_message_get_reply_to         (NatterMessage          *self);
void                    natter_message_set_reply_to         (NatterMessage          *self,
                                                             const char             *reply_to);
void                    natter_message_set_status           (NatterMessage          *self,
                                                             NatterMessageStatus     status);

const char             *natter_message_status_to_string     (NatterMessageStatus     status);

G_END_DECLS
