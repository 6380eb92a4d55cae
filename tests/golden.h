/* Shared by the model tests (test_esm2, test_t5, test_esmc): a golden.json + golden.bin fixture made by
 * tools/make_*_golden.py (cases in JSON, every hidden state as little-endian float32 in the .bin).
 * Include after <cmocka.h>. */
#ifndef FC_TESTS_GOLDEN_H
#define FC_TESTS_GOLDEN_H

#include <cjson/cJSON.h>
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

#endif
