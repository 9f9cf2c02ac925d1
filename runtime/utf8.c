/* utf8.c — strict UTF-8 validation (see utf8.h). */
#include <stdint.h>
#include "utf8.h"

long utf8_invalid_at(const void *text, size_t len) {
  const uint8_t *s = text;
  size_t i = 0;
  while (i < len) {
    uint8_t c = s[i];
    size_t n;
    uint32_t cp, min;
    if (c < 0x80) { i++; continue; }
    else if ((c & 0xE0) == 0xC0) { n = 1; cp = c & 0x1F; min = 0x80; }
    else if ((c & 0xF0) == 0xE0) { n = 2; cp = c & 0x0F; min = 0x800; }
    else if ((c & 0xF8) == 0xF0) { n = 3; cp = c & 0x07; min = 0x10000; }
    else return (long)i;
    if (len - i <= n) return (long)i;
    for (size_t j = 1; j <= n; j++) {
      if ((s[i + j] & 0xC0) != 0x80) return (long)i;
      cp = (cp << 6) | (s[i + j] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return (long)i;
    i += n + 1;
  }
  return -1;
}
