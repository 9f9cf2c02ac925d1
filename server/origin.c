/* origin.c — which Host and Origin headers the server answers (see
 * origin.h).  Pure functions over strings: no HTTP library, so the Lambda
 * host can reuse them and the unit tests need no socket. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "origin.h"

#define MAX_NAME 253   /* DNS's limit on a name */

/* NAME[:PORT] or [IPV6][:PORT], split without copying. */
struct hostport {
  const char *name, *port;
  size_t name_len, port_len;   /* port_len 0: no port given */
};

static int split(const char *s, size_t n, struct hostport *hp) {
  memset(hp, 0, sizeof *hp);
  const char *colon;
  if (n && s[0] == '[') {
    const char *close = memchr(s, ']', n);
    if (!close) return -1;
    hp->name_len = (size_t)(close - s) + 1;
    colon = hp->name_len < n ? s + hp->name_len : NULL;
    if (colon && *colon != ':') return -1;
  } else {
    colon = memchr(s, ':', n);
    hp->name_len = colon ? (size_t)(colon - s) : n;
  }
  hp->name = s;
  if (colon) {
    hp->port = colon + 1;
    hp->port_len = n - (size_t)(hp->port - s);
    if (hp->port_len == 0 || hp->port_len > 5 || strspn(hp->port, "0123456789") < hp->port_len) return -1;
  }
  return hp->name_len == 0 || hp->name_len > MAX_NAME ? -1 : 0;
}

static long port_of(const struct hostport *hp, long default_port) {
  return hp->port_len ? strtol(hp->port, NULL, 10) : default_port;
}

static int same_name(const struct hostport *a, const struct hostport *b) {
  return a->name_len == b->name_len && strncasecmp(a->name, b->name, a->name_len) == 0;
}

/* Is NAME with port `port` an allowed host? */
static int allowed(const struct origin_policy *p, const struct hostport *hp, long port) {
  struct hostport server, entry;
  if (p->server_host && split(p->server_host, strlen(p->server_host), &server) == 0) {
    long server_port = port_of(&server, 80);
    if (port == server_port && same_name(hp, &server)) return 1;
    static const struct hostport localhost = { "localhost", NULL, 9, 0 };
    if (p->loopback && port == server_port && same_name(hp, &localhost)) return 1;
  }
  for (size_t i = 0; i < p->nallow; i++)
    if (split(p->allow[i], strlen(p->allow[i]), &entry) == 0 && same_name(hp, &entry) &&
        (!entry.port_len || port_of(&entry, 0) == port))
      return 1;
  return 0;
}

int origin_host_ok(const struct origin_policy *p, const char *host) {
  struct hostport hp;
  if (!host || split(host, strlen(host), &hp) != 0) return 0;
  return allowed(p, &hp, port_of(&hp, 80));
}

int origin_origin_ok(const struct origin_policy *p, const char *origin) {
  long default_port;
  if (!origin) return 0;
  if (strncasecmp(origin, "http://", 7) == 0) {
    origin += 7;
    default_port = 80;
  } else if (strncasecmp(origin, "https://", 8) == 0) {
    origin += 8;
    default_port = 443;
  } else {
    return 0;   /* "null" (a sandboxed page, a file), or another scheme */
  }
  struct hostport hp;
  if (split(origin, strlen(origin), &hp) != 0) return 0;
  return allowed(p, &hp, port_of(&hp, default_port));
}

int origin_valid_name(const char *name) {
  struct hostport hp;
  if (!name || split(name, strlen(name), &hp) != 0) return 0;
  const char *chars = name[0] == '[' ? "0123456789abcdefABCDEF:." : "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-";
  size_t inner = name[0] == '[' ? hp.name_len - 2 : hp.name_len;
  return inner > 0 && strspn(hp.name + (name[0] == '['), chars) >= inner;
}
