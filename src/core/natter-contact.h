/* natter-contact.h: one person in the address book
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

/* Largest avatar a contact may carry, in bytes. */
#define NATTER_CONTACT_AVATAR_MAX_SIZE (256 * 1024)

typedef enum
{
  NATTER_PRESENCE_UNKNOWN,
  NATTER_PRESENCE_OFFLINE,
  NATTER_PRESENCE_ONLINE,
  NATTER_PRESENCE_AWAY,
} NatterPresence;

#define NATTER_TYPE_PRESENCE (natter_presence_get_type ())
GType natter_presence_get_type (void);

#define NATTER_TYPE_CONTACT (natter_contact_get_type ())

G_DECLARE_FINAL_TYPE (NatterContact, natter_contact, NATTER, CONTACT, GObject)

NatterContact  *natter_contact_new               (const char     *user_id);

const char     *natter_contact_get_user_id       (NatterContact  *self);
const char     *natter_contact_get_name          (NatterContact  *self);

const char     *natter_contact_get_display_name  (NatterContact  *self);
void            natter_contact_set_display_name  (NatterContact  *self,
                                                  const char     *display_name);
const char     *natter_contact_get_alias         (NatterContact  *self);
void            natter_contact_set_alias         (NatterContact  *self,
                                                  const char     *alias);
const char     *natter_contact_get_bio           (NatterContact  *self);
void            natter_contact_set_bio           (NatterContact  *self,
                                                  const char     *bio);
GBytes         *natter_contact_get_avatar        (NatterContact  *self);
void            natter_contact_set_avatar        (NatterContact  *self,
                                                  GBytes         *avatar);
NatterPresence  natter_contact_get_presence      (NatterContact  *self);
void            natter_contact_set_presence      (NatterContact  *self,
                                                  NatterPresence  presence);
gboolean        natter_contact_get_verified      (NatterContact  *self);
void            natter_contact_set_verified      (NatterContact  *self,
                                                  gboolean        verified);
gboolean        natter_contact_get_blocked       (NatterContact  *self);
void            natter_contact_set_blocked       (NatterContact  *self,
                                                  gboolean        blocked);
gint64          natter_contact_get_added_time    (NatterContact  *self);
void            natter_contact_set_added_time    (NatterContact  *self,
                                                  gint64          added_time);
gint64          natter_contact_get_updated_time  (NatterContact  *self);
void            natter_contact_set_updated_time  (NatterContact  *self,
                                                  gint64          updated_time);

G_END_DECLS
