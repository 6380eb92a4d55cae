/* Writes an embeddings.h5 like FANTASIA's (N accessions, type_3/layer_0, float64, D values) with our
 * writer, then times fc_embfile_read on it.
 *   embfile_read [N=20000] [D=1024] [FILE=/tmp/fc_bench_embeddings.h5] [dtype=f64] [keep=0]
 * bench/embfile_read.sh runs this and FANTASIA's own h5py read loop on the same file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double cpu_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

#include "fantasia/embfile.h"

int main(int argc, char **argv) {
  size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 20000;
  size_t d = argc > 2 ? strtoul(argv[2], NULL, 10) : 1024;
  const char *path = argc > 3 ? argv[3] : "/tmp/fc_bench_embeddings.h5";
  fc_dtype dt = FC_DTYPE_F64;
  if (argc > 4 && fc_dtype_parse(argv[4], &dt) != 0) return 2;
  int keep = argc > 5 && atoi(argv[5]);
  fc_error e;
  float *v = malloc(d * sizeof *v);
  unlink(path);
  double t0 = fc_now_seconds();
  fc_embfile_writer *w;
  if (fc_embfile_writer_open(path, dt, 0, &w, &e) != FC_OK) goto fail;
  for (size_t i = 0; i < n; i++) {
    char acc[32];
    snprintf(acc, sizeof acc, "sp_P%06zu_BENCH", i);
    for (size_t j = 0; j < d; j++)
      v[j] = (float)((i * 31 + j * 7) % 1000) / 1000.0f;
    if (fc_embfile_writer_put(
            w, acc,
            "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQAPILSRVGDGTQDNLSGAEKAVQVKVKALPDAQFEVVHSLAKWKRQTLGQHDFSAGEGLYTHM"
            "KALRPDEDRLSPLHSVYVDQWDWERVMGDGERQFSTLKSTVEAIWAGIKATEAAVSEEFGLAPFLPDQIHFVHSQELLSRYPDLDAKGRERAIAKD"
            "LGAVFLVGIGGKLSDGHRHDVRAPDYDDWSTPSELGHAGLNGDILVWNPVLEDAFELSSMGIRVDADTLKHQLALTGDEDRLELEWHQALLRGEMP"
            "QTIGGGIGQSRLTMLLLQLPHIGQVQAGVWPAACRERVPALL",
            "3", 0, NULL, v, d, &e) != FC_OK)
      goto fail;
  }
  if (fc_embfile_writer_close(w, 1, &e) != FC_OK) goto fail;
  double t1 = fc_now_seconds();
  fc_embset s;
  double c1 = cpu_seconds();
  if (fc_embfile_read(path, &s, &e) != FC_OK) goto fail;
  double t2 = fc_now_seconds(), c2 = cpu_seconds();
  printf("fantasia.c write %zu x %zu %s: wall %.3f s\n", n, d, fc_dtype_name(dt), t1 - t0);
  printf("fantasia.c read: %zu embeddings, cpu %.3f s, wall %.3f s\n", s.n_blocks ? s.blocks[0].n : 0,
         c2 - c1, t2 - t1);
  fc_embset_free(&s);
  if (!keep) unlink(path);
  free(v);
  return 0;
fail:
  fprintf(stderr, "%s\n", e.msg);
  return 1;
}
