/* Stage A driver: FASTA -> embeddings.h5 for the built-in kmer model and ESM-2 model directories.
 * Resumable: vectors already in the (partial) file are kept; identical sequences are computed once;
 * every record that cannot be embedded is listed in failed_sequences.tsv with its reason. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "fantasia/models.h"
#include "fantasia/pipeline.h"
#include "fantasia/seqio.h"
#include "fantasia/tokenize.h"

static fc_status write_failed(const char *path, const fc_seqset *s, char **extra_id, char **extra_reason,
                              size_t n_extra, fc_error *err) {
  fc_atomic_file f;
  fc_status st = fc_atomic_open(&f, path, err);
  if (st != FC_OK) return st;
  fputs("accession\tline\treason\n", f.fp);
  for (size_t i = 0; i < s->n_issues; i++)
    fprintf(f.fp, "%s\t%zu\t%s\n", s->issues[i].id ? s->issues[i].id : "", s->issues[i].line,
            s->issues[i].reason);
  for (size_t i = 0; i < n_extra; i++)
    fprintf(f.fp, "%s\t\t%s\n", extra_id[i], extra_reason[i]);
  return fc_atomic_commit(&f, err);
}

static char *failed_path(const fc_embed_opts *o, const char *out_h5) {
  if (o && o->failed_tsv) return fc_strdup(o->failed_tsv);
  const char *slash = strrchr(out_h5, '/');
  return slash ? fc_sprintf("%.*s/failed_sequences.tsv", (int)(slash - out_h5), out_h5)
               : fc_strdup("failed_sequences.tsv");
}

/* A language model directory: ESM-2 (model_type "esm" or none), a T5 encoder (model_type "t5"), or an
 * ESM C checkpoint (fc_esmc_is_checkpoint: hub dir with data/weights/esmc_*.pth, or the .pth itself). */
typedef struct {
  fc_esm2 *esm;
  fc_t5 *t5;
  fc_esmc *esmc;
  int style;          /* fc_protein_style (T5) */
  fc_t5_pooling pool; /* T5 */
  const char *pooling_name;
  size_t L, H; /* L: the largest FANTASIA layer index */
} plm;

static void plm_close(plm *m) {
  fc_esm2_close(m->esm);
  fc_t5_close(m->t5);
  fc_esmc_close(m->esmc);
}

static int model_is_t5(const char *dir) {
  char *path = fc_path_join(dir, "config.json"), *txt = NULL;
  size_t len = 0;
  int t5 = 0;
  if (path && fc_read_file(path, 0, &txt, &len, NULL) == FC_OK) {
    cJSON *root = cJSON_ParseWithLength(txt, len);
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(root, "model_type");
    t5 = cJSON_IsString(mt) && (!strcmp(mt->valuestring, "t5") || !strcmp(mt->valuestring, "mt5"));
    cJSON_Delete(root);
  }
  free(txt);
  free(path);
  return t5;
}

static fc_status plm_open(const fc_embed_opts *o, plm *m, fc_error *err) {
  fc_status st;
  if (fc_esmc_is_checkpoint(o->model)) {
    if ((st = fc_esmc_open(o->model, &m->esmc, err)) != FC_OK) return st;
    m->pooling_name = FC_ESMC_POOLING;
    m->L = (size_t)fc_esmc_get_config(m->esmc)->n_layers - 1; /* hidden_states has no embedding entry */
    m->H = (size_t)fc_esmc_get_config(m->esmc)->d_model;
    return FC_OK;
  }
  if (model_is_t5(o->model)) {
    if ((st = fc_t5_open(o->model, NULL, &m->t5, err)) != FC_OK) return st;
    const fc_tokenizer *tok = fc_t5_tokenizer(m->t5);
    /* the text form each model's pipeline uses, recognised from the vocabulary */
    if (fc_tokenizer_token_to_id(tok, "<AA2fold>") >= 0)
      m->style = FC_PROTEIN_PROSTT5;
    else if (fc_tokenizer_token_to_id(tok, "[NLU]") >= 0)
      m->style = FC_PROTEIN_ANKH3_NLU;
    else if (fc_tokenizer_get_kind(tok) == FC_TOK_SPIECE)
      m->style = FC_PROTEIN_PROTT5;
    else
      m->style = FC_PROTEIN_RAW;
    m->pool = o->residue_pooling ? FC_T5_POOL_RESIDUES : FC_T5_POOL_ALL;
    m->pooling_name = o->residue_pooling ? FC_T5_POOLING_RESIDUES : FC_T5_POOLING_ALL;
    m->L = (size_t)fc_t5_get_config(m->t5)->num_layers;
    m->H = (size_t)fc_t5_get_config(m->t5)->d_model;
    return FC_OK;
  }
  if ((st = fc_esm2_open(o->model, NULL, &m->esm, err)) != FC_OK) return st;
  m->pooling_name = FC_ESM2_POOLING;
  m->L = (size_t)fc_esm2_get_config(m->esm)->num_hidden_layers;
  m->H = (size_t)fc_esm2_get_config(m->esm)->hidden_size;
  return FC_OK;
}

/* ESM-2: one sequence at a time (no padding, so results do not depend on batching); BLAS threads inside. */
static fc_status embed_esm2(const char *fasta, const char *out_h5, const fc_embed_opts *o, size_t *n_done,
                            size_t *n_failed, fc_error *err) {
  static const int default_layer = 0;
  const int *layers = o->layers && o->n_layers ? o->layers : &default_layer;
  size_t nl = o->layers && o->n_layers ? o->n_layers : 1;
  const char *name = o->model_name && *o->model_name ? o->model_name : "ESM";
  plm m = {0};
  fc_status st = plm_open(o, &m, err);
  if (st != FC_OK) return st;
  size_t L = m.L, H = m.H;
  if (!(o->model_name && *o->model_name) && m.t5) name = "T5";
  if (!(o->model_name && *o->model_name) && m.esmc) name = "ESM3c";
  for (size_t j = 0; j < nl; j++)
    if (layers[j] < 0 || (size_t)layers[j] > L) {
      plm_close(&m);
      return fc_error_set(err, FC_EINVAL, "%s: layer index %d outside 0..%zu (0 = last hidden state)",
                          o->model, layers[j], L);
    }
  fc_fasta_opts fo = {o->max_len, o->limit};
  fc_seqset s;
  if ((st = fc_fasta_read(fasta, &fo, &s, err)) != FC_OK) {
    plm_close(&m);
    return st;
  }
  fc_embfile_writer *w = NULL;
  float *vec = malloc(nl * H * sizeof *vec);
  char **fid = calloc(s.n ? s.n : 1, sizeof *fid), **freason = calloc(s.n ? s.n : 1, sizeof *freason);
  size_t nf = 0, done = 0, kept = 0;
  if (!vec || !fid || !freason) {
    st = fc_error_set(err, FC_ENOMEM, "out of memory");
    goto out;
  }
  if ((st = fc_embfile_writer_open(out_h5, o->dtype, 1, &w, err)) != FC_OK) goto out;
  fc_progress *pg = fc_progress_start(m.t5 ? "embed T5" : m.esmc ? "embed ESM C" : "embed ESM-2", s.n);
  for (size_t i = 0; i < s.n && st == FC_OK; i++) {
    const fc_seq_record *r = &s.rec[i];
    size_t have = 0;
    for (size_t j = 0; j < nl; j++)
      have += fc_embfile_writer_has(w, r->accession, name, layers[j]) != 0;
    if (have == nl) {
      kept++;
      done++;
      fc_progress_update(pg, i + 1);
      continue;
    }
    fc_error e2;
    fc_error_clear(&e2);
    fc_status es = m.t5     ? fc_t5_embed(m.t5, m.style, r->seq, r->len, layers, nl, m.pool, vec, &e2)
                   : m.esmc ? fc_esmc_embed(m.esmc, r->seq, r->len, layers, nl, vec, &e2)
                            : fc_esm2_embed(m.esm, r->seq, r->len, layers, nl, vec, &e2);
    if (es != FC_OK) { /* FANTASIA drops the single sequence and carries on */
      fid[nf] = fc_strdup(r->accession);
      freason[nf++] = fc_strdup(e2.msg);
      fc_log_warn("embed: %s: %s", r->accession, e2.msg);
      fc_progress_update(pg, i + 1);
      continue;
    }
    for (size_t j = 0; j < nl && st == FC_OK; j++)
      st = fc_embfile_writer_put(w, r->accession, r->seq, name, layers[j], m.pooling_name, vec + j * H, H,
                                 err);
    done++;
    fc_progress_update(pg, i + 1);
  }
  fc_progress_finish(pg);
  if (st != FC_OK) goto out;
  if (kept)
    fc_log_info("embed: %zu of %zu sequences were already in %s; %zu newly embedded", kept, s.n, out_h5,
                done - kept);
  st = fc_embfile_writer_close(w, 1, err);
  w = NULL;
  if (st != FC_OK) goto out;
  {
    char *fp = failed_path(o, out_h5);
    st = write_failed(fp, &s, fid, freason, nf, err);
    if (s.n_issues + nf)
      fc_log_warn("embed: %zu records could not be embedded; listed in %s", s.n_issues + nf, fp);
    free(fp);
  }
  if (n_done) *n_done = done;
  if (n_failed) *n_failed = s.n_issues + nf;
out:
  if (w) fc_embfile_writer_close(w, 0, NULL);
  for (size_t i = 0; i < nf; i++)
    free(fid[i]), free(freason[i]);
  free(fid);
  free(freason);
  free(vec);
  fc_seqset_free(&s);
  plm_close(&m);
  return st;
}

fc_status fc_embed_fasta(const char *fasta, const char *out_h5, const fc_embed_opts *o, size_t *n_done,
                         size_t *n_failed, fc_error *err) {
  if (n_done) *n_done = 0;
  if (n_failed) *n_failed = 0;
  const char *model = o && o->model ? o->model : "kmer";
  if (strcasecmp(model, "kmer") != 0) {
    char *cfg = fc_path_join(model, "config.json");
    int is_dir_model = (cfg && fc_file_exists(cfg)) || fc_esmc_is_checkpoint(model);
    free(cfg);
    if (is_dir_model) return embed_esm2(fasta, out_h5, o, n_done, n_failed, err);
  }
  if (strcasecmp(model, "kmer") != 0)
    return fc_error_set(err, FC_EUNSUPPORTED,
                        "model '%s': neither the built-in 'kmer' model nor a model directory with a "
                        "config.json (ESM-2 or T5), nor an ESM C checkpoint (see docs/models.md)",
                        model);
  int k = o && o->kmer_k > 0 ? o->kmer_k : FC_KMER_DEFAULT_K;
  if (k < 1 || k > 4) return fc_error_set(err, FC_EINVAL, "kmer k must be 1..4, got %d", k);
  fc_fasta_opts fo = {o ? o->max_len : 0, o ? o->limit : 0};
  fc_seqset s;
  fc_status st = fc_fasta_read(fasta, &fo, &s, err);
  if (st != FC_OK) return st;
  size_t dim = fc_kmer_dim(k);
  char pooling[32];
  snprintf(pooling, sizeof pooling, "kmer-composition-k%d", k);
  fc_embfile_writer *w = NULL;
  float *vecs = NULL;
  if ((st = fc_embfile_writer_open(out_h5, o ? o->dtype : FC_DTYPE_F32, 1, &w, err)) != FC_OK) goto out;
  /* compute each distinct sequence once, in parallel batches */
  size_t batch = 4096;
  vecs = fc_aligned_alloc(batch * dim * sizeof(float));
  const char **bseq = malloc(batch * sizeof *bseq);
  size_t *blen = malloc(batch * sizeof *blen), *brec = malloc(batch * sizeof *brec);
  if (!vecs || !bseq || !blen || !brec) {
    free(bseq);
    free(blen);
    free(brec);
    st = fc_error_set(err, FC_ENOMEM, "out of memory");
    goto out;
  }
  fc_progress *pg = fc_progress_start("embed kmer", s.n);
  size_t done = 0, kept = 0;
  for (size_t i = 0; i < s.n && st == FC_OK;) {
    size_t nb = 0;
    for (; i < s.n && nb < batch; i++) {
      if (fc_embfile_writer_has(w, s.rec[i].accession, "kmer", 0)) {
        done++;
        kept++;
        continue;
      }
      bseq[nb] = s.rec[i].seq;
      blen[nb] = s.rec[i].len;
      brec[nb] = i;
      nb++;
    }
    if (!nb) continue;
    if ((st = fc_kmer_embed_batch(bseq, blen, nb, k, vecs, o ? o->threads : 0, err)) != FC_OK) break;
    for (size_t j = 0; j < nb && st == FC_OK; j++) {
      const fc_seq_record *r = &s.rec[brec[j]];
      st = fc_embfile_writer_put(w, r->accession, r->seq, "kmer", 0, pooling, vecs + j * dim, dim, err);
      done++;
    }
    fc_progress_update(pg, done);
  }
  fc_progress_finish(pg);
  free(bseq);
  free(blen);
  free(brec);
  if (st != FC_OK) goto out;
  if (kept)
    fc_log_info("embed: %zu of %zu sequences were already in %s; %zu newly embedded", kept, s.n, out_h5,
                done - kept);
  st = fc_embfile_writer_close(w, 1, err);
  w = NULL;
  if (st != FC_OK) goto out;
  {
    char *fp = o && o->failed_tsv ? fc_strdup(o->failed_tsv) : NULL;
    if (!fp) {
      const char *slash = strrchr(out_h5, '/');
      fp = slash ? fc_sprintf("%.*s/failed_sequences.tsv", (int)(slash - out_h5), out_h5)
                 : fc_strdup("failed_sequences.tsv");
    }
    st = write_failed(fp, &s, NULL, NULL, 0, err);
    if (s.n_issues)
      fc_log_warn("embed: %zu FASTA records could not be embedded; listed in %s", s.n_issues, fp);
    free(fp);
  }
  if (n_done) *n_done = done;
  if (n_failed) *n_failed = s.n_issues;
out:
  if (w) fc_embfile_writer_close(w, 0, NULL);
  fc_aligned_free(vecs);
  fc_seqset_free(&s);
  return st;
}
