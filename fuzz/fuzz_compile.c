/* fuzz_compile.c — the lexer, parser, checker and compiler over any bytes.
 *
 * The input is the text of a .flow file.  Beyond "no crash, no leak":
 *   - a program the checker accepts compiles without an internal error, its
 *     image loads and verifies (image_load), and the runtime takes it
 *     (engine_new: every stage known, every schema and pattern usable), as
 *     `efc run` and `efc serve` will;
 *   - diagnostics print (caret lines and all) without reading out of bounds;
 *   - for a program that parses, `efc fmt` output parses again and is a
 *     fixed point: fmt(fmt(x)) == fmt(x).
 */
#include <string.h>
#include <json-c/printbuf.h>
#include "check.h"
#include "compile.h"
#include "engine.h"
#include "fmt.h"
#include "fuzz.h"
#include "parse.h"
#include "state.h"

#define SOURCE_NAME "fuzz.flow"

/* An error the compiler admits is its own fault, not the program's: its
 * message, or NULL when there is none. */
static const char *internal_error(const struct diag *d) {
  for (size_t i = 0; i < d->count; i++)
    if (d->items[i].severity == SEV_ERROR && strstr(d->items[i].message, "internal error")) return d->items[i].message;
  return NULL;
}

static int drop_event(void *ctx, struct json_object *event) {
  (void)ctx, (void)event;
  return 0;
}
static void drop_dead_letter(void *ctx, long line, const char *reason, struct json_object *event) {
  (void)ctx, (void)line, (void)reason, (void)event;
}
static const struct engine_sink quiet_sink = { NULL, drop_event, drop_dead_letter, NULL };

static void check_compile(const uint8_t *data, size_t size) {
  struct diag d;
  diag_init(&d);
  struct source *src = diag_add_source(&d, SOURCE_NAME, (const char *)data, size);
  struct program *p = parse_program(&d, src);
  if (d.errors == 0) check_program(p, &d);
  if (d.errors == 0) {
    struct compilation c;
    int rc = compile_program(p, &d, NULL, &c);
    const char *internal = internal_error(&d);
    FUZZ_REQUIRE(!internal, "a checked program does not compile: %s", internal);
    if (rc == 0) {
      char err[256];
      struct image *img = image_load(c.image_bytes, c.image_size, err, sizeof err);
      FUZZ_REQUIRE(img, "the compiled image does not load: %s", err);
      struct state_store *st = state_open_memory();
      struct engine *e = engine_new(img, st, &(struct engine_options){ 0 }, &quiet_sink, err, sizeof err);
      FUZZ_REQUIRE(e, "the runtime refuses what the compiler accepted: %s", err);
      engine_free(e);   /* and the image with it */
      state_close(st);
    }
    compilation_free(&c);
  }
  diag_print(&d, fuzz_null_stream(), 0);
  ast_program_free(p);
  diag_free(&d);
}

/* The canonical layout of text, or NULL when it does not parse. */
static struct printbuf *format(const char *text, size_t size) {
  struct diag d;
  diag_init(&d);
  const struct source *src = diag_add_source(&d, SOURCE_NAME, text, size);
  struct program *p = ast_program_new();
  p->path = src->path;
  struct printbuf *pb = NULL;
  if (parse_source(p, &d, src, NULL) == 0) {
    pb = printbuf_new();
    fmt_program(p, pb);
  }
  ast_program_free(p);
  diag_free(&d);
  return pb;
}

static void check_fmt(const uint8_t *data, size_t size) {
  struct printbuf *once = format((const char *)data, size);
  if (!once) return;
  struct printbuf *twice = format(once->buf, (size_t)printbuf_length(once));
  FUZZ_REQUIRE(twice, "the formatted program does not parse:\n%s", once->buf);
  FUZZ_REQUIRE(printbuf_length(once) == printbuf_length(twice) && memcmp(once->buf, twice->buf, (size_t)printbuf_length(once)) == 0,
               "fmt is not idempotent:\n--- fmt(x)\n%s\n--- fmt(fmt(x))\n%s", once->buf, twice->buf);
  printbuf_free(twice);
  printbuf_free(once);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  check_compile(data, size);
  check_fmt(data, size);
  return 0;
}
