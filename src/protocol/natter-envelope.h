/* natter-envelope.h: what peers send each other on the chat data channel
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <json-glib/json-glib.h>

#include "natter-protocol-error.h"

G_BEGIN_DECLS

/* webrtcbin cannot send data channel messages above 64 KiB */
#define NATTER_ENVELOPE_MAX_SIZE      65536
#define NATTER_MESSAGE_BODY_MAX       32768
/* A message's `ts` outside [2000-01-01, now + 1 day] is not believed */
#define NATTER_MESSAGE_TS_MIN_MS      G_GINT64_CONSTANT (946684800000)
#define NATTER_MESSAGE_TS_AHEAD_MS    G_GINT64_CONSTANT (86400000)
#define NATTER_RECEIPT_IDS_MAX        256
#define NATTER_PROFILE_NAME_MAX       64
#define NATTER_PROFILE_BIO_MAX        280
#define NATTER_AVATAR_MAX_SIZE        (256 * 1024)
/* Raw bytes per avatar envelope; base64 makes 43,692 characters of it */
#define NATTER_AVATAR_CHUNK_SIZE      (32 * 1024)
/* A file offer's name as sent (made safe by the receiver), its MIME type,
 * and the thumbnail of an image, raw bytes before base64 */
#define NATTER_FILE_OFFER_NAME_MAX    1024
#define NATTER_FILE_MIME_MAX          255
#define NATTER_FILE_THUMBNAIL_MAX     (32 * 1024)
/* The label of a transfer's data channel: "file:" ID ":" offset */
#define NATTER_FILE_CHANNEL_PREFIX    "file:"
/* "sha-256 " and 32 bytes as hex pairs joined by ':' */
#define NATTER_FINGERPRINT_MAX        (8 + 32 * 3 - 1)
/* A call's ID: what a browser's crypto.randomUUID() makes fits */
#define NATTER_CALL_ID_MAX            64

typedef enum
{
  NATTER_ENVELOPE_INVALID = 0,
  NATTER_ENVELOPE_MESSAGE,
  NATTER_ENVELOPE_RECEIPT,
  NATTER_ENVELOPE_TYPING,
  NATTER_ENVELOPE_PROFILE,
  NATTER_ENVELOPE_AVATAR,
  NATTER_ENVELOPE_REFUSED,
  NATTER_ENVELOPE_BINDING,
  NATTER_ENVELOPE_FILE_OFFER,
  NATTER_ENVELOPE_FILE_ACCEPT,
  NATTER_ENVELOPE_FILE_DECLINE,
  NATTER_ENVELOPE_FILE_CANCEL,
  NATTER_ENVELOPE_FILE_DONE,
  NATTER_ENVELOPE_FILE_RECEIVED,
  NATTER_ENVELOPE_FILE_RESUME,
  NATTER_ENVELOPE_CALL,
  NATTER_ENVELOPE_N_TYPES
} NatterEnvelopeType;

const char         *natter_envelope_type_to_string (NatterEnvelopeType   type);

JsonObject         *natter_envelope_parse          (const char          *data,
                                                    gsize                length,
                                                    NatterEnvelopeType  *out_type,
                                                    GError             **error);
JsonObject         *natter_envelope_new            (NatterEnvelopeType   type);
char               *natter_envelope_to_string      (JsonObject          *envelope,
                                                    gsize               *length);

char               *natter_envelope_new_message    (const char          *id,
                                                    gint64               timestamp_ms,
                                                    const char          *body,
                                                    const char          *reply_to,
                                                    gsize               *length);
char               *natter_envelope_new_receipt    (const char * const  *ids,
                                                    const char          *status,
                                                    gsize               *length);
char               *natter_envelope_new_typing     (gboolean             active,
                                                    gsize               *length);
char               *natter_envelope_new_refused    (const char          *id,
                                                    const char          *reason,
                                                    gsize               *length);
gboolean            natter_envelope_refusal_is_temporary (const char    *reason);
gboolean            natter_envelope_file_reason_is_known (const char    *reason);
gboolean            natter_envelope_id_is_valid (const char        *call_id);
char               *natter_envelope_new_call       (const char          *call_id,
                                                    const char          *action,
                                                    gsize               *length);

G_END_DECLS
