/* natter-alert.c: a question or a message over a window, the libadwaita way
 *
 * AdwAlertDialog from libadwaita 1.5 on (a dialog inside the window, which
 * adapts to narrow ones), AdwMessageDialog before (Debian 12 has 1.2). Both
 * emit "response" with the response's ID, so callers connect to that on
 * whichever this returns.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "natter-alert"

#include "config.h"

#include "natter-alert.h"

/* Keeps what the libadwaita in use has; the other branch is the same calls
 * under the other type's names. */
#if ADW_CHECK_VERSION (1, 5, 0)
#define NATTER_ALERT_IS_DIALOG 1
#endif

/**
 * natter_alert_new:
 * @parent: a widget of the window the alert is for
 * @heading: what the alert asks or says, short
 * @body: (nullable): more of it, plain text
 *
 * Returns: (transfer floating): the alert; add responses, connect to
 *   "response" (response ID as its argument) and present it
 */
GtkWidget *
natter_alert_new (GtkWidget  *parent,
                  const char *heading,
                  const char *body)
{
  g_return_val_if_fail (GTK_IS_WIDGET (parent), NULL);

#ifdef NATTER_ALERT_IS_DIALOG
  return GTK_WIDGET (adw_alert_dialog_new (heading, body));
#else
  return adw_message_dialog_new (GTK_WINDOW (gtk_widget_get_root (parent)), heading, body);
#endif
}

void
natter_alert_add_response (GtkWidget             *alert,
                           const char            *id,
                           const char            *label,
                           AdwResponseAppearance  appearance)
{
#ifdef NATTER_ALERT_IS_DIALOG
  adw_alert_dialog_add_response (ADW_ALERT_DIALOG (alert), id, label);
  adw_alert_dialog_set_response_appearance (ADW_ALERT_DIALOG (alert), id, appearance);
#else
  adw_message_dialog_add_response (ADW_MESSAGE_DIALOG (alert), id, label);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (alert), id, appearance);
#endif
}

/* What Escape and the Enter key answer: the response that changes nothing */
void
natter_alert_set_cancel (GtkWidget  *alert,
                         const char *id)
{
#ifdef NATTER_ALERT_IS_DIALOG
  adw_alert_dialog_set_default_response (ADW_ALERT_DIALOG (alert), id);
  adw_alert_dialog_set_close_response (ADW_ALERT_DIALOG (alert), id);
#else
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (alert), id);
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (alert), id);
#endif
}

void
natter_alert_present (GtkWidget *alert,
                      GtkWidget *parent)
{
#ifdef NATTER_ALERT_IS_DIALOG
  adw_dialog_present (ADW_DIALOG (alert), parent);
#else
  gtk_window_present (GTK_WINDOW (alert));
#endif
}
