/* fantasia.c — weights: checkpoint readers giving a name -> tensor map.
 *
 * Formats (docs/models.md "Checkpoints"):
 *  - safetensors (`model.safetensors`), memory-mapped;
 *  - sharded safetensors (`model.safetensors.index.json` weight_map), each shard mapped once;
 *  - PyTorch zip archives (`pytorch_model.bin`, `.pth`, `.pt`, torch >= 1.6): `<root>/data.pkl` is parsed
 *    in C (a pickle subset, no Python), storages `<root>/data/<key>` are mapped when stored uncompressed,
 *    views with offsets/strides are honoured (non-contiguous ones are copied to row-major);
 *  - sharded torch archives (`pytorch_model.bin.index.json`).
 * Legacy (pre-1.6, non-zip) torch files and TorchScript archives are refused with a clear error.
 *
 * Data pointers are BORROWED from the fc_weights object and valid until fc_weights_close. They are
 * little-endian, row-major, but NOT necessarily aligned (safetensors offsets are arbitrary): read them
 * with memcpy or fc_tensor_to_f32.
 */
#ifndef FANTASIA_WEIGHTS_H
#define FANTASIA_WEIGHTS_H

#include <stddef.h>
#include <stdint.h>

#include "fantasia/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  FC_TDT_F32 = 0,
  FC_TDT_F16,
  FC_TDT_BF16,
  FC_TDT_F64,
  FC_TDT_I64,
  FC_TDT_I32,
  FC_TDT_I16,
  FC_TDT_I8,
  FC_TDT_U8,
  FC_TDT_BOOL
} fc_tensor_dtype;

const char *fc_tensor_dtype_name(fc_tensor_dtype t); /* safetensors spelling: "F32", "BF16", ... */
size_t fc_tensor_dtype_size(fc_tensor_dtype t);      /* bytes per element */

#define FC_TENSOR_MAX_DIMS 8

typedef struct {
  const char *name; /* normalised name (see fc_weights_options); borrowed */
  fc_tensor_dtype dtype;
  int ndim; /* 0 for a scalar */
  int64_t shape[FC_TENSOR_MAX_DIMS];
  size_t numel;
  size_t nbytes;    /* numel * fc_tensor_dtype_size(dtype) */
  const void *data; /* row-major little-endian; borrowed; may be unaligned */
  int mapped;       /* 1: points into a memory-mapped file; 0: an owned copy */
} fc_tensor;

typedef struct fc_weights fc_weights;

/* Key normalisation, applied while loading. Both fields may be zero/NULL (names kept as stored). */
typedef struct {
  /* Leading prefixes removed from names, e.g. {"model.", "esm.", "encoder."}: the list is scanned again
   * after every removal, so "model.encoder.x" loses both. NULL-terminated array, or NULL. */
  const char *const *strip_prefixes;
  /* 1: drop tensors that belong to decoders and heads: after stripping, names that start with
   * "decoder.", "lm_head", "contact_head." or "cls." or contain ".decoder." / ".lm_head.". */
  int skip_heads;
} fc_weights_options;

/* Normalises one name into buf (size n). Returns 1 when kept, 0 when skipped by skip_heads, -1 when buf
 * is too small. opt may be NULL. */
int fc_weights_normalize_name(const char *name, const fc_weights_options *opt, char *buf, size_t n);

/* Opens a checkpoint. `path` may be a file (`*.safetensors`, `*.index.json`, `*.bin`/`*.pth`/`*.pt`) or a
 * model directory, in which case the first present of model.safetensors, model.safetensors.index.json,
 * pytorch_model.bin, pytorch_model.bin.index.json is used. The format of a file is decided by its content
 * (ZIP signature, JSON index, else safetensors). Two names equal after normalisation give FC_EDUPLICATE.
 * opt may be NULL. */
fc_status fc_weights_open(const char *path, const fc_weights_options *opt, fc_weights **out, fc_error *err);
void fc_weights_close(fc_weights *w); /* NULL is fine */

size_t fc_weights_count(const fc_weights *w);
const fc_tensor *fc_weights_at(const fc_weights *w, size_t i);          /* in file order; NULL past the end */
const fc_tensor *fc_weights_get(const fc_weights *w, const char *name); /* NULL when absent */
const char *
fc_weights_format(const fc_weights *w); /* "safetensors", "safetensors-sharded", "torch-zip", ... */

/* Converts any float tensor (F32/F16/BF16/F64) to f32 into dst[t->numel]. FC_EUNSUPPORTED otherwise. */
fc_status fc_tensor_to_f32(const fc_tensor *t, float *dst, fc_error *err);
/* Checks that t has shape [d0] (d1 == 0) or [d0, d1], then converts it into a new 64-byte aligned
 * float32 array (*out, free with fc_aligned_free). On any error *out is NULL; the message names
 * wpath (the weights file), the tensor and the shape found. */
fc_status fc_tensor_take_f32(const fc_tensor *t, int64_t d0, int64_t d1, const char *wpath, float **out,
                             fc_error *err);

#ifdef __cplusplus
}
#endif
#endif
