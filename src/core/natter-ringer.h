/* natter-ringer.h: the sounds of a call that is not answered yet
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

typedef enum
{
  NATTER_RINGER_SOUND_INCOMING,   /* our computer rings: someone calls us */
  NATTER_RINGER_SOUND_RINGBACK,   /* their computer rings: we called */
} NatterRingerSound;

#define NATTER_TYPE_RINGER (natter_ringer_get_type ())

G_DECLARE_FINAL_TYPE (NatterRinger, natter_ringer, NATTER, RINGER, GObject)

NatterRinger *natter_ringer_new            (void);
void          natter_ringer_set_theme      (NatterRinger     *self,
                                            const char       *theme_name);
char         *natter_ringer_find_sound     (NatterRinger     *self,
                                            NatterRingerSound sound);
void          natter_ringer_play           (NatterRinger     *self,
                                            NatterRingerSound sound);
void          natter_ringer_stop           (NatterRinger     *self);
gboolean      natter_ringer_get_playing    (NatterRinger     *self);
const char   *natter_ringer_get_file       (NatterRinger     *self);

G_END_DECLS
