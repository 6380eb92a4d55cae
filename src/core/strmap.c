/* A minimal string-keyed hash map: no Debian C library offers a plain string->integer map
 * without pulling in a framework (glib), and the needs here are tiny (dedup of sequences,
 * accession lookups). */
#include <stdlib.h>
#include <string.h>

#include "fantasia/core.h"

uint64_t fc_hash_bytes(const void *data, size_t len) {
  const unsigned char *p = data;
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < len; i++) {
    h ^= p[i];
    h *= 1099511628211ull;
  }
  h ^= h >> 29;
  return h;
}

fc_status fc_strmap_init(fc_strmap *m, size_t expected) {
  memset(m, 0, sizeof *m);
  size_t cap = 16;
  while (cap < expected * 2 + 1)
    cap <<= 1;
  m->keys = calloc(cap, sizeof *m->keys);
  m->lens = calloc(cap, sizeof *m->lens);
  m->vals = calloc(cap, sizeof *m->vals);
  if (!m->keys || !m->lens || !m->vals) {
    fc_strmap_free(m);
    return FC_ENOMEM;
  }
  m->cap = cap;
  return FC_OK;
}

void fc_strmap_free(fc_strmap *m) {
  free(m->keys);
  free(m->lens);
  free(m->vals);
  memset(m, 0, sizeof *m);
}

static size_t find_slot(const fc_strmap *m, const char *key, size_t len, int *found) {
  size_t mask = m->cap - 1, i = (size_t)fc_hash_bytes(key, len) & mask;
  for (;;) {
    if (!m->keys[i]) {
      *found = 0;
      return i;
    }
    if (m->lens[i] == len && memcmp(m->keys[i], key, len) == 0) {
      *found = 1;
      return i;
    }
    i = (i + 1) & mask;
  }
}

static int grow(fc_strmap *m) {
  fc_strmap n;
  if (fc_strmap_init(&n, m->cap) != FC_OK) return -1; /* cap*2+1 -> next power of two = 2*cap... */
  for (size_t i = 0; i < m->cap; i++)
    if (m->keys[i]) {
      int f;
      size_t s = find_slot(&n, m->keys[i], m->lens[i], &f);
      n.keys[s] = m->keys[i];
      n.lens[s] = m->lens[i];
      n.vals[s] = m->vals[i];
      n.n++;
    }
  fc_strmap_free(m);
  *m = n;
  return 0;
}

int fc_strmap_put(fc_strmap *m, const char *key, size_t len, int64_t val, int64_t *existing) {
  if ((m->n + 1) * 2 > m->cap && grow(m) != 0) return -1;
  int found;
  size_t s = find_slot(m, key, len, &found);
  if (found) {
    if (existing) *existing = m->vals[s];
    return 0;
  }
  m->keys[s] = key;
  m->lens[s] = len;
  m->vals[s] = val;
  m->n++;
  return 1;
}

int fc_strmap_get(const fc_strmap *m, const char *key, size_t len, int64_t *val) {
  if (!m->cap) return 0;
  int found;
  size_t s = find_slot(m, key, len, &found);
  if (found && val) *val = m->vals[s];
  return found;
}
