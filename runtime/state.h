/* state.h — the runtime's state store: one interface, several backends.
 *
 * Stateful stages (counter, aggregator and stitcher windows) keep their
 * state here, keyed by (flow, stage, key); `efc run` keeps its resume point
 * here too ("input.offset", "input.digest"), written in the same transaction
 * as the state changes one input event caused.  That is what makes a run
 * resumable after a crash without double counting: either the event's state
 * changes AND its offset are on disk, or neither is.
 *
 * Backends (one struct of callbacks each, see "Backend interface" below):
 *   sqlite   one file, WAL journal, the default for local runs and efc serve
 *   memory   a sorted array with an undo log; for tests and throw-away runs
 *   dynamodb (later) GetItem / PutItem with ConditionExpression / UpdateItem
 *            ADD / Query / TTL — every operation here was chosen so that it
 *            maps onto one of those; docs/state.md gives the mapping.
 *
 * Keys.  flow, stage and key are NUL-terminated, non-empty, valid UTF-8
 * strings (no NUL inside).  The runtime passes the compact JSON text of a
 * window's key tuple as `key`, e.g. ["s-1","vscode"]; JSON escapes a NUL as
 * \u0000, so any key value is representable.  Keys order by their bytes
 * (memcmp, shorter first on a tie) — the order SQLite's BINARY collation and
 * DynamoDB's string sort keys both use, so scans agree across backends.
 * Limits: flow and stage at most STATE_MAX_NAME bytes, key at most
 * STATE_MAX_KEY (DynamoDB's sort-key limit), value at most STATE_MAX_VALUE.
 *
 * Items.  An item holds a JSON value (text; checked to be one JSON text), a
 * version (int64, 1 on creation, +1 on every write) and an expiry time
 * (ms since the epoch, 0 = none).  Expiry is a marker, not a deletion: an
 * expired item stays readable until someone deletes it; state_expired()
 * lists them so the stage can flush its window and delete it.
 *
 * Transactions.  state_begin() .. state_commit() makes every change in
 * between atomic: a crash or state_rollback() before the commit loses all of
 * them, and nothing else.  Nested transactions are an error.  An operation
 * outside a transaction is its own transaction (autocommit).  If a backend
 * I/O error happens inside a transaction, the transaction is "aborted":
 * every later call but state_rollback() returns STATE_ABORTED, and
 * state_commit() rolls it back.  state_commit() may fail; the transaction
 * is then rolled back and the caller must treat the event as unprocessed
 * (optimistic backends such as DynamoDB report STATE_CONFLICT here).
 *
 * Errors.  Every function returns an enum state_status; state_error() gives
 * a readable message for the last failure.  Nothing here exits or aborts.
 *
 * Threads.  A store handle is used by one thread at a time.  Several
 * handles (in one or several processes) may share one SQLite file.
 */
#ifndef EFC_STATE_H
#define EFC_STATE_H

#include <stddef.h>
#include <stdint.h>

#define STATE_SCHEMA_VERSION  1                /* SQLite PRAGMA user_version */
#define STATE_MAX_NAME        255              /* flow, stage, meta name */
#define STATE_MAX_KEY         1024             /* key bytes */
#define STATE_MAX_VALUE       (256 * 1024)     /* value / meta value bytes */
#define STATE_MAX_DEPTH       32               /* JSON nesting, as DynamoDB */

/* Status codes, declared once: X(name, description). */
#define STATE_STATUSES(X)                                                    \
  X(OK,        "ok")                                                         \
  X(NOT_FOUND, "not found")                                                  \
  X(CONFLICT,  "version conflict")           /* expected version differs */  \
  X(INVALID,   "invalid argument")           /* caller error, no change */   \
  X(TYPE,      "not an integer counter")     /* state_add on a non-int */    \
  X(ABORTED,   "transaction aborted")        /* earlier error; roll back */  \
  X(BUSY,      "store busy")                 /* lock not granted in time */  \
  X(CORRUPT,   "store corrupt")              /* malformed file or value */   \
  X(IO,        "I/O error")                                                  \
  X(NOMEM,     "out of memory")

enum state_status {
#define STATE_STATUS_ENUM(name, text) STATE_##name,
  STATE_STATUSES(STATE_STATUS_ENUM)
#undef STATE_STATUS_ENUM
};

struct state_store;   /* opaque */

struct state_key {
  const char *flow;    /* e.g. "timecard" */
  const char *stage;   /* e.g. "aggregate#1" */
  const char *key;     /* e.g. "[\"s-1\",\"vscode\"]" */
};

/* One item as seen by a scan callback.  The strings live until the
 * callback returns; copy what you keep. */
struct state_item {
  const char *flow, *stage, *key;
  const char *value;            /* JSON text */
  int64_t version;
  int64_t expires;              /* ms since the epoch, 0 = none */
};

/* Scan callback: return 0 to go on, non-zero to stop the scan (which then
 * still returns STATE_OK).  A callback may read and write the store (e.g.
 * delete the item it was given): scans read in pages and resume after the
 * last key delivered, so changes never invalidate an iterator. */
typedef int (*state_item_fn)(void *ctx, const struct state_item *item);

/* ---- opening and closing ------------------------------------------------ */

/* How hard a commit is pushed to disk (SQLite PRAGMA synchronous, WAL).
 *  FULL   the WAL is fsync()ed at every commit: a committed transaction
 *         survives a process crash AND a power loss.  Default.
 *  NORMAL fsync only at checkpoints: a process crash loses nothing, a power
 *         loss may lose the last commits (never a part of one; state and
 *         input offset go back together, so a resumed run redoes them). */
enum state_durability { STATE_SYNC_FULL, STATE_SYNC_NORMAL };

struct state_sqlite_options {
  enum state_durability durability;   /* default STATE_SYNC_FULL */
  int busy_timeout_ms;                /* wait for another writer; <0 = default 5000 */
};

/* Open (creating if missing) the SQLite state file at path.  NULL on
 * failure with a message in err (e.g. not a database, corrupt, unknown
 * schema version, not an efc state file). */
struct state_store *state_open_sqlite(const char *path, char *err, size_t err_size);
struct state_store *state_open_sqlite_with(const char *path,
                                           const struct state_sqlite_options *options,
                                           char *err, size_t err_size);

/* A fresh, empty store in memory.  NULL only when out of memory. */
struct state_store *state_open_memory(void);

/* Roll back an open transaction, release everything.  NULL is a no-op. */
void state_close(struct state_store *st);

const char *state_backend_name(const struct state_store *st);   /* "sqlite", "memory" */
const char *state_error(const struct state_store *st);          /* last failure, "" if none */
const char *state_status_name(enum state_status s);             /* "version conflict" */

/* ---- transactions ------------------------------------------------------- */

enum state_status state_begin(struct state_store *st);      /* INVALID if one is open */
enum state_status state_commit(struct state_store *st);     /* INVALID if none is open */
enum state_status state_rollback(struct state_store *st);   /* INVALID if none is open */
int state_in_transaction(const struct state_store *st);

/* ---- items -------------------------------------------------------------- */

/* Read an item.  OK or NOT_FOUND.  *value (if value is not NULL) is a
 * malloc'd copy of the JSON text; the caller frees it.  version and expires
 * may be NULL. */
enum state_status state_get(struct state_store *st, const struct state_key *k,
                            char **value, int64_t *version, int64_t *expires);

/* Write an item (replacing value and expiry).  expected_version:
 *   -1  unconditional;  0  the item must not exist;  n > 0  its version must be n.
 * CONFLICT (nothing written) when the condition fails.  *new_version, if
 * not NULL, receives the version written. */
enum state_status state_put(struct state_store *st, const struct state_key *k,
                            const char *value, int64_t expires,
                            int64_t expected_version, int64_t *new_version);

/* Atomically add delta to an integer counter and return the sum.
 *   field == NULL  the item's value is a JSON integer;
 *   field != NULL  the value is a JSON object and field a top-level member.
 * A missing item or member counts as 0 (the item is created without expiry;
 * an existing item keeps its expiry and other members).  TYPE when the value
 * or member is not an integer or the sum would overflow int64. */
enum state_status state_add(struct state_store *st, const struct state_key *k,
                            const char *field, int64_t delta, int64_t *new_value);

/* Delete an item.  expected_version: -1 unconditional (NOT_FOUND when
 * missing), n > 0 its version must be n (CONFLICT otherwise, also when
 * missing). */
enum state_status state_delete(struct state_store *st, const struct state_key *k,
                               int64_t expected_version);

/* Call fn for every item of (flow, stage) whose key starts with key_prefix
 * (NULL or "" = all), in key order. */
enum state_status state_scan(struct state_store *st, const char *flow, const char *stage,
                             const char *key_prefix, state_item_fn fn, void *ctx);

/* Call fn for items with 0 < expires <= now_ms, in (expires, flow, stage,
 * key) order, at most limit of them (0 = no limit). */
enum state_status state_expired(struct state_store *st, int64_t now_ms, size_t limit,
                                state_item_fn fn, void *ctx);

/* ---- metadata (resume point) ------------------------------------------- */

/* Named strings beside the items, changed in the same transactions, e.g.
 * "input.offset" = "1200" (events fully processed).  meta_get: OK or
 * NOT_FOUND, *value malloc'd (caller frees). */
enum state_status state_meta_get(struct state_store *st, const char *name, char **value);
enum state_status state_meta_put(struct state_store *st, const char *name, const char *value);

/* ---- backend interface --------------------------------------------------
 * A backend is one struct of callbacks; the front (state.c) checks every
 * argument, tracks the transaction and pages scans, so callbacks may assume
 * valid keys, JSON values, expected_version >= -1, begin/commit/rollback
 * called in order.  Callbacks report failures with state_fail().  `add` is
 * optional: when NULL the front does get + put inside a transaction (what
 * a backend without a native atomic counter needs). */

/* A page of scan results; items own their strings. */
struct state_page {
  struct state_item *items;
  size_t count, capacity;
};

struct state_backend {
  const char *name;
  void (*close)(struct state_store *st);
  enum state_status (*begin)(struct state_store *st);
  enum state_status (*commit)(struct state_store *st);
  enum state_status (*rollback)(struct state_store *st);
  enum state_status (*get)(struct state_store *st, const struct state_key *k,
                           char **value, int64_t *version, int64_t *expires);
  enum state_status (*put)(struct state_store *st, const struct state_key *k,
                           const char *value, int64_t expires,
                           int64_t expected_version, int64_t *new_version);
  enum state_status (*add)(struct state_store *st, const struct state_key *k,
                           const char *field, int64_t delta, int64_t *new_value);
  enum state_status (*delete_item)(struct state_store *st, const struct state_key *k,
                                   int64_t expected_version);
  /* Up to max items of (flow, stage) with key_prefix, keys > after (if not
   * NULL), in key order, appended to page. */
  enum state_status (*scan_page)(struct state_store *st, const char *flow, const char *stage,
                                 const char *key_prefix, const char *after, size_t max,
                                 struct state_page *page);
  /* Up to max items with 0 < expires <= now_ms and (expires, flow, stage,
   * key) > after's (if not NULL), in that order, appended to page. */
  enum state_status (*expired_page)(struct state_store *st, int64_t now_ms,
                                    const struct state_item *after, size_t max,
                                    struct state_page *page);
  enum state_status (*meta_get)(struct state_store *st, const char *name, char **value);
  enum state_status (*meta_put)(struct state_store *st, const char *name, const char *value);
};

/* Wrap a backend's context in a store (NULL when out of memory; the caller
 * then frees its context). */
struct state_store *state_store_new(const struct state_backend *backend, void *context);
void *state_context(const struct state_store *st);
/* Record a message for state_error() and return status. */
enum state_status state_fail(struct state_store *st, enum state_status status,
                             const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Append a copy of an item to page: 0, or -1 when out of memory. */
int state_page_push(struct state_page *page, const char *flow, const char *stage,
                    const char *key, const char *value, int64_t version, int64_t expires);
void state_page_clear(struct state_page *page);   /* drop items, keep capacity */
void state_page_free(struct state_page *page);

#endif /* EFC_STATE_H */
