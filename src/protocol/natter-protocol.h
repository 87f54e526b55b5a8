/* natter-protocol.h: the wire formats shared by natter-server and its clients
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "natter-envelope.h"
#include "natter-frame.h"
#include "natter-ice-servers.h"
#include "natter-json.h"
#include "natter-protocol-error.h"
#include "natter-signature.h"
#include "natter-turn.h"
#include "natter-user-id.h"
