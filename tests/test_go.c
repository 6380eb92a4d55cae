/* go: OBO parser (full GO, GO slim, IDPO, committed mini fixture, damaged input) and annotation
 * files (GAF, TSV layouts, evidence filter, NOT rows, malformed lines strict / non-strict). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fantasia/go.h"

static char *data_path(const char *rel) {
  const char *d = getenv("FANTASIA_DATA");
  if (!d) return NULL;
  char *p = fc_path_join(d, rel);
  if (!fc_file_exists(p)) {
    free(p);
    return NULL;
  }
  return p;
}

static char *fixture(const char *rel) {
  const char *d = getenv("FC_FIXTURES");
  return fc_sprintf("%s/go/%s", d ? d : "tests/fixtures", rel);
}

static char *tmp_with(const char *text) {
  char *path = fc_strdup("/tmp/fc_test_go_XXXXXX");
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  size_t n = strlen(text);
  assert_int_equal(write(fd, text, n), (ssize_t)n);
  close(fd);
  return path;
}

static int release_build(void) {
  const char *s = getenv("FC_SANITIZE");
  return !s || strcmp(s, "1") != 0;
}

#define SKIP_NO_DATA(p, name)                                                                                \
  do {                                                                                                       \
    if (!(p)) {                                                                                              \
      fprintf(stderr, "SKIP: %s not found under FANTASIA_DATA\n", name);                                     \
      skip();                                                                                                \
    }                                                                                                        \
  } while (0)

static int has_parent(const int32_t *v, size_t n, int32_t p) {
  for (size_t i = 0; i < n; i++)
    if (v[i] == p) return 1;
  return 0;
}

static void test_full_go(void **state) {
  (void)state;
  char *p = data_path("go.obo.gz");
  SKIP_NO_DATA(p, "go.obo.gz");
  fc_go *go;
  fc_error e;
  fc_error_clear(&e);
  double t0 = fc_now_seconds();
  assert_int_equal(fc_go_load(p, &go, &e), FC_OK);
  double dt = fc_now_seconds() - t0;
  fprintf(stderr, "go.obo.gz: %zu terms loaded in %.3f s\n", fc_go_count(go), dt);
  if (release_build()) assert_true(dt < 1.0);
  assert_int_equal(fc_go_count(go), 47468);
  assert_int_equal(fc_go_n_alt_ids(go), 3450);
  assert_int_equal(fc_go_n_is_a(go), 70058);
  assert_int_equal(fc_go_n_part_of(go), 6997);
  assert_string_equal(fc_go_data_version(go), "releases/2022-07-01");
  /* per namespace, current / obsolete (data README) */
  size_t cnt[3][2] = {{0}};
  size_t roots = 0;
  for (size_t i = 0; i < fc_go_count(go); i++) {
    const fc_go_term *t = fc_go_term_at(go, (int32_t)i);
    int a = t->aspect == 'P' ? 0 : t->aspect == 'F' ? 1 : t->aspect == 'C' ? 2 : -1;
    assert_true(a >= 0);
    cnt[a][t->obsolete ? 1 : 0]++;
    if (!t->obsolete && t->n_is_a == 0 && t->n_part_of == 0) roots++;
    if (t->obsolete) assert_int_equal(t->n_is_a + t->n_part_of, 0);
    assert_int_equal(fc_go_find(go, t->id), (int32_t)i);
  }
  assert_int_equal(cnt[0][0], 28140);
  assert_int_equal(cnt[0][1], 2401);
  assert_int_equal(cnt[1][0], 11238);
  assert_int_equal(cnt[1][1], 1215);
  assert_int_equal(cnt[2][0], 4180);
  assert_int_equal(cnt[2][1], 294);
  assert_int_equal(roots, 3);
  /* spot checks from the data README */
  int32_t apo = fc_go_find(go, "GO:0006915"), pcd = fc_go_find(go, "GO:0012501");
  assert_true(apo >= 0 && pcd >= 0);
  const fc_go_term *t = fc_go_term_at(go, apo);
  assert_string_equal(t->name, "apoptotic process");
  assert_int_equal(t->aspect, 'P');
  assert_string_equal(t->namespace_, "biological_process");
  assert_true(has_parent(t->is_a, t->n_is_a, pcd));
  t = fc_go_term_at(go, fc_go_find(go, "GO:0005739"));
  assert_string_equal(t->name, "mitochondrion");
  assert_int_equal(t->aspect, 'C');
  assert_true(has_parent(t->is_a, t->n_is_a, fc_go_find(go, "GO:0043231")));
  assert_true(has_parent(t->part_of, t->n_part_of, fc_go_find(go, "GO:0005737")));
  /* alt_id: GO:0019952 is an alt_id of GO:0000003 reproduction */
  assert_int_equal(fc_go_find(go, "GO:0019952"), fc_go_find(go, "GO:0000003"));
  assert_int_equal(fc_go_find(go, "GO:9999999"), -1);
  assert_int_equal(fc_go_find(go, ""), -1);
  assert_null(fc_go_term_at(go, -1));
  assert_null(fc_go_term_at(go, 47468));
  fc_go_free(go);
  free(p);
}

static void test_goslim(void **state) {
  (void)state;
  char *p = data_path("go_fixtures/goslim_generic.obo");
  SKIP_NO_DATA(p, "go_fixtures/goslim_generic.obo");
  fc_go *go;
  fc_error e;
  assert_int_equal(fc_go_load(p, &go, &e), FC_OK);
  assert_int_equal(fc_go_count(go), 149);
  assert_int_equal(fc_go_n_alt_ids(go), 58);
  assert_int_equal(fc_go_n_is_a(go), 148);
  assert_int_equal(fc_go_n_part_of(go), 68);
  assert_string_equal(fc_go_data_version(go), "");
  size_t ns[3] = {0}, cross_part_of = 0;
  for (size_t i = 0; i < fc_go_count(go); i++) {
    const fc_go_term *t = fc_go_term_at(go, (int32_t)i);
    ns[t->aspect == 'P' ? 0 : t->aspect == 'F' ? 1 : 2]++;
    for (size_t k = 0; k < t->n_part_of; k++)
      if (fc_go_term_at(go, t->part_of[k])->aspect != t->aspect) cross_part_of++;
  }
  assert_int_equal(ns[0], 71);
  assert_int_equal(ns[1], 43);
  assert_int_equal(ns[2], 35);
  assert_int_equal(cross_part_of, 26); /* 26 MF part_of BP edges are kept here (issue #4 drops them) */
  assert_int_equal(fc_go_find(go, "GO:0019952"), fc_go_find(go, "GO:0000003"));
  fc_go_free(go);
  free(p);

  p = data_path("cafaeval_example/IDPO_disorder_function.obo"); /* non-GO ids */
  if (p) {
    assert_int_equal(fc_go_load(p, &go, &e), FC_OK);
    assert_int_equal(fc_go_count(go), 20);
    assert_true(fc_go_find(go, "IDPO:00501") >= 0);
    assert_int_equal(fc_go_term_at(go, 0)->aspect, 0);
    assert_string_equal(fc_go_term_at(go, 0)->namespace_, "disorder_function");
    fc_go_free(go);
    free(p);
  }
}

static void test_mini_obo(void **state) {
  (void)state;
  const char *names[] = {"mini.obo", "mini.obo.gz"};
  for (int k = 0; k < 2; k++) {
    char *p = fixture(names[k]);
    fc_go *go;
    fc_error e;
    fc_error_clear(&e);
    assert_int_equal(fc_go_load(p, &go, &e), FC_OK);
    assert_int_equal(fc_go_count(go), 7); /* the [Typedef] is skipped */
    assert_string_equal(fc_go_data_version(go), "test/2024-01-01");
    const fc_go_term *c = fc_go_term_at(go, 0);
    assert_string_equal(c->id, "GO:0000010");
    assert_string_equal(c->name, "child defined before its parents");
    assert_int_equal(c->n_is_a, 1);
    assert_int_equal(c->is_a[0], fc_go_find(go, "GO:0000002"));
    assert_int_equal(c->n_part_of, 1); /* regulates ignored */
    assert_int_equal(c->part_of[0], fc_go_find(go, "GO:0000003"));
    const fc_go_term *par = fc_go_term_at(go, fc_go_find(go, "GO:0000002"));
    assert_int_equal(par->is_a[0], fc_go_find(go, "GO:0000001")); /* target given as alt_id */
    assert_int_equal(fc_go_find(go, "GO:0000901"), 1);
    const fc_go_term *f = fc_go_term_at(go, fc_go_find(go, "GO:0000004"));
    assert_string_equal(f->namespace_, "molecular_function"); /* default-namespace */
    assert_int_equal(f->aspect, 'F');
    const fc_go_term *o = fc_go_term_at(go, fc_go_find(go, "GO:0000005"));
    assert_true(o->obsolete);
    assert_string_equal(o->replaced_by, "GO:0000006");
    assert_int_equal(o->aspect, 'C');
    assert_null(fc_go_term_at(go, fc_go_find(go, "GO:0000006"))->replaced_by);
    assert_int_equal(fc_go_n_is_a(go), 3);
    assert_int_equal(fc_go_n_part_of(go), 1);
    assert_int_equal(fc_go_n_alt_ids(go), 1);
    fc_go_free(go);
    free(p);
  }
}

typedef struct {
  const char *text;
  fc_status code;
  const char *msg;
} bad_case;

static void test_damaged_obo(void **state) {
  (void)state;
  const bad_case cases[] = {
      {"format-version: 1.2\n\n[Term]\nname: no id\n\n[Term]\nid: GO:0000001\n", FC_EFORMAT,
       ":3: [Term] stanza without an id"},
      {"[Term]\nid: GO:0000001\nname: a\n[Term]\nid: GO:0000001\n", FC_EDUPLICATE,
       "duplicate term id GO:0000001 (stanzas at lines 1 and 4)"},
      {"[Term]\nid: GO:00", FC_OK, NULL}, /* truncated, but a well-formed id: accepted */
      {"[Term]\nid: GO:0000001\nis_a: GO:00", FC_EFORMAT, ":3: is_a target GO:00 is not defined"},
      {"[Term]\nid: GO:0000001\n[Term]\nid: GO:0000002\nis_a: GO:0000003 ! missing\n", FC_EFORMAT,
       ":5: is_a target GO:0000003 is not defined"},
      {"[Term]\nid: GO:0000001\nrelationship: part_of GO:7 ! missing\n", FC_EFORMAT,
       ":3: part_of target GO:7 is not defined"},
      {"[Term]\nid: 0000001\n", FC_EFORMAT, ":2: bad term id '0000001'"},
      {"[Term]\nid: GO:0000001 extra\n", FC_EFORMAT, ":2: bad term id"},
      {"[Term]\nid: GO:000/0001\n", FC_EFORMAT, ":2: bad term id"},
      {"[Term]\nid: GO:0000000000000000001\n", FC_EFORMAT, ":2: bad term id"},
      {"[Term]\nid:\n", FC_EFORMAT, ":2: bad term id"},
      {"[Term]\nid: GO:0000001\nthis is garbage\n", FC_EFORMAT, ":3: not a 'tag: value' line"},
      {"[Term\nid: GO:0000001\n", FC_EFORMAT, ":1: malformed stanza header"},
      {"[Term]\nid: GO:0000001\nid: GO:0000002\n", FC_EFORMAT, ":3: second id line"},
      {"[Term]\nid: GO:0000001\nalt_id: GO:0000002\n[Term]\nid: GO:0000002\n", FC_EDUPLICATE,
       "alt_id GO:0000002 of the term at line 1 is also the id of the term at line 4"},
      {"[Term]\nid: GO:0000001\nalt_id: GO:0000009\n[Term]\nid: GO:0000002\nalt_id: GO:0000009\n",
       FC_EDUPLICATE, ":6: duplicate alt_id GO:0000009"},
      {"[Term]\nid: GO:0000001\nrelationship: part_of\n", FC_EFORMAT,
       ":3: relationship needs a type and a target"},
      {"[Term]\nid: GO:0000001\nis_a: not-an-id\n", FC_EFORMAT, ":3: bad is_a target id"},
      {"format-version: 1.2\n[Typedef]\nid: part_of\n", FC_EFORMAT, "no [Term] stanzas"},
      {"", FC_EFORMAT, "no [Term] stanzas"},
      {"\x01\x02 binary junk\n", FC_EFORMAT, ":1: not a 'tag: value' line"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *p = tmp_with(cases[i].text);
    fc_go *go = (fc_go *)&go; /* must be reset to NULL on error */
    fc_error e;
    fc_error_clear(&e);
    fc_status rc = fc_go_load(p, &go, &e);
    if (rc != cases[i].code) fail_msg("case %zu: status %d, want %d (%s)", i, rc, cases[i].code, e.msg);
    if (rc != FC_OK) {
      assert_null(go);
      if (!strstr(e.msg, cases[i].msg)) fail_msg("case %zu: '%s' lacks '%s'", i, e.msg, cases[i].msg);
      assert_non_null(strstr(e.msg, p)); /* names the file */
    }
    fc_go_free(go);
    unlink(p);
    free(p);
  }
  fc_go *go;
  fc_error e;
  assert_int_equal(fc_go_load("/nonexistent/go.obo", &go, &e), FC_EIO);
  /* a truncated gzip copy of the real GO */
  char *src = data_path("go.obo.gz");
  if (src) {
    char *buf;
    size_t n;
    assert_int_equal(fc_read_file(src, 0, &buf, &n, &e), FC_OK);
    char *tp = fc_strdup("/tmp/fc_test_go_trunc_XXXXXX");
    int fd = mkstemp(tp);
    assert_int_equal(write(fd, buf, n / 2), (ssize_t)(n / 2));
    close(fd);
    assert_int_equal(fc_go_load(tp, &go, &e), FC_EFORMAT);
    assert_non_null(strstr(e.msg, "gzip"));
    unlink(tp);
    free(tp);
    free(buf);
    free(src);
  }
}

/* ---- annotations ---- */

static void test_gaf_illegal(void **state) {
  (void)state;
  char *p = data_path("go_fixtures/goa_human_illegal.gaf");
  SKIP_NO_DATA(p, "go_fixtures/goa_human_illegal.gaf");
  fc_annot_set s;
  fc_error e;
  fc_annot_format fmt;
  fc_annot_opts o = {NULL, 0, 0};
  assert_int_equal(fc_annot_read_ex(p, &o, &s, &fmt, &e), FC_OK);
  assert_int_equal(fmt, FC_ANNOT_GAF);
  /* 68 lines: line 60 has an empty DB_Object_ID, line 79 an empty taxon "NCBITaxon:" */
  assert_int_equal(s.n, 66);
  assert_int_equal(s.n_bad, 2);
  for (size_t i = 0; i < s.n; i++) {
    assert_true(s.rows[i].line != 60 && s.rows[i].line != 79);
    assert_string_equal(s.rows[i].taxon, "9606");
    assert_true(strchr("PFC", s.rows[i].aspect) != NULL);
    assert_int_equal(strncmp(s.rows[i].go_id, "GO:", 3), 0);
  }
  assert_string_equal(s.rows[0].accession, "A0A024R161");
  assert_string_equal(s.rows[0].symbol, "DNAJC25-GNG10");
  assert_string_equal(s.rows[0].evidence, "IEA");
  fc_annot_set_free(&s);
  o.strict = 1;
  assert_int_equal(fc_annot_read(p, &o, &s, &e), FC_EFORMAT);
  assert_non_null(strstr(e.msg, "goa_human_illegal.gaf:60: empty DB_Object_ID"));
  assert_int_equal(s.n, 0);
  fc_annot_set_free(&s);
  /* the same file without line 60: strict mode stops at the empty taxon of line 79 */
  char *txt;
  size_t n;
  assert_int_equal(fc_read_file(p, 0, &txt, &n, &e), FC_OK);
  char *l = txt;
  for (int k = 1; k < 60; k++)
    l = strchr(l, '\n') + 1;
  char *end = strchr(l, '\n') + 1;
  memset(l, '!', (size_t)(end - l - 1)); /* line 60 becomes a comment: numbering unchanged */
  char *tp = tmp_with(txt);
  assert_int_equal(fc_annot_read(tp, &o, &s, &e), FC_EFORMAT);
  assert_non_null(strstr(e.msg, ":79: bad or empty taxon 'NCBITaxon:' (column 13)"));
  unlink(tp);
  free(tp);
  free(txt);
  free(p);
}

static void test_annot_formats(void **state) {
  (void)state;
  fc_annot_set s;
  fc_error e;
  fc_annot_format fmt;
  char *p = fixture("mini.gaf");
  assert_int_equal(fc_annot_read_ex(p, NULL, &s, &fmt, &e), FC_OK);
  assert_int_equal(fmt, FC_ANNOT_GAF);
  assert_int_equal(s.n, 3);
  assert_int_equal(s.n_skipped_not, 1);
  assert_string_equal(s.rows[1].taxon, "9606"); /* first of a '|' list */
  assert_string_equal(s.rows[2].taxon, "559292");
  assert_int_equal(s.rows[2].aspect, 'C');
  assert_int_equal(s.rows[2].line, 6);
  assert_ptr_equal(s.rows[0].accession, s.rows[1].accession); /* interned */
  fc_annot_set_free(&s);
  /* experimental evidence only */
  size_t ne = 0;
  while (fc_experimental_evidence_codes[ne])
    ne++;
  assert_int_equal(ne, 8);
  fc_annot_opts o = {fc_experimental_evidence_codes, ne, 1};
  assert_int_equal(fc_annot_read(p, &o, &s, &e), FC_OK);
  assert_int_equal(s.n, 2);
  assert_int_equal(s.n_skipped_evidence, 1);
  assert_int_equal(s.n_skipped_not, 1);
  assert_string_equal(s.rows[0].evidence, "IDA");
  assert_string_equal(s.rows[1].evidence, "TAS");
  fc_annot_set_free(&s);
  free(p);

  p = fixture("mini_evidence.tsv");
  assert_int_equal(fc_annot_read_ex(p, &o, &s, &fmt, &e), FC_OK);
  assert_int_equal(fmt, FC_ANNOT_TSV_EVIDENCE);
  assert_int_equal(s.n, 2); /* header skipped, IEA filtered */
  assert_int_equal(s.n_skipped_evidence, 1);
  assert_string_equal(s.rows[0].go_id, "GO:0000004");
  assert_int_equal(s.rows[0].aspect, 0);
  assert_int_equal(s.rows[0].line, 2);
  fc_annot_set_free(&s);
  free(p);

  p = fixture("mini_aspect.tsv.gz");
  assert_int_equal(fc_annot_read_ex(p, &o, &s, &fmt, &e), FC_OK); /* evidence filter does not apply */
  assert_int_equal(fmt, FC_ANNOT_TSV_ASPECT);
  assert_int_equal(s.n, 3);
  assert_int_equal(s.rows[1].aspect, 'P');
  assert_string_equal(s.rows[1].evidence, "");
  fc_annot_set_free(&s);
  free(p);

  p = data_path("swissprot2014/sample1pct/annotations.tsv.gz");
  if (p) {
    double t0 = fc_now_seconds();
    assert_int_equal(fc_annot_read_ex(p, NULL, &s, &fmt, &e), FC_OK);
    fprintf(stderr, "sample1pct annotations: %zu rows in %.3f s\n", s.n, fc_now_seconds() - t0);
    assert_int_equal(fmt, FC_ANNOT_TSV_ASPECT);
    assert_int_equal(s.n, 44985);
    assert_int_equal(s.n_bad, 0);
    fc_annot_set_free(&s);
    free(p);
  }
  p = data_path("cafa3/groundtruth/gt_MFO.tsv");
  if (p) {
    assert_int_equal(fc_annot_read_ex(p, NULL, &s, &fmt, &e), FC_OK);
    assert_int_equal(fmt, FC_ANNOT_TSV_PAIRS);
    assert_int_equal(s.n, 9173);
    fc_annot_set_free(&s);
    free(p);
  }
}

static void test_damaged_annot(void **state) {
  (void)state;
  fc_annot_set s;
  fc_error e;
  fc_annot_opts strict = {NULL, 0, 1}, lax = {NULL, 0, 0};
  const char *gafl = "UniProtKB\tP1\tg\t\tGO:0000001\tR\tIDA\t\tP\tn\t\tprotein\ttaxon:1\t2024\tX\t\t\n";
  struct {
    const char *text;
    const char *msg; /* strict error; lax: one bad line */
  } cases[] = {
      {"!gaf-version: 2.2\nUniProtKB\tP1\tg\n", ":2: GAF line with 3 tab-separated columns"},
      {"!gaf-version: 2.2\nUniProtKB\tP1\tg\t\tGO:1\tR\tIDA\t\tX\tn\t\tprotein\ttaxon:1\t2024\tX\n",
       ":2: bad aspect 'X' (column 9"},
      {"!gaf-version: 2.2\nUniProtKB\tP1\tg\t\tGO:1\tR\t\t\tP\tn\t\tprotein\ttaxon:1\t2024\tX\n",
       ":2: empty evidence code"},
      {"!gaf-version: 2.2\nUniProtKB\tP1\tg\t\tGO1\tR\tIDA\t\tP\tn\t\tprotein\ttaxon:1\t2024\tX\n",
       ":2: bad GO id 'GO1' (column 5)"},
      {"!gaf-version: 2.2\nUniProtKB\tP1\tg\t\tGO:1\tR\tIDA\t\tP\tn\t\tprotein\ttaxon:x1\t2024\tX\n",
       ":2: bad or empty taxon 'taxon:x1'"},
      {"P1\tGO:0000001\tIDA\nP2\tGO:0000002\n", ":2: 2 tab-separated columns, expected 3"},
      {"P1\tGO:0000001\tIDA\nP2\tGO:0000002\t0.5\n", ":2: bad evidence code '0.5'"},
      {"P1\tGO:0000001\tP\nP2\tGO:0000002\tQ\n", ":2: bad aspect 'Q' (column 3"},
      {"P1\tGO:0000001\tP\n\tGO:0000002\tF\n", ":2: empty accession"},
      {"P1\tGO:0000001\tP\nP2\tbad id\tF\n", ":2: bad GO id 'bad id' (column 2)"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *p = tmp_with(cases[i].text);
    fc_error_clear(&e);
    fc_status rc = fc_annot_read(p, &strict, &s, &e);
    if (rc != FC_EFORMAT || !strstr(e.msg, cases[i].msg))
      fail_msg("case %zu: status %d '%s' lacks '%s'", i, rc, e.msg, cases[i].msg);
    assert_int_equal(s.n, 0);
    fc_annot_set_free(&s);
    assert_int_equal(fc_annot_read(p, &lax, &s, &e), FC_OK);
    assert_int_equal(s.n_bad, 1);
    fc_annot_set_free(&s);
    unlink(p);
    free(p);
  }
  const char *fatal[][2] = {
      {"", "no annotation lines"},
      {"!only comments\n", "no annotation lines"},
      {"a\tb\tc\td\te\n", ":1: cannot tell the annotation format: 5"},
      {"T1\tGO:0000001\t0.40\n", ":1: cannot tell the annotation format: column 3 '0.40'"},
      {"justoneword\n", ":1: cannot tell"}};
  for (size_t i = 0; i < 5; i++) {
    char *p = tmp_with(fatal[i][0]);
    assert_int_equal(fc_annot_read(p, &lax, &s, &e), FC_EFORMAT);
    if (!strstr(e.msg, fatal[i][1])) fail_msg("fatal %zu: '%s' lacks '%s'", i, e.msg, fatal[i][1]);
    fc_annot_set_free(&s);
    unlink(p);
    free(p);
  }
  /* a GAF row is fine */
  char *gaf = fc_sprintf("!gaf-version: 2.2\n%s", gafl);
  char *p = tmp_with(gaf);
  assert_int_equal(fc_annot_read(p, &strict, &s, &e), FC_OK);
  assert_int_equal(s.n, 1);
  assert_string_equal(s.rows[0].taxon, "1");
  fc_annot_set_free(&s);
  unlink(p);
  free(p);
  free(gaf);
  assert_int_equal(fc_annot_read("/nonexistent/a.gaf", NULL, &s, &e), FC_EIO);
  fc_annot_set_free(&s);
}

/* ---- GO semantics (src/go/dag.c) ---- */
static const char *DAG_OBO =
    "format-version: 1.2\n\n"
    "[Term]\nid: GO:0000001\nname: bp root\nnamespace: biological_process\n\n"
    "[Term]\nid: GO:0000002\nname: a\nnamespace: biological_process\nalt_id: GO:0000902\n"
    "is_a: GO:0000001\n\n"
    "[Term]\nid: GO:0000003\nname: b\nnamespace: biological_process\nis_a: GO:0000001\n\n"
    "[Term]\nid: GO:0000004\nname: c\nnamespace: biological_process\nis_a: GO:0000002\n"
    "relationship: part_of GO:0000003\nis_a: GO:0000010 ! cross namespace\n\n"
    "[Term]\nid: GO:0000005\nname: old\nnamespace: biological_process\nis_obsolete: true\n"
    "replaced_by: GO:0000004\n\n"
    "[Term]\nid: GO:0000010\nname: mf root\nnamespace: molecular_function\n\n"
    "[Term]\nid: GO:0000011\nname: d\nnamespace: molecular_function\nis_a: GO:0000010\n"
    "relationship: part_of GO:0000010\n";

static void load_dag(fc_go **go, fc_ontology **o, int replace) {
  char *path = tmp_with(DAG_OBO);
  fc_error err = {0};
  assert_int_equal(fc_go_load(path, go, &err), FC_OK);
  unlink(path);
  free(path);
  fc_ontology_opts opts = {replace};
  assert_int_equal(fc_ontology_build(*go, &opts, o, &err), FC_OK);
}

static void test_dag_build(void **state) {
  (void)state;
  fc_go *go;
  fc_ontology *o;
  load_dag(&go, &o, 0);
  assert_int_equal(fc_ontology_n_namespaces(o), 2);
  int bp = fc_ontology_find_namespace(o, "biological_process");
  int mf = fc_ontology_find_namespace(o, "molecular_function");
  assert_int_equal(bp, 0);
  assert_int_equal(mf, 1);
  assert_int_equal(fc_ontology_n_terms(o, bp), 4);
  assert_int_equal(fc_ontology_n_terms(o, mf), 2);
  const fc_ontology_stats *st = fc_ontology_get_stats(o);
  assert_int_equal(st->n_terms, 6);
  assert_int_equal(st->n_obsolete, 1);
  assert_int_equal(st->n_replaceable, 1);
  assert_int_equal(st->n_cross_ns_edges, 1);
  assert_int_equal(st->n_edges, 5); /* the duplicate is_a + part_of edge counts once */
  int ns;
  int32_t t;
  assert_int_equal(fc_ontology_resolve(o, "GO:0000902", &ns, &t), FC_TERM_ALT);
  assert_int_equal(ns, bp);
  assert_string_equal(fc_ontology_term_id(o, ns, t), "GO:0000002");
  assert_int_equal(fc_ontology_resolve(o, "GO:0000005", &ns, &t), FC_TERM_OBSOLETE);
  assert_int_equal(ns, -1);
  assert_int_equal(fc_ontology_resolve(o, "GO:0000099", &ns, &t), FC_TERM_UNKNOWN);
  assert_int_equal(fc_ontology_resolve(o, "GO:0000011", &ns, &t), FC_TERM_PRIMARY);
  size_t np;
  fc_ontology_parents(o, ns, t, &np);
  assert_int_equal(np, 1);
  assert_true(fc_ontology_is_root(o, bp, 0));
  assert_false(fc_ontology_is_root(o, bp, 3));
  /* topological order: children before parents */
  const int32_t *ord = fc_ontology_topo_order(o, bp);
  assert_int_equal(ord[0], 3);
  assert_int_equal(ord[3], 0);
  for (int32_t x = 0; x < 4; x++) {
    const int32_t *ps = fc_ontology_parents(o, bp, x, &np);
    for (size_t i = 0; i < np; i++)
      assert_true(fc_ontology_topo_rank(o, bp, x) < fc_ontology_topo_rank(o, bp, ps[i]));
  }
  fc_ontology_free(o);
  fc_go_free(go);
  load_dag(&go, &o, 1);
  assert_int_equal(fc_ontology_resolve(o, "GO:0000005", &ns, &t), FC_TERM_REPLACED);
  assert_string_equal(fc_ontology_term_id(o, ns, t), "GO:0000004");
  fc_ontology_free(o);
  fc_go_free(go);
}

static double value_of(const fc_term_vec *v, int32_t t) {
  for (size_t i = 0; i < v->n; i++)
    if (v->terms[i] == t) return v->values[i];
  return -1;
}

static void test_dag_propagate(void **state) {
  (void)state;
  fc_go *go;
  fc_ontology *o;
  load_dag(&go, &o, 0);
  fc_go_ws *ws = fc_go_ws_new(o);
  assert_non_null(ws);
  fc_term_vec out = {0};
  fc_error err = {0};
  /* max: 1 <- {2,3}, 2 <- 4, 3 <- 4 (local ids 0..3) */
  int32_t terms[] = {3, 1, 3};
  double vals[] = {0.3, 0.7, 0.2};
  assert_int_equal(fc_ontology_propagate(o, 0, FC_PROP_MAX, terms, vals, 3, ws, &out, &err), FC_OK);
  assert_int_equal(out.n, 4);
  assert_true(value_of(&out, 3) == 0.3);
  assert_true(value_of(&out, 1) == 0.7);
  assert_true(value_of(&out, 2) == 0.3);
  assert_true(value_of(&out, 0) == 0.7);
  assert_int_equal(out.terms[0], 3); /* leaves first */
  assert_int_equal(out.terms[3], 0);
  /* fill: own scores are kept, only zeros are filled from the children */
  int32_t t2[] = {3, 1};
  double v2[] = {0.3, 0.1};
  assert_int_equal(fc_ontology_propagate(o, 0, FC_PROP_FILL, t2, v2, 2, ws, &out, &err), FC_OK);
  assert_true(value_of(&out, 1) == 0.1);
  assert_true(value_of(&out, 2) == 0.3);
  assert_true(value_of(&out, 0) == 0.3);
  /* ancestors and leaves */
  assert_int_equal(fc_ontology_ancestors(o, 0, 3, ws, &out, &err), FC_OK);
  assert_int_equal(out.n, 4);
  assert_int_equal(out.terms[0], 3);
  assert_int_equal(out.terms[3], 0);
  int32_t t3[] = {0, 1, 3, 2};
  assert_int_equal(fc_ontology_leaves(o, 0, t3, NULL, 4, ws, &out, &err), FC_OK);
  assert_int_equal(out.n, 1);
  assert_int_equal(out.terms[0], 3);
  int32_t t4[] = {1, 2};
  assert_int_equal(fc_ontology_leaves(o, 0, t4, NULL, 2, ws, &out, &err), FC_OK);
  assert_int_equal(out.n, 2);
  /* bad input: out-of-range term */
  int32_t bad[] = {99};
  assert_int_equal(fc_ontology_propagate(o, 0, FC_PROP_MAX, bad, NULL, 1, ws, &out, &err), FC_EINVAL);
  fc_term_vec_free(&out);
  fc_go_ws_free(ws);
  fc_ontology_free(o);
  fc_go_free(go);
}

static char *eval_fixture(const char *rel) {
  const char *d = getenv("FC_FIXTURES");
  return fc_sprintf("%s/evaluate/%s", d ? d : "tests/fixtures", rel);
}

/* IA from the CAFA-evaluator example ground truth equals compute_ia.py's output (the oracle file). */
static void test_ia_oracle(void **state) {
  (void)state;
  char *obo = eval_fixture("IDPO_disorder_function.obo"), *gt = eval_fixture("ground_truth.tsv"),
       *oracle = eval_fixture("ia_from_ground_truth.tsv");
  fc_go *go;
  fc_ontology *o;
  fc_error err = {0};
  assert_int_equal(fc_go_load(obo, &go, &err), FC_OK);
  assert_int_equal(fc_ontology_build(go, NULL, &o, &err), FC_OK);
  fc_annot_set ann;
  assert_int_equal(fc_annot_read(gt, NULL, &ann, &err), FC_OK);
  fc_ia_table ia;
  assert_int_equal(fc_ontology_ia_compute(o, &ann, &ia, &err), FC_OK);
  assert_int_equal(ia.n_targets, 168);
  char *out = fc_strdup("/tmp/fc_test_ia_XXXXXX");
  int fd = mkstemp(out);
  close(fd);
  assert_int_equal(fc_ia_table_write(o, &ia, out, &err), FC_OK);
  char *a = NULL, *b = NULL;
  size_t na, nb;
  assert_int_equal(fc_read_file(out, 0, &a, &na, &err), FC_OK);
  assert_int_equal(fc_read_file(oracle, 0, &b, &nb, &err), FC_OK);
  assert_string_equal(a, b); /* same terms, same %.12g text */
  free(a);
  free(b);
  unlink(out);
  free(out);
  fc_ia_table_free(&ia);
  fc_annot_set_free(&ann);
  fc_ontology_free(o);
  fc_go_free(go);
  free(obo);
  free(gt);
  free(oracle);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_full_go),       cmocka_unit_test(test_goslim),
      cmocka_unit_test(test_mini_obo),      cmocka_unit_test(test_damaged_obo),
      cmocka_unit_test(test_gaf_illegal),   cmocka_unit_test(test_annot_formats),
      cmocka_unit_test(test_damaged_annot), cmocka_unit_test(test_dag_build),
      cmocka_unit_test(test_dag_propagate), cmocka_unit_test(test_ia_oracle),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
