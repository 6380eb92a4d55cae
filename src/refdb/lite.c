/* FANTASIA-Lite bundle import (spec §10.3): lookup_table.npz (ZIP of .npy, read with libzip),
 * annotations.json and accessions.json (cJSON), into one reference store. */
#include "fantasia/refdb.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

/* ---- .npy ---- */

typedef enum { NPY_F4, NPY_F8, NPY_F2, NPY_U, NPY_S, NPY_I8, NPY_I4 } npy_kind;

typedef struct {
  npy_kind kind;
  size_t itemsize; /* bytes per element */
  size_t ndim;
  size_t shape[2];
  size_t count; /* elements */
} npy_info;

/* Reads exactly n bytes from a zip entry. */
static int zread(zip_file_t *f, void *buf, size_t n) {
  unsigned char *p = buf;
  while (n) {
    zip_int64_t r = zip_fread(f, p, n > (1u << 30) ? (1u << 30) : n);
    if (r <= 0) return -1;
    p += r;
    n -= (size_t)r;
  }
  return 0;
}

static const char *skip_ws(const char *p) {
  while (*p == ' ' || *p == '\t' || *p == '\n')
    p++;
  return p;
}

/* Parses the .npy header dict; name is "<npz>:<entry>" for messages. */
static fc_status npy_parse_header(const char *h, const char *name, npy_info *info, fc_error *err) {
  memset(info, 0, sizeof *info);
  const char *d = strstr(h, "'descr'");
  const char *fo = strstr(h, "'fortran_order'");
  const char *sh = strstr(h, "'shape'");
  if (!d || !fo || !sh) {
    int shown = (int)strcspn(h, "\n");
    while (shown > 0 && h[shown - 1] == ' ')
      shown--;
    return fc_error_set(err, FC_EFORMAT, "%s: bad .npy header (missing descr, fortran_order or shape): %.*s",
                        name, shown > 80 ? 80 : shown, h);
  }
  d = skip_ws(d + 7);
  if (*d != ':') return fc_error_set(err, FC_EFORMAT, "%s: bad .npy header near 'descr'", name);
  d = skip_ws(d + 1);
  if (*d != '\'') {
    return fc_error_set(err, FC_EUNSUPPORTED, "%s: structured .npy dtype is not supported: %.60s", name, d);
  }
  d++;
  const char *de = strchr(d, '\'');
  if (!de || de - d > 32)
    return fc_error_set(err, FC_EFORMAT, "%s: bad .npy header: unterminated descr", name);
  char descr[40];
  memcpy(descr, d, (size_t)(de - d));
  descr[de - d] = 0;
  if (strcmp(descr, "|O") == 0)
    return fc_error_set(
        err, FC_EUNSUPPORTED,
        "%s: pickled object array ('|O') cannot be read without Python; re-save it as a unicode "
        "array, e.g. np.savez(..., ids=np.asarray(ids, dtype=str))",
        name);
  if (strcmp(descr, "<f4") == 0)
    info->kind = NPY_F4, info->itemsize = 4;
  else if (strcmp(descr, "<f8") == 0)
    info->kind = NPY_F8, info->itemsize = 8;
  else if (strcmp(descr, "<f2") == 0)
    info->kind = NPY_F2, info->itemsize = 2;
  else if (strcmp(descr, "<i8") == 0)
    info->kind = NPY_I8, info->itemsize = 8;
  else if (strcmp(descr, "<i4") == 0)
    info->kind = NPY_I4, info->itemsize = 4;
  else if ((descr[0] == '<' || descr[0] == '|') && descr[1] == 'U' && isdigit((unsigned char)descr[2])) {
    long w = strtol(descr + 2, NULL, 10);
    if (w <= 0 || w > 4096)
      return fc_error_set(err, FC_EFORMAT, "%s: bad unicode width in dtype %s", name, descr);
    info->kind = NPY_U, info->itemsize = (size_t)w * 4;
  } else if (descr[0] == '|' && descr[1] == 'S' && isdigit((unsigned char)descr[2])) {
    long w = strtol(descr + 2, NULL, 10);
    if (w <= 0 || w > 16384)
      return fc_error_set(err, FC_EFORMAT, "%s: bad bytes width in dtype %s", name, descr);
    info->kind = NPY_S, info->itemsize = (size_t)w;
  } else
    return fc_error_set(
        err, FC_EUNSUPPORTED,
        "%s: .npy dtype '%s' not supported (use '<f4', '<f8', '<f2' for embeddings; '<U..', '|S..', "
        "'<i8' or '<i4' for ids)",
        name, descr);
  fo = skip_ws(fo + 15);
  if (*fo != ':') return fc_error_set(err, FC_EFORMAT, "%s: bad .npy header near 'fortran_order'", name);
  fo = skip_ws(fo + 1);
  if (strncmp(fo, "True", 4) == 0)
    return fc_error_set(err, FC_EUNSUPPORTED, "%s: Fortran-order arrays are not supported (save in C order)",
                        name);
  if (strncmp(fo, "False", 5) != 0) return fc_error_set(err, FC_EFORMAT, "%s: bad fortran_order value", name);
  sh = skip_ws(sh + 7);
  if (*sh != ':') return fc_error_set(err, FC_EFORMAT, "%s: bad .npy header near 'shape'", name);
  sh = skip_ws(sh + 1);
  if (*sh != '(') return fc_error_set(err, FC_EFORMAT, "%s: bad .npy shape", name);
  sh++;
  info->count = 1;
  for (;;) {
    sh = skip_ws(sh);
    if (*sh == ')') break;
    if (!isdigit((unsigned char)*sh)) return fc_error_set(err, FC_EFORMAT, "%s: bad .npy shape", name);
    errno = 0;
    char *e;
    unsigned long long v = strtoull(sh, &e, 10);
    if (errno || v > ((size_t)1 << 40))
      return fc_error_set(err, FC_EFORMAT, "%s: .npy dimension too large", name);
    if (info->ndim == 2)
      return fc_error_set(err, FC_EUNSUPPORTED, "%s: arrays of more than 2 dimensions", name);
    info->shape[info->ndim++] = (size_t)v;
    if (v && info->count > ((size_t)1 << 42) / v)
      return fc_error_set(err, FC_EFORMAT, "%s: array too large", name);
    info->count *= (size_t)v;
    sh = skip_ws(e);
    if (*sh == ',') sh++;
  }
  if (info->ndim == 0) return fc_error_set(err, FC_EUNSUPPORTED, "%s: 0-d arrays are not supported", name);
  return FC_OK;
}

/* Opens entry and reads its .npy header; leaves the file positioned at the data. */
static fc_status npy_open(zip_t *z, const char *npz, const char *entry, zip_file_t **fout, npy_info *info,
                          fc_error *err) {
  *fout = NULL;
  zip_stat_t zs;
  if (zip_stat(z, entry, 0, &zs) != 0)
    return fc_error_set(err, FC_ENOTFOUND, "%s: no entry '%s'", npz, entry);
  zip_file_t *f = zip_fopen(z, entry, 0);
  if (!f) return fc_error_set(err, FC_EFORMAT, "%s:%s: cannot open entry: %s", npz, entry, zip_strerror(z));
  unsigned char pre[12];
  fc_status st = FC_OK;
  char *hdr = NULL;
  if (zread(f, pre, 10) != 0 || memcmp(pre, "\x93NUMPY", 6) != 0) {
    st = fc_error_set(err, FC_EFORMAT, "%s:%s: not a .npy array (bad magic or truncated)", npz, entry);
    goto out;
  }
  size_t hlen;
  if (pre[6] == 1)
    hlen = (size_t)pre[8] | (size_t)pre[9] << 8;
  else if (pre[6] == 2 || pre[6] == 3) {
    if (zread(f, pre + 10, 2) != 0) {
      st = fc_error_set(err, FC_EFORMAT, "%s:%s: truncated .npy header", npz, entry);
      goto out;
    }
    hlen = (size_t)pre[8] | (size_t)pre[9] << 8 | (size_t)pre[10] << 16 | (size_t)pre[11] << 24;
  } else {
    st =
        fc_error_set(err, FC_EUNSUPPORTED, "%s:%s: .npy format version %d not supported", npz, entry, pre[6]);
    goto out;
  }
  if (hlen == 0 || hlen > (1u << 20)) {
    st = fc_error_set(err, FC_EFORMAT, "%s:%s: bad .npy header length %zu", npz, entry, hlen);
    goto out;
  }
  hdr = malloc(hlen + 1);
  if (!hdr) {
    st = fc_error_set(err, FC_ENOMEM, "out of memory");
    goto out;
  }
  if (zread(f, hdr, hlen) != 0) {
    st = fc_error_set(err, FC_EFORMAT, "%s:%s: truncated .npy header", npz, entry);
    goto out;
  }
  hdr[hlen] = 0;
  char *name = fc_sprintf("%s:%s", npz, entry);
  st = npy_parse_header(hdr, name ? name : entry, info, err);
  free(name);
out:
  free(hdr);
  if (st)
    zip_fclose(f);
  else
    *fout = f;
  return st;
}

/* Reads a 1-D id array into strings. */
static fc_status read_ids(zip_t *z, const char *npz, const char *entry, char ***ids_out, size_t *n_out,
                          fc_error *err) {
  *ids_out = NULL;
  *n_out = 0;
  zip_file_t *f;
  npy_info in;
  fc_status st = npy_open(z, npz, entry, &f, &in, err);
  if (st) return st;
  if (in.ndim != 1) {
    zip_fclose(f);
    return fc_error_set(err, FC_EFORMAT, "%s:%s: ids must be a 1-D array", npz, entry);
  }
  if (in.kind == NPY_F4 || in.kind == NPY_F8 || in.kind == NPY_F2) {
    zip_fclose(f);
    return fc_error_set(err, FC_EFORMAT, "%s:%s: ids are floating point; expected strings or integers", npz,
                        entry);
  }
  size_t n = in.count;
  unsigned char *raw = malloc(n * in.itemsize + 1);
  char **ids = calloc(n ? n : 1, sizeof *ids);
  if (!raw || !ids) {
    st = fc_error_set(err, FC_ENOMEM, "out of memory");
    goto out;
  }
  if (zread(f, raw, n * in.itemsize) != 0) {
    st = fc_error_set(err, FC_EFORMAT, "%s:%s: truncated data (%zu ids expected)", npz, entry, n);
    goto out;
  }
  for (size_t i = 0; i < n && !st; i++) {
    const unsigned char *p = raw + i * in.itemsize;
    if (in.kind == NPY_I8 || in.kind == NPY_I4) {
      long long v;
      if (in.kind == NPY_I8) {
        int64_t x;
        memcpy(&x, p, 8);
        v = x;
      } else {
        int32_t x;
        memcpy(&x, p, 4);
        v = x;
      }
      ids[i] = fc_sprintf("%lld", v);
    } else if (in.kind == NPY_S) {
      size_t len = strnlen((const char *)p, in.itemsize);
      ids[i] = fc_strndup((const char *)p, len);
    } else { /* UCS-4 little endian, NUL padded -> UTF-8 */
      size_t chars = in.itemsize / 4;
      char *s = malloc(chars * 4 + 1);
      size_t o = 0;
      if (s) {
        for (size_t c = 0; c < chars; c++) {
          uint32_t u = (uint32_t)p[4 * c] | (uint32_t)p[4 * c + 1] << 8 | (uint32_t)p[4 * c + 2] << 16 |
                       (uint32_t)p[4 * c + 3] << 24;
          if (u == 0) break;
          if (u < 0x80)
            s[o++] = (char)u;
          else if (u < 0x800)
            s[o++] = (char)(0xc0 | (u >> 6)), s[o++] = (char)(0x80 | (u & 0x3f));
          else if (u < 0x10000)
            s[o++] = (char)(0xe0 | (u >> 12)), s[o++] = (char)(0x80 | ((u >> 6) & 0x3f)),
            s[o++] = (char)(0x80 | (u & 0x3f));
          else if (u < 0x110000)
            s[o++] = (char)(0xf0 | (u >> 18)), s[o++] = (char)(0x80 | ((u >> 12) & 0x3f)),
            s[o++] = (char)(0x80 | ((u >> 6) & 0x3f)), s[o++] = (char)(0x80 | (u & 0x3f));
          else {
            st = fc_error_set(err, FC_EFORMAT, "%s:%s: id %zu has an invalid code point", npz, entry, i);
            break;
          }
        }
        s[o] = 0;
      }
      ids[i] = s;
    }
    if (!st && !ids[i]) st = fc_error_set(err, FC_ENOMEM, "out of memory");
    if (!st && !ids[i][0]) st = fc_error_set(err, FC_EFORMAT, "%s:%s: id %zu is empty", npz, entry, i);
  }
out:
  zip_fclose(f);
  free(raw);
  if (st) {
    if (ids)
      for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
    return st;
  }
  *ids_out = ids;
  *n_out = n;
  return FC_OK;
}

/* Reads a 2-D float array as float32 (streamed, converted in chunks). */
static fc_status read_matrix(zip_t *z, const char *npz, const char *entry, float **data_out, size_t *rows,
                             size_t *cols, fc_error *err) {
  *data_out = NULL;
  zip_file_t *f;
  npy_info in;
  fc_status st = npy_open(z, npz, entry, &f, &in, err);
  if (st) return st;
  if (in.ndim != 2 || (in.kind != NPY_F4 && in.kind != NPY_F8 && in.kind != NPY_F2)) {
    zip_fclose(f);
    return fc_error_set(err, FC_EFORMAT,
                        "%s:%s: embeddings must be a 2-D float array ('<f4', '<f8' or '<f2')", npz, entry);
  }
  float *d = fc_aligned_alloc(in.count * sizeof(float));
  if (!d) {
    zip_fclose(f);
    return fc_error_set(err, FC_ENOMEM, "out of memory (%zu x %zu)", in.shape[0], in.shape[1]);
  }
  if (in.kind == NPY_F4) {
    if (zread(f, d, in.count * 4) != 0) st = FC_EFORMAT;
  } else {
    size_t chunk = 1u << 16;
    unsigned char *buf = malloc(chunk * in.itemsize);
    if (!buf) st = fc_error_set(err, FC_ENOMEM, "out of memory");
    for (size_t i = 0; !st && i < in.count; i += chunk) {
      size_t m = in.count - i < chunk ? in.count - i : chunk;
      if (zread(f, buf, m * in.itemsize) != 0) {
        st = FC_EFORMAT;
        break;
      }
      if (in.kind == NPY_F2) {
        fc_f16_to_f32_array((const uint16_t *)buf, d + i, m);
      } else {
        for (size_t j = 0; j < m; j++) {
          double v;
          memcpy(&v, buf + 8 * j, 8);
          d[i + j] = (float)v;
        }
      }
    }
    free(buf);
  }
  zip_fclose(f);
  if (st == FC_EFORMAT)
    st = fc_error_set(err, FC_EFORMAT, "%s:%s: truncated or corrupt data (%zu x %zu expected): %s", npz,
                      entry, in.shape[0], in.shape[1], zip_strerror(z));
  if (st) {
    fc_aligned_free(d);
    return st;
  }
  *data_out = d;
  *rows = in.shape[0];
  *cols = in.shape[1];
  return FC_OK;
}

/* ---- id map: ref id string -> sequence id ---- */

typedef struct {
  const char *id;
  int64_t seq;
} idmap_entry;

static int cmp_idmap(const void *a, const void *b) {
  return strcmp(((const idmap_entry *)a)->id, ((const idmap_entry *)b)->id);
}

static int64_t idmap_get(const idmap_entry *m, size_t n, const char *id) {
  idmap_entry key = {id, 0};
  const idmap_entry *e = bsearch(&key, m, n, sizeof *m, cmp_idmap);
  return e ? e->seq : 0;
}

/* A decimal without sign or leading zeros that fits int64 and is > 0. */
static int64_t as_seq_id(const char *s) {
  if (!*s || *s == '0') return 0;
  int64_t v = 0;
  for (const char *p = s; *p; p++) {
    if (!isdigit((unsigned char)*p)) return 0;
    if (v > (INT64_MAX - 9) / 10) return 0;
    v = v * 10 + (*p - '0');
  }
  return v;
}

typedef struct {
  char *name;
  char *entry; /* the embeddings entry in the zip */
  char **ids;
  size_t n;
  float *data;
  size_t rows, dim;
} lite_model;

static fc_status load_json(const char *path, cJSON **out, fc_error *err) {
  char *buf;
  size_t len;
  fc_status st = fc_read_file(path, 1, &buf, &len, err);
  if (st) return st;
  *out = cJSON_ParseWithLength(buf, len);
  if (!*out) {
    const char *ep = cJSON_GetErrorPtr();
    size_t off = ep && ep >= buf && ep <= buf + len ? (size_t)(ep - buf) : 0;
    free(buf);
    return fc_error_set(err, FC_EFORMAT, "%s: malformed JSON near byte %zu", path, off);
  }
  free(buf);
  if (!cJSON_IsObject(*out)) {
    cJSON_Delete(*out);
    *out = NULL;
    return fc_error_set(err, FC_EFORMAT, "%s: expected a JSON object {ref_id: ...} at the top level", path);
  }
  return FC_OK;
}

static char map_category(const char *c) {
  if (!c) return 0;
  if (!strcmp(c, "P") || !strcmp(c, "BP") || !strcmp(c, "BPO") || !strcmp(c, "biological_process"))
    return 'P';
  if (!strcmp(c, "F") || !strcmp(c, "MF") || !strcmp(c, "MFO") || !strcmp(c, "molecular_function"))
    return 'F';
  if (!strcmp(c, "C") || !strcmp(c, "CC") || !strcmp(c, "CCO") || !strcmp(c, "cellular_component"))
    return 'C';
  return 0;
}

static const char *json_str(const cJSON *o, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

fc_status fc_refdb_import_lite(const char *lookup_npz, const char *annotations_json,
                               const char *accessions_json, const char *out_path,
                               const fc_lite_import_opts *opts, fc_error *err) {
  if (!lookup_npz || !annotations_json || !out_path)
    return fc_error_set(err, FC_EINVAL,
                        "import-lite: lookup table, annotations and output paths are required");
  fc_status st = FC_OK;
  lite_model *models = NULL;
  size_t n_models = 0;
  idmap_entry *map = NULL;
  size_t n_map = 0;
  cJSON *ann = NULL, *acc = NULL;
  fc_refdb *db = NULL;
  zip_int64_t n_entries = 0;
  int zerr = 0;
  zip_t *z = zip_open(lookup_npz, ZIP_RDONLY | ZIP_CHECKCONS, &zerr);
  if (!z) {
    zip_error_t ze;
    zip_error_init_with_code(&ze, zerr);
    st = fc_error_set(err, zerr == ZIP_ER_NOENT || zerr == ZIP_ER_OPEN ? FC_EIO : FC_EFORMAT,
                      "%s: cannot read lookup table (.npz zip): %s", lookup_npz, zip_error_strerror(&ze));
    zip_error_fini(&ze);
    return st;
  }
  /* 1. Find models: <Model>_embeddings.npy with <Model>_ids.npy, or embeddings.npy + ids.npy. */
  n_entries = zip_get_num_entries(z, 0);
  for (zip_int64_t i = 0; i < n_entries && !st; i++) {
    const char *nm = zip_get_name(z, (zip_uint64_t)i, 0);
    if (!nm) continue;
    size_t l = strlen(nm);
    const char *suffix = "embeddings.npy";
    size_t sl = strlen(suffix);
    if (l < sl || strcmp(nm + l - sl, suffix) != 0) continue;
    char *model;
    if (l == sl)
      model = fc_strdup("default");
    else if (nm[l - sl - 1] == '_' && l > sl + 1)
      model = fc_strndup(nm, l - sl - 1);
    else
      continue;
    void *nv = realloc(models, (n_models + 1) * sizeof *models);
    if (!model || !nv) {
      free(model);
      if (nv) models = nv;
      st = fc_error_set(err, FC_ENOMEM, "out of memory");
      break;
    }
    models = nv;
    memset(&models[n_models], 0, sizeof *models);
    models[n_models++].name = model;
    lite_model *m = &models[n_models - 1];
    char *ids_entry = l == sl ? fc_strdup("ids.npy") : fc_sprintf("%s_ids.npy", model);
    if (!ids_entry) {
      st = fc_error_set(err, FC_ENOMEM, "out of memory");
      break;
    }
    if (zip_name_locate(z, ids_entry, 0) < 0)
      st = fc_error_set(err, FC_EFORMAT, "%s: model '%s' has '%s' but no '%s'", lookup_npz, model, nm,
                        ids_entry);
    if (!st) st = read_ids(z, lookup_npz, ids_entry, &m->ids, &m->n, err);
    free(ids_entry);
    m->entry = fc_strdup(nm);
    if (!st && !m->entry) st = fc_error_set(err, FC_ENOMEM, "out of memory");
  }
  if (!st && n_models == 0)
    st = fc_error_set(
        err, FC_EFORMAT,
        "%s: no '<Model>_embeddings' (or 'embeddings') array found; not a FANTASIA-Lite lookup table",
        lookup_npz);
  /* 2. Union of ref ids -> sequence ids (numeric ids kept as they are). */
  size_t total = 0;
  for (size_t i = 0; !st && i < n_models; i++)
    total += models[i].n;
  if (!st) {
    map = malloc((total ? total : 1) * sizeof *map);
    if (!map) st = fc_error_set(err, FC_ENOMEM, "out of memory");
  }
  if (!st) {
    for (size_t i = 0; i < n_models; i++)
      for (size_t j = 0; j < models[i].n; j++)
        map[n_map++] = (idmap_entry){models[i].ids[j], 0};
    qsort(map, n_map, sizeof *map, cmp_idmap);
    size_t u = 0;
    for (size_t i = 0; i < n_map; i++)
      if (!u || strcmp(map[u - 1].id, map[i].id) != 0) map[u++] = map[i];
    n_map = u;
    int numeric = 1;
    for (size_t i = 0; i < n_map && numeric; i++)
      numeric = as_seq_id(map[i].id) > 0;
    for (size_t i = 0; i < n_map; i++)
      map[i].seq = numeric ? as_seq_id(map[i].id) : (int64_t)(i + 1);
  }
  if (!st) st = load_json(annotations_json, &ann, err);
  if (!st && accessions_json) st = load_json(accessions_json, &acc, err);
  if (!st) st = fc_refdb_create(out_path, &db, err);
  /* 3. Sequences and proteins. */
  for (size_t i = 0; !st && i < n_map; i++) {
    st = fc_refdb_add_sequence_placeholder(db, map[i].seq, NULL, err);
    const char *a = NULL;
    char numbuf[64];
    if (!st && acc) {
      const cJSON *v = cJSON_GetObjectItemCaseSensitive(acc, map[i].id);
      if (cJSON_IsString(v))
        a = v->valuestring;
      else if (cJSON_IsNumber(v)) {
        if (v->valuedouble == floor(v->valuedouble) && fabs(v->valuedouble) < 1e15)
          snprintf(numbuf, sizeof numbuf, "%.0f", v->valuedouble);
        else
          snprintf(numbuf, sizeof numbuf, "%.17g", v->valuedouble);
        a = numbuf;
      } else if (v && !cJSON_IsNull(v))
        st = fc_error_set(err, FC_EFORMAT, "%s: accession of '%s' is not a string or number", accessions_json,
                          map[i].id);
    }
    if (!st) st = fc_refdb_add_protein(db, map[i].id, a, map[i].seq, NULL, NULL, NULL, err);
  }
  /* 4. Annotations (GO terms: first definition kept). */
  size_t skipped = 0;
  const cJSON *ent;
  size_t n_ann = 0, done_ann = 0;
  cJSON_ArrayForEach(ent, ann) n_ann++;
  fc_progress *prog = (!st && n_ann >= 65536) ? fc_progress_start("importing annotations", n_ann) : NULL;
  cJSON_ArrayForEach(ent, ann) {
    if (st) break;
    if ((++done_ann & 4095) == 0) fc_progress_update(prog, done_ann);
    const char *rid = ent->string;
    if (!rid || !idmap_get(map, n_map, rid)) {
      skipped++;
      continue;
    }
    size_t cnt = cJSON_IsArray(ent) ? (size_t)cJSON_GetArraySize(ent) : 1;
    if (!cJSON_IsArray(ent) && !cJSON_IsObject(ent)) {
      st = fc_error_set(err, FC_EFORMAT, "%s: entry '%s' is neither a list nor an object", annotations_json,
                        rid);
      break;
    }
    const cJSON *it = cJSON_IsArray(ent) ? ent->child : ent;
    for (size_t k = 0; k < cnt && it && !st; k++, it = it->next) {
      if (!cJSON_IsObject(it)) {
        st = fc_error_set(err, FC_EFORMAT, "%s: entry '%s' item %zu is not an object", annotations_json, rid,
                          k);
        break;
      }
      const char *go = json_str(it, "go_id");
      if (!go || !*go) {
        st = fc_error_set(err, FC_EFORMAT, "%s: entry '%s' item %zu has no string 'go_id'", annotations_json,
                          rid, k);
        break;
      }
      const char *cat = json_str(it, "category");
      char c = map_category(cat);
      if (cat && *cat && !c) {
        st = fc_error_set(err, FC_EFORMAT, "%s: entry '%s' item %zu: unknown category '%s'", annotations_json,
                          rid, k, cat);
        break;
      }
      st = fc_refdb_add_go_term(db, go, c, json_str(it, "go_description"), err);
      if (!st) st = fc_refdb_add_annotation(db, rid, go, json_str(it, "evidence_code"), err);
    }
  }
  fc_progress_finish(prog);
  if (!st && skipped)
    fc_log_warn("%s: %zu annotation entries name reference ids that have no embedding; skipped",
                annotations_json, skipped);
  /* 5. Embedding types and matrices. */
  for (size_t i = 0; !st && i < n_models; i++) {
    lite_model *m = &models[i];
    int64_t tid = 0;
    /* One matrix in memory at a time. */
    st = read_matrix(z, lookup_npz, m->entry, &m->data, &m->rows, &m->dim, err);
    if (!st && m->rows != m->n)
      st = fc_error_set(err, FC_EMISMATCH, "%s: model '%s': %zu ids but %zu embedding rows", lookup_npz,
                        m->name, m->n, m->rows);
    if (!st && (m->rows == 0 || m->dim == 0))
      st = fc_error_set(err, FC_EFORMAT, "%s: model '%s': empty embedding matrix", lookup_npz, m->name);
    if (!st) st = fc_refdb_add_embedding_type(db, m->name, 0, NULL, &tid, err);
    int64_t *sids = st ? NULL : malloc(m->n * sizeof *sids);
    if (!st && !sids) st = fc_error_set(err, FC_ENOMEM, "out of memory");
    for (size_t j = 0; !st && j < m->n; j++)
      sids[j] = idmap_get(map, n_map, m->ids[j]);
    if (!st) st = fc_refdb_put_matrix(db, tid, 0, FC_REFDB_LITE_POOLING, sids, m->data, m->rows, m->dim, err);
    free(sids);
    fc_aligned_free(m->data);
    m->data = NULL;
  }
  if (!st) {
    char *prov = opts && opts->provenance
                     ? fc_strdup(opts->provenance)
                     : fc_sprintf("FANTASIA-Lite bundle: %s; %s; %s", lookup_npz, annotations_json,
                                  accessions_json ? accessions_json : "(no accessions)");
    st =
        prov ? fc_refdb_set_meta(db, "provenance", prov, err) : fc_error_set(err, FC_ENOMEM, "out of memory");
    free(prov);
  }
  if (!st) st = fc_refdb_set_meta(db, "source", "fantasia-lite", err);
  if (!st) st = fc_refdb_set_meta(db, "sequences_available", "0", err);
  if (!st && opts && opts->evidence_codes)
    st = fc_refdb_set_meta(db, "evidence_codes", opts->evidence_codes, err);
  if (db) {
    fc_error cerr;
    fc_status cst = fc_refdb_close(db, !st, &cerr);
    if (!st && cst) {
      st = cst;
      if (err) *err = cerr;
    }
  }
  cJSON_Delete(ann);
  cJSON_Delete(acc);
  free(map);
  for (size_t i = 0; i < n_models; i++) {
    for (size_t j = 0; j < models[i].n; j++)
      free(models[i].ids[j]);
    free(models[i].ids);
    fc_aligned_free(models[i].data);
    free(models[i].name);
    free(models[i].entry);
  }
  free(models);
  zip_discard(z);
  return st;
}
