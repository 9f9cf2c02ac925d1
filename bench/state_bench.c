/* state_bench.c — transactions per second of the state store for the
 * per-event pattern of a stateful stage under `efc run`:
 *
 *   begin; get the window (~200 bytes of JSON); put it back with its
 *   version as condition; meta_put "input.offset"; commit
 *
 * and for a counter stage (begin; add; meta_put; commit).  Each backend
 * runs for a fixed wall-clock time over 1,000 windows.  Built and run by
 * bench/state.sh; usage: state_bench [seconds] [directory for the files].
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "state.h"

#define WINDOWS 1000

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(struct state_store *st, const char *what, enum state_status s)
{
  fprintf(stderr, "state_bench: %s: %s: %s\n", what, state_status_name(s),
          st ? state_error(st) : "");
  exit(1);
}

/* One event of the window pattern. */
static size_t window_event(struct state_store *st, int64_t event)
{
  char key[48], value[320], offset[24];
  char *old = NULL;
  int64_t version = 0, shots = 0;
  enum state_status s;
  snprintf(key, sizeof key, "[\"session-%03d\",\"app-%" PRId64 "\"]", (int)(event % 97),
           (event * 7919) % WINDOWS);
  if ((s = state_begin(st)))
    die(st, "begin", s);
  s = state_get(st, &(struct state_key){"timecard", "aggregate#1", key}, &old, &version, NULL);
  if (s != STATE_OK && s != STATE_NOT_FOUND)
    die(st, "get", s);
  if (old) {
    const char *p = strstr(old, "\"shots\":");
    shots = p ? strtoll(p + 8, NULL, 10) : 0;
    free(old);
  }
  int n = snprintf(value, sizeof value,
                   "{\"first\":1700000000000,\"last\":%" PRId64 ",\"shots\":%" PRId64 ","
                   "\"session\":\"session-%03d\",\"app\":\"Visual Studio Code\","
                   "\"window\":\"state_bench.c - efc\",\"bytes\":%" PRId64 ","
                   "\"mime\":\"image/png\",\"uri\":\"s3://captures/%" PRId64 ".png\"}",
                   1700000000000 + event * 1000, shots + 1, (int)(event % 97),
                   (shots + 1) * 48213, event);
  s = state_put(st, &(struct state_key){"timecard", "aggregate#1", key}, value,
                1700000000000 + event * 1000 + 900000, version, NULL);
  if (s)
    die(st, "put", s);
  snprintf(offset, sizeof offset, "%" PRId64, event + 1);
  if ((s = state_meta_put(st, "input.offset", offset)))
    die(st, "meta_put", s);
  if ((s = state_commit(st)))
    die(st, "commit", s);
  return (size_t)n;
}

/* One event of the counter pattern. */
static void counter_event(struct state_store *st, int64_t event)
{
  char key[32], offset[24];
  enum state_status s;
  snprintf(key, sizeof key, "[\"user-%" PRId64 "\"]", (event * 7919) % WINDOWS);
  if ((s = state_begin(st)))
    die(st, "begin", s);
  if ((s = state_add(st, &(struct state_key){"usage", "count#1", key}, "count", 1, NULL)))
    die(st, "add", s);
  snprintf(offset, sizeof offset, "%" PRId64, event + 1);
  if ((s = state_meta_put(st, "input.offset", offset)))
    die(st, "meta_put", s);
  if ((s = state_commit(st)))
    die(st, "commit", s);
}

struct config {
  const char *label;
  int on_disk;
  enum state_durability durability;
};

static void run(const struct config *c, const char *dir, double seconds, int counter)
{
  char path[4096] = "";
  struct state_store *st;
  if (c->on_disk) {
    char err[512];
    snprintf(path, sizeof path, "%s/efc-state-bench-XXXXXX", dir);
    int fd = mkstemp(path);
    if (fd < 0) {
      perror(path);
      exit(1);
    }
    close(fd);
    struct state_sqlite_options o = {c->durability, 5000};
    if (!(st = state_open_sqlite_with(path, &o, err, sizeof err))) {
      fprintf(stderr, "state_bench: %s\n", err);
      exit(1);
    }
  } else if (!(st = state_open_memory())) {
    die(NULL, "open memory", STATE_NOMEM);
  }
  int64_t events = 0;
  size_t bytes = 0;
  double start = now_s(), elapsed;
  do {
    for (int i = 0; i < 50; i++, events++) {
      if (counter)
        counter_event(st, events);
      else
        bytes += window_event(st, events);
    }
    elapsed = now_s() - start;
  } while (elapsed < seconds);
  char *offset = NULL;
  if (state_meta_get(st, "input.offset", &offset) || strtoll(offset, NULL, 10) != events)
    die(st, "final offset check", STATE_CORRUPT);
  free(offset);
  printf("  %-26s %-8s %9.0f tx/s  %8.1f us/tx  (%" PRId64 " events", c->label,
         counter ? "counter" : "window", (double)events / elapsed, elapsed * 1e6 / (double)events,
         events);
  if (!counter)
    printf(", %zu-byte values", bytes / (size_t)events);
  printf(")\n");
  state_close(st);
  if (c->on_disk) {
    char side[4200];
    unlink(path);
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
  }
}

int main(int argc, char **argv)
{
  double seconds = argc > 1 ? atof(argv[1]) : 2.0;
  const char *dir = argc > 2 ? argv[2] : "/tmp";
  if (seconds <= 0)
    seconds = 2.0;
  static const struct config configs[] = {
    {"memory", 0, STATE_SYNC_FULL},
    {"sqlite synchronous=NORMAL", 1, STATE_SYNC_NORMAL},
    {"sqlite synchronous=FULL", 1, STATE_SYNC_FULL},
  };
  printf("state store, one transaction per event (get+put+offset / add+offset), "
         "%.1f s each, files in %s\n", seconds, dir);
  for (size_t i = 0; i < sizeof configs / sizeof *configs; i++)
    for (int counter = 0; counter < 2; counter++)
      run(&configs[i], dir, seconds, counter);
  return 0;
}
