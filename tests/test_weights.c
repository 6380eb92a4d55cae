/* weights: safetensors (plain, sharded), PyTorch zip (.bin/.pth/.pt, protocols 2 and 4, views, tied storages,
 * big-endian, sharded) against expected.json made by tools/make_weights_fixtures.py; key normalisation;
 * damaged files (every truncation, byte flips, crafted bad headers/pickles) give clean errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zip.h>

#include "fantasia/weights.h"

static char *fx(const char *rel) {
  const char *d = getenv("FC_FIXTURES");
  return fc_sprintf("%s/weights/%s", d ? d : "tests/fixtures", rel);
}

static cJSON *load_expected(const char *section) {
  char *p = fx("expected.json");
  char *txt = NULL;
  size_t len = 0;
  assert_int_equal(fc_read_file(p, 0, &txt, &len, NULL), FC_OK);
  free(p);
  cJSON *root = cJSON_Parse(txt);
  free(txt);
  assert_non_null(root);
  cJSON *s = cJSON_DetachItemFromObject(root, section);
  cJSON_Delete(root);
  assert_non_null(s);
  return s;
}

/* Every expected tensor is present with dtype, shape and values; returns how many were checked. */
static int check_against(const fc_weights *w, const cJSON *exp, const char *strip) {
  int n = 0;
  const cJSON *e;
  cJSON_ArrayForEach(e, exp) {
    const char *name = e->string;
    if (strip && strncmp(name, strip, strlen(strip)) == 0) name += strlen(strip);
    const fc_tensor *t = fc_weights_get(w, name);
    if (!t) fprintf(stderr, "missing tensor %s\n", name);
    assert_non_null(t);
    assert_string_equal(fc_tensor_dtype_name(t->dtype), cJSON_GetObjectItem(e, "dtype")->valuestring);
    const cJSON *shape = cJSON_GetObjectItem(e, "shape");
    assert_int_equal(t->ndim, cJSON_GetArraySize(shape));
    size_t numel = 1;
    for (int i = 0; i < t->ndim; i++) {
      assert_int_equal(t->shape[i], (int64_t)cJSON_GetArrayItem(shape, i)->valuedouble);
      numel *= (size_t)t->shape[i];
    }
    assert_int_equal(t->numel, numel);
    assert_int_equal(t->nbytes, numel * fc_tensor_dtype_size(t->dtype));
    const cJSON *vals = cJSON_GetObjectItem(e, "values");
    assert_int_equal(cJSON_GetArraySize(vals), (int)numel);
    if (t->dtype == FC_TDT_I64) {
      for (size_t i = 0; i < numel; i++) {
        int64_t v;
        memcpy(&v, (const char *)t->data + 8 * i, 8);
        assert_int_equal(v, (int64_t)cJSON_GetArrayItem(vals, (int)i)->valuedouble);
      }
    } else {
      float *f = malloc((numel ? numel : 1) * sizeof *f);
      assert_int_equal(fc_tensor_to_f32(t, f, NULL), FC_OK);
      for (size_t i = 0; i < numel; i++)
        assert_true(f[i] == (float)cJSON_GetArrayItem(vals, (int)i)->valuedouble);
      free(f);
    }
    n++;
  }
  return n;
}

static fc_weights *open_ok(const char *rel, const fc_weights_options *opt) {
  char *p = fx(rel);
  fc_weights *w = NULL;
  fc_error err = {0};
  fc_status st = fc_weights_open(p, opt, &w, &err);
  if (st != FC_OK) fprintf(stderr, "%s: %s\n", p, err.msg);
  free(p);
  assert_int_equal(st, FC_OK);
  return w;
}

static void test_safetensors(void **state) {
  (void)state;
  cJSON *exp = load_expected("plain");
  fc_weights *w = open_ok("model.safetensors", NULL);
  assert_string_equal(fc_weights_format(w), "safetensors");
  assert_int_equal(fc_weights_count(w), 7);
  assert_int_equal(check_against(w, exp, NULL), 7);
  for (size_t i = 0; i < fc_weights_count(w); i++)
    assert_int_equal(fc_weights_at(w, i)->mapped, 1);
  assert_null(fc_weights_at(w, 7));
  assert_null(fc_weights_get(w, "nope"));
  const fc_tensor *pos = fc_weights_get(w, "model.encoder.position_ids");
  float f[4];
  assert_int_equal(fc_tensor_to_f32(pos, f, NULL), FC_EUNSUPPORTED);
  fc_weights_close(w);
  /* a directory picks model.safetensors */
  w = open_ok("", NULL);
  assert_string_equal(fc_weights_format(w), "safetensors");
  fc_weights_close(w);
  cJSON_Delete(exp);
}

static void test_sharded(void **state) {
  (void)state;
  cJSON *exp = load_expected("plain");
  fc_weights *w = open_ok("sharded", NULL);
  assert_string_equal(fc_weights_format(w), "safetensors-sharded");
  assert_int_equal(fc_weights_count(w), 7);
  assert_int_equal(check_against(w, exp, NULL), 7);
  fc_weights_close(w);
  w = open_ok("sharded_bin", NULL);
  assert_string_equal(fc_weights_format(w), "torch-zip-sharded");
  assert_int_equal(check_against(w, exp, NULL), 7);
  fc_weights_close(w);
  cJSON_Delete(exp);
}

/* A deflate-compressed copy of pytorch_model.bin: its storages are inflated into owned memory, so they
 * are not "mapped", and taking float32 copies (which releases mapped pages) must leave them intact. */
static void test_torch_compressed(void **state) {
  (void)state;
  char *src = fx("pytorch_model.bin"), *dst = fc_strdup("/tmp/fc_test_wz_XXXXXX");
  int fd = mkstemp(dst);
  assert_true(fd >= 0);
  close(fd);
  int ze = 0;
  zip_t *in = zip_open(src, ZIP_RDONLY, &ze), *out = zip_open(dst, ZIP_TRUNCATE, &ze);
  assert_non_null(in);
  assert_non_null(out);
  zip_int64_t n = zip_get_num_entries(in, 0);
  for (zip_int64_t i = 0; i < n; i++) {
    zip_source_t *s = zip_source_zip(out, in, (zip_uint64_t)i, 0, 0, -1);
    assert_non_null(s);
    zip_int64_t idx = zip_file_add(out, zip_get_name(in, (zip_uint64_t)i, 0), s, ZIP_FL_OVERWRITE);
    assert_true(idx >= 0);
    assert_int_equal(zip_set_file_compression(out, (zip_uint64_t)idx, ZIP_CM_DEFLATE, 9), 0);
  }
  assert_int_equal(zip_close(out), 0);
  zip_discard(in);
  cJSON *views = load_expected("views");
  fc_weights *w = NULL;
  fc_error e;
  fc_status st = fc_weights_open(dst, NULL, &w, &e);
  if (st != FC_OK) fprintf(stderr, "%s\n", e.msg);
  assert_int_equal(st, FC_OK);
  const fc_tensor *t = fc_weights_get(w, "model.encoder.embed.weight");
  assert_non_null(t);
  assert_int_equal(t->mapped, 0);
  for (size_t i = 0; i < fc_weights_count(w); i++) { /* take every tensor twice, then compare again */
    const fc_tensor *ti = fc_weights_at(w, i);
    if ((ti->dtype != FC_TDT_F32 && ti->dtype != FC_TDT_F16 && ti->dtype != FC_TDT_BF16) || ti->ndim < 1 ||
        ti->ndim > 2)
      continue;
    for (int r = 0; r < 2; r++) {
      float *f = NULL;
      int64_t d0 = ti->ndim >= 1 ? ti->shape[0] : 1, d1 = ti->ndim == 2 ? ti->shape[1] : 0;
      assert_int_equal(fc_tensor_take_f32(ti, d0, d1, dst, &f, &e), FC_OK);
      fc_aligned_free(f);
    }
  }
  assert_int_equal(check_against(w, views, NULL), 9);
  fc_weights_close(w);
  cJSON_Delete(views);
  unlink(dst);
  free(dst);
  free(src);
}

static void test_torch(void **state) {
  (void)state;
  cJSON *views = load_expected("views"), *plain = load_expected("plain");
  fc_weights *w = open_ok("pytorch_model.bin", NULL);
  assert_string_equal(fc_weights_format(w), "torch-zip");
  assert_int_equal(fc_weights_count(w), 9);
  assert_int_equal(check_against(w, views, NULL), 9);
  assert_int_equal(fc_weights_get(w, "model.encoder.embed.weight")->mapped, 1); /* offset view, in place */
  assert_int_equal(fc_weights_get(w, "model.encoder.embed.weight.T")->mapped, 0);
  assert_int_equal(fc_weights_get(w, "model.encoder.embed.weight.cols")->mapped, 0);
  fc_weights_close(w);
  w = open_ok("model_p4.pth", NULL); /* protocol 4, Parameters, state dict under "model" */
  assert_int_equal(fc_weights_count(w), 7);
  assert_int_equal(check_against(w, plain, NULL), 7);
  fc_weights_close(w);
  w = open_ok("model_zip64.bin", NULL); /* every size and offset through ZIP64 records */
  assert_int_equal(check_against(w, views, NULL), 9);
  assert_int_equal(fc_weights_get(w, "model.encoder.embed.weight")->mapped, 1);
  fc_weights_close(w);
  w = open_ok("model_big.pt", NULL); /* byteorder "big" */
  assert_int_equal(check_against(w, views, NULL), 9);
  fc_weights_close(w);
  cJSON_Delete(views);
  cJSON_Delete(plain);
}

/* Files written by real torch.save (tools/make_weights_fixtures_torch.py, run where torch is installed). */
static cJSON *load_real(const char *section) {
  char *p = fx("real_torch/expected.json");
  char *txt = NULL;
  size_t len = 0;
  assert_int_equal(fc_read_file(p, 0, &txt, &len, NULL), FC_OK);
  free(p);
  cJSON *root = cJSON_Parse(txt);
  free(txt);
  assert_non_null(root);
  cJSON *s = cJSON_DetachItemFromObject(root, section);
  cJSON_Delete(root);
  assert_non_null(s);
  return s;
}

static void test_real_torch(void **state) {
  (void)state;
  cJSON *sd = load_real("state_dict"), *params = load_real("params");
  int n = cJSON_GetArraySize(sd);
  const char *files[] = {"real_torch/pytorch_model.bin", "real_torch/p4.pth", "real_torch/nested.pt"};
  for (int f = 0; f < 3; f++) {
    fc_weights *w = open_ok(files[f], NULL);
    assert_int_equal((int)fc_weights_count(w), n);
    assert_int_equal(check_against(w, sd, NULL), n);
    /* tied and contiguous tensors are used in place from the map, views are copied */
    assert_int_equal(fc_weights_get(w, "lm_head.decoder.weight")->mapped, 1);
    assert_int_equal(fc_weights_get(w, "esm.view.transposed")->mapped, 0);
    assert_ptr_equal(fc_weights_get(w, "lm_head.decoder.weight")->data,
                     fc_weights_get(w, "esm.embeddings.word_embeddings.weight")->data);
    fc_weights_close(w);
  }
  fc_weights *w = open_ok("real_torch/params.pt", NULL); /* nn.Parameter values */
  assert_int_equal(check_against(w, params, NULL), cJSON_GetArraySize(params));
  fc_weights_close(w);
  static const char *const strip[] = {"esm.", NULL};
  fc_weights_options opt = {strip, 1};
  w = open_ok("real_torch/pytorch_model.bin", &opt);
  assert_non_null(fc_weights_get(w, "embeddings.word_embeddings.weight"));
  assert_null(fc_weights_get(w, "lm_head.decoder.weight"));
  assert_int_equal((int)fc_weights_count(w), n - 1);
  fc_weights_close(w);
  cJSON_Delete(sd);
  cJSON_Delete(params);
}

static void test_normalise(void **state) {
  (void)state;
  static const char *const strip[] = {"model.", "esm.", "encoder.", NULL};
  fc_weights_options opt = {strip, 1};
  char buf[64];
  assert_int_equal(fc_weights_normalize_name("model.encoder.x.weight", &opt, buf, sizeof buf), 1);
  assert_string_equal(buf, "x.weight");
  assert_int_equal(fc_weights_normalize_name("esm.encoder.layer.0.w", &opt, buf, sizeof buf), 1);
  assert_string_equal(buf, "layer.0.w");
  assert_int_equal(fc_weights_normalize_name("decoder.block.0.w", &opt, buf, sizeof buf), 0);
  assert_int_equal(fc_weights_normalize_name("lm_head.weight", &opt, buf, sizeof buf), 0);
  assert_int_equal(fc_weights_normalize_name("model.decoder.w", &opt, buf, sizeof buf), 0);
  assert_int_equal(fc_weights_normalize_name("esm.contact_head.regression.weight", &opt, buf, sizeof buf), 0);
  assert_int_equal(fc_weights_normalize_name("shared.weight", &opt, buf, sizeof buf), 1);
  assert_int_equal(fc_weights_normalize_name("model.", &opt, buf, sizeof buf), 1); /* never to "" */
  assert_string_equal(buf, "model.");
  assert_int_equal(fc_weights_normalize_name("shared.weight", &opt, buf, 4), -1);
  assert_int_equal(fc_weights_normalize_name("a.b", NULL, buf, sizeof buf), 1);
  assert_string_equal(buf, "a.b");

  cJSON *plain = load_expected("plain");
  const char *files[] = {"model.safetensors", "pytorch_model.bin", "sharded", "model_p4.pth"};
  for (size_t f = 0; f < 4; f++) {
    fc_weights *w = open_ok(files[f], &opt);
    assert_non_null(fc_weights_get(w, "embed.weight"));
    assert_non_null(fc_weights_get(w, "layer.0.ln.bias"));
    assert_null(fc_weights_get(w, "lm_head.weight"));
    assert_null(fc_weights_get(w, "decoder.block.0.weight"));
    assert_null(fc_weights_get(w, "model.encoder.embed.weight"));
    fc_weights_close(w);
  }
  cJSON_Delete(plain);
  /* two names equal after normalisation */
  static const char *const strip2[] = {"model.encoder.embed.", "lm_head.", NULL};
  fc_weights_options o2 = {strip2, 0};
  char *p = fx("model.safetensors");
  fc_weights *w = NULL;
  fc_error err = {0};
  assert_int_equal(fc_weights_open(p, &o2, &w, &err), FC_EDUPLICATE);
  assert_null(w);
  assert_non_null(strstr(err.msg, "'weight'"));
  free(p);
}

static void expect_fail(const char *rel, fc_status code, const char *needle) {
  char *p = fx(rel);
  fc_weights *w = (fc_weights *)1;
  fc_error err = {0};
  fc_status st = fc_weights_open(p, NULL, &w, &err);
  if (st == FC_OK || (code != FC_OK && st != code) || (needle && !strstr(err.msg, needle)))
    fprintf(stderr, "%s: status %s msg '%s'\n", rel, fc_status_name(st), err.msg);
  assert_int_not_equal(st, FC_OK);
  if (code != FC_OK) assert_int_equal(st, code);
  if (needle) assert_non_null(strstr(err.msg, needle));
  assert_null(w);
  assert_true(strlen(err.msg) > 0 && !strchr(err.msg, '\n'));
  free(p);
}

static void test_bad_files(void **state) {
  (void)state;
  expect_fail("bad/unknown_dtype.safetensors", FC_EUNSUPPORTED, "F8_E4M3");
  expect_fail("bad/size_mismatch.safetensors", FC_EFORMAT, "need");
  expect_fail("bad/out_of_range.safetensors", FC_EFORMAT, "past the end");
  expect_fail("bad/overlap.safetensors", FC_EFORMAT, "overlapping");
  expect_fail("bad/bad_offsets.safetensors", FC_EFORMAT, "data_offsets");
  expect_fail("bad/neg_shape.safetensors", FC_EFORMAT, "shape");
  expect_fail("bad/header_past_eof.safetensors", FC_EFORMAT, "past end of file");
  expect_fail("bad/malformed_json.safetensors", FC_EFORMAT, "malformed JSON");
  expect_fail("bad/truncated.safetensors", FC_EFORMAT, NULL);
  expect_fail("bad/tiny.safetensors", FC_EFORMAT, "truncated");
  expect_fail("bad/index_missing_shard.safetensors.index.json", FC_EIO, "nope.safetensors");
  expect_fail("bad/index_malformed.safetensors.index.json", FC_EFORMAT, "malformed JSON");
  expect_fail("bad/legacy.pt", FC_EUNSUPPORTED, "legacy");
  expect_fail("real_torch/legacy.pt", FC_EUNSUPPORTED, "legacy"); /* _use_new_zipfile_serialization=False */
  expect_fail("bad/unknown_global.bin", FC_EUNSUPPORTED, "system");
  expect_fail("bad/unknown_opcode.bin", FC_EUNSUPPORTED, "opcode 0x8f");
  expect_fail("bad/truncated_pickle.bin", FC_EFORMAT, "truncated pickle");
  expect_fail("bad/view_past_storage.bin", FC_EFORMAT, "reaches element");
  expect_fail("bad/missing_storage.bin", FC_EFORMAT, "missing");
  expect_fail("bad/truncated_zip.bin", FC_EFORMAT, NULL);
  expect_fail("bad/torchscript.pt", FC_EUNSUPPORTED, "TorchScript");
  expect_fail("does-not-exist.safetensors", FC_EIO, "cannot open");
  expect_fail("bad", FC_ENOTFOUND, "no weights found");
}

/* Writes data to a temp file and tries to open it: must not crash or leak; returns the status. */
static fc_status try_bytes(const char *suffix, const unsigned char *data, size_t len) {
  char *tmpl = fc_sprintf("/tmp/fc_test_weights_XXXXXX%s", suffix);
  int fd = mkstemps(tmpl, (int)strlen(suffix));
  assert_true(fd >= 0);
  assert_int_equal(write(fd, data, len), (ssize_t)len);
  close(fd);
  fc_weights *w = NULL;
  fc_error err = {0};
  fc_status st = fc_weights_open(tmpl, NULL, &w, &err);
  if (st != FC_OK) {
    assert_null(w);
    assert_true(strlen(err.msg) > 0);
  }
  fc_weights_close(w);
  unlink(tmpl);
  free(tmpl);
  return st;
}

static void test_truncations_and_flips(void **state) {
  (void)state;
  const char *files[] = {"model.safetensors", "pytorch_model.bin", "model_p4.pth"};
  const char *sfx[] = {".safetensors", ".bin", ".pth"};
  int step = getenv("FC_SANITIZE") && atoi(getenv("FC_SANITIZE")) ? 3 : 1;
  for (size_t f = 0; f < 3; f++) {
    char *p = fx(files[f]);
    char *data = NULL;
    size_t len = 0;
    assert_int_equal(fc_read_file(p, 0, &data, &len, NULL), FC_OK);
    free(p);
    for (size_t l = 0; l < len; l += step)
      assert_int_not_equal(try_bytes(sfx[f], (unsigned char *)data, l), FC_OK);
    /* byte flips anywhere: any status, no crash */
    unsigned char *c = malloc(len);
    srand(42);
    for (int k = 0; k < 600 / step; k++) {
      memcpy(c, data, len);
      for (int j = 0; j < 1 + k % 3; j++)
        c[(size_t)rand() % len] ^= (unsigned char)(1 + rand() % 255);
      (void)try_bytes(sfx[f], c, len);
    }
    free(c);
    free(data);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_safetensors), cmocka_unit_test(test_sharded),
      cmocka_unit_test(test_torch),       cmocka_unit_test(test_torch_compressed),
      cmocka_unit_test(test_real_torch),  cmocka_unit_test(test_normalise),
      cmocka_unit_test(test_bad_files),   cmocka_unit_test(test_truncations_and_flips),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
