#include "cli.h"
int cmd_disasm(int argc, char **argv) { (void)argc; (void)argv; return 2; }
