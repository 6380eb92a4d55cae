/* fantasia.c — embfile: read and write FANTASIA's embeddings.h5 (HDF5 C API 1.10).
 *
 * Layout (FANTASIA 4.1.1, embedder.py store_entry; docs/file-formats.md "embeddings.h5"):
 *
 *   /accession_<acc>                   group; <acc> = FASTA id with '|' -> '_'
 *       sequence                       scalar fixed-length byte string (numpy 'S<n>')
 *       type_<model>                   group; <model> = DB id ("3" = Prot-T5) or a name ("Prot-T5", "kmer")
 *           @pooling                   optional string attribute (written by fantasia.c, absent in FANTASIA
 * files) layer_<k>                  group, k >= 0
 *               @shape                 int64 [1] = {D} (tolerated when missing)
 *               embedding              1-D float dataset of D values (float64 in FANTASIA files)
 *           embedding                  legacy layout without layer groups (reported as layer -1)
 *
 * Readers accept float64, float32, IEEE float16 (any 16-bit float type with IEEE half fields, such as
 * numpy float16 written by h5py) and bfloat16-shaped 16-bit floats. fp16 is never converted by HDF5
 * (its 1.10 f32->f16 conversion is wrong for some values): raw bits are read and written and converted
 * with fc_f16_to_f32 / fc_f32_to_f16.
 *
 * Thread-safety: the Debian HDF5 build is not thread-safe; call these functions from one thread at a
 * time. HDF5's automatic error printing is switched off inside every call and restored on return.
 */
#ifndef FANTASIA_EMBFILE_H
#define FANTASIA_EMBFILE_H

#include <stddef.h>

#include "fantasia/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { FC_DTYPE_F32 = 0, FC_DTYPE_F64 = 1, FC_DTYPE_F16 = 2 } fc_dtype;

/* "f32", "f64", "f16"; NULL for an unknown value. */
const char *fc_dtype_name(fc_dtype d);
/* Parses "f32|float32", "f64|float64", "f16|float16|half" (case-insensitive). 0 on success, -1 otherwise. */
int fc_dtype_parse(const char *s, fc_dtype *out);

typedef struct {
  char *model;   /* text after "type_": a name ("Prot-T5", "kmer") or a numeric DB id ("3") as in the file */
  int layer;     /* k of layer_<k>; -1 for the legacy layout type_<x>/embedding without layer groups */
  char *pooling; /* "pooling" attribute of the type_<x> groups, or NULL when absent (FANTASIA's files) */
  size_t n, dim; /* rows, values per row */
  char **accessions; /* n; accession = group name without "accession_" */
  char **sequences;  /* n */
  float *data;       /* n*dim, row-major, 64-byte aligned (fc_aligned_alloc) */
} fc_emb_block;

typedef struct {
  fc_emb_block
      *blocks; /* one per (model, layer), sorted by model (strcmp) then layer; rows in HDF5 name order */
  size_t n_blocks;
  size_t n_accessions; /* accession_* groups that have a sequence (whether or not they hold embeddings) */
  size_t n_skipped; /* accession_* groups skipped because they lack a "sequence" dataset (FANTASIA warns) */
  char **skipped;   /* n_skipped accession names (without "accession_"), in name order */
} fc_embset;

/* Reads a whole embeddings.h5 file. On failure *out is zeroed (fc_embset_free is still safe) and err names
 * the file, the group or dataset and the cause:
 *   FC_EIO       file missing or unreadable
 *   FC_EFORMAT   not an HDF5 file, truncated/damaged file, no accession_* group, no embedding at all,
 *                an embedding that is not 1-D or is empty or not a float type, a NaN/Inf value
 *                (message names accession, model, layer and index), a sequence that is not a string
 *   FC_EMISMATCH two accessions of one (model, layer) with different dimensions or pooling attributes
 *   FC_EUNSUPPORTED a float type we cannot decode (e.g. a 128-bit float)
 * Accession groups without "sequence" are skipped with a warning (as FANTASIA does) and listed in
 * out->skipped. Top-level objects not named accession_* are ignored. */
fc_status fc_embfile_read(const char *path, fc_embset *out, fc_error *err);
void fc_embset_free(fc_embset *s);
/* The block for (model, layer), or NULL. Borrowed pointer into s. */
const fc_emb_block *fc_embset_find(const fc_embset *s, const char *model, int layer);

/* ---- writer ----
 * Resumable and atomic: data goes to "<path>.partial".
 *  - If "<path>.partial" exists (a killed or uncommitted run) it is reopened and its datasets are kept.
 *  - Else, if <path> exists and append != 0, <path> is renamed to "<path>.partial" (no copy) and reopened,
 *    so the run adds to it. If both exist and append != 0 the open fails (FC_EINVAL) rather than guess.
 *  - Else a new "<path>.partial" is created; an existing <path> is replaced only at commit.
 * fc_embfile_writer_close(commit=1) closes, fsyncs and renames "<path>.partial" to <path>.
 * close(commit=0) closes and leaves "<path>.partial" in place for a later resume (nothing is deleted).
 * The file is flushed to disk every few seconds, so a killed run loses at most the last seconds of work.
 * dtype applies to datasets created by this writer; existing datasets keep theirs. */
typedef struct fc_embfile_writer fc_embfile_writer;
fc_status fc_embfile_writer_open(const char *path, fc_dtype dtype, int append, fc_embfile_writer **out,
                                 fc_error *err);
/* 1 if (accession, model, layer) already has an embedding in the file (resume), else 0. */
int fc_embfile_writer_has(fc_embfile_writer *w, const char *accession, const char *model, int layer);
/* Stores one vector. First write wins (FANTASIA's idempotence): an existing embedding, or an existing
 * sequence, is left as it is and FC_OK is returned. sequence may be NULL only when the accession already
 * has one. layer -1 writes the legacy layout type_<model>/embedding. pooling (may be NULL) becomes the
 * type_<model> group's "pooling" attribute when the group is created; if the group exists with a different
 * pooling (or none), FC_EMISMATCH. Refuses NaN/Inf values, and for f16 values outside the half range
 * (FC_EINVAL). Accession and model must be non-empty and free of '/' (it would create nested groups). */
fc_status fc_embfile_writer_put(fc_embfile_writer *w, const char *accession, const char *sequence,
                                const char *model, int layer, const char *pooling, const float *vec,
                                size_t dim, fc_error *err);
/* Writes cached data and metadata to disk (done automatically every few seconds). */
fc_status fc_embfile_writer_flush(fc_embfile_writer *w, fc_error *err);
/* Number of embeddings in the file (resumed plus new). */
size_t fc_embfile_writer_count(const fc_embfile_writer *w);
/* Closes the file; commit=1 renames the partial file into place. w is freed in all cases (NULL is fine). */
fc_status fc_embfile_writer_close(fc_embfile_writer *w, int commit, fc_error *err);
/* "<path>.partial". Caller frees. */
char *fc_embfile_partial_path(const char *path);

#ifdef __cplusplus
}
#endif
#endif
