/* Times the ESM-2 CPU forward pass (fc_esm2_embed, layer 0) at a real ESM-2 size with random weights.
 *   esm2_cpu [H=320] [L=6] [heads=20] [lens=100,300,1000] [DIR=/tmp/fc_bench_esm2]
 * Defaults are esm2_t6_8M_UR50D's shape (33 layers / 1280 / 20 = the 650M model). It writes config.json,
 * vocab.txt and a random model.safetensors into DIR, then embeds one random protein per length (after one
 * warm-up run) and prints wall seconds and residues/s. No peer runs here (no torch on this machine). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fantasia/models.h"

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static float frand(void) {
  rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
  return (float)((double)(rng >> 11) / 9007199254740992.0 * 2 - 1);
}

typedef struct {
  char name[128];
  size_t d0, d1; /* d1 = 0: vector */
  int ln;        /* 1: LayerNorm weight (around 1) */
} tdesc;

static int write_model(const char *dir, size_t H, size_t L, size_t heads, size_t F) {
  size_t nt = 3 + L * 17, k = 0, off = 0;
  tdesc *t = calloc(nt, sizeof *t);
#define ADD(a, b, isln, ...)                                                                                 \
  (snprintf(t[k].name, 128, __VA_ARGS__), t[k].d0 = (a), t[k].d1 = (b), t[k++].ln = (isln))
  ADD(33, H, 0, "esm.embeddings.word_embeddings.weight");
  ADD(H, 0, 1, "esm.encoder.emb_layer_norm_after.weight");
  ADD(H, 0, 0, "esm.encoder.emb_layer_norm_after.bias");
  for (size_t i = 0; i < L; i++) {
    const char *p = "esm.encoder.layer";
    ADD(H, 0, 1, "%s.%zu.attention.LayerNorm.weight", p, i);
    ADD(H, 0, 0, "%s.%zu.attention.LayerNorm.bias", p, i);
    ADD(H, H, 0, "%s.%zu.attention.self.query.weight", p, i);
    ADD(H, 0, 0, "%s.%zu.attention.self.query.bias", p, i);
    ADD(H, H, 0, "%s.%zu.attention.self.key.weight", p, i);
    ADD(H, 0, 0, "%s.%zu.attention.self.key.bias", p, i);
    ADD(H, H, 0, "%s.%zu.attention.self.value.weight", p, i);
    ADD(H, 0, 0, "%s.%zu.attention.self.value.bias", p, i);
    ADD(H, H, 0, "%s.%zu.attention.output.dense.weight", p, i);
    ADD(H, 0, 0, "%s.%zu.attention.output.dense.bias", p, i);
    ADD(H, 0, 1, "%s.%zu.LayerNorm.weight", p, i);
    ADD(H, 0, 0, "%s.%zu.LayerNorm.bias", p, i);
    ADD(F, H, 0, "%s.%zu.intermediate.dense.weight", p, i);
    ADD(F, 0, 0, "%s.%zu.intermediate.dense.bias", p, i);
    ADD(H, F, 0, "%s.%zu.output.dense.weight", p, i);
    ADD(H, 0, 0, "%s.%zu.output.dense.bias", p, i);
    ADD(H / heads / 2, 0, 2, "%s.%zu.attention.self.rotary_embeddings.inv_freq", p, i);
  }
#undef ADD
  size_t cap = 256 * nt + 64, hl = 0;
  char *hdr = malloc(cap);
  hl += (size_t)snprintf(hdr + hl, cap - hl, "{");
  for (size_t i = 0; i < nt; i++) {
    size_t n = t[i].d0 * (t[i].d1 ? t[i].d1 : 1) * 4;
    if (t[i].d1)
      hl += (size_t)snprintf(hdr + hl, cap - hl,
                             "%s\"%s\":{\"dtype\":\"F32\",\"shape\":[%zu,%zu],\"data_offsets\":[%zu,%zu]}",
                             i ? "," : "", t[i].name, t[i].d0, t[i].d1, off, off + n);
    else
      hl += (size_t)snprintf(hdr + hl, cap - hl,
                             "%s\"%s\":{\"dtype\":\"F32\",\"shape\":[%zu],\"data_offsets\":[%zu,%zu]}",
                             i ? "," : "", t[i].name, t[i].d0, off, off + n);
    off += n;
  }
  hl += (size_t)snprintf(hdr + hl, cap - hl, "}");
  char *p = fc_sprintf("%s/model.safetensors", dir);
  FILE *f = fopen(p, "wb");
  free(p);
  if (!f) return -1;
  uint64_t n64 = hl;
  fwrite(&n64, 8, 1, f);
  fwrite(hdr, 1, hl, f);
  for (size_t i = 0; i < nt; i++) {
    size_t n = t[i].d0 * (t[i].d1 ? t[i].d1 : 1);
    float sc = t[i].d1 ? 1.0f / (float)sqrt((double)t[i].d1) : 0.1f;
    for (size_t j = 0; j < n; j++) {
      float v = t[i].ln == 1 ? 1 + 0.1f * frand() : sc * frand();
      if (t[i].ln == 2) v = 1.0f / (float)pow(10000.0, 2.0 * (double)j / (double)(2 * n));
      fwrite(&v, 4, 1, f);
    }
  }
  fclose(f);
  free(hdr);
  free(t);
  p = fc_sprintf("%s/config.json", dir);
  f = fopen(p, "w");
  free(p);
  fprintf(
      f,
      "{\"model_type\":\"esm\",\"vocab_size\":33,\"hidden_size\":%zu,\"num_hidden_layers\":%zu,"
      "\"num_attention_heads\":%zu,\"intermediate_size\":%zu,\"layer_norm_eps\":1e-5,\"token_dropout\":true,"
      "\"position_embedding_type\":\"rotary\",\"mask_token_id\":32,\"pad_token_id\":1}\n",
      H, L, heads, F);
  fclose(f);
  p = fc_sprintf("%s/vocab.txt", dir);
  f = fopen(p, "w");
  free(p);
  fputs("<cls>\n<pad>\n<eos>\n<unk>"
        "\nL\nA\nG\nV\nS\nE\nR\nT\nI\nD\nP\nK\nQ\nN\nF\nY\nM\nH\nW\nC\nX\nB\nU\nZ\nO\n.\n-\n"
        "<null_1>\n<mask>\n",
        f);
  fclose(f);
  return 0;
}

int main(int argc, char **argv) {
  size_t H = argc > 1 ? strtoul(argv[1], NULL, 10) : 320, L = argc > 2 ? strtoul(argv[2], NULL, 10) : 6;
  size_t heads = argc > 3 ? strtoul(argv[3], NULL, 10) : 20;
  const char *lens = argc > 4 ? argv[4] : "100,300,1000";
  const char *dir = argc > 5 ? argv[5] : "/tmp/fc_bench_esm2";
  if (!H || !L || !heads || H % heads || (H / heads) % 2) return 2;
  if (fc_mkdir_p(dir, NULL) != FC_OK || write_model(dir, H, L, heads, 4 * H) != 0) {
    fprintf(stderr, "cannot write %s\n", dir);
    return 1;
  }
  fc_error err;
  fc_error_clear(&err);
  fc_esm2 *m = NULL;
  double t0 = fc_now_seconds();
  if (fc_esm2_open(dir, NULL, &m, &err) != FC_OK) {
    fprintf(stderr, "%s\n", err.msg);
    return 1;
  }
  printf("esm2 H=%zu L=%zu heads=%zu: open %.3f s\n", H, L, heads, fc_now_seconds() - t0);
  float *out = malloc(H * sizeof *out);
  char *copy = fc_strdup(lens), *save = NULL;
  int idx = 0;
  for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    size_t n = strtoul(tok, NULL, 10);
    char *seq = malloc(n + 1);
    for (size_t i = 0; i < n; i++)
      seq[i] = "ACDEFGHIKLMNPQRSTVWY"[(size_t)((frand() + 1) * 9.999)];
    seq[n] = 0;
    fc_esm2_embed(m, seq, n, &idx, 1, out, &err); /* warm-up */
    int reps = n <= 300 ? 5 : 2;
    t0 = fc_now_seconds();
    for (int r = 0; r < reps; r++)
      if (fc_esm2_embed(m, seq, n, &idx, 1, out, &err) != FC_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
      }
    double dt = (fc_now_seconds() - t0) / reps;
    printf("  %6zu residues: %.4f s per sequence, %.0f residues/s\n", n, dt, (double)n / dt);
    free(seq);
  }
  free(copy);
  free(out);
  fc_esm2_close(m);
  return 0;
}
