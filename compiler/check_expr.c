/* check_expr.c — types of expressions, built-in functions and aggregates.
 *
 * Every expression gets a type (expr->type); a name is resolved to a
 * parameter, a field of the row, or an envelope field (expr->ref), in that
 * order.  On an error the expression's type becomes `any`, so one mistake
 * is reported once and not again by every expression around it.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include "check_internal.h"
#include "image.h"

static const struct {
  const char *name;
  int min_args, max_args;
} builtins[] = {
#define BUILTIN(id, name, min_args, max_args, doc) { name, min_args, max_args },
#include "builtins.h"
#undef BUILTIN
};
#define NBUILTINS (sizeof builtins / sizeof *builtins)

/* Aggregate functions: valid only as the values of a `keep:` argument. */
static const char *const aggregate_names[] = {
  "count", "min", "max", "sum", "avg", "distinct", "first", "last", "list",
};
#define NAGGREGATES (sizeof aggregate_names / sizeof *aggregate_names)

static int is_aggregate(const char *name) {
  for (size_t i = 0; i < NAGGREGATES; i++)
    if (strcmp(aggregate_names[i], name) == 0) return 1;
  return 0;
}

static const char *tn(struct checker *c, const struct type *t) { return type_name(c->arena, t); }

static const struct type *fail(struct expr *e) { return e->type = &type_any; }

/* "did you mean" over the names a scope can see. */
static void hint_names(struct checker *c, const struct scope *s, const struct type *record, const char *name) {
  const char *cands[256];
  size_t n = 0;
  if (record && record->kind == T_RECORD)
    for (const struct type_field *f = record->fields; f && n < 200; f = f->next) cands[n++] = f->name;
  if (s) {
    for (const struct param_decl *p = s->params; p && n < 240; p = p->next) cands[n++] = p->name;
    static const char *const env[] = { "time", "source", "id", "account", "region", "detail_type", "resources" };
    if (record == s->row)
      for (size_t i = 0; i < 7; i++) cands[n++] = env[i];
  }
  const char *close = diag_suggest(name, cands, n);
  if (close) {
    diag_hint(c->diag, "did you mean `%s`?", close);
  } else if (record && record->kind == T_RECORD && record->fields) {
    char *list = arena_strdup(c->arena, "");
    int k = 0;
    for (const struct type_field *f = record->fields; f; f = f->next, k++) {
      if (k == 8) { list = arena_printf(c->arena, "%s, ...", list); break; }
      list = arena_printf(c->arena, "%s%s%s", list, k ? ", " : "", f->name);
    }
    diag_hint(c->diag, "the fields here are: %s", list);
  }
}

static const struct type *chk_name(struct checker *c, const struct scope *s, struct expr *e) {
  int i = 0;
  for (const struct param_decl *p = s->params; p; p = p->next, i++)
    if (strcmp(p->name, e->s) == 0) {
      e->ref = REF_PARAM;
      const struct arg *b = s->bound;
      for (int k = 0; b && k < i; k++) b = b->next;
      if (b && b->value && s->outer) {
        struct scope at_use = *s->outer;
        at_use.row = s->row;
        at_use.row_desc = s->row_desc;
        at_use.aggregates_ok = 0;
        size_t before = c->diag->errors;
        chk_expr(c, &at_use, b->value);
        if (c->diag->errors > before)
          diag_hint(c->diag, "the argument `%s` is evaluated where the stage uses it (line %d), against the row there",
                    p->name, e->loc.line);
      }
      return e->type = s->param_types ? s->param_types[i] : &type_any;
    }
  if (s->row->kind == T_ANY) { e->ref = REF_ROW; return e->type = &type_any; }
  const struct type_field *f = type_field(s->row, e->s);
  if (f) { e->ref = REF_ROW; return e->type = f->type; }
  const struct type *env = check_envelope_field(e->s);
  if (env) { e->ref = REF_ENVELOPE; return e->type = env; }
  if (is_aggregate(e->s) && strcmp(e->s, "count") == 0) {
    diag_error(c->diag, e->loc, "unknown field `count` in %s", s->row_desc);
    diag_hint(c->diag, "to count events, use `count()` inside `keep: { ... }` of `aggregator`");
    return fail(e);
  }
  diag_error(c->diag, e->loc, "unknown field `%s` in %s", e->s, s->row_desc);
  hint_names(c, s, s->row, e->s);
  return fail(e);
}

/* The source text of a one-line expression, or NULL (for hints that quote the code). */
static const char *src_text(const struct expr *e, int *len) {
  struct loc l = e->loc;
  if (!l.src || l.line != l.end_line || l.end_col <= l.col || l.end_col - l.col > 60) return NULL;
  const char *p = l.src->text, *end = p + l.src->length;
  for (int line = 1; line < l.line && p < end; p++) line += *p == '\n';
  if (p + l.end_col - 1 > end) return NULL;
  *len = l.end_col - l.col;
  return p + l.col - 1;
}

/* The position of `name` in `left.name` (the last word of e->loc). */
static struct loc field_name_loc(const struct expr *e) {
  struct loc l = e->loc;
  if (l.end_col <= 1) return l;
  int len = (int)strlen(e->s);
  const char *p = l.src ? l.src->text : NULL, *end = p ? p + l.src->length : NULL;
  if (p) {
    for (int line = 1; line < l.end_line && p < end; p++) line += *p == '\n';
    if (p + l.end_col - 2 < end && p[l.end_col - 2] == '`') len += 2;
  }
  l.line = l.end_line;
  l.col = l.end_col - len;
  if (l.col < 1) return e->loc;
  return l;
}

static const struct type *chk_field(struct checker *c, const struct scope *s, struct expr *e) {
  const struct type *left = chk_expr(c, s, e->left);
  if (left->kind == T_ANY) return e->type = &type_any;
  if (left->kind != T_RECORD) {
    int named = e->left->kind == E_NAME || e->left->kind == E_FIELD;
    diag_error(c->diag, e->loc, "`%s` is not an object: it is %s, and has no field `%s`",
               named ? e->left->s : "this value", tn(c, left), e->s);
    if (left->kind == T_ARRAY && named)
      diag_hint(c->diag, "index the list first, e.g. `%s[0].%s`", e->left->s, e->s);
    else if (named && e->left->kind == E_NAME && type_field(s->row, arena_printf(c->arena, "%s_%s", e->left->s, e->s)))
      diag_hint(c->diag, "did you mean `%s_%s`?", e->left->s, e->s);
    else if (named)
      diag_hint(c->diag, "only objects have fields; use `%s` itself", e->left->s);
    return fail(e);
  }
  const struct type_field *f = type_field(left, e->s);
  if (!f) {
    diag_error(c->diag, field_name_loc(e), "unknown field `%s` in `%s` (%s)", e->s,
               e->left->s ? e->left->s : "object", tn(c, left));
    hint_names(c, NULL, left, e->s);
    return fail(e);
  }
  return e->type = f->type;
}

static const char *op_text(const struct expr *e) {
  static char buf[32];
  snprintf(buf, sizeof buf, "%s%s", e->negated ? "not " : "", ast_op_text(e->op));
  return buf;
}

static int comparable(const struct type *a, const struct type *b) {
  if (a->kind == T_ANY || b->kind == T_ANY || a->kind == T_NULL || b->kind == T_NULL) return 1;
  if (type_is_numeric(a) && type_is_numeric(b)) return 1;
  if ((a->kind == T_TIME && b->kind == T_STRING) || (a->kind == T_STRING && b->kind == T_TIME)) return 1;
  if (a->kind == T_ARRAY && b->kind == T_ARRAY) return comparable(a->elem, b->elem);
  return a->kind == b->kind && (a->kind != T_RECORD || type_assignable(a, b));
}

static int ordered(const struct type *t) {
  return t->kind == T_ANY || t->kind == T_INT || t->kind == T_FLOAT || t->kind == T_STRING ||
         t->kind == T_TIME || t->kind == T_DURATION;
}

static int is_stringish(const struct type *t) { return t->kind == T_STRING || t->kind == T_ANY || t->kind == T_TIME; }

static const struct type *chk_arith(struct checker *c, struct expr *e, const struct type *l, const struct type *r) {
  enum type_kind a = l->kind, b = r->kind;
  if (a == T_ANY || b == T_ANY) return e->type = &type_any;
  if (type_is_numeric(l) && type_is_numeric(r))
    return e->type = (a == T_FLOAT || b == T_FLOAT || e->op == EOP_DIV) ? &type_float : &type_int;
  if (e->op == EOP_ADD && a == T_STRING && b == T_STRING) return e->type = &type_string;
  if (e->op == EOP_ADD && a == T_ARRAY && b == T_ARRAY) {
    const struct type *u = type_unify(c->arena, l, r);
    if (u) return e->type = u;
  }
  if ((e->op == EOP_ADD || e->op == EOP_SUB) && a == T_TIME && b == T_DURATION) return e->type = &type_time;
  if (e->op == EOP_ADD && a == T_DURATION && b == T_TIME) return e->type = &type_time;
  if (e->op == EOP_SUB && a == T_TIME && b == T_TIME) return e->type = &type_duration;
  if ((e->op == EOP_ADD || e->op == EOP_SUB) && a == T_DURATION && b == T_DURATION) return e->type = &type_duration;
  if ((e->op == EOP_MUL || e->op == EOP_DIV) && a == T_DURATION && type_is_numeric(r)) return e->type = &type_duration;
  if (e->op == EOP_MUL && type_is_numeric(l) && b == T_DURATION) return e->type = &type_duration;
  diag_error(c->diag, e->loc, "cannot apply `%s` to %s and %s", ast_op_text(e->op), tn(c, l), tn(c, r));
  if (e->op == EOP_ADD && (a == T_STRING || b == T_STRING))
    diag_hint(c->diag, "convert with string(...) first, e.g. `\"n=\" + string(x)`");
  else if (a == T_TIME || b == T_TIME)
    diag_hint(c->diag, "time - time is a duration; time + duration is a time; use seconds(d) for a number");
  return fail(e);
}

/* What is wrong with a CIDR block, or NULL.  The runtime reads blocks as
 * "ADDRESS[/BITS]" with inet_pton and never matches a malformed one, so a
 * malformed block is refused here.  (Blocks EventBridge refuses but the
 * runtime reads, such as /32, just stay out of the rule: docs/language.md.) */
static const char *cidr_problem(const struct expr *lit) {
  const char *s = lit->s, *slash = strchr(s, '/');
  size_t n = slash ? (size_t)(slash - s) : strlen(s);
  char addr[64];
  unsigned char bin[16];
  if (strlen(s) != lit->slen || n == 0 || n >= sizeof addr) return "the address is not an IPv4 or IPv6 address";
  memcpy(addr, s, n);
  addr[n] = 0;
  int width = inet_pton(AF_INET, addr, bin) == 1 ? 32 : inet_pton(AF_INET6, addr, bin) == 1 ? 128 : 0;
  if (!width) return "the address is not an IPv4 or IPv6 address";
  if (!slash) return NULL;
  const char *m = slash + 1;
  if (!*m || strspn(m, "0123456789") != strlen(m) || strlen(m) > 3 || atoi(m) > width)
    return width == 32 ? "the mask of an IPv4 block is 0 to 32 bits" : "the mask of an IPv6 block is 0 to 128 bits";
  return NULL;
}

/* How to turn a non-bool operand into a condition, quoting it. */
static void hint_make_bool(struct checker *c, const struct expr *e, const struct type *t) {
  int n = 0;
  const char *text = src_text(e, &n);
  if (!text) text = "x", n = 1;
  if (t->kind == T_STRING)
    diag_hint(c->diag, "compare it to something, e.g. `%.*s != \"\"`, or test that it is there: `exists(%.*s)`", n, text, n, text);
  else if (type_is_numeric(t))
    diag_hint(c->diag, "compare it to something, e.g. `%.*s > 0`", n, text);
  else
    diag_hint(c->diag, "compare it to something, or test that it is there: `exists(%.*s)`", n, text);
}

static const struct type *chk_binary(struct checker *c, const struct scope *s, struct expr *e) {
  const struct type *l = chk_expr(c, s, e->left);
  const struct type *r = e->op == EOP_IN && e->right->kind == E_ARRAY ? NULL : chk_expr(c, s, e->right);
  switch (e->op) {
  case EOP_AND: case EOP_OR:
    if (l->kind != T_BOOL && l->kind != T_ANY) {
      diag_error(c->diag, e->left->loc, "`%s` needs a bool on its left, found %s", ast_op_text(e->op), tn(c, l));
      hint_make_bool(c, e->left, l);
    } else if (r->kind != T_BOOL && r->kind != T_ANY) {
      diag_error(c->diag, e->right->loc, "`%s` needs a bool on its right, found %s", ast_op_text(e->op), tn(c, r));
      hint_make_bool(c, e->right, r);
    }
    return e->type = &type_bool;
  case EOP_EQ: case EOP_NE:
    if (!comparable(l, r)) {
      diag_error(c->diag, e->loc, "cannot compare %s with %s", tn(c, l), tn(c, r));
      const struct expr *lit = e->right->kind == E_STRING ? e->right : e->left->kind == E_STRING ? e->left : NULL;
      const struct type *other = lit == e->right ? l : r;
      if (lit && type_is_numeric(other) && lit->slen > 0 && lit->slen < 30 &&
          strspn(lit->s, "0123456789.-") == lit->slen)
        diag_hint(c->diag, "numbers are written without quotes: %s", lit->s);
      else if (lit && other->kind == T_BOOL)
        diag_hint(c->diag, "bools are written without quotes: true or false");
      else if (l->kind == T_STRING || r->kind == T_STRING)
        diag_hint(c->diag, "convert one side with string(...), int(...) or float(...)");
      return fail(e);
    }
    return e->type = &type_bool;
  case EOP_LT: case EOP_LE: case EOP_GT: case EOP_GE:
    if (!ordered(l) || !ordered(r) || !comparable(l, r)) {
      diag_error(c->diag, e->loc, "cannot order %s and %s with `%s`", tn(c, l), tn(c, r), ast_op_text(e->op));
      if (l->kind == T_BOOL && r->kind == T_BOOL)
        diag_hint(c->diag, "bools have no order; combine them with `and`, `or` and `not`");
      else
        diag_hint(c->diag, "`<`, `<=`, `>`, `>=` compare numbers, strings, times or durations of the same kind");
      return fail(e);
    }
    return e->type = &type_bool;
  case EOP_PREFIX: case EOP_SUFFIX: case EOP_MATCHES: case EOP_IEQ:
    if (!is_stringish(l) || !is_stringish(r)) {
      diag_error(c->diag, e->loc, "`%s` works on strings, found %s and %s", op_text(e), tn(c, l), tn(c, r));
      int n1 = 0, n2 = 0;
      const char *t1 = src_text(e->left, &n1), *t2 = src_text(e->right, &n2);
      if (type_is_numeric(l) && is_stringish(r) && e->op != EOP_MATCHES)
        diag_hint(c->diag, "compare numbers with `<` and `>=`, or convert to a string first: `string(%.*s) %s %.*s`",
                  t1 ? n1 : 3, t1 ? t1 : "...", op_text(e), t2 ? n2 : 3, t2 ? t2 : "...");
      else if (!is_stringish(l))
        diag_hint(c->diag, "convert it to a string first: `string(%.*s)`", t1 ? n1 : 3, t1 ? t1 : "...");
      return fail(e);
    }
    return e->type = &type_bool;
  case EOP_IN_CIDR:
    if (!is_stringish(l)) {
      diag_error(c->diag, e->left->loc, "`in cidr` needs an IP address string on its left, found %s", tn(c, l));
      return fail(e);
    }
    if (e->right->kind != E_STRING) {
      diag_error(c->diag, e->right->loc, "`in cidr` needs a CIDR block written as a string literal");
      int n = 0;
      const char *text = src_text(e->left, &n);
      diag_hint(c->diag, "write the block itself, e.g. `%.*s in cidr \"10.0.0.0/24\"`",
                text ? n : 2, text ? text : "ip");
      return fail(e);
    }
    const char *why = cidr_problem(e->right);
    if (why) {
      diag_error(c->diag, e->right->loc, "\"%s\" is not a CIDR block: %s", e->right->s, why);
      /* A netmask (10.0.0.0/255.255.255.0): say it in bits. */
      const char *slash = strchr(e->right->s, '/');
      unsigned char mask[4];
      int bits = -1;
      if (slash && inet_pton(AF_INET, slash + 1, mask) == 1) {
        uint32_t m = (uint32_t)mask[0] << 24 | (uint32_t)mask[1] << 16 | (uint32_t)mask[2] << 8 | mask[3];
        bits = 0;
        while (bits < 32 && (m & (0x80000000u >> bits))) bits++;
        if (bits < 32 && (m << bits) != 0) bits = -1;   /* not contiguous */
      }
      if (bits >= 0)
        diag_hint(c->diag, "write the mask as a number of bits: \"%.*s/%d\"", (int)(slash - e->right->s), e->right->s, bits);
      else
        diag_hint(c->diag, "a block is an address and the number of leading bits that must match: "
                  "\"10.0.0.0/8\", \"2001:db8::/32\"");
      return fail(e);
    }
    return e->type = &type_bool;
  case EOP_IN:
    if (e->right->kind == E_ARRAY && !e->right->args) {
      diag_error(c->diag, e->right->loc, "`in []` is never true: the list is empty");
      diag_hint(c->diag, "list the values, e.g. `x in [\"a\", \"b\"]`");
      return fail(e);
    }
    if (e->right->kind == E_ARRAY) {
      for (struct arg *a = e->right->args; a; a = a->next) {
        const struct type *t = chk_expr(c, s, a->value);
        if (!comparable(l, t)) {
          diag_error(c->diag, a->value->loc, "cannot compare %s with %s in this list", tn(c, l), tn(c, t));
          return fail(e);
        }
      }
      e->right->type = type_array(c->arena, l);
      return e->type = &type_bool;
    }
    if (r->kind == T_ANY) return e->type = &type_bool;
    if (r->kind != T_ARRAY) {
      diag_error(c->diag, e->right->loc, "`in` needs a list on its right, found %s", tn(c, r));
      int n1 = 0, n2 = 0;
      const char *t1 = src_text(e->left, &n1), *t2 = src_text(e->right, &n2);
      if (t1 && t2 && e->right->kind == E_STRING && r->kind == T_STRING)
        diag_hint(c->diag, "write the values as a list: `%.*s in [%.*s, ...]`, or compare one: `%.*s == %.*s`", n1, t1,
                  n2, t2, n1, t1, n2, t2);
      else
        diag_hint(c->diag, "write a list `x in [\"a\", \"b\"]`, or `x in cidr \"10.0.0.0/8\"` for IP ranges");
      return fail(e);
    }
    if (!comparable(l, r->elem)) {
      diag_error(c->diag, e->loc, "cannot look for %s in a list of %s", tn(c, l), tn(c, r->elem));
      return fail(e);
    }
    return e->type = &type_bool;
  default:
    return chk_arith(c, e, l, r);
  }
}

static int is_path(const struct expr *e) {
  while (e->kind == E_FIELD || e->kind == E_INDEX) e = e->left;
  return e->kind == E_NAME;
}

static int count_args(const struct arg *a) {
  int n = 0;
  for (; a; a = a->next) n++;
  return n;
}

static const struct type *chk_call(struct checker *c, const struct scope *s, struct expr *e) {
  int argc = count_args(e->args);
  for (struct arg *a = e->args; a; a = a->next)
    if (a->name) {
      diag_error(c->diag, a->loc, "functions take positional arguments; `%s:` is not allowed here", a->name);
      diag_hint(c->diag, "write `%s(x)`; named arguments are for stages such as counter(count: 10)", e->s);
      return fail(e);
    }
  if (strcmp(e->s, "exists") == 0) {
    if (argc != 1 || !is_path(e->args->value)) {
      diag_error(c->diag, e->loc, "`exists` takes one field path");
      diag_hint(c->diag, "e.g. `exists(application.window)`");
      return fail(e);
    }
    chk_expr(c, s, e->args->value);
    return e->type = &type_bool;
  }
  if (is_aggregate(e->s) && !(strcmp(e->s, "min") == 0 || strcmp(e->s, "max") == 0)) {
    if (s->aggregates_ok) {
      diag_error(c->diag, e->loc, "aggregates cannot be nested: `%s()` inside another aggregate", e->s);
      diag_hint(c->diag, "each entry of `keep` is one aggregate over a value of the event");
      return fail(e);
    }
    diag_error(c->diag, e->loc, "`%s()` is an aggregate and only works inside `keep: { ... }`", e->s);
    diag_hint(c->diag, "aggregates summarise many events: aggregator(by: ..., keep: { n: %s(...) })", e->s);
    return fail(e);
  }
  size_t id = 0;
  while (id < NBUILTINS && strcmp(builtins[id].name, e->s) != 0) id++;
  if (id == NBUILTINS) {
    const char *cands[NBUILTINS + 1];
    for (size_t i = 0; i < NBUILTINS; i++) cands[i] = builtins[i].name;
    cands[NBUILTINS] = "exists";
    diag_error(c->diag, e->loc, "unknown function `%s`", e->s);
    const char *close = diag_suggest(e->s, cands, NBUILTINS + 1);
    if (close) {
      diag_hint(c->diag, "did you mean `%s`?", close);
    } else {
      char *list = arena_strdup(c->arena, "exists");
      for (size_t i = 0; i < NBUILTINS; i++)
        if (builtins[i].name[0] != '_') list = arena_printf(c->arena, "%s, %s", list, builtins[i].name);
      diag_hint(c->diag, "the functions are: %s", list);
    }
    return fail(e);
  }
  if (argc < builtins[id].min_args || argc > builtins[id].max_args) {
    static const char *const usage[][2] = {
      { "len", "len(text or list)" }, { "lower", "lower(text)" }, { "upper", "upper(text)" },
      { "trim", "trim(text)" }, { "contains", "contains(text, part) or contains(list, value)" },
      { "split", "split(text, separator), e.g. split(email, \"@\")" },
      { "join", "join(list, separator), e.g. join(tags, \", \")" },
      { "string", "string(value)" }, { "int", "int(value)" }, { "float", "float(value)" },
      { "seconds", "seconds(duration)" }, { "millis", "millis(duration)" },
      { "coalesce", "coalesce(a, b, ...), 2 to 8 values" }, { "round", "round(number)" }, { "abs", "abs(number)" },
      { "min", "min(a, b, ...), 2 to 8 values" }, { "max", "max(a, b, ...), 2 to 8 values" },
    };
    const char *how = NULL;
    for (size_t k = 0; k < sizeof usage / sizeof *usage; k++)
      if (strcmp(usage[k][0], e->s) == 0) how = usage[k][1];
    if (builtins[id].min_args == builtins[id].max_args)
      diag_error(c->diag, e->loc, "`%s` takes %d argument%s, found %d", e->s, builtins[id].min_args,
                 builtins[id].min_args == 1 ? "" : "s", argc);
    else
      diag_error(c->diag, e->loc, "`%s` takes %d to %d arguments, found %d", e->s, builtins[id].min_args,
                 builtins[id].max_args, argc);
    if (how) diag_hint(c->diag, "write %s", how);
    return fail(e);
  }
  const struct type *t[8] = { 0 };
  int i = 0;
  for (struct arg *a = e->args; a; a = a->next) t[i++] = chk_expr(c, s, a->value);
  const struct type *want = NULL;   /* the type every argument must have, where there is one */
  const struct type *result = &type_any;
  switch ((enum builtin_id)id) {
  case BUILTIN_LEN: result = &type_int;
    if (t[0]->kind != T_STRING && t[0]->kind != T_ARRAY && t[0]->kind != T_RECORD && t[0]->kind != T_ANY) want = &type_string;
    break;
  case BUILTIN_LOWER: case BUILTIN_UPPER: case BUILTIN_TRIM: want = &type_string; result = &type_string; break;
  case BUILTIN_CONTAINS: result = &type_bool;
    if (t[0]->kind != T_ARRAY && t[0]->kind != T_STRING && t[0]->kind != T_ANY) {
      diag_error(c->diag, e->args->value->loc, "`contains` looks in a list or a string, found %s", tn(c, t[0]));
      return fail(e);
    }
    if (t[0]->kind == T_ARRAY && !comparable(t[0]->elem, t[1])) want = t[0]->elem;
    else if (t[0]->kind != T_ARRAY) want = &type_string;
    break;
  case BUILTIN_SPLIT: want = &type_string; result = type_array(c->arena, &type_string); break;
  case BUILTIN_JOIN: result = &type_string;
    if ((t[0]->kind != T_ARRAY && t[0]->kind != T_ANY) ||
        (t[0]->kind == T_ARRAY && t[0]->elem->kind != T_STRING && t[0]->elem->kind != T_ANY)) {
      diag_error(c->diag, e->args->value->loc, "`join` needs a list of strings, found %s", tn(c, t[0]));
      diag_hint(c->diag, "convert the items first, or build the text with `+` and string(...)");
      return fail(e);
    }
    if (!type_assignable(&type_string, t[1])) {
      diag_error(c->diag, e->args->next->value->loc, "the separator of `join` must be a string, found %s", tn(c, t[1]));
      return fail(e);
    }
    break;
  case BUILTIN_STRING: result = &type_string; break;
  case BUILTIN_INT: result = &type_int; break;
  case BUILTIN_FLOAT: result = &type_float; break;
  case BUILTIN_SECONDS: want = &type_duration; result = &type_float; break;
  case BUILTIN_MILLIS: want = &type_duration; result = &type_int; break;
  case BUILTIN_COALESCE:
    result = t[0];
    for (int k = 1; k < argc && result; k++) result = type_unify(c->arena, result, t[k]);
    if (!result) {
      diag_error(c->diag, e->loc, "the arguments of `coalesce` have different types");
      return fail(e);
    }
    break;
  case BUILTIN_ROUND: want = &type_float; result = &type_int; break;
  case BUILTIN_ABS: want = &type_float; result = t[0]->kind == T_INT ? &type_int : &type_float; break;
  case BUILTIN_MIN: case BUILTIN_MAX:
    result = t[0];
    for (int k = 1; k < argc && result; k++) result = ordered(t[k]) ? type_unify(c->arena, result, t[k]) : NULL;
    if (!result || !ordered(result)) {
      diag_error(c->diag, e->loc, "`%s` needs numbers, strings, times or durations of one kind", e->s);
      diag_hint(c->diag, "inside `keep:`, `%s(x)` with one argument is the aggregate", e->s);
      return fail(e);
    }
    break;
  case BUILTIN__COUNT: break;
  }
  if (want) {
    i = 0;
    for (struct arg *a = e->args; a; a = a->next, i++) {
      if (id == BUILTIN_CONTAINS && i == 0) continue;
      if (id == BUILTIN_SECONDS || id == BUILTIN_MILLIS || id == BUILTIN_ROUND || id == BUILTIN_ABS || i == 0 ||
          id == BUILTIN_SPLIT || id == BUILTIN_CONTAINS) {
        if (!type_assignable(want, t[i])) {
          diag_error(c->diag, a->value->loc, "`%s` needs %s here, found %s", e->s, tn(c, want), tn(c, t[i]));
          if (want == &type_duration) diag_hint(c->diag, "subtract two times to get a duration, e.g. `seconds(last_time - first_time)`");
          return fail(e);
        }
      }
    }
  }
  return e->type = result;
}

static const struct type *chk_object(struct checker *c, const struct scope *s, struct expr *e) {
  struct type *rec = type_record(c->arena, NULL);
  for (struct arg *a = e->args; a; a = a->next) {
    const struct type *t = chk_expr(c, s, a->value);
    if (a->spread) {
      if (t->kind == T_ANY) continue;
      if (t->kind != T_RECORD) {
        diag_error(c->diag, a->value->loc, "only an object can be spread with `...`, found %s", tn(c, t));
        continue;
      }
      for (const struct type_field *f = t->fields; f; f = f->next) {
        /* A later entry overrides a spread one, as in JavaScript. */
        if (!type_add_field(c->arena, rec, f->name, f->type, f->optional, a->loc)) {
          for (struct type_field *g = rec->fields; g; g = g->next)
            if (strcmp(g->name, f->name) == 0) g->type = f->type;
        }
      }
      continue;
    }
    const struct type_field *prev = type_field(rec, a->name);
    if (prev) {
      int explicit_before = 0;
      for (struct arg *b = e->args; b != a; b = b->next)
        if (!b->spread && b->name && strcmp(b->name, a->name) == 0) explicit_before = 1;
      if (explicit_before) {
        diag_error(c->diag, a->loc, "`%s` is set twice in this object", a->name);
        continue;
      }
      for (struct type_field *g = rec->fields; g; g = g->next)
        if (strcmp(g->name, a->name) == 0) { g->type = t; g->loc = a->loc; }
      continue;
    }
    type_add_field(c->arena, rec, a->name, t, 0, a->loc);
  }
  return e->type = rec;
}

/* Expressions nested deeper than this are refused rather than checked
 * recursively (a long chain such as `a + a + ... + a` would exhaust the
 * stack, here and in every later pass). */
#define MAX_EXPR_DEPTH 1000

static const struct type *chk_expr_kind(struct checker *c, const struct scope *s, struct expr *e);

const struct type *chk_expr(struct checker *c, const struct scope *s, struct expr *e) {
  static _Thread_local int depth;
  if (depth >= MAX_EXPR_DEPTH) {
    diag_error(c->diag, e->loc, "this expression is nested too deeply (more than %d levels)", MAX_EXPR_DEPTH);
    diag_hint(c->diag, "split it into several `where` or `map` stages");
    return fail(e);
  }
  depth++;
  const struct type *t = chk_expr_kind(c, s, e);
  depth--;
  return t;
}

static const struct type *chk_expr_kind(struct checker *c, const struct scope *s, struct expr *e) {
  switch (e->kind) {
  case E_NULL: return e->type = &type_null;
  case E_BOOL: return e->type = &type_bool;
  case E_INT: return e->type = &type_int;
  case E_FLOAT: return e->type = &type_float;
  case E_STRING: return e->type = &type_string;
  case E_DURATION: return e->type = &type_duration;
  case E_NAME: return chk_name(c, s, e);
  case E_FIELD: return chk_field(c, s, e);
  case E_INDEX: {
    const struct type *l = chk_expr(c, s, e->left), *r = chk_expr(c, s, e->right);
    if (r->kind != T_INT && r->kind != T_ANY) {
      diag_error(c->diag, e->right->loc, "an index must be an int, found %s", tn(c, r));
      return fail(e);
    }
    if (l->kind == T_ANY) return e->type = &type_any;
    if (l->kind != T_ARRAY) {
      diag_error(c->diag, e->loc, "only lists can be indexed, found %s", tn(c, l));
      if (l->kind == T_STRING)
        diag_hint(c->diag, "a string cannot be indexed; split(text, separator)[i] takes one part of it");
      else if (l->kind == T_RECORD)
        diag_hint(c->diag, "read a field of an object with `.name`");
      return fail(e);
    }
    return e->type = l->elem;
  }
  case E_UNARY: {
    const struct type *t = chk_expr(c, s, e->left);
    if (e->op == EOP_NOT) {
      if (t->kind != T_BOOL && t->kind != T_ANY) {
        diag_error(c->diag, e->left->loc, "`not` needs a bool, found %s", tn(c, t));
        diag_hint(c->diag, "to test that a field is absent, write `not exists(field)`");
        return fail(e);
      }
      return e->type = &type_bool;
    }
    if (!type_is_numeric(t) && t->kind != T_DURATION) {
      diag_error(c->diag, e->left->loc, "cannot negate %s", tn(c, t));
      return fail(e);
    }
    return e->type = t;
  }
  case E_BINARY: return chk_binary(c, s, e);
  case E_CALL: return chk_call(c, s, e);
  case E_OBJECT: return chk_object(c, s, e);
  case E_ARRAY: {
    const struct type *elem = NULL;
    for (struct arg *a = e->args; a; a = a->next) {
      const struct type *t = chk_expr(c, s, a->value);
      const struct type *u = elem ? type_unify(c->arena, elem, t) : t;
      if (!u) {
        diag_error(c->diag, a->value->loc, "list items must have one type: %s after %s", tn(c, t), tn(c, elem));
        return fail(e);
      }
      elem = u;
    }
    return e->type = type_array(c->arena, elem ? elem : &type_any);
  }
  case E_IF: {
    chk_predicate(c, s, e->cond, "the condition of `if`");
    const struct type *a = chk_expr(c, s, e->left), *b = chk_expr(c, s, e->right);
    const struct type *u = type_unify(c->arena, a, b);
    if (!u) {
      diag_error(c->diag, e->right->loc, "the branches of `if` have different types: `then` gives %s, `else` gives %s",
                 tn(c, a), tn(c, b));
      diag_hint(c->diag, "give both branches the same type; convert with string(...), int(...) or float(...)");
      return fail(e);
    }
    return e->type = u;
  }
  }
  return fail(e);
}

void chk_predicate(struct checker *c, const struct scope *s, struct expr *e, const char *what) {
  const struct type *t = chk_expr(c, s, e);
  if (t->kind != T_BOOL && t->kind != T_ANY) {
    diag_error(c->diag, e->loc, "%s must be a bool, found %s", what, tn(c, t));
    int n = 0;
    const char *text = src_text(e, &n);
    if ((e->kind == E_NAME || e->kind == E_FIELD) && text)
      diag_hint(c->diag, "to test that the field is present, write `exists(%.*s)`", n, text);
    else if (e->kind == E_NAME || e->kind == E_FIELD)
      diag_hint(c->diag, "to test that the field is present, write `exists(...)`");
  }
}

const struct type *chk_aggregates(struct checker *c, const struct scope *s, struct expr *e) {
  struct type *rec = type_record(c->arena, NULL);
  if (e->kind != E_OBJECT) {
    diag_error(c->diag, e->loc, "expected `{ name: aggregate(...), ... }`");
    diag_hint(c->diag, "e.g. keep: { first: min(time), shots: count() }");
    chk_expr(c, s, e);
    e->type = rec;
    return rec;
  }
  for (struct arg *a = e->args; a; a = a->next) {
    struct expr *v = a->value;
    if (a->spread || v->kind != E_CALL || !is_aggregate(v->s)) {
      diag_error(c->diag, v->loc, "each entry of `keep` must be an aggregate: count, min, max, sum, avg, distinct, first, last or list");
      int len = 0;
      const char *text = a->spread ? NULL : src_text(v, &len);
      if (text && is_path(v))
        diag_hint(c->diag, "to keep one value per window, write `%s: first(%.*s)` or `last(...)`; all of them: `list(...)`",
                  a->name, len, text);
      else
        diag_hint(c->diag, "e.g. `shots: count()`, `apps: distinct(application.name)`");
      /* Keep the name, so the rows after it are still checked. */
      if (a->name) type_add_field(c->arena, rec, a->name, &type_any, 0, a->loc);
      continue;
    }
    int argc = count_args(v->args);
    int is_count = strcmp(v->s, "count") == 0, is_list = strcmp(v->s, "list") == 0;
    int min_args = is_count ? 0 : 1, max_args = is_count ? 0 : is_list ? 2 : 1;
    if (argc < min_args || argc > max_args) {
      diag_error(c->diag, v->loc, "`%s` takes %s", v->s,
                 is_count ? "no arguments" : is_list ? "a value and an optional bound" : "one argument");
      continue;
    }
    const struct type *in = argc ? chk_expr(c, s, v->args->value) : &type_int;
    const struct type *out = in;
    if (strcmp(v->s, "sum") == 0 || strcmp(v->s, "avg") == 0) {
      if (!type_is_numeric(in) && in->kind != T_DURATION) {
        diag_error(c->diag, v->args->value->loc, "`%s` needs numbers, found %s", v->s, tn(c, in));
        continue;
      }
      if (strcmp(v->s, "avg") == 0 && in->kind != T_DURATION) out = &type_float;
    } else if (strcmp(v->s, "min") == 0 || strcmp(v->s, "max") == 0) {
      if (!ordered(in)) {
        diag_error(c->diag, v->args->value->loc, "`%s` needs values that can be ordered, found %s", v->s, tn(c, in));
        continue;
      }
    } else if (strcmp(v->s, "distinct") == 0 || is_list) {
      out = type_array(c->arena, in);
      if (is_list && argc == 2) {
        struct expr *bound = v->args->next->value;
        if (bound->kind != E_INT || bound->i < 1 || bound->i > 10000) {
          diag_error(c->diag, bound->loc, "the bound of `list` must be an integer from 1 to 10000");
          continue;
        }
      }
    }
    v->type = out;
    if (!type_add_field(c->arena, rec, a->name, out, 0, a->loc))
      diag_error(c->diag, a->loc, "`%s` is set twice in `keep`", a->name);
  }
  e->type = rec;
  return rec;
}
