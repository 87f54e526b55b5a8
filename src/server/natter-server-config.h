/* natter-server-config.h: options of natter-server (command line and key file)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define NATTER_SERVER_DEFAULT_PORT             8443
#define NATTER_SERVER_DEFAULT_MAX_CONNECTIONS  20000
#define NATTER_SERVER_MAX_WORKERS              64
#define NATTER_SERVER_DEFAULT_RATE_BURST       100
#define NATTER_SERVER_DEFAULT_RATE_PER_S       50.0
#define NATTER_SERVER_DEFAULT_AUTH_TIMEOUT     10
#define NATTER_SERVER_DEFAULT_HEARTBEAT        30
#define NATTER_SERVER_DEFAULT_INVITATION_TTL   (24 * 60 * 60)
#define NATTER_SERVER_DEFAULT_TURN_TTL         (24 * 60 * 60)
#define NATTER_SERVER_HARD_MAX_FRAME_SIZE      (1024 * 1024)
#define NATTER_SERVER_DEFAULT_REQUEST_TIMEOUT  10
#define NATTER_SERVER_DEFAULT_UNAUTHENTICATED_PER_ADDRESS 256
#define NATTER_SERVER_DEFAULT_MAX_OUTPUT_BUFFER (1024 * 1024)
#define NATTER_SERVER_DEFAULT_SLOW_READER_TIMEOUT 10
#define NATTER_SERVER_DEFAULT_INVITATIONS_PER_RECIPIENT 100
#define NATTER_SERVER_DEFAULT_ROOM_MEMBERS 1000

#define NATTER_TYPE_SERVER_CONFIG (natter_server_config_get_type ())

G_DECLARE_FINAL_TYPE (NatterServerConfig, natter_server_config, NATTER, SERVER_CONFIG, GObject)

NatterServerConfig  *natter_server_config_new                (void);
gboolean             natter_server_config_parse              (NatterServerConfig  *self,
                                                              int                 *argc,
                                                              char              ***argv,
                                                              GError             **error);
gboolean             natter_server_config_load_key_file      (NatterServerConfig  *self,
                                                              const char          *path,
                                                              GError             **error);

const char          *natter_server_config_get_address        (NatterServerConfig  *self);
guint                natter_server_config_get_port           (NatterServerConfig  *self);
gboolean             natter_server_config_get_print_port     (NatterServerConfig  *self);
const char          *natter_server_config_get_tls_certificate (NatterServerConfig *self);
const char          *natter_server_config_get_tls_key        (NatterServerConfig  *self);
const char * const  *natter_server_config_get_public_names (NatterServerConfig *self);
const char          *natter_server_config_get_data_dir       (NatterServerConfig  *self);
const char * const  *natter_server_config_get_stun           (NatterServerConfig  *self);
const char * const  *natter_server_config_get_turn           (NatterServerConfig  *self);
const char          *natter_server_config_get_turn_secret    (NatterServerConfig  *self);
guint                natter_server_config_get_turn_ttl       (NatterServerConfig  *self);
guint                natter_server_config_get_max_connections (NatterServerConfig *self);
guint                natter_server_config_get_workers         (NatterServerConfig *self);
const char          *natter_server_config_get_cluster         (NatterServerConfig *self);
guint                natter_server_config_get_max_frame_size (NatterServerConfig  *self);
guint                natter_server_config_get_rate_burst     (NatterServerConfig  *self);
double               natter_server_config_get_rate_per_s     (NatterServerConfig  *self);
guint                natter_server_config_get_auth_timeout   (NatterServerConfig  *self);
guint                natter_server_config_get_heartbeat_interval (NatterServerConfig *self);
guint                natter_server_config_get_invitation_ttl (NatterServerConfig  *self);
guint                natter_server_config_get_request_timeout (NatterServerConfig *self);
guint                natter_server_config_get_max_unauthenticated_per_address (NatterServerConfig *self);
guint                natter_server_config_get_max_output_buffer (NatterServerConfig *self);
guint                natter_server_config_get_slow_reader_timeout (NatterServerConfig *self);
guint                natter_server_config_get_max_invitations_per_recipient (NatterServerConfig *self);
guint                natter_server_config_get_max_room_members          (NatterServerConfig *self);
gboolean             natter_server_config_get_verbose        (NatterServerConfig  *self);

G_END_DECLS
