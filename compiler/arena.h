/* arena.h — bump allocation for the compiler's long-lived trees.
 * Everything allocated from an arena is freed at once by arena_free. */
#ifndef EFC_ARENA_H
#define EFC_ARENA_H
#include <stddef.h>

struct arena_chunk;
struct arena { struct arena_chunk *head; };

void *arena_alloc(struct arena *arena, size_t size);           /* zeroed; aborts on OOM */
char *arena_strndup(struct arena *arena, const char *s, size_t n);
char *arena_strdup(struct arena *arena, const char *s);
char *arena_printf(struct arena *arena, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void arena_free(struct arena *arena);
#endif
