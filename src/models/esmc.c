/* ESM C inference on the CPU, as EvolutionaryScale's `esm` package computes ESMC.forward
 * (spec: models.md section 3; esm/models/esmc.py, esm/layers/{attention,blocks,rotary}.py). */
#include <cjson/cJSON.h>
#include <glob.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fantasia/backend.h"
#include "fantasia/models.h"
#include "fantasia/weights.h"

typedef struct {
  float *ln1_w, *ln1_b, *wqkv, *qln_w, *kln_w, *wo, *ln2_w, *ln2_b, *w1, *w2;
} esmc_layer;

struct fc_esmc {
  fc_esmc_config cfg;
  float *emb, *lnf_w;
  float *inv_freq; /* [hd/2], float32 as the package computes it (a non-persistent buffer, not stored) */
  esmc_layer *layer;
  float **owned;
  size_t n_owned;
};

/* ---- tokenizer ----
 * Hard-coded because the checkpoint ships no tokenizer file: the package builds its tokenizer from the
 * constant esm/utils/constants/esm3.py SEQUENCE_VOCAB (a character-level BPE without merges), ids 0..32. */
static const char *const SPECIAL[] = {"<cls>", "<pad>", "<eos>", "<unk>", "<mask>"}; /* ids 0, 1, 2, 3, 32 */
static const int SPECIAL_ID[] = {0, 1, 2, 3, 32};
static const char RESIDUES[] = "LAGVSERTIDPKQNFYMHWCXBUZO.-|"; /* ids 4 .. 31 */

static int char_id(unsigned char c) {
  const char *p = c ? strchr(RESIDUES, c) : NULL;
  return p ? 4 + (int)(p - RESIDUES) : -1;
}

/* bytes of the UTF-8 code point starting at s (1 for an invalid or truncated sequence) */
static size_t utf8_len(const unsigned char *s, size_t left) {
  size_t n = s[0] < 0x80             ? 1
             : (s[0] & 0xE0) == 0xC0 ? 2
             : (s[0] & 0xF0) == 0xE0 ? 3
             : (s[0] & 0xF8) == 0xF0 ? 4
                                     : 1;
  if (n > left) return 1;
  for (size_t i = 1; i < n; i++)
    if ((s[i] & 0xC0) != 0x80) return 1;
  return n;
}

fc_status fc_esmc_tokenize(const char *seq, size_t len, int32_t **ids, size_t *n, fc_error *err) {
  *ids = NULL;
  *n = 0;
  if (!seq && len) return fc_error_set(err, FC_EINVAL, "esmc: NULL sequence");
  int32_t *v = malloc((len + 2) * sizeof *v);
  if (!v) return fc_error_set(err, FC_ENOMEM, "out of memory");
  size_t k = 0;
  v[k++] = 0; /* <cls> */
  const unsigned char *s = (const unsigned char *)seq;
  for (size_t i = 0; i < len;) {
    if (s[i] == '_') { /* encoding.tokenize_sequence: '_' -> "<mask>" */
      v[k++] = 32;
      i++;
      continue;
    }
    if (s[i] == '<') {
      size_t j;
      for (j = 0; j < sizeof SPECIAL / sizeof SPECIAL[0]; j++) {
        size_t l = strlen(SPECIAL[j]);
        if (l <= len - i && !memcmp(s + i, SPECIAL[j], l)) break;
      }
      if (j < sizeof SPECIAL / sizeof SPECIAL[0]) {
        v[k++] = SPECIAL_ID[j];
        i += strlen(SPECIAL[j]);
        continue;
      }
    }
    int id = char_id(s[i]);
    if (id >= 0) {
      v[k++] = id;
      i++;
    } else {
      v[k++] = 3; /* <unk>, one per code point */
      i += utf8_len(s + i, len - i);
    }
  }
  v[k++] = 2; /* <eos> */
  *ids = v;
  *n = k;
  return FC_OK;
}

/* ---- loading ---- */

static int is_dir(const char *p) {
  struct stat sb;
  return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* Files matching dir/pattern; *n of them in *out (glob's sorted order). Returns 0 on success. */
static int find(const char *dir, const char *pattern, glob_t *g) {
  char *p = fc_path_join(dir, pattern);
  if (!p) return -1;
  int r = glob(p, 0, NULL, g);
  free(p);
  if (r == GLOB_NOMATCH) g->gl_pathc = 0;
  return r == 0 || r == GLOB_NOMATCH ? 0 : -1;
}

/* model_type of dir/config.json (malloc'ed), NULL without one; *n_heads from "n_heads" when present */
static char *read_cfg(const char *dir, int *n_heads, int *has_cfg) {
  char *path = fc_path_join(dir, "config.json"), *txt = NULL, *mt = NULL;
  size_t len = 0;
  *has_cfg = 0;
  if (path && fc_file_exists(path) && fc_read_file(path, 0, &txt, &len, NULL) == FC_OK) {
    *has_cfg = 1;
    cJSON *root = cJSON_ParseWithLength(txt, len);
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(root, "model_type");
    if (cJSON_IsString(t)) mt = fc_strdup(t->valuestring);
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(root, "n_heads");
    if (n_heads && cJSON_IsNumber(h))
      *n_heads = h->valuedouble >= 1 && h->valuedouble < 1e6 ? (int)h->valuedouble : -1;
    cJSON_Delete(root);
  }
  free(txt);
  free(path);
  return mt;
}

int fc_esmc_is_checkpoint(const char *path) {
  if (!path) return 0;
  if (!is_dir(path)) {
    size_t l = strlen(path);
    return l > 4 && !strcmp(path + l - 4, ".pth") && fc_file_exists(path);
  }
  glob_t g;
  int yes = 0;
  if (find(path, "data/weights/esmc_*.pth", &g) == 0) {
    yes = g.gl_pathc > 0;
    globfree(&g);
  }
  if (yes) return 1;
  int has_cfg = 0;
  char *mt = read_cfg(path, NULL, &has_cfg);
  yes = mt && !strcmp(mt, "esmc");
  free(mt);
  if (yes || has_cfg) return yes;
  if (find(path, "*.pth", &g) == 0) {
    yes = g.gl_pathc > 0;
    globfree(&g);
  }
  return yes;
}

/* The checkpoint file for path (malloc'ed) and the directory whose config.json may give n_heads. */
static fc_status resolve(const char *path, char **file, char **root, fc_error *err) {
  *file = *root = NULL;
  if (!is_dir(path)) {
    if (!fc_file_exists(path)) return fc_error_set(err, FC_ENOTFOUND, "%s: no such file or directory", path);
    *file = fc_strdup(path);
    /* the hub root of .../data/weights/x.pth, else the file's own directory */
    const char *sl = strrchr(path, '/');
    char *d = sl ? fc_strndup(path, (size_t)(sl - path)) : fc_strdup(".");
    size_t l = d ? strlen(d) : 0;
    if (d && l >= 12 && !strcmp(d + l - 12, "data/weights") && (l == 12 || d[l - 13] == '/')) {
      char *r = l == 12 ? fc_strdup(".") : fc_strndup(d, l - 13);
      free(d);
      d = r;
    }
    *root = d;
    if (!*file || !*root) return fc_error_set(err, FC_ENOMEM, "out of memory");
    return FC_OK;
  }
  static const char *const pats[][2] = {{"data/weights/esmc_*.pth", NULL}, {"*.pth", "*.safetensors"}};
  for (size_t i = 0; i < 2; i++) {
    size_t total = 0;
    char *first = NULL;
    for (size_t j = 0; j < 2 && pats[i][j]; j++) {
      glob_t g;
      if (find(path, pats[i][j], &g) != 0) {
        free(first);
        return fc_error_set(err, FC_EIO, "%s: cannot list the directory", path);
      }
      if (g.gl_pathc && !first) first = fc_strdup(g.gl_pathv[0]);
      total += g.gl_pathc;
      globfree(&g);
    }
    if (total > 1) {
      free(first);
      return fc_error_set(err, FC_EINVAL, "%s: %zu candidate ESM C checkpoints (%s); give the file itself",
                          path, total, i == 0 ? "data/weights/esmc_*.pth" : "*.pth / *.safetensors");
    }
    if (total == 1) {
      *file = first;
      *root = fc_strdup(path);
      if (!*file || !*root) return fc_error_set(err, FC_ENOMEM, "out of memory");
      return FC_OK;
    }
  }
  return fc_error_set(err, FC_ENOTFOUND,
                      "%s: no ESM C checkpoint (data/weights/esmc_*.pth, or one *.pth / *.safetensors file)",
                      path);
}

static fc_status take(fc_esmc *m, const fc_weights *w, const char *name, int64_t d0, int64_t d1, float **dst,
                      const char *wpath, fc_error *err) {
  const fc_tensor *t = fc_weights_get(w, name);
  if (!t)
    return fc_error_set(err, FC_ENOTFOUND, "%s: tensor '%s' missing (not an ESM C checkpoint?)", wpath, name);
  fc_status st = fc_tensor_take_f32(t, d0, d1, wpath, dst, err);
  if (*dst) m->owned[m->n_owned++] = *dst;
  return st;
}

void fc_esmc_close(fc_esmc *m) {
  if (!m) return;
  for (size_t i = 0; i < m->n_owned; i++)
    fc_aligned_free(m->owned[i]);
  free(m->owned);
  free(m->layer);
  free(m);
}

fc_status fc_esmc_open(const char *path, fc_esmc **out, fc_error *err) {
  return fc_esmc_open_heads(path, 0, out, err);
}

fc_status fc_esmc_open_heads(const char *path, int n_heads, fc_esmc **out, fc_error *err) {
  *out = NULL;
  char *file = NULL, *root = NULL;
  fc_weights *w = NULL;
  fc_esmc *m = NULL;
  fc_status st = resolve(path, &file, &root, err);
  if (st != FC_OK) goto fail;
  int cfg_heads = 0, has_cfg = 0;
  free(read_cfg(root, &cfg_heads, &has_cfg));
  if (cfg_heads < 0) {
    st = fc_error_set(err, FC_EFORMAT, "%s/config.json: 'n_heads' must be a positive integer", root);
    goto fail;
  }
  if ((st = fc_weights_open(file, NULL, &w, err)) != FC_OK) goto fail;
  const fc_tensor *te = fc_weights_get(w, "embed.weight");
  if (!te) {
    st =
        fc_error_set(err, FC_ENOTFOUND, "%s: tensor 'embed.weight' missing (not an ESM C checkpoint?)", file);
    goto fail;
  }
  if (te->ndim != 2 || te->shape[0] < FC_ESMC_VOCAB || te->shape[0] > 4096 || te->shape[1] < 2 ||
      te->shape[1] > 65536) {
    st = fc_error_set(err, FC_EFORMAT,
                      "%s: tensor 'embed.weight' has %d dims (first %lld); expected [64, d_model]", file,
                      te->ndim, te->ndim ? (long long)te->shape[0] : 0LL);
    goto fail;
  }
  size_t d = (size_t)te->shape[1], L = 0;
  for (;; L++) {
    char n[96];
    snprintf(n, sizeof n, "transformer.blocks.%zu.attn.layernorm_qkv.1.weight", L);
    if (!fc_weights_get(w, n) || L > 4096) break;
  }
  if (L == 0) {
    st = fc_error_set(
        err, FC_ENOTFOUND,
        "%s: tensor 'transformer.blocks.0.attn.layernorm_qkv.1.weight' missing (not an ESM C checkpoint?)",
        file);
    goto fail;
  }
  const fc_tensor *tf = fc_weights_get(w, "transformer.blocks.0.ffn.3.weight");
  if (!tf) {
    st = fc_error_set(err, FC_ENOTFOUND, "%s: tensor 'transformer.blocks.0.ffn.3.weight' missing", file);
    goto fail;
  }
  if (tf->ndim != 2 || tf->shape[0] != (int64_t)d || tf->shape[1] < 1 || tf->shape[1] > 1 << 20) {
    st = fc_error_set(err, FC_EFORMAT, "%s: tensor 'transformer.blocks.0.ffn.3.weight' is not [%zu, d_ff]",
                      file, d);
    goto fail;
  }
  size_t F = (size_t)tf->shape[1];
  size_t heads = n_heads > 0 ? (size_t)n_heads : cfg_heads > 0 ? (size_t)cfg_heads : d / 64;
  if (heads == 0 || d % heads || (d / heads) % 2) {
    st = fc_error_set(
        err, FC_EFORMAT,
        "%s: d_model %zu is not n_heads %zu times an even head size (heads default to d_model/64; a "
        "config.json with \"n_heads\" beside the checkpoint overrides)",
        file, d, heads);
    goto fail;
  }
  m = calloc(1, sizeof *m);
  if (!m || !(m->layer = calloc(L, sizeof *m->layer)) || !(m->owned = calloc(3 + 10 * L, sizeof *m->owned))) {
    st = fc_error_set(err, FC_ENOMEM, "out of memory");
    goto fail;
  }
  fc_esmc_config *c = &m->cfg;
  c->d_model = (int)d;
  c->n_heads = (int)heads;
  c->n_layers = (int)L;
  c->d_ff = (int)F;
  c->embed_rows = (int)te->shape[0];
  c->eps = 1e-5f;
  c->residue_scale = (float)sqrt((double)L / 36.0); /* math.sqrt in Python, then a float32 scalar */
  if ((st = take(m, w, "embed.weight", c->embed_rows, (int64_t)d, &m->emb, file, err)) != FC_OK) goto fail;
  if ((st = take(m, w, "transformer.norm.weight", (int64_t)d, 0, &m->lnf_w, file, err)) != FC_OK) goto fail;
  for (size_t i = 0; i < L && st == FC_OK; i++) {
    esmc_layer *ly = &m->layer[i];
    char n[128];
#define T2(field, nm, a, b)                                                                                  \
  do {                                                                                                       \
    snprintf(n, sizeof n, "transformer.blocks.%zu.%s", i, nm);                                               \
    if (st == FC_OK) st = take(m, w, n, (int64_t)(a), (int64_t)(b), &ly->field, file, err);                  \
  } while (0)
    T2(ln1_w, "attn.layernorm_qkv.0.weight", d, 0);
    T2(ln1_b, "attn.layernorm_qkv.0.bias", d, 0);
    T2(wqkv, "attn.layernorm_qkv.1.weight", 3 * d, d);
    T2(qln_w, "attn.q_ln.weight", d, 0);
    T2(kln_w, "attn.k_ln.weight", d, 0);
    T2(wo, "attn.out_proj.weight", d, d);
    T2(ln2_w, "ffn.0.weight", d, 0);
    T2(ln2_b, "ffn.0.bias", d, 0);
    T2(w1, "ffn.1.weight", 2 * F, d);
    T2(w2, "ffn.3.weight", d, F);
#undef T2
  }
  if (st != FC_OK) goto fail;
  /* RotaryEmbedding._compute_inv_freq: 1 / base ** (arange(0, hd, 2, float32) / hd), all in float32 */
  size_t hd = d / heads;
  if (!(m->inv_freq = fc_aligned_alloc(hd / 2 * sizeof(float)))) {
    st = fc_error_set(err, FC_ENOMEM, "out of memory");
    goto fail;
  }
  m->owned[m->n_owned++] = m->inv_freq;
  for (size_t j = 0; j < hd / 2; j++)
    m->inv_freq[j] = 1.0f / powf(10000.0f, (float)(2 * j) / (float)hd);
  fc_weights_close(w);
  free(file);
  free(root);
  *out = m;
  return FC_OK;
fail:
  fc_weights_close(w);
  fc_esmc_close(m);
  free(file);
  free(root);
  return st;
}

const fc_esmc_config *fc_esmc_get_config(const fc_esmc *m) {
  return &m->cfg;
}

/* ---- forward ---- */

/* A packed batch: sequence i owns rows start[i] .. start[i] + len[i] − 1. */
typedef struct {
  const size_t *start, *len;
  size_t n, rows, max_len;
} esmc_pack;

/* What to keep of each state s (0 .. L, L = embeddings): keep[s] (rows·d floats) when non-NULL, and the
 * residue mean of every sequence for each requested index j with slot[j] == s into out[(i·n_idx + j)·d]. */
typedef struct {
  float *const *keep;
  const size_t *slot;
  size_t n_idx;
  float *out;
} esmc_sink;

static void sink_state(const esmc_pack *p, const esmc_sink *k, size_t s, const float *x, size_t d) {
  if (k->keep && k->keep[s]) memcpy(k->keep[s], x, p->rows * d * sizeof *x);
  for (size_t j = 0; j < k->n_idx; j++) {
    if (k->slot[j] != s) continue;
    for (size_t i = 0; i < p->n; i++) {
      size_t nres = p->len[i] >= 2 ? p->len[i] - 2 : 0;
      const float *b = x + (p->start[i] + 1) * d;
      float *o = k->out + (i * k->n_idx + j) * d;
      for (size_t c = 0; c < d; c++) {
        double acc = 0;
        for (size_t t = 0; t < nres; t++)
          acc += b[t * d + c];
        o[c] = nres ? (float)(acc / (double)nres) : 0.0f;
      }
    }
  }
}

/* Rotary as the package applies it: angles fl32(p · inv_freq[i]) (torch.outer of float32 positions and
 * inv_freq), cos/sin rounded to float32, rotate_half over the full head. The backend's fc_rotary takes the
 * angle in double, which differs from this by up to 3e-5 rad at position 1,000. */
static void rotary_tables(const float *inv_freq, size_t h2, size_t T, float *cs, float *sn) {
  for (size_t p = 0; p < T; p++)
    for (size_t i = 0; i < h2; i++) {
      float th = (float)p * inv_freq[i];
      cs[p * h2 + i] = (float)cos((double)th);
      sn[p * h2 + i] = (float)sin((double)th);
    }
}

static void rotary_apply(float *x, size_t T, size_t heads, size_t hd, size_t ld, const float *cs,
                         const float *sn) {
  size_t h2 = hd / 2;
  for (size_t p = 0; p < T; p++) {
    const float *c = cs + p * h2, *s = sn + p * h2;
    for (size_t h = 0; h < heads; h++) {
      float *u = x + p * ld + h * hd;
      for (size_t i = 0; i < h2; i++) {
        float a = u[i], b = u[i + h2];
        u[i] = a * c[i] - b * s[i];
        u[i + h2] = b * c[i] + a * s[i];
      }
    }
  }
}

/* x h q k v o, g u, the attention blocks of query rows (linear in the length; *attw floats), cos sin */
static size_t scratch_floats(const fc_esmc_config *c, size_t rows, size_t max_len, size_t *attw) {
  size_t d = (size_t)c->d_model, F = (size_t)c->d_ff, hd = d / (size_t)c->n_heads;
  size_t aw = fc_attention_blocked_work(max_len, (size_t)c->n_heads, FC_ATTENTION_BLOCK);
  if (attw) *attw = aw;
  return rows * d * 6 + rows * F * 2 + aw + max_len * hd;
}

static fc_status esmc_run(const fc_esmc *m, const int32_t *ids, const esmc_pack *p, const esmc_sink *k,
                          fc_error *err) {
  const fc_esmc_config *c = &m->cfg;
  size_t d = (size_t)c->d_model, F = (size_t)c->d_ff, L = (size_t)c->n_layers, heads = (size_t)c->n_heads;
  size_t hd = d / heads, R = p->rows;
  if (R == 0) return FC_OK;
  for (size_t t = 0; t < R; t++)
    if (ids[t] < 0 || ids[t] >= c->embed_rows)
      return fc_error_set(err, FC_EINVAL, "esmc: token id %d at position %zu outside the embedding (%d rows)",
                          (int)ids[t], t, c->embed_rows);
  size_t attw = 0, nf = scratch_floats(c, R, p->max_len, &attw);
  float *buf = fc_aligned_alloc(nf * sizeof *buf);
  if (!buf)
    return fc_error_set(err, FC_ENOMEM, "esmc: out of memory for %zu tokens (%zu MB of scratch)", R,
                        nf * sizeof *buf >> 20);
  float *x = buf, *h = x + R * d, *q = h + R * d, *kk = q + R * d, *v = kk + R * d, *o = v + R * d;
  float *g = o + R * d, *u = g + R * F, *work = u + R * F, *cs = work + attw;
  float *sn = cs + p->max_len * (hd / 2);
  rotary_tables(m->inv_freq, hd / 2, p->max_len, cs, sn);
  for (size_t t = 0; t < R; t++)
    memcpy(x + t * d, m->emb + (size_t)ids[t] * d, d * sizeof *x); /* no scaling, no token dropout */
  float s = c->residue_scale, eps = c->eps, qscale = (float)(1.0 / sqrt((double)hd));
  for (size_t l = 0; l < L; l++) {
    const esmc_layer *ly = &m->layer[l];
    /* attention: LN -> Wqkv (rows 0..d-1 q, d..2d-1 k, 2d..3d-1 v) -> LN over full d on q, k -> rotary */
    fc_layernorm(x, R, d, ly->ln1_w, ly->ln1_b, eps, h);
    fc_linear(h, ly->wqkv, NULL, R, d, d, q);
    fc_linear(h, ly->wqkv + d * d, NULL, R, d, d, kk);
    fc_linear(h, ly->wqkv + 2 * d * d, NULL, R, d, d, v);
    fc_layernorm(q, R, d, ly->qln_w, NULL, eps, q);
    fc_layernorm(kk, R, d, ly->kln_w, NULL, eps, kk);
    for (size_t i = 0; i < p->n; i++) {
      size_t off = p->start[i] * d, T = p->len[i];
      rotary_apply(q + off, T, heads, hd, d, cs, sn);
      rotary_apply(kk + off, T, heads, hd, d, cs, sn);
    }
    for (size_t i = 0; i < R * d; i++)
      q[i] *= qscale; /* SDPA's default 1/sqrt(d_head) */
    for (size_t i = 0; i < p->n; i++) {
      size_t off = p->start[i] * d;
      fc_attention_blocked(q + off, kk + off, v + off, p->len[i], heads, hd, d, o + off, work, attw,
                           FC_ATTENTION_BLOCK);
    }
    fc_linear(o, ly->wo, NULL, R, d, d, h);
    fc_add_scaled(x, h, 1.0f / s, R * d); /* x + r/s; s = 1 for 600M */
    /* SwiGLU: LN -> W1 (rows 0..F-1 gate through SiLU, F..2F-1 linear) -> W2 */
    fc_layernorm(x, R, d, ly->ln2_w, ly->ln2_b, eps, h);
    fc_linear(h, ly->w1, NULL, R, F, d, g);
    fc_linear(h, ly->w1 + F * d, NULL, R, F, d, u);
    fc_gated(FC_ACT_SILU, g, F, u, F, R, F, g, F);
    fc_linear(g, ly->w2, NULL, R, d, F, h);
    fc_add_scaled(x, h, 1.0f / s, R * d); /* x + r/s; s = 1 for 600M */
    sink_state(p, k, l, x, d);
  }
  int want_emb = k->keep && k->keep[L];
  for (size_t j = 0; j < k->n_idx; j++)
    want_emb |= k->slot[j] == L;
  if (want_emb) {
    fc_layernorm(x, R, d, m->lnf_w, NULL, eps, x); /* `embeddings` */
    sink_state(p, k, L, x, d);
  }
  fc_aligned_free(buf);
  return FC_OK;
}

fc_status fc_esmc_forward(const fc_esmc *m, const int32_t *ids, size_t T, float *states, fc_error *err) {
  size_t L = (size_t)m->cfg.n_layers, d = (size_t)m->cfg.d_model;
  float **keep = malloc((L + 1) * sizeof *keep);
  if (!keep) return fc_error_set(err, FC_ENOMEM, "out of memory");
  for (size_t s = 0; s <= L; s++)
    keep[s] = states + s * T * d;
  size_t start = 0;
  esmc_pack p = {&start, &T, 1, T, T};
  esmc_sink k = {keep, NULL, 0, NULL};
  fc_status st = esmc_run(m, ids, &p, &k, err);
  free(keep);
  return st;
}

size_t fc_esmc_batch_bytes(const fc_esmc *m, size_t total_tokens, size_t max_tokens) {
  return scratch_floats(&m->cfg, total_tokens, max_tokens, NULL) * sizeof(float) +
         total_tokens * sizeof(int32_t) + 4096;
}

fc_status fc_esmc_embed_batch(const fc_esmc *m, const char *const *seqs, const size_t *lens, size_t n,
                              const int *layer_idx, size_t n_idx, float *out, fc_error *err) {
  size_t L = (size_t)m->cfg.n_layers;
  for (size_t j = 0; j < n_idx; j++)
    if (layer_idx[j] < 0 || (size_t)layer_idx[j] >= L)
      return fc_error_set(
          err, FC_EINVAL,
          "esmc: layer index %d outside 0..%zu (0 = last block output, before the final norm)", layer_idx[j],
          L - 1);
  if (n == 0) return FC_OK;
  for (size_t i = 0; i < n; i++) {
    size_t len = lens ? lens[i] : seqs[i] ? strlen(seqs[i]) : 0;
    if (len == 0) return fc_error_set(err, FC_EINVAL, "esmc: sequence %zu of the batch is empty", i);
  }
  if (n_idx == 0) return FC_OK;
  size_t *start = malloc(n * sizeof *start), *tl = malloc(n * sizeof *tl),
         *slot = malloc((n_idx + 1) * sizeof *slot);
  int32_t **tid = calloc(n, sizeof *tid), *ids = NULL;
  fc_status st = FC_OK;
  if (!start || !tl || !slot || !tid) {
    st = fc_error_set(err, FC_ENOMEM, "out of memory");
    goto out;
  }
  size_t R = 0, maxT = 0;
  for (size_t i = 0; i < n && st == FC_OK; i++) {
    size_t len = lens ? lens[i] : strlen(seqs[i]);
    st = fc_esmc_tokenize(seqs[i], len, &tid[i], &tl[i], err);
    start[i] = R;
    R += tl[i];
    if (tl[i] > maxT) maxT = tl[i];
  }
  if (st != FC_OK) goto out;
  if (!(ids = malloc(R * sizeof *ids))) {
    st = fc_error_set(err, FC_ENOMEM, "out of memory");
    goto out;
  }
  for (size_t i = 0; i < n; i++)
    memcpy(ids + start[i], tid[i], tl[i] * sizeof *ids);
  for (size_t j = 0; j < n_idx; j++)
    slot[j] = L - 1 - (size_t)layer_idx[j]; /* hidden_states[-(k+1)] */
  esmc_pack p = {start, tl, n, R, maxT};
  esmc_sink k = {NULL, slot, n_idx, out};
  st = esmc_run(m, ids, &p, &k, err);
out:
  if (tid)
    for (size_t i = 0; i < n; i++)
      free(tid[i]);
  free(tid);
  free(ids);
  free(start);
  free(tl);
  free(slot);
  return st;
}

fc_status fc_esmc_embed(const fc_esmc *m, const char *seq, size_t len, const int *layer_idx, size_t n_idx,
                        float *out, fc_error *err) {
  return fc_esmc_embed_batch(m, &seq, &len, 1, layer_idx, n_idx, out, err);
}
