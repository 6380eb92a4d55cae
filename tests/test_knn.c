/* knn: the fast search (float32 sgemm + selection + float64 rescoring) must return exactly what a float64
 * brute force returns: the scalar twin on awkward small sizes, and an independent dgemm-based float64
 * brute force on the large case (2000 x 50000 x 1024; 200 x 5000 x 1024 under the sanitizer). */
#include <cblas.h>
#include <math.h>
#include <pthread.h>
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
#include "knn/knn_internal.h"

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
  for (size_t t = 0; t < nr * dim; t++)
    R[t] = rng_f() + 0.3f;
  for (size_t t = 0; t < nq * dim; t++)
    Q[t] = rng_f() + 0.3f;
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
      for (size_t t = 0; t < dim; t++)
        Q[i * dim + t] = R[j * dim + t] + 0.05f * rng_f();
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
    if (a->count[i] != b->count[i])
      fail_msg("%s: query %zu count %zu vs %zu", what, i, a->count[i], b->count[i]);
    for (size_t t = 0; t < a->count[i]; t++) {
      size_t x = i * a->k + t;
      if (a->idx[x] != b->idx[x])
        fail_msg("%s: query %zu rank %zu: row %d (d=%.17g) vs row %d (d=%.17g)", what, i, t, a->idx[x],
                 a->dist[x], b->idx[x], b->dist[x]);
      double d = fabs(a->dist[x] - b->dist[x]);
      if (!(d <= 1e-9 * fmax(1.0, fabs(b->dist[x]))))
        fail_msg("%s: query %zu rank %zu: distance %.17g vs %.17g", what, i, t, a->dist[x], b->dist[x]);
      if (t > 0) { /* ascending, ties by row */
        assert_true(a->dist[x - 1] < a->dist[x] ||
                    (a->dist[x - 1] == a->dist[x] && a->idx[x - 1] < a->idx[x]));
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

/* the SIMD dot product and the portable one agree bit for bit */
static void test_dot64_paths(void **state) {
  (void)state;
  float a[300], b[300];
  rng_seed(5);
  for (int t = 0; t < 300; t++) {
    a[t] = rng_f() * 1000.0f;
    b[t] = rng_f() * 1e-3f;
  }
  for (size_t dim = 0; dim <= 300; dim++) {
    double x = fc_knn_dot64(a, b, dim), y = knn_dot64_portable(a, b, dim);
    assert_memory_equal(&x, &y, sizeof x);
    double ad[300];
    for (size_t t = 0; t < dim; t++)
      ad[t] = a[t];
    y = knn_dot64_dq(ad, b, dim);
    assert_memory_equal(&x, &y, sizeof x);
    y = knn_dot64_dq_portable(ad, b, dim);
    assert_memory_equal(&x, &y, sizeof x);
    x = fc_knn_dot64(a + 1, a + 3, dim > 290 ? 290 : dim);
    y = knn_dot64_portable(a + 1, a + 3, dim > 290 ? 290 : dim);
    assert_memory_equal(&x, &y, sizeof x);
  }
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
        snprintf(what, sizeof what, "random %zux%zux%zu %s k=%zu", nq, nr, dim, fc_metric_name(p.metric),
                 p.k);
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
  for (size_t j = 0; j < nr; j++)
    rex[j] = (rng_u32() % 10) < 3;
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
    while (rex[expect])
      expect++;
    assert_int_equal(r.idx[zq * 3 + t], (int32_t)expect);
    assert_true(r.dist[zq * 3 + t] == 1.0);
    expect++;
  }
  fc_knn_result_free(&r);
  for (size_t i = 0; i < nq; i++)
    free(qex[i]);
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
  for (size_t j = 1; j < nr; j++)
    memcpy(R + j * dim, R, dim * sizeof *R);
  for (int m = 0; m < 2; m++) {
    fc_knn_params p;
    fc_knn_params_init(&p);
    p.metric = (fc_metric)m;
    p.k = 50;
    check_vs_twin(Q, nq, R, nr, dim, p, "all tied");
    fc_knn_result r;
    assert_int_equal(fc_knn_search(Q, nq, R, nr, dim, NULL, &p, &r, NULL), FC_OK);
    for (size_t t = 0; t < 50; t++)
      assert_int_equal(r.idx[t], (int32_t)t);
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
  for (size_t i = 0; i < 3; i++)
    assert_int_equal(r.count[i], 0);
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
  for (size_t i = 0; i < 3; i++)
    assert_int_equal(r.count[i], 0);
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
  /* unsorted or missing exclusion lists */
  int32_t bad[3] = {4, 1, 2};
  const int32_t *lists[3] = {NULL, bad, NULL};
  size_t nl[3] = {0, 3, 0};
  p.query_excluded = lists;
  p.n_query_excluded = nl;
  assert_int_equal(fc_knn_search(Q, 3, R, 5, dim, NULL, &p, &r, &e), FC_EINVAL);
  assert_non_null(strstr(e.msg, "not sorted"));
  assert_int_equal(fc_knn_search_scalar(Q, 3, R, 5, dim, NULL, &p, &r, &e), FC_EINVAL);
  nl[1] = 0;
  nl[2] = 1;
  assert_int_equal(fc_knn_search(Q, 3, R, 5, dim, NULL, &p, &r, &e), FC_EINVAL);
  assert_non_null(strstr(e.msg, "query 2"));
  p.query_excluded = NULL;
  p.n_query_excluded = NULL;
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

/* tiny, huge and mixed vector norms: the error bound scales, the answer stays exact */
static void test_scales(void **state) {
  (void)state;
  size_t nq = 19, nr = 1501, dim = 45;
  float *Q = malloc(nq * dim * sizeof *Q), *R = malloc(nr * dim * sizeof *R);
  const double scales[] = {1e-20, 1e-3, 1e6, 0};
  for (int sc = 0; sc < 4; sc++) {
    make_data(Q, nq, R, nr, dim, 31 + (uint64_t)sc, 1);
    for (size_t j = 0; j < nr; j++) {
      double f = scales[sc] ? scales[sc] : pow(10.0, (double)(rng_u32() % 7) - 3.0); /* 0: per-row mixed */
      for (size_t t = 0; t < dim; t++)
        R[j * dim + t] = (float)(R[j * dim + t] * f);
    }
    for (size_t i = 0; i < nq; i++) {
      double f = scales[sc] ? scales[sc] : pow(10.0, (double)(rng_u32() % 7) - 3.0);
      for (size_t t = 0; t < dim; t++)
        Q[i * dim + t] = (float)(Q[i * dim + t] * f);
    }
    for (int m = 0; m < 2; m++) {
      fc_knn_params p;
      fc_knn_params_init(&p);
      p.metric = (fc_metric)m;
      p.k = 25;
      char what[64];
      snprintf(what, sizeof what, "scale %g %s", scales[sc], fc_metric_name(p.metric));
      check_vs_twin(Q, nq, R, nr, dim, p, what);
    }
  }
  free(Q);
  free(R);
}

/* caller-supplied float32 norms give the same answer */
static void test_given_norms(void **state) {
  (void)state;
  size_t nq = 23, nr = 2111, dim = 33;
  float *Q = malloc(nq * dim * sizeof *Q), *R = malloc(nr * dim * sizeof *R), *rn = malloc(nr * sizeof *rn);
  make_data(Q, nq, R, nr, dim, 11, 1);
  for (size_t j = 0; j < nr; j++) { /* a naive float32 norm, as a caller would compute it */
    float s = 0;
    for (size_t t = 0; t < dim; t++)
      s += R[j * dim + t] * R[j * dim + t];
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
 * dgemm over float64 copies gives every dot product with error <= ~1e-13 ‖q‖‖r‖; per query the
 * approximate distances (cosine) or squared distances (euclidean) of the M' best rows are sorted, and
 * each run of rows whose approximate values lie within 2 eps of each other (eps bounds the dgemm error
 * with a wide margin) is re-ranked with the exact twin arithmetic (fc_knn_dot64, fc_knn_distance64):
 * the list is then exactly the float64 brute-force order by (distance, row). */
typedef struct {
  double d; /* cosine: distance; euclidean: squared distance (approximate unless exact = 1) */
  int32_t row;
  int32_t exact;
} refc;

typedef struct {
  const float *Q, *R;
  size_t nq, nr, dim, M;
  double *rr;
  refc *lst[2];
  size_t *len[2];
  double eps[2]; /* per-query eps for euclidean scales with qq, stored as factor */
} reflists;

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

static double ref_eps(int met, double qq, double rrmax) {
  return met == 0 ? 1e-11 : 1e-10 * (1.0 + qq + rrmax);
}

static double exact_dist(const reflists *L, int met, size_t i, int32_t row) {
  const float *q = L->Q + i * L->dim;
  return fc_knn_distance64((fc_metric)met, fc_knn_dot64(q, L->R + (size_t)row * L->dim, L->dim),
                           fc_knn_dot64(q, q, L->dim), L->rr[row]);
}

typedef struct {
  reflists *L;
  const double *G, *inv;
  double rrmax;
  size_t q0, m, t0, step;
  double *tmp, *sel;
  int ok;
} brute_job;

/* per query: approximate scores from G, top M', exact re-ranking of near-equal runs (worker thread) */
static void *brute_rows(void *arg) {
  brute_job *J = arg;
  reflists *L = J->L;
  size_t nr = L->nr, dim = L->dim, M = L->M, q0 = J->q0, m = J->m;
  size_t Mx = M + 300 < nr ? M + 300 : nr;
  const float *Q = L->Q;
  const double *G = J->G, *inv = J->inv;
  double rrmax = J->rrmax, *tmp = J->tmp, *sel = J->sel;
  for (size_t i = J->t0; i < m; i += J->step) {
    size_t qi = q0 + i;
    double qq = fc_knn_dot64(Q + qi * dim, Q + qi * dim, dim), iq = 1.0 / fmax(sqrt(qq), 1e-12);
    const double *g = G + i * nr;
    for (int met = 0; met < 2; met++) {
      for (size_t j = 0; j < nr; j++)
        tmp[j] = met == 0 ? 1.0 - g[j] * iq * inv[j] : qq + L->rr[j] - 2.0 * g[j];
      memcpy(sel, tmp, nr * sizeof *tmp);
      double cut = dselect(sel, nr, Mx - 1);
      refc *lst = L->lst[met] + qi * Mx;
      size_t n = 0;
      for (size_t j = 0; j < nr && n < Mx; j++)
        if (tmp[j] < cut) lst[n++] = (refc){tmp[j], (int32_t)j, 0};
      for (size_t j = 0; j < nr && n < Mx; j++)
        if (tmp[j] == cut) lst[n++] = (refc){tmp[j], (int32_t)j, 0};
      qsort(lst, n, sizeof *lst, refc_cmp);
      double eps = ref_eps(met, qq, rrmax);
      /* valid prefix: ends where the next row is clearly (>= 2 eps) further */
      size_t len = n;
      if (met == 0 && qq == 0) { /* zero query: every cosine distance is exactly 1, order by row */
        for (size_t t = 0; t < n; t++)
          lst[t] = (refc){1.0, (int32_t)t, 1};
      } else if (n < nr) {
        len = 0;
        for (size_t t = n - 1; t > 0; t--)
          if (lst[t].d - lst[t - 1].d >= 2 * eps) {
            len = t;
            break;
          }
      }
      if (len < (M < nr ? M : nr)) J->ok = 0;
      /* runs within 2 eps: exact rescoring, then exact order */
      for (size_t t = 0; t < len;) {
        size_t u = t + 1;
        while (u < len && lst[u].d - lst[u - 1].d < 2 * eps)
          u++;
        if (u - t > 1) {
          for (size_t v = t; v < u; v++) {
            lst[v].d = exact_dist(L, met, qi, lst[v].row);
            lst[v].exact = 1; /* from now on d is the exact distance (not squared) */
          }
          qsort(lst + t, u - t, sizeof *lst, refc_cmp);
        }
        t = u;
      }
      L->len[met][qi] = len;
    }
  }
  return NULL;
}

static void brute64(reflists *L) {
  size_t nq = L->nq, nr = L->nr, dim = L->dim, M = L->M;
  size_t Mx = M + 300 < nr ? M + 300 : nr;
  const float *Q = L->Q, *R = L->R;
  double *Rd = malloc(nr * dim * sizeof *Rd), *inv = malloc(nr * sizeof *inv), rrmax = 0;
  L->rr = malloc(nr * sizeof *L->rr);
  for (size_t t = 0; t < nr * dim; t++)
    Rd[t] = R[t];
  for (size_t j = 0; j < nr; j++) {
    L->rr[j] = fc_knn_dot64(R + j * dim, R + j * dim, dim);
    inv[j] = 1.0 / fmax(sqrt(L->rr[j]), 1e-12);
    if (L->rr[j] > rrmax) rrmax = L->rr[j];
  }
  for (int met = 0; met < 2; met++) {
    L->lst[met] = malloc(nq * Mx * sizeof(refc));
    L->len[met] = malloc(nq * sizeof(size_t));
  }
  const size_t CH = 128;
  double *Qd = malloc(CH * dim * sizeof *Qd), *G = malloc(CH * nr * sizeof *G),
         *tmp = malloc(2 * nr * sizeof *tmp);
  double *sel = malloc(2 * nr * sizeof *sel);
  for (size_t q0 = 0; q0 < nq; q0 += CH) {
    size_t m = nq - q0 < CH ? nq - q0 : CH;
    for (size_t t = 0; t < m * dim; t++)
      Qd[t] = Q[q0 * dim + t];
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)nr, (int)dim, 1.0, Qd, (int)dim, Rd,
                (int)dim, 0.0, G, (int)nr);
    brute_job jobs[2];
    pthread_t th;
    for (int t = 0; t < 2; t++)
      jobs[t] = (brute_job){.L = L,
                            .G = G,
                            .inv = inv,
                            .rrmax = rrmax,
                            .q0 = q0,
                            .m = m,
                            .t0 = (size_t)t,
                            .step = 2,
                            .tmp = tmp + (size_t)t * nr,
                            .sel = sel + (size_t)t * nr,
                            .ok = 1};
    assert_int_equal(pthread_create(&th, NULL, brute_rows, &jobs[1]), 0);
    brute_rows(&jobs[0]);
    pthread_join(th, NULL);
    assert_true(jobs[0].ok && jobs[1].ok);
  }
  free(Rd);
  free(inv);
  free(Qd);
  free(G);
  free(tmp);
  free(sel);
}

static double list_dist(int met, const refc *e) {
  return (met == 0 || e->exact) ? e->d : sqrt(fmax(e->d, 0.0));
}

static void reflists_free(reflists *L) {
  free(L->rr);
  for (int met = 0; met < 2; met++) {
    free(L->lst[met]);
    free(L->len[met]);
  }
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

/* The expected answer, from the exact list, the filters and the threshold. */
static void check_vs_lists(const fc_knn_result *r, const reflists *L, const fc_knn_params *p,
                           const char *what) {
  int met = (int)p->metric;
  size_t Mx = L->M + 300 < L->nr ? L->M + 300 : L->nr;
  for (size_t i = 0; i < r->nq; i++) {
    const refc *lst = L->lst[met] + i * Mx;
    size_t len = L->len[met][i], n = 0, t = 0;
    for (; t < len && n < p->k; t++) {
      int32_t row = lst[t].row;
      double d = list_dist(met, &lst[t]);
      if (!isnan(p->threshold)) {
        if (fabs(d - p->threshold) < 1e-6) d = exact_dist(L, met, i, row);
        if (!(d <= p->threshold)) break;
      }
      if (p->ref_excluded && p->ref_excluded[row]) continue;
      if (p->query_excluded && p->query_excluded[i] &&
          in_sorted(p->query_excluded[i], p->n_query_excluded[i], row))
        continue;
      size_t x = i * r->k + n;
      if (n >= r->count[i] || r->idx[x] != row)
        fail_msg("%s: query %zu rank %zu: got row %d (d=%.17g), expected row %d (d~%.17g)", what, i, n,
                 n < r->count[i] ? r->idx[x] : -1, n < r->count[i] ? r->dist[x] : NAN, row, d);
      if (!(fabs(r->dist[x] - d) <= 1e-9 * fmax(1.0, fabs(d)))) { /* approximate value: check exactly */
        double e = exact_dist(L, met, i, row);
        if (!(fabs(r->dist[x] - e) <= 1e-9 * fmax(1.0, fabs(e))))
          fail_msg("%s: query %zu rank %zu: distance %.17g vs %.17g", what, i, n, r->dist[x], e);
      }
      n++;
    }
    /* the list must have been long enough to decide */
    assert_true(n == p->k || t < len || len == L->nr);
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
  reflists L = {.Q = Q, .R = R, .nq = nq, .nr = nr, .dim = dim, .M = M};
  double t0 = fc_now_seconds();
  brute64(&L);
  size_t Mx = M + 300 < nr ? M + 300 : nr;
  double t1 = fc_now_seconds();
  fprintf(stderr, "large case %zux%zux%zu: float64 brute force %.1f s\n", nq, nr, dim, t1 - t0);
  uint8_t *rex = calloc(nr, 1);
  for (size_t j = 0; j < nr; j++)
    rex[j] = (rng_u32() % 10) == 0;
  int32_t **qex = calloc(nq, sizeof *qex);
  size_t *nqex = calloc(nq, sizeof *nqex);
  for (size_t i = 0; i < nq; i++) { /* exclude each query's 3 nearest rows plus 20 random rows */
    qex[i] = malloc(23 * sizeof **qex);
    for (size_t t = 0; t < 3; t++)
      qex[i][nqex[i]++] = L.lst[0][i * Mx + t].row;
    for (size_t t = 0; t < 20; t++)
      qex[i][nqex[i]++] = (int32_t)(rng_u32() % nr);
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
        for (size_t i = 0; i < nq; i++)
          v[i] = list_dist(m, &L.lst[m][i * Mx + 49]);
        qsort(v, nq, sizeof *v, dbl_cmp);
        p.threshold = v[nq / 2];
        free(v);
        f = "threshold";
      }
      fc_knn_result r;
      fc_progress *pr = fc_progress_start("knn test", nq); /* silent unless stderr is a terminal */
      p.progress = pr;
      double a = fc_now_seconds();
      assert_int_equal(fc_knn_search(Q, nq, R, nr, dim, NULL, &p, &r, NULL), FC_OK);
      double b = fc_now_seconds();
      fc_progress_finish(pr);
      char what[128];
      snprintf(what, sizeof what, "large %s k=%zu filter=%s", fc_metric_name(p.metric), p.k, f);
      fprintf(stderr, "%s: %.2f s\n", what, b - a);
      check_vs_lists(&r, &L, &p, what);
      fc_knn_result_free(&r);
    }
  }
  for (size_t i = 0; i < nq; i++)
    free(qex[i]);
  free(qex);
  free(nqex);
  free(rex);
  reflists_free(&L);
  fc_aligned_free(Q);
  fc_aligned_free(R);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_metric_parse),
      cmocka_unit_test(test_definitions),
      cmocka_unit_test(test_dot64_paths),
      cmocka_unit_test(test_random_awkward),
      cmocka_unit_test(test_ties_zero_filters),
      cmocka_unit_test(test_all_tied),
      cmocka_unit_test(test_edges),
      cmocka_unit_test(test_given_norms),
      cmocka_unit_test(test_scales),
      cmocka_unit_test(test_large),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
