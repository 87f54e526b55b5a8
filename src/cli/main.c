/* main.c: natter-cli
 *
 * The commands are a static library (natter-cli-handoff.h), so that the
 * process online on a profile, the app too, runs them for other natter-cli
 * processes.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "natter-cli-private.h"

int
main (int   argc,
      char *argv[])
{
  return natter_cli_main (argc, argv);
}
