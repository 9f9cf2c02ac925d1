/* diag.c — loading sources, collecting and printing diagnostics. */
#include "diag.h"
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static void *xrealloc(void *p, size_t n) {
  p = realloc(p, n);
  if (!p) { fputs("efc: out of memory\n", stderr); abort(); }
  return p;
}

static char *vformat(const char *fmt, va_list ap) {
  va_list copy;
  va_copy(copy, ap);
  int n = vsnprintf(NULL, 0, fmt, copy);
  va_end(copy);
  char *s = xrealloc(NULL, (size_t)n + 1);
  vsnprintf(s, (size_t)n + 1, fmt, ap);
  return s;
}

void diag_init(struct diag *d) { memset(d, 0, sizeof *d); }

void diag_free(struct diag *d) {
  for (size_t i = 0; i < d->count; i++) {
    free(d->items[i].message);
    free(d->items[i].hint);
  }
  free(d->items);
  struct source *s = d->sources;
  while (s) {
    struct source *next = s->next;
    free(s->path);
    free(s->text);
    free(s);
    s = next;
  }
  memset(d, 0, sizeof *d);
}

struct source *diag_add_source(struct diag *d, const char *path, const char *text, size_t length) {
  struct source *s = xrealloc(NULL, sizeof *s);
  s->path = strdup(path);
  s->text = xrealloc(NULL, length + 1);
  memcpy(s->text, text, length);
  s->text[length] = 0;
  s->length = length;
  s->next = d->sources;
  d->sources = s;
  return s;
}

struct source *diag_load_file(struct diag *d, const char *path) {
  FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "efc: cannot open %s: %s\n", path, strerror(errno));
    d->errors++;
    return NULL;
  }
  size_t cap = 4096, len = 0;
  char *buf = xrealloc(NULL, cap);
  size_t n;
  while ((n = fread(buf + len, 1, cap - len, f)) > 0) {
    len += n;
    if (len == cap) buf = xrealloc(buf, cap *= 2);
  }
  int failed = ferror(f);
  if (f != stdin) fclose(f);
  if (failed) {
    fprintf(stderr, "efc: cannot read %s\n", path);
    free(buf);
    d->errors++;
    return NULL;
  }
  struct source *s = diag_add_source(d, strcmp(path, "-") == 0 ? "<stdin>" : path, buf, len);
  free(buf);
  return s;
}

static void add(struct diag *d, enum severity sev, struct loc loc, const char *fmt, va_list ap) {
  if (d->count == d->cap) {
    d->cap = d->cap ? d->cap * 2 : 16;
    d->items = xrealloc(d->items, d->cap * sizeof *d->items);
  }
  struct diagnostic *it = &d->items[d->count++];
  it->severity = sev;
  it->loc = loc;
  it->message = vformat(fmt, ap);
  it->hint = NULL;
  if (sev == SEV_ERROR) d->errors++;
}

void diag_error(struct diag *d, struct loc loc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  add(d, SEV_ERROR, loc, fmt, ap);
  va_end(ap);
}

void diag_warning(struct diag *d, struct loc loc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  add(d, SEV_WARNING, loc, fmt, ap);
  va_end(ap);
}

void diag_hint(struct diag *d, const char *fmt, ...) {
  if (!d->count) return;
  struct diagnostic *it = &d->items[d->count - 1];
  va_list ap;
  va_start(ap, fmt);
  free(it->hint);
  it->hint = vformat(fmt, ap);
  va_end(ap);
}

static int loc_cmp(const void *a, const void *b) {
  const struct diagnostic *x = a, *y = b;
  const char *px = x->loc.src ? x->loc.src->path : "", *py = y->loc.src ? y->loc.src->path : "";
  int c = strcmp(px, py);
  if (c) return c;
  if (x->loc.line != y->loc.line) return x->loc.line < y->loc.line ? -1 : 1;
  if (x->loc.col != y->loc.col) return x->loc.col < y->loc.col ? -1 : 1;
  return x < y ? -1 : x > y;   /* stable: keep report order */
}

/* The text of line `line` of src, without its newline: start and len. */
static int source_line(const struct source *src, int line, const char **start, size_t *len) {
  const char *p = src->text, *end = src->text + src->length;
  for (int l = 1; l < line && p < end; p++)
    if (*p == '\n') l++;
  if (p > end) return 0;
  const char *e = p;
  while (e < end && *e != '\n' && *e != '\r') e++;
  *start = p;
  *len = (size_t)(e - p);
  return 1;
}

void diag_print(struct diag *d, FILE *out, int color) {
  if (d->count > 1) {
    /* Sorting moves items; keep report order for equal positions. */
    qsort(d->items, d->count, sizeof *d->items, loc_cmp);
  }
  static const char *names[] = { "error", "warning", "note" };
  static const char *colors[] = { "\033[1;31m", "\033[1;35m", "\033[1;36m" };
  for (size_t i = 0; i < d->count; i++) {
    struct diagnostic *it = &d->items[i];
    const struct loc *l = &it->loc;
    if (l->src)
      fprintf(out, "%s%s:%d:%d:%s ", color ? "\033[1m" : "", l->src->path, l->line, l->col, color ? "\033[0m" : "");
    fprintf(out, "%s%s:%s %s\n", color ? colors[it->severity] : "", names[it->severity],
            color ? "\033[0m" : "", it->message);
    const char *text;
    size_t len;
    if (l->src && l->line > 0 && source_line(l->src, l->line, &text, &len)) {
      fprintf(out, "  %.*s\n  ", (int)len, text);
      int col = l->col < 1 ? 1 : l->col;
      /* Columns count bytes; the caret counts characters, so UTF-8
       * continuation bytes take no room. */
      for (int c = 1; c < col && (size_t)(c - 1) < len; c++)
        if (((unsigned char)text[c - 1] & 0xC0) != 0x80) fputc(text[c - 1] == '\t' ? '\t' : ' ', out);
      int width = (l->end_line == l->line && l->end_col > col) ? l->end_col - col : 1;
      if ((size_t)(col - 1 + width) > len + 1) width = 1;
      for (int c = col; c < col + width && (size_t)(c - 1) < len; c++)
        if (((unsigned char)text[c - 1] & 0xC0) == 0x80) width--;
      if (width < 1) width = 1;
      if (color) fputs(colors[it->severity], out);
      fputc('^', out);
      for (int w = 1; w < width; w++) fputc('~', out);
      if (color) fputs("\033[0m", out);
      fputc('\n', out);
    }
    if (it->hint) fprintf(out, "  hint: %s\n", it->hint);
  }
}

/* Optimal string alignment distance: insertions, deletions, substitutions
 * and transpositions (`nmae` is one step from `name`). */
static size_t edit_distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la > 64 || lb > 64) return (size_t)-1;
  size_t d[65][65];
  for (size_t i = 0; i <= la; i++) d[i][0] = i;
  for (size_t j = 0; j <= lb; j++) d[0][j] = j;
  for (size_t i = 1; i <= la; i++)
    for (size_t j = 1; j <= lb; j++) {
      size_t best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
      if (d[i - 1][j] + 1 < best) best = d[i - 1][j] + 1;
      if (d[i][j - 1] + 1 < best) best = d[i][j - 1] + 1;
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < best)
        best = d[i - 2][j - 2] + 1;
      d[i][j] = best;
    }
  return d[la][lb];
}

const char *diag_suggest(const char *name, const char *const *candidates, size_t n) {
  const char *best = NULL;
  size_t best_d = (size_t)-1;
  /* One edit for short names (so `Foo` does not suggest `bool`), up to three for long ones. */
  size_t limit = strlen(name) <= 4 ? 1 : strlen(name) / 3 + 1;
  if (limit > 3) limit = 3;
  for (size_t i = 0; i < n; i++) {
    if (!candidates[i]) continue;
    size_t dist = edit_distance(name, candidates[i]);
    if (dist < best_d) { best_d = dist; best = candidates[i]; }
  }
  if (best_d <= limit) return best;
  /* No close spelling: a longer or shorter form of a name (`lowercase` for
   * `lower`, `timestamp` for `time`, `sess` for `session_id`). */
  size_t ln = strlen(name);
  best = NULL;
  for (size_t i = 0; i < n; i++) {
    if (!candidates[i]) continue;
    size_t lc = strlen(candidates[i]);
    size_t shorter = lc < ln ? lc : ln;
    if (shorter < 4 || strncmp(name, candidates[i], shorter) != 0) continue;
    if (!best || lc < strlen(best)) best = candidates[i];
  }
  return best;
}
