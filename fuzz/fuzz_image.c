/* fuzz_image.c — the image loader, verifier, disassembler and VM over any bytes.
 *
 * The input is taken as an .efb image.  image_load() must refuse what is
 * malformed without a crash.  Mutations nearly always break the size and
 * the checksum in the header, so an input the loader refuses is loaded
 * again with those two repaired: that is how the fuzzer gets past them to
 * the sections and the verifier.  An image it accepts is "safe to run"
 * (image.h), so the harness lists it and evaluates every code block on one
 * fixed event: the stages of each entry first (WHERE blocks as tests, the
 * others as values, arguments too), then every block, as the verifier
 * vouches for each of them.  Runtime errors are fine; crashes are not.
 */
#include <string.h>
#include <json-c/json.h>
#include "fuzz.h"
#include "image.h"
#include "vm.h"

/* An envelope with a value of every kind a block may read. */
static const char fixed_event[] =
  "{\"version\":\"0\",\"id\":\"5f1c6e0e-3c1a-4d36-9f3b-1b8a7a3e2a10\",\"detail-type\":\"Ping\","
  "\"source\":\"test.ping\",\"account\":\"000000000000\",\"time\":\"2026-03-02T09:00:00Z\","
  "\"region\":\"local\",\"resources\":[\"arn:aws:s3:::bucket\"],"
  "\"detail\":{\"user\":\"a\",\"n\":1,\"big\":9007199254740993,\"neg\":-3,\"f\":1.5,\"ok\":true,\"none\":null,"
  "\"text\":\"h\\u00e9llo w\\u00f6rld\",\"at\":\"2026-03-02T09:00:10.250Z\",\"items\":[\"tea\",\"cake\",1,null],"
  "\"obj\":{\"k\":\"v\",\"n\":[1,2,3]},\"ms\":65000}}";

static struct json_object *event, *detail;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  event = json_tokener_parse(fixed_event);
  FUZZ_REQUIRE(event && json_object_object_get_ex(event, "detail", &detail), "the fixed event does not parse");
  return 0;
}

static void run(const struct image *img, uint16_t block, int as_test) {
  if (block == IMAGE_NONE) return;
  struct vm_frame frame = { .row = detail, .envelope = event };
  if (as_test) {
    vm_test(img, block, &frame);
    return;
  }
  struct json_object *value = NULL;
  if (vm_eval(img, block, &frame, &value) == 0) {
    if (value != VM_MISSING) json_object_to_json_string(value);   /* the value must be a sound json-c tree */
    vm_release(value);
  }
}

static void put_u32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* The input loaded as it is, or else with its header's size (offset 8) and
 * checksum (offset 12) made to fit (docs/bytecode.md); NULL if neither loads. */
static struct image *load(const uint8_t *data, size_t size) {
  char err[256];
  struct image *img = image_load(data, size, err, sizeof err);
  if (img || size < IMAGE_HEADER_SIZE || size > UINT32_MAX) return img;
  uint8_t *copy = malloc(size);
  FUZZ_REQUIRE(copy, "out of memory");
  memcpy(copy, data, size);
  put_u32(copy + 8, (uint32_t)size);
  put_u32(copy + 12, image_crc32(copy + IMAGE_HEADER_SIZE, size - IMAGE_HEADER_SIZE));
  img = image_load(copy, size, err, sizeof err);
  free(copy);
  return img;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct image *img = load(data, size);
  if (!img) return 0;
  image_disasm(img, fuzz_null_stream());
  for (uint32_t e = 0; e < img->nentries; e++) {
    const struct entry *entry = &img->entries[e];
    for (uint16_t s = 0; s < entry->nstages; s++) {
      const struct stage *stage = &entry->stages[s];
      run(img, stage->block, stage->kind == STAGE_WHERE);
      for (uint16_t a = 0; a < stage->nargs; a++) run(img, stage->args[a].block, 0);
    }
  }
  for (uint32_t b = 0; b < img->nblocks && b < IMAGE_NONE; b++) run(img, (uint16_t)b, 0);
  image_free(img);
  return 0;
}
