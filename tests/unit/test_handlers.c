/* test_handlers.c — the Event Store Wrapper's endpoints, without HTTP.
 *
 * Drives api_handle() with requests built in memory (the way the Lambda
 * host will), over a memory store loaded with the golden compile outputs:
 * routing and its errors (404, 405 with Allow, 400 ids, 401, 413), the
 * round trip of stored items, creating and deleting flows (compile errors
 * with positions, conflicts, restated events, the routing they change),
 * routing configurations (pattern validation), and POST /events (the
 * engine rebuilt after each change, the stored patterns honoured).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "catalog.h"
#include "check.h"
#include "compile.h"
#include "evstore.h"
#include "parse.h"
#include "handlers.h"
#include "state.h"

/* Fixtures of our own (the examples change with the project). */
#define TIMECARD "tests/serve/timecard.flow"
#define COACH    "tests/serve/coach.flow"

struct fixture {
  struct evstore *store;
  struct state_store *state;
  struct api *api;
};

/* ---- helpers ------------------------------------------------------------------ */

/* The Event Store items efc compile makes of a .flow file. */
static void compile_items(const char *path, struct evstore_list *out) {
  struct diag d;
  diag_init(&d);
  struct source *src = diag_load_file(&d, path);
  assert_non_null(src);
  struct program *p = parse_program(&d, src);
  struct compilation c;
  if (check_program(p, &d) != 0 || compile_program(p, &d, NULL, &c) != 0) {
    diag_print(&d, stderr, 0);
    fail_msg("%s does not compile", path);
  }
  char why[400];
  if (evstore_parse_batches(c.store_json, out, NULL, why, sizeof why) != 0) fail_msg("%s", why);
  compilation_free(&c);
  ast_program_free(p);
  diag_free(&d);
}

static void load(struct evstore *store, const char *path) {
  struct evstore_list incoming = { 0 }, items = { 0 };
  compile_items(path, &incoming);
  assert_int_equal(evstore_list(store, NULL, &items), EVSTORE_OK);
  struct catalog_change change;
  memset(&change, 0, sizeof change);
  struct catalog_result r;
  catalog_result_init(&r);
  if (catalog_load(&items, &incoming, &change, &r) != CATALOG_OK) fail_msg("load %s: %s", path, r.message);
  for (size_t i = 0; i < change.puts.count; i++) assert_int_equal(evstore_put(store, &change.puts.items[i], EVSTORE_ANY), EVSTORE_OK);
  catalog_change_free(&change);
  catalog_result_free(&r);
  evstore_list_free(&items);
  evstore_list_free(&incoming);
}

static struct fixture *make(const struct api_options *opt) {
  struct fixture *f = calloc(1, sizeof *f);
  f->store = evstore_open_memory();
  f->state = state_open_memory();
  f->api = api_new(f->store, f->state, opt);
  assert_non_null(f->api);
  return f;
}

static int setup(void **state) {
  struct fixture *f = make(NULL);
  load(f->store, TIMECARD);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fixture *f = *state;
  api_free(f->api);
  state_close(f->state);
  evstore_close(f->store);
  free(f);
  return 0;
}

struct reply {
  int status;
  struct json_object *json;   /* the parsed body */
  struct api_response raw;
};

/* Sends rq and parses the JSON answer. */
static struct reply answer(struct api *api, const struct api_request *rq) {
  struct reply r = { 0 };
  api_handle(api, rq, &r.raw);
  r.status = r.raw.status;
  assert_string_equal(r.raw.content_type, "application/json");
  r.json = json_tokener_parse(r.raw.body);
  if (!r.json) fail_msg("%s %s: the body is not JSON: %s", rq->method, rq->path, r.raw.body);
  return r;
}

static struct reply request(struct api *api, const char *method, const char *path, const char *query,
                            const char *content_type, const char *body, const char *authorization) {
  struct api_header headers[2];
  size_t n = 0;
  if (content_type) headers[n++] = (struct api_header){ "content-type", content_type };
  if (authorization) headers[n++] = (struct api_header){ "Authorization", authorization };
  struct api_request rq = { .method = method, .path = path, .query = query, .headers = headers, .nheaders = n,
                            .body = body ? body : "", .body_size = body ? strlen(body) : 0 };
  return answer(api, &rq);
}

static void done(struct reply *r) {
  json_object_put(r->json);
  api_response_free(&r->raw);
}

static struct reply get(struct fixture *f, const char *path) { return request(f->api, "GET", path, NULL, NULL, NULL, NULL); }

static struct reply post(struct fixture *f, const char *path, const char *content_type, const char *body) {
  return request(f->api, "POST", path, NULL, content_type, body, NULL);
}

static struct json_object *at(struct json_object *o, const char *path) {
  /* "a.b.0.c": members and array indexes */
  char buf[256];
  snprintf(buf, sizeof buf, "%s", path);
  for (char *part = strtok(buf, "."); part && o; part = strtok(NULL, ".")) {
    if (json_object_is_type(o, json_type_array)) o = json_object_array_get_idx(o, (size_t)atoi(part));
    else if (!json_object_object_get_ex(o, part, &o)) o = NULL;
  }
  return o;
}

static const char *str(struct json_object *o, const char *path) {
  struct json_object *v = at(o, path);
  return v ? json_object_get_string(v) : "(missing)";
}

/* Expects an error response with this status and code, whose message holds `words`. */
static void expect_error(struct reply r, int status, const char *code, const char *words) {
  if (r.status != status) fail_msg("status %d, expected %d: %s", r.status, status, r.raw.body);
  assert_string_equal(str(r.json, "error"), code);
  if (words && !strstr(str(r.json, "message"), words)) fail_msg("message \"%s\" lacks \"%s\"", str(r.json, "message"), words);
  done(&r);
}

/* The routing rules of an event, as "entry" strings joined by spaces. */
static void rules_of(struct fixture *f, const char *event, char *out, size_t size) {
  char path[128];
  snprintf(path, sizeof path, "/event/%s", event);
  struct reply r = get(f, path);
  assert_int_equal(r.status, 200);
  out[0] = 0;
  struct json_object *rules = at(r.json, "routingConfig.rules");
  for (size_t i = 0; i < json_object_array_length(rules); i++) {
    size_t n = strlen(out);
    snprintf(out + n, size - n, "%s%s", n ? " " : "", str(json_object_array_get_idx(rules, i), "entry"));
  }
  done(&r);
}

static const char idle_flow[] =
  "event IdleSeen { user: string }\n"
  "\n"
  "flow idle {\n"
  "  on ScreenCaptured where application.name == \"idle\"\n"
  "  | map { user: profile.user }\n"
  "  -> emit IdleSeen\n"
  "}\n";

static const char idle_event[] =
  "{\"Entries\": [{\"Source\": \"capture.client\", \"DetailType\": \"Screen Captured\", \"Time\": \"2026-11-23T09:00:00Z\","
  " \"Detail\": \"{\\\"profile\\\": {\\\"session_id\\\": \\\"s\\\", \\\"user\\\": \\\"ann\\\"}, \\\"application\\\": "
  "{\\\"name\\\": \\\"idle\\\"}, \\\"data\\\": {\\\"uri\\\": \\\"u\\\", \\\"mime\\\": \\\"image/png\\\", \\\"bytes\\\": 9}}\"}]}";

/* How many IdleSeen events POST /events emits for idle_event. */
static size_t idle_emitted(struct fixture *f) {
  struct reply r = post(f, "/events", "application/json", idle_event);
  if (r.status != 200) fail_msg("POST /events: %s", r.raw.body);
  assert_int_equal(json_object_get_int(at(r.json, "FailedEntryCount")), 0);
  size_t n = json_object_array_length(at(r.json, "Emitted"));
  done(&r);
  return n;
}

/* ---- routing, ids, limits, authentication --------------------------------------- */

static void health(void **state) {
  struct fixture *f = *state;
  struct reply r = get(f, "/health");
  assert_int_equal(r.status, 200);
  assert_string_equal(str(r.json, "status"), "ok");
  assert_int_equal(json_object_get_int(at(r.json, "events")), 2);
  assert_int_equal(json_object_get_int(at(r.json, "flows")), 1);
  done(&r);
}

static void unknown_paths_and_methods(void **state) {
  struct fixture *f = *state;
  expect_error(get(f, "/nope"), 404, "not_found", "no endpoint /nope");
  expect_error(get(f, "/flows/"), 404, "not_found", NULL);
  expect_error(get(f, "/flow/a/b"), 404, "not_found", NULL);
  expect_error(get(f, "/flow/../../etc/passwd"), 404, "not_found", NULL);
  expect_error(get(f, ""), 404, "not_found", NULL);
  struct reply r = request(f->api, "PUT", "/flows", NULL, NULL, NULL, NULL);
  assert_string_equal(r.raw.allow, "GET");
  expect_error(r, 405, "method_not_allowed", "PUT is not allowed");
  r = request(f->api, "DELETE", "/events", NULL, NULL, NULL, NULL);
  assert_string_equal(r.raw.allow, "GET, POST");
  expect_error(r, 405, "method_not_allowed", NULL);
  r = request(f->api, "GET", "/flow", NULL, NULL, NULL, NULL);
  assert_string_equal(r.raw.allow, "POST");
  expect_error(r, 405, "method_not_allowed", NULL);
}

static void ids_are_checked(void **state) {
  struct fixture *f = *state;
  char long_id[200] = "/flow/";
  memset(long_id + 6, 'a', 129);
  const char *bad[] = { "/flow/..", "/flow/.", "/flow/.hidden", "/flow/", "/event/a%2Fb", "/event/a b", "/flow/é",
                        "/flow/a\\b", "/route/x;y", "/flow/a\tb", "/flow/a\x01", "/flow/a\x7f", long_id };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    const char *method = strncmp(bad[i], "/route", 6) == 0 ? "POST" : "GET";
    expect_error(request(f->api, method, bad[i], NULL, "application/json", "{}", NULL), 400, "bad_request", "invalid id");
  }
  long_id[6 + 128] = 0;   /* 128 is fine */
  expect_error(get(f, long_id), 404, "not_found", "no flow");
  expect_error(get(f, "/flow/a.b-c_D9"), 404, "not_found", "no flow `a.b-c_D9`");
}

static void token_required(void **state) {
  (void)state;
  struct fixture *f = make(&(struct api_options){ .token = "s3cret" });
  struct reply r = request(f->api, "GET", "/health", NULL, NULL, NULL, NULL);
  assert_true(r.raw.www_authenticate);
  expect_error(r, 401, "unauthorized", "Bearer");
  expect_error(request(f->api, "GET", "/health", NULL, NULL, NULL, "Bearer wrong"), 401, "unauthorized", NULL);
  expect_error(request(f->api, "GET", "/health", NULL, NULL, NULL, "Bearer s3cre"), 401, "unauthorized", NULL);
  expect_error(request(f->api, "GET", "/health", NULL, NULL, NULL, "Bearer s3crett"), 401, "unauthorized", NULL);
  expect_error(request(f->api, "GET", "/health", NULL, NULL, NULL, "Basic s3cret"), 401, "unauthorized", NULL);
  /* Authentication comes before routing: nothing about paths leaks. */
  expect_error(request(f->api, "GET", "/nope", NULL, NULL, NULL, NULL), 401, "unauthorized", NULL);
  r = request(f->api, "GET", "/health", NULL, NULL, NULL, "Bearer s3cret");
  assert_int_equal(r.status, 200);
  done(&r);
  r = request(f->api, "GET", "/health", NULL, NULL, NULL, "bearer s3cret");
  assert_int_equal(r.status, 200);
  done(&r);
  void *s = f;
  teardown(&s);
}

static void body_limit(void **state) {
  (void)state;
  struct fixture *f = make(&(struct api_options){ .max_body = 100 });
  char body[200];
  memset(body, ' ', sizeof body - 1);
  body[sizeof body - 1] = 0;
  expect_error(post(f, "/flow", "text/x-efc", body), 413, "payload_too_large", "at most 100");
  body[100] = 0;   /* exactly the limit: read, then judged */
  expect_error(post(f, "/events", "application/json", body), 400, "bad_request", NULL);
  void *s = f;
  teardown(&s);
}

/* ---- what is refused before the body: Host, Origin, Content-Type, NUL in ids ---------- */

/* A request as the HTTP transport gives it: with the address it came to. */
static struct reply over_http(struct api *api, const char *method, const char *path, size_t path_size, const char *host,
                              const char *origin, const char *content_type, const char *body) {
  struct api_header h[3];
  size_t n = 0;
  if (host) h[n++] = (struct api_header){ "Host", host };
  if (origin) h[n++] = (struct api_header){ "Origin", origin };
  if (content_type) h[n++] = (struct api_header){ "Content-Type", content_type };
  struct api_request rq = { .method = method, .path = path, .path_size = path_size, .headers = h, .nheaders = n,
                            .body = body ? body : "", .body_size = body ? strlen(body) : 0,
                            .server_host = "127.0.0.1:8080", .loopback = 1 };
  return answer(api, &rq);
}

#define HOST "127.0.0.1:8080"

static void other_sites_are_refused(void **state) {
  (void)state;
  static const char *const names[] = { "efc.example", "proxy.example:443" };
  struct fixture *f = make(&(struct api_options){ .allow_hosts = names, .nallow_hosts = 2 });
  load(f->store, TIMECARD);
  const char *good_hosts[] = { HOST, "localhost:8080", "LocalHost:8080", "efc.example", "EFC.example:9999", "proxy.example:443" };
  for (size_t i = 0; i < sizeof good_hosts / sizeof *good_hosts; i++) {
    struct reply r = over_http(f->api, "GET", "/health", 0, good_hosts[i], NULL, NULL, NULL);
    if (r.status != 200) fail_msg("Host: %s: %d %s", good_hosts[i], r.status, r.raw.body);
    done(&r);
  }
  /* DNS rebinding: the page's own name (resolved to 127.0.0.1) is in Host. */
  const char *bad_hosts[] = { NULL, "", "evil.example", "evil.example:8080", "127.0.0.1:8081", "127.0.0.1", "localhost",
                              "proxy.example", "proxy.example:80", "127.0.0.1:8080.evil.example", "efc.example.evil.example",
                              "[::1]:8080", "127.0.0.1:8080:8080", "localhost:80a" };
  for (size_t i = 0; i < sizeof bad_hosts / sizeof *bad_hosts; i++)
    expect_error(over_http(f->api, "GET", "/health", 0, bad_hosts[i], NULL, NULL, NULL), 421, "misdirected_request",
                 "this server answers requests for 127.0.0.1:8080 or localhost:8080");
  /* Cross-site requests: another page's Origin. */
  const char *good_origins[] = { "http://" HOST, "http://localhost:8080", "https://efc.example", "https://proxy.example" };
  for (size_t i = 0; i < sizeof good_origins / sizeof *good_origins; i++) {
    struct reply r = over_http(f->api, "GET", "/health", 0, HOST, good_origins[i], NULL, NULL);
    if (r.status != 200) fail_msg("Origin: %s: %d %s", good_origins[i], r.status, r.raw.body);
    done(&r);
  }
  const char *bad_origins[] = { "null", "http://evil.example", "http://127.0.0.1:8081", "file://", "http://localhost",
                                "https://127.0.0.1", "ftp://127.0.0.1:8080", "http://efc.example.evil.example", "" };
  for (size_t i = 0; i < sizeof bad_origins / sizeof *bad_origins; i++)
    expect_error(over_http(f->api, "GET", "/health", 0, HOST, bad_origins[i], NULL, NULL), 403, "forbidden", "other sites");
  /* A write from another page is refused, and changes nothing. */
  expect_error(over_http(f->api, "POST", "/flow", 0, HOST, "http://evil.example", "application/json",
                         "{\"source\": \"flow x { on ScreenCaptured -> emit TimecardEntry }\"}"), 403, "forbidden", NULL);
  expect_error(over_http(f->api, "DELETE", "/flow/timecard", 0, "evil.example", NULL, NULL, NULL), 421, "misdirected_request", NULL);
  struct reply flows = get(f, "/flows");
  assert_int_equal(json_object_array_length(flows.json), 1);
  done(&flows);
  /* localhost is this server only when it listens on loopback. */
  struct api_header h = { "Host", "localhost:8080" };
  struct api_request rq = { .method = "GET", .path = "/health", .headers = &h, .nheaders = 1, .body = "",
                            .server_host = "192.0.2.7:8080", .loopback = 0 };
  expect_error(answer(f->api, &rq), 421, "misdirected_request", NULL);
  h.value = "192.0.2.7:8080";
  struct reply r = answer(f->api, &rq);
  assert_int_equal(r.status, 200);
  done(&r);
  void *s = f;
  teardown(&s);
}

static void bodies_must_say_json(void **state) {
  struct fixture *f = *state;
  /* The types a page may send to another site without asking first, and none. */
  const char *types[] = { NULL, "text/plain", "text/plain; charset=utf-8", "application/x-www-form-urlencoded",
                          "multipart/form-data; boundary=x", "application/jsonp", "text/json" };
  for (size_t i = 0; i < sizeof types / sizeof *types; i++) {
    expect_error(over_http(f->api, "POST", "/events", 0, HOST, NULL, types[i], idle_event), 415, "unsupported_media_type",
                 "POST /events takes Content-Type: application/json");
    expect_error(over_http(f->api, "POST", "/flow", 0, HOST, NULL, types[i], idle_flow), 415, "unsupported_media_type",
                 "text/x-efc");
    expect_error(over_http(f->api, "POST", "/route/ScreenCaptured", 0, HOST, NULL, types[i], "{\"rules\": []}"), 415,
                 "unsupported_media_type", NULL);
  }
  expect_error(over_http(f->api, "POST", "/events", 0, HOST, NULL, "text/x-efc", idle_event), 415, "unsupported_media_type", NULL);
  struct reply r = over_http(f->api, "POST", "/events", 0, HOST, NULL, "Application/JSON; charset=utf-8", idle_event);
  assert_int_equal(r.status, 200);
  done(&r);
  struct reply flows = get(f, "/flows");
  assert_int_equal(json_object_array_length(flows.json), 1);   /* nothing was created */
  done(&flows);
}

static void ids_cut_at_nul_are_refused(void **state) {
  struct fixture *f = *state;
  /* The path as decoded from /flow/timecard%00zzz: a C string would end at the NUL. */
  static const char del[] = "/flow/timecard\0zzz", get_flow[] = "/flow/timecard\0", get_event[] = "/event/ScreenCaptured\0x",
                    route[] = "/route/ScreenCaptured\0";
  expect_error(over_http(f->api, "DELETE", del, sizeof del - 1, HOST, NULL, NULL, NULL), 400, "bad_request", "NUL");
  expect_error(over_http(f->api, "GET", get_flow, sizeof get_flow - 1, HOST, NULL, NULL, NULL), 400, "bad_request", "NUL");
  expect_error(over_http(f->api, "GET", get_event, sizeof get_event - 1, HOST, NULL, NULL, NULL), 400, "bad_request", "NUL");
  expect_error(over_http(f->api, "POST", route, sizeof route - 1, HOST, NULL, "application/json", "{\"rules\": []}"), 400,
               "bad_request", "NUL");
  struct reply r = get(f, "/flow/timecard");
  assert_int_equal(r.status, 200);   /* not deleted */
  done(&r);
  r = get(f, "/event/ScreenCaptured");
  assert_true(json_object_array_length(at(r.json, "routingConfig.rules")) > 0);   /* routing untouched */
  done(&r);
}

/* api_admit decides from the headers alone, token first. */
static void admitted_before_the_body(void **state) {
  (void)state;
  struct fixture *f = make(&(struct api_options){ .token = "s3cret", .max_body = 10 });
  struct api_header h[2] = { { "Content-Type", "text/plain" }, { "Authorization", "Bearer s3cret" } };
  struct api_request rq = { .method = "POST", .path = "/events", .headers = h, .nheaders = 1, .body = NULL };
  struct api_response rs;
  assert_int_equal(api_admit(f->api, &rq, &rs), 0);   /* no token: 401, whatever the body */
  assert_int_equal(rs.status, 401);
  api_response_free(&rs);
  rq.headers = &h[1];
  assert_int_equal(api_admit(f->api, &rq, &rs), 0);   /* the token, no JSON: 415 */
  assert_int_equal(rs.status, 415);
  api_response_free(&rs);
  h[0].value = "application/json";
  rq.headers = h;
  rq.nheaders = 2;
  assert_int_equal(api_admit(f->api, &rq, &rs), 1);
  api_response_free(&rs);
  void *s = f;
  teardown(&s);
}

/* An event too large for one store item is the request's fault: 400, not 500. */
static void items_too_large_are_refused(void **state) {
  struct fixture *f = *state;
  size_t size = 9000 * 24 + 200;
  char *source = malloc(size), *p = source;
  p += sprintf(p, "event Huge {\n");
  for (int i = 0; i < 9000; i++) p += sprintf(p, "  field%d: string\n", i);
  sprintf(p, "}\nflow huge { on Huge | map { x: field1 } -> emit IdleSeen }\nevent IdleSeen { x: string }\n");
  expect_error(post(f, "/flow", "text/x-efc", source), 400, "bad_request", "at most 409600");
  free(source);
  struct reply flows = get(f, "/flows");
  assert_int_equal(json_object_array_length(flows.json), 1);
  done(&flows);
}

/* ---- writes do not hold the store while they compile ------------------------------------ */

struct holder {
  struct evstore *store;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  int holding, release, released;
};

/* Holds the store's writer until told (at most 5 s), then rolls back. */
static enum evstore_status hold_txn(struct evstore_txn *txn, void *ctx) {
  (void)txn;
  struct holder *h = ctx;
  pthread_mutex_lock(&h->lock);
  h->holding = 1;
  pthread_cond_broadcast(&h->cond);
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += 5;
  while (!h->release && pthread_cond_timedwait(&h->cond, &h->lock, &until) == 0) {}
  h->released = 1;
  pthread_mutex_unlock(&h->lock);
  return EVSTORE_INVALID;
}

static void *hold(void *arg) {
  struct holder *h = arg;
  evstore_transact(h->store, hold_txn, h);
  return NULL;
}

static void compiles_do_not_wait_for_the_writer(void **state) {
  struct fixture *f = *state;
  struct holder h = { .store = f->store, .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };
  pthread_t t;
  pthread_create(&t, NULL, hold, &h);
  pthread_mutex_lock(&h.lock);
  while (!h.holding) pthread_cond_wait(&h.cond, &h.lock);
  pthread_mutex_unlock(&h.lock);
  /* Another writer holds the store: a flow that does not compile is told so
   * at once (it is compiled against a snapshot, without the writer). */
  struct reply r = post(f, "/flow", "text/x-efc", "flow bad {\n  on ScreenCaptured where aplication.name == \"x\"\n}\n");
  pthread_mutex_lock(&h.lock);
  int released = h.released;
  h.release = 1;
  pthread_cond_broadcast(&h.cond);
  pthread_mutex_unlock(&h.lock);
  pthread_join(t, NULL);
  assert_false(released);
  expect_error(r, 400, "compile_error", NULL);
  /* And a good flow, once the writer is free. */
  r = post(f, "/flow", "text/x-efc", idle_flow);
  assert_int_equal(r.status, 201);
  done(&r);
}

/* ---- reads: what was loaded comes back ------------------------------------------- */

static void loaded_items_come_back(void **state) {
  struct fixture *f = *state;
  struct evstore_list items = { 0 };
  compile_items(TIMECARD, &items);
  struct reply events = get(f, "/events"), flows = get(f, "/flows");
  assert_int_equal(events.status, 200);
  assert_int_equal(flows.status, 200);
  size_t nevents = 0, nflows = 0;
  for (size_t i = 0; i < items.count; i++) {
    const struct evstore_item *it = &items.items[i];
    int event = strcmp(it->pk, "events") == 0;
    char path[128];
    snprintf(path, sizeof path, "/%s/%s", event ? "event" : "flow", it->sk);
    struct reply one = get(f, path);
    assert_int_equal(one.status, 200);
    assert_string_equal(str(one.json, event ? "eventId" : "flowId"), it->sk);
    const char *attrs[][2] = { { "schema", it->schema }, { "routingConfig", it->routing }, { "data", it->data } };
    for (int k = 0; k < 3; k++) {
      if (!attrs[k][1]) {
        assert_null(at(one.json, attrs[k][0]));
        continue;
      }
      struct json_object *want = json_tokener_parse(attrs[k][1]);
      assert_true(json_object_equal(want, at(one.json, attrs[k][0])));
      json_object_put(want);
    }
    /* The list holds the same object. */
    struct json_object *list = event ? events.json : flows.json;
    assert_true(json_object_equal(one.json, json_object_array_get_idx(list, event ? nevents++ : nflows++)));
    done(&one);
  }
  assert_int_equal(json_object_array_length(events.json), nevents);
  assert_int_equal(json_object_array_length(flows.json), nflows);
  done(&events);
  done(&flows);
  evstore_list_free(&items);
  expect_error(get(f, "/event/Nope"), 404, "not_found", "no event `Nope`");
}

/* ---- POST /flow, DELETE /flow ------------------------------------------------------ */

static void create_and_delete_a_flow(void **state) {
  struct fixture *f = *state;
  char rules[256];
  struct reply r = post(f, "/flow", "text/x-efc", idle_flow);
  if (r.status != 201) fail_msg("%s", r.raw.body);
  assert_string_equal(r.raw.location, "/flow/idle");
  assert_string_equal(str(r.json, "flowId"), "idle");
  assert_string_equal(str(r.json, "createdEvents.0"), "IdleSeen");
  assert_string_equal(str(r.json, "updatedEvents.0"), "ScreenCaptured");
  done(&r);
  r = get(f, "/flow/idle");
  assert_int_equal(r.status, 200);
  assert_string_equal(str(r.json, "data.app"), "api");
  assert_string_equal(str(r.json, "data.emits"), "IdleSeen");
  assert_non_null(strstr(str(r.json, "data.source"), "flow idle {"));
  /* It brings the imports of what it uses (the stored events'). */
  assert_string_equal(str(r.json, "data.imports.0"), "std.envelope");
  done(&r);
  r = get(f, "/event/IdleSeen");
  assert_int_equal(r.status, 200);
  assert_string_equal(str(r.json, "schema.properties.source.const"), "efc.api");
  assert_string_equal(str(r.json, "routingConfig.emittedBy.0"), "idle");
  done(&r);
  rules_of(f, "ScreenCaptured", rules, sizeof rules);
  assert_string_equal(rules, "timecard idle");
  expect_error(post(f, "/flow", "text/x-efc", idle_flow), 409, "conflict", "flow `idle` exists");

  r = request(f->api, "DELETE", "/flow/idle", NULL, NULL, NULL, NULL);
  assert_int_equal(r.status, 200);
  assert_true(json_object_get_boolean(at(r.json, "deleted")));
  done(&r);
  rules_of(f, "ScreenCaptured", rules, sizeof rules);
  assert_string_equal(rules, "timecard");
  r = get(f, "/event/IdleSeen");   /* events stay: others may use them */
  assert_int_equal(r.status, 200);
  assert_int_equal(json_object_array_length(at(r.json, "routingConfig.emittedBy")), 0);
  done(&r);
  expect_error(request(f->api, "DELETE", "/flow/idle", NULL, NULL, NULL, NULL), 404, "not_found", "no flow `idle`");
  /* Posted again, its event is restated exactly as stored: accepted. */
  r = post(f, "/flow", "text/x-efc", idle_flow);
  assert_int_equal(r.status, 201);
  assert_int_equal(json_object_array_length(at(r.json, "createdEvents")), 0);
  done(&r);
}

static void create_from_json(void **state) {
  struct fixture *f = *state;
  struct json_object *body = json_object_new_object();
  json_object_object_add(body, "source", json_object_new_string(idle_flow));
  json_object_object_add(body, "app", json_object_new_string("myapp"));
  struct reply r = post(f, "/flow", "application/json; charset=utf-8", json_object_to_json_string(body));
  json_object_put(body);
  if (r.status != 201) fail_msg("%s", r.raw.body);
  done(&r);
  r = get(f, "/flow/idle");
  assert_string_equal(str(r.json, "data.app"), "myapp");
  assert_string_equal(str(r.json, "data.rules.0"), "myapp-idle-ScreenCaptured");
  done(&r);
  r = get(f, "/event/IdleSeen");
  assert_string_equal(str(r.json, "schema.properties.source.const"), "efc.myapp");
  done(&r);
  /* ?app= names the application of a text body. */
  const char *other = "flow other { on ScreenCaptured | map { user: profile.user } -> emit IdleSeen }";
  r = request(f->api, "POST", "/flow", "app=q", "text/x-efc", other, NULL);
  assert_int_equal(r.status, 201);
  done(&r);
  r = get(f, "/flow/other");
  assert_string_equal(str(r.json, "data.app"), "q");
  done(&r);
  expect_error(request(f->api, "POST", "/flow", "app=no%20way", "text/x-efc", other, NULL), 400, "bad_request", "app must be");
  expect_error(post(f, "/flow", "application/json", "{\"source\": 1}"), 400, "bad_request", "\"source\"");
  expect_error(post(f, "/flow", "application/json", "{\"sauce\": \"x\"}"), 400, "bad_request", "\"sauce\"");
  expect_error(post(f, "/flow", "application/json", "{}"), 400, "bad_request", "needs \"source\"");
  expect_error(post(f, "/flow", "application/json", "[\"flow\"]"), 400, "bad_request", "flow object");
  expect_error(post(f, "/flow", "application/json", "{\"source\": "), 400, "bad_request", "not valid JSON");
  expect_error(post(f, "/flow", "application/json", "{\"source\": \"x\"} trailing"), 400, "bad_request", "not valid JSON");
  expect_error(post(f, "/flow", "application/json", "{\"source\": \"\xff\"}"), 400, "bad_request", "not valid JSON");
  expect_error(post(f, "/flow", "text/x-efc", "flow \xc3\x28 {}"), 400, "bad_request", "UTF-8");
  expect_error(post(f, "/flow", "text/x-efc", ""), 400, "bad_request", "needs the flow's source");
}

static void deep_json_is_refused(void **state) {
  struct fixture *f = *state;
  enum { DEPTH = 100000 };
  char *deep = malloc(2 * DEPTH + 1);
  memset(deep, '[', DEPTH);
  memset(deep + DEPTH, ']', DEPTH);
  deep[2 * DEPTH] = 0;
  expect_error(post(f, "/events", "application/json", deep), 400, "bad_request", "nested deeper than 64");
  expect_error(post(f, "/route/ScreenCaptured", "application/json", deep), 400, "bad_request", "nested deeper");
  free(deep);
}

/* Expects 400 compile_error with a first diagnostic at line:column. */
static void expect_diagnostic(struct fixture *f, const char *source, int line, int column, const char *words) {
  struct reply r = post(f, "/flow", "text/x-efc", source);
  if (r.status != 400 || strcmp(str(r.json, "error"), "compile_error") != 0) fail_msg("%d %s", r.status, r.raw.body);
  struct json_object *d = at(r.json, "diagnostics.0");
  assert_non_null(d);
  assert_string_equal(str(d, "file"), CATALOG_REQUEST_PATH);
  assert_int_equal(json_object_get_int(at(d, "line")), line);
  assert_int_equal(json_object_get_int(at(d, "column")), column);
  if (!strstr(str(d, "message"), words)) fail_msg("\"%s\" lacks \"%s\"", str(d, "message"), words);
  done(&r);
}

static void compile_errors_have_positions(void **state) {
  struct fixture *f = *state;
  expect_diagnostic(f, "flow bad {\n  on ScreenCaptured where aplication.name == \"x\"\n  -> emit TimecardEntry\n}\n", 2, 27,
                    "unknown field `aplication`");
  struct reply r = post(f, "/flow", "text/x-efc", "flow bad {\n  on ScreenCaptured where aplication.name == \"x\"\n}\n");
  int hinted = 0;
  for (size_t i = 0; i < json_object_array_length(at(r.json, "diagnostics")); i++)
    hinted |= strcmp(str(json_object_array_get_idx(at(r.json, "diagnostics"), i), "hint"), "did you mean `application`?") == 0;
  assert_true(hinted);
  done(&r);
  expect_diagnostic(f, "flow broken {\n  on ScreenCaptured |||\n}\n", 2, 21, "unexpected");
  expect_diagnostic(f, "flow a { on ScreenCaptured | map { user: profile.user } -> emit Nope }", 1, 65, "Nope");
  expect_diagnostic(f, "event Only { x: int }\n", 1, 1, "declares no flow");
  expect_diagnostic(f, "flow a { on Nope -> emit Nope }\nflow b { on Nope -> emit Nope }\n", 2, 6, "second one");
  expect_diagnostic(f, "route ScreenCaptured -> \"arn:aws:sqs:us-east-1:123456789012:q\"\n", 1, 1, "not a route");
  /* A stored event declared again, differently: conflict, nothing written. */
  expect_error(post(f, "/flow", "text/x-efc",
                    "event ScreenCaptured { x: int }\nflow z { on ScreenCaptured | map { user: \"u\" } -> emit TimecardEntry }"),
               409, "conflict", "event `ScreenCaptured` is stored");
  expect_error(post(f, "/flow", "text/x-efc", "flow timecard { on ScreenCaptured -> emit TimecardEntry }"), 409, "conflict",
               "flow `timecard` exists");
  struct reply h = get(f, "/health");
  assert_int_equal(json_object_get_int(at(h.json, "flows")), 1);
  assert_int_equal(json_object_get_int(at(h.json, "events")), 2);
  done(&h);
}

static void stored_stages_and_types_compile_again(void **state) {
  (void)state;
  struct fixture *f = make(NULL);
  load(f->store, COACH);
  /* focus uses the user's filter work_only: it comes back from "requires". */
  struct reply r = get(f, "/flow/focus");
  assert_non_null(strstr(str(r.json, "data.requires.0"), "filter work_only"));
  done(&r);
  r = post(f, "/flow", "text/x-efc",
           "event Worked { user: string }\n"
           "flow worked { on AppUsage | work_only(min_ms: 10) | map { user: profile.user } -> emit Worked }\n");
  if (r.status != 201) fail_msg("%s", r.raw.body);
  done(&r);
  r = get(f, "/flow/worked");
  assert_non_null(strstr(str(r.json, "data.requires.0"), "filter work_only"));
  done(&r);
  r = post(f, "/events", "application/json",
           "{\"source\": \"usage.client\", \"detail-type\": \"App Usage\", \"time\": \"2026-11-23T09:00:00Z\", \"detail\": "
           "{\"profile\": {\"session_id\": \"s\", \"user\": \"bo\"}, \"application\": {\"name\": \"vim\"}, "
           "\"focus_ms\": 5000, \"foreground\": true, \"tags\": []}}");
  if (r.status != 200) fail_msg("%s", r.raw.body);
  /* Both flows pass the filter: focus (stored) and worked (new). */
  struct json_object *emitted = at(r.json, "Emitted");
  assert_int_equal(json_object_array_length(emitted), 2);
  int worked = 0, focus = 0;
  for (size_t i = 0; i < 2; i++) {
    const char *type = str(json_object_array_get_idx(emitted, i), "detail-type");
    worked += strcmp(type, "Worked") == 0;
    focus += strcmp(type, "FocusTime") == 0;
    assert_string_equal(str(json_object_array_get_idx(emitted, i), "detail.user"), "bo");
  }
  assert_true(worked == 1 && focus == 1);
  done(&r);
  void *s = f;
  teardown(&s);
}

/* ---- POST /route ------------------------------------------------------------------- */

static const char *rule_json(const char *entry, const char *pattern) {
  static char buf[1024];
  snprintf(buf, sizeof buf, "{\"rules\": [{\"rule\": \"r-%s\", \"entry\": \"%s\", \"kind\": \"flow\", \"pattern\": %s}]}",
           entry, entry, pattern);
  return buf;
}

#define PIN "\"source\": [\"capture.client\"], \"detail-type\": [\"Screen Captured\"]"

static void routing_is_validated_and_honoured(void **state) {
  struct fixture *f = *state;
  struct reply r = post(f, "/flow", "text/x-efc", idle_flow);
  assert_int_equal(r.status, 201);
  done(&r);
  assert_int_equal(idle_emitted(f), 1);

  /* A narrower pattern: ann's events no longer reach the flow. */
  r = post(f, "/route/ScreenCaptured", "application/json",
           rule_json("idle", "{" PIN ", \"detail\": {\"profile\": {\"user\": [\"bob\"]}}}"));
  if (r.status != 200) fail_msg("%s", r.raw.body);
  assert_string_equal(str(r.json, "eventId"), "ScreenCaptured");
  assert_string_equal(str(r.json, "routingConfig.rules.0.entry"), "idle");
  assert_string_equal(str(r.json, "routingConfig.source"), "capture.client");
  done(&r);
  assert_int_equal(idle_emitted(f), 0);
  /* Back to a pattern that takes it. */
  r = post(f, "/route/ScreenCaptured", "application/json", rule_json("idle", "{" PIN "}"));
  assert_int_equal(r.status, 200);
  done(&r);
  assert_int_equal(idle_emitted(f), 1);
  /* No rule: the flow does not receive the event. */
  r = post(f, "/route/ScreenCaptured", "application/json", "{\"rules\": []}");
  assert_int_equal(r.status, 200);
  done(&r);
  assert_int_equal(idle_emitted(f), 0);

  expect_error(post(f, "/route/ScreenCaptured", "application/json", rule_json("idle", "{" PIN ", \"detail\": {\"n\": [{\"numeric\": [\">\"]}]}}")),
               400, "bad_request", "Event pattern is not valid");
  expect_error(post(f, "/route/ScreenCaptured", "application/json", rule_json("idle", "{\"source\": [\"capture.client\"]}")),
               400, "bad_request", "must keep");
  expect_error(post(f, "/route/ScreenCaptured", "application/json", rule_json("ghost", "{" PIN "}")), 400, "bad_request",
               "no such flow");
  expect_error(post(f, "/route/TimecardEntry", "application/json", rule_json("idle", "{}")), 400, "bad_request",
               "does not listen");
  expect_error(post(f, "/route/ScreenCaptured", "application/json", "{\"rules\": [], \"source\": \"elsewhere\"}"), 400,
               "bad_request", "cannot be changed");
  expect_error(post(f, "/route/ScreenCaptured", "application/json", "{\"rules\": [], \"targets\": []}"), 400,
               "bad_request", "unknown member \"targets\"");
  expect_error(post(f, "/route/ScreenCaptured", "application/json", "{\"rules\": {}}"), 400, "bad_request", "array");
  expect_error(post(f, "/route/ScreenCaptured", "application/json", "not json"), 400, "bad_request", "not valid JSON");
  expect_error(post(f, "/route/Nope", "application/json", "{\"rules\": []}"), 404, "not_found", "no event `Nope`");
  /* The GET form can be sent back as it is. */
  r = get(f, "/event/TimecardEntry");
  struct reply again = post(f, "/route/TimecardEntry", "application/json",
                            json_object_to_json_string(at(r.json, "routingConfig")));
  assert_int_equal(again.status, 200);
  assert_true(json_object_equal(at(r.json, "routingConfig"), at(again.json, "routingConfig")));
  done(&again);
  done(&r);
}

/* ---- POST /events ------------------------------------------------------------------- */

static void put_events_answers_per_entry(void **state) {
  struct fixture *f = *state;
  struct reply r = post(f, "/events", "application/json",
                        "{\"Entries\": ["
                        "{\"Source\": \"capture.client\", \"DetailType\": \"Screen Captured\", \"Detail\": \"{\\\"profile\\\": "
                        "{\\\"session_id\\\": \\\"s\\\", \\\"user\\\": \\\"u\\\"}, \\\"data\\\": {\\\"uri\\\": \\\"u\\\", "
                        "\\\"mime\\\": \\\"m\\\", \\\"bytes\\\": 1}}\"},"
                        "{\"Source\": \"x\", \"DetailType\": \"y\", \"Detail\": \"[1]\"},"
                        "{\"Source\": \"x\", \"Detail\": \"{}\"},"
                        "{\"Source\": \"capture.client\", \"DetailType\": \"Screen Captured\", \"Detail\": \"{}\"},"
                        "{\"Source\": \"other.app\", \"DetailType\": \"Anything\", \"Detail\": \"{}\", \"Time\": 1700000000},"
                        "{\"Source\": \"x\", \"DetailType\": \"y\", \"Detail\": \"{}\", \"Colour\": 1}"
                        "]}");
  if (r.status != 200) fail_msg("%s", r.raw.body);
  assert_int_equal(json_object_get_int(at(r.json, "FailedEntryCount")), 4);
  assert_int_equal(strlen(str(r.json, "Entries.0.EventId")), 36);
  assert_string_equal(str(r.json, "Entries.1.ErrorCode"), "MalformedDetail");
  assert_string_equal(str(r.json, "Entries.2.ErrorCode"), "InvalidArgument");
  assert_non_null(strstr(str(r.json, "Entries.2.ErrorMessage"), "DetailType"));
  assert_string_equal(str(r.json, "Entries.3.ErrorCode"), "EventRejected");
  assert_non_null(strstr(str(r.json, "Entries.3.ErrorMessage"), "does not fit event `ScreenCaptured`"));
  assert_int_equal(strlen(str(r.json, "Entries.4.EventId")), 36);   /* an undeclared event is accepted */
  assert_string_equal(str(r.json, "Entries.5.ErrorCode"), "InvalidArgument");
  assert_null(at(r.json, "Entries.0.ErrorCode"));
  done(&r);
  /* One event in EventBridge's envelope keeps its id. */
  r = post(f, "/events", "application/json", "{\"id\": \"mine\", \"source\": \"a\", \"detail-type\": \"b\", \"detail\": {}}");
  assert_int_equal(r.status, 200);
  assert_string_equal(str(r.json, "Entries.0.EventId"), "mine");
  done(&r);
  /* One PutEvents entry alone. */
  r = post(f, "/events", "application/json", "{\"Source\": \"a\", \"DetailType\": \"b\", \"Detail\": \"{}\"}");
  assert_int_equal(r.status, 200);
  assert_int_equal(json_object_get_int(at(r.json, "FailedEntryCount")), 0);
  done(&r);
  char eleven[2048] = "{\"Entries\": [";
  for (int i = 0; i < 11; i++) strcat(eleven, i ? ",{\"Source\":\"a\",\"DetailType\":\"b\",\"Detail\":\"{}\"}" : "{\"Source\":\"a\",\"DetailType\":\"b\",\"Detail\":\"{}\"}");
  strcat(eleven, "]}");
  expect_error(post(f, "/events", "application/json", eleven), 400, "bad_request", "1 to 10 entries");
  expect_error(post(f, "/events", "application/json", "{\"Entries\": []}"), 400, "bad_request", "1 to 10 entries");
  expect_error(post(f, "/events", "application/json", "{\"Entries\": [], \"x\": 1}"), 400, "bad_request", "only \"Entries\"");
  expect_error(post(f, "/events", "application/json", "[1]"), 400, "bad_request", "JSON object");
  expect_error(post(f, "/events", "application/json", ""), 400, "bad_request", "needs a JSON body");
}

static void engine_follows_the_store(void **state) {
  struct fixture *f = *state;
  assert_int_equal(idle_emitted(f), 0);   /* no idle flow yet */
  struct reply r = post(f, "/flow", "text/x-efc", idle_flow);
  assert_int_equal(r.status, 201);
  done(&r);
  assert_int_equal(idle_emitted(f), 1);
  r = request(f->api, "DELETE", "/flow/idle", NULL, NULL, NULL, NULL);
  assert_int_equal(r.status, 200);
  done(&r);
  assert_int_equal(idle_emitted(f), 0);
}

/* ---- threads --------------------------------------------------------------------------- */

struct worker { struct fixture *f; int id, failures; };

static void *work(void *arg) {
  struct worker *w = arg;
  char source[256], path[64];
  for (int round = 0; round < 15; round++) {
    snprintf(source, sizeof source, "flow w%d_%d { on ScreenCaptured | map { user: profile.user } -> emit IdleSeen }", w->id, round);
    struct reply r = post(w->f, "/flow", "text/x-efc", source);
    w->failures += r.status != 201;
    done(&r);
    r = post(w->f, "/events", "application/json", idle_event);
    w->failures += r.status != 200;
    done(&r);
    if (round % 2) {
      snprintf(path, sizeof path, "/flow/w%d_%d", w->id, round);
      r = request(w->f->api, "DELETE", path, NULL, NULL, NULL, NULL);
      w->failures += r.status != 200;
      done(&r);
    }
  }
  return NULL;
}

static void concurrent_writers_agree(void **state) {
  struct fixture *f = *state;
  struct reply r = post(f, "/flow", "text/x-efc", idle_flow);
  assert_int_equal(r.status, 201);
  done(&r);
  enum { N = 6 };
  pthread_t t[N];
  struct worker w[N];
  for (int i = 0; i < N; i++) {
    w[i] = (struct worker){ f, i, 0 };
    pthread_create(&t[i], NULL, work, &w[i]);
  }
  for (int i = 0; i < N; i++) {
    pthread_join(t[i], NULL);
    assert_int_equal(w[i].failures, 0);
  }
  /* Each worker kept its 8 even-numbered flows; each has its rule. */
  struct reply flows = get(f, "/flows");
  assert_int_equal(json_object_array_length(flows.json), 1 + 1 + N * 8);
  done(&flows);
  char rules[8192];
  rules_of(f, "ScreenCaptured", rules, sizeof rules);
  int count = 0;
  for (char *p = strtok(rules, " "); p; p = strtok(NULL, " ")) count++;
  assert_int_equal(count, 1 + 1 + N * 8);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(health, setup, teardown),
    cmocka_unit_test_setup_teardown(unknown_paths_and_methods, setup, teardown),
    cmocka_unit_test_setup_teardown(ids_are_checked, setup, teardown),
    cmocka_unit_test(token_required),
    cmocka_unit_test(body_limit),
    cmocka_unit_test(other_sites_are_refused),
    cmocka_unit_test_setup_teardown(bodies_must_say_json, setup, teardown),
    cmocka_unit_test_setup_teardown(ids_cut_at_nul_are_refused, setup, teardown),
    cmocka_unit_test(admitted_before_the_body),
    cmocka_unit_test_setup_teardown(compiles_do_not_wait_for_the_writer, setup, teardown),
    cmocka_unit_test_setup_teardown(items_too_large_are_refused, setup, teardown),
    cmocka_unit_test_setup_teardown(loaded_items_come_back, setup, teardown),
    cmocka_unit_test_setup_teardown(create_and_delete_a_flow, setup, teardown),
    cmocka_unit_test_setup_teardown(create_from_json, setup, teardown),
    cmocka_unit_test_setup_teardown(deep_json_is_refused, setup, teardown),
    cmocka_unit_test_setup_teardown(compile_errors_have_positions, setup, teardown),
    cmocka_unit_test(stored_stages_and_types_compile_again),
    cmocka_unit_test_setup_teardown(routing_is_validated_and_honoured, setup, teardown),
    cmocka_unit_test_setup_teardown(put_events_answers_per_entry, setup, teardown),
    cmocka_unit_test_setup_teardown(engine_follows_the_store, setup, teardown),
    cmocka_unit_test_setup_teardown(concurrent_writers_agree, setup, teardown),
  };
  cmocka_set_message_output(CM_OUTPUT_TAP);
  return cmocka_run_group_tests_name("handlers", tests, NULL, NULL);
}
