/* fantasia.c — models, private: what the Hugging Face model loaders (esm2.c, t5.c) share. */
#ifndef FANTASIA_MODELS_COMMON_H
#define FANTASIA_MODELS_COMMON_H

#include <cjson/cJSON.h>

#include "fantasia/core.h"

/* Reads <dir>/<file> and parses it as a JSON object. On success *root (cJSON_Delete) and *path (the file's
 * path for messages, free) are set; on failure both are NULL and err names the file and the cause. */
fc_status fcm_read_json(const char *dir, const char *file, cJSON **root, char **path, fc_error *err);

/* An integer field of a config.json: absent or null leaves *dst as it is (FC_EFORMAT when `required`);
 * anything but an integral number is FC_EFORMAT naming `path` and `key`. */
fc_status fcm_cfg_int(const cJSON *root, const char *key, int *dst, int required, const char *path,
                      fc_error *err);

#endif
