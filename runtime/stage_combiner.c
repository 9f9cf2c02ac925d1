/* stage_combiner.c — `combiner`: keeps the latest event of each type per
 * key until one of every event type of the flow's `on` list is there, then
 * emits them as one row:
 *   { key, complete: true, EventA: {...}, EventB: {...} }
 * When `within` passes first (counted from the first event of the
 * combination), or at the end of a run with --drain, it emits what it has
 * with complete: false (the missing events' fields absent).
 * Duplicates: a second event of a type already held replaces it, unless it
 * is older (by event time) than the one held: the combination holds the
 * newest of each type.  Ties go to the later arrival.
 *
 * Window state: { key, count, first_time, last_time, opened,
 *                 "parts": { "EventA": [time_ms, row], ... } }
 */
#include <string.h>
#include "stage_window.h"
#include "vm.h"

/* The emitted row; NULL when out of memory. */
static struct json_object *result(struct stage_run *run, struct json_object *window, int complete) {
  struct json_object *out = json_object_new_object(), *key = NULL, *parts = NULL;
  json_object_object_get_ex(window, "key", &key);
  int bad = stage_set_ref(out, "key", key) | stage_set(out, "complete", json_object_new_boolean(complete));
  json_object_object_get_ex(window, "parts", &parts);
  const char *name;
  for (int i = 0; !bad && (name = stage_flow_event(run, i)) != NULL; i++) {
    struct json_object *part;
    if (parts && json_object_object_get_ex(parts, name, &part) && json_object_is_type(part, json_type_array))
      bad |= stage_set_ref(out, name, json_object_array_get_idx(part, 1));
  }
  if (bad) {
    json_object_put(out);
    return NULL;
  }
  return out;
}

static int emit(struct stage_run *run, struct json_object *window, int complete) {
  struct json_object *out = result(run, window, complete);
  int rc = stage_continue(run, out, stage_now(run));
  json_object_put(out);
  return rc;
}

static int combiner_process(struct stage_run *run, struct json_object *row) {
  const char *event = stage_event_name(run), *name;
  int known = 0;
  for (int i = 0; event && (name = stage_flow_event(run, i)) != NULL; i++) known |= strcmp(name, event) == 0;
  if (!known) return stage_fail(run, "the row does not come from one of the events the flow listens to");
  struct window_run w;
  int rc = window_load(run, &w);
  if (rc == STAGE_OK) rc = window_positive_arg(run, "within", &w.after_ms);
  if (rc != STAGE_OK) {
    window_done(&w);
    return rc < 0 ? STAGE_FAILED : STAGE_OK;
  }
  window_add(run, &w);
  struct json_object *parts, *held;
  if (!json_object_object_get_ex(w.window, "parts", &parts) || !json_object_is_type(parts, json_type_object)) {
    parts = json_object_new_object();
    json_object_object_add(w.window, "parts", parts);
  }
  int64_t now = stage_now(run);
  if (!json_object_object_get_ex(parts, event, &held) || !json_object_is_type(held, json_type_array) ||
      json_object_get_int64(json_object_array_get_idx(held, 0)) <= now) {
    struct json_object *part = json_object_new_array();
    int bad = stage_push(part, json_object_new_int64(now)) | stage_push(part, json_object_get(row));
    if (bad) json_object_put(part);
    if (bad || stage_set(parts, event, part) != 0) {   /* stage_set releases part when it fails */
      window_done(&w);
      return stage_fail(run, "out of memory"), STAGE_OK;
    }
  }
  int complete = 1;
  for (int i = 0; complete && (name = stage_flow_event(run, i)) != NULL; i++)
    complete = json_object_object_get_ex(parts, name, NULL);
  if (complete) {
    struct state_key k;
    stage_state_key(run, w.key_json, &k);
    rc = w.version && state_delete(stage_state(run), &k, w.version) != STATE_OK ? -1 : emit(run, w.window, 1);
  } else {
    rc = window_save_or_close(run, &w);   /* no count limit: it stores, with the `within` deadline */
  }
  window_done(&w);
  return rc < 0 ? STAGE_FAILED : STAGE_OK;
}

static int combiner_close(struct stage_run *run, const char *key, struct json_object *window) {
  (void)key;
  return emit(run, window, 0);
}

const struct native_stage stage_combiner = { "combiner", combiner_process, combiner_close };
