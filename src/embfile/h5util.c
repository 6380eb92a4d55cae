#include "embfile/h5util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fc_h5quiet_begin(fc_h5quiet *q) {
  q->func = NULL;
  q->data = NULL;
  H5Eget_auto2(H5E_DEFAULT, &q->func, &q->data);
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

void fc_h5quiet_end(const fc_h5quiet *q) {
  H5Eset_auto2(H5E_DEFAULT, q->func, q->data);
}

typedef struct {
  char *buf;
  size_t n;
  int have;
} walk_ctx;

/* Walking upward starts at the innermost (most specific) frame. Generic wrapper texts ("unable to open
 * file", "file open failed") are skipped in favour of the first concrete cause. */
static herr_t walk_cb(unsigned n, const H5E_error2_t *e, void *data) {
  (void)n;
  walk_ctx *c = data;
  if (!e->desc || !*e->desc) return 0;
  if (!c->have) {
    snprintf(c->buf, c->n, "%s", e->desc);
    c->have = 1;
  }
  return 0;
}

const char *fc_h5_last_error(char *buf, size_t n) {
  walk_ctx c = {buf, n, 0};
  if (n) buf[0] = '\0';
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, walk_cb, &c);
  if (!c.have) snprintf(buf, n, "unknown HDF5 error");
  /* one line */
  for (char *p = buf; *p; p++)
    if (*p == '\n' || *p == '\r') *p = ' ';
  return buf;
}

int fc_h5_float16_kind(hid_t t) {
  if (H5Tget_class(t) != H5T_FLOAT || H5Tget_size(t) != 2) return 0;
  size_t spos, epos, esize, mpos, msize;
  if (H5Tget_fields(t, &spos, &epos, &esize, &mpos, &msize) < 0) return 0;
  size_t bias = H5Tget_ebias(t);
  if (H5Tget_precision(t) != 16 || H5Tget_offset(t) != 0) return 0;
  if (spos == 15 && epos == 10 && esize == 5 && mpos == 0 && msize == 10 && bias == 15) return 1;
  if (spos == 15 && epos == 7 && esize == 8 && mpos == 0 && msize == 7 && bias == 127) return 2;
  return 0;
}

hid_t fc_h5_make_f16_type(void) {
  hid_t t = H5Tcopy(H5T_IEEE_F32LE);
  if (t < 0) return -1;
  /* order matters: shrink the fields first, then the precision and size */
  if (H5Tset_fields(t, 15, 10, 5, 0, 10) < 0 || H5Tset_precision(t, 16) < 0 || H5Tset_size(t, 2) < 0 ||
      H5Tset_ebias(t, 15) < 0 || H5Tset_order(t, H5T_ORDER_LE) < 0) {
    H5Tclose(t);
    return -1;
  }
  return t;
}

int fc_h5_read_string(hid_t obj, int is_attr, char **out, const char **why) {
  *out = NULL;
  hid_t ftype = is_attr ? H5Aget_type(obj) : H5Dget_type(obj);
  hid_t space = is_attr ? H5Aget_space(obj) : H5Dget_space(obj);
  hid_t mtype = -1;
  int rc = -1;
  if (ftype < 0 || space < 0) {
    *why = "cannot read its type or shape";
    goto done;
  }
  if (H5Tget_class(ftype) != H5T_STRING) {
    *why = "is not a string";
    goto done;
  }
  if (H5Sget_simple_extent_npoints(space) != 1) {
    *why = "is not a single string";
    goto done;
  }
  if (H5Tis_variable_str(ftype) > 0) {
    mtype = H5Tcopy(H5T_C_S1);
    if (mtype < 0 || H5Tset_size(mtype, H5T_VARIABLE) < 0 || H5Tset_cset(mtype, H5Tget_cset(ftype)) < 0) {
      *why = "cannot build a string memory type";
      goto done;
    }
    char *s = NULL;
    herr_t r = is_attr ? H5Aread(obj, mtype, &s) : H5Dread(obj, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, &s);
    if (r < 0) {
      *why = "cannot be read (damaged file?)";
      goto done;
    }
    *out = fc_strdup(s ? s : "");
    H5Dvlen_reclaim(mtype, space, H5P_DEFAULT, &s);
    if (!*out) {
      *why = "out of memory";
      goto done;
    }
    rc = 0;
  } else {
    size_t sz = H5Tget_size(ftype);
    if (sz == 0 || sz > ((size_t)1 << 30)) {
      *why = "has an invalid string size";
      goto done;
    }
    mtype = H5Tcopy(ftype);
    char *buf = calloc(sz + 1, 1);
    if (!buf || mtype < 0) {
      free(buf);
      *why = "out of memory";
      goto done;
    }
    herr_t r = is_attr ? H5Aread(obj, mtype, buf) : H5Dread(obj, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
    if (r < 0) {
      free(buf);
      *why = "cannot be read (damaged file?)";
      goto done;
    }
    size_t len = strnlen(buf, sz);
    if (H5Tget_strpad(ftype) == H5T_STR_SPACEPAD)
      while (len > 0 && buf[len - 1] == ' ')
        len--;
    buf[len] = '\0';
    *out = buf;
    rc = 0;
  }
done:
  if (mtype >= 0) H5Tclose(mtype);
  if (space >= 0) H5Sclose(space);
  if (ftype >= 0) H5Tclose(ftype);
  return rc;
}

int fc_h5_read_string_attr(hid_t loc, const char *path, const char *name, char **out, const char **why) {
  *out = NULL;
  htri_t ex = H5Aexists_by_name(loc, path, name, H5P_DEFAULT);
  if (ex < 0) {
    *why = "cannot check its attributes";
    return -1;
  }
  if (ex == 0) return 0;
  hid_t a = H5Aopen_by_name(loc, path, name, H5P_DEFAULT, H5P_DEFAULT);
  if (a < 0) {
    *why = "cannot open its attribute";
    return -1;
  }
  int r = fc_h5_read_string(a, 1, out, why);
  H5Aclose(a);
  return r < 0 ? -1 : 1;
}
