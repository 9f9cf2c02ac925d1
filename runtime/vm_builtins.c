/* vm_builtins.c — the built-in functions of builtins.h.
 *
 * An absent argument makes the result absent (so `where` stays unknown),
 * except for coalesce, whose job is to skip absent and null values.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "vm_internal.h"

static int err_type(char *err, size_t n, const char *fn, const char *want, struct json_object *got) {
  snprintf(err, n, "%s needs %s, got %s", fn, want, vm_type_name(got));
  return -1;
}

static int is_type(struct json_object *v, enum json_type t) { return v && v != VM_MISSING && json_object_is_type(v, t); }
static int is_num(struct json_object *v) { return is_type(v, json_type_int) || is_type(v, json_type_double); }

int vm_cidr_contains(const char *cidr, const char *ip) {
  char net[64];
  const char *slash = strchr(cidr, '/');
  size_t n = slash ? (size_t)(slash - cidr) : strlen(cidr);
  if (n >= sizeof net) return 0;
  memcpy(net, cidr, n);
  net[n] = 0;
  unsigned char a[16], b[16];
  int bytes;
  if (inet_pton(AF_INET, net, a) == 1 && inet_pton(AF_INET, ip, b) == 1) bytes = 4;
  else if (inet_pton(AF_INET6, net, a) == 1 && inet_pton(AF_INET6, ip, b) == 1) bytes = 16;
  else return 0;
  int bits = bytes * 8;
  if (slash) {   /* 1 to 3 decimal digits, nothing else (atoi read "/abc" as /0) */
    const char *q = slash + 1;
    size_t nd = strspn(q, "0123456789");
    if (nd == 0 || nd > 3 || q[nd]) return 0;
    bits = atoi(q);
  }
  if (bits > bytes * 8) return 0;
  for (int i = 0; i < bytes && bits > 0; i++, bits -= 8) {
    unsigned char mask = bits >= 8 ? 0xFF : (unsigned char)(0xFF << (8 - bits));
    if ((a[i] & mask) != (b[i] & mask)) return 0;
  }
  return 1;
}

static struct json_object *map_string(struct json_object *s, int (*fn)(int)) {
  int len = json_object_get_string_len(s);
  char *buf = malloc((size_t)len + 1);
  if (!buf) return NULL;
  const char *src = json_object_get_string(s);
  for (int i = 0; i < len; i++) buf[i] = (char)((unsigned char)src[i] < 0x80 ? fn((unsigned char)src[i]) : src[i]);
  struct json_object *r = json_object_new_string_len(buf, len);
  free(buf);
  return r;
}

static struct json_object *to_string(struct json_object *v) {
  if (is_type(v, json_type_string)) return json_object_get(v);
  return json_object_new_string(v ? json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE) : "null");
}

int vm_builtin(int id, struct json_object *const *args, int argc, struct json_object **result, char *err, size_t n) {
  *result = VM_MISSING;
  if (id != BUILTIN_COALESCE)
    for (int i = 0; i < argc; i++)
      if (args[i] == VM_MISSING) return 0;
  struct json_object *a = argc > 0 ? args[0] : NULL, *b = argc > 1 ? args[1] : NULL;
  switch ((enum builtin_id)id) {
  case BUILTIN_LEN:
    if (is_type(a, json_type_string)) *result = json_object_new_int64(json_object_get_string_len(a));
    else if (is_type(a, json_type_array)) *result = json_object_new_int64((int64_t)json_object_array_length(a));
    else if (is_type(a, json_type_object)) *result = json_object_new_int64(json_object_object_length(a));
    else return err_type(err, n, "len", "a string, list or object", a);
    return 0;
  case BUILTIN_LOWER: case BUILTIN_UPPER:
    if (!is_type(a, json_type_string)) return err_type(err, n, id == BUILTIN_LOWER ? "lower" : "upper", "a string", a);
    *result = map_string(a, id == BUILTIN_LOWER ? tolower : toupper);
    return 0;
  case BUILTIN_TRIM: {
    if (!is_type(a, json_type_string)) return err_type(err, n, "trim", "a string", a);
    const char *s = json_object_get_string(a);
    int len = json_object_get_string_len(a), start = 0;
    while (start < len && isspace((unsigned char)s[start])) start++;
    while (len > start && isspace((unsigned char)s[len - 1])) len--;
    *result = json_object_new_string_len(s + start, len - start);
    return 0;
  }
  case BUILTIN_CONTAINS:
    if (is_type(a, json_type_array)) {
      int found = 0;
      for (size_t i = 0; i < json_object_array_length(a) && !found; i++) found = vm_equal(json_object_array_get_idx(a, i), b);
      *result = json_object_new_boolean(found);
    } else if (is_type(a, json_type_string) && is_type(b, json_type_string)) {
      *result = json_object_new_boolean(memmem(json_object_get_string(a), (size_t)json_object_get_string_len(a),
                                               json_object_get_string(b), (size_t)json_object_get_string_len(b)) != NULL);
    } else {
      return err_type(err, n, "contains", "a list, or two strings", a);
    }
    return 0;
  case BUILTIN_SPLIT: {
    if (!is_type(a, json_type_string) || !is_type(b, json_type_string)) return err_type(err, n, "split", "two strings", a);
    const char *s = json_object_get_string(a), *sep = json_object_get_string(b);
    size_t ls = (size_t)json_object_get_string_len(a), lsep = (size_t)json_object_get_string_len(b);
    struct json_object *r = json_object_new_array();
    if (!r) return snprintf(err, n, "split: out of memory"), -1;
    if (lsep == 0) {
      json_object_array_add(r, json_object_get(a));
    } else {
      const char *p = s, *end = s + ls, *hit;
      while ((hit = memmem(p, (size_t)(end - p), sep, lsep)) != NULL) {
        json_object_array_add(r, json_object_new_string_len(p, (int)(hit - p)));
        p = hit + lsep;
      }
      json_object_array_add(r, json_object_new_string_len(p, (int)(end - p)));
    }
    *result = r;
    return 0;
  }
  case BUILTIN_JOIN: {
    if (!is_type(a, json_type_array) || !is_type(b, json_type_string)) return err_type(err, n, "join", "a list and a string", a);
    struct printbuf *pb = printbuf_new();
    for (size_t i = 0; i < json_object_array_length(a); i++) {
      struct json_object *item = json_object_array_get_idx(a, i);
      if (i) printbuf_memappend(pb, json_object_get_string(b), json_object_get_string_len(b));
      if (is_type(item, json_type_string)) printbuf_memappend(pb, json_object_get_string(item), json_object_get_string_len(item));
      else {
        const char *t = item ? json_object_to_json_string_ext(item, JSON_C_TO_STRING_PLAIN) : "null";
        printbuf_memappend(pb, t, (int)strlen(t));
      }
    }
    *result = json_object_new_string_len(pb->buf, printbuf_length(pb));
    printbuf_free(pb);
    return 0;
  }
  case BUILTIN_STRING:
    *result = to_string(a);
    return 0;
  case BUILTIN_INT: case BUILTIN_FLOAT: {
    double d;
    if (is_num(a)) d = json_object_get_double(a);
    else if (is_type(a, json_type_string)) {
      char *end;
      d = strtod(json_object_get_string(a), &end);
      if (end == json_object_get_string(a) || *end || !isfinite(d)) {   /* no NaN or infinity */
        snprintf(err, n, "%s: \"%.60s\" is not a number", id == BUILTIN_INT ? "int" : "float", json_object_get_string(a));
        return -1;
      }
    } else return err_type(err, n, id == BUILTIN_INT ? "int" : "float", "a number or a numeric string", a);
    if (id == BUILTIN_FLOAT) *result = json_object_new_double(d);
    else if (is_type(a, json_type_int)) *result = json_object_get(a);
    else if (!(d > -9.2e18 && d < 9.2e18)) { snprintf(err, n, "int: %g does not fit in 64 bits", d); return -1; }
    else *result = json_object_new_int64((int64_t)d);
    return 0;
  }
  case BUILTIN_SECONDS:
    if (!is_num(a)) return err_type(err, n, "seconds", "a duration", a);
    *result = json_object_new_double(json_object_get_double(a) / 1000.0);
    return 0;
  case BUILTIN_MILLIS:
    if (!is_num(a)) return err_type(err, n, "millis", "a duration", a);
    *result = json_object_new_int64(json_object_get_int64(a));
    return 0;
  case BUILTIN_COALESCE:
    for (int i = 0; i < argc; i++)
      if (args[i] && args[i] != VM_MISSING) {
        *result = json_object_get(args[i]);
        return 0;
      }
    *result = NULL;
    return 0;
  case BUILTIN_ROUND:
    if (!is_num(a)) return err_type(err, n, "round", "a number", a);
    if (is_type(a, json_type_int)) { *result = json_object_get(a); return 0; }
    {
      double d = round(json_object_get_double(a));
      if (!(d > -9.2e18 && d < 9.2e18)) { snprintf(err, n, "round: %g does not fit in 64 bits", d); return -1; }
      *result = json_object_new_int64((int64_t)d);
    }
    return 0;
  case BUILTIN_ABS:
    if (is_type(a, json_type_int)) {
      int64_t x = json_object_get_int64(a);
      if (x == INT64_MIN) { snprintf(err, n, "abs: integer overflow"); return -1; }
      *result = json_object_new_int64(x < 0 ? -x : x);
    } else if (is_num(a)) *result = json_object_new_double(fabs(json_object_get_double(a)));
    else return err_type(err, n, "abs", "a number", a);
    return 0;
  case BUILTIN_MIN: case BUILTIN_MAX: {
    struct json_object *best = a;
    for (int i = 1; i < argc; i++) {
      int c = vm_compare(args[i], best);
      if (c == 2) { snprintf(err, n, "%s: cannot order %s and %s", id == BUILTIN_MIN ? "min" : "max", vm_type_name(best), vm_type_name(args[i])); return -1; }
      if (id == BUILTIN_MIN ? c < 0 : c > 0) best = args[i];
    }
    *result = best ? json_object_get(best) : NULL;
    return 0;
  }
  case BUILTIN__COUNT: break;
  }
  snprintf(err, n, "unknown built-in %d", id);
  return -1;
}
