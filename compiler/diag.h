/* diag.h — source files and diagnostics.
 *
 * A diagnostic is `file:line:col: error: message`, then the source line, a
 * caret under the position, and an optional hint.  Diagnostics are collected
 * (several per run), sorted by position, and printed or returned as JSON
 * (for the HTTP server).  A position is 1-based; columns count bytes.
 */
#ifndef EFC_DIAG_H
#define EFC_DIAG_H
#include <stddef.h>
#include <stdio.h>

struct source {
  char *path;
  char *text;          /* NUL-terminated */
  size_t length;
  struct source *next;
};

struct loc {
  const struct source *src;
  int line, col;        /* first character */
  int end_line, end_col;/* one past the last character */
};

enum severity { SEV_ERROR, SEV_WARNING, SEV_NOTE };

struct diagnostic {
  enum severity severity;
  struct loc loc;
  char *message;
  char *hint;          /* NULL when there is none */
};

struct diag {
  struct source *sources;
  struct diagnostic *items;
  size_t count, cap;
  size_t errors;
};

void diag_init(struct diag *d);
void diag_free(struct diag *d);

/* Reads a file (or "-" for stdin) and registers it. NULL (and an error) on failure. */
struct source *diag_load_file(struct diag *d, const char *path);
struct source *diag_add_source(struct diag *d, const char *path, const char *text, size_t length);

void diag_error(struct diag *d, struct loc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void diag_warning(struct diag *d, struct loc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Attach a hint to the last diagnostic. */
void diag_hint(struct diag *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Print all diagnostics in position order; `color` adds ANSI colours. */
void diag_print(struct diag *d, FILE *out, int color);

/* Closest candidate to `name` by edit distance, or NULL if none is close. */
const char *diag_suggest(const char *name, const char *const *candidates, size_t n);
#endif
