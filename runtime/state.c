/* state.c — the front of the state store: argument checks, transaction
 * bookkeeping, paged scans and the generic atomic counter, then a call
 * through the backend's struct of callbacks (state_sqlite.c,
 * state_memory.c).
 *
 * What this file guarantees to every backend: keys are non-empty valid
 * UTF-8 within the limits of state.h, values are one JSON text of bounded
 * size and depth, expected versions are >= -1 (0 only for put), begin /
 * commit / rollback come in order, and after a hard error (I/O, corrupt,
 * busy, out of memory) inside a transaction nothing but rollback reaches
 * the backend.  What it guarantees to callers: the same behaviour whatever
 * the backend, errors as values with a message in state_error().
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "state.h"
#include "utf8.h"

/* Items per backend page: big enough to amortise a query, small enough
 * that a page of 256 KiB values stays bounded. */
#define STATE_PAGE_SIZE 128

struct state_store {
  const struct state_backend *backend;
  void *context;
  int in_transaction;
  int aborted;                /* hard error since begin: only rollback left */
  json_tokener *tokener;      /* reused to check values */
  char error[512];
};

/* ---- store, errors, pages ------------------------------------------------ */

struct state_store *state_store_new(const struct state_backend *backend, void *context)
{
  struct state_store *st = calloc(1, sizeof *st);
  if (!st)
    return NULL;
  st->tokener = json_tokener_new_ex(STATE_MAX_DEPTH);
  if (!st->tokener) {
    free(st);
    return NULL;
  }
  json_tokener_set_flags(st->tokener, JSON_TOKENER_STRICT);
  st->backend = backend;
  st->context = context;
  return st;
}

void *state_context(const struct state_store *st)
{
  return st->context;
}

enum state_status state_fail(struct state_store *st, enum state_status status,
                             const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(st->error, sizeof st->error, fmt, ap);
  va_end(ap);
  return status;
}

const char *state_status_name(enum state_status s)
{
  switch (s) {
#define STATE_STATUS_CASE(name, text) case STATE_##name: return text;
    STATE_STATUSES(STATE_STATUS_CASE)
#undef STATE_STATUS_CASE
  }
  return "unknown status";
}

const char *state_error(const struct state_store *st)
{
  return st ? st->error : "no store";
}

const char *state_backend_name(const struct state_store *st)
{
  return st->backend->name;
}

int state_page_push(struct state_page *page, const char *flow, const char *stage,
                    const char *key, const char *value, int64_t version, int64_t expires)
{
  size_t lf = strlen(flow) + 1, ls = strlen(stage) + 1, lk = strlen(key) + 1;
  size_t lv = strlen(value) + 1;
  if (page->count == page->capacity) {
    size_t cap = page->capacity ? 2 * page->capacity : 16;
    struct state_item *items = realloc(page->items, cap * sizeof *items);
    if (!items)
      return -1;
    page->items = items;
    page->capacity = cap;
  }
  /* One block per item: flow\0stage\0key\0value\0; item->flow owns it. */
  char *block = malloc(lf + ls + lk + lv);
  if (!block)
    return -1;
  struct state_item *it = &page->items[page->count++];
  it->flow = memcpy(block, flow, lf);
  it->stage = memcpy(block + lf, stage, ls);
  it->key = memcpy(block + lf + ls, key, lk);
  it->value = memcpy(block + lf + ls + lk, value, lv);
  it->version = version;
  it->expires = expires;
  return 0;
}

void state_page_clear(struct state_page *page)
{
  for (size_t i = 0; i < page->count; i++)
    free((char *)page->items[i].flow);
  page->count = 0;
}

void state_page_free(struct state_page *page)
{
  state_page_clear(page);
  free(page->items);
  page->items = NULL;
  page->capacity = 0;
}

/* ---- argument checks ----------------------------------------------------- */


/* A non-empty (unless may_be_empty) UTF-8 string of at most max bytes. */
static enum state_status check_string(struct state_store *st, const char *op, const char *what,
                                      const char *s, size_t max, int may_be_empty)
{
  if (!s)
    return state_fail(st, STATE_INVALID, "%s: %s is NULL", op, what);
  size_t n = strnlen(s, max + 1);
  if (n == 0 && !may_be_empty)
    return state_fail(st, STATE_INVALID, "%s: %s is empty", op, what);
  if (n > max)
    return state_fail(st, STATE_INVALID, "%s: %s is longer than %zu bytes", op, what, max);
  if (utf8_invalid_at(s, n) >= 0)
    return state_fail(st, STATE_INVALID, "%s: %s is not valid UTF-8", op, what);
  return STATE_OK;
}

static enum state_status check_key(struct state_store *st, const char *op,
                                   const struct state_key *k)
{
  enum state_status s;
  if (!k)
    return state_fail(st, STATE_INVALID, "%s: key is NULL", op);
  if ((s = check_string(st, op, "flow", k->flow, STATE_MAX_NAME, 0)) ||
      (s = check_string(st, op, "stage", k->stage, STATE_MAX_NAME, 0)) ||
      (s = check_string(st, op, "key", k->key, STATE_MAX_KEY, 0)))
    return s;
  return STATE_OK;
}

/* value must be exactly one JSON text (surrounding white space allowed). */
static enum state_status check_value(struct state_store *st, const char *op, const char *value)
{
  if (!value)
    return state_fail(st, STATE_INVALID, "%s: value is NULL", op);
  size_t n = strnlen(value, STATE_MAX_VALUE + 1);
  if (n > STATE_MAX_VALUE)
    return state_fail(st, STATE_INVALID, "%s: value is longer than %d bytes", op,
                      STATE_MAX_VALUE);
  if (utf8_invalid_at(value, n) >= 0)
    return state_fail(st, STATE_INVALID, "%s: value is not valid UTF-8", op);
  json_tokener_reset(st->tokener);
  /* n + 1 hands json-c the terminating NUL, which ends a bare number. */
  json_object *o = json_tokener_parse_ex(st->tokener, value, (int)n + 1);
  enum json_tokener_error e = json_tokener_get_error(st->tokener);
  json_object_put(o);
  if (e != json_tokener_success)
    return state_fail(st, STATE_INVALID, "%s: value is not one JSON text: %s at byte %zu", op,
                      json_tokener_error_desc(e), json_tokener_get_parse_end(st->tokener));
  return STATE_OK;
}

/* Before each operation: clear the message, refuse work in an aborted
 * transaction. */
static enum state_status enter(struct state_store *st, const char *op)
{
  st->error[0] = '\0';
  if (st->aborted)
    return state_fail(st, STATE_ABORTED,
                      "%s: the transaction was aborted by an earlier error; call state_rollback",
                      op);
  return STATE_OK;
}

/* After each backend call: a hard error inside a transaction aborts it (the
 * backend may already have undone part of it), and every failure gets a
 * message. */
static enum state_status leave(struct state_store *st, const char *op, enum state_status s)
{
  switch (s) {
  case STATE_IO:
  case STATE_CORRUPT:
  case STATE_BUSY:
  case STATE_NOMEM:
    if (st->in_transaction)
      st->aborted = 1;
    break;
  default:
    break;
  }
  if (s != STATE_OK && st->error[0] == '\0')
    state_fail(st, s, "%s: %s", op, state_status_name(s));
  return s;
}

/* ---- opening, closing, transactions -------------------------------------- */

void state_close(struct state_store *st)
{
  if (!st)
    return;
  if (st->in_transaction)
    st->backend->rollback(st);
  st->backend->close(st);
  json_tokener_free(st->tokener);
  free(st);
}

struct state_store *state_open_sqlite(const char *path, char *err, size_t err_size)
{
  return state_open_sqlite_with(path, NULL, err, err_size);
}

int state_in_transaction(const struct state_store *st)
{
  return st->in_transaction;
}

enum state_status state_begin(struct state_store *st)
{
  st->error[0] = '\0';
  if (st->in_transaction)
    return state_fail(st, STATE_INVALID,
                      "state_begin: a transaction is already open (transactions do not nest)");
  enum state_status s = st->backend->begin(st);
  if (s == STATE_OK) {
    st->in_transaction = 1;
    st->aborted = 0;
  }
  return leave(st, "state_begin", s);
}

enum state_status state_commit(struct state_store *st)
{
  st->error[0] = '\0';
  if (!st->in_transaction)
    return state_fail(st, STATE_INVALID, "state_commit: no transaction is open");
  if (st->aborted) {
    st->backend->rollback(st);
    st->in_transaction = st->aborted = 0;
    return state_fail(st, STATE_ABORTED,
                      "state_commit: the transaction was aborted by an earlier error and has "
                      "been rolled back");
  }
  enum state_status s = st->backend->commit(st);
  if (s != STATE_OK) {
    /* Keep the commit's message, not the rollback's. */
    char message[sizeof st->error];
    memcpy(message, st->error, sizeof message);
    st->backend->rollback(st);
    memcpy(st->error, message, sizeof message);
  }
  st->in_transaction = st->aborted = 0;
  return leave(st, "state_commit", s);
}

enum state_status state_rollback(struct state_store *st)
{
  st->error[0] = '\0';
  if (!st->in_transaction)
    return state_fail(st, STATE_INVALID, "state_rollback: no transaction is open");
  enum state_status s = st->backend->rollback(st);
  st->in_transaction = st->aborted = 0;
  return leave(st, "state_rollback", s);
}

/* ---- items ---------------------------------------------------------------- */

enum state_status state_get(struct state_store *st, const struct state_key *k,
                            char **value, int64_t *version, int64_t *expires)
{
  enum state_status s;
  if (value)
    *value = NULL;
  if ((s = enter(st, "state_get")) || (s = check_key(st, "state_get", k)))
    return s;
  int64_t v = 0, e = 0;
  s = st->backend->get(st, k, value, &v, &e);
  if (version)
    *version = s == STATE_OK ? v : 0;
  if (expires)
    *expires = s == STATE_OK ? e : 0;
  return leave(st, "state_get", s);
}

enum state_status state_put(struct state_store *st, const struct state_key *k,
                            const char *value, int64_t expires, int64_t expected_version,
                            int64_t *new_version)
{
  enum state_status s;
  if ((s = enter(st, "state_put")) || (s = check_key(st, "state_put", k)) ||
      (s = check_value(st, "state_put", value)))
    return s;
  if (expires < 0)
    return state_fail(st, STATE_INVALID, "state_put: expiry %" PRId64 " is negative", expires);
  if (expected_version < -1)
    return state_fail(st, STATE_INVALID, "state_put: expected version %" PRId64 " is below -1",
                      expected_version);
  int64_t nv = 0;
  s = st->backend->put(st, k, value, expires, expected_version, &nv);
  if (s == STATE_CONFLICT && !st->error[0])
    state_fail(st, s, "state_put %s/%s/%.80s: %s (expected version %" PRId64 ")", k->flow,
               k->stage, k->key, expected_version == 0 ? "item exists" : "version conflict",
               expected_version);
  if (new_version)
    *new_version = s == STATE_OK ? nv : 0;
  return leave(st, "state_put", s);
}

/* The counter arithmetic on a JSON value: old is the stored text or NULL,
 * *text receives the new text (malloc'd). */
static enum state_status add_to_json(struct state_store *st, const struct state_key *k,
                                     const char *old, const char *field, int64_t delta,
                                     char **text, int64_t *sum)
{
  json_object *root = NULL, *counter = NULL;
  enum state_status s = STATE_OK;
  int present = old != NULL;   /* json-c represents JSON null as NULL */
  if (old) {
    enum json_tokener_error e;
    root = json_tokener_parse_verbose(old, &e);
    if (e != json_tokener_success)
      return state_fail(st, STATE_CORRUPT, "state_add %s/%s/%.80s: stored value is not JSON",
                        k->flow, k->stage, k->key);
  }
  if (field) {
    if (!present)
      root = json_object_new_object();
    else if (!json_object_is_type(root, json_type_object)) {
      s = state_fail(st, STATE_TYPE, "state_add %s/%s/%.80s: value is not a JSON object",
                     k->flow, k->stage, k->key);
      goto done;
    }
    if (!root) {
      s = state_fail(st, STATE_NOMEM, "state_add: out of memory");
      goto done;
    }
    present = json_object_object_get_ex(root, field, &counter);
  } else {
    counter = root;
  }
  int64_t current = 0;
  if (present) {
    if (!counter || !json_object_is_type(counter, json_type_int)) {
      s = state_fail(st, STATE_TYPE, "state_add %s/%s/%.80s: %s%s is not an integer", k->flow,
                     k->stage, k->key, field ? "member " : "value", field ? field : "");
      goto done;
    }
    current = json_object_get_int64(counter);
    if (current == INT64_MAX && json_object_get_uint64(counter) != (uint64_t)INT64_MAX) {
      s = state_fail(st, STATE_TYPE, "state_add %s/%s/%.80s: counter is above int64", k->flow,
                     k->stage, k->key);
      goto done;
    }
  }
  if (__builtin_add_overflow(current, delta, sum)) {
    s = state_fail(st, STATE_TYPE,
                   "state_add %s/%s/%.80s: %" PRId64 " + %" PRId64 " would overflow int64",
                   k->flow, k->stage, k->key, current, delta);
    goto done;
  }
  if (field) {
    json_object *n = json_object_new_int64(*sum);
    if (!n || json_object_object_add(root, field, n) != 0) {
      json_object_put(n);
      s = state_fail(st, STATE_NOMEM, "state_add: out of memory");
      goto done;
    }
    const char *out = json_object_to_json_string_ext(
        root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    *text = out ? strdup(out) : NULL;
  } else {
    char buf[32];
    snprintf(buf, sizeof buf, "%" PRId64, *sum);
    *text = strdup(buf);
  }
  if (!*text)
    s = state_fail(st, STATE_NOMEM, "state_add: out of memory");
done:
  json_object_put(root);
  return s;
}

/* get + put with the version read as condition, inside a transaction. */
static enum state_status add_generic(struct state_store *st, const struct state_key *k,
                                     const char *field, int64_t delta, int64_t *sum)
{
  char *old = NULL, *text = NULL;
  int64_t version = 0, expires = 0, written;
  enum state_status s = st->backend->get(st, k, &old, &version, &expires);
  if (s == STATE_NOT_FOUND) {
    version = expires = 0;
    st->error[0] = '\0';
  } else if (s != STATE_OK) {
    return s;
  }
  s = add_to_json(st, k, old, field, delta, &text, sum);
  if (s == STATE_OK)
    s = st->backend->put(st, k, text, expires, version, &written);
  free(old);
  free(text);
  return s;
}

enum state_status state_add(struct state_store *st, const struct state_key *k,
                            const char *field, int64_t delta, int64_t *new_value)
{
  enum state_status s;
  int64_t sum = 0;
  if ((s = enter(st, "state_add")) || (s = check_key(st, "state_add", k)) ||
      (field && (s = check_string(st, "state_add", "field", field, STATE_MAX_NAME, 0))))
    return s;
  if (st->backend->add) {
    s = st->backend->add(st, k, field, delta, &sum);
  } else if (st->in_transaction) {
    s = add_generic(st, k, field, delta, &sum);
  } else {
    /* Autocommit: our own transaction makes the read-modify-write atomic. */
    s = st->backend->begin(st);
    if (s == STATE_OK) {
      s = add_generic(st, k, field, delta, &sum);
      if (s == STATE_OK)
        s = st->backend->commit(st);
      if (s != STATE_OK) {
        char message[sizeof st->error];
        memcpy(message, st->error, sizeof message);
        st->backend->rollback(st);
        memcpy(st->error, message, sizeof message);
      }
    }
  }
  if (new_value)
    *new_value = s == STATE_OK ? sum : 0;
  return leave(st, "state_add", s);
}

enum state_status state_delete(struct state_store *st, const struct state_key *k,
                               int64_t expected_version)
{
  enum state_status s;
  if ((s = enter(st, "state_delete")) || (s = check_key(st, "state_delete", k)))
    return s;
  if (expected_version == 0 || expected_version < -1)
    return state_fail(st, STATE_INVALID,
                      "state_delete: expected version %" PRId64 " (use -1 or a version >= 1)",
                      expected_version);
  s = st->backend->delete_item(st, k, expected_version);
  if (s == STATE_CONFLICT && !st->error[0])
    state_fail(st, s, "state_delete %s/%s/%.80s: version conflict (expected version %" PRId64 ")",
               k->flow, k->stage, k->key, expected_version);
  return leave(st, "state_delete", s);
}

/* ---- scans ------------------------------------------------------------------ */

enum state_status state_scan(struct state_store *st, const char *flow, const char *stage,
                             const char *key_prefix, state_item_fn fn, void *ctx)
{
  enum state_status s;
  if (!key_prefix)
    key_prefix = "";
  if ((s = enter(st, "state_scan")) ||
      (s = check_string(st, "state_scan", "flow", flow, STATE_MAX_NAME, 0)) ||
      (s = check_string(st, "state_scan", "stage", stage, STATE_MAX_NAME, 0)) ||
      (s = check_string(st, "state_scan", "key prefix", key_prefix, STATE_MAX_KEY, 1)))
    return s;
  if (!fn)
    return state_fail(st, STATE_INVALID, "state_scan: callback is NULL");
  struct state_page page = {0};
  char *after = NULL;
  for (;;) {
    state_page_clear(&page);
    s = st->backend->scan_page(st, flow, stage, key_prefix, after, STATE_PAGE_SIZE, &page);
    if (s != STATE_OK)
      break;
    int stop = 0;
    for (size_t i = 0; i < page.count && !stop; i++)
      stop = fn(ctx, &page.items[i]);
    if (stop || page.count < STATE_PAGE_SIZE)
      break;
    free(after);
    after = strdup(page.items[page.count - 1].key);
    if (!after) {
      s = state_fail(st, STATE_NOMEM, "state_scan: out of memory");
      break;
    }
  }
  free(after);
  state_page_free(&page);
  return leave(st, "state_scan", s);
}

enum state_status state_expired(struct state_store *st, int64_t now_ms, size_t limit,
                                state_item_fn fn, void *ctx)
{
  enum state_status s;
  if ((s = enter(st, "state_expired")))
    return s;
  if (!fn)
    return state_fail(st, STATE_INVALID, "state_expired: callback is NULL");
  struct state_page page = {0}, cursor = {0};
  size_t delivered = 0;
  for (;;) {
    size_t want = STATE_PAGE_SIZE;
    if (limit && limit - delivered < want)
      want = limit - delivered;
    state_page_clear(&page);
    s = st->backend->expired_page(st, now_ms, cursor.count ? &cursor.items[0] : NULL, want,
                                  &page);
    if (s != STATE_OK)
      break;
    int stop = 0;
    for (size_t i = 0; i < page.count && !stop; i++) {
      delivered++;
      stop = fn(ctx, &page.items[i]);
    }
    if (stop || page.count < want || (limit && delivered >= limit))
      break;
    /* The cursor is the last item delivered (copied: the page is reused). */
    const struct state_item *last = &page.items[page.count - 1];
    state_page_clear(&cursor);
    if (state_page_push(&cursor, last->flow, last->stage, last->key, "", 0, last->expires)) {
      s = state_fail(st, STATE_NOMEM, "state_expired: out of memory");
      break;
    }
  }
  state_page_free(&page);
  state_page_free(&cursor);
  return leave(st, "state_expired", s);
}

/* ---- metadata ----------------------------------------------------------------- */

enum state_status state_meta_get(struct state_store *st, const char *name, char **value)
{
  enum state_status s;
  if (value)
    *value = NULL;
  if ((s = enter(st, "state_meta_get")) ||
      (s = check_string(st, "state_meta_get", "name", name, STATE_MAX_NAME, 0)))
    return s;
  return leave(st, "state_meta_get", st->backend->meta_get(st, name, value));
}

enum state_status state_meta_put(struct state_store *st, const char *name, const char *value)
{
  enum state_status s;
  if ((s = enter(st, "state_meta_put")) ||
      (s = check_string(st, "state_meta_put", "name", name, STATE_MAX_NAME, 0)) ||
      (s = check_string(st, "state_meta_put", "value", value, STATE_MAX_VALUE, 1)))
    return s;
  return leave(st, "state_meta_put", st->backend->meta_put(st, name, value));
}
