/* Compares fc_esmc_forward with the esm package's hidden states written by tools/esmc_fullsize_check.py
 * (ESMC 300M shape, random weights). Usage and result: see that script. Not built by CMake. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "fantasia/models.h"

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  const char *dir = argv[1];
  fc_error err = {0};
  fc_esmc *m = NULL;
  double t0 = fc_now_seconds();
  if (fc_esmc_open(dir, &m, &err) != FC_OK) {
    fprintf(stderr, "%s\n", err.msg);
    return 1;
  }
  const fc_esmc_config *c = fc_esmc_get_config(m);
  printf("d_model %d heads %d layers %d d_ff %d scale %.9g, opened in %.2f s\n", c->d_model, c->n_heads,
         c->n_layers, c->d_ff, c->residue_scale, fc_now_seconds() - t0);
  char *seq = NULL, *p = fc_sprintf("%s/seq.txt", dir);
  size_t len = 0, T = 0;
  int32_t *ids = NULL;
  if (fc_read_file(p, 0, &seq, &len, &err) != FC_OK || fc_esmc_tokenize(seq, len, &ids, &T, &err) != FC_OK) {
    fprintf(stderr, "%s\n", err.msg);
    return 1;
  }
  free(p);
  size_t L = (size_t)c->n_layers, d = (size_t)c->d_model, N = (L + 1) * T * d;
  float *st = malloc(N * 4), *ref = malloc(N * 4);
  t0 = fc_now_seconds();
  if (fc_esmc_forward(m, ids, T, st, &err) != FC_OK) {
    fprintf(stderr, "%s\n", err.msg);
    return 1;
  }
  printf("forward of %zu tokens: %.2f s\n", T, fc_now_seconds() - t0);
  const char *names[] = {"f64", "f32"};
  for (int r = 0; r < 2; r++) {
    p = fc_sprintf("%s/ref_%s.bin", dir, names[r]);
    FILE *f = fopen(p, "rb");
    free(p);
    if (!f || fread(ref, 4, N, f) != N) return 1;
    fclose(f);
    double worst = 0;
    size_t ws = 0;
    for (size_t s = 0; s <= L; s++) {
      double md = 0, mr = 0;
      for (size_t i = 0; i < T * d; i++) {
        md = fmax(md, fabs((double)st[s * T * d + i] - ref[s * T * d + i]));
        mr = fmax(mr, fabs((double)ref[s * T * d + i]));
      }
      if (md / mr > worst) worst = md / mr, ws = s;
    }
    printf("vs the package in %s: worst max|diff|/max|ref| %.3g (state %zu)\n", names[r], worst, ws);
  }
  free(st), free(ref), free(ids), free(seq);
  fc_esmc_close(m);
  return 0;
}
