/* cmd_check.c — `efc check FILE...`: parse and check, report every error. */
#include <string.h>
#include "check.h"
#include "cli.h"
#include "compile.h"
#include "parse.h"

static const char help[] =
  "usage: efc check FILE.flow...\n\n"
  "Parses and checks each file: names, field paths, types, stage arguments and\n"
  "emitted events.  Every error is reported as file:line:col with the source\n"
  "line, a caret and a hint.  Exit status: 0 when all files are clean, 1 when\n"
  "any has an error, 2 on bad usage.\n";

int cmd_check(int argc, char **argv) {
  if (cli_wants_help(argc, argv, help)) return 0;
  if (argc < 2) {
    fputs(help, stderr);
    return 2;
  }
  int failed = 0;
  for (int i = 1; i < argc; i++) {
    struct diag d;
    diag_init(&d);
    struct source *src = diag_load_file(&d, argv[i]);
    if (src) {
      struct program *p = parse_program(&d, src);
      if (d.errors == 0) check_program(p, &d);
      /* Some errors need the whole compiler (a route whose condition
       * EventBridge cannot evaluate): compile, write nothing. */
      struct compilation c;
      if (d.errors == 0) {
        compile_program(p, &d, NULL, &c);
        compilation_free(&c);
      }
      ast_program_free(p);
    }
    diag_print(&d, stderr, cli_color());
    failed |= d.errors > 0;
    diag_free(&d);
  }
  return failed ? 1 : 0;
}

static const char tokens_help[] =
  "usage: efc tokens FILE.flow\n\nPrints one token per line: line:col, kind, text.\n";

int cmd_tokens(int argc, char **argv) {
  if (cli_wants_help(argc, argv, tokens_help)) return 0;
  if (argc != 2) {
    fputs(tokens_help, stderr);
    return 2;
  }
  struct diag d;
  diag_init(&d);
  struct source *src = diag_load_file(&d, argv[1]);
  if (src) parse_dump_tokens(&d, src, stdout);
  diag_print(&d, stderr, cli_color());
  int rc = d.errors ? 1 : 0;
  diag_free(&d);
  return rc;
}
