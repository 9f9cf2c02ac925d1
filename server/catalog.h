/* catalog.h — what the Event Store's items mean together.
 *
 * The store keeps each event and each flow as its own item, with its
 * declaration's source text in Data ("source", plus the "imports" and the
 * user declarations it "requires", see compiler/emit_store.c).  The catalog
 * joins those texts back into one program, checks and compiles it with the
 * compiler library, and works out which items an operation changes:
 *
 *   catalog_add_flow      POST /flow: a new flow (and the events it
 *                         declares), compiled against the stored events;
 *   catalog_remove_flow   DELETE /flow/{id};
 *   catalog_set_routing   POST /route/{event-id};
 *   catalog_load          `efc store load`: the items of an efc compile
 *                         output, merged with what is stored;
 *   catalog_image         the bytecode image POST /events runs.
 *
 * Every function here is pure: it reads a snapshot of the items (a list)
 * and describes the writes (struct catalog_change); the caller applies them
 * in one store transaction (catalog_apply).  So the same code runs against
 * any backend and is tested without one.
 *
 * One invariant holds for a store only changed through the catalog: its
 * items compile together.  catalog_add_flow and catalog_load refuse a
 * change that would break it, with the compiler's diagnostics.
 *
 * Routing.  An event's RoutingConfig lists its rules, one per (flow or
 * route, event), each with its EventBridge pattern.  The stored patterns
 * are the ones that count: catalog_image replaces the compiled pattern of a
 * flow's rule with the stored one, and a flow with no rule in an event's
 * RoutingConfig does not receive that event.  Adding a flow adds its rules;
 * removing it removes them; catalog_set_routing replaces them.  Routes are
 * not stored as items (the store has events and flows), so their rules are
 * kept as data but not run by efc serve.
 */
#ifndef EFC_CATALOG_H
#define EFC_CATALOG_H

#include <stddef.h>
#include <json-c/json.h>
#include "diag.h"
#include "evstore.h"
#include "image.h"

#define CATALOG_ID_MAX     128
#define CATALOG_APP_MAX    40
#define CATALOG_DEFAULT_APP "api"
#define CATALOG_REQUEST_PATH "request.flow"   /* the file name diagnostics give a posted flow */
/* Serialising an attribute: the flags emit_store.c uses, so text round trips. */
#define CATALOG_TEXT_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* Outcomes, declared once: X(name, HTTP status). */
#define CATALOG_OUTCOMES(X)                                               \
  X(OK,        200)                                                       \
  X(INVALID,   400)   /* the request is wrong: message says why */        \
  X(COMPILE,   400)   /* the source does not compile: see diag */         \
  X(NOT_FOUND, 404)                                                       \
  X(EXISTS,    409)                                                       \
  X(INTERNAL,  500)   /* store or memory failure */

enum catalog_outcome {
#define CATALOG_OUTCOME_ENUM(name, status) CATALOG_##name,
  CATALOG_OUTCOMES(CATALOG_OUTCOME_ENUM)
#undef CATALOG_OUTCOME_ENUM
};

struct catalog_result {
  enum catalog_outcome outcome;
  char message[512];
  struct diag diag;          /* CATALOG_COMPILE: the diagnostics */
};

/* The writes an operation needs. */
struct catalog_change {
  struct evstore_list puts;       /* written whole, replacing */
  struct evstore_list deletes;    /* only pk and sk are used */
  struct evstore_list creates;    /* written only if absent (EXISTS otherwise) */
};

void catalog_result_init(struct catalog_result *r);
void catalog_result_free(struct catalog_result *r);
void catalog_change_free(struct catalog_change *c);
int catalog_http_status(enum catalog_outcome outcome);

/* An id of the HTTP API: 1..CATALOG_ID_MAX of [A-Za-z0-9_.-], not starting
 * with '.' (so never "." or ".."). */
int catalog_valid_id(const char *id);

/* Parses JSON text: strict RFC 8259, valid UTF-8, at most `depth` levels,
 * nothing after the value.  NULL with a reason otherwise. */
struct json_object *catalog_parse_json(const char *text, size_t length, int depth, char *why, size_t why_size);

/* POST /flow: `source` (UTF-8, `length` bytes) declares exactly one flow
 * and may import modules and declare new events, types and stages.  On OK,
 * *flow_name is the flow's name (malloc'd) and change holds the flow item
 * and the new events (creates) and the routing of the events it listens
 * to and emits (puts). */
enum catalog_outcome catalog_add_flow(const struct evstore_list *items, const char *source, size_t length,
                                      const char *app, struct catalog_change *change, char **flow_name,
                                      struct catalog_result *r);

/* DELETE /flow/{id}: the flow item and its rules in the events' routing. */
enum catalog_outcome catalog_remove_flow(const struct evstore_list *items, const char *flow,
                                         struct catalog_change *change, struct catalog_result *r);

/* POST /route/{event-id}: replaces the event's rules with those of
 * `routing` (a RoutingConfig object: see docs/api.md for what is checked). */
enum catalog_outcome catalog_set_routing(const struct evstore_list *items, const char *event,
                                         struct json_object *routing, struct catalog_change *change,
                                         struct catalog_result *r);

/* `efc store load`: `incoming` (from evstore_read_file) replaces the items
 * of the same keys; an event's routing keeps the stored rules of entries
 * the incoming item does not mention.  The result must compile. */
enum catalog_outcome catalog_load(const struct evstore_list *items, const struct evstore_list *incoming,
                                  struct catalog_change *change, struct catalog_result *r);

/* The image of every stored flow, with the stored patterns (see the top of
 * the file).  *image is NULL (and OK) when the store has no flow. */
enum catalog_outcome catalog_image(const struct evstore_list *items, struct image **image, struct catalog_result *r);

/* Applies a change inside a store transaction. */
enum evstore_status catalog_apply(struct evstore_txn *txn, const struct catalog_change *change);

/* The diagnostics as JSON: [{"file", "line", "column", "endLine",
 * "endColumn", "severity", "message", "hint"?}], in position order. */
struct json_object *catalog_diagnostics_json(const struct diag *d);

#endif /* EFC_CATALOG_H */
