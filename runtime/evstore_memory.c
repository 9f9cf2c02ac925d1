/* evstore_memory.c — the Event Store in memory, for tests and throw-away
 * servers (`efc serve --store :memory:`).
 *
 * Items are an array sorted by (PK, SK).  A transaction collects its writes
 * in its own list (reads look there first) and applies them all at commit
 * under the lock, so readers never see a transaction half done.  One write
 * transaction at a time (the `writer` mutex), as in the SQLite backend.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "evstore.h"

struct memory_store {
  pthread_mutex_t lock;       /* guards items, next_seq, generation */
  pthread_mutex_t writer;     /* held from begin to commit/rollback */
  struct evstore_list items;  /* sorted by (pk, sk) */
  int64_t next_seq, generation;
};

/* A pending write: the item, or a deletion (item.schema etc. unused). */
struct pending {
  struct evstore_item item;
  int deleted;
};

struct memory_txn {
  struct pending *writes;
  size_t count, cap;
};

static int compare_key(const char *pk1, const char *sk1, const char *pk2, const char *sk2) {
  int c = strcmp(pk1, pk2);
  return c ? c : strcmp(sk1, sk2);
}

/* Index of (pk, sk), or where it would go (*found = 0). */
static size_t find(const struct evstore_list *l, const char *pk, const char *sk, int *found) {
  size_t lo = 0, hi = l->count;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = compare_key(l->items[mid].pk, l->items[mid].sk, pk, sk);
    if (c == 0) {
      *found = 1;
      return mid;
    }
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  *found = 0;
  return lo;
}

static struct pending *pending_find(struct memory_txn *t, const char *pk, const char *sk) {
  for (size_t i = t ? t->count : 0; i-- > 0;)
    if (compare_key(t->writes[i].item.pk, t->writes[i].item.sk, pk, sk) == 0) return &t->writes[i];
  return NULL;
}

static void txn_free(struct memory_txn *t) {
  for (size_t i = 0; i < t->count; i++) evstore_item_free(&t->writes[i].item);
  free(t->writes);
  free(t);
}

/* ---- callbacks ---------------------------------------------------------- */

static void mem_close(void *ctx) {
  struct memory_store *m = ctx;
  evstore_list_free(&m->items);
  pthread_mutex_destroy(&m->lock);
  pthread_mutex_destroy(&m->writer);
  free(m);
}

static enum evstore_status mem_begin(void *ctx, void **txn) {
  struct memory_store *m = ctx;
  struct memory_txn *t = calloc(1, sizeof *t);
  if (!t) return evstore_fail(EVSTORE_NOMEM, "out of memory");
  pthread_mutex_lock(&m->writer);
  *txn = t;
  return EVSTORE_OK;
}

static void mem_rollback(void *ctx, void *txn) {
  struct memory_store *m = ctx;
  txn_free(txn);
  pthread_mutex_unlock(&m->writer);
}

/* Applies one write to the sorted array (the lock is held).  Takes the
 * item's strings.  0 or -1 (out of memory). */
static int apply(struct memory_store *m, struct pending *p) {
  int found;
  size_t at = find(&m->items, p->item.pk, p->item.sk, &found);
  if (p->deleted) {
    if (found) {
      evstore_item_free(&m->items.items[at]);
      memmove(&m->items.items[at], &m->items.items[at + 1], (m->items.count - at - 1) * sizeof *m->items.items);
      m->items.count--;
    }
    evstore_item_free(&p->item);
    return 0;
  }
  if (found) {
    p->item.seq = m->items.items[at].seq;
    evstore_item_free(&m->items.items[at]);
    m->items.items[at] = p->item;
  } else {
    p->item.seq = ++m->next_seq;
    memmove(&m->items.items[at + 1], &m->items.items[at], (m->items.count - at) * sizeof *m->items.items);
    m->items.items[at] = p->item;
    m->items.count++;
  }
  memset(&p->item, 0, sizeof p->item);
  return 0;
}

static enum evstore_status mem_commit(void *ctx, void *txn) {
  struct memory_store *m = ctx;
  struct memory_txn *t = txn;
  pthread_mutex_lock(&m->lock);
  /* Room for every insertion first, so applying cannot fail half way. */
  size_t need = m->items.count + t->count;
  if (need > m->items.cap) {
    struct evstore_item *items = realloc(m->items.items, need * sizeof *items);
    if (!items) {
      pthread_mutex_unlock(&m->lock);
      mem_rollback(ctx, txn);
      return evstore_fail(EVSTORE_NOMEM, "out of memory");
    }
    m->items.items = items;
    m->items.cap = need;
  }
  for (size_t i = 0; i < t->count; i++) apply(m, &t->writes[i]);
  if (t->count) m->generation++;
  pthread_mutex_unlock(&m->lock);
  txn_free(t);
  pthread_mutex_unlock(&m->writer);
  return EVSTORE_OK;
}

static enum evstore_status mem_get(void *ctx, void *txn, const char *pk, const char *sk, struct evstore_item *out) {
  struct memory_store *m = ctx;
  struct pending *p = pending_find(txn, pk, sk);
  if (p) {
    if (p->deleted) return evstore_fail(EVSTORE_NOT_FOUND, "no item %s/%s", pk, sk);
    return evstore_item_copy(out, &p->item) == 0 ? EVSTORE_OK : evstore_fail(EVSTORE_NOMEM, "out of memory");
  }
  pthread_mutex_lock(&m->lock);
  int found;
  size_t at = find(&m->items, pk, sk, &found);
  int rc = found ? evstore_item_copy(out, &m->items.items[at]) : 0;
  pthread_mutex_unlock(&m->lock);
  if (!found) return evstore_fail(EVSTORE_NOT_FOUND, "no item %s/%s", pk, sk);
  return rc == 0 ? EVSTORE_OK : evstore_fail(EVSTORE_NOMEM, "out of memory");
}

static int by_key(const void *a, const void *b) {
  const struct evstore_item *x = a, *y = b;
  return compare_key(x->pk, x->sk, y->pk, y->sk);
}

static enum evstore_status mem_list(void *ctx, void *txn, const char *pk, struct evstore_list *out) {
  struct memory_store *m = ctx;
  struct memory_txn *t = txn;
  size_t first = out->count;
  int oom = 0;
  pthread_mutex_lock(&m->lock);
  for (size_t i = 0; i < m->items.count && !oom; i++) {
    const struct evstore_item *it = &m->items.items[i];
    if ((pk && strcmp(it->pk, pk) != 0) || pending_find(t, it->pk, it->sk)) continue;
    oom = evstore_list_push(out, it) != 0;
  }
  pthread_mutex_unlock(&m->lock);
  /* The transaction's own writes (the last write of a key wins). */
  for (size_t i = 0; t && i < t->count && !oom; i++) {
    const struct pending *p = &t->writes[i];
    if (p->deleted || (pk && strcmp(p->item.pk, pk) != 0) || pending_find(t, p->item.pk, p->item.sk) != p) continue;
    oom = evstore_list_push(out, &p->item) != 0;
  }
  if (oom) return evstore_fail(EVSTORE_NOMEM, "out of memory");
  if (t && out->count > first) qsort(out->items + first, out->count - first, sizeof *out->items, by_key);
  return EVSTORE_OK;
}

static int item_exists(struct memory_store *m, struct memory_txn *t, const char *pk, const char *sk) {
  struct pending *p = pending_find(t, pk, sk);
  if (p) return !p->deleted;
  pthread_mutex_lock(&m->lock);
  int found;
  find(&m->items, pk, sk, &found);
  pthread_mutex_unlock(&m->lock);
  return found;
}

static enum evstore_status add_pending(struct memory_txn *t, const struct evstore_item *item, const char *pk,
                                       const char *sk, int deleted) {
  if (t->count == t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 8;
    struct pending *w = realloc(t->writes, cap * sizeof *w);
    if (!w) return evstore_fail(EVSTORE_NOMEM, "out of memory");
    t->writes = w;
    t->cap = cap;
  }
  struct pending *p = &t->writes[t->count];
  memset(p, 0, sizeof *p);
  p->deleted = deleted;
  int rc = item ? evstore_item_copy(&p->item, item)
                : (p->item.pk = strdup(pk)) && (p->item.sk = strdup(sk)) ? 0 : -1;
  if (rc != 0) {
    evstore_item_free(&p->item);
    return evstore_fail(EVSTORE_NOMEM, "out of memory");
  }
  t->count++;
  return EVSTORE_OK;
}

static enum evstore_status mem_put(void *ctx, void *txn, const struct evstore_item *item, enum evstore_cond cond) {
  int exists = item_exists(ctx, txn, item->pk, item->sk);
  if (exists && cond == EVSTORE_MUST_NOT_EXIST) return evstore_fail(EVSTORE_EXISTS, "%s/%s exists", item->pk, item->sk);
  if (!exists && cond == EVSTORE_MUST_EXIST) return evstore_fail(EVSTORE_NOT_FOUND, "no item %s/%s", item->pk, item->sk);
  return add_pending(txn, item, NULL, NULL, 0);
}

static enum evstore_status mem_delete(void *ctx, void *txn, const char *pk, const char *sk) {
  if (!item_exists(ctx, txn, pk, sk)) return evstore_fail(EVSTORE_NOT_FOUND, "no item %s/%s", pk, sk);
  return add_pending(txn, NULL, pk, sk, 1);
}

static enum evstore_status mem_generation(void *ctx, void *txn, int64_t *generation) {
  (void)txn;
  struct memory_store *m = ctx;
  pthread_mutex_lock(&m->lock);
  *generation = m->generation;
  pthread_mutex_unlock(&m->lock);
  return EVSTORE_OK;
}

static const struct evstore_backend memory_backend = {
  .name = "memory",
  .close = mem_close,
  .begin = mem_begin,
  .commit = mem_commit,
  .rollback = mem_rollback,
  .get = mem_get,
  .list = mem_list,
  .put = mem_put,
  .delete_item = mem_delete,
  .generation = mem_generation,
};

struct evstore *evstore_open_memory(void) {
  struct memory_store *m = calloc(1, sizeof *m);
  if (!m) return NULL;
  pthread_mutex_init(&m->lock, NULL);
  pthread_mutex_init(&m->writer, NULL);
  struct evstore *st = evstore_new(&memory_backend, m);
  if (!st) mem_close(m);
  return st;
}
