/* engine.c — routing, pipelines, emission and windows (see engine.h). */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "engine.h"
#include "engine_work.h"
#include "match.h"
#include "schema.h"
#include "stages.h"
#include "vm.h"

struct declared_event {
  const char *source, *detail_type, *name;
  struct schema *schema;
};

struct queued {
  struct json_object *event;
  int hop;
  size_t unit;                   /* the unit of work (index in units) it belongs to */
};

struct engine {
  struct image *img;
  struct state_store *state;
  struct engine_options opt;
  struct engine_sink sink;
  struct match_set *rules;
  struct match_scratch *scratch;
  uint32_t *rule_entry;          /* rule id -> entry index */
  char **rule_names;
  const char **rule_event;       /* rule id -> the event it matches (entry's events[pattern]) */
  uint32_t *matched;             /* scratch for match_event */
  struct declared_event *events;
  uint32_t *event_slots;         /* open addressing on (source, detail-type): index in events + 1 */
  size_t event_slots_cap;        /* a power of two, at least twice the events */
  const struct native_stage ***natives;   /* [entry][stage] for CALL stages */
  struct engine_stats stats;
  struct queued *queue;
  size_t qhead, qlen, qcap;
  long line;                     /* input line being processed */
  int64_t last_time;             /* latest event time seen: when --drain closes open windows */
  struct work_budget budget;     /* of every unit */
  struct work *units;            /* a stack: the input event, windows it closes, windows a drain closes */
  size_t nunits, units_cap, unit;   /* unit: the one running */
  const char *event_name;        /* the event of the rule being run (stage_event_name); NULL otherwise */
  int has_windows;               /* some stage can close a window by time */
  int advanced;                  /* engine_advance has looked at the state once */
};

struct stage_run {
  struct engine *e;
  uint32_t entry;
  uint16_t stage;
  struct json_object *row, *envelope;
  int64_t now;
  int hop;
  char label[300];               /* the stage part of its state keys */
};

static int queue_release(struct engine *e);

static const char *kstr(const struct image *img, uint16_t k) { return img->consts[k].as.string.bytes; }

static uint64_t fnv(uint64_t h, const void *data, size_t n) {
  const unsigned char *p = data;
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

/* The declared events are found by (source, detail-type) for every event
 * routed, so they have their own small hash table. */
static size_t event_slot_hash(const char *source, const char *detail_type) {
  uint64_t h = fnv(1469598103934665603ull, source, strlen(source) + 1);   /* the NUL separates the two */
  return (size_t)fnv(h, detail_type, strlen(detail_type));
}

/* The slot of (source, detail-type): the one holding it, or the empty one
 * where it would go. */
static size_t event_slot(const struct engine *e, const char *source, const char *detail_type) {
  size_t mask = e->event_slots_cap - 1, k = event_slot_hash(source, detail_type) & mask;
  for (; e->event_slots[k]; k = (k + 1) & mask) {
    const struct declared_event *d = &e->events[e->event_slots[k] - 1];
    if (strcmp(d->source, source) == 0 && strcmp(d->detail_type, detail_type) == 0) break;
  }
  return k;
}

static void dead_letter(struct engine *e, const char *reason, struct json_object *event) {
  e->stats.dead_lettered++;
  if (e->sink.dead_letter) e->sink.dead_letter(e->sink.ctx, e->line, reason, event);
}

static void trace(struct engine *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void trace(struct engine *e, const char *fmt, ...) {
  if (!e->sink.trace) return;
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  e->sink.trace(e->sink.ctx, buf);
}

/* ---- setup -------------------------------------------------------------- */

/* Frees what engine_new built; the image stays the caller's. */
static void engine_release(struct engine *e) {
  match_set_free(e->rules);
  match_scratch_free(e->scratch);
  for (size_t i = 0; i < e->stats.nrules; i++) free(e->rule_names[i]);
  free(e->rule_names);
  free(e->rule_event);
  free(e->rule_entry);
  free(e->matched);
  free(e->stats.rule_matches);
  for (uint32_t i = 0; e->events && i < e->img->nevents; i++) schema_free(e->events[i].schema);
  free(e->events);
  free(e->event_slots);
  for (uint32_t i = 0; e->natives && i < e->img->nentries; i++) free(e->natives[i]);
  free(e->natives);
  queue_release(e);
  free(e->queue);
  free(e->units);
  free(e);
}

/* engine_new's one way out on failure: the message, and everything but the image freed. */
static struct engine *setup_failed(struct engine *e, char *err, size_t err_size, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static struct engine *setup_failed(struct engine *e, char *err, size_t err_size, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, err_size, fmt, ap);
  va_end(ap);
  engine_release(e);
  return NULL;
}

/* The compiled JSON Schema of a declared event.  The text is parsed with a
 * depth that admits the schema of any event the engine accepts (json-c's
 * default of 32 does not), and a deeper one is reported as such. */
static struct schema *event_schema(const char *text, const char *name, char *err, size_t err_size) {
  struct json_tokener *tok = json_tokener_new_ex(ENGINE_MAX_SCHEMA_DEPTH);
  if (!tok) {
    snprintf(err, err_size, "out of memory");
    return NULL;
  }
  struct json_object *json = json_tokener_parse_ex(tok, text, (int)strlen(text));
  enum json_tokener_error jerr = json_tokener_get_error(tok);
  json_tokener_free(tok);
  struct schema *schema = json ? schema_compile(json) : NULL;
  json_object_put(json);
  if (jerr == json_tokener_error_depth)
    snprintf(err, err_size, "the schema of event `%s` in the image is nested deeper than %d levels, "
             "more than this runtime accepts", name, ENGINE_MAX_SCHEMA_DEPTH);
  else if (!json)
    snprintf(err, err_size, "the schema of event `%s` in the image is not JSON", name);
  else if (!schema)
    snprintf(err, err_size, "the schema of event `%s` in the image cannot be used: not a JSON Schema this runtime "
             "checks, or a type nested too deep (out of memory?)", name);
  return schema;
}

struct engine *engine_new(struct image *img, struct state_store *state, const struct engine_options *opt,
                          const struct engine_sink *sink, char *err, size_t err_size) {
  struct engine *e = calloc(1, sizeof *e);
  if (!e) {
    snprintf(err, err_size, "out of memory");
    return NULL;
  }
  e->img = img;
  e->state = state;
  if (opt) e->opt = *opt;
  if (!e->opt.hop_limit) e->opt.hop_limit = ENGINE_DEFAULT_HOPS;
  if (!e->opt.account) e->opt.account = "000000000000";
  if (!e->opt.region) e->opt.region = "local";
  e->budget = (struct work_budget){ e->opt.budget_events ? e->opt.budget_events : WORK_DEFAULT_EVENTS,
                                    e->opt.budget_bytes ? e->opt.budget_bytes : WORK_DEFAULT_BYTES,
                                    e->opt.budget_rows ? e->opt.budget_rows : WORK_DEFAULT_ROWS };
  if (sink) e->sink = *sink;
  e->rules = match_set_new();
  e->scratch = match_scratch_new(NULL);
  size_t npatterns = 0;
  for (uint32_t i = 0; i < img->nentries; i++) npatterns += img->entries[i].npatterns;
  e->rule_entry = calloc(npatterns + 1, sizeof *e->rule_entry);
  e->rule_names = calloc(npatterns + 1, sizeof *e->rule_names);
  e->rule_event = calloc(npatterns + 1, sizeof *e->rule_event);
  e->matched = calloc(npatterns + 1, sizeof *e->matched);
  e->stats.rule_matches = calloc(npatterns + 1, sizeof *e->stats.rule_matches);
  e->events = calloc(img->nevents + 1, sizeof *e->events);
  e->natives = calloc(img->nentries + 1, sizeof *e->natives);
  if (!e->rules || !e->scratch || !e->rule_entry || !e->rule_names || !e->rule_event || !e->matched || !e->stats.rule_matches ||
      !e->events || !e->natives)
    return setup_failed(e, err, err_size, "out of memory");
  for (uint32_t i = 0; i < img->nentries; i++) {
    const struct entry *en = &img->entries[i];
    for (uint16_t p = 0; p < en->npatterns; p++) {
      uint32_t id = (uint32_t)e->stats.nrules;
      char reason[512];
      if (match_set_add_text(e->rules, kstr(img, en->patterns[p]), id, reason, sizeof reason) != 0)
        return setup_failed(e, err, err_size, "entry `%s`: %s", kstr(img, en->name), reason);
      e->rule_entry[id] = i;
      const char *event = p < en->nevents ? kstr(img, en->events[p]) : "?";
      e->rule_event[id] = p < en->nevents ? event : NULL;
      size_t n = strlen(kstr(img, en->name)) + strlen(event) + 8;
      e->rule_names[id] = malloc(n);
      e->stats.nrules++;
      if (!e->rule_names[id]) return setup_failed(e, err, err_size, "out of memory");
      snprintf(e->rule_names[id], n, "%s on %s", kstr(img, en->name), event);
    }
    if (!(e->natives[i] = calloc(en->nstages + 1, sizeof **e->natives))) return setup_failed(e, err, err_size, "out of memory");
    for (uint16_t s = 0; s < en->nstages; s++) {
      if (en->stages[s].kind != STAGE_CALL) continue;
      const char *name = kstr(img, en->stages[s].name);
      e->natives[i][s] = stage_find(name);
      if (!e->natives[i][s])
        return setup_failed(e, err, err_size, "flow `%s` uses the stage `%s`, which this runtime does not provide",
                            kstr(img, en->name), name);
      if (e->natives[i][s]->close) e->has_windows = 1;
    }
  }
  for (e->event_slots_cap = 8; e->event_slots_cap < 2 * (size_t)img->nevents; e->event_slots_cap *= 2) {}
  if (!(e->event_slots = calloc(e->event_slots_cap, sizeof *e->event_slots))) return setup_failed(e, err, err_size, "out of memory");
  for (uint32_t i = 0; i < img->nevents; i++) {
    const struct image_event *ev = &img->events[i];
    struct declared_event *d = &e->events[i];
    d->name = kstr(img, ev->name);
    d->source = kstr(img, ev->source);
    d->detail_type = kstr(img, ev->detail_type);
    e->event_slots[event_slot(e, d->source, d->detail_type)] = i + 1;   /* declared twice: the last one wins */
    char why[400];
    if (!(d->schema = event_schema(kstr(img, ev->schema), d->name, why, sizeof why)))
      return setup_failed(e, err, err_size, "%s", why);
  }
  return e;
}

void engine_free(struct engine *e) {
  if (!e) return;
  struct image *img = e->img;
  engine_release(e);
  image_free(img);
}

const struct engine_stats *engine_stats(const struct engine *e) { return &e->stats; }
const char *engine_rule_name(const struct engine *e, size_t rule) { return rule < e->stats.nrules ? e->rule_names[rule] : NULL; }

/* ---- emitting ----------------------------------------------------------- */

/* ---- units of work ------------------------------------------------------ */

/* Pushes a unit (not started) on the stack: its index, or -1 when out of memory. */
static long unit_push(struct engine *e) {
  if (e->nunits == e->units_cap) {
    size_t cap = e->units_cap ? e->units_cap * 2 : 8;
    struct work *u = realloc(e->units, cap * sizeof *u);
    if (!u) return -1;
    e->units = u;
    e->units_cap = cap;
  }
  return (long)e->nunits++;
}

static struct work *current(struct engine *e) { return &e->units[e->unit]; }

/* Ends the units from `mark` up: each one that ran out of budget is
 * reported in one dead letter. */
static void units_pop(struct engine *e, size_t mark) {
  for (size_t i = mark; i < e->nunits; i++) {
    char why[600];
    if (work_report(&e->units[i], why, sizeof why)) dead_letter(e, why, e->units[i].input);
  }
  e->nunits = mark;
}

static int enqueue(struct engine *e, struct json_object *event, int hop) {
  if (e->qhead + e->qlen == e->qcap) {
    if (e->qhead > 0) {
      memmove(e->queue, e->queue + e->qhead, e->qlen * sizeof *e->queue);
      e->qhead = 0;
    } else {
      size_t cap = e->qcap ? e->qcap * 2 : 16;
      struct queued *q = realloc(e->queue, cap * sizeof *q);
      if (!q) return -1;
      e->queue = q;
      e->qcap = cap;
    }
  }
  e->queue[e->qhead + e->qlen++] = (struct queued){ event, hop, e->unit };
  return 0;
}

static int eval_arg_string(struct stage_run *run, const struct stage *st, const char *name, char *out, size_t size) {
  const struct image *img = run->e->img;
  for (uint16_t i = 0; i < st->nargs; i++) {
    if (strcmp(kstr(img, st->args[i].name), name) != 0) continue;
    struct vm_frame f = { .row = run->row, .envelope = run->envelope };
    struct json_object *v;
    if (vm_eval(img, st->args[i].block, &f, &v) != 0) return -1;
    snprintf(out, size, "%s", v && v != VM_MISSING ? json_object_get_string(v) : "");
    vm_release(v);
    return 0;
  }
  out[0] = 0;
  return 0;
}

int stage_set(struct json_object *o, const char *name, struct json_object *v) {
  if (o && v && json_object_object_add(o, name, v) == 0) return 0;
  json_object_put(v);
  return -1;
}

int stage_set_ref(struct json_object *o, const char *name, struct json_object *v) {
  if (!o) return -1;
  if (json_object_object_add(o, name, json_object_get(v)) == 0) return 0;
  json_object_put(v);   /* the reference taken above */
  return -1;
}

int stage_push(struct json_object *a, struct json_object *v) {
  if (a && v && json_object_array_add(a, v) == 0) return 0;
  json_object_put(v);
  return -1;
}

/* An envelope with only `time` (ms): what a row carries when a stage gives
 * it a time of its own, or a window closes.  NULL when out of memory. */
static struct json_object *time_envelope(int64_t ms) {
  char when[40];
  vm_format_time(ms, when, sizeof when);
  struct json_object *envelope = json_object_new_object();
  if (envelope && stage_set(envelope, "time", json_object_new_string(when)) != 0) {
    json_object_put(envelope);
    return NULL;
  }
  return envelope;
}

static int do_emit(struct stage_run *run, const struct stage *st) {
  struct engine *e = run->e;
  struct work *unit = current(e);
  const char *flow = kstr(e->img, e->img->entries[run->entry].name);
  if (unit->spent) {
    unit->refused++;
    return STAGE_STOPPED;
  }
  char source[512], detail_type[512], id[48], when[40];
  if (eval_arg_string(run, st, "source", source, sizeof source) || eval_arg_string(run, st, "detail-type", detail_type, sizeof detail_type))
    return stage_fail(run, "cannot evaluate the envelope of the emitted event");
  if (work_next_id(unit, flow, id) != 0) return stage_fail(run, "out of memory");
  vm_format_time(run->now, when, sizeof when);
  struct json_object *ev = json_object_new_object();
  if (!ev || stage_set(ev, "version", json_object_new_string("0")) || stage_set(ev, "id", json_object_new_string(id)) ||
      stage_set(ev, "detail-type", json_object_new_string(detail_type)) || stage_set(ev, "source", json_object_new_string(source)) ||
      stage_set(ev, "account", json_object_new_string(e->opt.account)) || stage_set(ev, "time", json_object_new_string(when)) ||
      stage_set(ev, "region", json_object_new_string(e->opt.region)) || stage_set(ev, "resources", json_object_new_array()) ||
      stage_set(ev, "detail", json_object_get(run->row))) {
    json_object_put(ev);
    return stage_fail(run, "out of memory");
  }
  /* Its size, exactly when it may be over EventBridge's limit (the
   * estimate counts non-integer numbers at their longest). */
  size_t size = work_json_size(ev, ENGINE_MAX_EVENT_BYTES);
  if (size > ENGINE_MAX_EVENT_BYTES) {
    const char *text = json_object_to_json_string_ext(ev, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    if (!text) {
      json_object_put(ev);
      return stage_fail(run, "out of memory");
    }
    size = strlen(text);
  }
  /* The budget counts every event the unit would emit, also those the
   * checks below turn into dead letters: they are work too. */
  if (work_charge_event(unit, size) != 0) {
    trace(e, "  %s: the work budget is spent (%s): it stops here", flow, unit->spent);
    json_object_put(ev);
    return STAGE_STOPPED;
  }
  /* An event that would exceed the hop limit is not emitted: it goes to
   * the dead letters, and the loop stops there. */
  if (run->hop + 1 > e->opt.hop_limit) {
    char why[300];
    snprintf(why, sizeof why, "hop limit: this would be event %d of a chain of emitted events (flow `%s`); "
             "it is not emitted. Check for flows that consume what they emit", run->hop + 1, flow);
    dead_letter(e, why, ev);
    json_object_put(ev);
    return STAGE_OK;
  }
  /* EventBridge refuses an event over 256 KB (PutEvents): so does the engine,
   * and the event goes to the dead letters instead of being lost later. */
  if (size > ENGINE_MAX_EVENT_BYTES) {
    char why[1024];
    snprintf(why, sizeof why, "flow `%s`: the %s event it would emit is %zu bytes; EventBridge accepts at most %d, so it is not emitted",
             flow, detail_type, size, ENGINE_MAX_EVENT_BYTES);
    dead_letter(e, why, ev);
    json_object_put(ev);
    return STAGE_OK;
  }
  e->stats.emitted++;
  trace(e, "  emit %s (%s) from %s", detail_type, id, flow);
  if (e->sink.emit && e->sink.emit(e->sink.ctx, ev) != 0) {
    json_object_put(ev);
    return STAGE_FAILED;
  }
  if (enqueue(e, ev, run->hop + 1) != 0) {
    /* Emitted, but it cannot be routed: say so rather than lose its consequences. */
    dead_letter(e, "out of memory: the emitted event is not routed to the rules", ev);
    json_object_put(ev);
  }
  return STAGE_OK;
}

/* ---- pipelines ---------------------------------------------------------- */

static int run_from(struct engine *e, uint32_t entry, uint16_t stage, struct json_object *row,
                    struct json_object *envelope, int64_t now, int hop);

int stage_fail(struct stage_run *run, const char *fmt, ...) {
  struct engine *e = run->e;
  char msg[400], why[600];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  const struct entry *en = &e->img->entries[run->entry];
  const struct stage *st = &en->stages[run->stage];
  static const char *const kinds[] = { "", "where", "map", "call", "emit", "flow", "forward" };
  snprintf(why, sizeof why, "%s `%s`, stage %u (%s%s%s): %s", en->kind == ENTRY_FLOW ? "flow" : "route",
           kstr(e->img, en->name), run->stage + 1, st->kind <= STAGE_FORWARD ? kinds[st->kind] : "?",
           st->name != IMAGE_NONE ? " " : "", st->name != IMAGE_NONE ? kstr(e->img, st->name) : "", msg);
  dead_letter(e, why, run->envelope);
  return 0;
}

static int run_from(struct engine *e, uint32_t entry, uint16_t stage, struct json_object *row,
                    struct json_object *envelope, int64_t now, int hop) {
  const struct entry *en = &e->img->entries[entry];
  for (; stage < en->nstages; stage++) {
    const struct stage *st = &en->stages[stage];
    struct stage_run run = { e, entry, stage, row, envelope, now, hop, "" };
    struct vm_frame f = { .row = row, .envelope = envelope };
    switch (st->kind) {
    case STAGE_WHERE: {
      int pass = vm_test(e->img, st->block, &f);
      if (pass < 0) return stage_fail(&run, "%s", f.error);
      if (!pass) {
        trace(e, "  %s: stage %u (where) drops the event", kstr(e->img, en->name), stage + 1);
        return 0;
      }
      break;
    }
    case STAGE_MAP: {
      struct json_object *next;
      if (vm_eval(e->img, st->block, &f, &next) != 0) return stage_fail(&run, "%s", f.error);
      if (!next || next == VM_MISSING || !json_object_is_type(next, json_type_object)) {
        vm_release(next);
        return stage_fail(&run, "map did not build an object");
      }
      int rc = run_from(e, entry, stage + 1, next, envelope, now, hop);
      json_object_put(next);
      return rc;
    }
    case STAGE_CALL:
      return e->natives[entry][stage]->process(&run, row);
    case STAGE_EMIT:
      return do_emit(&run, st);
    case STAGE_FLOW: {
      const char *name = kstr(e->img, st->name);
      for (uint32_t k = 0; k < e->img->nentries; k++)
        if (strcmp(kstr(e->img, e->img->entries[k].name), name) == 0) {
          int rc = run_from(e, k, 0, row, envelope, now, hop);
          if (rc != STAGE_OK) return rc;
          break;
        }
      if (en->kind != ENTRY_ROUTE) return 0;
      break;   /* a route fans out: go on to its next target */
    }
    case STAGE_FORWARD:
      e->stats.forwarded++;
      trace(e, "  %s: delivered to %s (by EventBridge)", kstr(e->img, en->name), kstr(e->img, st->name));
      break;
    }
  }
  return 0;
}

int stage_continue(struct stage_run *run, struct json_object *row, int64_t time_ms) {
  if (work_charge_row(current(run->e)) != 0) return STAGE_STOPPED;
  if (!row) return stage_fail(run, "out of memory");   /* the stage could not build its output */
  struct json_object *envelope = run->envelope;
  struct json_object *own = NULL;
  if (time_ms != run->now) {
    if (!(own = time_envelope(time_ms))) return stage_fail(run, "out of memory");
    envelope = own;
  }
  int rc = run_from(run->e, run->entry, (uint16_t)(run->stage + 1), row, envelope, time_ms, run->hop);
  json_object_put(own);
  return rc;
}

int stage_arg(struct stage_run *run, const char *name, struct json_object **value) {
  const struct image *img = run->e->img;
  const struct stage *st = &img->entries[run->entry].stages[run->stage];
  *value = VM_MISSING;
  for (uint16_t i = 0; i < st->nargs; i++) {
    if (st->args[i].kind != ARG_VALUE || strcmp(kstr(img, st->args[i].name), name) != 0) continue;
    struct vm_frame f = { .row = run->row, .envelope = run->envelope };
    if (vm_eval(img, st->args[i].block, &f, value) != 0) {
      stage_fail(run, "argument `%s`: %s", name, f.error);
      return -1;
    }
    return 0;
  }
  return 0;
}

int stage_aggregate_count(struct stage_run *run) {
  const struct stage *st = &run->e->img->entries[run->entry].stages[run->stage];
  int n = 0;
  for (uint16_t i = 0; i < st->nargs; i++) n += st->args[i].kind == ARG_AGGREGATE;
  return n;
}

int stage_aggregate(struct stage_run *run, int which, const char **name, const char **function, struct json_object **input) {
  const struct image *img = run->e->img;
  const struct stage *st = &img->entries[run->entry].stages[run->stage];
  for (uint16_t i = 0; i < st->nargs; i++) {
    if (st->args[i].kind != ARG_AGGREGATE || which-- > 0) continue;
    *name = kstr(img, st->args[i].name);
    *function = kstr(img, st->args[i].function);
    *input = VM_MISSING;
    if (st->args[i].block == IMAGE_NONE || !input) return 0;
    struct vm_frame f = { .row = run->row, .envelope = run->envelope };
    if (vm_eval(img, st->args[i].block, &f, input) != 0) {
      stage_fail(run, "`%s` of `%s`: %s", *function, *name, f.error);
      return -1;
    }
    return 0;
  }
  return -1;
}

/* The stage part of a state key: "INDEX:NAME", so two calls of one stage in a flow keep apart. */
static const char *stage_label(struct engine *e, uint32_t entry, uint16_t stage, char *buf, size_t size) {
  snprintf(buf, size, "%u:%s", stage, kstr(e->img, e->img->entries[entry].stages[stage].name));
  return buf;
}

void stage_state_key(struct stage_run *run, const char *key_json, struct state_key *out) {
  out->flow = kstr(run->e->img, run->e->img->entries[run->entry].name);
  out->stage = stage_label(run->e, run->entry, run->stage, run->label, sizeof run->label);
  out->key = key_json;
}

struct state_store *stage_state(struct stage_run *run) { return run->e->state; }
int64_t stage_now(struct stage_run *run) { return run->now; }

const struct views_config *stage_views(struct stage_run *run) { return run->e->opt.views; }

int stage_has_arg(struct stage_run *run, const char *name) {
  const struct image *img = run->e->img;
  const struct stage *st = &img->entries[run->entry].stages[run->stage];
  for (uint16_t i = 0; i < st->nargs; i++)
    if (st->args[i].kind == ARG_VALUE && strcmp(kstr(img, st->args[i].name), name) == 0) return 1;
  return 0;
}

const char *stage_event_name(struct stage_run *run) { return run->e->event_name; }

const char *stage_flow_event(struct stage_run *run, int i) {
  const struct entry *en = &run->e->img->entries[run->entry];
  return i >= 0 && i < en->nevents ? kstr(run->e->img, en->events[i]) : NULL;
}

/* ---- windows ------------------------------------------------------------ */

struct window {
  char *flow, *stage, *key, *value;
  int64_t version, expires;
};

struct window_list {
  struct window *items;
  size_t n, cap;
};

static int collect(void *ctx, const struct state_item *it) {
  struct window_list *l = ctx;
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 32;
    struct window *w = realloc(l->items, cap * sizeof *w);
    if (!w) return -1;
    l->items = w;
    l->cap = cap;
  }
  l->items[l->n++] = (struct window){ strdup(it->flow), strdup(it->stage), strdup(it->key), strdup(it->value),
                                      it->version, it->expires };
  return 0;
}

static void windows_free(struct window_list *l) {
  for (size_t i = 0; i < l->n; i++) {
    free(l->items[i].flow);
    free(l->items[i].stage);
    free(l->items[i].key);
    free(l->items[i].value);
  }
  free(l->items);
  memset(l, 0, sizeof *l);
}

/* Closes one window: delete its state (if unchanged) and let the stage
 * emit it, as a unit of work of its own (pushed here; the caller routes
 * what it emitted, then pops it).  1 when the window changed since it was
 * listed (it was left alone: listing again finds it as it is now), 0 when
 * closed or gone, -1 when the state store failed (or out of memory). */
static int close_window(struct engine *e, const struct window *w, int64_t now) {
  long unit = unit_push(e);
  if (unit < 0) return -1;
  work_start_window(&e->units[unit], &e->budget, w->flow, w->stage, w->key, now);
  e->unit = (size_t)unit;
  uint32_t entry = e->img->nentries;
  for (uint32_t i = 0; i < e->img->nentries; i++)
    if (strcmp(kstr(e->img, e->img->entries[i].name), w->flow) == 0) entry = i;
  char *colon;
  unsigned long stage = strtoul(w->stage, &colon, 10);
  if (entry == e->img->nentries || *colon != ':' || stage >= e->img->entries[entry].nstages ||
      !e->natives[entry][stage] || !e->natives[entry][stage]->close) {
    /* State of an older version of the application: drop it, say so. */
    state_delete(e->state, &(struct state_key){ w->flow, w->stage, w->key }, w->version);
    trace(e, "  dropped window %s/%s %s: no such stage in this application", w->flow, w->stage, w->key);
    return 0;
  }
  enum state_status s = state_delete(e->state, &(struct state_key){ w->flow, w->stage, w->key }, w->version);
  if (s == STATE_CONFLICT) return 1;
  if (s == STATE_NOT_FOUND) return 0;
  if (s != STATE_OK) return -1;
  struct json_object *value = json_tokener_parse(w->value), *envelope = time_envelope(now);
  struct stage_run run = { e, entry, (uint16_t)stage, value, envelope, now, 0, "" };
  int rc = 0;
  if (!value || !envelope) {
    /* Deleted but not emitted: say so (a stored value is always JSON, so out of memory). */
    char why[200];
    snprintf(why, sizeof why, "out of memory: the window %s/%s closed but could not be emitted", w->flow, w->stage);
    dead_letter(e, why, NULL);
  } else {
    trace(e, "  close window %s/%s %s", w->flow, w->stage, w->key);
    rc = e->natives[entry][stage]->close(&run, w->key, value);
  }
  json_object_put(value);
  json_object_put(envelope);
  return rc < 0 ? -1 : 0;
}

static int drain_queue(struct engine *e);
static int advance(struct engine *e, int64_t now_ms, size_t mark);

#define EXPIRED_PAGE 256   /* expired windows listed at a time */

int engine_advance(struct engine *e, int64_t now_ms) {
  /* Without a stage that keeps windows, only windows an older version of
   * the application left in the state can expire: they are dropped on
   * the first look, which saves a state query per event after it. */
  if (e->advanced && !e->has_windows) return 0;
  e->advanced = 1;
  /* Called while an input event runs (before its own work): each window
   * closed is a unit of its own, then the input's unit runs on. */
  size_t input_unit = e->unit, mark = e->nunits;
  int rc = advance(e, now_ms, mark);
  units_pop(e, mark);
  e->unit = input_unit;
  return rc;
}

/* engine_advance's work: each window closed, then what it emitted routed,
 * then its unit popped down to `mark`. */
static int advance(struct engine *e, int64_t now_ms, size_t mark) {
  /* Windows close in deadline order, and what a close emits is routed
   * before the next one closes: it may feed a later window (a stage after
   * a windowed stage) that must not close without it.  A listed window
   * that this routing changed is skipped, then listed again; a chain of
   * such windows is followed at most hop-limit times per call, so
   * windows that keep feeding each other cannot hold the run. */
  for (int relisted = 0;;) {
    struct window_list l = { 0 };
    enum state_status s = state_expired(e->state, now_ms, EXPIRED_PAGE, collect, &l);
    if (s != STATE_OK) {
      windows_free(&l);
      return -1;
    }
    size_t n = l.n;
    int rc = 0, changed = 0;
    for (size_t i = 0; i < n && rc >= 0; i++) {
      rc = close_window(e, &l.items[i], l.items[i].expires);
      if (rc == 1) changed = 1;
      if (rc >= 0 && e->qlen > 0 && drain_queue(e) != 0) rc = -1;
      if (rc < 0) queue_release(e);
      units_pop(e, mark);
    }
    windows_free(&l);
    if (rc < 0) return -1;
    if (n == EXPIRED_PAGE) continue;   /* more were due than one listing holds */
    if (!changed || ++relisted > e->opt.hop_limit) return 0;
  }
}

int engine_drain(struct engine *e) {
  /* Under event time, windows with a deadline close first, in deadline
   * order (as time would have closed them); then the others, stage by
   * stage.  What those closes emit may open windows in a stage already
   * scanned: scan again, at most hop-limit times (windows that keep
   * opening each other are left in the state). */
  if (!e->opt.wall_clock && engine_advance(e, INT64_MAX) != 0) return -1;
  /* The windows of a stage close first, then what they emitted is routed:
   * each one's unit stays on the stack until then. */
  size_t mark = e->nunits;
  for (int round = 0, closed = 1; closed && round <= e->opt.hop_limit; round++) {
    closed = 0;
    for (uint32_t i = 0; i < e->img->nentries; i++) {
      const struct entry *en = &e->img->entries[i];
      for (uint16_t s = 0; s < en->nstages; s++) {
        if (!e->natives[i][s] || !e->natives[i][s]->close) continue;
        char label[300];
        struct window_list l = { 0 };
        if (state_scan(e->state, kstr(e->img, en->name), stage_label(e, i, s, label, sizeof label), NULL, collect, &l) != STATE_OK) {
          windows_free(&l);
          return -1;
        }
        for (size_t k = 0; k < l.n; k++) {
          int64_t at = l.items[k].expires;
          /* Under event time a window closes at its deadline if it has one,
           * else at the last event's time; under the wall clock, now. */
          if (e->opt.wall_clock || !at) at = e->last_time;
          if (close_window(e, &l.items[k], at) < 0) {
            windows_free(&l);
            queue_release(e);
            units_pop(e, mark);
            return -1;
          }
          closed = 1;
        }
        windows_free(&l);
        int rc = drain_queue(e);
        units_pop(e, mark);
        if (rc != 0) return -1;
      }
    }
  }
  return 0;
}

int64_t engine_event_clock(const struct engine *e) { return e->last_time; }
void engine_set_event_clock(struct engine *e, int64_t ms) {
  if (ms > e->last_time) e->last_time = ms;
}

/* ---- events ------------------------------------------------------------- */

static const struct declared_event *declared(struct engine *e, const char *source, const char *detail_type) {
  uint32_t slot = e->event_slots[event_slot(e, source, detail_type)];
  return slot ? &e->events[slot - 1] : NULL;
}

/* The envelope fields routing reads, in one pass over the top level
 * (cheaper than four hash lookups in an envelope of nine fields). */
struct envelope_fields {
  const char *source, *detail_type, *time;
  struct json_object *detail;
};

static const char *string_value(struct json_object *v) {
  return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static void envelope_fields(struct json_object *ev, struct envelope_fields *f) {
  memset(f, 0, sizeof *f);
  json_object_object_foreach(ev, name, value) {
    switch (name[0]) {
    case 's':
      if (strcmp(name, "source") == 0) f->source = string_value(value);
      break;
    case 'd':
      if (strcmp(name, "detail") == 0) f->detail = value;
      else if (strcmp(name, "detail-type") == 0) f->detail_type = string_value(value);
      break;
    case 't':
      if (strcmp(name, "time") == 0) f->time = string_value(value);
      break;
    }
  }
}

/* One event (input or emitted): check, match, run. */
static int route(struct engine *e, struct json_object *ev, int hop) {
  if (!json_object_is_type(ev, json_type_object)) {
    dead_letter(e, "not an EventBridge event: the line is JSON but not an object", ev);
    return 0;
  }
  struct envelope_fields f;
  envelope_fields(ev, &f);
  const char *source = f.source, *detail_type = f.detail_type, *time = f.time;
  struct json_object *detail = f.detail;
  if (!source || !detail_type || !json_object_is_type(detail, json_type_object)) {
    dead_letter(e, !source ? "not an EventBridge event: `source` is missing or not a string"
                   : !detail_type ? "not an EventBridge event: `detail-type` is missing or not a string"
                   : "not an EventBridge event: `detail` is missing or not an object", ev);
    return 0;
  }
  int64_t now;
  if (e->opt.wall_clock) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
  } else if (!time || vm_parse_time(time, &now) != 0) {
    dead_letter(e, time ? "`time` is not an RFC 3339 time" : "`time` is missing (with --clock event, time comes from the events)", ev);
    return 0;
  }
  const struct declared_event *decl = declared(e, source, detail_type);
  if (decl) {
    char why[400], reason[520];
    if (schema_check(decl->schema, ev, why, sizeof why) != 0) {
      snprintf(reason, sizeof reason, "does not fit event `%s`: %s", decl->name, why);
      dead_letter(e, reason, ev);
      return 0;
    }
  }
  if (hop == 0 && now > e->last_time) e->last_time = now;   /* input events only: emitted ones may carry later times */
  if (hop == 0 && engine_advance(e, now) != 0) return STAGE_FAILED;
  size_t n = match_event(e->rules, e->scratch, ev, e->matched, e->stats.nrules + 1);
  if (n == MATCH_ERROR) return STAGE_FAILED;
  trace(e, "%s %s/%s: %zu rule%s", hop ? "emitted" : "event", source, detail_type, n, n == 1 ? "" : "s");
  if (n && hop == 0) e->stats.matched++;
  /* The matched ids are in a scratch the pipelines may reuse: copy them. */
  uint32_t ids[64], *list = n <= 64 ? ids : malloc(n * sizeof *list);
  if (!list) {
    dead_letter(e, "out of memory: the rules it matches cannot be run", ev);
    return STAGE_OK;
  }
  memcpy(list, e->matched, n * sizeof *list);
  int rc = STAGE_OK;
  for (size_t i = 0; i < n && rc == STAGE_OK; i++) {
    e->stats.rule_matches[list[i]]++;
    trace(e, "  rule %s", e->rule_names[list[i]]);
    e->event_name = e->rule_event[list[i]];
    rc = run_from(e, e->rule_entry[list[i]], 0, detail, ev, now, hop);
    e->event_name = NULL;
  }
  if (list != ids) free(list);
  return rc;
}

/* Drops what is queued (the state store failed: the host rolls back).  -1. */
static int queue_release(struct engine *e) {
  for (size_t i = e->qhead; i < e->qhead + e->qlen; i++) json_object_put(e->queue[i].event);
  e->qhead = e->qlen = 0;
  return -1;
}

/* Routes the emitted events in the queue, each in its own unit of work;
 * a unit whose budget is spent has its events dropped (and counted).  0,
 * or -1 when the state store failed. */
static int drain_queue(struct engine *e) {
  size_t unit = e->unit;
  int rc = STAGE_OK;
  while (e->qlen) {
    struct queued q = e->queue[e->qhead++];
    e->qlen--;
    e->unit = q.unit;
    if (rc < 0) {}   /* the store failed: the host rolls back; release the rest */
    else if (current(e)->spent) current(e)->unrouted++;
    else rc = route(e, q.event, q.hop);
    json_object_put(q.event);
  }
  e->qhead = 0;
  e->unit = unit;
  return rc < 0 ? -1 : 0;
}

int engine_event(struct engine *e, struct json_object *event, long line) {
  e->line = line;
  e->stats.events++;
  size_t mark = e->nunits;
  long unit = unit_push(e);
  if (unit < 0) {
    dead_letter(e, "out of memory", event);
    return 0;
  }
  work_start_input(&e->units[unit], &e->budget, event, line);
  e->unit = (size_t)unit;
  int rc = route(e, event, 0);
  rc = rc >= 0 ? drain_queue(e) : queue_release(e);
  units_pop(e, mark);
  return rc < 0 ? -1 : 0;
}

void engine_reject(struct engine *e, long line, const char *reason) {
  e->line = line;
  e->stats.events++;
  dead_letter(e, reason, NULL);
}
