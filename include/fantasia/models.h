/* fantasia.c — models: protein embedding models.
 *
 * Section "kmer": the built-in, sequence-only baseline model. It needs no weights and no GPU, so the
 * whole pipeline (embed -> lookup -> transfer) can run anywhere; see docs/models.md "kmer".
 */
#ifndef FANTASIA_MODELS_H
#define FANTASIA_MODELS_H

#include <stddef.h>

#include <stdint.h>

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

/* ---- esm2: ESM-2 protein language model (HF transformers EsmModel semantics), CPU float32 ----
 * A model directory in Hugging Face layout: config.json, vocab.txt, and weights (model.safetensors,
 * sharded safetensors, pytorch_model.bin or its shards; names with or without the "esm." prefix, heads
 * ignored). Forward pass exactly as EsmModel: embedding, token-dropout rescale (x·0.88/(1−mask_ratio), rows
 * of <mask> zeroed), pre-LN layers with rotary attention using the checkpoint's inv_freq, and
 * emb_layer_norm_after applied to the last hidden state only (docs/models.md "ESM-2").
 * hidden_states has n_layers + 1 entries: [0] embedding output, [k] raw output of layer k (1 <= k < L),
 * [L] emb_layer_norm_after(output of layer L). FANTASIA's layer_index k selects hidden_states[L − k]
 * (0 = last, normed). Batches are packed without padding, so results do not depend on batching. */
#define FC_ESM2_POOLING "esm2-mean-residues" /* mean over residue positions 1..n (no <cls>/<eos>) */

typedef struct {
  int vocab_size, hidden_size, num_hidden_layers, num_attention_heads, intermediate_size;
  float layer_norm_eps;
  int token_dropout; /* 1: the 0.88 / (1 - mask ratio) rescale (ESM-2 default) */
  int mask_token_id, pad_token_id;
} fc_esm2_config;

typedef struct fc_esm2 fc_esm2;
struct fc_tokenizer;

/* Opens a model directory. weights: a checkpoint file or directory to read the tensors from instead of
 * dir (NULL: dir). Every tensor is converted to float32 and copied (the checkpoint is closed on return).
 * Errors name the file and the cause (missing/misshapen tensor, bad config value). */
fc_status fc_esm2_open(const char *dir, const char *weights, fc_esm2 **out, fc_error *err);
void fc_esm2_close(fc_esm2 *m);                                 /* NULL is fine */
const fc_esm2_config *fc_esm2_get_config(const fc_esm2 *m);     /* borrowed */
const struct fc_tokenizer *fc_esm2_tokenizer(const fc_esm2 *m); /* borrowed (the directory's vocab.txt) */
/* Token ids of a raw protein sequence as HF EsmTokenizer(seq) gives them (<cls> ... <eos>); *ids malloc'ed.
 */
fc_status fc_esm2_tokenize(const fc_esm2 *m, const char *seq, size_t len, int32_t **ids, size_t *n,
                           fc_error *err);
/* Forward pass over T token ids; states[(L+1) * T * H] receives every hidden state (state s, position t
 * at states[(s*T + t)*H]). Thread-safe (scratch is allocated per call). */
fc_status fc_esm2_forward(const fc_esm2 *m, const int32_t *ids, size_t T, float *states, fc_error *err);
/* Embeds one raw sequence: for each FANTASIA layer index layer_idx[j] (0 = last .. L = embedding output),
 * the mean of that hidden state over residue positions 1..T-2 goes to out[j * H .. j * H + H - 1]
 * (a sequence with no residue gives the zero vector). FC_EINVAL for an index outside 0..L.
 * A batch of one: fc_esm2_embed_batch(m, &seq, &len, 1, ...). */
fc_status fc_esm2_embed(const fc_esm2 *m, const char *seq, size_t len, const int *layer_idx, size_t n_idx,
                        float *out, fc_error *err);
/* Embeds n sequences in one packed forward pass: their tokens laid end to end with no padding; LayerNorm,
 * projections and FFN run over all rows at once (bigger GEMMs), token-dropout scaling (mask ratio of each
 * sequence), rotary positions 0..T_i−1 and attention (in query blocks, memory linear in T_i) per sequence,
 * so every result equals the single-sequence one up to float rounding of the larger GEMMs.
 * out[(i·n_idx + j)·H ..]: sequence i, layer index j. lens NULL: strlen. Only the requested states are
 * pooled, as each is produced; nothing else is kept. Thread-safe (scratch per call). */
fc_status fc_esm2_embed_batch(const fc_esm2 *m, const char *const *seqs, const size_t *lens, size_t n,
                              const int *layer_idx, size_t n_idx, float *out, fc_error *err);
/* Bytes of scratch fc_esm2_embed_batch allocates for a batch of total_tokens tokens whose longest sequence
 * has max_tokens tokens (tokens include <cls>/<eos>: residues + 2). The model weights are not counted. */
size_t fc_esm2_batch_bytes(const fc_esm2 *m, size_t total_tokens, size_t max_tokens);

/* FANTASIA's five models: the config key, the numeric type id of its reference dumps (spec §2.4:
 * type_1 .. type_5 in embeddings.h5) and the Hugging Face / SDK id. One table for the whole program. */
typedef struct {
  const char *name;
  int64_t type_id;
  const char *hf_id;    /* the id FANTASIA loads (Hugging Face repo, or the esm SDK name for ESM3c) */
  const char *hub_repo; /* the Hugging Face repository holding the published checkpoint */
} fc_fantasia_model;
/* By name (case-insensitive) or by the numeric id written as text ("3"); NULL when none matches. */
const fc_fantasia_model *fc_fantasia_model_find(const char *name_or_id);

/* Where a model's files are. `path` (a configured directory or file; NULL/"" = none) wins and must exist.
 * Otherwise `name` is looked up in model folders: `models_dir` when given, else $FANTASIA_MODELS, then the
 * Hugging Face cache ($HF_HUB_CACHE, $HF_HOME/hub, $XDG_CACHE_HOME/huggingface/hub,
 * ~/.cache/huggingface/hub). In each folder, for a FANTASIA name (ESM, Prot-T5, ...) or a hub id
 * ("org/name"): <folder>/<org>/<name>, <folder>/<name>, <folder>/<Name as given>, and the hub cache
 * layout <folder>/models--<org>--<name>/snapshots/<revision of refs/main, else the newest snapshot>.
 * "kmer" is returned as is. *out is malloc'ed. FC_ENOTFOUND lists every place tried. */
fc_status fc_model_locate(const char *name, const char *path, const char *models_dir, char **out,
                          fc_error *err);

/* ---- t5: T5 encoder family (ProtT5, ProstT5, Ankh, Ankh3; HF T5EncoderModel semantics), CPU float32 ----
 * A model directory in Hugging Face layout: config.json (d_model, d_kv, num_heads, d_ff, num_layers,
 * relative_attention_num_buckets, relative_attention_max_distance, layer_norm_epsilon, feed_forward_proj),
 * a tokenizer (vocab.txt, spiece.model or tokenizer.json; FC_TOK_AUTO order) and weights (any format of
 * weights.h; names with or without "model."; decoder and lm_head skipped). Forward pass exactly as HF
 * (models.md section 2): embedding without scaling, pre-norm blocks with RMSNorm, attention WITHOUT
 * 1/sqrt(d_kv) and with the relative position bias of block 0 shared by every block, FFN relu / gated
 * (gated-gelu uses gelu_new, the tanh approximation), final_layer_norm on the last hidden state only.
 * hidden_states has num_layers + 1 entries: [0] embedding output, [k] raw output of block k (1 <= k < L),
 * [L] final_layer_norm(output of block L). Batches are packed without padding. */
#define FC_T5_POOLING_ALL "t5-mean-all-tokens"    /* FANTASIA: mean over every token (prefix and </s> too) */
#define FC_T5_POOLING_RESIDUES "t5-mean-residues" /* mean over residue tokens only */

typedef enum { FC_T5_ACT_RELU = 0, FC_T5_ACT_GELU, FC_T5_ACT_GELU_NEW, FC_T5_ACT_SILU } fc_t5_act;
typedef enum { FC_T5_POOL_ALL = 0, FC_T5_POOL_RESIDUES } fc_t5_pooling;

typedef struct {
  int vocab_size, d_model, d_kv, num_heads, d_ff, num_layers;
  int num_buckets, max_distance; /* relative_attention_num_buckets / _max_distance (defaults 32 / 128) */
  float eps;                     /* layer_norm_epsilon (default 1e-6) */
  int gated;                     /* 1: "gated-X" feed_forward_proj (wi_0, wi_1) */
  fc_t5_act act;                 /* relu, gelu (erf), gelu_new ("gated-gelu"), silu */
  int pad_token_id, eos_token_id;
} fc_t5_config;

typedef struct fc_t5 fc_t5;

/* HF T5Attention._relative_position_bucket for the bidirectional encoder, r = key − query position,
 * evaluated in float32 like torch. */
int fc_t5_relative_bucket(int r, int num_buckets, int max_distance);

/* Opens a model directory (weights: a checkpoint file or directory instead of dir, NULL: dir). Every
 * tensor is converted to float32 and copied. Errors name the file and the cause. */
fc_status fc_t5_open(const char *dir, const char *weights, fc_t5 **out, fc_error *err);
void fc_t5_close(fc_t5 *m);                                 /* NULL is fine */
const fc_t5_config *fc_t5_get_config(const fc_t5 *m);       /* borrowed */
const struct fc_tokenizer *fc_t5_tokenizer(const fc_t5 *m); /* borrowed */
/* Token ids of a protein sequence: the text of fc_tokenizer_protein_text(style, ...) encoded with special
 * tokens (</s> appended). *ids malloc'ed. */
fc_status fc_t5_tokenize(const fc_t5 *m, int style, const char *seq, size_t len, int32_t **ids, size_t *n,
                         fc_error *err);
/* Forward pass over T token ids; states[(L+1) * T * d_model] receives every hidden state (state s,
 * position t at states[(s*T + t)*d]). Thread-safe (scratch per call). */
fc_status fc_t5_forward(const fc_t5 *m, const int32_t *ids, size_t T, float *states, fc_error *err);
/* Embeds one protein sequence (style: fc_protein_style of tokenize.h): for each FANTASIA layer index
 * layer_idx[j] (0 = last .. L = embedding output) the pooled state goes to out[j*d .. j*d + d − 1].
 * FC_T5_POOL_ALL: mean over all T tokens (FANTASIA's T5 path: prefix and </s> included);
 * FC_T5_POOL_RESIDUES: mean over positions p .. T−2 where p = 1 for the styles with a prefix token
 * (ProstT5, Ankh3) and 0 otherwise (no residue: zero vector). FC_EINVAL for an index outside 0..L. */
fc_status fc_t5_embed(const fc_t5 *m, int style, const char *seq, size_t len, const int *layer_idx,
                      size_t n_idx, fc_t5_pooling pooling, float *out, fc_error *err);
/* n sequences in one packed forward pass (as fc_esm2_embed_batch: no padding, RMSNorm / projections / FFN
 * over all rows, relative position bias and attention per sequence, built per query block so memory is
 * linear in T_i). out[(i·n_idx + j)·d ..]: sequence i, layer index j; lens NULL: strlen. A sequence's
 * result equals fc_t5_embed's up to float rounding of the larger GEMMs. */
fc_status fc_t5_embed_batch(const fc_t5 *m, int style, const char *const *seqs, const size_t *lens, size_t n,
                            const int *layer_idx, size_t n_idx, fc_t5_pooling pooling, float *out,
                            fc_error *err);
/* Bytes of scratch fc_t5_embed_batch allocates for total_tokens tokens, longest sequence max_tokens tokens
 * (tokens: residues + 1 for </s>, + 1 more with a prefix token). The model weights are not counted. */
size_t fc_t5_batch_bytes(const fc_t5 *m, size_t total_tokens, size_t max_tokens);

/* ---- esmc: ESM C (EvolutionaryScale ESMC 300M / 600M), as the `esm` package's ESMC.forward, CPU float32
 * ---- Checkpoint: the .pth state dict EvolutionaryScale publishes (hub repo
 * EvolutionaryScale/esmc-600m-2024-12: data/weights/esmc_600m_2024_12_v0.pth), in f32, bf16 or f16 storages
 * (docs/models.md "ESM C"). There is no config: d_model comes from embed.weight, n_layers from the block
 * count, the SwiGLU width from ffn.3.weight and heads = d_model / 64 (both published models), unless a
 * config.json beside the checkpoint (hub root) gives "n_heads" (the tiny test fixtures do). Forward pass
 * (models.md section 3): embedding (no scaling), per block: x += attn(LN(x)) / s and x += SwiGLU(LN(x)) / s
 * with s = sqrt(n_layers / 36); attention with LayerNorm over the full d_model on q and k (weight only),
 * rotary (rotate_half, base 10000, inv_freq and angles in float32 as the package computes them); SwiGLU gate
 * = FIRST half of ffn.1. `embeddings` = final LayerNorm (weight only) of the last block output. State layout
 * (fc_esmc_forward): n_layers + 1 slots, slot s < n_layers = output of block s+1, NOT normalised (the
 * package's hidden_states[s]); slot n_layers = `embeddings` (final-normed). FANTASIA's layer_index k (0 ..
 * n_layers−1) selects hidden_states[−(k+1)] = slot n_layers−1−k, so 0 is the last block output BEFORE the
 * final norm (FANTASIA's ESM3c; the normed `embeddings` is not selectable). */
#define FC_ESMC_POOLING "esmc-mean-residues" /* mean over residue positions 1..n (no <cls>/<eos>) */
#define FC_ESMC_VOCAB 33                     /* ids 0..32 of the fixed SEQUENCE_VOCAB (embed has 64 rows) */

typedef struct {
  int d_model, n_heads, n_layers, d_ff; /* d_ff: SwiGLU hidden width (ffn.1 has 2·d_ff rows) */
  int embed_rows;                       /* rows of embed.weight (64 in the published models) */
  float eps;                            /* LayerNorm eps, 1e-5 */
  float residue_scale;                  /* s = sqrt(n_layers / 36) as float32 */
} fc_esmc_config;

typedef struct fc_esmc fc_esmc;

/* 1 when path looks like an ESM C checkpoint: a *.pth file, or a directory holding
 * data/weights/esmc_*.pth, or a config.json with "model_type": "esmc", or *.pth files and no config.json. */
int fc_esmc_is_checkpoint(const char *path);
/* Opens a checkpoint: a hub directory (data/weights/esmc_*.pth, else the one *.pth / *.safetensors in it)
 * or the file itself. Tensors are converted to float32 and copied (the file is closed on return). Errors
 * name the file and the tensor (missing, misshapen, wrong dtype). */
fc_status fc_esmc_open(const char *path, fc_esmc **out, fc_error *err);
/* As fc_esmc_open with an explicit head count (n_heads <= 0: config.json or d_model / 64). */
fc_status fc_esmc_open_heads(const char *path, int n_heads, fc_esmc **out, fc_error *err);
void fc_esmc_close(fc_esmc *m);                             /* NULL is fine */
const fc_esmc_config *fc_esmc_get_config(const fc_esmc *m); /* borrowed */
/* Token ids as the package's encoding.tokenize_sequence gives them: <cls> ... <eos>, '_' → <mask>, the
 * literal special tokens <cls> <pad> <eos> <unk> <mask> kept as one token, every other character (Unicode
 * code point; an invalid UTF-8 byte counts as one) not in the vocabulary → <unk> (lowercase included).
 * *ids malloc'ed, *n = its length (2 for an empty sequence). Needs no model. */
fc_status fc_esmc_tokenize(const char *seq, size_t len, int32_t **ids, size_t *n, fc_error *err);
/* Forward pass over T token ids (one sequence, no padding); states[(n_layers + 1)·T·d] receives every
 * state in the layout above (slot s, position t at states[(s·T + t)·d]). Thread-safe (scratch per call). */
fc_status fc_esmc_forward(const fc_esmc *m, const int32_t *ids, size_t T, float *states, fc_error *err);
/* Embeds one raw sequence: for each FANTASIA layer index layer_idx[j] (0 = last block output before the
 * final norm .. n_layers−1 = output of block 1) the mean of that state over residue positions 1..T−2 goes
 * to out[j·d .. j·d + d − 1]. FC_EINVAL for an index outside 0..n_layers−1 or an empty sequence.
 * A batch of one: fc_esmc_embed_batch(m, &seq, &len, 1, ...). */
fc_status fc_esmc_embed(const fc_esmc *m, const char *seq, size_t len, const int *layer_idx, size_t n_idx,
                        float *out, fc_error *err);
/* n sequences in one packed forward pass (no padding: LayerNorms, projections and FFN over all rows at
 * once; rotary positions 0..T_i−1 and attention per sequence), so results equal one-at-a-time up to float
 * rounding of the larger GEMMs. out[(i·n_idx + j)·d ..]: sequence i, layer index j. lens NULL: strlen.
 * Only the requested states are pooled, as each is produced. Thread-safe (scratch per call). */
fc_status fc_esmc_embed_batch(const fc_esmc *m, const char *const *seqs, const size_t *lens, size_t n,
                              const int *layer_idx, size_t n_idx, float *out, fc_error *err);
/* Bytes of scratch fc_esmc_embed_batch allocates for total_tokens tokens whose longest sequence has
 * max_tokens tokens (residues + 2). The weights are not counted. */
size_t fc_esmc_batch_bytes(const fc_esmc *m, size_t total_tokens, size_t max_tokens);

#ifdef __cplusplus
}
#endif
#endif
