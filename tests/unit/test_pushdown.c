/* test_pushdown.c — splitting a `where` into an event pattern and a residual.
 *
 * Table-driven: each row is a flow's `where` over one fixed event, the
 * pattern that should be written for it (serialised with
 * PATTERN_SERIALIZE_FLAGS) and the residual left to the runtime (fmt_expr
 * of pushdown_residual, "" when nothing is left).  Expectations follow the
 * rule in pushdown.h / pushdown.c: a conjunct goes into the pattern only if
 * the pattern gives the same answer as the runtime's three-valued logic
 * (runtime/opcodes.h: a comparison with an absent field is unknown, `not`
 * keeps it unknown, `where` passes only true) for every event the schema
 * allows.  Every pattern must also pass the EventBridge validator.
 *
 * Rows marked `bug` state the right behaviour where the code does not (yet)
 * do it; they print "# KNOWN BUG" and pass unless EFC_STRICT_KNOWN_BUGS=1.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ast.h"
#include "check.h"
#include "diag.h"
#include "fmt.h"
#include "parse.h"
#include "pattern.h"
#include "pushdown.h"

static const char *const EVENT =
  "event E from \"test.src\" as \"Thing Happened\" {\n"
  "  s: string\n"
  "  n: int\n"
  "  f: float\n"
  "  b: bool\n"
  "  os: string?\n"
  "  oi: int?\n"
  "  r { x: string, y: int, z: bool? }\n"
  "  ro { w: string? }?\n"
  "  tags: [string]\n"
  "  recs: [{ k: string }]\n"
  "  ip: string\n"
  "  t: time\n"
  "  a: any\n"
  "}\n"
  "event Out { s: string }\n";

/* The pattern: source and detail-type always, then what was pushed. */
#define P(rest) "{\"source\":[\"test.src\"],\"detail-type\":[\"Thing Happened\"]" rest "}"
#define D(fields) P(",\"detail\":{" fields "}")

struct row {
  const char *where;     /* NULL: a flow without `where` */
  const char *pattern;
  const char *residual;  /* "" when everything was pushed */
  const char *bug;       /* NULL, or what is wrong today */
};

static const struct row rows[] = {
  /* ---- equality on strings ---- */
  { "s == \"a\"", D("\"s\":[\"a\"]"), "", NULL },
  { "s != \"a\"", D("\"s\":[{\"anything-but\":\"a\"}]"), "", NULL },
  /* absent optional field: `!=` is unknown, anything-but does not match either */
  { "os != \"x\"", D("\"os\":[{\"anything-but\":\"x\"}]"), "", NULL },
  { "not (s == \"a\")", D("\"s\":[{\"anything-but\":\"a\"}]"), "", NULL },
  { "r.x == \"q\"", D("\"r\":{\"x\":[\"q\"]}"), "", NULL },
  { "s == \"a\\0b\"", P(""), "s == \"a\\0b\"", NULL },                     /* NUL cannot go in a pattern */
  { "\"a\" == s", D("\"s\":[\"a\"]"), "",
    "`\"a\" == s` (constant on the left of ==) is not pushed although `s == \"a\"` is" },
  { "a == \"x\"", P(""), "a == \"x\"", NULL },                              /* type any: unknown JSON type */

  /* ---- numbers ---- */
  { "n == 5", D("\"n\":[{\"numeric\":[\"=\",5]}]"), "", NULL },
  { "f == 1.25", D("\"f\":[{\"numeric\":[\"=\",1.25]}]"), "", NULL },
  { "n != 5", P(""), "n != 5", NULL },
  { "not (n == 5)", P(""), "not n == 5", NULL },
  { "n > 1 and n <= 5", D("\"n\":[{\"numeric\":[\">\",1,\"<=\",5]}]"), "", NULL },
  { "f >= 0.5 and s == \"q\" and f < 1.25", D("\"f\":[{\"numeric\":[\">=\",0.5,\"<\",1.25]}],\"s\":[\"q\"]"), "", NULL },
  { "n > 5 and n < 1", D("\"n\":[{\"numeric\":[\">\",5]}]"), "n < 1", NULL },      /* empty range: EventBridge refuses it */
  { "n >= 1 and n >= 2", D("\"n\":[{\"numeric\":[\">=\",1]}]"), "n >= 2", NULL },   /* two lower bounds */
  { "f > -1.5", D("\"f\":[{\"numeric\":[\">\",-1.5]}]"), "", NULL },
  { "3 < n", D("\"n\":[{\"numeric\":[\">\",3]}]"), "", NULL },
  { "10 >= oi", D("\"oi\":[{\"numeric\":[\"<=\",10]}]"), "", NULL },
  { "not (n < 3)", D("\"n\":[{\"numeric\":[\">=\",3]}]"), "", NULL },
  { "not (3 < n)", D("\"n\":[{\"numeric\":[\"<=\",3]}]"), "", NULL },
  { "f > 1.5e3", D("\"f\":[{\"numeric\":[\">\",1.5e3]}]"), "", NULL },             /* spelling kept */
  { "r.y < 5000000000", D("\"r\":{\"y\":[{\"numeric\":[\"<\",5000000000]}]}"), "", NULL },   /* the bound itself */
  { "n > 6e9", P(""), "n > 6e9", NULL },
  { "n < 6000000000", P(""), "n < 6000000000", NULL },
  { "n > -6e9 and n < 3", D("\"n\":[{\"numeric\":[\"<\",3]}]"), "n > -6e9", NULL },
  { "f > 1.1234567", P(""), "f > 1.1234567", NULL },                         /* more than six decimals */

  /* ---- string operators ---- */
  { "s prefix \"a\"", D("\"s\":[{\"prefix\":\"a\"}]"), "", NULL },
  { "s not prefix \"a\"", D("\"s\":[{\"anything-but\":{\"prefix\":\"a\"}}]"), "", NULL },
  { "s suffix \".png\"", D("\"s\":[{\"suffix\":\".png\"}]"), "", NULL },
  { "s not suffix \".png\"", D("\"s\":[{\"anything-but\":{\"suffix\":\".png\"}}]"), "", NULL },
  { "s matches \"a*b\"", D("\"s\":[{\"wildcard\":\"a*b\"}]"), "", NULL },
  { "ro.w not matches \"*Private*\"", D("\"ro\":{\"w\":[{\"anything-but\":{\"wildcard\":\"*Private*\"}}]}"), "", NULL },
  { "s matches \"a**b\"", P(""), "s matches \"a**b\"", NULL },               /* refused by EventBridge */
  { "s ieq \"AbC\"", D("\"s\":[{\"equals-ignore-case\":\"AbC\"}]"), "", NULL },
  { "not (s ieq \"x\")", D("\"s\":[{\"anything-but\":{\"equals-ignore-case\":\"x\"}}]"), "", NULL },
  { "t prefix \"2024-\"", D("\"t\":[{\"prefix\":\"2024-\"}]"), "", NULL },

  /* ---- lists, cidr ---- */
  { "s in [\"a\", \"b\"]", D("\"s\":[\"a\",\"b\"]"), "", NULL },
  { "n in [1, 2.5]", D("\"n\":[{\"numeric\":[\"=\",1]},{\"numeric\":[\"=\",2.5]}]"), "", NULL },
  { "s not in [\"a\", \"b\"]", D("\"s\":[{\"anything-but\":[\"a\",\"b\"]}]"), "", NULL },
  { "n not in [1, 2]", P(""), "n not in [1, 2]", NULL },
  { "n in [1, 6e9]", P(""), "n in [1, 6e9]", NULL },
  { "s in [\"a\", r.x]", P(""), "s in [\"a\", r.x]", NULL },
  { "ip in cidr \"10.0.0.0/8\"", D("\"ip\":[{\"cidr\":\"10.0.0.0/8\"}]"), "", NULL },
  { "ip not in cidr \"10.0.0.0/8\"", P(""), "ip not in cidr \"10.0.0.0/8\"", NULL },

  /* ---- exists, bools, contains ---- */
  { "exists(os)", D("\"os\":[{\"exists\":true}]"), "", NULL },
  { "not exists(os)", D("\"os\":[{\"exists\":false}]"), "", NULL },
  { "not exists(ro.w)", D("\"ro\":{\"w\":[{\"exists\":false}]}"), "", NULL },
  { "exists(r)", P(""), "exists(r)", NULL },                                 /* exists only tests leaves */
  { "exists(recs)", P(""), "exists(recs)",
    "exists() on an array of records is pushed as {\"exists\":true}, but EventBridge's exists only tests leaf "
    "nodes, so it never matches a non-empty array of objects" },
  { "exists(tags)", P(""), "exists(tags)",
    "exists() on an array is pushed, but an empty array has no leaf for EventBridge (exists:true fails) while "
    "the runtime's EXISTS is true for []" },
  { "not exists(tags)", P(""), "not exists(tags)",
    "not exists() on an array is pushed as {\"exists\":false}, which EventBridge matches for an empty array "
    "although the runtime's EXISTS is true for []" },
  { "not exists(recs)", P(""), "not exists(recs)",
    "not exists() on an array of records is pushed as {\"exists\":false}, which EventBridge matches whenever "
    "the array holds objects (the path is not a leaf)" },
  { "b", D("\"b\":[true]"), "", NULL },
  { "not b", D("\"b\":[false]"), "", NULL },
  { "b == false", D("\"b\":[false]"), "", NULL },
  { "r.z", D("\"r\":{\"z\":[true]}"), "", NULL },
  { "b != true", P(""), "b != true", NULL },
  { "contains(tags, \"x\")", D("\"tags\":[\"x\"]"), "", NULL },
  { "not contains(tags, \"x\")", P(""), "not contains(tags, \"x\")", NULL },
  { "contains(s, \"x\")", P(""), "contains(s, \"x\")", NULL },               /* substring, not an array */

  /* ---- or ---- */
  { "s == \"a\" or s == \"b\"", D("\"s\":[\"a\",\"b\"]"), "", NULL },
  { "contains(tags, \"x\") or contains(tags, \"y\")", D("\"tags\":[\"x\",\"y\"]"), "", NULL },
  { "oi >= 0 or not exists(oi)", D("\"oi\":[{\"numeric\":[\">=\",0]},{\"exists\":false}]"), "", NULL },
  { "s == \"a\" or n > 3", P(",\"$or\":[{\"detail\":{\"s\":[\"a\"]}},{\"detail\":{\"n\":[{\"numeric\":[\">\",3]}]}}]"), "", NULL },
  { "(s == \"a\" and n == 1) or b",
    P(",\"$or\":[{\"detail\":{\"s\":[\"a\"],\"n\":[{\"numeric\":[\"=\",1]}]}},{\"detail\":{\"b\":[true]}}]"), "", NULL },
  { "s == \"a\" or len(s) > 3", P(""), "s == \"a\" or len(s) > 3", NULL },
  { "not (s == \"a\" or n > 3)", P(""), "not (s == \"a\" or n > 3)", NULL },

  /* ---- several conjuncts on one field ---- */
  { "s == \"a\" and s prefix \"b\"", D("\"s\":[\"a\"]"), "s prefix \"b\"", NULL },
  { "n > 1 and s == \"a\" and n < 9 and s != \"c\"",
    D("\"n\":[{\"numeric\":[\">\",1,\"<\",9]}],\"s\":[\"a\"]"), "s != \"c\"", NULL },

  /* ---- envelope fields ---- */
  { "account == \"123456789012\" and region == \"eu-west-1\"",
    P(",\"account\":[\"123456789012\"],\"region\":[\"eu-west-1\"]"), "", NULL },
  { "detail_type == \"A\" or account == \"1\"",
    P(",\"$or\":[{\"detail-type\":[\"A\"]},{\"account\":[\"1\"]}]"), "", NULL },
  { "source prefix \"x\" or id == \"1\"",
    P(",\"$or\":[{\"source\":[{\"prefix\":\"x\"}]},{\"id\":[\"1\"]}]"), "", NULL },
  /* the rule already pins source and detail-type: one pattern cannot require both */
  { "source == \"other\"", P(""), "source == \"other\"", NULL },
  { "detail_type != \"x\"", P(""), "detail_type != \"x\"", NULL },
  { "time prefix \"2024-\"", P(",\"time\":[{\"prefix\":\"2024-\"}]"), "", NULL },
  { "contains(resources, \"arn:aws:s3:::b\")", P(",\"resources\":[\"arn:aws:s3:::b\"]"), "", NULL },

  /* ---- computations stay in the runtime ---- */
  { "n + 1 > 3", P(""), "n + 1 > 3", NULL },
  { "len(s) > 3", P(""), "len(s) > 3", NULL },
  { "lower(s) == \"a\"", P(""), "lower(s) == \"a\"", NULL },
  { "n > r.y", P(""), "n > r.y", NULL },
  { "if b then s == \"a\" else false", P(""), "if b then s == \"a\" else false", NULL },
  { "s == \"a\" and len(s) > 3 and n == 2 and f * 2.0 > 1.0",
    D("\"s\":[\"a\"],\"n\":[{\"numeric\":[\"=\",2]}]"), "len(s) > 3 and f * 2.0 > 1.0", NULL },

  /* ---- no where ---- */
  { NULL, P(""), "", NULL },
};
#define N_ROWS (sizeof rows / sizeof *rows)

/* ---- running a row ------------------------------------------------------ */

static int strict_known_bugs(void)
{
  const char *s = getenv("EFC_STRICT_KNOWN_BUGS");
  return s && *s && strcmp(s, "0") != 0;
}

static size_t count_conjuncts(const struct expr *e)
{
  if (!e) return 0;
  if (e->kind == E_BINARY && e->op == EOP_AND && !e->negated) return count_conjuncts(e->left) + count_conjuncts(e->right);
  return 1;
}

struct split {
  struct diag d;
  struct program *p;
  const struct decl *event, *flow;
  struct pushdown pd;
  char *pattern;    /* malloc'd */
  char *residual;   /* malloc'd */
};

static void split_where(struct split *s, const char *where)
{
  char buf[4096];
  snprintf(buf, sizeof buf, "%sflow f {\n  on E%s%s\n  | map { s: s }\n  -> emit Out\n}\n", EVENT, where ? " where " : "",
           where ? where : "");
  diag_init(&s->d);
  const struct source *src = diag_add_source(&s->d, "pd.flow", buf, strlen(buf));
  s->p = parse_program(&s->d, src);
  if (s->d.errors == 0) check_program(s->p, &s->d);
  for (size_t i = 0; i < s->d.count; i++)
    print_message("# %d:%d: %s\n", s->d.items[i].loc.line, s->d.items[i].loc.col, s->d.items[i].message);
  assert_int_equal(s->d.errors, 0);
  s->event = check_find(s->p, D_EVENT, "E");
  s->flow = check_find(s->p, D_FLOW, "f");
  assert_non_null(s->event);
  assert_non_null(s->flow);
  pushdown_split(s->p, s->event, s->flow->where, &s->pd);
  assert_non_null(s->pd.pattern);
  s->pattern = strdup(json_object_to_json_string_ext(s->pd.pattern, PATTERN_SERIALIZE_FLAGS));
  struct printbuf *pb = printbuf_new();
  struct expr *r = pushdown_residual(s->p, &s->pd);
  if (r) fmt_expr(r, pb);
  s->residual = strdup(r ? pb->buf : "");
  printbuf_free(pb);
}

static void split_free(struct split *s)
{
  free(s->pattern);
  free(s->residual);
  json_object_put(s->pd.pattern);
  ast_program_free(s->p);
  diag_free(&s->d);
}

static void run_row(void **state)
{
  const struct row *row = *state;
  struct split s;
  split_where(&s, row->where);

  /* Whatever else, the pattern is one EventBridge accepts. */
  char reason[256] = "";
  int valid = pattern_validate(s.pd.pattern, reason, sizeof reason);
  if (valid != 0) print_message("# pattern %s is invalid: %s\n", s.pattern, reason);
  assert_int_equal(valid, 0);
  assert_int_equal(pattern_validate_text(s.pattern, reason, sizeof reason), 0);

  /* Every conjunct is either pushed or kept, and each kept one says why. */
  assert_int_equal(s.pd.npushed + s.pd.nkept, count_conjuncts(s.flow->where));
  for (size_t i = 0; i < s.pd.nkept; i++) {
    assert_non_null(s.pd.why[i]);
    assert_true(strlen(s.pd.why[i]) > 0);
  }
  assert_int_equal(s.pd.nkept == 0, s.residual[0] == 0);

  int same = strcmp(s.pattern, row->pattern) == 0 && strcmp(s.residual, row->residual) == 0;
  if (!same) {
    print_message("# where:         %s\n", row->where ? row->where : "(none)");
    print_message("# pattern got:   %s\n#         want:  %s\n", s.pattern, row->pattern);
    print_message("# residual got:  \"%s\"\n#          want: \"%s\"\n", s.residual, row->residual);
  }
  if (row->bug && !same) {
    print_message("# KNOWN BUG: %s\n", row->bug);
    if (strict_known_bugs()) fail_msg("known bug: %s", row->bug);
  } else {
    assert_string_equal(s.pattern, row->pattern);
    assert_string_equal(s.residual, row->residual);
  }
  split_free(&s);
}

/* The same `where` gives the same pattern and residual every time. */
static void deterministic(void **state)
{
  (void)state;
  const char *w = "s == \"a\" or n > 3 and b";
  struct split a, b;
  split_where(&a, w);
  split_where(&b, w);
  assert_string_equal(a.pattern, b.pattern);
  assert_string_equal(a.residual, b.residual);
  split_free(&a);
  split_free(&b);
}

/* The kept conjuncts are the tree's own nodes, in source order. */
static void kept_are_source_nodes(void **state)
{
  (void)state;
  struct split s;
  split_where(&s, "len(s) > 1 and s == \"a\" and n != 2");
  assert_int_equal(s.pd.npushed, 1);
  assert_int_equal(s.pd.nkept, 2);
  const struct expr *w = s.flow->where;   /* ((len > 1 and s == a) and n != 2) */
  assert_ptr_equal(s.pd.kept[0], w->left->left);
  assert_ptr_equal(s.pd.kept[1], w->right);
  assert_ptr_equal(s.pd.pushed[0], w->left->right);
  assert_non_null(strstr(s.pd.why[0], "len"));
  assert_non_null(strstr(s.pd.why[1], "!="));
  split_free(&s);
}

/* An event without `from`/`as` is matched on the application's defaults. */
static void default_source_and_detail_type(void **state)
{
  (void)state;
  struct diag d;
  diag_init(&d);
  const char *text = "event Plain { x: string }\nflow f { on Plain where x == \"1\" -> emit Plain }\n";
  const struct source *src = diag_add_source(&d, "my app.flow", text, strlen(text));
  struct program *p = parse_program(&d, src);
  assert_int_equal(check_program(p, &d), 0);
  struct pushdown pd;
  pushdown_split(p, check_find(p, D_EVENT, "Plain"), check_find(p, D_FLOW, "f")->where, &pd);
  assert_string_equal(json_object_to_json_string_ext(pd.pattern, PATTERN_SERIALIZE_FLAGS),
                      "{\"source\":[\"efc.my-app\"],\"detail-type\":[\"Plain\"],\"detail\":{\"x\":[\"1\"]}}");
  assert_null(pushdown_residual(p, &pd));
  json_object_put(pd.pattern);
  ast_program_free(p);
  diag_free(&d);
}

int main(void)
{
  static char names[N_ROWS][112];
  struct CMUnitTest tests[N_ROWS + 3];
  size_t n = 0;
  for (size_t i = 0; i < N_ROWS; i++) {
    snprintf(names[i], sizeof names[i], "row_%02zu where %s", i + 1, rows[i].where ? rows[i].where : "(none)");
    tests[n++] = (struct CMUnitTest){ names[i], run_row, NULL, NULL, (void *)&rows[i] };
  }
  tests[n++] = (struct CMUnitTest)cmocka_unit_test(deterministic);
  tests[n++] = (struct CMUnitTest)cmocka_unit_test(kept_are_source_nodes);
  tests[n++] = (struct CMUnitTest)cmocka_unit_test(default_source_and_detail_type);
  cmocka_set_message_output(CM_OUTPUT_TAP);
  return _cmocka_run_group_tests("test_pushdown", tests, n, NULL, NULL);
}
