/* models/esm2: the CPU forward pass against HF transformers EsmModel run in float64 on a tiny random-weight
 * ESM-2 (tests/fixtures/esm2, made by tools/make_esm2_golden.py): every hidden state of every layer, both
 * weight formats (model.safetensors, pytorch_model.bin), tokenizer ids, pooling, and damaged configs. */
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
#include "fantasia/weights.h"

static char *fx(const char *rel) {
  const char *d = getenv("FC_FIXTURES");
  return fc_sprintf("%s/esm2/%s", d ? d : "tests/fixtures", rel);
}

static void load_golden(golden *g) {
  char *jp = fx("golden.json"), *bp = fx("golden.bin");
  golden_load(g, jp, bp);
  free(jp);
  free(bp);
}

static double check_model(const char *weights, const golden *g) {
  char *dir = fx("");
  fc_esm2 *m = NULL;
  fc_error err = {0};
  fc_status st = fc_esm2_open(dir, weights, &m, &err);
  if (st != FC_OK) fprintf(stderr, "%s\n", err.msg);
  assert_int_equal(st, FC_OK);
  const fc_esm2_config *c = fc_esm2_get_config(m);
  assert_int_equal(c->hidden_size, 32);
  assert_int_equal(c->num_hidden_layers, 3);
  assert_int_equal(c->token_dropout, 1);
  size_t H = 32, L = 3;
  double worst = 0;
  const cJSON *cs;
  cJSON_ArrayForEach(cs, cJSON_GetObjectItem(g->json, "cases")) {
    const char *seq = cJSON_GetObjectItem(cs, "seq")->valuestring;
    const cJSON *jids = cJSON_GetObjectItem(cs, "ids");
    size_t T = (size_t)cJSON_GetObjectItem(cs, "T")->valuedouble;
    size_t off = (size_t)cJSON_GetObjectItem(cs, "offset")->valuedouble;
    assert_int_equal((size_t)cJSON_GetObjectItem(cs, "n_states")->valuedouble, L + 1);
    assert_true(off + (L + 1) * T * H <= g->nbin);
    int32_t *ids = NULL;
    size_t n = 0;
    assert_int_equal(fc_esm2_tokenize(m, seq, strlen(seq), &ids, &n, &err), FC_OK);
    assert_int_equal(n, T);
    assert_int_equal((size_t)cJSON_GetArraySize(jids), T);
    for (size_t t = 0; t < T; t++)
      assert_int_equal(ids[t], (int32_t)cJSON_GetArrayItem(jids, (int)t)->valuedouble);
    float *st_ = malloc((L + 1) * T * H * sizeof *st_);
    assert_int_equal(fc_esm2_forward(m, ids, T, st_, &err), FC_OK);
    const float *ref = g->bin + off;
    for (size_t s = 0; s <= L; s++) {
      double rel = golden_rel(st_ + s * T * H, ref + s * T * H, T * H);
      if (rel > worst) worst = rel;
      if (!(rel <= 1e-4)) fprintf(stderr, "case %.12s (T=%zu) state %zu: rel err %.3g\n", seq, T, s, rel);
      assert_true(rel <= 1e-4);
    }
    /* pooling: FANTASIA layer index k = hidden_states[L-k], mean over residues 1..T-2 */
    int idx[] = {0, 1, 2, 3};
    float pooled[4 * 32];
    assert_int_equal(fc_esm2_embed(m, seq, strlen(seq), idx, 4, pooled, &err), FC_OK);
    for (size_t j = 0; j < 4; j++) {
      const float *s = ref + (L - j) * T * H;
      double mr = 0, md = 0;
      for (size_t d = 0; d < H; d++) {
        double acc = 0;
        for (size_t t = 1; t + 1 < T; t++)
          acc += s[t * H + d];
        acc = T > 2 ? acc / (double)(T - 2) : 0;
        md = fmax(md, fabs(acc - pooled[j * H + d]));
        mr = fmax(mr, fabs(acc));
      }
      assert_true(md <= 1e-4 * fmax(mr, 1e-3));
    }
    free(st_);
    free(ids);
  }
  fprintf(stderr, "esm2 %s: worst relative error (max|diff| / max|ref| per hidden state) %.3g\n",
          weights ? "pytorch_model.bin" : "model.safetensors", worst);
  fc_esm2_close(m);
  free(dir);
  return worst;
}

static void test_golden_safetensors(void **state) {
  (void)state;
  golden g;
  load_golden(&g);
  check_model(NULL, &g);
  golden_free(&g);
}

static void test_golden_torch_bin(void **state) {
  (void)state;
  golden g;
  load_golden(&g);
  char *bin = fx("pytorch_model.bin");
  check_model(bin, &g);
  free(bin);
  golden_free(&g);
}

static void test_layer_index_range(void **state) {
  (void)state;
  char *dir = fx("");
  fc_esm2 *m = NULL;
  fc_error err = {0};
  assert_int_equal(fc_esm2_open(dir, NULL, &m, &err), FC_OK);
  int bad[] = {4}, neg[] = {-1}, ok[] = {0};
  float out[32];
  assert_int_equal(fc_esm2_embed(m, "ACD", 3, bad, 1, out, &err), FC_EINVAL);
  assert_int_equal(fc_esm2_embed(m, "ACD", 3, neg, 1, out, &err), FC_EINVAL);
  assert_int_equal(fc_esm2_embed(m, "", 0, ok, 1, out, &err), FC_OK); /* no residue: zero vector */
  for (int i = 0; i < 32; i++)
    assert_true(out[i] == 0.0f);
  /* repeated and unordered indices: each slot equals the single-index result */
  int rep[] = {3, 0, 3, 1}, one[1];
  float many[4 * 32], single[32];
  const char *sq = "MKTAYIAKQRQISFVKSHFSRQ";
  assert_int_equal(fc_esm2_embed(m, sq, strlen(sq), rep, 4, many, &err), FC_OK);
  for (int j = 0; j < 4; j++) {
    one[0] = rep[j];
    assert_int_equal(fc_esm2_embed(m, sq, strlen(sq), one, 1, single, &err), FC_OK);
    assert_memory_equal(many + j * 32, single, sizeof single);
  }
  int32_t oob[] = {0, 33, 2};
  float st_[4 * 3 * 32];
  assert_int_equal(fc_esm2_forward(m, oob, 3, st_, &err), FC_EINVAL);
  fc_esm2_close(m);
  free(dir);
}

/* copies the fixture's vocab.txt into a fresh directory with the given config.json text */
static char *bad_dir(const char *config) {
  char *d = fc_sprintf("%s/fc_esm2_bad_XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
  assert_non_null(mkdtemp(d));
  char *p = fc_sprintf("%s/config.json", d);
  FILE *f = fopen(p, "w");
  fputs(config, f);
  fclose(f);
  free(p);
  char *src = fx("vocab.txt"), *txt = NULL;
  size_t len;
  assert_int_equal(fc_read_file(src, 0, &txt, &len, NULL), FC_OK);
  p = fc_sprintf("%s/vocab.txt", d);
  f = fopen(p, "w");
  fwrite(txt, 1, len, f);
  fclose(f);
  free(p);
  free(txt);
  free(src);
  return d;
}
static void rm_dir(char *d) {
  char *p = fc_sprintf("%s/config.json", d);
  unlink(p);
  free(p);
  p = fc_sprintf("%s/vocab.txt", d);
  unlink(p);
  free(p);
  rmdir(d);
  free(d);
}

static void test_damaged(void **state) {
  (void)state;
  static const struct {
    const char *cfg;
    fc_status want;
  } cases[] = {
      {"", FC_EFORMAT},
      {"{\"hidden_size\": 32,", FC_EFORMAT},
      {"[1,2]", FC_EFORMAT},
      {"{\"vocab_size\":33,\"hidden_size\":32,\"num_hidden_layers\":3,\"num_attention_heads\":4}",
       FC_EFORMAT},
      {"{\"vocab_size\":33,\"hidden_size\":\"32\",\"num_hidden_layers\":3,\"num_attention_heads\":4,"
       "\"intermediate_size\":64}",
       FC_EFORMAT},
      {"{\"vocab_size\":33,\"hidden_size\":32,\"num_hidden_layers\":3,\"num_attention_heads\":5,"
       "\"intermediate_size\":64}",
       FC_EFORMAT},
      {"{\"vocab_size\":33,\"hidden_size\":32,\"num_hidden_layers\":-3,\"num_attention_heads\":4,"
       "\"intermediate_size\":64}",
       FC_EFORMAT},
      {"{\"model_type\":\"t5\",\"vocab_size\":33,\"hidden_size\":32,\"num_hidden_layers\":3,"
       "\"num_attention_heads\":4,\"intermediate_size\":64}",
       FC_EUNSUPPORTED},
      {"{\"position_embedding_type\":\"absolute\",\"vocab_size\":33,\"hidden_size\":32,\"num_hidden_layers\":"
       "3,"
       "\"num_attention_heads\":4,\"intermediate_size\":64}",
       FC_EUNSUPPORTED},
      {"{\"vocab_size\":33,\"hidden_size\":32,\"num_hidden_layers\":3,\"num_attention_heads\":4,"
       "\"intermediate_size\":64,\"layer_norm_eps\":\"x\"}",
       FC_EFORMAT},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *d = bad_dir(cases[i].cfg);
    fc_esm2 *m = (fc_esm2 *)1;
    fc_error err = {0};
    fc_status st = fc_esm2_open(d, NULL, &m, &err);
    if (st != cases[i].want) fprintf(stderr, "case %zu: got %d (%s)\n", i, (int)st, err.msg);
    assert_int_equal(st, cases[i].want);
    assert_null(m);
    assert_true(strlen(err.msg) > 0);
    rm_dir(d);
  }
  /* good config, wrong sizes for the weights: a tensor shape mismatch is reported by name */
  char *d = bad_dir("{\"vocab_size\":33,\"hidden_size\":64,\"num_hidden_layers\":3,\"num_attention_heads\":4,"
                    "\"intermediate_size\":64}");
  char *w = fx("model.safetensors");
  fc_esm2 *m = NULL;
  fc_error err = {0};
  assert_int_equal(fc_esm2_open(d, w, &m, &err), FC_EFORMAT);
  assert_non_null(strstr(err.msg, "word_embeddings"));
  /* more layers than stored: missing tensor */
  rm_dir(d);
  d = bad_dir("{\"vocab_size\":33,\"hidden_size\":32,\"num_hidden_layers\":4,\"num_attention_heads\":4,"
              "\"intermediate_size\":64}");
  assert_int_equal(fc_esm2_open(d, w, &m, &err), FC_ENOTFOUND);
  assert_non_null(strstr(err.msg, "encoder.layer.3."));
  /* no weights at all */
  assert_int_equal(fc_esm2_open(d, NULL, &m, &err) != FC_OK, 1);
  assert_null(m);
  rm_dir(d);
  free(w);
}

/* The hub's transformers-4 layout (per-layer rotary inv_freq, LayerNorm .weight/.bias) saved as an EsmModel
 * (no "esm." prefix, no heads): the fixture's tensors renamed into that layout give bit-identical states. */
static void test_hub_layout(void **state) {
  (void)state;
  char *dir = fx(""), *src = fx("model.safetensors");
  fc_weights *w = NULL;
  fc_error err = {0};
  assert_int_equal(fc_weights_open(src, NULL, &w, &err), FC_OK);
  cJSON *hdr = cJSON_CreateObject();
  size_t cap = 0, off = 0, n = fc_weights_count(w);
  for (size_t i = 0; i < n; i++)
    cap += fc_weights_at(w, i)->nbytes * 4; /* inv_freq is replicated */
  char *data = malloc(cap);
  for (size_t i = 0; i < n; i++) {
    const fc_tensor *t = fc_weights_at(w, i);
    if (strncmp(t->name, "esm.", 4) != 0) continue; /* heads dropped */
    const char *base = t->name + 4;
    int reps = strstr(base, "layer.*.") ? 3 : 1;
    for (int r = 0; r < reps; r++) {
      char nm[256];
      if (reps > 1) {
        const char *star = strstr(base, "*");
        snprintf(nm, sizeof nm, "%.*s%d%s", (int)(star - base), base, r, star + 1);
      } else
        snprintf(nm, sizeof nm, "%s", base);
      size_t l = strlen(nm);
      if (l > 6 && !strcmp(nm + l - 6, ".gamma")) strcpy(nm + l - 6, ".weight");
      if (l > 5 && !strcmp(nm + l - 5, ".beta")) strcpy(nm + l - 5, ".bias");
      cJSON *e = cJSON_AddObjectToObject(hdr, nm);
      cJSON_AddStringToObject(e, "dtype", "F32");
      cJSON *sh = cJSON_AddArrayToObject(e, "shape");
      for (int d = 0; d < t->ndim; d++)
        cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)t->shape[d]));
      cJSON *of = cJSON_AddArrayToObject(e, "data_offsets");
      cJSON_AddItemToArray(of, cJSON_CreateNumber((double)off));
      cJSON_AddItemToArray(of, cJSON_CreateNumber((double)(off + t->nbytes)));
      memcpy(data + off, t->data, t->nbytes);
      off += t->nbytes;
    }
  }
  char *js = cJSON_PrintUnformatted(hdr);
  char *out = fc_sprintf("%s/fc_esm2_hub_%d.safetensors", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
                         (int)getpid());
  FILE *f = fopen(out, "wb");
  assert_non_null(f);
  uint64_t hl = strlen(js);
  fwrite(&hl, 8, 1, f);
  fwrite(js, 1, hl, f);
  fwrite(data, 1, off, f);
  fclose(f);
  fc_weights_close(w);
  fc_esm2 *a = NULL, *b = NULL;
  assert_int_equal(fc_esm2_open(dir, NULL, &a, &err), FC_OK);
  fc_status st = fc_esm2_open(dir, out, &b, &err);
  if (st != FC_OK) fprintf(stderr, "%s\n", err.msg);
  assert_int_equal(st, FC_OK);
  const char *seq = "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ";
  int idx[] = {0, 1, 2, 3};
  float va[4 * 32], vb[4 * 32];
  assert_int_equal(fc_esm2_embed(a, seq, strlen(seq), idx, 4, va, &err), FC_OK);
  assert_int_equal(fc_esm2_embed(b, seq, strlen(seq), idx, 4, vb, &err), FC_OK);
  assert_memory_equal(va, vb, sizeof va);
  fc_esm2_close(a);
  fc_esm2_close(b);
  unlink(out);
  free(out);
  free(js);
  free(data);
  cJSON_Delete(hdr);
  free(src);
  free(dir);
}

/* "padding must not leak": a packed batch over the fixture's edge cases (length 1, XUBZO, <mask> with its
 * own token-dropout ratio, > 1,024 residues, a repeat) in several orders equals one-at-a-time (1e-5). */
static void test_batch_equals_single(void **state) {
  (void)state;
  golden g;
  load_golden(&g);
  char *dir = fx("");
  fc_esm2 *m = NULL;
  fc_error err = {0};
  assert_int_equal(fc_esm2_open(dir, NULL, &m, &err), FC_OK);
  const char *seqs[16];
  size_t n = 0, H = 32;
  const cJSON *cs;
  cJSON_ArrayForEach(cs, cJSON_GetObjectItem(g.json, "cases")) seqs[n++] =
      cJSON_GetObjectItem(cs, "seq")->valuestring;
  seqs[n++] = seqs[1]; /* a repeat */
  seqs[n++] = "";      /* no residue: zero vector */
  int idx[] = {0, 2, 3, 1};
  size_t ni = 4;
  float *single = malloc(n * ni * H * sizeof *single), *batch = malloc(n * ni * H * sizeof *batch);
  for (size_t i = 0; i < n; i++)
    assert_int_equal(fc_esm2_embed(m, seqs[i], strlen(seqs[i]), idx, ni, single + i * ni * H, &err), FC_OK);
  size_t perm[16];
  const char *bs_none[] = {"ACD", "MK"};
  double worst = 0;
  for (int order = 0; order < 3; order++) {
    for (size_t i = 0; i < n; i++) /* as given, reversed, odd positions first */
      perm[i] = order == 0 ? i : order == 1 ? n - 1 - i : (2 * i + 1 < n ? 2 * i + 1 : 2 * (i - n / 2));
    const char *bs[16];
    size_t bl[16];
    for (size_t i = 0; i < n; i++)
      bs[i] = seqs[perm[i]], bl[i] = strlen(seqs[perm[i]]);
    assert_int_equal(fc_esm2_embed_batch(m, bs, order == 2 ? NULL : bl, n, idx, ni, batch, &err), FC_OK);
    for (size_t i = 0; i < n; i++)
      for (size_t j = 0; j < ni; j++) {
        double rel = golden_rel(batch + (i * ni + j) * H, single + (perm[i] * ni + j) * H, H);
        worst = fmax(worst, rel);
        assert_true(rel <= 1e-5);
      }
  }
  fprintf(stderr, "esm2 batch vs one-at-a-time: worst relative difference %.3g\n", worst);
  /* a bad layer index fails the whole batch cleanly; an empty batch does nothing */
  int bad_idx[] = {0, 4};
  assert_int_equal(fc_esm2_embed_batch(m, bs_none, NULL, 2, bad_idx, 2, batch, &err), FC_EINVAL);
  assert_int_equal(fc_esm2_embed_batch(m, NULL, NULL, 0, idx, 1, NULL, &err), FC_OK);
  assert_true(fc_esm2_batch_bytes(m, 2000, 1000) > fc_esm2_batch_bytes(m, 1000, 1000));
  assert_true(fc_esm2_batch_bytes(m, 1000, 1000) > 1000 * 10 * H * sizeof(float));
  free(single), free(batch);
  fc_esm2_close(m);
  free(dir);
  golden_free(&g);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_golden_safetensors),
      cmocka_unit_test(test_golden_torch_bin),
      cmocka_unit_test(test_layer_index_range),
      cmocka_unit_test(test_hub_layout),
      cmocka_unit_test(test_damaged),
      cmocka_unit_test(test_batch_equals_single),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
