/* blob.c — the blob store (see blob.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "blob.h"

static char *base_dir;   /* set by blob_set_base; NULL: the default */

void blob_set_base(const char *dir) {
  free(base_dir);
  base_dir = dir && *dir ? strdup(dir) : NULL;
}

const char *blob_base(void) {
  if (base_dir) return base_dir;
  const char *env = getenv("EFC_BLOB_DIR");
  return env && *env ? env : ".";
}

size_t blob_default_max(void) {
  const char *env = getenv("EFC_BLOB_MAX_BYTES");
  if (env && *env) {
    char *end;
    errno = 0;
    unsigned long long n = strtoull(env, &end, 10);
    if (errno == 0 && *end == 0 && n > 0 && n <= SIZE_MAX / 2) return (size_t)n;
  }
  return BLOB_DEFAULT_MAX;
}

void blob_free(struct blob *b) {
  if (!b) return;
  free(b->bytes);
  b->bytes = NULL;
  b->size = 0;
}

/* Quotes at most 120 bytes of a URI for a message. */
static const char *shown(const char *uri, char *buf, size_t size) {
  size_t n = strlen(uri);
  if (size < 121) return "the URI";
  if (n <= 120) {
    memcpy(buf, uri, n + 1);
  } else {
    memcpy(buf, uri, 100);
    memcpy(buf + 100, "...", 3);
    memcpy(buf + 103, uri + n - 17, 18);
  }
  return buf;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Percent-decodes a file:// path into out; -1 on a bad or NUL escape. */
static int percent_decode(const char *in, char *out, size_t size) {
  size_t o = 0;
  for (const char *p = in; *p; p++) {
    char c = *p;
    if (c == '%') {
      int hi = hexval(p[1]), lo = hi < 0 ? -1 : hexval(p[2]);
      if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) return -1;
      c = (char)(hi * 16 + lo);
      p += 2;
    }
    if (o + 1 >= size) return -1;
    out[o++] = c;
  }
  out[o] = 0;
  return 0;
}

/* Opens and reads a regular file, at most `max` bytes. */
static int read_file(const char *path, const char *uri, size_t max, struct blob *out, char *err, size_t err_size) {
  char u[160];
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) {
    snprintf(err, err_size, "cannot read %s: %s", shown(uri, u, sizeof u), strerror(errno));
    return -1;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    snprintf(err, err_size, "cannot read %s: %s", shown(uri, u, sizeof u), strerror(errno));
    close(fd);
    return -1;
  }
  if (!S_ISREG(st.st_mode)) {
    snprintf(err, err_size, "cannot read %s: %s", shown(uri, u, sizeof u),
             S_ISDIR(st.st_mode) ? "it is a folder" : "not a regular file");
    close(fd);
    return -1;
  }
  if ((uintmax_t)st.st_size > (uintmax_t)max) {
    snprintf(err, err_size, "%s is %jd bytes, over the limit of %zu (EFC_BLOB_MAX_BYTES)", shown(uri, u, sizeof u),
             (intmax_t)st.st_size, max);
    close(fd);
    return -1;
  }
  /* Read what is there, up to max + 1 bytes: a file that grew past the
   * limit since fstat is refused too. */
  size_t cap = (size_t)st.st_size + 1, len = 0;
  unsigned char *buf = malloc(cap + 1);
  if (!buf) {
    snprintf(err, err_size, "out of memory reading %s", shown(uri, u, sizeof u));
    close(fd);
    return -1;
  }
  for (;;) {
    if (len == cap) {
      if (cap > max) break;
      size_t ncap = cap * 2 > max + 1 ? max + 1 : cap * 2;
      unsigned char *nb = realloc(buf, ncap + 1);
      if (!nb) {
        free(buf);
        close(fd);
        snprintf(err, err_size, "out of memory reading %s", shown(uri, u, sizeof u));
        return -1;
      }
      buf = nb;
      cap = ncap;
    }
    ssize_t n = read(fd, buf + len, cap - len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      snprintf(err, err_size, "cannot read %s: %s", shown(uri, u, sizeof u), strerror(errno));
      free(buf);
      close(fd);
      return -1;
    }
    if (n == 0) break;
    len += (size_t)n;
  }
  close(fd);
  if (len > max) {
    snprintf(err, err_size, "%s is over the limit of %zu bytes (EFC_BLOB_MAX_BYTES)", shown(uri, u, sizeof u), max);
    free(buf);
    return -1;
  }
  buf[len] = 0;
  out->bytes = buf;
  out->size = len;
  return 0;
}

/* A relative path: resolved under the base, and it must stay there. */
static int read_relative(const char *rel, const char *uri, size_t max, struct blob *out, char *err, size_t err_size) {
  char u[160];
  /* `..` is refused before touching the file system, with the plainest message. */
  for (const char *p = rel; *p;) {
    const char *slash = strchr(p, '/');
    size_t n = slash ? (size_t)(slash - p) : strlen(p);
    if (n == 2 && p[0] == '.' && p[1] == '.') {
      snprintf(err, err_size, "%s leaves the blob folder (`..` is not allowed in relative URIs)", shown(uri, u, sizeof u));
      return -1;
    }
    p += n;
    while (*p == '/') p++;
  }
  const char *base = blob_base();
  char base_real[PATH_MAX], full[PATH_MAX * 2], real[PATH_MAX];
  if (!realpath(base, base_real)) {
    snprintf(err, err_size, "the blob folder %s: %s (set it with --blobs DIR or EFC_BLOB_DIR)", base, strerror(errno));
    return -1;
  }
  if ((size_t)snprintf(full, sizeof full, "%s/%s", base_real, rel) >= sizeof full) {
    snprintf(err, err_size, "%s: the path is too long", shown(uri, u, sizeof u));
    return -1;
  }
  if (!realpath(full, real)) {
    snprintf(err, err_size, "cannot read %s: %s (in the blob folder %s)", shown(uri, u, sizeof u), strerror(errno), base_real);
    return -1;
  }
  size_t bl = strlen(base_real);
  int inside = strcmp(base_real, "/") == 0 || (strncmp(real, base_real, bl) == 0 && real[bl] == '/');
  if (!inside) {
    snprintf(err, err_size, "%s leaves the blob folder %s (through a symbolic link)", shown(uri, u, sizeof u), base_real);
    return -1;
  }
  return read_file(real, uri, max, out, err, err_size);
}

int blob_read(const char *uri, size_t max, struct blob *out, char *err, size_t err_size) {
  char u[160];
  out->bytes = NULL;
  out->size = 0;
  if (max == 0) max = blob_default_max();
  if (!uri || !*uri) {
    snprintf(err, err_size, "the URI is empty");
    return -1;
  }
  if (strlen(uri) >= PATH_MAX) {
    snprintf(err, err_size, "the URI is %zu bytes long; at most %d", strlen(uri), PATH_MAX - 1);
    return -1;
  }
  /* A scheme: letters, digits, + - . before "://". */
  size_t s = 0;
  if ((uri[0] >= 'a' && uri[0] <= 'z') || (uri[0] >= 'A' && uri[0] <= 'Z'))
    while (uri[s] && (uri[s] == '+' || uri[s] == '-' || uri[s] == '.' || (uri[s] >= '0' && uri[s] <= '9') ||
                      ((uri[s] | 32) >= 'a' && (uri[s] | 32) <= 'z')))
      s++;
  if (s > 0 && strncmp(uri + s, "://", 3) == 0) {
    if (s == 4 && strncasecmp(uri, "file", 4) == 0) {
      const char *host = uri + 7, *path = strchr(host, '/');
      size_t hl = path ? (size_t)(path - host) : strlen(host);
      if (!path || (hl && !(hl == 9 && strncasecmp(host, "localhost", 9) == 0))) {
        snprintf(err, err_size, "%s: a file:// URI names an absolute path on this machine (file:///path/to/file)",
                 shown(uri, u, sizeof u));
        return -1;
      }
      char decoded[PATH_MAX];
      if (percent_decode(path, decoded, sizeof decoded) != 0) {
        snprintf(err, err_size, "%s: bad %%-escape in the path", shown(uri, u, sizeof u));
        return -1;
      }
      return read_file(decoded, uri, max, out, err, err_size);
    }
    if (s == 2 && strncasecmp(uri, "s3", 2) == 0) {
      snprintf(err, err_size, "%s: s3:// needs AWS support, not available in local runs yet "
               "(copy the object into the blob folder and use a relative URI)", shown(uri, u, sizeof u));
      return -1;
    }
    snprintf(err, err_size, "%s: the blob store reads file:// URIs and paths relative to the blob folder, "
             "not %.*s:// URIs", shown(uri, u, sizeof u), (int)(s > 20 ? 20 : s), uri);
    return -1;
  }
  if (uri[0] == '/') return read_file(uri, uri, max, out, err, err_size);   /* an absolute path: like file:// */
  return read_relative(uri, uri, max, out, err, err_size);
}

/* ---- content types -------------------------------------------------------- */

/* Valid UTF-8 with no control characters but tab, newline, CR and form feed. */
static int looks_like_text(const unsigned char *p, size_t n) {
  if (n == 0) return 0;
  for (size_t i = 0; i < n;) {
    unsigned char c = p[i];
    if (c < 0x80) {
      if (c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f') return 0;
      if (c == 0x7f) return 0;
      i++;
      continue;
    }
    size_t len = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
    if (len == 0 || (c >= 0xf5)) return 0;
    if (i + len > n) return 0;
    for (size_t k = 1; k < len; k++)
      if ((p[i + k] & 0xc0) != 0x80) return 0;
    i += len;
  }
  return 1;
}

const char *blob_sniff_mime(const unsigned char *b, size_t n) {
  if (n >= 8 && memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0) return "image/png";
  if (n >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff) return "image/jpeg";
  if (n >= 6 && (memcmp(b, "GIF87a", 6) == 0 || memcmp(b, "GIF89a", 6) == 0)) return "image/gif";
  if (n >= 12 && memcmp(b, "RIFF", 4) == 0 && memcmp(b + 8, "WEBP", 4) == 0) return "image/webp";
  if (n >= 12 && memcmp(b, "RIFF", 4) == 0 && memcmp(b + 8, "WAVE", 4) == 0) return "audio/wav";
  if (n >= 2 && b[0] == 'B' && b[1] == 'M' && n >= 26) return "image/bmp";
  if (n >= 4 && memcmp(b, "OggS", 4) == 0) return "audio/ogg";
  if (n >= 4 && memcmp(b, "fLaC", 4) == 0) return "audio/flac";
  if (n >= 3 && memcmp(b, "ID3", 3) == 0) return "audio/mpeg";
  if (n >= 12 && memcmp(b + 4, "ftyp", 4) == 0) return memcmp(b + 8, "M4A", 3) == 0 ? "audio/mp4" : "video/mp4";
  if (n >= 4 && memcmp(b, "\x1a\x45\xdf\xa3", 4) == 0) return "video/webm";
  if (n >= 5 && memcmp(b, "%PDF-", 5) == 0) return "application/pdf";
  if (looks_like_text(b, n)) return "text/plain";
  return NULL;
}
