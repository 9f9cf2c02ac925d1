/* serve_trickle.c — slow clients for tests/e2e/serve_hostile.t.
 *
 *   serve_trickle PORT CONNECTIONS INTERVAL_MS LIMIT_MS
 *
 * Opens CONNECTIONS connections to 127.0.0.1:PORT, and on each sends a
 * well-formed POST /events (right Host, JSON, a 100 kB Content-Length) one
 * byte every INTERVAL_MS, so no connection is ever idle for long.  Prints,
 * for each connection, when the server closed it ("closed MS") or that it
 * was still open after LIMIT_MS ("open"), and any answer's status line
 * ("answered ..."); exits when every connection is closed or at LIMIT_MS.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNECTIONS 64

static long now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: serve_trickle PORT CONNECTIONS INTERVAL_MS LIMIT_MS\n");
    return 2;
  }
  int port = atoi(argv[1]), n = atoi(argv[2]);
  long interval = atol(argv[3]), limit = atol(argv[4]);
  if (n < 1 || n > MAX_CONNECTIONS || interval < 1) return 2;
  char request[256];
  int length = snprintf(request, sizeof request,
                        "POST /events HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/json\r\n"
                        "Content-Length: 100000\r\n\r\n{\"Entries\": [", port);
  struct pollfd fds[MAX_CONNECTIONS];
  long closed[MAX_CONNECTIONS];
  int sent[MAX_CONNECTIONS], sock[MAX_CONNECTIONS];
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
  inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  long start = now_ms();
  for (int i = 0; i < n; i++) {
    sock[i] = socket(AF_INET, SOCK_STREAM, 0);
    fds[i] = (struct pollfd){ sock[i], POLLIN, 0 };
    if (sock[i] < 0 || connect(sock[i], (struct sockaddr *)&sa, sizeof sa) != 0) {
      perror("connect");
      return 1;
    }
    closed[i] = -1;
    sent[i] = 0;
  }
  int open = n;
  long next_byte = start;
  while (open > 0 && now_ms() - start < limit) {
    long now = now_ms();
    if (now >= next_byte) {
      for (int i = 0; i < n; i++) {
        if (closed[i] >= 0) continue;
        char byte = sent[i] < length ? request[sent[i]] : ' ';   /* the body: JSON whitespace */
        if (send(sock[i], &byte, 1, MSG_NOSIGNAL) == 1) sent[i]++;
      }
      next_byte = now + interval;
    }
    int timeout = (int)(next_byte - now_ms());
    if (poll(fds, (nfds_t)n, timeout > 0 ? (timeout < 50 ? timeout : 50) : 0) < 0 && errno != EINTR) break;
    for (int i = 0; i < n; i++) {
      if (closed[i] >= 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[512];
      ssize_t got = recv(sock[i], buf, sizeof buf - 1, 0);
      if (got > 0) {
        buf[got] = 0;
        buf[strcspn(buf, "\r\n")] = 0;
        printf("answered %d after %ld ms: %s\n", i, now_ms() - start, buf);
        continue;
      }
      closed[i] = now_ms() - start;
      fds[i].fd = -1;   /* poll skips it */
      open--;
    }
  }
  for (int i = 0; i < n; i++) {
    if (closed[i] >= 0) printf("closed %ld\n", closed[i]);
    else printf("open\n");
    close(sock[i]);
  }
  return 0;
}
