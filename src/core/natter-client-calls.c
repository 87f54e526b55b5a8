/* natter-client-calls.c: NatterClient's calls service
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A call is set up by `call` envelopes on the contact's chat channel
 * (invite, ringing, accept, decline, busy, hangup, media) and carried by a
 * connection of its own: a NatterPeer with its own session, the same
 * signatures and the same in-channel binding as chat, and the call's audio
 * and video in its first offer. Its signal payloads carry the call's ID in
 * `call`, which is how they find this connection rather than the chat one.
 * The callee offers, right after it sends `accept`. docs/peer.md, "Calls".
 *
 * One call at a time: an invitation during a call is answered `busy`. Both
 * sides inviting each other at once end up in the call whose ID sorts
 * first: the side whose own invitation lost takes the other call as
 * answered. Unanswered, a call rings out after the ring timeout; a contact
 * who leaves the server, or whose connection dies, ends the call with a
 * reason. Each call leaves one record in the history.
 */
#define G_LOG_DOMAIN "natter-client"

#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>

#include "natter-call-private.h"
#include "natter-client-private.h"
#include "natter-contact-session-private.h"
#include "natter-envelope.h"
#include "natter-store-calls.h"
#include "natter-user-id.h"

/* How long a call waits for the chat connection its invitation goes on */
#define CHAT_WAIT_S       15
/* The callee rings this much longer than the caller waits */
#define RING_GRACE_S      5

struct _NatterClientCalls
{
  GHashTable *calls;          /* call ID -> NatterCall, those not ended */
  guint       ring_timeout_s;
  gboolean    test_media;
  gboolean    playback;
  char       *devices[3];   /* chosen camera, microphone, speaker; NULL: the first */
};

static guint call_added_signal;

NatterClientCalls *
_natter_client_calls_new (void)
{
  NatterClientCalls *calls = g_new0 (NatterClientCalls, 1);

  calls->calls = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  calls->ring_timeout_s = NATTER_CALL_DEFAULT_RING_TIMEOUT_S;
  calls->playback = TRUE;
  return calls;
}

void
_natter_client_calls_class_init (GType type)
{
  /**
   * NatterClient::call-added:
   * @call: a call placed here or coming in, ringing
   *
   * Follow the call's properties from here ("state" to "ended").
   */
  call_added_signal = g_signal_new ("call-added", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                    G_TYPE_NONE, 1, NATTER_TYPE_CALL);
}

static NatterCall *
find_call (NatterClient *self,
           const char   *call_id,
           const char   *contact_id)
{
  NatterCall *call = call_id != NULL ? g_hash_table_lookup (self->calls->calls, call_id) : NULL;

  if (call == NULL || g_strcmp0 (call->contact_id, contact_id) != 0)
    return NULL;
  return call;
}

/* The call that is not over, if any */
static NatterCall *
current_call (NatterClient *self)
{
  GHashTableIter iter;
  NatterCall *call;

  g_hash_table_iter_init (&iter, self->calls->calls);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &call))
    if (call->state != NATTER_CALL_STATE_ENDED)
      return call;
  return NULL;
}

static void
copy_members (JsonObject *to,
              JsonObject *from)
{
  g_autoptr(GList) names = json_object_get_members (from);

  for (GList *l = names; l != NULL; l = l->next)
    json_object_set_member (to, l->data, json_object_dup_member (from, l->data));
}

static gboolean
send_envelope (NatterClient *self,
               NatterCall   *call,
               const char   *action,
               JsonObject   *members)
{
  g_autoptr(JsonObject) envelope = natter_envelope_new (NATTER_ENVELOPE_CALL);
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  NatterContactSession *session = _natter_client_get_session (self, call->contact_id);

  json_object_set_string_member (envelope, "call", call->id);
  json_object_set_string_member (envelope, "action", action);
  if (members != NULL)
    copy_members (envelope, members);

  text = natter_envelope_to_string (envelope, NULL);
  if (!_natter_contact_session_send_text (session, text, &error))
    {
      g_debug ("Call %s: could not send %s: %s", call->id, action, error->message);
      return FALSE;
    }
  return TRUE;
}

static gboolean
on_close_peer (gpointer data)
{
  natter_peer_close (NATTER_PEER (data));
  return G_SOURCE_REMOVE;
}

/* Ends @call for @reason: its connection goes, its record is written */
static void
finish (NatterClient        *self,
        NatterCall          *call,
        NatterCallEndReason  reason)
{
  g_autoptr(NatterCall) hold = g_object_ref (call);
  g_autoptr(GError) error = NULL;

  if (call->state == NATTER_CALL_STATE_ENDED)
    return;

  g_debug ("Call %s with %s ended: %s", call->id, NATTER_USER_ID_LOG (call->contact_id),
           natter_call_end_reason_to_string (reason));
  _natter_call_media_stop (call);
  if (call->peer != NULL)
    {
      g_signal_handlers_disconnect_by_data (call->peer, call);
      /* Not inside the peer's own signal emission */
      g_idle_add_full (G_PRIORITY_DEFAULT, on_close_peer, g_steal_pointer (&call->peer),
                       g_object_unref);
    }
  g_hash_table_remove (self->calls->calls, call->id);
  _natter_call_end (call, reason);

  if (!call->stored && !natter_store_add_call (self->store, call, &error))
    g_warning ("Could not keep the record of a call: %s", error->message);
  call->stored = TRUE;
}

static void
on_call_signal_out (NatterPeer *peer,
                    JsonObject *payload,
                    gpointer    user_data)
{
  NatterRendezvous *rendezvous = user_data;
  g_autoptr(JsonObject) tagged = json_object_new ();
  g_autoptr(GError) error = NULL;

  copy_members (tagged, payload);
  json_object_set_string_member (tagged, "call", g_object_get_data (G_OBJECT (peer), "call-id"));

  if (!natter_rendezvous_send_signal (rendezvous, natter_peer_get_remote_id (peer), tagged,
                                      &error))
    g_debug ("Could not relay a call's signal: %s", error->message);
}

static void
on_call_peer_state (NatterPeer *peer,
                    GParamSpec *pspec,
                    gpointer    user_data)
{
  NatterCall *call = user_data;
  NatterClient *self = call->client;

  if (self == NULL)
    return;

  switch (natter_peer_get_state (peer))
    {
    case NATTER_PEER_STATE_CONNECTED:
      _natter_call_set_state (call, NATTER_CALL_STATE_ACTIVE);
      break;
    case NATTER_PEER_STATE_FAILED:
      finish (self, call, call->state == NATTER_CALL_STATE_ACTIVE ?
                          NATTER_CALL_END_PEER_GONE : NATTER_CALL_END_CONNECTION_FAILED);
      break;
    case NATTER_PEER_STATE_CLOSED:
      finish (self, call, call->state == NATTER_CALL_STATE_ACTIVE ?
                          NATTER_CALL_END_REMOTE_HUNG_UP : NATTER_CALL_END_CONNECTION_FAILED);
      break;
    default:
      break;
    }
}

/* The call's own connection, with its media in the first offer or answer */
static gboolean
start_media (NatterClient *self,
             NatterCall   *call,
             gboolean      initiate)
{
  g_autoptr(GError) error = NULL;
  NatterCallMediaFlags flags = NATTER_CALL_MEDIA_DEVICES;

  if (call->peer != NULL)
    return TRUE;

  if (self->calls->test_media)
    flags |= NATTER_CALL_MEDIA_TEST;
  if (!self->calls->playback)
    flags |= NATTER_CALL_MEDIA_NO_PLAYBACK;

  call->peer = natter_peer_new (self->identity, call->contact_id,
                                self->ice_override != NULL ?
                                self->ice_override :
                                natter_rendezvous_get_ice_servers (self->rendezvous),
                                self->loopback);
  if (self->connect_timeout_ms > 0)
    natter_peer_set_connect_timeout (call->peer, self->connect_timeout_ms);
  natter_peer_set_relay_only (call->peer, self->relay_only);
  g_object_set_data_full (G_OBJECT (call->peer), "call-id", g_strdup (call->id), g_free);

  _natter_call_set_devices (call, self->calls->devices[NATTER_MEDIA_DEVICE_CAMERA],
                            self->calls->devices[NATTER_MEDIA_DEVICE_MICROPHONE],
                            self->calls->devices[NATTER_MEDIA_DEVICE_SPEAKER]);
  if (!_natter_call_media_add (call, call->peer, flags, &error))
    {
      g_message ("Call %s: no media: %s", call->id, error->message);
      send_envelope (self, call, "hangup", NULL);
      finish (self, call, NATTER_CALL_END_MEDIA_FAILED);
      return FALSE;
    }

  g_signal_connect_object (call->peer, "signal-out", G_CALLBACK (on_call_signal_out),
                           self->rendezvous, 0);
  g_signal_connect (call->peer, "notify::state", G_CALLBACK (on_call_peer_state), call);
  _natter_call_set_state (call, NATTER_CALL_STATE_CONNECTING);

  if (initiate)
    natter_peer_connect (call->peer);
  return TRUE;
}

static void
send_invite (NatterClient *self,
             NatterCall   *call)
{
  g_autoptr(JsonObject) members = json_object_new ();

  json_object_set_boolean_member (members, "video", !call->audio_only);
  if (send_envelope (self, call, "invite", members))
    {
      call->invite_sent = TRUE;
      g_clear_handle_id (&call->unreachable_source, g_source_remove);
    }
}

static gboolean
on_ring_timeout (gpointer user_data)
{
  NatterCall *call = user_data;
  NatterClient *self = call->client;
  g_autoptr(JsonObject) members = json_object_new ();

  call->ring_source = 0;
  if (self == NULL)
    return G_SOURCE_REMOVE;

  if (call->direction == NATTER_CALL_DIRECTION_OUT)
    {
      json_object_set_string_member (members, "reason", "timeout");
      send_envelope (self, call, "hangup", members);
    }
  finish (self, call, NATTER_CALL_END_NO_ANSWER);
  return G_SOURCE_REMOVE;
}

static gboolean
on_unreachable (gpointer user_data)
{
  NatterCall *call = user_data;

  call->unreachable_source = 0;
  if (call->client != NULL)
    finish (call->client, call, NATTER_CALL_END_UNREACHABLE);
  return G_SOURCE_REMOVE;
}

static NatterCall *
add_call (NatterClient        *self,
          const char          *call_id,
          const char          *contact_id,
          NatterCallDirection  direction,
          gboolean             audio_only)
{
  NatterCall *call = _natter_call_new (call_id, contact_id, direction, audio_only);

  call->client = self;
  g_hash_table_insert (self->calls->calls, g_strdup (call_id), call);
  return call;
}

/**
 * natter_client_place_call:
 * @contact_id: whom to call
 * @audio_only: no video either way
 *
 * Rings the contact. A contact who is not online ends the call at once
 * (reason unreachable), from the main loop, so that the caller sees it.
 *
 * Returns: (transfer full): the call, or %NULL with %G_IO_ERROR_BUSY in
 *   another call, %G_IO_ERROR_NOT_FOUND for someone who is not a contact
 */
NatterCall *
natter_client_place_call (NatterClient *self,
                          const char   *contact_id,
                          gboolean      audio_only,
                          GError      **error)
{
  g_autofree char *call_id = NULL;
  NatterContactSession *session;
  NatterCall *call;

  g_return_val_if_fail (NATTER_IS_CLIENT (self), NULL);
  g_return_val_if_fail (contact_id != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!_natter_client_is_allowed_peer (self, contact_id))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                           _("Only contacts who are not blocked can be called"));
      return NULL;
    }
  if (current_call (self) != NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_BUSY, _("You are already in a call"));
      return NULL;
    }

  call_id = g_uuid_string_random ();
  call = add_call (self, call_id, contact_id, NATTER_CALL_DIRECTION_OUT, audio_only);
  g_signal_emit (self, call_added_signal, 0, call);
  call->ring_source = g_timeout_add_seconds (self->calls->ring_timeout_s, on_ring_timeout, call);

  session = _natter_client_get_session (self, contact_id);
  if (!natter_rendezvous_is_user_online (self->rendezvous, contact_id))
    call->unreachable_source = g_idle_add (on_unreachable, call);
  else if (session->chat_open)
    send_invite (self, call);
  else
    {
      _natter_contact_session_ensure_peer (session, TRUE);
      call->unreachable_source = g_timeout_add_seconds (CHAT_WAIT_S, on_unreachable, call);
    }

  return g_object_ref (call);
}

/**
 * natter_client_answer_call:
 *
 * Answers a ringing incoming call: the media connection is set up.
 *
 * Returns: %FALSE with @error if the call no longer rings
 */
gboolean
natter_client_answer_call (NatterClient *self,
                           NatterCall   *call,
                           GError      **error)
{
  g_return_val_if_fail (NATTER_IS_CLIENT (self), FALSE);
  g_return_val_if_fail (NATTER_IS_CALL (call), FALSE);

  if (call->direction != NATTER_CALL_DIRECTION_IN || call->state != NATTER_CALL_STATE_RINGING)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                           _("The call is no longer ringing"));
      return FALSE;
    }

  g_clear_handle_id (&call->ring_source, g_source_remove);
  if (!send_envelope (self, call, "accept", NULL))
    {
      finish (self, call, NATTER_CALL_END_PEER_GONE);
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED,
                           _("The connection to the caller was lost"));
      return FALSE;
    }

  return start_media (self, call, TRUE);
}

void
natter_client_decline_call (NatterClient *self,
                            NatterCall   *call)
{
  g_return_if_fail (NATTER_IS_CLIENT (self));
  g_return_if_fail (NATTER_IS_CALL (call));

  if (call->state == NATTER_CALL_STATE_ENDED)
    return;
  if (call->direction != NATTER_CALL_DIRECTION_IN || call->state != NATTER_CALL_STATE_RINGING)
    {
      natter_client_hang_up_call (self, call);
      return;
    }

  send_envelope (self, call, "decline", NULL);
  finish (self, call, NATTER_CALL_END_DECLINED);
}

void
natter_client_hang_up_call (NatterClient *self,
                            NatterCall   *call)
{
  g_return_if_fail (NATTER_IS_CLIENT (self));
  g_return_if_fail (NATTER_IS_CALL (call));

  if (call->state == NATTER_CALL_STATE_ENDED)
    return;
  if (call->direction == NATTER_CALL_DIRECTION_IN && call->state == NATTER_CALL_STATE_RINGING)
    {
      natter_client_decline_call (self, call);
      return;
    }

  if (call->invite_sent || call->direction == NATTER_CALL_DIRECTION_IN)
    send_envelope (self, call, "hangup", NULL);
  finish (self, call, call->state == NATTER_CALL_STATE_ACTIVE || call->answered_at != 0 ?
                      NATTER_CALL_END_HUNG_UP : NATTER_CALL_END_CANCELLED);
}

static void
send_media_state (NatterClient *self,
                  NatterCall   *call)
{
  g_autoptr(JsonObject) members = json_object_new ();

  _natter_call_media_apply (call);
  json_object_set_boolean_member (members, "audio", call->microphone_on);
  json_object_set_boolean_member (members, "video", call->camera_on);
  send_envelope (self, call, "media", members);
}

void
natter_client_set_call_microphone (NatterClient *self,
                                   NatterCall   *call,
                                   gboolean      on)
{
  g_return_if_fail (NATTER_IS_CLIENT (self));
  g_return_if_fail (NATTER_IS_CALL (call));

  if (call->state == NATTER_CALL_STATE_ENDED || call->microphone_on == !!on)
    return;
  _natter_call_set_local_media (call, on, call->camera_on);
  send_media_state (self, call);
}

void
natter_client_set_call_camera (NatterClient *self,
                               NatterCall   *call,
                               gboolean      on)
{
  g_return_if_fail (NATTER_IS_CLIENT (self));
  g_return_if_fail (NATTER_IS_CALL (call));

  if (call->state == NATTER_CALL_STATE_ENDED || call->audio_only || call->camera_on == !!on)
    return;
  _natter_call_set_local_media (call, call->microphone_on, on);
  send_media_state (self, call);
}

/**
 * natter_client_get_current_call:
 *
 * Returns: (transfer none) (nullable): the call that is not over yet
 */
NatterCall *
natter_client_get_current_call (NatterClient *self)
{
  g_return_val_if_fail (NATTER_IS_CLIENT (self), NULL);

  return current_call (self);
}

/**
 * natter_client_list_calls:
 * @limit: at most this many, the latest
 *
 * Returns: (transfer container) (element-type NatterCall): the calls with
 *   @contact_id in the history, oldest first
 */
GPtrArray *
natter_client_list_calls (NatterClient *self,
                          const char   *contact_id,
                          guint         limit,
                          GError      **error)
{
  g_return_val_if_fail (NATTER_IS_CLIENT (self), NULL);

  return natter_store_list_calls (self->store, contact_id, limit, error);
}

/**
 * natter_client_set_call_test_media:
 *
 * Calls send a moving test pattern and a tone instead of the camera and
 * microphone (for tests, and machines without either).
 */
void
natter_client_set_call_test_media (NatterClient *self,
                                   gboolean      test_media)
{
  g_return_if_fail (NATTER_IS_CLIENT (self));
  self->calls->test_media = !!test_media;
}

/**
 * natter_client_set_call_playback:
 *
 * Whether the other side's audio is played (it is decoded either way).
 */
void
natter_client_set_call_playback (NatterClient *self,
                                 gboolean      playback)
{
  g_return_if_fail (NATTER_IS_CLIENT (self));
  self->calls->playback = !!playback;
}

/**
 * natter_client_set_call_device:
 * @kind: camera, microphone or speaker
 * @id: (nullable): a NatterMediaDevice's ID; %NULL or "" for the first there is
 *
 * The device calls use from their start on (one that is not there when a
 * call starts: the first there is).
 */
void
natter_client_set_call_device (NatterClient         *self,
                               NatterMediaDeviceKind kind,
                               const char           *id)
{
  g_return_if_fail (NATTER_IS_CLIENT (self));
  g_return_if_fail (kind <= NATTER_MEDIA_DEVICE_SPEAKER);

  g_free (self->calls->devices[kind]);
  self->calls->devices[kind] = id != NULL && id[0] != '\0' ? g_strdup (id) : NULL;
}

/**
 * natter_client_switch_call_device:
 * @id: a NatterMediaDevice's ID
 *
 * Mid-call: @call goes on with the camera, microphone or speaker @id.
 *
 * Returns: %TRUE if it does, %FALSE with @error set if the call uses no
 *   device of that kind (a test source) or @id is not there
 */
gboolean
natter_client_switch_call_device (NatterClient         *self,
                                  NatterCall           *call,
                                  NatterMediaDeviceKind kind,
                                  const char           *id,
                                  GError              **error)
{
  g_return_val_if_fail (NATTER_IS_CLIENT (self), FALSE);
  g_return_val_if_fail (NATTER_IS_CALL (call), FALSE);
  g_return_val_if_fail (kind <= NATTER_MEDIA_DEVICE_SPEAKER, FALSE);
  g_return_val_if_fail (id != NULL, FALSE);

  if (call->state == NATTER_CALL_STATE_ENDED)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CLOSED, "The call is over");
      return FALSE;
    }
  return _natter_call_media_switch (call, kind, id, error);
}

/**
 * natter_client_set_call_ring_timeout:
 * @seconds: how long an outgoing call rings before it counts as missed
 *   (%NATTER_CALL_DEFAULT_RING_TIMEOUT_S unless set)
 */
void
natter_client_set_call_ring_timeout (NatterClient *self,
                                     guint         seconds)
{
  g_return_if_fail (NATTER_IS_CLIENT (self));
  g_return_if_fail (seconds > 0);
  self->calls->ring_timeout_s = seconds;
}

/* Envelopes */

static void
handle_invite (NatterClient         *self,
               NatterContactSession *session,
               const char           *call_id,
               JsonObject           *envelope)
{
  gboolean audio_only = !json_object_get_boolean_member_with_default (envelope, "video", TRUE);
  NatterCall *current = current_call (self);
  char *old_key = NULL;
  NatterCall *call;

  if (g_hash_table_contains (self->calls->calls, call_id))
    return;

  /* Both called each other: the call whose ID sorts first goes on */
  if (current != NULL && g_str_equal (current->contact_id, session->contact_id) &&
      current->direction == NATTER_CALL_DIRECTION_OUT &&
      (current->state == NATTER_CALL_STATE_DIALING || current->state == NATTER_CALL_STATE_RINGING))
    {
      if (strcmp (call_id, current->id) > 0)
        return;   /* theirs loses; they take ours */

      g_debug ("Call %s: both called; %s goes on", current->id, call_id);
      g_hash_table_steal_extended (self->calls->calls, current->id, (gpointer *) &old_key, NULL);
      g_free (old_key);
      _natter_call_set_id (current, call_id);
      g_hash_table_insert (self->calls->calls, g_strdup (call_id), current);
      current->audio_only = current->audio_only || audio_only;
      g_clear_handle_id (&current->ring_source, g_source_remove);
      if (send_envelope (self, current, "accept", NULL))
        start_media (self, current, TRUE);
      return;
    }

  call = add_call (self, call_id, session->contact_id, NATTER_CALL_DIRECTION_IN, audio_only);
  if (current != NULL)
    {
      send_envelope (self, call, "busy", NULL);
      g_signal_emit (self, call_added_signal, 0, call);
      finish (self, call, NATTER_CALL_END_BUSY);
      return;
    }

  /* Ringing goes before anything a handler (one that answers at once) sends */
  send_envelope (self, call, "ringing", NULL);
  call->ring_source = g_timeout_add_seconds (self->calls->ring_timeout_s + RING_GRACE_S,
                                             on_ring_timeout, call);
  g_signal_emit (self, call_added_signal, 0, call);
}

/* natter-client-chat.c hands every `call` envelope here */
void
_natter_client_call_envelope (NatterClient         *self,
                              NatterContactSession *session,
                              JsonObject           *envelope)
{
  const char *call_id = json_object_get_string_member (envelope, "call");
  const char *action = json_object_get_string_member (envelope, "action");
  NatterCall *call;

  if (g_str_equal (action, "invite"))
    {
      handle_invite (self, session, call_id, envelope);
      return;
    }

  call = find_call (self, call_id, session->contact_id);
  if (call == NULL)
    {
      g_debug ("A call envelope (%s) for no call of ours", action);
      return;
    }

  if (g_str_equal (action, "ringing"))
    {
      if (call->direction == NATTER_CALL_DIRECTION_OUT)
        _natter_call_set_state (call, call->state == NATTER_CALL_STATE_DIALING ?
                                      NATTER_CALL_STATE_RINGING : call->state);
    }
  else if (g_str_equal (action, "accept"))
    {
      if (call->direction == NATTER_CALL_DIRECTION_OUT && call->peer == NULL)
        {
          g_clear_handle_id (&call->ring_source, g_source_remove);
          start_media (self, call, FALSE);
        }
    }
  else if (g_str_equal (action, "decline") || g_str_equal (action, "busy"))
    {
      if (call->direction == NATTER_CALL_DIRECTION_OUT && call->peer == NULL)
        finish (self, call, g_str_equal (action, "busy") ? NATTER_CALL_END_BUSY
                                                         : NATTER_CALL_END_DECLINED);
    }
  else if (g_str_equal (action, "hangup"))
    {
      const char *reason = json_object_get_string_member_with_default (envelope, "reason", "");

      if (call->state == NATTER_CALL_STATE_RINGING && call->direction == NATTER_CALL_DIRECTION_IN)
        finish (self, call, g_str_equal (reason, "timeout") ? NATTER_CALL_END_NO_ANSWER
                                                            : NATTER_CALL_END_CANCELLED);
      else
        finish (self, call, NATTER_CALL_END_REMOTE_HUNG_UP);
    }
  else if (g_str_equal (action, "media"))
    {
      _natter_call_set_remote_media (call,
        json_object_get_boolean_member_with_default (envelope, "audio",
                                                     call->remote_microphone_on),
        json_object_get_boolean_member_with_default (envelope, "video",
                                                     call->remote_camera_on));
    }
}

/* A signal payload with a `call`: for that call's connection. Returns
 * whether it was one (handled or dropped), so that the chat connection
 * never sees it. */
gboolean
_natter_client_calls_signal (NatterClient *self,
                             const char   *from,
                             JsonObject   *payload)
{
  JsonNode *node = json_object_get_member (payload, "call");
  NatterCall *call;

  if (node == NULL)
    return FALSE;

  call = JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING &&
         natter_envelope_id_is_valid (json_node_get_string (node)) ?
         find_call (self, json_node_get_string (node), from) : NULL;
  if (call == NULL)
    {
      g_debug ("A call's signal from %s for no call of ours", NATTER_USER_ID_LOG (from));
      return TRUE;
    }

  /* Their offer may overtake their accept, which comes the other way */
  if (call->peer == NULL && call->direction == NATTER_CALL_DIRECTION_OUT &&
      g_strcmp0 (json_object_get_string_member_with_default (payload, "type", ""), "offer") == 0)
    {
      g_clear_handle_id (&call->ring_source, g_source_remove);
      start_media (self, call, FALSE);
    }

  if (call->peer != NULL)
    natter_peer_handle_signal (call->peer, payload);
  return TRUE;
}

/* The chat channel to a contact opened: invitations waiting for it go */
void
_natter_client_calls_chat_opened (NatterClient         *self,
                                  NatterContactSession *session)
{
  NatterCall *call = current_call (self);

  if (call != NULL && !call->invite_sent && call->direction == NATTER_CALL_DIRECTION_OUT &&
      call->state == NATTER_CALL_STATE_DIALING &&
      g_str_equal (call->contact_id, session->contact_id))
    send_invite (self, call);
}

/* The contact left the server: their side of any call is gone */
void
_natter_client_calls_contact_offline (NatterClient *self,
                                      const char   *contact_id)
{
  NatterCall *call = current_call (self);

  if (call == NULL || !g_str_equal (call->contact_id, contact_id))
    return;

  switch (call->state)
    {
    case NATTER_CALL_STATE_DIALING:
      finish (self, call, NATTER_CALL_END_UNREACHABLE);
      break;
    case NATTER_CALL_STATE_RINGING:
      finish (self, call, call->direction == NATTER_CALL_DIRECTION_IN ?
                          NATTER_CALL_END_CANCELLED : NATTER_CALL_END_UNREACHABLE);
      break;
    default:
      finish (self, call, NATTER_CALL_END_PEER_GONE);
      break;
    }
}

/* The client stops: every call is hung up while the goodbyes can still go */
void
_natter_client_calls_stop (NatterClient *self)
{
  NatterCall *call;

  while ((call = current_call (self)) != NULL)
    natter_client_hang_up_call (self, call);
}

void
_natter_client_calls_free (NatterClient      *self,
                           NatterClientCalls *calls)
{
  GHashTableIter iter;
  NatterCall *call;

  g_hash_table_iter_init (&iter, calls->calls);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &call))
    {
      _natter_call_media_stop (call);
      call->client = NULL;
      if (call->peer != NULL)
        g_signal_handlers_disconnect_by_data (call->peer, call);
    }
  g_hash_table_unref (calls->calls);
  for (guint i = 0; i < G_N_ELEMENTS (calls->devices); i++)
    g_free (calls->devices[i]);
  g_free (calls);
}
