/* test_state.c — the state store's behaviour, run against every backend.
 *
 * One suite of behavioural tests (versions, conditional writes, counters,
 * deletes, scans, expiry, transactions, metadata) is instantiated once per
 * entry of `backends[]`, so memory and SQLite must answer identically.
 * SQLite then gets its own tests for what only a file has: reopening, two
 * handles on one file, lock contention, a child process SIGKILLed in the
 * middle of a run of transactions, garbage and damaged files, unknown schema
 * versions.  A differential test drives both backends with the same random
 * operations and compares every answer; a fake backend checks the front's
 * handling of I/O errors inside a transaction.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "state.h"

#define K(f, s, k) (&(struct state_key){(f), (s), (k)})

/* ---- fixtures ---------------------------------------------------------------- */

struct backend_case {
  const char *name;
  int on_disk;
};

static const struct backend_case backends[] = {
  {"memory", 0},
  {"sqlite", 1},
};

struct fixture {
  const struct backend_case *backend;
  char path[64];
  struct state_store *st;
};

static void temp_path(char *path)
{
  strcpy(path, "/tmp/efc-state-XXXXXX");
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
}

static void remove_store_files(const char *path)
{
  char side[80];
  unlink(path);
  snprintf(side, sizeof side, "%s-wal", path);
  unlink(side);
  snprintf(side, sizeof side, "%s-shm", path);
  unlink(side);
}

static struct state_store *open_file(const char *path)
{
  char err[512];
  struct state_store *st = state_open_sqlite(path, err, sizeof err);
  if (!st)
    fail_msg("state_open_sqlite: %s", err);
  return st;
}

static int setup(void **state)
{
  struct fixture *f = calloc(1, sizeof *f);
  assert_non_null(f);
  f->backend = *state;
  if (f->backend->on_disk) {
    temp_path(f->path);
    f->st = open_file(f->path);
  } else {
    f->st = state_open_memory();
  }
  assert_non_null(f->st);
  assert_string_equal(state_backend_name(f->st), f->backend->name);
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  struct fixture *f = *state;
  state_close(f->st);
  if (f->backend->on_disk)
    remove_store_files(f->path);
  free(f);
  return 0;
}

static int setup_path(void **state)
{
  struct fixture *f = calloc(1, sizeof *f);
  assert_non_null(f);
  temp_path(f->path);
  *state = f;
  return 0;
}

static int teardown_path(void **state)
{
  struct fixture *f = *state;
  state_close(f->st);
  remove_store_files(f->path);
  free(f);
  return 0;
}

/* ---- helpers ------------------------------------------------------------------ */

static struct state_store *store_of(void **state)
{
  return ((struct fixture *)*state)->st;
}

static int64_t put_ok(struct state_store *st, const struct state_key *k, const char *value,
                      int64_t expires, int64_t expected)
{
  int64_t version = -1;
  enum state_status s = state_put(st, k, value, expires, expected, &version);
  if (s != STATE_OK)
    fail_msg("state_put(%s): %s: %s", k->key, state_status_name(s), state_error(st));
  return version;
}

/* The item's value, or NULL when missing; caller frees. */
static char *get_value(struct state_store *st, const struct state_key *k, int64_t *version)
{
  char *value = NULL;
  enum state_status s = state_get(st, k, &value, version, NULL);
  if (s == STATE_NOT_FOUND)
    return NULL;
  if (s != STATE_OK)
    fail_msg("state_get(%s): %s: %s", k->key, state_status_name(s), state_error(st));
  return value;
}

static void assert_value(struct state_store *st, const struct state_key *k, const char *want,
                         int64_t want_version)
{
  int64_t version = 0;
  char *value = get_value(st, k, &version);
  if (!want) {
    assert_null(value);
    return;
  }
  assert_non_null(value);
  assert_string_equal(value, want);
  assert_int_equal(version, want_version);
  free(value);
}

static char *meta(struct state_store *st, const char *name)
{
  char *value = NULL;
  enum state_status s = state_meta_get(st, name, &value);
  assert_true(s == STATE_OK || s == STATE_NOT_FOUND);
  return value;
}

/* Scan collector: "key|key|..." or, with with_expiry, "flow/stage/key@ms|". */
struct seen {
  char text[16384];
  size_t len;
  int count;
  int stop_after;               /* stop once this many were seen (0 = never) */
  int with_expiry;
  struct state_store *delete_from;   /* delete each item seen */
  char last[STATE_MAX_KEY + 1]; /* for order checks */
  int64_t last_expires;
  int out_of_order;
};

static int collect(void *ctx, const struct state_item *it)
{
  struct seen *s = ctx;
  s->count++;
  if (s->len < sizeof s->text) {
    int n = s->with_expiry
                ? snprintf(s->text + s->len, sizeof s->text - s->len, "%s/%s/%s@%" PRId64 "|",
                           it->flow, it->stage, it->key, it->expires)
                : snprintf(s->text + s->len, sizeof s->text - s->len, "%s|", it->key);
    s->len += (size_t)n;
  }
  if (s->count > 1) {
    if (s->with_expiry ? it->expires < s->last_expires
                       : strcmp(it->key, s->last) <= 0)
      s->out_of_order = 1;
  }
  snprintf(s->last, sizeof s->last, "%s", it->key);
  s->last_expires = it->expires;
  if (s->delete_from) {
    enum state_status st = state_delete(s->delete_from, K(it->flow, it->stage, it->key),
                                        it->version);
    if (st != STATE_OK)
      fail_msg("delete in callback: %s", state_error(s->delete_from));
  }
  return s->stop_after && s->count >= s->stop_after;
}

static void scan(struct state_store *st, const char *flow, const char *stage,
                 const char *prefix, struct seen *seen)
{
  enum state_status s = state_scan(st, flow, stage, prefix, collect, seen);
  if (s != STATE_OK)
    fail_msg("state_scan: %s", state_error(st));
}

static int count_items(struct state_store *st, const char *flow, const char *stage)
{
  struct seen seen = {0};
  scan(st, flow, stage, NULL, &seen);
  return seen.count;
}

/* ---- items: get, put, versions ----------------------------------------------------- */

static void test_get_missing(void **state)
{
  struct state_store *st = store_of(state);
  char *value = (char *)"junk";
  int64_t version = 7, expires = 7;
  assert_int_equal(state_get(st, K("f", "s", "k"), &value, &version, &expires),
                   STATE_NOT_FOUND);
  assert_null(value);
  assert_int_equal(version, 0);
  assert_int_equal(expires, 0);
  assert_true(strlen(state_error(st)) > 0);
}

static void test_put_get_roundtrip(void **state)
{
  struct state_store *st = store_of(state);
  assert_int_equal(put_ok(st, K("f", "s", "k"), "{\"n\":1}", 0, -1), 1);
  char *value;
  int64_t version, expires;
  assert_int_equal(state_get(st, K("f", "s", "k"), &value, &version, &expires), STATE_OK);
  assert_string_equal(value, "{\"n\":1}");
  assert_int_equal(version, 1);
  assert_int_equal(expires, 0);
  free(value);
  assert_int_equal(put_ok(st, K("f", "s", "k"), "{\"n\":2}", 1234, -1), 2);
  assert_int_equal(state_get(st, K("f", "s", "k"), NULL, &version, &expires), STATE_OK);
  assert_int_equal(version, 2);
  assert_int_equal(expires, 1234);
  assert_string_equal(state_error(st), "");
}

static void test_values_are_stored_byte_exact(void **state)
{
  struct state_store *st = store_of(state);
  static const char *const values[] = {
    "{\"s\":\"\xc3\xa9\\u0000\\\"\\\\/\",\"a\":[1,2.5,null,true,-0]}",
    "42", "-7", "\"text\"", "null", "[]", " { } ", "\n[1, 2]\t", "1e300",
    "\"\xf0\x9f\x98\x80 emoji\"",
  };
  for (size_t i = 0; i < sizeof values / sizeof *values; i++) {
    char key[16];
    snprintf(key, sizeof key, "k%zu", i);
    put_ok(st, K("f", "s", key), values[i], 0, 0);
    assert_value(st, K("f", "s", key), values[i], 1);
  }
}

static void test_version_increments_on_every_write(void **state)
{
  struct state_store *st = store_of(state);
  for (int i = 1; i <= 100; i++)
    assert_int_equal(put_ok(st, K("f", "s", "k"), "{}", 0, -1), i);
  assert_value(st, K("f", "s", "k"), "{}", 100);
}

static void test_put_must_not_exist(void **state)
{
  struct state_store *st = store_of(state);
  int64_t version = 99;
  assert_int_equal(put_ok(st, K("f", "s", "k"), "1", 0, 0), 1);
  assert_int_equal(state_put(st, K("f", "s", "k"), "2", 0, 0, &version), STATE_CONFLICT);
  assert_int_equal(version, 0);
  assert_non_null(strstr(state_error(st), "exists"));
  assert_value(st, K("f", "s", "k"), "1", 1);
}

static void test_put_expected_version(void **state)
{
  struct state_store *st = store_of(state);
  put_ok(st, K("f", "s", "k"), "1", 0, -1);
  assert_int_equal(put_ok(st, K("f", "s", "k"), "2", 5, 1), 2);
  assert_int_equal(state_put(st, K("f", "s", "k"), "3", 0, 1, NULL), STATE_CONFLICT);
  assert_int_equal(state_put(st, K("f", "s", "k"), "3", 0, 5, NULL), STATE_CONFLICT);
  assert_non_null(strstr(state_error(st), "version conflict"));
  int64_t expires;
  assert_int_equal(state_get(st, K("f", "s", "k"), NULL, NULL, &expires), STATE_OK);
  assert_int_equal(expires, 5);
  assert_value(st, K("f", "s", "k"), "2", 2);
  /* A condition on a missing item fails and creates nothing. */
  assert_int_equal(state_put(st, K("f", "s", "other"), "1", 0, 1, NULL), STATE_CONFLICT);
  assert_value(st, K("f", "s", "other"), NULL, 0);
}

static void test_invalid_arguments(void **state)
{
  struct state_store *st = store_of(state);
  char long_key[STATE_MAX_KEY + 2], long_name[STATE_MAX_NAME + 2], deep[80];
  memset(long_key, 'k', sizeof long_key - 1);
  long_key[sizeof long_key - 1] = '\0';
  memset(long_name, 'n', sizeof long_name - 1);
  long_name[sizeof long_name - 1] = '\0';
  memset(deep, '[', 33);
  memset(deep + 33, ']', 33);
  deep[66] = '\0';
  const struct state_key *bad_keys[] = {
    K(NULL, "s", "k"), K("", "s", "k"), K("f", "", "k"), K("f", "s", ""), K("f", "s", NULL),
    K("f", "s", "\xff"), K("f", "s", "\xc0\x80"), K("f", "s", "\xed\xa0\x80"),
    K("f", "s", "\xc3"), K("f", "s", long_key), K(long_name, "s", "k"),
  };
  for (size_t i = 0; i < sizeof bad_keys / sizeof *bad_keys; i++) {
    assert_int_equal(state_put(st, bad_keys[i], "1", 0, -1, NULL), STATE_INVALID);
    assert_true(strlen(state_error(st)) > 0);
    assert_int_equal(state_get(st, bad_keys[i], NULL, NULL, NULL), STATE_INVALID);
    assert_int_equal(state_add(st, bad_keys[i], NULL, 1, NULL), STATE_INVALID);
    assert_int_equal(state_delete(st, bad_keys[i], -1), STATE_INVALID);
  }
  assert_int_equal(state_put(st, NULL, "1", 0, -1, NULL), STATE_INVALID);
  static const char *const bad_values[] = {"", "{", "{} x", "{}{}", "[1,]", "'x'", "nul",
                                           "{\"a\":1,}", "\"\xff\""};
  for (size_t i = 0; i < sizeof bad_values / sizeof *bad_values; i++) {
    assert_int_equal(state_put(st, K("f", "s", "k"), bad_values[i], 0, -1, NULL),
                     STATE_INVALID);
    assert_non_null(strstr(state_error(st), "value"));
  }
  assert_int_equal(state_put(st, K("f", "s", "k"), NULL, 0, -1, NULL), STATE_INVALID);
  assert_int_equal(state_put(st, K("f", "s", "k"), deep, 0, -1, NULL), STATE_INVALID);
  memset(deep + 32, ']', 32);   /* 32 levels: allowed */
  deep[64] = '\0';
  assert_int_equal(state_put(st, K("f", "s", "deep"), deep, 0, -1, NULL), STATE_OK);
  assert_int_equal(state_put(st, K("f", "s", "k"), "1", -1, -1, NULL), STATE_INVALID);
  assert_int_equal(state_put(st, K("f", "s", "k"), "1", 0, -2, NULL), STATE_INVALID);
  assert_int_equal(state_delete(st, K("f", "s", "k"), 0), STATE_INVALID);
  assert_int_equal(state_scan(st, "f", "s", NULL, NULL, NULL), STATE_INVALID);
  assert_int_equal(state_scan(st, "f", "", NULL, collect, NULL), STATE_INVALID);
  assert_int_equal(state_expired(st, 0, 0, NULL, NULL), STATE_INVALID);
  assert_int_equal(state_meta_put(st, "", "x"), STATE_INVALID);
  assert_int_equal(state_meta_put(st, "n", NULL), STATE_INVALID);
  assert_int_equal(state_meta_get(st, NULL, NULL), STATE_INVALID);
  /* Nothing but the one valid put got through. */
  assert_int_equal(count_items(st, "f", "s"), 1);
}

static void test_value_size_limit(void **state)
{
  struct state_store *st = store_of(state);
  char *big = malloc(STATE_MAX_VALUE + 2);
  assert_non_null(big);
  memset(big, 'x', STATE_MAX_VALUE + 1);
  big[0] = '"';
  big[STATE_MAX_VALUE - 1] = '"';
  big[STATE_MAX_VALUE] = '\0';
  assert_int_equal(put_ok(st, K("f", "s", "big"), big, 0, -1), 1);
  assert_value(st, K("f", "s", "big"), big, 1);
  big[STATE_MAX_VALUE - 1] = 'x';
  big[STATE_MAX_VALUE] = '"';
  big[STATE_MAX_VALUE + 1] = '\0';
  assert_int_equal(state_put(st, K("f", "s", "big"), big, 0, -1, NULL), STATE_INVALID);
  assert_non_null(strstr(state_error(st), "longer"));
  free(big);
}

static void test_keys_are_composite(void **state)
{
  struct state_store *st = store_of(state);
  put_ok(st, K("f1", "s1", "k"), "1", 0, -1);
  put_ok(st, K("f1", "s2", "k"), "2", 0, -1);
  put_ok(st, K("f2", "s1", "k"), "3", 0, -1);
  put_ok(st, K("f1", "s1", "k2"), "4", 0, -1);
  assert_value(st, K("f1", "s1", "k"), "1", 1);
  assert_value(st, K("f1", "s2", "k"), "2", 1);
  assert_value(st, K("f2", "s1", "k"), "3", 1);
  assert_value(st, K("f1", "s1", "k2"), "4", 1);
  assert_value(st, K("f2", "s2", "k"), NULL, 0);
  /* A separator inside a name cannot make two keys collide. */
  put_ok(st, K("a/b", "c", "d"), "5", 0, -1);
  assert_value(st, K("a", "b/c", "d"), NULL, 0);
}

/* ---- counters ------------------------------------------------------------------------ */

static void test_add_member(void **state)
{
  struct state_store *st = store_of(state);
  int64_t sum = 0;
  assert_int_equal(state_add(st, K("f", "s", "c"), "count", 5, &sum), STATE_OK);
  assert_int_equal(sum, 5);
  assert_value(st, K("f", "s", "c"), "{\"count\":5}", 1);
  assert_int_equal(state_add(st, K("f", "s", "c"), "count", 3, &sum), STATE_OK);
  assert_int_equal(sum, 8);
  assert_value(st, K("f", "s", "c"), "{\"count\":8}", 2);
  /* Other members stay, a missing member starts at 0. */
  put_ok(st, K("f", "s", "w"), "{\"a\":\"x/y\",\"count\":1}", 0, -1);
  assert_int_equal(state_add(st, K("f", "s", "w"), "count", 1, &sum), STATE_OK);
  assert_int_equal(state_add(st, K("f", "s", "w"), "other", -4, &sum), STATE_OK);
  assert_int_equal(sum, -4);
  assert_value(st, K("f", "s", "w"), "{\"a\":\"x/y\",\"count\":2,\"other\":-4}", 3);
}

static void test_add_bare_counter(void **state)
{
  struct state_store *st = store_of(state);
  int64_t sum = 0;
  assert_int_equal(state_add(st, K("f", "s", "c"), NULL, 7, &sum), STATE_OK);
  assert_int_equal(sum, 7);
  assert_int_equal(state_add(st, K("f", "s", "c"), NULL, -10, &sum), STATE_OK);
  assert_int_equal(sum, -3);
  assert_value(st, K("f", "s", "c"), "-3", 2);
  assert_int_equal(state_add(st, K("f", "s", "c"), NULL, 0, NULL), STATE_OK);
  assert_value(st, K("f", "s", "c"), "-3", 3);
}

static void test_add_type_errors(void **state)
{
  struct state_store *st = store_of(state);
  static const struct { const char *value, *field; } cases[] = {
    {"\"str\"", NULL}, {"1.5", NULL}, {"{\"c\":1}", NULL}, {"{\"c\":\"x\"}", "c"},
    {"{\"c\":1.0}", "c"}, {"[1]", "c"}, {"7", "c"}, {"{\"c\":null}", "c"},
    {"{\"c\":9223372036854775808}", "c"}, {"null", NULL}, {"null", "c"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char key[16];
    snprintf(key, sizeof key, "k%zu", i);
    put_ok(st, K("f", "s", key), cases[i].value, 0, -1);
    assert_int_equal(state_add(st, K("f", "s", key), cases[i].field, 1, NULL), STATE_TYPE);
    assert_true(strlen(state_error(st)) > 0);
    assert_value(st, K("f", "s", key), cases[i].value, 1);
  }
  put_ok(st, K("f", "s", "max"), "{\"c\":9223372036854775807}", 0, -1);
  assert_int_equal(state_add(st, K("f", "s", "max"), "c", 1, NULL), STATE_TYPE);
  assert_non_null(strstr(state_error(st), "overflow"));
  assert_int_equal(state_add(st, K("f", "s", "max"), "c", -1, NULL), STATE_OK);
  assert_value(st, K("f", "s", "max"), "{\"c\":9223372036854775806}", 2);
  assert_int_equal(state_add(st, K("f", "s", "min"), NULL, INT64_MIN, NULL), STATE_OK);
  assert_int_equal(state_add(st, K("f", "s", "min"), NULL, -1, NULL), STATE_TYPE);
  assert_value(st, K("f", "s", "min"), "-9223372036854775808", 1);
}

static void test_add_keeps_expiry(void **state)
{
  struct state_store *st = store_of(state);
  int64_t expires = 0;
  put_ok(st, K("f", "s", "c"), "{\"c\":1}", 500, -1);
  assert_int_equal(state_add(st, K("f", "s", "c"), "c", 1, NULL), STATE_OK);
  assert_int_equal(state_get(st, K("f", "s", "c"), NULL, NULL, &expires), STATE_OK);
  assert_int_equal(expires, 500);
}

static void test_add_in_transaction(void **state)
{
  struct state_store *st = store_of(state);
  int64_t sum;
  assert_int_equal(state_begin(st), STATE_OK);
  assert_int_equal(state_add(st, K("f", "s", "c"), "n", 2, &sum), STATE_OK);
  assert_int_equal(state_add(st, K("f", "s", "c"), "n", 2, &sum), STATE_OK);
  assert_int_equal(sum, 4);
  assert_int_equal(state_rollback(st), STATE_OK);
  assert_value(st, K("f", "s", "c"), NULL, 0);
  assert_int_equal(state_begin(st), STATE_OK);
  assert_int_equal(state_add(st, K("f", "s", "c"), "n", 2, &sum), STATE_OK);
  assert_int_equal(state_commit(st), STATE_OK);
  assert_value(st, K("f", "s", "c"), "{\"n\":2}", 1);
}

/* ---- delete ---------------------------------------------------------------------------- */

static void test_delete(void **state)
{
  struct state_store *st = store_of(state);
  put_ok(st, K("f", "s", "k"), "1", 0, -1);
  assert_int_equal(state_delete(st, K("f", "s", "k"), -1), STATE_OK);
  assert_value(st, K("f", "s", "k"), NULL, 0);
  assert_int_equal(state_delete(st, K("f", "s", "k"), -1), STATE_NOT_FOUND);
  assert_int_equal(state_delete(st, K("f", "s", "k"), 1), STATE_CONFLICT);
  /* Recreated items start again at version 1. */
  assert_int_equal(put_ok(st, K("f", "s", "k"), "2", 0, 0), 1);
  put_ok(st, K("f", "s", "k"), "3", 0, 1);
  assert_int_equal(state_delete(st, K("f", "s", "k"), 1), STATE_CONFLICT);
  assert_non_null(strstr(state_error(st), "conflict"));
  assert_value(st, K("f", "s", "k"), "3", 2);
  assert_int_equal(state_delete(st, K("f", "s", "k"), 2), STATE_OK);
  assert_value(st, K("f", "s", "k"), NULL, 0);
}

/* ---- scans ------------------------------------------------------------------------------ */

static void test_scan_byte_order(void **state)
{
  struct state_store *st = store_of(state);
  static const char *const keys[] = {"b", "\xc3\xa9", "a", "[\"s\",2]", "Z", "ab", "~",
                                     "a\x7f", "[\"s\",10]", "\xf0\x9f\x98\x80", "a "};
  for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
    put_ok(st, K("f", "s", keys[i]), "0", 0, -1);
  put_ok(st, K("f", "r", "x"), "0", 0, -1);   /* neighbours must not leak in */
  put_ok(st, K("f", "t", "x"), "0", 0, -1);
  put_ok(st, K("e", "s", "x"), "0", 0, -1);
  put_ok(st, K("g", "s", "x"), "0", 0, -1);
  struct seen seen = {0};
  scan(st, "f", "s", NULL, &seen);
  assert_string_equal(seen.text,
                      "Z|[\"s\",10]|[\"s\",2]|a|a |ab|a\x7f|b|~|\xc3\xa9|\xf0\x9f\x98\x80|");
  assert_int_equal(seen.out_of_order, 0);
  struct seen none = {0};
  scan(st, "f", "q", NULL, &none);
  assert_int_equal(none.count, 0);
}

static void test_scan_prefix(void **state)
{
  struct state_store *st = store_of(state);
  static const char *const keys[] = {"[\"s1\",\"a\"]", "[\"s1\",\"b\"]", "[\"s10\",\"a\"]",
                                     "[\"s2\",\"x\"]", "[\"s1\"", "a\x7f", "a\x7fz", "b",
                                     "\xc3\xa9", "\xc3\xa9z", "\xc3\xaa"};
  for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
    put_ok(st, K("f", "s", keys[i]), "0", 0, -1);
  struct seen a = {0}, b = {0}, c = {0}, d = {0}, e = {0}, g = {0};
  scan(st, "f", "s", "[\"s1\",", &a);
  assert_string_equal(a.text, "[\"s1\",\"a\"]|[\"s1\",\"b\"]|");
  scan(st, "f", "s", "[\"s1\"", &b);
  assert_string_equal(b.text, "[\"s1\"|[\"s1\",\"a\"]|[\"s1\",\"b\"]|");
  struct seen b2 = {0};
  scan(st, "f", "s", "[\"s1", &b2);
  assert_string_equal(b2.text, "[\"s1\"|[\"s1\",\"a\"]|[\"s1\",\"b\"]|[\"s10\",\"a\"]|");
  scan(st, "f", "s", "a\x7f", &c);
  assert_string_equal(c.text, "a\x7f|a\x7fz|");
  scan(st, "f", "s", "\xc3\xa9", &d);
  assert_string_equal(d.text, "\xc3\xa9|\xc3\xa9z|");
  scan(st, "f", "s", "nothing", &e);
  assert_int_equal(e.count, 0);
  scan(st, "f", "s", "", &g);
  assert_int_equal(g.count, (int)(sizeof keys / sizeof *keys));
}

static void test_scan_stops_when_asked(void **state)
{
  struct state_store *st = store_of(state);
  for (int i = 0; i < 10; i++) {
    char key[16];
    snprintf(key, sizeof key, "k%d", i);
    put_ok(st, K("f", "s", key), "0", 0, -1);
  }
  struct seen seen = {.stop_after = 2};
  assert_int_equal(state_scan(st, "f", "s", NULL, collect, &seen), STATE_OK);
  assert_string_equal(seen.text, "k0|k1|");
}

static void test_scan_many_pages(void **state)
{
  struct state_store *st = store_of(state);
  assert_int_equal(state_begin(st), STATE_OK);
  for (int i = 999; i >= 0; i--) {
    char key[16];
    snprintf(key, sizeof key, "k%04d", i);
    put_ok(st, K("f", "s", key), "{\"x\":1}", 0, -1);
  }
  assert_int_equal(state_commit(st), STATE_OK);
  struct seen all = {0}, some = {0};
  scan(st, "f", "s", NULL, &all);
  assert_int_equal(all.count, 1000);
  assert_int_equal(all.out_of_order, 0);
  assert_string_equal(all.last, "k0999");
  scan(st, "f", "s", "k05", &some);
  assert_int_equal(some.count, 100);
  assert_int_equal(some.out_of_order, 0);
  assert_string_equal(some.last, "k0599");
}

static void test_scan_callback_may_delete(void **state)
{
  struct state_store *st = store_of(state);
  for (int i = 0; i < 300; i++) {
    char key[16];
    snprintf(key, sizeof key, "k%03d", i);
    put_ok(st, K("f", "s", key), "0", 0, -1);
  }
  struct seen seen = {.delete_from = st};
  scan(st, "f", "s", NULL, &seen);
  assert_int_equal(seen.count, 300);
  assert_int_equal(seen.out_of_order, 0);
  assert_int_equal(count_items(st, "f", "s"), 0);
}

/* ---- expiry ------------------------------------------------------------------------------ */

static void test_expired_order_and_limit(void **state)
{
  struct state_store *st = store_of(state);
  put_ok(st, K("f", "s", "none"), "0", 0, -1);
  put_ok(st, K("f", "s", "late"), "0", 100, -1);
  put_ok(st, K("f", "s", "b"), "0", 50, -1);
  put_ok(st, K("f", "s", "future"), "0", 200, -1);
  put_ok(st, K("f", "s", "a"), "0", 50, -1);
  put_ok(st, K("e", "z", "z"), "0", 50, -1);
  put_ok(st, K("f", "s", "edge"), "0", 150, -1);
  struct seen all = {.with_expiry = 1}, two = {.with_expiry = 1}, early = {.with_expiry = 1};
  assert_int_equal(state_expired(st, 150, 0, collect, &all), STATE_OK);
  assert_string_equal(all.text, "e/z/z@50|f/s/a@50|f/s/b@50|f/s/late@100|f/s/edge@150|");
  assert_int_equal(state_expired(st, 150, 2, collect, &two), STATE_OK);
  assert_string_equal(two.text, "e/z/z@50|f/s/a@50|");
  assert_int_equal(state_expired(st, 49, 0, collect, &early), STATE_OK);
  assert_int_equal(early.count, 0);
  /* Expired items are still readable until deleted. */
  assert_value(st, K("f", "s", "a"), "0", 1);
  /* Rewriting without expiry takes an item off the list. */
  put_ok(st, K("f", "s", "late"), "1", 0, -1);
  struct seen after = {.with_expiry = 1};
  assert_int_equal(state_expired(st, 150, 0, collect, &after), STATE_OK);
  assert_string_equal(after.text, "e/z/z@50|f/s/a@50|f/s/b@50|f/s/edge@150|");
}

static void test_expired_sweep_many(void **state)
{
  struct state_store *st = store_of(state);
  int due = 0;
  assert_int_equal(state_begin(st), STATE_OK);
  for (int i = 0; i < 500; i++) {
    char key[16];
    int64_t expires = 1000 + (i * 7) % 300;
    snprintf(key, sizeof key, "w%03d", i);
    put_ok(st, K("f", i % 2 ? "odd" : "even", key), "{\"n\":1}", expires, -1);
    due += expires <= 1200;
  }
  assert_int_equal(state_commit(st), STATE_OK);
  struct seen sweep = {.with_expiry = 1, .delete_from = st};
  assert_int_equal(state_expired(st, 1200, 0, collect, &sweep), STATE_OK);
  assert_int_equal(sweep.count, due);
  assert_int_equal(sweep.out_of_order, 0);
  struct seen again = {.with_expiry = 1};
  assert_int_equal(state_expired(st, 1200, 0, collect, &again), STATE_OK);
  assert_int_equal(again.count, 0);
  assert_int_equal(count_items(st, "f", "odd") + count_items(st, "f", "even"), 500 - due);
  /* Limit with paging: exactly the first 150 of the rest. */
  struct seen limited = {.with_expiry = 1};
  assert_int_equal(state_expired(st, 5000, 150, collect, &limited), STATE_OK);
  assert_int_equal(limited.count, 150);
  assert_int_equal(limited.out_of_order, 0);
}

/* ---- transactions and metadata ------------------------------------------------------------- */

static void test_commit_persists(void **state)
{
  struct state_store *st = store_of(state);
  assert_int_equal(state_in_transaction(st), 0);
  assert_int_equal(state_begin(st), STATE_OK);
  assert_int_equal(state_in_transaction(st), 1);
  put_ok(st, K("f", "s", "k"), "{\"w\":1}", 0, 0);
  assert_int_equal(state_meta_put(st, "input.offset", "1"), STATE_OK);
  /* A transaction reads its own writes. */
  assert_value(st, K("f", "s", "k"), "{\"w\":1}", 1);
  char *offset = meta(st, "input.offset");
  assert_string_equal(offset, "1");
  free(offset);
  assert_int_equal(state_commit(st), STATE_OK);
  assert_int_equal(state_in_transaction(st), 0);
  assert_value(st, K("f", "s", "k"), "{\"w\":1}", 1);
  offset = meta(st, "input.offset");
  assert_string_equal(offset, "1");
  free(offset);
}

static void test_rollback_discards_everything(void **state)
{
  struct state_store *st = store_of(state);
  put_ok(st, K("f", "s", "a"), "\"a1\"", 10, -1);
  put_ok(st, K("f", "s", "b"), "\"b1\"", 0, -1);
  put_ok(st, K("f", "s", "b"), "\"b2\"", 0, -1);
  assert_int_equal(state_meta_put(st, "input.offset", "1"), STATE_OK);
  struct seen before = {.with_expiry = 1};
  scan(st, "f", "s", NULL, &before);

  assert_int_equal(state_begin(st), STATE_OK);
  put_ok(st, K("f", "s", "a"), "\"a2\"", 0, 1);
  put_ok(st, K("f", "s", "a"), "\"a3\"", 99, 2);
  assert_int_equal(state_delete(st, K("f", "s", "b"), 2), STATE_OK);
  put_ok(st, K("f", "s", "b"), "\"b-new\"", 0, 0);
  put_ok(st, K("f", "s", "c"), "\"c1\"", 0, 0);
  assert_int_equal(state_delete(st, K("f", "s", "c"), -1), STATE_OK);
  put_ok(st, K("f", "s", "c"), "\"c2\"", 0, 0);
  assert_int_equal(state_add(st, K("f", "s", "n"), "x", 1, NULL), STATE_OK);
  assert_int_equal(state_delete(st, K("f", "s", "a"), -1), STATE_OK);
  assert_int_equal(state_meta_put(st, "input.offset", "2"), STATE_OK);
  assert_int_equal(state_meta_put(st, "input.digest", "abc"), STATE_OK);
  assert_int_equal(state_rollback(st), STATE_OK);

  int64_t expires;
  assert_value(st, K("f", "s", "a"), "\"a1\"", 1);
  assert_int_equal(state_get(st, K("f", "s", "a"), NULL, NULL, &expires), STATE_OK);
  assert_int_equal(expires, 10);
  assert_value(st, K("f", "s", "b"), "\"b2\"", 2);
  assert_value(st, K("f", "s", "c"), NULL, 0);
  assert_value(st, K("f", "s", "n"), NULL, 0);
  char *offset = meta(st, "input.offset");
  assert_string_equal(offset, "1");
  free(offset);
  assert_null(meta(st, "input.digest"));
  struct seen after = {.with_expiry = 1};
  scan(st, "f", "s", NULL, &after);
  assert_string_equal(after.text, before.text);
  /* The store still works normally afterwards. */
  assert_int_equal(put_ok(st, K("f", "s", "a"), "\"a4\"", 0, 1), 2);
}

static void test_transactions_do_not_nest(void **state)
{
  struct state_store *st = store_of(state);
  assert_int_equal(state_commit(st), STATE_INVALID);
  assert_non_null(strstr(state_error(st), "no transaction"));
  assert_int_equal(state_rollback(st), STATE_INVALID);
  assert_int_equal(state_begin(st), STATE_OK);
  put_ok(st, K("f", "s", "k"), "1", 0, -1);
  assert_int_equal(state_begin(st), STATE_INVALID);
  assert_non_null(strstr(state_error(st), "already open"));
  /* The outer transaction is untouched by the refused begin. */
  assert_int_equal(state_in_transaction(st), 1);
  assert_int_equal(state_commit(st), STATE_OK);
  assert_value(st, K("f", "s", "k"), "1", 1);
  assert_int_equal(state_commit(st), STATE_INVALID);
}

static void test_conflict_keeps_transaction_usable(void **state)
{
  struct state_store *st = store_of(state);
  put_ok(st, K("f", "s", "k"), "1", 0, -1);
  assert_int_equal(state_begin(st), STATE_OK);
  assert_int_equal(state_put(st, K("f", "s", "k"), "2", 0, 0, NULL), STATE_CONFLICT);
  assert_int_equal(state_put(st, K("f", "s", "x"), "{", 0, -1, NULL), STATE_INVALID);
  put_ok(st, K("f", "s", "k"), "3", 0, 1);
  assert_int_equal(state_commit(st), STATE_OK);
  assert_value(st, K("f", "s", "k"), "3", 2);
}

static void test_meta(void **state)
{
  struct state_store *st = store_of(state);
  assert_null(meta(st, "input.offset"));
  assert_int_equal(state_meta_get(st, "input.offset", NULL), STATE_NOT_FOUND);
  assert_int_equal(state_meta_put(st, "input.offset", "12"), STATE_OK);
  assert_int_equal(state_meta_put(st, "input.digest", "sha256:00ff"), STATE_OK);
  assert_int_equal(state_meta_put(st, "input.offset", "13"), STATE_OK);
  assert_int_equal(state_meta_put(st, "empty", ""), STATE_OK);
  char *v = meta(st, "input.offset");
  assert_string_equal(v, "13");
  free(v);
  v = meta(st, "input.digest");
  assert_string_equal(v, "sha256:00ff");
  free(v);
  v = meta(st, "empty");
  assert_string_equal(v, "");
  free(v);
  assert_int_equal(state_begin(st), STATE_OK);
  assert_int_equal(state_meta_put(st, "input.offset", "14"), STATE_OK);
  assert_int_equal(state_meta_put(st, "new", "x"), STATE_OK);
  assert_int_equal(state_rollback(st), STATE_OK);
  v = meta(st, "input.offset");
  assert_string_equal(v, "13");
  free(v);
  assert_null(meta(st, "new"));
  /* Metadata and items do not share a namespace. */
  assert_int_equal(count_items(st, "input.offset", "x"), 0);
}

/* The per-event pattern efc run uses: read the window, write it back with
 * its version as condition, advance the offset, commit — with some events
 * failing half-way and being rolled back and retried. */
static void test_per_event_pattern(void **state)
{
  struct state_store *st = store_of(state);
  for (int event = 1; event <= 60; event++) {
    for (int attempt = 0; attempt < 2; attempt++) {
      char key[16], value[64], offset[16];
      char *old = NULL;
      int64_t version = 0;
      snprintf(key, sizeof key, "[\"w%d\"]", event % 4);
      assert_int_equal(state_begin(st), STATE_OK);
      enum state_status s = state_get(st, K("f", "agg", key), &old, &version, NULL);
      assert_true(s == STATE_OK || s == STATE_NOT_FOUND);
      int count = old ? atoi(strchr(old, ':') + 1) : 0;
      free(old);
      snprintf(value, sizeof value, "{\"n\":%d}", count + 1);
      put_ok(st, K("f", "agg", key), value, 0, version);
      snprintf(offset, sizeof offset, "%d", event);
      assert_int_equal(state_meta_put(st, "input.offset", offset), STATE_OK);
      if (event % 7 == 0 && attempt == 0) {
        assert_int_equal(state_rollback(st), STATE_OK);   /* the event failed */
        continue;
      }
      assert_int_equal(state_commit(st), STATE_OK);
      break;
    }
  }
  assert_value(st, K("f", "agg", "[\"w0\"]"), "{\"n\":15}", 15);
  assert_value(st, K("f", "agg", "[\"w1\"]"), "{\"n\":15}", 15);
  char *offset = meta(st, "input.offset");
  assert_string_equal(offset, "60");
  free(offset);
}

static void test_status_names(void **state)
{
  (void)state;
  assert_string_equal(state_status_name(STATE_OK), "ok");
  assert_string_equal(state_status_name(STATE_CONFLICT), "version conflict");
  assert_string_equal(state_status_name(STATE_NOMEM), "out of memory");
  assert_string_equal(state_status_name((enum state_status)99), "unknown status");
}

/* ---- SQLite only ---------------------------------------------------------------------------- */

static void test_sqlite_survives_reopen(void **state)
{
  struct fixture *f = *state;
  f->st = open_file(f->path);
  put_ok(f->st, K("f", "s", "k"), "{\"n\":1}", 77, -1);
  put_ok(f->st, K("f", "s", "k"), "{\"n\":2}", 77, -1);
  assert_int_equal(state_meta_put(f->st, "input.offset", "5"), STATE_OK);
  state_close(f->st);
  f->st = open_file(f->path);
  assert_value(f->st, K("f", "s", "k"), "{\"n\":2}", 2);
  int64_t expires;
  assert_int_equal(state_get(f->st, K("f", "s", "k"), NULL, NULL, &expires), STATE_OK);
  assert_int_equal(expires, 77);
  char *v = meta(f->st, "input.offset");
  assert_string_equal(v, "5");
  free(v);
  assert_int_equal(put_ok(f->st, K("f", "s", "k"), "{}", 0, 2), 3);
}

static void test_sqlite_close_rolls_back_open_transaction(void **state)
{
  struct fixture *f = *state;
  f->st = open_file(f->path);
  put_ok(f->st, K("f", "s", "kept"), "1", 0, -1);
  assert_int_equal(state_begin(f->st), STATE_OK);
  put_ok(f->st, K("f", "s", "lost"), "1", 0, -1);
  state_close(f->st);
  f->st = open_file(f->path);
  assert_value(f->st, K("f", "s", "kept"), "1", 1);
  assert_value(f->st, K("f", "s", "lost"), NULL, 0);
}

static void test_sqlite_durability_normal(void **state)
{
  struct fixture *f = *state;
  char err[256];
  struct state_sqlite_options o = {STATE_SYNC_NORMAL, 100};
  f->st = state_open_sqlite_with(f->path, &o, err, sizeof err);
  assert_non_null(f->st);
  put_ok(f->st, K("f", "s", "k"), "1", 0, -1);
  state_close(f->st);
  f->st = open_file(f->path);
  assert_value(f->st, K("f", "s", "k"), "1", 1);
}

static void test_sqlite_file_format(void **state)
{
  struct fixture *f = *state;
  f->st = open_file(f->path);
  put_ok(f->st, K("f", "s", "k"), "1", 0, -1);
  sqlite3 *db;
  assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
  sqlite3_stmt *stmt;
  assert_int_equal(sqlite3_prepare_v2(db, "SELECT (SELECT journal_mode FROM pragma_journal_mode),"
                                          " (SELECT user_version FROM pragma_user_version),"
                                          " (SELECT application_id FROM pragma_application_id),"
                                          " (SELECT value FROM item)",
                                      -1, &stmt, NULL),
                   SQLITE_OK);
  assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
  assert_string_equal((const char *)sqlite3_column_text(stmt, 0), "wal");
  assert_int_equal(sqlite3_column_int(stmt, 1), STATE_SCHEMA_VERSION);
  assert_int_equal(sqlite3_column_int(stmt, 2), 0x45464353);
  assert_string_equal((const char *)sqlite3_column_text(stmt, 3), "1");
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

static void test_sqlite_two_handles(void **state)
{
  struct fixture *f = *state;
  f->st = open_file(f->path);
  struct state_store *other = open_file(f->path);
  put_ok(f->st, K("f", "s", "k"), "1", 0, -1);
  assert_value(other, K("f", "s", "k"), "1", 1);
  /* Uncommitted writes stay invisible to the other handle... */
  assert_int_equal(state_begin(f->st), STATE_OK);
  put_ok(f->st, K("f", "s", "k"), "2", 0, 1);
  assert_int_equal(state_meta_put(f->st, "input.offset", "1"), STATE_OK);
  assert_value(other, K("f", "s", "k"), "1", 1);
  assert_null(meta(other, "input.offset"));
  assert_int_equal(state_commit(f->st), STATE_OK);
  /* ...and visible, all together, once committed. */
  assert_value(other, K("f", "s", "k"), "2", 2);
  char *v = meta(other, "input.offset");
  assert_string_equal(v, "1");
  free(v);
  /* A stale conditional write from the other handle is a conflict. */
  assert_int_equal(state_put(other, K("f", "s", "k"), "3", 0, 1, NULL), STATE_CONFLICT);
  assert_int_equal(state_add(other, K("f", "s", "c"), NULL, 1, NULL), STATE_OK);
  assert_int_equal(state_add(f->st, K("f", "s", "c"), NULL, 1, NULL), STATE_OK);
  assert_value(other, K("f", "s", "c"), "2", 2);
  state_close(other);
}

static void test_sqlite_busy_is_reported(void **state)
{
  struct fixture *f = *state;
  char err[256];
  struct state_sqlite_options quick = {STATE_SYNC_FULL, 50};
  f->st = open_file(f->path);
  struct state_store *other = state_open_sqlite_with(f->path, &quick, err, sizeof err);
  assert_non_null(other);
  assert_int_equal(state_begin(f->st), STATE_OK);
  put_ok(f->st, K("f", "s", "k"), "1", 0, -1);
  assert_int_equal(state_begin(other), STATE_BUSY);
  assert_non_null(strstr(state_error(other), "locked"));
  assert_int_equal(state_in_transaction(other), 0);
  assert_int_equal(state_put(other, K("f", "s", "x"), "1", 0, -1, NULL), STATE_BUSY);
  assert_int_equal(state_add(other, K("f", "s", "x"), NULL, 1, NULL), STATE_BUSY);
  /* Readers are not blocked by the writer (WAL). */
  assert_value(other, K("f", "s", "k"), NULL, 0);
  assert_int_equal(state_commit(f->st), STATE_OK);
  assert_int_equal(state_begin(other), STATE_OK);
  put_ok(other, K("f", "s", "x"), "2", 0, 0);
  assert_int_equal(state_commit(other), STATE_OK);
  assert_value(f->st, K("f", "s", "x"), "2", 1);
  state_close(other);
}

/* The child: from offset start+1 on, one transaction per "event": bump a
 * counter, write ITEMS_PER_EVENT items, set input.offset; report each
 * commit on fd.  Runs until killed. */
#define ITEMS_PER_EVENT 8

static void crash_child(const char *path, int fd, int64_t start)
{
  char err[256];
  struct state_store *st = state_open_sqlite(path, err, sizeof err);
  if (!st)
    _exit(2);
  for (int64_t event = start + 1;; event++) {
    char key[48], value[160], offset[24];
    if (state_begin(st) != STATE_OK || state_add(st, K("crash", "counter", "c"), "n", 1, NULL))
      _exit(3);
    for (int j = 0; j < ITEMS_PER_EVENT; j++) {
      snprintf(key, sizeof key, "[%" PRId64 ",%d]", event, j);
      snprintf(value, sizeof value,
               "{\"event\":%" PRId64 ",\"j\":%d,\"pad\":\"%0100d\"}", event, j, j);
      if (state_put(st, K("crash", "items", key), value, 0, 0, NULL) != STATE_OK)
        _exit(4);
    }
    snprintf(offset, sizeof offset, "%" PRId64, event);
    if (state_meta_put(st, "input.offset", offset) != STATE_OK || state_commit(st) != STATE_OK)
      _exit(5);
    if (write(fd, &event, sizeof event) != (ssize_t)sizeof event)
      _exit(6);
  }
}

static int64_t read_offset(struct state_store *st)
{
  char *v = meta(st, "input.offset");
  int64_t offset = v ? strtoll(v, NULL, 10) : 0;
  free(v);
  return offset;
}

static void test_sqlite_sigkill_mid_run(void **state)
{
  struct fixture *f = *state;
  int64_t offset = 0;
  for (int round = 0; round < 4; round++) {
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
      close(fds[0]);
      crash_child(f->path, fds[1], offset);
    }
    close(fds[1]);
    /* Let it commit a varying number of events, then kill it wherever it is. */
    int64_t reported = offset, event;
    int target = 20 + round * 13;
    while (reported - offset < target && read(fds[0], &event, sizeof event) == sizeof event)
      reported = event;
    usleep((useconds_t)(round * 1500));
    kill(pid, SIGKILL);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFSIGNALED(status))
      fail_msg("child exited with status %d before being killed", WEXITSTATUS(status));
    while (read(fds[0], &event, sizeof event) == sizeof event)
      reported = event;
    close(fds[0]);

    /* Every reported commit is there, at most one unreported one more, and
     * the counter, the items and the offset agree exactly. */
    f->st = open_file(f->path);
    int64_t now = read_offset(f->st);
    assert_true(now >= reported);
    assert_true(now <= reported + 1);
    int64_t counter = -1;
    char *v = get_value(f->st, K("crash", "counter", "c"), NULL);
    assert_non_null(v);
    assert_int_equal(sscanf(v, "{\"n\":%" SCNd64 "}", &counter), 1);
    free(v);
    assert_int_equal(counter, now);
    assert_int_equal(count_items(f->st, "crash", "items"), now * ITEMS_PER_EVENT);
    char last[32];
    snprintf(last, sizeof last, "[%" PRId64 ",", now);
    struct seen tail = {0};
    scan(f->st, "crash", "items", last, &tail);
    assert_int_equal(tail.count, ITEMS_PER_EVENT);
    state_close(f->st);
    f->st = NULL;
    offset = now;
  }
  assert_true(offset >= 20 + 33 + 46 + 59);
}

static void write_file(const char *path, const void *bytes, size_t n)
{
  FILE *fp = fopen(path, "wb");
  assert_non_null(fp);
  assert_int_equal(fwrite(bytes, 1, n, fp), n);
  assert_int_equal(fclose(fp), 0);
}

static void test_sqlite_garbage_file_rejected(void **state)
{
  struct fixture *f = *state;
  unsigned char garbage[8192];
  unsigned seed = 12345;
  for (size_t i = 0; i < sizeof garbage; i++) {
    seed = seed * 1103515245u + 12345u;
    garbage[i] = (unsigned char)(seed >> 16);
  }
  static const char text[] = "input.offset=12\nthis is not a database\n";
  const struct { const void *bytes; size_t n; } files[] = {
    {garbage, sizeof garbage}, {garbage, 100}, {text, sizeof text - 1},
  };
  for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
    char err[512] = "";
    write_file(f->path, files[i].bytes, files[i].n);
    struct state_store *st = state_open_sqlite(f->path, err, sizeof err);
    assert_null(st);
    assert_non_null(strstr(err, f->path));
    assert_non_null(strstr(err, "not a database"));
    /* The file is left as it was. */
    struct stat sb;
    assert_int_equal(stat(f->path, &sb), 0);
    assert_int_equal((size_t)sb.st_size, files[i].n);
  }
}

static void test_sqlite_damaged_pages_reported(void **state)
{
  struct fixture *f = *state;
  f->st = open_file(f->path);
  assert_int_equal(state_begin(f->st), STATE_OK);
  for (int i = 0; i < 600; i++) {
    char key[16];
    snprintf(key, sizeof key, "k%04d", i);
    put_ok(f->st, K("f", "s", key), "{\"pad\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}", i,
           -1);
  }
  assert_int_equal(state_commit(f->st), STATE_OK);
  state_close(f->st);
  f->st = NULL;
  /* Keep page 1 (header and schema), overwrite every other page. */
  FILE *fp = fopen(f->path, "r+b");
  assert_non_null(fp);
  assert_int_equal(fseek(fp, 0, SEEK_END), 0);
  long size = ftell(fp);
  assert_true(size > 3 * 4096);
  unsigned char junk[4096];
  memset(junk, 0xA5, sizeof junk);
  assert_int_equal(fseek(fp, 4096, SEEK_SET), 0);
  for (long at = 4096; at < size; at += 4096)
    assert_int_equal(fwrite(junk, 1, sizeof junk, fp), sizeof junk);
  assert_int_equal(fclose(fp), 0);

  /* Page 1 still holds the schema, so the file opens; the damage shows on
   * the first read of an item page. */
  char err[512] = "";
  f->st = state_open_sqlite(f->path, err, sizeof err);
  if (!f->st)
    fail_msg("open: %s", err);
  struct seen seen = {0};
  enum state_status s = state_scan(f->st, "f", "s", NULL, collect, &seen);
  assert_int_equal(s, STATE_CORRUPT);
  assert_non_null(strstr(state_error(f->st), "malformed"));
  assert_int_equal(state_get(f->st, K("f", "s", "k0001"), NULL, NULL, NULL), STATE_CORRUPT);
  assert_int_equal(state_expired(f->st, 1000, 0, collect, &seen), STATE_CORRUPT);
  /* A failed write aborts the transaction it was in. */
  assert_int_equal(state_begin(f->st), STATE_OK);
  assert_int_equal(state_put(f->st, K("f", "s", "k0002"), "1", 0, -1, NULL), STATE_CORRUPT);
  assert_int_equal(state_meta_put(f->st, "input.offset", "1"), STATE_ABORTED);
  assert_int_equal(state_commit(f->st), STATE_ABORTED);
  assert_int_equal(state_in_transaction(f->st), 0);
}

static void make_foreign_db(const char *path, const char *sql)
{
  sqlite3 *db;
  remove_store_files(path);
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(db);
}

static void test_sqlite_unknown_schema_version(void **state)
{
  struct fixture *f = *state;
  char err[512] = "";
  make_foreign_db(f->path, "PRAGMA application_id = 0x45464353; PRAGMA user_version = 99;"
                           " CREATE TABLE item (x); CREATE TABLE meta (y);");
  assert_null(state_open_sqlite(f->path, err, sizeof err));
  assert_non_null(strstr(err, "unknown schema version 99"));
  assert_non_null(strstr(err, "reads version 1"));
  assert_non_null(strstr(err, "newer efc"));
  assert_non_null(strstr(err, f->path));
  make_foreign_db(f->path, "PRAGMA application_id = 0x45464353; PRAGMA user_version = 0;"
                           " CREATE TABLE item (x);");
  assert_null(state_open_sqlite(f->path, err, sizeof err));
  assert_non_null(strstr(err, "unknown schema version 0"));
}

static void test_sqlite_foreign_database_rejected(void **state)
{
  struct fixture *f = *state;
  char err[512] = "";
  make_foreign_db(f->path, "CREATE TABLE photos (id INTEGER PRIMARY KEY, name TEXT);"
                           " INSERT INTO photos (name) VALUES ('cat');");
  assert_null(state_open_sqlite(f->path, err, sizeof err));
  assert_non_null(strstr(err, "not an efc state store"));
  /* Untouched: the other program's data is still there. */
  sqlite3 *db;
  sqlite3_stmt *stmt;
  assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
  assert_int_equal(sqlite3_prepare_v2(db, "SELECT name FROM photos", -1, &stmt, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
  assert_string_equal((const char *)sqlite3_column_text(stmt, 0), "cat");
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

static void test_sqlite_unopenable_path(void **state)
{
  (void)state;
  char err[512] = "";
  assert_null(state_open_sqlite("/nonexistent-efc-dir/state.db", err, sizeof err));
  assert_non_null(strstr(err, "/nonexistent-efc-dir/state.db"));
  assert_null(state_open_sqlite("/tmp", err, sizeof err));
  assert_true(strlen(err) > 0);
  assert_null(state_open_sqlite("", err, sizeof err));
  assert_non_null(strstr(err, "no path"));
  assert_null(state_open_sqlite(NULL, NULL, 0));
}

/* ---- both backends, same random operations ---------------------------------------------------- */

struct pair_collect {
  struct seen seen[2];
};

static void test_differential_random_operations(void **state)
{
  struct fixture *f = *state;
  struct state_store *st[2];
  st[0] = state_open_memory();
  st[1] = open_file(f->path);
  f->st = st[1];
  unsigned seed = 20240601;
  static const char *const stages[] = {"s1", "s2"};
  static const char *const keys[] = {"a", "b", "[\"x\",1]", "\xc3\xa9", "c"};
  for (int step = 0; step < 3000; step++) {
    seed = seed * 1103515245u + 12345u;
    unsigned r = seed >> 8;
    const struct state_key *k = K("flow", stages[r % 2], keys[(r >> 1) % 5]);
    int op = (int)((r >> 4) % 11);
    enum state_status s[2];
    int64_t out[2] = {0, 0};
    char *text[2] = {NULL, NULL};
    char value[32];
    snprintf(value, sizeof value, "{\"n\":%u}", (r >> 8) % 50);
    int64_t expected = (int64_t)((r >> 14) % 5) - 1;    /* -1 .. 3 */
    int64_t expires = ((r >> 17) % 3) * 100;
    for (int b = 0; b < 2; b++) {
      switch (op) {
      case 0:
        s[b] = state_in_transaction(st[b]) ? STATE_INVALID : state_begin(st[b]);
        break;
      case 1:
        s[b] = state_in_transaction(st[b]) ? state_commit(st[b]) : STATE_INVALID;
        break;
      case 2:
        s[b] = state_in_transaction(st[b]) ? state_rollback(st[b]) : STATE_INVALID;
        break;
      case 3:
      case 4:
        s[b] = state_put(st[b], k, value, expires, expected, &out[b]);
        break;
      case 5:
        s[b] = state_add(st[b], k, (r >> 20) % 4 ? "n" : NULL, (int64_t)(r % 7) - 3, &out[b]);
        break;
      case 6:
        s[b] = state_delete(st[b], k, expected == 0 ? -1 : expected);
        break;
      case 7:
      case 8:
        s[b] = state_get(st[b], k, &text[b], &out[b], NULL);
        break;
      case 9:
        s[b] = state_meta_put(st[b], "input.offset", value);
        break;
      default:
        s[b] = state_meta_get(st[b], "input.offset", &text[b]);
        break;
      }
    }
    if (s[0] != s[1] || out[0] != out[1])
      fail_msg("step %d op %d: memory %s %" PRId64 ", sqlite %s %" PRId64 " (%s)", step, op,
               state_status_name(s[0]), out[0], state_status_name(s[1]), out[1],
               state_error(st[1]));
    if (text[0] || text[1]) {
      assert_non_null(text[0]);
      assert_non_null(text[1]);
      assert_string_equal(text[0], text[1]);
    }
    free(text[0]);
    free(text[1]);
    if (step % 100 == 99) {
      for (size_t g = 0; g < 2; g++) {
        struct pair_collect c = {{{.with_expiry = 1}, {.with_expiry = 1}}};
        for (int b = 0; b < 2; b++)
          scan(st[b], "flow", stages[g], NULL, &c.seen[b]);
        assert_string_equal(c.seen[0].text, c.seen[1].text);
      }
      struct pair_collect e = {{{.with_expiry = 1}, {.with_expiry = 1}}};
      for (int b = 0; b < 2; b++)
        assert_int_equal(state_expired(st[b], 150, 0, collect, &e.seen[b]), STATE_OK);
      assert_string_equal(e.seen[0].text, e.seen[1].text);
    }
  }
  state_close(st[0]);
}

/* ---- the front, with a backend that fails on demand ----------------------------------------- */

struct fake {
  int fail_put, fail_commit;
  int begins, commits, rollbacks;
};

static struct fake *fake_of(struct state_store *st)
{
  return state_context(st);
}
static void fake_close(struct state_store *st)
{
  (void)st;
}
static enum state_status fake_begin(struct state_store *st)
{
  fake_of(st)->begins++;
  return STATE_OK;
}
static enum state_status fake_commit(struct state_store *st)
{
  if (fake_of(st)->fail_commit)
    return state_fail(st, STATE_IO, "fake: commit failed: disk full");
  fake_of(st)->commits++;
  return STATE_OK;
}
static enum state_status fake_rollback(struct state_store *st)
{
  fake_of(st)->rollbacks++;
  return STATE_OK;
}
static enum state_status fake_get(struct state_store *st, const struct state_key *k,
                                  char **value, int64_t *version, int64_t *expires)
{
  (void)st, (void)k, (void)value, (void)version, (void)expires;
  return STATE_NOT_FOUND;
}
static enum state_status fake_put(struct state_store *st, const struct state_key *k,
                                  const char *value, int64_t expires, int64_t expected,
                                  int64_t *new_version)
{
  (void)k, (void)value, (void)expires, (void)expected;
  if (fake_of(st)->fail_put)
    return state_fail(st, STATE_IO, "fake: write failed: disk on fire");
  *new_version = 1;
  return STATE_OK;
}
static enum state_status fake_delete(struct state_store *st, const struct state_key *k,
                                     int64_t expected)
{
  (void)st, (void)k, (void)expected;
  return STATE_NOT_FOUND;
}
static enum state_status fake_scan_page(struct state_store *st, const char *flow,
                                        const char *stage, const char *prefix,
                                        const char *after, size_t max, struct state_page *page)
{
  (void)st, (void)flow, (void)stage, (void)prefix, (void)after, (void)max, (void)page;
  return STATE_OK;
}
static enum state_status fake_expired_page(struct state_store *st, int64_t now,
                                           const struct state_item *after, size_t max,
                                           struct state_page *page)
{
  (void)st, (void)now, (void)after, (void)max, (void)page;
  return STATE_OK;
}
static enum state_status fake_meta_get(struct state_store *st, const char *name, char **value)
{
  (void)st, (void)name, (void)value;
  return STATE_NOT_FOUND;
}
static enum state_status fake_meta_put(struct state_store *st, const char *name,
                                       const char *value)
{
  (void)st, (void)name, (void)value;
  return STATE_OK;
}

static const struct state_backend fake_backend = {
  "fake", fake_close, fake_begin, fake_commit, fake_rollback, fake_get, fake_put, NULL,
  fake_delete, fake_scan_page, fake_expired_page, fake_meta_get, fake_meta_put,
};

static void test_front_aborts_transaction_after_io_error(void **state)
{
  (void)state;
  struct fake fake = {.fail_put = 1};
  struct state_store *st = state_store_new(&fake_backend, &fake);
  assert_non_null(st);
  assert_int_equal(state_begin(st), STATE_OK);
  assert_int_equal(state_put(st, K("f", "s", "k"), "1", 0, -1, NULL), STATE_IO);
  assert_non_null(strstr(state_error(st), "disk on fire"));
  assert_int_equal(state_meta_put(st, "input.offset", "1"), STATE_ABORTED);
  assert_non_null(strstr(state_error(st), "state_rollback"));
  assert_int_equal(state_get(st, K("f", "s", "k"), NULL, NULL, NULL), STATE_ABORTED);
  assert_int_equal(state_commit(st), STATE_ABORTED);
  assert_int_equal(fake.commits, 0);
  assert_int_equal(fake.rollbacks, 1);
  assert_int_equal(state_in_transaction(st), 0);
  /* Outside a transaction an I/O error aborts nothing. */
  assert_int_equal(state_put(st, K("f", "s", "k"), "1", 0, -1, NULL), STATE_IO);
  assert_int_equal(state_meta_put(st, "input.offset", "1"), STATE_OK);
  /* A failing commit rolls back and keeps the commit's message. */
  fake.fail_put = 0;
  fake.fail_commit = 1;
  assert_int_equal(state_begin(st), STATE_OK);
  assert_int_equal(state_put(st, K("f", "s", "k"), "1", 0, -1, NULL), STATE_OK);
  assert_int_equal(state_commit(st), STATE_IO);
  assert_non_null(strstr(state_error(st), "disk full"));
  assert_int_equal(fake.rollbacks, 2);
  assert_int_equal(state_in_transaction(st), 0);
  /* The generic counter uses its own transaction and rolls back on failure. */
  assert_int_equal(state_add(st, K("f", "s", "c"), NULL, 1, NULL), STATE_IO);
  assert_int_equal(fake.rollbacks, 3);
  assert_int_equal(state_in_transaction(st), 0);
  state_close(st);
}

/* ---- the table ------------------------------------------------------------------------------- */

struct behaviour {
  const char *name;
  CMUnitTestFunction run;
};

#define BEHAVIOUR(f) {#f, f}
static const struct behaviour behaviours[] = {
  BEHAVIOUR(test_get_missing),
  BEHAVIOUR(test_put_get_roundtrip),
  BEHAVIOUR(test_values_are_stored_byte_exact),
  BEHAVIOUR(test_version_increments_on_every_write),
  BEHAVIOUR(test_put_must_not_exist),
  BEHAVIOUR(test_put_expected_version),
  BEHAVIOUR(test_invalid_arguments),
  BEHAVIOUR(test_value_size_limit),
  BEHAVIOUR(test_keys_are_composite),
  BEHAVIOUR(test_add_member),
  BEHAVIOUR(test_add_bare_counter),
  BEHAVIOUR(test_add_type_errors),
  BEHAVIOUR(test_add_keeps_expiry),
  BEHAVIOUR(test_add_in_transaction),
  BEHAVIOUR(test_delete),
  BEHAVIOUR(test_scan_byte_order),
  BEHAVIOUR(test_scan_prefix),
  BEHAVIOUR(test_scan_stops_when_asked),
  BEHAVIOUR(test_scan_many_pages),
  BEHAVIOUR(test_scan_callback_may_delete),
  BEHAVIOUR(test_expired_order_and_limit),
  BEHAVIOUR(test_expired_sweep_many),
  BEHAVIOUR(test_commit_persists),
  BEHAVIOUR(test_rollback_discards_everything),
  BEHAVIOUR(test_transactions_do_not_nest),
  BEHAVIOUR(test_conflict_keeps_transaction_usable),
  BEHAVIOUR(test_meta),
  BEHAVIOUR(test_per_event_pattern),
};

static const struct behaviour sqlite_only[] = {
  BEHAVIOUR(test_sqlite_survives_reopen),
  BEHAVIOUR(test_sqlite_close_rolls_back_open_transaction),
  BEHAVIOUR(test_sqlite_durability_normal),
  BEHAVIOUR(test_sqlite_file_format),
  BEHAVIOUR(test_sqlite_two_handles),
  BEHAVIOUR(test_sqlite_busy_is_reported),
  BEHAVIOUR(test_sqlite_sigkill_mid_run),
  BEHAVIOUR(test_sqlite_garbage_file_rejected),
  BEHAVIOUR(test_sqlite_damaged_pages_reported),
  BEHAVIOUR(test_sqlite_unknown_schema_version),
  BEHAVIOUR(test_sqlite_foreign_database_rejected),
  BEHAVIOUR(test_differential_random_operations),
};

int main(void)
{
  enum {
    NB = sizeof backends / sizeof *backends,
    NT = sizeof behaviours / sizeof *behaviours,
    NS = sizeof sqlite_only / sizeof *sqlite_only,
    TOTAL = NB * NT + NS + 3,
  };
  static struct CMUnitTest tests[TOTAL];
  static char names[NB * NT][96];
  size_t n = 0;
  /* One group (one TAP plan): every behaviour once per backend, named
   * "<backend>: <test>". */
  for (size_t b = 0; b < NB; b++)
    for (size_t t = 0; t < NT; t++) {
      char *name = names[b * NT + t];
      snprintf(name, sizeof names[0], "%s: %s", backends[b].name, behaviours[t].name + 5);
      tests[n++] = (struct CMUnitTest){name, behaviours[t].run, setup, teardown,
                                       (void *)&backends[b]};
    }
  for (size_t t = 0; t < NS; t++)
    tests[n++] = (struct CMUnitTest){sqlite_only[t].name + 5, sqlite_only[t].run, setup_path,
                                     teardown_path, NULL};
  tests[n++] = (struct CMUnitTest){"sqlite_unopenable_path", test_sqlite_unopenable_path, NULL,
                                   NULL, NULL};
  tests[n++] = (struct CMUnitTest){"status_names", test_status_names, NULL, NULL, NULL};
  tests[n++] = (struct CMUnitTest){"front_aborts_transaction_after_io_error",
                                   test_front_aborts_transaction_after_io_error, NULL, NULL,
                                   NULL};
  cmocka_set_message_output(CM_OUTPUT_TAP);
  return _cmocka_run_group_tests("state", tests, n, NULL, NULL);
}
