/* fuzz_match.c — the EventBridge pattern validator and matcher.
 *
 * The input is a pattern and an event, split at the first newline (a pattern
 * that needs a newline is not interesting: JSON never does).  The validator
 * must answer without a crash, and the matcher's own validation must agree
 * with it; when the pattern is valid it is compiled into a match set (under
 * two rule ids, beside a fixed pattern) and the event (an empty object when
 * there is none) is matched against it, twice with the same answer.
 */
#include <string.h>
#include <json-c/json.h>
#include "engine.h"
#include "fuzz.h"
#include "match.h"
#include "pattern.h"

/* A second, valid rule, so the event is also matched in a set of several. */
static const char other_pattern[] = "{\"source\":[{\"prefix\":\"test.\"}],\"detail\":{\"n\":[{\"numeric\":[\">\",0]}]}}";

static void match_one(const char *pattern, struct json_object *event) {
  struct match_set *set = match_set_new();
  FUZZ_REQUIRE(set, "out of memory");
  char reason[512];
  FUZZ_REQUIRE(match_set_add_text(set, pattern, 1, reason, sizeof reason) == 0,
               "pattern_validate_text accepts what match_set_add_text refuses: %s", reason);
  FUZZ_REQUIRE(match_set_add_text(set, pattern, 3, reason, sizeof reason) == 0, "a valid pattern refused the second time: %s", reason);
  FUZZ_REQUIRE(match_set_add_text(set, other_pattern, 2, reason, sizeof reason) == 0, "the fixed pattern is refused: %s", reason);
  struct match_scratch *scratch = match_scratch_new(set);
  FUZZ_REQUIRE(scratch, "out of memory");
  uint32_t ids[4];
  size_t n = match_event(set, scratch, event, ids, 4);
  FUZZ_REQUIRE(n != MATCH_ERROR && n <= 3, "match_event returned %zu", n);
  FUZZ_REQUIRE(match_event(set, scratch, event, ids, 4) == n, "matching the same event twice gives two answers");
  match_scratch_free(scratch);
  match_set_free(set);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const uint8_t *nl = memchr(data, '\n', size);
  size_t plen = nl ? (size_t)(nl - data) : size;
  char *pattern = malloc(plen + 1);
  FUZZ_REQUIRE(pattern, "out of memory");
  memcpy(pattern, data, plen);
  pattern[plen] = 0;
  char reason[512];
  int valid = pattern_validate_text(pattern, reason, sizeof reason) == 0;
  if (!valid) {
    struct match_set *set = match_set_new();
    FUZZ_REQUIRE(set && match_set_add_text(set, pattern, 1, reason, sizeof reason) != 0,
                 "match_set_add_text accepts what pattern_validate_text refuses");
    match_set_free(set);
  } else if (!nl) {
    struct json_object *event = json_object_new_object();
    match_one(pattern, event);
    json_object_put(event);
  } else {
    /* The event is parsed as the hosts parse input (depth bound). */
    struct json_tokener *tok = json_tokener_new_ex(ENGINE_MAX_DEPTH);
    FUZZ_REQUIRE(tok, "out of memory");
    struct json_object *event = json_tokener_parse_ex(tok, (const char *)nl + 1, (int)(size - plen - 1));
    if (event && json_tokener_get_error(tok) == json_tokener_success) match_one(pattern, event);
    json_object_put(event);
    json_tokener_free(tok);
  }
  free(pattern);
  return 0;
}
