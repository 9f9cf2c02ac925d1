/* engine_work.c — budgets and emitted ids of a unit of work (see engine_work.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "engine_work.h"

/* The namespace of every efc name-based id (a fixed random UUID). */
static const uuid_t efc_namespace = { 0xc8, 0xae, 0x0d, 0x82, 0x8a, 0xad, 0x43, 0xe0,
                                      0xb4, 0x35, 0xda, 0xf8, 0x5c, 0xc6, 0x49, 0x4d };

static void start(struct work *w, const struct work_budget *budget) {
  memset(w, 0, sizeof *w);
  w->budget = *budget;
}

void work_start_input(struct work *w, const struct work_budget *budget, struct json_object *input, long line) {
  start(w, budget);
  w->input = input;
  w->line = line;
}

void work_start_window(struct work *w, const struct work_budget *budget, const char *flow, const char *stage,
                       const char *key, int64_t at_ms) {
  start(w, budget);
  /* NUL-separated, so no two (flow, stage, key, time) give one name. */
  size_t nf = strlen(flow) + 1, ns = strlen(stage) + 1, nk = strlen(key) + 1;
  char when[24];
  int nt = snprintf(when, sizeof when, "%" PRId64, at_ms);
  char *name = malloc(7 + nf + ns + nk + (size_t)nt);
  if (!name) return;   /* left unnamed: its first emission names it as an input with no text */
  memcpy(name, "window", 7);
  memcpy(name + 7, flow, nf);
  memcpy(name + 7 + nf, stage, ns);
  memcpy(name + 7 + nf + ns, key, nk);
  memcpy(name + 7 + nf + ns + nk, when, (size_t)nt);
  uuid_generate_sha1(w->name, efc_namespace, name, 7 + nf + ns + nk + (size_t)nt);
  w->named = 1;
  free(name);
}

/* An input's name: "event" and its id; without one, "line", the line
 * number and the event's text (what a replay of the same input gives). */
static int name_input(struct work *w) {
  struct json_object *id = NULL;
  const char *text;
  char head[40];
  int nh;
  if (json_object_object_get_ex(w->input, "id", &id) && json_object_is_type(id, json_type_string)) {
    nh = snprintf(head, sizeof head, "event");
    text = json_object_get_string(id);
  } else {
    nh = snprintf(head, sizeof head, "line%ld", w->line);
    text = w->input ? json_object_to_json_string_ext(w->input, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE) : "";
    if (!text) return -1;
  }
  size_t nt = strlen(text);
  char *name = malloc((size_t)nh + 1 + nt);
  if (!name) return -1;
  memcpy(name, head, (size_t)nh + 1);
  memcpy(name + nh + 1, text, nt);
  uuid_generate_sha1(w->name, efc_namespace, name, (size_t)nh + 1 + nt);
  free(name);
  w->named = 1;
  return 0;
}

int work_next_id(struct work *w, const char *flow, char out[static 37]) {
  if (!w->named && name_input(w) != 0) return -1;
  size_t nf = strlen(flow) + 1;
  char *name = malloc(nf + 24);
  if (!name) return -1;
  memcpy(name, flow, nf);
  int ni = snprintf(name + nf, 24, "%" PRIu64, w->emissions++);
  uuid_t id;
  uuid_generate_sha1(id, w->name, name, nf + (size_t)ni);
  free(name);
  uuid_unparse_lower(id, out);
  return 0;
}

int work_charge_event(struct work *w, size_t bytes) {
  if (!w->spent && w->events + 1 > w->budget.events) w->spent = "events";
  if (!w->spent && w->bytes + bytes > w->budget.bytes) w->spent = "bytes";
  if (w->spent) {
    w->refused++;
    return -1;
  }
  w->events++;
  w->bytes += bytes;
  return 0;
}

int work_charge_row(struct work *w) {
  if (!w->spent && w->rows + 1 > w->budget.rows) w->spent = "rows";
  if (w->spent) return -1;
  w->rows++;
  return 0;
}

int work_report(const struct work *w, char *buf, size_t size) {
  if (!w->spent) return 0;
  char what[160];
  if (strcmp(w->spent, "events") == 0)
    snprintf(what, sizeof what, "it emitted %" PRIu64 " events, the most one %s may cause", w->events,
             w->input ? "input event" : "window");
  else if (strcmp(w->spent, "bytes") == 0)
    snprintf(what, sizeof what, "it emitted %" PRIu64 " bytes of events and the next would pass the %" PRIu64
             " one %s may cause", w->bytes, w->budget.bytes, w->input ? "input event" : "window");
  else
    snprintf(what, sizeof what, "its stages passed on %" PRIu64 " rows, the most one %s may cause", w->rows,
             w->input ? "input event" : "window");
  char dropped[160] = "";
  if (w->refused || w->unrouted)
    snprintf(dropped, sizeof dropped, " (%" PRIu64 " more emitted event%s dropped, %" PRIu64 " emitted event%s not routed "
             "to the rules)", w->refused, w->refused == 1 ? "" : "s", w->unrouted, w->unrouted == 1 ? "" : "s");
  snprintf(buf, size, "work budget spent: %s; the rest of its work was stopped%s. Check for flows that fan out "
           "without bound, or raise the budget", what, dropped);
  return 1;
}

/* JSON text of a string without its quotes, as json-c writes it (with
 * JSON_C_TO_STRING_NOSLASHESCAPE). */
static size_t string_size(const char *s, size_t len) {
  size_t n = len;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\' || c == '\b' || c == '\n' || c == '\r' || c == '\t' || c == '\f') n += 1;
    else if (c < 0x20) n += 5;   /* \u00XX */
  }
  return n;
}

size_t work_json_size(struct json_object *v, size_t limit) {
  switch (json_object_get_type(v)) {
  case json_type_null: return 4;
  case json_type_boolean: return json_object_get_boolean(v) ? 4 : 5;
  case json_type_int: return (size_t)snprintf(NULL, 0, "%" PRId64, json_object_get_int64(v));
  case json_type_double: return 24;
  case json_type_string: return 2 + string_size(json_object_get_string(v), (size_t)json_object_get_string_len(v));
  case json_type_object: {
    size_t n = 2, members = 0;
    json_object_object_foreach(v, k, m) {
      n += (members++ ? 1 : 0) + 3 + string_size(k, strlen(k)) + work_json_size(m, limit);
      if (n > limit) break;
    }
    return n;
  }
  case json_type_array: {
    size_t n = 2, len = json_object_array_length(v);
    for (size_t i = 0; i < len && n <= limit; i++) n += (i ? 1 : 0) + work_json_size(json_object_array_get_idx(v, i), limit);
    return n;
  }
  }
  return 4;
}
