/* Our side of bench/plm_bench.sh through the library (no HDF5 writing): opens an ESM-2 or T5 model directory
 * (timed), then embeds every FASTA record one at a time exactly as `fantasia-c embed --layers L` does
 * (fc_esm2_embed / fc_t5_embed with FANTASIA pooling) and prints one result line
 *
 *   RESULT side=ours-lib model=<dir name> mode=bs1 n=<seqs> residues=<R> tokens=<T> load_s=<s>
 *          forward_s=<s> res_per_s=<R/forward_s> peak_rss_mib=<ru_maxrss>
 *
 *   plm_bench --model DIR --fasta FILE [--layer 0] [--load-only] [--threads N]
 *
 * --load-only stops after opening the model (forward_s=0): plm_bench.sh uses it to split the CLI's
 * whole-command time into load and forward. --threads N calls openblas_set_num_threads(N) (the BLAS GEMMs
 * are where the threads are used today); 0 leaves OpenBLAS's own choice (OPENBLAS_NUM_THREADS). */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "fantasia/models.h"
#include "fantasia/seqio.h"
#include "fantasia/tokenize.h"

static double peak_rss_mib(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_maxrss / 1024.0; /* Linux: KiB */
}

static const char *base_name(const char *dir) {
  size_t n = strlen(dir);
  while (n > 1 && dir[n - 1] == '/')
    n--;
  static char buf[512];
  snprintf(buf, sizeof buf, "%.*s", (int)n, dir);
  const char *s = strrchr(buf, '/');
  return s ? s + 1 : buf;
}

static int is_t5_dir(const char *dir) {
  char *p = fc_path_join(dir, "config.json"), *txt = NULL;
  size_t len = 0;
  int t5 = 0;
  if (p && fc_read_file(p, 0, &txt, &len, NULL) == FC_OK)
    t5 = strstr(txt, "\"model_type\": \"t5\"") || strstr(txt, "\"model_type\":\"t5\"");
  free(txt);
  free(p);
  return t5;
}

int main(int argc, char **argv) {
  const char *model = NULL, *fasta = NULL;
  int layer = 0, load_only = 0, threads = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--model") && i + 1 < argc)
      model = argv[++i];
    else if (!strcmp(argv[i], "--fasta") && i + 1 < argc)
      fasta = argv[++i];
    else if (!strcmp(argv[i], "--layer") && i + 1 < argc)
      layer = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
      threads = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--load-only"))
      load_only = 1;
    else {
      fprintf(stderr, "usage: plm_bench --model DIR --fasta FILE [--layer 0] [--load-only] [--threads N]\n");
      return 2;
    }
  }
  if (!model || !fasta) {
    fprintf(stderr, "plm_bench: --model and --fasta are required\n");
    return 2;
  }
  if (threads > 0) openblas_set_num_threads(threads);
  fc_error err;
  fc_error_clear(&err);
  fc_seqset s;
  if (fc_fasta_read(fasta, NULL, &s, &err) != FC_OK) {
    fprintf(stderr, "plm_bench: %s\n", err.msg);
    fc_seqset_free(&s);
    return 1;
  }
  size_t residues = 0;
  for (size_t i = 0; i < s.n; i++)
    residues += s.rec[i].len;

  int t5 = is_t5_dir(model), style = FC_PROTEIN_PROTT5;
  fc_esm2 *esm = NULL;
  fc_t5 *t = NULL;
  size_t H = 0;
  double t0 = fc_now_seconds();
  fc_status st = t5 ? fc_t5_open(model, NULL, &t, &err) : fc_esm2_open(model, NULL, &esm, &err);
  double load_s = fc_now_seconds() - t0;
  if (st != FC_OK) {
    fprintf(stderr, "plm_bench: %s\n", err.msg);
    fc_seqset_free(&s);
    return 1;
  }
  if (t5) {
    H = (size_t)fc_t5_get_config(t)->d_model;
    const fc_tokenizer *tok = fc_t5_tokenizer(t); /* same choice as src/pipeline/embed.c */
    if (fc_tokenizer_token_to_id(tok, "<AA2fold>") >= 0)
      style = FC_PROTEIN_PROSTT5;
    else if (fc_tokenizer_token_to_id(tok, "[NLU]") >= 0)
      style = FC_PROTEIN_ANKH3_NLU;
    else if (fc_tokenizer_get_kind(tok) != FC_TOK_SPIECE)
      style = FC_PROTEIN_RAW;
  } else {
    H = (size_t)fc_esm2_get_config(esm)->hidden_size;
  }
  float *vec = malloc(H * sizeof *vec);
  size_t tokens = 0, done = 0;
  double fwd_s = 0;
  if (!load_only) {
    t0 = fc_now_seconds();
    for (size_t i = 0; i < s.n && vec; i++) {
      const fc_seq_record *r = &s.rec[i];
      st = t5 ? fc_t5_embed(t, style, r->seq, r->len, &layer, 1, FC_T5_POOL_ALL, vec, &err)
              : fc_esm2_embed(esm, r->seq, r->len, &layer, 1, vec, &err);
      if (st != FC_OK) {
        fprintf(stderr, "plm_bench: %s: %s\n", r->accession, err.msg);
        break;
      }
      tokens += r->len + (t5 ? 1 : 2); /* ProtT5 form: residues + </s>; ESM-2: <cls> + residues + <eos> */
      done++;
    }
    fwd_s = fc_now_seconds() - t0;
  }
  printf("RESULT side=ours-lib model=%s mode=%s n=%zu residues=%zu tokens=%zu load_s=%.2f forward_s=%.2f "
         "res_per_s=%.1f peak_rss_mib=%.0f\n",
         base_name(model), load_only ? "load-only" : "bs1", done, load_only ? 0 : residues, tokens, load_s,
         fwd_s, fwd_s > 0 ? (double)residues / fwd_s : 0.0, peak_rss_mib());
  int rc = (st == FC_OK && vec) ? 0 : 1;
  free(vec);
  fc_esm2_close(esm);
  fc_t5_close(t);
  fc_seqset_free(&s);
  return rc;
}
