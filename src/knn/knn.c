/* knn: exact k-NN, float32 sgemm tiles fused with bounded per-query selection, float64 rescoring.
 *
 * Pipeline (FAISS brute-force style: tile, select per tile, merge):
 *   phase 0  per-reference screening weights (float) and, when the caller gave no norms, ‖r‖² in float64;
 *            per-query ‖q‖² in float64 and the a-priori error bound E of the float32 score.
 *   phase 1  units = (query block, reference range). For each reference tile, one single-threaded
 *            OpenBLAS sgemm C = Q_blk · R_tileᵀ, then each query row of C is scanned against the query's
 *            running bound; survivors go to a per-query buffer that is pruned (quickselect of the K-th
 *            score, never a sort) whenever it fills up. Nothing larger than one tile is materialised.
 *   phase 2  per query block: merge the ranges' buffers, rescore every survivor in float64 with the same
 *            arithmetic as the scalar twin (reference rows visited in ascending order, each loaded once
 *            per block), drop those above the threshold, sort the few survivors by (distance, row), keep K.
 *
 * EXACTNESS ARGUMENT. Work in a per-query "score" space that is monotone in the distance:
 *   cosine     s = -(q·r) / max(‖r‖, 1e-12)        d = 1 + s / max(‖q‖, 1e-12)
 *   euclidean  s = ‖r‖² - 2 q·r                    d = sqrt(max(‖q‖² + s, 0))
 * The float32 score s~ is computed from the sgemm dot g~ and float weights. The classical bound for a
 * float32 dot product of length n (any summation order, with or without FMA, which covers OpenBLAS's
 * blocked kernels) is |g~ - q·r| <= γ_n Σ|q_i r_i| <= γ_n ‖q‖‖r‖ with γ_n = n u / (1 - n u), u = 2^-24
 * (Cauchy-Schwarz for the last step). Adding the rounding of the weights (relative (dim+2)u, which also
 * covers caller-supplied float32 norms), of the final float operations, and of the float64 distance
 * itself (2^-29 times smaller), gives per query a bound E with |s~_j - s_j| <= E/2 for every row j
 * (cosine: E ∝ ‖q‖; euclidean: E ∝ ‖q‖ max‖r‖ + max‖r‖²; see query_bound()). We use E, i.e. a factor
 * 2 of safety on top of the bound.
 *   Let C be the eligible rows kept so far (filters exact, threshold screened as s~ <= s(thr) + E so no
 * row with d <= thr is lost) and T = the K-th smallest s~ in C. The K rows of C with s~ <= T have true
 * score <= T + E; either they are all truly within the threshold, so the true K-th eligible score is
 * <= T + E, or one is not, and then every truly eligible row has score <= s(thr) < T + E. Hence every
 * member of the true top K (and every row tied with the K-th) has s <= T + E and s~ <= T + 2E.
 * Keeping every row with s~ <= T + 2E (T over a subset of rows is >= T over all rows, so bounds
 * computed early or per reference range are only looser) therefore keeps the whole true top K. The
 * float64 rescoring then orders the kept rows exactly as the twin does, ties by row. For euclidean,
 * distances clip to 0 below s = -‖q‖², so T is first raised to max(T, -‖q‖²) (all rows at distance 0
 * are tied and must all be kept). A zero query under cosine has d = 1 for every row: it is answered
 * directly (the first K eligible rows), since its float32 scores are all tied at 0.
 * Inputs must be finite; norms must stay below 1e15 so float32 cannot overflow.
 */
#include <cblas.h>
#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "fantasia/backend.h"
#include "fantasia/knn.h"
#include "knn/knn_internal.h"

#define KNN_DEFAULT_QB 512
#define KNN_DEFAULT_RB 4096
#define KNN_U 5.9604644775390625e-8 /* 2^-24 */
#define KNN_RESCORE_G 64

typedef struct {
  float *s;
  int32_t *r;
  size_t n, cap;
  float bound;
} qbuf;

typedef struct {
  float *C;
  size_t C_cap;
  float *sel;
  size_t sel_cap;
  /* phase 2 */
  size_t *cnt;
  float *ms;
  int32_t *mr;
  uint32_t *mq;
  uint64_t *order;
  double *md;
  size_t m_cap;
  size_t *off;
  knn_cand *cand;
  size_t cand_cap;
  double *qd; /* KNN_RESCORE_G query rows in double */
} worker;

typedef struct {
  const float *Q, *R;
  const float *r_norms;
  size_t nq, nr, dim, K;
  const fc_knn_params *p;
  fc_knn_result *out;
  double *qq, *E, *clampmin;
  float *screen0;
  uint8_t *qskip;
  double *rr64; /* NULL when r_norms was given */
  float *rw;    /* cosine: 1 / max(‖r‖, 1e-12); euclidean: ‖r‖² */
  float *rnorm;
  size_t qbs, rbs, nqb, nrr, rrange;
  qbuf *bufs; /* bufs[rr * nq + query] */
  worker *w;
  int nthreads;
  atomic_int failed; /* 1 = out of memory, 2 = non-finite reference */
  atomic_size_t bad_row;
  atomic_size_t n_rescored; /* statistics: candidates rescored in float64 */
} ctx;

/* ---- tiny thread pool: tasks 0..n-1 pulled in order by nthreads workers ---- */
typedef void (*task_fn)(ctx *c, size_t task, int wid);
typedef struct {
  ctx *c;
  task_fn fn;
  size_t ntasks;
  atomic_size_t next;
} job;
typedef struct {
  job *j;
  int wid;
} job_arg;

static void *job_main(void *a) {
  job_arg *ja = a;
  for (;;) {
    size_t t = atomic_fetch_add(&ja->j->next, 1);
    if (t >= ja->j->ntasks) break;
    if (atomic_load(&ja->j->c->failed)) continue;
    ja->j->fn(ja->j->c, t, ja->wid);
  }
  return NULL;
}

static void run_parallel(ctx *c, task_fn fn, size_t ntasks) {
  job j = {.c = c, .fn = fn, .ntasks = ntasks};
  atomic_init(&j.next, 0);
  int nt = c->nthreads;
  if ((size_t)nt > ntasks) nt = (int)(ntasks ? ntasks : 1);
  pthread_t th[nt > 1 ? nt : 1];
  job_arg args[nt > 1 ? nt : 1];
  int started = 0;
  for (int t = 1; t < nt; t++) {
    args[t].j = &j;
    args[t].wid = t;
    if (pthread_create(&th[t], NULL, job_main, &args[t]) != 0) break;
    started = t;
  }
  args[0].j = &j;
  args[0].wid = 0;
  job_main(&args[0]);
  for (int t = 1; t <= started; t++)
    pthread_join(th[t], NULL);
}

/* ---- helpers ---- */
static float float_up(double x) {
  float f = (float)x;
  if (isnan(x)) return f;
  if ((double)f < x) f = nextafterf(f, INFINITY);
  return f;
}

/* k-th smallest (0-based) of a[0..n), reordering a. Three-way partitions handle massive ties. */
static float quickselect(float *a, size_t n, size_t k) {
  size_t lo = 0, hi = n;
  uint64_t seed = 0x9e3779b97f4a7c15ull ^ n;
  while (hi - lo > 1) {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    float piv = a[lo + (size_t)((seed >> 33) % (hi - lo))];
    size_t lt = lo, i = lo, gt = hi;
    while (i < gt) {
      float x = a[i];
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

static inline uint32_t float_key(float f) { /* order-preserving map of non-NaN floats to uint32 */
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

/* k-th smallest (0-based) of s[0..n) without reordering s: a 2048-bucket histogram of the top 11 key
 * bits finds the bucket holding it; its elements are copied to scratch, narrowed the same way on the
 * next 11 bits, and the (small) remainder is quickselected. Linear passes instead of a branchy
 * quickselect over everything. */
static float select_kth(const float *s, size_t n, size_t k, float *scratch) {
  uint32_t hist[2048];
  size_t m = n;
  memcpy(scratch, s, n * sizeof *s);
  for (int shift = 21; shift >= 10 && m > 256; shift -= 11) {
    memset(hist, 0, sizeof hist);
    for (size_t t = 0; t < m; t++)
      hist[(float_key(scratch[t]) >> shift) & 2047]++;
    size_t b = 0, below = 0;
    while (below + hist[b] <= k)
      below += hist[b++];
    size_t j = 0;
    for (size_t t = 0; t < m; t++)
      if (((float_key(scratch[t]) >> shift) & 2047) == b) scratch[j++] = scratch[t];
    m = j;
    k -= below;
  }
  return quickselect(scratch, m, k);
}

/* In-place quicksorts with inline comparisons (qsort's callback dominated the profile). */
#define KNN_LESS_U64(x, y) ((x) < (y))
#define KNN_LESS_CAND(x, y) ((x).d < (y).d || ((x).d == (y).d && (x).row < (y).row))
#define KNN_DEFINE_SORT(name, T, LESS)                                                                       \
  static void name(T *a, size_t n) {                                                                         \
    while (n > 16) {                                                                                         \
      T x = a[0], y = a[n / 2], z = a[n - 1], piv;                                                           \
      if (LESS(x, y))                                                                                        \
        piv = LESS(y, z) ? y : (LESS(x, z) ? z : x);                                                         \
      else                                                                                                   \
        piv = LESS(x, z) ? x : (LESS(y, z) ? z : y);                                                         \
      size_t i = 0, j = n - 1;                                                                               \
      for (;;) {                                                                                             \
        while (LESS(a[i], piv))                                                                              \
          i++;                                                                                               \
        while (LESS(piv, a[j]))                                                                              \
          j--;                                                                                               \
        if (i >= j) break;                                                                                   \
        T t = a[i];                                                                                          \
        a[i++] = a[j];                                                                                       \
        a[j--] = t;                                                                                          \
      }                                                                                                      \
      size_t left = j + 1; /* [0, left) <= piv <= [left, n) */                                               \
      if (left < n - left) {                                                                                 \
        name(a, left);                                                                                       \
        a += left;                                                                                           \
        n -= left;                                                                                           \
      } else {                                                                                               \
        name(a + left, n - left);                                                                            \
        n = left;                                                                                            \
      }                                                                                                      \
    }                                                                                                        \
    for (size_t i = 1; i < n; i++) {                                                                         \
      T v = a[i];                                                                                            \
      size_t j = i;                                                                                          \
      while (j > 0 && LESS(v, a[j - 1])) {                                                                   \
        a[j] = a[j - 1];                                                                                     \
        j--;                                                                                                 \
      }                                                                                                      \
      a[j] = v;                                                                                              \
    }                                                                                                        \
  }
KNN_DEFINE_SORT(sort_u64, uint64_t, KNN_LESS_U64)
KNN_DEFINE_SORT(sort_cand, knn_cand, KNN_LESS_CAND)

static int grow_f(float **p, size_t *cap, size_t need) {
  if (*cap >= need) return 1;
  size_t nc = need + need / 2 + 64;
  float *q = realloc(*p, nc * sizeof *q);
  if (!q) return 0;
  *p = q;
  *cap = nc;
  return 1;
}

/* Tighten the bound to max(T, clampmin) + E2 with T the K-th smallest score, and drop the rest. */
static int qbuf_prune(qbuf *b, size_t K, double E2, double clampmin, worker *w) {
  if (b->n > K) {
    if (!grow_f(&w->sel, &w->sel_cap, b->n)) return 0;
    float T = select_kth(b->s, b->n, K - 1, w->sel);
    float nb = float_up(fmax((double)T, clampmin) + E2);
    if (nb < b->bound) b->bound = nb;
    size_t m = 0;
    for (size_t t = 0; t < b->n; t++)
      if (b->s[t] <= b->bound) {
        b->s[m] = b->s[t];
        b->r[m] = b->r[t];
        m++;
      }
    b->n = m;
  }
  if (b->n > b->cap / 2) { /* many rows within the margin (ties): grow */
    size_t nc = b->cap * 2;
    float *s = realloc(b->s, nc * sizeof *s);
    if (!s) return 0;
    b->s = s;
    int32_t *r = realloc(b->r, nc * sizeof *r);
    if (!r) return 0;
    b->r = r;
    b->cap = nc;
  }
  return 1;
}

/* Per-query bound on the float32 score error (times 2 for safety), see the file comment. The absolute
 * terms cover products that underflow, even with flush-to-zero / denormals-are-zero set by someone
 * else in the process (each lost product is < 2^-126, times the cosine weight <= 1e12). */
static double query_bound(fc_metric m, double qn, double rmax, size_t dim) {
  const double u = KNN_U;
  double rho = ((double)dim + 2.0) * u;
  double gam = 1.01 * (double)dim * u;
  if (m == FC_METRIC_COSINE)
    return 2.0 * qn * ((gam + 3.0 * u) * (1.0 + rho) + rho + 2.0 * u) + (double)dim * 1e-25;
  double rm = rmax * (1.0 + rho);
  return 2.0 * ((2.0 * rho + 5.0 * u) * rm * rm + (2.0 * gam + 3.0 * u) * qn * rm) + (double)dim * 1e-37;
}

/* ---- phase 0: reference weights ---- */
#define KNN_PREP_ROWS 1024
static void task_prep(ctx *c, size_t t, int wid) {
  (void)wid;
  size_t j0 = t * KNN_PREP_ROWS, j1 = j0 + KNN_PREP_ROWS;
  if (j1 > c->nr) j1 = c->nr;
  for (size_t j = j0; j < j1; j++) {
    double n;
    if (c->rr64) {
      double rr = fc_knn_dot64(c->R + j * c->dim, c->R + j * c->dim, c->dim);
      c->rr64[j] = rr;
      n = sqrt(rr);
    } else {
      n = c->r_norms[j];
    }
    if (!(n < 1e15) || n < 0) { /* NaN, inf, absurd */
      size_t expect = SIZE_MAX;
      atomic_compare_exchange_strong(&c->bad_row, &expect, j);
      atomic_store(&c->failed, 2);
      return;
    }
    c->rnorm[j] = (float)n;
    c->rw[j] = c->p->metric == FC_METRIC_COSINE ? (float)(1.0 / fmax(n, 1e-12)) : (float)(n * n);
  }
}

/* ---- phase 1: one (query block, reference range) unit ---- */
static void task_final(ctx *c, size_t b, int wid);

static void task_unit(ctx *c, size_t u, int wid) {
  worker *w = &c->w[wid];
  const fc_knn_params *p = c->p;
  size_t b = u / c->nrr, rr = u % c->nrr;
  size_t q0 = b * c->qbs, m = c->nq - q0 < c->qbs ? c->nq - q0 : c->qbs;
  size_t r0 = rr * c->rrange, r1 = r0 + c->rrange < c->nr ? r0 + c->rrange : c->nr;
  size_t K = c->K, dim = c->dim;
  size_t expos[m ? m : 1];
  qbuf *bufs = c->bufs + rr * c->nq + q0;
  size_t cap0 = K + 2 * (K > 64 ? K : 64); /* prune when full: ~2K insertions between quickselects */
  if (cap0 > r1 - r0 + 1) cap0 = r1 - r0 + 1;
  for (size_t i = 0; i < m; i++) {
    qbuf *bf = &bufs[i];
    bf->n = 0;
    bf->cap = cap0;
    bf->s = malloc(cap0 * sizeof *bf->s);
    bf->r = malloc(cap0 * sizeof *bf->r);
    if (!bf->s || !bf->r) {
      atomic_store(&c->failed, 1);
      return;
    }
    bf->bound = c->qskip[q0 + i] ? -INFINITY : c->screen0[q0 + i];
    expos[i] = 0;
    if (p->query_excluded && p->n_query_excluded && p->query_excluded[q0 + i]) {
      const int32_t *ex = p->query_excluded[q0 + i];
      size_t lo = 0, hi = p->n_query_excluded[q0 + i];
      while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if ((int64_t)ex[mid] < (int64_t)r0)
          lo = mid + 1;
        else
          hi = mid;
      }
      expos[i] = lo;
    }
  }
  size_t need = m * (c->rbs < r1 - r0 ? c->rbs : r1 - r0);
  if (w->C_cap < need) {
    fc_aligned_free(w->C);
    w->C = fc_aligned_alloc(need * sizeof *w->C);
    w->C_cap = w->C ? need : 0;
    if (!w->C) {
      atomic_store(&c->failed, 1);
      return;
    }
  }
  int cos = p->metric == FC_METRIC_COSINE;
  for (size_t t0 = r0; t0 < r1; t0 += c->rbs) {
    size_t nb = r1 - t0 < c->rbs ? r1 - t0 : c->rbs;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)nb, (int)dim, 1.0f, c->Q + q0 * dim,
                (int)dim, c->R + t0 * dim, (int)dim, 0.0f, w->C, (int)nb);
    const float *rw = c->rw + t0;
    for (size_t i = 0; i < m; i++) {
      qbuf *bf = &bufs[i];
      const float *cr = w->C + i * nb;
      float bound = bf->bound;
      for (size_t j = 0; j < nb; j++) {
        float s = cos ? -cr[j] * rw[j] : rw[j] - 2.0f * cr[j];
        if (!(s <= bound)) continue;
        size_t row = t0 + j;
        if (p->ref_excluded && p->ref_excluded[row]) continue;
        if (p->query_excluded && p->n_query_excluded && p->query_excluded[q0 + i]) {
          const int32_t *ex = p->query_excluded[q0 + i];
          size_t nex = p->n_query_excluded[q0 + i], e = expos[i];
          while (e < nex && (int64_t)ex[e] < (int64_t)row)
            e++;
          expos[i] = e;
          if (e < nex && (size_t)ex[e] == row) continue;
        }
        bf->s[bf->n] = s;
        bf->r[bf->n] = (int32_t)row;
        if (++bf->n == bf->cap) {
          if (!qbuf_prune(bf, K, c->E[q0 + i], c->clampmin[q0 + i], w)) {
            atomic_store(&c->failed, 1);
            return;
          }
          bound = bf->bound;
        }
      }
    }
  }
  for (size_t i = 0; i < m; i++) {
    qbuf *bf = &bufs[i];
    if (bf->n > K && !qbuf_prune(bf, K, c->E[q0 + i], c->clampmin[q0 + i], w)) {
      atomic_store(&c->failed, 1);
      return;
    }
    if (bf->n + 64 < bf->cap) { /* give back the slack while the block waits for its other ranges */
      size_t nc = bf->n ? bf->n : 1;
      float *sv = realloc(bf->s, nc * sizeof *sv);
      if (sv) bf->s = sv;
      int32_t *rv = realloc(bf->r, nc * sizeof *rv);
      if (rv) bf->r = rv;
      if (sv && rv) bf->cap = nc;
    }
  }
  /* One range per block: finish the block now, so candidate buffers live only for blocks in flight. */
  if (c->nrr == 1) task_final(c, b, wid);
}

/* ---- phase 2: merge, float64 rescoring, final order ---- */
static int w_reserve(worker *w, size_t n) {
  if (w->m_cap >= n) return 1;
  size_t nc = n + n / 2 + 256;
  float *ms = realloc(w->ms, nc * sizeof *ms);
  if (ms) w->ms = ms;
  int32_t *mr = realloc(w->mr, nc * sizeof *mr);
  if (mr) w->mr = mr;
  uint32_t *mq = realloc(w->mq, nc * sizeof *mq);
  if (mq) w->mq = mq;
  uint64_t *order = realloc(w->order, nc * sizeof *order);
  if (order) w->order = order;
  double *md = realloc(w->md, nc * sizeof *md);
  if (md) w->md = md;
  if (!ms || !mr || !mq || !order || !md) return 0;
  w->m_cap = nc;
  return 1;
}

static void final_range(ctx *c, size_t q0, size_t m, int wid);

static void task_final(ctx *c, size_t b, int wid) { /* one query block */
  size_t q0 = b * c->qbs;
  final_range(c, q0, c->nq - q0 < c->qbs ? c->nq - q0 : c->qbs, wid);
}

static void task_final_group(ctx *c, size_t g, int wid) { /* one group of KNN_RESCORE_G queries */
  size_t q0 = g * KNN_RESCORE_G;
  final_range(c, q0, c->nq - q0 < KNN_RESCORE_G ? c->nq - q0 : KNN_RESCORE_G, wid);
}

/* Merge, rescore and output queries q0..q0+m-1. */
static void final_range(ctx *c, size_t q0, size_t m, int wid) {
  worker *w = &c->w[wid];
  const fc_knn_params *p = c->p;
  size_t K = c->K, dim = c->dim, nr = c->nr;
  int has_thr = !isnan(p->threshold);
  if (!w->off) w->off = malloc(((c->qbs > KNN_RESCORE_G ? c->qbs : KNN_RESCORE_G) + 1) * sizeof *w->off);
  if (!w->cnt) w->cnt = malloc((nr + 1) * sizeof *w->cnt);
  if (!w->qd) w->qd = malloc(KNN_RESCORE_G * dim * sizeof *w->qd);
  if (!w->off || !w->cnt || !w->qd) goto oom;
  /* 1. merge the ranges' survivors per query, re-prune over the union */
  size_t total = 0;
  for (size_t i = 0; i < m; i++) {
    w->off[i] = total;
    size_t qi = q0 + i;
    if (c->qskip[qi]) continue;
    size_t n = 0;
    for (size_t rr = 0; rr < c->nrr; rr++)
      n += c->bufs[rr * c->nq + qi].n;
    if (!w_reserve(w, total + n + 1)) goto oom;
    for (size_t rr = 0; rr < c->nrr; rr++) {
      qbuf *bf = &c->bufs[rr * c->nq + qi];
      if (bf->n == 0) continue;
      memcpy(w->ms + total, bf->s, bf->n * sizeof *bf->s);
      memcpy(w->mr + total, bf->r, bf->n * sizeof *bf->r);
      total += bf->n;
    }
    if (c->nrr > 1 && n > K) {
      if (!grow_f(&w->sel, &w->sel_cap, n)) goto oom;
      float *s = w->ms + w->off[i];
      int32_t *r = w->mr + w->off[i];
      float T = select_kth(s, n, K - 1, w->sel);
      float bound = float_up(fmax((double)T, c->clampmin[qi]) + c->E[qi]);
      size_t k = 0;
      for (size_t t = 0; t < n; t++)
        if (s[t] <= bound) {
          s[k] = s[t];
          r[k] = r[t];
          k++;
        }
      total = w->off[i] + k;
    }
  }
  w->off[m] = total;
  atomic_fetch_add(&c->n_rescored, total);
  for (size_t i = 0; i < m; i++)
    for (size_t t = w->off[i]; t < w->off[i + 1]; t++)
      w->mq[t] = (uint32_t)i;
  /* 2. float64 rescoring, by groups of KNN_RESCORE_G queries (their rows stay in L2); inside a group the
   * (query, row) pairs are visited by ascending row, so each reference row is read once per group. */
  for (size_t g0 = 0; g0 < m; g0 += KNN_RESCORE_G) {
    size_t g1 = g0 + KNN_RESCORE_G < m ? g0 + KNN_RESCORE_G : m;
    size_t a = w->off[g0], z = w->off[g1], np = z - a;
    for (size_t i = g0; i < g1; i++) /* the group's query rows, converted once */
      for (size_t t = 0; t < dim; t++)
        w->qd[(i - g0) * dim + t] = (double)c->Q[(q0 + i) * dim + t];
    if (np * 8 >= nr) { /* counting sort */
      memset(w->cnt, 0, (nr + 1) * sizeof *w->cnt);
      for (size_t t = a; t < z; t++)
        w->cnt[w->mr[t] + 1]++;
      for (size_t j = 0; j < nr; j++)
        w->cnt[j + 1] += w->cnt[j];
      for (size_t t = a; t < z; t++)
        w->order[w->cnt[w->mr[t]]++] = (uint64_t)t;
    } else {
      for (size_t t = a; t < z; t++)
        w->order[t - a] = ((uint64_t)(uint32_t)w->mr[t] << 32) | (uint64_t)t;
      sort_u64(w->order, np);
      for (size_t o = 0; o < np; o++)
        w->order[o] &= 0xffffffffu;
    }
    int32_t last = -1;
    double rr = 0;
    for (size_t o = 0; o < np; o++) {
      size_t t = (size_t)w->order[o];
      int32_t row = w->mr[t];
      const float *rv = c->R + (size_t)row * dim;
      if (row != last) {
        rr = c->rr64 ? c->rr64[row] : fc_knn_dot64(rv, rv, dim);
        last = row;
      }
      size_t ql = w->mq[t];
      w->md[t] =
          fc_knn_distance64(p->metric, knn_dot64_dq(w->qd + (ql - g0) * dim, rv, dim), c->qq[q0 + ql], rr);
    }
  }
  /* 3. per query: threshold, order by (distance, row), keep K */
  for (size_t i = 0; i < m; i++) {
    size_t qi = q0 + i;
    size_t n = 0;
    if (c->qskip[qi]) { /* cosine zero query: every row is at distance exactly 1 */
      double d = fc_knn_distance64(FC_METRIC_COSINE, 0.0, 0.0, 1.0);
      if (has_thr && !(d <= p->threshold)) continue;
      const int32_t *ex = p->query_excluded && p->n_query_excluded ? p->query_excluded[qi] : NULL;
      size_t nex = ex ? p->n_query_excluded[qi] : 0, e = 0;
      for (size_t j = 0; j < nr && n < K; j++) {
        while (e < nex && (int64_t)ex[e] < (int64_t)j)
          e++;
        if (e < nex && (size_t)ex[e] == j) continue;
        if (p->ref_excluded && p->ref_excluded[j]) continue;
        c->out->idx[qi * K + n] = (int32_t)j;
        c->out->dist[qi * K + n] = d;
        n++;
      }
      c->out->count[qi] = n;
      continue;
    }
    size_t len = w->off[i + 1] - w->off[i];
    if (w->cand_cap < len) {
      free(w->cand);
      w->cand = malloc((len + 64) * sizeof *w->cand);
      w->cand_cap = w->cand ? len + 64 : 0;
      if (!w->cand) goto oom;
    }
    for (size_t t = w->off[i]; t < w->off[i + 1]; t++) {
      if (has_thr && !(w->md[t] <= p->threshold)) continue;
      w->cand[n].d = w->md[t];
      w->cand[n].row = w->mr[t];
      n++;
    }
    sort_cand(w->cand, n); /* only the ~K survivors, never a full row */
    if (n > K) n = K;
    for (size_t t = 0; t < n; t++) {
      c->out->idx[qi * K + t] = w->cand[t].row;
      c->out->dist[qi * K + t] = w->cand[t].d;
    }
    c->out->count[qi] = n;
  }
  for (size_t i = 0; i < m; i++)
    for (size_t rr2 = 0; rr2 < c->nrr; rr2++) {
      qbuf *bf = &c->bufs[rr2 * c->nq + q0 + i];
      free(bf->s);
      free(bf->r);
      bf->s = NULL;
      bf->r = NULL;
    }
  if (p->progress) fc_progress_add(p->progress, m);
  return;
oom:
  atomic_store(&c->failed, 1);
}

static void ctx_free(ctx *c) {
  free(c->qq);
  free(c->E);
  free(c->clampmin);
  free(c->screen0);
  free(c->qskip);
  free(c->rr64);
  free(c->rw);
  free(c->rnorm);
  if (c->bufs)
    for (size_t t = 0; t < c->nrr * c->nq; t++) {
      free(c->bufs[t].s);
      free(c->bufs[t].r);
    }
  free(c->bufs);
  if (c->w)
    for (int t = 0; t < c->nthreads; t++) {
      worker *w = &c->w[t];
      fc_aligned_free(w->C);
      free(w->sel);
      free(w->cnt);
      free(w->ms);
      free(w->mr);
      free(w->mq);
      free(w->order);
      free(w->md);
      free(w->off);
      free(w->cand);
      free(w->qd);
    }
  free(c->w);
}

fc_status fc_knn_search(const float *Q, size_t nq, const float *R, size_t nr, size_t dim,
                        const float *r_norms, const fc_knn_params *p, fc_knn_result *out, fc_error *err) {
  fc_status st = knn_check_args(Q, nq, R, nr, dim, p, out, err);
  if (st != FC_OK || nq == 0 || nr == 0) return st;
  ctx c;
  memset(&c, 0, sizeof c);
  c.Q = Q;
  c.R = R;
  c.r_norms = r_norms;
  c.nq = nq;
  c.nr = nr;
  c.dim = dim;
  c.K = p->k;
  c.p = p;
  c.out = out;
  atomic_init(&c.failed, 0);
  atomic_init(&c.bad_row, SIZE_MAX);
  atomic_init(&c.n_rescored, 0);
  c.nthreads = p->threads > 0 ? p->threads : fc_num_threads();
  if (c.nthreads > 256) c.nthreads = 256;
  size_t T = (size_t)c.nthreads;
  if (p->query_block) {
    c.qbs = p->query_block;
  } else { /* about KNN_DEFAULT_QB, with a block count that is a multiple of the thread count */
    size_t nb = T * ((nq + T * KNN_DEFAULT_QB - 1) / (T * KNN_DEFAULT_QB));
    c.qbs = (nq + nb - 1) / nb;
  }
  c.rbs = p->ref_block ? p->ref_block : KNN_DEFAULT_RB;
  if (c.qbs > nq) c.qbs = nq;
  if (c.qbs > 65536) c.qbs = 65536;
  if (c.rbs > nr) c.rbs = nr;
  if (c.rbs > (size_t)1 << 24) c.rbs = (size_t)1 << 24;
  c.nqb = (nq + c.qbs - 1) / c.qbs;
  /* Few query blocks: split the references into equal ranges too, about 4 units per thread. */
  c.nrr = 1;
  if (c.nqb < 2 * T) c.nrr = (4 * T + c.nqb - 1) / c.nqb;
  if (c.nrr > (nr + 255) / 256) c.nrr = (nr + 255) / 256;
  c.rrange = (nr + c.nrr - 1) / c.nrr;
  c.nrr = (nr + c.rrange - 1) / c.rrange;

  c.qq = malloc(nq * sizeof *c.qq);
  c.E = malloc(nq * sizeof *c.E);
  c.clampmin = malloc(nq * sizeof *c.clampmin);
  c.screen0 = malloc(nq * sizeof *c.screen0);
  c.qskip = calloc(nq, 1);
  c.rw = malloc(nr * sizeof *c.rw);
  c.rnorm = malloc(nr * sizeof *c.rnorm);
  c.rr64 = r_norms ? NULL : malloc(nr * sizeof *c.rr64);
  c.bufs = calloc(c.nrr * nq, sizeof *c.bufs);
  c.w = calloc((size_t)c.nthreads, sizeof *c.w);
  if (!c.qq || !c.E || !c.clampmin || !c.screen0 || !c.qskip || !c.rw || !c.rnorm || (!r_norms && !c.rr64) ||
      !c.bufs || !c.w) {
    ctx_free(&c);
    fc_knn_result_free(out);
    return fc_error_set(err, FC_ENOMEM, "knn: out of memory (%zu queries, %zu references)", nq, nr);
  }
  fc_blas_serial_begin(); /* our own threads run the GEMMs */
  run_parallel(&c, task_prep, (nr + KNN_PREP_ROWS - 1) / KNN_PREP_ROWS);
  if (atomic_load(&c.failed)) {
    st = atomic_load(&c.failed) == 1
             ? fc_error_set(err, FC_ENOMEM, "knn: out of memory")
             : fc_error_set(err, FC_EINVAL, "knn: reference row %zu is not finite (or its norm is >= 1e15)",
                            (size_t)atomic_load(&c.bad_row));
    goto done;
  }
  double rmax = 0;
  for (size_t j = 0; j < nr; j++)
    if (c.rnorm[j] > rmax) rmax = c.rnorm[j];
  for (size_t i = 0; i < nq; i++) {
    double qq = fc_knn_dot64(Q + i * dim, Q + i * dim, dim);
    if (!(qq < 1e30)) {
      st = fc_error_set(err, FC_EINVAL, "knn: query row %zu is not finite (or its norm is >= 1e15)", i);
      goto done;
    }
    double qn = sqrt(qq);
    c.qq[i] = qq;
    c.E[i] = 2.0 * query_bound(p->metric, qn, rmax, dim); /* the keep margin is 2E */
    double e = c.E[i] / 2.0;
    if (p->metric == FC_METRIC_COSINE) {
      c.qskip[i] = qq == 0.0;
      c.clampmin[i] = -INFINITY;
      if (isnan(p->threshold)) {
        c.screen0[i] = INFINITY;
      } else {
        double ts = (p->threshold - 1.0) * fmax(qn, 1e-12);
        c.screen0[i] = float_up(ts + e + 4e-16 * fabs(ts));
      }
    } else {
      c.clampmin[i] = -qq;
      if (isnan(p->threshold)) {
        c.screen0[i] = INFINITY;
      } else if (p->threshold < 0) {
        c.screen0[i] = -INFINITY;
      } else {
        double t2 = p->threshold * p->threshold;
        c.screen0[i] = float_up(t2 - qq + e + 8e-16 * (t2 + qq));
      }
    }
  }
  double t_start = fc_now_seconds();
  run_parallel(&c, task_unit, c.nqb * c.nrr);
  double t_mid = fc_now_seconds();
  if (!atomic_load(&c.failed) && c.nrr > 1)
    run_parallel(&c, task_final_group, (nq + KNN_RESCORE_G - 1) / KNN_RESCORE_G);
  fc_log_debug("knn: %zu x %zu x %zu %s k=%zu: phase 1 %.3f s, phase 2 %.3f s (%zu query blocks x %zu "
               "ranges, %.1f candidates per query)",
               nq, nr, dim, fc_metric_name(p->metric), p->k, t_mid - t_start, fc_now_seconds() - t_mid, c.nqb,
               c.nrr, (double)atomic_load(&c.n_rescored) / (double)nq);
  if (atomic_load(&c.failed)) st = fc_error_set(err, FC_ENOMEM, "knn: out of memory during the search");
done:
  fc_blas_serial_end();
  ctx_free(&c);
  if (st != FC_OK) fc_knn_result_free(out);
  return st;
}
