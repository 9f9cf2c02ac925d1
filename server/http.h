/* http.h — the HTTP transport of the Event Store Wrapper (libmicrohttpd).
 *
 * Turns HTTP requests into struct api_request, answers with api_handle()
 * (handlers.h), and owns everything that is HTTP's alone: the listening
 * socket, worker threads, body limits, connection timeouts and request
 * deadlines (http_conn.h), shutdown.  Every request passes api_admit()
 * (Host, Origin, token, route, id, Content-Type) on its headers, before
 * any byte of its body is read.
 *
 * Threads: a few event-driven polling threads (epoll) serve every
 * connection, so a slow or idle client holds a connection slot, never a
 * thread, and is closed when a request has not arrived whole within
 * `timeout` seconds, or after `timeout` idle seconds.  They answer GETs
 * (store reads, which never wait) on the spot.  Every other request may
 * wait (a write waits for the store's writer, compiles and fsyncs; POST
 * /events waits for the engine), so it goes to a pool of worker threads
 * while its connection is suspended: a waiting handler never stalls the
 * other connections of its polling thread.  (Running the handlers in the
 * polling threads made the load test twice as slow; a thread per
 * connection halved the throughput of reads.)
 *
 * Bodies are read into memory up to the api's limit: a Content-Length over
 * it is answered 413 at once; a chunked body that grows over it is
 * discarded and answered 413 when it ends (or at once, past four times the
 * limit).
 */
#ifndef EFC_HTTP_H
#define EFC_HTTP_H

#include <stddef.h>
#include "handlers.h"

#define HTTP_DEFAULT_LISTEN   "127.0.0.1:8080"
#define HTTP_DEFAULT_THREADS  4       /* polling threads */
#define HTTP_DEFAULT_WORKERS  8       /* threads for requests that may wait */
#define HTTP_DEFAULT_TIMEOUT  30      /* seconds to send a request whole, or stay idle */
#define HTTP_DEFAULT_MAX_CONN 1000    /* connections at once; more are refused */
#define HTTP_DRAIN_SECONDS    10      /* shutdown: how long requests in progress may take */

struct http_options {
  const char *listen;           /* HOST:PORT, [IPV6]:PORT; port 0 picks a free one */
  unsigned threads;             /* 0: HTTP_DEFAULT_THREADS */
  unsigned workers;             /* 0: HTTP_DEFAULT_WORKERS */
  unsigned timeout;             /* 0: HTTP_DEFAULT_TIMEOUT: a request's deadline, and idle time */
  unsigned max_connections;     /* 0: HTTP_DEFAULT_MAX_CONN; HTTP_CONN_RESERVE more for short GETs */
  int log;                      /* one line per request on stderr */
};

struct http_server;

/* Parses HOST:PORT.  0, or -1 with a reason.  *loopback says whether the
 * address is 127.0.0.0/8 or ::1 (efc serve refuses other addresses without
 * a token). */
int http_parse_listen(const char *listen, int *loopback, char *err, size_t err_size);

/* Starts serving api (borrowed) in background threads.  NULL with a reason. */
struct http_server *http_start(struct api *api, const struct http_options *opt, char *err, size_t err_size);
/* The address actually bound, e.g. "127.0.0.1:43117". */
const char *http_address(const struct http_server *s);
/* Stops accepting (requests on open connections get 503), lets requests in
 * progress finish (the workers' always; sending answers up to
 * HTTP_DRAIN_SECONDS), closes every connection and frees the server. */
void http_stop(struct http_server *s);

#endif /* EFC_HTTP_H */
