/* CPU backend: attention in query blocks, so the scratch held is block·T floats instead of T·T and memory
 * grows linearly with the sequence length (see include/fantasia/backend.h). Scalar twins: attention_ref.c. */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "fantasia/backend.h"

static size_t eff_block(size_t T, size_t block) {
  return block == 0 || block > T ? T : block;
}

size_t fc_attention_blocked_work(size_t T, size_t block) {
  size_t n = eff_block(T, block) * T;
  return n ? n : 1;
}

void fc_attention_blocked(const float *q, const float *k, const float *v, size_t T, size_t heads, size_t hd,
                          size_t ld, float *out, float *work, size_t block) {
  size_t H = heads * hd, B = eff_block(T, block);
  if (!T) return;
  for (size_t i0 = 0; i0 < T; i0 += B) {
    size_t b = T - i0 < B ? T - i0 : B;
    for (size_t h = 0; h < heads; h++) {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)b, (int)T, (int)hd, 1.0f,
                  q + i0 * ld + h * hd, (int)ld, k + h * hd, (int)ld, 0.0f, work, (int)T);
      fc_softmax_rows(work, b, T);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)b, (int)hd, (int)T, 1.0f, work, (int)T,
                  v + h * hd, (int)ld, 0.0f, out + i0 * H + h * hd, (int)H);
    }
  }
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
  size_t n = eff_block(T, block) * T + heads * (T ? 2 * T - 1 : 0);
  return n ? n : 1;
}

void fc_attention_relbias_blocked(const float *q, const float *k, const float *v, size_t T, size_t heads,
                                  size_t hd, size_t ld, const float *relb, int num_buckets, int max_distance,
                                  float *out, float *work, size_t block) {
  size_t H = heads * hd, B = eff_block(T, block), nof = 2 * T - 1;
  if (!T) return;
  float *S = work, *tab = work + B * T; /* tab[h][o]: bias of offset r = o − (T − 1) for head h */
  for (size_t o = 0; o < nof; o++) {
    int bk = fc_relative_position_bucket((int)o - (int)(T - 1), num_buckets, max_distance);
    for (size_t h = 0; h < heads; h++)
      tab[h * nof + o] = relb[(size_t)bk * heads + h];
  }
  for (size_t i0 = 0; i0 < T; i0 += B) {
    size_t b = T - i0 < B ? T - i0 : B;
    for (size_t h = 0; h < heads; h++) {
      /* row i, key j: offset j − i, i.e. tab[h][T − 1 − i + j]: a contiguous slice per row */
      for (size_t r = 0; r < b; r++)
        memcpy(S + r * T, tab + h * nof + (T - 1 - (i0 + r)), T * sizeof *S);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)b, (int)T, (int)hd, 1.0f,
                  q + i0 * ld + h * hd, (int)ld, k + h * hd, (int)ld, 1.0f, S, (int)T);
      fc_softmax_rows(S, b, T);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)b, (int)hd, (int)T, 1.0f, S, (int)T,
                  v + h * hd, (int)ld, 0.0f, out + i0 * H + h * hd, (int)H);
    }
  }
}
