/* types.c — construction, assignability and printing of checker types. */
#include "types.h"
#include <string.h>

const struct type type_any = { T_ANY, 0, 0, "any" };
const struct type type_null = { T_NULL, 0, 0, "null" };
const struct type type_bool = { T_BOOL, 0, 0, "bool" };
const struct type type_int = { T_INT, 0, 0, "int" };
const struct type type_float = { T_FLOAT, 0, 0, "float" };
const struct type type_string = { T_STRING, 0, 0, "string" };
const struct type type_time = { T_TIME, 0, 0, "time" };
const struct type type_duration = { T_DURATION, 0, 0, "duration" };
const struct type type_aggregates = { T_AGGREGATES, 0, 0, "aggregates" };

const struct type *type_scalar(const char *name) {
  static const struct type *const all[] = {
    &type_any, &type_null, &type_bool, &type_int, &type_float, &type_string,
    &type_time, &type_duration, &type_aggregates,
  };
  for (size_t i = 0; i < sizeof all / sizeof *all; i++)
    if (strcmp(all[i]->name, name) == 0) return all[i];
  return NULL;
}

const struct type *type_array(struct arena *a, const struct type *elem) {
  struct type *t = arena_alloc(a, sizeof *t);
  t->kind = T_ARRAY;
  t->elem = elem;
  return t;
}

struct type *type_record(struct arena *a, const char *name) {
  struct type *t = arena_alloc(a, sizeof *t);
  t->kind = T_RECORD;
  t->name = name;
  return t;
}

int type_add_field(struct arena *a, struct type *record, const char *name, const struct type *t, int optional, struct loc loc) {
  struct type_field **tail = &record->fields;
  for (; *tail; tail = &(*tail)->next)
    if (strcmp((*tail)->name, name) == 0) return 0;
  struct type_field *f = arena_alloc(a, sizeof *f);
  f->name = name;
  f->type = t;
  f->optional = optional;
  f->loc = loc;
  *tail = f;
  return 1;
}

const struct type_field *type_field(const struct type *record, const char *name) {
  if (!record || record->kind != T_RECORD) return NULL;
  for (const struct type_field *f = record->fields; f; f = f->next)
    if (strcmp(f->name, name) == 0) return f;
  return NULL;
}

int type_is_numeric(const struct type *t) {
  return t->kind == T_INT || t->kind == T_FLOAT || t->kind == T_ANY;
}

int type_assignable(const struct type *to, const struct type *from) {
  if (to->kind == T_ANY || from->kind == T_ANY) return 1;
  if (from->kind == T_NULL) return 1;   /* null is how JSON says "nothing" */
  if (to->kind == T_FLOAT && from->kind == T_INT) return 1;
  if (to->kind == T_TIME && from->kind == T_STRING) return 1;   /* RFC 3339 text */
  if (to->kind != from->kind) return 0;
  if (to->kind == T_ARRAY) return type_assignable(to->elem, from->elem);
  if (to->kind == T_RECORD) {
    for (const struct type_field *f = to->fields; f; f = f->next) {
      const struct type_field *g = type_field(from, f->name);
      if (!g) { if (!f->optional) return 0; continue; }
      if (!type_assignable(f->type, g->type)) return 0;
    }
    for (const struct type_field *g = from->fields; g; g = g->next)
      if (!type_field(to, g->name)) return 0;
  }
  return 1;
}

const struct type *type_unify(struct arena *a, const struct type *x, const struct type *y) {
  if (x->kind == T_ANY || y->kind == T_NULL) return x;
  if (y->kind == T_ANY || x->kind == T_NULL) return y;
  if (type_is_numeric(x) && type_is_numeric(y))
    return x->kind == T_FLOAT || y->kind == T_FLOAT ? &type_float : &type_int;
  if (x->kind != y->kind) return NULL;
  if (x->kind == T_ARRAY) {
    const struct type *e = type_unify(a, x->elem, y->elem);
    return e ? type_array(a, e) : NULL;
  }
  if (x->kind == T_RECORD && !(type_assignable(x, y) && type_assignable(y, x))) return NULL;
  return x;
}

static void append(struct arena *a, char **buf, const char *s) {
  *buf = arena_printf(a, "%s%s", *buf, s);
}

static void print_type(struct arena *a, char **buf, const struct type *t, int depth) {
  if (t->name) { append(a, buf, t->name); return; }
  if (t->kind == T_ARRAY) {
    append(a, buf, "[");
    print_type(a, buf, t->elem, depth);
    append(a, buf, "]");
    return;
  }
  if (depth > 1) { append(a, buf, "{...}"); return; }
  if (!t->fields) { append(a, buf, "{}"); return; }
  append(a, buf, "{ ");
  int n = 0;
  for (const struct type_field *f = t->fields; f; f = f->next, n++) {
    if (n == 4) { append(a, buf, ", ..."); break; }
    append(a, buf, arena_printf(a, "%s%s%s: ", n ? ", " : "", f->name, f->optional ? "?" : ""));
    print_type(a, buf, f->type, depth + 1);
  }
  append(a, buf, " }");
}

const char *type_name(struct arena *a, const struct type *t) {
  char *buf = arena_strdup(a, "");
  print_type(a, &buf, t, 0);
  return buf;
}
