/* ast.c — constructors for syntax tree nodes (all in the program's arena). */
#include "ast.h"
#include <stdlib.h>

const char *ast_op_text(enum expr_op op) {
  static const char *const text[] = {
#define X(k, s) s,
    BINARY_OPS(X)
#undef X
  };
  return text[op];
}

struct program *ast_program_new(void) {
  struct program *p = calloc(1, sizeof *p);
  if (!p) abort();
  return p;
}

void ast_program_free(struct program *program) {
  if (!program) return;
  arena_free(&program->arena);
  free(program);
}
