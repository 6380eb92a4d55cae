/* Plain scalar twins of the CPU backend primitives (include/fantasia/backend.h): loops, double sums. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fantasia/backend.h"

void fc_linear_ref(const float *A, const float *W, const float *bias, size_t M, size_t N, size_t K,
                   float *C) {
  for (size_t i = 0; i < M; i++)
    for (size_t j = 0; j < N; j++) {
      double s = bias ? bias[j] : 0.0;
      for (size_t t = 0; t < K; t++)
        s += (double)A[i * K + t] * W[j * K + t];
      C[i * N + j] = (float)s;
    }
}

void fc_layernorm_ref(const float *x, size_t rows, size_t dim, const float *w, const float *b, float eps,
                      float *out) {
  for (size_t r = 0; r < rows; r++) {
    double mean = 0, var = 0;
    for (size_t j = 0; j < dim; j++)
      mean += x[r * dim + j];
    mean /= (double)(dim ? dim : 1);
    for (size_t j = 0; j < dim; j++)
      var += (x[r * dim + j] - mean) * (x[r * dim + j] - mean);
    var /= (double)(dim ? dim : 1);
    for (size_t j = 0; j < dim; j++)
      out[r * dim + j] =
          (float)((x[r * dim + j] - mean) / sqrt(var + (double)eps) * (w ? w[j] : 1.0) + (b ? b[j] : 0.0));
  }
}

void fc_gelu_erf_ref(float *x, size_t n) {
  for (size_t i = 0; i < n; i++)
    x[i] = (float)(0.5 * x[i] * (1.0 + erf(x[i] / sqrt(2.0))));
}

void fc_softmax_rows_ref(float *x, size_t rows, size_t cols) {
  for (size_t r = 0; r < rows; r++) {
    float *v = x + r * cols;
    double mx = -INFINITY, s = 0;
    for (size_t j = 0; j < cols; j++)
      if (v[j] > mx) mx = v[j];
    if (mx == -INFINITY) {
      for (size_t j = 0; j < cols; j++)
        v[j] = 0;
      continue;
    }
    for (size_t j = 0; j < cols; j++)
      s += exp(v[j] - mx);
    for (size_t j = 0; j < cols; j++)
      v[j] = (float)(exp(v[j] - mx) / s);
  }
}

void fc_rotary_ref(float *x, size_t T, size_t heads, size_t hd, size_t ld, const float *inv_freq) {
  size_t h2 = hd / 2;
  for (size_t p = 0; p < T; p++)
    for (size_t h = 0; h < heads; h++)
      for (size_t i = 0; i < h2; i++) {
        float *u = x + p * ld + h * hd;
        double th = (double)p * (double)inv_freq[i], a = u[i], b = u[i + h2];
        u[i] = (float)(a * cos(th) - b * sin(th));
        u[i + h2] = (float)(b * cos(th) + a * sin(th));
      }
}

void fc_attention_ref(const float *q, const float *k, const float *v, size_t T, size_t heads, size_t hd,
                      size_t ld, float *out) {
  double *p = malloc((T ? T : 1) * sizeof *p);
  if (!p) return;
  for (size_t h = 0; h < heads; h++)
    for (size_t i = 0; i < T; i++) {
      double mx = -INFINITY, s = 0;
      for (size_t j = 0; j < T; j++) {
        double d = 0;
        for (size_t t = 0; t < hd; t++)
          d += (double)q[i * ld + h * hd + t] * k[j * ld + h * hd + t];
        p[j] = d;
        if (d > mx) mx = d;
      }
      for (size_t j = 0; j < T; j++)
        s += (p[j] = exp(p[j] - mx));
      for (size_t t = 0; t < hd; t++) {
        double o = 0;
        for (size_t j = 0; j < T; j++)
          o += p[j] / s * v[j * ld + h * hd + t];
        out[i * heads * hd + h * hd + t] = (float)o;
      }
    }
  free(p);
}

void fc_attention_bias_ref(const float *q, const float *k, const float *v, const float *bias, size_t T,
                           size_t heads, size_t hd, size_t ld, float *out) {
  double *p = malloc((T ? T : 1) * sizeof *p);
  if (!p) return;
  for (size_t h = 0; h < heads; h++)
    for (size_t i = 0; i < T; i++) {
      double mx = -INFINITY, s = 0;
      for (size_t j = 0; j < T; j++) {
        double d = bias ? (double)bias[(h * T + i) * T + j] : 0.0;
        for (size_t t = 0; t < hd; t++)
          d += (double)q[i * ld + h * hd + t] * k[j * ld + h * hd + t];
        p[j] = d;
        if (d > mx) mx = d;
      }
      for (size_t j = 0; j < T; j++)
        s += (p[j] = exp(p[j] - mx));
      for (size_t t = 0; t < hd; t++) {
        double o = 0;
        for (size_t j = 0; j < T; j++)
          o += p[j] / s * v[j * ld + h * hd + t];
        out[i * heads * hd + h * hd + t] = (float)o;
      }
    }
  free(p);
}

void fc_rmsnorm_ref(const float *x, size_t rows, size_t dim, const float *w, float eps, float *out) {
  for (size_t r = 0; r < rows; r++) {
    double s = 0;
    for (size_t j = 0; j < dim; j++)
      s += (double)x[r * dim + j] * x[r * dim + j];
    double inv = 1.0 / sqrt(s / (double)dim + (double)eps);
    for (size_t j = 0; j < dim; j++)
      out[r * dim + j] = (float)((w ? (double)w[j] : 1.0) * x[r * dim + j] * inv);
  }
}

/* ---- activations, gated products, residuals: definitions in double ---- */

static double act_ref1(fc_act act, double x) {
  switch (act) {
  case FC_ACT_RELU:
    return x > 0 ? x : 0;
  case FC_ACT_GELU_ERF:
    return 0.5 * x * (1.0 + erf(x / sqrt(2.0)));
  case FC_ACT_GELU_TANH:
    return 0.5 * x * (1.0 + tanh(sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
  case FC_ACT_SILU:
    return x / (1.0 + exp(-x));
  default:
    return x;
  }
}

void fc_act_apply_ref(fc_act act, float *x, size_t n) {
  for (size_t i = 0; i < n; i++)
    x[i] = (float)act_ref1(act, x[i]);
}

void fc_gelu_tanh_ref(float *x, size_t n) {
  fc_act_apply_ref(FC_ACT_GELU_TANH, x, n);
}
void fc_silu_ref(float *x, size_t n) {
  fc_act_apply_ref(FC_ACT_SILU, x, n);
}
void fc_relu_ref(float *x, size_t n) {
  fc_act_apply_ref(FC_ACT_RELU, x, n);
}

void fc_mul_ref(float *x, const float *y, size_t n) {
  for (size_t i = 0; i < n; i++)
    x[i] = (float)((double)x[i] * y[i]);
}

void fc_gated_ref(fc_act act, const float *g, size_t ldg, const float *u, size_t ldu, size_t rows,
                  size_t cols, float *out, size_t ldo) {
  for (size_t r = 0; r < rows; r++)
    for (size_t j = 0; j < cols; j++)
      out[r * ldo + j] = (float)(act_ref1(act, g[r * ldg + j]) * u[r * ldu + j]);
}

void fc_add_scaled_ref(float *x, const float *y, float s, size_t n) {
  for (size_t i = 0; i < n; i++)
    x[i] = (float)((double)x[i] + (double)s * y[i]);
}
