/* models/t5: the CPU T5 encoder against HF transformers T5EncoderModel run in float64 on tiny random-weight
 * encoders (tests/fixtures/t5/{relu,gelu,silu}, made by tools/make_t5_golden.py): every hidden state,
 * tokenizer ids (ProtT5 text form through spiece.model), both poolings, relative position buckets against the
 * spec tables, and damaged configs / missing tensors. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "golden.h"

#include "fantasia/models.h"
#include "fantasia/tokenize.h"

static char *fx(const char *model, const char *rel) {
  const char *d = getenv("FC_FIXTURES");
  return fc_sprintf("%s/t5/%s/%s", d ? d : "tests/fixtures", model, rel);
}

static void load_golden(const char *model, golden *g) {
  char *jp = fx(model, "golden.json"), *bp = fx(model, "golden.bin");
  golden_load(g, jp, bp);
  free(jp);
  free(bp);
}

static void check_model_from(const char *model, int gated, fc_t5_act act, const char *weights_file);

/* both weight formats of the fixture: model.safetensors (the directory) and its pytorch_model.bin twin */
static void check_model(const char *model, int gated, fc_t5_act act) {
  check_model_from(model, gated, act, NULL);
  check_model_from(model, gated, act, "pytorch_model.bin");
}

static void check_model_from(const char *model, int gated, fc_t5_act act, const char *weights_file) {
  golden g;
  load_golden(model, &g);
  char *dir = fx(model, ""), *wpath = weights_file ? fx(model, weights_file) : NULL;
  fc_t5 *m = NULL;
  fc_error err = {0};
  fc_status st = fc_t5_open(dir, wpath, &m, &err);
  if (st != FC_OK) fprintf(stderr, "%s\n", err.msg);
  assert_int_equal(st, FC_OK);
  const fc_t5_config *c = fc_t5_get_config(m);
  assert_int_equal(c->d_model, 32);
  assert_int_equal(c->num_layers, 2);
  assert_int_equal(c->num_heads, 4);
  assert_int_equal(c->d_kv, 8);
  assert_int_equal(c->d_ff, 64);
  assert_int_equal(c->gated, gated);
  assert_int_equal((int)c->act, (int)act);
  size_t d = 32, L = 2;
  double worst = 0;
  const cJSON *cs;
  cJSON_ArrayForEach(cs, cJSON_GetObjectItem(g.json, "cases")) {
    const char *seq = cJSON_GetObjectItem(cs, "seq")->valuestring;
    const cJSON *jids = cJSON_GetObjectItem(cs, "ids");
    size_t T = (size_t)cJSON_GetObjectItem(cs, "T")->valuedouble;
    size_t off = (size_t)cJSON_GetObjectItem(cs, "offset")->valuedouble;
    assert_int_equal((size_t)cJSON_GetObjectItem(cs, "n_states")->valuedouble, L + 1);
    assert_true(off + (L + 1) * T * d <= g.nbin);
    int32_t *ids = NULL;
    size_t n = 0;
    assert_int_equal(fc_t5_tokenize(m, FC_PROTEIN_PROTT5, seq, strlen(seq), &ids, &n, &err), FC_OK);
    assert_int_equal(n, T);
    assert_int_equal((size_t)cJSON_GetArraySize(jids), T);
    for (size_t t = 0; t < T; t++)
      assert_int_equal(ids[t], (int32_t)cJSON_GetArrayItem(jids, (int)t)->valuedouble);
    float *hs = malloc((L + 1) * T * d * sizeof *hs);
    assert_int_equal(fc_t5_forward(m, ids, T, hs, &err), FC_OK);
    const float *ref = g.bin + off;
    for (size_t s = 0; s <= L; s++) {
      double rel = golden_rel(hs + s * T * d, ref + s * T * d, T * d);
      if (rel > worst) worst = rel;
      if (!(rel <= 1e-4))
        fprintf(stderr, "%s case %.12s (T=%zu) state %zu: rel err %.3g\n", model, seq, T, s, rel);
      assert_true(rel <= 1e-4);
    }
    /* pooling: FANTASIA layer index k = hidden_states[L-k]; all tokens, or residues 0..T-2 (ProtT5) */
    for (int pool = 0; pool < 2; pool++) {
      int idx[] = {0, 1, 2};
      float pooled[3 * 32];
      assert_int_equal(
          fc_t5_embed(m, FC_PROTEIN_PROTT5, seq, strlen(seq), idx, 3, (fc_t5_pooling)pool, pooled, &err),
          FC_OK);
      size_t hi = pool == FC_T5_POOL_ALL ? T : T - 1;
      for (size_t j = 0; j < 3; j++) {
        const float *s = ref + (L - j) * T * d;
        double mr = 0, md = 0;
        for (size_t e = 0; e < d; e++) {
          double acc = 0;
          for (size_t t = 0; t < hi; t++)
            acc += s[t * d + e];
          acc /= (double)hi;
          md = fmax(md, fabs(acc - pooled[j * d + e]));
          mr = fmax(mr, fabs(acc));
        }
        assert_true(md <= 1e-4 * fmax(mr, 1e-3));
      }
    }
    free(hs);
    free(ids);
  }
  fprintf(stderr, "t5 %s %s: worst relative error (max|diff| / max|ref| per hidden state) %.3g\n", model,
          weights_file ? weights_file : "model.safetensors", worst);
  /* bad inputs */
  int32_t bad[] = {19, 128};
  float out[3 * 32 * 2];
  assert_int_equal(fc_t5_forward(m, bad, 2, out, &err), FC_EINVAL);
  int idx5 = 3;
  assert_int_equal(fc_t5_embed(m, FC_PROTEIN_PROTT5, "MK", 2, &idx5, 1, FC_T5_POOL_ALL, out, &err),
                   FC_EINVAL);
  fc_t5_close(m);
  free(dir);
  free(wpath);
  golden_free(&g);
}

static void test_golden_relu(void **state) {
  (void)state;
  check_model("relu", 0, FC_T5_ACT_RELU);
}

static void test_golden_gated_gelu(void **state) {
  (void)state;
  check_model("gelu", 1, FC_T5_ACT_GELU_NEW);
}

static void test_golden_gated_silu(void **state) { /* Ankh3's feed_forward_proj */
  (void)state;
  check_model("silu", 1, FC_T5_ACT_SILU);
}

/* spec models.md 2.3.2 tables */
static void test_buckets(void **state) {
  (void)state;
  static const int lo32[] = {8, 12, 16, 23, 32, 46, 64, 91}; /* first |r| of buckets 8..15 */
  for (int a = 0; a < 400; a++) {
    int want = a < 8 ? a : 0;
    if (a >= 8)
      for (int b = 0; b < 8; b++)
        if (a >= lo32[b]) want = 8 + b;
    assert_int_equal(fc_t5_relative_bucket(-a, 32, 128), want);
    if (a > 0) assert_int_equal(fc_t5_relative_bucket(a, 32, 128), want + 16);
  }
  static const int lo64[] = {16, 19, 21, 24, 27, 31, 35, 40, 46, 52, 59, 67, 77, 87, 99, 113};
  for (int a = 0; a < 400; a++) {
    int want = a < 16 ? a : 0;
    if (a >= 16)
      for (int b = 0; b < 16; b++)
        if (a >= lo64[b]) want = 16 + b;
    assert_int_equal(fc_t5_relative_bucket(-a, 64, 128), want);
    if (a > 0) assert_int_equal(fc_t5_relative_bucket(a, 64, 128), want + 32);
  }
  assert_int_equal(fc_t5_relative_bucket(0, 32, 128), 0);
}

static char *tmpdir_with(const char *config) {
  char tmpl[] = "/tmp/fc_t5_XXXXXX";
  char *d = mkdtemp(tmpl);
  assert_non_null(d);
  char *p = fc_sprintf("%s/config.json", d);
  FILE *f = fopen(p, "w");
  assert_non_null(f);
  fputs(config, f);
  fclose(f);
  free(p);
  char *src = fx("relu", "spiece.model"), *dst = fc_sprintf("%s/spiece.model", d), *buf = NULL;
  size_t n = 0;
  assert_int_equal(fc_read_file(src, 0, &buf, &n, NULL), FC_OK);
  f = fopen(dst, "wb");
  fwrite(buf, 1, n, f);
  fclose(f);
  free(buf), free(src), free(dst);
  return strdup(d);
}

static void rm_dir(char *d) {
  char *a = fc_sprintf("%s/config.json", d), *b = fc_sprintf("%s/spiece.model", d);
  unlink(a), unlink(b), rmdir(d);
  free(a), free(b), free(d);
}

static void test_damaged(void **state) {
  (void)state;
  static const char *const bad[] = {
      "",
      "[1]",
      "{\"d_model\":32",
      "{\"model_type\":\"esm\",\"vocab_size\":128,\"d_model\":32,\"d_kv\":8,\"num_heads\":4,\"d_ff\":64,"
      "\"num_layers\":2}",
      "{\"vocab_size\":128,\"d_model\":32,\"d_kv\":8,\"num_heads\":4,\"d_ff\":64}",
      "{\"vocab_size\":128,\"d_model\":\"32\",\"d_kv\":8,\"num_heads\":4,\"d_ff\":64,\"num_layers\":2}",
      "{\"vocab_size\":128,\"d_model\":32,\"d_kv\":8,\"num_heads\":4,\"d_ff\":64,\"num_layers\":2,"
      "\"feed_forward_proj\":\"gated-tanh\"}",
      "{\"vocab_size\":128,\"d_model\":32,\"d_kv\":8,\"num_heads\":4,\"d_ff\":64,\"num_layers\":2,"
      "\"feed_forward_proj\":7}",
      "{\"vocab_size\":128,\"d_model\":32,\"d_kv\":8,\"num_heads\":4,\"d_ff\":64,\"num_layers\":0}",
      "{\"vocab_size\":128,\"d_model\":32,\"d_kv\":8,\"num_heads\":4,\"d_ff\":64,\"num_layers\":2,"
      "\"layer_norm_epsilon\":-1}",
  };
  char *relu_w = fx("relu", "model.safetensors");
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char *d = tmpdir_with(bad[i]);
    fc_t5 *m = (fc_t5 *)1;
    fc_error err = {0};
    fc_status st = fc_t5_open(d, relu_w, &m, &err);
    assert_int_not_equal(st, FC_OK);
    assert_null(m);
    assert_true(err.msg[0] != 0);
    rm_dir(d);
  }
  /* a gated config over ungated weights: wi_0 missing; wrong d_ff: misshapen tensor */
  static const char *const mismatch[] = {
      "{\"vocab_size\":128,\"d_model\":32,\"d_kv\":8,\"num_heads\":4,\"d_ff\":64,\"num_layers\":2,"
      "\"feed_forward_proj\":\"gated-gelu\"}",
      "{\"vocab_size\":128,\"d_model\":32,\"d_kv\":8,\"num_heads\":4,\"d_ff\":60,\"num_layers\":2}",
      "{\"vocab_size\":128,\"d_model\":32,\"d_kv\":8,\"num_heads\":4,\"d_ff\":64,\"num_layers\":3}",
      "{\"vocab_size\":128,\"d_model\":32,\"d_kv\":8,\"num_heads\":4,\"d_ff\":64,\"num_layers\":2,"
      "\"relative_attention_num_buckets\":64}",
  };
  for (size_t i = 0; i < sizeof mismatch / sizeof mismatch[0]; i++) {
    char *d = tmpdir_with(mismatch[i]);
    fc_t5 *m = NULL;
    fc_error err = {0};
    fc_status st = fc_t5_open(d, relu_w, &m, &err);
    assert_int_not_equal(st, FC_OK);
    assert_null(m);
    assert_non_null(strstr(err.msg, "model.safetensors"));
    rm_dir(d);
  }
  /* the same config as the fixture opens */
  char *d = tmpdir_with("{\"vocab_size\":128,\"d_model\":32,\"d_kv\":8,\"num_heads\":4,\"d_ff\":64,"
                        "\"num_layers\":2}");
  fc_t5 *m = NULL;
  assert_int_equal(fc_t5_open(d, relu_w, &m, NULL), FC_OK);
  fc_t5_close(m);
  rm_dir(d);
  free(relu_w);
}

/* "padding must not leak": a packed batch over the fixture's edge cases plus a > 1,024-residue sequence and
 * a repeat, in several orders, equals one-at-a-time (1e-5) for both poolings and every encoder. */
static void batch_equals_single(const char *model) {
  golden g;
  load_golden(model, &g);
  char *dir = fx(model, "");
  fc_t5 *m = NULL;
  fc_error err = {0};
  assert_int_equal(fc_t5_open(dir, NULL, &m, &err), FC_OK);
  const char *seqs[16];
  size_t n = 0, d = 32;
  const cJSON *cs;
  cJSON_ArrayForEach(cs, cJSON_GetObjectItem(g.json, "cases")) seqs[n++] =
      cJSON_GetObjectItem(cs, "seq")->valuestring;
  char *longseq = malloc(1031);
  for (size_t i = 0; i < 1030; i++)
    longseq[i] = "ACDEFGHIKLMNPQRSTVWYXUBZO"[(i * 7 + i / 13) % 25];
  longseq[1030] = 0;
  seqs[n++] = longseq;
  seqs[n++] = seqs[1]; /* a repeat */
  int idx[] = {2, 0, 1};
  size_t ni = 3;
  float *single = malloc(n * ni * d * sizeof *single), *batch = malloc(n * ni * d * sizeof *batch);
  double worst = 0;
  for (int pool = 0; pool < 2; pool++) {
    for (size_t i = 0; i < n; i++)
      assert_int_equal(fc_t5_embed(m, FC_PROTEIN_PROTT5, seqs[i], strlen(seqs[i]), idx, ni,
                                   (fc_t5_pooling)pool, single + i * ni * d, &err),
                       FC_OK);
    for (int order = 0; order < 3; order++) {
      size_t perm[16];
      const char *bs[16];
      for (size_t i = 0; i < n; i++) {
        perm[i] = order == 0 ? i : order == 1 ? n - 1 - i : (2 * i + 1 < n ? 2 * i + 1 : 2 * (i - n / 2));
        bs[i] = seqs[perm[i]];
      }
      assert_int_equal(
          fc_t5_embed_batch(m, FC_PROTEIN_PROTT5, bs, NULL, n, idx, ni, (fc_t5_pooling)pool, batch, &err),
          FC_OK);
      for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < ni; j++) {
          double rel = golden_rel(batch + (i * ni + j) * d, single + (perm[i] * ni + j) * d, d);
          worst = fmax(worst, rel);
          assert_true(rel <= 1e-5);
        }
    }
  }
  fprintf(stderr, "t5 %s batch vs one-at-a-time: worst relative difference %.3g\n", model, worst);
  int bad_idx[] = {0, 3};
  assert_int_equal(
      fc_t5_embed_batch(m, FC_PROTEIN_PROTT5, seqs, NULL, 2, bad_idx, 2, FC_T5_POOL_ALL, batch, &err),
      FC_EINVAL);
  assert_int_equal(fc_t5_embed_batch(m, FC_PROTEIN_PROTT5, NULL, NULL, 0, idx, 1, FC_T5_POOL_ALL, NULL, &err),
                   FC_OK);
  assert_true(fc_t5_batch_bytes(m, 2000, 1000) > fc_t5_batch_bytes(m, 1000, 1000));
  free(single), free(batch), free(longseq);
  fc_t5_close(m);
  free(dir);
  golden_free(&g);
}

static void test_batch_relu(void **state) {
  (void)state;
  batch_equals_single("relu");
}

static void test_batch_gated_gelu(void **state) {
  (void)state;
  batch_equals_single("gelu");
}

static void test_batch_gated_silu(void **state) {
  (void)state;
  batch_equals_single("silu");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_buckets),           cmocka_unit_test(test_golden_relu),
      cmocka_unit_test(test_golden_gated_gelu), cmocka_unit_test(test_golden_gated_silu),
      cmocka_unit_test(test_damaged),           cmocka_unit_test(test_batch_relu),
      cmocka_unit_test(test_batch_gated_gelu),  cmocka_unit_test(test_batch_gated_silu),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
