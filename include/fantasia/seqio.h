/* fantasia.c — seqio: FASTA reader (plain or gzip, detected by magic bytes).
 *
 * The reader follows FANTASIA's line state machine (header, header continuation lines, sequence
 * lines) without its bugs; docs/input-formats.md gives the exact rules. In short:
 *   - blank lines are skipped; "\r\n" line ends and a missing final newline are fine;
 *   - a non-'>' line before the first sequence line of a record is a header continuation line when
 *     it contains '=', or no ASCII letter, or punctuation other than '*', '-', '.', or both upper- and
 *     lowercase letters and a blank between words; it is appended to the header with one ' ';
 *   - every other line is a sequence line: spaces/tabs removed, lowercase uppercased, letters must be
 *     in fc_residue_alphabet(), one '*' is allowed as the very last residue of the record (dropped);
 *     any other character makes the record invalid: it is listed in fc_seqset.issues and not kept;
 *   - an empty sequence or an empty header is an issue, not kept;
 *   - text before the first '>' is FC_EFORMAT; a file without records is FC_EFORMAT;
 *   - two records with the same accession (valid or not) are FC_EDUPLICATE, naming both lines.
 */
#ifndef FANTASIA_SEQIO_H
#define FANTASIA_SEQIO_H

#include "fantasia/core.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  char *id;               /* first whitespace token of the header */
  char *accession;        /* id with '|' -> '_' (FANTASIA rule) and '/' -> '_' (avoids nested HDF5 groups) */
  char *header;           /* full header without '>', continuation lines joined by ' ' */
  char *seq;              /* uppercase residues (after max_len truncation), NUL-terminated */
  size_t len;             /* strlen(seq) */
  size_t line;            /* 1-based line of the '>' header */
  int32_t first_same_seq; /* index of the first record with an identical seq (own index if first) */
  size_t orig_len;        /* residues before truncation (== len unless opts->max_len cut it) */
} fc_seq_record;

typedef struct {
  size_t line;  /* header line of the record that was NOT kept */
  char *id;     /* its id ("" if the header was empty) */
  char *reason; /* one line, e.g. "invalid character '-' at line 12 column 5 (residue 65)" */
} fc_seq_issue;

typedef struct {
  fc_seq_record *rec; /* kept records, file order */
  size_t n;
  fc_seq_issue *issues; /* records not kept, file order */
  size_t n_issues;
  size_t n_unique_seqs; /* number of distinct sequences among rec */
} fc_seqset;

typedef struct {
  size_t max_len; /* 0 = no truncation, else keep the first max_len residues */
  size_t limit;   /* 0 = all, else read only the first `limit` records of the file (valid or not) */
} fc_fasta_opts;

/* Reads path into *out (zeroed first; free with fc_seqset_free, also after an error). opts NULL =
 * defaults. Returns FC_OK even when some records were rejected (see out->issues). */
fc_status fc_fasta_read(const char *path, const fc_fasta_opts *opts, fc_seqset *out, fc_error *err);
void fc_seqset_free(fc_seqset *s);
/* Writes the issues as TSV with header "line\tid\treason" (atomic; tabs/newlines in fields become ' '). */
fc_status fc_seqset_write_issues(const fc_seqset *s, const char *tsv_path, fc_error *err);
/* "ACDEFGHIKLMNPQRSTVWYBXZJOU": the 20 standard residues plus B X Z J O U (FANTASIA's set). */
const char *fc_residue_alphabet(void);
/* FANTASIA accession rule applied to an id: '|' and '/' become '_'. Caller frees. */
char *fc_accession_from_id(const char *id);

#ifdef __cplusplus
}
#endif
#endif
