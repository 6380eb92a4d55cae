/* embfile: reading FANTASIA's embeddings.h5 (fixtures made by tools/make_embfile_fixtures.py with h5py),
 * damaged files, and our writer (round trip, first-write-wins, resume, append, killed run, fp16 bits).
 *
 * `test_embfile --write-sample FILE` writes the sample that tests/e2e/test_embfile_h5py.sh checks
 * with h5py (tools/make_embfile_fixtures.py --verify). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <hdf5.h>

#include "fantasia/embfile.h"

/* Under AddressSanitizer: HDF5 itself asks malloc for absurd sizes when it reads garbage metadata
 * (corrupted-file cases below) and handles the NULL it gets without ASan ("memory allocation failed
 * for on disk image buffer"). Let ASan return NULL too instead of aborting. Unused without ASan. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) {
  return "allocator_may_return_null=1";
}

static char g_tmp[512];

/* No HDF5 identifier (file, group, dataset, type, space, attribute) may stay open after a call. */
static int no_open_h5(void **state) {
  (void)state;
  ssize_t n = H5Fget_obj_count((hid_t)H5F_OBJ_ALL, H5F_OBJ_ALL);
  if (n != 0) fprintf(stderr, "%zd HDF5 objects left open\n", n);
  return n == 0 ? 0 : -1;
}

static char *fixture(const char *name) {
  const char *dir = getenv("FC_FIXTURES");
  return fc_sprintf("%s/embfile/%s", dir ? dir : "tests/fixtures", name);
}

static char *tmpfile_path(const char *name) {
  return fc_sprintf("%s/%s", g_tmp, name);
}

static int setup_tmp(void **state) {
  (void)state;
  snprintf(g_tmp, sizeof g_tmp, "%s/fc_embfile_XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
  return mkdtemp(g_tmp) ? 0 : -1;
}

static int teardown_tmp(void **state) {
  (void)state;
  char *cmd = fc_sprintf("rm -rf '%s'", g_tmp);
  int r = system(cmd);
  free(cmd);
  return r == 0 ? 0 : -1;
}

/* the formula of tools/make_embfile_fixtures.py value() */
static float fx_value(int acc_no, int model_no, int layer, int i) {
  if (i == 0) return (float)(0.1 * (acc_no + 1));
  return (float)(((acc_no + 1) * 1000 + model_no * 100 + layer * 10 + i) / 64.0);
}

static const char *FX_ACCS[] = {"sp_Q9XYZ1_TEST", "sp_A0A001_TEST", "tr_B2C3D4_TEST", "P12345"};
static const char *FX_SEQS[] = {"MKTAYIAKQR", "MSTNPKPQRKTKRNTNRRPQDVKFPGG",
                                "MAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                                "ACDEFGHIKLMNPQRSTVWYX"};

static int fx_acc_no(const char *acc) {
  for (int i = 0; i < 4; i++)
    if (strcmp(acc, FX_ACCS[i]) == 0) return i;
  return -1;
}

static void check_block_rows_sorted(const fc_emb_block *b) {
  for (size_t r = 1; r < b->n; r++)
    assert_true(strcmp(b->accessions[r - 1], b->accessions[r]) < 0);
  assert_true(((uintptr_t)b->data & 63u) == 0);
}

static void test_read_fantasia_f64(void **state) {
  (void)state;
  char *p = fixture("fantasia_f64.h5");
  fc_embset s;
  fc_error e;
  assert_int_equal(fc_embfile_read(p, &s, &e), FC_OK);
  assert_int_equal(s.n_blocks, 3);
  assert_int_equal(s.n_accessions, 4);
  assert_int_equal(s.n_skipped, 0);
  const char *models[] = {"1", "3", "3"};
  const int layers[] = {0, 0, 1}, dims[] = {12, 16, 16}, model_no[] = {1, 0, 0};
  for (size_t b = 0; b < 3; b++) {
    const fc_emb_block *B = &s.blocks[b];
    assert_string_equal(B->model, models[b]);
    assert_int_equal(B->layer, layers[b]);
    assert_int_equal(B->dim, (size_t)dims[b]);
    assert_int_equal(B->n, 4);
    assert_null(B->pooling);
    check_block_rows_sorted(B);
    assert_string_equal(B->accessions[0], "P12345");
    for (size_t r = 0; r < B->n; r++) {
      int a = fx_acc_no(B->accessions[r]);
      assert_true(a >= 0);
      assert_string_equal(B->sequences[r], FX_SEQS[a]);
      for (int i = 0; i < dims[b]; i++)
        assert_true(B->data[r * B->dim + (size_t)i] == fx_value(a, model_no[b], layers[b], i));
    }
  }
  assert_ptr_equal(fc_embset_find(&s, "3", 1), &s.blocks[2]);
  assert_null(fc_embset_find(&s, "3", 2));
  fc_embset_free(&s);
  fc_embset_free(&s); /* idempotent */
  free(p);
}

static void test_read_names_f32_pooling(void **state) {
  (void)state;
  char *p = fixture("names_f32.h5");
  fc_embset s;
  fc_error e;
  assert_int_equal(fc_embfile_read(p, &s, &e), FC_OK);
  assert_int_equal(s.n_blocks, 2);
  assert_string_equal(s.blocks[0].model, "Prot-T5");
  assert_int_equal(s.blocks[0].layer, 3);
  assert_int_equal(s.blocks[0].dim, 8);
  assert_null(s.blocks[0].pooling);
  assert_string_equal(s.blocks[1].model, "kmer");
  assert_int_equal(s.blocks[1].dim, 20);
  assert_non_null(s.blocks[1].pooling);
  assert_string_equal(s.blocks[1].pooling, "kmer-composition-k1");
  for (size_t b = 0; b < 2; b++) {
    const fc_emb_block *B = &s.blocks[b];
    assert_int_equal(B->n, 3);
    check_block_rows_sorted(B);
    for (size_t r = 0; r < B->n; r++) {
      int a = fx_acc_no(B->accessions[r]);
      for (size_t i = 0; i < B->dim; i++)
        assert_true(B->data[r * B->dim + i] == fx_value(a, (int)b, B->layer, (int)i));
    }
  }
  fc_embset_free(&s);
  free(p);
}

static void test_read_f16(void **state) {
  (void)state;
  char *p = fixture("f16.h5");
  fc_embset s;
  fc_error e;
  assert_int_equal(fc_embfile_read(p, &s, &e), FC_OK);
  assert_int_equal(s.n_blocks, 1);
  const fc_emb_block *B = &s.blocks[0];
  assert_string_equal(B->model, "5");
  assert_int_equal(B->n, 3);
  assert_int_equal(B->dim, 10);
  static const double special[] = {65504.0, -65504.0, 6.103515625e-05, 5.960464477539063e-08, -0x1p-20,
                                   0.0,     -0.0,     1.0 / 3.0};
  for (size_t r = 0; r < B->n; r++) {
    int a = fx_acc_no(B->accessions[r]); /* a == 2 is stored big-endian */
    for (int i = 0; i < 10; i++) {
      double v = (a + 1) * 7 / 16.0 + i * 3 / 16.0;
      if (a == 0 && i < 8) v = special[i];
      float want = fc_f16_to_f32(fc_f32_to_f16((float)v));
      float got = B->data[r * 10 + (size_t)i];
      assert_true(got == want);
      assert_int_equal(signbit(got) != 0, signbit(want) != 0);
    }
  }
  fc_embset_free(&s);
  free(p);
}

static void test_read_legacy(void **state) {
  (void)state;
  char *p = fixture("legacy.h5");
  fc_embset s;
  fc_error e;
  assert_int_equal(fc_embfile_read(p, &s, &e), FC_OK);
  assert_int_equal(s.n_blocks, 1);
  assert_int_equal(s.n_accessions, 2); /* the "metadata" group is not an accession */
  assert_int_equal(s.n_skipped, 0);
  const fc_emb_block *B = &s.blocks[0];
  assert_string_equal(B->model, "3");
  assert_int_equal(B->layer, -1);
  assert_int_equal(B->n, 2);
  assert_int_equal(B->dim, 6);
  for (size_t r = 0; r < 2; r++) {
    int a = fx_acc_no(B->accessions[r]); /* a == 1 is big-endian float64 */
    for (int i = 0; i < 6; i++)
      assert_true(B->data[r * 6 + (size_t)i] == fx_value(a, 0, 0, i));
  }
  fc_embset_free(&s);
  free(p);
}

static void test_read_bf16(void **state) {
  (void)state;
  char *p = fixture("bf16.h5");
  fc_embset s;
  fc_error e;
  assert_int_equal(fc_embfile_read(p, &s, &e), FC_OK);
  assert_int_equal(s.n_blocks, 1);
  const fc_emb_block *B = &s.blocks[0];
  assert_string_equal(B->model, "ESM3c");
  assert_int_equal(B->layer, 1);
  assert_int_equal(B->dim, 6);
  for (size_t r = 0; r < B->n; r++) {
    int a = fx_acc_no(B->accessions[r]);
    const float want[6] = {(float)((a + 1) * 1.5), -2.5f, 3.140625f, 0.0f, 0x1p-100f, -0x1p100f};
    assert_memory_equal(B->data + r * 6, want, sizeof want);
  }
  fc_embset_free(&s);
  free(p);
}

static void test_read_odd_structure(void **state) {
  (void)state;
  char *p = fixture("odd_structure.h5");
  fc_embset s;
  fc_error e;
  fc_log_level lv = fc_log_get_level();
  fc_log_set_level(FC_LOG_ERROR); /* warnings about the odd names are expected */
  assert_int_equal(fc_embfile_read(p, &s, &e), FC_OK);
  fc_log_set_level(lv);
  assert_int_equal(s.n_blocks, 1); /* only type_3/layer_0 */
  assert_string_equal(s.blocks[0].model, "3");
  assert_int_equal(s.blocks[0].layer, 0);
  assert_int_equal(s.blocks[0].n, 2);
  assert_int_equal(s.blocks[0].dim, 4);
  assert_int_equal(s.n_accessions, 2);
  assert_int_equal(s.n_skipped, 1);
  assert_string_equal(s.skipped[0], "NOT_A_GROUP");
  fc_embset_free(&s);
  free(p);
}

static void test_read_missing_sequence(void **state) {
  (void)state;
  char *p = fixture("missing_sequence.h5");
  fc_embset s;
  fc_error e;
  fc_log_level lv = fc_log_get_level();
  fc_log_set_level(FC_LOG_ERROR); /* the skip warnings are expected */
  assert_int_equal(fc_embfile_read(p, &s, &e), FC_OK);
  fc_log_set_level(lv);
  assert_int_equal(s.n_skipped, 2);
  assert_string_equal(s.skipped[0], "EMPTY_GROUP");
  assert_string_equal(s.skipped[1], "sp_A0A001_TEST");
  assert_int_equal(s.n_accessions, 2);
  assert_int_equal(s.n_blocks, 1);
  assert_int_equal(s.blocks[0].n, 2);
  assert_string_equal(s.blocks[0].accessions[0], "sp_Q9XYZ1_TEST");
  assert_string_equal(s.blocks[0].accessions[1], "tr_B2C3D4_TEST");
  fc_embset_free(&s);
  free(p);
}

typedef struct {
  const char *file;
  fc_status code;
  const char *needles[4];
} bad_case;

static void test_read_damaged(void **state) {
  (void)state;
  static const bad_case cases[] = {
      {"dim_mismatch.h5", FC_EMISMATCH, {"sp_A0A001_TEST", "sp_Q9XYZ1_TEST", "model 3", "layer 0"}},
      {"nan.h5",
       FC_EFORMAT,
       {"tr_B2C3D4_TEST", "index 2", "NaN", "/accession_tr_B2C3D4_TEST/type_3/layer_0"}},
      {"inf.h5", FC_EFORMAT, {"sp_Q9XYZ1_TEST", "index 1", "Inf", "model 3"}},
      {"not_1d.h5", FC_EFORMAT, {"not 1-D", "accession_sp_A0A001_TEST", NULL, NULL}},
      {"int_embedding.h5", FC_EFORMAT, {"not a floating-point", "accession_sp_A0A001_TEST", NULL, NULL}},
      {"seq_not_string.h5", FC_EFORMAT, {"/accession_sp_Q9XYZ1_TEST/sequence", "not a string", NULL, NULL}},
      {"pooling_mismatch.h5", FC_EMISMATCH, {"'mean'", "'cls'", "sp_A0A001_TEST", "sp_Q9XYZ1_TEST"}},
      {"no_embeddings.h5", FC_EFORMAT, {"no embeddings", NULL, NULL, NULL}},
      {"empty.h5", FC_EFORMAT, {"no accession_", NULL, NULL, NULL}},
      {"truncated.h5", FC_EFORMAT, {"truncated or damaged", NULL, NULL, NULL}},
      {"not_hdf5.h5", FC_EFORMAT, {"not an HDF5 file", NULL, NULL, NULL}},
      {"does_not_exist.h5", FC_EIO, {"cannot open", NULL, NULL, NULL}},
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    char *p = fixture(cases[c].file);
    fc_embset s;
    fc_error e;
    fc_error_clear(&e);
    fc_status st = fc_embfile_read(p, &s, &e);
    if (st != cases[c].code) fprintf(stderr, "%s: got %s: %s\n", cases[c].file, fc_status_name(st), e.msg);
    assert_int_equal(st, cases[c].code);
    assert_non_null(strstr(e.msg, cases[c].file));
    assert_null(strchr(e.msg, '\n'));
    for (int k = 0; k < 4; k++)
      if (cases[c].needles[k] && !strstr(e.msg, cases[c].needles[k])) {
        fprintf(stderr, "%s: message lacks '%s': %s\n", cases[c].file, cases[c].needles[k], e.msg);
        fail();
      }
    assert_int_equal(s.n_blocks, 0);
    assert_null(s.blocks);
    fc_embset_free(&s);
    free(p);
  }
  /* zero-byte file, and a file cut at many points */
  char *z = tmpfile_path("zero.h5");
  FILE *f = fopen(z, "wb");
  fclose(f);
  fc_embset s;
  fc_error e;
  assert_int_equal(fc_embfile_read(z, &s, &e), FC_EFORMAT);
  assert_non_null(strstr(e.msg, "empty file"));
  char *src = fixture("fantasia_f64.h5");
  char *data;
  size_t len;
  assert_int_equal(fc_read_file(src, 0, &data, &len, &e), FC_OK);
  for (size_t cut = 1; cut < len; cut += len / 23 + 1) {
    f = fopen(z, "wb");
    fwrite(data, 1, cut, f);
    fclose(f);
    fc_status st = fc_embfile_read(z, &s, &e);
    assert_true(st == FC_EFORMAT);
    fc_embset_free(&s);
  }
  /* A corrupted byte range in the middle must never crash (any clean status is fine). Run in a child
   * process: on some garbage metadata HDF5 1.10.8 itself leaks and cannot shut down cleanly ("infinite
   * loop closing library", h5dump does the same), which is not ours to check here. */
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    char *zc = tmpfile_path("corrupt.h5");
    for (size_t off = 512; off + 64 < len; off += len / 17) {
      char *copy = malloc(len);
      memcpy(copy, data, len);
      for (size_t i = 0; i < 64; i++)
        copy[off + i] = (char)(0xA5 ^ i);
      f = fopen(zc, "wb");
      fwrite(copy, 1, len, f);
      fclose(f);
      free(copy);
      fc_status st = fc_embfile_read(zc, &s, &e);
      if (st != FC_OK && st != FC_EFORMAT && st != FC_EMISMATCH && st != FC_EUNSUPPORTED) _exit(3);
      fc_embset_free(&s);
    }
    _exit(0);
  }
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  if (!WIFEXITED(status)) fprintf(stderr, "corrupted-file child died with signal %d\n", WTERMSIG(status));
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
  free(data);
  free(src);
  free(z);
}

/* ---------------------------------------------------------------- writer ---- */

static void fill(float *v, size_t dim, int seed) {
  for (size_t i = 0; i < dim; i++)
    v[i] = (float)((int)((i * 37 + (size_t)seed * 11) % 101) - 50) / 7.0f;
}

static void test_writer_roundtrip_dtypes(void **state) {
  (void)state;
  const fc_dtype dts[] = {FC_DTYPE_F32, FC_DTYPE_F64, FC_DTYPE_F16};
  for (int t = 0; t < 3; t++) {
    char *p = tmpfile_path("rt.h5");
    fc_embfile_writer *w;
    fc_error e;
    assert_int_equal(fc_embfile_writer_open(p, dts[t], 0, &w, &e), FC_OK);
    const size_t dim = 1031; /* awkward size */
    float v[1031];
    const char *accs[] = {"Z9", "A1", "m_x", "B2"}; /* put out of name order */
    for (int a = 0; a < 4; a++)
      for (int layer = 0; layer < 2; layer++) {
        fill(v, dim, a * 10 + layer);
        assert_int_equal(fc_embfile_writer_put(w, accs[a], "MKV", "Prot-T5", layer, "mean", v, dim, &e),
                         FC_OK);
      }
    assert_int_equal(fc_embfile_writer_count(w), 8);
    assert_int_equal(fc_embfile_writer_close(w, 1, &e), FC_OK);
    char *part = fc_embfile_partial_path(p);
    assert_false(fc_file_exists(part));
    free(part);
    fc_embset s;
    assert_int_equal(fc_embfile_read(p, &s, &e), FC_OK);
    assert_int_equal(s.n_blocks, 2);
    for (size_t b = 0; b < 2; b++) {
      const fc_emb_block *B = &s.blocks[b];
      assert_string_equal(B->model, "Prot-T5");
      assert_int_equal(B->layer, (int)b);
      assert_string_equal(B->pooling, "mean");
      assert_int_equal(B->n, 4);
      assert_int_equal(B->dim, dim);
      const char *order[] = {"A1", "B2", "Z9", "m_x"};
      const int ano[] = {1, 3, 0, 2};
      for (size_t r = 0; r < 4; r++) {
        assert_string_equal(B->accessions[r], order[r]);
        assert_string_equal(B->sequences[r], "MKV");
        fill(v, dim, ano[r] * 10 + (int)b);
        for (size_t i = 0; i < dim; i++) {
          float want = dts[t] == FC_DTYPE_F16 ? fc_f16_to_f32(fc_f32_to_f16(v[i])) : v[i];
          assert_true(B->data[r * dim + i] == want);
        }
      }
    }
    fc_embset_free(&s);
    unlink(p);
    free(p);
  }
}

static void test_writer_first_write_wins_and_has(void **state) {
  (void)state;
  char *p = tmpfile_path("fww.h5");
  fc_embfile_writer *w;
  fc_error e;
  assert_int_equal(fc_embfile_writer_open(p, FC_DTYPE_F64, 0, &w, &e), FC_OK);
  float a[3] = {1, 2, 3}, b[3] = {4, 5, 6};
  assert_false(fc_embfile_writer_has(w, "P1", "3", 0));
  assert_int_equal(fc_embfile_writer_put(w, "P1", "MKV", "3", 0, NULL, a, 3, &e), FC_OK);
  assert_true(fc_embfile_writer_has(w, "P1", "3", 0));
  assert_false(fc_embfile_writer_has(w, "P1", "3", 1));
  assert_false(fc_embfile_writer_has(w, "P1", "30", 0));
  assert_int_equal(fc_embfile_writer_put(w, "P1", "WWW", "3", 0, NULL, b, 3, &e), FC_OK);
  /* sequence may be omitted once stored; a new layer gets the stored sequence */
  assert_int_equal(fc_embfile_writer_put(w, "P1", NULL, "3", 1, NULL, b, 3, &e), FC_OK);
  /* legacy layout */
  assert_int_equal(fc_embfile_writer_put(w, "P1", NULL, "3", -1, NULL, b, 3, &e), FC_OK);
  assert_true(fc_embfile_writer_has(w, "P1", "3", -1));
  assert_int_equal(fc_embfile_writer_count(w), 3);
  assert_int_equal(fc_embfile_writer_close(w, 1, &e), FC_OK);
  fc_embset s;
  assert_int_equal(fc_embfile_read(p, &s, &e), FC_OK);
  assert_int_equal(s.n_blocks, 3);
  assert_int_equal(s.blocks[0].layer, -1);
  const fc_emb_block *B = fc_embset_find(&s, "3", 0);
  assert_non_null(B);
  assert_true(B->data[0] == 1 && B->data[2] == 3);
  assert_string_equal(B->sequences[0], "MKV");
  assert_string_equal(fc_embset_find(&s, "3", 1)->sequences[0], "MKV");
  fc_embset_free(&s);
  unlink(p);
  free(p);
}

static void test_writer_validation(void **state) {
  (void)state;
  char *p = tmpfile_path("val.h5");
  fc_embfile_writer *w;
  fc_error e;
  assert_int_equal(fc_embfile_writer_open(p, FC_DTYPE_F16, 0, &w, &e), FC_OK);
  float v[4] = {1, 2, 3, 4};
  assert_int_equal(fc_embfile_writer_put(w, "a/b", "M", "3", 0, NULL, v, 4, &e), FC_EINVAL);
  assert_non_null(strstr(e.msg, "a/b"));
  assert_int_equal(fc_embfile_writer_put(w, "", "M", "3", 0, NULL, v, 4, &e), FC_EINVAL);
  assert_int_equal(fc_embfile_writer_put(w, "A", "M", "x/y", 0, NULL, v, 4, &e), FC_EINVAL);
  assert_int_equal(fc_embfile_writer_put(w, "A", "M", "3", -2, NULL, v, 4, &e), FC_EINVAL);
  assert_int_equal(fc_embfile_writer_put(w, "A", "M", "3", 0, NULL, v, 0, &e), FC_EINVAL);
  assert_int_equal(fc_embfile_writer_put(w, "A", NULL, "3", 0, NULL, v, 4, &e), FC_EINVAL);
  assert_non_null(strstr(e.msg, "no sequence"));
  v[2] = NAN;
  assert_int_equal(fc_embfile_writer_put(w, "A", "M", "3", 0, NULL, v, 4, &e), FC_EINVAL);
  assert_non_null(strstr(e.msg, "index 2"));
  v[2] = 70000.0f; /* beyond the half range */
  assert_int_equal(fc_embfile_writer_put(w, "A", "M", "3", 0, NULL, v, 4, &e), FC_EINVAL);
  assert_non_null(strstr(e.msg, "float16"));
  v[2] = 65519.0f; /* rounds to 65504: fine */
  assert_int_equal(fc_embfile_writer_put(w, "A", "M", "3", 0, "mean", v, 4, &e), FC_OK);
  /* same model, other pooling -> mismatch; same pooling -> fine */
  assert_int_equal(fc_embfile_writer_put(w, "A", "M", "3", 1, "cls", v, 4, &e), FC_EMISMATCH);
  assert_non_null(strstr(e.msg, "'mean'"));
  assert_int_equal(fc_embfile_writer_put(w, "A", "M", "3", 1, NULL, v, 4, &e), FC_EMISMATCH);
  assert_int_equal(fc_embfile_writer_put(w, "A", "M", "3", 1, "mean", v, 4, &e), FC_OK);
  /* an empty sequence is stored as an empty string */
  assert_int_equal(fc_embfile_writer_put(w, "E", "", "3", 0, "mean", v, 4, &e), FC_OK);
  assert_int_equal(fc_embfile_writer_close(w, 1, &e), FC_OK);
  fc_embset s;
  assert_int_equal(fc_embfile_read(p, &s, &e), FC_OK);
  assert_true(s.blocks[0].data[2] == 65504.0f);
  assert_string_equal(s.blocks[0].accessions[1], "E");
  assert_string_equal(s.blocks[0].sequences[1], "");
  fc_embset_free(&s);
  assert_int_equal(fc_embfile_writer_open(p, (fc_dtype)7, 0, &w, &e), FC_EINVAL);
  assert_null(w);
  assert_int_equal(fc_embfile_writer_close(NULL, 1, &e), FC_OK);
  unlink(p);
  free(p);
}

static void put_n(fc_embfile_writer *w, int from, int to) {
  float v[8];
  fc_error e;
  for (int i = from; i < to; i++) {
    char acc[32];
    snprintf(acc, sizeof acc, "ACC%05d", i);
    fill(v, 8, i);
    fc_status st = fc_embfile_writer_put(w, acc, "MKV", "kmer", 0, "kmer-composition-k3", v, 8, &e);
    if (st != FC_OK) fprintf(stderr, "%s\n", e.msg);
    assert_int_equal(st, FC_OK);
  }
}

static void check_n(const char *p, int n) {
  fc_embset s;
  fc_error e;
  fc_status st = fc_embfile_read(p, &s, &e);
  if (st != FC_OK) fprintf(stderr, "%s\n", e.msg);
  assert_int_equal(st, FC_OK);
  assert_int_equal(s.n_blocks, 1);
  assert_int_equal(s.blocks[0].n, (size_t)n);
  float v[8];
  for (int i = 0; i < n; i++) {
    char acc[32];
    snprintf(acc, sizeof acc, "ACC%05d", i);
    assert_string_equal(s.blocks[0].accessions[i], acc);
    fill(v, 8, i);
    assert_memory_equal(s.blocks[0].data + (size_t)i * 8, v, sizeof v);
  }
  fc_embset_free(&s);
}

static void test_writer_resume_and_append(void **state) {
  (void)state;
  char *p = tmpfile_path("res.h5"), *part = fc_embfile_partial_path(p);
  fc_embfile_writer *w;
  fc_error e;
  /* an uncommitted run leaves the partial file */
  assert_int_equal(fc_embfile_writer_open(p, FC_DTYPE_F32, 0, &w, &e), FC_OK);
  put_n(w, 0, 10);
  assert_int_equal(fc_embfile_writer_close(w, 0, &e), FC_OK);
  assert_true(fc_file_exists(part));
  assert_false(fc_file_exists(p));
  /* the next run resumes it */
  assert_int_equal(fc_embfile_writer_open(p, FC_DTYPE_F32, 0, &w, &e), FC_OK);
  assert_int_equal(fc_embfile_writer_count(w), 10);
  assert_true(fc_embfile_writer_has(w, "ACC00009", "kmer", 0));
  assert_false(fc_embfile_writer_has(w, "ACC00010", "kmer", 0));
  put_n(w, 5, 20); /* 5..9 already there: kept */
  assert_int_equal(fc_embfile_writer_count(w), 20);
  assert_int_equal(fc_embfile_writer_close(w, 1, &e), FC_OK);
  assert_false(fc_file_exists(part));
  check_n(p, 20);
  /* append: the committed file is reopened through the partial name and extended */
  assert_int_equal(fc_embfile_writer_open(p, FC_DTYPE_F16, 1, &w, &e), FC_OK);
  assert_true(fc_file_exists(part));
  assert_false(fc_file_exists(p));
  assert_int_equal(fc_embfile_writer_count(w), 20);
  assert_int_equal(fc_embfile_writer_close(w, 1, &e), FC_OK);
  check_n(p, 20);
  assert_int_equal(fc_embfile_writer_open(p, FC_DTYPE_F32, 1, &w, &e), FC_OK);
  put_n(w, 20, 25);
  assert_int_equal(fc_embfile_writer_close(w, 1, &e), FC_OK);
  check_n(p, 25);
  /* no append: a fresh file replaces the old one at commit only */
  assert_int_equal(fc_embfile_writer_open(p, FC_DTYPE_F32, 0, &w, &e), FC_OK);
  assert_int_equal(fc_embfile_writer_count(w), 0);
  put_n(w, 0, 3);
  check_n(p, 25); /* old file untouched until commit */
  assert_int_equal(fc_embfile_writer_close(w, 1, &e), FC_OK);
  check_n(p, 3);
  /* both the file and a partial exist: append refuses to guess */
  assert_int_equal(fc_embfile_writer_open(p, FC_DTYPE_F32, 0, &w, &e), FC_OK);
  put_n(w, 0, 2);
  assert_int_equal(fc_embfile_writer_close(w, 0, &e), FC_OK);
  assert_int_equal(fc_embfile_writer_open(p, FC_DTYPE_F32, 1, &w, &e), FC_EINVAL);
  assert_non_null(strstr(e.msg, part));
  /* a damaged partial with a checkpoint copy beside it (a run killed inside HDF5's close): the resume
   * falls back to the copy, which holds the 2 embeddings of the last checkpoint */
  char *ckpt = fc_sprintf("%s.ckpt", part);
  assert_true(fc_file_exists(ckpt));
  FILE *f = fopen(part, "wb");
  fputs("garbage", f);
  fclose(f);
  assert_int_equal(fc_embfile_writer_open(p, FC_DTYPE_F32, 0, &w, &e), FC_OK);
  assert_int_equal(fc_embfile_writer_count(w), 2);
  assert_int_equal(fc_embfile_writer_close(w, 0, &e), FC_OK);
  /* a damaged partial without a copy is reported, not silently replaced */
  unlink(ckpt);
  f = fopen(part, "wb");
  fputs("garbage", f);
  fclose(f);
  assert_int_equal(fc_embfile_writer_open(p, FC_DTYPE_F32, 0, &w, &e), FC_EFORMAT);
  assert_non_null(strstr(e.msg, "delete it"));
  unlink(part);
  free(ckpt);
  /* append to a file that is not HDF5: refused, file left in place */
  char *txt = tmpfile_path("text.h5");
  f = fopen(txt, "wb");
  fputs("not hdf5", f);
  fclose(f);
  assert_int_equal(fc_embfile_writer_open(txt, FC_DTYPE_F32, 1, &w, &e), FC_EFORMAT);
  assert_true(fc_file_exists(txt));
  unlink(txt);
  free(txt);
  unlink(p);
  free(part);
  free(p);
}

/* A run killed after a flush: the next run resumes with everything flushed before the kill. */
static void test_writer_killed_run(void **state) {
  (void)state;
  char *p = tmpfile_path("killed.h5"), *part = fc_embfile_partial_path(p);
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    fc_embfile_writer *w;
    fc_error e;
    if (fc_embfile_writer_open(p, FC_DTYPE_F32, 0, &w, &e) != FC_OK) _exit(2);
    put_n(w, 0, 300);
    if (fc_embfile_writer_flush(w, &e) != FC_OK) _exit(3);
    _exit(0); /* no close: as if killed */
  }
  int status;
  waitpid(pid, &status, 0);
  assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  assert_true(fc_file_exists(part));
  fc_embfile_writer *w;
  fc_error e;
  fc_status st = fc_embfile_writer_open(p, FC_DTYPE_F32, 0, &w, &e);
  if (st != FC_OK) fprintf(stderr, "%s\n", e.msg);
  assert_int_equal(st, FC_OK);
  assert_int_equal(fc_embfile_writer_count(w), 300);
  put_n(w, 290, 310);
  assert_int_equal(fc_embfile_writer_close(w, 1, &e), FC_OK);
  check_n(p, 310);
  unlink(p);
  free(part);
  free(p);
}

/* A partial file held open by another run (HDF5 file lock) is reported as in use, not as damaged. */
static void test_writer_in_use(void **state) {
  (void)state;
  char *p = tmpfile_path("inuse.h5"), *part = fc_embfile_partial_path(p);
  int to_child[2], to_parent[2];
  assert_int_equal(pipe(to_child), 0);
  assert_int_equal(pipe(to_parent), 0);
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    fc_embfile_writer *w;
    fc_error e;
    char c = 'x';
    if (fc_embfile_writer_open(p, FC_DTYPE_F32, 0, &w, &e) != FC_OK) _exit(2);
    put_n(w, 0, 3);
    fc_embfile_writer_flush(w, &e);
    if (write(to_parent[1], &c, 1) != 1) _exit(3);
    if (read(to_child[0], &c, 1) != 1) _exit(4);
    fc_embfile_writer_close(w, 0, &e);
    _exit(0);
  }
  char c;
  assert_int_equal(read(to_parent[0], &c, 1), 1);
  fc_embfile_writer *w = NULL;
  fc_error e;
  fc_status st = fc_embfile_writer_open(p, FC_DTYPE_F32, 0, &w, &e);
  if (st == FC_OK) {
    fprintf(stderr, "HDF5 file locking is disabled here: in-use check skipped\n");
    fc_embfile_writer_close(w, 0, &e);
  } else {
    if (st != FC_EIO) fprintf(stderr, "%s\n", e.msg);
    assert_int_equal(st, FC_EIO);
    assert_non_null(strstr(e.msg, "in use"));
    fc_embset s;
    assert_int_equal(fc_embfile_read(part, &s, &e), FC_EIO);
    assert_non_null(strstr(e.msg, "in use"));
  }
  assert_int_equal(write(to_child[1], "x", 1), 1);
  int status;
  waitpid(pid, &status, 0);
  assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  close(to_child[0]);
  close(to_child[1]);
  close(to_parent[0]);
  close(to_parent[1]);
  unlink(part);
  free(part);
  free(p);
}

/* Reading many accessions stays fast (the bench measures 20,000 x 1024). */
static void test_read_many(void **state) {
  (void)state;
  const char *san = getenv("FC_SANITIZE");
  int n = san && strcmp(san, "1") == 0 ? 500 : 3000;
  char *p = tmpfile_path("many.h5");
  fc_embfile_writer *w;
  fc_error e;
  assert_int_equal(fc_embfile_writer_open(p, FC_DTYPE_F32, 0, &w, &e), FC_OK);
  put_n(w, 0, n);
  assert_int_equal(fc_embfile_writer_close(w, 1, &e), FC_OK);
  double t0 = fc_now_seconds();
  check_n(p, n);
  double dt = fc_now_seconds() - t0;
  fprintf(stderr, "read %d accessions in %.3f s\n", n, dt);
  assert_true(dt < 60.0); /* generous: the machine is shared; catches minutes, not jitter */
  unlink(p);
  free(p);
}

static void test_dtype_names(void **state) {
  (void)state;
  fc_dtype d;
  assert_int_equal(fc_dtype_parse("float16", &d), 0);
  assert_int_equal(d, FC_DTYPE_F16);
  assert_int_equal(fc_dtype_parse("F64", &d), 0);
  assert_int_equal(d, FC_DTYPE_F64);
  assert_int_equal(fc_dtype_parse("f32", &d), 0);
  assert_int_equal(d, FC_DTYPE_F32);
  assert_int_equal(fc_dtype_parse("bf16", &d), -1);
  assert_string_equal(fc_dtype_name(FC_DTYPE_F16), "f16");
  assert_null(fc_dtype_name((fc_dtype)9));
}

/* ---------------------------------------------------------------- h5py sample ---- */
/* Must match SAMPLE_* and sample_value() in tools/make_embfile_fixtures.py. */
static float sample_value(int a, int i) {
  if (i == 0) return a == 0 ? 65504.0f : a == 1 ? 65519.0f : 1e-7f;
  return (float)((i * 37 + a * 11) % 101 - 50) / 7.0f;
}

static int write_sample(const char *path) {
  const char *accs[] = {"S1", "S2_x", "S3"};
  const char *models[] = {"f64", "f32", "f16"};
  const fc_dtype dts[] = {FC_DTYPE_F64, FC_DTYPE_F32, FC_DTYPE_F16};
  float v[37];
  fc_error e;
  unlink(path);
  for (int m = 0; m < 3; m++) {
    fc_embfile_writer *w;
    if (fc_embfile_writer_open(path, dts[m], 1, &w, &e) != FC_OK) goto fail;
    char pool[16];
    snprintf(pool, sizeof pool, "pool-%s", models[m]);
    for (int a = 0; a < 3; a++) {
      char seq[64] = "";
      for (int r = 0; r <= a; r++)
        strcat(seq, "ACDEFGHIK");
      for (int i = 0; i < 37; i++)
        v[i] = sample_value(a, i);
      if (fc_embfile_writer_put(w, accs[a], seq, models[m], 2, pool, v, 37, &e) != FC_OK) goto fail;
      if (m == 1 && fc_embfile_writer_put(w, accs[a], seq, "legacy", -1, NULL, v, 5, &e) != FC_OK) goto fail;
    }
    if (fc_embfile_writer_close(w, 1, &e) != FC_OK) goto fail;
  }
  return 0;
fail:
  fprintf(stderr, "write_sample: %s\n", e.msg);
  return 1;
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "--write-sample") == 0) return write_sample(argv[2]);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_read_fantasia_f64, no_open_h5),
      cmocka_unit_test_teardown(test_read_names_f32_pooling, no_open_h5),
      cmocka_unit_test_teardown(test_read_f16, no_open_h5),
      cmocka_unit_test_teardown(test_read_legacy, no_open_h5),
      cmocka_unit_test_teardown(test_read_bf16, no_open_h5),
      cmocka_unit_test_teardown(test_read_odd_structure, no_open_h5),
      cmocka_unit_test_teardown(test_read_missing_sequence, no_open_h5),
      cmocka_unit_test_teardown(test_read_damaged, no_open_h5),
      cmocka_unit_test_teardown(test_writer_roundtrip_dtypes, no_open_h5),
      cmocka_unit_test_teardown(test_writer_first_write_wins_and_has, no_open_h5),
      cmocka_unit_test_teardown(test_writer_validation, no_open_h5),
      cmocka_unit_test_teardown(test_writer_resume_and_append, no_open_h5),
      cmocka_unit_test_teardown(test_writer_killed_run, no_open_h5),
      cmocka_unit_test_teardown(test_writer_in_use, no_open_h5),
      cmocka_unit_test_teardown(test_read_many, no_open_h5),
      cmocka_unit_test_teardown(test_dtype_names, no_open_h5),
  };
  return cmocka_run_group_tests(tests, setup_tmp, teardown_tmp);
}
