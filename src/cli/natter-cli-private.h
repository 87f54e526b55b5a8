/* natter-cli-private.h: what natter-cli's files share
 *
 * main.c                main(): the rest is a library the app links as well
 * natter-cli.c          the command line, the table of commands
 * natter-cli-session.c  what every command uses: the profile, going online, waiting
 * natter-cli-control.c  the hand-off between processes of one profile
 * natter-cli-profile.c  whoami, profile
 * natter-cli-contacts.c contacts, rename, block, unblock, safety-number
 * natter-cli-messages.c send, typing, read, history
 * natter-cli-invitations.c invite, invitations, accept, decline, register-handle, lookup
 * natter-cli-rooms.c    room
 * natter-cli-listen.c   listen: events as JSON lines
 * natter-cli-backup.c   backup, restore-backup
 * natter-cli-files.c    send-file, transfers, accept-file, decline-file, resume, cancel; transfer
 *                       events for listen
 * natter-cli-nearby.c   nearby, connect: LAN mode, with no server
 * natter-cli-calls.c    call, calls, and the calls listen prints and answers
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <stdio.h>

#include <glib.h>

#include "natter-client.h"
#include "natter-control.h"
#include "natter-lan.h"
#include "natter-profile.h"
#include "natter-protocol.h"

G_BEGIN_DECLS

#define ONLINE_TIMEOUT_S  20
#define REQUEST_WAIT_S    20

typedef struct
{
  /* Options */
  char         *profile_name;
  char         *server;
  char         *identity_file;
  gboolean      loopback;
  gboolean      nearby;
  gboolean      no_wait;
  gboolean      json;
  gboolean      auto_accept;
  gboolean      mark_read;
  char         *search;
  char         *reply_to;
  char         *expect;
  char         *name;
  char         *bio;
  char         *avatar;
  char         *auto_accept_files;
  int           limit;
  int           timeout_s;
  gboolean      audio_only;
  gboolean      test_media;
  gboolean      auto_answer;
  gboolean      auto_decline;
  gboolean      relay_only;
  gboolean      mute;
  gboolean      camera_off;
  int           call_duration_s;
  int           ring_timeout_s;

  /* State: the profile, and what it opened (owned by it) */
  NatterProfile *profile;
  NatterIdentity *identity;
  NatterStore  *store;
  NatterClient *client;
  GMainLoop    *loop;
  int           exit_code;

  /* The command waiting for something */
  char         *wait_message_id;
  NatterCall   *waiting_call;
  GAsyncResult *result;

  /* Online on the profile: other natter-cli processes hand their commands here */
  NatterControl *control;
  /* A command handed over by another process: the objects belong to the
   * process that is online, and its input came with the request */
  gboolean      borrowed;
  FILE         *input;
  /* The handing process's working directory, for relative paths */
  char         *cwd;
} Cli;

/* natter-cli.c */
int             natter_cli_main               (int           argc,
                                               char         *argv[]);
GOptionContext *natter_cli_option_context_new (Cli          *cli,
                                               char       ***rest);
int             natter_cli_run_command        (Cli          *cli,
                                               char        **rest);
void            natter_cli_clear              (Cli          *cli);

/* natter-cli-session.c */
gboolean      natter_cli_fail            (Cli          *cli,
                                          const char   *format,
                                          ...) G_GNUC_PRINTF (2, 3);
void          natter_cli_print_event     (JsonObject   *event);
JsonObject   *natter_cli_event_new       (const char   *name);
gboolean      natter_cli_run_until       (gboolean     *done,
                                          int           timeout_s);
void          natter_cli_spin            (guint         ms);
void          natter_cli_on_async_done   (GObject      *source,
                                          GAsyncResult *result,
                                          gpointer      user_data);
GAsyncResult *natter_cli_wait_async      (Cli          *cli);
gboolean      natter_cli_open_profile    (Cli          *cli);
gboolean      natter_cli_open_identity   (Cli          *cli);
gboolean      natter_cli_open_store      (Cli          *cli);
gboolean      natter_cli_open_client     (Cli          *cli);
gboolean      natter_cli_go_online       (Cli          *cli);
NatterFrame  *natter_cli_request         (Cli          *cli,
                                          NatterFrame  *frame);
char         *natter_cli_resolve_contact (Cli          *cli,
                                          const char   *what);
gboolean      natter_cli_report_trust_failure (Cli     *cli,
                                              const char *contact_id);
gboolean      natter_cli_wait_for_chat   (Cli          *cli,
                                          const char   *contact_id);

/* natter-cli-control.c */
gboolean      natter_cli_start_control   (Cli          *cli);
gboolean      natter_cli_forward_command (Cli          *cli,
                                          char        **original_args,
                                          char        **rest,
                                          int          *exit_code);

/* natter-cli-nearby.c */
NatterLan    *natter_cli_get_lan          (Cli          *cli);
gboolean      natter_cli_go_online_nearby (Cli          *cli);
void          natter_cli_connect_nearby_listeners (Cli  *cli);

/* natter-cli-listen.c */
void          natter_cli_connect_listeners (Cli        *cli);
void          natter_cli_run_forever       (Cli        *cli);

/* natter-cli-files.c */
gboolean      natter_cli_listen_transfers  (Cli        *cli);
/* natter-cli-calls.c */
void          natter_cli_listen_for_calls  (Cli        *cli);
void          natter_cli_print_call_record (Cli        *cli,
                                            NatterCall *call);

/* The commands: each takes its arguments, returns FALSE on failure */
gboolean natter_cli_cmd_whoami          (Cli *cli, char **args);
gboolean natter_cli_cmd_profile         (Cli *cli, char **args);
gboolean natter_cli_cmd_invite          (Cli *cli, char **args);
gboolean natter_cli_cmd_nearby          (Cli *cli, char **args);
gboolean natter_cli_cmd_connect         (Cli *cli, char **args);
gboolean natter_cli_cmd_invitations     (Cli *cli, char **args);
gboolean natter_cli_cmd_accept          (Cli *cli, char **args);
gboolean natter_cli_cmd_decline         (Cli *cli, char **args);
gboolean natter_cli_cmd_register_handle (Cli *cli, char **args);
gboolean natter_cli_cmd_lookup          (Cli *cli, char **args);
gboolean natter_cli_cmd_contacts        (Cli *cli, char **args);
gboolean natter_cli_cmd_rename          (Cli *cli, char **args);
gboolean natter_cli_cmd_block           (Cli *cli, char **args);
gboolean natter_cli_cmd_unblock         (Cli *cli, char **args);
gboolean natter_cli_cmd_safety_number   (Cli *cli, char **args);
gboolean natter_cli_cmd_send            (Cli *cli, char **args);
gboolean natter_cli_cmd_typing          (Cli *cli, char **args);
gboolean natter_cli_cmd_read            (Cli *cli, char **args);
gboolean natter_cli_cmd_history         (Cli *cli, char **args);
gboolean natter_cli_cmd_listen          (Cli *cli, char **args);
gboolean natter_cli_cmd_room            (Cli *cli, char **args);
gboolean natter_cli_cmd_backup          (Cli *cli, char **args);
gboolean natter_cli_cmd_restore_backup  (Cli *cli, char **args);
gboolean natter_cli_cmd_send_file       (Cli *cli, char **args);
gboolean natter_cli_cmd_transfers       (Cli *cli, char **args);
gboolean natter_cli_cmd_cancel          (Cli *cli, char **args);
gboolean natter_cli_cmd_accept_file     (Cli *cli, char **args);
gboolean natter_cli_cmd_decline_file    (Cli *cli, char **args);
gboolean natter_cli_cmd_resume          (Cli *cli, char **args);
gboolean natter_cli_cmd_call            (Cli *cli, char **args);
gboolean natter_cli_cmd_calls           (Cli *cli, char **args);

G_END_DECLS
