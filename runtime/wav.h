/* wav.h — reads WAV audio into 16-bit mono samples at the rate a speech
 * recognizer wants.
 *
 * Accepts RIFF/WAVE with PCM integer samples of 8, 16, 24 or 32 bits, IEEE
 * float samples of 32 or 64 bits (also inside WAVE_FORMAT_EXTENSIBLE), any
 * number of channels (averaged to mono) and any rate from 1 kHz to 384 kHz
 * (resampled with a windowed-sinc filter).  Damaged files are refused with
 * a reason, never read out of bounds; a data chunk longer than the file (a
 * recording that was cut off) is read as far as the file goes.
 */
#ifndef EFC_WAV_H
#define EFC_WAV_H
#include <stddef.h>
#include <stdint.h>

struct wav_info {
  int format;      /* 1 PCM, 3 float (the sub-format of an extensible file) */
  int channels;
  int rate;
  int bits;
  size_t frames;   /* in the file */
};

/* Decodes `bytes` to mono at `rate` Hz: 0 and *out (malloc'd, *n samples,
 * possibly 0), or -1 and a reason.  `info` (may be NULL) describes the file. */
int wav_decode(const unsigned char *bytes, size_t size, int rate, int16_t **out, size_t *n, struct wav_info *info,
               char *err, size_t err_size);

/* Resamples mono float samples from `from` Hz to `to` Hz into 16-bit
 * samples: *out (malloc'd, *n samples); -1 when out of memory. */
int wav_resample(const float *in, size_t n_in, int from, int to, int16_t **out, size_t *n);
#endif
