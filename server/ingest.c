/* ingest.c — POST /events (see ingest.h): PutEvents entries to EventBridge
 * envelopes, through the cached engine, back to PutEvents results.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include "catalog.h"
#include "engine.h"
#include "ingest.h"

/* Per-entry error codes (PutEvents' own where one fits). */
#define ERR_INVALID   "InvalidArgument"    /* the entry is not an event */
#define ERR_DETAIL    "MalformedDetail"    /* Detail is not a JSON object */
#define ERR_REJECTED  "EventRejected"      /* the engine dead-lettered the event itself */

struct ingest {
  struct evstore *store;
  struct state_store *state;
  struct ingest_options opt;
  pthread_mutex_t lock;          /* everything below, and the engine's use */
  struct engine *engine;
  int64_t generation;            /* of the store the engine was built from */
  int built;                     /* engine (or build_error) is current */
  char build_error[700];
  long next_line;                /* engine "line" of the next entry: makes emitted ids unique */
  /* The request being run (the engine's sink writes here). */
  struct json_object *input;     /* the entry's envelope */
  char *input_reason;            /* first dead letter of the input itself */
  size_t entry;
  struct json_object *emitted, *dead_letters;
};

/* ---- the engine's sink -------------------------------------------------- */

static int on_emit(void *ctx, struct json_object *event) {
  struct ingest *g = ctx;
  return json_object_array_add(g->emitted, json_object_get(event)) == 0 ? 0 : -1;
}

static void on_dead_letter(void *ctx, long line, const char *reason, struct json_object *event) {
  (void)line;
  struct ingest *g = ctx;
  if (event && event == g->input) {
    if (!g->input_reason) g->input_reason = strdup(reason);
    return;
  }
  struct json_object *d = json_object_new_object();
  json_object_object_add(d, "entry", json_object_new_int64((int64_t)g->entry));
  json_object_object_add(d, "reason", json_object_new_string(reason));
  if (event) json_object_object_add(d, "event", json_object_get(event));
  json_object_array_add(g->dead_letters, d);
}

/* ---- engine cache ------------------------------------------------------- */

struct ingest *ingest_new(struct evstore *store, struct state_store *state, const struct ingest_options *opt) {
  struct ingest *g = calloc(1, sizeof *g);
  if (!g) return NULL;
  g->store = store;
  g->state = state;
  if (opt) g->opt = *opt;
  pthread_mutex_init(&g->lock, NULL);
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  g->next_line = (long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;   /* distinct across restarts too */
  return g;
}

void ingest_free(struct ingest *g) {
  if (!g) return;
  engine_free(g->engine);
  pthread_mutex_destroy(&g->lock);
  free(g);
}

/* Makes the engine current (the lock is held).  0, or -1 with build_error. */
static int refresh(struct ingest *g) {
  int64_t generation;
  if (evstore_generation(g->store, &generation) != EVSTORE_OK) {
    snprintf(g->build_error, sizeof g->build_error, "the event store failed: %s", evstore_error());
    return -1;
  }
  if (g->built && generation == g->generation) return g->engine ? 0 : -1;
  engine_free(g->engine);
  g->engine = NULL;
  g->built = 0;
  g->build_error[0] = 0;
  struct evstore_list items = { 0 };
  struct catalog_result r;
  catalog_result_init(&r);
  struct image *img = NULL;
  if (evstore_list(g->store, NULL, &items) != EVSTORE_OK) {
    snprintf(g->build_error, sizeof g->build_error, "the event store failed: %s", evstore_error());
  } else if (catalog_image(&items, &img, &r) != CATALOG_OK) {
    snprintf(g->build_error, sizeof g->build_error, "the stored flows cannot run: %s%s%s", r.message,
             r.diag.count ? ": " : "", r.diag.count ? r.diag.items[0].message : "");
  } else {
    struct engine_options eo = { .wall_clock = 0, .hop_limit = g->opt.hop_limit, .account = g->opt.account,
                                 .region = g->opt.region, .views = g->opt.views };
    struct engine_sink sink = { g, on_emit, on_dead_letter, NULL };
    char err[400];
    g->engine = engine_new(img, g->state, &eo, &sink, err, sizeof err);
    if (!g->engine) {
      image_free(img);
      snprintf(g->build_error, sizeof g->build_error, "the stored flows cannot run: %s", err);
    }
  }
  catalog_result_free(&r);
  evstore_list_free(&items);
  /* A failure is remembered for this generation too: no rebuild per request. */
  g->generation = generation;
  g->built = 1;
  return g->engine ? 0 : -1;
}

/* ---- entries to envelopes ----------------------------------------------- */

static void format_time(time_t t, char *buf, size_t size) {
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void new_event_id(char *buf, size_t size) {
  unsigned char b[16];
  if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    for (size_t i = 0; i < sizeof b; i++) b[i] = (unsigned char)((uint64_t)ts.tv_nsec >> (i % 8 * 8)) ^ (unsigned char)(i * 37);
  }
  b[6] = (b[6] & 0x0f) | 0x40;   /* version 4 */
  b[8] = (b[8] & 0x3f) | 0x80;   /* RFC 4122 variant */
  snprintf(buf, size, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3],
           b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

static struct json_object *member(struct json_object *o, const char *name) {
  struct json_object *v = NULL;
  return json_object_object_get_ex(o, name, &v) ? v : NULL;
}

/* Fills what EventBridge adds to every event: id, version, account, region,
 * time, resources (each only when missing). */
static void complete_envelope(struct ingest *g, struct json_object *ev, const char *id) {
  char now[40];
  if (!member(ev, "version")) json_object_object_add(ev, "version", json_object_new_string("0"));
  if (!member(ev, "id")) json_object_object_add(ev, "id", json_object_new_string(id));
  if (!member(ev, "account")) json_object_object_add(ev, "account", json_object_new_string(g->opt.account ? g->opt.account : "000000000000"));
  if (!member(ev, "time")) {
    format_time(time(NULL), now, sizeof now);
    json_object_object_add(ev, "time", json_object_new_string(now));
  }
  if (!member(ev, "region")) json_object_object_add(ev, "region", json_object_new_string(g->opt.region ? g->opt.region : "local"));
  if (!member(ev, "resources")) json_object_object_add(ev, "resources", json_object_new_array());
}

/* A PutEvents entry (Source, DetailType, Detail, Time, Resources) as an
 * EventBridge event.  NULL with an error code and message when it is not
 * one. */
static struct json_object *from_entry(struct json_object *entry, const char **code, char *why, size_t why_size) {
  *code = ERR_INVALID;
  if (!json_object_is_type(entry, json_type_object)) {
    snprintf(why, why_size, "the entry is not an object");
    return NULL;
  }
  json_object_object_foreach(entry, key, value) {
    (void)value;
    if (strcmp(key, "Source") && strcmp(key, "DetailType") && strcmp(key, "Detail") && strcmp(key, "Time") &&
        strcmp(key, "Resources") && strcmp(key, "EventBusName") && strcmp(key, "TraceHeader")) {
      snprintf(why, why_size, "unknown member \"%.64s\" (an entry has Source, DetailType, Detail, Time, Resources, "
               "EventBusName, TraceHeader)", key);
      return NULL;
    }
  }
  struct json_object *source = member(entry, "Source"), *detail_type = member(entry, "DetailType"),
                     *detail = member(entry, "Detail"), *when = member(entry, "Time"), *resources = member(entry, "Resources");
  const char *missing = !json_object_is_type(source, json_type_string) ? "Source"
                      : !json_object_is_type(detail_type, json_type_string) ? "DetailType"
                      : !json_object_is_type(detail, json_type_string) ? "Detail" : NULL;
  if (missing) {
    snprintf(why, why_size, "%s is required and must be a string", missing);
    return NULL;
  }
  if (when && !json_object_is_type(when, json_type_string) && !json_object_is_type(when, json_type_int) &&
      !json_object_is_type(when, json_type_double)) {
    snprintf(why, why_size, "Time must be an RFC 3339 string or seconds since the epoch");
    return NULL;
  }
  if (resources && !json_object_is_type(resources, json_type_array)) {
    snprintf(why, why_size, "Resources must be an array of strings");
    return NULL;
  }
  for (size_t i = 0; resources && i < json_object_array_length(resources); i++)
    if (!json_object_is_type(json_object_array_get_idx(resources, i), json_type_string)) {
      snprintf(why, why_size, "Resources must be an array of strings");
      return NULL;
    }
  char inner[300];
  const char *text = json_object_get_string(detail);
  struct json_object *parsed = catalog_parse_json(text, strlen(text), ENGINE_MAX_DEPTH, inner, sizeof inner);
  if (!json_object_is_type(parsed, json_type_object)) {
    *code = ERR_DETAIL;
    snprintf(why, why_size, "Detail is not a JSON object: %s", parsed ? "another JSON value" : inner);
    json_object_put(parsed);
    return NULL;
  }
  struct json_object *ev = json_object_new_object();
  json_object_object_add(ev, "detail-type", json_object_get(detail_type));
  json_object_object_add(ev, "source", json_object_get(source));
  if (json_object_is_type(when, json_type_string)) {
    json_object_object_add(ev, "time", json_object_get(when));
  } else if (when) {
    char t[40];
    format_time((time_t)json_object_get_int64(when), t, sizeof t);
    json_object_object_add(ev, "time", json_object_new_string(t));
  }
  if (resources) json_object_object_add(ev, "resources", json_object_get(resources));
  json_object_object_add(ev, "detail", parsed);
  return ev;
}

/* ---- a request ---------------------------------------------------------- */

static struct json_object *entry_error(const char *code, const char *message) {
  struct json_object *o = json_object_new_object();
  json_object_object_add(o, "ErrorCode", json_object_new_string(code));
  json_object_object_add(o, "ErrorMessage", json_object_new_string(message));
  return o;
}

/* Runs one entry (the lock is held; a state transaction is open).  Appends
 * its result.  Returns 0, or -1 when the state store failed. */
static int run_entry(struct ingest *g, struct json_object *entry, int envelope_form, struct json_object *results,
                     int *failed) {
  char why[600], id[40];
  const char *code = ERR_INVALID;
  struct json_object *ev;
  if (envelope_form) {
    /* A copy: the envelope gets what EventBridge adds; the body stays the caller's. */
    ev = NULL;
    if (json_object_is_type(entry, json_type_object) && json_object_deep_copy(entry, &ev, NULL) != 0) ev = NULL;
  } else {
    ev = from_entry(entry, &code, why, sizeof why);
  }
  if (!ev) {
    if (envelope_form) snprintf(why, sizeof why, "the event is not a JSON object");
    json_object_array_add(results, entry_error(code, why));
    (*failed)++;
    return 0;
  }
  new_event_id(id, sizeof id);
  complete_envelope(g, ev, id);
  size_t size = strlen(json_object_to_json_string_ext(ev, CATALOG_TEXT_FLAGS));
  if (size > ENGINE_MAX_EVENT_BYTES) {
    snprintf(why, sizeof why, "the event is %zu bytes; EventBridge accepts at most %d", size, ENGINE_MAX_EVENT_BYTES);
    json_object_array_add(results, entry_error(ERR_INVALID, why));
    json_object_put(ev);
    (*failed)++;
    return 0;
  }
  g->input = ev;
  g->input_reason = NULL;
  int rc = engine_event(g->engine, ev, g->next_line++);
  if (rc == 0 && g->input_reason) {
    json_object_array_add(results, entry_error(ERR_REJECTED, g->input_reason));
    (*failed)++;
  } else if (rc == 0) {
    struct json_object *ok = json_object_new_object();
    json_object_object_add(ok, "EventId", json_object_get(member(ev, "id")));
    json_object_array_add(results, ok);
  }
  free(g->input_reason);
  g->input_reason = NULL;
  g->input = NULL;
  json_object_put(ev);
  return rc;
}

int ingest_run(struct ingest *g, struct json_object *body, struct json_object **response, char *message,
               size_t message_size) {
  *response = NULL;
  if (!json_object_is_type(body, json_type_object)) {
    snprintf(message, message_size, "the body must be a JSON object: {\"Entries\": [...]}, one PutEvents entry, or one event");
    return 400;
  }
  /* Which form: a batch, one PutEvents entry, or one EventBridge event. */
  struct json_object *entries = member(body, "Entries");
  int envelope_form = !entries && !member(body, "Source") && !member(body, "DetailType") && !member(body, "Detail");
  if (entries) {
    if (json_object_object_length(body) != 1) {
      snprintf(message, message_size, "a PutEvents request has only \"Entries\"");
      return 400;
    }
    size_t n = json_object_is_type(entries, json_type_array) ? json_object_array_length(entries) : 0;
    if (n < 1 || n > INGEST_MAX_ENTRIES) {
      snprintf(message, message_size, "\"Entries\" must be an array of 1 to %d entries (PutEvents' limit)", INGEST_MAX_ENTRIES);
      return 400;
    }
  }
  pthread_mutex_lock(&g->lock);
  if (refresh(g) != 0) {
    snprintf(message, message_size, "%s", g->build_error);
    pthread_mutex_unlock(&g->lock);
    return 500;
  }
  g->emitted = json_object_new_array();
  g->dead_letters = json_object_new_array();
  struct json_object *results = json_object_new_array();
  int failed = 0, rc = 0;
  if (state_begin(g->state) != STATE_OK) {
    rc = -1;
  } else {
    size_t n = entries ? json_object_array_length(entries) : 1;
    for (size_t i = 0; i < n && rc == 0; i++) {
      g->entry = i;
      rc = run_entry(g, entries ? json_object_array_get_idx(entries, i) : body, envelope_form, results, &failed);
    }
    if (rc == 0 && state_commit(g->state) != STATE_OK) rc = -1;
    if (rc != 0 && state_in_transaction(g->state)) state_rollback(g->state);
  }
  int status = 200;
  if (rc != 0) {
    snprintf(message, message_size, "the state store failed, nothing of this request was kept: %s", state_error(g->state));
    status = 500;
    json_object_put(results);
  } else {
    struct json_object *out = json_object_new_object();
    json_object_object_add(out, "FailedEntryCount", json_object_new_int(failed));
    json_object_object_add(out, "Entries", results);
    json_object_object_add(out, "Emitted", g->emitted);
    g->emitted = NULL;
    if (json_object_array_length(g->dead_letters)) {
      json_object_object_add(out, "DeadLetters", g->dead_letters);
      g->dead_letters = NULL;
    }
    *response = out;
  }
  json_object_put(g->emitted);
  json_object_put(g->dead_letters);
  g->emitted = g->dead_letters = NULL;
  pthread_mutex_unlock(&g->lock);
  return status;
}
