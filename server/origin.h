/* origin.h — which Host and Origin headers the server answers.
 *
 * Two attacks from a web page the user opens, against a server on
 * loopback with no token:
 *   - cross-site requests: the page POSTs to http://127.0.0.1:8080 (a
 *     "simple" request, sent without asking first); the browser says where
 *     it comes from in Origin;
 *   - DNS rebinding: the page's own name is made to resolve to 127.0.0.1,
 *     so the browser thinks it talks to its own site; the Host header still
 *     carries that name.
 * So a request is answered only when its Host names this server, and its
 * Origin (when it has one) is a page of this server.
 *
 * A host is allowed when it is
 *   - the address the request arrived on, as HOST:PORT ("127.0.0.1:8080",
 *     "[::1]:8080"): what a client that was given the address sends;
 *   - localhost:PORT, when that address is loopback;
 *   - a name given with --allow-host: NAME matches NAME with any port (a
 *     proxy in front may listen on another one), NAME:PORT only that port.
 * Names compare case-insensitively; a Host without a port means port 80,
 * an Origin without one its scheme's (80 or 443).
 */
#ifndef EFC_ORIGIN_H
#define EFC_ORIGIN_H

#include <stddef.h>

struct origin_policy {
  const char *server_host;        /* "HOST:PORT" the request arrived on */
  int loopback;                   /* server_host is a loopback address */
  const char *const *allow;       /* --allow-host names */
  size_t nallow;
};

/* Is `host` (a Host header's value) this server? */
int origin_host_ok(const struct origin_policy *p, const char *host);

/* Is `origin` (an Origin header's value) http(s)://<an allowed host>?
 * "null" and every other scheme are not. */
int origin_origin_ok(const struct origin_policy *p, const char *origin);

/* Is `name` usable with --allow-host: a DNS name, an IPv4 address or a
 * [bracketed] IPv6 address, optionally with :PORT? */
int origin_valid_name(const char *name);

#endif /* EFC_ORIGIN_H */
