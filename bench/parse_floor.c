/* parse_floor.c — the floor for efc run: read NDJSON lines and parse each
 * with json-c, nothing else.  bench/run.sh compares efc run against it. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  FILE *in = argc > 1 ? fopen(argv[1], "r") : stdin;
  if (!in) return 1;
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
