/* fantasia.c — knn: exact k-nearest-neighbour search on the CPU (stage B lookup kernel).
 *
 * FAISS-style brute force: float32 sgemm (OpenBLAS) over tiles of queries x references, fused with a
 * bounded per-query selection, followed by an exact float64 rescoring of the surviving candidates.
 * The full query x reference matrix is never materialised and rows are never fully sorted.
 *
 * Distances (FANTASIA's definitions, spec §5.7):
 *   cosine     d = 1 - q̂·r̂, q̂ = q / max(‖q‖₂, 1e-12)  (a zero vector gives d = 1, FANTASIA's GPU rule)
 *   euclidean  d = sqrt(max(‖q‖² + ‖r‖² - 2 q·r, 0))
 * Returned distances are the float64 values of fc_knn_distance64() (bit for bit what the scalar twin
 * computes), ordered ascending, ties broken by reference row ascending: the output is deterministic,
 * whatever the thread count or tile sizes. The threshold (inclusive max distance) is applied before k.
 * See docs/lookup.md for the exactness argument.
 */
#ifndef FANTASIA_KNN_H
#define FANTASIA_KNN_H

#include <stddef.h>
#include <stdint.h>

#include "fantasia/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { FC_METRIC_COSINE = 0, FC_METRIC_EUCLIDEAN = 1 } fc_metric;

/* "cosine" | "euclidean" (case-insensitive). */
fc_status fc_metric_parse(const char *s, fc_metric *out, fc_error *err);
const char *fc_metric_name(fc_metric m);

#define FC_KNN_MAX_K 10000

typedef struct {
  fc_metric metric;
  size_t k;         /* 1..FC_KNN_MAX_K */
  double threshold; /* inclusive max distance, applied before k; NAN = none */
  /* Borrowed, may be NULL. nr flags; non-zero = this reference row is never returned (taxonomy filter). */
  const uint8_t *ref_excluded;
  /* Borrowed, may be NULL. Per query i: query_excluded[i] lists n_query_excluded[i] reference rows,
   * sorted ascending (checked, FC_EINVAL otherwise), that query i must skip (identical sequence, same
   * accession, MMseqs2 cluster); rows outside 0..nr-1 are ignored.
   * query_excluded[i] may be NULL when n_query_excluded[i] is 0. */
  const int32_t *const *query_excluded;
  const size_t *n_query_excluded;
  int threads; /* 0 = fc_num_threads() */
  /* Tuning (0 = default). Results never depend on them. */
  size_t query_block; /* queries per sgemm tile (default 512) */
  size_t ref_block;   /* references per sgemm tile (default 4096) */
  /* Optional, borrowed: advanced by the number of queries finished (thread-safe fc_progress_add). */
  fc_progress *progress;
} fc_knn_params;

/* Defaults: cosine, k = 1, no threshold, no filters, all threads. */
void fc_knn_params_init(fc_knn_params *p);

/* nq*k row-major; row i holds count[i] <= k valid entries in ascending (distance, row) order; the rest
 * of the row is idx = -1, dist = NAN. */
typedef struct {
  size_t nq, k;
  int32_t *idx;
  double *dist;
  size_t *count;
} fc_knn_result;

/* Exact k-NN of the nq queries Q (nq x dim, row-major) among the nr references R (nr x dim).
 * Q, R and r_norms are borrowed. r_norms (optional, nr values ‖r‖₂ in float) lets a caller that
 * searches the same R repeatedly skip the float32 norm pass; it is used only for screening, the final
 * distances always come from float64 arithmetic on Q and R. Vectors must be finite (FC_EINVAL
 * otherwise). nr must be below 2^31. out is overwritten (call fc_knn_result_free afterwards).
 * While it runs, OpenBLAS is switched to one thread (restored on return): do not call it concurrently
 * with other OpenBLAS users that rely on OpenBLAS's own threading. */
fc_status fc_knn_search(const float *Q, size_t nq, const float *R, size_t nr, size_t dim,
                        const float *r_norms, const fc_knn_params *p, fc_knn_result *out, fc_error *err);

/* Plain float64 brute force twin (one distance per pair, full sort per query): the reference the
 * tests compare fc_knn_search with. Same arguments and output. Slow: tests and small inputs only. */
fc_status fc_knn_search_scalar(const float *Q, size_t nq, const float *R, size_t nr, size_t dim,
                               const float *r_norms, const fc_knn_params *p, fc_knn_result *out,
                               fc_error *err);

void fc_knn_result_free(fc_knn_result *r);

/* The float64 arithmetic both searches use (fixed summation order, so bit-identical everywhere). */
double fc_knn_dot64(const float *a, const float *b, size_t dim);
/* Distance from dot = fc_knn_dot64(q, r), qq = fc_knn_dot64(q, q), rr = fc_knn_dot64(r, r). */
double fc_knn_distance64(fc_metric m, double dot, double qq, double rr);

#ifdef __cplusplus
}
#endif
#endif
