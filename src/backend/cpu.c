/* CPU backend: BLAS-backed and vectorisable primitives (see include/fantasia/backend.h). */
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

void fc_layernorm(const float *x, size_t rows, size_t dim, const float *w, const float *b, float eps,
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
      float y = (float)((xr[j] - mean) * inv);
      o[j] = y * (w ? w[j] : 1.0f) + (b ? b[j] : 0.0f);
    }
  }
}

void fc_gelu_erf(float *x, size_t n) {
  for (size_t i = 0; i < n; i++)
    x[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.70710678118654752f));
}

void fc_softmax_rows(float *x, size_t rows, size_t cols) {
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
      v[j] = expf(v[j] - mx);
      s += v[j];
    }
    float inv = (float)(1.0 / s);
    for (size_t j = 0; j < cols; j++)
      v[j] *= inv;
  }
}

void fc_rotary(float *x, size_t T, size_t heads, size_t hd, size_t ld, const float *inv_freq) {
  size_t h2 = hd / 2;
  float c[512], s[512]; /* hd/2 <= 512 checked below; larger heads use the scalar twin */
  if (h2 > 512) {
    fc_rotary_ref(x, T, heads, hd, ld, inv_freq);
    return;
  }
  for (size_t p = 0; p < T; p++) {
    for (size_t i = 0; i < h2; i++) {
      double th = (double)p * (double)inv_freq[i];
      c[i] = (float)cos(th);
      s[i] = (float)sin(th);
    }
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

void fc_rmsnorm(const float *x, size_t rows, size_t dim, const float *w, float eps, float *out) {
  for (size_t r = 0; r < rows; r++) {
    const float *a = x + r * dim;
    float *o = out + r * dim;
    double s = 0.0;
    for (size_t j = 0; j < dim; j++)
      s += (double)a[j] * a[j];
    float inv = (float)(1.0 / sqrt(s / (double)dim + (double)eps));
    if (w)
      for (size_t j = 0; j < dim; j++)
        o[j] = w[j] * (a[j] * inv);
    else
      for (size_t j = 0; j < dim; j++)
        o[j] = a[j] * inv;
  }
}
