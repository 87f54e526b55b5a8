/* natter-first-run-page.c: asks for a display name and a server (or none) on the first run
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "natter-first-run-page"

#include "config.h"

#include <glib/gi18n.h>

#include "natter-server-probe.h"

#include "natter-application.h"
#include "natter-first-run-page.h"

enum {
  SUBMITTED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

struct _NatterFirstRunPage
{
  AdwBin     parent_instance;

  GtkEntry  *name_entry;
  GtkEntry  *server_entry;
  GtkLabel  *error_label;
  GtkWidget *problem_box;
  GtkLabel  *problem_label;
  GtkButton *continue_button;
  GtkButton *nearby_button;
  GtkSpinner *spinner;
  GCancellable *probe;

  gboolean   busy;
};

G_DEFINE_FINAL_TYPE (NatterFirstRunPage, natter_first_run_page, ADW_TYPE_BIN)

static void
update_sensitivity (NatterFirstRunPage *self)
{
  const char *name = gtk_editable_get_text (GTK_EDITABLE (self->name_entry));
  const char *server = gtk_editable_get_text (GTK_EDITABLE (self->server_entry));
  g_autofree char *stripped = g_strstrip (g_strdup (name));

  gtk_widget_set_sensitive (GTK_WIDGET (self->continue_button),
                            !self->busy && *stripped != '\0' && *server != '\0');
  gtk_widget_set_sensitive (GTK_WIDGET (self->nearby_button), !self->busy && *stripped != '\0');
  /* Not insensitive: that would take the focus from a text entry mid-event. */
  gtk_editable_set_editable (GTK_EDITABLE (self->name_entry), !self->busy);
  gtk_editable_set_editable (GTK_EDITABLE (self->server_entry), !self->busy);
}

static void
on_entry_changed (NatterFirstRunPage *self)
{
  update_sensitivity (self);
}

/* What was said of the old address no longer holds */
static void
on_server_changed (NatterFirstRunPage *self)
{
  if (gtk_widget_has_css_class (GTK_WIDGET (self->server_entry), "error"))
    natter_first_run_page_set_error (self, NULL);
  gtk_widget_remove_css_class (GTK_WIDGET (self->server_entry), "error");
  update_sensitivity (self);
}

static void
on_probed (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(NatterFirstRunPage) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GCancellable) probe = NULL;
  const char *server;

  if (!natter_server_probe_finish (result, &error) &&
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  probe = g_steal_pointer (&self->probe);
  server = g_object_get_data (G_OBJECT (probe), "natter-server");
  natter_first_run_page_set_busy (self, FALSE);
  if (error != NULL)
    {
      /* Translators: %s is the server address, then why it did not answer */
      g_autofree char *message = g_strdup_printf (_("Can’t reach %s: %s"), server, error->message);

      gtk_widget_add_css_class (GTK_WIDGET (self->server_entry), "error");
      natter_first_run_page_set_error (self, message);
      gtk_widget_grab_focus (GTK_WIDGET (self->server_entry));
      return;
    }

  g_signal_emit (self, signals[SUBMITTED], 0, g_object_get_data (G_OBJECT (probe), "natter-name"),
                 server);
}

static void
on_continue_clicked (NatterFirstRunPage *self)
{
  g_autofree char *name = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->name_entry))));
  g_autofree char *server = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->server_entry))));
  g_autoptr(GError) error = NULL;

  if (self->busy || *name == '\0')
    return;

  if (!natter_application_validate_server_url (server, &error))
    {
      gtk_widget_add_css_class (GTK_WIDGET (self->server_entry), "error");
      natter_first_run_page_set_error (self, error->message);
      gtk_widget_grab_focus (GTK_WIDGET (self->server_entry));
      return;
    }

  /* Does anything answer there? Better to know now than after the keys
   * are made. */
  natter_first_run_page_set_error (self, NULL);
  natter_first_run_page_set_problem (self, NULL);
  natter_first_run_page_set_busy (self, TRUE);
  g_cancellable_cancel (self->probe);
  g_clear_object (&self->probe);
  self->probe = g_cancellable_new ();
  g_object_set_data_full (G_OBJECT (self->probe), "natter-name", g_steal_pointer (&name), g_free);
  g_object_set_data_full (G_OBJECT (self->probe), "natter-server", g_steal_pointer (&server),
                          g_free);
  natter_server_probe_async (g_object_get_data (G_OBJECT (self->probe), "natter-server"),
                             self->probe, on_probed, g_object_ref (self));
}

/* No server: the people on this network only */
static void
on_nearby_clicked (NatterFirstRunPage *self)
{
  g_autofree char *name = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->name_entry))));

  if (self->busy || *name == '\0')
    return;

  g_cancellable_cancel (self->probe);
  g_clear_object (&self->probe);
  natter_first_run_page_set_error (self, NULL);
  natter_first_run_page_set_problem (self, NULL);
  g_signal_emit (self, signals[SUBMITTED], 0, name, NULL);
}

static void
natter_first_run_page_realize (GtkWidget *widget)
{
  NatterFirstRunPage *self = NATTER_FIRST_RUN_PAGE (widget);
  GtkWindow *window;

  GTK_WIDGET_CLASS (natter_first_run_page_parent_class)->realize (widget);

  window = GTK_WINDOW (gtk_widget_get_root (widget));
  if (window != NULL)
    gtk_window_set_default_widget (window, GTK_WIDGET (self->continue_button));
}

static void
natter_first_run_page_dispose (GObject *object)
{
  NatterFirstRunPage *self = NATTER_FIRST_RUN_PAGE (object);

  g_cancellable_cancel (self->probe);
  g_clear_object (&self->probe);
  gtk_widget_dispose_template (GTK_WIDGET (self), NATTER_TYPE_FIRST_RUN_PAGE);

  G_OBJECT_CLASS (natter_first_run_page_parent_class)->dispose (object);
}

static void
natter_first_run_page_class_init (NatterFirstRunPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = natter_first_run_page_dispose;

  widget_class->realize = natter_first_run_page_realize;

  /**
   * NatterFirstRunPage::submitted:
   * @name: the display name, stripped
   * @server_url: (nullable): a valid ws:// or wss:// address, or %NULL
   *   for the people nearby only
   */
  signals[SUBMITTED] =
    g_signal_new ("submitted", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/natter/Natter/ui/natter-first-run-page.ui");
  gtk_widget_class_bind_template_child (widget_class, NatterFirstRunPage, name_entry);
  gtk_widget_class_bind_template_child (widget_class, NatterFirstRunPage, server_entry);
  gtk_widget_class_bind_template_child (widget_class, NatterFirstRunPage, error_label);
  gtk_widget_class_bind_template_child (widget_class, NatterFirstRunPage, problem_box);
  gtk_widget_class_bind_template_child (widget_class, NatterFirstRunPage, problem_label);
  gtk_widget_class_bind_template_child (widget_class, NatterFirstRunPage, continue_button);
  gtk_widget_class_bind_template_child (widget_class, NatterFirstRunPage, nearby_button);
  gtk_widget_class_bind_template_child (widget_class, NatterFirstRunPage, spinner);
  gtk_widget_class_bind_template_callback (widget_class, on_entry_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_server_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_continue_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_nearby_clicked);
}

static void
natter_first_run_page_init (NatterFirstRunPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

void
natter_first_run_page_set_busy (NatterFirstRunPage *self,
                                gboolean            busy)
{
  g_return_if_fail (NATTER_IS_FIRST_RUN_PAGE (self));

  self->busy = busy;
  gtk_spinner_set_spinning (self->spinner, busy);
  update_sensitivity (self);
}

/**
 * natter_first_run_page_set_error:
 * @message: (nullable): what went wrong, in words for the user; %NULL hides it
 */
void
natter_first_run_page_set_error (NatterFirstRunPage *self,
                                 const char         *message)
{
  g_return_if_fail (NATTER_IS_FIRST_RUN_PAGE (self));

  gtk_label_set_text (self->error_label, message != NULL ? message : "");
  gtk_widget_set_visible (GTK_WIDGET (self->error_label), message != NULL);
}

/**
 * natter_first_run_page_set_problem:
 * @message: (nullable): what stops Natter that is not the server (the
 *   keyring), and what to do; %NULL hides it
 *
 * Shown at the top of the page, not under the server address, which is
 * not at fault.
 */
void
natter_first_run_page_set_problem (NatterFirstRunPage *self,
                                   const char         *message)
{
  g_return_if_fail (NATTER_IS_FIRST_RUN_PAGE (self));

  gtk_label_set_text (self->problem_label, message != NULL ? message : "");
  gtk_widget_set_visible (self->problem_box, message != NULL);
}

void
natter_first_run_page_set_values (NatterFirstRunPage *self,
                                  const char         *name,
                                  const char         *server_url)
{
  g_return_if_fail (NATTER_IS_FIRST_RUN_PAGE (self));

  if (name != NULL)
    gtk_editable_set_text (GTK_EDITABLE (self->name_entry), name);
  if (server_url != NULL)
    gtk_editable_set_text (GTK_EDITABLE (self->server_entry), server_url);
}
