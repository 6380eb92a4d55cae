/* pipeline: lookup + transfer on a small hand-made store with several models and layers, ties,
 * shared sequences, unannotated sequences and taxa, so each rule can be checked exactly:
 * model matching by name and by FANTASIA id, tie order, protein expansion, filters, threshold,
 * thread invariance, and the errors (unknown model/layer, dimension and pooling mismatches). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
// clang-format off
#include <cmocka.h>
// clang-format on
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
    {"MKVL", {1, 0, 0, 0}, {0, 0, 1, 0}, {1, 0, 0}}, {"MAAA", {0.9f, 0.1f, 0, 0}, {0, 0, 0, 1}, {0, 1, 0}},
    {"MCCC", {0, 1, 0, 0}, {1, 0, 0, 0}, {0, 0, 1}}, {"MDDD", {0.95f, 0.05f, 0, 0}, {1, 1, 0, 0}, {1, 1, 0}},
    {"MEEE", {1, 0, 0, 0}, {0, 1, 0, 0}, {1, 0, 1}},
};
typedef struct {
  const char *id, *acc;
  int seq;
  const char *tax;
  const char *gos;
} refprot;
static const refprot PROTS[] = {
    {"P1_HUMAN", "A1", 0, "9606", "GO:0000001,GO:0000002"},
    {"P1_MOUSE", "A1b", 0, "10090", "GO:0000003"},
    {"P2_MOUSE", "A2", 1, "10090", "GO:0000001"},
    {"P3_HUMAN", "A3", 2, "9606", "GO:0000002"},
    {"P4_HUMAN", "A4", 3, "9606", ""},
    {"P5_HUMAN", "A5", 4, "9606", "GO:0000004"},
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
  for (int i = 0; i < 5; i++)
    assert_int_equal(fc_refdb_add_sequence(db, REFS[i].seq, &sid[i], &e), FC_OK);
  const char *gos[] = {"GO:0000001", "GO:0000002", "GO:0000003", "GO:0000004"};
  const char cats[] = {'P', 'F', 'C', 'P'};
  for (int g = 0; g < 4; g++)
    assert_int_equal(fc_refdb_add_go_term(db, gos[g], cats[g], "term", &e), FC_OK);
  for (size_t p = 0; p < sizeof PROTS / sizeof PROTS[0]; p++) {
    assert_int_equal(
        fc_refdb_add_protein(db, PROTS[p].id, PROTS[p].acc, sid[PROTS[p].seq], "g", "org", PROTS[p].tax, &e),
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
  const float v0[] = {1, 0, 0, 0, 0, 1, 0.1f, 0}, v1[] = {1, 0.1f, 0, 0, 0, 0, 1, 0},
              ve[] = {0, 0, 1, 0, 1, 0};
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
  /* the same taxon in both lists: exclude AND include, so exclude wins (FANTASIA's code, spec §5.8) */
  o.tax_exclude = mouse;
  o.n_tax_exclude = 1;
  d = run(&o, FC_OK); /* nothing passes: no rows, no error */
  assert_string_equal(d, "");
  free(d);
  o.tax_exclude = NULL;
  o.n_tax_exclude = 0;
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

/* ---- goPredSim scoring on a second tiny store (euclidean, dim 2, query at the origin) ----
 * Ontology: P  10 <- 11, 10 <- 13, 11 <- 12;  F  20 <- 21;  C  30.
 * Reference sequences (distance to the query, RI = 0.5/(0.5+d)):
 *   S1 (1,0)   d=1  RI 1/3  proteins A (P 12, C 30) and A2 (P 11)
 *   S2 (0,1)   d=1  RI 1/3  protein B (P 13)                 -- ties with S1
 *   S3 (2,0)   d=2  RI 1/5  protein C (P 11)
 *   S4 (0.5,0) d=.5 RI 1/2  protein D (F 21)                 -- nearest, but only in F
 *   S5 (3,0)   d=3  RI 1/7  protein E (F 20, P 10) */
static const char *GPS_OBO =
    "format-version: 1.2\n\n"
    "[Term]\nid: GO:0000010\nname: p root\nnamespace: biological_process\n\n"
    "[Term]\nid: GO:0000011\nname: p a\nnamespace: biological_process\nis_a: GO:0000010\n\n"
    "[Term]\nid: GO:0000012\nname: p b\nnamespace: biological_process\nis_a: GO:0000011\n\n"
    "[Term]\nid: GO:0000013\nname: p c\nnamespace: biological_process\nis_a: GO:0000010\n\n"
    "[Term]\nid: GO:0000020\nname: f root\nnamespace: molecular_function\n\n"
    "[Term]\nid: GO:0000021\nname: f a\nnamespace: molecular_function\nis_a: GO:0000020\n\n"
    "[Term]\nid: GO:0000030\nname: c root\nnamespace: cellular_component\n";

typedef struct {
  char dir[64];
  char *store, *obo;
  fc_go *go;
  fc_ontology *onto;
} gps_env;

static void gps_setup(gps_env *g) {
  snprintf(g->dir, sizeof g->dir, "/tmp/fc_gps_XXXXXX");
  assert_non_null(mkdtemp(g->dir));
  g->store = fc_path_join(g->dir, "gps.db");
  g->obo = fc_path_join(g->dir, "go.obo");
  FILE *f = fopen(g->obo, "w");
  assert_non_null(f);
  fputs(GPS_OBO, f);
  fclose(f);
  fc_error e;
  assert_int_equal(fc_go_load(g->obo, &g->go, &e), FC_OK);
  assert_int_equal(fc_ontology_build(g->go, NULL, &g->onto, &e), FC_OK);
  fc_refdb *db;
  assert_int_equal(fc_refdb_create(g->store, &db, &e), FC_OK);
  const char *seqs[] = {"MAAA", "MCCC", "MDDD", "MEEE", "MFFF"};
  const float m[] = {1, 0, 0, 1, 2, 0, 0.5f, 0, 3, 0};
  int64_t sid[5];
  for (int i = 0; i < 5; i++)
    assert_int_equal(fc_refdb_add_sequence(db, seqs[i], &sid[i], &e), FC_OK);
  const char *gos[] = {"GO:0000010", "GO:0000011", "GO:0000012", "GO:0000013",
                       "GO:0000020", "GO:0000021", "GO:0000030"};
  const char cats[] = {'P', 'P', 'P', 'P', 'F', 'F', 'C'};
  for (int i = 0; i < 7; i++)
    assert_int_equal(fc_refdb_add_go_term(db, gos[i], cats[i], "term", &e), FC_OK);
  static const refprot P[] = {{"A", "A", 0, "9606", "GO:0000012,GO:0000030"},
                              {"A2", "A2", 0, "9606", "GO:0000011"},
                              {"B", "B", 1, "9606", "GO:0000013"},
                              {"C", "C", 2, "9606", "GO:0000011"},
                              {"D", "D", 3, "9606", "GO:0000021"},
                              {"E", "E", 4, "9606", "GO:0000020,GO:0000010"}};
  for (size_t p = 0; p < sizeof P / sizeof P[0]; p++) {
    assert_int_equal(fc_refdb_add_protein(db, P[p].id, P[p].acc, sid[P[p].seq], "g", "org", P[p].tax, &e),
                     FC_OK);
    char *list = fc_strdup(P[p].gos);
    for (char *t = strtok(list, ","); t; t = strtok(NULL, ","))
      assert_int_equal(fc_refdb_add_annotation(db, P[p].id, t, "EXP", &e), FC_OK);
    free(list);
  }
  int64_t tid;
  assert_int_equal(fc_refdb_add_embedding_type(db, "ESM", 0, NULL, &tid, &e), FC_OK);
  assert_int_equal(fc_refdb_put_matrix(db, tid, 0, NULL, sid, m, 5, 2, &e), FC_OK);
  assert_int_equal(fc_refdb_close(db, 1, &e), FC_OK);
}

static void gps_teardown(gps_env *g) {
  char *cmd = fc_sprintf("rm -rf '%s'", g->dir);
  assert_int_equal(system(cmd), 0);
  free(cmd);
  free(g->store);
  free(g->obo);
  fc_ontology_free(g->onto);
  fc_go_free(g->go);
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* sorted "target term score" lines of a prediction set */
static char *dump_preds(const fc_predictions *p) {
  size_t n = fc_predictions_size(p);
  char **l = calloc(n ? n : 1, sizeof *l);
  for (size_t i = 0; i < n; i++) {
    const fc_prediction *x = fc_predictions_at(p, i);
    l[i] = fc_sprintf("%s %d %s %s %.4f\n", x->model, x->layer, x->target, x->term, x->score);
  }
  qsort(l, n, sizeof *l, cmp_str);
  char *out = fc_strdup("");
  for (size_t i = 0; i < n; i++) {
    char *j = fc_sprintf("%s%s", out, l[i]);
    free(out);
    free(l[i]);
    out = j;
  }
  free(l);
  return out;
}

static fc_predictions *gps_run(gps_env *g, fc_scoring scoring, size_t k, fc_raw_table **raw) {
  fc_embset q;
  memset(&q, 0, sizeof q);
  q.n_blocks = 1;
  q.blocks = calloc(1, sizeof *q.blocks);
  const float v[] = {0, 0};
  block(&q.blocks[0], "ESM", 0, NULL, 1, 2, (const char *[]){"Q"}, (const char *[]){"MQQQ"}, v);
  fc_lookup_opts o;
  fc_lookup_opts_init(&o);
  o.reference = g->store;
  o.metric = FC_METRIC_EUCLIDEAN;
  o.k = k;
  o.scoring = scoring;
  o.ontology = g->onto;
  fc_predictions *p = fc_predictions_new();
  o.predictions = p;
  fc_raw_table *t = fc_raw_table_new();
  fc_error e;
  fc_error_clear(&e);
  fc_status st = fc_lookup_run(&q, &o, t, &e);
  if (st != FC_OK) print_error("%s\n", e.msg);
  assert_int_equal(st, FC_OK);
  if (scoring == FC_SCORING_FANTASIA) assert_int_equal(fc_predictions_from_raw(t, p, &e), FC_OK);
  fc_embset_free(&q);
  if (raw)
    *raw = t;
  else
    fc_raw_table_free(t);
  return p;
}

static void expect_preds(gps_env *g, fc_scoring scoring, size_t k, const char *want) {
  fc_predictions *p = gps_run(g, scoring, k, NULL);
  char *d = dump_preds(p);
  if (strcmp(d, want)) print_error("k=%zu got:\n%swant:\n%s", k, d, want);
  assert_string_equal(d, want);
  free(d);
  fc_predictions_free(p);
}

static char *slurp(const char *dir, const char *name) {
  char *path = fc_path_join(dir, name), *data = NULL;
  size_t len;
  fc_error e;
  assert_int_equal(fc_read_file(path, 0, &data, &len, &e), FC_OK);
  free(path);
  return data;
}

static void test_gopredsim(void **state) {
  (void)state;
  gps_env g;
  gps_setup(&g);
  /* k=1. P: S1 and S2 tie at d=1 -> hits A, A2, B (3): 12 = 11 = 13 = (1/3)/3; 11 is an ancestor of 12,
   * so the leaves are 12 and 13. F: only S4 (D): 21 = 0.5/1. C: only S1's A: 30 = 1/3. */
  expect_preds(&g, FC_SCORING_GOPREDSIM, 1,
               "ESM 0 Q GO:0000012 0.1100\nESM 0 Q GO:0000013 0.1100\nESM 0 Q GO:0000021 0.5000\n"
               "ESM 0 Q GO:0000030 0.3300\n");
  /* k=3: S1 carries two P proteins, S2 the third at the same distance: same hits as k=1.
   * F: D and E (2 hits): 21 = 0.25, 20 = (1/7)/2 is D's ancestor -> dropped. */
  expect_preds(&g, FC_SCORING_GOPREDSIM, 3,
               "ESM 0 Q GO:0000012 0.1100\nESM 0 Q GO:0000013 0.1100\nESM 0 Q GO:0000021 0.2500\n"
               "ESM 0 Q GO:0000030 0.3300\n");
  /* k=4: P adds S3 (C, d=2): 4 hits; 12 = 13 = (1/3)/4; 11 = (1/3 + 1/5)/4 (dropped, ancestor of 12). */
  expect_preds(&g, FC_SCORING_GOPREDSIM, 4,
               "ESM 0 Q GO:0000012 0.0800\nESM 0 Q GO:0000013 0.0800\nESM 0 Q GO:0000021 0.2500\n"
               "ESM 0 Q GO:0000030 0.3300\n");
  /* k=5: P adds S5 (E: P 10, d=3): 5 hits; 12 = 13 = (1/3)/5 = 0.0667; 10 is everybody's ancestor. */
  expect_preds(&g, FC_SCORING_GOPREDSIM, 5,
               "ESM 0 Q GO:0000012 0.0700\nESM 0 Q GO:0000013 0.0700\nESM 0 Q GO:0000021 0.2500\n"
               "ESM 0 Q GO:0000030 0.3300\n");
  /* FANTASIA mode, k=2: S4 then S1 (the lower row of the S1/S2 tie); max RI per term, no leaf reduction */
  expect_preds(&g, FC_SCORING_FANTASIA, 2,
               "ESM 0 Q GO:0000011 0.3333\nESM 0 Q GO:0000012 0.3333\nESM 0 Q GO:0000021 0.5000\n"
               "ESM 0 Q GO:0000030 0.3333\n");

  /* raw rows of goPredSim mode: each aspect's hits with that aspect's terms only (k=1: A, A2, B in P;
   * D in F; A in C) */
  fc_raw_table *t = NULL;
  fc_predictions *p = gps_run(&g, FC_SCORING_GOPREDSIM, 1, &t);
  assert_int_equal(fc_raw_table_size(t), 5);
  fc_raw_table_free(t);

  /* files: evaluator TSV and CAFA submission format, then propagated */
  fc_predictions_write_opts wo;
  fc_predictions_write_opts_init(&wo);
  wo.out_dir = g.dir;
  wo.precision = 2;
  fc_error e;
  assert_int_equal(fc_predictions_write(p, &wo, &e), FC_OK);
  char *tsv = slurp(g.dir, "predictions/ESM_L0.tsv");
  assert_string_equal(tsv,
                      "Q\tGO:0000021\t0.50\nQ\tGO:0000030\t0.33\nQ\tGO:0000012\t0.11\nQ\tGO:0000013\t0.11\n");
  free(tsv);
  char *cafa = slurp(g.dir, "cafa/ESM_L0.txt");
  assert_string_equal(cafa,
                      "AUTHOR\tfantasia.c\nMODEL\t1\nKEYWORDS\tmachine learning, sequence embedding, nearest "
                      "neighbour.\nQ\tGO:0000021\t0.50\nQ\tGO:0000030\t0.33\nQ\tGO:0000012\t0.11\n"
                      "Q\tGO:0000013\t0.11\nEND\n");
  free(cafa);
  wo.propagate = 1;
  wo.write_cafa = 0;
  wo.ontology = g.onto;
  assert_int_equal(fc_predictions_write(p, &wo, &e), FC_OK);
  tsv = slurp(g.dir, "predictions/ESM_L0.tsv");
  /* namespaces in ontology order (P, F, C); within one, score descending then id */
  assert_string_equal(tsv,
                      "Q\tGO:0000010\t0.11\nQ\tGO:0000011\t0.11\nQ\tGO:0000012\t0.11\nQ\tGO:0000013\t0.11\n"
                      "Q\tGO:0000020\t0.50\nQ\tGO:0000021\t0.50\nQ\tGO:0000030\t0.33\n");
  free(tsv);
  /* propagation without an ontology, and goPredSim without one, are clean errors */
  wo.ontology = NULL;
  assert_int_equal(fc_predictions_write(p, &wo, &e), FC_EINVAL);
  fc_predictions_free(p);
  fc_embset q;
  memset(&q, 0, sizeof q);
  fc_lookup_opts o;
  fc_lookup_opts_init(&o);
  o.reference = g.store;
  o.scoring = FC_SCORING_GOPREDSIM;
  fc_raw_table *t2 = fc_raw_table_new();
  assert_int_equal(fc_lookup_run(&q, &o, t2, &e), FC_EINVAL);
  assert_non_null(strstr(e.msg, "ontology"));
  fc_raw_table_free(t2);
  fc_scoring sc;
  assert_int_equal(fc_scoring_parse("GoPredSim", &sc, &e), FC_OK);
  assert_int_equal(sc, FC_SCORING_GOPREDSIM);
  assert_int_equal(fc_scoring_parse("best", &sc, &e), FC_EINVAL);
  gps_teardown(&g);
}

/* ties past the first fetch: 70 references at the same distance (k + 8 < 70), so the search must be
 * widened until the tie ends; plus one far reference that must not be a hit. One of the 70 carries
 * GO:0000012 (child of 11): its score (1/3)/70 rounds to 0.00 and is dropped BEFORE the leaf
 * reduction (goPredSim's order), so its parent 11 stays. */
static void test_gopredsim_wide_tie(void **state) {
  (void)state;
  gps_env g;
  gps_setup(&g); /* ontology and folder; the store is replaced below */
  unlink(g.store);
  fc_refdb *db;
  fc_error e;
  assert_int_equal(fc_refdb_create(g.store, &db, &e), FC_OK);
  assert_int_equal(fc_refdb_add_go_term(db, "GO:0000011", 'P', "t", &e), FC_OK);
  assert_int_equal(fc_refdb_add_go_term(db, "GO:0000012", 'P', "t", &e), FC_OK);
  enum { NR = 71 };
  int64_t sid[NR];
  float m[2 * NR];
  for (int i = 0; i < NR; i++) {
    char seq[16], id[16];
    snprintf(seq, sizeof seq, "M%c%c", 'A' + i % 20, 'A' + i / 20);
    snprintf(id, sizeof id, "R%d", i);
    assert_int_equal(fc_refdb_add_sequence(db, seq, &sid[i], &e), FC_OK);
    assert_int_equal(fc_refdb_add_protein(db, id, id, sid[i], "g", "org", "9606", &e), FC_OK);
    assert_int_equal(fc_refdb_add_annotation(db, id, i == 7 ? "GO:0000012" : "GO:0000011", "EXP", &e), FC_OK);
    /* rows 0..69 at distance 1 in different directions (exactly representable), row 20 at distance 2 */
    m[2 * i] = i < NR - 1 ? (i % 2 ? 1.0f : -1.0f) : 2.0f;
    m[2 * i + 1] = 0;
  }
  int64_t tid;
  assert_int_equal(fc_refdb_add_embedding_type(db, "ESM", 0, NULL, &tid, &e), FC_OK);
  assert_int_equal(fc_refdb_put_matrix(db, tid, 0, NULL, sid, m, NR, 2, &e), FC_OK);
  assert_int_equal(fc_refdb_close(db, 1, &e), FC_OK);
  /* 70 hits at RI 1/3: 11 = 69 (1/3) / 70 = 0.3286 -> 0.33; 12 = (1/3) / 70 = 0.0048 -> 0.00, dropped */
  expect_preds(&g, FC_SCORING_GOPREDSIM, 1, "ESM 0 Q GO:0000011 0.3300\n");
  fc_raw_table *t = NULL;
  fc_predictions *p = gps_run(&g, FC_SCORING_GOPREDSIM, 1, &t);
  assert_int_equal(fc_raw_table_size(t), 70);
  fc_raw_table_free(t);
  fc_predictions_free(p);
  gps_teardown(&g);
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

/* sizes for --max-memory / embedding.max_memory, and the text failure reasons print */
static void test_byte_sizes(void **state) {
  (void)state;
  static const struct {
    const char *s;
    size_t want;
  } good[] = {{"8G", (size_t)8 << 30},
              {"1.5g", (size_t)3 << 29},
              {"512MiB", (size_t)512 << 20},
              {"1000000", 1000000},
              {"100K", 102400},
              {"2KB", 2048},
              {"1T", (size_t)1 << 40},
              {"3b", 3}};
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    size_t v = 0;
    fc_error e = {0};
    assert_int_equal(fc_parse_bytes(good[i].s, &v, &e), FC_OK);
    assert_true(v == good[i].want);
  }
  static const char *const bad[] = {"",    "G",   "-1G", "0",   "0.1", "8X",
                                    "8GG", " 8G", "8 G", "nan", "inf", "1e30T"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    size_t v = 7;
    fc_error e = {0};
    assert_int_equal(fc_parse_bytes(bad[i], &v, &e), FC_EINVAL);
    assert_true(v == 7 && strlen(e.msg) > 0);
  }
  char b[32];
  fc_format_bytes((size_t)8 << 30, b, sizeof b);
  assert_string_equal(b, "8 GiB");
  fc_format_bytes((size_t)(12.3 * 1073741824.0), b, sizeof b);
  assert_string_equal(b, "12.3 GiB");
  fc_format_bytes(900, b, sizeof b);
  assert_string_equal(b, "900 B");
  fc_format_bytes((size_t)512 << 20, b, sizeof b);
  assert_string_equal(b, "512 MiB");
  assert_true(fc_embed_default_memory() >= (size_t)256 << 20);
}

int main(void) {
  fc_log_set_level(FC_LOG_WARN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_models_layers_ties_expansion),
      cmocka_unit_test(test_filters),
      cmocka_unit_test(test_byte_sizes),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_self_by_uniprot_accession),
      cmocka_unit_test(test_gopredsim),
      cmocka_unit_test(test_gopredsim_wide_tie),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
