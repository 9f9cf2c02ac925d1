/* types.h — the checker's types.
 *
 * Types are immutable once built and live in the program's arena.  Records
 * keep their fields in declaration order (JSON Schema and emitted objects
 * follow it).  `any` is assignable to and from everything; numbers widen
 * int to float.
 */
#ifndef EFC_TYPES_H
#define EFC_TYPES_H
#include "arena.h"
#include "diag.h"

enum type_kind {
  T_ANY, T_NULL, T_BOOL, T_INT, T_FLOAT, T_STRING, T_TIME, T_DURATION,
  T_ARRAY, T_RECORD,
  T_AGGREGATES,        /* parameter type: `{ name: aggregate(expr), ... }` */
};

struct type_field {
  const char *name;
  const struct type *type;
  int optional;
  struct loc loc;
  struct type_field *next;
};

struct type {
  enum type_kind kind;
  const struct type *elem;        /* T_ARRAY */
  struct type_field *fields;      /* T_RECORD */
  const char *name;               /* declared name, for messages (NULL: structural) */
};

extern const struct type type_any, type_null, type_bool, type_int, type_float,
                         type_string, type_time, type_duration, type_aggregates;

/* The scalar type named `name` (string, int, ...), or NULL. */
const struct type *type_scalar(const char *name);
const struct type *type_array(struct arena *a, const struct type *elem);
struct type *type_record(struct arena *a, const char *name);
/* Appends a field (returns 0 if a field of that name exists already). */
int type_add_field(struct arena *a, struct type *record, const char *name, const struct type *t, int optional, struct loc loc);
const struct type_field *type_field(const struct type *record, const char *name);

int type_is_numeric(const struct type *t);
/* Can a value of `from` be used where `to` is expected? */
int type_assignable(const struct type *to, const struct type *from);
/* The common type of two branches, or NULL when there is none. */
const struct type *type_unify(struct arena *a, const struct type *x, const struct type *y);
/* Writes a short readable form (`string`, `[int]`, `Profile`, `{ a: int, b: string }`). */
const char *type_name(struct arena *a, const struct type *t);
#endif
