/* test_image.c — unit tests for the bytecode image: writer, loader, verifier,
 * disassembler and CRC-32.  A small but real image is built by hand; the
 * tests round-trip it, corrupt it byte by byte, truncate it at every length,
 * and build hostile variants (written with a valid checksum) that the
 * verifier must reject with a precise message.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image.h"

/* ---- building images by hand ------------------------------------------ */

struct code {
  uint8_t bytes[256];
  uint32_t n;
};

static void c_op(struct code *c, int op)
{
  c->bytes[c->n++] = (uint8_t)op;
}

static void c_op16(struct code *c, int op, uint16_t v)
{
  c_op(c, op);
  c->bytes[c->n++] = (uint8_t)v;
  c->bytes[c->n++] = (uint8_t)(v >> 8);
}

static void c_op32(struct code *c, int op, uint32_t v)
{
  c_op(c, op);
  for (int i = 0; i < 4; i++)
    c->bytes[c->n++] = (uint8_t)(v >> (8 * i));
}

static void c_call(struct code *c, int id, int argc)
{
  c_op(c, OP_CALL);
  c->bytes[c->n++] = (uint8_t)id;
  c->bytes[c->n++] = (uint8_t)argc;
}

static void patch32(struct code *c, uint32_t at, uint32_t v)
{
  for (int i = 0; i < 4; i++)
    c->bytes[at + 1 + i] = (uint8_t)(v >> (8 * i));
}

static void set_block(struct image *img, uint32_t bi, uint16_t max_stack, const uint8_t *code,
                      uint32_t len)
{
  struct block *b = &img->blocks[bi];
  free(b->code);
  b->code = len ? malloc(len) : NULL;
  if (len)
    memcpy(b->code, code, len);
  b->length = len;
  b->max_stack = max_stack;
}

static void set_string(struct constant *c, const char *s)
{
  c->tag = CONST_STRING;
  c->as.string.length = (uint32_t)strlen(s);
  c->as.string.bytes = strdup(s);
}

static uint16_t *u16s(int n, ...)
{
  va_list ap;
  uint16_t *a = malloc((size_t)n * sizeof *a);
  va_start(ap, n);
  for (int i = 0; i < n; i++)
    a[i] = (uint16_t)va_arg(ap, int);
  va_end(ap);
  return a;
}

enum {
  K_ORDERS, K_PLACED, K_AMOUNT, K_100, K_PATTERN, K_CUSTOMER, K_NAME, K_FLOAT, K_DURATION,
  K_ROUTE, K_ARN, K_SINK, K_COUNT, K_TOTAL, K_QUOTED, K__COUNT
};

#define PATTERN "{\"detail-type\":[\"OrderPlaced\"]}"
#define ARN "arn:aws:events:us-east-1:123456789012:event-bus/audit"

/* Offsets used by several tests (see the disassembly expectations). */
#define B1_JUMPF 22
#define B1_JUMP 30

static struct image *make_image(void)
{
  struct image *img = calloc(1, sizeof *img);

  img->nconsts = K__COUNT;
  img->consts = calloc(K__COUNT, sizeof *img->consts);
  set_string(&img->consts[K_ORDERS], "orders");
  set_string(&img->consts[K_PLACED], "OrderPlaced");
  set_string(&img->consts[K_AMOUNT], "amount");
  img->consts[K_100].tag = CONST_INT;
  img->consts[K_100].as.i = 100;
  set_string(&img->consts[K_PATTERN], PATTERN);
  set_string(&img->consts[K_CUSTOMER], "customer");
  set_string(&img->consts[K_NAME], "name");
  img->consts[K_FLOAT].tag = CONST_FLOAT;
  img->consts[K_FLOAT].as.f = 1.5;
  img->consts[K_DURATION].tag = CONST_DURATION;
  img->consts[K_DURATION].as.i = 1500;
  set_string(&img->consts[K_ROUTE], "r1");
  set_string(&img->consts[K_ARN], ARN);
  set_string(&img->consts[K_SINK], "sink");
  set_string(&img->consts[K_COUNT], "count");
  set_string(&img->consts[K_TOTAL], "total");
  set_string(&img->consts[K_QUOTED], "a\"b\\c\n\x01");

  img->nblocks = 4;
  img->blocks = calloc(4, sizeof *img->blocks);
  struct code c;

  /* block 0: row.amount > 100 and exists(row.customer) */
  memset(&c, 0, sizeof c);
  c_op(&c, OP_ROW);                     /*  0 */
  c_op16(&c, OP_GET, K_AMOUNT);         /*  1 */
  c_op16(&c, OP_CONST, K_100);          /*  4 */
  c_op(&c, OP_GT);                      /*  7 */
  c_op32(&c, OP_ANDJ, 19);              /*  8 */
  c_op(&c, OP_ROW);                     /* 13 */
  c_op16(&c, OP_GET, K_CUSTOMER);       /* 14 */
  c_op(&c, OP_EXISTS);                  /* 17 */
  c_op(&c, OP_AND);                     /* 18 */
  c_op(&c, OP_RETURN);                  /* 19 */
  set_block(img, 0, 2, c.bytes, c.n);

  /* block 1: { name: lower(row.customer.name), amount: if row.amount > 100 then 1.5 else 1500ms } */
  memset(&c, 0, sizeof c);
  c_op(&c, OP_OBJECT);                  /*  0 */
  c_op(&c, OP_ROW);                     /*  1 */
  c_op16(&c, OP_GET, K_CUSTOMER);       /*  2 */
  c_op16(&c, OP_GET, K_NAME);           /*  5 */
  c_call(&c, BUILTIN_LOWER, 1);         /*  8 */
  c_op16(&c, OP_SETF, K_NAME);          /* 11 */
  c_op(&c, OP_ROW);                     /* 14 */
  c_op16(&c, OP_GET, K_AMOUNT);         /* 15 */
  c_op16(&c, OP_CONST, K_100);          /* 18 */
  c_op(&c, OP_GT);                      /* 21 */
  c_op32(&c, OP_JUMPF, 35);             /* 22 */
  c_op16(&c, OP_CONST, K_FLOAT);        /* 27 */
  c_op32(&c, OP_JUMP, 38);              /* 30 */
  c_op16(&c, OP_CONST, K_DURATION);     /* 35 */
  c_op16(&c, OP_SETF, K_AMOUNT);        /* 38 */
  c_op(&c, OP_RETURN);                  /* 41 */
  set_block(img, 1, 3, c.bytes, c.n);

  /* block 2: row.amount */
  memset(&c, 0, sizeof c);
  c_op(&c, OP_ROW);
  c_op16(&c, OP_GET, K_AMOUNT);
  c_op(&c, OP_RETURN);
  set_block(img, 2, 1, c.bytes, c.n);

  /* block 3: "OrderPlaced" in ["OrderPlaced", "r1"] or false */
  memset(&c, 0, sizeof c);
  c_op16(&c, OP_CONST, K_PLACED);       /*  0 */
  c_op16(&c, OP_CONST, K_PLACED);       /*  3 */
  c_op16(&c, OP_CONST, K_ROUTE);        /*  6 */
  c_op16(&c, OP_ARRAY, 2);              /*  9 */
  c_op(&c, OP_IN);                      /* 12 */
  c_op32(&c, OP_ORJ, 20);               /* 13 */
  c_op(&c, OP_FALSE);                   /* 18 */
  c_op(&c, OP_OR);                      /* 19 */
  c_op(&c, OP_RETURN);                  /* 20 */
  set_block(img, 3, 3, c.bytes, c.n);

  img->nentries = 2;
  img->entries = calloc(2, sizeof *img->entries);

  struct entry *e = &img->entries[0];
  e->name = K_ORDERS;
  e->kind = ENTRY_FLOW;
  e->nevents = 1;
  e->events = u16s(1, K_PLACED);
  e->npatterns = 1;
  e->patterns = u16s(1, K_PATTERN);
  e->nstages = 4;
  e->stages = calloc(4, sizeof *e->stages);
  e->stages[0] = (struct stage){ STAGE_WHERE, IMAGE_NONE, 0, 0, NULL };
  e->stages[1] = (struct stage){ STAGE_MAP, IMAGE_NONE, 1, 0, NULL };
  e->stages[2] = (struct stage){ STAGE_CALL, K_SINK, IMAGE_NONE, 2, NULL };
  e->stages[2].args = calloc(2, sizeof *e->stages[2].args);
  e->stages[2].args[0] = (struct stage_arg){ K_AMOUNT, ARG_VALUE, 2, IMAGE_NONE };
  e->stages[2].args[1] = (struct stage_arg){ K_TOTAL, ARG_AGGREGATE, IMAGE_NONE, K_COUNT };
  e->stages[3] = (struct stage){ STAGE_EMIT, K_PLACED, IMAGE_NONE, 0, NULL };

  e = &img->entries[1];
  e->name = K_ROUTE;
  e->kind = ENTRY_ROUTE;
  e->nevents = 1;
  e->events = u16s(1, K_PLACED);
  e->npatterns = 1;
  e->patterns = u16s(1, K_PATTERN);
  e->nstages = 3;
  e->stages = calloc(3, sizeof *e->stages);
  e->stages[0] = (struct stage){ STAGE_WHERE, IMAGE_NONE, 3, 0, NULL };
  e->stages[1] = (struct stage){ STAGE_FLOW, K_ORDERS, IMAGE_NONE, 0, NULL };
  e->stages[2] = (struct stage){ STAGE_FORWARD, K_ARN, IMAGE_NONE, 0, NULL };
  return img;
}

/* Recompute the header's size and checksum after editing raw bytes. */
static void reseal(uint8_t *bytes, size_t size)
{
  uint32_t crc = image_crc32(bytes + IMAGE_HEADER_SIZE, size - IMAGE_HEADER_SIZE);
  for (int i = 0; i < 4; i++) {
    bytes[8 + i] = (uint8_t)(size >> (8 * i));
    bytes[12 + i] = (uint8_t)(crc >> (8 * i));
  }
}

static void write_ok(const struct image *img, uint8_t **bytes, size_t *size)
{
  assert_int_equal(image_write(img, bytes, size), 0);
  assert_non_null(*bytes);
  assert_true(*size >= IMAGE_HEADER_SIZE);
}

/* The image must fail verification with `expect` in the message, both
 * directly and after a write (valid checksum) and load. */
static void expect_rejected(struct image *img, const char *expect)
{
  char err[256] = "";
  uint8_t *bytes;
  size_t size;

  assert_int_equal(image_verify(img, err, sizeof err), -1);
  if (!strstr(err, expect))
    fail_msg("verify said \"%s\", expected \"%s\"", err, expect);

  write_ok(img, &bytes, &size);
  err[0] = '\0';
  assert_null(image_load(bytes, size, err, sizeof err));
  if (!strstr(err, expect))
    fail_msg("load said \"%s\", expected \"%s\"", err, expect);
  free(bytes);
  image_free(img);
}

/* Raw bytes (resealed) must fail to load with `expect` in the message. */
static void expect_load_error(const uint8_t *bytes, size_t size, const char *expect)
{
  char err[256] = "";
  assert_null(image_load(bytes, size, err, sizeof err));
  if (!strstr(err, expect))
    fail_msg("load said \"%s\", expected \"%s\"", err, expect);
}

static void expect_code_rejected(uint16_t max_stack, const struct code *c, const char *expect)
{
  struct image *img = make_image();
  set_block(img, 2, max_stack, c->bytes, c->n);
  expect_rejected(img, expect);
}

static char *disasm_text(const struct image *img)
{
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  image_disasm(img, f);
  fclose(f);
  return text;
}

/* ---- the good image ---------------------------------------------------- */

static void test_crc32_known_value(void **state)
{
  (void)state;
  assert_int_equal(image_crc32((const uint8_t *)"123456789", 9), 0xCBF43926u);
  assert_int_equal(image_crc32(NULL, 0), 0);
}

static void test_opcode_metadata(void **state)
{
  (void)state;
  assert_string_equal(opcode_name(OP_JUMPF), "JUMPF");
  assert_string_equal(opcode_name(OP_RETURN), "RETURN");
  assert_int_equal(opcode_operand_bytes(OP_JUMP), 4);
  assert_int_equal(opcode_operand_bytes(OP_CALL), 2);
  assert_int_equal(opcode_operand_bytes(OP_ADD), 0);
  assert_null(opcode_name(OP__COUNT));
  assert_null(opcode_name(-1));
  assert_int_equal(opcode_operand_bytes(OP__COUNT), -2);
}

static void test_good_image_verifies(void **state)
{
  (void)state;
  char err[256] = "";
  struct image *img = make_image();
  int rc = image_verify(img, err, sizeof err);
  if (rc != 0)
    fail_msg("verify: %s", err);
  image_free(img);
}

static void assert_images_equal(const struct image *a, const struct image *b)
{
  assert_int_equal(a->nconsts, b->nconsts);
  for (uint32_t i = 0; i < a->nconsts; i++) {
    const struct constant *x = &a->consts[i], *y = &b->consts[i];
    assert_int_equal(x->tag, y->tag);
    if (x->tag == CONST_STRING) {
      assert_int_equal(x->as.string.length, y->as.string.length);
      assert_memory_equal(x->as.string.bytes, y->as.string.bytes, x->as.string.length);
    } else if (x->tag == CONST_FLOAT) {
      assert_memory_equal(&x->as.f, &y->as.f, sizeof x->as.f);
    } else {
      assert_int_equal(x->as.i, y->as.i);
    }
  }
  assert_int_equal(a->nblocks, b->nblocks);
  for (uint32_t i = 0; i < a->nblocks; i++) {
    assert_int_equal(a->blocks[i].max_stack, b->blocks[i].max_stack);
    assert_int_equal(a->blocks[i].length, b->blocks[i].length);
    assert_memory_equal(a->blocks[i].code, b->blocks[i].code, a->blocks[i].length);
  }
  assert_int_equal(a->nentries, b->nentries);
  for (uint32_t i = 0; i < a->nentries; i++) {
    const struct entry *x = &a->entries[i], *y = &b->entries[i];
    assert_int_equal(x->name, y->name);
    assert_int_equal(x->kind, y->kind);
    assert_int_equal(x->nevents, y->nevents);
    assert_memory_equal(x->events, y->events, x->nevents * sizeof *x->events);
    assert_int_equal(x->npatterns, y->npatterns);
    assert_memory_equal(x->patterns, y->patterns, x->npatterns * sizeof *x->patterns);
    assert_int_equal(x->nstages, y->nstages);
    for (uint16_t j = 0; j < x->nstages; j++) {
      const struct stage *s = &x->stages[j], *t = &y->stages[j];
      assert_int_equal(s->kind, t->kind);
      assert_int_equal(s->name, t->name);
      assert_int_equal(s->block, t->block);
      assert_int_equal(s->nargs, t->nargs);
      for (uint16_t k = 0; k < s->nargs; k++) {
        assert_int_equal(s->args[k].name, t->args[k].name);
        assert_int_equal(s->args[k].kind, t->args[k].kind);
        assert_int_equal(s->args[k].block, t->args[k].block);
        assert_int_equal(s->args[k].function, t->args[k].function);
      }
    }
  }
}

static void test_round_trip(void **state)
{
  (void)state;
  char err[256] = "";
  uint8_t *bytes, *again;
  size_t size, again_size;
  struct image *img = make_image();

  write_ok(img, &bytes, &size);
  struct image *loaded = image_load(bytes, size, err, sizeof err);
  if (!loaded)
    fail_msg("load: %s", err);
  assert_string_equal(err, "");
  assert_images_equal(img, loaded);
  /* Loaded strings are NUL-terminated. */
  assert_string_equal(loaded->consts[K_PATTERN].as.string.bytes, PATTERN);

  /* Writing the loaded image gives the same bytes. */
  write_ok(loaded, &again, &again_size);
  assert_int_equal(size, again_size);
  assert_memory_equal(bytes, again, size);

  free(bytes);
  free(again);
  image_free(img);
  image_free(loaded);
}

static void test_header_layout(void **state)
{
  (void)state;
  uint8_t *bytes;
  size_t size;
  struct image *img = make_image();
  write_ok(img, &bytes, &size);

  assert_memory_equal(bytes, "\x7f" "EFB", 4);
  assert_int_equal(bytes[4] | (bytes[5] << 8), IMAGE_VERSION);
  assert_int_equal(bytes[6] | (bytes[7] << 8), 0);
  uint32_t total = (uint32_t)bytes[8] | ((uint32_t)bytes[9] << 8) |
                   ((uint32_t)bytes[10] << 16) | ((uint32_t)bytes[11] << 24);
  uint32_t crc = (uint32_t)bytes[12] | ((uint32_t)bytes[13] << 8) |
                 ((uint32_t)bytes[14] << 16) | ((uint32_t)bytes[15] << 24);
  assert_int_equal(total, size);
  assert_int_equal(crc, image_crc32(bytes + 16, size - 16));
  /* Constant pool follows: u32 count, then constant 0 = string "orders". */
  assert_int_equal(bytes[16], K__COUNT);
  assert_int_equal(bytes[20], CONST_STRING);
  assert_int_equal(bytes[21], 6);
  assert_memory_equal(bytes + 25, "orders", 6);
  free(bytes);
  image_free(img);
}

static void test_empty_image_round_trip(void **state)
{
  (void)state;
  char err[256];
  struct image empty = { 0 };
  uint8_t *bytes;
  size_t size;
  write_ok(&empty, &bytes, &size);
  assert_int_equal(size, IMAGE_HEADER_SIZE + 16);   /* four empty counts */
  struct image *loaded = image_load(bytes, size, err, sizeof err);
  assert_non_null(loaded);
  assert_int_equal(loaded->nconsts + loaded->nblocks + loaded->nentries, 0);
  image_free(loaded);
  free(bytes);
}

static void test_disasm(void **state)
{
  (void)state;
  struct image *img = make_image();
  char *text = disasm_text(img);
  static const char *const lines[] = {
    "efc bytecode image version 1: 15 constants, 4 blocks, 2 entries, 0 events\n",
    "\n     0  string    \"orders\"\n",
    "\n     3  int       100\n",
    "\n     7  float     1.5\n",
    "\n     8  duration  1500ms\n",
    "\n    14  string    \"a\\\"b\\\\c\\n\\u0001\"\n",
    "\nblock 0 (max stack 2, 20 bytes)\n",
    "\n     1  GET 2 ; \"amount\"\n",
    "\n     4  CONST 3 ; 100\n",
    "\n     8  ANDJ -> 19\n",
    "\n    18  AND\n    19  RETURN\n",
    "\nblock 1 (max stack 3, 42 bytes)\n",
    "\n     8  CALL lower/1\n",
    "\n    11  SETF 6 ; \"name\"\n",
    "\n    22  JUMPF -> 35\n",
    "\n    27  CONST 7 ; 1.5\n",
    "\n    30  JUMP -> 38\n",
    "\n     9  ARRAY 2\n",
    "\n    13  ORJ -> 20\n    18  FALSE\n    19  OR\n    20  RETURN\n",
    "\nentry 0: flow \"orders\"\n  events: \"OrderPlaced\"\n",
    "\n  pattern 0: \"{\\\"detail-type\\\":[\\\"OrderPlaced\\\"]}\"\n",
    "\n  stage 0: where block 0\n  stage 1: map block 1\n",
    "\n  stage 2: call \"sink\"\n    arg \"amount\": value block 2\n"
    "    arg \"total\": aggregate \"count\"\n  stage 3: emit \"OrderPlaced\"\n",
    "\nentry 1: route \"r1\"\n",
    "\n  stage 1: flow \"orders\"\n  stage 2: forward \"" ARN "\"\n",
  };
  for (size_t i = 0; i < sizeof lines / sizeof *lines; i++)
    if (!strstr(text, lines[i]))
      fail_msg("disassembly lacks [%s]:\n%s", lines[i], text);

  /* Deterministic. */
  char *again = disasm_text(img);
  assert_string_equal(text, again);
  free(again);
  free(text);
  image_free(img);
}

static void test_disasm_tolerates_bad_code(void **state)
{
  (void)state;
  struct image *img = make_image();
  static const uint8_t bad[] = { 0xC8, OP_CALL, 0xEE, 1, OP_JUMP, 1 };
  set_block(img, 2, 1, bad, sizeof bad);
  img->entries[0].stages[2].name = 999;
  char *text = disasm_text(img);
  assert_non_null(strstr(text, "?? 0xc8 (unknown opcode)"));
  assert_non_null(strstr(text, "CALL <unknown builtin 238>/1"));
  assert_non_null(strstr(text, "JUMP <operand truncated"));
  assert_non_null(strstr(text, "call <bad constant 999>"));
  free(text);
  image_free(img);
}

/* ---- corrupted files --------------------------------------------------- */

static void test_every_byte_flip_rejected(void **state)
{
  (void)state;
  static const uint8_t masks[] = { 0x01, 0x80, 0xFF, 0x5A };
  char err[256];
  uint8_t *bytes;
  size_t size;
  struct image *img = make_image();
  write_ok(img, &bytes, &size);
  for (size_t at = 0; at < size; at++)
    for (size_t m = 0; m < sizeof masks; m++) {
      bytes[at] ^= masks[m];
      struct image *bad = image_load(bytes, size, err, sizeof err);
      if (bad)
        fail_msg("flip 0x%02x at offset %zu accepted", masks[m], at);
      assert_true(err[0] != '\0');
      bytes[at] ^= masks[m];
    }
  struct image *good = image_load(bytes, size, err, sizeof err);
  assert_non_null(good);
  image_free(good);
  free(bytes);
  image_free(img);
}

/* With the checksum resealed, single-byte edits reach the parser and the
 * verifier: each must either be rejected with a message or give an image
 * that verifies and disassembles (ASan watches for overreads). */
static void test_resealed_byte_edits_are_safe(void **state)
{
  (void)state;
  static const uint8_t masks[] = { 0x01, 0x02, 0x10, 0x80, 0xFF };
  char err[256];
  uint8_t *bytes;
  size_t size;
  int rejected = 0;
  struct image *img = make_image();
  write_ok(img, &bytes, &size);
  uint8_t *copy = malloc(size);
  for (size_t at = IMAGE_HEADER_SIZE; at < size; at++)
    for (size_t m = 0; m < sizeof masks; m++) {
      memcpy(copy, bytes, size);
      copy[at] ^= masks[m];
      reseal(copy, size);
      err[0] = '\0';
      struct image *loaded = image_load(copy, size, err, sizeof err);
      if (!loaded) {
        assert_true(err[0] != '\0');
        rejected++;
        continue;
      }
      assert_int_equal(image_verify(loaded, err, sizeof err), 0);
      FILE *null = fopen("/dev/null", "w");
      image_disasm(loaded, null);
      fclose(null);
      image_free(loaded);
    }
  assert_true(rejected > 0);
  free(copy);
  free(bytes);
  image_free(img);
}

static void test_every_truncation_rejected(void **state)
{
  (void)state;
  char err[256];
  uint8_t *bytes;
  size_t size;
  struct image *img = make_image();
  write_ok(img, &bytes, &size);
  for (size_t len = 0; len < size; len++) {
    /* A fresh allocation of exactly len bytes lets ASan catch any overread. */
    uint8_t *cut = malloc(len ? len : 1);
    memcpy(cut, bytes, len);
    err[0] = '\0';
    if (image_load(cut, len, err, sizeof err))
      fail_msg("truncation to %zu bytes accepted", len);
    if (len >= IMAGE_HEADER_SIZE)
      assert_non_null(strstr(err, "truncated image: header says"));
    else if (len > 0)
      assert_non_null(strstr(err, "truncated image: header needs 16 bytes"));
    free(cut);
  }
  free(bytes);
  image_free(img);
}

static void test_trailing_bytes_rejected(void **state)
{
  (void)state;
  uint8_t *bytes;
  size_t size;
  struct image *img = make_image();
  write_ok(img, &bytes, &size);
  uint8_t *longer = calloc(size + 3, 1);
  memcpy(longer, bytes, size);
  expect_load_error(longer, size + 3, "3 unexpected bytes after the image");
  /* Also when the header is resealed to claim them: parsed, then rejected. */
  reseal(longer, size + 3);
  expect_load_error(longer, size + 3, "bad image: 3 unexpected bytes after the last event");
  free(longer);
  free(bytes);
  image_free(img);
}

static void test_header_messages(void **state)
{
  (void)state;
  uint8_t *bytes;
  size_t size;
  char err[256];
  struct image *img = make_image();
  write_ok(img, &bytes, &size);

  assert_null(image_load(bytes, 0, err, sizeof err));
  assert_string_equal(err, "empty file: not an efc bytecode image");

  bytes[1] = 'X';
  expect_load_error(bytes, size, "bad magic: not an efc bytecode image");
  expect_load_error((const uint8_t *)"{}", 2, "bad magic: not an efc bytecode image");
  bytes[1] = 'E';

  bytes[4] = 7;
  expect_load_error(bytes, size, "unsupported image version 7 (this efc reads version 1)");
  bytes[4] = 1;

  bytes[6] = 4;
  expect_load_error(bytes, size, "unsupported image flags 0x0004");
  bytes[6] = 0;

  bytes[size - 1] ^= 0x10;
  assert_null(image_load(bytes, size, err, sizeof err));
  assert_non_null(strstr(err, "checksum mismatch: header says 0x"));
  assert_non_null(strstr(err, ", contents give 0x"));
  assert_non_null(strstr(err, "(file corrupted or edited)"));
  bytes[size - 1] ^= 0x10;

  /* A tiny err buffer is truncated, never overrun; NULL err is allowed. */
  char tiny[8];
  bytes[4] = 9;
  assert_null(image_load(bytes, size, tiny, sizeof tiny));
  assert_string_equal(tiny, "unsuppo");
  assert_null(image_load(bytes, size, NULL, 0));
  bytes[4] = 1;

  struct image *ok = image_load(bytes, size, NULL, 0);
  assert_non_null(ok);
  image_free(ok);
  free(bytes);
  image_free(img);
}

static void test_truncated_body_message(void **state)
{
  (void)state;
  /* One int constant whose payload is cut short, sealed with a valid CRC. */
  uint8_t b[IMAGE_HEADER_SIZE + 4 + 1 + 7] = { 0x7f, 'E', 'F', 'B', 1, 0, 0, 0 };
  b[16] = 1;                             /* 1 constant */
  b[20] = CONST_INT;
  reseal(b, sizeof b);
  expect_load_error(b, sizeof b, "truncated image: constant 0 needs 8 bytes at offset 21, file has 28");
}

static void test_huge_counts_tiny_file(void **state)
{
  (void)state;
  uint8_t b[IMAGE_HEADER_SIZE + 12] = { 0x7f, 'E', 'F', 'B', 1, 0, 0, 0 };

  /* 4 billion constants. */
  memset(b + 16, 0xFF, 4);
  reseal(b, sizeof b);
  expect_load_error(b, sizeof b,
                    "truncated image: 4294967295 constants need at least 21474836475 bytes "
                    "at offset 16, file has 28");

  /* 0 constants, 4 billion blocks. */
  memset(b + 16, 0, 12);
  memset(b + 20, 0xFF, 4);
  reseal(b, sizeof b);
  expect_load_error(b, sizeof b, "4294967295 blocks need at least");

  /* 0 constants, 0 blocks, 4 billion entries. */
  memset(b + 16, 0, 12);
  memset(b + 24, 0xFF, 4);
  reseal(b, sizeof b);
  expect_load_error(b, sizeof b, "4294967295 entries need at least");
}

static void test_huge_lengths_tiny_file(void **state)
{
  (void)state;
  /* A string constant claiming 4 GiB. */
  uint8_t s[IMAGE_HEADER_SIZE + 4 + 5 + 8] = { 0x7f, 'E', 'F', 'B', 1, 0, 0, 0 };
  s[16] = 1;
  s[20] = CONST_STRING;
  memset(s + 21, 0xFF, 4);
  reseal(s, sizeof s);
  expect_load_error(s, sizeof s, "truncated image: constant 0 needs 4294967295 bytes at offset 25");

  /* A block claiming 4 GiB of code. */
  uint8_t k[IMAGE_HEADER_SIZE + 4 + 4 + 6 + 4] = { 0x7f, 'E', 'F', 'B', 1, 0, 0, 0 };
  k[20] = 1;                            /* 1 block */
  k[24] = 1;                            /* max_stack 1 */
  memset(k + 26, 0xFF, 4);              /* length */
  reseal(k, sizeof k);
  expect_load_error(k, sizeof k, "truncated image: block 0 code needs 4294967295 bytes");
}

static void test_huge_entry_lists_tiny_file(void **state)
{
  (void)state;
  uint8_t *bytes;
  size_t size;
  struct image *img = make_image();
  write_ok(img, &bytes, &size);
  /* The last entry (route "r1") starts 3*7+2 bytes (its stages) + 9 before
   * the end: name u16, kind u8, nevents u16 + 1, npatterns u16 + 1, nstages. */
  size_t route = size - 4 - (2 + 1 + 2 + 2 + 2 + 2 + 2 + 3 * 7);   /* 4: the (empty) event count */
  assert_int_equal(bytes[route], K_ROUTE);
  uint8_t *copy = malloc(size);

  memcpy(copy, bytes, size);
  copy[route + 3] = 0xFF;               /* nevents = 0xFFFF */
  copy[route + 4] = 0xFF;
  reseal(copy, size);
  expect_load_error(copy, size, "truncated image: entry 1 event list needs 131070 bytes");

  memcpy(copy, bytes, size);
  copy[route + 11] = 0xFF;              /* nstages = 0xFFFF */
  copy[route + 12] = 0xFF;
  reseal(copy, size);
  expect_load_error(copy, size, "truncated image: 65535 stages need at least 458745 bytes");

  memcpy(copy, bytes, size);
  copy[route + 13 + 5] = 0xFF;          /* stage 0 nargs = 0xFFFF */
  copy[route + 13 + 6] = 0xFF;
  reseal(copy, size);
  expect_load_error(copy, size, "truncated image: entry 1 stage 0 arg list needs 458745 bytes");

  free(copy);
  free(bytes);
  image_free(img);
}

static void test_unknown_constant_tag_in_file(void **state)
{
  (void)state;
  uint8_t b[IMAGE_HEADER_SIZE + 4 + 9 + 8] = { 0x7f, 'E', 'F', 'B', 1, 0, 0, 0 };
  b[16] = 1;
  b[20] = 9;
  reseal(b, sizeof b);
  expect_load_error(b, sizeof b, "bad image: constant 0 has unknown tag 9 at offset 20");
}

static void test_load_file(void **state)
{
  (void)state;
  char path[] = "/tmp/test_image_XXXXXX";
  char err[512];
  uint8_t *bytes;
  size_t size;
  struct image *img = make_image();
  write_ok(img, &bytes, &size);
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, bytes, size), (ssize_t)size);
  close(fd);

  struct image *loaded = image_load_file(path, err, sizeof err);
  assert_non_null(loaded);
  assert_images_equal(img, loaded);
  image_free(loaded);

  /* Corrupt on disk: the message names the file. */
  FILE *f = fopen(path, "r+b");
  fseek(f, 30, SEEK_SET);
  fputc(0xAA, f);
  fclose(f);
  assert_null(image_load_file(path, err, sizeof err));
  assert_non_null(strstr(err, path));
  assert_non_null(strstr(err, "checksum mismatch"));

  unlink(path);
  assert_null(image_load_file(path, err, sizeof err));
  assert_non_null(strstr(err, "No such file or directory"));
  free(bytes);
  image_free(img);
}

/* ---- hostile code ------------------------------------------------------ */

static void test_unknown_opcode(void **state)
{
  (void)state;
  struct code c = { { OP_ROW, 0xC8, OP_RETURN }, 3 };
  expect_code_rejected(1, &c, "block 2 offset 1: unknown opcode 0xc8");
}

static void test_operand_past_end(void **state)
{
  (void)state;
  struct code c = { { OP_ROW, OP_GET, K_AMOUNT }, 3 };
  expect_code_rejected(1, &c, "block 2 offset 1: GET needs 2 operand bytes, the block ends after 1");
}

static void test_jump_out_of_range(void **state)
{
  (void)state;
  struct image *img = make_image();
  struct code c = { { 0 }, 0 };
  memcpy(c.bytes, img->blocks[1].code, img->blocks[1].length);
  c.n = img->blocks[1].length;
  patch32(&c, B1_JUMPF, 99);
  set_block(img, 1, 3, c.bytes, c.n);
  expect_rejected(img, "block 1 offset 22: jump target 99 is outside the block (length 42)");
}

static void test_jump_into_instruction(void **state)
{
  (void)state;
  struct image *img = make_image();
  struct code c = { { 0 }, 0 };
  memcpy(c.bytes, img->blocks[1].code, img->blocks[1].length);
  c.n = img->blocks[1].length;
  patch32(&c, B1_JUMP, 36);             /* the middle of CONST at 35 */
  set_block(img, 1, 3, c.bytes, c.n);
  expect_rejected(img, "block 1 offset 30: jump target 36 is not an instruction boundary "
                  "(it is inside the CONST at offset 35)");
}

static void test_stack_underflow(void **state)
{
  (void)state;
  struct code c = { { 0 }, 0 };
  c_op(&c, OP_ROW);
  c_op(&c, OP_ADD);
  c_op(&c, OP_RETURN);
  expect_code_rejected(2, &c, "block 2 offset 1: stack underflow: ADD pops 2, stack has 1");
}

static void test_return_on_empty_stack(void **state)
{
  (void)state;
  struct code c = { { OP_RETURN }, 1 };
  expect_code_rejected(1, &c, "block 2 offset 0: stack underflow: RETURN pops 1, stack has 0");
}

static void test_array_underflow(void **state)
{
  (void)state;
  struct code c = { { 0 }, 0 };
  c_op(&c, OP_ROW);
  c_op16(&c, OP_ARRAY, 3);
  c_op(&c, OP_RETURN);
  expect_code_rejected(4, &c, "block 2 offset 1: stack underflow: ARRAY 3 pops 3, stack has 1");
}

static void test_inconsistent_join(void **state)
{
  (void)state;
  /* if row then (row, row) else row: two paths reach RETURN with 2 and 1. */
  struct code c = { { 0 }, 0 };
  c_op(&c, OP_ROW);                     /*  0 */
  c_op32(&c, OP_JUMPF, 13);             /*  1 */
  c_op(&c, OP_ROW);                     /*  6 */
  c_op(&c, OP_ROW);                     /*  7 */
  c_op32(&c, OP_JUMP, 14);              /*  8 */
  c_op(&c, OP_ROW);                     /* 13 */
  c_op(&c, OP_RETURN);                  /* 14 */
  expect_code_rejected(2, &c, "block 2 offset 14: inconsistent stack depth at join: 2 on one path, 1 on the path from offset 13");
}

static void test_short_circuit_joins(void **state)
{
  (void)state;
  /* ORJ/ANDJ keep their value on both edges: a right operand without the OR
   * that consumes it arrives at the join one value deeper. */
  struct code c = { { 0 }, 0 };
  c_op(&c, OP_ROW);                     /* 0 */
  c_op32(&c, OP_ORJ, 7);                /* 1: depth 1 on both edges */
  c_op(&c, OP_ROW);                     /* 6 */
  c_op(&c, OP_RETURN);                  /* 7 */
  expect_code_rejected(2, &c, "block 2 offset 7: inconsistent stack depth at join: 1 on one path, 2 on the path from offset 6");

  /* ...and with the AND it verifies. */
  char err[256];
  struct image *img = make_image();
  memset(&c, 0, sizeof c);
  c_op(&c, OP_ROW);                     /*  0 */
  c_op32(&c, OP_ANDJ, 8);               /*  1 */
  c_op(&c, OP_ROW);                     /*  6 */
  c_op(&c, OP_AND);                     /*  7 */
  c_op(&c, OP_RETURN);                  /*  8 */
  set_block(img, 2, 2, c.bytes, c.n);
  if (image_verify(img, err, sizeof err) != 0)
    fail_msg("verify: %s", err);
  image_free(img);
}

static void test_exceeds_max_stack(void **state)
{
  (void)state;
  struct code c = { { 0 }, 0 };
  c_op(&c, OP_ROW);
  c_op(&c, OP_ROW);
  c_op(&c, OP_ROW);
  c_op(&c, OP_POP);
  c_op(&c, OP_POP);
  c_op(&c, OP_RETURN);
  expect_code_rejected(2, &c, "block 2 offset 2: stack depth 3 exceeds the block's max stack 2");
}

static void test_max_stack_above_limit(void **state)
{
  (void)state;
  struct code c = { { OP_ROW, OP_RETURN }, 2 };
  expect_code_rejected(IMAGE_MAX_STACK + 1, &c, "block 2: max stack 1025 exceeds the limit 1024");
}

static void test_falls_off_end(void **state)
{
  (void)state;
  struct code c = { { 0 }, 0 };
  c_op(&c, OP_ROW);
  c_op16(&c, OP_GET, K_AMOUNT);
  expect_code_rejected(1, &c, "block 2 offset 1: GET falls off the end of the block "
                       "(every path must end in RETURN)");
}

static void test_branch_falls_off_end(void **state)
{
  (void)state;
  /* Only the not-taken side of JUMPF reaches RETURN. */
  struct code c = { { 0 }, 0 };
  c_op(&c, OP_ROW);                     /*  0 */
  c_op32(&c, OP_JUMPF, 8);              /*  1 */
  c_op(&c, OP_ROW);                     /*  6 */
  c_op(&c, OP_RETURN);                  /*  7 */
  c_op(&c, OP_NOP);                     /*  8 */
  expect_code_rejected(1, &c, "block 2 offset 8: NOP falls off the end of the block");
}

static void test_empty_block(void **state)
{
  (void)state;
  struct code c = { { 0 }, 0 };
  expect_code_rejected(1, &c, "block 2: empty block");
}

static void test_return_leaves_values(void **state)
{
  (void)state;
  struct code c = { { OP_ROW, OP_ROW, OP_RETURN }, 3 };
  expect_code_rejected(2, &c, "block 2 offset 2: stack holds 2 values at RETURN, expected exactly 1");
}

static void test_dead_code_after_return_accepted(void **state)
{
  (void)state;
  char err[256];
  struct image *img = make_image();
  struct code c = { { OP_ROW, OP_RETURN, OP_ADD, OP_POP }, 4 };
  set_block(img, 2, 1, c.bytes, c.n);
  assert_int_equal(image_verify(img, err, sizeof err), 0);
  image_free(img);
}

static void test_const_out_of_range(void **state)
{
  (void)state;
  struct code c = { { 0 }, 0 };
  c_op16(&c, OP_CONST, 40);
  c_op(&c, OP_RETURN);
  expect_code_rejected(1, &c, "block 2 offset 0: CONST operand: constant 40 is out of range (pool has 15)");
}

static void test_get_wrong_tag(void **state)
{
  (void)state;
  struct code c = { { 0 }, 0 };
  c_op(&c, OP_ROW);
  c_op16(&c, OP_GET, K_100);
  c_op(&c, OP_RETURN);
  expect_code_rejected(1, &c, "block 2 offset 1: GET operand: constant 3 is an int, expected a string");
}

static void test_env_and_setf_wrong_tag(void **state)
{
  (void)state;
  struct code c = { { 0 }, 0 };
  c_op16(&c, OP_ENV, K_FLOAT);
  c_op(&c, OP_RETURN);
  expect_code_rejected(1, &c, "block 2 offset 0: ENV operand: constant 7 is a float, expected a string");

  memset(&c, 0, sizeof c);
  c_op(&c, OP_OBJECT);
  c_op(&c, OP_ROW);
  c_op16(&c, OP_SETF, K_DURATION);
  c_op(&c, OP_RETURN);
  expect_code_rejected(2, &c, "block 2 offset 2: SETF operand: constant 8 is a duration, expected a string");
}

static void test_bad_builtin(void **state)
{
  (void)state;
  struct code c = { { 0 }, 0 };
  c_op(&c, OP_ROW);
  c_call(&c, BUILTIN__COUNT, 1);
  c_op(&c, OP_RETURN);
  expect_code_rejected(1, &c, "block 2 offset 1: CALL of unknown builtin");
}

static void test_bad_argc(void **state)
{
  (void)state;
  struct code c = { { 0 }, 0 };
  c_op(&c, OP_ROW);
  c_op(&c, OP_ROW);
  c_call(&c, BUILTIN_LOWER, 2);
  c_op(&c, OP_RETURN);
  expect_code_rejected(2, &c, "block 2 offset 2: CALL lower with 2 arguments (it takes 1)");

  memset(&c, 0, sizeof c);
  c_op(&c, OP_ROW);
  c_call(&c, BUILTIN_COALESCE, 1);
  c_op(&c, OP_RETURN);
  expect_code_rejected(1, &c, "block 2 offset 1: CALL coalesce with 1 arguments (it takes 2 to 8)");
}

static void test_call_underflow(void **state)
{
  (void)state;
  struct code c = { { 0 }, 0 };
  c_op(&c, OP_ROW);
  c_call(&c, BUILTIN_MAX, 3);
  c_op(&c, OP_RETURN);
  expect_code_rejected(1, &c, "block 2 offset 1: stack underflow: CALL max/3 pops 3, stack has 1");
}

/* ---- hostile structure ------------------------------------------------- */

static void test_bad_stage_kind(void **state)
{
  (void)state;
  struct image *img = make_image();
  img->entries[0].stages[1].kind = 9;
  expect_rejected(img, "entry 0 stage 1: unknown stage kind 9");
}

static void test_stage_block_out_of_range(void **state)
{
  (void)state;
  struct image *img = make_image();
  img->entries[0].stages[1].block = 4;
  expect_rejected(img, "entry 0 stage 1: block 4 is out of range (image has 4 blocks)");

  img = make_image();
  img->entries[0].stages[2].args[0].block = 77;
  expect_rejected(img, "entry 0 stage 2 arg 0: block 77 is out of range");
}

static void test_stage_missing_fields(void **state)
{
  (void)state;
  struct image *img = make_image();
  img->entries[0].stages[0].block = IMAGE_NONE;
  expect_rejected(img, "entry 0 stage 0: where stage has no block");

  img = make_image();
  img->entries[0].stages[3].name = IMAGE_NONE;
  expect_rejected(img, "entry 0 stage 3: emit stage has no name");

  img = make_image();
  img->entries[0].stages[2].args[1].function = IMAGE_NONE;
  expect_rejected(img, "entry 0 stage 2 arg 1: aggregate arg has no function");

  img = make_image();
  img->entries[0].stages[2].args[0].block = IMAGE_NONE;
  expect_rejected(img, "entry 0 stage 2 arg 0: value arg has no block");
}

static void test_bad_arg_kind(void **state)
{
  (void)state;
  struct image *img = make_image();
  img->entries[0].stages[2].args[1].kind = 2;
  expect_rejected(img, "entry 0 stage 2 arg 1: unknown arg kind 2");
}

static void test_names_must_be_strings(void **state)
{
  (void)state;
  struct image *img = make_image();
  img->entries[1].name = K_100;
  expect_rejected(img, "entry 1: name: constant 3 is an int, expected a string");

  img = make_image();
  img->entries[0].events[0] = 500;
  expect_rejected(img, "entry 0 event 0: constant 500 is out of range (pool has 15)");

  img = make_image();
  img->entries[1].patterns[0] = K_FLOAT;
  expect_rejected(img, "entry 1 pattern 0: constant 7 is a float, expected a string");

  img = make_image();
  img->entries[0].stages[2].name = K_DURATION;
  expect_rejected(img, "entry 0 stage 2: name: constant 8 is a duration, expected a string");

  img = make_image();
  img->entries[0].stages[2].args[1].function = K_100;
  expect_rejected(img, "entry 0 stage 2 arg 1: function: constant 3 is an int");

  img = make_image();
  img->entries[0].stages[2].args[0].name = IMAGE_NONE;
  expect_rejected(img, "entry 0 stage 2 arg 0: name: constant 65535 is out of range");
}

static void test_entry_shapes(void **state)
{
  (void)state;
  struct image *img = make_image();
  img->entries[1].kind = 5;
  expect_rejected(img, "entry 1: unknown entry kind 5");

  img = make_image();
  img->entries[1].stages[1].kind = STAGE_MAP;
  img->entries[1].stages[1].block = 1;
  expect_rejected(img, "entry 1 stage 1: map stage inside a route (a route holds an optional leading where");

  img = make_image();
  img->entries[0].stages[3].kind = STAGE_FORWARD;
  expect_rejected(img, "entry 0 stage 3: forward stage (a route target) inside a flow");
}

static void test_bad_constants(void **state)
{
  (void)state;
  struct image *img = make_image();
  img->consts[K_NAME].as.string.bytes[1] = (char)0xC0;
  expect_rejected(img, "constant 6: string is not valid UTF-8 (byte 0xc0 at 1)");

  img = make_image();
  img->consts[K_FLOAT].as.f = 1e308 * 10;
  expect_rejected(img, "constant 7: float is not finite");

  /* Valid multi-byte UTF-8 is fine. */
  char err[256];
  img = make_image();
  free(img->consts[K_NAME].as.string.bytes);
  set_string(&img->consts[K_NAME], "na\xc3\xafve \xe2\x82\xac \xf0\x9f\x98\x80");
  assert_int_equal(image_verify(img, err, sizeof err), 0);
  image_free(img);
}

static void test_too_many_constants(void **state)
{
  (void)state;
  char err[256];
  struct image img = { 0 };
  img.nconsts = 70000;
  img.consts = calloc(img.nconsts, sizeof *img.consts);
  for (uint32_t i = 0; i < img.nconsts; i++)
    img.consts[i].tag = CONST_INT;
  assert_int_equal(image_verify(&img, err, sizeof err), -1);
  assert_string_equal(err, "too many constants: 70000 (at most 65535)");
  free(img.consts);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_crc32_known_value),
    cmocka_unit_test(test_opcode_metadata),
    cmocka_unit_test(test_good_image_verifies),
    cmocka_unit_test(test_round_trip),
    cmocka_unit_test(test_header_layout),
    cmocka_unit_test(test_empty_image_round_trip),
    cmocka_unit_test(test_disasm),
    cmocka_unit_test(test_disasm_tolerates_bad_code),
    cmocka_unit_test(test_every_byte_flip_rejected),
    cmocka_unit_test(test_resealed_byte_edits_are_safe),
    cmocka_unit_test(test_every_truncation_rejected),
    cmocka_unit_test(test_trailing_bytes_rejected),
    cmocka_unit_test(test_header_messages),
    cmocka_unit_test(test_truncated_body_message),
    cmocka_unit_test(test_huge_counts_tiny_file),
    cmocka_unit_test(test_huge_lengths_tiny_file),
    cmocka_unit_test(test_huge_entry_lists_tiny_file),
    cmocka_unit_test(test_unknown_constant_tag_in_file),
    cmocka_unit_test(test_load_file),
    cmocka_unit_test(test_unknown_opcode),
    cmocka_unit_test(test_operand_past_end),
    cmocka_unit_test(test_jump_out_of_range),
    cmocka_unit_test(test_jump_into_instruction),
    cmocka_unit_test(test_stack_underflow),
    cmocka_unit_test(test_return_on_empty_stack),
    cmocka_unit_test(test_array_underflow),
    cmocka_unit_test(test_inconsistent_join),
    cmocka_unit_test(test_short_circuit_joins),
    cmocka_unit_test(test_exceeds_max_stack),
    cmocka_unit_test(test_max_stack_above_limit),
    cmocka_unit_test(test_falls_off_end),
    cmocka_unit_test(test_branch_falls_off_end),
    cmocka_unit_test(test_empty_block),
    cmocka_unit_test(test_return_leaves_values),
    cmocka_unit_test(test_dead_code_after_return_accepted),
    cmocka_unit_test(test_const_out_of_range),
    cmocka_unit_test(test_get_wrong_tag),
    cmocka_unit_test(test_env_and_setf_wrong_tag),
    cmocka_unit_test(test_bad_builtin),
    cmocka_unit_test(test_bad_argc),
    cmocka_unit_test(test_call_underflow),
    cmocka_unit_test(test_bad_stage_kind),
    cmocka_unit_test(test_stage_block_out_of_range),
    cmocka_unit_test(test_stage_missing_fields),
    cmocka_unit_test(test_bad_arg_kind),
    cmocka_unit_test(test_names_must_be_strings),
    cmocka_unit_test(test_entry_shapes),
    cmocka_unit_test(test_bad_constants),
    cmocka_unit_test(test_too_many_constants),
  };
  cmocka_set_message_output(CM_OUTPUT_TAP);
  return cmocka_run_group_tests(tests, NULL, NULL);
}
