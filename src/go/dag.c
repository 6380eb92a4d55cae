/* GO semantics: one DAG per namespace (CAFA-evaluator 1.2.1 rules), ancestors, propagation, leaf
 * reduction and information accretion. Rules in include/fantasia/go.h and docs/evaluation.md. */
#include "fantasia/go.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  char *name;
  size_t n;
  int32_t *global;          /* local -> global fc_go index */
  size_t *par_off, *ch_off; /* CSR, n + 1 */
  int32_t *par, *ch;
  int32_t *order, *rank; /* topological order (leaves first) and rank of each term */
} ns_dag;

struct fc_ontology {
  ns_dag *ns;
  size_t n_ns;
  size_t n_global;
  int32_t *g_ns, *g_local; /* global -> namespace / local (-1 when dropped) */
  int32_t *g_repl;         /* global obsolete -> global live replacement, -1 */
  const fc_go *go;         /* borrowed: ids, alt_ids */
  int replace_obsolete;
  fc_ontology_stats st;
};

struct fc_go_ws {
  size_t cap;
  uint32_t stamp;
  uint32_t *mark;
  double *own, *cmax;
  int32_t *stack;
  uint64_t *keys;
  size_t keys_cap;
};

static int dropped_namespace(const char *ns) {
  return !ns || !*ns || strcmp(ns, "external") == 0;
}

void fc_ontology_free(fc_ontology *o) {
  if (!o) return;
  for (size_t i = 0; i < o->n_ns; i++) {
    ns_dag *d = &o->ns[i];
    free(d->name);
    free(d->global);
    free(d->par_off);
    free(d->ch_off);
    free(d->par);
    free(d->ch);
    free(d->order);
    free(d->rank);
  }
  free(o->ns);
  free(o->g_ns);
  free(o->g_local);
  free(o->g_repl);
  free(o);
}

static int add_parent(int32_t *list, size_t *n, int32_t p) {
  for (size_t i = 0; i < *n; i++)
    if (list[i] == p) return 0;
  list[(*n)++] = p;
  return 1;
}

fc_status fc_ontology_build(const fc_go *go, const fc_ontology_opts *opts, fc_ontology **out, fc_error *err) {
  *out = NULL;
  fc_ontology *o = calloc(1, sizeof *o);
  if (!o) return fc_error_set(err, FC_ENOMEM, "ontology: out of memory");
  o->replace_obsolete = opts ? opts->replace_obsolete : 0;
  size_t G = fc_go_count(go);
  o->n_global = G;
  o->g_ns = malloc((G + 1) * sizeof(int32_t));
  o->g_local = malloc((G + 1) * sizeof(int32_t));
  o->g_repl = malloc((G + 1) * sizeof(int32_t));
  o->go = go;
  if (!o->g_ns || !o->g_local || !o->g_repl) goto oom;
  /* namespaces in order of first appearance among live terms */
  for (size_t g = 0; g < G; g++) {
    const fc_go_term *t = fc_go_term_at(go, (int32_t)g);
    o->g_ns[g] = o->g_local[g] = o->g_repl[g] = -1;
    if (t->obsolete) {
      o->st.n_obsolete++;
      continue;
    }
    if (dropped_namespace(t->namespace_)) {
      o->st.n_no_namespace++;
      continue;
    }
    size_t k;
    for (k = 0; k < o->n_ns; k++)
      if (strcmp(o->ns[k].name, t->namespace_) == 0) break;
    if (k == o->n_ns) {
      ns_dag *nn = realloc(o->ns, (o->n_ns + 1) * sizeof *nn);
      if (!nn) goto oom;
      o->ns = nn;
      memset(&o->ns[k], 0, sizeof o->ns[k]);
      o->n_ns++;
      if (!(o->ns[k].name = fc_strdup(t->namespace_))) goto oom;
    }
    o->g_ns[g] = (int32_t)k;
    o->g_local[g] = (int32_t)o->ns[k].n++;
    o->st.n_terms++;
  }
  for (size_t g = 0; g < G; g++) {
    const fc_go_term *t = fc_go_term_at(go, (int32_t)g);
    if (!t->obsolete || !t->replaced_by) continue;
    int32_t r = fc_go_find(go, t->replaced_by);
    if (r >= 0 && o->g_ns[r] >= 0) {
      o->g_repl[g] = r;
      o->st.n_replaceable++;
    }
  }
  /* per namespace arrays */
  for (size_t k = 0; k < o->n_ns; k++) {
    ns_dag *d = &o->ns[k];
    d->global = malloc((d->n + 1) * sizeof(int32_t));
    d->par_off = calloc(d->n + 1, sizeof(size_t));
    d->ch_off = calloc(d->n + 2, sizeof(size_t));
    d->order = malloc((d->n + 1) * sizeof(int32_t));
    d->rank = malloc((d->n + 1) * sizeof(int32_t));
    if (!d->global || !d->par_off || !d->ch_off || !d->order || !d->rank) goto oom;
  }
  for (size_t g = 0; g < G; g++)
    if (o->g_ns[g] >= 0) o->ns[o->g_ns[g]].global[o->g_local[g]] = (int32_t)g;
  /* edges: count first (upper bound), then fill deduplicated */
  for (size_t k = 0; k < o->n_ns; k++) {
    ns_dag *d = &o->ns[k];
    size_t total = 0;
    for (size_t i = 0; i < d->n; i++) {
      const fc_go_term *t = fc_go_term_at(go, d->global[i]);
      total += t->n_is_a + t->n_part_of;
    }
    d->par = malloc((total + 1) * sizeof(int32_t));
    d->ch = malloc((total + 1) * sizeof(int32_t));
    if (!d->par || !d->ch) goto oom;
    size_t pos = 0;
    for (size_t i = 0; i < d->n; i++) {
      const fc_go_term *t = fc_go_term_at(go, d->global[i]);
      d->par_off[i] = pos;
      size_t np = 0;
      for (int kind = 0; kind < 2; kind++) {
        const int32_t *ps = kind ? t->part_of : t->is_a;
        size_t n = kind ? t->n_part_of : t->n_is_a;
        for (size_t e = 0; e < n; e++) {
          int32_t p = ps[e];
          if (p < 0 || (size_t)p >= G || o->g_ns[p] < 0) {
            o->st.n_edges_to_obsolete++;
            continue;
          }
          if (o->g_ns[p] != (int32_t)k) {
            o->st.n_cross_ns_edges++;
            continue;
          }
          if (add_parent(d->par + pos, &np, o->g_local[p])) {
            d->ch_off[o->g_local[p] + 1]++;
            o->st.n_edges++;
          }
        }
      }
      pos += np;
    }
    d->par_off[d->n] = pos;
    for (size_t i = 0; i < d->n; i++)
      d->ch_off[i + 1] += d->ch_off[i];
    size_t *fill = malloc((d->n + 1) * sizeof(size_t));
    if (!fill) goto oom;
    memcpy(fill, d->ch_off, (d->n + 1) * sizeof(size_t));
    for (size_t i = 0; i < d->n; i++)
      for (size_t e = d->par_off[i]; e < d->par_off[i + 1]; e++)
        d->ch[fill[d->par[e]]++] = (int32_t)i;
    free(fill);
    /* Kahn from the leaves (terms without children), FIFO, like cafaeval's top_sort */
    int32_t *indeg = malloc((d->n + 1) * sizeof(int32_t));
    if (!indeg) goto oom;
    size_t head = 0, tail = 0;
    for (size_t i = 0; i < d->n; i++) {
      indeg[i] = (int32_t)(d->ch_off[i + 1] - d->ch_off[i]);
      if (indeg[i] == 0) d->order[tail++] = (int32_t)i;
    }
    while (head < tail) {
      int32_t x = d->order[head++];
      for (size_t e = d->par_off[x]; e < d->par_off[x + 1]; e++)
        if (--indeg[d->par[e]] == 0) d->order[tail++] = d->par[e];
    }
    free(indeg);
    if (tail != d->n) {
      fc_ontology_free(o);
      return fc_error_set(err, FC_EFORMAT,
                          "ontology: namespace %s has a cycle (is_a/part_of); %zu of %zu terms sorted",
                          d->name, tail, d->n);
    }
    for (size_t i = 0; i < d->n; i++)
      d->rank[d->order[i]] = (int32_t)i;
  }
  *out = o;
  return FC_OK;
oom:
  fc_ontology_free(o);
  return fc_error_set(err, FC_ENOMEM, "ontology: out of memory");
}

const fc_ontology_stats *fc_ontology_get_stats(const fc_ontology *o) {
  return &o->st;
}
size_t fc_ontology_n_namespaces(const fc_ontology *o) {
  return o ? o->n_ns : 0;
}
const char *fc_ontology_namespace(const fc_ontology *o, int ns) {
  return (ns >= 0 && (size_t)ns < o->n_ns) ? o->ns[ns].name : NULL;
}
int fc_ontology_find_namespace(const fc_ontology *o, const char *name) {
  for (size_t k = 0; k < o->n_ns; k++)
    if (strcmp(o->ns[k].name, name) == 0) return (int)k;
  return -1;
}
size_t fc_ontology_n_terms(const fc_ontology *o, int ns) {
  return (ns >= 0 && (size_t)ns < o->n_ns) ? o->ns[ns].n : 0;
}
const char *fc_ontology_term_id(const fc_ontology *o, int ns, int32_t t) {
  if (ns < 0 || (size_t)ns >= o->n_ns || t < 0 || (size_t)t >= o->ns[ns].n) return NULL;
  return fc_go_term_at(o->go, o->ns[ns].global[t])->id;
}
fc_term_resolution fc_ontology_resolve(const fc_ontology *o, const char *id, int *ns, int32_t *t) {
  *ns = -1;
  *t = -1;
  int32_t g = fc_go_find(o->go, id);
  if (g < 0) return FC_TERM_UNKNOWN;
  fc_term_resolution r = strcmp(fc_go_term_at(o->go, g)->id, id) == 0 ? FC_TERM_PRIMARY : FC_TERM_ALT;
  if (o->g_ns[g] < 0) {
    if (!o->replace_obsolete || o->g_repl[g] < 0) return FC_TERM_OBSOLETE;
    g = o->g_repl[g];
    r = FC_TERM_REPLACED;
  }
  *ns = o->g_ns[g];
  *t = o->g_local[g];
  return r;
}
const int32_t *fc_ontology_parents(const fc_ontology *o, int ns, int32_t t, size_t *n) {
  const ns_dag *d = &o->ns[ns];
  *n = d->par_off[t + 1] - d->par_off[t];
  return d->par + d->par_off[t];
}
const int32_t *fc_ontology_children(const fc_ontology *o, int ns, int32_t t, size_t *n) {
  const ns_dag *d = &o->ns[ns];
  *n = d->ch_off[t + 1] - d->ch_off[t];
  return d->ch + d->ch_off[t];
}
const int32_t *fc_ontology_topo_order(const fc_ontology *o, int ns) {
  return o->ns[ns].order;
}
int32_t fc_ontology_topo_rank(const fc_ontology *o, int ns, int32_t t) {
  return o->ns[ns].rank[t];
}
int fc_ontology_is_root(const fc_ontology *o, int ns, int32_t t) {
  const ns_dag *d = &o->ns[ns];
  return d->par_off[t + 1] == d->par_off[t];
}

void fc_term_vec_free(fc_term_vec *v) {
  if (!v) return;
  free(v->terms);
  free(v->values);
  memset(v, 0, sizeof *v);
}
fc_status fc_term_vec_push(fc_term_vec *v, int32_t t, double value) {
  if (v->n == v->cap) {
    size_t nc = v->cap ? v->cap * 2 : 16;
    int32_t *nt = realloc(v->terms, nc * sizeof *nt);
    if (!nt) return FC_ENOMEM;
    v->terms = nt;
    double *nv = realloc(v->values, nc * sizeof *nv);
    if (!nv) return FC_ENOMEM;
    v->values = nv;
    v->cap = nc;
  }
  v->terms[v->n] = t;
  v->values[v->n++] = value;
  return FC_OK;
}

fc_go_ws *fc_go_ws_new(const fc_ontology *o) {
  fc_go_ws *ws = calloc(1, sizeof *ws);
  if (!ws) return NULL;
  size_t cap = 1;
  for (size_t k = 0; k < o->n_ns; k++)
    if (o->ns[k].n > cap) cap = o->ns[k].n;
  ws->cap = cap;
  ws->mark = calloc(cap, sizeof *ws->mark);
  ws->own = calloc(cap, sizeof *ws->own);
  ws->cmax = calloc(cap, sizeof *ws->cmax);
  ws->stack = malloc(cap * sizeof *ws->stack);
  ws->keys = malloc(cap * sizeof *ws->keys);
  ws->keys_cap = cap;
  if (!ws->mark || !ws->own || !ws->cmax || !ws->stack || !ws->keys) {
    fc_go_ws_free(ws);
    return NULL;
  }
  return ws;
}
void fc_go_ws_free(fc_go_ws *ws) {
  if (!ws) return;
  free(ws->mark);
  free(ws->own);
  free(ws->cmax);
  free(ws->stack);
  free(ws->keys);
  free(ws);
}

static uint32_t next_stamp(fc_go_ws *ws) {
  if (++ws->stamp == 0) {
    memset(ws->mark, 0, ws->cap * sizeof *ws->mark);
    ws->stamp = 1;
  }
  return ws->stamp;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* Marks the closure (terms + all ancestors) with a new stamp; fills ws->keys with rank<<32|t sorted
 * (leaves first); returns the count. Terms out of range are ignored (checked by callers). */
static size_t closure(const fc_ontology *o, int ns, const int32_t *terms, size_t n, fc_go_ws *ws) {
  const ns_dag *d = &o->ns[ns];
  uint32_t s = next_stamp(ws);
  size_t m = 0, sp = 0;
  for (size_t i = 0; i < n; i++) {
    int32_t t = terms[i];
    if (ws->mark[t] == s) continue;
    ws->mark[t] = s;
    ws->stack[sp++] = t;
    while (sp) {
      int32_t x = ws->stack[--sp];
      ws->keys[m++] = ((uint64_t)(uint32_t)d->rank[x] << 32) | (uint32_t)x;
      for (size_t e = d->par_off[x]; e < d->par_off[x + 1]; e++) {
        int32_t p = d->par[e];
        if (ws->mark[p] != s) {
          ws->mark[p] = s;
          ws->stack[sp++] = p;
        }
      }
    }
  }
  qsort(ws->keys, m, sizeof *ws->keys, cmp_u64);
  return m;
}

static fc_status check_ns_terms(const fc_ontology *o, int ns, const int32_t *terms, size_t n, fc_error *err) {
  if (ns < 0 || (size_t)ns >= o->n_ns)
    return fc_error_set(err, FC_EINVAL, "ontology: bad namespace index %d", ns);
  for (size_t i = 0; i < n; i++)
    if (terms[i] < 0 || (size_t)terms[i] >= o->ns[ns].n)
      return fc_error_set(err, FC_EINVAL, "ontology: term index %d out of range", (int)terms[i]);
  return FC_OK;
}

fc_status fc_ontology_ancestors(const fc_ontology *o, int ns, int32_t t, fc_go_ws *ws, fc_term_vec *out,
                                fc_error *err) {
  out->n = 0;
  if (check_ns_terms(o, ns, &t, 1, err) != FC_OK) return err ? err->code : FC_EINVAL;
  size_t m = closure(o, ns, &t, 1, ws);
  for (size_t i = 0; i < m; i++)
    if (fc_term_vec_push(out, (int32_t)(ws->keys[i] & 0xffffffffu), 1.0) != FC_OK)
      return fc_error_set(err, FC_ENOMEM, "ontology: out of memory");
  return FC_OK;
}

fc_status fc_ontology_propagate(const fc_ontology *o, int ns, fc_prop_mode mode, const int32_t *terms,
                                const double *values, size_t n, fc_go_ws *ws, fc_term_vec *out,
                                fc_error *err) {
  out->n = 0;
  if (check_ns_terms(o, ns, terms, n, err) != FC_OK) return err ? err->code : FC_EINVAL;
  const ns_dag *d = &o->ns[ns];
  size_t m = closure(o, ns, terms, n, ws);
  for (size_t i = 0; i < m; i++) {
    int32_t x = (int32_t)(ws->keys[i] & 0xffffffffu);
    ws->own[x] = 0;
    ws->cmax[x] = 0;
  }
  for (size_t i = 0; i < n; i++) {
    double v = values ? values[i] : 1.0;
    if (v > ws->own[terms[i]]) ws->own[terms[i]] = v;
  }
  for (size_t i = 0; i < m; i++) {
    int32_t x = (int32_t)(ws->keys[i] & 0xffffffffu);
    double v;
    if (mode == FC_PROP_FILL)
      v = ws->own[x] != 0 ? ws->own[x] : ws->cmax[x];
    else
      v = ws->own[x] > ws->cmax[x] ? ws->own[x] : ws->cmax[x];
    for (size_t e = d->par_off[x]; e < d->par_off[x + 1]; e++)
      if (v > ws->cmax[d->par[e]]) ws->cmax[d->par[e]] = v;
    if (v > 0 && fc_term_vec_push(out, x, v) != FC_OK)
      return fc_error_set(err, FC_ENOMEM, "ontology: out of memory");
  }
  return FC_OK;
}

fc_status fc_ontology_leaves(const fc_ontology *o, int ns, const int32_t *terms, const double *values,
                             size_t n, fc_go_ws *ws, fc_term_vec *out, fc_error *err) {
  out->n = 0;
  if (check_ns_terms(o, ns, terms, n, err) != FC_OK) return err ? err->code : FC_EINVAL;
  const ns_dag *d = &o->ns[ns];
  /* mark strict ancestors of every term: start from the parents */
  uint32_t s = next_stamp(ws);
  size_t sp = 0;
  for (size_t i = 0; i < n; i++)
    for (size_t e = d->par_off[terms[i]]; e < d->par_off[terms[i] + 1]; e++) {
      int32_t p = d->par[e];
      if (ws->mark[p] != s) {
        ws->mark[p] = s;
        ws->stack[sp++] = p;
      }
      while (sp) {
        int32_t x = ws->stack[--sp];
        for (size_t f = d->par_off[x]; f < d->par_off[x + 1]; f++)
          if (ws->mark[d->par[f]] != s) {
            ws->mark[d->par[f]] = s;
            ws->stack[sp++] = d->par[f];
          }
      }
    }
  for (size_t i = 0; i < n; i++)
    if (ws->mark[terms[i]] != s && fc_term_vec_push(out, terms[i], values ? values[i] : 1.0) != FC_OK)
      return fc_error_set(err, FC_ENOMEM, "ontology: out of memory");
  return FC_OK;
}

/* ---- information accretion ---- */

void fc_ia_table_free(fc_ia_table *t) {
  if (!t) return;
  if (t->ia)
    for (size_t k = 0; k < t->n_ns; k++)
      free(t->ia[k]);
  free(t->ia);
  memset(t, 0, sizeof *t);
}

static int cmp_str_ptr(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

fc_status fc_ontology_ia_compute(const fc_ontology *o, const fc_annot_set *ann, fc_ia_table *out,
                                 fc_error *err) {
  memset(out, 0, sizeof *out);
  fc_status st = FC_OK;
  size_t K = o->n_ns, N = ann->n;
  /* sort row indices by accession pointer (strings are interned: equal accession = equal pointer) */
  size_t *idx = malloc((N + 1) * sizeof *idx);
  int32_t *rt = malloc((N + 1) * sizeof *rt);
  int *rns = malloc((N + 1) * sizeof *rns);
  uint64_t **nv = calloc(K + 1, sizeof *nv), **npa = calloc(K + 1, sizeof *npa);
  size_t *nsall = calloc(K + 1, sizeof *nsall);
  fc_go_ws *ws = fc_go_ws_new(o);
  uint32_t **seen = calloc(K + 1, sizeof *seen); /* per term: last target id + 1 counted */
  out->ia = calloc(K + 1, sizeof *out->ia);
  out->n_ns = K;
  if (!idx || !rt || !rns || !nv || !npa || !nsall || !ws || !seen || !out->ia) goto oom;
  for (size_t k = 0; k < K; k++) {
    size_t n = o->ns[k].n + 1;
    nv[k] = calloc(n, sizeof **nv);
    npa[k] = calloc(n, sizeof **npa);
    seen[k] = calloc(n, sizeof **seen);
    out->ia[k] = malloc(n * sizeof **out->ia);
    if (!nv[k] || !npa[k] || !seen[k] || !out->ia[k]) goto oom;
  }
  size_t m = 0;
  for (size_t i = 0; i < N; i++) {
    int ns;
    int32_t t;
    fc_term_resolution r = fc_ontology_resolve(o, ann->rows[i].go_id, &ns, &t);
    if (r == FC_TERM_UNKNOWN) {
      out->n_skipped_unknown++;
      continue;
    }
    if (ns < 0) {
      out->n_skipped_obsolete++;
      continue;
    }
    rt[i] = t;
    rns[i] = ns;
    idx[m++] = i;
  }
  out->n_pairs_used = m;
  /* group by accession string */
  {
    const fc_annot *rows = ann->rows;
    typedef struct {
      const char *acc;
      size_t i;
    } pr;
    pr *ps = malloc((m + 1) * sizeof *ps);
    if (!ps) goto oom;
    for (size_t a = 0; a < m; a++) {
      ps[a].acc = rows[idx[a]].accession;
      ps[a].i = idx[a];
    }
    qsort(ps, m, sizeof *ps, cmp_str_ptr); /* acc is the first member: compares accessions */
    for (size_t a = 0; a < m; a++)
      idx[a] = ps[a].i;
    free(ps);
  }
  fc_term_vec tv = {0}, pv = {0};
  uint32_t target = 0;
  for (size_t a = 0; a < m;) {
    size_t b = a;
    while (b < m && strcmp(ann->rows[idx[b]].accession, ann->rows[idx[a]].accession) == 0)
      b++;
    target++;
    for (size_t k = 0; k < K; k++) {
      tv.n = 0;
      for (size_t c = a; c < b; c++)
        if (rns[idx[c]] == (int)k && fc_term_vec_push(&tv, rt[idx[c]], 1.0) != FC_OK) goto oom2;
      if (!tv.n) continue;
      st = fc_ontology_propagate(o, (int)k, FC_PROP_MAX, tv.terms, NULL, tv.n, ws, &pv, err);
      if (st != FC_OK) goto fail2;
      nsall[k]++;
      /* pv's terms are marked in ws (closure stamp) */
      const ns_dag *d = &o->ns[k];
      for (size_t e = 0; e < pv.n; e++) {
        int32_t v = pv.terms[e];
        nv[k][v]++;
        /* children of v with all parents marked: count once per target */
        for (size_t f = d->ch_off[v]; f < d->ch_off[v + 1]; f++) {
          int32_t c = d->ch[f];
          if (seen[k][c] == target) continue;
          int all = 1;
          for (size_t g = d->par_off[c]; g < d->par_off[c + 1] && all; g++)
            if (ws->mark[d->par[g]] != ws->stamp) all = 0;
          if (all) {
            seen[k][c] = target;
            npa[k][c]++;
          }
        }
      }
    }
    a = b;
  }
  out->n_targets = target;
  for (size_t k = 0; k < K; k++)
    for (size_t v = 0; v < o->ns[k].n; v++) {
      if (!nv[k][v]) {
        out->ia[k][v] = NAN;
        continue;
      }
      uint64_t pa = fc_ontology_is_root(o, (int)k, (int32_t)v) ? nsall[k] : npa[k][v];
      out->ia[k][v] = log2((double)pa / (double)nv[k][v]);
    }
  fc_term_vec_free(&tv);
  fc_term_vec_free(&pv);
  goto done;
oom2:
  st = fc_error_set(err, FC_ENOMEM, "ia: out of memory");
fail2:
  fc_term_vec_free(&tv);
  fc_term_vec_free(&pv);
  fc_ia_table_free(out);
  goto done;
oom:
  st = fc_error_set(err, FC_ENOMEM, "ia: out of memory");
  fc_ia_table_free(out);
done:
  for (size_t k = 0; k < K; k++) {
    if (nv) free(nv[k]);
    if (npa) free(npa[k]);
    if (seen) free(seen[k]);
  }
  free(nv);
  free(npa);
  free(seen);
  free(nsall);
  free(idx);
  free(rt);
  free(rns);
  fc_go_ws_free(ws);
  return st;
}

typedef struct {
  const char *id;
  double ia;
} ia_row;
static int cmp_ia_row(const void *a, const void *b) {
  return strcmp(((const ia_row *)a)->id, ((const ia_row *)b)->id);
}

fc_status fc_ia_table_write(const fc_ontology *o, const fc_ia_table *t, const char *path, fc_error *err) {
  size_t n = 0;
  for (size_t k = 0; k < t->n_ns; k++)
    for (size_t v = 0; v < o->ns[k].n; v++)
      if (!isnan(t->ia[k][v])) n++;
  ia_row *rows = malloc((n + 1) * sizeof *rows);
  if (!rows) return fc_error_set(err, FC_ENOMEM, "ia: out of memory");
  n = 0;
  for (size_t k = 0; k < t->n_ns; k++)
    for (size_t v = 0; v < o->ns[k].n; v++)
      if (!isnan(t->ia[k][v])) {
        rows[n].id = fc_ontology_term_id(o, (int)k, (int32_t)v);
        rows[n++].ia = t->ia[k][v];
      }
  qsort(rows, n, sizeof *rows, cmp_ia_row);
  fc_atomic_file f;
  fc_status st = fc_atomic_open(&f, path, err);
  if (st != FC_OK) {
    free(rows);
    return st;
  }
  for (size_t i = 0; i < n; i++)
    fprintf(f.fp, "%s\t%.12g\n", rows[i].id, rows[i].ia + 0.0);
  free(rows);
  return fc_atomic_commit(&f, err);
}
