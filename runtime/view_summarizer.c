/* view_summarizer.c — `summarizer(prompt, uri?, model?)`: an LLM describes
 * the content at `uri` (default: the row's data.uri) following `prompt`;
 * the row goes on with `summary` added.  Images are sent as images, text
 * as text; anything else, and every failure of the provider, dead-letters
 * the event with the reason. */
#include <stdlib.h>
#include <string.h>
#include "blob.h"
#include "stages.h"
#include "views.h"
#include "vm.h"

#define IMAGE_MAX ((size_t)20 << 20)   /* what OpenAI accepts per image */
#define TEXT_MAX ((size_t)1 << 20)

/* A string argument: 0 and a new copy (NULL when absent), -1 when reported. */
static int string_arg(struct stage_run *run, const char *name, int required, char **out) {
  struct json_object *v;
  *out = NULL;
  if (stage_arg(run, name, &v) != 0) return -1;
  if (!v || v == VM_MISSING) {
    if (!required) return 0;
    stage_fail(run, "summarizer: `%s` is %s", name, v ? "absent" : "null");
    return -1;
  }
  if (!json_object_is_type(v, json_type_string)) {
    vm_release(v);
    stage_fail(run, "summarizer: `%s` is not a string", name);
    return -1;
  }
  *out = strdup(json_object_get_string(v));
  vm_release(v);
  if (!*out) {
    stage_fail(run, "summarizer: out of memory");
    return -1;
  }
  return 0;
}

static int is_text_mime(const char *m) {
  return m && (strncmp(m, "text/", 5) == 0 || strcmp(m, "application/json") == 0 || strcmp(m, "application/xml") == 0 ||
               strcmp(m, "application/x-ndjson") == 0);
}

static int is_utf8_text(const struct view_content *c) {
  const char *m = blob_sniff_mime(c->bytes, c->size);
  return m && strcmp(m, "text/plain") == 0;
}

static int summarizer_process(struct stage_run *run, struct json_object *row) {
  char *prompt = NULL, *model = NULL;
  struct view_input in;
  if (string_arg(run, "prompt", 1, &prompt) != 0) return 0;
  if (string_arg(run, "model", 0, &model) != 0 || view_input_read(run, row, "summarizer", &in) != 0) {
    free(prompt);
    free(model);
    return 0;
  }
  const char *mime = in.content.mime;
  int is_image = mime && strncmp(mime, "image/", 6) == 0;
  int rc = 0;
  if (!is_image && !is_text_mime(mime)) {
    rc = stage_fail(run, "summarizer: %s holds %s; the summarizer reads images and text", in.uri,
                    mime ? mime : "content of an unknown type");
  } else if (!is_image && !is_utf8_text(&in.content)) {
    rc = stage_fail(run, "summarizer: %s is declared %s but is not UTF-8 text", in.uri, mime);
  } else if (in.content.size > (is_image ? IMAGE_MAX : TEXT_MAX)) {
    rc = stage_fail(run, "summarizer: %s is %zu bytes; the summarizer sends at most %zu bytes of %s", in.uri,
                    in.content.size, is_image ? IMAGE_MAX : TEXT_MAX, is_image ? "image" : "text");
  } else {
    const struct summarizer_provider *p = views_summarizer();
    struct summarize_request req = { prompt, model, in.content, is_image };
    char *summary = NULL, err[1024];
    if (p->summarize(&req, &summary, err, sizeof err) != 0)
      rc = stage_fail(run, "summarizer (%s): %s", p->name, err);
    else
      rc = view_continue(run, row, "summary", summary);
    free(summary);
  }
  view_input_free(&in);
  free(prompt);
  free(model);
  return rc;
}

const struct native_stage stage_summarizer = { "summarizer", summarizer_process, NULL };
