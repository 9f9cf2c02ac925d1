/* llm_openai.c — the summarizer's local provider: any OpenAI-compatible
 * chat-completions endpoint (OpenAI, llama.cpp's server, vLLM, Ollama, ...).
 *
 *   POST {EFC_LLM_URL}/chat/completions
 *   Authorization: Bearer {EFC_LLM_API_KEY}        (when set)
 *   { "model": M, "max_tokens": N,
 *     "messages": [{ "role": "user", "content": [
 *        { "type": "text", "text": PROMPT },
 *        { "type": "image_url", "image_url": { "url": "data:MIME;base64,..." } }
 *                      (or, for text content, { "type": "text", "text": CONTENT }) ]}]}
 *   -> choices[0].message.content
 *
 * Every request is bounded (EFC_LLM_TIMEOUT_MS, a connect timeout, a
 * response size limit); 429, 408, 5xx, timeouts and dropped connections are
 * retried EFC_LLM_RETRIES times with exponential backoff (EFC_LLM_BACKOFF_MS
 * doubling, at most EFC_LLM_BACKOFF_MAX_MS, raised to Retry-After when the
 * server sends one).  Anything else fails at once with the reason.
 */
#include <curl/curl.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "views.h"

#define RESPONSE_MAX ((size_t)8 << 20)

struct llm_config {
  const char *url, *model, *key;
  long timeout_ms, connect_ms, retries, backoff_ms, backoff_max_ms, max_tokens;
};

static CURL *curl;          /* kept between calls: connections are reused */
static int curl_ready;

/* An integer environment variable within [lo, hi], else the default. */
static long env_long(const char *name, long def, long lo, long hi) {
  const char *v = getenv(name);
  if (!v || !*v) return def;
  char *end;
  errno = 0;
  long n = strtol(v, &end, 10);
  if (errno || *end || n < lo) return def;
  return n > hi ? hi : n;
}

static const char *env_str(const char *name) {
  const char *v = getenv(name);
  return v && *v ? v : NULL;
}

static void read_config(struct llm_config *c) {
  c->url = env_str("EFC_LLM_URL");
  c->model = env_str("EFC_LLM_MODEL");
  c->key = env_str("EFC_LLM_API_KEY");
  c->timeout_ms = env_long("EFC_LLM_TIMEOUT_MS", 120000, 1, 3600000);
  c->connect_ms = c->timeout_ms < 10000 ? c->timeout_ms : 10000;
  c->retries = env_long("EFC_LLM_RETRIES", 2, 0, 10);
  c->backoff_ms = env_long("EFC_LLM_BACKOFF_MS", 1000, 0, 600000);
  c->backoff_max_ms = env_long("EFC_LLM_BACKOFF_MAX_MS", 30000, 0, 600000);
  c->max_tokens = env_long("EFC_LLM_MAX_TOKENS", 512, 1, 1000000);
}

/* ---- the request ----------------------------------------------------------- */

static char *base64(const unsigned char *in, size_t n) {
  static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  if (n > (SIZE_MAX - 1) / 4 * 3 - 3) return NULL;
  char *out = malloc((n + 2) / 3 * 4 + 1), *o = out;
  if (!out) return NULL;
  size_t i = 0;
  for (; i + 2 < n; i += 3) {
    uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
    *o++ = tab[v >> 18];
    *o++ = tab[(v >> 12) & 63];
    *o++ = tab[(v >> 6) & 63];
    *o++ = tab[v & 63];
  }
  if (i < n) {
    uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0);
    *o++ = tab[v >> 18];
    *o++ = tab[(v >> 12) & 63];
    *o++ = i + 1 < n ? tab[(v >> 6) & 63] : '=';
    *o++ = '=';
  }
  *o = 0;
  return out;
}

static struct json_object *text_part(const char *text, size_t len) {
  struct json_object *p = json_object_new_object();
  json_object_object_add(p, "type", json_object_new_string("text"));
  json_object_object_add(p, "text", json_object_new_string_len(text, (int)len));
  return p;
}

/* The request body, or NULL when out of memory. */
static char *request_body(const struct summarize_request *req, const char *model, long max_tokens) {
  struct json_object *content = json_object_new_array();
  json_object_array_add(content, text_part(req->prompt, strlen(req->prompt)));
  if (req->is_image) {
    char *b64 = base64(req->content.bytes, req->content.size);
    const char *mime = req->content.mime ? req->content.mime : "application/octet-stream";
    size_t n = b64 ? strlen(mime) + strlen(b64) + 16 : 0;
    char *url = b64 ? malloc(n) : NULL;
    if (!url) {
      free(b64);
      json_object_put(content);
      return NULL;
    }
    snprintf(url, n, "data:%s;base64,%s", mime, b64);
    free(b64);
    struct json_object *image = json_object_new_object(), *part = json_object_new_object();
    json_object_object_add(image, "url", json_object_new_string(url));
    free(url);
    json_object_object_add(part, "type", json_object_new_string("image_url"));
    json_object_object_add(part, "image_url", image);
    json_object_array_add(content, part);
  } else {
    json_object_array_add(content, text_part((const char *)req->content.bytes, req->content.size));
  }
  struct json_object *msg = json_object_new_object(), *messages = json_object_new_array(), *body = json_object_new_object();
  json_object_object_add(msg, "role", json_object_new_string("user"));
  json_object_object_add(msg, "content", content);
  json_object_array_add(messages, msg);
  json_object_object_add(body, "model", json_object_new_string(model));
  json_object_object_add(body, "messages", messages);
  json_object_object_add(body, "max_tokens", json_object_new_int64(max_tokens));
  const char *text = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
  char *copy = text ? strdup(text) : NULL;
  json_object_put(body);
  return copy;
}

/* ---- the exchange ---------------------------------------------------------- */

struct response {
  char *data;
  size_t len, cap;
  int too_big;
  long retry_after_ms;        /* -1: none */
};

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ctx) {
  struct response *r = ctx;
  size_t n = size * nmemb;
  if (r->len + n > RESPONSE_MAX) {
    r->too_big = 1;
    return 0;   /* aborts the transfer */
  }
  if (r->len + n + 1 > r->cap) {
    size_t cap = r->cap ? r->cap : 4096;
    while (cap < r->len + n + 1) cap *= 2;
    char *d = realloc(r->data, cap);
    if (!d) return 0;
    r->data = d;
    r->cap = cap;
  }
  memcpy(r->data + r->len, ptr, n);
  r->len += n;
  r->data[r->len] = 0;
  return n;
}

static size_t on_header(char *buf, size_t size, size_t nitems, void *ctx) {
  struct response *r = ctx;
  size_t n = size * nitems;
  if (n > 12 && strncasecmp(buf, "Retry-After:", 12) == 0) {
    char tmp[32];
    size_t k = n - 12 < sizeof tmp - 1 ? n - 12 : sizeof tmp - 1;
    memcpy(tmp, buf + 12, k);
    tmp[k] = 0;
    char *end;
    long s = strtol(tmp, &end, 10);
    if (end != tmp && s >= 0) r->retry_after_ms = s > 3600 ? 3600000 : s * 1000;
  }
  return n;
}

static void sleep_ms(long ms) {
  struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* The text of an error an endpoint sent: error.message, or the start of the body. */
static void error_detail(const char *body, size_t len, char *out, size_t size) {
  out[0] = 0;
  if (!body || !len) return;
  struct json_object *j = json_tokener_parse(body), *e, *m;
  if (j && json_object_object_get_ex(j, "error", &e)) {
    if (json_object_is_type(e, json_type_object) && json_object_object_get_ex(e, "message", &m))
      snprintf(out, size, ": %.200s", json_object_get_string(m));
    else if (json_object_is_type(e, json_type_string))
      snprintf(out, size, ": %.200s", json_object_get_string(e));
  }
  json_object_put(j);
  if (!out[0]) {
    snprintf(out, size, ": %.120s", body);
    for (char *p = out; *p; p++)
      if (*p == '\n' || *p == '\r') *p = ' ';
  }
}

/* choices[0].message.content of a response: a string, or text parts. */
static int parse_reply(const char *body, size_t len, char **text, char *err, size_t err_size) {
  struct json_tokener *tok = json_tokener_new();
  if (!tok) {
    snprintf(err, err_size, "out of memory");
    return -1;
  }
  struct json_object *j = json_tokener_parse_ex(tok, body ? body : "", (int)len);
  enum json_tokener_error jerr = json_tokener_get_error(tok);
  json_tokener_free(tok);
  if (!j || jerr != json_tokener_success) {
    char start[64];
    snprintf(start, sizeof start, "%.40s", body ? body : "");
    for (char *p = start; *p; p++)
      if ((unsigned char)*p < 0x20) *p = ' ';
    snprintf(err, err_size, "the response is not JSON (%s; it starts with \"%s\")",
             !len ? "empty body" : jerr == json_tokener_continue ? "it ends in the middle" : json_tokener_error_desc(jerr),
             start);
    json_object_put(j);
    return -1;
  }
  struct json_object *choices, *first, *message, *content, *refusal;
  if (!json_object_object_get_ex(j, "choices", &choices) || !json_object_is_type(choices, json_type_array) ||
      json_object_array_length(choices) == 0 || !(first = json_object_array_get_idx(choices, 0)) ||
      !json_object_object_get_ex(first, "message", &message) || !json_object_is_type(message, json_type_object)) {
    snprintf(err, err_size, "the response has no choices[0].message");
    json_object_put(j);
    return -1;
  }
  json_object_object_get_ex(message, "content", &content);
  if (json_object_is_type(content, json_type_string)) {
    *text = strdup(json_object_get_string(content));
  } else if (json_object_is_type(content, json_type_array)) {
    size_t total = 1;
    for (size_t i = 0; i < json_object_array_length(content); i++) {
      struct json_object *t;
      if (json_object_object_get_ex(json_object_array_get_idx(content, i), "text", &t)) total += strlen(json_object_get_string(t));
    }
    *text = calloc(1, total);
    for (size_t i = 0; *text && i < json_object_array_length(content); i++) {
      struct json_object *t;
      if (json_object_object_get_ex(json_object_array_get_idx(content, i), "text", &t)) strcat(*text, json_object_get_string(t));
    }
  } else {
    if (json_object_object_get_ex(message, "refusal", &refusal) && json_object_is_type(refusal, json_type_string))
      snprintf(err, err_size, "the model refused: %.200s", json_object_get_string(refusal));
    else
      snprintf(err, err_size, "the response has no text in choices[0].message.content");
    json_object_put(j);
    return -1;
  }
  json_object_put(j);
  if (!*text) {
    snprintf(err, err_size, "out of memory");
    return -1;
  }
  /* Trim the white space models like to add. */
  char *s = *text, *b = s;
  while (*b == ' ' || *b == '\n' || *b == '\r' || *b == '\t') b++;
  size_t n = strlen(b);
  while (n && (b[n - 1] == ' ' || b[n - 1] == '\n' || b[n - 1] == '\r' || b[n - 1] == '\t')) n--;
  memmove(s, b, n);
  s[n] = 0;
  if (!n) {
    free(*text);
    *text = NULL;
    snprintf(err, err_size, "the model returned an empty summary");
    return -1;
  }
  return 0;
}

static int retryable_status(long status) { return status == 408 || status == 429 || status >= 500; }

static int retryable_curl(CURLcode rc) {
  return rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_COULDNT_CONNECT || rc == CURLE_GOT_NOTHING ||
         rc == CURLE_SEND_ERROR || rc == CURLE_RECV_ERROR || rc == CURLE_PARTIAL_FILE || rc == CURLE_COULDNT_RESOLVE_HOST;
}

static int openai_summarize(const struct summarize_request *req, char **text, char *err, size_t err_size) {
  struct llm_config c;
  read_config(&c);
  *text = NULL;
  if (!c.url) {
    snprintf(err, err_size, "no LLM endpoint: set EFC_LLM_URL to an OpenAI-compatible API "
             "(e.g. http://127.0.0.1:8080/v1), with EFC_LLM_MODEL and EFC_LLM_API_KEY as needed");
    return -1;
  }
  const char *model = req->model && *req->model ? req->model : c.model;
  if (!model) {
    snprintf(err, err_size, "no model: set EFC_LLM_MODEL or give the call a `model:`");
    return -1;
  }
  if (!curl_ready) {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
      snprintf(err, err_size, "cannot initialise libcurl");
      return -1;
    }
    curl_ready = 1;
  }
  if (!curl && !(curl = curl_easy_init())) {
    snprintf(err, err_size, "cannot initialise libcurl");
    return -1;
  }
  /* {base}/chat/completions, unless the URL already names the endpoint. */
  size_t ul = strlen(c.url);
  while (ul && c.url[ul - 1] == '/') ul--;
  char url[2048];
  const char *suffix = "/chat/completions";
  size_t sl = strlen(suffix);
  if ((ul >= sl && strncmp(c.url + ul - sl, suffix, sl) == 0 ? snprintf(url, sizeof url, "%.*s", (int)ul, c.url)
                                                             : snprintf(url, sizeof url, "%.*s%s", (int)ul, c.url, suffix)) >=
      (int)sizeof url) {
    snprintf(err, err_size, "EFC_LLM_URL is too long");
    return -1;
  }
  char *body = request_body(req, model, c.max_tokens);
  if (!body) {
    snprintf(err, err_size, "out of memory building the request");
    return -1;
  }
  struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
  headers = curl_slist_append(headers, "Accept: application/json");
  headers = curl_slist_append(headers, "Expect:");
  char auth[1024];
  if (c.key) {
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", c.key);
    headers = curl_slist_append(headers, auth);
  }
  int rc = -1;
  long delay = c.backoff_ms;
  for (long attempt = 1;; attempt++) {
    struct response r = { NULL, 0, 0, 0, -1 };
    char curl_err[CURL_ERROR_SIZE] = "";
    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, url);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, c.timeout_ms);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, c.connect_ms);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "efc/" EFC_VERSION);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &r);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_err);
    CURLcode cc = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    int retry = 0;
    char tries[64] = "";
    if (attempt > 1) snprintf(tries, sizeof tries, " (after %ld attempts)", attempt);
    if (cc != CURLE_OK) {
      if (r.too_big)
        snprintf(err, err_size, "POST %s: the response is over %zu bytes", url, RESPONSE_MAX);
      else if (cc == CURLE_OPERATION_TIMEDOUT)
        snprintf(err, err_size, "POST %s: no answer within %ld ms (EFC_LLM_TIMEOUT_MS)%s", url, c.timeout_ms, tries);
      else
        snprintf(err, err_size, "POST %s: %s%s", url, curl_err[0] ? curl_err : curl_easy_strerror(cc), tries);
      retry = !r.too_big && retryable_curl(cc);
    } else if (status < 200 || status > 299) {
      char detail[260];
      error_detail(r.data, r.len, detail, sizeof detail);
      snprintf(err, err_size, "POST %s: HTTP %ld%s%s", url, status, detail, tries);
      retry = retryable_status(status);
    } else {
      rc = parse_reply(r.data, r.len, text, err, err_size);
    }
    free(r.data);
    if (rc == 0 || !retry || attempt > c.retries) break;
    long wait = delay;
    if (r.retry_after_ms > wait) wait = r.retry_after_ms;
    if (wait > c.backoff_max_ms) wait = c.backoff_max_ms;
    sleep_ms(wait);
    delay = delay > c.backoff_max_ms / 2 ? c.backoff_max_ms : delay * 2;
  }
  curl_slist_free_all(headers);
  free(body);
  return rc;
}

static void openai_shutdown(void) {
  if (curl) curl_easy_cleanup(curl);
  curl = NULL;
  if (curl_ready) curl_global_cleanup();
  curl_ready = 0;
}

const struct summarizer_provider summarizer_openai = { "openai-compatible", openai_summarize, openai_shutdown };
