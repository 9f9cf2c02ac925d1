/* match_index.c — the anchor index of a match_set: hash keys (path, tag,
 * value) with their buckets of sub-rules, the per-path lists (numeric
 * ranges, CIDR blocks, "any leaf"), and the choice of each sub-rule's
 * anchor.  See match_internal.h for the vocabulary and docs/matching.md
 * for the cost model.
 *
 * Sources: [ER-compiler] aws/event-ruler JsonRuleCompiler.java.
 */
#include "match_internal.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Anchor keys: (path, tag, bytes) -> bucket of sub-rules.            */

const struct u32vec *ms_anchor_find(const struct match_set *s, uint64_t hash, uint32_t path,
                                    unsigned tag, const char *bytes, uint32_t len)
{
    if (s->keys_cap == 0)
        return NULL;
    size_t mask = s->keys_cap - 1;
    for (size_t i = (size_t)hash & mask;; i = (i + 1) & mask) {
        const struct akey *k = &s->keys[i];
        if (k->tag == 0)
            return NULL;
        if (k->hash == hash && k->path == path && k->tag == tag && k->len == len &&
            memcmp(s->pool + k->off, bytes, len) == 0)
            return &s->buckets[k->bucket].sids;
    }
}

static bool tag_reversed(unsigned tag)
{
    return tag == AT_SUFFIX || tag == AT_SUFFIX_IC;
}

static int tag_affix(unsigned tag)
{
    return tag == AT_PREFIX ? 0 : tag == AT_SUFFIX ? 1 : tag == AT_PREFIX_IC ? 2 : tag == AT_SUFFIX_IC ? 3 : -1;
}

static uint64_t key_hash(uint32_t path, unsigned tag, const char *bytes, uint32_t len)
{
    uint64_t h = tag_reversed(tag) ? mv_fnv_rev(MV_FNV_INIT, bytes, len)
                                   : mv_fnv(MV_FNV_INIT, bytes, len);
    return mv_mix(h, path, tag, len);
}

static int keys_rehash(struct match_set *s)
{
    size_t nc = s->keys_cap ? s->keys_cap * 2 : 256;
    struct akey *k = calloc(nc, sizeof *k);
    if (k == NULL)
        return -1;
    for (size_t i = 0; i < s->keys_cap; i++) {
        if (s->keys[i].tag == 0)
            continue;
        size_t j = (size_t)s->keys[i].hash & (nc - 1);
        while (k[j].tag != 0)
            j = (j + 1) & (nc - 1);
        k[j] = s->keys[i];
    }
    free(s->keys);
    s->keys = k;
    s->keys_cap = nc;
    return 0;
}

/* The bucket of a key, made (empty, refs 0) if new; MATCH_NONE on out of
 * memory.  bytes must not point into the pool. */
static uint32_t key_bucket(struct match_set *s, uint32_t path, unsigned tag, const char *bytes, uint32_t len)
{
    uint64_t h = key_hash(path, tag, bytes, len);
    if (s->keys_cap > 0) {
        size_t mask = s->keys_cap - 1;
        for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
            const struct akey *k = &s->keys[i];
            if (k->tag == 0)
                break;
            if (k->hash == h && k->path == path && k->tag == tag && k->len == len &&
                memcmp(s->pool + k->off, bytes, len) == 0)
                return k->bucket;
        }
    }
    if ((s->keys_n + 1) * 2 > s->keys_cap && keys_rehash(s) != 0)
        return MATCH_NONE;
    if (ms_grow((void **)&s->buckets, &s->buckets_cap, s->buckets_n + 1, sizeof *s->buckets) != 0)
        return MATCH_NONE;
    uint32_t off;
    if (ms_pool_add(s, bytes, len, &off) != 0)
        return MATCH_NONE;
    size_t mask = s->keys_cap - 1;
    size_t i = (size_t)h & mask;
    while (s->keys[i].tag != 0)
        i = (i + 1) & mask;
    s->keys[i] = (struct akey){h, path, off, len, (uint32_t)s->buckets_n, (uint8_t)tag};
    s->keys_n++;
    struct abucket *b = &s->buckets[s->buckets_n];
    memset(b, 0, sizeof *b);
    s->paths[path].nkeys++;
    b->path = path;
    b->len = len;
    b->tag = (uint8_t)tag;
    return (uint32_t)s->buckets_n++;
}

/* A path's probes follow its non-empty buckets: per tag, and per length
 * for prefixes and suffixes. */
static int bucket_filled(struct match_set *s, const struct abucket *b, int delta)
{
    struct path *p = &s->paths[b->path];
    p->tagn[b->tag] = (uint32_t)((int64_t)p->tagn[b->tag] + delta);
    if (p->tagn[b->tag] > 0)
        p->tags |= (uint16_t)(1u << b->tag);
    else
        p->tags &= (uint16_t) ~(1u << b->tag);
    int which = tag_affix(b->tag);
    if (which < 0)
        return 0;
    struct u32vec *v = &p->lens[which];
    uint32_t i = 0;
    while (i < v->n && v->v[i] < b->len)
        i += 2;
    if (i < v->n && v->v[i] == b->len) {
        v->v[i + 1] = (uint32_t)((int64_t)v->v[i + 1] + delta);
        if (v->v[i + 1] == 0) {
            memmove(v->v + i, v->v + i + 2, (v->n - i - 2) * sizeof *v->v);
            v->n -= 2;
        }
        return 0;
    }
    if (delta < 0)
        return 0;
    if (ms_vec_push(v, 0) != 0 || ms_vec_push(v, 0) != 0)
        return -1;
    memmove(v->v + i + 2, v->v + i, (v->n - 2 - i) * sizeof *v->v);
    v->v[i] = b->len;
    v->v[i + 1] = 1;
    return 0;
}

static int vec_remove(struct u32vec *v, uint32_t x)
{
    for (uint32_t i = 0; i < v->n; i++) {
        if (v->v[i] == x) {
            memmove(v->v + i, v->v + i + 1, (v->n - i - 1) * sizeof *v->v);
            v->n--;
            return 1;
        }
    }
    return 0;
}

/* Removes the (matcher, sub-rule) pairs of sid from a range/cidr list. */
static void pairs_remove(struct u32vec *v, uint32_t sid)
{
    uint32_t w = 0;
    for (uint32_t i = 0; i + 1 < v->n; i += 2) {
        if (v->v[i + 1] == sid)
            continue;
        v->v[w++] = v->v[i];
        v->v[w++] = v->v[i + 1];
    }
    v->n = w;
}

/* ------------------------------------------------------------------ */
/* Choosing a sub-rule's anchor.                                      */

/* Cost of the anchor kinds: one hash probe per leaf is cheapest (an
 * equals-ignore-case probe also folds the value); a prefix or suffix adds
 * one probe per distinct length to every leaf of its path; range and
 * CIDR lists are scanned per leaf; "any leaf at this path" fires for
 * every event that has the path.  A hash key costs more the more
 * constraints name it (anchored on it or not): a value many rules share
 * is a value many events carry. */
#define COST_HASH 1
#define COST_FOLD 2
#define COST_AFFIX 4
#define COST_LIST 64
#define COST_EXIST 4096

enum akind { AK_HASH, AK_RANGE, AK_CIDR, AK_EXIST };

struct akeyref {
    enum akind kind;
    unsigned tag;
    uint32_t len;
    char bytes[64]; /* copied out of the pool when short enough */
    const char *ptr; /* else in the pool (valid until it grows) */
};

/* The index entries one matcher needs: up to two hash keys (a plain
 * number has its text and its value), or a list, or "any leaf". */
static int matcher_keys(const struct match_set *s, uint32_t mi, struct akeyref out[2])
{
    const struct matcher *m = &s->matchers[mi];
    const char *bytes = s->pool + m->off;
    uint32_t len = m->len;
    unsigned tag = 0;
    int n = 0;
    switch ((enum mkind)m->kind) {
    case MK_STR:
        tag = AT_STR;
        break;
    case MK_IP:
        tag = AT_IP;
        break;
    case MK_LIT:
        tag = AT_LIT;
        break;
    case MK_NUM:
        tag = AT_LIT;
        if (m->flags & MF_COMPARABLE) {
            /* [ER-compiler] writeRules: a plain number also inserts
             * Patterns.numericEquals; it is found by either form. */
            out[n] = (struct akeyref){AK_HASH, AT_NUM, 8, {0}, NULL};
            memcpy(out[n].bytes, &m->lo, 8);
            out[n].ptr = out[n].bytes;
            n++;
        }
        break;
    case MK_EIC:
        tag = AT_EIC;
        break;
    case MK_PREFIX:
        tag = AT_PREFIX;
        break;
    case MK_SUFFIX:
        tag = AT_SUFFIX;
        break;
    case MK_PREFIX_IC:
        tag = AT_PREFIX_IC;
        break;
    case MK_SUFFIX_IC:
        tag = AT_SUFFIX_IC;
        break;
    case MK_WILDCARD: {
        /* Found by its literal text, or the literal before its first
         * '*', or after its last. */
        const char *first, *last;
        uint32_t fl, ll;
        bool star;
        mv_wildcard_ends((const unsigned char *)bytes, &first, &fl, &last, &ll, &star);
        if (!star) {
            tag = AT_STR;
            bytes = first;
            len = fl;
        } else if (fl >= ll && fl > 0) {
            tag = AT_PREFIX;
            bytes = first;
            len = fl;
        } else if (ll > 0) {
            tag = AT_SUFFIX;
            bytes = last;
            len = ll;
        }
        break;
    }
    case MK_NUMERIC:
        out[0] = (struct akeyref){AK_RANGE, 0, 0, {0}, NULL};
        return 1;
    case MK_CIDR:
        out[0] = (struct akeyref){AK_CIDR, 0, 0, {0}, NULL};
        return 1;
    case MK_EXISTS:
    case MK_AB_STR:
    case MK_AB_NUM:
    case MK_AB_EIC:
    case MK_AB_PREFIX:
    case MK_AB_SUFFIX:
    case MK_AB_WILDCARD:
        break;
    }
    if (tag == 0 || (tag_affix(tag) >= 0 && len == 0)) {
        out[0] = (struct akeyref){AK_EXIST, 0, 0, {0}, NULL};
        return 1;
    }
    out[n] = (struct akeyref){AK_HASH, tag, len, {0}, bytes};
    if (len <= sizeof out[n].bytes) {
        memcpy(out[n].bytes, bytes, len);
        out[n].ptr = out[n].bytes;
    }
    return n + 1;
}

static size_t key_refs(const struct match_set *s, uint32_t path, const struct akeyref *k)
{
    const struct u32vec *v = ms_anchor_find(s, key_hash(path, k->tag, k->ptr, k->len), path, k->tag,
                                            k->ptr, k->len);
    return v ? ((const struct abucket *)((const char *)v - offsetof(struct abucket, sids)))->refs : 0;
}

/* Cost of anchoring on a constraint; SIZE_MAX if it cannot anchor. */
static size_t constraint_cost(const struct match_set *s, const struct constraint *c, bool *exist)
{
    *exist = false;
    if (c->absent_ok || c->n == 0)
        return SIZE_MAX;
    size_t cost = 0;
    const struct path *p = &s->paths[c->path];
    for (uint32_t k = 0; k < c->n; k++) {
        struct akeyref keys[2];
        int nk = matcher_keys(s, c->first + k, keys);
        for (int j = 0; j < nk; j++) {
            switch (keys[j].kind) {
            case AK_HASH: {
                unsigned t = keys[j].tag;
                size_t base = t == AT_EIC ? COST_FOLD : tag_affix(t) >= 0 ? COST_AFFIX : COST_HASH;
                cost += base + key_refs(s, c->path, &keys[j]);
                break;
            }
            case AK_RANGE:
                cost += COST_LIST + p->ranges.n / 2;
                break;
            case AK_CIDR:
                cost += COST_LIST + p->cidrs.n / 2;
                break;
            case AK_EXIST:
                *exist = true;
                return COST_EXIST + p->exist.n;
            }
        }
    }
    return cost;
}

/* Puts sid into (insert) or takes it out of (remove) the index entries
 * of constraint ci. */
static int anchor_apply(struct match_set *s, uint32_t sid, uint32_t ci, bool exist, bool insert)
{
    const struct constraint *c = &s->cons[ci];
    struct path *p = &s->paths[c->path];
    if (exist) {
        if (insert)
            return ms_vec_push(&p->exist, sid);
        vec_remove(&p->exist, sid);
        return 0;
    }
    for (uint32_t k = 0; k < c->n; k++) {
        uint32_t mi = c->first + k;
        struct akeyref keys[2];
        int nk = matcher_keys(s, mi, keys);
        for (int j = 0; j < nk; j++) {
            if (keys[j].kind == AK_RANGE || keys[j].kind == AK_CIDR) {
                struct u32vec *v = keys[j].kind == AK_RANGE ? &p->ranges : &p->cidrs;
                if (!insert)
                    pairs_remove(v, sid);
                else if (ms_vec_push(v, mi) != 0 || ms_vec_push(v, sid) != 0)
                    return -1;
                continue;
            }
            if (keys[j].kind != AK_HASH)
                continue;
            char *copy = NULL;
            const char *bytes = keys[j].ptr;
            if (bytes != keys[j].bytes) { /* long key: copy before the pool moves */
                copy = malloc(keys[j].len);
                if (copy == NULL)
                    return -1;
                memcpy(copy, bytes, keys[j].len);
                bytes = copy;
            }
            uint32_t bi = key_bucket(s, c->path, keys[j].tag, bytes, keys[j].len);
            free(copy);
            if (bi == MATCH_NONE)
                return -1;
            struct abucket *b = &s->buckets[bi];
            if (insert) {
                if (b->sids.n > 0 && b->sids.v[b->sids.n - 1] == sid)
                    continue; /* the same key twice in one constraint */
                if (ms_vec_push(&b->sids, sid) != 0)
                    return -1;
                if (b->sids.n == 1 && bucket_filled(s, b, +1) != 0)
                    return -1;
            } else if (vec_remove(&b->sids, sid) && b->sids.n == 0) {
                bucket_filled(s, b, -1);
            }
        }
    }
    return 0;
}

/* (Re)anchors sub-rule sid on its cheapest constraint, or puts it in the
 * always list. */
int ms_anchor_subrule(struct match_set *s, uint32_t sid)
{
    struct subrule *sr = &s->subs[sid];
    size_t best_cost = SIZE_MAX;
    double best_avg = 0;
    uint32_t best = MATCH_NONE;
    bool best_exist = false;
    for (uint32_t c = 0; c < sr->n; c++) {
        bool exist;
        const struct constraint *con = &s->cons[sr->first + c];
        size_t cost = constraint_cost(s, con, &exist);
        if (cost == SIZE_MAX)
            continue;
        /* Equal costs: prefer the path whose values rules share least
         * (source, with one value per rule, over a field every rule
         * tests against the same few values). */
        const struct path *p = &s->paths[con->path];
        double avg = p->nkeys ? (double)p->nrefs / p->nkeys : 1.0;
        if (cost < best_cost || (cost == best_cost && avg < best_avg)) {
            best_cost = cost;
            best_avg = avg;
            best = sr->first + c;
            best_exist = exist;
        }
    }
    if (best == MATCH_NONE)
        return ms_vec_push(&s->always, sid);
    if (best == sr->anchor)
        return 0;
    if (sr->anchor != MATCH_NONE && anchor_apply(s, sid, sr->anchor, sr->anchor_exist, false) != 0)
        return -1;
    sr->anchor = best;
    sr->anchor_exist = best_exist;
    return anchor_apply(s, sid, best, best_exist, true);
}

/* Counts the hash keys of a new sub-rule's anchorable constraints.  When
 * a key's count reaches a power of two, the sub-rules anchored on it are
 * reconsidered: the value has turned out to be more common than when they
 * chose it. */
int ms_count_keys(struct match_set *s, uint32_t sid)
{
    const struct subrule *sr = &s->subs[sid];
    for (uint32_t ci = sr->first; ci < sr->first + sr->n; ci++) {
        const struct constraint *c = &s->cons[ci];
        if (c->absent_ok)
            continue;
        for (uint32_t k = 0; k < c->n; k++) {
            struct akeyref keys[2];
            int nk = matcher_keys(s, c->first + k, keys);
            for (int j = 0; j < nk; j++) {
                if (keys[j].kind != AK_HASH)
                    continue;
                char *copy = NULL;
                const char *bytes = keys[j].ptr;
                if (bytes != keys[j].bytes) {
                    copy = malloc(keys[j].len);
                    if (copy == NULL)
                        return -1;
                    memcpy(copy, bytes, keys[j].len);
                    bytes = copy;
                }
                uint32_t bi = key_bucket(s, c->path, keys[j].tag, bytes, keys[j].len);
                free(copy);
                if (bi == MATCH_NONE)
                    return -1;
                struct abucket *b = &s->buckets[bi];
                if (b->last_rule == sr->rule + 1)
                    continue; /* count each rule once: its $or alternatives share keys */
                b->last_rule = sr->rule + 1;
                uint32_t refs = ++b->refs;
                s->paths[c->path].nrefs++;
                if (refs < 2 || (refs & (refs - 1)) != 0 || b->sids.n == 0)
                    continue;
                /* Reconsider a snapshot: re-anchoring edits the bucket. */
                uint32_t n = s->buckets[bi].sids.n;
                uint32_t *snap = malloc(n * sizeof *snap);
                if (snap == NULL)
                    return -1;
                memcpy(snap, s->buckets[bi].sids.v, n * sizeof *snap);
                int rc = 0;
                for (uint32_t i = 0; i < n && rc == 0; i++)
                    rc = ms_anchor_subrule(s, snap[i]);
                free(snap);
                if (rc != 0)
                    return -1;
            }
        }
    }
    return 0;
}
