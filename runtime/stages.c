/* stages.c — the table of native stages.  Adding a stage: write its
 * struct native_stage in stage_NAME.c and list it here. */
#include <string.h>
#include "stages.h"

#define NATIVE_STAGES(X) X(counter) X(aggregator) X(stitcher) X(intervals) X(splitter) X(combiner) X(summarizer) X(transcriber) X(indexer)

#define DECLARE(name) extern const struct native_stage stage_##name;
NATIVE_STAGES(DECLARE)
#undef DECLARE

static const struct native_stage *const table[] = {
#define ENTRY(name) &stage_##name,
  NATIVE_STAGES(ENTRY)
#undef ENTRY
};

const struct native_stage *stage_find(const char *name) {
  for (size_t i = 0; i < sizeof table / sizeof *table; i++)
    if (strcmp(table[i]->name, name) == 0) return table[i];
  return NULL;
}
