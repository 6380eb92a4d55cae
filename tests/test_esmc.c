/* models/esmc: the CPU forward pass against EvolutionaryScale's `esm` package (ESMC.forward, float64) on a
 * tiny random-weight ESM C (tests/fixtures/esmc, made by tools/make_esmc_golden.py): tokenizer ids, every
 * hidden state and `embeddings`, both weight storages (f32 hub layout, bf16), pooling, packed batches,
 * and damaged checkpoints. Error metric (as test_esm2.c): max|diff| / max|ref| per state. */
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

#define D 24
#define NL 3

static char *fx(const char *rel) {
  const char *d = getenv("FC_FIXTURES");
  return fc_sprintf("%s/esmc/%s", d ? d : "tests/fixtures", rel);
}

static void load_golden(golden *g) {
  char *jp = fx("golden.json"), *bp = fx("golden.bin");
  golden_load(g, jp, bp);
  free(jp);
  free(bp);
}

static fc_esmc *open_ok(const char *path) {
  fc_esmc *m = NULL;
  fc_error err = {0};
  fc_status st = fc_esmc_open(path, &m, &err);
  if (st != FC_OK) fprintf(stderr, "%s\n", err.msg);
  assert_int_equal(st, FC_OK);
  const fc_esmc_config *c = fc_esmc_get_config(m);
  assert_int_equal(c->d_model, D);
  assert_int_equal(c->n_heads, 2);
  assert_int_equal(c->n_layers, NL);
  assert_int_equal(c->d_ff, 256);
  assert_int_equal(c->embed_rows, 64);
  return m;
}

static void test_tokenizer(void **state) {
  (void)state;
  golden g;
  load_golden(&g);
  const cJSON *cs;
  int n = 0;
  cJSON_ArrayForEach(cs, cJSON_GetObjectItem(g.json, "tokenizer_cases")) {
    const char *seq = cJSON_GetObjectItem(cs, "seq")->valuestring;
    const cJSON *jids = cJSON_GetObjectItem(cs, "ids");
    int32_t *ids = NULL;
    size_t T = 0;
    fc_error err = {0};
    assert_int_equal(fc_esmc_tokenize(seq, strlen(seq), &ids, &T, &err), FC_OK);
    if (T != (size_t)cJSON_GetArraySize(jids)) fprintf(stderr, "tokenizer case '%s': %zu ids\n", seq, T);
    assert_int_equal(T, (size_t)cJSON_GetArraySize(jids));
    for (size_t t = 0; t < T; t++)
      assert_int_equal(ids[t], (int32_t)cJSON_GetArrayItem(jids, (int)t)->valuedouble);
    free(ids);
    n++;
  }
  assert_true(n >= 15);
  golden_free(&g);
}

static double check_model(const char *path, const golden *g) {
  fc_esmc *m = open_ok(path);
  fc_error err = {0};
  size_t H = D, L = NL;
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
    assert_int_equal(fc_esmc_tokenize(seq, strlen(seq), &ids, &n, &err), FC_OK);
    assert_int_equal(n, T);
    for (size_t t = 0; t < T; t++)
      assert_int_equal(ids[t], (int32_t)cJSON_GetArrayItem(jids, (int)t)->valuedouble);
    float *st_ = malloc((L + 1) * T * H * sizeof *st_);
    assert_int_equal(fc_esmc_forward(m, ids, T, st_, &err), FC_OK);
    const float *ref = g->bin + off;
    for (size_t s = 0; s <= L; s++) {
      double rel = golden_rel(st_ + s * T * H, ref + s * T * H, T * H);
      if (rel > worst) worst = rel;
      if (!(rel <= 1e-4)) fprintf(stderr, "case %.12s (T=%zu) state %zu: rel err %.3g\n", seq, T, s, rel);
      assert_true(rel <= 1e-4);
    }
    /* the final norm separates hidden_states[-1] from embeddings */
    assert_true(memcmp(st_ + (L - 1) * T * H, st_ + L * T * H, T * H * sizeof *st_) != 0);
    /* pooling: FANTASIA layer index k = hidden_states[-(k+1)] = slot L-1-k, mean over residues 1..T-2 */
    int idx[] = {0, 1, 2};
    float pooled[3 * D];
    assert_int_equal(fc_esmc_embed(m, seq, strlen(seq), idx, 3, pooled, &err), FC_OK);
    for (size_t j = 0; j < 3; j++) {
      const float *s = ref + (L - 1 - j) * T * H;
      double mr = 0, md = 0;
      for (size_t dd = 0; dd < H; dd++) {
        double acc = 0;
        for (size_t t = 1; t + 1 < T; t++)
          acc += s[t * H + dd];
        acc /= (double)(T - 2);
        md = fmax(md, fabs(acc - pooled[j * H + dd]));
        mr = fmax(mr, fabs(acc));
      }
      if (!(md <= 1e-4 * fmax(mr, 1e-3)))
        fprintf(stderr, "pool case %.12s layer %zu: %.3g / %.3g\n", seq, j, md, mr);
      assert_true(md <= 1e-4 * fmax(mr, 1e-3));
    }
    free(st_);
    free(ids);
  }
  fprintf(stderr, "esmc %s: worst relative error (max|diff| / max|ref| per state) %.3g\n", path, worst);
  fc_esmc_close(m);
  return worst;
}

static void test_golden_hub_dir(void **state) {
  (void)state;
  golden g;
  load_golden(&g);
  char *dir = fx("");
  check_model(dir, &g);
  free(dir);
  golden_free(&g);
}

static void test_golden_pth_file_bf16(void **state) {
  (void)state;
  golden g;
  load_golden(&g);
  /* the bf16 copy holds the same (bf16-exact) values: the same golden applies */
  char *p = fx("bf16/esmc_tiny_bf16.pth");
  fc_weights *w = NULL;
  fc_error err = {0};
  assert_int_equal(fc_weights_open(p, NULL, &w, &err), FC_OK);
  assert_int_equal(fc_weights_get(w, "embed.weight")->dtype, FC_TDT_BF16);
  fc_weights_close(w);
  check_model(p, &g);
  free(p);
  /* the directory holding just that file, and the hub file given directly */
  p = fx("bf16");
  fc_esmc_close(open_ok(p));
  free(p);
  p = fx("data/weights/esmc_tiny.pth");
  fc_esmc_close(open_ok(p));
  free(p);
  golden_free(&g);
}

static void test_batch(void **state) {
  (void)state;
  char *dir = fx("");
  fc_esmc *m = open_ok(dir);
  fc_error err = {0};
  /* a 300-residue sequence among short ones: attention blocks of 128 query rows and rotary tables sized by
   * the longest sequence are exercised inside a packed batch */
  char longseq[301];
  for (size_t i = 0; i < 300; i++)
    longseq[i] = "ACDEFGHIKLMNPQRSTVWY"[(i * 7 + i / 13) % 20];
  longseq[300] = '\0';
  const char *seqs[] = {"MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ", "A", longseq, "XUBZO", "MKT_AYI_KQ",
                        "ACDEFGHIKLMNPQRSTVWYACDEFG"};
  size_t n = 6;
  int idx[] = {2, 0, 1};
  float *batch = malloc(n * 3 * D * sizeof(float)), one[3 * D];
  assert_int_equal(fc_esmc_embed_batch(m, seqs, NULL, n, idx, 3, batch, &err), FC_OK);
  double worst = 0;
  for (size_t i = 0; i < n; i++) {
    assert_int_equal(fc_esmc_embed(m, seqs[i], strlen(seqs[i]), idx, 3, one, &err), FC_OK);
    for (size_t j = 0; j < 3; j++) {
      double rel = golden_rel(batch + (i * 3 + j) * D, one + j * D, D);
      worst = fmax(worst, rel);
      assert_true(rel <= 1e-5);
    }
  }
  fprintf(stderr, "esmc batch of %zu vs one at a time: worst relative difference %.3g\n", n, worst);
  /* repeated and unordered indices: each slot equals the single-index result */
  int rep[] = {2, 0, 2, 1}, one_idx[1];
  float many[4 * D], single[D];
  assert_int_equal(fc_esmc_embed(m, seqs[0], strlen(seqs[0]), rep, 4, many, &err), FC_OK);
  for (int j = 0; j < 4; j++) {
    one_idx[0] = rep[j];
    assert_int_equal(fc_esmc_embed(m, seqs[0], strlen(seqs[0]), one_idx, 1, single, &err), FC_OK);
    assert_memory_equal(many + j * D, single, sizeof single);
  }
  assert_true(fc_esmc_batch_bytes(m, 100, 40) > fc_esmc_batch_bytes(m, 10, 10));
  free(batch);
  fc_esmc_close(m);
  free(dir);
}

static void test_bad_input(void **state) {
  (void)state;
  char *dir = fx("");
  fc_esmc *m = open_ok(dir);
  fc_error err = {0};
  int bad[] = {3}, neg[] = {-1}, ok[] = {0};
  float out[3 * D];
  assert_int_equal(fc_esmc_embed(m, "ACD", 3, bad, 1, out, &err), FC_EINVAL);
  assert_non_null(strstr(err.msg, "layer index 3"));
  assert_int_equal(fc_esmc_embed(m, "ACD", 3, neg, 1, out, &err), FC_EINVAL);
  assert_int_equal(fc_esmc_embed(m, "", 0, ok, 1, out, &err), FC_EINVAL);
  assert_non_null(strstr(err.msg, "empty"));
  const char *two[] = {"ACD", ""};
  assert_int_equal(fc_esmc_embed_batch(m, two, NULL, 2, ok, 1, out, &err), FC_EINVAL);
  int32_t oob[] = {0, 64, 2};
  float st_[(NL + 1) * 3 * D];
  assert_int_equal(fc_esmc_forward(m, oob, 3, st_, &err), FC_EINVAL);
  /* the tokenizer needs no model: empty sequence is <cls><eos> as the package gives */
  int32_t *ids = NULL;
  size_t T = 0;
  assert_int_equal(fc_esmc_tokenize("", 0, &ids, &T, &err), FC_OK);
  assert_int_equal(T, 2);
  free(ids);
  fc_esmc_close(m);
  /* nothing there */
  fc_esmc *x = (fc_esmc *)1;
  assert_int_equal(fc_esmc_open("/nonexistent/esmc", &x, &err), FC_ENOTFOUND);
  assert_null(x);
  /* a directory with no checkpoint */
  char *tmp = fc_sprintf("%s/fc_esmc_XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
  assert_non_null(mkdtemp(tmp));
  assert_int_equal(fc_esmc_open(tmp, &x, &err), FC_ENOTFOUND);
  assert_int_equal(fc_esmc_is_checkpoint(tmp), 0);
  assert_int_equal(fc_esmc_is_checkpoint(dir), 1);
  rmdir(tmp);
  free(tmp);
  free(dir);
}

/* Writes a safetensors file from the fixture's tensors, with `drop` left out, `reshape` given one row less,
 * every tensor in F16 when f16, into a fresh directory (config.json n_heads 2); returns the directory. */
static char *rewrite_as(const char *drop, const char *reshape, int f16) {
  char *src = fx("data/weights/esmc_tiny.pth");
  fc_weights *w = NULL;
  fc_error err = {0};
  assert_int_equal(fc_weights_open(src, NULL, &w, &err), FC_OK);
  cJSON *hdr = cJSON_CreateObject();
  size_t cap = 0, off = 0, n = fc_weights_count(w);
  for (size_t i = 0; i < n; i++)
    cap += fc_weights_at(w, i)->nbytes;
  char *data = malloc(cap);
  for (size_t i = 0; i < n; i++) {
    const fc_tensor *t = fc_weights_at(w, i);
    if (drop && !strcmp(t->name, drop)) continue;
    int64_t sh0 = t->shape[0];
    size_t nb = t->nbytes;
    if (reshape && !strcmp(t->name, reshape)) {
      nb = nb / (size_t)sh0 * (size_t)(sh0 - 1);
      sh0--;
    }
    cJSON *e = cJSON_AddObjectToObject(hdr, t->name);
    cJSON_AddStringToObject(e, "dtype", f16 ? "F16" : fc_tensor_dtype_name(t->dtype));
    cJSON *sh = cJSON_AddArrayToObject(e, "shape");
    for (int d = 0; d < t->ndim; d++)
      cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)(d ? t->shape[d] : sh0)));
    cJSON *of = cJSON_AddArrayToObject(e, "data_offsets");
    cJSON_AddItemToArray(of, cJSON_CreateNumber((double)off));
    if (f16) { /* the fixture's values are bf16-exact, hence f16-exact in f16's range */
      float *tmp = malloc(t->numel * sizeof *tmp);
      assert_int_equal(fc_tensor_to_f32(t, tmp, &err), FC_OK);
      nb = t->numel * 2;
      for (size_t k = 0; k < t->numel; k++) {
        uint16_t hv = fc_f32_to_f16(tmp[k]);
        memcpy(data + off + 2 * k, &hv, 2);
      }
      free(tmp);
    } else {
      memcpy(data + off, t->data, nb);
    }
    cJSON_AddItemToArray(of, cJSON_CreateNumber((double)(off + nb)));
    off += nb;
  }
  char *js = cJSON_PrintUnformatted(hdr);
  char *dir = fc_sprintf("%s/fc_esmc_bad_XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
  assert_non_null(mkdtemp(dir));
  char *p = fc_sprintf("%s/tiny.safetensors", dir);
  FILE *f = fopen(p, "wb");
  assert_non_null(f);
  uint64_t hl = strlen(js);
  fwrite(&hl, 8, 1, f);
  fwrite(js, 1, hl, f);
  fwrite(data, 1, off, f);
  fclose(f);
  free(p);
  p = fc_sprintf("%s/config.json", dir);
  f = fopen(p, "w");
  fputs("{\"model_type\": \"esmc\", \"n_heads\": 2}", f);
  fclose(f);
  free(p);
  fc_weights_close(w);
  free(js);
  free(data);
  cJSON_Delete(hdr);
  free(src);
  return dir;
}
static char *rewrite(const char *drop, const char *reshape) {
  return rewrite_as(drop, reshape, 0);
}
static void rm_dir(char *d) {
  char *p = fc_sprintf("%s/tiny.safetensors", d);
  unlink(p);
  free(p);
  p = fc_sprintf("%s/config.json", d);
  unlink(p);
  free(p);
  p = fc_sprintf("%s/trunc.pth", d);
  unlink(p);
  free(p);
  rmdir(d);
  free(d);
}

static void test_damaged(void **state) {
  (void)state;
  fc_error err = {0};
  fc_esmc *m = NULL;
  /* a faithful copy in safetensors opens and gives the same states */
  char *d = rewrite(NULL, NULL), *dir = fx("");
  fc_esmc *a = open_ok(d), *b = open_ok(dir);
  const char *seq = "MKTAYIAKQRQISFVKSHFSRQ";
  int idx[] = {0, 1, 2};
  float va[3 * D], vb[3 * D];
  assert_int_equal(fc_esmc_embed(a, seq, strlen(seq), idx, 3, va, &err), FC_OK);
  assert_int_equal(fc_esmc_embed(b, seq, strlen(seq), idx, 3, vb, &err), FC_OK);
  assert_memory_equal(va, vb, sizeof va);
  fc_esmc_close(a);
  fc_esmc_close(b);
  {
    golden g;
    load_golden(&g);
    char *h = rewrite_as(NULL, NULL, 1);
    check_model(h, &g); /* f16 storage: the same golden */
    rm_dir(h);
    golden_free(&g);
  }
  /* explicit head count overriding the config: 1 head of 24 opens (another model), 5 does not divide */
  assert_int_equal(fc_esmc_open_heads(d, 1, &m, &err), FC_OK);
  assert_int_equal(fc_esmc_get_config(m)->n_heads, 1);
  fc_esmc_close(m);
  assert_int_equal(fc_esmc_open_heads(d, 5, &m, &err), FC_EFORMAT);
  assert_null(m);
  /* without config.json the published rule d_model/64 applies: 24/64 = 0 heads is refused, saying why */
  char *cj = fc_sprintf("%s/config.json", d);
  unlink(cj);
  free(cj);
  assert_int_equal(fc_esmc_open(d, &m, &err), FC_EFORMAT);
  assert_non_null(strstr(err.msg, "d_model/64"));
  assert_null(m);
  rm_dir(d);
  free(dir);
  /* missing tensors and wrong shapes: the error names the file and the tensor */
  static const struct {
    const char *drop, *reshape, *want;
    fc_status st;
  } cases[] = {
      {"transformer.blocks.1.attn.k_ln.weight", NULL, "transformer.blocks.1.attn.k_ln.weight", FC_ENOTFOUND},
      {"transformer.norm.weight", NULL, "transformer.norm.weight", FC_ENOTFOUND},
      {"embed.weight", NULL, "embed.weight", FC_ENOTFOUND},
      {"transformer.blocks.0.attn.layernorm_qkv.1.weight", NULL, "blocks.0.attn.layernorm_qkv.1.weight",
       FC_ENOTFOUND},
      {NULL, "transformer.blocks.2.ffn.1.weight", "transformer.blocks.2.ffn.1.weight", FC_EFORMAT},
      {NULL, "transformer.blocks.0.attn.out_proj.weight", "transformer.blocks.0.attn.out_proj.weight",
       FC_EFORMAT},
      {NULL, "transformer.blocks.0.ffn.3.weight", "transformer.blocks.0.ffn.3.weight", FC_EFORMAT},
      {NULL, "transformer.blocks.1.attn.layernorm_qkv.0.bias",
       "transformer.blocks.1.attn.layernorm_qkv.0.bias", FC_EFORMAT},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    d = rewrite(cases[i].drop, cases[i].reshape);
    m = (fc_esmc *)1;
    fc_status st = fc_esmc_open(d, &m, &err);
    if (st != cases[i].st || !strstr(err.msg, cases[i].want) || !strstr(err.msg, "tiny.safetensors"))
      fprintf(stderr, "case %zu: got %d (%s)\n", i, (int)st, err.msg);
    assert_int_equal(st, cases[i].st);
    assert_null(m);
    assert_non_null(strstr(err.msg, cases[i].want));
    assert_non_null(strstr(err.msg, "tiny.safetensors"));
    rm_dir(d);
  }
  /* truncated .pth: every cut gives a clean error */
  char *src = fx("data/weights/esmc_tiny.pth"), *raw = NULL;
  size_t len = 0;
  assert_int_equal(fc_read_file(src, 0, &raw, &len, NULL), FC_OK);
  d = rewrite(NULL, NULL);
  char *p = fc_sprintf("%s/tiny.safetensors", d);
  unlink(p);
  free(p);
  p = fc_sprintf("%s/trunc.pth", d);
  size_t cuts[] = {0, 10, len / 3, len / 2, len - 100, len - 1};
  for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
    FILE *f = fopen(p, "wb");
    fwrite(raw, 1, cuts[i], f);
    fclose(f);
    m = (fc_esmc *)1;
    fc_status st = fc_esmc_open(d, &m, &err);
    assert_int_not_equal(st, FC_OK);
    assert_null(m);
    assert_true(strlen(err.msg) > 0);
    st = fc_esmc_open(p, &m, &err);
    assert_int_not_equal(st, FC_OK);
  }
  /* two candidates in one directory: ambiguous */
  FILE *f = fopen(p, "wb");
  fwrite(raw, 1, len, f);
  fclose(f);
  char *p2 = fc_sprintf("%s/tiny.safetensors", d);
  f = fopen(p2, "wb");
  fwrite(raw, 1, len, f);
  fclose(f);
  assert_int_equal(fc_esmc_open(d, &m, &err), FC_EINVAL);
  assert_non_null(strstr(err.msg, "candidate"));
  free(p2);
  free(p);
  free(raw);
  free(src);
  rm_dir(d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tokenizer),
      cmocka_unit_test(test_golden_hub_dir),
      cmocka_unit_test(test_golden_pth_file_bf16),
      cmocka_unit_test(test_batch),
      cmocka_unit_test(test_bad_input),
      cmocka_unit_test(test_damaged),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
