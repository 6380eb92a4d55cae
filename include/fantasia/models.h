/* fantasia.c — models: protein embedding models.
 *
 * Section "kmer": the built-in, sequence-only baseline model. It needs no weights and no GPU, so the
 * whole pipeline (embed -> lookup -> transfer) can run anywhere; see docs/models.md "kmer".
 */
#ifndef FANTASIA_MODELS_H
#define FANTASIA_MODELS_H

#include <stddef.h>

#include "fantasia/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- kmer: L2-normalised counts of overlapping k-mers over the 20 standard residues ----
 * Alphabet and index order: ACDEFGHIKLMNPQRSTVWY (lowercase letters count as the same residue).
 * The k-mer r_1..r_k has index sum_i idx(r_i) * 20^(k-i) (first residue most significant).
 * k-mers containing any other character (X, B, Z, J, U, O, '*', '-', ...) are skipped.
 * A sequence shorter than k, or without a single valid k-mer, gives the ZERO vector (norm 0): no
 * information; lookup must treat a zero vector as FANTASIA's GPU path does (cosine distance 1 to every
 * reference, not NaN; spec section 11 item 21). */
#define FC_KMER_MODEL_NAME "kmer"
#define FC_KMER_DEFAULT_K 3
#define FC_KMER_MAX_K 5 /* 20^5 = 3.2 M values per vector; larger k is refused */
#define FC_KMER_POOLING_DEFAULT "kmer-composition-k3"

/* 20^k for 1 <= k <= FC_KMER_MAX_K, else 0. */
size_t fc_kmer_dim(int k);
/* Pooling name recorded in embeddings.h5 for this k: "kmer-composition-k<k>". Writes at most n bytes. */
void fc_kmer_pooling_name(int k, char *buf, size_t n);
/* Embeds one sequence of len bytes (need not be NUL-terminated) into out[fc_kmer_dim(k)].
 * FC_EINVAL for a k outside 1..FC_KMER_MAX_K or a NULL seq with len > 0. Thread-safe. */
fc_status fc_kmer_embed(const char *seq, size_t len, int k, float *out, fc_error *err);
/* n sequences into out[n * fc_kmer_dim(k)] (row i = sequence i), using `threads` POSIX threads
 * (<= 0: fc_num_threads()). lens may be NULL (then strlen is used). Results equal fc_kmer_embed's. */
fc_status fc_kmer_embed_batch(const char *const *seqs, const size_t *lens, size_t n, int k, float *out,
                              int threads, fc_error *err);

#ifdef __cplusplus
}
#endif
#endif
