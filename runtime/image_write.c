/* image_write.c — image_write(): serialise an in-memory struct image to the
 * on-disk bytes described in docs/bytecode.md (16-byte header, constant pool,
 * blocks, entries; little-endian throughout).  The writer does not verify:
 * call image_verify() first if the image did not come from image_load().
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"

/* One pass with buf == NULL measures; a second pass fills the buffer. */
struct wbuf {
  uint8_t *buf;
  uint64_t pos;
};

static void put_bytes(struct wbuf *w, const void *src, size_t n)
{
  if (w->buf && n)
    memcpy(w->buf + w->pos, src, n);
  w->pos += n;
}

static void put_u8(struct wbuf *w, uint8_t v)
{
  put_bytes(w, &v, 1);
}

static void put_u16(struct wbuf *w, uint16_t v)
{
  uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
  put_bytes(w, b, 2);
}

static void put_u32(struct wbuf *w, uint32_t v)
{
  uint8_t b[4];
  for (int i = 0; i < 4; i++)
    b[i] = (uint8_t)(v >> (8 * i));
  put_bytes(w, b, 4);
}

static void put_u64(struct wbuf *w, uint64_t v)
{
  uint8_t b[8];
  for (int i = 0; i < 8; i++)
    b[i] = (uint8_t)(v >> (8 * i));
  put_bytes(w, b, 8);
}

static int put_constant(struct wbuf *w, const struct constant *c)
{
  uint64_t bits;
  put_u8(w, (uint8_t)c->tag);
  switch (c->tag) {
  case CONST_STRING:
    if (c->as.string.length && !c->as.string.bytes)
      return -1;
    put_u32(w, c->as.string.length);
    put_bytes(w, c->as.string.bytes, c->as.string.length);
    return 0;
  case CONST_INT:
  case CONST_DURATION:
    put_u64(w, (uint64_t)c->as.i);
    return 0;
  case CONST_FLOAT:
    memcpy(&bits, &c->as.f, sizeof bits);
    put_u64(w, bits);
    return 0;
  }
  return -1;
}

static int put_entry(struct wbuf *w, const struct entry *e)
{
  if ((e->nevents && !e->events) || (e->npatterns && !e->patterns) ||
      (e->nstages && !e->stages))
    return -1;
  put_u16(w, e->name);
  put_u8(w, e->kind);
  put_u16(w, e->nevents);
  for (uint16_t i = 0; i < e->nevents; i++)
    put_u16(w, e->events[i]);
  put_u16(w, e->npatterns);
  for (uint16_t i = 0; i < e->npatterns; i++)
    put_u16(w, e->patterns[i]);
  put_u16(w, e->nstages);
  for (uint16_t i = 0; i < e->nstages; i++) {
    const struct stage *s = &e->stages[i];
    if (s->nargs && !s->args)
      return -1;
    put_u8(w, s->kind);
    put_u16(w, s->name);
    put_u16(w, s->block);
    put_u16(w, s->nargs);
    for (uint16_t j = 0; j < s->nargs; j++) {
      const struct stage_arg *a = &s->args[j];
      put_u16(w, a->name);
      put_u8(w, a->kind);
      put_u16(w, a->block);
      put_u16(w, a->function);
    }
  }
  return 0;
}

/* Everything after the header. */
static int put_body(struct wbuf *w, const struct image *image)
{
  if ((image->nconsts && !image->consts) || (image->nblocks && !image->blocks) ||
      (image->nentries && !image->entries))
    return -1;
  put_u32(w, image->nconsts);
  for (uint32_t i = 0; i < image->nconsts; i++)
    if (put_constant(w, &image->consts[i]) < 0)
      return -1;
  put_u32(w, image->nblocks);
  for (uint32_t i = 0; i < image->nblocks; i++) {
    const struct block *b = &image->blocks[i];
    if (b->length && !b->code)
      return -1;
    put_u16(w, b->max_stack);
    put_u32(w, b->length);
    put_bytes(w, b->code, b->length);
  }
  put_u32(w, image->nentries);
  for (uint32_t i = 0; i < image->nentries; i++)
    if (put_entry(w, &image->entries[i]) < 0)
      return -1;
  if (image->nevents && !image->events)
    return -1;
  put_u32(w, image->nevents);
  for (uint32_t i = 0; i < image->nevents; i++) {
    const struct image_event *ev = &image->events[i];
    put_u16(w, ev->name);
    put_u16(w, ev->source);
    put_u16(w, ev->detail_type);
    put_u16(w, ev->schema);
  }
  return 0;
}

int image_write(const struct image *image, uint8_t **out, size_t *out_size)
{
  struct wbuf w = { NULL, IMAGE_HEADER_SIZE };

  *out = NULL;
  *out_size = 0;
  if (!image || put_body(&w, image) < 0) {
    errno = EINVAL;
    return -1;
  }
  if (w.pos > UINT32_MAX || w.pos > SIZE_MAX) {
    errno = EOVERFLOW;
    return -1;
  }
  size_t size = (size_t)w.pos;
  uint8_t *buf = malloc(size);
  if (!buf) {
    errno = ENOMEM;
    return -1;
  }

  w.buf = buf;
  w.pos = IMAGE_HEADER_SIZE;
  put_body(&w, image);

  w.pos = 0;
  put_bytes(&w, IMAGE_MAGIC, 4);
  put_u16(&w, IMAGE_VERSION);
  put_u16(&w, 0);                       /* flags */
  put_u32(&w, (uint32_t)size);
  put_u32(&w, image_crc32(buf + IMAGE_HEADER_SIZE, size - IMAGE_HEADER_SIZE));

  *out = buf;
  *out_size = size;
  return 0;
}
