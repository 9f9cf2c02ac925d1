/* compile.h — the compiler as a library: a checked program to its artefacts.
 *
 * Used by `efc compile`, `efc explain` and (later) the HTTP server's
 * POST /flow.  Everything is computed in memory; writing files is the
 * caller's business.  Output is deterministic: the same source gives the
 * same bytes.
 */
#ifndef EFC_COMPILE_H
#define EFC_COMPILE_H
#include <json-c/json.h>
#include "ast.h"
#include "image.h"
#include "pushdown.h"

#define COMPILE_DEFAULT_TABLE "EventStore"
#define COMPILE_RUNTIME_ARN "${EfcRuntimeFunctionArn}"   /* bound at deploy time */
#define COMPILE_MAX_TARGETS 5                              /* EventBridge: targets per rule */
#define COMPILE_BATCH_ITEMS 25                             /* DynamoDB: items per BatchWriteItem */

struct compile_options {
  const char *table;            /* Event Store table name (COMPILE_DEFAULT_TABLE if NULL) */
};

/* One EventBridge rule: an entry (flow or route) listening to one event. */
struct compiled_rule {
  const char *name;
  const struct decl *entry;
  const struct decl *event;     /* NULL for the schedule rule */
  struct pushdown split;
  struct json_object *json;     /* its object in rules.json (borrowed from rules) */
};

struct compilation {
  struct program *program;      /* borrowed */
  struct compiled_rule *rules;
  size_t nrules;
  struct json_object *rules_json;   /* array of PutRule+PutTargets objects */
  struct json_object *store_json;   /* array of BatchWriteItem request bodies */
  struct image *image;
  uint8_t *image_bytes;
  size_t image_size;
};

/* Compiles a program that check_program() accepted.  Returns 0, or -1 with
 * errors in d (limits of EventBridge or of the bytecode format). */
int compile_program(struct program *program, struct diag *d, const struct compile_options *opt, struct compilation *out);
void compilation_free(struct compilation *c);

/* The Event Store items (emit_store.c). */
struct json_object *emit_store(const struct compilation *c, const char *table);
/* The JSON Schema (draft 2020-12) of an event as it arrives on the bus. */
struct json_object *emit_event_schema(const struct program *program, const struct decl *event);
#endif
