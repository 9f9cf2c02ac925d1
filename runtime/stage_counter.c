/* stage_counter.c — `counter`: drops events until a count or time
 * threshold, then emits { key, count, first_time, last_time, last }. */
#include "stage_window.h"
#include "vm.h"

static int emit(struct stage_run *run, struct json_object *window, int64_t at) {
  struct json_object *out = window_output(window), *last = NULL;
  json_object_object_get_ex(window, "last", &last);
  if (stage_set_ref(out, "last", last) != 0) {
    json_object_put(out);
    out = NULL;   /* dead-lettered as out of memory */
  }
  int rc = stage_continue(run, out, at);
  json_object_put(out);
  return rc;
}

static int counter_process(struct stage_run *run, struct json_object *row) {
  struct window_run w;
  int rc = window_open(run, &w);
  if (rc == STAGE_OK) {
    json_object_object_add(w.window, "last", json_object_get(row));
    rc = window_save_or_close(run, &w);
    if (rc == 1) rc = emit(run, w.window, stage_now(run));
  }
  window_done(&w);
  return rc < 0 ? STAGE_FAILED : STAGE_OK;
}

static int counter_close(struct stage_run *run, const char *key, struct json_object *window) {
  (void)key;
  return emit(run, window, stage_now(run));
}

const struct native_stage stage_counter = { "counter", counter_process, counter_close };
