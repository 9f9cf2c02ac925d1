/* cmd_compile.c — `efc compile APP.flow -o DIR`: write the three artefacts. */
#include <errno.h>
#include <string.h>
#include "cli.h"
#include "compile.h"
#include "explain.h"

static const char help[] =
  "usage: efc compile APP.flow [-o DIR] [--table NAME] [--explain]\n\n"
  "Checks APP.flow and writes, byte-identically on every run:\n"
  "  DIR/rules.json        EventBridge rules (PutRule + PutTargets inputs)\n"
  "  DIR/event-store.json  Event Store items as BatchWriteItem request bodies\n"
  "  DIR/APP.efb           the bytecode image (see `efc disasm`)\n\n"
  "options:\n"
  "  -o, --out DIR     output folder (default: out), created if missing\n"
  "  --table NAME      DynamoDB table of the Event Store (default: " COMPILE_DEFAULT_TABLE ")\n"
  "  --explain         also print what each rule pushes to EventBridge\n";

static int write_json(const char *dir, const char *name, struct json_object *o) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                       JSON_C_TO_STRING_NOSLASHESCAPE);
  size_t n = strlen(text);
  char *buf = malloc(n + 2);
  if (!buf) return -1;
  memcpy(buf, text, n);
  buf[n] = '\n';
  int rc = cli_write_file(path, buf, n + 1);
  free(buf);
  return rc;
}

int cmd_compile(int argc, char **argv) {
  if (cli_wants_help(argc, argv, help)) return 0;
  const char *file = NULL, *dir = "out", *table = NULL;
  int explain = 0;
  for (int i = 1; i < argc; i++) {
    if ((strcmp(argv[i], "-o") == 0 || strcmp(argv[i], "--out") == 0) && i + 1 < argc) dir = argv[++i];
    else if (strcmp(argv[i], "--table") == 0 && i + 1 < argc) table = argv[++i];
    else if (strcmp(argv[i], "--explain") == 0) explain = 1;
    else if (argv[i][0] == '-' && argv[i][1]) {
      fprintf(stderr, "efc compile: unknown option '%s'\n\n%s", argv[i], help);
      return 2;
    } else if (file) {
      fprintf(stderr, "efc compile: one file at a time (got '%s' and '%s')\n", file, argv[i]);
      return 2;
    } else file = argv[i];
  }
  if (!file) {
    fputs(help, stderr);
    return 2;
  }
  if (table && (strlen(table) < 3 || strlen(table) > 255 || strspn(table, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") != strlen(table))) {
    fprintf(stderr, "efc compile: '%s' is not a DynamoDB table name (3-255 of a-z A-Z 0-9 _ - .)\n", table);
    return 2;
  }
  struct diag d;
  diag_init(&d);
  struct program *p = cli_load_program(&d, file);
  int rc = 1;
  struct compilation c;
  if (p && compile_program(p, &d, &(struct compile_options){ .table = table }, &c) == 0) {
    if (cli_mkdirs(dir) != 0) {
      fprintf(stderr, "efc compile: cannot create %s: %s\n", dir, strerror(errno));
    } else {
      char efb[4096];
      snprintf(efb, sizeof efb, "%s/%s.efb", dir, p->app);
      if (write_json(dir, "rules.json", c.rules_json) == 0 && write_json(dir, "event-store.json", c.store_json) == 0 &&
          cli_write_file(efb, c.image_bytes, c.image_size) == 0)
        rc = 0;
      if (explain) explain_compilation(&c, stdout);
    }
    compilation_free(&c);
  } else if (p) {
    compilation_free(&c);
  }
  diag_print(&d, stderr, cli_color());
  diag_free(&d);
  ast_program_free(p);
  return rc;
}
