/* natter-client-profile-exchange.c: our profile and picture to contacts, theirs to us
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * When a chat channel opens, each side sends a `profile` envelope (name,
 * bio, the picture's checksum) and, unless the other has it already, the
 * picture in `avatar` chunks (docs/peer.md). A picture is put together
 * here, checked against its checksum and natter_client_validate_avatar(),
 * and only then stored.
 */
#define G_LOG_DOMAIN "natter-client"

#include "config.h"

#include "natter-client-private.h"
#include "natter-contact-session-private.h"
#include "natter-image.h"
#include "natter-protocol.h"

static char *
sha256_hex (GBytes *bytes)
{
  return g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, bytes);
}

static void
send_avatar (NatterClient *self,
             NatterContactSession *session)
{
  gsize size;
  const guint8 *data = g_bytes_get_data (self->avatar, &size);
  guint count = (size + NATTER_AVATAR_CHUNK_SIZE - 1) / NATTER_AVATAR_CHUNK_SIZE;

  for (guint i = 0; i < count; i++)
    {
      g_autoptr(JsonObject) envelope = natter_envelope_new (NATTER_ENVELOPE_AVATAR);
      g_autofree char *chunk = NULL;
      g_autofree char *text = NULL;
      gsize offset = (gsize) i * NATTER_AVATAR_CHUNK_SIZE;

      chunk = g_base64_encode (data + offset, MIN (NATTER_AVATAR_CHUNK_SIZE, size - offset));
      json_object_set_string_member (envelope, "sha256", self->avatar_sha256);
      json_object_set_int_member (envelope, "size", size);
      json_object_set_int_member (envelope, "index", i);
      json_object_set_int_member (envelope, "count", count);
      json_object_set_string_member (envelope, "data", chunk);

      text = natter_envelope_to_string (envelope, NULL);
      if (!_natter_contact_session_send_text (session, text, NULL))
        return;
    }
}

void
_natter_client_send_profile (NatterClient *self,
              NatterContactSession *session)
{
  g_autoptr(JsonObject) envelope = NULL;
  g_autofree char *text = NULL;

  if (self->profile_name == NULL && self->profile_bio == NULL && self->avatar == NULL)
    return;

  envelope = natter_envelope_new (NATTER_ENVELOPE_PROFILE);
  if (self->profile_name != NULL)
    json_object_set_string_member (envelope, "name", self->profile_name);
  if (self->profile_bio != NULL)
    json_object_set_string_member (envelope, "bio", self->profile_bio);
  if (self->avatar_sha256 != NULL)
    json_object_set_string_member (envelope, "avatar_sha256", self->avatar_sha256);

  text = natter_envelope_to_string (envelope, NULL);
  if (_natter_contact_session_send_text (session, text, NULL) && self->avatar != NULL)
    send_avatar (self, session);
}

void
_natter_client_profile_envelope (NatterClient *self,
                         NatterContactSession *session,
                         JsonObject   *envelope)
{
  g_autoptr(NatterContact) contact = _natter_client_lookup_contact (self, session->contact_id);
  g_autoptr(GError) error = NULL;
  const char *avatar_sha256;

  if (contact == NULL)
    return;

  if (json_object_has_member (envelope, "name"))
    natter_contact_set_display_name (contact, json_object_get_string_member (envelope, "name"));
  if (json_object_has_member (envelope, "bio"))
    natter_contact_set_bio (contact, json_object_get_string_member (envelope, "bio"));

  /* The picture itself follows in avatar envelopes, unless it is the one we have. */
  avatar_sha256 = json_object_get_string_member_with_default (envelope, "avatar_sha256", NULL);
  if (avatar_sha256 == NULL)
    natter_contact_set_avatar (contact, NULL);
  else if (natter_contact_get_avatar (contact) != NULL)
    {
      g_autofree char *known = sha256_hex (natter_contact_get_avatar (contact));

      if (g_ascii_strcasecmp (known, avatar_sha256) != 0)
        natter_contact_set_avatar (contact, NULL);
    }

  if (!natter_store_update_contact (self->store, contact, &error))
    g_warning ("Could not store a contact's profile: %s", error->message);
  else
    g_signal_emit (self, _natter_client_signals[CONTACT_CHANGED], 0, session->contact_id);
}

void
_natter_client_avatar_envelope (NatterClient *self,
                        NatterContactSession *session,
                        JsonObject   *envelope)
{
  const char *sha256 = json_object_get_string_member (envelope, "sha256");
  gint64 size = json_object_get_int_member (envelope, "size");
  guint index = json_object_get_int_member (envelope, "index");
  guint count = json_object_get_int_member (envelope, "count");
  g_autoptr(GByteArray) whole = NULL;
  g_autoptr(GBytes) avatar = NULL;
  g_autoptr(NatterContact) contact = NULL;
  g_autofree char *actual = NULL;
  g_autoptr(GError) error = NULL;
  guchar *chunk;
  gsize chunk_len;

  if (g_strcmp0 (session->avatar_sha256, sha256) != 0 || session->avatar_chunks == NULL ||
      session->avatar_chunks->len != count)
    {
      g_free (session->avatar_sha256);
      session->avatar_sha256 = g_strdup (sha256);
      g_clear_pointer (&session->avatar_chunks, g_ptr_array_unref);
      session->avatar_chunks = g_ptr_array_new_full (count, (GDestroyNotify) g_bytes_unref);
      g_ptr_array_set_size (session->avatar_chunks, count);
    }

  chunk = g_base64_decode (json_object_get_string_member (envelope, "data"), &chunk_len);
  g_clear_pointer (&g_ptr_array_index (session->avatar_chunks, index), g_bytes_unref);
  g_ptr_array_index (session->avatar_chunks, index) = g_bytes_new_take (chunk, chunk_len);

  whole = g_byte_array_sized_new (size);
  for (guint i = 0; i < count; i++)
    {
      GBytes *piece = g_ptr_array_index (session->avatar_chunks, i);

      if (piece == NULL)
        return;   /* more to come */
      g_byte_array_append (whole, g_bytes_get_data (piece, NULL), g_bytes_get_size (piece));
    }

  g_clear_pointer (&session->avatar_chunks, g_ptr_array_unref);
  g_clear_pointer (&session->avatar_sha256, g_free);

  avatar = g_byte_array_free_to_bytes (g_steal_pointer (&whole));
  actual = sha256_hex (avatar);
  if ((gint64) g_bytes_get_size (avatar) != size || g_ascii_strcasecmp (actual, sha256) != 0)
    {
      g_warning ("Dropped an avatar from %s that does not match its checksum",
                 NATTER_USER_ID_LOG (session->contact_id));
      return;
    }

  /* The same checks as for our own, before it is stored or decoded */
  if (!natter_client_validate_avatar (avatar, &error))
    {
      g_message ("Dropped an avatar from %s: %s",
                 NATTER_USER_ID_LOG (session->contact_id), error->message);
      return;
    }

  contact = _natter_client_lookup_contact (self, session->contact_id);
  if (contact == NULL)
    return;

  natter_contact_set_avatar (contact, avatar);
  if (!natter_store_update_contact (self->store, contact, &error))
    g_warning ("Could not store a contact's avatar: %s", error->message);
  else
    g_signal_emit (self, _natter_client_signals[CONTACT_CHANGED], 0, session->contact_id);
}

/* Our profile changed: it goes to every contact whose chat is open */
static void
send_profile_to_connected (NatterClient *self)
{
  GHashTableIter iter;
  NatterContactSession *session;

  g_hash_table_iter_init (&iter, self->sessions);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &session))
    if (session->chat_open)
      _natter_client_send_profile (self, session);
}

/**
 * natter_client_set_profile:
 * @self: a #NatterClient
 * @name: (nullable): the display name contacts see
 * @bio: (nullable): a short text about oneself
 *
 * Sets the profile sent to each contact when a connection opens, and at
 * once to those connected now.
 */
void
natter_client_set_profile (NatterClient *self,
                           const char   *name,
                           const char   *bio)
{
  g_return_if_fail (NATTER_IS_CLIENT (self));

  if (g_strcmp0 (name, self->profile_name) == 0 && g_strcmp0 (bio, self->profile_bio) == 0)
    return;

  g_free (self->profile_name);
  self->profile_name = g_strdup (name);
  g_free (self->profile_bio);
  self->profile_bio = g_strdup (bio);

  send_profile_to_connected (self);
}

/**
 * natter_client_validate_avatar:
 * @avatar: a picture
 * @error: a #GError
 *
 * Checks our own picture before it is sent and a contact's before it is
 * stored or decoded: the format and size in pixels are read from the header
 * alone, so that nothing is decoded to find out.
 *
 * Returns: %TRUE if @avatar is a PNG, JPEG or WebP picture of at most 256 KiB
 *   and %NATTER_AVATAR_MAX_PIXELS pixels a side
 */
gboolean
natter_client_validate_avatar (GBytes  *avatar,
                               GError **error)
{
  guint width;
  guint height;

  g_return_val_if_fail (avatar != NULL, FALSE);

  if (g_bytes_get_size (avatar) > NATTER_AVATAR_MAX_SIZE)
    {
      g_set_error (error, NATTER_CLIENT_ERROR, NATTER_CLIENT_ERROR_INVALID_AVATAR,
                   "A profile picture is at most %d KiB", NATTER_AVATAR_MAX_SIZE / 1024);
      return FALSE;
    }

  if (natter_image_read_header (avatar, &width, &height) == NATTER_IMAGE_UNKNOWN)
    {
      g_set_error_literal (error, NATTER_CLIENT_ERROR, NATTER_CLIENT_ERROR_INVALID_AVATAR,
                           "A profile picture is a PNG, JPEG or WebP image");
      return FALSE;
    }

  if (width == 0 || height == 0 || width > NATTER_AVATAR_MAX_PIXELS ||
      height > NATTER_AVATAR_MAX_PIXELS)
    {
      g_set_error (error, NATTER_CLIENT_ERROR, NATTER_CLIENT_ERROR_INVALID_AVATAR,
                   "A profile picture is at most %d × %d pixels (this one says %u × %u)",
                   NATTER_AVATAR_MAX_PIXELS, NATTER_AVATAR_MAX_PIXELS, width, height);
      return FALSE;
    }

  return TRUE;
}

/**
 * natter_client_set_avatar:
 * @self: a #NatterClient
 * @avatar: (nullable): a PNG, JPEG or WebP picture of at most 256 KiB
 * @error: a #GError
 *
 * Sets the picture sent with the profile; contacts connected now get it at
 * once.
 *
 * Returns: %TRUE if @avatar is acceptable
 */
gboolean
natter_client_set_avatar (NatterClient  *self,
                          GBytes        *avatar,
                          GError       **error)
{
  g_autofree char *sha256 = NULL;

  g_return_val_if_fail (NATTER_IS_CLIENT (self), FALSE);

  if (avatar != NULL && !natter_client_validate_avatar (avatar, error))
    return FALSE;

  sha256 = avatar != NULL ? sha256_hex (avatar) : NULL;
  if (g_strcmp0 (sha256, self->avatar_sha256) == 0)
    return TRUE;

  g_clear_pointer (&self->avatar, g_bytes_unref);
  g_free (self->avatar_sha256);
  self->avatar_sha256 = g_steal_pointer (&sha256);
  if (avatar != NULL)
    self->avatar = g_bytes_ref (avatar);

  /* Contacts connected now see the new picture at once, the others when
   * they next connect */
  send_profile_to_connected (self);
  return TRUE;
}
