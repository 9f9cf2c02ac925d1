/* http.h — the HTTP transport of the Event Store Wrapper (libmicrohttpd).
 *
 * Turns HTTP requests into struct api_request, answers with api_handle()
 * (handlers.h), and owns everything that is HTTP's alone: the listening
 * socket, worker threads, body limits, connection timeouts, shutdown.
 *
 * Threads: one per connection, up to max_connections.  Handlers block (a
 * write waits for the store's writer, compiles, and fsyncs; POST /events
 * waits for the engine), and with a pool of event-driven workers one
 * blocked handler stalls every other connection of its worker: the load
 * test ran twice as long that way.  A slow or idle client holds its own
 * thread only, and only until it has been idle `timeout` seconds.
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
#define HTTP_DEFAULT_TIMEOUT  30      /* seconds a connection may stay idle */
#define HTTP_DEFAULT_MAX_CONN 256     /* connections (and so threads) at once */
#define HTTP_DRAIN_SECONDS    10      /* shutdown: how long requests in progress may take */

struct http_options {
  const char *listen;           /* HOST:PORT, [IPV6]:PORT; port 0 picks a free one */
  unsigned timeout;             /* 0: HTTP_DEFAULT_TIMEOUT */
  unsigned max_connections;     /* 0: HTTP_DEFAULT_MAX_CONN */
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
/* Stops accepting, lets requests in progress finish (up to
 * HTTP_DRAIN_SECONDS), closes every connection and frees the server. */
void http_stop(struct http_server *s);

#endif /* EFC_HTTP_H */
