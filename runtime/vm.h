/* vm.h — evaluates code blocks of a verified image over JSON values.
 *
 * Values are json-c objects; JSON null is NULL and an absent field is
 * VM_MISSING (never reference counted).  Logic is three-valued (see
 * opcodes.h).  Times are RFC 3339 strings, durations are integers of
 * milliseconds.  The VM never crashes on a verified image: a runtime error
 * (type mismatch, division by zero, overflow) stops the block and is
 * reported with the offset, and the caller decides what to do with the
 * event (dead-letter it and go on).
 */
#ifndef EFC_VM_H
#define EFC_VM_H
#include <json-c/json.h>
#include <stdint.h>
#include "image.h"

extern const char vm_missing_sentinel;
#define VM_MISSING ((struct json_object *)(void *)&vm_missing_sentinel)

struct vm_frame {
  struct json_object *row;        /* the current row (borrowed) */
  struct json_object *envelope;   /* the triggering event (borrowed): time, source, detail-type, ... */
  char error[256];                /* set when vm_eval returns -1 */
};

/* Runs block `index`; on success stores a new reference (or NULL for JSON
 * null, or VM_MISSING) in *result and returns 0.  On a runtime error
 * returns -1 with frame->error set. */
int vm_eval(const struct image *image, uint16_t index, struct vm_frame *frame, struct json_object **result);

/* A WHERE block's verdict: 1 if it returned exactly true, 0 otherwise, -1 on error. */
int vm_test(const struct image *image, uint16_t index, struct vm_frame *frame);

/* Releases a value returned by vm_eval (safe on NULL and VM_MISSING). */
void vm_release(struct json_object *value);

/* ---- value helpers shared by the VM, builtins and native stages -------- */

/* Milliseconds since the epoch of an RFC 3339 time; 0 on success, -1 if not a time. */
int vm_parse_time(const char *text, int64_t *ms);
/* Formats ms since epoch as RFC 3339 UTC ("2026-11-23T04:29:16Z", ".123" when ms != 0). */
void vm_format_time(int64_t ms, char *buf, size_t size);
/* JSON equality with numbers compared by value (1 == 1.0). */
int vm_equal(struct json_object *a, struct json_object *b);
/* Ordering of two numbers, two strings (times by instant) or two durations:
 * -1, 0, 1; or 2 when they cannot be ordered. */
int vm_compare(struct json_object *a, struct json_object *b);
#endif
