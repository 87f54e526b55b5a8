/* test-client-local.c: what NatterClient keeps without a network: its settings
 * (properties) and what the user says of contacts
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

static void
on_contact_changed (NatterClient *client,
                    const char   *contact_id,
                    gpointer      user_data)
{
  GString *log = user_data;

  g_string_append_printf (log, "%.8s;", contact_id);
}

/* The contact dialog's switch: through the client, stored, and the live
 * contact follows */
static void
test_set_verified (Fixture       *fixture,
                   gconstpointer  data)
{
  NatterClient *client = fixture->client;
  NatterStore *store = natter_client_get_store (client);
  g_autoptr(NatterIdentity) peer = natter_identity_new_ephemeral ();
  const char *peer_id = natter_identity_get_user_id (peer);
  g_autoptr(NatterContact) contact = NULL;
  g_autoptr(NatterContact) reloaded = NULL;
  g_autoptr(GString) log = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *stranger = NULL;

  contact = natter_client_add_contact (client, peer_id, "Peer", &error);
  g_assert_no_error (error);
  g_assert_false (natter_contact_get_verified (contact));
  g_signal_connect (client, "contact-changed", G_CALLBACK (on_contact_changed), log);

  g_assert_true (natter_client_set_verified (client, peer_id, TRUE, &error));
  g_assert_no_error (error);
  g_assert_true (natter_contact_get_verified (contact));
  reloaded = natter_store_get_contact (store, peer_id, &error);
  g_assert_no_error (error);
  g_assert_true (natter_contact_get_verified (reloaded));
  expected = g_strdup_printf ("%.8s;", peer_id);
  g_assert_cmpstr (log->str, ==, expected);

  /* Someone who is not a contact: an error, nothing announced */
  {
    g_autoptr(NatterIdentity) other = natter_identity_new_ephemeral ();

    stranger = g_strdup (natter_identity_get_user_id (other));
  }
  g_assert_false (natter_client_set_verified (client, stranger, TRUE, &error));
  g_assert_nonnull (error);
  g_assert_cmpstr (log->str, ==, expected);

  g_signal_handlers_disconnect_by_data (client, log);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/Natter/Core/Client/settings/notify", Fixture, NULL,
              fixture_set_up, test_settings_notify, fixture_tear_down);

  g_test_add ("/Natter/Core/Client/set-verified", Fixture, NULL,
              fixture_set_up, test_set_verified, fixture_tear_down);

  return g_test_run ();
}
