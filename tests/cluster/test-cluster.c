/* test-cluster.c: several natter-server processes as one service through a real Redis
 *
 * Every test starts a real redis-server on a free port of 127.0.0.1 and
 * two natter-server processes with --cluster pointing at it, and talks to
 * both over real WebSockets: what a client of one server does reaches a
 * client of the other.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "test-cluster"

#include "config.h"

#include <signal.h>
#include <string.h>
#include <sys/prctl.h>

#include "natter-test-client.h"
#include "natter-test-server.h"

#define STR(object, member) json_object_get_string_member_with_default ((object), (member), NULL)
#define HEARTBEAT_S "2"

/* Redis */

typedef struct
{
  GSubprocess *process;
  guint16 port;
  char *url;
} Redis;

static guint16
free_port (void)
{
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                            G_SOCKET_PROTOCOL_TCP, NULL);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;

  g_assert_true (g_socket_bind (socket, address, TRUE, NULL));
  bound = g_socket_get_local_address (socket, NULL);

  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

static gboolean
redis_answers (guint16 port)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) connection = NULL;
  char reply[16] = { 0 };

  connection = g_socket_client_connect_to_host (client, "127.0.0.1", port, NULL, NULL);
  if (connection == NULL)
    return FALSE;

  /* Inline command; the answer is +PONG */
  if (!g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (connection)),
                                  "PING\r\n", 6, NULL, NULL, NULL))
    return FALSE;
  g_input_stream_read (g_io_stream_get_input_stream (G_IO_STREAM (connection)), reply,
                       sizeof reply - 1, NULL, NULL);

  return g_str_has_prefix (reply, "+PONG");
}

static void
die_with_parent (gpointer data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

static void
redis_start (Redis *redis)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autofree char *port = g_strdup_printf ("%u", redis->port);
  g_autoptr(GError) error = NULL;
  gint64 deadline = g_get_monotonic_time () + natter_test_timeout_ms (10000) * G_TIME_SPAN_MILLISECOND;

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  /* Gone with the test, even when an assertion aborts it */
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  redis->process = g_subprocess_launcher_spawn (launcher, &error, "redis-server",
                                                "--port", port, "--bind", "127.0.0.1",
                                                "--save", "", "--appendonly", "no", NULL);
  g_assert_no_error (error);

  while (!redis_answers (redis->port))
    {
      if (g_get_monotonic_time () > deadline)
        natter_test_fail ("redis-server did not answer on port %u", redis->port);
      natter_test_sleep_ms (50);
    }
}

static void
redis_stop (Redis *redis)
{
  if (redis->process == NULL)
    return;

  g_subprocess_force_exit (redis->process);
  g_subprocess_wait (redis->process, NULL, NULL);
  g_clear_object (&redis->process);
}

static Redis *
redis_new (void)
{
  Redis *redis = g_new0 (Redis, 1);

  redis->port = free_port ();
  redis->url = g_strdup_printf ("redis://127.0.0.1:%u", redis->port);
  redis_start (redis);

  return redis;
}

static void
redis_free (Redis *redis)
{
  redis_stop (redis);
  g_free (redis->url);
  g_free (redis);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Redis, redis_free)

static NatterTestServer *
cluster_server_new (Redis *redis)
{
  return natter_test_server_new ("--cluster", redis->url, "--heartbeat-interval", HEARTBEAT_S,
                                 NULL);
}

static NatterTestServer *
cluster_server_new_with_room_limit (Redis      *redis,
                                    const char *max_members)
{
  return natter_test_server_new ("--cluster", redis->url, "--heartbeat-interval", HEARTBEAT_S,
                                 "--max-room-members", max_members, NULL);
}

/* Helpers */

static gboolean
presence_online (JsonObject *presence_list,
                 const char *user)
{
  JsonArray *presence = json_object_get_array_member (presence_list, "presence");

  g_assert_nonnull (presence);
  for (guint i = 0; i < json_array_get_length (presence); i++)
    {
      JsonObject *entry = json_array_get_object_element (presence, i);

      if (g_strcmp0 (STR (entry, "user"), user) == 0)
        return json_object_get_boolean_member (entry, "online");
    }

  natter_test_fail ("%s is missing from presence-list", user);
}

static gboolean
subscribe (NatterTestClient *client,
           NatterTestClient *user)
{
  g_autoptr(JsonObject) list = natter_test_client_request (
    client, "{'type':'subscribe','id':'sub','users':['%s']}", natter_test_client_get_user (user));

  g_assert_cmpstr (STR (list, "type"), ==, "presence-list");
  return presence_online (list, natter_test_client_get_user (user));
}

static void
expect_presence (NatterTestClient *client,
                 NatterTestClient *user,
                 gboolean          online)
{
  g_autoptr(JsonObject) presence = natter_test_client_wait (client, "presence");

  g_assert_cmpstr (STR (presence, "user"), ==, natter_test_client_get_user (user));
  g_assert_true (json_object_get_boolean_member (presence, "online") == online);
}

/* Subscribes and waits until @user is online: a sign-in on another
 * server reaches this one a moment later. */
static void
subscribe_online (NatterTestClient *client,
                  NatterTestClient *user)
{
  if (!subscribe (client, user))
    expect_presence (client, user, TRUE);
}

static void
expect_signal (NatterTestClient *to,
               NatterTestClient *from,
               guint             n)
{
  g_autoptr(JsonObject) signal = natter_test_client_wait (to, "signal");
  JsonObject *payload = json_object_get_object_member (signal, "payload");

  g_assert_cmpstr (STR (signal, "from"), ==, natter_test_client_get_user (from));
  g_assert_cmpint (json_object_get_int_member (payload, "n"), ==, n);
}

static void
expect_handle (NatterTestClient *client,
               const char       *request,
               const char       *handle,
               NatterTestClient *owner)
{
  g_autoptr(JsonObject) reply = natter_test_client_request (
    client, "{'type':'handle-%s','id':'handle','handle':'%s'}", request, handle);

  g_assert_cmpstr (STR (reply, "type"), ==, "handle");
  g_assert_cmpstr (STR (reply, "handle"), ==, handle);
  g_assert_cmpstr (STR (reply, "user"), ==, natter_test_client_get_user (owner));
}

static void
expect_handle_error (NatterTestClient *client,
                     const char       *request,
                     const char       *handle,
                     const char       *code)
{
  natter_test_client_request_error (client, code,
                                    "{'type':'handle-%s','id':'handle','handle':'%s'}",
                                    request, handle);
}

/* Tests */

/* Presence and the relay between clients of two servers. */
static void
test_presence_and_relay (void)
{
  g_autoptr(Redis) redis = redis_new ();
  g_autoptr(NatterTestServer) one = cluster_server_new (redis);
  g_autoptr(NatterTestServer) two = cluster_server_new (redis);
  g_autoptr(NatterTestClient) alice = natter_test_client_new_authenticated (one);
  g_autoptr(NatterTestClient) bob = natter_test_client_new (two);
  g_autoptr(JsonObject) auth_ok = NULL;

  g_assert_false (subscribe (alice, bob));
  auth_ok = natter_test_client_authenticate (bob);
  expect_presence (alice, bob, TRUE);
  /* A server that just started may not know the others' users yet; it
   * tells its clients as soon as it does. */
  subscribe_online (bob, alice);

  natter_test_client_send (alice, "{'type':'signal','to':'%s','payload':{'n':1}}",
                           natter_test_client_get_user (bob));
  expect_signal (bob, alice, 1);
  natter_test_client_send (bob, "{'type':'signal','to':'%s','payload':{'n':2}}",
                           natter_test_client_get_user (alice));
  expect_signal (alice, bob, 2);

  natter_test_client_close (bob);
  expect_presence (alice, bob, FALSE);
}

/* The same user signs in on the second server: the first closes its older
 * connection with `replaced`, and its watchers see no flap. */
static void
test_replaced (void)
{
  g_autoptr(Redis) redis = redis_new ();
  g_autoptr(NatterTestServer) one = cluster_server_new (redis);
  g_autoptr(NatterTestServer) two = cluster_server_new (redis);
  g_autoptr(NatterTestClient) watcher = natter_test_client_new_authenticated (one);
  g_autoptr(NatterTestClient) older = natter_test_client_new_authenticated (one);
  g_autoptr(NatterTestClient) newer = natter_test_client_new_same_user_on (older, two);
  g_autoptr(NatterTestClient) peer = natter_test_client_new_authenticated (one);
  g_autoptr(JsonObject) auth_ok = NULL;

  g_assert_true (subscribe (watcher, older));   /* both here */
  auth_ok = natter_test_client_authenticate (newer);
  natter_test_client_expect_error (older, "replaced", NULL);
  g_assert_cmpuint (natter_test_client_wait_closed (older), ==, 4002);
  natter_test_client_ping (watcher);
  natter_test_client_assert_no_frame (watcher, "presence", 500);

  /* And the relay finds the user where it is now. */
  natter_test_client_send (peer, "{'type':'signal','to':'%s','payload':{'n':3}}",
                           natter_test_client_get_user (newer));
  expect_signal (newer, peer, 3);
}

/* A server dies without a word: within a heartbeat its users are offline
 * for the others, and they come back through another server. */
static void
test_server_killed (void)
{
  g_autoptr(Redis) redis = redis_new ();
  g_autoptr(NatterTestServer) one = cluster_server_new (redis);
  g_autoptr(NatterTestServer) two = cluster_server_new (redis);
  g_autoptr(NatterTestClient) alice = natter_test_client_new_authenticated (one);
  g_autoptr(NatterTestClient) bob = natter_test_client_new_authenticated (two);
  g_autoptr(NatterTestClient) bob_again = NULL;
  g_autoptr(JsonObject) auth_ok = NULL;
  gint64 killed;

  subscribe_online (alice, bob);

  natter_test_server_kill (two);
  killed = g_get_monotonic_time ();
  expect_presence (alice, bob, FALSE);
  g_test_message ("offline for the others %.1f s after the kill (heartbeat %s s)",
                  (g_get_monotonic_time () - killed) / 1e6, HEARTBEAT_S);

  /* The client reconnects; the load balancer sends it to the live one. */
  bob_again = natter_test_client_new_same_user_on (bob, one);
  auth_ok = natter_test_client_authenticate (bob_again);
  expect_presence (alice, bob, TRUE);
}

/* Redis restarts, empty: the servers reconnect and announce their users
 * again; nobody is shown offline who is not, nor online who is not. */
static void
test_redis_restart (void)
{
  g_autoptr(Redis) redis = redis_new ();
  g_autoptr(NatterTestServer) one = cluster_server_new (redis);
  g_autoptr(NatterTestServer) two = cluster_server_new (redis);
  g_autoptr(NatterTestClient) alice = natter_test_client_new_authenticated (one);
  g_autoptr(NatterTestClient) bob = natter_test_client_new_authenticated (two);
  g_autoptr(NatterTestClient) carol = NULL;
  g_autoptr(JsonObject) auth_ok = NULL;
  gint64 deadline;

  subscribe_online (alice, bob);

  redis_stop (redis);
  redis_start (redis);

  /* Once both servers are back, a newcomer on one is seen from the other. */
  carol = natter_test_client_new (two);
  deadline = g_get_monotonic_time () + natter_test_timeout_ms (15000) * G_TIME_SPAN_MILLISECOND;
  while (!redis_answers (redis->port) && g_get_monotonic_time () < deadline)
    natter_test_sleep_ms (100);
  natter_test_sleep_ms (1500);   /* the servers retry once a second */
  g_assert_false (subscribe (alice, carol));
  auth_ok = natter_test_client_authenticate (carol);
  expect_presence (alice, carol, TRUE);

  /* Bob never went: no offline came before carol's online (the wait above
   * takes the next presence frame), none after, and he is online still. */
  natter_test_client_assert_no_frame (alice, "presence", 1000);
  g_assert_true (subscribe (alice, bob));
  natter_test_client_send (alice, "{'type':'signal','to':'%s','payload':{'n':4}}",
                           natter_test_client_get_user (bob));
  expect_signal (bob, alice, 4);
}

/* The members a client was told of, in its room-members replies and
 * room-member-joined events. */
static GHashTable *
known_members (NatterTestClient *client)
{
  GHashTable *known = g_object_get_data (G_OBJECT (client), "known-members");

  if (known == NULL)
    {
      known = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
      g_object_set_data_full (G_OBJECT (client), "known-members", known,
                              (GDestroyNotify) g_hash_table_unref);
    }

  return known;
}

static void
learn_members (NatterTestClient *client,
               JsonObject       *members)
{
  JsonArray *list = json_object_get_array_member (members, "members");

  for (guint i = 0; i < json_array_get_length (list); i++)
    g_hash_table_add (known_members (client), g_strdup (json_array_get_string_element (list, i)));
}

/* Waits for @user's event. With several workers, a member who joins on
 * another server while this client joins may come both in the client's
 * member list and as an event (the two are made on different threads):
 * such a repeated room-member-joined is let through, nothing else. */
static void
expect_room_event (NatterTestClient *client,
                   const char       *type,
                   const char       *room,
                   NatterTestClient *user)
{
  const char *expected = natter_test_client_get_user (user);

  for (;;)
    {
      g_autoptr(JsonObject) event = natter_test_client_wait (client, type);
      const char *named = STR (event, "user");

      g_assert_cmpstr (STR (event, "room"), ==, room);
      if (g_strcmp0 (named, expected) == 0)
        break;

      g_assert_cmpstr (type, ==, "room-member-joined");
      if (!g_hash_table_contains (known_members (client), named))
        g_assert_cmpstr (named, ==, expected);
      g_test_message ("a repeated room-member-joined for a member already listed");
    }

  if (g_str_equal (type, "room-member-joined"))
    g_hash_table_add (known_members (client), g_strdup (expected));
}

static guint
room_join (NatterTestClient *client,
           const char       *room)
{
  g_autoptr(JsonObject) members = natter_test_client_request (
    client, "{'type':'room-join','id':'join','room':'%s'}", room);

  g_assert_cmpstr (STR (members, "type"), ==, "room-members");
  learn_members (client, members);
  return json_array_get_length (json_object_get_array_member (members, "members"));
}

/* Joins, then waits until the room has @n members: joins through another
 * server reach this one a moment later. */
static void
room_join_expect (NatterTestClient *client,
                  const char       *room,
                  guint             n)
{
  gint64 deadline = g_get_monotonic_time () +
                    natter_test_timeout_ms (10000) * G_TIME_SPAN_MILLISECOND;
  guint first = room_join (client, room);
  guint found = first;

  while (found < n && g_get_monotonic_time () < deadline)
    {
      g_autoptr(JsonObject) members = NULL;

      natter_test_sleep_ms (50);
      members = natter_test_client_request (
        client, "{'type':'room-members','id':'members','room':'%s'}", room);
      found = json_array_get_length (json_object_get_array_member (members, "members"));
    }
  g_assert_cmpuint (found, ==, n);

  /* Those who were not in the first list came as events. */
  for (guint i = first; i < n; i++)
    {
      g_autoptr(JsonObject) event = natter_test_client_wait (client, "room-member-joined");

      g_hash_table_add (known_members (client), g_strdup (STR (event, "user")));
    }
}

/* One room, members on both servers: each sees the others come and go,
 * and the member list has them all. */
static void
test_room (void)
{
  g_autoptr(Redis) redis = redis_new ();
  g_autoptr(NatterTestServer) one = cluster_server_new (redis);
  g_autoptr(NatterTestServer) two = cluster_server_new (redis);
  g_autoptr(NatterTestClient) ana = natter_test_client_new_authenticated (one);
  g_autoptr(NatterTestClient) bob = natter_test_client_new_authenticated (two);
  g_autoptr(NatterTestClient) cat = natter_test_client_new_authenticated (one);

  room_join_expect (ana, "lobby", 1);
  room_join_expect (bob, "lobby", 2);
  expect_room_event (ana, "room-member-joined", "lobby", bob);
  room_join_expect (cat, "lobby", 3);
  expect_room_event (ana, "room-member-joined", "lobby", cat);
  expect_room_event (bob, "room-member-joined", "lobby", cat);

  natter_test_client_close (bob);
  expect_room_event (ana, "room-member-left", "lobby", bob);
  expect_room_event (cat, "room-member-left", "lobby", bob);
}

/* A room's limit counts its members on every server. */
static void
test_room_limit (void)
{
  g_autoptr(Redis) redis = redis_new ();
  g_autoptr(NatterTestServer) one = cluster_server_new_with_room_limit (redis, "3");
  g_autoptr(NatterTestServer) two = cluster_server_new_with_room_limit (redis, "3");
  g_autoptr(NatterTestClient) ana = natter_test_client_new_authenticated (one);
  g_autoptr(NatterTestClient) cat = natter_test_client_new_authenticated (one);
  g_autoptr(NatterTestClient) bob = natter_test_client_new_authenticated (two);
  g_autoptr(NatterTestClient) dan = natter_test_client_new_authenticated (two);
  g_autoptr(JsonObject) refused = NULL;

  room_join_expect (ana, "small", 1);
  room_join_expect (cat, "small", 2);
  room_join_expect (bob, "small", 3);

  /* Only one member is on dan's server: the other two count as well. */
  natter_test_client_send (dan, "{'type':'room-join','id':'late','room':'small'}");
  refused = natter_test_client_wait_ref (dan, "late");
  g_assert_cmpstr (STR (refused, "code"), ==, "limit-exceeded");

  /* One leaves on the other server: there is room again. */
  natter_test_client_close (ana);
  expect_room_event (bob, "room-member-left", "small", ana);
  room_join_expect (dan, "small", 3);
}

/* Handles are the cluster's: claimed once only, whichever server the
 * claims come through, and found from every server. */
static void
test_handles (void)
{
  g_autoptr(Redis) redis = redis_new ();
  g_autoptr(NatterTestServer) one = cluster_server_new (redis);
  g_autoptr(NatterTestServer) two = cluster_server_new (redis);
  g_autoptr(NatterTestClient) ana = natter_test_client_new_authenticated (one);
  g_autoptr(NatterTestClient) bob = natter_test_client_new_authenticated (two);
  guint won = 0;

  expect_handle (ana, "register", "ana", ana);
  expect_handle (bob, "lookup", "ana", ana);
  expect_handle_error (bob, "register", "ana", "handle-taken");
  expect_handle_error (bob, "release", "ana", "not-owner");
  expect_handle_error (ana, "lookup", "nobody-here", "not-found");

  /* A new handle releases the old one, on every server. */
  expect_handle (ana, "register", "ana_2", ana);
  expect_handle_error (bob, "lookup", "ana", "not-found");
  expect_handle (bob, "register", "ana", bob);
  expect_handle (ana, "lookup", "ana", bob);

  /* Both claim one at once, through different servers: one wins. */
  natter_test_client_send (ana, "{'type':'handle-register','id':'race','handle':'race'}");
  natter_test_client_send (bob, "{'type':'handle-register','id':'race','handle':'race'}");
  for (guint i = 0; i < 2; i++)
    {
      NatterTestClient *client = i == 0 ? ana : bob;
      g_autoptr(JsonObject) reply = natter_test_client_wait_ref (client, "race");

      if (g_strcmp0 (STR (reply, "type"), "handle") == 0)
        won++;
      else
        g_assert_cmpstr (STR (reply, "code"), ==, "handle-taken");
    }
  g_assert_cmpuint (won, ==, 1);
}

/* Waits for @n presence frames, in any order: each names one of @users
 * going to @online. */
static void
expect_presence_of (NatterTestClient  *client,
                    NatterTestClient **users,
                    guint              n,
                    gboolean           online)
{
  g_autoptr(GHashTable) expected = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint i = 0; i < n; i++)
    g_hash_table_add (expected, (gpointer) natter_test_client_get_user (users[i]));

  while (g_hash_table_size (expected) > 0)
    {
      g_autoptr(JsonObject) presence = natter_test_client_wait (client, "presence");

      g_assert_true (json_object_get_boolean_member (presence, "online") == online);
      g_assert_true (g_hash_table_remove (expected, STR (presence, "user")));
    }
}

#define N_SERVERS 3
#define N_PER_SERVER 4
#define N_CLIENTS (N_SERVERS * N_PER_SERVER)

/* Three servers, four users on each (on several workers of each server in
 * the cluster-workers run): everybody sees everybody, the relay reaches
 * users on other servers and on other workers of the same one, a room
 * holds them all, a handle is claimed once through three servers at once,
 * and when one server dies only its users go offline, for all the others. */
static void
test_three_servers (void)
{
  g_autoptr(Redis) redis = redis_new ();
  NatterTestServer *servers[N_SERVERS];
  NatterTestClient *clients[N_CLIENTS];
  NatterTestClient *killed[N_PER_SERVER];
  guint won = 0;

  for (guint i = 0; i < N_SERVERS; i++)
    servers[i] = cluster_server_new (redis);
  for (guint i = 0; i < N_CLIENTS; i++)
    clients[i] = natter_test_client_new_authenticated (servers[i % N_SERVERS]);

  for (guint i = 0; i < N_CLIENTS; i++)
    for (guint j = 0; j < N_CLIENTS; j++)
      if (i != j)
        subscribe_online (clients[i], clients[j]);

  /* The next one is on another server; the one three further on the same
   * server, often on another of its workers. */
  for (guint step = 1; step <= N_SERVERS; step += N_SERVERS - 1)
    {
      for (guint i = 0; i < N_CLIENTS; i++)
        natter_test_client_send (clients[i], "{'type':'signal','to':'%s','payload':{'n':%u}}",
                                 natter_test_client_get_user (clients[(i + step) % N_CLIENTS]),
                                 100 * step + i);
      for (guint i = 0; i < N_CLIENTS; i++)
        {
          guint from = (i + N_CLIENTS - step) % N_CLIENTS;

          expect_signal (clients[i], clients[from], 100 * step + from);
        }
    }

  for (guint i = 0; i < N_CLIENTS; i++)
    room_join_expect (clients[i], "hall", i + 1);

  for (guint i = 0; i < N_SERVERS; i++)
    natter_test_client_send (clients[i], "{'type':'handle-register','id':'race','handle':'hall'}");
  for (guint i = 0; i < N_SERVERS; i++)
    {
      g_autoptr(JsonObject) reply = natter_test_client_wait_ref (clients[i], "race");

      if (g_strcmp0 (STR (reply, "type"), "handle") == 0)
        won++;
      else
        g_assert_cmpstr (STR (reply, "code"), ==, "handle-taken");
    }
  g_assert_cmpuint (won, ==, 1);

  /* The third server dies: its users, and only they, go offline for each
   * of the others. */
  natter_test_server_kill (servers[2]);
  for (guint i = 0; i < N_PER_SERVER; i++)
    killed[i] = clients[i * N_SERVERS + 2];
  for (guint i = 0; i < N_CLIENTS; i++)
    if (i % N_SERVERS != 2)
      expect_presence_of (clients[i], killed, N_PER_SERVER, FALSE);
  for (guint i = 0; i < N_CLIENTS; i++)
    if (i % N_SERVERS != 2)
      natter_test_client_assert_no_frame (clients[i], "presence", 200);

  for (guint i = 0; i < N_CLIENTS; i++)
    g_object_unref (clients[i]);
  for (guint i = 0; i < N_SERVERS; i++)
    g_object_unref (servers[i]);
}

/* Invitations */

static char *
send_invite (NatterTestClient *from,
             NatterTestClient *to,
             const char       *text)
{
  g_autoptr(JsonObject) sent = natter_test_client_request (
    from, "{'type':'invite','id':'inv','to':'%s','text':'%s','name':'Someone'}",
    natter_test_client_get_user (to), text);
  JsonObject *invitation = json_object_get_object_member (sent, "invitation");

  g_assert_cmpstr (STR (sent, "type"), ==, "invite-sent");
  g_assert_cmpstr (STR (invitation, "from"), ==, natter_test_client_get_user (from));
  g_assert_cmpstr (STR (invitation, "text"), ==, text);
  return g_strdup (STR (invitation, "id"));
}

/* The next invitation frame of @type reaching @client: its id, text and
 * status. */
static void
expect_invitation_frame (NatterTestClient *client,
                         const char       *type,
                         const char       *id,
                         const char       *text,
                         const char       *status)
{
  g_autoptr(JsonObject) frame = natter_test_client_wait (client, type);
  JsonObject *invitation = json_object_get_object_member (frame, "invitation");

  g_assert_cmpstr (STR (invitation, "id"), ==, id);
  g_assert_cmpstr (STR (invitation, "status"), ==, status);
  g_assert_cmpstr (STR (invitation, "from_name"), ==, "Someone");
  if (text != NULL)
    g_assert_cmpstr (STR (invitation, "text"), ==, text);
}

/* Whether @id is in the @which ("incoming", "outgoing") list of @client. */
static gboolean
listed (NatterTestClient *client,
        const char       *which,
        const char       *id)
{
  g_autoptr(JsonObject) list = natter_test_client_request (client,
                                                           "{'type':'invitations','id':'ls'}");
  JsonArray *entries = json_object_get_array_member (list, which);

  g_assert_cmpstr (STR (list, "type"), ==, "invitations");
  for (guint i = 0; i < json_array_get_length (entries); i++)
    if (g_strcmp0 (STR (json_array_get_object_element (entries, i), "id"), id) == 0)
      return TRUE;

  return FALSE;
}

static void
answer (NatterTestClient *client,
        const char       *verb,
        const char       *id)
{
  g_autoptr(JsonObject) ok = natter_test_client_request (
    client, "{'type':'invite-%s','id':'ans','invitation':'%s'}", verb, id);

  g_assert_cmpstr (STR (ok, "type"), ==, "ok");
}

/* Invitations are the cluster's: made through one server, they reach the
 * invited through another, now or when they come back (to any server),
 * and so do the answers; inviting again updates the pending one; the
 * limits hold for the cluster. */
static void
test_invitations (void)
{
  g_autoptr(Redis) redis = redis_new ();
  g_autoptr(NatterTestServer) one = natter_test_server_new (
    "--cluster", redis->url, "--heartbeat-interval", HEARTBEAT_S,
    "--max-invitations-per-recipient", "2", NULL);
  g_autoptr(NatterTestServer) two = natter_test_server_new (
    "--cluster", redis->url, "--heartbeat-interval", HEARTBEAT_S,
    "--max-invitations-per-recipient", "2", NULL);
  g_autoptr(NatterTestClient) ana = natter_test_client_new_authenticated (one);
  g_autoptr(NatterTestClient) bob = natter_test_client_new (two);
  g_autoptr(NatterTestClient) cat = natter_test_client_new_authenticated (two);
  g_autoptr(NatterTestClient) dan = natter_test_client_new_authenticated (one);
  g_autoptr(NatterTestClient) cat_on_one = NULL;
  g_autoptr(JsonObject) auth_ok = NULL;
  g_autofree char *to_bob = NULL;
  g_autofree char *again = NULL;
  g_autofree char *to_ana = NULL;

  /* Bob is offline: his invitation waits, and an update keeps its id. */
  to_bob = send_invite (ana, bob, "Hi Bob");
  again = send_invite (ana, bob, "Hi Bob, it is Ana");
  g_assert_cmpstr (again, ==, to_bob);
  g_assert_true (listed (ana, "outgoing", to_bob));

  /* He signs in through the other server and gets it. */
  auth_ok = natter_test_client_authenticate (bob);
  expect_invitation_frame (bob, "invitation", to_bob, "Hi Bob, it is Ana", "pending");
  g_assert_true (listed (bob, "incoming", to_bob));

  /* He accepts there; Ana, online on the first, hears at once. */
  answer (bob, "accept", to_bob);
  expect_invitation_frame (ana, "invitation-answer", to_bob, NULL, "accepted");
  g_assert_false (listed (bob, "incoming", to_bob));
  g_assert_false (listed (ana, "outgoing", to_bob));
  natter_test_client_request_error (bob, "not-found",
                                    "{'type':'invite-accept','id':'x','invitation':'%s'}", to_bob);

  /* Cat, on the second, invites Ana, online on the first: it comes at
   * once. Ana declines while Cat is away; Cat hears when back, on the
   * first server this time, and only once. */
  to_ana = send_invite (cat, ana, "Hello Ana");
  expect_invitation_frame (ana, "invitation", to_ana, "Hello Ana", "pending");
  natter_test_client_close (cat);
  answer (ana, "decline", to_ana);
  cat_on_one = natter_test_client_new_same_user_on (cat, one);
  g_clear_pointer (&auth_ok, json_object_unref);
  auth_ok = natter_test_client_authenticate (cat_on_one);
  expect_invitation_frame (cat_on_one, "invitation-answer", to_ana, NULL, "declined");
  natter_test_client_close (cat_on_one);
  g_clear_object (&cat_on_one);
  cat_on_one = natter_test_client_new_same_user_on (cat, one);
  g_clear_pointer (&auth_ok, json_object_unref);
  auth_ok = natter_test_client_authenticate (cat_on_one);
  natter_test_client_ping (cat_on_one);
  natter_test_client_assert_no_frame (cat_on_one, "invitation-answer", 500);

  /* Two pending invitations for Bob, sent through two servers, fill his
   * quota of two; a third is refused with the limit in words. */
  g_free (send_invite (ana, bob, "One"));
  g_free (send_invite (cat_on_one, bob, "Two"));
  natter_test_client_send (dan, "{'type':'invite','id':'full','to':'%s','text':'Three'}",
                           natter_test_client_get_user (bob));
  {
    g_autoptr(JsonObject) refused = natter_test_client_wait_ref (dan, "full");

    g_assert_cmpstr (STR (refused, "code"), ==, "recipient-full");
    g_assert_nonnull (strstr (STR (refused, "message"), "2 pending invitations"));
  }
}

typedef struct
{
  const char *path;
  void (*func) (void);
} ClusterTest;

static const ClusterTest tests[] = {
  { "/cluster/presence-and-relay", test_presence_and_relay },
  { "/cluster/replaced", test_replaced },
  { "/cluster/handles", test_handles },
  { "/cluster/room", test_room },
  { "/cluster/room-limit", test_room_limit },
  { "/cluster/server-killed", test_server_killed },
  { "/cluster/redis-restart", test_redis_restart },
  { "/cluster/three-servers", test_three_servers },
  { "/cluster/invitations", test_invitations },
};

static void
run_test (gconstpointer data)
{
  const ClusterTest *test = data;
  g_autofree char *redis = g_find_program_in_path ("redis-server");

  if (!natter_test_server_available ())
    {
      g_test_skip ("NATTER_SERVER does not name an executable: natter-server is not built");
      return;
    }
  if (redis == NULL)
    {
      g_test_skip ("redis-server is not installed (build-aux/dev deps installs it)");
      return;
    }

  test->func ();
}

static void
drop_log (const char     *domain,
          GLogLevelFlags  level,
          const char     *message,
          gpointer        user_data)
{
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  /* In TAP mode GTest prints every debug message; libsoup's frame by
   * frame output would drown the log. */
  if (g_getenv ("G_MESSAGES_DEBUG") == NULL)
    {
      const char *domains[] = { "libsoup", "GLib-GIO", "GLib-Net" };

      for (guint i = 0; i < G_N_ELEMENTS (domains); i++)
        g_log_set_handler (domains[i], G_LOG_LEVEL_DEBUG | G_LOG_LEVEL_INFO, drop_log, NULL);
    }
  g_assert_true (natter_protocol_init ());
  for (guint i = 0; i < G_N_ELEMENTS (tests); i++)
    g_test_add_data_func (tests[i].path, &tests[i], run_test);

  return g_test_run ();
}
