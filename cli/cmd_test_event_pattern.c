/* cmd_test_event_pattern.c — `efc test-event-pattern`: the local twin of
 * `aws events test-event-pattern`, answered by the runtime's matcher
 * (runtime/match.h) with EventBridge's semantics. */
#include <errno.h>
#include <stdbool.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "match.h"

static const char help[] =
    "usage: efc test-event-pattern --event-pattern PATTERN --event EVENT\n\n"
    "Tests whether an event matches an EventBridge event pattern, as\n"
    "`aws events test-event-pattern` does, and prints {\"Result\": true} or\n"
    "{\"Result\": false}.  PATTERN and EVENT are JSON text, or file://PATH to\n"
    "read it from a file (file://- reads standard input).  The event need not\n"
    "carry the envelope fields (id, source, detail-type, ...).\n\n"
    "Exit status: 0 when the test ran (whatever the result); 1 when the\n"
    "pattern is not one EventBridge accepts (InvalidEventPatternException on\n"
    "standard error, with EventBridge's reason) or the event is not a JSON\n"
    "object; 2 on a usage error.  docs/matching.md describes the semantics.\n";

#define MAX_INPUT (16u << 20) /* far above EventBridge's 256 KB event limit */

/* Reads an argument: inline text, or the file named by file://PATH. */
static char *load_arg(const char *what, const char *arg)
{
    if (strncmp(arg, "file://", 7) != 0)
        return strdup(arg);
    const char *path = arg + 7;
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "efc test-event-pattern: cannot read %s %s: %s\n", what, path, strerror(errno));
        return NULL;
    }
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf != NULL) {
        if (n + 1 >= cap) {
            char *nb = cap >= MAX_INPUT ? NULL : realloc(buf, cap * 2);
            if (nb == NULL) {
                fprintf(stderr, "efc test-event-pattern: %s %s is too large\n", what, path);
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - 1 - n, f);
        n += got;
        if (got == 0)
            break;
    }
    if (buf != NULL && ferror(f)) {
        fprintf(stderr, "efc test-event-pattern: cannot read %s %s\n", what, path);
        free(buf);
        buf = NULL;
    }
    if (f != stdin)
        fclose(f);
    if (buf != NULL) {
        buf[n] = '\0';
        if (strlen(buf) != n) {
            fprintf(stderr, "efc test-event-pattern: %s %s contains a NUL byte\n", what, path);
            free(buf);
            buf = NULL;
        }
    }
    return buf;
}

/* json-c accepts single-quoted strings, NaN and Infinity even in strict
 * mode; EventBridge's parser (Jackson) does not.  Outside strings, JSON
 * text has no quote but '"' and no bare word but true, false and null. */
static const char *nonstandard_token(const char *s, size_t *at)
{
    bool in_str = false;
    for (size_t i = 0; s[i]; i++) {
        char c = s[i];
        if (in_str) {
            if (c == '\\' && s[i + 1])
                i++;
            else if (c == '"')
                in_str = false;
            continue;
        }
        if (c == '"') {
            in_str = true;
        } else if (c == '\'') {
            *at = i;
            return "single-quoted string";
        } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
            size_t j = i;
            while ((s[j] >= 'a' && s[j] <= 'z') || (s[j] >= 'A' && s[j] <= 'Z'))
                j++;
            size_t len = j - i;
            bool number_exp = (c == 'e' || c == 'E') && len == 1 && i > 0 && s[i - 1] >= '0' &&
                              s[i - 1] <= '9';
            if (!number_exp && !(len == 4 && strncmp(s + i, "true", 4) == 0) &&
                !(len == 5 && strncmp(s + i, "false", 5) == 0) &&
                !(len == 4 && strncmp(s + i, "null", 4) == 0)) {
                *at = i;
                return "unrecognized token";
            }
            i = j - 1;
        }
    }
    return NULL;
}

static struct json_object *parse_event(const char *text)
{
    size_t at = 0;
    const char *bad = nonstandard_token(text, &at);
    if (bad != NULL) {
        fprintf(stderr, "efc test-event-pattern: the event is not valid JSON: %s at offset %zu\n", bad, at);
        return NULL;
    }
    struct json_tokener *tok = json_tokener_new_ex(1000);
    if (tok == NULL)
        return NULL;
    int flags = JSON_TOKENER_STRICT;
#ifdef JSON_TOKENER_VALIDATE_UTF8
    flags |= JSON_TOKENER_VALIDATE_UTF8;
#endif
    json_tokener_set_flags(tok, flags);
    size_t n = strlen(text);
    struct json_object *ev = json_tokener_parse_ex(tok, text, (int)n);
    enum json_tokener_error err = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    if (ev == NULL || err != json_tokener_success) {
        json_object_put(ev);
        fprintf(stderr, "efc test-event-pattern: the event is not valid JSON: %s at offset %zu\n",
                err == json_tokener_continue ? "unexpected end of text" : json_tokener_error_desc(err), end);
        return NULL;
    }
    if (strspn(text + end, " \t\r\n") != n - end) {
        json_object_put(ev);
        fprintf(stderr, "efc test-event-pattern: the event is not valid JSON: text after it at offset %zu\n", end);
        return NULL;
    }
    if (!json_object_is_type(ev, json_type_object)) {
        json_object_put(ev);
        fprintf(stderr, "efc test-event-pattern: the event must be a JSON object\n");
        return NULL;
    }
    return ev;
}

int cmd_test_event_pattern(int argc, char **argv)
{
    if (cli_wants_help(argc, argv, help))
        return 0;
    const char *pattern_arg = NULL, *event_arg = NULL;
    for (int i = 1; i < argc; i++) {
        const char **slot = NULL;
        const char *val = NULL;
        if (strcmp(argv[i], "--event-pattern") == 0 || strcmp(argv[i], "--event") == 0) {
            slot = argv[i][7] == '-' ? &pattern_arg : &event_arg;
            if (i + 1 >= argc) {
                fprintf(stderr, "efc test-event-pattern: %s needs a value\n\n%s", argv[i], help);
                return 2;
            }
            val = argv[++i];
        } else if (strncmp(argv[i], "--event-pattern=", 16) == 0) {
            slot = &pattern_arg;
            val = argv[i] + 16;
        } else if (strncmp(argv[i], "--event=", 8) == 0) {
            slot = &event_arg;
            val = argv[i] + 8;
        } else {
            fprintf(stderr, "efc test-event-pattern: unexpected argument '%s'\n\n%s", argv[i], help);
            return 2;
        }
        *slot = val;
    }
    if (pattern_arg == NULL || event_arg == NULL) {
        fprintf(stderr, "efc test-event-pattern: both --event-pattern and --event are required\n\n%s", help);
        return 2;
    }

    char *pattern = load_arg("pattern", pattern_arg);
    char *event = pattern ? load_arg("event", event_arg) : NULL;
    int rc = 1;
    struct match_set *set = NULL;
    struct match_scratch *scratch = NULL;
    struct json_object *ev = NULL;
    if (pattern == NULL || event == NULL)
        goto out;

    set = match_set_new();
    if (set == NULL)
        goto oom;
    char reason[1024];
    if (match_set_add_text(set, pattern, 0, reason, sizeof reason) != 0) {
        fprintf(stderr, "InvalidEventPatternException: %s\n", reason);
        goto out;
    }
    ev = parse_event(event);
    if (ev == NULL)
        goto out;
    scratch = match_scratch_new(set);
    if (scratch == NULL)
        goto oom;
    uint32_t id;
    size_t n = match_event(set, scratch, ev, &id, 1);
    if (n == MATCH_ERROR)
        goto oom;
    printf("{\"Result\": %s}\n", n > 0 ? "true" : "false");
    rc = 0;
    goto out;
oom:
    fprintf(stderr, "efc test-event-pattern: out of memory\n");
out:
    json_object_put(ev);
    match_scratch_free(scratch);
    match_set_free(set);
    free(pattern);
    free(event);
    return rc;
}
