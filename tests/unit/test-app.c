/* test-app.c: what the app keeps in a profile, without a display
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gstdio.h>

#include "natter-application.h"
#include "natter-message-row.h"
#include "natter-message-text.h"
#include "natter-qr-code.h"
#include "natter-text.h"
#include "natter-user-id-text.h"
#include "natter-protocol.h"
#include "natter-test-client.h"

static char *data_home;

static char *
profile_file (const char *name)
{
  return g_build_filename (data_home, "natter", "profiles", "default", name, NULL);
}

static void
test_message_links (void)
{
  const struct { const char *text; const char *markup; const char *link; } cases[] = {
    { "plain <b>text</b> & more", "plain &lt;b&gt;text&lt;/b&gt; &amp; more", NULL },
    { "see https://example.org/a?b=1&c=2.",
      "see <a href=\"https://example.org/a?b=1&amp;c=2\">https://example.org/a?b=1&amp;c=2</a>.",
      "https://example.org/a?b=1&c=2" },
    { "(www.example.org)", "(<a href=\"https://www.example.org\">www.example.org</a>)",
      "https://www.example.org" },
    { "https://en.wikipedia.org/wiki/Tree_(graph)",
      "<a href=\"https://en.wikipedia.org/wiki/Tree_(graph)\">"
      "https://en.wikipedia.org/wiki/Tree_(graph)</a>",
      "https://en.wikipedia.org/wiki/Tree_(graph)" },
    { "javascript:alert(1) file:///etc/passwd", "javascript:alert(1) file:///etc/passwd", NULL },
    { "http://x.org/\"onmouseover=", "<a href=\"http://x.org/\">http://x.org/</a>&quot;onmouseover=",
      "http://x.org/" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *link = NULL;
      g_autofree char *markup = natter_message_text_to_markup (cases[i].text, &link);

      g_assert_cmpstr (markup, ==, cases[i].markup);
      g_assert_cmpstr (link, ==, cases[i].link);
    }
}

static void
test_user_id_text (void)
{
  guint8 key[NATTER_PUBLIC_KEY_SIZE] = { 7, 42, 99 };
  g_autofree char *id = natter_user_id_from_public_key (key);
  g_autofree char *grouped = natter_user_id_text_grouped (id);
  g_autofree char *uri = natter_user_id_text_uri (id);
  g_autofree char *back = natter_user_id_text_from_uri (uri);
  g_autofree char *slashes = g_strconcat ("natter://", id, NULL);
  g_autofree char *back_slashes = natter_user_id_text_from_uri (slashes);
  g_auto(GStrv) groups = g_strsplit (grouped, " ", -1);
  g_autoptr(GString) joined = g_string_new (NULL);

  for (guint i = 0; groups[i] != NULL; i++)
    {
      if (groups[i + 1] != NULL)
        g_assert_cmpuint (strlen (groups[i]), ==, 4);
      g_string_append (joined, groups[i]);
    }
  g_assert_cmpstr (joined->str, ==, id);
  g_assert_cmpstr (back, ==, id);
  g_assert_cmpstr (back_slashes, ==, id);
  g_assert_null (natter_user_id_text_from_uri ("natter:not-an-id"));
  g_assert_null (natter_user_id_text_from_uri ("https://example.org"));
}

static void
test_server_url (void)
{
  const char *good[] = { "ws://127.0.0.1:8443/ws", "wss://natter.example.org/ws",
                         "WSS://natter.example.org", "ws://[::1]:9/ws" };
  const char *bad[] = { "", "natter.example.org", "http://natter.example.org/ws", "ws://",
                        "wss:///ws", "ws:natter" };

  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    g_assert_true (natter_application_validate_server_url (good[i], NULL));

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;

      g_assert_false (natter_application_validate_server_url (bad[i], &error));
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
    }

  g_assert_false (natter_application_validate_server_url (NULL, NULL));
}

static void
test_status_labels (void)
{
  /* The GUI tests and screen readers find status icons by these words. */
  g_assert_cmpstr (natter_message_row_status_label (NATTER_MESSAGE_STATUS_QUEUED), ==, "Queued");
  g_assert_cmpstr (natter_message_row_status_label (NATTER_MESSAGE_STATUS_SENT), ==, "Sent");
  g_assert_cmpstr (natter_message_row_status_label (NATTER_MESSAGE_STATUS_DELIVERED), ==,
                   "Delivered");
  g_assert_cmpstr (natter_message_row_status_label (NATTER_MESSAGE_STATUS_READ), ==, "Read");
  g_assert_cmpstr (natter_message_row_status_label (NATTER_MESSAGE_STATUS_FAILED), ==, "Failed");
}

static void
test_profile (void)
{
  g_autoptr(NatterApplication) app = natter_application_new ();
  g_autoptr(GKeyFile) keyfile = g_key_file_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) not_a_picture = g_bytes_new_static ("hello", 5);
  g_autofree char *settings_path = profile_file ("settings.ini");
  g_autofree char *avatar_path = profile_file ("avatar");
  g_autofree char *too_long = g_strnfill (200, 'a');
  g_autofree char *value = NULL;
  g_autofree char *server = NULL;

  /* No server yet: the app shows its first-run page. */
  g_assert_null (natter_application_dup_server_url (app));

  g_assert_true (natter_application_save_profile (app, "Ann", "Likes tea", NULL, FALSE, &error));
  g_assert_no_error (error);

  /* The same file and keys natter-cli reads */
  g_assert_true (g_key_file_load_from_file (keyfile, settings_path, G_KEY_FILE_NONE, &error));
  g_assert_no_error (error);
  value = g_key_file_get_string (keyfile, "profile", "name", NULL);
  g_assert_cmpstr (value, ==, "Ann");
  g_clear_pointer (&value, g_free);
  value = g_key_file_get_string (keyfile, "profile", "bio", NULL);
  g_assert_cmpstr (value, ==, "Likes tea");
  g_clear_pointer (&value, g_free);

  /* Refused values leave what was saved alone. */
  g_assert_false (natter_application_save_profile (app, too_long, NULL, NULL, FALSE, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (natter_application_save_profile (app, NULL, NULL, not_a_picture, FALSE, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);
  g_assert_false (g_file_test (avatar_path, G_FILE_TEST_EXISTS));
  value = natter_application_dup_profile_value (app, "name");
  g_assert_cmpstr (value, ==, "Ann");
  g_clear_pointer (&value, g_free);

  g_assert_false (natter_application_set_server_url (app, "http://example.org", &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_true (natter_application_set_server_url (app, "ws://127.0.0.1:9/ws", &error));
  g_assert_no_error (error);
  server = natter_application_dup_server_url (app);
  g_assert_cmpstr (server, ==, "ws://127.0.0.1:9/ws");

  g_assert_true (g_key_file_load_from_file (keyfile, settings_path, G_KEY_FILE_NONE, &error));
  value = g_key_file_get_string (keyfile, "client", "server", NULL);
  g_assert_cmpstr (value, ==, "ws://127.0.0.1:9/ws");
}

/* The Preferences' switches reach the client through GSettings */
static void
test_client_settings (void)
{
  g_autofree char *schema_dir = g_build_filename (g_getenv ("NATTER_BUILD_DIR"), "data", NULL);
  g_autoptr(GSettingsSchemaSource) source = NULL;
  g_autoptr(GSettingsSchema) schema = NULL;
  g_autoptr(GSettings) settings = NULL;
  g_autoptr(GError) error = NULL;
  char *dir = NULL;
  NatterClient *client;

  source = g_settings_schema_source_new_from_directory (schema_dir, NULL, TRUE, &error);
  g_assert_no_error (error);
  schema = g_settings_schema_source_lookup (source, APPLICATION_ID, FALSE);
  g_assert_nonnull (schema);
  settings = g_settings_new_full (schema, NULL, NULL);  /* GSETTINGS_BACKEND=memory */
  g_settings_set_boolean (settings, "send-read-receipts", FALSE);
  g_settings_set_boolean (settings, "relay-only", TRUE);

  client = natter_test_client_new (&dir);

  /* Bound: the client takes the settings as they are, then every change */
  natter_application_bind_client_settings (settings, client);
  g_assert_false (natter_client_get_send_read_receipts (client));
  g_assert_true (natter_client_get_relay_only (client));
  g_assert_true (natter_client_get_send_typing (client));
  g_settings_set_boolean (settings, "send-typing-indicators", FALSE);
  g_settings_set_boolean (settings, "relay-only", FALSE);
  g_assert_false (natter_client_get_send_typing (client));
  g_assert_false (natter_client_get_relay_only (client));

  /* The binding only reads the settings */
  natter_client_set_send_read_receipts (client, TRUE);
  g_assert_false (g_settings_get_boolean (settings, "send-read-receipts"));

  /* Unbound: the client keeps what it had */
  natter_application_unbind_client_settings (client);
  g_settings_set_boolean (settings, "relay-only", TRUE);
  g_assert_false (natter_client_get_relay_only (client));

  natter_test_client_free (client, dir);
}

/* Hostile names and bodies are shown as the text they are */
static void
test_hostile_text (void)
{
  static const char link[] = "<a href=\"https://evil.example/\">click</a> & <b>bold";
  g_autofree char *name = natter_text_one_line ("Ana\x1b]0;owned\x07\r\nBen\xe2\x80\xae");
  g_autofree char *plain_body = natter_text_notification_body (link, FALSE);
  g_autofree char *markup_body = natter_text_notification_body (link, TRUE);
  g_autofree char *lines = natter_text_notification_body ("one\ntwo\x1b[2J", TRUE);
  g_autofree char *broken = natter_text_one_line ("caf\xc3");

  g_assert_cmpstr (name, ==, "Ana\xef\xbf\xbd]0;owned\xef\xbf\xbd  Ben\xef\xbf\xbd");
  g_assert_cmpstr (plain_body, ==, link);
  g_assert_cmpstr (markup_body, ==,
                   "&lt;a href=&quot;https://evil.example/&quot;&gt;click&lt;/a&gt; &amp; "
                   "&lt;b&gt;bold");
  /* What a markup-reading server gets parses back to exactly the text */
  g_assert_true (pango_parse_markup (markup_body, -1, 0, NULL, NULL, NULL, NULL));
  g_assert_cmpstr (lines, ==, "one\ntwo\xef\xbf\xbd[2J");
  g_assert_true (g_utf8_validate (broken, -1, NULL));
}

/* The QR code of a natter: link reads back as the link, through a real
 * decoder (zbarimg, Debian package zbar-tools). */
static void
test_qr_code (void)
{
  g_autofree char *zbarimg = g_find_program_in_path ("zbarimg");
  g_autofree char *uri = natter_user_id_text_uri ("tpzquiglzoasj6mdmkm5zxcpp2n3h2zh6nw4hkgp4q6foneon4rzxqb3");
  g_autofree char *path = g_build_filename (data_home, "qr.png", NULL);
  g_autofree char *out = NULL;
  g_autofree char *long_text = g_strnfill (8000, 'a');
  g_autoptr(GdkTexture) texture = NULL;
  g_autoptr(GdkTexture) too_long = NULL;
  g_autoptr(GError) error = NULL;
  const char *argv[] = { NULL, "--raw", "-q", NULL, NULL };
  int status;

  texture = natter_qr_code_new (uri, 4, &error);
  g_assert_no_error (error);
  /* Square, with a quiet zone of 4 modules on each side, 4 px each */
  g_assert_cmpint (gdk_texture_get_width (texture), ==, gdk_texture_get_height (texture));
  g_assert_cmpint ((gdk_texture_get_width (texture) / 4 - 8 - 21) % 4, ==, 0);

  /* Too long for any QR code: an error in words */
  too_long = natter_qr_code_new (long_text, 4, &error);
  g_assert_null (too_long);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  if (zbarimg == NULL)
    {
      g_test_skip ("zbarimg is not installed (Debian package zbar-tools): cannot read the code back");
      return;
    }

  g_assert_true (gdk_texture_save_to_png (texture, path));
  argv[0] = zbarimg;
  argv[3] = path;
  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out, NULL,
                &status, &error);
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_strchomp (out);
  g_assert_cmpstr (out, ==, uri);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  int status;

  /* Before anything asks GLib for the user data folder */
  data_home = g_dir_make_tmp ("natter-test-app-XXXXXX", &error);
  g_assert_no_error (error);
  g_setenv ("XDG_DATA_HOME", data_home, TRUE);

  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/Natter/App/server-url", test_server_url);
  g_test_add_func ("/Natter/App/message-links", test_message_links);
  g_test_add_func ("/Natter/App/user-id-text", test_user_id_text);
  g_test_add_func ("/Natter/App/status-labels", test_status_labels);
  g_test_add_func ("/Natter/App/profile", test_profile);
  g_test_add_func ("/Natter/App/hostile-text", test_hostile_text);
  g_test_add_func ("/Natter/App/client-settings", test_client_settings);
  g_test_add_func ("/Natter/App/qr-code", test_qr_code);

  status = g_test_run ();

  {
    g_autofree char *settings_path = profile_file ("settings.ini");
    g_autofree char *profile_dir = g_build_filename (data_home, "natter", "profiles", "default",
                                                     NULL);
    g_autofree char *profiles_dir = g_build_filename (data_home, "natter", "profiles", NULL);
    g_autofree char *natter_dir = g_build_filename (data_home, "natter", NULL);

    g_unlink (settings_path);
    g_rmdir (profile_dir);
    g_rmdir (profiles_dir);
    g_rmdir (natter_dir);
    g_rmdir (data_home);
  }
  g_free (data_home);

  return status;
}
