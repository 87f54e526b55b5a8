/* natter-profile.c: one profile folder: its settings, identity, history and client
 *
 * A profile is a folder $XDG_DATA_HOME/natter/profiles/NAME (mode 0700) with
 * the history (history.db and its backup), settings.ini ([client] server,
 * [profile] name and bio, [history] created) and an optional `avatar` file.
 * The identity key lives in the keyring under the profile's name, or in a
 * key file of the caller's choosing. The app and natter-cli each own one
 * NatterProfile, so both read and write the folder the same way.
 *
 * settings.ini is written whole to a new file that is renamed into place
 * (a crash leaves the old or the new, never half of one), with mode 0600,
 * keeping the comments and keys a person wrote in it.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "natter-profile"

#include "config.h"

#include <errno.h>
#include <string.h>

#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>

#include "natter-profile.h"
#include "natter-lan.h"
#include "natter-protocol.h"

enum {
  PROP_0,
  PROP_NAME,
  PROP_CLIENT,
  N_PROPS
};

enum {
  BACKUP_FAILED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

struct _NatterProfile
{
  GObject         parent_instance;

  char           *name;
  char           *path;
  GKeyFile       *settings;
  char           *identity_file;

  NatterIdentity *identity;
  NatterStore    *store;
  NatterClient   *client;

  guint           backup_source;
};

static void natter_profile_initable_iface_init (GInitableIface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (NatterProfile, natter_profile, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_INITABLE,
                                                      natter_profile_initable_iface_init))
G_DEFINE_QUARK (natter-profile-error-quark, natter_profile_error)

static char *
file_path (NatterProfile *self,
           const char    *name)
{
  return g_build_filename (self->path, name, NULL);
}

static gboolean
save_settings (NatterProfile  *self,
               GError        **error)
{
  g_autofree char *path = file_path (self, NATTER_PROFILE_SETTINGS_FILE_NAME);
  g_autofree char *data = g_key_file_to_data (self->settings, NULL, NULL);
  g_autoptr(GError) local_error = NULL;

  if (!g_file_set_contents_full (path, data, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600,
                                 &local_error))
    {
      g_set_error (error, local_error->domain, local_error->code, _("Cannot save %s: %s"), path,
                   local_error->message);
      return FALSE;
    }

  return TRUE;
}

static gboolean
load_settings (NatterProfile  *self,
               GError        **error)
{
  g_autofree char *path = file_path (self, NATTER_PROFILE_SETTINGS_FILE_NAME);
  g_autoptr(GError) local_error = NULL;

  if (g_key_file_load_from_file (self->settings, path,
                                 G_KEY_FILE_KEEP_COMMENTS | G_KEY_FILE_KEEP_TRANSLATIONS,
                                 &local_error) ||
      g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
    return TRUE;

  if (local_error->domain == G_KEY_FILE_ERROR)
    g_set_error (error, NATTER_PROFILE_ERROR, NATTER_PROFILE_ERROR_SETTINGS_DAMAGED,
                 _("The settings file %s is damaged (%s); mend it or move it aside"), path,
                 local_error->message);
  else
    g_set_error (error, local_error->domain, local_error->code, _("Cannot read %s: %s"), path,
                 local_error->message);

  return FALSE;
}

static NatterLan *new_lan    (NatterProfile *self);
static gboolean   ready_for_client (NatterProfile  *self,
                                    GError        **error);
static NatterLan *client_lan (NatterProfile *self);

/* Hands what contacts see of us to the client */
static void
apply_public (NatterProfile *self)
{
  g_autofree char *name = natter_profile_dup_display_name (self);
  g_autofree char *bio = natter_profile_dup_bio (self);
  g_autoptr(GBytes) avatar = NULL;
  g_autoptr(GError) error = NULL;

  /* The picture first: a profile sent after it names the new one. A
   * picture removed is removed for contacts too. */
  avatar = natter_profile_dup_avatar (self, &error);
  if (error != NULL)
    g_debug ("%s", error->message);
  else
    natter_client_set_avatar (self->client, avatar, NULL);

  natter_client_set_profile (self->client, name, bio);
  if (client_lan (self) != NULL)
    natter_lan_set_display_name (client_lan (self), name);
}

static gboolean
on_backup_timer (gpointer user_data)
{
  NatterProfile *self = user_data;
  g_autoptr(GError) error = NULL;

  if (self->store != NULL && !natter_store_get_damaged (self->store) &&
      !natter_store_get_read_only (self->store) &&
      !natter_store_backup_if_due (self->store, NATTER_PROFILE_BACKUP_MAX_AGE_S, &error))
    g_signal_emit (self, signals[BACKUP_FAILED], 0, error);

  return G_SOURCE_CONTINUE;
}

static gboolean
natter_profile_initable_init (GInitable     *initable,
                              GCancellable  *cancellable,
                              GError       **error)
{
  NatterProfile *self = NATTER_PROFILE (initable);

  if (!natter_profile_name_is_valid (self->name))
    {
      g_set_error_literal (error, NATTER_PROFILE_ERROR, NATTER_PROFILE_ERROR_INVALID_NAME,
                           _("A profile name is 1 to 64 letters, digits, '.', '_' or '-'"));
      return FALSE;
    }

  self->path = g_build_filename (g_get_user_data_dir (), "natter", "profiles", self->name, NULL);
  if (g_mkdir_with_parents (self->path, 0700) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                   _("Cannot create the profile folder %s: %s"), self->path,
                   g_strerror (saved_errno));
      return FALSE;
    }

  return load_settings (self, error);
}

static void
natter_profile_initable_iface_init (GInitableIface *iface)
{
  iface->init = natter_profile_initable_init;
}

static void
natter_profile_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  NatterProfile *self = NATTER_PROFILE (object);

  switch (prop_id)
    {
    case PROP_NAME:
      g_value_set_string (value, self->name);
      break;

    case PROP_CLIENT:
      g_value_set_object (value, self->client);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
natter_profile_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  NatterProfile *self = NATTER_PROFILE (object);

  switch (prop_id)
    {
    case PROP_NAME:
      self->name = g_value_dup_string (value);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
natter_profile_dispose (GObject *object)
{
  NatterProfile *self = NATTER_PROFILE (object);

  g_clear_handle_id (&self->backup_source, g_source_remove);
  g_clear_object (&self->client);
  g_clear_object (&self->store);
  g_clear_object (&self->identity);

  G_OBJECT_CLASS (natter_profile_parent_class)->dispose (object);
}

static void
natter_profile_finalize (GObject *object)
{
  NatterProfile *self = NATTER_PROFILE (object);

  g_clear_pointer (&self->settings, g_key_file_unref);
  g_free (self->name);
  g_free (self->path);
  g_free (self->identity_file);

  G_OBJECT_CLASS (natter_profile_parent_class)->finalize (object);
}

static void
natter_profile_class_init (NatterProfileClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = natter_profile_get_property;
  object_class->set_property = natter_profile_set_property;
  object_class->dispose = natter_profile_dispose;
  object_class->finalize = natter_profile_finalize;

  properties[PROP_NAME] =
    g_param_spec_string ("name", NULL, NULL, NATTER_PROFILE_DEFAULT,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * NatterProfile:client:
   *
   * The profile's client, once natter_profile_open_client() made it; a new
   * one when the server changes, %NULL after natter_profile_close_client().
   */
  properties[PROP_CLIENT] =
    g_param_spec_object ("client", NULL, NULL, NATTER_TYPE_CLIENT,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * NatterProfile::backup-failed:
   * @error: why the history's periodic backup could not be made
   */
  signals[BACKUP_FAILED] =
    g_signal_new ("backup-failed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_ERROR);
}

static void
natter_profile_init (NatterProfile *self)
{
  self->settings = g_key_file_new ();
}

/**
 * natter_profile_name_is_valid:
 * @name: (nullable): a profile name
 *
 * Returns: whether @name is 1 to 64 letters, digits, '.', '_' or '-', not
 *   starting with '.'
 */
gboolean
natter_profile_name_is_valid (const char *name)
{
  return name != NULL && name[0] != '.' &&
         g_regex_match_simple ("^[A-Za-z0-9_.-]{1,64}$", name, 0, 0);
}

/**
 * natter_profile_new:
 * @name: (nullable): the profile's name, %NULL for the default one
 * @error: a #GError
 *
 * Opens the profile's folder, making it if needed, and reads its settings.
 * Nothing else is opened yet: the identity, the history and the client
 * come when asked for.
 *
 * Returns: (transfer full) (nullable): the profile, or %NULL if the name is
 *   not valid, the folder cannot be made or the settings file is damaged
 *   (%NATTER_PROFILE_ERROR_SETTINGS_DAMAGED; it is left as it is)
 */
NatterProfile *
natter_profile_new (const char  *name,
                    GError     **error)
{
  return g_initable_new (NATTER_TYPE_PROFILE, NULL, error,
                         "name", name != NULL ? name : NATTER_PROFILE_DEFAULT,
                         NULL);
}

const char *
natter_profile_get_name (NatterProfile *self)
{
  g_return_val_if_fail (NATTER_IS_PROFILE (self), NULL);

  return self->name;
}

/**
 * natter_profile_get_path:
 *
 * Returns: the profile's folder
 */
const char *
natter_profile_get_path (NatterProfile *self)
{
  g_return_val_if_fail (NATTER_IS_PROFILE (self), NULL);

  return self->path;
}

/**
 * natter_profile_dup_server_url:
 *
 * Returns: (transfer full) (nullable): the profile's signaling server,
 *   %NULL before one was set
 */
char *
natter_profile_dup_server_url (NatterProfile *self)
{
  g_autofree char *url = NULL;

  g_return_val_if_fail (NATTER_IS_PROFILE (self), NULL);

  url = g_key_file_get_string (self->settings, "client", "server", NULL);
  if (url != NULL && *url == '\0')
    g_clear_pointer (&url, g_free);

  return g_steal_pointer (&url);
}

/* An open client is replaced by a new one for what the settings say now:
 * one change of #NatterProfile:client, from the old client to the new */
static gboolean
reopen_client (NatterProfile  *self,
               GError        **error)
{
  g_autoptr(NatterClient) old = NULL;

  if (self->client == NULL)
    return TRUE;

  old = g_steal_pointer (&self->client);
  natter_client_stop (old);
  if (natter_profile_open_client (self, error) == NULL)
    {
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CLIENT]);
      return FALSE;
    }

  return TRUE;
}

/**
 * natter_profile_set_server_url:
 * @server_url: the signaling server's WebSocket URL
 *
 * Remembers the server for the profile. The settings are written only when
 * this changes them, so that a profile on a full disk still opens. An open
 * client is replaced by one for the new server (see #NatterProfile:client),
 * not started yet.
 */
gboolean
natter_profile_set_server_url (NatterProfile  *self,
                               const char     *server_url,
                               GError        **error)
{
  g_autofree char *current = NULL;

  g_return_val_if_fail (NATTER_IS_PROFILE (self), FALSE);
  g_return_val_if_fail (server_url != NULL, FALSE);

  current = natter_profile_dup_server_url (self);
  if (g_strcmp0 (current, server_url) == 0)
    return TRUE;

  g_key_file_set_string (self->settings, "client", "server", server_url);
  if (!save_settings (self, error))
    return FALSE;

  return reopen_client (self, error);
}

/**
 * natter_profile_dup_display_name:
 *
 * Returns: (transfer full) (nullable): the name contacts see
 */
char *
natter_profile_dup_display_name (NatterProfile *self)
{
  g_return_val_if_fail (NATTER_IS_PROFILE (self), NULL);

  return g_key_file_get_string (self->settings, "profile", "name", NULL);
}

/**
 * natter_profile_dup_bio:
 *
 * Returns: (transfer full) (nullable): the short text contacts see
 */
char *
natter_profile_dup_bio (NatterProfile *self)
{
  g_return_val_if_fail (NATTER_IS_PROFILE (self), NULL);

  return g_key_file_get_string (self->settings, "profile", "bio", NULL);
}

/**
 * natter_profile_dup_handle:
 *
 * Returns: (transfer full) (nullable): the @handle we claimed on the server
 *   (lower case, no `@`), as we last heard of it
 */
char *
natter_profile_dup_handle (NatterProfile *self)
{
  g_return_val_if_fail (NATTER_IS_PROFILE (self), NULL);

  return g_key_file_get_string (self->settings, "profile", "handle", NULL);
}

/**
 * natter_profile_set_handle:
 * @handle: (nullable): the handle the server gave us, %NULL once released
 *
 * The server does not say which handle a user holds: the profile keeps it.
 *
 * Returns: %TRUE once settings.ini holds it
 */
gboolean
natter_profile_set_handle (NatterProfile  *self,
                           const char     *handle,
                           GError        **error)
{
  g_return_val_if_fail (NATTER_IS_PROFILE (self), FALSE);

  if (handle != NULL)
    g_key_file_set_string (self->settings, "profile", "handle", handle);
  else
    g_key_file_remove_key (self->settings, "profile", "handle", NULL);

  return save_settings (self, error);
}

gboolean
natter_profile_has_avatar (NatterProfile *self)
{
  g_autofree char *path = NULL;

  g_return_val_if_fail (NATTER_IS_PROFILE (self), FALSE);

  path = file_path (self, NATTER_PROFILE_AVATAR_FILE_NAME);
  return g_file_test (path, G_FILE_TEST_EXISTS);
}

/**
 * natter_profile_dup_avatar:
 * @error: set when there is a picture that cannot be read or used
 *
 * Returns: (transfer full) (nullable): the picture contacts see, %NULL
 *   without an error when there is none
 */
GBytes *
natter_profile_dup_avatar (NatterProfile  *self,
                           GError        **error)
{
  g_autofree char *path = NULL;
  g_autofree char *data = NULL;
  g_autoptr(GBytes) avatar = NULL;
  g_autoptr(GError) local_error = NULL;
  gsize length;

  g_return_val_if_fail (NATTER_IS_PROFILE (self), NULL);

  path = file_path (self, NATTER_PROFILE_AVATAR_FILE_NAME);
  if (!g_file_get_contents (path, &data, &length, &local_error))
    {
      if (!g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }

  avatar = g_bytes_new_take (g_steal_pointer (&data), length);
  if (!natter_client_validate_avatar (avatar, &local_error))
    {
      g_set_error (error, local_error->domain, local_error->code,
                   _("The profile picture %s is not usable: %s"), path, local_error->message);
      return NULL;
    }

  return g_steal_pointer (&avatar);
}

/**
 * natter_profile_save_public:
 * @name: (nullable): the display name, or %NULL to keep it
 * @bio: (nullable): the bio, or %NULL to keep it
 * @avatar: (nullable): a new picture, or %NULL to keep (or remove) it
 * @remove_avatar: remove the picture
 *
 * Saves what contacts see of us and hands it to the client, if open.
 * Values that are refused (too long, not a picture) leave everything as it
 * was; they are %G_IO_ERROR_INVALID_ARGUMENT or the client's avatar errors.
 */
gboolean
natter_profile_save_public (NatterProfile  *self,
                            const char     *name,
                            const char     *bio,
                            GBytes         *avatar,
                            gboolean        remove_avatar,
                            GError        **error)
{
  g_autofree char *path = NULL;

  g_return_val_if_fail (NATTER_IS_PROFILE (self), FALSE);

  if (name != NULL && (strlen (name) > NATTER_PROFILE_NAME_MAX ||
                       !g_utf8_validate (name, -1, NULL)))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("A display name is at most %d bytes"), NATTER_PROFILE_NAME_MAX);
      return FALSE;
    }

  if (bio != NULL && (strlen (bio) > NATTER_PROFILE_BIO_MAX || !g_utf8_validate (bio, -1, NULL)))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("A bio is at most %d bytes"), NATTER_PROFILE_BIO_MAX);
      return FALSE;
    }

  path = file_path (self, NATTER_PROFILE_AVATAR_FILE_NAME);
  if (avatar != NULL)
    {
      gsize length;
      const char *data = g_bytes_get_data (avatar, &length);

      if (!natter_client_validate_avatar (avatar, error) ||
          !g_file_set_contents_full (path, data, length, G_FILE_SET_CONTENTS_CONSISTENT, 0600,
                                     error))
        return FALSE;
    }
  else if (remove_avatar)
    {
      g_unlink (path);
    }

  if (name != NULL)
    g_key_file_set_string (self->settings, "profile", "name", name);
  if (bio != NULL)
    g_key_file_set_string (self->settings, "profile", "bio", bio);

  if (!save_settings (self, error))
    return FALSE;

  if (self->client != NULL)
    apply_public (self);

  return TRUE;
}

/**
 * natter_profile_set_identity_file:
 * @path: (nullable): a key file (mode 0600), or %NULL for the keyring
 *
 * Where natter_profile_load_identity_async() finds the identity key.
 */
void
natter_profile_set_identity_file (NatterProfile *self,
                                  const char    *path)
{
  g_return_if_fail (NATTER_IS_PROFILE (self));

  g_free (self->identity_file);
  self->identity_file = g_strdup (path);
}

static void
on_keyring_loaded (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  NatterProfile *self = g_task_get_source_object (task);
  g_autoptr(GError) error = NULL;
  NatterIdentity *identity;

  identity = natter_identity_load_from_keyring_finish (result, &error);
  if (identity == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  g_set_object (&self->identity, identity);
  g_task_return_pointer (task, identity, g_object_unref);
}

/**
 * natter_profile_load_identity_async:
 *
 * Loads the profile's identity, making one on first use: from the key file
 * if one was set, else from the keyring under the profile's name.
 */
void
natter_profile_load_identity_async (NatterProfile       *self,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GError) error = NULL;
  NatterIdentity *identity;

  g_return_if_fail (NATTER_IS_PROFILE (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, natter_profile_load_identity_async);

  if (self->identity != NULL)
    {
      g_task_return_pointer (task, g_object_ref (self->identity), g_object_unref);
      return;
    }

  if (self->identity_file == NULL)
    {
      natter_identity_load_from_keyring_async (self->name, TRUE, cancellable, on_keyring_loaded,
                                               g_steal_pointer (&task));
      return;
    }

  identity = natter_identity_load_from_file (self->identity_file, TRUE, &error);
  if (identity == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  g_set_object (&self->identity, identity);
  g_task_return_pointer (task, identity, g_object_unref);
}

/**
 * natter_profile_load_identity_finish:
 *
 * Returns: (transfer full) (nullable): the identity; its errors say what
 *   to do
 */
NatterIdentity *
natter_profile_load_identity_finish (NatterProfile  *self,
                                     GAsyncResult   *result,
                                     GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * natter_profile_get_identity:
 *
 * Returns: (transfer none) (nullable): the identity, once loaded
 */
NatterIdentity *
natter_profile_get_identity (NatterProfile *self)
{
  g_return_val_if_fail (NATTER_IS_PROFILE (self), NULL);

  return self->identity;
}

/**
 * natter_profile_open_store:
 *
 * Opens the history, making it on the profile's first use. Once a profile
 * had one (`[history] created`), a missing or empty file is damage
 * (%NATTER_STORE_ERROR_CORRUPT), never silently replaced by a new one.
 * A full disk opens it read-only.
 *
 * Returns: (transfer none) (nullable): the store
 */
NatterStore *
natter_profile_open_store (NatterProfile  *self,
                           GError        **error)
{
  g_autofree char *path = NULL;
  g_autoptr(NatterStore) store = NULL;
  gboolean had_history;
  NatterStoreOpenFlags flags = NATTER_STORE_OPEN_READ_ONLY_WHEN_FULL;

  g_return_val_if_fail (NATTER_IS_PROFILE (self), NULL);

  if (self->store != NULL)
    return self->store;

  had_history = g_key_file_get_boolean (self->settings, "history", "created", NULL);
  if (!had_history)
    flags |= NATTER_STORE_OPEN_CREATE;

  path = file_path (self, NATTER_STORE_FILE_NAME);
  store = natter_store_open (path, flags, error);
  if (store == NULL)
    return NULL;

  if (!had_history)
    {
      g_key_file_set_boolean (self->settings, "history", "created", TRUE);
      if (!save_settings (self, error))
        return NULL;
    }

  self->store = g_steal_pointer (&store);
  return self->store;
}

/**
 * natter_profile_get_store:
 *
 * Returns: (transfer none) (nullable): the history, once open
 */
NatterStore *
natter_profile_get_store (NatterProfile *self)
{
  g_return_val_if_fail (NATTER_IS_PROFILE (self), NULL);

  return self->store;
}

/**
 * natter_profile_start_backups:
 *
 * While the history is open and healthy, backs it up every
 * %NATTER_PROFILE_BACKUP_MAX_AGE_S; failures are #NatterProfile::backup-failed.
 */
void
natter_profile_start_backups (NatterProfile *self)
{
  g_return_if_fail (NATTER_IS_PROFILE (self));

  if (self->backup_source == 0)
    self->backup_source = g_timeout_add_seconds (NATTER_PROFILE_BACKUP_MAX_AGE_S / 4,
                                                 on_backup_timer, self);
}

/**
 * natter_profile_restore_backup:
 *
 * Closes the client and the history, then puts the history's backup in
 * its place (see natter_store_restore_backup()).
 *
 * Returns: (transfer full) (nullable): where the replaced history is kept,
 *   "" if there was none
 */
char *
natter_profile_restore_backup (NatterProfile  *self,
                               GError        **error)
{
  g_autofree char *path = NULL;

  g_return_val_if_fail (NATTER_IS_PROFILE (self), NULL);

  natter_profile_close_client (self);
  if (self->store != NULL)
    {
      natter_store_close (self->store);
      g_clear_object (&self->store);
    }

  path = file_path (self, NATTER_STORE_FILE_NAME);
  return natter_store_restore_backup (path, error);
}

/* What every client needs: the identity, loaded, and the history */
static gboolean
ready_for_client (NatterProfile  *self,
                  GError        **error)
{
  if (self->identity == NULL)
    {
      g_set_error_literal (error, NATTER_PROFILE_ERROR, NATTER_PROFILE_ERROR_NO_IDENTITY,
                           _("The profile’s identity is not loaded"));
      return FALSE;
    }

  return natter_profile_open_store (self, error) != NULL;
}

/**
 * natter_profile_open_client:
 *
 * Makes the profile's client (not started) once the identity is loaded,
 * opening the history if needed, and hands it what contacts see of us.
 * A picture that is not usable is left out (natter_profile_dup_avatar()
 * says why); the rest goes on.
 *
 * Returns: (transfer none) (nullable): the client, or %NULL if the history
 *   cannot be opened or no server is set (%NATTER_PROFILE_ERROR_NO_SERVER)
 */
NatterClient *
natter_profile_open_client (NatterProfile  *self,
                            GError        **error)
{
  g_autofree char *server = NULL;

  g_return_val_if_fail (NATTER_IS_PROFILE (self), NULL);

  if (self->client != NULL)
    return self->client;

  if (!ready_for_client (self, error))
    return NULL;

  server = natter_profile_dup_server_url (self);
  if (server == NULL && g_key_file_get_boolean (self->settings, "client", "nearby-only", NULL))
    return natter_profile_open_nearby_client (self, error);
  if (server == NULL)
    {
      g_set_error_literal (error, NATTER_PROFILE_ERROR, NATTER_PROFILE_ERROR_NO_SERVER,
                           _("No server is set for this profile"));
      return NULL;
    }

  if (g_key_file_get_boolean (self->settings, "lan", "with-server", NULL))
    {
      g_autoptr(NatterSignaling) signaling = natter_signaling_new (self->identity, server);
      g_autoptr(NatterLan) lan = new_lan (self);
      g_autoptr(NatterDualRendezvous) both = natter_dual_rendezvous_new (NATTER_RENDEZVOUS (signaling),
                                                                         NATTER_RENDEZVOUS (lan));

      self->client = natter_client_new_with_rendezvous (self->identity, self->store,
                                                        NATTER_RENDEZVOUS (both));
    }
  else
    self->client = natter_client_new (self->identity, self->store, server);
  apply_public (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CLIENT]);

  return self->client;
}

static void
on_lan_port (NatterLan     *lan,
             GParamSpec    *pspec,
             NatterProfile *self)
{
  g_autoptr(GError) error = NULL;

  g_key_file_set_integer (self->settings, "lan", "port", (int) natter_lan_get_port (lan));
  if (!save_settings (self, &error))
    g_debug ("%s", error->message);
}

static void
on_address_reached (NatterLan     *lan,
                    const char    *user_id,
                    const char    *address,
                    NatterProfile *self)
{
  g_auto(GStrv) addresses = g_key_file_get_string_list (self->settings, "lan", "addresses",
                                                        NULL, NULL);
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) updated = NULL;
  g_autoptr(GError) error = NULL;

  if (addresses != NULL && g_strv_contains ((const char * const *) addresses, address))
    return;

  if (addresses != NULL)
    g_strv_builder_addv (builder, (const char **) addresses);
  g_strv_builder_add (builder, address);
  updated = g_strv_builder_end (builder);
  g_key_file_set_string_list (self->settings, "lan", "addresses",
                              (const char * const *) updated, g_strv_length (updated));
  if (!save_settings (self, &error))
    g_debug ("%s", error->message);
}

/* The profile's NatterLan: its own port (chosen at random the first time
 * and remembered), its visibility, the typed addresses it dials */
static NatterLan *
new_lan (NatterProfile *self)
{
  NatterLan *lan;
  g_auto(GStrv) addresses = NULL;
  int port;

  port = g_key_file_get_integer (self->settings, "lan", "port", NULL);
  if (port < NATTER_LAN_PORT_MIN || port > NATTER_LAN_PORT_MAX)
    port = g_random_int_range (NATTER_LAN_PORT_MIN, NATTER_LAN_PORT_MAX + 1);

  lan = natter_lan_new (self->identity, (guint) port);
  if (g_key_file_get_integer (self->settings, "lan", "port", NULL) != port)
    on_lan_port (lan, NULL, self);
  if (g_key_file_has_key (self->settings, "lan", "visible", NULL))
    natter_lan_set_visible (lan, g_key_file_get_boolean (self->settings, "lan", "visible", NULL));

  addresses = g_key_file_get_string_list (self->settings, "lan", "addresses", NULL, NULL);
  for (guint i = 0; addresses != NULL && addresses[i] != NULL; i++)
    natter_lan_connect_address (lan, addresses[i], NULL);

  g_signal_connect_object (lan, "notify::port", G_CALLBACK (on_lan_port), self, 0);
  g_signal_connect_object (lan, "address-reached", G_CALLBACK (on_address_reached), self, 0);

  return lan;
}

/* The client's NatterLan, if it has one */
static NatterLan *
client_lan (NatterProfile *self)
{
  return natter_client_get_lan (self->client);
}

/**
 * natter_profile_open_nearby_client:
 * @error: a #GError
 *
 * Makes the profile's client for the local network, with no server: it
 * listens on the profile's own port (chosen at random the first time and
 * remembered), announces itself and finds the people nearby, and dials the
 * addresses typed before (natter_profile_add_nearby_address()).
 *
 * Returns: (transfer none) (nullable): the client
 */
NatterClient *
natter_profile_open_nearby_client (NatterProfile  *self,
                                   GError        **error)
{
  g_autoptr(NatterLan) lan = NULL;

  g_return_val_if_fail (NATTER_IS_PROFILE (self), NULL);

  if (self->client != NULL)
    return self->client;

  if (!ready_for_client (self, error))
    return NULL;

  lan = new_lan (self);
  self->client = natter_client_new_with_rendezvous (self->identity, self->store,
                                                    NATTER_RENDEZVOUS (lan));
  apply_public (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CLIENT]);

  return self->client;
}

/**
 * natter_profile_set_nearby_only:
 * @nearby_only: whether the profile works with the people nearby, no server
 * @error: a #GError
 *
 * Returns: %TRUE once settings.ini holds it
 */
gboolean
natter_profile_set_nearby_only (NatterProfile  *self,
                                gboolean        nearby_only,
                                GError        **error)
{
  g_return_val_if_fail (NATTER_IS_PROFILE (self), FALSE);

  g_key_file_set_boolean (self->settings, "client", "nearby-only", !!nearby_only);
  return save_settings (self, error);
}

/**
 * natter_profile_set_nearby_with_server:
 * @with_server: whether a profile with a server also finds contacts on this
 *   network, and reaches them directly when it can
 * @error: a #GError
 *
 * An open client with a server is replaced by one that does (or does not)
 * look nearby too (see #NatterProfile:client), not started yet.
 *
 * Returns: %TRUE once settings.ini holds it
 */
gboolean
natter_profile_set_nearby_with_server (NatterProfile  *self,
                                       gboolean        with_server,
                                       GError        **error)
{
  g_autofree char *server = NULL;

  g_return_val_if_fail (NATTER_IS_PROFILE (self), FALSE);

  if (g_key_file_get_boolean (self->settings, "lan", "with-server", NULL) == !!with_server)
    return TRUE;

  g_key_file_set_boolean (self->settings, "lan", "with-server", !!with_server);
  if (!save_settings (self, error))
    return FALSE;

  /* A client with a server is replaced by one that looks nearby too, or not */
  server = natter_profile_dup_server_url (self);
  if (server != NULL)
    return reopen_client (self, error);
  return TRUE;
}

/**
 * natter_profile_get_nearby_only:
 *
 * Returns: whether the profile works with the people nearby only, with no
 *   server (natter_profile_set_nearby_only())
 */
gboolean
natter_profile_get_nearby_only (NatterProfile *self)
{
  g_return_val_if_fail (NATTER_IS_PROFILE (self), FALSE);

  return g_key_file_get_boolean (self->settings, "client", "nearby-only", NULL);
}

/**
 * natter_profile_get_nearby_with_server:
 *
 * Returns: whether a profile with a server also looks nearby
 */
gboolean
natter_profile_get_nearby_with_server (NatterProfile *self)
{
  g_return_val_if_fail (NATTER_IS_PROFILE (self), FALSE);

  return g_key_file_get_boolean (self->settings, "lan", "with-server", NULL);
}

/**
 * natter_profile_get_nearby_visible:
 *
 * Returns: whether the profile's client announces itself nearby (yes
 *   unless natter_profile_set_nearby_visible() said no)
 */
gboolean
natter_profile_get_nearby_visible (NatterProfile *self)
{
  g_return_val_if_fail (NATTER_IS_PROFILE (self), FALSE);

  if (!g_key_file_has_key (self->settings, "lan", "visible", NULL))
    return TRUE;
  return g_key_file_get_boolean (self->settings, "lan", "visible", NULL);
}

/**
 * natter_profile_set_nearby_visible:
 * @visible: whether we announce ourselves to the people nearby
 * @error: a #GError
 *
 * Returns: %TRUE once settings.ini holds it
 */
gboolean
natter_profile_set_nearby_visible (NatterProfile  *self,
                                   gboolean        visible,
                                   GError        **error)
{
  g_return_val_if_fail (NATTER_IS_PROFILE (self), FALSE);

  if (self->client != NULL && client_lan (self) != NULL)
    natter_lan_set_visible (client_lan (self), visible);

  g_key_file_set_boolean (self->settings, "lan", "visible", !!visible);
  return save_settings (self, error);
}

/**
 * natter_profile_get_client:
 *
 * Returns: (transfer none) (nullable): the client, once open
 */
NatterClient *
natter_profile_get_client (NatterProfile *self)
{
  g_return_val_if_fail (NATTER_IS_PROFILE (self), NULL);

  return self->client;
}

/**
 * natter_profile_close_client:
 *
 * Stops the client and lets go of it.
 */
void
natter_profile_close_client (NatterProfile *self)
{
  g_return_if_fail (NATTER_IS_PROFILE (self));

  if (self->client == NULL)
    return;

  natter_client_stop (self->client);
  g_clear_object (&self->client);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CLIENT]);
}
