/* fantasia.c — refdb: the embedded reference store (one SQLite file).
 *
 * The store holds what FANTASIA reads from its PostgreSQL/pgvector reference (spec §5.3–5.4, §9):
 * sequences, proteins, GO terms, protein–GO annotations, embedding types, and the reference
 * embeddings, stored per (embedding type, layer) as fp16 blocks of many rows (not one row per
 * vector). The file format is documented in docs/reference-format.md.
 *
 * Thread-safety: one fc_refdb handle must be used by one thread at a time. Loaded matrices and
 * catalogues are plain memory, independent of the handle, and safe to read from many threads.
 */
#ifndef FANTASIA_REFDB_H
#define FANTASIA_REFDB_H

#include "fantasia/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* PRAGMA user_version and meta 'schema_version' of the stores this code writes and reads. */
#define FC_REFDB_SCHEMA_VERSION 1
/* PRAGMA application_id of our stores ("FCRF"). */
#define FC_REFDB_APPLICATION_ID 0x46435246
/* Pooling label used for stores imported from FANTASIA-Lite bundles. */
#define FC_REFDB_LITE_POOLING "fantasia-lite"

typedef struct fc_refdb fc_refdb;

/* Builds a new store into fc_tmp_path_for(path). fc_refdb_close(db, 1, err) commits the single
 * write transaction and renames the file into place (replacing an existing file at path);
 * fc_refdb_close(db, 0, ...) or any failed commit removes the temporary file, so a failed build
 * leaves no file behind. */
fc_status fc_refdb_create(const char *path, fc_refdb **out, fc_error *err);
/* Opens an existing store read-only. Checks that it is a SQLite file, that it is our store
 * (application_id + meta table) and that its schema version is FC_REFDB_SCHEMA_VERSION. */
fc_status fc_refdb_open(const char *path, fc_refdb **out, fc_error *err);
/* Closes (and for a store being built: commit != 0 commits and renames, commit == 0 discards).
 * db may be NULL. Always frees db, even when it returns an error. */
fc_status fc_refdb_close(fc_refdb *db, int commit, fc_error *err);
/* Path given to create/open (borrowed, valid until close). */
const char *fc_refdb_path(const fc_refdb *db);

/* ---- writing (only on a handle from fc_refdb_create; everything is one transaction) ---- */

/* Adds a sequence; identical sequences share one id (dedup by md5 + exact comparison). */
fc_status fc_refdb_add_sequence(fc_refdb *db, const char *seq, int64_t *id_out, fc_error *err);
/* Adds a sequence row with an empty sequence and no hash (no dedup), for sources that have no
 * sequences (FANTASIA-Lite). id == 0 assigns the next id; otherwise the given id is used
 * (FC_EDUPLICATE if taken). */
fc_status fc_refdb_add_sequence_placeholder(fc_refdb *db, int64_t id, int64_t *id_out, fc_error *err);
/* Adds a protein. Duplicate protein_id -> FC_EDUPLICATE; unknown sequence_id -> FC_ENOTFOUND.
 * accession, gene_name, organism, taxonomy_id may be NULL. */
fc_status fc_refdb_add_protein(fc_refdb *db, const char *protein_id, const char *accession,
                               int64_t sequence_id, const char *gene_name, const char *organism,
                               const char *taxonomy_id, fc_error *err);
/* Adds a GO term; category is 'P', 'F', 'C' or 0 (unknown, stored as NULL). An existing go_id
 * keeps its first definition (not an error). */
fc_status fc_refdb_add_go_term(fc_refdb *db, const char *go_id, char category, const char *description,
                               fc_error *err);
/* Adds an annotation. The protein must exist (FC_ENOTFOUND otherwise); the GO term may be added
 * later (annotations whose GO term is never added are dropped by the catalogue, like FANTASIA's
 * inner join). One evidence per (protein, go): the first is kept, later ones are counted
 * (fc_refdb_duplicate_annotations). evidence NULL is stored as "UNKNOWN". */
fc_status fc_refdb_add_annotation(fc_refdb *db, const char *protein_id, const char *go_id,
                                  const char *evidence, fc_error *err);
/* Number of (protein, go) annotations ignored because the pair already existed. */
uint64_t fc_refdb_duplicate_annotations(const fc_refdb *db);
/* Adds an embedding type (FANTASIA's sequence_embedding_type). id == 0 assigns one; a name
 * matching a FANTASIA reference-dump type (ESM=1, Prost-T5=2, Prot-T5=3, Ankh3-Large=4, ESM3c=5,
 * case-insensitive) gets that id when id == 0 and it is free. model_name may be NULL (the known
 * Hugging Face id is filled in for FANTASIA's names). Duplicate name or id -> FC_EDUPLICATE. */
fc_status fc_refdb_add_embedding_type(fc_refdb *db, const char *name, int64_t id, const char *model_name,
                                      int64_t *id_out, fc_error *err);
/* Stores the reference matrix of one (type, layer): n rows of dim float32 (row-major), one per
 * sequence id, in any order. Rows are stored sorted by sequence id, as fp16 (fc_f32_to_f16),
 * in blocks of up to 4096 rows (~8 MB), with float32 norms computed from the fp16 values.
 * NaN/Inf, or values beyond the fp16 range, are rejected naming the sequence id; duplicate
 * or unknown sequence ids are rejected; one call per (type, layer) (FC_EDUPLICATE otherwise). */
fc_status fc_refdb_put_matrix(fc_refdb *db, int64_t type_id, int layer, const char *pooling,
                              const int64_t *sequence_ids, const float *data, size_t n, size_t dim,
                              fc_error *err);
/* Sets (or replaces) a meta key. The keys schema_version and created_at are managed by us. */
fc_status fc_refdb_set_meta(fc_refdb *db, const char *key, const char *value, fc_error *err);

/* ---- reading ---- */

/* One searchable space: (embedding type, layer). Strings are owned by the struct. */
typedef struct {
  int64_t type_id;
  char *name;       /* sequence_embedding_type.name, e.g. "Prot-T5" */
  char *model_name; /* Hugging Face / SDK id, may be NULL */
  int layer;
  char *pooling;
  size_t dim;
  size_t n_rows;
} fc_refdb_space;

/* All spaces, ordered by (type_id, layer). Free with fc_refdb_spaces_free. */
fc_status fc_refdb_spaces(fc_refdb *db, fc_refdb_space **out, size_t *n, fc_error *err);
void fc_refdb_spaces_free(fc_refdb_space *spaces, size_t n);
/* Finds the space of a model (type name, case-insensitive, or the numeric type id as text) at a
 * layer. FC_ENOTFOUND lists the spaces that exist. Free out's strings with fc_refdb_space_clear. */
fc_status fc_refdb_find_space(fc_refdb *db, const char *model, int layer, fc_refdb_space *out, fc_error *err);
void fc_refdb_space_clear(fc_refdb_space *space);

/* A reference matrix in memory, rows sorted by sequence id. */
typedef struct {
  size_t n, dim;
  int64_t *sequence_ids; /* n */
  float *data;           /* n*dim float32, row-major, 64-byte aligned (fc_aligned_alloc) */
  float *norms;          /* n, ‖row‖₂ of the fp16 values */
} fc_refmatrix;

/* Loads one (type, layer) matrix (fp16 -> f32 with fc_f16_to_f32_array). */
fc_status fc_refdb_load_matrix(fc_refdb *db, int64_t type_id, int layer, fc_refmatrix *out, fc_error *err);
void fc_refmatrix_free(fc_refmatrix *m); /* frees the arrays and zeroes *m; NULL is fine */

/* ---- catalogue: what stage C needs, loaded once, indexed by sequence id ----
 * All pointers are owned by the catalogue and valid until fc_refcatalog_free. Strings that
 * are NULL in the store are NULL here. */
typedef struct {
  const char *go_id;
  char category; /* 'P', 'F', 'C', or 0 when unknown */
  const char *description;
  const char *evidence;
} fc_ref_go;

typedef struct {
  const char *protein_id, *accession, *gene_name, *organism, *taxonomy_id;
  const fc_ref_go *go; /* sorted by go_id */
  size_t n_go;
} fc_ref_protein;

typedef struct {
  int64_t id;
  const char *sequence;           /* "" in stores imported from FANTASIA-Lite */
  const fc_ref_protein *proteins; /* sorted by protein_id */
  size_t n_proteins;
} fc_ref_sequence;

typedef struct fc_refcatalog fc_refcatalog;

fc_status fc_refdb_load_catalog(fc_refdb *db, fc_refcatalog **out, fc_error *err);
void fc_refcatalog_free(fc_refcatalog *cat);
/* NULL if unknown. O(1) when ids are dense, O(log n) otherwise. */
const fc_ref_sequence *fc_refcatalog_get(const fc_refcatalog *cat, int64_t sequence_id);
size_t fc_refcatalog_count(const fc_refcatalog *cat);                        /* sequences */
const fc_ref_sequence *fc_refcatalog_at(const fc_refcatalog *cat, size_t i); /* ordered by id */

/* Taxonomy filters and row masks are applied by the lookup (src/pipeline/lookup.c), which also
 * handles comma-joined taxonomy ids and descendant expansion. */

/* ---- summary ---- */
typedef struct {
  char *key;
  char *value;
} fc_refdb_kv;

typedef struct {
  char *code;
  uint64_t count;
} fc_refdb_evidence_count;

typedef struct {
  int schema_version;
  uint64_t sequences, proteins, go_terms, annotations;
  uint64_t annotations_without_go_term; /* dropped by the catalogue */
  fc_refdb_evidence_count *evidence;    /* per evidence code, sorted by code */
  size_t n_evidence;
  fc_refdb_space *spaces;
  size_t n_spaces;
  fc_refdb_kv *meta; /* sorted by key */
  size_t n_meta;
} fc_refdb_info;

fc_status fc_refdb_get_info(fc_refdb *db, fc_refdb_info *out, fc_error *err);
void fc_refdb_info_free(fc_refdb_info *info);

/* ---- FANTASIA-Lite import (spec §10.3) ----
 * lookup_npz: ZIP of .npy arrays, <Model>_ids + <Model>_embeddings per model, or bare ids +
 * embeddings (model "default"). ids: unicode ('<U..'), bytes ('|S..') or integer arrays; pickled
 * object arrays ('|O') are refused with a hint to re-save them as unicode. embeddings: '<f4',
 * '<f8' or '<f2', 2-D, C order. annotations_json: {ref_id: [{go_id, category, go_description,
 * evidence_code}, ...] or a single object}. accessions_json: {ref_id: accession}; may be NULL.
 * Each ref id becomes one sequence row (sequence "", no hash), one protein (id = ref id,
 * accession from accessions_json), layer 0, pooling "fantasia-lite". All-numeric ref ids are
 * kept as sequence ids. The output is written atomically. */
typedef struct {
  const char *provenance;     /* stored as meta 'provenance'; NULL: the input paths */
  const char *evidence_codes; /* stored as meta 'evidence_codes'; NULL: the codes seen */
} fc_lite_import_opts;

fc_status fc_refdb_import_lite(const char *lookup_npz, const char *annotations_json,
                               const char *accessions_json, const char *out_path,
                               const fc_lite_import_opts *opts, fc_error *err);

/* ---- helpers (exposed for tests and other modules) ---- */
/* md5 of n bytes as 32 lowercase hex digits + NUL into hex[33]. */
void fc_md5_hex(const void *data, size_t n, char hex[33]);

#ifdef __cplusplus
}
#endif
#endif
