/* views.c — provider selection and what the view stages share (views.h). */
#include <stdlib.h>
#include <string.h>
#include "blob.h"
#include "stages.h"
#include "views.h"
#include "vm.h"

static const struct summarizer_provider *summarizer = &summarizer_openai;
static const struct transcriber_provider *transcriber = &transcriber_pocketsphinx;
static int used_summarizer, used_transcriber, registered;

static void started(void) {
  if (!registered) {
    registered = 1;
    atexit(views_shutdown);
  }
}

void views_use(const struct summarizer_provider *s, const struct transcriber_provider *t) {
  if (s && s != summarizer) {
    if (used_summarizer && summarizer->shutdown) summarizer->shutdown();
    used_summarizer = 0;
    summarizer = s;
  }
  if (t && t != transcriber) {
    if (used_transcriber && transcriber->shutdown) transcriber->shutdown();
    used_transcriber = 0;
    transcriber = t;
  }
}

const struct summarizer_provider *views_summarizer(void) {
  started();
  used_summarizer = 1;
  return summarizer;
}

const struct transcriber_provider *views_transcriber(void) {
  started();
  used_transcriber = 1;
  return transcriber;
}

void views_shutdown(void) {
  if (used_summarizer && summarizer->shutdown) summarizer->shutdown();
  if (used_transcriber && transcriber->shutdown) transcriber->shutdown();
  used_summarizer = used_transcriber = 0;
}

/* ---- the view stages' input ---------------------------------------------- */

static const char *string_at(struct json_object *o, const char *a, const char *b) {
  struct json_object *v;
  if (!o || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, a, &v)) return NULL;
  if (b && (!json_object_is_type(v, json_type_object) || !json_object_object_get_ex(v, b, &v))) return NULL;
  return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

void view_input_free(struct view_input *in) {
  free(in->uri);
  free(in->declared_mime);
  free(in->bytes);
  memset(in, 0, sizeof *in);
}

int view_input_read(struct stage_run *run, struct json_object *row, const char *view, struct view_input *in) {
  memset(in, 0, sizeof *in);
  struct json_object *arg;
  if (stage_arg(run, "uri", &arg) != 0) return -1;   /* already reported */
  if (arg && arg != VM_MISSING) {
    if (!json_object_is_type(arg, json_type_string)) {
      vm_release(arg);
      stage_fail(run, "%s: `uri` is not a string", view);
      return -1;
    }
    in->uri = strdup(json_object_get_string(arg));
  } else {
    const char *u = string_at(row, "data", "uri");
    if (!u) {
      vm_release(arg);
      stage_fail(run, "%s: nothing to read: the row has no data.uri and the call gives no `uri:`", view);
      return -1;
    }
    in->uri = strdup(u);
  }
  vm_release(arg);
  const char *declared = string_at(row, "data", "mime");
  if (declared) in->declared_mime = strdup(declared);
  if (!in->uri || (declared && !in->declared_mime)) {
    view_input_free(in);
    stage_fail(run, "%s: out of memory", view);
    return -1;
  }
  char err[600];
  struct blob b;
  if (blob_read(in->uri, 0, &b, err, sizeof err) != 0) {
    view_input_free(in);
    stage_fail(run, "%s", err);
    return -1;
  }
  in->bytes = b.bytes;
  const char *sniffed = blob_sniff_mime(b.bytes, b.size);
  in->content = (struct view_content){ in->uri, b.bytes, b.size, sniffed ? sniffed : in->declared_mime };
  return 0;
}

int view_continue(struct stage_run *run, struct json_object *row, const char *field, const char *text) {
  struct json_object *out = NULL;
  if (json_object_deep_copy(row, &out, NULL) != 0 || !out) return stage_fail(run, "out of memory");
  json_object_object_add(out, field, json_object_new_string(text));
  int rc = stage_continue(run, out, stage_now(run));
  json_object_put(out);
  return rc;
}
