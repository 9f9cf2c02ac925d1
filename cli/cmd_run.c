/* cmd_run.c — `efc run`: simulate an application locally over NDJSON events.
 *
 * The host around the engine: reads lines, rejects what is not an event,
 * commits state in batches together with the input offset and the sizes of
 * the output files, so a killed run started again with the same --state
 * skips what was done, cuts the outputs back to the last commit and counts
 * nothing twice.
 */
#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "cli.h"
#include "compile.h"
#include "engine.h"
#include "views.h"

static const char help[] =
  "usage: efc run APP.flow|OUTDIR --events FILE|- [options]\n\n"
  "Runs the application locally: each input event (one JSON object per line,\n"
  "in EventBridge's envelope) is checked against its declared schema, routed\n"
  "through the compiled rules exactly as EventBridge would, and run through the\n"
  "flows; emitted events are written as NDJSON and routed again.\n\n"
  "options:\n"
  "  --events FILE|-      input events (NDJSON); - is stdin\n"
  "  --out FILE           emitted events (default: stdout)\n"
  "  --dead-letter FILE   events that could not be processed, with the reason\n"
  "                       (default: stderr)\n"
  "  --state PATH         keep filter windows in this SQLite file; a run started\n"
  "                       again with the same file and input resumes where it\n"
  "                       stopped; with another input, the windows go on with it\n"
  "  --clock event|wall   time from the events' `time` (default, deterministic)\n"
  "                       or from the wall clock\n"
  "  --drain              at the end of the input, close every open window\n"
  "                       (default: keep them in --state for the next run)\n"
  "  --blobs DIR          the blob root: the folder the content names of events\n"
  "                       (data.uri) are read in by the views summarizer and\n"
  "                       transcriber; names that leave it are refused (default:\n"
  "                       $EFC_BLOB_DIR, else the folder of the --events file,\n"
  "                       the current folder for stdin)\n"
  "  --index-dir DIR      the folder the indexer view writes its indexes in (a\n"
  "                       plain file name from the flow); default: the folder\n"
  "                       of the --events file, the current folder for stdin\n"
  "  --trace              print each event's rules and stages on stderr\n"
  "  --batch N            events per state transaction (default 1000)\n\n"
  "Exit status: 0 when the input was processed (dead letters included), 1 when\n"
  "the application does not compile or load, 2 on bad usage, 3 on a state error.\n";

struct run {
  FILE *out, *dlq;
  int trace;
  long dead;
};

static int emit_line(void *ctx, struct json_object *ev) {
  struct run *r = ctx;
  const char *text = json_object_to_json_string_ext(ev, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
  if (fputs(text, r->out) == EOF || fputc('\n', r->out) == EOF) return -1;
  return 0;
}

static void dead_letter(void *ctx, long line, const char *reason, struct json_object *event) {
  struct run *r = ctx;
  struct json_object *rec = json_object_new_object();
  if (line > 0) json_object_object_add(rec, "line", json_object_new_int64(line));
  json_object_object_add(rec, "reason", json_object_new_string(reason));
  if (event) json_object_object_add(rec, "event", json_object_get(event));
  fprintf(r->dlq, "%s\n", json_object_to_json_string_ext(rec, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
  json_object_put(rec);
  r->dead++;
}

static void trace_line(void *ctx, const char *text) {
  (void)ctx;
  fprintf(stderr, "trace: %s\n", text);
}

/* The image of APP.flow (compiled now) or of the one .efb in OUTDIR. */
static struct image *load_app(const char *path) {
  char err[512];
  struct stat st;
  if (stat(path, &st) != 0) {
    fprintf(stderr, "efc run: %s: %s\n", path, strerror(errno));
    return NULL;
  }
  if (S_ISDIR(st.st_mode)) {
    /* One .efb in the folder: that is the application. */
    char found[4096] = "";
    int count = 0;
    DIR *dir = opendir(path);
    if (dir) {
      struct dirent *d;
      while ((d = readdir(dir)) != NULL) {
        size_t n = strlen(d->d_name);
        if (n > 4 && strcmp(d->d_name + n - 4, ".efb") == 0) {
          count++;
          snprintf(found, sizeof found, "%s/%s", path, d->d_name);
        }
      }
      closedir(dir);
    }
    if (count != 1) {
      fprintf(stderr, "efc run: %s holds %d .efb files; expected exactly one (the output of efc compile)\n", path, count);
      return NULL;
    }
    struct image *img = image_load_file(found, err, sizeof err);
    if (!img) fprintf(stderr, "efc run: %s\n", err);
    return img;
  }
  struct diag d;
  diag_init(&d);
  struct image *img = NULL;
  struct program *prog = cli_load_program(&d, path);
  struct compilation c;
  if (prog && compile_program(prog, &d, NULL, &c) == 0) {
    img = image_load(c.image_bytes, c.image_size, err, sizeof err);
    if (!img) fprintf(stderr, "efc run: %s\n", err);
  }
  if (prog) compilation_free(&c);
  diag_print(&d, stderr, cli_color());
  diag_free(&d);
  ast_program_free(prog);
  return img;
}

static int64_t wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads meta `name` as a number (0 when absent). */
static long long meta_number(struct state_store *st, const char *name) {
  char *v = NULL;
  long long n = 0;
  if (state_meta_get(st, name, &v) == STATE_OK) n = strtoll(v, NULL, 10);
  free(v);
  return n;
}

static int meta_put_number(struct state_store *st, const char *name, long long n) {
  char buf[32];
  snprintf(buf, sizeof buf, "%lld", n);
  return state_meta_put(st, name, buf) == STATE_OK ? 0 : -1;
}

/* Which input a state file was reading: FNV-1a over its lines (without
 * their line ends), kept as "input.first" (line 1) and "input.digest"
 * (lines 1 .. input.offset). */
#define LINES_SEED 1469598103934665603ull
static uint64_t hash_line(uint64_t h, const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
  return (h ^ '\n') * 1099511628211ull;
}

static int meta_hash(struct state_store *st, const char *name, uint64_t *out) {
  char *v = NULL;
  int found = state_meta_get(st, name, &v) == STATE_OK;
  if (found) *out = strtoull(v, NULL, 16);
  free(v);
  return found;
}

static int meta_put_hash(struct state_store *st, const char *name, uint64_t h) {
  char buf[32];
  snprintf(buf, sizeof buf, "%016llx", (unsigned long long)h);
  return state_meta_put(st, name, buf) == STATE_OK ? 0 : -1;
}

/* The input, one line at a time; a line read ahead can be given back once. */
struct input {
  FILE *f;
  char *line;
  size_t cap;
  ssize_t len;
  int pending;
};

static ssize_t next_line(struct input *in) {
  if (in->pending) {
    in->pending = 0;
    return in->len;
  }
  in->len = getline(&in->line, &in->cap, in->f);
  if (in->len > 0) {   /* without its line end */
    while (in->len > 0 && (in->line[in->len - 1] == '\n' || in->line[in->len - 1] == '\r')) in->line[--in->len] = 0;
  }
  return in->len;
}

/* Where to start in this input, given the state's resume point: after
 * `offset` lines when it is the input the state was reading (the same first
 * line and the same `offset` lines: a run that stopped, or a file that has
 * grown), else at line 1 (a new input: the windows kept in the state go on
 * with it).  Returns the lines skipped, or -1 when a non-seekable input
 * turns out to be new only after lines were consumed (message printed). */
static long long resume_point(struct state_store *st, struct input *in, long long offset, uint64_t *digest,
                              uint64_t *first) {
  uint64_t stored_first = 0, stored_digest = 0;
  int have_first = meta_hash(st, "input.first", &stored_first), have_digest = meta_hash(st, "input.digest", &stored_digest);
  *digest = LINES_SEED;
  if (offset <= 0) return 0;
  if (next_line(in) < 0) return 0;
  *first = hash_line(LINES_SEED, in->line, (size_t)in->len);
  if (have_first && *first != stored_first) {
    in->pending = 1;   /* a new input: line 1 is still to be processed */
    return 0;
  }
  uint64_t h = *first;
  long long n = 1;
  while (n < offset && next_line(in) >= 0) {
    h = hash_line(h, in->line, (size_t)in->len);
    n++;
  }
  if (n == offset && (!have_digest || h == stored_digest)) {
    *digest = h;
    return offset;
  }
  if (fseek(in->f, 0, SEEK_SET) == 0) return 0;   /* a new input after all: from line 1 */
  fprintf(stderr, "efc run: this input starts like the one the state was reading but does not continue it, and it "
                  "cannot be read again from the start; give it as a file, or use a new --state\n");
  return -1;
}

/* Commits the batch: outputs are flushed first, so the recorded sizes are on disk. */
static int checkpoint(struct state_store *st, struct run *r, const struct engine *e, long offset, uint64_t first,
                      uint64_t digest) {
  if (fflush(r->out) != 0 || fflush(r->dlq) != 0) return -1;
  long out_size = ftell(r->out), dlq_size = ftell(r->dlq);
  if (meta_put_number(st, "input.offset", offset) || (out_size >= 0 && meta_put_number(st, "out.bytes", out_size)) ||
      meta_put_number(st, "clock.event", engine_event_clock(e)) ||
      (dlq_size >= 0 && meta_put_number(st, "dead-letter.bytes", dlq_size)) ||
      (offset > 0 && (meta_put_hash(st, "input.first", first) || meta_put_hash(st, "input.digest", digest))))
    return -1;
  return state_commit(st) == STATE_OK && state_begin(st) == STATE_OK ? 0 : -1;
}

/* Opens an output for a resumed run: cut back to what the last commit saw. */
static FILE *open_output(const char *path, long long keep, int resuming) {
  if (!resuming) return fopen(path, "w");
  FILE *f = fopen(path, "r+");
  if (!f) return fopen(path, "w");
  if (ftruncate(fileno(f), keep) != 0 || fseek(f, keep, SEEK_SET) != 0) {
    fclose(f);
    return NULL;
  }
  return f;
}

static void summary(const struct engine *e, double seconds) {
  const struct engine_stats *s = engine_stats(e);
  fprintf(stderr, "efc run: %llu events read, %llu matched a rule, %llu emitted, %llu dead-lettered",
          (unsigned long long)s->events, (unsigned long long)s->matched, (unsigned long long)s->emitted,
          (unsigned long long)s->dead_lettered);
  if (s->forwarded) fprintf(stderr, ", %llu delivered to ARN targets", (unsigned long long)s->forwarded);
  fprintf(stderr, "; %.3f s, %.0f events/s\n", seconds, seconds > 0 ? (double)s->events / seconds : 0.0);
  /* Rules that matched, then how many did not (an app may have thousands). */
  size_t idle = 0;
  for (size_t i = 0; i < s->nrules; i++) {
    if (s->rule_matches[i]) fprintf(stderr, "  %8llu  %s\n", (unsigned long long)s->rule_matches[i], engine_rule_name(e, i));
    else if (s->nrules <= 20) fprintf(stderr, "  %8d  %s\n", 0, engine_rule_name(e, i));
    else idle++;
  }
  if (idle) fprintf(stderr, "  and %zu rule%s that matched nothing\n", idle, idle == 1 ? "" : "s");
}

int cmd_run(int argc, char **argv) {
  if (cli_wants_help(argc, argv, help)) return 0;
  const char *app = NULL, *events = NULL, *out_path = NULL, *dlq_path = NULL, *state_path = NULL;
  int drain = 0, trace = 0, wall = 0;
  long batch = 1000;
  const char *blobs = NULL, *index_dir = NULL;   /* --blobs, --index-dir: where the views read and write */
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int has = i + 1 < argc;
    if (strcmp(a, "--events") == 0 && has) events = argv[++i];
    else if (strcmp(a, "--out") == 0 && has) out_path = argv[++i];
    else if (strcmp(a, "--dead-letter") == 0 && has) dlq_path = argv[++i];
    else if (strcmp(a, "--state") == 0 && has) state_path = argv[++i];
    else if (strcmp(a, "--clock") == 0 && has) {
      const char *c = argv[++i];
      if (strcmp(c, "wall") == 0) wall = 1;
      else if (strcmp(c, "event") != 0) {
        fprintf(stderr, "efc run: --clock is `event` or `wall`, not '%s'\n", c);
        return 2;
      }
    } else if (strcmp(a, "--batch") == 0 && has) {
      batch = strtol(argv[++i], NULL, 10);
      if (batch < 1) batch = 1;
    } else if (strcmp(a, "--blobs") == 0 && has) blobs = argv[++i];
    else if (strcmp(a, "--index-dir") == 0 && has) index_dir = argv[++i];
    else if (strcmp(a, "--drain") == 0) drain = 1;
    else if (strcmp(a, "--trace") == 0) trace = 1;
    else if (a[0] == '-' && a[1]) {
      fprintf(stderr, "efc run: unknown option or missing value: '%s'\n\n%s", a, help);
      return 2;
    } else if (!app) app = a;
    else {
      fprintf(stderr, "efc run: one application at a time (got '%s' and '%s')\n", app, a);
      return 2;
    }
  }
  if (!app || !events) {
    fputs(help, stderr);
    return 2;
  }
  /* Where the views read blobs and write indexes: configuration, never
   * event data (design decision 12). */
  char events_copy[PATH_MAX], input_dir[PATH_MAX];   /* dirname() may write into its argument */
  const char *env_blobs = getenv("EFC_BLOB_DIR");
  snprintf(events_copy, sizeof events_copy, "%s", events);
  snprintf(input_dir, sizeof input_dir, "%s", strcmp(events, "-") == 0 ? "." : dirname(events_copy));
  struct views_config views = {
    .blob_root = blobs ? blobs : env_blobs && *env_blobs ? env_blobs : input_dir,
    .index_dir = index_dir ? index_dir : input_dir,
  };
  const char *given_root = views.blob_root == input_dir ? NULL : views.blob_root;   /* the input's: checked by opening it */
  if (cli_check_folder("efc run", blobs ? "--blobs" : "$EFC_BLOB_DIR", given_root) ||
      cli_check_folder("efc run", "--index-dir", index_dir))
    return 2;
  struct image *img = load_app(app);
  if (!img) return 1;
  /* Which application a state file belongs to: the checksum of its image. */
  uint8_t *bytes;
  size_t size;
  uint32_t app_digest = 0;
  if (image_write(img, &bytes, &size) == 0) {
    app_digest = image_crc32(bytes, size);
    free(bytes);
  }

  char err[512];
  struct state_store *st = state_path ? state_open_sqlite(state_path, err, sizeof err) : state_open_memory();
  if (!st) {
    fprintf(stderr, "efc run: %s\n", state_path ? err : "out of memory");
    image_free(img);
    return 3;
  }
  long long offset = meta_number(st, "input.offset");
  long long stored_digest = meta_number(st, "app.digest");
  if (offset > 0 && stored_digest != (long long)app_digest) {
    fprintf(stderr, "efc run: %s holds the state of a different application (or another version of it); "
                    "use a new --state file\n", state_path);
    state_close(st);
    image_free(img);
    return 3;
  }
  FILE *in = strcmp(events, "-") == 0 ? stdin : fopen(events, "r");
  if (!in) {
    fprintf(stderr, "efc run: cannot open %s: %s\n", events, strerror(errno));
    state_close(st);
    image_free(img);
    return 2;
  }
  /* A read(2) per MB rather than per 4 KB (glibc ignores the size
   * without a buffer of ours): less system time on big inputs. */
  static char input_buffer[1 << 20];
  setvbuf(in, input_buffer, _IOFBF, sizeof input_buffer);
  struct input input = { in, NULL, 0, 0, 0 };
  uint64_t first = 0, digest = LINES_SEED;
  long long had = offset;
  offset = resume_point(st, &input, offset, &digest, &first);
  if (offset < 0) {
    if (in != stdin) fclose(in);
    free(input.line);
    state_close(st);
    image_free(img);
    return 2;
  }
  int resuming = offset > 0;
  struct run r = { stdout, stderr, trace, 0 };
  if (out_path && !(r.out = open_output(out_path, meta_number(st, "out.bytes"), resuming))) {
    fprintf(stderr, "efc run: cannot open %s: %s\n", out_path, strerror(errno));
    if (in != stdin) fclose(in);
    free(input.line);
    state_close(st);
    image_free(img);
    return 2;
  }
  if (dlq_path && !(r.dlq = open_output(dlq_path, meta_number(st, "dead-letter.bytes"), resuming))) {
    fprintf(stderr, "efc run: cannot open %s: %s\n", dlq_path, strerror(errno));
    if (r.out != stdout) fclose(r.out);
    if (in != stdin) fclose(in);
    free(input.line);
    state_close(st);
    image_free(img);
    return 2;
  }
  struct engine_sink sink = { &r, emit_line, dead_letter, trace ? trace_line : NULL };
  struct engine_options opt = { .wall_clock = wall, .views = &views };
  struct engine *e = engine_new(img, st, &opt, &sink, err, sizeof err);
  int rc = 0;
  if (!e) {
    fprintf(stderr, "efc run: %s\n", err);
    rc = 1;
    goto done;
  }
  if (state_begin(st) != STATE_OK || meta_put_number(st, "app.digest", app_digest) != 0) goto state_failed;
  engine_set_event_clock(e, meta_number(st, "clock.event"));   /* event time goes on from the last run */
  if (resuming) fprintf(stderr, "efc run: resuming after %lld events already processed in %s\n", offset, state_path);
  else if (had > 0) fprintf(stderr, "efc run: a new input; the windows kept in %s go on with it\n", state_path);

  int progress = isatty(2) && !trace;
  int64_t start = wall_ms(), last_progress = start;
  ssize_t len;
  long lineno = (long)offset, in_batch = 0;
  struct json_tokener *tok = json_tokener_new_ex(ENGINE_MAX_DEPTH);
  while ((len = next_line(&input)) != -1) {
    char *line = input.line;
    lineno++;
    if (state_path) {   /* only a state file can resume, so only then is the input's identity kept */
      digest = hash_line(digest, line, (size_t)len);
      if (lineno == 1) first = digest;
    }
    if (len == 0) continue;
    char reason[300];
    if (len > ENGINE_MAX_EVENT_BYTES) {
      snprintf(reason, sizeof reason, "the event is %zd bytes; EventBridge accepts at most %d", len, ENGINE_MAX_EVENT_BYTES);
      engine_reject(e, lineno, reason);
    } else {
      json_tokener_reset(tok);
      struct json_object *ev = json_tokener_parse_ex(tok, line, (int)len);
      enum json_tokener_error jerr = json_tokener_get_error(tok);
      if (!ev && jerr == json_tokener_success) jerr = json_tokener_error_parse_null;
      if (jerr != json_tokener_success || json_tokener_get_parse_end(tok) != (size_t)len) {
        if (jerr == json_tokener_error_depth)
          snprintf(reason, sizeof reason, "the event is nested deeper than %d levels", ENGINE_MAX_DEPTH);
        else
          snprintf(reason, sizeof reason, "invalid JSON: %s at byte %zu",
                   jerr != json_tokener_success ? json_tokener_error_desc(jerr) : "unexpected text after the value",
                   json_tokener_get_parse_end(tok) + 1);
        engine_reject(e, lineno, reason);
      } else if (engine_event(e, ev, lineno) != 0) {
        json_object_put(ev);
        goto state_failed_loop;
      }
      json_object_put(ev);
    }
    if (++in_batch >= batch) {
      if (checkpoint(st, &r, e, lineno, first, digest) != 0) goto state_failed_loop;
      in_batch = 0;
    }
    if (progress && (lineno & 1023) == 0) {
      int64_t now = wall_ms();
      if (now - last_progress >= 500) {
        fprintf(stderr, "\refc run: %ld events, %.0f/s", lineno, (double)(lineno - offset) * 1000.0 / (double)(now - start + 1));
        last_progress = now;
      }
    }
  }
  if (progress) fputs("\r\033[K", stderr);
  if (drain && engine_drain(e) != 0) goto state_failed_loop;
  if (checkpoint(st, &r, e, lineno, first, digest) != 0) goto state_failed_loop;
  state_rollback(st);   /* the empty transaction checkpoint opened */
  summary(e, (double)(wall_ms() - start) / 1000.0);
  json_tokener_free(tok);
  goto done;

state_failed_loop:
  json_tokener_free(tok);
state_failed:
  fprintf(stderr, "efc run: state store failed: %s; nothing after the last commit was kept\n", state_error(st));
  if (state_in_transaction(st)) state_rollback(st);
  rc = 3;
done:
  free(input.line);
  engine_free(e);
  if (!e) image_free(img);
  if (in != stdin) fclose(in);
  if (r.out != stdout && fclose(r.out) != 0) rc = rc ? rc : 3;
  if (r.dlq != stderr) fclose(r.dlq);
  state_close(st);
  return rc;
}
