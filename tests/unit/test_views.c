/* test_views.c — what the views stand on: the blob store (names resolved
 * inside the blob root, with openat2 and with its fallback; escapes by `..`,
 * absolute paths, file:// and links refused; NUL, empty and long names;
 * limits; files that are not files), index names inside the index folder,
 * and the WAV reader with its resampler (every sample format, damaged and hostile files,
 * frequency and level kept across rates).  The views themselves, with
 * their services, are tested end to end in tests/e2e/views.t. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blob.h"
#include "views.h"
#include "wav.h"

/* ---- fixtures: a blob root in a fresh temporary directory ----------------- */

struct dirs {
  char root[64];     /* holds base/, outside.bin and rootlink -> base */
  char base[96];     /* the blob root */
};

static void put(const char *path, const void *data, size_t n) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(data, 1, n, f), n);
  fclose(f);
}

static int link_in(const char *dir, const char *name, const char *target) {
  char p[256];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  return symlink(target, p);
}

static int setup(void **state) {
  struct dirs *d = calloc(1, sizeof *d);
  snprintf(d->root, sizeof d->root, "/tmp/efc-views-XXXXXX");
  if (!mkdtemp(d->root)) return -1;
  snprintf(d->base, sizeof d->base, "%s/base", d->root);
  mkdir(d->base, 0755);
  char p[256];
  snprintf(p, sizeof p, "%s/sub", d->base);
  mkdir(p, 0755);
  snprintf(p, sizeof p, "%s/sub/a b.txt", d->base);
  put(p, "hello blob\n", 11);
  snprintf(p, sizeof p, "%s/outside.bin", d->root);
  put(p, "secret", 6);
  char abs_out[160];
  snprintf(abs_out, sizeof abs_out, "%s/outside.bin", d->root);
  if (link_in(d->base, "escape", "../outside.bin") || link_in(d->base, "abs_escape", abs_out) ||
      link_in(d->base, "dirlink", "..") || link_in(d->base, "inside", "sub/a b.txt") ||
      link_in(d->base, "sub/up", "../sub/a b.txt") ||
      link_in(d->root, "rootlink", "base"))
    return -1;
  snprintf(p, sizeof p, "%s/fifo", d->base);
  if (mkfifo(p, 0600) != 0) return -1;
  *state = d;
  return 0;
}

/* The same fixtures, resolved as on a kernel without openat2. */
static int setup_without_openat2(void **state) {
  blob_test_without_openat2(1);
  return setup(state);
}

static int teardown(void **state) {
  struct dirs *d = *state;
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", d->root);
  if (system(cmd) != 0) return -1;
  blob_test_without_openat2(0);
  unsetenv("EFC_BLOB_MAX_BYTES");
  free(d);
  return 0;
}

static const char *blob_root;   /* of expect_fail / expect_read: set by each test */

static void expect_fail_n(const char *uri, size_t len, const char *part) {
  struct blob b;
  char err[512] = "";
  assert_int_equal(blob_read(blob_root, uri, len, 0, &b, err, sizeof err), -1);
  assert_null(b.bytes);
  if (!strstr(err, part)) fail_msg("blob_read(%s): \"%s\" does not say \"%s\"", uri ? uri : "NULL", err, part);
}

static void expect_fail(const char *uri, const char *part) { expect_fail_n(uri, uri ? strlen(uri) : 0, part); }

static void expect_read(const char *uri, const char *content) {
  struct blob b;
  char err[512] = "";
  if (blob_read(blob_root, uri, strlen(uri), 0, &b, err, sizeof err) != 0) fail_msg("blob_read(%s): %s", uri, err);
  assert_int_equal(b.size, strlen(content));
  assert_memory_equal(b.bytes, content, b.size);
  assert_int_equal(b.bytes[b.size], 0);
  blob_free(&b);
}

/* ---- blob store: names resolved inside the root ------------------------------ */

static void test_relative_paths(void **state) {
  struct dirs *d = *state;
  blob_root = d->base;
  expect_read("sub/a b.txt", "hello blob\n");
  expect_read("./sub//a b.txt", "hello blob\n");
  expect_read("inside", "hello blob\n");   /* a link that stays inside */
  expect_read("sub/up", "hello blob\n");   /* a link whose `..` stays inside */
}

static void test_escapes_refused(void **state) {
  struct dirs *d = *state;
  blob_root = d->base;
  expect_fail("../outside.bin", "the blob name leaves the blob root (`..` is not allowed)");
  expect_fail("sub/../../outside.bin", "leaves the blob root");
  expect_fail("sub/..", "leaves the blob root");
  expect_fail("..", "leaves the blob root");
  expect_fail("escape", "leaves the blob root (through a symbolic link)");
  expect_fail("abs_escape", "leaves the blob root (through a symbolic link)");
  expect_fail("dirlink/outside.bin", "leaves the blob root (through a symbolic link)");
  expect_fail("dirlink", "leaves the blob root");
}

static void test_absolute_paths_and_file_uris(void **state) {
  struct dirs *d = *state;
  char uri[300];
  blob_root = d->base;
  snprintf(uri, sizeof uri, "file://%s/sub/a%%20b.txt", d->base);
  expect_read(uri, "hello blob\n");
  snprintf(uri, sizeof uri, "file://localhost%s/sub/a b.txt", d->base);
  expect_read(uri, "hello blob\n");
  snprintf(uri, sizeof uri, "%s/sub/a b.txt", d->base);   /* a plain absolute path: like file:// */
  expect_read(uri, "hello blob\n");
  snprintf(uri, sizeof uri, "%s/escape", d->base);   /* inside by name, out through a link */
  expect_fail(uri, "through a symbolic link");
  snprintf(uri, sizeof uri, "file://%s/sub/../../outside.bin", d->base);
  expect_fail(uri, "`..` is not allowed");
  /* Outside the root: refused before the file system is asked, so a file
   * that exists and one that does not get the same answer. */
  snprintf(uri, sizeof uri, "%s/outside.bin", d->root);
  expect_fail(uri, "leaves the blob root (an absolute path outside it)");
  snprintf(uri, sizeof uri, "file://%s/outside.bin", d->root);
  expect_fail(uri, "leaves the blob root (an absolute path outside it)");
  snprintf(uri, sizeof uri, "%sx/secret", d->base);   /* a sibling whose name starts like the root */
  expect_fail(uri, "leaves the blob root");
  expect_fail("/etc/passwd", "/etc/passwd: the blob name leaves the blob root (an absolute path outside it)");
  expect_fail("/etc/no-such-efc-file", "/etc/no-such-efc-file: the blob name leaves the blob root (an absolute path outside it)");
  expect_fail("file:///etc/passwd", "leaves the blob root");
  expect_fail("file://localhost/etc/passwd", "leaves the blob root");
  expect_fail("file:///", "leaves the blob root");
  expect_fail("file://server/share/x.png", "absolute path on this machine");
  expect_fail("file://", "absolute path on this machine");
  snprintf(uri, sizeof uri, "file://%s/sub/a%%00b.txt", d->base);
  expect_fail(uri, "bad %-escape");
  snprintf(uri, sizeof uri, "file://%s/sub/a%%zzb.txt", d->base);
  expect_fail(uri, "bad %-escape");
  /* The root spelled through a link: names under either spelling are inside. */
  char linked[128];
  snprintf(linked, sizeof linked, "%s/rootlink", d->root);
  blob_root = linked;
  snprintf(uri, sizeof uri, "file://%s/sub/a%%20b.txt", linked);
  expect_read(uri, "hello blob\n");
  snprintf(uri, sizeof uri, "file://%s/sub/a%%20b.txt", d->base);
  expect_read(uri, "hello blob\n");
  expect_read("sub/a b.txt", "hello blob\n");
  expect_fail("escape", "through a symbolic link");
}

static void test_bad_names(void **state) {
  struct dirs *d = *state;
  blob_root = d->base;
  expect_fail("", "the blob name is empty");
  expect_fail(NULL, "the blob name is empty");
  expect_fail_n("sub/a b.txt\0../../outside.bin", 30, "the blob name holds a NUL byte");
  expect_fail_n("sub/a b.txt\0", 12, "the blob name holds a NUL byte");
  char long_uri[5000];
  memset(long_uri, 'a', sizeof long_uri - 1);
  long_uri[sizeof long_uri - 1] = 0;
  expect_fail(long_uri, "bytes long; at most");
  long_uri[300] = 0;   /* one component longer than a file name may be */
  expect_fail(long_uri, "File name too long");
}

static void test_no_root(void **state) {
  (void)state;
  blob_root = NULL;
  expect_fail("sub/a b.txt", "no blob root is configured");
  expect_fail("/etc/passwd", "no blob root is configured");
  blob_root = "";
  expect_fail("x.png", "no blob root is configured");
  blob_root = "/nonexistent-efc-folder";
  expect_fail("x.png", "the blob root /nonexistent-efc-folder: No such file");
}

static void test_other_schemes(void **state) {
  struct dirs *d = *state;
  blob_root = d->base;
  expect_fail("s3://bucket/key.png", "s3:// needs AWS support, not available in local runs yet");
  expect_fail("S3://bucket/key.png", "s3:// needs AWS support");
  expect_fail("https://example.com/x.png", "not https:// URIs");
}

static void test_not_regular_files(void **state) {
  struct dirs *d = *state;
  blob_root = d->base;
  expect_fail("fifo", "not a regular file");   /* and it does not block */
  expect_fail("sub", "it is a folder");
  expect_fail(".", "it is a folder");
  expect_fail("nothing.png", "No such file");
}

static void test_size_limits(void **state) {
  struct dirs *d = *state;
  struct blob b;
  char err[512];
  blob_root = d->base;
  assert_int_equal(blob_read(d->base, "sub/a b.txt", 11, 10, &b, err, sizeof err), -1);
  assert_non_null(strstr(err, "11 bytes, over the limit of 10"));
  assert_int_equal(blob_read(d->base, "sub/a b.txt", 11, 11, &b, err, sizeof err), 0);
  blob_free(&b);
  setenv("EFC_BLOB_MAX_BYTES", "5", 1);
  assert_int_equal(blob_default_max(), 5);
  expect_fail("sub/a b.txt", "over the limit of 5 (EFC_BLOB_MAX_BYTES)");
  setenv("EFC_BLOB_MAX_BYTES", "lots", 1);
  assert_int_equal(blob_default_max(), BLOB_DEFAULT_MAX);
  unsetenv("EFC_BLOB_MAX_BYTES");
}

/* ---- index names: a plain file name inside the index folder ------------------ */

static void expect_index(const char *dir, const char *name, size_t len, const char *want) {
  char path[256] = "", err[400] = "";
  int rc = view_index_path(dir, name, len, path, sizeof path, err, sizeof err);
  if (want[0] == '=') {
    if (rc != 0) fail_msg("view_index_path(%s): %s", name, err);
    assert_string_equal(path, want + 1);
  } else {
    assert_int_equal(rc, -1);
    if (!strstr(err, want)) fail_msg("view_index_path(%s): \"%s\" does not say \"%s\"", name, err, want);
  }
}
#define INDEX(dir, name, want) expect_index(dir, name, strlen(name), want)

static void test_index_names(void **state) {
  (void)state;
  INDEX("/srv/ix", "kb.sqlite", "=/srv/ix/kb.sqlite");
  INDEX("/srv/ix", "Notes_2026-11.db", "=/srv/ix/Notes_2026-11.db");
  INDEX("/srv/ix", "a..b", "=/srv/ix/a..b");
  INDEX("/srv/ix", "../kb.sqlite", "leaves the index folder");
  INDEX("/srv/ix", "..", "leaves the index folder");
  INDEX("/srv/ix", "sub/kb.sqlite", "leaves the index folder");
  INDEX("/srv/ix", "/var/lib/efc/efc-store.db", "leaves the index folder");
  INDEX("/srv/ix", "..\\kb.sqlite", "leaves the index folder");
  INDEX("/srv/ix", ".", "not a plain file name");
  INDEX("/srv/ix", ".hidden", "not a plain file name");
  INDEX("/srv/ix", "-rf", "not a plain file name");
  INDEX("/srv/ix", "a b", "not a plain file name");
  INDEX("/srv/ix", "kb.sqlite-wal", "not ending in -wal");
  INDEX("/srv/ix", "kb.sqlite-journal", "not a plain file name");
  INDEX("/srv/ix", "", "`index` is empty");
  expect_index("/srv/ix", "kb.sqlite\0/../../x", 18, "holds a NUL byte");
  char name[200];
  memset(name, 'k', 128);
  name[128] = 0;
  char want[300];
  snprintf(want, sizeof want, "=/srv/ix/%s", name);
  INDEX("/srv/ix", name, want);   /* 128 characters: the longest */
  strcat(name, "k");
  INDEX("/srv/ix", name, "not a plain file name");
  INDEX(NULL, "kb.sqlite", "no index folder is configured");
  INDEX("", "kb.sqlite", "no index folder is configured");
}

static void test_sniff(void **state) {
  (void)state;
  assert_string_equal(blob_sniff_mime((const unsigned char *)"\x89PNG\r\n\x1a\n....", 12), "image/png");
  assert_string_equal(blob_sniff_mime((const unsigned char *)"\xff\xd8\xff\xe0", 4), "image/jpeg");
  assert_string_equal(blob_sniff_mime((const unsigned char *)"GIF89a", 6), "image/gif");
  assert_string_equal(blob_sniff_mime((const unsigned char *)"RIFF\0\0\0\0WEBPVP8 ", 16), "image/webp");
  assert_string_equal(blob_sniff_mime((const unsigned char *)"RIFF\0\0\0\0WAVEfmt ", 16), "audio/wav");
  assert_string_equal(blob_sniff_mime((const unsigned char *)"\0\0\0\x20" "ftypisom", 12), "video/mp4");
  assert_string_equal(blob_sniff_mime((const unsigned char *)"caf\xc3\xa9 au lait\n", 14), "text/plain");
  assert_null(blob_sniff_mime((const unsigned char *)"caf\xe9", 4));          /* Latin-1, not UTF-8 */
  assert_null(blob_sniff_mime((const unsigned char *)"a\0b", 3));
  assert_null(blob_sniff_mime((const unsigned char *)"\xc3", 1));             /* cut in a character */
  assert_null(blob_sniff_mime((const unsigned char *)"", 0));
}

/* ---- WAV -------------------------------------------------------------------- */

struct wavbuf {
  unsigned char b[1 << 20];
  size_t n;
};

static void w16(struct wavbuf *w, unsigned v) { w->b[w->n++] = v & 255; w->b[w->n++] = (v >> 8) & 255; }
static void w32(struct wavbuf *w, uint32_t v) { w16(w, v & 0xffff); w16(w, v >> 16); }
static void wbytes(struct wavbuf *w, const void *p, size_t n) { memcpy(w->b + w->n, p, n); w->n += n; }

/* A WAV header for `frames` frames; the samples follow, written by the caller. */
static void header(struct wavbuf *w, int format, int channels, int rate, int bits, size_t frames, int extensible) {
  int align = channels * bits / 8;
  w->n = 0;
  wbytes(w, "RIFF", 4);
  w32(w, (uint32_t)(36 + frames * align));
  wbytes(w, "WAVE", 4);
  /* an odd-sized chunk first: readers must skip its pad byte */
  wbytes(w, "LIST", 4);
  w32(w, 3);
  wbytes(w, "abc\0", 4);
  wbytes(w, "fmt ", 4);
  w32(w, extensible ? 40 : 16);
  w16(w, extensible ? 0xfffe : (unsigned)format);
  w16(w, (unsigned)channels);
  w32(w, (uint32_t)rate);
  w32(w, (uint32_t)(rate * align));
  w16(w, (unsigned)align);
  w16(w, (unsigned)bits);
  if (extensible) {
    w16(w, 22);
    w16(w, (unsigned)bits);
    w32(w, 0);
    w16(w, (unsigned)format);
    wbytes(w, "\0\0\0\0\x10\0\x80\0\0\xaa\0\x38\x9b\x71", 14);
  }
  wbytes(w, "data", 4);
  w32(w, (uint32_t)(frames * align));
}

static double sine(size_t i, int rate, double hz, double amp) { return amp * sin(2.0 * M_PI * hz * (double)i / rate); }

/* Estimated frequency (zero crossings) and RMS level of 16-bit samples, past the edges. */
static void measure(const int16_t *s, size_t n, int rate, double *hz, double *rms) {
  size_t from = n / 10, to = n - n / 10, crossings = 0;
  double sum = 0;
  for (size_t i = from; i < to; i++) {
    if ((s[i - 1] < 0) != (s[i] < 0)) crossings++;
    sum += (double)s[i] * s[i];
  }
  *hz = (double)crossings / 2.0 / ((double)(to - from) / rate);
  *rms = sqrt(sum / (double)(to - from)) / 32768.0;
}

static void decode_ok(struct wavbuf *w, int rate, int16_t **out, size_t *n, struct wav_info *info) {
  char err[300] = "";
  if (wav_decode(w->b, w->n, rate, out, n, info, err, sizeof err) != 0) fail_msg("wav_decode: %s", err);
}

static void test_wav_pcm16_same_rate(void **state) {
  (void)state;
  static struct wavbuf w;
  header(&w, 1, 1, 16000, 16, 4, 0);
  int16_t v[4] = { 0, 1000, -1000, 32767 };
  for (int i = 0; i < 4; i++) w16(&w, (uint16_t)v[i]);
  int16_t *out;
  size_t n;
  struct wav_info info;
  decode_ok(&w, 16000, &out, &n, &info);
  assert_int_equal(n, 4);
  assert_int_equal(info.rate, 16000);
  assert_int_equal(info.channels, 1);
  assert_int_equal(info.frames, 4);
  assert_memory_equal(out, v, sizeof v);   /* the same rate: samples unchanged */
  free(out);
}

static void test_wav_formats_and_resampling(void **state) {
  (void)state;
  static struct wavbuf w;
  struct { int format, channels, rate, bits, extensible; } cases[] = {
    { 1, 1, 22050, 16, 0 }, { 1, 2, 44100, 16, 0 }, { 1, 1, 8000, 8, 0 }, { 1, 2, 48000, 24, 0 },
    { 1, 1, 32000, 32, 0 }, { 3, 1, 16000, 32, 0 }, { 3, 2, 96000, 64, 0 }, { 1, 6, 48000, 16, 1 },
    { 3, 1, 11025, 32, 1 },
  };
  for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
    int rate = cases[c].rate, ch = cases[c].channels, bits = cases[c].bits;
    size_t frames = (size_t)rate / 2;   /* half a second of a 440 Hz tone at half scale */
    header(&w, cases[c].format, ch, rate, bits, frames, cases[c].extensible);
    for (size_t i = 0; i < frames; i++)
      for (int k = 0; k < ch; k++) {
        double x = sine(i, rate, 440.0, 0.5);
        if (cases[c].format == 3 && bits == 32) {
          float f = (float)x;
          uint32_t u;
          memcpy(&u, &f, 4);
          w32(&w, u);
        } else if (cases[c].format == 3) {
          uint64_t u;
          memcpy(&u, &x, 8);
          w32(&w, (uint32_t)u);
          w32(&w, (uint32_t)(u >> 32));
        } else if (bits == 8) {
          w.b[w.n++] = (unsigned char)lrint(128.0 + x * 127.0);
        } else if (bits == 16) {
          w16(&w, (uint16_t)(int16_t)lrint(x * 32767.0));
        } else if (bits == 24) {
          int32_t v = (int32_t)lrint(x * 8388607.0);
          w.b[w.n++] = v & 255;
          w.b[w.n++] = (v >> 8) & 255;
          w.b[w.n++] = (v >> 16) & 255;
        } else {
          w32(&w, (uint32_t)(int32_t)lrint(x * 2147483647.0));
        }
      }
    int16_t *out;
    size_t n;
    struct wav_info info;
    decode_ok(&w, 16000, &out, &n, &info);
    assert_int_equal(info.channels, ch);
    assert_int_equal(info.rate, rate);
    assert_int_equal(info.frames, frames);
    assert_true(n >= 7990 && n <= 8000);   /* half a second at 16 kHz */
    double hz, rms;
    measure(out, n, 16000, &hz, &rms);
    if (fabs(hz - 440.0) > 5.0 || fabs(rms - 0.5 / sqrt(2.0)) > 0.01)
      fail_msg("case %zu (%d ch, %d Hz, %d bits): %.1f Hz, rms %.3f", c, ch, rate, bits, hz, rms);
    free(out);
  }
}

static void test_resampler_filters_aliases(void **state) {
  (void)state;
  /* 7 kHz at 44.1 kHz is kept at 16 kHz; 10 kHz would alias to 6 kHz and must be removed. */
  size_t n_in = 44100;
  float *in = malloc(n_in * sizeof *in);
  for (int hz = 7000; hz <= 10000; hz += 3000) {
    for (size_t i = 0; i < n_in; i++) in[i] = (float)sine(i, 44100, hz, 0.5);
    int16_t *out;
    size_t n;
    assert_int_equal(wav_resample(in, n_in, 44100, 16000, &out, &n), 0);
    assert_int_equal(n, 16000);
    double f, rms;
    measure(out, n, 16000, &f, &rms);
    if (hz == 7000) assert_true(rms > 0.3);
    else if (rms > 0.01) fail_msg("10 kHz leaks through as %.1f Hz at rms %.4f", f, rms);
    free(out);
  }
  free(in);
  int16_t *out;
  size_t n;
  assert_int_equal(wav_resample(NULL, 0, 22050, 16000, &out, &n), 0);
  assert_int_equal(n, 0);
  free(out);
}

static void expect_wav_fail(struct wavbuf *w, const char *part) {
  int16_t *out = (int16_t *)1;
  size_t n = 1;
  char err[300] = "";
  assert_int_equal(wav_decode(w->b, w->n, 16000, &out, &n, NULL, err, sizeof err), -1);
  assert_null(out);
  if (!strstr(err, part)) fail_msg("\"%s\" does not say \"%s\"", err, part);
}

static void test_wav_damaged(void **state) {
  (void)state;
  static struct wavbuf w;
  w.n = 0;
  wbytes(&w, "OggS", 4);
  expect_wav_fail(&w, "not a WAV file");
  header(&w, 1, 1, 16000, 16, 100, 0);
  memcpy(w.b + 12 + 12, "junk", 4);   /* no fmt chunk */
  expect_wav_fail(&w, "no fmt chunk");
  header(&w, 2, 1, 16000, 16, 100, 0);  /* ADPCM */
  expect_wav_fail(&w, "sample format 2");
  header(&w, 1, 1, 16000, 12, 100, 0);
  expect_wav_fail(&w, "12 bits");
  header(&w, 1, 0, 16000, 16, 100, 0);
  expect_wav_fail(&w, "0 channels");
  header(&w, 1, 1, 500, 16, 100, 0);
  expect_wav_fail(&w, "500 Hz");
  header(&w, 1, 1, 16000, 16, 100, 0);
  w.n -= 8;   /* no data chunk */
  expect_wav_fail(&w, "no data chunk");
  /* A recording cut off: the data chunk claims more than the file has. */
  header(&w, 1, 1, 16000, 16, 1000, 0);
  for (int i = 0; i < 300; i++) w16(&w, 100);
  int16_t *out;
  size_t n;
  decode_ok(&w, 16000, &out, &n, NULL);
  assert_int_equal(n, 300);
  free(out);
}

static void test_wav_hostile_bytes(void **state) {
  (void)state;
  /* Every truncation of a valid file, and random bytes after a valid
   * header: decode or refuse, never read out of bounds (ASan watches). */
  static struct wavbuf w, cut;
  header(&w, 1, 2, 22050, 16, 64, 0);
  for (int i = 0; i < 128; i++) w16(&w, (uint16_t)(i * 300));
  for (size_t len = 0; len <= w.n; len++) {
    memcpy(cut.b, w.b, len);
    cut.n = len;
    int16_t *out = NULL;
    size_t n;
    char err[300];
    if (wav_decode(cut.b, cut.n, 16000, &out, &n, NULL, err, sizeof err) == 0) free(out);
  }
  srand(7);
  for (int round = 0; round < 2000; round++) {
    size_t len = 12 + (size_t)(rand() % 200);
    unsigned char *b = malloc(len);
    memcpy(b, "RIFF\0\0\0\0WAVE", 12);
    for (size_t i = 12; i < len; i++) b[i] = (unsigned char)rand();
    if (round % 2 && len >= 16) memcpy(b + 12, "fmt ", 4);
    int16_t *out = NULL;
    size_t n;
    char err[300];
    if (wav_decode(b, len, 16000, &out, &n, NULL, err, sizeof err) == 0) free(out);
    free(b);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_relative_paths, setup, teardown),
    cmocka_unit_test_setup_teardown(test_escapes_refused, setup, teardown),
    cmocka_unit_test_setup_teardown(test_absolute_paths_and_file_uris, setup, teardown),
    cmocka_unit_test_setup_teardown(test_bad_names, setup, teardown),
    cmocka_unit_test_setup_teardown(test_no_root, setup, teardown),
    cmocka_unit_test_setup_teardown(test_other_schemes, setup, teardown),
    cmocka_unit_test_setup_teardown(test_not_regular_files, setup, teardown),
    cmocka_unit_test_setup_teardown(test_size_limits, setup, teardown),
    cmocka_unit_test_setup_teardown(test_relative_paths, setup_without_openat2, teardown),
    cmocka_unit_test_setup_teardown(test_escapes_refused, setup_without_openat2, teardown),
    cmocka_unit_test_setup_teardown(test_absolute_paths_and_file_uris, setup_without_openat2, teardown),
    cmocka_unit_test_setup_teardown(test_not_regular_files, setup_without_openat2, teardown),
    cmocka_unit_test(test_index_names),
    cmocka_unit_test(test_sniff),
    cmocka_unit_test(test_wav_pcm16_same_rate),
    cmocka_unit_test(test_wav_formats_and_resampling),
    cmocka_unit_test(test_resampler_filters_aliases),
    cmocka_unit_test(test_wav_damaged),
    cmocka_unit_test(test_wav_hostile_bytes),
  };
  cmocka_set_message_output(CM_OUTPUT_TAP);
  return cmocka_run_group_tests_name("views", tests, NULL, NULL);
}
