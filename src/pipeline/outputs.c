/* Stage C glue: alignments (when asked), raw results, summary.csv, TopGO, sequences.fasta and
 * query_index_mapping.csv — each written once, atomically, at the end (FANTASIA rewrote the
 * last two after every batch: spec §11 item 31). */
#include <stdlib.h>
#include <string.h>

#include "fantasia/align.h"
#include "fantasia/pipeline.h"

typedef struct {
  int32_t idx;
  uint32_t seq;
  uint32_t acc;
} qentry;

static int cmp_qentry(const void *a, const void *b) {
  const qentry *x = a, *y = b;
  if (x->idx != y->idx) return (x->idx > y->idx) - (x->idx < y->idx);
  return (x->acc > y->acc) - (x->acc < y->acc);
}

static fc_status write_sequences(fc_raw_table *t, const char *dir, fc_error *err) {
  size_t n = fc_raw_table_size(t);
  qentry *q = malloc((n ? n : 1) * sizeof *q), *r = malloc((n ? n : 1) * sizeof *r);
  if (!q || !r) {
    free(q);
    free(r);
    return fc_error_set(err, FC_ENOMEM, "out of memory");
  }
  for (size_t i = 0; i < n; i++) {
    const fc_raw_row *row = fc_raw_table_row(t, i);
    q[i] = (qentry){row->query_idx, row->sequence_query, row->accession};
    r[i] = (qentry){row->ref_idx, row->sequence_reference, 0};
  }
  qsort(q, n, sizeof *q, cmp_qentry);
  qsort(r, n, sizeof *r, cmp_qentry);
  char *fa_path = fc_path_join(dir, "sequences.fasta"),
       *map_path = fc_path_join(dir, "query_index_mapping.csv");
  fc_atomic_file fa, mp;
  fc_status st = fc_atomic_open(&fa, fa_path, err);
  if (st == FC_OK && (st = fc_atomic_open(&mp, map_path, err)) != FC_OK) fc_atomic_abort(&fa);
  if (st == FC_OK) {
    fputs("query_idx,query_fasta_id,accessions,sequence_length\r\n", mp.fp);
    for (size_t i = 0; i < n;) {
      size_t j = i;
      const char *seq = fc_raw_table_str(t, q[i].seq);
      fprintf(fa.fp, ">Q%d\n%s\n", q[i].idx, seq);
      fprintf(mp.fp, "%d,Q%d,", q[i].idx, q[i].idx);
      /* accessions sharing the sequence, sorted, distinct, joined by ';' */
      const char **accs = NULL;
      size_t na = 0;
      while (j < n && q[j].idx == q[i].idx)
        j++;
      accs = malloc((j - i) * sizeof *accs);
      for (size_t x = i; x < j; x++)
        accs[na++] = fc_raw_table_str(t, q[x].acc);
      for (size_t a = 1; a < na; a++) /* small lists: insertion sort */
        for (size_t b = a; b > 0 && strcmp(accs[b - 1], accs[b]) > 0; b--) {
          const char *tmp = accs[b];
          accs[b] = accs[b - 1];
          accs[b - 1] = tmp;
        }
      int first = 1;
      int quote = 0;
      for (size_t a = 0; a < na; a++)
        if (strpbrk(accs[a], ",\"\r\n")) quote = 1;
      if (quote) fputc('"', mp.fp);
      for (size_t a = 0; a < na; a++) {
        if (a && !strcmp(accs[a], accs[a - 1])) continue;
        if (!first) fputc(';', mp.fp);
        for (const char *c = accs[a]; *c; c++) {
          if (*c == '"') fputc('"', mp.fp);
          fputc(*c, mp.fp);
        }
        first = 0;
      }
      if (quote) fputc('"', mp.fp);
      fprintf(mp.fp, ",%zu\r\n", strlen(seq));
      free(accs);
      i = j;
    }
    for (size_t i = 0; i < n;) {
      size_t j = i;
      while (j < n && r[j].idx == r[i].idx)
        j++;
      fprintf(fa.fp, ">R%d\n%s\n", r[i].idx, fc_raw_table_str(t, r[i].seq));
      i = j;
    }
    st = fc_atomic_commit(&fa, err);
    if (st == FC_OK)
      st = fc_atomic_commit(&mp, err);
    else
      fc_atomic_abort(&mp);
  }
  free(fa_path);
  free(map_path);
  free(q);
  free(r);
  return st;
}

fc_status fc_outputs_write(fc_raw_table *t, const fc_outputs_opts *o, fc_error *err) {
  fc_status st = fc_mkdir_p(o->out_dir, err);
  if (st != FC_OK) return st;
  if (o->alignments) {
    fc_log_info("alignments: global (NW) and local (SW) metrics for %zu raw rows", fc_raw_table_size(t));
    if ((st = fc_raw_table_fill_alignments(t, o->threads, err)) != FC_OK) return st;
  }
  fc_raw_write_opts wo;
  fc_raw_write_opts_default(&wo);
  wo.keep_sequences = o->keep_sequences;
  if (o->precision > 0) wo.precision = o->precision;
  if (o->write_tsv) {
    char *p = fc_path_join(o->out_dir, "raw_results.tsv");
    st = fc_raw_write_tsv(t, p, &wo, err);
    free(p);
    if (st != FC_OK) return st;
  }
  if (o->write_csv_tree && (st = fc_raw_write_csv_tree(t, o->out_dir, &wo, err)) != FC_OK) return st;
  if ((st = write_sequences(t, o->out_dir, err)) != FC_OK) return st;
  fc_summary_opts def;
  const fc_summary_opts *so = o->summary;
  if (!so) {
    fc_summary_opts_fantasia_default(&def);
    so = &def;
  }
  char *sp = fc_path_join(o->out_dir, "summary.csv");
  st = fc_summary_write(t, so, sp, err);
  free(sp);
  if (st == FC_OK) {
    char *td = fc_path_join(o->out_dir, "topgo");
    st = fc_topgo_write(t, td, err);
    free(td);
  }
  if (!o->summary) fc_summary_opts_free(&def);
  return st;
}
