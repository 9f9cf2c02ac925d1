/* parse.c — drives the lexer and parser over the main file and its imports.
 *
 * `import std.NAME` loads the stdlib module NAME (embedded in the binary,
 * see stdlib_files.h) once, whatever the number of imports.  Declarations
 * of imported modules are appended after the user's, marked with their
 * module, so the checker can tell where a name came from.
 */
#include "parse.h"
#include <string.h>
#include "parser.h"
#include "lexer.h"
#include "stdlib_files.h"

int yyparse(void *scanner, struct parse_state *st);

int parse_source(struct program *program, struct diag *d, const struct source *src, const char *module) {
  struct decl **tail = &program->decls;
  while (*tail) tail = &(*tail)->next;
  struct comment **ctail = &program->comments;
  while (*ctail) ctail = &(*ctail)->next;

  struct parse_state st = {
    .program = program, .diag = d, .src = src, .module = module,
    .line = 1, .col = 1, .keep_comments = module == NULL,
    .tail = tail, .comment_tail = ctail,
  };
  size_t before = d->errors;
  yyscan_t scanner;
  yylex_init_extra(&st, &scanner);
  YY_BUFFER_STATE buf = yy_scan_bytes(src->text, (int)src->length, scanner);
  yyparse(scanner, &st);
  yy_delete_buffer(buf, scanner);
  yylex_destroy(scanner);
  return (int)(d->errors - before);
}

static const struct stdlib_file *find_module(const char *name) {
  for (const struct stdlib_file *f = stdlib_files; f->name; f++)
    if (strcmp(f->name, name) == 0) return f;
  return NULL;
}

/* The application's name: the file's base name without extension, in the
 * characters EventBridge allows in rule names. */
static const char *parse_app_name(struct arena *a, const char *path) {
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  size_t n = strcspn(base, ".");
  if (n == 0) return "app";
  char *name = arena_strndup(a, base, n > 40 ? 40 : n);
  for (char *p = name; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
      *p = '-';
  return name;
}

struct program *parse_program(struct diag *d, const struct source *src) {
  struct program *program = ast_program_new();
  program->path = src->path;
  program->app = parse_app_name(&program->arena, src->path);
  program->default_source = arena_printf(&program->arena, "efc.%s", program->app);
  parse_source(program, d, src, NULL);

  /* Imports may import; each module is parsed once, in the order first seen. */
  for (struct decl *decl = program->decls; decl; decl = decl->next) {
    if (decl->kind != D_IMPORT) continue;
    const char *name = decl->name;
    if (strncmp(name, "std.", 4) != 0) {
      diag_error(d, decl->name_loc, "unknown module `%s`", name);
      diag_hint(d, "modules come from the standard library: import std.envelope, std.filters, ...");
      continue;
    }
    const struct stdlib_file *mod = find_module(name + 4);
    if (!mod) {
      const char *names[64];
      size_t n = 0;
      for (const struct stdlib_file *f = stdlib_files; f->name && n < 64; f++) names[n++] = f->name;
      diag_error(d, decl->name_loc, "no module `%s` in the standard library", name);
      const char *close = diag_suggest(name + 4, names, n);
      if (close) diag_hint(d, "did you mean `std.%s`?", close);
      continue;
    }
    int seen = 0;
    for (struct decl *other = program->decls; other != decl; other = other->next)
      if (other->kind == D_IMPORT && strcmp(other->name, name) == 0) seen = 1;
    if (seen) continue;
    char path[128];
    snprintf(path, sizeof path, "<stdlib>/%s.flow", mod->name);
    const struct source *msrc = diag_add_source(d, path, mod->text, strlen(mod->text));
    parse_source(program, d, msrc, mod->name);
  }
  return program;
}

void parse_dump_tokens(struct diag *d, const struct source *src, FILE *out) {
  struct program *program = ast_program_new();
  struct decl *sink = NULL;
  struct comment *csink = NULL;
  struct parse_state st = {
    .program = program, .diag = d, .src = src, .line = 1, .col = 1,
    .tail = &sink, .comment_tail = &csink,
  };
  yyscan_t scanner;
  yylex_init_extra(&st, &scanner);
  YY_BUFFER_STATE buf = yy_scan_bytes(src->text, (int)src->length, scanner);
  YYSTYPE val;
  YYLTYPE loc;
  int tok;
  while ((tok = yylex(&val, &loc, scanner)) != 0) {
    fprintf(out, "%d:%d\t%s", loc.line, loc.col, yytokname(tok));
    if (tok == IDENT) fprintf(out, "\t%s", val.str);
    else if (tok == STRING) fprintf(out, "\t\"%s\"", val.string.s);
    else if (tok == INT || tok == FLOAT || tok == DURATION) fprintf(out, "\t%s", val.num.text);
    fputc('\n', out);
  }
  yy_delete_buffer(buf, scanner);
  yylex_destroy(scanner);
  ast_program_free(program);
}
