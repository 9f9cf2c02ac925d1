/* stage_window.h — what counter, aggregator and stitcher share: a window of
 * events per key, closed by a count or a time threshold, kept in the state
 * store as JSON: { "key", "count", "first_time", "last_time", ...stage's own }.
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

/* Reads by/count/after, loads the window and counts this row in it
 * (count, first_time, last_time).  -1 on an error already reported. */
int window_open(struct stage_run *run, struct window_run *w);
/* Stores the window (with its deadline) or, when the count threshold is
 * reached, deletes it and returns 1: the caller then emits it. */
int window_save_or_close(struct stage_run *run, struct window_run *w);
/* The common output fields: key, count, first_time, last_time. */
struct json_object *window_output(struct json_object *window);
void window_done(struct window_run *w);
#endif
