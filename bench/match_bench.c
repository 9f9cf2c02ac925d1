/* match_bench.c — event-pattern matching throughput against 10, 100, 1,000
 * and 10,000 rules (runtime/match.h).  Built and run by bench/match.sh.
 *
 *   match_bench [events] [seed]
 *
 * Rules: distinct sources (com.example.svc<i>), detail-types from a set of
 * 20, and one to three constraints on detail fields drawn from a realistic
 * mix of operators (exact, prefix, suffix, equals-ignore-case, numeric
 * ranges, anything-but, exists, cidr, wildcard), a tenth of them with a
 * $or.  Events: the standard envelope (version, id, detail-type, source,
 * account, time, region, resources) and a dozen detail fields; each
 * event's source is one of 10,000 services, so against 10,000 rules nearly
 * every event meets the one rule of its service.  Every rule set sees the
 * same events.  Timed: match_event() only (events are parsed outside the
 * clock, one at a time, so memory stays flat); best of three rounds.
 */
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "match.h"

static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)((rng_state >> 11) % n);
}

static const char *const words[] = {
    "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet",
    "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo", "sierra", "tango",
    "uniform", "victor", "whiskey", "xray", "yankee", "zulu", "image/png", "image/jpeg", "text/plain",
    "application/json", "Running", "STOPPED", "pending", "terminated", "us-east-1", "eu-west-1",
    "s3://bucket/a.png", "s3://bucket/b.txt", "idle", "Chrome", "Firefox", "Terminal", "Slack",
    "VS Code", "Zoom", "Mail", "Calendar", "Notes", "Music", "Photos"};
#define NWORDS (sizeof words / sizeof *words)
#define NFIELDS 30
#define NTYPES 20
#define NSERVICES 10000

static int append(char *buf, size_t cap, size_t *n, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#include <stdarg.h>
static int append(char *buf, size_t cap, size_t *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(buf + *n, cap - *n, fmt, ap);
    va_end(ap);
    if (k < 0 || (size_t)k >= cap - *n)
        return -1;
    *n += (size_t)k;
    return 0;
}

/* One detail constraint: "fN": [ ... ] */
static void constraint(char *buf, size_t cap, size_t *n)
{
    int f = (int)rnd(NFIELDS);
    const char *w = words[rnd(NWORDS)];
    uint32_t kind = rnd(100);
    if (kind < 30)
        append(buf, cap, n, "\"f%d\":[\"%s\",\"%s\"]", f, w, words[rnd(NWORDS)]);
    else if (kind < 45)
        append(buf, cap, n, "\"f%d\":[{\"prefix\":\"%.3s\"}]", f, w);
    else if (kind < 58) {
        int lo = (int)rnd(900);
        append(buf, cap, n, "\"f%d\":[{\"numeric\":[\">\",%d,\"<=\",%d]}]", f, lo, lo + 1 + (int)rnd(200));
    } else if (kind < 68)
        append(buf, cap, n, "\"f%d\":[{\"anything-but\":[\"%s\",\"idle\"]}]", f, w);
    else if (kind < 76)
        append(buf, cap, n, "\"f%d\":[{\"exists\":%s}]", f, rnd(4) ? "true" : "false");
    else if (kind < 82)
        append(buf, cap, n, "\"f%d\":[{\"equals-ignore-case\":\"%s\"}]", f, w);
    else if (kind < 88)
        append(buf, cap, n, "\"f%d\":[{\"suffix\":\"%s\"}]", f, w + strlen(w) / 2);
    else if (kind < 94)
        append(buf, cap, n, "\"f%d\":[{\"cidr\":\"10.%u.0.0/16\"}]", f, rnd(256));
    else
        append(buf, cap, n, "\"f%d\":[{\"wildcard\":\"*%.2s*\"}]", f, w);
}

static void make_rule(uint32_t i, char *buf, size_t cap)
{
    size_t n = 0;
    append(buf, cap, &n, "{\"source\":[\"com.example.svc%u\"]", i);
    if (rnd(10) < 4)
        append(buf, cap, &n, ",\"detail-type\":[\"Type%u\"]", rnd(NTYPES));
    append(buf, cap, &n, ",\"detail\":{");
    uint32_t k = 1 + rnd(3);
    for (uint32_t c = 0; c < k; c++) {
        if (c)
            append(buf, cap, &n, ",");
        constraint(buf, cap, &n);
    }
    if (rnd(10) == 0) {
        append(buf, cap, &n, ",\"$or\":[{");
        constraint(buf, cap, &n);
        append(buf, cap, &n, "},{");
        constraint(buf, cap, &n);
        append(buf, cap, &n, "}]");
    }
    append(buf, cap, &n, "}}");
}

static void make_event(uint32_t i, char *buf, size_t cap)
{
    size_t n = 0;
    append(buf, cap, &n,
           "{\"version\":\"0\",\"id\":\"%08x-1111-2222-3333-%012u\",\"detail-type\":\"Type%u\","
           "\"source\":\"com.example.svc%u\",\"account\":\"123456789012\","
           "\"time\":\"2024-05-0%uT12:%02u:%02uZ\",\"region\":\"us-east-1\","
           "\"resources\":[\"arn:aws:s3:::bucket-%u\"],\"detail\":{",
           i, i, rnd(NTYPES), rnd(NSERVICES), 1 + rnd(9), rnd(60), rnd(60), rnd(100));
    uint32_t k = 8 + rnd(8);
    for (uint32_t c = 0; c < k; c++) {
        if (c)
            append(buf, cap, &n, ",");
        int f = (int)rnd(NFIELDS);
        switch (rnd(4)) {
        case 0:
            append(buf, cap, &n, "\"f%d\":%u", f, rnd(1100));
            break;
        case 1:
            append(buf, cap, &n, "\"f%d\":\"10.%u.%u.%u\"", f, rnd(256), rnd(256), rnd(256));
            break;
        default:
            append(buf, cap, &n, "\"f%d\":\"%s\"", f, words[rnd(NWORDS)]);
            break;
        }
    }
    append(buf, cap, &n, ",\"session\":{\"user\":\"u%u\",\"apps\":[\"%s\",\"%s\"]}}}", rnd(500),
           words[rnd(NWORDS)], words[rnd(NWORDS)]);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    uint32_t nevents = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 100000;
    uint64_t seed = argc > 2 ? strtoull(argv[2], NULL, 10) : 42;
    enum { NSETS = 4, ROUNDS = 3 };
    static const uint32_t sizes[NSETS] = {10, 100, 1000, 10000};
    struct match_set *sets[NSETS];
    struct match_scratch *x = match_scratch_new(NULL);
    double best[NSETS];
    uint64_t matched[NSETS] = {0};
    char buf[4096], reason[512];
    uint32_t out[64];
    for (int s = 0; s < NSETS; s++) {
        sets[s] = match_set_new();
        for (uint32_t i = 0; i < sizes[s]; i++) {
            /* rule i is the same rule in every set */
            rng_state = (seed + i) * 0x9E3779B97F4A7C15ULL + 7;
            make_rule(i, buf, sizeof buf);
            if (match_set_add_text(sets[s], buf, i, reason, sizeof reason) != 0) {
                fprintf(stderr, "rule %u refused: %s\n%s\n", i, reason, buf);
                return 1;
            }
        }
        best[s] = 1e30;
    }
    /* Each round parses every event once and matches it against every
     * set in turn (so all sets see the same events, in the same cache
     * state); the best round counts. */
    struct json_tokener *tok = json_tokener_new();
    for (int round = 0; round < ROUNDS; round++) {
        double t[NSETS] = {0};
        rng_state = seed ^ 0xDEADBEEFCAFEULL;
        for (uint32_t e = 0; e < nevents; e++) {
            make_event(e, buf, sizeof buf);
            json_tokener_reset(tok);
            struct json_object *ev = json_tokener_parse_ex(tok, buf, (int)strlen(buf));
            if (ev == NULL) {
                fprintf(stderr, "bad event %s\n", buf);
                return 1;
            }
            for (int s = 0; s < NSETS; s++) {
                double t0 = now();
                size_t n = match_event(sets[s], x, ev, out, 64);
                t[s] += now() - t0;
                if (n == MATCH_ERROR) {
                    fprintf(stderr, "out of memory\n");
                    return 1;
                }
                if (round == 0)
                    matched[s] += n;
            }
            json_object_put(ev);
        }
        for (int s = 0; s < NSETS; s++)
            if (t[s] < best[s])
                best[s] = t[s];
    }
    json_tokener_free(tok);
    for (int s = 0; s < NSETS; s++) {
        printf("%6u rules (%6zu sub-rules): %9.0f events/s, %6.2f us/event, %8llu matches\n", sizes[s],
               match_set_subrule_count(sets[s]), nevents / best[s], best[s] * 1e6 / nevents,
               (unsigned long long)matched[s]);
        match_set_free(sets[s]);
    }
    match_scratch_free(x);
    printf("time for 10,000 rules / time for 10 rules: %.2f (target: at most 2)\n", best[NSETS - 1] / best[0]);
    return 0;
}
