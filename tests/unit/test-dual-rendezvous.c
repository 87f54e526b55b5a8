/* test-dual-rendezvous.c: a server and the local network together
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Two NatterFakeHubs stand for the server and the local network; each of
 * Alice and Bob has a place on both, behind one NatterDualRendezvous. Alice
 * must see Bob online while either reaches him, send directly while he is
 * nearby and through the server otherwise, and say which.
 */
#include "config.h"

#include "natter-dual-rendezvous.h"
#include "natter-fake-hub.h"
#include "natter-fake-rendezvous.h"

typedef struct
{
  NatterFakeHub        *server_hub;
  NatterFakeHub        *nearby_hub;
  NatterFakeRendezvous *alice_server;
  NatterFakeRendezvous *alice_nearby;
  NatterFakeRendezvous *bob_server;
  NatterFakeRendezvous *bob_nearby;
  NatterDualRendezvous *alice;
  GPtrArray            *presence;  /* "online" / "offline", as Alice's dual said */
  GPtrArray            *routes;    /* route nicks, as route-changed said */
  guint                 received;  /* payloads Bob's places got */
} Fixture;

static void
on_presence (NatterRendezvous *rendezvous,
             const char       *user_id,
             gboolean          online,
             Fixture          *fixture)
{
  g_assert_cmpstr (user_id, ==, "bob");
  g_ptr_array_add (fixture->presence, online ? "online" : "offline");
}

static void
on_route (NatterDualRendezvous *rendezvous,
          const char           *user_id,
          NatterRoute           route,
          Fixture              *fixture)
{
  g_autoptr(GEnumClass) klass = g_type_class_ref (NATTER_TYPE_ROUTE);

  g_ptr_array_add (fixture->routes, (gpointer) g_enum_get_value (klass, route)->value_nick);
}

static void
on_bob_signal (NatterRendezvous *rendezvous,
               const char       *from,
               JsonObject       *payload,
               Fixture          *fixture)
{
  g_assert_cmpstr (from, ==, "alice");
  fixture->received++;
}

static void
fixture_setup (Fixture       *fixture,
               gconstpointer  data)
{
  const char *watch[] = { "bob", NULL };
  const char *watch_alice[] = { "alice", NULL };

  fixture->server_hub = natter_fake_hub_new ();
  fixture->nearby_hub = natter_fake_hub_new ();
  fixture->alice_server = natter_fake_rendezvous_new (fixture->server_hub, "alice");
  fixture->alice_nearby = natter_fake_rendezvous_new (fixture->nearby_hub, "alice");
  fixture->bob_server = natter_fake_rendezvous_new (fixture->server_hub, "bob");
  fixture->bob_nearby = natter_fake_rendezvous_new (fixture->nearby_hub, "bob");
  fixture->alice = natter_dual_rendezvous_new (NATTER_RENDEZVOUS (fixture->alice_server),
                                               NATTER_RENDEZVOUS (fixture->alice_nearby));
  fixture->presence = g_ptr_array_new ();
  fixture->routes = g_ptr_array_new ();

  g_signal_connect (fixture->alice, "presence-changed", G_CALLBACK (on_presence), fixture);
  g_signal_connect (fixture->alice, "route-changed", G_CALLBACK (on_route), fixture);
  g_signal_connect (fixture->bob_server, "signal-received", G_CALLBACK (on_bob_signal), fixture);
  g_signal_connect (fixture->bob_nearby, "signal-received", G_CALLBACK (on_bob_signal), fixture);

  natter_rendezvous_watch_users (NATTER_RENDEZVOUS (fixture->alice), watch);
  natter_rendezvous_watch_users (NATTER_RENDEZVOUS (fixture->bob_server), watch_alice);
  natter_rendezvous_watch_users (NATTER_RENDEZVOUS (fixture->bob_nearby), watch_alice);
  natter_rendezvous_start (NATTER_RENDEZVOUS (fixture->alice));
}

static void
fixture_teardown (Fixture       *fixture,
                  gconstpointer  data)
{
  g_clear_object (&fixture->alice);
  g_clear_object (&fixture->alice_server);
  g_clear_object (&fixture->alice_nearby);
  g_clear_object (&fixture->bob_server);
  g_clear_object (&fixture->bob_nearby);
  g_clear_object (&fixture->server_hub);
  g_clear_object (&fixture->nearby_hub);
  g_ptr_array_unref (fixture->presence);
  g_ptr_array_unref (fixture->routes);
}

static void
send_one (Fixture *fixture)
{
  g_autoptr(JsonObject) payload = json_object_new ();
  g_autoptr(GError) error = NULL;

  json_object_set_string_member (payload, "type", "offer");
  g_assert_true (natter_rendezvous_send_signal (NATTER_RENDEZVOUS (fixture->alice), "bob",
                                                payload, &error));
  g_assert_no_error (error);
}

/* The hubs pass presence and payloads on from the main loop */
static void
settle (void)
{
  for (guint i = 0; i < 100 && g_main_context_pending (NULL); i++)
    g_main_context_iteration (NULL, FALSE);
}

static NatterRoute
route (Fixture *fixture)
{
  settle ();
  return natter_dual_rendezvous_get_route (fixture->alice, "bob");
}

static void
test_whichever_is_there (Fixture       *fixture,
                         gconstpointer  data)
{
  guint server_relayed;

  g_assert_cmpint (route (fixture), ==, NATTER_ROUTE_NONE);
  g_assert_true (natter_rendezvous_get_online (NATTER_RENDEZVOUS (fixture->alice)));

  /* Bob on the server only: reached through it */
  natter_rendezvous_start (NATTER_RENDEZVOUS (fixture->bob_server));
  g_assert_cmpint (route (fixture), ==, NATTER_ROUTE_SERVER);
  g_assert_true (natter_rendezvous_is_user_online (NATTER_RENDEZVOUS (fixture->alice), "bob"));
  send_one (fixture);
  settle ();
  g_assert_cmpuint (natter_fake_hub_get_relayed (fixture->server_hub), ==, 1);
  settle ();
  g_assert_cmpuint (natter_fake_hub_get_relayed (fixture->nearby_hub), ==, 0);

  /* Nearby too: directly, and still one "online" */
  natter_rendezvous_start (NATTER_RENDEZVOUS (fixture->bob_nearby));
  g_assert_cmpint (route (fixture), ==, NATTER_ROUTE_NEARBY);
  send_one (fixture);
  settle ();
  g_assert_cmpuint (natter_fake_hub_get_relayed (fixture->nearby_hub), ==, 1);
  settle ();
  g_assert_cmpuint (natter_fake_hub_get_relayed (fixture->server_hub), ==, 1);

  /* No longer nearby: back through the server, without going offline */
  natter_rendezvous_stop (NATTER_RENDEZVOUS (fixture->bob_nearby));
  g_assert_cmpint (route (fixture), ==, NATTER_ROUTE_SERVER);
  server_relayed = natter_fake_hub_get_relayed (fixture->server_hub);
  send_one (fixture);
  settle ();
  g_assert_cmpuint (natter_fake_hub_get_relayed (fixture->server_hub), ==, server_relayed + 1);

  /* Gone from both: offline */
  natter_rendezvous_stop (NATTER_RENDEZVOUS (fixture->bob_server));
  g_assert_cmpint (route (fixture), ==, NATTER_ROUTE_NONE);
  g_assert_false (natter_rendezvous_is_user_online (NATTER_RENDEZVOUS (fixture->alice), "bob"));

  settle ();
  g_assert_cmpuint (fixture->received, ==, 3);
  g_assert_cmpuint (fixture->presence->len, ==, 2);
  g_assert_cmpstr (fixture->presence->pdata[0], ==, "online");
  g_assert_cmpstr (fixture->presence->pdata[1], ==, "offline");
  g_assert_cmpuint (fixture->routes->len, ==, 4);
  g_assert_cmpstr (fixture->routes->pdata[0], ==, "server");
  g_assert_cmpstr (fixture->routes->pdata[1], ==, "nearby");
  g_assert_cmpstr (fixture->routes->pdata[2], ==, "server");
  g_assert_cmpstr (fixture->routes->pdata[3], ==, "none");
}

static void
test_stop_is_offline (Fixture       *fixture,
                      gconstpointer  data)
{
  natter_rendezvous_start (NATTER_RENDEZVOUS (fixture->bob_server));
  natter_rendezvous_start (NATTER_RENDEZVOUS (fixture->bob_nearby));
  g_assert_cmpint (route (fixture), ==, NATTER_ROUTE_NEARBY);

  natter_rendezvous_stop (NATTER_RENDEZVOUS (fixture->alice));
  g_assert_false (natter_rendezvous_get_online (NATTER_RENDEZVOUS (fixture->alice)));
  g_assert_cmpint (route (fixture), ==, NATTER_ROUTE_NONE);
  g_assert_cmpstr (g_ptr_array_index (fixture->presence, fixture->presence->len - 1), ==,
                   "offline");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/Natter/Core/DualRendezvous/whichever-is-there", Fixture, NULL, fixture_setup,
              test_whichever_is_there, fixture_teardown);
  g_test_add ("/Natter/Core/DualRendezvous/stop-is-offline", Fixture, NULL, fixture_setup,
              test_stop_is_offline, fixture_teardown);

  return g_test_run ();
}
