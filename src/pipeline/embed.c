/* Stage A driver: FASTA -> embeddings.h5 for the built-in kmer model (language models: issue #3).
 * Resumable: vectors already in the (partial) file are kept; identical sequences are computed once;
 * every record that cannot be embedded is listed in failed_sequences.tsv with its reason. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fantasia/models.h"
#include "fantasia/pipeline.h"
#include "fantasia/seqio.h"

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

fc_status fc_embed_fasta(const char *fasta, const char *out_h5, const fc_embed_opts *o, size_t *n_done,
                         size_t *n_failed, fc_error *err) {
  if (n_done) *n_done = 0;
  if (n_failed) *n_failed = 0;
  const char *model = o && o->model ? o->model : "kmer";
  if (strcasecmp(model, "kmer") != 0)
    return fc_error_set(err, FC_EUNSUPPORTED,
                        "model '%s': only the built-in 'kmer' model is available in this build (language "
                        "models: see docs/models.md)",
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
