/* cmd_explain.c — `efc explain APP.flow`: the pushdown split, in words. */
#include "cli.h"
#include "compile.h"
#include "explain.h"

static const char help[] =
  "usage: efc explain APP.flow\n\n"
  "For each flow and route, and each event it listens to: the EventBridge rule,\n"
  "the conditions EventBridge checks (its event pattern, so non-matching events\n"
  "never reach a Lambda), and the conditions left to the efc runtime.\n";

int cmd_explain(int argc, char **argv) {
  if (cli_wants_help(argc, argv, help)) return 0;
  if (argc != 2) {
    fputs(help, stderr);
    return 2;
  }
  struct diag d;
  diag_init(&d);
  struct program *p = cli_load_program(&d, argv[1]);
  int rc = 1;
  if (p) {
    struct compilation c;
    if (compile_program(p, &d, NULL, &c) == 0) {
      explain_compilation(&c, stdout);
      rc = 0;
    }
    compilation_free(&c);
  }
  diag_print(&d, stderr, cli_color());
  diag_free(&d);
  ast_program_free(p);
  return rc;
}
