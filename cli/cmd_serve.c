/* cmd_serve.c — `efc serve`: the Event Store Wrapper over HTTP.
 *
 * A thin host: opens the store and the flows' state store, loads compile
 * outputs if asked, starts the HTTP transport (server/http.c) around the
 * handlers (server/handlers.c), and waits for SIGINT or SIGTERM.  Then it
 * stops accepting, lets requests in progress finish, and closes the stores
 * (every acknowledged write was committed before its answer).
 */
#include <malloc.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include "cli.h"
#include "evstore.h"
#include "handlers.h"
#include "http.h"
#include "origin.h"
#include "state.h"
#include "views.h"

static const char help[] =
  "usage: efc serve [--store PATH] [--listen HOST:PORT] [--token T | --token-file F]\n"
  "                 [--load OUTDIR]... [options]\n\n"
  "Serves the Event Store over HTTP (see docs/api.md):\n"
  "  GET /events  GET /event/{id}  GET /flows  GET /flow/{id}  POST /flow\n"
  "  DELETE /flow/{id}  POST /route/{id}  POST /events  GET /health\n\n"
  "options:\n"
  "  --store PATH       the store: a SQLite file, created if missing (default:\n"
  "                     " CLI_DEFAULT_STORE "), or :memory: for a throw-away one\n"
  "  --listen HOST:PORT where to listen (default: " HTTP_DEFAULT_LISTEN "); port 0 picks\n"
  "                     a free port.  The address is printed on stdout when ready.\n"
  "  --token T          every request needs \"Authorization: Bearer T\" (else 401)\n"
  "  --token-file F     the same, with the token on the first line of F (keeps it\n"
  "                     out of the process list)\n"
  "  --insecure         allow a non-loopback --listen without a token\n"
  "  --allow-host NAME  also answer requests for NAME (a name clients use for this\n"
  "                     server: NAME matches any port, NAME:PORT one); may be\n"
  "                     repeated\n"
  "  --load OUTDIR      load an efc compile output (as `efc store load`) first;\n"
  "                     may be repeated\n"
  "  --state PATH       where flows keep their windows for POST /events: a SQLite\n"
  "                     file (default: the store's path + \".state\"; in memory\n"
  "                     with --store :memory:)\n"
  "  --max-connections N  open connections at once (default %d; more are\n"
  "                     refused until one closes)\n"
  "  --timeout S        a request must arrive whole (headers and body) within S\n"
  "                     seconds, and idle connections close after S (default %d)\n"
  "  --max-body BYTES   largest request body (default %d; 413 above)\n"
  "  --log              one line per request on stderr\n"
  "  --blob-root DIR    the folder that views (summarizer, transcriber) read the\n"
  "                     content events name in; a name that leaves it (an\n"
  "                     absolute path, `..`, a link out) is refused.  Without\n"
  "                     it, those views refuse every event (a dead letter)\n"
  "  --index-dir DIR    the folder the indexer view writes its indexes in (a\n"
  "                     plain file name, never a path); without it, refused\n\n"
  "Security (see docs/api.md): without --token the server listens on loopback\n"
  "only, unless --insecure.  A request is answered only if its Host is the\n"
  "address it came to (or localhost:PORT on loopback, or an --allow-host name)\n"
  "(else 421) and its Origin, if any, is http(s):// one of those (else 403);\n"
  "bodies must be application/json (POST /flow: or text/x-efc) (else 415).\n"
  "These and the token are checked before any body byte is read.  Two\n"
  "connections over --max-connections are kept for short GETs (/health).\n"
  "SIGINT or SIGTERM stop it cleanly.  Exit status: 0 after a clean stop, 1 a\n"
  "--load was refused, 2 bad usage, 3 the store or the listening socket failed.\n";

static int print_help(FILE *out) {
  return fprintf(out, help, HTTP_DEFAULT_MAX_CONN, HTTP_DEFAULT_TIMEOUT, API_DEFAULT_MAX_BODY);
}

static int read_token_file(const char *path, char *token, size_t size) {
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  int ok = fgets(token, (int)size, f) != NULL;
  fclose(f);
  if (!ok) return -1;
  token[strcspn(token, "\r\n")] = 0;
  return token[0] ? 0 : -1;
}

static int positive(const char *s, long max, long *out) {
  char *end;
  long v = strtol(s, &end, 10);
  if (!*s || *end || v < 1 || v > max) return -1;
  *out = v;
  return 0;
}

int cmd_serve(int argc, char **argv) {
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      print_help(stdout);
      return 0;
    }
  const char *store_path = CLI_DEFAULT_STORE, *listen = HTTP_DEFAULT_LISTEN, *token = NULL, *state_path = NULL;
  struct views_config views = { 0 };   /* --blob-root, --index-dir: none unless given */
  const char **loads = calloc((size_t)argc + 1, sizeof *loads), **hosts = calloc((size_t)argc + 1, sizeof *hosts);
  size_t nloads = 0, nhosts = 0;
  int insecure = 0, log = 0;
  long connections = HTTP_DEFAULT_MAX_CONN, timeout = HTTP_DEFAULT_TIMEOUT, max_body = API_DEFAULT_MAX_BODY;
  char token_buf[1024];
  if (!loads || !hosts) {
    free(loads);
    free(hosts);
    return 3;
  }
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int has = i + 1 < argc;
    if (strcmp(a, "--store") == 0 && has) store_path = argv[++i];
    else if (strcmp(a, "--listen") == 0 && has) listen = argv[++i];
    else if (strcmp(a, "--token") == 0 && has) token = argv[++i];
    else if (strcmp(a, "--token-file") == 0 && has) {
      if (read_token_file(argv[++i], token_buf, sizeof token_buf) != 0) {
        fprintf(stderr, "efc serve: cannot read a token from the first line of %s\n", argv[i]);
        free(loads);
        free(hosts);
        return 2;
      }
      token = token_buf;
    } else if (strcmp(a, "--insecure") == 0) insecure = 1;
    else if (strcmp(a, "--load") == 0 && has) loads[nloads++] = argv[++i];
    else if (strcmp(a, "--state") == 0 && has) state_path = argv[++i];
    else if (strcmp(a, "--allow-host") == 0 && has && origin_valid_name(argv[i + 1])) hosts[nhosts++] = argv[++i];
    else if (strcmp(a, "--log") == 0) log = 1;
    else if (strcmp(a, "--blob-root") == 0 && has) views.blob_root = argv[++i];
    else if (strcmp(a, "--index-dir") == 0 && has) views.index_dir = argv[++i];
    else if ((strcmp(a, "--max-connections") == 0 && has && positive(argv[++i], 10000, &connections) == 0) ||
             (strcmp(a, "--timeout") == 0 && has && positive(argv[++i], 86400, &timeout) == 0) ||
             (strcmp(a, "--max-body") == 0 && has && positive(argv[++i], 1L << 30, &max_body) == 0))
      continue;
    else {
      fprintf(stderr, "efc serve: unknown option, missing or bad value: '%s'\n\n", a);
      print_help(stderr);
      free(loads);
      free(hosts);
      return 2;
    }
  }
  if (cli_check_folder("efc serve", "--blob-root", views.blob_root) ||
      cli_check_folder("efc serve", "--index-dir", views.index_dir)) {
    free(loads);
    free(hosts);
    return 2;
  }
  char err[512];
  int loopback = 0;
  if (http_parse_listen(listen, &loopback, err, sizeof err) != 0) {
    fprintf(stderr, "efc serve: --listen: %s\n", err);
    free(loads);
    free(hosts);
    return 2;
  }
  if (token && !token[0]) {
    fprintf(stderr, "efc serve: the token is empty\n");
    free(loads);
    free(hosts);
    return 2;
  }
  if (!loopback && !token && !insecure) {
    fprintf(stderr, "efc serve: %s is reachable from other machines: give --token (or --insecure to serve it "
                    "to anyone who can connect)\n", listen);
    free(loads);
    free(hosts);
    return 2;
  }

  struct evstore *store = evstore_open(store_path, err, sizeof err);
  if (!store) {
    fprintf(stderr, "efc serve: %s\n", err);
    free(loads);
    free(hosts);
    return 3;
  }
  int rc = 0;
  for (size_t i = 0; i < nloads && rc == 0; i++) rc = cli_store_load(store, loads[i], "efc serve");
  free(loads);
  if (rc != 0) {
    free(hosts);
    evstore_close(store);
    return rc;
  }
  int memory = strcmp(store_path, EVSTORE_MEMORY_PATH) == 0;
  char default_state[4096];
  snprintf(default_state, sizeof default_state, "%s.state", store_path);
  if (!state_path && !memory) state_path = default_state;
  struct state_store *state = state_path && strcmp(state_path, EVSTORE_MEMORY_PATH) != 0
                            ? state_open_sqlite(state_path, err, sizeof err) : state_open_memory();
  if (!state) {
    fprintf(stderr, "efc serve: state %s: %s\n", state_path ? state_path : "(memory)", state_path ? err : "out of memory");
    free(hosts);
    evstore_close(store);
    return 3;
  }
  struct api *api = api_new(store, state, &(struct api_options){ .token = token, .max_body = (size_t)max_body,
                                                            .allow_hosts = hosts, .nallow_hosts = nhosts,
                                                            .views = &views });
#ifdef M_ARENA_MAX
  /* One thread per connection: glibc would give each its own malloc arena
   * (up to 8 per core), each keeping the high-water mark of a compile.  Two
   * arenas keep the server's memory flat at no measurable cost. */
  mallopt(M_ARENA_MAX, 2);
#endif

  /* SIGINT and SIGTERM are taken by this thread alone (sigwait below): the
   * server's threads start with them blocked. */
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, NULL);
  signal(SIGPIPE, SIG_IGN);

  struct http_server *server = api ? http_start(api, &(struct http_options){ .listen = listen, .max_connections = (unsigned)connections,
                                                                            .timeout = (unsigned)timeout, .log = log },
                                                err, sizeof err) : NULL;
  if (!server) {
    fprintf(stderr, "efc serve: %s\n", api ? err : "out of memory");
    api_free(api);
    free(hosts);
    state_close(state);
    evstore_close(store);
    return 3;
  }
  printf("efc serve: listening on http://%s (store: %s%s)\n", http_address(server), store_path,
         token ? ", token required" : "");
  fflush(stdout);

  int sig = 0;
  sigwait(&stop, &sig);
  fprintf(stderr, "efc serve: %s: stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
  http_stop(server);
  api_free(api);
  free(hosts);
  state_close(state);
  evstore_close(store);
  fprintf(stderr, "efc serve: stopped\n");
  return 0;
}
