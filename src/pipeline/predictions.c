/* Prediction sets: (model, layer, target, term) -> score, written as the evaluator's
 * `target<TAB>term<TAB>score` TSV and in CAFA submission format, optionally propagated (max) through
 * the ontology. Filled by goPredSim scoring (lookup.c) or from FANTASIA's raw rows (max RI). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fantasia/pipeline.h"

struct fc_predictions {
  fc_prediction *v;
  size_t n, cap;
  fc_strmap index; /* key "model\tlayer\ttarget\tterm" -> position */
  char **keys;     /* owned keys of index (one per entry) */
  char **strs;     /* owned interned strings */
  size_t n_strs, cap_strs;
  fc_strmap pool; /* string -> position in strs */
};

fc_predictions *fc_predictions_new(void) {
  fc_predictions *p = calloc(1, sizeof *p);
  if (!p) return NULL;
  if (fc_strmap_init(&p->index, 1024) != FC_OK || fc_strmap_init(&p->pool, 256) != FC_OK) {
    fc_predictions_free(p);
    return NULL;
  }
  return p;
}

void fc_predictions_free(fc_predictions *p) {
  if (!p) return;
  fc_strmap_free(&p->index);
  fc_strmap_free(&p->pool);
  for (size_t i = 0; i < p->n; i++)
    free(p->keys[i]);
  free(p->keys);
  for (size_t i = 0; i < p->n_strs; i++)
    free(p->strs[i]);
  free(p->strs);
  free(p->v);
  free(p);
}

size_t fc_predictions_size(const fc_predictions *p) {
  return p ? p->n : 0;
}
const fc_prediction *fc_predictions_at(const fc_predictions *p, size_t i) {
  return p && i < p->n ? &p->v[i] : NULL;
}

static const char *intern(fc_predictions *p, const char *s) {
  int64_t at;
  size_t len = strlen(s);
  if (fc_strmap_get(&p->pool, s, len, &at)) return p->strs[at];
  if (p->n_strs == p->cap_strs) {
    size_t cap = p->cap_strs ? 2 * p->cap_strs : 64;
    char **g = realloc(p->strs, cap * sizeof *g);
    if (!g) return NULL;
    p->strs = g;
    p->cap_strs = cap;
  }
  char *c = fc_strdup(s);
  if (!c) return NULL;
  if (fc_strmap_put(&p->pool, c, len, (int64_t)p->n_strs, NULL) < 0) {
    free(c);
    return NULL;
  }
  p->strs[p->n_strs++] = c;
  return c;
}

fc_status fc_predictions_add(fc_predictions *p, const char *model, int layer, const char *target,
                             const char *term, double score, fc_error *err) {
  if (!(score >= 0) || !isfinite(score))
    return fc_error_set(err, FC_EINVAL, "prediction %s %s: score %g is not a finite number >= 0", target,
                        term, score);
  char *key = fc_sprintf("%s\t%d\t%s\t%s", model, layer, target, term);
  if (!key) return fc_error_set(err, FC_ENOMEM, "out of memory");
  int64_t at;
  if (fc_strmap_get(&p->index, key, strlen(key), &at)) {
    free(key);
    if (score > p->v[at].score) p->v[at].score = score;
    return FC_OK;
  }
  if (p->n == p->cap) {
    size_t cap = p->cap ? 2 * p->cap : 256;
    fc_prediction *g = realloc(p->v, cap * sizeof *g);
    char **gk = g ? realloc(p->keys, cap * sizeof *gk) : NULL;
    if (g) p->v = g;
    if (!gk) {
      free(key);
      return fc_error_set(err, FC_ENOMEM, "out of memory");
    }
    p->keys = gk;
    p->cap = cap;
  }
  fc_prediction e = {intern(p, model), layer, intern(p, target), intern(p, term), score};
  if (!e.model || !e.target || !e.term ||
      fc_strmap_put(&p->index, key, strlen(key), (int64_t)p->n, NULL) < 0) {
    free(key);
    return fc_error_set(err, FC_ENOMEM, "out of memory");
  }
  p->keys[p->n] = key;
  p->v[p->n++] = e;
  return FC_OK;
}

fc_status fc_predictions_from_raw(const fc_raw_table *t, fc_predictions *p, fc_error *err) {
  size_t n = fc_raw_table_size(t);
  for (size_t i = 0; i < n; i++) {
    const fc_raw_row *r = fc_raw_table_row_const(t, i);
    fc_status st = fc_predictions_add(p, fc_raw_table_str(t, r->model_name), r->layer_index,
                                      fc_raw_table_str(t, r->accession), fc_raw_table_str(t, r->go_id),
                                      r->reliability_index > 0 ? r->reliability_index : 0, err);
    if (st != FC_OK) return st;
  }
  return FC_OK;
}

void fc_predictions_write_opts_init(fc_predictions_write_opts *o) {
  memset(o, 0, sizeof *o);
  o->write_tsv = 1;
  o->write_cafa = 1;
  o->precision = 4;
  o->author = "fantasia.c";
  o->keywords = "machine learning, sequence embedding, nearest neighbour";
}

/* order: model, layer, target, score descending, term */
static int cmp_pred(const void *a, const void *b) {
  const fc_prediction *x = *(const fc_prediction *const *)a, *y = *(const fc_prediction *const *)b;
  int c = strcmp(x->model, y->model);
  if (c) return c;
  if (x->layer != y->layer) return x->layer < y->layer ? -1 : 1;
  if ((c = strcmp(x->target, y->target))) return c;
  if (x->score != y->score) return x->score > y->score ? -1 : 1;
  return strcmp(x->term, y->term);
}

/* file stem of a (model, layer) group: model name with characters other than [A-Za-z0-9._-] as '_' */
static char *group_stem(const char *model, int layer) {
  char *s = layer < 0 ? fc_sprintf("%s_legacy", model) : fc_sprintf("%s_L%d", model, layer);
  if (!s) return NULL;
  for (char *c = s; *c; c++)
    if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '.' ||
          *c == '-' || *c == '_'))
      *c = '_';
  return s;
}

typedef struct {
  fc_atomic_file tsv, cafa;
  int open_tsv, open_cafa;
  int precision;
  size_t lines;
} group_out;

static void emit(group_out *g, const char *target, const char *term, double score) {
  /* zeros after rounding are dropped (goPredSim; CAFA format forbids 0.00) */
  if (g->open_tsv) {
    double scale = pow(10.0, g->precision);
    if (round(score * scale) > 0) {
      fprintf(g->tsv.fp, "%s\t%s\t%.*f\n", target, term, g->precision, score);
      g->lines++;
    }
  }
  if (g->open_cafa && round(score * 100.0) > 0)
    fprintf(g->cafa.fp, "%s\t%s\t%.2f\n", target, term, score > 1 ? 1.0 : score);
}

/* the terms of one target in one group: as given, or propagated per namespace (max) */
static fc_status emit_target(group_out *g, fc_prediction **e, size_t n, const fc_predictions_write_opts *o,
                             fc_go_ws *ws, size_t *n_unknown, fc_error *err) {
  if (!o->propagate || !o->ontology) {
    for (size_t i = 0; i < n; i++)
      emit(g, e[i]->target, e[i]->term, e[i]->score);
    return FC_OK;
  }
  const fc_ontology *on = o->ontology;
  size_t nns = fc_ontology_n_namespaces(on);
  fc_status st = FC_OK;
  for (size_t ns = 0; ns < nns && st == FC_OK; ns++) {
    int32_t *terms = malloc((n ? n : 1) * sizeof *terms);
    double *vals = malloc((n ? n : 1) * sizeof *vals);
    size_t m = 0;
    if (!terms || !vals) st = fc_error_set(err, FC_ENOMEM, "out of memory");
    for (size_t i = 0; i < n && st == FC_OK; i++) {
      int tns;
      int32_t t;
      fc_term_resolution r = fc_ontology_resolve(on, e[i]->term, &tns, &t);
      if (r == FC_TERM_UNKNOWN || r == FC_TERM_OBSOLETE) {
        if (ns == 0) ++*n_unknown;
        continue;
      }
      if ((size_t)tns != ns) continue;
      terms[m] = t;
      vals[m++] = e[i]->score;
    }
    fc_term_vec out = {0};
    if (st == FC_OK && m) st = fc_ontology_propagate(on, (int)ns, FC_PROP_MAX, terms, vals, m, ws, &out, err);
    if (st == FC_OK && out.n) {
      /* highest score first, then term id, like the unpropagated lines */
      fc_prediction *tmp = malloc(out.n * sizeof *tmp), **ptr = malloc(out.n * sizeof *ptr);
      if (!tmp || !ptr)
        st = fc_error_set(err, FC_ENOMEM, "out of memory");
      else {
        for (size_t i = 0; i < out.n; i++) {
          tmp[i] = (fc_prediction){"", 0, e[0]->target, fc_ontology_term_id(on, (int)ns, out.terms[i]),
                                   out.values[i]};
          ptr[i] = &tmp[i];
        }
        qsort(ptr, out.n, sizeof *ptr, cmp_pred);
        for (size_t i = 0; i < out.n; i++)
          emit(g, ptr[i]->target, ptr[i]->term, ptr[i]->score);
      }
      free(tmp);
      free(ptr);
    }
    fc_term_vec_free(&out);
    free(terms);
    free(vals);
  }
  return st;
}

static fc_status open_group(group_out *g, const fc_predictions_write_opts *o, const char *model, int layer,
                            fc_error *err) {
  memset(g, 0, sizeof *g);
  g->precision = o->precision < 0 ? 0 : o->precision > 12 ? 12 : o->precision;
  char *stem = group_stem(model, layer);
  if (!stem) return fc_error_set(err, FC_ENOMEM, "out of memory");
  fc_status st = FC_OK;
  if (o->write_tsv) {
    char *dir = fc_path_join(o->out_dir, "predictions"), *name = fc_sprintf("%s.tsv", stem);
    char *path = dir && name ? fc_path_join(dir, name) : NULL;
    if (!path)
      st = fc_error_set(err, FC_ENOMEM, "out of memory");
    else if ((st = fc_mkdir_p(dir, err)) == FC_OK && (st = fc_atomic_open(&g->tsv, path, err)) == FC_OK)
      g->open_tsv = 1;
    free(dir);
    free(name);
    free(path);
  }
  if (st == FC_OK && o->write_cafa) {
    char *dir = fc_path_join(o->out_dir, "cafa"), *name = fc_sprintf("%s.txt", stem);
    char *path = dir && name ? fc_path_join(dir, name) : NULL;
    if (!path)
      st = fc_error_set(err, FC_ENOMEM, "out of memory");
    else if ((st = fc_mkdir_p(dir, err)) == FC_OK && (st = fc_atomic_open(&g->cafa, path, err)) == FC_OK) {
      g->open_cafa = 1;
      /* CAFA submission header; MODEL is 1 (one model per file) */
      fprintf(g->cafa.fp, "AUTHOR\t%s\nMODEL\t1\nKEYWORDS\t%s.\n", o->author ? o->author : "fantasia.c",
              o->keywords ? o->keywords : "sequence embedding");
    }
    free(dir);
    free(name);
    free(path);
  }
  free(stem);
  return st;
}

static fc_status close_group(group_out *g, fc_status st, fc_error *err) {
  if (g->open_cafa && st == FC_OK) fputs("END\n", g->cafa.fp);
  if (g->open_tsv) {
    if (st == FC_OK)
      st = fc_atomic_commit(&g->tsv, err);
    else
      fc_atomic_abort(&g->tsv);
  }
  if (g->open_cafa) {
    if (st == FC_OK)
      st = fc_atomic_commit(&g->cafa, err);
    else
      fc_atomic_abort(&g->cafa);
  }
  g->open_tsv = g->open_cafa = 0;
  return st;
}

fc_status fc_predictions_write(const fc_predictions *p, const fc_predictions_write_opts *o, fc_error *err) {
  if (!o->out_dir) return fc_error_set(err, FC_EINVAL, "predictions: no output folder");
  if (o->propagate && !o->ontology)
    return fc_error_set(err, FC_EINVAL, "predictions: propagation needs an ontology");
  if (!p->n) return FC_OK;
  fc_prediction **s = malloc(p->n * sizeof *s);
  if (!s) return fc_error_set(err, FC_ENOMEM, "out of memory");
  for (size_t i = 0; i < p->n; i++)
    s[i] = &p->v[i];
  qsort(s, p->n, sizeof *s, cmp_pred);
  fc_go_ws *ws = o->propagate ? fc_go_ws_new(o->ontology) : NULL;
  fc_status st = (o->propagate && !ws) ? fc_error_set(err, FC_ENOMEM, "out of memory") : FC_OK;
  size_t n_unknown = 0;
  for (size_t i = 0; i < p->n && st == FC_OK;) {
    size_t j = i;
    while (j < p->n && !strcmp(s[j]->model, s[i]->model) && s[j]->layer == s[i]->layer)
      j++;
    group_out g;
    st = open_group(&g, o, s[i]->model, s[i]->layer, err);
    for (size_t a = i; a < j && st == FC_OK;) {
      size_t b = a;
      while (b < j && !strcmp(s[b]->target, s[a]->target))
        b++;
      st = emit_target(&g, s + a, b - a, o, ws, &n_unknown, err);
      a = b;
    }
    if (st == FC_OK && ((g.open_tsv && ferror(g.tsv.fp)) || (g.open_cafa && ferror(g.cafa.fp))))
      st = fc_error_set(err, FC_EIO, "predictions for %s layer %d: write error", s[i]->model, s[i]->layer);
    st = close_group(&g, st, err);
    if (st == FC_OK)
      fc_log_info("predictions: %s layer %d: %zu lines written%s", s[i]->model, s[i]->layer, g.lines,
                  o->propagate ? " (propagated)" : "");
    i = j;
  }
  if (n_unknown)
    fc_log_warn("predictions: %zu (target, term) pairs with a term unknown to (or obsolete in) the ontology "
                "were left out of the propagated files",
                n_unknown);
  fc_go_ws_free(ws);
  free(s);
  return st;
}
