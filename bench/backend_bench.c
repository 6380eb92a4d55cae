/* backend_bench: throughput of the vectorised backend kernels per SIMD level (scalar / avx2 / avx512,
 * whichever this CPU has) on transformer-shaped inputs, single-threaded and with fc_num_threads() threads,
 * in one run; prints Melem/s and the ratio against the scalar level.
 *
 *   ./backend_bench [rows=512] [min_seconds_per_case=0.2]
 *
 * Shapes: [rows, 1280] (ESM-2 650M hidden) and [rows, 5120] (its FFN); softmax on [rows, rows] per head
 * (20 heads); rotary on [rows, 20 heads, 64]. Threads: FANTASIA_THREADS (default: all cores). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fantasia/backend.h"
#include "fantasia/core.h"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

enum {
  K_LN,
  K_RMS,
  K_SOFTMAX,
  K_GELU_ERF,
  K_GELU_TANH,
  K_SILU,
  K_RELU,
  K_MUL,
  K_ADD,
  K_SWIGLU,
  K_ROTARY,
  NK
};
static const char *const KNAME[NK] = {"layernorm", "rmsnorm", "softmax",    "gelu_erf",   "gelu_tanh", "silu",
                                      "relu",      "mul",     "add_scaled", "gated_silu", "rotary"};

typedef struct {
  size_t rows, cols;
  float *x, *y, *w, *b, *o, *inv, *orig;
} bufs;

static void run1(int k, bufs *B) {
  size_t n = B->rows * B->cols;
  switch (k) {
  case K_LN:
    fc_layernorm(B->x, B->rows, B->cols, B->w, B->b, 1e-5f, B->o);
    break;
  case K_RMS:
    fc_rmsnorm(B->x, B->rows, B->cols, B->w, 1e-6f, B->o);
    break;
  case K_SOFTMAX: /* 20 heads of [rows, rows] = the buffer as rows·cols/… rows of `rows` */
    fc_softmax_rows(B->x, n / B->rows, B->rows);
    break;
  case K_GELU_ERF:
    fc_gelu_erf(B->x, n);
    break;
  case K_GELU_TANH:
    fc_gelu_tanh(B->x, n);
    break;
  case K_SILU:
    fc_silu(B->x, n);
    break;
  case K_RELU:
    fc_relu(B->x, n);
    break;
  case K_MUL:
    fc_mul(B->x, B->y, n);
    break;
  case K_ADD:
    fc_add_scaled(B->x, B->y, 1e-3f, n);
    break;
  case K_SWIGLU: /* fused [rows, 2·cols/2] projection → [rows, cols/2] */
    fc_gated(FC_ACT_SILU, B->x, B->cols, B->x + B->cols / 2, B->cols, B->rows, B->cols / 2, B->o,
             B->cols / 2);
    break;
  default: /* heads of 64 */
    fc_rotary(B->x, B->rows, B->cols / 64, 64, B->cols, B->inv);
  }
}

/* Melem/s of kernel k, repeating for at least min_s seconds (input restored between calls, untimed) */
static double measure(int k, bufs *B, double min_s) {
  size_t n = B->rows * B->cols;
  double t = 0;
  long reps = 0;
  while (t < min_s || reps < 3) {
    memcpy(B->x, B->orig, n * sizeof *B->x);
    double t0 = now();
    run1(k, B);
    t += now() - t0;
    reps++;
  }
  size_t elems = k == K_SWIGLU ? n / 2 : n;
  return (double)elems * (double)reps / t / 1e6;
}

int main(int argc, char **argv) {
  size_t rows = argc > 1 ? (size_t)atol(argv[1]) : 512;
  double min_s = argc > 2 ? atof(argv[2]) : 0.2;
  static const size_t COLS[] = {1280, 5120};
  const char *levels[] = {"scalar", "avx2", "avx512"};
  int best = (int)fc_simd_best(), nt = fc_num_threads();
  char ntbuf[32];
  snprintf(ntbuf, sizeof ntbuf, "%d", nt);
  const char *saved_threads = getenv("FANTASIA_THREADS");
  printf("backend_bench: rows %zu, best level %s, threads 1 and %d, %.2f s per case\n", rows,
         fc_simd_name((fc_simd)best), nt, min_s);
  printf("%-11s %-11s %-7s %10s %10s %8s %8s\n", "kernel", "shape", "level", "1 thr", "N thr", "x scalar",
         "x 1thr");
  for (size_t c = 0; c < 2; c++) {
    bufs B = {rows, COLS[c], 0, 0, 0, 0, 0, 0, 0};
    size_t n = rows * COLS[c];
    B.x = fc_aligned_alloc(n * sizeof(float));
    B.orig = fc_aligned_alloc(n * sizeof(float));
    B.y = fc_aligned_alloc(n * sizeof(float));
    B.o = fc_aligned_alloc(n * sizeof(float));
    B.w = fc_aligned_alloc(COLS[c] * sizeof(float));
    B.b = fc_aligned_alloc(COLS[c] * sizeof(float));
    B.inv = fc_aligned_alloc(32 * sizeof(float));
    if (!B.x || !B.orig || !B.y || !B.o || !B.w || !B.b || !B.inv) return 1;
    unsigned s = 12345;
    for (size_t i = 0; i < n; i++) {
      s = s * 1103515245u + 12345u;
      B.orig[i] = ((float)(s >> 8) / 16777216.0f - 0.5f) * 8.0f;
      B.y[i] = 1.0f + B.orig[i] / 16;
    }
    for (size_t i = 0; i < COLS[c]; i++)
      B.w[i] = 1.0f + 0.01f * (float)(i % 7), B.b[i] = 0.01f * (float)(i % 5);
    for (size_t i = 0; i < 32; i++)
      B.inv[i] = (float)pow(10000.0, -2.0 * (double)i / 64.0);
    for (int k = 0; k < NK; k++) {
      double base = 0;
      for (int lv = 0; lv <= best; lv++) {
        setenv("FC_SIMD", levels[lv], 1);
        setenv("FANTASIA_THREADS", "1", 1);
        double m1 = measure(k, &B, min_s);
        setenv("FANTASIA_THREADS", ntbuf, 1);
        double mn = measure(k, &B, min_s);
        if (!lv) base = m1;
        char shape[32];
        snprintf(shape, sizeof shape, "%zux%zu", rows, COLS[c]);
        printf("%-11s %-11s %-7s %10.1f %10.1f %8.2f %8.2f\n", KNAME[k], shape, levels[lv], m1, mn, m1 / base,
               mn / m1);
        fflush(stdout);
      }
    }
    fc_aligned_free(B.x), fc_aligned_free(B.orig), fc_aligned_free(B.y), fc_aligned_free(B.o);
    fc_aligned_free(B.w), fc_aligned_free(B.b), fc_aligned_free(B.inv);
  }
  if (saved_threads)
    setenv("FANTASIA_THREADS", saved_threads, 1);
  else
    unsetenv("FANTASIA_THREADS");
  printf("columns: Melem/s single-threaded, Melem/s with N threads, 1-thread speed-up over the scalar level, "
         "N-thread speed-up over 1 thread\n");
  return 0;
}
