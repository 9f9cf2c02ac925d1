#include "cli.h"
int cmd_compile(int argc, char **argv) { (void)argc; (void)argv; return 2; }
