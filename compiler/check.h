/* check.h — name resolution and type checking.
 *
 * check_program() resolves every name (types, events, stages, flows,
 * fields, parameters, functions) and checks every expression, stage
 * argument and emit against the declarations.  It annotates the tree
 * (decl->type, expr->type, expr->ref, stage_call->target/bound, ...) for
 * the emitters and reports every error it finds, each with a position and,
 * where one helps, a hint.  Returns the number of errors.
 */
#ifndef EFC_CHECK_H
#define EFC_CHECK_H
#include "ast.h"
#include "diag.h"
#include "types.h"

int check_program(struct program *program, struct diag *d);

/* The envelope fields every row can name (time, source, ...), or NULL. */
const struct type *check_envelope_field(const char *name);
/* The EventBridge envelope key of an envelope field (detail_type -> detail-type). */
const char *check_envelope_key(const char *name);

/* The declaration `name` of `kind`, or NULL. */
const struct decl *check_find(const struct program *program, enum decl_kind kind, const char *name);

/* The EventBridge source and detail-type of an event (defaults applied). */
const char *check_event_source(const struct program *program, const struct decl *event);
const char *check_event_detail_type(const struct decl *event);
#endif
