/* stage_intervals.c — `intervals`: merges intervals of activity
 * [start, end) per key into blocks, and emits each block once it can no
 * longer grow:
 *   { key, count, first_time, last_time, start, end, covered, pieces, tags }
 *
 * Intervals that overlap, touch, or lie at most `gap` apart join one block.
 * What a block covers is the union of its intervals: time covered twice
 * (by two sources, or by reports that overlap) counts once, and the gaps a
 * block bridges count not at all.  A block closes when event time passes
 * end + gap + after (`after`: how late an interval may still arrive), or at
 * --drain, and is emitted with the time end + gap + after.  An interval
 * whose block has been emitted starts a new block.
 *
 * Every open block is its own item in the state store, under "KEY START"
 * (the JSON of `by`, a space, the block's start in ms), with the deadline
 * end + gap + after + 1 ms: the engine closes each block at its own time,
 * and a scan of the prefix "KEY " finds the blocks of a key (compact JSON
 * has no space outside strings, so no other key shares that prefix).  A
 * block holds the window fields of stage_window.h (key, count, first_time,
 * last_time) and
 *   "pieces": [[start, end], ...]   the time it covers: disjoint, sorted
 *   "tags": [...]                   the different values of `tag` (emitted
 *                                   sorted by their JSON text)
 *   "closes": ms                    end + gap + after, the time it carries
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "stage_window.h"
#include "vm.h"

#define PIECES_MAX 1000   /* separate stretches in one block; more emit it early */
#define TAGS_MAX   100
#define TIME_MAX   INT64_C(253402300799999)   /* 9999-12-31T23:59:59.999Z, the last time an event can carry */

/* ---- the time a block covers: sorted, disjoint spans ------------------- */

struct span {
  int64_t start, end;
};

struct spans {
  struct span *items;
  size_t n, cap;
};

static int spans_push(struct spans *s, int64_t start, int64_t end) {
  if (s->n == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 8;
    struct span *items = realloc(s->items, cap * sizeof *items);
    if (!items) return -1;
    s->items = items;
    s->cap = cap;
  }
  s->items[s->n++] = (struct span){ start, end };
  return 0;
}

/* Appends the pieces stored in a block ([[start, end], ...]); a piece that
 * is not two integers with start < end is skipped. */
static int spans_read(struct spans *s, struct json_object *block) {
  struct json_object *pieces;
  if (!json_object_object_get_ex(block, "pieces", &pieces) || !json_object_is_type(pieces, json_type_array)) return 0;
  for (size_t i = 0; i < json_object_array_length(pieces); i++) {
    struct json_object *p = json_object_array_get_idx(pieces, i);
    if (!json_object_is_type(p, json_type_array) || json_object_array_length(p) != 2) continue;
    struct json_object *a = json_object_array_get_idx(p, 0), *b = json_object_array_get_idx(p, 1);
    if (!json_object_is_type(a, json_type_int) || !json_object_is_type(b, json_type_int)) continue;
    int64_t start = json_object_get_int64(a), end = json_object_get_int64(b);
    if (start < end && spans_push(s, start, end) != 0) return -1;
  }
  return 0;
}

static int by_start(const void *a, const void *b) {
  const struct span *x = a, *y = b;
  return x->start < y->start ? -1 : x->start > y->start;
}

/* Sorts the spans and joins those that overlap or touch. */
static void spans_union(struct spans *s) {
  if (s->n < 2) return;
  qsort(s->items, s->n, sizeof *s->items, by_start);
  size_t out = 0;
  for (size_t i = 1; i < s->n; i++) {
    if (s->items[i].start <= s->items[out].end) {
      if (s->items[i].end > s->items[out].end) s->items[out].end = s->items[i].end;
    } else {
      s->items[++out] = s->items[i];
    }
  }
  s->n = out + 1;
}

/* The spans as [[start, end], ...]; NULL when out of memory. */
static struct json_object *spans_json(const struct spans *s) {
  struct json_object *a = json_object_new_array();
  for (size_t i = 0; a && i < s->n; i++) {
    struct json_object *p = json_object_new_array();
    int bad = stage_push(p, json_object_new_int64(s->items[i].start)) | stage_push(p, json_object_new_int64(s->items[i].end));
    if (bad) json_object_put(p);
    if (bad || stage_push(a, p) != 0) {
      json_object_put(a);
      a = NULL;
    }
  }
  return a;
}

/* ---- the blocks of a key in the state store ----------------------------- */

struct stored {
  char *key;                  /* the state key, "KEY START" */
  struct json_object *value;  /* NULL when the stored value is not a block */
  int64_t version, start, end;
  int merged;
};

struct stored_list {
  struct stored *items;
  size_t n, cap;
  int failed;                 /* out of memory during the scan */
};

static int collect(void *ctx, const struct state_item *it) {
  struct stored_list *l = ctx;
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 8;
    struct stored *items = realloc(l->items, cap * sizeof *items);
    if (!items) return l->failed = 1;
    l->items = items;
    l->cap = cap;
  }
  struct stored *b = &l->items[l->n];
  *b = (struct stored){ strdup(it->key), json_tokener_parse(it->value), it->version, 0, 0, 0 };
  if (!b->key) {
    json_object_put(b->value);
    return l->failed = 1;
  }
  l->n++;
  struct spans s = { 0 };
  if (b->value && spans_read(&s, b->value) != 0) l->failed = 1;
  if (s.n > 0) {
    spans_union(&s);
    b->start = s.items[0].start;
    b->end = s.items[s.n - 1].end;
  } else {
    json_object_put(b->value);   /* not a block: it is dropped when a block of its key is written */
    b->value = NULL;
  }
  free(s.items);
  return 0;
}

static void stored_free(struct stored_list *l) {
  for (size_t i = 0; i < l->n; i++) {
    free(l->items[i].key);
    json_object_put(l->items[i].value);
  }
  free(l->items);
}

/* a + b, held at INT64_MAX instead of overflowing. */
static int64_t plus(int64_t a, int64_t b) {
  int64_t r;
  return __builtin_add_overflow(a, b, &r) ? INT64_MAX : r;
}

/* ---- arguments and output ----------------------------------------------- */

static int time_arg(struct stage_run *run, const char *name, int64_t *out) {
  struct json_object *v;
  if (stage_arg(run, name, &v) != 0) return -1;
  int absent = v == VM_MISSING || !v;
  int ok = !absent && json_object_is_type(v, json_type_string) && vm_parse_time(json_object_get_string(v), out) == 0;
  vm_release(v);
  if (!ok) return stage_fail(run, absent ? "`%s` is absent or null: an interval needs a start and an end" : "`%s` must be a time", name), -1;
  return 0;
}

static const char *text_of(struct json_object *v) {
  return json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

static int by_text(const void *a, const void *b) {
  return strcmp(text_of(*(struct json_object *const *)a), text_of(*(struct json_object *const *)b));
}

static int emit(struct stage_run *run, struct json_object *block, int64_t at) {
  struct spans s = { 0 };
  if (spans_read(&s, block) != 0) {
    free(s.items);
    return -1;
  }
  if (s.n == 0) return 0;   /* nothing covered: nothing to say */
  spans_union(&s);
  int64_t covered = 0;
  for (size_t i = 0; i < s.n; i++) covered += s.items[i].end - s.items[i].start;
  struct json_object *out = window_output(block), *tags = NULL;
  int bad = stage_set(out, "start", window_time(s.items[0].start)) | stage_set(out, "end", window_time(s.items[s.n - 1].end)) |
            stage_set(out, "covered", json_object_new_int64(covered)) | stage_set(out, "pieces", json_object_new_int64((int64_t)s.n));
  struct json_object *sorted = json_object_new_array();
  if (sorted && json_object_object_get_ex(block, "tags", &tags) && json_object_is_type(tags, json_type_array)) {
    for (size_t i = 0; i < json_object_array_length(tags); i++)
      bad |= json_object_array_add(sorted, json_object_get(json_object_array_get_idx(tags, i))) != 0;
    json_object_array_sort(sorted, by_text);
  }
  bad |= stage_set(out, "tags", sorted);
  if (bad) {
    json_object_put(out);
    out = NULL;   /* dead-lettered as out of memory */
  }
  free(s.items);
  int rc = stage_continue(run, out, at);
  json_object_put(out);
  return rc;
}

/* ---- the stage ----------------------------------------------------------- */

/* The open blocks of a key (scan of "KEY "): 0, -1 when the store failed,
 * 1 when the key cannot be kept (already reported). */
static int find_blocks(struct stage_run *run, const struct state_key *k, struct stored_list *found) {
  size_t len = strlen(k->key);
  char *prefix = malloc(len + 2);
  if (!prefix) return -1;
  snprintf(prefix, len + 2, "%s ", k->key);
  enum state_status s = state_scan(stage_state(run), k->flow, k->stage, prefix, collect, found);
  free(prefix);
  if (s == STATE_INVALID) return stage_fail(run, "cannot keep a block for this key (%s)", state_error(stage_state(run))), 1;
  return s == STATE_OK && !found->failed ? 0 : -1;
}

/* Merges into `block` (whose time is `spans`, one interval) every stored
 * block it reaches within `gap`, also through each other, and marks them
 * merged; stored values that are not blocks are marked too (dropped).
 * *start and *end become the extent of the result.  -1 when out of memory. */
static int absorb_reached(struct json_object *block, struct spans *spans, struct stored_list *found, int64_t gap,
                          int64_t *start, int64_t *end) {
  struct json_object *tags, *old;
  json_object_object_get_ex(block, "tags", &tags);
  *start = spans->items[0].start;
  *end = spans->items[0].end;
  for (int grew = 1; grew;) {
    grew = 0;
    for (size_t i = 0; i < found->n; i++) {
      struct stored *b = &found->items[i];
      if (b->merged || (b->value && (b->start > plus(*end, gap) || *start > plus(b->end, gap)))) continue;
      b->merged = grew = 1;
      if (!b->value) continue;
      window_absorb(block, b->value);
      if (json_object_object_get_ex(b->value, "tags", &old) && json_object_is_type(old, json_type_array))
        for (size_t t = 0; t < json_object_array_length(old); t++) window_distinct_add(tags, json_object_array_get_idx(old, t), TAGS_MAX);
      if (spans_read(spans, b->value) != 0) return -1;
      if (b->start < *start) *start = b->start;
      if (b->end > *end) *end = b->end;
    }
  }
  spans_union(spans);
  return stage_set(block, "pieces", spans_json(spans));
}

/* Deletes the merged blocks, except the one stored under `keep` (NULL: none). */
static int delete_merged(struct stage_run *run, const struct state_key *k, struct stored_list *found, const char *keep) {
  for (size_t i = 0; i < found->n; i++) {
    struct stored *b = &found->items[i];
    if (!b->merged || (keep && strcmp(b->key, keep) == 0)) continue;
    struct state_key bk = { k->flow, k->stage, b->key };
    if (state_delete(stage_state(run), &bk, b->version) != STATE_OK) return -1;
  }
  return 0;
}

/* Stores the merged block under "KEY START" with the deadline closes + 1
 * (replacing the merged block stored under that name, if any), then
 * deletes the other merged blocks. */
static int keep_block(struct stage_run *run, const struct state_key *k, struct stored_list *found,
                      struct json_object *block, int64_t start, int64_t closes) {
  size_t size = strlen(k->key) + 24;
  char *item = malloc(size);
  if (!item) return -1;
  snprintf(item, size, "%s %" PRId64, k->key, start);
  int64_t version = 0;
  for (size_t i = 0; i < found->n; i++)
    if (found->items[i].merged && strcmp(found->items[i].key, item) == 0) version = found->items[i].version;
  struct state_key ik = { k->flow, k->stage, item };
  enum state_status s = state_put(stage_state(run), &ik, text_of(block), closes + 1, version, NULL);
  int rc = s == STATE_OK ? delete_merged(run, k, found, item) : -1;
  if (s == STATE_INVALID) rc = stage_fail(run, "the block is too large to keep (%s)", state_error(stage_state(run)));
  free(item);
  return rc;
}

/* The row's interval, as `block` and `spans`: merged with the open blocks
 * of its key that it reaches, then kept, or emitted at once when its time
 * has passed already (a late interval) or it has too many pieces.  -1 only
 * when the state store failed. */
static int merge(struct stage_run *run, const char *key_json, struct json_object *block, struct spans *spans,
                 int64_t gap, int64_t after) {
  struct state_key k;
  stage_state_key(run, key_json, &k);
  struct stored_list found = { 0 };
  int64_t start, end, closes, now = stage_now(run);
  int rc = find_blocks(run, &k, &found);
  if (rc != 0) goto done;
  if (absorb_reached(block, spans, &found, gap, &start, &end) != 0) {
    rc = stage_fail(run, "out of memory");   /* nothing was changed in the state */
    goto done;
  }
  if (end > TIME_MAX || gap > TIME_MAX - end || after > TIME_MAX - end - gap) {
    rc = stage_fail(run, "the block would close after the year 9999: `gap` or `after` is too large");
    goto done;
  }
  closes = end + gap + after;
  json_object_object_add(block, "closes", json_object_new_int64(closes));
  if (spans->n <= PIECES_MAX && closes >= now) {
    rc = keep_block(run, &k, &found, block, start, closes);
  } else if ((rc = delete_merged(run, &k, &found, NULL)) == 0) {
    rc = emit(run, block, spans->n > PIECES_MAX ? now : closes);
  }
done:
  stored_free(&found);
  return rc < 0 ? -1 : 0;
}

/* Reads `start` and `end`; an interval that ends before it starts is a
 * mistake.  -1 on an error already reported. */
static int interval_args(struct stage_run *run, int64_t *start, int64_t *end) {
  if (time_arg(run, "start", start) != 0 || time_arg(run, "end", end) != 0) return -1;
  if (*end >= *start) return 0;
  char from[40], to[40];
  vm_format_time(*start, from, sizeof from);
  vm_format_time(*end, to, sizeof to);
  return stage_fail(run, "the interval ends (%s) before it starts (%s)", to, from), -1;
}

/* A block of one interval (its time is kept apart, in spans): the window
 * fields and the tag, if any. */
static struct json_object *new_block(struct json_object *key, struct json_object *tag, int64_t now) {
  struct json_object *block = json_object_new_object(), *tags = json_object_new_array();
  json_object_object_add(block, "key", json_object_get(key));
  json_object_object_add(block, "count", json_object_new_int64(1));
  json_object_object_add(block, "first_time", json_object_new_int64(now));
  json_object_object_add(block, "last_time", json_object_new_int64(now));
  if (tag != VM_MISSING && tag) json_object_array_add(tags, json_object_get(tag));
  json_object_object_add(block, "tags", tags);
  return block;
}

static int intervals_process(struct stage_run *run, struct json_object *row) {
  (void)row;
  struct json_object *key = NULL, *tag = VM_MISSING;
  char *key_json = NULL;
  int64_t start, end, gap, after;
  int rc = 0;
  /* An empty interval (end = start) covers no time: nothing to merge. */
  if (window_key(run, &key, &key_json) == 0 && interval_args(run, &start, &end) == 0 &&
      window_nonnegative_arg(run, "gap", &gap) == 0 && window_nonnegative_arg(run, "after", &after) == 0 &&
      stage_arg(run, "tag", &tag) == 0 && end > start) {
    struct json_object *block = new_block(key, tag, stage_now(run));
    struct spans spans = { 0 };
    rc = spans_push(&spans, start, end) == 0 ? merge(run, key_json, block, &spans, gap, after) : -1;
    free(spans.items);
    json_object_put(block);
  }
  vm_release(key);
  vm_release(tag);
  free(key_json);
  return rc;
}

static int intervals_close(struct stage_run *run, const char *key, struct json_object *block) {
  (void)key;
  int64_t closes = window_int(block, "closes");
  return emit(run, block, closes ? closes : stage_now(run));
}

const struct native_stage stage_intervals = { "intervals", intervals_process, intervals_close };
