/* align: parasail NW/SW metrics against the Python parasail reference (tools/make_align_fixture.py),
 * the threaded path against the single-pair path, and table filling (dedup, empty sequences). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fantasia/align.h"
#include "fantasia/summarize.h"

typedef struct {
  char *q, *r;
  fc_align_metrics g, l;
} ref_pair;

static size_t load_pairs(ref_pair **out, char **buf) {
  const char *fx = getenv("FC_FIXTURES");
  assert_non_null(fx);
  char *path = fc_sprintf("%s/align/pairs.tsv", fx);
  size_t len;
  assert_int_equal(fc_read_file(path, 0, buf, &len, NULL), FC_OK);
  free(path);
  size_t cap = 128, n = 0;
  ref_pair *p = calloc(cap, sizeof *p);
  char *save = NULL;
  char *line = strtok_r(*buf, "\n", &save); /* header */
  while ((line = strtok_r(NULL, "\n", &save))) {
    char *f[12];
    char *s2 = NULL;
    int k = 0;
    for (char *tok = strtok_r(line, "\t", &s2); tok && k < 12; tok = strtok_r(NULL, "\t", &s2))
      f[k++] = tok;
    assert_int_equal(k, 12);
    assert_true(n < cap);
    ref_pair *x = &p[n++];
    x->q = f[0];
    x->r = f[1];
    double *g[5] = {&x->g.score, &x->g.identity, &x->g.similarity, &x->g.gaps, &x->g.length};
    double *l[5] = {&x->l.score, &x->l.identity, &x->l.similarity, &x->l.gaps, &x->l.length};
    for (int i = 0; i < 5; i++) {
      *g[i] = strtod(f[2 + i], NULL);
      *l[i] = strtod(f[7 + i], NULL);
    }
  }
  *out = p;
  return n;
}

static void assert_metrics_equal(const fc_align_metrics *a, const fc_align_metrics *b, size_t i) {
  if (a->score != b->score || a->identity != b->identity || a->similarity != b->similarity ||
      a->gaps != b->gaps || a->length != b->length) {
    print_error("pair %zu: got score %g id %.17g sim %.17g gaps %.17g len %g, want %g %.17g %.17g %.17g %g\n",
                i, a->score, a->identity, a->similarity, a->gaps, a->length, b->score, b->identity,
                b->similarity, b->gaps, b->length);
    fail();
  }
}

static void test_pairs_match_python_parasail(void **state) {
  (void)state;
  ref_pair *p;
  char *buf;
  size_t n = load_pairs(&p, &buf);
  assert_true(n >= 60);
  for (size_t i = 0; i < n; i++) {
    fc_align_metrics g, l;
    fc_error e;
    assert_int_equal(fc_align_pair(p[i].q, p[i].r, &g, &l, &e), FC_OK);
    assert_metrics_equal(&g, &p[i].g, i);
    assert_metrics_equal(&l, &p[i].l, i);
  }
  free(p);
  free(buf);
}

/* Hand-checked: ACDEFGHIK vs ACDGHIK, one gap of length 2 (cost 10 + 1 = 11); matches 7 of 9 columns,
 * BLOSUM62 A,C,D,G,H,I,K diagonal = 4+9+6+6+8+4+5 = 42, 42 - 11 = 31. */
static void test_hand_checked(void **state) {
  (void)state;
  fc_align_metrics g, l;
  assert_int_equal(fc_align_pair("ACDEFGHIK", "ACDGHIK", &g, &l, NULL), FC_OK);
  assert_true(g.score == 31 && g.length == 9);
  assert_true(fabs(g.identity - 7.0 / 9) < 1e-15 && fabs(g.gaps - 2.0 / 9) < 1e-15);
  assert_true(l.score == 31);
  /* empty sequence: zeros, no crash */
  assert_int_equal(fc_align_pair("", "MKV", &g, &l, NULL), FC_OK);
  assert_true(g.length == 0 && g.identity == 0 && g.score == 0 && l.length == 0);
  assert_int_equal(fc_align_pair("MKV", NULL, &g, NULL, NULL), FC_OK);
}

static void test_many_equals_pairs(void **state) {
  (void)state;
  ref_pair *p;
  char *buf;
  size_t n = load_pairs(&p, &buf);
  const char **q = malloc(n * sizeof *q), **r = malloc(n * sizeof *r);
  for (size_t i = 0; i < n; i++) {
    q[i] = p[i].q;
    r[i] = p[i].r;
  }
  fc_align_metrics *g = calloc(n, sizeof *g), *l = calloc(n, sizeof *l);
  int threads[] = {1, 2, 3, 64};
  for (int t = 0; t < 4; t++) {
    assert_int_equal(fc_align_many(q, r, n, threads[t], g, l, NULL), FC_OK);
    for (size_t i = 0; i < n; i++) {
      assert_metrics_equal(&g[i], &p[i].g, i);
      assert_metrics_equal(&l[i], &p[i].l, i);
    }
  }
  assert_int_equal(fc_align_many(q, r, 0, 2, g, l, NULL), FC_OK);
  free(q);
  free(r);
  free(g);
  free(l);
  free(p);
  free(buf);
}

static void test_fill_table(void **state) {
  (void)state;
  fc_raw_table *t = fc_raw_table_new();
  assert_non_null(t);
  const char *seqs[][2] = {{"ACDEFGHIK", "ACDGHIK"}, {"MKV", "MKV"}, {"ACDEFGHIK", "ACDGHIK"}, {"", "MKV"}};
  for (int i = 0; i < 4; i++) {
    fc_raw_row r;
    memset(&r, 0, sizeof r);
    r.accession = fc_raw_table_intern(t, "Q1");
    r.sequence_query = fc_raw_table_intern(t, seqs[i][0]);
    r.sequence_reference = fc_raw_table_intern(t, seqs[i][1]);
    assert_int_equal(fc_raw_table_append(t, &r, NULL), FC_OK);
  }
  assert_int_equal(fc_raw_table_fill_alignments(t, 2, NULL), FC_OK);
  const fc_raw_row *a = fc_raw_table_row(t, 0), *b = fc_raw_table_row(t, 1), *c = fc_raw_table_row(t, 2),
                   *d = fc_raw_table_row(t, 3);
  assert_true(a->has_alignment && b->has_alignment && c->has_alignment && !d->has_alignment);
  assert_true(a->alignment_score == 31 && c->alignment_score == 31 && a->alignment_length == 9);
  assert_true(b->identity == 1.0 && b->identity_sw == 1.0 && b->alignment_score_sw == 14);
  fc_raw_table_free(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pairs_match_python_parasail),
      cmocka_unit_test(test_hand_checked),
      cmocka_unit_test(test_many_equals_pairs),
      cmocka_unit_test(test_fill_table),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
