/* image_verify.c — image_verify(): decide whether an image is safe to run.
 *
 * Structure: constant tags and payloads (strings valid UTF-8, floats
 * finite), every constant and block index in range and of the right tag,
 * entry, stage and arg kinds known and their required fields present.
 * Code, per block: a linear sweep decodes every instruction (known opcode,
 * operands inside the block, constant operands of the right tag, CALL's
 * builtin and argc, jump targets forward, inside the block and on an
 * instruction boundary); then abstract interpretation over the control-flow graph (a
 * worklist in offset order) tracks the stack depth: never negative, equal
 * on every path into a join, never above the block's max_stack, every path ends in RETURN with
 * exactly one value on the stack.  docs/bytecode.md lists the guarantees.
 */
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"
#include "utf8.h"

static const struct op_info {
  const char *name;
  int operand_bytes, pops, pushes;
} op_info[] = {
#define OP(name, operand_bytes, pops, pushes, doc) { #name, operand_bytes, pops, pushes },
#include "opcodes.h"
#undef OP
};

/* Every opcode must be one this verifier knows how to check: a stack
 * effect taken from the operand only for CALL and ARRAY, a u32 operand only
 * on the four jumps, a u16 operand only on CALL, ARRAY and the constant
 * users.  A new opcode outside these shapes needs code here first. */
#define OP(name, operand_bytes, pops, pushes, doc)                                     \
  _Static_assert((pops) >= 0 || OP_##name == OP_CALL || OP_##name == OP_ARRAY,         \
                 "image_verify.c cannot count the pops of " #name);                    \
  _Static_assert((pushes) >= 0, "image_verify.c cannot count the pushes of " #name);   \
  _Static_assert((operand_bytes) != 4 || OP_##name == OP_JUMP || OP_##name == OP_JUMPF || \
                 OP_##name == OP_ANDJ || OP_##name == OP_ORJ,                          \
                 "image_verify.c does not know the u32 operand of " #name);            \
  _Static_assert((operand_bytes) != 2 || OP_##name == OP_CALL || OP_##name == OP_ARRAY || \
                 OP_##name == OP_CONST || OP_##name == OP_ENV || OP_##name == OP_GET || \
                 OP_##name == OP_SETF,                                                 \
                 "image_verify.c does not know the u16 operand of " #name);            \
  _Static_assert((operand_bytes) == 0 || (operand_bytes) == 2 || (operand_bytes) == 4, \
                 "image_verify.c does not know the operand of " #name);
#include "opcodes.h"
#undef OP

static const struct builtin_info {
  const char *name;
  int min_args, max_args;
} builtin_info[] = {
#define BUILTIN(id, name, min_args, max_args, doc) { name, min_args, max_args },
#include "builtins.h"
#undef BUILTIN
};

struct verifier {
  const struct image *image;
  char *err;
  size_t err_size;
};

static int fail(struct verifier *v, const char *fmt, ...)
{
  va_list ap;
  if (!v->err || !v->err_size)
    return -1;
  va_start(ap, fmt);
  vsnprintf(v->err, v->err_size, fmt, ap);
  va_end(ap);
  return -1;
}

static const char *tag_name(enum const_tag tag)
{
  switch (tag) {
  case CONST_STRING:   return "a string";
  case CONST_INT:      return "an int";
  case CONST_FLOAT:    return "a float";
  case CONST_DURATION: return "a duration";
  }
  return "of unknown tag";
}

/* NULL if constant k exists (and is a string when want_string), else why not. */
static const char *const_problem(const struct image *image, uint32_t k, bool want_string,
                                 char *why, size_t why_size)
{
  if (k >= image->nconsts) {
    snprintf(why, why_size, "constant %u is out of range (pool has %u)", k, image->nconsts);
    return why;
  }
  if (want_string && image->consts[k].tag != CONST_STRING) {
    snprintf(why, why_size, "constant %u is %s, expected a string", k,
             tag_name(image->consts[k].tag));
    return why;
  }
  return NULL;
}

static const char *block_problem(const struct image *image, uint32_t b,
                                 char *why, size_t why_size)
{
  if (b >= image->nblocks) {
    snprintf(why, why_size, "block %u is out of range (image has %u blocks)", b,
             image->nblocks);
    return why;
  }
  return NULL;
}


static int verify_constants(struct verifier *v)
{
  const struct image *image = v->image;
  if (image->nconsts > IMAGE_NONE)
    return fail(v, "too many constants: %u (at most %u)", image->nconsts, IMAGE_NONE);
  if (image->nconsts && !image->consts)
    return fail(v, "constant pool missing");
  for (uint32_t i = 0; i < image->nconsts; i++) {
    const struct constant *c = &image->consts[i];
    switch (c->tag) {
    case CONST_STRING: {
      const uint8_t *s = (const uint8_t *)c->as.string.bytes;
      if (c->as.string.length && !s)
        return fail(v, "constant %u: string bytes missing", i);
      long bad = c->as.string.length ? utf8_invalid_at(s, c->as.string.length) : -1;
      if (bad >= 0)
        return fail(v, "constant %u: string is not valid UTF-8 (byte 0x%02x at %ld)",
                    i, s[bad], bad);
      break;
    }
    case CONST_INT:
    case CONST_DURATION:
      break;
    case CONST_FLOAT:
      if (!isfinite(c->as.f))
        return fail(v, "constant %u: float is not finite", i);
      break;
    default:
      return fail(v, "constant %u has unknown tag %d", i, (int)c->tag);
    }
  }
  return 0;
}

static uint16_t rd16(const uint8_t *p)
{
  return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t rd32(const uint8_t *p)
{
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
         ((uint32_t)p[3] << 24);
}

static bool is_jump(int op)
{
  return op == OP_JUMP || op == OP_JUMPF || op == OP_ANDJ || op == OP_ORJ;
}

/* Pass 1: decode every instruction in order; mark instruction starts. */
static int sweep_block(struct verifier *v, uint32_t bi, const struct block *b, uint8_t *start)
{
  char why[128];
  const uint8_t *code = b->code;
  uint32_t pc = 0;
  while (pc < b->length) {
    uint8_t op = code[pc];
    start[pc] = 1;
    if (op >= OP__COUNT)
      return fail(v, "block %u offset %u: unknown opcode 0x%02x", bi, pc, op);
    const struct op_info *info = &op_info[op];
    uint32_t avail = b->length - pc - 1;
    if ((uint32_t)info->operand_bytes > avail)
      return fail(v, "block %u offset %u: %s needs %d operand bytes, the block ends after %u",
                  bi, pc, info->name, info->operand_bytes, avail);
    const uint8_t *operand = code + pc + 1;
    switch (op) {
    case OP_CONST:
      if (const_problem(v->image, rd16(operand), false, why, sizeof why))
        return fail(v, "block %u offset %u: CONST operand: %s", bi, pc, why);
      break;
    case OP_ENV:
    case OP_GET:
    case OP_SETF:
      if (const_problem(v->image, rd16(operand), true, why, sizeof why))
        return fail(v, "block %u offset %u: %s operand: %s", bi, pc, info->name, why);
      break;
    case OP_CALL: {
      uint8_t id = operand[0], argc = operand[1];
      if (id >= BUILTIN__COUNT)
        return fail(v, "block %u offset %u: CALL of unknown builtin %u (there are %d)",
                    bi, pc, id, BUILTIN__COUNT);
      const struct builtin_info *bf = &builtin_info[id];
      if (argc < bf->min_args || argc > bf->max_args) {
        if (bf->min_args == bf->max_args)
          return fail(v, "block %u offset %u: CALL %s with %u arguments (it takes %d)",
                      bi, pc, bf->name, argc, bf->min_args);
        return fail(v, "block %u offset %u: CALL %s with %u arguments (it takes %d to %d)",
                    bi, pc, bf->name, argc, bf->min_args, bf->max_args);
      }
      break;
    }
    default:
      if (is_jump(op)) {
        uint32_t target = rd32(operand);
        if (target >= b->length)
          return fail(v, "block %u offset %u: jump target %u is outside the block (length %u)",
                      bi, pc, target, b->length);
        /* A block is one expression: it only jumps forward, so it always ends. */
        if (target <= pc)
          return fail(v, "block %u offset %u: jump target %u goes backward (blocks may only jump forward)",
                      bi, pc, target);
      }
      break;
    }
    pc += 1 + (uint32_t)info->operand_bytes;
  }
  return 0;
}

/* Pass 2: every jump lands on an instruction start. */
static int check_jump_targets(struct verifier *v, uint32_t bi, const struct block *b,
                              const uint8_t *start)
{
  for (uint32_t pc = 0; pc < b->length; pc += 1 + (uint32_t)op_info[b->code[pc]].operand_bytes) {
    if (!is_jump(b->code[pc]))
      continue;
    uint32_t target = rd32(b->code + pc + 1);
    if (!start[target]) {
      uint32_t inside = target;
      while (inside > 0 && !start[inside])
        inside--;
      return fail(v, "block %u offset %u: jump target %u is not an instruction boundary "
                  "(it is inside the %s at offset %u)",
                  bi, pc, target, op_info[b->code[inside]].name, inside);
    }
  }
  return 0;
}

/* Record depth d on the edge from `from` into `to`; mark `to` pending the
 * first time.  Returns 1 if `to` was newly reached, 0 if already known. */
static int flow_into(struct verifier *v, uint32_t bi, uint32_t from, uint32_t to, int32_t d,
                     int32_t *depth, uint8_t *pending)
{
  if (depth[to] < 0) {
    depth[to] = d;
    pending[to] = 1;
    return 1;
  }
  if (depth[to] != d)
    return fail(v, "block %u offset %u: inconsistent stack depth at join: %d on one path, "
                "%d on the path from offset %u", bi, to, depth[to], d, from);
  return 0;
}

/* Pass 3: abstract interpretation of the stack depth.  Pending instructions
 * are taken in increasing offset order (going back only for a backward
 * jump), so with forward jumps every path into a join is seen before the
 * join itself is interpreted, and a mismatch is reported at the join. */
static int check_stack(struct verifier *v, uint32_t bi, const struct block *b,
                       int32_t *depth, uint8_t *pending)
{
  const uint8_t *code = b->code;
  for (uint32_t i = 0; i < b->length; i++) {
    depth[i] = -1;
    pending[i] = 0;
  }
  depth[0] = 0;
  pending[0] = 1;

  uint32_t pc = 0;
  while (pc < b->length) {
    if (!pending[pc]) {
      pc++;
      continue;
    }
    pending[pc] = 0;
    int32_t d = depth[pc];
    uint8_t op = code[pc];
    const struct op_info *info = &op_info[op];
    const uint8_t *operand = code + pc + 1;
    uint32_t next = pc + 1 + (uint32_t)info->operand_bytes;
    uint32_t resume = next;
    int32_t pops = info->pops;
    if (op == OP_CALL)
      pops = operand[1];
    else if (op == OP_ARRAY)
      pops = rd16(operand);

    if (d < pops) {
      if (op == OP_CALL)
        return fail(v, "block %u offset %u: stack underflow: CALL %s/%d pops %d, stack has %d",
                    bi, pc, builtin_info[operand[0]].name, pops, pops, d);
      if (op == OP_ARRAY)
        return fail(v, "block %u offset %u: stack underflow: ARRAY %d pops %d, stack has %d",
                    bi, pc, pops, pops, d);
      return fail(v, "block %u offset %u: stack underflow: %s pops %d, stack has %d",
                  bi, pc, info->name, pops, d);
    }
    int32_t after = d - pops + info->pushes;
    if (after > b->max_stack)
      return fail(v, "block %u offset %u: stack depth %d exceeds the block's max stack %u",
                  bi, pc, after, b->max_stack);

    if (op == OP_RETURN) {
      if (d != 1)
        return fail(v, "block %u offset %u: stack holds %d values at RETURN, expected exactly 1",
                    bi, pc, d);
      pc = resume;
      continue;
    }
    if (is_jump(op)) {
      /* Both edges leave `after` values: JUMPF pops its condition either
       * way, ANDJ/ORJ keep theirs either way (the AND/OR after the right
       * operand consumes it on the fall-through path). */
      uint32_t target = rd32(operand);
      int reached = flow_into(v, bi, pc, target, after, depth, pending);
      if (reached < 0)
        return -1;
      if (reached && target < resume)
        resume = target;
      if (op == OP_JUMP) {
        pc = resume;
        continue;
      }
    }
    if (next >= b->length)
      return fail(v, "block %u offset %u: %s falls off the end of the block "
                  "(every path must end in RETURN)", bi, pc, info->name);
    if (flow_into(v, bi, pc, next, after, depth, pending) < 0)
      return -1;
    pc = resume;
  }
  return 0;
}

static int verify_block(struct verifier *v, uint32_t bi)
{
  const struct block *b = &v->image->blocks[bi];
  if (b->max_stack > IMAGE_MAX_STACK)
    return fail(v, "block %u: max stack %u exceeds the limit %d", bi, b->max_stack,
                IMAGE_MAX_STACK);
  if (b->length == 0)
    return fail(v, "block %u: empty block (every path must end in RETURN)", bi);
  if (!b->code)
    return fail(v, "block %u: code missing", bi);

  uint8_t *start = calloc(b->length, 1);
  int32_t *depth = malloc((size_t)b->length * sizeof *depth);
  uint8_t *pending = malloc(b->length);
  int rc;
  if (!start || !depth || !pending)
    rc = fail(v, "out of memory verifying block %u", bi);
  else
    rc = (sweep_block(v, bi, b, start) < 0 || check_jump_targets(v, bi, b, start) < 0 ||
          check_stack(v, bi, b, depth, pending) < 0) ? -1 : 0;
  free(start);
  free(depth);
  free(pending);
  return rc;
}

static int verify_stage(struct verifier *v, uint32_t ei, const struct entry *e, uint16_t si)
{
  char why[128];
  const struct stage *s = &e->stages[si];
  const struct image *image = v->image;

  if (s->kind < STAGE_WHERE || s->kind > STAGE_FORWARD)
    return fail(v, "entry %u stage %u: unknown stage kind %u", ei, si, s->kind);
  if (s->name != IMAGE_NONE && const_problem(image, s->name, true, why, sizeof why))
    return fail(v, "entry %u stage %u: name: %s", ei, si, why);
  if (s->block != IMAGE_NONE && block_problem(image, s->block, why, sizeof why))
    return fail(v, "entry %u stage %u: %s", ei, si, why);

  static const char *const kind_word[] = {
    [STAGE_WHERE] = "where", [STAGE_MAP] = "map", [STAGE_CALL] = "call",
    [STAGE_EMIT] = "emit", [STAGE_FLOW] = "flow", [STAGE_FORWARD] = "forward",
  };
  const char *word = kind_word[s->kind];
  bool needs_block = s->kind == STAGE_WHERE || s->kind == STAGE_MAP;
  if (needs_block && s->block == IMAGE_NONE)
    return fail(v, "entry %u stage %u: %s stage has no block", ei, si, word);
  if (!needs_block && s->name == IMAGE_NONE)
    return fail(v, "entry %u stage %u: %s stage has no name", ei, si, word);

  bool target = s->kind == STAGE_FLOW || s->kind == STAGE_FORWARD;
  if (e->kind == ENTRY_FLOW && target)
    return fail(v, "entry %u stage %u: %s stage (a route target) inside a flow", ei, si, word);
  if (e->kind == ENTRY_ROUTE && !target && !(s->kind == STAGE_WHERE && si == 0))
    return fail(v, "entry %u stage %u: %s stage inside a route (a route holds an optional "
                "leading where, then only flow and forward targets)", ei, si, word);

  if (s->nargs && !s->args)
    return fail(v, "entry %u stage %u: args missing", ei, si);
  for (uint16_t ai = 0; ai < s->nargs; ai++) {
    const struct stage_arg *a = &s->args[ai];
    if (const_problem(image, a->name, true, why, sizeof why))
      return fail(v, "entry %u stage %u arg %u: name: %s", ei, si, ai, why);
    switch (a->kind) {
    case ARG_VALUE:
      if (a->block == IMAGE_NONE)
        return fail(v, "entry %u stage %u arg %u: value arg has no block", ei, si, ai);
      if (a->function != IMAGE_NONE)
        return fail(v, "entry %u stage %u arg %u: value arg has an aggregate function",
                    ei, si, ai);
      break;
    case ARG_AGGREGATE:
      if (a->function == IMAGE_NONE)
        return fail(v, "entry %u stage %u arg %u: aggregate arg has no function", ei, si, ai);
      if (const_problem(image, a->function, true, why, sizeof why))
        return fail(v, "entry %u stage %u arg %u: function: %s", ei, si, ai, why);
      break;
    default:
      return fail(v, "entry %u stage %u arg %u: unknown arg kind %u", ei, si, ai, a->kind);
    }
    if (a->block != IMAGE_NONE && block_problem(image, a->block, why, sizeof why))
      return fail(v, "entry %u stage %u arg %u: %s", ei, si, ai, why);
  }
  return 0;
}

static int verify_entry(struct verifier *v, uint32_t ei)
{
  char why[128];
  const struct image *image = v->image;
  const struct entry *e = &image->entries[ei];

  if (const_problem(image, e->name, true, why, sizeof why))
    return fail(v, "entry %u: name: %s", ei, why);
  if (e->kind != ENTRY_FLOW && e->kind != ENTRY_ROUTE)
    return fail(v, "entry %u: unknown entry kind %u", ei, e->kind);
  if ((e->nevents && !e->events) || (e->npatterns && !e->patterns) ||
      (e->nstages && !e->stages))
    return fail(v, "entry %u: events, patterns or stages missing", ei);
  for (uint16_t i = 0; i < e->nevents; i++)
    if (const_problem(image, e->events[i], true, why, sizeof why))
      return fail(v, "entry %u event %u: %s", ei, i, why);
  for (uint16_t i = 0; i < e->npatterns; i++)
    if (const_problem(image, e->patterns[i], true, why, sizeof why))
      return fail(v, "entry %u pattern %u: %s", ei, i, why);
  for (uint16_t i = 0; i < e->nstages; i++)
    if (verify_stage(v, ei, e, i) < 0)
      return -1;
  return 0;
}

int image_verify(const struct image *image, char *err, size_t err_size)
{
  struct verifier v = { image, err, err_size };
  if (!image)
    return fail(&v, "no image");
  if (verify_constants(&v) < 0)
    return -1;
  if (image->nblocks > IMAGE_NONE)
    return fail(&v, "too many blocks: %u (at most %u)", image->nblocks, IMAGE_NONE);
  if (image->nblocks && !image->blocks)
    return fail(&v, "blocks missing");
  for (uint32_t i = 0; i < image->nblocks; i++)
    if (verify_block(&v, i) < 0)
      return -1;
  if (image->nentries && !image->entries)
    return fail(&v, "entries missing");
  for (uint32_t i = 0; i < image->nentries; i++)
    if (verify_entry(&v, i) < 0)
      return -1;
  if (image->nevents && !image->events)
    return fail(&v, "events missing");
  for (uint32_t i = 0; i < image->nevents; i++) {
    char why[128];
    const struct image_event *ev = &image->events[i];
    const uint16_t fields[] = { ev->name, ev->source, ev->detail_type, ev->schema };
    for (int k = 0; k < 4; k++)
      if (const_problem(image, fields[k], true, why, sizeof why))
        return fail(&v, "event %u: %s", i, why);
  }
  return 0;
}
