/* Internal helpers shared by the embeddings.h5 reader and writer. */
#ifndef FC_EMBFILE_H5UTIL_H
#define FC_EMBFILE_H5UTIL_H

#include <hdf5.h>

#include "fantasia/core.h"

/* HDF5 prints its error stack to stderr by default; every public call switches that off and restores
 * the caller's setting on return. */
typedef struct {
  H5E_auto2_t func;
  void *data;
} fc_h5quiet;
void fc_h5quiet_begin(fc_h5quiet *q);
void fc_h5quiet_end(const fc_h5quiet *q);

/* Most specific description on HDF5's current error stack (e.g. "truncated file: eof = ..."), or
 * "unknown HDF5 error". Writes into buf (NUL-terminated). */
const char *fc_h5_last_error(char *buf, size_t n);

/* 1 when t is a 16-bit float type with IEEE binary16 fields (sign 15, exponent 10..14, mantissa 0..9,
 * bias 15); 2 when it has bfloat16 fields (sign 15, exponent 7..14, mantissa 0..6, bias 127); 0 otherwise. */
int fc_h5_float16_kind(hid_t t);
/* A new 16-bit little-endian IEEE half type (the one h5py uses for numpy float16). Caller closes. */
hid_t fc_h5_make_f16_type(void);

/* Reads a scalar (or one-element) string dataset or attribute value, fixed or variable length.
 * On success *out is a malloc'd NUL-terminated copy. Returns 0, or -1 when obj is not a string
 * (*why set to a static cause). is_attr selects H5Aread vs H5Dread. */
int fc_h5_read_string(hid_t obj, int is_attr, char **out, const char **why);

/* Reads the string attribute `name` of the object at `path` relative to loc. Returns 1 and *out (malloc'd)
 * when present, 0 when absent, -1 on error (*why set). */
int fc_h5_read_string_attr(hid_t loc, const char *path, const char *name, char **out, const char **why);

#endif
