/* fantasia.c — backend: the dense primitives a transformer forward pass needs, on the CPU.
 *
 * Every optimised routine (fc_*) has a plain scalar twin (fc_*_ref) computing the same thing with
 * straightforward loops (double accumulation where it matters); tests/test_backend.c compares them on
 * random awkward sizes. All matrices are row-major float32, no aliasing between inputs and outputs unless
 * a function says "in place". Thread-safe (no global state; BLAS threading is OpenBLAS's own).
 */
#ifndef FANTASIA_BACKEND_H
#define FANTASIA_BACKEND_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Linear layer as torch stores it: C[M,N] = A[M,K] · W[N,K]ᵀ + bias[N] (bias may be NULL). cblas_sgemm. */
void fc_linear(const float *A, const float *W, const float *bias, size_t M, size_t N, size_t K, float *C);
void fc_linear_ref(const float *A, const float *W, const float *bias, size_t M, size_t N, size_t K, float *C);

/* LayerNorm over the last dim of x[rows, dim] (biased variance, eps inside the sqrt, torch semantics):
 * out = (x − mean) / sqrt(var + eps) · w + b. w/b may be NULL (1 / 0). out may equal x (in place). */
void fc_layernorm(const float *x, size_t rows, size_t dim, const float *w, const float *b, float eps,
                  float *out);
void fc_layernorm_ref(const float *x, size_t rows, size_t dim, const float *w, const float *b, float eps,
                      float *out);

/* Exact GELU, 0.5·x·(1 + erf(x/√2)), in place over n values. */
void fc_gelu_erf(float *x, size_t n);
void fc_gelu_erf_ref(float *x, size_t n);

/* Row softmax in place over x[rows, cols] with max subtraction; -INFINITY entries give 0. */
void fc_softmax_rows(float *x, size_t rows, size_t cols);
void fc_softmax_rows_ref(float *x, size_t rows, size_t cols);

/* Rotary embedding, GPT-NeoX rotate_half layout over the full head dim hd (even), in place on
 * x[T, heads, hd] (row stride `ld` floats between positions, heads contiguous inside a row):
 * for i < hd/2, θ = p·inv_freq[i] (angle and cos/sin in double, p = 0..T−1):
 *   x'[i] = x[i]cosθ − x[i+hd/2]sinθ,  x'[i+hd/2] = x[i+hd/2]cosθ + x[i]sinθ. */
void fc_rotary(float *x, size_t T, size_t heads, size_t hd, size_t ld, const float *inv_freq);
void fc_rotary_ref(float *x, size_t T, size_t heads, size_t hd, size_t ld, const float *inv_freq);

/* Bidirectional multi-head attention without mask (every key valid) for one sequence:
 * q, k, v: [T, heads, hd] with row stride ld (q already scaled); out[T, heads·hd] (row stride heads·hd):
 * out_h = softmax(q_h·k_hᵀ)·v_h. `work` holds at least T·T floats (fc_attention only). */
void fc_attention(const float *q, const float *k, const float *v, size_t T, size_t heads, size_t hd,
                  size_t ld, float *out, float *work);
void fc_attention_ref(const float *q, const float *k, const float *v, size_t T, size_t heads, size_t hd,
                      size_t ld, float *out);

/* Attention with an additive score bias (T5): as fc_attention but S_h = q_h·k_hᵀ + bias[h] before the
 * softmax, bias laid out [heads, T, T] (row = query, column = key; NULL: no bias). No scaling is applied:
 * pass q pre-scaled if the model needs it. `work` holds at least T·T floats (fc_attention_bias only). */
void fc_attention_bias(const float *q, const float *k, const float *v, const float *bias, size_t T,
                       size_t heads, size_t hd, size_t ld, float *out, float *work);
void fc_attention_bias_ref(const float *q, const float *k, const float *v, const float *bias, size_t T,
                           size_t heads, size_t hd, size_t ld, float *out);

/* T5 RMSNorm over the last dim of x[rows, dim]: out = w ⊙ x / sqrt(mean(x²) + eps) (no mean, no bias;
 * statistics in double). w may be NULL (1). out may equal x (in place). */
void fc_rmsnorm(const float *x, size_t rows, size_t dim, const float *w, float eps, float *out);
void fc_rmsnorm_ref(const float *x, size_t rows, size_t dim, const float *w, float eps, float *out);

/* ---- attention in query blocks (src/backend/attention.c): scratch grows linearly with T ----
 * The queries are processed `block` rows at a time (block 0 or > T: one block of T rows), so the score
 * matrix held is block·T floats instead of T·T; every output row is the same sums as in the unblocked
 * routines above, so results agree with fc_attention / fc_attention_bias to float32 rounding (BLAS may
 * pick another micro-kernel for a short block: ~1e-6 relative at T = 1,030). Layouts as fc_attention: q, k, v
 * [T, heads, hd] with row stride ld, out[T, heads·hd]. */

/* Query rows per block the models use: 128 rows keep a block's scores (128·T floats) small for long
 * sequences (0.5 MB per 1,000 keys) while each GEMM still has 128 rows. */
#define FC_ATTENTION_BLOCK 128

/* Floats of `work` fc_attention_blocked needs: min(block, T)·T (at least 1). */
size_t fc_attention_blocked_work(size_t T, size_t block);
void fc_attention_blocked(const float *q, const float *k, const float *v, size_t T, size_t heads, size_t hd,
                          size_t ld, float *out, float *work, size_t block);
void fc_attention_blocked_ref(const float *q, const float *k, const float *v, size_t T, size_t heads,
                              size_t hd, size_t ld, float *out, size_t block);

/* HF T5Attention._relative_position_bucket for the bidirectional encoder, r = key − query position,
 * evaluated in float32 like torch (num_buckets >= 4, max_distance > num_buckets / 4). */
int fc_relative_position_bucket(int r, int num_buckets, int max_distance);

/* T5 attention with the relative position bias built per block: S_h[i][j] = q_h[i]·k_h[j] +
 * relb[bucket(j − i)·heads + h] (relb: the [num_buckets, heads] table of block 0; no 1/√d applied), then
 * the row softmax and ·v_h. No [heads, T, T] tensor is formed: the bias of each query row is a contiguous
 * slice of a per-head table over the 2T−1 offsets. `work` holds fc_attention_relbias_work(T, heads, block)
 * floats: min(block, T)·T + heads·(2T − 1). */
size_t fc_attention_relbias_work(size_t T, size_t heads, size_t block);
void fc_attention_relbias_blocked(const float *q, const float *k, const float *v, size_t T, size_t heads,
                                  size_t hd, size_t ld, const float *relb, int num_buckets, int max_distance,
                                  float *out, float *work, size_t block);
void fc_attention_relbias_blocked_ref(const float *q, const float *k, const float *v, size_t T, size_t heads,
                                      size_t hd, size_t ld, const float *relb, int num_buckets,
                                      int max_distance, float *out, size_t block);

#ifdef __cplusplus
}
#endif
#endif
