/* stage_splitter.c — `splitter`: one row in, one row out per piece:
 *   { ...input, item, index, total }
 * Three ways to cut, one per call:
 *   over: LIST              one row per element (with size: N, per N elements: item is a list)
 *   text: STRING, size: N   one row per N characters (Unicode code points; never inside one)
 *   span: DURATION, every: D  one row per time slice of the event's span, starting at
 *                           the event's time: item is { start, end, offset, length }
 *                           and each row carries its slice's start as its time
 * An absent or null `over`, `text` or `span` (and an empty list, an empty
 * text, a zero span) gives no row at all.  Stateless: nothing is stored.
 */
#include <string.h>
#include "stage_window.h"
#include "vm.h"

#define SPLIT_MAX 100000   /* rows from one input row; beyond it the row is dead-lettered */
#define SPAN_MAX  ((int64_t)1000000000000000)   /* ms: about 31,700 years, so times cannot overflow */

/* The output row: the input's fields, then item, index and total (a field
 * the input already has is kept, as the checker types `{ ...input, item }`).
 * built: 0 when making the item ran out of memory (the row is then
 * dead-lettered as such). */
static int emit_piece(struct stage_run *run, struct json_object *row, struct json_object *item, int built,
                      int64_t index, int64_t total, int64_t time_ms) {
  struct json_object *out = built ? json_object_new_object() : NULL;
  int bad = !out;
  if (out) {
    json_object_object_foreach(row, k, v) bad |= stage_set_ref(out, k, v);
  }
  if (!json_object_object_get_ex(out, "item", NULL)) bad |= stage_set_ref(out, "item", item);
  if (!json_object_object_get_ex(out, "index", NULL)) bad |= stage_set(out, "index", json_object_new_int64(index));
  if (!json_object_object_get_ex(out, "total", NULL)) bad |= stage_set(out, "total", json_object_new_int64(total));
  if (bad) {
    json_object_put(out);
    out = NULL;   /* dead-lettered as out of memory */
  }
  int rc = stage_continue(run, out, time_ms);
  json_object_put(out);
  return rc;
}

static int too_many(struct stage_run *run, int64_t total) {
  return stage_fail(run, "this would split the event into %lld rows; at most %d", (long long)total, SPLIT_MAX);
}

static int split_list(struct stage_run *run, struct json_object *row, struct json_object *list, int64_t size) {
  int64_t n = (int64_t)json_object_array_length(list), total = size ? (n + size - 1) / size : n;
  if (total > SPLIT_MAX) return too_many(run, total);
  for (int64_t i = 0; i < total; i++) {
    struct json_object *item;
    int built = 1;
    if (size) {
      item = json_object_new_array();
      built = item != NULL;
      for (int64_t k = i * size; built && k < n && k < (i + 1) * size; k++)
        built = json_object_array_add(item, json_object_get(json_object_array_get_idx(list, (size_t)k))) == 0;
    } else {
      item = json_object_get(json_object_array_get_idx(list, (size_t)i));
    }
    int rc = emit_piece(run, row, item, built, i, total, stage_now(run));
    json_object_put(item);
    if (rc != STAGE_OK) return rc;   /* the store failed, or the budget is spent */
  }
  return 0;
}

/* The byte after the character at `at`: one byte, then its UTF-8
 * continuation bytes (so a stray continuation byte counts as a character
 * and nothing is ever lost, whatever the bytes). */
static size_t next_char(const char *s, size_t len, size_t at) {
  at++;
  while (at < len && ((unsigned char)s[at] & 0xC0) == 0x80) at++;
  return at;
}

static int split_text(struct stage_run *run, struct json_object *row, struct json_object *text, int64_t size) {
  const char *s = json_object_get_string(text);
  size_t len = (size_t)json_object_get_string_len(text);
  int64_t chars = 0;
  for (size_t i = 0; i < len; i = next_char(s, len, i)) chars++;
  int64_t total = (chars + size - 1) / size;
  if (total > SPLIT_MAX) return too_many(run, total);
  size_t at = 0;
  for (int64_t i = 0; i < total; i++) {
    size_t end = at;
    for (int64_t c = 0; c < size && end < len; c++) end = next_char(s, len, end);
    struct json_object *item = json_object_new_string_len(s + at, (int)(end - at));
    int rc = emit_piece(run, row, item, item != NULL, i, total, stage_now(run));
    json_object_put(item);
    if (rc != STAGE_OK) return rc;   /* the store failed, or the budget is spent */
    at = end;
  }
  return 0;
}

static struct json_object *time_value(int64_t ms) {
  char buf[40];
  vm_format_time(ms, buf, sizeof buf);
  return json_object_new_string(buf);
}

static int split_span(struct stage_run *run, struct json_object *row, int64_t span, int64_t every) {
  int64_t total = span / every + (span % every != 0), start = stage_now(run);
  if (total > SPLIT_MAX) return too_many(run, total);
  for (int64_t i = 0; i < total; i++) {
    int64_t offset = i * every, length = span - offset < every ? span - offset : every;
    struct json_object *item = json_object_new_object();
    int built = !(stage_set(item, "start", time_value(start + offset)) | stage_set(item, "end", time_value(start + offset + length)) |
                  stage_set(item, "offset", json_object_new_int64(offset)) | stage_set(item, "length", json_object_new_int64(length)));
    int rc = emit_piece(run, row, item, built, i, total, start + offset);
    json_object_put(item);
    if (rc != STAGE_OK) return rc;   /* the store failed, or the budget is spent */
  }
  return 0;
}

static const char *kind(struct json_object *v) {
  switch (json_object_get_type(v)) {
  case json_type_boolean: return "a bool";
  case json_type_double: return "a float";
  case json_type_int: return "an int";
  case json_type_object: return "an object";
  case json_type_array: return "a list";
  case json_type_string: return "a string";
  default: return "null";
  }
}

static int splitter_process(struct stage_run *run, struct json_object *row) {
  int over = stage_has_arg(run, "over"), text = stage_has_arg(run, "text"), span = stage_has_arg(run, "span");
  if (over + text + span != 1)
    return stage_fail(run, over + text + span ? "give one of `over`, `text` and `span`, not several"
                                              : "nothing to split: give `over` (a list), `text` with `size`, or `span` with `every`");
  int64_t size = 0, every = 0;
  if (window_positive_arg(run, "size", &size) || window_positive_arg(run, "every", &every)) return 0;
  if (span && size) return stage_fail(run, "`size` cuts `over` or `text`; a `span` is cut by `every`");
  if (!span && every) return stage_fail(run, "`every` cuts a `span`; `over` and `text` are cut by `size`");
  if (text && !size) return stage_fail(run, "`text` needs `size`: the number of characters per piece");
  if (span && !every) return stage_fail(run, "`span` needs `every`: the length of a slice");
  const char *name = over ? "over" : text ? "text" : "span";
  struct json_object *v;
  if (stage_arg(run, name, &v) != 0) return 0;
  if (v == VM_MISSING || !v) return 0;   /* absent or null: nothing to split */
  int rc = 0;
  if (over && json_object_is_type(v, json_type_array)) {
    rc = split_list(run, row, v, size);
  } else if (text && json_object_is_type(v, json_type_string)) {
    rc = split_text(run, row, v, size);
  } else if (span && json_object_is_type(v, json_type_int)) {
    int64_t ms = json_object_get_int64(v);
    if (ms < 0 || ms > SPAN_MAX)
      rc = stage_fail(run, "`span` is %lld ms; it must be from 0 to %lld ms", (long long)ms, (long long)SPAN_MAX);
    else
      rc = split_span(run, row, ms, every);
  } else {
    rc = stage_fail(run, "`%s` must be %s, not %s", name, over ? "a list" : text ? "a string" : "a duration", kind(v));
  }
  vm_release(v);
  return rc < 0 ? -1 : 0;
}

/* No close: the splitter keeps no windows. */
const struct native_stage stage_splitter = { "splitter", splitter_process, NULL };
