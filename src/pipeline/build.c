/* reference build: FASTA + GO annotations (GAF 2.x or TSV) + OBO + embeddings.h5 [+ taxonomy TSV]
 * -> one SQLite reference store. Evidence codes are filtered at build time (default: the
 * experimental codes FANTASIA's reference dumps keep). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "fantasia/go.h"
#include "fantasia/models.h"
#include "fantasia/pipeline.h"
#include "fantasia/seqio.h"

/* UniProt header "sp|P12345|NAME_HUMAN desc OS=Homo sapiens OX=9606 GN=TP53 PE=1 SV=1" */
typedef struct {
  char *protein_id, *accession, *gene, *organism, *taxid;
} header_info;

static char *tag_value(const char *h, const char *tag) {
  const char *p = h;
  size_t tl = strlen(tag);
  while ((p = strstr(p, tag)) != NULL) {
    if (p == h || p[-1] == ' ') {
      p += tl;
      /* value runs until the next " XX=" tag */
      const char *e = p;
      while (*e) {
        if (*e == ' ' && isupper((unsigned char)e[1]) && isupper((unsigned char)e[2]) && e[3] == '=') break;
        e++;
      }
      return fc_strndup(p, (size_t)(e - p));
    }
    p += tl;
  }
  return NULL;
}

static void parse_header(const fc_seq_record *r, header_info *h) {
  memset(h, 0, sizeof *h);
  const char *id = r->id;
  const char *b1 = strchr(id, '|');
  const char *b2 = b1 ? strchr(b1 + 1, '|') : NULL;
  if (b1 && b2 && (b1 - id == 2)) {
    h->accession = fc_strndup(b1 + 1, (size_t)(b2 - b1 - 1));
    h->protein_id = fc_strdup(*(b2 + 1) ? b2 + 1 : h->accession);
  } else {
    h->accession = fc_strdup(id);
    h->protein_id = fc_strdup(id);
  }
  h->gene = tag_value(r->header, "GN=");
  h->organism = tag_value(r->header, "OS=");
  h->taxid = tag_value(r->header, "OX=");
}

static void header_free(header_info *h) {
  free(h->protein_id);
  free(h->accession);
  free(h->gene);
  free(h->organism);
  free(h->taxid);
}

typedef struct {
  char *acc, *taxid, *organism;
} taxrow;

static fc_status read_taxonomy_tsv(const char *path, char **buf, fc_strmap *m, taxrow **rows, size_t *n,
                                   fc_error *err) {
  size_t len;
  fc_status st = fc_read_file(path, 0, buf, &len, err);
  if (st != FC_OK) return st;
  size_t cap = 256, cnt = 0, line_no = 0;
  taxrow *r = malloc(cap * sizeof *r);
  fc_strmap_init(m, 1024);
  for (char *line = *buf; line && *line;) {
    char *nl = strchr(line, '\n');
    if (nl) *nl = '\0';
    line_no++;
    size_t ll = strlen(line);
    if (ll && line[ll - 1] == '\r') line[--ll] = '\0';
    if (ll && line[0] != '#') {
      char *t1 = strchr(line, '\t');
      if (!t1) {
        free(r);
        return fc_error_set(err, FC_EFORMAT, "%s:%zu: expected 'accession<TAB>taxonomy_id[<TAB>organism]'",
                            path, line_no);
      }
      *t1 = '\0';
      char *t2 = strchr(t1 + 1, '\t');
      if (t2) *t2 = '\0';
      for (char *c = t1 + 1; *c; c++)
        if (!isdigit((unsigned char)*c)) {
          free(r);
          return fc_error_set(err, FC_EFORMAT, "%s:%zu: taxonomy id '%s' is not numeric", path, line_no,
                              t1 + 1);
        }
      if (cnt == cap) {
        cap *= 2;
        r = realloc(r, cap * sizeof *r);
      }
      r[cnt] = (taxrow){line, t1 + 1, t2 ? t2 + 1 : NULL};
      fc_strmap_put(m, line, strlen(line), (int64_t)cnt, NULL);
      cnt++;
    }
    line = nl ? nl + 1 : NULL;
  }
  *rows = r;
  *n = cnt;
  return FC_OK;
}

fc_status fc_reference_build(const fc_build_opts *o, fc_build_report *rep, fc_error *err) {
  memset(rep, 0, sizeof *rep);
  if (!o->fasta || !o->annotations || !o->ontology || !o->embeddings || !o->output)
    return fc_error_set(
        err, FC_EINVAL,
        "reference build needs --fasta, --annotations, --ontology, --embeddings and --output");
  fc_seqset seqs;
  memset(&seqs, 0, sizeof seqs);
  fc_annot_set ann;
  memset(&ann, 0, sizeof ann);
  fc_go *go = NULL;
  fc_embset emb;
  memset(&emb, 0, sizeof emb);
  fc_refdb *db = NULL;
  header_info *hi = NULL;
  int64_t *block_type = NULL;
  int64_t *seq_id_of_rec = NULL;
  char *taxbuf = NULL;
  taxrow *tax = NULL;
  size_t ntax = 0;
  fc_strmap taxmap, prot_by_key, rec_by_acc, go_added, gaf_taxon;
  memset(&taxmap, 0, sizeof taxmap);
  memset(&prot_by_key, 0, sizeof prot_by_key);
  memset(&rec_by_acc, 0, sizeof rec_by_acc);
  memset(&go_added, 0, sizeof go_added);
  memset(&gaf_taxon, 0, sizeof gaf_taxon);
  int64_t *ids = NULL;
  float *mat = NULL;

  fc_status st = fc_fasta_read(o->fasta, NULL, &seqs, err);
  if (st != FC_OK) goto out;
  if (seqs.n_issues) {
    fc_log_warn("reference build: %zu FASTA records of %s were not usable and are left out:", seqs.n_issues,
                o->fasta);
    for (size_t i = 0; i < seqs.n_issues; i++)
      fc_log_warn("  %s (line %zu): %s", seqs.issues[i].id ? seqs.issues[i].id : "?", seqs.issues[i].line,
                  seqs.issues[i].reason);
  }
  fc_annot_opts ao;
  memset(&ao, 0, sizeof ao);
  const char *const *codes = o->evidence_codes;
  size_t ncodes = o->n_evidence;
  if (!o->all_evidence && !codes) {
    codes = fc_experimental_evidence_codes;
    ncodes = 0;
    while (codes[ncodes])
      ncodes++;
  }
  if (!o->all_evidence) {
    ao.evidence_codes = codes;
    ao.n_evidence = ncodes;
  }
  ao.strict = !o->skip_bad_lines;
  if ((st = fc_annot_read(o->annotations, &ao, &ann, err)) != FC_OK) goto out;
  if ((st = fc_go_load(o->ontology, &go, err)) != FC_OK) goto out;
  if ((st = fc_embfile_read(o->embeddings, &emb, err)) != FC_OK) goto out;
  if (o->taxonomy_tsv &&
      (st = read_taxonomy_tsv(o->taxonomy_tsv, &taxbuf, &taxmap, &tax, &ntax, err)) != FC_OK)
    goto out;
  if ((st = fc_refdb_create(o->output, &db, err)) != FC_OK) goto out;

  /* taxon per accession from the annotation file (GAF), used when the FASTA header has none */
  fc_strmap_init(&gaf_taxon, 1024);
  for (size_t i = 0; i < ann.n; i++)
    if ((ann.rows[i].taxon && *ann.rows[i].taxon) || (ann.rows[i].symbol && *ann.rows[i].symbol))
      fc_strmap_put(&gaf_taxon, ann.rows[i].accession, strlen(ann.rows[i].accession), (int64_t)i, NULL);

  /* sequences and proteins */
  hi = calloc(seqs.n ? seqs.n : 1, sizeof *hi);
  seq_id_of_rec = calloc(seqs.n ? seqs.n : 1, sizeof *seq_id_of_rec);
  fc_strmap_init(&prot_by_key, seqs.n * 2);
  fc_strmap_init(&rec_by_acc, seqs.n);
  for (size_t i = 0; i < seqs.n; i++) {
    const fc_seq_record *r = &seqs.rec[i];
    parse_header(r, &hi[i]);
    if ((st = fc_refdb_add_sequence(db, r->seq, &seq_id_of_rec[i], err)) != FC_OK) goto out;
    const char *taxid = hi[i].taxid, *organism = hi[i].organism;
    int64_t ti;
    if (!taxid && (fc_strmap_get(&gaf_taxon, hi[i].accession, strlen(hi[i].accession), &ti) ||
                   fc_strmap_get(&gaf_taxon, r->id, strlen(r->id), &ti)))
      taxid = *ann.rows[ti].taxon ? ann.rows[ti].taxon
                                  : NULL; /* GAF column 13 when the FASTA header has no OX= */
    const char *gene = hi[i].gene;
    if (!gene &&
        (fc_strmap_get(&gaf_taxon, hi[i].accession, strlen(hi[i].accession), &ti) ||
         fc_strmap_get(&gaf_taxon, r->id, strlen(r->id), &ti)) &&
        *ann.rows[ti].symbol)
      gene = ann.rows[ti].symbol; /* GAF column 3 when the header has no GN= */
    if (ntax && (fc_strmap_get(&taxmap, hi[i].accession, strlen(hi[i].accession), &ti) ||
                 fc_strmap_get(&taxmap, r->id, strlen(r->id), &ti))) {
      taxid = tax[ti].taxid;
      if (tax[ti].organism) organism = tax[ti].organism;
    }
    if ((st = fc_refdb_add_protein(db, hi[i].protein_id, hi[i].accession, seq_id_of_rec[i], gene, organism,
                                   taxid, err)) != FC_OK) {
      if (st == FC_EDUPLICATE)
        st = fc_error_set(err, FC_EDUPLICATE, "%s:%zu: protein '%s' appears twice", o->fasta, r->line,
                          hi[i].protein_id);
      goto out;
    }
    fc_strmap_put(&prot_by_key, hi[i].accession, strlen(hi[i].accession), (int64_t)i, NULL);
    fc_strmap_put(&prot_by_key, hi[i].protein_id, strlen(hi[i].protein_id), (int64_t)i, NULL);
    fc_strmap_put(&prot_by_key, r->id, strlen(r->id), (int64_t)i, NULL);
    fc_strmap_put(&rec_by_acc, r->accession, strlen(r->accession), (int64_t)i, NULL);
    rep->proteins++;
  }

  /* GO terms and annotations */
  fc_strmap_init(&go_added, 4096);
  for (size_t i = 0; i < ann.n; i++) {
    const fc_annot *a = &ann.rows[i];
    int64_t ri;
    if (!fc_strmap_get(&prot_by_key, a->accession, strlen(a->accession), &ri)) {
      rep->unknown_protein++;
      continue;
    }
    int32_t gi = fc_go_find(go, a->go_id);
    const fc_go_term *term = gi >= 0 ? fc_go_term_at(go, gi) : NULL;
    if (term && term->obsolete && term->replaced_by) {
      int32_t g2 = fc_go_find(go, term->replaced_by);
      term = g2 >= 0 ? fc_go_term_at(go, g2) : NULL;
    }
    if (!term || term->obsolete) {
      rep->unknown_go++;
      continue;
    }
    if (fc_strmap_put(&go_added, term->id, strlen(term->id), 1, NULL) == 1) {
      if ((st = fc_refdb_add_go_term(db, term->id, term->aspect, term->name, err)) != FC_OK) goto out;
      rep->go_terms++;
    }
    const char *ev = a->evidence && *a->evidence ? a->evidence : "UNKNOWN";
    if ((st = fc_refdb_add_annotation(db, hi[ri].protein_id, term->id, ev, err)) != FC_OK) goto out;
    rep->annotations++;
  }
  rep->skipped_evidence = ann.n_skipped_evidence;

  /* embeddings: one matrix per (model, layer), one row per distinct sequence */
  block_type = calloc(emb.n_blocks ? emb.n_blocks : 1, sizeof *block_type);
  if (!block_type) {
    st = fc_error_set(err, FC_ENOMEM, "out of memory");
    goto out;
  }
  for (size_t b = 0; b < emb.n_blocks; b++) {
    const fc_emb_block *blk = &emb.blocks[b];
    const fc_fantasia_model *fm = fc_fantasia_model_find(blk->model);
    const char *name = fm ? fm->name : blk->model, *hf = fm ? fm->hf_id : NULL;
    int64_t known = fm ? fm->type_id : 0;
    int64_t type_id = 0;
    /* one type per model: a file with several layers of one model has several blocks of that model */
    for (size_t b2 = 0; b2 < b && !type_id; b2++)
      if (strcmp(emb.blocks[b2].model, blk->model) == 0) type_id = block_type[b2];
    if (!type_id &&
        (st = fc_refdb_add_embedding_type(db, name, known, hf ? hf : blk->model, &type_id, err)) != FC_OK)
      goto out;
    block_type[b] = type_id;
    free(ids);
    fc_aligned_free(mat);
    ids = malloc((blk->n ? blk->n : 1) * sizeof *ids);
    mat = fc_aligned_alloc((blk->n ? blk->n : 1) * blk->dim * sizeof *mat);
    if (!ids || !mat) {
      st = fc_error_set(err, FC_ENOMEM, "out of memory");
      goto out;
    }
    fc_strmap seen;
    fc_strmap_init(&seen, blk->n);
    size_t rows = 0, unknown = 0;
    for (size_t q = 0; q < blk->n; q++) {
      int64_t ri;
      if (!fc_strmap_get(&rec_by_acc, blk->accessions[q], strlen(blk->accessions[q]), &ri)) {
        unknown++;
        continue;
      }
      const fc_seq_record *r = &seqs.rec[ri];
      if (blk->sequences[q] && *blk->sequences[q] && strcmp(blk->sequences[q], r->seq) != 0) {
        fc_strmap_free(&seen);
        st = fc_error_set(
            err, FC_EMISMATCH,
            "%s: accession %s: the sequence stored with its embedding differs from the one in %s",
            o->embeddings, blk->accessions[q], o->fasta);
        goto out;
      }
      int64_t sid = seq_id_of_rec[ri];
      if (fc_strmap_put(&seen, (const char *)&seq_id_of_rec[ri], sizeof(int64_t), 1, NULL) != 1) continue;
      ids[rows] = sid;
      memcpy(mat + rows * blk->dim, blk->data + q * blk->dim, blk->dim * sizeof(float));
      rows++;
    }
    fc_strmap_free(&seen);
    if (unknown)
      fc_log_warn("reference build: %zu embeddings of %s (%s layer %d) have no record in %s and are ignored",
                  unknown, o->embeddings, blk->model, blk->layer, o->fasta);
    if ((st = fc_refdb_put_matrix(db, type_id, blk->layer, blk->pooling, ids, mat, rows, blk->dim, err)) !=
        FC_OK)
      goto out;
    rep->spaces++;
    /* sequences lacking a vector in this space are not searchable in it */
    size_t distinct = seqs.n_unique_seqs ? seqs.n_unique_seqs : seqs.n;
    if (rows < distinct) {
      rep->without_embedding += distinct - rows;
      fc_log_warn("reference build: %zu reference sequences have no %s layer %d embedding and cannot be "
                  "found in that space",
                  distinct - rows, name, blk->layer);
    }
  }
  rep->sequences = seqs.n_unique_seqs ? seqs.n_unique_seqs : seqs.n;

  /* provenance */
  {
    time_t now = time(NULL);
    char ts[64];
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    char *ev = NULL;
    if (o->all_evidence)
      ev = fc_strdup("all");
    else {
      size_t L = 1;
      for (size_t i = 0; i < ncodes; i++)
        L += strlen(codes[i]) + 1;
      ev = calloc(L, 1);
      for (size_t i = 0; i < ncodes; i++) {
        if (i) strcat(ev, ",");
        strcat(ev, codes[i]);
      }
    }
    const char *kv[][2] = {{"built_at", ts},
                           {"source_fasta", o->fasta},
                           {"source_annotations", o->annotations},
                           {"source_ontology", o->ontology},
                           {"ontology_version", fc_go_data_version(go)},
                           {"source_embeddings", o->embeddings},
                           {"source_taxonomy", o->taxonomy_tsv ? o->taxonomy_tsv : ""},
                           {"evidence_codes", ev}};
    for (size_t i = 0; i < sizeof kv / sizeof kv[0] && st == FC_OK; i++)
      st = fc_refdb_set_meta(db, kv[i][0], kv[i][1], err);
    free(ev);
    if (st != FC_OK) goto out;
  }
  st = fc_refdb_close(db, 1, err);
  db = NULL;
out:
  if (db) fc_refdb_close(db, 0, NULL);
  if (hi)
    for (size_t i = 0; i < seqs.n; i++)
      header_free(&hi[i]);
  free(hi);
  free(seq_id_of_rec);
  free(block_type);
  free(ids);
  fc_aligned_free(mat);
  free(tax);
  free(taxbuf);
  fc_strmap_free(&taxmap);
  fc_strmap_free(&prot_by_key);
  fc_strmap_free(&rec_by_acc);
  fc_strmap_free(&go_added);
  fc_strmap_free(&gaf_taxon);
  fc_embset_free(&emb);
  fc_go_free(go);
  fc_annot_set_free(&ann);
  fc_seqset_free(&seqs);
  return st;
}
