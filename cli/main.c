/* main.c — the efc command line: dispatches to one function per command.
 * The commands are declared once, in commands.h. */
#include <stdio.h>
#include <string.h>
#include "cli.h"

static const struct command commands[] = {
#define COMMAND(name, fn, summary) { name, fn, summary },
#include "commands.h"
#undef COMMAND
};
#define NCOMMANDS (sizeof commands / sizeof *commands)

static void usage(FILE *out) {
  fprintf(out, "usage: efc COMMAND [ARGS...]\n\n"
               "efc compiles .flow dataflow programs to EventBridge rules, Event Store items\n"
               "and bytecode.\n\ncommands:\n");
  for (size_t i = 0; i < NCOMMANDS; i++) fprintf(out, "  %-20s %s\n", commands[i].name, commands[i].summary);
  fprintf(out, "\n`efc COMMAND --help` describes a command; docs/ has the language and formats.\n");
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  const char *cmd = argv[1];
  if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
    if (strcmp(cmd, "help") == 0 && argc > 2) {
      char *args[] = { argv[2], "--help", NULL };
      for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i].name, argv[2]) == 0) return commands[i].fn(2, args);
    }
    usage(stdout);
    return 0;
  }
  if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
    printf("efc %s (bytecode version %d)\n", EFC_VERSION, cli_bytecode_version());
    return 0;
  }
  for (size_t i = 0; i < NCOMMANDS; i++)
    if (strcmp(commands[i].name, cmd) == 0) return commands[i].fn(argc - 1, argv + 1);
  fprintf(stderr, "efc: unknown command '%s'\n", cmd);
  usage(stderr);
  return 2;
}
