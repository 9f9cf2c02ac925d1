/* parse.h — from source text to a struct program (lexer + parser state).
 *
 * parse_source() appends the declarations of one source to the program;
 * syntax errors go to the diag (the parser recovers at the next
 * declaration, so one run reports several).  Imports are resolved by
 * parse_program(), which also parses the imported stdlib modules once each.
 */
#ifndef EFC_PARSE_H
#define EFC_PARSE_H
#include "ast.h"
#include "diag.h"

struct parse_state {
  struct program *program;
  struct diag *diag;
  const struct source *src;
  const char *module;            /* NULL for the user's file */
  int line, col;                 /* lexer position of the next character */
  int keep_comments;
  struct decl **tail;            /* where the next declaration goes */
  struct comment **comment_tail;
  int route_count;
  /* The event being parsed: its attributes come before its decl exists. */
  struct { const char *source, *detail_type, *extends; struct loc extends_loc; } pending;
  /* For syntax error messages: the last tokens read (recent[0] is the
   * parser's lookahead, recent[1] the token before it, ...) and the brackets
   * still open (the first 64 are remembered; nopen counts them all). */
  struct { int tok; struct loc loc; char text[48]; } recent[3];
  struct { char ch; struct loc loc; } open[64];
  int nopen;
};

/* Parse the main file (already loaded as src) and its imports. */
struct program *parse_program(struct diag *d, const struct source *src);

/* Parse one source into the program. Returns the number of syntax errors. */
int parse_source(struct program *program, struct diag *d, const struct source *src, const char *module);

/* Dump the token stream (efc tokens). */
/* The grammar's name for a token number. */
const char *yytokname(int token);

void parse_dump_tokens(struct diag *d, const struct source *src, FILE *out);
#endif
