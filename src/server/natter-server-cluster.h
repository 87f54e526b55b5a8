/* natter-server-cluster.h: several natter-server processes as one service, through Redis
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef struct _NatterServerCluster NatterServerCluster;

/* What other servers tell this one; called in the cluster's main context. */
typedef struct
{
  /* A user of another server came online or went offline (its server
   * too, perhaps). */
  void (*presence)  (gpointer    data,
                     const char *user,
                     gboolean    online);
  /* A frame relayed from another server for a user of this one. */
  void (*deliver)   (gpointer    data,
                     const char *user,
                     const char *text);
  /* A user of this one signed in on another server. */
  void (*replaced)  (gpointer    data,
                     const char *user);
  /* Answers to invitations of @user, a user of this one, wait in Redis. */
  void (*answers)   (gpointer    data,
                     const char *user);
  /* A user of another server joined or left a room. */
  void (*room)      (gpointer    data,
                     const char *room,
                     const char *user,
                     gboolean    joined);
} NatterServerClusterCallbacks;

/* The outcome of a handle request: the GError (NATTER_PROTOCOL_ERROR) is
 * NULL on success; @owner is the handle's user for a lookup. */
typedef void (*NatterServerClusterHandleFunc) (gpointer      data,
                                               const char   *owner,
                                               const GError *error);

/* A Redis reply as JSON (strings, integers, nil as null, arrays), or the
 * GError of a command that failed. */
typedef void (*NatterServerClusterReplyFunc) (gpointer      data,
                                              JsonNode     *reply,
                                              const GError *error);

typedef enum
{
  NATTER_SERVER_CLUSTER_HANDLE_REGISTER,
  NATTER_SERVER_CLUSTER_HANDLE_LOOKUP,
  NATTER_SERVER_CLUSTER_HANDLE_RELEASE,
} NatterServerClusterHandleOp;

NatterServerCluster *natter_server_cluster_new          (const char                         *url,
                                                         guint                               heartbeat_s,
                                                         GMainContext                       *context,
                                                         const NatterServerClusterCallbacks *callbacks,
                                                         gpointer                            data,
                                                         GError                            **error);
const char          *natter_server_cluster_get_id       (NatterServerCluster                *self);
void                 natter_server_cluster_user_online  (NatterServerCluster                *self,
                                                         const char                         *user);
void                 natter_server_cluster_user_offline (NatterServerCluster                *self,
                                                         const char                         *user);
gboolean             natter_server_cluster_has_user     (NatterServerCluster                *self,
                                                         const char                         *user);
gboolean             natter_server_cluster_relay        (NatterServerCluster                *self,
                                                         const char                         *user,
                                                         const char                         *text);
void                 natter_server_cluster_handle       (NatterServerCluster                *self,
                                                         NatterServerClusterHandleOp         op,
                                                         const char                         *handle,
                                                         const char                         *user,
                                                         NatterServerClusterHandleFunc       done,
                                                         gpointer                            data,
                                                         GDestroyNotify                      destroy);
void                 natter_server_cluster_command      (NatterServerCluster                *self,
                                                         const char * const                 *argv,
                                                         NatterServerClusterReplyFunc        done,
                                                         gpointer                            data,
                                                         GDestroyNotify                      destroy);
gboolean             natter_server_cluster_notify_answers (NatterServerCluster              *self,
                                                           const char                       *user);
void                 natter_server_cluster_room_join    (NatterServerCluster                *self,
                                                         const char                         *room,
                                                         const char                         *user);
void                 natter_server_cluster_room_leave   (NatterServerCluster                *self,
                                                         const char                         *room,
                                                         const char                         *user);
GPtrArray           *natter_server_cluster_room_members (NatterServerCluster                *self,
                                                         const char                         *room);
guint                natter_server_cluster_room_size    (NatterServerCluster                *self,
                                                         const char                         *room);
void                 natter_server_cluster_free         (NatterServerCluster                *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NatterServerCluster, natter_server_cluster_free)

G_END_DECLS
