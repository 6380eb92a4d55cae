/* Scalar level of the vectorisable backend kernels (include/fantasia/backend.h, src/backend/simd.h):
 * plain C the compiler may auto-vectorise for the baseline ISA; used when FC_SIMD=scalar or the CPU has
 * no AVX2. Statistics in double, activations through libm in float with the cancellation-free forms. */
#include <math.h>
#include <string.h>

#include "simd.h"

static void layernorm_s(const float *x, size_t rows, size_t dim, const float *w, const float *b, float eps,
                        float *out) {
  for (size_t r = 0; r < rows; r++) {
    const float *xr = x + r * dim;
    float *o = out + r * dim;
    double s = 0, s2 = 0;
    for (size_t j = 0; j < dim; j++)
      s += xr[j];
    double mean = dim ? s / (double)dim : 0;
    for (size_t j = 0; j < dim; j++) {
      double d = xr[j] - mean;
      s2 += d * d;
    }
    double var = dim ? s2 / (double)dim : 0;
    double inv = 1.0 / sqrt(var + eps); /* centring in double: a float mean loses digits at small variance */
    for (size_t j = 0; j < dim; j++) {
      double y = (xr[j] - mean) * inv;
      if (w) y *= w[j];
      if (b) y += b[j];
      o[j] = (float)y;
    }
  }
}

static void rmsnorm_s(const float *x, size_t rows, size_t dim, const float *w, float eps, float *out) {
  for (size_t r = 0; r < rows; r++) {
    const float *a = x + r * dim;
    float *o = out + r * dim;
    double s = 0.0;
    for (size_t j = 0; j < dim; j++)
      s += (double)a[j] * a[j];
    double inv = 1.0 / sqrt(s / (double)dim + (double)eps);
    if (w)
      for (size_t j = 0; j < dim; j++)
        o[j] = (float)((double)a[j] * inv * w[j]);
    else
      for (size_t j = 0; j < dim; j++)
        o[j] = (float)((double)a[j] * inv);
  }
}

static void softmax_s(float *x, size_t rows, size_t cols) {
  for (size_t r = 0; r < rows; r++) {
    float *v = x + r * cols, mx = -INFINITY;
    for (size_t j = 0; j < cols; j++)
      mx = v[j] > mx ? v[j] : mx;
    if (mx == -INFINITY) { /* all masked: zeros, not NaN */
      memset(v, 0, cols * sizeof *v);
      continue;
    }
    double s = 0;
    for (size_t j = 0; j < cols; j++) {
      /* two-sum: v − mx rounded to float plus its exact error, so exp sees the true difference */
      float d = v[j] - mx, bb = d - v[j], lo = (v[j] - (d - bb)) + (-mx - bb);
      float e = expf(d);
      v[j] = d == -INFINITY ? 0.0f : e + e * lo;
      s += v[j];
    }
    float inv = (float)(1.0 / s);
    for (size_t j = 0; j < cols; j++)
      v[j] *= inv;
  }
}

static inline float act1(fc_act act, float x) {
  switch (act) {
  case FC_ACT_RELU:
    return x > 0.0f ? x : 0.0f;
  case FC_ACT_GELU_ERF: /* Φ(x) = erfc(−x/√2)/2: no cancellation for negative x */
    return 0.5f * x * erfcf(-x * 0.70710678118654752f);
  case FC_ACT_GELU_TANH: { /* 0.5(1 + tanh u) = sigmoid(2u) */
    float u = 1.5957691216057308f * x * (1.0f + 0.044715f * x * x);
    return x / (1.0f + expf(-u));
  }
  case FC_ACT_SILU:
    return x / (1.0f + expf(-x));
  default:
    return x;
  }
}

/* one loop per activation (the switch outside), so the compiler can vectorise the simple ones */
#define FC_PER_ACT(LOOP)                                                                                     \
  switch (act) {                                                                                             \
  case FC_ACT_RELU:                                                                                          \
    LOOP(FC_ACT_RELU);                                                                                       \
    break;                                                                                                   \
  case FC_ACT_GELU_ERF:                                                                                      \
    LOOP(FC_ACT_GELU_ERF);                                                                                   \
    break;                                                                                                   \
  case FC_ACT_GELU_TANH:                                                                                     \
    LOOP(FC_ACT_GELU_TANH);                                                                                  \
    break;                                                                                                   \
  case FC_ACT_SILU:                                                                                          \
    LOOP(FC_ACT_SILU);                                                                                       \
    break;                                                                                                   \
  default:                                                                                                   \
    LOOP(FC_ACT_IDENTITY);                                                                                   \
  }

static void act_s(fc_act act, float *x, size_t n) {
  if (act == FC_ACT_IDENTITY) return;
#define ACT_LOOP(A)                                                                                          \
  for (size_t i = 0; i < n; i++)                                                                             \
  x[i] = act1(A, x[i])
  FC_PER_ACT(ACT_LOOP)
#undef ACT_LOOP
}

static void gated_s(fc_act act, const float *g, const float *u, float *out, size_t n) {
#define GATED_LOOP(A)                                                                                        \
  for (size_t i = 0; i < n; i++)                                                                             \
  out[i] = act1(A, g[i]) * u[i]
  FC_PER_ACT(GATED_LOOP)
#undef GATED_LOOP
}

static void mul_s(float *x, const float *y, size_t n) {
  for (size_t i = 0; i < n; i++)
    x[i] *= y[i];
}

static void add_scaled_s(float *x, const float *y, float s, size_t n) {
  for (size_t i = 0; i < n; i++)
    x[i] = (float)((double)x[i] + (double)s * y[i]); /* s·y exact in double: one rounding */
}

static void rotary_s(float *x, size_t p0, size_t p1, size_t heads, size_t hd, size_t ld,
                     const float *inv_freq) {
  size_t h2 = hd / 2;
  float c[FC_ROTARY_MAX_HALF], s[FC_ROTARY_MAX_HALF];
  for (size_t p = p0; p < p1; p++) {
    fc_rotary_angles(p, inv_freq, h2, c, s);
    for (size_t h = 0; h < heads; h++) {
      float *u = x + p * ld + h * hd;
      for (size_t i = 0; i < h2; i++) {
        float a = u[i], bb = u[i + h2];
        u[i] = a * c[i] - bb * s[i];
        u[i + h2] = bb * c[i] + a * s[i];
      }
    }
  }
}

const fc_simd_kernels fc_simd_kernels_scalar = {layernorm_s, rmsnorm_s, softmax_s,    act_s,
                                                gated_s,     mul_s,     add_scaled_s, rotary_s};
