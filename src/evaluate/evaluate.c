/* CAFA-evaluator 1.2.1 metrics with sparse (target, term) storage. Semantics in
 * include/fantasia/evaluate.h and docs/evaluation.md. */
#include "fantasia/evaluate.h"

#include "seqio/textio.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const char *const fc_eval_column_names[FC_EV_NCOLS] = {
    "n", "tp", "fp", "fn", "pr", "rc", "cov", "mi", "ru", "f", "s", "pr_micro", "rc_micro", "f_micro"};

typedef struct {
  size_t n_rows;   /* GT targets of the namespace */
  int32_t *row_gp; /* row -> global target id */
  size_t *off;     /* CSR over rows: propagated GT terms */
  int32_t *terms;
  double *ngt, *ngt_w; /* |G| over terms of interest, and IA-weighted */
  size_t n_ann;
  double *ia;         /* per term (0 when absent), NULL without IA */
  unsigned char *toi; /* per term: evaluated (no_orphans drops roots) */
  size_t *xoff;       /* known annotations (propagated) per row, CSR; NULL without known_path */
  int32_t *xterms;
  unsigned char *active; /* rows evaluated (NULL: all) */
  size_t n_active;
} ns_gt;

struct fc_eval {
  const fc_ontology *o;
  fc_eval_opts opts;
  size_t n_ns;
  ns_gt *gt;
  fc_txmap targets; /* accession -> global target id */
  fc_arena arena;
  size_t n_targets;
  int32_t **row_of; /* [ns][gp] -> row or -1 */
  int has_ia;
  double *tau;
  size_t n_tau;
  int decimals;
  fc_eval_input_stats gt_st, ia_st, known_st;
  fc_eval_row *rows;
  size_t n_rows, cap_rows;
  char **labels;
  size_t n_labels;
  fc_go_ws *ws;
};

void fc_eval_opts_default(fc_eval_opts *o) {
  memset(o, 0, sizeof *o);
  o->norm = FC_NORM_CAFA;
  o->prop = FC_PROP_MAX;
  o->th_step = 0.01;
  o->max_terms = -1;
}

void fc_eval_free(fc_eval *ev) {
  if (!ev) return;
  for (size_t k = 0; k < ev->n_ns; k++) {
    ns_gt *g = &ev->gt[k];
    free(g->row_gp);
    free(g->off);
    free(g->terms);
    free(g->ngt);
    free(g->ngt_w);
    free(g->ia);
    free(g->toi);
    free(g->xoff);
    free(g->xterms);
    free(g->active);
    if (ev->row_of) free(ev->row_of[k]);
  }
  free(ev->gt);
  free(ev->row_of);
  fc_txmap_free(&ev->targets);
  fc_arena_free(&ev->arena);
  free(ev->tau);
  free(ev->rows);
  for (size_t i = 0; i < ev->n_labels; i++)
    free(ev->labels[i]);
  free(ev->labels);
  fc_go_ws_free(ev->ws);
  free(ev);
}

int fc_eval_has_ia(const fc_eval *ev) {
  return ev->has_ia;
}
const fc_eval_input_stats *fc_eval_gt_stats(const fc_eval *ev) {
  return &ev->gt_st;
}
const fc_eval_input_stats *fc_eval_ia_stats(const fc_eval *ev) {
  return &ev->ia_st;
}
const fc_eval_input_stats *fc_eval_known_stats(const fc_eval *ev) {
  return &ev->known_st;
}
size_t fc_eval_active_targets(const fc_eval *ev, int ns) {
  return (ns >= 0 && (size_t)ns < ev->n_ns) ? ev->gt[ns].n_active : 0;
}
size_t fc_eval_gt_targets(const fc_eval *ev, int ns) {
  return (ns >= 0 && (size_t)ns < ev->n_ns) ? ev->gt[ns].n_rows : 0;
}
size_t fc_eval_gt_annotations(const fc_eval *ev, int ns) {
  return (ns >= 0 && (size_t)ns < ev->n_ns) ? ev->gt[ns].n_ann : 0;
}

/* global target id of an accession, inserted when absent (-1: out of memory) */
static int32_t target_id(fc_eval *ev, const char *acc, size_t len, int insert) {
  int32_t v = fc_txmap_get(&ev->targets, acc, len);
  if (v >= 0 || !insert) return v;
  char *k = fc_arena_strndup(&ev->arena, acc, len);
  if (!k) return -1;
  v = (int32_t)ev->n_targets;
  if (fc_txmap_put(&ev->targets, k, len, v) == -2) return -1;
  ev->n_targets++;
  return v;
}

typedef struct {
  int32_t ns, row, term, pad;
  double score;
  size_t order;
} entry;

static int cmp_entry_gt(const void *a, const void *b) {
  const entry *x = a, *y = b;
  if (x->ns != y->ns) return x->ns < y->ns ? -1 : 1;
  if (x->row != y->row) return x->row < y->row ? -1 : 1;
  return x->order < y->order ? -1 : x->order > y->order;
}

static fc_status grow(void **p, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap) return FC_OK;
  size_t nc = *cap ? *cap : 64;
  while (nc < need)
    nc *= 2;
  void *q = realloc(*p, nc * elem);
  if (!q) return FC_ENOMEM;
  *p = q;
  *cap = nc;
  return FC_OK;
}

static fc_status load_ia(fc_eval *ev, const char *path, fc_error *err) {
  fc_lines *lr;
  fc_status st = fc_lines_open(path, &lr, err);
  if (st != FC_OK) return st;
  for (size_t k = 0; k < ev->n_ns; k++) {
    ev->gt[k].ia = calloc(fc_ontology_n_terms(ev->o, (int)k) + 1, sizeof(double));
    if (!ev->gt[k].ia) {
      fc_lines_close(lr);
      return fc_error_set(err, FC_ENOMEM, "%s: out of memory", path);
    }
  }
  char *line;
  size_t len;
  int r;
  while ((r = fc_lines_next(lr, &line, &len, err)) == 1) {
    char *save = NULL, *f1 = strtok_r(line, " \t", &save), *f2 = f1 ? strtok_r(NULL, " \t", &save) : NULL;
    if (!f1) continue;
    ev->ia_st.lines++;
    if (!f2 || strtok_r(NULL, " \t", &save)) {
      ev->ia_st.short_lines++;
      continue;
    }
    int ns;
    int32_t t;
    fc_term_resolution res = fc_ontology_resolve(ev->o, f1, &ns, &t);
    if (res == FC_TERM_UNKNOWN) {
      ev->ia_st.unknown_term++;
      continue;
    }
    if (res != FC_TERM_PRIMARY) { /* CAFA-evaluator matches primary ids only */
      if (res == FC_TERM_ALT)
        ev->ia_st.alt_mapped++;
      else
        ev->ia_st.obsolete_term++;
      continue;
    }
    char *end;
    double v = strtod(f2, &end);
    if (end == f2 || *end) {
      ev->ia_st.bad_score++;
      continue;
    }
    if (isnan(v) || isinf(v)) v = 0;
    if ((size_t)ns < ev->n_ns) ev->gt[ns].ia[t] = v;
    ev->ia_st.used++;
  }
  fc_lines_close(lr);
  if (r < 0) return err ? err->code : FC_EFORMAT;
  ev->has_ia = 1;
  return FC_OK;
}

/* Known annotations: propagated per (namespace, ground-truth row); rows left without a GT term of
 * interest become inactive. */
static fc_status load_known(fc_eval *ev, const char *path, fc_error *err) {
  fc_annot_set ann;
  fc_status st = fc_annot_read(path, NULL, &ann, err);
  if (st != FC_OK) {
    fc_annot_set_free(&ann);
    return st;
  }
  fc_eval_input_stats *ks = &ev->known_st;
  ks->lines = ann.n + ann.n_bad;
  ks->short_lines = ann.n_bad;
  entry *es = malloc((ann.n + 1) * sizeof *es);
  int32_t *tbuf = malloc((ann.n + 1) * sizeof *tbuf);
  size_t *caps = calloc(ev->n_ns + 1, sizeof *caps);
  uint32_t *mk = NULL;
  fc_term_vec pv = {0};
  size_t ne = 0;
  if (!es || !tbuf || !caps) goto oom;
  for (size_t i = 0; i < ann.n; i++) {
    int ns;
    int32_t t;
    fc_term_resolution r = fc_ontology_resolve(ev->o, ann.rows[i].go_id, &ns, &t);
    if (r == FC_TERM_UNKNOWN) {
      ks->unknown_term++;
      continue;
    }
    if (ns < 0) {
      ks->obsolete_term++;
      continue;
    }
    const char *acc = ann.rows[i].accession;
    int32_t gp = target_id(ev, acc, strlen(acc), 0);
    int32_t row = gp >= 0 && (size_t)gp < ev->n_targets ? ev->row_of[ns][gp] : -1;
    if (row < 0) {
      ks->other_target++;
      continue;
    }
    if (r != FC_TERM_PRIMARY) ks->alt_mapped++;
    es[ne].ns = ns;
    es[ne].row = row;
    es[ne].term = t;
    es[ne].pad = 0;
    es[ne].score = 1;
    es[ne].order = i;
    ne++;
    ks->used++;
  }
  if (ne) qsort(es, ne, sizeof *es, cmp_entry_gt);
  size_t maxT = 1;
  for (size_t k = 0; k < ev->n_ns; k++) {
    ns_gt *g = &ev->gt[k];
    g->xoff = calloc(g->n_rows + 1, sizeof(size_t));
    g->active = calloc(g->n_rows + 1, 1);
    if (!g->xoff || !g->active) goto oom;
    if (fc_ontology_n_terms(ev->o, (int)k) > maxT) maxT = fc_ontology_n_terms(ev->o, (int)k);
  }
  mk = calloc(maxT, sizeof *mk);
  if (!mk) goto oom;
  size_t *fill = calloc(ev->n_ns + 1, sizeof *fill);
  if (!fill) goto oom;
  for (size_t a = 0; a < ne;) {
    size_t b = a;
    while (b < ne && es[b].ns == es[a].ns && es[b].row == es[a].row)
      b++;
    ns_gt *g = &ev->gt[es[a].ns];
    for (size_t c = a; c < b; c++)
      tbuf[c - a] = es[c].term;
    st = fc_ontology_propagate(ev->o, es[a].ns, FC_PROP_MAX, tbuf, NULL, b - a, ev->ws, &pv, err);
    if (st != FC_OK) {
      free(fill);
      goto fail;
    }
    size_t base = fill[es[a].ns];
    if (grow((void **)&g->xterms, &caps[es[a].ns], base + pv.n + 1, sizeof(int32_t)) != FC_OK) {
      free(fill);
      goto oom;
    }
    memcpy(g->xterms + base, pv.terms, pv.n * sizeof(int32_t));
    fill[es[a].ns] += pv.n;
    g->xoff[es[a].row + 1] = fill[es[a].ns];
    a = b;
  }
  free(fill);
  uint32_t stamp = 0;
  for (size_t k = 0; k < ev->n_ns; k++) {
    ns_gt *g = &ev->gt[k];
    for (size_t r = 0; r < g->n_rows; r++)
      if (g->xoff[r + 1] < g->xoff[r]) g->xoff[r + 1] = g->xoff[r];
    g->n_active = 0;
    for (size_t r = 0; r < g->n_rows; r++) {
      stamp++;
      for (size_t q = g->xoff[r]; q < g->xoff[r + 1]; q++)
        mk[g->xterms[q]] = stamp;
      double n = 0, nw = 0;
      for (size_t q = g->off[r]; q < g->off[r + 1]; q++) {
        int32_t t = g->terms[q];
        if (mk[t] == stamp) continue;
        if (g->toi[t]) n += 1;
        if (g->ia && g->ia[t] > 0) nw += g->ia[t];
      }
      g->ngt[r] = n;
      g->ngt_w[r] = nw;
      g->active[r] = n > 0;
      g->n_active += n > 0;
    }
  }
  st = FC_OK;
  goto done;
oom:
  st = fc_error_set(err, FC_ENOMEM, "evaluate: out of memory");
fail:
done:
  fc_annot_set_free(&ann);
  free(es);
  free(tbuf);
  free(caps);
  free(mk);
  fc_term_vec_free(&pv);
  return st;
}

fc_status fc_eval_new(const fc_ontology *o, const char *gt_path, const char *ia_path,
                      const fc_eval_opts *opts, fc_eval **out, fc_error *err) {
  *out = NULL;
  fc_eval *ev = calloc(1, sizeof *ev);
  if (!ev) return fc_error_set(err, FC_ENOMEM, "evaluate: out of memory");
  ev->o = o;
  if (opts)
    ev->opts = *opts;
  else
    fc_eval_opts_default(&ev->opts);
  if (!(ev->opts.th_step > 0)) ev->opts.th_step = 0.01;
  if (ev->opts.th_step >= 1) {
    double bad = ev->opts.th_step;
    free(ev);
    return fc_error_set(err, FC_EINVAL, "evaluate: threshold step %g must be in (0, 1)", bad);
  }
  fc_txmap_init(&ev->targets);
  fc_arena_init(&ev->arena);
  fc_status st = FC_OK;
  fc_annot_set ann;
  entry *es = NULL;
  fc_term_vec pv = {0};
  /* thresholds exactly as numpy.arange(step, 1, step) */
  double step = ev->opts.th_step;
  double len = ceil((1.0 - step) / step);
  ev->n_tau = len > 0 ? (size_t)len : 0;
  ev->tau = malloc((ev->n_tau + 1) * sizeof *ev->tau);
  if (!ev->tau) goto oom;
  double delta = (step + step) - step;
  for (size_t i = 0; i < ev->n_tau; i++)
    ev->tau[i] = i == 0 ? step : (i == 1 ? step + step : step + (double)i * delta);
  ev->decimals = (int)ceil(-log10(step)) + 1;
  if (ev->decimals < 1) ev->decimals = 1;
  ev->n_ns = fc_ontology_n_namespaces(o);
  ev->gt = calloc(ev->n_ns + 1, sizeof *ev->gt);
  ev->row_of = calloc(ev->n_ns + 1, sizeof *ev->row_of);
  ev->ws = fc_go_ws_new(o);
  if (!ev->gt || !ev->row_of || !ev->ws) goto oom;
  if (ia_path && (st = load_ia(ev, ia_path, err)) != FC_OK) goto fail;
  for (size_t k = 0; k < ev->n_ns; k++) {
    size_t T = fc_ontology_n_terms(o, (int)k);
    ev->gt[k].toi = malloc(T + 1);
    if (!ev->gt[k].toi) goto oom;
    for (size_t t = 0; t < T; t++)
      ev->gt[k].toi[t] = !(ev->opts.no_orphans && fc_ontology_is_root(o, (int)k, (int32_t)t));
  }
  /* ground truth */
  st = fc_annot_read(gt_path, NULL, &ann, err);
  if (st != FC_OK) {
    fc_annot_set_free(&ann);
    goto fail;
  }
  ev->gt_st.lines = ann.n + ann.n_bad;
  ev->gt_st.short_lines = ann.n_bad;
  es = malloc((ann.n + 1) * sizeof *es);
  if (!es) {
    fc_annot_set_free(&ann);
    goto oom;
  }
  size_t ne = 0;
  for (size_t i = 0; i < ann.n; i++) {
    int ns;
    int32_t t;
    fc_term_resolution r = fc_ontology_resolve(o, ann.rows[i].go_id, &ns, &t);
    if (r == FC_TERM_UNKNOWN) {
      ev->gt_st.unknown_term++;
      continue;
    }
    if (ns < 0) {
      ev->gt_st.obsolete_term++;
      continue;
    }
    if (r != FC_TERM_PRIMARY) ev->gt_st.alt_mapped++;
    const char *acc = ann.rows[i].accession;
    int32_t gp = target_id(ev, acc, strlen(acc), 1);
    if (gp < 0) {
      fc_annot_set_free(&ann);
      goto oom;
    }
    es[ne].ns = ns;
    es[ne].row = gp; /* replaced by the row below */
    es[ne].term = t;
    es[ne].order = i;
    es[ne].score = 1;
    ne++;
    ev->gt_st.used++;
  }
  fc_annot_set_free(&ann);
  /* rows: targets in order of first appearance per namespace */
  for (size_t k = 0; k < ev->n_ns; k++) {
    ev->row_of[k] = malloc((ev->n_targets + 1) * sizeof(int32_t));
    if (!ev->row_of[k]) goto oom;
    for (size_t g = 0; g < ev->n_targets; g++)
      ev->row_of[k][g] = -1;
  }
  for (size_t i = 0; i < ne; i++) {
    ns_gt *g = &ev->gt[es[i].ns];
    int32_t *ro = &ev->row_of[es[i].ns][es[i].row];
    if (*ro < 0) {
      *ro = (int32_t)g->n_rows++;
    }
    es[i].row = *ro;
  }
  if (ne) qsort(es, ne, sizeof *es, cmp_entry_gt);
  for (size_t k = 0; k < ev->n_ns; k++) {
    ns_gt *g = &ev->gt[k];
    g->row_gp = malloc((g->n_rows + 1) * sizeof(int32_t));
    g->off = calloc(g->n_rows + 1, sizeof(size_t));
    g->ngt = calloc(g->n_rows + 1, sizeof(double));
    g->ngt_w = calloc(g->n_rows + 1, sizeof(double));
    if (!g->row_gp || !g->off || !g->ngt || !g->ngt_w) goto oom;
    for (size_t gp = 0; gp < ev->n_targets; gp++)
      if (ev->row_of[k][gp] >= 0) g->row_gp[ev->row_of[k][gp]] = (int32_t)gp;
  }
  int32_t *tbuf = malloc((ne + 1) * sizeof *tbuf);
  if (!tbuf) goto oom;
  size_t tcap = 0;
  for (size_t a = 0; a < ne;) {
    size_t b = a;
    while (b < ne && es[b].ns == es[a].ns && es[b].row == es[a].row)
      b++;
    ns_gt *g = &ev->gt[es[a].ns];
    for (size_t c = a; c < b; c++)
      tbuf[c - a] = es[c].term;
    st = fc_ontology_propagate(o, es[a].ns, FC_PROP_MAX, tbuf, NULL, b - a, ev->ws, &pv, err);
    if (st != FC_OK) {
      free(tbuf);
      goto fail;
    }
    size_t row = (size_t)es[a].row;
    size_t base = g->n_ann;
    if (grow((void **)&g->terms, &tcap, base + pv.n + 1, sizeof(int32_t)) != FC_OK) {
      free(tbuf);
      goto oom;
    }
    /* duplicates: (target, term) pairs given twice before propagation */
    for (size_t c = 0; c < pv.n; c++) {
      int32_t t = pv.terms[c];
      g->terms[base + c] = t;
      if (g->toi[t]) g->ngt[row] += 1;
      if (g->ia && g->ia[t] > 0) g->ngt_w[row] += g->ia[t];
    }
    g->n_ann += pv.n;
    g->off[row + 1] = g->n_ann; /* rows come sorted */
    a = b;
    if (b < ne && es[b].ns != es[a - 1].ns) tcap = 0;
  }
  free(tbuf);
  /* fix offsets of empty rows (none exist: a row is made by a pair) and count duplicates */
  for (size_t k = 0; k < ev->n_ns; k++) {
    ns_gt *g = &ev->gt[k];
    for (size_t r = 0; r < g->n_rows; r++)
      if (g->off[r + 1] < g->off[r]) g->off[r + 1] = g->off[r];
  }
  for (size_t i = 1; i < ne; i++)
    if (es[i].ns == es[i - 1].ns && es[i].row == es[i - 1].row) {
      /* same target: a duplicate iff the term repeats within the group (groups are small) */
      for (size_t j = i; j-- > 0 && es[j].ns == es[i].ns && es[j].row == es[i].row;)
        if (es[j].term == es[i].term) {
          ev->gt_st.duplicates++;
          break;
        }
    }
  free(es);
  es = NULL;
  fc_term_vec_free(&pv);
  for (size_t k = 0; k < ev->n_ns; k++)
    ev->gt[k].n_active = ev->gt[k].n_rows;
  if (ev->opts.known_path && (st = load_known(ev, ev->opts.known_path, err)) != FC_OK) goto fail;
  *out = ev;
  return FC_OK;
oom:
  st = fc_error_set(err, FC_ENOMEM, "evaluate: out of memory");
fail:
  free(es);
  fc_term_vec_free(&pv);
  fc_eval_free(ev);
  return st;
}

static int cmp_entry_pred(const void *a, const void *b) {
  return cmp_entry_gt(a, b);
}

/* number of thresholds <= v */
static size_t n_tau_le(const fc_eval *ev, double v) {
  size_t lo = 0, hi = ev->n_tau;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (ev->tau[mid] <= v)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

static fc_status push_row(fc_eval *ev, const fc_eval_row *r) {
  if (grow((void **)&ev->rows, &ev->cap_rows, ev->n_rows + 1, sizeof *ev->rows) != FC_OK) return FC_ENOMEM;
  ev->rows[ev->n_rows++] = *r;
  return FC_OK;
}

static double safe_div(double a, double b) {
  return b > 0 ? a / b : 0.0;
}
static double f_of(double pr, double rc) {
  double d = pr + rc;
  return d != 0 ? 2 * pr * rc / d : 0.0;
}

/* raw sums (n, tp, fp, fn, pr, rc) -> the 14 normalised columns (cafaeval `normalize`) */
static void normalise(const double raw[6], double ne, fc_eval_norm norm, double m[FC_EV_NCOLS]) {
  double n = raw[0];
  m[FC_EV_N] = n;
  for (int c = 1; c < 6; c++) {
    double den = ne;
    if (norm == FC_NORM_PRED || (norm == FC_NORM_CAFA && c == FC_EV_PR)) den = n;
    m[c] = safe_div(raw[c], den);
  }
  m[FC_EV_COV] = n / ne;
  m[FC_EV_MI] = m[FC_EV_FP];
  m[FC_EV_RU] = m[FC_EV_FN];
  m[FC_EV_F] = f_of(m[FC_EV_PR], m[FC_EV_RC]);
  m[FC_EV_S] = sqrt(m[FC_EV_RU] * m[FC_EV_RU] + m[FC_EV_MI] * m[FC_EV_MI]);
  m[FC_EV_PR_MICRO] = safe_div(m[FC_EV_TP], m[FC_EV_TP] + m[FC_EV_FP]);
  m[FC_EV_RC_MICRO] = safe_div(m[FC_EV_TP], m[FC_EV_TP] + m[FC_EV_FN]);
  m[FC_EV_F_MICRO] = f_of(m[FC_EV_PR_MICRO], m[FC_EV_RC_MICRO]);
}

/* ---- numpy-exact summation ----
 * CAFA-evaluator sums with numpy, whose float reductions use pairwise summation (blocks of <= 128 with
 * 8 accumulators, recursive halving at multiples of 8). Summing in another order moves results by an
 * ulp, enough to flip a printed 3rd decimal at .xxx5 boundaries, so both sums are replicated:
 * across targets (rows, streamed) and, for the IA-weighted metrics, across terms of one target (sparse). */
#define PW_BLOCK 128

static double pw_combine8(const double r[8]) {
  return ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
}

static fc_status pw_leaves(size_t len, size_t **out, size_t *n, size_t *cap) {
  if (len <= PW_BLOCK) {
    if (grow((void **)out, cap, *n + 1, sizeof **out) != FC_OK) return FC_ENOMEM;
    (*out)[(*n)++] = len;
    return FC_OK;
  }
  size_t n2 = len / 2;
  n2 -= n2 % 8;
  if (pw_leaves(n2, out, n, cap) != FC_OK) return FC_ENOMEM;
  return pw_leaves(len - n2, out, n, cap);
}

static double pw_tree(const double *leaf_sum, size_t *idx, size_t len) {
  if (len <= PW_BLOCK) return leaf_sum[(*idx)++];
  size_t n2 = len / 2;
  n2 -= n2 % 8;
  double a = pw_tree(leaf_sum, idx, n2);
  double b = pw_tree(leaf_sum, idx, len - n2);
  return a + b;
}

/* S streams of n values each, fed one position at a time (all streams together). */
typedef struct {
  size_t S, n, *leaf_len, n_leaves, cap_leaves, leaf, j;
  double *r, *res, *leaf_sum; /* r: S x 8, res: S, leaf_sum: S x n_leaves */
} pw_stream;

static void pw_stream_free(pw_stream *p) {
  free(p->leaf_len);
  free(p->r);
  free(p->res);
  free(p->leaf_sum);
}

static fc_status pw_stream_init(pw_stream *p, size_t S, size_t n) {
  memset(p, 0, sizeof *p);
  p->S = S;
  p->n = n;
  if (pw_leaves(n, &p->leaf_len, &p->n_leaves, &p->cap_leaves) != FC_OK) return FC_ENOMEM;
  p->r = calloc(S * 8 + 1, sizeof *p->r);
  p->res = malloc((S + 1) * sizeof *p->res);
  p->leaf_sum = calloc(S * p->n_leaves + 1, sizeof *p->leaf_sum);
  if (!p->r || !p->res || !p->leaf_sum) return FC_ENOMEM;
  for (size_t s = 0; s < S; s++)
    p->res[s] = -0.0;
  return FC_OK;
}

static void pw_stream_push(pw_stream *p, const double *v) {
  size_t L = p->leaf_len[p->leaf], j = p->j, S = p->S;
  if (L < 8) {
    for (size_t s = 0; s < S; s++)
      p->res[s] += v[s];
  } else {
    size_t cut = L - L % 8;
    if (j == cut && L % 8)
      for (size_t s = 0; s < S; s++)
        p->res[s] = pw_combine8(p->r + 8 * s);
    if (j < 8)
      for (size_t s = 0; s < S; s++)
        p->r[8 * s + j] = v[s];
    else if (j < cut)
      for (size_t s = 0; s < S; s++)
        p->r[8 * s + j % 8] += v[s];
    else
      for (size_t s = 0; s < S; s++)
        p->res[s] += v[s];
    if (j == L - 1 && L % 8 == 0)
      for (size_t s = 0; s < S; s++)
        p->res[s] = pw_combine8(p->r + 8 * s);
  }
  if (j == L - 1) {
    for (size_t s = 0; s < S; s++) {
      p->leaf_sum[s * p->n_leaves + p->leaf] = p->res[s];
      p->res[s] = -0.0;
    }
    p->leaf++;
    p->j = 0;
  } else {
    p->j++;
  }
}

static double pw_stream_sum(const pw_stream *p, size_t s) {
  size_t idx = 0;
  return pw_tree(p->leaf_sum + s * p->n_leaves, &idx, p->n);
}

/* Sparse pairwise sum of 4 value columns over positions [lo, lo + len); entries sorted by pos. */
typedef struct {
  size_t pos;
  double v[4];
} sp_entry;

static void pw_sparse(const sp_entry *e, size_t a, size_t b, size_t lo, size_t len, double out[4]) {
  if (a == b) {
    for (int c = 0; c < 4; c++)
      out[c] = 0.0;
    return;
  }
  if (len < 8) {
    for (int c = 0; c < 4; c++)
      out[c] = -0.0;
    for (size_t i = a; i < b; i++)
      for (int c = 0; c < 4; c++)
        out[c] += e[i].v[c];
    return;
  }
  if (len <= PW_BLOCK) {
    size_t cut = lo + len - len % 8;
    double r[4][8];
    memset(r, 0, sizeof r);
    size_t i = a;
    for (; i < b && e[i].pos < cut; i++)
      for (int c = 0; c < 4; c++)
        r[c][(e[i].pos - lo) % 8] += e[i].v[c];
    for (int c = 0; c < 4; c++)
      out[c] = pw_combine8(r[c]);
    for (; i < b; i++)
      for (int c = 0; c < 4; c++)
        out[c] += e[i].v[c];
    return;
  }
  size_t n2 = len / 2;
  n2 -= n2 % 8;
  size_t m = a;
  while (m < b && e[m].pos < lo + n2)
    m++;
  double l[4], r[4];
  pw_sparse(e, a, m, lo, n2, l);
  pw_sparse(e, m, b, lo + n2, len - n2, r);
  for (int c = 0; c < 4; c++)
    out[c] = l[c] + r[c];
}

static int cmp_sp(const void *a, const void *b) {
  size_t x = ((const sp_entry *)a)->pos, y = ((const sp_entry *)b)->pos;
  return x < y ? -1 : x > y;
}

/* Evaluates namespace k from the grouped entries es[0..n) (all of namespace k, sorted by row). */
static fc_status eval_namespace(fc_eval *ev, int k, const entry *es, size_t n, const char *label,
                                fc_eval_input_stats *st, fc_error *err) {
  const ns_gt *g = &ev->gt[k];
  size_t T = ev->n_tau, NT = fc_ontology_n_terms(ev->o, k);
  fc_status rc = FC_OK;
  int W = ev->has_ia && g->ia;
  double *rowv = calloc(T * 12 + 1, sizeof *rowv); /* this target's contributions, [tau][12] */
  double *hist = calloc((T + 1) * 4 + 1, sizeof *hist);
  double *val = calloc(NT + 1, sizeof *val);
  uint32_t *mk = calloc(NT + 1, sizeof *mk);
  int32_t *dterms = malloc((n + 1) * sizeof *dterms);
  double *dvals = malloc((n + 1) * sizeof *dvals);
  size_t *kk_of = calloc(NT + 1, sizeof *kk_of);
  size_t *pos_ia = NULL, M = 0;
  sp_entry *sp = NULL;
  size_t sp_cap = 0;
  uint32_t *xk = NULL;
  fc_term_vec pv = {0};
  pw_stream ps;
  memset(&ps, 0, sizeof ps);
  if (!rowv || !hist || !val || !mk || !dterms || !dvals || !kk_of ||
      pw_stream_init(&ps, T * 12, g->n_active) != FC_OK)
    goto oom;
  if (W) {
    pos_ia = malloc((NT + 1) * sizeof *pos_ia);
    if (!pos_ia) goto oom;
    for (size_t t = 0; t < NT; t++)
      pos_ia[t] = g->ia[t] > 0 ? M++ : (size_t)-1;
  }
  uint32_t stamp = 0, xstamp = 0;
  if (g->xoff && !(xk = calloc(NT + 1, sizeof *xk))) goto oom;
  size_t e = 0;
  for (size_t row = 0; row < g->n_rows; row++) {
    double ngt = g->ngt[row];
    size_t a = e;
    while (e < n && (size_t)es[e].row == row)
      e++;
    if (g->active && !g->active[row]) continue; /* all its ground truth is known (--known) */
    uint32_t xs = 0;
    if (g->xoff) {
      xs = ++xstamp;
      for (size_t q = g->xoff[row]; q < g->xoff[row + 1]; q++)
        xk[g->xterms[q]] = xs;
    }
    size_t nd = 0;
    pv.n = 0;
    if (e > a) {
      /* distinct terms with the max score; max_terms as cafaeval: a line is taken while the target has
       * at most max_terms nonzero terms */
      stamp++;
      size_t nonzero = 0;
      for (size_t i = a; i < e; i++) {
        int32_t t = es[i].term;
        if (ev->opts.max_terms >= 0 && nonzero > (size_t)ev->opts.max_terms) {
          st->over_max_terms++;
          continue;
        }
        if (mk[t] != stamp) {
          mk[t] = stamp;
          val[t] = 0;
          dterms[nd++] = t;
        } else {
          st->duplicates++;
        }
        if (es[i].score > val[t]) {
          if (val[t] == 0) nonzero++;
          val[t] = es[i].score;
        }
      }
      for (size_t i = 0; i < nd; i++)
        dvals[i] = val[dterms[i]];
      rc = fc_ontology_propagate(ev->o, k, ev->opts.prop, dterms, dvals, nd, ev->ws, &pv, err);
      if (rc != FC_OK) goto done;
    }
    /* kk = number of thresholds <= score: the term is predicted at tau index < kk */
    stamp++;
    for (size_t i = 0; i < pv.n; i++) {
      mk[pv.terms[i]] = stamp;
      kk_of[pv.terms[i]] = n_tau_le(ev, pv.values[i]);
    }
    uint32_t pstamp = stamp++;
    double *hp = hist, *htp = hist + (T + 1), *hfp = hist + 2 * (T + 1), *hfn = hist + 3 * (T + 1);
    memset(hist, 0, (T + 1) * 4 * sizeof *hist);
    size_t nsp = 0;
    for (size_t q = g->off[row]; q < g->off[row + 1]; q++) {
      int32_t t = g->terms[q];
      if (xs && xk[t] == xs) continue; /* known */
      size_t kk = mk[t] == pstamp ? kk_of[t] : 0;
      if (g->toi[t]) {
        hfn[kk] += 1;
        if (kk) htp[kk - 1] += 1;
      }
      if (W && pos_ia[t] != (size_t)-1) {
        if (grow((void **)&sp, &sp_cap, nsp + 1, sizeof *sp) != FC_OK) goto oom;
        sp[nsp].pos = pos_ia[t];
        sp[nsp].v[0] = (double)kk; /* kk, is_gt and IA, turned into the 4 sums' values below */
        sp[nsp].v[1] = 1;
        sp[nsp].v[2] = g->ia[t];
        nsp++;
      }
    }
    for (size_t q = g->off[row]; q < g->off[row + 1]; q++)
      mk[g->terms[q]] = stamp; /* GT mark */
    for (size_t i = 0; i < pv.n; i++) {
      int32_t t = pv.terms[i];
      if (xs && xk[t] == xs) continue; /* known */
      int is_gt = mk[t] == stamp;
      size_t kk = kk_of[t];
      if (kk && g->toi[t]) {
        hp[kk - 1] += 1;
        if (!is_gt) hfp[kk - 1] += 1;
      }
      if (W && !is_gt && kk && pos_ia[t] != (size_t)-1) {
        if (grow((void **)&sp, &sp_cap, nsp + 1, sizeof *sp) != FC_OK) goto oom;
        sp[nsp].pos = pos_ia[t];
        sp[nsp].v[0] = (double)kk;
        sp[nsp].v[1] = 0;
        sp[nsp].v[2] = g->ia[t];
        nsp++;
      }
    }
    /* unweighted: exact integer counts per threshold */
    double P = 0, TP = 0, FP = 0, FN = 0;
    for (size_t i = 0; i < T; i++) {
      FN += hfn[i];
      rowv[i * 12 + 3] = FN;
    }
    for (size_t ii = T; ii-- > 0;) {
      P += hp[ii];
      TP += htp[ii];
      FP += hfp[ii];
      double *r = rowv + ii * 12;
      r[0] = P > 0;
      r[1] = TP;
      r[2] = FP;
      r[4] = P > 0 ? TP / P : 0.0;
      r[5] = ngt > 0 ? TP / ngt : 0.0;
    }
    if (W) {
      /* weighted: per threshold, sparse pairwise sums over the IA > 0 terms in index order */
      if (nsp) qsort(sp, nsp, sizeof *sp, cmp_sp);
      size_t *kks = malloc((nsp + 1) * sizeof *kks);
      unsigned char *isg = malloc(nsp + 1);
      if (!kks || !isg) {
        free(kks);
        free(isg);
        goto oom;
      }
      for (size_t q = 0; q < nsp; q++) {
        kks[q] = (size_t)sp[q].v[0];
        isg[q] = sp[q].v[1] != 0;
      }
      double tot[4];
      double *iaq = malloc((nsp + 1) * sizeof *iaq);
      if (!iaq) {
        free(kks);
        free(isg);
        goto oom;
      }
      for (size_t q = 0; q < nsp; q++)
        iaq[q] = sp[q].v[2];
      for (size_t q = 0; q < nsp; q++) {
        for (int c = 0; c < 4; c++)
          sp[q].v[c] = 0;
        sp[q].v[3] = isg[q] ? iaq[q] : 0;
      }
      pw_sparse(sp, 0, nsp, 0, M, tot); /* |G|_w */
      double ngt_w = tot[3];
      double cur[4] = {0, 0, 0, 0};
      for (size_t i = 0; i < T; i++) {
        int changed = i == 0;
        for (size_t q = 0; q < nsp && !changed; q++)
          if (kks[q] == i) changed = 1;
        if (changed) {
          for (size_t q = 0; q < nsp; q++) {
            int pred = kks[q] > i;
            sp[q].v[0] = pred ? iaq[q] : 0;
            sp[q].v[1] = pred && isg[q] ? iaq[q] : 0;
            sp[q].v[2] = pred && !isg[q] ? iaq[q] : 0;
            sp[q].v[3] = !pred && isg[q] ? iaq[q] : 0;
          }
          pw_sparse(sp, 0, nsp, 0, M, cur);
        }
        double *r = rowv + i * 12 + 6;
        r[0] = cur[0] > 0;
        r[1] = cur[1];
        r[2] = cur[2];
        r[3] = cur[3];
        r[4] = cur[0] > 0 ? cur[1] / cur[0] : 0.0;
        r[5] = ngt_w > 0 ? cur[1] / ngt_w : 0.0;
      }
      free(kks);
      free(isg);
      free(iaq);
    }
    pw_stream_push(&ps, rowv);
  }
  {
    double ne = (double)g->n_active;
    for (size_t i = 0; i < T; i++) {
      fc_eval_row r;
      memset(&r, 0, sizeof r);
      r.filename = label;
      r.ns = k;
      r.tau = ev->tau[i];
      double raw[12];
      for (int c = 0; c < 12; c++)
        raw[c] = pw_stream_sum(&ps, i * 12 + c);
      normalise(raw, ne, ev->opts.norm, r.m);
      if (ev->has_ia) normalise(raw + 6, ne, ev->opts.norm, r.w);
      if (!(r.m[FC_EV_COV] > 0)) continue;
      if (push_row(ev, &r) != FC_OK) goto oom;
    }
  }
  goto done;
oom:
  rc = fc_error_set(err, FC_ENOMEM, "evaluate: out of memory");
done:
  free(rowv);
  free(hist);
  free(val);
  free(mk);
  free(dterms);
  free(dvals);
  free(kk_of);
  free(pos_ia);
  free(sp);
  free(xk);
  pw_stream_free(&ps);
  fc_term_vec_free(&pv);
  return rc;
}

static const char *keep_label(fc_eval *ev, const char *label) {
  for (size_t i = 0; i < ev->n_labels; i++)
    if (strcmp(ev->labels[i], label) == 0) return ev->labels[i];
  char **nl = realloc(ev->labels, (ev->n_labels + 1) * sizeof *nl);
  if (!nl) return NULL;
  ev->labels = nl;
  if (!(nl[ev->n_labels] = fc_strdup(label))) return NULL;
  return nl[ev->n_labels++];
}

static void add_stats(fc_eval_input_stats *a, const fc_eval_input_stats *b) {
  size_t *x = (size_t *)a;
  const size_t *y = (const size_t *)b;
  for (size_t i = 0; i < sizeof *a / sizeof(size_t); i++)
    x[i] += y[i];
}

fc_status fc_eval_add_file(fc_eval *ev, const char *path, const char *label, fc_eval_input_stats *st_out,
                           fc_error *err) {
  fc_eval_input_stats st;
  memset(&st, 0, sizeof st);
  const char *lab = keep_label(ev, label);
  if (!lab) return fc_error_set(err, FC_ENOMEM, "evaluate: out of memory");
  fc_lines *lr;
  fc_status rc = fc_lines_open(path, &lr, err);
  if (rc != FC_OK) return rc;
  entry *es = NULL;
  size_t n = 0, cap = 0;
  char *line;
  size_t len;
  int r;
  while ((r = fc_lines_next(lr, &line, &len, err)) == 1) {
    char *save = NULL;
    char *f1 = strtok_r(line, " \t", &save);
    if (!f1) continue;
    st.lines++;
    char *f2 = strtok_r(NULL, " \t", &save);
    char *f3 = f2 ? strtok_r(NULL, " \t", &save) : NULL;
    if (!f3) {
      st.short_lines++;
      continue;
    }
    int ns;
    int32_t t;
    fc_term_resolution res = fc_ontology_resolve(ev->o, f2, &ns, &t);
    if (res == FC_TERM_UNKNOWN) {
      st.unknown_term++;
      continue;
    }
    if (ns < 0) {
      st.obsolete_term++;
      continue;
    }
    if (ev->gt[ns].n_rows == 0) {
      st.ns_without_gt++;
      continue;
    }
    int32_t gp = target_id(ev, f1, strlen(f1), 0);
    int32_t row = gp >= 0 ? ev->row_of[ns][gp] : -1;
    if (row < 0) {
      st.other_target++;
      continue;
    }
    char *end;
    errno = 0;
    double v = strtod(f3, &end);
    if (end == f3 || *end || isnan(v)) {
      st.bad_score++;
      continue;
    }
    if (v < 0 || v > 1) st.out_of_range++;
    if (res != FC_TERM_PRIMARY) st.alt_mapped++;
    if (grow((void **)&es, &cap, n + 1, sizeof *es) != FC_OK) {
      fc_lines_close(lr);
      free(es);
      return fc_error_set(err, FC_ENOMEM, "evaluate: out of memory");
    }
    es[n].ns = ns;
    es[n].row = row;
    es[n].term = t;
    es[n].pad = 0;
    es[n].score = v;
    es[n].order = n;
    n++;
    st.used++;
  }
  fc_lines_close(lr);
  if (r < 0) {
    free(es);
    return err ? err->code : FC_EFORMAT;
  }
  if (n) qsort(es, n, sizeof *es, cmp_entry_pred);
  for (size_t a = 0; a < n;) {
    size_t b = a;
    while (b < n && es[b].ns == es[a].ns)
      b++;
    rc = eval_namespace(ev, es[a].ns, es + a, b - a, lab, &st, err);
    if (rc != FC_OK) break;
    a = b;
  }
  free(es);
  if (st.used == 0)
    fc_log(FC_LOG_WARN,
           "%s: no usable prediction line (%zu lines; %zu short, %zu unknown terms, %zu targets "
           "without ground truth): not evaluated",
           path, st.lines, st.short_lines, st.unknown_term, st.other_target);
  if (st_out) *st_out = st;
  return rc;
}

static int cmp_cstr(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static fc_status walk(fc_eval *ev, const char *dir, const char *prefix, fc_eval_input_stats *st,
                      fc_error *err) {
  DIR *d = opendir(dir);
  if (!d) {
    st->unreadable++;
    fc_log(FC_LOG_WARN, "%s: cannot open folder: %s", dir, strerror(errno));
    return FC_OK;
  }
  char **names = NULL;
  size_t n = 0, cap = 0;
  struct dirent *de;
  fc_status rc = FC_OK;
  while ((de = readdir(d))) {
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
    if (grow((void **)&names, &cap, n + 1, sizeof *names) != FC_OK || !(names[n] = fc_strdup(de->d_name))) {
      rc = fc_error_set(err, FC_ENOMEM, "evaluate: out of memory");
      break;
    }
    n++;
  }
  closedir(d);
  if (rc == FC_OK && n) qsort(names, n, sizeof *names, cmp_cstr);
  for (size_t i = 0; i < n && rc == FC_OK; i++) {
    char *p = fc_path_join(dir, names[i]);
    char *lab = prefix ? fc_sprintf("%s_%s", prefix, names[i]) : fc_strdup(names[i]);
    struct stat sb;
    if (!p || !lab)
      rc = fc_error_set(err, FC_ENOMEM, "evaluate: out of memory");
    else if (stat(p, &sb) != 0) {
      st->unreadable++;
      fc_log(FC_LOG_WARN, "%s: %s", p, strerror(errno));
    } else if (S_ISDIR(sb.st_mode)) {
      rc = walk(ev, p, lab, st, err);
    } else {
      fc_eval_input_stats fs;
      fc_error e2 = {0};
      fc_status s2 = fc_eval_add_file(ev, p, lab, &fs, &e2);
      if (s2 == FC_OK)
        add_stats(st, &fs);
      else if (s2 == FC_ENOMEM)
        rc = fc_error_set(err, s2, "%s", e2.msg);
      else {
        st->unreadable++;
        fc_log(FC_LOG_WARN, "%s: not evaluated: %s", p, e2.msg);
      }
    }
    free(p);
    free(lab);
  }
  for (size_t i = 0; i < n; i++)
    free(names[i]);
  free(names);
  return rc;
}

fc_status fc_eval_add_path(fc_eval *ev, const char *path, fc_eval_input_stats *st, fc_error *err) {
  fc_eval_input_stats local;
  memset(&local, 0, sizeof local);
  struct stat sb;
  if (stat(path, &sb) != 0) return fc_error_set(err, FC_EIO, "%s: %s", path, strerror(errno));
  fc_status rc;
  if (S_ISDIR(sb.st_mode)) {
    rc = walk(ev, path, NULL, &local, err);
  } else {
    const char *base = strrchr(path, '/');
    rc = fc_eval_add_file(ev, path, base ? base + 1 : path, &local, err);
  }
  if (st) *st = local;
  return rc;
}

const fc_eval_row *fc_eval_rows(const fc_eval *ev, size_t *n) {
  *n = ev->n_rows;
  return ev->rows;
}

static int cmp_group_ev(const fc_eval *ev, const fc_eval_row *a, const fc_eval_row *b) {
  int c = strcmp(a->filename, b->filename);
  if (c) return c;
  c = strcmp(fc_ontology_namespace(ev->o, a->ns), fc_ontology_namespace(ev->o, b->ns));
  if (c) return c;
  return a->tau < b->tau ? -1 : a->tau > b->tau;
}

fc_status fc_eval_best(const fc_eval *ev, const char *metric, const fc_eval_row ***rows_out, double **cov_out,
                       size_t *n_out, fc_error *err) {
  *rows_out = NULL;
  *cov_out = NULL;
  *n_out = 0;
  int col, weighted = 0, maximise = 1;
  if (!strcmp(metric, "f"))
    col = FC_EV_F;
  else if (!strcmp(metric, "f_w"))
    col = FC_EV_F, weighted = 1;
  else if (!strcmp(metric, "f_micro"))
    col = FC_EV_F_MICRO;
  else if (!strcmp(metric, "f_micro_w"))
    col = FC_EV_F_MICRO, weighted = 1;
  else if (!strcmp(metric, "s"))
    col = FC_EV_S, maximise = 0;
  else if (!strcmp(metric, "s_w"))
    col = FC_EV_S, maximise = 0, weighted = 1;
  else
    return fc_error_set(err, FC_EINVAL, "evaluate: unknown metric '%s'", metric);
  if (weighted && !ev->has_ia)
    return fc_error_set(err, FC_EINVAL, "evaluate: metric '%s' needs an IA file", metric);
  size_t n = ev->n_rows;
  const fc_eval_row **sorted = malloc((n + 1) * sizeof *sorted);
  const fc_eval_row **best = malloc((n + 1) * sizeof *best);
  double *cov = malloc((n + 1) * sizeof *cov);
  if (!sorted || !best || !cov) {
    free(sorted);
    free(best);
    free(cov);
    return fc_error_set(err, FC_ENOMEM, "evaluate: out of memory");
  }
  for (size_t i = 0; i < n; i++)
    sorted[i] = &ev->rows[i];
  /* insertion-free stable sort: merge sort by (filename, namespace name, tau) */
  for (size_t width = 1; width < n; width *= 2) {
    for (size_t lo = 0; lo < n; lo += 2 * width) {
      size_t mid = lo + width < n ? lo + width : n, hi = lo + 2 * width < n ? lo + 2 * width : n;
      size_t i = lo, j = mid, k = lo;
      while (i < mid && j < hi)
        best[k++] = cmp_group_ev(ev, sorted[j], sorted[i]) < 0 ? sorted[j++] : sorted[i++];
      while (i < mid)
        best[k++] = sorted[i++];
      while (j < hi)
        best[k++] = sorted[j++];
    }
    memcpy(sorted, best, n * sizeof *sorted);
  }
  size_t nb = 0;
  for (size_t a = 0; a < n;) {
    size_t b = a;
    while (b < n && !strcmp(sorted[b]->filename, sorted[a]->filename) && sorted[b]->ns == sorted[a]->ns)
      b++;
    const fc_eval_row *bst = sorted[a];
    double cmax = 0;
    for (size_t i = a; i < b; i++) {
      const double *m = weighted ? sorted[i]->w : sorted[i]->m;
      const double *bm = weighted ? bst->w : bst->m;
      if (maximise ? m[col] > bm[col] : m[col] < bm[col]) bst = sorted[i];
      if (m[FC_EV_COV] > cmax) cmax = m[FC_EV_COV];
    }
    best[nb] = bst;
    cov[nb++] = cmax;
    a = b;
  }
  free(sorted);
  *rows_out = best;
  *cov_out = cov;
  *n_out = nb;
  return FC_OK;
}

static void write_row(FILE *f, const fc_eval *ev, const fc_eval_row *r, int dec) {
  fprintf(f, "%s\t%s\t%.*f", r->filename, fc_ontology_namespace(ev->o, r->ns), dec, r->tau);
  for (int c = 0; c < FC_EV_NCOLS; c++)
    fprintf(f, "\t%.*f", dec, r->m[c]);
  if (ev->has_ia)
    for (int c = 0; c < FC_EV_NCOLS; c++)
      fprintf(f, "\t%.*f", dec, r->w[c]);
}

static void write_header(FILE *f, const fc_eval *ev, int best) {
  fputs("filename\tns\ttau", f);
  for (int c = 0; c < FC_EV_NCOLS; c++)
    fprintf(f, "\t%s", fc_eval_column_names[c]);
  if (ev->has_ia)
    for (int c = 0; c < FC_EV_NCOLS; c++)
      fprintf(f, "\t%s_w", fc_eval_column_names[c]);
  if (best) fputs("\tcov_max", f);
  fputc('\n', f);
}

fc_status fc_eval_write(const fc_eval *ev, const char *out_dir, fc_error *err) {
  fc_status rc = fc_mkdir_p(out_dir, err);
  if (rc != FC_OK) return rc;
  int dec = ev->decimals;
  char *p = fc_path_join(out_dir, "evaluation_all.tsv");
  if (!p) return fc_error_set(err, FC_ENOMEM, "evaluate: out of memory");
  fc_atomic_file f;
  rc = fc_atomic_open(&f, p, err);
  free(p);
  if (rc != FC_OK) return rc;
  write_header(f.fp, ev, 0);
  for (size_t i = 0; i < ev->n_rows; i++) {
    write_row(f.fp, ev, &ev->rows[i], dec);
    fputc('\n', f.fp);
  }
  if ((rc = fc_atomic_commit(&f, err)) != FC_OK) return rc;
  static const char *const metrics[] = {"f", "f_w", "s", "f_micro", "f_micro_w"};
  for (size_t m = 0; m < sizeof metrics / sizeof *metrics; m++) {
    if (strstr(metrics[m], "_w") && !ev->has_ia) continue;
    const fc_eval_row **rows;
    double *cov;
    size_t n;
    if ((rc = fc_eval_best(ev, metrics[m], &rows, &cov, &n, err)) != FC_OK) return rc;
    char *name = fc_sprintf("evaluation_best_%s.tsv", metrics[m]);
    p = name ? fc_path_join(out_dir, name) : NULL;
    free(name);
    if (!p) {
      free(rows);
      free(cov);
      return fc_error_set(err, FC_ENOMEM, "evaluate: out of memory");
    }
    rc = fc_atomic_open(&f, p, err);
    free(p);
    if (rc == FC_OK) {
      write_header(f.fp, ev, 1);
      for (size_t i = 0; i < n; i++) {
        write_row(f.fp, ev, rows[i], dec);
        fprintf(f.fp, "\t%.*f\n", dec, cov[i]);
      }
      rc = fc_atomic_commit(&f, err);
    }
    free(rows);
    free(cov);
    if (rc != FC_OK) return rc;
  }
  return FC_OK;
}
