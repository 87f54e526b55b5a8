/* test-client-settings.c: NatterClient's settings are properties
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "natter-test-client.h"

typedef struct
{
  char         *dir;
  NatterClient *client;
} Fixture;

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  fixture->client = natter_test_client_new (&fixture->dir);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  natter_test_client_free (fixture->client, fixture->dir);
}

static void
on_notify (GObject    *object,
           GParamSpec *pspec,
           gpointer    user_data)
{
  GString *log = user_data;

  g_string_append_printf (log, "%s;", pspec->name);
}

/* Each setting is a property that notifies when, and only when, it changes */
static void
test_settings_notify (Fixture       *fixture,
                      gconstpointer  data)
{
  NatterClient *client = fixture->client;
  g_autoptr(GString) log = g_string_new (NULL);
  gboolean loopback, relay_only, receipts, typing;
  guint timeout;

  /* What a new profile starts with */
  g_object_get (client,
                "loopback", &loopback,
                "relay-only", &relay_only,
                "connect-timeout", &timeout,
                "send-read-receipts", &receipts,
                "send-typing", &typing,
                NULL);
  g_assert_false (loopback);
  g_assert_false (relay_only);
  g_assert_cmpuint (timeout, ==, 0);
  g_assert_true (receipts);
  g_assert_true (typing);

  g_signal_connect (client, "notify", G_CALLBACK (on_notify), log);

  /* Setting what is already there says nothing */
  g_object_set (client,
                "loopback", FALSE,
                "relay-only", FALSE,
                "connect-timeout", 0,
                "send-read-receipts", TRUE,
                "send-typing", TRUE,
                NULL);
  natter_client_set_send_typing (client, TRUE);
  g_assert_cmpstr (log->str, ==, "");

  g_object_set (client, "loopback", TRUE, NULL);
  g_object_set (client, "connect-timeout", 2500, NULL);
  natter_client_set_relay_only (client, TRUE);
  natter_client_set_send_read_receipts (client, FALSE);
  natter_client_set_send_typing (client, FALSE);
  /* Any true value is TRUE, and the same TRUE again */
  natter_client_set_relay_only (client, 2);
  g_assert_cmpstr (log->str, ==,
                   "loopback;connect-timeout;relay-only;send-read-receipts;send-typing;");

  g_assert_true (natter_client_get_loopback (client));
  g_assert_true (natter_client_get_relay_only (client));
  g_assert_cmpuint (natter_client_get_connect_timeout (client), ==, 2500);
  g_assert_false (natter_client_get_send_read_receipts (client));
  g_assert_false (natter_client_get_send_typing (client));

  g_signal_handlers_disconnect_by_data (client, log);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/Natter/Core/Client/settings/notify", Fixture, NULL,
              fixture_set_up, test_settings_notify, fixture_tear_down);

  return g_test_run ();
}
