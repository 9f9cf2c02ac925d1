/* replay.c — runs saved inputs through one harness without libFuzzer.
 *
 * Linked with one fuzz_<name>.c and built with the normal compiler (under
 * SANITIZE=1 with ASan/UBSan), so `make check` replays the regression files
 * (fuzz/regress/<name>/) and the seeds (fuzz/corpus/<name>/) and a crash that
 * was fixed stays fixed.  Arguments are files or folders (their files, in
 * name order); with none, the folders FUZZ_REPLAY_DIRS compiled in.  Prints
 * TAP: "ok N - FILE" per input; a crash shows as a missing plan line.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "fuzz.h"

/* Defined by the harnesses that need set-up. */
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);

struct inputs { char **paths; size_t count, cap; };

static void add_path(struct inputs *in, const char *path) {
  if (in->count == in->cap) {
    in->cap = in->cap ? in->cap * 2 : 64;
    in->paths = realloc(in->paths, in->cap * sizeof *in->paths);
    if (!in->paths) { perror("replay"); exit(1); }
  }
  in->paths[in->count++] = strdup(path);
}

/* A file is one input; a folder gives its regular files in name order; a
 * missing folder gives none (a harness may have no regression files yet). */
static void collect(struct inputs *in, const char *path) {
  struct stat st;
  if (stat(path, &st) != 0) return;
  if (!S_ISDIR(st.st_mode)) {
    add_path(in, path);
    return;
  }
  struct dirent **names;
  int n = scandir(path, &names, NULL, alphasort);
  for (int i = 0; i < n; i++) {
    char full[4096];
    snprintf(full, sizeof full, "%s/%s", path, names[i]->d_name);
    if (names[i]->d_name[0] != '.' && stat(full, &st) == 0 && S_ISREG(st.st_mode)) add_path(in, full);
    free(names[i]);
  }
  free(n > 0 ? names : NULL);
}

static unsigned char *read_all(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 4096, len = 0, n;
  unsigned char *buf = malloc(cap);
  while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0) {
    len += n;
    if (len == cap) buf = realloc(buf, cap *= 2);
  }
  fclose(f);
  *size = len;
  return buf;
}

int main(int argc, char **argv) {
  if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
  struct inputs in = { 0 };
  if (argc > 1) {
    for (int i = 1; i < argc; i++) collect(&in, argv[i]);
  } else {
    static const char *const dirs[] = { FUZZ_REPLAY_DIRS };
    for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) collect(&in, dirs[i]);
  }
  printf("1..%zu\n", in.count);
  int failed = 0;
  for (size_t i = 0; i < in.count; i++) {
    size_t size = 0;
    unsigned char *data = read_all(in.paths[i], &size);
    if (!data) {
      printf("not ok %zu - %s: cannot read\n", i + 1, in.paths[i]);
      failed = 1;
    } else {
      fflush(stdout);   /* so a crash's report follows the inputs that passed */
      LLVMFuzzerTestOneInput(data, size);
      printf("ok %zu - %s\n", i + 1, in.paths[i]);
    }
    free(data);
    free(in.paths[i]);
  }
  free(in.paths);
  return failed;
}
