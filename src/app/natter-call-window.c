/* natter-call-window.c: one call: ringing, the video, the controls
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Opened for every call, placed or coming in. An incoming call shows Answer
 * and Decline; then the other side's video fills the window, the self-view
 * sits in a corner, and the controls mute the microphone, turn the camera
 * off, go full screen, show the connection's statistics and hang up. The
 * call's properties drive all of it; closing the window hangs up. Frames
 * come from the core through natter_call_set_frame_func() into two
 * NatterVideoPaintables.
 */
#define G_LOG_DOMAIN "natter-call-window"

#include "config.h"

#include <glib/gi18n.h>

#include "natter-call-row.h"
#include "natter-call-window.h"
#include "natter-device-row.h"
#include "natter-video-paintable.h"

#define CLOSE_AFTER_END_S 3

struct _NatterCallWindow
{
  AdwWindow             parent_instance;

  GtkPicture           *remote_picture;
  GtkPicture           *self_picture;
  GtkLabel             *name_label;
  GtkLabel             *status_label;
  GtkLabel             *remote_media_label;
  GtkLabel             *device_label;
  GtkStack             *controls_stack;
  GtkToggleButton      *mute_button;
  GtkToggleButton      *camera_button;
  GtkToggleButton      *fullscreen_button;
  GtkWidget            *details_button;
  GtkWidget            *devices_button;
  NatterDeviceRow      *device_rows[3];   /* by NatterMediaDeviceKind */
  GtkLabel             *details_label;

  NatterClient         *client;
  NatterCall           *call;
  NatterVideoPaintable *remote;
  NatterVideoPaintable *local;
  guint                 close_source;
  guint                 details_source;
};

G_DEFINE_FINAL_TYPE (NatterCallWindow, natter_call_window, ADW_TYPE_WINDOW)

static void
on_frame (NatterCall *call,
          gboolean    remote,
          int         width,
          int         height,
          gsize       stride,
          GBytes     *pixels,
          gpointer    user_data)
{
  NatterCallWindow *self = user_data;

  natter_video_paintable_push_frame (remote ? self->remote : self->local, width, height, stride,
                                     pixels);
}

/* The devices the call uses, chosen in the popover; with test sources
 * there is nothing to switch */
static void
update_devices (NatterCallWindow *self)
{
  gboolean any = FALSE;

  for (guint kind = 0; kind < G_N_ELEMENTS (self->device_rows); kind++)
    {
      const char *id = natter_call_get_device (self->call, kind);

      gtk_widget_set_visible (GTK_WIDGET (self->device_rows[kind]), id != NULL);
      natter_device_row_select (self->device_rows[kind], id);
      any = any || id != NULL;
    }
  gtk_widget_set_visible (self->devices_button, any);
  gtk_widget_set_sensitive (self->devices_button,
                            natter_call_get_state (self->call) == NATTER_CALL_STATE_ACTIVE);
}

static void
on_device_chosen (NatterDeviceRow  *row,
                  GParamSpec       *pspec,
                  NatterCallWindow *self)
{
  const char *id = natter_device_row_get_id (row);
  g_autoptr(GError) error = NULL;

  for (guint kind = 0; kind < G_N_ELEMENTS (self->device_rows); kind++)
    if (self->device_rows[kind] == row && id != NULL &&
        g_strcmp0 (id, natter_call_get_device (self->call, kind)) != 0 &&
        !natter_client_switch_call_device (self->client, self->call, kind, id, &error))
      {
        g_message ("Could not switch devices: %s", error->message);
        gtk_label_set_text (self->device_label, _("That device could not be used"));
        gtk_widget_set_visible (GTK_WIDGET (self->device_label), TRUE);
      }
}

static void
update_status (NatterCallWindow *self)
{
  NatterCallState state = natter_call_get_state (self->call);
  gboolean incoming = natter_call_get_direction (self->call) == NATTER_CALL_DIRECTION_IN;
  gboolean ringing_here = incoming && state == NATTER_CALL_STATE_RINGING;
  g_autofree char *text = NULL;

  switch (state)
    {
    case NATTER_CALL_STATE_DIALING:
      text = g_strdup (_("Calling…"));
      break;
    case NATTER_CALL_STATE_RINGING:
      text = g_strdup (incoming ? (natter_call_get_audio_only (self->call) ?
                                   _("Incoming audio call") : _("Incoming video call"))
                                : _("Ringing…"));
      break;
    case NATTER_CALL_STATE_CONNECTING:
      text = g_strdup (_("Connecting…"));
      break;
    case NATTER_CALL_STATE_ACTIVE:
      text = natter_call_row_format_duration (natter_call_get_duration (self->call));
      break;
    case NATTER_CALL_STATE_ENDED:
    default:
      text = g_strdup_printf (_("Call ended: %s"),
                              natter_call_end_reason_describe (
                                natter_call_get_end_reason (self->call)));
      break;
    }
  gtk_label_set_text (self->status_label, text);

  /* Pages rather than widgets shown and hidden: GTK 4.8's accessibility
   * tree misses widgets that become visible later */
  gtk_stack_set_visible_child_name (self->controls_stack, ringing_here ? "ringing" : "call");
  gtk_widget_set_sensitive (GTK_WIDGET (self->controls_stack), state != NATTER_CALL_STATE_ENDED);
  gtk_widget_set_sensitive (self->details_button, state == NATTER_CALL_STATE_ACTIVE);
  update_devices (self);
}

static void
update_remote_media (NatterCallWindow *self)
{
  gboolean mic = natter_call_get_remote_microphone_on (self->call);
  gboolean camera = natter_call_get_remote_camera_on (self->call) ||
                    natter_call_get_audio_only (self->call);
  const char *text = NULL;

  if (!mic && !camera)
    text = _("Their microphone and camera are off");
  else if (!mic)
    text = _("Their microphone is off");
  else if (!camera)
    text = _("Their camera is off");

  gtk_label_set_text (self->remote_media_label, text != NULL ? text : "");
  gtk_widget_set_visible (GTK_WIDGET (self->remote_media_label), text != NULL);
  if (!natter_call_get_remote_camera_on (self->call))
    natter_video_paintable_clear (self->remote);
}

static gboolean
on_close_timeout (gpointer user_data)
{
  NatterCallWindow *self = user_data;

  self->close_source = 0;
  gtk_window_destroy (GTK_WINDOW (self));
  return G_SOURCE_REMOVE;
}

static gboolean
on_details_tick (gpointer user_data)
{
  NatterCallWindow *self = user_data;
  g_autoptr(JsonObject) stats = natter_call_dup_stats (self->call);
  g_autoptr(GString) text = g_string_new (NULL);

  if (stats == NULL)
    return G_SOURCE_CONTINUE;

  /* TRANSLATORS: call statistics; ms = milliseconds */
  g_string_append_printf (text, _("Round trip: %.0f ms"),
                          json_object_get_double_member_with_default (stats, "rtt_ms", 0));
  g_string_append_c (text, '\n');
  g_string_append_printf (text, _("Receiving: %.0f kbit/s"),
                          json_object_get_double_member_with_default (stats, "bitrate_in_kbps",
                                                                      0));
  g_string_append_c (text, '\n');
  g_string_append_printf (text, _("Sending: %.0f kbit/s"),
                          json_object_get_double_member_with_default (stats, "bitrate_out_kbps",
                                                                      0));
  g_string_append_c (text, '\n');
  g_string_append_printf (text, _("Packets lost: %" G_GINT64_FORMAT),
                          json_object_get_int_member_with_default (stats, "packets_lost", 0));
  if (json_object_has_member (stats, "width"))
    {
      g_string_append_c (text, '\n');
      g_string_append_printf (text, _("Video: %" G_GINT64_FORMAT " × %" G_GINT64_FORMAT
                                      ", %.0f frames/s"),
                              json_object_get_int_member (stats, "width"),
                              json_object_get_int_member (stats, "height"),
                              json_object_get_double_member_with_default (stats, "fps", 0));
    }
  gtk_label_set_text (self->details_label, text->str);
  return G_SOURCE_CONTINUE;
}

static void
on_call_state (NatterCall       *call,
               GParamSpec       *pspec,
               NatterCallWindow *self)
{
  update_status (self);

  if (natter_call_get_state (call) == NATTER_CALL_STATE_ACTIVE && self->details_source == 0)
    self->details_source = g_timeout_add_seconds (1, on_details_tick, self);
  if (natter_call_get_state (call) == NATTER_CALL_STATE_ENDED)
    {
      g_clear_handle_id (&self->details_source, g_source_remove);
      if (self->close_source == 0)
        self->close_source = g_timeout_add_seconds (CLOSE_AFTER_END_S, on_close_timeout, self);
    }
}

static void
on_call_duration (NatterCall       *call,
                  GParamSpec       *pspec,
                  NatterCallWindow *self)
{
  if (natter_call_get_state (call) == NATTER_CALL_STATE_ACTIVE)
    update_status (self);
}

static void
on_remote_media (NatterCall       *call,
                 GParamSpec       *pspec,
                 NatterCallWindow *self)
{
  update_remote_media (self);
}

/* Unplugged mid-call: the core turned the camera off or muted; the buttons
 * and a line say so */
static void
on_device_lost (NatterCall        *call,
                NatterMediaDevice *device,
                NatterCallWindow  *self)
{
  g_autofree char *text = NULL;
  g_autofree char *name = g_utf8_make_valid (natter_media_device_get_name (device), -1);

  switch (natter_media_device_get_kind (device))
    {
    case NATTER_MEDIA_DEVICE_CAMERA:
      /* TRANSLATORS: %s is the camera's name */
      text = g_strdup_printf (_("Your camera “%s” was disconnected: your video is off"), name);
      break;
    case NATTER_MEDIA_DEVICE_MICROPHONE:
      /* TRANSLATORS: %s is the microphone's name */
      text = g_strdup_printf (_("Your microphone “%s” was disconnected: you are muted"), name);
      break;
    case NATTER_MEDIA_DEVICE_SPEAKER:
    default:
      /* TRANSLATORS: %s is the speaker's or headphones' name */
      text = g_strdup_printf (_("“%s” was disconnected"), name);
      break;
    }
  gtk_label_set_text (self->device_label, text);
  gtk_widget_set_visible (GTK_WIDGET (self->device_label), TRUE);
  gtk_toggle_button_set_active (self->camera_button, !natter_call_get_camera_on (call));
  gtk_toggle_button_set_active (self->mute_button, !natter_call_get_microphone_on (call));
  update_devices (self);
}

static void
on_mute_toggled (GtkToggleButton  *button,
                 NatterCallWindow *self)
{
  natter_client_set_call_microphone (self->client, self->call,
                                     !gtk_toggle_button_get_active (button));
}

static void
on_camera_toggled (GtkToggleButton  *button,
                   NatterCallWindow *self)
{
  natter_client_set_call_camera (self->client, self->call, !gtk_toggle_button_get_active (button));
  if (gtk_toggle_button_get_active (button))
    natter_video_paintable_clear (self->local);
}

static void
on_fullscreen_toggled (GtkToggleButton  *button,
                       NatterCallWindow *self)
{
  if (gtk_toggle_button_get_active (button))
    gtk_window_fullscreen (GTK_WINDOW (self));
  else
    gtk_window_unfullscreen (GTK_WINDOW (self));
}

static void
answer_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  NatterCallWindow *self = NATTER_CALL_WINDOW (widget);
  g_autoptr(GError) error = NULL;

  if (!natter_client_answer_call (self->client, self->call, &error))
    gtk_label_set_text (self->status_label, error->message);
}

static void
decline_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  NatterCallWindow *self = NATTER_CALL_WINDOW (widget);

  natter_client_decline_call (self->client, self->call);
}

static void
hang_up_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  NatterCallWindow *self = NATTER_CALL_WINDOW (widget);

  natter_client_hang_up_call (self->client, self->call);
}

static gboolean
natter_call_window_close_request (GtkWindow *window)
{
  NatterCallWindow *self = NATTER_CALL_WINDOW (window);

  if (natter_call_get_state (self->call) != NATTER_CALL_STATE_ENDED)
    natter_client_hang_up_call (self->client, self->call);

  return GTK_WINDOW_CLASS (natter_call_window_parent_class)->close_request (window);
}

static void
natter_call_window_dispose (GObject *object)
{
  NatterCallWindow *self = NATTER_CALL_WINDOW (object);

  g_clear_handle_id (&self->close_source, g_source_remove);
  g_clear_handle_id (&self->details_source, g_source_remove);
  if (self->call != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->call, self);
      natter_call_set_frame_func (self->call, NULL, NULL, NULL);
    }
  g_clear_object (&self->call);
  g_clear_object (&self->client);
  g_clear_object (&self->remote);
  g_clear_object (&self->local);

  G_OBJECT_CLASS (natter_call_window_parent_class)->dispose (object);
}

static void
natter_call_window_class_init (NatterCallWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->dispose = natter_call_window_dispose;
  window_class->close_request = natter_call_window_close_request;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/natter/Natter/ui/natter-call-window.ui");
  gtk_widget_class_bind_template_child (widget_class, NatterCallWindow, remote_picture);
  gtk_widget_class_bind_template_child (widget_class, NatterCallWindow, self_picture);
  gtk_widget_class_bind_template_child (widget_class, NatterCallWindow, name_label);
  gtk_widget_class_bind_template_child (widget_class, NatterCallWindow, status_label);
  gtk_widget_class_bind_template_child (widget_class, NatterCallWindow, remote_media_label);
  gtk_widget_class_bind_template_child (widget_class, NatterCallWindow, device_label);
  gtk_widget_class_bind_template_child (widget_class, NatterCallWindow, controls_stack);
  gtk_widget_class_bind_template_child (widget_class, NatterCallWindow, mute_button);
  gtk_widget_class_bind_template_child (widget_class, NatterCallWindow, camera_button);
  gtk_widget_class_bind_template_child (widget_class, NatterCallWindow, fullscreen_button);
  gtk_widget_class_bind_template_child (widget_class, NatterCallWindow, details_button);
  gtk_widget_class_bind_template_child (widget_class, NatterCallWindow, details_label);
  gtk_widget_class_bind_template_child (widget_class, NatterCallWindow, devices_button);
  gtk_widget_class_bind_template_child_full (widget_class, "camera_row", FALSE,
                                             G_STRUCT_OFFSET (NatterCallWindow,
                                                              device_rows[NATTER_MEDIA_DEVICE_CAMERA]));
  gtk_widget_class_bind_template_child_full (widget_class, "microphone_row", FALSE,
                                             G_STRUCT_OFFSET (NatterCallWindow,
                                                              device_rows[NATTER_MEDIA_DEVICE_MICROPHONE]));
  gtk_widget_class_bind_template_child_full (widget_class, "speaker_row", FALSE,
                                             G_STRUCT_OFFSET (NatterCallWindow,
                                                              device_rows[NATTER_MEDIA_DEVICE_SPEAKER]));

  gtk_widget_class_install_action (widget_class, "call.answer", NULL, answer_action);
  gtk_widget_class_install_action (widget_class, "call.decline", NULL, decline_action);
  gtk_widget_class_install_action (widget_class, "call.hang-up", NULL, hang_up_action);
}

static void
natter_call_window_init (NatterCallWindow *self)
{
  g_type_ensure (NATTER_TYPE_DEVICE_ROW);
  gtk_widget_init_template (GTK_WIDGET (self));

  self->remote = natter_video_paintable_new ();
  self->local = natter_video_paintable_new ();
  gtk_picture_set_paintable (self->remote_picture, GDK_PAINTABLE (self->remote));
  gtk_picture_set_paintable (self->self_picture, GDK_PAINTABLE (self->local));
}

/**
 * natter_call_window_new:
 * @contact_name: how the contact is shown (a name of theirs or ours, or the ID)
 *
 * A window for @call; set up before the call's media is (right when the
 * client says the call was added), so that its video reaches the window.
 */
NatterCallWindow *
natter_call_window_new (GtkApplication *application,
                        NatterClient   *client,
                        NatterCall     *call,
                        const char     *contact_name)
{
  NatterCallWindow *self;

  g_return_val_if_fail (NATTER_IS_CLIENT (client), NULL);
  g_return_val_if_fail (NATTER_IS_CALL (call), NULL);

  self = g_object_new (NATTER_TYPE_CALL_WINDOW, "application", application, NULL);
  self->client = g_object_ref (client);
  self->call = g_object_ref (call);
  gtk_label_set_text (self->name_label, contact_name);
  gtk_window_set_title (GTK_WINDOW (self), contact_name);

  natter_call_set_frame_func (call, on_frame, self, NULL);
  g_signal_connect (call, "notify::state", G_CALLBACK (on_call_state), self);
  g_signal_connect (call, "notify::duration", G_CALLBACK (on_call_duration), self);
  g_signal_connect (call, "notify::remote-microphone-on", G_CALLBACK (on_remote_media), self);
  g_signal_connect (call, "notify::remote-camera-on", G_CALLBACK (on_remote_media), self);
  g_signal_connect (call, "device-lost", G_CALLBACK (on_device_lost), self);
  for (guint kind = 0; kind < G_N_ELEMENTS (self->device_rows); kind++)
    g_signal_connect (self->device_rows[kind], "notify::selected", G_CALLBACK (on_device_chosen),
                      self);
  g_signal_connect (self->mute_button, "toggled", G_CALLBACK (on_mute_toggled), self);
  g_signal_connect (self->camera_button, "toggled", G_CALLBACK (on_camera_toggled), self);
  g_signal_connect (self->fullscreen_button, "toggled", G_CALLBACK (on_fullscreen_toggled), self);
  gtk_widget_set_visible (GTK_WIDGET (self->self_picture), !natter_call_get_audio_only (call));
  gtk_widget_set_visible (GTK_WIDGET (self->camera_button), !natter_call_get_audio_only (call));
  update_status (self);
  update_remote_media (self);

  return self;
}

NatterCall *
natter_call_window_get_call (NatterCallWindow *self)
{
  g_return_val_if_fail (NATTER_IS_CALL_WINDOW (self), NULL);

  return self->call;
}
