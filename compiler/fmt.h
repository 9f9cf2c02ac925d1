/* fmt.h — the canonical layout of .flow source.
 *
 * fmt_program() prints a parsed program (the user's declarations and every
 * comment) in the one canonical layout; printing its own output again gives
 * the same bytes.  fmt_expr() prints one expression with the fewest
 * parentheses that keep its meaning (used by `explain` and error messages).
 */
#ifndef EFC_FMT_H
#define EFC_FMT_H
#include <json-c/printbuf.h>
#include "ast.h"

void fmt_program(const struct program *program, struct printbuf *out);
void fmt_expr(const struct expr *e, struct printbuf *out);
/* One declaration alone, without comments (stored in the Event Store). */
void fmt_decl(const struct decl *d, struct printbuf *out);
#endif
