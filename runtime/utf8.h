/* utf8.h — the one strict UTF-8 check (no overlong forms, no surrogates,
 * nothing above U+10FFFF), shared by the image verifier, the state store,
 * the Event Store and the HTTP handlers.  NUL bytes are valid UTF-8;
 * callers that refuse them say so themselves. */
#ifndef EFC_UTF8_H
#define EFC_UTF8_H
#include <stddef.h>

/* Offset of the first byte that is not valid UTF-8, or -1 if all is valid. */
long utf8_invalid_at(const void *s, size_t n);
#endif
