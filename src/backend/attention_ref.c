/* Plain scalar twins of the blocked attention routines (src/backend/attention.c): loops, double sums,
 * the query blocks walked the same way, one score row of doubles per query. */
#include <math.h>
#include <stdlib.h>

#include "fantasia/backend.h"

/* one query row of one head: scores (bias + q·k) -> softmax -> ·v, in double */
static void row(const float *q, const float *k, const float *v, size_t T, size_t hd, size_t ld,
                const float *bias_row, double *p, float *o) {
  double mx = -INFINITY, s = 0;
  for (size_t j = 0; j < T; j++) {
    double d = bias_row ? (double)bias_row[j] : 0.0;
    for (size_t t = 0; t < hd; t++)
      d += (double)q[t] * k[j * ld + t];
    p[j] = d;
    if (d > mx) mx = d;
  }
  for (size_t j = 0; j < T; j++)
    s += (p[j] = exp(p[j] - mx));
  for (size_t t = 0; t < hd; t++) {
    double acc = 0;
    for (size_t j = 0; j < T; j++)
      acc += p[j] / s * v[j * ld + t];
    o[t] = (float)acc;
  }
}

void fc_attention_blocked_ref(const float *q, const float *k, const float *v, size_t T, size_t heads,
                              size_t hd, size_t ld, float *out, size_t block) {
  size_t B = block == 0 || block > T ? T : block;
  double *p = malloc((T ? T : 1) * sizeof *p);
  if (!p) return;
  for (size_t i0 = 0; i0 < T; i0 += B)
    for (size_t i = i0; i < T && i < i0 + B; i++)
      for (size_t h = 0; h < heads; h++)
        row(q + i * ld + h * hd, k + h * hd, v + h * hd, T, hd, ld, NULL, p, out + i * heads * hd + h * hd);
  free(p);
}

void fc_attention_relbias_blocked_ref(const float *q, const float *k, const float *v, size_t T, size_t heads,
                                      size_t hd, size_t ld, const float *relb, int num_buckets,
                                      int max_distance, float *out, size_t block) {
  size_t B = block == 0 || block > T ? T : block;
  double *p = malloc((T ? T : 1) * sizeof *p);
  float *bias = malloc((T ? T : 1) * sizeof *bias);
  if (p && bias)
    for (size_t i0 = 0; i0 < T; i0 += B)
      for (size_t i = i0; i < T && i < i0 + B; i++)
        for (size_t h = 0; h < heads; h++) {
          for (size_t j = 0; j < T; j++)
            bias[j] =
                relb[(size_t)fc_relative_position_bucket((int)j - (int)i, num_buckets, max_distance) * heads +
                     h];
          row(q + i * ld + h * hd, k + h * hd, v + h * hd, T, hd, ld, bias, p, out + i * heads * hd + h * hd);
        }
  free(p);
  free(bias);
}
