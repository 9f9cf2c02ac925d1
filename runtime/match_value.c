/* match_value.c — value-level helpers of the matcher: numbers as
 * event-ruler compares them, IP literals, case folding, wildcards, key
 * order, hashing.  Pure functions, no allocation.
 *
 * Sources (see docs/matching.md):
 *   [ER-number]   aws/event-ruler ComparableNumber.java (BigDecimal form)
 *   [ER-cidr]     aws/event-ruler CIDR.java, Constants.IPv4_REGEX/IPv6_REGEX
 *   [ER-eic]      aws/event-ruler input/EqualsIgnoreCaseParser.java
 *   [ER-wildcard] aws/event-ruler input/WildcardParser.java
 *   [UG-ops]      User Guide, "Comparison operators for use in event patterns"
 */
#include "match_internal.h"

#include <arpa/inet.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Hashing.                                                           */

uint64_t mv_fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = mv_fnv_byte(h, b[i]);
    return h;
}

uint64_t mv_fnv_rev(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = n; i > 0; i--)
        h = mv_fnv_byte(h, b[i - 1]);
    return h;
}

uint64_t mv_mix(uint64_t h, uint32_t path, unsigned tag, uint32_t len)
{
    h ^= ((uint64_t)path << 32) ^ ((uint64_t)tag << 24) ^ len;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

/* ------------------------------------------------------------------ */
/* Numbers.  [ER-number] ComparableNumber.generate: the JSON text is read
 * as a BigDecimal, trailing zeros stripped; more than six decimals, or a
 * value outside [-5e9, 5e9], is "not a comparable number" (the event
 * value then only matches a pattern number with the very same text).
 * [UG-ops]: "Numeric matching ... is limited to values between -5.0e9 and
 * +5.0e9 inclusive, with 15 digits of precision, or six digits to the
 * right of the decimal point."  The value times 10^6 fits an int64. */

#define FIVE_E15 5000000000000000ULL

enum mv_number mv_number_parse(const char *t, size_t n, int64_t *scaled)
{
    size_t i = 0;
    bool neg = false;
    if (i < n && (t[i] == '-' || t[i] == '+')) {
        neg = t[i] == '-';
        i++;
    }
    size_t mant = i;
    long long pos = 0, first_nz = -1, last_nz = -1, frac_len = 0;
    bool in_frac = false, any = false;
    for (; i < n; i++) {
        char c = t[i];
        if (c >= '0' && c <= '9') {
            any = true;
            if (c != '0') {
                if (first_nz < 0)
                    first_nz = pos;
                last_nz = pos;
            }
            pos++;
            if (in_frac)
                frac_len++;
        } else if (c == '.' && !in_frac) {
            in_frac = true;
        } else {
            break;
        }
    }
    if (!any)
        return MV_NUMBER_BAD;
    long long exp = 0;
    if (i < n && (t[i] == 'e' || t[i] == 'E')) {
        i++;
        bool eneg = false;
        if (i < n && (t[i] == '+' || t[i] == '-')) {
            eneg = t[i] == '-';
            i++;
        }
        if (!(i < n && t[i] >= '0' && t[i] <= '9'))
            return MV_NUMBER_BAD;
        for (; i < n && t[i] >= '0' && t[i] <= '9'; i++)
            if (exp < 1000000000LL)
                exp = exp * 10 + (t[i] - '0');
        if (eneg)
            exp = -exp;
    }
    if (i != n)
        return MV_NUMBER_BAD;
    if (first_nz < 0) {
        *scaled = 0;
        return MV_NUMBER_OK;
    }
    long long trailing = pos - 1 - last_nz;
    long long e2 = exp - frac_len + trailing; /* value = digits * 10^e2 */
    if (-e2 > 6)
        return MV_NUMBER_DECIMALS;
    long long ndig = last_nz - first_nz + 1;
    if (ndig + e2 + 6 > 16) /* 5e15 has 16 digits */
        return MV_NUMBER_RANGE;
    uint64_t m = 0;
    long long q = 0;
    for (size_t r = mant; q <= last_nz && r < n; r++) {
        if (t[r] < '0' || t[r] > '9')
            continue;
        if (q >= first_nz)
            m = m * 10 + (uint64_t)(t[r] - '0');
        q++;
    }
    for (long long k = 0; k < e2 + 6; k++)
        m *= 10;
    if (m > FIVE_E15)
        return MV_NUMBER_RANGE;
    *scaled = neg ? -(int64_t)m : (int64_t)m;
    return MV_NUMBER_OK;
}

int mv_number_scaled(const char *t, size_t n, int64_t *scaled)
{
    return mv_number_parse(t, n, scaled) == MV_NUMBER_OK;
}

/* ------------------------------------------------------------------ */
/* IP literals.  [ER-cidr] ipToBytes: only text shaped like an IPv4
 * address (digits '.' digits '.' digits '.' digits) or an IPv6 one (hex
 * digits and ':' with at least one ':') is handed to InetAddress;
 * anything else is not an address.  An octet with a leading zero is not
 * accepted (current JDKs refuse such "ambiguous" literals; the validator
 * refuses them in cidr patterns too). */

static int parse_ipv4(const char *s, size_t n, unsigned char out[4])
{
    size_t i = 0;
    for (int k = 0; k < 4; k++) {
        size_t start = i;
        unsigned v = 0;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            if (v <= 255)
                v = v * 10 + (unsigned)(s[i] - '0');
            i++;
        }
        if (i == start || v > 255 || (i - start > 1 && s[start] == '0'))
            return 0;
        out[k] = (unsigned char)v;
        if (k < 3) {
            if (i >= n || s[i] != '.')
                return 0;
            i++;
        }
    }
    return i == n ? 4 : 0;
}

int mv_parse_ip(const char *s, size_t n, unsigned char out[16])
{
    if (n == 0 || n > 45)
        return 0;
    if (s[0] >= '0' && s[0] <= '9' && memchr(s, '.', n) != NULL)
        return parse_ipv4(s, n, out);
    bool colon = false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == ':')
            colon = true;
        else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return 0;
    }
    if (!colon)
        return 0;
    char buf[46];
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (inet_pton(AF_INET6, buf, out) != 1)
        return 0;
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
    if (memcmp(out, mapped, sizeof mapped) == 0) {
        memmove(out, out + 12, 4);
        return 4;
    }
    return 16;
}

/* ------------------------------------------------------------------ */
/* Case folding.  [ER-eic]: a pattern character matches its lower-case
 * and its upper-case form (Java toLowerCase/toUpperCase, Locale.ROOT).
 * We fold both sides to lower case over the one-to-one pairs of ASCII,
 * Latin-1, Latin Extended-A, Greek and Cyrillic; other characters compare
 * exactly (documented in docs/matching.md).  Every pair folded here has
 * the same UTF-8 length on both sides, so folding keeps byte lengths. */

static uint32_t fold_cp(uint32_t c)
{
    if (c >= 0xC0 && c <= 0xDE && c != 0xD7)
        return c + 0x20;
    if (c == 0x178)
        return 0xFF;
    if ((c >= 0x100 && c <= 0x12F) || (c >= 0x132 && c <= 0x137) || (c >= 0x14A && c <= 0x177))
        return c | 1;
    if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E))
        return (c & 1) ? c + 1 : c;
    if (c >= 0x391 && c <= 0x3A9 && c != 0x3A2)
        return c + 0x20;
    if (c == 0x386)
        return 0x3AC;
    if (c >= 0x388 && c <= 0x38A)
        return c + 0x25;
    if (c == 0x38C)
        return 0x3CC;
    if (c == 0x38E || c == 0x38F)
        return c + 0x3F;
    if (c >= 0x410 && c <= 0x42F)
        return c + 0x20;
    if (c >= 0x400 && c <= 0x40F)
        return c + 0x50;
    return c;
}

void mv_fold(const char *s, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char b = (unsigned char)s[i];
        if (b < 0x80) {
            out[i] = (char)((b >= 'A' && b <= 'Z') ? b + 32 : b);
        } else if ((b & 0xE0) == 0xC0 && i + 1 < n && ((unsigned char)s[i + 1] & 0xC0) == 0x80) {
            uint32_t cp = ((uint32_t)(b & 0x1F) << 6) | ((unsigned char)s[i + 1] & 0x3F);
            uint32_t f = fold_cp(cp);
            out[i] = (char)(0xC0 | (f >> 6));
            out[i + 1] = (char)(0x80 | (f & 0x3F));
            i++;
        } else {
            out[i] = (char)b;
        }
    }
}

/* ------------------------------------------------------------------ */
/* Key order.  Java compares UTF-16 code units; UTF-8 bytes compare like
 * code points, which differ only in that U+E000..U+FFFF (lead bytes 0xEE,
 * 0xEF) sort after the supplementary planes (lead bytes 0xF0..0xF4, which
 * are surrogates D800..DBFF in UTF-16). */

static unsigned key_byte(unsigned char b)
{
    return (b == 0xEE || b == 0xEF) ? b + 0x10u : b;
}

int mv_key_cmp(const char *a, size_t an, const char *b, size_t bn)
{
    size_t n = an < bn ? an : bn;
    for (size_t i = 0; i < n; i++) {
        if (a[i] != b[i]) {
            unsigned x = key_byte((unsigned char)a[i]), y = key_byte((unsigned char)b[i]);
            return x < y ? -1 : 1;
        }
    }
    return an < bn ? -1 : an > bn ? 1 : 0;
}

/* ------------------------------------------------------------------ */
/* Wildcards.  [UG-ops] / [ER-wildcard]: '*' matches any run of
 * characters, empty included; "\*" is a literal star and "\\" a literal
 * backslash (the validator refuses every other escape and "**").  The
 * pattern is kept as its literal segments; a value matches when it starts
 * with the first, ends with the last, and holds the others in order in
 * between (leftmost placement of each middle segment is optimal). */

static uint32_t rd32(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static size_t wildcard_scan(const char *pat, size_t n, uint32_t *segs, size_t *lit_bytes)
{
    size_t nseg = 1, bytes = 0;
    for (size_t i = 0; i < n; i++) {
        if (pat[i] == '\\' && i + 1 < n) {
            i++;
            bytes++;
        } else if (pat[i] == '*') {
            nseg++;
        } else {
            bytes++;
        }
    }
    *segs = (uint32_t)nseg;
    *lit_bytes = bytes;
    return 4 + 4 * nseg + bytes;
}

size_t mv_wildcard_blob_size(const char *pat, size_t n)
{
    uint32_t segs;
    size_t bytes;
    return wildcard_scan(pat, n, &segs, &bytes);
}

void mv_wildcard_compile(const char *pat, size_t n, unsigned char *blob)
{
    uint32_t nseg;
    size_t bytes;
    wildcard_scan(pat, n, &nseg, &bytes);
    memcpy(blob, &nseg, 4);
    unsigned char *lens = blob + 4;
    unsigned char *out = blob + 4 + 4 * (size_t)nseg;
    uint32_t seg = 0, cur = 0;
    for (size_t i = 0; i < n; i++) {
        if (pat[i] == '\\' && i + 1 < n) {
            *out++ = (unsigned char)pat[++i];
            cur++;
        } else if (pat[i] == '*') {
            memcpy(lens + 4 * (size_t)seg++, &cur, 4);
            cur = 0;
        } else {
            *out++ = (unsigned char)pat[i];
            cur++;
        }
    }
    memcpy(lens + 4 * (size_t)seg, &cur, 4);
}

void mv_wildcard_ends(const unsigned char *blob, const char **first, uint32_t *first_len,
                      const char **last, uint32_t *last_len, bool *has_star)
{
    uint32_t nseg = rd32(blob);
    const char *lit = (const char *)blob + 4 + 4 * (size_t)nseg;
    *first = lit;
    *first_len = rd32(blob + 4);
    size_t before_last = 0;
    for (uint32_t k = 0; k + 1 < nseg; k++)
        before_last += rd32(blob + 4 + 4 * (size_t)k);
    *last = lit + before_last;
    *last_len = rd32(blob + 4 + 4 * (size_t)(nseg - 1));
    *has_star = nseg > 1;
}

bool mv_wildcard_match(const unsigned char *blob, const char *s, size_t n)
{
    uint32_t nseg = rd32(blob);
    const char *lit = (const char *)blob + 4 + 4 * (size_t)nseg;
    uint32_t first = rd32(blob + 4);
    if (nseg == 1)
        return n == first && memcmp(s, lit, n) == 0;
    const char *last;
    uint32_t last_len;
    const char *f;
    uint32_t fl;
    bool star;
    mv_wildcard_ends(blob, &f, &fl, &last, &last_len, &star);
    if (n < (size_t)first + last_len)
        return false;
    if (memcmp(s, lit, first) != 0 || memcmp(s + n - last_len, last, last_len) != 0)
        return false;
    size_t pos = first, end = n - last_len;
    const char *seg = lit + first;
    for (uint32_t k = 1; k + 1 < nseg; k++) {
        uint32_t len = rd32(blob + 4 + 4 * (size_t)k);
        if (len > 0) {
            const char *hit = memmem(s + pos, end - pos, seg, len);
            if (hit == NULL)
                return false;
            pos = (size_t)(hit - s) + len;
        }
        seg += len;
    }
    return true;
}
