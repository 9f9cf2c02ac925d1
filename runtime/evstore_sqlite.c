/* evstore_sqlite.c — the Event Store in one SQLite file.
 *
 * Layout: table `items` (pk, sk, seq, schema, routing, data), primary key
 * (pk, sk) in BINARY collation, so lists come out in byte order; table
 * `meta` holds the generation.  PRAGMA application_id marks the file as an
 * efc event store (so a state file or any other database is refused) and
 * user_version is the layout's version.
 *
 * Threads: SQLite connections are not shared between threads, so the store
 * keeps a pool of them; a call takes one (opening one if none is idle),
 * uses it, and gives it back.  At most EVSTORE_IDLE_CONNECTIONS stay open,
 * each with a small page cache, so memory does not grow with the number of
 * threads that ever used the store.
 * Reads run concurrently (WAL: readers never wait for the writer).  Writes
 * go through one transaction at a time per process (a mutex) and
 * BEGIN IMMEDIATE across processes (with a busy timeout), so a transaction
 * never fails half way because another writer came first.  Commits are
 * fsync()ed (synchronous=FULL): an OK is on disk.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include "evstore.h"

#define EVSTORE_APPLICATION_ID 0x65666353   /* "efcS" */
#define EVSTORE_LAYOUT_VERSION 1
#define EVSTORE_BUSY_TIMEOUT_MS 10000
#define EVSTORE_IDLE_CONNECTIONS 8       /* kept open for reuse; more are closed when released */
#define EVSTORE_CACHE_KB 512             /* page cache per connection (SQLite's default is 2 MB) */

enum stmt_id {
  S_GET, S_LIST_PK, S_LIST_ALL, S_SEQ_OF, S_NEXT_SEQ, S_INSERT, S_UPDATE, S_DELETE, S_GENERATION, S_BUMP,
  S_BEGIN, S_COMMIT, S_ROLLBACK, S__COUNT
};

static const char *const stmt_sql[S__COUNT] = {
  [S_GET]        = "SELECT schema, routing, data, seq FROM items WHERE pk = ?1 AND sk = ?2",
  [S_LIST_PK]    = "SELECT pk, sk, schema, routing, data, seq FROM items WHERE pk = ?1 ORDER BY pk, sk",
  [S_LIST_ALL]   = "SELECT pk, sk, schema, routing, data, seq FROM items ORDER BY pk, sk",
  [S_SEQ_OF]     = "SELECT seq FROM items WHERE pk = ?1 AND sk = ?2",
  [S_NEXT_SEQ]   = "SELECT COALESCE(MAX(seq), 0) + 1 FROM items",
  [S_INSERT]     = "INSERT INTO items (pk, sk, seq, schema, routing, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
  [S_UPDATE]     = "UPDATE items SET schema = ?3, routing = ?4, data = ?5 WHERE pk = ?1 AND sk = ?2",
  [S_DELETE]     = "DELETE FROM items WHERE pk = ?1 AND sk = ?2",
  [S_GENERATION] = "SELECT value FROM meta WHERE name = 'generation'",
  [S_BUMP]       = "UPDATE meta SET value = value + 1 WHERE name = 'generation'",
  [S_BEGIN]      = "BEGIN IMMEDIATE",
  [S_COMMIT]     = "COMMIT",
  [S_ROLLBACK]   = "ROLLBACK",
};

struct conn {
  sqlite3 *db;
  sqlite3_stmt *stmt[S__COUNT];
  struct conn *next;
};

struct sqlite_store {
  char *path;
  pthread_mutex_t lock;      /* guards idle, nidle */
  pthread_mutex_t writer;    /* one write transaction at a time in this process */
  struct conn *idle;
  int nidle;
};

struct sqlite_txn {
  struct conn *conn;
  int dirty;                 /* something was written: bump the generation at commit */
};

static enum evstore_status db_fail(sqlite3 *db, int rc, const char *what) {
  enum evstore_status s = rc == SQLITE_BUSY || rc == SQLITE_LOCKED ? EVSTORE_BUSY
                        : rc == SQLITE_NOMEM ? EVSTORE_NOMEM
                        : rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB ? EVSTORE_CORRUPT : EVSTORE_IO;
  return evstore_fail(s, "%s: %s", what, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

static void conn_free(struct conn *c) {
  if (!c) return;
  for (int i = 0; i < S__COUNT; i++) sqlite3_finalize(c->stmt[i]);
  sqlite3_close(c->db);
  free(c);
}

static int exec(sqlite3 *db, const char *sql) { return sqlite3_exec(db, sql, NULL, NULL, NULL); }

static int pragma_int(sqlite3 *db, const char *sql, int *out) {
  sqlite3_stmt *st;
  int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
  if (rc != SQLITE_OK) return rc;
  rc = sqlite3_step(st);
  *out = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
  rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
  sqlite3_finalize(st);
  return rc;
}

/* Creates the layout in an empty file, or checks that the file has it. */
static enum evstore_status init_layout(sqlite3 *db, char *err, size_t err_size) {
  int rc = exec(db, "BEGIN IMMEDIATE");
  if (rc != SQLITE_OK) {
    snprintf(err, err_size, "cannot lock: %s", sqlite3_errmsg(db));
    return EVSTORE_BUSY;
  }
  int app = 0, version = 0, tables = 0;
  if ((rc = pragma_int(db, "PRAGMA application_id", &app)) != SQLITE_OK ||
      (rc = pragma_int(db, "PRAGMA user_version", &version)) != SQLITE_OK ||
      (rc = pragma_int(db, "SELECT count(*) FROM sqlite_master", &tables)) != SQLITE_OK) {
    snprintf(err, err_size, "%s", rc == SQLITE_NOTADB ? "not an SQLite database" : sqlite3_errmsg(db));
    exec(db, "ROLLBACK");
    return rc == SQLITE_NOTADB || rc == SQLITE_CORRUPT ? EVSTORE_CORRUPT : EVSTORE_IO;
  }
  if (app == 0 && tables == 0) {
    char sql[512];
    snprintf(sql, sizeof sql,
             "CREATE TABLE items (pk TEXT NOT NULL, sk TEXT NOT NULL, seq INTEGER NOT NULL, "
             "schema TEXT, routing TEXT, data TEXT, PRIMARY KEY (pk, sk)) WITHOUT ROWID;"
             "CREATE TABLE meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;"
             "INSERT INTO meta VALUES ('generation', 0);"
             "PRAGMA application_id = %d; PRAGMA user_version = %d;", EVSTORE_APPLICATION_ID, EVSTORE_LAYOUT_VERSION);
    rc = exec(db, sql);
    if (rc != SQLITE_OK || exec(db, "COMMIT") != SQLITE_OK) {
      snprintf(err, err_size, "cannot create the store: %s", sqlite3_errmsg(db));
      exec(db, "ROLLBACK");
      return EVSTORE_IO;
    }
    return EVSTORE_OK;
  }
  exec(db, "ROLLBACK");
  if (app != EVSTORE_APPLICATION_ID) {
    snprintf(err, err_size, "not an efc event store (a database of another kind)");
    return EVSTORE_CORRUPT;
  }
  if (version != EVSTORE_LAYOUT_VERSION) {
    snprintf(err, err_size, "event store layout version %d; this efc reads version %d", version, EVSTORE_LAYOUT_VERSION);
    return EVSTORE_CORRUPT;
  }
  return EVSTORE_OK;
}

static struct conn *conn_open(const char *path, char *err, size_t err_size, int initialize) {
  struct conn *c = calloc(1, sizeof *c);
  if (!c) {
    snprintf(err, err_size, "out of memory");
    return NULL;
  }
  int rc = sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
  if (rc != SQLITE_OK) {
    snprintf(err, err_size, "cannot open: %s", c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
    conn_free(c);
    return NULL;
  }
  sqlite3_busy_timeout(c->db, EVSTORE_BUSY_TIMEOUT_MS);
  sqlite3_extended_result_codes(c->db, 0);
  if (initialize && init_layout(c->db, err, err_size) != EVSTORE_OK) {
    conn_free(c);
    return NULL;
  }
  /* WAL lets readers run beside the writer; FULL makes each commit durable. */
  char cache[64];
  snprintf(cache, sizeof cache, "PRAGMA cache_size = -%d", EVSTORE_CACHE_KB);
  if (exec(c->db, "PRAGMA journal_mode = WAL") != SQLITE_OK || exec(c->db, "PRAGMA synchronous = FULL") != SQLITE_OK ||
      exec(c->db, cache) != SQLITE_OK) {
    snprintf(err, err_size, "cannot set up the journal: %s", sqlite3_errmsg(c->db));
    conn_free(c);
    return NULL;
  }
  for (int i = 0; i < S__COUNT; i++)
    if (sqlite3_prepare_v3(c->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &c->stmt[i], NULL) != SQLITE_OK) {
      snprintf(err, err_size, "%s", sqlite3_errmsg(c->db));
      conn_free(c);
      return NULL;
    }
  return c;
}

static struct conn *acquire(struct sqlite_store *s) {
  pthread_mutex_lock(&s->lock);
  struct conn *c = s->idle;
  if (c) {
    s->idle = c->next;
    s->nidle--;
  }
  pthread_mutex_unlock(&s->lock);
  if (c) return c;
  char err[300];
  c = conn_open(s->path, err, sizeof err, 0);
  if (!c) evstore_fail(EVSTORE_IO, "%s: %s", s->path, err);
  return c;
}

static void release(struct sqlite_store *s, struct conn *c) {
  pthread_mutex_lock(&s->lock);
  int keep = s->nidle < EVSTORE_IDLE_CONNECTIONS;
  if (keep) {
    c->next = s->idle;
    s->idle = c;
    s->nidle++;
  }
  pthread_mutex_unlock(&s->lock);
  if (!keep) conn_free(c);
}

static char *column_text(sqlite3_stmt *st, int i, int *oom) {
  const unsigned char *t = sqlite3_column_text(st, i);
  if (!t) return NULL;
  char *s = strdup((const char *)t);
  if (!s) *oom = 1;
  return s;
}

/* ---- callbacks ---------------------------------------------------------- */

static void sq_close(void *ctx) {
  struct sqlite_store *s = ctx;
  while (s->idle) {
    struct conn *c = s->idle;
    s->idle = c->next;
    conn_free(c);
  }
  pthread_mutex_destroy(&s->lock);
  pthread_mutex_destroy(&s->writer);
  free(s->path);
  free(s);
}

static enum evstore_status step_done(struct conn *c, sqlite3_stmt *st, const char *what) {
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  return rc == SQLITE_DONE || rc == SQLITE_ROW ? EVSTORE_OK : db_fail(c->db, rc, what);
}

static enum evstore_status sq_begin(void *ctx, void **txn) {
  struct sqlite_store *s = ctx;
  struct sqlite_txn *t = calloc(1, sizeof *t);
  if (!t) return evstore_fail(EVSTORE_NOMEM, "out of memory");
  pthread_mutex_lock(&s->writer);
  if (!(t->conn = acquire(s))) {
    pthread_mutex_unlock(&s->writer);
    free(t);
    return EVSTORE_IO;
  }
  enum evstore_status st = step_done(t->conn, t->conn->stmt[S_BEGIN], "begin");
  if (st != EVSTORE_OK) {
    release(s, t->conn);
    pthread_mutex_unlock(&s->writer);
    free(t);
    return st;
  }
  *txn = t;
  return EVSTORE_OK;
}

static void sq_end(struct sqlite_store *s, struct sqlite_txn *t) {
  release(s, t->conn);
  pthread_mutex_unlock(&s->writer);
  free(t);
}

static void sq_rollback(void *ctx, void *txn) {
  struct sqlite_txn *t = txn;
  step_done(t->conn, t->conn->stmt[S_ROLLBACK], "rollback");
  sq_end(ctx, t);
}

static enum evstore_status sq_commit(void *ctx, void *txn) {
  struct sqlite_txn *t = txn;
  enum evstore_status st = t->dirty ? step_done(t->conn, t->conn->stmt[S_BUMP], "generation") : EVSTORE_OK;
  if (st == EVSTORE_OK) st = step_done(t->conn, t->conn->stmt[S_COMMIT], "commit");
  if (st != EVSTORE_OK) {
    if (!sqlite3_get_autocommit(t->conn->db)) exec(t->conn->db, "ROLLBACK");
    release(ctx, t->conn);
    pthread_mutex_unlock(&((struct sqlite_store *)ctx)->writer);
    free(t);
    return st;
  }
  sq_end(ctx, t);
  return EVSTORE_OK;
}

/* The connection of txn, or one from the pool for a read outside one. */
static struct conn *conn_for(struct sqlite_store *s, void *txn) {
  return txn ? ((struct sqlite_txn *)txn)->conn : acquire(s);
}

static void done_with(struct sqlite_store *s, void *txn, struct conn *c) {
  if (!txn) release(s, c);
}

static enum evstore_status sq_get(void *ctx, void *txn, const char *pk, const char *sk, struct evstore_item *out) {
  struct conn *c = conn_for(ctx, txn);
  if (!c) return EVSTORE_IO;
  sqlite3_stmt *st = c->stmt[S_GET];
  sqlite3_bind_text(st, 1, pk, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, sk, -1, SQLITE_STATIC);
  int rc = sqlite3_step(st), oom = 0;
  enum evstore_status result = EVSTORE_OK;
  if (rc == SQLITE_ROW) {
    out->pk = strdup(pk);
    out->sk = strdup(sk);
    out->schema = column_text(st, 0, &oom);
    out->routing = column_text(st, 1, &oom);
    out->data = column_text(st, 2, &oom);
    out->seq = sqlite3_column_int64(st, 3);
    if (oom || !out->pk || !out->sk) {
      evstore_item_free(out);
      result = evstore_fail(EVSTORE_NOMEM, "out of memory");
    }
  } else if (rc == SQLITE_DONE) {
    result = evstore_fail(EVSTORE_NOT_FOUND, "no item %s/%s", pk, sk);
  } else {
    result = db_fail(c->db, rc, "get");
  }
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  done_with(ctx, txn, c);
  return result;
}

static enum evstore_status sq_list(void *ctx, void *txn, const char *pk, struct evstore_list *out) {
  struct conn *c = conn_for(ctx, txn);
  if (!c) return EVSTORE_IO;
  sqlite3_stmt *st = c->stmt[pk ? S_LIST_PK : S_LIST_ALL];
  if (pk) sqlite3_bind_text(st, 1, pk, -1, SQLITE_STATIC);
  enum evstore_status result = EVSTORE_OK;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    int oom = 0;
    struct evstore_item it = {
      column_text(st, 0, &oom), column_text(st, 1, &oom), column_text(st, 2, &oom),
      column_text(st, 3, &oom), column_text(st, 4, &oom), sqlite3_column_int64(st, 5),
    };
    /* The list takes the strings: push a copy only when the array grows. */
    if (!oom && out->count == out->cap) {
      size_t cap = out->cap ? out->cap * 2 : 32;
      struct evstore_item *items = realloc(out->items, cap * sizeof *items);
      if (items) out->items = items, out->cap = cap;
      else oom = 1;
    }
    if (oom) {
      evstore_item_free(&it);
      result = evstore_fail(EVSTORE_NOMEM, "out of memory");
      break;
    }
    out->items[out->count++] = it;
  }
  if (result == EVSTORE_OK && rc != SQLITE_DONE) result = db_fail(c->db, rc, "list");
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  done_with(ctx, txn, c);
  return result;
}

static enum evstore_status sq_put(void *ctx, void *txn, const struct evstore_item *item, enum evstore_cond cond) {
  (void)ctx;
  struct conn *c = ((struct sqlite_txn *)txn)->conn;
  sqlite3_stmt *st = c->stmt[S_SEQ_OF];
  sqlite3_bind_text(st, 1, item->pk, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, item->sk, -1, SQLITE_STATIC);
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return db_fail(c->db, rc, "put");
  int exists = rc == SQLITE_ROW;
  if (exists && cond == EVSTORE_MUST_NOT_EXIST) return evstore_fail(EVSTORE_EXISTS, "%s/%s exists", item->pk, item->sk);
  if (!exists && cond == EVSTORE_MUST_EXIST) return evstore_fail(EVSTORE_NOT_FOUND, "no item %s/%s", item->pk, item->sk);
  int64_t seq = 0;
  if (!exists) {
    st = c->stmt[S_NEXT_SEQ];
    if ((rc = sqlite3_step(st)) == SQLITE_ROW) seq = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    if (rc != SQLITE_ROW) return db_fail(c->db, rc, "put");
  }
  st = c->stmt[exists ? S_UPDATE : S_INSERT];
  int k = exists ? 3 : 4;
  sqlite3_bind_text(st, 1, item->pk, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, item->sk, -1, SQLITE_STATIC);
  if (!exists) sqlite3_bind_int64(st, 3, seq);
  sqlite3_bind_text(st, k, item->schema, -1, SQLITE_STATIC);   /* NULL binds NULL */
  sqlite3_bind_text(st, k + 1, item->routing, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, k + 2, item->data, -1, SQLITE_STATIC);
  enum evstore_status result = step_done(c, st, "put");
  if (result == EVSTORE_OK) ((struct sqlite_txn *)txn)->dirty = 1;
  return result;
}

static enum evstore_status sq_delete(void *ctx, void *txn, const char *pk, const char *sk) {
  (void)ctx;
  struct conn *c = ((struct sqlite_txn *)txn)->conn;
  sqlite3_stmt *st = c->stmt[S_DELETE];
  sqlite3_bind_text(st, 1, pk, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, sk, -1, SQLITE_STATIC);
  enum evstore_status result = step_done(c, st, "delete");
  if (result != EVSTORE_OK) return result;
  if (sqlite3_changes(c->db) == 0) return evstore_fail(EVSTORE_NOT_FOUND, "no item %s/%s", pk, sk);
  ((struct sqlite_txn *)txn)->dirty = 1;
  return EVSTORE_OK;
}

static enum evstore_status sq_generation(void *ctx, void *txn, int64_t *generation) {
  struct conn *c = conn_for(ctx, txn);
  if (!c) return EVSTORE_IO;
  sqlite3_stmt *st = c->stmt[S_GENERATION];
  int rc = sqlite3_step(st);
  *generation = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
  sqlite3_reset(st);
  done_with(ctx, txn, c);
  return rc == SQLITE_ROW ? EVSTORE_OK : db_fail(c->db, rc, "generation");
}

static const struct evstore_backend sqlite_backend = {
  .name = "sqlite",
  .close = sq_close,
  .begin = sq_begin,
  .commit = sq_commit,
  .rollback = sq_rollback,
  .get = sq_get,
  .list = sq_list,
  .put = sq_put,
  .delete_item = sq_delete,
  .generation = sq_generation,
};

struct evstore *evstore_open_sqlite(const char *path, char *err, size_t err_size) {
  struct sqlite_store *s = calloc(1, sizeof *s);
  if (!s || !(s->path = strdup(path))) {
    free(s);
    snprintf(err, err_size, "out of memory");
    return NULL;
  }
  pthread_mutex_init(&s->lock, NULL);
  pthread_mutex_init(&s->writer, NULL);
  char why[400];
  struct conn *first = conn_open(path, why, sizeof why, 1);
  if (!first) {
    snprintf(err, err_size, "%s: %s", path, why);
    sq_close(s);
    return NULL;
  }
  s->idle = first;
  s->nidle = 1;
  struct evstore *st = evstore_new(&sqlite_backend, s);
  if (!st) {
    snprintf(err, err_size, "out of memory");
    sq_close(s);
  }
  return st;
}
