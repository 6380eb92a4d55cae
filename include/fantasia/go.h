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

/* ---- GO semantics (src/go/dag.c): one DAG per namespace, as CAFA-evaluator 1.2.1 builds it ----
 *   - a namespace is the OBO namespace string; terms whose namespace is "" or "external" are dropped;
 *   - obsolete terms are dropped (their ids and alt_ids resolve to FC_TERM_OBSOLETE), or, with
 *     opts.replace_obsolete, resolve to their replaced_by term when that is a live term;
 *   - edges: is_a and part_of whose parent is a live term of the SAME namespace (others are dropped
 *     and counted); duplicate edges (is_a + part_of to one parent) are kept once;
 *   - local term index = position among the namespace's live terms in file order;
 *   - topological order: children before parents (Kahn's algorithm from the leaves, like cafaeval);
 *     a cycle is FC_EFORMAT. */
typedef struct fc_ontology fc_ontology;
typedef struct {
  int replace_obsolete; /* 1: obsolete ids map to their replaced_by term (CAFA-evaluator drops them) */
} fc_ontology_opts;

typedef enum {
  FC_TERM_UNKNOWN = 0,  /* not in the OBO */
  FC_TERM_PRIMARY = 1,  /* a live term's primary id */
  FC_TERM_ALT = 2,      /* an alt_id of a live term */
  FC_TERM_REPLACED = 3, /* obsolete, mapped through replaced_by (replace_obsolete only) */
  FC_TERM_OBSOLETE = 4, /* obsolete (or its namespace is dropped): no term */
} fc_term_resolution;

typedef enum { FC_PROP_MAX = 0, FC_PROP_FILL = 1 } fc_prop_mode;

typedef struct {
  size_t n_terms;             /* live terms kept over all namespaces */
  size_t n_obsolete;          /* obsolete terms dropped */
  size_t n_replaceable;       /* obsolete terms with a live replaced_by (mapped with replace_obsolete) */
  size_t n_no_namespace;      /* terms dropped: namespace "" or "external" */
  size_t n_cross_ns_edges;    /* is_a/part_of edges to another namespace, dropped */
  size_t n_edges_to_obsolete; /* edges whose parent is dropped */
  size_t n_edges;             /* edges kept */
} fc_ontology_stats;

/* go is BORROWED: it must outlive the ontology (ids and alt_ids are looked up in it). opts NULL = defaults.
 */
fc_status fc_ontology_build(const fc_go *go, const fc_ontology_opts *opts, fc_ontology **out, fc_error *err);
void fc_ontology_free(fc_ontology *o);
const fc_ontology_stats *fc_ontology_get_stats(const fc_ontology *o); /* borrowed */
size_t fc_ontology_n_namespaces(const fc_ontology *o);
const char *fc_ontology_namespace(const fc_ontology *o, int ns);        /* borrowed */
int fc_ontology_find_namespace(const fc_ontology *o, const char *name); /* -1 if absent */
size_t fc_ontology_n_terms(const fc_ontology *o, int ns);
const char *fc_ontology_term_id(const fc_ontology *o, int ns, int32_t t); /* borrowed */
/* id (primary, alt_id, obsolete...) -> namespace and local index (both -1 unless PRIMARY/ALT/REPLACED). */
fc_term_resolution fc_ontology_resolve(const fc_ontology *o, const char *id, int *ns, int32_t *t);
const int32_t *fc_ontology_parents(const fc_ontology *o, int ns, int32_t t, size_t *n);  /* borrowed */
const int32_t *fc_ontology_children(const fc_ontology *o, int ns, int32_t t, size_t *n); /* borrowed */
const int32_t *fc_ontology_topo_order(const fc_ontology *o, int ns); /* n_terms entries, leaves first */
int32_t fc_ontology_topo_rank(const fc_ontology *o, int ns, int32_t t);
int fc_ontology_is_root(const fc_ontology *o, int ns, int32_t t); /* no parents (an "orphan") */

/* Sparse term vector of one namespace: terms[i] with value[i]. */
typedef struct {
  int32_t *terms;
  double *values;
  size_t n, cap;
} fc_term_vec;
void fc_term_vec_free(fc_term_vec *v);
fc_status fc_term_vec_push(fc_term_vec *v, int32_t t, double value);

/* Scratch space for the functions below, valid for every namespace of o. One per thread. */
typedef struct fc_go_ws fc_go_ws;
fc_go_ws *fc_go_ws_new(const fc_ontology *o); /* NULL on allocation failure */
void fc_go_ws_free(fc_go_ws *ws);

/* Ancestors of t including t, in topological order (t first, roots last), into out (cleared first). */
fc_status fc_ontology_ancestors(const fc_ontology *o, int ns, int32_t t, fc_go_ws *ws, fc_term_vec *out,
                                fc_error *err);
/* Propagates scores to all ancestors (CAFA-evaluator `propagate`), out cleared first, terms in
 * topological order (leaves first); only terms with a value > 0 are written.
 *   in: terms with scores (duplicates allowed: the maximum is kept; scores <= 0 count as absent);
 *   FC_PROP_MAX:  v(t) = max(own(t), max over children v(c));
 *   FC_PROP_FILL: v(t) = own(t) when own(t) > 0, else max over children v(c).
 * For a term set use values 1.0. */
fc_status fc_ontology_propagate(const fc_ontology *o, int ns, fc_prop_mode mode, const int32_t *terms,
                                const double *values, size_t n, fc_go_ws *ws, fc_term_vec *out,
                                fc_error *err);
/* Keeps only the terms of the set that are not an ancestor of another term of the set (goPredSim's
 * leaf reduction); order and values of kept entries are preserved. out cleared first. */
fc_status fc_ontology_leaves(const fc_ontology *o, int ns, const int32_t *terms, const double *values,
                             size_t n, fc_go_ws *ws, fc_term_vec *out, fc_error *err);

/* Information accretion (Clark & Radivojac 2013), as /work/shared/data/scripts/compute_ia.py: the
 * annotations (target, term) are propagated; for each term v annotated to >= 1 target,
 * IA(v) = log2(N(Pa(v)) / N(v)) where N(v) = targets having v and N(Pa(v)) = targets having all parents
 * of v (for a root: targets with any annotation in v's namespace). No pseudocounts.
 * ia is filled per namespace: ia[ns][t] (arrays of n_terms, NAN where v is never annotated);
 * free with fc_ontology_ia_free. Unknown/obsolete terms are skipped and counted in *n_skipped. */
typedef struct {
  double **ia; /* [n_namespaces][n_terms] */
  size_t n_ns;
  size_t n_pairs_used, n_skipped_unknown, n_skipped_obsolete, n_targets;
} fc_ia_table;
fc_status fc_ontology_ia_compute(const fc_ontology *o, const fc_annot_set *ann, fc_ia_table *out,
                                 fc_error *err);
void fc_ia_table_free(fc_ia_table *t);
/* Writes term<TAB>ia (%.12g) for annotated terms, sorted by term id, atomically. */
fc_status fc_ia_table_write(const fc_ontology *o, const fc_ia_table *t, const char *path, fc_error *err);

#ifdef __cplusplus
}
#endif
#endif
