/* cli.h — shared by the command implementations. */
#ifndef EFC_CLI_H
#define EFC_CLI_H
#include <stdio.h>

struct command {
  const char *name;
  int (*fn)(int argc, char **argv);
  const char *summary;
};

#define COMMAND(name, fn, summary) int fn(int argc, char **argv);
#include "commands.h"
#undef COMMAND

int cli_bytecode_version(void);
/* True when argv has -h or --help (prints `help` to stdout then). */
int cli_wants_help(int argc, char **argv, const char *help);
/* Colour diagnostics when stderr is a terminal and NO_COLOR is unset. */
int cli_color(void);
#endif
