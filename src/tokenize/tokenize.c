/* tokenize: ESM vocab.txt, SentencePiece spiece.model (slow T5 semantics) and HF tokenizer.json readers and
 * encoders. See include/fantasia/tokenize.h and docs/models.md "Tokenizers". */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fantasia/tokenize.h"

enum { M_NONE = 0, M_UNIGRAM, M_BPE, M_WORDLEVEL };
/* SentencePiece piece types */
enum { PT_NORMAL = 1, PT_UNKNOWN = 2, PT_CONTROL = 3, PT_USER = 4, PT_UNUSED = 5, PT_BYTE = 6 };

typedef struct {
  const char *s;
  size_t len;
  int32_t id;
  int special, lstrip, rstrip;
} added_tok;

struct fc_tokenizer {
  fc_tokenizer_kind kind;
  /* id -> token string (borrowed from strs), for all ids */
  const char **tok;
  size_t ntok;
  /* model vocabulary (pieces / vocab.txt lines / tokenizer.json model vocab) */
  fc_strmap model;
  int model_ready;
  float *score; /* per model id (Unigram / spiece) */
  uint8_t *ptype;
  size_t max_piece;
  float min_score, max_score;
  int mtype, fuse_unk;
  /* BPE merges: key "a b" (as in the file) -> rank */
  fc_strmap merges;
  int merges_ready;
  added_tok *added;
  size_t nadded;
  int32_t unk, pad, eos, cls;
  /* spiece normaliser */
  int dummy_prefix, clean_ws, escape_ws;
  /* tokenizer.json */
  cJSON *json;
  const cJSON *normalizer, *pretok, *post;
  /* owned strings */
  char **strs;
  size_t nstrs, capstrs;
};

/* ------------------------------------------------------------------ small helpers */

typedef struct {
  int32_t *v;
  size_t n, cap;
  int oom;
} ivec;

static void iv_push(ivec *a, int32_t x) {
  if (a->oom) return;
  if (a->n == a->cap) {
    size_t nc = a->cap ? 2 * a->cap : 32;
    int32_t *nv = realloc(a->v, nc * sizeof *nv);
    if (!nv) {
      a->oom = 1;
      return;
    }
    a->v = nv;
    a->cap = nc;
  }
  a->v[a->n++] = x;
}

typedef struct {
  char *s;
  size_t n, cap;
  int oom;
} sbuf;

static void sb_add(sbuf *b, const char *s, size_t n) {
  if (b->oom) return;
  if (b->n + n + 1 > b->cap) {
    size_t nc = (b->n + n + 1) * 2;
    char *ns = realloc(b->s, nc);
    if (!ns) {
      b->oom = 1;
      return;
    }
    b->s = ns;
    b->cap = nc;
  }
  memcpy(b->s + b->n, s, n);
  b->n += n;
  b->s[b->n] = '\0';
}

static const char *own(fc_tokenizer *t, const char *s, size_t n) {
  if (t->nstrs == t->capstrs) {
    size_t nc = t->capstrs ? 2 * t->capstrs : 256;
    char **ns = realloc(t->strs, nc * sizeof *ns);
    if (!ns) return NULL;
    t->strs = ns;
    t->capstrs = nc;
  }
  char *c = fc_strndup(s, n);
  if (!c) return NULL;
  t->strs[t->nstrs++] = c;
  return c;
}

/* Registers id -> string (first registration of an id wins). */
static int set_tok(fc_tokenizer *t, int32_t id, const char *s) {
  if (id < 0 || id > (1 << 26)) return 0;
  if ((size_t)id >= t->ntok) {
    size_t nn = (size_t)id + 1 > 2 * t->ntok ? (size_t)id + 1 : 2 * t->ntok;
    const char **nt = realloc(t->tok, nn * sizeof *nt);
    if (!nt) return 0;
    memset(nt + t->ntok, 0, (nn - t->ntok) * sizeof *nt);
    t->tok = nt;
    t->ntok = nn;
  }
  if (!t->tok[id]) t->tok[id] = s;
  return 1;
}

static int model_put(fc_tokenizer *t, const char *s, size_t n, int32_t id) {
  if (!t->model_ready) {
    if (fc_strmap_init(&t->model, 256) != FC_OK) return 0;
    t->model_ready = 1;
  }
  if (fc_strmap_put(&t->model, s, n, id, NULL) < 0) return 0;
  if (n > t->max_piece) t->max_piece = n;
  return set_tok(t, id, s);
}

static int32_t model_get(const fc_tokenizer *t, const char *s, size_t n) {
  int64_t v;
  return t->model_ready && fc_strmap_get(&t->model, s, n, &v) ? (int32_t)v : -1;
}

static int add_added(fc_tokenizer *t, const char *s, size_t n, int32_t id, int special, int lstrip,
                     int rstrip) {
  for (size_t i = 0; i < t->nadded; i++)
    if (t->added[i].len == n && memcmp(t->added[i].s, s, n) == 0) return 1; /* first definition wins */
  if (n == 0) return 1;
  added_tok *na = realloc(t->added, (t->nadded + 1) * sizeof *na);
  if (!na) return 0;
  t->added = na;
  const char *c = own(t, s, n);
  if (!c) return 0;
  t->added[t->nadded++] = (added_tok){c, n, id, special, lstrip, rstrip};
  return set_tok(t, id, c);
}

static size_t utf8_len(const unsigned char *p, size_t left) {
  size_t l = *p < 0x80 ? 1 : (*p >> 5) == 6 ? 2 : (*p >> 4) == 14 ? 3 : (*p >> 3) == 30 ? 4 : 1;
  return l > left ? left : l;
}

static int is_py_space(unsigned char c) {
  return c == ' ' || (c >= 9 && c <= 13) || (c >= 0x1c && c <= 0x1f);
}

void fc_tokenizer_close(fc_tokenizer *t) {
  if (!t) return;
  if (t->model_ready) fc_strmap_free(&t->model);
  if (t->merges_ready) fc_strmap_free(&t->merges);
  for (size_t i = 0; i < t->nstrs; i++)
    free(t->strs[i]);
  free(t->strs);
  free(t->tok);
  free(t->score);
  free(t->ptype);
  free(t->added);
  cJSON_Delete(t->json);
  free(t);
}

fc_tokenizer_kind fc_tokenizer_get_kind(const fc_tokenizer *t) {
  return t->kind;
}
size_t fc_tokenizer_vocab_size(const fc_tokenizer *t) {
  size_t n = t->ntok;
  while (n && !t->tok[n - 1])
    n--;
  return n;
}
int32_t fc_tokenizer_unk_id(const fc_tokenizer *t) {
  return t->unk;
}
int32_t fc_tokenizer_pad_id(const fc_tokenizer *t) {
  return t->pad;
}
int32_t fc_tokenizer_eos_id(const fc_tokenizer *t) {
  return t->eos;
}
int32_t fc_tokenizer_cls_id(const fc_tokenizer *t) {
  return t->cls;
}
const char *fc_tokenizer_id_to_token(const fc_tokenizer *t, int32_t id) {
  return id >= 0 && (size_t)id < t->ntok ? t->tok[id] : NULL;
}
int32_t fc_tokenizer_token_to_id(const fc_tokenizer *t, const char *s) {
  size_t n = strlen(s);
  for (size_t i = 0; i < t->nadded; i++)
    if (t->added[i].len == n && memcmp(t->added[i].s, s, n) == 0) return t->added[i].id;
  return model_get(t, s, n);
}

/* ------------------------------------------------------------------ vocab.txt (ESM) */

static fc_status open_vocab(fc_tokenizer *t, const char *path, fc_error *err) {
  char *data = NULL;
  size_t len = 0;
  fc_status st = fc_read_file(path, 0, &data, &len, err);
  if (st != FC_OK) return st;
  int32_t id = 0;
  size_t p = 0;
  while (p < len) {
    size_t e = p;
    while (e < len && data[e] != '\n')
      e++;
    size_t l = e - p;
    if (l && data[p + l - 1] == '\r') l--;
    while (l && (data[p + l - 1] == ' ' || data[p + l - 1] == '\t'))
      l--; /* EsmTokenizer strips lines */
    size_t b = 0;
    while (b < l && (data[p + b] == ' ' || data[p + b] == '\t'))
      b++;
    const char *s = own(t, data + p + b, l - b);
    if (!s || !model_put(t, s, l - b, id) || !add_added(t, s, l - b, id, 1, 0, 0)) {
      free(data);
      return fc_error_set(err, FC_ENOMEM, "%s: out of memory", path);
    }
    if (l - b == 0) {
      free(data);
      return fc_error_set(err, FC_EFORMAT, "%s: line %d: empty token", path, id + 1);
    }
    id++;
    p = e + 1;
  }
  free(data);
  if (id == 0) return fc_error_set(err, FC_EFORMAT, "%s: empty vocabulary", path);
  t->unk = model_get(t, "<unk>", 5);
  t->pad = model_get(t, "<pad>", 5);
  t->eos = model_get(t, "<eos>", 5);
  t->cls = model_get(t, "<cls>", 5);
  if (t->unk < 0 || t->cls < 0 || t->eos < 0)
    return fc_error_set(err, FC_EFORMAT, "%s: vocabulary lacks <cls>, <eos> or <unk>", path);
  return FC_OK;
}

/* ------------------------------------------------------------------ protobuf (spiece.model) */

typedef struct {
  const uint8_t *p, *end;
  int bad;
} pbr;

static uint64_t pb_varint(pbr *r) {
  uint64_t v = 0;
  for (int sh = 0; sh < 64; sh += 7) {
    if (r->p >= r->end) {
      r->bad = 1;
      return 0;
    }
    uint8_t b = *r->p++;
    v |= (uint64_t)(b & 0x7f) << sh;
    if (!(b & 0x80)) return v;
  }
  r->bad = 1;
  return 0;
}

/* Reads one field header; returns 0 at end. For wire type 2 sets *sub to the payload. */
static int pb_field(pbr *r, uint32_t *field, uint32_t *wt, pbr *sub, uint64_t *val) {
  if (r->p >= r->end || r->bad) return 0;
  uint64_t tag = pb_varint(r);
  *field = (uint32_t)(tag >> 3);
  *wt = (uint32_t)(tag & 7);
  switch (*wt) {
  case 0:
    *val = pb_varint(r);
    break;
  case 1:
    if (r->end - r->p < 8)
      r->bad = 1;
    else {
      memcpy(val, r->p, 8);
      r->p += 8;
    }
    break;
  case 5:
    if (r->end - r->p < 4)
      r->bad = 1;
    else {
      uint32_t v;
      memcpy(&v, r->p, 4);
      *val = v;
      r->p += 4;
    }
    break;
  case 2: {
    uint64_t n = pb_varint(r);
    if (r->bad || n > (uint64_t)(r->end - r->p))
      r->bad = 1;
    else {
      sub->p = r->p;
      sub->end = r->p + n;
      sub->bad = 0;
      r->p += n;
    }
    break;
  }
  default:
    r->bad = 1;
  }
  return !r->bad;
}

static fc_status open_spiece(fc_tokenizer *t, const char *dir, const char *path, fc_error *err) {
  char *data = NULL;
  size_t len = 0;
  fc_status st = fc_read_file(path, 0, &data, &len, err);
  if (st != FC_OK) return st;
  pbr r = {(const uint8_t *)data, (const uint8_t *)data + len, 0}, sub;
  uint32_t f, wt;
  uint64_t v;
  int32_t n = 0;
  size_t cap = 0;
  int model_type = 1;
  t->dummy_prefix = t->clean_ws = t->escape_ws = 1;
  t->min_score = FLT_MAX;
  t->max_score = -FLT_MAX;
  while (pb_field(&r, &f, &wt, &sub, &v)) {
    if (f == 1 && wt == 2) {
      const char *s = NULL;
      size_t sl = 0;
      float score = 0;
      int type = PT_NORMAL;
      pbr q = sub, q2;
      uint32_t f2, w2;
      uint64_t v2;
      while (pb_field(&q, &f2, &w2, &q2, &v2)) {
        if (f2 == 1 && w2 == 2) {
          s = (const char *)q2.p;
          sl = (size_t)(q2.end - q2.p);
        } else if (f2 == 2 && w2 == 5) {
          uint32_t bits = (uint32_t)v2;
          memcpy(&score, &bits, 4);
        } else if (f2 == 3 && w2 == 0)
          type = (int)v2;
      }
      if (q.bad || !s) {
        r.bad = 1;
        break;
      }
      if ((size_t)n == cap) {
        cap = cap ? 2 * cap : 256;
        float *ns = realloc(t->score, cap * sizeof *ns);
        if (ns) t->score = ns;
        uint8_t *np = ns ? realloc(t->ptype, cap) : NULL;
        if (np) t->ptype = np;
        if (!ns || !np) {
          free(data);
          return fc_error_set(err, FC_ENOMEM, "%s: out of memory", path);
        }
      }
      const char *c = own(t, s, sl);
      if (!c || !model_put(t, c, sl, n)) {
        free(data);
        return fc_error_set(err, FC_ENOMEM, "%s: out of memory", path);
      }
      t->score[n] = score;
      t->ptype[n] = (uint8_t)type;
      if (type == PT_NORMAL) {
        if (score < t->min_score) t->min_score = score;
        if (score > t->max_score) t->max_score = score;
      }
      if (type == PT_UNKNOWN) t->unk = n;
      n++;
    } else if (f == 2 && wt == 2) {
      pbr q = sub, q2;
      uint32_t f2, w2;
      uint64_t v2;
      while (pb_field(&q, &f2, &w2, &q2, &v2))
        if (f2 == 3 && w2 == 0) model_type = (int)v2;
      if (q.bad) r.bad = 1;
    } else if (f == 3 && wt == 2) {
      pbr q = sub, q2;
      uint32_t f2, w2;
      uint64_t v2;
      while (pb_field(&q, &f2, &w2, &q2, &v2)) {
        if (f2 == 3 && w2 == 0) t->dummy_prefix = v2 != 0;
        if (f2 == 4 && w2 == 0) t->clean_ws = v2 != 0;
        if (f2 == 5 && w2 == 0) t->escape_ws = v2 != 0;
      }
      if (q.bad) r.bad = 1;
    }
  }
  free(data);
  if (r.bad) return fc_error_set(err, FC_EFORMAT, "%s: malformed or truncated protobuf (ModelProto)", path);
  if (n == 0) return fc_error_set(err, FC_EFORMAT, "%s: no pieces in ModelProto", path);
  if (model_type != 1)
    return fc_error_set(err, FC_EUNSUPPORTED,
                        "%s: SentencePiece model type %d (only Unigram = 1 is supported)", path, model_type);
  if (t->unk < 0) return fc_error_set(err, FC_EFORMAT, "%s: no UNKNOWN piece", path);
  if (t->min_score > t->max_score) t->min_score = t->max_score = 0;
  t->eos = model_get(t, "</s>", 4);
  t->pad = model_get(t, "<pad>", 5);
  /* HF T5Tokenizer: eos, unk, pad, then <extra_id_k> = size + extra_ids - 1 - k, then added_tokens.json */
  const char *sp_special[] = {"</s>", "<unk>", "<pad>"};
  for (int i = 0; i < 3; i++) {
    int32_t id = model_get(t, sp_special[i], strlen(sp_special[i]));
    if (id >= 0 && !add_added(t, sp_special[i], strlen(sp_special[i]), id, 1, 0, 0))
      return fc_error_set(err, FC_ENOMEM, "%s: out of memory", path);
  }
  int extra = 100;
  char *cfgp = fc_path_join(dir, "tokenizer_config.json");
  if (cfgp && fc_file_exists(cfgp)) {
    char *txt = NULL;
    size_t tl = 0;
    if (fc_read_file(cfgp, 0, &txt, &tl, NULL) == FC_OK) {
      cJSON *cj = cJSON_ParseWithLength(txt, tl);
      const cJSON *e = cJSON_GetObjectItemCaseSensitive(cj, "extra_ids");
      if (cJSON_IsNumber(e) && e->valuedouble >= 0 && e->valuedouble < 100000) extra = (int)e->valuedouble;
      cJSON_Delete(cj);
      free(txt);
    }
  }
  free(cfgp);
  for (int k = 0; k < extra; k++) {
    char buf[32];
    int bl = snprintf(buf, sizeof buf, "<extra_id_%d>", k);
    if (!add_added(t, buf, (size_t)bl, n + extra - 1 - k, 1, 0, 0))
      return fc_error_set(err, FC_ENOMEM, "%s: out of memory", path);
  }
  char *ap = fc_path_join(dir, "added_tokens.json");
  if (ap && fc_file_exists(ap)) {
    char *txt = NULL;
    size_t tl = 0;
    st = fc_read_file(ap, 0, &txt, &tl, err);
    if (st != FC_OK) {
      free(ap);
      return st;
    }
    cJSON *cj = cJSON_ParseWithLength(txt, tl);
    free(txt);
    if (!cJSON_IsObject(cj)) {
      cJSON_Delete(cj);
      st = fc_error_set(err, FC_EFORMAT, "%s: malformed JSON (expected {\"token\": id, ...})", ap);
      free(ap);
      return st;
    }
    const cJSON *e;
    cJSON_ArrayForEach(e, cj) {
      if (!cJSON_IsNumber(e) || e->valuedouble < 0 || e->valuedouble > (1 << 26) || !e->string[0]) {
        st = fc_error_set(err, FC_EFORMAT, "%s: token '%s' has no valid id", ap, e->string);
        break;
      }
      if (!add_added(t, e->string, strlen(e->string), (int32_t)e->valuedouble, 0, 0, 0)) {
        st = fc_error_set(err, FC_ENOMEM, "%s: out of memory", ap);
        break;
      }
    }
    cJSON_Delete(cj);
    if (st != FC_OK) {
      free(ap);
      return st;
    }
  }
  free(ap);
  char *smp = fc_path_join(dir, "special_tokens_map.json");
  if (smp && fc_file_exists(smp)) {
    char *txt = NULL;
    size_t tl = 0;
    if (fc_read_file(smp, 0, &txt, &tl, NULL) == FC_OK) {
      cJSON *cj = cJSON_ParseWithLength(txt, tl);
      free(txt);
      if (!cj) {
        st = fc_error_set(err, FC_EFORMAT, "%s: malformed JSON", smp);
        free(smp);
        return st;
      }
      const cJSON *a = cJSON_GetObjectItemCaseSensitive(cj, "additional_special_tokens"), *e;
      cJSON_ArrayForEach(e, a) {
        const char *s = cJSON_IsString(e)
                            ? e->valuestring
                            : cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "content"));
        if (!s) continue;
        int32_t id = fc_tokenizer_token_to_id(t, s);
        if (id >= 0 && !add_added(t, s, strlen(s), id, 1, 0, 0)) {
          cJSON_Delete(cj);
          free(smp);
          return fc_error_set(err, FC_ENOMEM, "%s: out of memory", path);
        }
      }
      cJSON_Delete(cj);
    }
  }
  free(smp);
  return FC_OK;
}

/* ------------------------------------------------------------------ Unigram Viterbi */

/* Segments s[0..n) and appends ids. spiece = 1: SentencePiece rules (control/unknown pieces are not matched,
 * user-defined pieces get the length * max_score - 0.1 bonus); 0: HF tokenizers' Unigram. Unknown
 * characters become unk (score min - 10); consecutive unknowns are fused. */
static int viterbi(const fc_tokenizer *t, const char *s, size_t n, int spiece, ivec *out) {
  if (n == 0) return 1;
  double *best = malloc((n + 1) * sizeof *best);
  size_t *from = malloc((n + 1) * sizeof *from);
  int32_t *id = malloc((n + 1) * sizeof *id);
  if (!best || !from || !id) {
    free(best);
    free(from);
    free(id);
    return 0;
  }
  for (size_t i = 0; i <= n; i++)
    from[i] = (size_t)-1;
  best[0] = 0;
  from[0] = 0;
  double unk_score = (double)t->min_score - 10.0;
  for (size_t i = 0; i < n;) {
    size_t cl = utf8_len((const unsigned char *)s + i, n - i);
    if (from[i] == (size_t)-1) {
      i += cl;
      continue;
    }
    int single = 0;
    for (size_t l = 1; l <= t->max_piece && i + l <= n; l++) {
      int32_t pid = model_get(t, s + i, l);
      if (pid < 0) continue;
      double sc;
      if (spiece) {
        int ty = t->ptype[pid];
        if (ty == PT_CONTROL || ty == PT_UNKNOWN || ty == PT_UNUSED || ty == PT_BYTE) continue;
        sc = ty == PT_USER ? (double)l * t->max_score - 0.1 : t->score[pid];
      } else {
        if (pid == t->unk) continue;
        sc = t->score[pid];
      }
      double c = best[i] + sc;
      if (from[i + l] == (size_t)-1 || c > best[i + l]) {
        best[i + l] = c;
        from[i + l] = i;
        id[i + l] = pid;
      }
      if (l == cl) single = 1;
    }
    if (!single) {
      double c = best[i] + unk_score;
      if (from[i + cl] == (size_t)-1 || c > best[i + cl]) {
        best[i + cl] = c;
        from[i + cl] = i;
        id[i + cl] = t->unk;
      }
    }
    i += cl;
  }
  /* backtrack */
  size_t cnt = 0;
  for (size_t e = n; e > 0; e = from[e])
    cnt++;
  int32_t *tmp = malloc((cnt ? cnt : 1) * sizeof *tmp);
  if (!tmp) {
    free(best);
    free(from);
    free(id);
    return 0;
  }
  size_t k = cnt;
  for (size_t e = n; e > 0; e = from[e])
    tmp[--k] = id[e];
  for (size_t j = 0; j < cnt; j++) {
    if (tmp[j] == t->unk && out->n > 0 && j > 0 && tmp[j - 1] == t->unk) continue; /* fuse */
    iv_push(out, tmp[j]);
  }
  free(tmp);
  free(best);
  free(from);
  free(id);
  return !out->oom;
}

static int spiece_encode(const fc_tokenizer *t, const char *s, size_t n, ivec *out) {
  sbuf b = {0};
  size_t i = 0, e = n;
  if (t->clean_ws) {
    while (i < e && s[i] == ' ')
      i++;
    while (e > i && s[e - 1] == ' ')
      e--;
  }
  if (i == e) return 1;
  static const char sp[] = "\xe2\x96\x81";
  const char *ws = t->escape_ws ? sp : " ";
  size_t wl = strlen(ws);
  if (t->dummy_prefix) sb_add(&b, ws, wl);
  for (size_t j = i; j < e; j++) {
    if (s[j] == ' ') {
      if (t->clean_ws && j > i && s[j - 1] == ' ') continue;
      sb_add(&b, ws, wl);
    } else
      sb_add(&b, s + j, 1);
  }
  int ok = !b.oom && viterbi(t, b.s, b.n, 1, out);
  free(b.s);
  return ok;
}

/* ------------------------------------------------------------------ tokenizer.json */

static const char *json_str(const cJSON *o, const char *k) {
  return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
}
static int json_true(const cJSON *o, const char *k) {
  return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, k));
}

static fc_status check_normalizer(const cJSON *n, const char *path, fc_error *err) {
  if (!n || cJSON_IsNull(n)) return FC_OK;
  const char *ty = json_str(n, "type");
  if (!ty) return fc_error_set(err, FC_EFORMAT, "%s: normalizer without type", path);
  if (!strcmp(ty, "Sequence")) {
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(n, "normalizers")) {
      fc_status s = check_normalizer(e, path, err);
      if (s != FC_OK) return s;
    }
    return FC_OK;
  }
  if (!strcmp(ty, "Strip") || !strcmp(ty, "Lowercase") || !strcmp(ty, "Precompiled") || !strcmp(ty, "NFC") ||
      !strcmp(ty, "NFKC") || !strcmp(ty, "NFD") || !strcmp(ty, "NFKD"))
    return FC_OK;
  if (!strcmp(ty, "Replace")) {
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(n, "pattern");
    const char *lit = json_str(p, "String"), *re = json_str(p, "Regex");
    if (!json_str(n, "content") || (!lit && !re))
      return fc_error_set(err, FC_EFORMAT, "%s: Replace normalizer without pattern/content", path);
    if (re) {
      /* supported: a single literal character followed by +, {n,} or {n} */
      size_t rl = strlen(re);
      int ok = rl >= 2 && (re[1] == '+' ? rl == 2 : re[1] == '{' && re[rl - 1] == '}');
      if (!ok || strchr(".\\[(^$|?*", re[0]))
        return fc_error_set(err, FC_EUNSUPPORTED, "%s: Replace normalizer regex '%s' is not supported", path,
                            re);
    }
    return FC_OK;
  }
  return fc_error_set(err, FC_EUNSUPPORTED, "%s: normalizer '%s' is not supported", path, ty);
}

static void normalize(const cJSON *n, sbuf *s) {
  if (!n || cJSON_IsNull(n) || s->oom) return;
  const char *ty = json_str(n, "type");
  if (!strcmp(ty, "Sequence")) {
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(n, "normalizers")) normalize(e, s);
  } else if (!strcmp(ty, "Strip")) {
    size_t a = 0, b = s->n;
    if (json_true(n, "strip_left"))
      while (a < b && is_py_space((unsigned char)s->s[a]))
        a++;
    if (json_true(n, "strip_right"))
      while (b > a && is_py_space((unsigned char)s->s[b - 1]))
        b--;
    memmove(s->s, s->s + a, b - a);
    s->n = b - a;
    s->s[s->n] = '\0';
  } else if (!strcmp(ty, "Lowercase")) {
    for (size_t i = 0; i < s->n; i++)
      s->s[i] = (char)tolower((unsigned char)s->s[i]);
  } else if (!strcmp(ty, "Replace")) {
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(n, "pattern");
    const char *lit = json_str(p, "String"), *re = json_str(p, "Regex"), *content = json_str(n, "content");
    size_t minrep = 1;
    char ch = 0;
    if (re) {
      ch = re[0];
      if (re[1] == '{') minrep = (size_t)strtoul(re + 2, NULL, 10);
      if (minrep == 0) minrep = 1;
    }
    sbuf o = {0};
    sb_add(&o, "", 0);
    size_t ll = lit ? strlen(lit) : 0;
    for (size_t i = 0; i < s->n;) {
      if (lit && ll && i + ll <= s->n && !memcmp(s->s + i, lit, ll)) {
        sb_add(&o, content, strlen(content));
        i += ll;
      } else if (re && s->s[i] == ch) {
        size_t j = i;
        while (j < s->n && s->s[j] == ch)
          j++;
        if (j - i >= minrep)
          sb_add(&o, content, strlen(content));
        else
          sb_add(&o, s->s + i, j - i);
        i = j;
      } else
        sb_add(&o, s->s + i++, 1);
    }
    if (o.oom) {
      free(o.s);
      s->oom = 1;
      return;
    }
    free(s->s);
    *s = o;
  }
  /* Precompiled, NFC, NFKC, NFD, NFKD: identity (documented limitation; exact for ASCII input) */
}

static fc_status check_pretok(const cJSON *p, const char *path, fc_error *err) {
  if (!p || cJSON_IsNull(p)) return FC_OK;
  const char *ty = json_str(p, "type");
  if (!ty) return fc_error_set(err, FC_EFORMAT, "%s: pre_tokenizer without type", path);
  if (!strcmp(ty, "Sequence")) {
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(p, "pretokenizers")) {
      fc_status s = check_pretok(e, path, err);
      if (s != FC_OK) return s;
    }
    return FC_OK;
  }
  if (!strcmp(ty, "Metaspace") || !strcmp(ty, "WhitespaceSplit") || !strcmp(ty, "Whitespace")) return FC_OK;
  return fc_error_set(err, FC_EUNSUPPORTED, "%s: pre_tokenizer '%s' is not supported", path, ty);
}

/* A list of pieces (offsets into one buffer). */
typedef struct {
  size_t *b, *e;
  size_t n, cap;
  int oom;
} pieces;

static void pc_add(pieces *p, size_t b, size_t e) {
  if (p->oom || b >= e) return;
  if (p->n == p->cap) {
    size_t nc = p->cap ? 2 * p->cap : 16;
    size_t *nb = realloc(p->b, nc * sizeof *nb);
    if (nb) p->b = nb;
    size_t *ne = nb ? realloc(p->e, nc * sizeof *ne) : NULL;
    if (ne) p->e = ne;
    if (!nb || !ne) {
      p->oom = 1;
      return;
    }
    p->cap = nc;
  }
  p->b[p->n] = b;
  p->e[p->n++] = e;
}

static int is_word(unsigned char c) {
  return isalnum(c) || c == '_' || c >= 0x80;
}

/* Applies one pre-tokenizer to buffer s (which it may rewrite: Metaspace), splitting every piece. */
static void pretok(const cJSON *p, sbuf *s, pieces *ps, int first) {
  if (!p || cJSON_IsNull(p) || ps->oom) return;
  const char *ty = json_str(p, "type");
  if (!strcmp(ty, "Sequence")) {
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(p, "pretokenizers")) pretok(e, s, ps, first);
    return;
  }
  if (!strcmp(ty, "Metaspace")) {
    const char *rep = json_str(p, "replacement");
    if (!rep) rep = "\xe2\x96\x81";
    size_t rl = strlen(rep);
    const char *scheme = json_str(p, "prepend_scheme");
    int prepend;
    if (scheme)
      prepend = !strcmp(scheme, "always") || (!strcmp(scheme, "first") && first);
    else {
      const cJSON *aps = cJSON_GetObjectItemCaseSensitive(p, "add_prefix_space");
      prepend = aps ? cJSON_IsTrue(aps) : 1;
    }
    const cJSON *spl = cJSON_GetObjectItemCaseSensitive(p, "split");
    int split = spl ? cJSON_IsTrue(spl) : 1;
    /* rewrite the whole buffer: pieces are rebuilt over the new text */
    sbuf o = {0};
    sb_add(&o, "", 0);
    pieces np = {0};
    for (size_t k = 0; k < ps->n; k++) {
      size_t start = o.n;
      const char *q = s->s + ps->b[k];
      size_t ql = ps->e[k] - ps->b[k];
      int starts = ql >= rl && !memcmp(q, rep, rl);
      if (!starts && ql >= 1 && q[0] == ' ') starts = 1;
      if (prepend && !starts) sb_add(&o, rep, rl);
      for (size_t i = 0; i < ql; i++) {
        if (q[i] == ' ')
          sb_add(&o, rep, rl);
        else
          sb_add(&o, q + i, 1);
      }
      size_t end = o.n;
      if (o.oom) break;
      if (!split) {
        pc_add(&np, start, end);
        continue;
      }
      size_t b = start;
      for (size_t i = start; i < end;) {
        if (i > b && i + rl <= end && !memcmp(o.s + i, rep, rl)) {
          pc_add(&np, b, i);
          b = i;
        }
        i += (i + rl <= end && !memcmp(o.s + i, rep, rl)) ? rl : 1;
      }
      pc_add(&np, b, end);
    }
    if (o.oom || np.oom) {
      free(o.s);
      free(np.b);
      free(np.e);
      ps->oom = 1;
      return;
    }
    free(s->s);
    *s = o;
    free(ps->b);
    free(ps->e);
    *ps = np;
    return;
  }
  /* WhitespaceSplit / Whitespace: split every piece */
  int ws_only = !strcmp(ty, "WhitespaceSplit");
  pieces np = {0};
  for (size_t k = 0; k < ps->n; k++) {
    size_t i = ps->b[k], e = ps->e[k];
    while (i < e) {
      unsigned char c = (unsigned char)s->s[i];
      if (is_py_space(c)) {
        i++;
        continue;
      }
      size_t j = i;
      if (ws_only)
        while (j < e && !is_py_space((unsigned char)s->s[j]))
          j++;
      else if (is_word(c))
        while (j < e && is_word((unsigned char)s->s[j]))
          j++;
      else
        while (j < e && !is_word((unsigned char)s->s[j]) && !is_py_space((unsigned char)s->s[j]))
          j++;
      pc_add(&np, i, j);
      i = j;
    }
  }
  free(ps->b);
  free(ps->e);
  *ps = np;
}

static int bpe_word(const fc_tokenizer *t, const char *w, size_t n, ivec *out) {
  /* symbols as (offset, length, id); id -1 = unknown */
  size_t cnt = 0;
  size_t *off = malloc((n + 1) * sizeof *off), *len = malloc((n + 1) * sizeof *len);
  if (!off || !len) {
    free(off);
    free(len);
    return 0;
  }
  for (size_t i = 0; i < n;) {
    size_t cl = utf8_len((const unsigned char *)w + i, n - i);
    off[cnt] = i;
    len[cnt++] = cl;
    i += cl;
  }
  char *key = malloc(2 * n + 2);
  if (!key) {
    free(off);
    free(len);
    return 0;
  }
  for (;;) {
    int64_t best = INT64_MAX;
    size_t bi = 0;
    for (size_t i = 0; i + 1 < cnt && t->merges_ready; i++) {
      if (model_get(t, w + off[i], len[i]) < 0 || model_get(t, w + off[i + 1], len[i + 1]) < 0) continue;
      memcpy(key, w + off[i], len[i]);
      key[len[i]] = ' ';
      memcpy(key + len[i] + 1, w + off[i + 1], len[i + 1]);
      int64_t r;
      if (fc_strmap_get(&t->merges, key, len[i] + 1 + len[i + 1], &r) && r < best &&
          model_get(t, w + off[i], len[i] + len[i + 1]) >= 0) {
        best = r;
        bi = i;
      }
    }
    if (best == INT64_MAX) break;
    len[bi] += len[bi + 1];
    memmove(off + bi + 1, off + bi + 2, (cnt - bi - 2) * sizeof *off);
    memmove(len + bi + 1, len + bi + 2, (cnt - bi - 2) * sizeof *len);
    cnt--;
  }
  int prev_unk = 0;
  for (size_t i = 0; i < cnt; i++) {
    int32_t id = model_get(t, w + off[i], len[i]);
    if (id < 0) {
      if (t->unk < 0) continue;
      if (t->fuse_unk && prev_unk) continue;
      iv_push(out, t->unk);
      prev_unk = 1;
    } else {
      iv_push(out, id);
      prev_unk = 0;
    }
  }
  free(key);
  free(off);
  free(len);
  return !out->oom;
}

static int json_segment(const fc_tokenizer *t, const char *s, size_t n, int first, ivec *out) {
  sbuf b = {0};
  sb_add(&b, s, n);
  normalize(t->normalizer, &b);
  if (b.oom) {
    free(b.s);
    return 0;
  }
  pieces ps = {0};
  pc_add(&ps, 0, b.n);
  pretok(t->pretok, &b, &ps, first);
  int ok = !ps.oom;
  for (size_t k = 0; k < ps.n && ok; k++) {
    const char *w = b.s + ps.b[k];
    size_t wl = ps.e[k] - ps.b[k];
    if (t->mtype == M_UNIGRAM)
      ok = viterbi(t, w, wl, 0, out);
    else if (t->mtype == M_BPE)
      ok = bpe_word(t, w, wl, out);
    else {
      int32_t id = model_get(t, w, wl);
      if (id < 0) id = t->unk;
      if (id >= 0) iv_push(out, id);
      ok = !out->oom;
    }
  }
  free(ps.b);
  free(ps.e);
  free(b.s);
  return ok;
}

static fc_status check_post(fc_tokenizer *t, const cJSON *p, const char *path, fc_error *err) {
  if (!p || cJSON_IsNull(p)) return FC_OK;
  const char *ty = json_str(p, "type");
  if (!ty) return fc_error_set(err, FC_EFORMAT, "%s: post_processor without type", path);
  if (!strcmp(ty, "Sequence")) {
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(p, "processors")) {
      fc_status s = check_post(t, e, path, err);
      if (s != FC_OK) return s;
    }
    return FC_OK;
  }
  if (!strcmp(ty, "ByteLevel")) return FC_OK;
  if (!strcmp(ty, "BertProcessing") || !strcmp(ty, "RobertaProcessing")) {
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(p, "cls"),
                *s = cJSON_GetObjectItemCaseSensitive(p, "sep");
    if (cJSON_GetArraySize(c) != 2 || cJSON_GetArraySize(s) != 2 ||
        !cJSON_IsNumber(cJSON_GetArrayItem(c, 1)) || !cJSON_IsNumber(cJSON_GetArrayItem(s, 1)))
      return fc_error_set(err, FC_EFORMAT, "%s: %s without cls/sep", path, ty);
    t->cls = (int32_t)cJSON_GetArrayItem(c, 1)->valuedouble;
    return FC_OK;
  }
  if (!strcmp(ty, "TemplateProcessing")) {
    const cJSON *single = cJSON_GetObjectItemCaseSensitive(p, "single"), *e;
    const cJSON *sp = cJSON_GetObjectItemCaseSensitive(p, "special_tokens");
    if (!cJSON_IsArray(single))
      return fc_error_set(err, FC_EFORMAT, "%s: TemplateProcessing without single", path);
    int first = 1;
    cJSON_ArrayForEach(e, single) {
      const cJSON *st = cJSON_GetObjectItemCaseSensitive(e, "SpecialToken");
      if (st) {
        const char *id = json_str(st, "id");
        const cJSON *ids =
            cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(sp, id ? id : ""), "ids");
        if (!id || !cJSON_IsArray(ids))
          return fc_error_set(err, FC_EFORMAT, "%s: TemplateProcessing special token '%s' has no ids", path,
                              id ? id : "?");
        const cJSON *x;
        cJSON_ArrayForEach(x, ids) if (!cJSON_IsNumber(x)) return fc_error_set(
            err, FC_EFORMAT, "%s: TemplateProcessing special token '%s' has a non-numeric id", path, id);
        if (first && cJSON_GetArraySize(ids) == 1) t->cls = (int32_t)cJSON_GetArrayItem(ids, 0)->valuedouble;
      } else if (!cJSON_GetObjectItemCaseSensitive(e, "Sequence"))
        return fc_error_set(err, FC_EFORMAT,
                            "%s: TemplateProcessing item is neither SpecialToken nor Sequence", path);
      first = 0;
    }
    return FC_OK;
  }
  return fc_error_set(err, FC_EUNSUPPORTED, "%s: post_processor '%s' is not supported", path, ty);
}

static int post_process(const fc_tokenizer *t, const cJSON *p, ivec *ids) {
  if (!p || cJSON_IsNull(p)) return 1;
  const char *ty = json_str(p, "type");
  if (!strcmp(ty, "Sequence")) {
    const cJSON *e;
    cJSON_ArrayForEach(
        e, cJSON_GetObjectItemCaseSensitive(p, "processors")) if (!post_process(t, e, ids)) return 0;
    return 1;
  }
  ivec o = {0};
  if (!strcmp(ty, "BertProcessing") || !strcmp(ty, "RobertaProcessing")) {
    iv_push(&o, (int32_t)cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(p, "cls"), 1)->valuedouble);
    for (size_t i = 0; i < ids->n; i++)
      iv_push(&o, ids->v[i]);
    iv_push(&o, (int32_t)cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(p, "sep"), 1)->valuedouble);
  } else if (!strcmp(ty, "TemplateProcessing")) {
    const cJSON *e, *sp = cJSON_GetObjectItemCaseSensitive(p, "special_tokens");
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(p, "single")) {
      const cJSON *st = cJSON_GetObjectItemCaseSensitive(e, "SpecialToken"), *x;
      if (st) {
        cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(
                                  cJSON_GetObjectItemCaseSensitive(sp, json_str(st, "id")), "ids"))
            iv_push(&o, (int32_t)x->valuedouble);
      } else
        for (size_t i = 0; i < ids->n; i++)
          iv_push(&o, ids->v[i]);
    }
  } else
    return 1; /* ByteLevel: ids unchanged */
  if (o.oom) {
    free(o.v);
    return 0;
  }
  free(ids->v);
  *ids = o;
  return 1;
}

static fc_status open_json(fc_tokenizer *t, const char *path, fc_error *err) {
  char *txt = NULL;
  size_t tl = 0;
  fc_status st = fc_read_file(path, 0, &txt, &tl, err);
  if (st != FC_OK) return st;
  t->json = cJSON_ParseWithLength(txt, tl);
  free(txt);
  if (!cJSON_IsObject(t->json)) return fc_error_set(err, FC_EFORMAT, "%s: malformed JSON", path);
  const cJSON *m = cJSON_GetObjectItemCaseSensitive(t->json, "model");
  const char *ty = json_str(m, "type");
  const cJSON *vocab = cJSON_GetObjectItemCaseSensitive(m, "vocab");
  if (!ty || !vocab) return fc_error_set(err, FC_EFORMAT, "%s: \"model\" lacks type or vocab", path);
  if (!strcmp(ty, "Unigram")) {
    t->mtype = M_UNIGRAM;
    if (!cJSON_IsArray(vocab)) return fc_error_set(err, FC_EFORMAT, "%s: Unigram vocab is not a list", path);
    int n = cJSON_GetArraySize(vocab), i = 0;
    t->score = malloc((size_t)(n ? n : 1) * sizeof *t->score);
    if (!t->score) return fc_error_set(err, FC_ENOMEM, "%s: out of memory", path);
    t->min_score = FLT_MAX;
    const cJSON *e;
    cJSON_ArrayForEach(e, vocab) {
      const cJSON *ps = cJSON_GetArrayItem(e, 0), *sc = cJSON_GetArrayItem(e, 1);
      if (!cJSON_IsString(ps) || !cJSON_IsNumber(sc))
        return fc_error_set(err, FC_EFORMAT, "%s: Unigram vocab entry %d is not [piece, score]", path, i);
      if (!model_put(t, ps->valuestring, strlen(ps->valuestring), i))
        return fc_error_set(err, FC_ENOMEM, "%s: out of memory", path);
      t->score[i] = (float)sc->valuedouble;
      if (t->score[i] < t->min_score) t->min_score = t->score[i];
      i++;
    }
    if (n == 0) t->min_score = 0;
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(m, "unk_id");
    t->unk = cJSON_IsNumber(u) ? (int32_t)u->valuedouble : -1;
    if (t->unk < 0 || t->unk >= n)
      return fc_error_set(err, FC_EUNSUPPORTED, "%s: Unigram model without a valid unk_id", path);
  } else if (!strcmp(ty, "BPE") || !strcmp(ty, "WordLevel")) {
    t->mtype = !strcmp(ty, "BPE") ? M_BPE : M_WORDLEVEL;
    if (!cJSON_IsObject(vocab))
      return fc_error_set(err, FC_EFORMAT, "%s: %s vocab is not an object", path, ty);
    const cJSON *e;
    cJSON_ArrayForEach(e, vocab) {
      if (!cJSON_IsNumber(e) || e->valuedouble < 0 || e->valuedouble > (1 << 26))
        return fc_error_set(err, FC_EFORMAT, "%s: vocab entry '%s' has no valid id", path, e->string);
      if (!model_put(t, e->string, strlen(e->string), (int32_t)e->valuedouble))
        return fc_error_set(err, FC_ENOMEM, "%s: out of memory", path);
    }
    const char *unk = json_str(m, "unk_token");
    t->unk = unk ? model_get(t, unk, strlen(unk)) : -1;
    t->fuse_unk = json_true(m, "fuse_unk");
    if (t->mtype == M_BPE) {
      if (json_str(m, "continuing_subword_prefix") || json_str(m, "end_of_word_suffix") ||
          json_true(m, "byte_fallback"))
        return fc_error_set(err, FC_EUNSUPPORTED,
                            "%s: BPE with subword prefix/suffix or byte fallback is not supported", path);
      const cJSON *mg = cJSON_GetObjectItemCaseSensitive(m, "merges");
      if (fc_strmap_init(&t->merges, 64) != FC_OK)
        return fc_error_set(err, FC_ENOMEM, "%s: out of memory", path);
      t->merges_ready = 1;
      int64_t rank = 0;
      cJSON_ArrayForEach(e, mg) {
        const char *k;
        char *tmp = NULL;
        if (cJSON_IsString(e))
          k = e->valuestring;
        else if (cJSON_GetArraySize(e) == 2 && cJSON_IsString(cJSON_GetArrayItem(e, 0)) &&
                 cJSON_IsString(cJSON_GetArrayItem(e, 1)))
          k = tmp = fc_sprintf("%s %s", cJSON_GetArrayItem(e, 0)->valuestring,
                               cJSON_GetArrayItem(e, 1)->valuestring);
        else
          return fc_error_set(err, FC_EFORMAT, "%s: merge %lld is malformed", path, (long long)rank);
        const char *kk = k ? own(t, k, strlen(k)) : NULL;
        free(tmp);
        if (!kk || fc_strmap_put(&t->merges, kk, strlen(kk), rank, NULL) < 0)
          return fc_error_set(err, FC_ENOMEM, "%s: out of memory", path);
        rank++;
      }
    }
  } else
    return fc_error_set(err, FC_EUNSUPPORTED, "%s: tokenizer model type '%s' is not supported", path, ty);
  const cJSON *e;
  cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(t->json, "added_tokens")) {
    const char *c = json_str(e, "content");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, "id");
    if (!c || !cJSON_IsNumber(id) || id->valuedouble < 0 || id->valuedouble > (1 << 26))
      return fc_error_set(err, FC_EFORMAT, "%s: added token without content or valid id", path);
    if (!add_added(t, c, strlen(c), (int32_t)id->valuedouble, json_true(e, "special"), json_true(e, "lstrip"),
                   json_true(e, "rstrip")))
      return fc_error_set(err, FC_ENOMEM, "%s: out of memory", path);
  }
  t->normalizer = cJSON_GetObjectItemCaseSensitive(t->json, "normalizer");
  t->pretok = cJSON_GetObjectItemCaseSensitive(t->json, "pre_tokenizer");
  t->post = cJSON_GetObjectItemCaseSensitive(t->json, "post_processor");
  if ((st = check_normalizer(t->normalizer, path, err)) != FC_OK) return st;
  if ((st = check_pretok(t->pretok, path, err)) != FC_OK) return st;
  if ((st = check_post(t, t->post, path, err)) != FC_OK) return st;
  t->pad = fc_tokenizer_token_to_id(t, "<pad>");
  t->eos = fc_tokenizer_token_to_id(t, "</s>");
  if (t->eos < 0) t->eos = fc_tokenizer_token_to_id(t, "<eos>");
  if (t->cls < 0) t->cls = fc_tokenizer_token_to_id(t, "<cls>");
  return FC_OK;
}

/* ------------------------------------------------------------------ open / encode */

fc_status fc_tokenizer_open(const char *dir, fc_tokenizer_kind kind, fc_tokenizer **out, fc_error *err) {
  *out = NULL;
  static const char *const files[] = {NULL, "vocab.txt", "spiece.model", "tokenizer.json"};
  char *path = NULL;
  if (kind == FC_TOK_AUTO) {
    for (int k = 1; k <= 3 && !path; k++) {
      char *p = fc_path_join(dir, files[k]);
      if (p && fc_file_exists(p)) {
        path = p;
        kind = (fc_tokenizer_kind)k;
      } else
        free(p);
    }
    if (!path)
      return fc_error_set(err, FC_ENOTFOUND, "%s: no tokenizer (vocab.txt, spiece.model or tokenizer.json)",
                          dir);
  } else if (kind >= FC_TOK_VOCAB_TXT && kind <= FC_TOK_JSON) {
    path = fc_path_join(dir, files[kind]);
    if (path && !fc_file_exists(path)) {
      fc_status s = fc_error_set(err, FC_ENOTFOUND, "%s: no such tokenizer file", path);
      free(path);
      return s;
    }
  } else
    return fc_error_set(err, FC_EINVAL, "tokenizer: bad kind %d", (int)kind);
  fc_tokenizer *t = calloc(1, sizeof *t);
  if (!t || !path) {
    free(t);
    free(path);
    return fc_error_set(err, FC_ENOMEM, "%s: out of memory", dir);
  }
  t->kind = kind;
  t->unk = t->pad = t->eos = t->cls = -1;
  fc_status st = kind == FC_TOK_VOCAB_TXT ? open_vocab(t, path, err)
                 : kind == FC_TOK_SPIECE  ? open_spiece(t, dir, path, err)
                                          : open_json(t, path, err);
  free(path);
  if (st != FC_OK) {
    fc_tokenizer_close(t);
    return st;
  }
  *out = t;
  return FC_OK;
}

/* Leftmost-longest added token starting at or after pos; returns index or -1, with *at its offset. */
static long find_added(const fc_tokenizer *t, const char *s, size_t n, size_t pos, size_t *at) {
  for (size_t i = pos; i < n; i++) {
    long best = -1;
    for (size_t k = 0; k < t->nadded; k++) {
      const added_tok *a = &t->added[k];
      if (a->len <= n - i && (best < 0 || a->len > t->added[best].len) && !memcmp(s + i, a->s, a->len))
        best = (long)k;
    }
    if (best >= 0) {
      *at = i;
      return best;
    }
  }
  return -1;
}

static int encode_segment(const fc_tokenizer *t, const char *s, size_t n, int first, ivec *out) {
  if (t->kind == FC_TOK_SPIECE) return spiece_encode(t, s, n, out);
  if (t->kind == FC_TOK_JSON) return json_segment(t, s, n, first, out);
  /* vocab.txt: whatever no vocab string matched is split on whitespace; each word is <unk> */
  for (size_t i = 0; i < n;) {
    if (is_py_space((unsigned char)s[i])) {
      i++;
      continue;
    }
    size_t j = i;
    while (j < n && !is_py_space((unsigned char)s[j]))
      j++;
    int32_t id = model_get(t, s + i, j - i);
    iv_push(out, id >= 0 ? id : t->unk);
    i = j;
  }
  return !out->oom;
}

fc_status fc_tokenizer_encode(const fc_tokenizer *t, const char *text, size_t len, int add_special,
                              int32_t **ids, size_t *n, fc_error *err) {
  *ids = NULL;
  *n = 0;
  if (!text && len) return fc_error_set(err, FC_EINVAL, "tokenizer: NULL text");
  ivec o = {0};
  size_t pos = 0;
  int ok = 1;
  while (ok && pos <= len) {
    size_t at = len;
    long k = find_added(t, text, len, pos, &at);
    size_t seg_end = k >= 0 ? at : len, next = k >= 0 ? at + t->added[k].len : len;
    if (k >= 0 && t->kind == FC_TOK_JSON) {
      if (t->added[k].lstrip)
        while (seg_end > pos && is_py_space((unsigned char)text[seg_end - 1]))
          seg_end--;
      if (t->added[k].rstrip)
        while (next < len && is_py_space((unsigned char)text[next]))
          next++;
    }
    if (seg_end > pos) ok = encode_segment(t, text + pos, seg_end - pos, pos == 0, &o);
    if (k < 0) break;
    iv_push(&o, t->added[k].id);
    pos = next;
  }
  if (ok && !o.oom && add_special) {
    if (t->kind == FC_TOK_VOCAB_TXT) {
      ivec w = {0};
      iv_push(&w, t->cls);
      for (size_t i = 0; i < o.n; i++)
        iv_push(&w, o.v[i]);
      iv_push(&w, t->eos);
      free(o.v);
      o = w;
    } else if (t->kind == FC_TOK_SPIECE) {
      if (t->eos >= 0 && (o.n == 0 || o.v[o.n - 1] != t->eos)) iv_push(&o, t->eos);
    } else
      ok = post_process(t, t->post, &o);
  }
  if (!ok || o.oom) {
    free(o.v);
    return fc_error_set(err, FC_ENOMEM, "tokenizer: out of memory");
  }
  if (!o.v) o.v = malloc(sizeof *o.v);
  if (!o.v) return fc_error_set(err, FC_ENOMEM, "tokenizer: out of memory");
  *ids = o.v;
  *n = o.n;
  return FC_OK;
}

char *fc_tokenizer_protein_text(fc_protein_style style, const char *seq, size_t len) {
  sbuf b = {0};
  sb_add(&b, "", 0);
  if (style == FC_PROTEIN_RAW || style == FC_PROTEIN_ANKH3_NLU) {
    if (style == FC_PROTEIN_ANKH3_NLU) sb_add(&b, "[NLU]", 5);
    sb_add(&b, seq, len);
  } else {
    int prefix = style == FC_PROTEIN_PROSTT5 || style == FC_PROTEIN_PROTT5_FANTASIA;
    if (prefix) sb_add(&b, "<AA2fold>", 9);
    for (size_t i = 0; i < len; i++) {
      char c = seq[i];
      if (c == 'U' || c == 'Z' || c == 'O' || c == 'B') c = 'X';
      if (i > 0 || prefix) sb_add(&b, " ", 1);
      sb_add(&b, &c, 1);
    }
  }
  if (b.oom) {
    free(b.s);
    return NULL;
  }
  return b.s;
}
