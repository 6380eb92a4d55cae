/* fantasia.c — pipeline: the glue between the stage modules.
 *   stage A  fc_embed_fasta        FASTA -> embeddings.h5 (built-in kmer model here; PLMs plug in later)
 *   stage B  fc_lookup_run         embeddings.h5 x reference store -> raw rows (exact k-NN + GO transfer)
 *   stage C  fc_outputs_write      raw rows -> raw_results.tsv / CSV tree, summary.csv, TopGO,
 * sequences.fasta build    fc_reference_build    FASTA + GO annotations + OBO + embeddings.h5 -> reference
 * store Everything the CLI runs is one of these calls. */
#ifndef FANTASIA_PIPELINE_H
#define FANTASIA_PIPELINE_H

#include <math.h>

#include "fantasia/core.h"
#include "fantasia/embfile.h"
#include "fantasia/go.h"
#include "fantasia/knn.h"
#include "fantasia/refdb.h"
#include "fantasia/summarize.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------- stage A ---------- */
typedef struct {
  const char
      *model;     /* "kmer" (built-in), an ESM-2 or T5 model directory (HF layout) or an ESM C checkpoint */
  int kmer_k;     /* default FC_KMER_DEFAULT_K */
  size_t max_len; /* 0 = no truncation */
  size_t limit;   /* 0 = all records */
  fc_dtype dtype; /* dtype of the stored vectors (f32 default) */
  const char *failed_tsv; /* where unprocessable sequences are listed (NULL = next to the output) */
  /* > 0: kmer worker threads, and the OpenBLAS thread count of the language models' GEMMs for the call.
   * The backend's vector kernels follow fc_num_threads() (FANTASIA_THREADS; the CLI sets it from
   * --threads); a library caller wanting one thread everywhere sets FANTASIA_THREADS=1. 0 = defaults:
   * fc_num_threads() for both (the CPUs this process may use), unless OPENBLAS_NUM_THREADS or
   * OMP_NUM_THREADS is set, which then rules the GEMMs. */
  int threads;
  /* language models: FANTASIA layer indices (0 = last hidden state; k selects hidden_states[-(k+1)]),
   * NULL/0 = {0}; model_name: the type_<name> group written, NULL = "ESM" / "T5" / "ESM3c" by model.
   * Ignored by kmer. */
  const int *layers;
  size_t n_layers;
  const char *model_name;
  /* Pooling. 0 (default) = mean over residue positions only ("t5-mean-residues" for T5 encoders);
   * 1 = FANTASIA-compatible: for T5 encoders the mean over every token, prefix and </s> included
   * ("t5-mean-all-tokens"), with FANTASIA's text (ProtT5 too gets the "<AA2fold> " prefix, which its
   * vocabulary cuts into pieces). ESM-2 and ESM C pool residues either way (FANTASIA does too). */
  int fantasia_pooling;
  /* language models: packed batches (docs/usage.md "Batches and memory"). Unique sequences are sorted
   * longest first and packed while the batch's tokens (residues + 2 per sequence) stay <= batch_tokens
   * and the model's scratch estimate (fc_<m>_batch_bytes) stays <= max_memory; a longer sequence runs
   * alone; one whose scratch alone exceeds max_memory is listed in failed_sequences.tsv. */
  size_t batch_tokens; /* 0 = FC_EMBED_DEFAULT_BATCH_TOKENS */
  size_t max_memory;   /* bytes of working memory (weights not counted); 0 = fc_embed_default_memory() */
  const char *max_memory_source; /* how the budget is named in failure reasons; NULL = "--max-memory" */
} fc_embed_opts;
#define FC_EMBED_DEFAULT_BATCH_TOKENS 4096
/* Default working-memory budget: half of what this process may still use (fc_memory_limit: the physical
 * RAM, capped by a cgroup memory limit such as a Slurm job's or a container's; minus what the process holds
 * now, so called once the model is loaded the weights are left out), at least 256 MiB. */
size_t fc_embed_default_memory(void);
/* Parses a byte size: a number with an optional binary unit K, M, G, T (also KB/KiB...; 1K = 1024) or none
 * (bytes), e.g. "8G", "1.5g", "512MiB", "1000000". FC_EINVAL for anything else, zero or overflow. */
fc_status fc_parse_bytes(const char *s, size_t *out, fc_error *err);
/* "12.3 GiB", "8 GiB", "512 MiB", "900 B" into buf (n bytes). */
void fc_format_bytes(size_t bytes, char *buf, size_t n);
/* Embeds every valid record of fasta into out_h5 (resumable: vectors already present are kept).
 * *n_done / *n_failed report counts (may be NULL). */
fc_status fc_embed_fasta(const char *fasta, const char *out_h5, const fc_embed_opts *o, size_t *n_done,
                         size_t *n_failed, fc_error *err);

/* ---------- predictions: (model, layer, target, term) -> score (src/pipeline/predictions.c) ---------- */
typedef struct {
  const char *model; /* borrowed from the set */
  int layer;         /* FC_LAYER_LEGACY (-1) for a legacy (null) layer */
  const char *target, *term;
  double score;
} fc_prediction;
typedef struct fc_predictions fc_predictions;
fc_predictions *fc_predictions_new(void); /* NULL on out of memory */
void fc_predictions_free(fc_predictions *p);
/* Adds one score (finite, >= 0); a (model, layer, target, term) given again keeps the maximum. */
fc_status fc_predictions_add(fc_predictions *p, const char *model, int layer, const char *target,
                             const char *term, double score, fc_error *err);
size_t fc_predictions_size(const fc_predictions *p);
const fc_prediction *fc_predictions_at(const fc_predictions *p, size_t i); /* insertion order; borrowed */
/* FANTASIA mode: the maximum reliability index per (model, layer, accession, go_id) of the raw rows. */
fc_status fc_predictions_from_raw(const fc_raw_table *t, fc_predictions *p, fc_error *err);

typedef struct {
  const char *out_dir; /* experiment folder: predictions/<model>_L<k>.tsv and cafa/<model>_L<k>.txt */
  int write_tsv;       /* target<TAB>term<TAB>score (the evaluator's format), `precision` decimals */
  int write_cafa;      /* CAFA submission: AUTHOR/MODEL/KEYWORDS header, target term score (2 dp), END */
  int precision;       /* TSV decimals (default 4) */
  int propagate;       /* 1: scores propagated to every ancestor by maximum (needs ontology) */
  const fc_ontology *ontology; /* borrowed; only for propagate */
  const char *author, *keywords;
} fc_predictions_write_opts;
void fc_predictions_write_opts_init(fc_predictions_write_opts *o); /* tsv + cafa, 4 dp, no propagation */
/* One file per (model, layer) and format, atomically; lines sorted by target, score descending, term;
 * lines whose score rounds to 0 are left out. */
fc_status fc_predictions_write(const fc_predictions *p, const fc_predictions_write_opts *o, fc_error *err);

/* ---------- stage B ---------- */
typedef enum {
  FC_SCORING_FANTASIA = 0, /* per-hit raw rows (FANTASIA) */
  FC_SCORING_GOPREDSIM = 1 /* goPredSim: per namespace, ties at the k-th distance, sum(RI)/#hits, leaves */
} fc_scoring;
/* "fantasia" | "gopredsim" (case-insensitive) */
fc_status fc_scoring_parse(const char *s, fc_scoring *out, fc_error *err);
const char *fc_scoring_name(fc_scoring s);

typedef struct {
  const char *name;  /* config model name (case-insensitive match with the query file's type_<x>) */
  int64_t type_id;   /* FANTASIA numeric id (also matched), 0 = unknown */
  const int *layers; /* NULL = every layer present */
  size_t n_layers;
  double threshold; /* NAN = none */
} fc_lookup_model;

typedef struct {
  const char *reference; /* store path */
  fc_metric metric;
  size_t k;                      /* limit_per_entry */
  const fc_lookup_model *models; /* NULL = every (model, layer) of the query file the store has */
  size_t n_models;
  double default_threshold; /* NAN = none; used for models without their own */
  /* filters */
  const char *const *tax_exclude;
  size_t n_tax_exclude;
  const char *const *tax_include;
  size_t n_tax_include;
  const char *taxonomy_nodes; /* nodes.dmp: expand the lists to all descendants */
  int exclude_self;           /* drop donors with the query's sequence or accession */
  double max_identity;        /* NAN = off; drop donors whose global identity to the query is above */
  double redundancy_identity; /* > 0: MMseqs2 cluster masking (FANTASIA 5.6) */
  double redundancy_coverage;
  int redundancy_threads;
  const char *work_dir; /* where clusters.tsv goes (experiment folder) */
  int threads;
  size_t limit_queries; /* 0 = all */
  /* scoring (docs/lookup.md "goPredSim scoring"). FC_SCORING_GOPREDSIM needs `ontology` (borrowed, for
   * the leaf reduction) and a `predictions` set (borrowed) that receives the scores. */
  fc_scoring scoring;
  const fc_ontology *ontology;
  fc_predictions *predictions;
} fc_lookup_opts;

void fc_lookup_opts_init(fc_lookup_opts *o); /* defaults: cosine, k=1, no filters */

/* Runs the lookup of every query block against its reference space and appends raw rows to table.
 * Hits expand to every protein sharing the reference sequence and each of its GO terms.
 * goPredSim scoring: one search per namespace (P, F, C) among the references with a term of that
 * namespace; the raw rows are the hits of each namespace (their terms of that namespace only), and
 * o->predictions receives score(term) = sum of RI over the hits carrying it / number of hits, reduced to
 * leaf terms. */
fc_status fc_lookup_run(const fc_embset *queries, const fc_lookup_opts *o, fc_raw_table *table,
                        fc_error *err);

/* ---------- stage C ---------- */
typedef struct {
  const char *out_dir; /* experiment folder */
  int write_tsv;       /* raw_results.tsv */
  int write_csv_tree;  /* raw_results/<model>/layer_<k>/<acc>.csv (FANTASIA layout) */
  int keep_sequences;
  int alignments; /* compute NW/SW metrics (parasail) */
  int precision;
  int threads;
  const fc_summary_opts *summary; /* NULL = FANTASIA's shipped defaults */
} fc_outputs_opts;
fc_status fc_outputs_write(fc_raw_table *table, const fc_outputs_opts *o, fc_error *err);

/* ---------- reference build ---------- */
typedef struct {
  const char *fasta, *annotations, *ontology, *embeddings, *taxonomy_tsv, *output;
  const char *const *evidence_codes; /* NULL = FANTASIA's experimental set; {"all"} = keep every code */
  size_t n_evidence;
  int all_evidence;
  int skip_bad_lines; /* 0 (default): a malformed annotation line is an error; 1: warn and skip it */
} fc_build_opts;
typedef struct {
  size_t sequences, proteins, annotations, go_terms, skipped_evidence, unknown_go, unknown_protein,
      without_embedding, spaces;
} fc_build_report;
fc_status fc_reference_build(const fc_build_opts *o, fc_build_report *rep, fc_error *err);

#ifdef __cplusplus
}
#endif
#endif
