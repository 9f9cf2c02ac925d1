/* serve_load_client.c — the load test's clients (built and run by serve_load.t).
 *
 *   serve_load_client URL SERVER_PID TOTAL CLIENTS TOKEN
 *
 * CLIENTS concurrent clients (libcurl multi, one keep-alive connection
 * each) send TOTAL requests in all.  Client i owns event Ping_i, the flow
 * home_i and the flows f_i_K it creates and deletes, and keeps a model of
 * what the server told it: which of its flows exist, and the exact rules of
 * Ping_i's routing configuration (route updates replace them, creates
 * append, deletes remove).  Every answer is checked against the model:
 * statuses (expected errors included: 404 of a deleted flow, 409 of a
 * duplicate, 400 of a bad pattern or a flow that does not compile, 401
 * without the token), and for POST /events how many Pong_i the flows
 * emitted (one per rule that matches).  At the end the store is read back
 * and compared with the models.  The server's VmRSS is read after a
 * warm-up quarter and at the end.
 *
 * Prints key=value lines for the test; exits 0 when nothing unexpected
 * happened.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <curl/curl.h>
#include <json-c/json.h>

#define MAX_LIVE 3

struct rule { char entry[64]; int min; };   /* min >= 0: home's pattern {"n": [{"numeric": [">=", min]}]} */

struct client {
  int id;
  unsigned seed;
  CURL *easy;
  struct curl_slist *headers;
  char url[512], *body;
  size_t body_len, body_cap;
  char sent[4096];
  /* the request in flight: what it was, what it expects */
  enum { OP_SETUP, OP_READ, OP_READ_GONE, OP_LIST, OP_CREATE, OP_DUP, OP_DELETE, OP_DELETE_GONE, OP_ROUTE,
         OP_BAD_ROUTE, OP_BAD_FLOW, OP_EVENTS, OP_NO_TOKEN } op;
  int expect;
  char target[64];
  int route_min;
  /* the model */
  char live[MAX_LIVE][64];
  int nlive, next_flow, ready;
  struct rule rules[MAX_LIVE + 1];
  int nrules;
};

static const char *base, *token;
static struct client *all_clients;

static int clients_ready(int j) { return all_clients[j].ready; }
static long total, sent_count, done_count, unexpected, expected_errors;
static int nclients;

static void complain(struct client *c, const char *fmt, ...) {
  va_list ap;
  unexpected++;
  if (unexpected > 20) return;
  fprintf(stderr, "client %d: ", c->id);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\n");
}

static size_t on_body(char *data, size_t size, size_t n, void *ctx) {
  struct client *c = ctx;
  size_t len = size * n;
  if (c->body_len + len + 1 > c->body_cap) {
    c->body_cap = (c->body_len + len + 1) * 2;
    c->body = realloc(c->body, c->body_cap);
  }
  memcpy(c->body + c->body_len, data, len);
  c->body_len += len;
  c->body[c->body_len] = 0;
  return len;
}

static long rss_kb(const char *pid) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%s/status", pid);
  FILE *f = fopen(path, "r");
  long kb = -1;
  while (f && fgets(line, sizeof line, f))
    if (strncmp(line, "VmRSS:", 6) == 0) kb = atol(line + 6);
  if (f) fclose(f);
  return kb;
}

/* ---- requests ------------------------------------------------------------ */

static void prepare(struct client *c, const char *method, const char *path, const char *type, const char *body, int auth) {
  snprintf(c->url, sizeof c->url, "%s%s", base, path);
  curl_easy_setopt(c->easy, CURLOPT_URL, c->url);
  curl_easy_setopt(c->easy, CURLOPT_CUSTOMREQUEST, method);
  curl_slist_free_all(c->headers);
  c->headers = NULL;
  char h[256];
  if (auth) {
    snprintf(h, sizeof h, "Authorization: Bearer %s", token);
    c->headers = curl_slist_append(c->headers, h);
  }
  if (type) {
    snprintf(h, sizeof h, "Content-Type: %s", type);
    c->headers = curl_slist_append(c->headers, h);
  }
  c->headers = curl_slist_append(c->headers, "Expect:");
  curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, c->headers);
  if (body) {
    snprintf(c->sent, sizeof c->sent, "%s", body);
    curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, c->sent);
    curl_easy_setopt(c->easy, CURLOPT_POSTFIELDSIZE, (long)strlen(c->sent));
  } else {
    curl_easy_setopt(c->easy, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(c->easy, CURLOPT_CUSTOMREQUEST, method);
  }
  c->body_len = 0;
  if (c->body) c->body[0] = 0;
}

/* The routing configuration of Ping_i the model says, with home's minimum
 * set to `min`. */
static void routing_body(struct client *c, int min, char *out, size_t size) {
  size_t n = (size_t)snprintf(out, size, "{\"rules\": [");
  n += (size_t)snprintf(out + n, size - n,
                        "{\"rule\": \"r-home_%d\", \"entry\": \"home_%d\", \"kind\": \"flow\", \"pattern\": "
                        "{\"source\": [\"load.c%d\"], \"detail-type\": [\"Ping_%d\"], \"detail\": {\"n\": [{\"numeric\": [\">=\", %d]}]}}}",
                        c->id, c->id, c->id, c->id, min);
  for (int i = 0; i < c->nlive; i++)
    n += (size_t)snprintf(out + n, size - n,
                          ", {\"rule\": \"r-%s\", \"entry\": \"%s\", \"kind\": \"flow\", \"pattern\": "
                          "{\"source\": [\"load.c%d\"], \"detail-type\": [\"Ping_%d\"]}}",
                          c->live[i], c->live[i], c->id, c->id);
  snprintf(out + n, size - n, "]}");
}

static void next_request(struct client *c) {
  char path[256], body[4096];
  int r = (int)(rand_r(&c->seed) % 1000);
  c->expect = 200;
  if (!c->ready) {
    c->op = OP_SETUP;
    c->expect = 201;
    snprintf(body, sizeof body,
             "event Ping_%d from \"load.c%d\" { n: int }\nevent Pong_%d from \"load.c%d\" { n: int }\n"
             "flow home_%d {\n  on Ping_%d\n  | map { n: n }\n  -> emit Pong_%d\n}\n",
             c->id, c->id, c->id, c->id, c->id, c->id, c->id);
    prepare(c, "POST", "/flow", "text/x-efc", body, 1);
    return;
  }
  if (r < 600 || r >= 860) {                      /* reads: others' items, the loaded app's */
    int j = (int)(rand_r(&c->seed) % (unsigned)nclients);
    for (int k = 0; k < nclients && !clients_ready(j); k++) j = (j + 1) % nclients;   /* told "created": it is there */
    c->op = OP_READ;
    if (r < 280) snprintf(path, sizeof path, "/flow/home_%d", j);
    else if (r < 560) snprintf(path, sizeof path, "/event/Ping_%d", j);
    else if (r < 600) snprintf(path, sizeof path, "/health");
    else snprintf(path, sizeof path, r < 940 ? "/flow/timecard" : "/event/ScreenCaptured");
    prepare(c, "GET", path, NULL, NULL, 1);
  } else if (r < 640 && c->nlive) {                /* one of its own flows */
    c->op = OP_READ;
    snprintf(path, sizeof path, "/flow/%s", c->live[rand_r(&c->seed) % (unsigned)c->nlive]);
    prepare(c, "GET", path, NULL, NULL, 1);
  } else if (r < 655) {                            /* one it deleted (or never made) */
    c->op = OP_READ_GONE;
    c->expect = 404;
    snprintf(path, sizeof path, "/flow/gone_%d_%d", c->id, r);
    prepare(c, "GET", path, NULL, NULL, 1);
  } else if (r < 670) {
    c->op = OP_LIST;
    prepare(c, "GET", r < 665 ? "/flows" : "/events", NULL, NULL, 1);
  } else if (r < 720) {                            /* create, or delete when it has enough */
    if (c->nlive < MAX_LIVE) {
      c->op = OP_CREATE;
      c->expect = 201;
      snprintf(c->target, sizeof c->target, "f_%d_%d", c->id, c->next_flow++);
      snprintf(body, sizeof body, "flow %s {\n  on Ping_%d\n  | map { n: n + 1 }\n  -> emit Pong_%d\n}\n", c->target, c->id,
               c->id);
      prepare(c, "POST", "/flow", "text/x-efc", body, 1);
    } else {
      c->op = OP_DELETE;
      snprintf(c->target, sizeof c->target, "%s", c->live[rand_r(&c->seed) % (unsigned)c->nlive]);
      snprintf(path, sizeof path, "/flow/%s", c->target);
      prepare(c, "DELETE", path, NULL, NULL, 1);
    }
  } else if (r < 750 && c->nlive) {
    c->op = OP_DELETE;
    snprintf(c->target, sizeof c->target, "%s", c->live[rand_r(&c->seed) % (unsigned)c->nlive]);
    snprintf(path, sizeof path, "/flow/%s", c->target);
    prepare(c, "DELETE", path, NULL, NULL, 1);
  } else if (r < 755) {                            /* delete what is not there */
    c->op = OP_DELETE_GONE;
    c->expect = 404;
    snprintf(path, sizeof path, "/flow/gone_%d", c->id);
    prepare(c, "DELETE", path, NULL, NULL, 1);
  } else if (r < 760 && c->nlive) {                /* create what is there */
    c->op = OP_DUP;
    c->expect = 409;
    snprintf(body, sizeof body, "flow %s { on Ping_%d | map { n: n } -> emit Pong_%d }", c->live[0], c->id, c->id);
    prepare(c, "POST", "/flow", "text/x-efc", body, 1);
  } else if (r < 805) {                            /* route update */
    c->op = OP_ROUTE;
    c->route_min = (int)(rand_r(&c->seed) % 10);
    routing_body(c, c->route_min, body, sizeof body);
    snprintf(path, sizeof path, "/route/Ping_%d", c->id);
    prepare(c, "POST", path, "application/json", body, 1);
  } else if (r < 810) {
    c->op = OP_BAD_ROUTE;
    c->expect = 400;
    snprintf(body, sizeof body, "{\"rules\": [{\"rule\": \"x\", \"entry\": \"home_%d\", \"kind\": \"flow\", \"pattern\": "
             "{\"source\": [\"load.c%d\"], \"detail-type\": [\"Ping_%d\"], \"detail\": {\"n\": [{\"numeric\": [\">\"]}]}}}]}",
             c->id, c->id, c->id);
    snprintf(path, sizeof path, "/route/Ping_%d", c->id);
    prepare(c, "POST", path, "application/json", body, 1);
  } else if (r < 815) {
    c->op = OP_BAD_FLOW;
    c->expect = 400;
    snprintf(body, sizeof body, "flow bad_%d { on Ping_%d | map { n: m } -> emit Pong_%d }", c->id, c->id, c->id);
    prepare(c, "POST", "/flow", "text/x-efc", body, 1);
  } else if (r < 835) {
    c->op = OP_NO_TOKEN;
    c->expect = 401;
    prepare(c, "GET", "/flows", NULL, NULL, 0);
  } else {                                         /* events */
    c->op = OP_EVENTS;
    c->route_min = (int)(rand_r(&c->seed) % 10);   /* the event's n */
    snprintf(body, sizeof body, "{\"Entries\": [{\"Source\": \"load.c%d\", \"DetailType\": \"Ping_%d\", \"Detail\": \"{\\\"n\\\": %d}\"}]}",
             c->id, c->id, c->route_min);
    prepare(c, "POST", "/events", "application/json", body, 1);
  }
}

static void remove_live(struct client *c, const char *name) {
  for (int i = 0; i < c->nlive; i++)
    if (strcmp(c->live[i], name) == 0) {
      memmove(&c->live[i], &c->live[i + 1], (size_t)(c->nlive - i - 1) * sizeof c->live[0]);
      c->nlive--;
    }
  for (int i = 0; i < c->nrules; i++)
    if (strcmp(c->rules[i].entry, name) == 0) {
      memmove(&c->rules[i], &c->rules[i + 1], (size_t)(c->nrules - i - 1) * sizeof c->rules[0]);
      c->nrules--;
    }
}

/* Checks an answer against the model, and updates the model. */
static void finished(struct client *c, CURLcode result) {
  long status = 0;
  curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
  done_count++;
  if (result != CURLE_OK) {
    complain(c, "%s: %s", c->url, curl_easy_strerror(result));
    return;
  }
  if (status != c->expect) {
    complain(c, "%s: status %ld, expected %d: %.300s (sent %.200s)", c->url, status, c->expect, c->body, c->sent);
    return;
  }
  if (status >= 400) expected_errors++;
  switch (c->op) {
  case OP_SETUP:
    c->ready = 1;
    c->nrules = 1;
    snprintf(c->rules[0].entry, sizeof c->rules[0].entry, "home_%d", c->id);
    c->rules[0].min = -1;
    break;
  case OP_CREATE:
    snprintf(c->live[c->nlive++], sizeof c->live[0], "%s", c->target);
    snprintf(c->rules[c->nrules].entry, sizeof c->rules[0].entry, "%s", c->target);
    c->rules[c->nrules++].min = -1;
    break;
  case OP_DELETE:
    remove_live(c, c->target);
    break;
  case OP_ROUTE:
    c->nrules = 0;
    snprintf(c->rules[c->nrules].entry, sizeof c->rules[0].entry, "home_%d", c->id);
    c->rules[c->nrules++].min = c->route_min;
    for (int i = 0; i < c->nlive; i++) {
      snprintf(c->rules[c->nrules].entry, sizeof c->rules[0].entry, "%s", c->live[i]);
      c->rules[c->nrules++].min = -1;
    }
    break;
  case OP_EVENTS: {
    /* One Pong_i per rule whose pattern takes n. */
    int want = 0;
    for (int i = 0; i < c->nrules; i++) want += c->rules[i].min < 0 || c->route_min >= c->rules[i].min;
    struct json_object *o = json_tokener_parse(c->body), *emitted = NULL, *failed = NULL;
    json_object_object_get_ex(o, "Emitted", &emitted);
    json_object_object_get_ex(o, "FailedEntryCount", &failed);
    int got = emitted ? (int)json_object_array_length(emitted) : -1;
    if (got != want || json_object_get_int(failed) != 0)
      complain(c, "POST /events n=%d: %d emitted, the model says %d: %.300s", c->route_min, got, want, c->body);
    json_object_put(o);
    break;
  }
  default:
    break;
  }
}

/* ---- verification -------------------------------------------------------- */

static struct json_object *fetch(CURL *easy, struct client *c, const char *path) {
  prepare(c, "GET", path, NULL, NULL, 1);
  if (curl_easy_perform(easy) != CURLE_OK) return NULL;
  return json_tokener_parse(c->body);
}

static int verify(struct client *clients) {
  struct client *c = &clients[0];
  int bad = 0;
  struct json_object *flows = fetch(c->easy, c, "/flows");
  size_t want = 1;   /* timecard */
  for (int i = 0; i < nclients; i++) want += 1 + (size_t)clients[i].nlive;
  if (!flows || json_object_array_length(flows) != want) {
    fprintf(stderr, "verify: %zu flows stored, the clients were told %zu\n", flows ? json_object_array_length(flows) : 0, want);
    bad++;
  }
  for (int i = 0; i < nclients; i++) {
    struct client *m = &clients[i];
    for (int k = 0; k < m->nlive; k++) {
      int found = 0;
      for (size_t f = 0; flows && f < json_object_array_length(flows); f++) {
        struct json_object *flow = json_object_array_get_idx(flows, f), *id, *data, *src;
        if (json_object_object_get_ex(flow, "flowId", &id) && strcmp(json_object_get_string(id), m->live[k]) == 0 &&
            json_object_object_get_ex(flow, "data", &data) && json_object_object_get_ex(data, "source", &src) &&
            strncmp(json_object_get_string(src), "flow ", 5) == 0)
          found = 1;
      }
      if (!found) {
        fprintf(stderr, "verify: flow %s is missing or torn\n", m->live[k]);
        bad++;
      }
    }
    char path[64];
    snprintf(path, sizeof path, "/event/Ping_%d", m->id);
    struct json_object *ev = fetch(c->easy, c, path), *routing, *rules;
    if (!ev || !json_object_object_get_ex(ev, "routingConfig", &routing) || !json_object_object_get_ex(routing, "rules", &rules) ||
        (int)json_object_array_length(rules) != m->nrules) {
      fprintf(stderr, "verify: Ping_%d has %d rules, the model %d: %.300s\n", m->id,
              ev && json_object_object_get_ex(ev, "routingConfig", &routing) && json_object_object_get_ex(routing, "rules", &rules)
                ? (int)json_object_array_length(rules) : -1, m->nrules, c->body);
      bad++;
    } else {
      for (int k = 0; k < m->nrules; k++) {
        struct json_object *rule = json_object_array_get_idx(rules, (size_t)k), *entry;
        json_object_object_get_ex(rule, "entry", &entry);
        const char *text = json_object_to_json_string(rule);
        char min[64];
        snprintf(min, sizeof min, "[ \">=\", %d ]", m->rules[k].min);
        if (strcmp(json_object_get_string(entry), m->rules[k].entry) != 0 ||
            (m->rules[k].min >= 0 && !strstr(text, min))) {
          fprintf(stderr, "verify: Ping_%d rule %d is %s, the model says %s (min %d)\n", m->id, k, text, m->rules[k].entry,
                  m->rules[k].min);
          bad++;
        }
      }
    }
    json_object_put(ev);
  }
  json_object_put(flows);
  return bad;
}

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: serve_load_client URL SERVER_PID TOTAL CLIENTS TOKEN\n");
    return 2;
  }
  base = argv[1];
  const char *pid = argv[2];
  total = atol(argv[3]);
  nclients = atoi(argv[4]);
  token = argv[5];
  curl_global_init(CURL_GLOBAL_DEFAULT);
  CURLM *multi = curl_multi_init();
  struct client *clients = calloc((size_t)nclients, sizeof *clients);
  all_clients = clients;
  for (int i = 0; i < nclients; i++) {
    struct client *c = &clients[i];
    c->id = i;
    c->seed = 1000u + (unsigned)i;
    c->easy = curl_easy_init();
    curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(c->easy, CURLOPT_PRIVATE, c);
    curl_easy_setopt(c->easy, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(c->easy, CURLOPT_NOSIGNAL, 1L);
    next_request(c);
    curl_multi_add_handle(multi, c->easy);
    sent_count++;
  }
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  long rss_warm = -1, running = 1;
  int still = 0;
  while (running) {
    curl_multi_perform(multi, &still);
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(multi, &left))) {
      if (msg->msg != CURLMSG_DONE) continue;
      struct client *c;
      CURL *easy = msg->easy_handle;
      CURLcode result = msg->data.result;
      curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&c);
      curl_multi_remove_handle(multi, easy);
      finished(c, result);
      if (rss_warm < 0 && done_count >= total / 4) rss_warm = rss_kb(pid);
      if (getenv("LOAD_RSS_TRACE") && done_count % (total / 10) == 0) fprintf(stderr, "rss at %ld: %ld kB\n", done_count, rss_kb(pid));
      if (sent_count < total) {
        next_request(c);
        curl_multi_add_handle(multi, easy);
        sent_count++;
      }
    }
    if (done_count >= sent_count && sent_count >= total) running = 0;
    else curl_multi_poll(multi, NULL, 0, 100, NULL);
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  long rss_end = rss_kb(pid);
  double seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  int bad = verify(clients);
  printf("requests=%ld\nunexpected=%ld\nexpected_errors=%ld\nseconds=%.1f\nrate=%.0f\nrss_warm_kb=%ld\nrss_end_kb=%ld\nverify_failures=%d\n",
         done_count, unexpected, expected_errors, seconds, (double)done_count / seconds, rss_warm, rss_end, bad);
  for (int i = 0; i < nclients; i++) {
    curl_slist_free_all(clients[i].headers);
    curl_easy_cleanup(clients[i].easy);
    free(clients[i].body);
  }
  free(clients);
  curl_multi_cleanup(multi);
  curl_global_cleanup();
  return unexpected || bad ? 1 : 0;
}
