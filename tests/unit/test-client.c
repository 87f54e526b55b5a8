/* test-client.c: NatterClient against an in-process rendezvous
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Two clients, each with its own store, find each other through a
 * NatterFakeHub and talk over real webrtcbin on 127.0.0.1 in this one
 * process. What is about trust against an attacker runs in separate
 * processes elsewhere (tests/integration); this is about what the client
 * does with a working connection: the outbox, receipts, duplicates,
 * typing, profile pictures and retrying.
 */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "natter-client.h"
#include "natter-client-private.h"
#include "natter-fake-hub.h"
#include "natter-fake-rendezvous.h"
#include "natter-protocol.h"
#include "natter-test-files.h"

#define WAIT_LIMIT_S 30

typedef struct
{
  NatterIdentity       *identity;
  NatterStore          *store;
  NatterFakeRendezvous *rendezvous;
  NatterClient         *client;
  GPtrArray            *incoming;   /* NatterMessage, in the order message-added gave them */
  NatterContactSession *session;    /* the other side, as this side sees them */
  guint                 typing_changes;
  guint                 peer_failures;
  guint                 trust_failures;
  guint                 session_added;    /* the session's message-added */
} Side;

typedef struct
{
  char          *dir;
  NatterFakeHub *hub;
  Side           a;
  Side           b;
} Fixture;

static gboolean
on_wake (gpointer user_data)
{
  return G_SOURCE_CONTINUE;
}

#define WAIT_FOR(condition)                                                   \
  G_STMT_START {                                                              \
    gint64 wait_end = g_get_monotonic_time () + WAIT_LIMIT_S * G_USEC_PER_SEC; \
    guint wake_id = g_timeout_add (50, on_wake, NULL);                        \
    while (!(condition))                                                      \
      {                                                                       \
        if (g_get_monotonic_time () > wait_end)                               \
          g_error ("Gave up waiting for %s", #condition);                     \
        g_main_context_iteration (NULL, TRUE);                                \
      }                                                                       \
    g_source_remove (wake_id);                                                \
  } G_STMT_END

static void
run_for (guint ms)
{
  gint64 end = g_get_monotonic_time () + ms * 1000;
  guint wake_id = g_timeout_add (10, on_wake, NULL);

  while (g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (wake_id);
}

static void
drain (void)
{
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static const char *
user_id (Side *side)
{
  return natter_identity_get_user_id (side->identity);
}

static void
on_message_added (NatterClient  *client,
                  NatterMessage *message,
                  gpointer       user_data)
{
  Side *side = user_data;

  if (natter_message_get_direction (message) == NATTER_MESSAGE_DIRECTION_IN)
    g_ptr_array_add (side->incoming, g_object_ref (message));
}

static void
on_typing_notify (NatterContactSession *session,
                  GParamSpec           *pspec,
                  gpointer              user_data)
{
  Side *side = user_data;

  side->typing_changes++;
}

static void
on_peer_state_notify (NatterContactSession *session,
                      GParamSpec           *pspec,
                      gpointer              user_data)
{
  Side *side = user_data;

  if (natter_contact_session_get_peer_state (session) == NATTER_PEER_STATE_FAILED)
    side->peer_failures++;
}

static void
on_session_message_added (NatterContactSession *session,
                          NatterMessage        *message,
                          gpointer              user_data)
{
  Side *side = user_data;

  g_assert_cmpstr (natter_message_get_contact_id (message), ==,
                   natter_contact_session_get_contact_id (session));
  side->session_added++;
}

static void
on_trust_failure (NatterClient *client,
                  const char   *contact_id,
                  gpointer      user_data)
{
  Side *side = user_data;

  side->trust_failures++;
}

static void
side_init (Fixture    *fixture,
           Side       *side,
           guint8      seed_byte,
           const char *name)
{
  g_autofree char *path = g_strdup_printf ("%s/%s.db", fixture->dir, name);
  g_autoptr(GError) error = NULL;
  guint8 seed[32];

  memset (seed, seed_byte, sizeof seed);
  side->identity = natter_identity_new_from_seed (seed);
  side->store = natter_store_new (path, &error);
  g_assert_no_error (error);
  side->rendezvous = natter_fake_rendezvous_new (fixture->hub, user_id (side));
  side->client = natter_client_new_with_rendezvous (side->identity, side->store,
                                                    NATTER_RENDEZVOUS (side->rendezvous));
  natter_client_set_loopback (side->client, TRUE);
  side->incoming = g_ptr_array_new_with_free_func (g_object_unref);
  g_signal_connect (side->client, "message-added", G_CALLBACK (on_message_added), side);
  g_signal_connect (side->client, "trust-failure", G_CALLBACK (on_trust_failure), side);
}

static void
befriend (Side *side,
          Side *other)
{
  g_autoptr(NatterContact) contact = NULL;
  g_autoptr(GError) error = NULL;

  contact = natter_client_add_contact (side->client, user_id (other), NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (contact);

  side->session = g_object_ref (natter_client_get_session (side->client, user_id (other)));
  g_assert_cmpstr (natter_contact_session_get_contact_id (side->session), ==, user_id (other));
  g_signal_connect (side->session, "notify::typing", G_CALLBACK (on_typing_notify), side);
  g_signal_connect (side->session, "notify::peer-state", G_CALLBACK (on_peer_state_notify), side);
  g_signal_connect (side->session, "message-added", G_CALLBACK (on_session_message_added), side);
}

static void
fixture_setup (Fixture       *fixture,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  fixture->dir = g_dir_make_tmp ("natter-client-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->hub = natter_fake_hub_new ();
  side_init (fixture, &fixture->a, 0x31, "a");
  side_init (fixture, &fixture->b, 0x42, "b");
  befriend (&fixture->a, &fixture->b);
  befriend (&fixture->b, &fixture->a);
}

static void
side_clear (Side *side)
{
  g_clear_pointer (&side->incoming, g_ptr_array_unref);
  g_assert_finalize_object (g_steal_pointer (&side->client));
  /* The client let go of it; nothing else holds it */
  g_assert_finalize_object (g_steal_pointer (&side->session));
  g_assert_finalize_object (g_steal_pointer (&side->rendezvous));
  g_assert_finalize_object (g_steal_pointer (&side->store));
  g_assert_finalize_object (g_steal_pointer (&side->identity));
}

static void
fixture_teardown (Fixture       *fixture,
                  gconstpointer  data)
{
  natter_client_stop (fixture->a.client);
  natter_client_stop (fixture->b.client);
  /* Peers close from idle callbacks; let them */
  run_for (200);
  drain ();

  side_clear (&fixture->a);
  side_clear (&fixture->b);
  drain ();
  g_assert_finalize_object (g_steal_pointer (&fixture->hub));

  natter_test_remove_tree (fixture->dir);
  g_free (fixture->dir);
}

/* Both started; @from opens the connection once it knows @to is there */
static void
connect_pair (Side *from,
              Side *to)
{
  natter_client_start (from->client);
  natter_client_start (to->client);
  WAIT_FOR (natter_client_is_contact_online (from->client, user_id (to)));
  natter_client_connect_to (from->client, user_id (to));
  WAIT_FOR (natter_client_get_peer_state (from->client, user_id (to)) == NATTER_PEER_STATE_CONNECTED &&
            natter_client_get_peer_state (to->client, user_id (from)) == NATTER_PEER_STATE_CONNECTED);
  /* The profiles and whatever else opening sends are through */
  run_for (200);
}

static NatterMessageStatus
status_of (Side          *side,
           NatterMessage *message)
{
  g_autoptr(NatterMessage) stored = NULL;

  stored = natter_store_get_message (side->store, natter_message_get_contact_id (message),
                                     natter_message_get_id (message), NULL);
  g_assert_nonnull (stored);
  return natter_message_get_status (stored);
}

static gboolean
all_reached (Side          *side,
             GPtrArray     *messages,
             NatterMessageStatus status)
{
  for (guint i = 0; i < messages->len; i++)
    if (status_of (side, g_ptr_array_index (messages, i)) != status)
      return FALSE;

  return TRUE;
}

static NatterMessage *
send_text (Side       *side,
           Side       *to,
           const char *body)
{
  g_autoptr(GError) error = NULL;
  NatterMessage *message;

  message = natter_client_send_message (side->client, user_id (to), body, &error);
  g_assert_no_error (error);
  g_assert_nonnull (message);
  return message;
}

/* Written while the contact was away, the messages arrive in the order
 * they were written, each once, and their receipts bring them to
 * delivered and then read. */
static void
test_client_outbox_order (Fixture       *fixture,
                          gconstpointer  data)
{
  Side *a = &fixture->a;
  Side *b = &fixture->b;
  g_autoptr(GPtrArray) sent = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GError) error = NULL;

  natter_client_start (a->client);
  for (guint i = 0; i < 5; i++)
    {
      g_autofree char *body = g_strdup_printf ("message %u", i);

      g_ptr_array_add (sent, send_text (a, b, body));
    }
  run_for (100);
  g_assert_true (all_reached (a, sent, NATTER_MESSAGE_STATUS_QUEUED));

  natter_client_start (b->client);
  WAIT_FOR (b->incoming->len == 5);
  for (guint i = 0; i < 5; i++)
    {
      g_autofree char *body = g_strdup_printf ("message %u", i);

      g_assert_cmpstr (natter_message_get_body (g_ptr_array_index (b->incoming, i)), ==, body);
      g_assert_cmpstr (natter_message_get_contact_id (g_ptr_array_index (b->incoming, i)), ==,
                       user_id (a));
    }

  WAIT_FOR (all_reached (a, sent, NATTER_MESSAGE_STATUS_DELIVERED));
  g_assert_cmpint (natter_client_get_peer_state (a->client, user_id (b)), ==,
                   NATTER_PEER_STATE_CONNECTED);
  g_assert_cmpint (natter_contact_session_get_peer_state (a->session), ==,
                   NATTER_PEER_STATE_CONNECTED);
  g_assert_true (natter_contact_session_get_online (a->session));
  /* Each conversation heard of its own messages: five sent, five received */
  g_assert_cmpuint (a->session_added, ==, 5);
  g_assert_cmpuint (b->session_added, ==, 5);

  g_assert_true (natter_client_mark_read (b->client, user_id (a), &error));
  g_assert_no_error (error);
  WAIT_FOR (all_reached (a, sent, NATTER_MESSAGE_STATUS_READ));
}

/* A late `delivered` receipt does not take a read message back. */
static void
test_client_receipts_forward (Fixture       *fixture,
                              gconstpointer  data)
{
  Side *a = &fixture->a;
  Side *b = &fixture->b;
  g_autoptr(NatterMessage) message = NULL;
  g_autoptr(GError) error = NULL;
  const char *ids[2] = { NULL, NULL };
  g_autofree char *late = NULL;
  guint64 received;

  natter_client_start (a->client);
  natter_client_start (b->client);
  message = send_text (a, b, "hello");
  WAIT_FOR (status_of (a, message) == NATTER_MESSAGE_STATUS_DELIVERED);

  g_assert_true (natter_client_mark_read (b->client, user_id (a), &error));
  g_assert_no_error (error);
  WAIT_FOR (status_of (a, message) == NATTER_MESSAGE_STATUS_READ);

  ids[0] = natter_message_get_id (message);
  late = natter_envelope_new_receipt (ids, "delivered", NULL);
  received = natter_client_get_envelopes_received (a->client);
  g_assert_true (_natter_client_send_envelope (b->client, user_id (a), late, &error));
  g_assert_no_error (error);
  WAIT_FOR (natter_client_get_envelopes_received (a->client) > received);
  g_assert_cmpint (status_of (a, message), ==, NATTER_MESSAGE_STATUS_READ);
}

/* A message that comes twice is acknowledged twice and shown once. */
static void
test_client_duplicates (Fixture       *fixture,
                        gconstpointer  data)
{
  Side *a = &fixture->a;
  Side *b = &fixture->b;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) stored = NULL;
  g_autofree char *text = NULL;
  guint64 sent;

  connect_pair (b, a);

  text = natter_envelope_new_message ("twice", g_get_real_time () / 1000, "once", NULL, NULL);
  sent = natter_client_get_envelopes_sent (a->client);
  for (guint i = 0; i < 2; i++)
    {
      g_assert_true (_natter_client_send_envelope (b->client, user_id (a), text, &error));
      g_assert_no_error (error);
    }

  /* Two receipts come back */
  WAIT_FOR (natter_client_get_envelopes_sent (a->client) >= sent + 2);
  run_for (200);
  g_assert_cmpuint (a->incoming->len, ==, 1);
  g_assert_cmpstr (natter_message_get_body (g_ptr_array_index (a->incoming, 0)), ==, "once");

  stored = natter_store_load_messages (a->store, user_id (b), NULL, 10, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (stored->len, ==, 1);
}

/* Typing shows while it is refreshed and goes by itself; a message ends it. */
static void
test_client_typing_expiry (Fixture       *fixture,
                           gconstpointer  data)
{
  Side *a = &fixture->a;
  Side *b = &fixture->b;
  g_autoptr(NatterMessage) message = NULL;
  gint64 started;

  connect_pair (a, b);

  natter_client_send_typing (a->client, user_id (b), TRUE);
  WAIT_FOR (natter_contact_session_get_typing (b->session));
  started = g_get_monotonic_time ();
  WAIT_FOR (!natter_contact_session_get_typing (b->session));
  /* It lasts its few seconds, not less */
  g_assert_cmpint (g_get_monotonic_time () - started, >, 3 * G_USEC_PER_SEC);
  g_assert_cmpuint (b->typing_changes, ==, 2);
  /* a's side of it never changed */
  g_assert_false (natter_contact_session_get_typing (a->session));

  natter_client_send_typing (a->client, user_id (b), TRUE);
  WAIT_FOR (natter_contact_session_get_typing (b->session));
  message = send_text (a, b, "done typing");
  WAIT_FOR (b->incoming->len == 1);
  g_assert_false (natter_contact_session_get_typing (b->session));
}

static GBytes *
make_png (gsize size)
{
  guint8 *data = g_malloc0 (size);

  memcpy (data, "\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0\0\x40\0\0\0\x30", 24);
  for (gsize i = 33; i < size; i++)
    data[i] = (guint8) (i * 7);
  return g_bytes_new_take (data, size);
}

static gboolean
has_avatar (Side   *side,
            Side   *of,
            GBytes *avatar)
{
  g_autoptr(NatterContact) contact = natter_store_get_contact (side->store, user_id (of), NULL);

  return contact != NULL && natter_contact_get_avatar (contact) != NULL &&
         g_bytes_equal (natter_contact_get_avatar (contact), avatar);
}

/* A picture of several chunks arrives whole, with the profile. */
static void
test_client_avatar (Fixture       *fixture,
                    gconstpointer  data)
{
  Side *a = &fixture->a;
  Side *b = &fixture->b;
  g_autoptr(GBytes) avatar = make_png (3 * NATTER_AVATAR_CHUNK_SIZE + 1000);
  g_autoptr(NatterContact) contact = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (natter_client_set_avatar (a->client, avatar, &error));
  g_assert_no_error (error);
  natter_client_set_profile (a->client, "Alice", "Likes long walks");
  connect_pair (a, b);
  WAIT_FOR (has_avatar (b, a, avatar));
  contact = natter_store_get_contact (b->store, user_id (a), NULL);
  g_assert_cmpstr (natter_contact_get_display_name (contact), ==, "Alice");
  g_assert_cmpstr (natter_contact_get_bio (contact), ==, "Likes long walks");
}

static gboolean
has_no_avatar (Side *side,
               Side *of)
{
  g_autoptr(NatterContact) contact = natter_store_get_contact (side->store, user_id (of), NULL);

  return contact != NULL && natter_contact_get_avatar (contact) == NULL;
}

static gboolean
has_name (Side       *side,
          Side       *of,
          const char *name)
{
  g_autoptr(NatterContact) contact = natter_store_get_contact (side->store, user_id (of), NULL);

  return contact != NULL && g_strcmp0 (natter_contact_get_display_name (contact), name) == 0;
}

static void
count_left_connected (NatterContactSession *session,
                      GParamSpec           *pspec,
                      guint                *count)
{
  if (natter_contact_session_get_peer_state (session) != NATTER_PEER_STATE_CONNECTED)
    (*count)++;
}

/* A new picture, a new name and a removed picture reach a contact who is
 * connected, on the same connection. */
static void
test_client_avatar_changed_while_connected (Fixture       *fixture,
                                            gconstpointer  data)
{
  Side *a = &fixture->a;
  Side *b = &fixture->b;
  g_autoptr(GBytes) first = make_png (NATTER_AVATAR_CHUNK_SIZE + 10);
  g_autoptr(GBytes) second = make_png (2 * NATTER_AVATAR_CHUNK_SIZE + 20);
  guint left_connected = 0;

  g_assert_true (natter_client_set_avatar (a->client, first, NULL));
  natter_client_set_profile (a->client, "Alice", NULL);
  connect_pair (a, b);
  WAIT_FOR (has_avatar (b, a, first));
  g_signal_connect (a->session, "notify::peer-state", G_CALLBACK (count_left_connected),
                    &left_connected);

  g_assert_true (natter_client_set_avatar (a->client, second, NULL));
  WAIT_FOR (has_avatar (b, a, second));
  natter_client_set_profile (a->client, "Alice B.", NULL);
  WAIT_FOR (has_name (b, a, "Alice B."));
  g_assert_true (natter_client_set_avatar (a->client, NULL, NULL));
  WAIT_FOR (has_no_avatar (b, a));

  /* All of it on the connection that was there from the start */
  g_signal_handlers_disconnect_by_data (a->session, &left_connected);
  g_assert_cmpuint (left_connected, ==, 0);
  g_assert_cmpint (natter_contact_session_get_peer_state (a->session), ==,
                   NATTER_PEER_STATE_CONNECTED);
}

/* A connection that cannot be set up is tried again, and what waited
 * goes out once it works. */
static void
test_client_retry (Fixture       *fixture,
                   gconstpointer  data)
{
  Side *a = &fixture->a;
  Side *b = &fixture->b;
  g_autoptr(NatterMessage) message = NULL;

  /* Long enough that a connection that is let through is up in time even
   * in a sanitizer build on a busy machine (1 s was not, now and then):
   * only the dropped attempt may fail. */
  natter_client_set_connect_timeout (a->client, 3000);
  natter_client_set_connect_timeout (b->client, 3000);
  natter_client_start (a->client);
  natter_client_start (b->client);
  WAIT_FOR (natter_client_is_contact_online (a->client, user_id (b)));

  natter_fake_hub_set_dropping (fixture->hub, TRUE);
  message = send_text (a, b, "eventually");
  WAIT_FOR (a->peer_failures == 1);
  g_assert_cmpint (status_of (a, message), ==, NATTER_MESSAGE_STATUS_QUEUED);
  g_assert_cmpuint (b->incoming->len, ==, 0);

  /* The next attempt, after the back-off, goes through */
  natter_fake_hub_set_dropping (fixture->hub, FALSE);
  WAIT_FOR (status_of (a, message) == NATTER_MESSAGE_STATUS_DELIVERED);
  g_assert_cmpuint (a->peer_failures, ==, 1);
  g_assert_cmpuint (natter_fake_hub_get_relayed (fixture->hub), >, 0);
  g_assert_cmpuint (b->incoming->len, ==, 1);
  g_assert_cmpstr (natter_message_get_body (g_ptr_array_index (b->incoming, 0)), ==, "eventually");
}

/* A description whose fingerprint its sender did not sign is refused, the
 * session says why, nothing goes through; once the way is clean again the
 * message does. */
static void
test_client_trust_failure (Fixture       *fixture,
                           gconstpointer  data)
{
  Side *a = &fixture->a;
  Side *b = &fixture->b;
  g_autoptr(NatterMessage) message = NULL;

  natter_client_set_connect_timeout (a->client, 1500);
  natter_client_set_connect_timeout (b->client, 1500);
  natter_client_start (a->client);
  natter_client_start (b->client);
  WAIT_FOR (natter_client_is_contact_online (a->client, user_id (b)));
  g_assert_null (natter_contact_session_get_trust_failure (b->session));

  natter_fake_hub_set_tampering (fixture->hub, TRUE);
  message = send_text (a, b, "not for the middle");
  WAIT_FOR (b->trust_failures > 0);
  g_assert_nonnull (natter_contact_session_get_trust_failure (b->session));
  g_assert_cmpuint (b->incoming->len, ==, 0);
  g_assert_cmpint (natter_contact_session_get_peer_state (b->session), !=,
                   NATTER_PEER_STATE_CONNECTED);

  natter_fake_hub_set_tampering (fixture->hub, FALSE);
  WAIT_FOR (status_of (a, message) == NATTER_MESSAGE_STATUS_DELIVERED);
  g_assert_cmpuint (b->incoming->len, ==, 1);
  /* What happened stays said */
  g_assert_nonnull (natter_contact_session_get_trust_failure (b->session));
}

static void
on_async_done (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

/* Without a server there are no invitations or rooms, and saying so is an
 * error, not a crash or a wait for ever. */
static void
test_client_no_server (Fixture       *fixture,
                       gconstpointer  data)
{
  Side *a = &fixture->a;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(NatterInvitation) invitation = NULL;
  g_auto(GStrv) members = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_null (natter_client_get_signaling (a->client));
  g_assert_true (natter_client_get_rendezvous (a->client) == NATTER_RENDEZVOUS (a->rendezvous));

  natter_client_invite_async (a->client, user_id (&fixture->b), "hi", NULL, on_async_done, &result);
  WAIT_FOR (result != NULL);
  invitation = natter_client_invite_finish (a->client, result, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
  g_assert_null (invitation);
  g_clear_error (&error);
  g_clear_object (&result);

  natter_client_join_room_async (a->client, "lobby", NULL, on_async_done, &result);
  WAIT_FOR (result != NULL);
  members = natter_client_join_room_finish (a->client, result, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
  g_assert_null (members);
  g_assert_false (natter_client_is_invitation_pending (a->client, user_id (&fixture->b)));
}

static JsonObject *
parse_object (const char *text)
{
  g_autoptr(JsonParser) parser = json_parser_new ();

  g_assert_true (json_parser_load_from_data (parser, text, -1, NULL));
  return json_node_dup_object (json_parser_get_root (parser));
}

/* An invitation object of docs/protocol.md becomes a NatterInvitation and
 * back unchanged; what is not one is refused. */
static void
test_invitation_json (void)
{
  g_autofree char *alice = NULL;
  g_autofree char *bob = NULL;
  g_autofree char *text = NULL;
  g_autoptr(JsonObject) object = NULL;
  g_autoptr(JsonObject) again = NULL;
  g_autoptr(NatterInvitation) invitation = NULL;
  g_autoptr(NatterIdentity) a = NULL;
  g_autoptr(NatterIdentity) b = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(JsonNode) node_again = NULL;
  guint8 seed[32];

  memset (seed, 1, sizeof seed);
  a = natter_identity_new_from_seed (seed);
  memset (seed, 2, sizeof seed);
  b = natter_identity_new_from_seed (seed);
  alice = g_strdup (natter_identity_get_user_id (a));
  bob = g_strdup (natter_identity_get_user_id (b));

  text = g_strdup_printf ("{\"id\": \"5f0c\", \"from\": \"%s\", \"from_name\": \"Ana\", "
                          "\"to\": \"%s\", "
                          "\"text\": \"Hello <b>\", \"created\": 1700000000, "
                          "\"expires\": 1700086400, \"status\": \"accepted\"}", alice, bob);
  object = parse_object (text);
  invitation = natter_invitation_new_from_json (object, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (natter_invitation_get_id (invitation), ==, "5f0c");
  g_assert_cmpstr (natter_invitation_get_from (invitation), ==, alice);
  g_assert_cmpstr (natter_invitation_get_to (invitation), ==, bob);
  g_assert_cmpstr (natter_invitation_get_text (invitation), ==, "Hello <b>");
  g_assert_cmpstr (natter_invitation_get_from_name (invitation), ==, "Ana");
  g_assert_cmpint (natter_invitation_get_created (invitation), ==, 1700000000);
  g_assert_cmpint (natter_invitation_get_expires (invitation), ==, 1700086400);
  g_assert_cmpint (natter_invitation_get_status (invitation), ==, NATTER_INVITATION_STATUS_ACCEPTED);

  again = natter_invitation_to_json (invitation);
  node = json_node_init_object (json_node_alloc (), object);
  node_again = json_node_init_object (json_node_alloc (), again);
  g_assert_true (json_node_equal (node, node_again));
  g_assert_finalize_object (g_steal_pointer (&invitation));

  /* Without a note: null in, null out */
  g_clear_pointer (&object, json_object_unref);
  g_clear_pointer (&again, json_object_unref);
  g_clear_pointer (&node, json_node_unref);
  g_clear_pointer (&node_again, json_node_unref);
  g_free (text);
  text = g_strdup_printf ("{\"id\": \"5f0d\", \"from\": \"%s\", \"to\": \"%s\", "
                          "\"text\": null, \"created\": 1, \"expires\": 2, "
                          "\"status\": \"pending\"}", bob, alice);
  object = parse_object (text);
  invitation = natter_invitation_new_from_json (object, &error);
  g_assert_no_error (error);
  g_assert_null (natter_invitation_get_text (invitation));
  g_assert_null (natter_invitation_get_from_name (invitation));
  again = natter_invitation_to_json (invitation);
  node = json_node_init_object (json_node_alloc (), object);
  node_again = json_node_init_object (json_node_alloc (), again);
  g_assert_true (json_node_equal (node, node_again));
  g_assert_finalize_object (g_steal_pointer (&invitation));

  /* A name from a stranger through the server: one line, no escapes, at
   * most NATTER_INVITATION_NAME_MAX bytes cut between characters */
  g_clear_pointer (&object, json_object_unref);
  g_free (text);
  text = g_strdup_printf ("{\"id\": \"5f0e\", \"from\": \"%s\", \"to\": \"%s\", "
                          "\"from_name\": \"Bob\\n\\u001b[31mthe \\u00e9%s\"}", bob, alice,
                          "ééééééééééééééééééééééééééééééééééééééééé");
  object = parse_object (text);
  invitation = natter_invitation_new_from_json (object, &error);
  g_assert_no_error (error);
  g_assert_nonnull (natter_invitation_get_from_name (invitation));
  g_assert_null (strchr (natter_invitation_get_from_name (invitation), '\n'));
  g_assert_null (strchr (natter_invitation_get_from_name (invitation), '\033'));
  g_assert_true (g_str_has_prefix (natter_invitation_get_from_name (invitation), "Bob"));
  g_assert_cmpuint (strlen (natter_invitation_get_from_name (invitation)), <=,
                    NATTER_INVITATION_NAME_MAX);
  g_assert_true (g_utf8_validate (natter_invitation_get_from_name (invitation), -1, NULL));
  g_clear_object (&invitation);

  g_clear_pointer (&object, json_object_unref);
  g_free (text);
  text = g_strdup_printf ("{\"id\": \"5f0c\", \"from\": \"nobody\", \"to\": \"%s\"}", bob);
  object = parse_object (text);
  invitation = natter_invitation_new_from_json (object, &error);
  g_assert_error (error, NATTER_PROTOCOL_ERROR, NATTER_PROTOCOL_ERROR_BAD_FRAME);
  g_assert_null (invitation);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)

  ADD ("/Natter/Core/Client/outbox-order", test_client_outbox_order);
  ADD ("/Natter/Core/Client/receipts-forward", test_client_receipts_forward);
  ADD ("/Natter/Core/Client/duplicates", test_client_duplicates);
  ADD ("/Natter/Core/Client/typing-expiry", test_client_typing_expiry);
  ADD ("/Natter/Core/Client/avatar", test_client_avatar);
  ADD ("/Natter/Core/Client/avatar-changed-while-connected",
       test_client_avatar_changed_while_connected);
  ADD ("/Natter/Core/Client/retry", test_client_retry);
  ADD ("/Natter/Core/Client/trust-failure", test_client_trust_failure);
  ADD ("/Natter/Core/Client/no-server", test_client_no_server);
  g_test_add_func ("/Natter/Core/Invitation/json", test_invitation_json);

#undef ADD

  return g_test_run ();
}
