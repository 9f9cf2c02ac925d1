/* cmd_disasm.c — `efc disasm FILE.efb`: load, verify and list an image. */
#include <string.h>
#include "cli.h"
#include "image.h"

static const char help[] =
  "usage: efc disasm FILE.efb\n\n"
  "Loads a bytecode image (checksum and verifier first: a corrupted or edited\n"
  "file is rejected with the reason) and lists its constants, code blocks and\n"
  "entries.  Exit status 1 when the image is rejected.\n";

int cmd_disasm(int argc, char **argv) {
  if (cli_wants_help(argc, argv, help)) return 0;
  if (argc != 2) {
    fputs(help, stderr);
    return 2;
  }
  char err[512];
  struct image *img = image_load_file(argv[1], err, sizeof err);
  if (!img) {
    fprintf(stderr, "efc disasm: %s\n", err);
    return 1;
  }
  image_disasm(img, stdout);
  image_free(img);
  return 0;
}
