/* fmt.c — pretty printer for .flow programs.
 *
 * Layout: two-space indent, one declaration per paragraph, one field or
 * stage per line, `on` first and `-> emit` last in a flow.  A stage longer
 * than the line limit puts one argument (or object entry) per line.
 * Comments are kept: each is printed before the first construct that
 * follows it, or after the construct on whose last line it stands.
 */
#include <string.h>
#include "fmt.h"

#define LINE_LIMIT 100

struct printer {
  struct printbuf *out;
  const struct comment *next_comment;   /* next comment not printed yet (NULL: drop comments) */
  int indent;
};

static void text(struct printer *p, const char *s) { printbuf_memappend(p->out, s, (int)strlen(s)); }

static void indent(struct printer *p) {
  for (int i = 0; i < p->indent; i++) text(p, "  ");
}

/* Comments that stand before `line` go on their own lines. */
static void comments_before(struct printer *p, int line) {
  while (p->next_comment && p->next_comment->loc.line < line) {
    const struct comment *c = p->next_comment;
    indent(p);
    text(p, c->text);
    text(p, "\n");
    p->next_comment = c->next;
    /* A blank line after a comment block is kept (one, however many there were). */
    int next = p->next_comment && p->next_comment->loc.line < line ? p->next_comment->loc.line : line;
    if (next > c->loc.line + 1 && next != 1 << 30) text(p, "\n");
  }
}

/* A comment on `line` (after the code just printed) stays at the end of the line. */
static void end_line(struct printer *p, int line) {
  if (p->next_comment && p->next_comment->loc.line == line) {
    text(p, "  ");
    text(p, p->next_comment->text);
    p->next_comment = p->next_comment->next;
  }
  text(p, "\n");
}

/* ---- names and literals ------------------------------------------------ */

static const char *const keywords[] = {
  "import", "type", "event", "flow", "route", "filter", "transformer", "view", "extern", "from", "as",
  "extends", "on", "where", "map", "emit", "and", "or", "not", "in", "cidr", "prefix", "suffix",
  "matches", "ieq", "true", "false", "null", "if", "then", "else",
};

static int is_keyword(const char *s) {
  for (size_t i = 0; i < sizeof keywords / sizeof *keywords; i++)
    if (strcmp(keywords[i], s) == 0) return 1;
  return 0;
}

static int is_identifier(const char *s) {
  if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_')) return 0;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_')) return 0;
  return 1;
}

static void string_literal(struct printbuf *out, const char *s, size_t n) {
  printbuf_memappend(out, "\"", 1);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    switch (c) {
    case '"': printbuf_memappend(out, "\\\"", 2); break;
    case '\\': printbuf_memappend(out, "\\\\", 2); break;
    case '\n': printbuf_memappend(out, "\\n", 2); break;
    case '\t': printbuf_memappend(out, "\\t", 2); break;
    case '\r': printbuf_memappend(out, "\\r", 2); break;
    case 0: printbuf_memappend(out, "\\0", 2); break;
    default:
      if (c < 0x20 || c == 0x7f) sprintbuf(out, "\\u{%x}", c);
      else printbuf_memappend(out, (const char *)&s[i], 1);
    }
  }
  printbuf_memappend(out, "\"", 1);
}

/* A bare name in an expression: keywords need backticks. */
static void name_ref(struct printbuf *out, const char *s) {
  if (is_keyword(s) || !is_identifier(s)) sprintbuf(out, "`%s`", s);
  else sprintbuf(out, "%s", s);
}

/* A key (field, object entry): any keyword is fine, other odd names are quoted. */
static void key(struct printbuf *out, const char *s) {
  if (is_identifier(s)) sprintbuf(out, "%s", s);
  else string_literal(out, s, strlen(s));
}

/* ---- expressions ------------------------------------------------------- */

enum { P_IF, P_OR, P_AND, P_NOT, P_CMP, P_ADD, P_MUL, P_UNARY, P_POSTFIX };

static int precedence(const struct expr *e) {
  switch (e->kind) {
  case E_IF: return P_IF;
  case E_UNARY: return e->op == EOP_NOT ? P_NOT : P_UNARY;
  case E_BINARY:
    switch (e->op) {
    case EOP_OR: return P_OR;
    case EOP_AND: return P_AND;
    case EOP_ADD: case EOP_SUB: return P_ADD;
    case EOP_MUL: case EOP_DIV: case EOP_MOD: return P_MUL;
    default: return P_CMP;
    }
  default: return P_POSTFIX;
  }
}

static void expr_at(const struct expr *e, struct printbuf *out, int min_prec);

static void args_inline(const struct arg *a, struct printbuf *out) {
  for (int first = 1; a; a = a->next, first = 0) {
    if (!first) printbuf_memappend(out, ", ", 2);
    if (a->spread) printbuf_memappend(out, "...", 3);
    else if (a->name) { key(out, a->name); printbuf_memappend(out, ": ", 2); }
    expr_at(a->value, out, P_IF);
  }
}

static void expr_at(const struct expr *e, struct printbuf *out, int min_prec) {
  int prec = precedence(e);
  int parens = prec < min_prec;
  if (parens) printbuf_memappend(out, "(", 1);
  switch (e->kind) {
  case E_NULL: sprintbuf(out, "null"); break;
  case E_BOOL: sprintbuf(out, e->i ? "true" : "false"); break;
  case E_INT: case E_FLOAT: case E_DURATION: sprintbuf(out, "%s", e->s); break;
  case E_STRING: string_literal(out, e->s, e->slen); break;
  case E_NAME: name_ref(out, e->s); break;
  case E_FIELD:
    expr_at(e->left, out, P_POSTFIX);
    printbuf_memappend(out, ".", 1);
    key(out, e->s);
    break;
  case E_INDEX:
    expr_at(e->left, out, P_POSTFIX);
    printbuf_memappend(out, "[", 1);
    expr_at(e->right, out, P_IF);
    printbuf_memappend(out, "]", 1);
    break;
  case E_UNARY:
    if (e->op == EOP_NOT) {
      sprintbuf(out, "not ");
      expr_at(e->left, out, P_NOT);
    } else {
      printbuf_memappend(out, "-", 1);
      expr_at(e->left, out, P_UNARY);
    }
    break;
  case E_BINARY: {
    int left = prec == P_CMP ? P_CMP + 1 : prec, right = prec + 1;
    expr_at(e->left, out, left);
    sprintbuf(out, " %s%s ", e->negated ? "not " : "", ast_op_text(e->op));
    expr_at(e->right, out, right);
    break;
  }
  case E_CALL:
    name_ref(out, e->s);
    printbuf_memappend(out, "(", 1);
    args_inline(e->args, out);
    printbuf_memappend(out, ")", 1);
    break;
  case E_OBJECT:
    if (!e->args) { sprintbuf(out, "{}"); break; }
    printbuf_memappend(out, "{ ", 2);
    args_inline(e->args, out);
    printbuf_memappend(out, " }", 2);
    break;
  case E_ARRAY:
    printbuf_memappend(out, "[", 1);
    args_inline(e->args, out);
    printbuf_memappend(out, "]", 1);
    break;
  case E_IF:
    sprintbuf(out, "if ");
    expr_at(e->cond, out, P_IF);
    sprintbuf(out, " then ");
    expr_at(e->left, out, P_IF);
    sprintbuf(out, " else ");
    expr_at(e->right, out, P_IF);
    break;
  }
  if (parens) printbuf_memappend(out, ")", 1);
}

void fmt_expr(const struct expr *e, struct printbuf *out) { expr_at(e, out, P_IF); }

/* ---- types ------------------------------------------------------------- */

static void fields(struct printer *p, const struct field_decl *f, int end_line_of_block);

static void type_expr(struct printer *p, const struct type_expr *t, int end_line_of_block) {
  switch (t->kind) {
  case TX_NAME: text(p, t->name); break;
  case TX_ARRAY:
    text(p, "[");
    type_expr(p, t->elem, end_line_of_block);
    text(p, "]");
    break;
  case TX_RECORD:
    if (!t->fields) { text(p, "{}"); break; }
    text(p, "{\n");
    p->indent++;
    fields(p, t->fields, t->loc.end_line);
    p->indent--;
    indent(p);
    text(p, "}");
    break;
  }
}

static void fields(struct printer *p, const struct field_decl *f, int close_line) {
  for (; f; f = f->next) {
    comments_before(p, f->loc.line);
    indent(p);
    if (f->spread) {
      sprintbuf(p->out, "...%s", f->spread);
      end_line(p, f->loc.end_line);
      continue;
    }
    key(p->out, f->name);
    if (f->type->kind == TX_RECORD) text(p, " ");
    else text(p, ": ");
    type_expr(p, f->type, close_line);
    if (f->optional) text(p, "?");
    end_line(p, f->type->loc.end_line);
  }
  comments_before(p, close_line);
}

/* ---- declarations ------------------------------------------------------ */

static void names(struct printer *p, const struct name_ref *r) {
  for (int first = 1; r; r = r->next, first = 0) {
    if (!first) text(p, ", ");
    text(p, r->name);
  }
}

/* A stage: on one line when it fits, else one argument or entry per line. */
static void stage(struct printer *p, const struct stage_call *s, const char *lead) {
  struct printbuf *line = printbuf_new();
  switch (s->kind) {
  case SC_WHERE:
    sprintbuf(line, "where ");
    fmt_expr(s->expr, line);
    break;
  case SC_MAP:
    sprintbuf(line, "map ");
    fmt_expr(s->expr, line);
    break;
  case SC_CALL:
    sprintbuf(line, "%s", s->name);
    if (s->has_parens) {
      printbuf_memappend(line, "(", 1);
      args_inline(s->args, line);
      printbuf_memappend(line, ")", 1);
    }
    break;
  }
  indent(p);
  text(p, lead);
  int width = p->indent * 2 + (int)strlen(lead) + printbuf_length(line);
  const struct arg *items = s->kind == SC_CALL ? s->args : s->kind == SC_MAP && s->expr->kind == E_OBJECT ? s->expr->args : NULL;
  if (width <= LINE_LIMIT || !items) {
    printbuf_memappend(p->out, line->buf, printbuf_length(line));
  } else {
    text(p, s->kind == SC_CALL ? s->name : "map");
    text(p, s->kind == SC_CALL ? "(\n" : " {\n");
    p->indent += 2;
    for (const struct arg *a = items; a; a = a->next) {
      struct printbuf *one = printbuf_new();
      args_inline(&(struct arg){ .name = a->name, .spread = a->spread, .value = a->value }, one);
      indent(p);
      printbuf_memappend(p->out, one->buf, printbuf_length(one));
      text(p, ",\n");
      printbuf_free(one);
    }
    p->indent -= 2;
    indent(p);
    text(p, s->kind == SC_CALL ? "  )" : "  }");
  }
  printbuf_free(line);
  end_line(p, s->loc.end_line);
}

static void params(struct printer *p, const struct param_decl *q) {
  for (int first = 1; q; q = q->next, first = 0) {
    if (!first) text(p, ", ");
    text(p, q->name);
    text(p, ": ");
    type_expr(p, q->type, 0);
    if (q->optional) text(p, "?");
    if (q->default_value) {
      text(p, " = ");
      fmt_expr(q->default_value, p->out);
    }
  }
}

static void decl(struct printer *p, const struct decl *d) {
  comments_before(p, d->loc.line);
  switch (d->kind) {
  case D_IMPORT:
    sprintbuf(p->out, "import %s", d->name);
    end_line(p, d->loc.end_line);
    return;
  case D_TYPE: case D_EVENT:
    sprintbuf(p->out, "%s %s", d->kind == D_TYPE ? "type" : "event", d->name);
    if (d->source) { text(p, " from "); string_literal(p->out, d->source, strlen(d->source)); }
    if (d->detail_type) { text(p, " as "); string_literal(p->out, d->detail_type, strlen(d->detail_type)); }
    if (d->extends) sprintbuf(p->out, " extends %s", d->extends);
    if (!d->fields) {
      text(p, " {}");
      end_line(p, d->loc.end_line);
      return;
    }
    text(p, " {\n");
    p->indent++;
    fields(p, d->fields, d->loc.end_line);
    p->indent--;
    text(p, "}");
    end_line(p, d->loc.end_line);
    return;
  case D_FLOW:
    sprintbuf(p->out, "flow %s {\n", d->name);
    p->indent++;
    comments_before(p, d->on ? d->on->loc.line : d->loc.line);
    indent(p);
    text(p, "on ");
    names(p, d->on);
    if (d->where) {
      text(p, " where ");
      fmt_expr(d->where, p->out);
    }
    end_line(p, d->where ? d->where->loc.end_line : d->on ? d->on->loc.end_line : d->loc.line);
    for (const struct stage_call *s = d->stages; s; s = s->next) {
      comments_before(p, s->loc.line);
      stage(p, s, "| ");
    }
    if (d->emit) {
      comments_before(p, d->emit->loc.line);
      indent(p);
      sprintbuf(p->out, "-> emit %s", d->emit->name);
      end_line(p, d->emit->loc.end_line);
    }
    comments_before(p, d->loc.end_line);
    p->indent--;
    text(p, "}");
    end_line(p, d->loc.end_line);
    return;
  case D_ROUTE:
    text(p, "route ");
    names(p, d->on);
    if (d->where) {
      text(p, " where ");
      fmt_expr(d->where, p->out);
    }
    text(p, " -> ");
    for (const struct target *t = d->targets; t; t = t->next) {
      if (t != d->targets) text(p, ", ");
      if (t->arn) { string_literal(p->out, t->arn, strlen(t->arn)); continue; }
      text(p, t->name);
      if (t->has_parens) {
        text(p, "(");
        args_inline(t->args, p->out);
        text(p, ")");
      }
      if (t->emit) sprintbuf(p->out, " -> emit %s", t->emit->name);
    }
    end_line(p, d->loc.end_line);
    return;
  case D_STAGE: {
    static const char *const kinds[] = { "filter", "transformer", "view" };
    if (d->is_extern) text(p, "extern ");
    sprintbuf(p->out, "%s %s(", kinds[d->stage_kind], d->name);
    params(p, d->params);
    text(p, ")");
    if (d->is_extern) {
      text(p, " -> ");
      type_expr(p, d->output_type, d->loc.end_line);
      end_line(p, d->loc.end_line);
      return;
    }
    text(p, " {\n");
    p->indent++;
    for (const struct stage_call *s = d->stages; s; s = s->next) {
      comments_before(p, s->loc.line);
      stage(p, s, s == d->stages ? "" : "| ");
    }
    comments_before(p, d->loc.end_line);
    p->indent--;
    text(p, "}");
    end_line(p, d->loc.end_line);
    return;
  }
  }
}

/* Imports stay together; every other declaration is its own paragraph. */
void fmt_program(const struct program *program, struct printbuf *out) {
  struct printer p = { out, program->comments, 0 };
  const struct decl *prev = NULL;
  for (const struct decl *d = program->decls; d; d = d->next) {
    if (d->module) continue;
    if (prev && !(prev->kind == D_IMPORT && d->kind == D_IMPORT) &&
        !(prev->kind == D_ROUTE && d->kind == D_ROUTE && d->loc.line == prev->loc.end_line + 1))
      text(&p, "\n");
    decl(&p, d);
    prev = d;
  }
  if (p.next_comment && prev) text(&p, "\n");
  comments_before(&p, 1 << 30);
}

void fmt_decl(const struct decl *d, struct printbuf *out) {
  struct printer p = { out, NULL, 0 };
  decl(&p, d);
}
