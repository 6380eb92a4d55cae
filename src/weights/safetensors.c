/* weights/safetensors: memory-mapped safetensors reader with full header validation. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define ST_MAX_HEADER (100u * 1024u * 1024u) /* the reference implementation's limit */

typedef struct {
  uint64_t b, e;
  const char *name;
} range;

static int cmp_range(const void *a, const void *b) {
  const range *x = a, *y = b;
  return x->b < y->b ? -1 : x->b > y->b ? 1 : (x->e < y->e ? -1 : x->e > y->e);
}

/* A JSON number that is a non-negative integer below 2^53. */
static int json_u64(const cJSON *j, uint64_t *out) {
  if (!cJSON_IsNumber(j)) return 0;
  double d = j->valuedouble;
  if (!(d >= 0) || d > 9007199254740992.0 || floor(d) != d) return 0;
  *out = (uint64_t)d;
  return 1;
}

fc_status fcw_load_safetensors(fc_weights *w, const char *path, fc_error *err) {
  const uint8_t *base;
  size_t len;
  fc_status st = fcw_map_file(w, path, &base, &len, err);
  if (st != FC_OK) return st;
  if (!w->format) w->format = "safetensors";
  if (len < 8) return fc_error_set(err, FC_EFORMAT, "%s: truncated safetensors file (%zu bytes)", path, len);
  uint64_t hn = 0;
  for (int i = 7; i >= 0; i--)
    hn = (hn << 8) | base[i];
  if (hn > ST_MAX_HEADER)
    return fc_error_set(err, FC_EFORMAT, "%s: safetensors header length %llu is over the 100 MB limit", path,
                        (unsigned long long)hn);
  if (hn > len - 8)
    return fc_error_set(err, FC_EFORMAT,
                        "%s: safetensors header length %llu runs past end of file (%zu bytes)", path,
                        (unsigned long long)hn, len);
  cJSON *root = cJSON_ParseWithLength((const char *)base + 8, (size_t)hn);
  if (!root) return fc_error_set(err, FC_EFORMAT, "%s: malformed JSON in safetensors header", path);
  if (!cJSON_IsObject(root)) {
    cJSON_Delete(root);
    return fc_error_set(err, FC_EFORMAT, "%s: safetensors header is not a JSON object", path);
  }
  const uint8_t *buf = base + 8 + hn;
  uint64_t buflen = len - 8 - hn;
  size_t n = (size_t)cJSON_GetArraySize(root), nr = 0;
  range *rs = calloc(n ? n : 1, sizeof *rs);
  if (!rs) {
    cJSON_Delete(root);
    return fc_error_set(err, FC_ENOMEM, "%s: out of memory", path);
  }
  const cJSON *e;
  cJSON_ArrayForEach(e, root) {
    const char *name = e->string;
    if (strcmp(name, "__metadata__") == 0) continue;
    if (!cJSON_IsObject(e)) {
      st = fc_error_set(err, FC_EFORMAT, "%s: tensor '%s': header entry is not an object", path, name);
      break;
    }
    const cJSON *jd = cJSON_GetObjectItemCaseSensitive(e, "dtype");
    const cJSON *js = cJSON_GetObjectItemCaseSensitive(e, "shape");
    const cJSON *jo = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
    fc_tensor t;
    memset(&t, 0, sizeof t);
    if (!cJSON_IsString(jd)) {
      st = fc_error_set(err, FC_EFORMAT, "%s: tensor '%s': missing dtype", path, name);
      break;
    }
    if (!fcw_dtype_from_st(jd->valuestring, &t.dtype)) {
      st = fc_error_set(err, FC_EUNSUPPORTED, "%s: tensor '%s': unsupported dtype '%s'", path, name,
                        jd->valuestring);
      break;
    }
    if (!cJSON_IsArray(js) || cJSON_GetArraySize(js) > FC_TENSOR_MAX_DIMS) {
      st = fc_error_set(err, FC_EFORMAT, "%s: tensor '%s': shape missing or over %d dimensions", path, name,
                        FC_TENSOR_MAX_DIMS);
      break;
    }
    uint64_t numel = 1;
    int ok = 1;
    const cJSON *d;
    cJSON_ArrayForEach(d, js) {
      uint64_t v;
      if (!json_u64(d, &v)) {
        ok = 0;
        break;
      }
      if (v && numel > UINT64_MAX / 16 / v) ok = 0;
      numel *= v;
      t.shape[t.ndim++] = (int64_t)v;
    }
    if (!ok) {
      st = fc_error_set(err, FC_EFORMAT, "%s: tensor '%s': bad shape", path, name);
      break;
    }
    uint64_t b, en;
    if (!cJSON_IsArray(jo) || cJSON_GetArraySize(jo) != 2 || !json_u64(cJSON_GetArrayItem(jo, 0), &b) ||
        !json_u64(cJSON_GetArrayItem(jo, 1), &en) || b > en) {
      st = fc_error_set(err, FC_EFORMAT, "%s: tensor '%s': bad data_offsets", path, name);
      break;
    }
    t.numel = (size_t)numel;
    t.nbytes = t.numel * fc_tensor_dtype_size(t.dtype);
    if (en - b != t.nbytes) {
      st = fc_error_set(
          err, FC_EFORMAT,
          "%s: tensor '%s': data_offsets [%llu, %llu) hold %llu bytes, shape and dtype need %zu", path, name,
          (unsigned long long)b, (unsigned long long)en, (unsigned long long)(en - b), t.nbytes);
      break;
    }
    if (en > buflen) {
      st =
          fc_error_set(err, FC_EFORMAT,
                       "%s: tensor '%s': data_offsets end %llu is past the end of the data (%llu bytes; file "
                       "truncated?)",
                       path, name, (unsigned long long)en, (unsigned long long)buflen);
      break;
    }
    t.data = buf + b;
    t.mapped = 1;
    rs[nr].b = b;
    rs[nr].e = en;
    rs[nr].name = name;
    nr++;
    st = fcw_add(w, name, &t, path, err);
    if (st != FC_OK) break;
  }
  if (st == FC_OK && nr > 1) {
    qsort(rs, nr, sizeof *rs, cmp_range);
    for (size_t i = 1; i < nr; i++)
      if (rs[i].b < rs[i - 1].e && rs[i].e > rs[i].b) {
        st = fc_error_set(err, FC_EFORMAT, "%s: tensors '%s' and '%s' have overlapping data_offsets", path,
                          rs[i - 1].name, rs[i].name);
        break;
      }
  }
  free(rs);
  cJSON_Delete(root);
  return st;
}
