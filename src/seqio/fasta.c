/* FASTA reader: FANTASIA's state machine (spec §3.1) without the bugs listed in spec §11 item 11.
 * Rules are documented in include/fantasia/seqio.h and docs/input-formats.md. */
#include "fantasia/seqio.h"

#include "seqio/textio.h"

#include <stdlib.h>
#include <string.h>

static const char k_alphabet[] = "ACDEFGHIKLMNPQRSTVWYBXZJOU";

const char *fc_residue_alphabet(void) {
  return k_alphabet;
}

char *fc_accession_from_id(const char *id) {
  char *a = fc_strdup(id);
  if (!a) return NULL;
  for (char *p = a; *p; p++)
    if (*p == '|' || *p == '/') *p = '_';
  return a;
}

/* byte classes for sequence lines */
enum { C_BAD = 0, C_SKIP = 1, C_STAR = 2, C_RES = 3 };

typedef struct {
  unsigned char cls[256];
  char up[256];
} seq_table;

static void table_init(seq_table *t) {
  memset(t, 0, sizeof *t);
  for (const char *p = k_alphabet; *p; p++) {
    unsigned char u = (unsigned char)*p, l = (unsigned char)(*p - 'A' + 'a');
    t->cls[u] = t->cls[l] = C_RES;
    t->up[u] = t->up[l] = (char)u;
  }
  t->cls[' '] = t->cls['\t'] = C_SKIP;
  t->cls['*'] = C_STAR;
}

/* growable byte buffer */
typedef struct {
  char *p;
  size_t n, cap;
} gbuf;

static int gbuf_reserve(gbuf *b, size_t extra) {
  if (b->n + extra + 1 <= b->cap) return 0;
  size_t nc = b->cap ? b->cap : 256;
  while (nc < b->n + extra + 1)
    nc *= 2;
  char *np = realloc(b->p, nc);
  if (!np) return -1;
  b->p = np;
  b->cap = nc;
  return 0;
}

typedef struct {
  const char *path;
  const fc_fasta_opts *opts;
  fc_seqset *out;
  fc_error *err;
  seq_table tab;
  size_t cap_rec, cap_iss;
  /* duplicate accessions: every record with a non-empty id, kept or not */
  fc_txmap acc_map;
  size_t *acc_lines; /* header line per entry of acc_map */
  size_t n_acc, cap_acc;
  char **orphan_acc; /* accession strings of rejected records (keys of acc_map) */
  size_t n_orphan, cap_orphan;
  fc_txmap seq_map;
  /* current record */
  int have;
  size_t hline;
  gbuf header, seq;
  int seq_started;
  size_t n_cont;
  size_t orig_len;
  char *bad;                            /* first invalid-character reason */
  size_t star_line, star_col, star_res; /* pending '*' (0 = none) */
  size_t n_headers;
  int stop; /* opts->limit reached */
} fasta_state;

static fc_status oom(fasta_state *st) {
  return fc_error_set(st->err, FC_ENOMEM, "%s: out of memory", st->path);
}

/* Describes the byte(s) at s (non-ASCII: decoded UTF-8 character when well-formed). */
static void describe_char(const char *s, size_t avail, char *buf, size_t bufsz) {
  unsigned char c = (unsigned char)s[0];
  if (c >= 0x21 && c < 0x7f) {
    snprintf(buf, bufsz, "'%c'", c);
    return;
  }
  if (c >= 0x80) {
    size_t n = c >= 0xf0 && c < 0xf8 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
    if (n && n <= avail) {
      uint32_t cp = c & (n == 2 ? 0x1f : n == 3 ? 0x0f : 0x07);
      size_t i = 1;
      for (; i < n; i++) {
        unsigned char d = (unsigned char)s[i];
        if ((d & 0xc0) != 0x80) break;
        cp = (cp << 6) | (d & 0x3f);
      }
      if (i == n) {
        snprintf(buf, bufsz, "'%.*s' (U+%04X)", (int)n, s, (unsigned)cp);
        return;
      }
    }
    snprintf(buf, bufsz, "byte 0x%02X (not UTF-8)", c);
    return;
  }
  snprintf(buf, bufsz, "control byte 0x%02X", c);
}

static void set_bad(fasta_state *st, const char *what, const char *line, size_t len, size_t col,
                    size_t lineno) {
  if (st->bad) return;
  char d[64];
  describe_char(line + col, len - col, d, sizeof d);
  st->bad =
      fc_sprintf("%s %s at line %zu column %zu (residue %zu)", what, d, lineno, col + 1, st->orig_len + 1);
}

/* A line before the first sequence line of a record is header text if it contains '=', has no
 * ASCII letter, holds ASCII punctuation other than * - . , or mixes upper- and lowercase letters
 * AND has a blank between two words. (A single mixed-case token such as a soft-masked "MKVllaGG"
 * stays a sequence line.) */
static int header_like(const char *s, size_t n) {
  int upper = 0, lower = 0, inner_blank = 0, seen_word = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 'A' && c <= 'Z')
      upper = 1;
    else if (c >= 'a' && c <= 'z')
      lower = 1;
    else if (c == '=')
      return 1;
    else if (c == ' ' || c == '\t') {
      if (seen_word) inner_blank = 1;
      continue;
    } else if (c > 0x20 && c < 0x7f && !(c >= '0' && c <= '9') && c != '*' && c != '-' && c != '.')
      return 1;
    seen_word = 1;
  }
  return !(upper || lower) || (upper && lower && inner_blank);
}

static fc_status add_issue(fasta_state *st, const char *id, char *reason /* owned */) {
  fc_seqset *o = st->out;
  if (!reason) return oom(st);
  if (o->n_issues == st->cap_iss) {
    size_t nc = st->cap_iss ? st->cap_iss * 2 : 16;
    fc_seq_issue *ni = realloc(o->issues, nc * sizeof *ni);
    if (!ni) {
      free(reason);
      return oom(st);
    }
    o->issues = ni;
    st->cap_iss = nc;
  }
  fc_seq_issue *is = &o->issues[o->n_issues];
  is->line = st->hline;
  is->id = fc_strdup(id);
  is->reason = reason;
  if (!is->id) {
    free(reason);
    return oom(st);
  }
  o->n_issues++;
  return FC_OK;
}

static fc_status flush_record(fasta_state *st) {
  if (!st->have) return FC_OK;
  st->have = 0;
  fc_status rc = FC_OK;
  char *hdr = st->header.p ? st->header.p : (char *)"";
  if (st->header.p) st->header.p[st->header.n] = '\0';
  size_t idlen = strcspn(hdr, " \t");
  char *id = fc_strndup(hdr, idlen);
  char *acc = id ? fc_accession_from_id(id) : NULL;
  if (!id || !acc) {
    free(id);
    free(acc);
    return oom(st);
  }
  /* duplicate accession check over all records that have an id */
  if (idlen > 0) {
    if (st->n_acc == st->cap_acc) {
      size_t nc = st->cap_acc ? st->cap_acc * 2 : 256;
      size_t *nl = realloc(st->acc_lines, nc * sizeof *nl);
      if (!nl) goto nomem;
      st->acc_lines = nl;
      st->cap_acc = nc;
    }
    int32_t prev = fc_txmap_put(&st->acc_map, acc, strlen(acc), (int32_t)st->n_acc);
    if (prev == -2) goto nomem;
    if (prev >= 0) {
      rc = fc_error_set(st->err, FC_EDUPLICATE, "%s: duplicate accession '%s' at lines %zu and %zu", st->path,
                        acc, st->acc_lines[prev], st->hline);
      free(id);
      free(acc);
      return rc;
    }
    st->acc_lines[st->n_acc++] = st->hline;
  }
  char *reason = NULL;
  if (idlen == 0)
    reason = fc_strdup("empty header (no identifier)");
  else if (st->bad) {
    reason = st->bad;
    st->bad = NULL;
  } else if (st->orig_len == 0)
    reason = st->n_cont ? fc_sprintf("empty sequence (%zu header continuation line%s, no sequence line)",
                                     st->n_cont, st->n_cont == 1 ? "" : "s")
                        : fc_strdup("empty sequence");
  if (reason || idlen == 0) {
    rc = add_issue(st, id, reason);
    free(id);
    if (idlen > 0 && rc == FC_OK) {
      /* acc is a key of acc_map: keep it alive until the end */
      if (st->n_orphan == st->cap_orphan) {
        size_t nc = st->cap_orphan ? st->cap_orphan * 2 : 16;
        char **no = realloc(st->orphan_acc, nc * sizeof *no);
        if (!no) {
          free(acc);
          return oom(st);
        }
        st->orphan_acc = no;
        st->cap_orphan = nc;
      }
      st->orphan_acc[st->n_orphan++] = acc;
    } else
      free(acc);
    return rc;
  }
  /* keep */
  fc_seqset *o = st->out;
  if (o->n == st->cap_rec) {
    size_t nc = st->cap_rec ? st->cap_rec * 2 : 256;
    fc_seq_record *nr = realloc(o->rec, nc * sizeof *nr);
    if (!nr) goto nomem;
    o->rec = nr;
    st->cap_rec = nc;
  }
  if (o->n >= (size_t)INT32_MAX) {
    free(id);
    free(acc);
    return fc_error_set(st->err, FC_EUNSUPPORTED, "%s: more than %d records", st->path, INT32_MAX);
  }
  fc_seq_record *r = &o->rec[o->n];
  memset(r, 0, sizeof *r);
  r->id = id;
  r->accession = acc;
  r->header = fc_strdup(hdr);
  r->seq = fc_strndup(st->seq.p, st->seq.n);
  r->len = st->seq.n;
  r->orig_len = st->orig_len;
  r->line = st->hline;
  o->n++; /* owned by the set from here: freed by fc_seqset_free */
  if (!r->header || !r->seq) return oom(st);
  int32_t first = fc_txmap_put(&st->seq_map, r->seq, r->len, (int32_t)(o->n - 1));
  if (first == -2) return oom(st);
  r->first_same_seq = first >= 0 ? first : (int32_t)(o->n - 1);
  if (first < 0) o->n_unique_seqs++;
  return FC_OK;
nomem:
  free(id);
  free(acc);
  return oom(st);
}

static fc_status start_record(fasta_state *st, const char *h, size_t n, size_t lineno) {
  while (n && (*h == ' ' || *h == '\t'))
    h++, n--;
  while (n && (h[n - 1] == ' ' || h[n - 1] == '\t'))
    n--;
  st->have = 1;
  st->hline = lineno;
  st->header.n = 0;
  st->seq.n = 0;
  st->seq_started = 0;
  st->n_cont = 0;
  st->orig_len = 0;
  st->star_line = 0;
  free(st->bad);
  st->bad = NULL;
  if (gbuf_reserve(&st->header, n) != 0 || gbuf_reserve(&st->seq, 0) != 0) return oom(st);
  memcpy(st->header.p, h, n);
  st->header.n = n;
  return FC_OK;
}

static fc_status seq_line(fasta_state *st, const char *line, size_t len, size_t lineno) {
  size_t max = st->opts->max_len;
  if (gbuf_reserve(&st->seq, len) != 0) return oom(st);
  char *dst = st->seq.p + st->seq.n;
  char *dst_end = max ? st->seq.p + (max > st->seq.n ? max : st->seq.n) : NULL;
  const unsigned char *cls = st->tab.cls;
  const char *up = st->tab.up;
  size_t orig = st->orig_len;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)line[i];
    unsigned char k = cls[c];
    if (k == C_RES) {
      if (st->star_line && !st->bad) {
        st->orig_len = orig;
        char *msg =
            fc_sprintf("'*' inside the sequence at line %zu column %zu (residue %zu); only one final '*' "
                       "is allowed",
                       st->star_line, st->star_col, st->star_res);
        if (!msg) return oom(st);
        st->bad = msg;
      }
      if (!dst_end || dst < dst_end) *dst++ = up[c];
      orig++;
    } else if (k == C_SKIP) {
      continue;
    } else if (k == C_STAR) {
      if (st->star_line) {
        st->orig_len = orig;
        set_bad(st, "second stop", line, len, i, lineno);
      } else {
        st->star_line = lineno;
        st->star_col = i + 1;
        st->star_res = orig + 1;
      }
    } else {
      st->orig_len = orig;
      set_bad(st, "invalid character", line, len, i, lineno);
      if (!st->bad) return oom(st);
      orig++; /* count it so later positions stay meaningful */
    }
  }
  st->orig_len = orig;
  st->seq.n = (size_t)(dst - st->seq.p);
  return FC_OK;
}

static fc_status process_line(fasta_state *st, char *line, size_t len, size_t lineno) {
  if (lineno == 1 && len >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0) line += 3, len -= 3; /* UTF-8 BOM */
  size_t a = 0;
  while (a < len && (line[a] == ' ' || line[a] == '\t'))
    a++;
  while (len > a && (line[len - 1] == ' ' || line[len - 1] == '\t' || line[len - 1] == '\r'))
    len--;
  if (a == len) return FC_OK; /* blank */
  if (line[a] == '>') {
    if (st->opts->limit && st->n_headers == st->opts->limit) {
      st->stop = 1;
      return FC_OK;
    }
    st->n_headers++;
    fc_status rc = flush_record(st);
    if (rc != FC_OK) return rc;
    return start_record(st, line + a + 1, len - a - 1, lineno);
  }
  if (!st->have)
    return fc_error_set(st->err, FC_EFORMAT, "%s:%zu: text before the first '>' header line", st->path,
                        lineno);
  if (!st->seq_started && header_like(line + a, len - a)) {
    if (gbuf_reserve(&st->header, len - a + 1) != 0) return oom(st);
    if (st->header.n) st->header.p[st->header.n++] = ' ';
    memcpy(st->header.p + st->header.n, line + a, len - a);
    st->header.n += len - a;
    st->n_cont++;
    return FC_OK;
  }
  st->seq_started = 1;
  return seq_line(st, line, len, lineno);
}

fc_status fc_fasta_read(const char *path, const fc_fasta_opts *opts, fc_seqset *out, fc_error *err) {
  static const fc_fasta_opts defaults = {0, 0};
  memset(out, 0, sizeof *out);
  fasta_state st;
  memset(&st, 0, sizeof st);
  st.path = path;
  st.opts = opts ? opts : &defaults;
  st.out = out;
  st.err = err;
  table_init(&st.tab);
  fc_txmap_init(&st.acc_map);
  fc_txmap_init(&st.seq_map);
  fc_lines *lr = NULL;
  fc_status rc = fc_lines_open(path, &lr, err);
  while (rc == FC_OK && !st.stop) {
    char *line;
    size_t len;
    int r = fc_lines_next(lr, &line, &len, err);
    if (r < 0) {
      rc = err ? err->code : FC_EFORMAT;
      break;
    }
    if (r == 0) break;
    rc = process_line(&st, line, len, fc_lines_lineno(lr));
  }
  if (rc == FC_OK) rc = flush_record(&st);
  if (rc == FC_OK && out->n == 0 && out->n_issues == 0)
    rc = fc_error_set(err, FC_EFORMAT, "%s: no FASTA records", path);
  fc_lines_close(lr);
  fc_txmap_free(&st.acc_map);
  fc_txmap_free(&st.seq_map);
  free(st.acc_lines);
  for (size_t i = 0; i < st.n_orphan; i++)
    free(st.orphan_acc[i]);
  free(st.orphan_acc);
  free(st.header.p);
  free(st.seq.p);
  free(st.bad);
  if (rc != FC_OK) fc_seqset_free(out);
  return rc;
}

void fc_seqset_free(fc_seqset *s) {
  if (!s) return;
  for (size_t i = 0; i < s->n; i++) {
    free(s->rec[i].id);
    free(s->rec[i].accession);
    free(s->rec[i].header);
    free(s->rec[i].seq);
  }
  free(s->rec);
  for (size_t i = 0; i < s->n_issues; i++) {
    free(s->issues[i].id);
    free(s->issues[i].reason);
  }
  free(s->issues);
  memset(s, 0, sizeof *s);
}

static void put_field(FILE *fp, const char *s) {
  for (; *s; s++)
    fputc(*s == '\t' || *s == '\n' || *s == '\r' ? ' ' : *s, fp);
}

fc_status fc_seqset_write_issues(const fc_seqset *s, const char *tsv_path, fc_error *err) {
  fc_atomic_file f;
  fc_status rc = fc_atomic_open(&f, tsv_path, err);
  if (rc != FC_OK) return rc;
  fputs("line\tid\treason\n", f.fp);
  for (size_t i = 0; i < s->n_issues; i++) {
    fprintf(f.fp, "%zu\t", s->issues[i].line);
    put_field(f.fp, s->issues[i].id);
    fputc('\t', f.fp);
    put_field(f.fp, s->issues[i].reason);
    fputc('\n', f.fp);
  }
  return fc_atomic_commit(&f, err);
}
