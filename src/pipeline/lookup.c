/* Stage B: exact lookup of every query block against its reference space, and the transfer of
 * the neighbours' GO annotations into raw rows (FANTASIA spec §5–6, with its bugs fixed:
 * deterministic ties, hits without annotations never use up K slots, taxonomy lists may hold
 * comma-joined ids, optional descendant expansion, explicit self exclusion). */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fantasia/align.h"
#include "fantasia/pipeline.h"
#include "fantasia/taxonomy.h"
#include "pipeline/internal.h"

void fc_lookup_opts_init(fc_lookup_opts *o) {
  memset(o, 0, sizeof *o);
  o->metric = FC_METRIC_COSINE;
  o->k = 1;
  o->default_threshold = NAN;
  o->max_identity = NAN;
  o->redundancy_coverage = 0.7;
  o->redundancy_threads = 0;
}

/* ---- taxonomy filter ---- */
typedef struct {
  fc_strmap include, exclude;
  int has_include, has_exclude;
  char **owned; /* expanded id strings */
  size_t n_owned;
} taxfilter;

static fc_status tax_add_list(taxfilter *tf, fc_strmap *m, const char *const *ids, size_t n,
                              const fc_taxonomy *tax, fc_error *err) {
  for (size_t i = 0; i < n; i++) {
    const char *s = ids[i];
    if (!*s) continue;
    for (const char *p = s; *p; p++)
      if (!isdigit((unsigned char)*p))
        return fc_error_set(err, FC_EINVAL, "taxonomy filter: '%s' is not a numeric NCBI taxonomy id", s);
    if (!tax) {
      fc_strmap_put(m, s, strlen(s), 1, NULL);
      continue;
    }
    int64_t id = strtoll(s, NULL, 10), *desc = NULL;
    size_t nd = 0;
    if (fc_taxonomy_expand(tax, &id, 1, &desc, &nd) != FC_OK)
      return fc_error_set(err, FC_ENOMEM, "out of memory expanding taxonomy ids");
    char **grown = realloc(tf->owned, (tf->n_owned + nd + 1) * sizeof *grown);
    if (!grown) {
      free(desc);
      return fc_error_set(err, FC_ENOMEM, "out of memory expanding taxonomy ids");
    }
    tf->owned = grown;
    tf->owned[tf->n_owned] = fc_strdup(s);
    fc_strmap_put(m, tf->owned[tf->n_owned], strlen(s), 1, NULL);
    tf->n_owned++;
    for (size_t j = 0; j < nd; j++) {
      char *t = fc_sprintf("%lld", (long long)desc[j]);
      tf->owned[tf->n_owned++] = t;
      fc_strmap_put(m, t, strlen(t), 1, NULL);
    }
    free(desc);
  }
  return FC_OK;
}

static void taxfilter_free(taxfilter *tf) {
  fc_strmap_free(&tf->include);
  fc_strmap_free(&tf->exclude);
  for (size_t i = 0; i < tf->n_owned; i++)
    free(tf->owned[i]);
  free(tf->owned);
}

/* taxonomy_id may be a comma-joined list (PIS stores UniProt's ids that way): a protein is in a
 * list when any of its ids is. Exclude and include combine with AND, as FANTASIA's code does. */
static int tax_in(const fc_strmap *m, const char *tx) {
  if (!tx) return 0;
  const char *p = tx;
  while (*p) {
    while (*p == ',' || *p == ' ')
      p++;
    const char *q = p;
    while (*q && *q != ',' && *q != ' ')
      q++;
    if (q > p && fc_strmap_get(m, p, (size_t)(q - p), NULL)) return 1;
    p = q;
  }
  return 0;
}

static int protein_passes(const taxfilter *tf, const fc_ref_protein *p) {
  if (tf->has_exclude && tax_in(&tf->exclude, p->taxonomy_id)) return 0;
  if (tf->has_include && !tax_in(&tf->include, p->taxonomy_id)) return 0;
  return 1;
}

/* ---- model / layer selection ---- */
static const fc_lookup_model *match_model(const fc_lookup_opts *o, const char *block_model) {
  if (!o->models) return NULL;
  char *end;
  long long num = strtoll(block_model, &end, 10);
  int numeric = *block_model && !*end;
  for (size_t i = 0; i < o->n_models; i++) {
    const fc_lookup_model *m = &o->models[i];
    if (!strcasecmp(m->name, block_model)) return m;
    if (numeric && m->type_id > 0 && m->type_id == num) return m;
  }
  return NULL;
}

static int layer_wanted(const fc_lookup_model *m, int layer) {
  if (!m || !m->layers) return 1;
  for (size_t i = 0; i < m->n_layers; i++)
    if (m->layers[i] == layer) return 1;
  return 0;
}

/* ---- run state shared across blocks ---- */
typedef struct {
  const fc_lookup_opts *o;
  fc_refdb *db;
  fc_refcatalog *cat;
  taxfilter tf;
  fc_strmap seq_by_text; /* reference sequence text -> sequence id */
  fc_strmap seq_by_acc;  /* protein id / accession -> sequence id */
  fc_strmap qidx, ridx;  /* sequence text -> query_idx / ref_idx (first seen) */
  fc_redundancy *red;    /* MMseqs2 clusters, or NULL */
} lookup_state;

static int seq_searchable(const lookup_state *s, const fc_ref_sequence *rs) {
  for (size_t p = 0; p < rs->n_proteins; p++)
    if (rs->proteins[p].n_go && protein_passes(&s->tf, &rs->proteins[p])) return 1;
  return 0;
}

static int cmp_i32(const void *a, const void *b) {
  int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
  return (x > y) - (x < y);
}

/* rows of the matrix to skip for query q: identical sequence / same accession / same MMseqs cluster */
static fc_status query_exclusions(lookup_state *s, const fc_emb_block *b, size_t q,
                                  const fc_strmap *row_of_seq, int32_t **rows, size_t *n, fc_error *err) {
  size_t cap = 8, cnt = 0;
  int32_t *r = malloc(cap * sizeof *r);
  if (!r) return fc_error_set(err, FC_ENOMEM, "out of memory");
#define PUSH_SEQ(sid)                                                                                        \
  do {                                                                                                       \
    int64_t row_;                                                                                            \
    int64_t sid_ = (sid);                                                                                    \
    if (fc_strmap_get(row_of_seq, (const char *)&sid_, sizeof sid_, &row_)) {                                \
      if (cnt == cap) {                                                                                      \
        cap *= 2;                                                                                            \
        int32_t *g_ = realloc(r, cap * sizeof *r);                                                           \
        if (!g_) {                                                                                           \
          free(r);                                                                                           \
          return fc_error_set(err, FC_ENOMEM, "out of memory");                                              \
        }                                                                                                    \
        r = g_;                                                                                              \
      }                                                                                                      \
      r[cnt++] = (int32_t)row_;                                                                              \
    }                                                                                                        \
  } while (0)
  if (s->o->exclude_self) {
    int64_t sid;
    const char *qs = b->sequences[q];
    if (qs && *qs && fc_strmap_get(&s->seq_by_text, qs, strlen(qs), &sid)) PUSH_SEQ(sid);
    const char *acc = b->accessions[q];
    if (fc_strmap_get(&s->seq_by_acc, acc, strlen(acc), &sid)) PUSH_SEQ(sid);
    /* FANTASIA accessions of UniProt headers look like sp_P12345_NAME_HUMAN ('|' -> '_'):
     * the UniProt accession and the entry name inside also identify the protein */
    if ((!strncmp(acc, "sp_", 3) || !strncmp(acc, "tr_", 3)) && strchr(acc + 3, '_')) {
      const char *a = acc + 3, *u = strchr(a, '_');
      if (fc_strmap_get(&s->seq_by_acc, a, (size_t)(u - a), &sid)) PUSH_SEQ(sid);
      if (u[1] && fc_strmap_get(&s->seq_by_acc, u + 1, strlen(u + 1), &sid)) PUSH_SEQ(sid);
    }
  }
  if (s->red) {
    const int64_t *members;
    size_t nm = fc_redundancy_members(s->red, b->accessions[q], &members);
    for (size_t i = 0; i < nm; i++)
      PUSH_SEQ(members[i]);
  }
#undef PUSH_SEQ
  qsort(r, cnt, sizeof *r, cmp_i32);
  size_t u = 0;
  for (size_t i = 0; i < cnt; i++)
    if (!u || r[u - 1] != r[i]) r[u++] = r[i];
  *rows = r;
  *n = u;
  return FC_OK;
}

static double reliability(fc_metric m, double d) {
  return m == FC_METRIC_COSINE ? 1.0 - d : 0.5 / (0.5 + d);
}

static uint32_t index_of(fc_strmap *m, const char *seq) {
  int64_t v = (int64_t)m->n;
  int64_t ex;
  if (fc_strmap_put(m, seq, strlen(seq), v, &ex) == 0) return (uint32_t)ex;
  return (uint32_t)v;
}

/* namespace letter of a reference annotation. With an ontology (goPredSim scoring), the ontology decides,
 * as goPredSim's get_ontology does: a term it does not know (or an obsolete one) has no namespace and is
 * ignored; otherwise the store's category. */
static char go_aspect(const lookup_state *s, const fc_ref_go *go) {
  if (!s->o->ontology) return go->category;
  int ns;
  int32_t t;
  fc_term_resolution r = fc_ontology_resolve(s->o->ontology, go->go_id, &ns, &t);
  if (r == FC_TERM_UNKNOWN || r == FC_TERM_OBSOLETE) return 0;
  return fc_go_aspect_of_namespace(fc_ontology_namespace(s->o->ontology, ns));
}

static fc_status emit_rows(lookup_state *s, fc_raw_table *t, const fc_emb_block *b, size_t q,
                           const char *model_name, int64_t type_id, const fc_refmatrix *mat,
                           const int32_t *idx, const double *dist, size_t cnt, double threshold,
                           char only_aspect, fc_error *err) {
  const fc_lookup_opts *o = s->o;
  const char *qseq = b->sequences[q] ? b->sequences[q] : "";
  uint32_t acc = fc_raw_table_intern(t, b->accessions[q]);
  uint32_t model = fc_raw_table_intern(t, model_name);
  uint32_t qseq_id = fc_raw_table_intern(t, qseq);
  uint32_t qidx = index_of(&s->qidx, qseq);
  uint32_t metric_id = fc_raw_table_intern(t, fc_metric_name(o->metric)), thr_id = FC_STR_EMPTY;
  if (!isnan(threshold)) {
    char buf[32];
    snprintf(buf, sizeof buf, "%g", threshold);
    thr_id = fc_raw_table_intern(t, buf);
  }
  for (size_t j = 0; j < cnt; j++) {
    const fc_ref_sequence *rs = fc_refcatalog_get(s->cat, mat->sequence_ids[idx[j]]);
    if (!rs) continue;
    uint32_t ridx = index_of(&s->ridx, rs->sequence);
    uint32_t rseq_id = fc_raw_table_intern(t, rs->sequence);
    for (size_t p = 0; p < rs->n_proteins; p++) {
      const fc_ref_protein *pr = &rs->proteins[p];
      if (!protein_passes(&s->tf, pr)) continue;
      for (size_t g = 0; g < pr->n_go; g++) {
        const fc_ref_go *go = &pr->go[g];
        if (only_aspect && go_aspect(s, go) != only_aspect) continue;
        fc_raw_row row;
        memset(&row, 0, sizeof row);
        char cat[2] = {go->category ? go->category : 0, 0};
        row.accession = acc;
        row.model_name = model;
        row.go_id = fc_raw_table_intern(t, go->go_id);
        row.category = fc_raw_table_intern(t, cat);
        row.evidence_code = fc_raw_table_intern(t, go->evidence ? go->evidence : "");
        row.go_description = fc_raw_table_intern(t, go->description ? go->description : "");
        row.protein_id = fc_raw_table_intern(t, pr->protein_id ? pr->protein_id : "");
        row.organism = fc_raw_table_intern(t, pr->organism ? pr->organism : "");
        row.gene_name = fc_raw_table_intern(t, pr->gene_name ? pr->gene_name : "");
        row.embedding_type_id = type_id;
        row.layer_index = b->layer;
        /* a cosine distance is >= 0 in exact arithmetic; rounding can leave -1e-16 for a self hit,
         * which would print as -0.0000 */
        double d = (o->metric == FC_METRIC_COSINE && dist[j] < 0) ? 0.0 : dist[j];
        row.distance = d;
        row.reliability_index = reliability(o->metric, d);
        row.query_idx = (int32_t)qidx;
        row.ref_idx = (int32_t)ridx;
        row.query_len = (int32_t)strlen(qseq);
        row.ref_len = (int32_t)strlen(rs->sequence);
        row.sequence_query = qseq_id;
        row.sequence_reference = rseq_id;
        row.distance_threshold = thr_id;
        row.distance_metric = metric_id;
        fc_status st = fc_raw_table_append(t, &row, err);
        if (st != FC_OK) return st;
      }
    }
  }
  return FC_OK;
}

/* Benchmark mode: drop candidates whose global (NW) identity to the query is above max_identity,
 * keeping order, and report how many of the first k survive. */
static size_t identity_filter(const char *qseq, const fc_refcatalog *cat, const fc_refmatrix *mat,
                              int32_t *idx, double *dist, size_t cnt, size_t k, double max_id,
                              fc_error *err) {
  size_t kept = 0;
  for (size_t j = 0; j < cnt && kept < k; j++) {
    const fc_ref_sequence *rs = fc_refcatalog_get(cat, mat->sequence_ids[idx[j]]);
    fc_align_metrics g, l;
    if (rs && rs->sequence[0] && qseq && qseq[0]) {
      if (fc_align_pair(qseq, rs->sequence, &g, &l, err) != FC_OK) return (size_t)-1;
      if (g.identity > max_id) continue;
    }
    idx[kept] = idx[j];
    dist[kept] = dist[j];
    kept++;
  }
  return kept;
}

/* ---- goPredSim scoring ---- */
/* proteins of a reference sequence that count as goPredSim lookup entries of an aspect: passing the
 * taxonomy filter and carrying >= 1 term of the aspect */
static size_t proteins_in_aspect(const lookup_state *s, const fc_ref_sequence *rs, char aspect) {
  size_t n = 0;
  for (size_t p = 0; p < rs->n_proteins; p++) {
    const fc_ref_protein *pr = &rs->proteins[p];
    if (!protein_passes(&s->tf, pr)) continue;
    for (size_t g = 0; g < pr->n_go; g++)
      if (go_aspect(s, &pr->go[g]) == aspect) {
        n++;
        break;
      }
  }
  return n;
}

/* Hits of one query among its candidates (ascending distance): goPredSim's `num` modus over lookup
 * proteins: the k-th nearest protein's distance is the cutoff and every protein at or below it is a hit.
 * Returns the number of candidate rows that are hits, or (size_t)-1 when the candidates may not reach
 * past the cutoff (more must be fetched). */
static size_t gopredsim_cut(const lookup_state *s, const fc_refmatrix *mat, const int32_t *idx,
                            const double *dist, size_t cnt, int exhausted, char aspect) {
  size_t cum = 0, j = 0;
  double cutoff = NAN;
  for (; j < cnt; j++) {
    const fc_ref_sequence *rs = fc_refcatalog_get(s->cat, mat->sequence_ids[idx[j]]);
    cum += rs ? proteins_in_aspect(s, rs, aspect) : 0;
    if (cum >= s->o->k) {
      cutoff = dist[j];
      break;
    }
  }
  if (isnan(cutoff)) return exhausted ? cnt : (size_t)-1;
  while (j < cnt && dist[j] <= cutoff)
    j++;
  if (j == cnt && !exhausted) return (size_t)-1; /* ties may continue past the fetched rows */
  return j;
}

/* x rounded to 2 decimals as Python's round(x, 2) does (correctly rounded, ties to even on the exact
 * binary value), which is what glibc's printf does */
static double round2(double x) {
  char buf[64];
  snprintf(buf, sizeof buf, "%.2f", x);
  return strtod(buf, NULL);
}

typedef struct {
  fc_strmap ids; /* primary term id -> slot */
  char **keys;
  double *sum;
  size_t *stamp;
  size_t n, cap;
} term_acc;

static fc_status acc_add(term_acc *a, const char *id, double ri, size_t stamp) {
  int64_t at;
  if (fc_strmap_get(&a->ids, id, strlen(id), &at)) {
    if (a->stamp[at] != stamp) { /* once per protein */
      a->sum[at] += ri;
      a->stamp[at] = stamp;
    }
    return FC_OK;
  }
  if (a->n == a->cap) {
    size_t cap = a->cap ? a->cap * 2 : 32;
    char **k = realloc(a->keys, cap * sizeof *k);
    if (!k) return FC_ENOMEM;
    a->keys = k;
    double *sm = realloc(a->sum, cap * sizeof *sm);
    if (!sm) return FC_ENOMEM;
    a->sum = sm;
    size_t *stp = realloc(a->stamp, cap * sizeof *stp);
    if (!stp) return FC_ENOMEM;
    a->stamp = stp;
    a->cap = cap;
  }
  char *c = fc_strdup(id);
  if (!c) return FC_ENOMEM;
  if (fc_strmap_put(&a->ids, c, strlen(c), (int64_t)a->n, NULL) < 0) {
    free(c);
    return FC_ENOMEM;
  }
  a->keys[a->n] = c;
  a->sum[a->n] = ri;
  a->stamp[a->n] = stamp;
  a->n++;
  return FC_OK;
}

static void acc_free(term_acc *a) {
  fc_strmap_free(&a->ids);
  for (size_t i = 0; i < a->n; i++)
    free(a->keys[i]);
  free(a->keys);
  free(a->sum);
  free(a->stamp);
}

/* score the hits of one query for one aspect and add the leaf terms to the prediction set */
static fc_status gopredsim_score(lookup_state *s, const fc_emb_block *b, size_t q, const char *model_name,
                                 const fc_refmatrix *mat, const int32_t *idx, const double *dist, size_t nh,
                                 char aspect, fc_go_ws *ws, fc_error *err) {
  const fc_lookup_opts *o = s->o;
  term_acc a;
  memset(&a, 0, sizeof a);
  if (fc_strmap_init(&a.ids, 64) != FC_OK) return fc_error_set(err, FC_ENOMEM, "out of memory");
  fc_status st = FC_OK;
  size_t hits = 0;
  for (size_t j = 0; j < nh && st == FC_OK; j++) {
    const fc_ref_sequence *rs = fc_refcatalog_get(s->cat, mat->sequence_ids[idx[j]]);
    if (!rs) continue;
    double d = (o->metric == FC_METRIC_COSINE && dist[j] < 0) ? 0.0 : dist[j];
    double ri = reliability(o->metric, d);
    for (size_t p = 0; p < rs->n_proteins && st == FC_OK; p++) {
      const fc_ref_protein *pr = &rs->proteins[p];
      if (!protein_passes(&s->tf, pr)) continue;
      int counted = 0;
      for (size_t g = 0; g < pr->n_go && st == FC_OK; g++) {
        const fc_ref_go *go = &pr->go[g];
        if (go_aspect(s, go) != aspect) continue;
        if (!counted) {
          hits++;
          counted = 1;
        }
        int ns;
        int32_t t;
        const char *id = go->go_id;
        fc_term_resolution r = fc_ontology_resolve(o->ontology, id, &ns, &t);
        if (r == FC_TERM_PRIMARY || r == FC_TERM_ALT || r == FC_TERM_REPLACED)
          id = fc_ontology_term_id(o->ontology, ns, t);
        if (acc_add(&a, id, ri, hits) != FC_OK) st = fc_error_set(err, FC_ENOMEM, "out of memory");
      }
    }
  }
  /* goPredSim: scores rounded to 2 decimals, zeros dropped, then only leaf terms kept (a term that is an
   * ancestor of another kept term goes) */
  size_t nns = fc_ontology_n_namespaces(o->ontology);
  int32_t *terms = malloc((a.n ? a.n : 1) * sizeof *terms);
  double *vals = malloc((a.n ? a.n : 1) * sizeof *vals);
  if (st == FC_OK && (!terms || !vals)) st = fc_error_set(err, FC_ENOMEM, "out of memory");
  for (size_t ns = 0; ns < nns && st == FC_OK; ns++) {
    size_t m = 0;
    for (size_t i = 0; i < a.n; i++) {
      int tns;
      int32_t t;
      fc_term_resolution r = fc_ontology_resolve(o->ontology, a.keys[i], &tns, &t);
      if (r == FC_TERM_UNKNOWN || r == FC_TERM_OBSOLETE || (size_t)tns != ns) continue;
      double v = round2(a.sum[i] / (double)hits);
      if (v <= 0) continue;
      terms[m] = t;
      vals[m++] = v;
    }
    if (!m) continue;
    fc_term_vec lv = {0};
    st = fc_ontology_leaves(o->ontology, (int)ns, terms, vals, m, ws, &lv, err);
    for (size_t i = 0; i < lv.n && st == FC_OK; i++)
      st = fc_predictions_add(o->predictions, model_name, b->layer, b->accessions[q],
                              fc_ontology_term_id(o->ontology, (int)ns, lv.terms[i]), lv.values[i], err);
    fc_term_vec_free(&lv);
  }
  free(terms);
  free(vals);
  acc_free(&a);
  return st;
}

/* one aspect of goPredSim scoring for a block: its own search among the references annotated in it */
static fc_status gopredsim_aspect(lookup_state *s, const fc_emb_block *b, size_t nq, const char *model_name,
                                  int64_t type_id, const fc_refmatrix *mat, const uint8_t *excluded,
                                  int32_t **qex, size_t *nqex, double threshold, char aspect, fc_raw_table *t,
                                  fc_error *err) {
  const fc_lookup_opts *o = s->o;
  uint8_t *ex = malloc(mat->n ? mat->n : 1);
  fc_go_ws *ws = fc_go_ws_new(o->ontology);
  fc_knn_result res;
  memset(&res, 0, sizeof res);
  fc_status st = FC_OK;
  if (!ex || !ws) {
    st = fc_error_set(err, FC_ENOMEM, "out of memory");
    goto done;
  }
  size_t avail = 0;
  for (size_t r = 0; r < mat->n; r++) {
    const fc_ref_sequence *rs = fc_refcatalog_get(s->cat, mat->sequence_ids[r]);
    ex[r] = excluded[r] || !rs || !proteins_in_aspect(s, rs, aspect);
    avail += !ex[r];
  }
  fc_log_info("lookup (goPredSim) %s layer %d, aspect %c: %zu reference sequences annotated", model_name,
              b->layer, aspect, avail);
  if (!avail || !nq) goto done;
  size_t kk = o->k + 8 > mat->n ? mat->n : o->k + 8;
  if (kk > FC_KNN_MAX_K) kk = FC_KNN_MAX_K;
  fc_knn_params kp;
  fc_knn_params_init(&kp);
  kp.metric = o->metric;
  kp.k = kk;
  kp.threshold = threshold;
  kp.ref_excluded = ex;
  kp.query_excluded = (const int32_t *const *)qex;
  kp.n_query_excluded = nqex;
  kp.threads = o->threads;
  if ((st = fc_knn_search(b->data, nq, mat->data, mat->n, mat->dim, mat->norms, &kp, &res, err)) != FC_OK)
    goto done;
  for (size_t q = 0; q < nq && st == FC_OK; q++) {
    const int32_t *idx = res.idx + q * res.k;
    const double *dist = res.dist + q * res.k;
    size_t cnt = res.count[q], want = kk;
    fc_knn_result more;
    memset(&more, 0, sizeof more);
    size_t nh = gopredsim_cut(s, mat, idx, dist, cnt, cnt < want || want >= mat->n, aspect);
    while (nh == (size_t)-1 && st == FC_OK) { /* ties or multi-protein rows past the fetched ones */
      want = want * 4 > mat->n ? mat->n : want * 4;
      if (want > FC_KNN_MAX_K) want = FC_KNN_MAX_K;
      fc_knn_params kq = kp;
      kq.k = want;
      kq.query_excluded = qex ? (const int32_t *const *)&qex[q] : NULL;
      kq.n_query_excluded = nqex ? &nqex[q] : NULL;
      fc_knn_result_free(&more);
      st = fc_knn_search(b->data + q * b->dim, 1, mat->data, mat->n, mat->dim, mat->norms, &kq, &more, err);
      if (st != FC_OK) break;
      idx = more.idx;
      dist = more.dist;
      cnt = more.count[0];
      int exhausted = cnt < want || want >= mat->n || want == FC_KNN_MAX_K;
      if (want == FC_KNN_MAX_K && cnt == want)
        fc_log_warn("lookup (goPredSim): %s: more than %d tied candidates; the hits are cut there",
                    b->accessions[q], FC_KNN_MAX_K);
      nh = gopredsim_cut(s, mat, idx, dist, cnt, exhausted, aspect);
    }
    if (st == FC_OK && nh)
      st = emit_rows(s, t, b, q, model_name, type_id, mat, idx, dist, nh, threshold, aspect, err);
    if (st == FC_OK && nh) st = gopredsim_score(s, b, q, model_name, mat, idx, dist, nh, aspect, ws, err);
    fc_knn_result_free(&more);
  }
done:
  fc_knn_result_free(&res);
  fc_go_ws_free(ws);
  free(ex);
  return st;
}

static fc_status run_block(lookup_state *s, const fc_emb_block *b, const fc_lookup_model *m, fc_raw_table *t,
                           fc_error *err) {
  const fc_lookup_opts *o = s->o;
  fc_refdb_space sp;
  memset(&sp, 0, sizeof sp);
  const char *want = b->model;
  char idbuf[32];
  fc_status st = fc_refdb_find_space(s->db, want, b->layer, &sp, err);
  if (st == FC_ENOTFOUND && m && m->type_id > 0) {
    snprintf(idbuf, sizeof idbuf, "%lld", (long long)m->type_id);
    st = fc_refdb_find_space(s->db, idbuf, b->layer, &sp, err);
  }
  if (st != FC_OK) return st;
  const char *model_name = m ? m->name : (sp.name ? sp.name : b->model);
  if (sp.dim != b->dim) {
    st = fc_error_set(
        err, FC_EMISMATCH,
        "model %s layer %d: query embeddings have %zu dimensions but the reference store has %zu", b->model,
        b->layer, b->dim, sp.dim);
    goto out;
  }
  if (b->pooling && sp.pooling && *b->pooling && *sp.pooling && strcmp(b->pooling, sp.pooling) != 0) {
    st = fc_error_set(
        err, FC_EMISMATCH,
        "model %s layer %d: queries were pooled as '%s' but the reference as '%s'; re-embed one side "
        "(embed --pooling, or embedding.models.<Name>.pooling in run)",
        b->model, b->layer, b->pooling, sp.pooling);
    goto out;
  }
  double threshold = (m && !isnan(m->threshold)) ? m->threshold : o->default_threshold;
  fc_log_info("lookup: %s layer %d: %zu queries x %zu references (dim %zu), k=%zu, %s", model_name, b->layer,
              b->n, sp.n_rows, sp.dim, o->k, fc_metric_name(o->metric));

  fc_refmatrix mat;
  memset(&mat, 0, sizeof mat);
  st = fc_refdb_load_matrix(s->db, sp.type_id, b->layer, &mat, err);
  if (st != FC_OK) goto out;

  /* reference rows that can never be returned: no annotated protein passing the taxonomy filter */
  uint8_t *excluded = calloc(mat.n ? mat.n : 1, 1);
  fc_strmap row_of_seq;
  int have_map = 0;
  int32_t **qex = NULL;
  size_t *nqex = NULL;
  fc_knn_result res;
  memset(&res, 0, sizeof res);
  if (!excluded) {
    st = fc_error_set(err, FC_ENOMEM, "out of memory");
    goto out_mat;
  }
  size_t n_excl = 0;
  for (size_t r = 0; r < mat.n; r++) {
    const fc_ref_sequence *rs = fc_refcatalog_get(s->cat, mat.sequence_ids[r]);
    excluded[r] = !rs || !seq_searchable(s, rs);
    n_excl += excluded[r];
  }
  if (n_excl)
    fc_log_info("lookup: %zu of %zu reference rows have no usable annotation after filters", n_excl, mat.n);

  if (o->exclude_self || s->red) {
    if (fc_strmap_init(&row_of_seq, mat.n) != FC_OK) {
      st = fc_error_set(err, FC_ENOMEM, "out of memory");
      goto out_mat;
    }
    have_map = 1;
    for (size_t r = 0; r < mat.n; r++)
      fc_strmap_put(&row_of_seq, (const char *)&mat.sequence_ids[r], sizeof(int64_t), (int64_t)r, NULL);
    qex = calloc(b->n ? b->n : 1, sizeof *qex);
    nqex = calloc(b->n ? b->n : 1, sizeof *nqex);
    if (!qex || !nqex) {
      st = fc_error_set(err, FC_ENOMEM, "out of memory");
      goto out_mat;
    }
    for (size_t q = 0; q < b->n; q++)
      if ((st = query_exclusions(s, b, q, &row_of_seq, &qex[q], &nqex[q], err)) != FC_OK) goto out_mat;
  }

  size_t nq = b->n;
  if (o->limit_queries && nq > o->limit_queries) nq = o->limit_queries;
  if (o->scoring == FC_SCORING_GOPREDSIM) {
    for (int a = 0; a < 3 && st == FC_OK; a++)
      st = gopredsim_aspect(s, b, nq, model_name, sp.type_id, &mat, excluded, qex, nqex, threshold, "PFC"[a],
                            t, err);
    goto out_mat;
  }
  int id_filter = !isnan(o->max_identity);
  size_t kk = o->k;
  if (id_filter) kk = o->k * 2 + 8;
  if (kk > mat.n) kk = mat.n ? mat.n : 1;

  fc_knn_params kp;
  fc_knn_params_init(&kp);
  kp.metric = o->metric;
  kp.k = kk;
  kp.threshold = threshold;
  kp.ref_excluded = excluded;
  kp.query_excluded = (const int32_t *const *)qex;
  kp.n_query_excluded = nqex;
  kp.threads = o->threads;
  char label[48];
  snprintf(label, sizeof label, "lookup %.20s L%d", model_name, b->layer);
  kp.progress = fc_progress_start(label, nq);
  st = fc_knn_search(b->data, nq, mat.data, mat.n, mat.dim, mat.norms, &kp, &res, err);
  fc_progress_finish(kp.progress);
  kp.progress = NULL;
  if (st != FC_OK) goto out_mat;

  fc_progress *pg = fc_progress_start("transfer", nq);
  for (size_t q = 0; q < nq && st == FC_OK; q++) {
    int32_t *idx = res.idx + q * res.k;
    double *dist = res.dist + q * res.k;
    size_t cnt = res.count[q];
    fc_knn_result more;
    memset(&more, 0, sizeof more);
    if (id_filter) {
      size_t kept =
          identity_filter(b->sequences[q], s->cat, &mat, idx, dist, cnt, o->k, o->max_identity, err);
      size_t want_k = kk;
      /* refill: fetch more candidates for this query until k survive or the reference is exhausted */
      while (kept != (size_t)-1 && kept < o->k && cnt == want_k && want_k < mat.n) {
        fc_knn_result_free(&more);
        want_k = want_k * 4 > mat.n ? mat.n : want_k * 4;
        fc_knn_params kq = kp;
        kq.k = want_k;
        kq.query_excluded = qex ? (const int32_t *const *)&qex[q] : NULL;
        kq.n_query_excluded = nqex ? &nqex[q] : NULL;
        st = fc_knn_search(b->data + q * b->dim, 1, mat.data, mat.n, mat.dim, mat.norms, &kq, &more, err);
        if (st != FC_OK) break;
        idx = more.idx;
        dist = more.dist;
        cnt = more.count[0];
        kept = identity_filter(b->sequences[q], s->cat, &mat, idx, dist, cnt, o->k, o->max_identity, err);
      }
      if (st == FC_OK && kept == (size_t)-1) st = err ? err->code : FC_EEXTERNAL;
      cnt = kept;
    }
    if (cnt > o->k) cnt = o->k;
    if (st == FC_OK)
      st = emit_rows(s, t, b, q, model_name, sp.type_id, &mat, idx, dist, cnt, threshold, 0, err);
    fc_knn_result_free(&more);
    fc_progress_update(pg, q + 1);
  }
  fc_progress_finish(pg);

out_mat:
  fc_knn_result_free(&res);
  if (qex)
    for (size_t q = 0; q < b->n; q++)
      free(qex[q]);
  free(qex);
  free(nqex);
  if (have_map) fc_strmap_free(&row_of_seq);
  free(excluded);
  fc_refmatrix_free(&mat);
out:
  fc_refdb_space_clear(&sp);
  return st;
}

fc_status fc_scoring_parse(const char *str, fc_scoring *out, fc_error *err) {
  if (str && !strcasecmp(str, "fantasia")) {
    *out = FC_SCORING_FANTASIA;
    return FC_OK;
  }
  if (str && !strcasecmp(str, "gopredsim")) {
    *out = FC_SCORING_GOPREDSIM;
    return FC_OK;
  }
  return fc_error_set(err, FC_EINVAL, "scoring '%s' is not fantasia or gopredsim", str ? str : "(null)");
}

const char *fc_scoring_name(fc_scoring s) {
  return s == FC_SCORING_GOPREDSIM ? "gopredsim" : "fantasia";
}

fc_status fc_lookup_run(const fc_embset *queries, const fc_lookup_opts *o, fc_raw_table *t, fc_error *err) {
  if (o->k < 1 || o->k > 10000)
    return fc_error_set(err, FC_EINVAL, "k (limit_per_entry) must be in 1..10000, got %zu", o->k);
  if (o->scoring == FC_SCORING_GOPREDSIM) {
    if (!o->ontology || !o->predictions)
      return fc_error_set(err, FC_EINVAL,
                          "goPredSim scoring needs the GO ontology (for the leaf reduction): set `ontology` "
                          "in the config or pass --ontology");
    if (!isnan(o->max_identity))
      return fc_error_set(err, FC_EUNSUPPORTED,
                          "goPredSim scoring does not combine with exclude_identity_above (FANTASIA's "
                          "benchmark mode); use exclude_self or redundancy masking instead");
  }
  lookup_state s;
  memset(&s, 0, sizeof s);
  s.o = o;
  fc_taxonomy *tax = NULL;
  fc_status st = fc_refdb_open(o->reference, &s.db, err);
  if (st != FC_OK) return st;
  if ((st = fc_refdb_load_catalog(s.db, &s.cat, err)) != FC_OK) goto out;
  if (o->taxonomy_nodes && *o->taxonomy_nodes &&
      (st = fc_taxonomy_load(o->taxonomy_nodes, &tax, err)) != FC_OK)
    goto out;
  fc_strmap_init(&s.tf.include, 16);
  fc_strmap_init(&s.tf.exclude, 16);
  if ((st = tax_add_list(&s.tf, &s.tf.exclude, o->tax_exclude, o->n_tax_exclude, tax, err)) != FC_OK)
    goto out;
  if ((st = tax_add_list(&s.tf, &s.tf.include, o->tax_include, o->n_tax_include, tax, err)) != FC_OK)
    goto out;
  s.tf.has_exclude = s.tf.exclude.n > 0;
  s.tf.has_include = s.tf.include.n > 0;

  size_t nseq = fc_refcatalog_count(s.cat);
  fc_strmap_init(&s.seq_by_text, nseq);
  fc_strmap_init(&s.seq_by_acc, nseq);
  fc_strmap_init(&s.qidx, 1024);
  fc_strmap_init(&s.ridx, 1024);
  for (size_t i = 0; i < nseq; i++) {
    const fc_ref_sequence *rs = fc_refcatalog_at(s.cat, i);
    if (rs->sequence && rs->sequence[0])
      fc_strmap_put(&s.seq_by_text, rs->sequence, strlen(rs->sequence), rs->id, NULL);
    for (size_t p = 0; p < rs->n_proteins; p++) {
      const fc_ref_protein *pr = &rs->proteins[p];
      if (pr->protein_id) fc_strmap_put(&s.seq_by_acc, pr->protein_id, strlen(pr->protein_id), rs->id, NULL);
      if (pr->accession) fc_strmap_put(&s.seq_by_acc, pr->accession, strlen(pr->accession), rs->id, NULL);
    }
  }

  if (o->redundancy_identity > 0) {
    st = fc_redundancy_run(queries, s.cat, o->redundancy_identity, o->redundancy_coverage,
                           o->redundancy_threads, o->work_dir, &s.red, err);
    if (st != FC_OK) goto out;
  }

  if (queries->n_skipped) {
    fc_log_warn(
        "lookup: %zu accessions of the query file have no 'sequence' dataset and are skipped (as FANTASIA "
        "does), e.g. %s",
        queries->n_skipped, queries->skipped[0]);
    for (size_t i = 0; i < queries->n_skipped; i++)
      fc_log_debug("lookup: skipped accession %s", queries->skipped[i]);
  }
  size_t done_blocks = 0;
  for (size_t i = 0; i < queries->n_blocks && st == FC_OK; i++) {
    const fc_emb_block *b = &queries->blocks[i];
    const fc_lookup_model *m = match_model(o, b->model);
    if (o->models && !m) {
      fc_log_info("lookup: skipping model '%s' of the query file: not enabled in the configuration",
                  b->model);
      continue;
    }
    if (!layer_wanted(m, b->layer)) continue;
    st = run_block(&s, b, m, t, err);
    done_blocks++;
  }
  if (st == FC_OK && done_blocks == 0) {
    /* name what was asked and what the file has, so the message says which side is wrong */
    char asked[256] = "", have[256] = "";
    size_t na = 0, nh = 0;
    for (size_t i = 0; o->models && i < o->n_models && na < sizeof asked; i++) {
      const fc_lookup_model *m = &o->models[i];
      if (!m->layers || !m->n_layers)
        na += (size_t)snprintf(asked + na, sizeof asked - na, "%s%s", na ? ", " : "", m->name);
      for (size_t l = 0; m->layers && l < m->n_layers && na < sizeof asked; l++)
        na += (size_t)snprintf(asked + na, sizeof asked - na, "%s%s layer %d", na ? ", " : "", m->name,
                               m->layers[l]);
    }
    for (size_t i = 0; i < queries->n_blocks && nh < sizeof have; i++)
      nh += (size_t)snprintf(have + nh, sizeof have - nh, "%s%s layer %d", nh ? ", " : "",
                             queries->blocks[i].model, queries->blocks[i].layer);
    st = fc_error_set(err, FC_ENOTFOUND,
                      "no (model, layer) of the query embeddings matches the enabled ones "
                      "(asked: %s; the query file has: %s)",
                      na ? asked : "all", nh ? have : "nothing");
  }
  /* a requested (model, layer) that the query file lacks is an error, not a silent no-op */
  for (size_t i = 0; st == FC_OK && o->models && i < o->n_models; i++) {
    const fc_lookup_model *m = &o->models[i];
    for (size_t l = 0; m->layers && l < m->n_layers; l++) {
      int found = 0;
      for (size_t bi = 0; bi < queries->n_blocks && !found; bi++)
        found = match_model(o, queries->blocks[bi].model) == m && queries->blocks[bi].layer == m->layers[l];
      if (!found)
        st = fc_error_set(err, FC_ENOTFOUND,
                          "model %s layer %d is enabled but the query embeddings have no such layer", m->name,
                          m->layers[l]);
    }
  }
out:
  fc_redundancy_free(s.red);
  fc_strmap_free(&s.seq_by_text);
  fc_strmap_free(&s.seq_by_acc);
  fc_strmap_free(&s.qidx);
  fc_strmap_free(&s.ridx);
  taxfilter_free(&s.tf);
  fc_taxonomy_free(tax);
  fc_refcatalog_free(s.cat);
  fc_refdb_close(s.db, 0, NULL);
  return st;
}
