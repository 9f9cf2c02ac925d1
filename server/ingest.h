/* ingest.h — POST /events: events through the stored flows.
 *
 * The API-endpoint trigger of the Event Store: a client posts one event or
 * a PutEvents-shaped batch, and the server runs it through the flows the
 * store holds, with the runtime's engine, as EventBridge and the efc
 * runtime would in AWS.  The answer is PutEvents' (FailedEntryCount and one
 * result per entry, in order), plus what the flows emitted while the
 * request ran (see docs/api.md).
 *
 * The engine is compiled from the store (catalog_image) on first use and
 * again whenever the store's generation moves; between changes every
 * request reuses it.  One engine serves every thread, one request at a
 * time (a mutex): flows keep state per key, and running a request's events
 * in order, in one state transaction, is what makes windows count each
 * event once.  The state store is the caller's (SQLite file or memory); a
 * request's state changes commit together or not at all.
 */
#ifndef EFC_INGEST_H
#define EFC_INGEST_H

#include <stddef.h>
#include <json-c/json.h>
#include "evstore.h"
#include "state.h"

#define INGEST_MAX_ENTRIES 10     /* PutEvents: entries per request */

struct ingest;

struct ingest_options {
  int hop_limit;                  /* 0: the engine's default */
  const char *account, *region;   /* of events without them; NULL: the engine's defaults */
  const struct views_config *views;   /* engine_options.views (borrowed) */
};

/* Borrows store and state (both must outlive it).  NULL when out of memory. */
struct ingest *ingest_new(struct evstore *store, struct state_store *state, const struct ingest_options *opt);
void ingest_free(struct ingest *g);

/* Runs a parsed request body (borrowed).  Returns the HTTP status: 200
 * with *response the PutEvents answer; 400 (the request as a whole is not
 * PutEvents-shaped) or 500 (the store's flows cannot run, or the state
 * store failed) with a message. *response is NULL then. */
int ingest_run(struct ingest *g, struct json_object *body, struct json_object **response, char *message,
               size_t message_size);

#endif /* EFC_INGEST_H */
