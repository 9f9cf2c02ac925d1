/* match_compile.c — building a match_set: patterns are validated,
 * expanded into sub-rules ($or), compiled into constraints and matchers,
 * and each sub-rule is handed to the anchor index (match_index.c).  See
 * match_internal.h for the vocabulary and docs/matching.md for the
 * design.
 *
 * Sources:
 *   [ER-compiler] aws/event-ruler JsonRuleCompiler.java (parseObject,
 *                 parseIntoOrRelationship, writeRules, processMatchExpression)
 *   [ER-machine]  aws/event-ruler GenericMachine.java (addRule sorts a
 *                 sub-rule's field names before building its NameStates)
 *   [ER-cidr]     aws/event-ruler CIDR.java
 *   [UG-ops]      User Guide, "Comparison operators for use in event patterns"
 */
#include "match_internal.h"

#include <json-c/json.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pattern.h"

/* ------------------------------------------------------------------ */
/* Growth helpers.                                                    */

int ms_grow_slow(void **p, size_t *cap, size_t need, size_t elem)
{
    size_t nc = *cap ? *cap : 16;
    while (nc < need)
        nc *= 2;
    void *q = realloc(*p, nc * elem);
    if (q == NULL)
        return -1;
    *p = q;
    *cap = nc;
    return 0;
}

int ms_vec_push(struct u32vec *v, uint32_t x)
{
    size_t cap = v->cap;
    if (ms_grow((void **)&v->v, &cap, (size_t)v->n + 1, sizeof *v->v) != 0)
        return -1;
    v->cap = (uint32_t)cap;
    v->v[v->n++] = x;
    return 0;
}

/* Appends bytes to the pool; their offset in *off. */
int ms_pool_add(struct match_set *s, const void *p, size_t n, uint32_t *off)
{
    if (s->pool_n + n > UINT32_MAX)
        return -1;
    if (ms_grow((void **)&s->pool, &s->pool_cap, s->pool_n + n + 1, 1) != 0)
        return -1;
    if (n > 0)
        memcpy(s->pool + s->pool_n, p, n);
    *off = (uint32_t)s->pool_n;
    s->pool_n += n;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Set life cycle.                                                    */

struct match_set *match_set_new(void)
{
    return calloc(1, sizeof(struct match_set));
}

void match_set_free(struct match_set *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->paths_n; i++) {
        struct path *p = &s->paths[i];
        for (int k = 0; k < 4; k++)
            free(p->lens[k].v);
        free(p->exist.v);
        free(p->ranges.v);
        free(p->cidrs.v);
    }
    for (size_t i = 0; i < s->buckets_n; i++)
        free(s->buckets[i].sids.v);
    free(s->always.v);
    free(s->pool);
    free(s->items);
    free(s->nums);
    free(s->matchers);
    free(s->cons);
    free(s->subs);
    free(s->rule_ids);
    free(s->rule_map);
    free(s->paths);
    free(s->path_map);
    free(s->keys);
    free(s->buckets);
    free(s);
}

size_t match_set_rule_count(const struct match_set *s)
{
    return s ? s->rules_n : 0;
}

size_t match_set_subrule_count(const struct match_set *s)
{
    return s ? s->subs_n : 0;
}

/* ------------------------------------------------------------------ */
/* Rule ids -> dense indices.                                         */

static uint32_t rule_hash(uint32_t id)
{
    uint64_t h = id * 0x9E3779B97F4A7C15ULL;
    return (uint32_t)(h >> 32);
}

static int rule_index(struct match_set *s, uint32_t id, uint32_t *dense)
{
    if (s->rule_map_cap > 0) {
        size_t mask = s->rule_map_cap - 1;
        for (size_t i = rule_hash(id) & mask;; i = (i + 1) & mask) {
            uint32_t slot = s->rule_map[i];
            if (slot == 0)
                break;
            if (s->rule_ids[slot - 1] == id) {
                *dense = slot - 1;
                return 0;
            }
        }
    }
    if ((s->rules_n + 1) * 2 > s->rule_map_cap) {
        size_t nc = s->rule_map_cap ? s->rule_map_cap * 2 : 64;
        uint32_t *m = calloc(nc, sizeof *m);
        if (m == NULL)
            return -1;
        for (size_t r = 0; r < s->rules_n; r++) {
            size_t i = rule_hash(s->rule_ids[r]) & (nc - 1);
            while (m[i] != 0)
                i = (i + 1) & (nc - 1);
            m[i] = (uint32_t)r + 1;
        }
        free(s->rule_map);
        s->rule_map = m;
        s->rule_map_cap = nc;
    }
    if (ms_grow((void **)&s->rule_ids, &s->rules_cap, s->rules_n + 1, sizeof *s->rule_ids) != 0)
        return -1;
    s->rule_ids[s->rules_n] = id;
    size_t mask = s->rule_map_cap - 1;
    size_t i = rule_hash(id) & mask;
    while (s->rule_map[i] != 0)
        i = (i + 1) & mask;
    s->rule_map[i] = (uint32_t)s->rules_n + 1;
    *dense = (uint32_t)s->rules_n++;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Paths.  Every path a constraint names is interned with used = true;
 * every prefix of it that ends before a '.' is interned too (used =
 * false), so the event walk can skip any object no pattern looks into. */

uint32_t ms_path_find(const struct match_set *s, const char *name, size_t n, uint64_t hash)
{
    if (s->path_map_cap == 0)
        return MATCH_NONE;
    size_t mask = s->path_map_cap - 1;
    for (size_t i = (size_t)hash & mask;; i = (i + 1) & mask) {
        uint32_t slot = s->path_map[i];
        if (slot == 0)
            return MATCH_NONE;
        const struct path *p = &s->paths[slot - 1];
        if (p->hash == hash && p->len == n && memcmp(s->pool + p->off, name, n) == 0)
            return slot - 1;
    }
}

static void first_byte_add(uint64_t first[4], char c)
{
    unsigned char b = (unsigned char)c;
    first[b >> 6] |= 1ULL << (b & 63);
}

static int path_intern1(struct match_set *s, const char *name, size_t n, bool used, uint32_t *out)
{
    uint64_t h = mv_fnv(MV_FNV_INIT, name, n);
    uint32_t found = ms_path_find(s, name, n, h);
    if (found != MATCH_NONE) {
        if (used)
            s->paths[found].used = true;
        *out = found;
        return 0;
    }
    if ((s->paths_n + 1) * 2 > s->path_map_cap) {
        size_t nc = s->path_map_cap ? s->path_map_cap * 2 : 64;
        uint32_t *m = calloc(nc, sizeof *m);
        if (m == NULL)
            return -1;
        for (size_t r = 0; r < s->paths_n; r++) {
            size_t i = (size_t)s->paths[r].hash & (nc - 1);
            while (m[i] != 0)
                i = (i + 1) & (nc - 1);
            m[i] = (uint32_t)r + 1;
        }
        free(s->path_map);
        s->path_map = m;
        s->path_map_cap = nc;
    }
    if (ms_grow((void **)&s->paths, &s->paths_cap, s->paths_n + 1, sizeof *s->paths) != 0)
        return -1;
    struct path *p = &s->paths[s->paths_n];
    memset(p, 0, sizeof *p);
    if (ms_pool_add(s, name, n, &p->off) != 0)
        return -1;
    /* Where this path extends another by a key, that key's first byte
     * (0 for the empty key): the walk skips keys whose first byte no
     * path has at that place. */
    first_byte_add(s->root_first, n > 0 ? name[0] : 0);
    for (size_t i = 0; i < n; i++)
        if (name[i] == '.') {
            uint32_t parent = ms_path_find(s, name, i, mv_fnv(MV_FNV_INIT, name, i));
            if (parent != MATCH_NONE) /* always: path_intern interns the prefixes first */
                first_byte_add(s->paths[parent].first, i + 1 < n ? name[i + 1] : 0);
        }
    p->len = (uint32_t)n;
    p->hash = h;
    p->used = used;
    size_t mask = s->path_map_cap - 1;
    size_t i = (size_t)h & mask;
    while (s->path_map[i] != 0)
        i = (i + 1) & mask;
    s->path_map[i] = (uint32_t)s->paths_n + 1;
    if (n > s->max_path_len)
        s->max_path_len = n;
    *out = (uint32_t)s->paths_n++;
    return 0;
}

static int path_intern(struct match_set *s, const char *name, size_t n, uint32_t *out)
{
    uint32_t dummy;
    for (size_t i = 0; i < n; i++)
        if (name[i] == '.' && path_intern1(s, name, i, false, &dummy) != 0)
            return -1;
    return path_intern1(s, name, n, true, out);
}

/* ------------------------------------------------------------------ */
/* $or expansion.  [ER-compiler] parseObject / parseIntoOrRelationship /
 * writeRules: the pattern becomes a list of sub-rules, each a map from
 * path to value list.  Fields are visited in document order; a "$or"
 * replaces the list built so far by one copy per member, each extended by
 * that member; a value list is put into every sub-rule built so far
 * (rule.put: a path seen again is overwritten, so the last one wins, as
 * the User Guide says of a key repeated in a pattern). */

struct kv {
    char *path;
    size_t len;
    struct json_object *vals;
};

struct alt {
    struct kv *kv;
    size_t n, cap;
};

struct alts {
    struct alt *a;
    size_t n, cap;
};

static void alt_free(struct alt *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->kv[i].path);
    free(a->kv);
    memset(a, 0, sizeof *a);
}

static void alts_free(struct alts *l)
{
    for (size_t i = 0; i < l->n; i++)
        alt_free(&l->a[i]);
    free(l->a);
    memset(l, 0, sizeof *l);
}

static int alt_put(struct alt *a, const char *path, size_t len, struct json_object *vals)
{
    for (size_t i = 0; i < a->n; i++) {
        if (a->kv[i].len == len && memcmp(a->kv[i].path, path, len) == 0) {
            a->kv[i].vals = vals;
            return 0;
        }
    }
    if (ms_grow((void **)&a->kv, &a->cap, a->n + 1, sizeof *a->kv) != 0)
        return -1;
    char *p = malloc(len + 1);
    if (p == NULL)
        return -1;
    memcpy(p, path, len);
    p[len] = '\0';
    a->kv[a->n++] = (struct kv){p, len, vals};
    return 0;
}

static int alts_push_empty(struct alts *l)
{
    if (ms_grow((void **)&l->a, &l->cap, l->n + 1, sizeof *l->a) != 0)
        return -1;
    memset(&l->a[l->n++], 0, sizeof(struct alt));
    return 0;
}

static int alts_copy(struct alts *dst, const struct alts *src)
{
    for (size_t i = 0; i < src->n; i++) {
        if (alts_push_empty(dst) != 0)
            return -1;
        struct alt *d = &dst->a[dst->n - 1];
        for (size_t k = 0; k < src->a[i].n; k++) {
            const struct kv *kv = &src->a[i].kv[k];
            if (alt_put(d, kv->path, kv->len, kv->vals) != 0)
                return -1;
        }
    }
    return 0;
}

struct pathbuf {
    char *b;
    size_t n, cap;
};

static int pathbuf_push(struct pathbuf *p, const char *key, size_t *mark)
{
    size_t kn = strlen(key);
    *mark = p->n;
    if (ms_grow((void **)&p->b, &p->cap, p->n + kn + 2, 1) != 0)
        return -1;
    if (p->n > 0)
        p->b[p->n++] = '.';
    memcpy(p->b + p->n, key, kn);
    p->n += kn;
    return 0;
}

static int expand(struct json_object *obj, struct pathbuf *pb, struct alts *l, int depth)
{
    if (depth > PATTERN_MAX_DEPTH)
        return -1;
    json_object_object_foreach(obj, key, val)
    {
        if (strcmp(key, "$or") == 0 && json_object_is_type(val, json_type_array)) {
            struct alts cur = *l;
            memset(l, 0, sizeof *l);
            int rc = 0;
            size_t n = json_object_array_length(val);
            for (size_t i = 0; i < n && rc == 0; i++) {
                struct json_object *member = json_object_array_get_idx(val, i);
                struct alts fresh = {0};
                rc = cur.n == 0 ? alts_push_empty(&fresh) : alts_copy(&fresh, &cur);
                if (rc == 0 && json_object_is_type(member, json_type_object))
                    rc = expand(member, pb, &fresh, depth + 1);
                for (size_t k = 0; k < fresh.n && rc == 0; k++) {
                    rc = ms_grow((void **)&l->a, &l->cap, l->n + 1, sizeof *l->a);
                    if (rc == 0) {
                        l->a[l->n++] = fresh.a[k];
                        memset(&fresh.a[k], 0, sizeof fresh.a[k]);
                    }
                }
                alts_free(&fresh);
            }
            alts_free(&cur);
            if (rc != 0)
                return -1;
            continue;
        }
        size_t mark;
        if (pathbuf_push(pb, key, &mark) != 0)
            return -1;
        int rc = 0;
        if (json_object_is_type(val, json_type_object)) {
            rc = expand(val, pb, l, depth + 1);
        } else {
            if (l->n == 0)
                rc = alts_push_empty(l);
            for (size_t i = 0; i < l->n && rc == 0; i++)
                rc = alt_put(&l->a[i], pb->b, pb->n, val);
        }
        pb->n = mark;
        if (rc != 0)
            return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Matchers.  Every operand was checked by pattern_validate(). */

static int push_matcher(struct match_set *s, struct matcher m)
{
    if (ms_grow((void **)&s->matchers, &s->matchers_cap, s->matchers_n + 1, sizeof *s->matchers) != 0)
        return -1;
    s->matchers[s->matchers_n++] = m;
    return 0;
}

static int push_item(struct match_set *s, const char *p, size_t n, bool fold)
{
    if (ms_grow((void **)&s->items, &s->items_cap, s->items_n + 1, sizeof *s->items) != 0)
        return -1;
    struct item *it = &s->items[s->items_n];
    if (ms_pool_add(s, p, n, &it->off) != 0)
        return -1;
    if (fold)
        mv_fold(s->pool + it->off, n, s->pool + it->off);
    it->len = (uint32_t)n;
    s->items_n++;
    return 0;
}

static int push_wildcard_item(struct match_set *s, const char *p, size_t n, uint32_t *off, uint32_t *len)
{
    size_t size = mv_wildcard_blob_size(p, n);
    if (ms_grow((void **)&s->pool, &s->pool_cap, s->pool_n + size + 1, 1) != 0)
        return -1;
    mv_wildcard_compile(p, n, (unsigned char *)s->pool + s->pool_n);
    *off = (uint32_t)s->pool_n;
    *len = (uint32_t)size;
    s->pool_n += size;
    return 0;
}

static int str_arg(struct json_object *v, const char **p, size_t *n)
{
    if (!json_object_is_type(v, json_type_string))
        return -1;
    *p = json_object_get_string(v);
    *n = (size_t)json_object_get_string_len(v);
    return 0;
}

static int compile_anything_but(struct match_set *s, struct json_object *arg)
{
    struct matcher m = {0};
    const char *p;
    size_t n;
    if (json_object_is_type(arg, json_type_object)) {
        struct json_object_iterator it = json_object_iter_begin(arg);
        const char *op = json_object_iter_peek_name(&it);
        struct json_object *v = json_object_iter_peek_value(&it);
        bool fold = false, wild = false;
        if (strcmp(op, "equals-ignore-case") == 0) {
            m.kind = MK_AB_EIC;
            fold = true;
        } else if (strcmp(op, "prefix") == 0) {
            m.kind = MK_AB_PREFIX;
        } else if (strcmp(op, "suffix") == 0) {
            m.kind = MK_AB_SUFFIX;
        } else if (strcmp(op, "wildcard") == 0) {
            m.kind = MK_AB_WILDCARD;
            wild = true;
        } else {
            return -1;
        }
        m.off = (uint32_t)s->items_n;
        size_t cnt = json_object_is_type(v, json_type_array) ? json_object_array_length(v) : 1;
        for (size_t i = 0; i < cnt; i++) {
            struct json_object *e = json_object_is_type(v, json_type_array)
                                        ? json_object_array_get_idx(v, i) : v;
            if (str_arg(e, &p, &n) != 0)
                return -1;
            if (wild) {
                uint32_t off, len;
                if (push_wildcard_item(s, p, n, &off, &len) != 0 ||
                    ms_grow((void **)&s->items, &s->items_cap, s->items_n + 1, sizeof *s->items) != 0)
                    return -1;
                s->items[s->items_n++] = (struct item){off, len};
            } else if (push_item(s, p, n, fold) != 0) {
                return -1;
            }
        }
        m.len = (uint32_t)cnt;
        return push_matcher(s, m);
    }
    /* A string, a number, or a list of only one of the two. */
    size_t cnt = json_object_is_type(arg, json_type_array) ? json_object_array_length(arg) : 1;
    struct json_object *e0 = json_object_is_type(arg, json_type_array)
                                 ? json_object_array_get_idx(arg, 0) : arg;
    bool strings = json_object_is_type(e0, json_type_string);
    m.kind = strings ? MK_AB_STR : MK_AB_NUM;
    m.off = (uint32_t)(strings ? s->items_n : s->nums_n);
    for (size_t i = 0; i < cnt; i++) {
        struct json_object *e = json_object_is_type(arg, json_type_array)
                                    ? json_object_array_get_idx(arg, i) : arg;
        if (strings) {
            if (str_arg(e, &p, &n) != 0 || push_item(s, p, n, false) != 0)
                return -1;
        } else {
            char buf[64];
            size_t tn;
            const char *t = ms_number_text(e, buf, &tn);
            int64_t v;
            if (!mv_number_scaled(t, tn, &v))
                return -1;
            if (ms_grow((void **)&s->nums, &s->nums_cap, s->nums_n + 1, sizeof *s->nums) != 0)
                return -1;
            s->nums[s->nums_n++] = v;
        }
    }
    m.len = (uint32_t)cnt;
    return push_matcher(s, m);
}

static int number_arg(struct json_object *v, int64_t *out)
{
    if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
        return -1;
    char buf[64];
    size_t n;
    const char *t = ms_number_text(v, buf, &n);
    return mv_number_scaled(t, n, out) ? 0 : -1;
}

/* [UG-ops] numeric: "=", "<", "<=", ">", ">=", or a lower bound then an
 * upper bound; [ER-compiler] processNumericMatchExpression. */
static int compile_numeric(struct match_set *s, struct json_object *arg)
{
    struct matcher m = {.kind = MK_NUMERIC};
    size_t n = json_object_array_length(arg);
    for (size_t i = 0; i + 1 < n; i += 2) {
        const char *op = json_object_get_string(json_object_array_get_idx(arg, i));
        int64_t v;
        if (op == NULL || number_arg(json_object_array_get_idx(arg, i + 1), &v) != 0)
            return -1;
        if (strcmp(op, "=") == 0) {
            m.flags |= MF_HAS_LO | MF_HAS_HI;
            m.lo = m.hi = v;
        } else if (op[0] == '>') {
            m.flags |= MF_HAS_LO | (op[1] == '=' ? 0 : MF_LO_OPEN);
            m.lo = v;
        } else {
            m.flags |= MF_HAS_HI | (op[1] == '=' ? 0 : MF_HI_OPEN);
            m.hi = v;
        }
    }
    return push_matcher(s, m);
}

/* [ER-cidr] CIDR.cidr: the range runs from the address with the host bits
 * cleared to the address with them set (computeBottomBytes /
 * computeTopBytes); bottom and top go to the pool, 4 or 16 bytes each. */
static int compile_cidr(struct match_set *s, const char *p, size_t n)
{
    const char *slash = memchr(p, '/', n);
    if (slash == NULL)
        return -1;
    unsigned char addr[16];
    int fam = mv_parse_ip(p, (size_t)(slash - p), addr);
    if (fam == 0)
        return -1;
    long bits = strtol(slash + 1, NULL, 10);
    if (bits < 0 || bits > fam * 8)
        return -1;
    unsigned char both[32];
    for (int i = 0; i < fam; i++) {
        int keep = (int)bits - i * 8; /* network bits in this byte */
        unsigned char mask = keep >= 8 ? 0xFF : keep <= 0 ? 0 : (unsigned char)(0xFF << (8 - keep));
        both[i] = addr[i] & mask;
        both[fam + i] = addr[i] | (unsigned char)~mask;
    }
    struct matcher m = {.kind = MK_CIDR, .len = (uint32_t)fam};
    if (ms_pool_add(s, both, (size_t)fam * 2, &m.off) != 0)
        return -1;
    return push_matcher(s, m);
}

static int compile_text_matcher(struct match_set *s, enum mkind kind, const char *p, size_t n, bool fold)
{
    struct matcher m = {.kind = (uint8_t)kind, .len = (uint32_t)n};
    if (ms_pool_add(s, p, n, &m.off) != 0)
        return -1;
    if (fold)
        mv_fold(s->pool + m.off, n, s->pool + m.off);
    return push_matcher(s, m);
}

/* One member of a value list; *absent set for {"exists": false}. */
static int compile_matcher(struct match_set *s, struct json_object *v, bool *absent)
{
    const char *p;
    size_t n;
    switch (json_object_get_type(v)) {
    case json_type_string: {
        p = json_object_get_string(v);
        n = (size_t)json_object_get_string_len(v);
        unsigned char ip[16];
        int fam = mv_parse_ip(p, n, ip);
        /* [ER-compiler] writeRules: CIDR.ipToRangeIfPossible turns a
         * string that is an IP literal into an address match: it
         * matches any spelling of the same address ("::1" matches an
         * event's "0:0:0:0:0:0:0:1"), and only strings that are one. */
        if (fam != 0) {
            struct matcher m = {.kind = MK_IP, .len = (uint32_t)fam};
            if (ms_pool_add(s, ip, (size_t)fam, &m.off) != 0)
                return -1;
            return push_matcher(s, m);
        }
        return compile_text_matcher(s, MK_STR, p, n, false);
    }
    case json_type_int:
    case json_type_double: {
        char buf[64];
        const char *t = ms_number_text(v, buf, &n);
        struct matcher m = {.kind = MK_NUM, .len = (uint32_t)n};
        if (mv_number_scaled(t, n, &m.lo))
            m.flags |= MF_COMPARABLE;
        if (ms_pool_add(s, t, n, &m.off) != 0)
            return -1;
        return push_matcher(s, m);
    }
    case json_type_boolean:
        return compile_text_matcher(s, MK_LIT, json_object_get_boolean(v) ? "true" : "false",
                                    json_object_get_boolean(v) ? 4 : 5, false);
    case json_type_null:
        return compile_text_matcher(s, MK_LIT, "null", 4, false);
    case json_type_array:
        return -1;
    case json_type_object:
        break;
    }
    struct json_object_iterator it = json_object_iter_begin(v);
    const char *op = json_object_iter_peek_name(&it);
    struct json_object *arg = json_object_iter_peek_value(&it);
    if (op == NULL)
        return -1;
    if (strcmp(op, "prefix") == 0 || strcmp(op, "suffix") == 0) {
        bool prefix = op[0] == 'p';
        if (json_object_is_type(arg, json_type_object)) {
            struct json_object *ic;
            if (!json_object_object_get_ex(arg, "equals-ignore-case", &ic) || str_arg(ic, &p, &n) != 0)
                return -1;
            return compile_text_matcher(s, prefix ? MK_PREFIX_IC : MK_SUFFIX_IC, p, n, true);
        }
        if (str_arg(arg, &p, &n) != 0)
            return -1;
        return compile_text_matcher(s, prefix ? MK_PREFIX : MK_SUFFIX, p, n, false);
    }
    if (strcmp(op, "equals-ignore-case") == 0) {
        if (str_arg(arg, &p, &n) != 0)
            return -1;
        return compile_text_matcher(s, MK_EIC, p, n, true);
    }
    if (strcmp(op, "wildcard") == 0) {
        if (str_arg(arg, &p, &n) != 0)
            return -1;
        struct matcher m = {.kind = MK_WILDCARD};
        if (push_wildcard_item(s, p, n, &m.off, &m.len) != 0)
            return -1;
        return push_matcher(s, m);
    }
    if (strcmp(op, "exists") == 0) {
        if (json_object_get_boolean(arg)) {
            struct matcher m = {.kind = MK_EXISTS};
            return push_matcher(s, m);
        }
        *absent = true;
        return 0;
    }
    if (strcmp(op, "cidr") == 0) {
        if (str_arg(arg, &p, &n) != 0)
            return -1;
        return compile_cidr(s, p, n);
    }
    if (strcmp(op, "numeric") == 0)
        return compile_numeric(s, arg);
    if (strcmp(op, "anything-but") == 0)
        return compile_anything_but(s, arg);
    return -1;
}

/* ------------------------------------------------------------------ */
/* Adding a pattern.                                                  */

static void set_reason(char *reason, size_t n, const char *msg)
{
    if (reason != NULL && n > 0)
        snprintf(reason, n, "%s", msg);
}

/* [ER-machine] a sub-rule's fields are matched in sorted name order;
 * the order matters for {"exists": false} inside arrays (see match.c). */
static void sort_constraints(struct match_set *s, struct constraint *c, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        struct constraint x = c[i];
        const struct path *px = &s->paths[x.path];
        size_t j = i;
        while (j > 0) {
            const struct path *py = &s->paths[c[j - 1].path];
            if (mv_key_cmp(s->pool + py->off, py->len, s->pool + px->off, px->len) <= 0)
                break;
            c[j] = c[j - 1];
            j--;
        }
        c[j] = x;
    }
}

static int add_subrule(struct match_set *s, const struct alt *a, uint32_t rule)
{
    if (ms_grow((void **)&s->subs, &s->subs_cap, s->subs_n + 1, sizeof *s->subs) != 0 ||
        ms_grow((void **)&s->cons, &s->cons_cap, s->cons_n + a->n, sizeof *s->cons) != 0)
        return -1;
    uint32_t sid = (uint32_t)s->subs_n;
    struct subrule *sr = &s->subs[sid];
    sr->rule = rule;
    sr->first = (uint32_t)s->cons_n;
    sr->n = 0;
    sr->anchor = MATCH_NONE;
    sr->anchor_exist = 0;
    sr->dead = 1; /* until complete */
    s->subs_n++;
    for (size_t i = 0; i < a->n; i++) {
        struct constraint c = {0};
        if (path_intern(s, a->kv[i].path, a->kv[i].len, &c.path) != 0)
            return -1;
        c.first = (uint32_t)s->matchers_n;
        bool absent = false;
        size_t n = json_object_array_length(a->kv[i].vals);
        for (size_t k = 0; k < n; k++)
            if (compile_matcher(s, json_object_array_get_idx(a->kv[i].vals, k), &absent) != 0)
                return -1;
        c.n = (uint32_t)(s->matchers_n - c.first);
        c.absent_ok = absent;
        /* Event leaves get a folded copy on paths with any matcher of
         * the equals-ignore-case family, whatever the sub-rule's anchor. */
        for (uint32_t k = c.first; k < c.first + c.n; k++) {
            uint8_t kind = s->matchers[k].kind;
            if (kind == MK_EIC || kind == MK_PREFIX_IC || kind == MK_SUFFIX_IC || kind == MK_AB_EIC)
                s->paths[c.path].has_ic = true;
        }
        s->cons[s->cons_n++] = c;
        s->subs[sid].n++;
    }
    sort_constraints(s, s->cons + s->subs[sid].first, s->subs[sid].n);
    if (s->subs[sid].n > s->max_cons)
        s->max_cons = s->subs[sid].n;
    if (ms_count_keys(s, sid) != 0 || ms_anchor_subrule(s, sid) != 0)
        return -1;
    s->subs[sid].dead = 0;
    return 0;
}

int match_set_add(struct match_set *s, struct json_object *pattern, uint32_t rule_id, char *reason,
                  size_t reason_size)
{
    if (s == NULL || pattern == NULL) {
        set_reason(reason, reason_size, "Event pattern is not valid. Reason: no pattern");
        return -1;
    }
    if (pattern_validate(pattern, reason, reason_size) != 0)
        return -1;
    struct alts l = {0};
    struct pathbuf pb = {0};
    int rc = expand(pattern, &pb, &l, 1);
    free(pb.b);
    uint32_t rule = 0;
    size_t first_sub = s->subs_n;
    if (rc == 0)
        rc = rule_index(s, rule_id, &rule);
    for (size_t i = 0; i < l.n && rc == 0; i++)
        rc = add_subrule(s, &l.a[i], rule);
    alts_free(&l);
    if (rc != 0) {
        /* Whatever got in of this pattern must never match alone. */
        for (size_t i = first_sub; i < s->subs_n; i++)
            s->subs[i].dead = 1;
        set_reason(reason, reason_size, "out of memory");
        return -1;
    }
    return 0;
}

int match_set_add_text(struct match_set *s, const char *text, uint32_t rule_id, char *reason,
                       size_t reason_size)
{
    if (pattern_validate_text(text, reason, reason_size) != 0)
        return -1;
    struct json_tokener *tok = json_tokener_new_ex(PATTERN_MAX_DEPTH + 1);
    if (tok == NULL) {
        set_reason(reason, reason_size, "out of memory");
        return -1;
    }
    struct json_object *root = json_tokener_parse_ex(tok, text, (int)strlen(text));
    json_tokener_free(tok);
    if (root == NULL) {
        set_reason(reason, reason_size, "Event pattern is not valid. Reason: not JSON");
        return -1;
    }
    int rc = match_set_add(s, root, rule_id, reason, reason_size);
    json_object_put(root);
    return rc;
}
