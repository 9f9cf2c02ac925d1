/* image_disasm.c — image_disasm(): the human-readable listing behind
 * `efc disasm` (header summary, constant pool, every block decoded one
 * instruction a line, every entry with its events, patterns and stages),
 * plus the opcode metadata lookups opcode_name()/opcode_operand_bytes().
 *
 * Output is deterministic: same image, same text.  The listing tolerates an
 * unverified image (unknown opcodes, truncated operands, bad indices are
 * shown, not trusted), so it can be used to debug the emitter.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"

static const struct {
  const char *name;
  int operand_bytes;
} ops[] = {
#define OP(name, operand_bytes, pops, pushes, doc) { #name, operand_bytes },
#include "opcodes.h"
#undef OP
};

static const char *const builtin_names[] = {
#define BUILTIN(id, name, min_args, max_args, doc) name,
#include "builtins.h"
#undef BUILTIN
};

const char *opcode_name(int op)
{
  return op >= 0 && op < OP__COUNT ? ops[op].name : NULL;
}

int opcode_operand_bytes(int op)
{
  return op >= 0 && op < OP__COUNT ? ops[op].operand_bytes : -2;
}

static void print_string(FILE *out, const char *s, uint32_t len)
{
  fputc('"', out);
  for (uint32_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    switch (c) {
    case '"':  fputs("\\\"", out); break;
    case '\\': fputs("\\\\", out); break;
    case '\n': fputs("\\n", out); break;
    case '\r': fputs("\\r", out); break;
    case '\t': fputs("\\t", out); break;
    default:
      if (c < 0x20 || c == 0x7f)
        fprintf(out, "\\u%04x", c);
      else
        fputc(c, out);
    }
  }
  fputc('"', out);
}

/* Shortest text that reads back as the same double; always looks like a float. */
static void print_float(FILE *out, double f)
{
  char buf[40];
  if (!isfinite(f)) {
    fputs(isnan(f) ? "nan" : f > 0 ? "inf" : "-inf", out);
    return;
  }
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(buf, sizeof buf, "%.*g", prec, f);
    if (strtod(buf, NULL) == f)
      break;
  }
  fputs(buf, out);
  if (!strpbrk(buf, ".e"))
    fputs(".0", out);
}

static void print_value(FILE *out, const struct constant *c)
{
  switch (c->tag) {
  case CONST_STRING:
    if (c->as.string.bytes || !c->as.string.length)
      print_string(out, c->as.string.bytes, c->as.string.length);
    else
      fputs("<missing string>", out);
    return;
  case CONST_INT:      fprintf(out, "%lld", (long long)c->as.i); return;
  case CONST_FLOAT:    print_float(out, c->as.f); return;
  case CONST_DURATION: fprintf(out, "%lldms", (long long)c->as.i); return;
  }
  fprintf(out, "<unknown tag %d>", (int)c->tag);
}

static void print_const_ref(FILE *out, const struct image *image, uint32_t k)
{
  if (k < image->nconsts && image->consts)
    print_value(out, &image->consts[k]);
  else if (k == IMAGE_NONE)
    fputs("<none>", out);
  else
    fprintf(out, "<bad constant %u>", k);
}

static const char *tag_word(enum const_tag tag)
{
  switch (tag) {
  case CONST_STRING:   return "string";
  case CONST_INT:      return "int";
  case CONST_FLOAT:    return "float";
  case CONST_DURATION: return "duration";
  }
  return "?";
}

static void disasm_block(FILE *out, const struct image *image, uint32_t bi)
{
  const struct block *b = &image->blocks[bi];
  fprintf(out, "block %u (max stack %u, %u bytes)\n", bi, b->max_stack, b->length);
  uint32_t pc = 0;
  while (b->code && pc < b->length) {
    uint8_t op = b->code[pc];
    fprintf(out, "  %4u  ", pc);
    if (op >= OP__COUNT) {
      fprintf(out, "?? 0x%02x (unknown opcode)\n", op);
      pc++;
      continue;
    }
    uint32_t n = (uint32_t)ops[op].operand_bytes;
    fputs(ops[op].name, out);
    if (n > b->length - pc - 1) {
      fprintf(out, " <operand truncated: needs %u bytes, %u left>\n", n, b->length - pc - 1);
      return;
    }
    const uint8_t *p = b->code + pc + 1;
    uint32_t k;
    switch (op) {
    case OP_CONST:
    case OP_ENV:
    case OP_GET:
    case OP_SETF:
      k = (uint32_t)(p[0] | (p[1] << 8));
      fprintf(out, " %u ; ", k);
      print_const_ref(out, image, k);
      break;
    case OP_ARRAY:
      fprintf(out, " %u", (unsigned)(p[0] | (p[1] << 8)));
      break;
    case OP_CALL:
      if (p[0] < BUILTIN__COUNT)
        fprintf(out, " %s/%u", builtin_names[p[0]], p[1]);
      else
        fprintf(out, " <unknown builtin %u>/%u", p[0], p[1]);
      break;
    case OP_JUMP:
    case OP_JUMPF:
    case OP_ANDJ:
    case OP_ORJ:
      fprintf(out, " -> %lu", (unsigned long)((uint32_t)p[0] | ((uint32_t)p[1] << 8) |
                                               ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24)));
      break;
    default:
      break;
    }
    fputc('\n', out);
    pc += 1 + n;
  }
}

static const char *stage_word(uint8_t kind)
{
  switch (kind) {
  case STAGE_WHERE:   return "where";
  case STAGE_MAP:     return "map";
  case STAGE_CALL:    return "call";
  case STAGE_EMIT:    return "emit";
  case STAGE_FLOW:    return "flow";
  case STAGE_FORWARD: return "forward";
  }
  return NULL;
}

static void print_block_ref(FILE *out, uint16_t block)
{
  if (block != IMAGE_NONE)
    fprintf(out, " block %u", block);
}

static void disasm_stage(FILE *out, const struct image *image, uint16_t si, const struct stage *s)
{
  const char *word = stage_word(s->kind);
  if (word)
    fprintf(out, "  stage %u: %s", si, word);
  else
    fprintf(out, "  stage %u: <unknown kind %u>", si, s->kind);
  if (s->name != IMAGE_NONE) {
    fputc(' ', out);
    print_const_ref(out, image, s->name);
  }
  print_block_ref(out, s->block);
  fputc('\n', out);
  for (uint16_t ai = 0; s->args && ai < s->nargs; ai++) {
    const struct stage_arg *a = &s->args[ai];
    fputs("    arg ", out);
    print_const_ref(out, image, a->name);
    if (a->kind == ARG_VALUE)
      fputs(": value", out);
    else if (a->kind == ARG_AGGREGATE)
      fputs(": aggregate", out);
    else
      fprintf(out, ": <unknown kind %u>", a->kind);
    if (a->function != IMAGE_NONE) {
      fputc(' ', out);
      print_const_ref(out, image, a->function);
    }
    print_block_ref(out, a->block);
    fputc('\n', out);
  }
}

static void disasm_entry(FILE *out, const struct image *image, uint32_t ei)
{
  const struct entry *e = &image->entries[ei];
  const char *kind = e->kind == ENTRY_FLOW ? "flow" : e->kind == ENTRY_ROUTE ? "route" : NULL;
  if (kind)
    fprintf(out, "entry %u: %s ", ei, kind);
  else
    fprintf(out, "entry %u: <unknown kind %u> ", ei, e->kind);
  print_const_ref(out, image, e->name);
  fputs("\n  events:", out);
  if (!e->nevents || !e->events)
    fputs(" (none)", out);
  for (uint16_t i = 0; e->events && i < e->nevents; i++) {
    fputs(i ? ", " : " ", out);
    print_const_ref(out, image, e->events[i]);
  }
  fputc('\n', out);
  for (uint16_t i = 0; e->patterns && i < e->npatterns; i++) {
    fprintf(out, "  pattern %u: ", i);
    print_const_ref(out, image, e->patterns[i]);
    fputc('\n', out);
  }
  for (uint16_t i = 0; e->stages && i < e->nstages; i++)
    disasm_stage(out, image, i, &e->stages[i]);
}

void image_disasm(const struct image *image, FILE *out)
{
  fprintf(out, "efc bytecode image version %d: %u constants, %u blocks, %u entries, %u events\n",
          IMAGE_VERSION, image->nconsts, image->nblocks, image->nentries, image->nevents);

  fputs("\nconstants:\n", out);
  for (uint32_t i = 0; image->consts && i < image->nconsts; i++) {
    const struct constant *c = &image->consts[i];
    fprintf(out, "  %4u  %-8s  ", i, tag_word(c->tag));
    print_value(out, c);
    fputc('\n', out);
  }

  for (uint32_t i = 0; image->blocks && i < image->nblocks; i++) {
    fputc('\n', out);
    disasm_block(out, image, i);
  }
  for (uint32_t i = 0; image->entries && i < image->nentries; i++) {
    fputc('\n', out);
    disasm_entry(out, image, i);
  }
  for (uint32_t i = 0; image->events && i < image->nevents; i++) {
    const struct image_event *ev = &image->events[i];
    fprintf(out, "\nevent %u: %s\n  source: ", i, image->consts[ev->name].as.string.bytes);
    print_value(out, &image->consts[ev->source]);
    fputs("\n  detail-type: ", out);
    print_value(out, &image->consts[ev->detail_type]);
    fprintf(out, "\n  schema: constant %u\n", ev->schema);
  }
}
