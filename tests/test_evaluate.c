/* evaluate: conformance with CAFA-evaluator 1.2.1 on its own example (every column of every output
 * file equal to the printed precision; unrounded values against full_precision/), a dense reference
 * twin on random predictions (all norms, prop modes, no_orphans, max_terms), and damaged input. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fantasia/evaluate.h"
#include "fantasia/go.h"

static char *fx(const char *rel) {
  const char *d = getenv("FC_FIXTURES");
  return fc_sprintf("%s/evaluate/%s", d ? d : "tests/fixtures", rel);
}

static char *tmp_dir(void) {
  char *p = fc_strdup("/tmp/fc_test_eval_XXXXXX");
  assert_non_null(mkdtemp(p));
  return p;
}

static char *tmp_file(const char *dir, const char *name, const char *text) {
  char *p = fc_path_join(dir, name);
  FILE *f = fopen(p, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
  return p;
}

static void rm_rf(const char *dir) {
  char *cmd = fc_sprintf("rm -rf '%s'", dir);
  assert_int_equal(system(cmd), 0);
  free(cmd);
}

typedef struct {
  fc_go *go;
  fc_ontology *o;
  fc_eval *ev;
} ctx;

static void ctx_open(ctx *c, const char *obo, const char *gt, const char *ia, const fc_eval_opts *opts) {
  fc_error err = {0};
  assert_int_equal(fc_go_load(obo, &c->go, &err), FC_OK);
  assert_int_equal(fc_ontology_build(c->go, NULL, &c->o, &err), FC_OK);
  fc_status st = fc_eval_new(c->o, gt, ia, opts, &c->ev, &err);
  if (st != FC_OK) fprintf(stderr, "%s\n", err.msg);
  assert_int_equal(st, FC_OK);
}

static void ctx_close(ctx *c) {
  fc_eval_free(c->ev);
  fc_ontology_free(c->o);
  fc_go_free(c->go);
}

/* Splits a TSV file into lines; returns the count. */
static size_t read_lines(const char *path, char ***lines_out, char **buf_out) {
  char *buf;
  size_t len;
  fc_error err = {0};
  assert_int_equal(fc_read_file(path, 0, &buf, &len, &err), FC_OK);
  size_t n = 0, cap = 16;
  char **lines = malloc(cap * sizeof *lines);
  for (char *s = buf; *s;) {
    char *e = strchr(s, '\n');
    if (e) *e = 0;
    if (n == cap) lines = realloc(lines, (cap *= 2) * sizeof *lines);
    lines[n++] = s;
    if (!e) break;
    s = e + 1;
  }
  *lines_out = lines;
  *buf_out = buf;
  return n;
}

/* key = the first three fields (filename, ns, tau) */
static int same_key(const char *a, const char *b) {
  int tabs = 0;
  for (size_t i = 0;; i++) {
    if (a[i] != b[i]) return 0;
    if (a[i] == 0) return 1;
    if (a[i] == '\t' && ++tabs == 3) return 1;
  }
}

/* Every expected line has an identical line (same key, same text) in ours, and the counts agree. */
static void assert_same_table(const char *expected, const char *ours) {
  char **el, **ol, *eb, *ob;
  size_t ne = read_lines(expected, &el, &eb), no = read_lines(ours, &ol, &ob);
  assert_int_equal(ne, no);
  assert_string_equal(el[0], ol[0]); /* header */
  for (size_t i = 1; i < ne; i++) {
    size_t j;
    for (j = 1; j < no; j++)
      if (same_key(el[i], ol[j])) break;
    if (j == no) fail_msg("%s: row missing from ours: %s", expected, el[i]);
    if (strcmp(el[i], ol[j]) != 0) fail_msg("%s:\nexpected %s\nours     %s", expected, el[i], ol[j]);
  }
  free(el);
  free(ol);
  free(eb);
  free(ob);
}

static void conformance(const char *exp_dir, int with_ia) {
  char *obo = fx("IDPO_disorder_function.obo"), *gt = fx("ground_truth.tsv"), *preds = fx("predictions"),
       *ia = with_ia ? fx("ia_from_ground_truth.tsv") : NULL;
  ctx c;
  ctx_open(&c, obo, gt, ia, NULL);
  fc_error err = {0};
  fc_eval_input_stats st;
  assert_int_equal(fc_eval_add_path(c.ev, preds, &st, &err), FC_OK);
  assert_int_equal(st.lines, 8385);
  assert_int_equal(st.used, 8385);
  char *out = tmp_dir();
  assert_int_equal(fc_eval_write(c.ev, out, &err), FC_OK);
  const char *files[] = {"evaluation_all.tsv",      "evaluation_best_f.tsv",
                         "evaluation_best_s.tsv",   "evaluation_best_f_micro.tsv",
                         "evaluation_best_f_w.tsv", "evaluation_best_f_micro_w.tsv"};
  for (size_t i = 0; i < (with_ia ? 6u : 4u); i++) {
    char *rel = fc_sprintf("%s/%s", exp_dir, files[i]);
    char *e = fx(rel), *o = fc_path_join(out, files[i]);
    assert_same_table(e, o);
    free(rel);
    free(e);
    free(o);
  }
  if (!with_ia) {
    char *w = fc_path_join(out, "evaluation_best_f_w.tsv");
    assert_false(fc_file_exists(w));
    free(w);
  }
  /* unrounded values against the %.12g tables */
  char *rel = fc_sprintf("%s/full_precision/evaluation_all.tsv", exp_dir);
  char *fp = fx(rel);
  char **el, *eb;
  size_t ne = read_lines(fp, &el, &eb);
  size_t nrows;
  const fc_eval_row *rows = fc_eval_rows(c.ev, &nrows);
  assert_int_equal(ne - 1, nrows);
  size_t checked = 0;
  for (size_t i = 1; i < ne; i++) {
    char *save = NULL, *fn = strtok_r(el[i], "\t", &save), *ns = strtok_r(NULL, "\t", &save);
    double tau = strtod(strtok_r(NULL, "\t", &save), NULL);
    (void)ns;
    const fc_eval_row *r = NULL;
    for (size_t j = 0; j < nrows; j++)
      if (!strcmp(rows[j].filename, fn) && fabs(rows[j].tau - tau) < 1e-9) r = &rows[j];
    assert_non_null(r);
    for (int k = 0; k < FC_EV_NCOLS * (with_ia ? 2 : 1); k++) {
      double v = strtod(strtok_r(NULL, "\t", &save), NULL);
      double ours = k < FC_EV_NCOLS ? r->m[k] : r->w[k - FC_EV_NCOLS];
      if (fabs(v - ours) > 1e-9 * (1 + fabs(v)))
        fail_msg("%s tau %g column %d: %.12g vs %.12g", fn, tau, k, v, ours);
      checked++;
    }
  }
  assert_true(checked > 1000);
  free(el);
  free(eb);
  free(rel);
  free(fp);
  rm_rf(out);
  free(out);
  ctx_close(&c);
  free(obo);
  free(gt);
  free(preds);
  free(ia);
}

static void test_conformance_plain(void **state) {
  (void)state;
  conformance("expected", 0);
}

static void test_conformance_ia(void **state) {
  (void)state;
  conformance("expected_ia", 1);
}

/* Damaged input: counted, reported, never fatal (except an unreadable single file: FC_EIO). */
static void test_bad_input(void **state) {
  (void)state;
  char *dir = tmp_dir();
  char *obo = fx("IDPO_disorder_function.obo");
  char *gt = tmp_file(dir, "gt.tsv",
                      "T_1\tIDPO:00502\nT_1\tIDPO:00502\nT_2\tIDPO:00024\nT_3\tIDPO:99999\nT_4\n\n"
                      "T_5\tIDPO:00506\n");
  ctx c;
  ctx_open(&c, obo, gt, NULL, NULL);
  const fc_eval_input_stats *gs = fc_eval_gt_stats(c.ev);
  assert_int_equal(gs->unknown_term, 1);
  assert_int_equal(gs->duplicates, 1);
  assert_int_equal(fc_eval_gt_targets(c.ev, 0), 3);
  char *pdir = fc_path_join(dir, "preds");
  assert_int_equal(mkdir(pdir, 0700), 0);
  char *p1 = tmp_file(pdir, "a.tsv",
                      "T_1 IDPO:00502 0.9\n"
                      "T_1 IDPO:00502 0.4\n"  /* duplicate: max kept */
                      "T_1 IDPO:99999 0.5\n"  /* unknown term */
                      "T_1 IDPO:00024 abc\n"  /* bad score */
                      "T_1 IDPO:00024 nan\n"  /* bad score */
                      "T_2 IDPO:00024 1.5\n"  /* outside [0,1]: used like cafaeval */
                      "T_2 IDPO:00025 -0.5\n" /* outside [0,1]: <= 0 means absent */
                      "T_9 IDPO:00024 0.5\n"  /* target without ground truth */
                      "T_2 IDPO:00024\n"      /* short */
                      "\n"
                      "T_5\tIDPO:00506\t0.30\textra\n");
  char *p2 = tmp_file(pdir, "empty.tsv", "");
  char *sub = fc_path_join(pdir, "sub");
  assert_int_equal(mkdir(sub, 0700), 0);
  char *p3 = tmp_file(sub, "b.tsv.gz", "this is not gzip but has a .gz name\n");
  char *p4 = tmp_file(sub, "c.gz", "\x1f\x8b\x08\x00garbage");
  char *dangling = fc_path_join(pdir, "dangling.tsv");
  assert_int_equal(symlink("/nonexistent/x", dangling), 0);
  fc_error err = {0};
  fc_eval_input_stats st;
  assert_int_equal(fc_eval_add_path(c.ev, pdir, &st, &err), FC_OK);
  assert_int_equal(st.unknown_term, 2); /* IDPO:99999, and "is" in the text file named .gz */
  assert_int_equal(st.bad_score, 2);
  assert_int_equal(st.out_of_range, 2);
  assert_int_equal(st.other_target, 1);
  assert_int_equal(st.duplicates, 1);
  assert_int_equal(st.short_lines, 1);
  assert_true(st.unreadable >= 2); /* dangling link and the damaged gzip */
  size_t n;
  const fc_eval_row *rows = fc_eval_rows(c.ev, &n);
  assert_true(n > 0);
  for (size_t i = 0; i < n; i++)
    assert_string_equal(rows[i].filename, "a.tsv");
  /* at tau 0.9 T_1 is right (00502 and its ancestors), T_2 predicted (1.5 >= tau) */
  const fc_eval_row *r90 = NULL;
  for (size_t i = 0; i < n; i++)
    if (fabs(rows[i].tau - 0.9) < 1e-9) r90 = &rows[i];
  assert_non_null(r90);
  assert_true(r90->m[FC_EV_N] == 2);
  char *out = fc_path_join(dir, "out");
  assert_int_equal(fc_eval_write(c.ev, out, &err), FC_OK);
  /* a single unreadable file is an error, a missing path too */
  assert_int_equal(fc_eval_add_path(c.ev, dangling, &st, &err), FC_EIO);
  assert_int_equal(fc_eval_add_file(c.ev, p4, "c", &st, &err), FC_EFORMAT);
  /* an empty file alone: no rows, no error */
  size_t before = n;
  assert_int_equal(fc_eval_add_file(c.ev, p2, "empty.tsv", &st, &err), FC_OK);
  fc_eval_rows(c.ev, &n);
  assert_int_equal(n, before);
  ctx_close(&c);
  /* ground truth that does not exist / IA with bad lines */
  fc_go *go;
  fc_ontology *o;
  fc_eval *ev = NULL;
  assert_int_equal(fc_go_load(obo, &go, &err), FC_OK);
  assert_int_equal(fc_ontology_build(go, NULL, &o, &err), FC_OK);
  assert_int_not_equal(fc_eval_new(o, "/nonexistent/gt.tsv", NULL, NULL, &ev, &err), FC_OK);
  assert_null(ev);
  char *ia =
      tmp_file(dir, "ia.tsv", "IDPO:00502 1.5\nIDPO:00024\nIDPO:99999 2\nIDPO:00025 inf\nIDPO:00506 x\n");
  assert_int_equal(fc_eval_new(o, gt, ia, NULL, &ev, &err), FC_OK);
  assert_int_equal(fc_eval_ia_stats(ev)->short_lines, 1);
  assert_int_equal(fc_eval_ia_stats(ev)->unknown_term, 1);
  assert_int_equal(fc_eval_ia_stats(ev)->bad_score, 1);
  fc_eval_free(ev);
  fc_eval_opts bad;
  fc_eval_opts_default(&bad);
  bad.th_step = 1.5;
  assert_int_equal(fc_eval_new(o, gt, NULL, &bad, &ev, &err), FC_EINVAL);
  fc_ontology_free(o);
  fc_go_free(go);
  rm_rf(dir);
  free(dir);
  free(obo);
  free(gt);
  free(pdir);
  free(p1);
  free(p2);
  free(sub);
  free(p3);
  free(p4);
  free(dangling);
  free(out);
  free(ia);
}

/* Options against cafaeval 1.2.1 run with each option (expected_opts/, made by
 * tools/make_evaluate_option_fixtures.sh). */
static void test_options(void **state) {
  (void)state;
  struct {
    const char *name;
    fc_eval_norm norm;
    fc_prop_mode prop;
    double step;
    long max_terms;
    int no_orphans;
  } cases[] = {
      {"norm_pred", FC_NORM_PRED, FC_PROP_MAX, 0.01, -1, 0},
      {"norm_gt", FC_NORM_GT, FC_PROP_MAX, 0.01, -1, 0},
      {"prop_fill", FC_NORM_CAFA, FC_PROP_FILL, 0.01, -1, 0},
      {"max_terms_3", FC_NORM_CAFA, FC_PROP_MAX, 0.01, 3, 0},
      {"no_orphans", FC_NORM_CAFA, FC_PROP_MAX, 0.01, -1, 1},
      {"th_step_0.05", FC_NORM_CAFA, FC_PROP_MAX, 0.05, -1, 0},
  };
  char *obo = fx("IDPO_disorder_function.obo"), *gt = fx("ground_truth.tsv"), *preds = fx("predictions"),
       *ia = fx("ia_from_ground_truth.tsv");
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    fc_eval_opts o;
    fc_eval_opts_default(&o);
    o.norm = cases[i].norm;
    o.prop = cases[i].prop;
    o.th_step = cases[i].step;
    o.max_terms = cases[i].max_terms;
    o.no_orphans = cases[i].no_orphans;
    ctx c;
    ctx_open(&c, obo, gt, ia, &o);
    fc_error err = {0};
    fc_eval_input_stats st;
    assert_int_equal(fc_eval_add_path(c.ev, preds, &st, &err), FC_OK);
    if (cases[i].max_terms >= 0) assert_true(st.over_max_terms > 0);
    char *out = tmp_dir();
    assert_int_equal(fc_eval_write(c.ev, out, &err), FC_OK);
    const char *files[] = {"evaluation_all.tsv", "evaluation_best_f.tsv"};
    for (size_t f = 0; f < 2; f++) {
      char *rel = fc_sprintf("expected_opts/%s/%s", cases[i].name, files[f]);
      char *e = fx(rel), *ours = fc_path_join(out, files[f]);
      assert_same_table(e, ours);
      free(rel);
      free(e);
      free(ours);
    }
    rm_rf(out);
    free(out);
    ctx_close(&c);
  }
  free(obo);
  free(gt);
  free(preds);
  free(ia);
}

/* Partial-knowledge evaluation (--known), by hand: R <- A <- C, R <- B. T1: GT C, known A; T2: GT B,
 * known B (nothing left: not evaluated). Predictions T1 C 0.8, T1 B 0.5, T2 B 0.9. */
static void test_known(void **state) {
  (void)state;
  char *dir = tmp_dir();
  char *obo =
      tmp_file(dir, "o.obo",
               "[Term]\nid: X:R\nnamespace: ns\n\n[Term]\nid: X:A\nnamespace: ns\nis_a: X:R\n\n"
               "[Term]\nid: X:B\nnamespace: ns\nis_a: X:R\n\n[Term]\nid: X:C\nnamespace: ns\nis_a: X:A\n");
  char *gt = tmp_file(dir, "gt.tsv", "T1\tX:C\nT2\tX:B\n");
  char *known = tmp_file(dir, "known.tsv", "T1\tX:A\nT2\tX:B\nT3\tX:B\n");
  char *pred = tmp_file(dir, "p.tsv", "T1\tX:C\t0.8\nT1\tX:B\t0.5\nT2\tX:B\t0.9\n");
  fc_eval_opts o;
  fc_eval_opts_default(&o);
  o.known_path = known;
  ctx c;
  ctx_open(&c, obo, gt, NULL, &o);
  assert_int_equal(fc_eval_active_targets(c.ev, 0), 1);
  assert_int_equal(fc_eval_known_stats(c.ev)->other_target, 1);
  fc_error err = {0};
  assert_int_equal(fc_eval_add_file(c.ev, pred, "p", NULL, &err), FC_OK);
  size_t n;
  const fc_eval_row *rows = fc_eval_rows(c.ev, &n);
  assert_int_equal(n, 80); /* tau 0.01 ... 0.80 */
  for (size_t i = 0; i < n; i++) {
    const double *m = rows[i].m;
    assert_true(m[FC_EV_N] == 1 && m[FC_EV_COV] == 1 && m[FC_EV_TP] == 1 && m[FC_EV_FN] == 0);
    if (rows[i].tau <= 0.5) {
      assert_true(m[FC_EV_FP] == 1 && m[FC_EV_PR] == 0.5 && m[FC_EV_RC] == 1);
    } else {
      assert_true(m[FC_EV_FP] == 0 && m[FC_EV_F] == 1);
    }
  }
  ctx_close(&c);
  /* without --known: both targets, the known terms count */
  ctx_open(&c, obo, gt, NULL, NULL);
  assert_int_equal(fc_eval_active_targets(c.ev, 0), 2);
  assert_int_equal(fc_eval_add_file(c.ev, pred, "p", NULL, &err), FC_OK);
  rows = fc_eval_rows(c.ev, &n);
  assert_true(rows[0].m[FC_EV_N] == 2);
  assert_true(rows[0].m[FC_EV_TP] == 2.5); /* (3 + 2) / 2 */
  ctx_close(&c);
  rm_rf(dir);
  free(dir);
  free(obo);
  free(gt);
  free(known);
  free(pred);
}

/* ---- dense reference twin: numpy-like matrices, plain loops, numpy's pairwise sum over dense arrays ---- */
static double np_pairwise(const double *a, size_t n) {
  if (n < 8) {
    double res = -0.0;
    for (size_t i = 0; i < n; i++)
      res += a[i];
    return res;
  }
  if (n <= 128) {
    double r[8];
    for (int j = 0; j < 8; j++)
      r[j] = a[j];
    size_t i;
    for (i = 8; i < n - n % 8; i += 8)
      for (int j = 0; j < 8; j++)
        r[j] += a[i + j];
    double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; i++)
      res += a[i];
    return res;
  }
  size_t n2 = n / 2;
  n2 -= n2 % 8;
  return np_pairwise(a, n2) + np_pairwise(a + n2, n - n2);
}

static double dsafe(double a, double b) {
  return b > 0 ? a / b : 0.0;
}
static double df(double pr, double rc) {
  double d = pr + rc;
  return d != 0 ? 2 * pr * rc / d : 0.0;
}
static void dnorm(const double raw[6], double ne, fc_eval_norm norm, double m[FC_EV_NCOLS]) {
  m[0] = raw[0];
  for (int c = 1; c < 6; c++)
    m[c] = dsafe(raw[c], (norm == FC_NORM_PRED || (norm == FC_NORM_CAFA && c == 4)) ? raw[0] : ne);
  m[FC_EV_COV] = raw[0] / ne;
  m[FC_EV_MI] = m[FC_EV_FP];
  m[FC_EV_RU] = m[FC_EV_FN];
  m[FC_EV_F] = df(m[FC_EV_PR], m[FC_EV_RC]);
  m[FC_EV_S] = sqrt(m[FC_EV_RU] * m[FC_EV_RU] + m[FC_EV_MI] * m[FC_EV_MI]);
  m[FC_EV_PR_MICRO] = dsafe(m[FC_EV_TP], m[FC_EV_TP] + m[FC_EV_FP]);
  m[FC_EV_RC_MICRO] = dsafe(m[FC_EV_TP], m[FC_EV_TP] + m[FC_EV_FN]);
  m[FC_EV_F_MICRO] = df(m[FC_EV_PR_MICRO], m[FC_EV_RC_MICRO]);
}

static void dense_propagate(const fc_ontology *o, double *row, size_t T, fc_prop_mode mode) {
  const int32_t *ord = fc_ontology_topo_order(o, 0);
  for (size_t i = 0; i < T; i++) {
    int32_t t = ord[i];
    size_t nc;
    const int32_t *ch = fc_ontology_children(o, 0, t, &nc);
    if (!nc) continue;
    double cm = 0;
    for (size_t c = 0; c < nc; c++)
      if (row[ch[c]] > cm) cm = row[ch[c]];
    if (mode == FC_PROP_MAX)
      row[t] = row[t] > cm ? row[t] : cm;
    else if (row[t] == 0)
      row[t] = cm;
  }
}

static unsigned long long rng_state = 88172645463325252ull;
static unsigned rnd(unsigned n) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (unsigned)(rng_state % n);
}

static void dense_twin(const char *obo, int rounds) {
  char *dir = tmp_dir();
  fc_go *go;
  fc_ontology *o;
  fc_error err = {0};
  assert_int_equal(fc_go_load(obo, &go, &err), FC_OK);
  assert_int_equal(fc_ontology_build(go, NULL, &o, &err), FC_OK);
  size_t T = fc_ontology_n_terms(o, 0);
  const size_t sizes[] = {1, 7, 9, 130, 131, 300, 1029};
  for (int round = 0; round < rounds; round++) {
    size_t R = sizes[round % 7];
    fc_eval_opts opts;
    fc_eval_opts_default(&opts);
    opts.norm = (fc_eval_norm)rnd(3);
    opts.prop = (fc_prop_mode)rnd(2);
    opts.no_orphans = rnd(2);
    opts.max_terms = rnd(3) == 0 ? (long)rnd(4) : -1;
    opts.th_step = rnd(2) ? 0.01 : 0.03;
    /* files: GT (every target gets 1-3 terms), IA (random, some 0), predictions (0-6 lines per target) */
    char *gtp = fc_path_join(dir, "gt.tsv"), *iap = fc_path_join(dir, "ia.tsv"),
         *pp = fc_path_join(dir, "p.tsv");
    FILE *fg = fopen(gtp, "w"), *fi = fopen(iap, "w"), *fp = fopen(pp, "w");
    unsigned char *G = calloc(R * T, 1);
    double *P = calloc(R * T, sizeof(double)), *ia = calloc(T, sizeof(double));
    for (size_t t = 0; t < T; t++) {
      ia[t] = rnd(4) ? (double)rnd(1000) / 137.0 : 0;
      fprintf(fi, "%s\t%.17g\n", fc_ontology_term_id(o, 0, (int32_t)t), ia[t]);
    }
    size_t *nz = calloc(R, sizeof *nz);
    for (size_t r = 0; r < R; r++) {
      int ng = 1 + rnd(3);
      for (int q = 0; q < ng; q++) {
        size_t t = rnd((unsigned)T);
        fprintf(fg, "P%zu\t%s\n", r, fc_ontology_term_id(o, 0, (int32_t)t));
        G[r * T + t] = 1;
      }
    }
    /* predictions in a shuffled target order; dense keeps cafaeval's per-line max_terms rule */
    for (int line = 0; line < (int)(R * 3); line++) {
      size_t r = rnd((unsigned)R), t = rnd((unsigned)T);
      double v = rnd(10) == 0 ? 1.0 : (double)rnd(101) / 100.0;
      fprintf(fp, "P%zu\t%s\t%.2f\n", r, fc_ontology_term_id(o, 0, (int32_t)t), v);
      char buf[32];
      snprintf(buf, sizeof buf, "%.2f", v);
      v = strtod(buf, NULL);
      if (opts.max_terms >= 0 && nz[r] > (size_t)opts.max_terms) continue;
      if (v > P[r * T + t]) {
        if (P[r * T + t] == 0) nz[r]++;
        P[r * T + t] = v;
      }
    }
    fclose(fg);
    fclose(fi);
    fclose(fp);
    free(nz);
    fc_eval *ev;
    assert_int_equal(fc_eval_new(o, gtp, iap, &opts, &ev, &err), FC_OK);
    assert_int_equal(fc_eval_add_file(ev, pp, "p", NULL, &err), FC_OK);
    size_t nrows;
    const fc_eval_row *rows = fc_eval_rows(ev, &nrows);
    /* dense: propagate, then per tau per target */
    for (size_t r = 0; r < R; r++) {
      double *gr = malloc(T * sizeof *gr);
      for (size_t t = 0; t < T; t++)
        gr[t] = G[r * T + t];
      dense_propagate(o, gr, T, FC_PROP_MAX);
      for (size_t t = 0; t < T; t++)
        G[r * T + t] = gr[t] > 0;
      free(gr);
      dense_propagate(o, P + r * T, T, opts.prop);
    }
    double step = opts.th_step, delta = (step + step) - step;
    size_t NTAU = (size_t)ceil((1.0 - step) / step), got = 0;
    double *col = malloc(12 * R * sizeof *col), *tmp = malloc(4 * T * sizeof *tmp);
    for (size_t i = 0; i < NTAU; i++) {
      double tau = i == 0 ? step : (i == 1 ? step + step : step + (double)i * delta);
      for (size_t r = 0; r < R; r++) {
        double np = 0, tp = 0, fpc = 0, fn = 0, ng = 0;
        size_t M = 0;
        for (size_t t = 0; t < T; t++) {
          int pr = P[r * T + t] >= tau, g = G[r * T + t];
          if (!(opts.no_orphans && fc_ontology_is_root(o, 0, (int32_t)t))) {
            np += pr;
            tp += pr && g;
            fpc += pr && !g;
            fn += !pr && g;
            ng += g;
          }
          if (ia[t] > 0) {
            tmp[M] = pr ? ia[t] : 0;
            tmp[T + M] = pr && g ? ia[t] : 0;
            tmp[2 * T + M] = pr && !g ? ia[t] : 0;
            tmp[3 * T + M] = !pr && g ? ia[t] : 0;
            M++;
          }
        }
        double wp = np_pairwise(tmp, M), wtp = np_pairwise(tmp + T, M), wfp = np_pairwise(tmp + 2 * T, M),
               wfn = np_pairwise(tmp + 3 * T, M);
        for (size_t m = 0; m < M; m++)
          tmp[m] = tmp[T + m] + tmp[3 * T + m]; /* G weighted */
        double wng = np_pairwise(tmp, M);
        double v[12] = {np > 0, tp,  fpc, fn,  np > 0 ? tp / np : 0,  ng > 0 ? tp / ng : 0,
                        wp > 0, wtp, wfp, wfn, wp > 0 ? wtp / wp : 0, wng > 0 ? wtp / wng : 0};
        for (int c = 0; c < 12; c++)
          col[c * R + r] = v[c];
      }
      double raw[12];
      for (int c = 0; c < 12; c++)
        raw[c] = np_pairwise(col + c * R, R);
      double m[FC_EV_NCOLS], w[FC_EV_NCOLS];
      dnorm(raw, (double)R, opts.norm, m);
      dnorm(raw + 6, (double)R, opts.norm, w);
      if (!(m[FC_EV_COV] > 0)) continue;
      const fc_eval_row *row = NULL;
      for (size_t j = 0; j < nrows; j++)
        if (rows[j].tau == tau) row = &rows[j];
      if (!row) fail_msg("round %d: tau %g missing", round, tau);
      for (int c = 0; c < FC_EV_NCOLS; c++) {
        if (row->m[c] != m[c])
          fail_msg("round %d R %zu tau %g col %d: %.17g vs dense %.17g", round, R, tau, c, row->m[c], m[c]);
        if (row->w[c] != w[c])
          fail_msg("round %d R %zu tau %g col %d_w: %.17g vs dense %.17g", round, R, tau, c, row->w[c], w[c]);
      }
      got++;
    }
    assert_int_equal(got, nrows);
    free(col);
    free(tmp);
    fc_eval_free(ev);
    free(G);
    free(P);
    free(ia);
    free(gtp);
    free(iap);
    free(pp);
  }
  fc_ontology_free(o);
  fc_go_free(go);
  rm_rf(dir);
  free(dir);
}

static void test_dense_twin(void **state) {
  (void)state;
  int rounds = getenv("FC_SANITIZE") ? 4 : 7;
  char *obo = fx("IDPO_disorder_function.obo");
  dense_twin(obo, rounds);
  free(obo);
  /* a random DAG of 600 terms (more than 128 weighted terms: the recursive pairwise split) with part_of */
  char *dir = tmp_dir();
  char *path = fc_path_join(dir, "big.obo");
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  for (int i = 0; i < 600; i++) {
    fprintf(f, "[Term]\nid: Z:%04d\nnamespace: big\n", i);
    if (i > 0) fprintf(f, "is_a: Z:%04d\n", (int)rnd((unsigned)i));
    if (i > 5 && rnd(3) == 0) fprintf(f, "relationship: part_of Z:%04d\n", (int)rnd((unsigned)i));
    fputc('\n', f);
  }
  fclose(f);
  dense_twin(path, getenv("FC_SANITIZE") ? 2 : 5);
  rm_rf(dir);
  free(dir);
  free(path);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_conformance_plain),
      cmocka_unit_test(test_conformance_ia),
      cmocka_unit_test(test_bad_input),
      cmocka_unit_test(test_options),
      cmocka_unit_test(test_known),
      cmocka_unit_test(test_dense_twin),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
