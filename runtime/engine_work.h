/* engine_work.h — one unit of the engine's work: an input event, or a
 * window closed by time or at drain, with everything it emits.
 *
 * A unit owns two facts (design.md, decision 13 and "exactly once"):
 *
 *  Its budget.  One unit may emit at most `events` events of at most
 *  `bytes` bytes in all, and pass at most `rows` rows between stages.  The
 *  hop limit bounds how deep a chain of emitted events goes; the budget
 *  bounds how broad it is.  Past it the unit is "spent": the engine stops
 *  its work and reports it once (work_report), counting what was refused.
 *
 *  The ids of what it emits.  An emitted event's id is a name-based UUID
 *  (version 5, SHA-1) of the unit's name, the flow that emits it and the
 *  emission's index in the unit: different inputs never share an id, and a
 *  replay (or a redelivery of the same event id) emits the same ids.  The
 *  name of an input event is its `id`; of an input without one, its line
 *  and text; of a window, its flow, stage, key and close time.
 */
#ifndef EFC_ENGINE_WORK_H
#define EFC_ENGINE_WORK_H
#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>
#include <uuid/uuid.h>

/* Defaults per unit (engine.h's engine_options can change them).
 *  events  10,000: one second of PutEvents at its default quota in the
 *          largest regions; no example comes within 1% of it.
 *  bytes   64 MiB: an event's output is kept until its state commits
 *          (AWS phase), so it must fit in half of a 128 MB Lambda.
 *  rows    200,000: twice the rows one splitter may make, so a full
 *          split still passes one more stage, while a chain of stages
 *          that fans out without emitting ends in about two seconds
 *          (a stateful stage takes some 10 us a row). */
#define WORK_DEFAULT_EVENTS 10000
#define WORK_DEFAULT_BYTES  (64u * 1024 * 1024)
#define WORK_DEFAULT_ROWS   200000

struct work_budget {
  uint64_t events, bytes, rows;
};

struct work {
  struct work_budget budget;
  struct json_object *input;     /* the input event (borrowed), or NULL for a window */
  long line;                     /* its input line */
  uuid_t name;                   /* the namespace of the ids it emits */
  int named;                     /* name is set (an input's is made at its first emission) */
  uint64_t emissions;            /* the index of the next emitted id */
  uint64_t events, bytes, rows;  /* spent so far */
  uint64_t refused;              /* emissions refused once spent */
  uint64_t unrouted;             /* emitted events not routed once spent */
  const char *spent;             /* NULL, or which budget ran out: "events", "bytes", "rows" */
};

/* A unit for an input event (borrowed for the unit's life). */
void work_start_input(struct work *w, const struct work_budget *budget, struct json_object *input, long line);
/* A unit for the window (flow, stage, key) closed at time at_ms. */
void work_start_window(struct work *w, const struct work_budget *budget, const char *flow, const char *stage,
                       const char *key, int64_t at_ms);

/* Charges one emitted event of `bytes`: 0, or -1 when the unit is (now)
 * spent and the event must not be emitted. */
int work_charge_event(struct work *w, size_t bytes);
/* Charges one row passed between stages: 0, or -1 when spent. */
int work_charge_row(struct work *w);

/* The id of the unit's next emitted event, from flow `flow`: a UUID in
 * text form (37 bytes with the NUL).  -1 when out of memory. */
int work_next_id(struct work *w, const char *flow, char out[static 37]);

/* When the unit is spent: the one dead-letter reason saying what ran out
 * and what was not done (returns 1); 0 when it is within its budget. */
int work_report(const struct work *w, char *buf, size_t size);

/* The size of v written as compact JSON: exact for everything but
 * non-integer numbers (at most 24 bytes each); stops counting past limit. */
size_t work_json_size(struct json_object *v, size_t limit);
#endif
