/* handlers.h — the Event Store Wrapper's endpoints, independent of HTTP.
 *
 * A transport (server/http.c with libmicrohttpd today; an API Gateway
 * proxy event inside Lambda later) turns what it receives into a struct
 * api_request, calls api_handle(), and sends the struct api_response back.
 * Everything else is here: routing, authentication, ids, limits, JSON,
 * errors.  Every answer is JSON; every error is
 *     {"error": "<code>", "message": "<what went wrong>"}
 * with the codes of API_ERRORS (compile errors add "diagnostics").
 *
 * api_handle() may be called from several threads at once.
 */
#ifndef EFC_HANDLERS_H
#define EFC_HANDLERS_H

#include <stddef.h>
#include "evstore.h"
#include "state.h"

#define API_DEFAULT_MAX_BODY (1024 * 1024)   /* bytes of a request body */
#define API_MAX_JSON_DEPTH   64              /* nesting of a JSON body */

/* The endpoints, declared once: X(method, path, handler, body, summary).
 * A path segment {id} is an id: 1 to 128 of A-Z a-z 0-9 _ . - not starting
 * with '.'.  `body` is what the request carries, and so which Content-Type
 * it must have (415 otherwise): NONE, JSON (application/json), or FLOW
 * (application/json, or the flow's source as text/x-efc).  None of them is
 * a type a web page may send across sites without asking first. */
#define API_ROUTES(X)                                                                             \
  X(GET,    "/health",     health,      NONE, "the server is up, and what the store holds")       \
  X(GET,    "/events",     list_events, NONE, "every event: schema, routing configuration, data") \
  X(POST,   "/events",     put_events,  JSON, "run events through the stored flows (PutEvents)") \
  X(GET,    "/event/{id}", get_event,   NONE, "one event")                                        \
  X(GET,    "/flows",      list_flows,  NONE, "every flow")                                       \
  X(POST,   "/flow",       create_flow, FLOW, "compile and store a new flow")                     \
  X(GET,    "/flow/{id}",  get_flow,    NONE, "one flow")                                         \
  X(DELETE, "/flow/{id}",  delete_flow, NONE, "delete a flow and its rules")                      \
  X(POST,   "/route/{id}", set_route,   JSON, "replace an event's routing configuration")

#define API_FLOW_SOURCE_TYPE "text/x-efc"   /* POST /flow: the source as the body */

/* Error codes, declared once: X(name, HTTP status, code). */
#define API_ERRORS(X)                                              \
  X(BAD_REQUEST,        400, "bad_request")                        \
  X(COMPILE_ERROR,      400, "compile_error")                      \
  X(UNAUTHORIZED,       401, "unauthorized")                       \
  X(FORBIDDEN,          403, "forbidden")                          \
  X(NOT_FOUND,          404, "not_found")                          \
  X(METHOD_NOT_ALLOWED, 405, "method_not_allowed")                 \
  X(CONFLICT,           409, "conflict")                           \
  X(PAYLOAD_TOO_LARGE,  413, "payload_too_large")                  \
  X(UNSUPPORTED_MEDIA_TYPE, 415, "unsupported_media_type")         \
  X(MISDIRECTED,        421, "misdirected_request")                \
  X(INTERNAL,           500, "internal")                           \
  X(UNAVAILABLE,        503, "unavailable")

enum api_error {
#define API_ERROR_ENUM(name, status, code) API_##name,
  API_ERRORS(API_ERROR_ENUM)
#undef API_ERROR_ENUM
};

struct api_header {
  const char *name, *value;       /* names compare case-insensitively */
};

struct api_request {
  const char *method;             /* "GET", "POST", ... */
  const char *path;               /* percent-decoded, without the query: "/flow/timecard" */
  const char *query;              /* the raw query string after '?', or NULL */
  const struct api_header *headers;
  size_t nheaders;
  const char *body;               /* body_size bytes, not NUL-terminated */
  size_t body_size;
  /* Set by transports that can (all 0/NULL is fine for the rest): */
  size_t path_size;               /* bytes of path, which may hold a decoded %00; 0: strlen(path) */
  const char *server_host;        /* "HOST:PORT" the request arrived on: Host and Origin must name it
                                   * (origin.h); NULL: no Host check (a gateway in front did it) */
  int loopback;                   /* server_host is loopback: localhost:PORT names it too */
};

struct api_response {
  int status;
  const char *content_type;       /* a static string */
  char *body;                     /* malloc'd (api_response_free) */
  size_t body_size;
  char allow[64];                 /* 405: the methods the path takes ("GET, POST") */
  char location[200];             /* 201: the new resource, e.g. "/flow/idle" */
  int www_authenticate;           /* 401: send WWW-Authenticate: Bearer */
};

struct api_options {
  const char *token;              /* NULL: no authentication; else "Authorization: Bearer TOKEN" */
  size_t max_body;                /* 0: API_DEFAULT_MAX_BODY */
  int hop_limit;                  /* POST /events; 0: the engine's default */
  const struct views_config *views;   /* POST /events: where views read blobs and write indexes
                                         (borrowed); NULL: they refuse */
  const char *const *allow_hosts; /* more names Host and Origin may give (--allow-host), borrowed */
  size_t nallow_hosts;
};

struct api;

/* Borrows store and state (they must outlive the api).  NULL when out of
 * memory. */
struct api *api_new(struct evstore *store, struct state_store *state, const struct api_options *opt);
void api_free(struct api *api);

void api_handle(struct api *api, const struct api_request *rq, struct api_response *rs);

/* What can be decided from the request line and the headers alone, in this
 * order: Host (421) and Origin (403), the token (401), the path and method
 * (404, 405), the id (400), the Content-Type (415).  A transport calls it
 * before it reads any body byte (rq->body is not looked at), so a client
 * refused learns nothing from, and costs nothing for, a body it sends.
 * 1: go on; 0: *rs is the answer.  api_handle() runs it too. */
int api_admit(struct api *api, const struct api_request *rq, struct api_response *rs);
void api_response_free(struct api_response *rs);

/* An error response, for transports that refuse a request themselves (a
 * body over the limit, a malformed request). */
void api_error_response(struct api_response *rs, enum api_error error, const char *fmt, ...)
  __attribute__((format(printf, 3, 4)));

size_t api_max_body(const struct api *api);

#endif /* EFC_HANDLERS_H */
