/* CPU backend: BLAS-backed primitives (see include/fantasia/backend.h). The vectorised, threaded kernels
 * (norms, softmax, activations, rotary...) live in dispatch.c + simd_*.c. */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "fantasia/backend.h"

void fc_linear(const float *A, const float *W, const float *bias, size_t M, size_t N, size_t K, float *C) {
  if (!M || !N) return;
  if (bias)
    for (size_t i = 0; i < M; i++)
      memcpy(C + i * N, bias, N * sizeof *C);
  else
    memset(C, 0, M * N * sizeof *C);
  if (!K) return;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)M, (int)N, (int)K, 1.0f, A, (int)K, W, (int)K,
              1.0f, C, (int)N);
}

void fc_attention(const float *q, const float *k, const float *v, size_t T, size_t heads, size_t hd,
                  size_t ld, float *out, float *work) {
  size_t H = heads * hd;
  for (size_t h = 0; h < heads; h++) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)T, (int)T, (int)hd, 1.0f, q + h * hd, (int)ld,
                k + h * hd, (int)ld, 0.0f, work, (int)T);
    fc_softmax_rows(work, T, T);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)T, (int)hd, (int)T, 1.0f, work, (int)T,
                v + h * hd, (int)ld, 0.0f, out + h * hd, (int)H);
  }
}

void fc_attention_bias(const float *q, const float *k, const float *v, const float *bias, size_t T,
                       size_t heads, size_t hd, size_t ld, float *out, float *work) {
  size_t H = heads * hd;
  if (!T) return;
  for (size_t h = 0; h < heads; h++) {
    if (bias) memcpy(work, bias + h * T * T, T * T * sizeof *work);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)T, (int)T, (int)hd, 1.0f, q + h * hd, (int)ld,
                k + h * hd, (int)ld, bias ? 1.0f : 0.0f, work, (int)T);
    fc_softmax_rows(work, T, T);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)T, (int)hd, (int)T, 1.0f, work, (int)T,
                v + h * hd, (int)ld, 0.0f, out + h * hd, (int)H);
  }
}
