/* schema.c — the JSON Schema subset validator (see schema.h). */
#include <string.h>
#include "schema.h"
#include "vm.h"

#define MAX_PATH 512

static int fail(char *reason, size_t n, const char *path, const char *what, const char *got) {
  snprintf(reason, n, "%s: %s%s%s", *path ? path : "event", what, got ? ", got " : "", got ? got : "");
  return -1;
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

static int has_type(struct json_object *v, const char *type) {
  if (strcmp(type, "null") == 0) return v == NULL;
  if (!v) return 0;
  if (strcmp(type, "number") == 0) return json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double);
  if (strcmp(type, "integer") == 0) {
    if (json_object_is_type(v, json_type_int)) return 1;
    /* JSON Schema: 1.0 is an integer. */
    double d = json_object_is_type(v, json_type_double) ? json_object_get_double(v) : 0.5;
    return d == (double)(int64_t)d;
  }
  return strcmp(json_kind(v), type) == 0;
}

static int check(struct json_object *schema, struct json_object *v, char *path, size_t plen, char *reason, size_t n) {
  struct json_object *k;
  if (json_object_object_get_ex(schema, "const", &k) && !vm_equal(k, v)) {
    char want[200];
    snprintf(want, sizeof want, "must be %s", json_object_to_json_string_ext(k, JSON_C_TO_STRING_PLAIN));
    return fail(reason, n, path, want, NULL);
  }
  if (json_object_object_get_ex(schema, "type", &k)) {
    const char *type = json_object_get_string(k);
    if (!has_type(v, type)) {
      char want[64];
      snprintf(want, sizeof want, "expected %s", type);
      return fail(reason, n, path, want, json_kind(v));
    }
  }
  if (json_object_object_get_ex(schema, "format", &k) && strcmp(json_object_get_string(k), "date-time") == 0 &&
      json_object_is_type(v, json_type_string)) {
    int64_t ms;
    if (vm_parse_time(json_object_get_string(v), &ms) != 0)
      return fail(reason, n, path, "expected an RFC 3339 date-time", json_object_get_string(v));
  }
  if (v && json_object_is_type(v, json_type_object)) {
    if (json_object_object_get_ex(schema, "required", &k))
      for (size_t i = 0; i < json_object_array_length(k); i++) {
        const char *name = json_object_get_string(json_object_array_get_idx(k, i));
        if (!json_object_object_get_ex(v, name, NULL)) {
          char what[300];
          snprintf(what, sizeof what, "missing required field `%s`", name);
          return fail(reason, n, path, what, NULL);
        }
      }
    struct json_object *props;
    if (json_object_object_get_ex(schema, "properties", &props)) {
      json_object_object_foreach(props, name, sub) {
        struct json_object *field;
        if (!json_object_object_get_ex(v, name, &field)) continue;
        size_t len = strlen(path);
        snprintf(path + len, plen - len, "%s%s", len ? "." : "", name);
        int rc = check(sub, field, path, plen, reason, n);
        path[len] = 0;
        if (rc) return rc;
      }
    }
  }
  if (v && json_object_is_type(v, json_type_array) && json_object_object_get_ex(schema, "items", &k)) {
    for (size_t i = 0; i < json_object_array_length(v); i++) {
      size_t len = strlen(path);
      snprintf(path + len, plen - len, "[%zu]", i);
      int rc = check(k, json_object_array_get_idx(v, i), path, plen, reason, n);
      path[len] = 0;
      if (rc) return rc;
    }
  }
  return 0;
}

int schema_validate(struct json_object *schema, struct json_object *value, char *reason, size_t reason_size) {
  char path[MAX_PATH] = "";
  return check(schema, value, path, sizeof path, reason, reason_size);
}
