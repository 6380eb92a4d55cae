/* fantasia.c — evaluate: CAFA-evaluator 1.2.1 metrics (protein-centric precision/recall/F over a
 * threshold grid, Fmax, IA-weighted F, S / Smin, coverage, micro averages), see docs/evaluation.md.
 *
 * Inputs:
 *   - ontology: an fc_ontology (one DAG per namespace, include/fantasia/go.h);
 *   - ground truth: `target term` pairs (fc_annot_read: 2-column TSV, GAF, 3-column TSV); terms are
 *     mapped to their namespace, alt_ids to primary ids, and propagated to all ancestors;
 *   - predictions: `target term score` lines (whitespace-separated, extra columns ignored, lines with
 *     fewer than 3 fields skipped), one file or a folder (recursive, sorted; a file in a sub-folder is
 *     labelled "sub_file.tsv"); only targets of the namespace's ground truth are kept; a (target, term)
 *     pair given twice keeps the maximum score; max_terms caps the distinct terms per target (file
 *     order, CAFA-evaluator's off-by-one included: a target keeps up to max_terms + 1 terms); scores are
 *     propagated (FC_PROP_MAX or FC_PROP_FILL);
 *   - IA (optional): `term ia` lines; inf/nan -> 0; terms with IA <= 0 are left out of the weighted metrics.
 * Memory: O(annotated (target, term) pairs) per namespace plus O(lines) of one prediction file; never
 * targets x terms.
 */
#ifndef FANTASIA_EVALUATE_H
#define FANTASIA_EVALUATE_H

#include "fantasia/core.h"
#include "fantasia/go.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { FC_NORM_CAFA = 0, FC_NORM_PRED = 1, FC_NORM_GT = 2 } fc_eval_norm;

typedef struct {
  fc_eval_norm norm; /* cafa: precision over targets with a prediction, the rest over all GT targets */
  fc_prop_mode prop; /* FC_PROP_MAX (default) or FC_PROP_FILL */
  double th_step;    /* threshold step; 0 = 0.01. tau = step, 2 step, ... < 1 */
  long max_terms;    /* < 0: no cap */
  int no_orphans;    /* 1: terms without parents (roots) are not evaluated */
  /* Known annotations (`target term` pairs, like the ground truth) for partial-knowledge evaluation, as
   * later CAFA-evaluator versions' -known (not in 1.2.1): they are propagated, and for each target its
   * known terms are left out of its predictions and ground truth; targets left without a ground-truth
   * term of interest are not evaluated (not counted in n nor in the number of targets). NULL: none. */
  const char *known_path;
} fc_eval_opts;
void fc_eval_opts_default(fc_eval_opts *o);

/* Counts for one input file (ground truth, IA or prediction file). Nothing here is fatal. */
typedef struct {
  size_t lines;          /* non-blank lines read */
  size_t used;           /* lines that contributed */
  size_t short_lines;    /* fewer fields than needed */
  size_t unknown_term;   /* term not in the ontology */
  size_t obsolete_term;  /* obsolete term (dropped) */
  size_t alt_mapped;     /* alt_id (or replaced_by) mapped to its primary term */
  size_t bad_score;      /* score not a number (or nan) */
  size_t out_of_range;   /* score outside [0, 1] (used as CAFA-evaluator does: <= 0 means absent) */
  size_t duplicates;     /* (target, term) given more than once */
  size_t other_target;   /* target without ground truth in the term's namespace (ignored) */
  size_t ns_without_gt;  /* term of a namespace with no ground truth */
  size_t over_max_terms; /* dropped by max_terms */
  size_t unreadable;     /* (folders) files that could not be read */
} fc_eval_input_stats;

enum {
  FC_EV_N = 0,
  FC_EV_TP,
  FC_EV_FP,
  FC_EV_FN,
  FC_EV_PR,
  FC_EV_RC,
  FC_EV_COV,
  FC_EV_MI,
  FC_EV_RU,
  FC_EV_F,
  FC_EV_S,
  FC_EV_PR_MICRO,
  FC_EV_RC_MICRO,
  FC_EV_F_MICRO,
  FC_EV_NCOLS
};
extern const char *const fc_eval_column_names[FC_EV_NCOLS]; /* "n", "tp", ... "f_micro" */

typedef struct {
  const char *filename; /* label, borrowed from the fc_eval */
  int ns;               /* namespace index of the ontology */
  double tau;
  double m[FC_EV_NCOLS]; /* unweighted */
  double w[FC_EV_NCOLS]; /* IA-weighted (all 0 without IA) */
} fc_eval_row;

typedef struct fc_eval fc_eval;

/* o is BORROWED (must outlive the fc_eval). ia_path may be NULL. opts NULL = defaults. */
fc_status fc_eval_new(const fc_ontology *o, const char *gt_path, const char *ia_path,
                      const fc_eval_opts *opts, fc_eval **out, fc_error *err);
void fc_eval_free(fc_eval *ev);
int fc_eval_has_ia(const fc_eval *ev);
const fc_eval_input_stats *fc_eval_gt_stats(const fc_eval *ev);
const fc_eval_input_stats *fc_eval_ia_stats(const fc_eval *ev);
const fc_eval_input_stats *fc_eval_known_stats(const fc_eval *ev);
size_t fc_eval_active_targets(const fc_eval *ev, int ns); /* targets evaluated (after --known) */
size_t fc_eval_gt_targets(const fc_eval *ev, int ns);     /* targets with ground truth in ns */
size_t fc_eval_gt_annotations(const fc_eval *ev, int ns); /* propagated (target, term) pairs */

/* Evaluates one prediction file under `label`; rows with coverage 0 are not kept. st (may be NULL)
 * receives the file's counts. An empty file or one without a usable line is not an error (no rows,
 * counted). An unreadable file is FC_EIO. */
fc_status fc_eval_add_file(fc_eval *ev, const char *path, const char *label, fc_eval_input_stats *st,
                           fc_error *err);
/* A file (label = its base name) or a folder (recursive, sorted; unreadable files are counted in
 * st->unreadable and skipped). st (may be NULL) receives the sum of the counts. */
fc_status fc_eval_add_path(fc_eval *ev, const char *path, fc_eval_input_stats *st, fc_error *err);

const fc_eval_row *fc_eval_rows(const fc_eval *ev, size_t *n); /* borrowed, all kept rows */

/* Best rows, one per (filename, namespace), groups sorted by (filename, namespace name):
 * metric "f", "f_w", "f_micro", "f_micro_w" (first maximum over tau) or "s" (first minimum of the
 * unweighted s, as CAFA-evaluator 1.2.1), "s_w" (minimum of s_w). cov_max[i] = max coverage of the
 * group (cov_w for the _w metrics). Caller frees *rows (pointers) and *cov_max. */
fc_status fc_eval_best(const fc_eval *ev, const char *metric, const fc_eval_row ***rows, double **cov_max,
                       size_t *n, fc_error *err);

/* Writes evaluation_all.tsv and evaluation_best_{f,s,f_micro}[,f_w,f_micro_w].tsv into out_dir
 * (created), in CAFA-evaluator's column layout, ceil(-log10(th_step)) + 1 decimals. */
fc_status fc_eval_write(const fc_eval *ev, const char *out_dir, fc_error *err);

/* Precision-recall plots (src/evaluate/plot.c): out_dir/pr_<namespace>.svg, one curve per prediction file
 * (one point per threshold), its Fmax point marked, a legend with Fmax, tau and coverage. o must be the
 * ontology ev was made with. */
fc_status fc_eval_write_plots(const fc_eval *ev, const fc_ontology *o, const char *out_dir, fc_error *err);

#ifdef __cplusplus
}
#endif
#endif
