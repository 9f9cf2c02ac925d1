/* match_internal.h — shared by match.c (matching an event),
 * match_compile.c (building the set) and match_value.c (value-level
 * helpers).  Not a public interface: use match.h.
 *
 * Vocabulary (event-ruler's, see docs/matching.md):
 *   path       a field path, the names of the nested objects joined with
 *              '.' (event-ruler's Path.extendedName / Event.pathName)
 *   matcher    one member of a pattern's value list ("x", {"prefix": ..})
 *   constraint one path of a sub-rule with its value list: satisfied by one
 *              event leaf at that path that satisfies any of the matchers,
 *              or (absent_ok, from {"exists": false}) by the path having
 *              no leaf consistent with the array elements chosen so far
 *   sub-rule   one alternative of a pattern after $or expansion
 *              (JsonRuleCompiler): all its constraints must hold
 *   anchor     an index entry that names a sub-rule as a candidate when an
 *              event leaf hits it; each sub-rule is anchored on one of its
 *              constraints (the most selective), so only sub-rules whose
 *              anchor fired are checked in full.
 */
#ifndef EFC_MATCH_INTERNAL_H
#define EFC_MATCH_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "match.h"

#define MATCH_NONE UINT32_MAX

/* ---------------------------------------------------------------- */
/* Values (match_value.c)                                           */

/* Numbers are compared as event-ruler's ComparableNumber does: exact
 * decimals scaled by 10^6, within +-5e9.  1 and *scaled set when the JSON
 * number text is "comparable" (at most six decimals after dropping
 * trailing zeros, |v| <= 5e9); else 0. */
int mv_number_scaled(const char *text, size_t n, int64_t *scaled);
/* The same, saying why a number is not comparable (the validator quotes
 * it for pattern numbers). */
enum mv_number { MV_NUMBER_OK, MV_NUMBER_DECIMALS, MV_NUMBER_RANGE, MV_NUMBER_BAD };
enum mv_number mv_number_parse(const char *text, size_t n, int64_t *scaled);

/* An IP address literal, as event-ruler's CIDR.ipToBytes reads one (the
 * shapes of Constants.IPv4_REGEX / IPv6_REGEX, then a strict parse).
 * Returns 4 or 16 (address length, out filled) or 0 if s is not one.
 * IPv4-mapped IPv6 literals come back as 4 bytes, as Java's InetAddress
 * returns an Inet4Address for them. */
int mv_parse_ip(const char *s, size_t n, unsigned char out[16]);

/* Case folding for the equals-ignore-case family: writes n bytes to out
 * (same length as the input). */
void mv_fold(const char *s, size_t n, char *out);

/* Java String.compareTo order (UTF-16 code units) of two UTF-8 strings:
 * event-ruler sorts a rule's field names with it. */
int mv_key_cmp(const char *a, size_t an, const char *b, size_t bn);

/* FNV-1a, usable incrementally. */
#define MV_FNV_INIT 0xcbf29ce484222325ULL
static inline uint64_t mv_fnv_byte(uint64_t h, unsigned char b)
{
    return (h ^ b) * 0x100000001b3ULL;
}
uint64_t mv_fnv(uint64_t h, const void *p, size_t n);
uint64_t mv_fnv_rev(uint64_t h, const void *p, size_t n); /* last byte first */
uint64_t mv_mix(uint64_t h, uint32_t path, unsigned tag, uint32_t len);

/* Wildcards ({"wildcard": ...}, {"anything-but": {"wildcard": ...}}) are
 * kept as a blob: u32 segment count k+1, k+1 u32 lengths, then the
 * unescaped literal segments between the '*'s. */
size_t mv_wildcard_blob_size(const char *pat, size_t n);
void mv_wildcard_compile(const char *pat, size_t n, unsigned char *blob);
bool mv_wildcard_match(const unsigned char *blob, const char *s, size_t n);
/* The first and last literal segment of a compiled wildcard, and whether
 * it has any '*' at all. */
void mv_wildcard_ends(const unsigned char *blob, const char **first, uint32_t *first_len,
                      const char **last, uint32_t *last_len, bool *has_star);

/* ---------------------------------------------------------------- */
/* The compiled set (match_compile.c)                               */

enum mkind {
    MK_STR,          /* exact string                                 */
    MK_IP,           /* string pattern that is an IP literal         */
    MK_LIT,          /* true / false / null                          */
    MK_NUM,          /* plain number: same text, or numerically equal */
    MK_PREFIX,
    MK_SUFFIX,
    MK_EIC,          /* equals-ignore-case                           */
    MK_PREFIX_IC,
    MK_SUFFIX_IC,
    MK_WILDCARD,
    MK_NUMERIC,      /* numeric range / equality                      */
    MK_CIDR,
    MK_EXISTS,       /* exists: true                                  */
    MK_AB_STR,       /* anything-but: strings                         */
    MK_AB_NUM,       /* anything-but: numbers                         */
    MK_AB_EIC,
    MK_AB_PREFIX,
    MK_AB_SUFFIX,
    MK_AB_WILDCARD,
};

/* matcher flags */
#define MF_COMPARABLE 0x01 /* MK_NUM: the number is a ComparableNumber */
#define MF_HAS_LO 0x02
#define MF_LO_OPEN 0x04
#define MF_HAS_HI 0x08
#define MF_HI_OPEN 0x10

struct matcher {
    uint8_t kind;
    uint8_t flags;
    /* bytes in pool (strings, folded strings, wildcard blob, IP bytes:
     * 4 or 16, CIDR: bottom then top); for MK_AB_*: items[off..off+len)
     * or, for MK_AB_NUM, nums[off..off+len) */
    uint32_t off, len;
    int64_t lo, hi; /* MK_NUM: lo = scaled value; MK_NUMERIC bounds */
};

struct item {
    uint32_t off, len; /* bytes in pool */
};

struct constraint {
    uint32_t path;
    uint32_t first, n; /* matchers */
    uint8_t absent_ok; /* {"exists": false} is in the list */
};

struct subrule {
    uint32_t rule;     /* dense rule index */
    uint32_t first, n; /* constraints, in event-ruler's key order */
    uint32_t anchor;   /* the anchoring constraint, or MATCH_NONE (always list / not yet) */
    uint8_t anchor_exist; /* anchored on "any leaf at the anchor's path" */
    uint8_t dead;      /* its add failed half-way: never matches */
};

/* Anchor tags: which probe of an event leaf finds the entry. */
enum atag {
    AT_STR = 1, /* string leaf, exact bytes                 */
    AT_LIT,     /* number / true / false / null, exact text */
    AT_NUM,     /* comparable number, 8-byte scaled value   */
    AT_IP,      /* IP-literal string leaf, address bytes    */
    AT_EIC,     /* string leaf, folded bytes                */
    AT_PREFIX,  /* string leaf, a prefix                    */
    AT_SUFFIX,  /* string leaf, a suffix                    */
    AT_PREFIX_IC,
    AT_SUFFIX_IC,
    AT__COUNT
};

struct u32vec {
    uint32_t *v;
    uint32_t n, cap;
};

struct path {
    uint32_t off, len; /* name bytes in pool */
    uint64_t hash;
    bool used;       /* some constraint names it (else only a prefix of one) */
    bool has_ic;     /* some equals-ignore-case family matcher uses it */
    uint16_t tags;   /* 1 << tag for every tag with a non-empty bucket here */
    uint32_t tagn[AT__COUNT]; /* non-empty buckets per tag */
    uint32_t nkeys, nrefs;    /* hash keys on this path, and their refs */
    /* AT_PREFIX, AT_SUFFIX, AT_PREFIX_IC, AT_SUFFIX_IC: pairs (length,
     * non-empty buckets of that length), lengths ascending */
    struct u32vec lens[4];
    struct u32vec exist;  /* sub-rules anchored on "any leaf here"      */
    struct u32vec ranges; /* pairs (matcher, sub-rule): numeric anchors */
    struct u32vec cidrs;  /* pairs (matcher, sub-rule): cidr anchors    */
    /* A bit per byte value: the first bytes of the keys that extend this
     * path to another path of the set ("a.b.c" sets 'b' on "a", for the
     * keys "b" and "b.c", and 'c' on "a.b"); the walk skips the other
     * keys of an event's object without hashing them. */
    uint64_t first[4];
};

struct akey {
    uint64_t hash;
    uint32_t path, off, len, bucket; /* key bytes in pool; bucket index */
    uint8_t tag;
};

struct abucket {
    struct u32vec sids; /* sub-rules anchored on this key */
    uint32_t refs;      /* rules with a constraint (anchored or not) naming this key */
    uint32_t last_rule; /* the last rule counted in refs, + 1 */
    uint32_t path, len; /* of its key */
    uint8_t tag;
};

struct match_set {
    char *pool;
    size_t pool_n, pool_cap;
    struct item *items;
    size_t items_n, items_cap;
    int64_t *nums;
    size_t nums_n, nums_cap;

    struct matcher *matchers;
    size_t matchers_n, matchers_cap;
    struct constraint *cons;
    size_t cons_n, cons_cap;
    struct subrule *subs;
    size_t subs_n, subs_cap;
    size_t max_cons; /* most constraints in one sub-rule */

    uint32_t *rule_ids; /* dense index -> rule id */
    size_t rules_n, rules_cap;
    uint32_t *rule_map; /* open addressing: slot -> dense index + 1 */
    size_t rule_map_cap;

    struct path *paths;
    size_t paths_n, paths_cap;
    uint32_t *path_map; /* slot -> path index + 1 */
    size_t path_map_cap;
    size_t max_path_len;
    uint64_t root_first[4]; /* as path.first, for the event's top level */

    struct akey *keys;  /* open addressing */
    size_t keys_n, keys_cap;
    struct abucket *buckets;
    size_t buckets_n, buckets_cap;

    struct u32vec always; /* sub-rules with no anchorable constraint */
};

/* Building (match_compile.c): growth helpers, 0 or -1. */
int ms_grow_slow(void **p, size_t *cap, size_t need, size_t elem);
static inline int ms_grow(void **p, size_t *cap, size_t need, size_t elem)
{
    return need <= *cap ? 0 : ms_grow_slow(p, cap, need, elem); /* the usual case, inline */
}
int ms_vec_push(struct u32vec *v, uint32_t x);
int ms_pool_add(struct match_set *s, const void *p, size_t n, uint32_t *off);

/* The anchor index (match_index.c).  ms_count_keys counts a new
 * sub-rule's keys (re-anchoring others whose keys became common), then
 * ms_anchor_subrule anchors it; both 0 or -1 (out of memory). */
int ms_count_keys(struct match_set *s, uint32_t sid);
int ms_anchor_subrule(struct match_set *s, uint32_t sid);

/* Path lookup: index or MATCH_NONE. */
uint32_t ms_path_find(const struct match_set *s, const char *name, size_t n, uint64_t hash);
/* Anchor lookup: bucket or NULL.  hash is mv_mix(fnv-of-bytes, ...). */
const struct u32vec *ms_anchor_find(const struct match_set *s, uint64_t hash, uint32_t path,
                                    unsigned tag, const char *bytes, uint32_t len);
/* The JSON text of a number, as event-ruler reads it (Jackson's
 * getText(): the text as written): a parsed double keeps its text, a
 * built one is printed in the shortest form that reads back the same, an
 * integer in decimal.  Points into v, into buf, or at a constant. */
const char *ms_number_text(struct json_object *v, char buf[64], size_t *n);
/* Does a leaf satisfy a matcher?  Defined in match.c. */
struct leaf;
bool ms_leaf_matches(const struct match_set *s, struct leaf *leaf, const struct matcher *m);

#endif /* EFC_MATCH_INTERNAL_H */
