/* summary.csv (FANTASIA §7.2) with a single union header, deterministic order and per-protein counting.
 * Plan: one packed sort key per row (accession, go_id, model/layer, ref_idx, protein, row) sorted once,
 * then a linear scan over (accession, go_id) groups. No per-row allocation. */
#include "summarize_internal.h"

#include <ctype.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* ---- options ---- */

void fc_summary_opts_init(fc_summary_opts *o) {
  memset(o, 0, sizeof *o);
  o->precision = 4;
  o->k = 1;
  o->count_mode = FC_COUNT_HITS;
}

void fc_summary_opts_free(fc_summary_opts *o) {
  for (size_t i = 0; i < o->n_metrics; i++) {
    free(o->metrics[i].name);
    for (size_t j = 0; j < o->metrics[i].n_funs; j++)
      free(o->metrics[i].funs[j]);
    free(o->metrics[i].funs);
  }
  free(o->metrics);
  for (size_t i = 0; i < o->n_aliases; i++) {
    free(o->aliases[i].key);
    free(o->aliases[i].alias);
  }
  free(o->aliases);
  for (size_t i = 0; i < o->n_weights; i++) {
    free(o->weights[i].key);
    for (size_t j = 0; j < o->weights[i].n_funs; j++)
      free(o->weights[i].funs[j].fun);
    free(o->weights[i].funs);
  }
  free(o->weights);
  free(o->weighted_prefix);
  fc_summary_opts_init(o);
}

fc_status fc_summary_opts_add_metric(fc_summary_opts *o, const char *name, const char *const *funs,
                                     size_t n_funs) {
  fc_summary_metric *m = realloc(o->metrics, (o->n_metrics + 1) * sizeof *m);
  if (!m) return FC_ENOMEM;
  o->metrics = m;
  fc_summary_metric *x = &m[o->n_metrics];
  memset(x, 0, sizeof *x);
  x->name = fc_strdup(name);
  x->funs = calloc(n_funs ? n_funs : 1, sizeof *x->funs);
  if (!x->name || !x->funs) {
    free(x->name);
    free(x->funs);
    return FC_ENOMEM;
  }
  o->n_metrics++;
  for (size_t i = 0; i < n_funs; i++) {
    if (!(x->funs[i] = fc_strdup(funs[i]))) return FC_ENOMEM;
    x->n_funs++;
  }
  return FC_OK;
}

fc_status fc_summary_opts_add_alias(fc_summary_opts *o, const char *key, const char *alias) {
  fc_summary_alias *a = realloc(o->aliases, (o->n_aliases + 1) * sizeof *a);
  if (!a) return FC_ENOMEM;
  o->aliases = a;
  a[o->n_aliases].key = fc_strdup(key);
  a[o->n_aliases].alias = fc_strdup(alias);
  o->n_aliases++;
  return a[o->n_aliases - 1].key && a[o->n_aliases - 1].alias ? FC_OK : FC_ENOMEM;
}

static fc_weight_entry *weight_entry(fc_summary_opts *o, const char *key) {
  for (size_t i = 0; i < o->n_weights; i++)
    if (strcmp(o->weights[i].key, key) == 0) return &o->weights[i];
  fc_weight_entry *w = realloc(o->weights, (o->n_weights + 1) * sizeof *w);
  if (!w) return NULL;
  o->weights = w;
  fc_weight_entry *e = &w[o->n_weights];
  memset(e, 0, sizeof *e);
  if (!(e->key = fc_strdup(key))) return NULL;
  o->n_weights++;
  return e;
}

fc_status fc_summary_opts_add_weight(fc_summary_opts *o, const char *key, double value) {
  fc_weight_entry *e = weight_entry(o, key);
  if (!e) return FC_ENOMEM;
  e->is_number = 1;
  e->value = value;
  return FC_OK;
}

fc_status fc_summary_opts_add_weight_fun(fc_summary_opts *o, const char *key, const char *fun, double value) {
  fc_weight_entry *e = weight_entry(o, key);
  if (!e) return FC_ENOMEM;
  fc_weight_fun *f = realloc(e->funs, (e->n_funs + 1) * sizeof *f);
  if (!f) return FC_ENOMEM;
  e->funs = f;
  f[e->n_funs].fun = fc_strdup(fun);
  f[e->n_funs].value = value;
  e->n_funs++;
  return f[e->n_funs - 1].fun ? FC_OK : FC_ENOMEM;
}

fc_status fc_summary_opts_fantasia_default(fc_summary_opts *o) {
  fc_summary_opts_init(o);
  static const char *const mx[] = {"max"};
  static const char *const mmm[] = {"min", "max", "mean"};
  fc_status st = FC_OK;
  o->include_counts = 1;
  o->weighted_prefix = fc_strdup("w_");
  if (!o->weighted_prefix) st = FC_ENOMEM;
  if (!st) st = fc_summary_opts_add_metric(o, "reliability_index", mx, 1);
  if (!st) st = fc_summary_opts_add_metric(o, "identity", mmm, 3);
  if (!st) st = fc_summary_opts_add_metric(o, "identity_sw", mmm, 3);
  if (!st) st = fc_summary_opts_add_alias(o, "reliability_index", "ri");
  if (!st) st = fc_summary_opts_add_alias(o, "identity", "id_g");
  if (!st) st = fc_summary_opts_add_alias(o, "identity_sw", "id_l");
  if (!st) st = fc_summary_opts_add_weight_fun(o, "reliability_index", "max", 0.4);
  if (!st) st = fc_summary_opts_add_weight(o, "max_id_g", 0.2);
  if (!st) st = fc_summary_opts_add_weight(o, "max_id_l", 0.2);
  if (!st) st = fc_summary_opts_add_weight(o, "count", 0.2);
  if (st) fc_summary_opts_free(o);
  return st;
}

/* ---- metric columns ---- */

typedef struct {
  const char *name;
  size_t off;
  int nullable; /* missing when has_alignment == 0 */
  int is_int;
} metric_col;

#define MC(n, f, nl)                                                                                         \
  { n, offsetof(fc_raw_row, f), nl, 0 }
#define MI(n, f)                                                                                             \
  { n, offsetof(fc_raw_row, f), 0, 1 }
static const metric_col METRIC_COLS[] = {
    MC("distance", distance, 0),
    MC("reliability_index", reliability_index, 0),
    MC("identity", identity, 1),
    MC("similarity", similarity, 1),
    MC("alignment_score", alignment_score, 1),
    MC("gaps_percentage", gaps_percentage, 1),
    MC("alignment_length", alignment_length, 1),
    MC("identity_sw", identity_sw, 1),
    MC("similarity_sw", similarity_sw, 1),
    MC("alignment_score_sw", alignment_score_sw, 1),
    MC("gaps_percentage_sw", gaps_percentage_sw, 1),
    MC("alignment_length_sw", alignment_length_sw, 1),
    MI("query_len", query_len),
    MI("ref_len", ref_len),
    MI("length_query", query_len),
    MI("length_reference", ref_len),
};

typedef struct {
  const metric_col *col; /* NULL for count */
  fc_agg_fun fun;
  char *name;
  int weighted;
  double w;
} item;

static int norm_fun(const char *s, fc_agg_fun *f) {
  char b[16];
  size_t n = 0;
  while (*s && isspace((unsigned char)*s))
    s++;
  for (; *s && n < sizeof b - 1; s++)
    b[n++] = (char)tolower((unsigned char)*s);
  while (n && isspace((unsigned char)b[n - 1]))
    n--;
  b[n] = '\0';
  if (!strcmp(b, "min"))
    *f = FC_AGG_MIN;
  else if (!strcmp(b, "max"))
    *f = FC_AGG_MAX;
  else if (!strcmp(b, "mean") || !strcmp(b, "avg"))
    *f = FC_AGG_MEAN;
  else
    return -1;
  return 0;
}
static const char *const FUN_NAME[] = {"min", "max", "mean"};

static const fc_weight_entry *find_w(const fc_summary_opts *o, const char *key) {
  for (size_t i = 0; i < o->n_weights; i++)
    if (o->weights[i].key && strcmp(o->weights[i].key, key) == 0) return &o->weights[i];
  return NULL;
}

/* §7.2 step 3, first match wins. */
static int resolve_weight(const fc_summary_opts *o, const char *metric, const char *alias, fc_agg_fun fun,
                          const char *name, double *w) {
  const fc_weight_entry *e = find_w(o, name);
  if (e && e->is_number) {
    *w = e->value;
    return 1;
  }
  const char *keys[2] = {metric, alias};
  for (int k = 0; k < 2; k++) {
    e = find_w(o, keys[k]);
    if (!e) continue;
    if (e->is_number) {
      *w = e->value;
      return 1;
    }
    for (size_t j = 0; j < e->n_funs; j++) {
      fc_agg_fun f;
      if (e->funs[j].fun && norm_fun(e->funs[j].fun, &f) == 0 && f == fun) {
        *w = e->funs[j].value;
        return 1;
      }
    }
  }
  return 0;
}

static void free_items(item *it, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(it[i].name);
  free(it);
}

static fc_status build_items(const fc_summary_opts *o, item **out, size_t *nout, double *W, fc_error *err) {
  size_t cap = 1;
  for (size_t i = 0; i < o->n_metrics; i++)
    cap += o->metrics[i].n_funs;
  item *it = calloc(cap, sizeof *it);
  if (!it) return fc_error_set(err, FC_ENOMEM, "summary: out of memory");
  size_t n = 0;
  for (size_t i = 0; i < o->n_metrics; i++) {
    const fc_summary_metric *m = &o->metrics[i];
    const metric_col *col = NULL;
    for (size_t c = 0; c < sizeof METRIC_COLS / sizeof METRIC_COLS[0]; c++)
      if (m->name && !strcmp(m->name, METRIC_COLS[c].name)) col = &METRIC_COLS[c];
    if (!col) {
      free_items(it, n);
      return fc_error_set(err, FC_EINVAL, "summary: metric '%s' is not a numeric raw-results column",
                          m->name ? m->name : "(null)");
    }
    const char *alias = m->name;
    for (size_t a = 0; a < o->n_aliases; a++)
      if (o->aliases[a].key && !strcmp(o->aliases[a].key, m->name) && o->aliases[a].alias)
        alias = o->aliases[a].alias;
    for (size_t j = 0; j < m->n_funs; j++) {
      fc_agg_fun f;
      if (!m->funs[j] || norm_fun(m->funs[j], &f) != 0) {
        fc_log_warn("summary: metric '%s': aggregation '%s' ignored (use min, max, mean or avg)", m->name,
                    m->funs[j] ? m->funs[j] : "(null)");
        continue;
      }
      char *name = fc_sprintf("%s_%s", FUN_NAME[f], alias);
      if (!name) {
        free_items(it, n);
        return fc_error_set(err, FC_ENOMEM, "summary: out of memory");
      }
      int dup = 0;
      for (size_t q = 0; q < n; q++)
        dup |= !strcmp(it[q].name, name);
      if (dup) {
        fc_log_warn("summary: column '%s' requested twice; kept once", name);
        free(name);
        continue;
      }
      it[n].col = col;
      it[n].fun = f;
      it[n].name = name;
      it[n].weighted = resolve_weight(o, m->name, alias, f, name, &it[n].w);
      n++;
    }
  }
  if (o->include_counts) {
    it[n].name = fc_strdup("count");
    if (!it[n].name) {
      free_items(it, n);
      return fc_error_set(err, FC_ENOMEM, "summary: out of memory");
    }
    const fc_weight_entry *e = find_w(o, "count");
    it[n].weighted = e && e->is_number;
    it[n].w = it[n].weighted ? e->value : 0;
    n++;
  }
  double s = 0;
  for (size_t i = 0; i < n; i++)
    if (it[i].weighted) s += it[i].w;
  *W = s;
  *out = it;
  *nout = n;
  return FC_OK;
}

/* Round half away from zero at `prec` decimals (Polars' Float64 round). */
static double round_dec(double x, int prec) {
  double m = pow(10.0, prec);
  return round(x * m) / m;
}

/* Value as printed with "%.{prec}f" and read back (the raw files' rounding), exactly: when the fast
 * fixed-point path is sure of the digits, r / 10^prec is one correctly rounded division = strtod's result. */
static double round_like_printf(double x, int prec, double m) {
  if (!isfinite(x)) return x;
  char b[48];
  if (prec <= 9 && fabs(x) < 1e14) {
    double y = fabs(x) * m, fl = floor(y), frac = y - fl;
    if (y < 9e15 && fabs(frac - 0.5) > y * 4.5e-16 + 1e-300) {
      double r = (frac > 0.5 ? fl + 1 : fl) / m;
      return signbit(x) ? -r : r;
    }
  }
  snprintf(b, sizeof b, "%.*f", prec, x);
  return strtod(b, NULL);
}

/* ---- sort keys ---- */

typedef struct {
  uint32_t acc, go, combo, prot;
  int32_t ref;
  uint32_t row;
} skey;

static int cmp_skey(const void *a, const void *b) {
  const skey *x = a, *y = b;
  if (x->acc != y->acc) return x->acc < y->acc ? -1 : 1;
  if (x->go != y->go) return x->go < y->go ? -1 : 1;
  if (x->combo != y->combo) return x->combo < y->combo ? -1 : 1;
  if (x->ref != y->ref) return x->ref < y->ref ? -1 : 1;
  if (x->prot != y->prot) return x->prot < y->prot ? -1 : 1;
  return x->row < y->row ? -1 : x->row > y->row;
}

typedef struct {
  uint32_t model; /* string id */
  uint32_t model_rank;
  int32_t layer;
} combo;

static int cmp_combo(const void *a, const void *b) {
  const combo *x = a, *y = b;
  if (x->model_rank != y->model_rank) return x->model_rank < y->model_rank ? -1 : 1;
  return x->layer < y->layer ? -1 : x->layer > y->layer;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* Distinct (model, layer) pairs sorted by (model bytes, layer); combo_of[row] = index. */
static fc_status find_combos(const fc_raw_table *t, const uint32_t *rank, combo **out, size_t *nout,
                             uint32_t *combo_of, fc_error *err) {
  combo *c = NULL;
  size_t n = 0, cap = 0;
  size_t last = SIZE_MAX;
  for (size_t i = 0; i < t->nrows; i++) {
    const fc_raw_row *r = &t->rows[i];
    if (last != SIZE_MAX && c[last].model == r->model_name && c[last].layer == r->layer_index) {
      combo_of[i] = (uint32_t)last;
      continue;
    }
    size_t j = 0;
    while (j < n && !(c[j].model == r->model_name && c[j].layer == r->layer_index))
      j++;
    if (j == n) {
      if (n == cap) {
        cap = cap ? cap * 2 : 16;
        combo *nc = realloc(c, cap * sizeof *nc);
        if (!nc) {
          free(c);
          return fc_error_set(err, FC_ENOMEM, "summary: out of memory");
        }
        c = nc;
      }
      c[n++] = (combo){r->model_name, rank[r->model_name], r->layer_index};
    }
    last = j;
    combo_of[i] = (uint32_t)j;
  }
  /* sort, then remap */
  combo *sorted = malloc((n ? n : 1) * sizeof *sorted);
  uint32_t *remap = malloc((n ? n : 1) * sizeof *remap);
  if (!sorted || !remap) {
    free(c);
    free(sorted);
    free(remap);
    return fc_error_set(err, FC_ENOMEM, "summary: out of memory");
  }
  if (n) memcpy(sorted, c, n * sizeof *c);
  qsort(sorted, n, sizeof *sorted, cmp_combo);
  for (size_t j = 0; j < n; j++)
    for (size_t q = 0; q < n; q++)
      if (sorted[q].model == c[j].model && sorted[q].layer == c[j].layer) remap[j] = (uint32_t)q;
  for (size_t i = 0; i < t->nrows; i++)
    combo_of[i] = remap[combo_of[i]];
  free(c);
  free(remap);
  *out = sorted;
  *nout = n;
  return FC_OK;
}

/* ---- output buffer ---- */
typedef struct {
  char *b;
  size_t n, cap;
  int oom;
} sbuf;

static void sb_put(sbuf *s, const char *p, size_t n) {
  if (s->n + n + 1 > s->cap) {
    size_t cap = s->cap ? s->cap : 4096;
    while (cap < s->n + n + 1)
      cap *= 2;
    char *nb = realloc(s->b, cap);
    if (!nb) {
      s->oom = 1;
      return;
    }
    s->b = nb;
    s->cap = cap;
  }
  memcpy(s->b + s->n, p, n);
  s->n += n;
}
static void sb_str(sbuf *s, const char *p) {
  sb_put(s, p, strlen(p));
}
static void sb_csv(sbuf *s, const char *p) {
  if (!strpbrk(p, ",\"\r\n")) {
    sb_str(s, p);
    return;
  }
  sb_put(s, "\"", 1);
  for (; *p; p++) {
    if (*p == '"') sb_put(s, "\"", 1);
    sb_put(s, p, 1);
  }
  sb_put(s, "\"", 1);
}

/* ---- the writer ---- */

typedef struct {
  double mn, mx, sum;
  size_t n;
} agg;

fc_status fc_summary_write(const fc_raw_table *t, const fc_summary_opts *opts, const char *path,
                           fc_error *err) {
  fc_status st = FC_OK;
  item *items = NULL;
  size_t nitems = 0;
  double W = 0;
  st = build_items(opts, &items, &nitems, &W, err);
  if (st) return st;
  const int prec = opts->precision < 0 ? 4 : (opts->precision > 15 ? 15 : opts->precision);
  const double pm = pow(10.0, prec);
  const int k = opts->k <= 0 ? 1 : opts->k;
  const char *wpre = opts->weighted_prefix ? opts->weighted_prefix : "w_";
  const int weighting = W > 0;
  const int rows_mode = opts->count_mode == FC_COUNT_ROWS;
  const int per_protein = opts->count_mode == FC_COUNT_HIT_PROTEIN;
  size_t nrows = t->nrows;

  uint32_t *rank = NULL, *combo_of = NULL;
  uint64_t *prots = NULL;
  skey *keys = NULL;
  combo *combos = NULL;
  size_t ncombo = 0;
  agg *ag = NULL;
  double *cellv = NULL;
  unsigned char *present = NULL;
  size_t *units = NULL;
  sbuf sb = {0}, pb = {0};
  fc_atomic_file f = {0};
  fc_progress *pg = NULL;

  if (nrows > UINT32_MAX) {
    st = fc_error_set(err, FC_EUNSUPPORTED, "summary: more than 2^32 raw rows");
    goto done;
  }
  rank =
      fc__string_ranks(t, FC_RANK_FIELDS(offsetof(fc_raw_row, accession), offsetof(fc_raw_row, go_id),
                                         offsetof(fc_raw_row, model_name), offsetof(fc_raw_row, protein_id)));
  combo_of = malloc((nrows ? nrows : 1) * sizeof *combo_of);
  keys = malloc((nrows ? nrows : 1) * sizeof *keys);
  prots = malloc((nrows ? nrows : 1) * sizeof *prots);
  if (!rank || !combo_of || !keys || !prots) {
    st = fc_error_set(err, FC_ENOMEM, "summary: out of memory for %zu rows", nrows);
    goto done;
  }
  st = find_combos(t, rank, &combos, &ncombo, combo_of, err);
  if (st) goto done;
  for (size_t i = 0; i < nrows; i++) {
    const fc_raw_row *r = &t->rows[i];
    keys[i] =
        (skey){rank[r->accession], rank[r->go_id], combo_of[i], rank[r->protein_id], r->ref_idx, (uint32_t)i};
  }
  qsort(keys, nrows, sizeof *keys, cmp_skey);

  /* per-combo output columns: item values (+ weighted) then final_score */
  size_t ncols = 0;
  for (size_t i = 0; i < nitems; i++)
    ncols += 1 + (weighting && items[i].weighted);
  ncols += weighting;
  ag = calloc((ncombo ? ncombo : 1) * (nitems ? nitems : 1), sizeof *ag);
  cellv = calloc((ncombo ? ncombo : 1) * (ncols ? ncols : 1), sizeof *cellv);
  present = calloc((ncombo ? ncombo : 1) * (ncols ? ncols : 1), 1);
  units = calloc(ncombo ? ncombo : 1, sizeof *units);
  if (!ag || !cellv || !present || !units) {
    st = fc_error_set(err, FC_ENOMEM, "summary: out of memory");
    goto done;
  }

  st = fc_atomic_open(&f, path, err);
  if (st) goto done;
  setvbuf(f.fp, NULL, _IOFBF, 1 << 20);

  /* header */
  sb_str(&sb, "accession,go_id,term_count");
  for (size_t c = 0; c < ncombo; c++) {
    const char *model = fc_raw_table_str(t, combos[c].model);
    char lay[24];
    if (combos[c].layer < 0)
      strcpy(lay, "legacy");
    else
      snprintf(lay, sizeof lay, "%d", combos[c].layer);
    for (size_t i = 0; i < nitems; i++) {
      for (int w = 0; w <= (weighting && items[i].weighted); w++) {
        char *h = fc_sprintf("%s%s_%s_L%s", w ? wpre : "", items[i].name, model, lay);
        if (!h) {
          st = fc_error_set(err, FC_ENOMEM, "summary: out of memory");
          goto done;
        }
        sb_put(&sb, ",", 1);
        sb_csv(&sb, h);
        free(h);
      }
    }
    if (weighting) {
      char *h = fc_sprintf("final_score_%s_L%s", model, lay);
      if (!h) {
        st = fc_error_set(err, FC_ENOMEM, "summary: out of memory");
        goto done;
      }
      sb_put(&sb, ",", 1);
      sb_csv(&sb, h);
      free(h);
    }
  }
  sb_str(&sb, ",proteins\n");

  pg = fc_progress_start("summary.csv", nrows);
  size_t g = 0;
  char num[40];
  while (g < nrows) {
    size_t ge = g;
    while (ge < nrows && keys[ge].acc == keys[g].acc && keys[ge].go == keys[g].go)
      ge++;
    const fc_raw_row *r0 = &t->rows[keys[g].row];
    /* term_count and proteins */
    size_t term_count = 0, np = 0;
    for (size_t i = g; i < ge; i++) {
      const skey *kk = &keys[i];
      int new_unit = rows_mode || i == g || kk->combo != keys[i - 1].combo || kk->ref != keys[i - 1].ref ||
                     (per_protein && kk->prot != keys[i - 1].prot);
      term_count += new_unit;
      uint32_t pid = t->rows[kk->row].protein_id;
      if (pid != FC_STR_EMPTY) prots[np++] = ((uint64_t)kk->prot << 32) | pid;
    }
    qsort(prots, np, sizeof *prots, cmp_u64);
    /* aggregates per combo present */
    size_t i = g;
    while (i < ge) {
      uint32_t c = keys[i].combo;
      size_t ce = i;
      while (ce < ge && keys[ce].combo == c)
        ce++;
      agg *a = &ag[(size_t)c * nitems];
      for (size_t it = 0; it < nitems; it++)
        a[it] = (agg){INFINITY, -INFINITY, 0, 0};
      size_t nunits = 0;
      for (size_t q = i; q < ce; q++) {
        int new_unit = rows_mode || q == i || keys[q].ref != keys[q - 1].ref ||
                       (per_protein && keys[q].prot != keys[q - 1].prot);
        nunits += new_unit;
        const fc_raw_row *r = &t->rows[keys[q].row];
        for (size_t it = 0; it < nitems; it++) {
          const metric_col *mc = items[it].col;
          if (!mc) continue;
          if (mc->nullable && !r->has_alignment) continue;
          double v = mc->is_int ? (double)*(const int32_t *)((const char *)r + mc->off)
                                : *(const double *)((const char *)r + mc->off);
          if (!mc->is_int) v = round_like_printf(v, prec, pm);
          if (isnan(v)) continue;
          if (v < a[it].mn) a[it].mn = v;
          if (v > a[it].mx) a[it].mx = v;
          if (new_unit) {
            a[it].sum += v;
            a[it].n++;
          }
        }
      }
      /* cells */
      double *cv = &cellv[(size_t)c * ncols];
      unsigned char *pr = &present[(size_t)c * ncols];
      size_t col = 0;
      double final = 0;
      for (size_t it = 0; it < nitems; it++) {
        double v;
        int has;
        if (!items[it].col) {
          v = (double)nunits / k;
          has = 1;
        } else if (a[it].n == 0 && a[it].mn == INFINITY) {
          v = 0;
          has = 0;
        } else {
          v = items[it].fun == FC_AGG_MIN   ? a[it].mn
              : items[it].fun == FC_AGG_MAX ? a[it].mx
                                            : (a[it].n ? a[it].sum / (double)a[it].n : NAN);
          has = !isnan(v);
        }
        cv[col] = v;
        pr[col] = (unsigned char)has;
        col++;
        if (weighting && items[it].weighted) {
          double wv = round_dec((has ? v : 0.0) * items[it].w / W, prec);
          cv[col] = wv;
          pr[col] = 1;
          final += wv;
          col++;
        }
      }
      if (weighting) {
        cv[col] = final;
        pr[col] = 1;
      }
      units[c] = 1; /* mark present */
      i = ce;
    }
    /* write the line */
    sb_csv(&sb, fc_raw_table_str(t, r0->accession));
    sb_put(&sb, ",", 1);
    sb_csv(&sb, fc_raw_table_str(t, r0->go_id));
    int nl = snprintf(num, sizeof num, ",%zu", term_count);
    sb_put(&sb, num, (size_t)nl);
    for (size_t c = 0; c < ncombo; c++) {
      for (size_t col = 0; col < ncols; col++) {
        sb_put(&sb, ",", 1);
        if (units[c] && present[c * ncols + col]) {
          int l = fc_format_f32((float)cellv[c * ncols + col], num);
          sb_put(&sb, num, (size_t)l);
        }
      }
      units[c] = 0;
    }
    sb_put(&sb, ",", 1);
    /* proteins: distinct, in byte order, joined by '|', one CSV field */
    pb.n = 0;
    for (size_t q = 0; q < np; q++) {
      if (q && prots[q] == prots[q - 1]) continue;
      if (pb.n) sb_put(&pb, "|", 1);
      sb_str(&pb, fc_raw_table_str(t, (uint32_t)prots[q]));
    }
    sb_put(&pb, "", 1); /* NUL */
    if (!pb.oom) sb_csv(&sb, pb.b);
    sb.oom |= pb.oom;
    sb_put(&sb, "\n", 1);
    if (sb.oom) {
      st = fc_error_set(err, FC_ENOMEM, "summary: out of memory");
      goto done;
    }
    if (sb.n > (1u << 20)) {
      fwrite(sb.b, 1, sb.n, f.fp);
      sb.n = 0;
    }
    fc_progress_add(pg, ge - g);
    g = ge;
  }
  if (sb.oom) {
    st = fc_error_set(err, FC_ENOMEM, "summary: out of memory");
    goto done;
  }
  fwrite(sb.b, 1, sb.n, f.fp);
  st = fc_atomic_commit(&f, err);
done:
  fc_progress_finish(pg);
  if (st) fc_atomic_abort(&f);
  free(sb.b);
  free(pb.b);
  free_items(items, nitems);
  free(rank);
  free(combo_of);
  free(keys);
  free(prots);
  free(combos);
  free(ag);
  free(cellv);
  free(present);
  free(units);
  return st;
}
