/* arena.c — bump allocator: chunks of at least 64 KiB, freed together. */
#include "arena.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct arena_chunk {
  struct arena_chunk *next;
  size_t used, size;
  max_align_t data[];
};

void *arena_alloc(struct arena *arena, size_t size) {
  size = (size + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
  struct arena_chunk *c = arena->head;
  if (!c || c->size - c->used < size) {
    size_t cap = size > 65536 ? size : 65536;
    c = malloc(sizeof *c + cap);
    if (!c) { fputs("efc: out of memory\n", stderr); abort(); }
    c->next = arena->head;
    c->used = 0;
    c->size = cap;
    arena->head = c;
  }
  void *p = (char *)c->data + c->used;
  c->used += size;
  memset(p, 0, size);
  return p;
}

char *arena_strndup(struct arena *arena, const char *s, size_t n) {
  char *p = arena_alloc(arena, n + 1);
  memcpy(p, s, n);
  p[n] = 0;
  return p;
}

char *arena_strdup(struct arena *arena, const char *s) {
  return arena_strndup(arena, s, strlen(s));
}

char *arena_printf(struct arena *arena, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  char *p = arena_alloc(arena, (size_t)n + 1);
  va_start(ap, fmt);
  vsnprintf(p, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return p;
}

void arena_free(struct arena *arena) {
  struct arena_chunk *c = arena->head;
  while (c) {
    struct arena_chunk *next = c->next;
    free(c);
    c = next;
  }
  arena->head = NULL;
}
