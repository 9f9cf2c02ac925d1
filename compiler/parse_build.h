/* parse_build.h — tree-building helpers called from the grammar's actions. */
#ifndef EFC_PARSE_BUILD_H
#define EFC_PARSE_BUILD_H
#include "ast.h"
#include "parse.h"

struct decl *pb_decl(struct parse_state *st, enum decl_kind kind, struct loc loc, const char *name, struct loc name_loc);
void pb_event_begin(struct parse_state *st);
void pb_event_attr(struct parse_state *st, int token, const char *value, struct loc loc);
void pb_event_finish(struct parse_state *st, struct loc loc, const char *name, struct loc name_loc, struct field_decl *fields);
struct type_expr *pb_type(struct parse_state *st, enum type_expr_kind kind, struct loc loc, const char *name);
struct field_decl *pb_field(struct parse_state *st, struct loc loc, const char *name, struct type_expr *type, int optional);
struct name_ref *pb_ref(struct parse_state *st, struct loc loc, const char *name);
struct stage_call *pb_stage(struct parse_state *st, enum stage_call_kind kind, struct loc loc, const char *name);
struct target *pb_target(struct parse_state *st, struct loc loc, const char *name, const char *arn);
struct param_decl *pb_param(struct parse_state *st, struct loc loc, const char *name, struct type_expr *type,
                            int optional, struct expr *default_value);
struct expr *pb_expr(struct parse_state *st, enum expr_kind kind, struct loc loc);
struct expr *pb_binary(struct parse_state *st, struct loc loc, enum expr_op op, struct expr *l, struct expr *r, int negated);
struct expr *pb_unary(struct parse_state *st, struct loc loc, enum expr_op op, struct expr *operand);
struct arg *pb_arg(struct parse_state *st, struct loc loc, const char *name, struct expr *value);

struct field_decl *pb_append_field(struct field_decl *list, struct field_decl *item);
struct name_ref *pb_append_ref(struct name_ref *list, struct name_ref *item);
struct stage_call *pb_append_stage(struct stage_call *list, struct stage_call *item);
struct target *pb_append_target(struct target *list, struct target *item);
struct param_decl *pb_append_param(struct param_decl *list, struct param_decl *item);
struct arg *pb_append_arg(struct arg *list, struct arg *item);

#endif
