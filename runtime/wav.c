/* wav.c — WAV reading and resampling (see wav.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "wav.h"

static uint32_t le32(const unsigned char *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static uint16_t le16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }

/* One sample of the given format as a float in [-1, 1]. */
static float sample(const unsigned char *p, int format, int bits) {
  if (format == 3) {
    double v;
    if (bits == 32) {
      uint32_t u = le32(p);
      float f;
      memcpy(&f, &u, sizeof f);
      v = f;
    } else {
      uint64_t u = (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
      memcpy(&v, &u, sizeof v);
    }
    if (!(v == v)) return 0.0f;   /* NaN */
    return v > 1.0 ? 1.0f : v < -1.0 ? -1.0f : (float)v;
  }
  switch (bits) {
  case 8: return ((float)p[0] - 128.0f) / 128.0f;
  case 16: return (float)(int16_t)le16(p) / 32768.0f;
  case 24: {
    int32_t v = (int32_t)((uint32_t)p[0] << 8 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 24) >> 8;
    return (float)v / 8388608.0f;
  }
  default: return (float)((double)(int32_t)le32(p) / 2147483648.0);
  }
}

static int16_t to_int16(double v) {
  double s = v * 32768.0;
  if (s >= 32767.0) return 32767;
  if (s <= -32768.0) return -32768;
  return (int16_t)lrint(s);
}

int wav_resample(const float *in, size_t n_in, int from, int to, int16_t **out, size_t *n) {
  *out = NULL;
  *n = 0;
  if (from <= 0 || to <= 0) return -1;
  size_t n_out = (size_t)((double)n_in * to / from);
  int16_t *o = malloc((n_out ? n_out : 1) * sizeof *o);
  if (!o) return -1;
  if (from == to) {
    for (size_t i = 0; i < n_in; i++) o[i] = to_int16(in[i]);
    *out = o;
    *n = n_in;
    return 0;
  }
  /* Windowed sinc: a low-pass at 95% of the lower Nyquist frequency, 16
   * zero crossings each side, Hann window; tabulated at 1/256 of an input
   * sample and interpolated. */
  const double ratio = (double)from / to;                 /* input samples per output sample */
  const double fc = 0.5 * (to < from ? (double)to / from : 1.0) * 0.95;   /* cycles per input sample */
  const double half = 16.0 / (2.0 * fc);                  /* half width in input samples */
  enum { STEPS = 256 };
  size_t nt = (size_t)(half * STEPS) + 2;
  double *table = malloc(nt * sizeof *table);
  if (!table) {
    free(o);
    return -1;
  }
  for (size_t i = 0; i < nt; i++) {
    double d = (double)i / STEPS, x = 2.0 * fc * d;
    double s = i == 0 ? 1.0 : sin(M_PI * x) / (M_PI * x);
    table[i] = d >= half ? 0.0 : 2.0 * fc * s * (0.5 + 0.5 * cos(M_PI * d / half));
  }
  for (size_t j = 0; j < n_out; j++) {
    double t = (double)j * ratio;
    long lo = (long)ceil(t - half), hi = (long)floor(t + half);
    if (lo < 0) lo = 0;
    if (hi > (long)n_in - 1) hi = (long)n_in - 1;
    double acc = 0.0, wsum = 0.0;
    for (long k = lo; k <= hi; k++) {
      double pos = fabs(t - (double)k) * STEPS;
      size_t i = (size_t)pos;
      if (i + 1 >= nt) continue;
      double f = pos - (double)i, h = table[i] + (table[i + 1] - table[i]) * f;
      acc += h * in[k];
      wsum += h;
    }
    /* Normalising by the taps' sum keeps the gain at 1, also near the edges. */
    o[j] = to_int16(wsum > 1e-6 ? acc / wsum : acc);
  }
  free(table);
  *out = o;
  *n = n_out;
  return 0;
}

int wav_decode(const unsigned char *b, size_t size, int rate, int16_t **out, size_t *n, struct wav_info *info,
               char *err, size_t err_size) {
  *out = NULL;
  *n = 0;
  if (size < 12 || memcmp(b, "RIFF", 4) != 0 || memcmp(b + 8, "WAVE", 4) != 0) {
    snprintf(err, err_size, size >= 4 && memcmp(b, "RF64", 4) == 0 ? "RF64 (WAV over 4 GB) is not supported"
                                                                  : "not a WAV file (no RIFF/WAVE header)");
    return -1;
  }
  int have_fmt = 0, format = 0, channels = 0, bits = 0, align = 0;
  uint32_t srate = 0;
  const unsigned char *data = NULL;
  size_t data_len = 0;
  for (size_t off = 12; off + 8 <= size;) {
    const unsigned char *id = b + off;
    size_t len = le32(b + off + 4), avail = size - off - 8;
    const unsigned char *body = b + off + 8;
    if (memcmp(id, "fmt ", 4) == 0) {
      if (len < 16 || len > avail) {
        snprintf(err, err_size, "damaged WAV file: the fmt chunk is %zu bytes", len);
        return -1;
      }
      format = le16(body);
      channels = le16(body + 2);
      srate = le32(body + 4);
      align = le16(body + 12);
      bits = le16(body + 14);
      if (format == 0xfffe) {
        if (len < 40) {
          snprintf(err, err_size, "damaged WAV file: short WAVE_FORMAT_EXTENSIBLE header");
          return -1;
        }
        format = le16(body + 24);
      }
      have_fmt = 1;
    } else if (memcmp(id, "data", 4) == 0) {
      data = body;
      data_len = len > avail ? avail : len;   /* a cut-off recording: read what is there */
      break;
    }
    if (len > avail) break;
    off += 8 + len + (len & 1);
  }
  if (!have_fmt) {
    snprintf(err, err_size, "damaged WAV file: no fmt chunk before the data");
    return -1;
  }
  if (!data) {
    snprintf(err, err_size, "damaged WAV file: no data chunk");
    return -1;
  }
  if (format != 1 && format != 3) {
    snprintf(err, err_size, "WAV sample format %d is not supported (PCM or IEEE float only: convert with "
             "`sox in.wav -b 16 out.wav`)", format);
    return -1;
  }
  if ((format == 1 && bits != 8 && bits != 16 && bits != 24 && bits != 32) || (format == 3 && bits != 32 && bits != 64)) {
    snprintf(err, err_size, "WAV samples of %d bits (%s) are not supported", bits, format == 1 ? "PCM" : "float");
    return -1;
  }
  if (channels < 1 || channels > 64) {
    snprintf(err, err_size, "damaged WAV file: %d channels", channels);
    return -1;
  }
  if (srate < 1000 || srate > 384000) {
    snprintf(err, err_size, "WAV sample rate of %u Hz is not supported (1000 to 384000)", srate);
    return -1;
  }
  int frame = channels * (bits / 8);
  if (align < frame) {
    snprintf(err, err_size, "damaged WAV file: block align %d for %d channels of %d bits", align, channels, bits);
    return -1;
  }
  size_t frames = data_len / (size_t)align;
  if (info) *info = (struct wav_info){ format, channels, (int)srate, bits, frames };
  float *mono = malloc((frames ? frames : 1) * sizeof *mono);
  if (!mono) {
    snprintf(err, err_size, "out of memory decoding %zu frames of audio", frames);
    return -1;
  }
  for (size_t i = 0; i < frames; i++) {
    const unsigned char *p = data + i * (size_t)align;
    float acc = 0.0f;
    for (int c = 0; c < channels; c++) acc += sample(p + c * (bits / 8), format, bits);
    mono[i] = acc / (float)channels;
  }
  int rc = wav_resample(mono, frames, (int)srate, rate, out, n);
  free(mono);
  if (rc != 0) snprintf(err, err_size, "out of memory resampling the audio");
  return rc;
}
