/* test_stages.c — unit tests for the native filters and transformers
 * (runtime/stage_*.c) through the engine, on the memory state store.
 *
 * The end-to-end behaviour (thresholds, keys, out-of-order events, drain,
 * restarts) is in tests/e2e/stdlib.t; these are the limits that are long or
 * awkward to write as NDJSON: the stitcher's state budget with very many
 * tiny pieces, bytes that are not UTF-8, a combination too large to keep,
 * windows stored before a field existed.  And the rules of `intervals`,
 * one test each: overlaps, gaps bridged and gaps that close a block,
 * out-of-order intervals, keys, --drain, restarts, bad rows, the piece
 * limit.
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

/* The loaded image of the application `text` (the caller frees it). */
static struct image *app_image(const char *text) {
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
  return img;
}

/* A new engine for the application `text` on the store a->st, with options. */
static struct engine *app_engine_with(struct app *a, const char *text, const struct engine_options *opt) {
  char err[512];
  struct image *img = app_image(text);
  struct engine_sink sink = { a, on_emit, on_dead, NULL };
  struct engine *e = engine_new(img, a->st, opt, &sink, err, sizeof err);
  if (!e) print_message("# %s\n", err);
  assert_non_null(e);
  return e;
}

static struct engine *app_engine(struct app *a, const char *text) { return app_engine_with(a, text, NULL); }

static void app_start(struct app *a, const char *text) {
  a->st = state_open_memory();
  a->emitted = json_object_new_array();
  a->dead = json_object_new_array();
  a->e = app_engine(a, text);
}

/* Stops the engine and starts a new one on the same state store, as a run
 * started again with the same --state does. */
static void app_restart(struct app *a, const char *text) {
  engine_free(a->e);
  a->e = app_engine(a, text);
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

/* ---- intervals --------------------------------------------------------------- */

static const char intervals_app[] =
  "import std.filters\n"
  "event T from \"t\" { k: string, s: time?, e: time, src: string?, g: int? }\n"
  "event O { k: any?, start: time, end: time, covered: int, n: int, pieces: int, tags: [any], first: time, last: time }\n"
  "flow f {\n"
  "  on T\n"
  "  | intervals(by: k, start: s, end: e, gap: coalesce(g, 60000) * 1ms, after: 30s, tag: src)\n"
  "  | map { k: key, start: start, end: end, covered: millis(covered), n: count, pieces: pieces, tags: tags,\n"
  "          first: first_time, last: last_time }\n"
  "  -> emit O\n"
  "}\n";

static void at(char *buf, size_t size, const char *hms) {
  snprintf(buf, size, "2026-03-02T%sZ", hms);
}

/* An interval [s, e) of key k from source src (NULL: none), sent at event time `when`. */
static void iv(struct app *a, const char *when, const char *k, const char *s, const char *e, const char *src) {
  char t[40];
  struct json_object *d = json_object_new_object();
  json_object_object_add(d, "k", json_object_new_string(k));
  if (s) {
    at(t, sizeof t, s);
    json_object_object_add(d, "s", json_object_new_string(t));
  }
  at(t, sizeof t, e);
  json_object_object_add(d, "e", json_object_new_string(t));
  if (src) json_object_object_add(d, "src", json_object_new_string(src));
  at(t, sizeof t, when);
  send(a, "T", "t", t, d);
}

/* The i-th emitted block: its time, key, extent, covered ms, intervals,
 * pieces and tags (as JSON text). */
static void expect_block(struct app *a, size_t i, const char *when, const char *k, const char *s, const char *e,
                         int64_t covered, int64_t n, int64_t pieces, const char *tags) {
  char t[40];
  dump_dead(a);
  assert_true(i < json_object_array_length(a->emitted));
  struct json_object *d = detail_of(a, i), *v = NULL;
  at(t, sizeof t, when);
  assert_string_equal(str(json_object_array_get_idx(a->emitted, i), "time"), t);
  assert_string_equal(str(d, "k"), k);
  at(t, sizeof t, s);
  assert_string_equal(str(d, "start"), t);
  at(t, sizeof t, e);
  assert_string_equal(str(d, "end"), t);
  assert_int_equal(num(d, "covered"), covered);
  assert_int_equal(num(d, "n"), n);
  assert_int_equal(num(d, "pieces"), pieces);
  assert_true(json_object_object_get_ex(d, "tags", &v));
  assert_string_equal(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN), tags);
}

static size_t emitted(struct app *a) { return json_object_array_length(a->emitted); }

/* Overlapping intervals from two sources: the time they share counts once. */
static void test_intervals_overlap(void **unused) {
  (void)unused;
  struct app a;
  app_start(&a, intervals_app);
  iv(&a, "09:00:00", "a", "09:00:00", "09:05:00", "video");
  iv(&a, "09:02:00", "a", "09:02:00", "09:04:00", "usage");   /* inside */
  iv(&a, "09:04:00", "a", "09:04:00", "09:07:00", "usage");   /* across the end */
  assert_int_equal(emitted(&a), 0);
  assert_int_equal(engine_drain(a.e), 0);
  assert_int_equal(emitted(&a), 1);
  /* closes at end + gap + after = 09:07 + 1m + 30s */
  expect_block(&a, 0, "09:08:30", "a", "09:00:00", "09:07:00", 420000, 3, 1, "[\"usage\",\"video\"]");
  assert_string_equal(str(detail_of(&a, 0), "first"), "2026-03-02T09:00:00Z");
  assert_string_equal(str(detail_of(&a, 0), "last"), "2026-03-02T09:04:00Z");
  app_stop(&a);
}

/* Gaps up to `gap` (1 minute) are bridged but not counted; exactly 1 minute
 * is bridged too. */
static void test_intervals_gap_bridged(void **unused) {
  (void)unused;
  struct app a;
  app_start(&a, intervals_app);
  iv(&a, "09:00:00", "a", "09:00:00", "09:01:00", "video");
  iv(&a, "09:01:30", "a", "09:01:30", "09:02:00", "video");   /* 30 s later */
  iv(&a, "09:03:00", "a", "09:03:00", "09:04:00", NULL);      /* exactly 1 min later; no tag */
  assert_int_equal(engine_drain(a.e), 0);
  assert_int_equal(emitted(&a), 1);
  expect_block(&a, 0, "09:05:30", "a", "09:00:00", "09:04:00", 150000, 3, 3, "[\"video\"]");
  app_stop(&a);
}

/* A gap longer than `gap` closes the block; it is emitted once event time
 * passes end + gap + after, not at that instant: an interval that starts
 * `gap` after the end and arrives `after` late still joins. */
static void test_intervals_gap_closes(void **unused) {
  (void)unused;
  struct app a;
  app_start(&a, intervals_app);
  iv(&a, "09:00:00", "a", "09:00:00", "09:01:00", "video");
  iv(&a, "09:02:30", "b", "09:02:30", "09:02:40", "video");   /* a's deadline is 09:02:30: not passed */
  assert_int_equal(emitted(&a), 0);
  iv(&a, "09:02:30", "a", "09:02:00", "09:02:10", "video");   /* 1 min after a's end, 30 s late: joins */
  assert_int_equal(emitted(&a), 0);
  iv(&a, "09:05:00", "a", "09:05:00", "09:06:00", "video");   /* 2m50s after: a new block */
  /* 09:05:00 is past a's first block (09:02:10 + 1m30s) and b's (09:02:40 + 1m30s). */
  assert_int_equal(emitted(&a), 2);
  expect_block(&a, 0, "09:03:40", "a", "09:00:00", "09:02:10", 70000, 2, 2, "[\"video\"]");
  expect_block(&a, 1, "09:04:10", "b", "09:02:30", "09:02:40", 10000, 1, 1, "[\"video\"]");
  assert_int_equal(engine_drain(a.e), 0);
  assert_int_equal(emitted(&a), 3);
  expect_block(&a, 2, "09:07:30", "a", "09:05:00", "09:06:00", 60000, 1, 1, "[\"video\"]");
  app_stop(&a);
}

/* Out of order: a late interval that reaches the open block merges into it,
 * also at its start and also when it bridges two open blocks; one whose
 * block is gone (or whose time has passed) is a block of its own, emitted
 * at once. */
static void test_intervals_out_of_order(void **unused) {
  (void)unused;
  struct app a;
  app_start(&a, intervals_app);
  iv(&a, "09:05:00", "a", "09:05:00", "09:06:00", "video");
  iv(&a, "09:07:20", "a", "09:07:20", "09:08:00", "video");   /* 80 s after: a second open block */
  iv(&a, "09:07:25", "a", "09:03:00", "09:05:30", "usage");   /* late, earlier start: extends the first */
  iv(&a, "09:07:28", "a", "09:06:30", "09:07:00", "audio");   /* late: bridges the two blocks */
  assert_int_equal(emitted(&a), 0);
  iv(&a, "09:07:29", "a", "08:50:00", "08:51:00", "usage");   /* its time (08:52:30) has passed */
  assert_int_equal(emitted(&a), 1);
  expect_block(&a, 0, "08:52:30", "a", "08:50:00", "08:51:00", 60000, 1, 1, "[\"usage\"]");
  iv(&a, "09:10:00", "z", "09:10:00", "09:10:01", NULL);      /* moves the clock past 09:09:30 */
  assert_int_equal(emitted(&a), 2);
  expect_block(&a, 1, "09:09:30", "a", "09:03:00", "09:08:00", 250000, 4, 3, "[\"audio\",\"usage\",\"video\"]");
  iv(&a, "09:10:10", "a", "09:07:50", "09:08:10", "video");   /* its block was emitted: a new one */
  assert_int_equal(emitted(&a), 3);
  expect_block(&a, 2, "09:09:40", "a", "09:07:50", "09:08:10", 20000, 1, 1, "[\"video\"]");
  app_stop(&a);
}

/* Keys interleaved keep apart, also keys whose JSON starts like another's
 * ("a" and "a b", "a\" 1").  Open blocks close at --drain, at their own
 * times, in that order. */
static void test_intervals_keys_and_drain(void **unused) {
  (void)unused;
  struct app a;
  app_start(&a, intervals_app);
  static const char *const keys[] = { "a", "a b", "a\" 1", "b" };
  for (int i = 0; i < 8; i++) {   /* key i % 4: [09:0i, 09:0i+3), twice, 1 min apart */
    char s[32], e[32];
    snprintf(s, sizeof s, "09:%02d:00", i);
    snprintf(e, sizeof e, "09:%02d:00", i + 3);
    iv(&a, s, keys[i % 4], s, e, "video");
  }
  assert_int_equal(engine_drain(a.e), 0);   /* the clock never passed a deadline: nothing before */
  assert_int_equal(emitted(&a), 4);
  expect_block(&a, 0, "09:08:30", "a", "09:00:00", "09:07:00", 360000, 2, 2, "[\"video\"]");
  expect_block(&a, 1, "09:09:30", "a b", "09:01:00", "09:08:00", 360000, 2, 2, "[\"video\"]");
  expect_block(&a, 2, "09:10:30", "a\" 1", "09:02:00", "09:09:00", 360000, 2, 2, "[\"video\"]");
  expect_block(&a, 3, "09:11:30", "b", "09:03:00", "09:10:00", 360000, 2, 2, "[\"video\"]");
  assert_int_equal(engine_drain(a.e), 0);   /* nothing is left */
  assert_int_equal(emitted(&a), 4);
  app_stop(&a);
}

/* Without --drain the open blocks stay in the state store; a new engine on
 * that store (a run started again with the same --state) goes on with
 * them. */
static void test_intervals_restart(void **unused) {
  (void)unused;
  struct app a;
  app_start(&a, intervals_app);
  iv(&a, "09:00:00", "a", "09:00:00", "09:02:00", "video");
  iv(&a, "09:01:00", "b", "09:01:00", "09:02:00", "video");
  iv(&a, "09:03:00", "a", "09:03:00", "09:04:00", "video");   /* two pieces */
  assert_int_equal(emitted(&a), 0);
  app_restart(&a, intervals_app);
  iv(&a, "09:03:30", "a", "09:01:30", "09:03:30", "usage");   /* fills a's gap */
  iv(&a, "09:04:00", "b", "09:04:00", "09:04:30", "usage");   /* b's deadline (09:03:30) has passed */
  assert_int_equal(emitted(&a), 1);
  expect_block(&a, 0, "09:03:30", "b", "09:01:00", "09:02:00", 60000, 1, 1, "[\"video\"]");
  app_restart(&a, intervals_app);
  assert_int_equal(engine_drain(a.e), 0);
  assert_int_equal(emitted(&a), 3);
  expect_block(&a, 1, "09:05:30", "a", "09:00:00", "09:04:00", 240000, 3, 1, "[\"usage\",\"video\"]");
  expect_block(&a, 2, "09:06:00", "b", "09:04:00", "09:04:30", 30000, 1, 1, "[\"usage\"]");
  app_stop(&a);
}

/* Rows that cannot be an interval are dead-lettered and the run goes on;
 * an empty interval covers nothing and passes nothing on. */
static void test_intervals_bad_rows(void **unused) {
  (void)unused;
  struct app a;
  app_start(&a, intervals_app);
  iv(&a, "09:00:00", "a", "09:01:00", "09:00:00", "video");   /* ends before it starts */
  iv(&a, "09:00:00", "a", NULL, "09:00:00", "video");         /* no start */
  iv(&a, "09:00:00", "a", "09:00:00", "09:00:00", "video");   /* empty */
  struct json_object *d = json_object_new_object();
  json_object_object_add(d, "k", json_object_new_string("a"));
  json_object_object_add(d, "s", json_object_new_string("2026-03-02T09:00:00Z"));
  json_object_object_add(d, "e", json_object_new_string("2026-03-02T09:01:00Z"));
  json_object_object_add(d, "g", json_object_new_int64(-1));
  send(&a, "T", "t", "2026-03-02T09:00:00Z", d);              /* a negative gap */
  d = json_object_new_object();
  json_object_object_add(d, "k", json_object_new_string("a"));
  json_object_object_add(d, "s", json_object_new_string("9999-12-31T23:58:00Z"));
  json_object_object_add(d, "e", json_object_new_string("9999-12-31T23:59:00Z"));
  send(&a, "T", "t", "2026-03-02T09:00:00Z", d);              /* would close in the year 10000 */
  iv(&a, "09:00:00", "a", "09:00:00", "09:01:00", "video");   /* a good one */
  assert_int_equal(json_object_array_length(a.dead), 4);
  assert_non_null(strstr(json_object_get_string(json_object_array_get_idx(a.dead, 0)),
                         "the interval ends (2026-03-02T09:00:00Z) before it starts (2026-03-02T09:01:00Z)"));
  assert_non_null(strstr(json_object_get_string(json_object_array_get_idx(a.dead, 1)), "`start` is absent or null"));
  assert_non_null(strstr(json_object_get_string(json_object_array_get_idx(a.dead, 2)), "`gap` must be 0 or a positive integer"));
  assert_non_null(strstr(json_object_get_string(json_object_array_get_idx(a.dead, 3)), "would close after the year 9999"));
  json_object_put(a.dead);
  a.dead = json_object_new_array();
  assert_int_equal(engine_drain(a.e), 0);
  assert_int_equal(emitted(&a), 1);
  expect_block(&a, 0, "09:02:30", "a", "09:00:00", "09:01:00", 60000, 1, 1, "[\"video\"]");
  app_stop(&a);
}

/* A block of more than 1,000 separate pieces is emitted early, at the time
 * of the interval that made it too many; the next interval starts anew. */
static void test_intervals_many_pieces(void **unused) {
  (void)unused;
  struct app a;
  app_start(&a, intervals_app);
  for (int i = 0; i <= 1001; i++) {   /* 1 s of activity every 2 s */
    char s[32], e[32];
    snprintf(s, sizeof s, "09:%02d:%02d", i * 2 / 60, i * 2 % 60);
    snprintf(e, sizeof e, "09:%02d:%02d", (i * 2 + 1) / 60, (i * 2 + 1) % 60);
    iv(&a, s, "a", s, e, "video");
    assert_int_equal(emitted(&a), i < 1000 ? 0 : 1);
  }
  expect_block(&a, 0, "09:33:20", "a", "09:00:00", "09:33:21", 1001000, 1001, 1001, "[\"video\"]");
  assert_int_equal(engine_drain(a.e), 0);
  assert_int_equal(emitted(&a), 2);
  expect_block(&a, 1, "09:34:53", "a", "09:33:22", "09:33:23", 1000, 1, 1, "[\"video\"]");
  app_stop(&a);
}

/* ---- engine_new: who owns the image when it fails ------------------------- */

/* engine_new fails on a stage this runtime lacks, and leaves the image to
 * its caller: freeing it afterwards is no double free (ASan checks). */
static void test_engine_new_unknown_stage(void **unused) {
  (void)unused;
  struct image *img = app_image("event T from \"t\" { n: int }\n"
                                "extern filter nosuch(by: any?) -> input\n"
                                "flow f { on T | nosuch(by: n) -> emit T }\n");
  struct state_store *st = state_open_memory();
  char err[400] = "";
  assert_null(engine_new(img, st, NULL, NULL, err, sizeof err));
  assert_non_null(strstr(err, "uses the stage `nosuch`, which this runtime does not provide"));
  image_free(img);
  state_close(st);
}

/* A schema nested `levels` arrays deep: {"type":"array","items":...}. */
static char *nested_schema(int levels) {
  size_t size = (size_t)levels * 40 + 64;
  char *s = malloc(size), *at = s;
  for (int i = 0; i < levels; i++) at += sprintf(at, "{\"type\":\"array\",\"items\":");
  at += sprintf(at, "{\"type\":\"integer\"}");
  for (int i = 0; i < levels; i++) *at++ = '}';
  *at = 0;
  return s;
}

/* The schema of event `T` replaced by one nested `levels` deep. */
static void set_schema(struct image *img, int levels) {
  struct constant *k = &img->consts[img->events[0].schema];
  free(k->as.string.bytes);
  k->as.string.bytes = nested_schema(levels);
  k->as.string.length = (uint32_t)strlen(k->as.string.bytes);
}

/* json-c parses at most 32 levels by default: the schema of a type 27 arrays
 * deep (the compiler's output) used to fail there, and the image was freed
 * twice.  Now such a schema loads, and one deeper than the runtime takes is
 * refused with a clear message and the image left to the caller. */
static void test_engine_new_deep_schema(void **unused) {
  (void)unused;
  static const char text[] = "event T from \"t\" { n: int }\nflow f { on T -> emit T }\n";
  struct state_store *st = state_open_memory();
  char err[400] = "";
  struct image *img = app_image(text);
  set_schema(img, 40);
  struct engine *e = engine_new(img, st, NULL, NULL, err, sizeof err);
  if (!e) print_message("# %s\n", err);
  assert_non_null(e);
  engine_free(e);
  img = app_image(text);
  set_schema(img, ENGINE_MAX_SCHEMA_DEPTH + 1);
  assert_null(engine_new(img, st, NULL, NULL, err, sizeof err));
  assert_non_null(strstr(err, "the schema of event `T` in the image is nested deeper than"));
  image_free(img);
  img = app_image(text);
  set_schema(img, 100);   /* parses, but deeper than a schema the checker follows */
  assert_null(engine_new(img, st, NULL, NULL, err, sizeof err));
  assert_non_null(strstr(err, "the schema of event `T` in the image cannot be used"));
  image_free(img);
  state_close(st);
}

/* ---- keys the state store refuses ----------------------------------------- */

/* Every keyed stage, keyed by `k`: each keeps state for the row. */
static const char keyed_app[] =
  "import std.filters\n"
  "import std.transformers\n"
  "event T from \"t\" { k: string, s: string, a: time, b: time }\n"
  "event O { k: any? }\n"
  "flow counting { on T | counter(by: k, count: 2) | map { k: key } -> emit O }\n"
  "flow aggregating { on T | aggregator(by: k, keep: { n: count() }, count: 2) | map { k: key } -> emit O }\n"
  "flow stitching { on T | stitcher(by: k, content: s, count: 2) | map { k: key } -> emit O }\n"
  "flow combining { on T | combiner(by: k, within: 1m) | map { k: key } -> emit O }\n"
  "flow covering { on T | intervals(by: k, start: a, end: b) | map { k: key } -> emit O }\n";

static void send_keyed(struct app *a, const char *key) {
  struct json_object *d = json_object_new_object();
  json_object_object_add(d, "k", json_object_new_string(key));
  json_object_object_add(d, "s", json_object_new_string("text"));
  json_object_object_add(d, "a", json_object_new_string("2026-03-02T09:00:00Z"));
  json_object_object_add(d, "b", json_object_new_string("2026-03-02T09:01:00Z"));
  send(a, "T", "t", "2026-03-02T09:00:00Z", d);
}

/* A `by` key over the store's 1,024 bytes, or not UTF-8, used to vanish:
 * the row "matched a rule" and was neither kept nor emitted nor
 * dead-lettered.  Now each stage dead-letters it, saying why, and a good
 * key still works. */
static void test_refused_keys_are_dead_letters(void **unused) {
  (void)unused;
  static const char *const flows[] = { "counting", "aggregating", "stitching", "combining", "covering" };
  const size_t nflows = sizeof flows / sizeof *flows;
  char long_key[1100];
  memset(long_key, 'k', sizeof long_key - 1);
  long_key[sizeof long_key - 1] = 0;
  const char *bad[] = { long_key, "caf\xe9" };   /* Latin-1, not UTF-8 */
  for (size_t b = 0; b < 2; b++) {
    struct app a;
    app_start(&a, keyed_app);
    send_keyed(&a, bad[b]);
    dump_dead(&a);
    assert_int_equal(json_object_array_length(a.dead), nflows);
    for (size_t i = 0; i < nflows; i++) {
      const char *reason = json_object_get_string(json_object_array_get_idx(a.dead, i));
      int found = 0;
      for (size_t f = 0; f < nflows; f++) found |= strstr(reason, flows[f]) != NULL;
      assert_true(found);
      assert_true(strstr(reason, "cannot be kept") || strstr(reason, "cannot keep"));
      assert_non_null(strstr(reason, b == 0 ? "longer than 1024 bytes" : "not valid UTF-8"));
    }
    send_keyed(&a, "good");
    send_keyed(&a, "good");
    assert_int_equal(json_object_array_length(a.dead), nflows);
    assert_int_equal(engine_drain(a.e), 0);
    assert_int_equal(json_object_array_length(a.emitted), nflows + 1);   /* the combiner of one event type: twice */
    app_stop(&a);
  }
}

/* ---- emitted ids ------------------------------------------------------------- */

static const char ids_app[] =
  "import std.filters\n"
  "event T from \"t\" { k: string }\n"
  "event O { k: any? }\n"
  "flow copy { on T | map { k: k } -> emit O }\n"
  "flow also { on T | map { k: k } -> emit O }\n"
  "flow windows { on T | counter(by: k, after: 1m) | map { k: key } -> emit O }\n";

/* One event with an id (NULL: none) on input line `line`. */
static void send_id(struct app *a, const char *id, long line, const char *key, const char *time) {
  struct json_object *ev = json_object_new_object(), *d = json_object_new_object();
  if (id) json_object_object_add(ev, "id", json_object_new_string(id));
  json_object_object_add(ev, "detail-type", json_object_new_string("T"));
  json_object_object_add(ev, "source", json_object_new_string("t"));
  json_object_object_add(ev, "time", json_object_new_string(time));
  json_object_object_add(d, "k", json_object_new_string(key));
  json_object_object_add(ev, "detail", d);
  assert_int_equal(engine_event(a->e, ev, line), 0);
  json_object_put(ev);
}

static const char *id_of(struct app *a, size_t i) { return str(json_object_array_get_idx(a->emitted, i), "id"); }

/* The ids of everything one application emits for a fixed input. */
static struct json_object *ids_for(const char *first_id, long first_line) {
  struct app a;
  app_start(&a, ids_app);
  send_id(&a, first_id, first_line, "x", "2026-03-02T09:00:00Z");
  send_id(&a, "ev-2", 1, "y", "2026-03-02T09:00:10Z");
  send_id(&a, NULL, 1, "z", "2026-03-02T09:00:20Z");
  assert_int_equal(engine_drain(a.e), 0);
  struct json_object *ids = json_object_new_array();
  for (size_t i = 0; i < json_object_array_length(a.emitted); i++) json_object_array_add(ids, json_object_new_string(id_of(&a, i)));
  app_stop(&a);
  return ids;
}

/* Emitted ids used to hash only (input line, emission number): the first
 * event emitted for two inputs on the same line had the same id.  Now
 * every id differs (inputs, flows, windows), they are UUIDs (version 5),
 * and a replay gives the same ids. */
static void test_emitted_ids(void **unused) {
  (void)unused;
  struct json_object *ids = ids_for("ev-1", 1), *again = ids_for("ev-1", 1), *other = ids_for("ev-9", 1);
  size_t n = json_object_array_length(ids);
  assert_int_equal(n, 9);   /* 3 inputs x (copy, also), and 3 windows at drain */
  for (size_t i = 0; i < n; i++)
    for (size_t k = 0; k < i; k++)
      assert_string_not_equal(json_object_get_string(json_object_array_get_idx(ids, i)), json_object_get_string(json_object_array_get_idx(ids, k)));
  for (size_t i = 0; i < n; i++) {
    const char *id = json_object_get_string(json_object_array_get_idx(ids, i));
    assert_int_equal(strlen(id), 36);
    assert_int_equal(id[14], '5');
    assert_string_equal(id, json_object_get_string(json_object_array_get_idx(again, i)));
  }
  /* Another id for the first input: its events' ids change, the others' do not. */
  assert_string_not_equal(json_object_get_string(json_object_array_get_idx(ids, 0)), json_object_get_string(json_object_array_get_idx(other, 0)));
  assert_string_equal(json_object_get_string(json_object_array_get_idx(ids, 2)), json_object_get_string(json_object_array_get_idx(other, 2)));
  json_object_put(ids);
  json_object_put(again);
  json_object_put(other);
}

/* ---- the work budget ---------------------------------------------------------- */

static const char fan_app[] =
  "import std.transformers\n"
  "event T from \"t\" { s: string }\n"
  "event O { i: int, j: int }\n"
  "event Ping from \"p\" as \"Ping\" { n: int }\n"
  "flow fan { on T | splitter(text: s, size: 1) | map { s: s, i: index } | splitter(text: s, size: 1)\n"
  "           | map { i: i, j: index } -> emit O }\n"
  "flow one { on Ping -> emit Ping }\n"
  "flow two { on Ping -> emit Ping }\n";

/* A splitter of 40 over a splitter of 40 (1,600 events) with a budget of
 * 100 events; two flows that answer Ping with Ping (2^16 events to the hop
 * limit): each input stops at the budget, with one dead letter that says
 * so, and the next input gets a budget of its own. */
static void test_work_budget_events(void **unused) {
  (void)unused;
  struct app a;
  a.st = state_open_memory();
  a.emitted = json_object_new_array();
  a.dead = json_object_new_array();
  struct engine_options opt = { .budget_events = 100 };
  a.e = app_engine_with(&a, fan_app, &opt);
  char text[41];
  memset(text, 'x', 40);
  text[40] = 0;
  for (int round = 1; round <= 2; round++) {
    struct json_object *d = json_object_new_object();
    json_object_object_add(d, "s", json_object_new_string(text));
    send(&a, "T", "t", "2026-03-02T09:00:00Z", d);
    assert_int_equal(json_object_array_length(a.emitted), 100 * round);
    assert_int_equal(json_object_array_length(a.dead), round);
    const char *why = json_object_get_string(json_object_array_get_idx(a.dead, round - 1));
    assert_non_null(strstr(why, "work budget spent: it emitted 100 events, the most one input event may cause"));
  }
  struct json_object *ping = json_object_new_object();
  json_object_object_add(ping, "n", json_object_new_int(1));
  send(&a, "Ping", "p", "2026-03-02T09:00:00Z", ping);
  assert_int_equal(json_object_array_length(a.emitted), 300);
  assert_int_equal(json_object_array_length(a.dead), 3);   /* no hop-limit dead letters: the budget ends it first */
  assert_non_null(strstr(json_object_get_string(json_object_array_get_idx(a.dead, 2)), "emitted events not routed to the rules"));
  app_stop(&a);
}

/* The bytes budget: events of some 1 KB against a budget of 10 KB. */
static void test_work_budget_bytes(void **unused) {
  (void)unused;
  struct app a;
  a.st = state_open_memory();
  a.emitted = json_object_new_array();
  a.dead = json_object_new_array();
  struct engine_options opt = { .budget_bytes = 10000 };
  a.e = app_engine_with(&a, split_app, &opt);
  char text[2001];
  memset(text, 'y', 2000);
  text[2000] = 0;
  struct json_object *d = json_object_new_object();
  json_object_object_add(d, "s", json_object_new_string(text));
  send(&a, "T", "t", "2026-03-02T09:00:00Z", d);   /* 1,000 rows of 2 characters, each event ~250 bytes */
  size_t n = json_object_array_length(a.emitted), bytes = 0;
  for (size_t i = 0; i < n; i++)
    bytes += strlen(json_object_to_json_string_ext(json_object_array_get_idx(a.emitted, i), JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
  assert_true(n > 10 && n < 1000);
  assert_true(bytes <= 10000);
  assert_int_equal(json_object_array_length(a.dead), 1);
  assert_non_null(strstr(json_object_get_string(json_object_array_get_idx(a.dead, 0)), "bytes of events and the next would pass the 10000"));
  app_stop(&a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_stitcher_state_budget),
    cmocka_unit_test(test_splitter_keeps_every_byte),
    cmocka_unit_test(test_combiner_too_large_to_keep),
    cmocka_unit_test(test_window_without_opened),
    cmocka_unit_test(test_intervals_overlap),
    cmocka_unit_test(test_intervals_gap_bridged),
    cmocka_unit_test(test_intervals_gap_closes),
    cmocka_unit_test(test_intervals_out_of_order),
    cmocka_unit_test(test_intervals_keys_and_drain),
    cmocka_unit_test(test_intervals_restart),
    cmocka_unit_test(test_intervals_bad_rows),
    cmocka_unit_test(test_intervals_many_pieces),
    cmocka_unit_test(test_engine_new_unknown_stage),
    cmocka_unit_test(test_engine_new_deep_schema),
    cmocka_unit_test(test_refused_keys_are_dead_letters),
    cmocka_unit_test(test_emitted_ids),
    cmocka_unit_test(test_work_budget_events),
    cmocka_unit_test(test_work_budget_bytes),
  };
  cmocka_set_message_output(CM_OUTPUT_TAP);
  return cmocka_run_group_tests(tests, NULL, NULL);
}
