/* test_evstore.c — the Event Store's behaviour, run against every backend.
 *
 * One suite (exact text round trips, order, conditional writes, deletes,
 * transactions and their atomicity, sequence numbers, generations, item
 * checks, threads racing on read-modify-write) is instantiated once per
 * backend, so memory and SQLite answer alike.  Then what only concerns one
 * side: the DynamoDB JSON reader and writer (a golden event-store.json goes
 * in and comes out byte for byte), and SQLite files (reopening, refusing a
 * file that is not an event store).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <json-c/json.h>
#include <sqlite3.h>

#include "evstore.h"

struct fixture {
  int on_disk;
  char path[64];
  struct evstore *st;
};

static void remove_files(const char *path) {
  char side[96];
  unlink(path);
  snprintf(side, sizeof side, "%s-wal", path);
  unlink(side);
  snprintf(side, sizeof side, "%s-shm", path);
  unlink(side);
}

static struct evstore *open_fixture(struct fixture *f) {
  char err[300];
  struct evstore *st = f->on_disk ? evstore_open_sqlite(f->path, err, sizeof err) : evstore_open_memory();
  if (!st) fail_msg("open: %s", err);
  return st;
}

static int setup_memory(void **state) {
  struct fixture *f = calloc(1, sizeof *f);
  f->st = open_fixture(f);
  *state = f;
  return 0;
}

static int setup_sqlite(void **state) {
  struct fixture *f = calloc(1, sizeof *f);
  f->on_disk = 1;
  strcpy(f->path, "/tmp/efc-evstore-XXXXXX");
  int fd = mkstemp(f->path);
  close(fd);
  unlink(f->path);   /* an absent file: the store creates it */
  f->st = open_fixture(f);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fixture *f = *state;
  evstore_close(f->st);
  if (f->on_disk) remove_files(f->path);
  free(f);
  return 0;
}

static struct evstore_item item(const char *pk, const char *sk, const char *schema, const char *routing, const char *data) {
  return (struct evstore_item){ (char *)pk, (char *)sk, (char *)schema, (char *)routing, (char *)data, 0 };
}

static void put(struct evstore *st, const char *pk, const char *sk, const char *data) {
  struct evstore_item it = item(pk, sk, NULL, NULL, data);
  assert_int_equal(evstore_put(st, &it, EVSTORE_ANY), EVSTORE_OK);
}

/* ---- behaviour, every backend ------------------------------------------------- */

static void exact_text_round_trip(void **state) {
  struct fixture *f = *state;
  /* Odd but valid JSON text: spaces, escapes, number spellings stay as written. */
  const char *schema = "{ \"a\" : 1.50, \"b\":\"\\u00e9\\/\" }", *routing = "{\"rules\":[]}", *data = "{\"x\":1e3}";
  struct evstore_item in = item("events", "Ping", schema, routing, data), out;
  assert_int_equal(evstore_put(f->st, &in, EVSTORE_ANY), EVSTORE_OK);
  assert_int_equal(evstore_get(f->st, "events", "Ping", &out), EVSTORE_OK);
  assert_string_equal(out.pk, "events");
  assert_string_equal(out.sk, "Ping");
  assert_string_equal(out.schema, schema);
  assert_string_equal(out.routing, routing);
  assert_string_equal(out.data, data);
  evstore_item_free(&out);
  /* An absent attribute stays absent. */
  put(f->st, "flow", "f", "{}");
  assert_int_equal(evstore_get(f->st, "flow", "f", &out), EVSTORE_OK);
  assert_null(out.schema);
  assert_null(out.routing);
  assert_string_equal(out.data, "{}");
  evstore_item_free(&out);
}

static void missing_items(void **state) {
  struct fixture *f = *state;
  struct evstore_item out;
  assert_int_equal(evstore_get(f->st, "flow", "nope", &out), EVSTORE_NOT_FOUND);
  assert_int_equal(evstore_delete(f->st, "flow", "nope"), EVSTORE_NOT_FOUND);
  struct evstore_list l = { 0 };
  assert_int_equal(evstore_list(f->st, NULL, &l), EVSTORE_OK);
  assert_int_equal(l.count, 0);
  evstore_list_free(&l);
}

static void lists_in_key_order(void **state) {
  struct fixture *f = *state;
  const char *names[] = { "b", "a", "B", "a.b", "_z", "é" };
  for (size_t i = 0; i < 6; i++) put(f->st, "events", names[i], "{}");
  put(f->st, "flow", "a", "{}");
  struct evstore_list l = { 0 };
  assert_int_equal(evstore_list(f->st, "events", &l), EVSTORE_OK);
  const char *want[] = { "B", "_z", "a", "a.b", "b", "é" };   /* bytes: 'B' < '_' < 'a' < 0xC3 */
  assert_int_equal(l.count, 6);
  for (size_t i = 0; i < 6; i++) assert_string_equal(l.items[i].sk, want[i]);
  evstore_list_free(&l);
  assert_int_equal(evstore_list(f->st, NULL, &l), EVSTORE_OK);
  assert_int_equal(l.count, 7);
  assert_string_equal(l.items[0].pk, "events");
  assert_string_equal(l.items[6].pk, "flow");
  evstore_list_free(&l);
}

static void conditions(void **state) {
  struct fixture *f = *state;
  struct evstore_item a = item("flow", "x", NULL, NULL, "{\"v\":1}"), b = item("flow", "x", NULL, NULL, "{\"v\":2}"), out;
  assert_int_equal(evstore_put(f->st, &a, EVSTORE_MUST_EXIST), EVSTORE_NOT_FOUND);
  assert_int_equal(evstore_put(f->st, &a, EVSTORE_MUST_NOT_EXIST), EVSTORE_OK);
  assert_int_equal(evstore_put(f->st, &b, EVSTORE_MUST_NOT_EXIST), EVSTORE_EXISTS);
  assert_int_equal(evstore_get(f->st, "flow", "x", &out), EVSTORE_OK);
  assert_string_equal(out.data, "{\"v\":1}");
  evstore_item_free(&out);
  assert_int_equal(evstore_put(f->st, &b, EVSTORE_MUST_EXIST), EVSTORE_OK);
  assert_int_equal(evstore_get(f->st, "flow", "x", &out), EVSTORE_OK);
  assert_string_equal(out.data, "{\"v\":2}");
  evstore_item_free(&out);
  assert_int_equal(evstore_delete(f->st, "flow", "x"), EVSTORE_OK);
  assert_int_equal(evstore_get(f->st, "flow", "x", &out), EVSTORE_NOT_FOUND);
}

static void refuses_bad_items(void **state) {
  struct fixture *f = *state;
  char big_key[EVSTORE_MAX_KEY + 2];
  memset(big_key, 'k', sizeof big_key - 1);
  big_key[sizeof big_key - 1] = 0;
  char *big = malloc(EVSTORE_MAX_ITEM + 64);
  strcpy(big, "{\"x\":\"");
  memset(big + 6, 'a', EVSTORE_MAX_ITEM);
  strcpy(big + 6 + EVSTORE_MAX_ITEM, "\"}");
  struct evstore_item bad[] = {
    item("route", "x", NULL, NULL, NULL),             /* unknown PK */
    item("flow", "", NULL, NULL, NULL),               /* empty SK */
    item("flow", big_key, NULL, NULL, NULL),          /* SK too long */
    item("flow", "\xff\xfe", NULL, NULL, NULL),       /* SK not UTF-8 */
    item("flow", "\xc0\xaf", NULL, NULL, NULL),       /* overlong '/' */
    item("flow", "x", NULL, NULL, "not json"),
    item("flow", "x", NULL, NULL, "[1,2]"),           /* JSON, not an object */
    item("flow", "x", NULL, NULL, "{} {}"),           /* two values */
    item("flow", "x", "{\"a\":\"\xff\"}", NULL, NULL),  /* invalid UTF-8 inside */
    item("flow", "x", NULL, NULL, big),               /* over the item size */
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    assert_int_equal(evstore_put(f->st, &bad[i], EVSTORE_ANY), EVSTORE_INVALID);
    assert_true(evstore_error()[0] != 0);
  }
  free(big);
  struct evstore_list l = { 0 };
  assert_int_equal(evstore_list(f->st, NULL, &l), EVSTORE_OK);
  assert_int_equal(l.count, 0);
  evstore_list_free(&l);
  struct evstore_item out;
  assert_int_equal(evstore_get(f->st, "nope", "x", &out), EVSTORE_INVALID);
  assert_int_equal(evstore_list(f->st, "nope", &l), EVSTORE_INVALID);
}

/* A transaction that writes two items and then fails. */
static enum evstore_status write_two_then_fail(struct evstore_txn *txn, void *ctx) {
  (void)ctx;
  struct evstore_item a = item("flow", "a", NULL, NULL, "{}"), b = item("flow", "b", NULL, NULL, "{}"), out;
  assert_int_equal(evstore_txn_put(txn, &a, EVSTORE_ANY), EVSTORE_OK);
  assert_int_equal(evstore_txn_put(txn, &b, EVSTORE_ANY), EVSTORE_OK);
  /* Its own writes are visible inside. */
  assert_int_equal(evstore_txn_get(txn, "flow", "a", &out), EVSTORE_OK);
  evstore_item_free(&out);
  struct evstore_list l = { 0 };
  assert_int_equal(evstore_txn_list(txn, "flow", &l), EVSTORE_OK);
  assert_int_equal(l.count, 2);
  evstore_list_free(&l);
  return EVSTORE_INVALID;
}

static void rollback_leaves_nothing(void **state) {
  struct fixture *f = *state;
  int64_t g0, g1;
  assert_int_equal(evstore_generation(f->st, &g0), EVSTORE_OK);
  assert_int_equal(evstore_transact(f->st, write_two_then_fail, NULL), EVSTORE_INVALID);
  struct evstore_list l = { 0 };
  assert_int_equal(evstore_list(f->st, NULL, &l), EVSTORE_OK);
  assert_int_equal(l.count, 0);
  evstore_list_free(&l);
  assert_int_equal(evstore_generation(f->st, &g1), EVSTORE_OK);
  assert_true(g1 == g0);
}

static enum evstore_status replace_and_delete(struct evstore_txn *txn, void *ctx) {
  (void)ctx;
  struct evstore_item x = item("flow", "x", NULL, NULL, "{\"v\":2}"), y = item("flow", "y", NULL, NULL, "{}"), out;
  enum evstore_status s = evstore_txn_put(txn, &x, EVSTORE_MUST_EXIST);
  if (s == EVSTORE_OK) s = evstore_txn_delete(txn, "flow", "old");
  if (s == EVSTORE_OK) s = evstore_txn_put(txn, &y, EVSTORE_MUST_NOT_EXIST);
  assert_int_equal(evstore_txn_get(txn, "flow", "old", &out), EVSTORE_NOT_FOUND);
  assert_int_equal(evstore_txn_delete(txn, "flow", "old"), EVSTORE_NOT_FOUND);
  return s;
}

static void commit_applies_everything(void **state) {
  struct fixture *f = *state;
  put(f->st, "flow", "x", "{\"v\":1}");
  put(f->st, "flow", "old", "{}");
  int64_t g0, g1;
  assert_int_equal(evstore_generation(f->st, &g0), EVSTORE_OK);
  assert_int_equal(evstore_transact(f->st, replace_and_delete, NULL), EVSTORE_OK);
  assert_int_equal(evstore_generation(f->st, &g1), EVSTORE_OK);
  assert_true(g1 == g0 + 1);   /* one transaction, one step */
  struct evstore_list l = { 0 };
  assert_int_equal(evstore_list(f->st, NULL, &l), EVSTORE_OK);
  assert_int_equal(l.count, 2);
  assert_string_equal(l.items[0].sk, "x");
  assert_string_equal(l.items[0].data, "{\"v\":2}");
  assert_string_equal(l.items[1].sk, "y");
  evstore_list_free(&l);
}

static enum evstore_status read_only(struct evstore_txn *txn, void *ctx) {
  (void)ctx;
  struct evstore_list l = { 0 };
  enum evstore_status s = evstore_txn_list(txn, NULL, &l);
  evstore_list_free(&l);
  return s;
}

static void generation_counts_writes(void **state) {
  struct fixture *f = *state;
  int64_t g0, g;
  assert_int_equal(evstore_generation(f->st, &g0), EVSTORE_OK);
  put(f->st, "flow", "a", "{}");
  put(f->st, "flow", "a", "{}");
  assert_int_equal(evstore_delete(f->st, "flow", "a"), EVSTORE_OK);
  assert_int_equal(evstore_generation(f->st, &g), EVSTORE_OK);
  assert_true(g == g0 + 3);
  assert_int_equal(evstore_transact(f->st, read_only, NULL), EVSTORE_OK);
  struct evstore_item a = item("flow", "a", NULL, NULL, "{}");
  assert_int_equal(evstore_put(f->st, &a, EVSTORE_MUST_EXIST), EVSTORE_NOT_FOUND);   /* failed: no change */
  assert_int_equal(evstore_generation(f->st, &g0), EVSTORE_OK);
  assert_true(g0 == g);
}

static void sequence_is_first_write_order(void **state) {
  struct fixture *f = *state;
  put(f->st, "flow", "z", "{}");
  put(f->st, "events", "m", "{}");
  put(f->st, "flow", "a", "{}");
  put(f->st, "flow", "z", "{\"again\":true}");   /* replaced: keeps its place */
  struct json_object *dump = evstore_dump(f->st, "T");
  assert_non_null(dump);
  struct json_object *puts = json_object_object_get(json_object_object_get(json_object_array_get_idx(dump, 0), "RequestItems"), "T");
  assert_int_equal(json_object_array_length(puts), 3);
  const char *order[] = { "z", "m", "a" };
  for (size_t i = 0; i < 3; i++) {
    struct json_object *it = json_object_object_get(json_object_object_get(json_object_array_get_idx(puts, i), "PutRequest"), "Item");
    assert_string_equal(json_object_get_string(json_object_object_get(json_object_object_get(it, "SK"), "S")), order[i]);
  }
  json_object_put(dump);
}

/* Threads race on one counter item, each read-modify-write in a transaction:
 * with atomic transactions no increment is lost. */
struct race { struct evstore *st; int rounds; };

static enum evstore_status increment(struct evstore_txn *txn, void *ctx) {
  (void)ctx;
  struct evstore_item out;
  long n = 0;
  enum evstore_status s = evstore_txn_get(txn, "flow", "counter", &out);
  if (s == EVSTORE_OK) {
    sscanf(out.data, "{\"n\":%ld}", &n);
    evstore_item_free(&out);
  } else if (s != EVSTORE_NOT_FOUND) {
    return s;
  }
  char data[64];
  snprintf(data, sizeof data, "{\"n\":%ld}", n + 1);
  struct evstore_item it = item("flow", "counter", NULL, NULL, data);
  return evstore_txn_put(txn, &it, EVSTORE_ANY);
}

static void *racer(void *arg) {
  struct race *r = arg;
  for (int i = 0; i < r->rounds; i++) {
    if (evstore_transact(r->st, increment, NULL) != EVSTORE_OK) return (void *)1;
    struct evstore_list l = { 0 };   /* readers run beside the writers */
    if (evstore_list(r->st, NULL, &l) != EVSTORE_OK) return (void *)1;
    evstore_list_free(&l);
  }
  return NULL;
}

static void threads_lose_no_update(void **state) {
  struct fixture *f = *state;
  enum { THREADS = 8, ROUNDS = 60 };
  pthread_t t[THREADS];
  struct race r = { f->st, ROUNDS };
  for (int i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, racer, &r);
  int failed = 0;
  for (int i = 0; i < THREADS; i++) {
    void *rc;
    pthread_join(t[i], &rc);
    failed += rc != NULL;
  }
  assert_int_equal(failed, 0);
  struct evstore_item out;
  assert_int_equal(evstore_get(f->st, "flow", "counter", &out), EVSTORE_OK);
  char want[32];
  snprintf(want, sizeof want, "{\"n\":%d}", THREADS * ROUNDS);
  assert_string_equal(out.data, want);
  evstore_item_free(&out);
}

/* ---- DynamoDB JSON -------------------------------------------------------------- */

static char *read_all(const char *path) {
  FILE *fp = fopen(path, "rb");
  if (!fp) return NULL;
  fseek(fp, 0, SEEK_END);
  long n = ftell(fp);
  fseek(fp, 0, SEEK_SET);
  char *s = malloc((size_t)n + 1);
  size_t got = fread(s, 1, (size_t)n, fp);
  s[got] = 0;
  fclose(fp);
  return s;
}

static void golden_file_round_trips(void **state) {
  struct fixture *f = *state;
  static const char *const goldens[] = {
    "tests/golden/timecard/event-store.json", "tests/golden/productivity-coach/event-store.json",
    "tests/golden/knowledge-base/event-store.json",
  };
  for (size_t g = 0; g < 3; g++) {
    struct evstore *st = g == 0 ? f->st : evstore_open_memory();
    struct evstore_list items = { 0 };
    char why[400], *table = NULL;
    if (evstore_read_file(goldens[g], &items, &table, why, sizeof why) != 0) fail_msg("%s", why);
    assert_string_equal(table, "EventStore");
    for (size_t i = 0; i < items.count; i++) assert_int_equal(evstore_put(st, &items.items[i], EVSTORE_MUST_NOT_EXIST), EVSTORE_OK);
    struct json_object *dump = evstore_dump(st, table);
    const char *text = json_object_to_json_string_ext(dump, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                            JSON_C_TO_STRING_NOSLASHESCAPE);
    char *want = read_all(goldens[g]);
    assert_non_null(want);
    size_t n = strlen(text);
    assert_true(strlen(want) == n + 1 && memcmp(want, text, n) == 0 && want[n] == '\n');
    free(want);
    json_object_put(dump);
    free(table);
    evstore_list_free(&items);
    if (st != f->st) evstore_close(st);
  }
}

static void batches_of_25(void **state) {
  struct fixture *f = *state;
  char name[16];
  for (int i = 0; i < 60; i++) {
    snprintf(name, sizeof name, "e%02d", i);
    put(f->st, "events", name, "{}");
  }
  struct json_object *dump = evstore_dump(f->st, NULL);
  assert_int_equal(json_object_array_length(dump), 3);
  size_t sizes[] = { 25, 25, 10 };
  for (size_t b = 0; b < 3; b++) {
    struct json_object *puts =
      json_object_object_get(json_object_object_get(json_object_array_get_idx(dump, b), "RequestItems"), EVSTORE_DEFAULT_TABLE);
    assert_int_equal(json_object_array_length(puts), sizes[b]);
  }
  json_object_put(dump);
}

static void parse_errors_say_where(void **state) {
  (void)state;
  static const struct { const char *doc, *why; } cases[] = {
    { "{}", "expected an array" },
    { "[{\"RequestItems\": {}}]", "[0]: expected" },
    { "[{\"RequestItems\": {\"T\": [{\"DeleteRequest\": {}}]}}]", "[0].RequestItems.T[0]: expected {\"PutRequest\"" },
    { "[{\"RequestItems\": {\"T\": [{\"PutRequest\": {\"Item\": {\"PK\": {\"S\": \"flow\"}, \"SK\": {\"S\": \"f\"}, "
      "\"Extra\": {\"S\": \"{}\"}}}}]}}]", "unknown attribute \"Extra\"" },
    { "[{\"RequestItems\": {\"T\": [{\"PutRequest\": {\"Item\": {\"PK\": {\"S\": \"flow\"}, \"SK\": {\"N\": \"1\"}}}}]}}]",
      "attribute SK is not a string" },
    { "[{\"RequestItems\": {\"T\": [{\"PutRequest\": {\"Item\": {\"PK\": {\"S\": \"flow\"}}}}]}}]", "the item has no SK" },
    { "[{\"RequestItems\": {\"T\": [{\"PutRequest\": {\"Item\": {\"PK\": {\"S\": \"flow\"}, \"SK\": {\"S\": \"f\"}, "
      "\"Data\": {\"S\": \"oops\"}}}}]}}]", "Data is not a JSON object" },
    { "[{\"RequestItems\": {\"T\": []}}, {\"RequestItems\": {\"U\": []}}]", "[1]: table \"U\" differs" },
    { "[{\"RequestItems\": {\"T\": [{\"PutRequest\": {\"Item\": {\"PK\": {\"S\": \"flow\"}, \"SK\": {\"S\": \"f\"}}}},"
      "{\"PutRequest\": {\"Item\": {\"PK\": {\"S\": \"flow\"}, \"SK\": {\"S\": \"f\"}}}}]}}]", "T[1]: a second item flow/f" },
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    struct json_object *doc = json_tokener_parse(cases[i].doc);
    assert_non_null(doc);
    struct evstore_list l = { 0 };
    char why[400] = "";
    assert_int_equal(evstore_parse_batches(doc, &l, NULL, why, sizeof why), -1);
    if (!strstr(why, cases[i].why)) fail_msg("case %zu: \"%s\" does not say \"%s\"", i, why, cases[i].why);
    evstore_list_free(&l);
    json_object_put(doc);
  }
}

/* ---- SQLite files ----------------------------------------------------------------- */

static void sqlite_reopens(void **state) {
  struct fixture *f = *state;
  put(f->st, "flow", "kept", "{\"k\":1}");
  int64_t g;
  assert_int_equal(evstore_generation(f->st, &g), EVSTORE_OK);
  evstore_close(f->st);
  f->st = open_fixture(f);
  struct evstore_item out;
  assert_int_equal(evstore_get(f->st, "flow", "kept", &out), EVSTORE_OK);
  assert_string_equal(out.data, "{\"k\":1}");
  evstore_item_free(&out);
  int64_t g2;
  assert_int_equal(evstore_generation(f->st, &g2), EVSTORE_OK);
  assert_true(g2 == g);
  /* A second handle on the same file sees the first one's commits. */
  char err[300];
  struct evstore *other = evstore_open_sqlite(f->path, err, sizeof err);
  assert_non_null(other);
  put(other, "flow", "from-other", "{}");
  assert_int_equal(evstore_get(f->st, "flow", "from-other", &out), EVSTORE_OK);
  evstore_item_free(&out);
  assert_int_equal(evstore_generation(f->st, &g2), EVSTORE_OK);
  assert_true(g2 == g + 1);
  evstore_close(other);
}

static void sqlite_refuses_other_files(void **state) {
  (void)state;
  char path[] = "/tmp/efc-evstore-other-XXXXXX", err[300];
  int fd = mkstemp(path);
  char junk[200];
  memset(junk, '.', sizeof junk);
  memcpy(junk, "this is not a database", 22);
  assert_true(write(fd, junk, sizeof junk) == (ssize_t)sizeof junk);
  close(fd);
  assert_null(evstore_open_sqlite(path, err, sizeof err));
  assert_non_null(strstr(err, "not"));
  unlink(path);
  /* An SQLite database of another kind. */
  sqlite3 *db;
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  assert_int_equal(sqlite3_exec(db, "CREATE TABLE t (x); INSERT INTO t VALUES (1);", NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(db);
  assert_null(evstore_open_sqlite(path, err, sizeof err));
  assert_non_null(strstr(err, "not an efc event store"));
  remove_files(path);
  /* A later layout version. */
  struct evstore *st = evstore_open_sqlite(path, err, sizeof err);
  assert_non_null(st);
  evstore_close(st);
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99;", NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(db);
  assert_null(evstore_open_sqlite(path, err, sizeof err));
  assert_non_null(strstr(err, "version 99"));
  remove_files(path);
}

static void memory_path_opens_memory(void **state) {
  (void)state;
  char err[100];
  struct evstore *st = evstore_open(EVSTORE_MEMORY_PATH, err, sizeof err);
  assert_non_null(st);
  assert_string_equal(evstore_backend_name(st), "memory");
  evstore_close(st);
}

int main(void) {
  static const struct { const char *name; CMUnitTestFunction fn; } behaviours[] = {
    { "exact text round trip", exact_text_round_trip },
    { "missing items", missing_items },
    { "lists in key order", lists_in_key_order },
    { "write conditions", conditions },
    { "refuses bad items", refuses_bad_items },
    { "rollback leaves nothing", rollback_leaves_nothing },
    { "commit applies everything", commit_applies_everything },
    { "generation counts writes", generation_counts_writes },
    { "sequence is first-write order", sequence_is_first_write_order },
    { "threads lose no update", threads_lose_no_update },
    { "golden event-store.json round trips", golden_file_round_trips },
    { "dump in batches of 25", batches_of_25 },
  };
  enum { NB = sizeof behaviours / sizeof *behaviours };
  static char names[2 * NB][96];
  struct CMUnitTest tests[2 * NB + 4];
  size_t n = 0;
  const char *backends[] = { "memory", "sqlite" };
  for (int b = 0; b < 2; b++)
    for (size_t i = 0; i < NB; i++) {
      snprintf(names[n], sizeof names[n], "%s: %s", backends[b], behaviours[i].name);
      tests[n] = (struct CMUnitTest){ names[n], behaviours[i].fn, b ? setup_sqlite : setup_memory, teardown, NULL };
      n++;
    }
  tests[n++] = (struct CMUnitTest){ "parse errors say where", parse_errors_say_where, NULL, NULL, NULL };
  tests[n++] = (struct CMUnitTest){ "sqlite: reopens, two handles", sqlite_reopens, setup_sqlite, teardown, NULL };
  tests[n++] = (struct CMUnitTest){ "sqlite: refuses other files", sqlite_refuses_other_files, NULL, NULL, NULL };
  tests[n++] = (struct CMUnitTest){ ":memory: opens a memory store", memory_path_opens_memory, NULL, NULL, NULL };
  cmocka_set_message_output(CM_OUTPUT_TAP);
  return _cmocka_run_group_tests("evstore", tests, n, NULL, NULL);
}
