/* view_indexer.c — `indexer(index, title, text, kind = "note", key = id)`:
 * writes one entry per row into a local full-text index (an SQLite file
 * with an FTS5 table) and passes the row on unchanged.
 *
 * The file is opened (and created with its tables when missing) at the
 * first row that names it, and the connection is kept for the rest of the
 * run.  An entry is identified by (key, title): writing the same pair again
 * replaces the entry, so a resumed run that processes an event a second
 * time does not duplicate it.  `efc search` (cli/cmd_search.c) reads it.
 */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include "stages.h"
#include "vm.h"

/* The schema, shared with cmd_search.c through the names it queries:
 * `entries` holds the rows, `entries_fts` indexes title, text and kind
 * (an external-content FTS5 table kept in step by triggers). */
static const char schema[] =
  "CREATE TABLE IF NOT EXISTS entries("
  "  id INTEGER PRIMARY KEY,"
  "  key TEXT NOT NULL,"
  "  title TEXT NOT NULL,"
  "  text TEXT NOT NULL,"
  "  kind TEXT NOT NULL,"
  "  time TEXT,"
  "  event TEXT,"
  "  UNIQUE(key, title));"
  "CREATE VIRTUAL TABLE IF NOT EXISTS entries_fts USING fts5("
  "  title, text, kind, content='entries', content_rowid='id', tokenize='porter unicode61');"
  "CREATE TRIGGER IF NOT EXISTS entries_ai AFTER INSERT ON entries BEGIN"
  "  INSERT INTO entries_fts(rowid, title, text, kind) VALUES (new.id, new.title, new.text, new.kind);"
  "END;"
  "CREATE TRIGGER IF NOT EXISTS entries_ad AFTER DELETE ON entries BEGIN"
  "  INSERT INTO entries_fts(entries_fts, rowid, title, text, kind) VALUES ('delete', old.id, old.title, old.text, old.kind);"
  "END;"
  "CREATE TRIGGER IF NOT EXISTS entries_au AFTER UPDATE ON entries BEGIN"
  "  INSERT INTO entries_fts(entries_fts, rowid, title, text, kind) VALUES ('delete', old.id, old.title, old.text, old.kind);"
  "  INSERT INTO entries_fts(rowid, title, text, kind) VALUES (new.id, new.title, new.text, new.kind);"
  "END;";

/* An UPSERT (not INSERT OR REPLACE): it fires the UPDATE trigger, so the
 * FTS table drops the old text of a replaced entry. */
static const char upsert[] =
  "INSERT INTO entries(key, title, text, kind, time, event) VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
  "ON CONFLICT(key, title) DO UPDATE SET text = excluded.text, kind = excluded.kind, time = excluded.time, "
  "event = excluded.event";

/* One open index per path, kept for the run. */
struct index {
  struct index *next;
  char *path;
  sqlite3 *db;
  sqlite3_stmt *insert;
};
static struct index *open_indexes;
static int registered;

static void close_all(void) {
  while (open_indexes) {
    struct index *ix = open_indexes;
    open_indexes = ix->next;
    sqlite3_finalize(ix->insert);
    sqlite3_close(ix->db);
    free(ix->path);
    free(ix);
  }
}

/* The open index at `path`, opening (and creating) it if needed; NULL with
 * the row dead-lettered on failure (a later row tries again). */
static struct index *index_at(struct stage_run *run, const char *path) {
  for (struct index *ix = open_indexes; ix; ix = ix->next)
    if (strcmp(ix->path, path) == 0) return ix;
  struct index *ix = calloc(1, sizeof *ix);
  if (!ix || !(ix->path = strdup(path))) {
    free(ix);
    stage_fail(run, "indexer: out of memory");
    return NULL;
  }
  const char *what = "open";
  int rc = sqlite3_open_v2(path, &ix->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
  if (rc == SQLITE_OK) {
    sqlite3_busy_timeout(ix->db, 5000);
    what = "set up";
    rc = sqlite3_exec(ix->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", NULL, NULL, NULL);
  }
  if (rc == SQLITE_OK) rc = sqlite3_exec(ix->db, schema, NULL, NULL, NULL);
  if (rc == SQLITE_OK) rc = sqlite3_prepare_v2(ix->db, upsert, -1, &ix->insert, NULL);
  if (rc != SQLITE_OK) {
    stage_fail(run, "indexer: cannot %s the index %s: %s", what, path,
               ix->db ? sqlite3_errmsg(ix->db) : sqlite3_errstr(rc));
    sqlite3_finalize(ix->insert);
    sqlite3_close(ix->db);
    free(ix->path);
    free(ix);
    return NULL;
  }
  if (!registered) {
    registered = 1;
    atexit(close_all);
  }
  ix->next = open_indexes;
  open_indexes = ix;
  return ix;
}

/* Argument `name` as text: strings as they are, other values as JSON.
 * 0 and a new copy (NULL when absent or null and not required), -1 when
 * the row was dead-lettered. */
static int text_arg(struct stage_run *run, const char *name, int required, char **out) {
  struct json_object *v;
  *out = NULL;
  if (stage_arg(run, name, &v) != 0) return -1;
  if (!v || v == VM_MISSING) {
    if (!required) return 0;
    stage_fail(run, "indexer: `%s` is %s", name, v ? "absent" : "null");
    return -1;
  }
  const char *s = json_object_is_type(v, json_type_string)
                    ? json_object_get_string(v)
                    : json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
  *out = strdup(s);
  vm_release(v);
  if (!*out) {
    stage_fail(run, "indexer: out of memory");
    return -1;
  }
  return 0;
}

static int indexer_process(struct stage_run *run, struct json_object *row) {
  enum { INDEX, TITLE, TEXT, KIND, KEY, N };
  static const char *const names[N] = { "index", "title", "text", "kind", "key" };
  char *a[N] = { 0 };
  int rc = 0;
  for (int i = 0; i < N; i++)
    if (text_arg(run, names[i], i != KIND, &a[i]) != 0) goto out;
  if (!a[INDEX][0]) {
    stage_fail(run, "indexer: `index` is empty: name the index file, e.g. \"kb.sqlite\"");
    goto out;
  }
  struct index *ix = index_at(run, a[INDEX]);
  if (!ix) goto out;
  char when[40];
  vm_format_time(stage_now(run), when, sizeof when);
  const char *event = stage_event_name(run);
  sqlite3_stmt *st = ix->insert;
  sqlite3_bind_text(st, 1, a[KEY], -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, a[TITLE], -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 3, a[TEXT], -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 4, a[KIND] ? a[KIND] : "note", -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 5, when, -1, SQLITE_STATIC);
  if (event) sqlite3_bind_text(st, 6, event, -1, SQLITE_STATIC);
  else sqlite3_bind_null(st, 6);
  int step = sqlite3_step(st);
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  if (step != SQLITE_DONE)
    rc = stage_fail(run, "indexer: cannot write to the index %s: %s", ix->path, sqlite3_errmsg(ix->db));
  else
    rc = stage_continue(run, row, stage_now(run));
out:
  for (int i = 0; i < N; i++) free(a[i]);
  return rc;
}

const struct native_stage stage_indexer = { "indexer", indexer_process, NULL };
