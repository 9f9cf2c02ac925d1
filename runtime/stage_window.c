/* stage_window.c — keyed windows with count and time thresholds. */
#include <stdlib.h>
#include <string.h>
#include "stage_window.h"
#include "vm.h"

int64_t window_int(struct json_object *o, const char *name) {
  struct json_object *v;
  return json_object_object_get_ex(o, name, &v) ? json_object_get_int64(v) : 0;
}

/* An integer (or duration) argument of at least `min`; 0 when not given. */
static int int_arg(struct stage_run *run, const char *name, int64_t min, int64_t *out) {
  struct json_object *v;
  *out = 0;
  if (stage_arg(run, name, &v) != 0) return STAGE_REPORTED;
  if (v == VM_MISSING || !v) return STAGE_OK;
  int ok = json_object_is_type(v, json_type_int) && json_object_get_int64(v) >= min;
  if (ok) *out = json_object_get_int64(v);
  vm_release(v);
  if (!ok) return stage_fail(run, min > 0 ? "`%s` must be a positive integer" : "`%s` must be 0 or a positive integer", name), STAGE_REPORTED;
  return STAGE_OK;
}

int window_positive_arg(struct stage_run *run, const char *name, int64_t *out) { return int_arg(run, name, 1, out); }
int window_nonnegative_arg(struct stage_run *run, const char *name, int64_t *out) { return int_arg(run, name, 0, out); }

/* A window with no events yet (NULL when out of memory). */
static struct json_object *empty_window(struct json_object *key) {
  struct json_object *w = json_object_new_object(), *count = json_object_new_int64(0);
  if (!w || !count || json_object_object_add(w, "count", count) != 0) {
    json_object_put(w);
    json_object_put(count);
    return NULL;
  }
  if (json_object_object_add(w, "key", json_object_get(key)) != 0) {
    json_object_put(key);
    json_object_put(w);
    return NULL;
  }
  return w;
}

int window_key(struct stage_run *run, struct json_object **key, char **key_json) {
  struct json_object *by;
  *key = NULL;
  *key_json = NULL;
  if (stage_arg(run, "by", &by) != 0) return STAGE_REPORTED;
  *key = by == VM_MISSING ? NULL : by;
  const char *text = *key ? json_object_to_json_string_ext(*key, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE) : "null";
  if (!text || !(*key_json = strdup(text))) return stage_fail(run, "out of memory"), STAGE_REPORTED;
  return STAGE_OK;
}

int window_load(struct stage_run *run, struct window_run *w) {
  memset(w, 0, sizeof *w);
  int rc = window_key(run, &w->key, &w->key_json);
  if (rc != STAGE_OK) return rc;
  struct state_key k;
  stage_state_key(run, w->key_json, &k);
  char *text = NULL;
  enum state_status s = state_get(stage_state(run), &k, &text, &w->version, NULL);
  if (s == STATE_OK) {
    w->window = json_tokener_parse(text);
    free(text);
  } else if (s == STATE_INVALID) {
    /* The store refuses the key itself (too long, not UTF-8): this row
     * cannot be counted, and says why; the next one may well be. */
    return stage_fail(run, "the `by` key cannot be kept in the state: %s", state_error(stage_state(run))), STAGE_REPORTED;
  } else if (s != STATE_NOT_FOUND) {
    return STAGE_FAILED;
  }
  if (!w->window || !json_object_is_type(w->window, json_type_object)) {
    json_object_put(w->window);
    /* A stored value that is not a window is replaced: keep its version for the write. */
    if (!(w->window = empty_window(w->key))) return stage_fail(run, "out of memory"), STAGE_REPORTED;
  }
  return STAGE_OK;
}

void window_absorb(struct json_object *into, struct json_object *from) {
  int64_t n = window_int(into, "count"), m = window_int(from, "count");
  if (m == 0) return;
  if (n == 0 || window_int(from, "first_time") < window_int(into, "first_time"))
    json_object_object_add(into, "first_time", json_object_new_int64(window_int(from, "first_time")));
  if (n == 0 || window_int(from, "last_time") > window_int(into, "last_time"))
    json_object_object_add(into, "last_time", json_object_new_int64(window_int(from, "last_time")));
  json_object_object_add(into, "count", json_object_new_int64(n + m));
}

int window_distinct_add(struct json_object *values, struct json_object *value, size_t max) {
  size_t len = json_object_array_length(values);
  for (size_t i = 0; i < len; i++)
    if (vm_equal(json_object_array_get_idx(values, i), value)) return 0;
  if (len >= max) return 0;
  json_object_array_add(values, json_object_get(value));
  return 1;
}

void window_add(struct stage_run *run, struct window_run *w) {
  int64_t now = stage_now(run), count = window_int(w->window, "count");
  struct json_object *v;
  if (count == 0 || !json_object_object_get_ex(w->window, "first_time", &v) || now < json_object_get_int64(v))
    json_object_object_add(w->window, "first_time", json_object_new_int64(now));
  if (count == 0 || !json_object_object_get_ex(w->window, "last_time", &v) || now > json_object_get_int64(v))
    json_object_object_add(w->window, "last_time", json_object_new_int64(now));
  if (count == 0) json_object_object_add(w->window, "opened", json_object_new_int64(now));
  json_object_object_add(w->window, "count", json_object_new_int64(count + 1));
}

int window_open(struct stage_run *run, struct window_run *w) {
  int rc = window_load(run, w);
  if (rc != STAGE_OK) return rc;
  if (window_positive_arg(run, "count", &w->count_limit) || window_positive_arg(run, "after", &w->after_ms)) return STAGE_REPORTED;
  if (!w->count_limit && !w->after_ms) return stage_fail(run, "needs a threshold: `count`, `after`, or both"), STAGE_REPORTED;
  window_add(run, w);
  return STAGE_OK;
}

/* The time the window's deadline counts from: when it opened (windows
 * stored before `opened` existed: their first event). */
static int64_t opened(struct json_object *window) {
  struct json_object *v;
  return json_object_object_get_ex(window, "opened", &v) ? json_object_get_int64(v) : window_int(window, "first_time");
}

int window_save_or_close(struct stage_run *run, struct window_run *w) {
  struct state_key k;
  stage_state_key(run, w->key_json, &k);
  if (w->count_limit && window_int(w->window, "count") >= w->count_limit) {
    if (w->version && state_delete(stage_state(run), &k, w->version) != STATE_OK) return -1;
    return 1;
  }
  int64_t deadline = w->after_ms ? opened(w->window) + w->after_ms : 0;
  const char *text = json_object_to_json_string_ext(w->window, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
  enum state_status s = state_put(stage_state(run), &k, text, deadline, w->version ? w->version : 0, NULL);
  if (s == STATE_INVALID) return stage_fail(run, "the window is too large to keep (%s)", state_error(stage_state(run))), 0;
  return s == STATE_OK ? 0 : -1;
}

int window_restart(struct stage_run *run, struct window_run *w) {
  struct state_key k;
  stage_state_key(run, w->key_json, &k);
  if (w->version && state_delete(stage_state(run), &k, w->version) != STATE_OK) return STAGE_FAILED;
  w->version = 0;
  json_object_put(w->window);
  if (!(w->window = empty_window(w->key))) return stage_fail(run, "out of memory"), STAGE_REPORTED;
  return STAGE_OK;
}

struct json_object *window_time(int64_t ms) {
  char buf[40];
  vm_format_time(ms, buf, sizeof buf);
  return json_object_new_string(buf);
}

struct json_object *window_output(struct json_object *window) {
  struct json_object *out = json_object_new_object(), *key = NULL;
  json_object_object_get_ex(window, "key", &key);
  if (stage_set_ref(out, "key", key) | stage_set(out, "count", json_object_new_int64(window_int(window, "count"))) |
      stage_set(out, "first_time", window_time(window_int(window, "first_time"))) |
      stage_set(out, "last_time", window_time(window_int(window, "last_time")))) {
    json_object_put(out);
    return NULL;
  }
  return out;
}

void window_done(struct window_run *w) {
  vm_release(w->key);
  free(w->key_json);
  json_object_put(w->window);
  memset(w, 0, sizeof *w);
}
