/* view_indexer.c — `indexer(index, title, text, kind = "note", key = id)`:
 * writes one entry per row into a local full-text index (an SQLite file
 * with an FTS5 table) and passes the row on unchanged.
 *
 * `index` is a plain file name inside the host's index folder
 * (views_config.index_dir, never a path from the event: design decision
 * 12): separators, `..` and hidden names are refused, and a file that
 * exists there is written only if it is already an index (or empty), so no
 * name can turn the event store, a state file or another database into one.
 * The file is opened (and created with its tables when missing) at the
 * first row that names it, and the connection is kept for the rest of the
 * run.  An entry is identified by (key, title): writing the same pair again
 * replaces the entry, so a resumed run that processes an event a second
 * time does not duplicate it.  `efc search` (cli/cmd_search.c) reads it.
 */
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "stages.h"
#include "views.h"
#include "vm.h"

#define INDEX_NAME_MAX 128

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

int view_index_path(const char *dir, const char *name, size_t len, char *path, size_t size, char *err,
                    size_t err_size) {
  if (!dir || !*dir) {
    snprintf(err, err_size, "no index folder is configured, so no index is written (efc run --index-dir DIR, "
             "efc serve --index-dir DIR)");
    return -1;
  }
  if (len == 0) {
    snprintf(err, err_size, "`index` is empty: name the index file, e.g. \"kb.sqlite\"");
    return -1;
  }
  if (memchr(name, 0, len)) {
    snprintf(err, err_size, "the index name holds a NUL byte");
    return -1;
  }
  int shown = len > 60 ? 60 : (int)len;
  const char *more = len > 60 ? "..." : "";
  if (strchr(name, '/') || strchr(name, '\\') || strcmp(name, "..") == 0) {
    snprintf(err, err_size, "the index name \"%.*s%s\" leaves the index folder: give a plain file name such as "
             "\"kb.sqlite\"", shown, name, more);
    return -1;
  }
  int plain = len <= INDEX_NAME_MAX && name[0] != '.' && name[0] != '-';
  for (size_t i = 0; plain && i < len; i++) {
    char c = name[i];
    plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
            c == '-';
  }
  /* SQLite's companions of another index (its journal, write-ahead log and
   * shared memory) are not indexes. */
  static const char *const companions[] = { "-wal", "-shm", "-journal" };
  for (size_t i = 0; plain && i < sizeof companions / sizeof *companions; i++) {
    size_t n = strlen(companions[i]);
    plain = !(len > n && strcmp(name + len - n, companions[i]) == 0);
  }
  if (!plain) {
    snprintf(err, err_size, "the index name \"%.*s%s\" is not a plain file name (1 to %d of A-Z a-z 0-9 . _ -, "
             "not starting with . or -, not ending in -wal, -shm or -journal)", shown, name, more, INDEX_NAME_MAX);
    return -1;
  }
  if ((size_t)snprintf(path, size, "%s/%s", dir, name) >= size) {
    snprintf(err, err_size, "the index folder's path is too long");
    return -1;
  }
  return 0;
}

/* 0 when the open database is an index of ours or empty; else -1 and why. */
static int is_index_or_empty(sqlite3 *db, const char **why) {
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(db, "SELECT count(*), coalesce(sum(name = 'entries_fts'), 0) FROM sqlite_master", -1,
                              &st, NULL);
  if (rc == SQLITE_OK) rc = sqlite3_step(st) == SQLITE_ROW ? SQLITE_OK : sqlite3_errcode(db);
  int ok = rc == SQLITE_OK && (sqlite3_column_int(st, 0) == 0 || sqlite3_column_int(st, 1) == 1);
  if (rc != SQLITE_OK) *why = sqlite3_errmsg(db);
  else if (!ok) *why = "it holds other tables: it is not an index written by the indexer";
  sqlite3_finalize(st);
  return ok ? 0 : -1;
}

/* The open index at `path`, opening (and creating) it if needed; NULL with
 * the row dead-lettered on failure (a later row tries again). */
static struct index *index_at(struct stage_run *run, const char *path, const char *name) {
  for (struct index *ix = open_indexes; ix; ix = ix->next)
    if (strcmp(ix->path, path) == 0) return ix;
  struct index *ix = calloc(1, sizeof *ix);
  if (!ix || !(ix->path = strdup(path))) {
    free(ix);
    stage_fail(run, "indexer: out of memory");
    return NULL;
  }
  const char *what = "open", *why = NULL;
  struct stat sb;
  int rc = SQLITE_OK;
  /* Only a regular file (never a link, a folder or a FIFO that would block). */
  if (lstat(path, &sb) == 0) {
    if (!S_ISREG(sb.st_mode)) {
      rc = SQLITE_CANTOPEN;
      why = S_ISLNK(sb.st_mode) ? "a symbolic link is not followed" : "not a regular file";
    }
  } else if (errno != ENOENT) {
    rc = SQLITE_CANTOPEN;
    why = strerror(errno);
  }
  if (rc == SQLITE_OK)
    rc = sqlite3_open_v2(path, &ix->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOFOLLOW, NULL);
  if (rc == SQLITE_OK) {
    sqlite3_busy_timeout(ix->db, 5000);
    if (is_index_or_empty(ix->db, &why) != 0) rc = SQLITE_CANTOPEN;
  }
  if (rc == SQLITE_OK) {
    what = "set up";
    rc = sqlite3_exec(ix->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", NULL, NULL, NULL);
  }
  if (rc == SQLITE_OK) rc = sqlite3_exec(ix->db, schema, NULL, NULL, NULL);
  if (rc == SQLITE_OK) rc = sqlite3_prepare_v2(ix->db, upsert, -1, &ix->insert, NULL);
  if (rc != SQLITE_OK) {
    stage_fail(run, "indexer: cannot %s the index %s: %s", what, name,
               why ? why : ix->db ? sqlite3_errmsg(ix->db) : sqlite3_errstr(rc));
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
static int text_arg(struct stage_run *run, const char *name, int required, char **out, size_t *len) {
  struct json_object *v;
  *out = NULL;
  if (stage_arg(run, name, &v) != 0) return -1;
  if (!v || v == VM_MISSING) {
    if (!required) return 0;
    stage_fail(run, "indexer: `%s` is %s", name, v ? "absent" : "null");
    return -1;
  }
  /* A string's own length: a NUL inside stays visible to the checks. */
  int is_string = json_object_is_type(v, json_type_string);
  const char *s = is_string ? json_object_get_string(v)
                            : json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
  *len = is_string ? (size_t)json_object_get_string_len(v) : strlen(s);
  if ((*out = malloc(*len + 1))) {
    memcpy(*out, s, *len);
    (*out)[*len] = 0;
  }
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
  size_t len[N] = { 0 };
  int rc = 0;
  for (int i = 0; i < N; i++)
    if (text_arg(run, names[i], i != KIND, &a[i], &len[i]) != 0) goto out;
  const struct views_config *config = stage_views(run);
  char path[4096], err[400];
  if (view_index_path(config ? config->index_dir : NULL, a[INDEX], len[INDEX], path, sizeof path, err, sizeof err) != 0) {
    stage_fail(run, "indexer: %s", err);
    goto out;
  }
  struct index *ix = index_at(run, path, a[INDEX]);
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
    rc = stage_fail(run, "indexer: cannot write to the index %s: %s", a[INDEX], sqlite3_errmsg(ix->db));
  else
    rc = stage_continue(run, row, stage_now(run));
out:
  for (int i = 0; i < N; i++) free(a[i]);
  return rc;
}

const struct native_stage stage_indexer = { "indexer", indexer_process, NULL };
