/* ast.h — the syntax tree of a .flow program.
 *
 * The parser builds it and nothing else; the checker annotates expressions
 * with types; the emitters and the formatter walk it.  Every node lives in
 * the program's arena and is freed with it (ast_program_free), so no node
 * is ever freed alone.  Lists are singly linked through `next`, in source
 * order.
 */
#ifndef EFC_AST_H
#define EFC_AST_H

#include <stddef.h>
#include <stdint.h>
#include "arena.h"
#include "diag.h"

struct type;

/* ---- types written in source ------------------------------------------ */

enum type_expr_kind { TX_NAME, TX_ARRAY, TX_RECORD };

struct field_decl;

struct type_expr {
  enum type_expr_kind kind;
  struct loc loc;
  const char *name;               /* TX_NAME: string, int, ..., or a declared type */
  struct type_expr *elem;         /* TX_ARRAY */
  struct field_decl *fields;      /* TX_RECORD */
};

struct field_decl {
  struct loc loc;
  const char *name;               /* NULL for a spread */
  const char *spread;             /* `...name` (only in extern stage outputs) */
  struct type_expr *type;
  int optional;                   /* declared with `?` */
  struct field_decl *next;
};

/* ---- expressions ------------------------------------------------------- */

#define EXPR_KINDS(X) \
  X(E_NULL) X(E_BOOL) X(E_INT) X(E_FLOAT) X(E_STRING) X(E_DURATION) \
  X(E_NAME)      /* a bare identifier: a row field, a parameter, or an envelope field */ \
  X(E_FIELD)     /* left.name */ \
  X(E_INDEX)     /* left[right] */ \
  X(E_UNARY)     /* op left */ \
  X(E_BINARY)    /* left op right */ \
  X(E_CALL)      /* name(args) */ \
  X(E_OBJECT)    /* { entries } */ \
  X(E_ARRAY)     /* [ items ] */ \
  X(E_IF)        /* if cond then left else right */

enum expr_kind {
#define X(k) k,
  EXPR_KINDS(X)
#undef X
};

#define BINARY_OPS(X) \
  X(EOP_OR, "or") X(EOP_AND, "and") \
  X(EOP_EQ, "==") X(EOP_NE, "!=") X(EOP_LT, "<") X(EOP_LE, "<=") X(EOP_GT, ">") X(EOP_GE, ">=") \
  X(EOP_PREFIX, "prefix") X(EOP_SUFFIX, "suffix") X(EOP_MATCHES, "matches") X(EOP_IEQ, "ieq") \
  X(EOP_IN, "in") X(EOP_IN_CIDR, "in cidr") \
  X(EOP_ADD, "+") X(EOP_SUB, "-") X(EOP_MUL, "*") X(EOP_DIV, "/") X(EOP_MOD, "%") \
  X(EOP_NOT, "not") X(EOP_NEG, "-")

enum expr_op {
#define X(k, s) k,
  BINARY_OPS(X)
#undef X
};

const char *ast_op_text(enum expr_op op);

struct arg;        /* name: value, in calls */

/* What a bare name refers to. */
enum name_ref_kind { REF_ROW, REF_ENVELOPE, REF_PARAM };

struct expr {
  enum expr_kind kind;
  struct loc loc;
  enum expr_op op;              /* E_UNARY, E_BINARY */
  int negated;                  /* E_BINARY: `not prefix`, `not in`, ... */
  int64_t i;                    /* E_INT, E_BOOL, E_DURATION (milliseconds) */
  double f;                     /* E_FLOAT */
  const char *s;                /* E_STRING value, E_NAME/E_FIELD/E_CALL name, E_DURATION/E_FLOAT/E_INT source text */
  size_t slen;                  /* E_STRING length (may contain NUL) */
  struct expr *left, *right, *cond;
  struct arg *args;             /* E_CALL args, E_OBJECT entries, E_ARRAY items */
  const struct type *type;      /* set by the checker */
  int ref;                      /* E_NAME: enum name_ref_kind, set by the checker */
  struct expr *next;            /* in lists */
};

/* A call argument, an object entry (name: value or ...value) or an array item. */
struct arg {
  struct loc loc;
  const char *name;             /* NULL for positional args, array items and spreads */
  int spread;                   /* `...value` in an object */
  struct expr *value;
  struct arg *next;
};

/* ---- declarations ------------------------------------------------------ */

enum stage_call_kind { SC_WHERE, SC_MAP, SC_CALL };

struct stage_call {
  enum stage_call_kind kind;
  struct loc loc;
  const char *name;             /* SC_CALL: the filter/transformer/view */
  struct expr *expr;            /* SC_WHERE predicate, SC_MAP object */
  struct arg *args;             /* SC_CALL */
  int has_parens;               /* SC_CALL written with (...) */
  const struct decl *target;    /* set by the checker */
  struct arg *bound;            /* set by the checker: one per parameter, in order (value NULL if omitted) */
  struct stage_call *next;
};

struct name_ref {
  struct loc loc;
  const char *name;
  struct name_ref *next;
};

/* A route target: an ARN string, or a stage call whose result is emitted
 * as an event (`-> summarizer(...) -> emit Summary`). */
struct target {
  struct loc loc;
  const char *name;             /* stage name; NULL for an ARN */
  const char *arn;
  struct arg *args;
  int has_parens;
  struct name_ref *emit;        /* stage targets: the event the result becomes */
  const struct decl *resolved;  /* set by the checker: the stage */
  struct arg *bound;            /* set by the checker, as for stage calls */
  struct target *next;
};

struct param_decl {
  struct loc loc;
  const char *name;
  struct type_expr *type;
  int optional;
  struct expr *default_value;
  struct param_decl *next;
};

enum decl_kind { D_IMPORT, D_TYPE, D_EVENT, D_FLOW, D_ROUTE, D_STAGE };
enum stage_kind_decl { SK_FILTER, SK_TRANSFORMER, SK_VIEW };

struct comment { struct loc loc; const char *text; struct comment *next; };

struct decl {
  enum decl_kind kind;
  struct loc loc;
  const char *name;             /* import path, type/event/flow/stage name; route: generated id */
  struct loc name_loc;
  /* D_EVENT */
  const char *source;           /* `from "..."` */
  const char *detail_type;      /* `as "..."` */
  const char *extends;          /* `extends Type` */
  struct loc extends_loc;
  /* D_TYPE, D_EVENT */
  struct field_decl *fields;
  /* D_FLOW, D_ROUTE */
  struct name_ref *on;
  struct expr *where;
  struct stage_call *stages;    /* D_FLOW, and D_STAGE bodies */
  struct name_ref *emit;        /* D_FLOW: `-> emit Event` */
  struct target *targets;       /* D_ROUTE */
  /* D_STAGE */
  enum stage_kind_decl stage_kind;
  int is_extern;
  struct param_decl *params;
  struct type_expr *output_type;  /* extern: `-> type` */
  const char *module;           /* module the declaration came from (NULL: the user's file) */
  const struct type *type;      /* set by the checker: D_TYPE/D_EVENT record, D_FLOW input row */
  const struct type *output;    /* set by the checker: D_FLOW row reaching `emit` */
  struct decl *next;
};

struct program {
  struct arena arena;
  const char *path;             /* the main file */
  const char *app;              /* application name: the main file's base name */
  const char *default_source;   /* source of events declared without `from`: "efc.<app>" */
  struct decl *decls;           /* user's declarations then imported ones, in order */
  struct comment *comments;     /* every comment of the main file, in order */
};

struct program *ast_program_new(void);
void ast_program_free(struct program *program);

#endif
