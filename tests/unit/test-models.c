/* test-models.c: NatterConversation and NatterContactList over a real store
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Call records are written as the calls service writes them (through
 * core's private constructor), so that the conversation's calls among the
 * messages come from a real store too.
 */
#include "config.h"

#include <glib/gstdio.h>

#include "natter-call-private.h"
#include "natter-contact-list.h"
#include "natter-conversation.h"
#include "natter-protocol.h"
#include "natter-store-calls.h"
#include "natter-test-client.h"
#include "natter-timeline.h"

#define T0 (G_GINT64_CONSTANT (1700000000) * G_USEC_PER_SEC)

typedef struct
{
  char         *dir;
  NatterClient *client;
  char         *peer_id;
} Fixture;

static char *
random_user_id (void)
{
  guint8 public_key[NATTER_PUBLIC_KEY_SIZE];
  guint8 secret_key[NATTER_SECRET_KEY_SIZE];

  natter_keypair_generate (public_key, secret_key);
  return natter_user_id_from_public_key (public_key);
}

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NatterContact) contact = NULL;

  fixture->client = natter_test_client_new (&fixture->dir);
  fixture->peer_id = random_user_id ();
  contact = natter_client_add_contact (fixture->client, fixture->peer_id, "Peer", &error);
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  natter_test_client_free (fixture->client, fixture->dir);
  g_free (fixture->peer_id);
}

static void
on_items_changed (GListModel *model,
                  guint       position,
                  guint       removed,
                  guint       added,
                  gpointer    user_data)
{
  guint *calls = user_data;

  (*calls)++;
}

/* "message 0" to "message COUNT-1", received in that order */
static void
insert_messages (Fixture *fixture,
                 guint    count)
{
  NatterStore *store = natter_client_get_store (fixture->client);

  for (guint i = 0; i < count; i++)
    {
      g_autofree char *id = g_strdup_printf ("m%03u", i);
      g_autofree char *body = g_strdup_printf ("message %u", i);
      g_autoptr(NatterMessage) message = NULL;
      g_autoptr(GError) error = NULL;
      gboolean is_new;

      message = natter_store_insert_incoming (store, fixture->peer_id, id, body, 1000 + i,
                                              &is_new, &error);
      g_assert_no_error (error);
      g_assert_true (is_new);
    }
}

static void
test_conversation_pages (Fixture       *fixture,
                         gconstpointer  data)
{
  g_autoptr(NatterConversation) conversation = NULL;
  g_autoptr(NatterMessage) first = NULL;
  g_autoptr(NatterMessage) last = NULL;
  g_autoptr(GError) error = NULL;

  insert_messages (fixture, 250);

  conversation = natter_conversation_new (fixture->client, fixture->peer_id);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (conversation)), ==,
                    NATTER_CONVERSATION_PAGE_SIZE);
  g_assert_true (natter_conversation_get_has_older (conversation));

  /* Oldest first, and the newest page is the one loaded. */
  last = g_list_model_get_item (G_LIST_MODEL (conversation), NATTER_CONVERSATION_PAGE_SIZE - 1);
  g_assert_cmpstr (natter_message_get_body (last), ==, "message 249");

  g_assert_true (natter_conversation_load_older (conversation));
  g_assert_true (natter_conversation_load_older (conversation));
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (conversation)), ==, 250);
  g_assert_false (natter_conversation_get_has_older (conversation));
  g_assert_false (natter_conversation_load_older (conversation));

  first = g_list_model_get_item (G_LIST_MODEL (conversation), 0);
  g_assert_cmpstr (natter_message_get_body (first), ==, "message 0");
  g_assert_null (g_list_model_get_item (G_LIST_MODEL (conversation), 250));
}

static void
test_conversation_follows_client (Fixture       *fixture,
                                  gconstpointer  data)
{
  g_autoptr(NatterConversation) conversation = NULL;
  g_autoptr(NatterMessage) sent = NULL;
  g_autoptr(NatterMessage) item = NULL;
  g_autoptr(GError) error = NULL;
  guint calls = 0;

  conversation = natter_conversation_new (fixture->client, fixture->peer_id);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (conversation)), ==, 0);
  g_assert_false (natter_conversation_get_has_older (conversation));
  g_signal_connect (conversation, "items-changed", G_CALLBACK (on_items_changed), &calls);

  sent = natter_client_send_message (fixture->client, fixture->peer_id, "hello", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (calls, ==, 1);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (conversation)), ==, 1);

  /* The row sees status changes on the very object it shows. */
  item = g_list_model_get_item (G_LIST_MODEL (conversation), 0);
  g_assert_true (item == sent);
  g_assert_cmpint (natter_message_get_status (item), ==, NATTER_MESSAGE_STATUS_QUEUED);
  g_assert_true (natter_store_set_message_status (natter_client_get_store (fixture->client),
                                                  fixture->peer_id, natter_message_get_id (sent),
                                                  NATTER_MESSAGE_STATUS_DELIVERED, &error));
  g_assert_cmpint (natter_message_get_status (item), ==, NATTER_MESSAGE_STATUS_DELIVERED);

  /* Another conversation's messages stay out. */
  {
    g_autofree char *other = random_user_id ();
    g_autoptr(NatterContact) contact = natter_client_add_contact (fixture->client, other, NULL,
                                                                 &error);
    g_autoptr(NatterMessage) elsewhere = NULL;

    g_assert_no_error (error);
    elsewhere = natter_client_send_message (fixture->client, other, "elsewhere", &error);
    g_assert_no_error (error);
    g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (conversation)), ==, 1);
  }
}

static void
test_contact_list_order (Fixture       *fixture,
                         gconstpointer  data)
{
  g_autoptr(NatterContactList) list = natter_contact_list_new (fixture->client);
  g_autofree char *other = random_user_id ();
  g_autoptr(NatterContact) contact = NULL;
  g_autoptr(NatterContact) top = NULL;
  g_autoptr(NatterMessage) message = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (list)), ==, 1);
  g_assert_true (g_list_model_get_item_type (G_LIST_MODEL (list)) == NATTER_TYPE_CONTACT);

  contact = natter_client_add_contact (fixture->client, other, "Other", &error);
  g_assert_no_error (error);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (list)), ==, 2);

  /* A message moves its conversation to the top. */
  message = natter_client_send_message (fixture->client, other, "up you go", &error);
  g_assert_no_error (error);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  top = g_list_model_get_item (G_LIST_MODEL (list), 0);
  g_assert_cmpstr (natter_contact_get_user_id (top), ==, other);
  g_assert_cmpint (natter_contact_get_presence (top), ==, NATTER_PRESENCE_OFFLINE);
}

typedef struct
{
  guint position;
  guint removed;
  guint added;
  guint calls;
} Change;

static void
on_timeline_changed (GListModel *model,
                     guint       position,
                     guint       removed,
                     guint       added,
                     Change     *change)
{
  change->position = position;
  change->removed = removed;
  change->added = added;
  change->calls++;
}

static const char *
timeline_kind (NatterTimeline *timeline,
               guint           position)
{
  g_autoptr(GObject) item = g_list_model_get_item (G_LIST_MODEL (timeline), position);

  return NATTER_IS_MESSAGE (item) ? natter_message_get_body (NATTER_MESSAGE (item)) :
         NATTER_IS_TRANSFER (item) ? natter_transfer_get_name (NATTER_TRANSFER (item)) : "?";
}

/* Transfers among the messages in time order, from the store and live; an
 * old one waits until the older pages are loaded */
static void
test_timeline_order (Fixture       *fixture,
                     gconstpointer  data)
{
  NatterStore *store = natter_client_get_store (fixture->client);
  g_autoptr(NatterConversation) conversation = NULL;
  g_autoptr(NatterTimeline) timeline = NULL;
  g_autoptr(NatterTransfer) old = NULL;
  g_autoptr(NatterTransfer) sent = NULL;
  g_autoptr(NatterMessage) before = NULL;
  g_autoptr(NatterMessage) after = NULL;
  g_autoptr(GFile) file = NULL;
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;
  Change change = { 0, };
  guint position;

  /* Older than every message: before them all */
  old = natter_transfer_new ("t-old", fixture->peer_id, NATTER_TRANSFER_DIRECTION_IN, "old.txt",
                             10, "text/plain", 1);
  g_assert_true (natter_store_add_transfer (store, old, &error));
  g_assert_no_error (error);

  insert_messages (fixture, NATTER_CONVERSATION_PAGE_SIZE + 10);

  conversation = natter_conversation_new (fixture->client, fixture->peer_id);
  timeline = natter_timeline_new (conversation);
  g_assert_true (g_list_model_get_item_type (G_LIST_MODEL (timeline)) == G_TYPE_OBJECT);
  /* The old file waits for the older messages */
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (timeline)), ==,
                    NATTER_CONVERSATION_PAGE_SIZE);
  g_signal_connect (timeline, "items-changed", G_CALLBACK (on_timeline_changed), &change);

  /* A message, a file, a message: in that order at the end, each one added */
  before = natter_client_send_message (fixture->client, fixture->peer_id, "here it comes",
                                       &error);
  g_assert_no_error (error);
  g_assert_cmpuint (change.calls, ==, 1);
  g_assert_cmpuint (change.position, ==, NATTER_CONVERSATION_PAGE_SIZE);
  g_assert_cmpuint (change.removed, ==, 0);
  g_assert_cmpuint (change.added, ==, 1);

  path = g_build_filename (fixture->dir, "report.txt", NULL);
  g_assert_true (g_file_set_contents (path, "some text", -1, &error));
  file = g_file_new_for_path (path);
  sent = natter_client_send_file (fixture->client, fixture->peer_id, file, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (change.calls, ==, 2);
  g_assert_cmpuint (change.position, ==, NATTER_CONVERSATION_PAGE_SIZE + 1);
  g_assert_cmpuint (change.added, ==, 1);
  g_assert_true (natter_timeline_find (timeline, sent, &position));
  g_assert_cmpuint (position, ==, NATTER_CONVERSATION_PAGE_SIZE + 1);

  after = natter_client_send_message (fixture->client, fixture->peer_id, "did you get it?",
                                      &error);
  g_assert_no_error (error);
  g_assert_cmpstr (timeline_kind (timeline, NATTER_CONVERSATION_PAGE_SIZE), ==, "here it comes");
  g_assert_cmpstr (timeline_kind (timeline, NATTER_CONVERSATION_PAGE_SIZE + 1), ==, "report.txt");
  g_assert_cmpstr (timeline_kind (timeline, NATTER_CONVERSATION_PAGE_SIZE + 2), ==,
                   "did you get it?");

  /* Adding the same item again changes nothing */
  change.calls = 0;
  natter_timeline_add_item (timeline, G_OBJECT (sent));
  g_assert_cmpuint (change.calls, ==, 0);

  /* The older page brings its messages and the old file, at the top */
  g_assert_true (natter_conversation_load_older (conversation));
  g_assert_false (natter_conversation_get_has_older (conversation));
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (timeline)), ==,
                    NATTER_CONVERSATION_PAGE_SIZE + 10 + 4);
  g_assert_cmpstr (timeline_kind (timeline, 0), ==, "old.txt");
  g_assert_cmpstr (timeline_kind (timeline, 1), ==, "message 0");

  /* A new timeline over the same history: the same order, the live objects */
  g_clear_object (&timeline);
  timeline = natter_timeline_new (conversation);
  g_assert_cmpstr (timeline_kind (timeline, 0), ==, "old.txt");
  g_assert_true (natter_timeline_find (timeline, sent, &position));
  g_assert_cmpstr (timeline_kind (timeline, position + 1), ==, "did you get it?");
}

static void
add_message (Fixture *fixture,
             guint    n,
             gint64   at)
{
  g_autofree char *id = g_strdup_printf ("m%03u", n);
  g_autofree char *body = g_strdup_printf ("message %u", n);
  g_autoptr(NatterMessage) message = NULL;
  g_autoptr(GError) error = NULL;
  gboolean is_new;

  message = natter_store_insert_incoming (natter_client_get_store (fixture->client),
                                          fixture->peer_id, id, body, at, &is_new, &error);
  g_assert_no_error (error);
}

static void
add_call (Fixture          *fixture,
          const char       *id,
          NatterCallOutcome outcome,
          gint64            at)
{
  g_autoptr(NatterCall) call = NULL;
  g_autoptr(GError) error = NULL;

  call = _natter_call_new_from_record (id, fixture->peer_id, NATTER_CALL_DIRECTION_IN, FALSE,
                                       outcome, at,
                                       outcome == NATTER_CALL_OUTCOME_ANSWERED ? at + 1 : 0,
                                       at + 65 * G_USEC_PER_SEC);
  g_assert_true (natter_store_add_call (natter_client_get_store (fixture->client), call, &error));
  g_assert_no_error (error);
}

/* The items as text: "m1" for message 1, "c:ID" for a call */
static char *
describe (NatterConversation *conversation)
{
  GListModel *model = G_LIST_MODEL (conversation);
  g_autoptr(GString) text = g_string_new (NULL);

  for (guint i = 0; i < g_list_model_get_n_items (model); i++)
    {
      g_autoptr(GObject) item = g_list_model_get_item (model, i);

      if (text->len > 0)
        g_string_append_c (text, ' ');
      if (NATTER_IS_CALL (item))
        g_string_append_printf (text, "c:%s", natter_call_get_id (NATTER_CALL (item)));
      else
        g_string_append_printf (text, "m%s",
                                natter_message_get_body (NATTER_MESSAGE (item)) + 8);
    }
  return g_string_free (g_steal_pointer (&text), FALSE);
}

static void
test_calls_in_time_order (Fixture       *fixture,
                          gconstpointer  data)
{
  g_autoptr(NatterConversation) conversation = NULL;
  g_autofree char *items = NULL;

  add_call (fixture, "first", NATTER_CALL_OUTCOME_MISSED, T0);
  add_message (fixture, 1, T0 + 1 * G_USEC_PER_SEC);
  add_call (fixture, "between", NATTER_CALL_OUTCOME_ANSWERED, T0 + 2 * G_USEC_PER_SEC);
  add_message (fixture, 3, T0 + 3 * G_USEC_PER_SEC);
  add_message (fixture, 5, T0 + 5 * G_USEC_PER_SEC);
  add_call (fixture, "last", NATTER_CALL_OUTCOME_BUSY, T0 + 6 * G_USEC_PER_SEC);

  conversation = natter_conversation_new (fixture->client, fixture->peer_id);
  items = describe (conversation);
  g_assert_cmpstr (items, ==, "c:first m1 c:between m3 m5 c:last");
  g_assert_false (natter_conversation_get_has_older (conversation));
}

static void
test_calls_come_with_their_page (Fixture       *fixture,
                                 gconstpointer  data)
{
  g_autoptr(NatterConversation) conversation = NULL;
  g_autoptr(GObject) item = NULL;
  GListModel *model;

  add_call (fixture, "oldest", NATTER_CALL_OUTCOME_MISSED, T0 - 1);
  for (guint i = 0; i < 250; i++)
    {
      add_message (fixture, i, T0 + i * G_USEC_PER_SEC);
      if (i == 20)
        add_call (fixture, "early", NATTER_CALL_OUTCOME_DECLINED, T0 + 20 * G_USEC_PER_SEC + 1);
      if (i == 240)
        add_call (fixture, "late", NATTER_CALL_OUTCOME_ANSWERED, T0 + 240 * G_USEC_PER_SEC + 1);
    }

  conversation = natter_conversation_new (fixture->client, fixture->peer_id);
  model = G_LIST_MODEL (conversation);
  /* The newest page, and the call that falls in it */
  g_assert_cmpuint (g_list_model_get_n_items (model), ==, NATTER_CONVERSATION_PAGE_SIZE + 1);
  item = g_list_model_get_item (model, NATTER_CONVERSATION_PAGE_SIZE + 1 - 10);
  g_assert_true (NATTER_IS_CALL (item));
  g_assert_cmpstr (natter_call_get_id (NATTER_CALL (item)), ==, "late");
  g_clear_object (&item);

  while (natter_conversation_load_older (conversation))
    ;
  g_assert_false (natter_conversation_get_has_older (conversation));
  g_assert_cmpuint (g_list_model_get_n_items (model), ==, 253);
  item = g_list_model_get_item (model, 0);
  g_assert_cmpstr (natter_call_get_id (NATTER_CALL (item)), ==, "oldest");
  g_clear_object (&item);
  item = g_list_model_get_item (model, 22);
  g_assert_cmpstr (natter_call_get_id (NATTER_CALL (item)), ==, "early");
}

static void
test_cleared_with_the_history (Fixture       *fixture,
                               gconstpointer  data)
{
  g_autoptr(NatterConversation) conversation = NULL;
  g_autoptr(NatterConversation) again = NULL;
  g_autoptr(GPtrArray) calls = NULL;
  g_autoptr(GError) error = NULL;

  add_message (fixture, 1, T0);
  add_call (fixture, "gone", NATTER_CALL_OUTCOME_ANSWERED, T0 + 1);
  conversation = natter_conversation_new (fixture->client, fixture->peer_id);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (conversation)), ==, 2);

  g_assert_true (natter_client_clear_conversation (fixture->client, fixture->peer_id, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (conversation)), ==, 0);
  calls = natter_client_list_calls (fixture->client, fixture->peer_id, 10, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (calls->len, ==, 0);
  again = natter_conversation_new (fixture->client, fixture->peer_id);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (again)), ==, 0);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/Natter/Core/Conversation/pages", Fixture, NULL,
              fixture_set_up, test_conversation_pages, fixture_tear_down);
  g_test_add ("/Natter/Core/Conversation/follows-client", Fixture, NULL,
              fixture_set_up, test_conversation_follows_client, fixture_tear_down);
  g_test_add ("/Natter/Core/Timeline/order", Fixture, NULL,
              fixture_set_up, test_timeline_order, fixture_tear_down);
  g_test_add ("/Natter/Core/Conversation/calls-in-time-order", Fixture, NULL,
              fixture_set_up, test_calls_in_time_order, fixture_tear_down);
  g_test_add ("/Natter/Core/Conversation/calls-come-with-their-page", Fixture, NULL,
              fixture_set_up, test_calls_come_with_their_page, fixture_tear_down);
  g_test_add ("/Natter/Core/Conversation/calls-cleared-with-the-history", Fixture, NULL,
              fixture_set_up, test_cleared_with_the_history, fixture_tear_down);
  g_test_add ("/Natter/Core/ContactList/order", Fixture, NULL,
              fixture_set_up, test_contact_list_order, fixture_tear_down);

  return g_test_run ();
}
