/* ESM-2 inference on the CPU, as HF transformers EsmModel computes it (spec: models.md section 1). */
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
  float *ln1_w, *ln1_b, *wq, *bq, *wk, *bk, *wv, *bv, *wo, *bo, *ln2_w, *ln2_b, *w1, *b1, *w2, *b2, *inv_freq;
} esm2_layer;

struct fc_esm2 {
  fc_esm2_config cfg;
  fc_tokenizer *tok;
  float *emb, *lnf_w, *lnf_b;
  esm2_layer *layer;
  float **owned; /* every tensor copy, freed at close */
  size_t n_owned;
};

static fc_status read_config(const char *dir, fc_esm2_config *c, double *rope_theta, fc_error *err) {
  cJSON *root = NULL;
  char *path = NULL;
  fc_status st = fcm_read_json(dir, "config.json", &root, &path, err);
  if (st != FC_OK) return st;
  memset(c, 0, sizeof *c);
  c->token_dropout = 0;
  c->mask_token_id = 32;
  c->pad_token_id = 1;
  c->layer_norm_eps = 1e-5f;
  *rope_theta = 10000.0;
  const cJSON *mt = cJSON_GetObjectItemCaseSensitive(root, "model_type");
  if (mt && (!cJSON_IsString(mt) || strcmp(mt->valuestring, "esm") != 0)) {
    st = fc_error_set(err, FC_EUNSUPPORTED, "%s: model_type is not \"esm\"", path);
    goto out;
  }
  const cJSON *pe = cJSON_GetObjectItemCaseSensitive(root, "position_embedding_type");
  if (pe && (!cJSON_IsString(pe) || strcmp(pe->valuestring, "rotary") != 0)) {
    st = fc_error_set(err, FC_EUNSUPPORTED, "%s: position_embedding_type must be \"rotary\" (ESM-2)", path);
    goto out;
  }
  const cJSON *ha = cJSON_GetObjectItemCaseSensitive(root, "hidden_act");
  if (ha && (!cJSON_IsString(ha) || strcmp(ha->valuestring, "gelu") != 0)) {
    st = fc_error_set(err, FC_EUNSUPPORTED, "%s: hidden_act must be \"gelu\"", path);
    goto out;
  }
  const cJSON *eb = cJSON_GetObjectItemCaseSensitive(root, "emb_layer_norm_before");
  if (cJSON_IsTrue(eb)) {
    st = fc_error_set(err, FC_EUNSUPPORTED, "%s: emb_layer_norm_before=true (ESM-1b) is not supported", path);
    goto out;
  }
  if ((st = fcm_cfg_int(root, "vocab_size", &c->vocab_size, 1, path, err)) != FC_OK ||
      (st = fcm_cfg_int(root, "hidden_size", &c->hidden_size, 1, path, err)) != FC_OK ||
      (st = fcm_cfg_int(root, "num_hidden_layers", &c->num_hidden_layers, 1, path, err)) != FC_OK ||
      (st = fcm_cfg_int(root, "num_attention_heads", &c->num_attention_heads, 1, path, err)) != FC_OK ||
      (st = fcm_cfg_int(root, "intermediate_size", &c->intermediate_size, 1, path, err)) != FC_OK ||
      (st = fcm_cfg_int(root, "mask_token_id", &c->mask_token_id, 0, path, err)) != FC_OK ||
      (st = fcm_cfg_int(root, "pad_token_id", &c->pad_token_id, 0, path, err)) != FC_OK)
    goto out;
  const cJSON *eps = cJSON_GetObjectItemCaseSensitive(root, "layer_norm_eps");
  if (eps) {
    if (!cJSON_IsNumber(eps) || !(eps->valuedouble > 0)) {
      st = fc_error_set(err, FC_EFORMAT, "%s: 'layer_norm_eps' must be a positive number", path);
      goto out;
    }
    c->layer_norm_eps = (float)eps->valuedouble;
  }
  const cJSON *td = cJSON_GetObjectItemCaseSensitive(root, "token_dropout");
  if (td && !cJSON_IsBool(td)) {
    st = fc_error_set(err, FC_EFORMAT, "%s: 'token_dropout' must be true or false", path);
    goto out;
  }
  c->token_dropout = cJSON_IsTrue(td);
  const cJSON *rt = cJSON_GetObjectItemCaseSensitive(root, "rope_theta");
  if (cJSON_IsNumber(rt) && rt->valuedouble > 0) *rope_theta = rt->valuedouble;
  if (c->vocab_size < 1 || c->hidden_size < 1 || c->num_hidden_layers < 1 || c->num_attention_heads < 1 ||
      c->intermediate_size < 1 || c->hidden_size > 65536 || c->intermediate_size > 262144 ||
      c->num_hidden_layers > 1024 || c->vocab_size > 1 << 20)
    st = fc_error_set(err, FC_EFORMAT, "%s: a size field is out of range", path);
  else if (c->hidden_size % c->num_attention_heads || (c->hidden_size / c->num_attention_heads) % 2)
    st = fc_error_set(err, FC_EFORMAT,
                      "%s: hidden_size %d is not num_attention_heads %d times an even head size", path,
                      c->hidden_size, c->num_attention_heads);
out:
  cJSON_Delete(root);
  free(path);
  return st;
}

/* Copies tensor `name` (shape given by up to two dims; d1 = 0 for a vector) into an owned f32 array. */
static fc_status take(fc_esm2 *m, const fc_weights *w, const char *name, int64_t d0, int64_t d1, float **dst,
                      const char *wpath, fc_error *err) {
  const fc_tensor *t = fc_weights_get(w, name);
  size_t nl = strlen(name);
  if (!t && strstr(name, "LayerNorm.") && nl < 200) {
    /* transformers 5 save_pretrained writes LayerNorm.weight/.bias as the legacy LayerNorm.gamma/.beta */
    char alt[208];
    int isw = nl > 7 && strcmp(name + nl - 7, ".weight") == 0;
    int isb = nl > 5 && strcmp(name + nl - 5, ".bias") == 0;
    if (isw || isb) {
      snprintf(alt, sizeof alt, "%.*s%s", (int)(nl - (isw ? 6 : 4)), name, isw ? "gamma" : "beta");
      t = fc_weights_get(w, alt);
    }
  }
  if (!t) return fc_error_set(err, FC_ENOTFOUND, "%s: tensor '%s' missing", wpath, name);
  fc_status st = fc_tensor_take_f32(t, d0, d1, wpath, dst, err);
  if (*dst) m->owned[m->n_owned++] = *dst;
  return st;
}

void fc_esm2_close(fc_esm2 *m) {
  if (!m) return;
  for (size_t i = 0; i < m->n_owned; i++)
    fc_aligned_free(m->owned[i]);
  free(m->owned);
  free(m->layer);
  fc_tokenizer_close(m->tok);
  free(m);
}

fc_status fc_esm2_open(const char *dir, const char *weights, fc_esm2 **out, fc_error *err) {
  *out = NULL;
  fc_esm2 *m = calloc(1, sizeof *m);
  if (!m) return fc_error_set(err, FC_ENOMEM, "out of memory");
  double theta = 10000.0;
  fc_status st = read_config(dir, &m->cfg, &theta, err);
  if (st != FC_OK) goto fail;
  if ((st = fc_tokenizer_open(dir, FC_TOK_VOCAB_TXT, &m->tok, err)) != FC_OK) goto fail;
  const fc_esm2_config *c = &m->cfg;
  size_t L = (size_t)c->num_hidden_layers, H = (size_t)c->hidden_size, F = (size_t)c->intermediate_size;
  size_t hd = H / (size_t)c->num_attention_heads;
  m->layer = calloc(L, sizeof *m->layer);
  m->owned = calloc(3 + 17 * L, sizeof *m->owned);
  if (!m->layer || !m->owned) {
    st = fc_error_set(err, FC_ENOMEM, "out of memory");
    goto fail;
  }
  static const char *const strip[] = {"esm.", NULL};
  fc_weights_options wo = {strip, 1};
  const char *wpath = weights ? weights : dir;
  fc_weights *w = NULL;
  if ((st = fc_weights_open(wpath, &wo, &w, err)) != FC_OK) goto fail;
  st = take(m, w, "embeddings.word_embeddings.weight", c->vocab_size, (int64_t)H, &m->emb, wpath, err);
  if (st == FC_OK)
    st = take(m, w, "encoder.emb_layer_norm_after.weight", (int64_t)H, 0, &m->lnf_w, wpath, err);
  if (st == FC_OK) st = take(m, w, "encoder.emb_layer_norm_after.bias", (int64_t)H, 0, &m->lnf_b, wpath, err);
  /* inv_freq: per layer (HF 4.x saves), one shared buffer (transformers 5 state_dict), a "*" key (5.x
   * safetensors), else HF's own fp32 formula (what HF does when the buffer is absent) */
  const fc_tensor *shared_if = fc_weights_get(w, "rotary_embeddings.inv_freq");
  if (!shared_if) shared_if = fc_weights_get(w, "encoder.layer.*.attention.self.rotary_embeddings.inv_freq");
  float *computed_if = NULL;
  for (size_t i = 0; i < L && st == FC_OK; i++) {
    esm2_layer *ly = &m->layer[i];
    char n[160];
#define T2(field, nm, a, b)                                                                                  \
  do {                                                                                                       \
    snprintf(n, sizeof n, "encoder.layer.%zu.%s", i, nm);                                                    \
    if (st == FC_OK) st = take(m, w, n, (int64_t)(a), (int64_t)(b), &ly->field, wpath, err);                 \
  } while (0)
    T2(ln1_w, "attention.LayerNorm.weight", H, 0);
    T2(ln1_b, "attention.LayerNorm.bias", H, 0);
    T2(wq, "attention.self.query.weight", H, H);
    T2(bq, "attention.self.query.bias", H, 0);
    T2(wk, "attention.self.key.weight", H, H);
    T2(bk, "attention.self.key.bias", H, 0);
    T2(wv, "attention.self.value.weight", H, H);
    T2(bv, "attention.self.value.bias", H, 0);
    T2(wo, "attention.output.dense.weight", H, H);
    T2(bo, "attention.output.dense.bias", H, 0);
    T2(ln2_w, "LayerNorm.weight", H, 0);
    T2(ln2_b, "LayerNorm.bias", H, 0);
    T2(w1, "intermediate.dense.weight", F, H);
    T2(b1, "intermediate.dense.bias", F, 0);
    T2(w2, "output.dense.weight", H, F);
    T2(b2, "output.dense.bias", H, 0);
#undef T2
    if (st != FC_OK) break;
    snprintf(n, sizeof n, "encoder.layer.%zu.attention.self.rotary_embeddings.inv_freq", i);
    if (fc_weights_get(w, n)) {
      st = take(m, w, n, (int64_t)(hd / 2), 0, &ly->inv_freq, wpath, err);
    } else if (shared_if) {
      st = take(m, w, shared_if->name, (int64_t)(hd / 2), 0, &ly->inv_freq, wpath, err);
    } else {
      if (!computed_if) {
        computed_if = fc_aligned_alloc(hd / 2 * sizeof(float));
        if (!computed_if) {
          st = fc_error_set(err, FC_ENOMEM, "out of memory");
          break;
        }
        m->owned[m->n_owned++] = computed_if;
        for (size_t j = 0; j < hd / 2; j++)
          computed_if[j] = 1.0f / powf((float)theta, (float)(2 * j) / (float)hd);
        fc_log_warn("%s: no rotary inv_freq stored; using 1/theta^(2i/d) in float32 as HF does", wpath);
      }
      ly->inv_freq = computed_if;
    }
  }
  fc_weights_close(w);
  if (st != FC_OK) goto fail;
  *out = m;
  return FC_OK;
fail:
  fc_esm2_close(m);
  return st;
}

const fc_esm2_config *fc_esm2_get_config(const fc_esm2 *m) {
  return &m->cfg;
}
const struct fc_tokenizer *fc_esm2_tokenizer(const fc_esm2 *m) {
  return m->tok;
}

fc_status fc_esm2_tokenize(const fc_esm2 *m, const char *seq, size_t len, int32_t **ids, size_t *n,
                           fc_error *err) {
  return fc_tokenizer_encode(m->tok, seq, len, 1, ids, n, err);
}

/* Where the hidden states go: forward copies every state (keep[s], one sequence); embed pools state
 * L − layer_idx[j] of sequence i over its residue rows into out[(i·n_idx + j)·H ..] as soon as that state
 * exists, so no state is held beyond the running residual stream. */
typedef struct {
  float *const *keep;
  const int *layer_idx;
  size_t n_idx;
  float *out;
} esm2_sink;

static void esm2_emit(const fc_esm2 *m, const esm2_sink *sk, size_t s, const float *x, const size_t *off,
                      const size_t *T, size_t n) {
  size_t H = (size_t)m->cfg.hidden_size, L = (size_t)m->cfg.num_hidden_layers;
  if (sk->keep) {
    if (sk->keep[s]) memcpy(sk->keep[s], x, off[n] * H * sizeof *x);
    return;
  }
  for (size_t j = 0; j < sk->n_idx; j++) {
    if (L - (size_t)sk->layer_idx[j] != s) continue;
    for (size_t i = 0; i < n; i++) {
      /* mean over residue positions 1 .. T−2 (no <cls>/<eos>) */
      const float *xs = x + off[i] * H;
      size_t nres = T[i] >= 2 ? T[i] - 2 : 0;
      float *o = sk->out + (i * sk->n_idx + j) * H;
      for (size_t d = 0; d < H; d++) {
        double acc = 0;
        for (size_t t = 1; t <= nres; t++)
          acc += xs[t * H + d];
        o[d] = nres ? (float)(acc / (double)nres) : 0.0f;
      }
    }
  }
}

/* Scratch of a packed batch: x, h, q, k, v, o [N, H], f [N, F] and one attention block, each rounded up to
 * 16 floats (64 bytes), in ONE allocation: a single large block is mmapped by glibc and handed back to the
 * system on free, so a run of batches of varying sizes does not fragment the heap beyond the budget. */
static size_t r16(size_t n) {
  return (n + 15) & ~(size_t)15;
}
/* *attw (optional): the floats of the attention blocks, what the slab's last part holds */
static size_t esm2_scratch_floats(const fc_esm2_config *c, size_t N, size_t Tmax, size_t *attw) {
  size_t H = (size_t)c->hidden_size, F = (size_t)c->intermediate_size;
  size_t aw = fc_attention_blocked_work(Tmax, (size_t)c->num_attention_heads, FC_ATTENTION_BLOCK);
  if (attw) *attw = aw;
  return 6 * r16(N * H) + r16(N * F) + r16(aw);
}

size_t fc_esm2_batch_bytes(const fc_esm2 *m, size_t total_tokens, size_t max_tokens) {
  /* float scratch + the packed ids and per-sequence offsets (at most one sequence per token) */
  return esm2_scratch_floats(&m->cfg, total_tokens, max_tokens, NULL) * sizeof(float) +
         total_tokens * (sizeof(int32_t) + 3 * sizeof(size_t)) + 8 * 64;
}

/* The forward pass over n sequences packed end to end (sequence i: ids[off[i] .. off[i+1]), T[i] tokens):
 * LayerNorm, projections and FFN run over all rows at once; token-dropout scaling, rotary positions
 * (0 .. T[i]−1) and attention per sequence, so each sequence gets exactly what it gets alone. */
static fc_status esm2_run(const fc_esm2 *m, const int32_t *ids, const size_t *off, const size_t *T, size_t n,
                          const esm2_sink *sk, fc_error *err) {
  const fc_esm2_config *c = &m->cfg;
  size_t H = (size_t)c->hidden_size, F = (size_t)c->intermediate_size, L = (size_t)c->num_hidden_layers;
  size_t heads = (size_t)c->num_attention_heads, hd = H / heads, N = off[n], Tmax = 0;
  if (N == 0) return FC_OK;
  for (size_t i = 0; i < n; i++) {
    size_t nmask = 0;
    if (T[i] > Tmax) Tmax = T[i];
    for (size_t t = off[i]; t < off[i + 1]; t++) {
      if (ids[t] < 0 || ids[t] >= c->vocab_size)
        return n == 1 ? fc_error_set(err, FC_EINVAL,
                                     "esm2: token id %d at position %zu outside the vocabulary (%d)",
                                     (int)ids[t], t, c->vocab_size)
                      : fc_error_set(err, FC_EINVAL,
                                     "esm2: sequence %zu of the batch: token id %d at position %zu outside "
                                     "the vocabulary (%d)",
                                     i, (int)ids[t], t - off[i], c->vocab_size);
      nmask += ids[t] == c->mask_token_id;
    }
    if (c->token_dropout && T[i] && nmask == T[i])
      return n == 1
                 ? fc_error_set(err, FC_EINVAL, "esm2: every token is <mask>")
                 : fc_error_set(err, FC_EINVAL, "esm2: sequence %zu of the batch: every token is <mask>", i);
  }
  size_t attw = 0;
  float *slab = fc_aligned_alloc(esm2_scratch_floats(c, N, Tmax, &attw) * sizeof *slab);
  fc_status st = FC_OK;
  if (!slab) {
    st = n == 1 ? fc_error_set(err, FC_ENOMEM, "esm2: out of memory for a sequence of %zu tokens", N)
                : fc_error_set(err, FC_ENOMEM, "esm2: out of memory for a batch of %zu sequences, %zu tokens",
                               n, N);
    goto out;
  }
  float *x = slab, *h = x + r16(N * H), *q = h + r16(N * H), *k = q + r16(N * H), *v = k + r16(N * H),
        *o = v + r16(N * H), *f = o + r16(N * H), *work = f + r16(N * F);
  for (size_t t = 0; t < N; t++) {
    if (c->token_dropout && ids[t] == c->mask_token_id)
      memset(x + t * H, 0, H * sizeof *x);
    else
      memcpy(x + t * H, m->emb + (size_t)ids[t] * H, H * sizeof *x);
  }
  if (c->token_dropout)
    for (size_t i = 0; i < n; i++) {
      /* HF, per sequence: x * (1 - 0.15*0.8) / (1 - n_mask / n_tokens) */
      size_t nmask = 0;
      if (!T[i]) continue;
      for (size_t t = off[i]; t < off[i + 1]; t++)
        nmask += ids[t] == c->mask_token_id;
      float s1 = (float)(1.0 - 0.15 * 0.8), s2 = (float)(1.0 - (double)nmask / (double)T[i]);
      for (size_t e = off[i] * H; e < off[i + 1] * H; e++)
        x[e] = x[e] * s1 / s2;
    }
  float qscale = (float)(1.0 / sqrt((double)hd)), eps = c->layer_norm_eps;
  esm2_emit(m, sk, 0, x, off, T, n);
  for (size_t l = 0; l < L; l++) {
    const esm2_layer *ly = &m->layer[l];
    float *cur = x;
    fc_layernorm(cur, N, H, ly->ln1_w, ly->ln1_b, eps, h);
    fc_linear(h, ly->wq, ly->bq, N, H, H, q);
    fc_linear(h, ly->wk, ly->bk, N, H, H, k);
    fc_linear(h, ly->wv, ly->bv, N, H, H, v);
    for (size_t i = 0; i < N * H; i++)
      q[i] *= qscale; /* before rotary, as HF */
    for (size_t i = 0; i < n; i++) {
      size_t r = off[i] * H;
      fc_rotary(q + r, T[i], heads, hd, H, ly->inv_freq);
      fc_rotary(k + r, T[i], heads, hd, H, ly->inv_freq);
      fc_attention_blocked(q + r, k + r, v + r, T[i], heads, hd, H, o + r, work, attw, FC_ATTENTION_BLOCK);
    }
    fc_linear(o, ly->wo, ly->bo, N, H, H, h);
    fc_add_scaled(cur, h, 1.0f, N * H); /* x + 1·h is exactly x + h */
    fc_layernorm(cur, N, H, ly->ln2_w, ly->ln2_b, eps, h);
    fc_linear(h, ly->w1, ly->b1, N, F, H, f);
    fc_gelu_erf(f, N * F);
    fc_linear(f, ly->w2, ly->b2, N, H, F, h);
    fc_add_scaled(cur, h, 1.0f, N * H);                                /* x + 1·h is exactly x + h */
    if (l + 1 == L) fc_layernorm(x, N, H, m->lnf_w, m->lnf_b, eps, x); /* hidden_states[L] is normed */
    esm2_emit(m, sk, l + 1, x, off, T, n);
  }
out:
  fc_aligned_free(slab);
  return st;
}

fc_status fc_esm2_forward(const fc_esm2 *m, const int32_t *ids, size_t T, float *states, fc_error *err) {
  size_t L = (size_t)m->cfg.num_hidden_layers, H = (size_t)m->cfg.hidden_size;
  float **keep = malloc((L + 1) * sizeof *keep);
  if (!keep) return fc_error_set(err, FC_ENOMEM, "out of memory");
  for (size_t s = 0; s <= L; s++)
    keep[s] = states + s * T * H;
  size_t off[2] = {0, T};
  esm2_sink sk = {keep, NULL, 0, NULL};
  fc_status st = esm2_run(m, ids, off, &T, 1, &sk, err);
  free(keep);
  return st;
}

fc_status fc_esm2_embed_batch(const fc_esm2 *m, const char *const *seqs, const size_t *lens, size_t n,
                              const int *layer_idx, size_t n_idx, float *out, fc_error *err) {
  const fc_esm2_config *c = &m->cfg;
  size_t L = (size_t)c->num_hidden_layers;
  for (size_t j = 0; j < n_idx; j++)
    if (layer_idx[j] < 0 || (size_t)layer_idx[j] > L)
      return fc_error_set(err, FC_EINVAL, "esm2: layer index %d outside 0..%zu (0 = last layer)",
                          layer_idx[j], L);
  if (n == 0) return FC_OK;
  size_t *off = malloc((n + 1) * sizeof *off), *T = malloc(n * sizeof *T);
  int32_t **tid = calloc(n, sizeof *tid), *ids = NULL;
  fc_status st = FC_OK;
  if (!off || !T || !tid) {
    st = fc_error_set(err, FC_ENOMEM, "out of memory");
    goto out;
  }
  off[0] = 0;
  for (size_t i = 0; i < n && st == FC_OK; i++) {
    const char *sq = seqs[i] ? seqs[i] : "";
    st = fc_esm2_tokenize(m, sq, !seqs[i] ? 0 : lens ? lens[i] : strlen(sq), &tid[i], &T[i], err);
    if (st == FC_OK) off[i + 1] = off[i] + T[i];
  }
  if (st != FC_OK) goto out;
  if (!(ids = malloc((off[n] ? off[n] : 1) * sizeof *ids))) {
    st = fc_error_set(err, FC_ENOMEM, "esm2: out of memory for %zu tokens", off[n]);
    goto out;
  }
  for (size_t i = 0; i < n; i++)
    memcpy(ids + off[i], tid[i], T[i] * sizeof *ids);
  esm2_sink sk = {NULL, layer_idx, n_idx, out};
  st = esm2_run(m, ids, off, T, n, &sk, err);
out:
  if (tid)
    for (size_t i = 0; i < n; i++)
      free(tid[i]);
  free(tid), free(ids), free(off), free(T);
  return st;
}

fc_status fc_esm2_embed(const fc_esm2 *m, const char *seq, size_t len, const int *layer_idx, size_t n_idx,
                        float *out, fc_error *err) {
  return fc_esm2_embed_batch(m, &seq, &len, 1, layer_idx, n_idx, out, err);
}
