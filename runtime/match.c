/* match.c — matching one event against a compiled match_set.
 *
 * One pass: the event is flattened into leaves (path, value, array
 * membership) — only under paths some pattern names; each leaf probes the
 * set's anchor index (hash tables keyed by path and value, prefix/suffix
 * lengths, numeric and CIDR lists), which names the candidate sub-rules;
 * each candidate, and each sub-rule in the "always" list, is then checked
 * in full.  See docs/matching.md.
 *
 * Sources:
 *   [ER-event]  aws/event-ruler Event.java: how a JSON event becomes
 *               fields (strings keep their quotes, numbers/true/false/null
 *               their text; array elements that are objects or arrays
 *               record (array, index) membership, scalar elements do not)
 *   [ER-ac]     aws/event-ruler ACFinder.java, ArrayMembership.java,
 *               NameState.getNameTransitions: array-consistent matching
 *   [ER-bytes]  aws/event-ruler ByteMachine.java (transitionOn,
 *               doTransitionOn): which value patterns a field value meets
 *   [UG-*]      Amazon EventBridge User Guide pages named in docs/matching.md
 */
#include "match_internal.h"

#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Objects and arrays nested deeper than this in an event are not looked
 * into (no pattern within the 2,048-character quota gets near it). */
#define MATCH_MAX_EVENT_DEPTH 1000

enum ltype { LT_STR, LT_NUM, LT_LIT };

struct leaf {
    uint32_t path, next;
    uint8_t type;
    uint8_t numeric; /* LT_NUM: a comparable number, scaled is valid */
    int8_t ip;       /* LT_STR: -1 not looked at yet, 0 not an IP, 4, 16 */
    uint8_t text_in_pool;
    const char *s; /* string bytes, or the literal / number text */
    uint32_t n;
    uint8_t folded;    /* fold holds the folded bytes */
    uint32_t text_off; /* while text_in_pool: offset of s in scratch text */
    uint32_t fold_off; /* MATCH_NONE, or room for a folded copy in scratch text */
    char *fold;        /* folded copy, made on first use */
    int64_t scaled;
    uint32_t memb, memb_n; /* (array, index) pairs in scratch memb */
    unsigned char addr[16];
};

struct match_scratch {
    uint32_t gen;
    uint32_t *sub_stamp;
    size_t sub_cap;
    uint32_t *rule_stamp;
    size_t rule_cap;
    uint32_t *path_stamp, *path_head;
    size_t path_cap, path_head_cap;

    struct leaf *leaves;
    size_t leaves_n, leaves_cap;
    uint32_t *memb;
    size_t memb_n, memb_cap;
    uint32_t *stack; /* the walk's current (array, index) pairs */
    size_t stack_n, stack_cap;
    uint32_t max_memb;
    uint32_t arrays;
    char *text;
    size_t text_n, text_cap;
    char *path;
    size_t pathbuf_cap;
    uint32_t *cands;
    size_t cands_n, cands_cap;
    uint32_t *mstack; /* membership accumulated while verifying */
    size_t mstack_cap;
    uint32_t *arr_level, *arr_stamp; /* per array: last constraint touching it */
    size_t arr_cap, arr_stamp_cap;
    uint32_t vgen;
    uint32_t *tried; /* per verify level: memberships already tried */
    size_t tried_n, tried_cap;
    uint32_t *out;
    size_t out_n, out_cap;
    bool oom;
};


/* Stamp arrays grow zero-filled (0 = "not this event"). */
static int grow_zero(uint32_t **p, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t old = *cap;
    if (ms_grow((void **)p, cap, need, sizeof **p) != 0)
        return -1;
    memset(*p + old, 0, (*cap - old) * sizeof **p);
    return 0;
}

struct match_scratch *match_scratch_new(const struct match_set *set)
{
    struct match_scratch *x = calloc(1, sizeof *x);
    if (x == NULL)
        return NULL;
    if (set != NULL && (grow_zero(&x->sub_stamp, &x->sub_cap, set->subs_n + 1) != 0 ||
                        grow_zero(&x->rule_stamp, &x->rule_cap, set->rules_n + 1) != 0)) {
        match_scratch_free(x);
        return NULL;
    }
    return x;
}

void match_scratch_free(struct match_scratch *x)
{
    if (x == NULL)
        return;
    free(x->sub_stamp);
    free(x->rule_stamp);
    free(x->path_stamp);
    free(x->path_head);
    free(x->leaves);
    free(x->memb);
    free(x->stack);
    free(x->text);
    free(x->path);
    free(x->cands);
    free(x->mstack);
    free(x->arr_level);
    free(x->arr_stamp);
    free(x->tried);
    free(x->out);
    free(x);
}

/* ------------------------------------------------------------------ */
/* Number text.                                                       */

const char *ms_number_text(struct json_object *v, char buf[64], size_t *n)
{
    if (json_object_is_type(v, json_type_double)) {
        /* json-c keeps the text of a parsed double as its userdata
         * (json_object_new_double_s). */
        const char *ud = json_object_get_userdata(v);
        if (ud != NULL) {
            *n = strlen(ud);
            return ud;
        }
        double d = json_object_get_double(v);
        if (isnan(d)) {
            *n = 3;
            return "NaN";
        }
        if (isinf(d)) {
            *n = d < 0 ? 9 : 8;
            return d < 0 ? "-Infinity" : "Infinity";
        }
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(buf, 64, "%.*g", prec, d);
            if (strtod(buf, NULL) == d)
                break;
        }
        *n = strlen(buf);
        return buf;
    }
    /* Integers are written by hand: snprintf would cost more than the
     * rest of the matching of a typical event. */
    int64_t i = json_object_get_int64(v);
    uint64_t u = i == INT64_MAX ? json_object_get_uint64(v) : i < 0 ? 0 - (uint64_t)i : (uint64_t)i;
    char digits[24];
    size_t k = 0;
    do
        digits[k++] = (char)('0' + u % 10);
    while ((u /= 10) != 0);
    size_t len = 0;
    if (i < 0)
        buf[len++] = '-';
    while (k > 0)
        buf[len++] = digits[--k];
    buf[len] = 0;
    *n = len;
    return buf;
}

/* ------------------------------------------------------------------ */
/* Flattening the event.  [ER-event] Event(JsonNode) / loadObject /
 * loadArray: a leaf's path is the object keys joined with '.', arrays add
 * no step; an object or array that is an element of an array records
 * (array id, index) for everything under it, a scalar element does not.
 * Keys under which no pattern looks are skipped (isFieldStepUsed). */

struct walk {
    const struct match_set *set;
    struct match_scratch *x;
};

static int add_leaf(struct walk *w, struct json_object *v, uint32_t pid)
{
    struct match_scratch *x = w->x;
    if (ms_grow((void **)&x->leaves, &x->leaves_cap, x->leaves_n + 1, sizeof *x->leaves) != 0 ||
        ms_grow((void **)&x->memb, &x->memb_cap, x->memb_n + x->stack_n, sizeof *x->memb) != 0)
        return -1;
    struct leaf *l = &x->leaves[x->leaves_n];
    memset(l, 0, sizeof *l);
    l->path = pid;
    l->next = MATCH_NONE;
    l->ip = -1;
    l->fold_off = MATCH_NONE;
    l->memb = (uint32_t)x->memb_n;
    l->memb_n = (uint32_t)(x->stack_n / 2);
    if (x->stack_n > 0)
        memcpy(x->memb + x->memb_n, x->stack, x->stack_n * sizeof *x->memb);
    x->memb_n += x->stack_n;
    if (l->memb_n > x->max_memb)
        x->max_memb = l->memb_n;
    switch (json_object_get_type(v)) {
    case json_type_string:
        l->type = LT_STR;
        l->s = json_object_get_string(v);
        l->n = (uint32_t)json_object_get_string_len(v);
        break;
    case json_type_int:
    case json_type_double: {
        char buf[64];
        size_t n;
        const char *t = ms_number_text(v, buf, &n);
        l->type = LT_NUM;
        l->numeric = (uint8_t)mv_number_scaled(t, n, &l->scaled);
        if (ms_grow((void **)&x->text, &x->text_cap, x->text_n + n + 1, 1) != 0)
            return -1;
        memcpy(x->text + x->text_n, t, n);
        l->text_off = (uint32_t)x->text_n;
        l->text_in_pool = 1;
        l->n = (uint32_t)n;
        x->text_n += n;
        break;
    }
    case json_type_boolean:
        l->type = LT_LIT;
        l->s = json_object_get_boolean(v) ? "true" : "false";
        l->n = json_object_get_boolean(v) ? 4 : 5;
        break;
    case json_type_null:
        l->type = LT_LIT;
        l->s = "null";
        l->n = 4;
        break;
    case json_type_object:
    case json_type_array:
        return 0;
    }
    x->leaves_n++;
    return 0;
}

static int walk_object(struct walk *w, struct json_object *obj, size_t plen, uint64_t phash,
                       const uint64_t *first, int depth);

static int walk_array(struct walk *w, struct json_object *arr, size_t plen, uint64_t phash, uint32_t pid,
                      int depth)
{
    struct match_scratch *x = w->x;
    if (depth > MATCH_MAX_EVENT_DEPTH)
        return 0;
    uint32_t id = x->arrays++;
    size_t n = json_object_array_length(arr);
    bool used = w->set->paths[pid].used;
    for (size_t i = 0; i < n; i++) {
        struct json_object *e = json_object_array_get_idx(arr, i);
        enum json_type t = json_object_get_type(e);
        if (t == json_type_object || t == json_type_array) {
            if (ms_grow((void **)&x->stack, &x->stack_cap, x->stack_n + 2, sizeof *x->stack) != 0)
                return -1;
            x->stack[x->stack_n++] = id;
            x->stack[x->stack_n++] = (uint32_t)i;
            int rc = t == json_type_object ? walk_object(w, e, plen, phash, w->set->paths[pid].first, depth + 1)
                                           : walk_array(w, e, plen, phash, pid, depth + 1);
            x->stack_n -= 2;
            if (rc != 0)
                return -1;
        } else if (used && add_leaf(w, e, pid) != 0) {
            return -1;
        }
    }
    return 0;
}

/* first: the first bytes of the keys that extend this object's path to a
 * path of the set (struct path); the other keys are skipped unhashed. */
static int walk_object(struct walk *w, struct json_object *obj, size_t plen, uint64_t phash,
                       const uint64_t *first, int depth)
{
    struct match_scratch *x = w->x;
    if (depth > MATCH_MAX_EVENT_DEPTH)
        return 0;
    json_object_object_foreach(obj, key, val)
    {
        unsigned char k0 = (unsigned char)key[0];
        if (!(first[k0 >> 6] & (1ULL << (k0 & 63))))
            continue;
        size_t kn = strlen(key);
        size_t len = plen ? plen + 1 + kn : kn;
        if (len > w->set->max_path_len)
            continue; /* longer than any path a pattern names; x->path holds the others */
        uint64_t h = MV_FNV_INIT;
        if (plen) {
            x->path[plen] = '.';
            h = mv_fnv_byte(phash, '.');
        }
        memcpy(x->path + len - kn, key, kn);
        for (size_t i = 0; i < kn; i++)
            h = mv_fnv_byte(h, (unsigned char)key[i]);
        uint32_t pid = ms_path_find(w->set, x->path, len, h);
        if (pid == MATCH_NONE)
            continue;
        int rc = 0;
        switch (json_object_get_type(val)) {
        case json_type_object:
            rc = walk_object(w, val, len, h, w->set->paths[pid].first, depth + 1);
            break;
        case json_type_array:
            rc = walk_array(w, val, len, h, pid, depth + 1);
            break;
        default:
            if (w->set->paths[pid].used)
                rc = add_leaf(w, val, pid);
            break;
        }
        if (rc != 0)
            return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Does a leaf satisfy a matcher?  [ER-bytes] doTransitionOn: strings are
 * matched with their quotes, so prefix, suffix, equals-ignore-case,
 * wildcard and cidr only ever match strings; numeric ranges and numeric
 * equality only numbers that are comparable; an anything-but is met by
 * every value it does not exclude — numbers, true, false and null
 * included — and an anything-but over numbers only excludes (comparable)
 * numbers ("anythingBut.isNumeric() == fieldValueIsNumeric"). */

static int leaf_ip(struct leaf *l)
{
    if (l->ip < 0)
        l->ip = (int8_t)mv_parse_ip(l->s, l->n, l->addr);
    return l->ip;
}

/* The equals-ignore-case family compares folded bytes; the room for
 * them was reserved before probing, so folding on first use never moves
 * the pool. */
static const char *leaf_fold(struct leaf *l)
{
    if (!l->folded) {
        mv_fold(l->s, l->n, l->fold);
        l->folded = 1;
    }
    return l->fold;
}

static bool in_range(const struct matcher *m, int64_t v)
{
    if (m->flags & MF_HAS_LO) {
        if (v < m->lo || (v == m->lo && (m->flags & MF_LO_OPEN)))
            return false;
    }
    if (m->flags & MF_HAS_HI) {
        if (v > m->hi || (v == m->hi && (m->flags & MF_HI_OPEN)))
            return false;
    }
    return true;
}

static bool bytes_eq(const char *a, size_t an, const char *b, size_t bn)
{
    return an == bn && memcmp(a, b, an) == 0;
}

static bool cidr_has(const struct match_set *s, const struct matcher *m, struct leaf *l)
{
    if (leaf_ip(l) != (int)m->len)
        return false;
    const unsigned char *lo = (const unsigned char *)s->pool + m->off;
    const unsigned char *hi = lo + m->len;
    return memcmp(l->addr, lo, m->len) >= 0 && memcmp(l->addr, hi, m->len) <= 0;
}

bool ms_leaf_matches(const struct match_set *s, struct leaf *l, const struct matcher *m)
{
    const char *mb = s->pool + m->off;
    bool str = l->type == LT_STR;
    switch ((enum mkind)m->kind) {
    case MK_STR:
        return str && bytes_eq(l->s, l->n, mb, m->len);
    case MK_IP:
        return str && leaf_ip(l) == (int)m->len && memcmp(l->addr, mb, m->len) == 0;
    case MK_LIT:
        return l->type == LT_LIT && bytes_eq(l->s, l->n, mb, m->len);
    case MK_NUM:
        /* [ER-compiler] writeRules adds exactMatch(text) and, when the
         * number is comparable, numericEquals: 300 matches 300.0 and 3e2
         * (despite the User Guide's "300, 300.0, and 3.0e2 are not
         * considered equal"; EventBridge does match them, see
         * docs/matching.md). */
        return l->type == LT_NUM && (bytes_eq(l->s, l->n, mb, m->len) ||
                                     ((m->flags & MF_COMPARABLE) && l->numeric && l->scaled == m->lo));
    case MK_PREFIX:
        return str && l->n >= m->len && memcmp(l->s, mb, m->len) == 0;
    case MK_SUFFIX:
        return str && l->n >= m->len && memcmp(l->s + l->n - m->len, mb, m->len) == 0;
    case MK_EIC:
        return str && l->n == m->len && memcmp(leaf_fold(l), mb, m->len) == 0;
    case MK_PREFIX_IC:
        return str && l->n >= m->len && memcmp(leaf_fold(l), mb, m->len) == 0;
    case MK_SUFFIX_IC:
        return str && l->n >= m->len && memcmp(leaf_fold(l) + l->n - m->len, mb, m->len) == 0;
    case MK_WILDCARD:
        return str && mv_wildcard_match((const unsigned char *)mb, l->s, l->n);
    case MK_NUMERIC:
        return l->type == LT_NUM && l->numeric && in_range(m, l->scaled);
    case MK_CIDR:
        return str && cidr_has(s, m, l);
    case MK_EXISTS:
        return true;
    case MK_AB_NUM:
        if (l->type != LT_NUM || !l->numeric)
            return true;
        for (uint32_t i = 0; i < m->len; i++)
            if (s->nums[m->off + i] == l->scaled)
                return false;
        return true;
    case MK_AB_STR:
    case MK_AB_EIC:
    case MK_AB_PREFIX:
    case MK_AB_SUFFIX:
    case MK_AB_WILDCARD:
        if (!str)
            return true;
        for (uint32_t i = 0; i < m->len; i++) {
            const struct item *it = &s->items[m->off + i];
            const char *ib = s->pool + it->off;
            bool hit;
            switch ((enum mkind)m->kind) {
            case MK_AB_STR:
                hit = bytes_eq(l->s, l->n, ib, it->len);
                break;
            case MK_AB_EIC:
                hit = l->n == it->len && memcmp(leaf_fold(l), ib, it->len) == 0;
                break;
            case MK_AB_PREFIX:
                hit = l->n >= it->len && memcmp(l->s, ib, it->len) == 0;
                break;
            case MK_AB_SUFFIX:
                hit = l->n >= it->len && memcmp(l->s + l->n - it->len, ib, it->len) == 0;
                break;
            default:
                hit = mv_wildcard_match((const unsigned char *)ib, l->s, l->n);
                break;
            }
            if (hit)
                return false;
        }
        return true;
    }
    return false;
}

/* ------------------------------------------------------------------ */
/* Candidates.                                                        */

static void add_bucket(struct match_scratch *x, const struct u32vec *b)
{
    if (b == NULL)
        return;
    if (ms_grow((void **)&x->cands, &x->cands_cap, x->cands_n + b->n, sizeof *x->cands) != 0) {
        x->oom = true;
        return;
    }
    for (uint32_t i = 0; i < b->n; i++) {
        uint32_t sid = b->v[i];
        if (x->sub_stamp[sid] != x->gen) {
            x->sub_stamp[sid] = x->gen;
            x->cands[x->cands_n++] = sid;
        }
    }
}

static void add_one(struct match_scratch *x, uint32_t sid)
{
    struct u32vec one = {&sid, 1, 1};
    add_bucket(x, &one);
}

static void probe(struct match_scratch *x, const struct match_set *s, uint32_t pid, unsigned tag,
                  const char *bytes, uint32_t len)
{
    uint64_t h = mv_mix(mv_fnv(MV_FNV_INIT, bytes, len), pid, tag, len);
    add_bucket(x, ms_anchor_find(s, h, pid, tag, bytes, len));
}

/* Every prefix (or suffix) length some anchor of this path uses: one
 * incremental hash over the value, one probe per length. */
static void probe_affixes(struct match_scratch *x, const struct match_set *s, uint32_t pid,
                          unsigned tag, const struct u32vec *lens, const char *v, uint32_t n,
                          bool suffix)
{
    uint64_t h = MV_FNV_INIT;
    uint32_t done = 0;
    for (uint32_t k = 0; k + 1 < lens->n; k += 2) { /* pairs (length, count) */
        uint32_t len = lens->v[k];
        if (len > n)
            break;
        if (suffix)
            h = mv_fnv_rev(h, v + n - len, len - done);
        else
            h = mv_fnv(h, v + done, len - done);
        done = len;
        const char *at = suffix ? v + n - len : v;
        add_bucket(x, ms_anchor_find(s, mv_mix(h, pid, tag, len), pid, tag, at, len));
    }
}

#define HAS(p, tag) (((p)->tags >> (tag)) & 1u)

/* Only the probes this path has anchors for. */
static void probe_leaf(struct match_scratch *x, const struct match_set *s, struct leaf *l)
{
    const struct path *p = &s->paths[l->path];
    switch ((enum ltype)l->type) {
    case LT_STR:
        if (HAS(p, AT_STR))
            probe(x, s, l->path, AT_STR, l->s, l->n);
        if (HAS(p, AT_EIC))
            probe(x, s, l->path, AT_EIC, leaf_fold(l), l->n);
        probe_affixes(x, s, l->path, AT_PREFIX, &p->lens[0], l->s, l->n, false);
        probe_affixes(x, s, l->path, AT_SUFFIX, &p->lens[1], l->s, l->n, true);
        if (p->lens[2].n > 0)
            probe_affixes(x, s, l->path, AT_PREFIX_IC, &p->lens[2], leaf_fold(l), l->n, false);
        if (p->lens[3].n > 0)
            probe_affixes(x, s, l->path, AT_SUFFIX_IC, &p->lens[3], leaf_fold(l), l->n, true);
        if ((HAS(p, AT_IP) || p->cidrs.n > 0) && leaf_ip(l) != 0) {
            if (HAS(p, AT_IP))
                probe(x, s, l->path, AT_IP, (const char *)l->addr, (uint32_t)l->ip);
            for (uint32_t i = 0; i + 1 < p->cidrs.n; i += 2)
                if (cidr_has(s, &s->matchers[p->cidrs.v[i]], l))
                    add_one(x, p->cidrs.v[i + 1]);
        }
        break;
    case LT_NUM:
        if (HAS(p, AT_LIT))
            probe(x, s, l->path, AT_LIT, l->s, l->n);
        if (l->numeric) {
            if (HAS(p, AT_NUM)) {
                char v[8];
                memcpy(v, &l->scaled, 8);
                probe(x, s, l->path, AT_NUM, v, 8);
            }
            for (uint32_t i = 0; i + 1 < p->ranges.n; i += 2)
                if (in_range(&s->matchers[p->ranges.v[i]], l->scaled))
                    add_one(x, p->ranges.v[i + 1]);
        }
        break;
    case LT_LIT:
        if (HAS(p, AT_LIT))
            probe(x, s, l->path, AT_LIT, l->s, l->n);
        break;
    }
}

/* ------------------------------------------------------------------ */
/* Verifying a sub-rule.  [ER-ac] ACFinder walks a sub-rule's fields in
 * sorted name order; each step takes one event field with that name whose
 * value meets one of the field's patterns and whose array membership is
 * consistent with the fields taken so far (ArrayMembership
 * .checkArrayConsistency: no array may be entered at two different
 * indexes).  {"exists": false} on a field (NameState.getNameTransitions)
 * holds when no event field of that name is consistent with the fields
 * taken *before* it — so its outcome can depend on the fields that sort
 * before it, exactly as in event-ruler. */

/* Pruning.  What a later step can see of the membership so far is only
 * the arrays its own leaves sit in: a pair (array, index) that no later
 * constraint's leaf has is dropped, and two leaves that add the same
 * relevant pairs lead to the same outcome, so only the first is tried.
 * Without this, events with several independent arrays of objects would
 * make the search exponential; with it, the same answers come out. */

/* Marks, for every array, the last constraint of sr with a leaf in it. */
static bool mark_arrays(struct match_scratch *x, const struct match_set *s, const struct subrule *sr)
{
    if (grow_zero(&x->arr_stamp, &x->arr_stamp_cap, (size_t)x->arrays + 1) != 0 ||
        ms_grow((void **)&x->arr_level, &x->arr_cap, (size_t)x->arrays + 1, sizeof *x->arr_level) != 0)
        return false;
    if (++x->vgen == 0) {
        memset(x->arr_stamp, 0, x->arr_stamp_cap * sizeof *x->arr_stamp);
        x->vgen = 1;
    }
    for (uint32_t ci = 0; ci < sr->n; ci++) {
        uint32_t pid = s->cons[sr->first + ci].path;
        if (x->path_stamp[pid] != x->gen)
            continue;
        for (uint32_t li = x->path_head[pid]; li != MATCH_NONE; li = x->leaves[li].next) {
            const struct leaf *l = &x->leaves[li];
            for (uint32_t k = 0; k < l->memb_n; k++) {
                uint32_t a = x->memb[l->memb + 2 * k];
                x->arr_stamp[a] = x->vgen;
                x->arr_level[a] = ci;
            }
        }
    }
    return true;
}

/* Is a leaf consistent with the membership mstack[0..top)?
 * [ER-ac] ArrayMembership.checkArrayConsistency: no array may be entered
 * at two different indexes. */
static bool consistent(const struct match_scratch *x, size_t top, const struct leaf *l)
{
    for (uint32_t k = 0; k < l->memb_n; k++) {
        uint32_t arr = x->memb[l->memb + 2 * k], idx = x->memb[l->memb + 2 * k + 1];
        for (size_t j = 0; j < top; j++)
            if (x->mstack[2 * j] == arr && x->mstack[2 * j + 1] != idx)
                return false;
    }
    return true;
}

/* Extends the membership by the pairs of a leaf taken at step ci that a
 * later step can see; returns the new top.  The leaf must be consistent. */
static size_t extend(struct match_scratch *x, size_t top, const struct leaf *l, uint32_t ci)
{
    size_t n = top;
    for (uint32_t k = 0; k < l->memb_n; k++) {
        uint32_t arr = x->memb[l->memb + 2 * k], idx = x->memb[l->memb + 2 * k + 1];
        if (x->arr_stamp[arr] != x->vgen || x->arr_level[arr] <= ci)
            continue; /* no later step has a leaf in this array */
        size_t j = 0;
        while (j < top && x->mstack[2 * j] != arr)
            j++;
        if (j == top) {
            x->mstack[2 * n] = arr;
            x->mstack[2 * n + 1] = idx;
            n++;
        }
    }
    return n;
}

/* Was this extension (mstack[top..ntop)) already tried at this step?
 * Records it if not.  tried[base..] holds, per try, a count then pairs. */
static bool tried_before(struct match_scratch *x, size_t base, size_t top, size_t ntop)
{
    size_t len = 2 * (ntop - top);
    for (size_t i = base; i < x->tried_n; i += 1 + x->tried[i]) {
        if (x->tried[i] == len && memcmp(x->tried + i + 1, x->mstack + 2 * top, len * sizeof *x->tried) == 0)
            return true;
    }
    if (ms_grow((void **)&x->tried, &x->tried_cap, x->tried_n + 1 + len, sizeof *x->tried) != 0) {
        x->oom = true;
        return true;
    }
    x->tried[x->tried_n] = (uint32_t)len;
    memcpy(x->tried + x->tried_n + 1, x->mstack + 2 * top, len * sizeof *x->tried);
    x->tried_n += 1 + len;
    return false;
}

static bool verify(struct match_scratch *x, const struct match_set *s, const struct subrule *sr,
                   uint32_t ci, size_t top)
{
    if (ci == sr->n)
        return true;
    const struct constraint *c = &s->cons[sr->first + ci];
    uint32_t head = x->path_stamp[c->path] == x->gen ? x->path_head[c->path] : MATCH_NONE;
    size_t base = x->tried_n;
    bool found = false;
    for (uint32_t li = head; li != MATCH_NONE && !found && !x->oom; li = x->leaves[li].next) {
        struct leaf *l = &x->leaves[li];
        bool ok = false;
        for (uint32_t k = 0; k < c->n && !ok; k++)
            ok = ms_leaf_matches(s, l, &s->matchers[c->first + k]);
        if (!ok || !consistent(x, top, l))
            continue;
        size_t ntop = extend(x, top, l, ci);
        if (tried_before(x, base, top, ntop))
            continue;
        found = verify(x, s, sr, ci + 1, ntop);
    }
    x->tried_n = base;
    if (found || x->oom)
        return found;
    if (c->absent_ok) {
        for (uint32_t li = head; li != MATCH_NONE; li = x->leaves[li].next)
            if (consistent(x, top, &x->leaves[li]))
                return false; /* present, consistently with the steps so far */
        return verify(x, s, sr, ci + 1, top);
    }
    return false;
}

static void check_subrule(struct match_scratch *x, const struct match_set *s, uint32_t sid)
{
    const struct subrule *sr = &s->subs[sid];
    if (sr->dead || x->rule_stamp[sr->rule] == x->gen)
        return;
    if (x->arrays > 0 && !mark_arrays(x, s, sr)) {
        x->oom = true;
        return;
    }
    if (!verify(x, s, sr, 0, 0))
        return;
    x->rule_stamp[sr->rule] = x->gen;
    if (ms_grow((void **)&x->out, &x->out_cap, x->out_n + 1, sizeof *x->out) != 0) {
        x->oom = true;
        return;
    }
    x->out[x->out_n++] = s->rule_ids[sr->rule];
}

/* ------------------------------------------------------------------ */
/* One event.                                                         */

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static int prepare(struct match_scratch *x, const struct match_set *s)
{
    if (grow_zero(&x->sub_stamp, &x->sub_cap, s->subs_n + 1) != 0 ||
        grow_zero(&x->rule_stamp, &x->rule_cap, s->rules_n + 1) != 0 ||
        grow_zero(&x->path_stamp, &x->path_cap, s->paths_n + 1) != 0)
        return -1;
    if (ms_grow((void **)&x->path_head, &x->path_head_cap, x->path_cap, sizeof *x->path_head) != 0)
        return -1;
    if (++x->gen == 0) {
        memset(x->sub_stamp, 0, x->sub_cap * sizeof *x->sub_stamp);
        memset(x->rule_stamp, 0, x->rule_cap * sizeof *x->rule_stamp);
        memset(x->path_stamp, 0, x->path_cap * sizeof *x->path_stamp);
        x->gen = 1;
    }
    x->leaves_n = x->memb_n = x->stack_n = x->text_n = x->cands_n = x->out_n = 0;
    x->max_memb = 0;
    x->arrays = 0;
    x->oom = false;
    return 0;
}

size_t match_event(const struct match_set *s, struct match_scratch *x, const struct json_object *event,
                   uint32_t *out, size_t cap)
{
    if (s == NULL || x == NULL)
        return 0;
    if (prepare(x, s) != 0)
        return MATCH_ERROR;
    struct json_object *ev = (struct json_object *)event;
    if (!json_object_is_type(ev, json_type_object) || s->subs_n == 0)
        return 0;

    struct walk w = {s, x};
    if (ms_grow((void **)&x->path, &x->pathbuf_cap, s->max_path_len + 1, 1) != 0)
        return MATCH_ERROR;
    if (s->paths_n > 0 && walk_object(&w, ev, 0, MV_FNV_INIT, s->root_first, 1) != 0)
        return MATCH_ERROR;

    /* Room for folded copies (equals-ignore-case family), then fix the
     * pointers into the text pool: it no longer moves. */
    size_t room = x->text_n;
    for (size_t i = 0; i < x->leaves_n; i++) {
        struct leaf *l = &x->leaves[i];
        if (l->type == LT_STR && s->paths[l->path].has_ic) {
            l->fold_off = (uint32_t)room;
            room += l->n;
        }
    }
    if (ms_grow((void **)&x->text, &x->text_cap, room + 1, 1) != 0)
        return MATCH_ERROR;
    x->text_n = room;
    for (size_t i = 0; i < x->leaves_n; i++) {
        struct leaf *l = &x->leaves[i];
        if (l->text_in_pool)
            l->s = x->text + l->text_off;
        l->fold = l->fold_off != MATCH_NONE ? x->text + l->fold_off : NULL;
    }

    /* Index the leaves by path; probe the anchors. */
    for (size_t i = 0; i < x->leaves_n; i++) {
        struct leaf *l = &x->leaves[i];
        uint32_t pid = l->path;
        if (x->path_stamp[pid] != x->gen) {
            x->path_stamp[pid] = x->gen;
            x->path_head[pid] = MATCH_NONE;
            add_bucket(x, &s->paths[pid].exist);
        }
        l->next = x->path_head[pid];
        x->path_head[pid] = (uint32_t)i;
        probe_leaf(x, s, l);
    }
    if (x->oom)
        return MATCH_ERROR;

    /* Verify.  Each step adds at most one leaf's pairs to the membership
     * stack, so size it once. */
    size_t need = 2 * ((size_t)x->max_memb * s->max_cons + 1);
    if (ms_grow((void **)&x->mstack, &x->mstack_cap, need, sizeof *x->mstack) != 0)
        return MATCH_ERROR;
    for (size_t i = 0; i < x->cands_n; i++)
        check_subrule(x, s, x->cands[i]);
    for (size_t i = 0; i < s->always.n; i++)
        check_subrule(x, s, s->always.v[i]);
    if (x->oom)
        return MATCH_ERROR;

    if (x->out_n > 1)
        qsort(x->out, x->out_n, sizeof *x->out, cmp_u32);
    size_t n = x->out_n < cap ? x->out_n : cap;
    if (n > 0)
        memcpy(out, x->out, n * sizeof *out);
    return x->out_n;
}
