/* Stage-C post-processing benchmark: summary.csv + TopGO from 1,000,000 raw rows, ours vs a
 * Polars/pandas re-implementation of FANTASIA §7 (bench/post_peer.py), in one run.
 *
 *   post_bench [n_accessions=20000] [rows_per_accession=50] [out_dir=post_bench_out] [peer_script]
 *   env FC_PEER_PYTHON: python with polars/pandas (default python3); FC_PEER=none skips the peer.
 *
 * Rows: 3 models (layer 0) x ~17 rows per model per accession; per accession 5 hits per model, 1-2
 * proteins per hit, GO terms drawn from a 12-term per-accession pool out of 5,000 terms. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fantasia/core.h"
#include "fantasia/summarize.h"

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (uint32_t)(rng >> 16);
}
static double rndu(void) {
  return (rnd() & 0xffffff) / 16777216.0;
}

int main(int argc, char **argv) {
  int nacc = argc > 1 ? atoi(argv[1]) : 20000;
  int per = argc > 2 ? atoi(argv[2]) : 50;
  const char *out = argc > 3 ? argv[3] : "post_bench_out";
  const char *peer = argc > 4 ? argv[4] : NULL;
  fc_error e;
  if (fc_mkdir_p(out, &e)) {
    fprintf(stderr, "%s\n", e.msg);
    return 1;
  }
  fc_raw_table *t = fc_raw_table_new();
  const char *models[3] = {"Prot-T5", "ESM", "Ankh3-Large"};
  const char *cats[3] = {"P", "F", "C"};
  uint32_t mid[3], cid[3], go[5000], cosine = fc_raw_table_intern(t, "cosine"),
                                     iea = fc_raw_table_intern(t, "IEA"),
                                     org = fc_raw_table_intern(t, "Homo sapiens");
  for (int m = 0; m < 3; m++)
    mid[m] = fc_raw_table_intern(t, models[m]);
  for (int c = 0; c < 3; c++)
    cid[c] = fc_raw_table_intern(t, cats[c]);
  uint32_t desc[5000];
  for (int g = 0; g < 5000; g++) {
    char b[64];
    snprintf(b, sizeof b, "GO:%07d", 1000 + g * 7);
    go[g] = fc_raw_table_intern(t, b);
    snprintf(b, sizeof b, "description of term %d", g);
    desc[g] = fc_raw_table_intern(t, b);
  }
  double t0 = fc_now_seconds();
  for (int a = 0; a < nacc; a++) {
    char acc[32];
    snprintf(acc, sizeof acc, "Q%06d_HUMAN", a);
    uint32_t aid = fc_raw_table_intern(t, acc);
    int pool[12];
    for (int i = 0; i < 12; i++)
      pool[i] = (int)(rnd() % 5000);
    for (int j = 0; j < per; j++) {
      int m = j % 3, hit = (j / 3) % 5;
      fc_raw_row r;
      memset(&r, 0, sizeof r);
      r.accession = aid;
      r.model_name = mid[m];
      r.embedding_type_id = m + 1;
      r.layer_index = 0;
      r.distance = 0.02 + 0.05 * hit + 0.01 * rndu();
      r.reliability_index = 1.0 - r.distance;
      int g = pool[(rnd() % 12 + (unsigned)hit) % 12];
      r.go_id = go[g];
      r.go_description = desc[g];
      r.category = cid[g % 3];
      r.evidence_code = iea;
      char prot[32];
      snprintf(prot, sizeof prot, "P%07u_MOUSE", (unsigned)(a * 17 + m * 5 + hit) * 2 + (rnd() & 1));
      r.protein_id = fc_raw_table_intern(t, prot);
      r.organism = org;
      r.query_idx = a;
      r.ref_idx = a * 15 + m * 5 + hit;
      r.query_len = 300;
      r.ref_len = 280 + hit;
      r.has_alignment = 1;
      r.identity = 0.3 + 0.6 * rndu();
      r.similarity = r.identity + 0.05;
      r.alignment_score = 400 + (rnd() % 600);
      r.gaps_percentage = 0.05 * rndu();
      r.alignment_length = 310;
      r.identity_sw = r.identity + 0.02;
      r.similarity_sw = r.similarity + 0.02;
      r.alignment_score_sw = r.alignment_score + 3;
      r.gaps_percentage_sw = r.gaps_percentage / 2;
      r.alignment_length_sw = 290;
      r.distance_metric = cosine;
      if (fc_raw_table_append(t, &r, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
      }
    }
  }
  size_t n = fc_raw_table_size(t);
  printf("rows: %zu (%d accessions x %d), generated in %.2f s\n", n, nacc, per, fc_now_seconds() - t0);

  char *tsv = fc_path_join(out, "raw_results.tsv"), *sum = fc_path_join(out, "summary.csv"),
       *topgo = fc_path_join(out, "topgo");
  fc_raw_write_opts wo;
  fc_raw_write_opts_default(&wo);
  wo.keep_sequences = 0;
  t0 = fc_now_seconds();
  if (fc_raw_write_tsv(t, tsv, &wo, &e)) {
    fprintf(stderr, "%s\n", e.msg);
    return 1;
  }
  printf("write raw TSV: %.2f s\n", fc_now_seconds() - t0);

  fc_summary_opts o;
  fc_summary_opts_fantasia_default(&o);
  t0 = fc_now_seconds();
  if (fc_summary_write(t, &o, sum, &e) || fc_topgo_write(t, topgo, &e)) {
    fprintf(stderr, "%s\n", e.msg);
    return 1;
  }
  double ours_mem = fc_now_seconds() - t0;
  printf("ours, from memory: summary.csv + TopGO: %.2f s\n", ours_mem);

  if (getenv(
          "FC_BENCH_TREE")) { /* FANTASIA's per-accession CSV tree: one fsynced file per accession x model */
    t0 = fc_now_seconds();
    if (fc_raw_write_csv_tree(t, out, &wo, &e)) {
      fprintf(stderr, "%s\n", e.msg);
      return 1;
    }
    printf("write raw CSV tree (%d accessions x 3 models): %.2f s\n", nacc, fc_now_seconds() - t0);
  }

  fc_raw_table_free(t);
  t0 = fc_now_seconds();
  fc_raw_table *u = fc_raw_table_new();
  if (fc_raw_read_tsv(tsv, u, &e) || fc_summary_write(u, &o, sum, &e) || fc_topgo_write(u, topgo, &e)) {
    fprintf(stderr, "%s\n", e.msg);
    return 1;
  }
  double ours_file = fc_now_seconds() - t0;
  printf("ours, from the TSV: read + summary.csv + TopGO: %.2f s\n", ours_file);
  fc_raw_table_free(u);
  fc_summary_opts_free(&o);

  const char *peer_env = getenv("FC_PEER");
  if (!(peer_env && !strcmp(peer_env, "none"))) {
    const char *py = getenv("FC_PEER_PYTHON") ? getenv("FC_PEER_PYTHON") : "python3";
    char *cmd = fc_sprintf("%s %s %s %s", py, peer ? peer : "bench/post_peer.py", tsv, out);
    FILE *p = popen(cmd, "r");
    char line[512];
    while (p && fgets(line, sizeof line, p)) {
      fputs(line, stdout);
      double secs;
      char name[64];
      if (sscanf(line, "PEER %63s total %lf", name, &secs) == 2)
        printf("ratio %s / ours (both read the TSV + summary + TopGO): %.1fx\n", name, secs / ours_file);
    }
    if (!p || pclose(p) != 0) printf("peer did not run cleanly (command: %s)\n", cmd);
    free(cmd);
  }
  free(tsv);
  free(sum);
  free(topgo);
  return 0;
}
