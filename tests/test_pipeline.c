/* pipeline: lookup + transfer on a small hand-made store with several models and layers, ties,
 * shared sequences, unannotated sequences and taxa, so each rule can be checked exactly:
 * model matching by name and by FANTASIA id, tie order, protein expansion, filters, threshold,
 * thread invariance, and the errors (unknown model/layer, dimension and pooling mismatches). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fantasia/pipeline.h"

static char g_dir[64];
static char *g_store;

typedef struct {
  const char *seq;
  float v0[4], v1[4], e[3];
} refseq;
/* S1..S5: S5 has S1's layer-0 vector (a tie), S4 has no annotated protein */
static const refseq REFS[] = {
    {"MKVL", {1, 0, 0, 0}, {0, 0, 1, 0}, {1, 0, 0}},
    {"MAAA", {0.9f, 0.1f, 0, 0}, {0, 0, 0, 1}, {0, 1, 0}},
    {"MCCC", {0, 1, 0, 0}, {1, 0, 0, 0}, {0, 0, 1}},
    {"MDDD", {0.95f, 0.05f, 0, 0}, {1, 1, 0, 0}, {1, 1, 0}},
    {"MEEE", {1, 0, 0, 0}, {0, 1, 0, 0}, {1, 0, 1}},
};
typedef struct {
  const char *id, *acc;
  int seq;
  const char *tax;
  const char *gos;
} refprot;
static const refprot PROTS[] = {
    {"P1_HUMAN", "A1", 0, "9606", "GO:0000001,GO:0000002"}, {"P1_MOUSE", "A1b", 0, "10090", "GO:0000003"},
    {"P2_MOUSE", "A2", 1, "10090", "GO:0000001"},          {"P3_HUMAN", "A3", 2, "9606", "GO:0000002"},
    {"P4_HUMAN", "A4", 3, "9606", ""},                     {"P5_HUMAN", "A5", 4, "9606", "GO:0000004"},
};

static int setup(void **state) {
  (void)state;
  snprintf(g_dir, sizeof g_dir, "/tmp/fc_pipe_XXXXXX");
  assert_non_null(mkdtemp(g_dir));
  g_store = fc_path_join(g_dir, "ref.db");
  fc_refdb *db;
  fc_error e;
  assert_int_equal(fc_refdb_create(g_store, &db, &e), FC_OK);
  int64_t sid[5];
  for (int i = 0; i < 5; i++) assert_int_equal(fc_refdb_add_sequence(db, REFS[i].seq, &sid[i], &e), FC_OK);
  const char *gos[] = {"GO:0000001", "GO:0000002", "GO:0000003", "GO:0000004"};
  const char cats[] = {'P', 'F', 'C', 'P'};
  for (int g = 0; g < 4; g++) assert_int_equal(fc_refdb_add_go_term(db, gos[g], cats[g], "term", &e), FC_OK);
  for (size_t p = 0; p < sizeof PROTS / sizeof PROTS[0]; p++) {
    assert_int_equal(fc_refdb_add_protein(db, PROTS[p].id, PROTS[p].acc, sid[PROTS[p].seq], "g", "org", PROTS[p].tax, &e),
                     FC_OK);
    char *list = fc_strdup(PROTS[p].gos);
    for (char *t = strtok(list, ","); t; t = strtok(NULL, ","))
      assert_int_equal(fc_refdb_add_annotation(db, PROTS[p].id, t, "EXP", &e), FC_OK);
    free(list);
  }
  int64_t t_prot, t_esm;
  assert_int_equal(fc_refdb_add_embedding_type(db, "Prot-T5", 0, NULL, &t_prot, &e), FC_OK);
  assert_int_equal(fc_refdb_add_embedding_type(db, "ESM", 0, NULL, &t_esm, &e), FC_OK);
  assert_int_equal(t_prot, 3);
  assert_int_equal(t_esm, 1);
  float m0[20], m1[20], me[15];
  for (int i = 0; i < 5; i++) {
    memcpy(m0 + 4 * i, REFS[i].v0, 16);
    memcpy(m1 + 4 * i, REFS[i].v1, 16);
    memcpy(me + 3 * i, REFS[i].e, 12);
  }
  assert_int_equal(fc_refdb_put_matrix(db, t_prot, 0, "mean", sid, m0, 5, 4, &e), FC_OK);
  assert_int_equal(fc_refdb_put_matrix(db, t_prot, 1, "mean", sid, m1, 5, 4, &e), FC_OK);
  assert_int_equal(fc_refdb_put_matrix(db, t_esm, 0, NULL, sid, me, 5, 3, &e), FC_OK);
  assert_int_equal(fc_refdb_close(db, 1, &e), FC_OK);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  unlink(g_store);
  rmdir(g_dir);
  free(g_store);
  return 0;
}

/* one block of queries; vectors given row by row */
static void block(fc_emb_block *b, const char *model, int layer, const char *pooling, size_t n, size_t dim,
                  const char *const *accs, const char *const *seqs, const float *v) {
  memset(b, 0, sizeof *b);
  b->model = fc_strdup(model);
  b->layer = layer;
  b->pooling = pooling ? fc_strdup(pooling) : NULL;
  b->n = n;
  b->dim = dim;
  b->accessions = calloc(n, sizeof(char *));
  b->sequences = calloc(n, sizeof(char *));
  b->data = fc_aligned_alloc(n * dim * sizeof(float));
  for (size_t i = 0; i < n; i++) {
    b->accessions[i] = fc_strdup(accs[i]);
    b->sequences[i] = fc_strdup(seqs[i]);
  }
  memcpy(b->data, v, n * dim * sizeof(float));
}

static const char *QACC[] = {"Q1", "Q2"};
static const char *QSEQ[] = {"MKVL", "MQQQ"}; /* Q1 has S1's sequence */

static void queries(fc_embset *s) {
  memset(s, 0, sizeof *s);
  s->n_blocks = 3;
  s->blocks = calloc(3, sizeof *s->blocks);
  const float v0[] = {1, 0, 0, 0, 0, 1, 0.1f, 0}, v1[] = {1, 0.1f, 0, 0, 0, 0, 1, 0}, ve[] = {0, 0, 1, 0, 1, 0};
  block(&s->blocks[0], "3", 0, "mean", 2, 4, QACC, QSEQ, v0); /* FANTASIA's numeric id of Prot-T5 */
  block(&s->blocks[1], "Prot-T5", 1, "mean", 2, 4, QACC, QSEQ, v1);
  block(&s->blocks[2], "ESM", 0, NULL, 2, 3, QACC, QSEQ, ve);
}

/* "Q1|Prot-T5|0|P1_HUMAN|GO:0000001" lines for every row, in table order */
static char *dump(fc_raw_table *t) {
  char *out = fc_strdup("");
  for (size_t i = 0; i < fc_raw_table_size(t); i++) {
    const fc_raw_row *r = fc_raw_table_row(t, i);
    char *n = fc_sprintf("%s%s|%s|%lld|%d|%s|%s|%.6f\n", out, fc_raw_table_str(t, r->accession),
                         fc_raw_table_str(t, r->model_name), (long long)r->embedding_type_id, r->layer_index,
                         fc_raw_table_str(t, r->protein_id), fc_raw_table_str(t, r->go_id), r->distance);
    free(out);
    out = n;
  }
  return out;
}

static char *run(fc_lookup_opts *o, fc_status want) {
  fc_embset q;
  queries(&q);
  fc_raw_table *t = fc_raw_table_new();
  fc_error e;
  fc_error_clear(&e);
  o->reference = g_store;
  fc_status st = fc_lookup_run(&q, o, t, &e);
  if (st != want) print_error("status %d: %s\n", st, e.msg);
  assert_int_equal(st, want);
  char *d = dump(t);
  fc_raw_table_free(t);
  fc_embset_free(&q);
  return d;
}

static void test_models_layers_ties_expansion(void **state) {
  (void)state;
  fc_lookup_opts o;
  fc_lookup_opts_init(&o);
  o.k = 2;
  char *d = run(&o, FC_OK);
  /* Prot-T5 L0, Q1: S1 and S5 tie at 0 -> S1 (lower row) first; S4 (no GO) is never a hit.
   * S1 expands to both proteins sharing it. Q2: S3 (0.005) then S2. */
  const char *want_l0 = "Q1|Prot-T5|3|0|P1_HUMAN|GO:0000001|0.000000\n"
                        "Q1|Prot-T5|3|0|P1_HUMAN|GO:0000002|0.000000\n"
                        "Q1|Prot-T5|3|0|P1_MOUSE|GO:0000003|0.000000\n"
                        "Q1|Prot-T5|3|0|P5_HUMAN|GO:0000004|0.000000\n";
  if (!strstr(d, want_l0)) print_error("%s", d);
  assert_non_null(strstr(d, want_l0));
  assert_non_null(strstr(d, "Q2|Prot-T5|3|0|P3_HUMAN|GO:0000002|"));
  assert_non_null(strstr(d, "Q2|Prot-T5|3|0|P2_MOUSE|GO:0000001|"));
  /* layer 1 has its own matrix: Q2's vector (0,0,1,0) is S1's there */
  assert_non_null(strstr(d, "Q2|Prot-T5|3|1|P1_HUMAN|GO:0000001|0.000000\n"));
  assert_non_null(strstr(d, "Q1|Prot-T5|3|1|P3_HUMAN|GO:0000002|"));
  /* ESM (type 1), 3 dimensions */
  assert_non_null(strstr(d, "Q1|ESM|1|0|P3_HUMAN|GO:0000002|0.000000\n"));
  assert_null(strstr(d, "P4_HUMAN"));
  /* same output with one thread */
  o.threads = 1;
  char *d1 = run(&o, FC_OK);
  assert_string_equal(d, d1);
  free(d1);
  free(d);
}

static void test_filters(void **state) {
  (void)state;
  fc_lookup_opts o;
  fc_lookup_opts_init(&o);
  o.k = 2;
  int layer0[] = {0};
  fc_lookup_model m[] = {{"Prot-T5", 3, layer0, 1, NAN}};
  o.models = m;
  o.n_models = 1;
  /* self: Q1's sequence is S1's -> S1 is skipped, K refilled by S5 then S2 (S4 has no GO) */
  o.exclude_self = 1;
  char *d = run(&o, FC_OK);
  assert_null(strstr(d, "Q1|Prot-T5|3|0|P1_HUMAN"));
  assert_non_null(strstr(d, "Q1|Prot-T5|3|0|P5_HUMAN|GO:0000004|0.000000\nQ1|Prot-T5|3|0|P2_MOUSE|"));
  assert_null(strstr(d, "|1|P")); /* only layer 0 was asked */
  free(d);
  o.exclude_self = 0;
  /* exclude mouse: S2 (mouse only) is gone, S1 stays through P1_HUMAN but P1_MOUSE's terms are dropped */
  const char *mouse[] = {"10090"};
  o.tax_exclude = mouse;
  o.n_tax_exclude = 1;
  d = run(&o, FC_OK);
  assert_null(strstr(d, "MOUSE"));
  assert_non_null(strstr(d, "Q1|Prot-T5|3|0|P1_HUMAN|GO:0000001|"));
  free(d);
  /* include mouse only */
  o.tax_exclude = NULL;
  o.n_tax_exclude = 0;
  o.tax_include = mouse;
  o.n_tax_include = 1;
  d = run(&o, FC_OK);
  assert_null(strstr(d, "HUMAN"));
  assert_non_null(strstr(d, "Q1|Prot-T5|3|0|P1_MOUSE|GO:0000003|0.000000\nQ1|Prot-T5|3|0|P2_MOUSE|"));
  free(d);
  /* threshold (inclusive, before K): only the two exact matches of Q1 at distance 0 */
  o.tax_include = NULL;
  o.n_tax_include = 0;
  m[0].threshold = 0.0;
  o.k = 5;
  d = run(&o, FC_OK);
  assert_null(strstr(d, "Q2|"));
  assert_null(strstr(d, "P2_MOUSE"));
  assert_non_null(strstr(d, "P5_HUMAN"));
  free(d);
}

static void test_errors(void **state) {
  (void)state;
  fc_lookup_opts o;
  fc_lookup_opts_init(&o);
  /* a layer the query file lacks */
  o.models = (fc_lookup_model[]){{"Prot-T5", 3, (int[]){7}, 1, NAN}};
  o.n_models = 1;
  free(run(&o, FC_ENOTFOUND));
  /* k out of range */
  fc_lookup_opts_init(&o);
  o.k = 0;
  free(run(&o, FC_EINVAL));
  /* dimension and pooling mismatches, unknown model */
  fc_embset q;
  memset(&q, 0, sizeof q);
  q.n_blocks = 1;
  q.blocks = calloc(1, sizeof *q.blocks);
  const float v[] = {1, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  fc_error e;
  fc_raw_table *t = fc_raw_table_new();
  fc_lookup_opts_init(&o);
  o.reference = g_store;
  block(&q.blocks[0], "ESM", 0, NULL, 2, 5, QACC, QSEQ, v);
  assert_int_equal(fc_lookup_run(&q, &o, t, &e), FC_EMISMATCH);
  assert_non_null(strstr(e.msg, "dimensions"));
  fc_embset_free(&q);
  q.n_blocks = 1;
  q.blocks = calloc(1, sizeof *q.blocks);
  block(&q.blocks[0], "Prot-T5", 0, "cls", 2, 4, QACC, QSEQ, v);
  assert_int_equal(fc_lookup_run(&q, &o, t, &e), FC_EMISMATCH);
  assert_non_null(strstr(e.msg, "pooled"));
  fc_embset_free(&q);
  q.n_blocks = 1;
  q.blocks = calloc(1, sizeof *q.blocks);
  block(&q.blocks[0], "Ankh3-Large", 0, NULL, 2, 4, QACC, QSEQ, v);
  assert_int_equal(fc_lookup_run(&q, &o, t, &e), FC_ENOTFOUND);
  assert_non_null(strstr(e.msg, "Ankh3-Large"));
  fc_embset_free(&q);
  /* missing store */
  q.n_blocks = 1;
  q.blocks = calloc(1, sizeof *q.blocks);
  block(&q.blocks[0], "ESM", 0, NULL, 2, 3, QACC, QSEQ, v);
  o.reference = "/nonexistent/ref.db";
  assert_int_not_equal(fc_lookup_run(&q, &o, t, &e), FC_OK);
  assert_non_null(strstr(e.msg, "/nonexistent/ref.db"));
  fc_embset_free(&q);
  assert_int_equal(fc_raw_table_size(t), 0);
  fc_raw_table_free(t);
}


/* self exclusion by accession: a FANTASIA accession "sp_<ACC>_<NAME>" names the reference protein */
static void test_self_by_uniprot_accession(void **state) {
  (void)state;
  fc_embset q;
  memset(&q, 0, sizeof q);
  q.n_blocks = 1;
  q.blocks = calloc(1, sizeof *q.blocks);
  const char *acc[] = {"sp_A5_P5_HUMAN"}, *seq[] = {"MZZZ"};
  const float v[] = {1, 0, 0, 0};
  block(&q.blocks[0], "Prot-T5", 0, "mean", 1, 4, acc, seq, v);
  fc_lookup_opts o;
  fc_lookup_opts_init(&o);
  o.reference = g_store;
  o.k = 2;
  fc_error e;
  for (int self = 0; self < 2; self++) {
    o.exclude_self = self;
    fc_raw_table *t = fc_raw_table_new();
    assert_int_equal(fc_lookup_run(&q, &o, t, &e), FC_OK);
    char *d = dump(t);
    if (self) {
      if (strstr(d, "|P5_HUMAN|")) print_error("%s", d);
      assert_null(strstr(d, "|P5_HUMAN|")); /* S5 is A5's sequence */
      assert_non_null(strstr(d, "P2_MOUSE"));
    } else {
      assert_non_null(strstr(d, "|P5_HUMAN|"));
    }
    assert_non_null(strstr(d, "P1_HUMAN")); /* S1: other accession, other sequence, distance 0 */
    free(d);
    fc_raw_table_free(t);
  }
  fc_embset_free(&q);
}

int main(void) {
  fc_log_set_level(FC_LOG_WARN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_models_layers_ties_expansion),
      cmocka_unit_test(test_filters),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_self_by_uniprot_accession),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
