/* natter-frame.h: signaling frames, parsed, validated and serialized
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <json-glib/json-glib.h>

#include "natter-protocol-error.h"

G_BEGIN_DECLS

#define NATTER_PROTOCOL_VERSION         2
#define NATTER_FRAME_DEFAULT_MAX_SIZE   65536
#define NATTER_FRAME_ID_MAX_LENGTH      64
#define NATTER_INVITATION_TEXT_MAX      500
/* The sender's display name an invitation carries, in bytes */
#define NATTER_INVITATION_NAME_MAX      64
#define NATTER_SUBSCRIPTIONS_MAX        1000

typedef enum
{
  NATTER_FRAME_INVALID = 0,
  /* Both directions */
  NATTER_FRAME_SIGNAL,
  NATTER_FRAME_INVITATIONS,
  NATTER_FRAME_ROOM_MEMBERS,
  NATTER_FRAME_ICE_CONFIG,
  /* Client to server */
  NATTER_FRAME_AUTH,
  NATTER_FRAME_PING,
  NATTER_FRAME_SUBSCRIBE,
  NATTER_FRAME_UNSUBSCRIBE,
  NATTER_FRAME_INVITE,
  NATTER_FRAME_INVITE_ACCEPT,
  NATTER_FRAME_INVITE_DECLINE,
  NATTER_FRAME_HANDLE_REGISTER,
  NATTER_FRAME_HANDLE_LOOKUP,
  NATTER_FRAME_HANDLE_RELEASE,
  NATTER_FRAME_ROOM_JOIN,
  NATTER_FRAME_ROOM_LEAVE,
  /* Server to client */
  NATTER_FRAME_HELLO,
  NATTER_FRAME_AUTH_OK,
  NATTER_FRAME_PONG,
  NATTER_FRAME_PRESENCE_LIST,
  NATTER_FRAME_PRESENCE,
  NATTER_FRAME_INVITE_SENT,
  NATTER_FRAME_INVITATION,
  NATTER_FRAME_INVITATION_ANSWER,
  NATTER_FRAME_HANDLE,
  NATTER_FRAME_ROOM_MEMBER_JOINED,
  NATTER_FRAME_ROOM_MEMBER_LEFT,
  NATTER_FRAME_OK,
  NATTER_FRAME_ERROR,
  NATTER_FRAME_N_TYPES
} NatterFrameType;

typedef enum
{
  NATTER_FRAME_TO_SERVER = 1 << 0,
  NATTER_FRAME_TO_CLIENT = 1 << 1,
} NatterFrameDirection;

typedef struct _NatterFrame NatterFrame;

/* Where the members of a signal frame are in its text; see
 * natter_frame_scan_signal(). Strings are given without their quotes. */
typedef struct
{
  const char *to;
  gsize       to_length;
  const char *payload;
  gsize       payload_length;
  const char *id;
  gsize       id_length;
} NatterSignalScan;

#define NATTER_TYPE_FRAME (natter_frame_get_type ())

GType            natter_frame_get_type            (void) G_GNUC_CONST;

const char      *natter_frame_type_to_string      (NatterFrameType       type);
NatterFrameType  natter_frame_type_from_string    (const char           *name);

NatterFrame     *natter_frame_parse               (const char           *data,
                                                   gsize                 length,
                                                   NatterFrameDirection  direction,
                                                   gsize                 max_size,
                                                   char                **out_ref,
                                                   GError              **error);

gboolean         natter_frame_scan_signal         (const char           *data,
                                                   gsize                 length,
                                                   gsize                 max_size,
                                                   NatterSignalScan     *scan);

NatterFrame     *natter_frame_new                 (NatterFrameType       type);
NatterFrame     *natter_frame_new_error           (NatterProtocolError   code,
                                                   const char           *ref,
                                                   const char           *message);
NatterFrame     *natter_frame_ref                 (NatterFrame          *frame);
void             natter_frame_unref               (NatterFrame          *frame);

NatterFrameType  natter_frame_get_frame_type      (NatterFrame          *frame);
JsonObject      *natter_frame_get_object          (NatterFrame          *frame);
const char      *natter_frame_get_id              (NatterFrame          *frame);
const char      *natter_frame_get_ref             (NatterFrame          *frame);
const char      *natter_frame_get_string          (NatterFrame          *frame,
                                                   const char           *member);
gint64           natter_frame_get_int             (NatterFrame          *frame,
                                                   const char           *member,
                                                   gint64                default_value);
gboolean         natter_frame_get_boolean         (NatterFrame          *frame,
                                                   const char           *member,
                                                   gboolean              default_value);
JsonArray       *natter_frame_get_array           (NatterFrame          *frame,
                                                   const char           *member);
JsonObject      *natter_frame_get_object_member   (NatterFrame          *frame,
                                                   const char           *member);
gboolean         natter_frame_get_error           (NatterFrame          *frame,
                                                   NatterProtocolError  *code,
                                                   const char          **message);

void             natter_frame_set_id              (NatterFrame          *frame,
                                                   const char           *id);
void             natter_frame_set_ref             (NatterFrame          *frame,
                                                   const char           *ref);
void             natter_frame_set_string          (NatterFrame          *frame,
                                                   const char           *member,
                                                   const char           *value);
void             natter_frame_set_int             (NatterFrame          *frame,
                                                   const char           *member,
                                                   gint64                value);
void             natter_frame_set_boolean         (NatterFrame          *frame,
                                                   const char           *member,
                                                   gboolean              value);
void             natter_frame_take_object_member  (NatterFrame          *frame,
                                                   const char           *member,
                                                   JsonObject           *value);
void             natter_frame_take_array          (NatterFrame          *frame,
                                                   const char           *member,
                                                   JsonArray            *value);

char            *natter_frame_to_string           (NatterFrame          *frame,
                                                   gsize                *length);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NatterFrame, natter_frame_unref)

G_END_DECLS
