/* http_conn.h — the HTTP server's connections: where each arrived, how long
 * it may take to send a request, and the reserve kept for health checks.
 *
 * A deadline per request, not per byte.  libmicrohttpd's timeout is an
 * idle timeout: a client sending a byte a second keeps a connection (and
 * its slot) forever.  Here a connection must deliver each request whole
 * (request line, headers and body) within `timeout` seconds of being ready
 * for it (opened, or done with its previous request); past that a watcher
 * thread shuts the socket down, whatever the trickle.  While a request is
 * being answered it has no deadline (the answer's own time is the
 * handler's; a client slow to read it meets the idle timeout).
 *
 * The reserve.  The server accepts `max` connections plus
 * HTTP_CONN_RESERVE.  A connection opened while `max` are open is a
 * reserve one: it may send one short GET (a body is refused with 503),
 * within HTTP_CONN_RESERVE_SECONDS, and is closed after the answer.  So
 * GET /health is answered when slow clients hold every ordinary slot.
 *
 * Threads: every function may be called from any of libmicrohttpd's
 * threads; one lock guards the list.
 */
#ifndef EFC_HTTP_CONN_H
#define EFC_HTTP_CONN_H

#include <time.h>

#define HTTP_CONN_RESERVE         2   /* connections over --max-connections, for short GETs */
#define HTTP_CONN_RESERVE_SECONDS 2   /* a reserve connection's deadline (at most --timeout) */

struct http_link {
  char local[80];                 /* the address it arrived on, "HOST:PORT" */
  int loopback;                   /* that address is loopback */
  int reserve;                    /* opened over max: one short GET, then closed */
  /* the watcher's */
  int fd;
  struct timespec deadline;       /* CLOCK_MONOTONIC; 0: none */
  struct http_link *prev, *next;
};

struct http_conns;

/* Starts the watcher thread.  NULL when out of memory or threads. */
struct http_conns *http_conns_start(unsigned max, unsigned timeout);
/* Stops the watcher and frees what is left. */
void http_conns_stop(struct http_conns *c);

/* A connection opened on socket fd: NULL when out of memory (close it). */
struct http_link *http_conns_open(struct http_conns *c, int fd);
/* It closed: forget it (before its socket is closed). */
void http_conns_close(struct http_conns *c, struct http_link *l);
/* Its request is in whole: no deadline while it is answered. */
void http_conns_received(struct http_conns *c, struct http_link *l);
/* Its answer is done: the next request has the full time again. */
void http_conns_ready(struct http_conns *c, struct http_link *l);

#endif /* EFC_HTTP_CONN_H */
