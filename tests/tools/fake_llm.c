/* fake_llm.c — a loopback OpenAI-compatible chat-completions server for the
 * summarizer's tests (tests/e2e/views.t builds it with cc).
 *
 *   fake_llm --port-file F --log F --model M --prompt P [--image F] [--text F] [--key K] [--hang-ms N]
 *            [--answers F]
 *
 * It checks every request as a real endpoint would see it: POST
 * /v1/chat/completions, JSON, the bearer key, one user message whose content
 * is the prompt as text then the image (a data: URL with the base64 of
 * --image) or the text of --text, a bounded max_tokens.  A request that
 * differs gets 400 with what differs.  The model name chooses the answer:
 *
 *   M (--model)   200, "summary of N bytes of image/png" (or of text)
 *   fail-500      500 with an error object
 *   hang          answers only after --hang-ms (default 20000)
 *   malformed     200 with a body cut in the middle of the JSON
 *   no-choices    200 with JSON that has no choices
 *   flaky-429     429 (Retry-After: 0) and 200, alternately
 *   always-429    429, always
 *
 * With --answers F (lines "IMAGE<TAB>ANSWER", IMAGE a PNG file relative to
 * F's folder), any of
 * those images is accepted and model M answers with its line's text: a
 * fake that "knows" what a few pictures show (examples/knowledge-base).
 *
 * Each request is logged as "MODEL STATUS" on a line of --log.  The server
 * stops by itself after 300 s in case a test forgets it.
 */
#include <arpa/inet.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *port_file, *log_file, *want_model, *want_prompt, *want_key;
static char *want_image_b64, *want_text;
static long hang_ms = 20000;
/* --answers: the base64 of each known image and what the model says of it. */
static struct answer { char *b64, *text; } answers[64];
static int nanswers;
static int flaky_count;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static char *b64(const unsigned char *in, size_t n) {
  static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  char *out = malloc((n + 2) / 3 * 4 + 1), *o = out;
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) | (i + 2 < n ? in[i + 2] : 0);
    *o++ = t[v >> 18];
    *o++ = t[(v >> 12) & 63];
    *o++ = i + 1 < n ? t[(v >> 6) & 63] : '=';
    *o++ = i + 2 < n ? t[v & 63] : '=';
  }
  *o = 0;
  return out;
}

static char *slurp(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) { perror(path); exit(2); }
  fseek(f, 0, SEEK_END);
  long len = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc((size_t)len + 1);
  if (fread(buf, 1, (size_t)len, f) != (size_t)len) { perror(path); exit(2); }
  buf[len] = 0;
  fclose(f);
  *n = (size_t)len;
  return buf;
}

struct body { char *data; size_t len; };

static void log_line(const char *model, int status) {
  pthread_mutex_lock(&lock);
  FILE *f = fopen(log_file, "a");
  if (f) { fprintf(f, "%s %d\n", model, status); fclose(f); }
  pthread_mutex_unlock(&lock);
}

static enum MHD_Result reply(struct MHD_Connection *c, int status, const char *body, const char *extra_header) {
  struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
  MHD_add_response_header(r, "Content-Type", "application/json");
  if (extra_header) MHD_add_response_header(r, "Retry-After", extra_header);
  enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, r);
  MHD_destroy_response(r);
  return ret;
}

static enum MHD_Result error(struct MHD_Connection *c, const char *model, int status, const char *msg) {
  struct json_object *o = json_object_new_object(), *e = json_object_new_object();
  json_object_object_add(e, "message", json_object_new_string(msg));
  json_object_object_add(o, "error", e);
  log_line(model, status);
  enum MHD_Result r = reply(c, status, json_object_to_json_string(o), NULL);
  json_object_put(o);
  return r;
}

static const char *str(struct json_object *o, const char *k) {
  struct json_object *v;
  return o && json_object_object_get_ex(o, k, &v) && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* What differs from the expected request, or NULL. */
static const char *check(struct MHD_Connection *c, const char *url, struct json_object *req, char *why, size_t size) {
  if (strcmp(url, "/v1/chat/completions") != 0) return snprintf(why, size, "path %s, expected /v1/chat/completions", url), why;
  const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
  if (!ct || strncmp(ct, "application/json", 16) != 0) return "Content-Type is not application/json";
  if (want_key) {
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    char expect[512];
    snprintf(expect, sizeof expect, "Bearer %s", want_key);
    if (!auth || strcmp(auth, expect) != 0) return "missing or wrong Authorization: Bearer key";
  }
  if (!req || !json_object_is_type(req, json_type_object)) return "the body is not a JSON object";
  struct json_object *mt, *messages, *msg, *content, *p0, *p1, *img;
  if (!json_object_object_get_ex(req, "max_tokens", &mt) || !json_object_is_type(mt, json_type_int) ||
      json_object_get_int64(mt) < 1 || json_object_get_int64(mt) > 100000)
    return "max_tokens is missing or not in 1..100000";
  if (!json_object_object_get_ex(req, "messages", &messages) || !json_object_is_type(messages, json_type_array) ||
      json_object_array_length(messages) != 1)
    return "expected exactly one message";
  msg = json_object_array_get_idx(messages, 0);
  if (!str(msg, "role") || strcmp(str(msg, "role"), "user") != 0) return "the message's role is not user";
  if (!json_object_object_get_ex(msg, "content", &content) || !json_object_is_type(content, json_type_array) ||
      json_object_array_length(content) != 2)
    return "the content is not an array of two parts";
  p0 = json_object_array_get_idx(content, 0);
  p1 = json_object_array_get_idx(content, 1);
  if (!str(p0, "type") || strcmp(str(p0, "type"), "text") != 0 || !str(p0, "text")) return "the first part is not text";
  if (strcmp(str(p0, "text"), want_prompt) != 0)
    return snprintf(why, size, "the prompt is \"%.100s\", expected \"%.100s\"", str(p0, "text"), want_prompt), why;
  const char *type = str(p1, "type");
  if (type && strcmp(type, "image_url") == 0) {
    if (!want_image_b64 && !nanswers) return "an image was sent but none was expected";
    if (!json_object_object_get_ex(p1, "image_url", &img) || !str(img, "url")) return "image_url.url is missing";
    const char *u = str(img, "url"), *comma = strstr(u, ";base64,");
    if (strncmp(u, "data:image/png;base64,", 22) != 0 || !comma)
      return snprintf(why, size, "the image URL starts with \"%.30s\", expected data:image/png;base64,", u), why;
    int known = 0;
    for (int i = 0; i < nanswers; i++) known |= strcmp(comma + 8, answers[i].b64) == 0;
    if (known) return NULL;
    if (!want_image_b64) return "the image is none of the --answers images";
    if (strcmp(comma + 8, want_image_b64) != 0)
      return snprintf(why, size, "the image payload (%zu base64 chars) is not the base64 of the test image (%zu)",
                      strlen(comma + 8), strlen(want_image_b64)), why;
  } else if (type && strcmp(type, "text") == 0) {
    if (!want_text) return "text content was sent but none was expected";
    if (!str(p1, "text") || strcmp(str(p1, "text"), want_text) != 0) return "the text content is not the test file's";
  } else {
    return "the second part is neither image_url nor text";
  }
  return NULL;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                              const char *version, const char *upload, size_t *upload_size, void **state) {
  (void)cls; (void)version;
  struct body *b = *state;
  if (!b) {
    b = calloc(1, sizeof *b);
    *state = b;
    return MHD_YES;
  }
  if (*upload_size) {
    if (b->len + *upload_size > ((size_t)64 << 20)) return MHD_NO;
    b->data = realloc(b->data, b->len + *upload_size + 1);
    memcpy(b->data + b->len, upload, *upload_size);
    b->len += *upload_size;
    b->data[b->len] = 0;
    *upload_size = 0;
    return MHD_YES;
  }
  if (strcmp(method, "POST") != 0) return error(c, "-", 405, "POST only");
  struct json_object *req = b->data ? json_tokener_parse(b->data) : NULL;
  const char *model = str(req, "model");
  char why[400], msg[512];
  const char *bad = check(c, url, req, why, sizeof why);
  enum MHD_Result r;
  if (!model) {
    r = error(c, "-", 400, "fake_llm: no model");
  } else if (bad) {
    snprintf(msg, sizeof msg, "fake_llm: %s", bad);
    r = error(c, model, 400, msg);
  } else if (strcmp(model, "fail-500") == 0) {
    r = error(c, model, 500, "the model crashed");
  } else if (strcmp(model, "always-429") == 0) {
    log_line(model, 429);
    r = reply(c, 429, "{\"error\":{\"message\":\"rate limited\"}}", "0");
  } else if (strcmp(model, "flaky-429") == 0) {
    pthread_mutex_lock(&lock);
    int n = flaky_count++;
    pthread_mutex_unlock(&lock);
    if (n % 2 == 0) {
      log_line(model, 429);
      r = reply(c, 429, "{\"error\":{\"message\":\"slow down\"}}", "0");
    }
    else goto answer;
  } else if (strcmp(model, "malformed") == 0) {
    log_line(model, 200);
    r = reply(c, 200, "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"cut", NULL);
  } else if (strcmp(model, "no-choices") == 0) {
    log_line(model, 200);
    r = reply(c, 200, "{\"object\":\"chat.completion\",\"choices\":[]}", NULL);
  } else if (strcmp(model, "hang") == 0) {
    struct timespec ts = { hang_ms / 1000, (hang_ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
    goto answer;
  } else if (strcmp(model, want_model) != 0) {
    snprintf(msg, sizeof msg, "fake_llm: unexpected model %s", model);
    r = error(c, model, 400, msg);
  } else {
  answer:;
    struct json_object *msgs = NULL, *m0, *content, *p1;
    json_object_object_get_ex(req, "messages", &msgs);
    m0 = json_object_array_get_idx(msgs, 0);
    json_object_object_get_ex(m0, "content", &content);
    p1 = json_object_array_get_idx(content, 1);
    int is_image = str(p1, "type") && strcmp(str(p1, "type"), "image_url") == 0;
    char text[1024];
    snprintf(text, sizeof text, "  A summary of %s (model %s).\n", is_image ? "an image/png image" : "a text", model);
    if (is_image) {
      struct json_object *iu;
      const char *u = json_object_object_get_ex(p1, "image_url", &iu) ? str(iu, "url") : NULL;
      const char *comma = u ? strstr(u, ";base64,") : NULL;
      for (int i = 0; comma && i < nanswers; i++)
        if (strcmp(comma + 8, answers[i].b64) == 0) snprintf(text, sizeof text, "%s", answers[i].text);
    }
    struct json_object *o = json_object_new_object(), *choices = json_object_new_array(), *ch = json_object_new_object(),
                       *mo = json_object_new_object();
    json_object_object_add(mo, "role", json_object_new_string("assistant"));
    json_object_object_add(mo, "content", json_object_new_string(text));
    json_object_object_add(ch, "index", json_object_new_int(0));
    json_object_object_add(ch, "message", mo);
    json_object_object_add(ch, "finish_reason", json_object_new_string("stop"));
    json_object_array_add(choices, ch);
    json_object_object_add(o, "object", json_object_new_string("chat.completion"));
    json_object_object_add(o, "choices", choices);
    log_line(model, 200);
    r = reply(c, 200, json_object_to_json_string(o), NULL);
    json_object_put(o);
  }
  json_object_put(req);
  return r;
}

static void completed(void *cls, struct MHD_Connection *c, void **state, enum MHD_RequestTerminationCode toe) {
  (void)cls; (void)c; (void)toe;
  struct body *b = *state;
  if (b) { free(b->data); free(b); }
  *state = NULL;
}

int main(int argc, char **argv) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const char *k = argv[i], *v = argv[i + 1];
    size_t n;
    if (!strcmp(k, "--port-file")) port_file = v;
    else if (!strcmp(k, "--log")) log_file = v;
    else if (!strcmp(k, "--model")) want_model = v;
    else if (!strcmp(k, "--prompt")) want_prompt = v;
    else if (!strcmp(k, "--key")) want_key = v;
    else if (!strcmp(k, "--hang-ms")) hang_ms = atol(v);
    else if (!strcmp(k, "--image")) { char *d = slurp(v, &n); want_image_b64 = b64((unsigned char *)d, n); free(d); }
    else if (!strcmp(k, "--text")) want_text = slurp(v, &n);
    else if (!strcmp(k, "--answers")) {
      char *d = slurp(v, &n), *save = NULL;
      for (char *line = strtok_r(d, "\n", &save); line && nanswers < 64; line = strtok_r(NULL, "\n", &save)) {
        char *tab = strchr(line, '\t');
        if (!tab) { fprintf(stderr, "fake_llm: %s: a line without a tab\n", v); return 2; }
        *tab = 0;
        char path[4096];   /* relative to the answers file's folder */
        const char *slash = strrchr(v, '/');
        if (line[0] == '/' || !slash) snprintf(path, sizeof path, "%s", line);
        else snprintf(path, sizeof path, "%.*s/%s", (int)(slash - v), v, line);
        char *img = slurp(path, &n);
        answers[nanswers].b64 = b64((unsigned char *)img, n);
        answers[nanswers++].text = strdup(tab + 1);
        free(img);
      }
      free(d);
    }
    else { fprintf(stderr, "fake_llm: unknown option %s\n", k); return 2; }
  }
  if (!port_file || !log_file || !want_model || !want_prompt) {
    fprintf(stderr, "usage: fake_llm --port-file F --log F --model M --prompt P [--image F] [--text F] [--key K] [--hang-ms N] [--answers F]\n");
    return 2;
  }
  struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = 0 };
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  struct MHD_Daemon *d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL,
                                          handle, NULL, MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
                                          MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_END);
  if (!d) { fprintf(stderr, "fake_llm: cannot start\n"); return 1; }
  const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s.tmp", port_file);
  FILE *f = fopen(tmp, "w");
  fprintf(f, "%u\n", (unsigned)info->port);
  fclose(f);
  rename(tmp, port_file);
  sleep(300);
  return 0;
}
