/* natter-store-search.c: full-text search over message bodies (FTS5)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "natter-store"

#include "config.h"

#include <string.h>

#include "natter-store-private.h"

#define DEFAULT_SEARCH_LIMIT 50

static NatterStoreSearchHit *natter_store_search_hit_copy (NatterStoreSearchHit *hit);

G_DEFINE_BOXED_TYPE (NatterStoreSearchHit, natter_store_search_hit,
                     natter_store_search_hit_copy, natter_store_search_hit_free)

static NatterStoreSearchHit *
natter_store_search_hit_copy (NatterStoreSearchHit *hit)
{
  NatterStoreSearchHit *copy = g_new0 (NatterStoreSearchHit, 1);

  copy->message = g_object_ref (hit->message);
  copy->snippet = g_strdup (hit->snippet);
  copy->snippet_markup = g_strdup (hit->snippet_markup);
  return copy;
}

void
natter_store_search_hit_free (NatterStoreSearchHit *hit)
{
  if (hit == NULL)
    return;

  g_clear_object (&hit->message);
  g_free (hit->snippet);
  g_free (hit->snippet_markup);
  g_free (hit);
}

/* Public API: search */

/* Turns what the user typed into an FTS5 query: every word must occur, as a
 * word or the start of one; FTS5 operators in the text are taken literally. */
static char *
search_text_to_query (const char *text)
{
  g_auto(GStrv) words = g_strsplit_set (text, " \t\r\n", -1);
  g_autoptr(GString) query = g_string_new (NULL);

  for (guint i = 0; words[i] != NULL; i++)
    {
      g_autoptr(GString) word = NULL;

      if (words[i][0] == '\0')
        continue;

      word = g_string_new (words[i]);
      g_string_replace (word, "\"", "\"\"", 0);
      if (query->len > 0)
        g_string_append_c (query, ' ');
      g_string_append_printf (query, "\"%s\"*", word->str);
    }

  return query->len > 0 ? g_string_free (g_steal_pointer (&query), FALSE) : NULL;
}

#define SNIPPET_OPEN  "\xff"
#define SNIPPET_CLOSE "\xfe"

/* FTS5's snippet() marks matches with the bytes 0xff ... 0xfe, which never
 * occur in UTF-8 and so never in a body; make plain and markup forms. */
static void
search_hit_set_snippet (NatterStoreSearchHit *hit,
                        const char           *marked)
{
  g_autoptr(GString) plain = g_string_new (NULL);
  g_autoptr(GString) markup = g_string_new (NULL);
  const char *p = marked != NULL ? marked : "";

  while (*p != '\0')
    {
      const char *end = strpbrk (p, SNIPPET_OPEN SNIPPET_CLOSE);
      gsize len = end != NULL ? (gsize) (end - p) : strlen (p);
      g_autofree char *escaped = g_markup_escape_text (p, len);

      g_string_append_len (plain, p, len);
      g_string_append (markup, escaped);
      if (end == NULL)
        break;

      g_string_append (markup, *end == SNIPPET_OPEN[0] ? "<b>" : "</b>");
      p = end + 1;
    }

  hit->snippet = g_string_free (g_steal_pointer (&plain), FALSE);
  hit->snippet_markup = g_string_free (g_steal_pointer (&markup), FALSE);
}

/**
 * natter_store_search:
 * @text: what the user typed; each word must occur (prefixes match)
 * @user_id: (nullable): search only this conversation, or %NULL for all
 * @limit: how many results at most, or 0 for a default
 *
 * Full-text search over message bodies, newest first.
 *
 * Returns: (transfer full) (element-type NatterStoreSearchHit): the results,
 *   or %NULL with @error set
 */
GPtrArray *
natter_store_search (NatterStore  *self,
                     const char   *text,
                     const char   *user_id,
                     guint         limit,
                     GError      **error)
{
  g_autoptr(GPtrArray) hits = g_ptr_array_new_with_free_func ((GDestroyNotify) natter_store_search_hit_free);
  g_autoptr(StoreStmt) stmt = NULL;
  g_autofree char *query = NULL;
  gint64 conversation_id = -1;
  int rc;

  g_return_val_if_fail (NATTER_IS_STORE (self), NULL);
  g_return_val_if_fail (text != NULL, NULL);

  if (self->schema_version < 2)
    {
      g_set_error_literal (error, NATTER_STORE_ERROR, NATTER_STORE_ERROR_FAILED,
                           "Search needs the history database to be upgraded");
      return NULL;
    }

  if (user_id != NULL &&
      !_natter_store_find_conversation (self, user_id, NULL, &conversation_id, error))
    return NULL;

  query = search_text_to_query (text);
  if (query == NULL)
    return g_steal_pointer (&hits);

  stmt = _natter_store_query (self, error,
                              "SELECT " MESSAGE_COLUMNS ", c.user_id, "
                              "  snippet (messages_fts, 0, CAST (X'ff' AS TEXT), CAST (X'fe' AS TEXT), '…', 12) "
                              "FROM messages_fts "
                              "JOIN messages m ON m.id = messages_fts.rowid "
                              "JOIN conversations cv ON cv.id = m.conversation_id "
                              "JOIN contacts c ON c.id = cv.contact_id "
                              "WHERE messages_fts MATCH ?1 AND (?2 < 0 OR m.conversation_id = ?2) "
                              "ORDER BY messages_fts.rowid DESC LIMIT ?3",
                              "tii", query, conversation_id,
                              (gint64) (limit > 0 ? limit : DEFAULT_SEARCH_LIMIT));
  if (stmt == NULL)
    return NULL;

  while ((rc = _natter_store_step (self, stmt, "search messages", error)) == SQLITE_ROW)
    {
      NatterStoreSearchHit *hit = g_new0 (NatterStoreSearchHit, 1);
      const char *user_id = _natter_store_column_text (stmt, MESSAGE_N_COLUMNS);

      hit->message = _natter_store_message_from_row (self, stmt, 0, user_id);
      search_hit_set_snippet (hit, _natter_store_column_text (stmt, MESSAGE_N_COLUMNS + 1));
      g_ptr_array_add (hits, hit);
    }

  return rc == SQLITE_DONE ? g_steal_pointer (&hits) : NULL;
}

