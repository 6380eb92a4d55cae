/* Raw result table: rows of fixed-size structs + an interning string pool (open addressing). */
#include "summarize_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint64_t hash_bytes(const char *s, size_t n) {
  uint64_t h = 1469598103934665603ull; /* FNV-1a 64 */
  for (size_t i = 0; i < n; i++) {
    h ^= (unsigned char)s[i];
    h *= 1099511628211ull;
  }
  return h ^ (h >> 29);
}

fc_raw_table *fc_raw_table_new(void) {
  fc_raw_table *t = calloc(1, sizeof *t);
  if (!t) return NULL;
  if (fc_raw_table_intern(t, "") != 0) {
    fc_raw_table_free(t);
    return NULL;
  }
  return t;
}

void fc_raw_table_free(fc_raw_table *t) {
  if (!t) return;
  free(t->pool);
  free(t->offs);
  free(t->lens);
  free(t->slots);
  free(t->rows);
  free(t);
}

static int rehash(fc_raw_table *t, size_t cap) {
  uint32_t *slots = malloc(cap * sizeof *slots);
  if (!slots) return -1;
  for (size_t i = 0; i < cap; i++)
    slots[i] = UINT32_MAX;
  for (size_t id = 0; id < t->nstr; id++) {
    uint64_t h = hash_bytes(t->pool + t->offs[id], t->lens[id]);
    size_t j = (size_t)h & (cap - 1);
    while (slots[j] != UINT32_MAX)
      j = (j + 1) & (cap - 1);
    slots[j] = (uint32_t)id;
  }
  free(t->slots);
  t->slots = slots;
  t->slot_cap = cap;
  return 0;
}

uint32_t fc_raw_table_intern_n(fc_raw_table *t, const char *s, size_t n) {
  if (!s) {
    s = "";
    n = 0;
  }
  if ((t->nstr + 1) * 2 > t->slot_cap) {
    if (rehash(t, t->slot_cap ? t->slot_cap * 2 : 1024) != 0) return UINT32_MAX;
  }
  uint64_t h = hash_bytes(s, n);
  size_t j = (size_t)h & (t->slot_cap - 1);
  while (t->slots[j] != UINT32_MAX) {
    uint32_t id = t->slots[j];
    if (t->lens[id] == n && memcmp(t->pool + t->offs[id], s, n) == 0) return id;
    j = (j + 1) & (t->slot_cap - 1);
  }
  if (t->nstr >= UINT32_MAX - 1) return UINT32_MAX;
  if (t->nstr == t->str_cap) {
    size_t cap = t->str_cap ? t->str_cap * 2 : 1024;
    size_t *o = realloc(t->offs, cap * sizeof *o);
    if (!o) return UINT32_MAX;
    t->offs = o;
    uint32_t *l = realloc(t->lens, cap * sizeof *l);
    if (!l) return UINT32_MAX;
    t->lens = l;
    t->str_cap = cap;
  }
  if (t->pool_len + n + 1 > t->pool_cap) {
    size_t cap = t->pool_cap ? t->pool_cap : 65536;
    while (cap < t->pool_len + n + 1)
      cap *= 2;
    char *p = realloc(t->pool, cap);
    if (!p) return UINT32_MAX;
    t->pool = p;
    t->pool_cap = cap;
  }
  memcpy(t->pool + t->pool_len, s, n);
  t->pool[t->pool_len + n] = '\0';
  uint32_t id = (uint32_t)t->nstr;
  t->offs[id] = t->pool_len;
  t->lens[id] = (uint32_t)n;
  t->pool_len += n + 1;
  t->nstr++;
  t->slots[j] = id;
  return id;
}

uint32_t fc_raw_table_intern(fc_raw_table *t, const char *s) {
  return fc_raw_table_intern_n(t, s, s ? strlen(s) : 0);
}

const char *fc_raw_table_str(const fc_raw_table *t, uint32_t id) {
  if (!t || id >= t->nstr) return "";
  return t->pool + t->offs[id];
}

size_t fc_raw_table_nstrings(const fc_raw_table *t) {
  return t->nstr;
}

fc_status fc_raw_table_append(fc_raw_table *t, const fc_raw_row *row, fc_error *err) {
  const uint32_t ids[] = {row->accession,         row->model_name,         row->go_id,
                          row->category,          row->evidence_code,      row->go_description,
                          row->protein_id,        row->organism,           row->gene_name,
                          row->sequence_query,    row->sequence_reference, row->distance_metric,
                          row->distance_threshold};
  for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
    if (ids[i] >= t->nstr)
      return fc_error_set(err, FC_EINVAL,
                          "raw table: row %zu has string id %u outside the pool (%zu strings)", t->nrows,
                          ids[i], t->nstr);
  if (t->nrows == t->row_cap) {
    size_t cap = t->row_cap ? t->row_cap * 2 : 1024;
    fc_raw_row *r = realloc(t->rows, cap * sizeof *r);
    if (!r) return fc_error_set(err, FC_ENOMEM, "raw table: out of memory at row %zu", t->nrows);
    t->rows = r;
    t->row_cap = cap;
  }
  t->rows[t->nrows++] = *row;
  return FC_OK;
}

size_t fc_raw_table_size(const fc_raw_table *t) {
  return t ? t->nrows : 0;
}

fc_raw_row *fc_raw_table_row(fc_raw_table *t, size_t i) {
  return i < t->nrows ? &t->rows[i] : NULL;
}

const fc_raw_row *fc_raw_table_row_const(const fc_raw_table *t, size_t i) {
  return i < t->nrows ? &t->rows[i] : NULL;
}

double fc_reliability_index(const char *metric, double d) {
  if (metric && strcmp(metric, "cosine") == 0) return 1.0 - d;
  if (metric && strcmp(metric, "euclidean") == 0) return 0.5 / (0.5 + d);
  return 1.0 / (1.0 + d);
}

/* Rank of every string id in byte order (strcmp); equal strings have equal ids, so ranks are unique.
 * glibc qsort_r (_GNU_SOURCE is defined project-wide). */
static int cmp_ids(const void *a, const void *b, void *arg) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  const fc_raw_table *t = arg;
  size_t lx = t->lens[x], ly = t->lens[y];
  int c = memcmp(t->pool + t->offs[x], t->pool + t->offs[y], lx < ly ? lx : ly);
  if (c) return c;
  return lx < ly ? -1 : lx > ly;
}

uint32_t *fc__string_ranks(const fc_raw_table *t, const size_t *fields, int nfields) {
  size_t n = t->nstr ? t->nstr : 1;
  uint32_t *ids = malloc(n * sizeof *ids);
  uint32_t *rank = malloc(n * sizeof *rank);
  if (!ids || !rank) {
    free(ids);
    free(rank);
    return NULL;
  }
  /* rank doubles as the "used" mark before the sort */
  for (size_t i = 0; i < t->nstr; i++)
    rank[i] = UINT32_MAX;
  for (size_t r = 0; r < t->nrows; r++)
    for (int f = 0; f < nfields; f++)
      rank[*(const uint32_t *)((const char *)&t->rows[r] + fields[f])] = 0;
  size_t m = 0;
  for (size_t i = 0; i < t->nstr; i++)
    if (rank[i] == 0) ids[m++] = (uint32_t)i;
  qsort_r(ids, m, sizeof *ids, cmp_ids, (void *)t);
  for (size_t i = 0; i < m; i++)
    rank[ids[i]] = (uint32_t)i;
  free(ids);
  return rank;
}
