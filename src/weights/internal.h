/* weights: shared internals of the checkpoint readers (not public). */
#ifndef FC_WEIGHTS_INTERNAL_H
#define FC_WEIGHTS_INTERNAL_H

#include "fantasia/weights.h"

struct fc_weights {
  fc_tensor *t;
  size_t n, cap;
  fc_strmap map;
  int map_ready;
  void **maps;
  size_t *map_lens;
  size_t nmaps;
  void **owned;
  size_t nowned;
  const char *format;
  const fc_weights_options *opt; /* only during open */
};

/* mmap a whole file read-only; the mapping is owned by w. *base is NULL for an empty file. */
fc_status fcw_map_file(fc_weights *w, const char *path, const uint8_t **base, size_t *len, fc_error *err);
/* w takes ownership of p (freed with free()). Returns 0 on allocation failure (p is then freed). */
int fcw_own(fc_weights *w, void *p);
/* Adds a tensor under the normalised form of raw_name (skipped silently when opt says so).
 * t->name is ignored; shape/ndim/dtype/numel/nbytes/data/mapped are copied. `where` names the file. */
fc_status fcw_add(fc_weights *w, const char *raw_name, const fc_tensor *t, const char *where, fc_error *err);
int fcw_dtype_from_st(const char *s, fc_tensor_dtype *out); /* safetensors dtype string; 0 if unknown */

fc_status fcw_load_safetensors(fc_weights *w, const char *path, fc_error *err);
fc_status fcw_load_torch_zip(fc_weights *w, const char *path, fc_error *err);

#endif
