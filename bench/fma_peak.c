/* fma_peak: this machine's float32 FMA ceiling in GFLOPS, the most any float32 implementation of stage A
 * can reach here (every transformer FLOP is a multiply-add). Each thread runs 12 independent chains of
 * vector FMAs on registers only (no loads, no stores: nothing but the FMA units), for the widest level
 * the CPU has (AVX-512F 16 lanes, AVX2+FMA 8 lanes, else scalar fmaf), on 1 and on T threads.
 * bench/plm_bench.sh prints our and the peer's GFLOPS on the models as a fraction of this number.
 *
 *   ./fma_peak [threads=fc_num_threads()] [seconds=1]
 *
 * Prints: RESULT side=machine isa=avx2 threads=2 fma_peak_gflops=182.0 fma_peak_1t_gflops=95.5 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "fantasia/backend.h"
#include "fantasia/core.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define FC_X86 1
#endif

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

#define CHAINS 12

#ifdef FC_X86
/* 12 chains x 8 lanes x 2 FLOPs per iteration step */
__attribute__((target("avx2,fma"))) static float run_avx2(long iters) {
  __m256 a[CHAINS], b = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-6f);
  for (int i = 0; i < CHAINS; i++)
    a[i] = _mm256_set1_ps((float)i);
  for (long it = 0; it < iters; it++)
    for (int i = 0; i < CHAINS; i++)
      a[i] = _mm256_fmadd_ps(a[i], b, c);
  for (int i = 1; i < CHAINS; i++)
    a[0] = _mm256_add_ps(a[0], a[i]);
  float o[8];
  _mm256_storeu_ps(o, a[0]);
  return o[0];
}

__attribute__((target("avx512f"))) static float run_avx512(long iters) {
  __m512 a[CHAINS], b = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-6f);
  for (int i = 0; i < CHAINS; i++)
    a[i] = _mm512_set1_ps((float)i);
  for (long it = 0; it < iters; it++)
    for (int i = 0; i < CHAINS; i++)
      a[i] = _mm512_fmadd_ps(a[i], b, c);
  for (int i = 1; i < CHAINS; i++)
    a[0] = _mm512_add_ps(a[0], a[i]);
  return _mm512_reduce_add_ps(a[0]);
}
#endif

static float run_scalar(long iters) {
  volatile float sink;
  float a[CHAINS], b = 0.999999f, c = 1e-6f;
  for (int i = 0; i < CHAINS; i++)
    a[i] = (float)i;
  for (long it = 0; it < iters; it++)
    for (int i = 0; i < CHAINS; i++)
      a[i] = a[i] * b + c;
  for (int i = 1; i < CHAINS; i++)
    a[0] += a[i];
  sink = a[0];
  return sink;
}

static fc_simd level;
static int lanes(void) {
  return level == FC_SIMD_AVX512 ? 16 : level == FC_SIMD_AVX2 ? 8 : 1;
}
static float run(long iters) {
#ifdef FC_X86
  if (level == FC_SIMD_AVX512) return run_avx512(iters);
  if (level == FC_SIMD_AVX2) return run_avx2(iters);
#endif
  return run_scalar(iters);
}

typedef struct {
  long iters;
  float out;
} job;

static void *worker(void *p) {
  job *j = p;
  j->out = run(j->iters);
  return NULL;
}

/* GFLOPS of nt threads each running `iters` iterations (best of 3) */
static double measure(int nt, long iters) {
  double best = 0;
  for (int rep = 0; rep < 3; rep++) {
    pthread_t tid[256];
    job jobs[256];
    double t = now();
    for (int i = 0; i < nt; i++) {
      jobs[i].iters = iters;
      if (pthread_create(&tid[i], NULL, worker, &jobs[i]) != 0) return 0;
    }
    for (int i = 0; i < nt; i++)
      pthread_join(tid[i], NULL);
    double dt = now() - t, g = (double)nt * (double)iters * CHAINS * lanes() * 2.0 / dt / 1e9;
    if (g > best) best = g;
  }
  return best;
}

int main(int argc, char **argv) {
  int nt = argc > 1 ? atoi(argv[1]) : fc_num_threads();
  double secs = argc > 2 ? atof(argv[2]) : 1.0;
  if (nt < 1 || nt > 256 || !(secs > 0)) {
    fprintf(stderr, "usage: fma_peak [threads 1..256] [seconds]\n");
    return 2;
  }
  level = fc_simd_best();
  /* calibrate: iterations for ~secs on one thread */
  long iters = 1000000;
  double t = now();
  (void)run(iters);
  double dt = now() - t;
  if (dt > 0) iters = (long)((double)iters * secs / dt);
  if (iters < 1000) iters = 1000;
  double g1 = measure(1, iters), gn = nt == 1 ? g1 : measure(nt, iters);
  printf("RESULT side=machine isa=%s threads=%d fma_peak_gflops=%.1f fma_peak_1t_gflops=%.1f\n",
         fc_simd_name(level), nt, gn, g1);
  return 0;
}
