/* GO annotation files: GAF 2.x and simple TSV layouts (rules in include/fantasia/go.h). */
#include "fantasia/go.h"

#include "seqio/textio.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const fc_experimental_evidence_codes[] = {"EXP", "IDA", "IPI", "IMP", "IGI",
                                                      "IEP", "TAS", "IC",  NULL};

#define MAX_WARN 10
#define MAX_COLS 18
/* printf arguments for "%.*s" showing at most 60 bytes of a column */
#define SHOW(p, n) (int)((n) > 60 ? 60 : (n)), (p)

typedef struct {
  fc_arena arena;
  fc_txmap map;
} str_pool;

static const char *intern(str_pool *p, const char *s, size_t n) {
  uint64_t h = fc_tx_hash(s, n);
  /* look up first: most strings repeat */
  if (p->map.cap) {
    size_t mask = p->map.cap - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
      const fc_txmap_slot *sl = &p->map.slots[i];
      if (!sl->key) break;
      if (sl->hash == h && sl->klen == n && memcmp(sl->key, s, n) == 0) return sl->key;
    }
  }
  char *d = fc_arena_strndup(&p->arena, s, n);
  if (!d) return NULL;
  if (fc_txmap_put_h(&p->map, d, n, h, 0) == -2) return NULL;
  return d;
}

static int id_like(const char *s, size_t n) {
  if (n == 0 || n > 15) return 0;
  if (!((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z'))) return 0;
  const char *c = memchr(s, ':', n);
  if (!c || c == s + n - 1) return 0;
  for (size_t i = 0; i < n; i++) {
    char x = s[i];
    if (s + i == c) continue;
    if (!((x >= 'A' && x <= 'Z') || (x >= 'a' && x <= 'z') || (x >= '0' && x <= '9') || x == '_')) return 0;
  }
  return 1;
}

typedef struct {
  const char *path;
  const fc_annot_opts *opts;
  fc_annot_set *out;
  str_pool *pool;
  fc_error *err;
  size_t cap;
  fc_annot_format fmt;
  int saw_bang;
  int header_done;
} annot_state;

static fc_status bad_line(annot_state *st, size_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static fc_status bad_line(annot_state *st, size_t line, const char *fmt, ...) {
  char why[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof why, fmt, ap);
  va_end(ap);
  if (st->opts->strict) return fc_error_set(st->err, FC_EFORMAT, "%s:%zu: %s", st->path, line, why);
  st->out->n_bad++;
  if (st->out->n_bad <= MAX_WARN) fc_log_warn("%s:%zu: %s; line skipped", st->path, line, why);
  return FC_OK;
}

static fc_status push(annot_state *st, const char *acc, size_t nacc, const char *go, size_t ngo,
                      const char *ev, size_t nev, char aspect, const char *sym, size_t nsym, const char *tax,
                      size_t ntax, size_t line) {
  fc_annot_set *o = st->out;
  if (o->n == st->cap) {
    size_t nc = st->cap ? st->cap * 2 : 4096;
    fc_annot *nr = realloc(o->rows, nc * sizeof *nr);
    if (!nr) return fc_error_set(st->err, FC_ENOMEM, "%s: out of memory", st->path);
    o->rows = nr;
    st->cap = nc;
  }
  fc_annot *r = &o->rows[o->n];
  r->accession = (char *)intern(st->pool, acc, nacc);
  r->go_id = (char *)intern(st->pool, go, ngo);
  r->evidence = (char *)intern(st->pool, ev, nev);
  r->symbol = (char *)intern(st->pool, sym, nsym);
  r->taxon = (char *)intern(st->pool, tax, ntax);
  r->aspect = aspect;
  r->line = line;
  if (!r->accession || !r->go_id || !r->evidence || !r->symbol || !r->taxon)
    return fc_error_set(st->err, FC_ENOMEM, "%s: out of memory", st->path);
  o->n++;
  return FC_OK;
}

static int evidence_kept(const fc_annot_opts *o, const char *ev, size_t n) {
  if (!o->evidence_codes || o->n_evidence == 0) return 1;
  for (size_t i = 0; i < o->n_evidence; i++)
    if (o->evidence_codes[i] && strlen(o->evidence_codes[i]) == n && memcmp(o->evidence_codes[i], ev, n) == 0)
      return 1;
  return 0;
}

/* Evidence codes are short uppercase words: EXP, IDA, IEA, HTP, ND ... */
static int evidence_like(const char *s, size_t n) {
  if (n == 0 || n > 6) return 0;
  for (size_t i = 0; i < n; i++)
    if (s[i] < 'A' || s[i] > 'Z') return 0;
  return 1;
}

static int is_aspect(const char *s, size_t n) {
  return n == 1 && (s[0] == 'P' || s[0] == 'F' || s[0] == 'C');
}

static fc_status do_line(annot_state *st, char *s, size_t n, size_t line) {
  if (n == 0) return FC_OK;
  if (s[0] == '!') {
    if (!st->fmt) st->saw_bang = 1;
    return FC_OK;
  }
  size_t blank = 0;
  while (blank < n && (s[blank] == ' ' || s[blank] == '\t'))
    blank++;
  if (blank == n) return FC_OK;
  const char *col[MAX_COLS];
  size_t len[MAX_COLS];
  size_t nc = 0;
  for (size_t i = 0;;) {
    const char *t = memchr(s + i, '\t', n - i);
    size_t e = t ? (size_t)(t - s) : n;
    if (nc < MAX_COLS) {
      col[nc] = s + i;
      len[nc] = e - i;
    }
    nc++;
    if (!t) break;
    i = e + 1;
  }
  if (!st->fmt) {
    if (st->saw_bang || nc >= 15)
      st->fmt = FC_ANNOT_GAF;
    else if (nc >= 2 && nc <= 3 && !id_like(col[1], len[1]) && !st->header_done) {
      st->header_done = 1; /* header line of a TSV file */
      return FC_OK;
    } else if (nc == 3 && is_aspect(col[2], len[2]))
      st->fmt = FC_ANNOT_TSV_ASPECT;
    else if (nc == 3 && evidence_like(col[2], len[2]))
      st->fmt = FC_ANNOT_TSV_EVIDENCE;
    else if (nc == 3)
      return fc_error_set(
          st->err, FC_EFORMAT,
          "%s:%zu: cannot tell the annotation format: column 3 '%.*s' is neither an aspect letter "
          "(P, F, C) nor an evidence code (a predictions file?)",
          st->path, line, SHOW(col[2], len[2]));
    else if (nc == 2)
      st->fmt = FC_ANNOT_TSV_PAIRS;
    else
      return fc_error_set(
          st->err, FC_EFORMAT,
          "%s:%zu: cannot tell the annotation format: %zu tab-separated columns (GAF has 15-17, "
          "TSV 2 or 3)",
          st->path, line, nc);
  }
  if (st->fmt == FC_ANNOT_GAF) {
    if (nc < 15 || nc > 17)
      return bad_line(st, line, "GAF line with %zu tab-separated columns (expected 15-17)", nc);
    if (len[1] == 0) return bad_line(st, line, "empty DB_Object_ID (column 2)");
    if (!id_like(col[4], len[4]))
      return bad_line(st, line, "bad GO id '%.*s' (column 5)", SHOW(col[4], len[4]));
    if (len[6] == 0) return bad_line(st, line, "empty evidence code (column 7)");
    if (!is_aspect(col[8], len[8]))
      return bad_line(st, line, "bad aspect '%.*s' (column 9, expected P, F or C)", SHOW(col[8], len[8]));
    /* taxon: first of a '|' list, "taxon:N" or "NCBITaxon:N" */
    const char *tx = col[12];
    size_t tn = len[12];
    const char *bar = memchr(tx, '|', tn);
    if (bar) tn = (size_t)(bar - tx);
    const char *c = memchr(tx, ':', tn);
    if (c) {
      tn -= (size_t)(c + 1 - tx);
      tx = c + 1;
    }
    int num = tn > 0;
    for (size_t i = 0; i < tn; i++)
      if (tx[i] < '0' || tx[i] > '9') num = 0;
    if (!num) return bad_line(st, line, "bad or empty taxon '%.*s' (column 13)", SHOW(col[12], len[12]));
    /* qualifier NOT */
    const char *q = col[3];
    size_t qn = len[3];
    while (qn) {
      const char *b = memchr(q, '|', qn);
      size_t tl = b ? (size_t)(b - q) : qn;
      if (tl == 3 && memcmp(q, "NOT", 3) == 0) {
        st->out->n_skipped_not++;
        return FC_OK;
      }
      if (!b) break;
      qn -= tl + 1;
      q = b + 1;
    }
    if (!evidence_kept(st->opts, col[6], len[6])) {
      st->out->n_skipped_evidence++;
      return FC_OK;
    }
    return push(st, col[1], len[1], col[4], len[4], col[6], len[6], col[8][0], col[2], len[2], tx, tn, line);
  }
  size_t want = st->fmt == FC_ANNOT_TSV_PAIRS ? 2 : 3;
  if (nc != want) {
    return bad_line(st, line, "%zu tab-separated columns, expected %zu", nc, want);
  }
  if (len[0] == 0) return bad_line(st, line, "empty accession (column 1)");
  if (!id_like(col[1], len[1]))
    return bad_line(st, line, "bad GO id '%.*s' (column 2)", SHOW(col[1], len[1]));
  if (st->fmt == FC_ANNOT_TSV_ASPECT) {
    if (!is_aspect(col[2], len[2]))
      return bad_line(st, line, "bad aspect '%.*s' (column 3, expected P, F or C)", SHOW(col[2], len[2]));
    return push(st, col[0], len[0], col[1], len[1], "", 0, col[2][0], "", 0, "", 0, line);
  }
  if (st->fmt == FC_ANNOT_TSV_PAIRS)
    return push(st, col[0], len[0], col[1], len[1], "", 0, 0, "", 0, "", 0, line);
  if (!evidence_like(col[2], len[2]))
    return bad_line(st, line, "bad evidence code '%.*s' (column 3)", SHOW(col[2], len[2]));
  if (!evidence_kept(st->opts, col[2], len[2])) {
    st->out->n_skipped_evidence++;
    return FC_OK;
  }
  return push(st, col[0], len[0], col[1], len[1], col[2], len[2], 0, "", 0, "", 0, line);
}

fc_status fc_annot_read_ex(const char *path, const fc_annot_opts *opts, fc_annot_set *out,
                           fc_annot_format *format, fc_error *err) {
  static const fc_annot_opts defaults = {NULL, 0, 0};
  memset(out, 0, sizeof *out);
  if (format) *format = 0;
  str_pool *pool = calloc(1, sizeof *pool);
  if (!pool) return fc_error_set(err, FC_ENOMEM, "out of memory");
  fc_arena_init(&pool->arena);
  fc_txmap_init(&pool->map);
  out->pool_ = pool;
  annot_state st;
  memset(&st, 0, sizeof st);
  st.path = path;
  st.opts = opts ? opts : &defaults;
  st.out = out;
  st.pool = pool;
  st.err = err;
  fc_lines *lr = NULL;
  fc_status rc = fc_lines_open(path, &lr, err);
  while (rc == FC_OK) {
    char *line;
    size_t len;
    int r = fc_lines_next(lr, &line, &len, err);
    if (r < 0) {
      rc = err ? err->code : FC_EFORMAT;
      break;
    }
    if (r == 0) break;
    rc = do_line(&st, line, len, fc_lines_lineno(lr));
  }
  fc_lines_close(lr);
  if (rc == FC_OK && !st.fmt) rc = fc_error_set(err, FC_EFORMAT, "%s: no annotation lines", path);
  if (rc == FC_OK && out->n_bad > MAX_WARN)
    fc_log_warn("%s: %zu malformed lines skipped in all (first %d shown)", path, out->n_bad, MAX_WARN);
  if (rc != FC_OK) {
    fc_annot_set_free(out);
    return rc;
  }
  if (format) *format = st.fmt;
  return FC_OK;
}

fc_status fc_annot_read(const char *path, const fc_annot_opts *opts, fc_annot_set *out, fc_error *err) {
  return fc_annot_read_ex(path, opts, out, NULL, err);
}

void fc_annot_set_free(fc_annot_set *s) {
  if (!s) return;
  str_pool *p = s->pool_;
  if (p) {
    fc_arena_free(&p->arena);
    fc_txmap_free(&p->map);
    free(p);
  }
  free(s->rows);
  memset(s, 0, sizeof *s);
}
