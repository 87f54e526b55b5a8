/* natter-server-cluster-invitations.h: the invitations of a cluster, in Redis
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "natter-server-cluster.h"
#include "natter-server-store.h"

G_BEGIN_DECLS

/* The invitation made, updated or answered (transfer none), or why not:
 * the same NATTER_PROTOCOL_ERROR codes as NatterServerStore's. */
typedef void (*NatterServerClusterInvitationFunc) (gpointer                      data,
                                                   const NatterServerInvitation *invitation,
                                                   const GError                 *error);

/* A user's pending incoming and outgoing invitations and the answers to
 * theirs waiting for them (element-type NatterServerInvitation, transfer
 * none), each oldest first, then by id; or why not. */
typedef void (*NatterServerClusterInvitationListsFunc) (gpointer      data,
                                                        GPtrArray    *incoming,
                                                        GPtrArray    *outgoing,
                                                        GPtrArray    *answers,
                                                        const GError *error);

void natter_server_cluster_invite             (NatterServerCluster                    *self,
                                               const char                             *from,
                                               const char                             *from_name,
                                               const char                             *to,
                                               const char                             *text,
                                               gint64                                  now,
                                               gint64                                  ttl,
                                               guint                                   max_per_recipient,
                                               NatterServerClusterInvitationFunc       done,
                                               gpointer                                data,
                                               GDestroyNotify                          destroy);
void natter_server_cluster_answer_invitation  (NatterServerCluster                    *self,
                                               const char                             *id,
                                               const char                             *recipient,
                                               NatterServerInvitationStatus            status,
                                               gint64                                  now,
                                               NatterServerClusterInvitationFunc       done,
                                               gpointer                                data,
                                               GDestroyNotify                          destroy);
void natter_server_cluster_list_invitations   (NatterServerCluster                    *self,
                                               const char                             *user,
                                               gint64                                  now,
                                               NatterServerClusterInvitationListsFunc  done,
                                               gpointer                                data,
                                               GDestroyNotify                          destroy);
void natter_server_cluster_delete_invitation  (NatterServerCluster                    *self,
                                               const char                             *id,
                                               const char                             *sender);

G_END_DECLS
