/* knn: metric names, the shared float64 arithmetic, result handling, and the scalar brute-force twin. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fantasia/knn.h"
#include "knn/knn_internal.h"

fc_status fc_metric_parse(const char *s, fc_metric *out, fc_error *err) {
  if (!s || !out) return fc_error_set(err, FC_EINVAL, "metric: missing value");
  if (strcasecmp(s, "cosine") == 0) {
    *out = FC_METRIC_COSINE;
    return FC_OK;
  }
  if (strcasecmp(s, "euclidean") == 0) {
    *out = FC_METRIC_EUCLIDEAN;
    return FC_OK;
  }
  return fc_error_set(err, FC_EINVAL, "metric: unknown distance metric '%s' (expected cosine or euclidean)",
                      s);
}

const char *fc_metric_name(fc_metric m) {
  switch (m) {
  case FC_METRIC_COSINE:
    return "cosine";
  case FC_METRIC_EUCLIDEAN:
    return "euclidean";
  }
  return "unknown";
}

void fc_knn_params_init(fc_knn_params *p) {
  memset(p, 0, sizeof *p);
  p->metric = FC_METRIC_COSINE;
  p->k = 1;
  p->threshold = NAN;
}

/* Fixed summation order: 16 interleaved partial sums acc[l] += a[i+l] b[i+l], folded acc[l] += acc[l+8],
 * then combined as a fixed tree. Every product of two floats is exact in double, so mul+add and FMA give
 * the same bits: the AVX2 version below and the portable one return identical results, and the twin,
 * the fast search and the tests all see the same values. */
static double dot64_finish(double *acc, const float *a, const float *b, size_t i, size_t dim) {
  for (int l = 0; i + (size_t)l < dim; l++)
    acc[l] += (double)a[i + l] * (double)b[i + l];
  for (int l = 0; l < 8; l++)
    acc[l] += acc[l + 8];
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

static double dot64_portable(const float *a, const float *b, size_t dim) {
  double acc[16] = {0};
  size_t i = 0;
  for (; i + 16 <= dim; i += 16)
    for (int l = 0; l < 16; l++)
      acc[l] += (double)a[i + l] * (double)b[i + l];
  return dot64_finish(acc, a, b, i, dim);
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
__attribute__((target("avx2,fma"))) static double dot64_avx2(const float *a, const float *b, size_t dim) {
  __m256d s0 = _mm256_setzero_pd(), s1 = s0, s2 = s0, s3 = s0;
  size_t i = 0;
  for (; i + 16 <= dim; i += 16) {
    s0 = _mm256_fmadd_pd(_mm256_cvtps_pd(_mm_loadu_ps(a + i)), _mm256_cvtps_pd(_mm_loadu_ps(b + i)), s0);
    s1 = _mm256_fmadd_pd(_mm256_cvtps_pd(_mm_loadu_ps(a + i + 4)), _mm256_cvtps_pd(_mm_loadu_ps(b + i + 4)),
                         s1);
    s2 = _mm256_fmadd_pd(_mm256_cvtps_pd(_mm_loadu_ps(a + i + 8)), _mm256_cvtps_pd(_mm_loadu_ps(b + i + 8)),
                         s2);
    s3 = _mm256_fmadd_pd(_mm256_cvtps_pd(_mm_loadu_ps(a + i + 12)), _mm256_cvtps_pd(_mm_loadu_ps(b + i + 12)),
                         s3);
  }
  double acc[16];
  _mm256_storeu_pd(acc, s0);
  _mm256_storeu_pd(acc + 4, s1);
  _mm256_storeu_pd(acc + 8, s2);
  _mm256_storeu_pd(acc + 12, s3);
  return dot64_finish(acc, a, b, i, dim);
}
#endif

double fc_knn_dot64(const float *a, const float *b, size_t dim) {
#if defined(__x86_64__) && defined(__GNUC__)
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return dot64_avx2(a, b, dim);
#endif
  return dot64_portable(a, b, dim);
}

/* Same bits as fc_knn_dot64(q, r) with qd[i] = (double)q[i]: the query row pre-converted once. */
static double dot64_dq_finish(double *acc, const double *a, const float *b, size_t i, size_t dim) {
  for (int l = 0; i + (size_t)l < dim; l++)
    acc[l] += a[i + l] * (double)b[i + l];
  for (int l = 0; l < 8; l++)
    acc[l] += acc[l + 8];
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

static double dot64_dq_portable(const double *a, const float *b, size_t dim) {
  double acc[16] = {0};
  size_t i = 0;
  for (; i + 16 <= dim; i += 16)
    for (int l = 0; l < 16; l++)
      acc[l] += a[i + l] * (double)b[i + l];
  return dot64_dq_finish(acc, a, b, i, dim);
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx2,fma"))) static double dot64_dq_avx2(const double *a, const float *b, size_t dim) {
  __m256d s0 = _mm256_setzero_pd(), s1 = s0, s2 = s0, s3 = s0;
  size_t i = 0;
  for (; i + 16 <= dim; i += 16) {
    s0 = _mm256_fmadd_pd(_mm256_loadu_pd(a + i), _mm256_cvtps_pd(_mm_loadu_ps(b + i)), s0);
    s1 = _mm256_fmadd_pd(_mm256_loadu_pd(a + i + 4), _mm256_cvtps_pd(_mm_loadu_ps(b + i + 4)), s1);
    s2 = _mm256_fmadd_pd(_mm256_loadu_pd(a + i + 8), _mm256_cvtps_pd(_mm_loadu_ps(b + i + 8)), s2);
    s3 = _mm256_fmadd_pd(_mm256_loadu_pd(a + i + 12), _mm256_cvtps_pd(_mm_loadu_ps(b + i + 12)), s3);
  }
  double acc[16];
  _mm256_storeu_pd(acc, s0);
  _mm256_storeu_pd(acc + 4, s1);
  _mm256_storeu_pd(acc + 8, s2);
  _mm256_storeu_pd(acc + 12, s3);
  return dot64_dq_finish(acc, a, b, i, dim);
}
#endif

double knn_dot64_dq(const double *qd, const float *r, size_t dim) {
#if defined(__x86_64__) && defined(__GNUC__)
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return dot64_dq_avx2(qd, r, dim);
#endif
  return dot64_dq_portable(qd, r, dim);
}

double knn_dot64_dq_portable(const double *qd, const float *r, size_t dim) {
  return dot64_dq_portable(qd, r, dim);
}

/* For the tests: the portable path, which must give the same bits as fc_knn_dot64. */
double knn_dot64_portable(const float *a, const float *b, size_t dim) {
  return dot64_portable(a, b, dim);
}

double fc_knn_distance64(fc_metric m, double dot, double qq, double rr) {
  if (m == FC_METRIC_COSINE) return 1.0 - dot / (fmax(sqrt(qq), 1e-12) * fmax(sqrt(rr), 1e-12));
  return sqrt(fmax(qq + rr - 2.0 * dot, 0.0));
}

void fc_knn_result_free(fc_knn_result *r) {
  if (!r) return;
  free(r->idx);
  free(r->dist);
  free(r->count);
  memset(r, 0, sizeof *r);
}

fc_status knn_check_args(const float *Q, size_t nq, const float *R, size_t nr, size_t dim,
                         const fc_knn_params *p, fc_knn_result *out, fc_error *err) {
  if (!p || !out) return fc_error_set(err, FC_EINVAL, "knn: missing parameters or result");
  memset(out, 0, sizeof *out);
  if (p->metric != FC_METRIC_COSINE && p->metric != FC_METRIC_EUCLIDEAN)
    return fc_error_set(err, FC_EINVAL, "knn: unknown metric %d", (int)p->metric);
  if (p->k < 1 || p->k > FC_KNN_MAX_K)
    return fc_error_set(err, FC_EINVAL, "knn: k = %zu is outside 1..%d", p->k, FC_KNN_MAX_K);
  if (p->threads < 0) return fc_error_set(err, FC_EINVAL, "knn: negative thread count %d", p->threads);
  if (nr > (size_t)INT32_MAX)
    return fc_error_set(err, FC_EUNSUPPORTED, "knn: %zu reference rows exceed 2^31-1", nr);
  if (dim > KNN_MAX_DIM)
    return fc_error_set(err, FC_EUNSUPPORTED, "knn: dimension %zu exceeds %d", dim, KNN_MAX_DIM);
  if ((nq && !Q) || (nr && !R)) return fc_error_set(err, FC_EINVAL, "knn: missing query or reference matrix");
  if (nq && nr && dim == 0) return fc_error_set(err, FC_EINVAL, "knn: dimension is 0");
  if (nq && p->n_query_excluded && !p->query_excluded)
    return fc_error_set(err, FC_EINVAL, "knn: n_query_excluded given without query_excluded");
  if (p->query_excluded && p->n_query_excluded)
    for (size_t i = 0; i < nq; i++) {
      const int32_t *ex = p->query_excluded[i];
      size_t n = p->n_query_excluded[i];
      if (n && !ex)
        return fc_error_set(err, FC_EINVAL, "knn: query %zu: %zu excluded rows but no list", i, n);
      for (size_t t = 1; t < n; t++)
        if (ex[t] < ex[t - 1])
          return fc_error_set(err, FC_EINVAL,
                              "knn: query %zu: excluded rows not sorted (position %zu: %d after %d)", i, t,
                              (int)ex[t], (int)ex[t - 1]);
    }
  out->nq = nq;
  out->k = p->k;
  size_t n = nq * p->k;
  out->idx = malloc((n ? n : 1) * sizeof *out->idx);
  out->dist = malloc((n ? n : 1) * sizeof *out->dist);
  out->count = calloc(nq ? nq : 1, sizeof *out->count);
  if (!out->idx || !out->dist || !out->count) {
    fc_knn_result_free(out);
    return fc_error_set(err, FC_ENOMEM, "knn: cannot allocate the result for %zu queries x k = %zu", nq,
                        p->k);
  }
  for (size_t i = 0; i < n; i++) {
    out->idx[i] = -1;
    out->dist[i] = NAN;
  }
  return FC_OK;
}

int knn_cand_cmp(const void *a, const void *b) {
  const knn_cand *x = a, *y = b;
  if (x->d < y->d) return -1;
  if (x->d > y->d) return 1;
  return (x->row > y->row) - (x->row < y->row);
}

/* ---- the scalar twin ---- */

fc_status fc_knn_search_scalar(const float *Q, size_t nq, const float *R, size_t nr, size_t dim,
                               const float *r_norms, const fc_knn_params *p, fc_knn_result *out,
                               fc_error *err) {
  (void)r_norms; /* the twin always works from the vectors themselves */
  fc_status st = knn_check_args(Q, nq, R, nr, dim, p, out, err);
  if (st != FC_OK || nq == 0 || nr == 0) return st;
  double *rr = malloc(nr * sizeof *rr);
  knn_cand *c = malloc(nr * sizeof *c);
  if (!rr || !c) {
    free(rr);
    free(c);
    fc_knn_result_free(out);
    return fc_error_set(err, FC_ENOMEM, "knn: out of memory (%zu references)", nr);
  }
  for (size_t j = 0; j < nr; j++) {
    rr[j] = fc_knn_dot64(R + j * dim, R + j * dim, dim);
    if (!isfinite(rr[j])) {
      free(rr);
      free(c);
      fc_knn_result_free(out);
      return fc_error_set(err, FC_EINVAL, "knn: reference row %zu is not finite", j);
    }
  }
  int has_thr = !isnan(p->threshold);
  for (size_t i = 0; i < nq; i++) {
    const float *q = Q + i * dim;
    double qq = fc_knn_dot64(q, q, dim);
    if (!isfinite(qq)) {
      free(rr);
      free(c);
      fc_knn_result_free(out);
      return fc_error_set(err, FC_EINVAL, "knn: query row %zu is not finite", i);
    }
    const int32_t *ex = p->query_excluded ? p->query_excluded[i] : NULL;
    size_t nex = (ex && p->n_query_excluded) ? p->n_query_excluded[i] : 0, e = 0;
    size_t n = 0;
    for (size_t j = 0; j < nr; j++) {
      while (e < nex && (int64_t)ex[e] < (int64_t)j)
        e++;
      if (e < nex && (size_t)ex[e] == j) continue;
      if (p->ref_excluded && p->ref_excluded[j]) continue;
      double d = fc_knn_distance64(p->metric, fc_knn_dot64(q, R + j * dim, dim), qq, rr[j]);
      if (has_thr && !(d <= p->threshold)) continue;
      c[n].d = d;
      c[n].row = (int32_t)j;
      n++;
    }
    qsort(c, n, sizeof *c, knn_cand_cmp);
    size_t m = n < p->k ? n : p->k;
    for (size_t t = 0; t < m; t++) {
      out->idx[i * p->k + t] = c[t].row;
      out->dist[i * p->k + t] = c[t].d;
    }
    out->count[i] = m;
  }
  free(rr);
  free(c);
  return FC_OK;
}
