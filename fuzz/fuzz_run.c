/* fuzz_run.c — the `efc run` intake, the engine and the stages.
 *
 * The input is NDJSON, fed line by line to a fixed application (run_app.flow,
 * compiled once) exactly as cmd_run.c does: line ends cut, empty lines
 * skipped, the size cap, json_tokener with the depth bound, engine_reject
 * for what is not an event, engine_event for the rest; then every window is
 * drained.  Each input starts from an empty memory state, so an input is
 * replayed alike.  Beyond "no crash, no leak": the engine never reports a
 * state failure (the memory store does not fail), every line is counted
 * (as an event or a dead letter), and every emitted event is valid UTF-8
 * (what is not goes to the dead letters, as in POST /events).
 *
 * The per-line code mirrors cmd_run.c's loop (no shared host function
 * exists yet); keep the two in step.
 */
#include <string.h>
#include <json-c/json.h>
#include "check.h"
#include "compile.h"
#include "engine.h"
#include "fuzz.h"
#include "parse.h"
#include "state.h"
#include "stdlib_files.h"
#include "utf8.h"

/* run_app.flow, embedded by fuzz.mk with tools/embed.sh: one entry, then { NULL, NULL }. */
extern const struct stdlib_file fuzz_apps[];

static uint8_t *image_bytes;
static size_t image_size;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  struct diag d;
  diag_init(&d);
  struct source *src = diag_add_source(&d, "run_app.flow", fuzz_apps[0].text, strlen(fuzz_apps[0].text));
  struct program *p = parse_program(&d, src);
  struct compilation c;
  if (d.errors == 0) check_program(p, &d);
  if (d.errors == 0 && compile_program(p, &d, NULL, &c) == 0) {
    image_size = c.image_size;
    image_bytes = malloc(image_size);
    memcpy(image_bytes, c.image_bytes, image_size);
  }
  if (d.errors == 0) compilation_free(&c);
  diag_print(&d, stderr, 0);
  FUZZ_REQUIRE(image_bytes, "run_app.flow does not compile");
  ast_program_free(p);
  diag_free(&d);
  return 0;
}

static int emit(void *ctx, struct json_object *event) {
  (void)ctx;
  size_t len;
  const char *text = json_object_to_json_string_length(event, JSON_C_TO_STRING_PLAIN, &len);   /* as --out writes it */
  long bad = utf8_invalid_at(text, len);
  FUZZ_REQUIRE(bad < 0, "an emitted event is not valid UTF-8 (byte %ld): %s", bad, text);
  return 0;
}

static void dead_letter(void *ctx, long line, const char *reason, struct json_object *event) {
  (void)ctx, (void)line, (void)reason;
  if (event) json_object_to_json_string_ext(event, JSON_C_TO_STRING_PLAIN);
}

/* One input line, as cmd_run.c's loop handles it; 0, or -1 on a state failure. */
static int feed_line(struct engine *e, struct json_tokener *tok, const char *line, size_t len, long lineno) {
  char reason[300];
  if (len > ENGINE_MAX_EVENT_BYTES) {
    snprintf(reason, sizeof reason, "the event is %zu bytes; EventBridge accepts at most %d", len, ENGINE_MAX_EVENT_BYTES);
    engine_reject(e, lineno, reason);
    return 0;
  }
  json_tokener_reset(tok);
  struct json_object *ev = json_tokener_parse_ex(tok, line, (int)len);
  enum json_tokener_error jerr = json_tokener_get_error(tok);
  if (!ev && jerr == json_tokener_success) jerr = json_tokener_error_parse_null;
  int rc = 0;
  if (jerr != json_tokener_success || json_tokener_get_parse_end(tok) != len) {
    snprintf(reason, sizeof reason, "invalid JSON: %s", jerr != json_tokener_success ? json_tokener_error_desc(jerr) : "text after the value");
    engine_reject(e, lineno, reason);
  } else {
    rc = engine_event(e, ev, lineno);
  }
  json_object_put(ev);
  return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char err[256];
  struct image *img = image_load(image_bytes, image_size, err, sizeof err);
  FUZZ_REQUIRE(img, "the fixed image does not load: %s", err);
  struct state_store *st = state_open_memory();
  struct engine_sink sink = { NULL, emit, dead_letter, NULL };
  struct engine_options opt = { 0 };
  struct engine *e = engine_new(img, st, &opt, &sink, err, sizeof err);
  FUZZ_REQUIRE(e, "the fixed application does not start: %s", err);
  FUZZ_REQUIRE(state_begin(st) == STATE_OK, "state_begin");
  struct json_tokener *tok = json_tokener_new_ex(ENGINE_MAX_DEPTH);
  long lineno = 0, lines = 0;
  for (size_t at = 0; at < size;) {
    const uint8_t *nl = memchr(data + at, '\n', size - at);
    size_t end = nl ? (size_t)(nl - data) : size, len = end - at;
    char *line = malloc(len + 1);   /* its own buffer, so reading past it is caught */
    memcpy(line, data + at, len);
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) len--;
    line[len] = 0;
    lineno++;
    if (len > 0) {
      lines++;
      FUZZ_REQUIRE(feed_line(e, tok, line, len, lineno) == 0, "the engine reports a state failure on a memory store");
    }
    free(line);
    at = end + 1;
  }
  FUZZ_REQUIRE(engine_drain(e) == 0, "drain reports a state failure on a memory store");
  FUZZ_REQUIRE(engine_stats(e)->events == (uint64_t)lines, "%ld input lines but %llu events counted", lines,
               (unsigned long long)engine_stats(e)->events);
  FUZZ_REQUIRE(state_commit(st) == STATE_OK, "state_commit");
  json_tokener_free(tok);
  engine_free(e);
  state_close(st);
  return 0;
}
