/* taxonomy: nodes.dmp loading, descendant tests, expansion (fixture + random tree vs brute force),
 * damaged input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fantasia/taxonomy.h"

static char *fixture(void) {
  const char *d = getenv("FC_FIXTURES");
  return fc_sprintf("%s/taxonomy/nodes.dmp", d ? d : "tests/fixtures");
}

static char *tmp_with(const char *text) {
  char *path = fc_strdup("/tmp/fc_test_tax_XXXXXX");
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  size_t n = strlen(text);
  assert_int_equal(write(fd, text, n), (ssize_t)n);
  close(fd);
  return path;
}

static void test_fixture(void **state) {
  (void)state;
  char *p = fixture();
  fc_taxonomy *t;
  fc_error e;
  fc_error_clear(&e);
  assert_int_equal(fc_taxonomy_load(p, &t, &e), FC_OK);
  assert_int_equal(fc_taxonomy_count(t), 22);
  assert_true(fc_taxonomy_contains(t, 9606));
  assert_false(fc_taxonomy_contains(t, 9605));
  assert_int_equal(fc_taxonomy_parent(t, 83333), 562);
  assert_int_equal(fc_taxonomy_parent(t, 1), 1);
  assert_int_equal(fc_taxonomy_parent(t, 424242), -1);
  assert_true(fc_taxonomy_is_descendant(t, 511145, 562)); /* E. coli K-12 MG1655 under E. coli */
  assert_true(fc_taxonomy_is_descendant(t, 562, 562));    /* self counts */
  assert_true(fc_taxonomy_is_descendant(t, 9606, 1));
  assert_true(fc_taxonomy_is_descendant(t, 559292, 2759));
  assert_false(fc_taxonomy_is_descendant(t, 562, 83333));
  assert_false(fc_taxonomy_is_descendant(t, 9606, 2));
  assert_false(fc_taxonomy_is_descendant(t, 10239, 131567));
  assert_true(fc_taxonomy_is_descendant(t, 424242, 424242)); /* unknown: itself only */
  assert_false(fc_taxonomy_is_descendant(t, 424242, 1));

  int64_t *out;
  size_t n;
  const int64_t q1[] = {562};
  assert_int_equal(fc_taxonomy_expand(t, q1, 1, &out, &n), FC_OK);
  assert_int_equal(n, 3);
  assert_int_equal(out[0], 562);
  assert_int_equal(out[1], 83333);
  assert_int_equal(out[2], 511145);
  free(out);
  const int64_t q2[] = {40674, 4751, 9606, 424242, 40674}; /* overlap, unknown id, repeat */
  assert_int_equal(fc_taxonomy_expand(t, q2, 5, &out, &n), FC_OK);
  const int64_t want[] = {4751, 4932, 9606, 10090, 40674, 424242, 559292};
  assert_int_equal(n, 7);
  for (size_t i = 0; i < n; i++)
    assert_int_equal(out[i], want[i]);
  free(out);
  assert_int_equal(fc_taxonomy_expand(t, q1, 0, &out, &n), FC_OK);
  assert_int_equal(n, 0);
  assert_null(out);
  const int64_t root[] = {1};
  assert_int_equal(fc_taxonomy_expand(t, root, 1, &out, &n), FC_OK);
  assert_int_equal(n, 22);
  free(out);
  fc_taxonomy_free(t);
  free(p);
}

/* random tree: expand() equals brute force over is_descendant() */
static void test_random_tree(void **state) {
  (void)state;
  const char *san = getenv("FC_SANITIZE");
  size_t N = san && strcmp(san, "1") == 0 ? 3000 : 20000;
  srand(5);
  int64_t *ids = malloc(N * sizeof *ids);
  char *path = fc_strdup("/tmp/fc_test_tax_rand_XXXXXX");
  int fd = mkstemp(path);
  FILE *f = fdopen(fd, "w");
  for (size_t i = 0; i < N; i++) {
    ids[i] = (int64_t)(i * 7 + 1 + (i ? 1000 : 0)); /* root id 1, others sparse */
    int64_t par = i == 0 ? 1 : ids[(size_t)rand() % i];
    fprintf(f, "%lld\t|\t%lld\t|\tno rank\t|\t\t|\n", (long long)ids[i], (long long)par);
  }
  fclose(f);
  fc_taxonomy *t;
  fc_error e;
  double t0 = fc_now_seconds();
  assert_int_equal(fc_taxonomy_load(path, &t, &e), FC_OK);
  fprintf(stderr, "random taxonomy: %zu nodes loaded in %.4f s\n", N, fc_now_seconds() - t0);
  for (int rep = 0; rep < 20; rep++) {
    int64_t q[3];
    size_t nq = 1 + (size_t)rand() % 3;
    for (size_t k = 0; k < nq; k++)
      q[k] = ids[(size_t)rand() % (rep < 3 ? 10 : N)];
    int64_t *out;
    size_t n;
    assert_int_equal(fc_taxonomy_expand(t, q, nq, &out, &n), FC_OK);
    size_t m = 0;
    for (size_t i = 0; i < N; i++) {
      int d = 0;
      for (size_t k = 0; k < nq; k++)
        d |= fc_taxonomy_is_descendant(t, ids[i], q[k]);
      if (d) {
        assert_true(m < n);
        assert_int_equal(out[m], ids[i]); /* ids ascend with i */
        m++;
      }
    }
    assert_int_equal(m, n);
    free(out);
  }
  fc_taxonomy_free(t);
  unlink(path);
  free(path);
  free(ids);
}

static void test_damaged(void **state) {
  (void)state;
  struct {
    const char *text;
    fc_status code;
    const char *msg;
  } cases[] = {
      {"1\t|\t1\t|\tno rank\t|\n2\t|\t1\t|\n", FC_OK, NULL},
      {"1\t|\t1\t|\n2\t|\t1\t|\nx\t|\t1\t|\n", FC_EFORMAT, ":3: expected 'tax_id"},
      {"1\t|\t1\t|\n2 | 1 |\n", FC_EFORMAT, ":2: expected"},
      {"1\t|\t1\t|\n2\t|\t\t|\n", FC_EFORMAT, ":2: expected"},
      {"1\t|\t1\t|\n2\t|\t1\n", FC_EFORMAT, ":2: expected"}, /* truncated line */
      {"1\t|\t1\t|\n2\t|\t1x\t|\n", FC_EFORMAT, ":2: expected"},
      {"1\t|\t1\t|\n-2\t|\t1\t|\n", FC_EFORMAT, ":2: expected"},
      {"1\t|\t1\t|\n99999999999999999999\t|\t1\t|\n", FC_EFORMAT, ":2: expected"},
      {"1\t|\t1\t|\n2\t|\t3\t|\n", FC_EFORMAT, ":2: parent 3 of tax_id 2 is not in the file"},
      {"1\t|\t1\t|\n2\t|\t1\t|\n2\t|\t1\t|\n", FC_EDUPLICATE, "tax_id 2 appears at lines 2 and 3"},
      {"1\t|\t1\t|\n2\t|\t3\t|\n3\t|\t4\t|\n4\t|\t2\t|\n", FC_EFORMAT, "parent cycle"},
      {"", FC_EFORMAT, "no taxonomy nodes"},
      {"\n\n", FC_EFORMAT, "no taxonomy nodes"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *p = tmp_with(cases[i].text);
    fc_taxonomy *t = NULL;
    fc_error e;
    fc_error_clear(&e);
    fc_status rc = fc_taxonomy_load(p, &t, &e);
    if (rc != cases[i].code) fail_msg("case %zu: status %d, want %d (%s)", i, rc, cases[i].code, e.msg);
    if (rc != FC_OK) {
      assert_null(t);
      if (!strstr(e.msg, cases[i].msg)) fail_msg("case %zu: '%s' lacks '%s'", i, e.msg, cases[i].msg);
    }
    fc_taxonomy_free(t);
    unlink(p);
    free(p);
  }
  fc_taxonomy *t;
  fc_error e;
  assert_int_equal(fc_taxonomy_load("/nonexistent/nodes.dmp", &t, &e), FC_EIO);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fixture),
      cmocka_unit_test(test_random_tree),
      cmocka_unit_test(test_damaged),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
