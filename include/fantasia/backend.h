/* fantasia.c — backend: the dense primitives a transformer forward pass needs, on the CPU.
 *
 * Every optimised routine (fc_*) has a plain scalar twin (fc_*_ref) computing the same thing with
 * straightforward loops (double accumulation where it matters); tests/test_backend.c compares them on
 * random awkward sizes. All matrices are row-major float32, no aliasing between inputs and outputs unless
 * a function says "in place". Thread-safe (no global state; BLAS threading is OpenBLAS's own).
 *
 * Vectorised kernels (LayerNorm, RMSNorm, softmax, activations, gated products, scaled adds, rotary) exist
 * at three levels: plain C ("scalar"), AVX2+FMA and AVX-512F, all compiled into the default build
 * (function-level target attributes, no -march needed) and picked at run time from the CPU's features.
 * The environment variable FC_SIMD=scalar|avx2|avx512 (read on every call) caps the level, for tests and
 * benchmarks; a level the CPU lacks falls back to the best one it has. Large calls (see
 * FC_BACKEND_PAR_MIN_*) split rows / elements over up to fc_num_threads() POSIX threads (FANTASIA_THREADS),
 * created per call and joined before return; each row or element is computed by exactly the same code
 * whatever the split, so results are bit-identical for every thread count. Callers that already run
 * in parallel should set FANTASIA_THREADS=1 or keep calls small.
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

/* Threads of the blocked attention: fc_num_threads(), at most this many, at most one per (block, head). */
#define FC_ATTENTION_MAX_THREADS 64

/* Floats of `work` fc_attention_blocked needs: one score block of min(block, T)·T per thread, for
 * min(fc_num_threads(), FC_ATTENTION_MAX_THREADS, ⌈T / block⌉·heads) threads (at least 1). The (query
 * block, head) pairs run in parallel, each thread with single-threaded BLAS calls (fc_blas_serial_begin);
 * the result does not depend on the thread count. `work_floats` is the size of `work` as allocated: the
 * call never uses more threads than it holds score blocks for (at least one is assumed), so a thread count
 * changed after sizing (FANTASIA_THREADS) cannot overrun it. */
size_t fc_attention_blocked_work(size_t T, size_t heads, size_t block);
void fc_attention_blocked(const float *q, const float *k, const float *v, size_t T, size_t heads, size_t hd,
                          size_t ld, float *out, float *work, size_t work_floats, size_t block);
void fc_attention_blocked_ref(const float *q, const float *k, const float *v, size_t T, size_t heads,
                              size_t hd, size_t ld, float *out, size_t block);

/* HF T5Attention._relative_position_bucket for the bidirectional encoder, r = key − query position,
 * evaluated in float32 like torch (num_buckets >= 4, max_distance > num_buckets / 4). */
int fc_relative_position_bucket(int r, int num_buckets, int max_distance);

/* T5 attention with the relative position bias built per block: S_h[i][j] = q_h[i]·k_h[j] +
 * relb[bucket(j − i)·heads + h] (relb: the [num_buckets, heads] table of block 0; no 1/√d applied), then
 * the row softmax and ·v_h. No [heads, T, T] tensor is formed: the bias of each query row is a contiguous
 * slice of a per-head table over the 2T−1 offsets. `work` holds fc_attention_relbias_work(T, heads, block)
 * floats: heads·(2T − 1) for the table, then the score blocks, threads and `work_floats` as
 * fc_attention_blocked. */
size_t fc_attention_relbias_work(size_t T, size_t heads, size_t block);
void fc_attention_relbias_blocked(const float *q, const float *k, const float *v, size_t T, size_t heads,
                                  size_t hd, size_t ld, const float *relb, int num_buckets, int max_distance,
                                  float *out, float *work, size_t work_floats, size_t block);

/* OpenBLAS runs on one thread between begin and end: for code that runs its own threads around BLAS calls
 * (the blocked attention, the lookup). The thread count is one process-wide setting, so concurrent
 * sections nest: the first begin saves it, the last end restores it. A GEMM another thread runs meanwhile
 * is single-threaded too (slower, never different). */
void fc_blas_serial_begin(void);
void fc_blas_serial_end(void);
void fc_attention_relbias_blocked_ref(const float *q, const float *k, const float *v, size_t T, size_t heads,
                                      size_t hd, size_t ld, const float *relb, int num_buckets,
                                      int max_distance, float *out, size_t block);

/* ---- Activations, gated products, residuals (vectorised + threaded; scalar twins in double) ---- */

/* Elementwise activations selectable at run time (fc_act_apply, fc_gated). */
typedef enum {
  FC_ACT_IDENTITY = 0, /* x */
  FC_ACT_RELU,         /* max(x, 0) */
  FC_ACT_GELU_ERF,     /* 0.5·x·(1 + erf(x/√2))  (torch "gelu") */
  FC_ACT_GELU_TANH,    /* 0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³)))  (HF "gelu_new", T5 gated-gelu) */
  FC_ACT_SILU          /* x·sigmoid(x)  (SwiGLU) */
} fc_act;

/* GELU, tanh approximation (HF gelu_new), in place over n values. */
void fc_gelu_tanh(float *x, size_t n);
void fc_gelu_tanh_ref(float *x, size_t n);
/* SiLU / swish, x·sigmoid(x), in place. */
void fc_silu(float *x, size_t n);
void fc_silu_ref(float *x, size_t n);
/* ReLU, max(x, 0) (−0 and NaN-free inputs give +0 / x), in place. */
void fc_relu(float *x, size_t n);
void fc_relu_ref(float *x, size_t n);
/* Any fc_act in place over n values (FC_ACT_IDENTITY: untouched). */
void fc_act_apply(fc_act act, float *x, size_t n);
void fc_act_apply_ref(fc_act act, float *x, size_t n);

/* x ⊙= y over n values (in place on x). */
void fc_mul(float *x, const float *y, size_t n);
void fc_mul_ref(float *x, const float *y, size_t n);

/* Gated FFN product over `rows` rows of `cols` values: out[r][j] = act(g[r][j]) · u[r][j], with row
 * strides ldg, ldu, ldo (floats). For T5 gated-gelu pass the two projections; for SwiGLU (ESM C) pass
 * g = x, u = x + F, ldg = ldu = 2F on the fused [rows, 2F] projection. out may equal g with ldo == ldg
 * (in place); otherwise out must not overlap g or u. */
void fc_gated(fc_act act, const float *g, size_t ldg, const float *u, size_t ldu, size_t rows, size_t cols,
              float *out, size_t ldo);
void fc_gated_ref(fc_act act, const float *g, size_t ldg, const float *u, size_t ldu, size_t rows,
                  size_t cols, float *out, size_t ldo);

/* Scaled residual add in place: x[i] += s·y[i] (one rounding, fused multiply-add), e.g. ESM C's
 * x + r/scale with s = 1/scale, or a plain residual with s = 1. */
void fc_add_scaled(float *x, const float *y, float s, size_t n);
void fc_add_scaled_ref(float *x, const float *y, float s, size_t n);

/* ---- Dispatch ---- */

typedef enum { FC_SIMD_SCALAR = 0, FC_SIMD_AVX2 = 1, FC_SIMD_AVX512 = 2 } fc_simd;

/* Highest level this CPU supports (AVX2 needs avx2+fma; AVX-512 needs avx512f, OS state included). */
fc_simd fc_simd_best(void);
/* Level the kernels use now: FC_SIMD (scalar|avx2|avx512, case-insensitive; anything else ignored)
 * capped at fc_simd_best(). */
fc_simd fc_simd_active(void);
/* "scalar", "avx2", "avx512" (static string). */
const char *fc_simd_name(fc_simd level);

/* Floats per thread below which a call is not split further (so a call smaller than twice this stays on
 * the calling thread), by kernel cost: threads are created per call (tens of µs each), so each must get
 * a few hundred µs of work. The environment variable FC_PAR_MIN (floats, > 0) overrides all three, for
 * tests and benchmarks. */
#define FC_BACKEND_PAR_MIN_HEAVY ((size_t)1 << 17) /* gelu, silu, gated with those, softmax */
#define FC_BACKEND_PAR_MIN_NORM ((size_t)1 << 18)  /* layernorm, rmsnorm, rotary */
#define FC_BACKEND_PAR_MIN_LIGHT ((size_t)1 << 20) /* relu, mul, add_scaled: bandwidth-bound */

#ifdef __cplusplus
}
#endif
#endif
