/* knn: the fast search (float32 sgemm + selection + float64 rescoring) must return exactly what a float64
 * brute force returns: the scalar twin on awkward small sizes, and an independent dgemm-based float64
 * brute force on the large case (2000 x 50000 x 1024; 200 x 5000 x 1024 under the sanitizer). */
#include <cblas.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fantasia/core.h"
#include "fantasia/knn.h"

static uint64_t rng_state;
static void rng_seed(uint64_t s) {
  rng_state = s * 2654435761u + 12345;
}
static uint32_t rng_u32(void) {
  rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
  return (uint32_t)(rng_state >> 32);
}
static float rng_f(void) { /* uniform in [-1, 1) */
  return (float)((double)rng_u32() / 2147483648.0 - 1.0);
}

static int sanitize(void) {
  const char *s = getenv("FC_SANITIZE");
  return s && (strcmp(s, "1") == 0 || strcmp(s, "ON") == 0 || strcmp(s, "TRUE") == 0);
}

/* Random data with structure: some queries are noisy copies of references, some references are exact
 * duplicates of others (planted ties), plus zero vectors. */
static void make_data(float *Q, size_t nq, float *R, size_t nr, size_t dim, uint64_t seed, int plant) {
  rng_seed(seed);
  for (size_t t = 0; t < nr * dim; t++) R[t] = rng_f() + 0.3f;
  for (size_t t = 0; t < nq * dim; t++) Q[t] = rng_f() + 0.3f;
  if (!plant || nr < 4) return;
  /* duplicated reference rows: row j copied to 3 other places */
  for (size_t c = 0; c < nr / 50 + 1; c++) {
    size_t src = rng_u32() % nr;
    for (int rep = 0; rep < 3; rep++) {
      size_t dst = rng_u32() % nr;
      if (dst != src) memcpy(R + dst * dim, R + src * dim, dim * sizeof *R);
    }
  }
  for (size_t i = 0; i < nq; i++) {
    size_t j = rng_u32() % nr;
    if (i % 3 == 0) { /* exact copy of a reference row (distance 0 to it and to its duplicates) */
      memcpy(Q + i * dim, R + j * dim, dim * sizeof *Q);
    } else if (i % 3 == 1) {
      for (size_t t = 0; t < dim; t++) Q[i * dim + t] = R[j * dim + t] + 0.05f * rng_f();
    }
  }
  /* zero vectors */
  memset(R + (nr / 3) * dim, 0, dim * sizeof *R);
  memset(R + (nr / 2) * dim, 0, dim * sizeof *R);
  if (nq > 2) memset(Q + (nq - 2) * dim, 0, dim * sizeof *Q);
}

static void assert_same(const fc_knn_result *a, const fc_knn_result *b, const char *what) {
  assert_int_equal(a->nq, b->nq);
  assert_int_equal(a->k, b->k);
  for (size_t i = 0; i < a->nq; i++) {
    if (a->count[i] != b->count[i]) fail_msg("%s: query %zu count %zu vs %zu", what, i, a->count[i], b->count[i]);
    for (size_t t = 0; t < a->count[i]; t++) {
      size_t x = i * a->k + t;
      if (a->idx[x] != b->idx[x])
        fail_msg("%s: query %zu rank %zu: row %d (d=%.17g) vs row %d (d=%.17g)", what, i, t, a->idx[x],
                 a->dist[x], b->idx[x], b->dist[x]);
      double d = fabs(a->dist[x] - b->dist[x]);
      if (!(d <= 1e-9 * fmax(1.0, fabs(b->dist[x]))))
        fail_msg("%s: query %zu rank %zu: distance %.17g vs %.17g", what, i, t, a->dist[x], b->dist[x]);
      if (t > 0) { /* ascending, ties by row */
        assert_true(a->dist[x - 1] < a->dist[x] || (a->dist[x - 1] == a->dist[x] && a->idx[x - 1] < a->idx[x]));
      }
    }
  }
}

static void assert_identical(const fc_knn_result *a, const fc_knn_result *b) {
  assert_int_equal(a->nq, b->nq);
  assert_memory_equal(a->count, b->count, a->nq * sizeof *a->count);
  assert_memory_equal(a->idx, b->idx, a->nq * a->k * sizeof *a->idx);
  for (size_t t = 0; t < a->nq * a->k; t++)
    assert_true((isnan(a->dist[t]) && isnan(b->dist[t])) || a->dist[t] == b->dist[t]);
}

/* fast vs twin, with several thread counts and tile sizes (all must give identical output) */
static void check_vs_twin(const float *Q, size_t nq, const float *R, size_t nr, size_t dim, fc_knn_params p,
                          const char *what) {
  fc_knn_result fast, twin, other;
  fc_error e;
  assert_int_equal(fc_knn_search_scalar(Q, nq, R, nr, dim, NULL, &p, &twin, &e), FC_OK);
  p.threads = 1;
  assert_int_equal(fc_knn_search(Q, nq, R, nr, dim, NULL, &p, &fast, &e), FC_OK);
  assert_same(&fast, &twin, what);
  const size_t tiles[][2] = {{0, 0}, {5, 97}, {16, 333}, {1, 1}};
  for (int t = 0; t < 4; t++) {
    if (tiles[t][1] == 1 && nr > 2000) continue;
    p.threads = 2 + (t & 1);
    p.query_block = tiles[t][0];
    p.ref_block = tiles[t][1];
    assert_int_equal(fc_knn_search(Q, nq, R, nr, dim, NULL, &p, &other, &e), FC_OK);
    assert_identical(&fast, &other);
    fc_knn_result_free(&other);
  }
  fc_knn_result_free(&fast);
  fc_knn_result_free(&twin);
}

static void test_metric_parse(void **state) {
  (void)state;
  fc_metric m;
  fc_error e;
  assert_int_equal(fc_metric_parse("cosine", &m, &e), FC_OK);
  assert_int_equal(m, FC_METRIC_COSINE);
  assert_int_equal(fc_metric_parse("Euclidean", &m, &e), FC_OK);
  assert_int_equal(m, FC_METRIC_EUCLIDEAN);
  assert_int_equal(fc_metric_parse("manhattan", &m, &e), FC_EINVAL);
  assert_non_null(strstr(e.msg, "manhattan"));
  assert_int_equal(fc_metric_parse(NULL, &m, &e), FC_EINVAL);
  assert_string_equal(fc_metric_name(FC_METRIC_COSINE), "cosine");
  assert_string_equal(fc_metric_name(FC_METRIC_EUCLIDEAN), "euclidean");
}

static void test_definitions(void **state) {
  (void)state;
  float q[3] = {3, 0, 4}, r[3] = {0, 0, 5}, z[3] = {0, 0, 0};
  double qq = fc_knn_dot64(q, q, 3), rr = fc_knn_dot64(r, r, 3);
  assert_true(qq == 25 && rr == 25);
  assert_true(fabs(fc_knn_distance64(FC_METRIC_COSINE, fc_knn_dot64(q, r, 3), qq, rr) - 0.2) < 1e-15);
  assert_true(fabs(fc_knn_distance64(FC_METRIC_EUCLIDEAN, fc_knn_dot64(q, r, 3), qq, rr) - sqrt(10)) < 1e-12);
  /* zero vector: cosine distance 1 (FANTASIA's GPU rule), not NaN */
  assert_true(fc_knn_distance64(FC_METRIC_COSINE, fc_knn_dot64(z, r, 3), 0, rr) == 1.0);
  assert_true(fc_knn_distance64(FC_METRIC_COSINE, 0, 0, 0) == 1.0);
  assert_true(fc_knn_distance64(FC_METRIC_EUCLIDEAN, 0, 0, rr) == 5.0);
}

static void test_random_awkward(void **state) {
  (void)state;
  const size_t sizes[][3] = {{37, 1001, 67}, {1, 1, 1}, {5, 3, 2}, {13, 2500, 129}, {70, 777, 31}};
  const size_t ks[] = {1, 7, 100, 5000};
  for (int s = 0; s < 5; s++) {
    size_t nq = sizes[s][0], nr = sizes[s][1], dim = sizes[s][2];
    float *Q = malloc(nq * dim * sizeof *Q), *R = malloc(nr * dim * sizeof *R);
    make_data(Q, nq, R, nr, dim, 100 + (uint64_t)s, 0);
    for (int m = 0; m < 2; m++)
      for (int k = 0; k < 4; k++) {
        fc_knn_params p;
        fc_knn_params_init(&p);
        p.metric = (fc_metric)m;
        p.k = ks[k];
        char what[128];
        snprintf(what, sizeof what, "random %zux%zux%zu %s k=%zu", nq, nr, dim, fc_metric_name(p.metric), p.k);
        check_vs_twin(Q, nq, R, nr, dim, p, what);
      }
    free(Q);
    free(R);
  }
}

static void test_ties_zero_filters(void **state) {
  (void)state;
  size_t nq = 41, nr = 1203, dim = 67;
  float *Q = malloc(nq * dim * sizeof *Q), *R = malloc(nr * dim * sizeof *R);
  make_data(Q, nq, R, nr, dim, 7, 1);
  uint8_t *rex = calloc(nr, 1);
  for (size_t j = 0; j < nr; j++) rex[j] = (rng_u32() % 10) < 3;
  int32_t **qex = calloc(nq, sizeof *qex);
  size_t *nqex = calloc(nq, sizeof *nqex);
  for (size_t i = 0; i < nq; i++) {
    if (i % 4 == 3) continue; /* some queries have no list */
    qex[i] = malloc(nr * sizeof **qex);
    for (size_t j = 0; j < nr; j++)
      if (rng_u32() % 5 == 0) qex[i][nqex[i]++] = (int32_t)j;
  }
  const size_t ks[] = {1, 7, 100, 5000};
  for (int m = 0; m < 2; m++)
    for (int k = 0; k < 4; k++)
      for (int f = 0; f < 6; f++) {
        fc_knn_params p;
        fc_knn_params_init(&p);
        p.metric = (fc_metric)m;
        p.k = ks[k];
        if (f == 1) p.ref_excluded = rex;
        if (f == 2) {
          p.query_excluded = (const int32_t *const *)qex;
          p.n_query_excluded = nqex;
        }
        if (f == 3) p.threshold = m == 0 ? 0.9 : 9.0; /* cuts some but not all */
        if (f == 4) p.threshold = 0.0;                /* only exact duplicates (inclusive) */
        if (f == 5) {
          p.threshold = m == 0 ? 0.95 : 10.0;
          p.ref_excluded = rex;
          p.query_excluded = (const int32_t *const *)qex;
          p.n_query_excluded = nqex;
        }
        char what[128];
        snprintf(what, sizeof what, "ties %s k=%zu filter=%d", fc_metric_name(p.metric), p.k, f);
        check_vs_twin(Q, nq, R, nr, dim, p, what);
      }
  /* planted ties come out ordered by row: a query equal to a duplicated row lists all copies at d=0 */
  fc_knn_params p;
  fc_knn_params_init(&p);
  p.metric = FC_METRIC_EUCLIDEAN;
  p.k = 5;
  fc_knn_result r;
  assert_int_equal(fc_knn_search(Q, nq, R, nr, dim, NULL, &p, &r, NULL), FC_OK);
  assert_true(r.dist[0] == 0.0);
  fc_knn_result_free(&r);
  /* the zero query under cosine: every distance is exactly 1, rows in order, skipping excluded rows */
  p.metric = FC_METRIC_COSINE;
  p.k = 3;
  p.ref_excluded = rex;
  assert_int_equal(fc_knn_search(Q, nq, R, nr, dim, NULL, &p, &r, NULL), FC_OK);
  size_t zq = nq - 2, expect = 0;
  for (size_t t = 0; t < 3; t++) {
    while (rex[expect]) expect++;
    assert_int_equal(r.idx[zq * 3 + t], (int32_t)expect);
    assert_true(r.dist[zq * 3 + t] == 1.0);
    expect++;
  }
  fc_knn_result_free(&r);
  for (size_t i = 0; i < nq; i++) free(qex[i]);
  free(qex);
  free(nqex);
  free(rex);
  free(Q);
  free(R);
}

/* all references identical: every distance ties, the answer is rows 0..K-1 */
static void test_all_tied(void **state) {
  (void)state;
  size_t nq = 9, nr = 3001, dim = 19;
  float *Q = malloc(nq * dim * sizeof *Q), *R = malloc(nr * dim * sizeof *R);
  make_data(Q, nq, R, nr, dim, 3, 0);
  for (size_t j = 1; j < nr; j++) memcpy(R + j * dim, R, dim * sizeof *R);
  for (int m = 0; m < 2; m++) {
    fc_knn_params p;
    fc_knn_params_init(&p);
    p.metric = (fc_metric)m;
    p.k = 50;
    check_vs_twin(Q, nq, R, nr, dim, p, "all tied");
    fc_knn_result r;
    assert_int_equal(fc_knn_search(Q, nq, R, nr, dim, NULL, &p, &r, NULL), FC_OK);
    for (size_t t = 0; t < 50; t++) assert_int_equal(r.idx[t], (int32_t)t);
    fc_knn_result_free(&r);
  }
  free(Q);
  free(R);
}

static void test_edges(void **state) {
  (void)state;
  size_t dim = 10;
  float Q[30], R[50];
  make_data(Q, 3, R, 5, dim, 9, 0);
  fc_knn_params p;
  fc_knn_params_init(&p);
  fc_knn_result r;
  fc_error e;
  /* K > nr: all rows */
  p.k = 9;
  check_vs_twin(Q, 3, R, 5, dim, p, "k > nr");
  assert_int_equal(fc_knn_search(Q, 3, R, 5, dim, NULL, &p, &r, &e), FC_OK);
  for (size_t i = 0; i < 3; i++) {
    assert_int_equal(r.count[i], 5);
    assert_int_equal(r.idx[i * 9 + 5], -1);
    assert_true(isnan(r.dist[i * 9 + 8]));
  }
  fc_knn_result_free(&r);
  /* nr = 0, nq = 0 */
  assert_int_equal(fc_knn_search(Q, 3, R, 0, dim, NULL, &p, &r, &e), FC_OK);
  assert_int_equal(r.nq, 3);
  for (size_t i = 0; i < 3; i++) assert_int_equal(r.count[i], 0);
  fc_knn_result_free(&r);
  assert_int_equal(fc_knn_search(Q, 0, R, 5, dim, NULL, &p, &r, &e), FC_OK);
  assert_int_equal(r.nq, 0);
  fc_knn_result_free(&r);
  assert_int_equal(fc_knn_search_scalar(Q, 0, R, 0, dim, NULL, &p, &r, &e), FC_OK);
  fc_knn_result_free(&r);
  /* negative threshold: nothing */
  p.threshold = -1;
  p.metric = FC_METRIC_EUCLIDEAN;
  assert_int_equal(fc_knn_search(Q, 3, R, 5, dim, NULL, &p, &r, &e), FC_OK);
  for (size_t i = 0; i < 3; i++) assert_int_equal(r.count[i], 0);
  fc_knn_result_free(&r);
  /* bad arguments */
  p.threshold = NAN;
  p.k = 0;
  assert_int_equal(fc_knn_search(Q, 3, R, 5, dim, NULL, &p, &r, &e), FC_EINVAL);
  assert_non_null(strstr(e.msg, "k = 0"));
  p.k = FC_KNN_MAX_K + 1;
  assert_int_equal(fc_knn_search(Q, 3, R, 5, dim, NULL, &p, &r, &e), FC_EINVAL);
  p.k = FC_KNN_MAX_K;
  check_vs_twin(Q, 3, R, 5, dim, p, "k = max");
  p.k = 2;
  p.metric = (fc_metric)7;
  assert_int_equal(fc_knn_search(Q, 3, R, 5, dim, NULL, &p, &r, &e), FC_EINVAL);
  p.metric = FC_METRIC_COSINE;
  assert_int_equal(fc_knn_search(Q, 3, R, 5, 0, NULL, &p, &r, &e), FC_EINVAL);
  assert_int_equal(fc_knn_search(Q, 3, R, 5, dim, NULL, NULL, &r, &e), FC_EINVAL);
  p.threads = -1;
  assert_int_equal(fc_knn_search(Q, 3, R, 5, dim, NULL, &p, &r, &e), FC_EINVAL);
  p.threads = 0;
  /* non-finite input: clean error, both implementations */
  float keep = R[13];
  R[13] = NAN;
  assert_int_equal(fc_knn_search(Q, 3, R, 5, dim, NULL, &p, &r, &e), FC_EINVAL);
  assert_non_null(strstr(e.msg, "reference row 1"));
  assert_int_equal(fc_knn_search_scalar(Q, 3, R, 5, dim, NULL, &p, &r, &e), FC_EINVAL);
  R[13] = keep;
  Q[25] = INFINITY;
  assert_int_equal(fc_knn_search(Q, 3, R, 5, dim, NULL, &p, &r, &e), FC_EINVAL);
  assert_non_null(strstr(e.msg, "query row 2"));
  assert_int_equal(fc_knn_search_scalar(Q, 3, R, 5, dim, NULL, &p, &r, &e), FC_EINVAL);
}

/* caller-supplied float32 norms give the same answer */
static void test_given_norms(void **state) {
  (void)state;
  size_t nq = 23, nr = 2111, dim = 33;
  float *Q = malloc(nq * dim * sizeof *Q), *R = malloc(nr * dim * sizeof *R), *rn = malloc(nr * sizeof *rn);
  make_data(Q, nq, R, nr, dim, 11, 1);
  for (size_t j = 0; j < nr; j++) { /* a naive float32 norm, as a caller would compute it */
    float s = 0;
    for (size_t t = 0; t < dim; t++) s += R[j * dim + t] * R[j * dim + t];
    rn[j] = sqrtf(s);
  }
  for (int m = 0; m < 2; m++) {
    fc_knn_params p;
    fc_knn_params_init(&p);
    p.metric = (fc_metric)m;
    p.k = 10;
    fc_knn_result a, b;
    assert_int_equal(fc_knn_search(Q, nq, R, nr, dim, rn, &p, &a, NULL), FC_OK);
    assert_int_equal(fc_knn_search_scalar(Q, nq, R, nr, dim, NULL, &p, &b, NULL), FC_OK);
    assert_same(&a, &b, "given norms");
    fc_knn_result_free(&a);
    fc_knn_result_free(&b);
  }
  free(Q);
  free(R);
  free(rn);
}

/* ---- the large case against an independent float64 brute force ----
 * Reference: dgemm over the float64 copies gives all dot products (error ~1e-13, far below the 1e-9
 * margin); per query, every row within the margin of the M-th best is then rescored with the twin's
 * arithmetic (fc_knn_dot64 / fc_knn_distance64) and sorted by (distance, row): the exact top-M list. */
typedef struct {
  double d;
  int32_t row;
} refc;

static int refc_cmp(const void *a, const void *b) {
  const refc *x = a, *y = b;
  if (x->d != y->d) return x->d < y->d ? -1 : 1;
  return (x->row > y->row) - (x->row < y->row);
}
static int dbl_cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}
/* k-th smallest (0-based), reordering a */
static double dselect(double *a, size_t n, size_t k) {
  size_t lo = 0, hi = n;
  while (hi - lo > 1) {
    double piv = a[lo + (hi - lo) / 2];
    size_t lt = lo, i = lo, gt = hi;
    while (i < gt) {
      double x = a[i];
      if (x < piv) {
        a[i++] = a[lt];
        a[lt++] = x;
      } else if (x > piv) {
        a[i] = a[--gt];
        a[gt] = x;
      } else {
        i++;
      }
    }
    if (k < lt)
      hi = lt;
    else if (k >= gt)
      lo = gt;
    else
      return piv;
  }
  return a[lo];
}
typedef struct {
  int32_t row;
  uint32_t q;
} pairq;
static int pairq_cmp(const void *a, const void *b) {
  const pairq *x = a, *y = b;
  if (x->row != y->row) return x->row < y->row ? -1 : 1;
  return (x->q > y->q) - (x->q < y->q);
}

/* lists[metric][i*M .. ]: exact top-M (distance, row) of query i, unfiltered. */
static void brute64(const float *Q, size_t nq, const float *R, size_t nr, size_t dim, size_t M, refc **lists) {
  double *Rd = malloc(nr * dim * sizeof *Rd), *rr = malloc(nr * sizeof *rr);
  for (size_t t = 0; t < nr * dim; t++) Rd[t] = R[t];
  for (size_t j = 0; j < nr; j++) rr[j] = fc_knn_dot64(R + j * dim, R + j * dim, dim);
  const size_t CH = 64;
  double *Qd = malloc(CH * dim * sizeof *Qd), *G = malloc(CH * nr * sizeof *G), *tmp = malloc(nr * sizeof *tmp);
  pairq *pairs = malloc(CH * nr * sizeof *pairs);
  double *exact = malloc(CH * nr * sizeof *exact);
  size_t *cnt = malloc((CH + 1) * sizeof *cnt);
  refc *buf = malloc(nr * sizeof *buf);
  for (size_t q0 = 0; q0 < nq; q0 += CH) {
    size_t m = nq - q0 < CH ? nq - q0 : CH;
    for (size_t t = 0; t < m * dim; t++) Qd[t] = Q[q0 * dim + t];
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)nr, (int)dim, 1.0, Qd, (int)dim, Rd, (int)dim,
                0.0, G, (int)nr);
    for (int met = 0; met < 2; met++) {
      size_t np = 0;
      for (size_t i = 0; i < m; i++) {
        double qq = fc_knn_dot64(Q + (q0 + i) * dim, Q + (q0 + i) * dim, dim);
        double *g = G + i * nr;
        for (size_t j = 0; j < nr; j++)
          tmp[j] = met == 0 ? -g[j] / (fmax(sqrt(qq), 1e-12) * fmax(sqrt(rr[j]), 1e-12)) : rr[j] - 2.0 * g[j];
        memcpy(exact, tmp, nr * sizeof *tmp);
        size_t mm = M < nr ? M : nr;
        double cut = dselect(exact, nr, mm - 1);
        double marg = met == 0 ? 1e-9 : 1e-9 * (1.0 + qq + 2.0 * sqrt(qq) * 30.0 + 1000.0);
        cnt[i] = np;
        for (size_t j = 0; j < nr; j++)
          if (tmp[j] <= cut + marg || (met == 1 && tmp[j] <= -qq + marg)) {
            pairs[np].row = (int32_t)j;
            pairs[np].q = (uint32_t)i;
            np++;
          }
      }
      cnt[m] = np;
      qsort(pairs, np, sizeof *pairs, pairq_cmp); /* rows ascending: each row read once per chunk */
      for (size_t t = 0; t < np; t++) {
        size_t qi = q0 + pairs[t].q, j = (size_t)pairs[t].row;
        const float *q = Q + qi * dim;
        exact[t] = fc_knn_distance64((fc_metric)met, fc_knn_dot64(q, R + j * dim, dim), fc_knn_dot64(q, q, dim), rr[j]);
      }
      /* regroup per query */
      size_t *fill = calloc(m, sizeof *fill);
      size_t *start = calloc(m + 1, sizeof *start);
      for (size_t t = 0; t < np; t++) start[pairs[t].q + 1]++;
      for (size_t i = 0; i < m; i++) start[i + 1] += start[i];
      refc *all = malloc((np ? np : 1) * sizeof *all);
      for (size_t t = 0; t < np; t++) {
        uint32_t i = pairs[t].q;
        all[start[i] + fill[i]].d = exact[t];
        all[start[i] + fill[i]].row = pairs[t].row;
        fill[i]++;
      }
      for (size_t i = 0; i < m; i++) {
        size_t n = start[i + 1] - start[i];
        memcpy(buf, all + start[i], n * sizeof *buf);
        qsort(buf, n, sizeof *buf, refc_cmp);
        size_t mm = M < nr ? M : nr;
        assert_true(n >= mm);
        memcpy(lists[met] + (q0 + i) * M, buf, mm * sizeof *buf);
      }
      free(all);
      free(fill);
      free(start);
    }
  }
  free(Rd);
  free(rr);
  free(Qd);
  free(G);
  free(tmp);
  free(pairs);
  free(exact);
  free(cnt);
  free(buf);
}

static int in_sorted(const int32_t *a, size_t n, int32_t x) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (a[mid] < x)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < n && a[lo] == x;
}

/* The expected answer, from the exact top-M list, the filters and the threshold. */
static void check_vs_lists(const fc_knn_result *r, const refc *lists, size_t M, size_t nr, const fc_knn_params *p,
                           const char *what) {
  for (size_t i = 0; i < r->nq; i++) {
    const refc *L = lists + i * M;
    size_t mm = M < nr ? M : nr, n = 0, t = 0;
    for (; t < mm && n < p->k; t++) {
      int32_t row = L[t].row;
      if (!isnan(p->threshold) && !(L[t].d <= p->threshold)) break;
      if (p->ref_excluded && p->ref_excluded[row]) continue;
      if (p->query_excluded && p->query_excluded[i] && in_sorted(p->query_excluded[i], p->n_query_excluded[i], row))
        continue;
      size_t x = i * r->k + n;
      if (n >= r->count[i] || r->idx[x] != row)
        fail_msg("%s: query %zu rank %zu: got row %d (d=%.17g), expected row %d (d=%.17g)", what, i, n,
                 n < r->count[i] ? r->idx[x] : -1, n < r->count[i] ? r->dist[x] : NAN, row, L[t].d);
      if (!(fabs(r->dist[x] - L[t].d) <= 1e-9 * fmax(1.0, fabs(L[t].d))))
        fail_msg("%s: query %zu rank %zu: distance %.17g vs %.17g", what, i, n, r->dist[x], L[t].d);
      n++;
    }
    /* the list must have been long enough to decide */
    assert_true(n == p->k || t < mm || mm == nr);
    if (r->count[i] != n) fail_msg("%s: query %zu: %zu results, expected %zu", what, i, r->count[i], n);
  }
}

static void test_large(void **state) {
  (void)state;
  size_t nq = 2000, nr = 50000, dim = 1024;
  if (sanitize()) {
    nq = 200;
    nr = 5000;
  }
  const size_t M = 5000;
  float *Q = fc_aligned_alloc(nq * dim * sizeof *Q), *R = fc_aligned_alloc(nr * dim * sizeof *R);
  assert_non_null(Q);
  assert_non_null(R);
  make_data(Q, nq, R, nr, dim, 2024, 1);
  refc *lists[2];
  lists[0] = malloc(nq * M * sizeof(refc));
  lists[1] = malloc(nq * M * sizeof(refc));
  double t0 = fc_now_seconds();
  brute64(Q, nq, R, nr, dim, M, lists);
  double t1 = fc_now_seconds();
  fprintf(stderr, "large case %zux%zux%zu: float64 brute force %.1f s\n", nq, nr, dim, t1 - t0);
  uint8_t *rex = calloc(nr, 1);
  for (size_t j = 0; j < nr; j++) rex[j] = (rng_u32() % 10) == 0;
  int32_t **qex = calloc(nq, sizeof *qex);
  size_t *nqex = calloc(nq, sizeof *nqex);
  for (size_t i = 0; i < nq; i++) { /* exclude each query's 3 nearest rows plus 20 random rows */
    qex[i] = malloc(23 * sizeof **qex);
    for (size_t t = 0; t < 3; t++) qex[i][nqex[i]++] = lists[0][i * M + t].row;
    for (size_t t = 0; t < 20; t++) qex[i][nqex[i]++] = (int32_t)(rng_u32() % nr);
    for (size_t a = 1; a < nqex[i]; a++) /* insertion sort + dedupe */
      for (size_t b = a; b > 0 && qex[i][b - 1] > qex[i][b]; b--) {
        int32_t x = qex[i][b];
        qex[i][b] = qex[i][b - 1];
        qex[i][b - 1] = x;
      }
    size_t u = 0;
    for (size_t a = 0; a < nqex[i]; a++)
      if (u == 0 || qex[i][u - 1] != qex[i][a]) qex[i][u++] = qex[i][a];
    nqex[i] = u;
  }
  const size_t ks[] = {1, 7, 100, 5000};
  for (int m = 0; m < 2; m++) {
    for (int run = 0; run < 7; run++) {
      fc_knn_params p;
      fc_knn_params_init(&p);
      p.metric = (fc_metric)m;
      p.threads = 2;
      p.k = run < 4 ? ks[run] : 100;
      const char *f = "none";
      if (run == 4) {
        p.ref_excluded = rex;
        f = "ref_excluded";
      } else if (run == 5) {
        p.query_excluded = (const int32_t *const *)qex;
        p.n_query_excluded = nqex;
        f = "query_excluded";
      } else if (run == 6) { /* threshold at the median of each list's 50th distance */
        p.k = 5000;
        double *v = malloc(nq * sizeof *v);
        for (size_t i = 0; i < nq; i++) v[i] = lists[m][i * M + 49].d;
        qsort(v, nq, sizeof *v, dbl_cmp);
        p.threshold = v[nq / 2];
        free(v);
        f = "threshold";
      }
      fc_knn_result r;
      double a = fc_now_seconds();
      assert_int_equal(fc_knn_search(Q, nq, R, nr, dim, NULL, &p, &r, NULL), FC_OK);
      double b = fc_now_seconds();
      char what[128];
      snprintf(what, sizeof what, "large %s k=%zu filter=%s", fc_metric_name(p.metric), p.k, f);
      fprintf(stderr, "%s: %.2f s\n", what, b - a);
      check_vs_lists(&r, lists[m], M, nr, &p, what);
      fc_knn_result_free(&r);
    }
  }
  for (size_t i = 0; i < nq; i++) free(qex[i]);
  free(qex);
  free(nqex);
  free(rex);
  free(lists[0]);
  free(lists[1]);
  fc_aligned_free(Q);
  fc_aligned_free(R);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_metric_parse),      cmocka_unit_test(test_definitions),
      cmocka_unit_test(test_random_awkward),    cmocka_unit_test(test_ties_zero_filters),
      cmocka_unit_test(test_all_tied),          cmocka_unit_test(test_edges),
      cmocka_unit_test(test_given_norms),       cmocka_unit_test(test_large),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
