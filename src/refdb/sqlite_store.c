/* The embedded reference store: one SQLite file (format in docs/reference-format.md). */
#include "fantasia/models.h"
#include "fantasia/refdb.h"
#include "refdb/refdb_internal.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

enum { ST_SEQ_FIND, ST_SEQ_INS, ST_SEQ_INS_PH, ST_PROT_INS, ST_GO_INS, ST_ANN_INS, ST_SEQ_EXISTS, ST_COUNT };

static const char *const stmt_sql[ST_COUNT] = {
    "SELECT id, sequence FROM sequence WHERE sequence_hash = ?1",
    "INSERT INTO sequence(sequence, sequence_hash) VALUES (?1, ?2)",
    "INSERT INTO sequence(id, sequence, sequence_hash) VALUES (?1, '', NULL)",
    "INSERT INTO protein(id, accession, sequence_id, gene_name, organism, taxonomy_id) VALUES "
    "(?1,?2,?3,?4,?5,?6)",
    "INSERT OR IGNORE INTO go_terms(go_id, category, description) VALUES (?1, ?2, ?3)",
    "INSERT OR IGNORE INTO protein_go_term_annotation(protein_id, go_id, evidence_code) VALUES (?1, ?2, ?3)",
    "SELECT 1 FROM sequence WHERE id = ?1",
};

struct fc_refdb {
  sqlite3 *db;
  char *path;
  char *tmp_path; /* non-NULL while building */
  int writable;
  uint64_t dup_annotations;
  sqlite3_stmt *st[ST_COUNT];
};

static const char *schema_sql =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);"
    "CREATE TABLE sequence(id INTEGER PRIMARY KEY, sequence TEXT NOT NULL, sequence_hash TEXT UNIQUE);"
    "CREATE TABLE protein(id TEXT PRIMARY KEY, accession TEXT,"
    " sequence_id INTEGER NOT NULL REFERENCES sequence(id), gene_name TEXT, organism TEXT, taxonomy_id TEXT);"
    "CREATE INDEX idx_protein_sequence ON protein(sequence_id);"
    "CREATE TABLE go_terms(go_id TEXT PRIMARY KEY, category TEXT CHECK (category IN ('P','F','C')),"
    " description TEXT);"
    "CREATE TABLE protein_go_term_annotation(protein_id TEXT NOT NULL REFERENCES protein(id),"
    " go_id TEXT NOT NULL, evidence_code TEXT NOT NULL, PRIMARY KEY(protein_id, go_id)) WITHOUT ROWID;"
    "CREATE TABLE sequence_embedding_type(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE COLLATE NOCASE,"
    " description TEXT, task_name TEXT, model_name TEXT);"
    "CREATE TABLE embedding_block(embedding_type_id INTEGER NOT NULL REFERENCES sequence_embedding_type(id),"
    " layer_index INTEGER NOT NULL, block_no INTEGER NOT NULL, pooling TEXT, dim INTEGER NOT NULL,"
    " n_rows INTEGER NOT NULL, first_sequence_id INTEGER NOT NULL, last_sequence_id INTEGER NOT NULL,"
    " sequence_ids BLOB NOT NULL, norms BLOB NOT NULL, data BLOB NOT NULL,"
    " PRIMARY KEY(embedding_type_id, layer_index, block_no));";

static fc_status sql_fail(fc_refdb *db, fc_error *err, fc_status code, const char *what) {
  return fc_error_set(err, code, "%s: %s: %s", db->path, what, sqlite3_errmsg(db->db));
}

static fc_status exec(fc_refdb *db, const char *sql, fc_error *err) {
  char *msg = NULL;
  if (sqlite3_exec(db->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
    fc_status st =
        fc_error_set(err, FC_EIO, "%s: %s (while running: %.60s)", db->path, msg ? msg : "error", sql);
    sqlite3_free(msg);
    return st;
  }
  return FC_OK;
}

static int is_little_endian(void) {
  const uint16_t one = 1;
  uint8_t b;
  memcpy(&b, &one, 1);
  return b == 1;
}

static void free_handle(fc_refdb *db) {
  if (!db) return;
  for (int i = 0; i < ST_COUNT; i++)
    sqlite3_finalize(db->st[i]);
  if (db->db) sqlite3_close(db->db);
  if (db->tmp_path) unlink(db->tmp_path);
  free(db->path);
  free(db->tmp_path);
  free(db);
}

fc_status fc_refdb_create(const char *path, fc_refdb **out, fc_error *err) {
  *out = NULL;
  if (!path || !*path) return fc_error_set(err, FC_EINVAL, "reference store: empty output path");
  if (!is_little_endian())
    return fc_error_set(err, FC_EUNSUPPORTED, "%s: reference stores are written on little-endian hosts only",
                        path);
  fc_refdb *db = calloc(1, sizeof *db);
  if (!db) return fc_error_set(err, FC_ENOMEM, "out of memory");
  db->path = fc_strdup(path);
  db->tmp_path = fc_tmp_path_for(path);
  db->writable = 1;
  if (!db->path || !db->tmp_path) {
    free_handle(db);
    return fc_error_set(err, FC_ENOMEM, "out of memory");
  }
  unlink(db->tmp_path);
  if (sqlite3_open_v2(db->tmp_path, &db->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
    fc_status st = fc_error_set(err, FC_EIO, "%s: cannot create %s: %s", path, db->tmp_path,
                                db->db ? sqlite3_errmsg(db->db) : "out of memory");
    free_handle(db);
    return st;
  }
  char pragmas[512];
  snprintf(
      pragmas, sizeof pragmas,
      "PRAGMA page_size=65536; PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA foreign_keys=ON;"
      "PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY; PRAGMA application_id=%d; PRAGMA user_version=%d;",
      FC_REFDB_APPLICATION_ID, FC_REFDB_SCHEMA_VERSION);
  fc_status st = exec(db, pragmas, err);
  if (!st) st = exec(db, "BEGIN", err);
  if (!st) st = exec(db, schema_sql, err);
  for (int i = 0; !st && i < ST_COUNT; i++)
    if (sqlite3_prepare_v2(db->db, stmt_sql[i], -1, &db->st[i], NULL) != SQLITE_OK)
      st = sql_fail(db, err, FC_EIO, "prepare");
  if (!st) {
    char sv[16], now[32];
    snprintf(sv, sizeof sv, "%d", FC_REFDB_SCHEMA_VERSION);
    time_t t = time(NULL);
    struct tm tmv;
    gmtime_r(&t, &tmv);
    strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", &tmv);
    st = fc_refdb_set_meta(db, "schema_version", sv, err);
    if (!st) st = fc_refdb_set_meta(db, "created_at", now, err);
    if (!st) st = fc_refdb_set_meta(db, "builder", "fantasia.c refdb (SQLite " SQLITE_VERSION ")", err);
    if (!st) st = fc_refdb_set_meta(db, "format", "fantasia.c reference store", err);
  }
  if (st) {
    free_handle(db);
    return st;
  }
  *out = db;
  return FC_OK;
}

static int64_t query_int(fc_refdb *db, const char *sql, int64_t dflt) {
  sqlite3_stmt *s = NULL;
  int64_t v = dflt;
  if (sqlite3_prepare_v2(db->db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW &&
      sqlite3_column_type(s, 0) != SQLITE_NULL)
    v = sqlite3_column_int64(s, 0);
  sqlite3_finalize(s);
  return v;
}

fc_status fc_refdb_open(const char *path, fc_refdb **out, fc_error *err) {
  *out = NULL;
  if (!path || !*path) return fc_error_set(err, FC_EINVAL, "reference store: empty path");
  if (access(path, R_OK) != 0)
    return fc_error_set(err, errno == ENOENT ? FC_ENOTFOUND : FC_EIO, "%s: cannot open reference store: %s",
                        path, strerror(errno));
  fc_refdb *db = calloc(1, sizeof *db);
  if (!db) return fc_error_set(err, FC_ENOMEM, "out of memory");
  db->path = fc_strdup(path);
  if (!db->path || sqlite3_open_v2(path, &db->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
    fc_status st = fc_error_set(err, FC_EIO, "%s: cannot open reference store: %s", path,
                                db->db ? sqlite3_errmsg(db->db) : "out of memory");
    free_handle(db);
    return st;
  }
  /* The first read tells a SQLite file from anything else. */
  sqlite3_stmt *s = NULL;
  int rc = sqlite3_prepare_v2(db->db, "PRAGMA application_id", -1, &s, NULL);
  if (rc == SQLITE_OK) rc = sqlite3_step(s);
  int64_t app = (rc == SQLITE_ROW) ? sqlite3_column_int64(s, 0) : 0;
  sqlite3_finalize(s);
  if (rc != SQLITE_ROW) {
    fc_status st = fc_error_set(err, FC_EFORMAT, "%s: not a reference store: not a SQLite database (%s)",
                                path, sqlite3_errmsg(db->db));
    free_handle(db);
    return st;
  }
  int has_meta =
      query_int(db, "SELECT COUNT(*) FROM sqlite_master WHERE type='table' AND name='meta'", 0) > 0;
  if (app != FC_REFDB_APPLICATION_ID || !has_meta) {
    fc_status st =
        fc_error_set(err, FC_EFORMAT,
                     "%s: a SQLite database but not a fantasia.c reference store (application_id "
                     "0x%llx, %s meta table); build one with 'fantasia-c reference build/import-lite'",
                     path, (unsigned long long)app, has_meta ? "with" : "no");
    free_handle(db);
    return st;
  }
  int64_t uv = query_int(db, "PRAGMA user_version", -1);
  int64_t mv = query_int(db, "SELECT CAST(value AS INTEGER) FROM meta WHERE key='schema_version'", -1);
  if (uv != FC_REFDB_SCHEMA_VERSION || mv != FC_REFDB_SCHEMA_VERSION) {
    fc_status st = fc_error_set(err, FC_EUNSUPPORTED,
                                "%s: reference store schema version %lld (meta says %lld); this build reads "
                                "version %d; rebuild the store with this fantasia-c",
                                path, (long long)uv, (long long)mv, FC_REFDB_SCHEMA_VERSION);
    free_handle(db);
    return st;
  }
  fc_status st =
      exec(db, "PRAGMA query_only=1; PRAGMA mmap_size=68719476736; PRAGMA cache_size=-16384;", err);
  if (st) {
    free_handle(db);
    return st;
  }
  *out = db;
  return FC_OK;
}

fc_status fc_refdb_close(fc_refdb *db, int commit, fc_error *err) {
  if (!db) return FC_OK;
  fc_status st = FC_OK;
  if (db->writable && commit) {
    char buf[64];
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)db->dup_annotations);
    st = fc_refdb_set_meta(db, "duplicate_annotations_ignored", buf, err);
    if (!st && query_int(db, "SELECT COUNT(*) FROM meta WHERE key='evidence_codes'", 0) == 0)
      st = exec(
          db,
          "INSERT INTO meta(key, value) SELECT 'evidence_codes', COALESCE(group_concat(e, ','), '') FROM "
          "(SELECT DISTINCT evidence_code AS e FROM protein_go_term_annotation ORDER BY e)",
          err);
    if (!st) st = exec(db, "COMMIT", err);
    for (int i = 0; i < ST_COUNT; i++) {
      sqlite3_finalize(db->st[i]);
      db->st[i] = NULL;
    }
    if (!st && sqlite3_close(db->db) != SQLITE_OK)
      st = sql_fail(db, err, FC_EIO, "close");
    else
      db->db = NULL;
    if (!st) {
      st = fc_commit_tmp(db->tmp_path, db->path, err);
      free(db->tmp_path);
      db->tmp_path = NULL; /* renamed, or removed by fc_commit_tmp */
    }
  }
  free_handle(db); /* removes the temporary file when not committed */
  return st;
}

const char *fc_refdb_path(const fc_refdb *db) {
  return db ? db->path : NULL;
}

static fc_status need_writable(fc_refdb *db, fc_error *err) {
  if (!db) return fc_error_set(err, FC_EINVAL, "reference store: NULL handle");
  if (!db->writable) return fc_error_set(err, FC_EINVAL, "%s: store is open read-only", db->path);
  return FC_OK;
}

static int step_done(sqlite3_stmt *s) {
  int rc = sqlite3_step(s);
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
  return rc;
}

fc_status fc_refdb_set_meta(fc_refdb *db, const char *key, const char *value, fc_error *err) {
  fc_status st = need_writable(db, err);
  if (st) return st;
  if (!key || !*key) return fc_error_set(err, FC_EINVAL, "%s: empty meta key", db->path);
  sqlite3_stmt *s = NULL;
  if (sqlite3_prepare_v2(db->db, "INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)", -1, &s, NULL) !=
      SQLITE_OK)
    return sql_fail(db, err, FC_EIO, "meta");
  sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
  if (value) sqlite3_bind_text(s, 2, value, -1, SQLITE_STATIC);
  int rc = sqlite3_step(s);
  sqlite3_finalize(s);
  if (rc != SQLITE_DONE) return sql_fail(db, err, FC_EIO, "cannot set meta");
  return FC_OK;
}

fc_status fc_refdb_add_sequence(fc_refdb *db, const char *seq, int64_t *id_out, fc_error *err) {
  fc_status st = need_writable(db, err);
  if (st) return st;
  if (!seq) return fc_error_set(err, FC_EINVAL, "%s: NULL sequence", db->path);
  size_t len = strlen(seq);
  char hex[33];
  fc_md5_hex(seq, len, hex);
  sqlite3_stmt *f = db->st[ST_SEQ_FIND];
  sqlite3_bind_text(f, 1, hex, 32, SQLITE_STATIC);
  int rc = sqlite3_step(f);
  if (rc == SQLITE_ROW) {
    int64_t id = sqlite3_column_int64(f, 0);
    const char *old = (const char *)sqlite3_column_text(f, 1);
    int same = old && strcmp(old, seq) == 0;
    sqlite3_reset(f);
    sqlite3_clear_bindings(f);
    if (!same)
      return fc_error_set(err, FC_EDUPLICATE, "%s: md5 collision between a new sequence and sequence %lld",
                          db->path, (long long)id);
    if (id_out) *id_out = id;
    return FC_OK;
  }
  sqlite3_reset(f);
  sqlite3_clear_bindings(f);
  if (rc != SQLITE_DONE) return sql_fail(db, err, FC_EIO, "sequence lookup");
  sqlite3_stmt *s = db->st[ST_SEQ_INS];
  sqlite3_bind_text(s, 1, seq, (int)len, SQLITE_STATIC);
  sqlite3_bind_text(s, 2, hex, 32, SQLITE_STATIC);
  if (step_done(s) != SQLITE_DONE) return sql_fail(db, err, FC_EIO, "cannot insert sequence");
  if (id_out) *id_out = sqlite3_last_insert_rowid(db->db);
  return FC_OK;
}

fc_status fc_refdb_add_sequence_placeholder(fc_refdb *db, int64_t id, int64_t *id_out, fc_error *err) {
  fc_status st = need_writable(db, err);
  if (st) return st;
  if (id < 0) return fc_error_set(err, FC_EINVAL, "%s: negative sequence id %lld", db->path, (long long)id);
  sqlite3_stmt *s = db->st[ST_SEQ_INS_PH];
  if (id > 0) sqlite3_bind_int64(s, 1, id);
  int rc = step_done(s);
  if (rc != SQLITE_DONE) {
    if (sqlite3_extended_errcode(db->db) == SQLITE_CONSTRAINT_PRIMARYKEY)
      return fc_error_set(err, FC_EDUPLICATE, "%s: sequence id %lld already exists", db->path, (long long)id);
    return sql_fail(db, err, FC_EIO, "cannot insert sequence");
  }
  if (id_out) *id_out = sqlite3_last_insert_rowid(db->db);
  return FC_OK;
}

static void bind_opt(sqlite3_stmt *s, int i, const char *v) {
  if (v)
    sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
  else
    sqlite3_bind_null(s, i);
}

fc_status fc_refdb_add_protein(fc_refdb *db, const char *protein_id, const char *accession,
                               int64_t sequence_id, const char *gene_name, const char *organism,
                               const char *taxonomy_id, fc_error *err) {
  fc_status st = need_writable(db, err);
  if (st) return st;
  if (!protein_id || !*protein_id) return fc_error_set(err, FC_EINVAL, "%s: empty protein id", db->path);
  sqlite3_stmt *s = db->st[ST_PROT_INS];
  sqlite3_bind_text(s, 1, protein_id, -1, SQLITE_STATIC);
  bind_opt(s, 2, accession);
  sqlite3_bind_int64(s, 3, sequence_id);
  bind_opt(s, 4, gene_name);
  bind_opt(s, 5, organism);
  bind_opt(s, 6, taxonomy_id);
  if (step_done(s) != SQLITE_DONE) {
    int x = sqlite3_extended_errcode(db->db);
    if (x == SQLITE_CONSTRAINT_PRIMARYKEY || x == SQLITE_CONSTRAINT_UNIQUE)
      return fc_error_set(err, FC_EDUPLICATE, "%s: duplicate protein id '%s'", db->path, protein_id);
    if (x == SQLITE_CONSTRAINT_FOREIGNKEY)
      return fc_error_set(err, FC_ENOTFOUND, "%s: protein '%s' refers to unknown sequence id %lld", db->path,
                          protein_id, (long long)sequence_id);
    return sql_fail(db, err, FC_EIO, "cannot insert protein");
  }
  return FC_OK;
}

fc_status fc_refdb_add_go_term(fc_refdb *db, const char *go_id, char category, const char *description,
                               fc_error *err) {
  fc_status st = need_writable(db, err);
  if (st) return st;
  if (!go_id || !*go_id) return fc_error_set(err, FC_EINVAL, "%s: empty GO id", db->path);
  if (category && category != 'P' && category != 'F' && category != 'C')
    return fc_error_set(err, FC_EINVAL, "%s: GO term %s: category '%c' is not P, F or C", db->path, go_id,
                        category);
  char cat[2] = {category, 0};
  sqlite3_stmt *s = db->st[ST_GO_INS];
  sqlite3_bind_text(s, 1, go_id, -1, SQLITE_STATIC);
  if (category) sqlite3_bind_text(s, 2, cat, 1, SQLITE_STATIC);
  bind_opt(s, 3, description);
  if (step_done(s) != SQLITE_DONE) return sql_fail(db, err, FC_EIO, "cannot insert GO term");
  return FC_OK;
}

fc_status fc_refdb_add_annotation(fc_refdb *db, const char *protein_id, const char *go_id,
                                  const char *evidence, fc_error *err) {
  fc_status st = need_writable(db, err);
  if (st) return st;
  if (!protein_id || !*protein_id || !go_id || !*go_id)
    return fc_error_set(err, FC_EINVAL, "%s: annotation with empty protein or GO id", db->path);
  sqlite3_stmt *s = db->st[ST_ANN_INS];
  sqlite3_bind_text(s, 1, protein_id, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 2, go_id, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 3, evidence && *evidence ? evidence : "UNKNOWN", -1, SQLITE_STATIC);
  if (step_done(s) != SQLITE_DONE) {
    if (sqlite3_extended_errcode(db->db) == SQLITE_CONSTRAINT_FOREIGNKEY)
      return fc_error_set(err, FC_ENOTFOUND, "%s: annotation %s of unknown protein '%s'", db->path, go_id,
                          protein_id);
    return sql_fail(db, err, FC_EIO, "cannot insert annotation");
  }
  if (sqlite3_changes(db->db) == 0) db->dup_annotations++;
  return FC_OK;
}

uint64_t fc_refdb_duplicate_annotations(const fc_refdb *db) {
  return db ? db->dup_annotations : 0;
}


fc_status fc_refdb_add_embedding_type(fc_refdb *db, const char *name, int64_t id, const char *model_name,
                                      int64_t *id_out, fc_error *err) {
  fc_status st = need_writable(db, err);
  if (st) return st;
  if (!name || !*name) return fc_error_set(err, FC_EINVAL, "%s: empty embedding type name", db->path);
  if (id < 0) return fc_error_set(err, FC_EINVAL, "%s: negative embedding type id", db->path);
  const fc_fantasia_model *fm = fc_fantasia_model_find(name);
  if (fm && !strcasecmp(name, fm->name)) { /* by name only: a type named "3" is not Prot-T5 */
    if (!model_name) model_name = fm->hf_id;
    if (id == 0) {
      char q[96];
      snprintf(q, sizeof q, "SELECT COUNT(*) FROM sequence_embedding_type WHERE id=%lld", (long long)fm->type_id);
      if (query_int(db, q, 1) == 0) id = fm->type_id;
    }
  }
  if (id == 0) {
    /* other models get ids from 100 up: FANTASIA's ids (1..5) keep their meaning in every store,
     * so a query file with type_1 can never be matched against a non-ESM space */
    id = query_int(db, "SELECT MAX(id) FROM sequence_embedding_type", 0);
    id = id < 100 ? 100 : id + 1;
  }
  sqlite3_stmt *s = NULL;
  if (sqlite3_prepare_v2(db->db,
                         "INSERT INTO sequence_embedding_type(id, name, model_name) VALUES (?1, ?2, ?3)", -1,
                         &s, NULL) != SQLITE_OK)
    return sql_fail(db, err, FC_EIO, "embedding type");
  if (id > 0) sqlite3_bind_int64(s, 1, id);
  sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
  bind_opt(s, 3, model_name);
  int rc = sqlite3_step(s);
  sqlite3_finalize(s);
  if (rc != SQLITE_DONE) {
    int x = sqlite3_extended_errcode(db->db);
    if (x == SQLITE_CONSTRAINT_PRIMARYKEY || x == SQLITE_CONSTRAINT_UNIQUE)
      return fc_error_set(err, FC_EDUPLICATE, "%s: embedding type '%s' (id %lld): name or id already exists",
                          db->path, name, (long long)id);
    return sql_fail(db, err, FC_EIO, "cannot insert embedding type");
  }
  if (id_out) *id_out = sqlite3_last_insert_rowid(db->db);
  return FC_OK;
}

size_t fc_refdb__rows_per_block(size_t dim) {
  size_t r = (size_t)(8u << 20) / (2 * (dim ? dim : 1));
  if (r > 4096) r = 4096;
  return r ? r : 1;
}

typedef struct {
  int64_t id;
  size_t row;
} id_row;
static int cmp_id_row(const void *a, const void *b) {
  const id_row *x = a, *y = b;
  if (x->id != y->id) return (x->id > y->id) - (x->id < y->id);
  return (x->row > y->row) - (x->row < y->row);
}

fc_status fc_refdb_put_matrix(fc_refdb *db, int64_t type_id, int layer, const char *pooling,
                              const int64_t *sequence_ids, const float *data, size_t n, size_t dim,
                              fc_error *err) {
  fc_status st = need_writable(db, err);
  if (st) return st;
  if (n == 0 || dim == 0 || !sequence_ids || !data)
    return fc_error_set(err, FC_EINVAL, "%s: empty matrix for type %lld layer %d", db->path,
                        (long long)type_id, layer);
  if (dim > (1u << 20)) return fc_error_set(err, FC_EINVAL, "%s: dimension %zu too large", db->path, dim);
  char q[160];
  snprintf(q, sizeof q, "SELECT COUNT(*) FROM sequence_embedding_type WHERE id=%lld", (long long)type_id);
  if (query_int(db, q, 0) == 0)
    return fc_error_set(err, FC_ENOTFOUND, "%s: unknown embedding type id %lld (add it first)", db->path,
                        (long long)type_id);
  snprintf(q, sizeof q,
           "SELECT COUNT(*) FROM embedding_block WHERE embedding_type_id=%lld AND layer_index=%d",
           (long long)type_id, layer);
  if (query_int(db, q, 0) != 0)
    return fc_error_set(err, FC_EDUPLICATE, "%s: type %lld layer %d already has a matrix", db->path,
                        (long long)type_id, layer);
  id_row *pairs = malloc(n * sizeof *pairs);
  size_t *perm = malloc(n * sizeof *perm);
  if (!pairs || !perm) {
    free(pairs);
    free(perm);
    return fc_error_set(err, FC_ENOMEM, "out of memory (%zu rows)", n);
  }
  for (size_t i = 0; i < n; i++)
    pairs[i] = (id_row){sequence_ids[i], i};
  qsort(pairs, n, sizeof *pairs, cmp_id_row);
  for (size_t i = 0; i < n; i++)
    perm[i] = pairs[i].row;
  free(pairs);
  sqlite3_stmt *ex = db->st[ST_SEQ_EXISTS];
  for (size_t i = 0; i < n; i++) {
    int64_t id = sequence_ids[perm[i]];
    if (i && id == sequence_ids[perm[i - 1]]) {
      free(perm);
      return fc_error_set(err, FC_EDUPLICATE, "%s: type %lld layer %d: sequence id %lld appears twice",
                          db->path, (long long)type_id, layer, (long long)id);
    }
    sqlite3_bind_int64(ex, 1, id);
    int rc = step_done(ex);
    if (rc != SQLITE_ROW) {
      free(perm);
      if (rc != SQLITE_DONE) return sql_fail(db, err, FC_EIO, "sequence lookup");
      return fc_error_set(err, FC_ENOTFOUND, "%s: type %lld layer %d: unknown sequence id %lld", db->path,
                          (long long)type_id, layer, (long long)id);
    }
  }
  size_t rpb = fc_refdb__rows_per_block(dim);
  size_t cap = rpb < n ? rpb : n;
  int64_t *bids = malloc(cap * sizeof *bids);
  float *bnorm = malloc(cap * sizeof *bnorm);
  uint16_t *bdata = malloc(cap * dim * sizeof *bdata);
  sqlite3_stmt *ins = NULL;
  if (!bids || !bnorm || !bdata)
    st = fc_error_set(err, FC_ENOMEM, "out of memory");
  else if (sqlite3_prepare_v2(
               db->db,
               "INSERT INTO embedding_block(embedding_type_id, layer_index, block_no, pooling, dim, "
               "n_rows, first_sequence_id, last_sequence_id, sequence_ids, norms, data) VALUES "
               "(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)",
               -1, &ins, NULL) != SQLITE_OK)
    st = sql_fail(db, err, FC_EIO, "prepare");
  fc_progress *prog = n >= 65536 ? fc_progress_start("storing embeddings", n) : NULL;
  for (size_t b0 = 0, blk = 0; !st && b0 < n; b0 += rpb, blk++) {
    size_t nr = n - b0 < rpb ? n - b0 : rpb;
    fc_progress_update(prog, b0);
    for (size_t r = 0; r < nr && !st; r++) {
      size_t src = perm[b0 + r];
      const float *row = data + src * dim;
      uint16_t *h = bdata + r * dim;
      bids[r] = sequence_ids[src];
      double ss = 0;
      for (size_t j = 0; j < dim; j++) {
        if (!isfinite(row[j])) {
          st = fc_error_set(err, FC_EINVAL,
                            "%s: type %lld layer %d: sequence id %lld has a non-finite value (%g) "
                            "at column %zu",
                            db->path, (long long)type_id, layer, (long long)bids[r], (double)row[j], j);
          break;
        }
        h[j] = fc_f32_to_f16(row[j]);
        if ((h[j] & 0x7c00u) == 0x7c00u) {
          st = fc_error_set(err, FC_EINVAL,
                            "%s: type %lld layer %d: sequence id %lld: value %g at column %zu is "
                            "beyond the fp16 range (|x| > 65504)",
                            db->path, (long long)type_id, layer, (long long)bids[r], (double)row[j], j);
          break;
        }
        double v = fc_f16_to_f32(h[j]);
        ss += v * v;
      }
      bnorm[r] = (float)sqrt(ss);
    }
    if (st) break;
    sqlite3_bind_int64(ins, 1, type_id);
    sqlite3_bind_int(ins, 2, layer);
    sqlite3_bind_int64(ins, 3, (int64_t)blk);
    bind_opt(ins, 4, pooling);
    sqlite3_bind_int64(ins, 5, (int64_t)dim);
    sqlite3_bind_int64(ins, 6, (int64_t)nr);
    sqlite3_bind_int64(ins, 7, bids[0]);
    sqlite3_bind_int64(ins, 8, bids[nr - 1]);
    sqlite3_bind_blob64(ins, 9, bids, nr * sizeof *bids, SQLITE_STATIC);
    sqlite3_bind_blob64(ins, 10, bnorm, nr * sizeof *bnorm, SQLITE_STATIC);
    sqlite3_bind_blob64(ins, 11, bdata, nr * dim * sizeof *bdata, SQLITE_STATIC);
    if (step_done(ins) != SQLITE_DONE) st = sql_fail(db, err, FC_EIO, "cannot insert embedding block");
  }
  fc_progress_finish(prog);
  sqlite3_finalize(ins);
  free(perm);
  free(bids);
  free(bnorm);
  free(bdata);
  return st;
}

/* ---- reading ---- */

static char *col_dup(sqlite3_stmt *s, int i) {
  const unsigned char *t = sqlite3_column_text(s, i);
  return t ? fc_strdup((const char *)t) : NULL;
}

void fc_refdb_space_clear(fc_refdb_space *sp) {
  if (!sp) return;
  free(sp->name);
  free(sp->model_name);
  free(sp->pooling);
  memset(sp, 0, sizeof *sp);
}

void fc_refdb_spaces_free(fc_refdb_space *spaces, size_t n) {
  if (!spaces) return;
  for (size_t i = 0; i < n; i++)
    fc_refdb_space_clear(&spaces[i]);
  free(spaces);
}

fc_status fc_refdb_spaces(fc_refdb *db, fc_refdb_space **out, size_t *n, fc_error *err) {
  *out = NULL;
  *n = 0;
  if (!db) return fc_error_set(err, FC_EINVAL, "reference store: NULL handle");
  sqlite3_stmt *s = NULL;
  if (sqlite3_prepare_v2(
          db->db,
          "SELECT b.embedding_type_id, t.name, t.model_name, b.layer_index, MIN(b.pooling), "
          "MIN(b.dim), SUM(b.n_rows) FROM embedding_block b JOIN sequence_embedding_type t ON "
          "t.id = b.embedding_type_id GROUP BY b.embedding_type_id, b.layer_index ORDER BY 1, 4",
          -1, &s, NULL) != SQLITE_OK)
    return sql_fail(db, err, FC_EIO, "cannot list spaces");
  fc_refdb_space *v = NULL;
  size_t cnt = 0, cap = 0;
  int rc;
  fc_status st = FC_OK;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    if (cnt == cap) {
      cap = cap ? 2 * cap : 8;
      fc_refdb_space *nv = realloc(v, cap * sizeof *v);
      if (!nv) {
        st = fc_error_set(err, FC_ENOMEM, "out of memory");
        break;
      }
      v = nv;
    }
    fc_refdb_space *sp = &v[cnt++];
    memset(sp, 0, sizeof *sp);
    sp->type_id = sqlite3_column_int64(s, 0);
    sp->name = col_dup(s, 1);
    sp->model_name = col_dup(s, 2);
    sp->layer = sqlite3_column_int(s, 3);
    sp->pooling = col_dup(s, 4);
    sp->dim = (size_t)sqlite3_column_int64(s, 5);
    sp->n_rows = (size_t)sqlite3_column_int64(s, 6);
  }
  if (!st && rc != SQLITE_DONE) st = sql_fail(db, err, FC_EIO, "cannot list spaces");
  sqlite3_finalize(s);
  if (st) {
    fc_refdb_spaces_free(v, cnt);
    return st;
  }
  *out = v;
  *n = cnt;
  return FC_OK;
}

fc_status fc_refdb_find_space(fc_refdb *db, const char *model, int layer, fc_refdb_space *out,
                              fc_error *err) {
  memset(out, 0, sizeof *out);
  if (!model || !*model) return fc_error_set(err, FC_EINVAL, "reference store: empty model name");
  fc_refdb_space *v;
  size_t n;
  fc_status st = fc_refdb_spaces(db, &v, &n, err);
  if (st) return st;
  char *endp;
  errno = 0;
  long long num = strtoll(model, &endp, 10);
  int numeric = *endp == 0 && errno == 0;
  for (size_t i = 0; i < n; i++) {
    int match = numeric ? v[i].type_id == num : (v[i].name && strcasecmp(v[i].name, model) == 0);
    if (match && v[i].layer == layer) {
      *out = v[i];
      memset(&v[i], 0, sizeof v[i]);
      fc_refdb_spaces_free(v, n);
      return FC_OK;
    }
  }
  size_t cap = 256 + n * 64, len = 0;
  char *list = malloc(cap);
  if (list) {
    list[0] = 0;
    for (size_t i = 0; i < n && len + 64 < cap; i++)
      len += (size_t)snprintf(list + len, cap - len, "%s%s (id %lld) layer %d", i ? ", " : "",
                              v[i].name ? v[i].name : "?", (long long)v[i].type_id, v[i].layer);
  }
  st = fc_error_set(err, FC_ENOTFOUND, "%s: no embeddings for model '%s' layer %d; the store has: %s",
                    db->path, model, layer, n ? (list ? list : "?") : "no embeddings at all");
  free(list);
  fc_refdb_spaces_free(v, n);
  return st;
}

/* Ask for transparent huge pages on a large fresh buffer: fewer page faults when it is first written. */
static void advise_huge(void *p, size_t bytes) {
#ifdef MADV_HUGEPAGE
  const uintptr_t huge = (uintptr_t)2 << 20;
  uintptr_t a = ((uintptr_t)p + huge - 1) & ~(huge - 1);
  uintptr_t e = ((uintptr_t)p + bytes) & ~(huge - 1);
  if (e > a) (void)madvise((void *)a, e - a, MADV_HUGEPAGE);
#else
  (void)p;
  (void)bytes;
#endif
}

void fc_refmatrix_free(fc_refmatrix *m) {
  if (!m) return;
  free(m->sequence_ids);
  fc_aligned_free(m->data);
  free(m->norms);
  memset(m, 0, sizeof *m);
}

typedef struct {
  int64_t rowid, block_no;
  size_t n_rows, row0;
} block_ref;

typedef struct {
  fc_refdb *db;
  sqlite3 *conn; /* NULL: the worker opens its own read-only connection */
  const block_ref *blocks;
  size_t n_blocks, t, T, dim;
  int64_t type_id;
  int layer;
  fc_refmatrix *out;
  fc_status st;
  fc_error err;
} load_job;

/* Reads blocks t, t+T, t+2T, ... straight into the output: ids and norms with one blob read each, the fp16
 * data in cache-sized chunks into a staging buffer, then F16C into place. */
static void *load_worker(void *arg) {
  load_job *j = arg;
  sqlite3 *c = j->conn;
  const char *path = j->db->path;
  sqlite3_blob *bb[3] = {NULL, NULL, NULL};
  static const char *const cols[3] = {"sequence_ids", "norms", "data"};
  const size_t stage_vals = 64 * 1024;
  uint16_t *stage = fc_aligned_alloc(stage_vals * sizeof *stage);
  if (!stage) {
    j->st = fc_error_set(&j->err, FC_ENOMEM, "out of memory");
    return NULL;
  }
  if (!c) {
    if (sqlite3_open_v2(path, &c, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_exec(c, "PRAGMA mmap_size=68719476736; PRAGMA cache_size=-16384;", NULL, NULL, NULL) !=
            SQLITE_OK) {
      j->st =
          fc_error_set(&j->err, FC_EIO, "%s: cannot open a reader: %s", path, c ? sqlite3_errmsg(c) : "?");
      goto out;
    }
  }
  for (size_t i = j->t; i < j->n_blocks && !j->st; i += j->T) {
    const block_ref *b = &j->blocks[i];
    size_t want[3] = {b->n_rows * 8, b->n_rows * 4, b->n_rows * j->dim * 2};
    for (int k = 0; k < 3; k++) {
      int rc = bb[k] ? sqlite3_blob_reopen(bb[k], b->rowid)
                     : sqlite3_blob_open(c, "main", "embedding_block", cols[k], b->rowid, 0, &bb[k]);
      if (rc != SQLITE_OK) {
        j->st =
            fc_error_set(&j->err, FC_EFORMAT, "%s: type %lld layer %d block %lld: cannot read %s: %s", path,
                         (long long)j->type_id, j->layer, (long long)b->block_no, cols[k], sqlite3_errmsg(c));
        break;
      }
      if ((size_t)sqlite3_blob_bytes(bb[k]) != want[k]) {
        j->st = fc_error_set(
            &j->err, FC_EFORMAT,
            "%s: type %lld layer %d block %lld: %s blob has %d bytes, expected %zu (%zu rows of dim "
            "%zu)",
            path, (long long)j->type_id, j->layer, (long long)b->block_no, cols[k], sqlite3_blob_bytes(bb[k]),
            want[k], b->n_rows, j->dim);
        break;
      }
    }
    if (j->st) break;
    if (sqlite3_blob_read(bb[0], j->out->sequence_ids + b->row0, (int)want[0], 0) != SQLITE_OK ||
        sqlite3_blob_read(bb[1], j->out->norms + b->row0, (int)want[1], 0) != SQLITE_OK) {
      j->st =
          fc_error_set(&j->err, FC_EIO, "%s: cannot read an embedding block: %s", path, sqlite3_errmsg(c));
      break;
    }
    float *dst = j->out->data + b->row0 * j->dim;
    size_t total = b->n_rows * j->dim;
    for (size_t off = 0; off < total; off += stage_vals) {
      size_t m = total - off < stage_vals ? total - off : stage_vals;
      if (sqlite3_blob_read(bb[2], stage, (int)(m * 2), (int)(off * 2)) != SQLITE_OK) {
        j->st =
            fc_error_set(&j->err, FC_EIO, "%s: cannot read an embedding block: %s", path, sqlite3_errmsg(c));
        break;
      }
      fc_f16_to_f32_array(stage, dst + off, m);
    }
  }
out:
  for (int k = 0; k < 3; k++)
    sqlite3_blob_close(bb[k]);
  if (c && c != j->conn) sqlite3_close(c);
  fc_aligned_free(stage);
  return NULL;
}

fc_status fc_refdb_load_matrix(fc_refdb *db, int64_t type_id, int layer, fc_refmatrix *out, fc_error *err) {
  memset(out, 0, sizeof *out);
  if (!db) return fc_error_set(err, FC_EINVAL, "reference store: NULL handle");
  if (!is_little_endian())
    return fc_error_set(err, FC_EUNSUPPORTED, "%s: reading needs a little-endian host", db->path);
  /* 1. The block list (small columns only). */
  sqlite3_stmt *s = NULL;
  if (sqlite3_prepare_v2(
          db->db,
          "SELECT rowid, block_no, n_rows, dim FROM embedding_block WHERE embedding_type_id=?1 AND "
          "layer_index=?2 ORDER BY block_no",
          -1, &s, NULL) != SQLITE_OK)
    return sql_fail(db, err, FC_EIO, "cannot read embeddings");
  sqlite3_bind_int64(s, 1, type_id);
  sqlite3_bind_int(s, 2, layer);
  block_ref *blocks = NULL;
  size_t nb = 0, cap = 0, n = 0, dim = 0;
  fc_status st = FC_OK;
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    if (nb == cap) {
      cap = cap ? 2 * cap : 64;
      block_ref *nv = realloc(blocks, cap * sizeof *blocks);
      if (!nv) {
        st = fc_error_set(err, FC_ENOMEM, "out of memory");
        break;
      }
      blocks = nv;
    }
    int64_t nr = sqlite3_column_int64(s, 2), d = sqlite3_column_int64(s, 3);
    block_ref *b = &blocks[nb++];
    b->rowid = sqlite3_column_int64(s, 0);
    b->block_no = sqlite3_column_int64(s, 1);
    if (nr <= 0 || nr > (1 << 24) || d <= 0 || d > (1 << 20) || (dim && (size_t)d != dim)) {
      st = fc_error_set(err, FC_EFORMAT, "%s: type %lld layer %d block %lld: bad shape %lld x %lld", db->path,
                        (long long)type_id, layer, (long long)b->block_no, (long long)nr, (long long)d);
      break;
    }
    dim = (size_t)d;
    b->n_rows = (size_t)nr;
    b->row0 = n;
    n += (size_t)nr;
  }
  if (!st && rc != SQLITE_DONE) st = sql_fail(db, err, FC_EIO, "cannot read embeddings");
  sqlite3_finalize(s);
  if (!st && nb == 0)
    st = fc_error_set(err, FC_ENOTFOUND, "%s: no embeddings for type %lld layer %d", db->path,
                      (long long)type_id, layer);
  if (!st) {
    out->sequence_ids = malloc(n * sizeof(int64_t));
    out->norms = malloc(n * sizeof(float));
    out->data = fc_aligned_alloc(n * dim * sizeof(float));
    if (!out->sequence_ids || !out->norms || !out->data)
      st = fc_error_set(err, FC_ENOMEM, "out of memory loading %zu x %zu matrix", n, dim);
    else
      advise_huge(out->data, n * dim * sizeof(float));
  }
  /* 2. Blocks in parallel: fresh output pages are zeroed by the kernel on first touch, which costs
   * as much as the copy on small machines; several readers share that work. */
  if (!st) {
    size_t T = (size_t)fc_num_threads();
    if (T > 4) T = 4;
    if (T > nb) T = nb;
    if (T < 1) T = 1;
    load_job jobs[4];
    pthread_t tid[4];
    int started[4] = {0, 0, 0, 0};
    for (size_t t = 0; t < T; t++) {
      memset(&jobs[t], 0, sizeof jobs[t]);
      jobs[t] = (load_job){.db = db,
                           .conn = t == 0 ? db->db : NULL,
                           .blocks = blocks,
                           .n_blocks = nb,
                           .t = t,
                           .T = T,
                           .dim = dim,
                           .type_id = type_id,
                           .layer = layer,
                           .out = out};
    }
    for (size_t t = 1; t < T; t++)
      started[t] = pthread_create(&tid[t], NULL, load_worker, &jobs[t]) == 0;
    load_worker(&jobs[0]);
    for (size_t t = 1; t < T; t++) {
      if (started[t])
        pthread_join(tid[t], NULL);
      else
        load_worker(&jobs[t]);
    }
    for (size_t t = 0; t < T && !st; t++)
      if (jobs[t].st) {
        st = jobs[t].st;
        if (err) *err = jobs[t].err;
      }
  }
  free(blocks);
  for (size_t i = 1; !st && i < n; i++)
    if (out->sequence_ids[i] <= out->sequence_ids[i - 1])
      st = fc_error_set(err, FC_EFORMAT,
                        "%s: type %lld layer %d: sequence ids not strictly increasing at row %zu", db->path,
                        (long long)type_id, layer, i);
  if (st) {
    fc_refmatrix_free(out);
    return st;
  }
  out->n = n;
  out->dim = dim;
  return FC_OK;
}

/* ---- info ---- */

void fc_refdb_info_free(fc_refdb_info *info) {
  if (!info) return;
  for (size_t i = 0; i < info->n_evidence; i++)
    free(info->evidence[i].code);
  free(info->evidence);
  fc_refdb_spaces_free(info->spaces, info->n_spaces);
  for (size_t i = 0; i < info->n_meta; i++) {
    free(info->meta[i].key);
    free(info->meta[i].value);
  }
  free(info->meta);
  memset(info, 0, sizeof *info);
}

fc_status fc_refdb_get_info(fc_refdb *db, fc_refdb_info *out, fc_error *err) {
  memset(out, 0, sizeof *out);
  if (!db) return fc_error_set(err, FC_EINVAL, "reference store: NULL handle");
  out->schema_version = (int)query_int(db, "PRAGMA user_version", -1);
  out->sequences = (uint64_t)query_int(db, "SELECT COUNT(*) FROM sequence", 0);
  out->proteins = (uint64_t)query_int(db, "SELECT COUNT(*) FROM protein", 0);
  out->go_terms = (uint64_t)query_int(db, "SELECT COUNT(*) FROM go_terms", 0);
  out->annotations = (uint64_t)query_int(db, "SELECT COUNT(*) FROM protein_go_term_annotation", 0);
  out->annotations_without_go_term = (uint64_t)query_int(
      db,
      "SELECT COUNT(*) FROM protein_go_term_annotation a WHERE NOT EXISTS (SELECT 1 FROM go_terms g WHERE "
      "g.go_id = a.go_id)",
      0);
  fc_status st = FC_OK;
  sqlite3_stmt *s = NULL;
  size_t cap = 0;
  if (sqlite3_prepare_v2(
          db->db, "SELECT evidence_code, COUNT(*) FROM protein_go_term_annotation GROUP BY 1 ORDER BY 1", -1,
          &s, NULL) != SQLITE_OK)
    st = sql_fail(db, err, FC_EIO, "info");
  while (!st && sqlite3_step(s) == SQLITE_ROW) {
    if (out->n_evidence == cap) {
      cap = cap ? 2 * cap : 16;
      void *nv = realloc(out->evidence, cap * sizeof *out->evidence);
      if (!nv) {
        st = fc_error_set(err, FC_ENOMEM, "out of memory");
        break;
      }
      out->evidence = nv;
    }
    out->evidence[out->n_evidence].code = col_dup(s, 0);
    out->evidence[out->n_evidence++].count = (uint64_t)sqlite3_column_int64(s, 1);
  }
  sqlite3_finalize(s);
  s = NULL;
  cap = 0;
  if (!st &&
      sqlite3_prepare_v2(db->db, "SELECT key, value FROM meta ORDER BY key", -1, &s, NULL) != SQLITE_OK)
    st = sql_fail(db, err, FC_EIO, "info");
  while (!st && sqlite3_step(s) == SQLITE_ROW) {
    if (out->n_meta == cap) {
      cap = cap ? 2 * cap : 16;
      void *nv = realloc(out->meta, cap * sizeof *out->meta);
      if (!nv) {
        st = fc_error_set(err, FC_ENOMEM, "out of memory");
        break;
      }
      out->meta = nv;
    }
    out->meta[out->n_meta].key = col_dup(s, 0);
    out->meta[out->n_meta++].value = col_dup(s, 1);
  }
  sqlite3_finalize(s);
  if (!st) st = fc_refdb_spaces(db, &out->spaces, &out->n_spaces, err);
  if (st) fc_refdb_info_free(out);
  return st;
}

/* ---- internal access for catalog.c ---- */
sqlite3 *fc_refdb__sqlite(fc_refdb *db) {
  return db ? db->db : NULL;
}
