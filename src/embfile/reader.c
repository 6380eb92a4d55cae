/* embeddings.h5 reader: one recursive link walk (H5Lvisit) collects every accession, sequence and
 * embedding path in name order; then each accession group is opened once and its datasets are read
 * straight into the per-(model, layer) row-major blocks. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "embfile/h5util.h"
#include "fantasia/embfile.h"

#define ACC_PREFIX "accession_"
#define ACC_PREFIX_LEN 10
#define MAX_SKIP_WARNINGS 10

const char *fc_dtype_name(fc_dtype d) {
  switch (d) {
  case FC_DTYPE_F32:
    return "f32";
  case FC_DTYPE_F64:
    return "f64";
  case FC_DTYPE_F16:
    return "f16";
  }
  return NULL;
}

int fc_dtype_parse(const char *s, fc_dtype *out) {
  if (!s) return -1;
  static const struct {
    const char *name;
    fc_dtype d;
  } names[] = {{"f32", FC_DTYPE_F32}, {"float32", FC_DTYPE_F32}, {"f64", FC_DTYPE_F64},
               {"float64", FC_DTYPE_F64}, {"f16", FC_DTYPE_F16}, {"float16", FC_DTYPE_F16},
               {"half", FC_DTYPE_F16}};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (strcasecmp(s, names[i].name) == 0) {
      *out = names[i].d;
      return 0;
    }
  return -1;
}

/* ---------------------------------------------------------------- scan ---- */

typedef struct {
  char *group; /* full top-level link name, "accession_<acc>" */
  int has_seq;
  size_t rank; /* position in name order */
} acc_info;

typedef struct {
  uint32_t acc;   /* index into accs */
  uint32_t model; /* index into models */
  int layer;
  uint32_t seq;  /* visit order, for a stable sort */
  uint32_t rank; /* name-order rank of the accession, set before sorting */
} entry;

typedef struct {
  acc_info *accs;
  size_t n_accs, cap_accs;
  fc_strmap acc_map; /* group name -> index; keys borrowed from accs[i].group */
  char **models;
  size_t n_models, cap_models;
  fc_strmap model_map;
  entry *ents;
  size_t n_ents, cap_ents;
  size_t n_bad_layer_names;
  int oom;
} scan_ctx;

static int grow(void **p, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap) return 0;
  size_t nc = *cap ? *cap * 2 : 64;
  while (nc < need) nc *= 2;
  void *np = realloc(*p, nc * elem);
  if (!np) return -1;
  *p = np;
  *cap = nc;
  return 0;
}

static long acc_index(scan_ctx *c, const char *name, size_t len) {
  int64_t v;
  if (fc_strmap_get(&c->acc_map, name, len, &v)) return (long)v;
  if (grow((void **)&c->accs, &c->cap_accs, c->n_accs + 1, sizeof *c->accs) < 0) return -1;
  char *g = fc_strndup(name, len);
  if (!g) return -1;
  acc_info *a = &c->accs[c->n_accs];
  memset(a, 0, sizeof *a);
  a->group = g;
  if (fc_strmap_put(&c->acc_map, g, len, (int64_t)c->n_accs, NULL) < 0) {
    free(g);
    return -1;
  }
  return (long)c->n_accs++;
}

static long model_index(scan_ctx *c, const char *name, size_t len) {
  int64_t v;
  if (fc_strmap_get(&c->model_map, name, len, &v)) return (long)v;
  if (grow((void **)&c->models, &c->cap_models, c->n_models + 1, sizeof *c->models) < 0) return -1;
  char *m = fc_strndup(name, len);
  if (!m) return -1;
  if (fc_strmap_put(&c->model_map, m, len, (int64_t)c->n_models, NULL) < 0) {
    free(m);
    return -1;
  }
  c->models[c->n_models] = m;
  return (long)c->n_models++;
}

/* "layer_<k>" with k canonical decimal (no sign, no leading zeros) fitting an int. */
static int parse_layer(const char *s, size_t len, int *k) {
  if (len <= 6 || memcmp(s, "layer_", 6) != 0) return -1;
  s += 6;
  len -= 6;
  if (len > 9 || (s[0] == '0' && len > 1)) return -1;
  int v = 0;
  for (size_t i = 0; i < len; i++) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (s[i] - '0');
  }
  *k = v;
  return 0;
}

static herr_t visit_cb(hid_t g, const char *name, const H5L_info_t *info, void *data) {
  (void)g;
  (void)info;
  scan_ctx *c = data;
  /* split into at most 5 components */
  const char *comp[5];
  size_t clen[5];
  int nc = 0;
  const char *p = name;
  while (nc < 5) {
    const char *slash = strchr(p, '/');
    comp[nc] = p;
    clen[nc] = slash ? (size_t)(slash - p) : strlen(p);
    nc++;
    if (!slash) break;
    p = slash + 1;
  }
  if (nc == 5 || clen[0] < ACC_PREFIX_LEN || memcmp(comp[0], ACC_PREFIX, ACC_PREFIX_LEN) != 0) return 0;
  long a = acc_index(c, comp[0], clen[0]);
  if (a < 0) goto oom;
  if (nc == 2 && clen[1] == 8 && memcmp(comp[1], "sequence", 8) == 0) {
    c->accs[a].has_seq = 1;
    return 0;
  }
  if (nc < 3 || clen[1] <= 5 || memcmp(comp[1], "type_", 5) != 0) return 0;
  int layer;
  if (nc == 3) {
    if (clen[2] != 9 || memcmp(comp[2], "embedding", 9) != 0) return 0;
    layer = -1;
  } else {
    if (clen[3] != 9 || memcmp(comp[3], "embedding", 9) != 0) return 0;
    if (parse_layer(comp[2], clen[2], &layer) != 0) {
      c->n_bad_layer_names++;
      return 0;
    }
  }
  long m = model_index(c, comp[1] + 5, clen[1] - 5);
  if (m < 0) goto oom;
  if (grow((void **)&c->ents, &c->cap_ents, c->n_ents + 1, sizeof *c->ents) < 0) goto oom;
  c->ents[c->n_ents] = (entry){(uint32_t)a, (uint32_t)m, layer, (uint32_t)c->n_ents, 0};
  c->n_ents++;
  return 0;
oom:
  c->oom = 1;
  return -1;
}

static void scan_free(scan_ctx *c) {
  for (size_t i = 0; i < c->n_accs; i++) free(c->accs[i].group);
  free(c->accs);
  for (size_t i = 0; i < c->n_models; i++) free(c->models[i]);
  free(c->models);
  free(c->ents);
  fc_strmap_free(&c->acc_map);
  fc_strmap_free(&c->model_map);
}

static int cmp_acc_ptr(const void *a, const void *b) {
  const acc_info *x = *(acc_info *const *)a, *y = *(acc_info *const *)b;
  return strcmp(x->group, y->group);
}

static int cmp_entry(const void *a, const void *b) {
  const entry *x = a, *y = b;
  if (x->rank != y->rank) return x->rank < y->rank ? -1 : 1;
  return (x->seq > y->seq) - (x->seq < y->seq);
}

/* ---------------------------------------------------------------- blocks ---- */

typedef struct {
  fc_emb_block b;
  size_t cap_rows;      /* rows expected (from the scan) */
  const char *first_acc; /* accession of row 0 (borrowed from scan) */
  int pooling_set;
} block_state;

static int block_key(char *buf, size_t n, uint32_t model, int layer) {
  return snprintf(buf, n, "%u:%d", (unsigned)model, layer);
}

static int cmp_blocks(const void *a, const void *b) {
  const block_state *x = a, *y = b;
  int c = strcmp(x->b.model, y->b.model);
  if (c) return c;
  return (x->b.layer > y->b.layer) - (x->b.layer < y->b.layer);
}

static void free_block(fc_emb_block *b) {
  if (b->accessions)
    for (size_t i = 0; i < b->n; i++) free(b->accessions[i]);
  if (b->sequences)
    for (size_t i = 0; i < b->n; i++) free(b->sequences[i]);
  free(b->accessions);
  free(b->sequences);
  free(b->model);
  free(b->pooling);
  fc_aligned_free(b->data);
  memset(b, 0, sizeof *b);
}

void fc_embset_free(fc_embset *s) {
  if (!s) return;
  for (size_t i = 0; i < s->n_blocks; i++) free_block(&s->blocks[i]);
  free(s->blocks);
  for (size_t i = 0; i < s->n_skipped; i++) free(s->skipped[i]);
  free(s->skipped);
  memset(s, 0, sizeof *s);
}

const fc_emb_block *fc_embset_find(const fc_embset *s, const char *model, int layer) {
  if (!s || !model) return NULL;
  for (size_t i = 0; i < s->n_blocks; i++)
    if (s->blocks[i].layer == layer && strcmp(s->blocks[i].model, model) == 0) return &s->blocks[i];
  return NULL;
}

/* ---------------------------------------------------------------- reading ---- */

static void layer_text(char *buf, size_t n, int layer) {
  if (layer < 0)
    snprintf(buf, n, "legacy (no layer)");
  else
    snprintf(buf, n, "%d", layer);
}

/* Reads one embedding dataset into dst (dim values) after checking shape and type. *tmp is a scratch
 * buffer grown as needed. On first use (dim == 0 passed in *dim) the dimension is taken from the file. */
static fc_status read_embedding(hid_t grp, const char *rel, const char *path, const char *dpath,
                                const char *acc, const char *model, int layer, size_t *dim_out,
                                float **dst_out, block_state *bs, void **tmp, size_t *tmp_cap,
                                const char *prev_acc, fc_error *err) {
  char lt[32], h5msg[256];
  layer_text(lt, sizeof lt, layer);
  fc_status st = FC_OK;
  hid_t d = H5Dopen2(grp, rel, H5P_DEFAULT);
  hid_t space = -1, ftype = -1, mtype = -1;
  if (d < 0)
    return fc_error_set(err, FC_EFORMAT, "%s: %s: cannot open dataset (%s)", path, dpath,
                        fc_h5_last_error(h5msg, sizeof h5msg));
  space = H5Dget_space(d);
  ftype = H5Dget_type(d);
  if (space < 0 || ftype < 0) {
    st = fc_error_set(err, FC_EFORMAT, "%s: %s: cannot read shape or type (%s)", path, dpath,
                      fc_h5_last_error(h5msg, sizeof h5msg));
    goto done;
  }
  int rank = H5Sget_simple_extent_ndims(space);
  if (rank != 1) {
    st = fc_error_set(err, FC_EFORMAT, "%s: %s: embedding is not 1-D (rank %d)", path, dpath, rank);
    goto done;
  }
  hsize_t dims[1];
  H5Sget_simple_extent_dims(space, dims, NULL);
  if (dims[0] == 0) {
    st = fc_error_set(err, FC_EFORMAT, "%s: %s: embedding is empty (0 values)", path, dpath);
    goto done;
  }
  if (dims[0] > ((hsize_t)1 << 26)) {
    st = fc_error_set(err, FC_EFORMAT, "%s: %s: embedding has an implausible length %llu", path, dpath,
                      (unsigned long long)dims[0]);
    goto done;
  }
  size_t D = (size_t)dims[0];
  if (*dim_out && D != *dim_out) {
    st = fc_error_set(err, FC_EMISMATCH,
                      "%s: model %s layer %s: accession %s has %zu values but accession %s has %zu", path,
                      model, lt, acc, D, prev_acc ? prev_acc : "?", *dim_out);
    goto done;
  }
  if (H5Tget_class(ftype) != H5T_FLOAT) {
    st = fc_error_set(err, FC_EFORMAT, "%s: %s: embedding is not a floating-point dataset", path, dpath);
    goto done;
  }
  size_t tsize = H5Tget_size(ftype);
  int f16 = tsize == 2 ? fc_h5_float16_kind(ftype) : 0;
  if (!(tsize == 4 || tsize == 8 || f16)) {
    st = fc_error_set(err, FC_EUNSUPPORTED, "%s: %s: unsupported %zu-byte float type", path, dpath, tsize);
    goto done;
  }
  if (!*dim_out) {
    /* first row of this block: allocate the whole block now that the dimension is known */
    *dim_out = D;
    bs->b.data = fc_aligned_alloc(bs->cap_rows * D * sizeof(float));
    if (!bs->b.data) {
      st = fc_error_set(err, FC_ENOMEM, "%s: out of memory for %zu x %zu embeddings", path, bs->cap_rows, D);
      goto done;
    }
  }
  float *dst = bs->b.data + bs->b.n * D;
  *dst_out = dst;
  herr_t r;
  if (tsize == 4) {
    r = H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, dst);
  } else {
    size_t need = D * tsize;
    if (need > *tmp_cap) {
      void *nt = realloc(*tmp, need);
      if (!nt) {
        st = fc_error_set(err, FC_ENOMEM, "%s: out of memory", path);
        goto done;
      }
      *tmp = nt;
      *tmp_cap = need;
    }
    if (tsize == 8) {
      r = H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, *tmp);
      if (r >= 0) {
        const double *s = *tmp;
        for (size_t i = 0; i < D; i++) {
          if (!isfinite(s[i]) || fabs(s[i]) > 3.4028234663852886e38) {
            st = fc_error_set(err, FC_EFORMAT,
                              "%s: %s: value %g at index %zu is %s (accession %s, model %s, layer %s)", path,
                              dpath, s[i], i, isfinite(s[i]) ? "out of float32 range" : "NaN or Inf", acc,
                              model, lt);
            goto done;
          }
          dst[i] = (float)s[i];
        }
      }
    } else {
      /* raw 16-bit values: the memory type is the file type itself, so HDF5 converts nothing */
      mtype = H5Tcopy(ftype);
      r = mtype < 0 ? -1 : H5Dread(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, *tmp);
      if (r >= 0) {
        uint16_t *h = *tmp;
        int big = H5Tget_order(ftype) == H5T_ORDER_BE;
        int little_host = 1;
        {
          const uint16_t one = 1;
          little_host = *(const unsigned char *)&one == 1;
        }
        if (big == little_host)
          for (size_t i = 0; i < D; i++) h[i] = (uint16_t)((h[i] >> 8) | (h[i] << 8));
        if (f16 == 1)
          fc_f16_to_f32_array(h, dst, D);
        else
          for (size_t i = 0; i < D; i++) dst[i] = fc_bf16_to_f32(h[i]);
      }
    }
  }
  if (r < 0) {
    st = fc_error_set(err, FC_EFORMAT, "%s: %s: cannot read values (%s)", path, dpath,
                      fc_h5_last_error(h5msg, sizeof h5msg));
    goto done;
  }
  for (size_t i = 0; i < D; i++)
    if (!isfinite(dst[i])) {
      st = fc_error_set(err, FC_EFORMAT, "%s: %s: value at index %zu is %s (accession %s, model %s, layer %s)",
                        path, dpath, i, isnan(dst[i]) ? "NaN" : "Inf", acc, model, lt);
      goto done;
    }
done:
  if (mtype >= 0) H5Tclose(mtype);
  if (ftype >= 0) H5Tclose(ftype);
  if (space >= 0) H5Sclose(space);
  H5Dclose(d);
  return st;
}

static fc_status read_all(const char *path, hid_t file, fc_embset *out, fc_error *err) {
  scan_ctx c;
  memset(&c, 0, sizeof c);
  fc_status st = FC_OK;
  block_state *bs = NULL;
  size_t n_bs = 0;
  acc_info **order = NULL;
  fc_strmap bmap;
  memset(&bmap, 0, sizeof bmap);
  char **bkeys = NULL;
  void *tmp = NULL;
  size_t tmp_cap = 0;
  char *dpath = NULL, *rel = NULL;
  size_t dpath_cap = 0;
  char h5msg[256];

  if (fc_strmap_init(&c.acc_map, 1024) != FC_OK || fc_strmap_init(&c.model_map, 8) != FC_OK ||
      fc_strmap_init(&bmap, 16) != FC_OK) {
    st = fc_error_set(err, FC_ENOMEM, "%s: out of memory", path);
    goto done;
  }
  if (H5Lvisit(file, H5_INDEX_NAME, H5_ITER_INC, visit_cb, &c) < 0) {
    if (c.oom)
      st = fc_error_set(err, FC_ENOMEM, "%s: out of memory while listing groups", path);
    else
      st = fc_error_set(err, FC_EFORMAT, "%s: damaged HDF5 file: cannot list its groups (%s)", path,
                        fc_h5_last_error(h5msg, sizeof h5msg));
    goto done;
  }
  if (c.n_accs == 0) {
    st = fc_error_set(err, FC_EFORMAT, "%s: no accession_* groups: the embeddings file is empty", path);
    goto done;
  }
  if (c.n_bad_layer_names)
    fc_log_warn("%s: ignored %zu embedding(s) under layer groups whose name is not layer_<non-negative int>",
                path, c.n_bad_layer_names);

  /* name order (HDF5 name index order is strcmp order) */
  order = malloc(c.n_accs * sizeof *order);
  if (!order) {
    st = fc_error_set(err, FC_ENOMEM, "%s: out of memory", path);
    goto done;
  }
  for (size_t i = 0; i < c.n_accs; i++) order[i] = &c.accs[i];
  qsort(order, c.n_accs, sizeof *order, cmp_acc_ptr);
  for (size_t r = 0; r < c.n_accs; r++) order[r]->rank = r;
  for (size_t i = 0; i < c.n_ents; i++) c.ents[i].rank = (uint32_t)c.accs[c.ents[i].acc].rank;
  if (c.n_ents) qsort(c.ents, c.n_ents, sizeof *c.ents, cmp_entry);

  /* skipped accessions, in name order */
  size_t n_skip = 0;
  for (size_t r = 0; r < c.n_accs; r++) n_skip += !order[r]->has_seq;
  if (n_skip) {
    out->skipped = calloc(n_skip, sizeof *out->skipped);
    if (!out->skipped) {
      st = fc_error_set(err, FC_ENOMEM, "%s: out of memory", path);
      goto done;
    }
    for (size_t r = 0; r < c.n_accs; r++) {
      const acc_info *a = order[r];
      if (a->has_seq) continue;
      if (out->n_skipped < MAX_SKIP_WARNINGS)
        fc_log_warn("%s: /%s has no 'sequence' dataset; skipped (as FANTASIA does)", path, a->group);
      out->skipped[out->n_skipped] = fc_strdup(a->group + ACC_PREFIX_LEN);
      if (!out->skipped[out->n_skipped]) {
        st = fc_error_set(err, FC_ENOMEM, "%s: out of memory", path);
        goto done;
      }
      out->n_skipped++;
    }
    if (out->n_skipped > MAX_SKIP_WARNINGS)
      fc_log_warn("%s: %zu accession groups in all have no 'sequence' dataset and were skipped", path,
                  out->n_skipped);
  }
  out->n_accessions = c.n_accs - n_skip;

  /* blocks and their expected row counts */
  bkeys = calloc(c.n_ents ? c.n_ents : 1, sizeof *bkeys);
  if (!bkeys) {
    st = fc_error_set(err, FC_ENOMEM, "%s: out of memory", path);
    goto done;
  }
  size_t *ent_block = NULL;
  if (c.n_ents && !(ent_block = malloc(c.n_ents * sizeof *ent_block))) {
    st = fc_error_set(err, FC_ENOMEM, "%s: out of memory", path);
    goto done;
  }
  size_t cap_bs = 0;
  for (size_t i = 0; i < c.n_ents; i++) {
    entry *e = &c.ents[i];
    ent_block[i] = SIZE_MAX;
    if (!c.accs[e->acc].has_seq) continue;
    char key[48];
    int kl = block_key(key, sizeof key, e->model, e->layer);
    int64_t bi;
    if (!fc_strmap_get(&bmap, key, (size_t)kl, &bi)) {
      if (grow((void **)&bs, &cap_bs, n_bs + 1, sizeof *bs) < 0 || !(bkeys[n_bs] = fc_strdup(key)) ||
          fc_strmap_put(&bmap, bkeys[n_bs], (size_t)kl, (int64_t)n_bs, NULL) < 0) {
        free(ent_block);
        st = fc_error_set(err, FC_ENOMEM, "%s: out of memory", path);
        goto done;
      }
      memset(&bs[n_bs], 0, sizeof bs[n_bs]);
      bs[n_bs].b.layer = e->layer;
      bs[n_bs].b.model = fc_strdup(c.models[e->model]);
      bi = (int64_t)n_bs++;
      if (!bs[bi].b.model) {
        free(ent_block);
        st = fc_error_set(err, FC_ENOMEM, "%s: out of memory", path);
        goto done;
      }
    }
    bs[bi].cap_rows++;
    ent_block[i] = (size_t)bi;
  }
  if (n_bs == 0) {
    free(ent_block);
    st = fc_error_set(err, FC_EFORMAT,
                      "%s: no embeddings found (%zu accession groups with a sequence, %zu without; expected "
                      "accession_<id>/type_<model>/layer_<k>/embedding)",
                      path, out->n_accessions, out->n_skipped);
    goto done;
  }
  for (size_t b = 0; b < n_bs; b++) {
    bs[b].b.accessions = calloc(bs[b].cap_rows, sizeof(char *));
    bs[b].b.sequences = calloc(bs[b].cap_rows, sizeof(char *));
    if (!bs[b].b.accessions || !bs[b].b.sequences) {
      free(ent_block);
      st = fc_error_set(err, FC_ENOMEM, "%s: out of memory", path);
      goto done;
    }
  }

  fc_progress *prog = fc_progress_start("reading embeddings", c.n_ents);
  size_t i = 0;
  while (i < c.n_ents && st == FC_OK) {
    size_t j = i;
    uint32_t ai = c.ents[i].acc;
    while (j < c.n_ents && c.ents[j].acc == ai) j++;
    const acc_info *a = &c.accs[ai];
    const char *acc = a->group + ACC_PREFIX_LEN;
    if (!a->has_seq) {
      i = j;
      continue;
    }
    hid_t grp = H5Gopen2(file, a->group, H5P_DEFAULT);
    if (grp < 0) {
      st = fc_error_set(err, FC_EFORMAT, "%s: /%s: cannot open group (%s)", path, a->group,
                        fc_h5_last_error(h5msg, sizeof h5msg));
      break;
    }
    char *seq = NULL;
    hid_t sd = H5Dopen2(grp, "sequence", H5P_DEFAULT);
    const char *why = NULL;
    if (sd < 0 || fc_h5_read_string(sd, 0, &seq, &why) < 0) {
      st = fc_error_set(err, FC_EFORMAT, "%s: /%s/sequence: %s", path, a->group,
                        sd < 0 ? "cannot open dataset" : why);
      if (sd >= 0) H5Dclose(sd);
      H5Gclose(grp);
      break;
    }
    H5Dclose(sd);
    char *pool = NULL;
    int pool_have = 0;
    uint32_t pool_model = UINT32_MAX;
    for (size_t k = i; k < j && st == FC_OK; k++) {
      const entry *e = &c.ents[k];
      block_state *B = &bs[ent_block[k]];
      const char *model = c.models[e->model];
      size_t need = strlen(a->group) + strlen(model) + 48;
      if (need > dpath_cap) {
        char *n1 = realloc(dpath, need), *n2 = n1 ? realloc(rel, need) : NULL;
        if (n1) dpath = n1;
        if (n2) rel = n2;
        if (!n1 || !n2) {
          st = fc_error_set(err, FC_ENOMEM, "%s: out of memory", path);
          break;
        }
        dpath_cap = need;
      }
      if (e->layer >= 0)
        snprintf(rel, dpath_cap, "type_%s/layer_%d/embedding", model, e->layer);
      else
        snprintf(rel, dpath_cap, "type_%s/embedding", model);
      snprintf(dpath, dpath_cap, "/%s/%s", a->group, rel);
      /* pooling attribute of type_<model>, read once per (accession, model) */
      if (e->model != pool_model) {
        free(pool);
        pool = NULL;
        char *tg = fc_sprintf("type_%s", model);
        int pr = tg ? fc_h5_read_string_attr(grp, tg, "pooling", &pool, &why) : -1;
        if (!tg) why = "out of memory";
        free(tg);
        if (pr < 0) {
          st = fc_error_set(err, FC_EFORMAT, "%s: /%s/type_%s: pooling attribute: %s", path, a->group, model,
                            why);
          break;
        }
        pool_have = pr == 1;
        pool_model = e->model;
      }
      if (!B->pooling_set) {
        B->pooling_set = 1;
        if (pool_have && !(B->b.pooling = fc_strdup(pool))) {
          st = fc_error_set(err, FC_ENOMEM, "%s: out of memory", path);
          break;
        }
      } else {
        const char *bp = B->b.pooling;
        if ((bp == NULL) != !pool_have || (bp && strcmp(bp, pool) != 0)) {
          char lt[32];
          layer_text(lt, sizeof lt, e->layer);
          st = fc_error_set(err, FC_EMISMATCH,
                            "%s: model %s layer %s: accession %s has pooling '%s' but accession %s has '%s'",
                            path, model, lt, acc, pool_have ? pool : "(none)", B->first_acc,
                            bp ? bp : "(none)");
          break;
        }
      }
      float *dst = NULL;
      const char *prev = B->b.n ? B->b.accessions[B->b.n - 1] : NULL;
      st = read_embedding(grp, rel, path, dpath, acc, model, e->layer, &B->b.dim, &dst, B, &tmp, &tmp_cap,
                          prev, err);
      if (st != FC_OK) break;
      size_t row = B->b.n;
      B->b.accessions[row] = fc_strdup(acc);
      B->b.sequences[row] = fc_strdup(seq);
      if (!B->b.accessions[row] || !B->b.sequences[row]) {
        free(B->b.accessions[row]);
        free(B->b.sequences[row]);
        B->b.accessions[row] = B->b.sequences[row] = NULL;
        st = fc_error_set(err, FC_ENOMEM, "%s: out of memory", path);
        break;
      }
      if (row == 0) B->first_acc = a->group + ACC_PREFIX_LEN;
      B->b.n++;
    }
    free(pool);
    free(seq);
    H5Gclose(grp);
    fc_progress_update(prog, j);
    i = j;
  }
  fc_progress_finish(prog);
  free(ent_block);
  if (st != FC_OK) goto done;

  qsort(bs, n_bs, sizeof *bs, cmp_blocks);
  out->blocks = calloc(n_bs, sizeof *out->blocks);
  if (!out->blocks) {
    st = fc_error_set(err, FC_ENOMEM, "%s: out of memory", path);
    goto done;
  }
  for (size_t b = 0; b < n_bs; b++) out->blocks[b] = bs[b].b;
  out->n_blocks = n_bs;
  free(bs);
  bs = NULL;
  n_bs = 0;

done:
  for (size_t b = 0; b < n_bs; b++) free_block(&bs[b].b);
  free(bs);
  if (bkeys)
    for (size_t b = 0; b < c.n_ents; b++) free(bkeys[b]);
  free(bkeys);
  fc_strmap_free(&bmap);
  free(order);
  free(tmp);
  free(dpath);
  free(rel);
  scan_free(&c);
  return st;
}

fc_status fc_embfile_read(const char *path, fc_embset *out, fc_error *err) {
  if (!out) return fc_error_set(err, FC_EINVAL, "fc_embfile_read: out is NULL");
  memset(out, 0, sizeof *out);
  if (!path) return fc_error_set(err, FC_EINVAL, "fc_embfile_read: path is NULL");
  struct stat sb;
  if (stat(path, &sb) != 0) return fc_error_set(err, FC_EIO, "%s: cannot open: %s", path, strerror(errno));
  if (!S_ISREG(sb.st_mode)) return fc_error_set(err, FC_EIO, "%s: not a regular file", path);
  if (sb.st_size == 0) return fc_error_set(err, FC_EFORMAT, "%s: empty file (0 bytes), not an HDF5 file", path);

  fc_h5quiet q;
  fc_h5quiet_begin(&q);
  fc_status st;
  char h5msg[256];
  htri_t is = H5Fis_hdf5(path);
  if (is <= 0) {
    st = fc_error_set(err, FC_EFORMAT, "%s: not an HDF5 file (no HDF5 signature found)", path);
    goto out;
  }
  hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f < 0) {
    st = fc_error_set(err, FC_EFORMAT, "%s: truncated or damaged HDF5 file (%s)", path,
                      fc_h5_last_error(h5msg, sizeof h5msg));
    goto out;
  }
  st = read_all(path, f, out, err);
  if (H5Fclose(f) < 0 && st == FC_OK)
    st = fc_error_set(err, FC_EFORMAT, "%s: error closing HDF5 file (%s)", path,
                      fc_h5_last_error(h5msg, sizeof h5msg));
  if (st != FC_OK) fc_embset_free(out);
out:
  fc_h5quiet_end(&q);
  return st;
}
