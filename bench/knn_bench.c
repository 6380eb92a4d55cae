/* knn_bench: exact k-NN lookup (fc_knn_search) vs a bare OpenBLAS sgemm over the same matrices with the
 * same thread count. Random float data from a fixed seed; optionally writes Q.npy / R.npy so the Python
 * peers (bench/knn_peers.py: SciPy cdist+argsort, faiss-cpu) search the very same data.
 *
 *   knn_bench [--nq N] [--nr N] [--dim D] [--threads T] [--k 1,50] [--metric cosine,euclidean]
 *             [--seed S] [--npy DIR] [--qb N] [--rb N] [--check Q]
 * Prints one "RESULT" line per measurement (machine-readable, read by knn_peers.py) and a table. */
#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fantasia/core.h"
#include "fantasia/knn.h"

static uint64_t rng_state;
static float rng_f(void) {
  rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
  return (float)((double)(uint32_t)(rng_state >> 32) / 2147483648.0 - 1.0);
}

static int write_npy(const char *path, const float *a, size_t rows, size_t cols) {
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  char hdr[128];
  int n = snprintf(hdr, sizeof hdr, "{'descr': '<f4', 'fortran_order': False, 'shape': (%zu, %zu), }", rows,
                   cols);
  int total = 10 + n + 1, pad = (64 - total % 64) % 64;
  unsigned short hl = (unsigned short)(n + pad + 1);
  fwrite("\x93NUMPY\x01\x00", 1, 8, f);
  fputc(hl & 0xff, f);
  fputc(hl >> 8, f);
  fwrite(hdr, 1, (size_t)n, f);
  for (int i = 0; i < pad; i++)
    fputc(' ', f);
  fputc('\n', f);
  size_t w = fwrite(a, sizeof *a, rows * cols, f);
  return (fclose(f) == 0 && w == rows * cols) ? 0 : -1;
}

/* bare sgemm: the same product, tiled so the output fits in memory, OpenBLAS threaded */
static double time_sgemm(const float *Q, size_t nq, const float *R, size_t nr, size_t dim, int threads) {
  openblas_set_num_threads(threads);
  size_t TQ = nq < 4096 ? nq : 4096, TR = nr < 8192 ? nr : 8192;
  float *C = fc_aligned_alloc(TQ * TR * sizeof *C);
  double t0 = fc_now_seconds();
  for (size_t q0 = 0; q0 < nq; q0 += TQ)
    for (size_t r0 = 0; r0 < nr; r0 += TR) {
      size_t m = nq - q0 < TQ ? nq - q0 : TQ, n = nr - r0 < TR ? nr - r0 : TR;
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)n, (int)dim, 1.0f, Q + q0 * dim,
                  (int)dim, R + r0 * dim, (int)dim, 0.0f, C, (int)n);
    }
  double t = fc_now_seconds() - t0;
  fc_aligned_free(C);
  return t;
}

int main(int argc, char **argv) {
  size_t nq = 20000, nr = 124000, dim = 1024, qb = 0, rb = 0, check = 0;
  int threads = 0, reps = 1;
  uint64_t seed = 42;
  const char *ks = "1,50", *metrics = "cosine,euclidean", *npy = NULL;
  for (int i = 1; i + 1 < argc; i += 2) {
    const char *a = argv[i], *v = argv[i + 1];
    if (!strcmp(a, "--nq"))
      nq = strtoull(v, NULL, 10);
    else if (!strcmp(a, "--nr"))
      nr = strtoull(v, NULL, 10);
    else if (!strcmp(a, "--dim"))
      dim = strtoull(v, NULL, 10);
    else if (!strcmp(a, "--threads"))
      threads = atoi(v);
    else if (!strcmp(a, "--k"))
      ks = v;
    else if (!strcmp(a, "--metric"))
      metrics = v;
    else if (!strcmp(a, "--seed"))
      seed = strtoull(v, NULL, 10);
    else if (!strcmp(a, "--npy"))
      npy = v;
    else if (!strcmp(a, "--qb"))
      qb = strtoull(v, NULL, 10);
    else if (!strcmp(a, "--rb"))
      rb = strtoull(v, NULL, 10);
    else if (!strcmp(a, "--reps"))
      reps = atoi(v);
    else if (!strcmp(a, "--check"))
      check = strtoull(v, NULL, 10);
    else if (!strcmp(a, "--verbose"))
      fc_log_set_level(atoi(v) ? FC_LOG_DEBUG : FC_LOG_INFO);
    else {
      fprintf(stderr, "knn_bench: unknown option %s\n", a);
      return 2;
    }
  }
  if (threads <= 0) threads = fc_num_threads();
  float *Q = fc_aligned_alloc(nq * dim * sizeof *Q), *R = fc_aligned_alloc(nr * dim * sizeof *R);
  if (!Q || !R) {
    fprintf(stderr, "knn_bench: out of memory\n");
    return 1;
  }
  rng_state = seed;
  for (size_t t = 0; t < nr * dim; t++)
    R[t] = rng_f() + 0.3f;
  for (size_t t = 0; t < nq * dim; t++)
    Q[t] = rng_f() + 0.3f;
  if (npy) {
    char *pq = fc_path_join(npy, "Q.npy"), *pr = fc_path_join(npy, "R.npy");
    fc_mkdir_p(npy, NULL);
    if (write_npy(pq, Q, nq, dim) || write_npy(pr, R, nr, dim)) {
      fprintf(stderr, "knn_bench: cannot write %s / %s\n", pq, pr);
      return 1;
    }
    free(pq);
    free(pr);
  }
  double flops = 2.0 * (double)nq * (double)nr * (double)dim;
  printf("knn_bench: %zu queries x %zu references x %zu dims, %d threads, seed %llu\n", nq, nr, dim, threads,
         (unsigned long long)seed);

  double t_sgemm = time_sgemm(Q, nq, R, nr, dim, threads);
  printf("bare sgemm: %.2f s, %.1f GFLOP/s\n", t_sgemm, flops / t_sgemm / 1e9);

  printf("%-10s %6s %10s %10s %14s\n", "metric", "k", "seconds", "GFLOP/s", "vs sgemm");
  char mbuf[64];
  snprintf(mbuf, sizeof mbuf, "%s", metrics);
  for (char *ms = strtok(mbuf, ","); ms; ms = strtok(NULL, ",")) {
    fc_metric m;
    if (fc_metric_parse(ms, &m, NULL) != FC_OK) {
      fprintf(stderr, "knn_bench: bad metric %s\n", ms);
      return 2;
    }
    const char *kp = ks;
    while (*kp) {
      size_t k = strtoull(kp, NULL, 10);
      const char *comma = strchr(kp, ',');
      kp = comma ? comma + 1 : kp + strlen(kp);
      fc_knn_params p;
      fc_knn_params_init(&p);
      p.metric = m;
      p.k = k;
      p.threads = threads;
      p.query_block = qb;
      p.ref_block = rb;
      fc_knn_result r;
      fc_error e;
      double t = INFINITY;
      for (int rep = 0; rep < reps; rep++) { /* best of reps, each next to a fresh sgemm timing */
        if (rep > 0) {
          double ts = time_sgemm(Q, nq, R, nr, dim, threads);
          if (ts < t_sgemm) t_sgemm = ts;
          fc_knn_result_free(&r);
        }
        double t0 = fc_now_seconds();
        if (fc_knn_search(Q, nq, R, nr, dim, NULL, &p, &r, &e) != FC_OK) {
          fprintf(stderr, "knn_bench: %s\n", e.msg);
          return 1;
        }
        double t1 = fc_now_seconds() - t0;
        if (t1 < t) t = t1;
      }
      printf("%-10s %6zu %10.2f %10.1f %13.1f%%\n", ms, k, t, flops / t / 1e9, 100.0 * t_sgemm / t);
      printf("RESULT ours %s %zu %.4f %zu\n", ms, k, t, nq);
      printf("RESULT sgemm - - %.4f %zu\n", t_sgemm, nq);
      if (check) { /* compare the first `check` queries with the scalar twin */
        size_t nc = check < nq ? check : nq;
        fc_knn_result tw;
        fc_knn_search_scalar(Q, nc, R, nr, dim, NULL, &p, &tw, NULL);
        size_t bad = 0;
        for (size_t i = 0; i < nc; i++)
          for (size_t t2 = 0; t2 < k; t2++)
            bad += tw.idx[i * k + t2] != r.idx[i * k + t2] || tw.dist[i * k + t2] != r.dist[i * k + t2];
        printf("check vs twin on %zu queries: %zu mismatches\n", nc, bad);
        fc_knn_result_free(&tw);
      }
      fc_knn_result_free(&r);
    }
  }
  fc_aligned_free(Q);
  fc_aligned_free(R);
  return 0;
}
