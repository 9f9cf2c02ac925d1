/* cmd_fmt.c — `efc fmt [--check|--stdout] FILE...`: the canonical layout. */
#include <string.h>
#include "cli.h"
#include "fmt.h"
#include "parse.h"

static const char help[] =
  "usage: efc fmt [--check | --stdout] FILE.flow...\n\n"
  "Rewrites each file in the canonical layout (comments are kept).  Running it\n"
  "twice changes nothing.  A file with syntax errors is reported and left as it is.\n\n"
  "options:\n"
  "  --check    change nothing; list the files that are not formatted, exit 1 if any\n"
  "  --stdout   print the formatted text instead of rewriting the file\n";

/* Formats one source; returns the text (caller frees the printbuf) or NULL on syntax errors. */
static struct printbuf *format_source(struct diag *d, const struct source *src) {
  struct program *p = ast_program_new();
  p->path = src->path;
  if (parse_source(p, d, src, NULL) != 0) {
    ast_program_free(p);
    return NULL;
  }
  struct printbuf *pb = printbuf_new();
  fmt_program(p, pb);
  ast_program_free(p);
  /* The layout must not change the meaning: the output has to parse again. */
  struct diag again;
  diag_init(&again);
  const struct source *out = diag_add_source(&again, src->path, pb->buf, (size_t)printbuf_length(pb));
  struct program *q = ast_program_new();
  int broken = parse_source(q, &again, out, NULL);
  ast_program_free(q);
  diag_free(&again);
  if (broken) {
    fprintf(stderr, "efc fmt: internal error: the formatted %s does not parse; file left unchanged\n", src->path);
    printbuf_free(pb);
    return NULL;
  }
  return pb;
}

int cmd_fmt(int argc, char **argv) {
  if (cli_wants_help(argc, argv, help)) return 0;
  int check = 0, to_stdout = 0, files = 0, rc = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--check") == 0) check = 1;
    else if (strcmp(argv[i], "--stdout") == 0) to_stdout = 1;
    else if (argv[i][0] == '-' && argv[i][1]) {
      fprintf(stderr, "efc fmt: unknown option '%s'\n\n%s", argv[i], help);
      return 2;
    } else files++;
  }
  if (!files || (check && to_stdout)) {
    fputs(help, stderr);
    return 2;
  }
  for (int i = 1; i < argc; i++) {
    if (argv[i][0] == '-' && argv[i][1]) continue;
    struct diag d;
    diag_init(&d);
    struct source *src = diag_load_file(&d, argv[i]);
    struct printbuf *pb = src ? format_source(&d, src) : NULL;
    if (!pb) {
      rc = 1;
    } else if (to_stdout || strcmp(argv[i], "-") == 0) {
      fwrite(pb->buf, 1, (size_t)printbuf_length(pb), stdout);
    } else if ((size_t)printbuf_length(pb) != src->length || memcmp(pb->buf, src->text, src->length) != 0) {
      if (check) {
        printf("%s\n", argv[i]);
        rc = 1;
      } else if (cli_write_file(argv[i], pb->buf, (size_t)printbuf_length(pb)) != 0) {
        rc = 1;
      }
    }
    if (pb) printbuf_free(pb);
    diag_print(&d, stderr, cli_color());
    diag_free(&d);
  }
  return rc;
}
