/* pushdown.h — splits a `where` into an EventBridge pattern and a residual.
 *
 * The predicate is cut at its top-level `and`s.  Each conjunct that an
 * event pattern can express exactly (same answer as the runtime for every
 * event that passes the schema, including absent fields) goes into the
 * pattern; the rest stays as the residual, evaluated by the bytecode.  A
 * conjunct is only kept in the pattern if the whole pattern still passes
 * the EventBridge validator (runtime/pattern.h), so every pattern written
 * is one EventBridge accepts.
 */
#ifndef EFC_PUSHDOWN_H
#define EFC_PUSHDOWN_H
#include <json-c/json.h>
#include "ast.h"

struct pushdown {
  struct json_object *pattern;  /* the whole event pattern (source, detail-type, detail...); caller puts it */
  struct expr **pushed;         /* conjuncts now in the pattern (arena) */
  size_t npushed;
  struct expr **kept;           /* conjuncts left to the runtime (arena) */
  const char **why;             /* why each kept conjunct could not be pushed (arena) */
  size_t nkept;
};

/* Splits `where` (may be NULL) for events of `event`. */
void pushdown_split(struct program *program, const struct decl *event, struct expr *where, struct pushdown *out);

/* The residual as one expression (an `and` of the kept conjuncts), or NULL. */
struct expr *pushdown_residual(struct program *program, const struct pushdown *p);
#endif
