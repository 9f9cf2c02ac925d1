/* state_memory.c — the in-memory state backend (tests, throw-away runs).
 *
 * Items live in one array of pointers sorted by (flow, stage, key), byte
 * order (strcmp compares as unsigned char, as memcmp does), so lookups are
 * binary searches and a scan is a walk from a lower bound.  Metadata is a
 * second sorted array.
 *
 * Transactions keep an undo log.  Every mutation first allocates all it
 * needs (new strings, array room, one undo slot), then changes the arrays
 * without any failure point, recording what it replaced: the old value of a
 * changed item, the detached struct of a deleted one, the pointer of a
 * created one.  Rollback replays the log backwards and never allocates
 * (arrays never shrink, so a re-inserted pointer always fits); commit frees
 * what the log kept.  Outside a transaction the old data is freed at once.
 */
#include <stdlib.h>
#include <string.h>

#include "state.h"

struct memory_item {
  char *flow, *stage, *key;    /* one block, owned by flow */
  char *value;
  int64_t version, expires;
};

struct memory_meta {
  char *name, *value;
};

enum undo_kind { UNDO_CREATED, UNDO_CHANGED, UNDO_DELETED, UNDO_META_CREATED, UNDO_META_CHANGED };

struct undo {
  enum undo_kind kind;
  void *entry;                 /* struct memory_item * or struct memory_meta * */
  char *old_value;             /* CHANGED, META_CHANGED */
  int64_t old_version, old_expires;
};

struct memory_store {
  struct memory_item **items;
  size_t count, capacity;
  struct memory_meta **metas;
  size_t meta_count, meta_capacity;
  struct undo *undo;
  size_t undo_count, undo_capacity;
  int in_transaction;
};

static struct memory_store *ctx(struct state_store *st)
{
  return state_context(st);
}

static enum state_status no_memory(struct state_store *st)
{
  return state_fail(st, STATE_NOMEM, "memory state store: out of memory");
}

/* Make room for one more element in a growable array. */
static int reserve(void **array, size_t *capacity, size_t count, size_t size)
{
  if (count < *capacity)
    return 0;
  size_t cap = *capacity ? 2 * *capacity : 16;
  void *grown = realloc(*array, cap * size);
  if (!grown)
    return -1;
  *array = grown;
  *capacity = cap;
  return 0;
}

static int reserve_undo(struct memory_store *m)
{
  return m->in_transaction ? reserve((void **)&m->undo, &m->undo_capacity, m->undo_count,
                                     sizeof *m->undo)
                           : 0;
}

static void push_undo(struct memory_store *m, enum undo_kind kind, void *entry, char *old_value,
                      int64_t old_version, int64_t old_expires)
{
  m->undo[m->undo_count++] =
      (struct undo){kind, entry, old_value, old_version, old_expires};
}

/* ---- items: ordering and search ------------------------------------------ */

static int compare_names(const char *flow, const char *stage, const char *key,
                         const struct memory_item *it)
{
  int c = strcmp(flow, it->flow);
  if (!c)
    c = strcmp(stage, it->stage);
  if (!c)
    c = strcmp(key, it->key);
  return c;
}

/* Index of the first item >= (flow, stage, key); *found if equal. */
static size_t lower_bound(const struct memory_store *m, const char *flow, const char *stage,
                          const char *key, int *found)
{
  size_t lo = 0, hi = m->count;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (compare_names(flow, stage, key, m->items[mid]) > 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (found)
    *found = lo < m->count && compare_names(flow, stage, key, m->items[lo]) == 0;
  return lo;
}

static void insert_at(struct memory_store *m, size_t at, struct memory_item *it)
{
  memmove(&m->items[at + 1], &m->items[at], (m->count - at) * sizeof *m->items);
  m->items[at] = it;
  m->count++;
}

static void remove_at(struct memory_store *m, size_t at)
{
  memmove(&m->items[at], &m->items[at + 1], (m->count - at - 1) * sizeof *m->items);
  m->count--;
}

static void free_item(struct memory_item *it)
{
  if (!it)
    return;
  free(it->flow);
  free(it->value);
  free(it);
}

static struct memory_item *new_item(const struct state_key *k, char *value)
{
  size_t lf = strlen(k->flow) + 1, ls = strlen(k->stage) + 1, lk = strlen(k->key) + 1;
  struct memory_item *it = malloc(sizeof *it);
  char *block = malloc(lf + ls + lk);
  if (!it || !block) {
    free(it);
    free(block);
    return NULL;
  }
  it->flow = memcpy(block, k->flow, lf);
  it->stage = memcpy(block + lf, k->stage, ls);
  it->key = memcpy(block + lf + ls, k->key, lk);
  it->value = value;
  it->version = 1;
  it->expires = 0;
  return it;
}

/* ---- metadata: ordering and search ----------------------------------------- */

static size_t meta_lower_bound(const struct memory_store *m, const char *name, int *found)
{
  size_t lo = 0, hi = m->meta_count;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (strcmp(name, m->metas[mid]->name) > 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  *found = lo < m->meta_count && strcmp(name, m->metas[lo]->name) == 0;
  return lo;
}

static void free_meta(struct memory_meta *e)
{
  if (!e)
    return;
  free(e->name);
  free(e->value);
  free(e);
}

/* ---- transactions ------------------------------------------------------------ */

static enum state_status memory_begin(struct state_store *st)
{
  struct memory_store *m = ctx(st);
  m->in_transaction = 1;
  m->undo_count = 0;
  return STATE_OK;
}

static enum state_status memory_commit(struct state_store *st)
{
  struct memory_store *m = ctx(st);
  for (size_t i = 0; i < m->undo_count; i++) {
    struct undo *u = &m->undo[i];
    switch (u->kind) {
    case UNDO_CHANGED:
    case UNDO_META_CHANGED:
      free(u->old_value);
      break;
    case UNDO_DELETED:
      free_item(u->entry);   /* detached: nothing later in the log uses it */
      break;
    case UNDO_CREATED:
    case UNDO_META_CREATED:
      break;
    }
  }
  m->undo_count = 0;
  m->in_transaction = 0;
  return STATE_OK;
}

static enum state_status memory_rollback(struct state_store *st)
{
  struct memory_store *m = ctx(st);
  int found;
  size_t at;
  while (m->undo_count > 0) {
    struct undo *u = &m->undo[--m->undo_count];
    struct memory_item *it = u->entry;
    struct memory_meta *e = u->entry;
    switch (u->kind) {
    case UNDO_CREATED:
      at = lower_bound(m, it->flow, it->stage, it->key, &found);
      remove_at(m, at);
      free_item(it);
      break;
    case UNDO_CHANGED:
      free(it->value);
      it->value = u->old_value;
      it->version = u->old_version;
      it->expires = u->old_expires;
      break;
    case UNDO_DELETED:
      at = lower_bound(m, it->flow, it->stage, it->key, &found);
      insert_at(m, at, it);   /* fits: the array held it before */
      break;
    case UNDO_META_CREATED:
      at = meta_lower_bound(m, e->name, &found);
      memmove(&m->metas[at], &m->metas[at + 1], (m->meta_count - at - 1) * sizeof *m->metas);
      m->meta_count--;
      free_meta(e);
      break;
    case UNDO_META_CHANGED:
      free(e->value);
      e->value = u->old_value;
      break;
    }
  }
  m->in_transaction = 0;
  return STATE_OK;
}

/* ---- items ------------------------------------------------------------------------ */

static enum state_status memory_get(struct state_store *st, const struct state_key *k,
                                    char **value, int64_t *version, int64_t *expires)
{
  struct memory_store *m = ctx(st);
  int found;
  size_t at = lower_bound(m, k->flow, k->stage, k->key, &found);
  if (!found)
    return STATE_NOT_FOUND;
  const struct memory_item *it = m->items[at];
  if (value && !(*value = strdup(it->value)))
    return no_memory(st);
  *version = it->version;
  *expires = it->expires;
  return STATE_OK;
}

static enum state_status memory_put(struct state_store *st, const struct state_key *k,
                                    const char *value, int64_t expires, int64_t expected_version,
                                    int64_t *new_version)
{
  struct memory_store *m = ctx(st);
  int found;
  size_t at = lower_bound(m, k->flow, k->stage, k->key, &found);
  struct memory_item *it = found ? m->items[at] : NULL;
  if (expected_version == 0 && found)
    return STATE_CONFLICT;
  if (expected_version > 0 && (!found || it->version != expected_version))
    return STATE_CONFLICT;

  /* Allocate everything first. */
  char *copy = strdup(value);
  if (!copy || reserve_undo(m))
    goto nomem;
  if (found) {
    if (m->in_transaction)
      push_undo(m, UNDO_CHANGED, it, it->value, it->version, it->expires);
    else
      free(it->value);
    it->value = copy;
    it->version++;
  } else {
    if (reserve((void **)&m->items, &m->capacity, m->count, sizeof *m->items) ||
        !(it = new_item(k, copy)))
      goto nomem;
    insert_at(m, at, it);
    if (m->in_transaction)
      push_undo(m, UNDO_CREATED, it, NULL, 0, 0);
  }
  it->expires = expires;
  *new_version = it->version;
  return STATE_OK;
nomem:
  free(copy);
  return no_memory(st);
}

static enum state_status memory_delete(struct state_store *st, const struct state_key *k,
                                       int64_t expected_version)
{
  struct memory_store *m = ctx(st);
  int found;
  size_t at = lower_bound(m, k->flow, k->stage, k->key, &found);
  if (!found)
    return expected_version < 0 ? STATE_NOT_FOUND : STATE_CONFLICT;
  struct memory_item *it = m->items[at];
  if (expected_version > 0 && it->version != expected_version)
    return STATE_CONFLICT;
  if (reserve_undo(m))
    return no_memory(st);
  remove_at(m, at);
  if (m->in_transaction)
    push_undo(m, UNDO_DELETED, it, NULL, 0, 0);
  else
    free_item(it);
  return STATE_OK;
}

static int has_prefix(const char *s, const char *prefix, size_t n)
{
  return strncmp(s, prefix, n) == 0;
}

static enum state_status memory_scan_page(struct state_store *st, const char *flow,
                                          const char *stage, const char *key_prefix,
                                          const char *after, size_t max,
                                          struct state_page *page)
{
  struct memory_store *m = ctx(st);
  size_t n = strlen(key_prefix);
  size_t at;
  if (after) {
    int found;
    at = lower_bound(m, flow, stage, after, &found);
    if (found)
      at++;
  } else {
    at = lower_bound(m, flow, stage, key_prefix, NULL);
  }
  for (; at < m->count && page->count < max; at++) {
    const struct memory_item *it = m->items[at];
    if (strcmp(it->flow, flow) || strcmp(it->stage, stage) || !has_prefix(it->key, key_prefix, n))
      break;
    if (state_page_push(page, it->flow, it->stage, it->key, it->value, it->version, it->expires))
      return no_memory(st);
  }
  return STATE_OK;
}

static int compare_expiry(const struct memory_item *a, const struct memory_item *b)
{
  if (a->expires != b->expires)
    return a->expires < b->expires ? -1 : 1;
  return compare_names(a->flow, a->stage, a->key, b);
}

static int compare_expiry_qsort(const void *a, const void *b)
{
  return compare_expiry(*(struct memory_item *const *)a, *(struct memory_item *const *)b);
}

/* Collect every candidate, sort by expiry, hand out the first max: linear
 * per page, plenty for a store that lives in a test. */
static enum state_status memory_expired_page(struct state_store *st, int64_t now_ms,
                                             const struct state_item *after, size_t max,
                                             struct state_page *page)
{
  struct memory_store *m = ctx(st);
  struct memory_item cursor = {0};
  if (after)
    cursor = (struct memory_item){(char *)after->flow, (char *)after->stage, (char *)after->key,
                                  NULL, 0, after->expires};
  struct memory_item **pick = malloc((m->count ? m->count : 1) * sizeof *pick);
  if (!pick)
    return no_memory(st);
  size_t n = 0;
  for (size_t i = 0; i < m->count; i++) {
    struct memory_item *it = m->items[i];
    if (it->expires <= 0 || it->expires > now_ms)
      continue;
    if (after && compare_expiry(it, &cursor) <= 0)
      continue;
    pick[n++] = it;
  }
  qsort(pick, n, sizeof *pick, compare_expiry_qsort);
  enum state_status s = STATE_OK;
  for (size_t i = 0; i < n && i < max; i++) {
    const struct memory_item *it = pick[i];
    if (state_page_push(page, it->flow, it->stage, it->key, it->value, it->version,
                        it->expires)) {
      s = no_memory(st);
      break;
    }
  }
  free(pick);
  return s;
}

/* ---- metadata ---------------------------------------------------------------------- */

static enum state_status memory_meta_get(struct state_store *st, const char *name, char **value)
{
  struct memory_store *m = ctx(st);
  int found;
  size_t at = meta_lower_bound(m, name, &found);
  if (!found)
    return STATE_NOT_FOUND;
  if (value && !(*value = strdup(m->metas[at]->value)))
    return no_memory(st);
  return STATE_OK;
}

static enum state_status memory_meta_put(struct state_store *st, const char *name,
                                         const char *value)
{
  struct memory_store *m = ctx(st);
  int found;
  size_t at = meta_lower_bound(m, name, &found);
  char *copy = strdup(value);
  if (!copy || reserve_undo(m))
    goto nomem;
  if (found) {
    struct memory_meta *e = m->metas[at];
    if (m->in_transaction)
      push_undo(m, UNDO_META_CHANGED, e, e->value, 0, 0);
    else
      free(e->value);
    e->value = copy;
    return STATE_OK;
  }
  struct memory_meta *e = malloc(sizeof *e);
  if (!e)
    goto nomem;
  if (!(e->name = strdup(name)) ||
      reserve((void **)&m->metas, &m->meta_capacity, m->meta_count, sizeof *m->metas)) {
    free(e->name);
    free(e);
    goto nomem;
  }
  e->value = copy;
  memmove(&m->metas[at + 1], &m->metas[at], (m->meta_count - at) * sizeof *m->metas);
  m->metas[at] = e;
  m->meta_count++;
  if (m->in_transaction)
    push_undo(m, UNDO_META_CREATED, e, NULL, 0, 0);
  return STATE_OK;
nomem:
  free(copy);
  return no_memory(st);
}

/* ---- open and close -------------------------------------------------------------- */

static void memory_close(struct state_store *st)
{
  struct memory_store *m = ctx(st);
  for (size_t i = 0; i < m->count; i++)
    free_item(m->items[i]);
  for (size_t i = 0; i < m->meta_count; i++)
    free_meta(m->metas[i]);
  free(m->items);
  free(m->metas);
  free(m->undo);
  free(m);
}

static const struct state_backend memory_backend = {
  .name = "memory",
  .close = memory_close,
  .begin = memory_begin,
  .commit = memory_commit,
  .rollback = memory_rollback,
  .get = memory_get,
  .put = memory_put,
  .add = NULL,   /* the front's get + put in a transaction is atomic here */
  .delete_item = memory_delete,
  .scan_page = memory_scan_page,
  .expired_page = memory_expired_page,
  .meta_get = memory_meta_get,
  .meta_put = memory_meta_put,
};

struct state_store *state_open_memory(void)
{
  struct memory_store *m = calloc(1, sizeof *m);
  if (!m)
    return NULL;
  struct state_store *st = state_store_new(&memory_backend, m);
  if (!st)
    free(m);
  return st;
}
