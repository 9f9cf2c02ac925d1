/* explain.h — `efc explain`: what EventBridge checks and what the runtime checks. */
#ifndef EFC_EXPLAIN_H
#define EFC_EXPLAIN_H
#include <stdio.h>
#include "compile.h"

void explain_compilation(const struct compilation *c, FILE *out);
#endif
