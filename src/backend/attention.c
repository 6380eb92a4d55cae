/* CPU backend: attention in query blocks, so the scratch held is block·T floats per thread instead of T·T
 * and memory grows linearly with the sequence length (see include/fantasia/backend.h). Scalar twins:
 * attention_ref.c.
 *
 * The (query block, head) pairs run in parallel on fc_num_threads() POSIX threads, each with its own
 * block of scores and single-threaded BLAS calls. Letting OpenBLAS thread each small per-head GEMM
 * instead (b×T×hd, K = 64 for ESM-2) kept its threads spinning in sched_yield between calls: ~10% of
 * the samples of an ESM-2 650M run. Every pair is computed by the same calls whatever thread runs it,
 * so the result does not depend on the thread count. */
#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <string.h>

#include "fantasia/backend.h"
#include "fantasia/core.h"
#include "simd.h"

static size_t eff_block(size_t T, size_t block) {
  return block == 0 || block > T ? T : block;
}

/* Threads for T rows in blocks of B and `heads` heads: fc_num_threads(), at most FC_ATTENTION_MAX_THREADS
 * and at most one per (block, head) pair. */
static size_t att_threads(size_t T, size_t heads, size_t B) {
  int n = fc_num_threads();
  size_t nt = n < 1 ? 1 : (size_t)n, pairs = B ? (T + B - 1) / B * heads : 0;
  if (nt > FC_ATTENTION_MAX_THREADS) nt = FC_ATTENTION_MAX_THREADS;
  if (nt > pairs) nt = pairs;
  return nt ? nt : 1;
}

size_t fc_attention_blocked_work(size_t T, size_t heads, size_t block) {
  size_t B = eff_block(T, block), n = att_threads(T, heads, B) * B * T;
  return n ? n : 1;
}

/* The OpenBLAS thread count is one process-wide setting: concurrent single-threaded sections share it,
 * the first one in saves the count and sets 1, the last one out restores it. */
static pthread_mutex_t blas_mu = PTHREAD_MUTEX_INITIALIZER;
static int blas_depth, blas_saved;

void fc_blas_serial_begin(void) {
  pthread_mutex_lock(&blas_mu);
  if (blas_depth++ == 0) {
    blas_saved = openblas_get_num_threads();
    openblas_set_num_threads(1);
  }
  pthread_mutex_unlock(&blas_mu);
}

void fc_blas_serial_end(void) {
  pthread_mutex_lock(&blas_mu);
  if (blas_depth > 0 && --blas_depth == 0) openblas_set_num_threads(blas_saved);
  pthread_mutex_unlock(&blas_mu);
}

typedef struct {
  const float *q, *k, *v;
  const float *tab; /* T5: [heads, 2T−1] bias per offset; NULL: no bias */
  size_t T, heads, hd, ld, B, ntask, nt;
  float *out, *S; /* S: nt score blocks of B·T floats */
} att_job;

typedef struct {
  const att_job *j;
  size_t t;
} att_worker;

/* Pair `task` = (query block task / heads, head task % heads) into the scores block S. */
static void att_task(const att_job *j, size_t task, float *S) {
  size_t T = j->T, hd = j->hd, ld = j->ld, H = j->heads * hd, h = task % j->heads,
         i0 = task / j->heads * j->B;
  size_t b = T - i0 < j->B ? T - i0 : j->B, nof = 2 * T - 1;
  if (j->tab) /* row i, key j: offset j − i, i.e. tab[h][T − 1 − i + j]: a contiguous slice per row */
    for (size_t r = 0; r < b; r++)
      memcpy(S + r * T, j->tab + h * nof + (T - 1 - (i0 + r)), T * sizeof *S);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)b, (int)T, (int)hd, 1.0f, j->q + i0 * ld + h * hd,
              (int)ld, j->k + h * hd, (int)ld, j->tab ? 1.0f : 0.0f, S, (int)T);
  fc_softmax_rows_serial(S, b, T);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)b, (int)hd, (int)T, 1.0f, S, (int)T,
              j->v + h * hd, (int)ld, 0.0f, j->out + i0 * H + h * hd, (int)H);
}

static void *att_main(void *p) {
  const att_worker *w = p;
  const att_job *j = w->j;
  float *S = j->S + w->t * j->B * j->T;
  for (size_t task = w->t; task < j->ntask; task += j->nt)
    att_task(j, task, S);
  return NULL;
}

/* Runs every pair on nt threads, nt never more than the score blocks S_floats holds: the thread count
 * may have changed since the caller sized `work` (FANTASIA_THREADS), the buffer has not. */
static void att_run(att_job *j, size_t S_floats) {
  size_t nt = att_threads(j->T, j->heads, j->B), fit = S_floats / (j->B * j->T);
  if (nt > fit) nt = fit ? fit : 1;
  j->ntask = (j->T + j->B - 1) / j->B * j->heads;
  j->nt = nt;
  att_worker wk[FC_ATTENTION_MAX_THREADS];
  pthread_t tid[FC_ATTENTION_MAX_THREADS];
  int started[FC_ATTENTION_MAX_THREADS] = {0};
  for (size_t t = 0; t < nt; t++)
    wk[t] = (att_worker){j, t};
  fc_blas_serial_begin(); /* one BLAS thread even when nt = 1: the same calls always */
  for (size_t t = 1; t < nt; t++)
    started[t] = pthread_create(&tid[t], NULL, att_main, &wk[t]) == 0;
  att_main(&wk[0]);
  for (size_t t = 1; t < nt; t++) {
    if (started[t])
      pthread_join(tid[t], NULL);
    else
      att_main(&wk[t]); /* a thread that could not be created: its pairs run here */
  }
  fc_blas_serial_end();
}

void fc_attention_blocked(const float *q, const float *k, const float *v, size_t T, size_t heads, size_t hd,
                          size_t ld, float *out, float *work, size_t work_floats, size_t block) {
  if (!T || !heads) return;
  att_job j = {q, k, v, NULL, T, heads, hd, ld, eff_block(T, block), 0, 0, out, work};
  att_run(&j, work_floats);
}

int fc_relative_position_bucket(int r, int num_buckets, int max_distance) {
  int nb = num_buckets / 2, bucket = r > 0 ? nb : 0, a = r < 0 ? -r : r, max_exact = nb / 2;
  if (a < max_exact) return bucket + a;
  /* torch: log(float(a) / max_exact) / math.log(max_distance / max_exact) * (nb - max_exact), float32 */
  float l = logf((float)a / (float)max_exact);
  float d = (float)log((double)max_distance / (double)max_exact);
  float v = l / d * (float)(nb - max_exact);
  long large = (long)max_exact + (long)v;
  if (large > nb - 1) large = nb - 1;
  return bucket + (int)large;
}

size_t fc_attention_relbias_work(size_t T, size_t heads, size_t block) {
  size_t B = eff_block(T, block), n = heads * (T ? 2 * T - 1 : 0) + att_threads(T, heads, B) * B * T;
  return n ? n : 1;
}

void fc_attention_relbias_blocked(const float *q, const float *k, const float *v, size_t T, size_t heads,
                                  size_t hd, size_t ld, const float *relb, int num_buckets, int max_distance,
                                  float *out, float *work, size_t work_floats, size_t block) {
  size_t B = eff_block(T, block), nof = 2 * T - 1;
  if (!T || !heads) return;
  float *tab = work; /* tab[h][o]: bias of offset r = o − (T − 1) for head h; the score blocks follow */
  for (size_t o = 0; o < nof; o++) {
    int bk = fc_relative_position_bucket((int)o - (int)(T - 1), num_buckets, max_distance);
    for (size_t h = 0; h < heads; h++)
      tab[h * nof + o] = relb[(size_t)bk * heads + h];
  }
  att_job j = {q, k, v, tab, T, heads, hd, ld, B, 0, 0, out, work + heads * nof};
  att_run(&j, work_floats > heads * nof ? work_floats - heads * nof : 0);
}
