/* efc.y — the grammar of .flow files.
 *
 * Actions build the tree (compiler/ast.h) and nothing else; names are
 * resolved and types checked later (compiler/check.c).  A syntax error is
 * reported with the position, what was found, what was expected and a hint;
 * the parser then skips to the next declaration, so one run reports every
 * broken declaration.
 */
%code requires {
#include "ast.h"
#include "diag.h"
struct parse_state;
#define YYLLOC_DEFAULT(Cur, Rhs, N) do { \
    if (N) { (Cur).src = YYRHSLOC(Rhs, 1).src; \
             (Cur).line = YYRHSLOC(Rhs, 1).line; (Cur).col = YYRHSLOC(Rhs, 1).col; \
             (Cur).end_line = YYRHSLOC(Rhs, N).end_line; (Cur).end_col = YYRHSLOC(Rhs, N).end_col; } \
    else { (Cur) = YYRHSLOC(Rhs, 0); (Cur).line = (Cur).end_line; (Cur).col = (Cur).end_col; } \
  } while (0)
}

%code {
#include <string.h>
#include "parse.h"
#include "lexer.h"
#include "parse_build.h"
#define A (&st->program->arena)
static void yyerror(YYLTYPE *loc, void *scanner, struct parse_state *st, const char *msg);
static int lex(YYSTYPE *val, YYLTYPE *loc, void *scanner);
#define yylex(val, loc, scanner) lex(val, loc, scanner)
}

%define api.pure full
%define api.location.type {struct loc}
%define parse.error custom
%define parse.lac full
%locations
%lex-param {void *scanner}
%parse-param {void *scanner} {struct parse_state *st}
%expect 0

%union {
  const char *str;
  struct { const char *s; size_t len; } string;
  struct { int64_t i; double f; const char *text; } num;
  struct expr *expr;
  struct arg *arg;
  struct field_decl *field;
  struct type_expr *type;
  struct stage_call *stage;
  struct name_ref *ref;
  struct target *target;
  struct param_decl *param;
  struct decl *decl;
  int flag;
}

%token IMPORT "import" TYPE "type" EVENT "event" FLOW "flow" ROUTE "route"
%token FILTER "filter" TRANSFORMER "transformer" VIEW "view" EXTERN "extern"
%token FROM "from" AS "as" EXTENDS "extends" ON "on" WHERE "where" MAP "map" EMIT "emit"
%token AND "and" OR "or" NOT "not" IN "in" CIDR "cidr" PREFIX "prefix" SUFFIX "suffix"
%token MATCHES "matches" IEQ "ieq" TRUE "true" FALSE "false" NULL_ "null"
%token IF "if" THEN "then" ELSE "else"
%token ARROW "->" SPREAD "..." EQ "==" NE "!=" LE "<=" GE ">=" LT "<" GT ">"
%token <str> IDENT "name"
%token <string> STRING "string"
%token <num> INT "integer" FLOAT "number" DURATION "duration"
%token BAD "invalid token"

%type <str> name dotted
%type <expr> expr primary object array
%type <arg> args arg_seq arg entries entry_seq entry items item_seq
%type <field> fields field_seq field
%type <type> type_expr record_body
%type <stage> stage stages stage_body
%type <ref> event_refs event_ref emit_clause
%type <target> targets target
%type <param> params param_seq param
%type <expr> opt_where opt_default
%type <flag> opt_q stage_kind

%precedence ELSE
%left OR
%left AND
%right NOT
%nonassoc EQ NE LT LE GT GE PREFIX SUFFIX MATCHES IEQ IN
%left '+' '-'
%left '*' '/' '%'
%precedence UNARY

%%

program
  : %empty
  | program decl
  | program error
  ;

decl
  : IMPORT dotted                 { pb_decl(st, D_IMPORT, @$, $2, @2); }
  | TYPE IDENT record_body        { struct decl *d = pb_decl(st, D_TYPE, @$, $2, @2); d->fields = $3->fields; }
  | EVENT IDENT event_attrs record_body
                                  { pb_event_finish(st, @$, $2, @2, $4->fields); }
  | FLOW IDENT '{' ON event_refs opt_where stages emit_clause '}'
                                  { struct decl *d = pb_decl(st, D_FLOW, @$, $2, @2);
                                    d->on = $5; d->where = $6; d->stages = $7; d->emit = $8; }
  | ROUTE event_refs opt_where ARROW targets
                                  { struct decl *d = pb_decl(st, D_ROUTE, @$, NULL, @1);
                                    d->on = $2; d->where = $3; d->targets = $5; }
  | stage_kind IDENT '(' params ')' '{' stage_body '}'
                                  { struct decl *d = pb_decl(st, D_STAGE, @$, $2, @2);
                                    d->stage_kind = $1; d->params = $4; d->stages = $7; }
  | EXTERN stage_kind IDENT '(' params ')' ARROW type_expr
                                  { struct decl *d = pb_decl(st, D_STAGE, @$, $3, @3);
                                    d->stage_kind = $2; d->params = $5; d->output_type = $8; d->is_extern = 1; }
  ;

dotted
  : name                          { $$ = $1; }
  | dotted '.' name               { $$ = arena_printf(A, "%s.%s", $1, $3); }
  ;

/* Any keyword may name a field, an object key or a module. */
name
  : IDENT | "import" { $$ = "import"; } | "type" { $$ = "type"; } | "event" { $$ = "event"; }
  | "flow" { $$ = "flow"; } | "route" { $$ = "route"; } | "filter" { $$ = "filter"; }
  | "transformer" { $$ = "transformer"; } | "view" { $$ = "view"; } | "extern" { $$ = "extern"; }
  | "from" { $$ = "from"; } | "as" { $$ = "as"; } | "extends" { $$ = "extends"; } | "on" { $$ = "on"; }
  | "where" { $$ = "where"; } | "map" { $$ = "map"; } | "emit" { $$ = "emit"; } | "and" { $$ = "and"; }
  | "or" { $$ = "or"; } | "not" { $$ = "not"; } | "in" { $$ = "in"; } | "cidr" { $$ = "cidr"; }
  | "prefix" { $$ = "prefix"; } | "suffix" { $$ = "suffix"; } | "matches" { $$ = "matches"; }
  | "ieq" { $$ = "ieq"; } | "true" { $$ = "true"; } | "false" { $$ = "false"; } | "null" { $$ = "null"; }
  | "if" { $$ = "if"; } | "then" { $$ = "then"; } | "else" { $$ = "else"; }
  ;

event_attrs
  : %empty                        { pb_event_begin(st); }
  | event_attrs FROM STRING       { pb_event_attr(st, FROM, $3.s, @3); }
  | event_attrs AS STRING         { pb_event_attr(st, AS, $3.s, @3); }
  | event_attrs EXTENDS IDENT     { pb_event_attr(st, EXTENDS, $3, @3); }
  ;

record_body
  : '{' fields '}'                { $$ = pb_type(st, TX_RECORD, @$, NULL); $$->fields = $2; }
  ;

fields
  : %empty                        { $$ = NULL; }
  | field_seq                     { $$ = $1; }
  | field_seq ','                 { $$ = $1; }
  ;

field_seq
  : field                         { $$ = $1; }
  | field_seq field               { $$ = pb_append_field($1, $2); }
  | field_seq ',' field           { $$ = pb_append_field($1, $3); }
  ;

field
  : name ':' type_expr opt_q      { $$ = pb_field(st, @1, $1, $3, $4); }
  | name record_body opt_q        { $$ = pb_field(st, @1, $1, $2, $3); }
  | SPREAD IDENT                  { $$ = pb_field(st, @$, NULL, NULL, 0); $$->spread = $2; }
  ;

opt_q
  : %empty                        { $$ = 0; }
  | '?'                           { $$ = 1; }
  ;

type_expr
  : IDENT                         { $$ = pb_type(st, TX_NAME, @$, $1); }
  | '[' type_expr ']'             { $$ = pb_type(st, TX_ARRAY, @$, NULL); $$->elem = $2; }
  | record_body                   { $$ = $1; }
  ;

event_refs
  : event_ref                     { $$ = $1; }
  | event_refs ',' event_ref      { $$ = pb_append_ref($1, $3); }
  ;

event_ref
  : IDENT                         { $$ = pb_ref(st, @$, $1); }
  ;

opt_where
  : %empty                        { $$ = NULL; }
  | WHERE expr                    { $$ = $2; }
  ;

stages
  : %empty                        { $$ = NULL; }
  | stages '|' stage              { $$ = pb_append_stage($1, $3); }
  ;

stage_body
  : stage                         { $$ = $1; }
  | '|' stage                     { $$ = $2; }
  | stage_body '|' stage          { $$ = pb_append_stage($1, $3); }
  ;

stage
  : WHERE expr                    { $$ = pb_stage(st, SC_WHERE, @$, NULL); $$->expr = $2; }
  | MAP object                    { $$ = pb_stage(st, SC_MAP, @$, NULL); $$->expr = $2; }
  | IDENT                         { $$ = pb_stage(st, SC_CALL, @$, $1); }
  | IDENT '(' args ')'            { $$ = pb_stage(st, SC_CALL, @$, $1); $$->args = $3; $$->has_parens = 1; }
  ;

emit_clause
  : %empty                        { $$ = NULL; }
  | ARROW EMIT event_ref          { $$ = $3; }
  ;

targets
  : target                        { $$ = $1; }
  | targets ',' target            { $$ = pb_append_target($1, $3); }
  ;

target
  : IDENT emit_clause             { $$ = pb_target(st, @1, $1, NULL); $$->emit = $2; }
  | IDENT '(' args ')' emit_clause
                                  { $$ = pb_target(st, @1, $1, NULL); $$->args = $3; $$->has_parens = 1; $$->emit = $5; }
  | STRING                        { $$ = pb_target(st, @$, NULL, $1.s); }
  ;

stage_kind
  : FILTER                        { $$ = SK_FILTER; }
  | TRANSFORMER                   { $$ = SK_TRANSFORMER; }
  | VIEW                          { $$ = SK_VIEW; }
  ;

params
  : %empty                        { $$ = NULL; }
  | param_seq                     { $$ = $1; }
  | param_seq ','                 { $$ = $1; }
  ;

param_seq
  : param                         { $$ = $1; }
  | param_seq ',' param           { $$ = pb_append_param($1, $3); }
  ;

param
  : IDENT ':' type_expr opt_q opt_default
                                  { $$ = pb_param(st, @1, $1, $3, $4, $5); }
  ;

opt_default
  : %empty                        { $$ = NULL; }
  | '=' expr                      { $$ = $2; }
  ;

expr
  : primary                       { $$ = $1; }
  | expr OR expr                  { $$ = pb_binary(st, @$, EOP_OR, $1, $3, 0); }
  | expr AND expr                 { $$ = pb_binary(st, @$, EOP_AND, $1, $3, 0); }
  | NOT expr                      { $$ = pb_unary(st, @$, EOP_NOT, $2); }
  | expr EQ expr                  { $$ = pb_binary(st, @$, EOP_EQ, $1, $3, 0); }
  | expr NE expr                  { $$ = pb_binary(st, @$, EOP_NE, $1, $3, 0); }
  | expr LT expr                  { $$ = pb_binary(st, @$, EOP_LT, $1, $3, 0); }
  | expr LE expr                  { $$ = pb_binary(st, @$, EOP_LE, $1, $3, 0); }
  | expr GT expr                  { $$ = pb_binary(st, @$, EOP_GT, $1, $3, 0); }
  | expr GE expr                  { $$ = pb_binary(st, @$, EOP_GE, $1, $3, 0); }
  | expr PREFIX expr              { $$ = pb_binary(st, @$, EOP_PREFIX, $1, $3, 0); }
  | expr SUFFIX expr              { $$ = pb_binary(st, @$, EOP_SUFFIX, $1, $3, 0); }
  | expr MATCHES expr             { $$ = pb_binary(st, @$, EOP_MATCHES, $1, $3, 0); }
  | expr IEQ expr                 { $$ = pb_binary(st, @$, EOP_IEQ, $1, $3, 0); }
  | expr IN expr                  { $$ = pb_binary(st, @$, EOP_IN, $1, $3, 0); }
  | expr IN CIDR expr %prec IN    { $$ = pb_binary(st, @$, EOP_IN_CIDR, $1, $4, 0); }
  | expr NOT PREFIX expr %prec PREFIX { $$ = pb_binary(st, @$, EOP_PREFIX, $1, $4, 1); }
  | expr NOT SUFFIX expr %prec SUFFIX { $$ = pb_binary(st, @$, EOP_SUFFIX, $1, $4, 1); }
  | expr NOT MATCHES expr %prec MATCHES { $$ = pb_binary(st, @$, EOP_MATCHES, $1, $4, 1); }
  | expr NOT IN expr %prec IN     { $$ = pb_binary(st, @$, EOP_IN, $1, $4, 1); }
  | expr NOT IN CIDR expr %prec IN { $$ = pb_binary(st, @$, EOP_IN_CIDR, $1, $5, 1); }
  | expr '+' expr                 { $$ = pb_binary(st, @$, EOP_ADD, $1, $3, 0); }
  | expr '-' expr                 { $$ = pb_binary(st, @$, EOP_SUB, $1, $3, 0); }
  | expr '*' expr                 { $$ = pb_binary(st, @$, EOP_MUL, $1, $3, 0); }
  | expr '/' expr                 { $$ = pb_binary(st, @$, EOP_DIV, $1, $3, 0); }
  | expr '%' expr                 { $$ = pb_binary(st, @$, EOP_MOD, $1, $3, 0); }
  | '-' expr %prec UNARY          { $$ = pb_unary(st, @$, EOP_NEG, $2); }
  | IF expr THEN expr ELSE expr   { $$ = pb_expr(st, E_IF, @$); $$->cond = $2; $$->left = $4; $$->right = $6; }
  ;

primary
  : NULL_                         { $$ = pb_expr(st, E_NULL, @$); }
  | TRUE                          { $$ = pb_expr(st, E_BOOL, @$); $$->i = 1; }
  | FALSE                         { $$ = pb_expr(st, E_BOOL, @$); }
  | INT                           { $$ = pb_expr(st, E_INT, @$); $$->i = $1.i; $$->s = $1.text; }
  | FLOAT                         { $$ = pb_expr(st, E_FLOAT, @$); $$->f = $1.f; $$->s = $1.text; }
  | DURATION                      { $$ = pb_expr(st, E_DURATION, @$); $$->i = $1.i; $$->s = $1.text; }
  | STRING                        { $$ = pb_expr(st, E_STRING, @$); $$->s = $1.s; $$->slen = $1.len; }
  | IDENT                         { $$ = pb_expr(st, E_NAME, @$); $$->s = $1; }
  | IDENT '(' args ')'            { $$ = pb_expr(st, E_CALL, @$); $$->s = $1; $$->args = $3; }
  | primary '.' name              { $$ = pb_expr(st, E_FIELD, @$); $$->left = $1; $$->s = $3; }
  | primary '[' expr ']'          { $$ = pb_expr(st, E_INDEX, @$); $$->left = $1; $$->right = $3; }
  | '(' expr ')'                  { $$ = $2; }
  | object                        { $$ = $1; }
  | array                         { $$ = $1; }
  ;

object
  : '{' entries '}'               { $$ = pb_expr(st, E_OBJECT, @$); $$->args = $2; }
  ;

entries
  : %empty                        { $$ = NULL; }
  | entry_seq                     { $$ = $1; }
  | entry_seq ','                 { $$ = $1; }
  ;

entry_seq
  : entry                         { $$ = $1; }
  | entry_seq ',' entry           { $$ = pb_append_arg($1, $3); }
  ;

entry
  : name ':' expr                 { $$ = pb_arg(st, @1, $1, $3); }
  | STRING ':' expr               { $$ = pb_arg(st, @1, $1.s, $3); }
  | SPREAD expr                   { $$ = pb_arg(st, @$, NULL, $2); $$->spread = 1; }
  ;

array
  : '[' items ']'                 { $$ = pb_expr(st, E_ARRAY, @$); $$->args = $2; }
  ;

items
  : %empty                        { $$ = NULL; }
  | item_seq                      { $$ = $1; }
  | item_seq ','                  { $$ = $1; }
  ;

item_seq
  : expr                          { $$ = pb_arg(st, @1, NULL, $1); }
  | item_seq ',' expr             { $$ = pb_append_arg($1, pb_arg(st, @3, NULL, $3)); }
  ;

args
  : %empty                        { $$ = NULL; }
  | arg_seq                       { $$ = $1; }
  | arg_seq ','                   { $$ = $1; }
  ;

arg_seq
  : arg                           { $$ = $1; }
  | arg_seq ',' arg               { $$ = pb_append_arg($1, $3); }
  ;

arg
  : expr                          { $$ = pb_arg(st, @1, NULL, $1); }
  | IDENT ':' expr                { $$ = pb_arg(st, @1, $1, $3); }
  ;

%%

/* The lexer, remembering what syntax error messages need: the last tokens
 * and the brackets still open. */
static int lex(YYSTYPE *val, YYLTYPE *loc, void *scanner) {
  int tok = (yylex)(val, loc, scanner);
  struct parse_state *st = yyget_extra(scanner);
  memmove(&st->recent[1], &st->recent[0], sizeof st->recent - sizeof st->recent[0]);
  st->recent[0].tok = tok;
  st->recent[0].loc = *loc;
  snprintf(st->recent[0].text, sizeof st->recent[0].text, "%s", tok ? yyget_text(scanner) : "");
  if (tok == '{' || tok == '(' || tok == '[') {
    if (st->nopen < (int)(sizeof st->open / sizeof *st->open)) {
      st->open[st->nopen].ch = (char)tok;
      st->open[st->nopen].loc = *loc;
    }
    st->nopen++;
  } else if ((tok == '}' || tok == ')' || tok == ']') && st->nopen > 0) {
    st->nopen--;
  }
  return tok;
}

/* Syntax errors: what was found, what would have been accepted, and a hint
 * for the mistakes people make most.  An invalid token was already reported
 * by the lexer, so it is not reported twice. */

static int is_keyword(yysymbol_kind_t sym) { return sym >= YYSYMBOL_IMPORT && sym <= YYSYMBOL_ELSE; }

static int starts_declaration(int tok) {
  return tok == IMPORT || tok == TYPE || tok == EVENT || tok == FLOW || tok == ROUTE || tok == FILTER ||
         tok == TRANSFORMER || tok == VIEW || tok == EXTERN;
}

/* `found` for the message: the text of names and literals, keywords in backticks. */
static void found_text(struct parse_state *st, yysymbol_kind_t sym, char *buf, size_t size) {
  const char *text = st->recent[0].text;
  switch (sym) {
  case YYSYMBOL_YYEOF: snprintf(buf, size, "end of file"); return;
  case YYSYMBOL_IDENT: snprintf(buf, size, "name `%s`", text); return;
  case YYSYMBOL_INT: case YYSYMBOL_FLOAT: snprintf(buf, size, "number `%s`", text); return;
  case YYSYMBOL_DURATION: snprintf(buf, size, "duration `%s`", text); return;
  case YYSYMBOL_STRING: snprintf(buf, size, "string %.40s", text); return;
  default: break;
  }
  const char *name = yysymbol_name(sym);
  if (name[0] == '\'') snprintf(buf, size, "`%c`", name[1]);
  else snprintf(buf, size, "%s`%s`", is_keyword(sym) ? "keyword " : "", name);
}

/* An expected token for the list: `}`, `on`, or "a name", "a string". */
static const char *expected_text(yysymbol_kind_t sym, char *buf, size_t size) {
  const char *name = yysymbol_name(sym);
  switch (sym) {
  case YYSYMBOL_YYEOF: return "end of file";
  case YYSYMBOL_IDENT: return "a name";
  case YYSYMBOL_STRING: return "a string";
  case YYSYMBOL_INT: return "an integer";
  case YYSYMBOL_FLOAT: return "a number";
  case YYSYMBOL_DURATION: return "a duration";
  default: break;
  }
  if (name[0] == '\'') snprintf(buf, size, "`%c`", name[1]);
  else snprintf(buf, size, "`%s`", name);
  return buf;
}

static int expects(const yysymbol_kind_t *expected, int n, yysymbol_kind_t sym) {
  for (int i = 0; i < n; i++)
    if (expected[i] == sym) return 1;
  return 0;
}

/* Could an expression start here? */
static int expects_expr(const yysymbol_kind_t *expected, int n) {
  return expects(expected, n, YYSYMBOL_IDENT) && expects(expected, n, YYSYMBOL_INT) &&
         expects(expected, n, YYSYMBOL_STRING) && expects(expected, n, YYSYMBOL_NOT);
}

/* The innermost `{` still open, or NULL. */
static const struct loc *open_brace(const struct parse_state *st) {
  int max = (int)(sizeof st->open / sizeof *st->open);
  for (int i = (st->nopen < max ? st->nopen : max) - 1; i >= 0; i--)
    if (st->open[i].ch == '{') return &st->open[i].loc;
  return NULL;
}

/* Hints for the mistakes people make most often. */
static void syntax_hint(struct parse_state *st, yysymbol_kind_t found, const yysymbol_kind_t *expected, int n) {
  int prev = st->recent[1].tok, prev2 = st->recent[2].tok;
  int top = st->nopen - 1;
  int closer = 0;
  if (top >= 0 && top < (int)(sizeof st->open / sizeof *st->open))
    closer = st->open[top].ch == '{' ? '}' : st->open[top].ch == '(' ? ')' : ']';
  if (found == YYTRANSLATE('}') || found == YYTRANSLATE(')') || found == YYTRANSLATE(']')) {
    /* The lexer has already closed the innermost bracket with `found`. */
    top = st->nopen;
    closer = 0;
    if (top < (int)(sizeof st->open / sizeof *st->open))
      closer = st->open[top].ch == '{' ? '}' : st->open[top].ch == '(' ? ')' : ']';
  }
  if (closer && found != YYTRANSLATE(closer) && yysymbol_name(found)[0] == '\'' &&
      strchr("})]", yysymbol_name(found)[1]) && expects(expected, n, YYTRANSLATE(closer))) {
    diag_hint(st->diag, "the `%c` at line %d, column %d is not closed", st->open[top].ch, st->open[top].loc.line,
              st->open[top].loc.col);
  } else if (found == YYSYMBOL_YYEOF) {
    const struct loc *brace = open_brace(st);
    if (st->nopen > 0 && brace)
      diag_hint(st->diag, "the file ended inside a declaration: the `{` at line %d is not closed", brace->line);
    else
      diag_hint(st->diag, "the file ended inside a declaration; is something missing at the end?");
  } else if (found == YYTRANSLATE('=') && prev == IDENT && closer == ')') {
    diag_hint(st->diag, "a named argument is written `%s: value`", st->recent[1].text);
  } else if (found == YYTRANSLATE('=') && expects(expected, n, YYTRANSLATE(':'))) {
    diag_hint(st->diag, "an entry is written `name: value`");
  } else if (found == YYTRANSLATE('=')) {
    diag_hint(st->diag, "use `==` to compare; `=` only gives a parameter its default");
  } else if (found == YYSYMBOL_EMIT && expects(expected, n, YYSYMBOL_ARROW)) {
    diag_hint(st->diag, "write an arrow before it: `-> emit EventName`");
  } else if ((found == YYSYMBOL_MAP || found == YYSYMBOL_WHERE || found == YYSYMBOL_IDENT) &&
             expects(expected, n, YYTRANSLATE('|')) && st->recent[0].loc.line > st->recent[1].loc.line) {
    diag_hint(st->diag, "each stage starts with `|`: `| %s ...`", st->recent[0].text);
  } else if (found == YYTRANSLATE(',') && closer == ')' && !expects(expected, n, YYTRANSLATE(','))) {
    diag_hint(st->diag, "a list is written in square brackets: `[a, b]`");
  } else if (found == YYTRANSLATE('|') && prev2 == EMIT) {
    diag_hint(st->diag, "`-> emit Event` is the last line of a flow; move the stages above it");
  } else if (n == 1 && expects(expected, n, YYSYMBOL_ON)) {
    diag_hint(st->diag, "a flow starts with `on EventName`, e.g. `flow f { on Clicked | map {...} -> emit Out }`");
  } else if (expects(expected, n, YYSYMBOL_IMPORT) && expects(expected, n, YYSYMBOL_FLOW)) {
    diag_hint(st->diag, "declarations start with import, type, event, flow, route, filter, transformer, view or extern");
  } else if ((prev == FROM || prev == AS) && expects(expected, n, YYSYMBOL_STRING)) {
    /* Quote the rest of the word as written, e.g. shop.payments. */
    const char *p = st->src->text, *end = p + st->src->length;
    for (int line = 1; line < st->recent[0].loc.line && p < end; p++) line += *p == '\n';
    p += st->recent[0].loc.col - 1;
    size_t len = 0;
    while (p + len < end && p[len] && !strchr("{ \t\r\n", p[len]) && len < 80) len++;
    diag_hint(st->diag, "write it as a string: %s \"%.*s\"", prev == FROM ? "from" : "as", (int)len, p);
  } else if (is_keyword(found) && expects(expected, n, YYSYMBOL_IDENT)) {
    diag_hint(st->diag, "%s is a keyword; to use it as a name, write it between backticks: `%s`", yysymbol_name(found),
              yysymbol_name(found));
  } else if (expects(expected, n, YYTRANSLATE(':')) && n <= 2) {
    diag_hint(st->diag, "a field is written `name: type`");
  } else if (found == YYSYMBOL_IDENT && expects(expected, n, YYTRANSLATE(')'))) {
    diag_hint(st->diag, "separate arguments with `,`");
  } else if (found == YYSYMBOL_IDENT && expects(expected, n, YYTRANSLATE('}'))) {
    diag_hint(st->diag, "separate entries with `,`");
  } else if (found == YYTRANSLATE(':')) {
    diag_hint(st->diag, "`name: value` is written inside `{ }` or as a named argument inside `( )`");
  } else if (found == YYSYMBOL_ARROW && expects_expr(expected, n)) {
    diag_hint(st->diag, "the expression before `->` is not finished");
  }
}

static int yyreport_syntax_error(const yypcontext_t *ctx, void *scanner, struct parse_state *st) {
  (void)scanner;
  yysymbol_kind_t found = yypcontext_token(ctx);
  if (found == YYSYMBOL_BAD) return 0;
  /* A declaration keyword at the start of a line inside an open `{`: a `}` is
   * missing.  (The keyword may already have been read as a field name.) */
  const struct loc *brace = open_brace(st);
  for (int k = 0; k < 2 && brace; k++) {
    if (!starts_declaration(st->recent[k].tok) || st->recent[k].loc.col != 1) continue;
    diag_error(st->diag, st->recent[k].loc, "`%s` starts a new declaration, but the `{` at line %d is not closed",
               st->recent[k].text, brace->line);
    diag_hint(st->diag, "add the missing `}` before line %d", st->recent[k].loc.line);
    return 0;
  }
  yysymbol_kind_t expected[YYNTOKENS];
  int n = yypcontext_expected_tokens(ctx, expected, YYNTOKENS);
  char what[96], msg[512];
  found_text(st, found, what, sizeof what);
  int len = snprintf(msg, sizeof msg, "unexpected %s", what);
  if (n > 0 && n <= 6) {
    len += snprintf(msg + len, sizeof msg - (size_t)len, ", expected ");
    for (int i = 0; i < n && len < (int)sizeof msg - 64; i++)
      len += snprintf(msg + len, sizeof msg - (size_t)len, "%s%s", i == 0 ? "" : i == n - 1 ? " or " : ", ",
                      expected_text(expected[i], what, sizeof what));
  } else if (n > 6 && expects_expr(expected, n)) {
    snprintf(msg + len, sizeof msg - (size_t)len, ", expected an expression");
  }
  diag_error(st->diag, *yypcontext_location(ctx), "%s", msg);
  syntax_hint(st, found, expected, n);
  return 0;
}
/* Only reached for "memory exhausted" (nesting deeper than the parser's stack). */
static void yyerror(YYLTYPE *loc, void *scanner, struct parse_state *st, const char *msg) {
  (void)scanner;
  diag_error(st->diag, *loc, "%s: the program is nested too deeply", msg);
}

const char *yytokname(int token) {
  return yysymbol_name(YYTRANSLATE(token));
}
