/* pattern.h — the EventBridge event-pattern validator.
 *
 * Owns: deciding whether Amazon EventBridge would accept an event pattern
 * (PutRule / TestEventPattern), and saying why not in the words EventBridge
 * uses for InvalidEventPatternException ("Event pattern is not valid.
 * Reason: ...").  Shared by the compiler, which checks every pattern it
 * generates, and by the matcher, which only ever sees validated patterns.
 * It does not match events.
 *
 * Follows, in this order of authority:
 *   1. the Amazon EventBridge User Guide: "Event patterns", "Event pattern
 *      syntax", "Comparison operators for use in event patterns" / "Content
 *      filtering in Amazon EventBridge event patterns", "Amazon EventBridge
 *      quotas";
 *   2. aws/event-ruler (JsonRuleCompiler.java, ComparableNumber.java,
 *      CIDR.java, Range.java, input/WildcardParser.java, Constants.java),
 *      the library EventBridge evaluates patterns with, for every rule the
 *      guide leaves unstated and for the reason strings.
 * Where the two differ, the guide wins; each such place, and each place
 * where this validator is deliberately stricter than EventBridge, is marked
 * "DIVERGENCE" in pattern_validate.c and listed in docs/patterns.md.
 *
 * Numbers are judged by their JSON text.  A double that json-c parsed keeps
 * its original text; one built with json_object_new_double() is printed with
 * 17 significant digits (0.1 -> 0.10000000000000001) and will then fail the
 * six-decimal rule, so build numeric operands with json_object_new_int64()
 * or json_object_new_double_s(value, "0.1").
 */
#ifndef EFC_PATTERN_H
#define EFC_PATTERN_H

#include <stddef.h>

struct json_object;

/* Default EventBridge quota "Event pattern size": 2,048 characters
 * (adjustable per account).  Counted in UTF-16 code units, as a Java
 * String.length() would count them. */
#define PATTERN_MAX_CHARS 2048

/* Nesting bound (objects and arrays) for the parser and the validator.
 * EventBridge documents none; 1000 is the default nesting limit of the
 * Jackson parser event-ruler uses, and no pattern within PATTERN_MAX_CHARS
 * can get near it. */
#define PATTERN_MAX_DEPTH 1000

/* event-ruler expands every $or into separate sub-rules; more than this many
 * is refused ("rule combinations").  Not in the User Guide: see
 * docs/patterns.md. */
#define PATTERN_MAX_OR_COMBINATIONS 1000

/* Serialize a pattern with these json-c flags to submit it: the size limit
 * of pattern_validate() is measured on this form.  (Uses <json-c/json.h>.) */
#define PATTERN_SERIALIZE_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* 0 if EventBridge would accept the pattern; else -1 and a one-line reason. */
int pattern_validate(struct json_object *pattern, char *reason, size_t reason_size);

/* Same for a pattern given as text (what PutRule receives); also rejects
 * text that is not strict RFC 8259 JSON, or is longer than
 * PATTERN_MAX_CHARS.  json_text must be NUL-terminated. */
int pattern_validate_text(const char *json_text, char *reason, size_t reason_size);

#endif /* EFC_PATTERN_H */
