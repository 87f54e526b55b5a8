/* natter-gui-seed.c: prepare a profile's history for the GUI tests
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * natter-gui-seed seed HISTORY.DB NAME N
 *   Adds a contact called NAME with a fresh, valid Natter ID (printed on
 *   stdout) and a conversation of N messages with it, written through
 *   NatterStore: mostly incoming, every tenth outgoing and read. Run it
 *   before the app starts; the app then opens a store it did not write.
 *
 * natter-gui-seed check-id ID
 *   Exits 0 when ID is a well-formed Natter ID with a correct checksum.
 */
#define G_LOG_DOMAIN "natter-gui-seed"

#include "config.h"

#include <stdlib.h>

#include <sodium.h>

#include "natter-store.h"
#include "natter-user-id.h"

/* One outgoing message in this many. */
#define OUTGOING_EVERY 10

static const char *const words[] = {
  "hello", "lunch", "train", "tomorrow", "photos", "meeting", "coffee", "weekend", "garden",
  "music", "late", "sure", "thanks", "later", "call", "book", "rain", "maybe", "great", "see",
};

static void
make_body (GRand   *rand,
           guint    index,
           GString *body)
{
  guint n_words = g_rand_int_range (rand, 2, 12);

  g_string_printf (body, "#%u", index);
  for (guint i = 0; i < n_words; i++)
    g_string_append_printf (body, " %s", words[g_rand_int_range (rand, 0, G_N_ELEMENTS (words))]);
}

static gboolean
add_outgoing (NatterStore *store,
              const char  *user_id,
              const char  *body,
              GError     **error)
{
  g_autoptr(NatterMessage) message = natter_store_append_outgoing (store, user_id, body, error);

  /* Already delivered and read long ago: nothing for the app to send. */
  return message != NULL &&
         natter_store_set_message_status (store, user_id, natter_message_get_id (message),
                                          NATTER_MESSAGE_STATUS_READ, error) &&
         natter_store_remove_from_outbox (store, user_id, natter_message_get_id (message), error);
}

static gboolean
add_incoming (NatterStore *store,
              const char  *user_id,
              const char  *body,
              gint64       timestamp,
              GError     **error)
{
  g_autofree char *uuid = g_uuid_string_random ();
  g_autoptr(NatterMessage) message = NULL;

  message = natter_store_insert_incoming (store, user_id, uuid, body, timestamp, NULL, error);
  return message != NULL;
}

static int
seed (const char *path,
      const char *name,
      guint       n_messages)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NatterStore) store = NULL;
  g_autoptr(NatterContact) contact = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);
  g_autoptr(GString) body = g_string_new (NULL);
  g_autofree char *user_id = NULL;
  guint8 public_key[NATTER_PUBLIC_KEY_SIZE];
  gint64 start = g_get_real_time () - (gint64) n_messages * G_USEC_PER_SEC;

  randombytes_buf (public_key, sizeof public_key);
  user_id = natter_user_id_from_public_key (public_key);

  store = natter_store_new (path, &error);
  if (store == NULL)
    goto failed;

  contact = natter_store_add_contact (store, user_id, name, &error);
  if (contact == NULL)
    goto failed;

  for (guint i = 0; i < n_messages; i++)
    {
      gboolean ok;

      make_body (rand, i + 1, body);
      if (i % OUTGOING_EVERY == OUTGOING_EVERY - 1)
        ok = add_outgoing (store, user_id, body->str, &error);
      else
        ok = add_incoming (store, user_id, body->str, start + (gint64) i * G_USEC_PER_SEC, &error);
      if (!ok)
        goto failed;
    }

  if (!natter_store_mark_conversation_read (store, user_id, &error))
    goto failed;

  natter_store_close (store);
  g_print ("%s\n", user_id);
  return EXIT_SUCCESS;

failed:
  g_printerr ("natter-gui-seed: %s\n", error->message);
  return EXIT_FAILURE;
}

int
main (int   argc,
      char *argv[])
{
  if (sodium_init () < 0)
    {
      g_printerr ("natter-gui-seed: libsodium cannot start\n");
      return EXIT_FAILURE;
    }

  if (argc == 5 && g_str_equal (argv[1], "seed"))
    {
      guint64 n_messages;

      if (!g_ascii_string_to_unsigned (argv[4], 10, 0, G_MAXUINT, &n_messages, NULL))
        {
          g_printerr ("natter-gui-seed: not a number of messages: %s\n", argv[4]);
          return EXIT_FAILURE;
        }
      return seed (argv[2], argv[3], (guint) n_messages);
    }

  if (argc == 3 && g_str_equal (argv[1], "check-id"))
    return natter_user_id_is_valid (argv[2]) ? EXIT_SUCCESS : EXIT_FAILURE;

  g_printerr ("Usage: natter-gui-seed seed HISTORY.DB NAME N\n"
              "       natter-gui-seed check-id ID\n");
  return 2;
}
