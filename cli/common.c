/* common.c — helpers shared by the commands: help, colour, loading a program. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"
#include "image.h"

int cli_bytecode_version(void) { return IMAGE_VERSION; }

int cli_wants_help(int argc, char **argv, const char *help) {
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      fputs(help, stdout);
      return 1;
    }
  return 0;
}

int cli_color(void) {
  return isatty(2) && !getenv("NO_COLOR");
}
