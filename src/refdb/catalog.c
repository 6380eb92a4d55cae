/* The reference catalogue: sequences -> proteins -> GO annotations, in memory, indexed by
 * sequence id. Same rows as FANTASIA's annotation query (spec §5.4: inner joins of sequence,
 * protein, protein_go_term_annotation and go_terms), plus proteins without annotations. */
#include "fantasia/refdb.h"
#include "refdb/refdb_internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct chunk {
  struct chunk *next;
  size_t used, cap;
  char data[];
} chunk;

struct fc_refcatalog {
  fc_ref_sequence *seqs;
  size_t n_seqs;
  fc_ref_protein *prots;
  size_t n_prots;
  fc_ref_go *gos;
  size_t n_gos;
  int32_t *dense; /* index by (id - min_id), -1 when absent; NULL when ids are sparse */
  int64_t min_id, max_id;
  chunk *arena;
};

static const char *arena_str(fc_refcatalog *c, const unsigned char *s, int len) {
  if (!s) return NULL;
  size_t need = (size_t)len + 1;
  if (!c->arena || c->arena->cap - c->arena->used < need) {
    size_t cap = need > (1u << 20) ? need : (1u << 20);
    chunk *k = malloc(sizeof *k + cap);
    if (!k) return NULL;
    k->next = c->arena;
    k->used = 0;
    k->cap = cap;
    c->arena = k;
  }
  char *p = c->arena->data + c->arena->used;
  memcpy(p, s, (size_t)len);
  p[len] = 0;
  c->arena->used += need;
  return p;
}

/* Copies column i; *oom is set when a non-NULL value could not be copied. */
static const char *col(fc_refcatalog *c, sqlite3_stmt *s, int i, int *oom) {
  const unsigned char *t = sqlite3_column_text(s, i);
  if (!t) return NULL;
  const char *r = arena_str(c, t, sqlite3_column_bytes(s, i));
  if (!r) *oom = 1;
  return r;
}

void fc_refcatalog_free(fc_refcatalog *c) {
  if (!c) return;
  while (c->arena) {
    chunk *k = c->arena->next;
    free(c->arena);
    c->arena = k;
  }
  free(c->seqs);
  free(c->prots);
  free(c->gos);
  free(c->dense);
  free(c);
}

typedef struct {
  const char *go_id;
  char category;
  const char *description;
} term;

static int cmp_term(const void *key, const void *elem) {
  return strcmp((const char *)key, ((const term *)elem)->go_id);
}

typedef struct {
  int64_t seq;
  size_t idx; /* index in id order */
} prot_key;

static int cmp_prot_key(const void *a, const void *b) {
  const prot_key *x = a, *y = b;
  if (x->seq != y->seq) return (x->seq > y->seq) - (x->seq < y->seq);
  return (x->idx > y->idx) - (x->idx < y->idx);
}

static int grow(void **p, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap) return 0;
  size_t nc = *cap ? *cap * 2 : 1024;
  while (nc < need)
    nc *= 2;
  void *q = realloc(*p, nc * elem);
  if (!q) return -1;
  *p = q;
  *cap = nc;
  return 0;
}

fc_status fc_refdb_load_catalog(fc_refdb *db, fc_refcatalog **out, fc_error *err) {
  *out = NULL;
  sqlite3 *h = fc_refdb__sqlite(db);
  if (!h) return fc_error_set(err, FC_EINVAL, "reference store: NULL handle");
  const char *path = fc_refdb_path(db);
  fc_refcatalog *c = calloc(1, sizeof *c);
  if (!c) return fc_error_set(err, FC_ENOMEM, "out of memory");
  term *terms = NULL;
  size_t n_terms = 0, cap_terms = 0, cap_seqs = 0, cap_prots = 0, cap_gos = 0;
  const char **evid = NULL; /* interned evidence codes (few) */
  size_t n_evid = 0, cap_evid = 0;
  size_t *prot_go_start = NULL;
  int64_t *prot_seq = NULL;
  fc_ref_protein *byid = NULL; /* proteins in id order while loading */
  size_t n_byid = 0;
  prot_key *order = NULL;
  size_t cap_ps = 0, cap_pg = 0;
  sqlite3_stmt *s = NULL;
  int oom = 0, rc = SQLITE_DONE;
  fc_status st = FC_OK;

  /* 1. GO terms, sorted by go_id (BINARY collation = strcmp order). */
  if (sqlite3_prepare_v2(h, "SELECT go_id, category, description FROM go_terms ORDER BY go_id", -1, &s,
                         NULL) != SQLITE_OK)
    goto sqlerr;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    if (grow((void **)&terms, &cap_terms, n_terms + 1, sizeof *terms)) goto nomem;
    term *t = &terms[n_terms++];
    t->go_id = col(c, s, 0, &oom);
    const unsigned char *cat = sqlite3_column_text(s, 1);
    t->category = cat ? (char)cat[0] : 0;
    t->description = col(c, s, 2, &oom);
    if (oom) goto nomem;
  }
  if (rc != SQLITE_DONE) goto sqlerr;
  sqlite3_finalize(s);
  s = NULL;

  /* 2. Sequences by id. */
  if (sqlite3_prepare_v2(h, "SELECT id, sequence FROM sequence ORDER BY id", -1, &s, NULL) != SQLITE_OK)
    goto sqlerr;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    if (grow((void **)&c->seqs, &cap_seqs, c->n_seqs + 1, sizeof *c->seqs)) goto nomem;
    fc_ref_sequence *q = &c->seqs[c->n_seqs++];
    memset(q, 0, sizeof *q);
    q->id = sqlite3_column_int64(s, 0);
    q->sequence = col(c, s, 1, &oom);
    if (oom) goto nomem;
    if (!q->sequence) q->sequence = "";
  }
  if (rc != SQLITE_DONE) goto sqlerr;
  sqlite3_finalize(s);
  s = NULL;

  /* 3. Proteins in primary-key order (no sort needed in SQLite). */
  if (sqlite3_prepare_v2(
          h, "SELECT id, accession, sequence_id, gene_name, organism, taxonomy_id FROM protein ORDER BY id",
          -1, &s, NULL) != SQLITE_OK)
    goto sqlerr;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    if (grow((void **)&byid, &cap_prots, n_byid + 1, sizeof *byid) ||
        grow((void **)&prot_seq, &cap_ps, n_byid + 1, sizeof *prot_seq) ||
        grow((void **)&prot_go_start, &cap_pg, n_byid + 1, sizeof *prot_go_start))
      goto nomem;
    fc_ref_protein *p = &byid[n_byid];
    memset(p, 0, sizeof *p);
    p->protein_id = col(c, s, 0, &oom);
    p->accession = col(c, s, 1, &oom);
    prot_seq[n_byid] = sqlite3_column_int64(s, 2);
    p->gene_name = col(c, s, 3, &oom);
    p->organism = col(c, s, 4, &oom);
    p->taxonomy_id = col(c, s, 5, &oom);
    if (oom || !p->protein_id) goto nomem;
    n_byid++;
  }
  if (rc != SQLITE_DONE) goto sqlerr;
  sqlite3_finalize(s);
  s = NULL;

  /* 4. Annotations in primary-key order (protein_id, go_id), merged with the proteins by id. */
  if (sqlite3_prepare_v2(h,
                         "SELECT protein_id, go_id, evidence_code FROM protein_go_term_annotation ORDER BY "
                         "protein_id, go_id",
                         -1, &s, NULL) != SQLITE_OK)
    goto sqlerr;
  size_t pi = 0;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    const char *pid = (const char *)sqlite3_column_text(s, 0);
    const char *gid = (const char *)sqlite3_column_text(s, 1);
    const char *ev = (const char *)sqlite3_column_text(s, 2);
    if (!pid || !gid) continue;
    while (pi < n_byid && strcmp(byid[pi].protein_id, pid) < 0) {
      pi++;
      if (pi < n_byid) prot_go_start[pi] = c->n_gos;
    }
    if (pi >= n_byid || strcmp(byid[pi].protein_id, pid) != 0) continue; /* no such protein: inner join */
    const term *t = bsearch(gid, terms, n_terms, sizeof *terms, cmp_term);
    if (!t) continue; /* inner join with go_terms, as FANTASIA */
    const char *e = NULL;
    if (ev) {
      for (size_t k = 0; k < n_evid && !e; k++)
        if (strcmp(evid[k], ev) == 0) e = evid[k];
      if (!e) {
        if (grow((void **)&evid, &cap_evid, n_evid + 1, sizeof *evid)) goto nomem;
        e = evid[n_evid++] = arena_str(c, (const unsigned char *)ev, (int)strlen(ev));
        if (!e) goto nomem;
      }
    }
    if (grow((void **)&c->gos, &cap_gos, c->n_gos + 1, sizeof *c->gos)) goto nomem;
    c->gos[c->n_gos++] = (fc_ref_go){t->go_id, t->category, t->description, e};
    byid[pi].n_go++;
  }
  if (rc != SQLITE_DONE) goto sqlerr;
  sqlite3_finalize(s);
  s = NULL;
  /* prot_go_start[i] is set when the merge reaches protein i; proteins never reached have no GO. */
  if (n_byid) prot_go_start[0] = 0;
  for (size_t i = pi + 1; i < n_byid; i++)
    prot_go_start[i] = c->n_gos;
  for (size_t i = 0; i < n_byid; i++)
    byid[i].go = byid[i].n_go ? c->gos + prot_go_start[i] : NULL;

  /* 5. Proteins ordered by (sequence id, protein id), then grouped into their sequences. */
  if (n_byid) {
    order = malloc(n_byid * sizeof *order);
    c->prots = malloc(n_byid * sizeof *c->prots);
    if (!order || !c->prots) goto nomem;
    for (size_t i = 0; i < n_byid; i++)
      order[i] = (prot_key){prot_seq[i], i};
    qsort(order, n_byid, sizeof *order, cmp_prot_key); /* stable enough: idx breaks ties in id order */
    for (size_t i = 0; i < n_byid; i++)
      c->prots[i] = byid[order[i].idx];
    c->n_prots = n_byid;
  }
  size_t k = 0;
  for (size_t i = 0; i < c->n_seqs; i++) {
    fc_ref_sequence *q = &c->seqs[i];
    while (k < c->n_prots && order[k].seq < q->id)
      k++;
    size_t k0 = k;
    while (k < c->n_prots && order[k].seq == q->id)
      k++;
    q->proteins = k > k0 ? c->prots + k0 : NULL;
    q->n_proteins = k - k0;
  }

  /* 6. Index. */
  if (c->n_seqs) {
    c->min_id = c->seqs[0].id;
    c->max_id = c->seqs[c->n_seqs - 1].id;
    uint64_t span = (uint64_t)(c->max_id - c->min_id) + 1;
    if (span <= 4 * (uint64_t)c->n_seqs + 1024 && span < INT32_MAX) {
      c->dense = malloc(span * sizeof *c->dense);
      if (c->dense) {
        for (uint64_t i = 0; i < span; i++)
          c->dense[i] = -1;
        for (size_t i = 0; i < c->n_seqs; i++)
          c->dense[c->seqs[i].id - c->min_id] = (int32_t)i;
      }
    }
  }
  goto done;

sqlerr:
  st = fc_error_set(err, FC_EIO, "%s: cannot load the reference catalogue: %s", path, sqlite3_errmsg(h));
  goto done;
nomem:
  st = fc_error_set(err, FC_ENOMEM, "%s: out of memory loading the reference catalogue", path);
done:
  sqlite3_finalize(s);
  free(terms);
  free(evid);
  free(prot_go_start);
  free(prot_seq);
  free(byid);
  free(order);
  if (st) {
    fc_refcatalog_free(c);
    return st;
  }
  *out = c;
  return FC_OK;
}

static int cmp_seq_id(const void *key, const void *elem) {
  int64_t a = *(const int64_t *)key, b = ((const fc_ref_sequence *)elem)->id;
  return (a > b) - (a < b);
}

const fc_ref_sequence *fc_refcatalog_get(const fc_refcatalog *c, int64_t id) {
  if (!c || !c->n_seqs || id < c->min_id || id > c->max_id) return NULL;
  if (c->dense) {
    int32_t i = c->dense[id - c->min_id];
    return i < 0 ? NULL : &c->seqs[i];
  }
  return bsearch(&id, c->seqs, c->n_seqs, sizeof *c->seqs, cmp_seq_id);
}

size_t fc_refcatalog_count(const fc_refcatalog *c) {
  return c ? c->n_seqs : 0;
}

const fc_ref_sequence *fc_refcatalog_at(const fc_refcatalog *c, size_t i) {
  return c && i < c->n_seqs ? &c->seqs[i] : NULL;
}

