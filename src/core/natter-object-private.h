/* natter-object-private.h: helpers for properties of core's objects
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

/* Sets a boolean property's field to @value (any true value is TRUE) and
 * notifies @pspec if that changed it; returns whether it did. */
static inline gboolean
natter_object_set_boolean (GObject    *object,
                           gboolean   *field,
                           gboolean    value,
                           GParamSpec *pspec)
{
  value = !!value;
  if (*field == value)
    return FALSE;

  *field = value;
  g_object_notify_by_pspec (object, pspec);
  return TRUE;
}

G_END_DECLS
