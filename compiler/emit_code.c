/* emit_code.c — code generation: expressions to stack code, flows to entries.
 *
 * The stack depth is tracked while emitting from the same opcode table the
 * verifier uses, so every block's max_stack is exact.  Parameters of an
 * expanded user stage are substituted by their argument expressions, which
 * are emitted in the caller's environment (`struct env`).
 */
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "compile.h"
#include "emit_code.h"
#include "types.h"

static const struct { int operand_bytes, pops, pushes; } op_info[] = {
#define OP(name, operand_bytes, pops, pushes, doc) { operand_bytes, pops, pushes },
#include "opcodes.h"
#undef OP
};

static void *xrealloc(void *p, size_t n) {
  p = realloc(p, n ? n : 1);
  if (!p) { fputs("efc: out of memory\n", stderr); abort(); }
  return p;
}

/* ---- constant pool ------------------------------------------------------ */

struct emitter {
  struct program *program;
  struct diag *diag;
  struct image *img;
  uint32_t consts_cap, blocks_cap, entries_cap;
  uint32_t *hash;               /* open addressing: constant index + 1, 0 = empty */
  uint32_t hash_cap;
  int overflow;
};

static uint64_t const_hash(const struct constant *c) {
  uint64_t h = 1469598103934665603ull ^ (uint64_t)c->tag;
  const unsigned char *p;
  size_t n;
  if (c->tag == CONST_STRING) { p = (const unsigned char *)c->as.string.bytes; n = c->as.string.length; }
  else { p = (const unsigned char *)&c->as; n = sizeof c->as.i; }
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

static int const_equal(const struct constant *a, const struct constant *b) {
  if (a->tag != b->tag) return 0;
  if (a->tag == CONST_STRING)
    return a->as.string.length == b->as.string.length &&
           memcmp(a->as.string.bytes, b->as.string.bytes, a->as.string.length) == 0;
  return memcmp(&a->as.i, &b->as.i, sizeof a->as.i) == 0;
}

static void rehash(struct emitter *em) {
  free(em->hash);
  em->hash_cap = em->hash_cap ? em->hash_cap * 2 : 256;
  em->hash = calloc(em->hash_cap, sizeof *em->hash);
  if (!em->hash) abort();
  for (uint32_t i = 0; i < em->img->nconsts; i++) {
    uint32_t slot = (uint32_t)(const_hash(&em->img->consts[i]) & (em->hash_cap - 1));
    while (em->hash[slot]) slot = (slot + 1) & (em->hash_cap - 1);
    em->hash[slot] = i + 1;
  }
}

static uint16_t add_const(struct emitter *em, struct constant c) {
  if (em->img->nconsts * 2 >= em->hash_cap) rehash(em);
  uint32_t slot = (uint32_t)(const_hash(&c) & (em->hash_cap - 1));
  while (em->hash[slot]) {
    if (const_equal(&em->img->consts[em->hash[slot] - 1], &c)) return (uint16_t)(em->hash[slot] - 1);
    slot = (slot + 1) & (em->hash_cap - 1);
  }
  if (em->img->nconsts >= IMAGE_NONE) {
    em->overflow = 1;
    return 0;
  }
  if (em->img->nconsts == em->consts_cap) {
    em->consts_cap = em->consts_cap ? em->consts_cap * 2 : 64;
    em->img->consts = xrealloc(em->img->consts, em->consts_cap * sizeof *em->img->consts);
  }
  if (c.tag == CONST_STRING) {
    char *copy = xrealloc(NULL, c.as.string.length + 1);
    memcpy(copy, c.as.string.bytes, c.as.string.length);
    copy[c.as.string.length] = 0;
    c.as.string.bytes = copy;
  }
  em->img->consts[em->img->nconsts] = c;
  em->hash[slot] = em->img->nconsts + 1;
  return (uint16_t)em->img->nconsts++;
}

static uint16_t str_const(struct emitter *em, const char *s, size_t n) {
  struct constant c = { .tag = CONST_STRING };
  c.as.string.bytes = (char *)s;
  c.as.string.length = (uint32_t)n;
  return add_const(em, c);
}

static uint16_t cstr(struct emitter *em, const char *s) { return str_const(em, s, strlen(s)); }

/* ---- blocks ------------------------------------------------------------- */

struct code {
  uint8_t *buf;
  uint32_t len, cap;
  int depth, max;
};

static void put(struct code *c, uint8_t byte) {
  if (c->len == c->cap) {
    c->cap = c->cap ? c->cap * 2 : 32;
    c->buf = xrealloc(c->buf, c->cap);
  }
  c->buf[c->len++] = byte;
}

static void put16(struct code *c, uint16_t v) { put(c, (uint8_t)v); put(c, (uint8_t)(v >> 8)); }
static void put32(struct code *c, uint32_t v) { for (int i = 0; i < 4; i++) put(c, (uint8_t)(v >> (8 * i))); }

static void depth(struct code *c, int pops, int pushes) {
  c->depth += pushes - pops;
  if (c->depth > c->max) c->max = c->depth;
}

static void op(struct code *c, enum opcode o) {
  put(c, (uint8_t)o);
  if (op_info[o].pops >= 0) depth(c, op_info[o].pops, op_info[o].pushes);
}

static void op_k(struct code *c, enum opcode o, uint16_t k) { op(c, o); put16(c, k); }

/* Emits a jump and returns the offset of its operand, to patch. */
static uint32_t op_jump(struct code *c, enum opcode o) {
  op(c, o);
  uint32_t at = c->len;
  put32(c, 0);
  return at;
}

static void patch(struct code *c, uint32_t at) {
  for (int i = 0; i < 4; i++) c->buf[at + (uint32_t)i] = (uint8_t)(c->len >> (8 * i));
}

struct env {
  const struct param_decl *params;
  const struct arg *bound;
  const struct env *outer;
};

static void emit_expr(struct emitter *em, struct code *c, const struct env *env, const struct expr *e);

static void emit_const(struct emitter *em, struct code *c, struct constant k) { op_k(c, OP_CONST, add_const(em, k)); }

static void emit_param(struct emitter *em, struct code *c, const struct env *env, const char *name) {
  const struct arg *b = env ? env->bound : NULL;
  for (const struct param_decl *p = env ? env->params : NULL; p; p = p->next, b = b ? b->next : NULL)
    if (strcmp(p->name, name) == 0) {
      if (b && b->value) emit_expr(em, c, env->outer, b->value);
      else op(c, OP_NULL);
      return;
    }
  op(c, OP_NULL);   /* unreachable for checked programs */
}

static enum opcode binary_opcode(enum expr_op o) {
  switch (o) {
  case EOP_EQ: return OP_EQ;
  case EOP_NE: return OP_NE;
  case EOP_LT: return OP_LT;
  case EOP_LE: return OP_LE;
  case EOP_GT: return OP_GT;
  case EOP_GE: return OP_GE;
  case EOP_PREFIX: return OP_PREFIX;
  case EOP_SUFFIX: return OP_SUFFIX;
  case EOP_MATCHES: return OP_WILDCARD;
  case EOP_IEQ: return OP_IEQ;
  case EOP_IN: return OP_IN;
  case EOP_IN_CIDR: return OP_CIDR;
  case EOP_ADD: return OP_ADD;
  case EOP_SUB: return OP_SUB;
  case EOP_MUL: return OP_MUL;
  case EOP_DIV: return OP_DIV;
  case EOP_MOD: return OP_MOD;
  default: return OP_NOP;
  }
}

static int builtin_id(const char *name) {
  static const char *const names[] = {
#define BUILTIN(id, name, min_args, max_args, doc) name,
#include "builtins.h"
#undef BUILTIN
  };
  for (int i = 0; i < BUILTIN__COUNT; i++)
    if (strcmp(names[i], name) == 0) return i;
  return -1;
}

static void emit_expr(struct emitter *em, struct code *c, const struct env *env, const struct expr *e) {
  switch (e->kind) {
  case E_NULL: op(c, OP_NULL); return;
  case E_BOOL: op(c, e->i ? OP_TRUE : OP_FALSE); return;
  case E_INT: emit_const(em, c, (struct constant){ .tag = CONST_INT, .as.i = e->i }); return;
  case E_FLOAT: emit_const(em, c, (struct constant){ .tag = CONST_FLOAT, .as.f = e->f }); return;
  case E_DURATION: emit_const(em, c, (struct constant){ .tag = CONST_DURATION, .as.i = e->i }); return;
  case E_STRING: op_k(c, OP_CONST, str_const(em, e->s, e->slen)); return;
  case E_NAME:
    if (e->ref == REF_PARAM) emit_param(em, c, env, e->s);
    else if (e->ref == REF_ENVELOPE) op_k(c, OP_ENV, cstr(em, e->s));
    else { op(c, OP_ROW); op_k(c, OP_GET, cstr(em, e->s)); }
    return;
  case E_FIELD:
    emit_expr(em, c, env, e->left);
    op_k(c, OP_GET, cstr(em, e->s));
    return;
  case E_INDEX:
    emit_expr(em, c, env, e->left);
    emit_expr(em, c, env, e->right);
    op(c, OP_INDEX);
    return;
  case E_UNARY:
    emit_expr(em, c, env, e->left);
    op(c, e->op == EOP_NOT ? OP_NOT : OP_NEG);
    return;
  case E_BINARY:
    if (e->op == EOP_AND || e->op == EOP_OR) {
      /* a; ANDJ end; b; AND; end:  (short circuit keeps a, else combine three-valued) */
      emit_expr(em, c, env, e->left);
      uint32_t j = op_jump(c, e->op == EOP_AND ? OP_ANDJ : OP_ORJ);
      emit_expr(em, c, env, e->right);
      op(c, e->op == EOP_AND ? OP_AND : OP_OR);
      patch(c, j);
      return;
    }
    emit_expr(em, c, env, e->left);
    emit_expr(em, c, env, e->right);
    op(c, binary_opcode(e->op));
    if (e->negated) op(c, OP_NOT);
    return;
  case E_CALL: {
    if (strcmp(e->s, "exists") == 0) {
      emit_expr(em, c, env, e->args->value);
      op(c, OP_EXISTS);
      return;
    }
    int argc = 0;
    for (const struct arg *a = e->args; a; a = a->next, argc++) emit_expr(em, c, env, a->value);
    put(c, OP_CALL);
    put(c, (uint8_t)builtin_id(e->s));
    put(c, (uint8_t)argc);
    depth(c, argc, 1);
    return;
  }
  case E_OBJECT:
    op(c, OP_OBJECT);
    for (const struct arg *a = e->args; a; a = a->next) {
      emit_expr(em, c, env, a->value);
      if (a->spread) op(c, OP_MERGE);
      else op_k(c, OP_SETF, cstr(em, a->name));
    }
    return;
  case E_ARRAY: {
    int n = 0;
    for (const struct arg *a = e->args; a; a = a->next, n++) emit_expr(em, c, env, a->value);
    put(c, OP_ARRAY);
    put16(c, (uint16_t)n);
    depth(c, n, 1);
    return;
  }
  case E_IF: {
    emit_expr(em, c, env, e->cond);
    uint32_t to_else = op_jump(c, OP_JUMPF);
    emit_expr(em, c, env, e->left);
    uint32_t to_end = op_jump(c, OP_JUMP);
    c->depth--;   /* the else branch starts without the then-value */
    patch(c, to_else);
    emit_expr(em, c, env, e->right);
    patch(c, to_end);
    return;
  }
  }
}

/* Emits `e` as a new block ending in RETURN; returns its index. */
static uint16_t emit_block(struct emitter *em, const struct env *env, const struct expr *e) {
  struct code c = { 0 };
  emit_expr(em, &c, env, e);
  op(&c, OP_RETURN);
  struct image *img = em->img;
  if (img->nblocks >= IMAGE_NONE) {
    em->overflow = 1;
    free(c.buf);
    return 0;
  }
  if (img->nblocks == em->blocks_cap) {
    em->blocks_cap = em->blocks_cap ? em->blocks_cap * 2 : 64;
    img->blocks = xrealloc(img->blocks, em->blocks_cap * sizeof *img->blocks);
  }
  img->blocks[img->nblocks] = (struct block){ .max_stack = (uint16_t)(c.max > 0 ? c.max : 1), .length = c.len, .code = c.buf };
  return (uint16_t)img->nblocks++;
}

static uint16_t const_block(struct emitter *em, const char *s) {
  struct expr e = { .kind = E_STRING, .s = s, .slen = strlen(s) };
  return emit_block(em, NULL, &e);
}

/* ---- entries ------------------------------------------------------------ */

struct stage_list { struct stage *items; uint16_t n, cap; };

static struct stage *add_stage(struct stage_list *l, uint8_t kind, uint16_t name, uint16_t block) {
  if (l->n == l->cap) {
    l->cap = l->cap ? l->cap * 2 : 8;
    l->items = xrealloc(l->items, l->cap * sizeof *l->items);
  }
  struct stage *s = &l->items[l->n++];
  *s = (struct stage){ .kind = kind, .name = name, .block = block };
  return s;
}

static void add_arg(struct stage *s, struct stage_arg a) {
  s->args = xrealloc(s->args, (size_t)(s->nargs + 1) * sizeof *s->args);
  s->args[s->nargs++] = a;
}

static int is_aggregates_param(const struct param_decl *p) {
  return p->type->kind == TX_NAME && strcmp(p->type->name, "aggregates") == 0;
}

/* A native stage: one value arg per given parameter; `keep`-style
 * aggregates as one ARG_AGGREGATE per entry (plus `NAME.limit` for list). */
static void emit_native_call(struct emitter *em, struct stage_list *l, const struct env *env,
                             const struct decl *stage, const struct arg *bound) {
  struct stage *s = add_stage(l, STAGE_CALL, cstr(em, stage->name), IMAGE_NONE);
  const struct arg *b = bound;
  for (const struct param_decl *p = stage->params; p; p = p->next, b = b->next) {
    if (!b || !b->value) continue;
    if (!is_aggregates_param(p)) {
      add_arg(s, (struct stage_arg){ cstr(em, p->name), ARG_VALUE, emit_block(em, env, b->value), IMAGE_NONE });
      continue;
    }
    for (const struct arg *a = b->value->args; a; a = a->next) {
      const struct expr *call = a->value;
      uint16_t block = call->args ? emit_block(em, env, call->args->value) : IMAGE_NONE;
      add_arg(s, (struct stage_arg){ cstr(em, a->name), ARG_AGGREGATE, block, cstr(em, call->s) });
      if (call->args && call->args->next) {
        char name[256];
        snprintf(name, sizeof name, "%s.limit", a->name);
        add_arg(s, (struct stage_arg){ cstr(em, name), ARG_VALUE, emit_block(em, env, call->args->next->value), IMAGE_NONE });
      }
    }
  }
}

static void emit_stages(struct emitter *em, struct stage_list *l, const struct env *env, const struct stage_call *sc) {
  for (; sc; sc = sc->next) {
    switch (sc->kind) {
    case SC_WHERE: add_stage(l, STAGE_WHERE, IMAGE_NONE, emit_block(em, env, sc->expr)); break;
    case SC_MAP: add_stage(l, STAGE_MAP, IMAGE_NONE, emit_block(em, env, sc->expr)); break;
    case SC_CALL:
      if (!sc->target) break;
      if (sc->target->is_extern) {
        emit_native_call(em, l, env, sc->target, sc->bound);
      } else {
        struct env inner = { sc->target->params, sc->bound, env };
        emit_stages(em, l, &inner, sc->target->stages);
      }
      break;
    }
  }
}

static void emit_emit(struct emitter *em, struct stage_list *l, const struct name_ref *emit) {
  const struct decl *ev = check_find(em->program, D_EVENT, emit->name);
  struct stage *s = add_stage(l, STAGE_EMIT, cstr(em, emit->name), IMAGE_NONE);
  add_arg(s, (struct stage_arg){ cstr(em, "source"), ARG_VALUE, const_block(em, check_event_source(em->program, ev)), IMAGE_NONE });
  add_arg(s, (struct stage_arg){ cstr(em, "detail-type"), ARG_VALUE, const_block(em, check_event_detail_type(ev)), IMAGE_NONE });
}

static struct entry *add_entry(struct emitter *em, const char *name, uint8_t kind, const struct name_ref *on,
                               const char **patterns, size_t npatterns, struct stage_list *stages) {
  struct image *img = em->img;
  if (img->nentries == em->entries_cap) {
    em->entries_cap = em->entries_cap ? em->entries_cap * 2 : 16;
    img->entries = xrealloc(img->entries, em->entries_cap * sizeof *img->entries);
  }
  struct entry *e = &img->entries[img->nentries++];
  memset(e, 0, sizeof *e);
  e->name = cstr(em, name);
  e->kind = kind;
  for (const struct name_ref *r = on; r; r = r->next) e->nevents++;
  e->events = xrealloc(NULL, e->nevents * sizeof *e->events);
  int i = 0;
  for (const struct name_ref *r = on; r; r = r->next) e->events[i++] = cstr(em, r->name);
  e->npatterns = (uint16_t)npatterns;
  e->patterns = xrealloc(NULL, npatterns * sizeof *e->patterns);
  for (size_t k = 0; k < npatterns; k++) e->patterns[k] = cstr(em, patterns[k]);
  e->nstages = stages->n;
  e->stages = stages->items;
  return e;
}

const char *emit_route_target_name(struct program *program, const struct decl *route, int k) {
  return arena_printf(&program->arena, "%s.%d", route->name, k);
}

static void emit_route(struct emitter *em, const struct entry_rules *r) {
  const struct decl *route = r->decl;
  struct stage_list targets = { 0 };
  if (r->residual) add_stage(&targets, STAGE_WHERE, IMAGE_NONE, emit_block(em, NULL, r->residual));
  int k = 0;
  for (const struct target *t = route->targets; t; t = t->next) {
    k++;
    if (t->arn) { add_stage(&targets, STAGE_FORWARD, cstr(em, t->arn), IMAGE_NONE); continue; }
    if (!t->resolved) continue;
    /* A stage target: a generated flow `routeN.K` running the stage, then emit. */
    const char *name = emit_route_target_name(em->program, route, k);
    struct stage_list body = { 0 };
    if (t->resolved->is_extern) emit_native_call(em, &body, NULL, t->resolved, t->bound);
    else {
      struct env inner = { t->resolved->params, t->bound, NULL };
      emit_stages(em, &body, &inner, t->resolved->stages);
    }
    emit_emit(em, &body, t->emit);
    add_entry(em, name, ENTRY_FLOW, route->on, NULL, 0, &body);
    add_stage(&targets, STAGE_FLOW, cstr(em, name), IMAGE_NONE);
  }
  add_entry(em, route->name, ENTRY_ROUTE, route->on, r->patterns, r->npatterns, &targets);
}

struct image *emit_code(struct program *program, struct diag *d, const struct entry_rules *entries, size_t n) {
  struct image *img = calloc(1, sizeof *img);
  if (!img) abort();
  struct emitter em = { .program = program, .diag = d, .img = img };
  for (size_t i = 0; i < n; i++) {
    const struct entry_rules *r = &entries[i];
    if (r->decl->kind == D_ROUTE) {
      emit_route(&em, r);
      continue;
    }
    struct stage_list stages = { 0 };
    if (r->residual) add_stage(&stages, STAGE_WHERE, IMAGE_NONE, emit_block(&em, NULL, r->residual));
    emit_stages(&em, &stages, NULL, r->decl->stages);
    emit_emit(&em, &stages, r->decl->emit);
    add_entry(&em, r->decl->name, ENTRY_FLOW, r->decl->on, r->patterns, r->npatterns, &stages);
  }
  /* The declared events, with their schemas, for input validation. */
  for (const struct decl *d = program->decls; d; d = d->next) {
    if (d->kind != D_EVENT) continue;
    img->events = xrealloc(img->events, (img->nevents + 1) * sizeof *img->events);
    struct json_object *schema = emit_event_schema(program, d);
    img->events[img->nevents++] = (struct image_event){
      .name = cstr(&em, d->name),
      .source = cstr(&em, check_event_source(program, d)),
      .detail_type = cstr(&em, check_event_detail_type(d)),
      .schema = cstr(&em, json_object_to_json_string_ext(schema, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)),
    };
    json_object_put(schema);
  }
  free(em.hash);
  if (em.overflow) {
    diag_error(d, (struct loc){ 0 }, "the program needs more than 65535 constants or blocks, the limit of the bytecode format");
    image_free(img);
    return NULL;
  }
  return img;
}
