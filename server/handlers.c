/* handlers.c — routing, authentication and the endpoints of the Event
 * Store Wrapper (see handlers.h and docs/api.md).
 *
 * Reads go straight to the store.  Writes let the catalog work out the
 * change (compiling a posted flow against the stored events) from a
 * snapshot of the items, outside the store's writer, and apply it in one
 * short transaction that checks the snapshot still holds (run_write).  So
 * a client told "created" or "deleted" can rely on it, concurrent writers
 * never see each other half way, and a long compile holds up no other
 * write.
 *
 * Every request passes api_admit() first (Host, Origin, token, route, id,
 * Content-Type): transports call it before reading a body.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <json-c/json.h>
#include "catalog.h"
#include "handlers.h"
#include "ingest.h"
#include "origin.h"
#include "utf8.h"

#define RESPONSE_FLAGS (JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE)

struct api {
  struct evstore *store;
  struct api_options opt;
  struct ingest *ingest;
};

/* What a handler sees: the request, its {id} (validated), the response. */
struct call {
  struct api *api;
  const struct api_request *rq;
  const char *id;
  struct api_response *rs;
};

/* ---- responses ---------------------------------------------------------- */

static const struct { int status; const char *code; } error_table[] = {
#define API_ERROR_ROW(name, status, code) { status, code },
  API_ERRORS(API_ERROR_ROW)
#undef API_ERROR_ROW
};

void api_response_free(struct api_response *rs) {
  free(rs->body);
  memset(rs, 0, sizeof *rs);
}

/* Takes ownership of o. */
static void respond_json(struct api_response *rs, int status, struct json_object *o) {
  const char *text = json_object_to_json_string_ext(o, RESPONSE_FLAGS);
  size_t n = strlen(text);
  free(rs->body);
  rs->body = malloc(n + 2);
  if (rs->body) {
    memcpy(rs->body, text, n);
    rs->body[n] = '\n';
    rs->body[n + 1] = 0;
    rs->body_size = n + 1;
  } else {
    rs->body_size = 0;
    status = 500;
  }
  rs->status = status;
  rs->content_type = "application/json";
  json_object_put(o);
}

static struct json_object *error_object(enum api_error error, const char *message) {
  struct json_object *o = json_object_new_object();
  json_object_object_add(o, "error", json_object_new_string(error_table[error].code));
  json_object_object_add(o, "message", json_object_new_string(message));
  return o;
}

static void verror(struct api_response *rs, enum api_error error, const char *fmt, va_list ap) {
  char message[1024];
  vsnprintf(message, sizeof message, fmt, ap);
  respond_json(rs, error_table[error].status, error_object(error, message));
}

void api_error_response(struct api_response *rs, enum api_error error, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  verror(rs, error, fmt, ap);
  va_end(ap);
}

static void store_failed(struct api_response *rs, enum evstore_status s) {
  if (s == EVSTORE_EXISTS || s == EVSTORE_NOT_FOUND) {
    api_error_response(rs, s == EVSTORE_EXISTS ? API_CONFLICT : API_NOT_FOUND, "%s", evstore_error());
    return;
  }
  if (s == EVSTORE_INVALID) {   /* an item the request made is one the store cannot hold (e.g. over 400 KB) */
    api_error_response(rs, API_BAD_REQUEST, "the event store cannot hold it: %s", evstore_error());
    return;
  }
  api_error_response(rs, s == EVSTORE_BUSY ? API_UNAVAILABLE : API_INTERNAL, "the event store failed: %s (%s)",
                     evstore_error(), evstore_status_name(s));
}

/* A catalog outcome other than OK, as the response. */
static void catalog_failed(struct api_response *rs, struct catalog_result *r) {
  if (r->outcome == CATALOG_COMPILE) {
    struct json_object *o = error_object(API_COMPILE_ERROR, r->message);
    json_object_object_add(o, "diagnostics", catalog_diagnostics_json(&r->diag));
    respond_json(rs, 400, o);
    return;
  }
  enum api_error e = r->outcome == CATALOG_NOT_FOUND ? API_NOT_FOUND : r->outcome == CATALOG_EXISTS ? API_CONFLICT
                   : r->outcome == CATALOG_INVALID ? API_BAD_REQUEST : API_INTERNAL;
  api_error_response(rs, e, "%s", r->message);
}

/* ---- request helpers ---------------------------------------------------- */

static const char *header(const struct api_request *rq, const char *name) {
  for (size_t i = 0; i < rq->nheaders; i++)
    if (rq->headers[i].name && strcasecmp(rq->headers[i].name, name) == 0) return rq->headers[i].value;
  return NULL;
}

/* Compares in time independent of where the strings differ. */
static int same_secret(const char *a, const char *b) {
  size_t na = strlen(a), nb = strlen(b);
  unsigned char diff = (unsigned char)(na != nb);
  for (size_t i = 0; i < nb; i++) diff |= (unsigned char)(a[i < na ? i : 0] ^ b[i]);
  return diff == 0;
}

static int authorized(const struct api *api, const struct api_request *rq) {
  if (!api->opt.token) return 1;
  const char *h = header(rq, "Authorization");
  if (!h || strncasecmp(h, "Bearer ", 7) != 0) return 0;
  h += 7;
  while (*h == ' ') h++;
  return same_secret(h, api->opt.token);
}

/* Is the request's Content-Type `type` (parameters such as charset aside)? */
static int content_type_is(const struct api_request *rq, const char *type) {
  const char *ct = header(rq, "Content-Type");
  size_t n = strlen(type);
  return ct && strncasecmp(ct, type, n) == 0 && (ct[n] == 0 || ct[n] == ';' || ct[n] == ' ');
}

static int is_json(const struct api_request *rq) { return content_type_is(rq, "application/json"); }

/* Strict UTF-8, no NUL (a flow's source is text). */
static int valid_text(const char *s, size_t n) {
  return memchr(s, 0, n) == NULL && utf8_invalid_at(s, n) < 0;
}

/* The body as JSON, or NULL after answering 400. */
static struct json_object *json_body(struct call *c) {
  char why[300];
  if (c->rq->body_size == 0) {
    api_error_response(c->rs, API_BAD_REQUEST, "the request needs a JSON body");
    return NULL;
  }
  /* json-c lets UTF-8-encoded surrogates through: check the bytes first. */
  if (!valid_text(c->rq->body, c->rq->body_size)) {
    api_error_response(c->rs, API_BAD_REQUEST, "the body is not valid JSON: it is not valid UTF-8");
    return NULL;
  }
  struct json_object *o = catalog_parse_json(c->rq->body, c->rq->body_size, API_MAX_JSON_DEPTH, why, sizeof why);
  if (!o) api_error_response(c->rs, API_BAD_REQUEST, "the body is not valid JSON: %s", why);
  return o;
}

/* The value of `name` in the raw query string (NULL if absent; "" if bare). */
static const char *query_value(const char *query, const char *name, char *buf, size_t size) {
  size_t n = strlen(name);
  for (const char *p = query; p && *p;) {
    const char *end = strchr(p, '&');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    if (len >= n && strncmp(p, name, n) == 0 && (len == n || p[n] == '=')) {
      size_t v = len > n ? len - n - 1 : 0;
      if (v >= size) v = size - 1;
      memcpy(buf, p + n + (len > n), v);
      buf[v] = 0;
      return buf;
    }
    p = end ? end + 1 : NULL;
  }
  return NULL;
}

static int valid_app(const char *app) {
  size_t n = strlen(app);
  return n >= 1 && n <= CATALOG_APP_MAX &&
         strspn(app, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

/* ---- item objects --------------------------------------------------------- */

static void add_parsed(struct json_object *o, const char *name, const char *text) {
  char why[200];
  if (!text) return;
  struct json_object *v = catalog_parse_json(text, strlen(text), 1000, why, sizeof why);
  json_object_object_add(o, name, v ? v : json_object_new_string(text));
}

/* An event: {"eventId", "schema", "routingConfig", "data"}; a flow:
 * {"flowId", "data"} — each attribute parsed. */
static struct json_object *item_object(const struct evstore_item *it) {
  struct json_object *o = json_object_new_object();
  int event = strcmp(it->pk, EVSTORE_PK_EVENTS) == 0;
  json_object_object_add(o, event ? "eventId" : "flowId", json_object_new_string(it->sk));
  add_parsed(o, "schema", it->schema);
  add_parsed(o, "routingConfig", it->routing);
  add_parsed(o, "data", it->data);
  return o;
}

static struct json_object *names_of(const struct evstore_list *l) {
  struct json_object *a = json_object_new_array();
  for (size_t i = 0; i < l->count; i++) json_object_array_add(a, json_object_new_string(l->items[i].sk));
  return a;
}

/* ---- reads ------------------------------------------------------------------ */

static void list_items(struct call *c, const char *pk) {
  struct evstore_list l = { 0 };
  enum evstore_status s = evstore_list(c->api->store, pk, &l);
  if (s != EVSTORE_OK) {
    evstore_list_free(&l);
    store_failed(c->rs, s);
    return;
  }
  struct json_object *a = json_object_new_array_ext((int)l.count);
  for (size_t i = 0; i < l.count; i++) json_object_array_add(a, item_object(&l.items[i]));
  evstore_list_free(&l);
  respond_json(c->rs, 200, a);
}

static void get_item(struct call *c, const char *pk) {
  struct evstore_item it;
  enum evstore_status s = evstore_get(c->api->store, pk, c->id, &it);
  if (s == EVSTORE_NOT_FOUND) {
    api_error_response(c->rs, API_NOT_FOUND, "no %s `%s`", strcmp(pk, EVSTORE_PK_FLOW) == 0 ? "flow" : "event", c->id);
  } else if (s != EVSTORE_OK) {
    store_failed(c->rs, s);
  } else {
    respond_json(c->rs, 200, item_object(&it));
    evstore_item_free(&it);
  }
}

static void handle_health(struct call *c) {
  struct evstore_list l = { 0 };
  int64_t generation = 0;
  enum evstore_status s = evstore_list(c->api->store, NULL, &l);
  if (s == EVSTORE_OK) s = evstore_generation(c->api->store, &generation);
  if (s != EVSTORE_OK) {
    evstore_list_free(&l);
    store_failed(c->rs, s);
    return;
  }
  int events = 0, flows = 0;
  for (size_t i = 0; i < l.count; i++) {
    if (strcmp(l.items[i].pk, EVSTORE_PK_EVENTS) == 0) events++;
    else flows++;
  }
  evstore_list_free(&l);
  struct json_object *o = json_object_new_object();
  json_object_object_add(o, "status", json_object_new_string("ok"));
  json_object_object_add(o, "store", json_object_new_string(evstore_backend_name(c->api->store)));
  json_object_object_add(o, "events", json_object_new_int(events));
  json_object_object_add(o, "flows", json_object_new_int(flows));
  json_object_object_add(o, "generation", json_object_new_int64(generation));
  respond_json(c->rs, 200, o);
}

static void handle_list_events(struct call *c) { list_items(c, EVSTORE_PK_EVENTS); }
static void handle_list_flows(struct call *c) { list_items(c, EVSTORE_PK_FLOW); }
static void handle_get_event(struct call *c) { get_item(c, EVSTORE_PK_EVENTS); }
static void handle_get_flow(struct call *c) { get_item(c, EVSTORE_PK_FLOW); }

/* ---- writes ----------------------------------------------------------------- */

/* One write (POST /flow, DELETE /flow, POST /route).  The catalog works out
 * the change from a snapshot of the items read outside any transaction
 * (compiling a posted flow may take long: the store's writer is not held
 * meanwhile, so other writes go on), then a short transaction checks that
 * the items are still the snapshot's and applies the change.  If another
 * write came in between, the work is done again from a new snapshot; after
 * WRITE_TRIES such races it is done inside the transaction, so every write
 * ends.  Either way the change applied was worked out from the items it
 * replaces. */
#define WRITE_TRIES 3

struct write {
  enum catalog_outcome (*operation)(struct write *w, const struct evstore_list *items);
  struct catalog_change change;
  struct catalog_result result;
  const struct evstore_list *snapshot;   /* what change was worked out from; NULL: work in the transaction */
  int stale;                             /* the store moved past snapshot */
  /* operands and results of the operations */
  const char *id, *source, *app;
  size_t source_size;
  struct json_object *routing;
  char *flow_name;
};

/* Runs the operation on items, from a clean change and result. */
static enum catalog_outcome write_work(struct write *w, const struct evstore_list *items) {
  catalog_change_free(&w->change);
  catalog_result_free(&w->result);
  catalog_result_init(&w->result);
  free(w->flow_name);
  w->flow_name = NULL;
  return w->operation(w, items);
}

static int same_text(const char *a, const char *b) { return a == b || (a && b && strcmp(a, b) == 0); }

static int same_items(const struct evstore_list *a, const struct evstore_list *b) {
  if (a->count != b->count) return 0;
  for (size_t i = 0; i < a->count; i++) {
    const struct evstore_item *x = &a->items[i], *y = &b->items[i];
    if (!same_text(x->pk, y->pk) || !same_text(x->sk, y->sk) || !same_text(x->schema, y->schema) ||
        !same_text(x->routing, y->routing) || !same_text(x->data, y->data))
      return 0;
  }
  return 1;
}

/* The transaction's function; it may run more than once (evstore.h). */
static enum evstore_status write_txn(struct evstore_txn *txn, void *ctx) {
  struct write *w = ctx;
  struct evstore_list items = { 0 };
  enum evstore_status s = evstore_txn_list(txn, NULL, &items);
  if (s == EVSTORE_OK && w->snapshot && !same_items(&items, w->snapshot)) {
    w->stale = 1;
    s = EVSTORE_INVALID;   /* roll back; run_write starts over */
  } else if (s == EVSTORE_OK && !w->snapshot && write_work(w, &items) != CATALOG_OK) {
    s = EVSTORE_INVALID;   /* roll back; see result */
  }
  if (s == EVSTORE_OK) s = catalog_apply(txn, &w->change);
  evstore_list_free(&items);
  return s;
}

/* Runs w; on failure answers and returns -1. */
static int run_write(struct call *c, struct write *w) {
  catalog_result_init(&w->result);
  enum evstore_status s = EVSTORE_OK;
  for (int attempt = 0;; attempt++) {
    struct evstore_list snapshot = { 0 };
    w->snapshot = NULL;
    w->stale = 0;
    if (attempt < WRITE_TRIES) {
      if ((s = evstore_list(c->api->store, NULL, &snapshot)) != EVSTORE_OK) {
        evstore_list_free(&snapshot);
        break;
      }
      enum catalog_outcome outcome = write_work(w, &snapshot);
      w->snapshot = &snapshot;
      if (outcome != CATALOG_OK) {   /* refused on a committed state: no need of the writer */
        evstore_list_free(&snapshot);
        catalog_failed(c->rs, &w->result);
        return -1;
      }
    }
    s = evstore_transact(c->api->store, write_txn, w);
    evstore_list_free(&snapshot);
    w->snapshot = NULL;
    if (!w->stale) break;
  }
  if (s == EVSTORE_OK) return 0;
  if (w->result.outcome != CATALOG_OK) catalog_failed(c->rs, &w->result);
  else store_failed(c->rs, s);
  return -1;
}

static void write_free(struct write *w) {
  catalog_change_free(&w->change);
  catalog_result_free(&w->result);
  free(w->flow_name);
}

static enum catalog_outcome op_add_flow(struct write *w, const struct evstore_list *items) {
  return catalog_add_flow(items, w->source, w->source_size, w->app, &w->change, &w->flow_name, &w->result);
}

static enum catalog_outcome op_remove_flow(struct write *w, const struct evstore_list *items) {
  return catalog_remove_flow(items, w->id, &w->change, &w->result);
}

static enum catalog_outcome op_set_routing(struct write *w, const struct evstore_list *items) {
  return catalog_set_routing(items, w->id, w->routing, &w->change, &w->result);
}

static void handle_create_flow(struct call *c) {
  struct write w = { .operation = op_add_flow, .app = CATALOG_DEFAULT_APP };
  char app[CATALOG_APP_MAX + 2];
  struct json_object *body = NULL;
  if (query_value(c->rq->query, "app", app, sizeof app)) w.app = app;
  if (is_json(c->rq)) {
    if (!(body = json_body(c))) return;
    if (!json_object_is_type(body, json_type_object)) {
      api_error_response(c->rs, API_BAD_REQUEST, "the body must be a flow object: {\"source\": \"flow ... { ... }\"}");
      json_object_put(body);
      return;
    }
    json_object_object_foreach(body, key, value) {
      if (strcmp(key, "source") == 0 && json_object_is_type(value, json_type_string)) {
        w.source = json_object_get_string(value);
        w.source_size = (size_t)json_object_get_string_len(value);
      } else if (strcmp(key, "app") == 0 && json_object_is_type(value, json_type_string)) {
        w.app = json_object_get_string(value);
      } else {
        api_error_response(c->rs, API_BAD_REQUEST, "a flow object has \"source\" (string) and \"app\" (string); "
                           "\"%.64s\" is not one of them, or not a string", key);
        json_object_put(body);
        return;
      }
    }
    if (!w.source) {
      api_error_response(c->rs, API_BAD_REQUEST, "the flow object needs \"source\": the flow's efc source");
      json_object_put(body);
      return;
    }
  } else {
    w.source = c->rq->body;
    w.source_size = c->rq->body_size;
  }
  if (!valid_app(w.app)) {
    api_error_response(c->rs, API_BAD_REQUEST, "app must be 1 to %d of A-Z a-z 0-9 _ -", CATALOG_APP_MAX);
  } else if (w.source_size == 0) {
    api_error_response(c->rs, API_BAD_REQUEST, "the request needs the flow's source as its body (" API_FLOW_SOURCE_TYPE "), or "
                       "{\"source\": ...} (application/json)");
  } else if (!valid_text(w.source, w.source_size)) {
    api_error_response(c->rs, API_BAD_REQUEST, "the flow's source is not valid UTF-8 text");
  } else if (run_write(c, &w) == 0) {
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "flowId", json_object_new_string(w.flow_name));
    struct evstore_list events = { 0 };
    for (size_t i = 0; i < w.change.creates.count; i++)
      if (strcmp(w.change.creates.items[i].pk, EVSTORE_PK_EVENTS) == 0) evstore_list_push(&events, &w.change.creates.items[i]);
    json_object_object_add(o, "createdEvents", names_of(&events));
    json_object_object_add(o, "updatedEvents", names_of(&w.change.puts));
    evstore_list_free(&events);
    snprintf(c->rs->location, sizeof c->rs->location, "/flow/%s", w.flow_name);
    respond_json(c->rs, 201, o);
  }
  write_free(&w);
  json_object_put(body);
}

static void handle_delete_flow(struct call *c) {
  struct write w = { .operation = op_remove_flow, .id = c->id };
  if (run_write(c, &w) == 0) {
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "flowId", json_object_new_string(c->id));
    json_object_object_add(o, "deleted", json_object_new_boolean(1));
    json_object_object_add(o, "updatedEvents", names_of(&w.change.puts));
    respond_json(c->rs, 200, o);
  }
  write_free(&w);
}

static void handle_set_route(struct call *c) {
  struct json_object *body = json_body(c);
  if (!body) return;
  struct write w = { .operation = op_set_routing, .id = c->id, .routing = body };
  if (run_write(c, &w) == 0) {
    if (w.change.puts.count == 1) respond_json(c->rs, 200, item_object(&w.change.puts.items[0]));
    else api_error_response(c->rs, API_INTERNAL, "the routing change wrote %zu items", w.change.puts.count);
  }
  write_free(&w);
  json_object_put(body);
}

static void handle_put_events(struct call *c) {
  struct json_object *body = json_body(c), *out = NULL;
  if (!body) return;
  char message[800];
  int status = ingest_run(c->api->ingest, body, &out, message, sizeof message);
  json_object_put(body);
  if (status == 200) respond_json(c->rs, 200, out);
  else api_error_response(c->rs, status == 400 ? API_BAD_REQUEST : API_INTERNAL, "%s", message);
}

/* ---- routing ------------------------------------------------------------ */

enum body_kind { BODY_NONE, BODY_JSON, BODY_FLOW };   /* see API_ROUTES */

struct route {
  const char *method, *path;
  void (*handle)(struct call *c);
  enum body_kind body;
};

static const struct route routes[] = {
#define API_ROUTE_ROW(method, path, name, body, summary) { #method, path, handle_##name, BODY_##body },
  API_ROUTES(API_ROUTE_ROW)
#undef API_ROUTE_ROW
};
#define NROUTES (sizeof routes / sizeof *routes)

/* Does path match pattern?  *id gets the {id} segment (NULL if none). */
static int path_matches(const char *pattern, const char *path, const char **id) {
  *id = NULL;
  const char *hole = strstr(pattern, "{id}");
  if (!hole) return strcmp(pattern, path) == 0;
  size_t prefix = (size_t)(hole - pattern);
  if (strncmp(pattern, path, prefix) != 0 || strchr(path + prefix, '/')) return 0;
  *id = path + prefix;
  return 1;
}

/* Host and Origin name this server (origin.h)?  0 after answering. */
static int right_server(const struct api *api, const struct api_request *rq, struct api_response *rs) {
  if (!rq->server_host) return 1;
  struct origin_policy p = { rq->server_host, rq->loopback, api->opt.allow_hosts, api->opt.nallow_hosts };
  const char *host = header(rq, "Host"), *origin = header(rq, "Origin");
  if (!origin_host_ok(&p, host)) {
    const char *port = strrchr(rq->server_host, ':');
    api_error_response(rs, API_MISDIRECTED, "this server answers requests for %s%s%s, not for Host: %.100s (names "
                       "given to it with --allow-host are answered too)", rq->server_host,
                       rq->loopback && port ? " or localhost" : "", rq->loopback && port ? port : "", host ? host : "(none)");
    return 0;
  }
  if (origin && !origin_origin_ok(&p, origin)) {
    api_error_response(rs, API_FORBIDDEN, "requests from other sites' pages are refused (Origin: %.100s); this "
                       "server takes those of http(s)://%s", origin, rq->server_host);
    return 0;
  }
  return 1;
}

/* The checks of api_admit(): the route of rq and its {id} (*id), or NULL
 * after answering. */
static const struct route *admit(struct api *api, const struct api_request *rq, struct api_response *rs,
                                 const char **id) {
  memset(rs, 0, sizeof *rs);
  *id = NULL;
  if (!right_server(api, rq, rs)) return NULL;
  if (!authorized(api, rq)) {
    rs->www_authenticate = 1;
    api_error_response(rs, API_UNAUTHORIZED, "this server needs \"Authorization: Bearer TOKEN\" (the --token it was started with)");
    return NULL;
  }
  /* A decoded %00 would cut the path short here: "/flow/a%00b" is not "/flow/a". */
  size_t path_size = rq->path_size ? rq->path_size : strlen(rq->path);
  if (memchr(rq->path, 0, path_size)) {
    api_error_response(rs, API_BAD_REQUEST, "invalid path: it holds a NUL byte (%%00), which no path or id has");
    return NULL;
  }
  const struct route *found = NULL;
  for (size_t i = 0; i < NROUTES && !found; i++) {
    const char *match;
    if (!path_matches(routes[i].path, rq->path, &match)) continue;
    if (strcmp(routes[i].method, rq->method) == 0) {
      found = &routes[i];
      *id = match;
    } else {
      size_t n = strlen(rs->allow);
      snprintf(rs->allow + n, sizeof rs->allow - n, "%s%s", n ? ", " : "", routes[i].method);
    }
  }
  if (!found && rs->allow[0]) {
    char allow[sizeof rs->allow];
    memcpy(allow, rs->allow, sizeof allow);
    api_error_response(rs, API_METHOD_NOT_ALLOWED, "%.16s is not allowed on %.200s; allowed: %s", rq->method, rq->path, allow);
    memcpy(rs->allow, allow, sizeof allow);
    return NULL;
  }
  if (!found) {
    api_error_response(rs, API_NOT_FOUND, "no endpoint %.200s (see docs/api.md)", rq->path);
    return NULL;
  }
  if (*id && !catalog_valid_id(*id)) {
    api_error_response(rs, API_BAD_REQUEST, "invalid id: an id is 1 to %d of A-Z a-z 0-9 _ . - and does not start with '.'",
                       CATALOG_ID_MAX);
    return NULL;
  }
  if (found->body != BODY_NONE && !is_json(rq) && !(found->body == BODY_FLOW && content_type_is(rq, API_FLOW_SOURCE_TYPE))) {
    const char *ct = header(rq, "Content-Type");
    api_error_response(rs, API_UNSUPPORTED_MEDIA_TYPE, "%s %s takes Content-Type: application/json%s, not %.100s",
                       found->method, found->path, found->body == BODY_FLOW ? " (or " API_FLOW_SOURCE_TYPE " for the source alone)" : "",
                       ct ? ct : "none");
    return NULL;
  }
  return found;
}

int api_admit(struct api *api, const struct api_request *rq, struct api_response *rs) {
  const char *id;
  return admit(api, rq, rs, &id) != NULL;
}

void api_handle(struct api *api, const struct api_request *rq, struct api_response *rs) {
  const char *id;
  const struct route *found = admit(api, rq, rs, &id);
  if (!found) return;
  if (rq->body_size > api_max_body(api)) {
    api_error_response(rs, API_PAYLOAD_TOO_LARGE, "the body is %zu bytes; this server takes at most %zu", rq->body_size,
                       api_max_body(api));
    return;
  }
  struct call c = { api, rq, id, rs };
  found->handle(&c);
}

/* ---- setup -------------------------------------------------------------- */

size_t api_max_body(const struct api *api) { return api->opt.max_body ? api->opt.max_body : API_DEFAULT_MAX_BODY; }

struct api *api_new(struct evstore *store, struct state_store *state, const struct api_options *opt) {
  struct api *api = calloc(1, sizeof *api);
  if (!api) return NULL;
  api->store = store;
  if (opt) api->opt = *opt;
  api->ingest = ingest_new(store, state, &(struct ingest_options){ .hop_limit = api->opt.hop_limit, .views = api->opt.views });
  if (!api->ingest) {
    free(api);
    return NULL;
  }
  return api;
}

void api_free(struct api *api) {
  if (!api) return;
  ingest_free(api->ingest);
  free(api);
}
