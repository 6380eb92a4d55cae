/* summarize: summary.csv exact text (shipped-config weights, union header, per-protein counting),
 * TopGO files, raw TSV round trip, CSV tree names, damaged TSV input, float32 shortest formatting. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fantasia/summarize.h"
#include "summarize/summarize_internal.h"

static char g_dir[256];

static int setup_dir(void **state) {
  (void)state;
  snprintf(g_dir, sizeof g_dir, "test_summarize_out_%ld", (long)getpid());
  char *cmd = fc_sprintf("rm -rf %s", g_dir);
  if (system(cmd) != 0) return -1;
  free(cmd);
  return fc_mkdir_p(g_dir, NULL) == FC_OK ? 0 : -1;
}
static int teardown_dir(void **state) {
  (void)state;
  char *cmd = fc_sprintf("rm -rf %s", g_dir);
  int rc = system(cmd);
  free(cmd);
  return rc == 0 ? 0 : -1;
}

static char *slurp(const char *path) {
  char *d = NULL;
  size_t n;
  if (fc_read_file(path, 0, &d, &n, NULL) != FC_OK) return NULL;
  return d;
}
static void assert_file_eq(const char *path, const char *want) {
  char *got = slurp(path);
  if (!got) {
    print_error("missing file %s\n", path);
    fail();
  }
  if (strcmp(got, want) != 0) {
    print_error("%s differs.\n--- got ---\n%s\n--- want ---\n%s\n", path, got, want);
    free(got);
    fail();
  }
  free(got);
}

static void add(fc_raw_table *t, const char *acc, const char *model, int layer, const char *go,
                const char *cat, const char *prot, int ref, double dist, int aln, double id, double idsw,
                const char *ev) {
  fc_raw_row r;
  memset(&r, 0, sizeof r);
  r.accession = fc_raw_table_intern(t, acc);
  r.model_name = fc_raw_table_intern(t, model);
  r.embedding_type_id = strcmp(model, "ESM") == 0 ? 1 : 3;
  r.layer_index = layer;
  r.distance = dist;
  r.reliability_index = fc_reliability_index("cosine", dist);
  r.go_id = fc_raw_table_intern(t, go);
  r.category = fc_raw_table_intern(t, cat);
  r.evidence_code = fc_raw_table_intern(t, ev);
  r.go_description = fc_raw_table_intern(t, strcmp(go, "GO:A") == 0 ? "binds \"X\", and\tY\\" : "desc");
  r.protein_id = fc_raw_table_intern(t, prot);
  r.organism = fc_raw_table_intern(t, "Homo sapiens");
  r.gene_name = fc_raw_table_intern(t, "");
  r.query_idx = 0;
  r.ref_idx = ref;
  r.query_len = 10;
  r.ref_len = 12;
  r.sequence_query = fc_raw_table_intern(t, "MKVLA");
  r.sequence_reference = fc_raw_table_intern(t, "MKVLAW");
  r.has_alignment = (uint8_t)aln;
  if (aln) {
    r.identity = id;
    r.similarity = id;
    r.alignment_score = 412;
    r.gaps_percentage = 0.125;
    r.alignment_length = 8;
    r.identity_sw = idsw;
    r.similarity_sw = idsw;
    r.alignment_score_sw = 413;
    r.gaps_percentage_sw = 0;
    r.alignment_length_sw = 7;
  }
  r.distance_metric = fc_raw_table_intern(t, "cosine");
  r.distance_threshold = fc_raw_table_intern(t, strcmp(model, "ESM") == 0 ? "" : "0.5");
  assert_int_equal(fc_raw_table_append(t, &r, NULL), FC_OK);
}

/* Two models, a legacy layer, Q2 and A0 lacking Prot-T5 (header union), proteins sharing a hit,
 * a duplicate (hit, protein, GO) row with another evidence code, rows without alignment, no category. */
static fc_raw_table *sample(void) {
  fc_raw_table *t = fc_raw_table_new();
  assert_non_null(t);
  add(t, "Q1", "Prot-T5", 0, "GO:A", "P", "P1", 1, 0.1, 1, 0.8, 0.9, "IEA");
  add(t, "Q1", "Prot-T5", 0, "GO:A", "P", "P2", 1, 0.1, 1, 0.8, 0.9, "IEA");
  add(t, "Q1", "Prot-T5", 0, "GO:A", "P", "P1", 1, 0.1, 1, 0.8, 0.9, "EXP");
  add(t, "Q1", "Prot-T5", 0, "GO:A", "P", "P3", 2, 0.3, 1, 0.5, 0.6, "IEA");
  add(t, "Q1", "Prot-T5", 0, "GO:B", "F", "P3", 2, 0.3, 1, 0.5, 0.6, "IEA");
  add(t, "Q1", "ESM", 0, "GO:A", "P", "P1", 5, 0.2, 1, 0.8, 0.9, "IEA");
  add(t, "Q1", "ESM", -1, "GO:A", "P", "P1", 5, 0.25, 0, 0, 0, "IEA");
  add(t, "Q2", "ESM", 0, "GO:C", "", "P4", 7, 0.05, 1, 1.0, 1.0, "IEA");
  add(t, "A0", "ESM", 0, "GO:Z", "P", "P5", 9, 0.5, 0, 0, 0, "IEA");
  return t;
}

static char *combo_header(const char *suffix) {
  const char *cols[] = {"max_ri",    "w_max_ri", "min_id_g",   "max_id_g",   "w_max_id_g",
                        "mean_id_g", "min_id_l", "max_id_l",   "w_max_id_l", "mean_id_l",
                        "count",     "w_count",  "final_score"};
  char *s = fc_strdup("");
  for (int i = 0; i < 13; i++) {
    char *n = fc_sprintf("%s,%s_%s", s, cols[i], suffix);
    free(s);
    s = n;
  }
  return s;
}

#define E13 ",,,,,,,,,,,,,"

static void test_summary_shipped_config(void **state) {
  (void)state;
  fc_raw_table *t = sample();
  fc_summary_opts o;
  assert_int_equal(fc_summary_opts_fantasia_default(&o), FC_OK);
  assert_int_equal(o.count_mode, FC_COUNT_HITS); /* the default */
  o.count_mode = FC_COUNT_HIT_PROTEIN;
  o.k = 2;
  char *path = fc_sprintf("%s/summary.csv", g_dir);
  fc_error e;
  assert_int_equal(fc_summary_write(t, &o, path, &e), FC_OK);
  char *h1 = combo_header("ESM_Llegacy"), *h2 = combo_header("ESM_L0"), *h3 = combo_header("Prot-T5_L0");
  /* final = r4(0.4 max_ri) + r4(0.2 max_id_g) + r4(0.2 max_id_l) + r4(0.2 count), count = units / k */
  char *want = fc_sprintf(
      "accession,go_id,term_count%s%s%s,proteins\n"
      "A0,GO:Z,1" E13 ",0.5,0.2,,,0.0,,,,0.0,,0.5,0.1,0.3" E13 ",P5\n"
      "Q1,GO:A,5,0.75,0.3,,,0.0,,,,0.0,,0.5,0.1,0.4,0.8,0.32,0.8,0.8,0.16,0.8,0.9,0.9,0.18,0.9,0.5,0.1,0.76,"
      "0.9,0.36,0.5,0.8,0.16,0.7,0.6,0.9,0.18,0.8,1.5,0.3,1.0,P1|P2|P3\n"
      "Q1,GO:B,1" E13 E13 ",0.7,0.28,0.5,0.5,0.1,0.5,0.6,0.6,0.12,0.6,0.5,0.1,0.6,P3\n"
      "Q2,GO:C,1" E13 ",0.95,0.38,1.0,1.0,0.2,1.0,1.0,1.0,0.2,1.0,0.5,0.1,0.88" E13 ",P4\n",
      h1, h2, h3);
  assert_file_eq(path, want);
  free(want);

  /* default, distinct hits: Q1/GO:A is carried by Prot-T5 refs 1 and 2, ESM ref 5 and the legacy
   * layer: term_count 4; Prot-T5 count 2/2, mean_id_g (0.8+0.5)/2, mean_id_l (0.9+0.6)/2 */
  o.count_mode = FC_COUNT_HITS;
  assert_int_equal(fc_summary_write(t, &o, path, &e), FC_OK);
  char *hits = slurp(path);
  if (!strstr(hits, "\nQ1,GO:A,4,")) print_error("%s", hits);
  assert_non_null(strstr(hits, "\nQ1,GO:A,4,"));
  assert_non_null(strstr(hits, ",0.9,0.36,0.5,0.8,0.16,0.65,0.6,0.9,0.18,0.75,1.0,0.2,0.9,P1|P2|P3\n"));
  free(hits);

  /* FANTASIA's row counting: Q1/GO:A has 6 rows; Prot-T5 count 4/2, mean_id_g (3*0.8+0.5)/4 */
  o.count_mode = FC_COUNT_ROWS;
  assert_int_equal(fc_summary_write(t, &o, path, &e), FC_OK);
  char *got = slurp(path);
  if (!strstr(got, "\nQ1,GO:A,6,")) print_error("%s", got);
  assert_non_null(strstr(got, "\nQ1,GO:A,6,"));
  assert_non_null(strstr(got, ",0.9,0.36,0.5,0.8,0.16,0.725,0.6,0.9,0.18,0.825,2.0,0.4,1.1,P1|P2|P3\n"));
  free(got);
  free(h1);
  free(h2);
  free(h3);
  free(path);
  fc_summary_opts_free(&o);
  fc_raw_table_free(t);
}

/* Weight resolution order, "avg", an ignored fun, W <= 0, a metric that does not exist. */
static void test_summary_weights(void **state) {
  (void)state;
  fc_raw_table *t = fc_raw_table_new();
  add(t, "Q1", "M", 3, "GO:1", "P", "X", 1, 0.25, 1, 0.5, 0.5, "IEA");
  add(t, "Q1", "M", 3, "GO:1", "P", "Y", 2, 0.75, 1, 0.5, 0.5, "IEA");
  fc_summary_opts o;
  fc_summary_opts_init(&o);
  const char *funs[] = {"min", "avg", "median", "max"};
  assert_int_equal(fc_summary_opts_add_metric(&o, "distance", funs, 4), FC_OK);
  assert_int_equal(fc_summary_opts_add_alias(&o, "distance", "d"), FC_OK);
  /* max_d explicit 3 wins over the metric-wide number 1 (min_d, mean_d get 1); W = 5 */
  assert_int_equal(fc_summary_opts_add_weight(&o, "distance", 1), FC_OK);
  assert_int_equal(fc_summary_opts_add_weight(&o, "max_d", 3), FC_OK);
  char *path = fc_sprintf("%s/s2.csv", g_dir);
  assert_int_equal(fc_summary_write(t, &o, path, NULL), FC_OK);
  /* min 0.25 -> 0.25/5 = 0.05; mean 0.5 -> 0.1; max 0.75*3/5 = 0.45; final 0.6 */
  assert_file_eq(path,
                 "accession,go_id,term_count,min_d_M_L3,w_min_d_M_L3,mean_d_M_L3,w_mean_d_M_L3,max_d_M_L3,"
                 "w_max_d_M_L3,final_score_M_L3,proteins\n"
                 "Q1,GO:1,2,0.25,0.05,0.5,0.1,0.75,0.45,0.6,X|Y\n");
  /* per-fun weights under the alias key; count weighted; zero total -> no w_ columns, no final_score */
  fc_summary_opts_free(&o);
  const char *mx[] = {"max"};
  assert_int_equal(fc_summary_opts_add_metric(&o, "reliability_index", mx, 1), FC_OK);
  assert_int_equal(fc_summary_opts_add_alias(&o, "reliability_index", "ri"), FC_OK);
  assert_int_equal(fc_summary_opts_add_weight_fun(&o, "ri", "MAX", 0), FC_OK);
  o.include_counts = 1;
  assert_int_equal(fc_summary_write(t, &o, path, NULL), FC_OK);
  assert_file_eq(path,
                 "accession,go_id,term_count,max_ri_M_L3,count_M_L3,proteins\nQ1,GO:1,2,0.75,2.0,X|Y\n");
  fc_summary_opts_free(&o);
  assert_int_equal(fc_summary_opts_add_metric(&o, "no_such_column", mx, 1), FC_OK);
  fc_error e;
  assert_int_equal(fc_summary_write(t, &o, path, &e), FC_EINVAL);
  assert_non_null(strstr(e.msg, "no_such_column"));
  fc_summary_opts_free(&o);
  free(path);
  fc_raw_table_free(t);
}

static void test_topgo(void **state) {
  (void)state;
  fc_raw_table *t = sample();
  char *dir = fc_sprintf("%s/topgo", g_dir);
  for (int pass = 0; pass < 2; pass++) { /* second pass must overwrite, not append */
    assert_int_equal(fc_topgo_write(t, dir, NULL), FC_OK);
    char *p;
#define CHECK(rel, want)                                                                                     \
  p = fc_sprintf("%s/%s", dir, rel);                                                                         \
  assert_file_eq(p, want);                                                                                   \
  free(p)
    CHECK("Prot-T5/layer_0/P.topgo", "Q1\tGO:A\t0.9\n");
    CHECK("Prot-T5/layer_0/F.topgo", "Q1\tGO:B\t0.7\n");
    CHECK("ESM/layer_0/P.topgo", "A0\tGO:Z\t0.5\nQ1\tGO:A\t0.8\n");
    CHECK("ESM/layer_0/unknown.topgo", "Q2\tGO:C\t0.95\n");
    CHECK("ESM/legacy/P.topgo", "Q1\tGO:A\t0.75\n");
    CHECK("ensemble/P.topgo", "A0\tGO:Z\t0.5\nQ1\tGO:A\t0.9\n");
    CHECK("ensemble/F.topgo", "Q1\tGO:B\t0.7\n");
    CHECK("ensemble/unknown.topgo", "Q2\tGO:C\t0.95\n");
#undef CHECK
  }
  free(dir);
  fc_raw_table_free(t);
}

static void test_tsv_roundtrip(void **state) {
  (void)state;
  fc_raw_table *t = sample();
  fc_raw_write_opts wo;
  fc_raw_write_opts_default(&wo);
  char *p1 = fc_sprintf("%s/raw.tsv", g_dir), *p2 = fc_sprintf("%s/raw2.tsv", g_dir);
  assert_int_equal(fc_raw_write_tsv(t, p1, &wo, NULL), FC_OK);
  fc_raw_table *u = fc_raw_table_new();
  fc_error e;
  assert_int_equal(fc_raw_read_tsv(p1, u, &e), FC_OK);
  assert_int_equal(fc_raw_table_size(u), fc_raw_table_size(t));
  assert_int_equal(fc_raw_write_tsv(u, p2, &wo, NULL), FC_OK);
  char *a = slurp(p1), *b = slurp(p2);
  assert_string_equal(a, b);
  /* spot checks: header, %.4f floats, empty alignment values, legacy layer, escaping */
  assert_true(strncmp(a, "accession\tmodel_name\tembedding_type_id\tlayer_index\tdistance\tgo_id\t", 63) ==
              0);
  assert_non_null(strstr(a, "\tsequence_query\tsequence_reference\treliability_index\t"));
  assert_non_null(strstr(a, "\tdistance_metric\tdistance_threshold\n"));
  assert_non_null(strstr(
      a, "Q1\tProt-T5\t3\t0\t0.1000\tGO:A\tP\tIEA\tbinds \"X\", and\\tY\\\\\tP1\tHomo sapiens\t\t0\t1\t"
         "10\t12\tMKVLA\tMKVLAW\t0.9000\t0.8000\t0.8000\t412.0000\t0.1250\t8.0000\t10\t12\t0.9000\t"
         "0.9000\t413.0000\t0.0000\t7.0000\tcosine\t0.5\n"));
  assert_non_null(strstr(a, "Q1\tESM\t1\t\t0.2500\tGO:A\t"));
  assert_non_null(strstr(a, "\t0.7500\t\t\t\t\t\t10\t12\t\t\t\t\t\tcosine\t\n"));
  const fc_raw_row *r = fc_raw_table_row(u, 0);
  assert_string_equal(fc_raw_table_str(u, r->go_description), "binds \"X\", and\tY\\");
  assert_int_equal(fc_raw_table_row(u, 6)->layer_index, FC_LAYER_LEGACY);
  assert_int_equal(fc_raw_table_row(u, 6)->has_alignment, 0);
  /* summary from the re-read table equals the one from memory */
  fc_summary_opts o;
  assert_int_equal(fc_summary_opts_fantasia_default(&o), FC_OK);
  char *s1 = fc_sprintf("%s/sa.csv", g_dir), *s2 = fc_sprintf("%s/sb.csv", g_dir);
  assert_int_equal(fc_summary_write(t, &o, s1, NULL), FC_OK);
  assert_int_equal(fc_summary_write(u, &o, s2, NULL), FC_OK);
  char *x = slurp(s1), *y = slurp(s2);
  assert_string_equal(x, y);
  free(x);
  free(y);
  free(s1);
  free(s2);
  fc_summary_opts_free(&o);
  free(a);
  free(b);
  /* without sequences: 31 columns, reads back too */
  wo.keep_sequences = 0;
  assert_int_equal(fc_raw_write_tsv(t, p2, &wo, NULL), FC_OK);
  fc_raw_table *v = fc_raw_table_new();
  assert_int_equal(fc_raw_read_tsv(p2, v, &e), FC_OK);
  assert_int_equal(fc_raw_table_size(v), 9);
  assert_int_equal(fc_raw_table_row(v, 0)->sequence_query, FC_STR_EMPTY);
  fc_raw_table_free(v);
  fc_raw_table_free(u);
  fc_raw_table_free(t);
  free(p1);
  free(p2);
}

static void write_text(const char *path, const char *text) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static void test_tsv_damaged(void **state) {
  (void)state;
  fc_raw_table *t = sample();
  char *good = fc_sprintf("%s/good.tsv", g_dir), *bad = fc_sprintf("%s/bad.tsv", g_dir);
  assert_int_equal(fc_raw_write_tsv(t, good, NULL, NULL), FC_OK);
  char *text = slurp(good);
  char *line2 = strchr(text, '\n') + 1;
  char *line3 = strchr(line2, '\n') + 1;
  struct {
    const char *what, *expect;
    char *content;
  } cases[6];
  cases[0].what = "wrong header";
  cases[0].content = fc_sprintf("accession\tmodel\n%s", line2);
  cases[0].expect = "line 1";
  cases[1].what = "short row";
  cases[1].content = fc_sprintf("%.*sQ1\tProt-T5\t3\n", (int)(line2 - text), text);
  cases[1].expect = "line 2: 3 fields";
  cases[2].what = "bad number";
  { /* replace "0.1000" distance of line 2 by "0.1x00" */
    char *c = fc_strdup(text);
    char *d = strstr(c, "\t0.1000\t");
    d[3] = 'x';
    cases[2].content = c;
    cases[2].expect = "line 2: column distance: bad value '0.x000'";
  }
  cases[3].what = "bad escape";
  {
    char *c = fc_strdup(text);
    char *d = strstr(line3 - text + c, "binds");
    d[0] = '\\';
    d[1] = 'q';
    cases[3].content = c;
    cases[3].expect = "line 3: column go_description";
  }
  cases[4].what = "empty";
  cases[4].content = fc_strdup("");
  cases[4].expect = "empty file";
  cases[5].what = "truncated last line";
  cases[5].content = fc_strndup(text, (size_t)(strrchr(text, '\t') - text) - 30);
  cases[5].expect = "fields, expected 33";
  for (int i = 0; i < 6; i++) {
    write_text(bad, cases[i].content);
    fc_raw_table *u = fc_raw_table_new();
    fc_error e;
    fc_error_clear(&e);
    fc_status st = fc_raw_read_tsv(bad, u, &e);
    if (st != FC_EFORMAT || !strstr(e.msg, cases[i].expect) || !strstr(e.msg, bad)) {
      print_error("case %s: status %d msg '%s'\n", cases[i].what, st, e.msg);
      fail();
    }
    fc_raw_table_free(u);
    free(cases[i].content);
  }
  fc_raw_table *u = fc_raw_table_new();
  char *missing = fc_sprintf("%s/nope.tsv", g_dir);
  assert_int_equal(fc_raw_read_tsv(missing, u, NULL), FC_EIO);
  free(missing);
  fc_raw_table_free(u);
  free(text);
  free(good);
  free(bad);
  fc_raw_table_free(t);
}

static void test_csv_tree(void **state) {
  (void)state;
  fc_raw_table *t = sample();
  add(t, "AbC", "Prot-T5", 0, "GO:A", "P", "P1", 1, 0.1, 1, 0.8, 0.9, "IEA");
  add(t, "abc", "Prot-T5", 0, "GO:A", "P", "P1", 1, 0.1, 1, 0.8, 0.9, "IEA");
  add(t, "abc", "Prot-T5", 0, "GO:B", "P", "P1", 1, 0.1, 1, 0.8, 0.9, "IEA");
  add(t, "sp|P1 X", "Prot-T5", 0, "GO:B", "P", "P1", 1, 0.1, 1, 0.8, 0.9, "IEA");
  fc_raw_write_opts wo;
  fc_raw_write_opts_default(&wo);
  wo.keep_sequences = 0;
  for (int pass = 0; pass < 2; pass++)
    assert_int_equal(fc_raw_write_csv_tree(t, g_dir, &wo, NULL), FC_OK);
  char *p = fc_sprintf("%s/raw_results/prot-t5/layer_0/abc.csv", g_dir);
  char *a = slurp(p);
  assert_non_null(a);
  const char *hdr =
      "accession,model_name,embedding_type_id,layer_index,distance,go_id,category,evidence_code,"
      "go_description,protein_id,organism,gene_name,query_idx,ref_idx,query_len,ref_len,"
      "reliability_index,identity,similarity,alignment_score,gaps_percentage,alignment_length,"
      "length_query,length_reference,identity_sw,similarity_sw,alignment_score_sw,"
      "gaps_percentage_sw,alignment_length_sw,distance_metric,distance_threshold\n";
  char *want =
      fc_sprintf("%sAbC,Prot-T5,3,0,0.1000,GO:A,P,IEA,\"binds \"\"X\"\", and\tY\\\",P1,Homo sapiens,,0,1,10,"
                 "12,0.9000,0.8000,0.8000,412.0000,0.1250,8.0000,10,12,0.9000,0.9000,413.0000,0.0000,"
                 "7.0000,cosine,0.5\n",
                 hdr);
  assert_string_equal(a, want);
  free(want);
  free(a);
  free(p);
  p = fc_sprintf("%s/raw_results/prot-t5/layer_0/abc~2.csv", g_dir);
  a = slurp(p);
  assert_non_null(a);
  int lines = 0;
  for (char *c = a; *c; c++)
    lines += *c == '\n';
  assert_int_equal(lines, 3); /* header + 2 rows, written once even though the tree was written twice */
  free(a);
  free(p);
  const char *exist[] = {"raw_results/prot-t5/layer_0/sp_p1_x.csv", "raw_results/prot-t5/layer_0/q1.csv",
                         "raw_results/esm/legacy/q1.csv", "raw_results/esm/layer_0/q2.csv",
                         "raw_results/esm/layer_0/a0.csv"};
  for (int i = 0; i < 5; i++) {
    p = fc_sprintf("%s/%s", g_dir, exist[i]);
    assert_true(fc_file_exists(p));
    free(p);
  }
  char *s = fc_sanitize_name("  Foo Bar\t baz/ü ");
  assert_string_equal(s, "foo_bar_baz___");
  free(s);
  s = fc_sanitize_name(" \t");
  assert_string_equal(s, "model");
  free(s);
  fc_raw_table_free(t);
}

static void test_format_f32(void **state) {
  (void)state;
  const float v[] = {1e-5f,   1e-6f,   1e-7f,        0.4f,    1.0f,           -0.0f,    0.0f,    123456789.0f,
                     1e12f,   1e13f,   1e14f,        3.4e38f, 0.1f + 0.2f,    1.0f / 3, 1.5e13f, 1.234e-8f,
                     1.5e-7f, 2.5e-6f, 9.999999e12f, -1e-9f,  1.1754944e-38f, 1e-45f,   NAN,     INFINITY};
  const char *want[] = {"0.00001",
                        "0.000001",
                        "1e-7",
                        "0.4",
                        "1.0",
                        "-0.0",
                        "0.0",
                        "123456790.0",
                        "1000000000000.0",
                        "1e+13",
                        "1e+14",
                        "3.4e+38",
                        "0.3",
                        "0.33333334",
                        "1.5e+13",
                        "1.234e-8",
                        "1.5e-7",
                        "0.0000025",
                        "9999999000000.0",
                        "-1e-9",
                        "1.1754944e-38",
                        "1e-45",
                        "NaN",
                        "inf"};
  char b[32], c[32];
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
    fc_format_f32(v[i], b);
    assert_string_equal(b, want[i]);
    fc_format_f32_ref(v[i], c);
    assert_string_equal(c, want[i]);
  }
  /* fast path vs the snprintf/strtof twin on random bit patterns and on decimal-looking values */
  int n = getenv("FC_SANITIZE") && atoi(getenv("FC_SANITIZE")) ? 100000 : 1000000;
  uint64_t s = 88172645463325252ull;
  for (int i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    float f;
    if (i & 1) {
      uint32_t u = (uint32_t)s;
      memcpy(&f, &u, 4);
    } else {
      f = (float)((double)(s % 2000001) / 10000.0 - 100.0);
    }
    fc_format_f32(f, b);
    fc_format_f32_ref(f, c);
    if (strcmp(b, c) != 0) {
      print_error("%.9g: fast '%s' ref '%s'\n", (double)f, b, c);
      fail();
    }
    if (!isnan(f)) assert_true(strtof(b, NULL) == f);
  }
}

/* Interning: dense ids, stable across rehashes; empty table outputs; bad string ids refused. */
static void test_table_edges(void **state) {
  (void)state;
  fc_raw_table *t = fc_raw_table_new();
  assert_int_equal(fc_raw_table_intern(t, ""), FC_STR_EMPTY);
  assert_int_equal(fc_raw_table_intern(t, NULL), FC_STR_EMPTY);
  char b[32];
  for (int i = 0; i < 100000; i++) {
    snprintf(b, sizeof b, "s%d", i);
    assert_int_equal(fc_raw_table_intern(t, b), (uint32_t)i + 1);
  }
  for (int i = 0; i < 100000; i += 997) {
    snprintf(b, sizeof b, "s%d", i);
    assert_int_equal(fc_raw_table_intern(t, b), (uint32_t)i + 1);
    assert_string_equal(fc_raw_table_str(t, (uint32_t)i + 1), b);
  }
  assert_int_equal(fc_raw_table_intern_n(t, "s12xyz", 3), 13);
  assert_string_equal(fc_raw_table_str(t, 999999999u), "");
  fc_raw_row r;
  memset(&r, 0, sizeof r);
  r.go_id = 999999999u;
  fc_error e;
  assert_int_equal(fc_raw_table_append(t, &r, &e), FC_EINVAL);
  assert_int_equal(fc_raw_table_size(t), 0);
  assert_null(fc_raw_table_row(t, 0));
  /* empty table: header-only summary and TSV, no TopGO files */
  fc_summary_opts o;
  assert_int_equal(fc_summary_opts_fantasia_default(&o), FC_OK);
  char *p = fc_sprintf("%s/empty.csv", g_dir), *q = fc_sprintf("%s/empty.tsv", g_dir),
       *d = fc_sprintf("%s/topgo_empty", g_dir);
  assert_int_equal(fc_summary_write(t, &o, p, NULL), FC_OK);
  assert_file_eq(p, "accession,go_id,term_count,proteins\n");
  assert_int_equal(fc_raw_write_tsv(t, q, NULL, NULL), FC_OK);
  fc_raw_table *u = fc_raw_table_new();
  assert_int_equal(fc_raw_read_tsv(q, u, NULL), FC_OK);
  assert_int_equal(fc_raw_table_size(u), 0);
  assert_int_equal(fc_topgo_write(t, d, NULL), FC_OK);
  char *ens = fc_sprintf("%s/ensemble", d);
  assert_false(fc_file_exists(ens));
  free(ens);
  free(p);
  free(q);
  free(d);
  fc_summary_opts_free(&o);
  fc_raw_table_free(u);
  fc_raw_table_free(t);
}

/* "%.{p}f" fast path vs snprintf on random doubles of many magnitudes, ties and awkward values. */
static void test_fixed_fast(void **state) {
  (void)state;
  const double special[] = {
      0.0,     -0.0,     0.5,   1.5,  2.5,         -0.5,      0.00005, 0.00015,
      0.12345, -0.00001, 412.0, 1e13, 99999.99995, 0.1 + 0.2, 1.0 / 3, 123456789.123456789};
  char a[64], b[64];
  for (size_t i = 0; i < sizeof special / sizeof special[0]; i++)
    for (int p = 0; p <= 9; p++) {
      snprintf(b, sizeof b, "%.*f", p, special[i]);
      if (fc__fixed_fast(special[i], p, a) >= 0) assert_string_equal(a, b);
    }
  int n = getenv("FC_SANITIZE") && atoi(getenv("FC_SANITIZE")) ? 100000 : 1000000;
  uint64_t s = 0x2545F4914F6CDD1Dull;
  int fast = 0;
  for (int i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    double x = (double)(s >> 11) / 9007199254740992.0; /* [0,1) */
    int mag = (int)(s % 17) - 6;
    x *= pow(10.0, mag);
    if (s & 0x100) x = -x;
    if ((s & 0x600) == 0x600) x = (double)(int64_t)(x * 1e4) / 1e4; /* decimal-looking */
    int p = (int)((s >> 20) % 10);
    snprintf(b, sizeof b, "%.*f", p, x);
    if (fc__fixed_fast(x, p, a) >= 0) {
      fast++;
      if (strcmp(a, b) != 0) {
        print_error("%.17g p=%d: fast '%s' printf '%s'\n", x, p, a, b);
        fail();
      }
    }
  }
  assert_true(fast > n * 9 / 10);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_summary_shipped_config),
      cmocka_unit_test(test_summary_weights),
      cmocka_unit_test(test_topgo),
      cmocka_unit_test(test_tsv_roundtrip),
      cmocka_unit_test(test_tsv_damaged),
      cmocka_unit_test(test_csv_tree),
      cmocka_unit_test(test_format_f32),
      cmocka_unit_test(test_fixed_fast),
      cmocka_unit_test(test_table_edges),
  };
  return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
