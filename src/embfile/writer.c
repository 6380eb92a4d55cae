/* embeddings.h5 writer: FANTASIA's layout, resumable through "<path>.partial", committed by rename.
 * fp16 is converted by fc_f32_to_f16 and stored as raw bits in a 16-bit IEEE half type, so HDF5 never
 * converts it. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "embfile/h5util.h"
#include "fantasia/embfile.h"

#define FLUSH_INTERVAL_S 5.0

struct fc_embfile_writer {
  char *path, *partial;
  char *ckpt;            /* "<partial>.ckpt": a copy of the partial file as of the last checkpoint */
  double ckpt_interval;  /* seconds between checkpoints: grows so the copies cost <= ~10 % of the run */
  hid_t file;
  hid_t f16;
  fc_dtype dtype;
  /* "acc\x1fmodel\x1flayer" of every embedding in the file; keys owned by `keys` */
  fc_strmap stored;
  /* accession of every accession group with a sequence */
  fc_strmap seqs;
  char **keys;
  size_t n_keys, cap_keys;
  size_t n_embeddings;
  double last_flush;
  uint16_t *hbuf;
  size_t hbuf_cap;
};

char *fc_embfile_partial_path(const char *path) {
  return path ? fc_sprintf("%s.partial", path) : NULL;
}

static char *own_key(fc_embfile_writer *w, char *k) {
  if (!k) return NULL;
  if (w->n_keys == w->cap_keys) {
    size_t nc = w->cap_keys ? w->cap_keys * 2 : 256;
    char **nk = realloc(w->keys, nc * sizeof *nk);
    if (!nk) {
      free(k);
      return NULL;
    }
    w->keys = nk;
    w->cap_keys = nc;
  }
  w->keys[w->n_keys++] = k;
  return k;
}

static char *emb_key(const char *acc, const char *model, int layer) {
  return fc_sprintf("%s\x1f%s\x1f%d", acc, model, layer);
}

/* Returns 1 if newly recorded, 0 if already there, -1 on allocation failure. */
static int record_embedding(fc_embfile_writer *w, const char *acc, size_t acc_len, const char *model,
                            size_t model_len, int layer) {
  char *k = fc_sprintf("%.*s\x1f%.*s\x1f%d", (int)acc_len, acc, (int)model_len, model, layer);
  if (!k) return -1;
  if (fc_strmap_get(&w->stored, k, strlen(k), NULL)) {
    free(k);
    return 0;
  }
  if (!own_key(w, k)) return -1;
  if (fc_strmap_put(&w->stored, k, strlen(k), 0, NULL) < 0) return -1;
  w->n_embeddings++;
  return 1;
}

static int record_sequence(fc_embfile_writer *w, const char *acc, size_t acc_len) {
  if (fc_strmap_get(&w->seqs, acc, acc_len, NULL)) return 0;
  char *k = own_key(w, fc_strndup(acc, acc_len));
  if (!k) return -1;
  return fc_strmap_put(&w->seqs, k, acc_len, 0, NULL) < 0 ? -1 : 1;
}

/* Existing content of a resumed file, read with the same path rules as the reader. */
typedef struct {
  fc_embfile_writer *w;
  int oom;
} scan_ctx;

static herr_t scan_cb(hid_t g, const char *name, const H5L_info_t *info, void *data) {
  (void)g;
  (void)info;
  scan_ctx *c = data;
  if (strncmp(name, "accession_", 10) != 0) return 0;
  const char *acc = name + 10;
  const char *s1 = strchr(acc, '/');
  if (!s1) return 0;
  size_t acc_len = (size_t)(s1 - acc);
  const char *rest = s1 + 1;
  if (strcmp(rest, "sequence") == 0) {
    if (record_sequence(c->w, acc, acc_len) < 0) goto oom;
    return 0;
  }
  if (strncmp(rest, "type_", 5) != 0) return 0;
  const char *model = rest + 5;
  const char *s2 = strchr(model, '/');
  if (!s2 || s2 == model) return 0;
  size_t model_len = (size_t)(s2 - model);
  const char *tail = s2 + 1;
  int layer;
  if (strcmp(tail, "embedding") == 0) {
    layer = -1;
  } else {
    if (strncmp(tail, "layer_", 6) != 0) return 0;
    const char *d = tail + 6;
    const char *s3 = strchr(d, '/');
    if (!s3 || strcmp(s3 + 1, "embedding") != 0) return 0;
    size_t nd = (size_t)(s3 - d);
    if (nd == 0 || nd > 9 || (d[0] == '0' && nd > 1)) return 0;
    layer = 0;
    for (size_t i = 0; i < nd; i++) {
      if (d[i] < '0' || d[i] > '9') return 0;
      layer = layer * 10 + (d[i] - '0');
    }
  }
  if (record_embedding(c->w, acc, acc_len, model, model_len, layer) < 0) goto oom;
  return 0;
oom:
  c->oom = 1;
  return -1;
}

/* File access properties of the writer. Metadata-cache evictions are off, so HDF5 writes metadata only at
 * the checkpoints (H5Fclose, see checkpoint()): a run killed between two checkpoints leaves on disk the
 * consistent file of the last one, which a later run resumes. The cache then holds only the metadata of
 * the objects written since the last checkpoint. new_file: also pin the HDF5 1.8 format. */
static hid_t writer_fapl(int new_file) {
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  if (fapl < 0) return -1;
  if (new_file && H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_V18) < 0) goto fail;
  H5AC_cache_config_t cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.version = H5AC__CURR_CACHE_CONFIG_VERSION;
  if (H5Pget_mdc_config(fapl, &cfg) < 0) goto fail;
  cfg.evictions_enabled = 0;
  cfg.incr_mode = H5C_incr__off;
  cfg.flash_incr_mode = H5C_flash_incr__off;
  cfg.decr_mode = H5C_decr__off;
  if (H5Pset_mdc_config(fapl, &cfg) < 0) goto fail;
  return fapl;
fail:
  H5Pclose(fapl);
  return -1;
}

/* Copies src to dst through "<dst>.tmp" + fsync + rename, so dst is always a whole file. */
static int copy_whole(const char *src, const char *dst) {
  char *tmp = fc_sprintf("%s.tmp", dst);
  int in = open(src, O_RDONLY), out = tmp ? open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644) : -1, ok = 0;
  if (in >= 0 && out >= 0) {
    ok = 1;
    for (;;) {
      ssize_t n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
      if (n == 0) break;
      if (n < 0) { /* not supported here: plain read/write */
        char buf[1 << 16];
        ssize_t r;
        while ((r = read(in, buf, sizeof buf)) > 0)
          if (write(out, buf, (size_t)r) != r) {
            ok = 0;
            break;
          }
        if (r < 0) ok = 0;
        break;
      }
    }
    if (ok && fsync(out) != 0) ok = 0;
  }
  if (in >= 0) close(in);
  if (out >= 0) close(out);
  if (ok && rename(tmp, dst) != 0) ok = 0;
  if (!ok && tmp) unlink(tmp);
  free(tmp);
  return ok ? 0 : -1;
}

/* Checkpoint: close the file (HDF5 writes all metadata and empties its cache), copy it to <partial>.ckpt,
 * and reopen it. HDF5 is not crash-safe while it closes: a run killed inside H5Fclose can leave the
 * partial file unreadable; the copy, made only after a complete close, is what a resume then falls back
 * to. The interval grows with the copy time so copies stay a small share of the run. */
static fc_status checkpoint(fc_embfile_writer *w, fc_error *err) {
  char h5msg[256];
  if (H5Fclose(w->file) < 0) {
    w->file = -1;
    return fc_error_set(err, FC_EIO, "%s: flush failed (%s)", w->partial,
                        fc_h5_last_error(h5msg, sizeof h5msg));
  }
  double t0 = fc_now_seconds();
  if (copy_whole(w->partial, w->ckpt) != 0)
    fc_log_warn("%s: cannot write the checkpoint copy %s: %s", w->partial, w->ckpt, strerror(errno));
  double took = fc_now_seconds() - t0;
  w->ckpt_interval = took * 10 > FLUSH_INTERVAL_S ? took * 10 : FLUSH_INTERVAL_S;
  w->last_flush = fc_now_seconds();
  hid_t fapl = writer_fapl(0);
  w->file = fapl >= 0 ? H5Fopen(w->partial, H5F_ACC_RDWR, fapl) : -1;
  if (fapl >= 0) H5Pclose(fapl);
  if (w->file < 0)
    return fc_error_set(err, FC_EIO, "%s: cannot reopen after a checkpoint (%s)", w->partial,
                        fc_h5_last_error(h5msg, sizeof h5msg));
  return FC_OK;
}

static void writer_free(fc_embfile_writer *w) {
  if (!w) return;
  if (w->f16 >= 0) H5Tclose(w->f16);
  if (w->file >= 0) H5Fclose(w->file);
  fc_strmap_free(&w->stored);
  fc_strmap_free(&w->seqs);
  for (size_t i = 0; i < w->n_keys; i++)
    free(w->keys[i]);
  free(w->keys);
  free(w->hbuf);
  free(w->path);
  free(w->partial);
  free(w->ckpt);
  free(w);
}

fc_status fc_embfile_writer_open(const char *path, fc_dtype dtype, int append, fc_embfile_writer **out,
                                 fc_error *err) {
  if (!out) return fc_error_set(err, FC_EINVAL, "fc_embfile_writer_open: out is NULL");
  *out = NULL;
  if (!path || !*path) return fc_error_set(err, FC_EINVAL, "fc_embfile_writer_open: empty path");
  if (!fc_dtype_name(dtype))
    return fc_error_set(err, FC_EINVAL, "%s: unknown embedding dtype %d", path, (int)dtype);
  fc_embfile_writer *w = calloc(1, sizeof *w);
  if (!w) return fc_error_set(err, FC_ENOMEM, "out of memory");
  w->file = -1;
  w->f16 = -1;
  w->dtype = dtype;
  w->path = fc_strdup(path);
  w->partial = fc_embfile_partial_path(path);
  w->ckpt = w->partial ? fc_sprintf("%s.ckpt", w->partial) : NULL;
  w->ckpt_interval = FLUSH_INTERVAL_S;
  if (!w->path || !w->partial || fc_strmap_init(&w->stored, 1024) != FC_OK ||
      fc_strmap_init(&w->seqs, 1024) != FC_OK) {
    writer_free(w);
    return fc_error_set(err, FC_ENOMEM, "out of memory");
  }
  fc_h5quiet q;
  fc_h5quiet_begin(&q);
  fc_status st = FC_OK;
  char h5msg[256] = "";
  int have_partial = fc_file_exists(w->partial), have_path = fc_file_exists(path);
  int renamed = 0;
  if (have_partial && append && have_path) {
    st = fc_error_set(err, FC_EINVAL,
                      "%s: both the file and an unfinished %s exist; remove %s to append to %s, or run "
                      "without append to resume the unfinished file",
                      path, w->partial, w->partial, path);
    goto fail;
  }
  if (!have_partial && append && have_path) {
    if (H5Fis_hdf5(path) <= 0) {
      st = fc_error_set(err, FC_EFORMAT, "%s: cannot append: not an HDF5 file", path);
      goto fail;
    }
    if (rename(path, w->partial) != 0) {
      st = fc_error_set(err, FC_EIO, "%s: cannot rename to %s for appending: %s", path, w->partial,
                        strerror(errno));
      goto fail;
    }
    renamed = 1;
    have_partial = 1;
  }
  if (have_partial && !renamed) {
    /* held by another run? (HDF5 takes an flock on the files it opens for writing) */
    int fd = open(w->partial, O_RDONLY);
    /* a run killed a moment ago can still hold the lock: the kernel releases it asynchronously */
    int busy = 0;
    for (int tries = 0; fd >= 0 && tries < 10; tries++) {
      busy = flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
      if (!busy) break;
      usleep(100000);
    }
    if (fd >= 0) close(fd); /* also drops our lock */
    if (busy) {
      st = fc_error_set(err, FC_EIO, "%s: the unfinished %s is in use by another run (file is locked)", path,
                        w->partial);
      goto fail;
    }
    /* scanned read-only: on a damaged file, a read-write open and close would cut the file to the size
     * HDF5 last recorded, destroying what a repair tool could still read */
    herr_t r = -1;
    scan_ctx sc = {w, 0};
    for (int attempt = 0; attempt < 2; attempt++) {
      hid_t ro = H5Fopen(w->partial, H5F_ACC_RDONLY, H5P_DEFAULT);
      r = -1;
      if (ro >= 0) {
        r = H5Lvisit(ro, H5_INDEX_NAME, H5_ITER_INC, scan_cb, &sc);
        if (r < 0 && !sc.oom) fc_h5_last_error(h5msg, sizeof h5msg);
        H5Fclose(ro);
      } else {
        fc_h5_last_error(h5msg, sizeof h5msg);
      }
      if (r >= 0 || sc.oom || attempt || !w->ckpt || !fc_file_exists(w->ckpt)) break;
      /* killed inside a checkpoint: fall back to the copy of the last complete checkpoint */
      fc_log_warn("%s: the unfinished %s is damaged (%s); resuming from its last checkpoint copy %s", path,
                  w->partial, h5msg, w->ckpt);
      for (size_t i = 0; i < w->n_keys; i++)
        free(w->keys[i]);
      w->n_keys = 0;
      w->n_embeddings = 0;
      fc_strmap_free(&w->stored);
      fc_strmap_free(&w->seqs);
      if (fc_strmap_init(&w->stored, 1024) != FC_OK || fc_strmap_init(&w->seqs, 1024) != FC_OK) {
        sc.oom = 1;
        break;
      }
      if (copy_whole(w->ckpt, w->partial) != 0) break; /* the copy stays for a later fallback */
    }
    if (sc.oom) {
      st = fc_error_set(err, FC_ENOMEM, "%s: out of memory", w->partial);
      goto fail;
    }
    if (r < 0) {
      st = fc_error_set(
          err, FC_EFORMAT,
          "%s: cannot resume from the unfinished %s: damaged HDF5 file (%s); delete it to start over", path,
          w->partial, h5msg);
      goto fail;
    }
  }
  if (have_partial) {
    hid_t fapl = writer_fapl(0);
    w->file = fapl >= 0 ? H5Fopen(w->partial, H5F_ACC_RDWR, fapl) : -1;
    if (fapl >= 0) H5Pclose(fapl);
    if (w->file < 0) {
      fc_h5_last_error(h5msg, sizeof h5msg);
      if (renamed) {
        (void)rename(w->partial, path);
        st = fc_error_set(err, FC_EFORMAT, "%s: cannot append: damaged HDF5 file (%s)", path, h5msg);
      } else if (strstr(h5msg, "unable to lock")) {
        st = fc_error_set(err, FC_EIO, "%s: the unfinished %s is in use by another run (%s)", path,
                          w->partial, h5msg);
      } else {
        st = fc_error_set(
            err, FC_EFORMAT,
            "%s: cannot resume from the unfinished %s: damaged HDF5 file (%s); delete it to start over", path,
            w->partial, h5msg);
      }
      goto fail;
    }
    if (renamed) {
      scan_ctx sc = {w, 0};
      if (H5Lvisit(w->file, H5_INDEX_NAME, H5_ITER_INC, scan_cb, &sc) < 0) {
        if (sc.oom)
          st = fc_error_set(err, FC_ENOMEM, "%s: out of memory", w->partial);
        else
          st = fc_error_set(err, FC_EFORMAT, "%s: cannot append: damaged HDF5 file (%s)", path,
                            fc_h5_last_error(h5msg, sizeof h5msg));
        H5Fclose(w->file);
        w->file = -1;
        (void)rename(w->partial, path);
        goto fail;
      }
    }
    if (w->n_embeddings)
      fc_log_info("%s: resuming %s with %zu embeddings already stored", path, w->partial, w->n_embeddings);
  }
  if (!have_partial) {
    unlink(w->ckpt); /* a checkpoint copy of some earlier, unrelated run must never be resumed */
    /* HDF5 1.8 file format (readable by any HDF5 >= 1.8, i.e. every h5py since 2008): compact groups
     * keep their links in the object header instead of a B-tree + heap per group, which makes files
     * ~25 % smaller (5,000 x 1,024 f64: 62 -> 48 MB) and reading ~30 % faster. Files reopened for
     * resume or append keep the format they have. */
    /* the empty file is made under <partial>.new and renamed, so <partial> never exists half made */
    char *fresh = fc_sprintf("%s.new", w->partial);
    if (!fresh) {
      st = fc_error_set(err, FC_ENOMEM, "out of memory");
      goto fail;
    }
    (void)unlink(fresh); /* left by a run killed right here */
    hid_t fapl = writer_fapl(1);
    hid_t f = fapl >= 0 ? H5Fcreate(fresh, H5F_ACC_EXCL, H5P_DEFAULT, fapl) : -1;
    if (fapl >= 0) H5Pclose(fapl);
    if (f < 0 || H5Fclose(f) < 0) {
      st = fc_error_set(err, FC_EIO, "%s: cannot create (%s)", w->partial,
                        fc_h5_last_error(h5msg, sizeof h5msg));
      (void)unlink(fresh);
      free(fresh);
      goto fail;
    }
    /* the first checkpoint copy: from now on a complete copy always stands beside the partial file */
    if (copy_whole(fresh, w->ckpt) != 0)
      fc_log_warn("%s: cannot write the checkpoint copy %s: %s", w->partial, w->ckpt, strerror(errno));
    if (rename(fresh, w->partial) != 0) {
      st = fc_error_set(err, FC_EIO, "%s: cannot rename %s into place: %s", w->partial, fresh,
                        strerror(errno));
      (void)unlink(fresh);
      free(fresh);
      goto fail;
    }
    free(fresh);
    fapl = writer_fapl(0);
    w->file = fapl >= 0 ? H5Fopen(w->partial, H5F_ACC_RDWR, fapl) : -1;
    if (fapl >= 0) H5Pclose(fapl);
    if (w->file < 0) {
      st = fc_error_set(err, FC_EIO, "%s: cannot open after creating it (%s)", w->partial,
                        fc_h5_last_error(h5msg, sizeof h5msg));
      goto fail;
    }
  }
  if (dtype == FC_DTYPE_F16 && (w->f16 = fc_h5_make_f16_type()) < 0) {
    st = fc_error_set(err, FC_EEXTERNAL, "%s: cannot build the HDF5 float16 type", path);
    goto fail;
  }
  w->last_flush = fc_now_seconds();
  fc_h5quiet_end(&q);
  *out = w;
  return FC_OK;
fail:
  writer_free(w);
  fc_h5quiet_end(&q);
  return st;
}

int fc_embfile_writer_has(fc_embfile_writer *w, const char *accession, const char *model, int layer) {
  if (!w || !accession || !model) return 0;
  char *k = emb_key(accession, model, layer);
  int r = k ? fc_strmap_get(&w->stored, k, strlen(k), NULL) : 0;
  free(k);
  return r;
}

size_t fc_embfile_writer_count(const fc_embfile_writer *w) {
  return w ? w->n_embeddings : 0;
}

static int valid_name(const char *s) {
  return s && *s && !strchr(s, '/') && strcmp(s, ".") != 0;
}

/* Opens the child group `name` of loc, creating it if missing. *created tells which. */
static hid_t open_or_create_group(hid_t loc, const char *name, int *created) {
  htri_t ex = H5Lexists(loc, name, H5P_DEFAULT);
  if (ex < 0) return -1;
  *created = !ex;
  return ex ? H5Gopen2(loc, name, H5P_DEFAULT) : H5Gcreate2(loc, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
}

static herr_t write_string_attr(hid_t obj, const char *name, const char *value) {
  /* variable-length UTF-8, as h5py writes a Python str attribute */
  hid_t t = H5Tcopy(H5T_C_S1), s = H5Screate(H5S_SCALAR), a = -1;
  herr_t r = -1;
  if (t >= 0 && s >= 0 && H5Tset_size(t, H5T_VARIABLE) >= 0 && H5Tset_cset(t, H5T_CSET_UTF8) >= 0 &&
      (a = H5Acreate2(obj, name, t, s, H5P_DEFAULT, H5P_DEFAULT)) >= 0)
    r = H5Awrite(a, t, &value);
  if (a >= 0) H5Aclose(a);
  if (s >= 0) H5Sclose(s);
  if (t >= 0) H5Tclose(t);
  return r;
}

static herr_t write_sequence(hid_t grp, const char *seq) {
  /* scalar fixed-length byte string, NULL-padded: what h5py writes for numpy 'S<n>' (bytes) */
  size_t len = strlen(seq);
  hid_t t = H5Tcopy(H5T_C_S1), s = H5Screate(H5S_SCALAR), d = -1;
  herr_t r = -1;
  if (t >= 0 && s >= 0 && H5Tset_size(t, len ? len : 1) >= 0 && H5Tset_strpad(t, H5T_STR_NULLPAD) >= 0 &&
      (d = H5Dcreate2(grp, "sequence", t, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) >= 0)
    r = H5Dwrite(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, len ? seq : "");
  if (d >= 0) H5Dclose(d);
  if (s >= 0) H5Sclose(s);
  if (t >= 0) H5Tclose(t);
  return r;
}

static herr_t write_shape_attr(hid_t obj, size_t dim) {
  htri_t ex = H5Aexists(obj, "shape");
  if (ex < 0) return -1;
  if (ex) return 0;
  hsize_t one = 1;
  int64_t v = (int64_t)dim;
  hid_t s = H5Screate_simple(1, &one, NULL), a = -1;
  herr_t r = -1;
  if (s >= 0 && (a = H5Acreate2(obj, "shape", H5T_STD_I64LE, s, H5P_DEFAULT, H5P_DEFAULT)) >= 0)
    r = H5Awrite(a, H5T_NATIVE_INT64, &v);
  if (a >= 0) H5Aclose(a);
  if (s >= 0) H5Sclose(s);
  return r;
}

static fc_status do_put(fc_embfile_writer *w, const char *accession, const char *sequence, const char *model,
                        int layer, const char *pooling, const float *vec, size_t dim, fc_error *err) {
  const char *path = w->path;
  char h5msg[256];
  char *gname = fc_sprintf("accession_%s", accession), *tname = fc_sprintf("type_%s", model),
       *lname = layer >= 0 ? fc_sprintf("layer_%d", layer) : NULL;
  hid_t ag = -1, tg = -1, lg = -1, d = -1, s = -1;
  fc_status st = FC_OK;
  if (!gname || !tname || (layer >= 0 && !lname)) {
    st = fc_error_set(err, FC_ENOMEM, "out of memory");
    goto done;
  }
  int created;
  ag = open_or_create_group(w->file, gname, &created);
  if (ag < 0) {
    st = fc_error_set(err, FC_EIO, "%s: /%s: cannot create group (%s)", w->partial, gname,
                      fc_h5_last_error(h5msg, sizeof h5msg));
    goto done;
  }
  size_t acc_len = strlen(accession);
  if (!fc_strmap_get(&w->seqs, accession, acc_len, NULL)) {
    if (!sequence) {
      st = fc_error_set(err, FC_EINVAL, "%s: accession %s: no sequence given and none stored yet", path,
                        accession);
      goto done;
    }
    if (write_sequence(ag, sequence) < 0) {
      st = fc_error_set(err, FC_EIO, "%s: /%s/sequence: cannot write (%s)", w->partial, gname,
                        fc_h5_last_error(h5msg, sizeof h5msg));
      goto done;
    }
    if (record_sequence(w, accession, acc_len) < 0) {
      st = fc_error_set(err, FC_ENOMEM, "out of memory");
      goto done;
    }
  }
  tg = open_or_create_group(ag, tname, &created);
  if (tg < 0) {
    st = fc_error_set(err, FC_EIO, "%s: /%s/%s: cannot create group (%s)", w->partial, gname, tname,
                      fc_h5_last_error(h5msg, sizeof h5msg));
    goto done;
  }
  if (created) {
    if (pooling && write_string_attr(tg, "pooling", pooling) < 0) {
      st = fc_error_set(err, FC_EIO, "%s: /%s/%s: cannot write pooling attribute (%s)", w->partial, gname,
                        tname, fc_h5_last_error(h5msg, sizeof h5msg));
      goto done;
    }
  } else {
    char *have = NULL;
    const char *why = NULL;
    int pr = fc_h5_read_string_attr(tg, ".", "pooling", &have, &why);
    if (pr < 0) {
      st = fc_error_set(err, FC_EFORMAT, "%s: /%s/%s: pooling attribute: %s", w->partial, gname, tname, why);
      goto done;
    }
    int same = (pr == 0 && !pooling) || (pr == 1 && pooling && strcmp(have, pooling) == 0);
    if (!same) {
      st = fc_error_set(err, FC_EMISMATCH,
                        "%s: /%s/%s already holds embeddings with pooling '%s'; refusing to add pooling '%s'",
                        path, gname, tname, pr == 1 ? have : "(none)", pooling ? pooling : "(none)");
      free(have);
      goto done;
    }
    free(have);
  }
  hid_t parent = tg;
  if (layer >= 0) {
    lg = open_or_create_group(tg, lname, &created);
    if (lg < 0) {
      st = fc_error_set(err, FC_EIO, "%s: /%s/%s/%s: cannot create group (%s)", w->partial, gname, tname,
                        lname, fc_h5_last_error(h5msg, sizeof h5msg));
      goto done;
    }
    parent = lg;
  }
  htri_t ex = H5Lexists(parent, "embedding", H5P_DEFAULT);
  if (ex > 0) goto recorded; /* first write wins */
  hsize_t hd = dim;
  s = H5Screate_simple(1, &hd, NULL);
  hid_t ftype = w->dtype == FC_DTYPE_F64   ? H5T_IEEE_F64LE
                : w->dtype == FC_DTYPE_F32 ? H5T_IEEE_F32LE
                                           : w->f16;
  if (s >= 0) d = H5Dcreate2(parent, "embedding", ftype, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  herr_t r = -1;
  if (d >= 0) {
    if (w->dtype == FC_DTYPE_F16) {
      /* memory type == file type: raw bits, no HDF5 conversion */
      r = H5Dwrite(d, w->f16, H5S_ALL, H5S_ALL, H5P_DEFAULT, w->hbuf);
    } else {
      r = H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, vec);
    }
  }
  if (r < 0 || write_shape_attr(parent, dim) < 0) {
    st = fc_error_set(err, FC_EIO, "%s: /%s/%s%s%s/embedding: cannot write (%s)", w->partial, gname, tname,
                      lname ? "/" : "", lname ? lname : "", fc_h5_last_error(h5msg, sizeof h5msg));
    goto done;
  }
recorded:
  if (record_embedding(w, accession, acc_len, model, strlen(model), layer) < 0)
    st = fc_error_set(err, FC_ENOMEM, "out of memory");
done:
  if (d >= 0) H5Dclose(d);
  if (s >= 0) H5Sclose(s);
  if (lg >= 0) H5Gclose(lg);
  if (tg >= 0) H5Gclose(tg);
  if (ag >= 0) H5Gclose(ag);
  free(gname);
  free(tname);
  free(lname);
  return st;
}

fc_status fc_embfile_writer_put(fc_embfile_writer *w, const char *accession, const char *sequence,
                                const char *model, int layer, const char *pooling, const float *vec,
                                size_t dim, fc_error *err) {
  if (!w) return fc_error_set(err, FC_EINVAL, "fc_embfile_writer_put: writer is NULL");
  const char *path = w->path;
  if (!valid_name(accession))
    return fc_error_set(err, FC_EINVAL, "%s: invalid accession '%s' (empty, '.' or containing '/')", path,
                        accession ? accession : "(null)");
  if (!valid_name(model))
    return fc_error_set(err, FC_EINVAL, "%s: invalid model name '%s' (empty, '.' or containing '/')", path,
                        model ? model : "(null)");
  if (layer < -1)
    return fc_error_set(err, FC_EINVAL, "%s: accession %s: invalid layer %d", path, accession, layer);
  if (!vec || dim == 0)
    return fc_error_set(err, FC_EINVAL, "%s: accession %s model %s layer %d: empty embedding", path,
                        accession, model, layer);
  if (pooling && !*pooling) pooling = NULL;
  if (fc_embfile_writer_has(w, accession, model, layer)) return FC_OK; /* first write wins */
  for (size_t i = 0; i < dim; i++)
    if (!isfinite(vec[i]))
      return fc_error_set(err, FC_EINVAL, "%s: accession %s model %s layer %d: value at index %zu is %s",
                          path, accession, model, layer, i, isnan(vec[i]) ? "NaN" : "Inf");
  if (w->dtype == FC_DTYPE_F16) {
    if (dim > w->hbuf_cap) {
      uint16_t *nb = realloc(w->hbuf, dim * sizeof *nb);
      if (!nb) return fc_error_set(err, FC_ENOMEM, "out of memory");
      w->hbuf = nb;
      w->hbuf_cap = dim;
    }
    fc_f32_to_f16_array(vec, w->hbuf, dim);
    for (size_t i = 0; i < dim; i++)
      if ((w->hbuf[i] & 0x7c00u) == 0x7c00u)
        return fc_error_set(
            err, FC_EINVAL,
            "%s: accession %s model %s layer %d: value %g at index %zu is outside the float16 "
            "range; store as f32",
            path, accession, model, layer, (double)vec[i], i);
  }
  fc_h5quiet q;
  fc_h5quiet_begin(&q);
  fc_status st = do_put(w, accession, sequence, model, layer, pooling, vec, dim, err);
  if (st == FC_OK && fc_now_seconds() - w->last_flush >= w->ckpt_interval) st = checkpoint(w, err);
  fc_h5quiet_end(&q);
  return st;
}

fc_status fc_embfile_writer_flush(fc_embfile_writer *w, fc_error *err) {
  if (!w) return fc_error_set(err, FC_EINVAL, "fc_embfile_writer_flush: writer is NULL");
  fc_h5quiet q;
  fc_h5quiet_begin(&q);
  fc_status st = w->file >= 0 ? checkpoint(w, err) : fc_error_set(err, FC_EIO, "%s: not open", w->partial);
  fc_h5quiet_end(&q);
  return st;
}

fc_status fc_embfile_writer_close(fc_embfile_writer *w, int commit, fc_error *err) {
  if (!w) return FC_OK;
  fc_h5quiet q;
  fc_h5quiet_begin(&q);
  char h5msg[256];
  fc_status st = FC_OK;
  if (w->f16 >= 0) {
    H5Tclose(w->f16);
    w->f16 = -1;
  }
  if (w->file >= 0) {
    herr_t r = H5Fclose(w->file);
    w->file = -1;
    if (r < 0)
      st = fc_error_set(err, FC_EIO, "%s: closing failed (%s); kept for a later resume", w->partial,
                        fc_h5_last_error(h5msg, sizeof h5msg));
  }
  fc_h5quiet_end(&q);
  if (st == FC_OK && !commit && copy_whole(w->partial, w->ckpt) != 0) /* kept for a resume: refresh its copy */
    fc_log_warn("%s: cannot write the checkpoint copy %s: %s", w->partial, w->ckpt, strerror(errno));
  if (st == FC_OK && commit) {
    /* fsync + rename; on failure the partial file stays for a later resume (never deleted here) */
    int fd = open(w->partial, O_RDONLY);
    if (fd < 0 || fsync(fd) != 0)
      st = fc_error_set(err, FC_EIO, "%s: cannot sync: %s; kept for a later resume", w->partial,
                        strerror(errno));
    if (fd >= 0) close(fd);
    if (st == FC_OK && rename(w->partial, w->path) != 0)
      st = fc_error_set(err, FC_EIO, "%s: cannot rename %s into place: %s; kept for a later resume", w->path,
                        w->partial, strerror(errno));
    if (st == FC_OK) unlink(w->ckpt);
  }
  writer_free(w);
  return st;
}
