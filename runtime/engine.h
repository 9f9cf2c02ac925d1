/* engine.h — runs a compiled application over events: the runtime proper.
 *
 * The engine is what every host shares (efc run, the Lambda bootstrap, the
 * HTTP server): it validates an event against its declared schema, finds
 * the rules it matches (EventBridge semantics, all rules at once), runs the
 * matched flows and routes stage by stage, and sends emitted events back
 * through the rules, as EventBridge delivers them, up to a hop limit.
 * Whatever cannot be processed goes to the dead-letter sink with a reason;
 * the engine itself never stops on a bad event.  The work one input event
 * may cause is bounded (engine_options' budget): past it, the rest of its
 * work is dropped and reported in one dead letter.  Emitted events get
 * ids derived from the input's id (engine_work.h): unique, and the same on
 * a replay.
 *
 * State changes go to the state store given; the host brackets events in
 * transactions (state_begin/state_commit) as it sees fit.
 */
#ifndef EFC_ENGINE_H
#define EFC_ENGINE_H
#include <json-c/json.h>
#include <stdint.h>
#include "image.h"
#include "state.h"

#define ENGINE_MAX_EVENT_BYTES (256 * 1024)   /* EventBridge's PutEvents entry limit */
#define ENGINE_MAX_DEPTH 64                    /* JSON nesting accepted in input */
#define ENGINE_DEFAULT_HOPS 16
/* JSON nesting of a declared event's schema in an image: each object level
 * of an event takes two (`properties`, then the field), so the schema of
 * any event within ENGINE_MAX_DEPTH fits.  The compiler refuses types whose
 * schema would be deeper. */
#define ENGINE_MAX_SCHEMA_DEPTH (2 * ENGINE_MAX_DEPTH + 8)

struct engine_sink {
  void *ctx;
  /* An event a flow emitted, as a full EventBridge envelope (borrowed). */
  int (*emit)(void *ctx, struct json_object *event);
  /* Something that could not be processed: the input line (0 for emitted
   * events), the reason, and the event if it parsed (borrowed, may be NULL). */
  void (*dead_letter)(void *ctx, long line, const char *reason, struct json_object *event);
  /* Optional: one line of --trace output. */
  void (*trace)(void *ctx, const char *text);
};

struct views_config;

struct engine_options {
  int wall_clock;               /* 0: time is the events' `time` (deterministic) */
  int hop_limit;                /* 0: ENGINE_DEFAULT_HOPS */
  const char *account;          /* of emitted events; default "000000000000" */
  const char *region;           /* default "local" */
  const struct views_config *views;   /* where views read blobs and write indexes (views.h;
                                         borrowed); NULL: those views refuse */
  /* The work budget of one input event (or one window closed by time or
   * at drain), with everything it emits, transitively; 0: the default
   * (engine_work.h says why these): */
  uint64_t budget_events;       /* emitted events, 10,000 */
  uint64_t budget_bytes;        /* bytes of emitted events (JSON), 64 MiB */
  uint64_t budget_rows;         /* rows passed on by native stages, 200,000 */
};

struct engine_stats {
  uint64_t events, matched, emitted, dead_lettered, forwarded;   /* matched: input events that matched a rule */
  uint64_t *rule_matches;       /* one per rule (see engine_rule_name) */
  size_t nrules;
};

struct engine;

/* Ownership: on success the engine owns the image (engine_free frees it).
 * On failure it returns NULL with a message in err and has freed nothing of
 * its arguments: the image is still the caller's to free.  Failures: a
 * pattern or schema in the image cannot be used, a stage is unknown to this
 * runtime, out of memory. */
struct engine *engine_new(struct image *image, struct state_store *state, const struct engine_options *opt,
                          const struct engine_sink *sink, char *err, size_t err_size);
void engine_free(struct engine *e);

/* Processes one input event (borrowed) from input line `line`, with
 * everything it emits, transitively.  Returns 0, or -1 only when the state
 * store failed (the host should roll back and stop). */
int engine_event(struct engine *e, struct json_object *event, long line);

/* Reports an input line that is not an event at all (invalid JSON, too
 * large, too deep) to the dead-letter sink, and counts it. */
void engine_reject(struct engine *e, long line, const char *reason);

/* Closes windows whose time threshold is at or before now_ms (event time
 * moves forward with the input; hosts with a wall clock call it on a timer). */
int engine_advance(struct engine *e, int64_t now_ms);

/* Closes every open window (end of input with --drain). */
int engine_drain(struct engine *e);

/* The event-time clock: the latest time of an input event so far (ms; 0
 * before any).  --drain closes a window without a deadline at this time.  A
 * host whose state outlives a run saves it with the state and gives it back
 * to the next run's engine, so a run with no events (or only earlier ones)
 * closes those windows at the same time as one long run would. */
int64_t engine_event_clock(const struct engine *e);
void engine_set_event_clock(struct engine *e, int64_t ms);

const struct engine_stats *engine_stats(const struct engine *e);
const char *engine_rule_name(const struct engine *e, size_t rule);
#endif
