/* natter-transfer.h: one file sent to or received from a contact
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

/* The history stores directions and states as these numbers: they never
 * change, new values take new numbers. */
typedef enum
{
  NATTER_TRANSFER_DIRECTION_IN  = 0,
  NATTER_TRANSFER_DIRECTION_OUT = 1,
} NatterTransferDirection;

/* waiting: offered, not yet accepted (or, going out, not yet seen by the
 * contact); transferring: accepted, data flows whenever both are online;
 * then one of the ends. */
typedef enum
{
  NATTER_TRANSFER_STATE_WAITING      = 0,
  NATTER_TRANSFER_STATE_TRANSFERRING = 1,
  NATTER_TRANSFER_STATE_DONE         = 2,
  NATTER_TRANSFER_STATE_FAILED       = 3,
  NATTER_TRANSFER_STATE_CANCELLED    = 4,
  NATTER_TRANSFER_STATE_DECLINED     = 5,
} NatterTransferState;

#define NATTER_TYPE_TRANSFER_DIRECTION (natter_transfer_direction_get_type ())
GType natter_transfer_direction_get_type (void);

#define NATTER_TYPE_TRANSFER_STATE (natter_transfer_state_get_type ())
GType natter_transfer_state_get_type (void);

#define NATTER_TYPE_TRANSFER (natter_transfer_get_type ())

G_DECLARE_FINAL_TYPE (NatterTransfer, natter_transfer, NATTER, TRANSFER, GObject)

NatterTransfer          *natter_transfer_new            (const char              *id,
                                                         const char              *contact_id,
                                                         NatterTransferDirection  direction,
                                                         const char              *name,
                                                         guint64                  size,
                                                         const char              *mime_type,
                                                         gint64                   timestamp);

const char              *natter_transfer_get_id         (NatterTransfer          *self);
const char              *natter_transfer_get_contact_id (NatterTransfer          *self);
NatterTransferDirection  natter_transfer_get_direction  (NatterTransfer          *self);
const char              *natter_transfer_get_name       (NatterTransfer          *self);
guint64                  natter_transfer_get_size       (NatterTransfer          *self);
const char              *natter_transfer_get_mime_type  (NatterTransfer          *self);
gint64                   natter_transfer_get_timestamp  (NatterTransfer          *self);
NatterTransferState      natter_transfer_get_state      (NatterTransfer          *self);
guint64                  natter_transfer_get_bytes_done (NatterTransfer          *self);
double                   natter_transfer_get_rate       (NatterTransfer          *self);
const char              *natter_transfer_get_error      (NatterTransfer          *self);
const char              *natter_transfer_get_path       (NatterTransfer          *self);
const char              *natter_transfer_get_sha256     (NatterTransfer          *self);
GBytes                  *natter_transfer_get_thumbnail  (NatterTransfer          *self);
gboolean                 natter_transfer_is_finished    (NatterTransfer          *self);

void                     natter_transfer_set_state      (NatterTransfer          *self,
                                                         NatterTransferState      state);
void                     natter_transfer_set_bytes_done (NatterTransfer          *self,
                                                         guint64                  bytes_done);
void                     natter_transfer_set_rate       (NatterTransfer          *self,
                                                         double                   rate);
void                     natter_transfer_set_error      (NatterTransfer          *self,
                                                         const char              *error);
void                     natter_transfer_set_path       (NatterTransfer          *self,
                                                         const char              *path);
void                     natter_transfer_set_sha256     (NatterTransfer          *self,
                                                         const char              *sha256);
void                     natter_transfer_set_thumbnail  (NatterTransfer          *self,
                                                         GBytes                  *thumbnail);

const char              *natter_transfer_state_to_string (NatterTransferState    state);

G_END_DECLS
