/* cmd_search.c — `efc search INDEX QUERY [--limit N] [--json]`: full-text
 * search of an index written by the `indexer` view (runtime/view_indexer.c),
 * best matches first (bm25), each with a snippet around the matched words. */
#include <errno.h>
#include <json-c/json.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "cli.h"

static const char help[] =
  "usage: efc search INDEX QUERY [--limit N] [--json]\n\n"
  "Searches the full-text index INDEX (an SQLite file written by the `indexer`\n"
  "view, e.g. kb.sqlite in the --index-dir of `efc run`) and prints the best\n"
  "matching entries first, each with its title, kind and time and a snippet\n"
  "with the matched words in [brackets].\n\n"
  "QUERY is an SQLite FTS5 query: words (all must match; English endings are\n"
  "ignored: \"meeting\" finds \"meetings\"), \"a phrase\", OR, NOT, prefix*,\n"
  "NEAR(a b), and column filters: title:word, text:word, kind:window.\n\n"
  "options:\n"
  "  --limit N   at most N entries (default 10, at most 10000)\n"
  "  --json      one JSON object per entry (rank, score, title, kind, time,\n"
  "              event, key, snippet, text) instead of text\n\n"
  "exit status: 0 (with or without matches), 1 when the index cannot be read\n"
  "or the query is not valid FTS5, 2 for a usage error\n";

/* Title matches weigh more than text matches; kind weighs least. */
static const char query_sql[] =
  "SELECT e.title, e.kind, e.time, e.event, e.key, e.text, "
  "       snippet(entries_fts, 1, '[', ']', '...', 16), bm25(entries_fts, 4.0, 1.0, 0.5) AS score "
  "FROM entries_fts JOIN entries e ON e.id = entries_fts.rowid "
  "WHERE entries_fts MATCH ?1 ORDER BY score, e.id LIMIT ?2";

static const char *col(sqlite3_stmt *st, int i) {
  const unsigned char *s = sqlite3_column_text(st, i);
  return s ? (const char *)s : "";
}

int cmd_search(int argc, char **argv) {
  if (cli_wants_help(argc, argv, help)) return 0;
  const char *path = NULL, *query = NULL;
  long limit = 10;
  int json = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--json") == 0) {
      json = 1;
    } else if (strcmp(argv[i], "--limit") == 0) {
      char *end;
      errno = 0;
      limit = i + 1 < argc ? strtol(argv[++i], &end, 10) : 0;
      if (i >= argc || errno || *end || limit < 1 || limit > 10000) {
        fprintf(stderr, "efc search: --limit needs a number from 1 to 10000\n");
        return 2;
      }
    } else if (argv[i][0] == '-' && argv[i][1] == '-') {
      fprintf(stderr, "efc search: unknown option '%s'\n\n%s", argv[i], help);
      return 2;
    } else if (!path) {
      path = argv[i];
    } else if (!query) {
      query = argv[i];
    } else {
      fprintf(stderr, "efc search: one query only (quote it: efc search %s \"a b\")\n", path);
      return 2;
    }
  }
  if (!path || !query) {
    fputs(help, stderr);
    return 2;
  }
  struct stat sb;
  if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    fprintf(stderr, "efc search: %s: %s (a run of a flow that calls indexer(index: \"%s\", ...) creates it "
            "in its --index-dir)\n", path, stat(path, &sb) != 0 ? strerror(errno) : "not a regular file", path);
    return 1;
  }
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  int rc = 1;
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
    fprintf(stderr, "efc search: %s: %s\n", path, db ? sqlite3_errmsg(db) : "cannot open");
    goto out;
  }
  sqlite3_busy_timeout(db, 5000);
  if (sqlite3_prepare_v2(db, query_sql, -1, &st, NULL) != SQLITE_OK) {
    const char *msg = sqlite3_errmsg(db);
    if (strstr(msg, "no such table") || strstr(msg, "no such column") || strstr(msg, "not a database"))
      fprintf(stderr, "efc search: %s is not an index written by the indexer view (%s)\n", path, msg);
    else
      fprintf(stderr, "efc search: %s: %s\n", path, msg);
    goto out;
  }
  sqlite3_bind_text(st, 1, query, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, limit);
  int n = 0, step;
  while ((step = sqlite3_step(st)) == SQLITE_ROW) {
    n++;
    if (json) {
      struct json_object *o = json_object_new_object();
      json_object_object_add(o, "rank", json_object_new_int(n));
      json_object_object_add(o, "score", json_object_new_double(sqlite3_column_double(st, 7)));
      static const char *const keys[] = { "title", "kind", "time", "event", "key", "text", "snippet" };
      for (int k = 0; k < 7; k++) {
        if (sqlite3_column_type(st, k) == SQLITE_NULL) json_object_object_add(o, keys[k], NULL);
        else json_object_object_add(o, keys[k], json_object_new_string(col(st, k)));
      }
      puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
      json_object_put(o);
    } else {
      printf("%d. %s  (%s, %s)\n   %s\n", n, col(st, 0), col(st, 1), col(st, 2), col(st, 6));
    }
  }
  if (step != SQLITE_DONE) {
    const char *msg = sqlite3_errmsg(db);
    /* The statement prepared, so a plain SQLITE_ERROR now is FTS5 refusing the query. */
    if (sqlite3_errcode(db) == SQLITE_ERROR)
      fprintf(stderr, "efc search: the query \"%s\" is not valid FTS5: %s (see efc search --help)\n", query, msg);
    else
      fprintf(stderr, "efc search: %s: %s\n", path, msg);
    goto out;
  }
  if (!json && n == 0) printf("no entries match \"%s\"\n", query);
  fflush(stdout);
  rc = ferror(stdout) ? 1 : 0;
out:
  sqlite3_finalize(st);
  sqlite3_close(db);
  return rc;
}
