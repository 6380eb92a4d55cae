/* Reference store load benchmark: time fc_refdb_load_matrix on one (model, layer) matrix.
 *
 *   refdb_load_bench build STORE [ROWS DIM]   build a store with ROWS x DIM random rows (type Prot-T5,
 *                                             layer 0), once; default 124000 x 1024
 *   refdb_load_bench load STORE [REPS]        time load_matrix, cold-ish (page cache dropped for the
 *                                             file with posix_fadvise DONTNEED) and warm; median of REPS (3)
 *
 * Prints "RESULT side=fantasia.c mode=<cold|warm> median_s=<s> gbps=<GB/s of fp16 payload> bytes=<payload>
 * cpu_s=<mean CPU seconds (user+sys, all threads) per load>".
 * Driven by bench/refdb_load_bench.sh, which runs the numpy peer in the same run and prints the ratio. */
#include "fantasia/refdb.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double cpu_seconds(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + (double)ru.ru_stime.tv_sec +
         ru.ru_stime.tv_usec * 1e-6;
}

static void drop_cache(const char *path) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) return;
  fdatasync(fd);
  posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  close(fd);
}

static int build(const char *path, size_t rows, size_t dim) {
  fc_error err;
  fc_refdb *db;
  if (fc_refdb_create(path, &db, &err)) goto fail;
  int64_t tid;
  if (fc_refdb_add_embedding_type(db, "Prot-T5", 0, NULL, &tid, &err)) goto fail_db;
  int64_t *ids = malloc(rows * sizeof *ids);
  float *data = malloc(rows * dim * sizeof *data);
  if (!ids || !data) return fprintf(stderr, "out of memory\n"), 1;
  uint64_t s = 12345;
  for (size_t i = 0; i < rows; i++) {
    if (fc_refdb_add_sequence_placeholder(db, (int64_t)(i + 1), &ids[i], &err)) goto fail_db;
    for (size_t j = 0; j < dim; j++) {
      s ^= s << 13, s ^= s >> 7, s ^= s << 17;
      data[i * dim + j] = (float)((double)(s >> 11) / 9007199254740992.0 - 0.5);
    }
  }
  double t0 = fc_now_seconds();
  if (fc_refdb_put_matrix(db, tid, 0, "mean", ids, data, rows, dim, &err)) goto fail_db;
  if (fc_refdb_close(db, 1, &err)) goto fail;
  fprintf(stderr, "built %s: %zu x %zu in %.1f s\n", path, rows, dim, fc_now_seconds() - t0);
  free(ids);
  free(data);
  return 0;
fail_db:
  fc_refdb_close(db, 0, NULL);
fail:
  fprintf(stderr, "refdb_load_bench: %s\n", err.msg);
  return 1;
}

static int load(const char *path, int reps) {
  fc_error err;
  const char *modes[2] = {"cold", "warm"};
  for (int mode = 0; mode < 2; mode++) {
    double t[16], cpu = 0;
    size_t bytes = 0;
    if (mode == 1) { /* warm the cache */
      fc_refdb *db;
      fc_refmatrix m;
      if (fc_refdb_open(path, &db, &err) || fc_refdb_load_matrix(db, 3, 0, &m, &err)) goto fail;
      fc_refmatrix_free(&m);
      fc_refdb_close(db, 0, NULL);
    }
    for (int r = 0; r < reps; r++) {
      if (mode == 0) drop_cache(path);
      fc_refdb *db;
      fc_refmatrix m;
      double t0 = fc_now_seconds(), c0 = cpu_seconds();
      if (fc_refdb_open(path, &db, &err)) goto fail;
      fc_refdb_space sp;
      if (fc_refdb_find_space(db, "Prot-T5", 0, &sp, &err)) goto fail;
      if (fc_refdb_load_matrix(db, sp.type_id, 0, &m, &err)) goto fail;
      t[r] = fc_now_seconds() - t0;
      cpu += cpu_seconds() - c0;
      bytes = m.n * m.dim * 2;
      volatile float sink = m.data[m.n * m.dim - 1];
      (void)sink;
      fc_refmatrix_free(&m);
      fc_refdb_space_clear(&sp);
      fc_refdb_close(db, 0, NULL);
    }
    qsort(t, (size_t)reps, sizeof t[0], cmp_d);
    double med = t[reps / 2];
    printf("RESULT side=fantasia.c mode=%s median_s=%.4f gbps=%.3f bytes=%zu cpu_s=%.4f\n", modes[mode], med,
           (double)bytes / med / 1e9, bytes, cpu / reps);
    fflush(stdout);
  }
  return 0;
fail:
  fprintf(stderr, "refdb_load_bench: %s\n", err.msg);
  return 1;
}

int main(int argc, char **argv) {
  if (argc >= 3 && !strcmp(argv[1], "build"))
    return build(argv[2], argc > 3 ? (size_t)atol(argv[3]) : 124000, argc > 4 ? (size_t)atol(argv[4]) : 1024);
  if (argc >= 3 && !strcmp(argv[1], "load")) {
    int reps = argc > 3 ? atoi(argv[3]) : 3;
    if (reps < 1 || reps > 16) reps = 3;
    return load(argv[2], reps);
  }
  fprintf(stderr, "usage: refdb_load_bench build STORE [ROWS DIM] | load STORE [REPS]\n");
  return 2;
}
