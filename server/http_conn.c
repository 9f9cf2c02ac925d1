/* http_conn.c — connections, their request deadlines and the reserve (see
 * http_conn.h).
 *
 * The watcher sleeps until the earliest deadline (a condition variable on
 * the monotonic clock) and shuts down the sockets whose deadline passed:
 * libmicrohttpd then reads end-of-file and closes the connection itself,
 * in its own thread, as for a client that left.  The socket is still open
 * when the watcher shuts it down: libmicrohttpd reports a connection closed
 * (http_conns_close, which takes the lock) before it closes the socket.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "http_conn.h"

struct http_conns {
  unsigned max, timeout;
  pthread_t thread;
  pthread_mutex_t lock;           /* everything below */
  pthread_cond_t wake;
  struct http_link *head;
  unsigned open;
  struct timespec sleeping_until; /* the watcher's; 0: no deadline to wait for */
  int quit;
};

static int is_set(const struct timespec *t) { return t->tv_sec || t->tv_nsec; }

static int before(const struct timespec *a, const struct timespec *b) {
  return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* l must be answered within `seconds` from now (lock held). */
static void set_deadline(struct http_conns *c, struct http_link *l, unsigned seconds) {
  clock_gettime(CLOCK_MONOTONIC, &l->deadline);
  l->deadline.tv_sec += seconds;
  if (!is_set(&c->sleeping_until) || before(&l->deadline, &c->sleeping_until)) pthread_cond_signal(&c->wake);
}

static unsigned seconds_for(const struct http_conns *c, const struct http_link *l) {
  return l->reserve && c->timeout > HTTP_CONN_RESERVE_SECONDS ? HTTP_CONN_RESERVE_SECONDS : c->timeout;
}

static void *watch(void *arg) {
  struct http_conns *c = arg;
  pthread_mutex_lock(&c->lock);
  while (!c->quit) {
    struct timespec now, next = { 0, 0 };
    clock_gettime(CLOCK_MONOTONIC, &now);
    for (struct http_link *l = c->head; l; l = l->next) {
      if (!is_set(&l->deadline)) continue;
      if (!before(&now, &l->deadline)) {
        shutdown(l->fd, SHUT_RDWR);   /* too slow: libmicrohttpd closes it */
        l->deadline = (struct timespec){ 0, 0 };
      } else if (!is_set(&next) || before(&l->deadline, &next)) {
        next = l->deadline;
      }
    }
    c->sleeping_until = next;
    if (is_set(&next)) pthread_cond_timedwait(&c->wake, &c->lock, &next);
    else pthread_cond_wait(&c->wake, &c->lock);
  }
  pthread_mutex_unlock(&c->lock);
  return NULL;
}

struct http_conns *http_conns_start(unsigned max, unsigned timeout) {
  struct http_conns *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->max = max;
  c->timeout = timeout;
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&c->wake, &attr);
  pthread_condattr_destroy(&attr);
  pthread_mutex_init(&c->lock, NULL);
  if (pthread_create(&c->thread, NULL, watch, c) != 0) {
    pthread_cond_destroy(&c->wake);
    pthread_mutex_destroy(&c->lock);
    free(c);
    return NULL;
  }
  return c;
}

void http_conns_stop(struct http_conns *c) {
  if (!c) return;
  pthread_mutex_lock(&c->lock);
  c->quit = 1;
  pthread_cond_signal(&c->wake);
  pthread_mutex_unlock(&c->lock);
  pthread_join(c->thread, NULL);
  while (c->head) {
    struct http_link *l = c->head;
    c->head = l->next;
    free(l);
  }
  pthread_cond_destroy(&c->wake);
  pthread_mutex_destroy(&c->lock);
  free(c);
}

/* "HOST:PORT" of the socket's own end. */
static void local_address(int fd, struct http_link *l) {
  struct sockaddr_storage sa;
  socklen_t len = sizeof sa;
  char host[INET6_ADDRSTRLEN];
  if (getsockname(fd, (struct sockaddr *)&sa, &len) != 0) return;
  if (sa.ss_family == AF_INET6) {
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&sa;
    inet_ntop(AF_INET6, &v6->sin6_addr, host, sizeof host);
    snprintf(l->local, sizeof l->local, "[%s]:%u", host, ntohs(v6->sin6_port));
    l->loopback = IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr);
  } else if (sa.ss_family == AF_INET) {
    struct sockaddr_in *v4 = (struct sockaddr_in *)&sa;
    inet_ntop(AF_INET, &v4->sin_addr, host, sizeof host);
    snprintf(l->local, sizeof l->local, "%s:%u", host, ntohs(v4->sin_port));
    l->loopback = (ntohl(v4->sin_addr.s_addr) >> 24) == 127;
  }
}

struct http_link *http_conns_open(struct http_conns *c, int fd) {
  struct http_link *l = calloc(1, sizeof *l);
  if (!l) return NULL;
  l->fd = fd;
  local_address(fd, l);
  pthread_mutex_lock(&c->lock);
  l->reserve = c->open >= c->max;
  c->open++;
  l->next = c->head;
  if (c->head) c->head->prev = l;
  c->head = l;
  set_deadline(c, l, seconds_for(c, l));
  pthread_mutex_unlock(&c->lock);
  return l;
}

void http_conns_close(struct http_conns *c, struct http_link *l) {
  if (!l) return;
  pthread_mutex_lock(&c->lock);
  if (l->prev) l->prev->next = l->next;
  else c->head = l->next;
  if (l->next) l->next->prev = l->prev;
  c->open--;
  pthread_mutex_unlock(&c->lock);
  free(l);
}

void http_conns_received(struct http_conns *c, struct http_link *l) {
  if (!l) return;
  pthread_mutex_lock(&c->lock);
  l->deadline = (struct timespec){ 0, 0 };
  pthread_mutex_unlock(&c->lock);
}

void http_conns_ready(struct http_conns *c, struct http_link *l) {
  if (!l) return;
  pthread_mutex_lock(&c->lock);
  set_deadline(c, l, seconds_for(c, l));
  pthread_mutex_unlock(&c->lock);
}
