/* natter-identity.c: this installation's Ed25519 key pair
 *
 * The key pair is made on first run. The private half lives in the Secret
 * Service (libsecret, schema "io.github.natter.Natter.Identity") or, for the
 * CLI, in a key file readable by its owner only. docs/identity.md describes
 * the key file, the keyring item and the safety number.
 *
 * Secret key bytes are zeroed when they are no longer needed and are never
 * logged.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "natter-identity"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <libsecret/secret.h>

#include "natter-signature.h"
#include "natter-user-id.h"
#include "natter-identity.h"

/* A key file is a few hundred bytes; anything much larger is not one. */
#define KEY_TEXT_MAX_SIZE 4096

#define KEY_TEXT_VERSION "1"

#define SAFETY_NUMBER_PREFIX     "natter-safety-number-v1"
#define SAFETY_NUMBER_ITERATIONS 5200
#define SAFETY_NUMBER_GROUPS     12
#define SAFETY_NUMBER_GROUP_SIZE 5

enum {
  PROP_0,
  PROP_USER_ID,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

struct _NatterIdentity
{
  GObject parent_instance;

  guint8  public_key[NATTER_PUBLIC_KEY_SIZE];
  guint8 *secret_key; /* natter_secure_alloc(): guarded, not swapped */
  char   *user_id;
};

G_DEFINE_TYPE (NatterIdentity, natter_identity, G_TYPE_OBJECT)

G_DEFINE_QUARK (natter-identity-error-quark, natter_identity_error)

static const SecretSchema identity_schema = {
  "io.github.natter.Natter.Identity",
  SECRET_SCHEMA_NONE,
  {
    { "profile", SECRET_SCHEMA_ATTRIBUTE_STRING },
    { NULL, 0 },
  },
};

typedef struct
{
  char           *profile;
  gboolean        create_if_missing;
  SecretService  *service;
  NatterIdentity *created;
} KeyringLoad;

static void
keyring_load_free (KeyringLoad *load)
{
  g_clear_pointer (&load->profile, g_free);
  g_clear_object (&load->service);
  g_clear_object (&load->created);
  g_free (load);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KeyringLoad, keyring_load_free)

static NatterIdentity *
natter_identity_new_for_keys (const guint8 public_key[NATTER_PUBLIC_KEY_SIZE],
                              const guint8 secret_key[NATTER_SECRET_KEY_SIZE])
{
  NatterIdentity *self = g_object_new (NATTER_TYPE_IDENTITY, NULL);

  memcpy (self->public_key, public_key, NATTER_PUBLIC_KEY_SIZE);
  self->secret_key = natter_secure_alloc (NATTER_SECRET_KEY_SIZE);
  memcpy (self->secret_key, secret_key, NATTER_SECRET_KEY_SIZE);
  self->user_id = natter_user_id_from_public_key (self->public_key);

  return self;
}

/* The text kept in a key file and in the keyring item (docs/identity.md):
 *
 *   # comment lines
 *   version=1
 *   user-id=<user ID>
 *   secret-key=<standard base64 of the 64-byte libsodium Ed25519 secret key>
 *
 * The caller zeroes the returned text before freeing it.
 */
static char *
key_text_serialize (NatterIdentity *self)
{
  char *secret_base64 = g_base64_encode (self->secret_key, NATTER_SECRET_KEY_SIZE);
  char *text;

  text = g_strdup_printf ("# Natter identity key. Keep it private: whoever has it can act as you.\n"
                          "version=" KEY_TEXT_VERSION "\n"
                          "user-id=%s\n"
                          "secret-key=%s\n",
                          self->user_id, secret_base64);
  natter_secure_zero (secret_base64, strlen (secret_base64));
  g_free (secret_base64);

  return text;
}

static void
secure_free_text (char *text)
{
  if (text != NULL)
    natter_secure_zero (text, strlen (text));
  g_free (text);
}

static gboolean
line_has_key (const char *line,
              gsize       key_length,
              const char *key)
{
  return key_length == strlen (key) && memcmp (line, key, key_length) == 0;
}

static gboolean
is_base64_char (char c)
{
  return g_ascii_isalnum (c) || c == '+' || c == '/' || c == '=';
}

/* Decodes the 64-byte secret key from exactly 88 base64 characters. */
static gboolean
decode_secret_key (const char *value,
                   gsize       length,
                   guint8      secret_key[NATTER_SECRET_KEY_SIZE])
{
  guint8 decoded[NATTER_SECRET_KEY_SIZE + 8];
  gint state = 0;
  guint save = 0;
  gsize decoded_length;
  gboolean ok;

  if (length != 4 * ((NATTER_SECRET_KEY_SIZE + 2) / 3))
    return FALSE;
  for (gsize i = 0; i < length; i++)
    if (!is_base64_char (value[i]))
      return FALSE;

  decoded_length = g_base64_decode_step (value, length, decoded, &state, &save);
  ok = decoded_length == NATTER_SECRET_KEY_SIZE;
  if (ok)
    memcpy (secret_key, decoded, NATTER_SECRET_KEY_SIZE);
  natter_secure_zero (decoded, sizeof decoded);

  return ok;
}

/* Parses key text (see key_text_serialize()). On failure returns NULL and sets
 * @reason to a static, translated explanation. */
static NatterIdentity *
key_text_parse (const char  *text,
                gsize        length,
                const char **reason)
{
  guint8 secret_key[NATTER_SECRET_KEY_SIZE];
  guint8 public_key[NATTER_PUBLIC_KEY_SIZE];
  guint8 derived_secret_key[NATTER_SECRET_KEY_SIZE];
  gboolean have_version = FALSE;
  gboolean have_secret = FALSE;
  const char *user_id = NULL;
  gsize user_id_length = 0;
  const char *line = text;
  const char *end = text + length;
  NatterIdentity *identity = NULL;

  *reason = NULL;

  if (length > KEY_TEXT_MAX_SIZE || memchr (text, '\0', length) != NULL)
    {
      *reason = _("it is not a Natter key file");
      return NULL;
    }

  while (line < end && *reason == NULL)
    {
      const char *line_end = memchr (line, '\n', end - line);
      const char *next = line_end != NULL ? line_end + 1 : end;
      const char *equals;
      const char *value;
      gsize key_length;
      gsize value_length;

      if (line_end == NULL)
        line_end = end;
      if (line_end > line && line_end[-1] == '\r')
        line_end--;

      if (line_end == line || line[0] == '#')
        {
          line = next;
          continue;
        }

      equals = memchr (line, '=', line_end - line);
      if (equals == NULL)
        {
          *reason = _("a line is not of the form key=value");
          break;
        }

      key_length = equals - line;
      value = equals + 1;
      value_length = line_end - value;

      if (line_has_key (line, key_length, "version"))
        {
          if (value_length != strlen (KEY_TEXT_VERSION) ||
              memcmp (value, KEY_TEXT_VERSION, value_length) != 0)
            *reason = _("its version is not supported");
          have_version = TRUE;
        }
      else if (line_has_key (line, key_length, "user-id"))
        {
          user_id = value;
          user_id_length = value_length;
        }
      else if (line_has_key (line, key_length, "secret-key"))
        {
          if (have_secret || !decode_secret_key (value, value_length, secret_key))
            *reason = _("the secret key is not valid base64 of the right length");
          have_secret = TRUE;
        }
      /* Other keys are ignored, so that later versions can add some. */

      line = next;
    }

  if (*reason == NULL && !have_version)
    *reason = _("it has no version line");
  if (*reason == NULL && !have_secret)
    *reason = _("it has no secret key");

  if (*reason == NULL)
    {
      /* An Ed25519 secret key in libsodium's form is seed || public key:
       * deriving it again from the seed catches any damaged byte. */
      natter_keypair_from_seed (secret_key, public_key, derived_secret_key);
      if (memcmp (derived_secret_key, secret_key, NATTER_SECRET_KEY_SIZE) != 0)
        *reason = _("the secret key does not match its public half");
    }

  if (*reason == NULL)
    {
      identity = natter_identity_new_for_keys (public_key, secret_key);
      if (user_id != NULL &&
          (user_id_length != strlen (identity->user_id) ||
           memcmp (user_id, identity->user_id, user_id_length) != 0))
        {
          *reason = _("the user ID does not match the secret key");
          g_clear_object (&identity);
        }
    }

  natter_secure_zero (secret_key, sizeof secret_key);
  natter_secure_zero (derived_secret_key, sizeof derived_secret_key);

  return identity;
}

static NatterIdentity *
read_key_file (int          fd,
               const char  *display_name,
               GError     **error)
{
  char buffer[KEY_TEXT_MAX_SIZE + 1];
  gsize length = 0;
  struct stat st;
  const char *reason = NULL;
  NatterIdentity *identity;

  if (fstat (fd, &st) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, NATTER_IDENTITY_ERROR, NATTER_IDENTITY_ERROR_FAILED,
                   _("Could not read the identity key file %s: %s"),
                   display_name, g_strerror (saved_errno));
      return NULL;
    }

  if (!S_ISREG (st.st_mode))
    {
      g_set_error (error, NATTER_IDENTITY_ERROR, NATTER_IDENTITY_ERROR_FAILED,
                   _("The identity key file %s is not a regular file"), display_name);
      return NULL;
    }

  if (st.st_uid != geteuid ())
    {
      g_set_error (error, NATTER_IDENTITY_ERROR, NATTER_IDENTITY_ERROR_INSECURE_FILE,
                   _("The identity key file %s belongs to another user. Only a key file of "
                     "your own can be your identity"), display_name);
      return NULL;
    }

  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
    {
      g_set_error (error, NATTER_IDENTITY_ERROR, NATTER_IDENTITY_ERROR_INSECURE_FILE,
                   _("The identity key file %s can be read or changed by other users "
                     "(its mode is %04o). Only its owner may have access: run "
                     "“chmod 600 %s” and try again"),
                   display_name, (guint) (st.st_mode & 07777), display_name);
      return NULL;
    }

  while (length < sizeof buffer)
    {
      gssize n = read (fd, buffer + length, sizeof buffer - length);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved_errno = errno;

          natter_secure_zero (buffer, length);
          g_set_error (error, NATTER_IDENTITY_ERROR, NATTER_IDENTITY_ERROR_FAILED,
                       _("Could not read the identity key file %s: %s"),
                       display_name, g_strerror (saved_errno));
          return NULL;
        }
      if (n == 0)
        break;
      length += n;
    }

  identity = key_text_parse (buffer, length, &reason);
  natter_secure_zero (buffer, length);

  if (identity == NULL)
    g_set_error (error, NATTER_IDENTITY_ERROR, NATTER_IDENTITY_ERROR_CORRUPT,
                 _("The identity key file %s is damaged (%s). It was left as it is; "
                   "restore it from a backup or move it away to make a new identity"),
                 display_name, reason);

  return identity;
}

static gboolean
write_all (int         fd,
           const char *data,
           gsize       length)
{
  while (length > 0)
    {
      gssize n = write (fd, data, length);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return FALSE;
      data += n;
      length -= n;
    }

  return TRUE;
}

static NatterIdentity *
create_key_file (const char  *path,
                 const char  *display_name,
                 GError     **error)
{
  g_autoptr(NatterIdentity) identity = natter_identity_new_ephemeral ();
  g_autofree char *directory = g_path_get_dirname (path);
  g_autofree char *temporary = NULL;
  char *text;
  gboolean ok;
  int saved_errno;
  int fd;

  if (g_mkdir_with_parents (directory, 0700) != 0)
    {
      int saved_errno = errno;
      g_autofree char *display_directory = g_filename_display_name (directory);

      g_set_error (error, NATTER_IDENTITY_ERROR, NATTER_IDENTITY_ERROR_FAILED,
                   _("Could not create the folder %s for the identity key: %s"),
                   display_directory, g_strerror (saved_errno));
      return NULL;
    }

  /* Written to a temporary file created with mode 0600, then linked into
   * place: the key is never readable by others, not even for a moment, a
   * crash leaves either no file or a complete one, and a file that another
   * process created in the meantime is never replaced (link() does not
   * overwrite): that one is read instead, so both use the same identity. */
  temporary = g_build_filename (directory, ".natter-key-XXXXXX", NULL);
  text = key_text_serialize (identity);
  fd = g_mkstemp_full (temporary, O_RDWR | O_CLOEXEC, 0600);
  ok = fd >= 0;
  if (ok)
    ok = write_all (fd, text, strlen (text)) && fsync (fd) == 0;
  saved_errno = errno;
  secure_free_text (text);
  if (fd >= 0)
    close (fd);

  if (ok && link (temporary, path) != 0)
    {
      saved_errno = errno;
      ok = FALSE;
    }
  if (fd >= 0)
    g_unlink (temporary);

  if (!ok && saved_errno == EEXIST)
    {
      g_debug ("Another process created the identity key file first; using that one");
      return natter_identity_load_from_file (path, FALSE, error);
    }

  if (!ok)
    {
      g_set_error (error, NATTER_IDENTITY_ERROR, NATTER_IDENTITY_ERROR_FAILED,
                   _("Could not write the identity key file %s: %s"),
                   display_name, g_strerror (saved_errno));
      return NULL;
    }

  g_debug ("Created a new identity %s in a key file", NATTER_USER_ID_LOG (identity->user_id));

  return g_steal_pointer (&identity);
}

static gboolean
is_missing_service_error (const GError *error)
{
  if (error->domain != G_DBUS_ERROR)
    return FALSE;

  switch (error->code)
    {
    case G_DBUS_ERROR_SERVICE_UNKNOWN:
    case G_DBUS_ERROR_NAME_HAS_NO_OWNER:
    case G_DBUS_ERROR_NO_SERVER:
    case G_DBUS_ERROR_SPAWN_EXEC_FAILED:
    case G_DBUS_ERROR_SPAWN_FORK_FAILED:
    case G_DBUS_ERROR_SPAWN_CHILD_EXITED:
    case G_DBUS_ERROR_SPAWN_CHILD_SIGNALED:
    case G_DBUS_ERROR_SPAWN_FAILED:
    case G_DBUS_ERROR_SPAWN_SETUP_FAILED:
    case G_DBUS_ERROR_SPAWN_CONFIG_INVALID:
    case G_DBUS_ERROR_SPAWN_SERVICE_INVALID:
    case G_DBUS_ERROR_SPAWN_SERVICE_NOT_FOUND:
    case G_DBUS_ERROR_SPAWN_PERMISSIONS_INVALID:
    case G_DBUS_ERROR_SPAWN_FILE_INVALID:
    case G_DBUS_ERROR_SPAWN_NO_MEMORY:
      return TRUE;
    default:
      return FALSE;
    }
}

static void
return_no_secret_service (GTask        *task,
                          const GError *cause)
{
  g_debug ("No Secret Service: %s", cause->message);
  g_task_return_new_error (task, NATTER_IDENTITY_ERROR, NATTER_IDENTITY_ERROR_NO_SECRET_SERVICE,
                           _("No Secret Service is running: Natter keeps its identity key in the "
                             "system keyring (GNOME Keyring or KWallet), and none could be "
                             "reached on the session bus. Start GNOME Keyring or KWallet, or "
                             "use natter-cli with --identity-file"));
}

/* Turns an error of GDBus or libsecret into one of NATTER_IDENTITY_ERROR. */
static void
return_keyring_error (GTask  *task,
                      GError *error)
{
  KeyringLoad *load = g_task_get_task_data (task);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_task_return_error (task, error);
  else if (is_missing_service_error (error))
    {
      return_no_secret_service (task, error);
      g_error_free (error);
    }
  else if (g_error_matches (error, SECRET_ERROR, SECRET_ERROR_IS_LOCKED))
    {
      g_task_return_new_error (task, NATTER_IDENTITY_ERROR, NATTER_IDENTITY_ERROR_LOCKED,
                               _("The system keyring is locked, and unlocking it was refused: "
                                 "the identity of profile “%s” cannot be stored"),
                               load->profile);
      g_error_free (error);
    }
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT) ||
           g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_NO_REPLY) ||
           g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_TIMEOUT) ||
           g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_TIMED_OUT))
    {
      g_debug ("The Secret Service did not answer: %s", error->message);
      g_task_return_new_error (task, NATTER_IDENTITY_ERROR, NATTER_IDENTITY_ERROR_NO_ANSWER,
                               _("The system keyring did not answer: it may be stuck, or "
                                 "waiting for a password where it cannot ask. Restart it (or "
                                 "log out and in again), or use natter-cli with "
                                 "--identity-file"));
      g_error_free (error);
    }
  else
    {
      /* What the service said, without D-Bus's names around it */
      g_dbus_error_strip_remote_error (error);
      g_debug ("The Secret Service failed: %s", error->message);
      g_task_return_new_error (task, NATTER_IDENTITY_ERROR, NATTER_IDENTITY_ERROR_FAILED,
                               _("The system keyring failed: %s"), error->message);
      g_error_free (error);
    }
}

static void
on_keyring_store_ready (GObject      *object,
                        GAsyncResult *result,
                        gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  KeyringLoad *load = g_task_get_task_data (task);
  GError *error = NULL;

  if (!secret_service_store_finish (SECRET_SERVICE (object), result, &error))
    {
      return_keyring_error (task, error);
      return;
    }

  g_debug ("Created a new identity %s in the keyring",
           NATTER_USER_ID_LOG (load->created->user_id));
  g_task_return_pointer (task, g_steal_pointer (&load->created), g_object_unref);
}

static void
store_new_identity (GTask *task)
{
  KeyringLoad *load = g_task_get_task_data (task);
  g_autoptr(GHashTable) attributes = NULL;
  g_autoptr(SecretValue) value = NULL;
  g_autofree char *label = NULL;
  char *text;

  load->created = natter_identity_new_ephemeral ();

  text = key_text_serialize (load->created);
  value = secret_value_new (text, -1, "text/plain");
  secure_free_text (text);

  attributes = secret_attributes_build (&identity_schema, "profile", load->profile, NULL);
  /* Translators: the label of the keyring item, shown in Passwords and Keys */
  label = g_strdup_printf (_("Natter identity (profile %s)"), load->profile);

  secret_service_store (load->service, &identity_schema, attributes, SECRET_COLLECTION_DEFAULT,
                        label, value, g_task_get_cancellable (task),
                        on_keyring_store_ready, g_object_ref (task));
}

static void
on_keyring_search_ready (GObject      *object,
                         GAsyncResult *result,
                         gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  KeyringLoad *load = g_task_get_task_data (task);
  GList *items;
  GError *error = NULL;
  gboolean locked = FALSE;
  const char *reason = NULL;

  items = secret_service_search_finish (SECRET_SERVICE (object), result, &error);
  if (error != NULL)
    {
      return_keyring_error (task, error);
      return;
    }

  for (GList *l = items; l != NULL; l = l->next)
    {
      SecretItem *item = l->data;
      g_autoptr(SecretValue) value = NULL;
      const char *text;
      gsize length;
      NatterIdentity *identity;

      if (secret_item_get_locked (item))
        {
          locked = TRUE;
          continue;
        }

      value = secret_item_get_secret (item);
      if (value == NULL)
        {
          locked = TRUE;
          continue;
        }

      text = secret_value_get (value, &length);
      identity = key_text_parse (text, length, &reason);
      if (identity != NULL)
        {
          g_list_free_full (items, g_object_unref);
          g_task_return_pointer (task, identity, g_object_unref);
          return;
        }
    }

  g_list_free_full (items, g_object_unref);

  /* An identity that exists but cannot be read is never replaced by a new one. */
  if (reason != NULL)
    g_task_return_new_error (task, NATTER_IDENTITY_ERROR, NATTER_IDENTITY_ERROR_CORRUPT,
                             _("The identity of profile “%s” in the system keyring is "
                               "damaged (%s). It was left as it is"),
                             load->profile, reason);
  else if (locked)
    g_task_return_new_error (task, NATTER_IDENTITY_ERROR, NATTER_IDENTITY_ERROR_LOCKED,
                             _("The system keyring that holds the identity of profile “%s” "
                               "is locked, and unlocking it was refused"),
                             load->profile);
  else if (!load->create_if_missing)
    g_task_return_new_error (task, NATTER_IDENTITY_ERROR, NATTER_IDENTITY_ERROR_NOT_FOUND,
                             _("The system keyring holds no identity for profile “%s”"),
                             load->profile);
  else
    store_new_identity (task);
}

static void
on_secret_service_ready (GObject      *object,
                         GAsyncResult *result,
                         gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  KeyringLoad *load = g_task_get_task_data (task);
  g_autoptr(GHashTable) attributes = NULL;
  GError *error = NULL;

  load->service = secret_service_get_finish (result, &error);
  if (load->service == NULL)
    {
      return_keyring_error (task, error);
      return;
    }

  attributes = secret_attributes_build (&identity_schema, "profile", load->profile, NULL);
  secret_service_search (load->service, &identity_schema, attributes,
                         SECRET_SEARCH_ALL | SECRET_SEARCH_UNLOCK | SECRET_SEARCH_LOAD_SECRETS,
                         g_task_get_cancellable (task),
                         on_keyring_search_ready, g_object_ref (task));
}

static void
on_session_bus_ready (GObject      *object,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GDBusConnection) connection = NULL;
  GError *error = NULL;

  /* Without a session bus there can be no Secret Service; asking for the bus
   * first tells that case apart from a failing keyring. */
  connection = g_bus_get_finish (result, &error);
  if (connection == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_task_return_error (task, error);
      else
        {
          return_no_secret_service (task, error);
          g_error_free (error);
        }
      return;
    }

  secret_service_get (SECRET_SERVICE_OPEN_SESSION, g_task_get_cancellable (task),
                      on_secret_service_ready, g_object_ref (task));
}

static void
natter_identity_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  NatterIdentity *self = NATTER_IDENTITY (object);

  switch (prop_id)
    {
    case PROP_USER_ID:
      g_value_set_string (value, self->user_id);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
natter_identity_finalize (GObject *object)
{
  NatterIdentity *self = (NatterIdentity *) object;

  g_clear_pointer (&self->secret_key, natter_secure_free);
  g_clear_pointer (&self->user_id, g_free);

  G_OBJECT_CLASS (natter_identity_parent_class)->finalize (object);
}

static void
natter_identity_class_init (NatterIdentityClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = natter_identity_finalize;
  object_class->get_property = natter_identity_get_property;

  /**
   * NatterIdentity:user-id:
   *
   * The text form of the public key (docs/protocol.md, "User IDs").
   */
  properties[PROP_USER_ID] =
    g_param_spec_string ("user-id", NULL, NULL,
                         NULL,
                         (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
natter_identity_init (NatterIdentity *self)
{
}

/**
 * natter_identity_new_ephemeral:
 *
 * Makes a new random key pair that lives in memory only.
 *
 * Returns: (transfer full): a new identity
 */
NatterIdentity *
natter_identity_new_ephemeral (void)
{
  guint8 public_key[NATTER_PUBLIC_KEY_SIZE];
  guint8 secret_key[NATTER_SECRET_KEY_SIZE];
  NatterIdentity *self;

  natter_keypair_generate (public_key, secret_key);
  self = natter_identity_new_for_keys (public_key, secret_key);
  natter_secure_zero (secret_key, sizeof secret_key);

  return self;
}

/**
 * natter_identity_new_from_seed:
 * @seed: 32 bytes
 *
 * Derives the key pair from @seed (RFC 8032). The same seed always gives the
 * same identity, which is what tests need.
 *
 * Returns: (transfer full): a new identity
 */
NatterIdentity *
natter_identity_new_from_seed (const guint8 seed[32])
{
  guint8 public_key[NATTER_PUBLIC_KEY_SIZE];
  guint8 secret_key[NATTER_SECRET_KEY_SIZE];
  NatterIdentity *self;

  g_return_val_if_fail (seed != NULL, NULL);

  natter_keypair_from_seed (seed, public_key, secret_key);
  self = natter_identity_new_for_keys (public_key, secret_key);
  natter_secure_zero (secret_key, sizeof secret_key);

  return self;
}

/**
 * natter_identity_load_from_file:
 * @path: the key file, in the GLib file name encoding
 * @create_if_missing: whether to make a new identity when @path does not exist
 * @error: return location for a #NatterIdentityError
 *
 * Reads the identity from a key file, or makes a new one and writes it there
 * with mode 0600 (missing folders are made with mode 0700).
 *
 * A file that others could read or change is refused
 * (%NATTER_IDENTITY_ERROR_INSECURE_FILE); a damaged one gives
 * %NATTER_IDENTITY_ERROR_CORRUPT and is never overwritten; a missing one
 * without @create_if_missing gives %NATTER_IDENTITY_ERROR_NOT_FOUND.
 *
 * Returns: (transfer full): the identity, or %NULL with @error set
 */
NatterIdentity *
natter_identity_load_from_file (const char  *path,
                                gboolean     create_if_missing,
                                GError     **error)
{
  g_autofree char *display_name = NULL;
  NatterIdentity *identity;
  int saved_errno;
  int fd;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  display_name = g_filename_display_name (path);

  fd = g_open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY, 0);
  if (fd >= 0)
    {
      identity = read_key_file (fd, display_name, error);
      close (fd);
      return identity;
    }

  saved_errno = errno;

  if (saved_errno == ENOENT && create_if_missing)
    return create_key_file (path, display_name, error);

  if (saved_errno == ENOENT)
    g_set_error (error, NATTER_IDENTITY_ERROR, NATTER_IDENTITY_ERROR_NOT_FOUND,
                 _("There is no identity key file %s"), display_name);
  else
    g_set_error (error, NATTER_IDENTITY_ERROR, NATTER_IDENTITY_ERROR_FAILED,
                 _("Could not open the identity key file %s: %s"),
                 display_name, g_strerror (saved_errno));

  return NULL;
}

/**
 * natter_identity_load_from_keyring_async:
 * @profile: the profile name, stored as the item's "profile" attribute
 * @create_if_missing: whether to make and store a new identity when the keyring has none
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when done
 * @user_data: data for @callback
 *
 * Looks up the identity of @profile in the Secret Service, unlocking the
 * keyring if needed (which may prompt the user). With @create_if_missing, a
 * new identity is made and stored in the default collection when none exists.
 * An identity that exists but is locked or damaged is never replaced.
 */
void
natter_identity_load_from_keyring_async (const char          *profile,
                                         gboolean             create_if_missing,
                                         GCancellable        *cancellable,
                                         GAsyncReadyCallback  callback,
                                         gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(KeyringLoad) load = NULL;

  g_return_if_fail (profile != NULL && *profile != '\0');
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  load = g_new0 (KeyringLoad, 1);
  load->profile = g_strdup (profile);
  load->create_if_missing = create_if_missing;

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, natter_identity_load_from_keyring_async);
  g_task_set_task_data (task, g_steal_pointer (&load), (GDestroyNotify) keyring_load_free);

  g_bus_get (G_BUS_TYPE_SESSION, cancellable, on_session_bus_ready, g_steal_pointer (&task));
}

/**
 * natter_identity_load_from_keyring_finish:
 * @result: the result given to the callback
 * @error: return location for a #NatterIdentityError, or %G_IO_ERROR_CANCELLED
 *
 * Returns: (transfer full): the identity, or %NULL with @error set
 */
NatterIdentity *
natter_identity_load_from_keyring_finish (GAsyncResult  *result,
                                          GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) ==
                        natter_identity_load_from_keyring_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

const char *
natter_identity_get_user_id (NatterIdentity *self)
{
  g_return_val_if_fail (NATTER_IS_IDENTITY (self), NULL);

  return self->user_id;
}

/**
 * natter_identity_get_public_key:
 * @self: a #NatterIdentity
 *
 * Returns: (array fixed-size=32): the Ed25519 public key
 */
const guint8 *
natter_identity_get_public_key (NatterIdentity *self)
{
  g_return_val_if_fail (NATTER_IS_IDENTITY (self), NULL);

  return self->public_key;
}

/**
 * natter_identity_sign:
 * @self: a #NatterIdentity
 * @data: (array length=length): the bytes to sign
 * @length: the length of @data
 *
 * Returns: (transfer full): the Ed25519 signature of @data, standard base64
 */
char *
natter_identity_sign (NatterIdentity *self,
                      const void     *data,
                      gsize           length)
{
  g_return_val_if_fail (NATTER_IS_IDENTITY (self), NULL);
  g_return_val_if_fail (data != NULL || length == 0, NULL);

  return natter_signature_sign (self->secret_key, data, length);
}

/**
 * natter_identity_verify:
 * @user_id: the signer's user ID
 * @data: (array length=length): the signed bytes
 * @length: the length of @data
 * @signature: the signature, standard base64
 *
 * Returns: %TRUE if @signature is a valid signature of @data by @user_id; %FALSE
 *   if it is not, or if @user_id or @signature are malformed
 */
gboolean
natter_identity_verify (const char *user_id,
                        const void *data,
                        gsize       length,
                        const char *signature)
{
  g_return_val_if_fail (user_id != NULL, FALSE);
  g_return_val_if_fail (data != NULL || length == 0, FALSE);
  g_return_val_if_fail (signature != NULL, FALSE);

  return natter_signature_verify_user (user_id, data, length, signature);
}

/**
 * natter_identity_get_safety_number:
 * @self: a #NatterIdentity
 * @other_user_id: the user ID of the other person
 *
 * Derives the number two people compare to know that each has the other's
 * real key. Both sides compute the same number. Version 1:
 *
 *     a, b   = the two 32-byte public keys, ordered so that a <= b (memcmp)
 *     h_1    = SHA-512 ("natter-safety-number-v1" || a || b)
 *     h_i    = SHA-512 (h_(i-1) || a || b)            for i = 2 … 5200
 *     group  = for g = 0 … 11: the big-endian 40-bit number in bytes
 *              5g … 5g+4 of h_5200, modulo 100000, as 5 decimal digits
 *     result = the 12 groups joined by single spaces
 *
 * The iterations make it costly to search for a key whose number collides
 * with a given one. docs/identity.md has a test vector.
 *
 * Returns: (transfer full) (nullable): 60 digits in 12 groups of 5, or %NULL if
 *   @other_user_id is not a valid user ID
 */
char *
natter_identity_get_safety_number (NatterIdentity *self,
                                   const char     *other_user_id)
{
  guint8 other_key[NATTER_PUBLIC_KEY_SIZE];
  const guint8 *first;
  const guint8 *second;
  guint8 digest[64];
  gsize digest_length = sizeof digest;
  g_autoptr(GChecksum) checksum = NULL;
  g_autofree char *normalized = NULL;
  GString *number;

  g_return_val_if_fail (NATTER_IS_IDENTITY (self), NULL);
  g_return_val_if_fail (other_user_id != NULL, NULL);

  normalized = natter_user_id_normalize (other_user_id, NULL);
  if (normalized == NULL || !natter_user_id_to_public_key (normalized, other_key, NULL))
    return NULL;

  if (memcmp (self->public_key, other_key, NATTER_PUBLIC_KEY_SIZE) <= 0)
    {
      first = self->public_key;
      second = other_key;
    }
  else
    {
      first = other_key;
      second = self->public_key;
    }

  checksum = g_checksum_new (G_CHECKSUM_SHA512);
  g_checksum_update (checksum, (const guchar *) SAFETY_NUMBER_PREFIX,
                     strlen (SAFETY_NUMBER_PREFIX));
  for (guint i = 0; i < SAFETY_NUMBER_ITERATIONS; i++)
    {
      if (i > 0)
        {
          g_checksum_reset (checksum);
          g_checksum_update (checksum, digest, sizeof digest);
        }
      g_checksum_update (checksum, first, NATTER_PUBLIC_KEY_SIZE);
      g_checksum_update (checksum, second, NATTER_PUBLIC_KEY_SIZE);
      digest_length = sizeof digest;
      g_checksum_get_digest (checksum, digest, &digest_length);
    }
  g_assert (digest_length == sizeof digest);

  number = g_string_sized_new (NATTER_SAFETY_NUMBER_LENGTH);
  for (guint g = 0; g < SAFETY_NUMBER_GROUPS; g++)
    {
      const guint8 *bytes = digest + g * SAFETY_NUMBER_GROUP_SIZE;
      guint64 value = 0;

      for (guint j = 0; j < SAFETY_NUMBER_GROUP_SIZE; j++)
        value = (value << 8) | bytes[j];

      if (g > 0)
        g_string_append_c (number, ' ');
      g_string_append_printf (number, "%05u", (guint) (value % 100000));
    }

  return g_string_free (number, FALSE);
}
