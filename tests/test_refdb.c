/* Tests for src/refdb: the SQLite reference store and the FANTASIA-Lite import. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fantasia/refdb.h"

#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[256];

static int setup_dir(void **state) {
  (void)state;
  snprintf(tmpdir, sizeof tmpdir, "/tmp/fc_test_refdb_XXXXXX");
  return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_dir(void **state) {
  (void)state;
  char *cmd = fc_sprintf("rm -rf '%s'", tmpdir);
  int rc = system(cmd);
  free(cmd);
  return rc == 0 ? 0 : -1;
}

static char *tpath(const char *name) {
  return fc_path_join(tmpdir, name);
}

static char *fixture(const char *rel) {
  const char *f = getenv("FC_FIXTURES");
  char *base = fc_path_join(f ? f : "tests/fixtures", "lite");
  char *p = fc_path_join(base, rel);
  free(base);
  return p;
}

static int sanitize(void) {
  const char *s = getenv("FC_SANITIZE");
  return s && (!strcmp(s, "1") || !strcmp(s, "ON") || !strcmp(s, "TRUE"));
}

static uint64_t rng_state = 88172645463325252ull;
static uint64_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}
static float rndf(void) {
  return (float)((double)(rnd() >> 11) / 9007199254740992.0 * 4.0 - 2.0);
}

static void test_md5(void **state) {
  (void)state;
  char h[33];
  fc_md5_hex("", 0, h);
  assert_string_equal(h, "d41d8cd98f00b204e9800998ecf8427e");
  fc_md5_hex("abc", 3, h);
  assert_string_equal(h, "900150983cd24fb0d6963f7d28e17f72");
  const char *l = "12345678901234567890123456789012345678901234567890123456789012345678901234567890";
  fc_md5_hex(l, strlen(l), h);
  assert_string_equal(h, "57edf4a22be3c955ac49da2e2107b67a");
  fc_md5_hex("The quick brown fox jumps over the lazy dog", 43, h);
  assert_string_equal(h, "9e107d9d372bb6826bd81d3542a419d6");
}

/* Builds a store with n sequences, proteins, GO and two matrices. */
static void test_build_and_read(void **state) {
  (void)state;
  fc_error err;
  char *path = tpath("store.fcref");
  fc_refdb *db = NULL;
  assert_int_equal(fc_refdb_create(path, &db, &err), FC_OK);
  const size_t n = 2100, dim = sanitize() ? 2100 : 2100; /* dim 2100 -> 1997 rows per block: 2 blocks */
  int64_t *sid = malloc(n * sizeof *sid);
  for (size_t i = 0; i < n; i++) {
    char seq[64];
    snprintf(seq, sizeof seq, "MKV%zuLLA", i);
    assert_int_equal(fc_refdb_add_sequence(db, seq, &sid[i], &err), FC_OK);
  }
  int64_t again;
  assert_int_equal(fc_refdb_add_sequence(db, "MKV5LLA", &again, &err), FC_OK);
  assert_int_equal(again, sid[5]); /* identical sequences share one id */
  /* proteins: P1 and P2 share sequence sid[0]; P3 on sid[1]; P4 on sid[2] without GO */
  assert_int_equal(fc_refdb_add_protein(db, "P1_HUMAN", "P00001", sid[0], "G1", "Homo sapiens", "9606", &err),
                   FC_OK);
  assert_int_equal(
      fc_refdb_add_protein(db, "P2_MOUSE", "P00002", sid[0], NULL, "Mus musculus", "10090", &err), FC_OK);
  assert_int_equal(fc_refdb_add_protein(db, "P3_YEAST", NULL, sid[1], "G3", NULL, "559292", &err), FC_OK);
  assert_int_equal(fc_refdb_add_protein(db, "P4_ECOLI", "P00004", sid[2], NULL, NULL, NULL, &err), FC_OK);
  assert_int_equal(fc_refdb_add_protein(db, "P1_HUMAN", "X", sid[3], NULL, NULL, NULL, &err), FC_EDUPLICATE);
  assert_non_null(strstr(err.msg, "P1_HUMAN"));
  assert_int_equal(fc_refdb_add_protein(db, "P9", "X", 999999, NULL, NULL, NULL, &err), FC_ENOTFOUND);
  assert_int_equal(fc_refdb_add_go_term(db, "GO:0005515", 'F', "protein binding", &err), FC_OK);
  assert_int_equal(fc_refdb_add_go_term(db, "GO:0005634", 'C', "nucleus", &err), FC_OK);
  assert_int_equal(fc_refdb_add_go_term(db, "GO:0006915", 'P', "apoptotic process", &err), FC_OK);
  assert_int_equal(fc_refdb_add_go_term(db, "GO:0000001", 0, NULL, &err), FC_OK);
  assert_int_equal(fc_refdb_add_go_term(db, "GO:0000002", 'X', NULL, &err), FC_EINVAL);
  assert_int_equal(fc_refdb_add_annotation(db, "P1_HUMAN", "GO:0005634", "IDA", &err), FC_OK);
  assert_int_equal(fc_refdb_add_annotation(db, "P1_HUMAN", "GO:0005515", "IPI", &err), FC_OK);
  assert_int_equal(fc_refdb_add_annotation(db, "P1_HUMAN", "GO:0005515", "EXP", &err), FC_OK); /* counted */
  assert_int_equal(fc_refdb_add_annotation(db, "P2_MOUSE", "GO:0006915", "IMP", &err), FC_OK);
  assert_int_equal(fc_refdb_add_annotation(db, "P2_MOUSE", "GO:0000001", NULL, &err), FC_OK);
  assert_int_equal(fc_refdb_add_annotation(db, "P3_YEAST", "GO:9999999", "TAS", &err), FC_OK); /* no term */
  assert_int_equal(fc_refdb_add_annotation(db, "NOPE", "GO:0005515", "TAS", &err), FC_ENOTFOUND);
  assert_int_equal(fc_refdb_duplicate_annotations(db), 1);

  int64_t t5, custom, t5b;
  assert_int_equal(fc_refdb_add_embedding_type(db, "Prot-T5", 0, NULL, &t5, &err), FC_OK);
  assert_int_equal(t5, 3);
  assert_int_equal(fc_refdb_add_embedding_type(db, "prot-t5", 0, NULL, &t5b, &err), FC_EDUPLICATE);
  assert_int_equal(fc_refdb_add_embedding_type(db, "MyModel", 0, "org/my-model", &custom, &err), FC_OK);
  assert_true(custom != 3 && custom > 0);
  assert_int_equal(fc_refdb_set_meta(db, "provenance", "unit test", &err), FC_OK);

  /* matrix rows in shuffled order */
  size_t *perm = malloc(n * sizeof *perm);
  for (size_t i = 0; i < n; i++)
    perm[i] = i;
  for (size_t i = n - 1; i > 0; i--) {
    size_t j = rnd() % (i + 1), t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
  int64_t *ids = malloc(n * sizeof *ids);
  float *data = malloc(n * dim * sizeof *data);
  for (size_t i = 0; i < n; i++) {
    ids[i] = sid[perm[i]];
    for (size_t j = 0; j < dim; j++)
      data[i * dim + j] = rndf();
  }
  assert_int_equal(fc_refdb_put_matrix(db, t5, 0, "mean", ids, data, n, dim, &err), FC_OK);
  assert_int_equal(fc_refdb_put_matrix(db, t5, 0, "mean", ids, data, n, dim, &err), FC_EDUPLICATE);
  assert_int_equal(fc_refdb_put_matrix(db, t5, 2, "mean", ids, data, 3, 7, &err), FC_OK); /* layer 2: 3 x 7 */
  assert_int_equal(fc_refdb_put_matrix(db, 77, 0, "mean", ids, data, 3, 7, &err), FC_ENOTFOUND);
  int64_t dup_ids[2] = {sid[0], sid[0]};
  assert_int_equal(fc_refdb_put_matrix(db, custom, 0, "mean", dup_ids, data, 2, 7, &err), FC_EDUPLICATE);
  int64_t bad_ids[1] = {123456789};
  assert_int_equal(fc_refdb_put_matrix(db, custom, 0, "mean", bad_ids, data, 1, 7, &err), FC_ENOTFOUND);
  float big[3] = {1, 70000.0f, 2};
  assert_int_equal(fc_refdb_put_matrix(db, custom, 0, "mean", sid, big, 1, 3, &err), FC_EINVAL);
  assert_non_null(strstr(err.msg, "fp16"));

  assert_false(fc_file_exists(path)); /* only the temporary exists while building */
  assert_int_equal(fc_refdb_close(db, 1, &err), FC_OK);
  assert_true(fc_file_exists(path));
  char *tmp = fc_tmp_path_for(path);
  assert_false(fc_file_exists(tmp));
  free(tmp);

  /* ---- read back ---- */
  assert_int_equal(fc_refdb_open(path, &db, &err), FC_OK);
  assert_int_equal(fc_refdb_add_sequence(db, "MKV", NULL, &err), FC_EINVAL); /* read-only */
  fc_refdb_space *sp;
  size_t nsp;
  assert_int_equal(fc_refdb_spaces(db, &sp, &nsp, &err), FC_OK);
  assert_int_equal(nsp, 2);
  assert_int_equal(sp[0].type_id, 3);
  assert_string_equal(sp[0].name, "Prot-T5");
  assert_string_equal(sp[0].model_name, "Rostlab/prot_t5_xl_uniref50");
  assert_int_equal(sp[0].layer, 0);
  assert_int_equal(sp[0].n_rows, n);
  assert_int_equal(sp[0].dim, dim);
  assert_string_equal(sp[0].pooling, "mean");
  assert_int_equal(sp[1].layer, 2);
  assert_int_equal(sp[1].n_rows, 3);
  fc_refdb_spaces_free(sp, nsp);
  fc_refdb_space one;
  assert_int_equal(fc_refdb_find_space(db, "PROT-T5", 2, &one, &err), FC_OK);
  assert_int_equal(one.dim, 7);
  fc_refdb_space_clear(&one);
  assert_int_equal(fc_refdb_find_space(db, "3", 0, &one, &err), FC_OK);
  assert_int_equal(one.n_rows, n);
  fc_refdb_space_clear(&one);
  assert_int_equal(fc_refdb_find_space(db, "ESM", 0, &one, &err), FC_ENOTFOUND);
  assert_non_null(strstr(err.msg, "Prot-T5 (id 3) layer 0"));
  assert_non_null(strstr(err.msg, "layer 2"));

  fc_refmatrix m;
  assert_int_equal(fc_refdb_load_matrix(db, 3, 0, &m, &err), FC_OK);
  assert_int_equal(m.n, n);
  assert_int_equal(m.dim, dim);
  assert_int_equal((uintptr_t)m.data % 64, 0);
  for (size_t r = 0; r < n; r++) {
    if (r) assert_true(m.sequence_ids[r] > m.sequence_ids[r - 1]);
    size_t src = 0; /* input row with this id */
    for (size_t i = 0; i < n; i++)
      if (ids[i] == m.sequence_ids[r]) src = i;
    double ss = 0;
    for (size_t j = 0; j < dim; j++) {
      float want = fc_f16_to_f32(fc_f32_to_f16(data[src * dim + j]));
      if (m.data[r * dim + j] != want) fail_msg("row %zu col %zu: %g != %g", r, j, m.data[r * dim + j], want);
      ss += (double)want * want;
    }
    assert_float_equal(m.norms[r], sqrt(ss), 1e-4 * sqrt(ss) + 1e-6);
  }
  fc_refmatrix_free(&m);
  assert_int_equal(fc_refdb_load_matrix(db, 3, 1, &m, &err), FC_ENOTFOUND);

  fc_refcatalog *cat;
  assert_int_equal(fc_refdb_load_catalog(db, &cat, &err), FC_OK);
  assert_int_equal(fc_refcatalog_count(cat), n);
  const fc_ref_sequence *s0 = fc_refcatalog_get(cat, sid[0]);
  assert_non_null(s0);
  assert_string_equal(s0->sequence, "MKV0LLA");
  assert_int_equal(s0->n_proteins, 2);
  assert_string_equal(s0->proteins[0].protein_id, "P1_HUMAN");
  assert_string_equal(s0->proteins[0].taxonomy_id, "9606");
  assert_string_equal(s0->proteins[0].gene_name, "G1");
  assert_int_equal(s0->proteins[0].n_go, 2);
  assert_string_equal(s0->proteins[0].go[0].go_id, "GO:0005515");
  assert_string_equal(s0->proteins[0].go[0].evidence, "IPI"); /* first kept */
  assert_int_equal(s0->proteins[0].go[0].category, 'F');
  assert_string_equal(s0->proteins[0].go[0].description, "protein binding");
  assert_string_equal(s0->proteins[0].go[1].go_id, "GO:0005634");
  assert_string_equal(s0->proteins[1].protein_id, "P2_MOUSE");
  assert_string_equal(s0->proteins[1].taxonomy_id, "10090");
  assert_null(s0->proteins[1].gene_name);
  assert_int_equal(s0->proteins[1].n_go, 2);
  assert_string_equal(s0->proteins[1].go[0].go_id, "GO:0000001");
  assert_int_equal(s0->proteins[1].go[0].category, 0);
  assert_null(s0->proteins[1].go[0].description);
  assert_string_equal(s0->proteins[1].go[0].evidence, "UNKNOWN");
  const fc_ref_sequence *s1 = fc_refcatalog_get(cat, sid[1]);
  assert_int_equal(s1->n_proteins, 1);
  assert_int_equal(s1->proteins[0].n_go, 0); /* its GO term is not in go_terms: dropped */
  assert_null(s1->proteins[0].accession);
  assert_int_equal(fc_refcatalog_get(cat, sid[2])->proteins[0].n_go, 0);
  assert_int_equal(fc_refcatalog_get(cat, sid[3])->n_proteins, 0);
  assert_null(fc_refcatalog_get(cat, 999999));
  assert_null(fc_refcatalog_get(cat, -5));
  assert_int_equal(fc_refcatalog_at(cat, 0)->id, sid[0]);
  assert_null(fc_refcatalog_at(cat, n));
  fc_refcatalog_free(cat);

  fc_refdb_info info;
  assert_int_equal(fc_refdb_get_info(db, &info, &err), FC_OK);
  assert_int_equal(info.schema_version, FC_REFDB_SCHEMA_VERSION);
  assert_int_equal(info.sequences, n);
  assert_int_equal(info.proteins, 4);
  assert_int_equal(info.go_terms, 4);
  assert_int_equal(info.annotations, 5);
  assert_int_equal(info.annotations_without_go_term, 1);
  assert_int_equal(info.n_evidence, 5); /* IDA IMP IPI TAS UNKNOWN */
  assert_string_equal(info.evidence[0].code, "IDA");
  assert_int_equal(info.evidence[0].count, 1);
  assert_int_equal(info.n_spaces, 2);
  int seen = 0;
  for (size_t i = 0; i < info.n_meta; i++) {
    if (!strcmp(info.meta[i].key, "provenance")) seen += !strcmp(info.meta[i].value, "unit test");
    if (!strcmp(info.meta[i].key, "evidence_codes"))
      seen += !strcmp(info.meta[i].value, "IDA,IMP,IPI,TAS,UNKNOWN");
    if (!strcmp(info.meta[i].key, "duplicate_annotations_ignored")) seen += !strcmp(info.meta[i].value, "1");
    if (!strcmp(info.meta[i].key, "schema_version")) seen += !strcmp(info.meta[i].value, "1");
    if (!strcmp(info.meta[i].key, "created_at")) seen++;
  }
  assert_int_equal(seen, 5);
  fc_refdb_info_free(&info);
  assert_int_equal(fc_refdb_close(db, 0, &err), FC_OK);
  free(sid);
  free(ids);
  free(data);
  free(perm);
  free(path);
}

static void test_failed_build_leaves_no_file(void **state) {
  (void)state;
  fc_error err;
  char *path = tpath("failed.fcref");
  char *tmp = fc_tmp_path_for(path);
  fc_refdb *db;
  assert_int_equal(fc_refdb_create(path, &db, &err), FC_OK);
  int64_t s[3];
  assert_int_equal(fc_refdb_add_sequence(db, "AAA", &s[0], &err), FC_OK);
  assert_int_equal(fc_refdb_add_sequence(db, "CCC", &s[1], &err), FC_OK);
  assert_int_equal(fc_refdb_add_sequence(db, "GGG", &s[2], &err), FC_OK);
  int64_t t;
  assert_int_equal(fc_refdb_add_embedding_type(db, "ESM", 0, NULL, &t, &err), FC_OK);
  assert_int_equal(t, 1);
  float d[6] = {1, 2, 3, 4, NAN, 6};
  int64_t ids[3] = {s[2], s[0], s[1]};
  assert_int_equal(fc_refdb_put_matrix(db, t, 0, "mean", ids, d, 3, 2, &err), FC_EINVAL);
  char want[64];
  snprintf(want, sizeof want, "sequence id %lld", (long long)s[1]);
  assert_non_null(strstr(err.msg, want));
  d[4] = INFINITY;
  assert_int_equal(fc_refdb_put_matrix(db, t, 0, "mean", ids, d, 3, 2, &err), FC_EINVAL);
  assert_true(fc_file_exists(tmp));
  assert_int_equal(fc_refdb_close(db, 0, &err), FC_OK);
  assert_false(fc_file_exists(path));
  assert_false(fc_file_exists(tmp));
  free(tmp);
  free(path);
}

static void write_text(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static void test_open_errors(void **state) {
  (void)state;
  fc_error err;
  fc_refdb *db = NULL;
  char *missing = tpath("missing.fcref");
  assert_int_equal(fc_refdb_open(missing, &db, &err), FC_ENOTFOUND);
  assert_null(db);
  char *text = tpath("text.fcref");
  write_text(text, "this is not a database at all, just some text that is long enough to have a header...\n");
  assert_int_equal(fc_refdb_open(text, &db, &err), FC_EFORMAT);
  assert_non_null(strstr(err.msg, "not a SQLite database"));
  /* a SQLite file that is not ours */
  char *other = tpath("other.sqlite");
  sqlite3 *s;
  assert_int_equal(sqlite3_open(other, &s), SQLITE_OK);
  assert_int_equal(sqlite3_exec(s, "CREATE TABLE t(x); INSERT INTO t VALUES (1);", NULL, NULL, NULL),
                   SQLITE_OK);
  sqlite3_close(s);
  assert_int_equal(fc_refdb_open(other, &db, &err), FC_EFORMAT);
  assert_non_null(strstr(err.msg, "not a fantasia.c reference store"));
  /* ours, but another schema version */
  char *ver = tpath("version.fcref");
  assert_int_equal(fc_refdb_create(ver, &db, &err), FC_OK);
  assert_int_equal(fc_refdb_close(db, 1, &err), FC_OK);
  assert_int_equal(fc_refdb_open(ver, &db, &err), FC_OK); /* an empty store opens */
  fc_refdb_space *sp;
  size_t nsp;
  assert_int_equal(fc_refdb_spaces(db, &sp, &nsp, &err), FC_OK);
  assert_int_equal(nsp, 0);
  fc_refdb_spaces_free(sp, nsp);
  fc_refdb_space one;
  assert_int_equal(fc_refdb_find_space(db, "ESM", 0, &one, &err), FC_ENOTFOUND);
  assert_non_null(strstr(err.msg, "no embeddings at all"));
  fc_refcatalog *cat;
  assert_int_equal(fc_refdb_load_catalog(db, &cat, &err), FC_OK);
  assert_int_equal(fc_refcatalog_count(cat), 0);
  assert_null(fc_refcatalog_get(cat, 1));
  fc_refcatalog_free(cat);
  fc_refdb_close(db, 0, NULL);
  assert_int_equal(sqlite3_open(ver, &s), SQLITE_OK);
  assert_int_equal(
      sqlite3_exec(s, "PRAGMA user_version=99; UPDATE meta SET value='99' WHERE key='schema_version';", NULL,
                   NULL, NULL),
      SQLITE_OK);
  sqlite3_close(s);
  assert_int_equal(fc_refdb_open(ver, &db, &err), FC_EUNSUPPORTED);
  assert_non_null(strstr(err.msg, "schema version 99"));
  assert_null(db);
  free(missing);
  free(text);
  free(other);
  free(ver);
}

/* A store whose blocks were damaged after the build: clean FC_EFORMAT, no crash. */
static void test_damaged_store(void **state) {
  (void)state;
  fc_error err;
  char *path = tpath("damaged_blocks.fcref");
  fc_refdb *db;
  assert_int_equal(fc_refdb_create(path, &db, &err), FC_OK);
  int64_t ids[3], t;
  assert_int_equal(fc_refdb_add_sequence(db, "AAA", &ids[0], &err), FC_OK);
  assert_int_equal(fc_refdb_add_sequence(db, "CCC", &ids[1], &err), FC_OK);
  assert_int_equal(fc_refdb_add_sequence(db, "GGG", &ids[2], &err), FC_OK);
  assert_int_equal(fc_refdb_add_embedding_type(db, "ESM", 0, NULL, &t, &err), FC_OK);
  float d[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  assert_int_equal(fc_refdb_put_matrix(db, t, 0, "mean", ids, d, 3, 4, &err), FC_OK);
  assert_int_equal(fc_refdb_put_matrix(db, t, 1, "mean", ids, d, 3, 4, &err), FC_OK);
  assert_int_equal(fc_refdb_put_matrix(db, t, 2, "mean", ids, d, 3, 4, &err), FC_OK);
  assert_int_equal(fc_refdb_close(db, 1, &err), FC_OK);
  sqlite3 *s;
  assert_int_equal(sqlite3_open(path, &s), SQLITE_OK);
  assert_int_equal(
      sqlite3_exec(s,
                   "UPDATE embedding_block SET data = substr(data, 1, 10) WHERE layer_index = 0;"
                   "UPDATE embedding_block SET n_rows = 0 WHERE layer_index = 1;"
                   "UPDATE embedding_block SET sequence_ids = zeroblob(24) WHERE layer_index = 2;",
                   NULL, NULL, NULL),
      SQLITE_OK);
  sqlite3_close(s);
  assert_int_equal(fc_refdb_open(path, &db, &err), FC_OK);
  fc_refmatrix m;
  assert_int_equal(fc_refdb_load_matrix(db, t, 0, &m, &err), FC_EFORMAT);
  assert_non_null(strstr(err.msg, "data blob"));
  assert_null(m.data);
  assert_int_equal(fc_refdb_load_matrix(db, t, 1, &m, &err), FC_EFORMAT);
  assert_non_null(strstr(err.msg, "bad shape"));
  assert_int_equal(fc_refdb_load_matrix(db, t, 2, &m, &err), FC_EFORMAT);
  assert_non_null(strstr(err.msg, "not strictly increasing"));
  fc_refdb_close(db, 0, NULL);
  free(path);
}

/* Reads tests/fixtures/lite/good/expected_<model>.txt and compares with the store's matrix. */
static void check_lite_matrix(fc_refdb *db, const char *model, size_t want_rows, size_t want_dim) {
  fc_error err;
  fc_refdb_space sp;
  assert_int_equal(fc_refdb_find_space(db, model, 0, &sp, &err), FC_OK);
  assert_int_equal(sp.n_rows, want_rows);
  assert_int_equal(sp.dim, want_dim);
  assert_string_equal(sp.pooling, FC_REFDB_LITE_POOLING);
  fc_refmatrix m;
  assert_int_equal(fc_refdb_load_matrix(db, sp.type_id, 0, &m, &err), FC_OK);
  char *rel = fc_sprintf("good/expected_%s.txt", model);
  char *p = fixture(rel);
  FILE *f = fopen(p, "r");
  assert_non_null(f);
  for (size_t r = 0; r < m.n; r++) {
    long long id;
    assert_int_equal(fscanf(f, "%lld", &id), 1);
    assert_int_equal(m.sequence_ids[r], id);
    for (size_t j = 0; j < m.dim; j++) {
      double v;
      assert_int_equal(fscanf(f, "%lf", &v), 1);
      assert_true(m.data[r * m.dim + j] == (float)v);
    }
  }
  fclose(f);
  free(p);
  free(rel);
  fc_refmatrix_free(&m);
  fc_refdb_space_clear(&sp);
}

static void test_import_lite(void **state) {
  (void)state;
  fc_error err;
  char *npz = fixture("good/lookup_table.npz"), *ann = fixture("good/annotations.json");
  char *acc = fixture("good/accessions.json");
  char *out = tpath("lite.fcref");
  assert_int_equal(fc_refdb_import_lite(npz, ann, acc, out, NULL, &err), FC_OK);
  fc_refdb *db;
  assert_int_equal(fc_refdb_open(out, &db, &err), FC_OK);
  fc_refdb_space *sp;
  size_t nsp;
  assert_int_equal(fc_refdb_spaces(db, &sp, &nsp, &err), FC_OK);
  assert_int_equal(nsp, 2);
  assert_int_equal(sp[0].type_id, 3);
  assert_string_equal(sp[0].name, "Prot-T5");
  assert_int_equal(sp[1].type_id, 4);
  assert_string_equal(sp[1].name, "Ankh3-Large");
  fc_refdb_spaces_free(sp, nsp);
  check_lite_matrix(db, "Prot-T5", 5, 8);
  check_lite_matrix(db, "Ankh3-Large", 4, 6);
  fc_refcatalog *cat;
  assert_int_equal(fc_refdb_load_catalog(db, &cat, &err), FC_OK);
  assert_int_equal(fc_refcatalog_count(cat), 6); /* union: 3 7 42 105 1000 2000 */
  const fc_ref_sequence *s7 = fc_refcatalog_get(cat, 7);
  assert_non_null(s7);
  assert_string_equal(s7->sequence, "");
  assert_int_equal(s7->n_proteins, 1);
  assert_string_equal(s7->proteins[0].protein_id, "7");
  assert_string_equal(s7->proteins[0].accession, "P04637");
  assert_int_equal(s7->proteins[0].n_go, 2);
  assert_string_equal(s7->proteins[0].go[0].go_id, "GO:0005515");
  assert_string_equal(s7->proteins[0].go[0].evidence, "IPI");
  assert_string_equal(s7->proteins[0].go[1].description, "nucleus");
  const fc_ref_sequence *s42 = fc_refcatalog_get(cat, 42); /* single object, not a list */
  assert_int_equal(s42->proteins[0].n_go, 1);
  assert_int_equal(s42->proteins[0].go[0].category, 'P');
  assert_string_equal(fc_refcatalog_get(cat, 3)->proteins[0].accession, "12345");
  assert_int_equal(fc_refcatalog_get(cat, 1000)->proteins[0].n_go, 0);
  assert_non_null(fc_refcatalog_get(cat, 2000));
  assert_null(fc_refcatalog_get(cat, 999999)); /* annotated but never embedded: skipped */
  fc_refcatalog_free(cat);
  fc_refdb_info info;
  assert_int_equal(fc_refdb_get_info(db, &info, &err), FC_OK);
  assert_int_equal(info.annotations, 5);
  assert_int_equal(info.go_terms, 4);
  int seen = 0;
  for (size_t i = 0; i < info.n_meta; i++) {
    if (!strcmp(info.meta[i].key, "source")) seen += !strcmp(info.meta[i].value, "fantasia-lite");
    if (!strcmp(info.meta[i].key, "duplicate_annotations_ignored")) seen += !strcmp(info.meta[i].value, "1");
    if (!strcmp(info.meta[i].key, "evidence_codes")) seen += !strcmp(info.meta[i].value, "EXP,IDA,IMP,IPI");
  }
  assert_int_equal(seen, 3);
  fc_refdb_info_free(&info);
  fc_refdb_close(db, 0, NULL);

  /* bare ids/embeddings: model "default", integer ids, float64 data; no accessions file */
  char *dnpz = fixture("default/lookup_table.npz");
  char *dout = tpath("default.fcref");
  fc_lite_import_opts o = {"test provenance", "EXP,IDA"};
  assert_int_equal(fc_refdb_import_lite(dnpz, ann, NULL, dout, &o, &err), FC_OK);
  assert_int_equal(fc_refdb_open(dout, &db, &err), FC_OK);
  fc_refdb_space one;
  assert_int_equal(fc_refdb_find_space(db, "default", 0, &one, &err), FC_OK);
  assert_int_equal(one.n_rows, 3);
  assert_int_equal(one.dim, 4);
  fc_refmatrix m;
  assert_int_equal(fc_refdb_load_matrix(db, one.type_id, 0, &m, &err), FC_OK);
  assert_int_equal(m.sequence_ids[0], 11);
  assert_int_equal(m.sequence_ids[2], 13);
  fc_refmatrix_free(&m);
  fc_refdb_space_clear(&one);
  fc_refdb_close(db, 0, NULL);
  /* non-numeric ids: sequence ids 1..N in sorted id order */
  char *nnpz = fixture("named/lookup_table.npz"), *nann = fixture("named/annotations.json");
  char *nout = tpath("named.fcref");
  assert_int_equal(fc_refdb_import_lite(nnpz, nann, NULL, nout, NULL, &err), FC_OK);
  assert_int_equal(fc_refdb_open(nout, &db, &err), FC_OK);
  assert_int_equal(fc_refdb_load_matrix(db, 3, 0, &m, &err), FC_OK);
  assert_int_equal(m.n, 3);
  for (size_t i = 0; i < 3; i++) {
    assert_int_equal(m.sequence_ids[i], (int64_t)i + 1);
    assert_true(m.data[2 * i] == (float)(i + 1)); /* A1 -> 1, B7 -> 2, Q2 -> 3 */
  }
  fc_refmatrix_free(&m);
  assert_int_equal(fc_refdb_load_catalog(db, &cat, &err), FC_OK);
  const fc_ref_sequence *b7 = fc_refcatalog_get(cat, 2);
  assert_string_equal(b7->proteins[0].protein_id, "B7");
  assert_null(b7->proteins[0].accession);
  assert_int_equal(b7->proteins[0].n_go, 1);
  assert_int_equal(b7->proteins[0].go[0].category, 'C');
  assert_string_equal(b7->proteins[0].go[0].evidence, "UNKNOWN");
  fc_refcatalog_free(cat);
  fc_refdb_close(db, 0, NULL);
  free(nnpz);
  free(nann);
  free(nout);
  free(dnpz);
  free(dout);
  free(npz);
  free(ann);
  free(acc);
  free(out);
}

static void expect_import_fail(const char *npz_rel, const char *ann_rel, fc_status want, const char *substr) {
  fc_error err;
  char *npz = fixture(npz_rel), *ann = fixture(ann_rel);
  char *out = tpath("damaged.fcref");
  fc_status st = fc_refdb_import_lite(npz, ann, NULL, out, NULL, &err);
  if (st != want)
    fail_msg("%s + %s: got %s (%s), want %s", npz_rel, ann_rel, fc_status_name(st), err.msg,
             fc_status_name(want));
  if (substr && !strstr(err.msg, substr)) fail_msg("message '%s' lacks '%s'", err.msg, substr);
  assert_false(fc_file_exists(out));
  char *tmp = fc_tmp_path_for(out);
  assert_false(fc_file_exists(tmp));
  free(tmp);
  free(npz);
  free(ann);
  free(out);
}

static void test_import_lite_damaged(void **state) {
  (void)state;
  expect_import_fail("bad/truncated.npz", "good/annotations.json", FC_EFORMAT, "truncated.npz");
  expect_import_fail("bad/bad_header.npz", "good/annotations.json", FC_EFORMAT, "X_embeddings.npy");
  expect_import_fail("bad/object_ids.npz", "good/annotations.json", FC_EUNSUPPORTED, "unicode");
  expect_import_fail("bad/missing_ids.npz", "good/annotations.json", FC_EFORMAT, "X_ids.npy");
  expect_import_fail("bad/short_data.npz", "good/annotations.json", FC_EFORMAT, "truncated or corrupt data");
  expect_import_fail("good/lookup_table.npz", "bad/bad.json", FC_EFORMAT, "malformed JSON");
  expect_import_fail("good/lookup_table.npz", "bad/not_object.json", FC_EFORMAT, "JSON object");
  expect_import_fail("good/annotations.json", "good/annotations.json", FC_EFORMAT, "lookup table");
  expect_import_fail("bad/nonexistent.npz", "good/annotations.json", FC_EIO, "nonexistent.npz");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_md5),
      cmocka_unit_test(test_build_and_read),
      cmocka_unit_test(test_failed_build_leaves_no_file),
      cmocka_unit_test(test_open_errors),
      cmocka_unit_test(test_damaged_store),
      cmocka_unit_test(test_import_lite),
      cmocka_unit_test(test_import_lite_damaged),
  };
  return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
