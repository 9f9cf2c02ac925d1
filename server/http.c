/* http.c — the libmicrohttpd transport (see http.h).
 *
 * libmicrohttpd calls on_request_line() with the raw request line (the
 * exchange starts there, with the path decoded by us, so that a %00 stays
 * visible), then on_request() several times per request: once with the
 * headers (on_headers: everything the handlers can refuse without the
 * body is refused there, api_admit(), then the body's announced size),
 * once per piece of body (on_body: we append it), and once at the end (we
 * answer).  State between the calls lives in a struct exchange, freed
 * when the request completes.  Connections and their request deadlines
 * are http_conn.c's.
 *
 * At the end, a GET is answered on the spot; anything else may wait (for
 * the store's writer, the compiler, an fsync, the engine), so it goes to a
 * worker: the connection is suspended, a worker thread runs the handler,
 * and resumes the connection, and libmicrohttpd calls on_request() once
 * more to send the answer.  The polling threads never wait on a lock.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <microhttpd.h>
#include "http.h"
#include "http_conn.h"

#define MAX_HEADERS 64

struct exchange;

struct http_server {
  struct MHD_Daemon *daemon;
  struct http_conns *conns;     /* request deadlines and the reserve (http_conn.h) */
  struct api *api;
  struct http_options opt;
  size_t max_body;
  atomic_int active;            /* requests between their first call and completion */
  atomic_int stopping;          /* new requests get 503 */
  char address[80];
  /* the workers and their queue */
  pthread_t *workers;
  unsigned nworkers;
  pthread_mutex_t lock;         /* queue, busy, quit */
  pthread_cond_t wake, idle;
  struct exchange *head, *tail;
  unsigned busy;
  int quit;
};

/* A request between libmicrohttpd's calls. */
struct exchange {
  char *path;                   /* percent-decoded by us: a %00 stays in it */
  size_t path_size;
  struct http_link *link;       /* its connection */
  int admitted;                 /* the headers were checked */
  int answered;                 /* answered before the body (refused): ignore any body */
  char *body;
  size_t size, cap;
  size_t discarded;             /* bytes over the limit, thrown away */
  struct timespec start;
  /* handed to a worker: the request (copied), then its answer */
  struct MHD_Connection *conn;
  enum { X_READING, X_QUEUED, X_ANSWERED } state;
  char *method, *query;
  struct api_header headers[MAX_HEADERS];
  size_t nheaders;
  struct api_response response;
  struct exchange *next;
};

/* ---- listen addresses --------------------------------------------------- */

struct address {
  struct sockaddr_storage sa;
  socklen_t len;
  int ipv6, loopback;
};

static int parse_address(const char *listen, struct address *a, char *err, size_t err_size) {
  memset(a, 0, sizeof *a);
  char host[128];
  const char *colon, *port;
  if (listen[0] == '[') {
    const char *end = strchr(listen, ']');
    if (!end || end[1] != ':' || (size_t)(end - listen - 1) >= sizeof host) goto bad;
    memcpy(host, listen + 1, (size_t)(end - listen - 1));
    host[end - listen - 1] = 0;
    port = end + 2;
  } else {
    if (!(colon = strrchr(listen, ':')) || (size_t)(colon - listen) >= sizeof host || colon == listen) goto bad;
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = 0;
    port = colon + 1;
  }
  char *end;
  long p = strtol(port, &end, 10);
  if (!*port || *end || p < 0 || p > 65535) goto bad;
  if (strcmp(host, "localhost") == 0) strcpy(host, "127.0.0.1");
  struct sockaddr_in *v4 = (struct sockaddr_in *)&a->sa;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&a->sa;
  if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons((uint16_t)p);
    a->len = sizeof *v4;
    a->loopback = (ntohl(v4->sin_addr.s_addr) >> 24) == 127;
  } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons((uint16_t)p);
    a->len = sizeof *v6;
    a->ipv6 = 1;
    a->loopback = IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr);
  } else {
    snprintf(err, err_size, "'%s' is not an IP address (write 127.0.0.1, 0.0.0.0, [::1], or localhost)", host);
    return -1;
  }
  return 0;
bad:
  snprintf(err, err_size, "'%s' is not HOST:PORT (e.g. 127.0.0.1:8080, [::1]:8080, 0.0.0.0:8080)", listen);
  return -1;
}

int http_parse_listen(const char *listen, int *loopback, char *err, size_t err_size) {
  struct address a;
  if (parse_address(listen, &a, err, err_size) != 0) return -1;
  *loopback = a.loopback;
  return 0;
}

/* ---- requests ----------------------------------------------------------- */

struct headers {
  struct api_header items[MAX_HEADERS];
  size_t count, total;          /* total: also those past MAX_HEADERS */
};

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
  (void)kind;
  struct headers *h = cls;
  if (h->count < MAX_HEADERS) h->items[h->count++] = (struct api_header){ key, value ? value : "" };
  h->total++;
  return MHD_YES;
}

/* The query string again (libmicrohttpd hands it over parsed). */
struct query {
  char text[1024];
  size_t len;
};

static enum MHD_Result collect_argument(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
  (void)kind;
  struct query *q = cls;
  int n = snprintf(q->text + q->len, sizeof q->text - q->len, "%s%s%s%s", q->len ? "&" : "", key, value ? "=" : "",
                   value ? value : "");
  if (n > 0 && (size_t)n < sizeof q->text - q->len) q->len += (size_t)n;
  return MHD_YES;
}

static enum MHD_Result send_response(struct http_server *s, struct MHD_Connection *conn, struct api_response *rs,
                                     const char *method, const char *url, struct exchange *x) {
  if (!rs->body) {   /* out of memory when the answer was made */
    rs->status = 500;
    rs->body = strdup("{\"error\": \"internal\", \"message\": \"out of memory\"}\n");
    rs->body_size = rs->body ? strlen(rs->body) : 0;
  }
  struct MHD_Response *r = MHD_create_response_from_buffer_with_free_callback(rs->body_size, rs->body, free);
  if (!r) {
    api_response_free(rs);
    return MHD_NO;
  }
  rs->body = NULL;   /* libmicrohttpd frees it */
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, rs->content_type ? rs->content_type : "application/json");
  MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
  if (rs->allow[0]) MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, rs->allow);
  if (rs->location[0]) MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, rs->location);
  if (rs->www_authenticate) MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
  if (x->link && x->link->reserve) MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");   /* free the slot */
  enum MHD_Result ok = MHD_queue_response(conn, (unsigned)rs->status, r);
  MHD_destroy_response(r);
  if (s->opt.log) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double ms = (double)(now.tv_sec - x->start.tv_sec) * 1e3 + (double)(now.tv_nsec - x->start.tv_nsec) / 1e6;
    fprintf(stderr, "%s %s %d %.1fms\n", method, url, rs->status, ms);
  }
  api_response_free(rs);
  return ok;
}

/* The request as the handlers take it (borrowing from x, h and query). */
static struct api_request request_of(const struct exchange *x, const char *method, const char *query,
                                     const struct api_header *headers, size_t nheaders) {
  return (struct api_request){
    .method = method, .path = x->path, .path_size = x->path_size, .query = query,
    .headers = headers, .nheaders = nheaders, .body = x->body ? x->body : "", .body_size = x->size,
    .server_host = x->link->local, .loopback = x->link->loopback,
  };
}

/* ---- workers ------------------------------------------------------------ */

static void *worker(void *arg) {
  struct http_server *s = arg;
  pthread_mutex_lock(&s->lock);
  for (;;) {
    while (!s->head && !s->quit) pthread_cond_wait(&s->wake, &s->lock);
    if (!s->head) break;
    struct exchange *x = s->head;
    s->head = x->next;
    if (!s->head) s->tail = NULL;
    s->busy++;
    pthread_mutex_unlock(&s->lock);
    struct api_request rq = request_of(x, x->method, x->query, x->headers, x->nheaders);
    api_handle(s->api, &rq, &x->response);
    x->state = X_ANSWERED;
    MHD_resume_connection(x->conn);   /* on_request() is called again: it sends the answer */
    pthread_mutex_lock(&s->lock);
    if (--s->busy == 0 && !s->head) pthread_cond_broadcast(&s->idle);
  }
  pthread_mutex_unlock(&s->lock);
  return NULL;
}

static char *copy(const char *v) { return strdup(v ? v : ""); }

/* Hands the request to a worker: copies what libmicrohttpd owns, suspends
 * the connection.  0, or -1 when out of memory. */
static int dispatch(struct http_server *s, struct MHD_Connection *conn, struct exchange *x, const char *method,
                    const char *query, const struct headers *h) {
  x->method = copy(method);
  x->query = query ? copy(query) : NULL;
  int oom = !x->method || (query && !x->query);
  for (size_t i = 0; i < h->count && !oom; i++) {
    x->headers[i] = (struct api_header){ copy(h->items[i].name), copy(h->items[i].value) };
    x->nheaders = i + 1;
    oom = !x->headers[i].name || !x->headers[i].value;
  }
  if (oom) return -1;
  x->conn = conn;
  x->state = X_QUEUED;
  x->next = NULL;
  MHD_suspend_connection(conn);
  pthread_mutex_lock(&s->lock);
  if (s->tail) s->tail->next = x;
  else s->head = x;
  s->tail = x;
  pthread_cond_signal(&s->wake);
  pthread_mutex_unlock(&s->lock);
  return 0;
}

static void exchange_free(struct exchange *x) {
  free(x->path);
  free(x->body);
  free(x->method);
  free(x->query);
  for (size_t i = 0; i < x->nheaders; i++) {
    free((char *)x->headers[i].name);
    free((char *)x->headers[i].value);
  }
  api_response_free(&x->response);
  free(x);
}

/* Answers before the body, and ignores any body that comes. */
static enum MHD_Result refuse(struct http_server *s, struct MHD_Connection *conn, const char *method, const char *url,
                              struct exchange *x, struct api_response *rs) {
  x->answered = 1;
  return send_response(s, conn, rs, method, url, x);
}

static enum MHD_Result too_large(struct http_server *s, struct MHD_Connection *conn, const char *method, const char *url,
                                 struct exchange *x, const char *size) {
  struct api_response rs = { 0 };
  api_error_response(&rs, API_PAYLOAD_TOO_LARGE, "the body is %s bytes; this server takes at most %zu", size, s->max_body);
  return refuse(s, conn, method, url, x, &rs);
}

/* Called by libmicrohttpd with the request line, before the headers: the
 * exchange starts here, with the path as sent (libmicrohttpd's own
 * decoding would end it at a %00). */
static void *on_request_line(void *cls, const char *uri, struct MHD_Connection *conn) {
  (void)conn;
  struct http_server *s = cls;
  struct exchange *x = calloc(1, sizeof *x);
  if (!x) return NULL;
  clock_gettime(CLOCK_MONOTONIC, &x->start);
  if (!(x->path = strndup(uri, strcspn(uri, "?")))) {
    free(x);
    return NULL;
  }
  x->path_size = MHD_http_unescape(x->path);
  atomic_fetch_add(&s->active, 1);
  return x;
}

static int has_body(struct MHD_Connection *conn) {
  const char *length = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
  return MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING) ||
         (length && strcmp(length, "0") != 0);
}

/* The headers are in: everything that can be refused without the body is
 * refused here, before a byte of it is read. */
static enum MHD_Result on_headers(struct http_server *s, struct MHD_Connection *conn, const char *url,
                                  const char *method, struct exchange *x) {
  struct api_response rs = { 0 };
  x->admitted = 1;
  const union MHD_ConnectionInfo *info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  if (!info || !(x->link = info->socket_context)) return MHD_NO;   /* out of memory when it opened */
  if (atomic_load(&s->stopping)) {
    api_error_response(&rs, API_UNAVAILABLE, "the server is stopping");
    return refuse(s, conn, method, url, x, &rs);
  }
  if (x->link->reserve && (strcmp(method, MHD_HTTP_METHOD_GET) != 0 || has_body(conn))) {
    api_error_response(&rs, API_UNAVAILABLE, "every connection is taken (--max-connections %u); the last %d are kept "
                       "for short GETs such as /health", s->opt.max_connections ? s->opt.max_connections
                       : HTTP_DEFAULT_MAX_CONN, HTTP_CONN_RESERVE);
    return refuse(s, conn, method, url, x, &rs);
  }
  struct headers h = { .count = 0 };
  MHD_get_connection_values(conn, MHD_HEADER_KIND, collect_header, &h);
  if (h.total > MAX_HEADERS) {   /* the handlers would not see them all: an Origin could hide past the limit */
    api_error_response(&rs, API_BAD_REQUEST, "the request has %zu headers; this server takes at most %d", h.total,
                       MAX_HEADERS);
    return refuse(s, conn, method, url, x, &rs);
  }
  struct api_request rq = request_of(x, method, NULL, h.items, h.count);
  if (!api_admit(s->api, &rq, &rs)) return refuse(s, conn, method, url, x, &rs);
  api_response_free(&rs);
  const char *length = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
  if (length) {
    char *end;
    unsigned long long n = strtoull(length, &end, 10);
    if (*end == 0 && n > s->max_body) return too_large(s, conn, method, url, x, length);
  }
  return MHD_YES;
}

/* A piece of the body: kept up to the limit. */
static enum MHD_Result on_body(struct http_server *s, struct MHD_Connection *conn, const char *url, const char *method,
                               struct exchange *x, const char *data, size_t n) {
  if (x->answered) return MHD_YES;   /* refused already; libmicrohttpd closes after the answer */
  if (x->discarded || x->size + n > s->max_body) {
    free(x->body);
    x->body = NULL;
    x->discarded += x->size + n;
    x->size = x->cap = 0;
    if (x->discarded > 4 * s->max_body) return too_large(s, conn, method, url, x, "more than four times the limit:");
    return MHD_YES;
  }
  if (x->size + n > x->cap) {
    size_t cap = x->cap ? x->cap : 4096;
    while (cap < x->size + n) cap *= 2;
    if (cap > s->max_body) cap = s->max_body;
    char *grown = realloc(x->body, cap);
    if (!grown) return MHD_NO;
    x->body = grown;
    x->cap = cap;
  }
  memcpy(x->body + x->size, data, n);
  x->size += n;
  return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls) {
  (void)version;
  struct http_server *s = cls;
  struct exchange *x = *con_cls;
  if (!x) return MHD_NO;   /* out of memory at the request line */
  if (!x->admitted) return on_headers(s, conn, url, method, x);
  if (*upload_data_size) {
    size_t n = *upload_data_size;
    *upload_data_size = 0;
    return on_body(s, conn, url, method, x, upload_data, n);
  }
  if (x->state == X_ANSWERED) {   /* back from a worker */
    x->state = X_READING;
    return send_response(s, conn, &x->response, method, url, x);
  }
  if (x->state == X_QUEUED || x->answered) return MHD_YES;   /* the answer is on its way */
  /* The whole request is in: its deadline no longer runs (http_conn.h). */
  http_conns_received(s->conns, x->link);
  if (x->discarded) {
    char size[32];
    snprintf(size, sizeof size, "%zu", x->discarded);
    return too_large(s, conn, method, url, x, size);
  }
  struct headers h = { .count = 0 };
  MHD_get_connection_values(conn, MHD_HEADER_KIND, collect_header, &h);
  struct query q = { .len = 0 };
  MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_argument, &q);
  if (strcmp(method, MHD_HTTP_METHOD_GET) != 0)
    return dispatch(s, conn, x, method, q.len ? q.text : NULL, &h) == 0 ? MHD_YES : MHD_NO;
  struct api_request rq = request_of(x, method, q.len ? q.text : NULL, h.items, h.count);
  struct api_response rs;
  api_handle(s->api, &rq, &rs);
  return send_response(s, conn, &rs, method, url, x);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode why) {
  (void)conn;
  (void)why;
  struct http_server *s = cls;
  struct exchange *x = *con_cls;
  if (!x) return;
  http_conns_ready(s->conns, x->link);   /* the next request on the connection has its full time */
  exchange_free(x);
  *con_cls = NULL;
  atomic_fetch_sub(&s->active, 1);
}

/* A connection opens or closes. */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code) {
  struct http_server *s = cls;
  if (code == MHD_CONNECTION_NOTIFY_STARTED) {
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    *socket_context = info ? http_conns_open(s->conns, info->connect_fd) : NULL;
  } else {
    http_conns_close(s->conns, *socket_context);
    *socket_context = NULL;
  }
}

static void on_mhd_error(void *cls, const char *fmt, va_list ap) {
  (void)cls;
  /* libmicrohttpd's own complaints (a client's malformed request, a reset
   * connection) are not the server's errors: keep them quiet unless asked. */
  if (getenv("EFC_SERVE_DEBUG")) vfprintf(stderr, fmt, ap);
}

/* ---- start and stop ----------------------------------------------------- */

/* Stops the workers (after the queue is empty) and frees the server. */
static void stop_workers(struct http_server *s) {
  pthread_mutex_lock(&s->lock);
  s->quit = 1;
  pthread_cond_broadcast(&s->wake);
  pthread_mutex_unlock(&s->lock);
  for (unsigned i = 0; i < s->nworkers; i++) pthread_join(s->workers[i], NULL);
  free(s->workers);
  pthread_mutex_destroy(&s->lock);
  pthread_cond_destroy(&s->wake);
  pthread_cond_destroy(&s->idle);
  free(s);
}

struct http_server *http_start(struct api *api, const struct http_options *opt, char *err, size_t err_size) {
  struct address a;
  const char *listen = opt && opt->listen ? opt->listen : HTTP_DEFAULT_LISTEN;
  if (parse_address(listen, &a, err, err_size) != 0) return NULL;
  struct http_server *s = calloc(1, sizeof *s);
  if (!s) {
    snprintf(err, err_size, "out of memory");
    return NULL;
  }
  s->api = api;
  if (opt) s->opt = *opt;
  s->max_body = api_max_body(api);
  atomic_init(&s->active, 0);
  atomic_init(&s->stopping, 0);
  pthread_mutex_init(&s->lock, NULL);
  pthread_cond_init(&s->wake, NULL);
  pthread_cond_init(&s->idle, NULL);
  s->nworkers = s->opt.workers ? s->opt.workers : HTTP_DEFAULT_WORKERS;
  s->workers = calloc(s->nworkers, sizeof *s->workers);
  unsigned started = 0;
  while (s->workers && started < s->nworkers && pthread_create(&s->workers[started], NULL, worker, s) == 0) started++;
  if (started < s->nworkers) {
    s->nworkers = started;
    snprintf(err, err_size, "cannot start the worker threads");
    stop_workers(s);
    return NULL;
  }
  unsigned timeout = s->opt.timeout ? s->opt.timeout : HTTP_DEFAULT_TIMEOUT;
  unsigned max = s->opt.max_connections ? s->opt.max_connections : HTTP_DEFAULT_MAX_CONN;
  if (!(s->conns = http_conns_start(max, timeout))) {
    snprintf(err, err_size, "cannot start the connection watcher");
    stop_workers(s);
    return NULL;
  }
  /* libmicrohttpd shares the connection limit out among its threads: no
   * more threads than connections, so that none gets a share of 0. */
  unsigned threads = s->opt.threads ? s->opt.threads : HTTP_DEFAULT_THREADS;
  if (threads > max + HTTP_CONN_RESERVE) threads = max + HTTP_CONN_RESERVE;
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ITC | MHD_ALLOW_SUSPEND_RESUME |
                   MHD_USE_ERROR_LOG;
  if (a.ipv6) flags |= MHD_USE_IPv6;
  s->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s,
                               MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&a.sa,
                               MHD_OPTION_THREAD_POOL_SIZE, threads,
                               MHD_OPTION_CONNECTION_TIMEOUT, timeout,
                               MHD_OPTION_CONNECTION_LIMIT, max + HTTP_CONN_RESERVE,
                               MHD_OPTION_URI_LOG_CALLBACK, on_request_line, s,
                               MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
                               MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
                               MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                               MHD_OPTION_EXTERNAL_LOGGER, on_mhd_error, NULL,
                               MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1,
                               MHD_OPTION_END);
  if (!s->daemon) {
    snprintf(err, err_size, "cannot listen on %s (address in use, or not this machine's?)", listen);
    http_conns_stop(s->conns);
    stop_workers(s);
    return NULL;
  }
  const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
  unsigned port = info ? info->port : 0;
  char host[64];
  if (a.ipv6) inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&a.sa)->sin6_addr, host, sizeof host);
  else inet_ntop(AF_INET, &((struct sockaddr_in *)&a.sa)->sin_addr, host, sizeof host);
  snprintf(s->address, sizeof s->address, a.ipv6 ? "[%s]:%u" : "%s:%u", host, port);
  return s;
}

const char *http_address(const struct http_server *s) { return s->address; }

void http_stop(struct http_server *s) {
  if (!s) return;
  /* No new connections; new requests on open ones get 503. */
  MHD_socket fd = MHD_quiesce_daemon(s->daemon);
  if (fd != MHD_INVALID_SOCKET) close(fd);
  atomic_store(&s->stopping, 1);
  /* Every request given to a worker is finished and its connection
   * resumed (libmicrohttpd must not stop with suspended connections);
   * writes commit before they answer, so none is lost. */
  pthread_mutex_lock(&s->lock);
  while (s->head || s->busy) pthread_cond_wait(&s->idle, &s->lock);
  pthread_mutex_unlock(&s->lock);
  /* Answers on their way out get some time to reach their clients. */
  for (int i = 0; i < HTTP_DRAIN_SECONDS * 100 && atomic_load(&s->active) > 0; i++) {
    struct timespec ten_ms = { 0, 10 * 1000 * 1000 };
    nanosleep(&ten_ms, NULL);
  }
  MHD_stop_daemon(s->daemon);
  http_conns_stop(s->conns);
  stop_workers(s);
}
