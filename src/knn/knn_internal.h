/* knn: private declarations shared by the fast search and the scalar twin. */
#ifndef FANTASIA_KNN_INTERNAL_H
#define FANTASIA_KNN_INTERNAL_H

#include "fantasia/knn.h"

/* The float32 error bound below assumes dim * 2^-24 is small (< 1 %). */
#define KNN_MAX_DIM 100000

typedef struct {
  double d;
  int32_t row;
} knn_cand;

/* Validates arguments and allocates out (idx = -1, dist = NAN, count = 0). */
fc_status knn_check_args(const float *Q, size_t nq, const float *R, size_t nr, size_t dim,
                         const fc_knn_params *p, fc_knn_result *out, fc_error *err);
/* fc_knn_dot64 without SIMD dispatch (must return the same bits). */
double knn_dot64_portable(const float *a, const float *b, size_t dim);
/* fc_knn_dot64(q, r) with the query pre-converted to double (qd[i] = q[i]): the same bits. */
double knn_dot64_dq(const double *qd, const float *r, size_t dim);
double knn_dot64_dq_portable(const double *qd, const float *r, size_t dim);
/* Ascending distance, then ascending row. */
int knn_cand_cmp(const void *a, const void *b);

#endif
