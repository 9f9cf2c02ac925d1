/* evstore.c — the Event Store's front: argument and item checks,
 * transactions with retry, and the DynamoDB JSON of event-store.json (see
 * evstore.h).  Backends live in evstore_sqlite.c and evstore_memory.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <json-c/json.h>
#include "evstore.h"
#include "utf8.h"

#define EVSTORE_MAX_TRIES 16   /* runs of a transaction's function before CONFLICT is returned */

struct evstore {
  const struct evstore_backend *backend;
  void *ctx;
};

struct evstore_txn {
  struct evstore *st;
  void *backend_txn;
};

static __thread char last_error[512];

const char *evstore_error(void) { return last_error; }

const char *evstore_status_name(enum evstore_status s) {
  static const char *const names[] = {
#define EVSTORE_STATUS_TEXT(name, text) text,
    EVSTORE_STATUSES(EVSTORE_STATUS_TEXT)
#undef EVSTORE_STATUS_TEXT
  };
  return (unsigned)s < sizeof names / sizeof *names ? names[s] : "unknown status";
}

enum evstore_status evstore_fail(enum evstore_status status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(last_error, sizeof last_error, fmt, ap);
  va_end(ap);
  return status;
}

struct evstore *evstore_new(const struct evstore_backend *backend, void *ctx) {
  struct evstore *st = calloc(1, sizeof *st);
  if (!st) return NULL;
  st->backend = backend;
  st->ctx = ctx;
  return st;
}

struct evstore *evstore_open(const char *path, char *err, size_t err_size) {
  if (strcmp(path, EVSTORE_MEMORY_PATH) != 0) return evstore_open_sqlite(path, err, err_size);
  struct evstore *st = evstore_open_memory();
  if (!st) snprintf(err, err_size, "out of memory");
  return st;
}

void evstore_close(struct evstore *st) {
  if (!st) return;
  st->backend->close(st->ctx);
  free(st);
}

const char *evstore_backend_name(const struct evstore *st) { return st->backend->name; }

/* ---- checks ------------------------------------------------------------- */

/* Strict UTF-8, no NUL. */
static int valid_utf8(const char *s, size_t n) {
  return memchr(s, 0, n) == NULL && utf8_invalid_at(s, n) < 0;
}

static int valid_key(const char *pk, const char *sk) {
  if (!pk || (strcmp(pk, EVSTORE_PK_EVENTS) != 0 && strcmp(pk, EVSTORE_PK_FLOW) != 0)) return 0;
  size_t n = sk ? strlen(sk) : 0;
  return n > 0 && n <= EVSTORE_MAX_KEY && valid_utf8(sk, n);
}

static enum evstore_status bad_key(const char *pk, const char *sk) {
  if (!pk || (strcmp(pk, EVSTORE_PK_EVENTS) != 0 && strcmp(pk, EVSTORE_PK_FLOW) != 0))
    return evstore_fail(EVSTORE_INVALID, "PK must be \"" EVSTORE_PK_EVENTS "\" or \"" EVSTORE_PK_FLOW "\"");
  (void)sk;
  return evstore_fail(EVSTORE_INVALID, "SK must be 1 to %d bytes of UTF-8 without NUL", EVSTORE_MAX_KEY);
}

/* The attribute's text is one JSON object and nothing else. */
static int json_object_text(const char *text, char *why, size_t why_size, const char *name) {
  size_t n = strlen(text);
  struct json_tokener *tok = json_tokener_new_ex(JSON_TOKENER_DEFAULT_DEPTH);
  if (!tok) {
    snprintf(why, why_size, "out of memory");
    return -1;
  }
  json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
  struct json_object *o = n <= INT32_MAX ? json_tokener_parse_ex(tok, text, (int)n) : NULL;
  int ok = o && json_tokener_get_error(tok) == json_tokener_success && json_tokener_get_parse_end(tok) == n &&
           json_object_is_type(o, json_type_object);
  if (!ok) {
    enum json_tokener_error e = json_tokener_get_error(tok);
    snprintf(why, why_size, "%s is not a JSON object%s%s", name, e != json_tokener_success ? ": " : "",
             e != json_tokener_success ? json_tokener_error_desc(e) : "");
  }
  json_object_put(o);
  json_tokener_free(tok);
  return ok ? 0 : -1;
}

int evstore_item_check(const struct evstore_item *item, char *why, size_t why_size) {
  if (!valid_key(item->pk, item->sk)) {
    bad_key(item->pk, item->sk);
    snprintf(why, why_size, "%s", last_error);
    return -1;
  }
  /* DynamoDB counts attribute names and values. */
  size_t size = 2 + strlen(item->pk) + 2 + strlen(item->sk);
  const char *names[] = { "Schema", "RoutingConfig", "Data" };
  const char *values[] = { item->schema, item->routing, item->data };
  for (int i = 0; i < 3; i++) {
    if (!values[i]) continue;
    size += strlen(names[i]) + strlen(values[i]);
    if (json_object_text(values[i], why, why_size, names[i]) != 0) return -1;
  }
  if (size > EVSTORE_MAX_ITEM) {
    snprintf(why, why_size, "the item is %zu bytes; an item holds at most %d", size, EVSTORE_MAX_ITEM);
    return -1;
  }
  return 0;
}

static enum evstore_status check_put(const struct evstore_item *item, enum evstore_cond cond) {
  char why[400];
  if (!item || evstore_item_check(item, why, sizeof why) != 0) return evstore_fail(EVSTORE_INVALID, "%s", item ? why : "no item");
  if (cond != EVSTORE_ANY && cond != EVSTORE_MUST_NOT_EXIST && cond != EVSTORE_MUST_EXIST)
    return evstore_fail(EVSTORE_INVALID, "unknown write condition %d", (int)cond);
  return EVSTORE_OK;
}

/* ---- operations --------------------------------------------------------- */

enum evstore_status evstore_get(struct evstore *st, const char *pk, const char *sk, struct evstore_item *out) {
  memset(out, 0, sizeof *out);
  if (!valid_key(pk, sk)) return bad_key(pk, sk);
  return st->backend->get(st->ctx, NULL, pk, sk, out);
}

enum evstore_status evstore_list(struct evstore *st, const char *pk, struct evstore_list *out) {
  if (pk && !valid_key(pk, "x")) return bad_key(pk, "x");
  return st->backend->list(st->ctx, NULL, pk, out);
}

enum evstore_status evstore_generation(struct evstore *st, int64_t *generation) {
  return st->backend->generation(st->ctx, NULL, generation);
}

enum evstore_status evstore_transact(struct evstore *st, evstore_txn_fn fn, void *ctx) {
  enum evstore_status s = EVSTORE_CONFLICT;
  for (int attempt = 0; attempt < EVSTORE_MAX_TRIES && s == EVSTORE_CONFLICT; attempt++) {
    struct evstore_txn txn = { st, NULL };
    s = st->backend->begin(st->ctx, &txn.backend_txn);
    if (s != EVSTORE_OK) return s;
    s = fn(&txn, ctx);
    if (s == EVSTORE_OK) s = st->backend->commit(st->ctx, txn.backend_txn);
    else st->backend->rollback(st->ctx, txn.backend_txn);
  }
  if (s == EVSTORE_CONFLICT) evstore_fail(s, "gave up after %d conflicting attempts", EVSTORE_MAX_TRIES);
  return s;
}

enum evstore_status evstore_txn_get(struct evstore_txn *txn, const char *pk, const char *sk, struct evstore_item *out) {
  memset(out, 0, sizeof *out);
  if (!valid_key(pk, sk)) return bad_key(pk, sk);
  return txn->st->backend->get(txn->st->ctx, txn->backend_txn, pk, sk, out);
}

enum evstore_status evstore_txn_list(struct evstore_txn *txn, const char *pk, struct evstore_list *out) {
  if (pk && !valid_key(pk, "x")) return bad_key(pk, "x");
  return txn->st->backend->list(txn->st->ctx, txn->backend_txn, pk, out);
}

enum evstore_status evstore_txn_put(struct evstore_txn *txn, const struct evstore_item *item, enum evstore_cond cond) {
  enum evstore_status s = check_put(item, cond);
  return s != EVSTORE_OK ? s : txn->st->backend->put(txn->st->ctx, txn->backend_txn, item, cond);
}

enum evstore_status evstore_txn_delete(struct evstore_txn *txn, const char *pk, const char *sk) {
  if (!valid_key(pk, sk)) return bad_key(pk, sk);
  return txn->st->backend->delete_item(txn->st->ctx, txn->backend_txn, pk, sk);
}

struct one_put { const struct evstore_item *item; enum evstore_cond cond; };

static enum evstore_status put_one(struct evstore_txn *txn, void *ctx) {
  struct one_put *p = ctx;
  return evstore_txn_put(txn, p->item, p->cond);
}

enum evstore_status evstore_put(struct evstore *st, const struct evstore_item *item, enum evstore_cond cond) {
  return evstore_transact(st, put_one, &(struct one_put){ item, cond });
}

struct one_delete { const char *pk, *sk; };

static enum evstore_status delete_one(struct evstore_txn *txn, void *ctx) {
  struct one_delete *d = ctx;
  return evstore_txn_delete(txn, d->pk, d->sk);
}

enum evstore_status evstore_delete(struct evstore *st, const char *pk, const char *sk) {
  if (!valid_key(pk, sk)) return bad_key(pk, sk);
  return evstore_transact(st, delete_one, &(struct one_delete){ pk, sk });
}

/* ---- items and lists ---------------------------------------------------- */

void evstore_item_free(struct evstore_item *item) {
  if (!item) return;
  free(item->pk);
  free(item->sk);
  free(item->schema);
  free(item->routing);
  free(item->data);
  memset(item, 0, sizeof *item);
}

static int dup_or_null(char **to, const char *from) {
  *to = NULL;
  if (!from) return 0;
  *to = strdup(from);
  return *to ? 0 : -1;
}

int evstore_item_copy(struct evstore_item *to, const struct evstore_item *from) {
  memset(to, 0, sizeof *to);
  if (dup_or_null(&to->pk, from->pk) || dup_or_null(&to->sk, from->sk) || dup_or_null(&to->schema, from->schema) ||
      dup_or_null(&to->routing, from->routing) || dup_or_null(&to->data, from->data)) {
    evstore_item_free(to);
    return -1;
  }
  to->seq = from->seq;
  return 0;
}

int evstore_list_push(struct evstore_list *list, const struct evstore_item *item) {
  if (list->count == list->cap) {
    size_t cap = list->cap ? list->cap * 2 : 16;
    struct evstore_item *items = realloc(list->items, cap * sizeof *items);
    if (!items) return -1;
    list->items = items;
    list->cap = cap;
  }
  if (evstore_item_copy(&list->items[list->count], item) != 0) return -1;
  list->count++;
  return 0;
}

const struct evstore_item *evstore_list_find(const struct evstore_list *list, const char *pk, const char *sk) {
  for (size_t i = 0; i < list->count; i++)
    if (strcmp(list->items[i].pk, pk) == 0 && strcmp(list->items[i].sk, sk) == 0) return &list->items[i];
  return NULL;
}

void evstore_list_free(struct evstore_list *list) {
  for (size_t i = 0; i < list->count; i++) evstore_item_free(&list->items[i]);
  free(list->items);
  memset(list, 0, sizeof *list);
}

/* ---- DynamoDB JSON ------------------------------------------------------ */

/* The string of a DynamoDB attribute value {"S": "..."}, or NULL. */
static const char *attribute_s(struct json_object *v) {
  struct json_object *s;
  if (!json_object_is_type(v, json_type_object) || json_object_object_length(v) != 1 ||
      !json_object_object_get_ex(v, "S", &s) || !json_object_is_type(s, json_type_string))
    return NULL;
  return json_object_get_string(s);
}

static int parse_item(struct json_object *it, struct evstore_item *out, char *why, size_t why_size) {
  memset(out, 0, sizeof *out);
  if (!json_object_is_type(it, json_type_object)) {
    snprintf(why, why_size, "Item is not an object");
    return -1;
  }
  json_object_object_foreach(it, name, value) {
    const char *s = attribute_s(value);
    char **slot = strcmp(name, "PK") == 0 ? &out->pk : strcmp(name, "SK") == 0 ? &out->sk
                : strcmp(name, "Schema") == 0 ? &out->schema : strcmp(name, "RoutingConfig") == 0 ? &out->routing
                : strcmp(name, "Data") == 0 ? &out->data : NULL;
    if (!slot) {
      snprintf(why, why_size, "unknown attribute \"%.64s\" (an Event Store item has PK, SK, Schema, RoutingConfig, Data)", name);
      return -1;
    }
    if (!s) {
      snprintf(why, why_size, "attribute %s is not a string value {\"S\": ...}", name);
      return -1;
    }
    if (!(*slot = strdup(s))) {
      snprintf(why, why_size, "out of memory");
      return -1;
    }
  }
  if (!out->pk || !out->sk) {
    snprintf(why, why_size, "the item has no %s", out->pk ? "SK" : "PK");
    return -1;
  }
  return evstore_item_check(out, why, why_size);
}

static struct json_object *member(struct json_object *o, const char *name) {
  struct json_object *v = NULL;
  return json_object_is_type(o, json_type_object) && json_object_object_get_ex(o, name, &v) ? v : NULL;
}

int evstore_parse_batches(struct json_object *bodies, struct evstore_list *out, char **table, char *why, size_t why_size) {
  char inner[400];
  if (table) *table = NULL;
  if (!json_object_is_type(bodies, json_type_array)) {
    snprintf(why, why_size, "expected an array of BatchWriteItem request bodies");
    return -1;
  }
  const char *table_name = NULL;
  for (size_t b = 0; b < json_object_array_length(bodies); b++) {
    struct json_object *req = member(json_object_array_get_idx(bodies, b), "RequestItems");
    if (!json_object_is_type(req, json_type_object) || json_object_object_length(req) != 1) {
      snprintf(why, why_size, "[%zu]: expected {\"RequestItems\": {TABLE: [...]}} with one table", b);
      return -1;
    }
    json_object_object_foreach(req, name, puts) {
      if (table_name && strcmp(table_name, name) != 0) {
        snprintf(why, why_size, "[%zu]: table \"%.64s\" differs from \"%.64s\" before it", b, name, table_name);
        return -1;
      }
      table_name = name;
      if (!json_object_is_type(puts, json_type_array)) {
        snprintf(why, why_size, "[%zu].RequestItems.%.64s: expected an array of write requests", b, name);
        return -1;
      }
      for (size_t i = 0; i < json_object_array_length(puts); i++) {
        struct json_object *it = member(member(json_object_array_get_idx(puts, i), "PutRequest"), "Item");
        struct evstore_item item;
        if (!it) snprintf(inner, sizeof inner, "expected {\"PutRequest\": {\"Item\": {...}}}");
        if (!it || parse_item(it, &item, inner, sizeof inner) != 0) {
          if (it) evstore_item_free(&item);
          snprintf(why, why_size, "[%zu].RequestItems.%.64s[%zu]: %s", b, name, i, inner);
          return -1;
        }
        if (evstore_list_find(out, item.pk, item.sk)) {
          snprintf(why, why_size, "[%zu].RequestItems.%.64s[%zu]: a second item %s/%.200s", b, name, i, item.pk, item.sk);
          evstore_item_free(&item);
          return -1;
        }
        int rc = evstore_list_push(out, &item);
        evstore_item_free(&item);
        if (rc != 0) {
          snprintf(why, why_size, "out of memory");
          return -1;
        }
      }
    }
  }
  if (table && table_name && !(*table = strdup(table_name))) {
    snprintf(why, why_size, "out of memory");
    return -1;
  }
  return 0;
}

int evstore_read_file(const char *path, struct evstore_list *out, char **table, char *why, size_t why_size) {
  char file[4096];
  struct stat sb;
  if (stat(path, &sb) != 0) {
    snprintf(why, why_size, "%s: %s", path, strerror(errno));
    return -1;
  }
  snprintf(file, sizeof file, S_ISDIR(sb.st_mode) ? "%s/event-store.json" : "%s", path);
  FILE *f = fopen(file, "rb");
  if (!f) {
    snprintf(why, why_size, "%s: %s", file, strerror(errno));
    return -1;
  }
  struct json_tokener *tok = json_tokener_new_ex(64);
  json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
  struct json_object *doc = NULL;
  enum json_tokener_error err = json_tokener_continue;
  char buf[65536];
  size_t n;
  while (err == json_tokener_continue && (n = fread(buf, 1, sizeof buf, f)) > 0) {
    doc = json_tokener_parse_ex(tok, buf, (int)n);
    err = json_tokener_get_error(tok);
  }
  int rc = -1;
  if (ferror(f)) snprintf(why, why_size, "%s: %s", file, strerror(errno));
  else if (err == json_tokener_continue) snprintf(why, why_size, "%s: not JSON: the file ends inside the value", file);
  else if (err != json_tokener_success || !doc) snprintf(why, why_size, "%s: not JSON: %s", file, json_tokener_error_desc(err));
  else {
    char inner[512];
    rc = evstore_parse_batches(doc, out, table, inner, sizeof inner);
    if (rc != 0) snprintf(why, why_size, "%s: %s", file, inner);
  }
  json_object_put(doc);
  json_tokener_free(tok);
  fclose(f);
  return rc;
}

static struct json_object *attr(const char *s) {
  struct json_object *a = json_object_new_object();
  json_object_object_add(a, "S", json_object_new_string(s));
  return a;
}

struct json_object *evstore_batches(const struct evstore_list *list, const char *table) {
  struct json_object *bodies = json_object_new_array(), *puts = NULL;
  for (size_t i = 0; i < list->count; i++) {
    const struct evstore_item *item = &list->items[i];
    if (i % EVSTORE_BATCH_ITEMS == 0) {
      struct json_object *body = json_object_new_object(), *req = json_object_new_object();
      puts = json_object_new_array();
      json_object_object_add(req, table ? table : EVSTORE_DEFAULT_TABLE, puts);
      json_object_object_add(body, "RequestItems", req);
      json_object_array_add(bodies, body);
    }
    struct json_object *it = json_object_new_object();
    json_object_object_add(it, "PK", attr(item->pk));
    json_object_object_add(it, "SK", attr(item->sk));
    if (item->schema) json_object_object_add(it, "Schema", attr(item->schema));
    if (item->routing) json_object_object_add(it, "RoutingConfig", attr(item->routing));
    if (item->data) json_object_object_add(it, "Data", attr(item->data));
    struct json_object *put = json_object_new_object(), *wrap = json_object_new_object();
    json_object_object_add(put, "Item", it);
    json_object_object_add(wrap, "PutRequest", put);
    json_object_array_add(puts, wrap);
  }
  return bodies;
}

static int by_seq(const void *a, const void *b) {
  const struct evstore_item *x = a, *y = b;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

struct json_object *evstore_dump(struct evstore *st, const char *table) {
  struct evstore_list list = { 0 };
  if (evstore_list(st, NULL, &list) != EVSTORE_OK) {
    evstore_list_free(&list);
    return NULL;
  }
  if (list.count) qsort(list.items, list.count, sizeof *list.items, by_seq);
  struct json_object *out = evstore_batches(&list, table);
  evstore_list_free(&list);
  return out;
}
