/* image_load.c — image_load(), image_load_file(), image_free(): parse the
 * bytes written by image_write() back into a struct image.
 *
 * The input is untrusted.  Every read is bounds-checked, every count is
 * capped by the bytes that remain before anything is allocated, the header
 * (magic, version, flags, size) and the CRC-32 are checked first, and the
 * parsed image must pass image_verify() before it is returned.  Strings
 * come back NUL-terminated (the terminator is not counted in length).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"

/* Smallest encoding of each record, used to cap counts by remaining bytes. */
#define MIN_CONST_BYTES  5   /* tag + empty string length */
#define MIN_BLOCK_BYTES  6   /* max_stack + length */
#define MIN_ENTRY_BYTES  9   /* name, kind, nevents, npatterns, nstages */
#define MIN_STAGE_BYTES  7   /* kind, name, block, nargs */
#define ARG_BYTES        7   /* name, kind, block, function */

struct reader {
  const uint8_t *bytes;
  size_t size, pos;
  char *err;
  size_t err_size;
};

static void set_err(char *err, size_t err_size, const char *fmt, ...)
{
  va_list ap;
  if (!err || !err_size)
    return;
  va_start(ap, fmt);
  vsnprintf(err, err_size, fmt, ap);
  va_end(ap);
}

/* Check that n bytes remain; else "truncated image: <what> needs n bytes at
 * offset p, file has s". */
static int need(struct reader *r, uint64_t n, const char *what_fmt, ...)
{
  char what[96];
  va_list ap;
  if (n <= r->size - r->pos)
    return 0;
  va_start(ap, what_fmt);
  vsnprintf(what, sizeof what, what_fmt, ap);
  va_end(ap);
  set_err(r->err, r->err_size,
          "truncated image: %s needs %llu bytes at offset %zu, file has %zu",
          what, (unsigned long long)n, r->pos, r->size);
  return -1;
}

/* Check that count records of at least min_bytes each can still fit. */
static int need_count(struct reader *r, uint64_t count, unsigned min_bytes,
                      const char *plural, size_t at)
{
  uint64_t n = count * min_bytes;      /* count < 2^32, min_bytes < 16: no overflow */
  if (n <= r->size - r->pos)
    return 0;
  set_err(r->err, r->err_size,
          "truncated image: %llu %s need at least %llu bytes at offset %zu, file has %zu",
          (unsigned long long)count, plural, (unsigned long long)n, at, r->size);
  return -1;
}

static uint8_t get_u8(struct reader *r)
{
  return r->bytes[r->pos++];
}

static uint16_t get_u16(struct reader *r)
{
  const uint8_t *p = r->bytes + r->pos;
  r->pos += 2;
  return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t get_u32(struct reader *r)
{
  const uint8_t *p = r->bytes + r->pos;
  r->pos += 4;
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
         ((uint32_t)p[3] << 24);
}

static uint64_t get_u64(struct reader *r)
{
  uint64_t lo = get_u32(r);
  uint64_t hi = get_u32(r);
  return lo | (hi << 32);
}

/* A u16 count followed by that many u16 constant indices. */
static int read_u16_list(struct reader *r, uint16_t *count, uint16_t **items,
                         const char *what, uint32_t entry)
{
  if (need(r, 2, "entry %u %s count", entry, what) < 0)
    return -1;
  *count = get_u16(r);
  if (!*count)
    return 0;
  if (need(r, (uint64_t)*count * 2, "entry %u %s list", entry, what) < 0)
    return -1;
  *items = malloc((size_t)*count * sizeof **items);
  if (!*items) {
    set_err(r->err, r->err_size, "out of memory loading image");
    return -1;
  }
  for (uint16_t i = 0; i < *count; i++)
    (*items)[i] = get_u16(r);
  return 0;
}

static int read_constants(struct reader *r, struct image *image)
{
  size_t at = r->pos;
  if (need(r, 4, "constant count") < 0)
    return -1;
  uint32_t count = get_u32(r);
  if (need_count(r, count, MIN_CONST_BYTES, "constants", at) < 0)
    return -1;
  if (!count)
    return 0;
  image->consts = calloc(count, sizeof *image->consts);
  if (!image->consts) {
    set_err(r->err, r->err_size, "out of memory loading image");
    return -1;
  }
  image->nconsts = count;
  for (uint32_t i = 0; i < count; i++) {
    struct constant *c = &image->consts[i];
    if (need(r, 1, "constant %u", i) < 0)
      return -1;
    size_t tag_at = r->pos;
    uint8_t tag = get_u8(r);
    switch (tag) {
    case CONST_STRING: {
      if (need(r, 4, "constant %u", i) < 0)
        return -1;
      uint32_t len = get_u32(r);
      if (need(r, len, "constant %u", i) < 0)
        return -1;
      char *s = malloc((size_t)len + 1);
      if (!s) {
        set_err(r->err, r->err_size, "out of memory loading image");
        return -1;
      }
      memcpy(s, r->bytes + r->pos, len);
      s[len] = '\0';
      r->pos += len;
      c->as.string.bytes = s;
      c->as.string.length = len;
      c->tag = CONST_STRING;
      break;
    }
    case CONST_INT:
    case CONST_DURATION:
      if (need(r, 8, "constant %u", i) < 0)
        return -1;
      c->as.i = (int64_t)get_u64(r);
      c->tag = (enum const_tag)tag;
      break;
    case CONST_FLOAT: {
      if (need(r, 8, "constant %u", i) < 0)
        return -1;
      uint64_t bits = get_u64(r);
      memcpy(&c->as.f, &bits, sizeof bits);
      c->tag = CONST_FLOAT;
      break;
    }
    default:
      set_err(r->err, r->err_size,
              "bad image: constant %u has unknown tag %u at offset %zu", i, tag, tag_at);
      return -1;
    }
  }
  return 0;
}

static int read_blocks(struct reader *r, struct image *image)
{
  size_t at = r->pos;
  if (need(r, 4, "block count") < 0)
    return -1;
  uint32_t count = get_u32(r);
  if (need_count(r, count, MIN_BLOCK_BYTES, "blocks", at) < 0)
    return -1;
  if (!count)
    return 0;
  image->blocks = calloc(count, sizeof *image->blocks);
  if (!image->blocks) {
    set_err(r->err, r->err_size, "out of memory loading image");
    return -1;
  }
  image->nblocks = count;
  for (uint32_t i = 0; i < count; i++) {
    struct block *b = &image->blocks[i];
    if (need(r, MIN_BLOCK_BYTES, "block %u header", i) < 0)
      return -1;
    b->max_stack = get_u16(r);
    uint32_t len = get_u32(r);
    if (need(r, len, "block %u code", i) < 0)
      return -1;
    if (len) {
      b->code = malloc(len);
      if (!b->code) {
        set_err(r->err, r->err_size, "out of memory loading image");
        return -1;
      }
      memcpy(b->code, r->bytes + r->pos, len);
      r->pos += len;
    }
    b->length = len;
  }
  return 0;
}

static int read_stage(struct reader *r, struct stage *s, uint32_t entry, uint16_t index)
{
  if (need(r, MIN_STAGE_BYTES, "entry %u stage %u", entry, index) < 0)
    return -1;
  s->kind = get_u8(r);
  s->name = get_u16(r);
  s->block = get_u16(r);
  uint16_t nargs = get_u16(r);
  if (!nargs)
    return 0;
  if (need(r, (uint64_t)nargs * ARG_BYTES, "entry %u stage %u arg list", entry, index) < 0)
    return -1;
  s->args = calloc(nargs, sizeof *s->args);
  if (!s->args) {
    set_err(r->err, r->err_size, "out of memory loading image");
    return -1;
  }
  s->nargs = nargs;
  for (uint16_t j = 0; j < nargs; j++) {
    struct stage_arg *a = &s->args[j];
    a->name = get_u16(r);
    a->kind = get_u8(r);
    a->block = get_u16(r);
    a->function = get_u16(r);
  }
  return 0;
}

static int read_entries(struct reader *r, struct image *image)
{
  size_t at = r->pos;
  if (need(r, 4, "entry count") < 0)
    return -1;
  uint32_t count = get_u32(r);
  if (need_count(r, count, MIN_ENTRY_BYTES, "entries", at) < 0)
    return -1;
  if (!count)
    return 0;
  image->entries = calloc(count, sizeof *image->entries);
  if (!image->entries) {
    set_err(r->err, r->err_size, "out of memory loading image");
    return -1;
  }
  image->nentries = count;
  for (uint32_t i = 0; i < count; i++) {
    struct entry *e = &image->entries[i];
    if (need(r, 3, "entry %u", i) < 0)
      return -1;
    e->name = get_u16(r);
    e->kind = get_u8(r);
    if (read_u16_list(r, &e->nevents, &e->events, "event", i) < 0 ||
        read_u16_list(r, &e->npatterns, &e->patterns, "pattern", i) < 0)
      return -1;
    size_t stages_at = r->pos;
    if (need(r, 2, "entry %u stage count", i) < 0)
      return -1;
    uint16_t nstages = get_u16(r);
    if (!nstages)
      continue;
    if (need_count(r, nstages, MIN_STAGE_BYTES, "stages", stages_at) < 0)
      return -1;
    e->stages = calloc(nstages, sizeof *e->stages);
    if (!e->stages) {
      set_err(r->err, r->err_size, "out of memory loading image");
      return -1;
    }
    e->nstages = nstages;
    for (uint16_t j = 0; j < nstages; j++)
      if (read_stage(r, &e->stages[j], i, j) < 0)
        return -1;
  }
  return 0;
}

static int read_events(struct reader *r, struct image *image)
{
  size_t at = r->pos;
  if (need(r, 4, "event count") < 0)
    return -1;
  uint32_t count = get_u32(r);
  if (need_count(r, count, 8, "events", at) < 0)
    return -1;
  if (!count)
    return 0;
  image->events = calloc(count, sizeof *image->events);
  if (!image->events) {
    set_err(r->err, r->err_size, "out of memory loading image");
    return -1;
  }
  image->nevents = count;
  for (uint32_t i = 0; i < count; i++) {
    struct image_event *ev = &image->events[i];
    ev->name = get_u16(r);
    ev->source = get_u16(r);
    ev->detail_type = get_u16(r);
    ev->schema = get_u16(r);
  }
  return 0;
}

static int check_header(const uint8_t *bytes, size_t size, char *err, size_t err_size)
{
  size_t magic_len = size < 4 ? size : 4;
  if (size == 0) {
    set_err(err, err_size, "empty file: not an efc bytecode image");
    return -1;
  }
  if (memcmp(bytes, IMAGE_MAGIC, magic_len) != 0) {
    set_err(err, err_size, "bad magic: not an efc bytecode image");
    return -1;
  }
  if (size < IMAGE_HEADER_SIZE) {
    set_err(err, err_size, "truncated image: header needs %d bytes, file has %zu",
            IMAGE_HEADER_SIZE, size);
    return -1;
  }
  struct reader r = { bytes, size, 4, err, err_size };
  uint16_t version = get_u16(&r);
  uint16_t flags = get_u16(&r);
  uint32_t total = get_u32(&r);
  uint32_t crc = get_u32(&r);
  if (version != IMAGE_VERSION) {
    set_err(err, err_size, "unsupported image version %u (this efc reads version %d)",
            version, IMAGE_VERSION);
    return -1;
  }
  if (flags != 0) {
    set_err(err, err_size, "unsupported image flags 0x%04x (this efc knows none)", flags);
    return -1;
  }
  if (total > size) {
    set_err(err, err_size, "truncated image: header says %u bytes, file has %zu", total, size);
    return -1;
  }
  if (total < size) {
    set_err(err, err_size,
            "%zu unexpected bytes after the image: header says %u bytes, file has %zu",
            size - total, total, size);
    return -1;
  }
  uint32_t actual = image_crc32(bytes + IMAGE_HEADER_SIZE, size - IMAGE_HEADER_SIZE);
  if (actual != crc) {
    set_err(err, err_size,
            "checksum mismatch: header says 0x%08x, contents give 0x%08x "
            "(file corrupted or edited)", crc, actual);
    return -1;
  }
  return 0;
}

struct image *image_load(const uint8_t *bytes, size_t size, char *err, size_t err_size)
{
  set_err(err, err_size, "invalid image");
  if (!bytes && size)
    return NULL;
  if (check_header(bytes, size, err, err_size) < 0)
    return NULL;

  struct image *image = calloc(1, sizeof *image);
  if (!image) {
    set_err(err, err_size, "out of memory loading image");
    return NULL;
  }
  struct reader r = { bytes, size, IMAGE_HEADER_SIZE, err, err_size };
  if (read_constants(&r, image) < 0 || read_blocks(&r, image) < 0 ||
      read_entries(&r, image) < 0 || read_events(&r, image) < 0)
    goto fail;
  if (r.pos != size) {
    set_err(err, err_size, "bad image: %zu unexpected bytes after the last event at offset %zu",
            size - r.pos, r.pos);
    goto fail;
  }
  if (image_verify(image, err, err_size) < 0)
    goto fail;
  if (err && err_size)
    err[0] = '\0';
  return image;

fail:
  image_free(image);
  return NULL;
}

struct image *image_load_file(const char *path, char *err, size_t err_size)
{
  FILE *f = fopen(path, "rb");
  if (!f) {
    set_err(err, err_size, "%s: %s", path, strerror(errno));
    return NULL;
  }
  uint8_t *buf = NULL;
  size_t size = 0, cap = 0;
  for (;;) {
    if (size == cap) {
      /* The format's size field is a u32: read at most one byte past it. */
      if (cap > (size_t)UINT32_MAX) {
        set_err(err, err_size, "%s: too large for an efc bytecode image", path);
        goto fail;
      }
      size_t ncap = cap ? cap * 2 : 65536;
      uint8_t *nbuf = realloc(buf, ncap);
      if (!nbuf) {
        set_err(err, err_size, "%s: out of memory reading image", path);
        goto fail;
      }
      buf = nbuf;
      cap = ncap;
    }
    size_t n = fread(buf + size, 1, cap - size, f);
    size += n;
    if (n == 0) {
      if (ferror(f)) {
        set_err(err, err_size, "%s: read error: %s", path, strerror(errno));
        goto fail;
      }
      break;
    }
  }
  fclose(f);
  f = NULL;

  char inner[512] = "";
  struct image *image = image_load(buf, size, inner, sizeof inner);
  free(buf);
  if (!image)
    set_err(err, err_size, "%s: %s", path, inner);
  else if (err && err_size)
    err[0] = '\0';
  return image;

fail:
  if (f)
    fclose(f);
  free(buf);
  return NULL;
}

void image_free(struct image *image)
{
  if (!image)
    return;
  for (uint32_t i = 0; i < image->nconsts && image->consts; i++)
    if (image->consts[i].tag == CONST_STRING)
      free(image->consts[i].as.string.bytes);
  free(image->consts);
  for (uint32_t i = 0; i < image->nblocks && image->blocks; i++)
    free(image->blocks[i].code);
  free(image->blocks);
  for (uint32_t i = 0; i < image->nentries && image->entries; i++) {
    struct entry *e = &image->entries[i];
    free(e->events);
    free(e->patterns);
    for (uint16_t j = 0; j < e->nstages && e->stages; j++)
      free(e->stages[j].args);
    free(e->stages);
  }
  free(image->entries);
  free(image->events);
  free(image);
}
