/* evstore.h — the Event Store: one interface, several backends.
 *
 * The Event Store holds what `efc compile` writes to event-store.json: one
 * item per event (PK "events", SK the event's name) and per flow (PK
 * "flow", SK the flow's name), each with up to three attributes of JSON
 * text: Schema, RoutingConfig and Data.  The store keeps their text exactly
 * as given (it checks that each is a JSON object, and never rewrites it),
 * so an item read back is byte for byte the item written.
 *
 * Backends (one struct of callbacks each, see "Backend interface"):
 *   sqlite   one file, WAL journal, synchronous=FULL: the default of
 *            `efc store` and `efc serve`
 *   memory   for tests and throw-away servers
 *   dynamodb (later) the table itself: GetItem, Query on PK, PutItem and
 *            DeleteItem with conditions, TransactWriteItems for a
 *            transaction; the operations below were chosen to map onto
 *            those one to one.
 *
 * Threads.  Unlike the state store, one handle may be used by several
 * threads at once: the HTTP server's worker threads share it.  Reads see
 * the last committed state.  Writes are atomic: evstore_put, evstore_delete
 * and a whole evstore_transact() either happen entirely or not at all, and
 * are durable when the call returns OK.
 *
 * Transactions.  evstore_transact(st, fn, ctx) calls fn with a transaction
 * handle; fn reads and writes through it and returns EVSTORE_OK to commit,
 * anything else to roll back.  Reads inside see the transaction's own
 * writes, and no other writer's commits.  A backend may run fn more than
 * once (an optimistic backend retries after a conflict), so fn must not
 * keep effects outside the store from a run that did not commit.
 *
 * Order.  Lists are in (PK, SK) order, byte-wise.  Every item also has a
 * sequence number, given when its key is first written and kept when it is
 * replaced: evstore_dump() writes items in that order, so loading an
 * event-store.json into an empty store and dumping it gives the same file.
 *
 * Generation.  Every committed write transaction increases the store's
 * generation; a reader that caches something derived from the items (the
 * server's compiled engine) rebuilds it when the generation moves.  It
 * counts across processes sharing one SQLite file.
 *
 * Errors: every function returns an enum evstore_status; evstore_error()
 * gives a message for the last failure of the calling thread.
 */
#ifndef EFC_EVSTORE_H
#define EFC_EVSTORE_H

#include <stddef.h>
#include <stdint.h>

struct json_object;

#define EVSTORE_PK_EVENTS   "events"
#define EVSTORE_PK_FLOW     "flow"
#define EVSTORE_MAX_KEY     1024           /* SK bytes: DynamoDB's sort key limit */
#define EVSTORE_MAX_ITEM    (400 * 1024)   /* bytes of names and values: DynamoDB's item limit */
#define EVSTORE_BATCH_ITEMS 25             /* PutRequests per BatchWriteItem body in a dump */
#define EVSTORE_DEFAULT_TABLE "EventStore"

/* Status codes, declared once: X(name, description). */
#define EVSTORE_STATUSES(X)                                                  \
  X(OK,        "ok")                                                         \
  X(NOT_FOUND, "not found")                 /* no item; or MUST_EXIST failed */ \
  X(EXISTS,    "already exists")            /* MUST_NOT_EXIST failed */      \
  X(INVALID,   "invalid argument")          /* caller error, nothing written */ \
  X(CONFLICT,  "conflict")                  /* concurrent writer; retry */   \
  X(BUSY,      "store busy")                /* lock not granted in time */   \
  X(CORRUPT,   "store corrupt")             /* not an event store, or damaged */ \
  X(IO,        "I/O error")                                                  \
  X(NOMEM,     "out of memory")

enum evstore_status {
#define EVSTORE_STATUS_ENUM(name, text) EVSTORE_##name,
  EVSTORE_STATUSES(EVSTORE_STATUS_ENUM)
#undef EVSTORE_STATUS_ENUM
};

/* One item.  Attributes are NULL when absent.  Items returned by the store
 * own their strings (free with evstore_item_free); items given to it are
 * only read. */
struct evstore_item {
  char *pk, *sk;
  char *schema;        /* attribute Schema: JSON text */
  char *routing;       /* attribute RoutingConfig: JSON text */
  char *data;          /* attribute Data: JSON text */
  int64_t seq;         /* set by the store; ignored on writes */
};

struct evstore_list {
  struct evstore_item *items;
  size_t count, cap;
};

/* Write conditions (DynamoDB: attribute_not_exists / attribute_exists). */
enum evstore_cond { EVSTORE_ANY, EVSTORE_MUST_NOT_EXIST, EVSTORE_MUST_EXIST };

struct evstore;
struct evstore_txn;

/* ---- opening and closing ------------------------------------------------ */

/* Open (creating if missing) the SQLite event store at path.  NULL on
 * failure with a message in err (e.g. not a database, a file of another
 * kind, an unknown schema version). */
struct evstore *evstore_open_sqlite(const char *path, char *err, size_t err_size);
/* A fresh, empty store in memory.  NULL only when out of memory. */
struct evstore *evstore_open_memory(void);
/* EVSTORE_MEMORY_PATH opens a memory store, any other path a SQLite file. */
#define EVSTORE_MEMORY_PATH ":memory:"
struct evstore *evstore_open(const char *path, char *err, size_t err_size);
/* Release everything.  No call may be running.  NULL is a no-op. */
void evstore_close(struct evstore *st);

const char *evstore_backend_name(const struct evstore *st);   /* "sqlite", "memory" */
const char *evstore_error(void);             /* the calling thread's last failure, "" if none */
const char *evstore_status_name(enum evstore_status s);

/* ---- reading (outside a transaction) ------------------------------------ */

enum evstore_status evstore_get(struct evstore *st, const char *pk, const char *sk, struct evstore_item *out);
/* Appends the items of pk (NULL: every item) to out, in (PK, SK) order. */
enum evstore_status evstore_list(struct evstore *st, const char *pk, struct evstore_list *out);
enum evstore_status evstore_generation(struct evstore *st, int64_t *generation);

/* ---- writing ------------------------------------------------------------ */

/* Write one item (replacing every attribute), if cond holds. */
enum evstore_status evstore_put(struct evstore *st, const struct evstore_item *item, enum evstore_cond cond);
/* Delete one item: OK, or NOT_FOUND when there is none. */
enum evstore_status evstore_delete(struct evstore *st, const char *pk, const char *sk);

typedef enum evstore_status (*evstore_txn_fn)(struct evstore_txn *txn, void *ctx);
/* Runs fn in a write transaction (see the top of the file).  Returns what
 * fn returned, or the commit's failure. */
enum evstore_status evstore_transact(struct evstore *st, evstore_txn_fn fn, void *ctx);

enum evstore_status evstore_txn_get(struct evstore_txn *txn, const char *pk, const char *sk, struct evstore_item *out);
enum evstore_status evstore_txn_list(struct evstore_txn *txn, const char *pk, struct evstore_list *out);
enum evstore_status evstore_txn_put(struct evstore_txn *txn, const struct evstore_item *item, enum evstore_cond cond);
enum evstore_status evstore_txn_delete(struct evstore_txn *txn, const char *pk, const char *sk);

/* ---- items and lists ---------------------------------------------------- */

void evstore_item_free(struct evstore_item *item);          /* frees the strings, zeroes it */
int evstore_item_copy(struct evstore_item *to, const struct evstore_item *from);   /* 0 or -1 (ENOMEM) */
/* Checks an item: PK "events" or "flow", SK 1..EVSTORE_MAX_KEY bytes of
 * UTF-8 without NUL, attributes JSON objects, size within EVSTORE_MAX_ITEM.
 * 0, or -1 with a reason. */
int evstore_item_check(const struct evstore_item *item, char *why, size_t why_size);
int evstore_list_push(struct evstore_list *list, const struct evstore_item *item);  /* copies; 0 or -1 */
const struct evstore_item *evstore_list_find(const struct evstore_list *list, const char *pk, const char *sk);
void evstore_list_free(struct evstore_list *list);

/* ---- DynamoDB JSON: event-store.json ------------------------------------ */

/* Reads an array of BatchWriteItem request bodies (what efc compile
 * writes) into items, in file order.  Every request must be a PutRequest
 * whose item has exactly PK, SK and the three attributes above, each of
 * type S.  0, or -1 with the reason and where (e.g. "[0].RequestItems.
 * EventStore[3]: ...").  *table receives the table name (malloc'd; may be
 * NULL). */
int evstore_parse_batches(struct json_object *bodies, struct evstore_list *out, char **table,
                          char *why, size_t why_size);
/* The same from a file, or from DIR/event-store.json when path is a folder. */
int evstore_read_file(const char *path, struct evstore_list *out, char **table, char *why, size_t why_size);
/* Every item, in sequence order, as BatchWriteItem request bodies for
 * `table` (NULL: EVSTORE_DEFAULT_TABLE).  NULL on failure (see evstore_error). */
struct json_object *evstore_dump(struct evstore *st, const char *table);
/* The same for a list (in the list's order). */
struct json_object *evstore_batches(const struct evstore_list *list, const char *table);

/* ---- backend interface --------------------------------------------------
 * The front (evstore.c) checks every argument and item, so callbacks may
 * assume valid keys and items.  Callbacks taking `txn` are called with the
 * backend's transaction (from begin) or NULL for a read outside one.
 * Callbacks report failures with evstore_fail(). */
struct evstore_backend {
  const char *name;
  void (*close)(void *ctx);
  enum evstore_status (*begin)(void *ctx, void **txn);
  enum evstore_status (*commit)(void *ctx, void *txn);     /* releases txn either way */
  void (*rollback)(void *ctx, void *txn);                  /* releases txn */
  enum evstore_status (*get)(void *ctx, void *txn, const char *pk, const char *sk, struct evstore_item *out);
  enum evstore_status (*list)(void *ctx, void *txn, const char *pk, struct evstore_list *out);
  enum evstore_status (*put)(void *ctx, void *txn, const struct evstore_item *item, enum evstore_cond cond);
  enum evstore_status (*delete_item)(void *ctx, void *txn, const char *pk, const char *sk);
  enum evstore_status (*generation)(void *ctx, void *txn, int64_t *generation);
};

struct evstore *evstore_new(const struct evstore_backend *backend, void *ctx);
/* Records a message for evstore_error() and returns status. */
enum evstore_status evstore_fail(enum evstore_status status, const char *fmt, ...)
  __attribute__((format(printf, 2, 3)));

#endif /* EFC_EVSTORE_H */
