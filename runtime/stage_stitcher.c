/* stage_stitcher.c — `stitcher`: keeps the text content of each event per
 * key until a count or time threshold, then emits the pieces stitched
 * together in event-time order:
 *   { key, count, first_time, last_time, content }
 *
 * The window keeps the pieces in arrival order, each with its event time:
 *   "pieces": [[time_ms, "text"], ...], "bytes": N, "sep": "..."
 * and sorts them (stably: equal times keep their arrival order) when it
 * closes.  `bytes` is the size the pieces take in the JSON of the emitted
 * event (escapes included); with the separators it is kept at or under
 * `max_bytes`, so the emitted event fits EventBridge's 256 KB: a piece that
 * would go over closes the window early (it is emitted as it is) and opens
 * the next one; a single piece over `max_bytes` is dead-lettered.
 *
 * Pieces are text today.  A piece is an array so that a later version can
 * keep a blob reference instead ([time_ms, null, "s3://..."]) without
 * changing what is stored for text.
 */
#include <stdlib.h>
#include <string.h>
#include "stage_window.h"
#include "vm.h"

#define STITCH_DEFAULT_BYTES (192 * 1024)
#define STITCH_MAX_BYTES     (240 * 1024)   /* leaves 16 KiB of the 256 KiB for envelope, key and times */
#define STATE_BUDGET         (STATE_MAX_VALUE - 4096)
#define PIECE_OVERHEAD       28             /* [time_ms,"..."], in the stored window */

/* The size of a string in JSON, without its quotes. */
static size_t json_size(struct json_object *s) {
  return strlen(json_object_to_json_string_ext(s, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)) - 2;
}

struct piece_ref {
  int64_t time;
  size_t arrival;
  struct json_object *text;
};

static int by_time(const void *a, const void *b) {
  const struct piece_ref *x = a, *y = b;
  if (x->time != y->time) return x->time < y->time ? -1 : 1;
  return x->arrival < y->arrival ? -1 : x->arrival > y->arrival;
}

/* The stitched content of a window: its pieces in event-time order. */
static struct json_object *stitched(struct json_object *window) {
  struct json_object *pieces = NULL, *sepv = NULL;
  json_object_object_get_ex(window, "pieces", &pieces);
  json_object_object_get_ex(window, "sep", &sepv);
  const char *sep = sepv && json_object_is_type(sepv, json_type_string) ? json_object_get_string(sepv) : "";
  size_t seplen = sepv && json_object_is_type(sepv, json_type_string) ? (size_t)json_object_get_string_len(sepv) : 0;
  size_t n = pieces && json_object_is_type(pieces, json_type_array) ? json_object_array_length(pieces) : 0, used = 0;
  struct piece_ref *refs = calloc(n + 1, sizeof *refs);
  if (!refs) return NULL;
  size_t total = 0;
  for (size_t i = 0; i < n; i++) {
    struct json_object *p = json_object_array_get_idx(pieces, i);
    struct json_object *t = json_object_array_get_idx(p, 0), *s = json_object_array_get_idx(p, 1);
    if (!s || !json_object_is_type(s, json_type_string)) continue;
    refs[used++] = (struct piece_ref){ json_object_get_int64(t), i, s };
    total += (size_t)json_object_get_string_len(s) + seplen;
  }
  qsort(refs, used, sizeof *refs, by_time);
  char *buf = malloc(total + 1), *at = buf;
  if (!buf) {
    free(refs);
    return NULL;
  }
  for (size_t i = 0; i < used; i++) {
    if (i) {
      memcpy(at, sep, seplen);
      at += seplen;
    }
    size_t len = (size_t)json_object_get_string_len(refs[i].text);
    memcpy(at, json_object_get_string(refs[i].text), len);
    at += len;
  }
  struct json_object *out = json_object_new_string_len(buf, (int)(at - buf));
  free(buf);
  free(refs);
  return out;
}

static int emit(struct stage_run *run, struct json_object *window) {
  struct json_object *out = window_output(window), *content = out ? stitched(window) : NULL;
  if (!content || json_object_object_add(out, "content", content) != 0) {
    json_object_put(out);
    json_object_put(content);
    return stage_fail(run, "out of memory"), STAGE_REPORTED;
  }
  int rc = stage_continue(run, out, stage_now(run));
  json_object_put(out);
  return rc;
}

/* A string argument; `fallback` when it is not given.  -1 when it is not a string. */
static int string_arg(struct stage_run *run, const char *name, const char *fallback, struct json_object **out) {
  struct json_object *v;
  *out = NULL;
  if (stage_arg(run, name, &v) != 0) return -1;
  if (v == VM_MISSING || !v) {
    *out = fallback ? json_object_new_string(fallback) : NULL;
    return 0;
  }
  if (!json_object_is_type(v, json_type_string)) {
    vm_release(v);
    return stage_fail(run, "`%s` must be a string", name), -1;
  }
  *out = v;
  return 0;
}

static int stitcher_process(struct stage_run *run, struct json_object *row) {
  (void)row;
  struct json_object *content = NULL, *sep = NULL;
  int64_t max_bytes = 0;
  struct window_run w = { 0 };
  int rc = 0;
  if (string_arg(run, "content", NULL, &content) || string_arg(run, "separator", "", &sep) ||
      window_positive_arg(run, "max_bytes", &max_bytes))
    goto done;
  if (!max_bytes) max_bytes = STITCH_DEFAULT_BYTES;
  if (max_bytes > STITCH_MAX_BYTES) {
    stage_fail(run, "`max_bytes` is %lld; at most %d, so that the stitched event fits EventBridge's 256 KB",
               (long long)max_bytes, STITCH_MAX_BYTES);
    goto done;
  }
  size_t piece = content ? json_size(content) : 0, seplen = json_size(sep);
  if (content && piece > (size_t)max_bytes) {
    stage_fail(run, "the content is %zu bytes, more than `max_bytes` (%lld): it cannot be stitched into an event",
               piece, (long long)max_bytes);
    goto done;
  }
  if ((rc = window_load(run, &w)) != STAGE_OK || window_positive_arg(run, "count", &w.count_limit) ||
      window_positive_arg(run, "after", &w.after_ms))
    goto done;
  if (!w.count_limit && !w.after_ms) {
    stage_fail(run, "needs a threshold: `count`, `after`, or both");
    goto done;
  }
  struct json_object *pieces = NULL;
  if (content) {
    json_object_object_get_ex(w.window, "pieces", &pieces);
    size_t n = pieces && json_object_is_type(pieces, json_type_array) ? json_object_array_length(pieces) : 0;
    size_t bytes = (size_t)window_int(w.window, "bytes");
    size_t content_after = bytes + piece + n * seplen;   /* n + 1 pieces: n separators */
    size_t state_after = bytes + piece + (n + 1) * PIECE_OVERHEAD + seplen + strlen(w.key_json);
    if (n > 0 && (content_after > (size_t)max_bytes || state_after > STATE_BUDGET)) {
      /* The piece does not fit: the window closes now, as it is, and the piece opens the next one. */
      if ((rc = emit(run, w.window)) != STAGE_OK || (rc = window_restart(run, &w)) != STAGE_OK) goto done;
    }
  }
  window_add(run, &w);
  if (content) {
    if (!json_object_object_get_ex(w.window, "pieces", &pieces) || !json_object_is_type(pieces, json_type_array)) {
      pieces = json_object_new_array();
      if (stage_set(w.window, "pieces", pieces) != 0) pieces = NULL;
    }
    struct json_object *p = json_object_new_array();
    int bad = stage_push(p, json_object_new_int64(stage_now(run))) | stage_push(p, json_object_get(content));
    if (bad) json_object_put(p);
    if (bad || stage_push(pieces, p) != 0 ||   /* stage_push releases p when it fails */
        stage_set(w.window, "bytes", json_object_new_int64(window_int(w.window, "bytes") + (int64_t)piece)) != 0) {
      stage_fail(run, "out of memory");   /* the window is not stored: the piece is only here */
      goto done;
    }
  }
  json_object_object_add(w.window, "sep", json_object_get(sep));
  rc = window_save_or_close(run, &w);
  if (rc == 1) rc = emit(run, w.window);
done:
  vm_release(content);
  vm_release(sep);
  window_done(&w);
  return rc < 0 ? STAGE_FAILED : STAGE_OK;
}

static int stitcher_close(struct stage_run *run, const char *key, struct json_object *window) {
  (void)key;
  return emit(run, window);
}

const struct native_stage stage_stitcher = { "stitcher", stitcher_process, stitcher_close };
