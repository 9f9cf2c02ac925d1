/* image.h — the bytecode image (.efb): in-memory form, writer, loader,
 * verifier and disassembler.
 *
 * One image holds one compiled application: a constant pool, code blocks
 * (straight-line stack code for one expression each), entries (one per
 * flow or route), each a list of stages, and the declared events.  The on-disk layout is described
 * in docs/bytecode.md; every multi-byte integer is little-endian.
 *
 * Guarantee: image_load() returns an image only if the checksum matches and
 * image_verify() accepted it, so the VM never sees a malformed image.
 */
#ifndef EFC_IMAGE_H
#define EFC_IMAGE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define IMAGE_MAGIC        "\x7f" "EFB"
#define IMAGE_VERSION      1
#define IMAGE_HEADER_SIZE  16
#define IMAGE_NONE         0xFFFF   /* "no block" / "no constant" */
#define IMAGE_MAX_STACK    1024     /* verifier's bound on any block's depth */

enum opcode {
#define OP(name, operand_bytes, pops, pushes, doc) OP_##name,
#include "opcodes.h"
#undef OP
  OP__COUNT
};

enum builtin_id {
#define BUILTIN(id, name, min_args, max_args, doc) BUILTIN_##id,
#include "builtins.h"
#undef BUILTIN
  BUILTIN__COUNT
};

enum const_tag {
  CONST_STRING   = 1,   /* u32 length, UTF-8 bytes */
  CONST_INT      = 2,   /* i64 */
  CONST_FLOAT    = 3,   /* f64, IEEE-754 bits as u64 */
  CONST_DURATION = 4,   /* i64 milliseconds */
};

struct constant {
  enum const_tag tag;
  union { struct { char *bytes; uint32_t length; } string; int64_t i; double f; } as;
};

struct block {
  uint16_t max_stack;   /* deepest stack the code reaches; checked by the verifier */
  uint32_t length;
  uint8_t *code;
};

enum stage_kind {
  STAGE_WHERE   = 1,  /* block: predicate; the row goes on only if it is true */
  STAGE_MAP     = 2,  /* block: the new row */
  STAGE_CALL    = 3,  /* name: a native filter, transformer or view; args */
  STAGE_EMIT    = 4,  /* name: event name; args "source", "detail-type" */
  STAGE_FLOW    = 5,  /* route target: deliver the event to the flow named `name` */
  STAGE_FORWARD = 6,  /* route target: an external ARN (`name`), delivered by EventBridge */
};

enum arg_kind {
  ARG_VALUE     = 0,  /* block evaluated against the row */
  ARG_AGGREGATE = 1,  /* function: string constant (count, min, ...); block: its input or NONE */
};

struct stage_arg {
  uint16_t name;        /* string constant */
  uint8_t  kind;        /* enum arg_kind */
  uint16_t block;       /* block index or IMAGE_NONE */
  uint16_t function;    /* string constant or IMAGE_NONE (ARG_AGGREGATE only) */
};

struct stage {
  uint8_t  kind;        /* enum stage_kind */
  uint16_t name;        /* string constant or IMAGE_NONE */
  uint16_t block;       /* block index or IMAGE_NONE */
  uint16_t nargs;
  struct stage_arg *args;
};

enum entry_kind {
  ENTRY_FLOW  = 0,      /* stages run in sequence */
  ENTRY_ROUTE = 1,      /* optional leading WHERE, then each stage is one target (fan out) */
};

struct entry {
  uint16_t name;        /* string constant: flow name or route id */
  uint8_t  kind;        /* enum entry_kind */
  uint16_t nevents;     /* events it listens to: string constants */
  uint16_t *events;
  uint16_t npatterns;   /* the EventBridge patterns of its rules: string constants (JSON text) */
  uint16_t *patterns;
  uint16_t nstages;
  struct stage *stages;
};

/* An event the application declares: how it arrives and its JSON Schema,
 * so the runtime can validate input and dead-letter what does not fit. */
struct image_event {
  uint16_t name;        /* string constant */
  uint16_t source;      /* string constant: EventBridge `source` */
  uint16_t detail_type; /* string constant: EventBridge `detail-type` */
  uint16_t schema;      /* string constant: JSON Schema text of the whole event */
};

struct image {
  uint32_t nconsts, nblocks, nentries, nevents;
  struct constant *consts;
  struct block *blocks;
  struct entry *entries;
  struct image_event *events;
};

/* Serialise to a malloc'd buffer (caller frees *out). Returns 0 or -1 (ENOMEM). */
int image_write(const struct image *image, uint8_t **out, size_t *out_size);

/* Parse, checksum and verify.  On success returns a new image (free with
 * image_free); on failure NULL and a one-line reason in err. */
struct image *image_load(const uint8_t *bytes, size_t size, char *err, size_t err_size);
struct image *image_load_file(const char *path, char *err, size_t err_size);

/* Structural and code checks; 0 if the image is safe to run, else -1 with reason. */
int image_verify(const struct image *image, char *err, size_t err_size);

void image_free(struct image *image);

/* Human-readable listing of every constant, block and entry. */
void image_disasm(const struct image *image, FILE *out);

uint32_t image_crc32(const uint8_t *bytes, size_t size);

/* Opcode metadata from opcodes.h (NULL/-2 for an unknown opcode). */
const char *opcode_name(int op);
int opcode_operand_bytes(int op);

#endif
