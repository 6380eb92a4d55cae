/* Private to src/backend: one table of kernels per SIMD level (scalar, AVX2+FMA, AVX-512F). dispatch.c
 * picks the table (fc_simd_active) and splits rows / elements across threads; every kernel works on the
 * range it is handed and computes each row or element with the same code whatever the range, so the
 * split never changes a result. */
#ifndef FC_BACKEND_SIMD_H
#define FC_BACKEND_SIMD_H

#include <math.h>
#include <stddef.h>

#include "fantasia/backend.h"

typedef struct {
  void (*layernorm)(const float *x, size_t rows, size_t dim, const float *w, const float *b, float eps,
                    float *out);
  void (*rmsnorm)(const float *x, size_t rows, size_t dim, const float *w, float eps, float *out);
  void (*softmax)(float *x, size_t rows, size_t cols);
  void (*act)(fc_act act, float *x, size_t n);
  /* one contiguous run: out[i] = act(g[i]) · u[i]; out may equal g */
  void (*gated)(fc_act act, const float *g, const float *u, float *out, size_t n);
  void (*mul)(float *x, const float *y, size_t n);
  void (*add_scaled)(float *x, const float *y, float s, size_t n);
  /* positions p0 .. p1-1 of x[T, heads, hd] (x points at position 0); hd/2 <= FC_ROTARY_MAX_HALF */
  void (*rotary)(float *x, size_t p0, size_t p1, size_t heads, size_t hd, size_t ld, const float *inv_freq);
} fc_simd_kernels;

#define FC_ROTARY_MAX_HALF 512

/* fc_softmax_rows on the calling thread only (for callers that run their own threads: attention.c). */
void fc_softmax_rows_serial(float *x, size_t rows, size_t cols);

extern const fc_simd_kernels fc_simd_kernels_scalar;
extern const fc_simd_kernels fc_simd_kernels_avx2;   /* call only when fc_simd_best() >= FC_SIMD_AVX2 */
extern const fc_simd_kernels fc_simd_kernels_avx512; /* call only when fc_simd_best() >= FC_SIMD_AVX512 */

/* cos/sin of θ = p·inv_freq[i] in double, rounded to float; shared by every level so they agree. */
static inline void fc_rotary_angles(size_t p, const float *inv_freq, size_t h2, float *c, float *s) {
  for (size_t i = 0; i < h2; i++) {
    double sn, cs;
    sincos((double)p * (double)inv_freq[i], &sn, &cs);
    c[i] = (float)cs;
    s[i] = (float)sn;
  }
}

#endif
