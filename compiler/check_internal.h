/* check_internal.h — shared by the checker's files (declarations, expressions). */
#ifndef EFC_CHECK_INTERNAL_H
#define EFC_CHECK_INTERNAL_H
#include "check.h"

struct checker {
  struct program *program;
  struct diag *diag;
  struct arena *arena;
};

/* What expressions can see: the row, the parameters of the stage being
 * instantiated (with the arguments bound to them), and the envelope. */
struct scope {
  const struct type *row;
  const char *row_desc;            /* "event `Clicked`", "the row after `map`" */
  const struct param_decl *params;
  const struct type *const *param_types;
  /* Inside a user stage: the arguments of this call, one per parameter, and
   * the caller's scope.  An argument is evaluated where its parameter is
   * used, so it is checked there, against the row at that point. */
  const struct arg *bound;
  const struct scope *outer;
  int aggregates_ok;               /* inside a `keep:` argument */
};

const struct type *chk_expr(struct checker *c, const struct scope *s, struct expr *e);
/* Checks e and requires a bool. */
void chk_predicate(struct checker *c, const struct scope *s, struct expr *e, const char *what);
/* Checks a `{ name: aggregate(...) }` argument; returns the record of its results. */
const struct type *chk_aggregates(struct checker *c, const struct scope *s, struct expr *e);
/* Resolves a type written in source (`input` and spreads only where allowed). */
const struct type *chk_type_expr(struct checker *c, const struct type_expr *t);
#endif
