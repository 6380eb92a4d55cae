/* Raw results: one TSV per run (write + read back) and FANTASIA's per-accession CSV tree. */
#include "summarize_internal.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

enum {
  C_ACCESSION,
  C_MODEL,
  C_ETYPE,
  C_LAYER,
  C_DISTANCE,
  C_GO,
  C_CATEGORY,
  C_EVIDENCE,
  C_GODESC,
  C_PROTEIN,
  C_ORGANISM,
  C_GENE,
  C_QIDX,
  C_RIDX,
  C_QLEN,
  C_RLEN,
  C_SEQQ,
  C_SEQR,
  C_RI,
  C_ID,
  C_SIM,
  C_SCORE,
  C_GAPS,
  C_ALEN,
  C_LENQ,
  C_LENR,
  C_ID_SW,
  C_SIM_SW,
  C_SCORE_SW,
  C_GAPS_SW,
  C_ALEN_SW,
  C_METRIC,
  C_THRESHOLD,
  C_NCOLS
};

static const char *const COLS[C_NCOLS] = {"accession",
                                          "model_name",
                                          "embedding_type_id",
                                          "layer_index",
                                          "distance",
                                          "go_id",
                                          "category",
                                          "evidence_code",
                                          "go_description",
                                          "protein_id",
                                          "organism",
                                          "gene_name",
                                          "query_idx",
                                          "ref_idx",
                                          "query_len",
                                          "ref_len",
                                          "sequence_query",
                                          "sequence_reference",
                                          "reliability_index",
                                          "identity",
                                          "similarity",
                                          "alignment_score",
                                          "gaps_percentage",
                                          "alignment_length",
                                          "length_query",
                                          "length_reference",
                                          "identity_sw",
                                          "similarity_sw",
                                          "alignment_score_sw",
                                          "gaps_percentage_sw",
                                          "alignment_length_sw",
                                          "distance_metric",
                                          "distance_threshold"};

void fc_raw_write_opts_default(fc_raw_write_opts *o) {
  o->keep_sequences = 1;
  o->precision = 4;
}

void fc__put_csv_field(FILE *fp, const char *s, char sep) {
  if (!strpbrk(s, "\"\r\n") && !strchr(s, sep)) {
    fputs(s, fp);
    return;
  }
  fputc('"', fp);
  for (const char *p = s; *p; p++) {
    if (*p == '"') fputc('"', fp);
    fputc(*p, fp);
  }
  fputc('"', fp);
}

void fc__put_tsv_field(FILE *fp, const char *s) {
  if (!strpbrk(s, "\\\t\r\n")) {
    fputs(s, fp);
    return;
  }
  for (const char *p = s; *p; p++) {
    switch (*p) {
    case '\\':
      fputs("\\\\", fp);
      break;
    case '\t':
      fputs("\\t", fp);
      break;
    case '\n':
      fputs("\\n", fp);
      break;
    case '\r':
      fputs("\\r", fp);
      break;
    default:
      fputc(*p, fp);
    }
  }
}

typedef struct {
  FILE *fp;
  char sep; /* '\t' (TSV, escaped) or ',' (CSV, quoted) */
  int prec;
  int keep_seq;
  int first;
} row_writer;

static void w_sep(row_writer *w) {
  if (!w->first) fputc(w->sep, w->fp);
  w->first = 0;
}
static void w_str(row_writer *w, const char *s) {
  w_sep(w);
  if (w->sep == '\t')
    fc__put_tsv_field(w->fp, s);
  else
    fc__put_csv_field(w->fp, s, w->sep);
}
static void w_int(row_writer *w, long long v) {
  w_sep(w);
  char b[24], *o = b + sizeof b;
  unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
  do {
    *--o = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  if (v < 0) *--o = '-';
  fwrite(o, 1, (size_t)(b + sizeof b - o), w->fp);
}
static void w_f(row_writer *w, double v) {
  w_sep(w);
  if (isnan(v)) return; /* missing */
  char b[48];
  int n = fc__fixed_fast(v, w->prec, b);
  if (n >= 0)
    fwrite(b, 1, (size_t)n, w->fp);
  else
    fprintf(w->fp, "%.*f", w->prec, v);
}
static void w_opt_f(row_writer *w, int present, double v) {
  if (present)
    w_f(w, v);
  else
    w_sep(w);
}

static void write_header(row_writer *w) {
  w->first = 1;
  for (int c = 0; c < C_NCOLS; c++) {
    if (!w->keep_seq && (c == C_SEQQ || c == C_SEQR)) continue;
    w_str(w, COLS[c]);
  }
  fputc('\n', w->fp);
}

static void write_row(row_writer *w, const fc_raw_table *t, const fc_raw_row *r) {
#define S(id) fc_raw_table_str(t, (id))
  w->first = 1;
  int a = r->has_alignment != 0;
  w_str(w, S(r->accession));
  w_str(w, S(r->model_name));
  w_int(w, r->embedding_type_id);
  if (r->layer_index < 0)
    w_sep(w);
  else
    w_int(w, r->layer_index);
  w_f(w, r->distance);
  w_str(w, S(r->go_id));
  w_str(w, S(r->category));
  w_str(w, S(r->evidence_code));
  w_str(w, S(r->go_description));
  w_str(w, S(r->protein_id));
  w_str(w, S(r->organism));
  w_str(w, S(r->gene_name));
  w_int(w, r->query_idx);
  w_int(w, r->ref_idx);
  w_int(w, r->query_len);
  w_int(w, r->ref_len);
  if (w->keep_seq) {
    w_str(w, S(r->sequence_query));
    w_str(w, S(r->sequence_reference));
  }
  w_f(w, r->reliability_index);
  w_opt_f(w, a, r->identity);
  w_opt_f(w, a, r->similarity);
  w_opt_f(w, a, r->alignment_score);
  w_opt_f(w, a, r->gaps_percentage);
  w_opt_f(w, a, r->alignment_length);
  w_int(w, r->query_len);
  w_int(w, r->ref_len);
  w_opt_f(w, a, r->identity_sw);
  w_opt_f(w, a, r->similarity_sw);
  w_opt_f(w, a, r->alignment_score_sw);
  w_opt_f(w, a, r->gaps_percentage_sw);
  w_opt_f(w, a, r->alignment_length_sw);
  w_str(w, S(r->distance_metric));
  w_str(w, S(r->distance_threshold));
  fputc('\n', w->fp);
#undef S
}

static void writer_init(row_writer *w, FILE *fp, char sep, const fc_raw_write_opts *opts) {
  fc_raw_write_opts d;
  fc_raw_write_opts_default(&d);
  if (!opts) opts = &d;
  w->fp = fp;
  w->sep = sep;
  w->prec = opts->precision < 0 ? 4 : (opts->precision > 17 ? 17 : opts->precision);
  w->keep_seq = opts->keep_sequences != 0;
  w->first = 1;
}

fc_status fc_raw_write_tsv(const fc_raw_table *t, const char *path, const fc_raw_write_opts *opts,
                           fc_error *err) {
  fc_atomic_file f;
  fc_status st = fc_atomic_open(&f, path, err);
  if (st) return st;
  setvbuf(f.fp, NULL, _IOFBF, 1 << 20);
  row_writer w;
  writer_init(&w, f.fp, '\t', opts);
  write_header(&w);
  for (size_t i = 0; i < t->nrows; i++)
    write_row(&w, t, &t->rows[i]);
  return fc_atomic_commit(&f, err);
}

char *fc_sanitize_name(const char *s) {
  if (!s) s = "";
  while (*s && isspace((unsigned char)*s))
    s++;
  size_t n = strlen(s);
  while (n && isspace((unsigned char)s[n - 1]))
    n--;
  char *out = malloc(n + 6);
  if (!out) return NULL;
  size_t o = 0;
  for (size_t i = 0; i < n;) {
    unsigned char c = (unsigned char)s[i];
    if (isspace(c)) {
      while (i < n && isspace((unsigned char)s[i]))
        i++;
      out[o++] = '_';
      continue;
    }
    c = (unsigned char)tolower(c);
    out[o++] = (isalnum(c) && c < 128) || c == '.' || c == '_' || c == '-' ? (char)c : '_';
    i++;
  }
  out[o] = '\0';
  if (o == 0) strcpy(out, "model");
  return out;
}

/* ---- CSV tree ---- */

typedef struct {
  uint32_t id; /* string id */
  uint32_t rank;
  char *name; /* sanitised, with collision suffix */
} name_slot;

static int cmp_slot_rank(const void *a, const void *b) {
  uint32_t x = ((const name_slot *)a)->rank, y = ((const name_slot *)b)->rank;
  return x < y ? -1 : x > y;
}
static int cmp_slot_name_rank(const void *a, const void *b) {
  const name_slot *x = a, *y = b;
  int c = strcmp(x->name, y->name);
  if (c) return c;
  return x->rank < y->rank ? -1 : x->rank > y->rank;
}

/* Gives each distinct string id in ids[0..n) a file name: sanitize(s), and "~2", "~3"... for the 2nd,
 * 3rd... original string (in byte order) sharing that sanitised name. out_names[k] for slot k, which are
 * sorted by rank. Returns number of slots or -1 on out of memory. */
static long make_names(const fc_raw_table *t, const uint32_t *rank, const uint32_t *ids, size_t n,
                       name_slot **out) {
  name_slot *s = malloc((n ? n : 1) * sizeof *s);
  if (!s) return -1;
  size_t m = 0;
  for (size_t i = 0; i < n; i++)
    s[m++] = (name_slot){ids[i], rank[ids[i]], NULL};
  qsort(s, m, sizeof *s, cmp_slot_rank);
  size_t u = 0;
  for (size_t i = 0; i < m; i++)
    if (u == 0 || s[u - 1].id != s[i].id) s[u++] = s[i];
  m = u;
  for (size_t i = 0; i < m; i++) {
    s[i].name = fc_sanitize_name(fc_raw_table_str(t, s[i].id));
    if (!s[i].name) {
      for (size_t j = 0; j < i; j++)
        free(s[j].name);
      free(s);
      return -1;
    }
  }
  qsort(s, m, sizeof *s, cmp_slot_name_rank);
  for (size_t i = 0; i < m;) {
    size_t j = i + 1;
    while (j < m && strcmp(s[i].name, s[j].name) == 0)
      j++;
    for (size_t q = i + 1; q < j; q++) {
      char *nn = fc_sprintf("%s~%zu", s[q].name, q - i + 1);
      if (!nn) {
        for (size_t z = 0; z < m; z++)
          free(s[z].name);
        free(s);
        return -1;
      }
      free(s[q].name);
      s[q].name = nn;
    }
    i = j;
  }
  qsort(s, m, sizeof *s, cmp_slot_rank);
  *out = s;
  return (long)m;
}

static const char *slot_name(const name_slot *s, long m, uint32_t rank) {
  long lo = 0, hi = m - 1;
  while (lo <= hi) {
    long mid = (lo + hi) / 2;
    if (s[mid].rank == rank) return s[mid].name;
    if (s[mid].rank < rank)
      lo = mid + 1;
    else
      hi = mid - 1;
  }
  return NULL;
}

typedef struct {
  const fc_raw_row *rows;
  const uint32_t *rank;
} tree_ctx;

static int cmp_tree(const void *a, const void *b, void *arg) {
  const tree_ctx *c = arg;
  uint32_t i = *(const uint32_t *)a, j = *(const uint32_t *)b;
  const fc_raw_row *x = &c->rows[i], *y = &c->rows[j];
  uint32_t mx = c->rank[x->model_name], my = c->rank[y->model_name];
  if (mx != my) return mx < my ? -1 : 1;
  if (x->layer_index != y->layer_index) return x->layer_index < y->layer_index ? -1 : 1;
  uint32_t ax = c->rank[x->accession], ay = c->rank[y->accession];
  if (ax != ay) return ax < ay ? -1 : 1;
  return i < j ? -1 : i > j; /* stable: table order within a file */
}

static void free_slots(name_slot *s, long m) {
  if (!s) return;
  for (long i = 0; i < m; i++)
    free(s[i].name);
  free(s);
}

fc_status fc_raw_write_csv_tree(const fc_raw_table *t, const char *experiment_dir,
                                const fc_raw_write_opts *opts, fc_error *err) {
  fc_status st = FC_OK;
  size_t n = t->nrows;
  uint32_t *rank =
      fc__string_ranks(t, FC_RANK_FIELDS(offsetof(fc_raw_row, model_name), offsetof(fc_raw_row, accession)));
  uint32_t *idx = malloc((n ? n : 1) * sizeof *idx);
  uint32_t *ids = calloc(n ? n : 1, sizeof *ids);
  name_slot *models = NULL, *accs = NULL;
  long nm = 0, na = 0;
  char *root = fc_path_join(experiment_dir, "raw_results");
  if (!rank || !idx || !ids || !root) {
    st = fc_error_set(err, FC_ENOMEM, "raw CSV tree: out of memory");
    goto done;
  }
  if (n > UINT32_MAX) {
    st = fc_error_set(err, FC_EUNSUPPORTED, "raw CSV tree: more than 2^32 rows");
    goto done;
  }
  for (size_t i = 0; i < n; i++)
    ids[i] = t->rows[i].model_name;
  nm = make_names(t, rank, ids, n, &models);
  if (nm < 0) {
    nm = 0;
    st = fc_error_set(err, FC_ENOMEM, "raw CSV tree: out of memory");
    goto done;
  }
  for (size_t i = 0; i < n; i++)
    idx[i] = (uint32_t)i;
  tree_ctx ctx = {t->rows, rank};
  qsort_r(idx, n, sizeof *idx, cmp_tree, &ctx);

  fc_progress *pg = fc_progress_start("raw CSV files", n);
  size_t i = 0;
  while (i < n && st == FC_OK) {
    /* one (model, layer) directory: rows i..e */
    const fc_raw_row *r0 = &t->rows[idx[i]];
    size_t e = i;
    while (e < n && t->rows[idx[e]].model_name == r0->model_name &&
           t->rows[idx[e]].layer_index == r0->layer_index)
      e++;
    size_t nids = 0;
    for (size_t j = i; j < e; j++)
      ids[nids++] = t->rows[idx[j]].accession;
    free_slots(accs, na);
    accs = NULL;
    na = make_names(t, rank, ids, nids, &accs);
    if (na < 0) {
      na = 0;
      st = fc_error_set(err, FC_ENOMEM, "raw CSV tree: out of memory");
      break;
    }
    char *dir = r0->layer_index < 0
                    ? fc_sprintf("%s/%s/legacy", root, slot_name(models, nm, rank[r0->model_name]))
                    : fc_sprintf("%s/%s/layer_%d", root, slot_name(models, nm, rank[r0->model_name]),
                                 r0->layer_index);
    if (!dir) {
      st = fc_error_set(err, FC_ENOMEM, "raw CSV tree: out of memory");
      break;
    }
    st = fc_mkdir_p(dir, err);
    for (size_t j = i; j < e && st == FC_OK;) {
      uint32_t acc = t->rows[idx[j]].accession;
      size_t k = j;
      while (k < e && t->rows[idx[k]].accession == acc)
        k++;
      char *path = fc_sprintf("%s/%s.csv", dir, slot_name(accs, na, rank[acc]));
      fc_atomic_file f;
      if (!path) {
        st = fc_error_set(err, FC_ENOMEM, "raw CSV tree: out of memory");
      } else if ((st = fc_atomic_open(&f, path, err)) == FC_OK) {
        row_writer w;
        writer_init(&w, f.fp, ',', opts);
        write_header(&w);
        for (size_t q = j; q < k; q++)
          write_row(&w, t, &t->rows[idx[q]]);
        st = fc_atomic_commit(&f, err);
      }
      free(path);
      fc_progress_add(pg, k - j);
      j = k;
    }
    free(dir);
    i = e;
  }
  fc_progress_finish(pg);
done:
  free_slots(models, nm);
  free_slots(accs, na);
  free(root);
  free(rank);
  free(idx);
  free(ids);
  return st;
}

/* ---- reading our TSV back ---- */

static int unescape_tsv(char *s) {
  char *o = s;
  for (char *p = s; *p; p++) {
    if (*p != '\\') {
      *o++ = *p;
      continue;
    }
    p++;
    switch (*p) {
    case '\\':
      *o++ = '\\';
      break;
    case 't':
      *o++ = '\t';
      break;
    case 'n':
      *o++ = '\n';
      break;
    case 'r':
      *o++ = '\r';
      break;
    default:
      return -1;
    }
  }
  *o = '\0';
  return 0;
}

static const double P10F[] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                              1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};

/* Clinger's fast path: at most 15 significant digits and 15 decimals -> mantissa / 10^d is one correctly
 * rounded division, the same double strtod gives. Anything else goes to strtod. */
static int parse_f(const char *s, double *v) {
  if (!*s) return -1;
  const char *p = s;
  int neg = 0;
  if (*p == '-' || *p == '+') neg = *p++ == '-';
  uint64_t m = 0;
  int nd = 0, frac = 0, dot = 0, ok = 1;
  for (; *p; p++) {
    if (*p >= '0' && *p <= '9') {
      m = m * 10 + (uint64_t)(*p - '0');
      if (++nd > 15) {
        ok = 0;
        break;
      }
      frac += dot;
    } else if (*p == '.' && !dot) {
      dot = 1;
    } else {
      ok = 0;
      break;
    }
  }
  if (ok && nd > 0) {
    double x = (double)m / P10F[frac];
    *v = neg ? -x : x;
    return 0;
  }
  char *end;
  errno = 0;
  *v = strtod(s, &end);
  return (*end || errno == ERANGE) ? -1 : 0;
}

static int parse_i(const char *s, long long lo, long long hi, long long *v) {
  if (!*s) return -1;
  char *end;
  errno = 0;
  *v = strtoll(s, &end, 10);
  return (*end || errno || *v < lo || *v > hi) ? -1 : 0;
}

fc_status fc_raw_read_tsv(const char *path, fc_raw_table *t, fc_error *err) {
  size_t plen = strlen(path);
  int gz = plen > 3 && strcmp(path + plen - 3, ".gz") == 0;
  char *data = NULL;
  size_t len = 0;
  fc_status st = fc_read_file(path, gz, &data, &len, err);
  if (st) return st;
  if (memchr(data, '\0', len)) {
    free(data);
    return fc_error_set(err, FC_EFORMAT, "%s: binary data (NUL byte) in a raw-results TSV", path);
  }
  char *p = data, *end = data + len;
  size_t line = 0;
  int ncol = 0, keep_seq = 0;
  char *f[C_NCOLS + 1];
  while (p < end && st == FC_OK) {
    line++;
    char *nl = memchr(p, '\n', (size_t)(end - p));
    char *le = nl ? nl : end;
    if (le > p && le[-1] == '\r') le[-1] = '\0';
    *le = '\0';
    char *next = nl ? nl + 1 : end;
    if (line > 1 && !*p && next >= end) break; /* trailing empty line */
    int nf = 0;
    for (char *q = p;;) {
      if (nf <= C_NCOLS) f[nf] = q;
      nf++;
      char *tab = strchr(q, '\t');
      if (!tab) break;
      *tab = '\0';
      q = tab + 1;
    }
    if (line == 1) {
      if (nf != C_NCOLS && nf != C_NCOLS - 2) {
        st = fc_error_set(err, FC_EFORMAT, "%s: line 1: header has %d columns, expected %d or %d", path, nf,
                          C_NCOLS, C_NCOLS - 2);
        break;
      }
      keep_seq = nf == C_NCOLS;
      ncol = nf;
      for (int c = 0, k = 0; c < C_NCOLS; c++) {
        if (!keep_seq && (c == C_SEQQ || c == C_SEQR)) continue;
        if (strcmp(f[k], COLS[c]) != 0) {
          st = fc_error_set(err, FC_EFORMAT, "%s: line 1: header column %d is '%.64s', expected '%s'", path,
                            k + 1, f[k], COLS[c]);
          break;
        }
        k++;
      }
      p = next;
      continue;
    }
    if (nf != ncol) {
      st = fc_error_set(err, FC_EFORMAT, "%s: line %zu: %d fields, expected %d", path, line, nf, ncol);
      break;
    }
    /* map to canonical column positions */
    char *v[C_NCOLS];
    for (int c = 0, k = 0; c < C_NCOLS; c++) {
      if (!keep_seq && (c == C_SEQQ || c == C_SEQR))
        v[c] = (char *)"";
      else
        v[c] = f[k++];
    }
    fc_raw_row r;
    memset(&r, 0, sizeof r);
    int bad = -1;
    long long iv = 0;
    static const int strcols[] = {C_ACCESSION, C_MODEL, C_GO,   C_CATEGORY, C_EVIDENCE, C_GODESC,   C_PROTEIN,
                                  C_ORGANISM,  C_GENE,  C_SEQQ, C_SEQR,     C_METRIC,   C_THRESHOLD};
    uint32_t *strdst[] = {&r.accession,         &r.model_name,         &r.go_id,
                          &r.category,          &r.evidence_code,      &r.go_description,
                          &r.protein_id,        &r.organism,           &r.gene_name,
                          &r.sequence_query,    &r.sequence_reference, &r.distance_metric,
                          &r.distance_threshold};
    for (size_t s = 0; s < sizeof strcols / sizeof strcols[0] && bad < 0; s++) {
      if (*v[strcols[s]] && unescape_tsv(v[strcols[s]]) != 0) {
        bad = strcols[s];
        break;
      }
      uint32_t id = fc_raw_table_intern(t, v[strcols[s]]);
      if (id == UINT32_MAX) {
        st = fc_error_set(err, FC_ENOMEM, "%s: line %zu: out of memory", path, line);
        break;
      }
      *strdst[s] = id;
    }
    if (st) break;
    if (bad < 0 && parse_i(v[C_ETYPE], INT64_MIN, INT64_MAX, &iv)) bad = C_ETYPE;
    r.embedding_type_id = iv;
    if (bad < 0) {
      if (!*v[C_LAYER])
        r.layer_index = FC_LAYER_LEGACY;
      else if (parse_i(v[C_LAYER], 0, INT32_MAX, &iv))
        bad = C_LAYER;
      else
        r.layer_index = (int32_t)iv;
    }
    if (bad < 0 && parse_f(v[C_DISTANCE], &r.distance)) bad = C_DISTANCE;
    if (bad < 0 && parse_f(v[C_RI], &r.reliability_index)) bad = C_RI;
    static const int intcols[] = {C_QIDX, C_RIDX, C_QLEN, C_RLEN, C_LENQ, C_LENR};
    int32_t iout[6];
    for (int k = 0; k < 6 && bad < 0; k++) {
      if (parse_i(v[intcols[k]], INT32_MIN, INT32_MAX, &iv))
        bad = intcols[k];
      else
        iout[k] = (int32_t)iv;
    }
    if (bad < 0) {
      r.query_idx = iout[0];
      r.ref_idx = iout[1];
      r.query_len = iout[2];
      r.ref_len = iout[3];
    }
    static const int fcols[] = {C_ID,    C_SIM,    C_SCORE,    C_GAPS,    C_ALEN,
                                C_ID_SW, C_SIM_SW, C_SCORE_SW, C_GAPS_SW, C_ALEN_SW};
    double *fdst[] = {&r.identity,           &r.similarity,         &r.alignment_score, &r.gaps_percentage,
                      &r.alignment_length,   &r.identity_sw,        &r.similarity_sw,   &r.alignment_score_sw,
                      &r.gaps_percentage_sw, &r.alignment_length_sw};
    if (bad < 0) {
      int nempty = 0;
      for (int k = 0; k < 10; k++)
        nempty += !*v[fcols[k]];
      if (nempty == 10) {
        r.has_alignment = 0;
      } else {
        r.has_alignment = 1;
        for (int k = 0; k < 10 && bad < 0; k++)
          if (parse_f(v[fcols[k]], fdst[k])) bad = fcols[k];
      }
    }
    if (bad >= 0) {
      st = fc_error_set(err, FC_EFORMAT, "%s: line %zu: column %s: bad value '%.64s'", path, line, COLS[bad],
                        v[bad]);
      break;
    }
    st = fc_raw_table_append(t, &r, err);
    p = next;
  }
  if (st == FC_OK && line == 0) st = fc_error_set(err, FC_EFORMAT, "%s: empty file (no header)", path);
  free(data);
  return st;
}
