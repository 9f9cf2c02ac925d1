/* pattern_validate.c — is this an event pattern EventBridge would accept?
 *
 * See pattern.h for the contract and the sources.  Reference shorthand used
 * in the comments below:
 *   [UG-syntax]   User Guide, "Event pattern syntax" / "Event patterns"
 *   [UG-ops]      User Guide, "Comparison operators for use in event
 *                 patterns" (formerly "Content filtering in Amazon
 *                 EventBridge event patterns")
 *   [UG-quotas]   User Guide, "Amazon EventBridge quotas"
 *   [ER-compiler] aws/event-ruler JsonRuleCompiler.java
 *   [ER-number]   aws/event-ruler ComparableNumber.java / Range.java
 *   [ER-cidr]     aws/event-ruler CIDR.java
 *   [ER-wildcard] aws/event-ruler input/WildcardParser.java
 *   [ER-const]    aws/event-ruler Constants.java
 * Reason strings are event-ruler's, which EventBridge returns verbatim after
 * "Event pattern is not valid. Reason: ".  Each place where this file
 * departs from EventBridge on purpose is marked DIVERGENCE.
 *
 * The walk over the pattern recurses once per nested object; every entry
 * point bounds that by PATTERN_MAX_DEPTH.  No global mutable state.
 */
#include "pattern.h"
#include "match_internal.h"

#include <arpa/inet.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define REASON_PREFIX "Event pattern is not valid. Reason: "
#define PATH_CAP 256

#if defined(__GNUC__)
#define PV_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define PV_PRINTF(a, b)
#endif

/* ------------------------------------------------------------------ */
/* Context: where the reason goes and where in the pattern we are.    */

typedef struct {
    char *reason;
    size_t reason_size;
    char path[PATH_CAP];   /* e.g. detail.$or[1].c-count[0].numeric */
    size_t path_len;
    bool path_trunc;
} pv_ctx;

typedef struct {
    size_t len;
    bool trunc;
} pv_mark;

static pv_mark path_mark(const pv_ctx *c)
{
    return (pv_mark){c->path_len, c->path_trunc};
}

static void path_reset(pv_ctx *c, pv_mark m)
{
    c->path_len = m.len;
    c->path_trunc = m.trunc;
    c->path[m.len] = '\0';
}

static void path_append(pv_ctx *c, const char *s, size_t n)
{
    if (c->path_trunc)
        return;
    size_t room = PATH_CAP - 1 - c->path_len;
    if (n > room) {
        n = room;
        c->path_trunc = true;
    }
    memcpy(c->path + c->path_len, s, n);
    c->path_len += n;
    c->path[c->path_len] = '\0';
}

static void path_key(pv_ctx *c, const char *key)
{
    if (c->path_len > 0)
        path_append(c, ".", 1);
    path_append(c, key, strlen(key));
}

static void path_index(pv_ctx *c, size_t i)
{
    char buf[32];
    int n = snprintf(buf, sizeof buf, "[%zu]", i);
    if (n > 0)
        path_append(c, buf, (size_t)n);
}

/* Drop a UTF-8 sequence that snprintf truncation cut in half. */
static void trim_partial_utf8(char *s)
{
    size_t n = strlen(s);
    size_t i = n;
    while (i > 0 && ((unsigned char)s[i - 1] & 0xC0) == 0x80)
        i--;
    if (i == 0)
        return;
    unsigned char lead = (unsigned char)s[i - 1];
    size_t want = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    if (n - (i - 1) < want)
        s[i - 1] = '\0';
}

/* Record the reason and return -1.  The reason is one line: control
 * characters from keys or values are shown as '?'. */
static int pv_fail(pv_ctx *c, const char *fmt, ...) PV_PRINTF(2, 3);
static int pv_fail(pv_ctx *c, const char *fmt, ...)
{
    if (c->reason == NULL || c->reason_size == 0)
        return -1;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    int n;
    if (c->path_len > 0)
        n = snprintf(c->reason, c->reason_size, "%s%s at %s%s", REASON_PREFIX, msg,
                     c->path, c->path_trunc ? "..." : "");
    else
        n = snprintf(c->reason, c->reason_size, "%s%s", REASON_PREFIX, msg);
    if (n >= 0 && (size_t)n >= c->reason_size)
        trim_partial_utf8(c->reason);
    for (char *p = c->reason; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7F)
            *p = '?';
    return -1;
}

/* ------------------------------------------------------------------ */
/* Small helpers.                                                     */

static bool is_number(struct json_object *v)
{
    return json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double);
}

/* The JSON text of a number: a double json-c parsed keeps its source text. */
static const char *number_text(struct json_object *v)
{
    return json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
}

/* How event-ruler names an offending token: its text as the streaming
 * parser saw it. */
static const char *token_text(struct json_object *v)
{
    switch (json_object_get_type(v)) {
    case json_type_null:
        return "null";
    case json_type_boolean:
        return json_object_get_boolean(v) ? "true" : "false";
    case json_type_int:
    case json_type_double:
        return number_text(v);
    case json_type_string:
        return json_object_get_string(v);
    case json_type_array:
        return "[";
    case json_type_object:
        return "{";
    }
    return "?";
}

/* The first member of an object, in document order (json-c keeps it). */
static void first_member(struct json_object *obj, const char **name, struct json_object **val)
{
    struct json_object_iterator it = json_object_iter_begin(obj);
    *name = json_object_iter_peek_name(&it);
    *val = json_object_iter_peek_value(&it);
}

/* Java String.length() of UTF-8 text: UTF-16 code units. */
static size_t utf16_length(const char *s, size_t n)
{
    size_t units = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char b = (unsigned char)s[i];
        if ((b & 0xC0) != 0x80)
            units += b >= 0xF0 ? 2 : 1;
    }
    return units;
}

static uint64_t sat_limit(void)
{
    return (uint64_t)PATTERN_MAX_OR_COMBINATIONS + 1;
}

static uint64_t sat_mul(uint64_t a, uint64_t b)
{
    if (a == 0 || b == 0)
        return 0;
    if (a > sat_limit() / b)
        return sat_limit();
    uint64_t r = a * b;
    return r > sat_limit() ? sat_limit() : r;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    uint64_t r = a + b;
    return r > sat_limit() ? sat_limit() : r;
}

/* ------------------------------------------------------------------ */
/* Numbers.  [UG-ops] "Numeric matching works with values that are JSON
 * numbers. It is limited to values between -5.0e9 and +5.0e9 inclusive,
 * with 15 digits of precision, or six digits to the right of the decimal
 * point."  [ER-number] enforces exactly that in ComparableNumber.generate:
 * BigDecimal.stripTrailingZeros().scale() > 6 is refused first, then
 * |value| > 5e9.  It is applied to numeric operands and to anything-but
 * numbers, never to a plain number in a value list ([ER-compiler] catches
 * the failure there, e.g. for 12-digit account numbers).
 *
 * DIVERGENCE: newer event-ruler releases widen the range (ComparableNumber
 * with HALF_TRILLION / full double range); the User Guide still documents
 * +-5.0e9 and six decimals, and that is what we enforce.
 */

static int pv_comparable(pv_ctx *c, struct json_object *num, int64_t *scaled)
{
    const char *text = number_text(num);
    int64_t dummy;
    switch (mv_number_parse(text ? text : "", text ? strlen(text) : 0, scaled ? scaled : &dummy)) {
    case MV_NUMBER_OK:
        return 0;
    case MV_NUMBER_DECIMALS:
        return pv_fail(c, "Only values upto 6 decimals are supported: %s", text);
    case MV_NUMBER_RANGE:
        return pv_fail(c, "Value must be between -5.0E9 and 5.0E9, inclusive: %s", text);
    case MV_NUMBER_BAD:
        break;
    }
    return pv_fail(c, "Cannot compare number : %s", text ? text : "?");
}

/* ------------------------------------------------------------------ */
/* Wildcards.  [UG-ops] "You can specify any number of wildcard characters
 * in a given string value; however, consecutive wildcard characters are
 * not supported" and the backslash escapes only '*' and '\'.
 * [ER-wildcard] parses '"' + value + '"', so positions are 1-based UTF-8
 * byte offsets into the value, and a trailing backslash "escapes" the
 * closing quote.  The wildcard complexity limit ("Rule is too complex")
 * has no documented threshold and is not checked. */
static int pv_wildcard_text(pv_ctx *c, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '*') {
            if (i + 1 < n && s[i + 1] == '*')
                return pv_fail(c, "Consecutive wildcard characters at pos %zu", i + 1);
        } else if (s[i] == '\\') {
            if (i + 1 < n && (s[i + 1] == '*' || s[i + 1] == '\\')) {
                i++;
                continue;
            }
            return pv_fail(c, "Invalid escape character at pos %zu", i + 1);
        }
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* CIDR.  [UG-ops] "You can use IP address matching for IPv4 and IPv6
 * addresses"; the grammar is [ER-cidr]: exactly one '/', an integer mask
 * that is not negative, an address shaped like [0-9]+(\.[0-9]+){3} or
 * [0-9a-fA-F:]*:[0-9a-fA-F:]*, and a mask below the address width (so /32
 * and /128 are refused, as event-ruler does).  Host bits below the mask
 * are allowed (event-ruler floors them). */

static bool parse_ipv4(const char *s, unsigned char out[4], bool *shaped)
{
    /* shape: digits '.' digits '.' digits '.' digits */
    int parts = 0;
    const char *p = s;
    *shaped = false;
    for (;;) {
        const char *start = p;
        while (*p >= '0' && *p <= '9')
            p++;
        if (p == start)
            return false;
        parts++;
        if (*p == '.' && parts < 4) {
            p++;
            continue;
        }
        break;
    }
    if (*p != '\0' || parts != 4)
        return false;
    *shaped = true;
    p = s;
    for (int k = 0; k < 4; k++) {
        const char *start = p;
        unsigned v = 0;
        while (*p >= '0' && *p <= '9') {
            if (v <= 255)
                v = v * 10 + (unsigned)(*p - '0');
            p++;
        }
        /* DIVERGENCE: a leading zero ("010") is refused.  Java's
         * InetAddress read such octets as decimal in older JDKs and
         * rejects them as ambiguous in newer ones; we take the safe
         * reading. */
        if (v > 255 || (p - start > 1 && *start == '0'))
            return false;
        out[k] = (unsigned char)v;
        if (*p == '.')
            p++;
    }
    return true;
}

static bool ipv6_shaped(const char *s)
{
    bool colon = false;
    for (const char *p = s; *p; p++) {
        char ch = *p;
        if (ch == ':')
            colon = true;
        else if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F')))
            return false;
    }
    return colon;
}

static int pv_cidr(pv_ctx *c, struct json_object *arg)
{
    /* event-ruler's text here says "prefix match pattern must be a
     * string" (a copy-paste in CIDR handling); we name the operator. */
    if (!json_object_is_type(arg, json_type_string))
        return pv_fail(c, "cidr match pattern must be a string");
    const char *s = json_object_get_string(arg);
    size_t n = (size_t)json_object_get_string_len(arg);
    const char *slash = memchr(s, '/', n);
    /* DIVERGENCE: Java's split("/") drops trailing empty fields, so
     * "10.0.0.0/24/" passes event-ruler; we want exactly one '/'. */
    if (slash == NULL || memchr(slash + 1, '/', n - (size_t)(slash - s) - 1) != NULL ||
        slash + 1 == s + n)
        return pv_fail(c, "Malformed CIDR, one '/' required");
    /* Integer.parseInt: optional sign, decimal digits, fits in an int. */
    const char *m = slash + 1, *end = s + n;
    bool neg = false;
    if (*m == '+' || *m == '-') {
        neg = *m == '-';
        m++;
    }
    if (m == end)
        return pv_fail(c, "Malformed CIDR, mask bits must be an integer");
    long long bits = 0;
    for (const char *p = m; p < end; p++) {
        if (*p < '0' || *p > '9')
            return pv_fail(c, "Malformed CIDR, mask bits must be an integer");
        bits = bits * 10 + (*p - '0');
        if (bits > 2147483648LL)
            return pv_fail(c, "Malformed CIDR, mask bits must be an integer");
    }
    if (neg)
        bits = -bits;
    if (bits > 2147483647LL)
        return pv_fail(c, "Malformed CIDR, mask bits must be an integer");
    if (bits < 0)
        return pv_fail(c, "Malformed CIDR, mask bits must not be negative");

    char ip[64];
    size_t iplen = (size_t)(slash - s);
    if (iplen >= sizeof ip || memchr(s, '\0', iplen) != NULL)
        return pv_fail(c, "Nonstandard IP address: %.*s", (int)(iplen < 64 ? iplen : 64), s);
    memcpy(ip, s, iplen);
    ip[iplen] = '\0';

    unsigned char addr[16];
    bool v4shaped;
    bool is_v4;
    if (parse_ipv4(ip, addr, &v4shaped)) {
        is_v4 = true;
    } else if (v4shaped) {
        return pv_fail(c, "Invalid IP address: %s", ip);
    } else if (ipv6_shaped(ip)) {
        if (inet_pton(AF_INET6, ip, addr) != 1)
            return pv_fail(c, "Invalid IP address: %s", ip);
        /* Java hands back an Inet4Address for an IPv4-mapped literal. */
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
        is_v4 = memcmp(addr, mapped, sizeof mapped) == 0;
    } else {
        return pv_fail(c, "Nonstandard IP address: %s", ip);
    }
    if (is_v4 && bits > 31)
        return pv_fail(c, "IPv4 mask bits must be < 32");
    if (!is_v4 && bits > 127)
        return pv_fail(c, "IPv6 mask bits must be < 128");
    return 0;
}

/* ------------------------------------------------------------------ */
/* numeric.  [UG-ops]: operators =, <, <=, >, >=; a range is a lower bound
 * followed by an upper one, e.g. [">", 0, "<=", 5].  The grammar and the
 * messages are processNumericMatchExpression / completeNumericRange in
 * [ER-compiler]; "Bottom must be less than top" is Range.between, which
 * also refuses equal bounds. */
static int pv_numeric(pv_ctx *c, struct json_object *arg)
{
    if (!json_object_is_type(arg, json_type_array))
        return pv_fail(c, "Value of numeric must be an array.");
    size_t n = json_object_array_length(arg);
    if (n == 0)
        return pv_fail(c, "Invalid member in numeric match: ]");
    struct json_object *op = json_object_array_get_idx(arg, 0);
    if (!json_object_is_type(op, json_type_string))
        return pv_fail(c, "Invalid member in numeric match: %s", token_text(op));
    const char *o = json_object_get_string(op);
    const char *opname;
    bool lower;
    if (strcmp(o, "=") == 0) {
        opname = "equals";
        lower = false;
    } else if (strcmp(o, "<") == 0 || strcmp(o, "<=") == 0) {
        opname = o;
        lower = false;
    } else if (strcmp(o, ">") == 0 || strcmp(o, ">=") == 0) {
        opname = o;
        lower = true;
    } else {
        return pv_fail(c, "Unrecognized numeric range operator: %s", o);
    }
    struct json_object *v1 = n > 1 ? json_object_array_get_idx(arg, 1) : NULL;
    if (n < 2 || !is_number(v1))
        return pv_fail(c, "Value of %s must be numeric", opname);
    if (!lower) {
        if (n > 2)
            return pv_fail(c, "Too many elements in numeric expression");
        return pv_comparable(c, v1, NULL);
    }
    if (n == 2)
        return pv_comparable(c, v1, NULL);
    struct json_object *op2 = json_object_array_get_idx(arg, 2);
    if (!json_object_is_type(op2, json_type_string))
        return pv_fail(c, "Bad value in numeric range: %s", token_text(op2));
    const char *o2 = json_object_get_string(op2);
    if (strcmp(o2, "<") != 0 && strcmp(o2, "<=") != 0)
        return pv_fail(c, "Bad numeric range operator: %s", o2);
    struct json_object *v2 = n > 3 ? json_object_array_get_idx(arg, 3) : NULL;
    if (n < 4 || !is_number(v2))
        return pv_fail(c, "Value of %s must be numeric", o2);
    if (n > 4)
        return pv_fail(c, "Too many terms in numeric range expression");
    int64_t bottom, top;
    if (pv_comparable(c, v1, &bottom) != 0 || pv_comparable(c, v2, &top) != 0)
        return -1;
    if (!(bottom < top))
        return pv_fail(c, "Bottom must be less than top");
    return 0;
}

/* ------------------------------------------------------------------ */
/* anything-but.  [UG-ops]: a string, a number, a list of only strings or
 * only numbers, or one of {"prefix"}, {"suffix"}, {"equals-ignore-case"},
 * {"wildcard"} holding a string or a list of strings.  Messages and the
 * empty-prefix rule ("Null prefix/suffix not allowed") from [ER-compiler]. */

enum ab_kind { AB_IGNORE_CASE, AB_PREFIX, AB_SUFFIX, AB_WILDCARD };

static int pv_ab_value(pv_ctx *c, enum ab_kind kind, struct json_object *v)
{
    if (!json_object_is_type(v, json_type_string)) {
        if (kind == AB_IGNORE_CASE)
            return pv_fail(c, "Inside anything-but/equals-ignore-case list, "
                              "number|start|null|boolean is not supported.");
        if (kind == AB_WILDCARD)
            return pv_fail(c, "wildcard match pattern must be a string");
        return pv_fail(c, "prefix/suffix match pattern must be a string");
    }
    size_t len = (size_t)json_object_get_string_len(v);
    if ((kind == AB_PREFIX || kind == AB_SUFFIX) && len == 0)
        return pv_fail(c, "Null prefix/suffix not allowed");
    if (kind == AB_WILDCARD)
        return pv_wildcard_text(c, json_object_get_string(v), len);
    return 0;
}

static int pv_anything_but(pv_ctx *c, struct json_object *arg)
{
    switch (json_object_get_type(arg)) {
    case json_type_string:
        return 0;
    case json_type_int:
    case json_type_double:
        return pv_comparable(c, arg, NULL);
    case json_type_array: {
        size_t n = json_object_array_length(arg);
        bool has_string = false, has_number = false;
        for (size_t i = 0; i < n; i++) {
            struct json_object *v = json_object_array_get_idx(arg, i);
            pv_mark m = path_mark(c);
            path_index(c, i);
            if (json_object_is_type(v, json_type_string)) {
                has_string = true;
            } else if (is_number(v)) {
                has_number = true;
                if (pv_comparable(c, v, NULL) != 0)
                    return -1;
            } else {
                return pv_fail(c, "Inside anything but list, start|null|boolean is not supported.");
            }
            path_reset(c, m);
        }
        if (has_string == has_number)
            return pv_fail(c, "Inside anything but list, either all values are number or string, "
                              "mixed type is not supported");
        return 0;
    }
    case json_type_object: {
        if (json_object_object_length(arg) == 0)
            return pv_fail(c, "Anything-But expression name not found");
        const char *name;
        struct json_object *v;
        first_member(arg, &name, &v);
        enum ab_kind kind;
        if (strcmp(name, "equals-ignore-case") == 0)
            kind = AB_IGNORE_CASE;
        else if (strcmp(name, "prefix") == 0)
            kind = AB_PREFIX;
        else if (strcmp(name, "suffix") == 0)
            kind = AB_SUFFIX;
        else if (strcmp(name, "wildcard") == 0)
            kind = AB_WILDCARD;
        else
            return pv_fail(c, "Unsupported anything-but pattern: %s", name);
        path_key(c, name);
        if (json_object_is_type(v, json_type_array)) {
            size_t n = json_object_array_length(v);
            /* DIVERGENCE: event-ruler accepts an empty list here, which
             * excludes nothing and so matches every value; we refuse it
             * like every other empty array. */
            if (n == 0)
                return pv_fail(c, "Empty arrays are not allowed");
            for (size_t i = 0; i < n; i++) {
                pv_mark m = path_mark(c);
                path_index(c, i);
                if (pv_ab_value(c, kind, json_object_array_get_idx(v, i)) != 0)
                    return -1;
                path_reset(c, m);
            }
        } else if (json_object_is_type(v, json_type_string) || is_number(v)) {
            if (pv_ab_value(c, kind, v) != 0)
                return -1;
        } else {
            return pv_fail(c, "Value of anything-but must be an array or single string/number value.");
        }
        if (json_object_object_length(arg) > 1)
            return pv_fail(c, "Only one key allowed in match expression");
        return 0;
    }
    case json_type_null:
    case json_type_boolean:
        break;
    }
    return pv_fail(c, "Value of anything-but must be an array or single string/number value.");
}

/* ------------------------------------------------------------------ */
/* prefix / suffix: a string (empty allowed: it compiles to "the value is
 * a string"), or {"equals-ignore-case": string}.  [UG-ops], [ER-compiler]
 * processPrefixEqualsIgnoreCaseExpression. */
static int pv_affix(pv_ctx *c, const char *op, struct json_object *arg)
{
    if (json_object_is_type(arg, json_type_string))
        return 0;
    if (!json_object_is_type(arg, json_type_object))
        return pv_fail(c, "%s match pattern must be a string", op);
    const char *cap = op[0] == 'p' ? "Prefix" : "Suffix";
    if (json_object_object_length(arg) == 0)
        return pv_fail(c, "%s expression name not found", cap);
    const char *name;
    struct json_object *v;
    first_member(arg, &name, &v);
    if (strcmp(name, "equals-ignore-case") != 0)
        return pv_fail(c, "Unsupported %s pattern: %s", op, name);
    if (!json_object_is_type(v, json_type_string))
        return pv_fail(c, "equals-ignore-case match pattern must be a string");
    if (json_object_object_length(arg) > 1)
        return pv_fail(c, "Only one key allowed in match expression");
    return 0;
}

/* ------------------------------------------------------------------ */
/* A matcher object inside a value list: exactly one key, and the key is
 * one of the documented comparison operators [UG-ops].
 *
 * DIVERGENCE: event-ruler also accepts "exactly" (an explicit spelling of
 * a plain string value); the User Guide does not document it, so it is
 * refused here as an unrecognized match type. */
static int pv_matcher(pv_ctx *c, struct json_object *obj)
{
    int nkeys = json_object_object_length(obj);
    if (nkeys == 0)
        return pv_fail(c, "Match expression name not found");
    const char *name;
    struct json_object *arg;
    first_member(obj, &name, &arg);
    pv_mark m = path_mark(c);
    path_key(c, name);
    int rc;
    if (strcmp(name, "prefix") == 0 || strcmp(name, "suffix") == 0) {
        rc = pv_affix(c, name, arg);
    } else if (strcmp(name, "equals-ignore-case") == 0) {
        rc = json_object_is_type(arg, json_type_string)
                 ? 0
                 : pv_fail(c, "equals-ignore-case match pattern must be a string");
    } else if (strcmp(name, "wildcard") == 0) {
        rc = json_object_is_type(arg, json_type_string)
                 ? pv_wildcard_text(c, json_object_get_string(arg),
                                    (size_t)json_object_get_string_len(arg))
                 : pv_fail(c, "wildcard match pattern must be a string");
    } else if (strcmp(name, "exists") == 0) {
        /* [UG-ops] {"exists": true} / {"exists": false} */
        rc = json_object_is_type(arg, json_type_boolean)
                 ? 0
                 : pv_fail(c, "exists match pattern must be either true or false.");
    } else if (strcmp(name, "cidr") == 0) {
        rc = pv_cidr(c, arg);
    } else if (strcmp(name, "numeric") == 0) {
        rc = pv_numeric(c, arg);
    } else if (strcmp(name, "anything-but") == 0) {
        rc = pv_anything_but(c, arg);
    } else {
        path_reset(c, m);
        return pv_fail(c, "Unrecognized match type %s", name);
    }
    if (rc != 0)
        return rc;
    path_reset(c, m);
    /* event-ruler reads the operand before it notices a second key. */
    if (nkeys > 1)
        return pv_fail(c, "Only one key allowed in match expression");
    return 0;
}

/* A field's value list [UG-syntax]: "the value to match is in a JSON
 * array"; members are strings, numbers, true, false, null or matcher
 * objects; an empty list is refused [ER-compiler]. */
static int pv_value_list(pv_ctx *c, struct json_object *arr)
{
    size_t n = json_object_array_length(arr);
    if (n == 0)
        return pv_fail(c, "Empty arrays are not allowed");
    for (size_t i = 0; i < n; i++) {
        struct json_object *v = json_object_array_get_idx(arr, i);
        pv_mark m = path_mark(c);
        path_index(c, i);
        if (json_object_is_type(v, json_type_object)) {
            if (pv_matcher(c, v) != 0)
                return -1;
        } else if (json_object_is_type(v, json_type_array)) {
            return pv_fail(c, "Match value must be String, number, true, false, or null");
        }
        path_reset(c, m);
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Objects and $or. */

/* [ER-const] RESERVED_FIELD_NAMES_IN_OR_RELATIONSHIP: names a field may
 * not have anywhere inside a $or member. */
static bool reserved_in_or(const char *key)
{
    static const char *const names[] = {
        "exactly", "equals-ignore-case", "prefix", "suffix", "anything-but", "exists",
        "wildcard", "numeric", "cidr", "html", "=", "<", "<=", ">", ">=", "regex",
        "not-wildcard", "not-equals-ignore-case", "date-after", "date-on-or-after",
        "date-before", "date-on-or-before", "in-date-range", "ip-address-in-range",
        "ip-address-not-in-range",
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(key, names[i]) == 0)
            return true;
    return false;
}

static int pv_object(pv_ctx *c, struct json_object *obj, int depth, bool in_or, uint64_t *alts);

/* [UG-ops] "$or": an array of pattern objects, any of which may match.
 * [ER-compiler] parseIntoOrRelationship: the value must be an array, every
 * member an object, at least two members; each member expands into its own
 * sub-rule, so the alternatives of the members add up.
 *
 * DIVERGENCE: when "$or" is not an array of >= 2 objects, EventBridge
 * retries with its pre-$or compiler, which reads "$or" as an ordinary field
 * name (so {"$or": {"a": ["b"]}} is accepted there).  We always read "$or"
 * as the operator and refuse the malformed ones. */
static int pv_or(pv_ctx *c, struct json_object *val, int depth, uint64_t *alts)
{
    if (!json_object_is_type(val, json_type_array))
        return pv_fail(c, "It must be an Array followed with $or.");
    size_t n = json_object_array_length(val);
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        struct json_object *member = json_object_array_get_idx(val, i);
        pv_mark m = path_mark(c);
        path_index(c, i);
        if (!json_object_is_type(member, json_type_object))
            return pv_fail(c, "Only JSON object is allowed in array of $or relationship.");
        uint64_t a;
        if (pv_object(c, member, depth + 1, true, &a) != 0)
            return -1;
        sum = sat_add(sum, a);
        path_reset(c, m);
    }
    if (n < 2)
        return pv_fail(c, "There must have at least 2 Objects in $or relationship.");
    *alts = sum;
    return 0;
}

/* A pattern object [UG-syntax]: every field maps to a nested object or to
 * a value list; "Empty objects are not allowed" at any level, the root
 * included [ER-compiler] parseObject.  *alts receives the number of $or
 * sub-rules the object expands to. */
static int pv_object(pv_ctx *c, struct json_object *obj, int depth, bool in_or, uint64_t *alts)
{
    if (depth > PATTERN_MAX_DEPTH)
        return pv_fail(c, "Event pattern is nested more than %d levels deep", PATTERN_MAX_DEPTH);
    if (json_object_object_length(obj) == 0)
        return pv_fail(c, "Empty objects are not allowed");
    uint64_t total = 1;
    json_object_object_foreach(obj, key, val)
    {
        pv_mark m = path_mark(c);
        path_key(c, key);
        uint64_t sub = 1;
        int rc;
        if (strcmp(key, "$or") == 0) {
            rc = pv_or(c, val, depth, &sub);
        } else if (key[0] == '$') {
            /* DIVERGENCE (project policy, stricter than EventBridge):
             * event-ruler would match a field literally named "$x"; we
             * keep '$' names for operators, and $or is the only one. */
            rc = pv_fail(c, "Field names starting with '$' are reserved, only $or is supported: %s",
                         key);
        } else if (in_or && reserved_in_or(key)) {
            rc = pv_fail(c, "%s is Ruler reserved fieldName which cannot be used inside $or.", key);
        } else if (json_object_is_type(val, json_type_object)) {
            rc = pv_object(c, val, depth + 1, in_or, &sub);
        } else if (json_object_is_type(val, json_type_array)) {
            rc = pv_value_list(c, val);
        } else {
            rc = pv_fail(c, "\"%s\" must be an object or an array", key);
        }
        if (rc != 0)
            return rc;
        total = sat_mul(total, sub);
        path_reset(c, m);
    }
    *alts = total;
    return 0;
}

/* The whole tree: root must be an object; $or expansion bounded. */
static int pv_tree(pv_ctx *c, struct json_object *root)
{
    if (!json_object_is_type(root, json_type_object))
        return pv_fail(c, "Filter is not an object");
    uint64_t alts = 1;
    if (pv_object(c, root, 1, false, &alts) != 0)
        return -1;
    /* Not in the User Guide: the "$or" section documents no bound.  Taken
     * from EventBridge's observed refusal of patterns that expand to more
     * than 1000 sub-rules; see docs/patterns.md. */
    if (alts > PATTERN_MAX_OR_COMBINATIONS)
        return pv_fail(c, "Event pattern contains more than %d rule combinations",
                       PATTERN_MAX_OR_COMBINATIONS);
    return 0;
}

/* [UG-quotas] "Event pattern size ... 2,048: The maximum size, in
 * characters, of an event pattern." */
static int pv_size(pv_ctx *c, const char *text, size_t n)
{
    size_t chars = utf16_length(text, n);
    if (chars > PATTERN_MAX_CHARS)
        return pv_fail(c, "Event pattern is %zu characters, more than the %d-character quota", chars,
                       PATTERN_MAX_CHARS);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Strict RFC 8259 syntax, checked before json-c sees the text: json-c
 * accepts NaN, Infinity and single-quoted strings even in strict mode.
 * Iterative, with an explicit bounded stack. */

static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
    unsigned char b = s[0];
    size_t len;
    uint32_t cp;
    if (b < 0x80)
        return 1;
    if (b >= 0xC2 && b <= 0xDF) {
        len = 2;
        cp = b & 0x1F;
    } else if (b >= 0xE0 && b <= 0xEF) {
        len = 3;
        cp = b & 0x0F;
    } else if (b >= 0xF0 && b <= 0xF4) {
        len = 4;
        cp = b & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

static bool is_hex(char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

/* On error returns a description and sets *at to the byte offset. */
static const char *scan_string(const char *s, size_t n, size_t *i)
{
    size_t p = *i + 1; /* past the opening quote */
    while (p < n) {
        unsigned char ch = (unsigned char)s[p];
        if (ch == '"') {
            *i = p + 1;
            return NULL;
        }
        if (ch < 0x20) {
            *i = p;
            return "control character in string";
        }
        if (ch == '\\') {
            if (p + 1 >= n)
                break;
            char e = s[p + 1];
            if (e == 'u') {
                if (p + 5 >= n || !is_hex(s[p + 2]) || !is_hex(s[p + 3]) || !is_hex(s[p + 4]) ||
                    !is_hex(s[p + 5])) {
                    *i = p;
                    return "bad \\u escape";
                }
                p += 6;
            } else if (strchr("\"\\/bfnrt", e) != NULL && e != '\0') {
                p += 2;
            } else {
                *i = p;
                return "bad escape";
            }
            continue;
        }
        if (ch >= 0x80) {
            size_t len = utf8_seq_len((const unsigned char *)s + p, n - p);
            if (len == 0) {
                *i = p;
                return "invalid UTF-8";
            }
            p += len;
            continue;
        }
        p++;
    }
    *i = n;
    return "unterminated string";
}

static const char *scan_number(const char *s, size_t n, size_t *i)
{
    size_t p = *i;
    if (p < n && s[p] == '-')
        p++;
    if (p < n && s[p] == '0') {
        p++;
    } else if (p < n && s[p] >= '1' && s[p] <= '9') {
        while (p < n && s[p] >= '0' && s[p] <= '9')
            p++;
    } else {
        *i = p;
        return "bad number";
    }
    if (p < n && s[p] == '.') {
        p++;
        if (!(p < n && s[p] >= '0' && s[p] <= '9')) {
            *i = p;
            return "bad number";
        }
        while (p < n && s[p] >= '0' && s[p] <= '9')
            p++;
    }
    if (p < n && (s[p] == 'e' || s[p] == 'E')) {
        p++;
        if (p < n && (s[p] == '+' || s[p] == '-'))
            p++;
        if (!(p < n && s[p] >= '0' && s[p] <= '9')) {
            *i = p;
            return "bad number";
        }
        while (p < n && s[p] >= '0' && s[p] <= '9')
            p++;
    }
    *i = p;
    return NULL;
}

static const char *json_syntax_check(const char *s, size_t n, size_t *at)
{
    enum { ST_VALUE, ST_OBJ_FIRST, ST_OBJ_KEY, ST_COLON, ST_AFTER, ST_ARR_FIRST } st = ST_VALUE;
    char stack[PATTERN_MAX_DEPTH];
    size_t depth = 0, i = 0;
    bool done = false;
    const char *err = NULL;
    for (;;) {
        while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
            i++;
        if (done) {
            if (i < n) {
                *at = i;
                return "unexpected text after the pattern";
            }
            return NULL;
        }
        if (i >= n) {
            *at = i;
            return "unexpected end of text";
        }
        char ch = s[i];
        bool value_done = false;
        switch (st) {
        case ST_OBJ_FIRST:
        case ST_OBJ_KEY:
            if (ch == '}' && st == ST_OBJ_FIRST) {
                depth--;
                i++;
                value_done = true;
            } else if (ch == '"') {
                if ((err = scan_string(s, n, &i)) != NULL) {
                    *at = i;
                    return err;
                }
                st = ST_COLON;
            } else {
                *at = i;
                return "expected a member name";
            }
            break;
        case ST_COLON:
            if (ch != ':') {
                *at = i;
                return "expected ':'";
            }
            i++;
            st = ST_VALUE;
            break;
        case ST_ARR_FIRST:
            if (ch == ']') {
                depth--;
                i++;
                value_done = true;
                break;
            }
            st = ST_VALUE;
            continue;
        case ST_VALUE:
            if (ch == '{' || ch == '[') {
                if (depth >= PATTERN_MAX_DEPTH) {
                    *at = i;
                    return "nested too deeply";
                }
                stack[depth++] = ch;
                i++;
                st = ch == '{' ? ST_OBJ_FIRST : ST_ARR_FIRST;
            } else if (ch == '"') {
                if ((err = scan_string(s, n, &i)) != NULL) {
                    *at = i;
                    return err;
                }
                value_done = true;
            } else if (ch == '-' || (ch >= '0' && ch <= '9')) {
                if ((err = scan_number(s, n, &i)) != NULL) {
                    *at = i;
                    return err;
                }
                value_done = true;
            } else if (n - i >= 4 && memcmp(s + i, "true", 4) == 0) {
                i += 4;
                value_done = true;
            } else if (n - i >= 5 && memcmp(s + i, "false", 5) == 0) {
                i += 5;
                value_done = true;
            } else if (n - i >= 4 && memcmp(s + i, "null", 4) == 0) {
                i += 4;
                value_done = true;
            } else {
                *at = i;
                return "expected a value";
            }
            break;
        case ST_AFTER: {
            char top = stack[depth - 1];
            if (ch == ',') {
                i++;
                st = top == '{' ? ST_OBJ_KEY : ST_VALUE;
            } else if ((ch == '}' && top == '{') || (ch == ']' && top == '[')) {
                depth--;
                i++;
                value_done = true;
            } else {
                *at = i;
                return top == '{' ? "expected ',' or '}'" : "expected ',' or ']'";
            }
            break;
        }
        }
        if (value_done) {
            if (depth == 0)
                done = true;
            else
                st = ST_AFTER;
        }
    }
}

/* ------------------------------------------------------------------ */
/* Entry points. */

static void ctx_init(pv_ctx *c, char *reason, size_t reason_size)
{
    memset(c, 0, sizeof *c);
    c->reason = reason;
    c->reason_size = reason_size;
    if (reason != NULL && reason_size > 0)
        reason[0] = '\0';
}

int pattern_validate(struct json_object *pattern, char *reason, size_t reason_size)
{
    pv_ctx c;
    ctx_init(&c, reason, reason_size);
    if (pv_tree(&c, pattern) != 0)
        return -1;
    /* Only a validated tree is serialized: its depth is bounded. */
    const char *text = json_object_to_json_string_ext(pattern, PATTERN_SERIALIZE_FLAGS);
    if (text == NULL)
        return pv_fail(&c, "Filter could not be serialized");
    return pv_size(&c, text, strlen(text));
}

int pattern_validate_text(const char *json_text, char *reason, size_t reason_size)
{
    pv_ctx c;
    ctx_init(&c, reason, reason_size);
    if (json_text == NULL)
        return pv_fail(&c, "Filter is not valid JSON: no text");
    size_t n = strlen(json_text);
    if (pv_size(&c, json_text, n) != 0)
        return -1;
    size_t at = 0;
    const char *err = json_syntax_check(json_text, n, &at);
    if (err != NULL)
        return pv_fail(&c, "Filter is not valid JSON: %s at offset %zu", err, at);
    size_t first = strspn(json_text, " \t\r\n");
    if (json_text[first] != '{')
        return pv_fail(&c, "Filter is not an object");

    struct json_tokener *tok = json_tokener_new_ex(PATTERN_MAX_DEPTH + 1);
    if (tok == NULL)
        return pv_fail(&c, "out of memory");
    int flags = JSON_TOKENER_STRICT;
#ifdef JSON_TOKENER_VALIDATE_UTF8
    flags |= JSON_TOKENER_VALIDATE_UTF8;
#endif
    json_tokener_set_flags(tok, flags);
    /* n <= 4 * PATTERN_MAX_CHARS bytes here, so it fits an int. */
    struct json_object *root = json_tokener_parse_ex(tok, json_text, (int)n);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    json_tokener_free(tok);
    if (root == NULL || jerr != json_tokener_success) {
        json_object_put(root);
        return pv_fail(&c, "Filter is not valid JSON: %s", json_tokener_error_desc(jerr));
    }
    int rc = pv_tree(&c, root);
    json_object_put(root);
    return rc;
}
