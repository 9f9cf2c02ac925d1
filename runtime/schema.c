/* schema.c — the compiled JSON Schema subset validator (see schema.h). */
#include <stdlib.h>
#include <string.h>
#include "schema.h"
#include "vm.h"

#define MAX_DEPTH 64

enum kind { K_ANY, K_OBJECT, K_ARRAY, K_STRING, K_INTEGER, K_NUMBER, K_BOOLEAN, K_NULL };

struct property {
  const char *name;            /* borrowed from the retained schema object */
  struct schema *schema;
  int required;
};

/* check_fields keeps what it finds on the stack for objects with at most
 * this many properties. */
#define STACK_PROPS 64

struct schema {
  enum kind kind;
  int date_time;
  struct json_object *constant;   /* owned reference, or NULL */
  const char **required;
  size_t nrequired;
  size_t nrequired_props;         /* how many of `required` are properties */
  int type_only;                  /* only a type to check (most leaves): checked without recursion */
  struct property *props;
  size_t nprops;
  struct schema *items;
  struct json_object *source;     /* root only: keeps the names alive */
};

static enum kind kind_of(const char *type) {
  static const char *const names[] = { "", "object", "array", "string", "integer", "number", "boolean", "null" };
  for (int k = 1; k < 8; k++)
    if (strcmp(names[k], type) == 0) return (enum kind)k;
  return K_ANY;
}

static const char *kind_name(enum kind k) {
  static const char *const names[] = { "anything", "object", "array", "string", "integer", "number", "boolean", "null" };
  return names[k];
}

static struct schema *compile_node(struct json_object *o, int depth) {
  if (!o || !json_object_is_type(o, json_type_object) || depth > MAX_DEPTH) return NULL;
  struct schema *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  struct json_object *v;
  if (json_object_object_get_ex(o, "type", &v) && json_object_is_type(v, json_type_string))
    s->kind = kind_of(json_object_get_string(v));
  if (json_object_object_get_ex(o, "format", &v) && json_object_is_type(v, json_type_string))
    s->date_time = strcmp(json_object_get_string(v), "date-time") == 0;
  if (json_object_object_get_ex(o, "const", &v)) s->constant = json_object_get(v);
  if (json_object_object_get_ex(o, "required", &v) && json_object_is_type(v, json_type_array)) {
    s->nrequired = json_object_array_length(v);
    s->required = calloc(s->nrequired + 1, sizeof *s->required);
    if (!s->required) goto fail;
    for (size_t i = 0; i < s->nrequired; i++) s->required[i] = json_object_get_string(json_object_array_get_idx(v, i));
  }
  if (json_object_object_get_ex(o, "properties", &v) && json_object_is_type(v, json_type_object)) {
    s->props = calloc((size_t)json_object_object_length(v) + 1, sizeof *s->props);
    if (!s->props) goto fail;
    json_object_object_foreach(v, name, sub) {
      struct schema *child = compile_node(sub, depth + 1);
      if (!child) goto fail;
      s->props[s->nprops++] = (struct property){ name, child, 0 };
    }
  }
  if (json_object_object_get_ex(o, "items", &v) && !(s->items = compile_node(v, depth + 1))) goto fail;
  s->type_only = !s->constant && !s->date_time && !s->nrequired && !s->nprops && !s->items;
  for (size_t i = 0; i < s->nrequired; i++)
    for (size_t k = 0; k < s->nprops; k++)
      if (s->required[i] && strcmp(s->required[i], s->props[k].name) == 0 && !s->props[k].required) {
        s->props[k].required = 1;
        s->nrequired_props++;
      }
  return s;
fail:
  schema_free(s);
  return NULL;
}

struct schema *schema_compile(struct json_object *schema) {
  struct schema *s = compile_node(schema, 0);
  if (s) s->source = json_object_get(schema);
  return s;
}

void schema_free(struct schema *s) {
  if (!s) return;
  for (size_t i = 0; i < s->nprops; i++) schema_free(s->props[i].schema);
  free(s->props);
  free(s->required);
  schema_free(s->items);
  json_object_put(s->constant);
  json_object_put(s->source);
  free(s);
}

static const char *json_kind(struct json_object *v) {
  if (!v) return "null";
  switch (json_object_get_type(v)) {
  case json_type_boolean: return "boolean";
  case json_type_int: return "integer";
  case json_type_double: return "number";
  case json_type_string: return "string";
  case json_type_array: return "array";
  case json_type_object: return "object";
  default: return "null";
  }
}

static int has_kind(struct json_object *v, enum json_type t, enum kind k) {
  switch (k) {
  case K_ANY: return 1;
  case K_NULL: return t == json_type_null;
  case K_OBJECT: return t == json_type_object;
  case K_ARRAY: return t == json_type_array;
  case K_STRING: return t == json_type_string;
  case K_BOOLEAN: return t == json_type_boolean;
  case K_NUMBER: return t == json_type_int || t == json_type_double;
  case K_INTEGER:
    if (t == json_type_int) return 1;
    if (t != json_type_double) return 0;
    /* JSON Schema: 1.0 is an integer. */
    double d = json_object_get_double(v);
    return d >= -9.2e18 && d <= 9.2e18 && d == (double)(int64_t)d;
  }
  return 0;
}

/* const: strings (the envelope's source and detail-type) compared as bytes. */
static int equals_constant(const struct schema *s, struct json_object *v, enum json_type t) {
  if (json_object_is_type(s->constant, json_type_string))
    return t == json_type_string && json_object_get_string_len(v) == json_object_get_string_len(s->constant) &&
           memcmp(json_object_get_string(v), json_object_get_string(s->constant),
                  (size_t)json_object_get_string_len(v)) == 0;
  return vm_equal(s->constant, v);
}

/* The path to the failing value, as a stack of names or indices; it is
 * turned into text only when a check fails. */
struct path {
  const char *names[MAX_DEPTH];
  size_t index[MAX_DEPTH];
  int n;
};

static int fail(const struct path *p, char *reason, size_t size, const char *fmt, const char *a, const char *b) {
  size_t len = 0;
  reason[0] = 0;
  for (int i = 0; i < p->n && len < size; i++) {
    int w = p->names[i] ? snprintf(reason + len, size - len, "%s%s", i ? "." : "", p->names[i])
                        : snprintf(reason + len, size - len, "[%zu]", p->index[i]);
    if (w > 0) len += (size_t)w;
  }
  if (len == 0 && size > 5) len = (size_t)snprintf(reason, size, "event");
  if (len < size) {
    int w = snprintf(reason + len, size - len, ": ");
    if (w > 0) len += (size_t)w;
  }
  if (len < size) snprintf(reason + len, size - len, fmt, a, b);
  return -1;
}

static int check(const struct schema *s, struct json_object *v, struct path *p, char *reason, size_t size);

/* The property named `name`: first the one after the last found (events
 * usually list their fields in the order of their declaration), then all. */
static size_t find_property(const struct schema *s, const char *name, size_t next) {
  if (next < s->nprops && s->props[next].name[0] == name[0] && strcmp(s->props[next].name, name) == 0) return next;
  for (size_t k = 0; k < s->nprops; k++)
    if (s->props[k].name[0] == name[0] && strcmp(s->props[k].name, name) == 0) return k;
  return s->nprops;
}

static int check_property(const struct schema *s, size_t k, struct json_object *field, struct path *p, char *reason,
                          size_t size) {
  p->names[p->n++] = s->props[k].name;
  int rc = check(s->props[k].schema, field, p, reason, size);
  p->n--;
  return rc;
}

static int missing(const struct path *p, char *reason, size_t size, const char *name) {
  return fail(p, reason, size, "missing required field `%s`%s", name, "");
}

/* One pass over the object's fields finds each one's property and which
 * required ones are there, without hashing; only then are the fields
 * checked, so a missing field is reported first.  json-c keeps keys
 * unique, so at most nprops fields have a property. */
static int check_fields(const struct schema *s, struct json_object *v, struct path *p, char *reason, size_t size) {
  struct found { size_t k; struct json_object *field; } few[STACK_PROPS], *found = few;
  if (s->nprops > STACK_PROPS && !(found = malloc(s->nprops * sizeof *found))) return fail(p, reason, size, "out of memory%s%s", "", "");
  size_t nfound = 0, nrequired = 0, next = 0;
  int rc = 0;
  json_object_object_foreach(v, name, field) {
    size_t k = find_property(s, name, next);
    if (k == s->nprops) continue;   /* a field the schema does not declare: allowed */
    next = k + 1;
    nrequired += (size_t)s->props[k].required;
    found[nfound++] = (struct found){ k, field };
  }
  if (nrequired < s->nrequired_props || s->nrequired > s->nrequired_props)   /* some missing, or not properties */
    for (size_t i = 0; i < s->nrequired && !rc; i++)
      if (s->required[i] && !json_object_object_get_ex(v, s->required[i], NULL)) rc = missing(p, reason, size, s->required[i]);
  for (size_t i = 0; i < nfound && !rc; i++) {
    const struct schema *f = s->props[found[i].k].schema;
    if (f->type_only && has_kind(found[i].field, json_object_get_type(found[i].field), f->kind)) continue;
    rc = check_property(s, found[i].k, found[i].field, p, reason, size);
  }
  if (found != few) free(found);
  return rc;
}

static int check(const struct schema *s, struct json_object *v, struct path *p, char *reason, size_t size) {
  enum json_type t = json_object_get_type(v);   /* json_type_null for NULL */
  if (s->constant && !equals_constant(s, v, t))
    return fail(p, reason, size, "must be %s%s", json_object_to_json_string_ext(s->constant, JSON_C_TO_STRING_PLAIN), "");
  if (!has_kind(v, t, s->kind)) return fail(p, reason, size, "expected %s, got %s", kind_name(s->kind), json_kind(v));
  if (s->date_time && t == json_type_string) {
    int64_t ms;
    if (vm_parse_time(json_object_get_string(v), &ms) != 0)
      return fail(p, reason, size, "expected an RFC 3339 date-time, got \"%.60s\"%s", json_object_get_string(v), "");
  }
  if (p->n >= MAX_DEPTH) return 0;
  if (t == json_type_object) {
    int rc = check_fields(s, v, p, reason, size);
    if (rc) return rc;
  }
  if (s->items && t == json_type_array) {
    size_t n = json_object_array_length(v);
    for (size_t i = 0; i < n; i++) {
      p->names[p->n] = NULL;
      p->index[p->n++] = i;
      int rc = check(s->items, json_object_array_get_idx(v, i), p, reason, size);
      p->n--;
      if (rc) return rc;
    }
  }
  return 0;
}

int schema_check(const struct schema *s, struct json_object *value, char *reason, size_t size) {
  struct path p;
  p.n = 0;
  return check(s, value, &p, reason, size);
}
