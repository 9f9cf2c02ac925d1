/* load.c — parse and check one .flow file for a command. */
#include "check.h"
#include "cli.h"
#include "parse.h"

struct program *cli_load_program(struct diag *d, const char *path) {
  struct source *src = diag_load_file(d, path);
  if (!src) return NULL;
  struct program *p = parse_program(d, src);
  if (d->errors == 0) check_program(p, d);
  if (d->errors == 0) return p;
  ast_program_free(p);
  return NULL;
}
