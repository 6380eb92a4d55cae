/* TopGO exports (FANTASIA §7.6), deterministic and overwritten whole:
 *   <out>/<model>/layer_<k>|legacy/<category>.topgo : max RI per (accession, go_id) in that
 * model/layer/category <out>/ensemble/<category>.topgo                  : max RI per (accession, go_id,
 * category) over all Lines "accession\tgo_id\tRI", sorted by accession then go_id (byte order). Rows with an
 * empty category go to unknown.topgo (FANTASIA drops them silently). */
#include "summarize_internal.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  uint32_t cat, acc, go, combo;
  uint32_t row;
} tkey;

static int cmp_tkey(const void *a, const void *b) {
  const tkey *x = a, *y = b;
  if (x->cat != y->cat) return x->cat < y->cat ? -1 : 1;
  if (x->acc != y->acc) return x->acc < y->acc ? -1 : 1;
  if (x->go != y->go) return x->go < y->go ? -1 : 1;
  if (x->combo != y->combo) return x->combo < y->combo ? -1 : 1;
  return x->row < y->row ? -1 : x->row > y->row;
}

/* a path component from a free-form name: '/' -> '_', "", "." and ".." -> "_" */
static char *component(const char *s, const char *empty) {
  if (!*s) return fc_strdup(empty);
  char *c = fc_strdup(s);
  if (!c) return NULL;
  for (char *p = c; *p; p++)
    if (*p == '/') *p = '_';
  if (!strcmp(c, ".") || !strcmp(c, "..")) strcpy(c, "_");
  return c;
}

/* RI as FANTASIA's files show it: rounded to prec decimals, then Python-repr style (no trailing zeros). */
static int fmt_ri(double v, int prec, char *buf, size_t cap) {
  int n = snprintf(buf, cap, "%.*f", prec, v);
  if (!strchr(buf, '.')) return n;
  while (n > 0 && buf[n - 1] == '0')
    n--;
  if (buf[n - 1] == '.') buf[n++] = '0';
  buf[n] = '\0';
  if (!strcmp(buf, "-0.0")) strcpy(buf, "-0.0");
  return n;
}

typedef struct {
  uint32_t model;
  int32_t layer;
} tcombo;

fc_status fc_topgo_write(const fc_raw_table *t, const char *out_dir, fc_error *err) {
  return fc_topgo_write_ex(t, out_dir, 4, err);
}

fc_status fc_topgo_write_ex(const fc_raw_table *t, const char *out_dir, int prec, fc_error *err) {
  if (prec < 0) prec = 4;
  if (prec > 15) prec = 15;
  fc_status st = FC_OK;
  size_t n = t->nrows;
  uint32_t *rank = NULL;
  tkey *keys = NULL;
  tcombo *combos = NULL;
  char **cdir = NULL;
  fc_atomic_file *files = NULL;
  fc_atomic_file ens = {0};
  size_t ncombo = 0, ccap = 0, unknown_rows = 0;
  char *ensdir = NULL;
  if (n > UINT32_MAX) return fc_error_set(err, FC_EUNSUPPORTED, "topgo: more than 2^32 raw rows");
  rank = fc__string_ranks(t, FC_RANK_FIELDS(offsetof(fc_raw_row, category), offsetof(fc_raw_row, accession),
                                            offsetof(fc_raw_row, go_id)));
  keys = malloc((n ? n : 1) * sizeof *keys);
  if (!rank || !keys) {
    st = fc_error_set(err, FC_ENOMEM, "topgo: out of memory");
    goto done;
  }
  /* combos in first-seen order (the file tree does not depend on it) */
  size_t last = SIZE_MAX;
  for (size_t i = 0; i < n; i++) {
    const fc_raw_row *r = &t->rows[i];
    size_t j = last;
    if (j == SIZE_MAX || combos[j].model != r->model_name || combos[j].layer != r->layer_index) {
      for (j = 0; j < ncombo; j++)
        if (combos[j].model == r->model_name && combos[j].layer == r->layer_index) break;
      if (j == ncombo) {
        if (ncombo == ccap) {
          ccap = ccap ? 2 * ccap : 16;
          tcombo *nc = realloc(combos, ccap * sizeof *nc);
          if (!nc) {
            st = fc_error_set(err, FC_ENOMEM, "topgo: out of memory");
            goto done;
          }
          combos = nc;
        }
        combos[ncombo++] = (tcombo){r->model_name, r->layer_index};
      }
      last = j;
    }
    keys[i] = (tkey){rank[r->category], rank[r->accession], rank[r->go_id], (uint32_t)j, (uint32_t)i};
    unknown_rows += r->category == FC_STR_EMPTY;
  }
  if (unknown_rows)
    fc_log_warn("topgo: %zu raw rows have no GO category; written to unknown.topgo", unknown_rows);
  qsort(keys, n, sizeof *keys, cmp_tkey);
  cdir = calloc(ncombo ? ncombo : 1, sizeof *cdir);
  files = calloc(ncombo ? ncombo : 1, sizeof *files);
  ensdir = fc_sprintf("%s/ensemble", out_dir);
  if (!cdir || !files || !ensdir) {
    st = fc_error_set(err, FC_ENOMEM, "topgo: out of memory");
    goto done;
  }
  for (size_t c = 0; c < ncombo; c++) {
    const char *mname = fc_raw_table_str(t, combos[c].model);
    /* a model literally named "ensemble" must not write into the ensemble folder */
    char *m = !strcmp(mname, "ensemble") ? fc_strdup("_ensemble") : component(mname, "_");
    if (!m) {
      st = fc_error_set(err, FC_ENOMEM, "topgo: out of memory");
      goto done;
    }
    cdir[c] = combos[c].layer < 0 ? fc_sprintf("%s/%s/legacy", out_dir, m)
                                  : fc_sprintf("%s/%s/layer_%d", out_dir, m, combos[c].layer);
    free(m);
    if (!cdir[c]) {
      st = fc_error_set(err, FC_ENOMEM, "topgo: out of memory");
      goto done;
    }
    if ((st = fc_mkdir_p(cdir[c], err))) goto done;
  }
  if (n && (st = fc_mkdir_p(ensdir, err))) goto done;

  double *best = malloc((ncombo ? ncombo : 1) * sizeof *best);
  unsigned char *has = calloc(ncombo ? ncombo : 1, 1);
  if (!best || !has) {
    free(best);
    free(has);
    st = fc_error_set(err, FC_ENOMEM, "topgo: out of memory");
    goto done;
  }
  char num[64];
  size_t i = 0;
  while (i < n && st == FC_OK) {
    /* one category: keys[i..ce) */
    uint32_t catid = t->rows[keys[i].row].category;
    size_t ce = i;
    while (ce < n && keys[ce].cat == keys[i].cat)
      ce++;
    char *cname = component(fc_raw_table_str(t, catid), "unknown");
    char *fname = cname ? fc_sprintf("%s.topgo", cname) : NULL;
    free(cname);
    if (!fname) {
      st = fc_error_set(err, FC_ENOMEM, "topgo: out of memory");
      break;
    }
    char *ep = fc_path_join(ensdir, fname);
    if (!ep || (st = fc_atomic_open(&ens, ep, err))) {
      if (!ep) st = fc_error_set(err, FC_ENOMEM, "topgo: out of memory");
      free(ep);
      free(fname);
      break;
    }
    free(ep);
    for (size_t q = i; q < ce && st == FC_OK;) {
      size_t ge = q;
      while (ge < ce && keys[ge].acc == keys[q].acc && keys[ge].go == keys[q].go)
        ge++;
      const fc_raw_row *r0 = &t->rows[keys[q].row];
      const char *acc = fc_raw_table_str(t, r0->accession), *go = fc_raw_table_str(t, r0->go_id);
      double emax = -INFINITY;
      for (size_t z = q; z < ge; z++) {
        const fc_raw_row *r = &t->rows[keys[z].row];
        uint32_t c = keys[z].combo;
        double v = r->reliability_index;
        if (!has[c] || v > best[c]) best[c] = v;
        has[c] = 1;
        if (v > emax) emax = v;
      }
      for (size_t c = 0; c < ncombo; c++) {
        if (!has[c]) continue;
        has[c] = 0;
        if (!files[c].fp) {
          char *pth = fc_path_join(cdir[c], fname);
          if (!pth) {
            st = fc_error_set(err, FC_ENOMEM, "topgo: out of memory");
            break;
          }
          st = fc_atomic_open(&files[c], pth, err);
          free(pth);
          if (st) break;
        }
        fmt_ri(best[c], prec, num, sizeof num);
        fprintf(files[c].fp, "%s\t%s\t%s\n", acc, go, num);
      }
      fmt_ri(emax, prec, num, sizeof num);
      fprintf(ens.fp, "%s\t%s\t%s\n", acc, go, num);
      q = ge;
    }
    free(fname);
    if (st == FC_OK) st = fc_atomic_commit(&ens, err);
    for (size_t c = 0; c < ncombo; c++) {
      if (!files[c].fp) continue;
      if (st == FC_OK)
        st = fc_atomic_commit(&files[c], err);
      else
        fc_atomic_abort(&files[c]);
    }
    i = ce;
  }
  free(best);
  free(has);
done:
  fc_atomic_abort(&ens);
  if (files)
    for (size_t c = 0; c < ncombo; c++)
      fc_atomic_abort(&files[c]);
  if (cdir)
    for (size_t c = 0; c < ncombo; c++)
      free(cdir[c]);
  free(cdir);
  free(files);
  free(ensdir);
  free(combos);
  free(keys);
  free(rank);
  return st;
}
