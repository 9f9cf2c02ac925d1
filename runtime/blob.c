/* blob.c — the blob store (see blob.h): names resolved inside the root,
 * regular files read with a size limit, content types sniffed. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "blob.h"

#define OPEN_FLAGS (O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)

static int without_openat2;   /* the test hook (blob.h) */

void blob_test_without_openat2(int on) { without_openat2 = on; }

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

/* Reads the regular file open on fd (closed here), at most `max` bytes. */
static int read_fd(int fd, const char *uri, size_t max, struct blob *out, char *err, size_t err_size) {
  char u[160];
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

/* ---- names resolved inside the root -------------------------------------- */

/* What follows `root` in the absolute path `path` ("." for the root
 * itself), or NULL when path is not inside root. */
static const char *after_root(const char *path, const char *root) {
  size_t n = strlen(root);
  while (n > 1 && root[n - 1] == '/') n--;
  if (n == 1 && root[0] == '/') return path[1] ? path + 1 : ".";
  if (strncmp(path, root, n) != 0 || (path[n] != '/' && path[n] != 0)) return NULL;
  path += n;
  while (*path == '/') path++;
  return *path ? path : ".";
}

/* 1 when a component of the relative path `rel` is `..`. */
static int has_dotdot(const char *rel) {
  for (const char *p = rel; *p;) {
    size_t n = strcspn(p, "/");
    if (n == 2 && p[0] == '.' && p[1] == '.') return 1;
    p += n;
    while (*p == '/') p++;
  }
  return 0;
}

/* Opens `rel` beneath the folder open on dirfd (whose real path is
 * root_real); -1 with errno, EXDEV when the name leads out of it.
 *
 * openat2(RESOLVE_BENEATH) (Linux 5.6) makes the kernel refuse, during the
 * lookup itself, every step out of dirfd: absolute symbolic links, links
 * whose `..` climb above it, and mount-point tricks.  Nothing outside is
 * ever opened and nothing can be swapped between a check and the open, which
 * a realpath() check before open() cannot promise.  A link inside the root
 * must therefore be relative.  Where openat2 is missing (ENOSYS: an old
 * kernel or a seccomp filter) the file is opened normally and the kernel is
 * asked where the open file really is (/proc/self/fd): the check is on what
 * was opened, so it is race-free too; O_NONBLOCK and O_NOCTTY keep that
 * open from blocking or taking a terminal, and nothing is read before the
 * check.  Without /proc the name is refused (fail closed). */
static int open_beneath(int dirfd, const char *rel, const char *root_real) {
  if (!without_openat2) {
    struct open_how how = { .flags = OPEN_FLAGS, .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS };
    for (int attempt = 0; attempt < 8; attempt++) {
      int fd = (int)syscall(SYS_openat2, dirfd, rel, &how, sizeof how);
      if (fd >= 0) return fd;
      if (errno != EAGAIN) break;   /* EAGAIN: a rename raced the lookup; try again */
    }
    if (errno != ENOSYS) return -1;
  }
  int fd = openat(dirfd, rel, OPEN_FLAGS);
  if (fd < 0) return -1;
  char link[64], where[PATH_MAX];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, where, sizeof where - 1);
  if (n < 0 || (where[n] = 0, !after_root(where, root_real))) {
    close(fd);
    errno = EXDEV;
    return -1;
  }
  return fd;
}

/* Opens the relative path `rel` inside root; `uri` names it in messages. */
static int open_inside(const char *root, const char *root_real, const char *rel, const char *uri, char *err,
                       size_t err_size) {
  char u[160];
  /* `..` is refused before touching the file system, with the plainest message. */
  if (has_dotdot(rel)) {
    snprintf(err, err_size, "%s: the blob name leaves the blob root (`..` is not allowed)", shown(uri, u, sizeof u));
    return -1;
  }
  int dirfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0) {
    snprintf(err, err_size, "the blob root %s: %s", root, strerror(errno));
    return -1;
  }
  int fd = open_beneath(dirfd, rel, root_real);
  int saved = errno;
  close(dirfd);
  if (fd >= 0) return fd;
  if (saved == EXDEV)
    snprintf(err, err_size, "%s: the blob name leaves the blob root (through a symbolic link)", shown(uri, u, sizeof u));
  else
    snprintf(err, err_size, "cannot read %s: %s", shown(uri, u, sizeof u), strerror(saved));
  return -1;
}

/* An absolute path (from a file:// URI or as is): what it names inside the
 * root, compared with the root as given (when absolute) and with its real
 * path, so either spelling of the root is accepted. */
static int open_absolute(const char *root, const char *root_real, const char *path, const char *uri, char *err,
                         size_t err_size) {
  char u[160];
  const char *rel = root[0] == '/' ? after_root(path, root) : NULL;
  if (!rel) rel = after_root(path, root_real);
  if (!rel) {
    snprintf(err, err_size, "%s: the blob name leaves the blob root (an absolute path outside it)", shown(uri, u, sizeof u));
    return -1;
  }
  return open_inside(root, root_real, rel, uri, err, err_size);
}

int blob_open(const char *root, const char *uri, size_t len, char *err, size_t err_size) {
  char u[160];
  if (!uri || len == 0) {
    snprintf(err, err_size, "the blob name is empty");
    return -1;
  }
  if (memchr(uri, 0, len)) {
    snprintf(err, err_size, "the blob name holds a NUL byte");
    return -1;
  }
  if (len >= PATH_MAX) {
    snprintf(err, err_size, "the blob name is %zu bytes long; at most %d", len, PATH_MAX - 1);
    return -1;
  }
  if (!root || !*root) {
    snprintf(err, err_size, "%s: no blob root is configured, so no blob is read (efc run --blobs DIR, "
             "efc serve --blob-root DIR)", shown(uri, u, sizeof u));
    return -1;
  }
  char root_real[PATH_MAX];
  if (!realpath(root, root_real)) {
    snprintf(err, err_size, "the blob root %s: %s", root, strerror(errno));
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
      return open_absolute(root, root_real, decoded, uri, err, err_size);
    }
    if (s == 2 && strncasecmp(uri, "s3", 2) == 0) {
      snprintf(err, err_size, "%s: s3:// needs AWS support, not available in local runs yet "
               "(copy the object into the blob root and use a relative name)", shown(uri, u, sizeof u));
      return -1;
    }
    snprintf(err, err_size, "%s: the blob store reads names relative to the blob root and file:// URIs inside it, "
             "not %.*s:// URIs", shown(uri, u, sizeof u), (int)(s > 20 ? 20 : s), uri);
    return -1;
  }
  if (uri[0] == '/') return open_absolute(root, root_real, uri, uri, err, err_size);
  return open_inside(root, root_real, uri, uri, err, err_size);
}

int blob_read(const char *root, const char *uri, size_t len, size_t max, struct blob *out, char *err,
              size_t err_size) {
  out->bytes = NULL;
  out->size = 0;
  if (max == 0) max = blob_default_max();
  int fd = blob_open(root, uri, len, err, err_size);
  return fd < 0 ? -1 : read_fd(fd, uri, max, out, err, err_size);
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
