/* Shared pieces of the Hugging Face model loaders (see model_common.h). */
#include <stdlib.h>

#include "model_common.h"

fc_status fcm_read_json(const char *dir, const char *file, cJSON **root, char **path, fc_error *err) {
  *root = NULL;
  *path = fc_path_join(dir, file);
  if (!*path) return fc_error_set(err, FC_ENOMEM, "out of memory");
  char *txt = NULL;
  size_t len = 0;
  fc_status st = fc_read_file(*path, 0, &txt, &len, err);
  if (st == FC_OK) {
    *root = cJSON_ParseWithLength(txt, len);
    free(txt);
    if (cJSON_IsObject(*root)) return FC_OK;
    st = fc_error_set(err, FC_EFORMAT, "%s: not a JSON object", *path);
    cJSON_Delete(*root);
    *root = NULL;
  }
  free(*path);
  *path = NULL;
  return st;
}

fc_status fcm_cfg_int(const cJSON *root, const char *key, int *dst, int required, const char *path,
                      fc_error *err) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
  if (!v || cJSON_IsNull(v)) {
    if (required) return fc_error_set(err, FC_EFORMAT, "%s: missing key '%s'", path, key);
    return FC_OK;
  }
  if (!cJSON_IsNumber(v) || v->valuedouble != (double)(int)v->valuedouble)
    return fc_error_set(err, FC_EFORMAT, "%s: '%s' must be an integer", path, key);
  *dst = (int)v->valuedouble;
  return FC_OK;
}
