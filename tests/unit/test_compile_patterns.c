/* test_compile_patterns.c — every example compiles to artefacts AWS accepts.
 *
 * Compiles each examples/DIR/NAME.flow (found from the current directory: run
 * from the repository root, as `prove` is) with the library and checks:
 * no errors; every rule's EventPattern passes the EventBridge validator
 * and is the serialised pattern of its split; rule names are 1-64 of
 * [.-_A-Za-z0-9] and unique; at most 5 targets per rule; every
 * BatchWriteItem body has at most 25 PutRequests of well-formed items;
 * compiling again from scratch gives byte-identical rules, store items and
 * image; and the image loads.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <glob.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "compile.h"
#include "diag.h"
#include "image.h"
#include "parse.h"
#include "pattern.h"

#define EXAMPLES_GLOB "examples/*/*.flow"

struct compiled {
  struct diag d;
  struct program *p;
  struct compilation c;
  int compiled;
  char *rules_text, *store_text;   /* malloc'd */
};

static void dump_diags(const struct diag *d)
{
  for (size_t i = 0; i < d->count; i++)
    print_message("# %s:%d:%d: %s\n", d->items[i].loc.src ? d->items[i].loc.src->path : "-", d->items[i].loc.line,
                  d->items[i].loc.col, d->items[i].message);
}

static void compile_file(struct compiled *x, const char *path)
{
  memset(x, 0, sizeof *x);
  diag_init(&x->d);
  const struct source *src = diag_load_file(&x->d, path);
  assert_non_null(src);
  x->p = parse_program(&x->d, src);
  assert_non_null(x->p);
  if (x->d.errors == 0) check_program(x->p, &x->d);
  if (x->d.errors == 0) {
    compile_program(x->p, &x->d, NULL, &x->c);
    x->compiled = 1;
  }
  if (x->d.count) dump_diags(&x->d);
  assert_int_equal(x->d.errors, 0);
  assert_non_null(x->c.rules_json);
  assert_non_null(x->c.store_json);
  assert_non_null(x->c.image);
  assert_non_null(x->c.image_bytes);
  x->rules_text = strdup(json_object_to_json_string_ext(x->c.rules_json, JSON_C_TO_STRING_PRETTY));
  x->store_text = strdup(json_object_to_json_string_ext(x->c.store_json, JSON_C_TO_STRING_PRETTY));
}

static void compiled_free(struct compiled *x)
{
  free(x->rules_text);
  free(x->store_text);
  if (x->compiled) compilation_free(&x->c);
  ast_program_free(x->p);
  diag_free(&x->d);
}

static struct json_object *get(struct json_object *o, const char *key, enum json_type type)
{
  struct json_object *v = NULL;
  if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, type)) {
    print_message("# missing or mistyped key \"%s\" in %s\n", key, json_object_to_json_string(o));
    fail();
  }
  return v;
}

static int valid_rule_name(const char *s)
{
  size_t n = strlen(s);
  if (n < 1 || n > 64) return 0;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '.' ||
          *s == '-' || *s == '_'))
      return 0;
  return 1;
}

static void check_rules(struct compiled *x)
{
  struct json_object *rules = x->c.rules_json;
  assert_true(json_object_is_type(rules, json_type_array));
  size_t n = json_object_array_length(rules);
  assert_true(n > 0);
  for (size_t i = 0; i < n; i++) {
    struct json_object *r = json_object_array_get_idx(rules, i);
    const char *name = json_object_get_string(get(r, "Name", json_type_string));
    if (!valid_rule_name(name)) print_message("# bad rule name \"%s\"\n", name);
    assert_true(valid_rule_name(name));
    for (size_t k = 0; k < i; k++)
      assert_string_not_equal(name, json_object_get_string(get(json_object_array_get_idx(rules, k), "Name", json_type_string)));

    struct json_object *pattern = NULL, *schedule = NULL;
    json_object_object_get_ex(r, "EventPattern", &pattern);
    json_object_object_get_ex(r, "ScheduleExpression", &schedule);
    assert_true((pattern != NULL) != (schedule != NULL));   /* exactly one of them */
    if (pattern) {
      assert_true(json_object_is_type(pattern, json_type_string));
      const char *text = json_object_get_string(pattern);
      char reason[256] = "";
      int valid = pattern_validate_text(text, reason, sizeof reason);
      if (valid != 0) print_message("# rule %s: pattern %s is invalid: %s\n", name, text, reason);
      assert_int_equal(valid, 0);
    }

    struct json_object *targets = get(r, "Targets", json_type_array);
    size_t nt = json_object_array_length(targets);
    assert_true(nt >= 1);
    assert_true(nt <= COMPILE_MAX_TARGETS);
    for (size_t t = 0; t < nt; t++) {
      struct json_object *tg = json_object_array_get_idx(targets, t);
      const char *id = json_object_get_string(get(tg, "Id", json_type_string));
      assert_true(strlen(id) >= 1 && strlen(id) <= 64);
      assert_true(strlen(json_object_get_string(get(tg, "Arn", json_type_string))) > 0);
      for (size_t k = 0; k < t; k++)   /* target ids are unique within a rule */
        assert_string_not_equal(id, json_object_get_string(get(json_object_array_get_idx(targets, k), "Id", json_type_string)));
      struct json_object *it = NULL;
      if (json_object_object_get_ex(tg, "InputTransformer", &it))
        assert_true(strlen(json_object_get_string(get(it, "InputTemplate", json_type_string))) > 0);
    }
  }

  /* Each compiled rule's split is exactly the pattern its JSON carries. */
  for (size_t i = 0; i < x->c.nrules; i++) {
    const struct compiled_rule *cr = &x->c.rules[i];
    assert_non_null(cr->json);
    assert_non_null(cr->name);
    if (!cr->event) continue;   /* the schedule rule */
    struct json_object *pattern = get(cr->json, "EventPattern", json_type_string);
    assert_string_equal(json_object_get_string(pattern),
                        json_object_to_json_string_ext(cr->split.pattern, PATTERN_SERIALIZE_FLAGS));
    char reason[256];
    assert_int_equal(pattern_validate(cr->split.pattern, reason, sizeof reason), 0);
  }
}

static void check_json_text_attr(struct json_object *item, const char *name)
{
  struct json_object *attr = NULL;
  if (!json_object_object_get_ex(item, name, &attr)) return;
  const char *text = json_object_get_string(get(attr, "S", json_type_string));
  struct json_object *parsed = json_tokener_parse(text);
  assert_non_null(parsed);
  json_object_put(parsed);
}

static void check_store(struct compiled *x)
{
  struct json_object *bodies = x->c.store_json;
  assert_true(json_object_is_type(bodies, json_type_array));
  size_t n = json_object_array_length(bodies), items = 0;
  assert_true(n >= 1);
  for (size_t i = 0; i < n; i++) {
    struct json_object *req = get(json_object_array_get_idx(bodies, i), "RequestItems", json_type_object);
    assert_int_equal(json_object_object_length(req), 1);
    struct json_object *puts = get(req, COMPILE_DEFAULT_TABLE, json_type_array);
    size_t np = json_object_array_length(puts);
    assert_true(np >= 1);
    assert_true(np <= COMPILE_BATCH_ITEMS);
    for (size_t k = 0; k < np; k++) {
      struct json_object *put = get(json_object_array_get_idx(puts, k), "PutRequest", json_type_object);
      struct json_object *item = get(put, "Item", json_type_object);
      const char *pk = json_object_get_string(get(get(item, "PK", json_type_object), "S", json_type_string));
      assert_true(strcmp(pk, "events") == 0 || strcmp(pk, "flow") == 0);
      assert_true(strlen(json_object_get_string(get(get(item, "SK", json_type_object), "S", json_type_string))) > 0);
      check_json_text_attr(item, "Schema");
      check_json_text_attr(item, "RoutingConfig");
      check_json_text_attr(item, "Data");
      items++;
    }
  }
  /* Every body but the last is full. */
  for (size_t i = 0; i + 1 < n; i++) {
    struct json_object *req = get(json_object_array_get_idx(bodies, i), "RequestItems", json_type_object);
    assert_int_equal(json_object_array_length(get(req, COMPILE_DEFAULT_TABLE, json_type_array)), COMPILE_BATCH_ITEMS);
  }
  assert_true(items >= 1);
}

static void compile_example(void **state)
{
  const char *path = *state;
  struct compiled a, b;
  compile_file(&a, path);
  check_rules(&a);
  check_store(&a);

  char err[256] = "";
  struct image *img = image_load(a.c.image_bytes, a.c.image_size, err, sizeof err);
  if (!img) print_message("# image_load: %s\n", err);
  assert_non_null(img);
  assert_true(img->nentries >= 1);
  image_free(img);

  /* From scratch again: the same bytes. */
  compile_file(&b, path);
  assert_string_equal(a.rules_text, b.rules_text);
  assert_string_equal(a.store_text, b.store_text);
  assert_int_equal(a.c.image_size, b.c.image_size);
  assert_memory_equal(a.c.image_bytes, b.c.image_bytes, a.c.image_size);
  compiled_free(&a);
  compiled_free(&b);
}

/* Beyond the examples: more targets than a rule takes, more items than one
 * BatchWriteItem takes, names longer than a rule name may be. */
static void synthetic_limits(void **state)
{
  (void)state;
  char *text = NULL;
  size_t size = 0;
  FILE *out = open_memstream(&text, &size);
  assert_non_null(out);
  const char *longname = "AVeryLongEventNameThatKeepsGoingAndGoingWellPastTheRuleNameLimit";
  fprintf(out, "event %s from \"s\" { x: string, n: int }\n", longname);
  for (int i = 0; i < 30; i++) fprintf(out, "event E%02d from \"s%d\" { x: string }\n", i, i);
  fprintf(out, "flow a_flow_whose_name_is_long_enough_to_need_the_hash_suffix_too { on %s", longname);
  for (int i = 0; i < 30; i++) fprintf(out, ", E%02d", i);
  fprintf(out, " where x prefix \"p\" -> emit E00 }\n");
  fprintf(out, "route %s where n > 3 ->", longname);
  for (int i = 0; i < 12; i++) fprintf(out, "%s \"arn:aws:sqs:us-east-1:123456789012:q%d\"", i ? "," : "", i);
  fprintf(out, "\n");
  fclose(out);

  struct compiled x;
  memset(&x, 0, sizeof x);
  diag_init(&x.d);
  const struct source *src = diag_add_source(&x.d, "limits.flow", text, size);
  free(text);
  x.p = parse_program(&x.d, src);
  if (x.d.errors == 0) check_program(x.p, &x.d);
  if (x.d.errors == 0) {
    compile_program(x.p, &x.d, NULL, &x.c);
    x.compiled = 1;
  }
  if (x.d.count) dump_diags(&x.d);
  assert_int_equal(x.d.errors, 0);
  check_rules(&x);
  check_store(&x);
  /* 31 flow rules, and the route's 12 targets over 3 rules */
  assert_int_equal(json_object_array_length(x.c.rules_json), 31 + 3);
  assert_int_equal(json_object_array_length(x.c.store_json), 2);   /* 31 events + 1 flow = 32 items */
  char err[256];
  struct image *img = image_load(x.c.image_bytes, x.c.image_size, err, sizeof err);
  assert_non_null(img);
  image_free(img);
  compiled_free(&x);
}

static void examples_found(void **state)
{
  size_t n = *(size_t *)*state;
  if (n == 0)
    fail_msg("no example found with the pattern \"%s\": run the tests from the repository root", EXAMPLES_GLOB);
}

int main(void)
{
  glob_t g;
  memset(&g, 0, sizeof g);
  int rc = glob(EXAMPLES_GLOB, 0, NULL, &g);
  static size_t found;
  found = rc == 0 ? g.gl_pathc : 0;

  struct CMUnitTest *tests = calloc(found + 2, sizeof *tests);
  if (!tests) return 1;
  tests[0] = (struct CMUnitTest){ "examples_found", examples_found, NULL, NULL, &found };
  tests[1] = (struct CMUnitTest){ "synthetic_limits", synthetic_limits, NULL, NULL, NULL };
  for (size_t i = 0; i < found; i++)
    tests[i + 2] = (struct CMUnitTest){ g.gl_pathv[i], compile_example, NULL, NULL, g.gl_pathv[i] };
  cmocka_set_message_output(CM_OUTPUT_TAP);
  int failed = _cmocka_run_group_tests("test_compile_patterns", tests, found + 2, NULL, NULL);
  free(tests);
  globfree(&g);
  return failed;
}
