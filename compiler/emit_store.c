/* emit_store.c — the Event Store items and the JSON Schemas of events.
 *
 * Items are written in DynamoDB JSON as BatchWriteItem request bodies of at
 * most 25 PutRequests each: PK "events" (SK: event name, Schema: its JSON
 * Schema, RoutingConfig: the rules that receive it, Data: its declaration)
 * and PK "flow" (SK: flow name, Data: what the flow listens to, emits, its
 * rules and its source).  Schema, RoutingConfig and Data hold JSON text
 * (DynamoDB type S).
 *
 * Every item's Data also says what its source needs to compile again
 * without the file it came from (the HTTP server compiles a new flow
 * against the stored items): "imports" (the file's stdlib modules) and
 * "requires" (the user's own types and stages it uses, as source).  An
 * event's source names its `from` explicitly, because the default source
 * depends on the application's name.
 */
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "compile.h"
#include "fmt.h"
#include "pattern.h"


static struct json_object *schema_of(const struct type *t);

static struct json_object *schema_record(const struct type *t) {
  struct json_object *s = json_object_new_object();
  json_object_object_add(s, "type", json_object_new_string("object"));
  struct json_object *props = json_object_new_object(), *required = json_object_new_array();
  for (const struct type_field *f = t->fields; f; f = f->next) {
    json_object_object_add(props, f->name, schema_of(f->type));
    if (!f->optional) json_object_array_add(required, json_object_new_string(f->name));
  }
  json_object_object_add(s, "properties", props);
  if (json_object_array_length(required)) json_object_object_add(s, "required", required);
  else json_object_put(required);
  return s;
}

static struct json_object *typed(const char *type) {
  struct json_object *s = json_object_new_object();
  json_object_object_add(s, "type", json_object_new_string(type));
  return s;
}

static struct json_object *schema_of(const struct type *t) {
  switch (t->kind) {
  case T_NULL: return typed("null");
  case T_BOOL: return typed("boolean");
  case T_INT: return typed("integer");
  case T_FLOAT: return typed("number");
  case T_STRING: return typed("string");
  case T_TIME: {
    struct json_object *s = typed("string");
    json_object_object_add(s, "format", json_object_new_string("date-time"));
    return s;
  }
  case T_DURATION: {
    struct json_object *s = typed("integer");
    json_object_object_add(s, "description", json_object_new_string("duration in milliseconds"));
    return s;
  }
  case T_ARRAY: {
    struct json_object *s = typed("array");
    json_object_object_add(s, "items", schema_of(t->elem));
    return s;
  }
  case T_RECORD: return schema_record(t);
  case T_ANY: case T_AGGREGATES: break;
  }
  return json_object_new_object();
}

static struct json_object *const_string(const char *v) {
  struct json_object *s = json_object_new_object();
  json_object_object_add(s, "const", json_object_new_string(v));
  return s;
}

struct json_object *emit_event_schema(const struct program *program, const struct decl *event) {
  struct json_object *s = json_object_new_object();
  json_object_object_add(s, "$schema", json_object_new_string("https://json-schema.org/draft/2020-12/schema"));
  json_object_object_add(s, "$id", json_object_new_string(arena_printf((struct arena *)&program->arena, "efc:%s/%s",
                                                                       program->app, event->name)));
  json_object_object_add(s, "title", json_object_new_string(event->name));
  json_object_object_add(s, "type", json_object_new_string("object"));
  struct json_object *props = json_object_new_object();
  json_object_object_add(props, "source", const_string(check_event_source(program, event)));
  json_object_object_add(props, "detail-type", const_string(check_event_detail_type(event)));
  json_object_object_add(props, "time", schema_of(&type_time));
  json_object_object_add(props, "detail", schema_of(event->type));
  json_object_object_add(s, "properties", props);
  struct json_object *req = json_object_new_array();
  json_object_array_add(req, json_object_new_string("source"));
  json_object_array_add(req, json_object_new_string("detail-type"));
  json_object_array_add(req, json_object_new_string("detail"));
  json_object_object_add(s, "required", req);
  return s;
}

static struct json_object *attr_s(const char *v) {
  struct json_object *a = json_object_new_object();
  json_object_object_add(a, "S", json_object_new_string(v));
  return a;
}

static const char *text_of(struct json_object *o) {
  return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

static struct json_object *item(const char *pk, const char *sk) {
  struct json_object *it = json_object_new_object();
  json_object_object_add(it, "PK", attr_s(pk));
  json_object_object_add(it, "SK", attr_s(sk));
  return it;
}

/* Takes ownership of `value` and stores its JSON text as attribute `name`. */
static void add_json_attr(struct json_object *it, const char *name, struct json_object *value) {
  json_object_object_add(it, name, attr_s(text_of(value)));
  json_object_put(value);
}

static struct json_object *rule_ref(const struct compiled_rule *r) {
  struct json_object *o = json_object_new_object();
  json_object_object_add(o, "rule", json_object_new_string(r->name));
  json_object_object_add(o, "entry", json_object_new_string(r->entry->name));
  json_object_object_add(o, "kind", json_object_new_string(r->entry->kind == D_FLOW ? "flow" : "route"));
  json_object_object_add(o, "pattern", json_object_get(r->split.pattern));
  if (r->split.nkept) {
    struct printbuf *pb = printbuf_new();
    for (size_t i = 0; i < r->split.nkept; i++) {
      if (i) printbuf_memappend(pb, " and ", 5);
      fmt_expr(r->split.kept[i], pb);
    }
    json_object_object_add(o, "residual", json_object_new_string(pb->buf));
    printbuf_free(pb);
  }
  return o;
}

/* ---- what an item's source needs --------------------------------------- */

/* The user's declarations (types, stages) a declaration uses, directly or
 * through each other.  Small sets: a linear search is enough. */
struct needs {
  const struct decl **list;
  size_t count, cap;
};

static void need_decl(const struct program *program, const struct decl *d, struct needs *n);

static void need_type_name(const struct program *program, const char *name, struct needs *n) {
  const struct decl *t = name ? check_find(program, D_TYPE, name) : NULL;
  if (t && !t->module) need_decl(program, t, n);
}

static void need_type_expr(const struct program *program, const struct type_expr *t, struct needs *n) {
  if (!t) return;
  if (t->kind == TX_NAME) need_type_name(program, t->name, n);
  else if (t->kind == TX_ARRAY) need_type_expr(program, t->elem, n);
  else
    for (const struct field_decl *f = t->fields; f; f = f->next) need_type_expr(program, f->type, n);
}

static void need_fields(const struct program *program, const struct field_decl *f, struct needs *n) {
  for (; f; f = f->next) need_type_expr(program, f->type, n);
}

static void need_stages(const struct program *program, const struct stage_call *s, struct needs *n) {
  for (; s; s = s->next)
    if (s->kind == SC_CALL && s->target && !s->target->module) need_decl(program, s->target, n);
}

static void need_decl(const struct program *program, const struct decl *d, struct needs *n) {
  for (size_t i = 0; i < n->count; i++)
    if (n->list[i] == d) return;
  if (n->count == n->cap) {
    n->cap = n->cap ? 2 * n->cap : 8;
    n->list = realloc(n->list, n->cap * sizeof *n->list);
    if (!n->list) abort();
  }
  n->list[n->count++] = d;
  need_type_name(program, d->extends, n);
  need_fields(program, d->fields, n);
  for (const struct param_decl *q = d->params; q; q = q->next) need_type_expr(program, q->type, n);
  need_type_expr(program, d->output_type, n);
  need_stages(program, d->stages, n);
}

static struct json_object *decl_source(const struct decl *d) {
  struct printbuf *pb = printbuf_new();
  fmt_decl(d, pb);
  struct json_object *s = json_object_new_string(pb->buf);
  printbuf_free(pb);
  return s;
}

/* Adds "imports" and "requires" (in declaration order) for `item`. */
static void add_needs(const struct program *program, const struct decl *item, struct json_object *data) {
  struct needs n = { 0 };
  need_decl(program, item, &n);
  struct json_object *imports = json_object_new_array(), *requires = json_object_new_array();
  for (const struct decl *d = program->decls; d; d = d->next) {
    if (d->module) continue;
    if (d->kind == D_IMPORT) json_object_array_add(imports, json_object_new_string(d->name));
    for (size_t i = 1; i < n.count; i++)   /* list[0] is the item itself */
      if (n.list[i] == d) json_object_array_add(requires, decl_source(d));
  }
  json_object_object_add(data, "imports", imports);
  json_object_object_add(data, "requires", requires);
  free(n.list);
}

static struct json_object *event_item(const struct compilation *c, const struct decl *ev) {
  struct json_object *it = item("events", ev->name);
  add_json_attr(it, "Schema", emit_event_schema(c->program, ev));
  struct json_object *routing = json_object_new_object();
  json_object_object_add(routing, "source", json_object_new_string(check_event_source(c->program, ev)));
  json_object_object_add(routing, "detailType", json_object_new_string(check_event_detail_type(ev)));
  struct json_object *rules = json_object_new_array(), *emitted_by = json_object_new_array();
  for (size_t i = 0; i < c->nrules; i++)
    if (c->rules[i].event == ev) json_object_array_add(rules, rule_ref(&c->rules[i]));
  for (const struct decl *d = c->program->decls; d; d = d->next) {
    if (d->kind == D_FLOW && d->emit && strcmp(d->emit->name, ev->name) == 0)
      json_object_array_add(emitted_by, json_object_new_string(d->name));
    for (const struct target *t = d->kind == D_ROUTE ? d->targets : NULL; t; t = t->next)
      if (t->emit && strcmp(t->emit->name, ev->name) == 0) json_object_array_add(emitted_by, json_object_new_string(d->name));
  }
  json_object_object_add(routing, "rules", rules);
  json_object_object_add(routing, "emittedBy", emitted_by);
  add_json_attr(it, "RoutingConfig", routing);
  /* The declaration, with its source spelled out (see the top of the file). */
  struct decl explicit_source = *ev;
  explicit_source.source = check_event_source(c->program, ev);
  struct json_object *data = json_object_new_object();
  json_object_object_add(data, "source", decl_source(&explicit_source));
  add_needs(c->program, ev, data);
  add_json_attr(it, "Data", data);
  return it;
}

static struct json_object *flow_item(const struct compilation *c, const struct decl *flow) {
  struct json_object *it = item("flow", flow->name);
  struct json_object *data = json_object_new_object();
  json_object_object_add(data, "app", json_object_new_string(c->program->app));
  json_object_object_add(data, "name", json_object_new_string(flow->name));
  struct json_object *on = json_object_new_array();
  for (const struct name_ref *r = flow->on; r; r = r->next) json_object_array_add(on, json_object_new_string(r->name));
  json_object_object_add(data, "on", on);
  json_object_object_add(data, "emits", json_object_new_string(flow->emit->name));
  struct json_object *stages = json_object_new_array();
  for (const struct stage_call *s = flow->stages; s; s = s->next)
    json_object_array_add(stages, json_object_new_string(s->kind == SC_WHERE ? "where" : s->kind == SC_MAP ? "map" : s->name));
  json_object_object_add(data, "stages", stages);
  struct json_object *rules = json_object_new_array();
  for (size_t i = 0; i < c->nrules; i++)
    if (c->rules[i].entry == flow) json_object_array_add(rules, json_object_new_string(c->rules[i].name));
  json_object_object_add(data, "rules", rules);
  json_object_object_add(data, "image", json_object_new_string(arena_printf((struct arena *)&c->program->arena, "%s.efb", c->program->app)));
  json_object_object_add(data, "source", decl_source(flow));
  add_needs(c->program, flow, data);
  add_json_attr(it, "Data", data);
  return it;
}

struct json_object *emit_store(const struct compilation *c, const char *table) {
  struct json_object *bodies = json_object_new_array(), *puts = NULL;
  for (const struct decl *d = c->program->decls; d; d = d->next) {
    if (d->module || (d->kind != D_EVENT && d->kind != D_FLOW)) continue;
    struct json_object *it = d->kind == D_EVENT ? event_item(c, d) : flow_item(c, d);
    if (!puts || json_object_array_length(puts) == COMPILE_BATCH_ITEMS) {
      struct json_object *body = json_object_new_object(), *req = json_object_new_object();
      puts = json_object_new_array();
      json_object_object_add(req, table, puts);
      json_object_object_add(body, "RequestItems", req);
      json_object_array_add(bodies, body);
    }
    struct json_object *put = json_object_new_object(), *wrap = json_object_new_object();
    json_object_object_add(put, "Item", it);
    json_object_object_add(wrap, "PutRequest", put);
    json_object_array_add(puts, wrap);
  }
  return bodies;
}
