/* GEMM ceiling of stage A: OpenBLAS sgemm (the GEMMs fc_linear runs) in GFLOPS on the transformer shapes of
 * ESM-2 650M and ProtT5-XL, C[M,N] = A[M,K]·W[N,K]ᵀ. bench/gemm_ceiling.sh runs it next to torch's
 * F.linear on the same shapes and threads: the ratio bounds what any float32 implementation can gain over
 * HF transformers on the CPU (docs/benchmarks.md "PLM inference"). Usage: gemm_ceiling [reps] */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>

#include "fantasia/core.h"

int main(int argc, char **argv) {
  static const int S[][3] = {{500, 1280, 1280},  {500, 5120, 1280},  {500, 1280, 5120}, {4096, 1280, 1280},
                             {4096, 5120, 1280}, {500, 16384, 1024}, {500, 1024, 16384}};
  int reps = argc > 1 ? atoi(argv[1]) : 5;
  if (reps < 1) reps = 1;
  for (size_t s = 0; s < sizeof S / sizeof S[0]; s++) {
    int M = S[s][0], N = S[s][1], K = S[s][2];
    float *a = fc_aligned_alloc((size_t)M * K * sizeof *a), *w = fc_aligned_alloc((size_t)N * K * sizeof *w),
          *c = fc_aligned_alloc((size_t)M * N * sizeof *c);
    if (!a || !w || !c) return 1;
    for (size_t i = 0; i < (size_t)M * K; i++)
      a[i] = (float)((i * 2654435761u) % 1000) / 1000.0f;
    for (size_t i = 0; i < (size_t)N * K; i++)
      w[i] = (float)((i * 40503u) % 1000) / 1000.0f;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1, a, K, w, K, 0, c, N); /* warm-up */
    double t = fc_now_seconds();
    for (int r = 0; r < reps; r++)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1, a, K, w, K, 0, c, N);
    double dt = (fc_now_seconds() - t) / reps;
    printf("GEMM side=openblas M=%d N=%d K=%d gflops=%.1f\n", M, N, K, 2.0 * M * N * K / dt / 1e9);
    fc_aligned_free(a), fc_aligned_free(w), fc_aligned_free(c);
  }
  return 0;
}
