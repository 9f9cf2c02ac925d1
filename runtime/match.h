/* match.h — EventBridge event-pattern matching, every rule at once.
 *
 * Owns: deciding which of a set of event patterns (rules) match an event,
 * with Amazon EventBridge's semantics (exact values, prefix, suffix,
 * equals-ignore-case, anything-but in all its forms, numeric, exists, cidr,
 * wildcard, $or, arrays in events with event-ruler's array consistency).
 * Patterns are checked with pattern_validate() (pattern.h) first, so the
 * set only ever holds patterns EventBridge would accept.
 *
 * The whole rule set is compiled into one structure (struct match_set) and
 * an event is matched in one pass over its leaves: each leaf is looked up
 * in hash tables keyed by (field path, value) that name the few sub-rules
 * it could satisfy, and only those are then checked in full.  The cost of
 * matching grows with the size of the event and the number of rules that
 * nearly match it, not with the number of rules.  docs/matching.md has the
 * semantics (with sources), the structure and the cost model.
 *
 * Ownership and threads:
 *   - a match_set owns copies of everything it needs; the pattern objects
 *     passed to match_set_add() stay the caller's.
 *   - match_event() does not modify the set: any number of threads may
 *     match against one set at once, each with its own match_scratch.
 *     Adding rules while another thread matches is not allowed.
 *   - a match_scratch holds the per-event working memory; it may be reused
 *     for any number of events and sets, and grows by itself when the set
 *     it is used with grows.
 *   - the event is only read (never serialized, never modified).
 */
#ifndef EFC_MATCH_H
#define EFC_MATCH_H

#include <stddef.h>
#include <stdint.h>

struct json_object;
struct match_set;
struct match_scratch;

/* Returned by match_event() when it ran out of memory. */
#define MATCH_ERROR ((size_t)-1)

/* An empty set, or NULL when out of memory.  Free with match_set_free(). */
struct match_set *match_set_new(void);
void match_set_free(struct match_set *set);

/* Adds one event pattern under rule_id.  The pattern is validated first:
 * if EventBridge would refuse it, returns -1 and writes the reason
 * ("Event pattern is not valid. Reason: ...") into reason.  Also -1 with
 * "out of memory".  Adding several patterns under one rule_id makes them
 * alternatives (the rule matches when any of them does), as event-ruler's
 * addRule does.  0 on success.  reason may be NULL. */
int match_set_add(struct match_set *set, struct json_object *pattern, uint32_t rule_id,
                  char *reason, size_t reason_size);

/* The same for a pattern given as JSON text (what PutRule receives): also
 * refuses text that is not strict JSON or exceeds the size quota. */
int match_set_add_text(struct match_set *set, const char *pattern_json, uint32_t rule_id,
                       char *reason, size_t reason_size);

/* Number of distinct rule ids in the set, and of sub-rules ($or expanded). */
size_t match_set_rule_count(const struct match_set *set);
size_t match_set_subrule_count(const struct match_set *set);

/* Working memory for match_event(); NULL when out of memory.  set may be
 * NULL (the scratch grows on first use). */
struct match_scratch *match_scratch_new(const struct match_set *set);
void match_scratch_free(struct match_scratch *scratch);

/* Matches one event (a JSON object; the envelope fields need not be
 * present).  Writes the ids of the matching rules into out, ascending and
 * unique, at most cap of them (the smallest ones), and returns how many
 * rules matched in total (which may exceed cap).  A non-object event
 * matches nothing.  Returns MATCH_ERROR when out of memory. */
size_t match_event(const struct match_set *set, struct match_scratch *scratch,
                   const struct json_object *event, uint32_t *out, size_t cap);

#endif /* EFC_MATCH_H */
