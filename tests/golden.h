/* Shared by the model tests (test_esm2, test_t5, test_esmc): a golden.json + golden.bin fixture made by
 * tools/make_*_golden.py (cases in JSON, every hidden state as little-endian float32 in the .bin).
 * Include after <cmocka.h>. */
#ifndef FC_TESTS_GOLDEN_H
#define FC_TESTS_GOLDEN_H

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fantasia/core.h"

typedef struct {
  cJSON *json;
  float *bin;
  size_t nbin; /* floats in bin */
} golden;

static void golden_load(golden *g, const char *json_path, const char *bin_path) {
  char *txt = NULL, *raw = NULL;
  size_t len = 0;
  assert_int_equal(fc_read_file(json_path, 0, &txt, &len, NULL), FC_OK);
  g->json = cJSON_ParseWithLength(txt, len);
  assert_non_null(g->json);
  assert_int_equal(fc_read_file(bin_path, 0, &raw, &len, NULL), FC_OK);
  g->nbin = len / 4;
  g->bin = malloc(len ? len : 1);
  assert_non_null(g->bin);
  memcpy(g->bin, raw, len); /* little-endian float32 */
  free(raw);
  free(txt);
}

static void golden_free(golden *g) {
  cJSON_Delete(g->json);
  free(g->bin);
}

/* max|got − ref| / max|ref| over n values, the error measure of every model test: 0 when equal, +inf when ref
 * is all zero and got is not; a NaN in got stays NaN, so it fails every bound. */
static double golden_rel(const float *got, const float *ref, size_t n) {
  double md = 0, mr = 0;
  for (size_t i = 0; i < n; i++) {
    double e = fabs((double)got[i] - ref[i]);
    if (!(e <= md)) md = e;
    if (fabs(ref[i]) > mr) mr = fabs(ref[i]);
  }
  return md == 0 ? 0 : mr > 0 ? md / mr : md == md ? INFINITY : md;
}

#endif
