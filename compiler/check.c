/* check.c — checks declarations: types, events, stages, flows and routes.
 *
 * Order: names are collected (duplicates reported), named types and events
 * are resolved (cycles reported), then stage declarations, flows and routes
 * are checked top to bottom.  A flow's row type is followed through its
 * stages: `map` replaces it, a stage call turns it into the stage's output
 * (user-defined stages are checked again at each call with the caller's
 * row, like templates), and `emit` must receive exactly the event's fields.
 */
#include <stdlib.h>
#include <string.h>
#include "check_internal.h"
#include "stdlib_files.h"

#define MAX_STAGE_DEPTH 16

static const struct type resolving = { T_ANY, 0, 0, "<resolving>" };

static const char *tn(struct checker *c, const struct type *t) { return type_name(c->arena, t); }

const struct type *check_envelope_field(const char *name) {
  static const struct type resources = { T_ARRAY, &type_string, 0, NULL };
  if (strcmp(name, "time") == 0) return &type_time;
  if (strcmp(name, "resources") == 0) return &resources;
  static const char *const strings[] = { "source", "id", "account", "region", "detail_type" };
  for (size_t i = 0; i < 5; i++)
    if (strcmp(name, strings[i]) == 0) return &type_string;
  return NULL;
}

const char *check_envelope_key(const char *name) {
  return strcmp(name, "detail_type") == 0 ? "detail-type" : name;
}

const struct decl *check_find(const struct program *program, enum decl_kind kind, const char *name) {
  for (const struct decl *d = program->decls; d; d = d->next)
    if (d->kind == kind && d->name && strcmp(d->name, name) == 0) return d;
  return NULL;
}

const char *check_event_source(const struct program *program, const struct decl *event) {
  return event->source ? event->source : program->default_source;
}

const char *check_event_detail_type(const struct decl *event) {
  return event->detail_type ? event->detail_type : event->name;
}

static const char *kind_word(enum decl_kind k) {
  switch (k) {
  case D_TYPE: return "type";
  case D_EVENT: return "event";
  case D_FLOW: return "flow";
  case D_STAGE: return "stage";
  case D_ROUTE: return "route";
  case D_IMPORT: return "import";
  }
  return "declaration";
}

/* ---- names ------------------------------------------------------------- */

/* Types and events share one namespace; flows and stages another. */
static int same_namespace(enum decl_kind a, enum decl_kind b) {
  int ta = a == D_TYPE || a == D_EVENT, tb = b == D_TYPE || b == D_EVENT;
  int ra = a == D_FLOW || a == D_STAGE, rb = b == D_FLOW || b == D_STAGE;
  return (ta && tb) || (ra && rb);
}

static void collect_names(struct checker *c) {
  for (struct decl *d = c->program->decls; d; d = d->next) {
    if (d->kind == D_IMPORT || d->kind == D_ROUTE) continue;
    if ((d->kind == D_TYPE || d->kind == D_EVENT) && type_scalar(d->name)) {
      diag_error(c->diag, d->name_loc, "`%s` is a built-in type and cannot be declared again", d->name);
      diag_hint(c->diag, "choose another name, e.g. `%c%s`", d->name[0] - 32, d->name + 1);
      continue;
    }
    for (struct decl *o = c->program->decls; o != d; o = o->next) {
      if (!o->name || o->kind == D_IMPORT || o->kind == D_ROUTE || !same_namespace(o->kind, d->kind)) continue;
      if (strcmp(o->name, d->name) != 0) continue;
      /* Imported declarations come after the user's: report at the user's one. */
      const struct decl *here = d->module && !o->module ? o : d, *there = here == d ? o : d;
      diag_error(c->diag, here->name_loc, "`%s` is already declared", d->name);
      if (there->loc.src == here->loc.src)
        diag_hint(c->diag, "the %s `%s` is declared at line %d; rename one of them", kind_word(there->kind), there->name,
                  there->loc.line);
      else if (there->module)
        diag_hint(c->diag, "the module std.%s declares a %s `%s`; choose another name", there->module,
                  kind_word(there->kind), there->name);
      else if (there->loc.src)
        diag_hint(c->diag, "the %s `%s` is declared at %s:%d:%d; rename one of them", kind_word(there->kind), there->name,
                  there->loc.src->path, there->loc.line, there->loc.col);
      break;
    }
  }
}

static const struct decl *find_type_decl(struct checker *c, const char *name) {
  for (const struct decl *d = c->program->decls; d; d = d->next)
    if ((d->kind == D_TYPE || d->kind == D_EVENT) && strcmp(d->name, name) == 0) return d;
  return NULL;
}

static void hint_decl_names(struct checker *c, const char *name, int (*want)(const struct decl *)) {
  const char *cands[512];
  size_t n = 0;
  for (const struct decl *d = c->program->decls; d && n < 512; d = d->next)
    if (d->name && want(d)) cands[n++] = d->name;
  const char *close = diag_suggest(name, cands, n);
  if (close) diag_hint(c->diag, "did you mean `%s`?", close);
}

static int is_type_or_event(const struct decl *d) { return d->kind == D_TYPE || d->kind == D_EVENT; }
static int is_event(const struct decl *d) { return d->kind == D_EVENT; }
static int is_stage(const struct decl *d) { return d->kind == D_STAGE; }
static int is_flow_or_stage(const struct decl *d) { return d->kind == D_FLOW || d->kind == D_STAGE; }

/* ---- types ------------------------------------------------------------- */

static const struct type *resolve_decl_type(struct checker *c, struct decl *d);

static const struct type *record_from_fields(struct checker *c, const struct decl *owner,
                                             const struct field_decl *fields, struct type *into) {
  struct type *rec = into ? into : type_record(c->arena, owner ? owner->name : NULL);
  for (const struct field_decl *f = fields; f; f = f->next) {
    if (f->spread) {
      diag_error(c->diag, f->loc, "`...%s` is only allowed in the output of an extern stage", f->spread);
      const struct decl *t = find_type_decl(c, f->spread);
      if (owner && owner->kind == D_EVENT && !owner->extends && t && t->kind == D_TYPE && fields == owner->fields)
        diag_hint(c->diag, "to give event `%s` the fields of `%s`, declare it with `extends %s`", owner->name,
                  f->spread, f->spread);
      else if (t)
        diag_hint(c->diag, "nest it as a field, e.g. `%c%s: %s`, or copy its fields here",
                  f->spread[0] >= 'A' && f->spread[0] <= 'Z' ? f->spread[0] + 32 : f->spread[0], f->spread + 1, f->spread);
      continue;
    }
    const struct type *t = chk_type_expr(c, f->type);
    if (!type_add_field(c->arena, rec, f->name, t, f->optional, f->loc)) {
      struct type_field *prev = (struct type_field *)type_field(rec, f->name);
      int inherited = owner && owner->extends && fields == owner->fields &&
                      (prev->loc.src != owner->loc.src || prev->loc.line < owner->loc.line ||
                       prev->loc.line > owner->loc.end_line);
      if (inherited && type_assignable(prev->type, t)) {
        /* An event may narrow a field of the type it extends (e.g. make it required). */
        prev->type = t;
        prev->optional = f->optional;
        prev->loc = f->loc;
        continue;
      }
      diag_error(c->diag, f->loc, "field `%s` is declared twice", f->name);
      if (prev->loc.src)
        diag_hint(c->diag, inherited
                  ? "the extended type declares `%s` at line %d; a redeclaration may only narrow its type"
                  : "the first `%s` is at line %d", f->name, prev->loc.line);
    }
  }
  return rec;
}

const struct type *chk_type_expr(struct checker *c, const struct type_expr *t) {
  switch (t->kind) {
  case TX_ARRAY: return type_array(c->arena, chk_type_expr(c, t->elem));
  case TX_RECORD: return record_from_fields(c, NULL, t->fields, NULL);
  case TX_NAME: break;
  }
  const struct type *s = type_scalar(t->name);
  if (s && s->kind != T_AGGREGATES) return s;
  struct decl *d = (struct decl *)find_type_decl(c, t->name);
  if (d && d->type == &resolving) {
    diag_error(c->diag, t->loc, "type `%s` contains itself", d->name);
    diag_hint(c->diag, "a record cannot contain itself, not even as an optional field or in a list; "
              "refer to the other record by a key instead, e.g. `%c%s_id: string?`",
              d->name[0] >= 'A' && d->name[0] <= 'Z' ? d->name[0] + 32 : d->name[0], d->name + 1);
    return &type_any;
  }
  if (d) return resolve_decl_type(c, d);
  if (s) {
    diag_error(c->diag, t->loc, "`aggregates` is only a parameter type of extern stages");
    return &type_any;
  }
  diag_error(c->diag, t->loc, "unknown type `%s`", t->name);
  static const char *const scalars[] = { "string", "int", "float", "bool", "time", "duration", "any" };
  const char *close = diag_suggest(t->name, scalars, 7);
  if (close) diag_hint(c->diag, "did you mean `%s`?", close);
  else hint_decl_names(c, t->name, is_type_or_event);
  if (!close && !c->diag->items[c->diag->count - 1].hint)
    diag_hint(c->diag, "types are string, int, float, bool, time, duration, any, [T], { ... } or a declared type");
  return &type_any;
}

static const struct type *resolve_decl_type(struct checker *c, struct decl *d) {
  if (d->type == &resolving) {
    diag_error(c->diag, d->name_loc, "type `%s` contains itself", d->name);
    diag_hint(c->diag, "a record cannot contain itself; use a list `[%s]` or an optional id field", d->name);
    d->type = &type_any;
    return &type_any;
  }
  if (d->type) return d->type;
  d->type = &resolving;
  struct type *rec = type_record(c->arena, d->name);
  if (d->kind == D_EVENT && d->extends) {
    const struct decl *base = find_type_decl(c, d->extends);
    if (!base || base->kind != D_TYPE) {
      diag_error(c->diag, d->extends_loc, base ? "`%s` is an event; an event can only extend a type" : "unknown type `%s`",
                 d->extends);
      if (!base) {
        hint_decl_names(c, d->extends, is_type_or_event);
        if (strcmp(d->extends, "Envelope") == 0) diag_hint(c->diag, "add `import std.envelope`");
      }
    } else {
      const struct type *bt = resolve_decl_type(c, (struct decl *)base);
      for (const struct type_field *f = bt->kind == T_RECORD ? bt->fields : NULL; f; f = f->next)
        type_add_field(c->arena, rec, f->name, f->type, f->optional, f->loc);
    }
  }
  record_from_fields(c, d, d->fields, rec);
  d->type = rec;
  return rec;
}

static void check_event_decl(struct checker *c, struct decl *d) {
  resolve_decl_type(c, d);
  if (d->source && (!*d->source || strlen(d->source) > 256)) {
    diag_error(c->diag, d->loc, "the source of event `%s` must be 1 to 256 characters", d->name);
  }
  if (d->detail_type && (!*d->detail_type || strlen(d->detail_type) > 128)) {
    diag_error(c->diag, d->loc, "the detail-type of event `%s` must be 1 to 128 characters", d->name);
  }
}

/* ---- stage calls ------------------------------------------------------- */

struct flow_ctx {
  const struct decl *flow;       /* the flow or route being checked */
  const struct name_ref *events; /* its `on` events */
};

/* The user stages being expanded, innermost first: finds recursion. */
struct expansion {
  const struct decl *stage;
  const struct expansion *outer;
  int depth;
};

static const struct type *check_stages(struct checker *c, const struct scope *outer, struct stage_call *stages,
                                       const struct type *row, const char **row_desc, const struct flow_ctx *fc,
                                       const struct expansion *chain);

/* The position of the name at the start of `loc` (a call: `name(...)`). */
static struct loc name_loc(struct loc loc, const char *name) {
  int quoted = 0;
  if (loc.src && loc.line > 0) {
    const char *p = loc.src->text, *end = p + loc.src->length;
    for (int line = 1; line < loc.line && p < end; p++) line += *p == '\n';
    quoted = p + loc.col - 1 < end && p[loc.col - 1] == '`';
  }
  loc.end_line = loc.line;
  loc.end_col = loc.col + (int)strlen(name) + (quoted ? 2 : 0);
  return loc;
}

static int count_params(const struct param_decl *p) {
  int n = 0;
  for (; p; p = p->next) n++;
  return n;
}

/* Where an unknown stage lives in the standard library, if anywhere. */
static const char *stdlib_module_of(const char *name) {
  static const char *const kinds[] = { "filter", "transformer", "view" };
  for (const struct stdlib_file *f = stdlib_files; f->name; f++)
    for (int k = 0; k < 3; k++) {
      char pat[200];
      snprintf(pat, sizeof pat, "extern %s %s(", kinds[k], name);
      if (strstr(f->text, pat)) return f->name;
    }
  return NULL;
}

static const struct type *param_type(struct checker *c, const struct param_decl *p) {
  if (p->type->kind == TX_NAME && strcmp(p->type->name, "aggregates") == 0) return &type_aggregates;
  return chk_type_expr(c, p->type);
}

/* Matches named arguments to parameters; fills `bound` (one per parameter). */
static struct arg *bind_args(struct checker *c, const struct scope *s, const struct decl *stage, struct arg *args,
                             struct loc call_loc) {
  int n = count_params(stage->params);
  struct arg *bound = NULL, **tail = &bound;
  const struct type **ptypes = arena_alloc(c->arena, sizeof *ptypes * (size_t)(n + 1));
  int i = 0;
  for (const struct param_decl *p = stage->params; p; p = p->next, i++) ptypes[i] = param_type(c, p);

  for (struct arg *a = args; a; a = a->next) {
    if (!a->name) {
      diag_error(c->diag, a->loc, "arguments of `%s` must be named", stage->name);
      /* Suggest the first parameter not given by name, with the value as written. */
      const struct param_decl *p = stage->params;
      for (; p; p = p->next) {
        int taken = 0;
        for (struct arg *b = args; b; b = b->next) taken |= b->name && strcmp(b->name, p->name) == 0;
        if (!taken) break;
      }
      const char *text = NULL;
      int len = 0;
      struct loc l = a->value->loc;
      if (l.src && l.line == l.end_line && l.end_col - l.col <= 60) {
        const char *q = l.src->text, *end = q + l.src->length;
        for (int line = 1; line < l.line && q < end; q++) line += *q == '\n';
        if (q + l.end_col - 1 <= end) { text = q + l.col - 1; len = l.end_col - l.col; }
      }
      if (p && text) diag_hint(c->diag, "name it: `%s: %.*s`", p->name, len, text);
      else if (p) diag_hint(c->diag, "e.g. `%s(%s: ...)`", stage->name, p->name);
      continue;
    }
    const struct param_decl *p = stage->params;
    while (p && strcmp(p->name, a->name) != 0) p = p->next;
    if (!p) {
      diag_error(c->diag, a->loc, "`%s` has no parameter `%s`", stage->name, a->name);
      const char *cands[64];
      size_t k = 0;
      for (const struct param_decl *q = stage->params; q && k < 64; q = q->next) cands[k++] = q->name;
      const char *close = diag_suggest(a->name, cands, k);
      if (close) diag_hint(c->diag, "did you mean `%s`?", close);
      else if (k) {
        char *list = arena_strdup(c->arena, "");
        for (size_t j = 0; j < k; j++) list = arena_printf(c->arena, "%s%s%s", list, j ? ", " : "", cands[j]);
        diag_hint(c->diag, "its parameters are: %s", list);
      } else diag_hint(c->diag, "`%s` takes no arguments", stage->name);
      continue;
    }
    for (struct arg *b = args; b != a; b = b->next)
      if (b->name && strcmp(b->name, a->name) == 0) {
        diag_error(c->diag, a->loc, "argument `%s` is given twice", a->name);
        if (b->loc.line == a->loc.line)
          diag_hint(c->diag, "the first `%s:` is at column %d; keep one of them", a->name, b->loc.col);
        else
          diag_hint(c->diag, "the first `%s:` is at line %d; keep one of them", a->name, b->loc.line);
        goto next;
      }
  next:;
  }
  i = 0;
  for (const struct param_decl *p = stage->params; p; p = p->next, i++) {
    struct arg *given = NULL;
    for (struct arg *a = args; a; a = a->next)
      if (a->name && strcmp(a->name, p->name) == 0) { given = a; break; }
    struct arg *b = arena_alloc(c->arena, sizeof *b);
    b->name = p->name;
    b->loc = given ? given->loc : call_loc;
    b->value = given ? given->value : p->default_value;
    *tail = b;
    tail = &b->next;
    if (!given && !p->default_value && !p->optional) {
      diag_error(c->diag, call_loc, "`%s` needs the argument `%s` (%s)", stage->name, p->name, tn(c, ptypes[i]));
      diag_hint(c->diag, "e.g. `%s(%s: ...)`", stage->name, p->name);
      continue;
    }
    if (!b->value) continue;
    if (ptypes[i]->kind == T_AGGREGATES) {
      struct scope in = *s;
      in.aggregates_ok = 1;
      chk_aggregates(c, &in, b->value);
      continue;
    }
    const struct type *t = chk_expr(c, s, b->value);
    /* A default's type is checked once, with its declaration. */
    if (given && !type_assignable(ptypes[i], t)) {
      diag_error(c->diag, b->value->loc, "argument `%s` of `%s` must be %s, found %s", p->name, stage->name,
                 tn(c, ptypes[i]), tn(c, t));
      if (ptypes[i]->kind == T_DURATION && b->value->kind == E_INT) {
        diag_hint(c->diag, "durations have a unit: `%s: %ss` for seconds, `%s: %sms` for milliseconds", p->name,
                  b->value->s, p->name, b->value->s);
      } else if (ptypes[i]->kind == T_DURATION && (t->kind == T_INT || t->kind == T_FLOAT)) {
        diag_hint(c->diag, "durations have a unit: 30s, 15m, 2h, 1d, 500ms");
      } else if (t->kind == T_DURATION && (ptypes[i]->kind == T_INT || ptypes[i]->kind == T_FLOAT)) {
        /* A window length given as a count: point to the duration parameter. */
        int j = 0;
        const struct param_decl *q = stage->params;
        for (; q; q = q->next, j++) {
          if (ptypes[j]->kind != T_DURATION) continue;
          int taken = 0;
          for (struct arg *a = args; a; a = a->next) taken |= a->name && strcmp(a->name, q->name) == 0;
          if (!taken) break;
        }
        if (q && b->value->kind == E_DURATION)
          diag_hint(c->diag, "`%s` is a number; a duration goes in `%s`: `%s: %s`", p->name, q->name, q->name,
                    b->value->s);
        else
          diag_hint(c->diag, "convert a duration to a number with seconds(...) or millis(...)");
      }
    }
  }
  return bound;
}

/* The output row of an extern stage: its declared output with `input`, the
 * flow's `events` and record arguments (`...keep`) filled in. */
static const struct type *extern_output(struct checker *c, const struct decl *stage, const struct type *input,
                                        const struct arg *bound, const struct flow_ctx *fc) {
  const struct type_expr *out = stage->output_type;
  if (out->kind == TX_NAME && strcmp(out->name, "input") == 0) return input;
  if (out->kind != TX_RECORD) return chk_type_expr(c, out);
  struct type *rec = type_record(c->arena, NULL);
  for (const struct field_decl *f = out->fields; f; f = f->next) {
    if (f->spread && strcmp(f->spread, "input") == 0) {
      if (input->kind != T_RECORD) return &type_any;
      for (const struct type_field *g = input->fields; g; g = g->next)
        type_add_field(c->arena, rec, g->name, g->type, g->optional, g->loc);
    } else if (f->spread && strcmp(f->spread, "events") == 0) {
      for (const struct name_ref *e = fc ? fc->events : NULL; e; e = e->next) {
        const struct decl *ev = check_find(c->program, D_EVENT, e->name);
        if (ev) type_add_field(c->arena, rec, ev->name, ev->type ? ev->type : &type_any, 1, e->loc);
      }
    } else if (f->spread) {
      const struct arg *b = bound;
      while (b && strcmp(b->name, f->spread) != 0) b = b->next;
      const struct type *t = b && b->value ? b->value->type : NULL;
      if (t && t->kind == T_RECORD)
        for (const struct type_field *g = t->fields; g; g = g->next)
          type_add_field(c->arena, rec, g->name, g->type, g->optional, g->loc);
    } else if (f->type->kind == TX_NAME && strcmp(f->type->name, "input") == 0) {
      type_add_field(c->arena, rec, f->name, input, f->optional, f->loc);
    } else {
      type_add_field(c->arena, rec, f->name, chk_type_expr(c, f->type), f->optional, f->loc);
    }
  }
  return rec;
}

/* Resolves and checks one call of a stage; returns the row after it. */
static const struct type *check_call(struct checker *c, const struct scope *s, const char *name, struct loc loc,
                                     struct arg *args, const struct decl **target_out, struct arg **bound_out,
                                     const struct flow_ctx *fc, const struct expansion *chain) {
  const struct decl *stage = check_find(c->program, D_STAGE, name);
  if (!stage) {
    const struct decl *flow = check_find(c->program, D_FLOW, name);
    if (flow) {
      diag_error(c->diag, loc, "`%s` is a flow, not a filter, transformer or view", name);
      diag_hint(c->diag, "flows cannot be called; a route can deliver events to a flow: `route E -> %s`", name);
      return &type_any;
    }
    diag_error(c->diag, loc, "unknown stage `%s`", name);
    const char *mod = stdlib_module_of(name);
    if (mod) diag_hint(c->diag, "`%s` is in the standard library: add `import std.%s`", name, mod);
    else hint_decl_names(c, name, is_stage);
    for (struct arg *a = args; a; a = a->next) if (a->value && !a->name) chk_expr(c, s, a->value);
    return &type_any;
  }
  *target_out = stage;
  struct arg *bound = bind_args(c, s, stage, args, loc);
  *bound_out = bound;
  if (stage->is_extern) return extern_output(c, stage, s->row, bound, fc);
  const struct expansion *e = chain;
  while (e && e->stage != stage) e = e->outer;
  if (e) {
    /* A cycle: reported once, where it comes back to its first-declared stage. */
    const struct decl *cycle[MAX_STAGE_DEPTH + 1];
    int n = 0;
    for (const struct expansion *x = chain; x != e->outer && n < MAX_STAGE_DEPTH; x = x->outer) cycle[n++] = x->stage;
    const struct decl *first = NULL;
    for (const struct decl *d = c->program->decls; d && !first; d = d->next)
      for (int k = 0; k < n && !first; k++)
        if (cycle[k] == d) first = d;
    if (first != stage) return &type_any;
    char *path = arena_strdup(c->arena, "");
    for (int k = n - 1; k >= 0; k--) path = arena_printf(c->arena, "%s%s -> ", path, cycle[k]->name);
    if (n == 1)
      diag_error(c->diag, loc, "stage `%s` calls itself", name);
    else
      diag_error(c->diag, loc, "stage `%s` calls itself: %s%s", name, path, name);
    diag_hint(c->diag, "stages are expanded where they are used, so they cannot be recursive");
    return &type_any;
  }
  if (chain && chain->depth >= MAX_STAGE_DEPTH) {
    diag_error(c->diag, loc, "stages are nested more than %d deep here", MAX_STAGE_DEPTH);
    return &type_any;
  }
  struct expansion inner_chain = { stage, chain, chain ? chain->depth + 1 : 1 };
  /* A user stage is a template: check its body with this row and these arguments. */
  int n = count_params(stage->params), i = 0;
  const struct type **ptypes = arena_alloc(c->arena, sizeof *ptypes * (size_t)(n + 1));
  for (const struct param_decl *p = stage->params; p; p = p->next, i++) ptypes[i] = param_type(c, p);
  struct scope inner = { .row = s->row, .row_desc = s->row_desc, .params = stage->params, .param_types = ptypes,
                         .bound = bound, .outer = s };
  const char *desc = s->row_desc;
  return check_stages(c, &inner, stage->stages, s->row, &desc, fc, &inner_chain);
}

static const struct type *check_stages(struct checker *c, const struct scope *outer, struct stage_call *stages,
                                       const struct type *row, const char **row_desc, const struct flow_ctx *fc,
                                       const struct expansion *chain) {
  for (struct stage_call *sc = stages; sc; sc = sc->next) {
    struct scope s = *outer;
    s.row = row;
    s.row_desc = *row_desc;
    switch (sc->kind) {
    case SC_WHERE:
      chk_predicate(c, &s, sc->expr, "the condition of `where`");
      break;
    case SC_MAP:
      row = chk_expr(c, &s, sc->expr);
      *row_desc = arena_printf(c->arena, "the object built by `map` at line %d", sc->loc.line);
      break;
    case SC_CALL: {
      const struct type *out = check_call(c, &s, sc->name, name_loc(sc->loc, sc->name), sc->args, &sc->target,
                                          &sc->bound, fc, chain);
      if (sc->target && sc->target->is_extern) {
        row = out;
        *row_desc = arena_printf(c->arena, "the output of `%s`", sc->name);
      } else {
        row = out;
      }
      break;
    }
    }
  }
  return row;
}

/* ---- flows and routes -------------------------------------------------- */

/* The row type of a flow listening to several events: the fields they share. */
static const struct type *input_row(struct checker *c, struct name_ref *on, const char **desc) {
  const struct type *row = NULL;
  int n = 0;
  char *names = arena_strdup(c->arena, "");
  for (struct name_ref *r = on; r; r = r->next) {
    const struct decl *ev = check_find(c->program, D_EVENT, r->name);
    for (struct name_ref *q = on; q != r; q = q->next)
      if (strcmp(q->name, r->name) == 0) {
        diag_error(c->diag, r->loc, "event `%s` is listed twice", r->name);
        goto next;
      }
    if (!ev) {
      const struct decl *other = find_type_decl(c, r->name);
      if (other) {
        diag_error(c->diag, r->loc, "`%s` is a type, not an event", r->name);
        diag_hint(c->diag, "declare an event with `event Name from \"source\" extends %s { }`", r->name);
      } else {
        diag_error(c->diag, r->loc, "unknown event `%s`", r->name);
        hint_decl_names(c, r->name, is_event);
      }
      row = &type_any;
      continue;
    }
    names = arena_printf(c->arena, "%s%s`%s`", names, n ? ", " : "", r->name);
    n++;
    if (!row) { row = ev->type; continue; }
    if (row->kind != T_RECORD || ev->type->kind != T_RECORD) { row = &type_any; continue; }
    struct type *common = type_record(c->arena, NULL);
    for (const struct type_field *f = row->fields; f; f = f->next) {
      const struct type_field *g = type_field(ev->type, f->name);
      const struct type *u = g ? type_unify(c->arena, f->type, g->type) : NULL;
      if (u) type_add_field(c->arena, common, f->name, u, f->optional || g->optional, f->loc);
    }
    row = common;
  next:;
  }
  *desc = arena_printf(c->arena, "%s %s", n > 1 ? "events" : "event", names);
  if (n > 1) *desc = arena_printf(c->arena, "%s (only the fields they all have)", *desc);
  return row ? row : &type_any;
}

/* "`a`, `b` and `c`" */
static char *name_list(struct checker *c, const char *const *names, size_t n) {
  char *list = arena_strdup(c->arena, "");
  for (size_t i = 0; i < n; i++)
    list = arena_printf(c->arena, "%s%s`%s`", list, i == 0 ? "" : i + 1 == n ? " and " : ", ", names[i]);
  return list;
}

/* Does `row` fit event `ev` exactly?  Reports the differences at `at`: one
 * error for missing fields, one for extra fields, one per wrong type. */
/* `last` is the flow's last stage (NULL for a route target, which has no `map`). */
static void check_emit_fits(struct checker *c, const struct type *row, const struct decl *ev, struct loc at,
                            const struct stage_call *last, int in_route) {
  const struct type *want = ev->type;
  if (row->kind == T_ANY || !want || want->kind != T_RECORD) return;
  if (row->kind != T_RECORD) {
    diag_error(c->diag, at, "cannot emit %s as event `%s`", tn(c, row), ev->name);
    return;
  }
  const char *missing[64], *extra[64];
  size_t nmissing = 0, nextra = 0;
  for (const struct type_field *f = want->fields; f; f = f->next) {
    const struct type_field *g = type_field(row, f->name);
    if (!g) {
      if (!f->optional && nmissing < 64) missing[nmissing++] = f->name;
    } else if (!type_assignable(f->type, g->type)) {
      diag_error(c->diag, at, "field `%s` of event `%s` is %s, but the row has %s", f->name, ev->name,
                 tn(c, f->type), tn(c, g->type));
    } else if (g->optional && !f->optional) {
      diag_error(c->diag, at, "field `%s` may be absent from the row, but event `%s` requires it", f->name, ev->name);
      diag_hint(c->diag, in_route ? "declare `%s` optional (`%s: ...?`) in event `%s`"
                                  : "give it a value when absent, e.g. `%s: coalesce(%s, ...)` in a `map`, or declare it optional in `%s`",
                f->name, f->name, ev->name);
    }
  }
  for (const struct type_field *g = row->fields; g; g = g->next)
    if (!type_field(want, g->name) && nextra < 64) extra[nextra++] = g->name;
  if (nmissing) {
    diag_error(c->diag, at, "event `%s` needs field%s %s, which the row does not have", ev->name,
               nmissing > 1 ? "s" : "", name_list(c, missing, nmissing));
    if (in_route)
      diag_hint(c->diag, "a route cannot reshape the row: declare %s optional in event `%s`, or use a flow with a `map`",
                name_list(c, missing, nmissing), ev->name);
    else if (last && last->kind == SC_MAP)
      diag_hint(c->diag, "add %s to the `map` at line %d", name_list(c, missing, nmissing), last->loc.line);
    else
      diag_hint(c->diag, "build the row with `| map { %s: ... }` before `emit`", missing[0]);
  }
  if (nextra) {
    diag_error(c->diag, at, "event `%s` has no field%s %s", ev->name, nextra > 1 ? "s" : "", name_list(c, extra, nextra));
    const char *cands[128];
    size_t n = 0;
    for (const struct type_field *f = want->fields; f && n < 128; f = f->next)
      if (!type_field(row, f->name)) cands[n++] = f->name;   /* a misspelling of a field the row lacks */
    const char *close = nextra == 1 ? diag_suggest(extra[0], cands, n) : NULL;
    if (close) diag_hint(c->diag, "did you mean `%s`?", close);
    else if (in_route) diag_hint(c->diag, "declare %s in event `%s`: a route passes the whole row on",
                                 nextra > 1 ? "them" : "it", ev->name);
    else diag_hint(c->diag, "declare %s in event `%s`, or leave %s out of the row with a `map`",
                   nextra > 1 ? "them" : "it", ev->name, nextra > 1 ? "them" : "it");
  }
}

static const struct decl *emit_event(struct checker *c, const struct name_ref *emit) {
  const struct decl *ev = check_find(c->program, D_EVENT, emit->name);
  if (!ev) {
    diag_error(c->diag, emit->loc, "unknown event `%s`", emit->name);
    hint_decl_names(c, emit->name, is_event);
    if (!c->diag->items[c->diag->count - 1].hint)
      diag_hint(c->diag, "declare it: `event %s { ... }`", emit->name);
    return NULL;
  }
  const char *src = check_event_source(c->program, ev);
  if (strncmp(src, "aws.", 4) == 0) {
    diag_error(c->diag, emit->loc, "cannot emit `%s`: its source \"%s\" is reserved for AWS services", ev->name, src);
    diag_hint(c->diag, "EventBridge rejects PutEvents with an `aws.` source; give the event its own `from`");
  }
  return ev;
}

static void check_flow(struct checker *c, struct decl *d) {
  const char *desc;
  const struct type *row = input_row(c, d->on, &desc);
  d->type = row;
  struct flow_ctx fc = { d, d->on };
  struct scope s = { .row = row, .row_desc = desc };
  if (d->where) chk_predicate(c, &s, d->where, "the condition of `where`");
  const struct type *out = check_stages(c, &s, d->stages, row, &desc, &fc, NULL);
  d->output = out;
  if (!d->emit) {
    diag_error(c->diag, d->name_loc, "flow `%s` does not emit anything", d->name);
    diag_hint(c->diag, "end the flow with `-> emit EventName`");
    return;
  }
  const struct decl *ev = emit_event(c, d->emit);
  const struct stage_call *last = d->stages;
  while (last && last->next) last = last->next;
  if (ev) check_emit_fits(c, out, ev, d->emit->loc, last, 0);
}

static void check_route(struct checker *c, struct decl *d) {
  const char *desc;
  const struct type *row = input_row(c, d->on, &desc);
  d->type = row;
  struct flow_ctx fc = { d, d->on };
  struct scope s = { .row = row, .row_desc = desc };
  if (d->where) chk_predicate(c, &s, d->where, "the condition of `where`");
  for (struct target *t = d->targets; t; t = t->next) {
    if (t->arn) {
      if (strncmp(t->arn, "arn:", 4) != 0 || strlen(t->arn) > 1600) {
        diag_error(c->diag, t->loc, "a target string must be an ARN (arn:partition:service:region:account:resource)");
        diag_hint(c->diag, "e.g. \"arn:aws:sqs:us-east-1:123456789012:my-queue\"; to call a stage write its name");
      }
      continue;
    }
    const struct decl *flow = check_find(c->program, D_FLOW, t->name);
    if (!flow && !check_find(c->program, D_STAGE, t->name)) {
      diag_error(c->diag, t->loc, "unknown target `%s`: no flow or stage has this name", t->name);
      const char *mod = stdlib_module_of(t->name);
      if (mod) diag_hint(c->diag, "`%s` is in the standard library: add `import std.%s`", t->name, mod);
      else hint_decl_names(c, t->name, is_flow_or_stage);
      if (!c->diag->items[c->diag->count - 1].hint)
        diag_hint(c->diag, "a route delivers to a flow, a stage call (`-> summarizer(...) -> emit E`) or an ARN string");
      continue;
    }
    if (flow) {
      /* A flow already receives its events through its own rule: a route
       * to it would deliver every event twice. */
      diag_error(c->diag, t->loc, "`%s` is a flow: flows receive events through their own `on` line", t->name);
      diag_hint(c->diag, "remove `%s` from the route; to narrow what the flow receives, give its `on` line a `where`",
                t->name);
      continue;
    }
    const struct type *out = check_call(c, &s, t->name, t->loc, t->args, &t->resolved, &t->bound, &fc, NULL);
    if (!t->resolved) continue;
    if (!t->emit) {
      diag_error(c->diag, t->loc, "the result of `%s` must go somewhere", t->name);
      diag_hint(c->diag, "write `%s(...) -> emit EventName` to send its output back to the bus", t->name);
      continue;
    }
    const struct decl *ev = emit_event(c, t->emit);
    if (ev) check_emit_fits(c, out, ev, t->emit->loc, NULL, 1);
  }
}

static void check_stage_decl(struct checker *c, struct decl *d) {
  for (const struct param_decl *p = d->params; p; p = p->next) {
    for (const struct param_decl *q = d->params; q != p; q = q->next)
      if (strcmp(p->name, q->name) == 0) diag_error(c->diag, p->loc, "parameter `%s` is declared twice", p->name);
    if (p->type->kind == TX_NAME && strcmp(p->type->name, "aggregates") == 0) {
      if (!d->is_extern) diag_error(c->diag, p->type->loc, "`aggregates` parameters are only for extern stages");
      continue;
    }
    const struct type *want = param_type(c, p);
    if (p->default_value && p->optional)
      diag_warning(c->diag, p->loc, "`%s` has a default, so `?` changes nothing", p->name);
    if (p->default_value) {
      /* The row is not known here (defaults are evaluated at each call), but
       * the type of a default can be: constants, or fields of any row. */
      struct scope any_row = { .row = &type_any, .row_desc = "the input" };
      const struct type *t = chk_expr(c, &any_row, p->default_value);
      if (!type_assignable(want, t))
        diag_error(c->diag, p->default_value->loc, "the default of `%s` must be %s, found %s", p->name,
                   tn(c, want), tn(c, t));
    }
  }
  if (d->is_extern) {
    for (const struct field_decl *f = d->output_type->kind == TX_RECORD ? d->output_type->fields : NULL; f; f = f->next) {
      if (!f->spread || strcmp(f->spread, "input") == 0 || strcmp(f->spread, "events") == 0) continue;
      const struct param_decl *p = d->params;
      while (p && strcmp(p->name, f->spread) != 0) p = p->next;
      if (!p) diag_error(c->diag, f->loc, "`...%s` names no parameter of `%s`", f->spread, d->name);
    }
    return;
  }
  /* Check the body once on its own, with an unknown row, so a stage that is
   * never used still gets its mistakes reported. */
  int n = count_params(d->params), i = 0;
  const struct type **ptypes = arena_alloc(c->arena, sizeof *ptypes * (size_t)(n + 1));
  for (const struct param_decl *p = d->params; p; p = p->next, i++)
    ptypes[i] = p->type->kind == TX_NAME && strcmp(p->type->name, "aggregates") == 0 ? &type_any : param_type(c, p);
  struct scope s = { .row = &type_any, .row_desc = "the input", .params = d->params, .param_types = ptypes };
  const char *desc = s.row_desc;
  struct flow_ctx fc = { d, NULL };
  struct expansion top = { d, NULL, 1 };
  check_stages(c, &s, d->stages, &type_any, &desc, &fc, &top);
}

/* Reports each (position, message) once: templates are checked per call. */
static void dedupe(struct diag *d, size_t from) {
  size_t out = from;
  for (size_t i = from; i < d->count; i++) {
    struct diagnostic *it = &d->items[i];
    int dup = 0;
    for (size_t j = from; j < out && !dup; j++) {
      struct diagnostic *o = &d->items[j];
      dup = o->loc.src == it->loc.src && o->loc.line == it->loc.line && o->loc.col == it->loc.col &&
            strcmp(o->message, it->message) == 0;
    }
    if (dup) {
      if (it->severity == SEV_ERROR) d->errors--;
      free(it->message);
      free(it->hint);
    } else {
      d->items[out++] = *it;
    }
  }
  d->count = out;
}

int check_program(struct program *program, struct diag *d) {
  struct checker c = { program, d, &program->arena };
  size_t before = d->errors, first = d->count;
  collect_names(&c);
  for (struct decl *decl = program->decls; decl; decl = decl->next)
    if (decl->kind == D_TYPE) resolve_decl_type(&c, decl);
    else if (decl->kind == D_EVENT) check_event_decl(&c, decl);
  for (struct decl *decl = program->decls; decl; decl = decl->next)
    if (decl->kind == D_STAGE) check_stage_decl(&c, decl);
  for (struct decl *decl = program->decls; decl; decl = decl->next)
    if (decl->kind == D_FLOW) check_flow(&c, decl);
    else if (decl->kind == D_ROUTE) check_route(&c, decl);
  dedupe(d, first);
  return (int)(d->errors - before);
}
