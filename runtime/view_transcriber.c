/* view_transcriber.c — `transcriber(uri?, language?)`: speech recognition
 * turns the audio at `uri` (default: the row's data.uri) into text; the
 * row goes on with `transcript` added ("" when there is no speech).  Every
 * failure dead-letters the event with the reason. */
#include <stdlib.h>
#include <string.h>
#include "stages.h"
#include "views.h"
#include "vm.h"

static int transcriber_process(struct stage_run *run, struct json_object *row) {
  struct json_object *lang;
  if (stage_arg(run, "language", &lang) != 0) return 0;   /* already reported */
  if (lang && lang != VM_MISSING && !json_object_is_type(lang, json_type_string)) {
    vm_release(lang);
    return stage_fail(run, "transcriber: `language` is not a string");
  }
  struct view_input in;
  if (view_input_read(run, row, "transcriber", &in) != 0) {
    vm_release(lang);
    return 0;
  }
  const struct transcriber_provider *p = views_transcriber();
  struct transcribe_request req = { lang && lang != VM_MISSING ? json_object_get_string(lang) : NULL, in.content };
  char *text = NULL, err[1024];
  int rc;
  if (p->transcribe(&req, &text, err, sizeof err) != 0)
    rc = strncmp(err, "transcriber:", 12) == 0 ? stage_fail(run, "%s", err) : stage_fail(run, "transcriber (%s): %s", p->name, err);
  else
    rc = view_continue(run, row, "transcript", text);
  free(text);
  view_input_free(&in);
  vm_release(lang);
  return rc;
}

const struct native_stage stage_transcriber = { "transcriber", transcriber_process, NULL };
