/* test_stages.c — unit tests for the native filters and transformers
 * (runtime/stage_*.c) through the engine, on the memory state store.
 *
 * The end-to-end behaviour (thresholds, keys, out-of-order events, drain,
 * restarts) is in tests/e2e/stdlib.t; these are the limits that are long or
 * awkward to write as NDJSON: the stitcher's state budget with very many
 * tiny pieces, bytes that are not UTF-8, a combination too large to keep,
 * windows stored before a field existed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "compile.h"
#include "engine.h"
#include "parse.h"
#include "state.h"

/* ---- an application over the memory store -------------------------------- */

struct app {
  struct state_store *st;
  struct engine *e;
  struct json_object *emitted;   /* array of emitted events */
  struct json_object *dead;      /* array of reasons */
};

static int on_emit(void *ctx, struct json_object *ev) {
  struct app *a = ctx;
  json_object_array_add(a->emitted, json_object_get(ev));
  return 0;
}

static void on_dead(void *ctx, long line, const char *reason, struct json_object *ev) {
  (void)line, (void)ev;
  struct app *a = ctx;
  json_object_array_add(a->dead, json_object_new_string(reason));
}

static void app_start(struct app *a, const char *text) {
  struct diag d;
  diag_init(&d);
  const struct source *src = diag_add_source(&d, "app.flow", text, strlen(text));
  struct program *p = parse_program(&d, src);
  if (d.errors == 0) check_program(p, &d);
  for (size_t i = 0; i < d.count; i++) print_message("# %d:%d: %s\n", d.items[i].loc.line, d.items[i].loc.col, d.items[i].message);
  assert_int_equal(d.errors, 0);
  struct compilation c;
  assert_int_equal(compile_program(p, &d, NULL, &c), 0);
  char err[512];
  struct image *img = image_load(c.image_bytes, c.image_size, err, sizeof err);
  assert_non_null(img);
  compilation_free(&c);
  ast_program_free(p);
  diag_free(&d);
  a->st = state_open_memory();
  a->emitted = json_object_new_array();
  a->dead = json_object_new_array();
  struct engine_sink sink = { a, on_emit, on_dead, NULL };
  a->e = engine_new(img, a->st, NULL, &sink, err, sizeof err);
  if (!a->e) print_message("# %s\n", err);
  assert_non_null(a->e);
}

static void app_stop(struct app *a) {
  engine_free(a->e);
  state_close(a->st);
  json_object_put(a->emitted);
  json_object_put(a->dead);
}

/* One event: detail-type, source, time and detail (owned by the call). */
static void send(struct app *a, const char *type, const char *source, const char *time, struct json_object *detail) {
  struct json_object *ev = json_object_new_object();
  json_object_object_add(ev, "detail-type", json_object_new_string(type));
  json_object_object_add(ev, "source", json_object_new_string(source));
  json_object_object_add(ev, "time", json_object_new_string(time));
  json_object_object_add(ev, "detail", detail);
  assert_int_equal(engine_event(a->e, ev, 1), 0);
  json_object_put(ev);
}

static struct json_object *detail_of(struct app *a, size_t i) {
  struct json_object *d = NULL;
  json_object_object_get_ex(json_object_array_get_idx(a->emitted, i), "detail", &d);
  return d;
}

static const char *str(struct json_object *o, const char *name) {
  struct json_object *v = NULL;
  json_object_object_get_ex(o, name, &v);
  return v ? json_object_get_string(v) : NULL;
}

static int64_t num(struct json_object *o, const char *name) {
  struct json_object *v = NULL;
  json_object_object_get_ex(o, name, &v);
  return v ? json_object_get_int64(v) : -1;
}

static void dump_dead(struct app *a) {
  for (size_t i = 0; i < json_object_array_length(a->dead); i++)
    print_message("# dead: %s\n", json_object_get_string(json_object_array_get_idx(a->dead, i)));
}

/* ---- stitcher -------------------------------------------------------------- */

static const char stitch_app[] =
  "import std.filters\n"
  "event T from \"t\" { k: string, s: string }\n"
  "event O { k: any?, n: int, s: string }\n"
  "flow f { on T | stitcher(by: k, content: s, count: 100000, max_bytes: 245760) | map { k: key, n: count, s: content } -> emit O }\n";

/* 2,100 pieces of 100 bytes (210,000) fit max_bytes, but not the state
 * store's 256 KiB per item once each piece's time is kept with it: the
 * window closes early, and no piece is lost or reordered. */
static void test_stitcher_state_budget(void **unused) {
  (void)unused;
  struct app a;
  app_start(&a, stitch_app);
  const int n = 2100, size = 100;
  char *want = malloc((size_t)n * size + 1);
  for (int i = 0; i < n; i++) {
    char piece[101];
    memset(piece, 'a' + i % 26, size);
    piece[size] = 0;
    memcpy(want + (size_t)i * size, piece, size);
    struct json_object *d = json_object_new_object();
    json_object_object_add(d, "k", json_object_new_string("doc"));
    json_object_object_add(d, "s", json_object_new_string(piece));
    send(&a, "T", "t", "2026-03-02T09:00:00Z", d);
  }
  want[(size_t)n * size] = 0;
  assert_int_equal(engine_drain(a.e), 0);
  dump_dead(&a);
  assert_int_equal(json_object_array_length(a.dead), 0);
  size_t windows = json_object_array_length(a.emitted);
  assert_true(windows >= 2);
  char *got = calloc((size_t)n * size + 1, 1);
  int64_t count = 0;
  for (size_t i = 0; i < windows; i++) {
    strcat(got, str(detail_of(&a, i), "s"));
    count += num(detail_of(&a, i), "n");
  }
  assert_int_equal(count, n);
  assert_string_equal(got, want);
  free(got);
  free(want);
  app_stop(&a);
}

/* ---- splitter -------------------------------------------------------------- */

static const char split_app[] =
  "import std.transformers\n"
  "event T from \"t\" { s: string }\n"
  "event O { p: any, i: int, n: int }\n"
  "flow f { on T | splitter(text: s, size: 2) | map { p: item, i: index, n: total } -> emit O }\n";

/* Bytes that are not UTF-8 (a stray continuation byte, a cut sequence) are
 * cut somewhere, but every byte comes out, once, in order. */
static void test_splitter_keeps_every_byte(void **unused) {
  (void)unused;
  static const char text[] = "\x80" "ab" "\xc3\xa9" "c" "\xe2\x82";
  struct app a;
  app_start(&a, split_app);
  struct json_object *d = json_object_new_object();
  json_object_object_add(d, "s", json_object_new_string(text));
  send(&a, "T", "t", "2026-03-02T09:00:00Z", d);
  size_t n = json_object_array_length(a.emitted);
  assert_true(n >= 3);
  char got[64] = "";
  for (size_t i = 0; i < n; i++) {
    assert_int_equal(num(detail_of(&a, i), "i"), (int64_t)i);
    assert_int_equal(num(detail_of(&a, i), "n"), (int64_t)n);
    strcat(got, str(detail_of(&a, i), "p"));
  }
  assert_string_equal(got, text);
  app_stop(&a);
}

/* ---- combiner -------------------------------------------------------------- */

static const char combine_app[] =
  "import std.transformers\n"
  "event A from \"t\" { k: string, s: string }\n"
  "event B from \"t\" { k: string, s: string }\n"
  "event C from \"t\" { k: string, s: string }\n"
  "event O { key: any, complete: bool, A: A?, B: B?, C: C? }\n"
  "flow f { on A, B, C | combiner(by: k) -> emit O }\n";

static struct json_object *big_detail(size_t bytes) {
  char *s = malloc(bytes + 1);
  memset(s, 'x', bytes);
  s[bytes] = 0;
  struct json_object *d = json_object_new_object();
  json_object_object_add(d, "k", json_object_new_string("one"));
  json_object_object_add(d, "s", json_object_new_string(s));
  free(s);
  return d;
}

/* Two events of 150 KB cannot be kept together (256 KiB per item): the
 * second is dead-lettered and the first stays, complete with a small C
 * and a small B later. */
static void test_combiner_too_large_to_keep(void **unused) {
  (void)unused;
  struct app a;
  app_start(&a, combine_app);
  send(&a, "A", "t", "2026-03-02T09:00:00Z", big_detail(150000));
  send(&a, "B", "t", "2026-03-02T09:00:01Z", big_detail(150000));
  assert_int_equal(json_object_array_length(a.dead), 1);
  assert_non_null(strstr(json_object_get_string(json_object_array_get_idx(a.dead, 0)), "too large to keep"));
  send(&a, "B", "t", "2026-03-02T09:00:02Z", big_detail(10));
  send(&a, "C", "t", "2026-03-02T09:00:03Z", big_detail(10));
  assert_int_equal(json_object_array_length(a.emitted), 1);
  struct json_object *d = detail_of(&a, 0), *v;
  assert_true(json_object_object_get_ex(d, "complete", &v) && json_object_get_boolean(v));
  assert_int_equal(strlen(str(json_object_object_get_ex(d, "A", &v) ? v : NULL, "s")), 150000);
  app_stop(&a);
}

/* ---- windows stored by an earlier version ---------------------------------- */

static const char count_app[] =
  "import std.filters\n"
  "event T from \"t\" { k: string }\n"
  "event O { n: int, first: time, last: time }\n"
  "flow f { on T | counter(by: k, after: 1m) | map { n: count, first: first_time, last: last_time } -> emit O }\n";

/* A window without `opened` (written before it existed) counts its
 * deadline from first_time, and is closed and emitted like any other. */
static void test_window_without_opened(void **unused) {
  (void)unused;
  struct app a;
  app_start(&a, count_app);
  /* 2026-03-02T09:00:00Z = 1772442000000 ms */
  struct state_key k = { "f", "0:counter", "\"x\"" };
  assert_int_equal(state_put(a.st, &k, "{\"key\":\"x\",\"count\":2,\"first_time\":1772442000000,\"last_time\":1772442010000}",
                             1772442060000, 0, NULL), STATE_OK);
  struct json_object *d = json_object_new_object();
  json_object_object_add(d, "k", json_object_new_string("x"));
  send(&a, "T", "t", "2026-03-02T09:00:30Z", d);   /* joins the stored window */
  assert_int_equal(json_object_array_length(a.emitted), 0);
  assert_int_equal(engine_advance(a.e, 1772442060000), 0);
  dump_dead(&a);
  assert_int_equal(json_object_array_length(a.emitted), 1);
  struct json_object *out = detail_of(&a, 0);
  assert_int_equal(num(out, "n"), 3);
  assert_string_equal(str(out, "first"), "2026-03-02T09:00:00Z");
  assert_string_equal(str(out, "last"), "2026-03-02T09:00:30Z");
  assert_string_equal(str(json_object_array_get_idx(a.emitted, 0), "time"), "2026-03-02T09:01:00Z");
  app_stop(&a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_stitcher_state_budget),
    cmocka_unit_test(test_splitter_keeps_every_byte),
    cmocka_unit_test(test_combiner_too_large_to_keep),
    cmocka_unit_test(test_window_without_opened),
  };
  cmocka_set_message_output(CM_OUTPUT_TAP);
  return cmocka_run_group_tests(tests, NULL, NULL);
}
