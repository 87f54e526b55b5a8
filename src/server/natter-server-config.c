/* natter-server-config.c: options of natter-server (command line and key file)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "natter-server-config"

#include "config.h"

#include <string.h>

#include <gio/gio.h>

#include "natter-server-config.h"
#include "natter-signature.h"

#define KEY_FILE_GROUP "server"

/* Every option exists on the command line (--name) and in the key file
 * (name=, group [server]). The command line wins over the key file; what
 * neither sets gets its default in apply_defaults().
 */
typedef enum
{
  OPT_STRING,
  OPT_PATH,
  OPT_STRV,
  OPT_INT,
  OPT_DOUBLE,
  OPT_FLAG,
} OptionKind;

struct _NatterServerConfig
{
  GObject parent_instance;

  char *config_file;
  char *address;
  int port;
  gboolean print_port;
  char *tls_certificate;
  char *tls_key;
  char **public_names;
  char *data_dir;
  char **stun;
  char **turn;
  char *turn_secret;
  char *cluster;
  int turn_ttl;
  int max_connections;
  int workers;
  int max_frame_size;
  int rate_burst;
  double rate_per_s;
  int auth_timeout;
  int heartbeat_interval;
  int invitation_ttl;
  int request_timeout;
  int max_unauthenticated_per_address;
  int max_output_buffer;
  int slow_reader_timeout;
  int max_invitations_per_recipient;
  int max_room_members;
  gboolean verbose;
};

typedef struct
{
  const char *name;
  OptionKind kind;
  gsize offset;
  gboolean in_key_file;
  const char *description;
  const char *arg_description;
} OptionSpec;

#define FIELD(member) G_STRUCT_OFFSET (NatterServerConfig, member)

static const OptionSpec option_specs[] = {
  { "config", OPT_PATH, FIELD (config_file), FALSE,
    "Read options from the key file FILE (group [server]; keys named like the long options). "
    "Options given on the command line win", "FILE" },
  { "address", OPT_STRING, FIELD (address), TRUE,
    "Listen on this IP address (default 127.0.0.1)", "ADDRESS" },
  { "port", OPT_INT, FIELD (port), TRUE,
    "Listen on this TCP port (default 8443; 0 picks a free port)", "PORT" },
  { "print-port", OPT_FLAG, FIELD (print_port), FALSE,
    "Print the bound port number alone on one line to standard output once listening", NULL },
  { "tls-certificate", OPT_PATH, FIELD (tls_certificate), TRUE,
    "PEM certificate (chain) file; with --tls-key the server speaks wss:// and https://", "FILE" },
  { "tls-key", OPT_PATH, FIELD (tls_key), TRUE,
    "PEM private key file for --tls-certificate", "FILE" },
  { "public-name", OPT_STRV, FIELD (public_names), TRUE,
    "A name clients reach this server by, as in their URL: HOST or HOST:PORT (repeatable). "
    "Sign-ins are accepted only for these names, the names in the TLS certificate, or, "
    "with neither, the address and port the server listens on", "NAME" },
  { "data-dir", OPT_PATH, FIELD (data_dir), TRUE,
    "Directory for the database of invitations and handles "
    "(default: the user data directory/natter-server)", "DIR" },
  { "stun", OPT_STRV, FIELD (stun), TRUE,
    "STUN server URI handed to clients, e.g. stun:192.0.2.1:3478 (repeatable)", "URI" },
  { "turn", OPT_STRV, FIELD (turn), TRUE,
    "TURN server URI handed to clients, e.g. turn:192.0.2.1:3478?transport=udp (repeatable)",
    "URI" },
  { "turn-secret", OPT_STRING, FIELD (turn_secret), TRUE,
    "Shared secret of the TURN server (coturn use-auth-secret) used to issue time-limited "
    "credentials", "SECRET" },
  { "turn-ttl", OPT_INT, FIELD (turn_ttl), TRUE,
    "Lifetime of issued TURN credentials in seconds (default 86400)", "SECONDS" },
  { "max-connections", OPT_INT, FIELD (max_connections), TRUE,
    "Maximum number of open WebSocket connections; all TCP connections together may exceed "
    "it by 16, kept for plain HTTP such as /health (default 20000)", "N" },
  { "cluster", OPT_STRING, FIELD (cluster), TRUE,
    "Serve as one of several servers sharing presence, relays and rooms through Redis at "
    "redis://HOST:PORT", "URL" },
  { "workers", OPT_INT, FIELD (workers), TRUE,
    "Threads that serve connections, each with its own share of them (default: one per "
    "processor core)", "N" },
  { "max-unauthenticated-per-address", OPT_INT, FIELD (max_unauthenticated_per_address), TRUE,
    "Connections one client IP address may hold before they authenticate (default 256)", "N" },
  { "request-timeout", OPT_INT, FIELD (request_timeout), TRUE,
    "Seconds a new connection has to send its HTTP request and become a WebSocket "
    "(default 10)", "SECONDS" },
  { "max-output-buffer", OPT_INT, FIELD (max_output_buffer), TRUE,
    "Bytes the server holds for a client that does not read; more frames to it are dropped "
    "and their senders told peer-slow (default 1048576)", "BYTES" },
  { "slow-reader-timeout", OPT_INT, FIELD (slow_reader_timeout), TRUE,
    "Seconds a client may stay over --max-output-buffer before it is closed (default 10)",
    "SECONDS" },
  { "max-invitations-per-recipient", OPT_INT, FIELD (max_invitations_per_recipient), TRUE,
    "Pending invitations one user may have waiting (default 100)", "N" },
  { "max-room-members", OPT_INT, FIELD (max_room_members), TRUE,
    "Members a room may hold, on all servers of a cluster together (default 1000)", "N" },
  { "max-frame-size", OPT_INT, FIELD (max_frame_size), TRUE,
    "Largest accepted frame in bytes, at most 1048576 (default 65536)", "BYTES" },
  { "rate-burst", OPT_INT, FIELD (rate_burst), TRUE,
    "Frames a connection may send at once before it is rate limited (default 100)", "N" },
  { "rate-per-s", OPT_DOUBLE, FIELD (rate_per_s), TRUE,
    "Frames per second a connection may send in the long run (default 50)", "N" },
  { "auth-timeout", OPT_INT, FIELD (auth_timeout), TRUE,
    "Seconds a client has to authenticate after connecting (default 10)", "SECONDS" },
  { "heartbeat-interval", OPT_INT, FIELD (heartbeat_interval), TRUE,
    "Seconds between WebSocket pings; a connection silent for twice this long is closed "
    "(default 30)", "SECONDS" },
  { "invitation-ttl", OPT_INT, FIELD (invitation_ttl), TRUE,
    "Seconds after which a pending invitation expires (default 86400)", "SECONDS" },
  { "verbose", OPT_FLAG, FIELD (verbose), TRUE,
    "Log informational and debug messages", NULL },
};

#define UNSET_INT    (-1)
#define UNSET_DOUBLE (-1.0)

G_DEFINE_FINAL_TYPE (NatterServerConfig, natter_server_config, G_TYPE_OBJECT)

static gpointer
option_field (NatterServerConfig *self,
              const OptionSpec   *spec)
{
  return G_STRUCT_MEMBER_P (self, spec->offset);
}

static gboolean
option_is_set (NatterServerConfig *self,
               const OptionSpec   *spec)
{
  gpointer field = option_field (self, spec);

  switch (spec->kind)
    {
    case OPT_STRING:
    case OPT_PATH:
      return *(char **) field != NULL;
    case OPT_STRV:
      return *(char ***) field != NULL;
    case OPT_INT:
      return *(int *) field != UNSET_INT;
    case OPT_DOUBLE:
      return *(double *) field != UNSET_DOUBLE;
    case OPT_FLAG:
      return *(gboolean *) field;
    default:
      g_assert_not_reached ();
    }
}

static gboolean
load_key (NatterServerConfig *self,
          GKeyFile           *key_file,
          const OptionSpec   *spec,
          GError            **error)
{
  gpointer field = option_field (self, spec);
  GError *local_error = NULL;

  switch (spec->kind)
    {
    case OPT_STRING:
    case OPT_PATH:
      *(char **) field = g_key_file_get_string (key_file, KEY_FILE_GROUP, spec->name, &local_error);
      break;
    case OPT_STRV:
      *(char ***) field = g_key_file_get_string_list (key_file, KEY_FILE_GROUP, spec->name,
                                                      NULL, &local_error);
      break;
    case OPT_INT:
      *(int *) field = g_key_file_get_integer (key_file, KEY_FILE_GROUP, spec->name,
                                               &local_error);
      if (local_error == NULL && *(int *) field < 0)
        {
          g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                       "Key “%s” must not be negative", spec->name);
          *(int *) field = UNSET_INT;
          return FALSE;
        }
      break;
    case OPT_DOUBLE:
      *(double *) field = g_key_file_get_double (key_file, KEY_FILE_GROUP, spec->name,
                                                 &local_error);
      break;
    case OPT_FLAG:
      *(gboolean *) field = g_key_file_get_boolean (key_file, KEY_FILE_GROUP, spec->name,
                                                    &local_error);
      break;
    default:
      g_assert_not_reached ();
    }

  if (local_error != NULL)
    {
      g_propagate_prefixed_error (error, local_error, "Key “%s”: ", spec->name);
      return FALSE;
    }

  return TRUE;
}

static const OptionSpec *
find_key_file_option (const char *key)
{
  for (guint i = 0; i < G_N_ELEMENTS (option_specs); i++)
    {
      if (option_specs[i].in_key_file && g_str_equal (option_specs[i].name, key))
        return &option_specs[i];
    }

  return NULL;
}

static void
apply_defaults (NatterServerConfig *self)
{
  if (self->address == NULL)
    self->address = g_strdup ("127.0.0.1");
  if (self->port == UNSET_INT)
    self->port = NATTER_SERVER_DEFAULT_PORT;
  if (self->data_dir == NULL)
    self->data_dir = g_build_filename (g_get_user_data_dir (), "natter-server", NULL);
  if (self->stun == NULL)
    self->stun = g_new0 (char *, 1);
  if (self->public_names == NULL)
    self->public_names = g_new0 (char *, 1);
  if (self->turn == NULL)
    self->turn = g_new0 (char *, 1);
  if (self->turn_ttl == UNSET_INT)
    self->turn_ttl = NATTER_SERVER_DEFAULT_TURN_TTL;
  if (self->max_connections == UNSET_INT)
    self->max_connections = NATTER_SERVER_DEFAULT_MAX_CONNECTIONS;
  if (self->workers == UNSET_INT)
    self->workers = MIN (g_get_num_processors (), NATTER_SERVER_MAX_WORKERS);
  if (self->max_frame_size == UNSET_INT)
    self->max_frame_size = 65536;
  if (self->rate_burst == UNSET_INT)
    self->rate_burst = NATTER_SERVER_DEFAULT_RATE_BURST;
  if (self->rate_per_s == UNSET_DOUBLE)
    self->rate_per_s = NATTER_SERVER_DEFAULT_RATE_PER_S;
  if (self->auth_timeout == UNSET_INT)
    self->auth_timeout = NATTER_SERVER_DEFAULT_AUTH_TIMEOUT;
  if (self->heartbeat_interval == UNSET_INT)
    self->heartbeat_interval = NATTER_SERVER_DEFAULT_HEARTBEAT;
  if (self->invitation_ttl == UNSET_INT)
    self->invitation_ttl = NATTER_SERVER_DEFAULT_INVITATION_TTL;
  if (self->request_timeout == UNSET_INT)
    self->request_timeout = NATTER_SERVER_DEFAULT_REQUEST_TIMEOUT;
  if (self->max_unauthenticated_per_address == UNSET_INT)
    self->max_unauthenticated_per_address = NATTER_SERVER_DEFAULT_UNAUTHENTICATED_PER_ADDRESS;
  if (self->max_output_buffer == UNSET_INT)
    self->max_output_buffer = NATTER_SERVER_DEFAULT_MAX_OUTPUT_BUFFER;
  if (self->slow_reader_timeout == UNSET_INT)
    self->slow_reader_timeout = NATTER_SERVER_DEFAULT_SLOW_READER_TIMEOUT;
  if (self->max_invitations_per_recipient == UNSET_INT)
    self->max_invitations_per_recipient = NATTER_SERVER_DEFAULT_INVITATIONS_PER_RECIPIENT;
  if (self->max_room_members == UNSET_INT)
    self->max_room_members = NATTER_SERVER_DEFAULT_ROOM_MEMBERS;
}

static gboolean
check_range (const char  *name,
             int          value,
             int          min,
             int          max,
             GError     **error)
{
  if (value >= min && value <= max)
    return TRUE;

  g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
               "--%s must be between %d and %d", name, min, max);
  return FALSE;
}

static gboolean
validate (NatterServerConfig  *self,
          GError             **error)
{
  g_autoptr(GInetAddress) address = g_inet_address_new_from_string (self->address);

  if (address == NULL)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--address must be a numeric IP address, not “%s”", self->address);
      return FALSE;
    }

  if ((self->tls_certificate == NULL) != (self->tls_key == NULL))
    {
      g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                           "--tls-certificate and --tls-key must be given together");
      return FALSE;
    }

  for (guint i = 0; self->public_names[i] != NULL; i++)
    {
      g_autofree char *host = NULL;
      guint port;

      if (!natter_auth_server_name_split (self->public_names[i], &host, &port))
        {
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                       "--public-name must be a host name or address with an optional :PORT, "
                       "not “%s”", self->public_names[i]);
          return FALSE;
        }
    }

  if (!(self->rate_per_s > 0.0 && self->rate_per_s <= 1e6))
    {
      g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                           "--rate-per-s must be above 0 and at most 1000000");
      return FALSE;
    }

  return check_range ("port", self->port, 0, 65535, error) &&
         check_range ("turn-ttl", self->turn_ttl, 60, 30 * 24 * 3600, error) &&
         check_range ("max-connections", self->max_connections, 1, 1000000, error) &&
         check_range ("workers", self->workers, 1, NATTER_SERVER_MAX_WORKERS, error) &&
         check_range ("max-frame-size", self->max_frame_size, 64,
                      NATTER_SERVER_HARD_MAX_FRAME_SIZE, error) &&
         check_range ("rate-burst", self->rate_burst, 1, 1000000, error) &&
         check_range ("auth-timeout", self->auth_timeout, 1, 3600, error) &&
         check_range ("heartbeat-interval", self->heartbeat_interval, 1, 3600, error) &&
         check_range ("invitation-ttl", self->invitation_ttl, 1, 365 * 24 * 3600, error) &&
         check_range ("request-timeout", self->request_timeout, 1, 3600, error) &&
         check_range ("max-unauthenticated-per-address", self->max_unauthenticated_per_address,
                      1, 1000000, error) &&
         check_range ("max-output-buffer", self->max_output_buffer, 4096, 1024 * 1024 * 1024,
                      error) &&
         check_range ("slow-reader-timeout", self->slow_reader_timeout, 1, 3600, error) &&
         check_range ("max-invitations-per-recipient", self->max_invitations_per_recipient, 1,
                      100000, error) &&
         check_range ("max-room-members", self->max_room_members, 1, 100000, error);
}

static void
natter_server_config_finalize (GObject *object)
{
  NatterServerConfig *self = (NatterServerConfig *) object;

  g_clear_pointer (&self->config_file, g_free);
  g_clear_pointer (&self->address, g_free);
  g_clear_pointer (&self->tls_certificate, g_free);
  g_clear_pointer (&self->tls_key, g_free);
  g_clear_pointer (&self->data_dir, g_free);
  g_clear_pointer (&self->stun, g_strfreev);
  g_clear_pointer (&self->public_names, g_strfreev);
  g_clear_pointer (&self->turn, g_strfreev);
  if (self->turn_secret != NULL)
    memset (self->turn_secret, 0, strlen (self->turn_secret));
  g_clear_pointer (&self->turn_secret, g_free);
  g_clear_pointer (&self->cluster, g_free);

  G_OBJECT_CLASS (natter_server_config_parent_class)->finalize (object);
}

static void
natter_server_config_class_init (NatterServerConfigClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = natter_server_config_finalize;
}

static void
natter_server_config_init (NatterServerConfig *self)
{
  self->port = UNSET_INT;
  self->turn_ttl = UNSET_INT;
  self->max_connections = UNSET_INT;
  self->workers = UNSET_INT;
  self->max_frame_size = UNSET_INT;
  self->rate_burst = UNSET_INT;
  self->rate_per_s = UNSET_DOUBLE;
  self->auth_timeout = UNSET_INT;
  self->heartbeat_interval = UNSET_INT;
  self->invitation_ttl = UNSET_INT;
  self->request_timeout = UNSET_INT;
  self->max_unauthenticated_per_address = UNSET_INT;
  self->max_output_buffer = UNSET_INT;
  self->slow_reader_timeout = UNSET_INT;
  self->max_invitations_per_recipient = UNSET_INT;
  self->max_room_members = UNSET_INT;
}

NatterServerConfig *
natter_server_config_new (void)
{
  return g_object_new (NATTER_TYPE_SERVER_CONFIG, NULL);
}

/**
 * natter_server_config_load_key_file:
 * @self: a #NatterServerConfig
 * @path: a key file with a [server] group
 * @error: return location for a #GError
 *
 * Sets every option that is still unset from @path.
 *
 * Returns: %TRUE on success
 */
gboolean
natter_server_config_load_key_file (NatterServerConfig  *self,
                                    const char          *path,
                                    GError             **error)
{
  g_autoptr(GKeyFile) key_file = g_key_file_new ();
  g_auto(GStrv) keys = NULL;

  g_return_val_if_fail (NATTER_IS_SERVER_CONFIG (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  if (!g_key_file_load_from_file (key_file, path, G_KEY_FILE_NONE, error))
    return FALSE;

  if (!g_key_file_has_group (key_file, KEY_FILE_GROUP))
    return TRUE;

  keys = g_key_file_get_keys (key_file, KEY_FILE_GROUP, NULL, error);
  if (keys == NULL)
    return FALSE;

  for (guint i = 0; keys[i] != NULL; i++)
    {
      const OptionSpec *spec = find_key_file_option (keys[i]);

      if (spec == NULL)
        {
          g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_KEY_NOT_FOUND,
                       "%s: unknown key “%s” in group [%s]", path, keys[i], KEY_FILE_GROUP);
          return FALSE;
        }

      if (option_is_set (self, spec))
        continue;

      if (!load_key (self, key_file, spec, error))
        {
          g_prefix_error (error, "%s: ", path);
          return FALSE;
        }
    }

  return TRUE;
}

/**
 * natter_server_config_parse:
 * @self: a #NatterServerConfig
 * @argc: (inout): argument count
 * @argv: (inout): arguments
 * @error: return location for a #GError
 *
 * Parses the command line, then the key file named by --config, then fills in
 * defaults and checks every value.
 *
 * Returns: %TRUE when the options are usable
 */
gboolean
natter_server_config_parse (NatterServerConfig   *self,
                            int                  *argc,
                            char               ***argv,
                            GError              **error)
{
  g_autoptr(GOptionContext) context = NULL;
  GOptionEntry entries[G_N_ELEMENTS (option_specs) + 1] = { { NULL, }, };

  g_return_val_if_fail (NATTER_IS_SERVER_CONFIG (self), FALSE);

  for (guint i = 0; i < G_N_ELEMENTS (option_specs); i++)
    {
      const OptionSpec *spec = &option_specs[i];
      static const GOptionArg args[] = {
        [OPT_STRING] = G_OPTION_ARG_STRING,
        [OPT_PATH] = G_OPTION_ARG_FILENAME,
        [OPT_STRV] = G_OPTION_ARG_STRING_ARRAY,
        [OPT_INT] = G_OPTION_ARG_INT,
        [OPT_DOUBLE] = G_OPTION_ARG_DOUBLE,
        [OPT_FLAG] = G_OPTION_ARG_NONE,
      };

      entries[i].long_name = spec->name;
      entries[i].short_name = g_str_equal (spec->name, "verbose") ? 'v' : 0;
      entries[i].arg = args[spec->kind];
      entries[i].arg_data = option_field (self, spec);
      entries[i].description = spec->description;
      entries[i].arg_description = spec->arg_description;
    }

  context = g_option_context_new ("- Natter signaling and presence server");
  g_option_context_set_summary (context,
                                "Introduces Natter peers to each other: authentication, presence, "
                                "WebRTC signaling relay,\ninvitations, handles and rooms over "
                                "one WebSocket endpoint (/ws).");
  g_option_context_add_main_entries (context, entries, NULL);

  if (!g_option_context_parse (context, argc, argv, error))
    return FALSE;

  for (guint i = 0; i < G_N_ELEMENTS (option_specs); i++)
    {
      const OptionSpec *spec = &option_specs[i];

      if (spec->kind == OPT_INT && option_is_set (self, spec) &&
          *(int *) option_field (self, spec) < 0)
        {
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                       "--%s must not be negative", spec->name);
          return FALSE;
        }
    }

  if (*argc > 1)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
                   "Unexpected argument “%s”", (*argv)[1]);
      return FALSE;
    }

  if (self->config_file != NULL &&
      !natter_server_config_load_key_file (self, self->config_file, error))
    return FALSE;

  apply_defaults (self);

  return validate (self, error);
}

const char *
natter_server_config_get_address (NatterServerConfig *self)
{
  g_return_val_if_fail (NATTER_IS_SERVER_CONFIG (self), NULL);
  return self->address;
}

guint
natter_server_config_get_port (NatterServerConfig *self)
{
  g_return_val_if_fail (NATTER_IS_SERVER_CONFIG (self), 0);
  return self->port;
}

gboolean
natter_server_config_get_print_port (NatterServerConfig *self)
{
  g_return_val_if_fail (NATTER_IS_SERVER_CONFIG (self), FALSE);
  return self->print_port;
}

const char *
natter_server_config_get_tls_certificate (NatterServerConfig *self)
{
  g_return_val_if_fail (NATTER_IS_SERVER_CONFIG (self), NULL);
  return self->tls_certificate;
}

const char *
natter_server_config_get_tls_key (NatterServerConfig *self)
{
  g_return_val_if_fail (NATTER_IS_SERVER_CONFIG (self), NULL);
  return self->tls_key;
}

const char *
natter_server_config_get_data_dir (NatterServerConfig *self)
{
  g_return_val_if_fail (NATTER_IS_SERVER_CONFIG (self), NULL);
  return self->data_dir;
}

const char * const *
natter_server_config_get_public_names (NatterServerConfig *self)
{
  g_return_val_if_fail (NATTER_IS_SERVER_CONFIG (self), NULL);
  return (const char * const *) self->public_names;
}

const char * const *
natter_server_config_get_stun (NatterServerConfig *self)
{
  g_return_val_if_fail (NATTER_IS_SERVER_CONFIG (self), NULL);
  return (const char * const *) self->stun;
}

const char * const *
natter_server_config_get_turn (NatterServerConfig *self)
{
  g_return_val_if_fail (NATTER_IS_SERVER_CONFIG (self), NULL);
  return (const char * const *) self->turn;
}

const char *
natter_server_config_get_turn_secret (NatterServerConfig *self)
{
  g_return_val_if_fail (NATTER_IS_SERVER_CONFIG (self), NULL);
  return self->turn_secret;
}

guint
natter_server_config_get_turn_ttl (NatterServerConfig *self)
{
  g_return_val_if_fail (NATTER_IS_SERVER_CONFIG (self), 0);
  return self->turn_ttl;
}

guint
natter_server_config_get_max_connections (NatterServerConfig *self)
{
  g_return_val_if_fail (NATTER_IS_SERVER_CONFIG (self), 0);
  return self->max_connections;
}

const char *
natter_server_config_get_cluster (NatterServerConfig *self)
{
  g_return_val_if_fail (NATTER_IS_SERVER_CONFIG (self), NULL);
  return self->cluster;
}

guint
natter_server_config_get_workers (NatterServerConfig *self)
{
  g_return_val_if_fail (NATTER_IS_SERVER_CONFIG (self), 1);
  return self->workers;
}

guint
natter_server_config_get_max_frame_size (NatterServerConfig *self)
{
  g_return_val_if_fail (NATTER_IS_SERVER_CONFIG (self), 0);
  return self->max_frame_size;
}

guint
natter_server_config_get_rate_burst (NatterServerConfig *self)
{
  g_return_val_if_fail (NATTER_IS_SERVER_CONFIG (self), 0);
  return self->rate_burst;
}

double
natter_server_config_get_rate_per_s (NatterServerConfig *self)
{
  g_return_val_if_fail (NATTER_IS_SERVER_CONFIG (self), 0);
  return self->rate_per_s;
}

guint
natter_server_config_get_auth_timeout (NatterServerConfig *self)
{
  g_return_val_if_fail (NATTER_IS_SERVER_CONFIG (self), 0);
  return self->auth_timeout;
}

guint
natter_server_config_get_heartbeat_interval (NatterServerConfig *self)
{
  g_return_val_if_fail (NATTER_IS_SERVER_CONFIG (self), 0);
  return self->heartbeat_interval;
}

guint
natter_server_config_get_invitation_ttl (NatterServerConfig *self)
{
  g_return_val_if_fail (NATTER_IS_SERVER_CONFIG (self), 0);
  return self->invitation_ttl;
}

gboolean
natter_server_config_get_verbose (NatterServerConfig *self)
{
  g_return_val_if_fail (NATTER_IS_SERVER_CONFIG (self), FALSE);
  return self->verbose;
}

guint
natter_server_config_get_request_timeout (NatterServerConfig *self)
{
  g_return_val_if_fail (NATTER_IS_SERVER_CONFIG (self), 0);

  return self->request_timeout;
}

guint
natter_server_config_get_max_unauthenticated_per_address (NatterServerConfig *self)
{
  g_return_val_if_fail (NATTER_IS_SERVER_CONFIG (self), 0);

  return self->max_unauthenticated_per_address;
}

guint
natter_server_config_get_max_output_buffer (NatterServerConfig *self)
{
  g_return_val_if_fail (NATTER_IS_SERVER_CONFIG (self), 0);

  return self->max_output_buffer;
}

guint
natter_server_config_get_slow_reader_timeout (NatterServerConfig *self)
{
  g_return_val_if_fail (NATTER_IS_SERVER_CONFIG (self), 0);

  return self->slow_reader_timeout;
}

guint
natter_server_config_get_max_invitations_per_recipient (NatterServerConfig *self)
{
  g_return_val_if_fail (NATTER_IS_SERVER_CONFIG (self), 0);

  return self->max_invitations_per_recipient;
}

guint
natter_server_config_get_max_room_members (NatterServerConfig *self)
{
  g_return_val_if_fail (NATTER_IS_SERVER_CONFIG (self), 0);

  return self->max_room_members;
}
