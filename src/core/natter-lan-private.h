/* natter-lan-private.h: what NatterLan's files share
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * natter-lan.c            the object, the rendezvous, presence, invitations kept in memory
 * natter-lan-discovery.c  DNS-SD over Avahi: our announcement, browsing, resolving, the TXT proof
 * natter-lan-link.c       one direct WebSocket: listening, dialling, the mutual key proof, frames
 */
#pragma once

#include <libsoup/soup.h>

#include "natter-lan.h"
#include "natter-nearby-peer.h"

G_BEGIN_DECLS

/* A link that has not proven both keys by then is closed. */
#define NATTER_LAN_AUTH_TIMEOUT_S  10
/* The side with the greater user ID dials only if the other has not by then. */
#define NATTER_LAN_DIAL_DELAY_MS   1500
/* Keepalive pings, and how long without a pong makes a link dead. */
#define NATTER_LAN_PING_S          3
#define NATTER_LAN_DEAD_S          10
/* Typed addresses whose peer is not linked are dialled again this often */
#define NATTER_LAN_REDIAL_S        5
#define NATTER_LAN_PATH            "/natter"
#define NATTER_LAN_NAME_MAX        64
#define NATTER_LAN_CLOSE_AUTH      4001
#define NATTER_LAN_CLOSE_REPLACED  4002

typedef struct _NatterLanLink NatterLanLink;
typedef struct _NatterLanDiscovery NatterLanDiscovery;

struct _NatterLan
{
  GObject             parent_instance;

  NatterIdentity     *identity;
  char               *user_id;
  char               *display_name;
  guint               port;
  gboolean            visible;
  gboolean            online;
  GError             *discovery_error;

  SoupServer         *server;
  SoupSession        *session;
  GPtrArray          *links;        /* NatterLanLink, owned: every link, proven or not */
  GHashTable         *ready;        /* user id -> NatterLanLink (in links) proven both ways */
  GHashTable         *watched;      /* user id set */
  GHashTable         *announced;    /* user id -> "host:port" of a proven announcement */
  GHashTable         *names;        /* user id -> signed name from the announcement */
  GHashTable         *dial_timers;  /* user id -> source id */
  GListStore         *nearby;       /* NatterNearbyPeer */
  GHashTable         *invitations;  /* id -> JsonObject (pending, both directions) */
  GHashTable         *addresses;    /* typed "host:port" -> user id it reached, or "" */
  guint               redial_id;

  NatterLanDiscovery *discovery;
};

/* natter-lan.c: what links and discovery report */
void            _natter_lan_link_ready          (NatterLan     *self,
                                                 NatterLanLink *link);
void            _natter_lan_link_closed         (NatterLan     *self,
                                                 NatterLanLink *link);
void            _natter_lan_link_frame          (NatterLan     *self,
                                                 NatterLanLink *link,
                                                 NatterFrame   *frame);
void            _natter_lan_announcement_found  (NatterLan     *self,
                                                 const char    *user_id,
                                                 const char    *name,
                                                 const char    *host,
                                                 guint          port);
void            _natter_lan_announcement_gone   (NatterLan     *self,
                                                 const char    *user_id);
void            _natter_lan_set_discovery_error (NatterLan     *self,
                                                 GError        *error);

/* natter-lan-link.c */
gboolean        _natter_lan_listen              (NatterLan     *self,
                                                 GError       **error);
NatterLanLink  *_natter_lan_link_dial           (NatterLan     *self,
                                                 const char    *host,
                                                 guint          port,
                                                 const char    *expected_id);
void            _natter_lan_link_free           (NatterLanLink *link);
void            _natter_lan_link_close          (NatterLanLink *link,
                                                 gushort        code);
gboolean        _natter_lan_link_send           (NatterLanLink *link,
                                                 NatterFrame   *frame,
                                                 GError       **error);
const char     *_natter_lan_link_get_peer_id    (NatterLanLink *link);
const char     *_natter_lan_link_get_address    (NatterLanLink *link);
gboolean        _natter_lan_link_get_outgoing   (NatterLanLink *link);
gboolean        _natter_lan_link_is_ready       (NatterLanLink *link);

/* natter-lan-discovery.c */
NatterLanDiscovery *_natter_lan_discovery_new   (NatterLan     *self);
void            _natter_lan_discovery_free      (NatterLanDiscovery *discovery);
void            _natter_lan_discovery_update    (NatterLanDiscovery *discovery);
char           *_natter_lan_announcement_message (const char   *user_id,
                                                  guint         port,
                                                  const char   *name,
                                                  gsize        *length);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NatterLanDiscovery, _natter_lan_discovery_free)

G_END_DECLS
