/* common.c — helpers shared by the commands: help, colour, loading a program. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cli.h"
#include "image.h"

int cli_bytecode_version(void) { return IMAGE_VERSION; }

int cli_wants_help(int argc, char **argv, const char *help) {
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      fputs(help, stdout);
      return 1;
    }
  return 0;
}

int cli_color(void) {
  return isatty(2) && !getenv("NO_COLOR");
}

int cli_write_file(const char *path, const void *data, size_t size) {
  size_t n = strlen(path) + 16;
  char *tmp = malloc(n);
  if (!tmp) return -1;
  snprintf(tmp, n, "%s.tmp%ld", path, (long)getpid());
  FILE *f = fopen(tmp, "wb");
  int ok = f && fwrite(data, 1, size, f) == size;
  if (f && fclose(f) != 0) ok = 0;
  if (ok && rename(tmp, path) != 0) ok = 0;
  if (!ok) {
    fprintf(stderr, "efc: cannot write %s: %s\n", path, strerror(errno));
    remove(tmp);
  }
  free(tmp);
  return ok ? 0 : -1;
}

int cli_check_folder(const char *who, const char *option, const char *path) {
  struct stat st;
  if (!path || (stat(path, &st) == 0 && S_ISDIR(st.st_mode))) return 0;
  fprintf(stderr, "%s: %s %s: not a folder\n", who, option, path);
  return -1;
}

int cli_mkdirs(const char *dir) {
  char path[4096];
  size_t n = strlen(dir);
  if (n == 0 || n >= sizeof path) return -1;
  memcpy(path, dir, n + 1);
  for (char *p = path + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    if (mkdir(path, 0777) != 0 && errno != EEXIST) return -1;
    *p = '/';
  }
  return mkdir(path, 0777) != 0 && errno != EEXIST ? -1 : 0;
}
