/* NCBI taxonomy tree (nodes.dmp): id -> parent, children lists, descendant tests and expansion. */
#include "fantasia/taxonomy.h"

#include "seqio/textio.h"

#include <stdlib.h>
#include <string.h>

/* open-addressing map int64 tax id -> node index */
typedef struct {
  int64_t *keys; /* -1 = empty (tax ids are >= 0) */
  int32_t *vals;
  size_t cap, n;
} id_map;

static uint64_t hash_id(int64_t k) {
  uint64_t x = (uint64_t)k * 0x9e3779b97f4a7c15ull;
  return x ^ (x >> 29);
}

static int map_grow(id_map *m) {
  size_t nc = m->cap ? m->cap * 2 : 1024;
  int64_t *nk = malloc(nc * sizeof *nk);
  int32_t *nv = malloc(nc * sizeof *nv);
  if (!nk || !nv) {
    free(nk);
    free(nv);
    return -1;
  }
  for (size_t i = 0; i < nc; i++)
    nk[i] = -1;
  for (size_t i = 0; i < m->cap; i++) {
    if (m->keys[i] < 0) continue;
    size_t j = (size_t)hash_id(m->keys[i]) & (nc - 1);
    while (nk[j] >= 0)
      j = (j + 1) & (nc - 1);
    nk[j] = m->keys[i];
    nv[j] = m->vals[i];
  }
  free(m->keys);
  free(m->vals);
  m->keys = nk;
  m->vals = nv;
  m->cap = nc;
  return 0;
}

static int32_t map_get(const id_map *m, int64_t k) {
  if (!m->cap || k < 0) return -1;
  for (size_t i = (size_t)hash_id(k) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
    if (m->keys[i] == k) return m->vals[i];
    if (m->keys[i] < 0) return -1;
  }
}

/* -2 oom, -1 inserted, else existing value */
static int32_t map_put(id_map *m, int64_t k, int32_t v) {
  if ((m->n + 1) * 2 > m->cap && map_grow(m) != 0) return -2;
  for (size_t i = (size_t)hash_id(k) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
    if (m->keys[i] == k) return m->vals[i];
    if (m->keys[i] < 0) {
      m->keys[i] = k;
      m->vals[i] = v;
      m->n++;
      return -1;
    }
  }
}

struct fc_taxonomy {
  int64_t *id;     /* node -> tax id */
  int64_t *pid;    /* node -> parent tax id (while loading) */
  int32_t *parent; /* node -> parent node (root: itself) */
  size_t *line;    /* node -> line in the file */
  int32_t *cstart; /* children CSR: cstart[n+1] */
  int32_t *clist;
  size_t n, cap;
  id_map map;
};

void fc_taxonomy_free(fc_taxonomy *t) {
  if (!t) return;
  free(t->id);
  free(t->pid);
  free(t->parent);
  free(t->line);
  free(t->cstart);
  free(t->clist);
  free(t->map.keys);
  free(t->map.vals);
  free(t);
}

/* Parses a non-negative decimal integer at *p; advances *p. */
static int parse_id(const char **p, int64_t *v) {
  const char *s = *p;
  int64_t x = 0;
  int nd = 0;
  while (*s >= '0' && *s <= '9') {
    if (x > (INT64_MAX - 9) / 10) return -1;
    x = x * 10 + (*s - '0');
    s++;
    nd++;
  }
  if (!nd) return -1;
  *p = s;
  *v = x;
  return 0;
}

static fc_status add_node(fc_taxonomy *t, int64_t id, int64_t pid, size_t line, const char *path,
                          fc_error *err) {
  if (t->n == t->cap) {
    size_t nc = t->cap ? t->cap * 2 : 4096;
    int64_t *a = realloc(t->id, nc * sizeof *a);
    if (a) t->id = a;
    int64_t *b = realloc(t->pid, nc * sizeof *b);
    if (b) t->pid = b;
    size_t *c = realloc(t->line, nc * sizeof *c);
    if (c) t->line = c;
    if (!a || !b || !c) return fc_error_set(err, FC_ENOMEM, "%s: out of memory", path);
    t->cap = nc;
  }
  if (t->n >= (size_t)INT32_MAX) return fc_error_set(err, FC_EUNSUPPORTED, "%s: too many nodes", path);
  int32_t prev = map_put(&t->map, id, (int32_t)t->n);
  if (prev == -2) return fc_error_set(err, FC_ENOMEM, "%s: out of memory", path);
  if (prev >= 0)
    return fc_error_set(err, FC_EDUPLICATE, "%s: tax_id %lld appears at lines %zu and %zu", path,
                        (long long)id, t->line[prev], line);
  t->id[t->n] = id;
  t->pid[t->n] = pid;
  t->line[t->n] = line;
  t->n++;
  return FC_OK;
}

static fc_status build(fc_taxonomy *t, const char *path, fc_error *err) {
  size_t n = t->n;
  t->parent = malloc((n ? n : 1) * sizeof *t->parent);
  t->cstart = calloc(n + 1, sizeof *t->cstart);
  if (!t->parent || !t->cstart) return fc_error_set(err, FC_ENOMEM, "%s: out of memory", path);
  for (size_t i = 0; i < n; i++) {
    int32_t p = map_get(&t->map, t->pid[i]);
    if (p < 0)
      return fc_error_set(err, FC_EFORMAT, "%s:%zu: parent %lld of tax_id %lld is not in the file", path,
                          t->line[i], (long long)t->pid[i], (long long)t->id[i]);
    t->parent[i] = p;
    if ((size_t)p != i) t->cstart[p + 1]++;
  }
  for (size_t i = 0; i < n; i++)
    t->cstart[i + 1] += t->cstart[i];
  t->clist = malloc(((size_t)t->cstart[n] ? (size_t)t->cstart[n] : 1) * sizeof *t->clist);
  int32_t *fill = malloc((n ? n : 1) * sizeof *fill);
  if (!t->clist || !fill) {
    free(fill);
    return fc_error_set(err, FC_ENOMEM, "%s: out of memory", path);
  }
  memcpy(fill, t->cstart, n * sizeof *fill);
  for (size_t i = 0; i < n; i++)
    if ((size_t)t->parent[i] != i) t->clist[fill[t->parent[i]]++] = (int32_t)i;
  free(fill);
  /* cycle check: walk up from each node; state 0 new, i+1 on the current walk, -1 known to reach a root */
  int32_t *state = calloc(n ? n : 1, sizeof *state);
  if (!state) return fc_error_set(err, FC_ENOMEM, "%s: out of memory", path);
  for (size_t i = 0; i < n; i++) {
    size_t j = i;
    while (state[j] == 0) {
      state[j] = (int32_t)i + 1;
      if ((size_t)t->parent[j] == j) break;
      j = (size_t)t->parent[j];
    }
    if (state[j] == (int32_t)i + 1 && (size_t)t->parent[j] != j) {
      fc_status rc = fc_error_set(err, FC_EFORMAT, "%s:%zu: tax_id %lld lies on a parent cycle", path,
                                  t->line[j], (long long)t->id[j]);
      free(state);
      return rc;
    }
    /* mark the walked path as finished */
    for (size_t k = i; state[k] == (int32_t)i + 1; k = (size_t)t->parent[k]) {
      state[k] = -1;
      if ((size_t)t->parent[k] == k) break;
    }
  }
  free(state);
  free(t->pid);
  t->pid = NULL;
  return FC_OK;
}

fc_status fc_taxonomy_load(const char *path, fc_taxonomy **out, fc_error *err) {
  *out = NULL;
  fc_taxonomy *t = calloc(1, sizeof *t);
  if (!t) return fc_error_set(err, FC_ENOMEM, "out of memory");
  fc_lines *lr = NULL;
  fc_status rc = fc_lines_open(path, &lr, err);
  while (rc == FC_OK) {
    char *line;
    size_t len;
    int r = fc_lines_next(lr, &line, &len, err);
    if (r < 0) {
      rc = err ? err->code : FC_EFORMAT;
      break;
    }
    if (r == 0) break;
    size_t ln = fc_lines_lineno(lr);
    if (len == 0 || strspn(line, " \t") == len) continue;
    const char *p = line;
    int64_t id, pid;
    if (parse_id(&p, &id) != 0 || strncmp(p, "\t|\t", 3) != 0 || (p += 3, parse_id(&p, &pid) != 0) ||
        strncmp(p, "\t|", 2) != 0 || (p[2] != '\0' && p[2] != '\t')) {
      rc = fc_error_set(err, FC_EFORMAT,
                        "%s:%zu: expected 'tax_id<TAB>|<TAB>parent_tax_id<TAB>|...', got '%.*s'", path, ln,
                        (int)(len > 40 ? 40 : len), line);
      break;
    }
    rc = add_node(t, id, pid, ln, path, err);
  }
  fc_lines_close(lr);
  if (rc == FC_OK && t->n == 0) rc = fc_error_set(err, FC_EFORMAT, "%s: no taxonomy nodes", path);
  if (rc == FC_OK) rc = build(t, path, err);
  if (rc != FC_OK) {
    fc_taxonomy_free(t);
    return rc;
  }
  *out = t;
  return FC_OK;
}

size_t fc_taxonomy_count(const fc_taxonomy *t) {
  return t ? t->n : 0;
}

int fc_taxonomy_contains(const fc_taxonomy *t, int64_t tax) {
  return t && map_get(&t->map, tax) >= 0;
}

int64_t fc_taxonomy_parent(const fc_taxonomy *t, int64_t tax) {
  int32_t i = t ? map_get(&t->map, tax) : -1;
  return i < 0 ? -1 : t->id[t->parent[i]];
}

int fc_taxonomy_is_descendant(const fc_taxonomy *t, int64_t tax, int64_t ancestor) {
  if (tax == ancestor) return 1;
  int32_t i = t ? map_get(&t->map, tax) : -1;
  int32_t a = t ? map_get(&t->map, ancestor) : -1;
  if (i < 0 || a < 0) return 0;
  while (t->parent[i] != i) { /* the tree is acyclic (checked at load) */
    i = t->parent[i];
    if (i == a) return 1;
  }
  return 0;
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

fc_status fc_taxonomy_expand(const fc_taxonomy *t, const int64_t *ids, size_t n, int64_t **out,
                             size_t *n_out) {
  *out = NULL;
  *n_out = 0;
  size_t nn = t ? t->n : 0;
  unsigned char *seen = calloc(nn ? nn : 1, 1);
  int32_t *stack = malloc((nn ? nn : 1) * sizeof *stack);
  size_t cap = n + 16, m = 0;
  int64_t *res = malloc(cap * sizeof *res);
  if (!seen || !stack || !res) goto nomem;
  for (size_t k = 0; k < n; k++) {
    int32_t r = t ? map_get(&t->map, ids[k]) : -1;
    if (r < 0) { /* unknown id: itself only */
      if (m == cap) {
        int64_t *nr = realloc(res, (cap *= 2) * sizeof *res);
        if (!nr) goto nomem;
        res = nr;
      }
      res[m++] = ids[k];
      continue;
    }
    if (seen[r]) continue;
    size_t sp = 0;
    stack[sp++] = r;
    seen[r] = 1;
    while (sp) {
      int32_t v = stack[--sp];
      if (m == cap) {
        int64_t *nr = realloc(res, (cap *= 2) * sizeof *res);
        if (!nr) goto nomem;
        res = nr;
      }
      res[m++] = t->id[v];
      for (int32_t c = t->cstart[v]; c < t->cstart[v + 1]; c++) {
        int32_t ch = t->clist[c];
        if (!seen[ch]) {
          seen[ch] = 1;
          stack[sp++] = ch;
        }
      }
    }
  }
  free(seen);
  free(stack);
  qsort(res, m, sizeof *res, cmp_i64);
  size_t u = 0;
  for (size_t i = 0; i < m; i++)
    if (u == 0 || res[u - 1] != res[i]) res[u++] = res[i];
  if (u == 0) {
    free(res);
    res = NULL;
  }
  *out = res;
  *n_out = u;
  return FC_OK;
nomem:
  free(seen);
  free(stack);
  free(res);
  return FC_ENOMEM;
}
