/* fantasia.c — summarize: stage-C outputs from a table of raw result rows.
 *
 *   fc_raw_table      growable table of raw rows (FANTASIA §6.2 columns), strings interned
 *   fc_raw_write_tsv  one TSV per run (our default raw output), fc_raw_read_tsv reads it back
 *   fc_raw_write_csv_tree  FANTASIA's raw_results/<model>/layer_<k>/<acc>.csv tree
 *   fc_summary_write  summary.csv (FANTASIA §7.2, with the §11 bugs fixed)
 *   fc_topgo_write    topgo/<model>/layer_<k>/<category>.topgo and topgo/ensemble/<category>.topgo
 *
 * Formats, ordering and counting rules: docs/outputs.md.
 * Thread-safety: a table may be read from several threads at once, but interning/appending
 * needs exclusive access. Writers only read the table.
 */
#ifndef FANTASIA_SUMMARIZE_H
#define FANTASIA_SUMMARIZE_H

#include <stddef.h>
#include <stdint.h>

#include "fantasia/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* String id 0 is always the empty string, which also stands for a missing value (null). */
#define FC_STR_EMPTY 0u
#define FC_LAYER_LEGACY (-1)

typedef struct {
  /* string ids into the table's pool */
  uint32_t accession, model_name, go_id, category, evidence_code, go_description, protein_id, organism,
      gene_name;
  int64_t embedding_type_id;
  int32_t layer_index; /* FC_LAYER_LEGACY (-1) = legacy (null layer) */
  double distance, reliability_index;
  int32_t query_idx, ref_idx, query_len, ref_len;
  uint32_t sequence_query, sequence_reference; /* string ids (may be FC_STR_EMPTY) */
  uint8_t has_alignment;                       /* 0: the ten alignment values are missing */
  double identity, similarity, alignment_score, gaps_percentage, alignment_length;
  double identity_sw, similarity_sw, alignment_score_sw, gaps_percentage_sw, alignment_length_sw;
  /* per-row text columns 32-33 (interned, so storing them per row costs 8 bytes) */
  uint32_t distance_metric;    /* "cosine" / "euclidean" */
  uint32_t distance_threshold; /* the per-model threshold as text; FC_STR_EMPTY = None */
} fc_raw_row;

typedef struct fc_raw_table fc_raw_table;

fc_raw_table *fc_raw_table_new(void); /* NULL on out of memory */
void fc_raw_table_free(fc_raw_table *t);
/* Interns s (NULL = ""), returns its id; UINT32_MAX on out of memory. Ids are dense, 0 = "". */
uint32_t fc_raw_table_intern(fc_raw_table *t, const char *s);
uint32_t fc_raw_table_intern_n(fc_raw_table *t, const char *s, size_t len);
/* Borrowed pointer into the pool, valid until the next intern (the pool may move). "" for a bad id. */
const char *fc_raw_table_str(const fc_raw_table *t, uint32_t id);
size_t fc_raw_table_nstrings(const fc_raw_table *t);
/* Copies *row (its string ids must come from this table). */
fc_status fc_raw_table_append(fc_raw_table *t, const fc_raw_row *row, fc_error *err);
size_t fc_raw_table_size(const fc_raw_table *t);
/* Borrowed pointer, valid until the next append. NULL when i is out of range. */
fc_raw_row *fc_raw_table_row(fc_raw_table *t, size_t i);
const fc_raw_row *fc_raw_table_row_const(const fc_raw_table *t, size_t i);
/* FANTASIA's reliability index: cosine 1-d (not clipped), euclidean 0.5/(0.5+d), else 1/(1+d). */
double fc_reliability_index(const char *metric, double distance);

/* ---- raw outputs ---- */
typedef struct {
  int keep_sequences; /* write sequence_query / sequence_reference (FANTASIA keep_sequences) */
  int precision;      /* decimals of float columns, "%.{precision}f"; < 0 -> 4 */
} fc_raw_write_opts;
void fc_raw_write_opts_default(fc_raw_write_opts *o); /* keep_sequences 1, precision 4 */

/* One tab-separated file, header + one line per row in table order (33 or 31 columns). */
fc_status fc_raw_write_tsv(const fc_raw_table *t, const char *path, const fc_raw_write_opts *opts,
                           fc_error *err);
/* FANTASIA's tree under experiment_dir: raw_results/<sanitize(model)>/layer_<k>|legacy/<sanitize(acc)>.csv.
 * Every file is written whole and atomically (no append). Names that collide after sanitising get a
 * "~2", "~3"... suffix in byte order of the original names (docs/outputs.md). */
fc_status fc_raw_write_csv_tree(const fc_raw_table *t, const char *experiment_dir,
                                const fc_raw_write_opts *opts, fc_error *err);
/* FANTASIA's _sanitize: trim, lowercase, whitespace runs -> '_', chars outside [a-z0-9._-] -> '_',
 * "model" when empty. Caller frees. */
char *fc_sanitize_name(const char *s);
/* Appends the rows of a TSV written by fc_raw_write_tsv (plain or .gz) to t. Damaged input gives
 * FC_EFORMAT naming file, line and column; t may then hold the rows read before the error. */
fc_status fc_raw_read_tsv(const char *path, fc_raw_table *t, fc_error *err);

/* ---- summary.csv ---- */
typedef enum { FC_AGG_MIN = 0, FC_AGG_MAX = 1, FC_AGG_MEAN = 2 } fc_agg_fun;

typedef struct {
  char *name;  /* raw column: reliability_index, identity, distance, identity_sw, ... */
  char **funs; /* as given in config: "min" | "max" | "mean" | "avg"; others ignored with a warning */
  size_t n_funs;
} fc_summary_metric;

typedef struct {
  char *key;
  char *alias;
} fc_summary_alias;

typedef struct {
  char *fun;
  double value;
} fc_weight_fun;

typedef struct {
  char *key;
  int is_number; /* 1: value applies; 0: per-fun list in funs */
  double value;
  fc_weight_fun *funs; /* (fun, number) pairs, in order */
  size_t n_funs;
} fc_weight_entry;

/* How term_count and count are counted (docs/outputs.md). */
typedef enum {
  FC_COUNT_HIT_PROTEIN = 0, /* distinct (model, layer, ref_idx, protein_id) per GO term */
  FC_COUNT_ROWS = 1,        /* FANTASIA 4.1.1: every raw row (duplicates included) */
  FC_COUNT_HITS = 2         /* default: distinct hits (model, layer, ref_idx) per GO term, so count <= 1 */
} fc_count_mode;

typedef struct {
  int include_counts;
  fc_summary_metric *metrics; /* ordered */
  size_t n_metrics;
  fc_summary_alias *aliases;
  size_t n_aliases;
  fc_weight_entry *weights;
  size_t n_weights;
  char *weighted_prefix; /* NULL -> "w_" */
  int precision;         /* rounding of weighted terms; < 0 -> 4 */
  int k;                 /* limit_per_entry; <= 0 -> 1 */
  fc_count_mode count_mode;
} fc_summary_opts;

/* Everything empty/zero: no metrics, include_counts 0, prefix "w_", precision 4, k 1. */
void fc_summary_opts_init(fc_summary_opts *o);
/* The shipped FANTASIA config (§2.4), k = 1. Returns FC_ENOMEM on allocation failure. */
fc_status fc_summary_opts_fantasia_default(fc_summary_opts *o);
/* Frees everything the opts own (all strings and arrays above); leaves o initialised. */
void fc_summary_opts_free(fc_summary_opts *o);
/* Helpers to build opts by hand (the strings are copied). */
fc_status fc_summary_opts_add_metric(fc_summary_opts *o, const char *name, const char *const *funs,
                                     size_t n_funs);
fc_status fc_summary_opts_add_alias(fc_summary_opts *o, const char *key, const char *alias);
fc_status fc_summary_opts_add_weight(fc_summary_opts *o, const char *key, double value);
fc_status fc_summary_opts_add_weight_fun(fc_summary_opts *o, const char *key, const char *fun, double value);

/* summary.csv: accession,go_id,term_count,<per (model,layer) columns>,proteins; written atomically. */
fc_status fc_summary_write(const fc_raw_table *t, const fc_summary_opts *opts, const char *path,
                           fc_error *err);

/* TopGO files under out_dir (the experiment's topgo/ folder). precision: decimals of RI (< 0 -> 4). */
fc_status fc_topgo_write(const fc_raw_table *t, const char *out_dir, fc_error *err);
fc_status fc_topgo_write_ex(const fc_raw_table *t, const char *out_dir, int precision, fc_error *err);

/* Shortest text that reads back to the same float32 (Polars style: "0.4", "1.0", "1e-7"), NUL-terminated;
 * returns its length. buf needs 32 bytes. fc_format_f32_ref is the slow snprintf/strtof twin. */
int fc_format_f32(float v, char *buf);
int fc_format_f32_ref(float v, char *buf);

#ifdef __cplusplus
}
#endif
#endif
