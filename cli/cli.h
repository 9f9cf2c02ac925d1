/* cli.h — shared by the command implementations. */
#ifndef EFC_CLI_H
#define EFC_CLI_H
#include <stddef.h>
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
struct diag;
struct program;
/* Loads, parses and checks a file; NULL (errors in d) if anything failed. */
struct program *cli_load_program(struct diag *d, const char *path);
/* Writes `size` bytes to path through a temporary file and rename(2). 0 or -1 (message printed). */
int cli_write_file(const char *path, const void *data, size_t size);
/* mkdir -p. 0 or -1 (errno set). */
int cli_mkdirs(const char *dir);
/* 0 when `path` is NULL or an existing folder; else -1 with
 * "WHO: OPTION PATH: not a folder" on stderr. */
int cli_check_folder(const char *who, const char *option, const char *path);

/* The Event Store of `efc store` and `efc serve` (cmd_store.c). */
#define CLI_DEFAULT_STORE "efc-store.db"
struct evstore;
/* Loads an efc compile output folder (or its event-store.json) into the
 * store in one transaction; reports on stderr as `who`.  0, 1 (the items
 * are refused: errors printed) or 3 (the store failed). */
int cli_store_load(struct evstore *store, const char *path, const char *who);
#endif
