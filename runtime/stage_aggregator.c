/* stage_aggregator.c — `aggregator`: keeps chosen metadata of each event
 * (keep: { name: count() | min | max | sum | avg | distinct | first | last
 * | list }) until a threshold, then emits the window's key, count, times and
 * one field per aggregate.  Absent values are not aggregated. */
#include <string.h>
#include "stage_window.h"
#include "vm.h"

#define DISTINCT_MAX 1000
#define LIST_DEFAULT 100

static int list_limit(struct stage_run *run, const char *name) {
  char arg[300];
  snprintf(arg, sizeof arg, "%s.limit", name);
  struct json_object *v;
  if (stage_arg(run, arg, &v) != 0 || v == VM_MISSING || !v) return LIST_DEFAULT;
  int n = json_object_is_type(v, json_type_int) ? (int)json_object_get_int64(v) : LIST_DEFAULT;
  vm_release(v);
  return n > 0 ? n : LIST_DEFAULT;
}

static struct json_object *add_numbers(struct json_object *a, struct json_object *b) {
  if (json_object_is_type(a, json_type_int) && json_object_is_type(b, json_type_int)) {
    int64_t r;
    if (!__builtin_add_overflow(json_object_get_int64(a), json_object_get_int64(b), &r)) return json_object_new_int64(r);
  }
  return json_object_new_double(json_object_get_double(a) + json_object_get_double(b));
}

static int is_number(struct json_object *v) {
  return v && v != VM_MISSING && (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double));
}

/* Folds one input value into the aggregate state `acc` (a member of aggs).
 * STAGE_REPORTED when the value cannot be folded (dead-lettered: the row
 * is then not counted in the window either). */
static int fold(struct stage_run *run, struct json_object *aggs, const char *name, const char *fn, struct json_object *in) {
  struct json_object *acc = NULL;
  int have = json_object_object_get_ex(aggs, name, &acc);
  if (strcmp(fn, "count") == 0) return 0;
  if (in == VM_MISSING) return 0;
  if (strcmp(fn, "first") == 0) {
    if (!have) json_object_object_add(aggs, name, json_object_get(in));
  } else if (strcmp(fn, "last") == 0) {
    json_object_object_add(aggs, name, json_object_get(in));
  } else if (strcmp(fn, "min") == 0 || strcmp(fn, "max") == 0) {
    int c = have ? vm_compare(in, acc) : 0;
    if (have && c == 2) return stage_fail(run, "`%s(...)` of `%s` cannot order %s values", fn, name, json_object_get_type(in) == json_type_string ? "string" : "mixed"), STAGE_REPORTED;
    if (!have || (fn[1] == 'i' ? c < 0 : c > 0)) json_object_object_add(aggs, name, json_object_get(in));
  } else if (strcmp(fn, "sum") == 0 || strcmp(fn, "avg") == 0) {
    if (!is_number(in)) return stage_fail(run, "`%s(...)` of `%s` needs numbers", fn, name), STAGE_REPORTED;
    if (fn[0] == 's') {
      if (stage_set(aggs, name, have ? add_numbers(acc, in) : json_object_get(in)) != 0)
        return stage_fail(run, "out of memory"), STAGE_REPORTED;
    } else {
      struct json_object *sum = NULL, *n = NULL, *next = json_object_new_object();
      if (have) {
        json_object_object_get_ex(acc, "sum", &sum);
        json_object_object_get_ex(acc, "n", &n);
      }
      if (stage_set(next, "sum", sum ? add_numbers(sum, in) : json_object_get(in)) |
          stage_set(next, "n", json_object_new_int64((n ? json_object_get_int64(n) : 0) + 1))) {
        json_object_put(next);
        return stage_fail(run, "out of memory"), STAGE_REPORTED;
      }
      if (stage_set(aggs, name, next) != 0) return stage_fail(run, "out of memory"), STAGE_REPORTED;
    }
  } else if (strcmp(fn, "distinct") == 0 || strcmp(fn, "list") == 0) {
    if (!have) {
      acc = json_object_new_array();
      if (stage_set(aggs, name, acc) != 0) return stage_fail(run, "out of memory"), STAGE_REPORTED;
    }
    if (fn[0] == 'd')
      window_distinct_add(acc, in, DISTINCT_MAX);
    else if ((int)json_object_array_length(acc) < list_limit(run, name))
      json_object_array_add(acc, json_object_get(in));
  }
  return 0;
}

/* The emitted row; NULL when out of memory. */
static struct json_object *result(struct json_object *window) {
  struct json_object *out = window_output(window), *aggs = NULL, *count = NULL;
  int bad = !out;
  json_object_object_get_ex(window, "count", &count);
  if (out && json_object_object_get_ex(window, "aggs", &aggs)) {
    struct json_object *fns = NULL;
    json_object_object_get_ex(window, "fns", &fns);
    json_object_object_foreach(fns, name, fnv) {
      const char *fn = json_object_get_string(fnv);
      struct json_object *acc = NULL;
      int have = json_object_object_get_ex(aggs, name, &acc);
      if (strcmp(fn, "count") == 0) {
        bad |= stage_set_ref(out, name, count);
      } else if (strcmp(fn, "avg") == 0) {
        struct json_object *sum, *n;
        if (have && json_object_object_get_ex(acc, "sum", &sum) && json_object_object_get_ex(acc, "n", &n))
          bad |= stage_set(out, name, json_object_new_double(json_object_get_double(sum) / (double)json_object_get_int64(n)));
      } else if (have) {
        bad |= stage_set_ref(out, name, acc);
      } else if (strcmp(fn, "distinct") == 0 || strcmp(fn, "list") == 0) {
        bad |= stage_set(out, name, json_object_new_array());
      }
    }
  }
  if (bad) {
    json_object_put(out);
    return NULL;
  }
  return out;
}

static int aggregator_process(struct stage_run *run, struct json_object *row) {
  (void)row;
  struct window_run w;
  int rc = window_open(run, &w);
  if (rc != STAGE_OK) {
    window_done(&w);
    return rc < 0 ? STAGE_FAILED : STAGE_OK;
  }
  struct json_object *aggs, *fns;
  if (!json_object_object_get_ex(w.window, "aggs", &aggs)) {
    aggs = json_object_new_object();
    json_object_object_add(w.window, "aggs", aggs);
  }
  if (!json_object_object_get_ex(w.window, "fns", &fns)) {
    fns = json_object_new_object();
    json_object_object_add(w.window, "fns", fns);
  }
  int n = stage_aggregate_count(run);
  for (int i = 0; i < n; i++) {
    const char *name, *fn;
    struct json_object *in;
    if (stage_aggregate(run, i, &name, &fn, &in) != 0) {
      window_done(&w);
      return 0;
    }
    json_object_object_add(fns, name, json_object_new_string(fn));
    int bad = fold(run, aggs, name, fn, in);
    vm_release(in);
    if (bad) {
      window_done(&w);
      return 0;
    }
  }
  rc = window_save_or_close(run, &w);
  if (rc == 1) {
    struct json_object *out = result(w.window);   /* NULL: dead-lettered as out of memory */
    rc = stage_continue(run, out, stage_now(run));
    json_object_put(out);
  }
  window_done(&w);
  return rc < 0 ? STAGE_FAILED : STAGE_OK;
}

static int aggregator_close(struct stage_run *run, const char *key, struct json_object *window) {
  (void)key;
  struct json_object *out = result(window);
  int rc = stage_continue(run, out, stage_now(run));
  json_object_put(out);
  return rc;
}

const struct native_stage stage_aggregator = { "aggregator", aggregator_process, aggregator_close };
