/* T5 encoder inference on the CPU, as HF transformers T5EncoderModel computes it (spec: models.md section 2):
 * ProtT5, ProstT5, Ankh, Ankh3. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fantasia/backend.h"
#include "fantasia/models.h"
#include "fantasia/tokenize.h"
#include "fantasia/weights.h"
#include "model_common.h"

typedef struct {
  float *ln1, *wq, *wk, *wv, *wo, *ln2, *wi, *wi1, *wout; /* wi = wi (ungated) or wi_0 (gated) */
} t5_block;

struct fc_t5 {
  fc_t5_config cfg;
  fc_tokenizer *tok;
  float *emb, *relb, *lnf; /* relb [num_buckets, heads] */
  t5_block *blk;
  float **owned;
  size_t n_owned;
};

int fc_t5_relative_bucket(int r, int num_buckets, int max_distance) {
  return fc_relative_position_bucket(r, num_buckets, max_distance);
}

/* HF T5Config: "gated-X" -> gated with X, else ungated X; "gated-gelu" uses gelu_new. */
static int parse_ffn(const char *s, fc_t5_config *c) {
  c->gated = strncmp(s, "gated-", 6) == 0;
  const char *a = c->gated ? s + 6 : s;
  if (strchr(a, '-')) return -1;
  if (!strcmp(a, "relu"))
    c->act = FC_T5_ACT_RELU;
  else if (!strcmp(a, "gelu"))
    c->act = c->gated ? FC_T5_ACT_GELU_NEW : FC_T5_ACT_GELU;
  else if (!strcmp(a, "gelu_new"))
    c->act = FC_T5_ACT_GELU_NEW;
  else if (!strcmp(a, "silu") || !strcmp(a, "swish"))
    c->act = FC_T5_ACT_SILU;
  else
    return -1;
  return 0;
}

static fc_status read_config(const char *dir, fc_t5_config *c, fc_error *err) {
  cJSON *root = NULL;
  char *path = NULL;
  fc_status st = fcm_read_json(dir, "config.json", &root, &path, err);
  if (st != FC_OK) return st;
  memset(c, 0, sizeof *c);
  c->num_buckets = 32;
  c->max_distance = 128;
  c->eps = 1e-6f;
  c->pad_token_id = 0;
  c->eos_token_id = 1;
  c->act = FC_T5_ACT_RELU;
  const cJSON *mt = cJSON_GetObjectItemCaseSensitive(root, "model_type");
  if (mt && (!cJSON_IsString(mt) || (strcmp(mt->valuestring, "t5") && strcmp(mt->valuestring, "mt5")))) {
    st = fc_error_set(err, FC_EUNSUPPORTED, "%s: model_type is not \"t5\"", path);
    goto out;
  }
  if ((st = fcm_cfg_int(root, "vocab_size", &c->vocab_size, 1, path, err)) != FC_OK ||
      (st = fcm_cfg_int(root, "d_model", &c->d_model, 1, path, err)) != FC_OK ||
      (st = fcm_cfg_int(root, "d_kv", &c->d_kv, 1, path, err)) != FC_OK ||
      (st = fcm_cfg_int(root, "num_heads", &c->num_heads, 1, path, err)) != FC_OK ||
      (st = fcm_cfg_int(root, "d_ff", &c->d_ff, 1, path, err)) != FC_OK ||
      (st = fcm_cfg_int(root, "num_layers", &c->num_layers, 1, path, err)) != FC_OK ||
      (st = fcm_cfg_int(root, "relative_attention_num_buckets", &c->num_buckets, 0, path, err)) != FC_OK ||
      (st = fcm_cfg_int(root, "relative_attention_max_distance", &c->max_distance, 0, path, err)) != FC_OK ||
      (st = fcm_cfg_int(root, "pad_token_id", &c->pad_token_id, 0, path, err)) != FC_OK ||
      (st = fcm_cfg_int(root, "eos_token_id", &c->eos_token_id, 0, path, err)) != FC_OK)
    goto out;
  const cJSON *eps = cJSON_GetObjectItemCaseSensitive(root, "layer_norm_epsilon");
  if (eps) {
    if (!cJSON_IsNumber(eps) || !(eps->valuedouble > 0)) {
      st = fc_error_set(err, FC_EFORMAT, "%s: 'layer_norm_epsilon' must be a positive number", path);
      goto out;
    }
    c->eps = (float)eps->valuedouble;
  }
  const cJSON *ff = cJSON_GetObjectItemCaseSensitive(root, "feed_forward_proj");
  if (ff && (!cJSON_IsString(ff) || parse_ffn(ff->valuestring, c) != 0)) {
    st = fc_error_set(err, FC_EUNSUPPORTED,
                      "%s: feed_forward_proj must be relu, gelu, silu or gated-<one of them>", path);
    goto out;
  }
  if (c->vocab_size < 1 || c->d_model < 1 || c->d_kv < 1 || c->num_heads < 1 || c->d_ff < 1 ||
      c->num_layers < 1 || c->d_model > 65536 || c->d_kv > 65536 || c->num_heads > 1024 ||
      c->d_ff > 1 << 20 || c->num_layers > 1024 || c->vocab_size > 1 << 20 || c->num_buckets < 4 ||
      c->num_buckets > 4096 || c->max_distance < c->num_buckets / 4 + 1)
    st = fc_error_set(err, FC_EFORMAT, "%s: a size field is out of range", path);
out:
  cJSON_Delete(root);
  free(path);
  return st;
}

static fc_status take(fc_t5 *m, const fc_weights *w, const char *name, const char *alt, int64_t d0,
                      int64_t d1, float **dst, const char *wpath, fc_error *err) {
  const fc_tensor *t = fc_weights_get(w, name);
  if (!t && alt) t = fc_weights_get(w, alt);
  if (!t) return fc_error_set(err, FC_ENOTFOUND, "%s: tensor '%s' missing", wpath, name);
  fc_status st = fc_tensor_take_f32(t, d0, d1, wpath, dst, err);
  if (*dst) m->owned[m->n_owned++] = *dst;
  return st;
}

void fc_t5_close(fc_t5 *m) {
  if (!m) return;
  for (size_t i = 0; i < m->n_owned; i++)
    fc_aligned_free(m->owned[i]);
  free(m->owned);
  free(m->blk);
  fc_tokenizer_close(m->tok);
  free(m);
}

fc_status fc_t5_open(const char *dir, const char *weights, fc_t5 **out, fc_error *err) {
  *out = NULL;
  fc_t5 *m = calloc(1, sizeof *m);
  if (!m) return fc_error_set(err, FC_ENOMEM, "out of memory");
  fc_status st = read_config(dir, &m->cfg, err);
  if (st != FC_OK) goto fail;
  if ((st = fc_tokenizer_open(dir, FC_TOK_AUTO, &m->tok, err)) != FC_OK) goto fail;
  const fc_t5_config *c = &m->cfg;
  size_t L = (size_t)c->num_layers, d = (size_t)c->d_model, I = (size_t)c->num_heads * (size_t)c->d_kv,
         F = (size_t)c->d_ff;
  m->blk = calloc(L, sizeof *m->blk);
  m->owned = calloc(3 + 9 * L, sizeof *m->owned);
  if (!m->blk || !m->owned) {
    st = fc_error_set(err, FC_ENOMEM, "out of memory");
    goto fail;
  }
  static const char *const strip[] = {"model.", NULL};
  fc_weights_options wo = {strip, 1};
  const char *wpath = weights ? weights : dir;
  fc_weights *w = NULL;
  if ((st = fc_weights_open(wpath, &wo, &w, err)) != FC_OK) goto fail;
  st = take(m, w, "shared.weight", "encoder.embed_tokens.weight", c->vocab_size, (int64_t)d, &m->emb, wpath,
            err);
  if (st == FC_OK)
    st = take(m, w, "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight", NULL,
              c->num_buckets, c->num_heads, &m->relb, wpath, err);
  if (st == FC_OK)
    st = take(m, w, "encoder.final_layer_norm.weight", NULL, (int64_t)d, 0, &m->lnf, wpath, err);
  for (size_t i = 0; i < L && st == FC_OK; i++) {
    t5_block *b = &m->blk[i];
    char n[160];
#define T2(field, nm, a, bb)                                                                                 \
  do {                                                                                                       \
    snprintf(n, sizeof n, "encoder.block.%zu.layer.%s", i, nm);                                              \
    if (st == FC_OK) st = take(m, w, n, NULL, (int64_t)(a), (int64_t)(bb), &b->field, wpath, err);           \
  } while (0)
    T2(ln1, "0.layer_norm.weight", d, 0);
    T2(wq, "0.SelfAttention.q.weight", I, d);
    T2(wk, "0.SelfAttention.k.weight", I, d);
    T2(wv, "0.SelfAttention.v.weight", I, d);
    T2(wo, "0.SelfAttention.o.weight", d, I);
    T2(ln2, "1.layer_norm.weight", d, 0);
    if (c->gated) {
      T2(wi, "1.DenseReluDense.wi_0.weight", F, d);
      T2(wi1, "1.DenseReluDense.wi_1.weight", F, d);
    } else {
      T2(wi, "1.DenseReluDense.wi.weight", F, d);
    }
    T2(wout, "1.DenseReluDense.wo.weight", d, F);
#undef T2
  }
  fc_weights_close(w);
  if (st != FC_OK) goto fail;
  *out = m;
  return FC_OK;
fail:
  fc_t5_close(m);
  return st;
}

const fc_t5_config *fc_t5_get_config(const fc_t5 *m) {
  return &m->cfg;
}
const struct fc_tokenizer *fc_t5_tokenizer(const fc_t5 *m) {
  return m->tok;
}

fc_status fc_t5_tokenize(const fc_t5 *m, int style, const char *seq, size_t len, int32_t **ids, size_t *n,
                         fc_error *err) {
  char *text = fc_tokenizer_protein_text((fc_protein_style)style, seq, len);
  if (!text) return fc_error_set(err, FC_ENOMEM, "out of memory");
  fc_status st = fc_tokenizer_encode(m->tok, text, strlen(text), 1, ids, n, err);
  free(text);
  return st;
}

/* the backend's dispatched activation for a T5 feed_forward_proj activation */
static fc_act t5_act(fc_t5_act act) {
  switch (act) {
  case FC_T5_ACT_RELU:
    return FC_ACT_RELU;
  case FC_T5_ACT_GELU:
    return FC_ACT_GELU_ERF;
  case FC_T5_ACT_GELU_NEW:
    return FC_ACT_GELU_TANH;
  case FC_T5_ACT_SILU:
    return FC_ACT_SILU;
  }
  return FC_ACT_IDENTITY;
}

/* Where the hidden states go: forward copies every state (keep[s], one sequence); embed pools state
 * L − layer_idx[j] of sequence i over rows [lo[i], hi[i]) into out[(i·n_idx + j)·d ..] as it is produced. */
typedef struct {
  float *const *keep;
  const int *layer_idx;
  size_t n_idx;
  const size_t *lo, *hi;
  float *out;
} t5_sink;

static void t5_emit(const fc_t5 *m, const t5_sink *sk, size_t s, const float *x, const size_t *off,
                    size_t n) {
  size_t d = (size_t)m->cfg.d_model, L = (size_t)m->cfg.num_layers;
  if (sk->keep) {
    if (sk->keep[s]) memcpy(sk->keep[s], x, off[n] * d * sizeof *x);
    return;
  }
  for (size_t j = 0; j < sk->n_idx; j++) {
    if (L - (size_t)sk->layer_idx[j] != s) continue;
    for (size_t i = 0; i < n; i++) {
      const float *xs = x + off[i] * d;
      size_t lo = sk->lo[i], hi = sk->hi[i];
      float *o = sk->out + (i * sk->n_idx + j) * d;
      for (size_t e = 0; e < d; e++) {
        double acc = 0;
        for (size_t t = lo; t < hi; t++)
          acc += xs[t * d + e];
        o[e] = hi > lo ? (float)(acc / (double)(hi - lo)) : 0.0f;
      }
    }
  }
}

/* Scratch of a packed batch: x, h [N, d], q, k, v, o [N, I], f (and g, gated) [N, F] and the attention
 * block, each rounded up to 16 floats, in ONE allocation (glibc mmaps a large block and returns it on
 * free, so batches of varying sizes do not fragment the heap). */
static size_t r16(size_t n) {
  return (n + 15) & ~(size_t)15;
}
/* *attw (optional): the floats of the attention table and blocks, what the slab's last part holds */
static size_t t5_scratch_floats(const fc_t5_config *c, size_t N, size_t Tmax, size_t *attw) {
  size_t d = (size_t)c->d_model, F = (size_t)c->d_ff, I = (size_t)c->num_heads * (size_t)c->d_kv;
  size_t aw = fc_attention_relbias_work(Tmax, (size_t)c->num_heads, FC_ATTENTION_BLOCK);
  if (attw) *attw = aw;
  return 2 * r16(N * d) + 4 * r16(N * I) + (c->gated ? 2 : 1) * r16(N * F) + r16(aw);
}

size_t fc_t5_batch_bytes(const fc_t5 *m, size_t total_tokens, size_t max_tokens) {
  return t5_scratch_floats(&m->cfg, total_tokens, max_tokens, NULL) * sizeof(float) +
         total_tokens * (sizeof(int32_t) + 4 * sizeof(size_t)) + 10 * 64;
}

/* The forward pass over n sequences packed end to end (sequence i: ids[off[i] .. off[i+1]), T[i] tokens):
 * RMSNorm, projections and FFN over all rows at once; the relative position bias (block 0's table, shared
 * by every block) and attention per sequence, built per query block. */
static fc_status t5_run(const fc_t5 *m, const int32_t *ids, const size_t *off, const size_t *T, size_t n,
                        const t5_sink *sk, fc_error *err) {
  const fc_t5_config *c = &m->cfg;
  size_t d = (size_t)c->d_model, F = (size_t)c->d_ff, L = (size_t)c->num_layers;
  size_t heads = (size_t)c->num_heads, dk = (size_t)c->d_kv, I = heads * dk, N = off[n], Tmax = 0;
  if (N == 0) return FC_OK;
  for (size_t i = 0; i < n; i++) {
    if (T[i] > 1u << 20) return fc_error_set(err, FC_EINVAL, "t5: sequence of %zu tokens is too long", T[i]);
    if (T[i] > Tmax) Tmax = T[i];
    for (size_t t = off[i]; t < off[i + 1]; t++)
      if (ids[t] < 0 || ids[t] >= c->vocab_size)
        return n == 1 ? fc_error_set(err, FC_EINVAL,
                                     "t5: token id %d at position %zu outside the vocabulary (%d)",
                                     (int)ids[t], t, c->vocab_size)
                      : fc_error_set(err, FC_EINVAL,
                                     "t5: sequence %zu of the batch: token id %d at position %zu outside "
                                     "the vocabulary (%d)",
                                     i, (int)ids[t], t - off[i], c->vocab_size);
  }
  size_t attw = 0;
  float *slab = fc_aligned_alloc(t5_scratch_floats(c, N, Tmax, &attw) * sizeof *slab);
  fc_status st = FC_OK;
  if (!slab) {
    st = n == 1 ? fc_error_set(err, FC_ENOMEM, "t5: out of memory for a sequence of %zu tokens", N)
                : fc_error_set(err, FC_ENOMEM, "t5: out of memory for a batch of %zu sequences, %zu tokens",
                               n, N);
    goto out;
  }
  float *x = slab, *h = x + r16(N * d), *q = h + r16(N * d), *k = q + r16(N * I), *v = k + r16(N * I),
        *o = v + r16(N * I), *f = o + r16(N * I), *g = c->gated ? f + r16(N * F) : NULL,
        *work = f + (c->gated ? 2 : 1) * r16(N * F);
  for (size_t t = 0; t < N; t++)
    memcpy(x + t * d, m->emb + (size_t)ids[t] * d, d * sizeof *x);
  t5_emit(m, sk, 0, x, off, n);
  for (size_t l = 0; l < L; l++) {
    const t5_block *b = &m->blk[l];
    fc_rmsnorm(x, N, d, b->ln1, c->eps, h);
    fc_linear(h, b->wq, NULL, N, I, d, q);
    fc_linear(h, b->wk, NULL, N, I, d, k);
    fc_linear(h, b->wv, NULL, N, I, d, v);
    for (size_t i = 0; i < n; i++) { /* no 1/sqrt(d_kv) in T5 */
      size_t r = off[i] * I;
      fc_attention_relbias_blocked(q + r, k + r, v + r, T[i], heads, dk, I, m->relb, c->num_buckets,
                                   c->max_distance, o + r, work, attw, FC_ATTENTION_BLOCK);
    }
    fc_linear(o, b->wo, NULL, N, d, I, h);
    fc_add_scaled(x, h, 1.0f, N * d);
    fc_rmsnorm(x, N, d, b->ln2, c->eps, h);
    fc_linear(h, b->wi, NULL, N, F, d, f);
    if (c->gated) { /* act(wi_0 h) ⊙ (wi_1 h) */
      fc_linear(h, b->wi1, NULL, N, F, d, g);
      fc_gated(t5_act(c->act), f, F, g, F, N, F, f, F);
    } else {
      fc_act_apply(t5_act(c->act), f, N * F);
    }
    fc_linear(f, b->wout, NULL, N, d, F, h);
    fc_add_scaled(x, h, 1.0f, N * d);
    if (l + 1 == L) fc_rmsnorm(x, N, d, m->lnf, c->eps, x); /* hidden_states[L] is normed */
    t5_emit(m, sk, l + 1, x, off, n);
  }
out:
  fc_aligned_free(slab);
  return st;
}

fc_status fc_t5_forward(const fc_t5 *m, const int32_t *ids, size_t T, float *states, fc_error *err) {
  size_t L = (size_t)m->cfg.num_layers, d = (size_t)m->cfg.d_model;
  float **keep = malloc((L + 1) * sizeof *keep);
  if (!keep) return fc_error_set(err, FC_ENOMEM, "out of memory");
  for (size_t s = 0; s <= L; s++)
    keep[s] = states + s * T * d;
  size_t off[2] = {0, T};
  t5_sink sk = {keep, NULL, 0, NULL, NULL, NULL};
  fc_status st = t5_run(m, ids, off, &T, 1, &sk, err);
  free(keep);
  return st;
}

fc_status fc_t5_embed_batch(const fc_t5 *m, int style, const char *const *seqs, const size_t *lens, size_t n,
                            const int *layer_idx, size_t n_idx, fc_t5_pooling pooling, float *out,
                            fc_error *err) {
  const fc_t5_config *c = &m->cfg;
  size_t L = (size_t)c->num_layers;
  for (size_t j = 0; j < n_idx; j++)
    if (layer_idx[j] < 0 || (size_t)layer_idx[j] > L)
      return fc_error_set(err, FC_EINVAL, "t5: layer index %d outside 0..%zu (0 = last layer)", layer_idx[j],
                          L);
  if (pooling != FC_T5_POOL_ALL && pooling != FC_T5_POOL_RESIDUES)
    return fc_error_set(err, FC_EINVAL, "t5: unknown pooling %d", (int)pooling);
  if (n == 0) return FC_OK;
  size_t *off = malloc((n + 1) * sizeof *off), *T = malloc(n * sizeof *T), *lo = malloc(n * sizeof *lo),
         *hi = malloc(n * sizeof *hi);
  int32_t **tid = calloc(n, sizeof *tid), *ids = NULL;
  fc_status st = FC_OK;
  if (!off || !T || !lo || !hi || !tid) {
    st = fc_error_set(err, FC_ENOMEM, "out of memory");
    goto out;
  }
  off[0] = 0;
  for (size_t i = 0; i < n && st == FC_OK; i++) {
    const char *sq = seqs[i] ? seqs[i] : "";
    st = fc_t5_tokenize(m, style, sq, !seqs[i] ? 0 : lens ? lens[i] : strlen(sq), &tid[i], &T[i], err);
    if (st != FC_OK) break;
    off[i + 1] = off[i] + T[i];
    /* FC_T5_POOL_ALL: every token; residues: p .. T−2, p = 1 after a prefix token (ProstT5, Ankh3) */
    lo[i] = 0, hi[i] = T[i];
    if (pooling == FC_T5_POOL_RESIDUES) {
      lo[i] = (style == FC_PROTEIN_PROSTT5 || style == FC_PROTEIN_ANKH3_NLU) ? 1 : 0;
      /* ProtT5 with FANTASIA's "<AA2fold>": the prefix is however many pieces ProtT5's vocabulary makes
       * of it; in the spaced form every residue is one piece, so the residues are the last len before </s> */
      size_t len_i = !seqs[i] ? 0 : lens ? lens[i] : strlen(sq);
      if (style == FC_PROTEIN_PROTT5_FANTASIA) lo[i] = T[i] >= 1 + len_i ? T[i] - 1 - len_i : 0;
      hi[i] = T[i] >= 1 ? T[i] - 1 : 0;
      if (hi[i] < lo[i]) hi[i] = lo[i];
    }
  }
  if (st != FC_OK) goto out;
  if (!(ids = malloc((off[n] ? off[n] : 1) * sizeof *ids))) {
    st = fc_error_set(err, FC_ENOMEM, "t5: out of memory for %zu tokens", off[n]);
    goto out;
  }
  for (size_t i = 0; i < n; i++)
    memcpy(ids + off[i], tid[i], T[i] * sizeof *ids);
  /* a sequence without tokens (not produced by the tokenizers, which append </s>) pools to zero */
  for (size_t i = 0; i < n; i++)
    if (!T[i])
      for (size_t j = 0; j < n_idx; j++)
        memset(out + (i * n_idx + j) * (size_t)c->d_model, 0, (size_t)c->d_model * sizeof *out);
  t5_sink sk = {NULL, layer_idx, n_idx, lo, hi, out};
  st = t5_run(m, ids, off, T, n, &sk, err);
out:
  if (tid)
    for (size_t i = 0; i < n; i++)
      free(tid[i]);
  free(tid), free(ids), free(off), free(T), free(lo), free(hi);
  return st;
}

fc_status fc_t5_embed(const fc_t5 *m, int style, const char *seq, size_t len, const int *layer_idx,
                      size_t n_idx, fc_t5_pooling pooling, float *out, fc_error *err) {
  return fc_t5_embed_batch(m, style, &seq, &len, 1, layer_idx, n_idx, pooling, out, err);
}
