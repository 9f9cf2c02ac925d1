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

static struct json_object *string_at(struct json_object *o, const char *a, const char *b) {
  struct json_object *v;
  if (!o || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, a, &v)) return NULL;
  if (b && (!json_object_is_type(v, json_type_object) || !json_object_object_get_ex(v, b, &v))) return NULL;
  return json_object_is_type(v, json_type_string) ? v : NULL;
}

/* A copy of a JSON string with its length: a NUL inside stays visible (the
 * blob store refuses such a name rather than read a shorter one). */
static char *copy_string(struct json_object *s, size_t *len) {
  *len = (size_t)json_object_get_string_len(s);
  char *c = malloc(*len + 1);
  if (c) {
    memcpy(c, json_object_get_string(s), *len);
    c[*len] = 0;
  }
  return c;
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
  size_t uri_len = 0;
  if (stage_arg(run, "uri", &arg) != 0) return -1;   /* already reported */
  if (arg && arg != VM_MISSING) {
    if (!json_object_is_type(arg, json_type_string)) {
      vm_release(arg);
      stage_fail(run, "%s: `uri` is not a string", view);
      return -1;
    }
    in->uri = copy_string(arg, &uri_len);
  } else {
    struct json_object *u = string_at(row, "data", "uri");
    if (!u) {
      vm_release(arg);
      stage_fail(run, "%s: nothing to read: the row has no data.uri and the call gives no `uri:`", view);
      return -1;
    }
    in->uri = copy_string(u, &uri_len);
  }
  vm_release(arg);
  struct json_object *declared_s = string_at(row, "data", "mime");
  const char *declared = declared_s ? json_object_get_string(declared_s) : NULL;
  if (declared) in->declared_mime = strdup(declared);
  if (!in->uri || (declared && !in->declared_mime)) {
    view_input_free(in);
    stage_fail(run, "%s: out of memory", view);
    return -1;
  }
  char err[600];
  struct blob b;
  const struct views_config *config = stage_views(run);
  if (blob_read(config ? config->blob_root : NULL, in->uri, uri_len, 0, &b, err, sizeof err) != 0) {
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
