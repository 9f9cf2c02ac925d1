/* asr_pocketsphinx.c — the transcriber's local provider: CMU pocketsphinx
 * with its US English model (Debian: libpocketsphinx-dev, pocketsphinx-en-us).
 *
 * The decoder is loaded once, at the first transcription (loading the model
 * takes about a second), and freed by views_shutdown().  Audio is WAV,
 * converted to what the model wants: 16 kHz, 16-bit, mono.  A build without
 * pocketsphinx still has the provider; it fails every request with a
 * message that says how to get it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "views.h"
#include "wav.h"

#ifdef EFC_HAVE_POCKETSPHINX
#include <pocketsphinx.h>
#include <sphinxbase/err.h>   /* err_set_logfp */

#ifndef EFC_POCKETSPHINX_MODELDIR
#define EFC_POCKETSPHINX_MODELDIR "/usr/share/pocketsphinx/model"
#endif
#define MODEL_RATE 16000
#define PAD_MS 300

static ps_decoder_t *decoder;
static cmd_ln_t *config;
static char load_error[600];   /* set when loading failed: not tried again */

/* English only: the model installed is US English. */
static int english(const char *lang) {
  if (!lang || !*lang) return 1;
  return strcasecmp(lang, "en") == 0 || strcasecmp(lang, "en-US") == 0 || strcasecmp(lang, "en_US") == 0;
}

static int load(char *err, size_t err_size) {
  if (decoder) return 0;
  if (load_error[0]) {
    snprintf(err, err_size, "%s", load_error);
    return -1;
  }
  const char *dir = getenv("EFC_POCKETSPHINX_MODELDIR");
  if (!dir || !*dir) dir = EFC_POCKETSPHINX_MODELDIR;
  char hmm[1024], lm[1024], dict[1024];
  snprintf(hmm, sizeof hmm, "%s/en-us/en-us", dir);
  snprintf(lm, sizeof lm, "%s/en-us/en-us.lm.bin", dir);
  snprintf(dict, sizeof dict, "%s/en-us/cmudict-en-us.dict", dir);
  if (access(hmm, R_OK) != 0 || access(lm, R_OK) != 0 || access(dict, R_OK) != 0) {
    snprintf(load_error, sizeof load_error, "pocketsphinx's US English model is not in %s/en-us "
             "(install pocketsphinx-en-us, or set EFC_POCKETSPHINX_MODELDIR)", dir);
    snprintf(err, err_size, "%s", load_error);
    return -1;
  }
  err_set_logfp(NULL);   /* pocketsphinx logs pages of INFO lines otherwise */
  /* Dither: clips made by software (espeak-ng, screen recorders) have runs
   * of digital silence, exact zeros whose log energy derails the front end;
   * a fixed seed keeps the transcript the same from run to run. */
  config = cmd_ln_init(NULL, ps_args(), TRUE, "-hmm", hmm, "-lm", lm, "-dict", dict, "-dither", "yes", "-seed", "1", NULL);
  decoder = config ? ps_init(config) : NULL;
  if (!decoder) {
    if (config) cmd_ln_free_r(config);
    config = NULL;
    snprintf(load_error, sizeof load_error, "pocketsphinx could not load its model from %s/en-us", dir);
    snprintf(err, err_size, "%s", load_error);
    return -1;
  }
  return 0;
}

static int ps_transcribe(const struct transcribe_request *req, char **text, char *err, size_t err_size) {
  *text = NULL;
  if (!english(req->language)) {
    snprintf(err, err_size, "language `%s`: the local recognizer (pocketsphinx) has a US English model only "
             "(use en-US, or leave `language:` out)", req->language);
    return -1;
  }
  const struct view_content *c = &req->content;
  if (c->size < 12 || memcmp(c->bytes, "RIFF", 4) != 0 || memcmp(c->bytes + 8, "WAVE", 4) != 0) {
    snprintf(err, err_size, "%s is %s, not WAV audio: the local recognizer reads WAV (convert with "
             "`ffmpeg -i IN -ar 16000 -ac 1 OUT.wav` or `sox IN -r 16000 -c 1 OUT.wav`)", c->uri,
             c->mime ? c->mime : "of an unknown type");
    return -1;
  }
  int16_t *audio, *pcm;
  size_t n;
  char why[300];
  if (wav_decode(c->bytes, c->size, MODEL_RATE, &audio, &n, NULL, why, sizeof why) != 0) {
    snprintf(err, err_size, "%s: %s", c->uri, why);
    return -1;
  }
  /* Clips are often cut right at the first and last word; the recognizer
   * does better with some silence around speech. */
  size_t pad = MODEL_RATE * PAD_MS / 1000;
  pcm = calloc(n + 2 * pad, sizeof *pcm);
  if (!pcm) {
    free(audio);
    snprintf(err, err_size, "out of memory");
    return -1;
  }
  memcpy(pcm + pad, audio, n * sizeof *pcm);
  free(audio);
  n += 2 * pad;
  if (load(err, err_size) != 0) {
    free(pcm);
    return -1;
  }
  int rc = -1;
  if (ps_start_utt(decoder) < 0) {
    snprintf(err, err_size, "pocketsphinx could not start an utterance");
  } else {
    int ok = ps_process_raw(decoder, pcm, n, FALSE, TRUE) >= 0;
    if (ps_end_utt(decoder) < 0) ok = 0;
    if (!ok) {
      snprintf(err, err_size, "pocketsphinx could not decode %s", c->uri);
    } else {
      int32 score;
      const char *hyp = ps_get_hyp(decoder, &score);
      *text = strdup(hyp ? hyp : "");
      if (*text) rc = 0;
      else snprintf(err, err_size, "out of memory");
    }
  }
  free(pcm);
  return rc;
}

static void ps_shutdown(void) {
  if (decoder) ps_free(decoder);
  if (config) cmd_ln_free_r(config);
  decoder = NULL;
  config = NULL;
  load_error[0] = 0;
}

#else /* no pocketsphinx */

static int ps_transcribe(const struct transcribe_request *req, char **text, char *err, size_t err_size) {
  (void)req;
  *text = NULL;
  snprintf(err, err_size, "transcriber: this efc was built without pocketsphinx (install libpocketsphinx-dev "
           "and pocketsphinx-en-us, then rebuild)");
  return -1;
}

static void ps_shutdown(void) {}
#endif

const struct transcriber_provider transcriber_pocketsphinx = { "pocketsphinx", ps_transcribe, ps_shutdown };
