/* fuzz.h — what the libFuzzer harnesses in fuzz/ share: their entry points
 * (called by libFuzzer, or by replay.c under `make check`) and the one way a
 * harness reports a broken guarantee (a finding): a message, then abort(). */
#ifndef EFC_FUZZ_H
#define EFC_FUZZ_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional: one-time set-up (a harness that needs none does not define it). */
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A guarantee of the code under test that this input broke. */
#define FUZZ_REQUIRE(cond, ...)                         \
  do {                                                  \
    if (!(cond)) {                                      \
      fprintf(stderr, "fuzz: broken guarantee: ");      \
      fprintf(stderr, __VA_ARGS__);                     \
      fputc('\n', stderr);                              \
      abort();                                          \
    }                                                   \
  } while (0)

/* Where a harness prints what it only wants exercised (diagnostics,
 * listings): /dev/null, opened once and kept for the process. */
static inline FILE *fuzz_null_stream(void) {
  static FILE *null_stream;
  if (!null_stream) null_stream = fopen("/dev/null", "w");
  FUZZ_REQUIRE(null_stream, "cannot open /dev/null");
  return null_stream;
}

#endif
