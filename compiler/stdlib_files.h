/* stdlib_files.h — the stdlib modules, embedded at build time (tools/embed.sh). */
#ifndef EFC_STDLIB_FILES_H
#define EFC_STDLIB_FILES_H
struct stdlib_file { const char *name; const char *text; };
extern const struct stdlib_file stdlib_files[];   /* ends with { NULL, NULL } */
#endif
