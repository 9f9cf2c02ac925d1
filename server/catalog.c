/* catalog.c — joins the Event Store's items into one program, and works out
 * the writes of each store operation (see catalog.h).
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "catalog.h"
#include "check.h"
#include "compile.h"
#include "fmt.h"
#include "parse.h"
#include "pattern.h"
#include "stdlib_files.h"

#define STORED_JSON_DEPTH 64   /* stored attribute text: what efc itself writes is shallow */

/* ---- small things ------------------------------------------------------- */

void catalog_result_init(struct catalog_result *r) {
  memset(r, 0, sizeof *r);
  diag_init(&r->diag);
}

void catalog_result_free(struct catalog_result *r) {
  diag_free(&r->diag);
  memset(r, 0, sizeof *r);
}

void catalog_change_free(struct catalog_change *c) {
  evstore_list_free(&c->puts);
  evstore_list_free(&c->deletes);
  evstore_list_free(&c->creates);
}

int catalog_http_status(enum catalog_outcome outcome) {
  static const int status[] = {
#define CATALOG_OUTCOME_STATUS(name, code) code,
    CATALOG_OUTCOMES(CATALOG_OUTCOME_STATUS)
#undef CATALOG_OUTCOME_STATUS
  };
  return (unsigned)outcome < sizeof status / sizeof *status ? status[outcome] : 500;
}

static enum catalog_outcome fail(struct catalog_result *r, enum catalog_outcome outcome, const char *fmt, ...)
  __attribute__((format(printf, 3, 4)));
static enum catalog_outcome fail(struct catalog_result *r, enum catalog_outcome outcome, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->message, sizeof r->message, fmt, ap);
  va_end(ap);
  return r->outcome = outcome;
}

int catalog_valid_id(const char *id) {
  size_t n = id ? strlen(id) : 0;
  if (n == 0 || n > CATALOG_ID_MAX || id[0] == '.') return 0;
  return strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

struct json_object *catalog_parse_json(const char *text, size_t length, int depth, char *why, size_t why_size) {
  if (length > INT32_MAX) {
    snprintf(why, why_size, "too long");
    return NULL;
  }
  struct json_tokener *tok = json_tokener_new_ex(depth);
  if (!tok) {
    snprintf(why, why_size, "out of memory");
    return NULL;
  }
  json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
  struct json_object *o = json_tokener_parse_ex(tok, text, (int)length);
  enum json_tokener_error e = json_tokener_get_error(tok);
  if (e == json_tokener_continue) {
    snprintf(why, why_size, "the text ends inside a JSON value");
  } else if (e != json_tokener_success) {
    if (e == json_tokener_error_depth) snprintf(why, why_size, "JSON nested deeper than %d levels", depth);
    else snprintf(why, why_size, "%s at byte %zu", json_tokener_error_desc(e), json_tokener_get_parse_end(tok) + 1);
  } else {
    size_t end = json_tokener_get_parse_end(tok);
    while (end < length && strchr(" \t\r\n", text[end])) end++;
    if (end == length && o) {
      json_tokener_free(tok);
      return o;
    }
    if (end == length) snprintf(why, why_size, "the JSON value is null");   /* json-c's null is NULL */
    else snprintf(why, why_size, "unexpected text after the JSON value at byte %zu", end + 1);
  }
  json_object_put(o);
  json_tokener_free(tok);
  return NULL;
}

static struct json_object *stored_json(const char *text) {
  char why[200];
  return text ? catalog_parse_json(text, strlen(text), STORED_JSON_DEPTH, why, sizeof why) : NULL;
}

static struct json_object *get(struct json_object *o, const char *name) {
  struct json_object *v = NULL;
  return json_object_is_type(o, json_type_object) && json_object_object_get_ex(o, name, &v) ? v : NULL;
}

static const char *get_string(struct json_object *o, const char *name) {
  struct json_object *v = get(o, name);
  return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* Sets *slot to the text of o (or keeps it when o is NULL).  0 or -1. */
static int set_text(char **slot, struct json_object *o) {
  char *text = strdup(json_object_to_json_string_ext(o, CATALOG_TEXT_FLAGS));
  if (!text) return -1;
  free(*slot);
  *slot = text;
  return 0;
}

/* The length of an array; 0 for anything else (stored text may be odd). */
static size_t array_length(struct json_object *a) {
  return json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;
}

/* The string at index i of an array, or NULL. */
static const char *string_at(struct json_object *a, size_t i) {
  struct json_object *v = json_object_array_get_idx(a, i);
  return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static int array_has_string(struct json_object *a, const char *s) {
  for (size_t i = 0; i < array_length(a); i++)
    if (string_at(a, i) && strcmp(string_at(a, i), s) == 0) return 1;
  return 0;
}

/* ---- the program of the stored items ------------------------------------- */

struct build {
  struct diag *diag;            /* the result's */
  struct program *program;
  const struct source *main;    /* the posted source (or an empty one) */
  struct compilation comp;
  int compiled;
};

/* What build_program() parses. */
enum build_flags {
  BUILD_ALL = 0,
  /* Not the stored flows' sources (their required declarations still):
   * enough to check a new flow, whose names are checked against the items,
   * and about half the work. */
  BUILD_WITHOUT_FLOWS = 1,
};

static void build_free(struct build *b) {
  if (b->compiled) compilation_free(&b->comp);
  ast_program_free(b->program);
  memset(b, 0, sizeof *b);
}

static int module_loaded(const struct program *p, const char *module) {
  for (const struct decl *d = p->decls; d; d = d->next)
    if (d->module && strcmp(d->module, module) == 0) return 1;
  return 0;
}

/* Parses the stdlib modules every import names (imports may import), as
 * parse_program() does for the main file. */
static void load_modules(struct build *b) {
  for (const struct decl *d = b->program->decls; d; d = d->next) {
    if (d->kind != D_IMPORT || strncmp(d->name, "std.", 4) != 0 || module_loaded(b->program, d->name + 4)) continue;
    for (const struct stdlib_file *f = stdlib_files; f->name; f++) {
      if (strcmp(f->name, d->name + 4) != 0) continue;
      char path[128];
      snprintf(path, sizeof path, "<stdlib>/%s.flow", f->name);
      parse_source(b->program, b->diag, diag_add_source(b->diag, path, f->text, strlen(f->text)), f->name);
    }
  }
}

/* The parsed Data of a stored item with a declaration source. */
static struct json_object *item_data(const struct evstore_item *it, struct catalog_result *r) {
  struct json_object *data = stored_json(it->data);
  if (!data || !get_string(data, "source")) {
    json_object_put(data);
    fail(r, CATALOG_INVALID, "%s `%s` has no declaration source (Data.source); load the output of "
         "`efc compile` from this version of efc", strcmp(it->pk, EVSTORE_PK_FLOW) == 0 ? "flow" : "event", it->sk);
    return NULL;
  }
  return data;
}

/* A declaration of the main source, other than an import, that a stored
 * declaration already is (same kind, name and canonical text) is dropped:
 * posting a flow together with the events it uses works when they match. */
static char *canonical(const struct program *p, const struct decl *d) {
  struct decl copy = *d;
  if (d->kind == D_EVENT) copy.source = check_event_source(p, d);
  struct printbuf *pb = printbuf_new();
  fmt_decl(&copy, pb);
  char *s = strdup(pb->buf);
  printbuf_free(pb);
  return s;
}

static void drop_restated(struct build *b) {
  for (struct decl **at = &b->program->decls; *at;) {
    struct decl *d = *at;
    const struct decl *same = NULL;
    if (d->loc.src == b->main && !d->module && d->kind != D_IMPORT && d->kind != D_FLOW && d->kind != D_ROUTE) {
      for (const struct decl *o = b->program->decls; o && !same; o = o->next)
        if (o != d && o->kind == d->kind && !o->module && o->loc.src != b->main && o->name && d->name &&
            strcmp(o->name, d->name) == 0) {
          char *x = canonical(b->program, d), *y = canonical(b->program, o);
          if (x && y && strcmp(x, y) == 0) same = o;
          free(x);
          free(y);
        }
    }
    if (same) *at = d->next;
    else at = &d->next;
  }
}

/* Appends a borrowed string to a growing array: 1, or 0 when out of memory. */
static int names_add(const char ***at, size_t *count, size_t *cap, const char *name) {
  if (*count == *cap) {
    size_t n = *cap ? *cap * 2 : 16;
    const char **grown = realloc(*at, n * sizeof *grown);
    if (!grown) return 0;
    *at = grown;
    *cap = n;
  }
  (*at)[(*count)++] = name;
  return 1;
}

/* Parses the main source and every stored item into one program.  A check
 * hook may look at the parsed program before it is checked (POST /flow
 * checks the shape of the posted source there).  Returns OK, or the outcome
 * with the reason in r. */
typedef enum catalog_outcome (*build_hook)(struct build *b, const struct evstore_list *items, struct catalog_result *r,
                                           void *ctx);

static enum catalog_outcome build_program(struct build *b, const struct evstore_list *items, const char *main_path,
                                          const char *text, size_t length, const char *app, enum build_flags flags,
                                          build_hook hook, void *hook_ctx, struct catalog_result *r) {
  memset(b, 0, sizeof *b);
  b->diag = &r->diag;
  b->main = diag_add_source(b->diag, main_path, text, length);
  b->program = parse_program(b->diag, b->main);
  b->program->app = arena_strdup(&b->program->arena, app);
  b->program->default_source = arena_printf(&b->program->arena, "efc.%s", app);
  if (b->diag->errors) return fail(r, CATALOG_COMPILE, "the source has syntax errors");

  /* The stored items' imports that the main source does not have, as one
   * more source of import lines: so they are the program's imports, and
   * every compiled item lists them. */
  struct printbuf *imports = printbuf_new();
  struct json_object **datas = calloc(items->count + 1, sizeof *datas);
  struct names { const char **at; size_t count, cap; } added = { 0 }, seen = { 0 };
  enum catalog_outcome outcome = CATALOG_OK;
  if (!imports || !datas) outcome = fail(r, CATALOG_INTERNAL, "out of memory");
  for (size_t i = 0; i < items->count && outcome == CATALOG_OK; i++) {
    if (!(datas[i] = item_data(&items->items[i], r))) {
      outcome = CATALOG_INVALID;
      break;
    }
    struct json_object *list = get(datas[i], "imports");
    for (size_t k = 0; k < array_length(list) && outcome == CATALOG_OK; k++) {
      const char *name = string_at(list, k);
      int have = !name || strncmp(name, "std.", 4) != 0;   /* only stdlib modules exist */
      for (const struct decl *d = b->program->decls; d && !have; d = d->next)
        have = d->kind == D_IMPORT && !d->module && strcmp(d->name, name) == 0;
      for (size_t a = 0; a < added.count && !have; a++) have = strcmp(added.at[a], name) == 0;
      if (have) continue;
      if (!names_add(&added.at, &added.count, &added.cap, name)) outcome = fail(r, CATALOG_INTERNAL, "out of memory");
      sprintbuf(imports, "import %s\n", name);
    }
  }
  if (outcome == CATALOG_OK && added.count) {
    const struct source *src = diag_add_source(b->diag, "store:imports", imports->buf, (size_t)imports->bpos);
    parse_source(b->program, b->diag, src, NULL);
  }
  if (outcome == CATALOG_OK) load_modules(b);

  /* Each item's required declarations (once per text), then the item. */
  for (size_t i = 0; i < items->count && outcome == CATALOG_OK; i++) {
    const struct evstore_item *it = &items->items[i];
    char path[EVSTORE_MAX_KEY + 32];
    snprintf(path, sizeof path, "store:%s/%s", it->pk, it->sk);
    struct json_object *req = get(datas[i], "requires");
    for (size_t k = 0; k < array_length(req) && outcome == CATALOG_OK; k++) {
      const char *t = string_at(req, k);
      int have = !t;
      for (size_t a = 0; a < seen.count && !have; a++) have = strcmp(seen.at[a], t) == 0;
      if (have) continue;
      if (!names_add(&seen.at, &seen.count, &seen.cap, t)) outcome = fail(r, CATALOG_INTERNAL, "out of memory");
      parse_source(b->program, b->diag, diag_add_source(b->diag, path, t, strlen(t)), NULL);
    }
    if ((flags & BUILD_WITHOUT_FLOWS) && strcmp(it->pk, EVSTORE_PK_FLOW) == 0) continue;
    const char *source = get_string(datas[i], "source");
    parse_source(b->program, b->diag, diag_add_source(b->diag, path, source, strlen(source)), NULL);
  }
  if (outcome == CATALOG_OK && b->diag->errors) outcome = fail(r, CATALOG_COMPILE, "the stored items do not parse");
  if (outcome == CATALOG_OK) drop_restated(b);
  if (outcome == CATALOG_OK && hook) outcome = hook(b, items, r, hook_ctx);
  if (outcome == CATALOG_OK && check_program(b->program, b->diag) != 0)
    outcome = fail(r, CATALOG_COMPILE, "the flow does not check against the stored events");
  if (outcome == CATALOG_OK) {
    if (compile_program(b->program, b->diag, NULL, &b->comp) != 0) {
      compilation_free(&b->comp);
      outcome = fail(r, CATALOG_COMPILE, "the flow does not compile");
    } else {
      b->compiled = 1;
    }
  }
  for (size_t i = 0; datas && i < items->count; i++) json_object_put(datas[i]);
  free(datas);
  free(added.at);
  free(seen.at);
  if (imports) printbuf_free(imports);
  return outcome;
}

/* The compiled item pk/sk (from comp.store_json) into out: 0, or -1 when
 * there is none (or no memory). */
static int compiled_item(const struct build *b, const char *pk, const char *sk, struct evstore_item *out) {
  memset(out, 0, sizeof *out);
  for (size_t i = 0; i < array_length(b->comp.store_json); i++) {
    struct json_object *req = get(json_object_array_get_idx(b->comp.store_json, i), "RequestItems");
    json_object_object_foreach(req, table, puts) {
      (void)table;
      for (size_t k = 0; k < array_length(puts); k++) {
        struct json_object *it = get(get(json_object_array_get_idx(puts, k), "PutRequest"), "Item");
        const char *ipk = get_string(get(it, "PK"), "S"), *isk = get_string(get(it, "SK"), "S");
        if (!ipk || !isk || strcmp(ipk, pk) != 0 || strcmp(isk, sk) != 0) continue;
        struct evstore_item view = { (char *)ipk, (char *)isk, (char *)get_string(get(it, "Schema"), "S"),
                                     (char *)get_string(get(it, "RoutingConfig"), "S"), (char *)get_string(get(it, "Data"), "S"), 0 };
        return evstore_item_copy(out, &view);
      }
    }
  }
  return -1;
}

/* ---- routing configurations ------------------------------------------- */

/* The stored item's RoutingConfig, parsed (a fresh empty one if absent). */
static struct json_object *routing_of(const struct evstore_item *it) {
  struct json_object *r = stored_json(it->routing);
  if (!json_object_is_type(r, json_type_object)) {
    json_object_put(r);
    r = json_object_new_object();
  }
  if (!json_object_is_type(get(r, "rules"), json_type_array)) json_object_object_add(r, "rules", json_object_new_array());
  if (!json_object_is_type(get(r, "emittedBy"), json_type_array))
    json_object_object_add(r, "emittedBy", json_object_new_array());
  return r;
}

static int rule_is(struct json_object *rule, const char *kind, const char *entry) {
  const char *k = get_string(rule, "kind"), *e = get_string(rule, "entry");
  return k && e && strcmp(k, kind) == 0 && strcmp(e, entry) == 0;
}

/* Removes the rules of flow `flow` and its name from emittedBy.  Returns
 * whether anything changed. */
static int routing_drop_flow(struct json_object *routing, const char *flow) {
  int changed = 0;
  struct json_object *rules = get(routing, "rules"), *kept = json_object_new_array();
  for (size_t i = 0; i < array_length(rules); i++) {
    struct json_object *rule = json_object_array_get_idx(rules, i);
    if (rule_is(rule, "flow", flow)) changed = 1;
    else json_object_array_add(kept, json_object_get(rule));
  }
  json_object_object_add(routing, "rules", kept);
  struct json_object *by = get(routing, "emittedBy"), *by_kept = json_object_new_array();
  for (size_t i = 0; i < array_length(by); i++) {
    struct json_object *name = json_object_array_get_idx(by, i);
    if (string_at(by, i) && strcmp(string_at(by, i), flow) == 0) changed = 1;
    else json_object_array_add(by_kept, json_object_get(name));
  }
  json_object_object_add(routing, "emittedBy", by_kept);
  return changed;
}

/* ---- POST /flow --------------------------------------------------------- */

struct add_flow {
  const char *flow;             /* the posted flow's name, once found */
};

/* The posted source: exactly one flow, no route; its name and the events it
 * declares are new. */
static enum catalog_outcome check_posted(struct build *b, const struct evstore_list *items, struct catalog_result *r,
                                         void *ctx) {
  struct add_flow *af = ctx;
  const struct decl *flow = NULL;
  for (const struct decl *d = b->program->decls; d; d = d->next) {
    if (d->loc.src != b->main || d->module) continue;
    if (d->kind == D_ROUTE) {
      diag_error(b->diag, d->loc, "POST /flow takes a flow, not a route");
      diag_hint(b->diag, "routes are deployed with `efc compile`; the Event Store keeps events and flows");
    } else if (d->kind == D_FLOW && flow) {
      diag_error(b->diag, d->name_loc, "POST /flow takes one flow; `%s` is a second one", d->name);
      diag_hint(b->diag, "post each flow on its own");
    } else if (d->kind == D_FLOW) {
      flow = d;
    }
  }
  if (!flow) {
    diag_error(b->diag, (struct loc){ b->main, 1, 1, 1, 1 }, "the source declares no flow");
    diag_hint(b->diag, "POST /flow takes the source of one flow, e.g. flow name { on Event | ... -> emit Other }");
  }
  if (b->diag->errors) return fail(r, CATALOG_COMPILE, "the source is not one flow");
  if (!catalog_valid_id(flow->name))
    return fail(r, CATALOG_INVALID, "the flow's name `%.200s` is not an id: 1 to %d of A-Z a-z 0-9 _ . -, not starting with '.'",
                flow->name, CATALOG_ID_MAX);
  if (evstore_list_find(items, EVSTORE_PK_FLOW, flow->name))
    return fail(r, CATALOG_EXISTS, "flow `%s` exists; DELETE /flow/%s first to replace it", flow->name, flow->name);
  for (const struct decl *d = b->program->decls; d; d = d->next) {
    /* Stored flows are not parsed (BUILD_WITHOUT_FLOWS): their names are checked here. */
    if (d->loc.src == b->main && !d->module && d->kind == D_STAGE && evstore_list_find(items, EVSTORE_PK_FLOW, d->name))
      return fail(r, CATALOG_EXISTS, "`%s` is the name of a stored flow; give the %s another name", d->name,
                  d->stage_kind == SK_FILTER ? "filter" : d->stage_kind == SK_TRANSFORMER ? "transformer" : "view");
    if (d->loc.src != b->main || d->module || d->kind != D_EVENT) continue;
    if (!catalog_valid_id(d->name))
      return fail(r, CATALOG_INVALID, "the event's name `%.200s` is not an id: 1 to %d of A-Z a-z 0-9 _ . -", d->name,
                  CATALOG_ID_MAX);
    if (evstore_list_find(items, EVSTORE_PK_EVENTS, d->name))
      return fail(r, CATALOG_EXISTS, "event `%s` is stored with another declaration; use it as stored, "
                  "or give the new event another name", d->name);
  }
  af->flow = flow->name;
  return CATALOG_OK;
}

enum catalog_outcome catalog_add_flow(const struct evstore_list *items, const char *source, size_t length,
                                      const char *app, struct catalog_change *change, char **flow_name,
                                      struct catalog_result *r) {
  struct build b;
  struct add_flow af = { NULL };
  *flow_name = NULL;
  enum catalog_outcome outcome = build_program(&b, items, CATALOG_REQUEST_PATH, source, length,
                                               app ? app : CATALOG_DEFAULT_APP, BUILD_WITHOUT_FLOWS, check_posted, &af, r);
  if (outcome != CATALOG_OK) {
    build_free(&b);
    return outcome;
  }
  const struct decl *flow = check_find(b.program, D_FLOW, af.flow);
  int oom = !(*flow_name = strdup(af.flow));
  /* The new items: the flow and the events the posted source declares. */
  for (const struct decl *d = b.program->decls; d && !oom; d = d->next) {
    if (d->loc.src != b.main || d->module || (d->kind != D_FLOW && d->kind != D_EVENT)) continue;
    struct evstore_item it;
    oom = compiled_item(&b, d->kind == D_FLOW ? EVSTORE_PK_FLOW : EVSTORE_PK_EVENTS, d->name, &it) != 0 ||
          evstore_list_push(&change->creates, &it) != 0;
    evstore_item_free(&it);
  }
  /* The stored events it listens to get its rules; the one it emits, its name. */
  for (size_t i = 0; i < items->count && !oom; i++) {
    const struct evstore_item *it = &items->items[i];
    if (strcmp(it->pk, EVSTORE_PK_EVENTS) != 0) continue;
    int listens = 0, emits = flow->emit && strcmp(flow->emit->name, it->sk) == 0;
    for (const struct name_ref *on = flow->on; on; on = on->next) listens |= strcmp(on->name, it->sk) == 0;
    if (!listens && !emits) continue;
    struct evstore_item compiled;
    int have = compiled_item(&b, EVSTORE_PK_EVENTS, it->sk, &compiled) == 0;
    struct json_object *routing = routing_of(it), *fresh = have ? routing_of(&compiled) : NULL;
    evstore_item_free(&compiled);
    struct json_object *rules = get(routing, "rules"), *fresh_rules = get(fresh, "rules");
    for (size_t k = 0; k < array_length(fresh_rules); k++)
      if (rule_is(json_object_array_get_idx(fresh_rules, k), "flow", af.flow))
        json_object_array_add(rules, json_object_get(json_object_array_get_idx(fresh_rules, k)));
    struct json_object *by = get(routing, "emittedBy");
    if (emits && !array_has_string(by, af.flow)) json_object_array_add(by, json_object_new_string(af.flow));
    struct evstore_item updated;
    oom = evstore_item_copy(&updated, it) != 0;
    if (!oom) {
      oom = set_text(&updated.routing, routing) != 0 || evstore_list_push(&change->puts, &updated) != 0;
      evstore_item_free(&updated);
    }
    json_object_put(routing);
    json_object_put(fresh);
  }
  build_free(&b);
  if (oom) {
    free(*flow_name);
    *flow_name = NULL;
    return fail(r, CATALOG_INTERNAL, "out of memory");
  }
  return r->outcome = CATALOG_OK;
}

/* ---- DELETE /flow/{id} --------------------------------------------------- */

enum catalog_outcome catalog_remove_flow(const struct evstore_list *items, const char *flow,
                                         struct catalog_change *change, struct catalog_result *r) {
  const struct evstore_item *it = evstore_list_find(items, EVSTORE_PK_FLOW, flow);
  if (!it) return fail(r, CATALOG_NOT_FOUND, "no flow `%s`", flow);
  if (evstore_list_push(&change->deletes, it) != 0) return fail(r, CATALOG_INTERNAL, "out of memory");
  char quoted[CATALOG_ID_MAX + 3];
  snprintf(quoted, sizeof quoted, "\"%s\"", flow);
  for (size_t i = 0; i < items->count; i++) {
    const struct evstore_item *ev = &items->items[i];
    /* Only a routing that names the flow can change (ids need no escaping). */
    if (strcmp(ev->pk, EVSTORE_PK_EVENTS) != 0 || !ev->routing || !strstr(ev->routing, quoted)) continue;
    struct json_object *routing = routing_of(ev);
    if (routing_drop_flow(routing, flow)) {
      struct evstore_item updated;
      int oom = evstore_item_copy(&updated, ev) != 0;
      if (!oom) oom = set_text(&updated.routing, routing) != 0 || evstore_list_push(&change->puts, &updated) != 0;
      evstore_item_free(&updated);
      if (oom) {
        json_object_put(routing);
        return fail(r, CATALOG_INTERNAL, "out of memory");
      }
    }
    json_object_put(routing);
  }
  return r->outcome = CATALOG_OK;
}

/* ---- POST /route/{event-id} --------------------------------------------- */

/* EventBridge rule names: 1-64 of . - _ A-Z a-z 0-9. */
static int valid_rule_name(const char *s) {
  size_t n = strlen(s);
  return n >= 1 && n <= 64 && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

/* The pattern keeps the event's source and detail-type, so only this
 * event's instances reach the entry (its code expects their shape). */
static int pins(struct json_object *pattern, const char *key, const char *value) {
  struct json_object *a = get(pattern, key);
  return json_object_is_type(a, json_type_array) && array_length(a) == 1 &&
         json_object_is_type(json_object_array_get_idx(a, 0), json_type_string) &&
         strcmp(json_object_get_string(json_object_array_get_idx(a, 0)), value) == 0;
}

static int flow_listens(const struct evstore_list *items, const char *flow, const char *event) {
  const struct evstore_item *it = evstore_list_find(items, EVSTORE_PK_FLOW, flow);
  struct json_object *data = it ? stored_json(it->data) : NULL;
  int yes = array_has_string(get(data, "on"), event);
  json_object_put(data);
  return yes;
}

static enum catalog_outcome check_rule(const struct evstore_list *items, const char *event, struct json_object *stored,
                                       struct json_object *rule, size_t index, struct json_object *out_rules,
                                       struct catalog_result *r) {
  if (!json_object_is_type(rule, json_type_object))
    return fail(r, CATALOG_INVALID, "rules[%zu] is not an object", index);
  json_object_object_foreach(rule, key, value) {
    (void)value;
    if (strcmp(key, "rule") && strcmp(key, "entry") && strcmp(key, "kind") && strcmp(key, "pattern") && strcmp(key, "residual"))
      return fail(r, CATALOG_INVALID, "rules[%zu] has an unknown member \"%.64s\" (a rule has rule, entry, kind, pattern, residual)",
                  index, key);
  }
  const char *name = get_string(rule, "rule"), *entry = get_string(rule, "entry"), *kind = get_string(rule, "kind");
  struct json_object *pattern = get(rule, "pattern");
  if (!name || !valid_rule_name(name))
    return fail(r, CATALOG_INVALID, "rules[%zu].rule must be an EventBridge rule name: 1 to 64 of A-Z a-z 0-9 . _ -", index);
  if (!entry || !kind || (strcmp(kind, "flow") != 0 && strcmp(kind, "route") != 0))
    return fail(r, CATALOG_INVALID, "rules[%zu] needs \"entry\" (a name) and \"kind\" (\"flow\" or \"route\")", index);
  if (get(rule, "residual") && !get_string(rule, "residual"))
    return fail(r, CATALOG_INVALID, "rules[%zu].residual must be a string", index);
  const char *residual = NULL;
  struct json_object *stored_rules = get(stored, "rules"), *stored_rule = NULL;
  for (size_t i = 0; i < array_length(stored_rules); i++)
    if (rule_is(json_object_array_get_idx(stored_rules, i), kind, entry)) stored_rule = json_object_array_get_idx(stored_rules, i);
  if (strcmp(kind, "flow") == 0 && !flow_listens(items, entry, event))
    return fail(r, CATALOG_INVALID, "rules[%zu]: %s", index,
                evstore_list_find(items, EVSTORE_PK_FLOW, entry) ? "that flow does not listen to this event"
                                                                : "no such flow in the store");
  if (strcmp(kind, "route") == 0 && !stored_rule)
    return fail(r, CATALOG_INVALID, "rules[%zu]: event has no route `%.128s`; routes come from `efc compile`, "
                "a routing configuration can change their patterns but not add them", index, entry);
  for (size_t i = 0; i < array_length(out_rules); i++) {
    struct json_object *other = json_object_array_get_idx(out_rules, i);
    if (rule_is(other, kind, entry))
      return fail(r, CATALOG_INVALID, "rules[%zu]: a second rule for %s `%.128s`", index, kind, entry);
    if (strcmp(get_string(other, "rule"), name) == 0)
      return fail(r, CATALOG_INVALID, "rules[%zu]: a second rule named `%s`", index, name);
  }
  if (!json_object_is_type(pattern, json_type_object))
    return fail(r, CATALOG_INVALID, "rules[%zu].pattern must be an event pattern (a JSON object)", index);
  char reason[400];
  if (pattern_validate(pattern, reason, sizeof reason) != 0)
    return fail(r, CATALOG_INVALID, "rules[%zu].pattern: %s", index, reason);
  const char *source = get_string(stored, "source"), *detail_type = get_string(stored, "detailType");
  if ((source && !pins(pattern, "source", source)) || (detail_type && !pins(pattern, "detail-type", detail_type)))
    return fail(r, CATALOG_INVALID, "rules[%zu].pattern must keep \"source\": [\"%s\"] and \"detail-type\": [\"%s\"], "
                "so that only `%s` events reach `%.128s`", index, source ? source : "", detail_type ? detail_type : "",
                event, entry);
  /* The residual is the entry's code: it stays what the compiler said. */
  residual = stored_rule ? get_string(stored_rule, "residual") : NULL;
  struct json_object *clean = json_object_new_object();
  json_object_object_add(clean, "rule", json_object_new_string(name));
  json_object_object_add(clean, "entry", json_object_new_string(entry));
  json_object_object_add(clean, "kind", json_object_new_string(kind));
  json_object_object_add(clean, "pattern", json_object_get(pattern));
  if (residual) json_object_object_add(clean, "residual", json_object_new_string(residual));
  json_object_array_add(out_rules, clean);
  return CATALOG_OK;
}

enum catalog_outcome catalog_set_routing(const struct evstore_list *items, const char *event,
                                         struct json_object *routing, struct catalog_change *change,
                                         struct catalog_result *r) {
  const struct evstore_item *it = evstore_list_find(items, EVSTORE_PK_EVENTS, event);
  if (!it) return fail(r, CATALOG_NOT_FOUND, "no event `%s`", event);
  if (!json_object_is_type(routing, json_type_object))
    return fail(r, CATALOG_INVALID, "the body must be a routing configuration: {\"rules\": [...]}");
  struct json_object *stored = routing_of(it);
  enum catalog_outcome outcome = CATALOG_OK;
  json_object_object_foreach(routing, key, value) {
    if (strcmp(key, "rules") == 0) continue;
    if (strcmp(key, "source") != 0 && strcmp(key, "detailType") != 0 && strcmp(key, "emittedBy") != 0) {
      outcome = fail(r, CATALOG_INVALID, "unknown member \"%.64s\" (a routing configuration has source, detailType, "
                     "rules, emittedBy)", key);
      break;
    }
    /* These follow from the declarations: they may be sent back, unchanged. */
    struct json_object *was = get(stored, key);
    if (!json_object_equal(was, value)) {
      outcome = fail(r, CATALOG_INVALID, "\"%s\" is %s and cannot be changed here (it follows from the declarations)", key,
                     json_object_to_json_string_ext(was, CATALOG_TEXT_FLAGS));
      break;
    }
  }
  struct json_object *rules = get(routing, "rules");
  if (outcome == CATALOG_OK && !json_object_is_type(rules, json_type_array))
    outcome = fail(r, CATALOG_INVALID, "\"rules\" must be an array of rules");
  struct json_object *out_rules = json_object_new_array();
  for (size_t i = 0; outcome == CATALOG_OK && i < array_length(rules); i++)
    outcome = check_rule(items, event, stored, json_object_array_get_idx(rules, i), i, out_rules, r);
  if (outcome == CATALOG_OK) {
    json_object_object_add(stored, "rules", out_rules);
    out_rules = NULL;
    struct evstore_item updated;
    int oom = evstore_item_copy(&updated, it) != 0;
    if (!oom) oom = set_text(&updated.routing, stored) != 0 || evstore_list_push(&change->puts, &updated) != 0;
    evstore_item_free(&updated);
    if (oom) outcome = fail(r, CATALOG_INTERNAL, "out of memory");
    else r->outcome = CATALOG_OK;
  }
  json_object_put(out_rules);
  json_object_put(stored);
  return outcome;
}

/* ---- efc store load ----------------------------------------------------- */

static int is_flow_of(const struct evstore_list *l, const char *name) {
  return evstore_list_find(l, EVSTORE_PK_FLOW, name) != NULL;
}

/* The rules of an incoming event: its own, then the stored ones of entries
 * it does not mention (other applications' flows, still stored). */
static int merge_routing(struct evstore_item *merged, const struct evstore_item *stored, const struct evstore_list *incoming,
                         const struct evstore_list *result) {
  struct json_object *in = routing_of(merged), *old = routing_of(stored);
  struct json_object *rules = get(in, "rules"), *old_rules = get(old, "rules");
  for (size_t i = 0; i < array_length(old_rules); i++) {
    struct json_object *rule = json_object_array_get_idx(old_rules, i);
    const char *kind = get_string(rule, "kind"), *entry = get_string(rule, "entry");
    if (!kind || !entry) continue;
    int mentioned = 0;
    for (size_t k = 0; k < array_length(rules) && !mentioned; k++)
      mentioned = rule_is(json_object_array_get_idx(rules, k), kind, entry);
    if (mentioned || (strcmp(kind, "flow") == 0 && (is_flow_of(incoming, entry) || !is_flow_of(result, entry)))) continue;
    json_object_array_add(rules, json_object_get(rule));
  }
  struct json_object *by = get(in, "emittedBy"), *old_by = get(old, "emittedBy");
  for (size_t i = 0; i < array_length(old_by); i++) {
    const char *name = string_at(old_by, i);
    if (name && !array_has_string(by, name) && !is_flow_of(incoming, name)) json_object_array_add(by, json_object_new_string(name));
  }
  int rc = set_text(&merged->routing, in);
  json_object_put(in);
  json_object_put(old);
  return rc;
}

enum catalog_outcome catalog_load(const struct evstore_list *items, const struct evstore_list *incoming,
                                  struct catalog_change *change, struct catalog_result *r) {
  for (size_t i = 0; i < incoming->count; i++) {
    const struct evstore_item *it = &incoming->items[i];
    if (!catalog_valid_id(it->sk))
      return fail(r, CATALOG_INVALID, "%s `%.200s`: the name is not an id of the HTTP API (1 to %d of A-Z a-z 0-9 _ . -, "
                  "not starting with '.')", it->pk, it->sk, CATALOG_ID_MAX);
    struct json_object *data = item_data(it, r);
    if (!data) return CATALOG_INVALID;
    json_object_put(data);
  }
  /* The store as it will be: stored items not replaced, then the incoming. */
  struct evstore_list result = { 0 };
  int oom = 0;
  for (size_t i = 0; i < items->count && !oom; i++)
    if (!evstore_list_find(incoming, items->items[i].pk, items->items[i].sk)) oom = evstore_list_push(&result, &items->items[i]);
  for (size_t i = 0; i < incoming->count && !oom; i++) oom = evstore_list_push(&result, &incoming->items[i]);
  /* Events not in the load lose the rules of the flows it replaces. */
  for (size_t i = 0; i < result.count && !oom; i++) {
    struct evstore_item *it = &result.items[i];
    if (strcmp(it->pk, EVSTORE_PK_EVENTS) != 0) continue;
    const struct evstore_item *stored = evstore_list_find(items, it->pk, it->sk);
    int in_load = evstore_list_find(incoming, it->pk, it->sk) != NULL;
    if (in_load && stored) {
      oom = merge_routing(it, stored, incoming, &result) != 0;
    } else if (!in_load) {
      struct json_object *routing = routing_of(it);
      int changed = 0;
      for (size_t k = 0; k < incoming->count; k++)
        if (strcmp(incoming->items[k].pk, EVSTORE_PK_FLOW) == 0)
          changed |= routing_drop_flow(routing, incoming->items[k].sk);
      if (changed) {
        oom = set_text(&it->routing, routing) != 0;
        if (!oom) oom = evstore_list_push(&change->puts, it) != 0;
      }
      json_object_put(routing);
    }
  }
  if (oom) {
    evstore_list_free(&result);
    return fail(r, CATALOG_INTERNAL, "out of memory");
  }
  struct build b;
  enum catalog_outcome outcome = build_program(&b, &result, "<store>", "", 0, CATALOG_DEFAULT_APP, BUILD_ALL, NULL, NULL, r);
  if (outcome == CATALOG_COMPILE)
    snprintf(r->message, sizeof r->message, "the loaded items do not compile together with the stored ones");
  build_free(&b);
  for (size_t i = 0; i < result.count && outcome == CATALOG_OK && !oom; i++)
    if (evstore_list_find(incoming, result.items[i].pk, result.items[i].sk))
      oom = evstore_list_push(&change->puts, &result.items[i]) != 0;
  evstore_list_free(&result);
  if (oom) return fail(r, CATALOG_INTERNAL, "out of memory");
  if (outcome == CATALOG_OK) r->outcome = CATALOG_OK;
  return outcome;
}

/* ---- the image POST /events runs ------------------------------------------ */

static int add_string_constant(struct image *img, const char *text, uint16_t *index) {
  if (img->nconsts >= IMAGE_NONE) return -1;
  struct constant *c = realloc(img->consts, (img->nconsts + 1) * sizeof *c);
  if (!c) return -1;
  img->consts = c;
  size_t n = strlen(text);
  char *bytes = malloc(n + 1);
  if (!bytes) return -1;
  memcpy(bytes, text, n + 1);
  c[img->nconsts] = (struct constant){ .tag = CONST_STRING, .as.string = { bytes, (uint32_t)n } };
  *index = (uint16_t)img->nconsts++;
  return 0;
}

/* Gives every flow entry the stored pattern of its rule for each event, and
 * takes the event away from the entry when the event's routing has none. */
static enum catalog_outcome apply_routing(struct image *img, const struct evstore_list *items, struct catalog_result *r) {
  /* Each event's rules, parsed once: event name -> rules array. */
  struct json_object *rules_of = json_object_new_object();
  for (size_t i = 0; i < items->count; i++) {
    if (strcmp(items->items[i].pk, EVSTORE_PK_EVENTS) != 0) continue;
    struct json_object *routing = routing_of(&items->items[i]);
    json_object_object_add(rules_of, items->items[i].sk, json_object_get(get(routing, "rules")));
    json_object_put(routing);
  }
  enum catalog_outcome outcome = CATALOG_OK;
  for (uint32_t i = 0; i < img->nentries && outcome == CATALOG_OK; i++) {
    struct entry *en = &img->entries[i];
    if (en->kind != ENTRY_FLOW || en->nevents != en->npatterns) continue;
    const char *flow = img->consts[en->name].as.string.bytes;
    for (uint16_t p = 0; p < en->nevents && outcome == CATALOG_OK;) {
      struct json_object *rules = get(rules_of, img->consts[en->events[p]].as.string.bytes), *pattern = NULL;
      for (size_t k = 0; k < array_length(rules) && !pattern; k++)
        if (rule_is(json_object_array_get_idx(rules, k), "flow", flow)) pattern = get(json_object_array_get_idx(rules, k), "pattern");
      if (!pattern) {
        memmove(&en->events[p], &en->events[p + 1], (size_t)(en->nevents - p - 1) * sizeof *en->events);
        memmove(&en->patterns[p], &en->patterns[p + 1], (size_t)(en->npatterns - p - 1) * sizeof *en->patterns);
        en->nevents--;
        en->npatterns--;
        continue;
      }
      /* Usually the stored pattern is the compiled one: keep its constant. */
      const char *text = json_object_to_json_string_ext(pattern, PATTERN_SERIALIZE_FLAGS);
      if (strcmp(text, img->consts[en->patterns[p]].as.string.bytes) != 0 && add_string_constant(img, text, &en->patterns[p]) != 0)
        outcome = fail(r, CATALOG_INTERNAL, "out of memory, or too many constants");
      p++;
    }
  }
  json_object_put(rules_of);
  char why[300];
  if (outcome == CATALOG_OK && image_verify(img, why, sizeof why) != 0)
    outcome = fail(r, CATALOG_INTERNAL, "the routed image does not verify: %s", why);
  return outcome;
}

enum catalog_outcome catalog_image(const struct evstore_list *items, struct image **image, struct catalog_result *r) {
  *image = NULL;
  struct build b;
  enum catalog_outcome outcome = build_program(&b, items, "<store>", "", 0, CATALOG_DEFAULT_APP, BUILD_ALL, NULL, NULL, r);
  if (outcome == CATALOG_OK) {
    char why[300];
    *image = image_load(b.comp.image_bytes, b.comp.image_size, why, sizeof why);
    if (!*image) outcome = fail(r, CATALOG_INTERNAL, "the compiled image does not load: %s", why);
    else if ((outcome = apply_routing(*image, items, r)) != CATALOG_OK) {
      image_free(*image);
      *image = NULL;
    }
  } else if (outcome == CATALOG_COMPILE) {
    snprintf(r->message, sizeof r->message, "the stored items do not compile together");
  }
  build_free(&b);
  if (outcome == CATALOG_OK) r->outcome = CATALOG_OK;
  return outcome;
}

/* ---- applying, diagnostics ------------------------------------------------ */

enum evstore_status catalog_apply(struct evstore_txn *txn, const struct catalog_change *change) {
  enum evstore_status s = EVSTORE_OK;
  for (size_t i = 0; i < change->deletes.count && s == EVSTORE_OK; i++)
    s = evstore_txn_delete(txn, change->deletes.items[i].pk, change->deletes.items[i].sk);
  for (size_t i = 0; i < change->creates.count && s == EVSTORE_OK; i++)
    s = evstore_txn_put(txn, &change->creates.items[i], EVSTORE_MUST_NOT_EXIST);
  for (size_t i = 0; i < change->puts.count && s == EVSTORE_OK; i++)
    s = evstore_txn_put(txn, &change->puts.items[i], EVSTORE_ANY);
  return s;
}

static int by_position(const void *a, const void *b) {
  const struct diagnostic *x = *(const struct diagnostic *const *)a, *y = *(const struct diagnostic *const *)b;
  const char *px = x->loc.src ? x->loc.src->path : "", *py = y->loc.src ? y->loc.src->path : "";
  int c = strcmp(px, py);
  if (c) return c;
  if (x->loc.line != y->loc.line) return x->loc.line < y->loc.line ? -1 : 1;
  if (x->loc.col != y->loc.col) return x->loc.col < y->loc.col ? -1 : 1;
  return x < y ? -1 : x > y;
}

struct json_object *catalog_diagnostics_json(const struct diag *d) {
  static const char *const severities[] = { "error", "warning", "note" };
  const struct diagnostic **order = calloc(d->count + 1, sizeof *order);
  struct json_object *out = json_object_new_array();
  if (!order) return out;
  for (size_t i = 0; i < d->count; i++) order[i] = &d->items[i];
  qsort(order, d->count, sizeof *order, by_position);
  for (size_t i = 0; i < d->count; i++) {
    const struct diagnostic *it = order[i];
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "file", json_object_new_string(it->loc.src ? it->loc.src->path : ""));
    json_object_object_add(o, "line", json_object_new_int(it->loc.line));
    json_object_object_add(o, "column", json_object_new_int(it->loc.col));
    if (it->loc.end_line) {
      json_object_object_add(o, "endLine", json_object_new_int(it->loc.end_line));
      json_object_object_add(o, "endColumn", json_object_new_int(it->loc.end_col));
    }
    json_object_object_add(o, "severity", json_object_new_string(severities[it->severity]));
    json_object_object_add(o, "message", json_object_new_string(it->message ? it->message : ""));
    if (it->hint) json_object_object_add(o, "hint", json_object_new_string(it->hint));
    json_object_array_add(out, o);
  }
  free(order);
  return out;
}
