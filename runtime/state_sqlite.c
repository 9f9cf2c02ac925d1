/* state_sqlite.c — the SQLite state backend: one file, WAL journal.
 *
 * Schema (version 1, PRAGMA user_version; PRAGMA application_id marks the
 * file as an efc state store):
 *
 *   item (flow TEXT, stage TEXT, key TEXT, value TEXT, version INTEGER,
 *         expires INTEGER)  PRIMARY KEY (flow, stage, key), WITHOUT ROWID
 *   item_by_expiry ON item (expires, flow, stage, key) WHERE expires > 0
 *   meta (name TEXT PRIMARY KEY, value TEXT)  WITHOUT ROWID
 *
 * Guarantees.  Every write is one SQL statement whose condition is part of
 * the statement (INSERT .. ON CONFLICT, UPDATE .. WHERE version = ?), so a
 * conditional write is atomic even outside a transaction.  state_begin is
 * BEGIN IMMEDIATE: the write lock is taken at once (waiting up to the busy
 * timeout), so the reads of a read-modify-write cannot go stale and a
 * transaction never fails half-way for a lock.  WAL makes a commit one
 * append to the -wal file: a process killed at any point leaves the file
 * with every committed transaction and no part of an uncommitted one;
 * synchronous=FULL (default) fsyncs that append so a power loss cannot
 * take a commit back either (NORMAL trades that for speed, see state.h).
 *
 * Opening checks the file before trusting it: not a database / corrupt,
 * another program's database, a schema version this build does not know —
 * each a clear message, never a crash.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "state.h"

#define STATE_APPLICATION_ID   0x45464353     /* "EFCS" */
#define DEFAULT_BUSY_TIMEOUT   5000           /* ms */

#define ITEM_COLUMNS "flow, stage, key, value, version, expires"

/* Every statement, declared once: X(name, sql). */
#define SQLITE_STATEMENTS(X)                                                          \
  X(BEGIN, "BEGIN IMMEDIATE")                                                        \
  X(COMMIT, "COMMIT")                                                                \
  X(ROLLBACK, "ROLLBACK")                                                            \
  X(GET, "SELECT value, version, expires FROM item"                                  \
         " WHERE flow = ?1 AND stage = ?2 AND key = ?3")                             \
  X(PUT_ANY, "INSERT INTO item (" ITEM_COLUMNS ") VALUES (?1, ?2, ?3, ?4, 1, ?5)"    \
             " ON CONFLICT (flow, stage, key) DO UPDATE SET value = excluded.value," \
             " version = version + 1, expires = excluded.expires RETURNING version") \
  X(PUT_NEW, "INSERT INTO item (" ITEM_COLUMNS ") VALUES (?1, ?2, ?3, ?4, 1, ?5)"    \
             " ON CONFLICT (flow, stage, key) DO NOTHING RETURNING version")         \
  X(PUT_IF, "UPDATE item SET value = ?4, version = version + 1, expires = ?5"        \
            " WHERE flow = ?1 AND stage = ?2 AND key = ?3 AND version = ?6"          \
            " RETURNING version")                                                    \
  X(DELETE, "DELETE FROM item WHERE flow = ?1 AND stage = ?2 AND key = ?3"           \
            " AND (?4 < 0 OR version = ?4) RETURNING version")                       \
  X(SCAN_FROM, "SELECT key, value, version, expires FROM item"                       \
               " WHERE flow = ?1 AND stage = ?2 AND key >= ?3"                       \
               " ORDER BY key LIMIT ?5")                                             \
  X(SCAN_FROM_TO, "SELECT key, value, version, expires FROM item"                    \
                  " WHERE flow = ?1 AND stage = ?2 AND key >= ?3 AND key < ?4"       \
                  " ORDER BY key LIMIT ?5")                                          \
  X(SCAN_AFTER, "SELECT key, value, version, expires FROM item"                      \
                " WHERE flow = ?1 AND stage = ?2 AND key > ?3"                       \
                " ORDER BY key LIMIT ?5")                                            \
  X(SCAN_AFTER_TO, "SELECT key, value, version, expires FROM item"                   \
                   " WHERE flow = ?1 AND stage = ?2 AND key > ?3 AND key < ?4"       \
                   " ORDER BY key LIMIT ?5")                                         \
  X(EXPIRED_FIRST, "SELECT " ITEM_COLUMNS " FROM item"                               \
                   " WHERE expires > 0 AND expires <= ?1"                            \
                   " ORDER BY expires, flow, stage, key LIMIT ?2")                   \
  X(EXPIRED_NEXT, "SELECT " ITEM_COLUMNS " FROM item"                                \
                  " WHERE expires > 0 AND expires <= ?1"                             \
                  " AND (expires, flow, stage, key) > (?3, ?4, ?5, ?6)"              \
                  " ORDER BY expires, flow, stage, key LIMIT ?2")                    \
  X(META_GET, "SELECT value FROM meta WHERE name = ?1")                              \
  X(META_PUT, "INSERT INTO meta (name, value) VALUES (?1, ?2)"                       \
              " ON CONFLICT (name) DO UPDATE SET value = excluded.value")

enum sqlite_statement {
#define SQLITE_STATEMENT_ENUM(name, sql) SQL_##name,
  SQLITE_STATEMENTS(SQLITE_STATEMENT_ENUM)
#undef SQLITE_STATEMENT_ENUM
  SQL__COUNT
};

static const char *const statement_sql[SQL__COUNT] = {
#define SQLITE_STATEMENT_TEXT(name, sql) sql,
  SQLITE_STATEMENTS(SQLITE_STATEMENT_TEXT)
#undef SQLITE_STATEMENT_TEXT
};

/* Version 1, created in one transaction when the file has no tables. */
static const char schema_v1[] =
    "CREATE TABLE item ("
    "  flow    TEXT NOT NULL,"
    "  stage   TEXT NOT NULL,"
    "  key     TEXT NOT NULL,"
    "  value   TEXT NOT NULL,"
    "  version INTEGER NOT NULL,"
    "  expires INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (flow, stage, key)"
    ") WITHOUT ROWID;"
    "CREATE INDEX item_by_expiry ON item (expires, flow, stage, key) WHERE expires > 0;"
    "CREATE TABLE meta ("
    "  name  TEXT NOT NULL PRIMARY KEY,"
    "  value TEXT NOT NULL"
    ") WITHOUT ROWID;";

struct sqlite_store {
  sqlite3 *db;
  char *path;
  sqlite3_stmt *statements[SQL__COUNT];
};

static struct sqlite_store *ctx(struct state_store *st)
{
  return state_context(st);
}

/* ---- errors ------------------------------------------------------------------ */

static enum state_status status_of(int rc)
{
  switch (rc & 0xff) {
  case SQLITE_OK:
  case SQLITE_ROW:
  case SQLITE_DONE:
    return STATE_OK;
  case SQLITE_BUSY:
  case SQLITE_LOCKED:
    return STATE_BUSY;
  case SQLITE_CORRUPT:
  case SQLITE_NOTADB:
    return STATE_CORRUPT;
  case SQLITE_NOMEM:
    return STATE_NOMEM;
  default:
    return STATE_IO;
  }
}

static enum state_status fail_rc(struct state_store *st, int rc, const char *what)
{
  struct sqlite_store *q = ctx(st);
  return state_fail(st, status_of(rc), "sqlite state store %s: %s: %s (%s)", q->path, what,
                    sqlite3_errmsg(q->db), sqlite3_errstr(rc));
}

/* ---- statements ------------------------------------------------------------ */

static sqlite3_stmt *statement(struct sqlite_store *q, enum sqlite_statement id)
{
  return q->statements[id];
}

static void done(sqlite3_stmt *stmt)
{
  sqlite3_reset(stmt);
  sqlite3_clear_bindings(stmt);
}

static void bind_key(sqlite3_stmt *stmt, const struct state_key *k)
{
  sqlite3_bind_text(stmt, 1, k->flow, -1, SQLITE_STATIC);
  sqlite3_bind_text(stmt, 2, k->stage, -1, SQLITE_STATIC);
  sqlite3_bind_text(stmt, 3, k->key, -1, SQLITE_STATIC);
}

/* Run a statement that returns nothing. */
static enum state_status run(struct state_store *st, enum sqlite_statement id, const char *what)
{
  sqlite3_stmt *stmt = statement(ctx(st), id);
  int rc = sqlite3_step(stmt);
  enum state_status s = rc == SQLITE_DONE ? STATE_OK : fail_rc(st, rc, what);
  done(stmt);
  return s;
}

/* Step a write with RETURNING to its end; *returned = 1 and *version when a
 * row came back. */
static enum state_status run_returning(struct state_store *st, sqlite3_stmt *stmt,
                                       const char *what, int *returned, int64_t *version)
{
  int rc;
  *returned = 0;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    *returned = 1;
    *version = sqlite3_column_int64(stmt, 0);
  }
  enum state_status s = rc == SQLITE_DONE ? STATE_OK : fail_rc(st, rc, what);
  done(stmt);
  return s;
}

static char *column_copy(sqlite3_stmt *stmt, int column)
{
  const unsigned char *text = sqlite3_column_text(stmt, column);
  int n = sqlite3_column_bytes(stmt, column);
  if (!text)
    return NULL;
  char *copy = malloc((size_t)n + 1);
  if (copy) {
    memcpy(copy, text, (size_t)n);
    copy[n] = '\0';
  }
  return copy;
}

/* ---- transactions ------------------------------------------------------------- */

static enum state_status sqlite_begin(struct state_store *st)
{
  return run(st, SQL_BEGIN, "begin");
}

static enum state_status sqlite_commit(struct state_store *st)
{
  return run(st, SQL_COMMIT, "commit");
}

static enum state_status sqlite_rollback(struct state_store *st)
{
  /* Some errors (I/O, full disk) make SQLite roll back by itself. */
  if (sqlite3_get_autocommit(ctx(st)->db))
    return STATE_OK;
  return run(st, SQL_ROLLBACK, "rollback");
}

/* ---- items ------------------------------------------------------------------------ */

static enum state_status sqlite_get(struct state_store *st, const struct state_key *k,
                                    char **value, int64_t *version, int64_t *expires)
{
  sqlite3_stmt *stmt = statement(ctx(st), SQL_GET);
  bind_key(stmt, k);
  int rc = sqlite3_step(stmt);
  enum state_status s = STATE_OK;
  if (rc == SQLITE_ROW) {
    *version = sqlite3_column_int64(stmt, 1);
    *expires = sqlite3_column_int64(stmt, 2);
    if (value && !(*value = column_copy(stmt, 0)))
      s = state_fail(st, STATE_NOMEM, "sqlite state store: out of memory");
  } else if (rc == SQLITE_DONE) {
    s = STATE_NOT_FOUND;
  } else {
    s = fail_rc(st, rc, "get");
  }
  done(stmt);
  return s;
}

static enum state_status sqlite_put(struct state_store *st, const struct state_key *k,
                                    const char *value, int64_t expires, int64_t expected_version,
                                    int64_t *new_version)
{
  enum sqlite_statement id = expected_version < 0 ? SQL_PUT_ANY
                             : expected_version == 0 ? SQL_PUT_NEW
                                                     : SQL_PUT_IF;
  sqlite3_stmt *stmt = statement(ctx(st), id);
  bind_key(stmt, k);
  sqlite3_bind_text(stmt, 4, value, -1, SQLITE_STATIC);
  sqlite3_bind_int64(stmt, 5, expires);
  if (id == SQL_PUT_IF)
    sqlite3_bind_int64(stmt, 6, expected_version);
  int returned;
  enum state_status s = run_returning(st, stmt, "put", &returned, new_version);
  if (s == STATE_OK && !returned)
    s = STATE_CONFLICT;
  return s;
}

static enum state_status sqlite_delete(struct state_store *st, const struct state_key *k,
                                       int64_t expected_version)
{
  sqlite3_stmt *stmt = statement(ctx(st), SQL_DELETE);
  bind_key(stmt, k);
  sqlite3_bind_int64(stmt, 4, expected_version);
  int returned;
  int64_t version;
  enum state_status s = run_returning(st, stmt, "delete", &returned, &version);
  if (s == STATE_OK && !returned)
    s = expected_version < 0 ? STATE_NOT_FOUND : STATE_CONFLICT;
  return s;
}

/* The least string greater than every string that starts with prefix:
 * drop trailing 0xFF bytes, add one to the last byte.  0 when there is
 * none (the prefix is empty or all 0xFF). */
static size_t prefix_successor(const char *prefix, char *out)
{
  size_t n = strlen(prefix);
  while (n > 0 && (unsigned char)prefix[n - 1] == 0xFF)
    n--;
  if (n == 0)
    return 0;
  memcpy(out, prefix, n);
  out[n - 1] = (char)((unsigned char)out[n - 1] + 1);
  return n;
}

static enum state_status sqlite_scan_page(struct state_store *st, const char *flow,
                                          const char *stage, const char *key_prefix,
                                          const char *after, size_t max,
                                          struct state_page *page)
{
  char upper[STATE_MAX_KEY];
  size_t upper_len = prefix_successor(key_prefix, upper);
  enum sqlite_statement id = after ? (upper_len ? SQL_SCAN_AFTER_TO : SQL_SCAN_AFTER)
                                   : (upper_len ? SQL_SCAN_FROM_TO : SQL_SCAN_FROM);
  sqlite3_stmt *stmt = statement(ctx(st), id);
  sqlite3_bind_text(stmt, 1, flow, -1, SQLITE_STATIC);
  sqlite3_bind_text(stmt, 2, stage, -1, SQLITE_STATIC);
  sqlite3_bind_text(stmt, 3, after ? after : key_prefix, -1, SQLITE_STATIC);
  if (upper_len)
    sqlite3_bind_text(stmt, 4, upper, (int)upper_len, SQLITE_STATIC);
  sqlite3_bind_int64(stmt, 5, (sqlite3_int64)max);
  int rc;
  enum state_status s = STATE_OK;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    const char *key = (const char *)sqlite3_column_text(stmt, 0);
    const char *value = (const char *)sqlite3_column_text(stmt, 1);
    if (!key || !value) {
      s = state_fail(st, STATE_CORRUPT, "sqlite state store %s: NULL in item row",
                     ctx(st)->path);
      break;
    }
    if (state_page_push(page, flow, stage, key, value, sqlite3_column_int64(stmt, 2),
                        sqlite3_column_int64(stmt, 3))) {
      s = state_fail(st, STATE_NOMEM, "sqlite state store: out of memory");
      break;
    }
  }
  if (s == STATE_OK && rc != SQLITE_DONE)
    s = fail_rc(st, rc, "scan");
  done(stmt);
  return s;
}

static enum state_status sqlite_expired_page(struct state_store *st, int64_t now_ms,
                                             const struct state_item *after, size_t max,
                                             struct state_page *page)
{
  sqlite3_stmt *stmt = statement(ctx(st), after ? SQL_EXPIRED_NEXT : SQL_EXPIRED_FIRST);
  sqlite3_bind_int64(stmt, 1, now_ms);
  sqlite3_bind_int64(stmt, 2, (sqlite3_int64)max);
  if (after) {
    sqlite3_bind_int64(stmt, 3, after->expires);
    sqlite3_bind_text(stmt, 4, after->flow, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 5, after->stage, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 6, after->key, -1, SQLITE_STATIC);
  }
  int rc;
  enum state_status s = STATE_OK;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    const char *text[4];
    for (int i = 0; i < 4; i++)
      text[i] = (const char *)sqlite3_column_text(stmt, i);
    if (!text[0] || !text[1] || !text[2] || !text[3]) {
      s = state_fail(st, STATE_CORRUPT, "sqlite state store %s: NULL in item row",
                     ctx(st)->path);
      break;
    }
    if (state_page_push(page, text[0], text[1], text[2], text[3],
                        sqlite3_column_int64(stmt, 4), sqlite3_column_int64(stmt, 5))) {
      s = state_fail(st, STATE_NOMEM, "sqlite state store: out of memory");
      break;
    }
  }
  if (s == STATE_OK && rc != SQLITE_DONE)
    s = fail_rc(st, rc, "expiry query");
  done(stmt);
  return s;
}

/* ---- metadata --------------------------------------------------------------------- */

static enum state_status sqlite_meta_get(struct state_store *st, const char *name, char **value)
{
  sqlite3_stmt *stmt = statement(ctx(st), SQL_META_GET);
  sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
  int rc = sqlite3_step(stmt);
  enum state_status s = STATE_OK;
  if (rc == SQLITE_ROW) {
    if (value && !(*value = column_copy(stmt, 0)))
      s = state_fail(st, STATE_NOMEM, "sqlite state store: out of memory");
  } else if (rc == SQLITE_DONE) {
    s = STATE_NOT_FOUND;
  } else {
    s = fail_rc(st, rc, "meta get");
  }
  done(stmt);
  return s;
}

static enum state_status sqlite_meta_put(struct state_store *st, const char *name,
                                         const char *value)
{
  sqlite3_stmt *stmt = statement(ctx(st), SQL_META_PUT);
  sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
  sqlite3_bind_text(stmt, 2, value, -1, SQLITE_STATIC);
  int rc = sqlite3_step(stmt);
  enum state_status s = rc == SQLITE_DONE ? STATE_OK : fail_rc(st, rc, "meta put");
  done(stmt);
  return s;
}

/* ---- open and close ----------------------------------------------------------------- */

static void release(struct sqlite_store *q)
{
  if (!q)
    return;
  for (int i = 0; i < SQL__COUNT; i++)
    sqlite3_finalize(q->statements[i]);
  sqlite3_close(q->db);   /* last handle: checkpoints and removes the -wal file */
  free(q->path);
  free(q);
}

static void sqlite_close(struct state_store *st)
{
  release(ctx(st));
}

static const struct state_backend sqlite_backend = {
  .name = "sqlite",
  .close = sqlite_close,
  .begin = sqlite_begin,
  .commit = sqlite_commit,
  .rollback = sqlite_rollback,
  .get = sqlite_get,
  .put = sqlite_put,
  .add = NULL,   /* get + put inside BEGIN IMMEDIATE: we hold the write lock */
  .delete_item = sqlite_delete,
  .scan_page = sqlite_scan_page,
  .expired_page = sqlite_expired_page,
  .meta_get = sqlite_meta_get,
  .meta_put = sqlite_meta_put,
};

/* Open-time errors go to the caller's buffer: there is no store yet. */
static void say(char *err, size_t err_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void say(char *err, size_t err_size, const char *fmt, ...)
{
  va_list ap;
  if (!err || !err_size)
    return;
  va_start(ap, fmt);
  vsnprintf(err, err_size, fmt, ap);
  va_end(ap);
}

static void open_error(char *err, size_t err_size, const char *path, sqlite3 *db, int rc,
                       const char *what)
{
  int primary = rc & 0xff;
  const char *hint = primary == SQLITE_NOTADB    ? " (not an SQLite file, or its header is damaged)"
                     : primary == SQLITE_CORRUPT ? " (the file is damaged)"
                     : primary == SQLITE_BUSY    ? " (another process holds the lock)"
                                                 : "";
  say(err, err_size, "cannot open state store %s: %s: %s%s", path, what,
           db ? sqlite3_errmsg(db) : sqlite3_errstr(rc), hint);
}

/* One integer from a PRAGMA or SELECT; SQLite result code. */
static int query_int(sqlite3 *db, const char *sql, int64_t *out)
{
  sqlite3_stmt *stmt;
  int rc = sqlite3_prepare_v2(db, sql, -1, &stmt, NULL);
  if (rc != SQLITE_OK)
    return rc;
  rc = sqlite3_step(stmt);
  if (rc == SQLITE_ROW) {
    *out = sqlite3_column_int64(stmt, 0);
    rc = SQLITE_OK;
  }
  sqlite3_finalize(stmt);
  return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Create the schema in an empty file, or check an existing one.  Runs in
 * one IMMEDIATE transaction so two processes opening a new file at once
 * cannot both create it. */
static int check_schema(sqlite3 *db, const char *path, char *err, size_t err_size)
{
  int64_t app = 0, version = 0, tables = 0;
  int rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
  if (rc != SQLITE_OK) {
    open_error(err, err_size, path, db, rc, "begin");
    return -1;
  }
  if ((rc = query_int(db, "PRAGMA application_id", &app)) != SQLITE_OK ||
      (rc = query_int(db, "PRAGMA user_version", &version)) != SQLITE_OK ||
      (rc = query_int(db, "SELECT count(*) FROM sqlite_schema", &tables)) != SQLITE_OK) {
    open_error(err, err_size, path, db, rc, "reading the schema");
    goto fail;
  }
  if (app == 0 && version == 0 && tables == 0) {
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA application_id = %d; PRAGMA user_version = %d;",
             STATE_APPLICATION_ID, STATE_SCHEMA_VERSION);
    if ((rc = sqlite3_exec(db, schema_v1, NULL, NULL, NULL)) != SQLITE_OK ||
        (rc = sqlite3_exec(db, sql, NULL, NULL, NULL)) != SQLITE_OK) {
      open_error(err, err_size, path, db, rc, "creating the schema");
      goto fail;
    }
  } else if (app != STATE_APPLICATION_ID) {
    say(err, err_size,
             "cannot open state store %s: not an efc state store (SQLite application_id "
             "0x%08" PRIx64 ", expected 0x%08x, %" PRId64 " table(s))",
             path, (uint64_t)app & 0xffffffffu, STATE_APPLICATION_ID, tables);
    goto fail;
  } else if (version != STATE_SCHEMA_VERSION) {
    /* Migrations from older versions would go here; there are none yet. */
    say(err, err_size,
             "cannot open state store %s: unknown schema version %" PRId64
             " (this efc reads version %d%s)",
             path, version, STATE_SCHEMA_VERSION,
             version > STATE_SCHEMA_VERSION ? "; the file was written by a newer efc" : "");
    goto fail;
  }
  if ((rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL)) != SQLITE_OK) {
    open_error(err, err_size, path, db, rc, "commit");
    goto fail;
  }
  return 0;
fail:
  if (!sqlite3_get_autocommit(db))
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
  return -1;
}

struct state_store *state_open_sqlite_with(const char *path,
                                           const struct state_sqlite_options *options,
                                           char *err, size_t err_size)
{
  struct state_sqlite_options defaults = {STATE_SYNC_FULL, DEFAULT_BUSY_TIMEOUT};
  if (!options)
    options = &defaults;
  if (err && err_size)
    err[0] = '\0';
  if (!path || !*path) {
    say(err, err_size, "cannot open state store: no path given");
    return NULL;
  }
  if (sqlite3_libversion_number() < 3035000) {   /* RETURNING */
    say(err, err_size, "cannot open state store %s: SQLite 3.35 or newer is needed, "
             "this is %s", path, sqlite3_libversion());
    return NULL;
  }
  struct sqlite_store *q = calloc(1, sizeof *q);
  if (!q || !(q->path = strdup(path))) {
    free(q);
    say(err, err_size, "cannot open state store %s: out of memory", path);
    return NULL;
  }
  int rc = sqlite3_open_v2(path, &q->db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           NULL);
  if (rc != SQLITE_OK) {
    open_error(err, err_size, path, q->db, rc, "open");
    goto fail;
  }
  sqlite3_extended_result_codes(q->db, 1);
  sqlite3_busy_timeout(q->db, options->busy_timeout_ms < 0 ? DEFAULT_BUSY_TIMEOUT
                                                           : options->busy_timeout_ms);

  /* WAL first: it reads the header, so a file that is not a database fails
   * here, before anything is written. */
  sqlite3_stmt *stmt;
  rc = sqlite3_prepare_v2(q->db, "PRAGMA journal_mode = WAL", -1, &stmt, NULL);
  if (rc == SQLITE_OK) {
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
      const char *mode = (const char *)sqlite3_column_text(stmt, 0);
      rc = mode && strcmp(mode, "wal") == 0 ? SQLITE_OK : -1;
      if (rc == -1)
        say(err, err_size, "cannot open state store %s: the file system refuses WAL "
                 "mode (journal mode stays '%s')", path, mode ? mode : "?");
    }
    sqlite3_finalize(stmt);
  }
  if (rc == -1)
    goto fail;
  if (rc != SQLITE_OK) {
    open_error(err, err_size, path, q->db, rc, "enabling WAL");
    goto fail;
  }
  rc = sqlite3_exec(q->db,
                    options->durability == STATE_SYNC_NORMAL ? "PRAGMA synchronous = NORMAL"
                                                             : "PRAGMA synchronous = FULL",
                    NULL, NULL, NULL);
  if (rc != SQLITE_OK) {
    open_error(err, err_size, path, q->db, rc, "setting synchronous");
    goto fail;
  }
  if (check_schema(q->db, path, err, err_size))
    goto fail;
  for (int i = 0; i < SQL__COUNT; i++) {
    rc = sqlite3_prepare_v3(q->db, statement_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
                            &q->statements[i], NULL);
    if (rc != SQLITE_OK) {
      open_error(err, err_size, path, q->db, rc, "preparing statements (damaged schema?)");
      goto fail;
    }
  }
  struct state_store *st = state_store_new(&sqlite_backend, q);
  if (!st) {
    say(err, err_size, "cannot open state store %s: out of memory", path);
    goto fail;
  }
  return st;
fail:
  release(q);
  return NULL;
}
