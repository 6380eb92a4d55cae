/* Stage A driver: FASTA -> embeddings.h5 for the built-in kmer model and language model directories
 * (ESM-2, T5 encoders, ESM C). Resumable: vectors already in the (partial) file are kept; identical sequences
 * are computed once; language models run packed batches, longest first, under a token and a memory budget;
 * every record that cannot be embedded is listed in failed_sequences.tsv with its reason. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cblas.h>
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
    fprintf(f.fp, "%s\t\t%s\n", extra_id[i] ? extra_id[i] : "?", /* NULL: strdup ran out of memory */
            extra_reason[i] ? extra_reason[i] : "could not be embedded (reason lost: out of memory)");
  return fc_atomic_commit(&f, err);
}

static char *failed_path(const fc_embed_opts *o, const char *out_h5) {
  if (o && o->failed_tsv) return fc_strdup(o->failed_tsv);
  const char *slash = strrchr(out_h5, '/');
  return slash ? fc_sprintf("%.*s/failed_sequences.tsv", (int)(slash - out_h5), out_h5)
               : fc_strdup("failed_sequences.tsv");
}

/* ---- memory sizes ---- */
size_t fc_embed_default_memory(void) {
  size_t min = (size_t)256 << 20, lim = fc_memory_limit(), used = fc_process_rss();
  size_t half = (lim > used ? lim - used : 0) / 2;
  return half > min ? half : min;
}

fc_status fc_parse_bytes(const char *s, size_t *out, fc_error *err) {
  char *end = NULL;
  if (!s || !*s || isspace((unsigned char)*s) || *s == '-' || *s == '+')
    return fc_error_set(err, FC_EINVAL, "'%s' is not a size (examples: 8G, 512M, 1.5G, 1000000)", s ? s : "");
  errno = 0;
  double v = strtod(s, &end);
  if (end == s || errno || !(v > 0))
    return fc_error_set(err, FC_EINVAL, "'%s' is not a positive size (examples: 8G, 512M, 1.5G)", s);
  double mul = 1;
  switch (toupper((unsigned char)*end)) {
  case 'K':
    mul = 1024.0;
    end++;
    break;
  case 'M':
    mul = 1024.0 * 1024;
    end++;
    break;
  case 'G':
    mul = 1024.0 * 1024 * 1024;
    end++;
    break;
  case 'T':
    mul = 1024.0 * 1024 * 1024 * 1024;
    end++;
    break;
  default:
    break;
  }
  if (mul > 1 && (*end == 'i' || *end == 'I')) end++;
  if (*end == 'b' || *end == 'B') end++;
  if (*end) return fc_error_set(err, FC_EINVAL, "'%s': unknown size unit (use K, M, G or T)", s);
  double b = v * mul;
  if (!(b >= 1) || b > 9.0e18 || b > (double)SIZE_MAX)
    return fc_error_set(err, FC_EINVAL, "'%s' is not a usable size", s);
  *out = (size_t)b;
  return FC_OK;
}

void fc_format_bytes(size_t bytes, char *buf, size_t n) {
  static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = (double)bytes;
  int u = 0;
  while (v >= 1024 && u < 4)
    v /= 1024, u++;
  if (u == 0 || v >= 100 || fabs(v - round(v)) < 0.05)
    snprintf(buf, n, "%.0f %s", round(v), unit[u]);
  else
    snprintf(buf, n, "%.1f %s", v, unit[u]);
}

/* ---- language models ----
 * Every model directory kind is one plm_ops entry (and one branch in plm_open); the driver below only
 * calls through it, so a new model with the same batch API (fc_<m>_embed_batch / fc_<m>_batch_bytes) is one
 * more entry. ESM-2 (model_type "esm" or none), T5 encoders (model_type "t5"), ESM C checkpoints
 * (fc_esmc_is_checkpoint: hub dir with data/weights/esmc_*.pth, or the .pth itself). */
typedef struct plm plm;
typedef struct {
  const char *label;        /* progress / log label */
  const char *default_name; /* type_<name> when the caller gives none */
  size_t extra_tokens;      /* tokens per sequence beyond its residues (upper bound: special tokens) */
  fc_status (*embed_batch)(const plm *m, const char *const *seqs, const size_t *lens, size_t n,
                           const int *layers, size_t nl, float *out, fc_error *err);
  size_t (*batch_bytes)(const plm *m, size_t total_tokens, size_t max_tokens);
} plm_ops;

struct plm {
  const plm_ops *ops;
  fc_esm2 *esm;
  fc_t5 *t5;
  fc_esmc *esmc;
  int style;          /* fc_protein_style (T5) */
  fc_t5_pooling pool; /* T5 */
  const char *pooling_name;
  size_t L, H; /* L: the largest FANTASIA layer index */
};

static fc_status esm2_batch(const plm *m, const char *const *seqs, const size_t *lens, size_t n,
                            const int *layers, size_t nl, float *out, fc_error *err) {
  return fc_esm2_embed_batch(m->esm, seqs, lens, n, layers, nl, out, err);
}
static size_t esm2_bytes(const plm *m, size_t total, size_t max) {
  return fc_esm2_batch_bytes(m->esm, total, max);
}
static fc_status t5_batch(const plm *m, const char *const *seqs, const size_t *lens, size_t n,
                          const int *layers, size_t nl, float *out, fc_error *err) {
  return fc_t5_embed_batch(m->t5, m->style, seqs, lens, n, layers, nl, m->pool, out, err);
}
static size_t t5_bytes(const plm *m, size_t total, size_t max) {
  return fc_t5_batch_bytes(m->t5, total, max);
}
static const plm_ops OPS_ESM2 = {"ESM-2", "ESM", 2, esm2_batch, esm2_bytes};
static const plm_ops OPS_T5 = {"T5", "T5", 2, t5_batch, t5_bytes}; /* </s>, and a prefix token for some */
static fc_status esmc_batch(const plm *m, const char *const *seqs, const size_t *lens, size_t n,
                            const int *layers, size_t nl, float *out, fc_error *err) {
  return fc_esmc_embed_batch(m->esmc, seqs, lens, n, layers, nl, out, err);
}
static size_t esmc_bytes(const plm *m, size_t total, size_t max) {
  return fc_esmc_batch_bytes(m->esmc, total, max);
}
static const plm_ops OPS_ESMC = {"ESM C", "ESM3c", 2, esmc_batch, esmc_bytes};

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
    m->ops = &OPS_ESMC;
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
      m->style = o->fantasia_pooling ? FC_PROTEIN_PROTT5_FANTASIA : FC_PROTEIN_PROTT5;
    else
      m->style = FC_PROTEIN_RAW;
    m->pool = o->fantasia_pooling ? FC_T5_POOL_ALL : FC_T5_POOL_RESIDUES;
    m->pooling_name = o->fantasia_pooling ? FC_T5_POOLING_ALL : FC_T5_POOLING_RESIDUES;
    m->L = (size_t)fc_t5_get_config(m->t5)->num_layers;
    m->H = (size_t)fc_t5_get_config(m->t5)->d_model;
    m->ops = &OPS_T5;
    return FC_OK;
  }
  if ((st = fc_esm2_open(o->model, NULL, &m->esm, err)) != FC_OK) return st;
  m->pooling_name = FC_ESM2_POOLING;
  m->L = (size_t)fc_esm2_get_config(m->esm)->num_hidden_layers;
  m->H = (size_t)fc_esm2_get_config(m->esm)->hidden_size;
  m->ops = &OPS_ESM2;
  return FC_OK;
}

/* The records of one distinct sequence that still need vectors, and where its result goes. */
typedef struct {
  size_t rec;    /* first record with this sequence (its seq/len are used) */
  size_t tokens; /* len + ops->extra_tokens */
} useq;

static int by_len_desc(const void *a, const void *b) {
  const useq *x = a, *y = b;
  if (x->tokens != y->tokens) return x->tokens > y->tokens ? -1 : 1;
  return x->rec < y->rec ? -1 : x->rec > y->rec; /* stable: file order */
}

typedef struct {
  const fc_embed_opts *o;
  const plm *m;
  const fc_seqset *s;
  const size_t *next; /* next record needing the same sequence (SIZE_MAX: none) */
  const int *layers;
  size_t nl;
  const char *name;
  fc_embfile_writer *w;
  char **fid, **freason; /* failures, s->n capacity */
  size_t nf, done;
} run_ctx;

static void add_failure(run_ctx *c, size_t rec, const char *reason) {
  for (size_t r = rec; r != SIZE_MAX; r = c->next[r]) {
    c->fid[c->nf] = fc_strdup(c->s->rec[r].accession);
    c->freason[c->nf++] = fc_strdup(reason);
    fc_log_warn("embed: %s: %s", c->s->rec[r].accession, reason);
  }
}

/* Writes sequence u's vectors (vec: nl × H) for every record sharing it. */
static fc_status put_result(run_ctx *c, size_t rec, const float *vec, fc_error *err) {
  size_t H = c->m->H;
  for (size_t i = 0; i < c->nl * H; i++)
    if (!isfinite(vec[i])) {
      char *why = fc_sprintf("the model produced a non-finite value (layer %d, dimension %zu)",
                             c->layers[i / H], i % H);
      add_failure(c, rec, why ? why : "the model produced a non-finite value");
      free(why);
      return FC_OK;
    }
  for (size_t r = rec; r != SIZE_MAX; r = c->next[r]) {
    const fc_seq_record *sr = &c->s->rec[r];
    for (size_t j = 0; j < c->nl; j++) {
      fc_status st = fc_embfile_writer_put(c->w, sr->accession, sr->seq, c->name, c->layers[j],
                                           c->m->pooling_name, vec + j * H, H, err);
      if (st != FC_OK) return st;
    }
    c->done++;
  }
  return FC_OK;
}

/* Runs one packed batch (u[0..n)); on an error, its sequences again one at a time so only the bad one
 * fails. */
static fc_status run_batch(run_ctx *c, const useq *u, size_t n, const char **bseq, size_t *blen,
                           fc_error *err) {
  size_t nl = c->nl, H = c->m->H;
  float *vec = malloc(n * nl * H * sizeof *vec);
  if (!vec) return fc_error_set(err, FC_ENOMEM, "out of memory");
  for (size_t i = 0; i < n; i++) {
    bseq[i] = c->s->rec[u[i].rec].seq;
    blen[i] = c->s->rec[u[i].rec].len;
  }
  fc_error e2;
  fc_error_clear(&e2);
  fc_status st = FC_OK, es = c->m->ops->embed_batch(c->m, bseq, blen, n, c->layers, nl, vec, &e2);
  if (es == FC_OK) {
    for (size_t i = 0; i < n && st == FC_OK; i++)
      st = put_result(c, u[i].rec, vec + i * nl * H, err);
  } else if (n > 1) {
    fc_log_warn("embed: a batch of %zu sequences failed (%s); running them one at a time", n, e2.msg);
    for (size_t i = 0; i < n && st == FC_OK; i++)
      st = run_batch(c, u + i, 1, bseq, blen, err);
  } else {
    add_failure(c, u[0].rec, e2.msg); /* FANTASIA drops the single sequence and carries on */
  }
  free(vec);
  return st;
}

/* Characters outside the 25 amino-acid letters (20 standard + X B Z U O) are not an error (each model's
 * tokenizer maps them as HF does, to <unk> or X), but they are counted and reported, never silent. */
static void report_nonstandard(const fc_seqset *s) {
  size_t nseq = 0, nch = 0;
  char ex[160] = "";
  for (size_t i = 0; i < s->n; i++) {
    const fc_seq_record *r = &s->rec[i];
    size_t k = 0, first = SIZE_MAX;
    for (size_t j = 0; j < r->len; j++)
      if (!r->seq[j] || !strchr("ACDEFGHIKLMNPQRSTVWYXBZUO", r->seq[j])) {
        if (first == SIZE_MAX) first = j;
        k++;
      }
    if (!k) continue;
    nseq++;
    nch += k;
    size_t used = strlen(ex);
    if (nseq <= 3 && used + 1 < sizeof ex)
      snprintf(ex + used, sizeof ex - used, "%s%s ('%c' at %zu)", nseq > 1 ? ", " : "", r->accession,
               r->seq[first], first + 1);
  }
  if (nseq)
    fc_log_warn("embed: %zu %s %zu character%s outside the amino-acid alphabet "
                "(ACDEFGHIKLMNPQRSTVWY XBZUO), e.g. %s%s; the model's tokenizer maps them (usually to <unk>)",
                nseq, nseq == 1 ? "sequence holds" : "sequences hold", nch, nch == 1 ? "" : "s", ex,
                nseq > 3 ? ", ..." : "");
}

/* Language model directories: unique sequences, longest first, in packed batches under a token budget
 * and a memory budget; results written as each batch finishes (resumable through the writer). */
static fc_status embed_plm(const char *fasta, const char *out_h5, const fc_embed_opts *o, size_t *n_done,
                           size_t *n_failed, fc_error *err) {
  static const int default_layer = 0;
  const int *layers = o->layers && o->n_layers ? o->layers : &default_layer;
  size_t nl = o->layers && o->n_layers ? o->n_layers : 1;
  plm m = {0};
  fc_status st = plm_open(o, &m, err);
  if (st != FC_OK) return st;
  const plm_ops *ops = m.ops;
  const char *name = o->model_name && *o->model_name ? o->model_name : ops->default_name;
  for (size_t j = 0; j < nl; j++)
    if (layers[j] < 0 || (size_t)layers[j] > m.L) {
      plm_close(&m);
      return fc_error_set(err, FC_EINVAL, "%s: layer index %d outside 0..%zu (0 = last hidden state)",
                          o->model, layers[j], m.L);
    }
  size_t budget = o->max_memory ? o->max_memory : fc_embed_default_memory();
  size_t tok_budget = o->batch_tokens ? o->batch_tokens : FC_EMBED_DEFAULT_BATCH_TOKENS;
  const char *budget_src = o->max_memory_source ? o->max_memory_source : "--max-memory";
  fc_fasta_opts fo = {o->max_len, o->limit};
  fc_seqset s;
  if ((st = fc_fasta_read(fasta, &fo, &s, err)) != FC_OK) {
    plm_close(&m);
    return st;
  }
  size_t cap = s.n ? s.n : 1, kept = 0, nu = 0, total_res = 0, done_res = 0, nbatch = 0;
  run_ctx c = {o, &m, &s, NULL, layers, nl, name, NULL, NULL, NULL, 0, 0};
  size_t *next = malloc(cap * sizeof *next), *last = malloc(cap * sizeof *last),
         *grp = malloc(cap * sizeof *grp), *blen = malloc(cap * sizeof *blen);
  useq *u = malloc(cap * sizeof *u);
  const char **bseq = malloc(cap * sizeof *bseq);
  c.fid = calloc(cap, sizeof *c.fid);
  c.freason = calloc(cap, sizeof *c.freason);
  c.next = next;
  if (!next || !last || !grp || !u || !bseq || !blen || !c.fid || !c.freason) {
    st = fc_error_set(err, FC_ENOMEM, "out of memory");
    goto out;
  }
  if ((st = fc_embfile_writer_open(out_h5, o->dtype, 1, &c.w, err)) != FC_OK) goto out;
  report_nonstandard(&s);
  /* the records that still need vectors, grouped by identical sequence (each computed once): u[g] is a
   * group, its records chained through next[] from u[g].rec */
  for (size_t i = 0; i < s.n; i++)
    grp[i] = SIZE_MAX, next[i] = SIZE_MAX;
  for (size_t i = 0; i < s.n; i++) {
    const fc_seq_record *r = &s.rec[i];
    size_t have = 0;
    for (size_t j = 0; j < nl; j++)
      have += fc_embfile_writer_has(c.w, r->accession, name, layers[j]) != 0;
    if (have == nl) {
      kept++;
      continue;
    }
    size_t f = r->first_same_seq >= 0 && (size_t)r->first_same_seq < s.n ? (size_t)r->first_same_seq : i;
    if (grp[f] == SIZE_MAX) {
      grp[f] = nu;
      u[nu].rec = i;
      u[nu].tokens = r->len + ops->extra_tokens;
      last[nu++] = i;
      total_res += r->len;
    } else {
      next[last[grp[f]]] = i;
      last[grp[f]] = i;
    }
  }
  c.done = kept;
  qsort(u, nu, sizeof *u, by_len_desc);
  char bud[32];
  fc_format_bytes(budget, bud, sizeof bud);
  fc_log_debug("embed: %zu distinct sequences to embed (%zu residues); batches of <= %zu tokens, working "
               "memory <= %s",
               nu, total_res, tok_budget, bud);
  char label[48];
  snprintf(label, sizeof label, "embed %s (residues)", ops->label);
  fc_progress *pg = fc_progress_start(label, total_res);
  for (size_t i = 0; i < nu && st == FC_OK;) {
    size_t T0 = u[i].tokens, need = ops->batch_bytes(&m, T0, T0);
    if (need > budget) { /* too large even alone: listed, the run goes on */
      char nb[32];
      fc_format_bytes(need, nb, sizeof nb);
      char *why = fc_sprintf("needs %s for %zu tokens; memory budget %s (%s)", nb, T0, bud, budget_src);
      add_failure(&c, u[i].rec, why ? why : "over the memory budget");
      free(why);
      done_res += s.rec[u[i].rec].len;
      fc_progress_update(pg, done_res);
      i++;
      continue;
    }
    /* longest first, so T0 is the batch's longest sequence; add while both budgets hold */
    size_t tot = T0, j = i + 1;
    while (j < nu && tot + u[j].tokens <= tok_budget && ops->batch_bytes(&m, tot + u[j].tokens, T0) <= budget)
      tot += u[j++].tokens;
    fc_log_debug("embed: batch of %zu sequences, %zu tokens (longest %zu)", j - i, tot, T0);
    st = run_batch(&c, u + i, j - i, bseq, blen, err);
    nbatch++;
    for (; i < j; i++)
      done_res += s.rec[u[i].rec].len;
    fc_progress_update(pg, done_res);
  }
  fc_progress_finish(pg);
  if (st != FC_OK) goto out;
  if (kept)
    fc_log_info("embed: %zu of %zu sequences were already in %s; %zu newly embedded", kept, s.n, out_h5,
                c.done - kept);
  if (nu) fc_log_debug("embed: %zu distinct sequences in %zu batches", nu, nbatch);
  st = fc_embfile_writer_close(c.w, 1, err);
  c.w = NULL;
  if (st != FC_OK) goto out;
  {
    char *fp = failed_path(o, out_h5);
    st = write_failed(fp, &s, c.fid, c.freason, c.nf, err);
    if (s.n_issues + c.nf)
      fc_log_warn("embed: %zu records could not be embedded; listed in %s", s.n_issues + c.nf, fp);
    free(fp);
  }
  if (n_done) *n_done = c.done;
  if (n_failed) *n_failed = s.n_issues + c.nf;
out:
  if (c.w) fc_embfile_writer_close(c.w, 0, NULL);
  if (c.fid)
    for (size_t i = 0; i < c.nf; i++)
      free(c.fid[i]), free(c.freason[i]);
  free(c.fid), free(c.freason), free(next), free(last), free(grp), free(u), free(bseq), free(blen);
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
    if (is_dir_model) {
      /* --threads bounds the BLAS GEMMs too (the backend kernels read FANTASIA_THREADS, set by the CLI).
       * Without it, OpenBLAS's own count is kept when the user set one, else fc_num_threads(): OpenBLAS
       * counts the affinity mask but not a cgroup CPU quota (a container's --cpus). */
      int blas_threads = openblas_get_num_threads();
      int nt = o->threads > 0                                                ? o->threads
               : getenv("OPENBLAS_NUM_THREADS") || getenv("OMP_NUM_THREADS") ? 0
                                                                             : fc_num_threads();
      if (nt > 0) openblas_set_num_threads(nt);
      fc_status st = embed_plm(fasta, out_h5, o, n_done, n_failed, err);
      if (nt > 0) openblas_set_num_threads(blas_threads);
      return st;
    }
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
