/* natter-client-calls.h: NatterClient's calls
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "natter-call.h"
#include "natter-media-devices.h"

G_BEGIN_DECLS

#define NATTER_CALL_DEFAULT_RING_TIMEOUT_S 45

typedef struct _NatterClient NatterClient;

NatterCall *natter_client_place_call           (NatterClient *self,
                                                const char   *contact_id,
                                                gboolean      audio_only,
                                                GError      **error);
gboolean    natter_client_answer_call          (NatterClient *self,
                                                NatterCall   *call,
                                                GError      **error);
void        natter_client_decline_call         (NatterClient *self,
                                                NatterCall   *call);
void        natter_client_hang_up_call         (NatterClient *self,
                                                NatterCall   *call);
void        natter_client_set_call_microphone  (NatterClient *self,
                                                NatterCall   *call,
                                                gboolean      on);
void        natter_client_set_call_camera      (NatterClient *self,
                                                NatterCall   *call,
                                                gboolean      on);
NatterCall *natter_client_get_current_call     (NatterClient *self);
GPtrArray  *natter_client_list_calls           (NatterClient *self,
                                                const char   *contact_id,
                                                guint         limit,
                                                GError      **error);

void        natter_client_set_call_test_media  (NatterClient *self,
                                                gboolean      test_media);
void        natter_client_set_call_playback    (NatterClient *self,
                                                gboolean      playback);
void        natter_client_set_call_device      (NatterClient         *self,
                                                NatterMediaDeviceKind kind,
                                                const char           *id);
gboolean    natter_client_switch_call_device   (NatterClient         *self,
                                                NatterCall           *call,
                                                NatterMediaDeviceKind kind,
                                                const char           *id,
                                                GError              **error);
void        natter_client_set_call_ring_timeout (NatterClient *self,
                                                 guint         seconds);

G_END_DECLS
