/* stage_window.h — what counter, aggregator, stitcher and combiner share: a
 * window of events per key, closed by a count or a time threshold, kept in
 * the state store as JSON:
 *   { "key", "count", "first_time", "last_time", "opened", ...stage's own }
 * first_time and last_time are the earliest and latest event time of the
 * events in the window (so out-of-order events do not make them run
 * backwards); opened is the time of the event that opened the window, and
 * the time threshold counts from it: deadline = opened + after.
 */
#ifndef EFC_STAGE_WINDOW_H
#define EFC_STAGE_WINDOW_H
#include "stages.h"

struct window_run {
  struct json_object *key;      /* the `by` value (owned; JSON null when not given) */
  char *key_json;               /* its JSON text: the state key (owned) */
  int64_t count_limit;          /* 0: none */
  int64_t after_ms;             /* 0: none */
  struct json_object *window;   /* the state (owned), a new one if there was none */
  int64_t version;              /* of the stored window; 0 if new */
};

/* Reads `by` and loads the window of that key, or makes an empty one
 * (count 0).  -1 on an error already reported. */
int window_load(struct stage_run *run, struct window_run *w);
/* Reads the positive integer (or duration) argument `name` into *out (0 when
 * not given).  -1 on an error already reported. */
int window_positive_arg(struct stage_run *run, const char *name, int64_t *out);
/* Counts this row in the window: count, first_time, last_time (and opened
 * when it is the first). */
void window_add(struct stage_run *run, struct window_run *w);
/* window_load, the `count`/`after` thresholds (at least one is required),
 * then window_add.  -1 on an error already reported. */
int window_open(struct stage_run *run, struct window_run *w);
/* Stores the window (with its deadline) or, when the count threshold is
 * reached, deletes it and returns 1: the caller then emits it. */
int window_save_or_close(struct stage_run *run, struct window_run *w);
/* Deletes the stored window (if any) and starts an empty one in its place,
 * for a stage that closes a window for a reason of its own (the stitcher's
 * size bound).  The caller has taken what it needed from w->window. */
int window_restart(struct stage_run *run, struct window_run *w);
/* The common output fields: key, count, first_time, last_time. */
struct json_object *window_output(struct json_object *window);
/* An integer member of a window (0 when absent). */
int64_t window_int(struct json_object *window, const char *name);
void window_done(struct window_run *w);
#endif
