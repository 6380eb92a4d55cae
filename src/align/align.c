/* FANTASIA alignment metrics (§6.3) with parasail's NW/SW striped 32-bit traceback kernels. */
#include "fantasia/align.h"

#include <parasail.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define GAP_OPEN 10
#define GAP_EXTEND 1

static void metrics_from_trace(const parasail_traceback_t *tb, double score, fc_align_metrics *m) {
  size_t len = strlen(tb->query);
  size_t matches = 0, similar = 0, gaps = 0;
  for (size_t i = 0; i < len; i++) {
    char a = tb->query[i], b = tb->ref[i], c = tb->comp[i];
    if (a != '-' && b != '-' && a == b) matches++;
    if (c == '|' || c == ':') similar++;
    gaps += (a == '-') + (b == '-');
  }
  m->score = score;
  m->length = (double)len;
  if (len == 0) {
    m->identity = m->similarity = m->gaps = 0;
    return;
  }
  m->identity = (double)matches / (double)len;
  m->similarity = (double)similar / (double)len;
  m->gaps = (double)gaps / (double)len;
}

static fc_status one(int local, const char *q, int lq, const char *r, int lr, const parasail_matrix_t *mat,
                     fc_align_metrics *m, fc_error *err) {
  memset(m, 0, sizeof *m);
  if (lq == 0 || lr == 0) return FC_OK;
  parasail_result_t *res = local ? parasail_sw_trace_striped_32(q, lq, r, lr, GAP_OPEN, GAP_EXTEND, mat)
                                 : parasail_nw_trace_striped_32(q, lq, r, lr, GAP_OPEN, GAP_EXTEND, mat);
  if (!res)
    return fc_error_set(err, FC_ENOMEM, "align: parasail failed (out of memory?) for lengths %d x %d", lq,
                        lr);
  double score = parasail_result_get_score(res);
  if (local && score <= 0) { /* empty local alignment */
    m->score = score;
    parasail_result_free(res);
    return FC_OK;
  }
  parasail_traceback_t *tb =
      parasail_result_get_traceback_extra(res, q, lq, r, lr, mat, '|', ':', '.', 0, NULL);
  if (!tb) {
    parasail_result_free(res);
    return fc_error_set(err, FC_ENOMEM, "align: parasail traceback failed for lengths %d x %d", lq, lr);
  }
  metrics_from_trace(tb, score, m);
  parasail_traceback_free(tb);
  parasail_result_free(res);
  return FC_OK;
}

fc_status fc_align_pair(const char *q, const char *r, fc_align_metrics *global, fc_align_metrics *local,
                        fc_error *err) {
  if (!q) q = "";
  if (!r) r = "";
  size_t lq = strlen(q), lr = strlen(r);
  if (lq > 1000000 || lr > 1000000)
    return fc_error_set(err, FC_EUNSUPPORTED, "align: sequence too long (%zu x %zu residues)", lq, lr);
  const parasail_matrix_t *mat = parasail_matrix_lookup("blosum62");
  if (!mat) return fc_error_set(err, FC_EEXTERNAL, "align: parasail has no blosum62 matrix");
  fc_status st = FC_OK;
  if (global) st = one(0, q, (int)lq, r, (int)lr, mat, global, err);
  if (!st && local) st = one(1, q, (int)lq, r, (int)lr, mat, local, err);
  return st;
}

typedef struct {
  const char *const *q, *const *r;
  size_t n;
  fc_align_metrics *g, *l;
  atomic_size_t next;
  atomic_int failed;
  pthread_mutex_t mu;
  fc_error err;
  fc_progress *pg;
} pool;

static void *worker(void *arg) {
  pool *p = arg;
  fc_error e;
  for (;;) {
    if (atomic_load(&p->failed)) break;
    size_t i = atomic_fetch_add(&p->next, 1);
    if (i >= p->n) break;
    fc_status st = fc_align_pair(p->q[i], p->r[i], p->g ? &p->g[i] : NULL, p->l ? &p->l[i] : NULL, &e);
    if (st) {
      pthread_mutex_lock(&p->mu);
      if (!atomic_load(&p->failed)) p->err = e;
      atomic_store(&p->failed, 1);
      pthread_mutex_unlock(&p->mu);
      break;
    }
    fc_progress_add(p->pg, 1);
  }
  return NULL;
}

fc_status fc_align_many(const char *const *q, const char *const *r, size_t n, int threads,
                        fc_align_metrics *global, fc_align_metrics *local, fc_error *err) {
  if (n == 0) return FC_OK;
  if (threads <= 0) threads = fc_num_threads();
  if ((size_t)threads > n) threads = (int)n;
  /* resolve parasail's CPU dispatch once before threads race on it */
  fc_align_metrics g0, l0;
  fc_status st0 = fc_align_pair("A", "A", &g0, &l0, err);
  if (st0) return st0;
  pool p = {.q = q, .r = r, .n = n, .g = global, .l = local};
  atomic_init(&p.next, 0);
  atomic_init(&p.failed, 0);
  pthread_mutex_init(&p.mu, NULL);
  p.pg = fc_progress_start("alignments", n);
  pthread_t *tid = calloc((size_t)threads, sizeof *tid);
  int started = 0;
  if (tid)
    for (; started < threads; started++)
      if (pthread_create(&tid[started], NULL, worker, &p) != 0) break;
  if (started == 0) worker(&p); /* no threads: do it here */
  for (int i = 0; i < started; i++)
    pthread_join(tid[i], NULL);
  free(tid);
  fc_progress_finish(p.pg);
  pthread_mutex_destroy(&p.mu);
  if (atomic_load(&p.failed)) {
    if (err) *err = p.err;
    return p.err.code ? p.err.code : FC_EEXTERNAL;
  }
  return FC_OK;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

fc_status fc_raw_table_fill_alignments(fc_raw_table *t, int threads, fc_error *err) {
  size_t n = fc_raw_table_size(t);
  uint64_t *pairs = malloc((n ? n : 1) * sizeof *pairs);
  if (!pairs) return fc_error_set(err, FC_ENOMEM, "align: out of memory");
  size_t np = 0;
  for (size_t i = 0; i < n; i++) {
    const fc_raw_row *row = fc_raw_table_row(t, i);
    if (row->sequence_query != FC_STR_EMPTY && row->sequence_reference != FC_STR_EMPTY)
      pairs[np++] = ((uint64_t)row->sequence_query << 32) | row->sequence_reference;
  }
  qsort(pairs, np, sizeof *pairs, cmp_u64);
  size_t u = 0;
  for (size_t i = 0; i < np; i++)
    if (u == 0 || pairs[u - 1] != pairs[i]) pairs[u++] = pairs[i];
  const char **qs = malloc((u ? u : 1) * sizeof *qs), **rs = malloc((u ? u : 1) * sizeof *rs);
  fc_align_metrics *g = malloc((u ? u : 1) * sizeof *g), *l = malloc((u ? u : 1) * sizeof *l);
  fc_status st = FC_OK;
  if (!qs || !rs || !g || !l) {
    st = fc_error_set(err, FC_ENOMEM, "align: out of memory");
    goto done;
  }
  /* pool pointers stay valid: nothing is interned while aligning */
  for (size_t i = 0; i < u; i++) {
    qs[i] = fc_raw_table_str(t, (uint32_t)(pairs[i] >> 32));
    rs[i] = fc_raw_table_str(t, (uint32_t)pairs[i]);
  }
  st = fc_align_many(qs, rs, u, threads, g, l, err);
  if (st) goto done;
  for (size_t i = 0; i < n; i++) {
    fc_raw_row *row = fc_raw_table_row(t, i);
    if (row->sequence_query == FC_STR_EMPTY || row->sequence_reference == FC_STR_EMPTY) {
      row->has_alignment = 0;
      continue;
    }
    uint64_t key = ((uint64_t)row->sequence_query << 32) | row->sequence_reference;
    size_t lo = 0, hi = u;
    while (lo < hi) {
      size_t mid = (lo + hi) / 2;
      if (pairs[mid] < key)
        lo = mid + 1;
      else
        hi = mid;
    }
    const fc_align_metrics *a = &g[lo], *b = &l[lo];
    row->has_alignment = 1;
    row->identity = a->identity;
    row->similarity = a->similarity;
    row->alignment_score = a->score;
    row->gaps_percentage = a->gaps;
    row->alignment_length = a->length;
    row->identity_sw = b->identity;
    row->similarity_sw = b->similarity;
    row->alignment_score_sw = b->score;
    row->gaps_percentage_sw = b->gaps;
    row->alignment_length_sw = b->length;
  }
done:
  free(pairs);
  free(qs);
  free(rs);
  free(g);
  free(l);
  return st;
}
