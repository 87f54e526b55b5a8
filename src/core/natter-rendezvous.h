/* natter-rendezvous.h: how peers find each other and pass signal payloads
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define NATTER_TYPE_RENDEZVOUS (natter_rendezvous_get_type ())

G_DECLARE_INTERFACE (NatterRendezvous, natter_rendezvous, NATTER, RENDEZVOUS, GObject)

/**
 * NatterRendezvousInterface:
 * @start: starts reaching the others, and keeps trying until stopped
 * @stop: stops; everyone is offline afterwards
 * @get_online: whether payloads can be sent now
 * @watch_users: replaces the users whose presence matters
 * @is_user_online: whether a watched user can be reached
 * @send_signal: passes a payload on to a user; a failure found later is
 *   NatterRendezvous::signal-failed
 * @get_ice_servers: the RTCIceServer list this rendezvous offers, if any
 *
 * NatterClient talks to the others only through this: NatterSignaling
 * implements it over natter-server, and LAN mode will on the local network.
 */
struct _NatterRendezvousInterface
{
  GTypeInterface parent_iface;

  void        (*start)           (NatterRendezvous   *self);
  void        (*stop)            (NatterRendezvous   *self);
  gboolean    (*get_online)      (NatterRendezvous   *self);
  void        (*watch_users)     (NatterRendezvous   *self,
                                  const char * const *users);
  gboolean    (*is_user_online)  (NatterRendezvous   *self,
                                  const char         *user_id);
  gboolean    (*send_signal)     (NatterRendezvous   *self,
                                  const char         *to,
                                  JsonObject         *payload,
                                  GError            **error);
  JsonArray  *(*get_ice_servers) (NatterRendezvous   *self);
};

void        natter_rendezvous_start            (NatterRendezvous   *self);
void        natter_rendezvous_stop             (NatterRendezvous   *self);
gboolean    natter_rendezvous_get_online       (NatterRendezvous   *self);
void        natter_rendezvous_watch_users      (NatterRendezvous   *self,
                                                const char * const *users);
gboolean    natter_rendezvous_is_user_online   (NatterRendezvous   *self,
                                                const char         *user_id);
gboolean    natter_rendezvous_send_signal      (NatterRendezvous   *self,
                                                const char         *to,
                                                JsonObject         *payload,
                                                GError            **error);
JsonArray  *natter_rendezvous_get_ice_servers  (NatterRendezvous   *self);

/* For implementations: emit the interface's signals */
void        natter_rendezvous_presence_changed (NatterRendezvous   *self,
                                                const char         *user_id,
                                                gboolean            online);
void        natter_rendezvous_signal_received  (NatterRendezvous   *self,
                                                const char         *from,
                                                JsonObject         *payload);
void        natter_rendezvous_signal_failed    (NatterRendezvous   *self,
                                                const char         *to,
                                                int                 code);

G_END_DECLS
