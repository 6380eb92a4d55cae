/* fantasia.c — align: FANTASIA's pairwise alignment metrics (§6.3) via parasail.
 *
 * Global: Needleman-Wunsch (end gaps penalised), local: Smith-Waterman; both BLOSUM62, gap open 10,
 * extend 1 in parasail's convention (a gap of length L costs 10 + (L-1)). s1 = query, s2 = reference.
 * From the traceback (query, ref, comp strings):
 *   length     = alignment columns (gap columns included)
 *   identity   = columns with equal residues (neither '-') / length
 *   similarity = columns marked '|' or ':' (BLOSUM62 > 0) / length
 *   gaps       = gap columns / length   (a fraction, FANTASIA's "gaps_percentage")
 *   score      = parasail's alignment score
 * length 0 (SW score 0, empty sequence) -> identity, similarity, gaps, length 0; score kept
 * (0 when a sequence is empty). Functions are thread-safe.
 */
#ifndef FANTASIA_ALIGN_H
#define FANTASIA_ALIGN_H

#include <stddef.h>

#include "fantasia/core.h"
#include "fantasia/summarize.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  double identity, similarity, score, gaps, length;
} fc_align_metrics;

/* global and/or local may be NULL to skip that alignment. */
fc_status fc_align_pair(const char *q, const char *r, fc_align_metrics *global, fc_align_metrics *local,
                        fc_error *err);
/* n pairs on `threads` workers (<= 0: fc_num_threads()), progress bar on a terminal. Outputs are arrays
 * of n (either may be NULL). */
fc_status fc_align_many(const char *const *q, const char *const *r, size_t n, int threads,
                        fc_align_metrics *global, fc_align_metrics *local, fc_error *err);
/* Aligns each distinct (sequence_query, sequence_reference) pair once and fills the ten alignment values
 * of every row holding it (has_alignment = 1). Rows where either sequence is empty get has_alignment 0. */
fc_status fc_raw_table_fill_alignments(fc_raw_table *t, int threads, fc_error *err);

#ifdef __cplusplus
}
#endif
#endif
