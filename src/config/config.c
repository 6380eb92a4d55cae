/* FANTASIA configuration semantics: CLI overrides, merge algorithm (spec §2.3), typed run config,
 * key classification, experiment folder. docs/configuration.md documents every key. */
#include "fantasia/config.h"
#include "fantasia/models.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

/* ---------------- small helpers ---------------- */

typedef struct {
  fc_ynode *root;     /* the user's merged tree (owned by the config) */
  fc_ynode *defaults; /* built-in defaults tree */
  const char *fname;  /* for messages */
  fc_error *err;
} ctx;

static fc_ynode *mget(fc_ynode *root, const char *path) {
  return (fc_ynode *)fc_ynode_get(root, path);
}
static int none(const fc_ynode *n) {
  return fc_ynode_is_null(n);
}

/* Re-raise a typed-parse error with the file and key in front. */
static fc_status key_err(ctx *C, const char *key, const fc_error *inner) {
  return fc_error_set(C->err, inner->code ? inner->code : FC_EINVAL, "config %s: %s: %s", C->fname, key,
                      inner->msg);
}

static int is_plain_true_word(const fc_ynode *n) {
  static const char *const w[] = {"yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"};
  if (!n || n->type != FC_YSCALAR || n->quoted) return 0;
  for (size_t i = 0; i < 9; i++)
    if (!strcmp(n->text, w[i])) return 1;
  return 0;
}
static int is_plain_false_word(const fc_ynode *n) {
  static const char *const w[] = {"no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"};
  if (!n || n->type != FC_YSCALAR || n->quoted) return 0;
  for (size_t i = 0; i < 9; i++)
    if (!strcmp(n->text, w[i])) return 1;
  return 0;
}

/* First non-null node among the user's paths, else the defaults' node at dflt_path (may be NULL).
 * *which receives the path that was used. */
static const fc_ynode *pick(ctx *C, const char *const *paths, size_t n, const char *dflt_path,
                            const char **which) {
  for (size_t i = 0; i < n; i++) {
    const fc_ynode *v = fc_ynode_get(C->root, paths[i]);
    if (!none(v)) {
      *which = paths[i];
      return v;
    }
  }
  *which = dflt_path;
  return dflt_path ? fc_ynode_get(C->defaults, dflt_path) : NULL;
}

#define PICK(C, which, dflt, ...)                                                                            \
  pick(C, (const char *const[]){__VA_ARGS__}, sizeof((const char *const[]){__VA_ARGS__}) / sizeof(char *),   \
       dflt, which)

static fc_status node_long(ctx *C, const fc_ynode *n, const char *key, long def, long *out) {
  if (none(n)) {
    *out = def;
    return FC_OK;
  }
  fc_error e = {0};
  if (fc_ynode_int(n, out, &e)) return key_err(C, key, &e);
  return FC_OK;
}
static fc_status node_double(ctx *C, const fc_ynode *n, const char *key, double def, double *out) {
  if (none(n)) {
    *out = def;
    return FC_OK;
  }
  fc_error e = {0};
  if (fc_ynode_double(n, out, &e)) return key_err(C, key, &e);
  return FC_OK;
}
static fc_status node_bool(ctx *C, const fc_ynode *n, const char *key, int def, int *out) {
  if (none(n)) {
    *out = def;
    return FC_OK;
  }
  fc_error e = {0};
  if (fc_ynode_bool(n, out, &e)) return key_err(C, key, &e);
  return FC_OK;
}
static fc_status node_str(ctx *C, const fc_ynode *n, const char *key, const char *def, char **out) {
  *out = NULL;
  if (none(n)) {
    if (def && !(*out = fc_strdup(def))) return fc_error_set(C->err, FC_ENOMEM, "out of memory");
    return FC_OK;
  }
  if (n->type != FC_YSCALAR)
    return fc_error_set(C->err, FC_EINVAL, "config %s: %s: expected a string, got %s", C->fname, key,
                        n->type == FC_YMAP ? "a mapping" : "a list");
  if (!(*out = fc_strdup(n->text))) return fc_error_set(C->err, FC_ENOMEM, "out of memory");
  return FC_OK;
}

/* Variants taking the key through a pointer, read after every argument is evaluated (PICK sets it). */
static fc_status node_long_k(ctx *C, const fc_ynode *n, const char *const *k, long def, long *out) {
  return node_long(C, n, *k, def, out);
}
static fc_status node_double_k(ctx *C, const fc_ynode *n, const char *const *k, double def, double *out) {
  return node_double(C, n, *k, def, out);
}
static fc_status node_bool_k(ctx *C, const fc_ynode *n, const char *const *k, int def, int *out) {
  return node_bool(C, n, *k, def, out);
}
static fc_status node_str_k(ctx *C, const fc_ynode *n, const char *const *k, const char *def, char **out) {
  return node_str(C, n, *k, def, out);
}

/* Shortest text that reads back as d, always a YAML 1.1 float (has a '.'): 0.1, 1.0, 1.0e-05, inf. */
static void fmt_double(char *buf, size_t cap, double d) {
  char t[40];
  for (int p = 1; p <= 17; p++) {
    snprintf(t, sizeof t, "%.*g", p, d);
    if (strtod(t, NULL) == d) break;
  }
  if (strchr(t, '.') || strchr(t, 'n') || strchr(t, 'N')) { /* has a point, or inf/nan */
    snprintf(buf, cap, "%s", t);
    return;
  }
  char *e = strchr(t, 'e');
  if (e)
    snprintf(buf, cap, "%.*s.0%s", (int)(e - t), t, e);
  else
    snprintf(buf, cap, "%s.0", t);
}

static char *expanduser(const char *p) {
  if (!p) return NULL;
  if (p[0] == '~' && (p[1] == '/' || p[1] == '\0')) {
    const char *home = getenv("HOME");
    if (home && *home) return fc_sprintf("%s%s", home, p + 1);
  }
  return fc_strdup(p);
}

static fc_status expand_in_place(ctx *C, char **s) {
  if (!*s) return FC_OK;
  char *e = expanduser(*s);
  if (!e) return fc_error_set(C->err, FC_ENOMEM, "out of memory");
  free(*s);
  *s = e;
  return FC_OK;
}

typedef struct {
  char **v;
  size_t n, cap;
} strlist;

static int sl_push(strlist *l, const char *s) {
  if (l->n == l->cap) {
    size_t cap = l->cap ? 2 * l->cap : 8;
    char **nv = realloc(l->v, cap * sizeof *nv);
    if (!nv) return 0;
    l->v = nv;
    l->cap = cap;
  }
  if (!(l->v[l->n] = fc_strdup(s))) return 0;
  l->n++;
  return 1;
}
static void sl_free(strlist *l) {
  for (size_t i = 0; i < l->n; i++)
    free(l->v[i]);
  free(l->v);
  l->v = NULL;
  l->n = l->cap = 0;
}

/* ---------------- CLI overrides ---------------- */

typedef enum { K_STR, K_INT, K_FLOAT, K_BOOL } kind;
static const struct {
  const char *flag, *key;
  kind k;
} FLAGS[] = {
    /* FANTASIA's run/initialize flags -> flat keys (spec §2.2) */
    {"input", "input", K_STR},
    {"prefix", "prefix", K_STR},
    {"base_directory", "base_directory", K_STR},
    {"log_path", "log_path", K_STR},
    {"limit_execution", "limit_execution", K_INT},
    {"monitor_interval", "monitor_interval", K_INT},
    {"only_lookup", "only_lookup", K_BOOL},
    {"only_embedding", "only_embedding", K_BOOL},
    {"device", "device", K_STR},
    {"length_filter", "length_filter", K_INT},
    {"sequence_queue_package", "sequence_queue_package", K_INT},
    {"limit_per_entry", "limit_per_entry", K_INT},
    {"redundancy_identity", "redundancy_filter", K_FLOAT},
    {"redundancy_filter", "redundancy_filter", K_FLOAT},
    {"redundancy_coverage", "alignment_coverage", K_FLOAT},
    {"alignment_coverage", "alignment_coverage", K_FLOAT},
    {"threads", "threads", K_INT},
    {"taxonomy_ids_to_exclude", "taxonomy_ids_to_exclude", K_STR},
    {"taxonomy_ids_included_exclusively", "taxonomy_ids_included_exclusively", K_STR},
    {"get_descendants", "get_descendants", K_BOOL},
    {"embeddings_url", "embeddings_url", K_STR},
    /* ours -> the nested key they set */
    {"reference", "reference", K_STR},
    {"distance_metric", "embedding.distance_metric", K_STR},
    {"raw_format", "postprocess.raw_format", K_STR},
    {"alignments", "postprocess.alignments", K_BOOL},
    {"exclude_self", "lookup.exclude_self", K_BOOL},
    {"taxonomy_nodes", "lookup.taxonomy.nodes", K_STR},
    {"ontology", "ontology", K_STR},
    {"scoring", "lookup.scoring", K_STR},
    {"ground_truth", "evaluation.ground_truth", K_STR},
};

static fc_status apply_overrides(ctx *C, const char *const *ov, int n) {
  fc_status st = FC_OK;
  for (int i = 0; i < n && !st; i++) {
    const char *tok = ov[i];
    if (!tok || strncmp(tok, "--", 2) != 0 || !tok[2])
      return fc_error_set(C->err, FC_EINVAL, "unexpected argument '%s' (options look like --key value)",
                          tok ? tok : "(null)");
    const char *eq = strchr(tok + 2, '=');
    char *name = eq ? fc_strndup(tok + 2, (size_t)(eq - tok - 2)) : fc_strdup(tok + 2);
    if (!name) return fc_error_set(C->err, FC_ENOMEM, "out of memory");
    const char *value = eq ? eq + 1 : NULL;
    int has_next = !eq && i + 1 < n && ov[i + 1] && strncmp(ov[i + 1], "--", 2) != 0;
    if (!strcmp(name, "config")) { /* resolved by the caller */
      if (has_next) i++;
      free(name);
      continue;
    }
    long fi = -1;
    for (size_t f = 0; f < sizeof FLAGS / sizeof *FLAGS; f++)
      if (!strcmp(FLAGS[f].flag, name)) fi = (long)f;
    if (!value && has_next) value = ov[++i];
    if (fi < 0) {
      /* FANTASIA: unknown "--k v" -> flat string key; "--k" alone -> true. Dotted keys: nested (ours). */
      st = value ? fc_ynode_set_string(C->root, name, value, C->err)
                 : fc_ynode_set_scalar(C->root, name, "true", C->err);
      free(name);
      continue;
    }
    kind k = FLAGS[fi].k;
    if (!value && k != K_BOOL) {
      st = fc_error_set(C->err, FC_EINVAL, "option --%s needs a value", name);
      free(name);
      break;
    }
    fc_ynode tmp = {.type = FC_YSCALAR, .text = (char *)(value ? value : "true")};
    fc_error e = {0};
    long lv;
    double dv;
    int bv;
    if (k == K_INT && fc_ynode_int(&tmp, &lv, &e))
      st = fc_error_set(C->err, FC_EINVAL, "option --%s: %s", name, e.msg);
    if (k == K_FLOAT && fc_ynode_double(&tmp, &dv, &e))
      st = fc_error_set(C->err, FC_EINVAL, "option --%s: %s", name, e.msg);
    if (k == K_BOOL && fc_ynode_bool(&tmp, &bv, &e))
      st = fc_error_set(C->err, FC_EINVAL, "option --%s: %s", name, e.msg);
    if (!st) {
      if (k == K_STR)
        st = fc_ynode_set_string(C->root, FLAGS[fi].key, value, C->err);
      else if (k == K_BOOL)
        st = fc_ynode_set_scalar(C->root, FLAGS[fi].key, bv ? "true" : "false", C->err);
      else
        st = fc_ynode_set_scalar(C->root, FLAGS[fi].key, value, C->err);
    }
    free(name);
  }
  return st;
}

/* ---------------- merge steps 4-11 on the tree ---------------- */

static fc_status set_copy(ctx *C, const char *path, const fc_ynode *v) {
  fc_ynode *c = fc_ynode_copy(v);
  if (!c) return fc_error_set(C->err, FC_ENOMEM, "out of memory");
  return fc_ynode_set(C->root, path, c, C->err);
}

static int empty_list_or_none(const fc_ynode *n) {
  return none(n) || (n->type == FC_YSEQ && n->n == 0);
}

/* Python truthiness of a YAML value, for "non-empty" tests. */
static int truthy(const fc_ynode *n) {
  if (none(n)) return 0;
  if (n->type != FC_YSCALAR) return n->n > 0;
  if (n->quoted) return n->text[0] != '\0';
  if (is_plain_false_word(n)) return 0;
  double d;
  if (fc_ynode_double(n, &d, NULL) == FC_OK) return d != 0;
  return 1;
}

static fc_status legacy_blocks(ctx *C) {
  fc_status st;
  const fc_ynode *red = fc_ynode_map_find(C->root, "redundancy");
  if (red && red->type == FC_YMAP) {
    static const char *const sub[] = {"identity", "coverage", "threads"};
    static const char *const flat[] = {"redundancy_filter", "alignment_coverage", "threads"};
    for (int i = 0; i < 3; i++) {
      const fc_ynode *v = fc_ynode_map_find(red, sub[i]);
      if (!v) continue;
      char path[64];
      snprintf(path, sizeof path, "lookup.redundancy.%s", sub[i]);
      if (!fc_ynode_get(C->root, path) && (st = set_copy(C, path, v))) return st;
      if (none(fc_ynode_map_find(C->root, flat[i])) && (st = set_copy(C, flat[i], v))) return st;
    }
  } else if (red && !none(red)) {
    return fc_error_set(C->err, FC_EINVAL, "config %s: redundancy: expected a mapping", C->fname);
  }
  const fc_ynode *tax = fc_ynode_map_find(C->root, "taxonomy");
  if (tax && tax->type == FC_YMAP) {
    static const char *const sub[] = {"exclude", "include_only", "get_descendants"};
    static const char *const flat[] = {"taxonomy_ids_to_exclude", "taxonomy_ids_included_exclusively",
                                       "get_descendants"};
    for (int i = 0; i < 3; i++) {
      const fc_ynode *v = fc_ynode_map_find(tax, sub[i]);
      if (!v) continue;
      char path[64];
      snprintf(path, sizeof path, "lookup.taxonomy.%s", sub[i]);
      if (!fc_ynode_get(C->root, path) && (st = set_copy(C, path, v))) return st;
      const fc_ynode *f = fc_ynode_map_find(C->root, flat[i]);
      int absent = i < 2 ? empty_list_or_none(f) : none(f);
      if (absent && (st = set_copy(C, flat[i], v))) return st;
    }
  } else if (tax && !none(tax)) {
    return fc_error_set(C->err, FC_EINVAL, "config %s: taxonomy: expected a mapping", C->fname);
  }
  return FC_OK;
}

/* Step 8 sanitiser: list of digit-only tokens from a scalar or a list of scalars. */
static fc_status tax_tokens(ctx *C, const fc_ynode *n, const char *key, strlist *out) {
  if (none(n) || is_plain_false_word(n)) return FC_OK;
  size_t count = n->type == FC_YSEQ ? n->n : 1;
  for (size_t i = 0; i < count; i++) {
    const fc_ynode *it = n->type == FC_YSEQ ? n->items[i] : n;
    if (it->type != FC_YSCALAR)
      return fc_error_set(C->err, FC_EINVAL,
                          "config %s: %s: expected taxonomy ids (a list or a comma list), got %s", C->fname,
                          key, it->type == FC_YMAP ? "a mapping" : "a nested list");
    if (none(it)) continue;
    const char *p = it->text;
    while (*p) {
      while (*p && (*p == ',' || isspace((unsigned char)*p)))
        p++;
      const char *s = p;
      while (*p && *p != ',' && !isspace((unsigned char)*p))
        p++;
      if (p == s) break;
      int digits = 1;
      for (const char *q = s; q < p; q++)
        if (!isdigit((unsigned char)*q)) digits = 0;
      if (digits) {
        char *tok = fc_strndup(s, (size_t)(p - s));
        int ok = tok && sl_push(out, tok);
        free(tok);
        if (!ok) return fc_error_set(C->err, FC_ENOMEM, "out of memory");
      }
    }
  }
  return FC_OK;
}

static fc_status set_string_list(ctx *C, const char *key, const strlist *l) {
  fc_ynode *seq = fc_ynode_new_seq();
  if (!seq) return fc_error_set(C->err, FC_ENOMEM, "out of memory");
  for (size_t i = 0; i < l->n; i++) {
    fc_ynode *s = fc_ynode_new_scalar(l->v[i], 1);
    fc_status st = s ? fc_ynode_seq_push(seq, s, C->err) : fc_error_set(C->err, FC_ENOMEM, "out of memory");
    if (st) {
      fc_ynode_free(seq);
      return st;
    }
  }
  return fc_ynode_set(C->root, key, seq, C->err);
}

static fc_status normalise_threshold(ctx *C, fc_ynode *model, const char *mname) {
  long i = -1;
  for (size_t j = 0; j < model->n; j++)
    if (!strcmp(model->keys[j]->text, "distance_threshold")) i = (long)j;
  if (i < 0) return FC_OK;
  fc_ynode *v = model->items[i];
  const char *newtext = NULL;
  char buf[64];
  if (none(v) || is_plain_false_word(v)) {
    newtext = NULL;
  } else if (is_plain_true_word(v)) {
    newtext = "1.0"; /* float(True) */
  } else if (v->type != FC_YSCALAR) {
    return fc_error_set(C->err, FC_EINVAL,
                        "config %s: embedding.models.%s.distance_threshold: expected a number", C->fname,
                        mname);
  } else {
    char low[32];
    size_t k = 0;
    const char *p = v->text;
    while (isspace((unsigned char)*p))
      p++;
    for (; *p && k + 1 < sizeof low; p++)
      low[k++] = (char)tolower((unsigned char)*p);
    while (k && isspace((unsigned char)low[k - 1]))
      k--;
    low[k] = '\0';
    static const char *const offs[] = {"", "false", "off", "disable", "disabled", "none", "null"};
    int off = 0;
    for (size_t j = 0; j < 7; j++)
      if (!strcmp(low, offs[j])) off = 1;
    if (!off) {
      double d;
      fc_error e = {0};
      char key[300];
      snprintf(key, sizeof key, "embedding.models.%s.distance_threshold", mname);
      if (fc_ynode_double(v, &d, &e)) return key_err(C, key, &e);
      if (isnan(d))
        return fc_error_set(C->err, FC_EINVAL, "config %s: %s: NaN is not a threshold", C->fname, key);
      if (d > 0) {
        fmt_double(buf, sizeof buf, d);
        newtext = buf;
      }
    }
  }
  fc_ynode *nv = fc_ynode_new_scalar(newtext, 0);
  if (!nv) return fc_error_set(C->err, FC_ENOMEM, "out of memory");
  nv->line = v->line;
  fc_ynode_free(model->items[i]);
  model->items[i] = nv;
  return FC_OK;
}

static fc_status merge_steps(ctx *C) {
  fc_status st;
  if ((st = legacy_blocks(C))) return st; /* step 4 */
  /* step 5 */
  const fc_ynode *dev = fc_ynode_map_find(C->root, "device");
  if (!none(dev) && (st = set_copy(C, "embedding.device", dev))) return st;
  /* step 6 */
  static const char *const flat[] = {"redundancy_filter", "alignment_coverage", "threads"};
  static const char *const nested[] = {"lookup.redundancy.identity", "lookup.redundancy.coverage",
                                       "lookup.redundancy.threads"};
  for (int i = 0; i < 3; i++) {
    const fc_ynode *v = fc_ynode_map_find(C->root, flat[i]);
    if (none(v)) continue;
    fc_error e = {0};
    double d;
    long l;
    if ((i < 2 ? fc_ynode_double(v, &d, &e) : fc_ynode_int(v, &l, &e))) return key_err(C, flat[i], &e);
    char buf[64];
    if (i < 2)
      fmt_double(buf, sizeof buf, d);
    else
      snprintf(buf, sizeof buf, "%ld", l);
    if ((st = fc_ynode_set_scalar(C->root, nested[i], buf, C->err))) return st;
  }
  /* step 7: copy non-empty flat taxonomy keys into lookup.taxonomy.* (get_descendants is validated later) */
  static const char *const tflat[] = {"taxonomy_ids_to_exclude", "taxonomy_ids_included_exclusively",
                                      "get_descendants"};
  static const char *const tnest[] = {"lookup.taxonomy.exclude", "lookup.taxonomy.include_only",
                                      "lookup.taxonomy.get_descendants"};
  for (int i = 0; i < 3; i++) {
    const fc_ynode *v = fc_ynode_map_find(C->root, tflat[i]);
    if (i == 2 && !none(v)) {
      fc_error e = {0};
      int b;
      if (fc_ynode_bool(v, &b, &e)) return key_err(C, "get_descendants", &e);
    }
    if (truthy(v) && (st = set_copy(C, tnest[i], v))) return st;
  }
  /* step 8: sanitise the flat lists (they exist afterwards, possibly empty) */
  for (int i = 0; i < 2; i++) {
    strlist l = {0};
    st = tax_tokens(C, fc_ynode_map_find(C->root, tflat[i]), tflat[i], &l);
    if (!st) st = set_string_list(C, tflat[i], &l);
    sl_free(&l);
    if (st) return st;
  }
  /* steps 9-10: models */
  fc_ynode *models = mget(C->root, "embedding.models");
  fc_ynode *types = fc_ynode_new_seq();
  if (!types) return fc_error_set(C->err, FC_ENOMEM, "out of memory");
  if (models && models->type != FC_YMAP && !none(models)) {
    fc_ynode_free(types);
    return fc_error_set(C->err, FC_EINVAL,
                        "config %s: embedding.models: expected a mapping of model name -> settings",
                        C->fname);
  }
  for (size_t i = 0; models && models->type == FC_YMAP && i < models->n; i++) {
    fc_ynode *m = models->items[i];
    const char *name = models->keys[i]->text;
    if (m->type != FC_YMAP) {
      fc_ynode_free(types);
      return fc_error_set(C->err, FC_EINVAL,
                          "config %s: embedding.models.%s: expected a mapping (enabled, layer_index, ...)",
                          C->fname, name);
    }
    if ((st = normalise_threshold(C, m, name))) {
      fc_ynode_free(types);
      return st;
    }
    int en = 0;
    const fc_ynode *env = fc_ynode_map_find(m, "enabled");
    if (!none(env)) {
      fc_error e = {0};
      if (fc_ynode_bool(env, &en, &e)) {
        fc_ynode_free(types);
        char key[300];
        snprintf(key, sizeof key, "embedding.models.%s.enabled", name);
        return key_err(C, key, &e);
      }
    }
    if (en) {
      fc_ynode *s = fc_ynode_new_scalar(name, 1);
      if (!s || fc_ynode_seq_push(types, s, C->err)) {
        fc_ynode_free(types);
        return fc_error_set(C->err, FC_ENOMEM, "out of memory");
      }
    }
  }
  if ((st = fc_ynode_set(C->root, "embedding.types", types, C->err))) return st;
  /* step 11: flat redundancy values */
  double d;
  const fc_ynode *v = fc_ynode_map_find(C->root, "redundancy_filter");
  if (!none(v) && fc_ynode_double(v, &d, NULL) == FC_OK && !(d >= 0 && d <= 1))
    return fc_error_set(C->err, FC_EINVAL,
                        "config %s: redundancy_filter (redundancy identity) must be in [0,1], got %s",
                        C->fname, v->text);
  v = fc_ynode_map_find(C->root, "alignment_coverage");
  if (!none(v) && fc_ynode_double(v, &d, NULL) == FC_OK && !(d > 0 && d <= 1))
    return fc_error_set(C->err, FC_EINVAL,
                        "config %s: alignment_coverage (redundancy coverage) must be in (0,1], got %s",
                        C->fname, v->text);
  return FC_OK;
}

/* ---------------- key classification ---------------- */

static const char *const KNOWN[] = {
    "input",
    "prefix",
    "base_directory",
    "log_path",
    "experiment_path",
    "limit_execution",
    "only_lookup",
    "only_embedding",
    "device",
    "length_filter",
    "sequence_queue_package",
    "limit_per_entry",
    "redundancy_filter",
    "alignment_coverage",
    "threads",
    "taxonomy_ids_to_exclude",
    "taxonomy_ids_included_exclusively",
    "get_descendants",
    "precision",
    "store_workers",
    "batch_size",
    "reference",
    "ontology",
    "redundancy",
    "redundancy.identity",
    "redundancy.coverage",
    "redundancy.threads",
    "taxonomy",
    "taxonomy.exclude",
    "taxonomy.include_only",
    "taxonomy.get_descendants",
    "embedding",
    "embedding.device",
    "embedding.queue_batch_size",
    "embedding.max_sequence_length",
    "embedding.batch_tokens",
    "embedding.max_memory",
    "embedding.models_dir",
    "embedding.distance_metric",
    "embedding.types",
    "embedding.models",
    "embedding.models.*",
    "embedding.models.*.enabled",
    "embedding.models.*.batch_size",
    "embedding.models.*.layer_index",
    "embedding.models.*.distance_threshold",
    "embedding.models.*.path",
    "embedding.models.*.pooling",
    "embedding.models.*.type_id",
    "lookup",
    "lookup.batch_size",
    "lookup.distance_metric",
    "lookup.limit_per_entry",
    "lookup.precision",
    "lookup.scoring",
    "lookup.exclude_self",
    "lookup.exclude_identity_above",
    "lookup.redundancy",
    "lookup.redundancy.identity",
    "lookup.redundancy.coverage",
    "lookup.redundancy.threads",
    "lookup.taxonomy",
    "lookup.taxonomy.exclude",
    "lookup.taxonomy.include_only",
    "lookup.taxonomy.get_descendants",
    "lookup.taxonomy.nodes",
    "postprocess",
    "postprocess.keep_sequences",
    "postprocess.alignments",
    "postprocess.raw_format",
    "postprocess.store_workers",
    "postprocess.summary",
    "postprocess.summary.include_counts",
    "postprocess.summary.metrics",
    "postprocess.summary.metrics.*",
    "postprocess.summary.aliases",
    "postprocess.summary.aliases.*",
    "postprocess.summary.weights",
    "postprocess.summary.weights.*",
    "postprocess.summary.weights.*.*",
    "postprocess.summary.weighted_prefix",
    "predictions",
    "predictions.write",
    "predictions.propagate",
    "predictions.author",
    "evaluation",
    "evaluation.ground_truth",
    "evaluation.ontology",
    "evaluation.ia",
};
/* Accepted (FANTASIA keys) without effect in fantasia.c. */
static const char *const UNUSED[] = {
    "DB_*",
    "rabbitmq_*",
    "monitor_interval",
    "delete_queues",
    "constants",
    "embeddings_url",
    "max_workers",
    "use_gpu",
    "topgo",
    "lookup_cache_max",
    "sequences_fasta",
    "query_index_mapping",
    "distance_threshold",
    "lookup.use_gpu",
    "lookup.lookup_cache_max",
    "lookup.topgo",
    "postprocess.summary.normalize_count_by_limit_per_entry",
    "postprocess.summary.export_raw_count",
};

/* Segment-wise match of a pattern against the key segments (keys may contain '.'): '*' matches one
 * whole segment, a pattern segment ending in '*' is a prefix. */
static int path_match(const char *pat, const char *const *segs, size_t nseg) {
  for (size_t k = 0;; k++) {
    const char *pd = strchr(pat, '.');
    size_t pl = pd ? (size_t)(pd - pat) : strlen(pat);
    if (k >= nseg) return 0;
    const char *x = segs[k];
    size_t xl = strlen(x);
    int ok;
    if (pl == 1 && pat[0] == '*')
      ok = 1;
    else if (pl > 0 && pat[pl - 1] == '*')
      ok = xl >= pl - 1 && !strncmp(pat, x, pl - 1);
    else
      ok = pl == xl && !strncmp(pat, x, pl);
    if (!ok) return 0;
    if (!pd) return k + 1 == nseg;
    pat = pd + 1;
  }
}

static int in_list(const char *const *list, size_t n, const char *const *segs, size_t nseg) {
  for (size_t i = 0; i < n; i++)
    if (path_match(list[i], segs, nseg)) return 1;
  return 0;
}

static fc_status classify(ctx *C, const fc_ynode *map, const char **segs, size_t depth, const char *prefix,
                          strlist *unused, strlist *unknown) {
  if (depth >= 15) return FC_OK; /* deeper than any known key: the parent was already judged */
  for (size_t i = 0; i < map->n; i++) {
    segs[depth] = map->keys[i]->text;
    char *path = prefix ? fc_sprintf("%s.%s", prefix, map->keys[i]->text) : fc_strdup(map->keys[i]->text);
    if (!path) return fc_error_set(C->err, FC_ENOMEM, "out of memory");
    int ok = 1;
    fc_status st = FC_OK;
    if (in_list(UNUSED, sizeof UNUSED / sizeof *UNUSED, segs, depth + 1))
      ok = sl_push(unused, path);
    else if (!in_list(KNOWN, sizeof KNOWN / sizeof *KNOWN, segs, depth + 1))
      ok = sl_push(unknown, path);
    else if (map->items[i]->type == FC_YMAP)
      st = classify(C, map->items[i], segs, depth + 1, path, unused, unknown);
    free(path);
    if (!ok) return fc_error_set(C->err, FC_ENOMEM, "out of memory");
    if (st) return st;
  }
  return FC_OK;
}

/* ---------------- typed extraction ---------------- */

int64_t fc_config_model_type_id(const char *name) {
  if (name && !strcasecmp(name, "kmer")) return 0;
  const fc_fantasia_model *fm = fc_fantasia_model_find(name);
  return fm && !strcasecmp(name, fm->name) ? fm->type_id : -1; /* by name only, as config keys are names */
}

static fc_status load_models(ctx *C, fc_run_config *c) {
  const fc_ynode *models = fc_ynode_get(C->root, "embedding.models");
  size_t n = fc_ynode_size(models);
  if (n == 0) return FC_OK;
  c->models = calloc(n, sizeof *c->models);
  if (!c->models) return fc_error_set(C->err, FC_ENOMEM, "out of memory");
  for (size_t i = 0; i < n; i++) {
    fc_model_cfg *m = &c->models[c->n_models++];
    const fc_ynode *mm = models->items[i];
    m->distance_threshold = NAN;
    if (!(m->name = fc_strdup(models->keys[i]->text)))
      return fc_error_set(C->err, FC_ENOMEM, "out of memory");
    char key[320];
    fc_status st;
    long lv;
    snprintf(key, sizeof key, "embedding.models.%s.enabled", m->name);
    if ((st = node_bool(C, fc_ynode_map_find(mm, "enabled"), key, 0, &m->enabled))) return st;
    snprintf(key, sizeof key, "embedding.models.%s.batch_size", m->name);
    if ((st = node_long(C, fc_ynode_map_find(mm, "batch_size"), key, 1, &lv))) return st;
    if (lv < 1 || lv > 1000000)
      return fc_error_set(C->err, FC_EINVAL, "config %s: %s must be >= 1, got %ld", C->fname, key, lv);
    m->batch_size = (int)lv;
    snprintf(key, sizeof key, "embedding.models.%s.distance_threshold", m->name);
    if ((st = node_double(C, fc_ynode_map_find(mm, "distance_threshold"), key, NAN, &m->distance_threshold)))
      return st;
    snprintf(key, sizeof key, "embedding.models.%s.path", m->name);
    if ((st = node_str(C, fc_ynode_map_find(mm, "path"), key,
                       fc_config_model_type_id(m->name) == 0 ? "kmer" : NULL, &m->path)))
      return st;
    if (m->path && strcmp(m->path, "kmer") && (st = expand_in_place(C, &m->path))) return st;
    snprintf(key, sizeof key, "embedding.models.%s.pooling", m->name);
    char *pool = NULL;
    if ((st = node_str(C, fc_ynode_map_find(mm, "pooling"), key, "residues", &pool))) return st;
    int pool_ok = pool && (!strcasecmp(pool, "residues") || !strcasecmp(pool, "fantasia"));
    m->fantasia_pooling = pool && !strcasecmp(pool, "fantasia");
    if (!pool_ok) {
      st = fc_error_set(C->err, FC_EINVAL, "config %s: %s must be residues or fantasia, not '%s'", C->fname,
                        key, pool ? pool : "");
      free(pool);
      return st;
    }
    free(pool);
    snprintf(key, sizeof key, "embedding.models.%s.type_id", m->name);
    if ((st = node_long(C, fc_ynode_map_find(mm, "type_id"), key, (long)fc_config_model_type_id(m->name),
                        &lv)))
      return st;
    m->type_id = lv;
    /* layer_index: absent -> [0]; null -> legacy (no layers); int k -> [k]; list of ints */
    snprintf(key, sizeof key, "embedding.models.%s.layer_index", m->name);
    const fc_ynode *li = fc_ynode_map_find(mm, "layer_index");
    if (li && none(li)) continue;
    size_t nl = !li ? 1 : li->type == FC_YSEQ ? li->n : 1;
    if (li && li->type == FC_YMAP)
      return fc_error_set(C->err, FC_EINVAL, "config %s: %s: expected a list of layer numbers", C->fname,
                          key);
    if (nl == 0)
      return fc_error_set(C->err, FC_EINVAL, "config %s: %s: empty list (use [0] for the last layer)",
                          C->fname, key);
    if (!(m->layers = calloc(nl, sizeof *m->layers))) return fc_error_set(C->err, FC_ENOMEM, "out of memory");
    for (size_t j = 0; j < nl; j++) {
      const fc_ynode *it = !li ? NULL : li->type == FC_YSEQ ? li->items[j] : li;
      lv = 0;
      if (it && it->type != FC_YSCALAR)
        return fc_error_set(C->err, FC_EINVAL, "config %s: %s: expected a list of layer numbers", C->fname,
                            key);
      if (it) {
        fc_error e = {0};
        if (fc_ynode_int(it, &lv, &e)) return key_err(C, key, &e);
      }
      if (lv < 0 || lv > 100000)
        return fc_error_set(C->err, FC_EINVAL, "config %s: %s: layer %ld out of range (0 = last layer)",
                            C->fname, key, lv);
      m->layers[m->n_layers++] = (int)lv;
    }
  }
  return FC_OK;
}

static char *norm_fun(const char *f) {
  char buf[32];
  size_t k = 0;
  for (; *f && k + 1 < sizeof buf; f++)
    if (!isspace((unsigned char)*f)) buf[k++] = (char)tolower((unsigned char)*f);
  buf[k] = '\0';
  return fc_strdup(!strcmp(buf, "avg") ? "mean" : buf);
}

static fc_status load_summary(ctx *C, fc_run_config *c) {
  const char *w;
  fc_status st;
  /* metrics */
  const fc_ynode *mt = PICK(C, &w, "postprocess.summary.metrics", "postprocess.summary.metrics");
  if (mt && mt->type != FC_YMAP)
    return fc_error_set(C->err, FC_EINVAL, "config %s: %s: expected a mapping metric -> [min, max, mean]",
                        C->fname, w);
  size_t n = fc_ynode_size(mt);
  if (n && !(c->metrics = calloc(n, sizeof *c->metrics)))
    return fc_error_set(C->err, FC_ENOMEM, "out of memory");
  for (size_t i = 0; i < n; i++) {
    fc_metric_cfg *m = &c->metrics[c->n_metrics++];
    const fc_ynode *f = mt->items[i];
    if (!(m->metric = fc_strdup(mt->keys[i]->text))) return fc_error_set(C->err, FC_ENOMEM, "out of memory");
    size_t nf = none(f) ? 0 : f->type == FC_YSEQ ? f->n : 1;
    if (f && f->type == FC_YMAP)
      return fc_error_set(C->err, FC_EINVAL, "config %s: %s.%s: expected a list of min/max/mean", C->fname, w,
                          m->metric);
    if (nf && !(m->funs = calloc(nf, sizeof *m->funs)))
      return fc_error_set(C->err, FC_ENOMEM, "out of memory");
    for (size_t j = 0; j < nf; j++) {
      const fc_ynode *it = f->type == FC_YSEQ ? f->items[j] : f;
      if (it->type != FC_YSCALAR)
        return fc_error_set(C->err, FC_EINVAL, "config %s: %s.%s: expected a list of min/max/mean", C->fname,
                            w, m->metric);
      char *fn = norm_fun(it->text);
      if (!fn) return fc_error_set(C->err, FC_ENOMEM, "out of memory");
      if (strcmp(fn, "min") && strcmp(fn, "max") && strcmp(fn, "mean")) {
        fc_log_warn("config %s: %s.%s: aggregation '%s' is not min/max/mean/avg; ignored (as FANTASIA does)",
                    C->fname, w, m->metric, it->text);
        free(fn);
        continue;
      }
      m->funs[m->n_funs++] = fn;
    }
  }
  /* aliases */
  const fc_ynode *al = PICK(C, &w, "postprocess.summary.aliases", "postprocess.summary.aliases");
  if (al && al->type != FC_YMAP)
    return fc_error_set(C->err, FC_EINVAL, "config %s: %s: expected a mapping metric -> alias", C->fname, w);
  n = fc_ynode_size(al);
  if (n && (!(c->alias_keys = calloc(n, sizeof(char *))) || !(c->alias_values = calloc(n, sizeof(char *)))))
    return fc_error_set(C->err, FC_ENOMEM, "out of memory");
  for (size_t i = 0; i < n; i++) {
    char key[300];
    snprintf(key, sizeof key, "%s.%s", w, al->keys[i]->text);
    char *v = NULL;
    if ((st = node_str(C, al->items[i], key, NULL, &v))) return st;
    if (!v) continue;
    c->alias_values[c->n_aliases] = v;
    if (!(c->alias_keys[c->n_aliases++] = fc_strdup(al->keys[i]->text)))
      return fc_error_set(C->err, FC_ENOMEM, "out of memory");
  }
  /* weights */
  const fc_ynode *wt = PICK(C, &w, "postprocess.summary.weights", "postprocess.summary.weights");
  if (wt && wt->type != FC_YMAP)
    return fc_error_set(C->err, FC_EINVAL, "config %s: %s: expected a mapping name -> weight", C->fname, w);
  n = fc_ynode_size(wt);
  if (n && !(c->weights = calloc(n, sizeof *c->weights)))
    return fc_error_set(C->err, FC_ENOMEM, "out of memory");
  for (size_t i = 0; i < n; i++) {
    const fc_ynode *v = wt->items[i];
    char key[300];
    snprintf(key, sizeof key, "%s.%s", w, wt->keys[i]->text);
    if (none(v)) continue;
    fc_weight_cfg *g = &c->weights[c->n_weights++];
    if (!(g->key = fc_strdup(wt->keys[i]->text))) return fc_error_set(C->err, FC_ENOMEM, "out of memory");
    if (v->type == FC_YSCALAR) {
      g->is_number = 1;
      if ((st = node_double(C, v, key, 0, &g->number))) return st;
    } else if (v->type == FC_YMAP) {
      if (v->n &&
          (!(g->fun_keys = calloc(v->n, sizeof(char *))) || !(g->fun_values = calloc(v->n, sizeof(double)))))
        return fc_error_set(C->err, FC_ENOMEM, "out of memory");
      for (size_t j = 0; j < v->n; j++) {
        char k2[400];
        snprintf(k2, sizeof k2, "%s.%s", key, v->keys[j]->text);
        if (none(v->items[j])) continue;
        if ((st = node_double(C, v->items[j], k2, 0, &g->fun_values[g->n_fun]))) return st;
        if (!(g->fun_keys[g->n_fun++] = norm_fun(v->keys[j]->text)))
          return fc_error_set(C->err, FC_ENOMEM, "out of memory");
      }
    } else {
      return fc_error_set(C->err, FC_EINVAL, "config %s: %s: expected a number or a mapping fun -> number",
                          C->fname, key);
    }
  }
  if ((st = node_bool_k(
           C, PICK(C, &w, "postprocess.summary.include_counts", "postprocess.summary.include_counts"), &w, 1,
           &c->include_counts)))
    return st;
  if ((st = node_str_k(
           C, PICK(C, &w, "postprocess.summary.weighted_prefix", "postprocess.summary.weighted_prefix"), &w,
           "w_", &c->weighted_prefix)))
    return st;
  return FC_OK;
}

static fc_status load_typed(ctx *C, fc_run_config *c) {
  fc_status st;
  const char *w;
  long lv;
  /* paths and names */
  if ((st = node_str_k(C, PICK(C, &w, "input", "input"), &w, NULL, &c->input))) return st;
  if ((st = expand_in_place(C, &c->input))) return st;
  if ((st = node_str_k(C, PICK(C, &w, "prefix", "prefix"), &w, "sample", &c->prefix))) return st;
  if (!c->prefix[0] || strchr(c->prefix, '/'))
    return fc_error_set(C->err, FC_EINVAL, "config %s: prefix '%s' must be a non-empty name without '/'",
                        C->fname, c->prefix);
  if ((st = node_str_k(C, PICK(C, &w, "base_directory", "base_directory"), &w, "~/fantasia/",
                       &c->base_directory)))
    return st;
  if ((st = expand_in_place(C, &c->base_directory))) return st;
  if ((st = node_str_k(C, PICK(C, &w, "reference", "reference"), &w, NULL, &c->reference))) return st;
  if ((st = expand_in_place(C, &c->reference))) return st;
  if ((st = node_str_k(C, PICK(C, &w, "embedding.models_dir", "embedding.models_dir"), &w, NULL,
                       &c->models_dir)))
    return st;
  if ((st = expand_in_place(C, &c->models_dir))) return st;
  if ((st = node_str_k(C, PICK(C, &w, "ontology", "ontology"), &w, NULL, &c->ontology))) return st;
  if ((st = expand_in_place(C, &c->ontology))) return st;
  /* modes */
  if ((st = node_bool_k(C, PICK(C, &w, "only_lookup", "only_lookup"), &w, 0, &c->only_lookup))) return st;
  if ((st = node_bool_k(C, PICK(C, &w, "only_embedding", "only_embedding"), &w, 0, &c->only_embedding)))
    return st;
  if (c->only_lookup && c->only_embedding)
    return fc_error_set(C->err, FC_EINVAL,
                        "config %s: only_lookup and only_embedding are both true; choose one", C->fname);
  if ((st = node_long_k(C, PICK(C, &w, "limit_execution", "limit_execution"), &w, 0, &c->limit_execution)))
    return st;
  if (c->limit_execution < 0) c->limit_execution = 0;
  /* device */
  if ((st = node_str_k(C, PICK(C, &w, "embedding.device", "embedding.device"), &w, "cpu", &c->device)))
    return st;
  if (!strncasecmp(c->device, "cuda", 4))
    fc_log_warn("config %s: device '%s' is not supported by fantasia.c; running on the CPU", C->fname,
                c->device);
  else if (strcasecmp(c->device, "cpu"))
    return fc_error_set(C->err, FC_EINVAL, "config %s: %s: unknown device '%s' (cpu or cuda)", C->fname, w,
                        c->device);
  /* distance metric: embedding.distance_metric wins over lookup.distance_metric */
  if ((st = node_str_k(
           C, PICK(C, &w, "lookup.distance_metric", "embedding.distance_metric", "lookup.distance_metric"),
           &w, "cosine", &c->distance_metric)))
    return st;
  for (char *p = c->distance_metric; *p; p++)
    *p = (char)tolower((unsigned char)*p);
  if (strcmp(c->distance_metric, "cosine") && strcmp(c->distance_metric, "euclidean")) {
    fc_log_warn("config %s: distance_metric '%s' is not cosine or euclidean; using cosine", C->fname,
                c->distance_metric);
    free(c->distance_metric);
    if (!(c->distance_metric = fc_strdup("cosine"))) return fc_error_set(C->err, FC_ENOMEM, "out of memory");
  }
  /* lookup numbers: flat keys win over nested ones */
  if ((st = node_long_k(C, PICK(C, &w, "lookup.limit_per_entry", "limit_per_entry", "lookup.limit_per_entry"),
                        &w, 1, &c->limit_per_entry)))
    return st;
  if (c->limit_per_entry < 1)
    return fc_error_set(C->err, FC_EINVAL, "config %s: %s must be >= 1, got %ld", C->fname, w,
                        c->limit_per_entry);
  if ((st = node_long_k(C, PICK(C, &w, "lookup.batch_size", "batch_size", "lookup.batch_size"), &w, 516,
                        &c->lookup_batch_size)))
    return st;
  if (c->lookup_batch_size < 1)
    return fc_error_set(C->err, FC_EINVAL, "config %s: %s must be >= 1, got %ld", C->fname, w,
                        c->lookup_batch_size);
  if ((st = node_long_k(C, PICK(C, &w, "lookup.precision", "precision", "lookup.precision"), &w, 4, &lv)))
    return st;
  if (lv < 0 || lv > 15)
    return fc_error_set(C->err, FC_EINVAL, "config %s: %s must be in 0..15, got %ld", C->fname, w, lv);
  c->precision = (int)lv;
  if ((st = node_long_k(
           C, PICK(C, &w, "embedding.max_sequence_length", "length_filter", "embedding.max_sequence_length"),
           &w, 0, &c->max_sequence_length)))
    return st;
  if (c->max_sequence_length < 0) c->max_sequence_length = 0;
  if ((st = node_long_k(
           C,
           PICK(C, &w, "embedding.queue_batch_size", "sequence_queue_package", "embedding.queue_batch_size"),
           &w, 100, &c->queue_batch_size)))
    return st;
  if (c->queue_batch_size < 1) c->queue_batch_size = 1;
  if ((st = node_long_k(C, PICK(C, &w, NULL, "embedding.batch_tokens"), &w, 0, &c->batch_tokens))) return st;
  if (c->batch_tokens < 0)
    return fc_error_set(C->err, FC_EINVAL, "config %s: %s must be >= 1 (or 0 for the default), got %ld",
                        C->fname, w, c->batch_tokens);
  if ((st = node_str_k(C, PICK(C, &w, NULL, "embedding.max_memory"), &w, NULL, &c->max_memory))) return st;
  /* redundancy (steps 4 and 6 already wrote flat values into lookup.redundancy.*) */
  if ((st = node_double_k(C, PICK(C, &w, "lookup.redundancy.identity", "lookup.redundancy.identity"), &w, 0,
                          &c->redundancy_identity)))
    return st;
  if (!(c->redundancy_identity >= 0 && c->redundancy_identity <= 1))
    return fc_error_set(C->err, FC_EINVAL, "config %s: %s (redundancy identity) must be in [0,1], got %g",
                        C->fname, w, c->redundancy_identity);
  if ((st = node_double_k(C, PICK(C, &w, "lookup.redundancy.coverage", "lookup.redundancy.coverage"), &w, 0.7,
                          &c->redundancy_coverage)))
    return st;
  if (!(c->redundancy_coverage > 0 && c->redundancy_coverage <= 1))
    return fc_error_set(C->err, FC_EINVAL, "config %s: %s (redundancy coverage) must be in (0,1], got %g",
                        C->fname, w, c->redundancy_coverage);
  if ((st = node_long_k(C, PICK(C, &w, "lookup.redundancy.threads", "lookup.redundancy.threads"), &w, 10,
                        &lv)))
    return st;
  c->redundancy_threads = lv < 1 ? 1 : lv > 4096 ? 4096 : (int)lv;
  if ((st = node_long(C, fc_ynode_map_find(C->root, "threads"), "threads", 0, &lv))) return st;
  c->threads = lv < 0 ? 0 : lv > 4096 ? 4096 : (int)lv;
  /* taxonomy: the sanitised flat lists win when non-empty, else lookup.taxonomy.* */
  static const char *const tflat[] = {"taxonomy_ids_to_exclude", "taxonomy_ids_included_exclusively"};
  static const char *const tnest[] = {"lookup.taxonomy.exclude", "lookup.taxonomy.include_only"};
  for (int i = 0; i < 2; i++) {
    strlist l = {0};
    st = tax_tokens(C, fc_ynode_map_find(C->root, tflat[i]), tflat[i], &l);
    if (!st && l.n == 0) st = tax_tokens(C, fc_ynode_get(C->root, tnest[i]), tnest[i], &l);
    if (st) {
      sl_free(&l);
      return st;
    }
    if (i == 0) {
      c->tax_exclude = l.v;
      c->n_tax_exclude = l.n;
    } else {
      c->tax_include = l.v;
      c->n_tax_include = l.n;
    }
  }
  if ((st = node_bool_k(C,
                        PICK(C, &w, "lookup.taxonomy.get_descendants", "get_descendants",
                             "lookup.taxonomy.get_descendants"),
                        &w, 0, &c->get_descendants)))
    return st;
  if ((st = node_str_k(C, PICK(C, &w, "lookup.taxonomy.nodes", "taxonomy_nodes", "lookup.taxonomy.nodes"), &w,
                       NULL, &c->taxonomy_nodes)))
    return st;
  if ((st = expand_in_place(C, &c->taxonomy_nodes))) return st;
  if (c->get_descendants && !c->taxonomy_nodes)
    return fc_error_set(
        C->err, FC_EINVAL,
        "config %s: get_descendants is true but no NCBI taxonomy is given: set lookup.taxonomy.nodes "
        "(or --taxonomy_nodes) to a nodes.dmp file",
        C->fname);
  if ((st = node_bool_k(C, PICK(C, &w, "lookup.exclude_self", "lookup.exclude_self"), &w, 0,
                        &c->exclude_self)))
    return st;
  if ((st = node_double_k(C, PICK(C, &w, "lookup.exclude_identity_above", "lookup.exclude_identity_above"),
                          &w, NAN, &c->exclude_identity_above)))
    return st;
  if (!isnan(c->exclude_identity_above) &&
      !(c->exclude_identity_above >= 0 && c->exclude_identity_above <= 1))
    return fc_error_set(C->err, FC_EINVAL, "config %s: %s must be in [0,1], got %g", C->fname, w,
                        c->exclude_identity_above);
  if ((st = node_str_k(C, PICK(C, &w, "lookup.scoring", "lookup.scoring"), &w, "fantasia", &c->scoring)))
    return st;
  if (strcasecmp(c->scoring, "fantasia") && strcasecmp(c->scoring, "gopredsim"))
    return fc_error_set(C->err, FC_EINVAL, "config %s: %s: '%s' is not fantasia or gopredsim", C->fname, w,
                        c->scoring);
  /* prediction files and the optional evaluation */
  if ((st = node_bool_k(C, PICK(C, &w, "predictions.write", "predictions.write"), &w, 1,
                        &c->write_predictions)))
    return st;
  if ((st = node_bool_k(C, PICK(C, &w, "predictions.propagate", "predictions.propagate"), &w, 0,
                        &c->propagate_predictions)))
    return st;
  if ((st = node_str_k(C, PICK(C, &w, "predictions.author", "predictions.author"), &w, "fantasia.c",
                       &c->predictions_author)))
    return st;
  if ((st = node_str_k(C, PICK(C, &w, "evaluation.ground_truth", "evaluation.ground_truth"), &w, NULL,
                       &c->eval_ground_truth)))
    return st;
  if ((st = expand_in_place(C, &c->eval_ground_truth))) return st;
  if ((st = node_str_k(C, PICK(C, &w, "evaluation.ontology", "evaluation.ontology"), &w, NULL,
                       &c->eval_ontology)))
    return st;
  if ((st = expand_in_place(C, &c->eval_ontology))) return st;
  if ((st = node_str_k(C, PICK(C, &w, "evaluation.ia", "evaluation.ia"), &w, NULL, &c->eval_ia))) return st;
  if ((st = expand_in_place(C, &c->eval_ia))) return st;
  {
    const char *onto = c->eval_ontology ? c->eval_ontology : c->ontology;
    if (!strcasecmp(c->scoring, "gopredsim") && !c->ontology)
      return fc_error_set(
          C->err, FC_EINVAL,
          "config %s: lookup.scoring is gopredsim but no GO ontology is given: set `ontology` "
          "(or --ontology) to an OBO file",
          C->fname);
    if (c->propagate_predictions && !c->ontology)
      return fc_error_set(C->err, FC_EINVAL,
                          "config %s: predictions.propagate is true but no GO ontology is given: set "
                          "`ontology` (or --ontology) to an OBO file",
                          C->fname);
    if (c->eval_ground_truth && !onto)
      return fc_error_set(C->err, FC_EINVAL,
                          "config %s: evaluation.ground_truth is set but no ontology: set `ontology` or "
                          "evaluation.ontology to an OBO file",
                          C->fname);
  }
  /* post-processing */
  if ((st = node_bool_k(C, PICK(C, &w, "postprocess.keep_sequences", "postprocess.keep_sequences"), &w, 1,
                        &c->keep_sequences)))
    return st;
  if ((st = node_str_k(C, PICK(C, &w, "postprocess.raw_format", "postprocess.raw_format"), &w, "tsv",
                       &c->raw_format)))
    return st;
  if (strcmp(c->raw_format, "tsv") && strcmp(c->raw_format, "csv_tree") && strcmp(c->raw_format, "both"))
    return fc_error_set(C->err, FC_EINVAL, "config %s: %s: '%s' is not tsv, csv_tree or both", C->fname, w,
                        c->raw_format);
  if ((st = node_long_k(
           C, PICK(C, &w, "postprocess.store_workers", "store_workers", "postprocess.store_workers"), &w, 4,
           &lv)))
    return st;
  c->store_workers = lv < 1 ? 1 : lv > 4096 ? 4096 : (int)lv;
  if ((st = load_summary(C, c))) return st;
  int align_default = 0;
  for (size_t i = 0; i < c->n_metrics; i++)
    if (!strncmp(c->metrics[i].metric, "identity", 8) || !strncmp(c->metrics[i].metric, "similarity", 10))
      align_default = 1;
  if ((st = node_bool(C, fc_ynode_get(C->root, "postprocess.alignments"), "postprocess.alignments",
                      align_default, &c->alignments)))
    return st;
  if (!c->alignments)
    for (size_t i = 0; i < c->n_metrics; i++)
      if (!strncmp(c->metrics[i].metric, "identity", 8) || !strncmp(c->metrics[i].metric, "similarity", 10))
        fc_log_warn(
            "config %s: postprocess.alignments is false but the summary uses '%s'; its columns will be empty",
            C->fname, c->metrics[i].metric);
  /* models */
  if ((st = load_models(C, c))) return st;
  size_t enabled = 0;
  for (size_t i = 0; i < c->n_models; i++)
    enabled += c->models[i].enabled != 0;
  if (!enabled)
    return fc_error_set(
        C->err, FC_EINVAL,
        "config %s: no model is enabled: set embedding.models.<name>.enabled: true (e.g. kmer)", C->fname);
  return FC_OK;
}

/* ---------------- public ---------------- */

void fc_config_free(fc_run_config *c) {
  if (!c) return;
  free(c->input);
  free(c->prefix);
  free(c->base_directory);
  free(c->log_path);
  free(c->experiment_path);
  free(c->reference);
  free(c->models_dir);
  free(c->device);
  free(c->max_memory);
  free(c->distance_metric);
  for (size_t i = 0; i < c->n_tax_exclude; i++)
    free(c->tax_exclude[i]);
  free(c->tax_exclude);
  for (size_t i = 0; i < c->n_tax_include; i++)
    free(c->tax_include[i]);
  free(c->tax_include);
  free(c->taxonomy_nodes);
  free(c->raw_format);
  free(c->ontology);
  free(c->scoring);
  free(c->predictions_author);
  free(c->eval_ground_truth);
  free(c->eval_ontology);
  free(c->eval_ia);
  for (size_t i = 0; i < c->n_metrics; i++) {
    free(c->metrics[i].metric);
    for (size_t j = 0; j < c->metrics[i].n_funs; j++)
      free(c->metrics[i].funs[j]);
    free(c->metrics[i].funs);
  }
  free(c->metrics);
  for (size_t i = 0; i < c->n_aliases; i++) {
    free(c->alias_keys[i]);
    free(c->alias_values[i]);
  }
  free(c->alias_keys);
  free(c->alias_values);
  for (size_t i = 0; i < c->n_weights; i++) {
    free(c->weights[i].key);
    for (size_t j = 0; j < c->weights[i].n_fun; j++)
      free(c->weights[i].fun_keys[j]);
    free(c->weights[i].fun_keys);
    free(c->weights[i].fun_values);
  }
  free(c->weights);
  free(c->weighted_prefix);
  for (size_t i = 0; i < c->n_models; i++) {
    free(c->models[i].name);
    free(c->models[i].layers);
    free(c->models[i].path);
  }
  free(c->models);
  for (size_t i = 0; i < c->n_unused; i++)
    free(c->unused_keys[i]);
  free(c->unused_keys);
  for (size_t i = 0; i < c->n_unknown; i++)
    free(c->unknown_keys[i]);
  free(c->unknown_keys);
  fc_ynode_free(c->tree);
  free(c);
}

fc_status fc_config_load(const char *path, const char *const *overrides, int n_overrides, fc_run_config **out,
                         fc_error *err) {
  *out = NULL;
  if (!overrides || n_overrides < 0) n_overrides = 0;
  fc_run_config *c = calloc(1, sizeof *c);
  if (!c) return fc_error_set(err, FC_ENOMEM, "out of memory");
  c->exclude_identity_above = NAN;
  ctx C = {.fname = path ? path : "(built-in defaults)", .err = err};
  fc_status st = fc_yaml_load_string(fc_config_default_yaml(), &C.defaults, err);
  if (!st)
    st = path ? fc_yaml_load_file(path, &c->tree, err)
              : fc_yaml_load_string(fc_config_default_yaml(), &c->tree, err);
  if (!st && c->tree->type != FC_YMAP)
    st = fc_error_set(err, FC_EFORMAT, "config %s: the top level must be a mapping of keys", C.fname);
  C.root = c->tree;
  /* steps 2-3 */
  if (!st) st = apply_overrides(&C, overrides, n_overrides);
  /* steps 4-11 */
  if (!st) st = merge_steps(&C);
  /* step 12: timestamp + log directory */
  if (!st) {
    time_t now = time(NULL);
    struct tm tmv;
    localtime_r(&now, &tmv);
    strftime(c->timestamp, sizeof c->timestamp, "%Y%m%d%H%M%S", &tmv);
    char *lp = NULL;
    st = node_str(&C, PICK(&C, &(const char *){0}, "log_path", "log_path"), "log_path", "~/fantasia/logs/",
                  &lp);
    if (!st) st = expand_in_place(&C, &lp);
    if (!st) {
      char *stem = fc_sprintf("Logs_%s", c->timestamp);
      c->log_path = stem ? fc_path_join(lp, stem) : NULL;
      free(stem);
      if (!c->log_path) st = fc_error_set(err, FC_ENOMEM, "out of memory");
    }
    free(lp);
    if (!st) st = fc_ynode_set_string(c->tree, "log_path", c->log_path, err);
  }
  if (!st) st = load_typed(&C, c);
  if (!st) {
    strlist unused = {0}, unknown = {0};
    const char *segs[16];
    st = classify(&C, c->tree, segs, 0, NULL, &unused, &unknown);
    c->unused_keys = unused.v;
    c->n_unused = unused.n;
    c->unknown_keys = unknown.v;
    c->n_unknown = unknown.n;
    for (size_t i = 0; !st && i < c->n_unknown; i++)
      fc_log_warn("config %s: unknown key '%s' is ignored", C.fname, c->unknown_keys[i]);
    if (!st && path && c->n_unused) {
      size_t len = 1;
      for (size_t i = 0; i < c->n_unused; i++)
        len += strlen(c->unused_keys[i]) + 2;
      char *list = calloc(len, 1);
      for (size_t i = 0; list && i < c->n_unused; i++) {
        if (i) strcat(list, ", ");
        strcat(list, c->unused_keys[i]);
      }
      fc_log_debug("config %s: keys without effect in fantasia.c: %s", C.fname, list ? list : "?");
      free(list);
    }
  }
  fc_ynode_free(C.defaults);
  if (st) {
    fc_config_free(c);
    return st;
  }
  *out = c;
  return FC_OK;
}

fc_status fc_config_make_experiment(fc_run_config *c, fc_error *err) {
  if (!c || !c->base_directory || !c->prefix)
    return fc_error_set(err, FC_EINVAL, "config: no base_directory/prefix");
  char *exps = fc_path_join(c->base_directory, "experiments");
  if (!exps) return fc_error_set(err, FC_ENOMEM, "out of memory");
  fc_status st = fc_mkdir_p(exps, err);
  if (st) {
    free(exps);
    return st;
  }
  char *dir = NULL;
  for (int k = 1; k <= 10000; k++) {
    char *name = k == 1 ? fc_sprintf("%s_%s", c->prefix, c->timestamp)
                        : fc_sprintf("%s_%s_%d", c->prefix, c->timestamp, k);
    dir = name ? fc_path_join(exps, name) : NULL;
    free(name);
    if (!dir) {
      free(exps);
      return fc_error_set(err, FC_ENOMEM, "out of memory");
    }
    if (mkdir(dir, 0777) == 0) break;
    int e = errno;
    if (e != EEXIST) {
      st = fc_error_set(err, FC_EIO, "%s: cannot create experiment directory: %s", dir, strerror(e));
      free(dir);
      free(exps);
      return st;
    }
    free(dir);
    dir = NULL;
  }
  free(exps);
  if (!dir)
    return fc_error_set(err, FC_EIO, "cannot find a free experiment directory name for prefix '%s'",
                        c->prefix);
  free(c->experiment_path);
  c->experiment_path = dir;
  if ((st = fc_ynode_set_string(c->tree, "experiment_path", dir, err))) return st;
  char *yml = fc_path_join(dir, "experiment_config.yaml");
  if (!yml) return fc_error_set(err, FC_ENOMEM, "out of memory");
  st = fc_yaml_dump_file(c->tree, yml, err);
  free(yml);
  return st;
}
