/* fuzz_serve.c — the Event Store Wrapper's handlers, without HTTP.
 *
 * The input is up to FUZZ_MAX_REQUESTS requests, separated by a line
 * "===", each written as HTTP/1.1 would write it:
 *     METHOD PATH[?QUERY]
 *     Name: value            (any number of headers)
 *                            (an empty line)
 *     body...
 * and passed to api_handle() in turn (so a POST /flow can be followed by a
 * POST /events that runs it), over a memory store that starts each input
 * holding the application of run_app.flow (compiled once) and an empty
 * memory state.  Beyond "no crash, no leak": every answer has a status
 * between 200 and 599 and a JSON body, as handlers.h promises.
 */
#include <string.h>
#include <json-c/json.h>
#include "catalog.h"
#include "check.h"
#include "compile.h"
#include "evstore.h"
#include "fuzz.h"
#include "handlers.h"
#include "parse.h"
#include "state.h"
#include "stdlib_files.h"

#define FUZZ_MAX_REQUESTS 4
#define FUZZ_MAX_HEADERS  16
#define REQUEST_SEPARATOR "\n===\n"

/* run_app.flow, embedded by fuzz.mk with tools/embed.sh: one entry, then { NULL, NULL }. */
extern const struct stdlib_file fuzz_apps[];

static struct evstore_list app_items;   /* what `efc store load` would store for the app */

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  struct diag d;
  diag_init(&d);
  struct source *src = diag_add_source(&d, "run_app.flow", fuzz_apps[0].text, strlen(fuzz_apps[0].text));
  struct program *p = parse_program(&d, src);
  struct compilation c;
  if (d.errors == 0) check_program(p, &d);
  FUZZ_REQUIRE(d.errors == 0 && compile_program(p, &d, NULL, &c) == 0, "run_app.flow does not compile");
  struct evstore_list incoming = { 0 }, stored = { 0 };
  char why[400];
  FUZZ_REQUIRE(evstore_parse_batches(c.store_json, &incoming, NULL, why, sizeof why) == 0, "%s", why);
  struct catalog_change change;
  memset(&change, 0, sizeof change);
  struct catalog_result r;
  catalog_result_init(&r);
  FUZZ_REQUIRE(catalog_load(&stored, &incoming, &change, &r) == CATALOG_OK, "cannot load run_app.flow: %s", r.message);
  app_items = change.puts;
  change.puts = (struct evstore_list){ 0 };
  catalog_change_free(&change);
  catalog_result_free(&r);
  evstore_list_free(&incoming);
  compilation_free(&c);
  ast_program_free(p);
  diag_free(&d);
  return 0;
}

/* A copy of n bytes as a C string (the request's strings are NUL-terminated). */
static char *text(const char *s, size_t n) {
  char *t = malloc(n + 1);
  FUZZ_REQUIRE(t, "out of memory");
  memcpy(t, s, n);
  t[n] = 0;
  return t;
}

/* Parses one request out of [s, s+n) and runs it. */
static void one_request(struct api *api, const char *s, size_t n) {
  const char *end = s + n, *eol = memchr(s, '\n', n);
  char *line = text(s, (size_t)((eol ? eol : end) - s));
  const char *p = eol ? eol + 1 : end;
  struct api_header headers[FUZZ_MAX_HEADERS];
  char *owned[FUZZ_MAX_HEADERS];
  size_t nheaders = 0;
  while (p < end && *p != '\n') {   /* headers up to the empty line */
    const char *hl = memchr(p, '\n', (size_t)(end - p));
    char *h = text(p, (size_t)((hl ? hl : end) - p));
    p = hl ? hl + 1 : end;
    char *colon = strchr(h, ':');
    if (!colon || nheaders == FUZZ_MAX_HEADERS) {
      free(h);
      continue;
    }
    *colon = 0;
    owned[nheaders] = h;
    headers[nheaders++] = (struct api_header){ h, colon + 1 + strspn(colon + 1, " ") };
  }
  if (p < end) p++;   /* the empty line */
  char *body = text(p, (size_t)(end - p));   /* its own buffer, so reading past body_size is caught */
  char *method = line, *path = strchr(line, ' ');
  if (path) *path++ = 0;
  else path = "/";
  char *query = strchr(path, '?');
  if (query) *query++ = 0;
  struct api_request rq = { .method = method, .path = path, .query = query, .headers = headers, .nheaders = nheaders,
                            .body = body, .body_size = (size_t)(end - p) };
  struct api_response rs;
  memset(&rs, 0, sizeof rs);
  api_handle(api, &rq, &rs);
  FUZZ_REQUIRE(rs.status >= 200 && rs.status <= 599, "status %d", rs.status);
  FUZZ_REQUIRE(rs.body && rs.content_type && strcmp(rs.content_type, "application/json") == 0, "an answer without a JSON body");
  struct json_object *json = json_tokener_parse(rs.body);
  FUZZ_REQUIRE(json, "the answer is not JSON: %s", rs.body);
  json_object_put(json);
  api_response_free(&rs);
  for (size_t i = 0; i < nheaders; i++) free(owned[i]);
  free(body);
  free(line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct evstore *store = evstore_open_memory();
  struct state_store *state = state_open_memory();
  FUZZ_REQUIRE(store && state, "out of memory");
  for (size_t i = 0; i < app_items.count; i++)
    FUZZ_REQUIRE(evstore_put(store, &app_items.items[i], EVSTORE_ANY) == EVSTORE_OK, "cannot store the app");
  struct api *api = api_new(store, state, NULL);
  FUZZ_REQUIRE(api, "out of memory");
  const char *s = (const char *)data, *end = s + size;
  for (int i = 0; i < FUZZ_MAX_REQUESTS && s < end; i++) {
    const char *sep = memmem(s, (size_t)(end - s), REQUEST_SEPARATOR, strlen(REQUEST_SEPARATOR));
    const char *stop = sep ? sep : end;
    one_request(api, s, (size_t)(stop - s));
    s = sep ? sep + strlen(REQUEST_SEPARATOR) : end;
  }
  api_free(api);
  state_close(state);
  evstore_close(store);
  return 0;
}
