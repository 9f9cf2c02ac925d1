/* explain.c — prints the pushdown split of every rule in words.
 *
 * For each flow and route: per event, the rule's name, the conditions in
 * its event pattern (EventBridge drops other events before any Lambda
 * runs), the pattern itself, and each condition left to the runtime with
 * the reason it could not be pushed; then the stages that follow.
 */
#include <string.h>
#include "check.h"
#include "explain.h"
#include "fmt.h"
#include "pattern.h"

static void print_expr(const struct expr *e, FILE *out) {
  struct printbuf *pb = printbuf_new();
  fmt_expr(e, pb);
  fputs(pb->buf, out);
  printbuf_free(pb);
}

static void print_stages(const struct decl *d, FILE *out) {
  if (d->kind == D_ROUTE) {
    fputs("    then delivers to: ", out);
    for (const struct target *t = d->targets; t; t = t->next) {
      if (t != d->targets) fputs(", ", out);
      if (t->arn) fprintf(out, "%s (by EventBridge)", t->arn);
      else fprintf(out, "%s -> emit %s", t->name, t->emit ? t->emit->name : "?");
    }
    fputc('\n', out);
    return;
  }
  fputs("    then runs: ", out);
  for (const struct stage_call *s = d->stages; s; s = s->next)
    fprintf(out, "%s -> ", s->kind == SC_WHERE ? "where" : s->kind == SC_MAP ? "map" : s->name);
  fprintf(out, "emit %s\n", d->emit->name);
}

void explain_compilation(const struct compilation *c, FILE *out) {
  const struct decl *current = NULL;
  for (size_t i = 0; i < c->nrules; i++) {
    const struct compiled_rule *r = &c->rules[i];
    if (!r->event) {
      fprintf(out, "%sschedule\n  rule %s: every minute, closes the filter windows whose time is up (`after`, or the end of an `intervals` block)\n", current ? "\n" : "", r->name);
      continue;
    }
    if (r->entry != current) {
      if (current) fputc('\n', out);
      current = r->entry;
      fprintf(out, "%s %s (%s:%d)\n", r->entry->kind == D_FLOW ? "flow" : "route", r->entry->name,
              r->entry->loc.src ? r->entry->loc.src->path : "?", r->entry->loc.line);
    }
    fprintf(out, "  on %s: rule %s\n", r->event->name, r->name);
    fprintf(out, "    EventBridge delivers only events with:\n");
    fprintf(out, "      source \"%s\" and detail-type \"%s\"\n", check_event_source(c->program, r->event),
            check_event_detail_type(r->event));
    for (size_t k = 0; k < r->split.npushed; k++) {
      fputs("      ", out);
      print_expr(r->split.pushed[k], out);
      fputc('\n', out);
    }
    fprintf(out, "    pattern: %s\n", json_object_to_json_string_ext(r->split.pattern, PATTERN_SERIALIZE_FLAGS));
    if (!r->split.nkept) {
      fputs("    the runtime checks nothing more\n", out);
    } else {
      fputs("    the runtime then checks:\n", out);
      for (size_t k = 0; k < r->split.nkept; k++) {
        fputs("      ", out);
        print_expr(r->split.kept[k], out);
        fprintf(out, "\n        (not in the pattern: %s)\n", r->split.why[k]);
      }
    }
    if (i + 1 == c->nrules || c->rules[i + 1].entry != r->entry) print_stages(r->entry, out);
  }
}
