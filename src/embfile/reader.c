/* embeddings.h5 reader, one pass: the root's accession_* links are listed once (H5Literate, name order);
 * each accession group, type group and layer group is opened once, listed, and each dataset is opened
 * once and read straight into the next row of its (model, layer) block (row-major, 64-byte aligned,
 * grown by doubling). Nearly all the time is HDF5's own object opening. */
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
  } names[] = {{"f32", FC_DTYPE_F32},     {"float32", FC_DTYPE_F32}, {"f64", FC_DTYPE_F64},
               {"float64", FC_DTYPE_F64}, {"f16", FC_DTYPE_F16},     {"float16", FC_DTYPE_F16},
               {"half", FC_DTYPE_F16}};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (strcasecmp(s, names[i].name) == 0) {
      *out = names[i].d;
      return 0;
    }
  return -1;
}

/* ---------------------------------------------------------------- names ---- */

/* Link names of one group, in name order (H5Literate over the name index). */
typedef struct {
  char **v;
  size_t n, cap;
  int oom;
} name_list;

static herr_t list_cb(hid_t g, const char *name, const H5L_info_t *info, void *data) {
  (void)g;
  (void)info;
  name_list *l = data;
  if (l->n == l->cap) {
    size_t nc = l->cap ? l->cap * 2 : 16;
    char **nv = realloc(l->v, nc * sizeof *nv);
    if (!nv) goto oom;
    l->v = nv;
    l->cap = nc;
  }
  if (!(l->v[l->n] = fc_strdup(name))) goto oom;
  l->n++;
  return 0;
oom:
  l->oom = 1;
  return -1;
}

static void names_clear(name_list *l) {
  for (size_t i = 0; i < l->n; i++)
    free(l->v[i]);
  l->n = 0;
  l->oom = 0;
}

static void names_free(name_list *l) {
  names_clear(l);
  free(l->v);
  memset(l, 0, sizeof *l);
}

static int list_names(hid_t g, name_list *l) {
  names_clear(l);
  hsize_t idx = 0;
  return H5Literate(g, H5_INDEX_NAME, H5_ITER_INC, &idx, list_cb, l) < 0 ? -1 : 0;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "layer_<k>" with k canonical decimal (no sign, no leading zeros) fitting an int. */
static int parse_layer(const char *s, int *k) {
  if (strncmp(s, "layer_", 6) != 0) return -1;
  s += 6;
  size_t len = strlen(s);
  if (len == 0 || len > 9 || (s[0] == '0' && len > 1)) return -1;
  int v = 0;
  for (size_t i = 0; i < len; i++) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (s[i] - '0');
  }
  *k = v;
  return 0;
}

/* ---------------------------------------------------------------- blocks ---- */

typedef struct {
  fc_emb_block b;
  size_t cap_rows;
  const char *first_acc; /* accession of row 0 (borrowed from b.accessions[0]) */
  char *key;             /* "model\x1flayer", owned; key of the block map */
} block_state;

typedef struct {
  block_state *v;
  size_t n, cap;
  fc_strmap map; /* key -> index into v; keys borrowed from v[i].key */
} block_set;

static int cmp_blocks(const void *a, const void *b) {
  const block_state *x = a, *y = b;
  int c = strcmp(x->b.model, y->b.model);
  if (c) return c;
  return (x->b.layer > y->b.layer) - (x->b.layer < y->b.layer);
}

static void free_block(fc_emb_block *b) {
  if (b->accessions)
    for (size_t i = 0; i < b->n; i++)
      free(b->accessions[i]);
  if (b->sequences)
    for (size_t i = 0; i < b->n; i++)
      free(b->sequences[i]);
  free(b->accessions);
  free(b->sequences);
  free(b->model);
  free(b->pooling);
  fc_aligned_free(b->data);
  memset(b, 0, sizeof *b);
}

/* The block of (model, layer), created (empty, pooling unset) if new; NULL when out of memory. */
static block_state *block_get(block_set *bs, const char *model, int layer, int *created) {
  char *key = fc_sprintf("%s\x1f%d", model, layer);
  if (!key) return NULL;
  int64_t i;
  *created = 0;
  if (fc_strmap_get(&bs->map, key, strlen(key), &i)) {
    free(key);
    return &bs->v[i];
  }
  if (bs->n == bs->cap) {
    size_t nc = bs->cap ? bs->cap * 2 : 8;
    block_state *nv = realloc(bs->v, nc * sizeof *nv);
    if (!nv) {
      free(key);
      return NULL;
    }
    bs->v = nv;
    bs->cap = nc;
    /* keys are owned by the block entries, not by their position: the map stays valid */
  }
  block_state *B = &bs->v[bs->n];
  memset(B, 0, sizeof *B);
  B->key = key;
  B->b.layer = layer;
  if (!(B->b.model = fc_strdup(model)) ||
      fc_strmap_put(&bs->map, key, strlen(key), (int64_t)bs->n, NULL) < 0) {
    free(B->b.model);
    free(key);
    return NULL;
  }
  bs->n++;
  *created = 1;
  return B;
}

/* Room for one more row of dim values (dim known). Growth by doubling; data stays 64-byte aligned. */
static int block_reserve(block_state *B, size_t dim) {
  if (B->b.n < B->cap_rows) return 0;
  size_t nc = B->cap_rows ? B->cap_rows * 2 : 256;
  float *nd = fc_aligned_alloc(nc * dim * sizeof(float));
  char **na = realloc(B->b.accessions, nc * sizeof(char *));
  if (na) B->b.accessions = na;
  char **ns = na ? realloc(B->b.sequences, nc * sizeof(char *)) : NULL;
  if (ns) B->b.sequences = ns;
  if (!nd || !na || !ns) {
    fc_aligned_free(nd);
    return -1;
  }
  if (B->b.n) memcpy(nd, B->b.data, B->b.n * dim * sizeof(float));
  fc_aligned_free(B->b.data);
  B->b.data = nd;
  B->cap_rows = nc;
  return 0;
}

static void block_set_free(block_set *bs) {
  for (size_t i = 0; i < bs->n; i++) {
    free_block(&bs->v[i].b);
    free(bs->v[i].key);
  }
  free(bs->v);
  fc_strmap_free(&bs->map);
  memset(bs, 0, sizeof *bs);
}

void fc_embset_free(fc_embset *s) {
  if (!s) return;
  for (size_t i = 0; i < s->n_blocks; i++)
    free_block(&s->blocks[i]);
  free(s->blocks);
  for (size_t i = 0; i < s->n_skipped; i++)
    free(s->skipped[i]);
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

/* Reads one embedding dataset into the next row of block bs after checking shape and type. *tmp is a
 * scratch buffer grown as needed. For the block's first row (*dim_out == 0) the file sets the dimension. */
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
  *dim_out = D; /* the first row sets the block's dimension */
  if (block_reserve(bs, D) < 0) {
    st = fc_error_set(err, FC_ENOMEM, "%s: out of memory for %zu x %zu embeddings", path, bs->b.n + 1, D);
    goto done;
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
            st = fc_error_set(
                err, FC_EFORMAT, "%s: %s: value %g at index %zu is %s (accession %s, model %s, layer %s)",
                path, dpath, s[i], i, isfinite(s[i]) ? "out of float32 range" : "NaN or Inf", acc, model, lt);
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
          for (size_t i = 0; i < D; i++)
            h[i] = (uint16_t)((h[i] >> 8) | (h[i] << 8));
        if (f16 == 1)
          fc_f16_to_f32_array(h, dst, D);
        else
          for (size_t i = 0; i < D; i++)
            dst[i] = fc_bf16_to_f32(h[i]);
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
      st =
          fc_error_set(err, FC_EFORMAT, "%s: %s: value at index %zu is %s (accession %s, model %s, layer %s)",
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

typedef struct {
  const char *path;
  hid_t file;
  fc_embset *out;
  fc_error *err;
  block_set bs;
  name_list top, kids, tkids;
  void *tmp;
  size_t tmp_cap;
  size_t n_bad_layer_names;
  char **skipped;
  size_t n_skipped, cap_skipped;
} reader;

static fc_status nomem(reader *R) {
  return fc_error_set(R->err, FC_ENOMEM, "%s: out of memory", R->path);
}

/* An accession_* link that cannot be opened as a group: skipped like a group without sequence when
 * it is some other object (FANTASIA cannot read it either); an error when the file is damaged. */
static fc_status open_acc_group(reader *R, const char *name, hid_t *g) {
  char h5msg[256];
  *g = H5Gopen2(R->file, name, H5P_DEFAULT);
  if (*g >= 0) return FC_OK;
  fc_h5_last_error(h5msg, sizeof h5msg);
  H5O_info_t oi;
  if (H5Oget_info_by_name(R->file, name, &oi, H5P_DEFAULT) >= 0 && oi.type != H5O_TYPE_GROUP) return FC_OK;
  return fc_error_set(R->err, FC_EFORMAT, "%s: /%s: cannot open group (%s)", R->path, name, h5msg);
}

static fc_status add_skipped(reader *R, const char *group) {
  if (R->n_skipped == R->cap_skipped) {
    size_t nc = R->cap_skipped ? R->cap_skipped * 2 : 16;
    char **nv = realloc(R->skipped, nc * sizeof *nv);
    if (!nv) return nomem(R);
    R->skipped = nv;
    R->cap_skipped = nc;
  }
  if (!(R->skipped[R->n_skipped] = fc_strdup(group + ACC_PREFIX_LEN))) return nomem(R);
  if (R->n_skipped < MAX_SKIP_WARNINGS)
    fc_log_warn("%s: /%s has no 'sequence' dataset; skipped (as FANTASIA does)", R->path, group);
  R->n_skipped++;
  return FC_OK;
}

/* One embedding dataset `rel` (relative to loc: the layer group, or the type group for the legacy layout)
 * of accession group `group`. */
static fc_status read_one(reader *R, hid_t loc, const char *rel, const char *group, const char *model,
                          int layer, const char *pooling, const char *seq) {
  const char *acc = group + ACC_PREFIX_LEN;
  char *dpath = layer >= 0 ? fc_sprintf("/%s/type_%s/layer_%d/%s", group, model, layer, rel)
                           : fc_sprintf("/%s/type_%s/%s", group, model, rel);
  if (!dpath) return nomem(R);
  int created;
  block_state *B = block_get(&R->bs, model, layer, &created);
  fc_status st = FC_OK;
  if (!B) {
    st = nomem(R);
    goto out;
  }
  if (created) {
    if (pooling && !(B->b.pooling = fc_strdup(pooling))) {
      st = nomem(R);
      goto out;
    }
  } else {
    const char *bp = B->b.pooling;
    if ((bp == NULL) != (pooling == NULL) || (bp && strcmp(bp, pooling) != 0)) {
      char lt[32];
      layer_text(lt, sizeof lt, layer);
      st = fc_error_set(R->err, FC_EMISMATCH,
                        "%s: model %s layer %s: accession %s has pooling '%s' but accession %s has '%s'",
                        R->path, model, lt, acc, pooling ? pooling : "(none)", B->first_acc,
                        bp ? bp : "(none)");
      goto out;
    }
  }
  float *dst = NULL;
  st = read_embedding(loc, rel, R->path, dpath, acc, model, layer, &B->b.dim, &dst, B, &R->tmp, &R->tmp_cap,
                      B->first_acc, R->err);
  if (st != FC_OK) goto out;
  size_t row = B->b.n;
  B->b.accessions[row] = fc_strdup(acc);
  B->b.sequences[row] = fc_strdup(seq);
  if (!B->b.accessions[row] || !B->b.sequences[row]) {
    free(B->b.accessions[row]);
    free(B->b.sequences[row]);
    st = nomem(R);
    goto out;
  }
  B->b.n++;
  if (row == 0) B->first_acc = B->b.accessions[0];
out:
  free(dpath);
  return st;
}

/* All embeddings of one type_<model> group. *seq is read on first need (from accession group g). */
static fc_status read_type_group(reader *R, hid_t g, const char *group, const char *tname, char **seq) {
  char h5msg[256];
  const char *model = tname + 5;
  hid_t tg = H5Gopen2(g, tname, H5P_DEFAULT);
  if (tg < 0) return FC_OK; /* type_<x> that is not a group: FANTASIA ignores it too */
  fc_status st = FC_OK;
  char *pool = NULL;
  int pool_read = 0;
  if (list_names(tg, &R->tkids) < 0) {
    st = R->tkids.oom ? nomem(R)
                      : fc_error_set(R->err, FC_EFORMAT, "%s: /%s/%s: cannot list group (%s)", R->path, group,
                                     tname, fc_h5_last_error(h5msg, sizeof h5msg));
    goto out;
  }
  if (R->tkids.n > 1) qsort(R->tkids.v, R->tkids.n, sizeof *R->tkids.v, cmp_str);
  for (size_t i = 0; i < R->tkids.n && st == FC_OK; i++) {
    const char *kid = R->tkids.v[i];
    int layer;
    hid_t loc = -1;
    if (strcmp(kid, "embedding") == 0) {
      layer = -1;
      loc = tg;
    } else if (strncmp(kid, "layer_", 6) == 0) {
      if (parse_layer(kid, &layer) != 0) {
        R->n_bad_layer_names++;
        continue;
      }
      /* a layer group without embedding (FANTASIA creates the group first) is ignored */
      loc = H5Gopen2(tg, kid, H5P_DEFAULT);
      if (loc < 0) continue;
      if (H5Lexists(loc, "embedding", H5P_DEFAULT) <= 0) {
        H5Gclose(loc);
        continue;
      }
    } else {
      continue;
    }
    if (!*seq) {
      hid_t sd = H5Dopen2(g, "sequence", H5P_DEFAULT);
      const char *why = "cannot open dataset";
      if (sd < 0 || fc_h5_read_string(sd, 0, seq, &why) < 0)
        st = fc_error_set(R->err, FC_EFORMAT, "%s: /%s/sequence: %s", R->path, group, why);
      if (sd >= 0) H5Dclose(sd);
    }
    if (st == FC_OK && !pool_read) {
      const char *why = NULL;
      if (fc_h5_read_string_attr(tg, ".", "pooling", &pool, &why) < 0)
        st =
            fc_error_set(R->err, FC_EFORMAT, "%s: /%s/%s: pooling attribute: %s", R->path, group, tname, why);
      pool_read = 1;
    }
    if (st == FC_OK) st = read_one(R, loc, "embedding", group, model, layer, pool, *seq);
    if (loc != tg) H5Gclose(loc);
  }
out:
  free(pool);
  H5Gclose(tg);
  return st;
}

static fc_status read_all(const char *path, hid_t file, fc_embset *out, fc_error *err) {
  reader R;
  memset(&R, 0, sizeof R);
  R.path = path;
  R.file = file;
  R.out = out;
  R.err = err;
  fc_status st = FC_OK;
  char h5msg[256];
  if (fc_strmap_init(&R.bs.map, 16) != FC_OK) return nomem(&R);
  if (list_names(file, &R.top) < 0) {
    st = R.top.oom ? nomem(&R)
                   : fc_error_set(err, FC_EFORMAT, "%s: damaged HDF5 file: cannot list its groups (%s)", path,
                                  fc_h5_last_error(h5msg, sizeof h5msg));
    goto done;
  }
  /* accession_* names in name order (HDF5's name index is in strcmp order already; sort to be sure) */
  size_t n_acc = 0;
  for (size_t i = 0; i < R.top.n; i++)
    if (strncmp(R.top.v[i], ACC_PREFIX, ACC_PREFIX_LEN) == 0 && R.top.v[i][ACC_PREFIX_LEN]) {
      char *t = R.top.v[n_acc];
      R.top.v[n_acc++] = R.top.v[i];
      R.top.v[i] = t;
    }
  if (n_acc == 0) {
    st = fc_error_set(err, FC_EFORMAT, "%s: no accession_* groups: the embeddings file is empty", path);
    goto done;
  }
  qsort(R.top.v, n_acc, sizeof *R.top.v, cmp_str);

  fc_progress *prog = fc_progress_start("reading embeddings", n_acc);
  for (size_t a = 0; a < n_acc && st == FC_OK; a++) {
    const char *group = R.top.v[a];
    hid_t g;
    st = open_acc_group(&R, group, &g);
    if (st != FC_OK) break;
    if (g < 0) {
      st = add_skipped(&R, group);
      continue;
    }
    if (list_names(g, &R.kids) < 0) {
      st = R.kids.oom ? nomem(&R)
                      : fc_error_set(err, FC_EFORMAT, "%s: /%s: cannot list group (%s)", path, group,
                                     fc_h5_last_error(h5msg, sizeof h5msg));
      H5Gclose(g);
      break;
    }
    if (R.kids.n > 1) qsort(R.kids.v, R.kids.n, sizeof *R.kids.v, cmp_str);
    int has_seq = 0;
    for (size_t k = 0; k < R.kids.n; k++)
      has_seq |= strcmp(R.kids.v[k], "sequence") == 0;
    if (!has_seq) {
      st = add_skipped(&R, group);
      H5Gclose(g);
      continue;
    }
    out->n_accessions++;
    char *seq = NULL;
    for (size_t k = 0; k < R.kids.n && st == FC_OK; k++)
      if (strncmp(R.kids.v[k], "type_", 5) == 0 && R.kids.v[k][5])
        st = read_type_group(&R, g, group, R.kids.v[k], &seq);
    free(seq);
    H5Gclose(g);
    if ((a & 255) == 0) fc_progress_update(prog, a);
  }
  fc_progress_finish(prog);
  if (st != FC_OK) goto done;
  if (R.n_skipped > MAX_SKIP_WARNINGS)
    fc_log_warn("%s: %zu accession groups in all have no 'sequence' dataset and were skipped", path,
                R.n_skipped);
  if (R.n_bad_layer_names)
    fc_log_warn("%s: ignored %zu group(s) named layer_* whose suffix is not a non-negative integer", path,
                R.n_bad_layer_names);
  if (R.bs.n == 0) {
    st = fc_error_set(err, FC_EFORMAT,
                      "%s: no embeddings found (%zu accession groups with a sequence, %zu without; expected "
                      "accession_<id>/type_<model>/layer_<k>/embedding)",
                      path, out->n_accessions, R.n_skipped);
    goto done;
  }
  /* hand over: blocks sorted by model then layer */
  qsort(R.bs.v, R.bs.n, sizeof *R.bs.v, cmp_blocks);
  out->blocks = calloc(R.bs.n, sizeof *out->blocks);
  if (!out->blocks) {
    st = nomem(&R);
    goto done;
  }
  for (size_t b = 0; b < R.bs.n; b++) {
    out->blocks[b] = R.bs.v[b].b;
    memset(&R.bs.v[b].b, 0, sizeof R.bs.v[b].b);
  }
  out->n_blocks = R.bs.n;
done:
  out->skipped = R.skipped;
  out->n_skipped = R.n_skipped;
  block_set_free(&R.bs);
  names_free(&R.top);
  names_free(&R.kids);
  names_free(&R.tkids);
  free(R.tmp);
  return st;
}

fc_status fc_embfile_read(const char *path, fc_embset *out, fc_error *err) {
  if (!out) return fc_error_set(err, FC_EINVAL, "fc_embfile_read: out is NULL");
  memset(out, 0, sizeof *out);
  if (!path) return fc_error_set(err, FC_EINVAL, "fc_embfile_read: path is NULL");
  struct stat sb;
  if (stat(path, &sb) != 0) return fc_error_set(err, FC_EIO, "%s: cannot open: %s", path, strerror(errno));
  if (!S_ISREG(sb.st_mode)) return fc_error_set(err, FC_EIO, "%s: not a regular file", path);
  if (sb.st_size == 0)
    return fc_error_set(err, FC_EFORMAT, "%s: empty file (0 bytes), not an HDF5 file", path);

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
    fc_h5_last_error(h5msg, sizeof h5msg);
    if (strstr(h5msg, "unable to lock"))
      st = fc_error_set(err, FC_EIO, "%s: in use by another process (%s)", path, h5msg);
    else
      st = fc_error_set(err, FC_EFORMAT, "%s: truncated or damaged HDF5 file (%s)", path, h5msg);
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
