/* kmer: sequence-only baseline embedding (k-mer composition, L2-normalised). */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fantasia/models.h"

static const char KMER_ALPHABET[] = "ACDEFGHIKLMNPQRSTVWY";

size_t fc_kmer_dim(int k) {
  if (k < 1 || k > FC_KMER_MAX_K) return 0;
  size_t d = 1;
  for (int i = 0; i < k; i++)
    d *= 20;
  return d;
}

void fc_kmer_pooling_name(int k, char *buf, size_t n) {
  if (buf && n) snprintf(buf, n, "kmer-composition-k%d", k);
}

/* residue -> 0..19, anything else -> -1 */
static void residue_table(signed char t[256]) {
  memset(t, -1, 256);
  for (int i = 0; i < 20; i++) {
    unsigned char c = (unsigned char)KMER_ALPHABET[i];
    t[c] = (signed char)i;
    t[c + ('a' - 'A')] = (signed char)i;
  }
}

static void embed_one(const signed char *tab, const char *seq, size_t len, int k, size_t dim, float *out) {
  memset(out, 0, dim * sizeof *out);
  size_t idx = 0, run = 0;
  for (size_t i = 0; i < len; i++) {
    int r = tab[(unsigned char)seq[i]];
    if (r < 0) {
      run = 0;
      idx = 0;
      continue;
    }
    idx = (idx * 20 + (size_t)r) % dim; /* drops the residue that left the window */
    if (++run >= (size_t)k) out[idx] += 1.0f;
  }
  /* counts are exact integers in float up to 2^24 per k-mer; sum of squares in double */
  double ss = 0.0;
  for (size_t j = 0; j < dim; j++)
    ss += (double)out[j] * out[j];
  if (ss > 0.0) {
    double inv = 1.0 / sqrt(ss);
    for (size_t j = 0; j < dim; j++)
      if (out[j] != 0.0f) out[j] = (float)(out[j] * inv);
  }
}

fc_status fc_kmer_embed(const char *seq, size_t len, int k, float *out, fc_error *err) {
  size_t dim = fc_kmer_dim(k);
  if (!dim)
    return fc_error_set(err, FC_EINVAL, "kmer: k must be between 1 and %d (got %d)", FC_KMER_MAX_K, k);
  if (!out) return fc_error_set(err, FC_EINVAL, "kmer: output buffer is NULL");
  if (!seq && len) return fc_error_set(err, FC_EINVAL, "kmer: sequence is NULL");
  signed char tab[256];
  residue_table(tab);
  embed_one(tab, seq, len, k, dim, out);
  return FC_OK;
}

typedef struct {
  const char *const *seqs;
  const size_t *lens;
  size_t n, dim;
  int k;
  float *out;
  const signed char *tab;
  size_t next; /* guarded by mu */
  pthread_mutex_t mu;
} batch_ctx;

#define KMER_CHUNK 64

static void *batch_worker(void *arg) {
  batch_ctx *c = arg;
  for (;;) {
    pthread_mutex_lock(&c->mu);
    size_t lo = c->next;
    c->next = lo + KMER_CHUNK < c->n ? lo + KMER_CHUNK : c->n;
    size_t hi = c->next;
    pthread_mutex_unlock(&c->mu);
    if (lo >= hi) break;
    for (size_t i = lo; i < hi; i++) {
      const char *s = c->seqs[i] ? c->seqs[i] : "";
      size_t len = c->lens ? c->lens[i] : strlen(s);
      if (!c->seqs[i]) len = 0;
      embed_one(c->tab, s, len, c->k, c->dim, c->out + i * c->dim);
    }
  }
  return NULL;
}

fc_status fc_kmer_embed_batch(const char *const *seqs, const size_t *lens, size_t n, int k, float *out,
                              int threads, fc_error *err) {
  size_t dim = fc_kmer_dim(k);
  if (!dim)
    return fc_error_set(err, FC_EINVAL, "kmer: k must be between 1 and %d (got %d)", FC_KMER_MAX_K, k);
  if (n == 0) return FC_OK;
  if (!seqs || !out) return fc_error_set(err, FC_EINVAL, "kmer: NULL sequences or output buffer");
  for (size_t i = 0; i < n; i++)
    if (!seqs[i] && lens && lens[i])
      return fc_error_set(err, FC_EINVAL, "kmer: sequence %zu is NULL with length %zu", i, lens[i]);
  signed char tab[256];
  residue_table(tab);
  batch_ctx c = {seqs, lens, n, dim, k, out, tab, 0, PTHREAD_MUTEX_INITIALIZER};
  if (threads <= 0) threads = fc_num_threads();
  size_t max_useful = (n + KMER_CHUNK - 1) / KMER_CHUNK;
  if ((size_t)threads > max_useful) threads = (int)max_useful;
  if (threads <= 1) {
    batch_worker(&c);
    return FC_OK;
  }
  pthread_t *tids = malloc((size_t)threads * sizeof *tids);
  if (!tids) return fc_error_set(err, FC_ENOMEM, "kmer: out of memory");
  int started = 0;
  for (int t = 0; t < threads; t++) {
    if (pthread_create(&tids[t], NULL, batch_worker, &c) != 0) break;
    started++;
  }
  if (started == 0) batch_worker(&c); /* no thread could start: do it here */
  for (int t = 0; t < started; t++)
    pthread_join(tids[t], NULL);
  /* if some threads failed to start, the ones that did drained the queue */
  free(tids);
  pthread_mutex_destroy(&c.mu);
  return FC_OK;
}
