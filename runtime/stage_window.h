/* stage_window.h — what counter, aggregator, stitcher, combiner and
 * intervals share: a window of events per key, closed by a count or a time
 * threshold, kept in the state store as JSON:
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

/* Reads `by`: its value (owned; NULL when absent) and its compact JSON text,
 * the state key (owned, "null" when absent). */
int window_key(struct stage_run *run, struct json_object **key, char **key_json);
/* Reads `by` and loads the window of that key, or makes an empty one
 * (count 0).  A key the store refuses is STAGE_REPORTED, not a loss. */
int window_load(struct stage_run *run, struct window_run *w);
/* Reads the positive (or non-negative) integer or duration argument `name`
 * into *out (0 when not given). */
int window_positive_arg(struct stage_run *run, const char *name, int64_t *out);
int window_nonnegative_arg(struct stage_run *run, const char *name, int64_t *out);
/* Counts this row in the window: count, first_time, last_time (and opened
 * when it is the first). */
void window_add(struct stage_run *run, struct window_run *w);
/* Counts the events of window `from` in window `into`: count, first_time,
 * last_time (for a stage that merges windows). */
void window_absorb(struct json_object *into, struct json_object *from);
/* Appends value (borrowed) to the array `values` unless an equal value is
 * there or it holds `max` values already; 1 when it was added. */
int window_distinct_add(struct json_object *values, struct json_object *value, size_t max);
/* window_load, the `count`/`after` thresholds (at least one is required),
 * then window_add. */
int window_open(struct stage_run *run, struct window_run *w);
/* Stores the window (with its deadline) or, when the count threshold is
 * reached, deletes it and returns 1: the caller then emits it.  0 when
 * stored (or too large to keep: reported), -1 when the store failed. */
int window_save_or_close(struct stage_run *run, struct window_run *w);
/* Deletes the stored window (if any) and starts an empty one in its place,
 * for a stage that closes a window for a reason of its own (the stitcher's
 * size bound).  The caller has taken what it needed from w->window. */
int window_restart(struct stage_run *run, struct window_run *w);
/* The common output fields: key, count, first_time, last_time (NULL when
 * out of memory: stage_continue dead-letters a NULL row). */
struct json_object *window_output(struct json_object *window);
/* A time (ms since the epoch) as the RFC 3339 string rows carry (new reference). */
struct json_object *window_time(int64_t ms);
/* An integer member of a window (0 when absent). */
int64_t window_int(struct json_object *window, const char *name);
void window_done(struct window_run *w);
#endif
