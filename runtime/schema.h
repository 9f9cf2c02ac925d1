/* schema.h — validates events against the JSON Schemas efc emits.
 *
 * Supports exactly the subset compiler/emit_store.c writes: type (object,
 * array, string, integer, number, boolean, null), properties, required,
 * items, const and format "date-time".  Unknown keywords are ignored, as
 * JSON Schema says.  The first violation is described with its JSON path
 * ("detail.data.bytes: expected integer, got string").
 */
#ifndef EFC_SCHEMA_H
#define EFC_SCHEMA_H
#include <json-c/json.h>
#include <stddef.h>

/* 0 if value fits schema; else -1 and a one-line reason. */
int schema_validate(struct json_object *schema, struct json_object *value, char *reason, size_t reason_size);
#endif
