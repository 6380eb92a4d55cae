/* fantasia.c — go: Gene Ontology (OBO 1.2, plain or gzip) and GO annotation files (GAF 2.x, TSV).
 *
 * OBO rules (details in docs/input-formats.md):
 *   - [Term] stanzas are read; [Typedef], [Instance] and any other stanza are skipped;
 *   - tags used: id, name, namespace, alt_id, is_obsolete, replaced_by, is_a, relationship (only
 *     part_of is kept; other relationship types are parsed and ignored); other tags are ignored;
 *   - '!' comments (outside quotes, not escaped) and {...} trailing modifiers are stripped;
 *   - ids must look like PREFIX:LOCAL (letters/digits/_; at most 15 characters), e.g. GO:0008150;
 *   - is_a / part_of targets may be defined later in the file; they are resolved after parsing
 *     (a target that is an alt_id resolves to its primary term); an unknown target is FC_EFORMAT
 *     naming the line; duplicate ids (primary or alt_id) are FC_EDUPLICATE naming both lines;
 *   - terms keep file order; index = position in the file's [Term] stanzas.
 */
#ifndef FANTASIA_GO_H
#define FANTASIA_GO_H

#include "fantasia/core.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  char id[16];       /* "GO:0008150" */
  char *name;        /* "" when the stanza has no name */
  char aspect;       /* 'P','F','C' from namespace biological_process / molecular_function /
                        cellular_component; 0 otherwise */
  char *namespace_;  /* namespace tag, else the header's default-namespace, else "" */
  int obsolete;      /* is_obsolete: true */
  char *replaced_by; /* first replaced_by id, NULL if none */
  int32_t *is_a;     /* parent indices, file order */
  size_t n_is_a;
  int32_t *part_of; /* part_of parent indices, file order */
  size_t n_part_of;
  size_t line; /* line of the [Term] header */
} fc_go_term;

typedef struct fc_go fc_go;

/* Loads an OBO file. All strings and arrays in the terms are owned by the fc_go. */
fc_status fc_go_load(const char *path, fc_go **out, fc_error *err);
void fc_go_free(fc_go *go);
size_t fc_go_count(const fc_go *go);
const fc_go_term *fc_go_term_at(const fc_go *go, int32_t idx); /* NULL if out of range; borrowed */
int32_t fc_go_find(const fc_go *go, const char *id);           /* primary id or alt_id -> index; -1 */
const char *fc_go_data_version(const fc_go *go);               /* "releases/2022-07-01" or "" */
size_t fc_go_n_alt_ids(const fc_go *go);
size_t fc_go_n_is_a(const fc_go *go);    /* total is_a edges */
size_t fc_go_n_part_of(const fc_go *go); /* total part_of edges */
/* Aspect letter for a namespace name ('P','F','C') or 0. */
char fc_go_aspect_of_namespace(const char *ns);

/* ---- annotation files (src/go/annot.c) ----
 * Formats, auto-detected from the first non-blank, non-'!' line:
 *   GAF 2.x: 15-17 tab-separated columns ('!' lines are comments). accession = col 2 (DB_Object_ID),
 *     symbol col 3, qualifier col 4 (rows whose qualifier list contains NOT are skipped and counted),
 *     GO id col 5, evidence col 7, aspect col 9, taxon col 13 ("taxon:9606" or "NCBITaxon:9606";
 *     first of a '|' list; stored as "9606").
 *   TSV with evidence:  accession<TAB>GO:nnnnnnn<TAB>EVIDENCE  (aspect 0: take it from the ontology)
 *   TSV with aspect:    accession<TAB>GO:nnnnnnn<TAB>P|F|C     (swissprot2014/annotations.tsv.gz):
 *     evidence is "" and evidence filtering does not apply to this format.
 *   TSV with two columns: accession<TAB>GO:nnnnnnn (CAFA ground-truth layout): evidence "", aspect 0.
 *   In TSV files a first line whose second column is not a GO-style id is taken as a header line.
 *   Strings of rows (accession, go_id, evidence, symbol, taxon) are interned: equal strings share one
 *   pointer, owned by the set. symbol and taxon are "" when the format lacks them. */
typedef struct {
  char *accession;
  char *go_id;
  char *evidence;
  char aspect; /* 'P','F','C' or 0 */
  char *symbol;
  char *taxon;
  size_t line;
} fc_annot;

typedef struct {
  fc_annot *rows;
  size_t n;
  size_t n_skipped_evidence; /* evidence code not in opts->evidence_codes */
  size_t n_skipped_not;      /* GAF qualifier NOT */
  size_t n_bad;              /* malformed lines skipped (non-strict mode) */
  void *pool_;               /* internal: string storage */
} fc_annot_set;

typedef struct {
  const char *const *evidence_codes; /* NULL/0 = keep all */
  size_t n_evidence;
  int strict; /* 1 = a malformed line is an error; 0 = counted in n_bad, skipped with a warning */
} fc_annot_opts;

typedef enum {
  FC_ANNOT_GAF = 1,
  FC_ANNOT_TSV_EVIDENCE,
  FC_ANNOT_TSV_ASPECT,
  FC_ANNOT_TSV_PAIRS
} fc_annot_format;

/* opts NULL = keep all, non-strict. *out is zeroed first; free with fc_annot_set_free (also after
 * an error). format (may be NULL) receives the detected format. */
fc_status fc_annot_read_ex(const char *path, const fc_annot_opts *opts, fc_annot_set *out,
                           fc_annot_format *format, fc_error *err);
fc_status fc_annot_read(const char *path, const fc_annot_opts *opts, fc_annot_set *out, fc_error *err);
void fc_annot_set_free(fc_annot_set *s);
/* EXP IDA IPI IMP IGI IEP TAS IC, NULL-terminated */
extern const char *const fc_experimental_evidence_codes[];

#ifdef __cplusplus
}
#endif
#endif
