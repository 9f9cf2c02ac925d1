/* parse_floor.c — the floor for efc run: read NDJSON lines and parse each
 * with json-c, nothing else.  bench/run.sh compares efc run against it.
 *   parse_floor FILE [BUFFER_BYTES]
 * BUFFER_BYTES: the stdio input buffer (default: glibc's, 4 KB on ext4);
 * efc run reads with 1 MB, so the bench shows the floor both ways. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  FILE *in = argc > 1 ? fopen(argv[1], "r") : stdin;
  if (!in) return 1;
  size_t buffer = argc > 2 ? strtoul(argv[2], NULL, 10) : 0;
  if (buffer > 0 && setvbuf(in, malloc(buffer), _IOFBF, buffer) != 0) return 1;   /* kept until exit */
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  long n = 0, objects = 0;
  struct json_tokener *tok = json_tokener_new();
  while ((len = getline(&line, &cap, in)) != -1) {
    json_tokener_reset(tok);
    struct json_object *o = json_tokener_parse_ex(tok, line, (int)len);
    if (o) objects++;
    json_object_put(o);
    n++;
  }
  json_tokener_free(tok);
  free(line);
  fprintf(stderr, "%ld lines, %ld objects\n", n, objects);
  return 0;
}
