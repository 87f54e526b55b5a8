/* natter-protocol-error.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "natter-protocol"

#include "config.h"

#include "natter-protocol-error.h"

/* Wire names, indexed by NatterProtocolError. */
static const char * const error_codes[NATTER_PROTOCOL_N_ERRORS] = {
  [NATTER_PROTOCOL_ERROR_BAD_JSON] = "bad-json",
  [NATTER_PROTOCOL_ERROR_BAD_FRAME] = "bad-frame",
  [NATTER_PROTOCOL_ERROR_UNKNOWN_TYPE] = "unknown-type",
  [NATTER_PROTOCOL_ERROR_FRAME_TOO_LARGE] = "frame-too-large",
  [NATTER_PROTOCOL_ERROR_BINARY_FRAME] = "binary-frame",
  [NATTER_PROTOCOL_ERROR_NOT_AUTHENTICATED] = "not-authenticated",
  [NATTER_PROTOCOL_ERROR_ALREADY_AUTHENTICATED] = "already-authenticated",
  [NATTER_PROTOCOL_ERROR_AUTH_FAILED] = "auth-failed",
  [NATTER_PROTOCOL_ERROR_AUTH_TIMEOUT] = "auth-timeout",
  [NATTER_PROTOCOL_ERROR_REPLACED] = "replaced",
  [NATTER_PROTOCOL_ERROR_RATE_LIMITED] = "rate-limited",
  [NATTER_PROTOCOL_ERROR_SERVER_FULL] = "server-full",
  [NATTER_PROTOCOL_ERROR_SHUTTING_DOWN] = "shutting-down",
  [NATTER_PROTOCOL_ERROR_PEER_OFFLINE] = "peer-offline",
  [NATTER_PROTOCOL_ERROR_INVALID_TARGET] = "invalid-target",
  [NATTER_PROTOCOL_ERROR_INVALID_USER] = "invalid-user",
  [NATTER_PROTOCOL_ERROR_INVALID_HANDLE] = "invalid-handle",
  [NATTER_PROTOCOL_ERROR_INVALID_ROOM] = "invalid-room",
  [NATTER_PROTOCOL_ERROR_HANDLE_TAKEN] = "handle-taken",
  [NATTER_PROTOCOL_ERROR_NOT_OWNER] = "not-owner",
  [NATTER_PROTOCOL_ERROR_NOT_FOUND] = "not-found",
  [NATTER_PROTOCOL_ERROR_NOT_IN_ROOM] = "not-in-room",
  [NATTER_PROTOCOL_ERROR_LIMIT_EXCEEDED] = "limit-exceeded",
  [NATTER_PROTOCOL_ERROR_PEER_SLOW] = "peer-slow",
  [NATTER_PROTOCOL_ERROR_RECIPIENT_FULL] = "recipient-full",
  [NATTER_PROTOCOL_ERROR_INTERNAL] = "internal",
};

G_DEFINE_QUARK (natter-protocol-error-quark, natter_protocol_error)

/**
 * natter_protocol_error_to_code:
 * @error: an error
 *
 * Returns: (transfer none): the wire name of @error, such as "peer-offline"
 */
const char *
natter_protocol_error_to_code (NatterProtocolError error)
{
  if ((guint) error >= NATTER_PROTOCOL_N_ERRORS)
    return "internal";

  return error_codes[error];
}

/**
 * natter_protocol_error_from_code:
 * @code: a wire name such as "peer-offline"
 * @error: (out): where to store the error value
 *
 * Returns: %TRUE if @code names an error of the protocol
 */
gboolean
natter_protocol_error_from_code (const char          *code,
                                 NatterProtocolError *error)
{
  g_return_val_if_fail (error != NULL, FALSE);

  if (code == NULL)
    return FALSE;

  for (guint i = 0; i < NATTER_PROTOCOL_N_ERRORS; i++)
    {
      if (g_str_equal (code, error_codes[i]))
        {
          *error = (NatterProtocolError) i;
          return TRUE;
        }
    }

  return FALSE;
}
