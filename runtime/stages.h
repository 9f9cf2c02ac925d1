/* stages.h — native filters, transformers and views, and what they may use.
 *
 * Every native stage is one struct of callbacks registered in the table of
 * stages.c (the engine never knows a stage by name).  A stage receives rows
 * one at a time, reads its arguments, keeps its state per key in the state
 * store, and passes rows on with stage_continue() zero or more times.
 */
#ifndef EFC_STAGES_H
#define EFC_STAGES_H
#include <json-c/json.h>
#include <stdint.h>
#include "state.h"

struct views_config;
struct stage_run;   /* one invocation of a stage on one row (engine.c) */

/* What a stage and its helpers return.  Every row that enters a stage
 * leaves it as output (stage_continue), as state, or as a dead letter with
 * its reason (stage_fail); only a failing state store stops the host. */
enum stage_status {
  STAGE_FAILED = -1,    /* the state store failed: the host rolls back and stops */
  STAGE_OK = 0,
  STAGE_REPORTED = 1,   /* this row went to the dead letters with its reason: go on */
  STAGE_STOPPED = 2,    /* the work budget of the input event is spent: do no more for it */
};

struct native_stage {
  const char *name;
  /* A row arrives.  Both callbacks return an enum stage_status (negative
   * only when the state store failed). */
  int (*process)(struct stage_run *run, struct json_object *row);
  /* The window stored under `key` closed by time (or at drain): value is its state. */
  int (*close)(struct stage_run *run, const char *key, struct json_object *window);
};

/* The stage named `name`, or NULL. */
const struct native_stage *stage_find(const char *name);

/* ---- what the engine offers a stage ------------------------------------- */

/* Evaluates value argument `name` against the row: a new reference, NULL
 * (JSON null) or VM_MISSING when absent or not given.  -1 on a runtime
 * error (already reported). */
int stage_arg(struct stage_run *run, const char *name, struct json_object **value);
/* Number of ARG_AGGREGATE arguments, and the i-th: output name, function,
 * and its input evaluated against the row (VM_MISSING for count()). */
int stage_aggregate_count(struct stage_run *run);
int stage_aggregate(struct stage_run *run, int i, const char **name, const char **function, struct json_object **input);
/* The state key of this stage for a key value, and the store. */
void stage_state_key(struct stage_run *run, const char *key_json, struct state_key *out);
struct state_store *stage_state(struct stage_run *run);
/* Current time (event time or wall clock), ms since the epoch. */
int64_t stage_now(struct stage_run *run);
/* 1 when the call gives argument `name` (or its parameter has a default),
 * whatever its value for this row; 0 when it was left out. */
int stage_has_arg(struct stage_run *run, const char *name);
/* The declared event the row came from: the event of the rule that matched
 * (e.g. "ScreenCaptured").  NULL when the row does not come from an event
 * (a window closed by time or at drain). */
const char *stage_event_name(struct stage_run *run);
/* The i-th event (from 0) of the `on` list of the flow or route this stage
 * runs in; NULL past the end. */
const char *stage_flow_event(struct stage_run *run, int i);
/* Where the views may read blobs and write indexes: the host's
 * configuration (engine_options.views), NULL when it gives none. */
const struct views_config *stage_views(struct stage_run *run);
/* Passes `row` (borrowed) on to the next stage; time_ms is the event time
 * it carries.  A NULL row (its building ran out of memory) is dead-lettered.  STAGE_OK, STAGE_STOPPED when the input's work budget is
 * spent (a stage that loops stops looping), or STAGE_FAILED. */
int stage_continue(struct stage_run *run, struct json_object *row, int64_t time_ms);
/* Building rows when any json-c allocation may fail.  stage_set sets
 * o.name = v, a new reference (NULL: its allocation failed); stage_set_ref
 * sets a borrowed v (NULL: JSON null); stage_push appends a new reference
 * to array a.  0, or -1 when o (a) or v is NULL or json-c failed; v is then
 * released.  A builder ORs the results and, on -1, drops its row and passes
 * NULL to stage_continue, which dead-letters it as "out of memory". */
int stage_set(struct json_object *o, const char *name, struct json_object *v);
int stage_set_ref(struct json_object *o, const char *name, struct json_object *v);
int stage_push(struct json_object *a, struct json_object *v);
/* Reports a problem with this row to the dead-letter sink (the run goes
 * on).  Returns 0 (STAGE_OK: the problem is handled). */
int stage_fail(struct stage_run *run, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#endif
