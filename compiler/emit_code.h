/* emit_code.h — from the checked tree to a bytecode image.
 *
 * One entry per flow (its stages in order, user-defined stages expanded in
 * place with their arguments substituted) and one per route (its residual
 * `where`, then its targets; a stage target becomes a generated flow entry
 * `routeN.K` that the route delivers to).  Expressions become blocks of
 * stack code; constants are pooled once each.
 */
#ifndef EFC_EMIT_CODE_H
#define EFC_EMIT_CODE_H
#include "ast.h"
#include "image.h"

struct entry_rules {            /* what the rule emitter tells the code emitter */
  const struct decl *decl;      /* flow or route */
  struct expr *residual;        /* the `where` left to the runtime, or NULL */
  const char **patterns;        /* EventPattern JSON texts of its rules */
  size_t npatterns;
};

/* Builds the image (free with image_free).  NULL only when the program is too
 * large for the format (reported to d). */
struct image *emit_code(struct program *program, struct diag *d, const struct entry_rules *entries, size_t n);

/* The entry name of route target k (1-based) of a route: "route1.2". */
const char *emit_route_target_name(struct program *program, const struct decl *route, int k);
#endif
