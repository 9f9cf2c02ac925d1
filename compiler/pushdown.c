/* pushdown.c — translating predicates into EventBridge event patterns.
 *
 * A fragment is a pattern object in event coordinates (detail fields under
 * "detail").  Conjuncts become fragments that are merged into the rule's
 * pattern; disjunctions become one leaf list (same field) or `$or`.  Only
 * forms whose pattern semantics equal the language's are translated; the
 * language's three-valued logic (a comparison with an absent field is
 * unknown, and `where` passes only true) is what makes `!=`, `not` and
 * `anything-but` agree on absent fields.
 */
#include <string.h>
#include "check.h"
#include "pattern.h"
#include "pushdown.h"
#include "types.h"

/* ---- paths -------------------------------------------------------------- */

#define MAX_PATH 32

struct path {
  const char *keys[MAX_PATH];
  int n;
  const struct type *type;   /* the leaf's type */
};

/* A field path of the row (or an envelope field) as pattern keys. */
static int to_path(const struct expr *e, struct path *p) {
  if (e->kind == E_FIELD) {
    if (!to_path(e->left, p) || p->n >= MAX_PATH) return 0;
    p->keys[p->n++] = e->s;
    p->type = e->type;
    return 1;
  }
  if (e->kind != E_NAME) return 0;
  p->n = 0;
  if (e->ref == REF_ENVELOPE) {
    p->keys[p->n++] = check_envelope_key(e->s);
  } else if (e->ref == REF_ROW) {
    p->keys[p->n++] = "detail";
    p->keys[p->n++] = e->s;
  } else {
    return 0;
  }
  p->type = e->type;
  return 1;
}

static int is_leaf_type(const struct type *t, enum type_kind want) {
  return t && t->kind == want;
}

static int is_string_field(const struct path *p) {
  return is_leaf_type(p->type, T_STRING) || is_leaf_type(p->type, T_TIME);
}

static int is_number_field(const struct path *p) {
  return is_leaf_type(p->type, T_INT) || is_leaf_type(p->type, T_FLOAT);
}

/* ---- constants ---------------------------------------------------------- */

static struct json_object *number_const(const struct expr *e) {
  int neg = 0;
  if (e->kind == E_UNARY && e->op == EOP_NEG) {
    neg = 1;
    e = e->left;
  }
  if (e->kind == E_INT) return json_object_new_int64(neg ? -e->i : e->i);
  if (e->kind == E_FLOAT) {
    char text[64];
    snprintf(text, sizeof text, "%s%s", neg ? "-" : "", e->s);
    return json_object_new_double_s(neg ? -e->f : e->f, text);
  }
  return NULL;
}

static struct json_object *string_const(const struct expr *e) {
  if (e->kind != E_STRING || memchr(e->s, 0, e->slen)) return NULL;
  return json_object_new_string_len(e->s, (int)e->slen);
}

/* A one-leaf fragment {k1: {k2: ... [matcher]}}; takes ownership of `leaf` (a JSON array). */
static struct json_object *fragment(const struct path *p, struct json_object *leaf) {
  struct json_object *node = leaf;
  for (int i = p->n - 1; i >= 0; i--) {
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, p->keys[i], node);
    node = o;
  }
  return node;
}

static struct json_object *one(struct json_object *v) {
  struct json_object *a = json_object_new_array();
  json_object_array_add(a, v);
  return a;
}

static struct json_object *matcher(const char *op, struct json_object *value) {
  struct json_object *o = json_object_new_object();
  json_object_object_add(o, op, value);
  return o;
}

static struct json_object *numeric(const char *op, struct json_object *n) {
  struct json_object *a = json_object_new_array();
  json_object_array_add(a, json_object_new_string(op));
  json_object_array_add(a, n);
  return matcher("numeric", a);
}

/* ---- translation -------------------------------------------------------- */

static struct json_object *translate(const struct expr *e, int negate);

static const char *flip_cmp(enum expr_op op) {
  switch (op) {
  case EOP_LT: return ">";
  case EOP_LE: return ">=";
  case EOP_GT: return "<";
  case EOP_GE: return "<=";
  default: return NULL;
  }
}

static const char *cmp_text(enum expr_op op, int negate) {
  if (negate) {   /* not (x < c) is x >= c: both unknown when x is absent */
    switch (op) {
    case EOP_LT: return ">=";
    case EOP_LE: return ">";
    case EOP_GT: return "<=";
    case EOP_GE: return "<";
    default: return NULL;
    }
  }
  switch (op) {
  case EOP_LT: return "<";
  case EOP_LE: return "<=";
  case EOP_GT: return ">";
  case EOP_GE: return ">=";
  default: return NULL;
  }
}

static struct json_object *translate_string_op(const struct path *p, const struct expr *e, int negate) {
  if (!is_string_field(p)) return NULL;
  const char *op = e->op == EOP_PREFIX ? "prefix" : e->op == EOP_SUFFIX ? "suffix" :
                   e->op == EOP_MATCHES ? "wildcard" : "equals-ignore-case";
  struct json_object *s = string_const(e->right);
  if (!s) return NULL;
  struct json_object *m = matcher(op, s);
  if (negate) m = matcher("anything-but", m);
  return fragment(p, one(m));
}

static struct json_object *translate_in(const struct path *p, const struct expr *list, int negate) {
  if (list->kind != E_ARRAY || !list->args) return NULL;
  struct json_object *values = json_object_new_array();
  for (const struct arg *a = list->args; a; a = a->next) {
    struct json_object *v = NULL;
    if (is_string_field(p)) v = string_const(a->value);
    else if (is_number_field(p) && !negate) {
      struct json_object *n = number_const(a->value);
      v = n ? numeric("=", n) : NULL;
    }
    if (!v) {
      json_object_put(values);
      return NULL;
    }
    json_object_array_add(values, v);
  }
  if (negate) return fragment(p, one(matcher("anything-but", values)));
  return fragment(p, values);
}

static struct json_object *translate_cmp(const struct expr *e, int negate) {
  struct path p;
  const struct expr *c = e->right;
  enum expr_op op = e->op;
  if (!to_path(e->left, &p)) {
    /* "a" == x is x == "a"; 3 < x is x > 3 */
    if (!to_path(e->right, &p) || (!flip_cmp(op) && op != EOP_EQ && op != EOP_NE)) return NULL;
    c = e->left;
    if (flip_cmp(op)) op = op == EOP_LT ? EOP_GT : op == EOP_LE ? EOP_GE : op == EOP_GT ? EOP_LT : EOP_LE;
  }
  int ne = (op == EOP_NE) != negate;
  if (op == EOP_EQ || op == EOP_NE) {
    if (c->kind == E_STRING && is_string_field(&p)) {
      struct json_object *s = string_const(c);
      if (!s) return NULL;
      return fragment(&p, one(ne ? matcher("anything-but", s) : s));
    }
    if (c->kind == E_BOOL && is_leaf_type(p.type, T_BOOL) && !ne)
      return fragment(&p, one(json_object_new_boolean((int)c->i)));
    if (is_number_field(&p) && !ne) {
      struct json_object *n = number_const(c);
      return n ? fragment(&p, one(numeric("=", n))) : NULL;
    }
    return NULL;
  }
  if (!is_number_field(&p)) return NULL;
  const char *text = cmp_text(op, negate);
  struct json_object *n = number_const(c);
  if (!text || !n) {
    json_object_put(n);
    return NULL;
  }
  return fragment(&p, one(numeric(text, n)));
}

static struct json_object *merge(struct json_object *into, struct json_object *frag);

/* `a or b`: one leaf list when both sides constrain the same single field,
 * else `$or`.  Either side failing means the whole `or` stays residual. */
static struct json_object *translate_or(const struct expr *e) {
  struct json_object *l = translate(e->left, 0), *r = l ? translate(e->right, 0) : NULL;
  if (!l || !r) {
    json_object_put(l);
    return NULL;
  }
  /* Same single path down to a leaf array on both sides: concatenate. */
  struct json_object *a = l, *b = r;
  while (json_object_is_type(a, json_type_object) && json_object_is_type(b, json_type_object) &&
         json_object_object_length(a) == 1 && json_object_object_length(b) == 1) {
    struct json_object_iterator ia = json_object_iter_begin(a), ib = json_object_iter_begin(b);
    const char *ka = json_object_iter_peek_name(&ia), *kb = json_object_iter_peek_name(&ib);
    if (strcmp(ka, kb) != 0 || ka[0] == '$') break;
    a = json_object_iter_peek_value(&ia);
    b = json_object_iter_peek_value(&ib);
  }
  if (json_object_is_type(a, json_type_array) && json_object_is_type(b, json_type_array)) {
    for (size_t i = 0; i < json_object_array_length(b); i++)
      json_object_array_add(a, json_object_get(json_object_array_get_idx(b, i)));
    json_object_put(r);
    return l;
  }
  struct json_object *alts = json_object_new_array();
  struct json_object *sides[2] = { l, r };
  for (int i = 0; i < 2; i++) {
    struct json_object *inner = NULL;
    if (json_object_object_length(sides[i]) == 1 && json_object_object_get_ex(sides[i], "$or", &inner)) {
      for (size_t k = 0; k < json_object_array_length(inner); k++)
        json_object_array_add(alts, json_object_get(json_object_array_get_idx(inner, k)));
      json_object_put(sides[i]);
    } else {
      json_object_array_add(alts, sides[i]);
    }
  }
  return matcher("$or", alts);
}

/* The fragment expressing e (or `not e`), or NULL when a pattern cannot say it exactly. */
static struct json_object *translate(const struct expr *e, int negate) {
  struct path p;
  switch (e->kind) {
  case E_UNARY:
    return e->op == EOP_NOT ? translate(e->left, !negate) : NULL;
  case E_CALL:
    /* EventBridge's exists only sees leaves: not records, and not arrays
     * (an empty array has no leaf, yet the runtime sees it exist). */
    if (strcmp(e->s, "exists") == 0 && to_path(e->args->value, &p) && p.type->kind != T_RECORD &&
        p.type->kind != T_ANY && p.type->kind != T_ARRAY)
      return fragment(&p, one(matcher("exists", json_object_new_boolean(!negate))));
    if (strcmp(e->s, "contains") == 0 && !negate && to_path(e->args->value, &p) && p.type->kind == T_ARRAY &&
        p.type->elem->kind == T_STRING) {
      struct json_object *s = string_const(e->args->next->value);
      return s ? fragment(&p, one(s)) : NULL;
    }
    return NULL;
  case E_BINARY:
    break;
  case E_NAME: case E_FIELD:
    /* A bool field on its own: `foreground` is `foreground == true`. */
    if (to_path(e, &p) && is_leaf_type(p.type, T_BOOL))
      return fragment(&p, one(json_object_new_boolean(!negate)));
    return NULL;
  default:
    return NULL;
  }
  if (e->negated) negate = !negate;
  switch (e->op) {
  case EOP_AND: {
    if (negate) return NULL;
    struct json_object *l = translate(e->left, 0), *r = l ? translate(e->right, 0) : NULL;
    if (!r) {
      json_object_put(l);
      return NULL;
    }
    struct json_object *m = merge(l, r);   /* a new object: l and r are not consumed */
    json_object_put(r);
    json_object_put(l);
    return m;
  }
  case EOP_OR:
    return negate ? NULL : translate_or(e);
  case EOP_EQ: case EOP_NE: case EOP_LT: case EOP_LE: case EOP_GT: case EOP_GE:
    return translate_cmp(e, negate);
  case EOP_PREFIX: case EOP_SUFFIX: case EOP_MATCHES: case EOP_IEQ:
    return to_path(e->left, &p) ? translate_string_op(&p, e, negate) : NULL;
  case EOP_IN:
    return to_path(e->left, &p) ? translate_in(&p, e->right, negate) : NULL;
  case EOP_IN_CIDR:
    if (negate || !to_path(e->left, &p) || !is_string_field(&p)) return NULL;
    {
      struct json_object *s = string_const(e->right);
      return s ? fragment(&p, one(matcher("cidr", s))) : NULL;
    }
  default:
    return NULL;
  }
}

/* ---- merging ------------------------------------------------------------ */

/* Two numeric one-sided bounds on one field become one range. */
static struct json_object *merge_ranges(struct json_object *a, struct json_object *b) {
  struct json_object *ma, *mb, *na, *nb;
  if (json_object_array_length(a) != 1 || json_object_array_length(b) != 1) return NULL;
  ma = json_object_array_get_idx(a, 0);
  mb = json_object_array_get_idx(b, 0);
  if (!json_object_object_get_ex(ma, "numeric", &na) || !json_object_object_get_ex(mb, "numeric", &nb)) return NULL;
  if (json_object_array_length(na) != 2 || json_object_array_length(nb) != 2) return NULL;
  const char *oa = json_object_get_string(json_object_array_get_idx(na, 0));
  const char *ob = json_object_get_string(json_object_array_get_idx(nb, 0));
  int a_low = oa[0] == '>', b_low = ob[0] == '>';
  if (oa[0] == '=' || ob[0] == '=' || a_low == b_low) return NULL;
  struct json_object *low = a_low ? na : nb, *high = a_low ? nb : na;
  struct json_object *range = json_object_new_array();
  for (int i = 0; i < 2; i++) json_object_array_add(range, json_object_get(json_object_array_get_idx(low, (size_t)i)));
  for (int i = 0; i < 2; i++) json_object_array_add(range, json_object_get(json_object_array_get_idx(high, (size_t)i)));
  return one(matcher("numeric", range));
}

/* Merges frag into a deep copy of `into` (frag is not consumed).  NULL when
 * the two constrain one field in ways a single pattern cannot `and`. */
static struct json_object *merge(struct json_object *into, struct json_object *frag) {
  struct json_object *out = NULL;
  if (json_object_deep_copy(into, &out, NULL) != 0) return NULL;
  json_object_object_foreach(frag, key, value) {
    struct json_object *have;
    if (!json_object_object_get_ex(out, key, &have)) {
      json_object_object_add(out, key, json_object_get(value));
      continue;
    }
    struct json_object *m = NULL;
    if (json_object_is_type(have, json_type_object) && json_object_is_type(value, json_type_object) && key[0] != '$')
      m = merge(have, value);
    else if (json_object_is_type(have, json_type_array) && json_object_is_type(value, json_type_array) && key[0] != '$')
      m = merge_ranges(have, value);
    if (!m) {
      json_object_put(out);
      return NULL;
    }
    json_object_object_add(out, key, m);
  }
  return out;
}

/* ---- explaining what stays ---------------------------------------------- */

static int is_constant(const struct expr *e) {
  if (e->kind == E_UNARY && e->op == EOP_NEG) e = e->left;
  return e->kind == E_INT || e->kind == E_FLOAT || e->kind == E_STRING || e->kind == E_BOOL ||
         e->kind == E_NULL || e->kind == E_DURATION || e->kind == E_ARRAY;
}

static int is_path_expr(const struct expr *e) {
  struct path p;
  return to_path(e, &p);
}

/* In words, why a pattern cannot say e exactly. */
static const char *why_not(struct arena *a, const struct expr *e) {
  if (e->kind == E_UNARY && e->op == EOP_NOT) {
    const struct expr *inner = e->left;
    if (inner->kind == E_BINARY && (inner->op == EOP_OR || inner->op == EOP_AND))
      return "a pattern cannot express `not` of an `and` or an `or`";
    return why_not(a, inner);
  }
  if (e->kind == E_CALL && strcmp(e->s, "exists") == 0)
    return "EventBridge's `exists` only tests single values, not objects, lists or fields of unknown type";
  if (e->kind == E_CALL) return arena_printf(a, "it calls `%s`; a pattern only tests fields as they are", e->s);
  if (e->kind != E_BINARY) return "a pattern cannot express this form";
  switch (e->op) {
  case EOP_OR: return "one side of `or` cannot be expressed, so the whole `or` cannot";
  case EOP_AND: return "a pattern cannot express `not` of an `and`";
  case EOP_ADD: case EOP_SUB: case EOP_MUL: case EOP_DIV: case EOP_MOD:
    return "a pattern cannot compute";
  default: break;
  }
  const struct expr *l = e->left, *r = e->right;
  if (l->kind == E_CALL || r->kind == E_CALL)
    return arena_printf(a, "it calls `%s`; a pattern only tests fields as they are", l->kind == E_CALL ? l->s : r->s);
  if (l->kind == E_INDEX || r->kind == E_INDEX) return "a pattern cannot pick one element of a list";
  if (!is_path_expr(l) && !is_path_expr(r)) return "neither side is a field of the event";
  if (e->op == EOP_IN_CIDR && e->negated) return "EventBridge has no `anything-but` for CIDR blocks";
  if (!is_constant(is_path_expr(l) ? r : l)) return "it compares the field with something that is not a constant";
  struct path p;
  to_path(is_path_expr(l) ? l : r, &p);
  if ((e->op == EOP_NE || e->negated) && is_number_field(&p))
    return "efc keeps `!=` on numbers in the runtime (anything-but compares numbers by their spelling)";
  if (p.type->kind == T_ANY) return "the field's type is not declared";
  return "a pattern cannot express this test on this kind of field";
}

/* ---- driver ------------------------------------------------------------- */

static void conjuncts(struct expr *e, struct expr ***list, size_t *n, size_t *cap, struct arena *a) {
  if (e->kind == E_BINARY && e->op == EOP_AND && !e->negated) {
    conjuncts(e->left, list, n, cap, a);
    conjuncts(e->right, list, n, cap, a);
    return;
  }
  if (*n == *cap) {
    size_t ncap = *cap ? *cap * 2 : 8;
    struct expr **grown = arena_alloc(a, ncap * sizeof *grown);
    if (*n) memcpy(grown, *list, *n * sizeof *grown);
    *list = grown;
    *cap = ncap;
  }
  (*list)[(*n)++] = e;
}

void pushdown_split(struct program *program, const struct decl *event, struct expr *where, struct pushdown *out) {
  memset(out, 0, sizeof *out);
  struct json_object *pattern = json_object_new_object();
  json_object_object_add(pattern, "source", one(json_object_new_string(check_event_source(program, event))));
  json_object_object_add(pattern, "detail-type", one(json_object_new_string(check_event_detail_type(event))));
  struct expr **all = NULL;
  size_t n = 0, cap = 0;
  if (where) conjuncts(where, &all, &n, &cap, &program->arena);
  out->pushed = arena_alloc(&program->arena, (n + 1) * sizeof *out->pushed);
  out->kept = arena_alloc(&program->arena, (n + 1) * sizeof *out->kept);
  out->why = arena_alloc(&program->arena, (n + 1) * sizeof *out->why);
  for (size_t i = 0; i < n; i++) {
    struct json_object *frag = translate(all[i], 0);
    struct json_object *next = frag ? merge(pattern, frag) : NULL;
    json_object_put(frag);
    char reason[256] = "";
    if (next && pattern_validate(next, reason, sizeof reason) == 0) {
      json_object_put(pattern);
      pattern = next;
      out->pushed[out->npushed++] = all[i];
    } else {
      out->why[out->nkept] = !frag ? why_not(&program->arena, all[i])
                           : !next ? "another condition already constrains this field, and one pattern cannot require both"
                           : arena_printf(&program->arena, "EventBridge would reject the pattern: %s", reason);
      json_object_put(next);
      out->kept[out->nkept++] = all[i];
    }
  }
  out->pattern = pattern;
}

struct expr *pushdown_residual(struct program *program, const struct pushdown *p) {
  struct expr *r = NULL;
  for (size_t i = 0; i < p->nkept; i++) {
    if (!r) { r = p->kept[i]; continue; }
    struct expr *and = arena_alloc(&program->arena, sizeof *and);
    and->kind = E_BINARY;
    and->op = EOP_AND;
    and->left = r;
    and->right = p->kept[i];
    and->loc = r->loc;
    and->type = &type_bool;
    r = and;
  }
  return r;
}
