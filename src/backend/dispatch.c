/* Backend dispatch: picks the SIMD level per call (CPU features, FC_SIMD) and splits large calls into
 * contiguous row / element ranges, one per POSIX thread (threads created per call and joined before
 * returning; no pool, no global state). See include/fantasia/backend.h. */
#include <pthread.h>
#include <stdlib.h>
#include <strings.h>

#include "fantasia/backend.h"
#include "fantasia/core.h"
#include "simd.h"

#define FC_MAX_THREADS 64

fc_simd fc_simd_best(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return FC_SIMD_AVX512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return FC_SIMD_AVX2;
#endif
  return FC_SIMD_SCALAR;
}

fc_simd fc_simd_active(void) {
  fc_simd best = fc_simd_best(), want = best;
  const char *e = getenv("FC_SIMD");
  if (e) {
    if (!strcasecmp(e, "scalar"))
      want = FC_SIMD_SCALAR;
    else if (!strcasecmp(e, "avx2"))
      want = FC_SIMD_AVX2;
    else if (!strcasecmp(e, "avx512"))
      want = FC_SIMD_AVX512;
  }
  return want < best ? want : best;
}

const char *fc_simd_name(fc_simd level) {
  switch (level) {
  case FC_SIMD_AVX2:
    return "avx2";
  case FC_SIMD_AVX512:
    return "avx512";
  default:
    return "scalar";
  }
}

static const fc_simd_kernels *kernels(void) {
  switch (fc_simd_active()) {
  case FC_SIMD_AVX512:
    return &fc_simd_kernels_avx512;
  case FC_SIMD_AVX2:
    return &fc_simd_kernels_avx2;
  default:
    return &fc_simd_kernels_scalar;
  }
}

/* ---- parallel for over [0, n) items ---- */

typedef void (*range_fn)(const void *args, const fc_simd_kernels *k, size_t lo, size_t hi);

typedef struct {
  range_fn fn;
  const void *args;
  const fc_simd_kernels *k;
  size_t lo, hi;
} range_job;

static void *range_main(void *p) {
  range_job *j = p;
  j->fn(j->args, j->k, j->lo, j->hi);
  return NULL;
}

/* Floats per thread below which a call is not split further: the kernel's class minimum
 * (FC_BACKEND_PAR_MIN_*), or FC_PAR_MIN from the environment when set (tests use it to force splits). */
static size_t par_min(size_t class_min) {
  const char *e = getenv("FC_PAR_MIN");
  long v = e ? atol(e) : 0;
  return v > 0 ? (size_t)v : class_min;
}

/* Runs fn over [0, n) items of `per_item` floats each: on the calling thread alone when the work is small,
 * else over up to fc_num_threads() threads, each with at least par_min(class_min) floats; ranges start at
 * multiples of `align` items. A thread that cannot be created runs its range on the caller instead. */
static void par_for(size_t n, size_t per_item, size_t align, size_t class_min, range_fn fn,
                    const void *args) {
  const fc_simd_kernels *k = kernels();
  size_t work = n * (per_item ? per_item : 1), nt = work / par_min(class_min);
  if (nt > 1) {
    size_t cores = (size_t)fc_num_threads();
    if (nt > cores) nt = cores;
    if (nt > FC_MAX_THREADS) nt = FC_MAX_THREADS;
    if (nt > n) nt = n;
  }
  if (nt <= 1) {
    fn(args, k, 0, n);
    return;
  }
  range_job jobs[FC_MAX_THREADS];
  pthread_t tid[FC_MAX_THREADS];
  int started[FC_MAX_THREADS] = {0};
  size_t step = (n + nt - 1) / nt;
  if (align > 1) step = (step + align - 1) / align * align;
  size_t used = 0;
  for (size_t t = 0; t < nt; t++) {
    size_t lo = t * step, hi = lo + step < n ? lo + step : n;
    if (lo >= n) break;
    jobs[t] = (range_job){fn, args, k, lo, hi};
    used = t + 1;
  }
  for (size_t t = 1; t < used; t++)
    started[t] = pthread_create(&tid[t], NULL, range_main, &jobs[t]) == 0;
  range_main(&jobs[0]);
  for (size_t t = 1; t < used; t++) {
    if (started[t])
      pthread_join(tid[t], NULL);
    else
      range_main(&jobs[t]);
  }
}

/* ---- row kernels ---- */

typedef struct {
  const float *x, *w, *b;
  float *out;
  size_t dim;
  float eps;
} norm_args;

static void layernorm_rows(const void *p, const fc_simd_kernels *k, size_t lo, size_t hi) {
  const norm_args *a = p;
  k->layernorm(a->x + lo * a->dim, hi - lo, a->dim, a->w, a->b, a->eps, a->out + lo * a->dim);
}

void fc_layernorm(const float *x, size_t rows, size_t dim, const float *w, const float *b, float eps,
                  float *out) {
  norm_args a = {x, w, b, out, dim, eps};
  par_for(rows, dim, 1, FC_BACKEND_PAR_MIN_NORM, layernorm_rows, &a);
}

static void rmsnorm_rows(const void *p, const fc_simd_kernels *k, size_t lo, size_t hi) {
  const norm_args *a = p;
  k->rmsnorm(a->x + lo * a->dim, hi - lo, a->dim, a->w, a->eps, a->out + lo * a->dim);
}

void fc_rmsnorm(const float *x, size_t rows, size_t dim, const float *w, float eps, float *out) {
  norm_args a = {x, w, NULL, out, dim, eps};
  par_for(rows, dim, 1, FC_BACKEND_PAR_MIN_NORM, rmsnorm_rows, &a);
}

typedef struct {
  float *x;
  size_t cols;
} softmax_args;

static void softmax_range(const void *p, const fc_simd_kernels *k, size_t lo, size_t hi) {
  const softmax_args *a = p;
  k->softmax(a->x + lo * a->cols, hi - lo, a->cols);
}

void fc_softmax_rows(float *x, size_t rows, size_t cols) {
  softmax_args a = {x, cols};
  par_for(rows, cols, 1, FC_BACKEND_PAR_MIN_HEAVY, softmax_range, &a);
}

void fc_softmax_rows_serial(float *x, size_t rows, size_t cols) {
  kernels()->softmax(x, rows, cols);
}

/* ---- elementwise kernels ---- */

typedef struct {
  fc_act act;
  float *x;
  const float *y;
  float s;
} elem_args;

static void act_range(const void *p, const fc_simd_kernels *k, size_t lo, size_t hi) {
  const elem_args *a = p;
  k->act(a->act, a->x + lo, hi - lo);
}

void fc_act_apply(fc_act act, float *x, size_t n) {
  if (act == FC_ACT_IDENTITY) return;
  elem_args a = {act, x, NULL, 0};
  par_for(n, 1, 64, act == FC_ACT_RELU ? FC_BACKEND_PAR_MIN_LIGHT : FC_BACKEND_PAR_MIN_HEAVY, act_range, &a);
}

void fc_gelu_erf(float *x, size_t n) {
  fc_act_apply(FC_ACT_GELU_ERF, x, n);
}
void fc_gelu_tanh(float *x, size_t n) {
  fc_act_apply(FC_ACT_GELU_TANH, x, n);
}
void fc_silu(float *x, size_t n) {
  fc_act_apply(FC_ACT_SILU, x, n);
}
void fc_relu(float *x, size_t n) {
  fc_act_apply(FC_ACT_RELU, x, n);
}

static void mul_range(const void *p, const fc_simd_kernels *k, size_t lo, size_t hi) {
  const elem_args *a = p;
  k->mul(a->x + lo, a->y + lo, hi - lo);
}

void fc_mul(float *x, const float *y, size_t n) {
  elem_args a = {FC_ACT_IDENTITY, x, y, 0};
  par_for(n, 1, 64, FC_BACKEND_PAR_MIN_LIGHT, mul_range, &a);
}

static void add_scaled_range(const void *p, const fc_simd_kernels *k, size_t lo, size_t hi) {
  const elem_args *a = p;
  k->add_scaled(a->x + lo, a->y + lo, a->s, hi - lo);
}

void fc_add_scaled(float *x, const float *y, float s, size_t n) {
  elem_args a = {FC_ACT_IDENTITY, x, y, s};
  par_for(n, 1, 64, FC_BACKEND_PAR_MIN_LIGHT, add_scaled_range, &a);
}

typedef struct {
  fc_act act;
  const float *g, *u;
  float *out;
  size_t ldg, ldu, ldo, cols;
} gated_args;

static void gated_range(const void *p, const fc_simd_kernels *k, size_t lo, size_t hi) {
  const gated_args *a = p;
  if (a->ldg == a->cols && a->ldu == a->cols && a->ldo == a->cols) { /* contiguous: one run */
    k->gated(a->act, a->g + lo * a->cols, a->u + lo * a->cols, a->out + lo * a->cols, (hi - lo) * a->cols);
    return;
  }
  for (size_t r = lo; r < hi; r++)
    k->gated(a->act, a->g + r * a->ldg, a->u + r * a->ldu, a->out + r * a->ldo, a->cols);
}

void fc_gated(fc_act act, const float *g, size_t ldg, const float *u, size_t ldu, size_t rows, size_t cols,
              float *out, size_t ldo) {
  if (!rows || !cols) return;
  gated_args a = {act, g, u, out, ldg, ldu, ldo, cols};
  par_for(rows, cols, 1,
          act == FC_ACT_RELU || act == FC_ACT_IDENTITY ? FC_BACKEND_PAR_MIN_LIGHT : FC_BACKEND_PAR_MIN_HEAVY,
          gated_range, &a);
}

/* ---- rotary ---- */

typedef struct {
  float *x;
  size_t heads, hd, ld;
  const float *inv_freq;
} rotary_args;

static void rotary_range(const void *p, const fc_simd_kernels *k, size_t lo, size_t hi) {
  const rotary_args *a = p;
  k->rotary(a->x, lo, hi, a->heads, a->hd, a->ld, a->inv_freq);
}

void fc_rotary(float *x, size_t T, size_t heads, size_t hd, size_t ld, const float *inv_freq) {
  if (hd / 2 >
      FC_ROTARY_MAX_HALF) { /* heads wider than the vector kernels were written for: the scalar twin */
    fc_rotary_ref(x, T, heads, hd, ld, inv_freq);
    return;
  }
  rotary_args a = {x, heads, hd, ld, inv_freq};
  par_for(T, heads * hd + hd, 1, FC_BACKEND_PAR_MIN_NORM, rotary_range,
          &a); /* + hd: the per-position cos/sin */
}
