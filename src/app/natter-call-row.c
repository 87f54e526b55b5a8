/* natter-call-row.c: one call in a conversation
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A call stands among the messages at the time it began: which way it
 * went, audio or video, how it ended (answered, with its duration; missed,
 * declined, busy) and, for a call we missed, Call Back (app.call-back).
 * The row follows the live NatterCall while the call goes on.
 */
#define G_LOG_DOMAIN "natter-call-row"

#include "config.h"

#include <glib/gi18n.h>

#include "natter-call-row.h"

struct _NatterCallRow
{
  GtkBox      parent_instance;

  GtkImage   *icon;
  GtkLabel   *title_label;
  GtkLabel   *detail_label;
  GtkWidget  *call_back_button;

  NatterCall *call;
};

G_DEFINE_FINAL_TYPE (NatterCallRow, natter_call_row, GTK_TYPE_BOX)

static gboolean
is_missed (NatterCall *call)
{
  return natter_call_get_direction (call) == NATTER_CALL_DIRECTION_IN &&
         natter_call_get_outcome (call) == NATTER_CALL_OUTCOME_MISSED;
}

static const char *
title (NatterCall *call)
{
  gboolean audio = natter_call_get_audio_only (call);

  if (is_missed (call))
    return audio ? _("Missed audio call") : _("Missed video call");
  if (natter_call_get_direction (call) == NATTER_CALL_DIRECTION_IN)
    return audio ? _("Incoming audio call") : _("Incoming video call");
  return audio ? _("Outgoing audio call") : _("Outgoing video call");
}

/* How it went, or how it goes */
static char *
outcome_text (NatterCall *call)
{
  switch (natter_call_get_outcome (call))
    {
    case NATTER_CALL_OUTCOME_ANSWERED:
      return natter_call_row_format_duration (natter_call_get_duration (call));
    case NATTER_CALL_OUTCOME_MISSED:
      return natter_call_get_direction (call) == NATTER_CALL_DIRECTION_OUT ?
             g_strdup (_("No answer")) : NULL;
    case NATTER_CALL_OUTCOME_DECLINED:
      return g_strdup (_("Declined"));
    case NATTER_CALL_OUTCOME_BUSY:
      return g_strdup (_("Busy"));
    case NATTER_CALL_OUTCOME_FAILED:
      return g_strdup (_("Could not connect"));
    case NATTER_CALL_OUTCOME_NONE:
    default:
      break;
    }

  switch (natter_call_get_state (call))
    {
    case NATTER_CALL_STATE_DIALING:
    case NATTER_CALL_STATE_RINGING:
      return g_strdup (_("Ringing"));
    case NATTER_CALL_STATE_CONNECTING:
      return g_strdup (_("Connecting"));
    case NATTER_CALL_STATE_ACTIVE:
      {
        g_autofree char *duration = natter_call_row_format_duration (
          natter_call_get_duration (call));

        /* TRANSLATORS: a call going on now, and for how long so far */
        return g_strdup_printf (_("In progress, %s"), duration);
      }
    case NATTER_CALL_STATE_ENDED:
    default:
      return NULL;
    }
}

static void
update (NatterCallRow *self)
{
  g_autoptr(GDateTime) time = NULL;
  g_autofree char *when = NULL;
  g_autofree char *how = NULL;
  g_autofree char *detail = NULL;
  g_autofree char *label = NULL;
  gboolean missed;

  if (self->call == NULL)
    return;

  missed = is_missed (self->call);
  time = g_date_time_new_from_unix_local (natter_call_get_started_at (self->call) /
                                          G_USEC_PER_SEC);
  when = g_date_time_format (time, "%H:%M");
  how = outcome_text (self->call);
  /* TRANSLATORS: a call's time and how it went, "14:02 · 3:25" or "14:02 · Declined" */
  detail = how != NULL ? g_strdup_printf (_("%s · %s"), when, how) : g_strdup (when);

  gtk_image_set_from_icon_name (self->icon,
                                missed ? "call-missed-symbolic" :
                                natter_call_get_direction (self->call) ==
                                NATTER_CALL_DIRECTION_IN ? "call-incoming-symbolic"
                                                         : "call-outgoing-symbolic");
  if (missed)
    gtk_widget_add_css_class (GTK_WIDGET (self), "missed");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self), "missed");
  gtk_label_set_text (self->title_label, title (self->call));
  gtk_label_set_text (self->detail_label, detail);
  gtk_widget_set_visible (self->call_back_button, missed);

  /* TRANSLATORS: a call as a screen reader says it: "Missed video call, 14:02" */
  label = g_strdup_printf (_("%s, %s"), title (self->call), detail);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL, label,
                                  -1);
}

static void
on_call_notify (NatterCall    *call,
                GParamSpec    *pspec,
                NatterCallRow *self)
{
  update (self);
}

static void
on_call_back_clicked (NatterCallRow *self)
{
  if (self->call == NULL)
    return;

  gtk_widget_activate_action (GTK_WIDGET (self), "app.call-back", "(sb)",
                              natter_call_get_contact_id (self->call),
                              natter_call_get_audio_only (self->call));
}

static void
natter_call_row_dispose (GObject *object)
{
  NatterCallRow *self = NATTER_CALL_ROW (object);

  natter_call_row_set_call (self, NULL);

  G_OBJECT_CLASS (natter_call_row_parent_class)->dispose (object);
}

static void
natter_call_row_class_init (NatterCallRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = natter_call_row_dispose;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/natter/Natter/ui/natter-call-row.ui");
  gtk_widget_class_bind_template_child (widget_class, NatterCallRow, icon);
  gtk_widget_class_bind_template_child (widget_class, NatterCallRow, title_label);
  gtk_widget_class_bind_template_child (widget_class, NatterCallRow, detail_label);
  gtk_widget_class_bind_template_child (widget_class, NatterCallRow, call_back_button);
  gtk_widget_class_bind_template_callback (widget_class, on_call_back_clicked);
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_GROUP);
}

static void
natter_call_row_init (NatterCallRow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

NatterCallRow *
natter_call_row_new (void)
{
  return g_object_new (NATTER_TYPE_CALL_ROW, NULL);
}

/**
 * natter_call_row_set_call:
 * @call: (nullable): the call to show, %NULL for none
 */
void
natter_call_row_set_call (NatterCallRow *self,
                          NatterCall    *call)
{
  g_return_if_fail (NATTER_IS_CALL_ROW (self));
  g_return_if_fail (call == NULL || NATTER_IS_CALL (call));

  if (self->call == call)
    return;

  if (self->call != NULL)
    g_signal_handlers_disconnect_by_data (self->call, self);
  g_set_object (&self->call, call);
  if (call == NULL)
    return;

  g_signal_connect (call, "notify::state", G_CALLBACK (on_call_notify), self);
  g_signal_connect (call, "notify::outcome", G_CALLBACK (on_call_notify), self);
  g_signal_connect (call, "notify::duration", G_CALLBACK (on_call_notify), self);
  update (self);
}

NatterCall *
natter_call_row_get_call (NatterCallRow *self)
{
  g_return_val_if_fail (NATTER_IS_CALL_ROW (self), NULL);

  return self->call;
}

/**
 * natter_call_row_format_duration:
 *
 * Returns: (transfer full): @seconds as "m:ss", or "h:mm:ss" from an hour on
 */
char *
natter_call_row_format_duration (guint seconds)
{
  if (seconds >= 3600)
    return g_strdup_printf ("%u:%02u:%02u", seconds / 3600, seconds / 60 % 60, seconds % 60);
  return g_strdup_printf ("%u:%02u", seconds / 60, seconds % 60);
}
