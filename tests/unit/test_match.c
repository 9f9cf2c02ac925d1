/* test_match.c — the EventBridge event-pattern matcher (runtime/match.h).
 *
 * The conformance suite is data: tests/match/conformance.json (pattern,
 * event, expected result, and the documentation rule each case comes
 * from) and tests/match/invalid.json (patterns EventBridge refuses, with
 * a substring of the reason).  Paths are relative to the repository root,
 * where prove runs.  Every case is one TAP test; a failure names the case
 * index and its "doc".
 *
 * Then the compiled structure is checked against itself: every
 * conformance pattern in one set must give, for every conformance event,
 * exactly the answers of each pattern alone; so must ~1000 random rules
 * over random events.  Leaks are left to LeakSanitizer (make SANITIZE=1).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "match.h"

#define CONFORMANCE "tests/match/conformance.json"
#define INVALID "tests/match/invalid.json"

static struct json_object *conformance, *invalid;

static struct json_object *load(const char *path)
{
    struct json_object *o = json_object_from_file(path);
    if (o == NULL || !json_object_is_type(o, json_type_array)) {
        fprintf(stderr, "# cannot load %s (run from the repository root): %s\n", path,
                json_util_get_last_err());
        exit(1);
    }
    return o;
}

static const char *field_str(struct json_object *o, const char *k)
{
    struct json_object *v;
    return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : "";
}

static struct json_object *field(struct json_object *o, const char *k)
{
    struct json_object *v = NULL;
    json_object_object_get_ex(o, k, &v);
    return v;
}

/* 1 match, 0 no match, -1 the pattern was refused (reason filled). */
static int match_one(struct json_object *pattern, struct json_object *event, char *reason, size_t rn)
{
    struct match_set *set = match_set_new();
    assert_non_null(set);
    if (match_set_add(set, pattern, 7, reason, rn) != 0) {
        match_set_free(set);
        return -1;
    }
    struct match_scratch *x = match_scratch_new(set);
    assert_non_null(x);
    uint32_t out[2] = {0, 0};
    size_t n = match_event(set, x, event, out, 2);
    assert_true(n != MATCH_ERROR);
    assert_true(n <= 1);
    if (n == 1)
        assert_int_equal(out[0], 7);
    match_scratch_free(x);
    match_set_free(set);
    return (int)n;
}

/* ------------------------------------------------------------------ */
/* The conformance suite, one test per case.                          */

static void run_conformance(void **state)
{
    size_t i = (size_t)(uintptr_t)*state;
    struct json_object *cs = json_object_array_get_idx(conformance, i);
    struct json_object *want = field(cs, "match");
    char reason[512];
    int got = match_one(field(cs, "pattern"), field(cs, "event"), reason, sizeof reason);
    if (got < 0)
        fail_msg("case %zu (%s): pattern refused: %s", i, field_str(cs, "doc"), reason);
    if (got != json_object_get_boolean(want))
        fail_msg("case %zu (%s): expected %s, got %s\n#   pattern %s\n#   event   %s", i,
                 field_str(cs, "doc"), json_object_get_boolean(want) ? "match" : "no match",
                 got ? "match" : "no match",
                 json_object_to_json_string_ext(field(cs, "pattern"), JSON_C_TO_STRING_PLAIN),
                 json_object_to_json_string_ext(field(cs, "event"), JSON_C_TO_STRING_PLAIN));
}

static void run_invalid(void **state)
{
    size_t i = (size_t)(uintptr_t)*state;
    struct json_object *cs = json_object_array_get_idx(invalid, i);
    const char *want = field_str(cs, "reason_contains");
    char reason[512] = "";
    struct match_set *set = match_set_new();
    assert_non_null(set);
    int rc;
    struct json_object *text = field(cs, "pattern_text");
    if (text != NULL)
        rc = match_set_add_text(set, json_object_get_string(text), 1, reason, sizeof reason);
    else
        rc = match_set_add(set, field(cs, "pattern"), 1, reason, sizeof reason);
    size_t rules = match_set_rule_count(set);
    match_set_free(set);
    if (rc == 0)
        fail_msg("case %zu (%s): the pattern was accepted", i, field_str(cs, "doc"));
    if (rules != 0)
        fail_msg("case %zu (%s): a refused pattern left a rule behind", i, field_str(cs, "doc"));
    if (strstr(reason, want) == NULL)
        fail_msg("case %zu (%s): reason \"%s\" lacks \"%s\"", i, field_str(cs, "doc"), reason, want);
    if (strncmp(reason, "Event pattern is not valid. Reason: ", 36) != 0)
        fail_msg("case %zu: reason \"%s\" is not in EventBridge's words", i, reason);
}

/* ------------------------------------------------------------------ */
/* Combined versus alone.                                             */

struct rule_list {
    struct json_object **pat;
    size_t n;
};

/* Every pattern in one set (id = index) against every event: the set's
 * answer must be exactly the patterns that match alone. */
static void compare_combined(struct rule_list *rules, struct json_object **events, size_t nev)
{
    struct match_set *all = match_set_new();
    assert_non_null(all);
    struct match_set **one = calloc(rules->n, sizeof *one);
    assert_non_null(one);
    char reason[512];
    for (size_t r = 0; r < rules->n; r++) {
        if (match_set_add(all, rules->pat[r], (uint32_t)r, reason, sizeof reason) != 0)
            fail_msg("rule %zu refused: %s", r, reason);
        one[r] = match_set_new();
        assert_non_null(one[r]);
        assert_int_equal(match_set_add(one[r], rules->pat[r], (uint32_t)r, reason, sizeof reason), 0);
    }
    assert_int_equal(match_set_rule_count(all), rules->n);
    struct match_scratch *x = match_scratch_new(all);
    assert_non_null(x);
    uint32_t *got = malloc((rules->n + 1) * sizeof *got);
    assert_non_null(got);
    size_t mismatches = 0, matched = 0;
    for (size_t e = 0; e < nev; e++) {
        size_t n = match_event(all, x, events[e], got, rules->n + 1);
        assert_true(n != MATCH_ERROR);
        assert_true(n <= rules->n);
        for (size_t k = 1; k < n; k++)
            assert_true(got[k - 1] < got[k]); /* ascending, unique */
        size_t k = 0;
        for (size_t r = 0; r < rules->n; r++) {
            uint32_t id;
            /* the same scratch serves every set */
            size_t alone = match_event(one[r], x, events[e], &id, 1);
            assert_true(alone != MATCH_ERROR);
            bool in_all = k < n && got[k] == r;
            if (in_all)
                k++;
            if ((alone == 1) != in_all && mismatches++ < 5)
                print_message("# event %zu rule %zu: alone %s, combined %s\n#   rule  %s\n#   event %s\n", e,
                              r, alone ? "match" : "no match", in_all ? "match" : "no match",
                              json_object_to_json_string_ext(rules->pat[r], JSON_C_TO_STRING_PLAIN),
                              json_object_to_json_string_ext(events[e], JSON_C_TO_STRING_PLAIN));
        }
        assert_int_equal(k, n);
        matched += n;
    }
    print_message("# %zu rules x %zu events: %zu matching pairs in the combined set\n", rules->n, nev, matched);
    free(got);
    match_scratch_free(x);
    for (size_t r = 0; r < rules->n; r++)
        match_set_free(one[r]);
    free(one);
    match_set_free(all);
    if (mismatches)
        fail_msg("%zu (event, rule) pairs differ between the combined set and single rules", mismatches);
}

static void combined_conformance(void **state)
{
    (void)state;
    size_t n = json_object_array_length(conformance);
    struct rule_list rules = {calloc(n, sizeof(struct json_object *)), n};
    struct json_object **events = calloc(n, sizeof *events);
    assert_non_null(rules.pat);
    assert_non_null(events);
    for (size_t i = 0; i < n; i++) {
        struct json_object *cs = json_object_array_get_idx(conformance, i);
        rules.pat[i] = field(cs, "pattern");
        events[i] = field(cs, "event");
    }
    compare_combined(&rules, events, n);
    free(rules.pat);
    free(events);
}

/* ------------------------------------------------------------------ */
/* Random rules.  A small vocabulary, so rules and events collide often:
 * shared paths, shared values, numbers written several ways, arrays of
 * objects (array consistency), absent and null fields. */

static uint64_t rng = 0x2545F4914F6CDD1DULL;

static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)((rng >> 11) % n);
}

static const char *const strs[] = {"a", "ab", "abc", "b", "ba", "A", "AB", "Ab", "",
                                   "x.y", "10.0.0.1", "10.0.1.5", "2001:db8::1", "img/a.png",
                                   "IMG/A.PNG", "aws.ec2", "aws.s3", "init", "initial"};
static const char *const nums[] = {"0", "1", "-1", "5", "5.0", "5e0", "10", "100", "1.5",
                                   "300", "3e2", "123456789012", "0.000001", "-2.5", "7"};
#define NSTR (sizeof strs / sizeof *strs)
#define NNUM (sizeof nums / sizeof *nums)

static struct json_object *num(const char *t)
{
    if (strpbrk(t, ".eE") == NULL)
        return json_object_new_int64(strtoll(t, NULL, 10));
    return json_object_new_double_s(strtod(t, NULL), t);
}

static struct json_object *rand_scalar(void)
{
    switch (rnd(8)) {
    case 0:
        return json_object_new_boolean(rnd(2));
    case 1:
        return NULL; /* null */
    case 2:
    case 3:
        return num(nums[rnd(NNUM)]);
    default:
        return json_object_new_string(strs[rnd(NSTR)]);
    }
}

static struct json_object *strarr(size_t k)
{
    struct json_object *a = json_object_new_array();
    for (size_t i = 0; i < k; i++)
        json_object_array_add(a, json_object_new_string(strs[rnd(NSTR)]));
    return a;
}

static struct json_object *one_op(const char *op, struct json_object *arg)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, op, arg);
    return o;
}

static struct json_object *rand_matcher(void)
{
    const char *s = strs[rnd(NSTR)];
    switch (rnd(16)) {
    case 0:
    case 1:
        return json_object_new_string(s);
    case 2:
        return num(nums[rnd(NNUM)]);
    case 3:
        return rnd(2) ? json_object_new_boolean(rnd(2)) : NULL;
    case 4:
        return one_op("prefix", rnd(4) ? json_object_new_string(s)
                                        : one_op("equals-ignore-case", json_object_new_string(s)));
    case 5:
        return one_op("suffix", rnd(4) ? json_object_new_string(s)
                                        : one_op("equals-ignore-case", json_object_new_string(s)));
    case 6:
        return one_op("equals-ignore-case", json_object_new_string(s));
    case 7: {
        static const char *const w[] = {"a*", "*b", "a*b*c", "*.png", "img/*", "*", "*0.*", "a\\*b"};
        return one_op("wildcard", json_object_new_string(w[rnd(8)]));
    }
    case 8: {
        struct json_object *a = json_object_new_array();
        static const char *const lo[] = {">", ">="};
        static const char *const hi[] = {"<", "<="};
        int lo_v = (int)rnd(20) - 5;
        switch (rnd(3)) {
        case 0:
            json_object_array_add(a, json_object_new_string("="));
            json_object_array_add(a, num(nums[rnd(NNUM - 4)]));
            break;
        case 1:
            json_object_array_add(a, json_object_new_string(rnd(2) ? lo[rnd(2)] : hi[rnd(2)]));
            json_object_array_add(a, json_object_new_int(lo_v));
            break;
        default:
            json_object_array_add(a, json_object_new_string(lo[rnd(2)]));
            json_object_array_add(a, json_object_new_int(lo_v));
            json_object_array_add(a, json_object_new_string(hi[rnd(2)]));
            json_object_array_add(a, json_object_new_int(lo_v + 1 + (int)rnd(300)));
            break;
        }
        return one_op("numeric", a);
    }
    case 9:
        return one_op("exists", json_object_new_boolean(rnd(2)));
    case 10: {
        static const char *const c[] = {"10.0.0.0/24", "10.0.0.0/8", "2001:db8::/32", "0.0.0.0/0"};
        return one_op("cidr", json_object_new_string(c[rnd(4)]));
    }
    case 11:
        return one_op("anything-but", rnd(2) ? json_object_new_string(s) : strarr(1 + rnd(3)));
    case 12: {
        if (rnd(2))
            return one_op("anything-but", num(nums[rnd(NNUM - 4)]));
        struct json_object *a = json_object_new_array();
        for (uint32_t k = 0; k < 1 + rnd(3); k++)
            json_object_array_add(a, num(nums[rnd(NNUM - 4)]));
        return one_op("anything-but", a);
    }
    case 13: {
        static const char *const ops[] = {"prefix", "suffix", "equals-ignore-case", "wildcard"};
        const char *op = ops[rnd(4)];
        const char *v = s[0] ? s : "q";
        if (strcmp(op, "wildcard") == 0)
            v = rnd(2) ? "*a*" : "i*";
        return one_op("anything-but", one_op(op, rnd(2) ? json_object_new_string(v) : strarr(0)));
    }
    default:
        return json_object_new_string(strs[rnd(4)]);
    }
}

static const char *const paths[] = {"source", "detail-type", "detail.a", "detail.b", "detail.c.d",
                                    "detail.arr.x", "detail.arr.y", "detail.arr.z", "detail.n",
                                    "detail.ip", "detail.c.e"};
#define NPATH (sizeof paths / sizeof *paths)

/* Puts a value list at a dotted path inside obj. */
static void put_path(struct json_object *obj, const char *path, struct json_object *val)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%s", path);
    char *save = NULL, *tok = strtok_r(buf, ".", &save);
    while (tok != NULL) {
        char *next = strtok_r(NULL, ".", &save);
        if (next == NULL) {
            json_object_object_add(obj, tok, val);
            return;
        }
        struct json_object *sub;
        if (!json_object_object_get_ex(obj, tok, &sub) || !json_object_is_type(sub, json_type_object)) {
            sub = json_object_new_object();
            json_object_object_add(obj, tok, sub);
        }
        obj = sub;
        tok = next;
    }
}

static struct json_object *rand_values(void)
{
    struct json_object *list = json_object_new_array();
    uint32_t k = 1 + rnd(3);
    for (uint32_t i = 0; i < k; i++)
        json_object_array_add(list, rand_matcher());
    /* strarr(0) above may have built an empty anything-but list, which the
     * validator refuses; such rules are simply skipped by the caller. */
    return list;
}

static struct json_object *rand_object(int fields)
{
    struct json_object *o = json_object_new_object();
    for (int f = 0; f < fields; f++)
        put_path(o, paths[rnd(NPATH)], rand_values());
    return o;
}

static struct json_object *rand_rule(void)
{
    struct json_object *r = rand_object(1 + (int)rnd(3));
    if (rnd(4) == 0) {
        struct json_object *or = json_object_new_array();
        uint32_t k = 2 + rnd(2);
        for (uint32_t i = 0; i < k; i++)
            json_object_array_add(or, rand_object(1 + (int)rnd(2)));
        json_object_object_add(r, "$or", or);
    }
    return r;
}

static struct json_object *rand_leafval(void)
{
    if (rnd(5) == 0) {
        struct json_object *a = json_object_new_array();
        for (uint32_t i = 0; i < rnd(3); i++)
            json_object_array_add(a, rand_scalar());
        return a;
    }
    return rand_scalar();
}

static struct json_object *rand_event(void)
{
    struct json_object *e = json_object_new_object();
    for (size_t p = 0; p < NPATH; p++) {
        if (strncmp(paths[p], "detail.arr.", 11) == 0 || rnd(3) == 0)
            continue;
        put_path(e, paths[p], rand_leafval());
    }
    struct json_object *detail;
    if (!json_object_object_get_ex(e, "detail", &detail)) {
        detail = json_object_new_object();
        json_object_object_add(e, "detail", detail);
    }
    if (rnd(4) != 0) {
        struct json_object *arr = json_object_new_array();
        uint32_t k = rnd(4);
        for (uint32_t i = 0; i < k; i++) {
            struct json_object *el = json_object_new_object();
            if (rnd(3))
                json_object_object_add(el, "x", rand_leafval());
            if (rnd(3))
                json_object_object_add(el, "y", rand_leafval());
            if (rnd(4) == 0)
                json_object_object_add(el, "z", rand_scalar());
            json_object_array_add(arr, el);
        }
        json_object_object_add(detail, "arr", arr);
    }
    if (rnd(10) == 0)
        json_object_object_add(detail, "c", json_object_new_string("not an object"));
    return e;
}

static void random_rules(void **state)
{
    (void)state;
    enum { NRULES = 1000, NEVENTS = 250 };
    struct rule_list rules = {calloc(NRULES, sizeof(struct json_object *)), 0};
    assert_non_null(rules.pat);
    char reason[512];
    size_t refused = 0;
    struct match_set *probe = match_set_new();
    while (rules.n < NRULES) {
        struct json_object *r = rand_rule();
        if (match_set_add(probe, r, 0, reason, sizeof reason) != 0) {
            refused++;
            json_object_put(r);
            continue;
        }
        rules.pat[rules.n++] = r;
    }
    match_set_free(probe);
    struct json_object *events[NEVENTS];
    for (size_t e = 0; e < NEVENTS; e++)
        events[e] = rand_event();
    compare_combined(&rules, events, NEVENTS);
    for (size_t r = 0; r < rules.n; r++)
        json_object_put(rules.pat[r]);
    for (size_t e = 0; e < NEVENTS; e++)
        json_object_put(events[e]);
    free(rules.pat);
    assert_true(refused < NRULES); /* the generator mostly makes valid rules */
}

/* ------------------------------------------------------------------ */
/* The API.                                                           */

static struct json_object *parse(const char *text)
{
    struct json_object *o = json_tokener_parse(text);
    assert_non_null(o);
    return o;
}

static void api_contract(void **state)
{
    (void)state;
    struct match_set *set = match_set_new();
    assert_non_null(set);
    char reason[256];
    assert_int_equal(match_set_add_text(set, "{\"source\":[\"a\"]}", 30, reason, sizeof reason), 0);
    assert_int_equal(match_set_add_text(set, "{\"source\":[\"a\",\"b\"]}", 10, reason, sizeof reason), 0);
    assert_int_equal(match_set_add_text(set, "{\"source\":[{\"prefix\":\"\"}]}", 20, reason, sizeof reason), 0);
    /* a second pattern under an existing id is an alternative */
    assert_int_equal(match_set_add_text(set, "{\"detail\":{\"k\":[1]}}", 30, reason, sizeof reason), 0);
    assert_int_equal(match_set_rule_count(set), 3);
    assert_int_equal(match_set_subrule_count(set), 4);
    assert_int_equal(match_set_add_text(set, "{\"source\":\"a\"}", 40, reason, sizeof reason), -1);
    assert_non_null(strstr(reason, "must be an object or an array"));
    assert_int_equal(match_set_add_text(set, "{\"source\":[\"a\"]", 40, reason, sizeof reason), -1);
    assert_int_equal(match_set_add(set, NULL, 40, NULL, 0), -1);
    assert_int_equal(match_set_rule_count(set), 3);

    struct match_scratch *x = match_scratch_new(NULL); /* grows on use */
    assert_non_null(x);
    uint32_t out[4];
    struct json_object *ev = parse("{\"source\":\"a\"}");
    assert_int_equal(match_event(set, x, ev, out, 4), 3);
    assert_int_equal(out[0], 10);
    assert_int_equal(out[1], 20);
    assert_int_equal(out[2], 30);
    /* cap: the smallest ids, the full count */
    out[1] = 99;
    assert_int_equal(match_event(set, x, ev, out, 1), 3);
    assert_int_equal(out[0], 10);
    assert_int_equal(out[1], 99);
    assert_int_equal(match_event(set, x, ev, NULL, 0), 3);
    json_object_put(ev);
    ev = parse("{\"source\":\"b\",\"detail\":{\"k\":1.0}}");
    assert_int_equal(match_event(set, x, ev, out, 4), 3);
    json_object_put(ev);
    ev = parse("{\"source\":5}");
    assert_int_equal(match_event(set, x, ev, out, 4), 0);
    json_object_put(ev);
    /* not an object: nothing matches */
    ev = parse("[\"source\"]");
    assert_int_equal(match_event(set, x, ev, out, 4), 0);
    json_object_put(ev);
    assert_int_equal(match_event(set, x, NULL, out, 4), 0);

    /* the scratch follows the set as it grows */
    assert_int_equal(match_set_add_text(set, "{\"z\":[{\"exists\":false}]}", 5, reason, sizeof reason), 0);
    ev = parse("{\"source\":\"b\"}");
    assert_int_equal(match_event(set, x, ev, out, 4), 3);
    assert_int_equal(out[0], 5);
    assert_int_equal(out[1], 10);
    assert_int_equal(out[2], 20);
    json_object_put(ev);
    /* an empty set */
    struct match_set *empty = match_set_new();
    ev = parse("{}");
    assert_int_equal(match_event(empty, x, ev, out, 4), 0);
    json_object_put(ev);
    match_set_free(empty);

    /* events built in code: a double without text matches like its
     * shortest form */
    struct match_set *n = match_set_new();
    assert_int_equal(match_set_add_text(n, "{\"v\":[{\"numeric\":[\"=\",0.1]}]}", 1, reason, sizeof reason), 0);
    ev = json_object_new_object();
    json_object_object_add(ev, "v", json_object_new_double(0.1));
    assert_int_equal(match_event(n, x, ev, out, 4), 1);
    json_object_put(ev);
    match_set_free(n);

    match_scratch_free(x);
    match_set_free(set);
    match_set_free(NULL);
    match_scratch_free(NULL);
}

/* Many sub-rules sharing one value, long prefixes, deep nesting: the
 * index must hand every one of them to the check. */
static void shared_anchors(void **state)
{
    (void)state;
    struct match_set *set = match_set_new();
    char pat[256], reason[256];
    for (uint32_t i = 0; i < 3000; i++) {
        switch (i % 3) {
        case 0:
            snprintf(pat, sizeof pat, "{\"source\":[\"s\"],\"detail\":{\"n\":[%u]}}", i);
            break;
        case 1:
            snprintf(pat, sizeof pat, "{\"source\":[{\"prefix\":\"s\"}],\"detail\":{\"p\":[{\"prefix\":\"v%u\"}]}}", i);
            break;
        default:
            snprintf(pat, sizeof pat, "{\"detail\":{\"q\":[{\"suffix\":\"-%u\"}]}}", i);
            break;
        }
        assert_int_equal(match_set_add_text(set, pat, i, reason, sizeof reason), 0);
    }
    struct match_scratch *x = match_scratch_new(set);
    uint32_t out[8];
    struct json_object *ev = parse("{\"source\":\"s\",\"detail\":{\"n\":300,\"p\":\"v1000\",\"q\":\"x-2999\"}}");
    /* n 300 -> rule 300; p "v1000" has prefixes v1, v10, v100, v1000
     * -> rules 1, 10? (only i%3==1: 1, 10, 100, 1000); q -> 2999 */
    size_t n = match_event(set, x, ev, out, 8);
    assert_int_equal(n, 6);
    static const uint32_t want[] = {1, 10, 100, 300, 1000, 2999};
    for (size_t i = 0; i < 6; i++)
        assert_int_equal(out[i], want[i]);
    json_object_put(ev);
    match_scratch_free(x);
    match_set_free(set);
}

int main(void)
{
    conformance = load(CONFORMANCE);
    invalid = load(INVALID);
    size_t nc = json_object_array_length(conformance), ni = json_object_array_length(invalid);
    enum { N_EXTRA = 4 };
    size_t total = nc + ni + N_EXTRA;
    struct CMUnitTest *tests = calloc(total, sizeof *tests);
    char(*names)[40] = calloc(nc + ni, sizeof *names);
    if (tests == NULL || names == NULL)
        return 1;
    size_t t = 0;
    for (size_t i = 0; i < nc; i++, t++) {
        snprintf(names[t], sizeof names[t], "conformance_%03zu", i);
        tests[t] = (struct CMUnitTest){names[t], run_conformance, NULL, NULL, (void *)(uintptr_t)i};
    }
    for (size_t i = 0; i < ni; i++, t++) {
        snprintf(names[t], sizeof names[t], "invalid_%03zu", i);
        tests[t] = (struct CMUnitTest){names[t], run_invalid, NULL, NULL, (void *)(uintptr_t)i};
    }
    const struct CMUnitTest extra[N_EXTRA] = {
        cmocka_unit_test(api_contract),
        cmocka_unit_test(shared_anchors),
        cmocka_unit_test(combined_conformance),
        cmocka_unit_test(random_rules),
    };
    for (size_t i = 0; i < N_EXTRA; i++)
        tests[t++] = extra[i];
    cmocka_set_message_output(CM_OUTPUT_TAP);
    int rc = _cmocka_run_group_tests("test_match", tests, total, NULL, NULL);
    free(tests);
    free(names);
    json_object_put(conformance);
    json_object_put(invalid);
    return rc;
}
