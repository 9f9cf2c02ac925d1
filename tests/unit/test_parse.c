/* test_parse.c — the lexer and the parser.
 *
 * Token streams of tricky input (durations, floats, escapes, backticks,
 * keywords after `.`, comments), the tree built for each kind of
 * declaration, operator precedence (checked on an S-expression rendering
 * of the tree), and error recovery (several broken declarations give
 * several syntax errors; good declarations after them are still parsed).
 * Nothing here runs the checker.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <json-c/printbuf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ast.h"
#include "diag.h"
#include "parse.h"

/* ---- helpers ------------------------------------------------------------ */

/* A parsed program with its diagnostics; freed by done(). */
struct parsed {
  struct diag d;
  struct program *p;
};

static void parse_text(struct parsed *t, const char *text)
{
  diag_init(&t->d);
  const struct source *src = diag_add_source(&t->d, "t.flow", text, strlen(text));
  t->p = parse_program(&t->d, src);
  assert_non_null(t->p);
}

static void done(struct parsed *t)
{
  ast_program_free(t->p);
  diag_free(&t->d);
}

static void dump_diags(const struct diag *d)
{
  for (size_t i = 0; i < d->count; i++)
    print_message("# %d:%d: %s\n", d->items[i].loc.line, d->items[i].loc.col, d->items[i].message);
}

/* Parses text that must have no syntax error. */
static void parse_ok(struct parsed *t, const char *text)
{
  parse_text(t, text);
  if (t->d.errors) dump_diags(&t->d);
  assert_int_equal(t->d.errors, 0);
}

/* The n-th declaration (0-based) of the user's file. */
static const struct decl *nth_decl(const struct program *p, int n)
{
  const struct decl *d = p->decls;
  for (int i = 0; i < n && d; i++) d = d->next;
  assert_non_null(d);
  return d;
}

static int count_decls(const struct program *p, const char *module_or_null)
{
  int n = 0;
  for (const struct decl *d = p->decls; d; d = d->next)
    if ((module_or_null == NULL && d->module == NULL) ||
        (module_or_null && d->module && strcmp(d->module, module_or_null) == 0))
      n++;
  return n;
}

/* The token dump of text (parse_dump_tokens), malloc'd; errors counted in *errors. */
static char *tokens_of(const char *text, size_t *errors)
{
  struct diag d;
  diag_init(&d);
  const struct source *src = diag_add_source(&d, "t.flow", text, strlen(text));
  char *buf = NULL;
  size_t size = 0;
  FILE *out = open_memstream(&buf, &size);
  assert_non_null(out);
  parse_dump_tokens(&d, src, out);
  fclose(out);
  if (errors) *errors = d.errors;
  diag_free(&d);
  return buf;
}

/* ---- S-expressions of expressions -------------------------------------- */

static void sx(const struct expr *e, struct printbuf *out);

static void sx_args(const struct arg *a, struct printbuf *out)
{
  for (; a; a = a->next) {
    printbuf_memappend(out, " ", 1);
    if (a->spread) printbuf_memappend(out, "...", 3);
    else if (a->name) sprintbuf(out, "%s=", a->name);
    sx(a->value, out);
  }
}

static const char *op_name(const struct expr *e)
{
  static char buf[32];
  snprintf(buf, sizeof buf, "%s%s", e->negated ? "not-" : "", ast_op_text(e->op));
  for (char *c = buf; *c; c++)
    if (*c == ' ') *c = '-';
  return buf;
}

/* (op left right), (not x), (neg x), (. x name), ([] x i), (call f args), {k=v}, [a b], (if c a b). */
static void sx(const struct expr *e, struct printbuf *out)
{
  assert_non_null(e);
  switch (e->kind) {
  case E_NULL: sprintbuf(out, "null"); break;
  case E_BOOL: sprintbuf(out, e->i ? "true" : "false"); break;
  case E_INT: sprintbuf(out, "%lld", (long long)e->i); break;
  case E_FLOAT: sprintbuf(out, "%s", e->s); break;
  case E_DURATION: sprintbuf(out, "%lldms", (long long)e->i); break;
  case E_STRING: sprintbuf(out, "\"%s\"", e->s); break;
  case E_NAME: sprintbuf(out, "%s", e->s); break;
  case E_FIELD:
    sprintbuf(out, "(. ");
    sx(e->left, out);
    sprintbuf(out, " %s)", e->s);
    break;
  case E_INDEX:
    sprintbuf(out, "([] ");
    sx(e->left, out);
    sprintbuf(out, " ");
    sx(e->right, out);
    sprintbuf(out, ")");
    break;
  case E_UNARY:
    sprintbuf(out, "(%s ", e->op == EOP_NOT ? "not" : "neg");
    sx(e->left, out);
    sprintbuf(out, ")");
    break;
  case E_BINARY:
    sprintbuf(out, "(%s ", op_name(e));
    sx(e->left, out);
    sprintbuf(out, " ");
    sx(e->right, out);
    sprintbuf(out, ")");
    break;
  case E_CALL:
    sprintbuf(out, "(call %s", e->s);
    sx_args(e->args, out);
    sprintbuf(out, ")");
    break;
  case E_OBJECT:
    sprintbuf(out, "{");
    sx_args(e->args, out);
    sprintbuf(out, " }");
    break;
  case E_ARRAY:
    sprintbuf(out, "[");
    sx_args(e->args, out);
    sprintbuf(out, " ]");
    break;
  case E_IF:
    sprintbuf(out, "(if ");
    sx(e->cond, out);
    sprintbuf(out, " ");
    sx(e->left, out);
    sprintbuf(out, " ");
    sx(e->right, out);
    sprintbuf(out, ")");
    break;
  }
}

#define EXPR_PREFIX "flow f { on E where "

/* Parses `flow f { on E where <text> -> emit E }` and returns the where. */
static const struct expr *where_of(struct parsed *t, const char *text)
{
  char buf[2048];
  snprintf(buf, sizeof buf, EXPR_PREFIX "%s\n  -> emit E\n}\n", text);
  parse_ok(t, buf);
  const struct decl *f = nth_decl(t->p, 0);
  assert_int_equal(f->kind, D_FLOW);
  assert_non_null(f->where);
  return f->where;
}

/* Asserts the S-expression of the where of `text`. */
static void assert_shape(const char *text, const char *want)
{
  struct parsed t;
  const struct expr *e = where_of(&t, text);
  struct printbuf *pb = printbuf_new();
  sx(e, pb);
  if (strcmp(pb->buf, want) != 0)
    print_message("# %s\n#   got:  %s\n#   want: %s\n", text, pb->buf, want);
  assert_string_equal(pb->buf, want);
  printbuf_free(pb);
  done(&t);
}

/* ---- lexer -------------------------------------------------------------- */

static void lex_durations_and_numbers(void **state)
{
  (void)state;
  size_t errors;
  char *got = tokens_of("1h30m 500ms 1d 2m30s15ms 1.5e3 2E-3 7e2 0.25 10 0", &errors);
  assert_int_equal(errors, 0);
  assert_string_equal(got,
                      "1:1\tduration\t1h30m\n"
                      "1:7\tduration\t500ms\n"
                      "1:13\tduration\t1d\n"
                      "1:16\tduration\t2m30s15ms\n"
                      "1:26\tnumber\t1.5e3\n"
                      "1:32\tnumber\t2E-3\n"
                      "1:37\tnumber\t7e2\n"
                      "1:41\tnumber\t0.25\n"
                      "1:46\tinteger\t10\n"
                      "1:49\tinteger\t0\n");
  free(got);
}

static void lex_duration_values(void **state)
{
  (void)state;
  struct parsed t;
  const struct expr *e = where_of(&t, "[1h30m, 500ms, 1d, 2m30s15ms, 0s, 90m]");
  const int64_t want[] = { 5400000, 500, 86400000, 150015, 0, 5400000 };
  const char *text[] = { "1h30m", "500ms", "1d", "2m30s15ms", "0s", "90m" };
  int i = 0;
  for (const struct arg *a = e->args; a; a = a->next, i++) {
    assert_int_equal(a->value->kind, E_DURATION);
    assert_int_equal(a->value->i, want[i]);
    assert_string_equal(a->value->s, text[i]);
  }
  assert_int_equal(i, 6);
  done(&t);
}

static void lex_float_values(void **state)
{
  (void)state;
  struct parsed t;
  const struct expr *e = where_of(&t, "[1.5e3, 2E-3, 0.25, 7e2, 1.25]");
  const double want[] = { 1500.0, 0.002, 0.25, 700.0, 1.25 };
  const char *text[] = { "1.5e3", "2E-3", "0.25", "7e2", "1.25" };
  int i = 0;
  for (const struct arg *a = e->args; a; a = a->next, i++) {
    assert_int_equal(a->value->kind, E_FLOAT);
    assert_true(a->value->f == want[i]);
    assert_string_equal(a->value->s, text[i]);   /* the spelling is kept */
  }
  assert_int_equal(i, 5);
  done(&t);
}

static void lex_string_escapes(void **state)
{
  (void)state;
  struct parsed t;
  const struct expr *e = where_of(&t, "\"a\\tb\\n\\r\\\\\\\"\\u{1F600}\\u00e9\\u{41}\\0z\"");
  assert_int_equal(e->kind, E_STRING);
  static const char want[] = "a\tb\n\r\\\"\xF0\x9F\x98\x80\xC3\xA9" "A\0z";
  assert_int_equal(e->slen, sizeof want - 1);   /* the NUL is part of the value */
  assert_memory_equal(e->s, want, sizeof want - 1);
  done(&t);
}

static void lex_bad_strings(void **state)
{
  (void)state;
  static const char *const bad[] = {
    "\"a\\qb\"",          /* unknown escape */
    "\"\\u{110000}\"",    /* beyond U+10FFFF */
    "\"\\uD800\"",        /* a surrogate */
    "\"\\u12\"",          /* \u needs 4 digits */
    "\"\\u{1F600\"",      /* no closing brace */
    "\"open",             /* unterminated */
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    size_t errors;
    char *got = tokens_of(bad[i], &errors);
    if (errors != 1) print_message("# %s: %zu errors\n", bad[i], errors);
    assert_int_equal(errors, 1);
    assert_non_null(strstr(got, "invalid token"));
    free(got);
  }
}

static void lex_backtick_names(void **state)
{
  (void)state;
  size_t errors;
  char *got = tokens_of("`flow` `where` `my field` flow", &errors);
  assert_int_equal(errors, 0);
  assert_string_equal(got,
                      "1:1\tname\tflow\n"
                      "1:8\tname\twhere\n"
                      "1:16\tname\tmy field\n"
                      "1:27\tflow\n");
  free(got);
  /* In an expression, a backticked keyword is a plain field name. */
  assert_shape("`where` == 1 and `in`.`type`", "(and (== where 1) (. in type))");
}

static void lex_keywords_after_dot(void **state)
{
  (void)state;
  size_t errors;
  char *got = tokens_of("a.type.on.in", &errors);
  assert_int_equal(errors, 0);
  /* The lexer still says keyword; the parser accepts it as a name after `.`. */
  assert_string_equal(got,
                      "1:1\tname\ta\n"
                      "1:2\t'.'\n"
                      "1:3\ttype\n"
                      "1:7\t'.'\n"
                      "1:8\ton\n"
                      "1:10\t'.'\n"
                      "1:11\tin\n");
  free(got);
  assert_shape("a.type.on.in == x.where.emit.null",
               "(== (. (. (. a type) on) in) (. (. (. x where) emit) null))");
}

static void lex_comments_and_positions(void **state)
{
  (void)state;
  size_t errors;
  char *got = tokens_of("# leading\nflow # after flow\n  x\t# tab\n\n    -> ...", &errors);
  assert_int_equal(errors, 0);
  assert_string_equal(got,
                      "2:1\tflow\n"
                      "3:3\tname\tx\n"
                      "5:5\t->\n"
                      "5:8\t...\n");
  free(got);

  /* The parser keeps the main file's comments, in order, with positions. */
  struct parsed t;
  parse_ok(&t, "# first\nevent E { # trailing\n  x: int # x\n}\n# last\n");
  const struct comment *c = t.p->comments;
  const char *want[] = { "# first", "# trailing", "# x", "# last" };
  const int lines[] = { 1, 2, 3, 5 };
  int i = 0;
  for (; c; c = c->next, i++) {
    assert_true(i < 4);
    assert_string_equal(c->text, want[i]);
    assert_int_equal(c->loc.line, lines[i]);
  }
  assert_int_equal(i, 4);
  assert_int_equal(count_decls(t.p, NULL), 1);
  done(&t);
}

static void lex_operators(void **state)
{
  (void)state;
  size_t errors;
  char *got = tokens_of("-> ... == != <= >= < > ? | = + - * / % ( ) [ ] { } , : .", &errors);
  assert_int_equal(errors, 0);
  /* One token per operator, no split (`<=` is not `<` then `=`). */
  int lines = 0;
  for (char *p = got; *p; p++) lines += *p == '\n';
  assert_int_equal(lines, 25);
  assert_non_null(strstr(got, "1:1\t->\n1:4\t...\n1:8\t==\n1:11\t!=\n1:14\t<=\n1:17\t>=\n"));
  free(got);
}

static void lex_bad_tokens(void **state)
{
  (void)state;
  static const char *const bad[] = { "12abc", "!x", "a && b", "a || b", "99999999999999999999", "@" };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    size_t errors;
    char *got = tokens_of(bad[i], &errors);
    if (errors != 1) print_message("# %s: %zu errors\n", bad[i], errors);
    assert_int_equal(errors, 1);
    assert_non_null(strstr(got, "invalid token"));
    free(got);
  }
  /* A number just below the limit is fine. */
  size_t errors;
  char *got = tokens_of("9223372036854775807", &errors);
  assert_int_equal(errors, 0);
  assert_string_equal(got, "1:1\tinteger\t9223372036854775807\n");
  free(got);
}

/* ---- declarations ------------------------------------------------------- */

static void decl_import(void **state)
{
  (void)state;
  struct parsed t;
  parse_ok(&t, "import std.envelope\nimport std.filters\nimport std.envelope\n");
  const struct decl *d = nth_decl(t.p, 0);
  assert_int_equal(d->kind, D_IMPORT);
  assert_string_equal(d->name, "std.envelope");
  assert_null(d->module);
  assert_int_equal(d->name_loc.line, 1);
  assert_int_equal(d->name_loc.col, 8);
  assert_string_equal(nth_decl(t.p, 1)->name, "std.filters");
  assert_int_equal(count_decls(t.p, NULL), 3);
  /* Each module's declarations come after the user's, once per module. */
  int envelope_types = 0;
  for (const struct decl *m = nth_decl(t.p, 3); m; m = m->next) {
    assert_non_null(m->module);
    if (strcmp(m->module, "envelope") == 0 && m->kind == D_TYPE && strcmp(m->name, "Envelope") == 0) envelope_types++;
  }
  assert_int_equal(envelope_types, 1);
  assert_true(count_decls(t.p, "filters") >= 3);
  done(&t);

  /* An unknown module is an error of parse_program. */
  parse_text(&t, "import std.nope\nimport other.thing\n");
  assert_int_equal(t.d.errors, 2);
  done(&t);
}

static void decl_type(void **state)
{
  (void)state;
  struct parsed t;
  parse_ok(&t, "type Profile {\n"
               "  user: string\n"
               "  tags: [string]?\n"
               "  type: int,\n"
               "  where { lat: float, lon: float }?\n"
               "  grid: [[int]]\n"
               "}\n");
  const struct decl *d = nth_decl(t.p, 0);
  assert_int_equal(d->kind, D_TYPE);
  assert_string_equal(d->name, "Profile");
  assert_int_equal(d->loc.line, 1);
  assert_int_equal(d->loc.col, 1);
  assert_int_equal(d->name_loc.col, 6);
  const struct field_decl *f = d->fields;
  assert_string_equal(f->name, "user");
  assert_int_equal(f->type->kind, TX_NAME);
  assert_string_equal(f->type->name, "string");
  assert_false(f->optional);
  assert_int_equal(f->loc.line, 2);
  assert_int_equal(f->loc.col, 3);
  f = f->next;
  assert_string_equal(f->name, "tags");
  assert_int_equal(f->type->kind, TX_ARRAY);
  assert_string_equal(f->type->elem->name, "string");
  assert_true(f->optional);
  f = f->next;
  assert_string_equal(f->name, "type");   /* a keyword names a field */
  assert_string_equal(f->type->name, "int");
  f = f->next;
  assert_string_equal(f->name, "where");
  assert_int_equal(f->type->kind, TX_RECORD);
  assert_true(f->optional);
  assert_string_equal(f->type->fields->name, "lat");
  assert_string_equal(f->type->fields->next->name, "lon");
  assert_null(f->type->fields->next->next);
  f = f->next;
  assert_string_equal(f->name, "grid");
  assert_int_equal(f->type->kind, TX_ARRAY);
  assert_int_equal(f->type->elem->kind, TX_ARRAY);
  assert_string_equal(f->type->elem->elem->name, "int");
  assert_null(f->next);
  done(&t);
}

static void decl_event(void **state)
{
  (void)state;
  struct parsed t;
  parse_ok(&t, "event Shot from \"capture.client\" as \"Screen Captured\" extends Base {\n"
               "  data {\n    uri: string\n    bytes: int?\n  }\n"
               "  tags: [string]\n"
               "  boxes: [{ x: int, y: int }]?\n"
               "}\n"
               "event Plain {}\n"
               "event Reordered extends Base as \"DT\" from \"src\" { }\n");
  const struct decl *d = nth_decl(t.p, 0);
  assert_int_equal(d->kind, D_EVENT);
  assert_string_equal(d->name, "Shot");
  assert_string_equal(d->source, "capture.client");
  assert_string_equal(d->detail_type, "Screen Captured");
  assert_string_equal(d->extends, "Base");
  assert_int_equal(d->extends_loc.line, 1);
  assert_int_equal(d->extends_loc.col, 63);
  const struct field_decl *f = d->fields;
  assert_string_equal(f->name, "data");
  assert_int_equal(f->type->kind, TX_RECORD);
  assert_false(f->optional);
  assert_string_equal(f->type->fields->next->name, "bytes");
  assert_true(f->type->fields->next->optional);
  f = f->next;
  assert_string_equal(f->name, "tags");
  assert_int_equal(f->type->kind, TX_ARRAY);
  f = f->next;
  assert_string_equal(f->name, "boxes");
  assert_true(f->optional);
  assert_int_equal(f->type->kind, TX_ARRAY);
  assert_int_equal(f->type->elem->kind, TX_RECORD);
  assert_string_equal(f->type->elem->fields->next->name, "y");

  const struct decl *plain = nth_decl(t.p, 1);
  assert_null(plain->source);
  assert_null(plain->detail_type);
  assert_null(plain->extends);
  assert_null(plain->fields);
  /* Attributes in any order; the pending ones of the previous event do not leak. */
  const struct decl *re = nth_decl(t.p, 2);
  assert_string_equal(re->source, "src");
  assert_string_equal(re->detail_type, "DT");
  assert_string_equal(re->extends, "Base");
  /* The defaults of the application come from the file name. */
  assert_string_equal(t.p->app, "t");
  assert_string_equal(t.p->default_source, "efc.t");
  done(&t);

  /* An attribute given twice is reported. */
  parse_text(&t, "event E from \"a\" from \"b\" { }\n");
  assert_int_equal(t.d.errors, 1);
  done(&t);
}

static void decl_flow(void **state)
{
  (void)state;
  struct parsed t;
  parse_ok(&t, "flow f {\n"
               "  on A, B where x > 1\n"
               "  | where y\n"
               "  | map { a: 1, ...rest }\n"
               "  | counter(by: x, count: 10,)\n"
               "  | work_only\n"
               "  | other()\n"
               "  -> emit Out\n"
               "}\n"
               "flow g { on A -> emit B }\n");
  const struct decl *d = nth_decl(t.p, 0);
  assert_int_equal(d->kind, D_FLOW);
  assert_string_equal(d->name, "f");
  assert_string_equal(d->on->name, "A");
  assert_string_equal(d->on->next->name, "B");
  assert_int_equal(d->on->next->loc.line, 2);
  assert_int_equal(d->on->next->loc.col, 9);
  assert_null(d->on->next->next);
  assert_int_equal(d->where->kind, E_BINARY);
  assert_int_equal(d->where->op, EOP_GT);
  const struct stage_call *s = d->stages;
  assert_int_equal(s->kind, SC_WHERE);
  assert_int_equal(s->expr->kind, E_NAME);
  s = s->next;
  assert_int_equal(s->kind, SC_MAP);
  assert_int_equal(s->expr->kind, E_OBJECT);
  assert_true(s->expr->args->next->spread);
  s = s->next;
  assert_int_equal(s->kind, SC_CALL);
  assert_string_equal(s->name, "counter");
  assert_true(s->has_parens);
  assert_string_equal(s->args->name, "by");
  assert_string_equal(s->args->next->name, "count");
  assert_int_equal(s->args->next->value->i, 10);
  assert_null(s->args->next->next);
  assert_int_equal(s->loc.line, 5);
  assert_int_equal(s->loc.col, 5);
  s = s->next;
  assert_string_equal(s->name, "work_only");
  assert_false(s->has_parens);
  assert_null(s->args);
  s = s->next;
  assert_string_equal(s->name, "other");
  assert_true(s->has_parens);
  assert_null(s->args);
  assert_null(s->next);
  assert_string_equal(d->emit->name, "Out");
  assert_int_equal(d->emit->loc.line, 8);
  assert_int_equal(d->emit->loc.col, 11);

  const struct decl *g = nth_decl(t.p, 1);
  assert_null(g->where);
  assert_null(g->stages);
  assert_string_equal(g->emit->name, "B");
  done(&t);
}

static void decl_route(void **state)
{
  (void)state;
  struct parsed t;
  parse_ok(&t, "route A, B where x == 1 -> \"arn:aws:sqs:us-east-1:1:q\", f, summarizer(prompt: \"p\") -> emit S, noargs -> emit T\n"
               "route C -> f\n");
  const struct decl *d = nth_decl(t.p, 0);
  assert_int_equal(d->kind, D_ROUTE);
  assert_string_equal(d->name, "route1");   /* routes get generated ids */
  assert_string_equal(d->on->name, "A");
  assert_string_equal(d->on->next->name, "B");
  assert_non_null(d->where);
  const struct target *tg = d->targets;
  assert_null(tg->name);
  assert_string_equal(tg->arn, "arn:aws:sqs:us-east-1:1:q");
  tg = tg->next;
  assert_string_equal(tg->name, "f");
  assert_null(tg->arn);
  assert_false(tg->has_parens);
  assert_null(tg->emit);
  tg = tg->next;
  assert_string_equal(tg->name, "summarizer");
  assert_true(tg->has_parens);
  assert_string_equal(tg->args->name, "prompt");
  assert_string_equal(tg->args->value->s, "p");
  assert_string_equal(tg->emit->name, "S");
  tg = tg->next;
  assert_string_equal(tg->name, "noargs");
  assert_false(tg->has_parens);
  assert_string_equal(tg->emit->name, "T");
  assert_null(tg->next);

  const struct decl *r2 = nth_decl(t.p, 1);
  assert_string_equal(r2->name, "route2");
  assert_null(r2->where);
  assert_string_equal(r2->targets->name, "f");
  done(&t);
}

static void decl_user_filter(void **state)
{
  (void)state;
  struct parsed t;
  parse_ok(&t, "filter work_only(min_ms: int = 1000, names: [string]?, label: string? = \"x\",) {\n"
               "  | where focus_ms >= min_ms\n"
               "  | where not name in names\n"
               "}\n"
               "transformer t() { map { a: 1 } }\n"
               "view v(x: any) { where x | map { y: x } }\n");
  const struct decl *d = nth_decl(t.p, 0);
  assert_int_equal(d->kind, D_STAGE);
  assert_int_equal(d->stage_kind, SK_FILTER);
  assert_false(d->is_extern);
  assert_string_equal(d->name, "work_only");
  const struct param_decl *p = d->params;
  assert_string_equal(p->name, "min_ms");
  assert_string_equal(p->type->name, "int");
  assert_false(p->optional);
  assert_int_equal(p->default_value->kind, E_INT);
  assert_int_equal(p->default_value->i, 1000);
  p = p->next;
  assert_string_equal(p->name, "names");
  assert_int_equal(p->type->kind, TX_ARRAY);
  assert_true(p->optional);
  assert_null(p->default_value);
  p = p->next;
  assert_string_equal(p->name, "label");
  assert_true(p->optional);
  assert_string_equal(p->default_value->s, "x");
  assert_null(p->next);
  assert_int_equal(d->stages->kind, SC_WHERE);
  assert_int_equal(d->stages->next->kind, SC_WHERE);
  assert_null(d->stages->next->next);

  const struct decl *tr = nth_decl(t.p, 1);
  assert_int_equal(tr->stage_kind, SK_TRANSFORMER);
  assert_null(tr->params);
  assert_int_equal(tr->stages->kind, SC_MAP);
  const struct decl *v = nth_decl(t.p, 2);
  assert_int_equal(v->stage_kind, SK_VIEW);
  assert_int_equal(v->stages->next->kind, SC_MAP);
  done(&t);
}

static void decl_extern(void **state)
{
  (void)state;
  struct parsed t;
  parse_ok(&t, "extern filter agg(by: any?, keep: aggregates, after: duration?) -> {\n"
               "  key: any?\n"
               "  ...keep\n"
               "  last: input\n"
               "}\n"
               "extern view sum(prompt: string) -> { ...input, summary: string }\n"
               "extern transformer same() -> input\n");
  const struct decl *d = nth_decl(t.p, 0);
  assert_int_equal(d->kind, D_STAGE);
  assert_true(d->is_extern);
  assert_int_equal(d->stage_kind, SK_FILTER);
  assert_string_equal(d->name, "agg");
  assert_int_equal(d->name_loc.col, 15);
  assert_string_equal(d->params->next->type->name, "aggregates");
  assert_true(d->params->optional);
  assert_null(d->stages);
  assert_int_equal(d->output_type->kind, TX_RECORD);
  const struct field_decl *f = d->output_type->fields;
  assert_string_equal(f->name, "key");
  assert_true(f->optional);
  f = f->next;
  assert_null(f->name);
  assert_string_equal(f->spread, "keep");
  f = f->next;
  assert_string_equal(f->name, "last");
  assert_string_equal(f->type->name, "input");

  const struct decl *v = nth_decl(t.p, 1);
  assert_int_equal(v->stage_kind, SK_VIEW);
  assert_string_equal(v->output_type->fields->spread, "input");
  assert_string_equal(v->output_type->fields->next->name, "summary");
  const struct decl *s = nth_decl(t.p, 2);
  assert_int_equal(s->stage_kind, SK_TRANSFORMER);
  assert_int_equal(s->output_type->kind, TX_NAME);
  assert_string_equal(s->output_type->name, "input");
  done(&t);
}

/* ---- expressions -------------------------------------------------------- */

static void prec_full_ladder(void **state)
{
  (void)state;
  assert_shape("a or b and not c == d + e * -f",
               "(or a (and b (not (== c (+ d (* e (neg f)))))))");
  assert_shape("a and b or c and d", "(or (and a b) (and c d))");
  assert_shape("not a and b", "(and (not a) b)");
  assert_shape("not not a", "(not (not a))");
}

static void prec_arithmetic(void **state)
{
  (void)state;
  assert_shape("a - b - c", "(- (- a b) c)");
  assert_shape("a / b * c % d", "(% (* (/ a b) c) d)");
  assert_shape("a + b * c - d", "(- (+ a (* b c)) d)");
  assert_shape("(a + b) * c", "(* (+ a b) c)");
  assert_shape("-a.b[0] * 2", "(* (neg ([] (. a b) 0)) 2)");
  assert_shape("- -1", "(neg (neg 1))");
  assert_shape("x + 1 < y * 2", "(< (+ x 1) (* y 2))");
}

static void prec_string_operators(void **state)
{
  (void)state;
  assert_shape("s prefix \"a\" and s not suffix \"b\"", "(and (prefix s \"a\") (not-suffix s \"b\"))");
  assert_shape("s not prefix \"a\" + \"b\"", "(not-prefix s (+ \"a\" \"b\"))");
  assert_shape("s matches \"*x*\" or s not matches \"y\"", "(or (matches s \"*x*\") (not-matches s \"y\"))");
  assert_shape("s ieq \"ABC\"", "(ieq s \"ABC\")");
}

static void prec_in_and_not_in(void **state)
{
  (void)state;
  assert_shape("x not in [1, 2]", "(not-in x [ 1 2 ])");
  assert_shape("x in [\"a\", \"b\",] and y", "(and (in x [ \"a\" \"b\" ]) y)");
  assert_shape("not x in xs", "(not (in x xs))");
  assert_shape("x + 1 in [2]", "(in (+ x 1) [ 2 ])");
  assert_shape("x in []", "(in x [ ])");
}

static void prec_in_cidr(void **state)
{
  (void)state;
  assert_shape("ip in cidr \"10.0.0.0/8\"", "(in-cidr ip \"10.0.0.0/8\")");
  assert_shape("ip not in cidr \"10.0.0.0/8\" or ok", "(or (not-in-cidr ip \"10.0.0.0/8\") ok)");
  struct parsed t;
  const struct expr *e = where_of(&t, "ip in cidr \"10.0.0.0/8\"");
  assert_int_equal(e->op, EOP_IN_CIDR);
  assert_false(e->negated);
  assert_int_equal(e->right->kind, E_STRING);
  done(&t);
  e = where_of(&t, "ip not in cidr \"::1/128\"");
  assert_int_equal(e->op, EOP_IN_CIDR);
  assert_true(e->negated);
  done(&t);
}

static void prec_if_then_else(void **state)
{
  (void)state;
  /* `else` takes everything after it. */
  assert_shape("if a then b else c or d", "(if a b (or c d))");
  assert_shape("if a or b then 1 else 2", "(if (or a b) 1 2)");
  assert_shape("if a then if b then 1 else 2 else 3", "(if a (if b 1 2) 3)");
  assert_shape("if a then 1 else if b then 2 else 3", "(if a 1 (if b 2 3))");
  assert_shape("(if a then 1 else 2) + 3", "(+ (if a 1 2) 3)");
}

static void expr_postfix_calls_literals(void **state)
{
  (void)state;
  assert_shape("f(a, b)[0].c", "(. ([] (call f a b) 0) c)");
  assert_shape("exists(a.b) and len(\"x\") > 0", "(and (call exists (. a b)) (> (call len \"x\") 0))");
  assert_shape("{ a: 1, \"b c\": null, ...r, where: true } != {}", "(!= { a=1 b c=null ...r where=true } { })");
  assert_shape("[] == [[1], [2.5, 1h]]", "(== [ ] [ [ 1 ] [ 2.5 3600000ms ] ])");
  assert_shape("x == false or y == true", "(or (== x false) (== y true))");
  assert_shape("f()", "(call f)");
}

static void expr_locations(void **state)
{
  (void)state;
  struct parsed t;
  /* EXPR_PREFIX is 20 characters: the where starts at column 21. */
  const struct expr *e = where_of(&t, "abc == \"x\" and\n  n > 10");
  assert_int_equal(e->loc.line, 1);
  assert_int_equal(e->loc.col, 21);
  assert_int_equal(e->loc.end_line, 2);
  assert_int_equal(e->loc.end_col, 9);
  assert_int_equal(e->left->left->loc.col, 21);
  assert_int_equal(e->left->left->loc.end_col, 24);
  assert_int_equal(e->left->right->loc.col, 28);
  assert_int_equal(e->right->loc.line, 2);
  assert_int_equal(e->right->loc.col, 3);
  assert_int_equal(e->right->right->loc.col, 7);
  done(&t);
}

static void expr_comparisons_do_not_chain(void **state)
{
  (void)state;
  static const char *const bad[] = { "a == b == c", "a < b < c", "a in b in c", "a prefix b == c" };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    char buf[256];
    snprintf(buf, sizeof buf, EXPR_PREFIX "%s -> emit E }\n", bad[i]);
    struct parsed t;
    parse_text(&t, buf);
    if (t.d.errors != 1) print_message("# %s: %zu errors\n", bad[i], t.d.errors);
    assert_int_equal(t.d.errors, 1);
    assert_non_null(strstr(t.d.items[0].message, "unexpected"));
    done(&t);
  }
}

/* ---- errors and recovery ------------------------------------------------ */

static void error_positions(void **state)
{
  (void)state;
  struct parsed t;
  parse_text(&t, "event E { x: int }\n"
                 "flow f {\n"
                 "  on E where x = 1\n"
                 "  -> emit E\n"
                 "}\n");
  assert_int_equal(t.d.errors, 1);
  assert_int_equal(t.d.items[0].loc.line, 3);
  assert_int_equal(t.d.items[0].loc.col, 16);
  assert_non_null(strstr(t.d.items[0].message, "`=`"));
  assert_non_null(t.d.items[0].hint);
  assert_non_null(strstr(t.d.items[0].hint, "=="));
  done(&t);

  /* A file that stops inside a declaration. */
  parse_text(&t, "flow f {\n  on E where x > 1\n");
  assert_int_equal(t.d.errors, 1);
  assert_non_null(strstr(t.d.items[0].message, "end of file"));
  done(&t);
}

static void error_recovery_two_broken(void **state)
{
  (void)state;
  struct parsed t;
  parse_text(&t, "event Good1 { a: string }\n"
                 "event Broken1 {\n"
                 "  total float\n"
                 "}\n"
                 "flow broken2 {\n"
                 "  on Good1 where a ==\n"
                 "}\n"
                 "event Good2 { b: int }\n"
                 "flow good3 { on Good2 -> emit Good1 }\n");
  if (t.d.errors != 2) dump_diags(&t.d);
  assert_int_equal(t.d.errors, 2);
  /* Diagnostics are kept in the order found; the first is in Broken1, the second in broken2. */
  assert_int_equal(t.d.items[0].loc.line, 3);
  assert_int_equal(t.d.items[0].loc.col, 9);
  assert_int_equal(t.d.items[1].loc.line, 7);
  assert_int_equal(t.d.items[1].loc.col, 1);
  for (size_t i = 0; i < 2; i++) assert_non_null(strstr(t.d.items[i].message, "unexpected"));
  /* The good declarations around them are all there. */
  const char *names[8];
  int n = 0;
  for (const struct decl *d = t.p->decls; d && n < 8; d = d->next) names[n++] = d->name;
  assert_true(n >= 3);
  assert_string_equal(names[0], "Good1");
  assert_string_equal(names[n - 2], "Good2");
  assert_string_equal(names[n - 1], "good3");
  assert_int_equal(nth_decl(t.p, n - 1)->kind, D_FLOW);
  assert_string_equal(nth_decl(t.p, n - 1)->emit->name, "Good1");
  done(&t);
}

static void error_recovery_garbage_between(void **state)
{
  (void)state;
  struct parsed t;
  parse_text(&t, "let threshold = 1000\n"
                 "type T { a: int }\n"
                 "event E { x: [string }\n"
                 "event F { y: int }\n");
  if (t.d.errors != 2) dump_diags(&t.d);
  assert_int_equal(t.d.errors, 2);
  assert_int_equal(t.d.items[0].loc.line, 1);
  assert_int_equal(t.d.items[1].loc.line, 3);
  const struct decl *last = NULL;
  int types = 0;
  for (const struct decl *d = t.p->decls; d; d = d->next) {
    if (d->kind == D_TYPE && strcmp(d->name, "T") == 0) types++;
    last = d;
  }
  assert_int_equal(types, 1);
  assert_non_null(last);
  assert_string_equal(last->name, "F");
  done(&t);
}

static void error_lexical_in_declaration(void **state)
{
  (void)state;
  /* A bad token is reported once (by the lexer), not again by the parser. */
  struct parsed t;
  parse_text(&t, "event E { x: int }\n"
                 "flow f { on E where x > 1 && x < 3 -> emit E }\n"
                 "flow g { on E where !exists(x) -> emit E }\n"
                 "event After { y: int }\n");
  if (t.d.errors != 2) dump_diags(&t.d);
  assert_int_equal(t.d.errors, 2);
  assert_int_equal(t.d.items[0].loc.line, 2);
  assert_int_equal(t.d.items[0].loc.col, 27);
  assert_int_equal(t.d.items[1].loc.line, 3);
  assert_int_equal(t.d.items[1].loc.col, 21);
  int found = 0;
  for (const struct decl *d = t.p->decls; d; d = d->next) found |= d->name && strcmp(d->name, "After") == 0;
  assert_true(found);
  done(&t);
}

static void parse_source_appends(void **state)
{
  (void)state;
  /* parse_source appends to a program and returns its own error count. */
  struct diag d;
  diag_init(&d);
  struct program *p = ast_program_new();
  const struct source *a = diag_add_source(&d, "a.flow", "event A { }\n", 12);
  const struct source *b = diag_add_source(&d, "b.flow", "event B { }\nevent {\n", 20);
  assert_int_equal(parse_source(p, &d, a, NULL), 0);
  assert_int_equal(parse_source(p, &d, b, "mod"), 1);
  assert_string_equal(p->decls->name, "A");
  assert_null(p->decls->module);
  assert_string_equal(p->decls->next->name, "B");
  assert_string_equal(p->decls->next->module, "mod");
  assert_ptr_equal(p->decls->next->loc.src, b);
  ast_program_free(p);
  diag_free(&d);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(lex_durations_and_numbers),
    cmocka_unit_test(lex_duration_values),
    cmocka_unit_test(lex_float_values),
    cmocka_unit_test(lex_string_escapes),
    cmocka_unit_test(lex_bad_strings),
    cmocka_unit_test(lex_backtick_names),
    cmocka_unit_test(lex_keywords_after_dot),
    cmocka_unit_test(lex_comments_and_positions),
    cmocka_unit_test(lex_operators),
    cmocka_unit_test(lex_bad_tokens),
    cmocka_unit_test(decl_import),
    cmocka_unit_test(decl_type),
    cmocka_unit_test(decl_event),
    cmocka_unit_test(decl_flow),
    cmocka_unit_test(decl_route),
    cmocka_unit_test(decl_user_filter),
    cmocka_unit_test(decl_extern),
    cmocka_unit_test(prec_full_ladder),
    cmocka_unit_test(prec_arithmetic),
    cmocka_unit_test(prec_string_operators),
    cmocka_unit_test(prec_in_and_not_in),
    cmocka_unit_test(prec_in_cidr),
    cmocka_unit_test(prec_if_then_else),
    cmocka_unit_test(expr_postfix_calls_literals),
    cmocka_unit_test(expr_locations),
    cmocka_unit_test(expr_comparisons_do_not_chain),
    cmocka_unit_test(error_positions),
    cmocka_unit_test(error_recovery_two_broken),
    cmocka_unit_test(error_recovery_garbage_between),
    cmocka_unit_test(error_lexical_in_declaration),
    cmocka_unit_test(parse_source_appends),
  };
  cmocka_set_message_output(CM_OUTPUT_TAP);
  return cmocka_run_group_tests(tests, NULL, NULL);
}
