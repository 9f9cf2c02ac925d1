/* compile.c — from a checked program to rules, Event Store items and bytecode.
 *
 * For every flow and route, and every event it listens to, one EventBridge
 * rule: its pattern is the event's source and detail-type plus the part of
 * the `where` that pushdown.c could express; its target is the efc runtime
 * (told which entry to run through an InputTransformer) and, for routes, the
 * ARNs the route names.  The residual `where` goes into the bytecode.
 */
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "compile.h"
#include "emit_code.h"
#include "fmt.h"
#include "pattern.h"

static void *xcalloc(size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size);
  if (!p) { fputs("efc: out of memory\n", stderr); abort(); }
  return p;
}

/* EventBridge rule names: 1-64 of [.-_A-Za-z0-9]; long ones keep a hash. */
static const char *rule_name(struct program *p, const char *entry, const char *event) {
  char *name = event ? arena_printf(&p->arena, "%s-%s-%s", p->app, entry, event)
                     : arena_printf(&p->arena, "%s-%s", p->app, entry);
  for (char *c = name; *c; c++)
    if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '-' || *c == '_' || *c == '.'))
      *c = '-';
  size_t n = strlen(name);
  if (n <= 64) return name;
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)name[i]) * 16777619u;
  name[55] = 0;
  return arena_printf(&p->arena, "%s-%08x", name, h);
}

static const char *to_json_text(struct json_object *o) {
  return json_object_to_json_string_ext(o, PATTERN_SERIALIZE_FLAGS);
}

/* The target that runs an entry in the efc runtime: the whole event, plus which entry. */
static struct json_object *runtime_target(struct program *p, const char *entry, const char *rule) {
  struct json_object *t = json_object_new_object();
  json_object_object_add(t, "Id", json_object_new_string("efc-runtime"));
  json_object_object_add(t, "Arn", json_object_new_string(COMPILE_RUNTIME_ARN));
  struct json_object *efc = json_object_new_object();
  json_object_object_add(efc, "app", json_object_new_string(p->app));
  json_object_object_add(efc, "entry", json_object_new_string(entry));
  json_object_object_add(efc, "rule", json_object_new_string(rule));
  /* <aws.events.event.json> is EventBridge's placeholder for the whole event. */
  const char *tmpl = arena_printf(&p->arena, "{\"efc\":%s,\"event\":<aws.events.event.json>}", to_json_text(efc));
  json_object_put(efc);
  struct json_object *it = json_object_new_object();
  json_object_object_add(it, "InputTemplate", json_object_new_string(tmpl));
  json_object_object_add(t, "InputTransformer", it);
  return t;
}

static struct json_object *rule_object(const char *name) {
  struct json_object *r = json_object_new_object();
  json_object_object_add(r, "Name", json_object_new_string(name));
  json_object_object_add(r, "EventBusName", json_object_new_string("default"));
  return r;
}

static void finish_rule(struct json_object *r, const char *description, struct json_object *targets) {
  json_object_object_add(r, "State", json_object_new_string("ENABLED"));
  json_object_object_add(r, "Description", json_object_new_string(description));
  json_object_object_add(r, "Targets", targets);
}

struct builder {
  struct program *program;
  struct diag *diag;
  struct compilation *out;
  size_t cap;
};

static struct compiled_rule *add_rule(struct builder *b) {
  if (b->out->nrules == b->cap) {
    b->cap = b->cap ? b->cap * 2 : 16;
    b->out->rules = realloc(b->out->rules, b->cap * sizeof *b->out->rules);
    if (!b->out->rules) abort();
  }
  struct compiled_rule *r = &b->out->rules[b->out->nrules++];
  memset(r, 0, sizeof *r);
  return r;
}

/* Does anything of this route run in the efc runtime (flows, stage targets)? */
static int route_uses_runtime(const struct decl *route) {
  for (const struct target *t = route->targets; t; t = t->next)
    if (!t->arn) return 1;
  return 0;
}

static int route_has_arns(const struct decl *route) {
  for (const struct target *t = route->targets; t; t = t->next)
    if (t->arn) return 1;
  return 0;
}

/* The rules of one flow or route; fills `er` for the code emitter. */
static void build_entry_rules(struct builder *b, const struct decl *d, struct entry_rules *er) {
  struct program *p = b->program;
  int nevents = 0;
  for (const struct name_ref *r = d->on; r; r = r->next) nevents++;
  er->decl = d;
  er->patterns = arena_alloc(&p->arena, (size_t)nevents * sizeof *er->patterns);
  int arns = d->kind == D_ROUTE && route_has_arns(d);
  int via_runtime = d->kind == D_FLOW || route_uses_runtime(d);
  struct expr **kept = NULL;
  size_t nkept = 0, capkept = 0;

  for (const struct name_ref *r = d->on; r; r = r->next) {
    const struct decl *ev = check_find(p, D_EVENT, r->name);
    struct compiled_rule *cr = add_rule(b);
    cr->entry = d;
    cr->event = ev;
    cr->name = rule_name(p, d->name, ev->name);
    pushdown_split(p, ev, d->where, &cr->split);
    const char *pattern = arena_strdup(&p->arena, to_json_text(cr->split.pattern));
    er->patterns[er->npatterns++] = pattern;
    /* The residual is every conjunct kept for any of the events. */
    for (size_t i = 0; i < cr->split.nkept; i++) {
      int seen = 0;
      for (size_t k = 0; k < nkept; k++) seen |= kept[k] == cr->split.kept[i];
      if (seen) continue;
      if (nkept == capkept) {
        capkept = capkept ? capkept * 2 : 8;
        struct expr **grown = arena_alloc(&p->arena, capkept * sizeof *grown);
        if (nkept) memcpy(grown, kept, nkept * sizeof *kept);
        kept = grown;
      }
      kept[nkept++] = cr->split.kept[i];
    }

    if (d->kind == D_ROUTE && arns && cr->split.nkept) {
      diag_error(b->diag, cr->split.kept[0]->loc,
                 "this condition cannot be checked by EventBridge, so the ARN targets of this route would receive events it rejects");
      diag_hint(b->diag, "keep route conditions to what an event pattern can express (see `efc explain`), or send the events through a flow");
    }

    /* Targets: the runtime (if anything runs there), then ARNs, at most 5 per rule. */
    struct json_object *targets = json_object_new_array();
    if (via_runtime) json_object_array_add(targets, runtime_target(p, d->name, cr->name));
    int part = 1, k = 0;
    struct json_object *rule = rule_object(cr->name);
    const char *desc = arena_printf(&p->arena, "efc app %s: %s %s on %s", p->app, d->kind == D_FLOW ? "flow" : "route",
                                    d->name, ev->name);
    for (const struct target *t = d->kind == D_ROUTE ? d->targets : NULL; t; t = t->next) {
      if (!t->arn) continue;
      if (json_object_array_length(targets) == COMPILE_MAX_TARGETS) {
        json_object_object_add(rule, "EventPattern", json_object_new_string(pattern));
        finish_rule(rule, desc, targets);
        json_object_array_add(b->out->rules_json, rule);
        cr->json = rule;
        const char *name = rule_name(p, arena_printf(&p->arena, "%s-%d", d->name, ++part), ev->name);
        rule = rule_object(name);
        targets = json_object_new_array();
      }
      struct json_object *t_json = json_object_new_object();
      json_object_object_add(t_json, "Id", json_object_new_string(arena_printf(&p->arena, "target-%d", ++k)));
      json_object_object_add(t_json, "Arn", json_object_new_string(t->arn));
      json_object_array_add(targets, t_json);
    }
    json_object_object_add(rule, "EventPattern", json_object_new_string(pattern));
    finish_rule(rule, desc, targets);
    json_object_array_add(b->out->rules_json, rule);
    if (!cr->json) cr->json = rule;
  }
  struct pushdown all = { .kept = kept, .nkept = nkept };
  er->residual = pushdown_residual(p, &all);
}

/* Filters and transformers with time thresholds need a clock in Lambda: one
 * scheduled rule sweeps expired windows (locally, event time does it). */
static int has_stateful_stage(const struct stage_call *s, int depth) {
  for (; s && depth < 16; s = s->next)
    if (s->kind == SC_CALL && s->target &&
        (s->target->is_extern ? s->target->stage_kind != SK_VIEW : has_stateful_stage(s->target->stages, depth + 1)))
      return 1;
  return 0;
}

static void build_sweep_rule(struct builder *b) {
  struct program *p = b->program;
  int needed = 0;
  for (const struct decl *d = p->decls; d; d = d->next)
    if (d->kind == D_FLOW && has_stateful_stage(d->stages, 0)) needed = 1;
  if (!needed) return;
  struct compiled_rule *cr = add_rule(b);
  cr->name = rule_name(p, "sweep", NULL);
  struct json_object *rule = rule_object(cr->name);
  json_object_object_add(rule, "ScheduleExpression", json_object_new_string("rate(1 minute)"));
  struct json_object *targets = json_object_new_array();
  struct json_object *t = json_object_new_object();
  json_object_object_add(t, "Id", json_object_new_string("efc-runtime"));
  json_object_object_add(t, "Arn", json_object_new_string(COMPILE_RUNTIME_ARN));
  json_object_object_add(t, "Input", json_object_new_string(
    arena_printf(&p->arena, "{\"efc\":{\"app\":\"%s\",\"sweep\":true}}", p->app)));
  json_object_array_add(targets, t);
  finish_rule(rule, arena_printf(&p->arena, "efc app %s: closes filter windows whose time threshold has passed", p->app), targets);
  json_object_array_add(b->out->rules_json, rule);
  cr->json = rule;
}

int compile_program(struct program *program, struct diag *d, const struct compile_options *opt, struct compilation *out) {
  memset(out, 0, sizeof *out);
  out->program = program;
  out->rules_json = json_object_new_array();
  struct builder b = { program, d, out, 0 };
  size_t before = d->errors;

  size_t n = 0;
  for (const struct decl *decl = program->decls; decl; decl = decl->next) n += decl->kind == D_FLOW || decl->kind == D_ROUTE;
  struct entry_rules *entries = xcalloc(n, sizeof *entries);
  size_t i = 0;
  for (const struct decl *decl = program->decls; decl; decl = decl->next)
    if (decl->kind == D_FLOW || decl->kind == D_ROUTE) build_entry_rules(&b, decl, &entries[i++]);
  build_sweep_rule(&b);

  out->image = emit_code(program, d, entries, n);
  free(entries);
  if (out->image) {
    char err[256];
    if (image_verify(out->image, err, sizeof err) != 0) {
      diag_error(d, (struct loc){ 0 }, "internal error: the generated bytecode fails verification: %s", err);
    } else if (image_write(out->image, &out->image_bytes, &out->image_size) != 0) {
      diag_error(d, (struct loc){ 0 }, "cannot serialise the bytecode image");
    }
  }
  out->store_json = emit_store(out, opt && opt->table ? opt->table : COMPILE_DEFAULT_TABLE);
  return d->errors > before ? -1 : 0;
}

void compilation_free(struct compilation *c) {
  for (size_t i = 0; i < c->nrules; i++) json_object_put(c->rules[i].split.pattern);
  free(c->rules);
  json_object_put(c->rules_json);
  json_object_put(c->store_json);
  image_free(c->image);
  free(c->image_bytes);
  memset(c, 0, sizeof *c);
}
