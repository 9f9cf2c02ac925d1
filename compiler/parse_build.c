/* parse_build.c — node constructors for the grammar's actions.
 * Everything is allocated in the program's arena. */
#include "parse_build.h"
#include "parser.h"
#include <string.h>

#define NEW(st, T) ((T *)arena_alloc(&(st)->program->arena, sizeof(T)))

struct decl *pb_decl(struct parse_state *st, enum decl_kind kind, struct loc loc, const char *name, struct loc name_loc) {
  struct decl *d = NEW(st, struct decl);
  d->kind = kind;
  d->loc = loc;
  d->name = name;
  d->name_loc = name_loc;
  d->module = st->module;
  if (kind == D_ROUTE) d->name = arena_printf(&st->program->arena, "route%d", ++st->route_count);
  *st->tail = d;
  st->tail = &d->next;
  return d;
}

void pb_event_begin(struct parse_state *st) {
  memset(&st->pending, 0, sizeof st->pending);
}

void pb_event_attr(struct parse_state *st, int token, const char *value, struct loc loc) {
  const char **slot = token == FROM ? &st->pending.source : token == AS ? &st->pending.detail_type : &st->pending.extends;
  const char *what = token == FROM ? "from" : token == AS ? "as" : "extends";
  if (*slot) {
    diag_error(st->diag, loc, "`%s` is given twice", what);
    diag_hint(st->diag, "an event has one source (`from`), one detail-type (`as`) and extends at most one type");
  }
  *slot = value;
  if (token == EXTENDS) st->pending.extends_loc = loc;
}

void pb_event_finish(struct parse_state *st, struct loc loc, const char *name, struct loc name_loc, struct field_decl *fields) {
  struct decl *d = pb_decl(st, D_EVENT, loc, name, name_loc);
  d->source = st->pending.source;
  d->detail_type = st->pending.detail_type;
  d->extends = st->pending.extends;
  d->extends_loc = st->pending.extends_loc;
  d->fields = fields;
}

struct type_expr *pb_type(struct parse_state *st, enum type_expr_kind kind, struct loc loc, const char *name) {
  struct type_expr *t = NEW(st, struct type_expr);
  t->kind = kind;
  t->loc = loc;
  t->name = name;
  return t;
}

struct field_decl *pb_field(struct parse_state *st, struct loc loc, const char *name, struct type_expr *type, int optional) {
  struct field_decl *f = NEW(st, struct field_decl);
  f->loc = loc;
  f->name = name;
  f->type = type;
  f->optional = optional;
  return f;
}

struct name_ref *pb_ref(struct parse_state *st, struct loc loc, const char *name) {
  struct name_ref *r = NEW(st, struct name_ref);
  r->loc = loc;
  r->name = name;
  return r;
}

struct stage_call *pb_stage(struct parse_state *st, enum stage_call_kind kind, struct loc loc, const char *name) {
  struct stage_call *s = NEW(st, struct stage_call);
  s->kind = kind;
  s->loc = loc;
  s->name = name;
  return s;
}

struct target *pb_target(struct parse_state *st, struct loc loc, const char *name, const char *arn) {
  struct target *t = NEW(st, struct target);
  t->loc = loc;
  t->name = name;
  t->arn = arn;
  return t;
}

struct param_decl *pb_param(struct parse_state *st, struct loc loc, const char *name, struct type_expr *type,
                            int optional, struct expr *default_value) {
  struct param_decl *p = NEW(st, struct param_decl);
  p->loc = loc;
  p->name = name;
  p->type = type;
  p->optional = optional;
  p->default_value = default_value;
  return p;
}

struct expr *pb_expr(struct parse_state *st, enum expr_kind kind, struct loc loc) {
  struct expr *e = NEW(st, struct expr);
  e->kind = kind;
  e->loc = loc;
  return e;
}

struct expr *pb_binary(struct parse_state *st, struct loc loc, enum expr_op op, struct expr *l, struct expr *r, int negated) {
  struct expr *e = pb_expr(st, E_BINARY, loc);
  e->op = op;
  e->left = l;
  e->right = r;
  e->negated = negated;
  return e;
}

struct expr *pb_unary(struct parse_state *st, struct loc loc, enum expr_op op, struct expr *operand) {
  struct expr *e = pb_expr(st, E_UNARY, loc);
  e->op = op;
  e->left = operand;
  return e;
}

struct arg *pb_arg(struct parse_state *st, struct loc loc, const char *name, struct expr *value) {
  struct arg *a = NEW(st, struct arg);
  a->loc = loc;
  a->name = name;
  a->value = value;
  return a;
}

#define APPEND(T, list, item) do { \
    T *p_ = (list); \
    if (!p_) return (item); \
    while (p_->next) p_ = p_->next; \
    p_->next = (item); \
    return (list); \
  } while (0)

struct field_decl *pb_append_field(struct field_decl *l, struct field_decl *i) { APPEND(struct field_decl, l, i); }
struct name_ref *pb_append_ref(struct name_ref *l, struct name_ref *i) { APPEND(struct name_ref, l, i); }
struct stage_call *pb_append_stage(struct stage_call *l, struct stage_call *i) { APPEND(struct stage_call, l, i); }
struct target *pb_append_target(struct target *l, struct target *i) { APPEND(struct target, l, i); }
struct param_decl *pb_append_param(struct param_decl *l, struct param_decl *i) { APPEND(struct param_decl, l, i); }
struct arg *pb_append_arg(struct arg *l, struct arg *i) { APPEND(struct arg, l, i); }
