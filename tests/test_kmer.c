/* models/kmer: the sequence-only baseline model. Hand-computed vectors, a naive recount on random
 * sequences with non-standard residues, and the threaded batch against the single-sequence call. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fantasia/models.h"

static void test_dim_and_name(void **state) {
  (void)state;
  assert_int_equal(fc_kmer_dim(1), 20);
  assert_int_equal(fc_kmer_dim(2), 400);
  assert_int_equal(fc_kmer_dim(3), 8000);
  assert_int_equal(fc_kmer_dim(5), 3200000);
  assert_int_equal(fc_kmer_dim(0), 0);
  assert_int_equal(fc_kmer_dim(6), 0);
  assert_int_equal(fc_kmer_dim(-1), 0);
  char buf[32];
  fc_kmer_pooling_name(FC_KMER_DEFAULT_K, buf, sizeof buf);
  assert_string_equal(buf, FC_KMER_POOLING_DEFAULT);
  assert_string_equal(buf, "kmer-composition-k3");
}

static void expect_sparse(const float *v, size_t dim, const size_t *idx, const double *val, size_t n) {
  for (size_t j = 0; j < dim; j++) {
    double want = 0.0;
    for (size_t t = 0; t < n; t++)
      if (idx[t] == j) want = val[t];
    if (fabs(v[j] - want) > 1e-7) fprintf(stderr, "index %zu: got %g want %g\n", j, (double)v[j], want);
    assert_true(fabs(v[j] - want) <= 1e-7);
  }
}

static void test_hand_examples(void **state) {
  (void)state;
  float v[400];
  fc_error e;
  /* ACDA, k=2: AC = 0*20+1 = 1, CD = 1*20+2 = 22, DA = 2*20+0 = 40, each 1/sqrt(3) */
  assert_int_equal(fc_kmer_embed("ACDA", 4, 2, v, &e), FC_OK);
  const double r3 = 1.0 / sqrt(3.0);
  expect_sparse(v, 400, (size_t[]){1, 22, 40}, (double[]){r3, r3, r3}, 3);
  /* lowercase counts the same */
  assert_int_equal(fc_kmer_embed("acda", 4, 2, v, &e), FC_OK);
  expect_sparse(v, 400, (size_t[]){1, 22, 40}, (double[]){r3, r3, r3}, 3);
  /* AAAA: AA three times -> unit vector on index 0 */
  assert_int_equal(fc_kmer_embed("AAAA", 4, 2, v, &e), FC_OK);
  expect_sparse(v, 400, (size_t[]){0}, (double[]){1.0}, 1);
  /* ACXDE: CX and XD are skipped; AC = 1, DE = 2*20+3 = 43 */
  assert_int_equal(fc_kmer_embed("ACXDE", 5, 2, v, &e), FC_OK);
  expect_sparse(v, 400, (size_t[]){1, 43}, (double[]){M_SQRT1_2, M_SQRT1_2}, 2);
  /* len limits the sequence (no NUL needed): "ACDA" cut to "AC" */
  assert_int_equal(fc_kmer_embed("ACDA", 2, 2, v, &e), FC_OK);
  expect_sparse(v, 400, (size_t[]){1}, (double[]){1.0}, 1);
  /* k=1, "WWY": W = 18, Y = 19 -> counts 2, 1 -> 2/sqrt5, 1/sqrt5 */
  float v1[20];
  assert_int_equal(fc_kmer_embed("WWY", 3, 1, v1, &e), FC_OK);
  expect_sparse(v1, 20, (size_t[]){18, 19}, (double[]){2 / sqrt(5.0), 1 / sqrt(5.0)}, 2);
  /* k=3 index: "MKV" = 10*400 + 8*20 + 17 = 4177 */
  float *v3 = malloc(8000 * sizeof *v3);
  assert_int_equal(fc_kmer_embed("MKV", 3, 3, v3, &e), FC_OK);
  expect_sparse(v3, 8000, (size_t[]){4177}, (double[]){1.0}, 1);
  /* zero vector: shorter than k, no valid k-mer, empty, NULL with len 0 */
  const char *zeros[] = {"MK", "XBZJUOXX", "", "AXAXAXA*-"};
  for (size_t z = 0; z < 4; z++) {
    v3[0] = 5.0f;
    assert_int_equal(fc_kmer_embed(zeros[z], strlen(zeros[z]), 3, v3, &e), FC_OK);
    for (size_t j = 0; j < 8000; j++)
      assert_true(v3[j] == 0.0f);
  }
  assert_int_equal(fc_kmer_embed(NULL, 0, 3, v3, &e), FC_OK);
  free(v3);
}

static void test_errors(void **state) {
  (void)state;
  float v[20];
  fc_error e;
  assert_int_equal(fc_kmer_embed("ACD", 3, 0, v, &e), FC_EINVAL);
  assert_non_null(strstr(e.msg, "k must be"));
  assert_int_equal(fc_kmer_embed("ACD", 3, 6, v, &e), FC_EINVAL);
  assert_int_equal(fc_kmer_embed(NULL, 3, 1, v, &e), FC_EINVAL);
  assert_int_equal(fc_kmer_embed("ACD", 3, 1, NULL, &e), FC_EINVAL);
  const char *s[] = {"ACD"};
  assert_int_equal(fc_kmer_embed_batch(s, NULL, 1, 9, v, 1, &e), FC_EINVAL);
  const char *sn[] = {NULL};
  size_t l[] = {4};
  assert_int_equal(fc_kmer_embed_batch(sn, l, 1, 1, v, 1, &e), FC_EINVAL);
  assert_int_equal(fc_kmer_embed_batch(s, NULL, 0, 1, NULL, 1, &e), FC_OK);
}

/* Naive recount: every window, every residue checked again, counts in double. */
static void naive(const char *seq, size_t len, int k, double *out) {
  static const char *alpha = "ACDEFGHIKLMNPQRSTVWY";
  size_t dim = fc_kmer_dim(k);
  memset(out, 0, dim * sizeof *out);
  for (size_t i = 0; i + (size_t)k <= len; i++) {
    size_t idx = 0;
    int ok = 1;
    for (int j = 0; j < k; j++) {
      char c = seq[i + (size_t)j];
      if (c >= 'a' && c <= 'z') c = (char)(c - 32);
      const char *p = c ? strchr(alpha, c) : NULL;
      if (!p) {
        ok = 0;
        break;
      }
      idx = idx * 20 + (size_t)(p - alpha);
    }
    if (ok) out[idx] += 1.0;
  }
  double ss = 0;
  for (size_t j = 0; j < dim; j++)
    ss += out[j] * out[j];
  if (ss > 0)
    for (size_t j = 0; j < dim; j++)
      out[j] /= sqrt(ss);
}

static char *random_seq(size_t len, unsigned *seed) {
  static const char *pool = "ACDEFGHIKLMNPQRSTVWYACDEFGHIKLMNPQRSTVWYacdefghikXBZJUO*-";
  size_t np = strlen(pool);
  char *s = malloc(len + 1);
  for (size_t i = 0; i < len; i++)
    s[i] = pool[rand_r(seed) % np];
  s[len] = '\0';
  return s;
}

static void test_against_naive(void **state) {
  (void)state;
  unsigned seed = 12345;
  for (int k = 1; k <= 4; k++) {
    size_t dim = fc_kmer_dim(k);
    float *v = malloc(dim * sizeof *v);
    double *ref = malloc(dim * sizeof *ref);
    for (int t = 0; t < 12; t++) {
      size_t len = (size_t)(rand_r(&seed) % 700);
      char *s = random_seq(len, &seed);
      fc_error e;
      assert_int_equal(fc_kmer_embed(s, len, k, v, &e), FC_OK);
      naive(s, len, k, ref);
      for (size_t j = 0; j < dim; j++)
        assert_true(fabs(v[j] - ref[j]) <= 1e-6 * (1 + fabs(ref[j])));
      free(s);
    }
    free(v);
    free(ref);
  }
}

static void test_batch_matches_single(void **state) {
  (void)state;
  unsigned seed = 99;
  const size_t n = 203, k = 3, dim = 8000;
  char **seqs = malloc(n * sizeof *seqs);
  size_t *lens = malloc(n * sizeof *lens);
  for (size_t i = 0; i < n; i++) {
    lens[i] = (size_t)(rand_r(&seed) % 300);
    seqs[i] = random_seq(lens[i], &seed);
  }
  seqs[7][0] = '\0'; /* NUL inside: lens says how long; strlen path stops there */
  float *one = malloc(dim * sizeof *one), *out = malloc(n * dim * sizeof *out);
  fc_error e;
  const int threads[] = {1, 2, 3, 0};
  for (size_t t = 0; t < 4; t++) {
    for (int use_lens = 0; use_lens < 2; use_lens++) {
      memset(out, 0xff, n * dim * sizeof *out);
      assert_int_equal(fc_kmer_embed_batch((const char *const *)seqs, use_lens ? lens : NULL, n, (int)k, out,
                                           threads[t], &e),
                       FC_OK);
      for (size_t i = 0; i < n; i++) {
        size_t len = use_lens ? lens[i] : strlen(seqs[i]);
        assert_int_equal(fc_kmer_embed(seqs[i], len, (int)k, one, &e), FC_OK);
        assert_memory_equal(out + i * dim, one, dim * sizeof *one);
      }
    }
  }
  for (size_t i = 0; i < n; i++)
    free(seqs[i]);
  free(seqs);
  free(lens);
  free(one);
  free(out);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_dim_and_name),
      cmocka_unit_test(test_hand_examples),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_against_naive),
      cmocka_unit_test(test_batch_matches_single),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
