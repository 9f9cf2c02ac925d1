/* schema.h — validates events against the JSON Schemas efc emits.
 *
 * Supports exactly the subset compiler/emit_store.c writes: type (object,
 * array, string, integer, number, boolean, null), properties, required,
 * items, const and format "date-time".  Unknown keywords are ignored, as
 * JSON Schema says.  A schema is compiled once into a tree of C structs, so
 * checking an event costs one walk of the event, with no string building
 * unless it fails.  The first violation is described with its JSON path
 * ("detail.data.bytes: expected integer, got string").
 */
#ifndef EFC_SCHEMA_H
#define EFC_SCHEMA_H
#include <json-c/json.h>
#include <stddef.h>

struct schema;

/* Compiles a schema (borrowed; the result keeps what it needs).  NULL when
 * out of memory or when the schema is not an object. */
struct schema *schema_compile(struct json_object *schema);
void schema_free(struct schema *schema);

/* 0 if value fits; else -1 and a one-line reason. */
int schema_check(const struct schema *schema, struct json_object *value, char *reason, size_t reason_size);
#endif
