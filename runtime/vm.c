/* vm.c — the interpreter loop.
 *
 * Stack slots remember whether they own their value: fields read from the
 * row are borrowed (no reference counting on the hot path), values the VM
 * builds are owned and released when popped.  The verifier has already
 * proven every operand, jump and stack depth, so the loop checks only what
 * depends on data.
 */
#include <math.h>
#include <string.h>
#include "vm_internal.h"

struct slot {
  struct json_object *v;
  int owned;   /* 0 borrowed, 1 owned, 2 owned and built by OBJECT (no one else sees it) */
};

static inline uint16_t u16at(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t u32at(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

void vm_release(struct json_object *v) {
  if (v && v != VM_MISSING) json_object_put(v);
}

static void drop(struct slot s) {
  if (s.owned) vm_release(s.v);
}

/* An owned reference to the slot's value, for storing it somewhere. */
static struct json_object *take(struct slot s) {
  if (s.owned || !s.v || s.v == VM_MISSING) return s.v;
  return json_object_get(s.v);
}

const char *vm_type_name(struct json_object *v) {
  if (v == VM_MISSING) return "absent";
  if (!v) return "null";
  switch (json_object_get_type(v)) {
  case json_type_boolean: return "bool";
  case json_type_int: return "int";
  case json_type_double: return "float";
  case json_type_string: return "string";
  case json_type_array: return "list";
  case json_type_object: return "object";
  default: return "null";
  }
}

static struct json_object *constant(const struct image *img, uint16_t k) {
  const struct constant *c = &img->consts[k];
  switch (c->tag) {
  case CONST_STRING: return json_object_new_string_len(c->as.string.bytes, (int)c->as.string.length);
  case CONST_INT: case CONST_DURATION: return json_object_new_int64(c->as.i);
  case CONST_FLOAT: return json_object_new_double(c->as.f);
  }
  return NULL;
}

static int is_num(struct json_object *v) {
  return v && v != VM_MISSING && (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double));
}

static int is_str(struct json_object *v) { return v && v != VM_MISSING && json_object_is_type(v, json_type_string); }

/* Three-valued truth: 1 true, 0 false, -1 unknown (absent, null, not a bool). */
static int truth(struct json_object *v) {
  if (!v || v == VM_MISSING || !json_object_is_type(v, json_type_boolean)) return -1;
  return json_object_get_boolean(v);
}

static struct json_object *boolean(int b) { return json_object_new_boolean(b); }

static int fail(struct vm_frame *f, uint32_t at, const char *fmt, const char *a, const char *b) {
  char msg[200];
  snprintf(msg, sizeof msg, fmt, a, b);
  snprintf(f->error, sizeof f->error, "%s (at offset %u)", msg, at);
  return -1;
}

static int arith(struct vm_frame *f, uint32_t at, enum opcode op, struct json_object *a, struct json_object *b,
                 struct json_object **out) {
  if (a == VM_MISSING || b == VM_MISSING || !a || !b) {
    *out = VM_MISSING;
    return 0;
  }
  if (is_num(a) && is_num(b)) {
    int ints = json_object_is_type(a, json_type_int) && json_object_is_type(b, json_type_int);
    if (ints && op != OP_DIV) {
      int64_t x = json_object_get_int64(a), y = json_object_get_int64(b), r = 0;
      int overflow = 0;
      switch (op) {
      case OP_ADD: overflow = __builtin_add_overflow(x, y, &r); break;
      case OP_SUB: overflow = __builtin_sub_overflow(x, y, &r); break;
      case OP_MUL: overflow = __builtin_mul_overflow(x, y, &r); break;
      case OP_MOD:
        if (y == 0) return fail(f, at, "division by zero", "", "");
        r = (y == -1) ? 0 : x % y;
        break;
      default: break;
      }
      if (overflow) return fail(f, at, "integer overflow", "", "");
      *out = json_object_new_int64(r);
      return 0;
    }
    double x = json_object_get_double(a), y = json_object_get_double(b), r = 0;
    switch (op) {
    case OP_ADD: r = x + y; break;
    case OP_SUB: r = x - y; break;
    case OP_MUL: r = x * y; break;
    case OP_DIV: if (y == 0) return fail(f, at, "division by zero", "", ""); r = x / y; break;
    case OP_MOD: if (y == 0) return fail(f, at, "division by zero", "", ""); r = fmod(x, y); break;
    default: break;
    }
    if (!isfinite(r)) return fail(f, at, "the result is not a finite number", "", "");
    *out = json_object_new_double(r);
    return 0;
  }
  int64_t ta, tb;
  if (is_str(a) && is_str(b)) {
    if (op == OP_ADD) {
      size_t la = (size_t)json_object_get_string_len(a), lb = (size_t)json_object_get_string_len(b);
      char *s = malloc(la + lb + 1);
      if (!s) return fail(f, at, "out of memory", "", "");
      memcpy(s, json_object_get_string(a), la);
      memcpy(s + la, json_object_get_string(b), lb);
      *out = json_object_new_string_len(s, (int)(la + lb));
      free(s);
      return 0;
    }
    if (op == OP_SUB && vm_parse_time(json_object_get_string(a), &ta) == 0 &&
        vm_parse_time(json_object_get_string(b), &tb) == 0) {
      *out = json_object_new_int64(ta - tb);   /* a duration, in ms */
      return 0;
    }
  }
  if ((op == OP_ADD || op == OP_SUB) && is_str(a) && json_object_is_type(b, json_type_int) &&
      vm_parse_time(json_object_get_string(a), &ta) == 0) {
    char buf[40];
    int64_t t, d = json_object_get_int64(b);
    /* keep to what vm_parse_time reads back: years 0000..9999 */
    if ((op == OP_ADD ? __builtin_add_overflow(ta, d, &t) : __builtin_sub_overflow(ta, d, &t)) ||
        t < -62167219200000LL || t > 253402300799999LL)
      return fail(f, at, "the time is out of range", "", "");
    vm_format_time(t, buf, sizeof buf);
    *out = json_object_new_string(buf);
    return 0;
  }
  if (op == OP_ADD && json_object_is_type(a, json_type_array) && json_object_is_type(b, json_type_array)) {
    struct json_object *r = json_object_new_array();
    if (!r) return fail(f, at, "out of memory", "", "");
    for (size_t i = 0; i < json_object_array_length(a); i++) json_object_array_add(r, json_object_get(json_object_array_get_idx(a, i)));
    for (size_t i = 0; i < json_object_array_length(b); i++) json_object_array_add(r, json_object_get(json_object_array_get_idx(b, i)));
    *out = r;
    return 0;
  }
  static const char *names[] = { [OP_ADD] = "add", [OP_SUB] = "subtract", [OP_MUL] = "multiply",
                                 [OP_DIV] = "divide", [OP_MOD] = "take the remainder of" };
  char what[64];
  snprintf(what, sizeof what, "%s", names[op]);
  return fail(f, at, "cannot %s these values (%s)", what, vm_type_name(a));
}

/* EventBridge wildcard: `*` matches any run, `\*` a star, `\\` a backslash. */
static int wildcard(const char *s, const char *p) {
  const char *star = NULL, *resume = NULL;
  while (*s) {
    if (*p == '*') { star = ++p; resume = s; continue; }
    char want = *p;
    int literal = 0;
    if (want == '\\' && (p[1] == '*' || p[1] == '\\')) { want = p[1]; literal = 1; }
    if (want && *s == want) { s++; p += literal ? 2 : 1; continue; }
    if (!star) return 0;
    p = star;
    s = ++resume;
  }
  while (*p == '*') p++;
  return *p == 0;
}

static int ieq(const char *a, const char *b) {
  for (; *a && *b; a++, b++) {
    char x = *a, y = *b;
    if (x >= 'A' && x <= 'Z') x = (char)(x + 32);
    if (y >= 'A' && y <= 'Z') y = (char)(y + 32);
    if (x != y) return 0;
  }
  return *a == *b;
}

int vm_cidr_contains(const char *cidr, const char *ip);

/* Makes the object in slot s safe to change: an object the block built
 * itself is changed in place; any other (the row, a part of it, a value
 * shared with it) is first copied.  -1 if s is not an object, -2 when out
 * of memory. */
static int writable(struct slot *s) {
  if (!s->v || s->v == VM_MISSING || !json_object_is_type(s->v, json_type_object)) return -1;
  if (s->owned == 2) return 0;
  struct json_object *copy = json_object_new_object();
  if (!copy) return -2;
  json_object_object_foreach(s->v, key, val) json_object_object_add(copy, key, json_object_get(val));
  drop(*s);
  s->v = copy;
  s->owned = 2;
  return 0;
}

static int string_test(enum opcode op, struct json_object *a, struct json_object *b) {
  const char *s = json_object_get_string(a), *p = json_object_get_string(b);
  size_t ls = (size_t)json_object_get_string_len(a), lp = (size_t)json_object_get_string_len(b);
  switch (op) {
  case OP_PREFIX: return ls >= lp && memcmp(s, p, lp) == 0;
  case OP_SUFFIX: return ls >= lp && memcmp(s + ls - lp, p, lp) == 0;
  case OP_WILDCARD: return wildcard(s, p);
  case OP_IEQ: return ieq(s, p);
  case OP_CIDR: return vm_cidr_contains(p, s);
  default: return 0;
  }
}

int vm_eval(const struct image *img, uint16_t index, struct vm_frame *f, struct json_object **result) {
  const struct block *blk = &img->blocks[index];
  const uint8_t *code = blk->code;
  struct slot stack[IMAGE_MAX_STACK];
  int sp = 0;
  uint32_t pc = 0;
  int rc = 0;
#define PUSH(val, own) (stack[sp].v = (val), stack[sp].owned = (own), sp++)
#define POP() (stack[--sp])
  for (;;) {
    uint32_t at = pc;
    enum opcode op = (enum opcode)code[pc++];
    switch (op) {
    case OP_NOP: break;
    case OP_CONST: PUSH(constant(img, u16at(code + pc)), 1); pc += 2; break;
    case OP_NULL: PUSH(NULL, 0); break;
    case OP_TRUE: PUSH(boolean(1), 1); break;
    case OP_FALSE: PUSH(boolean(0), 1); break;
    case OP_ROW: PUSH(f->row ? f->row : VM_MISSING, 0); break;
    case OP_ENV: {
      const struct constant *k = &img->consts[u16at(code + pc)];
      pc += 2;
      const char *name = strcmp(k->as.string.bytes, "detail_type") == 0 ? "detail-type" : k->as.string.bytes;
      struct json_object *v;
      PUSH(f->envelope && json_object_object_get_ex(f->envelope, name, &v) ? v : VM_MISSING, 0);
      break;
    }
    case OP_GET: {
      struct slot o = POP();
      const struct constant *k = &img->consts[u16at(code + pc)];
      pc += 2;
      struct json_object *v = VM_MISSING;
      if (o.v && o.v != VM_MISSING && json_object_is_type(o.v, json_type_object) &&
          json_object_object_get_ex(o.v, k->as.string.bytes, &v)) {
        if (o.owned) v = json_object_get(v);
        PUSH(v, o.owned ? 1 : 0);
      } else {
        PUSH(VM_MISSING, 0);
      }
      drop(o);
      break;
    }
    case OP_INDEX: {
      struct slot i = POP(), a = POP();
      struct json_object *v = VM_MISSING;
      if (a.v && a.v != VM_MISSING && json_object_is_type(a.v, json_type_array) && is_num(i.v)) {
        int64_t n = json_object_get_int64(i.v), len = (int64_t)json_object_array_length(a.v);
        if (n < 0) n += len;
        if (n >= 0 && n < len) v = json_object_array_get_idx(a.v, (size_t)n);
      }
      if (v != VM_MISSING && a.owned) v = json_object_get(v);
      PUSH(v, v != VM_MISSING && a.owned);
      drop(a);
      drop(i);
      break;
    }
    case OP_ADD: case OP_SUB: case OP_MUL: case OP_DIV: case OP_MOD: {
      struct slot b = POP(), a = POP();
      struct json_object *r;
      rc = arith(f, at, op, a.v, b.v, &r);
      drop(a);
      drop(b);
      if (rc) goto out;
      PUSH(r, 1);
      break;
    }
    case OP_NEG: {
      struct slot a = POP();
      struct json_object *r = VM_MISSING;
      if (a.v && a.v != VM_MISSING) {
        if (json_object_is_type(a.v, json_type_int)) {
          int64_t x = json_object_get_int64(a.v);
          if (x == INT64_MIN) { drop(a); rc = fail(f, at, "integer overflow", "", ""); goto out; }
          r = json_object_new_int64(-x);
        } else if (json_object_is_type(a.v, json_type_double)) {
          r = json_object_new_double(-json_object_get_double(a.v));
        } else {
          rc = fail(f, at, "cannot negate a %s%s", vm_type_name(a.v), "");
          drop(a);
          goto out;
        }
      }
      drop(a);
      PUSH(r, 1);
      break;
    }
    case OP_EQ: case OP_NE: {
      struct slot b = POP(), a = POP();
      struct json_object *r = VM_MISSING;
      if (a.v != VM_MISSING && b.v != VM_MISSING) r = boolean(vm_equal(a.v, b.v) == (op == OP_EQ));
      drop(a);
      drop(b);
      PUSH(r, 1);
      break;
    }
    case OP_LT: case OP_LE: case OP_GT: case OP_GE: {
      struct slot b = POP(), a = POP();
      int c = vm_compare(a.v, b.v);
      struct json_object *r = VM_MISSING;
      if (c != 2) r = boolean(op == OP_LT ? c < 0 : op == OP_LE ? c <= 0 : op == OP_GT ? c > 0 : c >= 0);
      drop(a);
      drop(b);
      PUSH(r, 1);
      break;
    }
    case OP_NOT: {
      struct slot a = POP();
      int t = truth(a.v);
      drop(a);
      PUSH(t < 0 ? VM_MISSING : boolean(!t), 1);
      break;
    }
    case OP_AND: case OP_OR: {
      struct slot b = POP(), a = POP();
      int x = truth(a.v), y = truth(b.v), r;
      if (op == OP_AND) r = (x == 0 || y == 0) ? 0 : (x < 0 || y < 0) ? -1 : 1;
      else r = (x == 1 || y == 1) ? 1 : (x < 0 || y < 0) ? -1 : 0;
      drop(a);
      drop(b);
      PUSH(r < 0 ? VM_MISSING : boolean(r), 1);
      break;
    }
    case OP_PREFIX: case OP_SUFFIX: case OP_WILDCARD: case OP_IEQ: case OP_CIDR: {
      struct slot b = POP(), a = POP();
      struct json_object *r = VM_MISSING;
      if (is_str(a.v) && is_str(b.v)) r = boolean(string_test(op, a.v, b.v));
      drop(a);
      drop(b);
      PUSH(r, 1);
      break;
    }
    case OP_IN: {
      struct slot b = POP(), a = POP();
      struct json_object *r = VM_MISSING;
      if (a.v != VM_MISSING && b.v && b.v != VM_MISSING && json_object_is_type(b.v, json_type_array)) {
        int found = 0;
        for (size_t i = 0; i < json_object_array_length(b.v) && !found; i++)
          found = vm_equal(a.v, json_object_array_get_idx(b.v, i));
        r = boolean(found);
      }
      drop(a);
      drop(b);
      PUSH(r, 1);
      break;
    }
    case OP_EXISTS: {
      struct slot a = POP();
      int present = a.v != VM_MISSING;
      drop(a);
      PUSH(boolean(present), 1);
      break;
    }
    /* The verifier only accepts forward jumps, so every block ends. */
    case OP_JUMP: pc = u32at(code + pc); break;
    case OP_JUMPF: {
      struct slot a = POP();
      int t = truth(a.v);
      drop(a);
      pc = t == 1 ? pc + 4 : u32at(code + pc);
      break;
    }
    case OP_ANDJ: pc = truth(stack[sp - 1].v) == 0 ? u32at(code + pc) : pc + 4; break;
    case OP_ORJ: pc = truth(stack[sp - 1].v) == 1 ? u32at(code + pc) : pc + 4; break;
    case OP_CALL: {
      int id = code[pc], argc = code[pc + 1];
      pc += 2;
      struct json_object *args[256], *r = NULL;
      for (int i = 0; i < argc; i++) args[i] = stack[sp - argc + i].v;
      char err[160] = "";
      rc = vm_builtin(id, args, argc, &r, err, sizeof err);
      for (int i = 0; i < argc; i++) drop(POP());
      if (rc) {
        fail(f, at, "%s%s", err, "");
        goto out;
      }
      PUSH(r, 1);
      break;
    }
    case OP_OBJECT: {
      struct json_object *o = json_object_new_object();
      if (!o) {
        rc = fail(f, at, "out of memory", "", "");
        goto out;
      }
      PUSH(o, 2);
      break;
    }
    case OP_SETF: {
      struct slot v = POP();
      const struct constant *k = &img->consts[u16at(code + pc)];
      pc += 2;
      int w = writable(&stack[sp - 1]);
      if (w < 0) {
        rc = w == -2 ? fail(f, at, "out of memory", "", "")
                     : fail(f, at, "cannot set field %s of a %s", k->as.string.bytes, vm_type_name(stack[sp - 1].v));
        drop(v);
        goto out;
      }
      if (v.v == VM_MISSING) break;
      json_object_object_add_ex(stack[sp - 1].v, k->as.string.bytes, take(v), 0);
      break;
    }
    case OP_MERGE: {
      struct slot src = POP();
      int w = writable(&stack[sp - 1]);
      if (w < 0) {
        rc = w == -2 ? fail(f, at, "out of memory", "", "") : fail(f, at, "cannot merge into a %s%s", vm_type_name(stack[sp - 1].v), "");
        drop(src);
        goto out;
      }
      if (src.v && src.v != VM_MISSING && json_object_is_type(src.v, json_type_object)) {
        json_object_object_foreach(src.v, key, val) json_object_object_add(stack[sp - 1].v, key, json_object_get(val));
      }
      drop(src);
      break;
    }
    case OP_ARRAY: {
      int n = u16at(code + pc);
      pc += 2;
      struct json_object *a = json_object_new_array_ext(n);
      if (!a) {
        rc = fail(f, at, "out of memory", "", "");
        goto out;
      }
      for (int i = 0; i < n; i++) {
        struct slot s = stack[sp - n + i];
        json_object_array_add(a, s.v == VM_MISSING ? NULL : take(s));
      }
      sp -= n;
      PUSH(a, 1);
      break;
    }
    case OP_POP: drop(POP()); break;
    case OP_RETURN: {
      struct slot r = POP();
      *result = take(r);
      return 0;
    }
    case OP__COUNT: default:
      rc = fail(f, at, "unknown opcode", "", "");
      goto out;
    }
  }
out:
  while (sp > 0) drop(POP());
  return -1;
#undef PUSH
#undef POP
}

int vm_test(const struct image *img, uint16_t index, struct vm_frame *f) {
  struct json_object *r;
  if (vm_eval(img, index, f, &r) != 0) return -1;
  int t = truth(r) == 1;
  vm_release(r);
  return t;
}
