/* cmd_store.c — `efc store load|dump`: the Event Store from the command line.
 *
 * load: the items of an `efc compile` output folder go into the store in one
 * transaction, merged with what is there (catalog_load: the result must
 * compile; other applications' rules are kept).  dump: every item, back in
 * the DynamoDB JSON efc compile writes, in the order the items were first
 * stored (a fresh store loaded from one output dumps that file's bytes).
 */
#include <string.h>
#include "catalog.h"
#include "cli.h"
#include "evstore.h"

static const char help[] =
  "usage: efc store load OUTDIR|FILE [--store PATH]\n"
  "       efc store dump [--store PATH] [--table NAME] [-o FILE]\n\n"
  "The Event Store that `efc serve` serves: events (schema, routing\n"
  "configuration, declaration) and flows, as `efc compile` writes them to\n"
  "event-store.json.\n\n"
  "  load   puts the items of an efc compile output folder (its\n"
  "         event-store.json) or of such a file into the store, in one\n"
  "         transaction.  Items of the same name are replaced; an event keeps\n"
  "         the rules of stored flows the load does not mention.  The store\n"
  "         must still compile as a whole, or nothing is written.\n"
  "  dump   prints every item as DynamoDB BatchWriteItem request bodies (the\n"
  "         format of event-store.json), in the order they were first stored.\n\n"
  "options:\n"
  "  --store PATH   the store: a SQLite file, created if missing (default:\n"
  "                 " CLI_DEFAULT_STORE ")\n"
  "  --table NAME   the DynamoDB table named in the dump (default: " EVSTORE_DEFAULT_TABLE ")\n"
  "  -o FILE        write the dump to FILE (atomically) instead of stdout\n\n"
  "Exit status: 0 done, 1 the items were refused (reasons on stderr), 2 bad\n"
  "usage, 3 the store failed.\n";

struct load {
  const struct evstore_list *incoming;
  struct catalog_change change;
  struct catalog_result result;
};

static enum evstore_status load_txn(struct evstore_txn *txn, void *ctx) {
  struct load *l = ctx;
  catalog_change_free(&l->change);
  catalog_result_free(&l->result);
  catalog_result_init(&l->result);
  struct evstore_list items = { 0 };
  enum evstore_status s = evstore_txn_list(txn, NULL, &items);
  if (s == EVSTORE_OK && catalog_load(&items, l->incoming, &l->change, &l->result) != CATALOG_OK) s = EVSTORE_INVALID;
  if (s == EVSTORE_OK) s = catalog_apply(txn, &l->change);
  evstore_list_free(&items);
  return s;
}

int cli_store_load(struct evstore *store, const char *path, const char *who) {
  struct evstore_list incoming = { 0 };
  char why[1024];
  if (evstore_read_file(path, &incoming, NULL, why, sizeof why) != 0) {
    fprintf(stderr, "%s: %s\n", who, why);
    evstore_list_free(&incoming);
    return 1;
  }
  struct load l = { .incoming = &incoming };
  catalog_result_init(&l.result);
  enum evstore_status s = evstore_transact(store, load_txn, &l);
  int rc = 0;
  if (s == EVSTORE_OK) {
    size_t events = 0;
    for (size_t i = 0; i < incoming.count; i++) events += strcmp(incoming.items[i].pk, EVSTORE_PK_EVENTS) == 0;
    fprintf(stderr, "%s: loaded %zu events and %zu flows from %s\n", who, events, incoming.count - events, path);
  } else if (l.result.outcome != CATALOG_OK) {
    diag_print(&l.result.diag, stderr, cli_color());
    fprintf(stderr, "%s: %s: %s; nothing was loaded\n", who, path, l.result.message);
    rc = l.result.outcome == CATALOG_INTERNAL ? 3 : 1;
  } else {
    fprintf(stderr, "%s: the event store failed: %s\n", who, evstore_error());
    rc = 3;
  }
  catalog_change_free(&l.change);
  catalog_result_free(&l.result);
  evstore_list_free(&incoming);
  return rc;
}

static int dump(struct evstore *store, const char *table, const char *out) {
  struct json_object *doc = evstore_dump(store, table);
  if (!doc) {
    fprintf(stderr, "efc store: the event store failed: %s\n", evstore_error());
    return 3;
  }
  const char *text = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                         JSON_C_TO_STRING_NOSLASHESCAPE);
  int rc = 0;
  if (out) {
    size_t n = strlen(text);
    char *buf = malloc(n + 1);
    if (!buf) rc = 3;
    else {
      memcpy(buf, text, n);
      buf[n] = '\n';
      rc = cli_write_file(out, buf, n + 1) == 0 ? 0 : 3;
      free(buf);
    }
  } else if (printf("%s\n", text) < 0 || fflush(stdout) != 0) {
    rc = 3;
  }
  json_object_put(doc);
  return rc;
}

int cmd_store(int argc, char **argv) {
  if (cli_wants_help(argc, argv, help)) return 0;
  const char *action = NULL, *source = NULL, *path = CLI_DEFAULT_STORE, *table = NULL, *out = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int has = i + 1 < argc;
    if (strcmp(a, "--store") == 0 && has) path = argv[++i];
    else if (strcmp(a, "--table") == 0 && has) table = argv[++i];
    else if (strcmp(a, "-o") == 0 && has) out = argv[++i];
    else if (a[0] == '-' && a[1]) {
      fprintf(stderr, "efc store: unknown option or missing value: '%s'\n\n%s", a, help);
      return 2;
    } else if (!action) action = a;
    else if (!source) source = a;
    else {
      fprintf(stderr, "efc store: unexpected argument '%s'\n", a);
      return 2;
    }
  }
  int is_load = action && strcmp(action, "load") == 0, is_dump = action && strcmp(action, "dump") == 0;
  if ((!is_load && !is_dump) || (is_load && !source) || (is_dump && source) || (is_load && (table || out))) {
    fputs(help, stderr);
    return 2;
  }
  char err[512];
  struct evstore *store = evstore_open(path, err, sizeof err);
  if (!store) {
    fprintf(stderr, "efc store: %s\n", err);
    return 3;
  }
  int rc = is_load ? cli_store_load(store, source, "efc store") : dump(store, table, out);
  evstore_close(store);
  return rc;
}
